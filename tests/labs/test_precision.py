"""Precision lab: the formats from torch's own finfo, numbers stored by torch's conversions, a live comparison."""
from __future__ import annotations

import math

import pytest

from zoo import i18n
from zoo.inference.images import load_sample
from zoo.inference.models import load_model
from zoo.labs import precision


def test_number_formats_are_ieee_and_bfloat16():
    f = precision.number_formats().set_index("format")
    assert [tuple(f.loc[n, ["bits", "exponent", "fraction"]]) for n in ("fp32", "bf16", "fp16")] == [
        (32, 8, 23), (16, 8, 7), (16, 5, 10)]
    assert f.loc["bf16", "max"] == pytest.approx(f.loc["fp32", "max"], rel=0.01)  # bf16 keeps fp32's range
    assert f.loc["fp16", "max"] == 65504 and f.loc["int8", "max"] == 127


def test_bf16_keeps_the_range_where_fp16_overflows_and_underflows():
    big = precision.stored(5, 2.0).set_index("format")
    assert math.isinf(big.loc["fp16", "stored"]) and big.loc["bf16", "relative_error"] < 2**-8
    small = precision.stored(-40, 2.0).set_index("format")
    assert small.loc["fp16", "stored"] == 0 and small.loc["bf16", "stored"] > 0
    one = precision.stored(0, 2.0).set_index("format")
    assert one.loc["fp32", "relative_error"] < 2**-24 < one.loc["bf16", "relative_error"] < 2**-8


def test_int8_needs_a_calibrated_range():
    err = {c: precision.stored(0, c).set_index("format").loc["int8", "relative_error"] for c in precision.CALIBRATIONS}
    assert err[0.5] == pytest.approx(0.5)  # too narrow: clipped to half
    assert err[2.0] <= 1 / 127 * (1 + 1e-9) < err[10.0] < err[100.0]  # half a step at most; wider: fewer levels
    with i18n.using("ko"):
        assert precision.stored(0, 0.5)["note"].iloc[-1] != precision.NOTES["clip"]  # the note is translated


def test_measured_live_on_the_bundled_lite0():
    m = precision.measure("efficientnet_lite0", "chelsea", load_model("efficientnet_lite0", "cpu"),
                          load_sample("chelsea.png"))
    runs = {r.precision: r for r in m.comparison.runs}
    assert runs["fp32"].available and "cat" in runs["fp32"].top[0][1] and runs["fp32"].max_prob_shift < 1e-4
    assert runs["fp32"].weights_bytes == 2 * runs["bf16"].weights_bytes
    # int8's size is its quantized file's: int8 weights plus the biases and scales that stay float
    assert runs["fp32"].weights_bytes / 4 < runs["int8"].weights_bytes < runs["fp32"].weights_bytes / 3
    assert runs["int8"].available and "cat" in runs["int8"].top[0][1] and "int8" in set(m.table["precision"])
    assert list(m.table["precision"]) == [p for p, r in runs.items() if r.available]
    assert (m.table["ms"] > 0).all()
    for r in runs.values():
        assert r.available or r.reason  # what cannot run here says why
    if runs["bf16"].available:
        assert runs["bf16"].top1_same and runs["bf16"].max_prob_shift < 0.05
    assert set(m.top5["precision"]) == set(m.table["precision"])


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lab_page_shows_an_int8_row_and_how_it_was_calibrated(lang, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from zoo.inference import fast_cpu

    monkeypatch.setenv(fast_cpu.CACHE_ENV, str(tmp_path))
    for env in (fast_cpu.BACKEND_ENV, fast_cpu.READONLY_ENV):
        monkeypatch.delenv(env, raising=False)

    def page():
        import runpy
        from pathlib import Path

        import pages
        from pages.ui import i18n as ui_i18n

        ui_i18n.setup()
        runpy.run_path(str(Path(pages.__file__).parent / "understand" / "labs.py"))

    at = AppTest.from_function(page, default_timeout=240)
    at.query_params["lab_id"] = "precision"
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [d.value for d in at.dataframe if "precision" in d.value.columns and "backend" in d.value.columns]
    assert tables and "int8" in set(tables[0]["precision"])
    row = tables[0].set_index("precision").loc["int8"]
    assert "int8" in row["backend"] and 0 < row["weights_mb"] < tables[0].set_index("precision").loc["fp32",
                                                                                                       "weights_mb"] / 3
    said = " ".join(m.value for m in at.markdown)
    assert ("24" in said) and (("crops of the sample photos" in said) if lang == "en" else ("예시 사진 조각 24개" in said))
    # int8's agreement clause reads as a sentence either way ("its top-5 has not the same" did not).
    if lang == "en":
        top5_same = bool(row["top5_same"])
        assert ("its top-5 holds the same five classes" if top5_same else "its top-5 differs from fp32 PyTorch's") in said
        assert "has not the same" not in said
