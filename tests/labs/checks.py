"""Checks the lab tests share."""
from __future__ import annotations


def assert_formula_matches(df):
    """Every row's measured params and MACs equal the formula's."""
    assert (df["params"] == df["params_formula"]).all(), df[["variant", "params", "params_formula"]]
    assert (df["macs"] == df["macs_formula"]).all(), df[["variant", "macs", "macs_formula"]]
