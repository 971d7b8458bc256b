"""Strict, safe decoding of user-supplied images into RGB ``PIL.Image.Image`` objects.

Everything a user can hand us (an upload, a camera shot, a sample name from a deep link) goes
through :func:`decode_image`, which either returns a fully loaded RGB image or raises
:class:`ImageDecodeError`, whose ``str()`` is one sentence fit to show in the UI as it is.

The rules:

* The format is identified from the bytes by Pillow (the file name is never consulted), and
  only JPEG (including MPO, what many phones write), PNG (including APNG), WebP, GIF and BMP
  are accepted. Anything else is refused with a sentence naming what the bytes look like, found
  by :func:`sniff_format` from magic numbers ("looks like a PDF", "HEIC images are not
  supported", ...).
* Size is capped three ways, all on the header-only ``Image.open`` result *before* any pixel
  data is decoded, so a tiny file that claims 100000 x 100000 pixels costs nothing: the byte
  count (``max_bytes``, the same 10,000,000 bytes as the upload widget's limit), the pixel count
  (``max_pixels``), and the shape: a side over :data:`MAX_SIDE` or sides that differ more than
  :data:`MAX_ASPECT` times are refused, because every model's preprocessing resizes the *short*
  side to a few hundred pixels, which would blow a 2 x 50,000 strip up to billions of pixels.
  With both limits, the largest resize in the catalogue stays under :data:`MAX_RESIZED_PIXELS`.
  Pillow's own decompression-bomb warning/error is turned into the same refusal; no global
  Pillow setting is changed.
* Truncated data is refused, PNG included: Pillow fills a PNG whose compressed stream ends
  early with black rows, so the decompressed size is checked against the header first.
* Animations give their first frame; EXIF orientation is applied (a malformed EXIF block is
  ignored rather than refused, as browsers do).
* Every mode is converted to RGB by :func:`to_rgb` with these rules:

  - ``1``, ``L``, ``P``, ``RGB``, ``RGBX``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``: Pillow's
    conversion (CMYK is the naive, profile-less formula).
  - Anything with alpha (``LA``, ``La``, ``PA``, ``RGBA``, ``RGBa``) or a ``transparency`` entry
    (``P``/``L``/``RGB`` with a transparent colour): composited over white, so a fully
    transparent pixel becomes (255, 255, 255).
  - ``I;16`` and its byte-order variants: 16-bit grey scaled to 8 bits, ``round(v * 255 / 65535)``
    (so 65535 -> 255 and 32768 -> 128; nothing is clipped).
  - ``I`` (32-bit signed integer): if every value lies in 0..65535 it is treated as 16-bit grey
    and scaled like ``I;16`` (this is how 16-bit PNGs were read by older Pillow versions);
    otherwise its range is stretched linearly min -> 0, max -> 255.
  - ``F`` (32-bit float): NaN -> 0; +/-inf clipped to the finite range. If all values lie in
    [0, 1] they are intensities scaled by 255; else if they lie in [0, 255] they are used as
    8-bit values; otherwise the range is stretched linearly min -> 0, max -> 255. A constant
    image outside both ranges becomes mid-grey (128).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from zoo.errors import ZooError
from zoo.i18n import N_, _

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "ImageDecodeError",
    "SAMPLES_DIR",
    "SAMPLE_CAPTIONS",
    "UPLOAD_TYPES",
    "decode_image",
    "image_digest",
    "list_samples",
    "load_sample",
    "read_capped",
    "sample_caption",
    "sniff_format",
    "to_rgb",
]

# One number for every door an image comes in by: Streamlit's upload widget counts its
# max_upload_size in decimal megabytes (10 -> 10,000,000 bytes), and so do the messages here.
DEFAULT_MAX_BYTES = 10_000_000
DEFAULT_MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000  # px; Streamlit's image element cannot encode a side over 65,535
MAX_ASPECT = 20  # long side / short side; phone panoramas are around 4-10
# The largest evaluation resize in the catalogue is EfficientNet-B7's 600 px short side, so the
# resized picture of an accepted image has at most 600^2 x MAX_ASPECT pixels.
MAX_RESIZED_PIXELS = 600**2 * MAX_ASPECT

#: Pillow decoders we let look at the bytes.
_OPEN_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
#: Pillow format names we accept (MPO is a JPEG with extra pictures appended, as phones write;
#: Pillow's JPEG decoder reports it itself).
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP")
#: File-name extensions offered to ``st.file_uploader`` (a convenience only: bytes are sniffed).
UPLOAD_TYPES: tuple[str, ...] = ("jpg", "jpeg", "png", "webp", "gif", "bmp")
_FORMATS_IN_WORDS = N_("JPEG, PNG, WebP, GIF or BMP")

SAMPLES_DIR: Path = Path(__file__).resolve().parents[2] / "assets" / "samples"
_SAMPLE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}

#: Short captions for the bundled sample photos (licences are in ``assets/samples/LICENSES.md``), in
#: English; :func:`sample_caption` translates the words (the names stay).
SAMPLE_CAPTIONS: dict[str, str] = {
    "chelsea.png": N_("Chelsea the cat"),
    "coffee.jpg": N_("A cup of coffee"),
    "astronaut.jpg": N_("Astronaut Eileen Collins"),
    "rocket.jpg": N_("Falcon 9 launch"),
}


_log = logging.getLogger(__name__)


class ImageDecodeError(ZooError, ValueError):
    """A user-caused decoding failure; ``str(e)`` is one sentence to show as it is."""


# --------------------------------------------------------------------------------------------
# Sniffing
# --------------------------------------------------------------------------------------------

# Names used in messages; "image-like" kinds get "X images are not supported" wording.
_IMAGE_KINDS_REFUSED = {
    "HEIC", "AVIF", "TIFF", "PSD", "ICO", "SVG", "JPEG 2000", "JPEG XL", "EPS", "DDS", "TGA",
    "QOI", "DNG", "Camera RAW",
}
_PRETTY = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP"}


def sniff_format(data: bytes) -> str | None:
    """Name what ``data`` looks like from its magic numbers, or ``None`` if unrecognised.

    Returns short human names used in messages: ``"JPEG"``, ``"PNG"``, ``"WebP"``, ``"GIF"``,
    ``"BMP"``, ``"HEIC"``, ``"AVIF"``, ``"TIFF"``, ``"PSD"``, ``"PDF"``, ``"HTML"``, ``"ZIP"``,
    ``"SVG"``, ``"text"``, ... Never raises.
    """
    if not data:
        return None
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI video"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV audio"
    if head.startswith(b"BM") and len(head) >= 14:
        return "BMP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"):
            return "HEIC"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"qt  ",):
            return "QuickTime video"
        if brand in (b"crx ",):
            return "Camera RAW"
        if brand.startswith(b"M4A"):
            return "M4A audio"
        return "MP4 video"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "TIFF"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"%!PS"):
        return "EPS"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "ZIP"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!\x1a\x07"):
        return "RAR"
    if head.startswith(b"\x00\x00\x01\x00") or head.startswith(b"\x00\x00\x02\x00"):
        return "ICO"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if head.startswith(b"qoif"):
        return "QOI"
    if head.startswith(b"DDS "):
        return "DDS"
    if head.startswith(b"\x7fELF"):
        return "Linux program"
    if head.startswith(b"MZ"):
        return "Windows program"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "MP3 audio"
    if head.startswith(b"OggS"):
        return "Ogg media"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "WebM/Matroska video"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "Microsoft Office document"
    if head.startswith(b"{\\rtf"):
        return "RTF document"
    # Text-based formats: look at the start, ignoring a BOM and whitespace.
    text = bytes(data[:1024])
    for bom in (b"\xef\xbb\xbf",):
        if text.startswith(bom):
            text = text[len(bom):]
    low = text.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<script")):
        return "HTML"
    if low.startswith(b"<svg") or (low.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in low):
        return "SVG"
    if low.startswith(b"<?xml"):
        return "XML"
    if low.startswith((b"{", b"[")) and _is_text(text):
        return "JSON"
    if _is_text(text):
        return "text"
    return None


def _is_text(chunk: bytes) -> bool:
    if not chunk:
        return False
    try:
        s = chunk.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the chunk.
        try:
            s = chunk[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return bool(s) and all(c.isprintable() or c in "\t\r\n\f" for c in s)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

# catch_warnings() swaps the process-wide filter list; serialise our own use of it so that two
# concurrent decodes (Streamlit runs sessions in threads) cannot restore each other's filters.
_WARNINGS_LOCK = threading.Lock()

_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _mb(n: int) -> str:
    v = n / 1e6  # decimal megabytes, as the upload widget counts them
    return f"{v:.0f} MB" if v == int(v) or v >= 100 else f"{v:.1f} MB"


def _too_big(n: int, limit: int) -> ImageDecodeError:
    size = _mb(n) if _mb(n) != _mb(limit) else _("{n:,} bytes").format(n=n)  # never "10 MB, over the 10 MB limit"
    return ImageDecodeError(_("This file is {size}, over the {limit} limit for images.").format(size=size, limit=_mb(limit)))


def _megapixels(n: int) -> str:
    v = n / 1e6
    return f"{v:,.0f}" if v >= 10 else f"{v:.2g}"


def _too_many_pixels(w: int, h: int, max_pixels: int) -> ImageDecodeError:
    return ImageDecodeError(
        _("This image is {w:,} x {h:,} pixels ({megapixels} megapixels), over the {limit}-megapixel limit, so we "
          "won't decode it.").format(w=w, h=h, megapixels=_megapixels(w * h), limit=_megapixels(max_pixels))
    )


_NOUNS = {  # English, translated where shown
    "HTML": N_("an HTML page"),
    "XML": N_("an XML file"),
    "JSON": N_("a JSON file"),
    "text": N_("a text file"),
    "ZIP": N_("a ZIP archive"),
    "gzip": N_("a gzip archive"),
    "7z": N_("a 7z archive"),
    "RAR": N_("a RAR archive"),
    "PDF": N_("a PDF"),
    "EPS": N_("a PostScript file"),
    "MP4 video": N_("an MP4 video"),
    "MP3 audio": N_("an MP3 audio file"),
    "M4A audio": N_("an M4A audio file"),
    "WAV audio": N_("a WAV audio file"),
    "AVI video": N_("an AVI video"),
    "Ogg media": N_("an Ogg media file"),
    "RTF document": N_("an RTF document"),
}


def _bad_shape(w: int, h: int) -> ImageDecodeError | None:
    """Why an image of this shape would cost too much to preprocess, or None when it is fine."""
    if max(w, h) > MAX_SIDE:
        return ImageDecodeError(
            _("This image is {w:,} x {h:,} pixels, wider or taller than the {limit:,}-pixel limit, so we won't decode "
              "it; please scale it down first.").format(w=w, h=h, limit=MAX_SIDE)
        )
    if max(w, h) > MAX_ASPECT * min(w, h):
        return ImageDecodeError(
            _("This image is {w:,} x {h:,} pixels: one side is more than {ratio} times the other, so resizing it for "
              "the models would take far too much memory; please crop it first.").format(w=w, h=h, ratio=MAX_ASPECT)
        )
    return None


def _not_an_image(kind: str | None) -> ImageDecodeError:
    if kind in _IMAGE_KINDS_REFUSED:
        return ImageDecodeError(
            _("{kind} images are not supported; please upload a {formats} file instead.").format(
                kind=kind, formats=_(_FORMATS_IN_WORDS))
        )
    if kind is None:
        return ImageDecodeError(
            _("This file is not an image we can read (it is not a {formats} file).").format(formats=_(_FORMATS_IN_WORDS))
        )
    if kind in _NOUNS:
        noun = _(_NOUNS[kind])
    else:
        noun = (_("an {kind}") if kind[:1].upper() in "AEIOU" else _("a {kind}")).format(kind=kind)
    return ImageDecodeError(_("This file is not an image we can read (looks like {noun}).").format(noun=noun))


def _damaged(kind: str | None) -> ImageDecodeError:
    if kind:
        return ImageDecodeError(
            _("This file looks like a {kind} image but is damaged or incomplete, so we can't read it.").format(kind=kind)
        )
    return ImageDecodeError(_("This image file is damaged or incomplete, so we can't read it."))


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode user-supplied bytes into a fully loaded RGB image, or raise ImageDecodeError.

    The result is EXIF-transposed, the first frame of an animation, mode ``"RGB"``, and does not
    hold on to ``data``. See the module docstring for the exact rules. Decoding holds one of the
    process's inference slots (zoo.concurrency), like the forward passes: N uploads at once take
    turns instead of adding up their decoded pixels.
    """
    from zoo import concurrency

    with concurrency.inference_slot():
        return _decode(data, max_bytes=max_bytes, max_pixels=max_pixels)


def _decode(data, *, max_bytes: int, max_pixels: int) -> Image.Image:
    if data is None:
        raise ImageDecodeError(_("No image was given."))
    if isinstance(data, memoryview | bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ImageDecodeError(_("No image was given."))
    if len(data) == 0:
        raise ImageDecodeError(_("The file is empty."))
    if len(data) > max_bytes:
        raise _too_big(len(data), max_bytes)

    kind = sniff_format(data)
    with _WARNINGS_LOCK, warnings.catch_warnings():
        # Pillow's warnings about a user's file ("Corrupt EXIF data", palette oddities) are
        # noise here, except the decompression-bomb one, which becomes a refusal.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            # Pillow refused on its own (larger) limit; its message carries the pixel count.
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            found = re.search(r"\((\d+) pixels\)", str(e))
            limit_mp = _megapixels(limit)
            if found:
                message = _("This image has {megapixels} megapixels, over the {limit}-megapixel limit, so we won't "
                            "decode it.").format(megapixels=_megapixels(int(found.group(1))), limit=limit_mp)
            else:
                message = _("This image has more pixels, over the {limit}-megapixel limit, so we won't decode "
                            "it.").format(limit=limit_mp)
            raise ImageDecodeError(message) from None
        except Image.UnidentifiedImageError:
            if kind in ("JPEG", "PNG", "GIF", "WebP", "BMP"):
                raise _damaged(kind) from None
            raise _not_an_image(kind) from None
        except Exception:  # noqa: BLE001 - any parser failure on user bytes is "damaged"
            _log.debug("Image.open failed", exc_info=True)
            if kind in ("JPEG", "PNG", "GIF", "WebP", "BMP"):
                raise _damaged(kind) from None
            raise _not_an_image(kind) from None

        with im:
            if im.format not in ALLOWED_FORMATS:  # pragma: no cover - formats= already ensures it
                raise _not_an_image(kind)
            pretty = _PRETTY.get(im.format or "", kind)
            w, h = im.size
            if w <= 0 or h <= 0:
                raise _damaged(pretty)
            if w * h > max_pixels:
                raise _too_many_pixels(w, h, max_pixels)
            shape = _bad_shape(w, h)
            if shape is not None:
                raise shape
            if im.format == "PNG" and not _png_data_complete(data, w, h):
                raise _damaged(pretty)
            try:
                im.seek(0)
                im.load()
                orientation = _orientation(im)
                frame = to_rgb(im)
            except ImageDecodeError:
                raise
            except MemoryError:
                raise ImageDecodeError(_("This image is too large to decode in the memory available.")) from None
            except Exception:  # noqa: BLE001 - truncated data, bad CRC, bad palette, ...
                _log.debug("decoding failed", exc_info=True)
                raise _damaged(pretty) from None

    if frame is im:  # pragma: no cover - to_rgb always returns a new image for an opened file
        frame = im.copy()
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is not None:
        frame = frame.transpose(method)
    frame.info = {}
    return frame


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1..8), or 1 when absent or unreadable (malformed EXIF is ignored)."""
    try:
        value = im.getexif().get(0x0112, 1)
        value = int(value[0] if isinstance(value, tuple | list) else value)
    except Exception:  # noqa: BLE001 - malformed EXIF: show the pixels as stored
        return 1
    return value if value in _ORIENTATION_TRANSPOSE else 1


def _composite_on_white(rgba: Image.Image) -> Image.Image:
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _grey_to_rgb(grey8: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(grey8, dtype=np.uint8), mode="L").convert("RGB")


def _scale_16bit(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(np.uint32)
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.full(a.shape, 128, dtype=np.uint8)
    return np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to a new ``RGB`` image (rules in the module docstring)."""
    mode = im.mode
    if mode.startswith("I;16"):
        arr = np.asarray(im)
        return _grey_to_rgb(_scale_16bit(arr.astype(np.uint16)))
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and arr.min() >= 0 and arr.max() <= 65535:
            return _grey_to_rgb(_scale_16bit(arr))
        return _grey_to_rgb(_stretch(arr) if arr.size else arr.astype(np.uint8))
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        nan = np.isnan(arr)
        finite = np.isfinite(arr)
        if not finite.any():
            return _grey_to_rgb(np.zeros(arr.shape, dtype=np.uint8))
        lo, hi = float(arr[finite].min()), float(arr[finite].max())
        arr = np.clip(np.where(nan, lo, arr), lo, hi)
        if lo >= 0.0 and hi <= 1.0:
            out = np.rint(arr * 255.0).astype(np.uint8)
        elif lo >= 0.0 and hi <= 255.0:
            out = np.rint(arr).astype(np.uint8)
        else:
            out = _stretch(arr)
        out[nan] = 0
        return _grey_to_rgb(out)
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or (
        mode in ("P", "L", "1", "RGB") and im.info.get("transparency") is not None
    )
    if mode == "P" and not has_alpha:
        # A palette may itself carry alpha (e.g. converted from RGBA).
        has_alpha = im.palette is not None and im.palette.mode == "RGBA"
    if has_alpha:
        return _composite_on_white(im.convert("RGBA"))
    if mode == "RGB":
        return im.copy()
    return im.convert("RGB")


# --------------------------------------------------------------------------------------------
# PNG completeness
# --------------------------------------------------------------------------------------------

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel (PNG spec, 11.2.2)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _png_raw_size(w: int, h: int, bit_depth: int, colour: int, interlaced: bool) -> int:
    """Bytes the image data of a PNG inflates to: per row a filter byte and the packed samples."""
    bits = _PNG_CHANNELS.get(colour, 4) * bit_depth
    if not interlaced:
        return h * (1 + (w * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        pw, ph = -(-(w - x0) // dx), -(-(h - y0) // dy)
        if pw > 0 and ph > 0:
            total += ph * (1 + (pw * bits + 7) // 8)
    return total


def _png_data_complete(data: bytes, w: int, h: int) -> bool:
    """True when the PNG's IDAT stream inflates to at least the size its header promises.

    Inflates in bounded pieces and only counts bytes, so a complete 40-megapixel image costs one
    extra pass of zlib and no memory; a stream that stops early (Pillow would fill the rest with
    black) comes out short. Unparseable chunk structure is left to Pillow's own checks.
    """
    import struct
    import zlib

    pos, idat = 8, []
    header = None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR" and len(body) >= 13:
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        return True
    bit_depth, colour, _, _, interlace = header[8:13]
    expected = _png_raw_size(w, h, bit_depth, colour, bool(interlace))
    inflate, got = zlib.decompressobj(), 0
    try:
        for piece in idat:
            chunk = inflate.decompress(piece, 1 << 20)
            got += len(chunk)
            while inflate.unconsumed_tail and got < expected:
                chunk = inflate.decompress(inflate.unconsumed_tail, 1 << 20)
                got += len(chunk)
            if got >= expected:
                return True
        while got < expected:
            chunk = inflate.decompress(inflate.unconsumed_tail, 1 << 20) if inflate.unconsumed_tail else b""
            if not chunk:
                break
            got += len(chunk)
    except zlib.error:
        return False
    return got >= expected


# --------------------------------------------------------------------------------------------
# Digests and samples
# --------------------------------------------------------------------------------------------


def read_capped(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path``, reading at most ``max_bytes + 1`` (``/dev/zero`` costs nothing).

    Raises ImageDecodeError when the file is larger than ``max_bytes`` (the same sentence as for an
    upload) and OSError when it cannot be read.
    """
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        # its size is unknown
        raise ImageDecodeError(_("This file is over the {limit} limit for images.").format(limit=_mb(max_bytes)))
    return data


def image_digest(img: Image.Image) -> str:
    """A short, stable hash of the decoded pixels (size, mode and bytes), for cache keys."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"{img.size[0]}x{img.size[1]}:{img.mode}:".encode())
    h.update(img.tobytes())
    return h.hexdigest()[:16]


def list_samples() -> list[str]:
    """File names of the bundled sample photos in :data:`SAMPLES_DIR`, sorted."""
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(
        p.name for p in SAMPLES_DIR.iterdir() if p.is_file() and p.suffix.lower() in _SAMPLE_SUFFIXES
    )


def sample_caption(name: str) -> str:
    """A short human caption for a sample photo (falls back to the file stem)."""
    if name in SAMPLE_CAPTIONS:
        return _(SAMPLE_CAPTIONS[name])
    return Path(name).stem.replace("_", " ").capitalize()


@functools.lru_cache(maxsize=16)
def _load_sample_cached(name: str) -> Image.Image:
    return decode_image((SAMPLES_DIR / name).read_bytes())


def load_sample(name: str) -> Image.Image:
    """Decode a bundled sample photo by file name (a fresh copy each call).

    Only names returned by :func:`list_samples` are accepted (so a name from a URL can't reach
    other files); anything else raises :class:`ImageDecodeError` with a sentence.
    """
    if not isinstance(name, str) or name not in list_samples():
        raise ImageDecodeError(_("There is no sample photo called {name}.").format(name=repr(str(name)[:60])))
    return _load_sample_cached(name).copy()

