"""Per-layer facts -> totals: the layer table behind the model page, CLI and labs.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2), which counts
convolutions, linear layers and matmuls — the same convention as torchvision's ``_ops``
(its "GFLOPS" column is in fact GMACs). Everything runs on the ``meta`` device: shapes
propagate, no weights are initialised and no memory is allocated.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from zoo.errors import ZooError

MAX_INPUT_SIZE = 2048  # bigger than any crop a model here was trained at, times three


class InputSizeError(ZooError, ValueError):
    """An input size the network cannot take (too small, or absurdly large)."""


@dataclass
class ModelSummary:
    name: str
    input_size: tuple[int, int, int, int]
    params: int
    macs: int
    layers: pd.DataFrame  # one row per leaf module, in call order
    stages: pd.DataFrame  # one row per stage, in network order: what leaves it, and its params and MACs

    @property
    def params_in_eval(self) -> int:
        """Parameters of the modules that run in eval mode: without training-only heads (Inception v3's AuxLogits)."""
        return int(self.layers.loc[self.layers["calls"] > 0, "params"].sum())

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "input_size": list(self.input_size),
            "params": int(self.params),
            "macs": int(self.macs),
            "layers": [
                {"name": r.name, "type": r.type, "output_shape": list(r.output_shape),
                 "params": int(r.params), "macs": int(r.macs)}
                for r in self.layers.itertuples()
            ],
            "stages": [
                {"name": r.stage, "output_shape": list(r.output_shape), "params": int(r.params),
                 "macs": int(r.macs)}
                for r in self.stages.itertuples()
            ],
        }


LAYER_COLUMNS = [
    "name", "type", "stage", "depth", "kernel", "stride", "padding", "dilation", "groups",
    "in_channels", "out_channels", "output_shape", "params", "macs", "params_pct", "macs_pct",
]


def _pair(v, n: int = 2) -> tuple[int, ...] | str | None:
    """A layer's kernel/stride/padding/dilation as a tuple of ints per axis (``3`` -> ``(3, 3)``).

    Padding given by name (``'same'``, ``'valid'``) stays that string. Formatting is the pages' job.
    """
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v)
    return (int(v),) * n


def _geometry(m: nn.Module) -> dict:
    g: dict = {}
    if isinstance(m, nn.modules.conv._ConvNd):
        g = dict(kernel=_pair(m.kernel_size), stride=_pair(m.stride), padding=_pair(m.padding),
                 dilation=_pair(m.dilation), groups=m.groups, in_channels=m.in_channels, out_channels=m.out_channels)
    elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        g = dict(kernel=_pair(m.kernel_size), stride=_pair(m.stride), padding=_pair(m.padding))
        if isinstance(m, nn.MaxPool2d):
            g["dilation"] = _pair(m.dilation)
    elif isinstance(m, nn.Linear):
        g = dict(in_channels=m.in_features, out_channels=m.out_features)
    elif isinstance(m, nn.modules.batchnorm._BatchNorm):
        g = dict(in_channels=m.num_features, out_channels=m.num_features)
    elif isinstance(m, nn.ZeroPad2d):
        g = dict(padding=_pair(m.padding, 4))  # (left, right, top, bottom), as nn.ZeroPad2d takes it
    return g


# How a stage table is cut (one row per stage, in network order):
# - a block is a stage: a top-level module with children (ResNet's layer1, GoogLeNet's inception3a)
#   or a child of a stage container that has children (DenseNet's denseblock1, MobileNet's features.3);
#   a container whose children are all bare layers (VGG's features) is one stage;
# - a loose pool (ResNet's maxpool and avgpool) is a stage of its own;
# - a BatchNorm or activation joins the bare layer before it (ResNet's conv1 + bn1 + relu), or a
#   top-level block before it (Lite's _conv_stem + _bn0), never a pool or a container's block
#   (DenseNet's features.norm5 follows denseblock4 and is its own stage);
# - a dropout or flatten joins the weighted layer after it (GoogLeNet's dropout + fc).
# A stage's output shape is what its last module returns, recorded by a forward hook on it.
_POOL_TYPES = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_FOLLOWER_TYPES = (nn.modules.batchnorm._BatchNorm, nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.Identity,
                   nn.LocalResponseNorm)
_LEADER_TYPES = (nn.Dropout, nn.Flatten)
STAGE_JOIN = " + "  # between the module names of a stage made of several top-level layers


def stage_units(model: nn.Module, containers: tuple[str, ...] = ("features",)) -> dict[str, nn.Module]:
    """The modules stages are made of, by path: top-level children, or a container's children."""
    units: dict[str, nn.Module] = {}
    for name, child in model.named_children():
        kids = list(child.named_children())
        if name in containers and any(list(k.children()) for _, k in kids):
            units.update({f"{name}.{k}": m for k, m in kids})
        else:
            units[name] = child
    return units


def _stage_name(paths: list[str]) -> str:
    """``['conv1', 'bn1', 'relu']`` -> ``'conv1 + bn1 + relu'``; later members drop the first's parent."""
    parent = paths[0].rpartition(".")[0]
    rest = [p[len(parent) + 1:] if parent and p.startswith(parent + ".") else p for p in paths[1:]]
    return STAGE_JOIN.join([paths[0], *rest])


@dataclass
class _Group:
    kind: str  # "block", "pool", "layers" (bare layers), "lead" (dropout/flatten waiting for a layer)
    paths: list[str]
    shape: tuple = ()
    in_container: bool = False


def group_stages(events: list[tuple[str, tuple]], units: dict[str, nn.Module]) -> list[_Group]:
    """Cut the calls of the stage units (in call order) into stages by the rules above."""
    groups: list[_Group] = []
    for path, shape in events:
        m = units[path]
        cur = groups[-1] if groups else None
        if list(m.children()):
            g = _Group("block", [path], in_container="." in path)
            groups.append(g)
        elif isinstance(m, _POOL_TYPES):
            groups.append(_Group("pool", [path]))
        elif isinstance(m, _FOLLOWER_TYPES):
            if cur is not None and cur.kind in ("layers", "lead") or (
                    cur is not None and cur.kind == "block" and not cur.in_container):
                if path not in cur.paths:
                    cur.paths.append(path)
            else:
                groups.append(_Group("layers", [path]))
        elif isinstance(m, _LEADER_TYPES):
            if cur is not None and cur.kind == "lead":
                cur.paths.append(path)
            else:
                groups.append(_Group("lead", [path]))
        elif cur is not None and cur.kind == "lead":
            cur.paths.append(path)
            cur.kind = "layers"
        else:
            groups.append(_Group("layers", [path]))
        groups[-1].shape = shape
    return groups


def _shape_only(x: torch.Tensor) -> torch.Tensor:
    return x


def summarize_module(model: nn.Module, input_size: int | tuple[int, int], name: str = "model",
                     stage_containers: tuple[str, ...] = ("features",)) -> ModelSummary:
    """Layer table and totals of ``model`` for a 1x3xHxW input, on the meta device.

    The model must already live on the meta device (or be cheap to run on CPU).
    ``stage_containers``: top-level containers whose child blocks are stages of their own.
    Raises InputSizeError when the input is too small for the network.
    """
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    if min(h, w) < 1 or max(h, w) > MAX_INPUT_SIZE:
        raise InputSizeError(f"Input size {h}x{w} is outside 1..{MAX_INPUT_SIZE} pixels.")
    device = next(iter(model.parameters()), torch.empty(0, device="meta")).device
    x = torch.empty(1, 3, h, w, device=device)

    rows: dict[str, dict] = {}
    order: list[str] = []
    hooks = []
    units = stage_units(model, stage_containers)
    events: list[tuple[str, tuple]] = []  # (stage unit, output shape) per call, in call order

    def record_unit(path: str):
        def hook(_m, _inp, out):
            t = out[0] if isinstance(out, (tuple, list)) else out
            events.append((path, tuple(t.shape) if isinstance(t, torch.Tensor) else ()))
        return hook

    def record(mod_name: str, mod: nn.Module):
        def hook(_m, _inp, out):
            t = out[0] if isinstance(out, (tuple, list)) else out
            if mod_name not in rows:
                order.append(mod_name)
                rows[mod_name] = {"name": mod_name, "type": type(mod).__name__, **_geometry(mod), "calls": 0}
            rows[mod_name]["calls"] += 1
            rows[mod_name]["output_shape"] = tuple(t.shape) if isinstance(t, torch.Tensor) else ()
        return hook

    # On the meta device BatchNorm only passes its input's shape through, yet torch runs its
    # decomposition op by op (about half the analysis time). It does no MACs either way, so
    # let it return its input while we count; restored in `finally`.
    skipped = [m for m in model.modules() if device.type == "meta" and isinstance(m, nn.modules.batchnorm._BatchNorm)]
    leaves = {n: m for n, m in model.named_modules() if n and (not list(m.children()) or any(True for _ in m.parameters(recurse=False)))}
    fc = FlopCounterMode(display=False)
    try:
        for m in skipped:
            m.forward = _shape_only
        for n, m in leaves.items():
            hooks.append(m.register_forward_hook(record(n, m)))
        for n, m in units.items():
            hooks.append(m.register_forward_hook(record_unit(n)))
        with fc, torch.no_grad():
            model(x)
    except RuntimeError as e:
        raise InputSizeError(
            f"Input size {h}x{w} is too small for {name}: a feature map shrinks to nothing "
            f"({str(e).splitlines()[0][:120]})."
        ) from None
    finally:
        for hk in hooks:
            hk.remove()
        for m in skipped:
            del m.forward

    counts = fc.get_flop_counts()
    root = type(model).__name__
    macs_of = {k[len(root) + 1:]: sum(v.values()) // 2 for k, v in counts.items() if k.startswith(root + ".")}
    total_macs = sum(counts.get("Global", {}).values()) // 2

    table = []
    for n in order:
        r = rows[n]
        r["params"] = sum(p.numel() for p in leaves[n].parameters(recurse=False))
        r["macs"] = macs_of.get(n, 0) if not list(leaves[n].children()) else 0
        r["depth"] = n.count(".")
        table.append(r)
    # Parameters of modules never called (unused heads) still count: torchvision's num_params does.
    called = set(order)
    for n, m in leaves.items():
        if n not in called:
            p = sum(q.numel() for q in m.parameters(recurse=False))
            if p:
                table.append({"name": n, "type": type(m).__name__, **_geometry(m), "output_shape": (),
                              "params": p, "macs": 0, "depth": n.count("."), "calls": 0})
    groups = group_stages(events, units)
    stage_of_unit: dict[str, str] = {}
    for g in groups:
        for p in g.paths:
            stage_of_unit.setdefault(p, _stage_name(g.paths))
    for r in table:
        unit = next((u for u in units if r["name"] == u or r["name"].startswith(u + ".")), r["name"])
        r["stage"] = stage_of_unit.setdefault(unit, unit)  # a unit that never ran: a stage of its own
    df = pd.DataFrame(table)
    for col in LAYER_COLUMNS:
        if col not in df:
            df[col] = None
    # MACs done by functional calls outside leaf modules (rare): keep the total honest.
    leftover = total_macs - int(df["macs"].sum())
    if leftover:
        extra = {c: None for c in LAYER_COLUMNS}
        extra.update(name="(functional ops)", type="functional", stage="(functional ops)", depth=0,
                     output_shape=(), params=0, macs=leftover)
        df = pd.concat([df, pd.DataFrame([extra])], ignore_index=True)
    total_params = sum(p.numel() for p in model.parameters())
    df["params_pct"] = 100 * df["params"] / max(total_params, 1)
    df["macs_pct"] = 100 * df["macs"] / max(total_macs, 1)
    df = df[LAYER_COLUMNS + ["calls"]]
    shapes = {_stage_name(g.paths): g.shape for g in groups}
    return ModelSummary(name, (1, 3, h, w), int(total_params), int(total_macs), df, _stage_table(df, shapes))


STAGE_COLUMNS = ["stage", "output_shape", "params", "macs", "layers", "params_pct", "macs_pct", "runs"]


def _stage_table(layers: pd.DataFrame, shapes: dict[str, tuple]) -> pd.DataFrame:
    """One row per stage: the ran stages in network order, then any that never run in eval mode."""
    out = rollup(layers, "stage")
    out["runs"] = out["stage"].isin(shapes)
    out["output_shape"] = [shapes.get(s, ()) for s in out["stage"]]
    order = {s: i for i, s in enumerate(shapes)}
    out = out.assign(_o=[order.get(s, len(order)) for s in out["stage"]]).sort_values("_o", kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)[STAGE_COLUMNS]


def rollup(layers: pd.DataFrame, by: str | int = "stage") -> pd.DataFrame:
    """Sum params and MACs per stage (``by="stage"``) or per module-path prefix of ``by`` parts.

    Sums only: what leaves a stage is a tensor of its own, which the stage table records by hook.
    """
    if isinstance(by, int):
        key = layers["name"].map(lambda n: ".".join(n.split(".")[:by]))
    else:
        key = layers[by]
    g = layers.assign(stage=key).groupby("stage", sort=False)
    out = g.agg(params=("params", "sum"), macs=("macs", "sum"), layers=("name", "count")).reset_index()
    out["params_pct"] = 100 * out["params"] / max(int(layers["params"].sum()), 1)
    out["macs_pct"] = 100 * out["macs"] / max(int(layers["macs"].sum()), 1)
    return out


@lru_cache(maxsize=128)
def summarize(name: str, input_size: int | None = None) -> ModelSummary:
    """Summary of a catalogue model at ``input_size`` (default: its weights' crop size)."""
    from zoo import registry

    entry = registry.get(name)
    size = check_input_size(entry, input_size)
    model = entry.build("meta", input_size=size)
    return summarize_module(model, size, entry.display, entry.stage_containers)


def check_input_size(entry, input_size: int | None) -> int:
    """The square input side to analyse ``entry`` at (default: its crop), or InputSizeError."""
    size = entry.input_size if input_size is None else int(input_size)
    if size < 1:
        raise InputSizeError(f"Input size {size} is outside 1..{MAX_INPUT_SIZE} pixels.")
    if size < entry.min_input_size:
        raise InputSizeError(
            f"Input size {size} is too small for {entry.display}: its weights' metadata gives a minimum of "
            f"{entry.min_input_size} pixels."
        )
    if size > MAX_INPUT_SIZE:
        raise InputSizeError(f"Input size {size} is larger than the {MAX_INPUT_SIZE} pixels this tool analyses.")
    return size
