"""Norm lab: LRN and BatchNorm on a real activation, each against its formula written out."""
from __future__ import annotations

import pytest
import torch

from zoo.labs import norm


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_lrn_and_bn_match_their_formulas(scale):
    a = norm.stem_activation() * scale
    assert a.shape == (1, 32, 112, 112)
    with torch.no_grad():
        lrn = norm.alexnet_lrn()(a)
        bn = torch.nn.BatchNorm2d(32, affine=False).train()(a)
    assert torch.allclose(lrn, norm.lrn_by_hand(a), rtol=1e-5, atol=1e-7)
    assert torch.allclose(bn, norm.batchnorm_by_hand(a), rtol=1e-4, atol=1e-5)
    demo = norm.lrn_vs_batchnorm(scale)
    assert torch.allclose(torch.from_numpy(demo.before / demo.lrn_divisor), lrn[0], rtol=1e-5, atol=1e-7)


def test_bn_is_scale_invariant_lrn_is_not():
    small, big = norm.lrn_vs_batchnorm(1.0), norm.lrn_vs_batchnorm(1000.0)
    live = small.channels["std_before"] > 1e-3
    for d in (small, big):
        assert d.channels.loc[live, "std_bn"].sub(1).abs().max() < 1e-3
        assert d.channels.loc[live, "mean_bn"].abs().max() < 1e-4
    k_beta = norm.LRN_K ** norm.LRN_BETA
    assert small.lrn_divisor.min() >= k_beta - 1e-6 and small.lrn_divisor.max() < 1.1 * k_beta
    assert big.lrn_divisor.max() > 10 * k_beta
