"""End-to-end: the predictions page in a real browser — an upload through the file input, and a shared deep link."""
import re

import pytest

from tests.e2e.conftest import SHOTS, assert_no_error_box, upload_photo, wait_for_app
from zoo.inference.images import SAMPLES_DIR

pytestmark = pytest.mark.e2e

CATS = ("tabby", "tiger cat", "Egyptian cat")
TOP1 = re.compile(r"Top-1: (.+) \((\d+\.\d)%\)")


def _top1(page) -> tuple[str, str]:
    """(label, percent) of the first model's top-1 line, e.g. ("tiger cat", "39.5")."""
    line = page.get_by_text(re.compile(r"^Top-1: ")).first
    line.wait_for()
    m = TOP1.search(line.inner_text())
    assert m, line.inner_text()
    return m.group(1), m.group(2)


def test_uploaded_chelsea_is_a_cat_for_lite0(page, app_url):
    page.goto(f"{app_url}/predict?pred_models=efficientnet_lite0")
    wait_for_app(page)
    assert_no_error_box(page)
    upload_photo(page, SAMPLES_DIR / "chelsea.png")
    wait_for_app(page)
    assert_no_error_box(page)
    label, _ = _top1(page)
    assert label in CATS, label
    page.get_by_text("EfficientNet-Lite0").first.wait_for()
    page.get_by_text(re.compile(r" ms on CPU")).first.wait_for()
    page.screenshot(path=str(SHOTS / "predict.png"), full_page=False)


def test_shared_deep_link_shows_the_same_view(browser, app_url):
    teacher = browser.new_context(viewport={"width": 1400, "height": 1000})
    student = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = teacher.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{app_url}/predict?pred_models=efficientnet_lite0")
        wait_for_app(page)
        page.get_by_role("button", name="A cup of coffee").click()
        wait_for_app(page)
        page.get_by_text("Wrong preprocessing").click()
        wait_for_app(page)
        page.get_by_text("wrong size (a 32 px thumbnail, as in CIFAR-10)").click()
        wait_for_app(page)
        page.get_by_text("What EfficientNet-Lite0 receives: 32 x 32 px").wait_for()
        wait_for_app(page)  # the caption is drawn before the predictions of the same run
        assert_no_error_box(page)
        link = page.url
        for part in ("pred_models=efficientnet_lite0", "pred_pre=wrong_size", "pred_sample=coffee.jpg"):
            assert part in link, link
        shared = _top1(page)

        other = student.new_page()
        other.set_default_timeout(90_000)
        other.goto(link)
        wait_for_app(other)
        assert_no_error_box(other)
        other.get_by_text("What EfficientNet-Lite0 receives: 32 x 32 px").wait_for()
        wait_for_app(other)
        assert other.get_by_role("switch", name="Wrong preprocessing").is_checked()
        assert other.get_by_role("radio", name="wrong size (a 32 px thumbnail, as in CIFAR-10)").is_checked()
        assert _top1(other) == shared
    finally:
        teacher.close()
        student.close()
