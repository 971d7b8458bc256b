"""Lab: 1x1 reductions and the Inception module (Szegedy et al. 2014, "Going deeper with convolutions")."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from zoo import blocks, registry
from zoo.analysis import ModelSummary, rollup, summarize
from zoo.compare import aux_params
from zoo.i18n import N_, _
from zoo.labs.common import formula_row, measure

INCEPTION_FIELDS = ("in_channels", "c1", "r3", "c3", "r5", "c5", "pool_proj")
INCEPTION_BRANCHES = {"branch1": "1×1", "branch2": "3×3", "branch3": "5×5", "branch4": N_("pool")}
AUX_LOSS_WEIGHT = 0.3  # section 5: the auxiliary losses are added with weight 0.3


def googlenet_inception_configs() -> pd.DataFrame:
    """Channel sizes of every Inception module of torchvision's GoogLeNet, read from the modules.

    ``branch3_kernel`` is what torchvision actually uses in the "5x5" branch; ``size_px`` is the
    module's input side at 224 px, from the layer table.
    """
    model = registry.get("googlenet").build("meta")
    layers = summarize("googlenet").layers.set_index("name")
    rows = []
    for name, m in model.named_children():
        if not name.startswith("inception"):
            continue
        rows.append({
            "module": name,
            "in_channels": m.branch1.conv.in_channels,
            "c1": m.branch1.conv.out_channels,
            "r3": m.branch2[0].conv.out_channels, "c3": m.branch2[1].conv.out_channels,
            "r5": m.branch3[0].conv.out_channels, "c5": m.branch3[1].conv.out_channels,
            "pool_proj": m.branch4[1].conv.out_channels,
            "branch3_kernel": m.branch3[1].conv.kernel_size[0],
            "size_px": int(layers.loc[f"{name}.branch1.conv", "output_shape"][-1]),
        })
    return pd.DataFrame(rows)


def inception_naive_params(cin: int, c1: int, c3: int, c5: int) -> int:
    """Figure 2(a), weights only: 1x1, 3x3 and 5x5 convs on all cin channels."""
    return cin * (c1 + 9 * c3 + 25 * c5)


def inception_reduced_params(cin: int, c1: int, r3: int, c3: int, r5: int, c5: int, pool_proj: int) -> int:
    """Figure 2(b), weights only: 1x1 reductions in front of the 3x3 and 5x5, and after the pool."""
    return cin * (c1 + r3 + r5 + pool_proj) + 9 * r3 * c3 + 25 * r5 * c5


def _branch_macs(s: ModelSummary) -> dict[str, int]:
    per = rollup(s.layers, 2).set_index("stage")["macs"]  # block.branchN
    return {f"macs_{b}": int(per.get(f"block.{b}", 0)) for b in INCEPTION_BRANCHES}


def _concat_channels(s: ModelSummary) -> int:
    # The channels of the tensor the module returns (the stage table records it by a hook on the block).
    return int(s.stages.set_index("stage").loc["block", "output_shape"][1])


def inception_lab(in_channels: int, c1: int, r3: int, c3: int, r5: int, c5: int, pool_proj: int,
                  size: int) -> pd.DataFrame:
    """The naive Inception module vs the one with 1x1 reductions (paper's 5x5, no biases)."""
    cin = in_channels
    naive = measure(lambda: blocks.NaiveInception(cin, c1, c3, c5), cin, size, "naive")
    reduced = measure(lambda: blocks.InceptionModule(cin, c1, r3, c3, r5, c5, pool_proj), cin, size, "reduced")
    p_naive = inception_naive_params(cin, c1, c3, c5)
    p_red = inception_reduced_params(cin, c1, r3, c3, r5, c5, pool_proj)
    return pd.DataFrame([
        formula_row(_("naive (Fig. 2a)"), naive, p_naive, p_naive * size**2, out_channels=c1 + c3 + c5 + cin,
                    out_channels_measured=_concat_channels(naive), **_branch_macs(naive)),
        formula_row(_("with 1×1 reductions (Fig. 2b)"), reduced, p_red, p_red * size**2,
                    out_channels=c1 + c3 + c5 + pool_proj, out_channels_measured=_concat_channels(reduced),
                    **_branch_macs(reduced)),
    ])


def reduction_lab(in_channels: int, mid_channels: int, out_channels: int, kernel: int, size: int) -> pd.DataFrame:
    """A kxk conv on all input channels vs a 1x1 reduction to ``mid_channels`` in front of it."""
    cin, mid, cout, k = in_channels, mid_channels, out_channels, kernel
    direct = measure(lambda: blocks.plain_conv(cin, cout, k), cin, size, "direct")
    reduced = measure(lambda: blocks.ReducedConv(cin, mid, cout, k), cin, size, "reduced")
    p_direct, p_red = k * k * cin * cout, cin * mid + k * k * mid * cout
    return pd.DataFrame([
        formula_row(_("{k}×{k} on {cin} channels").format(k=k, cin=cin), direct, p_direct, p_direct * size**2),
        formula_row(_("1×1 {cin}→{mid}, then {k}×{k}").format(cin=cin, mid=mid, k=k), reduced, p_red, p_red * size**2),
    ])


@dataclass(frozen=True)
class AuxHeads:
    heads: pd.DataFrame  # one row per auxiliary classifier: where it attaches, its input, its params
    params_with_aux: int  # GoogLeNet as trained
    params_inference: int  # as the published weights ship it, aux heads dropped
    published_params: int | None  # torchvision's weights metadata, for comparison
    v3_with_aux: int  # Inception v3 as built (its AuxLogits head is in the published weights)
    v3_inference: int  # Inception v3's modules that run in eval mode


def googlenet_aux_heads() -> AuxHeads:
    """Find where GoogLeNet's auxiliary classifiers attach by running the trained-form model.

    In training mode torchvision's GoogLeNet feeds aux1/aux2 the output of one of its
    top-level modules; hooks record which output tensor each head receives.
    """
    entry = registry.get("googlenet")
    with torch.device("meta"):
        model = entry.builder(**{**entry.arch_kwargs, "aux_logits": True})  # as trained
    model.train()
    outputs: dict[str, torch.Tensor] = {}
    inputs: dict[str, torch.Tensor] = {}
    hooks = []
    try:
        for name, child in model.named_children():
            if name.startswith("aux"):
                hooks.append(child.register_forward_pre_hook(
                    lambda _m, inp, name=name: inputs.__setitem__(name, inp[0])))
            else:
                hooks.append(child.register_forward_hook(
                    lambda _m, _i, out, name=name: outputs.__setitem__(name, out)))
        with torch.no_grad():
            model(torch.empty(1, 3, entry.input_size, entry.input_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    total = sum(p.numel() for p in model.parameters())
    rows = []
    for name, x in inputs.items():
        head = getattr(model, name)
        params = sum(p.numel() for p in head.parameters())
        rows.append({"head": name, "attached_after": next(n for n, o in outputs.items() if o is x),
                     "input_shape": tuple(x.shape), "params": params, "params_pct": 100 * params / total})
    with_aux, inference = aux_params("googlenet")  # the model page's counts (zoo.compare), the same way for v3
    return AuxHeads(pd.DataFrame(rows), with_aux, inference, entry.published_params, *aux_params("inception_v3"))
