"""End-to-end: every page fits a projector-sized window (1024x768, 1280x720), and presenter view works.

Nothing is cut (no visible element with ``text-overflow: ellipsis`` is wider inside than out), the main
area never scrolls sideways, and ``?present=1`` hides the sidebar and sets body text at 20 px or more.
Screenshots of every page, normal and presenter, at 1280x720 land in SHOTS (the README's come from them).
"""
from __future__ import annotations

import pytest

from tests.e2e.conftest import _STATE, SHOTS, assert_no_error_box, browser_page, wait_for_app

pytestmark = pytest.mark.e2e

# (slug, path): every page of app.py's navigation, with the state a class would open it in.
PAGES = [
    ("home", "/home"),
    ("model", "/model?model=resnet50"),
    ("compare", "/compare"),
    ("labs", "/labs"),
    *[(f"labs_{lab}", f"/labs?lab_id={lab}") for lab in
      ("inception", "residual", "dense", "separable", "scaling", "gradients", "norm", "activations", "decay",
       "precision")],
    ("receptive_fields", "/receptive-fields"),
    ("predict", "/predict?pred_models=efficientnet_lite0,efficientnet_lite1,efficientnet_lite2,resnet50,vgg16"),
    ("inside", "/inside"),
]
VIEWPORTS = [(1024, 768), (1280, 720)]

# Every visible element that cuts its text with an ellipsis and has more text than room.
OVERFLOW_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    if (cs.textOverflow !== 'ellipsis' || cs.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || el.closest('[hidden], details:not([open])')) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      out.push({text: (el.innerText || '').slice(0, 80), tag: el.tagName,
                testid: el.closest('[data-testid]')?.getAttribute('data-testid'),
                scrollWidth: el.scrollWidth, clientWidth: el.clientWidth});
    }
  }
  return out;
}"""

# How far the page, its main area, a multiselect's chosen chips or a formula scroll sideways (0 when all fits).
SIDEWAYS_JS = """() => {
  const boxes = [document.scrollingElement, document.querySelector('[data-testid="stMain"]'),
                 ...document.querySelectorAll('[data-testid="stMultiSelectTagsContainer"], .katex-display')];
  let worst = [0, ''];
  for (const b of boxes.filter(Boolean)) {
    const over = b.scrollWidth - b.clientWidth;
    if (over > worst[0]) worst = [over, (b.getAttribute?.('data-testid') || b.className || b.tagName) + ': '
                                        + (b.innerText || '').slice(0, 60)];
  }
  return worst;
}"""

# The smallest font size of visible body text (paragraphs and list items) in the main area.
SMALLEST_TEXT_JS = """() => {
  let least = Infinity, where = '';
  for (const el of document.querySelectorAll('[data-testid="stMain"] p, [data-testid="stMain"] li')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || !(el.innerText || '').trim()) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < least) { least = px; where = el.innerText.slice(0, 60); }
  }
  return [least, where];
}"""

SIDEBAR_VISIBLE_JS = """() => {
  const s = document.querySelector('[data-testid="stSidebar"]');
  if (!s) return false;
  const r = s.getBoundingClientRect();
  return getComputedStyle(s).display !== 'none' && r.width > 0 && r.right > 0;
}"""


def _open(pg, base: str, path: str, present: bool) -> None:
    link = base + path
    if present:
        link += ("&" if "?" in path else "?") + "present=1"
    pg.goto(link)
    pg.wait_for_selector("[data-testid='stApp']")
    # Predict's first visit exports and times each model's backends: minutes on a busy 2-core machine.
    pg.wait_for_function(f"() => {_STATE} === 'notRunning'", timeout=400_000)
    pg.locator("h1").first.wait_for()
    pg.wait_for_timeout(800)  # charts and images size themselves after the script run ends


@pytest.fixture(scope="module")
def window(browser):
    with browser_page(browser, 1280, 720, 120_000) as pg:
        yield pg


def _check_fits(pg, slug: str, width: int, present: bool) -> None:
    cut = pg.evaluate(OVERFLOW_JS)
    assert cut == [], f"text cut with an ellipsis at {width} px: {cut}"
    # 2 px: a KaTeX display box reaches that far past its own width even for a formula that fits.
    over, where = pg.evaluate(SIDEWAYS_JS)
    assert over <= 2, f"{slug} scrolls sideways by {over} px at {width} px: {where!r}"
    if present:
        assert not pg.evaluate(SIDEBAR_VISIBLE_JS), "presenter view shows the sidebar"
        least, where = pg.evaluate(SMALLEST_TEXT_JS)
        assert least >= 20, f"presenter view has {least} px text at {width} px: {where!r}"
        pg.get_by_role("button", name="Leave presenter view").wait_for(state="visible", timeout=10_000)


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
@pytest.mark.parametrize("slug, path", PAGES, ids=[s for s, _ in PAGES])
def test_page_fits_the_window(window, app_url, slug, path, present):
    """Each page opened once, checked at 1280x720 (and screenshotted), then at 1024x768 after a resize:
    the layout is responsive CSS, so the same page in a narrower window is what a projector shows."""
    pg = window
    pg.set_viewport_size({"width": 1280, "height": 720})
    _open(pg, app_url, path, present)
    assert_no_error_box(pg)
    _check_fits(pg, slug, 1280, present)
    name = f"{slug}{'_present' if present else ''}"
    pg.screenshot(path=str(SHOTS / f"{name}_1280x720.png"))
    charts = pg.locator(".js-plotly-plot")
    if charts.count():  # the same page scrolled to its first chart, for the README
        charts.first.scroll_into_view_if_needed()
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(SHOTS / f"{name}_chart_1280x720.png"))
    for w, h in VIEWPORTS:
        if w == 1280:
            continue
        pg.set_viewport_size({"width": w, "height": h})
        pg.wait_for_timeout(800)  # charts and columns reflow to the new width
        assert_no_error_box(pg)
        _check_fits(pg, slug, w, present)


def test_presenter_toggle_keeps_the_page_and_its_url_state(page, app_url):
    page.goto(f"{app_url}/model?model=densenet121&size=160")
    wait_for_app(page, after_action=False)
    page.get_by_text("Computed at 160x160").wait_for()
    # The sidebar may still be sliding in when the script run ends: wait for the switch to show.
    page.locator("[data-testid='stSidebar']").get_by_text("Presenter view").wait_for(state="visible", timeout=30_000)
    page.locator("[data-testid='stSidebar']").get_by_text("Presenter view").click()
    wait_for_app(page)
    page.get_by_role("button", name="Leave presenter view").wait_for()
    assert "present=1" in page.url and "model=densenet121" in page.url and "size=160" in page.url
    assert "/model" in page.url
    assert not page.evaluate(SIDEBAR_VISIBLE_JS)
    page.get_by_text("Computed at 160x160").wait_for()
    page.get_by_role("button", name="Leave presenter view").click()
    wait_for_app(page)
    assert "present=1" not in page.url and "model=densenet121" in page.url and "size=160" in page.url
    assert page.evaluate(SIDEBAR_VISIBLE_JS)
