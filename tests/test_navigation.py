"""app.py's navigation and the doors in pages/: one door per URL path, nothing else at that level."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def nav_pages() -> dict[str, str]:
    """url_path -> script of every st.Page(...) in app.py."""
    out = {}
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            out[kw["url_path"]] = node.args[0].value
            if kw.get("default"):
                out[kw["url_path"]] += " (default)"
    return out


def test_every_url_path_has_a_door_and_every_door_a_page():
    pages = nav_pages()
    deep = {url for url, script in pages.items() if not script.endswith("(default)")}
    doors = {p.stem for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py"}
    assert doors == deep
    for door in doors:
        assert "enter()" in (ROOT / "pages" / f"{door}.py").read_text()


def test_page_scripts_exist_outside_the_top_level():
    for url, script in nav_pages().items():
        path = ROOT / script.replace(" (default)", "")
        assert path.is_file() and path.parent != ROOT / "pages", (url, script)
