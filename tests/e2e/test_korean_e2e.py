"""End-to-end: every page of app.py's navigation in Korean at 1280x720, in headless Chromium.

For each page: no exception box, a screenshot (SHOTS/ko-<page>.png, looked at by a person), no
text cut off with an ellipsis, and Hangul drawn as glyphs, not tofu boxes. The glyph check draws two
different syllables in the page's own font on a canvas: with a Hangul font (Debian fonts-noto-cjk)
they differ; without one both are the same .notdef box, identical to a code point no font has.
"""
import pytest

from tests.e2e.conftest import SHOTS, assert_no_error_box, wait_for_app
from tests.test_navigation import nav_pages

pytestmark = pytest.mark.e2e

# url_path -> the path to open: the default page lives at "/" (its url_path alone is "Page not found").
PAGES = {url: "" if script.endswith("(default)") else url for url, script in nav_pages().items()}

# Elements that truncate their text with an ellipsis and whose text is wider than their box.
_CUT_OFF = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stAppViewContainer"] *, [data-testid="stSidebar"] *')) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const style = getComputedStyle(el);
    if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${el.closest('[data-testid]')?.dataset.testid}: ${el.textContent.trim().slice(0, 80)}`);
    }
  }
  return out;
}"""

# Pixels of one character drawn in the font of ``selector``'s element (the page's own font stack).
_GLYPHS = """(selector) => {
  const el = document.querySelector(selector);
  const family = getComputedStyle(el).fontFamily;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (ch) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = `48px ${family}`;
    ctx.fillStyle = '#000';
    ctx.textBaseline = 'top';
    ctx.fillText(ch, 4, 4);
    return Array.from(ctx.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3));
  };
  const ink = (px) => px.filter((a) => a > 0).length;
  const ga = draw('가'), na = draw('나'), none = draw('\\u{10FFFD}');
  const same = (a, b) => a.every((v, i) => v === b[i]);
  return {family, inkGa: ink(ga), gaIsNa: same(ga, na), gaIsTofu: same(ga, none)};
}"""


@pytest.fixture
def korean_page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ko-KR")
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    yield pg
    ctx.close()


def wait_long(pg) -> None:
    """The photo pages load and run models on a shared 2-core machine: allow them a second period."""
    try:
        wait_for_app(pg, after_action=False)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: still running, wait once more
        wait_for_app(pg, after_action=False)


@pytest.mark.parametrize("url", sorted(PAGES))
def test_page_in_korean(korean_page, app_url, url):
    pg = korean_page
    pg.goto(f"{app_url}/{PAGES[url]}?lang=ko")
    wait_long(pg)
    pg.locator("h1").first.wait_for()
    assert_no_error_box(pg)
    assert pg.locator("[role='dialog']").count() == 0, pg.locator("[role='dialog']").first.inner_text()
    assert "lang=ko" in pg.url
    pg.wait_for_timeout(500)  # let plotly finish laying out before the picture
    pg.screenshot(path=str(SHOTS / f"ko-{url}.png"), full_page=False)

    nav = pg.locator("[data-testid='stSidebarNav']").inner_text()
    assert any("\uac00" <= ch <= "\ud7a3" for ch in nav), f"the navigation is not in Korean: {nav!r}"
    cut = pg.evaluate(_CUT_OFF)
    assert not cut, f"{url}: text cut off at 1280x720: {cut}"
    glyphs = pg.evaluate(_GLYPHS, "[data-testid='stSidebarNav'] a span")
    assert glyphs["inkGa"] > 50, glyphs
    assert not glyphs["gaIsNa"] and not glyphs["gaIsTofu"], f"Hangul draws as tofu boxes: {glyphs}"


def test_the_glyph_check_can_fail(korean_page, app_url):
    """A code point no font has draws the same box every time: the check above would see it."""
    pg = korean_page
    pg.goto(f"{app_url}/?lang=ko")
    wait_for_app(pg, after_action=False)
    same = pg.evaluate("""() => {
      const c = document.createElement('canvas'); c.width = c.height = 64;
      const x = c.getContext('2d', {willReadFrequently: true});
      const draw = (ch) => { x.clearRect(0, 0, 64, 64); x.font = '48px sans-serif'; x.textBaseline = 'top';
        x.fillText(ch, 4, 4); return Array.from(x.getImageData(0, 0, 64, 64).data); };
      const a = draw('\\u{10FFFD}'), b = draw('\\u{10FFFC}');
      return a.every((v, i) => v === b[i]);
    }""")
    assert same
