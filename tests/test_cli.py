"""`python -m zoo` as a script sees it: stable JSON, one-sentence errors, exit codes.

In-process (``zoo.__main__.main`` with its output captured), except the one test that needs a real
pipe to a reader that leaves early.
"""
import contextlib
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from zoo.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse: usage errors exit 2, --help exits 0
            code = e.code if isinstance(e.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


def test_list_json():
    r = run("list", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {tuple(sorted(row)) for row in rows} == {("acc1", "family", "has_weights", "macs", "name", "paper",
                                                     "params", "published", "sources", "weights", "year")}
    by = {row["name"]: row for row in rows}
    assert by["resnet50"]["params"] == 25_557_032 and by["resnet50"]["has_weights"] is True
    assert by["mobilenet_v1"]["has_weights"] is False and by["mobilenet_v1"]["acc1"] is None
    assert by["efficientnet_lite0"]["has_weights"] is True
    assert len(rows) == 43
    # Each model's own year and paper, not its family's.
    assert by["inception_v3"]["year"] == 2015 and by["googlenet"]["year"] == 2014
    assert by["inception_v3"]["paper"] == {"title": "Rethinking the Inception Architecture for Computer Vision",
                                           "url": "https://arxiv.org/abs/1512.00567", "venue": "CVPR 2016"}
    assert by["efficientnet_lite0"]["year"] == 2020 and by["efficientnet_lite0"]["paper"] is None
    assert by["efficientnet_lite0"]["sources"] and by["efficientnet_lite0"]["published"]["acc1"] == 75.1
    # Every torchvision weights with its recipe, V1 first.
    w = by["resnet50"]["weights"]
    assert [(x["weights"], x["recipe"], x["default"]) for x in w] == [
        ("ResNet50_Weights.IMAGENET1K_V1", "reference", False), ("ResNet50_Weights.IMAGENET1K_V2", "new", True)]
    assert w[0]["acc1"] == 76.13 and w[1]["acc1"] == 80.858 and abs(w[0]["size_mib"] - 97.781) < 1e-9
    assert by["mobilenet_v1"]["weights"] == []


def test_summary_resnet50_json():
    r = run("summary", "resnet50", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["name"] == "ResNet-50" and s["input_size"] == [1, 3, 224, 224]
    assert s["params"] == 25_557_032
    assert round(s["macs"] / 1e9, 2) == 4.09
    assert [st["name"] for st in s["stages"]] == ["conv1 + bn1 + relu", "maxpool", "layer1", "layer2", "layer3",
                                                  "layer4", "avgpool", "fc"]
    assert s["stages"][1] == {"name": "maxpool", "output_shape": [1, 64, 56, 56], "params": 0, "macs": 0}
    assert s["stages"][5]["output_shape"] == [1, 2048, 7, 7]
    assert sum(st["params"] for st in s["stages"]) == s["params"]
    assert s["layers"][0] == {"name": "conv1", "type": "Conv2d", "output_shape": [1, 64, 112, 112],
                              "params": 9408, "macs": 118013952}
    assert sum(layer["params"] for layer in s["layers"]) == s["params"]


def test_summary_default_input_size_is_the_weights_crop():
    s = json.loads(run("summary", "inception_v3", "--json").stdout)
    assert s["input_size"] == [1, 3, 299, 299]


@pytest.mark.parametrize("args, needle", [
    (("summary", "resnet5"), "Unknown model 'resnet5'"),
    (("summary", "alexnet", "--input-size", "16"), "too small"),
    (("summary", "resnet50", "--input-size", "0"), "outside"),
])
def test_user_errors_are_one_line_and_exit_2(args, needle):
    r = run(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_text_output_is_readable():
    r = run("summary", "vgg16")
    assert r.returncode == 0 and "classifier" in r.stdout and "FLOPs = 2 x MACs" in r.stdout


def test_output_cut_short_by_a_pipe_is_not_an_error():
    r = subprocess.run(f"{sys.executable} -m zoo summary resnet50 --json | head -1", shell=True, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.stdout == "{\n" and "Traceback" not in r.stderr, r.stderr
