"""zoo.inference.images: a corpus of bad and odd files, all generated here (no fixtures on disk).

Each case either decodes to a clean RGB image with the right size, orientation and colours, or
raises ImageDecodeError whose message is one sentence naming what the file looks like.
"""

from __future__ import annotations

import io
import random
import re
import struct
import threading
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from zoo.inference import images
from zoo.inference.images import (
    SAMPLES_DIR,
    ImageDecodeError,
    decode_image,
    image_digest,
    list_samples,
    load_sample,
    sniff_format,
    to_rgb,
)

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _chunk(tag: bytes, body: bytes, *, crc: int | None = None) -> bytes:
    if crc is None:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)


def make_png(
    width: int,
    height: int,
    *,
    bit_depth: int = 8,
    color_type: int = 2,
    rows: bytes | None = None,
    ihdr_crc: int | None = None,
) -> bytes:
    """A minimal PNG, written by hand so it can lie (huge sizes, 16-bit RGB, bad CRCs)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = zlib.compress(rows if rows is not None else b"\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr, crc=ihdr_crc)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def assert_one_sentence(msg: str) -> None:
    assert msg, "empty message"
    assert "\n" not in msg and "Traceback" not in msg
    assert msg[0].isupper() and msg.endswith("."), msg
    # No sentence boundary inside ("1.2 MB" or "10,000" are fine; ". Next" is not).
    assert re.search(r"[.!?]\s+[A-Z]", msg) is None, msg


def refused(data: bytes, **kw) -> str:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data, **kw)
    msg = str(info.value)
    assert_one_sentence(msg)
    return msg


def decoded(data: bytes, size: tuple[int, int], **kw) -> Image.Image:
    im = decode_image(data, **kw)
    assert im.mode == "RGB"
    assert im.size == size
    im.getpixel((0, 0))  # fully loaded, no file behind it
    return im


def px(im: Image.Image, xy=(0, 0)) -> tuple[int, int, int]:
    return tuple(im.getpixel(xy))


def close(a, b, tol=6) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------------------------
# Refusals: every one is a single sentence, naming the file's real type where it can.
# --------------------------------------------------------------------------------------------

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def test_empty_file():
    assert "empty" in refused(b"")


def test_random_bytes():
    data = random.Random(1234).randbytes(4096)
    assert sniff_format(data) is None
    assert "not an image we can read" in refused(data)


def test_truncated_jpeg():
    full = save(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG", quality=90)
    msg = refused(full[: len(full) // 2])
    assert "JPEG" in msg and "damaged" in msg


def test_jpeg_with_only_a_header():
    assert "JPEG" in refused(b"\xff\xd8\xff\xe0" + b"\x00" * 10)


def test_png_with_bad_crc():
    good = make_png(2, 2, rows=b"\x00" + b"\x10" * 6 + b"\x00" + b"\x20" * 6)
    assert decode_image(good).size == (2, 2)
    msg = refused(make_png(2, 2, rows=b"\x00" * 14, ihdr_crc=0xDEADBEEF))
    assert "PNG" in msg and "damaged" in msg


def test_truncated_png():
    full = save(Image.effect_noise((128, 128), 60).convert("RGB"), "PNG")
    assert "PNG" in refused(full[: len(full) * 2 // 3])


@pytest.mark.parametrize(
    ("data", "kind", "fragment"),
    [
        (b"<!DOCTYPE html>\n<html><body>not a cat</body></html>", "HTML", "an HTML page"),
        (b"  \n<html lang='en'><head></head></html>", "HTML", "an HTML page"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n", "PDF", "a PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40, "ZIP", "a ZIP archive"),
        (b"just some notes about my cat\n", "text", "a text file"),
    ],
    ids=["html", "html-leading-space", "pdf", "zip", "text"],
)
def test_non_images_renamed_jpg_say_what_they_look_like(data, kind, fragment):
    # The name never matters: decode_image only ever sees bytes.
    assert sniff_format(data) == kind
    msg = refused(data)
    assert msg == f"This file is not an image we can read (looks like {fragment})."


def test_huge_dimensions_in_tiny_png_are_refused_without_allocating():
    data = make_png(100_000, 100_000)
    assert len(data) < 100
    tracemalloc.start()
    try:
        msg = refused(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20
    assert msg == "This image has 10,000 megapixels, over the 40-megapixel limit, so we won't decode it."
    # Below Pillow's own bomb limit our check runs first and names the dimensions.
    msg = refused(make_png(9_000, 9_000))
    assert "9,000 x 9,000 pixels (81 megapixels), over the 40-megapixel limit" in msg


def test_huge_gif_logical_screen_is_refused():
    # A real 1x1 GIF whose logical screen is patched to 65535 x 65535.
    data = bytearray(save(Image.new("P", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    msg = refused(bytes(data))
    assert "limit" in msg


def test_pixel_limit_is_a_parameter():
    data = save(Image.new("RGB", (100, 100)), "PNG")
    assert "0.01-megapixel limit" in refused(data, max_pixels=9_999)
    assert decode_image(data, max_pixels=10_000).size == (100, 100)


@pytest.mark.parametrize("side", [10_000, 20_000], ids=["warning", "error"])
def test_pillow_decompression_bomb_becomes_a_refusal(side):
    # With our own limit lifted, Pillow's DecompressionBombWarning (> MAX_IMAGE_PIXELS) and
    # DecompressionBombError (> 2x) still end in a sentence, and no warning escapes.
    assert side * side > Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        msg = refused(make_png(side, side), max_pixels=10**12)
    assert "limit" in msg
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert warnings.filters == filters_before


def test_file_just_over_max_bytes():
    data = save(Image.new("RGB", (8, 8)), "PNG")
    assert decode_image(data, max_bytes=len(data)).size == (8, 8)
    msg = refused(data + b"\x00", max_bytes=len(data))
    assert "limit" in msg
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 2**20)
    assert "over the 10 MB limit" in refused(big)


def test_heic_is_refused_politely():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert sniff_format(heic) == "HEIC"
    assert refused(heic) == (
        "HEIC images are not supported; please upload a JPEG, PNG, WebP, GIF or BMP file instead."
    )


def test_tiff_is_refused_politely():
    tiff = save(Image.new("RGB", (4, 4), RED), "TIFF")
    assert sniff_format(tiff) == "TIFF"
    assert refused(tiff).startswith("TIFF images are not supported")


def test_psd_is_refused_politely():
    psd = b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 4, 4, 8, 3) + b"\x00" * 32
    assert sniff_format(psd) == "PSD"
    assert refused(psd).startswith("PSD images are not supported")


def test_other_image_formats_pillow_could_read_are_refused():
    ico = save(Image.new("RGBA", (16, 16), RED + (255,)), "ICO")
    assert refused(ico).startswith("ICO images are not supported")
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert refused(svg).startswith("SVG images are not supported")
    if "AVIF" in Image.SAVE:
        avif = save(Image.new("RGB", (16, 16), RED), "AVIF")
        assert refused(avif).startswith("AVIF images are not supported")


# --------------------------------------------------------------------------------------------
# Odd but valid files: decoded to RGB with the right pixels.
# --------------------------------------------------------------------------------------------


def test_1x1():
    assert px(decoded(save(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"), (1, 1))) == (10, 20, 30)


def test_long_strip_within_the_aspect_limit():
    im = decoded(save(Image.new("L", (2_000, 100), 200), "PNG"), (2_000, 100))
    assert px(im, (1_999, 99)) == (200, 200, 200)


def test_10000x1_strip_is_refused_before_decoding():
    # Each model resizes the short side to a few hundred pixels: 1 -> 256 would make 2.56 G pixels.
    msg = refused(save(Image.new("L", (10_000, 1), 200), "PNG"))
    assert msg == ("This image is 10,000 x 1 pixels: one side is more than 20 times the other, so resizing it "
                   "for the models would take far too much memory; please crop it first.")


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "WEBP", "JPEG"])
def test_every_allowed_format_decodes(fmt):
    kw = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
    im = decoded(save(Image.new("RGB", (9, 7), RED), fmt, **kw), (9, 7))
    assert close(px(im, (4, 3)), RED)


def test_mode_1():
    src = Image.new("1", (4, 2), 0)
    src.putpixel((1, 0), 1)
    for fmt in ("PNG", "BMP"):
        im = decoded(save(src, fmt), (4, 2))
        assert px(im, (0, 0)) == (0, 0, 0) and px(im, (1, 0)) == (255, 255, 255)


def test_mode_L():
    im = decoded(save(Image.new("L", (3, 3), 77), "PNG"), (3, 3))
    assert px(im) == (77, 77, 77)


def test_mode_LA_transparent_is_white():
    src = Image.new("LA", (2, 1), (0, 0))
    src.putpixel((1, 0), (0, 255))
    im = decoded(save(src, "PNG"), (2, 1))
    assert px(im, (0, 0)) == (255, 255, 255) and px(im, (1, 0)) == (0, 0, 0)


def test_mode_P_with_transparency_png_and_gif():
    src = Image.new("P", (2, 1), 0)
    src.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    src.putpixel((1, 0), 1)
    for fmt in ("PNG", "GIF"):
        im = decoded(save(src, fmt, transparency=0), (2, 1))
        assert px(im, (0, 0)) == (255, 255, 255), fmt  # transparent black -> white
        assert px(im, (1, 0)) == RED, fmt


def test_mode_RGBA_alpha_composited_on_white():
    src = Image.new("RGBA", (3, 1), (0, 0, 0, 0))
    src.putpixel((1, 0), (255, 0, 0, 255))
    src.putpixel((2, 0), (255, 0, 0, 128))
    for fmt, kw in (("PNG", {}), ("WEBP", {"lossless": True})):
        im = decoded(save(src, fmt, **kw), (3, 1))
        assert px(im, (0, 0)) == (255, 255, 255), fmt
        assert px(im, (1, 0)) == RED, fmt
        assert close(px(im, (2, 0)), (255, 127, 127), tol=2), fmt


def test_mode_CMYK_jpeg():
    src = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    data = save(src, "JPEG", quality=100)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert close(px(decoded(data, (16, 16)), (8, 8)), RED, tol=8)


def test_mode_I16_is_scaled_not_clipped():
    arr = np.array([[0, 256, 1000, 32768, 65535]], dtype=np.uint16)
    src = Image.fromarray(arr)  # mode I;16
    assert src.mode == "I;16"
    data = save(src, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    im = decoded(data, (5, 1))
    got = [px(im, (x, 0))[0] for x in range(5)]
    # Pillow's own convert("L") would clip 1000 and 32768 to 255.
    assert got == [0, 1, 4, 128, 255]


def test_16bit_rgba_png_crafted():
    # 1 px opaque 16-bit red, 1 px fully transparent: colour type 6, bit depth 16.
    row = b"\x00" + struct.pack(">4H", 65535, 0, 0, 65535) + struct.pack(">4H", 0, 0, 0, 0)
    im = decoded(make_png(2, 1, bit_depth=16, color_type=6, rows=row), (2, 1))
    assert px(im, (0, 0)) == RED and px(im, (1, 0)) == (255, 255, 255)


def test_mode_I_rule():
    in_16bit_range = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32), mode="I")
    assert [px(to_rgb(in_16bit_range), (x, 0))[0] for x in range(3)] == [0, 128, 255]
    wide = Image.fromarray(np.array([[-1000, 0, 1000]], dtype=np.int32), mode="I")
    assert [px(to_rgb(wide), (x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_mode_F_rule():
    def grey(values):
        im = to_rgb(Image.fromarray(np.array([values], dtype=np.float32), mode="F"))
        assert im.mode == "RGB"
        return [px(im, (x, 0))[0] for x in range(len(values))]

    assert grey([0.0, 0.5, 1.0]) == [0, 128, 255]  # intensities in [0, 1]
    assert grey([0.0, 100.0, 255.0]) == [0, 100, 255]  # already 8-bit values
    assert grey([-1.0, 0.0, 1.0]) == [0, 128, 255]  # anything else: stretched
    assert grey([0.0, float("nan"), 1.0]) == [0, 0, 255]  # NaN -> 0
    assert grey([0.0, float("inf"), 1.0]) == [0, 255, 255]  # inf clipped to the finite range
    assert grey([5000.0, 5000.0]) == [128, 128]


def test_other_modes_via_to_rgb():
    red_la = Image.new("LA", (1, 1), (0, 0))
    assert px(to_rgb(red_la)) == (255, 255, 255)
    assert px(to_rgb(Image.new("RGBa", (1, 1), (0, 0, 0, 0)))) == (255, 255, 255)
    pa = Image.new("PA", (1, 1), (0, 0))
    assert px(to_rgb(pa)) == (255, 255, 255)
    assert close(px(to_rgb(Image.new("YCbCr", (1, 1), (76, 85, 255)))), RED, tol=3)
    src = Image.new("RGB", (2, 2), RED)
    out = to_rgb(src)
    assert out is not src and out.tobytes() == src.tobytes()


def test_animated_gif_first_frame():
    frames = [Image.new("RGB", (6, 4), c) for c in (RED, BLUE, (0, 255, 0))]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    assert px(decoded(data, (6, 4))) == RED


def test_animated_webp_first_frame():
    frames = [Image.new("RGB", (6, 4), c) for c in (RED, BLUE)]
    data = save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert px(decoded(data, (6, 4))) == RED


def test_animated_png_first_frame():
    frames = [Image.new("RGB", (6, 4), c) for c in (RED, BLUE)]
    data = save(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert px(decoded(data, (6, 4))) == RED


def _marked(size=(4, 2)) -> Image.Image:
    """White image with a red top-left pixel block, to track orientation."""
    im = Image.new("RGB", size, (255, 255, 255))
    im.paste(RED, (0, 0, size[0] // 2, size[1] // 2))
    return im


def _exif(orientation) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize(
    ("orientation", "size", "red_at"),
    [
        (1, (4, 2), (0, 0)),
        (3, (4, 2), (3, 1)),  # rotated 180
        (6, (2, 4), (1, 0)),  # stored rotated: display turns 90 degrees clockwise
        (8, (2, 4), (0, 3)),  # 90 degrees counter-clockwise
    ],
)
def test_exif_orientation_png(orientation, size, red_at):
    data = save(_marked(), "PNG", exif=_exif(orientation))
    im = decoded(data, size)
    assert px(im, red_at) == RED
    assert im.info == {}  # metadata dropped: orientation is not applied twice downstream


def test_exif_orientation_6_jpeg():
    data = save(_marked((64, 32)), "JPEG", quality=95, exif=_exif(6))
    im = decoded(data, (32, 64))
    assert close(px(im, (24, 8)), RED, tol=20)  # top-right quarter
    assert close(px(im, (8, 56)), (255, 255, 255), tol=20)


def test_malformed_exif_is_ignored():
    base = save(_marked((16, 8)), "JPEG", quality=95)
    # Splice an APP1 "Exif" segment with garbage after SOI.
    body = b"Exif\x00\x00" + b"II*\x00\xff\xff\xff\x7f" + b"\x13" * 20
    app1 = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    data = base[:2] + app1 + base[2:]
    im = decoded(data, (16, 8))
    assert close(px(im), RED, tol=20)


def test_out_of_range_exif_orientation_is_ignored():
    data = save(_marked(), "PNG", exif=_exif(99))
    assert px(decoded(data, (4, 2))) == RED


# --------------------------------------------------------------------------------------------
# sniff_format, digests, samples, global state
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (save(Image.new("RGB", (1, 1)), "JPEG"), "JPEG"),
        (save(Image.new("RGB", (1, 1)), "PNG"), "PNG"),
        (save(Image.new("RGB", (1, 1)), "GIF"), "GIF"),
        (save(Image.new("RGB", (1, 1)), "WEBP"), "WebP"),
        (save(Image.new("RGB", (1, 1)), "BMP"), "BMP"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 20, "AVIF"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 10, "gzip"),
        (b'{"cat": true}', "JSON"),
        (b"\x7fELF\x02\x01\x01", "Linux program"),
        (b"", None),
    ],
)
def test_sniff_format(data, kind):
    assert sniff_format(data) == kind


def test_sniff_never_raises_on_odd_input():
    for n in range(0, 70):
        sniff_format(bytes(range(256))[:n])
        sniff_format(b"\xff" * n)
    sniff_format(bytearray(b"%PDF"))


def test_decode_image_rejects_non_bytes_with_a_sentence():
    with pytest.raises(ImageDecodeError):
        decode_image(None)  # type: ignore[arg-type]
    assert decode_image(bytearray(save(Image.new("RGB", (2, 2)), "PNG"))).size == (2, 2)


def test_image_digest_is_short_stable_and_pixel_sensitive():
    a = Image.new("RGB", (4, 4), RED)
    b = Image.new("RGB", (4, 4), RED)
    assert image_digest(a) == image_digest(b)
    assert re.fullmatch(r"[0-9a-f]{16}", image_digest(a))
    b.putpixel((3, 3), BLUE)
    assert image_digest(a) != image_digest(b)
    assert image_digest(Image.new("RGB", (2, 8), RED)) != image_digest(Image.new("RGB", (8, 2), RED))
    # Same pixels from PNG and from BMP give the same digest.
    src = Image.effect_noise((8, 8), 40).convert("RGB")
    assert image_digest(decode_image(save(src, "PNG"))) == image_digest(decode_image(save(src, "BMP")))


def test_samples():
    names = list_samples()
    assert {"chelsea.png", "coffee.jpg", "astronaut.jpg", "rocket.jpg"} <= set(names)
    assert "LICENSES.md" not in names
    assert (SAMPLES_DIR / "LICENSES.md").is_file()
    chelsea = load_sample("chelsea.png")
    assert chelsea.mode == "RGB" and chelsea.size == (451, 300)
    chelsea.putpixel((0, 0), BLUE)  # callers get copies: mutating one doesn't leak
    assert load_sample("chelsea.png").getpixel((0, 0)) != BLUE
    for name in names:
        assert load_sample(name).mode == "RGB"
        assert images.sample_caption(name)


@pytest.mark.parametrize("name", ["nope.png", "../samples/chelsea.png", "LICENSES.md", "", "/etc/passwd"])
def test_unknown_sample_is_a_sentence(name):
    with pytest.raises(ImageDecodeError) as info:
        load_sample(name)
    assert_one_sentence(str(info.value))


def test_global_pillow_state_untouched():
    before = (Image.MAX_IMAGE_PIXELS, list(warnings.filters))
    for data in (make_png(100_000, 100_000), b"%PDF-1.4", save(Image.new("RGB", (3, 3)), "PNG")):
        try:
            decode_image(data)
        except ImageDecodeError:
            pass
    assert (Image.MAX_IMAGE_PIXELS, list(warnings.filters)) == before


def test_concurrent_decodes():
    good = save(Image.new("RGB", (32, 32), RED), "PNG")
    bomb = make_png(20_000, 20_000)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                if i % 2:
                    assert decode_image(good).size == (32, 32)
                else:
                    with pytest.raises(ImageDecodeError):
                        decode_image(bomb, max_pixels=10**12)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_tRNS_colour_key_in_L_and_RGB_pngs_is_transparent():
    grey = Image.new("L", (2, 1), 0)
    grey.putpixel((1, 0), 90)
    im = decoded(save(grey, "PNG", transparency=0), (2, 1))
    assert px(im, (0, 0)) == (255, 255, 255) and px(im, (1, 0)) == (90, 90, 90)
    rgb = Image.new("RGB", (2, 1), (0, 0, 0))
    rgb.putpixel((1, 0), RED)
    im = decoded(save(rgb, "PNG", transparency=(0, 0, 0)), (2, 1))
    assert px(im, (0, 0)) == (255, 255, 255) and px(im, (1, 0)) == RED
