"""Layer tables: hand-checked rows, golden whole tables, and a differential check against torchinfo."""
import json
from pathlib import Path

import pytest
import torch

from zoo.analysis import InputSizeError, summarize, summarize_module

GOLDEN = Path(__file__).parent / "golden"


def test_resnet50_rows_by_hand():
    layers = summarize("resnet50").layers.set_index("name")
    conv1 = layers.loc["conv1"]
    assert conv1.params == 7 * 7 * 3 * 64
    assert conv1.macs == 7 * 7 * 3 * 64 * 112 * 112
    assert conv1.output_shape == (1, 64, 112, 112)
    assert (conv1.kernel, conv1.stride, conv1.padding) == ((7, 7), (2, 2), (3, 3))
    # layer2.0 is a bottleneck at 512 channels: 1x1 256->128, 3x3 128->128 (stride 2), 1x1 128->512.
    assert layers.loc["layer2.0.conv2"].params == 3 * 3 * 128 * 128
    assert layers.loc["layer2.0.conv2"].output_shape == (1, 128, 28, 28)
    assert layers.loc["layer2.0.downsample.0"].params == 256 * 512
    assert layers.loc["fc"].macs == 2048 * 1000


def test_vgg16_classifier_holds_most_parameters_convolutions_most_macs():
    st = summarize("vgg16").stages.set_index("stage")
    assert list(st.index) == ["features", "classifier"]
    assert 89 < st.loc["classifier", "params_pct"] < 90
    assert st.loc["features", "macs_pct"] > 99


def test_resnet_stages_roll_up_as_in_the_paper():
    assert list(summarize("resnet50").stages["stage"]) == ["conv1", "layer1", "layer2", "layer3", "layer4", "fc"]


@pytest.mark.parametrize("name", ["alexnet", "resnet50", "mobilenet_v2"])
def test_golden_layer_tables(name):
    """Whole tables against reviewed golden files (regenerate with tests/golden/regenerate.py)."""
    got = summarize(name).to_json()
    want = json.loads((GOLDEN / f"{name}.json").read_text())
    assert got == want


def test_torchinfo_agrees_once_bias_additions_are_removed():
    """Differential check against torchinfo on AlexNet (only Conv/Linear multiply there).

    torchinfo also counts one "mult-add" per bias addition (one per output element of every
    Conv/Linear with a bias); torchvision's _ops and FlopCounterMode do not.
    """
    from torchinfo import summary as ti_summary
    from torchvision.models import alexnet

    stats = ti_summary(alexnet(), input_size=(1, 3, 224, 224), verbose=0)
    ours = summarize("alexnet")
    layers = ours.layers
    weighted = layers[layers["type"].isin(["Conv2d", "Linear"])]
    bias_adds = sum(int(torch.Size(s[1:]).numel()) for s in weighted["output_shape"])
    assert stats.total_params == ours.params
    assert stats.total_mult_adds - bias_adds == ours.macs


def test_input_size_errors_are_one_sentence():
    with pytest.raises(InputSizeError) as ei:
        summarize("alexnet", 20)
    assert "too small" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(InputSizeError):
        summarize("resnet50", 100000)
    # A model without metadata still fails cleanly when a map would shrink to nothing.
    from torch import nn

    with torch.device("meta"):
        net = nn.Sequential(nn.Conv2d(3, 4, 7), nn.Conv2d(4, 4, 7))
    with pytest.raises(InputSizeError):
        summarize_module(net, 8)


def test_input_size_changes_macs_not_params():
    a, b = summarize("resnet18", 224), summarize("resnet18", 112)
    assert a.params == b.params
    assert b.macs < a.macs / 3.5
