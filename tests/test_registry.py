"""The catalogue against torchvision: every number we count must equal what the weights publish."""
import pytest
import torch

from zoo import registry
from zoo.analysis import summarize

ALL = registry.names()


@pytest.mark.parametrize("name", ALL)
def test_counted_totals_match_published_metadata(name):
    e = registry.get(name)
    s = summarize(name)
    assert s.input_size == (1, 3, e.input_size, e.input_size)
    if e.published_params is not None:
        assert s.params == e.published_params
    if e.published_gmacs is not None:
        gmacs = s.macs / 1e9
        # torchvision rounds _ops to 3 decimals: allow 0.5% or that rounding, whichever is larger.
        assert abs(gmacs - e.published_gmacs) <= max(0.005 * e.published_gmacs, 0.0006), (gmacs, e.published_gmacs)
    # The layer table must add up to the totals it reports.
    assert int(s.layers["params"].sum()) == s.params
    assert int(s.layers["macs"].sum()) == s.macs
    assert int(s.stages["params"].sum()) == s.params


def test_catalogue_covers_the_seven_families():
    fams = {e.family for e in registry.REGISTRY.values()}
    assert fams == set(registry.FAMILIES)
    for must in ["alexnet", "vgg16_bn", "googlenet", "inception_v3", "resnet152", "resnext50_32x4d",
                 "wide_resnet50_2", "densenet201", "mobilenet_v1", "mobilenet_v3_small", "efficientnet_b7",
                 "efficientnet_v2_l", "efficientnet_lite0"]:
        assert must in registry.REGISTRY
    for f in registry.FAMILIES.values():
        assert 2 <= len(f.key_ideas) <= 5 and f.arxiv.startswith("https://")


# The seven families' torchvision builders, by name: everything else torchvision lists (ConvNeXt,
# RegNet, ShuffleNet, SqueezeNet, MNASNet, ViT, Swin, MaxViT) belongs to other families.
SEVEN_FAMILIES = ("alexnet", "vgg", "googlenet", "inception", "resnet", "resnext", "wide_resnet", "densenet",
                  "mobilenet", "efficientnet")


def test_every_torchvision_model_of_the_seven_families_is_in_the_catalogue():
    import torchvision
    from torchvision.models import list_models

    theirs = [n for n in list_models(module=torchvision.models) if n.startswith(SEVEN_FAMILIES)]
    missing = sorted(set(theirs) - set(registry.REGISTRY))
    assert not missing, f"torchvision models missing from the catalogue: {missing}"
    assert {"resnext101_32x8d", "resnext101_64x4d", "wide_resnet101_2"} <= set(theirs)
    # ... and every catalogue model torchvision builds is one of torchvision's classification models.
    assert {e.name for e in registry.REGISTRY.values() if e.from_torchvision} == set(theirs)


def test_metadata_is_read_not_retyped():
    from torchvision.models import ResNet50_Weights

    e = registry.get("resnet50")
    assert e.weights is ResNet50_Weights.DEFAULT
    assert e.acc1 == ResNet50_Weights.DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert e.preprocess == {"resize": 232, "crop": 224, "interpolation": "bilinear",
                            "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    assert registry.get("inception_v3").preprocess["resize"] == 342
    assert registry.get("inception_v3").input_size == 299
    assert registry.get("efficientnet_b7").input_size == 600
    assert len(e.categories) == 1000


def test_unknown_model_message_is_one_sentence_with_suggestions():
    with pytest.raises(registry.UnknownModelError) as ei:
        registry.get("resnet5")
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith("Unknown model 'resnet5'") and "resnet50" in msg


def test_meta_build_allocates_nothing():
    m = registry.get("vgg16").build("meta")
    assert all(p.device.type == "meta" for p in m.parameters())
    assert not m.training


def test_mobilenet_v1_matches_the_paper():
    # Howard et al. 2017, Tables 6 and 8: 1.0 MobileNet-224 has 4.2 M params and 569 M mult-adds.
    s = summarize("mobilenet_v1")
    assert round(s.params / 1e6, 1) == 4.2
    assert round(s.macs / 1e6) == 569
    from zoo.analysis import summarize_module
    from zoo.models.mobilenet_v1 import MobileNetV1

    with torch.device("meta"):
        half = summarize_module(MobileNetV1(alpha=0.5), 160)
    # Table 9: 0.50 MobileNet-160 has 1.32 M params and 76 M mult-adds. The paper's count leaves
    # out BatchNorm's affine parameters (10,944 here), which torchvision-style counts include.
    bn = sum(r.params for r in half.layers.itertuples() if r.type == "BatchNorm2d")
    assert round((half.params - bn) / 1e6, 2) == 1.32
    assert 75e6 < half.macs < 78e6


def test_lite0_checkpoint_loads_strictly_with_weights_only():
    from zoo.models.efficientnet_lite import build, checkpoint_path, remap_checkpoint

    state = torch.load(checkpoint_path(), weights_only=True, map_location="cpu")
    model = build("efficientnet_lite0")
    result = model.load_state_dict(remap_checkpoint(state), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked")) == summarize(
        "efficientnet_lite0").params + sum(v.numel() for k, v in state.items() if "running_" in k)
