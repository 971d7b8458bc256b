"""Analytic receptive fields, per layer, on the traced graph (torch.fx) of any catalogue model.

Convention of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019): unit ``i`` of a feature map sees the input pixels

    [i * stride - padding,  i * stride - padding + rf - 1]

along each axis, where ``rf`` is the field size in input pixels, ``stride`` the effective
stride (the "jump" between neighbouring units, in input pixels) and ``padding`` the effective
padding (how far the first unit's field starts before pixel 0). A layer with kernel k,
stride s, padding p and dilation d (effective kernel k' = d(k - 1) + 1) maps the field of
its input (r, j, P) to

    r' = r + (k' - 1) j,    j' = j s,    P' = P + p j.

The graph is followed through branches: where paths merge (add, mul, cat) the unit sees the
union of its inputs' fields, per axis: padding = the largest padding and the far edge = the
furthest far edge. Where one path's field contains the others' that is simply the path with
the largest rf -- at every merge of the catalogue but two kinds, which the tests pin down:
Inception v3's Mixed_7b/7c concatenate a 1x3 and a 3x1 branch, whose union (a cross) spans
more rows than the one and more columns than the other; the rf reported is its bounding box.

A pooling that collapses a map of more than one position (global average pooling, the
flatten before a classifier) makes each output depend on every unit of the map and so on the
whole image: such layers are reported as *global* (``rf is None``), not as a number.
Squeeze-and-excitation gates (MobileNet V3, EfficientNet) multiply a feature map by a global
vector: the layers after one keep the field of their convolution path and are flagged
``global_dependence``. Adaptive pools are told apart from the actual shapes (shape propagation
on meta tensors): AlexNet's and VGG's 7x7 adaptive pool is an identity at 224 px.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import torch
from torch import fx, nn

from zoo.analysis.layers import InputSizeError, check_input_size
from zoo.errors import UnknownLayerError


class UnsupportedLayerError(RuntimeError):
    """An operation whose effect on the receptive field this analysis does not model (a bug, not a user error)."""


@dataclass(frozen=True)
class Field:
    """Receptive field of one feature map, per axis as (rows, cols), in input pixels.

    ``rf is None`` means the map is global: each of its values depends on every unit of a
    spatial map, hence on the whole image; stride and padding are then None too.
    """

    rf: tuple[int, int] | None
    stride: tuple[int, int] | None
    padding: tuple[int, int] | None
    global_dependence: bool = False  # also fed by a global path (an SE gate), whatever rf says

    @property
    def is_global(self) -> bool:
        return self.rf is None

    def interval(self, unit: tuple[int, int], size: tuple[int, int] | None = None) -> tuple[tuple[int, int], ...]:
        """Input rows and cols ((lo, hi), (lo, hi)) seen by ``unit``; clipped to an image of ``size`` if given."""
        if self.rf is None:
            raise ValueError("A global map has no finite field.")
        out = []
        for ax in (0, 1):
            lo = unit[ax] * self.stride[ax] - self.padding[ax]
            hi = lo + self.rf[ax] - 1
            if size is not None:
                lo, hi = max(lo, 0), min(hi, size[ax] - 1)
            out.append((lo, hi))
        return tuple(out)


INPUT_FIELD = Field((1, 1), (1, 1), (0, 0))
GLOBAL_FIELD = Field(None, None, None, True)

# Kinds of node. Only conv, pool and the adaptive/global pools change the geometry of a field.
CONV, POOL, PAD, ADAPTIVE, REDUCE, POINTWISE, INPUT = "conv", "pool", "pad", "adaptive_pool", "reduce", "pointwise", "input"
GEOMETRY_KINDS = (CONV, POOL, PAD, ADAPTIVE)  # what the CLI lists: "every conv/pool layer", plus explicit padding


@dataclass
class NodeRF:
    """The field of one node of the traced graph (a module call or a functional op)."""

    node: str  # fx node name
    name: str  # module path (``layer2.0.conv2``), or scope + function for functional ops (``Mixed_5b.avg_pool2d``)
    type: str  # module class name, or function name
    kind: str
    field: Field | None  # None for values that are not feature maps (sizes, constants)
    output_hw: tuple[int, int] | None  # spatial size of the output, None when it is not a 4-D map
    depth: int  # conv/pool layers on the longest path from the input, this one included
    notes: list[str] = field(default_factory=list)


@dataclass
class LayerRF:
    """One row of the receptive-field table: a module (last call if called more than once) or functional op."""

    name: str
    type: str
    kind: str
    field: Field
    output_hw: tuple[int, int] | None
    depth: int
    node: str
    calls: int = 1
    note: str = ""

    # The table shows one number per layer: the larger axis (they differ only for
    # Inception v3's 1x7 / 7x1 factorised convolutions), with that axis's stride and padding.
    @property
    def _axis(self) -> int:
        return 1 if self.field.rf[1] > self.field.rf[0] else 0

    @property
    def rf(self) -> int | None:
        return None if self.field.is_global else self.field.rf[self._axis]

    @property
    def stride(self) -> int | None:
        return None if self.field.is_global else self.field.stride[self._axis]

    @property
    def padding(self) -> int | None:
        return None if self.field.is_global else self.field.padding[self._axis]

    @property
    def is_global(self) -> bool:
        return self.field.is_global

    @property
    def global_dependence(self) -> bool:
        return self.field.is_global or self.field.global_dependence


@dataclass
class RFAnalysis:
    """Receptive fields of every layer of a model at one input size."""

    name: str
    input_size: int
    layers: list[LayerRF]  # call order
    final: LayerRF  # the last spatial feature map before the global pooling of the head
    nodes: dict[str, NodeRF] = field(repr=False, default_factory=dict)  # every fx node, by fx name

    def layer(self, name: str) -> LayerRF:
        for r in self.layers:
            if r.name == name:
                return r
        raise UnknownLayerError(f"{self.name} has no layer called '{name}'.")

    def geometry_layers(self) -> list[LayerRF]:
        """Conv, pooling (adaptive and global included) and explicit padding layers, in call order."""
        return [r for r in self.layers if r.kind in GEOMETRY_KINDS]

    def table(self) -> pd.DataFrame:
        """One row per layer: name, rf, stride, padding (nullable ints; NA where global), global_dependence, note."""
        return pd.DataFrame({
            "name": [r.name for r in self.layers],
            "rf": pd.array([r.rf for r in self.layers], dtype="Int64"),
            "stride": pd.array([r.stride for r in self.layers], dtype="Int64"),
            "padding": pd.array([r.padding for r in self.layers], dtype="Int64"),
            "global_dependence": [r.global_dependence for r in self.layers],
            "note": [r.note for r in self.layers],
        })

    def detail(self) -> pd.DataFrame:
        """Per-axis table for plots and overlays: the table's columns plus type, kind, depth,
        is_global, rf/stride/padding per axis (``_h`` rows, ``_w`` cols) and the output map size."""
        def axis(r: LayerRF, attr: str, ax: int):
            return None if r.is_global else getattr(r.field, attr)[ax]

        df = self.table()
        df.insert(1, "type", [r.type for r in self.layers])
        df.insert(2, "kind", [r.kind for r in self.layers])
        df["depth"] = [r.depth for r in self.layers]
        df["is_global"] = [r.is_global for r in self.layers]
        for col, attr in (("rf", "rf"), ("stride", "stride"), ("padding", "padding")):
            for suffix, ax in (("_h", 0), ("_w", 1)):
                df[col + suffix] = pd.array([axis(r, attr, ax) for r in self.layers], dtype="Int64")
        df["out_h"] = pd.array([r.output_hw[0] if r.output_hw else None for r in self.layers], dtype="Int64")
        df["out_w"] = pd.array([r.output_hw[1] if r.output_hw else None for r in self.layers], dtype="Int64")
        return df

    def to_json(self) -> dict:
        """The CLI's document; a global layer has ``"rf": "global"`` and null stride and padding."""
        def entry(r: LayerRF, with_type: bool) -> dict:
            d = {"name": r.name}
            if with_type:
                d["type"] = r.type
            d.update(rf="global" if r.is_global else r.rf, stride=r.stride, padding=r.padding)
            if with_type:
                d.update(global_dependence=r.global_dependence, note=r.note)
            return d

        return {
            "name": self.name,
            "input_size": self.input_size,
            "layers": [entry(r, True) for r in self.geometry_layers()],
            "final": entry(self.final, False),
        }


# -- tracing ---------------------------------------------------------------------------------------


def trace(model: nn.Module) -> fx.GraphModule:
    """The graph of ``model``'s forward as it runs now (eval mode: no auxiliary heads).

    torch.fx's default tracer suits every catalogue model: torch.nn layers are leaves, while
    containers and torchvision's blocks (Bottleneck, InvertedResidual, SqueezeExcitation) are
    traced through, so module paths match ``named_modules()``.
    """
    tracer = fx.Tracer()
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph)


# -- per-op geometry -------------------------------------------------------------------------------


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[-1])  # (k,) or (kh, kw)
    return int(v), int(v)


def _bind(args: tuple, kwargs: dict, names: list[str], defaults: dict) -> dict:
    """Positional + keyword arguments of a functional op, by parameter name."""
    out = dict(defaults)
    out.update(zip(names, args))
    out.update(kwargs)
    return out


_FUNCTIONAL_SIGNATURES = {
    "conv2d": (["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
               {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}),
    "max_pool2d": (["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"],
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}),
    "avg_pool2d": (["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
                   {"stride": None, "padding": 0, "ceil_mode": False}),
    "pad": (["input", "pad", "mode", "value"], {"mode": "constant", "value": None}),
}

# Ops that act on each spatial position separately (or merge same-shaped maps position by position).
_POINTWISE_FUNCTIONS = {
    "add", "iadd", "sub", "isub", "mul", "imul", "truediv", "itruediv", "cat", "concat", "neg",
    "relu", "relu_", "relu6", "hardtanh", "sigmoid", "sigmoid_", "hardsigmoid", "hardswish", "silu",
    "gelu", "tanh", "leaky_relu", "elu", "dropout", "stochastic_depth", "contiguous", "clone", "detach",
    "linear",
}
_REDUCE_FUNCTIONS = {"flatten", "mean", "adaptive_avg_pool2d", "adaptive_max_pool2d"}
_ACTIVATION_MODULE = "torch.nn.modules.activation"


def _module_kind(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        return CONV
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return POOL
    if isinstance(m, (nn.ZeroPad2d, nn.ConstantPad2d)):
        return PAD
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return ADAPTIVE
    if isinstance(m, nn.Flatten):
        return REDUCE
    if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd, nn.Identity,
                      nn.LocalResponseNorm, nn.Linear)) or type(m).__module__ == _ACTIVATION_MODULE:
        return POINTWISE
    raise UnsupportedLayerError(f"No receptive-field rule for module type {type(m).__name__}.")


def _function_name(node: fx.Node) -> str:
    return node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))


def _function_kind(fname: str) -> str:
    if fname == "conv2d":
        return CONV
    if fname in ("max_pool2d", "avg_pool2d"):
        return POOL
    if fname == "pad":
        return PAD
    if fname in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        return ADAPTIVE
    if fname in _REDUCE_FUNCTIONS:
        return REDUCE
    if fname in _POINTWISE_FUNCTIONS or fname in ("getitem", "size", "dim"):
        return POINTWISE
    raise UnsupportedLayerError(f"No receptive-field rule for the operation {fname}.")


@dataclass(frozen=True)
class _Window:
    """A sliding window along (rows, cols): kernel, stride, padding before, dilation."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False


def _conv_padding(padding, kernel, dilation) -> tuple[int, int]:
    if padding == "valid":
        return (0, 0)
    if padding == "same":  # PyTorch puts the odd pixel of 'same' padding after, like TF
        return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    return _pair(padding)


def _window_of(kind: str, mod: nn.Module | None, fname: str, node: fx.Node) -> _Window:
    if mod is not None:
        if kind == CONV:
            k, d = _pair(mod.kernel_size), _pair(mod.dilation)
            return _Window(k, _pair(mod.stride), _conv_padding(mod.padding, k, d), d)
        if kind == POOL:
            k = _pair(mod.kernel_size)
            d = _pair(getattr(mod, "dilation", 1))
            return _Window(k, _pair(mod.stride if mod.stride is not None else k), _pair(mod.padding), d,
                           bool(mod.ceil_mode))
        if kind == PAD:
            left, _right, top, _bottom = mod.padding  # (left, right, top, bottom), as F.pad takes them
            return _Window((1, 1), (1, 1), (int(top), int(left)))
    names, defaults = _FUNCTIONAL_SIGNATURES[fname]
    a = _bind(node.args, node.kwargs, names, defaults)
    if kind == CONV:
        w = a["weight"].meta["val"] if isinstance(a["weight"], fx.Node) and "val" in a["weight"].meta else None
        if w is None:
            raise UnsupportedLayerError("Functional conv2d whose weight shape is unknown.")
        k, d = _pair(tuple(w.shape[-2:])), _pair(a["dilation"])
        return _Window(k, _pair(a["stride"]), _conv_padding(a["padding"], k, d), d)
    if kind == POOL:
        k = _pair(a["kernel_size"])
        stride = a["stride"] if a["stride"] not in (None, [], ()) else k
        return _Window(k, _pair(stride), _pair(a["padding"]), _pair(a.get("dilation", 1)), bool(a["ceil_mode"]))
    if kind == PAD:
        pad = list(a["pad"]) + [0] * 4
        if a["mode"] != "constant":
            raise UnsupportedLayerError(f"Padding mode {a['mode']!r} is not modelled (only constant padding is).")
        return _Window((1, 1), (1, 1), (int(pad[2]), int(pad[0])))
    raise AssertionError(kind)


def apply_window(f: Field, w: _Window) -> Field:
    """The Araujo et al. recurrence for one sliding-window layer, per axis."""
    if f.is_global:
        return f
    rf, stride, pad = [], [], []
    for ax in (0, 1):
        k_eff = w.dilation[ax] * (w.kernel[ax] - 1) + 1
        rf.append(f.rf[ax] + (k_eff - 1) * f.stride[ax])
        pad.append(f.padding[ax] + w.padding[ax] * f.stride[ax])
        stride.append(f.stride[ax] * w.stride[ax])
    return Field(tuple(rf), tuple(stride), tuple(pad), f.global_dependence)


def merge_fields(fields: list[Field]) -> tuple[Field, list[str]]:
    """Field of a unit that combines the same position of several maps: the union of their fields."""
    notes: list[str] = []
    spatial = [f for f in fields if not f.is_global]
    dep = any(f.global_dependence for f in fields)
    if not spatial:
        return GLOBAL_FIELD, notes
    if len(spatial) < len(fields):
        dep = True
    strides = {f.stride for f in spatial}
    widest = max(spatial, key=lambda f: f.rf[0] * f.rf[1])
    if len(strides) > 1:
        notes.append("merged maps disagree on stride; the widest path's stride is reported")
    pad = tuple(max(f.padding[ax] for f in spatial) for ax in (0, 1))
    far = tuple(max(f.rf[ax] - 1 - f.padding[ax] for f in spatial) for ax in (0, 1))
    rf = tuple(far[ax] + pad[ax] + 1 for ax in (0, 1))
    if rf != widest.rf:
        notes.append("the union of the merged paths' fields is wider than any one of them")
    return Field(rf, widest.stride, pad, dep), notes


def _adaptive_field(f: Field, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> tuple[Field, list[str], bool]:
    """Adaptive pooling from the actual shapes: identity, global, an even pool, or uneven bins."""
    if out_hw == in_hw:
        return f, [f"adaptive pool to {out_hw[0]}x{out_hw[1]} is an identity at this input size"], False
    if out_hw == (1, 1):
        return GLOBAL_FIELD, [], True
    if f.is_global:
        return f, [], False
    even = all(i % o == 0 for i, o in zip(in_hw, out_hw))
    kernel, stride = [], []
    for i, o in zip(in_hw, out_hw):
        # Bin b covers input units floor(b*i/o) .. ceil((b+1)*i/o) - 1 (PyTorch's adaptive pooling).
        kernel.append(max(math.ceil((b + 1) * i / o) - (b * i) // o for b in range(o)))
        stride.append(max(1, i // o))
    notes = [] if even else [
        f"uneven adaptive bins ({in_hw[0]}x{in_hw[1]} -> {out_hw[0]}x{out_hw[1]}): rf is the largest bin's "
        "field and units are not on a fixed stride"]
    return apply_window(f, _Window(tuple(kernel), tuple(stride), (0, 0))), notes, False


def _coverage_note(f: Field, in_hw: tuple[int, int], image_hw: tuple[int, int]) -> list[str]:
    """A global pool sees the union of its units' fields; say so if that union misses image pixels."""
    missed = []
    for ax in (0, 1):
        first = -f.padding[ax]
        last = (in_hw[ax] - 1) * f.stride[ax] - f.padding[ax] + f.rf[ax] - 1
        miss = max(0, first) + max(0, image_hw[ax] - 1 - last)
        if miss:
            missed.append(f"{miss} px of the image's {'rows' if ax == 0 else 'cols'}")
    return [f"the pooled units' fields miss {' and '.join(missed)}"] if missed else []


def _hw(v) -> tuple[int, int] | None:
    return tuple(int(s) for s in v.shape[-2:]) if isinstance(v, torch.Tensor) and v.dim() == 4 else None


def _scope(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return list(stack)[-1] if stack else ""


class _FieldInterpreter(fx.Interpreter):
    """Runs the graph on meta tensors and computes each node's field from its inputs' fields and shapes."""

    def __init__(self, gm: fx.GraphModule, image_hw: tuple[int, int]):
        super().__init__(gm)
        self.modules = dict(gm.named_modules())
        self.image_hw = image_hw
        self.info: dict[str, NodeRF] = {}
        self._names: dict[str, int] = {}

    def _functional_name(self, node: fx.Node, fname: str) -> str:
        scope = _scope(node)
        base = f"{scope}.{fname}" if scope else fname
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def run_node(self, node: fx.Node):
        out = super().run_node(node)
        if isinstance(out, torch.Tensor):
            node.meta["val"] = out  # meta tensor: shape only, no memory
        if node.op in ("output", "get_attr") or not isinstance(out, torch.Tensor):
            return out  # sizes, tuples of outputs, constants: not feature maps
        out_hw = _hw(out)
        ins = [self.info[a.name] for a in node.all_input_nodes if a.name in self.info and self.info[a.name].field]
        # Depth follows the spatial paths: an SE gate's two 1x1 convs do not deepen the main path.
        spatial_ins = [i for i in ins if not i.field.is_global] or ins
        depth = max((i.depth for i in spatial_ins), default=0)
        notes: list[str] = []

        if node.op == "placeholder":
            self.info[node.name] = NodeRF(node.name, node.name, "input", INPUT, INPUT_FIELD, out_hw, 0)
            return out

        mod = self.modules[node.target] if node.op == "call_module" else None
        fname = type(mod).__name__ if mod is not None else _function_name(node)
        kind = _module_kind(mod) if mod is not None else _function_kind(fname)
        name = node.target if mod is not None else self._functional_name(node, fname)
        if not ins:
            f = None
        elif kind in (CONV, POOL, PAD):
            src = ins[0]
            w = _window_of(kind, mod, fname, node)
            f = apply_window(src.field, w)
            if kind != PAD:
                depth += 1
            if w.ceil_mode and not f.is_global:
                notes.append("ceil_mode: the last window may overhang the input")
        elif kind in (ADAPTIVE, REDUCE):
            src = ins[0]
            f, notes, pooled = self._reduce(kind, fname, node, src, out, out_hw)
            if pooled or (kind == ADAPTIVE and f is not src.field and not f.is_global):
                depth += 1
        else:  # pointwise: one input, or a merge of maps of the same size position by position
            spatial_hw = {self.info[a.name].output_hw for a in node.all_input_nodes
                          if a.name in self.info and self.info[a.name].field and not self.info[a.name].field.is_global
                          and self.info[a.name].output_hw is not None}
            if out_hw is not None and spatial_hw and spatial_hw != {out_hw}:
                raise UnsupportedLayerError(f"{fname} at {name} changes the map size {spatial_hw} -> {out_hw}.")
            f, notes = merge_fields([i.field for i in ins])
        self.info[node.name] = NodeRF(node.name, name, fname, kind, f, out_hw, depth, notes)
        return out

    def _reduce(self, kind, fname, node, src: NodeRF, out, out_hw):
        in_hw = src.output_hw
        if src.field.is_global or in_hw is None:
            return src.field, [], False
        if kind == ADAPTIVE:
            f, notes, pooled = _adaptive_field(src.field, in_hw, out_hw)
        elif out_hw == in_hw:  # flatten(2) or a mean over channels: no spatial change
            return src.field, [], False
        elif in_hw == (1, 1):  # flattening a single unit keeps that unit's field
            return src.field, [], False
        else:
            f, notes, pooled = GLOBAL_FIELD, [], True
        if f.is_global:
            notes = ["global: pools every position, so it sees the whole image"] + _coverage_note(
                src.field, in_hw, self.image_hw)
        return f, notes, pooled


def propagate(gm: fx.GraphModule, input_size: int | tuple[int, int]) -> dict[str, NodeRF]:
    """Field of every node of ``gm`` (a traced meta-device model) for a 1x3xHxW input."""
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    interp = _FieldInterpreter(gm, (h, w))
    with torch.no_grad():
        interp.run(torch.empty(1, 3, h, w, device="meta"))
    return interp.info


def _final_node(gm: fx.GraphModule, info: dict[str, NodeRF]) -> NodeRF:
    """The last spatial map before the head's global pooling, named after the module that makes it."""
    out = next(n for n in gm.graph.nodes if n.op == "output")
    order = {n.name: i for i, n in enumerate(gm.graph.nodes)}
    node = next(a for a in out.all_input_nodes if a.name in info and info[a.name].field)
    # Walk back through the global part of the head (classifier, flatten, pool).
    while info[node.name].field.is_global:
        parents = [a for a in node.all_input_nodes if a.name in info and info[a.name].field]
        node = max(parents, key=lambda a: order[a.name])
    # Then back through position-wise ops with the same field (a functional ReLU) to a module.
    while node.op != "call_module":
        parents = [a for a in node.all_input_nodes if a.name in info and info[a.name].field]
        if (len(parents) != 1 or info[node.name].kind != POINTWISE
                or info[parents[0].name].field != info[node.name].field):
            break
        node = parents[0]
    r = info[node.name]
    scope = _scope(node)
    if node.op != "call_module" and scope and not any(_scope(u).startswith(scope) for u in node.users):
        # The output of a block (GoogLeNet's inception5b concatenation): name it after the block.
        r = NodeRF(r.node, scope, r.type, r.kind, r.field, r.output_hw, r.depth, r.notes)
    return r


def _layers(gm: fx.GraphModule, info: dict[str, NodeRF], note_extra: str = "") -> list[LayerRF]:
    rows: dict[str, LayerRF] = {}
    for n in gm.graph.nodes:
        r = info.get(n.name)
        if r is None or r.field is None or r.kind == INPUT:
            continue
        if n.op != "call_module" and r.kind == POINTWISE:
            continue  # merges and functional activations: their fields show on the next layer's row
        notes = list(r.notes) + ([note_extra] if note_extra else [])
        if r.field.is_global and not any("whole image" in n for n in notes):
            notes.insert(0, "after a global pool: sees the whole image")
        elif r.field.global_dependence and not r.field.is_global:
            notes.insert(0, "conv path's field; a squeeze-and-excitation gate adds the whole image")
        if r.name in rows:  # a module called more than once (ResNet's shared ReLU): keep the last call
            prev = rows[r.name]
            rows[r.name] = LayerRF(r.name, r.type, r.kind, r.field, r.output_hw, r.depth, r.node,
                                   prev.calls + 1, "; ".join(notes))
        else:
            rows[r.name] = LayerRF(r.name, r.type, r.kind, r.field, r.output_hw, r.depth, r.node, 1, "; ".join(notes))
    for r in rows.values():
        if r.calls > 1:
            r.note = "; ".join(filter(None, [f"called {r.calls} times; field of the last call", r.note]))
    return list(rows.values())


def _geometry_modules(model: nn.Module) -> set[str]:
    kinds = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.ZeroPad2d)
    return {n for n, m in model.named_modules() if isinstance(m, kinds)}


def analyze_module(model: nn.Module, input_size: int, name: str = "model") -> RFAnalysis:
    """Receptive fields of ``model`` (on the meta device, in eval mode) for a square ``input_size`` input.

    Layers that run only in training mode (Inception v3's auxiliary classifier) are traced
    from the training-mode graph and reported too, so every conv/pool module has a value; the
    model is switched to training mode for that trace only and back to eval mode at once, so
    pass a model of your own (``registry.get(name).build("meta")``), never a shared one.
    Raises InputSizeError when a feature map would shrink to nothing.
    """
    def run(gm):
        try:
            return propagate(gm, input_size)
        except RuntimeError as e:
            if isinstance(e, UnsupportedLayerError):
                raise
            raise InputSizeError(
                f"Input size {input_size}x{input_size} is too small for {name}: a feature map shrinks to nothing "
                f"({str(e).splitlines()[0][:120]})."
            ) from None

    gm = trace(model)
    info = run(gm)
    layers = _layers(gm, info)
    final = _final_node(gm, info)
    final_row = next((r for r in layers if r.node == final.node), None) or LayerRF(
        final.name, final.type, final.kind, final.field, final.output_hw, final.depth, final.node)
    missing = _geometry_modules(model) - {r.name for r in layers}
    if missing and model.training is False:
        model.train()
        try:
            gm_train = trace(model)  # training-mode control flow, baked into the graph
        finally:
            model.eval()  # ... but run in eval mode: BatchNorm cannot train on one 1x1 value
        try:
            info_train = run(gm_train)
        except InputSizeError:
            info_train = None  # an input the main path takes but the auxiliary head cannot: no rows for it
        if info_train is not None:
            extra = [r for r in _layers(gm_train, info_train, "runs only in training mode (auxiliary classifier)")
                     if r.name not in {x.name for x in layers}]
            layers = layers + extra
    for r in layers:
        f = r.field
        if not f.is_global and (f.rf[0] != f.rf[1] or f.stride[0] != f.stride[1] or f.padding[0] != f.padding[1]):
            axes = (f"rows x cols: rf {f.rf[0]} x {f.rf[1]}, stride {f.stride[0]} x {f.stride[1]}, "
                    f"padding {f.padding[0]} x {f.padding[1]}")
            r.note = "; ".join(filter(None, [axes, r.note]))
    return RFAnalysis(name, int(input_size), layers, final_row, info)


@lru_cache(maxsize=64)
def receptive_fields(name: str, input_size: int | None = None) -> RFAnalysis:
    """Receptive fields of a catalogue model at ``input_size`` (default: its weights' crop size)."""
    from zoo import registry

    entry = registry.get(name)
    size = check_input_size(entry, input_size)
    a = analyze_module(entry.build("meta", input_size=size), size, entry.display)
    a.name = name  # the catalogue key, as the CLI and the pages take it
    return a


def rf_table(name: str, input_size: int | None = None) -> pd.DataFrame:
    """Receptive field per layer, keyed by module path like ``summarize(name).layers["name"]``.

    Columns: name, rf (px), stride (px), padding (px) -- nullable ints, <NA> for a global layer,
    which sees the whole image -- global_dependence (bool: global, or gated by an SE global pool)
    and note. For Inception v3's 1x7 / 7x1 layers rf is the larger axis (the note gives both).
    Functional ops (``Mixed_5b.avg_pool2d``) have rows of their own that match no module.
    """
    return receptive_fields(name, input_size).table().copy()


__all__ = [
    "Field", "LayerRF", "RFAnalysis", "UnknownLayerError", "UnsupportedLayerError", "analyze_module", "apply_window",
    "merge_fields", "propagate", "receptive_fields", "rf_table", "trace",
]
