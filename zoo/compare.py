"""Whole-model comparisons: the table, the accuracy/cost Pareto front, where the cost lives."""
from __future__ import annotations

import pandas as pd

from zoo import registry
from zoo.analysis import summarize

COMPARE_COLUMNS = ["name", "display", "family", "year", "input_size", "params", "macs", "flops",
                   "acc1", "acc5", "weights_mb", "has_weights"]


def model_table(names: list[str]) -> pd.DataFrame:
    """One row per model: computed params/MACs at the model's own input size, plus metadata facts.

    ``params``/``macs`` are counted from the module; ``acc1``, ``acc5`` and ``weights_mb``
    are read from torchvision's weights metadata (None where it has none).
    """
    rows = []
    for n in names:
        e = registry.get(n)
        s = summarize(n)
        rows.append({"name": n, "display": e.display, "family": e.fam.display, "year": e.year,
                     "input_size": e.input_size, "params": s.params, "macs": s.macs, "flops": s.flops,
                     "acc1": e.acc1, "acc5": e.acc5, "weights_mb": e.file_size_mb, "has_weights": e.has_weights})
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def pareto_front(df: pd.DataFrame, cost: str = "macs", value: str = "acc1") -> pd.DataFrame:
    """Models no other model beats on both axes: nothing cheaper is as accurate.

    Sorted by cost; a model is on the front when its accuracy is strictly higher than
    that of every cheaper model (ties in cost keep the more accurate one).
    """
    d = df.dropna(subset=[value]).sort_values([cost, value], ascending=[True, False])
    best = float("-inf")
    keep = []
    for idx, row in d.iterrows():
        if row[value] > best:
            keep.append(idx)
            best = row[value]
    return d.loc[keep]


def cost_by_stage(names: list[str]) -> pd.DataFrame:
    """Long table (model, stage, params, macs, params_pct, macs_pct) for stacked bars."""
    frames = []
    for n in names:
        st = summarize(n).stages
        frames.append(st.assign(model=registry.get(n).display, name=n)[
            ["name", "model", "stage", "params", "macs", "params_pct", "macs_pct"]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["name", "model", "stage", "params", "macs", "params_pct", "macs_pct"])
