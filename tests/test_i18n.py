"""The whole app in Korean and English (issue 16): the catalogue, the sources, every page.

1. Catalogue completeness: every message the sources mark (``_()``, ``N_()``, ``ngettext()``, read
   with Babel's own extractor) has a Korean entry in ``zoo/locale/ko/*.po``; no Korean entry is
   its English unless it is a name; no entry is stale (no source uses it).
2. Placeholders: a Korean entry has exactly its msgid's ``{placeholders}`` (and plotly's ``%{...}``).
3. Sources: no Streamlit call in ``pages/`` (or app.py) shows a literal, letter-bearing string that
   bypasses the layer; a name opts out with ``# i18n: name`` on its line.
4. Every page of app.py's navigation renders in Korean and in English; in Korean its visible text is
   mostly Hangul; ``?lang=`` survives navigation and reruns; the sidebar switch changes both.

Every check is parametrized per file (per page for 4), so a failure names the file to fix.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from babel.messages.extract import extract

from zoo import i18n

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
SOURCES = sorted([APP, *(ROOT / "pages").rglob("*.py"), *(ROOT / "zoo").rglob("*.py")])
PAGE_SOURCES = sorted([APP, *(ROOT / "pages").rglob("*.py")])

# Korean entries allowed to equal their English: names and units that Korean courses write as they are.
SAME_IN_KOREAN = {"MACs", "FLOPs", "GMACs", "ReLU", "acc@1", "acc@5", "acc@1 %", "acc@5 %", "MACs %", "rf_px",
                  "ImageNet acc@1", "ImageNet acc@1 (%)", "GMACs (log)", "RF (px)", "Grad-CAM", "CAM", "Top-5",
                  # module names with their kernels, and formats made only of numbers, units and names
                  "BasicBlock (3×3, 3×3)", "Bottleneck (1×1, 3×3, 1×1)", "C = {c}", "Top-1: **{label}** ({p:.0%})",
                  "{v} MACs ({exact:,})", "{v}×{v} px", "{v} MACs"}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def key_of(message) -> str | tuple[str, str]:
    return message if isinstance(message, str) else tuple(message)


@lru_cache(maxsize=None)
def source_messages() -> dict[str, tuple[tuple[int, str | tuple[str, str]], ...]]:
    """file -> (line, msgid) of every marked message, by Babel's Python extractor."""
    out = {}
    for path in SOURCES:
        with path.open("rb") as f:
            found = tuple((lineno, key_of(message)) for lineno, message, _c, _ctx in extract("python", f, KEYWORDS))
        if found:
            out[rel(path)] = found
    return out


@lru_cache(maxsize=None)
def korean() -> dict[str, list]:
    """.po file name -> its real entries (Babel messages, header left out)."""
    return {p.name: [m for m in i18n.read(p) if m.id] for p in i18n.po_files("ko")}


def korean_index() -> dict:
    return {key_of(m.id): m for entries in korean().values() for m in entries}


def first_string(m) -> str:
    return m.string[0] if isinstance(m.string, (list, tuple)) else m.string


# -- 1. catalogue completeness ---------------------------------------------------------------------

def test_the_extractor_finds_the_layers_messages():
    """The extraction itself can fail: it must see messages we know are there."""
    found = {m for msgs in source_messages().values() for _l, m in msgs}
    assert "Language" in found and "Home" in found  # pages/ui/i18n.py, app.py
    assert len(found) > 100


@pytest.mark.parametrize("source", sorted(source_messages()))
def test_every_message_has_korean(source):
    index = korean_index()
    missing = []
    for line, msgid in source_messages()[source]:
        m = index.get(msgid)
        if m is None or m.fuzzy or not m.string or (isinstance(m.string, (list, tuple)) and not all(m.string)):
            missing.append(f"{source}:{line}: {msgid!r}")
    assert not missing, "no Korean for:\n" + "\n".join(missing)


@pytest.mark.parametrize("po", sorted(korean()))
def test_no_korean_entry_is_its_english_unless_a_name(po):
    same = [m.id for m in korean()[po] if not isinstance(m.id, (list, tuple))
            and m.string == m.id and m.id not in SAME_IN_KOREAN]
    assert not same, f"{po}: untranslated (add to SAME_IN_KOREAN only if it is a name): {same}"


@pytest.mark.parametrize("po", sorted(korean()))
def test_no_stale_entry(po):
    used = {m for msgs in source_messages().values() for _l, m in msgs}
    stale = [key_of(m.id) for m in korean()[po] if key_of(m.id) not in used]
    assert not stale, f"{po}: entries no source marks: {stale}"


@pytest.mark.parametrize("po", sorted(korean()))
def test_plural_entries_have_one_korean_form(po):
    for m in korean()[po]:
        if isinstance(m.id, (list, tuple)):
            assert len(m.string) == 1 and m.string[0], (po, m.id)


# -- 2. placeholders -------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\{[^{}]*\}|\{[^{}]*\}")


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")))


def test_placeholder_check_can_fail():
    assert placeholders("{n:,} layers, %{y} px") == Counter({"{n:,}": 1, "%{y}": 1})
    assert placeholders("{n} 층") != placeholders("{n:,} layers")


@pytest.mark.parametrize("po", sorted(korean()))
def test_korean_keeps_the_placeholders(po):
    wrong = []
    for m in korean()[po]:
        english = m.id[-1] if isinstance(m.id, (list, tuple)) else m.id
        if placeholders(first_string(m)) != placeholders(english):
            wrong.append(f"{english!r} -> {first_string(m)!r}")
    assert not wrong, f"{po}: placeholders differ:\n" + "\n".join(wrong)


# Markdown (CommonMark) does not close ``**`` that follows punctuation and is followed by a letter:
# "**[a, b]**을" shows its asterisks. Korean particles attach right after the bold text, so say it.
UNCLOSED_BOLD = re.compile(r"[\])}.,:;!?'\"`]\*\*[\uac00-\ud7a3]")


def test_unclosed_bold_check_can_fail():
    assert UNCLOSED_BOLD.search("픽셀 **[i, j]**을 봅니다") and not UNCLOSED_BOLD.search("**[i, j]** 범위를")


@pytest.mark.parametrize("po", sorted(korean()))
def test_korean_bold_closes(po):
    bad = [first_string(m) for m in korean()[po] if UNCLOSED_BOLD.search(first_string(m))]
    assert not bad, f"{po}: ** followed by a particle after punctuation does not render bold: {bad}"


# -- 3. no literal user-visible string in the pages ------------------------------------------------

TRANSLATORS = {"_", "gettext", "ngettext"}
# Calls whose first positional argument is a path, data or code, not text.
NOT_TEXT_FIRST = {"page_link", "Page", "switch_page", "image", "audio", "video", "plotly_chart", "dataframe",
                  "data_editor", "table", "altair_chart", "pyplot", "vega_lite_chart", "pydeck_chart", "json",
                  "code", "latex", "set_page_config", "html", "navigation", "write_stream", "map", "line_chart",
                  "bar_chart", "area_chart", "scatter_chart", "columns", "tabs", "get", "pop", "setdefault",
                  "download_button_data", "fragment", "dialog_data", "empty", "container", "form_submit_data"}
# Parts of st that are state, not drawing.
NOT_DRAWING = {"session_state", "query_params", "context", "secrets", "cache_data", "cache_resource", "runtime"}
TEXT_KEYWORDS = {"label", "help", "caption", "placeholder", "title", "body", "text"}
PLOTLY_CALLS = {"Figure", "Scatter", "Bar", "Heatmap", "Image", "Histogram", "Box", "Pie", "Layout", "update_layout",
                "update_xaxes", "update_yaxes", "update_traces", "add_trace", "add_shape", "add_annotation",
                "add_hline", "add_vline", "make_subplots", "scatter", "bar", "line", "imshow", "histogram"}
PLOTLY_TEXT = {"title", "xaxis_title", "yaxis_title", "legend_title_text", "name", "text", "hovertemplate",
               "subplot_titles", "labels", "colorbar", "xaxis", "yaxis", "legend", "texttemplate", "annotations",
               "title_text"}
# Inside a plotly settings dict (xaxis=dict(...), legend={...}) only these keys are text.
PLOTLY_DICT_TEXT = {"title", "text", "name", "title_text"}
OPT_OUT = re.compile(r"#\s*i18n:\s*name\b")
NOT_LETTERS = [re.compile(p) for p in (r":material/[a-z0-9_]+:", r"%\{[^{}]*\}", r"<[^<>]+>", r"\{[^{}]*\}",
                                       r":(?:red|green|blue|orange|violet|gray|grey|rainbow|primary)\[")]


def has_letters(text: str) -> bool:
    for p in NOT_LETTERS:
        text = p.sub(" ", text)
    return any(ch.isalpha() for ch in text)


def plotly_text(node: ast.AST) -> list[ast.AST]:
    """Like :func:`literal_text`, but a settings dict is text only under its text keys."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
        return [bad for k in node.keywords if k.arg in PLOTLY_DICT_TEXT for bad in plotly_text(k.value)]
    if isinstance(node, ast.Dict):
        return [bad for k, v in zip(node.keys, node.values)
                if isinstance(k, ast.Constant) and k.value in PLOTLY_DICT_TEXT for bad in plotly_text(v)]
    return literal_text(node)


def literal_text(node: ast.AST) -> list[ast.AST]:
    """Sub-expressions of ``node`` that put untranslated letters on screen."""
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, str) and has_letters(node.value) else []
    if isinstance(node, ast.JoinedStr):
        parts = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return [node] if has_letters(parts) else []
    if isinstance(node, ast.BinOp):
        return literal_text(node.left) + literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return literal_text(node.body) + literal_text(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [bad for elt in node.elts for bad in literal_text(elt)]
    if isinstance(node, ast.Dict):
        return [bad for v in node.values if v is not None for bad in literal_text(v)]
    if isinstance(node, ast.Lambda):
        return literal_text(node.body)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in TRANSLATORS:
            # _(f"...") can never be in the catalogue; the message must be a plain literal.
            return [a for a in node.args if isinstance(a, ast.JoinedStr)]
        if name == "dict":
            return [bad for k in node.keywords for bad in literal_text(k.value)]
        if isinstance(f, ast.Attribute) and name in {"format", "join", "strip", "replace"}:
            return literal_text(f.value)
    return []


class _PageVisitor(ast.NodeVisitor):
    def __init__(self, opt_out: set[int]):
        self.roots = set()  # names bound to streamlit, or to what a streamlit call returned
        self.opt_out = opt_out
        self.bad: list[str] = []
        self.shadowed: list[int] = []
        self.uses_plotly = False

    # -- what is streamlit --
    def is_st(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.roots
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.is_st(node.value)
        if isinstance(node, ast.Call):
            return self.is_st(node.func)
        return False

    def chain(self, node: ast.AST) -> set[str]:
        names = set()
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
                node = node.value
            elif isinstance(node, ast.Subscript):
                node = node.value
            else:
                node = node.func
        return names

    def visit_Import(self, node):
        for a in node.names:
            if a.name == "streamlit":
                self.roots.add(a.asname or a.name)
            if a.name.startswith("plotly"):
                self.uses_plotly = True

    def visit_ImportFrom(self, node):
        if (node.module or "").startswith("plotly"):
            self.uses_plotly = True
        if node.module == "streamlit":
            self.roots.update(a.asname or a.name for a in node.names)

    def _bind(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.roots.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._bind(t.value if isinstance(t, ast.Starred) else t)

    def visit_Assign(self, node):
        if isinstance(node.value, ast.Call) and self.is_st(node.value.func):
            for t in node.targets:
                self._bind(t)
        for t in node.targets:
            self._shadow(t)
        self.generic_visit(node)

    def _shadow(self, target):
        for n in ast.walk(target):
            if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store):
                self.shadowed.append(n.lineno)

    def visit_For(self, node):
        self._shadow(node.target)
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None and self.is_st(item.context_expr):
                self._bind(item.optional_vars)
        self.generic_visit(node)

    # -- the check --
    def flag(self, call: ast.Call, arg: ast.AST, what: str, find=literal_text) -> None:
        for bad in find(arg):
            lines = set(range(bad.lineno, (bad.end_lineno or bad.lineno) + 1)) | {call.lineno}
            if lines & self.opt_out:
                continue
            text = ast.unparse(bad)
            self.bad.append(f"line {bad.lineno}: {what}: {text[:90]}")

    def visit_Call(self, node):
        f = node.func
        method = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if isinstance(f, ast.Attribute) and self.is_st(f.value) and not (self.chain(f) & NOT_DRAWING):
            if node.args and method not in NOT_TEXT_FIRST:
                self.flag(node, node.args[0], f"st {method}()")
            if len(node.args) > 1 and isinstance(node.args[1], (ast.List, ast.Tuple)) and not any(
                    k.arg == "format_func" for k in node.keywords):
                self.flag(node, node.args[1], f"{method}() options without format_func")
            for k in node.keywords:
                if k.arg in TEXT_KEYWORDS | {"format_func", "column_config"}:
                    self.flag(node, k.value, f"{method}({k.arg}=)")
        elif self.uses_plotly and method in PLOTLY_CALLS:
            for k in node.keywords:
                if k.arg == "labels":
                    self.flag(node, k.value, f"plotly {method}(labels=)")
                elif k.arg in PLOTLY_TEXT:
                    self.flag(node, k.value, f"plotly {method}({k.arg}=)", plotly_text)
        self.generic_visit(node)


def literal_strings(path: Path) -> tuple[list[str], list[int]]:
    source = path.read_text()
    opt_out = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
               if tok.type == tokenize.COMMENT and OPT_OUT.search(tok.string)}
    v = _PageVisitor(opt_out)
    v.visit(ast.parse(source))
    imports_underscore = re.search(r"from zoo\.i18n import [^\n]*\b_\b", source) is not None
    return v.bad, (v.shadowed if imports_underscore else [])


def test_the_source_check_can_fail(tmp_path):
    page = tmp_path / "page.py"
    page.write_text(
        "import streamlit as st\nimport plotly.graph_objects as go\nfrom zoo.i18n import _\n"
        "a, b = st.columns(2)\n"
        "st.title('Model explorer')\n"                        # bad: literal
        "a.metric(f'Params of {x}', 1)\n"                     # bad: f-string on a column
        "st.caption(_(f'{x} layers'))\n"                      # bad: _(f-string)
        "st.radio(_('Axis'), ['MACs', 'Parameters'])\n"       # bad: options shown as they are
        "go.Figure().update_layout(xaxis_title='year')\n"     # bad: plotly axis title
        "st.markdown('**' + _('Model') + '** · —')\n"         # fine: no letters outside _()
        "st.title('CNN Zoo Explorer')  # i18n: name\n"        # fine: a name, opted out
        "with st.expander(_('More')) as ex:\n    ex.write('hidden text')\n"  # bad: on the expander
        "c1, _ = st.columns(2)\n")                            # bad: shadows _
    bad, shadowed = literal_strings(page)
    assert sorted({b.split(":")[0] for b in bad}) == ["line 13", "line 5", "line 6", "line 7", "line 8", "line 9"], bad
    assert shadowed == [14]


@pytest.mark.parametrize("page", [rel(p) for p in PAGE_SOURCES])
def test_pages_show_no_literal_text(page):
    bad, shadowed = literal_strings(ROOT / page)
    assert not shadowed, f"{page}: `_` reassigned on lines {shadowed}: it is the translation function there"
    assert not bad, f"{page}: literal user-visible strings (wrap in _(), or mark a name `# i18n: name`):\n" + \
        "\n".join(bad)


# -- 4. every page in both languages ---------------------------------------------------------------

def nav_pages() -> list[tuple[str, bool]]:
    """(script, is_default) of every st.Page in app.py's navigation, read from its source."""
    out = []
    for node in ast.walk(ast.parse(APP.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            default = any(k.arg == "default" and getattr(k.value, "value", False) for k in node.keywords)
            out.append((node.args[0].value, default))
    return out


PAGES = nav_pages()
HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
LATIN = re.compile(r"[A-Za-z]")
# Names Korean text keeps in Latin letters (models, libraries, units, datasets, layer kinds).
# Latin-letter boundaries, not \b: a Korean particle right after a name ("MACs를") is a word character.
NAME_WORDS = re.compile(
    r"(?<![A-Za-z])(?:ImageNet(?:-1K)?|torchvision|PyTorch|PyPI|MACs|GMACs|FLOPs|GFLOPS|ReLU6?|BatchNorm|CNNs?|ILSVRC|arXiv|"
    r"Grad-CAM|Eigen-CAM|Score-CAM|CAM|SE|MBConv|fused-MBConv|Swish|hard-swish|h-swish|NetAdapt|Inception|"
    r"ResNeXt|Lite\d?|MiB|MB|GB|KB|px|ms|fp32|bf16|int8|rf_px|acc@[15]|top-[15]|Top-[15]|ONNX|OpenVINO|CPU|GPU|"
    r"dtype|float32|bfloat16|V[123]|B[0-7]|k|x|et al|CZ|Zoo|Explorer|CNN|TensorFlow|TF|LRN|ResNet|"
    r"DenseNet(?:-BC)?|VGG|AlexNet|GoogLeNet|MobileNet|EfficientNet|Pareto|Distill|NeurIPS|NIPS|CVPR|ICLR|ICML|"
    r"ICCV|BMVC|FP32|README|DEFAULT|IMAGENET1K_V\d|WRN-50-2-bottleneck|aux_logits=True|Araujo|Luo|Szegedy|"
    r"Krizhevsky|Sutskever|Hinton|Simonyan|Zisserman|He|Xie|Zagoruyko|Komodakis|Huang|Howard|Sandler|Tan|Le|"
    r"Ioffe|FlopCounterMode|meta|tanh|CIFAR-10|Conv|Linear|Dropout|MaxPool2d|AdaptiveAvgPool2d|Conv2d|"
    r"BatchNorm2d|Sequential|Identity|Hardswish|SiLU|Sigmoid|Softmax)(?![A-Za-z])")


def names_on_screen() -> set[str]:
    from zoo import registry
    from zoo.cards import PAPERS

    names = {e.display for e in registry.REGISTRY.values()} | {f.display for f in registry.FAMILIES.values()}
    names |= {p.title for p in PAPERS.values()} | {p.authors for p in PAPERS.values()}
    names |= set(registry.imagenet_categories())  # class labels are names: predictions show them as they are
    return names


def visible_text(at) -> list[str]:
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        texts += [str(el.value) for el in getattr(at, kind)]
    for kind in ("selectbox", "multiselect", "radio", "slider", "select_slider", "number_input", "text_input",
                 "button", "toggle", "checkbox", "metric", "tabs", "expander", "button_group"):
        texts += [str(getattr(el, "label", "") or "") for el in at.get(kind)]
    return [t for t in texts if t]


def hangul_share(texts: list[str], names: set[str]) -> tuple[float, int]:
    """Share of letters that are Hangul, after removing what Korean keeps in Latin letters: markdown
    link texts and code spans (titles, sources, layer names), model/family/paper names, units."""
    letters = hangul = 0
    for t in texts:
        t = re.sub(r"\[[^\]]*\]\([^)]*\)", " ", t)
        t = re.sub(r"`[^`]*`", " ", t)
        t = re.sub(r"https?://\S+|:material/[a-z_]+:", " ", t)
        t = re.sub(r":[a-z]+(?:-badge|-background)?\[", " ", t)  # Streamlit colour markup, e.g. :green[...]
        for n in sorted(names, key=len, reverse=True):
            t = t.replace(n, " ")
        t = NAME_WORDS.sub(" ", t)
        h = len(HANGUL.findall(t))
        hangul += h
        letters += h + len(LATIN.findall(t))
    return (hangul / letters if letters else 0.0), letters


# A Korean page keeps names, units and layer names in Latin letters; those are removed above, and what
# is left is the sentences around them. Measured when this was written (lang=ko): Home 0.98, Model 0.89
# (weights identifiers such as ResNet50_Weights.IMAGENET1K_V2 and layer names stay), Compare 0.96,
# Receptive fields 0.86 (sample photos' credits stay English); the untranslated Labs page measured 0.06.
# One English paragraph on a page costs it 0.1-0.2, so 0.75 passes every translated page with room for
# names this list misses and fails a page with a paragraph or its headings left in English.
MIN_HANGUL = 0.75


def render(script: str, default: bool, lang: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=300)
    at.query_params["lang"] = lang
    at.run()
    if not default:
        with harness(lang):
            at.switch_page(script).run()
    return at


def harness(lang: str):
    """Before each run AppTest formats the widgets' values with their format_func in the *test* thread,
    where no session names a language (so _() would say English), and looks them up among the options
    the previous run drew. Translate in the test thread as that previous run did; the script's own
    thread keeps its session's language (a context variable does not cross threads)."""
    return i18n.using(lang)


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("script,default", PAGES, ids=[s for s, _d in PAGES])
def test_every_page_renders_in_both_languages(script, default, lang):
    at = render(script, default, lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["lang"] == lang
    share, letters = hangul_share(visible_text(at), names_on_screen())
    assert letters > 50, f"{script}: almost no text found on the page ({letters} letters)"
    if lang == "ko":
        assert share >= MIN_HANGUL, f"{script} in Korean: only {share:.0%} of the letters are Hangul"
    else:
        assert share == 0, f"{script} in English shows Hangul ({share:.1%})"


def test_hangul_share_measures_what_it_says():
    names = {"ResNet-50"}
    assert hangul_share(["ResNet-50의 파라미터 수"], names)[0] == 1.0
    assert hangul_share(["Parameters of ResNet-50"], names)[0] == 0.0
    assert hangul_share(["파라미터 parameters"], names)[0] == 4 / (4 + 10)


def _title(lang: str, english: str) -> str:
    with i18n.using(lang):
        return i18n._(english)


def test_lang_in_the_url_survives_navigation_and_reruns():
    at = render("pages/explore/home.py", True, "ko")
    assert not at.exception
    with harness("ko"):
        at.switch_page("pages/explore/model.py").run()
    assert at.query_params["lang"] == "ko"
    assert at.title[0].value == _title("ko", "Model explorer") != "Model explorer"
    with harness("ko"):
        at.run()
    assert at.query_params["lang"] == "ko" and at.title[0].value == _title("ko", "Model explorer")
    with harness("ko"):
        at.switch_page("pages/explore/compare.py").run()
    assert at.query_params["lang"] == "ko" and at.title[0].value == _title("ko", "Compare models")
    assert not at.exception


def test_the_sidebar_switch_changes_language_and_url():
    at = render("pages/explore/model.py", False, "en")
    assert at.title[0].value == "Model explorer"
    with harness("en"):
        at.radio(key="model_acc").set_value("best").run()
    assert at.query_params["acc"] == "best"
    switch = at.button_group(key="zoo_lang_switch")
    assert switch.label == "Language"
    with harness("en"):
        switch.set_value("ko").run()
    assert not at.exception
    assert at.query_params["lang"] == "ko"
    assert at.title[0].value == _title("ko", "Model explorer")
    assert at.button_group(key="zoo_lang_switch").label == _title("ko", "Language")
    assert at.radio(key="model_acc").value == "best" and at.query_params["acc"] == "best"
    with harness("ko"):
        at.button_group(key="zoo_lang_switch").set_value("en").run()
    assert not at.exception
    assert at.query_params["lang"] == "en" and at.title[0].value == "Model explorer"
    # The choice made before the switches is kept (its value comes back from the URL).
    assert at.radio(key="model_acc").value == "best"


# -- zoo's texts follow the language; the data behind them stays English ---------------------------

def test_cards_and_family_texts_follow_the_language():
    from zoo import cards, recipes, registry

    vgg16, resnet = cards.card("vgg16"), registry.FAMILIES["resnet"]
    assert "13 convolutional layers" in vgg16.added and "(16 weight layers)" in vgg16.added
    with i18n.using("ko"):
        assert "합성곱 층 13개" in vgg16.added and "16개" in vgg16.added  # the numbers come from the card's args
        assert "ILSVRC 2014" in vgg16.ilsvrc and "앙상블" in vgg16.ilsvrc
        assert i18n._(resnet.introduced) != resnet.introduced and HANGUL.search(i18n._(resnet.key_ideas[0]))
        claim, counted = cards.counted_checks("resnet")[0]
        assert HANGUL.search(claim) and "layer4.0" in counted and HANGUL.search(counted)
        label = recipes.loaded_weights_label(registry.get("resnet50"))
        assert label.startswith("ResNet50_Weights.IMAGENET1K_V2") and HANGUL.search(label)
        assert HANGUL.search(registry.get("mobilenet_v1").note_text)
    # English outside the block; the recipe labels in JSON stay English msgids either way.
    assert cards.card("vgg16").added.startswith("Configuration D of the paper")
    with i18n.using("ko"):
        assert recipes.weights_list(registry.get("resnet50"))[0].to_json()["recipe_label"].isascii()
