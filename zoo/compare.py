"""Whole-model comparisons: the table, the accuracy/cost Pareto front, where the cost lives."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import torch

from zoo import recipes, registry
from zoo.analysis import summarize

COMPARE_COLUMNS = ["name", "display", "family", "year", "input_size", "params", "params_no_aux", "params_with_aux",
                   "macs", "flops", "acc1", "acc5", "acc_source", "weights", "recipe", "weights_mib", "has_weights"]
STAGE_COLUMNS = ["name", "model", "order", "stage", "output_shape", "params", "macs", "params_pct", "macs_pct",
                 "params_start", "macs_start"]


@lru_cache(maxsize=None)
def aux_params(name: str) -> tuple[int, int]:
    """(parameters with the training-time auxiliary heads, parameters without them) of ``name``.

    Without: the modules that run in eval mode (Inception v3's AuxLogits does not). With: the
    model as trained, which for GoogLeNet means building it with the two heads its published
    weights drop. Equal for a model without auxiliary heads.
    """
    e = registry.get(name)
    s = summarize(name)
    if e.train_kwargs is None:
        return s.params, s.params_in_eval
    with torch.device("meta"):
        trained = e.builder(**e.train_kwargs)
    return sum(p.numel() for p in trained.parameters()), s.params_in_eval


def model_table(names: list[str], choice: recipes.Choice = recipes.DEFAULT_CHOICE) -> pd.DataFrame:
    """One row per model: computed params/MACs at the model's own input size, plus metadata facts.

    ``params``/``macs`` are counted from the module as the catalogue builds it (``params`` equals
    torchvision's ``num_params``); ``params_no_aux``/``params_with_aux`` count it without and with
    training-only auxiliary heads. ``acc1``/``acc5`` are those of the weights ``choice`` picks
    (:func:`zoo.recipes.accuracy`), ``acc_source`` says whether torchvision measured them or the
    authors published them ("none" where neither exists), ``weights_mib`` is that file's size.
    """
    rows = []
    for n in names:
        e = registry.get(n)
        s = summarize(n)
        acc = recipes.accuracy(e, choice)
        chosen = recipes.choose(e, choice)
        with_aux, no_aux = aux_params(n)
        size = chosen.size_mib if chosen is not None else (e.file_size_mib if e.custom_checkpoint else None)
        rows.append({"name": n, "display": e.display, "family": e.fam.display, "year": e.year,
                     "input_size": e.input_size, "params": s.params, "params_no_aux": no_aux,
                     "params_with_aux": with_aux, "macs": s.macs, "flops": s.flops,
                     "acc1": acc.acc1, "acc5": acc.acc5, "acc_source": acc.source, "weights": acc.weights,
                     "recipe": acc.recipe, "weights_mib": size, "has_weights": e.has_weights})
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
    """Long table, one row per (model, stage) in each model's network order, for stacked bars.

    ``params_start``/``macs_start``: the share (%) of the stages before this one, where its bar segment starts.
    """
    frames = []
    for n in names:
        st = summarize(n).stages
        frames.append(st.assign(
            model=registry.get(n).display, name=n, order=range(len(st)),
            params_start=st["params_pct"].cumsum() - st["params_pct"],
            macs_start=st["macs_pct"].cumsum() - st["macs_pct"],
        )[STAGE_COLUMNS])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STAGE_COLUMNS)
