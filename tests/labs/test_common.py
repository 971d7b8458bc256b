"""What the labs share: the receptive-field recurrence, counting a block, the measured-vs-formula row."""
from __future__ import annotations

from torch import nn

from zoo.labs import common


def test_receptive_field_recurrence():
    assert common.receptive_field([(3, 1)] * 3) == 7
    assert common.receptive_field([(11, 4), (3, 2), (5, 1)]) == 11 + 2 * 4 + 4 * 8  # AlexNet's first three


def test_measure_counts_the_block_alone():
    s = common.measure(lambda: nn.Conv2d(64, 32, 3, padding=1, bias=False), 64, 10)
    assert s.params == 9 * 64 * 32 and s.macs == 9 * 64 * 32 * 10**2  # FromImage adds nothing
    row = common.formula_row("conv", s, 9 * 64 * 32, 9 * 64 * 32 * 100, kernel=(3, 3))
    assert row == {"variant": "conv", "kernel": (3, 3), "params": s.params, "params_formula": s.params,
                   "macs": s.macs, "macs_formula": s.macs}


def test_out_side_is_ceil():
    assert [common.out_side(n, 2) for n in (7, 8, 56, 57)] == [4, 4, 28, 29]
    assert common.out_side(13, 1) == 13
