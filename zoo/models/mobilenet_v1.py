"""MobileNet V1 (Howard et al., 2017, arXiv:1704.04861), architecture only.

torchvision has no MobileNet V1; this follows Table 1 of the paper: a full 3x3 conv,
then 13 depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, each with BN and
ReLU), global average pooling and one fully connected layer. ``alpha`` is the width
multiplier; the resolution multiplier rho is simply a smaller input size.
"""
from __future__ import annotations

from torch import nn

# (out_channels, stride) of each depthwise-separable block, Table 1 of the paper.
V1_BLOCKS = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
]


def _width(channels: int, alpha: float) -> int:
    # The paper scales every layer's width by alpha; round to an int, never below 1.
    return max(1, int(round(channels * alpha)))


def conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DepthwiseSeparable(nn.Sequential):
    """3x3 depthwise conv (one filter per channel) then a 1x1 pointwise conv that mixes channels."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.depthwise = conv_bn_relu(cin, cin, 3, stride, groups=cin)
        self.pointwise = conv_bn_relu(cin, cout, 1, 1)


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha
        cin = _width(32, alpha)
        layers: list[nn.Module] = [conv_bn_relu(3, cin, 3, 2)]
        for cout, stride in V1_BLOCKS:
            cout = _width(cout, alpha)
            layers.append(DepthwiseSeparable(cin, cout, stride))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.avgpool(self.features(x)).flatten(1)
        return self.classifier(x)
