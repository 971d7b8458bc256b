"""What every lab page module shares: URL-backed widgets, the measured-vs-formula table, bars, caching.

A lab page reaches its zoo module only through :func:`zoo_lab`, which wraps every public function
of ``zoo.labs.<lab>`` in ``st.cache_data``: there is no list of wrappers to keep, so no call into
zoo can run uncached by accident.
"""
from __future__ import annotations

import functools
import importlib
import inspect
from types import ModuleType

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts
from pages.ui.fmt import MACS_NOTE, fmt_count
from pages.ui.query import set_query
from zoo import i18n
from zoo.i18n import _

PLAIN, RESIDUAL = charts.PLAIN, charts.RESIDUAL  # the same two colours wherever plain and residual meet
BASELINE, CHOICE = charts.NEUTRAL, charts.ACCENT  # the usual design vs the lab's design choice
CACHE = st.cache_data(show_spinner=False, max_entries=256)  # per function; a lab's inputs are few
_MISSING = object()


# --- the zoo side of a lab, cached ----------------------------------------------------------------

class CachedLab:
    """A ``zoo.labs`` module as a page sees it: its functions cached, its constants and classes as they are.

    Only what the module defines itself is there (its ``UPPER_CASE`` constants, its classes, its
    public functions); what it imports stays behind, so every call into zoo goes through the cache.
    Functions are wrapped on first use.
    """

    def __init__(self, module: ModuleType):
        self.zoo_module = module

    def __getattr__(self, name: str):
        module = self.__dict__.get("zoo_module")
        obj = getattr(module, name, _MISSING) if module is not None and not name.startswith("_") else _MISSING
        if obj is _MISSING or inspect.ismodule(obj):
            raise AttributeError(f"{getattr(module, '__name__', 'zoo.labs')} has no public {name!r} for a lab page")
        if not name.isupper():  # a function or class: only the module's own
            if getattr(obj, "__module__", None) != module.__name__:
                raise AttributeError(f"{name!r} is not {module.__name__}'s own: import it from where it is defined")
            if callable(obj) and not inspect.isclass(obj):
                obj = cached(obj)
        setattr(self, name, obj)  # found once; later lookups skip __getattr__
        return obj

    def public_names(self) -> list[str]:
        """Everything a page can reach through this object."""
        out = []
        for name in dir(self.zoo_module):
            if name.startswith("_"):
                continue
            try:
                getattr(self, name)
            except AttributeError:
                continue
            out.append(name)
        return out


def cached(fn):
    """``fn`` behind :data:`CACHE`, keyed by the session's language too: zoo labs name rows and write
    sentences through ``zoo.i18n``, so an English answer must never be served to a Korean session.

    The cached function is ``fn`` itself for Streamlit (same module, name, source and argument
    names, so ``_``-prefixed arguments stay unhashed), called with one more keyword, the language,
    which it translates in.
    """
    @functools.wraps(fn)
    def in_language(*args, zoo_lang: str, **kwargs):
        with i18n.using(zoo_lang):
            return fn(*args, **kwargs)

    store = CACHE(in_language)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return store(*args, zoo_lang=i18n.language(), **kwargs)

    call.cache = store
    call.clear = store.clear
    return call


def zoo_lab(page_module: str) -> CachedLab:
    """The cached zoo module of the lab page ``pages.labs.<lab>``: ``zoo.labs.<lab>``, same name."""
    return CachedLab(importlib.import_module("zoo.labs." + page_module.rsplit(".", 1)[-1]))


# --- widgets whose values live in the URL -------------------------------------------------------

def _from_url(key: str, default, lo, hi, step, cast):
    """The URL's value for ``key`` if it is one the slider offers (in range, on a step), else ``default``."""
    try:
        v = cast(st.query_params.get(key, default))
    except (TypeError, ValueError):
        return default
    steps = (v - lo) / step
    return v if lo <= v <= hi and abs(steps - round(steps)) < 1e-9 else default


def slider(label: str, key: str, lo, hi, default, step=1, cast=int, **kw):
    """A slider that starts from the URL's ``key`` (if valid) and writes its value back there."""
    if key not in st.session_state:
        st.session_state[key] = _from_url(key, default, lo, hi, step, cast)
    value = st.slider(label, cast(lo), cast(hi), step=cast(step), key=key, **kw)
    set_query(**{key: value})
    return value


def _url_option(key: str, options: list, default):
    by_text = {str(o): o for o in options}
    return by_text.get(st.query_params.get(key), default)


def choice(label: str, key: str, options: list, default, fmt=str, widget=st.selectbox, **kw):
    """A selectbox (or radio) whose value lives in the URL (as its str)."""
    if key not in st.session_state:
        st.session_state[key] = _url_option(key, options, default)
    value = widget(label, options, key=key, format_func=fmt, **kw)
    set_query(**{key: value})
    return value


def steps(label: str, key: str, options: list, default, fmt=str, **kw):
    """A select-slider over ``options`` shown as ``fmt(option)``; the option itself lives in the URL (as its str).

    The widget holds the shown labels, so its state (and a test's ``set_value``) is what is on screen.
    """
    by_label = {fmt(o): o for o in options}
    if len(by_label) != len(options):
        raise ValueError(f"{key}: two options have the same label")
    if key not in st.session_state:
        st.session_state[key] = fmt(_url_option(key, options, default))
    value = by_label[st.select_slider(label, list(by_label), key=key, **kw)]
    set_query(**{key: value})
    return value


def check(label: str, key: str, default: bool, **kw) -> bool:
    """A checkbox whose value lives in the URL as 1 / 0."""
    if key not in st.session_state:
        st.session_state[key] = {"1": True, "0": False}.get(st.query_params.get(key), default)
    value = st.checkbox(label, key=key, **kw)
    set_query(**{key: int(value)})
    return value


# --- presentation ---------------------------------------------------------------------------------

def measured_vs_formula(df: pd.DataFrame, extra: list[str] | None = None) -> None:
    """The lab's table: measured params/MACs next to the formula's, with a check column."""
    cols = ["variant", *(extra or []), "params", "params_formula", "macs", "macs_formula"]
    t = df[cols].copy()
    t["matches"] = (t["params"] == t["params_formula"]) & (t["macs"] == t["macs_formula"])
    st.dataframe(
        t, hide_index=True, width="stretch",
        column_config={
            "params": st.column_config.NumberColumn(_("params (measured)"), format="localized"),
            "params_formula": st.column_config.NumberColumn(_("params (formula)"), format="localized"),
            "macs": st.column_config.NumberColumn(_("MACs (measured)"), format="localized"),
            "macs_formula": st.column_config.NumberColumn(_("MACs (formula)"), format="localized"),
            "matches": st.column_config.CheckboxColumn(_("formula = measured")),
        },
    )


def params_macs_bars(df: pd.DataFrame, colors: list[str] | None = None) -> go.Figure:
    """Two bar charts side by side: each variant's parameters and MACs."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Parameters"), _("MACs")))
    for col, field in enumerate(("params", "macs"), 1):
        fig.add_bar(x=df["variant"], y=df[field], text=[fmt_count(v) for v in df[field]],
                    marker_color=colors, showlegend=False, row=1, col=col)
    fig.update_layout(height=340, margin=dict(t=40, b=10))
    return fig


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "—"


# --- sentences from numbers: right at every slider value, in the session's language ------------

def compare(a: float, b: float, noun: str, other: str, digits: int = 2) -> str:
    """``a`` against ``b`` (which belongs to ``other``) as a noun phrase: "3.45× fewer MACs than the
    standard conv", "1.20× more parameters than ...", "as many MACs as ..." (Korean: "...보다 3.45배 적은 MACs").

    ``noun`` and ``other`` come translated. The ratio is the larger over the smaller, so it never reads
    "0.50× fewer"; where it rounds to 1 it says "about as many", never "1.00× fewer".
    """
    if a == b:
        return _("as many {noun} as {other}").format(noun=noun, other=other)
    lo, hi = sorted((a, b))
    if lo <= 0:
        text = _("fewer {noun} than {other}") if a < b else _("more {noun} than {other}")
        return text.format(noun=noun, other=other)
    r = f"{hi / lo:.{digits}f}"
    if float(r) == 1:
        return _("about as many {noun} as {other}").format(noun=noun, other=other)
    text = _("{r}× fewer {noun} than {other}") if a < b else _("{r}× more {noun} than {other}")
    return text.format(r=r, noun=noun, other=other)


def measured_caption() -> None:
    st.caption(_("Measured: the modules are built on PyTorch's `meta` device and counted with "
                 "`zoo.analysis.summarize_module`, the analysis behind the model pages.") + " " + _(MACS_NOTE))
