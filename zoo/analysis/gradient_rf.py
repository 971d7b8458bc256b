"""Receptive fields measured with gradients: the empirical check and the effective receptive field.

*Gradient receptive field* (the check of ``receptive_field``): backpropagate from one unit of a
layer and find the input pixels whose gradient is not zero. To make that set exactly the
theoretical field, the network is first *linearised and made positive*: every conv weight is
1 / fan-in, biases are 0, BatchNorm and activations become identities, max pooling becomes
average pooling, and the output of every global pool is replaced by ones (no gradient). Every path from a pixel to
the unit then carries a positive product of weights, so no gradient cancels or is switched off
by a ReLU, and a pixel has a non-zero gradient exactly when some path reaches it. Cutting
the global pools removes squeeze-and-excitation gates' whole-image path, which is why the
analytic report is "convolution path's field + a global flag". Float64 keeps the products of
a hundred 1 / fan-in factors at the field's edge above underflow.

*Effective receptive field* (Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive
Field in Deep Convolutional Neural Networks", NeurIPS 2016): the mean |gradient| of a centre
unit with respect to random inputs, through the real network (random init or trained weights).
It is Gaussian-like and far smaller than the theoretical field.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from zoo import budget, concurrency
from zoo.analysis.receptive_field import (
    ADAPTIVE,
    REDUCE,
    RFAnalysis,
    UnknownLayerError,
    receptive_fields,
    trace,
)
from zoo.concurrency import random_input
from zoo.errors import ZooError
from zoo.i18n import _, ngettext
from zoo.progress import Progress

Interval = tuple[tuple[int, int], tuple[int, int]]  # ((row lo, row hi), (col lo, col hi)), inclusive

_ACTIVATION_FUNCTIONS = {
    "relu", "relu_", "relu6", "hardtanh", "sigmoid", "sigmoid_", "hardsigmoid", "hardswish", "silu",
    "gelu", "tanh", "leaky_relu", "elu",
}


class GlobalLayerError(ZooError, ValueError):
    """A layer that pools the whole image has no centre unit whose field could be traced."""


# -- shared graph surgery ------------------------------------------------------------------------


def _layer_node(analysis: RFAnalysis, layer: str | None) -> str:
    row = analysis.final if layer is None else analysis.layer(layer)
    if row.is_global:
        raise GlobalLayerError(f"Layer '{row.name}' pools the whole image: it has no centre unit to trace.")
    return row.node


def _truncate(gm: fx.GraphModule, node_name: str, replaced: dict[str, fx.Node] | None = None) -> fx.GraphModule:
    """Cut the graph after ``node_name`` so the forward stops at that layer's output."""
    nodes = {n.name: n for n in gm.graph.nodes}
    target = nodes.get(node_name)
    while target is None and replaced and node_name in replaced:  # the layer itself became an identity
        node_name = replaced[node_name].name
        target = nodes.get(node_name)
    if target is None:
        raise UnknownLayerError(f"The traced graph has no node '{node_name}'.")
    out = next(n for n in gm.graph.nodes if n.op == "output")
    out.args = (target,)
    gm.graph.eliminate_dead_code()
    gm.graph.lint()
    # A new GraphModule copies only the submodules the cut graph still calls (not VGG's 120M-weight head).
    return fx.GraphModule(gm, gm.graph)


def _centre(hw: tuple[int, int]) -> tuple[int, int]:
    return hw[0] // 2, hw[1] // 2


# -- the empirical check: a linearised positive copy ---------------------------------------------


def _positive_weights(model: nn.Module) -> None:
    """Conv/linear weights 1 / fan-in, every other parameter and buffer 0 (BN is bypassed anyway)."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            t.zero_()
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())
            elif isinstance(m, nn.Linear):
                m.weight.fill_(1.0 / m.in_features)
    for p in model.parameters():
        p.requires_grad_(False)  # only the input's gradient is wanted


def _is_identity_module(m: nn.Module) -> bool:
    return isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd, nn.Identity)) or \
        type(m).__module__ == "torch.nn.modules.activation"


def linearise(gm: fx.GraphModule, analysis: RFAnalysis) -> tuple[fx.GraphModule, dict[str, fx.Node]]:
    """Rewrite a traced model in place so gradient support equals the analytic field (see module docstring).

    Returns the graph module and, for each node turned into an identity, the node now standing for it.
    """
    graph = gm.graph
    replaced: dict[str, fx.Node] = {}
    for node in list(graph.nodes):
        info = analysis.nodes.get(node.name)
        fname = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        bypass = False
        if node.op == "call_module":
            m = gm.get_submodule(node.target)
            if _is_identity_module(m):
                bypass = True
            elif isinstance(m, nn.MaxPool2d):
                if m.dilation not in (1, (1, 1)):
                    raise NotImplementedError(f"{node.target}: dilated max pooling has no average-pool twin.")
                _set_submodule(gm, node.target, nn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode))
            elif isinstance(m, nn.AdaptiveMaxPool2d):
                _set_submodule(gm, node.target, nn.AdaptiveAvgPool2d(m.output_size))
        elif node.op in ("call_function", "call_method"):
            if fname in _ACTIVATION_FUNCTIONS:
                bypass = True
            elif fname == "max_pool2d":
                names = ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]
                a = dict(zip(names, node.args), **node.kwargs)
                if a.get("dilation", 1) not in (1, (1, 1)):
                    raise NotImplementedError(f"{node.name}: dilated max pooling has no average-pool twin.")
                node.target = F.avg_pool2d
                node.args = (a["input"], a["kernel_size"])
                node.kwargs = {"stride": a.get("stride"), "padding": a.get("padding", 0),
                               "ceil_mode": a.get("ceil_mode", False)}
            elif fname == "adaptive_max_pool2d":
                node.target = F.adaptive_avg_pool2d
        if bypass:
            src = node.args[0]
            node.replace_all_uses_with(src)
            replaced[node.name] = src
            graph.erase_node(node)
            continue
        # A global pool (an SE gate's squeeze, or the head's) would spread gradient over every pixel:
        # replace what it feeds with ones, which carry no gradient. (Merely detaching is not enough:
        # with identity activations each gate multiplies a map by its own mean and values overflow.)
        if info is not None and info.kind in (ADAPTIVE, REDUCE) and info.field is not None and info.field.is_global:
            src = analysis.nodes.get(node.all_input_nodes[0].name)
            if src is not None and src.field is not None and not src.field.is_global:
                with graph.inserting_after(node):
                    ones = graph.call_function(torch.ones_like, (node,))
                node.replace_all_uses_with(ones, delete_user_cb=lambda u: u is not ones)
    graph.lint()
    gm.recompile()
    return gm, replaced


def _set_submodule(gm: nn.Module, path: str, new: nn.Module) -> None:
    parent, _sep, leaf = path.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, leaf, new)


@dataclass
class GradientRF:
    """Extent of non-zero input gradient for a few units of one layer, next to the analytic field."""

    name: str
    layer: str
    input_size: int
    units: list[tuple[int, int]]
    measured: list[Interval | None]  # extents of non-zero gradient (None: no pixel reaches the unit)
    analytic: list[Interval | None]  # the analytic field of the same unit, clipped to the image
    analytic_unclipped: list[Interval]
    dtype: torch.dtype  # what the measurement ran in

    @property
    def clipped(self) -> list[bool]:
        return [a != u for a, u in zip(self.analytic, self.analytic_unclipped)]

    @property
    def matches(self) -> bool:
        return self.measured == self.analytic

    @property
    def measured_rf(self) -> tuple[int, int] | None:
        """(rows, cols) extent of the first unit's non-zero gradient, in px."""
        if self.measured[0] is None:
            return None
        (r0, r1), (c0, c1) = self.measured[0]
        return r1 - r0 + 1, c1 - c0 + 1


# Below this the smallest non-zero gradient is too close to float32's underflow (about 1e-45) to
# trust that no pixel at the field's edge rounded to 0: the measurement is repeated in float64.
UNDERFLOW_GUARD = 2.0 ** -100


def _support(gm: fx.GraphModule, size: int, units: list[tuple[int, int]], dtype: torch.dtype):
    """Extent of non-zero input gradient per unit, or None when float32 may have underflowed."""
    x = torch.ones(1, 3, size, size, dtype=dtype, requires_grad=True)
    y = gm(x)
    measured: list[Interval | None] = []
    for k, (r, c) in enumerate(units):
        (g,) = torch.autograd.grad(y[0, :, r, c].sum(), x, retain_graph=k + 1 < len(units))
        g = g[0].abs().sum(0)
        nonzero = g[g > 0]
        if not torch.isfinite(g).all() or (len(nonzero) and float(nonzero.min()) < UNDERFLOW_GUARD):
            if dtype != torch.float64:
                return None
        support = g > 0
        rows = torch.nonzero(support.any(1)).flatten()
        cols = torch.nonzero(support.any(0)).flatten()
        measured.append(None if not len(rows) else
                        ((int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))))
    return measured


# -- what the measurements cost, before they run ---------------------------------------------------


def _spatial_layers(analysis: RFAnalysis) -> list[str]:
    return [r.name for r in analysis.layers if not r.is_global and r.output_hw]


def gradient_check_bytes(name: str, layer: str | None = None) -> int:
    """Estimated peak memory of :func:`gradient_rf`: the cut graph in float64 (the underflow retry)."""
    analysis = receptive_fields(name)
    upto = layer or analysis.final.name
    return 2 * budget.params_upto(name, upto) + 2 * int(budget.BACKWARD_FACTOR * budget.activation_bytes(name, upto))


def erf_bytes(name: str, layer: str | None = None, samples: int = 4) -> int:
    """Estimated peak memory of :func:`effective_rf`: the whole model, plus what backward keeps per image."""
    analysis = receptive_fields(name)
    upto = layer or analysis.final.name
    return budget.params_bytes(name) + int(budget.BACKWARD_FACTOR * budget.activation_bytes(name, upto) * samples)


def check_gradient_check(name: str, layer: str | None = None) -> None:
    """BudgetError (offering an earlier layer that fits) when :func:`gradient_rf` would cost too much."""
    from zoo import registry

    analysis = receptive_fields(name)
    earlier = [(_("at layer `{layer}`").format(layer=n), gradient_check_bytes(name, n))
               for n in reversed(_spatial_layers(analysis))]
    budget.refuse_or_allow(_("Measuring the field of {model} at {layer}").format(
        model=registry.get(name).display, layer=layer or analysis.final.name),
        gradient_check_bytes(name, layer), budget.memory_budget(), earlier)


def check_erf(name: str, layer: str | None = None, samples: int = 4) -> None:
    """BudgetError (offering fewer noise images or an earlier layer that fits) when :func:`effective_rf`
    would cost too much."""
    from zoo import registry

    analysis = receptive_fields(name)
    upto = layer or analysis.final.name
    smaller = [(ngettext("with {n} noise image", "with {n} noise images", n).format(n=n), erf_bytes(name, upto, n))
               for n in (2, 1) if n < samples]
    smaller += [(_("at layer `{layer}` with 1 noise image").format(layer=n), erf_bytes(name, n, 1))
                for n in reversed(_spatial_layers(analysis)) if n != upto]
    what = ngettext("The effective receptive field of {model} at {layer} from {n} noise image",
                    "The effective receptive field of {model} at {layer} from {n} noise images", samples)
    budget.refuse_or_allow(what.format(model=registry.get(name).display, layer=upto, n=samples),
                           erf_bytes(name, upto, samples), budget.memory_budget(), smaller)


def gradient_rf(name: str, layer: str | None = None, input_size: int | None = None,
                units: list[tuple[int, int]] | None = None) -> GradientRF:
    """Measure the field of ``layer`` (default: the last spatial map) of catalogue model ``name``.

    Refused with a BudgetError before anything is built when it would cost more memory than one
    action may use (at the model's own input size); runs inside one of the process's inference slots.

    Args:
        units: (row, col) units to trace; default the centre unit and its lower-right neighbour
            (two units expose the stride as well as the size and padding).
    """
    from zoo import registry

    entry = registry.get(name)
    if input_size is None:
        check_gradient_check(name, layer)
    analysis = receptive_fields(name, input_size)
    model = entry.build("meta", input_size=analysis.input_size)
    with concurrency.inference_slot():
        return measure_module(model, analysis, layer, units, name=name)


def measure_module(model: nn.Module, analysis: RFAnalysis, layer: str | None = None,
                   units: list[tuple[int, int]] | None = None, name: str | None = None) -> GradientRF:
    """``gradient_rf`` for any model on the meta device, given its ``analyze_module`` result.

    Runs in float32 (ten times faster than float64 for depthwise convolutions on a CPU) and
    again in float64 if the smallest non-zero gradient comes near float32's underflow.
    """
    size = analysis.input_size
    node_name = _layer_node(analysis, layer)
    info = analysis.nodes[node_name]

    # Rewrite and cut the graph on the meta device, then materialise only what is left.
    gm = trace(model)
    missing = set(analysis.nodes) - {n.name for n in gm.graph.nodes}
    if missing:
        raise RuntimeError(f"The trace of {analysis.name} differs from the analysed one: {sorted(missing)[:3]}.")
    gm, replaced = linearise(gm, analysis)
    gm = _truncate(gm, node_name, replaced).to_empty(device="cpu")

    h, w = info.output_hw
    if units is None:
        c = _centre((h, w))
        units = [c] + ([(min(c[0] + 1, h - 1), min(c[1] + 1, w - 1))] if (h, w) != (1, 1) else [])
    measured = None
    for dtype in (torch.float32, torch.float64):
        gm = gm.to(dtype)
        _positive_weights(gm)
        measured = _support(gm, size, units, dtype)
        if measured is not None:
            break

    def clipped(u):
        (r0, r1), (c0, c1) = info.field.interval(u, (size, size))
        return None if r0 > r1 or c0 > c1 else ((r0, r1), (c0, c1))

    return GradientRF(
        name or analysis.name, analysis.layer(layer).name if layer else analysis.final.name, size, list(units), measured,
        [clipped(u) for u in units], [info.field.interval(u) for u in units], dtype,
    )


# -- the effective receptive field ---------------------------------------------------------------


INITS = ("random", "trained")


@dataclass
class EffectiveRF:
    """Mean |d unit / d input| over random inputs, with the theoretical field for comparison."""

    name: str
    layer: str
    init: str  # "random" (seeded default init) or "trained"
    input_size: int
    unit: tuple[int, int]
    gradient: np.ndarray  # (H, W) input-sized map, scaled so its maximum is 1
    box: Interval  # theoretical field of the unit, clipped to the image
    field: Interval  # the same, unclipped (it may reach past the image, into the padding)
    rf_px: tuple[int, int]  # theoretical field (rows, cols), unclipped
    centre: tuple[float, float]  # centre of the unclipped theoretical field, (row, col) in px
    global_dependence: bool  # an SE gate also spreads a little gradient over the whole image
    samples: int

    @property
    def mass_in_box(self) -> float:
        """Share of the gradient mass inside the theoretical box (1.0 unless a global path leaks)."""
        (r0, r1), (c0, c1) = self.box
        total = float(self.gradient.sum(dtype=np.float64))
        return float(self.gradient[r0:r1 + 1, c0:c1 + 1].sum(dtype=np.float64)) / total if total else 0.0

    def side_px(self, fraction: float = 0.9) -> int:
        """Side of the smallest square, centred on the theoretical field's centre, holding ``fraction`` of the mass."""
        cy, cx = self.centre
        yy, xx = np.mgrid[0:self.gradient.shape[0], 0:self.gradient.shape[1]]
        dist = np.maximum(np.abs(yy - cy), np.abs(xx - cx)).ravel()
        order = np.argsort(dist, kind="stable")
        mass = np.cumsum(self.gradient.ravel()[order])
        k = int(np.searchsorted(mass, fraction * mass[-1]))
        return int(round(2 * dist[order][min(k, len(order) - 1)] + 1))


def effective_rf(name: str, layer: str | None = None, init: str = "random", samples: int = 4,
                 seed: int = 0, progress: Progress | None = None) -> EffectiveRF:
    """Luo et al.'s effective receptive field of the centre unit of ``layer`` at the model's own input size.

    ``init="trained"`` loads the published weights (EfficientNet-Lite0's are bundled; torchvision's
    only if cached) and raises ``zoo.inference.weights.WeightsUnavailableError`` when they are not here.
    """
    from zoo import registry

    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, not {init!r}.")
    entry = registry.get(name)
    size = entry.input_size
    analysis = receptive_fields(name, size)
    node_name = _layer_node(analysis, layer)
    info = analysis.nodes[node_name]
    check_erf(name, layer, samples)
    report = progress or (lambda done, total, text="": None)
    with concurrency.inference_slot():
        return _effective_rf(name, entry, analysis, node_name, info, layer, init, samples, seed, size, report)


def _effective_rf(name, entry, analysis, node_name, info, layer, init, samples, seed, size, report) -> EffectiveRF:
    built = _("Building {model} (trained weights)") if init == "trained" else _("Building {model} (random weights)")
    report(0, 3, built.format(model=entry.display))
    if init == "trained":
        from zoo.inference.models import load_model

        model = load_model(name, "cpu")  # a new instance of our own, so tracing it shares nothing
    else:
        model = entry.build("cpu", input_size=size, seed=seed)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    gm = _truncate(trace(model), node_name)

    unit = _centre(info.output_hw)
    x = random_input((samples, 3, size, size), seed).requires_grad_(True)
    report(1, 3, ngettext("Forward pass of {n} noise image", "Forward pass of {n} noise images", samples).format(
        n=samples))
    y = gm(x)
    report(2, 3, _("Backward pass from the centre unit"))
    (g,) = torch.autograd.grad(y[:, :, unit[0], unit[1]].sum(), x)
    report(3, 3, _("Done"))
    grad = g.abs().sum(1).mean(0).numpy().astype(np.float64)
    peak = grad.max()
    f = info.field
    (lo_r, _hi_r), (lo_c, _hi_c) = f.interval(unit)
    return EffectiveRF(
        name, analysis.layer(layer).name if layer else analysis.final.name, init, size, unit,
        (grad / peak if peak > 0 else grad).astype(np.float32), f.interval(unit, (size, size)), f.interval(unit), f.rf,
        (lo_r + (f.rf[0] - 1) / 2, lo_c + (f.rf[1] - 1) / 2), bool(f.global_dependence), samples,
    )


__all__ = ["EffectiveRF", "GlobalLayerError", "GradientRF", "INITS", "effective_rf", "gradient_rf", "linearise",
           "measure_module"]
