"""The labs index: every zoo lab module pairs with one page lab module and one test module, none listed by hand."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from pages.labs import index
from pages.ui import labkit
from zoo.labs import lab_names

ROOT = Path(__file__).resolve().parents[2]
PAGE_LABS = index()


def test_every_zoo_lab_has_one_page_and_one_test():
    assert lab_names() == sorted(PAGE_LABS)
    assert len(lab_names()) >= 10
    on_disk = sorted(p.stem for p in (ROOT / "zoo" / "labs").glob("*.py") if p.stem not in ("__init__", "common"))
    assert on_disk == lab_names()
    assert sorted(p.stem for p in (ROOT / "pages" / "labs").glob("*.py") if p.stem != "__init__") == lab_names()
    for name in lab_names():
        assert (ROOT / "tests" / "labs" / f"test_{name}.py").is_file(), f"no tests/labs/test_{name}.py"


def test_no_page_script_sits_directly_in_pages():
    # Streamlit's old multipage mode globs pages/*.py: a lab module there would become a page of its own.
    # Only the doors sit there (two lines that run app.py; tests/test_navigation.py ties them to its pages).
    from tests.test_navigation import nav_pages

    top = {p.stem for p in (ROOT / "pages").glob("*.py")} - {"__init__"}
    assert top <= set(nav_pages())
    assert all("enter()" in (ROOT / "pages" / f"{name}.py").read_text() for name in top)


def test_menu_order_and_url_prefixes():
    orders = [m.ORDER for m in PAGE_LABS.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    prefixes = [(name, p) for name, m in PAGE_LABS.items() for p in m.URL_PREFIXES]
    for name, p in prefixes:
        assert isinstance(p, str) and p.startswith("lab_") and p.endswith("_") and not "lab_id".startswith(p)
        others = [q for n, q in prefixes if n != name]
        assert not any(p.startswith(q) or q.startswith(p) for q in others), (name, p)  # no lab owns another's keys
    assert all(isinstance(m.TITLE, str) and m.TITLE for m in PAGE_LABS.values())


@pytest.mark.parametrize("name", sorted(PAGE_LABS))
def test_a_page_reaches_its_zoo_lab_only_through_the_cache(name):
    page = PAGE_LABS[name]
    assert page.lab.zoo_module.__name__ == f"zoo.labs.{name}"
    module = page.lab.zoo_module
    cached_type = type(labkit.CACHE(lambda: None))
    public = page.lab.public_names()
    own_functions = [n for n, f in vars(module).items() if inspect.isfunction(f) and f.__module__ == module.__name__
                     and not n.startswith("_")]
    assert own_functions and set(own_functions) <= set(public)
    for n in own_functions:
        f = getattr(page.lab, n)
        assert type(f.cache) is cached_type and f.__wrapped__ is getattr(module, n), n  # labkit.cached
    for n, obj in vars(module).items():  # what the zoo module imports stays out of reach
        if callable(obj) and getattr(obj, "__module__", None) != module.__name__ and not n.isupper():
            with pytest.raises(AttributeError):
                getattr(page.lab, n)
    # and the page module cannot reach around the cache: it never imports zoo.labs itself
    tree = ast.parse(Path(page.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("zoo.labs"), node.module
            assert not (node.module == "zoo" and any(a.name == "labs" for a in node.names))
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("zoo.labs") for a in node.names)


LAB_SOURCES = sorted([*(ROOT / "zoo" / "labs").glob("*.py"), ROOT / "zoo" / "blocks.py",
                      *(ROOT / "pages" / "labs").glob("*.py"), ROOT / "pages" / "ui" / "labkit.py",
                      ROOT / "pages" / "understand" / "labs.py"])


@pytest.mark.parametrize("path", LAB_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_process_wide_state_and_no_private_torchvision(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("manual_seed", "set_num_threads", "fork_rng", "seed"), (path, node.attr)
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                assert not (isinstance(base, ast.Name) and base.id == "torchvision"), (path, node.attr)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torchvision"):
            assert not any(part.startswith("_") for part in node.module.split(".")), (path, node.module)
            assert not any(a.name.startswith("_") for a in node.names), (path, [a.name for a in node.names])


def test_the_cache_key_holds_the_language():
    from zoo import i18n
    from zoo.labs import precision

    lab = labkit.zoo_lab("pages.labs.precision")
    english = lab.stored(0, 0.5)["note"].tolist()
    assert english == precision.stored(0, 0.5)["note"].tolist()
    with i18n.using("ko"):
        korean = lab.stored(0, 0.5)["note"].tolist()
        assert korean == precision.stored(0, 0.5)["note"].tolist() != english  # not the English entry
    assert lab.stored(0, 0.5)["note"].tolist() == english
