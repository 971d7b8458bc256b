"""Dense lab: torchvision's dense block, the transition and a ResNet stage against their formulas."""
from __future__ import annotations

import math

import pytest
import torch
from torchvision.models import DenseNet

from tests.labs.checks import assert_formula_matches
from zoo import blocks
from zoo.labs import dense


@pytest.mark.parametrize("k0,k,L,bn,theta", [
    (16, 4, 1, 1, 0.1), (64, 32, 6, 4, 0.5), (24, 12, 16, 4, 1.0), (512, 64, 32, 8, 0.3), (64, 12, 3, 2, 0.7),
])
def test_dense_block_matches_formula(k0, k, L, bn, theta):
    d = dense.dense_lab(k0, k, L, 14, bn, theta)
    lay = d.layers
    assert (lay["in_channels"] == lay["in_channels_formula"]).all()
    assert (lay["conv1_in_channels"] == lay["in_channels_formula"]).all()
    assert (lay["bottleneck_channels"] == bn * k).all() and (lay["new_channels"] == k).all()
    assert (lay["params"] == lay["params_formula"]).all() and (lay["macs"] == lay["macs_formula"]).all()
    assert_formula_matches(d.totals)
    assert d.totals["out_channels"].tolist() == [k0 + L * k, math.floor(theta * (k0 + L * k)), k0 + L * k]
    assert d.totals["out_px"].tolist() == [14, 7, 14]


def test_densenet121_blocks():
    z = dense.densenet_blocks("densenet121")
    assert z["layers"].tolist() == [6, 12, 24, 16]
    assert set(z["growth_rate"]) == {32} and set(z["bottleneck"]) == {128}
    assert z["theta"].dropna().tolist() == [0.5, 0.5, 0.5]
    assert (z["out_channels"] == z["k0"] + z["layers"] * z["growth_rate"]).all()


# --- public torchvision classes only ----------------------------------------------------------------

def _layout(module):
    return [(n, repr(m)) for n, m in module.named_children()], [(n, p.shape) for n, p in module.named_parameters()]


@pytest.mark.parametrize("k0,k,L", [(64, 32, 6), (24, 12, 3)])
def test_transition_is_torchvisions_at_theta_one_half(k0, k, L):
    with torch.device("meta"):
        net = DenseNet(k, (L, L), num_init_features=k0)
        ours = blocks.transition(k0 + L * k, (k0 + L * k) // 2)
    assert _layout(ours) == _layout(net.features.transition1)


def test_the_dense_block_is_torchvisions():
    block = dense.torchvision_dense_block(64, 32, 6)
    with torch.device("meta"):
        real = DenseNet(32, (6, 12, 24, 16), num_init_features=64).features.denseblock1  # DenseNet-121's first
    assert type(block) is type(real) and _layout(block) == _layout(real)


@pytest.mark.parametrize("L", [1, 2, 3, 6, 7])
def test_resnet_stage_has_as_many_3x3_convs_for_odd_L(L):
    d = dense.dense_lab(64, 32, L, 14, 4, 0.5)
    blk, res = d.totals.iloc[0], d.totals.iloc[2]
    assert blk.convs_3x3 == res.convs_3x3 == L
    assert ("one 3×3 conv" in res.variant) == bool(L % 2)
    assert_formula_matches(d.totals)
