"""Inception lab: naive vs reduced Inception modules, the 1x1 reduction, GoogLeNet's auxiliary heads."""
from __future__ import annotations

import math

import pytest
import torch

from tests.labs.checks import assert_formula_matches
from zoo.labs import inception


def test_googlenet_configs_are_read_from_torchvision():
    cfg = inception.googlenet_inception_configs().set_index("module")
    assert len(cfg) == 9
    a3 = cfg.loc["inception3a"]
    assert [int(a3[f]) for f in inception.INCEPTION_FIELDS] == [192, 64, 96, 128, 16, 32, 32]
    assert int(a3["size_px"]) == 28 and int(cfg.loc["inception4a", "size_px"]) == 14
    # each module's output is the next one's input
    out = cfg["c1"] + cfg["c3"] + cfg["c5"] + cfg["pool_proj"]
    assert out.loc["inception3a"] == cfg.loc["inception3b", "in_channels"]
    assert out.loc["inception4a"] == cfg.loc["inception4b", "in_channels"]


@pytest.mark.parametrize("module", [f"inception{m}" for m in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")])
def test_inception_modules_match_formula(module):
    cfg = inception.googlenet_inception_configs().set_index("module").loc[module]
    df = inception.inception_lab(*(int(cfg[f]) for f in inception.INCEPTION_FIELDS), int(cfg["size_px"]))
    assert_formula_matches(df)
    assert (df["out_channels"] == df["out_channels_measured"]).all()
    branch_macs = df[[f"macs_{b}" for b in inception.INCEPTION_BRANCHES]].sum(axis=1)
    assert (branch_macs == df["macs"]).all()
    assert df["macs"].iloc[1] < df["macs"].iloc[0]


@pytest.mark.parametrize("cin,c1,r3,c3,r5,c5,pp,size", [
    (1, 1, 1, 1, 1, 1, 1, 7), (64, 32, 48, 64, 8, 16, 16, 13), (1024, 512, 512, 512, 512, 512, 512, 56),
])
def test_inception_custom_sizes(cin, c1, r3, c3, r5, c5, pp, size):
    assert_formula_matches(inception.inception_lab(cin, c1, r3, c3, r5, c5, pp, size))


def test_inception_ops_match_the_papers_table_1():
    # Szegedy et al. 2014, Table 1 "ops": inception(3a) 128M, inception(4a) 73M (biases not counted).
    cfg = inception.googlenet_inception_configs().set_index("module")
    for module, ops_m in (("inception3a", 128), ("inception4a", 73)):
        c = cfg.loc[module]
        df = inception.inception_lab(*(int(c[f]) for f in inception.INCEPTION_FIELDS), int(c["size_px"]))
        assert math.floor(df["macs"].iloc[1] / 1e6) == ops_m


@pytest.mark.parametrize("cin,mid,cout,k,size", [(512, 256, 256, 3, 14), (512, 256, 64, 5, 28), (64, 512, 8, 7, 7)])
def test_reduction_matches_formula(cin, mid, cout, k, size):
    df = inception.reduction_lab(cin, mid, cout, k, size)
    assert_formula_matches(df)


def test_googlenet_aux_heads():
    aux = inception.googlenet_aux_heads()
    assert aux.heads["attached_after"].tolist() == ["inception4a", "inception4d"]
    assert [s[1] for s in aux.heads["input_shape"]] == [512, 528]
    assert aux.params_with_aux - aux.params_inference == aux.heads["params"].sum()
    assert aux.params_inference == aux.published_params  # torchvision's weights metadata, without the heads
    # the same counts as the model page (zoo.compare.aux_params), and Inception v3 shown the same way
    from torchvision.models import inception_v3

    from zoo.compare import aux_params
    assert (aux.params_with_aux, aux.params_inference) == aux_params("googlenet")
    with torch.device("meta"):
        v3 = inception_v3(aux_logits=True, init_weights=False)
    assert aux.v3_with_aux == sum(p.numel() for p in v3.parameters())
    assert aux.v3_with_aux - aux.v3_inference == sum(p.numel() for p in v3.AuxLogits.parameters())
