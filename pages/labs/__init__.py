"""The labs page's labs: one module per lab, found here by name, none listed by hand.

Each module ``pages/labs/<lab>.py`` pairs with ``zoo/labs/<lab>.py`` (same name, which is also
the lab's ``lab_id`` in the URL) and declares:

- ``TITLE``: the lab's name in the menu and its header;
- ``ORDER``: its position in the menu (smaller first);
- ``URL_PREFIXES``: the prefixes of its widgets' URL keys (``("lab_vgg_",)``), so the page can
  drop them when another lab is chosen;
- ``render()``: draws the lab below its header.

Adding a lab is one new module on each side (and its tests); this package's index finds it.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType


@lru_cache(maxsize=1)
def index() -> dict[str, ModuleType]:
    """Every lab page module by its id (module name), in menu order."""
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    for m in mods:
        missing = [a for a in ("TITLE", "ORDER", "URL_PREFIXES", "render") if not hasattr(m, a)]
        if missing:
            raise TypeError(f"{m.__name__} is a lab page module without {', '.join(missing)}")
    return {m.__name__.rsplit(".", 1)[-1]: m for m in sorted(mods, key=lambda m: m.ORDER)}
