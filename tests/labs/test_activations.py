"""Activations lab: derivatives, their product over depth, and a deep MLP's gradients."""
from __future__ import annotations

import pytest
import torch

from zoo.labs import activations


def test_derivatives_match_closed_forms():
    c = activations.activation_curves()
    assert ((c["derivative"] - c["derivative_formula"]).abs() < 1e-12).all()
    assert c[c["activation"] == "sigmoid"]["derivative"].max() == pytest.approx(0.25)


@pytest.mark.parametrize("depth", [1, 10, 50])
def test_derivative_chain_is_fprime_max_to_the_n(depth):
    d = activations.derivative_chain(depth)
    assert ((d["gradient"] - d["gradient_formula"]).abs() <= 1e-12 * d["gradient_formula"].abs().clip(lower=1)).all()
    last = d[d["layers"] == depth].set_index("activation")["gradient"]
    assert last["sigmoid"] == pytest.approx(0.25**depth, rel=1e-9)
    assert last["relu"] == 1.0 and last["tanh"] == 1.0


def test_sigmoid_mlp_vanishes_relu_does_not():
    g = activations.mlp_gradient_flow(30)
    first = g[g["layer"] == 1].set_index("activation")["grad_norm"]
    last = g[g["layer"] == 30].set_index("activation")["grad_norm"]
    assert first["sigmoid"] < 1e-6 * last["sigmoid"]
    assert 0.1 < first["relu"] / last["relu"] < 10


def test_mlp_is_seeded_from_its_own_generator():
    before = torch.random.get_rng_state()
    g = activations.mlp_gradient_flow(5, seed=2)
    assert torch.equal(before, torch.random.get_rng_state())
    torch.rand(3)
    assert g.equals(activations.mlp_gradient_flow(5, seed=2))
    assert not g.equals(activations.mlp_gradient_flow(5, seed=3))
