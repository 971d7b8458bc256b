"""CAM and occlusion: where the evidence lies on real photos, the post-activation, Score-CAM, and no side effects.

The bundled EfficientNet-Lite0 (real ImageNet weights, offline) on the sample photos. Thresholds
were set from measured values (in comments) with room for numerical noise, and each sits above
what a map with no preference for the object would score, so each test can fail.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.helpers import fingerprint
from zoo import registry
from zoo.concurrency import init_weights, random_input
from zoo.inference import cam as C
from zoo.inference import features as F
from zoo.inference import occlusion as O
from zoo.inference.images import SAMPLES_DIR as SAMPLES
from zoo.inference.images import load_sample
from zoo.inference.models import load_model
from zoo.inference.view import view

LITE0 = registry.get("efficientnet_lite0")
SEEN = view(LITE0)  # what Lite0 sees of a photo: photo boxes map into its input through this
TIGER_CAT, ESPRESSO = 282, 967
# Drawn by eye on chelsea.png (451 x 300): eyes, nose and mouth. The whole centre crop is cat, so
# this is the tightest box "around the cat" that is not the crop itself.
FACE_BOX = (125, 80, 345, 280)


@functools.lru_cache(maxsize=None)
def lite0() -> torch.nn.Module:
    return load_model("efficientnet_lite0")


@functools.lru_cache(maxsize=None)
def lite0_private() -> torch.nn.Module:
    return C.cam_instance(lite0())


@functools.lru_cache(maxsize=None)
def composite() -> tuple[Image.Image, tuple, tuple]:
    """The cat (top left) and the coffee cup (bottom right) on a grey 600 x 600 canvas, and their boxes."""
    def square(img: Image.Image, side: int = 300) -> Image.Image:
        w, h = img.size
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        return img.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.BICUBIC)

    canvas = Image.new("RGB", (600, 600), (128, 128, 128))
    canvas.paste(square(load_sample("chelsea.png")), (0, 0))
    canvas.paste(square(load_sample("coffee.jpg")), (300, 300))
    return canvas, (0, 0, 300, 300), (300, 300, 600, 600)


def area(box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1]) / 224**2


# -- where the evidence is ------------------------------------------------------------------------


def test_gradcam_mass_lies_on_the_cats_face():
    img = load_sample("chelsea.png")
    result = C.compute_cam(lite0_private(), LITE0, img)
    assert result.label == "tiger cat" and result.layer == "_bn1" and result.activation_shape == (1280, 7, 7)
    assert result.heatmap.shape == (224, 224) and 0 <= result.heatmap.min() and result.heatmap.max() <= 1
    box = SEEN.to_input(img.size, FACE_BOX)
    # The face box covers 64% of the crop (a flat map's share); Grad-CAM puts 73% of its mass there.
    assert area(box) < 0.65
    assert C.energy_in_box(result.heatmap, box) > 0.68


@pytest.mark.parametrize("method", ["gradcam", "scorecam"])
def test_class_specific_maps_pick_the_right_object(method):
    """Cat and coffee cup in one picture: each class's map must sit on its own object."""
    canvas, cat_box, cup_box = composite()
    cat_in, cup_in = SEEN.to_input(canvas.size, cat_box), SEEN.to_input(canvas.size, cup_box)
    assert area(cat_in) == pytest.approx(0.25) and area(cup_in) == pytest.approx(0.25)
    # Score-CAM on its 16 most varied channels keeps the test fast (32 and 64 give the same picture).
    # Measured (Grad-CAM / Score-CAM): cat map 0.63 / 0.72 on the cat, cup map 0.59 / 0.72 on the cup.
    cat = C.compute_cam(lite0_private(), LITE0, canvas, TIGER_CAT, method, max_channels=16).heatmap
    cup = C.compute_cam(lite0_private(), LITE0, canvas, ESPRESSO, method, max_channels=16).heatmap
    assert C.energy_in_box(cat, cat_in) > 0.5 and C.energy_in_box(cat, cup_in) < 0.25
    assert C.energy_in_box(cup, cup_in) > 0.5 and C.energy_in_box(cup, cat_in) < 0.3


def test_eigencam_ignores_the_class():
    canvas, *_ = composite()
    a = C.compute_cam(lite0_private(), LITE0, canvas, TIGER_CAT, "eigencam")
    b = C.compute_cam(lite0_private(), LITE0, canvas, ESPRESSO, "eigencam")
    assert a.class_index is None and a.label is None
    np.testing.assert_allclose(a.heatmap, b.heatmap, atol=1e-6)


# -- the methods against independent computations ------------------------------------------------


class DenseNetTail(nn.Module):
    """DenseNet's pattern in miniature: ``features`` ends in a BatchNorm, and the ReLU after it is
    functional and in place (no module of its own to hook)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.classifier = nn.Linear(8, 5)

    def forward(self, x):
        out = nn.functional.relu(self.features(x), inplace=True)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))


def unit_range(a: np.ndarray) -> np.ndarray:
    a = a - a.min()
    return a / (a.max() + 1e-7)


def test_post_activation_gives_the_hand_written_gradcam_of_what_the_next_layer_receives():
    import cv2

    model = init_weights(DenseNetTail(), seed=3).eval()
    x = random_input((1, 3, 32, 32), seed=4)
    # By hand: channel weights = mean gradient of the class score at the layer's output (Selvaraju
    # et al.), applied to the map after the ReLU, which is what the classifier receives.
    f = model.features(x)
    f.retain_grad()
    a = nn.functional.relu(f)
    model.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(a, 1), 1))[0, 2].backward()
    weights = f.grad.mean(dim=(2, 3))[0]
    by_hand = torch.relu((weights[:, None, None] * a[0]).sum(0)).detach().numpy()
    expected = unit_range(cv2.resize(unit_range(by_hand), (32, 32)))
    own = C.cam_instance(model)
    heat, shape = C.cam_tensor(own, x, "features", 2, "gradcam", activation=nn.functional.relu)
    assert shape == (8, 32, 32)
    np.testing.assert_allclose(heat, expected, atol=1e-5)
    # Without the activation the map weighs the BatchNorm's negative outputs too: a different map,
    # even though the network's in-place ReLU runs after the layer (what the hook saved stays as it was).
    plain, _ = C.cam_tensor(own, x, "features", 2, "gradcam")
    by_hand_plain = torch.relu((weights[:, None, None] * f[0]).sum(0)).detach().numpy()
    np.testing.assert_allclose(plain, unit_range(cv2.resize(unit_range(by_hand_plain), (32, 32))), atol=1e-5)
    assert np.abs(plain - expected).max() > 0.05
    assert_clean(own)
    assert isinstance(own.features, nn.Sequential) and len(own.features) == 2  # the wrapper is gone again


def test_score_cam_matches_the_librarys_on_every_channel():
    """Differential: our Score-CAM against grad-cam's own ScoreCAM class, all 40 channels scored."""
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    own, x, layer = lite0_private(), SEEN.tensor(load_sample("chelsea.png")), "_blocks.3._project_conv"
    steps = []
    ours, shape = C.cam_tensor(own, x, layer, TIGER_CAT, "scorecam",
                               progress=lambda done, total, text="": steps.append((done, total)))
    assert shape == (40, 28, 28) and steps == [(32, 40), (40, 40)]  # batches of SCORECAM_BATCH
    with ScoreCAM(model=own, target_layers=[own.get_submodule(layer)]) as cam, torch.no_grad():
        theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(TIGER_CAT)])[0]
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    # Scoring only the most varied channels changes the map, but keeps it a map of [0, 1].
    few, _ = C.cam_tensor(own, x, layer, TIGER_CAT, "scorecam", max_channels=4)
    assert 0 <= few.min() and few.max() <= 1 and np.abs(few - ours).max() > 0.01
    assert_clean(own)


def test_a_class_outside_the_output_is_one_sentence():
    own = lite0_private()
    with pytest.raises(C.CamError, match="^Class 5000 is not one of the model's output classes.$"):
        C.cam_tensor(own, SEEN.tensor(load_sample("chelsea.png")), "_bn1", 5000, "gradcam")
    assert_clean(own)
    assert not own.zoo_cam_lock.locked()


def test_occlusion_agrees_with_gradcam_on_the_cat():
    img = load_sample("chelsea.png")
    steps = []
    occ = O.occlusion_map(lite0(), LITE0, img, progress=lambda done, total, text="": steps.append((done, total)))
    assert occ.label == "tiger cat" and occ.drop.shape == (7, 7) and (occ.patch_px, occ.stride_px) == (56, 28)
    assert steps[-1] == (49, 49) and len(steps) == 4  # 49 images in batches of 16
    grad = C.compute_cam(lite0_private(), LITE0, img, occ.class_index).heatmap
    row, col = occ.argmax_cell()
    x0, y0, x1, y1 = occ.cell_box(row, col)
    bx0, by0, bx1, by1 = SEEN.to_input(img.size, FACE_BOX)
    assert bx0 <= (x0 + x1) / 2 <= bx1 and by0 <= (y0 + y1) / 2 <= by1
    per_cell = O.cell_means(grad, occ)
    # Measured: the largest drop (10 pp, the cheek under the left eye) is in Grad-CAM's top 10% of
    # cells, and the two maps correlate at r = 0.33 over the 49 cells.
    assert (per_cell < per_cell[row, col]).mean() >= 0.75
    assert O.cam_correlation(grad, occ) > 0.2
    assert occ.drop.max() > 0.05


def test_occlusion_pixel_map_and_patch_geometry():
    assert O.patch_starts(224, 56, 28) == [0, 28, 56, 84, 112, 140, 168]
    assert O.patch_starts(224, 60, 50) == [0, 50, 100, 150, 164]  # the last one moved to reach the edge
    with pytest.raises(O.OcclusionError):
        O.patch_starts(224, 300, 10)
    drop = np.arange(4, dtype=np.float32).reshape(2, 2)
    r = O.OcclusionResult("m", 0, "x", 1.0, drop, [0, 2], 4, 2, 6, 0.0)
    pix = r.pixel_map()
    assert pix[0, 0] == 0 and pix[5, 5] == 3 and pix[3, 3] == pytest.approx(1.5)  # centre: all four patches


# -- layers and errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", registry.names())
def test_every_target_layer_runs_and_is_spatial(name):
    """The automatic layer and every listed conv fire once in eval mode with an H x W > 1 map (meta device)."""
    layers = C.target_layers(name)
    shapes = C.target_layer_shapes(name)
    assert layers[0] == C.default_target_layer(name) and set(shapes) == set(layers)
    assert all(len(s) == 3 and s[1] * s[2] > 1 for s in shapes.values())
    # The default is the last conv stage: nothing later in the list has a coarser grid.
    default_hw = shapes[layers[0]][1] * shapes[layers[0]][2]
    assert default_hw == min(s[1] * s[2] for s in shapes.values())


def test_user_errors_are_one_sentence():
    with pytest.raises(C.UnknownLayerError, match=r"^'nope' is not a convolutional layer of resnet50; run "
                                                  r"`python -m zoo cam --model resnet50 --list-layers`"):
        C.check_layer("resnet50", "nope")
    with pytest.raises(C.UnknownLayerError):
        C.check_layer("resnet50", "fc")  # a real module, but no spatial map
    with pytest.raises(C.CamError, match="Unknown CAM method 'gradcam\\+\\+'"):
        C.compute_cam(lite0_private(), LITE0, load_sample("chelsea.png"), method="gradcam++")


# -- the shared model is never touched ------------------------------------------------------------


def global_hooks() -> list[int]:
    import torch.nn.modules.module as M

    return [len(getattr(M, k)) for k in dir(M) if k.startswith("_global") and "hook" in k
            and isinstance(getattr(M, k), dict)]


def assert_clean(model: torch.nn.Module) -> None:
    for name, m in model.named_modules():
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
                     "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs"):
            assert not getattr(m, kind), f"{name} keeps {kind}"


def test_no_request_leaves_a_trace_on_the_shared_model():
    shared = load_model("efficientnet_lite0")  # what pages.ui.models.get_model caches
    before, before_global = fingerprint(shared), global_hooks()
    assert any(before["inplace"]) and all(before["requires_grad"])  # so the checks below can fail
    img = load_sample("chelsea.png")
    for method in C.METHODS:
        C.compute_cam(shared, LITE0, img, TIGER_CAT, method, max_channels=4)
    C.cam_overlay(shared, LITE0, img, None)
    C.compute_cam(shared, LITE0, img, None, "gradcam", "_blocks.3._project_conv")
    C.predict_top(shared, LITE0, img)
    F.feature_maps(shared, LITE0, img, "_blocks.2._bn1", 8)
    F.first_conv_filters(shared)
    O.occlusion_map(shared, LITE0, img, patch_px=112, stride_px=112)
    assert fingerprint(shared) == before and global_hooks() == before_global
    assert_clean(shared)


def test_private_instance_is_clean_after_each_request_even_on_error():
    own = lite0_private()
    img = load_sample("chelsea.png")
    C.compute_cam(own, LITE0, img, TIGER_CAT, "gradcam")
    F.feature_maps(own, LITE0, img, "_blocks.2._bn1", 4)
    assert_clean(own)
    assert all(p.grad is None and not p.requires_grad for p in own.parameters())
    with pytest.raises(C.CamError, match="does not output a spatial feature map"):
        C.cam_tensor(own, SEEN.tensor(img), "_fc", TIGER_CAT)  # the classifier: a vector
    assert_clean(own)
    assert not own.zoo_cam_lock.locked()


def test_cam_runs_on_the_models_device():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model = load_model("efficientnet_lite0", "cuda")
    result = C.compute_cam(model, LITE0, load_sample("chelsea.png"))
    cpu = C.compute_cam(lite0_private(), LITE0, load_sample("chelsea.png"))
    assert result.label == cpu.label
    assert np.abs(result.heatmap - cpu.heatmap).max() < 0.05


# -- command line ---------------------------------------------------------------------------------


def cli(capsys, *argv) -> tuple[int, str, str]:
    from zoo.__main__ import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_writes_the_overlay(tmp_path, capsys):
    out = tmp_path / "heatmap.png"
    code, stdout, _ = cli(capsys, "cam", str(SAMPLES / "chelsea.png"), "--model", "efficientnet_lite0",
                          "--out", str(out))
    assert code == 0 and "Grad-CAM of EfficientNet-Lite0 for 'tiger cat' (282) at _bn1 (1280x7x7)" in stdout
    with Image.open(out) as written:
        assert written.format == "PNG" and written.size == (224, 224)
    code, stdout, _ = cli(capsys, "cam", str(SAMPLES / "coffee.jpg"), "--model", "efficientnet_lite0",
                          "--class", "Espresso", "--layer", "_blocks.15._project_conv", "--out", str(out))
    assert code == 0 and "for 'espresso' (967) at _blocks.15._project_conv (320x7x7)" in stdout


def test_cli_lists_layers_default_first(capsys):
    code, stdout, _ = cli(capsys, "cam", "--model", "resnet18", "--list-layers")
    lines = stdout.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["layer4", "512x7x7"] and "default" in lines[0]
    assert len(lines) == len(C.target_layers("resnet18")) and lines[1].split()[:2] == ["conv1", "64x112x112"]


@pytest.mark.parametrize("argv, sentence", [
    (["notes.png"], "error: This file is not an image we can read (looks like a text file).\n"),
    (["chelsea", "--layer", "nope"],
     "error: 'nope' is not a convolutional layer of efficientnet_lite0; run "
     "`python -m zoo cam --model efficientnet_lite0 --list-layers` to see the valid ones.\n"),
    (["chelsea", "--class", "not a class"], "error: No ImageNet class is called 'not a class'; "
                                            "give its index (0-999) or its exact label.\n"),
])
def test_cli_user_errors_exit_2_with_one_sentence(tmp_path, capsys, argv, sentence):
    (tmp_path / "notes.png").write_text("Not a picture, whatever the name says.\n")
    image = {"notes.png": str(tmp_path / "notes.png"), "chelsea": str(SAMPLES / "chelsea.png")}[argv[0]]
    code, stdout, stderr = cli(capsys, "cam", image, "--model", "efficientnet_lite0", *argv[1:],
                               "--out", str(tmp_path / "h.png"))
    assert (code, stdout, stderr) == (2, "", sentence)
    assert not (tmp_path / "h.png").exists()


def test_cli_missing_weights_is_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    code, _, stderr = cli(capsys, "cam", str(SAMPLES / "chelsea.png"), "--model", "resnet50",
                          "--out", str(tmp_path / "h.png"))
    assert code == 2 and stderr.startswith("error: ResNet-50's weights") and stderr.count("\n") == 1
    assert "python -m zoo fetch resnet50" in stderr
