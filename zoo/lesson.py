"""The guided lesson as data: nine steps, from one convolution through the seven families to the Pareto front.

The order is that of the study notes the project grew from (``/work/shared/seed``): AlexNet, VGG,
GoogLeNet, ResNet, DenseNet, MobileNet, EfficientNet, with an opening step (what one convolution
computes, on a small live example) and a closing one (accuracy against cost across the seven).

Each step names the problem its architecture solved, its key idea, the lab that shows it (a module
of ``pages/labs``, by id), the model whose real module gives the step's one live number and whose
prediction the class sees, and the teacher's notes. Text is marked with ``N_`` and translated
where shown; numbers are never written here, they are counted from the modules when asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import torch
from torch import nn

from zoo import compare, registry
from zoo.analysis import summarize
from zoo.errors import ZooError
from zoo.i18n import N_, _
from zoo.labs.common import measure

# The seven families in the notes' order, each with the model that stands for it on the home page.
FAMILY_ORDER = ("alexnet", "vgg", "inception", "resnet", "densenet", "mobilenet", "efficientnet")


@dataclass(frozen=True)
class LiveNumber:
    """One number counted from a catalogue model: ``field`` ("params" or "macs") of ``model`` at its own input size.

    ``versus``: a second model to set it against (the caption's "N× fewer than ..."), or None.
    """

    label: str  # N_: what the number is, e.g. "Parameters of VGG-16"
    model: str
    field: str
    versus: str | None = None

    def value(self, model: str | None = None) -> int:
        s = summarize(model or self.model)
        return int(s.params if self.field == "params" else s.macs)

    def versus_value(self) -> int | None:
        return None if self.versus is None else self.value(self.versus)


@dataclass(frozen=True)
class Misconception:
    claim: str  # N_: what students often believe
    truth: str  # N_: what the lab or the numbers show instead


@dataclass(frozen=True)
class Step:
    key: str
    title: str  # N_
    problem: str  # N_: the problem the architecture solved, one or two sentences
    idea: str  # N_: its key idea
    family: str | None = None  # registry family key; None for the opening and closing steps
    lab: str | None = None  # lab id (pages/labs/<lab>.py); None: the step has its own live example
    number: LiveNumber | None = None
    ask: tuple[str, ...] = ()  # N_: what to ask the class before showing the answer
    misconceptions: tuple[Misconception, ...] = ()

    @property
    def model(self) -> str | None:
        """The family's representative (registry.FAMILY_DEFAULTS): the live number's and the photo's model."""
        return registry.FAMILY_DEFAULTS[self.family] if self.family else None

    @property
    def year(self) -> int | None:
        return registry.FAMILIES[self.family].year if self.family else None


STEPS: tuple[Step, ...] = (
    Step(
        "convolution", N_("What a convolution computes"),
        N_("An image is a grid of numbers; a fully connected layer on a 224×224 photo would need a weight for every "
           "pixel of every output. A convolution slides one small kernel over the whole image instead."),
        N_("Each output value is the sum of a kernel-sized patch times the kernel's weights. Kernel size, stride and "
           "padding fix the output size, (W + 2P − K) / S + 1; the weights are K·K·C_in·C_out, whatever the image size."),
        ask=(N_("Before moving the stride slider: what happens to the output size if the stride doubles?"),
             N_("Does a bigger photo need more weights? (Change the input side and watch the parameters.)")),
        misconceptions=(
            Misconception(N_("A larger input image means more parameters."),
                          N_("The parameters depend only on the kernel and the channels; the input size changes the "
                             "output size and the MACs.")),
            Misconception(N_("Padding adds information."),
                          N_("Zero padding only lets the kernel sit on the border, so the output keeps its size.")),
        ),
    ),
    Step(
        "alexnet", N_("AlexNet (2012): deep CNNs win ImageNet"),
        N_("Networks with sigmoid or tanh units learned slowly, and a big network overfitted ImageNet's 1.2 million "
           "photos."),
        N_("ReLU instead of saturating activations (about six times faster to train in the paper), with dropout, "
           "weight decay and data augmentation against overfitting, on two GPUs."),
        family="alexnet", lab="activations", number=LiveNumber(N_("Parameters of AlexNet"), "alexnet", "params"),
        ask=(N_("Where do you think most of AlexNet's parameters are: in the convolutions or the fully connected "
                "layers?"),
             N_("Why would the gradient through 20 sigmoid layers be tiny?")),
        misconceptions=(
            Misconception(N_("The convolutions hold most of a CNN's parameters."),
                          N_("In AlexNet the three fully connected layers hold most of them (see its Model page)."),),
        ),
    ),
    Step(
        "vgg", N_("VGG (2014): depth from 3×3 convolutions only"),
        N_("AlexNet mixed 11×11, 5×5 and 3×3 kernels; how to go deeper without the parameters exploding?"),
        N_("Stack 3×3 convolutions: two see a 5×5 patch, three a 7×7 one, with fewer weights than one large kernel "
           "and one ReLU per layer."),
        family="vgg", lab="vgg", number=LiveNumber(N_("Parameters of VGG-16"), "vgg16", "params", versus="alexnet"),
        ask=(N_("Three 3×3 layers or one 7×7: which sees the larger patch? Which has more weights?"),),
        misconceptions=(
            Misconception(N_("A stack of 3×3 convolutions always has fewer parameters than one large kernel."),
                          N_("Only when input and output have the same C channels: the lab's worked example 3 → 64 → "
                             "64 has more parameters than one 5×5 conv 3 → 64.")),
        ),
    ),
    Step(
        "googlenet", N_("GoogLeNet (2014): wider, not heavier"),
        N_("Deeper and wider networks are more accurate, but their parameters and computation grow quickly and they "
           "overfit."),
        N_("The Inception module runs 1×1, 3×3 and 5×5 convolutions and a pooling side by side, with 1×1 "
           "convolutions first to reduce the channels, so 22 layers cost less than AlexNet."),
        family="inception", lab="inception",
        number=LiveNumber(N_("Parameters of GoogLeNet"), "googlenet", "params", versus="alexnet"),
        ask=(N_("What does a 1×1 convolution do, if it sees only one pixel?"),),
        misconceptions=(
            Misconception(N_("A 1×1 convolution does nothing."),
                          N_("It mixes the channels at every pixel: 512 channels in, 256 out halves what the next "
                             "3×3 has to read.")),
        ),
    ),
    Step(
        "resnet", N_("ResNet (2015): very deep networks that still train"),
        N_("Plain networks deeper than about 20 layers trained worse, not better: the signal and its gradient fade "
           "through many layers."),
        N_("Residual connections: each block adds its input to its output, so the gradient has a direct path back "
           "through every block."),
        family="resnet", lab="gradients",
        number=LiveNumber(N_("MACs of ResNet-152 at 224 px"), "resnet152", "macs", versus="vgg16"),
        ask=(N_("If a block's layers learn nothing at all, what does a residual block output?"),),
        misconceptions=(
            Misconception(N_("More layers always means more computation."),
                          N_("ResNet-152 has 152 layers and fewer MACs than VGG-16 with 16: bottleneck blocks do their "
                             "3×3 convolutions on few channels.")),
            Misconception(N_("Skip connections fix overfitting."),
                          N_("They fix optimisation: the plain deep network is worse on its own training data too.")),
        ),
    ),
    Step(
        "densenet", N_("DenseNet (2016): reuse every earlier feature map"),
        N_("Deep networks relearn similar features in many layers, which costs parameters."),
        N_("Dense connectivity: each layer receives the feature maps of all earlier layers of its block and adds only "
           "k new channels (the growth rate)."),
        family="densenet", lab="dense",
        number=LiveNumber(N_("Parameters of DenseNet-121"), "densenet121", "params", versus="resnet50"),
        ask=(N_("With k₀ = 64 and k = 32, how many channels does the sixth layer of a block receive?"),),
        misconceptions=(
            Misconception(N_("Connecting every layer to every other makes the network huge."),
                          N_("Each layer adds only k channels and a 1×1 bottleneck caps its input; DenseNet-121 has "
                             "fewer parameters than ResNet-50.")),
        ),
    ),
    Step(
        "mobilenet", N_("MobileNet (2017): CNNs for phones"),
        N_("The accurate networks needed billions of MACs, too many for a phone."),
        N_("Depthwise separable convolution: a depthwise k×k convolution per channel, then a pointwise 1×1 "
           "convolution to mix them, about k² times cheaper than a standard convolution."),
        family="mobilenet", lab="separable",
        number=LiveNumber(N_("MACs of MobileNet V2 at 224 px"), "mobilenet_v2", "macs", versus="resnet50"),
        ask=(N_("Which of the two parts of a separable convolution costs more, the depthwise or the pointwise one?"),),
        misconceptions=(
            Misconception(N_("Fewer MACs always means faster."),
                          N_("Depthwise convolutions do little work per byte moved; on some hardware they run slower "
                             "than their MACs suggest.")),
        ),
    ),
    Step(
        "efficientnet", N_("EfficientNet (2019): scale depth, width and resolution together"),
        N_("Networks were scaled up one dimension at a time (deeper, wider or larger images), and each alone soon "
           "stops paying off."),
        N_("Compound scaling: one coefficient φ grows depth, width and resolution together by fixed ratios, from a "
           "small base network found by search (B0)."),
        family="efficientnet", lab="scaling",
        number=LiveNumber(N_("Parameters of EfficientNet-B0"), "efficientnet_b0", "params", versus="resnet50"),
        ask=(N_("If φ goes up by one, roughly how much more computation does the network need?"),),
        misconceptions=(
            Misconception(N_("Doubling the resolution doubles the cost."),
                          N_("MACs grow with the square of the resolution: twice the side is about four times the "
                             "MACs.")),
        ),
    ),
    Step(
        "pareto", N_("Seven networks, one picture: accuracy against cost"),
        N_("Which network should you use? Each one was the answer to a different problem."),
        N_("A network is on the Pareto front when no other is both cheaper and more accurate; the later designs "
           "moved the front, not just the top accuracy."),
        number=None,
        ask=(N_("Which model would you run on a phone, and which on a server?"),
             N_("Is the most accurate model always the best choice?")),
        misconceptions=(
            Misconception(N_("Newer networks are always bigger."),
                          N_("EfficientNet-B0 has fewer parameters than AlexNet and is far more accurate.")),
        ),
    ),
)
LAST = len(STEPS) - 1


def step(i: int) -> Step:
    return STEPS[i]


# --- the opening step's live example --------------------------------------------------------------

class ConvGeometryError(ZooError, ValueError):
    """A kernel larger than the padded input: the convolution has no output."""


@dataclass(frozen=True)
class ConvExample:
    side: int
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    out_side: int  # measured: the output shape of the real nn.Conv2d
    out_side_formula: int  # (W + 2P - K) // S + 1
    params: int  # measured: counted by zoo.analysis.summarize_module
    params_formula: int  # K·K·C_in·C_out + C_out (bias)
    macs: int
    macs_formula: int  # out² · K·K·C_in·C_out


@lru_cache(maxsize=256)
def conv_example(side: int, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int) -> ConvExample:
    """One nn.Conv2d built on the meta device and counted, beside the closed-form output size, parameters and MACs."""
    if kernel > side + 2 * padding:
        raise ConvGeometryError(_("A {k}×{k} kernel does not fit on a {w} px input with {p} px of padding: make the "
                                  "kernel smaller or the input larger.").format(k=kernel, w=side, p=padding))
    out_formula = (side + 2 * padding - kernel) // stride + 1
    s = measure(lambda: nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding), in_channels,
                side, "conv")
    out_side = int(s.layers.iloc[-1]["output_shape"][-1])
    w = kernel * kernel * in_channels * out_channels
    return ConvExample(side, in_channels, out_channels, kernel, stride, padding, out_side, out_formula,
                       s.params, w + out_channels, s.macs, out_formula * out_formula * w)


def edge_demo(kernel: int, stride: int, padding: int, side: int = 8) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A real convolution small enough to read: a ``side``×``side`` image (dark left, bright right), a vertical-edge
    kernel (−1 left of centre, +1 right of it), and the output F.conv2d computes. Returns (image, kernel, output)."""
    if kernel > side + 2 * padding:
        raise ConvGeometryError(_("A {k}×{k} kernel does not fit on a {w} px input with {p} px of padding: make the "
                                  "kernel smaller or the input larger.").format(k=kernel, w=side, p=padding))
    image = torch.zeros(side, side)
    image[:, side // 2:] = 1.0
    weight = torch.zeros(kernel, kernel)
    weight[:, :kernel // 2] = -1.0
    weight[:, kernel - kernel // 2:] = 1.0
    out = torch.nn.functional.conv2d(image[None, None], weight[None, None], stride=stride, padding=padding)[0, 0]
    return (pd.DataFrame(image.int().numpy()), pd.DataFrame(weight.int().numpy()), pd.DataFrame(out.int().numpy()))


# --- the closing step ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def pareto_table() -> pd.DataFrame:
    """The seven representatives' accuracy and cost (zoo.compare.model_table) with an ``on_front`` column."""
    names = [registry.FAMILY_DEFAULTS[f] for f in FAMILY_ORDER]
    table = compare.model_table(names)
    front = compare.pareto_front(table)
    return table.assign(on_front=table.index.isin(front.index))
