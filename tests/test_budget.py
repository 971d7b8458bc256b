"""Heavy buttons: each action's cost is estimated before it starts and refused above the budget."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zoo import budget, registry
from zoo.analysis import gradient_rf as G
from zoo.inference import cam as C
from zoo.inference import occlusion as O

ROOT = Path(__file__).resolve().parents[1]


def offered(message: str) -> str:
    return re.search(r"; (.*) it would need", message).group(1)


def test_effective_rf_of_b7_is_refused_before_anything_is_built():
    with pytest.raises(budget.BudgetError) as e:
        G.effective_rf("efficientnet_b7")  # 18 GB: it used to die with a raw allocator error
    msg = str(e.value)
    assert msg.startswith("The effective receptive field of EfficientNet-B7 at features.8.2 from 4 noise images "
                          "would need about 18.2 GB of memory, over the 1.50 GB")
    layer = re.search(r"at layer `([^`]+)` with 1 noise image", msg).group(1)
    G.check_erf("efficientnet_b7", layer, 1)  # what the sentence offers does fit


def test_fewer_noise_images_are_offered_where_they_fit():
    with pytest.raises(budget.BudgetError) as e:
        G.check_erf("efficientnet_b4", samples=4)
    assert offered(str(e.value)) == "with 1 noise image"
    G.check_erf("efficientnet_b4", samples=1)


def test_gradient_check_is_budgeted_too():
    G.check_gradient_check("resnet50")
    with pytest.raises(budget.BudgetError, match="Measuring the field of EfficientNet-B7"):
        G.gradient_rf("efficientnet_b7")


def test_occlusion_passes_are_budgeted_with_a_larger_stride_offered():
    with pytest.raises(budget.BudgetError) as e:
        O.check_occlusion("vgg16", 8, 4)  # 3,026 passes of 15.5 GMACs: 14 minutes of both cores
    msg = str(e.value)
    assert msg.startswith("Occluding VGG-16's input with an 8 px patch every 4 px (3,026 forward passes) would need "
                          "about 46,813 GMACs, over the 2,000 GMACs")
    stride, patch = map(int, re.search(r"with a stride of (\d+) px and a (\d+) px patch", msg).groups())
    O.check_occlusion("vgg16", patch, stride)  # what the sentence offers does fit
    with pytest.raises(budget.BudgetError):
        O.check_occlusion("vgg16", patch - 1, (patch - 1) // 2)  # and it is the nearest that does
    with pytest.raises(budget.BudgetError) as e:
        O.check_occlusion("vgg16", 40, 4)
    assert re.search(r"with a stride of \d+ px \(\d+ forward passes\) it would need", str(e.value))
    O.check_occlusion("efficientnet_lite0", 56, 28)  # the page's default setting
    with pytest.raises(budget.BudgetError) as e:
        O.check_occlusion("vgg16", 8, 4, step=4)  # offers only what the page's sliders can be set to
    patch = int(re.search(r"and a (\d+) px patch", str(e.value)).group(1))
    assert patch % 4 == 0


def test_gradcam_that_does_not_fit_offers_a_gradient_free_method():
    with pytest.raises(budget.BudgetError) as e:
        C.check_cam(registry.get("efficientnet_b7"), "gradcam")
    assert offered(str(e.value)) == "with Eigen-CAM"
    C.check_cam(registry.get("efficientnet_b7"), "eigencam")
    C.check_cam(registry.get("resnet50"), "gradcam")


def test_batches_shrink_to_fit_and_the_budget_is_a_setting(monkeypatch):
    assert budget.forward_batch("resnet50", 16) == 16
    assert budget.forward_batch("efficientnet_b7", 32) < 32
    monkeypatch.setenv(budget.MEMORY_ENV, "100000")
    G.check_erf("efficientnet_b7")
    assert budget.forward_batch("efficientnet_b7", 32) == 32


def test_the_estimate_covers_what_effective_rf_really_uses():
    # Peak resident memory of a run in a fresh process, against the estimate that admitted it.
    script = textwrap.dedent("""
        import resource, sys
        from zoo.analysis.gradient_rf import effective_rf, erf_bytes
        from zoo.analysis import summarize
        summarize("efficientnet_b4")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        effective_rf("efficientnet_b4", samples=1)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(after - before, erf_bytes("efficientnet_b4", samples=1))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    used, estimate = map(int, out.stdout.split())
    assert used < estimate, (used, estimate)
