"""Lab: basic vs bottleneck residual blocks, identity vs projection shortcut (He et al. 2015, section 3-4)."""
from __future__ import annotations

import pandas as pd
from torchvision.models.resnet import BasicBlock, Bottleneck

from zoo import blocks, registry
from zoo.analysis import summarize
from zoo.i18n import N_, _
from zoo.labs.common import formula_row, measure, out_side


def basic_block_params(cin: int, cout: int, stride: int) -> int:
    """Two 3x3 convs and two BNs, plus the option-B projection (1x1 conv + BN) where the shape changes."""
    proj = cin * cout + 2 * cout if (stride != 1 or cin != cout) else 0
    return 9 * cin * cout + 9 * cout * cout + 2 * 2 * cout + proj


def basic_block_macs(cin: int, cout: int, stride: int, size: int) -> int:
    proj = cin * cout if (stride != 1 or cin != cout) else 0
    return out_side(size, stride) ** 2 * (9 * cin * cout + 9 * cout * cout + proj)


def bottleneck_params(cin: int, width: int, stride: int) -> int:
    """1x1 (cin -> w), 3x3 (w -> w), 1x1 (w -> 4w), three BNs, and the projection where needed (Fig. 5)."""
    cout = 4 * width
    proj = cin * cout + 2 * cout if (stride != 1 or cin != cout) else 0
    return cin * width + 9 * width**2 + width * cout + 2 * (width + width + cout) + proj


def bottleneck_macs(cin: int, width: int, stride: int, size: int) -> int:
    # torchvision (ResNet v1.5) strides the 3x3, so the first 1x1 runs at full resolution.
    cout = 4 * width
    proj = cin * cout if (stride != 1 or cin != cout) else 0
    return size**2 * cin * width + out_side(size, stride) ** 2 * (9 * width**2 + width * cout + proj)


def residual_lab(width: int, size: int, downsample: bool) -> pd.DataFrame:
    """A basic block at ``width``, a bottleneck of ``width`` (4·width out), and a basic block at 4·width.

    ``downsample``: the first block of a stage (stride 2, the input has half the output
    channels, projection shortcut); otherwise a later block (stride 1, identity shortcut).
    The first two sit where ResNet-34 and ResNet-50 put them (He et al. Fig. 5); the third
    has the bottleneck's inputs and outputs, to show what the 1x1 convs save.
    """
    stride = 2 if downsample else 1
    configs = [
        (N_("BasicBlock (3×3, 3×3)"), "basic", width),
        (N_("Bottleneck (1×1, 3×3, 1×1)"), "bottleneck", 4 * width),
        (N_("BasicBlock at the bottleneck's width"), "basic", 4 * width),
    ]
    rows = []
    for label, kind, cout in configs:
        label = _(label)
        cin = cout // 2 if downsample else cout
        if kind == "basic":
            s = measure(lambda: blocks.basic_block(cin, cout, stride), cin, size, label)
            pf, mf = basic_block_params(cin, cout, stride), basic_block_macs(cin, cout, stride, size)
        else:
            s = measure(lambda: blocks.bottleneck_block(cin, width, stride), cin, size, label)
            pf, mf = bottleneck_params(cin, width, stride), bottleneck_macs(cin, width, stride, size)
        layers = s.layers.set_index("name")
        shortcut = layers[layers.index.str.contains("downsample")]
        rows.append(formula_row(
            label, s, pf, mf, block=kind, in_channels=cin, out_channels=cout, stride=stride,
            shortcut=_("projection (1×1 conv + BN)") if len(shortcut) else _("identity"),
            shortcut_params=int(shortcut["params"].sum()),
            out_px=int(layers.loc["block.conv2", "output_shape"][-1]), out_px_formula=out_side(size, stride)))
    return pd.DataFrame(rows)


def resnet_blocks(name: str) -> pd.DataFrame:
    """Every residual block of a catalogue ResNet, read from the built model: kind, widths, stride, shortcut."""
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


def matching_block(name: str, width: int, downsample: bool) -> dict:
    """The block of a catalogue ResNet that has the lab's settings, else the nearest in width with the same shortcut.

    The lab's first block of a stage is stride 2 with a projection from half the output channels;
    a later block is stride 1 with an identity shortcut. ``exact`` says whether the width matched too.
    """
    b = resnet_blocks(name)
    same = b[(b["stride"] == (2 if downsample else 1)) & (b["shortcut"] == ("projection" if downsample else "identity"))
             & (b["in_channels"] * (2 if downsample else 1) == b["out_channels"])]
    exact = same[same["width"] == width]
    pick = exact if len(exact) else same.iloc[(same["width"] - width).abs().argsort(kind="stable")]
    return {**pick.iloc[0].to_dict(), "exact": bool(len(exact))}


def resnet_stages(names: tuple[str, ...] = ("resnet34", "resnet50")) -> pd.DataFrame:
    """Params and MACs per stage (conv1, layer1..4, fc) of catalogue ResNets, from their summaries."""
    frames = []
    for n in names:
        stages = summarize(n).stages[["stage", "params", "macs"]].copy()
        stages.insert(0, "model", registry.get(n).display)
        frames.append(stages)
    return pd.concat(frames, ignore_index=True)

