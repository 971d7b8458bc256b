"""One translation layer for every user-visible string (pages, cards, labs, lesson, quiz, messages).

gettext style: the English sentence in the source is the key, so code stays readable and nothing can
be shown without an English text. Korean lives in ``zoo/locale/ko/*.po``, standard gettext catalogues,
one per area of the app (``app.po``, ``labs.po``, ``classroom.po`` ...; edited with any PO editor, read here with Babel, which also extracts every ``_()`` / ``ngettext()``
call from the source for the completeness test, ``tests/test_i18n.py``).

- ``_("Parameters")`` translates now; ``_("{n:,} layers").format(n=n)`` formats after translating,
  so a Korean sentence may put the number where Korean grammar wants it.
- ``ngettext("{n} block", "{n} blocks", n)`` picks English singular/plural; Korean has one form.
- ``N_("...")`` marks a string for the catalogue without translating it (data tables, e.g. cards),
  to be passed through ``_()`` where it is shown.

The language is per Streamlit session (the pages install a resolver that reads the session's
choice) or per context (``using("ko")``, for tests and the CLI's optional ``--lang``); the default is
English. ``zoo`` never imports Streamlit: the resolver is injected by ``pages/ui/i18n.py``.
Anything cached across sessions that returns translated text must take the language as an argument
(``pages/ui/labkit.zoo_lab`` adds ``language()`` to its cache keys).
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT = "en"
LOCALE_DIR = Path(__file__).with_name("locale")

_explicit: contextvars.ContextVar[str | None] = contextvars.ContextVar("zoo_language", default=None)
_resolver: Callable[[], str | None] | None = None


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Install the function that names the current session's language (the pages do, once)."""
    global _resolver
    _resolver = resolver


def language() -> str:
    """The language in force: an explicit ``using()`` block, else the session's choice, else English."""
    lang = _explicit.get()
    if lang is None and _resolver is not None:
        try:
            lang = _resolver()
        except Exception:  # outside a session (a worker thread, a bare import): English
            lang = None
    return lang if lang in LANGUAGES else DEFAULT


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Translate into ``lang`` inside the block (tests, the CLI)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    token = _explicit.set(lang)
    try:
        yield
    finally:
        _explicit.reset(token)


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    """msgid -> msgstr for ``lang`` from every ``zoo/locale/<lang>/*.po``; untranslated and fuzzy entries
    left out. A msgid in two files must have the same translation (``tests/test_i18n_core.py``)."""
    if lang == DEFAULT:
        return {}
    out: dict = {}
    for path in po_files(lang):
        for m in read(path):
            if not m.id or m.fuzzy:
                continue
            if isinstance(m.string, tuple):
                if all(m.string):
                    out[tuple(m.id)] = tuple(m.string)
            elif m.string:
                out[m.id] = m.string
    return out


def po_files(lang: str) -> list[Path]:
    return sorted((LOCALE_DIR / lang).glob("*.po"))


def read(path: Path):
    """One .po file as a Babel catalogue."""
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return read_po(f, locale=path.parent.name)


def gettext(message: str) -> str:
    """``message`` in the current language (English when the catalogue has no entry)."""
    lang = language()
    if lang == DEFAULT:
        return message
    found = catalogue(lang).get(message)
    return found if isinstance(found, str) else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural by English rules; one form in Korean. Format the result with ``n`` yourself."""
    lang = language()
    english = singular if n == 1 else plural
    if lang == DEFAULT:
        return english
    found = catalogue(lang).get((singular, plural))
    return found[0] if isinstance(found, tuple) and found else english


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; translate it with ``_()`` where it is shown."""
    return message


_ = gettext
