"""Rewrite the golden layer tables: `python -m tests.golden.regenerate`. Review the diff: they are the contract."""
import json
from pathlib import Path

from zoo.analysis import summarize

for name in ["alexnet", "resnet50", "mobilenet_v2"]:
    path = Path(__file__).parent / f"{name}.json"
    path.write_text(json.dumps(summarize(name).to_json(), indent=1) + "\n")
    print("wrote", path)
