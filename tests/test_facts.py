"""Every model's own card against a table that cites where each fact comes from; card sentences against the modules.

A row: (year, arXiv id of the model's own paper or None, venue, ILSVRC result or None, source).
``year`` is the first public version (the NIPS paper for AlexNet, else arXiv v1), as zoo.cards says.
"""
import pytest

from zoo import cards, recipes, registry
from zoo.analysis import summarize

ALEX = (2012, None, "NIPS 2012", "15.3%", "Krizhevsky et al., NIPS 2012 proceedings; ILSVRC 2012 results")
VGG = (2014, "1409.1556", "ICLR 2015", None, "arXiv:1409.1556 v1 Sept 2014; 'Published as a conference paper at ICLR 2015'")
VGG_D = VGG[:3] + ("2nd place",) + ("arXiv:1409.1556 abstract ('second places in the ... classification'), Sec. 4.5",)
RESNET = (2015, "1512.03385", "CVPR 2016", None, "arXiv:1512.03385 v1 Dec 2015, CVPR 2016")
RESNEXT = (2016, "1611.05431", "CVPR 2017", None, "arXiv:1611.05431 v1 Nov 2016, CVPR 2017")
WRN = (2016, "1605.07146", "BMVC 2016", None, "arXiv:1605.07146 v1 May 2016, BMVC 2016")
DENSE = (2016, "1608.06993", "CVPR 2017", None, "arXiv:1608.06993 v1 Aug 2016, CVPR 2017")
MBV3 = (2019, "1905.02244", "ICCV 2019", None, "arXiv:1905.02244 v1 May 2019, ICCV 2019")
EFF = (2019, "1905.11946", "ICML 2019", None, "arXiv:1905.11946 v1 May 2019, ICML 2019")
EFF2 = (2021, "2104.00298", "ICML 2021", None, "arXiv:2104.00298 v1 Apr 2021, ICML 2021")
LITE = (2020, None, None, None, "TensorFlow blog, March 16 2020; tensorflow/tpu efficientnet/lite README (no paper)")

FACTS = {
    "alexnet": ALEX,
    **{f"vgg{d}": VGG_D if d == 16 else VGG for d in (11, 13, 16, 19)},
    # torchvision's BN variants: the paper's configurations plus BatchNorm (arXiv:1502.03167), no paper of their own.
    **{f"vgg{d}_bn": VGG[:4] + ("configuration from arXiv:1409.1556; BN added by torchvision",) for d in (11, 13, 16, 19)},
    "googlenet": (2014, "1409.4842", "CVPR 2015", "6.67%", "arXiv:1409.4842 v1 Sept 2014, CVPR 2015, Table 2"),
    "inception_v3": (2015, "1512.00567", "CVPR 2016", None, "arXiv:1512.00567 v1 Dec 2015, CVPR 2016; no ILSVRC entry"),
    **{f"resnet{d}": RESNET for d in (18, 34, 50, 101)},
    "resnet152": RESNET[:3] + ("3.57%",) + ("arXiv:1512.03385 abstract and Table 5 (ensemble incl. two 152-layer)",),
    **{n: RESNEXT for n in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d")},
    **{n: WRN for n in ("wide_resnet50_2", "wide_resnet101_2")},
    **{f"densenet{d}": DENSE for d in (121, 161, 169, 201)},
    "mobilenet_v1": (2017, "1704.04861", "arXiv", None, "arXiv:1704.04861 v1 Apr 2017 (not published at a venue)"),
    "mobilenet_v2": (2018, "1801.04381", "CVPR 2018", None, "arXiv:1801.04381 v1 Jan 2018, CVPR 2018"),
    "mobilenet_v3_small": MBV3, "mobilenet_v3_large": MBV3,
    **{f"efficientnet_b{i}": EFF for i in range(8)},
    **{f"efficientnet_v2_{s}": EFF2 for s in "sml"},
    **{f"efficientnet_lite{i}": LITE for i in range(3)},
}
# Catalogue models their family's founding paper introduced (all others must cite a paper of their own,
# or, for torchvision's VGG-BN variants, say that they modify one of the paper's configurations).
FOUNDED = {"alexnet", "googlenet", "mobilenet_v1", *(f"vgg{d}" for d in (11, 13, 16, 19)),
           *(f"resnet{d}" for d in (18, 34, 50, 101, 152)), *(f"densenet{d}" for d in (121, 161, 169, 201)),
           *(f"efficientnet_b{i}" for i in range(8))}


def test_every_catalogue_model_has_its_own_card_and_a_cited_row():
    assert set(cards.CARDS) == set(registry.REGISTRY)
    assert set(FACTS) == set(registry.REGISTRY)
    assert all(row[-1] for row in FACTS.values())  # every row cites its source


@pytest.mark.parametrize("name", registry.names())
def test_card_matches_the_cited_table(name):
    e, (year, arxiv, venue, ilsvrc, _source) = registry.get(name), FACTS[name]
    c = e.card
    assert e.year == c.year == year
    if venue is None:
        assert c.paper is None and c.sources, "a model without a paper links what exists"
    else:
        assert c.paper.venue == venue and c.paper.year == year
        if arxiv:
            assert c.paper.url == f"https://arxiv.org/abs/{arxiv}"
    if ilsvrc is None:
        assert c.ilsvrc is None, f"{name} did not compete itself"
    else:
        assert c.ilsvrc is not None and ilsvrc in c.ilsvrc


@pytest.mark.parametrize("name", registry.names())
def test_no_variant_falls_back_to_its_familys_card(name):
    e = registry.get(name)
    same_paper = e.card.paper == e.fam.paper
    if name in FOUNDED:
        assert same_paper and e.card.original
    elif name.startswith("vgg") and name.endswith("_bn"):
        assert same_paper and not e.card.original and "BatchNorm" in e.card.added and cards.BATCHNORM in e.card.sources
    else:
        assert not same_paper and not e.card.original, f"{name} shows its family's paper"
    # 'added' is the model's own sentence: no two cards of different papers share it.
    assert e.card.added and e.card.added not in {c.added for n, c in cards.CARDS.items()
                                                 if c.paper != e.card.paper and n != name}


def test_family_years_follow_the_same_convention_as_their_founding_model():
    for key, fam in registry.FAMILIES.items():
        founders = [n for n in FOUNDED if registry.get(n).family == key]
        assert founders and all(registry.get(n).year == fam.year == fam.paper.year for n in founders), key
    assert registry.FAMILIES["densenet"].year == 2016


def test_published_accuracy_only_where_torchvision_has_none():
    for name, e in registry.REGISTRY.items():
        pub = e.card.published
        if pub is not None:
            assert not recipes.weights_list(e) and pub.source.url.startswith("https://")
    assert cards.card("mobilenet_v1").published.acc1 == 70.6  # Howard et al. 2017, Table 8
    lite = {n: cards.card(n).published.acc1 for n in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")}
    assert lite == {"efficientnet_lite0": 75.1, "efficientnet_lite1": 76.7, "efficientnet_lite2": 77.6}
    assert all(cards.card(n).published.source == cards.LITE_README for n in lite)
    # The README's parameter counts (4.7 M / 5.4 M / 6.1 M) match the modules: the same models.
    assert [round(summarize(n).params / 1e6, 1) for n in lite] == [4.7, 5.4, 6.1]


# -- card sentences that describe the module are checked against the module --------------------------

def _convs(name):
    from torch import nn

    return [m for m in registry.get(name).build().modules() if isinstance(m, nn.Conv2d)]


def test_alexnet_is_torchvisions_one_weird_trick_variant():
    assert [m.out_channels for m in _convs("alexnet")] == [64, 192, 384, 256, 256]
    assert "64/192/384/256/256" in cards.card("alexnet").built_here
    from torch import nn

    assert not any(isinstance(m, nn.LocalResponseNorm) for m in registry.get("alexnet").build().modules())
    assert cards.ONE_WEIRD_TRICK.url == "https://arxiv.org/abs/1404.5997"


@pytest.mark.parametrize("depth, convs", [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_vgg_configurations_count_their_convolutions(depth, convs):
    for name in (f"vgg{depth}", f"vgg{depth}_bn"):
        layers = _convs(name)
        assert len(layers) == convs and {m.kernel_size for m in layers} == {(3, 3)}
    assert f"{convs} convolutional layers" in cards.card(f"vgg{depth}").added


def test_family_claims_are_attributed_and_counted():
    inception = " ".join(registry.FAMILIES["inception"].key_ideas)
    assert "the paper reports 12x" in inception
    (claim, counted), = cards.counted_checks("inception")
    ratio = summarize("alexnet").params / summarize("googlenet").params
    assert "12x" in claim and f"{ratio:.1f}x" in counted and round(ratio, 1) == 9.2
    alexnet = " ".join(registry.FAMILIES["alexnet"].key_ideas)
    assert "4-layer" in alexnet and "CIFAR-10" in alexnet and "6x" in alexnet
    vgg = registry.FAMILIES["vgg"].key_ideas[0]
    assert not vgg.startswith("Only") and "configuration C" in vgg and "1x1" in vgg
    resnet = registry.FAMILIES["resnet"].key_ideas[-1]
    assert "stride 1 in ResNet-50's layer1.0" in resnet
    m = registry.get("resnet50").build()
    assert m.layer1[0].downsample[0].stride == (1, 1) and m.layer2[0].downsample[0].stride == (2, 2)
    (_, counted), = cards.counted_checks("resnet")
    assert "layer1.0 stride 1" in counted and "layer2.0 stride 2" in counted


def test_model_sentences_match_the_modules():
    m = registry.get("resnet50").build()
    assert m.layer2[0].conv2.stride == (2, 2) and m.layer2[0].conv1.stride == (1, 1)  # ResNet v1.5
    assert "v1.5" in cards.card("resnet50").built_here
    wide, base = registry.get("wide_resnet50_2").build(), m
    assert wide.layer1[0].conv2.out_channels == 2 * base.layer1[0].conv2.out_channels
    assert wide.layer1[0].conv3.out_channels == base.layer1[0].conv3.out_channels
    for name, groups in (("resnext50_32x4d", 32), ("resnext101_32x8d", 32), ("resnext101_64x4d", 64)):
        conv2 = registry.get(name).build().layer1[0].conv2
        width = int(name.rsplit("x", 1)[1].rstrip("d"))
        assert conv2.groups == groups and conv2.out_channels == groups * width
        assert f"{groups} groups of width {width}" in cards.card(name).added
    for d, (k, blocks) in cards._DENSE.items():
        net = registry.get(f"densenet{d}").build()
        counted = [len(getattr(net.features, f"denseblock{i}")) for i in range(1, 5)]
        assert counted == list(blocks) and net.features.denseblock1.denselayer1.conv2.out_channels == k
    v3 = registry.get("inception_v3").build()
    assert sum(1 for n, _ in v3.named_children() if "Aux" in n) == 1  # one auxiliary classifier
    assert type(registry.get("efficientnet_v2_s").build().features[1][0]).__name__ == "FusedMBConv"
    from torch import nn

    gn = registry.get("googlenet").build()
    assert sum(isinstance(x, nn.BatchNorm2d) for x in gn.modules()) == len(_convs("googlenet"))
    v2 = registry.get("mobilenet_v2").build()
    expand = v2.features[2].conv[0][0]
    assert expand.out_channels == 6 * expand.in_channels


def test_recipe_labels_come_from_the_metadata():
    def kinds(name):
        return {w.version: w.kind for w in recipes.weights_list(registry.get(name))}

    # Checked by hand against each enum's _docs and recipe link (torchvision 0.29).
    assert kinds("resnet50") == {"IMAGENET1K_V1": "reference", "IMAGENET1K_V2": "new"}
    assert kinds("resnext101_64x4d") == {"IMAGENET1K_V1": "new"}  # its only weights are new-recipe
    assert kinds("efficientnet_v2_s") == {"IMAGENET1K_V1": "new"}
    assert kinds("efficientnet_v2_l") == {"IMAGENET1K_V1": "ported"}
    assert kinds("googlenet") == {"IMAGENET1K_V1": "ported"}
    assert kinds("densenet201") == {"IMAGENET1K_V1": "ported"}
    assert kinds("vgg16") == {"IMAGENET1K_V1": "reference", "IMAGENET1K_FEATURES": "features"}
    assert kinds("efficientnet_b1") == {"IMAGENET1K_V1": "ported", "IMAGENET1K_V2": "new"}
    # No weights is left without a label, and the enum's name alone never decides it.
    for e in registry.REGISTRY.values():
        for w in recipes.weights_list(e):
            assert w.kind != "unknown", w.name


def test_original_recipe_is_the_default_and_says_so():
    r50 = registry.get("resnet50")
    orig, best = recipes.accuracy(r50), recipes.accuracy(r50, "best")
    assert recipes.DEFAULT_CHOICE == "original"
    assert (orig.acc1, orig.weights) == (76.13, "ResNet50_Weights.IMAGENET1K_V1") and orig.source == "torchvision"
    assert (best.acc1, best.weights) == (80.858, "ResNet50_Weights.IMAGENET1K_V2")
    # With the papers' recipes DenseNet-201 ranks above ResNet-50, as its paper reports.
    assert recipes.accuracy(registry.get("densenet201")).acc1 > orig.acc1
    assert recipes.accuracy(registry.get("resnext101_64x4d")).source == "none"
    lite = recipes.accuracy(registry.get("efficientnet_lite0"))
    assert (lite.acc1, lite.source, lite.recipe) == (75.1, "published", "published by the authors")
    assert "IMAGENET1K_V2" in r50.loaded_weights and "DEFAULT" in r50.loaded_weights
