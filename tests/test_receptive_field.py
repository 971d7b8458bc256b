"""Receptive fields: analytic values against literature, an independent recurrence and measured gradients."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo import registry
from zoo.analysis import InputSizeError, summarize
from zoo.analysis import gradient_rf as G
from zoo.analysis.gradient_rf import GlobalLayerError, effective_rf, gradient_rf, measure_module
from zoo.analysis.receptive_field import UnknownLayerError, analyze_module, receptive_fields, rf_table

ROOT = Path(__file__).resolve().parents[1]
GEOMETRY_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.ZeroPad2d)


# -- analytic values -------------------------------------------------------------------------------

def test_vgg16_matches_the_issue_and_araujo():
    # conv1_1, pool1, conv2_1, pool2, conv3_1, conv3_2, pool3, conv4_1, conv4_2, pool4, conv5_1, conv5_2, pool5
    layers = ["features.0", "features.4", "features.5", "features.9", "features.10", "features.12", "features.16",
              "features.17", "features.19", "features.23", "features.24", "features.26", "features.30"]
    a = receptive_fields("vgg16")
    assert [a.layer(n).rf for n in layers] == [3, 6, 10, 16, 24, 32, 44, 60, 76, 100, 132, 164, 212]
    pool5 = a.layer("features.30")
    assert (pool5.stride, pool5.padding) == (32, 90)  # Araujo et al.'s table: vgg_16 r=212, S=32, P=90
    assert a.final.name == "avgpool" and a.final.rf == 212  # the 7x7 adaptive pool is an identity at 224
    assert "identity" in a.layer("avgpool").note


@pytest.mark.parametrize("name, layer, rf, stride, padding", [
    ("alexnet", "features.12", 195, 32, 66),
    ("mobilenet_v1", None, 315, 32, 157),
    # torchvision's Inception v3 is TF-slim's geometry: Araujo et al. list r=1311, S=32, P=618.
    ("inception_v3", None, 1311, 32, 618),
])
def test_literature_values(name, layer, rf, stride, padding):
    a = receptive_fields(name)
    r = a.final if layer is None else a.layer(layer)
    assert (r.rf, r.stride, r.padding) == (rf, stride, padding)


def _chain(model: nn.Module, names: list[str]) -> dict[str, tuple[int, int, int]]:
    """The textbook recurrence along a list of layers, written independently of the traced graph."""
    mods = dict(model.named_modules())
    first = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    r, j, p, out = 1, 1, 0, {}
    for n in names:
        m = mods[n]
        if isinstance(m, nn.ZeroPad2d):
            p += m.padding[2] * j  # (left, right, top, bottom): the top shifts the rows
        else:
            k, s, pad, d = first(m.kernel_size), first(m.stride or m.kernel_size), first(m.padding), first(
                getattr(m, "dilation", 1))
            r, p, j = r + d * (k - 1) * j, p + pad * j, j * s
        out[n] = (r, j, p)
    return out


@pytest.mark.parametrize("name", ["alexnet", "vgg19_bn", "mobilenet_v1", "resnet50", "resnet18", "densenet121",
                                  "mobilenet_v2", "efficientnet_b0", "efficientnet_lite0"])
def test_graph_agrees_with_the_recurrence_along_the_main_path(name):
    """In these models the widest path runs through every conv/pool in registration order (shortcuts, dense
    concatenations and downsample 1x1s have smaller fields it contains); SE gates' 1x1 convs are the global path."""
    model = registry.get(name).build("meta")
    names = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.ZeroPad2d))
             and "downsample" not in n and ".fc" not in n]
    expected = _chain(model, names)
    a = receptive_fields(name)
    got = {n: (a.layer(n).rf, a.layer(n).stride, a.layer(n).padding) for n in names}
    assert got == expected


@pytest.mark.parametrize("name", registry.names())
def test_every_conv_and_pool_module_has_a_value(name):
    a = receptive_fields(name)
    rows = {r.name: r for r in a.layers}
    # summarize lists every leaf module (called or not) by the same path the lead's table merges on.
    layers = summarize(name).layers
    geo = layers[layers["type"].isin([t.__name__ for t in GEOMETRY_TYPES])]
    assert len(geo) > 0
    for n in geo["name"]:
        r = rows[n]
        assert r.is_global or r.rf >= 1, n
        assert r.is_global == ("whole image" in r.note) or r.global_dependence, n
    assert not a.final.is_global and a.final.stride == 32  # every catalogue model downsamples 32x
    # Merges: the union of the inputs' fields is the widest input's field, except where Inception v3
    # concatenates a 1x3 and a 3x1 branch (a cross, whose bounding box is wider than either).
    wider = {info.name for info in a.nodes.values() if any("wider than any one" in n for n in info.notes)}
    assert wider == ({"Mixed_7b.cat", "Mixed_7b.cat_1", "Mixed_7c.cat", "Mixed_7c.cat_1"}
                     if name == "inception_v3" else set())
    assert not any("disagree" in n for info in a.nodes.values() for n in info.notes)
    # The model page merges rf_table on "name": every conv/pool row gets a number, or is global.
    merged = geo.merge(rf_table(name), on="name", how="left", suffixes=("", "_rf"))
    assert merged["note"].notna().all()
    assert (merged["rf"].notna() | merged["note"].str.contains("whole image")).all()


def test_global_pools_say_whole_image_and_se_layers_are_flagged():
    a = receptive_fields("efficientnet_b0")
    head = a.layer("avgpool")
    assert head.is_global and head.rf is None and head.global_dependence
    se_pool = a.layer("features.1.0.block.1.avgpool")
    assert se_pool.is_global
    # Before the first SE gate nothing depends on the whole image; after it, everything does.
    assert not a.layer("features.1.0.block.0.0").global_dependence
    after = a.layer("features.1.0.block.2.0")
    assert after.global_dependence and not after.is_global and after.rf == 7
    assert "squeeze-and-excitation" in after.note
    assert a.final.global_dependence
    t = rf_table("efficientnet_b0").set_index("name")
    assert pd.isna(t.loc["avgpool", "rf"]) and bool(t.loc["features.8.0", "global_dependence"])
    # Lite0 and MobileNet V2 have no SE: no spatial layer depends on the whole image.
    for name in ("efficientnet_lite0", "mobilenet_v2"):
        assert not any(r.global_dependence for r in receptive_fields(name).layers if not r.is_global)


def test_adaptive_pool_from_actual_shapes():
    at = {size: receptive_fields("vgg16", size).layer("avgpool") for size in (224, 256, 448)}
    assert "identity" in at[224].note and at[224].rf == 212
    assert "uneven" in at[256].note  # 8x8 -> 7x7
    assert (at[448].rf, at[448].stride) == (212 + 32, 64)  # 14x14 -> 7x7: a real 2x2 pool


def test_ceil_mode_inception_aux_and_factorised_convs():
    g = receptive_fields("googlenet")
    assert "ceil_mode" in g.layer("maxpool1").note
    v3 = receptive_fields("inception_v3")
    aux = v3.layer("AuxLogits.conv1.conv")  # only in the training graph; still has a value
    assert "training mode" in aux.note and aux.rf > 0
    one_by_seven = v3.layer("Mixed_6b.branch7x7_2.conv")
    assert one_by_seven.field.rf[0] < one_by_seven.field.rf[1] and "rows x cols" in one_by_seven.note
    assert receptive_fields("inception_v3", 140).final.rf == 1311  # too small for the aux head: still fine


def test_user_errors():
    with pytest.raises(registry.UnknownModelError):
        receptive_fields("resnet5")
    with pytest.raises(InputSizeError, match="too small"):
        receptive_fields("alexnet", 16)
    with pytest.raises(InputSizeError, match="outside"):
        receptive_fields("alexnet", 0)
    with pytest.raises(UnknownLayerError):
        receptive_fields("alexnet").layer("features.99")


# -- small modules with hand-computed fields -------------------------------------------------------

class Offsets(nn.Module):
    """Two 3x3 paths whose fields sit 2 px apart: the sum sees their union, 5 px, wider than either."""

    def __init__(self):
        super().__init__()
        self.a = nn.Sequential(nn.ZeroPad2d((2, 0, 2, 0)), nn.Conv2d(3, 4, 3))
        self.b = nn.Sequential(nn.ZeroPad2d((0, 2, 0, 2)), nn.Conv2d(3, 4, 3))
        self.head = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.head(self.a(x) + self.b(x))


class Cross(nn.Module):
    """Inception v3's Mixed_7b trick: a 1x3 and a 3x1 branch side by side; the concatenation sees a cross."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.wide = nn.Conv2d(4, 4, (1, 3), padding=(0, 1))
        self.tall = nn.Conv2d(4, 4, (3, 1), padding=(1, 0))
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        return self.head(torch.cat([self.wide(x), self.tall(x)], 1))


class Functional(nn.Module):
    """Dilation, 'same' padding, ceil mode, functional pools and padding: every rule in a few lines."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2)
        self.c2 = nn.Conv2d(4, 4, 3, padding="same")
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)

    def forward(self, x):
        x = self.pool(self.c2(self.c1(x)))
        x = F.avg_pool2d(x, 3, stride=1, padding=1)
        x = F.pad(x, (1, 1, 1, 1))
        x = F.max_pool2d(x, 2)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def test_hand_computed_fields():
    with torch.device("meta"):
        a = analyze_module(Functional().eval(), 64)
    got = {r.name: (r.rf, r.stride, r.padding) for r in a.layers}
    assert got["c1"] == (5, 2, 2)  # effective kernel 2*(3-1)+1 = 5
    assert got["c2"] == (9, 2, 4)
    assert got["pool"] == (13, 4, 4)
    assert got["avg_pool2d"] == (21, 4, 8)
    assert got["pad"] == (21, 4, 12)
    assert got["max_pool2d"] == (25, 8, 12)
    assert got["adaptive_avg_pool2d"] == (None, None, None)
    assert a.final.name == "max_pool2d"

    with torch.device("meta"):
        o = analyze_module(Offsets().eval(), 16)
    assert (o.layer("head").rf, o.layer("head").padding) == (5, 2)
    assert (o.layer("a.1").rf, o.layer("a.1").padding, o.layer("b.1").padding) == (3, 2, 0)

    with torch.device("meta"):
        c = analyze_module(Cross().eval(), 32)
    assert c.layer("wide").field.rf == (3, 7) and c.layer("tall").field.rf == (7, 3)
    assert c.layer("head").field.rf == (7, 7) and c.layer("head").field.padding == (3, 3)
    assert "rows x cols" in c.layer("wide").note


@pytest.mark.parametrize("module, size, layer", [(Functional, 96, "max_pool2d"), (Offsets, 16, "head"),
                                                 (Cross, 32, "head")])
def test_gradient_check_on_hand_built_modules(module, size, layer):
    with torch.device("meta"):
        model = module().eval()
    g = measure_module(model, analyze_module(model, size), layer)
    assert g.matches and not g.clipped[0], (g.measured, g.analytic)


# -- measured with gradients: one model per family, each at an input where the centre unit is unclipped

REPRESENTATIVES = [
    ("alexnet", None, 225),
    ("vgg16", "features.23", 106),
    ("googlenet", "inception4c.branch3.0.conv", 148),
    ("inception_v3", "Mixed_6a.max_pool2d", 157),
    ("resnet50", "layer3.2.conv1", 150),
    ("densenet121", "features.denseblock2.denselayer6.conv1", 146),
    ("mobilenet_v1", None, 318),
    ("mobilenet_v2", "features.10.conv.0.0", 150),
    ("mobilenet_v3_small", "features.6.block.0.0", 128),
    ("mobilenet_v3_large", "features.9.block.0.0", 154),
    ("efficientnet_b0", "features.4.2.block.0.0", 122),
    ("efficientnet_lite0", "_blocks.8._depthwise_conv.1", 225),  # right after a TF-'SAME' ZeroPad2d
]


@pytest.mark.parametrize("name, layer, size", REPRESENTATIVES)
def test_gradient_support_equals_the_analytic_field(name, layer, size):
    g = gradient_rf(name, layer, size)
    # The centre unit's whole field is inside the image, so its extent checks rf and padding;
    # the neighbour's near edge checks the stride.
    assert not g.clipped[0], "choose a larger input: the check would not see the whole field"
    assert g.measured == g.analytic
    expected = receptive_fields(name, size).final if layer is None else receptive_fields(name, size).layer(layer)
    assert g.measured_rf == expected.field.rf


def test_float64_is_used_when_float32_might_underflow(monkeypatch):
    monkeypatch.setattr(G, "UNDERFLOW_GUARD", float("inf"))  # every float32 result looks suspicious
    g = gradient_rf("alexnet", "features.5", 96)
    assert g.dtype == torch.float64 and g.matches


def test_a_global_layer_has_no_unit_to_trace():
    with pytest.raises(GlobalLayerError):
        gradient_rf("resnet18", "avgpool")


# -- effective receptive field ---------------------------------------------------------------------

def _support_inside_box(e) -> bool:
    (r0, r1), (c0, c1) = e.box
    outside = e.gradient.copy()
    outside[r0:r1 + 1, c0:c1 + 1] = 0
    return not outside.any()


def test_erf_random_init_is_inside_and_much_smaller_than_the_field():
    e = effective_rf("resnet18", "layer3.0.conv1", "random", samples=2)
    assert e.gradient.shape == (224, 224) and float(e.gradient.max()) == 1.0
    assert _support_inside_box(e) and e.mass_in_box == pytest.approx(1.0)
    assert e.side_px(0.9) < max(e.rf_px)
    again = effective_rf("resnet18", "layer3.0.conv1", "random", samples=2)
    assert np.array_equal(e.gradient, again.gradient)  # seeded


def test_erf_trained_lite0_from_the_bundled_weights():
    e = effective_rf("efficientnet_lite0", "_blocks.5._depthwise_conv.1", "trained", samples=2)
    assert e.init == "trained" and _support_inside_box(e)
    assert e.side_px(0.9) < max(e.rf_px)


def test_erf_of_an_se_model_leaks_over_the_whole_image():
    e = effective_rf("mobilenet_v3_small", "features.4.block.0.0", "random", samples=2)
    assert e.global_dependence and not _support_inside_box(e) and e.mass_in_box < 1.0


def test_erf_trained_without_weights_is_one_sentence(monkeypatch, tmp_path):
    from zoo.inference.weights import WeightsUnavailableError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache, and downloads are off by default
    with pytest.raises(WeightsUnavailableError) as err:
        effective_rf("resnet18", "layer1.0.conv1", "trained")
    assert str(err.value).count(".") >= 1 and "\n" not in str(err.value)


# -- command line ----------------------------------------------------------------------------------

def cli(capsys, *args) -> tuple[int, str, str]:
    from zoo.__main__ import main

    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_rf_json_as_a_script():
    r = subprocess.run([sys.executable, "-m", "zoo", "rf", "vgg16", "--json"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["name"] == "vgg16" and doc["input_size"] == 224
    assert doc["final"] == {"name": "avgpool", "rf": 212, "stride": 32, "padding": 90}
    by = {layer["name"]: layer for layer in doc["layers"]}
    assert by["features.30"]["type"] == "MaxPool2d" and by["features.30"]["rf"] == 212
    assert {"name", "type", "rf", "stride", "padding"} <= set(doc["layers"][0])


def test_cli_rf_global_and_input_size(capsys):
    rc, out, _ = cli(capsys, "rf", "efficientnet_b0", "--input-size", "256", "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["input_size"] == 256
    head = next(layer for layer in doc["layers"] if layer["name"] == "avgpool")
    assert head["rf"] == "global" and head["stride"] is None and head["padding"] is None
    assert doc["final"]["rf"] == 851 and doc["final"]["name"] == "features.8.2"


@pytest.mark.parametrize("args, needle", [
    (("rf", "resnet5"), "Unknown model 'resnet5'"),
    (("rf", "alexnet", "--input-size", "16"), "too small"),
    (("rf", "alexnet", "--input-size", "0"), "outside"),
])
def test_cli_rf_user_errors(capsys, args, needle):
    rc, out, err = cli(capsys, *args)
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_cli_rf_text(capsys):
    rc, out, _ = cli(capsys, "rf", "mobilenet_v3_small")
    assert rc == 0
    assert "final spatial map features.12.2" in out and "global" in out and "squeeze-and-excitation" in out
