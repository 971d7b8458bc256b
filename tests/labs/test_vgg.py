"""VGG lab: n stacked 3x3 convs vs one (2n+1)x(2n+1) conv, and VGG-16's runs of 3x3 convs."""
from __future__ import annotations

import itertools

import pytest

from tests.labs.checks import assert_formula_matches
from zoo.labs import vgg


@pytest.mark.parametrize("n,channels,size,cin", [
    (n, c, s, cin) for n, c, s, cin in itertools.product((1, 2, 3, 5), (8, 64, 96), (7, 56), (None, 3))
])
def test_kernel_stack_matches_formula(n, channels, size, cin):
    df = vgg.kernel_stack_lab(n, channels, size, in_channels=cin)
    assert_formula_matches(df)
    assert (df["rf_px"] == 2 * n + 1).all()  # the traced-graph analysis agrees with 1 + n(3 - 1)
    assert list(df["nonlinearities"]) == [n, 1]


def test_27_vs_49_c_squared():
    df = vgg.kernel_stack_lab(3, 100, 10)
    weights = (df["params"] - df["layers"] * 100).tolist()  # without the biases
    assert weights == [27 * 100**2, 49 * 100**2]


def test_vgg_worked_example_from_the_notes():
    ex = vgg.vgg_worked_example()
    assert_formula_matches(ex)
    assert ex["params"].tolist() == [1_792, 4_864, 38_720]


def test_vgg16_runs_of_3x3():
    runs = vgg.conv_runs("vgg16")
    assert runs["convs"].tolist() == [2, 2, 3, 3, 3]
    assert runs["rf_px"].tolist() == [5, 5, 7, 7, 7]
    assert runs["out_channels"].tolist() == [64, 128, 256, 512, 512]
    assert runs["size_px"].tolist() == [224, 112, 56, 28, 14]
    # typed facts: module names and per-axis kernel tuples, formatted only by the page
    assert runs["layers"].iloc[0] == ("features.0", "features.2")
    assert runs["kernels"].iloc[2] == ((3, 3),) * 3


def test_alexnet_large_kernels():
    big = vgg.large_kernels("alexnet")
    assert big["name"].tolist() == ["features.0", "features.3"]
    assert big["kernel"].tolist() == [(11, 11), (5, 5)]
