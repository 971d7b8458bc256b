"""End-to-end: the core pages in a real browser, and a shared deep link."""
import pytest

from tests.e2e.conftest import SHOTS, assert_no_error_box, start_app, stop_app, wait_for_app

NAV = ["Home", "Model", "Compare", "Labs", "Receptive fields", "Predict", "Inside the network", "Lesson", "Quiz"]


def nav_labels(page):
    nav = page.locator("[data-testid='stSidebarNav'] a")
    return [nav.nth(i).inner_text().split("\n")[-1].strip() for i in range(nav.count())]

pytestmark = pytest.mark.e2e


def test_home_and_navigation(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    assert "CNN Zoo Explorer" in page.inner_text("h1")
    assert_no_error_box(page)
    page.locator(".js-plotly-plot").first.wait_for()
    page.screenshot(path=str(SHOTS / "home.png"), full_page=False)
    assert nav_labels(page) == NAV


@pytest.mark.parametrize("title, slug", [("Labs", "labs"), ("Receptive fields", "receptive_fields"),
                                         ("Predict", "predict_nav"), ("Inside the network", "inside_nav")])
def test_each_page_opens_from_the_navigation(page, app_url, title, slug):
    page.goto(app_url)
    wait_for_app(page)
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    wait_for_app(page)
    page.locator("h1").filter(has_text=title.split()[0]).first.wait_for()
    assert_no_error_box(page)
    page.screenshot(path=str(SHOTS / f"{slug}.png"))


@pytest.mark.parametrize("link, heading", [
    ("/model?model=vgg16&size=112", "Computed at 112x112"),
    ("/receptive-fields?rf_model=vgg16", "Receptive fields"),
    ("/predict?pred_models=efficientnet_lite1", "Predict"),
])
def test_deep_link_as_first_visit_to_a_fresh_server(page, tmp_path, chromium_available, link, heading):
    """A shared link opened before anyone visited the home page still gets the real app.

    (Streamlit starts in its old pages/-folder mode; the doors in pages/ hand the visit to
    app.py's navigation. Without them a "Page not found" dialog covers the page.)
    """
    proc, url = start_app(tmp_path)
    try:
        page.goto(url + link)
        wait_for_app(page)
        page.get_by_text(heading).first.wait_for()
        assert_no_error_box(page)
        assert nav_labels(page) == NAV
        assert page.locator("[role='dialog']").count() == 0, page.locator("[role='dialog']").first.inner_text()
        assert link.split("?")[1].split("&")[0] in page.url
    finally:
        stop_app(proc)


def test_model_deep_link_shows_the_same_view(page, app_url):
    page.goto(f"{app_url}/model?model=densenet121&size=160")
    wait_for_app(page)
    assert_no_error_box(page)
    page.get_by_text("DenseNet-121", exact=False).first.wait_for()
    assert "model=densenet121" in page.url and "size=160" in page.url
    page.get_by_text("Computed at 160x160").wait_for()
    page.screenshot(path=str(SHOTS / "model.png"), full_page=False)


def test_compare_page_draws(page, app_url):
    page.goto(f"{app_url}/compare?cmp=alexnet,resnet50,efficientnet_b0")
    wait_for_app(page)
    assert_no_error_box(page)
    page.locator(".js-plotly-plot").first.wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=False)
