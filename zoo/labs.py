"""The building-block labs as pure functions: measured numbers next to closed-form ones.

Every "measured" number comes from building the real ``nn.Module`` (from ``zoo.blocks``,
torchvision or the zoo's own models) and counting it with ``zoo.analysis.summarize_module``,
the same analysis as the model pages. Every "formula" number is the paper's closed form,
computed independently here, so a test can hold the two against each other. Pointers into
the real zoo are read from the built catalogue models, never retyped.

Conventions: ``params`` counts every parameter (BN's weight and bias included); ``macs`` are
multiply-accumulates (FLOPs = 2 x MACs) for one image; ``size`` / ``*_px`` is the side of a
square feature map or input.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from zoo import blocks, registry
from zoo.analysis import ModelSummary, rollup, summarize, summarize_module

# ------------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------------

def measure(make, in_channels: int, size: int, name: str = "block") -> ModelSummary:
    """Build ``make()`` on the meta device and count it on a 1 x in_channels x size x size input."""
    with torch.device("meta"):
        block = make()
    return summarize_module(blocks.FromImage(block, in_channels), size, name)


def _row(variant: str, s: ModelSummary, params_formula: int, macs_formula: int, **extra) -> dict:
    return {"variant": variant, **extra, "params": s.params, "params_formula": int(params_formula),
            "macs": s.macs, "macs_formula": int(macs_formula)}


def receptive_field(kernels_strides: Iterable[tuple[int, int]]) -> int:
    """Receptive field (px) of a chain of layers from the standard recurrence.

    rf_0 = 1, jump_0 = 1;  rf_l = rf_{l-1} + (k_l - 1) * jump_{l-1};  jump_l = jump_{l-1} * s_l
    """
    rf, jump = 1, 1
    for k, s in kernels_strides:
        rf += (k - 1) * jump
        jump *= s
    return rf


@contextmanager
def _one_thread():
    """Run tiny CPU computations on one thread, restoring the setting after.

    A CIFAR net on 8 images is too small to split: on a busy 2-core machine two intra-op
    threads measured 5-7 s for the 56-layer gradient demo, one thread 0.7 s.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _out(size: int, stride: int) -> int:
    # Output side of a 'same'-padded conv (pad k//2, odd k): ceil(size / stride).
    return -(-size // stride)


# ------------------------------------------------------------------------------------------------
# Lab 1 — VGG: a stack of 3x3 convolutions vs one large kernel
# ------------------------------------------------------------------------------------------------

def _measured_rf(module: nn.Module, size: int) -> int:
    """Receptive field of a sequential stack from the traced graph (``zoo.analysis.receptive_field``).

    Where that analysis is not installed, the recurrence over the module's own convs gives it.
    """
    try:
        from zoo.analysis.receptive_field import analyze_module
    except ImportError:
        return receptive_field((m.kernel_size[0], m.stride[0]) for m in module.modules() if isinstance(m, nn.Conv2d))
    return analyze_module(module, size).final.rf


def stack_params(cin: int, cout: int, kernel: int, n: int, bias: bool = True) -> int:
    """n stacked kxk convs cin -> cout -> ... -> cout:  k²·cin·C + (n-1)·k²·C² (+ n·C biases)."""
    return kernel**2 * cin * cout + (n - 1) * kernel**2 * cout**2 + (n * cout if bias else 0)


def stack_macs(cin: int, cout: int, kernel: int, n: int, size: int) -> int:
    """Same-padded, stride 1: every layer runs at size x size, so MACs = size² · weights."""
    return size**2 * stack_params(cin, cout, kernel, n, bias=False)


def kernel_stack_lab(n: int, channels: int, size: int, in_channels: int | None = None) -> pd.DataFrame:
    """n stacked 3x3 convs vs one (2n+1)x(2n+1) conv, both C -> C (or in_channels -> C), with bias."""
    cin = channels if in_channels is None else in_channels
    big = 2 * n + 1
    rows = []
    for kernel, layers, label in ((3, n, f"{n} × 3×3 (stack)"), (big, 1, f"1 × {big}×{big}")):
        s = measure(lambda: blocks.KernelStack(cin, channels, kernel, layers), cin, size, label)
        with torch.device("meta"):
            twin = blocks.KernelStack(3, 1, kernel, layers)  # a receptive field does not depend on channels
        rows.append(_row(label, s, stack_params(cin, channels, kernel, layers),
                         stack_macs(cin, channels, kernel, layers, size),
                         kernel=kernel, layers=layers, nonlinearities=sum(isinstance(m, nn.ReLU) for m in twin.modules()),
                         rf_px=_measured_rf(twin, size), rf_px_formula=2 * n + 1))
    return pd.DataFrame(rows)


def vgg_worked_example() -> pd.DataFrame:
    """The notes' example, 3 -> 64 channels with bias: one 3x3 conv, one 5x5 conv, and two stacked 3x3."""
    rows = []
    for kernel, n in ((3, 1), (5, 1), (3, 2)):
        label = f"{n} × {kernel}×{kernel}, 3 → 64" + (" → 64" if n == 2 else "")
        s = measure(lambda: blocks.KernelStack(3, 64, kernel, n), 3, 32, label)
        rows.append(_row(label, s, stack_params(3, 64, kernel, n), stack_macs(3, 64, kernel, n, 32),
                         kernel=kernel, layers=n, rf_px=2 * n + 1 if kernel == 3 else kernel))
    return pd.DataFrame(rows)


def conv_runs(name: str) -> pd.DataFrame:
    """Runs of consecutive stride-1 convs between poolings in a catalogue model, read from its layer table.

    One row per run: its layers, kernel(s), channels, the input side and the run's receptive field.
    """
    s = summarize(name)
    runs: list[list] = []
    current: list = []
    for r in s.layers.itertuples():
        if r.type == "Conv2d" and r.stride == (1, 1):
            current.append(r)
        elif r.type in ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Conv2d", "Linear") and current:
            runs.append(current)  # a pooling or strided layer ends the run
            current = []
    if current:
        runs.append(current)
    rows = []
    for run in runs:
        kernels = [r.kernel[0] for r in run]
        rows.append({
            "layers": ", ".join(r.name for r in run), "convs": len(run),
            "kernels": " + ".join(f"{k}×{k}" for k in kernels),
            "in_channels": int(run[0].in_channels), "out_channels": int(run[-1].out_channels),
            "size_px": int(run[0].output_shape[-1]),
            "rf_px": receptive_field([(r.kernel[0], r.stride[0]) for r in run]),
            "nonlinearities": len(run),
        })
    return pd.DataFrame(rows)


def large_kernels(name: str) -> pd.DataFrame:
    """The convolutions with kernels larger than 3x3 in a catalogue model (AlexNet's 11x11 and 5x5)."""
    layers = summarize(name).layers
    convs = layers[layers["type"] == "Conv2d"]
    big = convs[convs["kernel"].map(lambda k: max(k) > 3)]
    return big[["name", "kernel", "stride", "in_channels", "out_channels", "params", "macs"]].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Lab 2 — GoogLeNet: 1x1 reductions and the Inception module
# ------------------------------------------------------------------------------------------------

INCEPTION_FIELDS = ("in_channels", "c1", "r3", "c3", "r5", "c5", "pool_proj")


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
    return cin * (c1 + 9 * c3 + 25 * c5)


def inception_reduced_params(cin: int, c1: int, r3: int, c3: int, r5: int, c5: int, pool_proj: int) -> int:
    return cin * (c1 + r3 + r5 + pool_proj) + 9 * r3 * c3 + 25 * r5 * c5


def inception_lab(in_channels: int, c1: int, r3: int, c3: int, r5: int, c5: int, pool_proj: int,
                  size: int) -> pd.DataFrame:
    """The naive Inception module vs the one with 1x1 reductions (paper's 5x5, no biases)."""
    cin = in_channels
    naive = measure(lambda: blocks.NaiveInception(cin, c1, c3, c5), cin, size, "naive")
    reduced = measure(lambda: blocks.InceptionModule(cin, c1, r3, c3, r5, c5, pool_proj), cin, size, "reduced")
    p_naive = inception_naive_params(cin, c1, c3, c5)
    p_red = inception_reduced_params(cin, c1, r3, c3, r5, c5, pool_proj)
    return pd.DataFrame([
        _row("naive (Fig. 2a)", naive, p_naive, p_naive * size**2, out_channels=c1 + c3 + c5 + cin,
             out_channels_measured=_concat_channels(naive), **_branch_macs(naive)),
        _row("with 1×1 reductions (Fig. 2b)", reduced, p_red, p_red * size**2, out_channels=c1 + c3 + c5 + pool_proj,
             out_channels_measured=_concat_channels(reduced), **_branch_macs(reduced)),
    ])


INCEPTION_BRANCHES = {"branch1": "1×1", "branch2": "3×3", "branch3": "5×5", "branch4": "pool"}


def _branch_macs(s: ModelSummary) -> dict[str, int]:
    per = rollup(s.layers, 2).set_index("stage")["macs"]  # block.branchN
    return {f"macs_{b}": int(per.get(f"block.{b}", 0)) for b in INCEPTION_BRANCHES}


def _concat_channels(s: ModelSummary) -> int:
    # The module's output is the concatenation of its four branches' last layers.
    layers = s.layers
    last = layers.groupby(layers["name"].map(lambda n: n.split(".")[1]), sort=False).tail(1)
    return int(sum(shape[1] for shape in last["output_shape"]))


def reduction_lab(in_channels: int, mid_channels: int, out_channels: int, kernel: int, size: int) -> pd.DataFrame:
    """A kxk conv on all input channels vs a 1x1 reduction to ``mid_channels`` in front of it."""
    cin, mid, cout, k = in_channels, mid_channels, out_channels, kernel
    direct = measure(lambda: blocks.plain_conv(cin, cout, k), cin, size, "direct")
    reduced = measure(lambda: blocks.ReducedConv(cin, mid, cout, k), cin, size, "reduced")
    p_direct, p_red = k * k * cin * cout, cin * mid + k * k * mid * cout
    return pd.DataFrame([
        _row(f"{k}×{k} on {cin} channels", direct, p_direct, p_direct * size**2),
        _row(f"1×1 {cin}→{mid}, then {k}×{k}", reduced, p_red, p_red * size**2),
    ])


@dataclass(frozen=True)
class AuxHeads:
    heads: pd.DataFrame  # one row per auxiliary classifier: where it attaches, its input, its params
    params_with_aux: int  # GoogLeNet as trained
    params_inference: int  # as the published weights ship it, aux heads dropped
    published_params: int | None  # torchvision's weights metadata, for comparison


AUX_LOSS_WEIGHT = 0.3  # Szegedy et al. 2014, section 5: aux losses are added with weight 0.3


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
    inference = sum(p.numel() for p in entry.build("meta").parameters())
    return AuxHeads(pd.DataFrame(rows), total, inference, entry.published_params)


# ------------------------------------------------------------------------------------------------
# Lab 3 — ResNet: basic vs bottleneck blocks, identity vs projection shortcut
# ------------------------------------------------------------------------------------------------

def basic_block_params(cin: int, cout: int, stride: int) -> int:
    proj = cin * cout + 2 * cout if (stride != 1 or cin != cout) else 0
    return 9 * cin * cout + 9 * cout * cout + 2 * 2 * cout + proj


def basic_block_macs(cin: int, cout: int, stride: int, size: int) -> int:
    proj = cin * cout if (stride != 1 or cin != cout) else 0
    return _out(size, stride) ** 2 * (9 * cin * cout + 9 * cout * cout + proj)


def bottleneck_params(cin: int, width: int, stride: int) -> int:
    cout = 4 * width
    proj = cin * cout + 2 * cout if (stride != 1 or cin != cout) else 0
    return cin * width + 9 * width**2 + width * cout + 2 * (width + width + cout) + proj


def bottleneck_macs(cin: int, width: int, stride: int, size: int) -> int:
    # torchvision (ResNet v1.5) strides the 3x3, so the first 1x1 runs at full resolution.
    cout = 4 * width
    proj = cin * cout if (stride != 1 or cin != cout) else 0
    return size**2 * cin * width + _out(size, stride) ** 2 * (9 * width**2 + width * cout + proj)


def residual_lab(width: int, size: int, downsample: bool) -> pd.DataFrame:
    """A basic block at ``width``, a bottleneck of ``width`` (4·width out), and a basic block at 4·width.

    ``downsample``: the first block of a stage (stride 2, the input has half the output
    channels, projection shortcut); otherwise a later block (stride 1, identity shortcut).
    The first two sit where ResNet-34 and ResNet-50 put them (He et al. Fig. 5); the third
    has the bottleneck's inputs and outputs, to show what the 1x1 convs save.
    """
    stride = 2 if downsample else 1

    def cin_for(cout: int) -> int:
        return cout // 2 if downsample else cout

    configs = [
        ("BasicBlock (3×3, 3×3)", "basic", width),
        ("Bottleneck (1×1, 3×3, 1×1)", "bottleneck", 4 * width),
        ("BasicBlock at the bottleneck's width", "basic", 4 * width),
    ]
    rows = []
    for label, kind, cout in configs:
        cin = cin_for(cout)
        if kind == "basic":
            s = measure(lambda: blocks.basic_block(cin, cout, stride), cin, size, label)
            pf, mf = basic_block_params(cin, cout, stride), basic_block_macs(cin, cout, stride, size)
        else:
            s = measure(lambda: blocks.bottleneck_block(cin, width, stride), cin, size, label)
            pf, mf = bottleneck_params(cin, width, stride), bottleneck_macs(cin, width, stride, size)
        layers = s.layers.set_index("name")
        shortcut = layers[layers.index.str.contains("downsample")]
        rows.append(_row(label, s, pf, mf, block=kind, in_channels=cin, out_channels=cout, stride=stride,
                         shortcut="projection (1×1 conv + BN)" if len(shortcut) else "identity",
                         shortcut_params=int(shortcut["params"].sum()),
                         out_px=int(layers.loc["block.conv2", "output_shape"][-1]), out_px_formula=_out(size, stride)))
    return pd.DataFrame(rows)


def resnet_blocks(name: str) -> pd.DataFrame:
    """Every residual block of a catalogue ResNet, read from the built model: kind, widths, stride, shortcut."""
    from torchvision.models.resnet import BasicBlock, Bottleneck

    model = registry.get(name).build("meta")
    rows = []
    for path, m in model.named_modules():
        if isinstance(m, (BasicBlock, Bottleneck)):
            rows.append({
                "block": path, "type": type(m).__name__,
                "in_channels": m.conv1.in_channels, "width": m.conv2.out_channels,
                "out_channels": (m.conv3 if isinstance(m, Bottleneck) else m.conv2).out_channels,
                # BasicBlock strides its first 3x3, torchvision's Bottleneck its 3x3 (conv2).
                "stride": max(m.conv1.stride[0], m.conv2.stride[0]),
                "shortcut": "projection" if m.downsample is not None else "identity",
                "params": sum(p.numel() for p in m.parameters()),
            })
    return pd.DataFrame(rows)


def resnet_stages(names: tuple[str, ...] = ("resnet34", "resnet50")) -> pd.DataFrame:
    """Params and MACs per stage (conv1, layer1..4, fc) of catalogue ResNets, from their summaries."""
    frames = []
    for n in names:
        st = summarize(n).stages[["stage", "params", "macs"]].copy()
        st.insert(0, "model", registry.get(n).display)
        frames.append(st)
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------------------
# Lab 4 — plain vs residual: gradient flow at initialisation
# ------------------------------------------------------------------------------------------------

GRAD_BATCH = 8  # enough samples for BN statistics, small enough for a 110-layer net in well under 1 s


@_one_thread()
def gradient_flow(depth: int, batch_norm: bool = True, he_init: bool = True, seed: int = 0,
                  batch: int = GRAD_BATCH) -> pd.DataFrame:
    """Gradient norm of every weight layer of a plain and a residual CIFAR net of ``depth`` layers.

    Both nets get the same seed, so their initial weights are identical; one batch of random
    32x32 images with random labels goes forward, the cross-entropy loss goes back.
    Returns one row per (net, layer): layer 1 is the first conv, layer ``depth`` the FC.
    """
    rows = []
    for residual in (False, True):
        torch.manual_seed(seed)
        net = blocks.CifarNet(depth, residual, batch_norm, he_init).train()
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(batch, 3, 32, 32, generator=gen)
        y = torch.randint(0, 10, (batch,), generator=gen)
        F.cross_entropy(net(x), y).backward()
        weighted = [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        for i, (n, m) in enumerate(weighted, 1):
            rows.append({"net": "residual" if residual else "plain", "layer": i, "name": n,
                         "grad_norm": float(m.weight.grad.norm())})
    return pd.DataFrame(rows)


@_one_thread()
def block_input_gradients(depth: int, zero_residual: bool = True, seed: int = 0) -> pd.DataFrame:
    """Norm of dL/dx at every block's input in the residual CIFAR net.

    With ``zero_residual`` every residual branch starts at F(x) = 0 (its last BN's scale set to
    0, as torchvision's ``zero_init_residual`` does), so each block is x -> relu(x) = x and the
    formula dL/dx_l = dL/dx_L · (1 + dF/dx) says the gradient reaches every block unchanged.
    """
    torch.manual_seed(seed)
    net = blocks.CifarNet(depth, residual=True, batch_norm=True).train()
    if zero_residual:
        for b in net.blocks:
            nn.init.zeros_(b.bn2.weight)
    seen: list[tuple[str, torch.Tensor]] = []

    def keep(name: str):
        def hook(_m, inp):
            inp[0].retain_grad()
            seen.append((name, inp[0]))
        return hook

    hooks = [b.register_forward_pre_hook(keep(f"blocks.{i}")) for i, b in enumerate(net.blocks)]
    try:
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(GRAD_BATCH, 3, 32, 32, generator=gen)
        y = torch.randint(0, 10, (GRAD_BATCH,), generator=gen)
        F.cross_entropy(net(x), y).backward()
    finally:
        for h in hooks:
            h.remove()
    return pd.DataFrame([{"block": n, "stage": int(t.shape[1]), "grad_norm": float(t.grad.norm())} for n, t in seen])


def resnet_shortcuts(name: str) -> dict:
    """How many blocks, identity and projection shortcuts a catalogue ResNet has."""
    b = resnet_blocks(name)
    return {"blocks": len(b), "identity": int((b["shortcut"] == "identity").sum()),
            "projection": int((b["shortcut"] == "projection").sum())}


# ------------------------------------------------------------------------------------------------
# Lab 5 — DenseNet: dense connectivity, bottleneck 4k, transition compression
# ------------------------------------------------------------------------------------------------

def dense_layer_params(c_in: int, k: int, bn_size: int) -> int:
    """BN(c) + 1x1 conv c -> bn_size·k + BN(bn_size·k) + 3x3 conv bn_size·k -> k, no biases."""
    mid = bn_size * k
    return 2 * c_in + c_in * mid + 2 * mid + 9 * mid * k


def dense_layer_macs(c_in: int, k: int, bn_size: int, size: int) -> int:
    mid = bn_size * k
    return size**2 * (c_in * mid + 9 * mid * k)


@dataclass(frozen=True)
class DenseLab:
    layers: pd.DataFrame  # one row per dense layer: measured and formula input channels, params, MACs
    totals: pd.DataFrame  # dense block, transition, and a ResNet stage of similar output width


def dense_lab(k0: int, growth_rate: int, num_layers: int, size: int, bn_size: int = 4,
              theta: float = 0.5) -> DenseLab:
    """A torchvision ``_DenseBlock`` with growth rate k, its ``_Transition`` and a BasicBlock stage."""
    from torchvision.models.densenet import _DenseBlock, _Transition

    k, L = growth_rate, num_layers
    with torch.device("meta"):
        block = _DenseBlock(L, k0, bn_size, k, drop_rate=0.0)
    s = summarize_module(blocks.FromImage(block, k0), size, "dense block")
    per_layer = s.layers.groupby(s.layers["name"].map(lambda n: n.split(".")[1]), sort=False)[["params", "macs"]].sum()
    rows = []
    for i, (name, layer) in enumerate(block.items(), 1):
        c = k0 + k * (i - 1)
        rows.append({
            "layer": i, "in_channels": layer.norm1.num_features, "in_channels_formula": c,
            "conv1_in_channels": layer.conv1.in_channels,
            "bottleneck_channels": layer.conv1.out_channels, "bottleneck_formula": bn_size * k,
            "new_channels": layer.conv2.out_channels,
            "params": int(per_layer.loc[name, "params"]), "params_formula": dense_layer_params(c, k, bn_size),
            "macs": int(per_layer.loc[name, "macs"]), "macs_formula": dense_layer_macs(c, k, bn_size, size),
        })
    layers = pd.DataFrame(rows)

    m = k0 + L * k
    m_out = max(1, int(math.floor(theta * m)))
    trans = measure(lambda: _Transition(m, m_out), m, size, "transition")
    res_blocks = max(1, math.ceil(L / 2))  # as many 3x3 convs as the dense block has
    res = measure(lambda: blocks.basic_stage(k0, m, res_blocks), k0, size, "resnet stage")
    res_params = basic_block_params(k0, m, 1) + (res_blocks - 1) * basic_block_params(m, m, 1)
    res_macs = basic_block_macs(k0, m, 1, size) + (res_blocks - 1) * basic_block_macs(m, m, 1, size)
    totals = pd.DataFrame([
        _row(f"dense block ({L} layers, k={k})", s, int(layers["params_formula"].sum()),
             int(layers["macs_formula"].sum()), in_channels=k0, out_channels=m, out_px=size),
        _row(f"transition (θ={theta:g})", trans, 2 * m + m * m_out, size**2 * m * m_out,
             in_channels=m, out_channels=m_out, out_px=int(trans.layers.iloc[-1]["output_shape"][-1])),
        _row(f"ResNet stage ({res_blocks} BasicBlocks)", res, res_params, res_macs,
             in_channels=k0, out_channels=m, out_px=size),
    ])
    return DenseLab(layers, totals)


def densenet_blocks(name: str = "densenet121") -> pd.DataFrame:
    """Each dense block of a catalogue DenseNet, read from the built model."""
    from torchvision.models.densenet import _DenseBlock, _Transition

    model = registry.get(name).build("meta")
    children = list(model.features.named_children())
    rows = []
    for i, (n, m) in enumerate(children):
        if not isinstance(m, _DenseBlock):
            continue
        first = next(iter(m.values()))
        k = first.conv2.out_channels
        k0 = first.norm1.num_features
        out = k0 + len(m) * k
        nxt = children[i + 1][1] if i + 1 < len(children) else None
        trans_out = nxt.conv.out_channels if isinstance(nxt, _Transition) else None
        rows.append({"block": f"features.{n}", "layers": len(m), "k0": k0, "growth_rate": k,
                     "bottleneck": first.conv1.out_channels, "out_channels": out,
                     "transition_out": trans_out, "theta": (trans_out / out) if trans_out else None})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Lab 6 — MobileNet: depthwise-separable convolution, width and resolution multipliers
# ------------------------------------------------------------------------------------------------

def separable_lab(in_channels: int, out_channels: int, kernel: int, size: int) -> pd.DataFrame:
    """Standard kxk conv (M -> N) vs depthwise kxk + pointwise 1x1 (Howard et al. 2017, section 3.1)."""
    M, N, k = in_channels, out_channels, kernel
    std = measure(lambda: blocks.standard_conv(M, N, k), M, size, "standard")
    sep = measure(lambda: blocks.SeparableConv(M, N, k), M, size, "separable")
    return pd.DataFrame([
        _row(f"standard {k}×{k}", std, k * k * M * N, k * k * M * N * size**2),
        _row(f"depthwise {k}×{k} + pointwise 1×1", sep, k * k * M + M * N, (k * k * M + M * N) * size**2),
    ])


def separable_ratio(out_channels: int, kernel: int) -> float:
    """Cost of depthwise-separable over standard convolution: 1/N + 1/k² (paper's eq. 5)."""
    return 1 / out_channels + 1 / kernel**2


def mobilenet_v1_formula(alpha: float, input_px: int, num_classes: int = 1000) -> tuple[int, int]:
    """Exact params and MACs of MobileNet V1 from its Table 1, layer by layer.

    Stem: 3x3 conv stride 2 (3 -> 32α) + BN. Each block: 3x3 depthwise (9·c_in) + BN, then
    1x1 pointwise (c_in·c_out) + BN, at the block's output side. Then the FC layer.
    """
    from zoo.models.mobilenet_v1 import V1_BLOCKS, _width

    c = _width(32, alpha)
    side = _out(input_px, 2)
    params = 27 * c + 2 * c
    macs = side**2 * 27 * c
    for cout, stride in V1_BLOCKS:
        cout = _width(cout, alpha)
        side = _out(side, stride)
        params += 9 * c + 2 * c + c * cout + 2 * cout
        macs += side**2 * (9 * c + c * cout)
        c = cout
    params += c * num_classes + num_classes
    macs += c * num_classes
    return params, macs


# Inputs of 224ρ px in steps of 32, as in the paper's Table 7: each stride-2 layer then halves
# exactly, which is where the α²ρ² rule holds best.
MOBILENET_RHOS = tuple(px / 224 for px in range(96, 225, 32))


@lru_cache(maxsize=64)
def mobilenet_v1_summary(alpha: float, input_px: int) -> ModelSummary:
    from zoo.models.mobilenet_v1 import MobileNetV1

    with torch.device("meta"):
        model = MobileNetV1(alpha=alpha)
    return summarize_module(model, input_px, f"MobileNet V1 α={alpha:g}")


def mobilenet_v1_lab(alphas: Iterable[float], rhos: Iterable[float]) -> pd.DataFrame:
    """MobileNet V1 over width multipliers α and resolution multipliers ρ (input 224·ρ).

    ``macs_ratio``/``params_ratio`` are relative to α = 1, ρ = 1; the paper's rule of thumb
    predicts α²ρ² for MACs and α² for the parameters of the convolutional body.
    """
    base = mobilenet_v1_summary(1.0, 224)
    base_fc = int(base.layers.loc[base.layers["type"] == "Linear", "params"].sum())
    rows = []
    for a in alphas:
        for r in rhos:
            px = int(round(224 * r))
            s = mobilenet_v1_summary(float(a), px)
            p_f, m_f = mobilenet_v1_formula(a, px)
            fc = int(s.layers.loc[s.layers["type"] == "Linear", "params"].sum())
            rows.append({"alpha": a, "rho": r, "input_px": px, "params": s.params, "params_formula": p_f,
                         "macs": s.macs, "macs_formula": m_f, "macs_ratio": s.macs / base.macs,
                         "macs_ratio_rule": a**2 * r**2, "body_params_ratio": (s.params - fc) / (base.params - base_fc),
                         "body_params_ratio_rule": a**2, "fc_params": fc})
    return pd.DataFrame(rows)


def mobilenet_v1_cost_split() -> pd.DataFrame:
    """Share of MobileNet V1's params and MACs by layer kind (the paper's Table 2), from its layer table."""
    layers = summarize("mobilenet_v1").layers

    def kind(r) -> str:
        if r.type == "Linear":
            return "fully connected"
        if r.type != "Conv2d":
            return "other (BN)"
        if r.groups and r.groups > 1:
            return "depthwise 3×3"
        return "pointwise 1×1" if r.kernel == (1, 1) else "standard 3×3 (stem)"

    g = layers.assign(kind=[kind(r) for r in layers.itertuples()]).groupby("kind")[["params", "macs"]].sum()
    g["params_pct"] = 100 * g["params"] / g["params"].sum()
    g["macs_pct"] = 100 * g["macs"] / g["macs"].sum()
    return g.reset_index().sort_values("macs", ascending=False, ignore_index=True)


def zoo_mobilenets() -> pd.DataFrame:
    """Every MobileNet in the catalogue: params and MACs (measured) and acc@1 (weights metadata)."""
    rows = []
    for e in registry.by_family("mobilenet"):
        s = summarize(e.name)
        rows.append({"model": e.display, "name": e.name, "params": s.params, "macs": s.macs, "acc1": e.acc1,
                     "acc1_source": "torchvision weights metadata" if e.acc1 is not None
                     else "no pretrained weights in this app"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Lab 7 — EfficientNet: compound scaling
# ------------------------------------------------------------------------------------------------

# Tan & Le 2019, eq. 3: depth d = α^φ, width w = β^φ, resolution r = γ^φ, found by grid search
# on B0 under α·β²·γ² ≈ 2, so that FLOPs grow by about 2^φ.
COMPOUND_ALPHA, COMPOUND_BETA, COMPOUND_GAMMA = 1.2, 1.1, 1.15
B0_INPUT_PX = 224


def compound_multipliers(phi: float) -> dict[str, float]:
    """Depth, width and resolution multipliers for φ, and the FLOP multiplier d·w²·r² they predict."""
    d, w, r = COMPOUND_ALPHA**phi, COMPOUND_BETA**phi, COMPOUND_GAMMA**phi
    return {"phi": phi, "depth": d, "width": w, "resolution": r, "flops": d * w * w * r * r,
            "flops_base": COMPOUND_ALPHA * COMPOUND_BETA**2 * COMPOUND_GAMMA**2}


@lru_cache(maxsize=64)
def scaled_b0(depth_mult: float, width_mult: float, input_px: int) -> ModelSummary:
    """torchvision's EfficientNet-B0 configuration with its own width/depth multipliers, counted."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=width_mult, depth_mult=depth_mult)
    with torch.device("meta"):
        model = EfficientNet(setting, dropout=0.2, last_channel=last)
    return summarize_module(model, input_px, f"B0 d={depth_mult:.3g} w={width_mult:.3g} r={input_px}")


def _mbconv_count(model: nn.Module) -> int:
    from torchvision.models.efficientnet import MBConv

    return sum(isinstance(m, MBConv) for m in model.modules())


def single_dimension_scaling(depth: float, width: float, resolution: float) -> pd.DataFrame:
    """B0 scaled in one dimension at a time, and in all three: predicted vs measured MAC multipliers."""
    base = scaled_b0(1.0, 1.0, B0_INPUT_PX)
    px = int(round(B0_INPUT_PX * resolution))
    cases = [("depth only", depth, 1.0, B0_INPUT_PX, depth, "d"),
             ("width only", 1.0, width, B0_INPUT_PX, width**2, "w²"),
             ("resolution only", 1.0, 1.0, px, resolution**2, "r²"),
             ("all three", depth, width, px, depth * width**2 * resolution**2, "d·w²·r²")]
    rows = []
    for label, d, w, p, predicted, rule in cases:
        s = scaled_b0(float(d), float(w), p)
        rows.append({"scaling": label, "depth_mult": d, "width_mult": w, "input_px": p, "rule": rule,
                     "macs_ratio_predicted": predicted, "macs_ratio": s.macs / base.macs,
                     "params_ratio": s.params / base.params, "macs": s.macs, "params": s.params})
    return pd.DataFrame(rows)


def efficientnet_family() -> pd.DataFrame:
    """B0..B7 as torchvision builds them: depth, width and resolution read off the models, vs φ.

    ``depth`` counts MBConv blocks, ``width`` the channels of the last stage and of the head,
    ``input_px`` the weights' evaluation crop. ``phi_*`` is the φ each ratio to B0 implies.
    """
    rows = []
    for i in range(8):
        e = registry.get(f"efficientnet_b{i}")
        model = e.build("meta")
        s = summarize(e.name)
        rows.append({"model": e.display, "name": e.name, "blocks": _mbconv_count(model),
                     "last_stage_channels": model.features[-2][-1].block[-1][0].out_channels,
                     "head_channels": model.features[-1][0].out_channels, "input_px": e.input_size,
                     "params": s.params, "macs": s.macs, "acc1": e.acc1})
    df = pd.DataFrame(rows)
    b0 = df.iloc[0]
    df["depth_ratio"] = df["blocks"] / b0["blocks"]
    df["width_ratio"] = df["head_channels"] / b0["head_channels"]
    df["resolution_ratio"] = df["input_px"] / b0["input_px"]
    df["macs_ratio"] = df["macs"] / b0["macs"]
    df["phi_depth"] = np.log(df["depth_ratio"]) / math.log(COMPOUND_ALPHA)
    df["phi_width"] = np.log(df["width_ratio"]) / math.log(COMPOUND_BETA)
    df["phi_resolution"] = np.log(df["resolution_ratio"]) / math.log(COMPOUND_GAMMA)
    return df


# ------------------------------------------------------------------------------------------------
# Demo — LRN vs BatchNorm on a real activation tensor
# ------------------------------------------------------------------------------------------------

# AlexNet (Krizhevsky et al. 2012, section 3.3): b = a / (k + α Σ a²)^β over n = 5 neighbouring
# channels, k = 2, α = 1e-4, β = 0.75. PyTorch's LocalResponseNorm divides its alpha by n,
# so the paper's α corresponds to alpha = n · α there.
LRN_N, LRN_K, LRN_ALPHA, LRN_BETA = 5, 2.0, 1e-4, 0.75


# Factors to multiply the activation by: AlexNet fed raw 0-255 pixels (minus the mean), so its
# activations were about two orders of magnitude larger than those of a [-1, 1] input.
LRN_SCALES = (1, 3, 10, 30, 100, 300, 1000)


def alexnet_lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=LRN_N, alpha=LRN_N * LRN_ALPHA, beta=LRN_BETA, k=LRN_K)


def lrn_by_hand(a: torch.Tensor, n: int = LRN_N, k: float = LRN_K, alpha: float = LRN_ALPHA,
                beta: float = LRN_BETA) -> torch.Tensor:
    """The paper's formula, written out: sum of squares over channels max(0, i-n/2) .. min(C-1, i+n/2)."""
    C = a.shape[1]
    out = torch.empty_like(a)
    for i in range(C):
        lo, hi = max(0, i - n // 2), min(C - 1, i + n // 2)
        out[:, i] = a[:, i] / (k + alpha * (a[:, lo:hi + 1] ** 2).sum(1)) ** beta
    return out


def batchnorm_by_hand(a: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """BN in training mode without affine: each channel standardised over batch and space."""
    mean = a.mean((0, 2, 3), keepdim=True)
    var = a.var((0, 2, 3), unbiased=False, keepdim=True)
    return (a - mean) / torch.sqrt(var + eps)


SAMPLE_FOR_NORM = "chelsea.png"  # a real photo, so the stem's trained filters see real edges


@lru_cache(maxsize=2)
@_one_thread()
def stem_activation(sample: str = SAMPLE_FOR_NORM) -> torch.Tensor:
    """EfficientNet-Lite0's trained stem conv (3 -> 32, 3x3, stride 2) applied to a sample photo.

    The raw conv output, before the stem's own BN: 1 x 32 x 112 x 112. The Lite0 weights ship
    with the app, so this works offline.
    """
    from zoo.inference.images import load_sample
    from zoo.inference.models import load_model
    from zoo.inference.preprocess import build_transform

    entry = registry.get("efficientnet_lite0")
    x = build_transform(entry)(load_sample(sample))[None]
    model = load_model(entry.name)
    with torch.no_grad():
        return model._conv_stem(x)


@dataclass(frozen=True)
class NormDemo:
    channels: pd.DataFrame  # per channel: mean and std before, after LRN, after BN
    before: np.ndarray  # C x H x W, the activation (times the scale)
    after_lrn: np.ndarray
    after_bn: np.ndarray
    lrn_divisor: np.ndarray  # C x H x W: (k + α Σ a²)^β, what LRN divides each activation by
    scale: float


def lrn_vs_batchnorm(scale: float = 1.0) -> NormDemo:
    """What LRN and BN each do to the same activation tensor, optionally multiplied by ``scale``.

    BN is scale-invariant (it standardises each channel); LRN is not: with k = 2 it divides small
    activations by about k^β ≈ 1.68 everywhere, and only bites where Σ a² over neighbouring
    channels is large compared with k / α.
    """
    a = stem_activation() * scale
    with torch.no_grad():
        lrn = alexnet_lrn()(a)
        bn = nn.BatchNorm2d(a.shape[1], affine=False).train()(a)
    divisor = (LRN_K + LRN_ALPHA * neighbour_sq(a)) ** LRN_BETA
    rows = []
    for c in range(a.shape[1]):
        rows.append({"channel": c,
                     "mean_before": float(a[0, c].mean()), "std_before": float(a[0, c].std(unbiased=False)),
                     "mean_lrn": float(lrn[0, c].mean()), "std_lrn": float(lrn[0, c].std(unbiased=False)),
                     "mean_bn": float(bn[0, c].mean()), "std_bn": float(bn[0, c].std(unbiased=False))})
    return NormDemo(pd.DataFrame(rows), a[0].numpy(), lrn[0].numpy(), bn[0].numpy(), divisor[0].numpy(), scale)


def neighbour_sq(a: torch.Tensor, n: int = LRN_N) -> torch.Tensor:
    """Σ a² over the n channels centred on each channel (zero-padded at the ends), as LRN sums."""
    sq = F.pad((a**2).unsqueeze(1), (0, 0, 0, 0, n // 2, (n - 1) // 2))
    return F.avg_pool3d(sq, (n, 1, 1), stride=1).squeeze(1) * n


# ------------------------------------------------------------------------------------------------
# Demo — ReLU vs sigmoid / tanh: derivatives and their product over depth
# ------------------------------------------------------------------------------------------------

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}

# Where each derivative is largest: σ'(0) = 1/4, tanh'(0) = 1, ReLU'(z) = 1 for any z > 0.
BEST_POINT = {"sigmoid": 0.0, "tanh": 0.0, "relu": 1.0}


def derivative_formula(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - torch.tanh(z) ** 2
    return (z > 0).to(z.dtype)


def activation_curves(lo: float = -6.0, hi: float = 6.0, points: int = 241) -> pd.DataFrame:
    """Each activation and its derivative on a grid, the derivative measured with autograd."""
    rows = []
    for name, f in ACTIVATIONS.items():
        z = torch.linspace(lo, hi, points, dtype=torch.float64, requires_grad=True)
        y = f(z)
        (grad,) = torch.autograd.grad(y.sum(), z)
        rows.append(pd.DataFrame({"activation": name, "z": z.detach().numpy(), "value": y.detach().numpy(),
                                  "derivative": grad.numpy(),
                                  "derivative_formula": derivative_formula(name, z.detach()).numpy()}))
    return pd.concat(rows, ignore_index=True)


def derivative_chain(depth: int) -> pd.DataFrame:
    """d x_n / d x_0 through n layers x_{i+1} = f(x_i + b), each held at its best point.

    b is chosen so every layer's pre-activation is the point where f' is largest, so the
    product is f'_max^n: 0.25^n for sigmoid — the most a sigmoid chain can pass back.
    """
    rows = []
    for name, f in ACTIVATIONS.items():
        z_best = torch.tensor(BEST_POINT[name], dtype=torch.float64)
        b = z_best - f(z_best)  # x_i = f(z_best) for every i, so x_i + b = z_best
        x0 = f(z_best).clone().requires_grad_(True)
        x = x0
        for n in range(1, depth + 1):
            x = f(x + b)
            (g,) = torch.autograd.grad(x, x0, retain_graph=True)
            rows.append({"activation": name, "layers": n, "gradient": float(g),
                         "gradient_formula": float(derivative_formula(name, z_best)) ** n})
    return pd.DataFrame(rows)


@_one_thread()
def mlp_gradient_flow(depth: int, width: int = 64, batch: int = 64, seed: int = 0) -> pd.DataFrame:
    """Weight-gradient norm per layer of a deep MLP with each activation, at initialisation.

    Each gets the initialisation meant for it: Xavier (Glorot) for sigmoid and tanh, He for ReLU.
    """
    rows = []
    for name, f in ACTIVATIONS.items():
        torch.manual_seed(seed)
        layers = [nn.Linear(width, width) for _ in range(depth)]
        for lin in layers:
            if name == "relu":
                nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(lin.weight, gain=nn.init.calculate_gain(name))
            nn.init.zeros_(lin.bias)
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(batch, width, generator=gen)
        for lin in layers:
            x = f(lin(x))
        x.pow(2).mean().backward()
        for i, lin in enumerate(layers, 1):
            rows.append({"activation": name, "layer": i, "grad_norm": float(lin.weight.grad.norm())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Demo — weight decay
# ------------------------------------------------------------------------------------------------

# As the papers report them (section numbers in ``source``). Weight decay is the coupled L2 form.
PAPER_OPTIMIZERS = pd.DataFrame([
    {"paper": "AlexNet (2012)", "optimizer": "SGD", "momentum": 0.9, "weight_decay": 5e-4, "batch": 128,
     "learning_rate": "0.01, ÷10 when validation error plateaus", "source": "section 5"},
    {"paper": "VGG (2014)", "optimizer": "SGD", "momentum": 0.9, "weight_decay": 5e-4, "batch": 256,
     "learning_rate": "0.01, ÷10 when validation accuracy plateaus", "source": "section 3.1"},
    {"paper": "GoogLeNet (2014)", "optimizer": "asynchronous SGD", "momentum": 0.9, "weight_decay": None,
     "batch": None, "learning_rate": "−4% every 8 epochs (weight decay not stated)", "source": "section 6"},
    {"paper": "ResNet (2015)", "optimizer": "SGD", "momentum": 0.9, "weight_decay": 1e-4, "batch": 256,
     "learning_rate": "0.1, ÷10 when error plateaus", "source": "section 3.4"},
    {"paper": "DenseNet (2017)", "optimizer": "SGD, Nesterov", "momentum": 0.9, "weight_decay": 1e-4, "batch": 256,
     "learning_rate": "0.1, ÷10 at epochs 30 and 60", "source": "section 4.2"},
])


# The demo's choices: λ from none through the papers' 1e-4 / 5e-4 to values strong enough to
# see within a few hundred steps; learning rates below the toy problem's stability limit.
DECAY_LAMBDAS = (0.0, 1e-4, 5e-4, 1e-3, 1e-2, 3e-2, 0.1)
DECAY_LRS = (0.001, 0.003, 0.01, 0.03, 0.05, 0.1)
DECAY_MOMENTA = (0.0, 0.9)


def sgd_decay_only(steps: int, lr: float, weight_decay: float, momentum: float = 0.0) -> pd.DataFrame:
    """||w|| under SGD when the loss gradient is zero: only weight decay acts.

    Without momentum each step is w <- w - lr·λ·w, so ||w_t|| = (1 - lr·λ)^t ||w_0||.
    """
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(100))
    opt = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=weight_decay)
    w0 = w.norm().item()
    rows = [{"step": 0, "w_norm": w0, "w_norm_formula": w0}]
    for t in range(1, steps + 1):
        opt.zero_grad()
        (w * 0).sum().backward()  # a loss with zero gradient
        opt.step()
        rows.append({"step": t, "w_norm": w.norm().item(),
                     "w_norm_formula": w0 * (1 - lr * weight_decay) ** t if momentum == 0 else float("nan")})
    return pd.DataFrame(rows)


@_one_thread()
def weight_decay_demo(steps: int = 200, lr: float = 0.01, weight_decay: float = 5e-4, momentum: float = 0.9,
                      seed: int = 0) -> pd.DataFrame:
    """Fit an under-determined linear regression (20 samples, 50 weights) with and without decay.

    Many weight vectors fit the data exactly; plain SGD keeps whatever part of the start it
    never touches, decay shrinks it, so ||w|| ends smaller at almost the same training loss.
    """
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(20, 50, generator=gen)
    y = X @ torch.randn(50, generator=gen)
    w_init = 3 * torch.randn(50, generator=gen)
    rows = []
    for wd in (0.0, weight_decay):
        w = nn.Parameter(w_init.clone())
        opt = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=wd)
        for t in range(steps + 1):
            loss = 0.5 * ((X @ w - y) ** 2).mean()
            rows.append({"run": f"weight decay {wd:g}" if wd else "no weight decay", "weight_decay": wd,
                         "step": t, "loss": loss.item(), "w_norm": w.norm().item()})
            if t < steps:
                opt.zero_grad()
                loss.backward()
                opt.step()
    return pd.DataFrame(rows)


def decay_equivalences(lr: float = 0.1, weight_decay: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """One optimiser step, compared with what each kind of weight decay claims to be.

    - SGD(weight_decay=λ) == SGD on L + (λ/2)||w||² (the L2 penalty adds λw to the gradient).
    - Adam(weight_decay=λ) == Adam on L + (λ/2)||w||² (coupled: λw is then rescaled by Adam).
    - AdamW(weight_decay=λ) == Adam step on L, plus w <- w - lr·λ·w (decoupled, Loshchilov & Hutter).
    - Adam(weight_decay=λ) vs AdamW: not the same update.
    """
    gen = torch.Generator().manual_seed(seed)
    X, y, w0 = torch.randn(8, 5, generator=gen), torch.randn(8, generator=gen), torch.randn(5, generator=gen)

    def step(opt_cls, wd: float, penalty: float, decoupled_shrink: bool = False, **kw) -> torch.Tensor:
        w = nn.Parameter(w0.clone())
        opt = opt_cls([w], lr=lr, weight_decay=wd, **kw)
        loss = ((X @ w - y) ** 2).mean() + penalty / 2 * (w**2).sum()
        loss.backward()
        before = w.detach().clone()
        opt.step()
        out = w.detach().clone()
        if decoupled_shrink:
            out -= lr * weight_decay * before
        return out

    lam = weight_decay
    cases = [
        ("SGD(weight_decay=λ)", "SGD on L + (λ/2)‖w‖²",
         step(torch.optim.SGD, lam, 0.0), step(torch.optim.SGD, 0.0, lam)),
        ("Adam(weight_decay=λ)", "Adam on L + (λ/2)‖w‖²",
         step(torch.optim.Adam, lam, 0.0), step(torch.optim.Adam, 0.0, lam)),
        ("AdamW(weight_decay=λ)", "Adam on L, then w ← w − lr·λ·w",
         step(torch.optim.AdamW, lam, 0.0), step(torch.optim.Adam, 0.0, 0.0, decoupled_shrink=True)),
        ("Adam(weight_decay=λ)", "AdamW(weight_decay=λ)",
         step(torch.optim.Adam, lam, 0.0), step(torch.optim.AdamW, lam, 0.0)),
    ]
    return pd.DataFrame([{"update": a, "compared_with": b, "max_abs_difference": float((u - v).abs().max())}
                         for a, b, u, v in cases])
