"""Separable lab: depthwise-separable convolution and MobileNet V1 against the paper's tables."""
from __future__ import annotations

import itertools
import math

import pytest

from tests.labs.checks import assert_formula_matches
from zoo import registry
from zoo.labs import separable


@pytest.mark.parametrize("M,N,k,size", list(itertools.product((8, 32, 1024), (8, 64, 512), (3, 5, 7), (7, 112))))
def test_separable_matches_formula(M, N, k, size):
    df = separable.separable_lab(M, N, k, size)
    assert_formula_matches(df)
    assert df["macs"].iloc[1] / df["macs"].iloc[0] == pytest.approx(separable.separable_ratio(N, k), rel=1e-12)


@pytest.mark.parametrize("alpha", [0.25, 0.35, 0.5, 0.75, 1.0])
def test_mobilenet_v1_exact_formula(alpha):
    df = separable.mobilenet_v1_lab((alpha,), (0.5, 0.75, 128 / 224, 1.0))
    assert (df["params"] == df["params_formula"]).all() and (df["macs"] == df["macs_formula"]).all()
    df = separable.mobilenet_v1_lab((alpha,), tuple(px / 224 for px in (128, 160, 192, 224)))  # the paper's sizes
    if alpha >= 0.5:  # the paper's rule of thumb, good to a few percent away from the tiniest nets
        assert (abs(df["macs_ratio"] / df["macs_ratio_rule"] - 1) < 0.1).all()
        assert (abs(df["body_params_ratio"] / df["body_params_ratio_rule"] - 1) < 0.1).all()


def test_mobilenet_v1_against_the_papers_tables_6_and_7():
    # Howard et al. 2017: Table 6 (width) millions of params and mult-adds; Table 7 (resolution) mult-adds.
    width = separable.mobilenet_v1_lab((1.0, 0.75, 0.5, 0.25), (1.0,))
    assert [round(p / 1e6, 1) for p in width["params"]] == [4.2, 2.6, 1.3, 0.5]
    assert [round(m / 1e6) for m in width["macs"]] == [569, 325, 149, 41]
    res = separable.mobilenet_v1_lab((1.0,), (1.0, 192 / 224, 160 / 224, 128 / 224))
    paper = [569, 418, 290, 186]
    assert all(abs(m / 1e6 - p) < 1 for m, p in zip(res["macs"], paper))  # the paper rounds loosely


def test_mobilenet_v1_pointwise_share():
    split = separable.mobilenet_v1_cost_split().set_index("kind")
    assert split.loc["pointwise 1×1", "macs_pct"] == pytest.approx(94.86, abs=0.01)  # the paper's Table 2


def test_zoo_mobilenets_accuracy_from_metadata():
    zm = separable.zoo_mobilenets().set_index("name")
    assert math.isnan(zm.loc["mobilenet_v1", "acc1"])
    assert zm.loc["mobilenet_v2", "acc1"] == registry.get("mobilenet_v2").acc1


def test_mobilenet_v1_weight_share_is_table_2s():
    # Howard et al. 2017, Table 2: 1x1 convs hold 74.59% of the parameters, counted without BatchNorm
    split = separable.mobilenet_v1_cost_split().set_index("kind")
    assert split.loc["pointwise 1×1", "weights_pct"] == pytest.approx(74.59, abs=0.01)
    assert split.loc["pointwise 1×1", "params_pct"] < split.loc["pointwise 1×1", "weights_pct"]  # BN dilutes it
    assert split.loc["other (BN)", "weights"] == 0 and split["weights_pct"].sum() == pytest.approx(100)
