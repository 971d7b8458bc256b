"""pages/ui/image.image_input, driven through Streamlit's AppTest on a tiny script."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from zoo.inference.images import UPLOAD_TYPES


def _script() -> None:
    import streamlit as st

    from pages.ui.image import image_input
    from zoo.inference.images import image_digest

    default = st.session_state.get("test_default_sample", "chelsea.png")
    img = image_input("img", default_sample=default)
    if img is None:
        st.session_state["result"] = None
    else:
        st.session_state["result"] = (img.size, img.mode, image_digest(img))


def _app(**query) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def _png(size=(7, 5), colour=(0, 0, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["img_source"] = label
    return at.run()


def test_default_is_chelsea():
    at = _app().run()
    _ok(at)
    assert not at.error
    size, mode, _ = at.session_state["result"]
    assert (size, mode) == ((451, 300), "RGB")
    assert [t.label for t in at.tabs] == ["Sample photo", "Upload", "Camera"]
    # Thumbnails for the gallery plus the chosen image, captioned with its size.
    assert len(at.image) >= 5
    assert not at.file_uploader and not at.camera_input  # only the open tab runs


def test_choosing_a_sample_sets_the_query_param():
    at = _app().run()
    at.button(key="img_pick_coffee.jpg").click().run()
    _ok(at)
    assert at.session_state["result"][0] == (512, 341)
    assert at.query_params["img_sample"] in ("coffee.jpg", ["coffee.jpg"])


def test_deep_link_reproduces_the_sample():
    at = _app(img_sample="rocket.jpg").run()
    _ok(at)
    assert at.session_state["result"][0] == (512, 342)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "LICENSES.md", "nope.png"])
def test_bad_deep_link_falls_back_to_default(bad):
    at = _app(img_sample=bad).run()
    _ok(at)
    assert not at.error
    assert len(at.warning) == 1 and "no sample photo" in at.warning[0].value
    assert at.session_state["result"][0] == (451, 300)
    assert "img_sample" not in at.query_params


@pytest.mark.parametrize("crafted", ["![x](http://127.0.0.1:9/t.png)", "[Session expired - log in](http://example.com)",
                                     "<img src=x onerror=alert(1)>"])
def test_text_from_the_url_is_never_rendered(crafted):
    at = _app(img_sample=crafted).run()
    _ok(at)
    shown = " ".join(str(e.value) for e in [*at.warning, *at.markdown, *at.caption, *at.error])
    assert "http" not in shown and "<img" not in shown and "Session expired" not in shown
    assert at.session_state["result"][0] == (451, 300)


def test_large_image_preview_is_a_thumbnail():
    from pages.ui.image import preview

    big = Image.new("RGB", (6000, 300))
    small = preview(big)
    assert max(small.size) == 640 and small.size == (640, 32) and big.size == (6000, 300)


def test_no_default_sample_returns_none():
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["test_default_sample"] = None
    at.run()
    _ok(at)
    assert at.session_state["result"] is None
    assert not at.error


def test_upload_bad_bytes_shows_one_sentence_error():
    at = _open_tab(_app().run(), "Upload")
    _ok(at)
    assert at.session_state["result"] is None  # nothing uploaded yet, and no error
    assert not at.error
    uploader = at.file_uploader[0]
    # The extension filter is only a convenience: decode_image sniffs the bytes regardless.
    assert uploader.allowed_type == [f".{t}" for t in UPLOAD_TYPES]
    assert uploader.proto.max_upload_size_mb == 10
    uploader.set_value(("cat.jpg", b"%PDF-1.4\n1 0 obj\n", "image/jpeg")).run()
    _ok(at)
    assert at.session_state["result"] is None
    assert [e.value for e in at.error] == [
        "This file is not an image we can read (looks like a PDF)."
    ]


@pytest.mark.parametrize(
    "data",
    [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, b"<html></html>", bytes(range(256)) * 4],
    ids=["empty", "broken-png", "html", "noise"],
)
def test_upload_odd_files_never_raise(data):
    at = _open_tab(_app().run(), "Upload")
    at.file_uploader[0].set_value(("x.png", data, "image/png")).run()
    _ok(at)
    assert at.session_state["result"] is None
    assert len(at.error) == 1 and at.error[0].value.endswith(".")


def test_upload_valid_png_returns_it():
    at = _open_tab(_app().run(), "Upload")
    at.file_uploader[0].set_value(("tiny.png", _png(), "image/png")).run()
    _ok(at)
    assert not at.error
    size, mode, _ = at.session_state["result"]
    assert (size, mode) == ((7, 5), "RGB")
    # A rerun (same file) gives the same image; replacing the file replaces the image.
    at.run()
    assert at.session_state["result"][0] == (7, 5)
    at.file_uploader[0].set_value(("bigger.png", _png((9, 9), (0, 0, 255, 255)), "image/png")).run()
    assert at.session_state["result"][0] == (9, 9)


def test_camera_photo():
    at = _open_tab(_app().run(), "Camera")
    _ok(at)
    assert at.session_state["result"] is None and len(at.camera_input) == 1
    at.camera_input[0].set_value(("shot.jpg", _jpeg(), "image/jpeg")).run()
    _ok(at)
    assert at.session_state["result"][0] == (40, 30)
    at.camera_input[0].set_value(("shot.jpg", _jpeg()[:200], "image/jpeg")).run()
    _ok(at)
    assert at.session_state["result"] is None
    assert len(at.error) == 1 and "JPEG" in at.error[0].value
