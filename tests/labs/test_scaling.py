"""Compound-scaling lab: B0 scaled one dimension at a time, and the real B0-B7."""
from __future__ import annotations

import pytest
import torch
import torchvision

from zoo.labs import scaling


def test_compound_multipliers():
    m = scaling.compound_multipliers(1.0)
    assert m["flops_base"] == pytest.approx(1.92, abs=0.01)
    assert scaling.compound_multipliers(3)["flops"] == pytest.approx(m["flops_base"] ** 3)


def test_single_dimension_scaling_against_rules():
    df = scaling.single_dimension_scaling(2.0, 2.0, 2.0).set_index("scaling")
    assert df.loc["resolution only", "macs_ratio"] == pytest.approx(4.0, rel=0.01)
    assert df.loc["resolution only", "params_ratio"] == 1.0
    assert df.loc["depth only", "macs_ratio"] == pytest.approx(2.0, rel=0.05)
    assert df.loc["width only", "macs_ratio"] == pytest.approx(4.0, rel=0.1)
    assert df.loc["all three", "macs_ratio"] == pytest.approx(32.0, rel=0.1)


@pytest.mark.parametrize("phi", [3, 5, 7])
def test_compound_phi_roughly_doubles_flops(phi):
    m = scaling.compound_multipliers(phi)
    df = scaling.single_dimension_scaling(m["depth"], m["width"], m["resolution"]).set_index("scaling")
    assert df.loc["all three", "macs_ratio"] == pytest.approx(m["flops"], rel=0.2)


def test_efficientnet_family_read_from_models():
    fam = scaling.efficientnet_family()
    assert fam["blocks"].iloc[0] == 16  # B0: 1+2+2+3+3+4+1 MBConv blocks
    assert (fam["head_channels"] == 4 * fam["last_stage_channels"]).all()
    assert fam["macs"].is_monotonic_increasing and fam["acc1"].notna().all()
    assert (fam["depth_ratio"] >= 1).all() and fam["phi_resolution"].is_monotonic_increasing


# --- B0's table as data, against torchvision's own builders -----------------------------------------

# (width, depth) multipliers of B0..B7 as torchvision's efficientnet_b0..b7 pass them (Tan & Le 2019).
TORCHVISION_MULTIPLIERS = [(1.0, 1.0), (1.0, 1.1), (1.1, 1.2), (1.2, 1.4), (1.4, 1.8), (1.6, 2.2), (1.8, 2.6),
                           (2.0, 3.1)]


@pytest.mark.parametrize("i", range(8), ids=[f"b{i}" for i in range(8)])
def test_b0_table_scaled_is_torchvisions_efficientnet(i):
    width, depth = TORCHVISION_MULTIPLIERS[i]
    ours = scaling.b0_scaled(depth_mult=depth, width_mult=width)
    with torch.device("meta"):
        theirs = getattr(torchvision.models, f"efficientnet_b{i}")()
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [(n, p.shape) for n, p in theirs.named_parameters()]


def test_b0_stages_are_table_1():
    # Tan & Le 2019, Table 1: MBConv1 k3 16 ×1, MBConv6 k3 24 ×2, k5 40 ×2, k3 80 ×3, k5 112 ×3, k5 192 ×4, k3 320 ×1
    assert [(e, k, c, n) for e, k, _s, _cin, c, n in scaling.B0_STAGES] == [
        (1, 3, 16, 1), (6, 3, 24, 2), (6, 5, 40, 2), (6, 3, 80, 3), (6, 5, 112, 3), (6, 5, 192, 4), (6, 3, 320, 1)]
    # each stage starts from the previous one's channels (the stem gives 32)
    assert [cin for *_, cin, _c, _n in scaling.B0_STAGES] == [32, 16, 24, 40, 80, 112, 192]


def test_published_models_at_the_papers_resolution():
    b2 = scaling.published_model(2)
    assert (b2["model"], b2["paper_px"], b2["torchvision_crop_px"]) == ("EfficientNet-B2", 260, 288)
    assert scaling.published_model(0)["paper_px"] == scaling.published_model(0)["torchvision_crop_px"] == 224
    assert scaling.published_model(1.5) is None and scaling.published_model(8) is None
    fam = scaling.efficientnet_family()
    assert fam["paper_px"].tolist() == [224, 240, 260, 300, 380, 456, 528, 600]


def test_resolution_drift_is_ceil_at_each_stride_2_layer():
    d = scaling.resolution_drift(258)  # phi = 1: 224 * 1.15
    assert d["side_224"].drop_duplicates().tolist() == [112, 56, 28, 14, 7]
    assert d["side_px"].drop_duplicates().tolist() == [129, 65, 33, 17, 9]  # ceil(side / 2) each time
    assert d["area_ratio"].iloc[-1] == pytest.approx((9 / 7) ** 2) and d["macs_ratio"].iloc[-1] > 1.15**2
    exact = scaling.resolution_drift(448)  # a multiple of 32 halves exactly: every stage's MACs x4
    assert (exact["side_px"] == 2 * exact["side_224"]).all()


def test_family_accuracy_is_one_recipe():
    from zoo import recipes, registry
    fam = scaling.efficientnet_family()
    for r in fam.itertuples():
        assert r.acc1 == recipes.accuracy(registry.get(r.name), "original").acc1
    assert fam["recipe"].nunique() == 1


def test_lite_live_row_on_the_bundled_weights():
    from zoo.inference.images import load_sample
    from zoo.inference.models import load_model

    rows = [scaling.lite_live(n, "chelsea", load_model(n, "cpu"), load_sample("chelsea.png"))
            for n in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")]
    assert [r["resolution_px"] for r in rows] == [224, 240, 260]
    assert [(r["width"], r["depth"]) for r in rows] == [(1.0, 1.0), (1.0, 1.1), (1.1, 1.2)]
    assert rows[0]["macs"] < rows[1]["macs"] < rows[2]["macs"]
    assert all("cat" in r["top1"] and 0 < r["confidence"] <= 1 and r["ms"] > 0 for r in rows)
