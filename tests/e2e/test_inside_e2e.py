"""End-to-end: the Inside-the-network page with a photo uploaded through the real file input."""
import pytest

from tests.e2e.conftest import ROOT, SHOTS, assert_no_error_box, upload_photo, wait_for_app

pytestmark = pytest.mark.e2e

CAT = ROOT / "assets" / "samples" / "chelsea.png"


def test_gradcam_for_an_uploaded_photo(page, app_url):
    page.goto(f"{app_url}/inside")
    wait_for_app(page)
    assert_no_error_box(page)
    upload_photo(page, CAT)
    wait_for_app(page)
    # The overlay's caption names the method, the class and the layer; its image must have pixels.
    page.get_by_text("Grad-CAM for 'tiger cat' at _bn1").wait_for()
    overlay = page.locator("[data-testid='stImage']").filter(has_text="Grad-CAM for 'tiger cat'").locator("img")
    overlay.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", overlay.element_handle()) == 224
    assert_no_error_box(page)
    assert page.locator("[data-testid='stAlert']").filter(has_text="Random weights").count() == 0
    page.screenshot(path=str(SHOTS / "inside_gradcam.png"), full_page=True)


@pytest.mark.parametrize("view, marker", [("Occlusion", "Correlation with Grad-CAM"),
                                          ("Feature maps", "most active of"),
                                          ("Filters", "32 filters of 3 × 3 × 3")])
def test_other_views_from_a_deep_link(page, app_url, view, marker):
    page.goto(f"{app_url}/inside?in_view={view.replace(' ', '+')}")
    wait_for_app(page)
    page.get_by_text(marker).first.wait_for()
    assert_no_error_box(page)
    page.screenshot(path=str(SHOTS / f"inside_{view.split()[0].lower()}.png"), full_page=True)
