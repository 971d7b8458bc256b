"""End-to-end: the core pages in a real browser, and a shared deep link."""
import pytest

from tests.e2e.conftest import SHOTS, assert_no_error_box, wait_for_app

pytestmark = pytest.mark.e2e


def test_home_and_navigation(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    assert "CNN Zoo Explorer" in page.inner_text("h1")
    assert_no_error_box(page)
    page.locator(".js-plotly-plot").first.wait_for()
    page.screenshot(path=str(SHOTS / "home.png"), full_page=False)
    nav = page.locator("[data-testid='stSidebarNav'] a")
    labels = [nav.nth(i).inner_text() for i in range(nav.count())]
    for want in ("Home", "Model", "Compare"):
        assert any(want in l for l in labels), labels


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
