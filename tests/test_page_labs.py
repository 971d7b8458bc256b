"""AppTest for the labs page: every lab renders at its defaults and with every widget at its extremes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.labs import index
from zoo import i18n

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "understand" / "labs.py")
LABS = list(index())  # every lab the page's menu offers, found as the page finds them


def fresh(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_in_session_language():
    """The labs page as app.py runs it: the session's language (``?lang=``) installed first."""
    import runpy
    from pathlib import Path

    import pages
    from pages.ui import i18n as ui_i18n

    ui_i18n.setup()
    runpy.run_path(str(Path(pages.__file__).parent / "understand" / "labs.py"))


def fresh_in(lang: str, **query) -> AppTest:
    at = AppTest.from_function(page_in_session_language, default_timeout=180)
    at.query_params["lang"] = lang
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    """The sentences a lab shows (markdown, captions, notices), not its tables or formulas."""
    return [e.value for kind in ("markdown", "caption", "info", "warning", "error") for e in getattr(at, kind)]


# Sentences generated from numbers that read wrong: "1.00× fewer", "0.52× more", "1 ReLUs", "saves -3%".
BAD = [re.compile(p) for p in (r"\b1\.00× (fewer|more|faster|slower|as long)", r"(?<![\d.,])0\.\d+× (fewer|more)",
                               r"(?<![\d.,×])1 (ReLUs|layers|BasicBlocks|blocks|convs|channels)\b",
                               r"(saves|costs) \**-", r"\bNone\b", r"\bnan\b")]


def assert_reads_right(at: AppTest, where) -> None:
    for text in texts(at):
        for bad in BAD:
            assert not bad.search(text), (where, bad.pattern, text)


HANGUL = re.compile("[가-힣]")


def widgets(at: AppTest) -> list:
    """The lab's own widgets (the lab selector excluded), each as (element, low, high)."""
    out = []
    for s in at.slider:
        out.append((s, s.min, s.max))
    for s in at.select_slider:
        # labkit.steps' widgets hold the shown labels, one per option, so the ends can be set as shown
        assert len(set(s.options)) == len(s.options) > 1
        out.append((s, s.options[0], s.options[-1]))
    for c in at.checkbox:
        out.append((c, False, True))
    return out


@pytest.mark.parametrize("lab", LABS)
def test_lab_renders_at_defaults_and_extremes(lab):
    at = fresh(lab_id=lab)
    assert at.selectbox(key="lab_id").value == lab
    assert at.header[0].value  # the lab's title
    assert at.get("plotly_chart"), "every lab has a chart"
    assert at.get("latex"), "every lab shows its formula"
    initial = {e.key: e.value for e, _, _ in widgets(at)}
    assert initial, "every lab has at least one control"
    for end in (0, 1):  # every control at its low end together, then at its high end
        for element, lo, hi in widgets(at):
            element.set_value(hi if end else lo)
        at.run()
        assert not at.exception, (lab, end, [e.value for e in at.exception])
        assert_reads_right(at, (lab, end))
    at = fresh(lab_id=lab)
    for key, default in initial.items():  # each control alone at each extreme, the others at their defaults
        element, lo, hi = next(w for w in widgets(at) if w[0].key == key)
        for value in (lo, hi):
            element.set_value(value).run()
            assert not at.exception, (lab, key, value, [e.value for e in at.exception])
            assert_reads_right(at, (lab, key, value))
            element = next(w for w in widgets(at) if w[0].key == key)[0]
        element.set_value(default)  # applied with the next control's first run


def test_url_holds_the_lab_and_its_settings():
    at = fresh(lab_id="gradients", lab_grad_depth="20", lab_grad_bn="0")
    assert at.slider(key="lab_grad_depth").value == 20
    assert at.checkbox(key="lab_grad_bn").value is False
    at.slider(key="lab_grad_depth").set_value(32).run()
    assert at.query_params["lab_grad_depth"] == "32"
    # switching lab drops the previous lab's settings from the URL
    at.selectbox(key="lab_id").set_value("dense").run()
    assert not at.exception
    assert "lab_grad_depth" not in at.query_params and at.query_params["lab_id"] == "dense"


def test_bad_url_values_fall_back_to_defaults():
    at = fresh(lab_id="no-such-lab", lab_vgg_n="banana", lab_vgg_c="100000")
    assert at.selectbox(key="lab_id").value == "vgg"
    assert at.slider(key="lab_vgg_n").value == 3 and at.slider(key="lab_vgg_c").value == 64
    at = fresh(lab_id="gradients", lab_grad_depth="21")  # 21 is not 6n + 2
    assert at.slider(key="lab_grad_depth").value == 56
    at = fresh(lab_id="dense", lab_dense_theta="0.55", lab_dense_k="33")  # off the sliders' steps
    assert at.slider(key="lab_dense_theta").value == 0.5 and at.slider(key="lab_dense_k").value == 32


def test_inception_preset_fills_the_sliders():
    at = fresh(lab_id="inception")
    at.selectbox(key="lab_inc_preset").set_value("inception4a").run()
    assert not at.exception
    assert at.slider(key="lab_inc_in_channels").value == 480
    assert at.slider(key="lab_inc_size").value == 14


def test_shown_numbers_are_the_measured_ones():
    at = fresh(lab_id="vgg")
    table = at.dataframe[0].value
    assert table["params"].tolist() == [110_784, 200_768]  # 3 x 3x3 vs 7x7 at C = 64, with bias
    assert table["matches"].all()


def test_menu_is_the_discovered_labs_in_order():
    at = fresh()
    menu = at.selectbox(key="lab_id")
    assert menu.value == LABS[0] and menu.options == [m.TITLE for m in index().values()]


def test_select_slider_url_holds_the_option_not_its_label():
    at = fresh(lab_id="separable", lab_sep_rho=str(128 / 224))
    rho = at.select_slider(key="lab_sep_rho")
    assert rho.value == "0.571 (128 px)" and at.query_params["lab_sep_rho"] == str(128 / 224)
    rho.set_value(rho.options[-1]).run()
    assert not at.exception and at.query_params["lab_sep_rho"] == "1.0"
    at = fresh(lab_id="decay", lab_decay_wd="0.07")  # not one of the options
    assert at.select_slider(key="lab_decay_wd").value == "0.01" and at.query_params["lab_decay_wd"] == "0.01"


@pytest.mark.parametrize("lab", LABS)
def test_lab_in_korean_at_defaults_and_extremes(lab):
    with i18n.using("ko"):  # AppTest formats widget values (the translated lab menu) in the test's thread
        check_korean(lab)


def check_korean(lab: str) -> None:
    at = fresh_in("ko", lab_id=lab)
    for end in (None, 0, 1):
        if end is not None:
            for element, lo, hi in widgets(at):
                element.set_value(hi if end else lo)
            at.run()
            assert not at.exception, (lab, end, [e.value for e in at.exception])
        assert HANGUL.search(at.header[0].value), at.header[0].value  # the lab's title
        shown = texts(at)
        assert shown and HANGUL.search(shown[0])
        # every sentence built from numbers is Korean: none left in English
        english = [t for t in shown if re.search(r"\d", t) and not HANGUL.search(t)]
        assert not english, (lab, end, english)


def test_english_stays_english_after_a_korean_session():
    # the zoo labs are cached across sessions; a Korean session must not leave Korean in an English one
    fresh_in("ko", lab_id="residual")
    at = fresh_in("en", lab_id="residual")
    assert not any(HANGUL.search(t) for t in texts(at) + [at.header[0].value])


def test_compare_reads_right_at_every_ratio():
    from pages.ui.labkit import compare

    assert compare(10, 34.5, "MACs", "the conv") == "3.45× fewer MACs than the conv"
    assert compare(34.5, 10, "MACs", "the conv") == "3.45× more MACs than the conv"
    assert compare(5, 5, "MACs", "the conv") == "as many MACs as the conv"
    assert compare(1000, 1001, "MACs", "the conv") == "about as many MACs as the conv"  # never "1.00× fewer"
    assert compare(0, 5, "MACs", "the conv") == "fewer MACs than the conv"
    with i18n.using("ko"):
        assert compare(10, 34.5, "MACs", "표준 합성곱") == "표준 합성곱보다 3.45배 적은 MACs"


def test_the_seed_notes_claims_are_on_screen():
    # shared/seed/cnn-architectures-notes.md: 1,792 vs 4,864; 27C² vs 49C²; 1x1 reductions; k0 + k(l-1); aux x0.3
    at = fresh(lab_id="vgg")
    assert "27C^2" in " ".join(e.value for e in at.latex) and "49C^2" in " ".join(e.value for e in at.latex)
    assert any("1,792" in t and "4,864" in t for t in texts(at))
    at = fresh(lab_id="dense")
    assert any(r"c_\ell = k_0 + k(\ell - 1)" in e.value for e in at.latex)
    at = fresh(lab_id="inception")
    assert any("0.3" in e.value and "aux" in e.value for e in at.latex)
    assert any("512" in t and "256" in t and "1×1" in t for t in texts(at))  # the notes' 512 -> 256 reduction
