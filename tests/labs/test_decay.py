"""Weight-decay lab: decay alone is geometric, the optimisers' forms of decay, the toy regression."""
from __future__ import annotations

import pytest
import torch

from zoo.labs import decay


@pytest.mark.parametrize("lr,wd", [(0.1, 0.5), (0.01, 5e-4), (0.05, 0.1)])
def test_decay_alone_is_geometric(lr, wd):
    d = decay.sgd_decay_only(50, lr, wd)
    assert ((d["w_norm"] - d["w_norm_formula"]).abs() <= 1e-5 * d["w_norm_formula"]).all()


def test_decay_equivalences():
    d = decay.decay_equivalences().set_index(["update", "compared_with"])["max_abs_difference"]
    assert (d.iloc[:3] < 1e-6).all()
    assert d.iloc[3] > 1e-3  # Adam's coupled L2 and AdamW's decoupled decay are different updates


def test_weight_decay_shrinks_the_solution():
    d = decay.weight_decay_demo(300, 0.05, 1e-2, 0.9)
    end = d.groupby("weight_decay").tail(1).set_index("weight_decay")
    assert end.loc[1e-2, "w_norm"] < 0.8 * end.loc[0.0, "w_norm"]
    assert end.loc[1e-2, "loss"] < 0.1 * d["loss"].iloc[0]  # it still fits the data


def test_decay_demos_are_seeded_from_their_own_generators():
    before = torch.random.get_rng_state()
    runs = [decay.sgd_decay_only(20, 0.1, 0.1, seed=1), decay.weight_decay_demo(20, seed=1)]
    assert torch.equal(before, torch.random.get_rng_state())
    torch.rand(3)
    assert runs[0].equals(decay.sgd_decay_only(20, 0.1, 0.1, seed=1))
    assert runs[1].equals(decay.weight_decay_demo(20, seed=1))
    assert not runs[0].equals(decay.sgd_decay_only(20, 0.1, 0.1, seed=2))
