"""The small modules the building-block labs compare, as real ``nn.Module``s.

Each one is the textbook form of a design choice from the landmark papers, built so
that ``zoo.analysis.summarize_module`` can count it like any catalogue model. Where
torchvision already has the block (ResNet's ``BasicBlock``/``Bottleneck``, DenseNet's dense
block inside the public ``DenseNet`` class), the labs use torchvision's own and this file only
adds the glue. Toy networks that actually run (the CIFAR nets) draw their weights from a
``zoo.concurrency.generator``, never from torch's global RNG.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from zoo.concurrency import generator


class FromImage(nn.Module):
    """Feeds ``block`` with ``in_channels`` channels made from the first channel of a 3-channel input.

    ``summarize_module`` probes every model with a 1x3xHxW image; a block that expects 512
    channels gets them here without a single parameter or multiply-add of its own.
    """

    def __init__(self, block: nn.Module, in_channels: int):
        super().__init__()
        self.block = block
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x[:, :1].expand(-1, self.in_channels, -1, -1))


def conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = True) -> nn.Conv2d:
    """A kxk convolution with 'same' padding (k // 2), so stride 1 keeps the spatial size."""
    return nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=bias)


# --- VGG: a stack of small kernels vs one large kernel ----------------------------------------

class KernelStack(nn.Sequential):
    """``n`` kxk convolutions, each followed by a ReLU (VGG's conv3-C layers for k=3)."""

    def __init__(self, cin: int, cout: int, kernel: int, n: int, bias: bool = True):
        super().__init__()
        for i in range(n):
            self.add_module(f"conv{i + 1}", conv(cin if i == 0 else cout, cout, kernel, bias=bias))
            self.add_module(f"relu{i + 1}", nn.ReLU())


# --- GoogLeNet: the Inception module, naive and with 1x1 reductions --------------------------

def _conv_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    # No bias: the GoogLeNet paper's Table 1 counts weights only, and torchvision's BasicConv2d
    # (conv + BN) has none either.
    return nn.Sequential(conv(cin, cout, kernel, bias=False), nn.ReLU())


class NaiveInception(nn.Module):
    """Figure 2(a) of Szegedy et al. 2014: 1x1, 3x3, 5x5 convs and 3x3 max pooling side by side.

    The pooling branch passes all ``cin`` channels through, so the output only ever grows.
    """

    def __init__(self, cin: int, c1: int, c3: int, c5: int, k5: int = 5):
        super().__init__()
        self.branch1 = _conv_relu(cin, c1, 1)
        self.branch2 = _conv_relu(cin, c3, 3)
        self.branch3 = _conv_relu(cin, c5, k5)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionModule(nn.Module):
    """Figure 2(b): 1x1 convs reduce the channels in front of the 3x3 and 5x5, and after the pool."""

    def __init__(self, cin: int, c1: int, r3: int, c3: int, r5: int, c5: int, pool_proj: int, k5: int = 5):
        super().__init__()
        self.branch1 = _conv_relu(cin, c1, 1)
        self.branch2 = nn.Sequential(_conv_relu(cin, r3, 1), _conv_relu(r3, c3, 3))
        self.branch3 = nn.Sequential(_conv_relu(cin, r5, 1), _conv_relu(r5, c5, k5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv_relu(cin, pool_proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class ReducedConv(nn.Sequential):
    """A 1x1 conv (cin -> mid) and ReLU in front of a kxk conv (mid -> cout): the Inception reduction."""

    def __init__(self, cin: int, mid: int, cout: int, kernel: int):
        super().__init__(_conv_relu(cin, mid, 1), _conv_relu(mid, cout, kernel))


def plain_conv(cin: int, cout: int, kernel: int) -> nn.Sequential:
    """The same kxk conv applied to all ``cin`` channels directly (no reduction)."""
    return _conv_relu(cin, cout, kernel)


# --- ResNet: torchvision's own blocks with the shortcut the real networks use ------------------

def _projection(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    # Option B of He et al.: a 1x1 conv (stride s) + BN wherever the shape changes, else identity.
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def basic_block(cin: int, cout: int, stride: int = 1) -> BasicBlock:
    """torchvision's BasicBlock (two 3x3 convs), with a projection shortcut where shapes differ."""
    return BasicBlock(cin, cout, stride, downsample=_projection(cin, cout, stride))


def bottleneck_block(cin: int, width: int, stride: int = 1) -> Bottleneck:
    """torchvision's Bottleneck: 1x1 (cin -> width), 3x3 (stride here, as in torchvision), 1x1 (-> 4 width)."""
    return Bottleneck(cin, width, stride, downsample=_projection(cin, width * Bottleneck.expansion, stride))


def basic_stage(cin: int, cout: int, blocks: int, stride: int = 1) -> nn.Sequential:
    """A ResNet stage of BasicBlocks: the first changes shape, the rest keep it."""
    return nn.Sequential(*[basic_block(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(blocks)])


# --- Plain vs residual nets for CIFAR (He et al. 2015, section 4.2) ----------------------------

class CifarBlock(nn.Module):
    """Two 3x3 convs; with ``residual`` the input is added back before the last ReLU.

    The shortcut is the paper's option A for CIFAR: identity, subsampled by the stride and
    zero-padded in channels where the stage widens, so it has no parameters at all.
    """

    def __init__(self, cin: int, cout: int, stride: int, residual: bool, batch_norm: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(cout) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=not batch_norm)
        self.bn2 = nn.BatchNorm2d(cout) if batch_norm else nn.Identity()
        self.residual = residual
        self.stride = stride
        self.extra_channels = cout - cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            shortcut = x[:, :, :: self.stride, :: self.stride]
            if self.extra_channels:
                shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.extra_channels))
            out = out + shortcut
        return F.relu(out)


CIFAR_WIDTHS = (16, 32, 64)  # filters of the three stages, at 32x32, 16x16 and 8x8 (section 4.2)


class CifarNet(nn.Module):
    """The 6n+2-layer CIFAR-10 network: a 3x3 conv, 3 stages of n blocks, average pool, 10-way FC.

    Its layers get PyTorch's default init from the global RNG like any module's; use
    :func:`cifar_net` for one built on the meta device and initialised from its own generator.
    """

    def __init__(self, depth: int, residual: bool, batch_norm: bool = True, num_classes: int = 10):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, CIFAR_WIDTHS[0], 3, 1, 1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(CIFAR_WIDTHS[0]) if batch_norm else nn.Identity()
        blocks, cin = [], CIFAR_WIDTHS[0]
        for s, width in enumerate(CIFAR_WIDTHS):
            for i in range(n):
                blocks.append(CifarBlock(cin, width, 2 if s > 0 and i == 0 else 1, residual, batch_norm))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, num_classes)

    @torch.no_grad()
    def init_weights(self, gen: torch.Generator, he_init: bool = True) -> "CifarNet":
        """Draw every weight from ``gen``; BN starts at scale 1, shift 0 (no random numbers).

        ``he_init``: He et al. initialise the convs as in their PReLU paper (normal, fan_out, as
        torchvision's ResNets do); the FC keeps PyTorch's default. Otherwise every layer gets
        PyTorch's default init, uniform with variance 1/(3·fan_in), a sixth of He's.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and he_init:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=gen)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                default_init_(m, gen)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def cifar_net(depth: int, residual: bool, batch_norm: bool = True, he_init: bool = True, seed: int = 0) -> CifarNet:
    """A CifarNet on the CPU with its weights drawn from ``zoo.concurrency.generator(seed)``.

    The same seed gives the same weights to the plain and the residual net (their layers
    match one to one) and leaves torch's global RNG untouched.
    """
    with torch.device("meta"):  # no weights drawn here: meta tensors hold no values
        net = CifarNet(depth, residual, batch_norm)
    return net.to_empty(device="cpu").init_weights(generator(seed), he_init)


@torch.no_grad()
def default_init_(layer: nn.Conv2d | nn.Linear, gen: torch.Generator) -> None:
    """PyTorch's default init of a conv or linear layer (their ``reset_parameters``), drawn from ``gen``.

    Weights: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same bound.
    """
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=gen)
    if layer.bias is not None:
        fan_in = layer.weight[0].numel()  # in_channels / groups x kernel area, or in_features
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        nn.init.uniform_(layer.bias, -bound, bound, generator=gen)


# --- MobileNet: standard vs depthwise-separable convolution -----------------------------------

class SeparableConv(nn.Sequential):
    """Depthwise kxk conv (one filter per input channel, ``groups=cin``) then a 1x1 pointwise conv.

    No bias and no BN, so the counts are exactly those of the MobileNet paper's section 3.1.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__()
        self.depthwise = conv(cin, cin, kernel, stride, groups=cin, bias=False)
        self.pointwise = conv(cin, cout, 1, bias=False)


def standard_conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """The standard kxk convolution a separable one replaces (no bias, to match)."""
    return conv(cin, cout, kernel, stride, bias=False)


# --- DenseNet: the transition between dense blocks, with any compression θ --------------------

def transition(cin: int, cout: int) -> nn.Sequential:
    """BN, ReLU, 1x1 conv cin -> cout, 2x2 average pool (Huang et al. 2017, section 3).

    Laid out as torchvision's DenseNet lays out its transitions (same names, same layers), which
    always compress by θ = 0.5; here cout = ⌊θ·cin⌋ for any θ.
    """
    return nn.Sequential(OrderedDict(
        norm=nn.BatchNorm2d(cin), relu=nn.ReLU(inplace=True),
        conv=nn.Conv2d(cin, cout, kernel_size=1, stride=1, bias=False), pool=nn.AvgPool2d(kernel_size=2, stride=2)))
