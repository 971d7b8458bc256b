"""Layer tables: hand-checked rows, golden whole tables, and a differential check against torchinfo."""
import json
from pathlib import Path

import pytest
import torch

from zoo import registry
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
    assert list(st.index) == ["features", "avgpool", "classifier"]  # the loose pool is a row of its own
    assert 89 < st.loc["classifier", "params_pct"] < 90
    assert st.loc["features", "macs_pct"] > 99


def test_resnet_stages_in_network_order_with_loose_pools_on_their_own():
    st = summarize("resnet50").stages
    assert list(st["stage"]) == ["conv1 + bn1 + relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                                 "avgpool", "fc"]
    shape = dict(zip(st["stage"], st["output_shape"]))
    assert shape["conv1 + bn1 + relu"] == (1, 64, 112, 112) and shape["maxpool"] == (1, 64, 56, 56)
    assert shape["layer4"] == (1, 2048, 7, 7) and shape["avgpool"] == (1, 2048, 1, 1)


@pytest.mark.parametrize("name, stage, shape", [
    # Where the lesson is concatenation, what leaves a stage is not its last layer's output.
    ("densenet121", "features.denseblock1", (1, 256, 56, 56)),
    ("densenet121", "features.conv0 + norm0 + relu0", (1, 64, 112, 112)),
    ("densenet121", "features.norm5", (1, 1024, 7, 7)),
    ("googlenet", "inception3a", (1, 256, 28, 28)),
    ("googlenet", "conv3", (1, 192, 56, 56)),  # maxpool2 is a stage of its own
    ("googlenet", "maxpool2", (1, 192, 28, 28)),
    ("inception_v3", "Mixed_5b", (1, 256, 35, 35)),
    ("efficientnet_lite0", "_conv_stem + _bn0 + act", (1, 32, 112, 112)),
    ("efficientnet_lite0", "_conv_head + _bn1 + act", (1, 1280, 7, 7)),
])
def test_stage_output_shapes_by_hand(name, stage, shape):
    st = summarize(name).stages.set_index("stage")
    assert st.loc[stage, "output_shape"] == shape


def test_densenet_stem_and_norm5_are_separate_stages_in_order():
    names = list(summarize("densenet121").stages["stage"])
    assert names[:3] == ["features.conv0 + norm0 + relu0", "features.pool0", "features.denseblock1"]
    assert names[-2:] == ["features.norm5", "classifier"]


def test_training_only_heads_come_last_and_do_not_run():
    st = summarize("inception_v3").stages
    aux = st[st["stage"] == "AuxLogits"].iloc[0]
    assert st["stage"].iloc[-1] == "AuxLogits" and not aux["runs"] and aux["output_shape"] == ()
    assert st["runs"].iloc[:-1].all()
    s = summarize("inception_v3")
    assert s.params - s.params_in_eval == aux["params"] == 3_326_696


def _stage_module_outputs(name):
    """Independently of the analysis: hook the modules each stage row names and run the model.

    A stage's output is the first call of its last member after its first member ran (Lite's
    shared ``act`` runs in the stem and again in the head).
    """
    e = registry.get(name)
    model = e.build("meta")
    st = summarize(name).stages
    members = {}
    for stage in st["stage"]:
        first, *rest = stage.split(" + ")
        parent = first.rpartition(".")[0]
        members[stage] = [first] + [f"{parent}.{r}" if parent else r for r in rest]
    calls, hooks = [], []
    for path in {p for ms in members.values() for p in ms}:
        hooks.append(model.get_submodule(path).register_forward_hook(
            lambda _m, _i, out, path=path: calls.append((path, tuple(out.shape)))))
    try:
        with torch.no_grad():
            model(torch.empty(1, 3, e.input_size, e.input_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    seen, starts = {}, {}
    for stage, ms in members.items():
        start = next((i for i, (p, _) in enumerate(calls) if p == ms[0]), None)
        if start is not None:
            seen[stage] = next(shape for p, shape in calls[start:] if p == ms[-1])
            starts[stage] = start
    return st, seen, sorted(starts, key=starts.get)


@pytest.mark.parametrize("name", registry.names())
def test_every_stage_shape_is_what_its_module_returns(name):
    st, seen, called_order = _stage_module_outputs(name)
    for r in st.itertuples():
        if r.runs:
            assert r.output_shape == seen[r.stage], (r.stage, r.output_shape, seen[r.stage])
        else:
            assert r.stage not in seen and r.output_shape == ()
    assert list(st["stage"][st["runs"]]) == called_order  # network order: as the stages first run
    assert int(st["params"].sum()) == summarize(name).params
    assert int(st["macs"].sum()) == summarize(name).macs


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
