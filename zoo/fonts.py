"""Fonts for text the server draws itself (PIL images, matplotlib figures): Hangul needs a CJK face.

The browser draws the pages' text and plotly's charts with its own fonts; an image made here carries
its text as pixels, so a font without Hangul would bake tofu boxes into it. For Korean the font is a
CJK face found through matplotlib's font manager (Debian: ``fonts-noto-cjk``, installed by ``.ci/run``);
without one the default face is used and a warning logged once. No image drawn by the app carries text
today (CAM overlays, feature maps and filters are pictures only; captions are the page's): this is
the one place to get a font from when one does.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from zoo.i18n import language

_log = logging.getLogger(__name__)

# Faces with Hangul, best first: Noto Sans CJK's Korean face, then its other faces (all carry Hangul),
# then other common Korean fonts.
CJK_FAMILIES = (
    "Noto Sans CJK KR", "Noto Sans KR", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC",
    "Source Han Sans K", "Source Han Sans KR", "NanumGothic", "Malgun Gothic", "Apple SD Gothic Neo",
    "Noto Serif CJK KR", "Noto Serif KR",
)
DEFAULT_FAMILY = "DejaVu Sans"  # matplotlib's own face: Latin, Greek, Cyrillic, no Hangul


@dataclass(frozen=True)
class Font:
    family: str
    path: str
    index: int  # the face within a .ttc collection (Noto CJK ships all its faces in one file)


@lru_cache(maxsize=None)
def font_for(lang: str) -> Font:
    """The face to draw ``lang`` with: a CJK one for Korean (or the default, with a warning, when none is installed)."""
    from matplotlib import font_manager

    if lang == "ko":
        by_name: dict[str, Font] = {}
        for entry in font_manager.fontManager.ttflist:
            if entry.name in CJK_FAMILIES and entry.style == "normal" and (
                    entry.name not in by_name or entry.weight == 400):
                by_name[entry.name] = Font(entry.name, entry.fname, int(getattr(entry, "index", 0) or 0))
        for family in CJK_FAMILIES:
            if family in by_name:
                return by_name[family]
        _log.warning("no CJK font found (install fonts-noto-cjk): Korean text in images will show as boxes")
    path = font_manager.findfont(font_manager.FontProperties(family=DEFAULT_FAMILY), fallback_to_default=True)
    return Font(DEFAULT_FAMILY, path, 0)


def current_font() -> Font:
    """The face for the language in force (the session's, or English)."""
    return font_for(language())


def pil_font(size_px: int, lang: str | None = None):
    """A PIL ``ImageFont`` of ``size_px`` for ``lang`` (default: the language in force)."""
    from PIL import ImageFont

    font = font_for(lang or language())
    return ImageFont.truetype(font.path, size_px, index=font.index)


def matplotlib_family(lang: str | None = None) -> list[str]:
    """``font.family`` for a matplotlib figure in ``lang``: the CJK face first, the default face for the rest."""
    font = font_for(lang or language())
    return [font.family] if font.family == DEFAULT_FAMILY else [font.family, DEFAULT_FAMILY]
