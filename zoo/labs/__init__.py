"""The building-block labs as pure functions: measured numbers next to closed-form ones.

One module per lab (``vgg``, ``inception``, ...), each holding that lab's formulas and
measurements; :mod:`zoo.labs.common` holds what they share. Every "measured" number comes from
building the real ``nn.Module`` (from ``zoo.blocks``, torchvision or the zoo's own models) and
counting it with ``zoo.analysis.summarize_module``, the same analysis as the model pages. Every
"formula" number is the paper's closed form, computed independently, so a test can hold the two
against each other. Pointers into the real zoo are read from the built catalogue models, never
retyped.

Conventions: ``params`` counts every parameter (BN's weight and bias included); ``macs`` are
multiply-accumulates (FLOPs = 2 x MACs) for one image; ``size`` / ``*_px`` is the side of a
square feature map or input. Toy networks draw their weights from their own
``zoo.concurrency.generator(seed)``, never from torch's global RNG.

A new lab is one new module here (and its page in ``pages/labs/``): :func:`lab_names` finds it.
"""
from __future__ import annotations

import pkgutil

SHARED = frozenset({"common"})  # modules of this package that are not labs


def lab_names() -> list[str]:
    """The lab modules of this package, by module name (``"vgg"``, ``"inception"``, ...)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in SHARED and not m.name.startswith("_"))
