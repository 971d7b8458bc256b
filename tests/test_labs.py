"""The building-block labs: every measured number against its closed form, over a grid of inputs.

"Measured" is the real module counted by zoo.analysis (meta device); "formula" is the paper's
closed form computed independently in zoo.labs. A few checks go further and hold the numbers
against the papers' own tables or against torchvision's weights metadata.
"""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from zoo import labs


def assert_formula_matches(df):
    assert (df["params"] == df["params_formula"]).all(), df[["variant", "params", "params_formula"]]
    assert (df["macs"] == df["macs_formula"]).all(), df[["variant", "macs", "macs_formula"]]


# --- Lab 1: 3x3 stacks vs large kernels -------------------------------------------------------------

@pytest.mark.parametrize("n,channels,size,cin", [
    (n, c, s, cin) for n, c, s, cin in itertools.product((1, 2, 3, 5), (8, 64, 96), (7, 56), (None, 3))
])
def test_kernel_stack_matches_formula(n, channels, size, cin):
    df = labs.kernel_stack_lab(n, channels, size, in_channels=cin)
    assert_formula_matches(df)
    assert (df["rf_px"] == 2 * n + 1).all()  # the traced-graph analysis agrees with 1 + n(3 - 1)
    assert list(df["nonlinearities"]) == [n, 1]


def test_27_vs_49_c_squared():
    df = labs.kernel_stack_lab(3, 100, 10)
    weights = (df["params"] - df["layers"] * 100).tolist()  # without the biases
    assert weights == [27 * 100**2, 49 * 100**2]


def test_vgg_worked_example_from_the_notes():
    ex = labs.vgg_worked_example()
    assert_formula_matches(ex)
    assert ex["params"].tolist() == [1_792, 4_864, 38_720]


def test_vgg16_runs_of_3x3():
    runs = labs.conv_runs("vgg16")
    assert runs["convs"].tolist() == [2, 2, 3, 3, 3]
    assert runs["rf_px"].tolist() == [5, 5, 7, 7, 7]
    assert runs["out_channels"].tolist() == [64, 128, 256, 512, 512]
    assert runs["size_px"].tolist() == [224, 112, 56, 28, 14]


def test_receptive_field_recurrence():
    assert labs.receptive_field([(3, 1)] * 3) == 7
    assert labs.receptive_field([(11, 4), (3, 2), (5, 1)]) == 11 + 2 * 4 + 4 * 8  # AlexNet's first three


def test_alexnet_large_kernels():
    big = labs.large_kernels("alexnet")
    assert big["name"].tolist() == ["features.0", "features.3"]
    assert big["kernel"].tolist() == [(11, 11), (5, 5)]


# --- Lab 2: Inception ------------------------------------------------------------------------------

def test_googlenet_configs_are_read_from_torchvision():
    cfg = labs.googlenet_inception_configs().set_index("module")
    assert len(cfg) == 9
    a3 = cfg.loc["inception3a"]
    assert [int(a3[f]) for f in labs.INCEPTION_FIELDS] == [192, 64, 96, 128, 16, 32, 32]
    assert int(a3["size_px"]) == 28 and int(cfg.loc["inception4a", "size_px"]) == 14
    # each module's output is the next one's input
    out = cfg["c1"] + cfg["c3"] + cfg["c5"] + cfg["pool_proj"]
    assert out.loc["inception3a"] == cfg.loc["inception3b", "in_channels"]
    assert out.loc["inception4a"] == cfg.loc["inception4b", "in_channels"]


@pytest.mark.parametrize("module", [f"inception{m}" for m in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")])
def test_inception_modules_match_formula(module):
    cfg = labs.googlenet_inception_configs().set_index("module").loc[module]
    df = labs.inception_lab(*(int(cfg[f]) for f in labs.INCEPTION_FIELDS), int(cfg["size_px"]))
    assert_formula_matches(df)
    assert (df["out_channels"] == df["out_channels_measured"]).all()
    branch_macs = df[[f"macs_{b}" for b in labs.INCEPTION_BRANCHES]].sum(axis=1)
    assert (branch_macs == df["macs"]).all()
    assert df["macs"].iloc[1] < df["macs"].iloc[0]


@pytest.mark.parametrize("cin,c1,r3,c3,r5,c5,pp,size", [
    (1, 1, 1, 1, 1, 1, 1, 7), (64, 32, 48, 64, 8, 16, 16, 13), (1024, 512, 512, 512, 512, 512, 512, 56),
])
def test_inception_custom_sizes(cin, c1, r3, c3, r5, c5, pp, size):
    assert_formula_matches(labs.inception_lab(cin, c1, r3, c3, r5, c5, pp, size))


def test_inception_ops_match_the_papers_table_1():
    # Szegedy et al. 2014, Table 1 "ops": inception(3a) 128M, inception(4a) 73M (biases not counted).
    cfg = labs.googlenet_inception_configs().set_index("module")
    for module, ops_m in (("inception3a", 128), ("inception4a", 73)):
        c = cfg.loc[module]
        df = labs.inception_lab(*(int(c[f]) for f in labs.INCEPTION_FIELDS), int(c["size_px"]))
        assert math.floor(df["macs"].iloc[1] / 1e6) == ops_m


@pytest.mark.parametrize("cin,mid,cout,k,size", [(512, 256, 256, 3, 14), (512, 256, 64, 5, 28), (64, 512, 8, 7, 7)])
def test_reduction_matches_formula(cin, mid, cout, k, size):
    df = labs.reduction_lab(cin, mid, cout, k, size)
    assert_formula_matches(df)


def test_googlenet_aux_heads():
    aux = labs.googlenet_aux_heads()
    assert aux.heads["attached_after"].tolist() == ["inception4a", "inception4d"]
    assert [s[1] for s in aux.heads["input_shape"]] == [512, 528]
    assert aux.params_with_aux - aux.params_inference == aux.heads["params"].sum()
    assert aux.params_inference == aux.published_params  # torchvision's weights metadata, without the heads


# --- Lab 3: residual blocks ------------------------------------------------------------------------

@pytest.mark.parametrize("width,size,down", list(itertools.product((16, 64, 128, 512), (7, 56, 57), (False, True))))
def test_residual_blocks_match_formula(width, size, down):
    df = labs.residual_lab(width, size, down)
    assert_formula_matches(df)
    assert (df["out_px"] == df["out_px_formula"]).all()
    assert (df["shortcut"] == "identity").all() != down


def test_bottleneck_vs_basic_as_in_figure_5():
    basic, bottleneck, wide = labs.residual_lab(64, 56, False)["params"]
    # He et al. Fig. 5: a basic block on 64-d and a bottleneck on 256-d (width 64) cost about the same.
    assert basic == 2 * 9 * 64 * 64 + 2 * 2 * 64
    assert bottleneck == 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    assert wide == 2 * 9 * 256 * 256 + 2 * 2 * 256 and wide > 16 * bottleneck


def test_resnet_blocks_read_from_the_model():
    b = labs.resnet_blocks("resnet50").set_index("block")
    assert b.loc["layer2.0"].tolist()[:6] == ["Bottleneck", 256, 128, 512, 2, "projection"]
    assert len(b) == 16 and (b["shortcut"] == "projection").sum() == 4
    # the blocks' parameters add up to the stage totals of the model page's analysis
    stages = labs.resnet_stages(("resnet50",)).set_index("stage")
    for layer in ("layer1", "layer2", "layer3", "layer4"):
        assert b[b.index.str.startswith(layer + ".")]["params"].sum() == stages.loc[layer, "params"]
    r34 = labs.resnet_blocks("resnet34").set_index("block")
    assert set(r34["type"]) == {"BasicBlock"} and len(r34) == 16
    assert r34.loc["layer2.0"].tolist()[:6] == ["BasicBlock", 64, 128, 128, 2, "projection"]
    assert r34["stride"].tolist().count(2) == 3


# --- Lab 4: gradient flow --------------------------------------------------------------------------

def test_gradient_flow_shape_and_determinism():
    g = labs.gradient_flow(20)
    assert len(g) == 2 * 20 and g.groupby("net")["layer"].max().tolist() == [20, 20]
    assert g.equals(labs.gradient_flow(20))


def _first_over_last(g, net):
    d = g[g["net"] == net]["grad_norm"].tolist()
    return d[0] / d[-2]  # first conv / last conv


def test_plain_net_gradient_vanishes_without_bn_residual_does_not():
    g = labs.gradient_flow(20, batch_norm=False, he_init=False)
    assert _first_over_last(g, "plain") < 1e-4
    assert _first_over_last(g, "residual") > 1e-2


def test_with_bn_plain_gradient_grows_toward_the_input():
    g = labs.gradient_flow(56, batch_norm=True, he_init=True)
    assert _first_over_last(g, "plain") > 100
    assert _first_over_last(g, "residual") < 100


@pytest.mark.parametrize("depth", [8, 20, 56])
def test_identity_blocks_pass_the_gradient_unchanged(depth):
    z = labs.block_input_gradients(depth, zero_residual=True)
    for _, stage in z.groupby("stage"):
        norms = torch.tensor(stage["grad_norm"].tolist())
        assert torch.allclose(norms, norms[0].expand_as(norms), rtol=1e-5)
    changing = labs.block_input_gradients(depth, zero_residual=False)
    assert changing["grad_norm"].nunique() > 1


# --- Lab 5: dense blocks ---------------------------------------------------------------------------

@pytest.mark.parametrize("k0,k,L,bn,theta", [
    (16, 4, 1, 1, 0.1), (64, 32, 6, 4, 0.5), (24, 12, 16, 4, 1.0), (512, 64, 32, 8, 0.3), (64, 12, 3, 2, 0.7),
])
def test_dense_block_matches_formula(k0, k, L, bn, theta):
    d = labs.dense_lab(k0, k, L, 14, bn, theta)
    lay = d.layers
    assert (lay["in_channels"] == lay["in_channels_formula"]).all()
    assert (lay["conv1_in_channels"] == lay["in_channels_formula"]).all()
    assert (lay["bottleneck_channels"] == bn * k).all() and (lay["new_channels"] == k).all()
    assert (lay["params"] == lay["params_formula"]).all() and (lay["macs"] == lay["macs_formula"]).all()
    assert_formula_matches(d.totals)
    assert d.totals["out_channels"].tolist() == [k0 + L * k, math.floor(theta * (k0 + L * k)), k0 + L * k]
    assert d.totals["out_px"].tolist() == [14, 7, 14]


def test_densenet121_blocks():
    z = labs.densenet_blocks("densenet121")
    assert z["layers"].tolist() == [6, 12, 24, 16]
    assert set(z["growth_rate"]) == {32} and set(z["bottleneck"]) == {128}
    assert z["theta"].dropna().tolist() == [0.5, 0.5, 0.5]
    assert (z["out_channels"] == z["k0"] + z["layers"] * z["growth_rate"]).all()


# --- Lab 6: depthwise-separable convolution, MobileNet V1 ------------------------------------------

@pytest.mark.parametrize("M,N,k,size", list(itertools.product((8, 32, 1024), (8, 64, 512), (3, 5, 7), (7, 112))))
def test_separable_matches_formula(M, N, k, size):
    df = labs.separable_lab(M, N, k, size)
    assert_formula_matches(df)
    assert df["macs"].iloc[1] / df["macs"].iloc[0] == pytest.approx(labs.separable_ratio(N, k), rel=1e-12)


@pytest.mark.parametrize("alpha", [0.25, 0.35, 0.5, 0.75, 1.0])
def test_mobilenet_v1_exact_formula(alpha):
    df = labs.mobilenet_v1_lab((alpha,), (0.5, 0.75, 128 / 224, 1.0))
    assert (df["params"] == df["params_formula"]).all() and (df["macs"] == df["macs_formula"]).all()
    df = labs.mobilenet_v1_lab((alpha,), tuple(px / 224 for px in (128, 160, 192, 224)))  # the paper's sizes
    if alpha >= 0.5:  # the paper's rule of thumb, good to a few percent away from the tiniest nets
        assert (abs(df["macs_ratio"] / df["macs_ratio_rule"] - 1) < 0.1).all()
        assert (abs(df["body_params_ratio"] / df["body_params_ratio_rule"] - 1) < 0.1).all()


def test_mobilenet_v1_against_the_papers_tables_6_and_7():
    # Howard et al. 2017: Table 6 (width) millions of params and mult-adds; Table 7 (resolution) mult-adds.
    width = labs.mobilenet_v1_lab((1.0, 0.75, 0.5, 0.25), (1.0,))
    assert [round(p / 1e6, 1) for p in width["params"]] == [4.2, 2.6, 1.3, 0.5]
    assert [round(m / 1e6) for m in width["macs"]] == [569, 325, 149, 41]
    res = labs.mobilenet_v1_lab((1.0,), (1.0, 192 / 224, 160 / 224, 128 / 224))
    paper = [569, 418, 290, 186]
    assert all(abs(m / 1e6 - p) < 1 for m, p in zip(res["macs"], paper))  # the paper rounds loosely


def test_mobilenet_v1_pointwise_share():
    split = labs.mobilenet_v1_cost_split().set_index("kind")
    assert split.loc["pointwise 1×1", "macs_pct"] == pytest.approx(94.86, abs=0.01)  # the paper's Table 2


def test_zoo_mobilenets_accuracy_from_metadata():
    zm = labs.zoo_mobilenets().set_index("name")
    assert math.isnan(zm.loc["mobilenet_v1", "acc1"])
    assert zm.loc["mobilenet_v2", "acc1"] == labs.registry.get("mobilenet_v2").acc1


# --- Lab 7: compound scaling -----------------------------------------------------------------------

def test_compound_multipliers():
    m = labs.compound_multipliers(1.0)
    assert m["flops_base"] == pytest.approx(1.92, abs=0.01)
    assert labs.compound_multipliers(3)["flops"] == pytest.approx(m["flops_base"] ** 3)


def test_single_dimension_scaling_against_rules():
    df = labs.single_dimension_scaling(2.0, 2.0, 2.0).set_index("scaling")
    assert df.loc["resolution only", "macs_ratio"] == pytest.approx(4.0, rel=0.01)
    assert df.loc["resolution only", "params_ratio"] == 1.0
    assert df.loc["depth only", "macs_ratio"] == pytest.approx(2.0, rel=0.05)
    assert df.loc["width only", "macs_ratio"] == pytest.approx(4.0, rel=0.1)
    assert df.loc["all three", "macs_ratio"] == pytest.approx(32.0, rel=0.1)


@pytest.mark.parametrize("phi", [3, 5, 7])
def test_compound_phi_roughly_doubles_flops(phi):
    m = labs.compound_multipliers(phi)
    df = labs.single_dimension_scaling(m["depth"], m["width"], m["resolution"]).set_index("scaling")
    assert df.loc["all three", "macs_ratio"] == pytest.approx(m["flops"], rel=0.2)


def test_efficientnet_family_read_from_models():
    fam = labs.efficientnet_family()
    assert fam["blocks"].iloc[0] == 16  # B0: 1+2+2+3+3+4+1 MBConv blocks
    assert (fam["head_channels"] == 4 * fam["last_stage_channels"]).all()
    assert fam["macs"].is_monotonic_increasing and fam["acc1"].notna().all()
    assert (fam["depth_ratio"] >= 1).all() and fam["phi_resolution"].is_monotonic_increasing


# --- LRN vs BatchNorm ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_lrn_and_bn_match_their_formulas(scale):
    a = labs.stem_activation() * scale
    assert a.shape == (1, 32, 112, 112)
    with torch.no_grad():
        lrn = labs.alexnet_lrn()(a)
        bn = torch.nn.BatchNorm2d(32, affine=False).train()(a)
    assert torch.allclose(lrn, labs.lrn_by_hand(a), rtol=1e-5, atol=1e-7)
    assert torch.allclose(bn, labs.batchnorm_by_hand(a), rtol=1e-4, atol=1e-5)
    demo = labs.lrn_vs_batchnorm(scale)
    assert torch.allclose(torch.from_numpy(demo.before / demo.lrn_divisor), lrn[0], rtol=1e-5, atol=1e-7)


def test_bn_is_scale_invariant_lrn_is_not():
    small, big = labs.lrn_vs_batchnorm(1.0), labs.lrn_vs_batchnorm(1000.0)
    live = small.channels["std_before"] > 1e-3
    for d in (small, big):
        assert d.channels.loc[live, "std_bn"].sub(1).abs().max() < 1e-3
        assert d.channels.loc[live, "mean_bn"].abs().max() < 1e-4
    k_beta = labs.LRN_K ** labs.LRN_BETA
    assert small.lrn_divisor.min() >= k_beta - 1e-6 and small.lrn_divisor.max() < 1.1 * k_beta
    assert big.lrn_divisor.max() > 10 * k_beta


# --- Activations ---------------------------------------------------------------------------------

def test_derivatives_match_closed_forms():
    c = labs.activation_curves()
    assert ((c["derivative"] - c["derivative_formula"]).abs() < 1e-12).all()
    assert c[c["activation"] == "sigmoid"]["derivative"].max() == pytest.approx(0.25)


@pytest.mark.parametrize("depth", [1, 10, 50])
def test_derivative_chain_is_fprime_max_to_the_n(depth):
    d = labs.derivative_chain(depth)
    assert ((d["gradient"] - d["gradient_formula"]).abs() <= 1e-12 * d["gradient_formula"].abs().clip(lower=1)).all()
    last = d[d["layers"] == depth].set_index("activation")["gradient"]
    assert last["sigmoid"] == pytest.approx(0.25**depth, rel=1e-9)
    assert last["relu"] == 1.0 and last["tanh"] == 1.0


def test_sigmoid_mlp_vanishes_relu_does_not():
    g = labs.mlp_gradient_flow(30)
    first = g[g["layer"] == 1].set_index("activation")["grad_norm"]
    last = g[g["layer"] == 30].set_index("activation")["grad_norm"]
    assert first["sigmoid"] < 1e-6 * last["sigmoid"]
    assert 0.1 < first["relu"] / last["relu"] < 10


# --- Weight decay --------------------------------------------------------------------------------

@pytest.mark.parametrize("lr,wd", [(0.1, 0.5), (0.01, 5e-4), (0.05, 0.1)])
def test_decay_alone_is_geometric(lr, wd):
    d = labs.sgd_decay_only(50, lr, wd)
    assert ((d["w_norm"] - d["w_norm_formula"]).abs() <= 1e-5 * d["w_norm_formula"]).all()


def test_decay_equivalences():
    d = labs.decay_equivalences().set_index(["update", "compared_with"])["max_abs_difference"]
    assert (d.iloc[:3] < 1e-6).all()
    assert d.iloc[3] > 1e-3  # Adam's coupled L2 and AdamW's decoupled decay are different updates


def test_weight_decay_shrinks_the_solution():
    d = labs.weight_decay_demo(300, 0.05, 1e-2, 0.9)
    end = d.groupby("weight_decay").tail(1).set_index("weight_decay")
    assert end.loc[1e-2, "w_norm"] < 0.8 * end.loc[0.0, "w_norm"]
    assert end.loc[1e-2, "loss"] < 0.1 * d["loss"].iloc[0]  # it still fits the data
