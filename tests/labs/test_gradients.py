"""Gradient-flow lab: plain vs residual CIFAR nets at initialisation, seeded from their own generators."""
from __future__ import annotations

import copy

import pytest
import torch

from zoo import blocks
from zoo.labs import gradients


def test_gradient_flow_shape_and_determinism():
    g = gradients.gradient_flow(20)
    assert len(g) == 2 * 20 and g.groupby("net")["layer"].max().tolist() == [20, 20]
    assert g.equals(gradients.gradient_flow(20))


def _first_over_last(g, net):
    d = g[g["net"] == net]["grad_norm"].tolist()
    return d[0] / d[-2]  # first conv / last conv


def test_plain_net_gradient_vanishes_without_bn_residual_does_not():
    g = gradients.gradient_flow(20, batch_norm=False, he_init=False)
    assert _first_over_last(g, "plain") < 1e-4
    assert _first_over_last(g, "residual") > 1e-2


def test_with_bn_plain_gradient_grows_toward_the_input():
    g = gradients.gradient_flow(56, batch_norm=True, he_init=True)
    assert _first_over_last(g, "plain") > 100
    assert _first_over_last(g, "residual") < 100


@pytest.mark.parametrize("depth", [8, 20, 56])
def test_identity_blocks_pass_the_gradient_unchanged(depth):
    z = gradients.block_input_gradients(depth, zero_residual=True)
    for _, stage in z.groupby("stage"):
        norms = torch.tensor(stage["grad_norm"].tolist())
        assert torch.allclose(norms, norms[0].expand_as(norms), rtol=1e-5)
    changing = gradients.block_input_gradients(depth, zero_residual=False)
    assert changing["grad_norm"].nunique() > 1


# --- weights from the lab's own generator -----------------------------------------------------------

def test_same_seed_same_numbers_and_the_global_rng_untouched():
    before = torch.random.get_rng_state()
    g = gradients.gradient_flow(8, seed=3)
    z = gradients.block_input_gradients(8, seed=3)
    assert torch.equal(before, torch.random.get_rng_state())
    torch.rand(5)  # whatever the global RNG does in between changes nothing
    assert g.equals(gradients.gradient_flow(8, seed=3)) and z.equals(gradients.block_input_gradients(8, seed=3))
    assert not g.equals(gradients.gradient_flow(8, seed=4))


@pytest.mark.parametrize("he_init", [True, False])
def test_plain_and_residual_nets_start_from_the_same_weights(he_init):
    plain = blocks.cifar_net(14, residual=False, batch_norm=False, he_init=he_init, seed=5)
    res = blocks.cifar_net(14, residual=True, batch_norm=False, he_init=he_init, seed=5)
    for (n, p), (m, q) in zip(plain.named_parameters(), res.named_parameters(), strict=True):
        assert n == m and torch.equal(p, q)


@pytest.mark.parametrize("layer", [torch.nn.Conv2d(16, 32, 3), torch.nn.Conv2d(8, 8, 3, groups=4),
                                   torch.nn.Linear(64, 10)], ids=["conv", "grouped", "linear"])
def test_default_init_is_pytorchs_reset_parameters(layer):
    # With a seed, torch's own reset_parameters (global RNG) and ours (a generator) draw the same numbers.
    with torch.random.fork_rng():
        torch.manual_seed(11)
        layer.reset_parameters()
    ours = copy.deepcopy(layer)
    with torch.no_grad():
        for p in ours.parameters():
            p.fill_(float("nan"))  # so every value must be drawn again
    blocks.default_init_(ours, torch.Generator().manual_seed(11))
    assert torch.equal(ours.weight, layer.weight) and torch.equal(ours.bias, layer.bias)


def test_he_init_has_six_times_the_default_variance():
    he = blocks.cifar_net(20, residual=False, he_init=True, seed=0).blocks[1].conv1.weight.detach()
    default = blocks.cifar_net(20, residual=False, he_init=False, seed=0).blocks[1].conv1.weight.detach()
    assert 5.5 < float(he.var() / default.var()) < 6.5  # 2/fan_out vs 1/(3·fan_in); 16 -> 16 channels here
