"""One card per catalogue model: its own year, paper, what it added, ILSVRC result, as data.

A family's card (``zoo.registry.FAMILIES``) tells the family's story; a model's card says what
*this* model is. Every entry of the catalogue has a card written out here; nothing falls back to
its family's facts (``tests/test_facts.py`` holds each card against a cited table).

Conventions, used for every card:

- ``year``: the year of the model's first public version: the NIPS paper for AlexNet, else the
  paper's arXiv v1. A model without a paper of its own (EfficientNet-Lite) takes the year of
  the release that introduced it. torchvision's VGG-BN variants, which no paper introduced, take
  the year and paper of the VGG configuration they modify; ``added`` says what torchvision changed.
- ``paper.venue``: where the paper was published, with that year ("CVPR 2016"); "arXiv" alone
  where it never appeared at a venue.
- ``ilsvrc``: only where this model itself was part of an ILSVRC entry, with the entry as
  the organisers scored it (usually an ensemble: said so).
- ``added``: what the model added over its family's original, in one or two sentences that
  name whose claim it is. For the family's original it says what the model is.
- ``built_here``: where the catalogue's torchvision module differs from the paper (zoo's own models
  say how they are built in their registry ``note``).
- ``published``: an ImageNet top-1 the model's authors published, shown only where torchvision's
  metadata has none, always labelled "published by the authors" with its source.

Claims stay the authors' ("the paper reports ..."); numbers the app can count are counted
(:func:`counted_checks`), never retyped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from zoo.i18n import N_, _


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Paper:
    title: str
    url: str
    venue: str  # where it was published, with the year ("CVPR 2016"), or "arXiv" for a preprint only
    authors: str  # short, for attributing claims: "He et al."
    year: int  # of the first public version (see the module docstring)

    def to_json(self) -> dict:
        return {"title": self.title, "url": self.url, "venue": self.venue}


@dataclass(frozen=True)
class Published:
    """An ImageNet-1K top-1 accuracy the model's authors published (not measured by torchvision)."""

    acc1: float
    where: str  # the table or line it is read from
    source: Link

    label = N_("published by the authors")  # an English msgid: show it as _(label)


Args = tuple[tuple[str, object], ...]


def _args(**values) -> Args:
    return tuple(values.items())


@dataclass(frozen=True)
class Card:
    """A model's card. Its sentences are stored as English msgids (``*_msg``, marked with ``N_``, with
    ``{placeholders}`` filled from ``args``); ``added`` / ``ilsvrc`` / ``built_here`` read them in the
    current language (``zoo.i18n``), so the CLI, which installs no language, prints English."""

    year: int
    paper: Paper | None  # None: no paper of its own (``sources`` says what exists)
    added_msg: str
    original: bool = False  # introduced by its family's founding paper
    ilsvrc_msg: str | None = None
    built_here_msg: str | None = None
    sources: tuple[Link, ...] = ()  # further primary sources the card relies on
    published: Published | None = None
    args: Args = ()  # values for the messages' placeholders (numbers, letters, names: never translated)

    def _text(self, msg: str | None) -> str | None:
        return None if msg is None else _(msg).format(**dict(self.args))

    @property
    def added(self) -> str:
        return self._text(self.added_msg)

    @property
    def ilsvrc(self) -> str | None:
        return self._text(self.ilsvrc_msg)

    @property
    def built_here(self) -> str | None:
        return self._text(self.built_here_msg)


def _arxiv(n: str) -> str:
    return f"https://arxiv.org/abs/{n}"


PAPERS: dict[str, Paper] = {
    "alexnet": Paper("ImageNet Classification with Deep Convolutional Neural Networks",
                     "https://proceedings.neurips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
                     "NIPS 2012", "Krizhevsky, Sutskever & Hinton", 2012),
    "vgg": Paper("Very Deep Convolutional Networks for Large-Scale Image Recognition", _arxiv("1409.1556"),
                 "ICLR 2015", "Simonyan & Zisserman", 2014),
    "googlenet": Paper("Going Deeper with Convolutions", _arxiv("1409.4842"), "CVPR 2015", "Szegedy et al.", 2014),
    "inception_v3": Paper("Rethinking the Inception Architecture for Computer Vision", _arxiv("1512.00567"),
                          "CVPR 2016", "Szegedy et al.", 2015),
    "resnet": Paper("Deep Residual Learning for Image Recognition", _arxiv("1512.03385"), "CVPR 2016",
                    "He et al.", 2015),
    "resnext": Paper("Aggregated Residual Transformations for Deep Neural Networks", _arxiv("1611.05431"),
                     "CVPR 2017", "Xie et al.", 2016),
    "wide_resnet": Paper("Wide Residual Networks", _arxiv("1605.07146"), "BMVC 2016", "Zagoruyko & Komodakis", 2016),
    "densenet": Paper("Densely Connected Convolutional Networks", _arxiv("1608.06993"), "CVPR 2017",
                      "Huang et al.", 2016),
    "mobilenet_v1": Paper("MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
                          _arxiv("1704.04861"), "arXiv", "Howard et al.", 2017),
    "mobilenet_v2": Paper("MobileNetV2: Inverted Residuals and Linear Bottlenecks", _arxiv("1801.04381"),
                          "CVPR 2018", "Sandler et al.", 2018),
    "mobilenet_v3": Paper("Searching for MobileNetV3", _arxiv("1905.02244"), "ICCV 2019", "Howard et al.", 2019),
    "efficientnet": Paper("EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
                          _arxiv("1905.11946"), "ICML 2019", "Tan & Le", 2019),
    "efficientnet_v2": Paper("EfficientNetV2: Smaller Models and Faster Training", _arxiv("2104.00298"),
                             "ICML 2021", "Tan & Le", 2021),
}

ONE_WEIRD_TRICK = Link("Krizhevsky 2014, One weird trick for parallelizing convolutional neural networks "
                       "(arXiv:1404.5997)", _arxiv("1404.5997"))
BATCHNORM = Link("Ioffe & Szegedy 2015, Batch Normalization (arXiv:1502.03167)", _arxiv("1502.03167"))
LITE_BLOG = Link("TensorFlow blog, Higher accuracy on vision models with EfficientNet-Lite (March 16, 2020)",
                 "https://blog.tensorflow.org/2020/03/higher-accuracy-on-vision-models-with-efficientnet-lite.html")
LITE_README = Link("tensorflow/tpu: models/official/efficientnet/lite/README.md",
                   "https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite")

# VGG configurations by the paper's letters (Table 1): weight layers = conv + 3 FC.
_VGG = {"11": ("A", 8), "13": ("B", 10), "16": ("D", 13), "19": ("E", 16)}
# EfficientNet-B1..B7: the official implementation's (width, depth, resolution) coefficients
# (tensorflow/tpu efficientnet_builder.efficientnet_params; torchvision's builders use the same
# width and depth), from the compound scaling of the paper's Section 3.3.
_EFFNET = {1: (1.0, 1.1, 240), 2: (1.1, 1.2, 260), 3: (1.2, 1.4, 300), 4: (1.4, 1.8, 380),
           5: (1.6, 2.2, 456), 6: (1.8, 2.6, 528), 7: (2.0, 3.1, 600)}
# DenseNet-BC configurations: growth rate k, layers per dense block (torchvision's builders).
_DENSE = {"121": (32, (6, 12, 24, 16)), "169": (32, (6, 12, 32, 32)), "201": (32, (6, 12, 48, 32)),
          "161": (48, (6, 12, 36, 24))}
# FP32 ImageNet top-1 of the Lite models, from the table in LITE_README (params 4.7 M / 5.4 M / 6.1 M there).
_LITE_TOP1 = {"efficientnet_lite0": 75.1, "efficientnet_lite1": 76.7, "efficientnet_lite2": 77.6}
_LITE_RES = {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}


def _cards() -> dict[str, Card]:
    P = PAPERS
    c: dict[str, Card] = {}
    c["alexnet"] = Card(
        2012, P["alexnet"], original=True,
        added_msg=N_("The family's original: five convolutional and three fully connected layers, trained with ReLU, "
              "dropout and data augmentation on two GPUs (Krizhevsky, Sutskever & Hinton)."),
        ilsvrc_msg=N_("ILSVRC 2012 winner: 15.3% top-5 test error, from averaging the predictions of 7 CNNs of "
                      "the paper's two-GPU design"),
        built_here_msg=N_("torchvision builds the single-GPU variant of Krizhevsky's 2014 'One weird trick' paper: "
                          "64/192/384/256/256 convolution channels instead of the 2012 paper's 96/256/384/384/256, "
                          "and no Local Response Normalization."),
        sources=(ONE_WEIRD_TRICK,),
    )
    for depth, (letter, convs) in _VGG.items():
        c[f"vgg{depth}"] = Card(
            2014, P["vgg"], original=True,
            added_msg=N_("Configuration {letter} of the paper: {convs} convolutional layers, all 3x3, and 3 fully "
                         "connected layers ({weight_layers} weight layers)."),
            ilsvrc_msg=N_("In the VGG team's ILSVRC 2014 classification entry, 2nd place: an ensemble of 7 networks "
                          "that included a multi-scale configuration D") if letter == "D" else None,
            args=_args(letter=letter, convs=convs, weight_layers=convs + 3),
        )
        c[f"vgg{depth}_bn"] = Card(
            2014, P["vgg"],
            added_msg=N_("torchvision's variant of configuration {letter}: a BatchNorm after every convolution. "
                         "BatchNorm (Ioffe & Szegedy, 2015) is not in the VGG paper; torchvision trained these "
                         "weights itself."),
            sources=(BATCHNORM,), args=_args(letter=letter),
        )
    c["googlenet"] = Card(
        2014, P["googlenet"], original=True,
        added_msg=N_("The family's original: 22 layers with weights, built from nine Inception modules, and two "
                     "auxiliary classifiers used only in training (Szegedy et al.)."),
        ilsvrc_msg=N_("ILSVRC 2014 classification winner: 6.67% top-5 test error, an ensemble of 7 GoogLeNets"),
        built_here_msg=N_("torchvision's GoogLeNet puts a BatchNorm after every convolution (the 2014 paper has none), "
                          "and its published weights ship without the two auxiliary classifiers."),
        sources=(BATCHNORM,),
    )
    c["inception_v3"] = Card(
        2015, P["inception_v3"],
        added_msg=N_("Szegedy et al. factorise large convolutions (a 5x5 into two 3x3; n x n into 1 x n then n x 1, "
              "up to 1x7 + 7x1), shrink the grid with parallel stride-2 branches, regularise with label smoothing, "
              "and keep one auxiliary classifier, with BatchNorm, as a regulariser."),
        built_here_msg=N_("The catalogue builds it as torchvision does by default, with its auxiliary classifier "
                          "(aux_logits=True): those parameters count, but the head does not run in eval mode."),
    )
    for d in ("18", "34", "50", "101", "152"):
        bottleneck = d not in ("18", "34")
        c[f"resnet{d}"] = Card(
            2015, P["resnet"], original=True,
            added_msg=(N_("ResNet-{depth} of the paper's Table 1: bottleneck blocks (1x1 reduce, 3x3, 1x1 expand).")
                       if bottleneck else N_("ResNet-{depth} of the paper's Table 1: basic blocks of two 3x3 "
                                             "convolutions.")),
            ilsvrc_msg=N_("ILSVRC 2015 classification winner: 3.57% top-5 test error, an ensemble of six ResNets of "
                          "different depths, two of them 152-layer") if d == "152" else None,
            built_here_msg=N_("torchvision's bottleneck strides its 3x3 convolution rather than the first 1x1 (the "
                              "variant known as ResNet v1.5).") if bottleneck else None,
            args=_args(depth=d),
        )
    c["resnext50_32x4d"] = Card(
        2016, P["resnext"],
        added_msg=N_("Xie et al. split each bottleneck's 3x3 convolution into 32 groups of width 4 (a grouped "
                     "convolution; 'cardinality' 32) at about ResNet-50's cost, and report higher accuracy than "
                     "ResNet-50 at equal complexity."),
    )
    c["resnext101_32x8d"] = Card(
        2016, P["resnext"],
        added_msg=N_("The ResNeXt block (Xie et al.) at ResNet-101 depth with 32 groups of width 8: twice the "
                     "group width of ResNeXt-50 32x4d."),
    )
    c["resnext101_64x4d"] = Card(
        2016, P["resnext"],
        added_msg=N_("The ResNeXt block (Xie et al.) at ResNet-101 depth with 64 groups of width 4: cardinality "
                     "doubled, one of the paper's larger ImageNet models."),
    )
    for d in ("50", "101"):
        c[f"wide_resnet{d}_2"] = Card(
            2016, P["wide_resnet"],
            added_msg=(N_("Zagoruyko & Komodakis widen ResNet: here every bottleneck of ResNet-{depth} has twice the "
                          "channels in its inner 1x1 and 3x3 convolutions, while the outer 1x1 channels stay the same "
                          "(the paper's WRN-50-2-bottleneck).") if d == "50" else
                       N_("Zagoruyko & Komodakis widen ResNet: here every bottleneck of ResNet-{depth} has twice the "
                          "channels in its inner 1x1 and 3x3 convolutions, while the outer 1x1 channels stay the same.")),
            args=_args(depth=d),
        )
    for d, (k, blocks) in _DENSE.items():
        c[f"densenet{d}"] = Card(
            2016, P["densenet"], original=True,
            added_msg=N_("DenseNet-BC (1x1 bottleneck, compression 0.5) with growth rate k = {k} and {blocks} layers "
                         "in its four dense blocks."),
            args=_args(k=k, blocks="/".join(map(str, blocks))),
        )
    c["mobilenet_v1"] = Card(
        2017, P["mobilenet_v1"], original=True,
        added_msg=N_("The family's original: one full 3x3 convolution, then 13 depthwise-separable blocks "
                     "(Howard et al., Table 1)."),
        published=Published(70.6, "Table 8, 1.0 MobileNet-224", Link("Howard et al. 2017 (arXiv:1704.04861)",
                                                                     _arxiv("1704.04861"))),
    )
    c["mobilenet_v2"] = Card(
        2018, P["mobilenet_v2"],
        added_msg=N_("Sandler et al. add inverted residual blocks: a 1x1 expansion (factor 6), a 3x3 depthwise "
                     "convolution and a linear 1x1 projection with no ReLU after it (the 'linear bottleneck'); "
                     "shortcuts join the thin ends."),
    )
    for size in ("small", "large"):
        c[f"mobilenet_v3_{size}"] = Card(
            2019, P["mobilenet_v3"],
            added_msg=(N_("Howard et al. search the blocks with platform-aware architecture search and NetAdapt, add "
                          "squeeze-and-excitation and the hard-swish activation, and redesign the expensive last "
                          "stage; Small is the one for low-resource use cases.") if size == "small" else
                       N_("Howard et al. search the blocks with platform-aware architecture search and NetAdapt, add "
                          "squeeze-and-excitation and the hard-swish activation, and redesign the expensive last "
                          "stage; Large is the one for high-resource use cases.")),
        )
    c["efficientnet_b0"] = Card(
        2019, P["efficientnet"], original=True,
        added_msg=N_("The family's original: the base network found by architecture search (Tan & Le), MBConv "
                     "blocks with squeeze-and-excitation and Swish."),
    )
    for i, (w, dp, res) in _EFFNET.items():
        c[f"efficientnet_b{i}"] = Card(
            2019, P["efficientnet"], original=True,
            added_msg=N_("B0 scaled up by the paper's compound scaling (Tan & Le): width x{width}, depth x{depth}, "
                         "{res} px in the official implementation."),
            args=_args(width=w, depth=dp, res=res),
        )
    for size in "sml":
        c[f"efficientnet_v2_{size}"] = Card(
            2021, P["efficientnet_v2"],
            added_msg=N_("Tan & Le replace the early MBConv blocks with fused-MBConv (one 3x3 convolution instead of 1x1 "
                  "expansion + depthwise), found by training-aware architecture search, and train with progressive "
                  "learning (image size and regularisation grow together); it is not scaled with V1's compound "
                  "coefficients."),
        )
    for name, top1 in _LITE_TOP1.items():
        c[name] = Card(
            2020, None,
            added_msg=N_("EfficientNet for mobile accelerators (TensorFlow team, 2020): Lite removes "
                         "squeeze-and-excitation, replaces Swish with ReLU6, and keeps the stem and head fixed while "
                         "scaling, so that the model quantises well to integers; native input {res} px."),
            args=_args(res=_LITE_RES[name]),
            sources=(LITE_BLOG, LITE_README),
            published=Published(top1, "FP32 top-1 in the README's table", LITE_README),
        )
    return c


CARDS: dict[str, Card] = _cards()


def card(name: str) -> Card:
    """The card of catalogue model ``name`` (KeyError for a name without one: every entry must have one)."""
    return CARDS[name]


# -- claims the app can check against its own counts ------------------------------------------------

@dataclass(frozen=True)
class Check:
    claim: str  # the paper's sentence, attributed (an English msgid: counted_checks translates it)
    counted: Callable[[], str]  # the app's own count beside it, computed when shown


def _googlenet_vs_alexnet() -> str:
    from zoo.analysis import summarize

    a, g = summarize("alexnet").params, summarize("googlenet").params
    return _("Counted here: torchvision's AlexNet has {alexnet:,} parameters and its GoogLeNet {googlenet:,} "
             "(without auxiliary heads), {ratio:.1f}x fewer. torchvision's AlexNet is the 2014 single-GPU "
             "variant.").format(alexnet=a, googlenet=g, ratio=a / g)


def _vgg_kernels() -> str:
    from zoo import registry

    kernels = set()
    for n in ("vgg11", "vgg13", "vgg16", "vgg19"):
        for m in registry.get(n).build().modules():
            if hasattr(m, "kernel_size") and type(m).__name__ == "Conv2d":
                kernels.add("x".join(map(str, m.kernel_size)))
    return _("Counted here: torchvision's VGG-11/13/16/19 (configurations A, B, D, E) use {kernels} convolutions "
             "only.").format(kernels=", ".join(sorted(kernels)))


def _resnet_projections() -> str:
    from zoo import registry

    m = registry.get("resnet50").build()
    rows = []
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        proj = getattr(m, stage)[0].downsample[0]
        rows.append(_("{block} stride {stride}").format(block=f"{stage}.0", stride=proj.stride[0]))
    return _("Counted here, ResNet-50's projection shortcuts: {shortcuts}.").format(shortcuts=", ".join(rows))


FAMILY_CHECKS: dict[str, tuple[Check, ...]] = {
    "inception": (Check(N_("Szegedy et al.: GoogLeNet uses 12x fewer parameters than the AlexNet of 2012."),
                        _googlenet_vs_alexnet),),
    "vgg": (Check(N_("The paper's configurations A, B, D and E are all 3x3; configuration C also has 1x1 "
                     "convolutions."),
                  _vgg_kernels),),
    "resnet": (Check(N_("A projection shortcut appears wherever a block changes the channel count or the "
                        "resolution."),
                     _resnet_projections),),
}


def counted_checks(family: str) -> list[tuple[str, str]]:
    """(the paper's claim, the app's own count) pairs for ``family``'s card, in the current language."""
    return [(_(c.claim), c.counted()) for c in FAMILY_CHECKS.get(family, ())]
