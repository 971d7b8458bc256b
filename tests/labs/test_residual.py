"""Residual lab: basic vs bottleneck blocks against their formulas and the ResNets they come from."""
from __future__ import annotations

import itertools

import pytest

from tests.labs.checks import assert_formula_matches
from zoo.labs import residual


@pytest.mark.parametrize("width,size,down", list(itertools.product((16, 64, 128, 512), (7, 56, 57), (False, True))))
def test_residual_blocks_match_formula(width, size, down):
    df = residual.residual_lab(width, size, down)
    assert_formula_matches(df)
    assert (df["out_px"] == df["out_px_formula"]).all()
    assert (df["shortcut"] == "identity").all() != down


def test_bottleneck_vs_basic_as_in_figure_5():
    basic, bottleneck, wide = residual.residual_lab(64, 56, False)["params"]
    # He et al. Fig. 5: a basic block on 64-d and a bottleneck on 256-d (width 64) cost about the same.
    assert basic == 2 * 9 * 64 * 64 + 2 * 2 * 64
    assert bottleneck == 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    assert wide == 2 * 9 * 256 * 256 + 2 * 2 * 256 and wide > 16 * bottleneck


def test_resnet_blocks_read_from_the_model():
    b = residual.resnet_blocks("resnet50").set_index("block")
    assert b.loc["layer2.0"].tolist()[:6] == ["Bottleneck", 256, 128, 512, 2, "projection"]
    assert len(b) == 16 and (b["shortcut"] == "projection").sum() == 4
    # the blocks' parameters add up to the stage totals of the model page's analysis
    stages = residual.resnet_stages(("resnet50",)).set_index("stage")
    for layer in ("layer1", "layer2", "layer3", "layer4"):
        assert b[b.index.str.startswith(layer + ".")]["params"].sum() == stages.loc[layer, "params"]
    r34 = residual.resnet_blocks("resnet34").set_index("block")
    assert set(r34["type"]) == {"BasicBlock"} and len(r34) == 16
    assert r34.loc["layer2.0"].tolist()[:6] == ["BasicBlock", 64, 128, 128, 2, "projection"]
    assert r34["stride"].tolist().count(2) == 3


def test_matching_block_follows_the_labs_settings():
    # identity case: ResNet-50's layer1.0 projects 64 -> 256, so the lab's identity bottleneck is layer1.1
    r = residual.matching_block("resnet50", 64, False)
    assert (r["block"], r["shortcut"], r["stride"], r["exact"]) == ("layer1.1", "identity", 1, True)
    assert r["params"] == residual.residual_lab(64, 56, False)["params"].iloc[1]
    assert residual.matching_block("resnet34", 64, False)["block"] == "layer1.0"  # BasicBlock 64 -> 64
    r = residual.matching_block("resnet50", 128, True)
    assert (r["block"], r["stride"], r["exact"]) == ("layer2.0", 2, True)
    assert r["params"] == residual.residual_lab(128, 28, True)["params"].iloc[1]
    # no strided projection block at width 64: the nearest one, said to be inexact
    r = residual.matching_block("resnet50", 64, True)
    assert (r["block"], r["exact"]) == ("layer2.0", False)


def test_projection_breaks_the_papers_about_as_cheap():
    basic, bottleneck, _ = residual.residual_lab(64, 56, False)["params"]
    assert 0.9 < bottleneck / basic < 1.1  # Fig. 5, identity shortcuts
    basic, bottleneck, _ = residual.residual_lab(64, 56, True)["params"]
    assert bottleneck / basic > 1.5  # the first block of a stage carries its projection
