"""House rules that keep zoo usable from notebooks, the CLI and tests alike."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_zoo_never_imports_streamlit():
    for path in (ROOT / "zoo").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path} imports streamlit"


def test_importing_every_zoo_module_leaves_streamlit_unloaded():
    mods = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "zoo").rglob("*.py")
                  if p.name != "__main__.py")
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in mods) + \
           "assert 'streamlit' not in sys.modules, 'streamlit got imported'\n"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
