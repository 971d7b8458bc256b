"""Command line: ``python -m zoo COMMAND ...``; machine-readable output with ``--json``.

Every error a user can cause (unknown model, impossible input size, unreadable image,
missing weights) prints one sentence to stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from zoo.errors import ZooError

BACKEND_HELP = ("auto (default: the fastest measured on this computer), torch, onnxruntime, openvino, "
                "openvino:bf16, or onnxruntime:int8 / openvino:int8 (post-training quantized, calibrated on the "
                "sample photos; never chosen automatically)")


class UserError(ZooError):
    """An error caused by the command's arguments; printed as one line, exit status 2."""


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _read_image(path: str):
    """The file at ``path`` decoded to RGB, or UserError with the same sentence the app shows."""

    from zoo.inference.images import decode_image, read_capped

    try:
        data = read_capped(path)  # at most the limit + 1 byte: `predict /dev/zero` reads 10 MB, not forever
    except OSError as e:
        raise UserError(f"Cannot read {path}: {e.strerror or e}.") from e
    return decode_image(data)  # ImageDecodeError: the same sentence the app shows


def _photo_part(seen, size: tuple[int, int]) -> str:
    """Which pixels of a ``size`` photo the model's input crop covers, in words."""
    left, top, right, bottom = seen.crop_box(size)
    return (f"photo pixels x {left:.0f}-{right:.0f}, y {top:.0f}-{bottom:.0f} of {size[0]}x{size[1]} "
            "(resized and centre-cropped)")


def cmd_list(args) -> None:
    """Every catalogue model. JSON rows: name, family, year (the model's own, zoo.cards), paper
    ({"title", "url", "venue"}, null where it has none), sources, params, macs, acc1 (the DEFAULT
    weights'), has_weights, weights (every torchvision weights with its recipe) and published
    (the authors' own top-1 where torchvision has no accuracy, else null)."""
    from zoo import recipes, registry
    from zoo.analysis import summarize

    rows = []
    for e in registry.REGISTRY.values():
        s = summarize(e.name)
        c = e.card
        rows.append({"name": e.name, "family": e.family, "year": e.year,
                     "paper": c.paper.to_json() if c.paper else None,
                     "sources": [{"title": link.title, "url": link.url} for link in c.sources],
                     "params": s.params, "macs": s.macs, "acc1": e.acc1, "has_weights": e.has_weights,
                     "weights": [w.to_json() for w in recipes.weights_list(e)],
                     "published": None if c.published is None else {
                         "acc1": c.published.acc1, "where": c.published.where, "source": c.published.source.title,
                         "url": c.published.source.url, "label": c.published.label}})
    if args.json:
        _print_json(rows)
        return
    print(f"{'name':22} {'family':13} {'year':>4} {'params':>13} {'GMACs':>8} {'acc@1':>7}  weights")
    for r in rows:
        acc = f"{r['acc1']:.2f}" if r["acc1"] is not None else "-"
        print(f"{r['name']:22} {r['family']:13} {r['year']:>4} {r['params']:>13,} {r['macs'] / 1e9:>8.3f} "
              f"{acc:>7}  {'yes' if r['has_weights'] else 'no'}")


def cmd_summary(args) -> None:
    from zoo.analysis import summarize

    s = summarize(args.name, args.input_size)
    if args.json:
        _print_json(s.to_json())
        return
    print(f"{args.name}  input {'x'.join(map(str, s.input_size))}  params {s.params:,}  "
          f"MACs {s.macs / 1e9:.3f} G  (FLOPs = 2 x MACs = {s.flops / 1e9:.3f} G)")
    for r in s.stages.itertuples():
        shape = "x".join(map(str, r.output_shape[1:])) if r.runs else "(not run in eval)"
        print(f"  {r.stage:32} {shape:>17}  params {r.params:>12,} ({r.params_pct:5.1f}%)  "
              f"MACs {r.macs / 1e6:>10.1f} M ({r.macs_pct:5.1f}%)")


def cmd_rf(args) -> None:
    """Receptive field of every conv/pool layer and of the last spatial map (Araujo et al., 2019).

    JSON: ``{"name", "input_size", "layers": [{"name", "type", "rf", "stride", "padding",
    "global_dependence", "note"}, ...], "final": {"name", "rf", "stride", "padding"}}``, in
    input pixels; unit i of a layer sees pixels [i*stride - padding, i*stride - padding + rf - 1].
    A global pool sees the whole image: its "rf" is the string "global" and its stride and
    padding are null. ``global_dependence`` is true there and on layers gated by a
    squeeze-and-excitation global pool, whose "rf" is that of their convolution path.
    """
    from zoo.analysis.receptive_field import receptive_fields

    a = receptive_fields(args.name, args.input_size)
    if args.json:
        _print_json(a.to_json())
        return
    print(f"{args.name}  input {a.input_size}x{a.input_size}  "
          "(unit i sees input pixels [i*stride - padding, i*stride - padding + rf - 1])")
    print(f"  {'layer':40} {'type':20} {'rf_px':>7} {'stride':>6} {'padding':>7}")
    for r in a.geometry_layers():
        rf = "global" if r.is_global else str(r.rf)
        flag = " *" if r.global_dependence and not r.is_global else ""
        stride = "-" if r.stride is None else str(r.stride)
        pad = "-" if r.padding is None else str(r.padding)
        print(f"  {r.name:40} {r.type:20} {rf:>7} {stride:>6} {pad:>7}{flag}")
    f = a.final
    print(f"final spatial map {f.name}: rf {f.rf} px, stride {f.stride}, padding {f.padding}")
    if any(r.global_dependence and not r.is_global for r in a.layers):
        print("* also gated by a squeeze-and-excitation global pool: depends on the whole image")


def cmd_fetch(args) -> None:
    from zoo import registry
    from zoo.inference import weights as W

    if args.all == bool(args.names):
        raise UserError("Name the models to fetch, or give --all (not both).")
    names = [e.name for e in registry.REGISTRY.values() if e.has_weights] if args.all else args.names
    specs = {n: W.spec(registry.get(n).name) for n in names}
    for n, s in specs.items():
        if s is None and not args.all:
            raise UserError(f"{registry.get(n).display} has no published pretrained weights to fetch.")
    missing = [n for n, s in specs.items() if s is not None and not s.bundled and W.weights_path(n) is None]
    missing_bytes = sum(specs[n].size_bytes or 0 for n in missing)
    print(f"{len(names)} model{'s' if len(names) != 1 else ''}, {len(missing)} to download ({missing_bytes / 2**30:.2f} GB) "
          f"into {W.checkpoints_dir()}", file=sys.stderr)
    failed = []
    for n in names:
        s = specs[n]
        if s is None:
            continue
        if s.bundled:
            print(f"{n}: bundled with the app ({s.size_mb:.1f} MB)")
            continue
        was_cached = W.weights_path(n) is not None
        label = f"{n:22}"
        try:
            path = W.ensure_weights(n, W.text_progress(label, sys.stderr), allow_download=True)
        except W.WeightsUnavailableError as e:
            # No network: every later download would fail the same way.
            raise UserError(f"{e} {W.offline_message()}") from e
        except W.WeightsDownloadError as e:
            print(f"{n}: {e}", file=sys.stderr)
            failed.append(n)
            continue
        verb = "already cached" if was_cached else "downloaded"
        print(f"{n}: {verb}, {path.stat().st_size / 2**20:.1f} MB, {path}")
    if failed:
        raise UserError(f"{len(failed)} of {len(names)} downloads failed ({', '.join(failed)}); run the command again.")


def _stage_progress(label: str, stream=None):
    """A progress callback that prints each new stage's text on its own line (exports, timing)."""
    stream = stream if stream is not None else sys.stderr
    last = [None]

    def report(done: float, total: float | None, text: str = "") -> None:
        if text and text != last[0]:
            last[0] = text
            stream.write(f"{label}{text}\n")
            stream.flush()

    return report


def _variant_arg(value: str | None):
    """``--backend``: None for the measured choice ("auto"), else a Variant; UserError for anything else."""
    from zoo.inference.backends.base import Variant

    if value is None or value.strip().lower() == "auto":
        return None
    try:
        return Variant.parse(value)
    except ValueError as e:
        raise UserError(str(e)) from e


def _fast_module(entry, model, device, backend: str | None, input_size: int | None = None, *, exact: bool = False):
    """The app's forward path for ``model`` on ``device``: (module, FastPath or None on a GPU)."""
    from zoo.inference import fast_cpu

    variant = _variant_arg(backend)
    if device.type != "cpu":
        return model, None
    fast = fast_cpu.accelerate(entry.name, model, input_size=input_size, variant=variant,
                               precision="fp32" if exact else "auto", progress=_stage_progress(f"{entry.name}: "))
    if variant is not None and fast.variant != variant:
        print(f"note: {fast.reason}", file=sys.stderr)
    return fast.module, fast


def cmd_predict(args) -> None:
    from zoo import registry
    from zoo.inference import weights as W
    from zoo.inference.device import device_label, pick_device

    entry = registry.get(args.model)
    if not 1 <= args.topk <= 1000:
        raise UserError(f"--topk must be between 1 and 1000, not {args.topk}.")
    if not 1 <= args.runs <= 1000:
        raise UserError(f"--runs must be between 1 and 1000, not {args.runs}.")
    image = _read_image(args.image)
    device = pick_device(args.device)
    _variant_arg(args.backend)  # a bad --backend fails before any loading
    from zoo.inference.models import load_model
    from zoo.inference.predict import predict, warm_up
    from zoo.inference.view import view

    progress = W.text_progress(f"{entry.name:22}", sys.stderr) if args.download else None
    model = load_model(entry.name, device, progress=progress, allow_download=args.download)
    warm_up(model, entry, device=device, half=args.half)  # the first pass pays one-off setup costs
    module, _ = _fast_module(entry, model, device, args.backend, exact=args.exact)
    pred = predict(module, entry, image, topk=args.topk, device=device, half=args.half, mode=args.preprocess,
                   runs=args.runs, time_budget_ms=float("inf"))
    if pred.notice:
        print(pred.notice, file=sys.stderr)
    if args.json:
        _print_json(pred.to_json())
        return
    warm = f"median of {pred.warm_runs} warm runs" if pred.warm_runs > 1 else "one run"
    first = f", first {pred.first_ms:.1f} ms" if pred.first_ms is not None else ""
    versus = {"same": ", top-5 same as fp32", "reordered": ", top-5 as fp32 in another order",
              "differs": ", top-5 differs from fp32"}.get(pred.fp32_top5, "")
    print(f"{entry.display} on {device_label(pred.device)}: input {pred.input_size}x{pred.input_size} "
          f"({pred.preprocess}), {pred.ms:.1f} ms ({warm}{first}) on {pred.backend_label}{versus}")
    print(f"  sees {_photo_part(view(entry, args.preprocess), image.size)}")
    for rank, (index, label, prob) in enumerate(pred.top, 1):
        print(f"  {rank}. {label:28} {prob * 100:6.2f}%  {'#' * round(prob * 40)}")


def _bench_model(entry, input_size: int | None):
    """``entry`` on the CPU with its local weights, else seeded random ones; (model, has real weights)."""
    from zoo.inference import weights as W
    from zoo.inference.models import RANDOM_SEED, load_model, read_pretrained

    default = entry.preprocess["crop"] if entry.preprocess else entry.input_size
    if input_size is None or input_size == default or entry.size_kwarg is None:
        model = load_model(entry.name, "cpu", allow_random=True)
        return model, not model.zoo_random_weights
    # A builder that takes the input side (Lite's static padding): build at that side, load the same tensors.
    model = entry.build("cpu", input_size, seed=RANDOM_SEED).eval()
    try:
        model.load_state_dict(read_pretrained(entry.name).state_dict())
        return model, True
    except W.WeightsUnavailableError:
        model.zoo_random_weights = True
        return model, False


def cmd_bench(args) -> None:
    """The app's own CPU forward path for one model at batch 1: warm median of --runs passes."""
    import statistics

    import torch

    from zoo import registry
    from zoo.analysis.layers import check_input_size
    from zoo.inference.backends import check
    from zoo.inference.predict import predict_tensor

    entry = registry.get(args.name)
    if not 1 <= args.runs <= 10000:
        raise UserError(f"--runs must be between 1 and 10000, not {args.runs}.")
    if args.input_size is not None:
        check_input_size(entry, args.input_size)
    _variant_arg(args.backend)
    model, real = _bench_model(entry, args.input_size)
    side = args.input_size or (entry.preprocess["crop"] if entry.preprocess else entry.input_size)
    module, fast = _fast_module(entry, model, torch.device("cpu"), args.backend, side)
    x = check.sample_batch(entry.name, side)[:1]  # a real photo, through the model's own preprocessing
    for _ in range(2):
        predict_tensor(module, x)  # untimed: the first passes pay one-off allocations
    times = [predict_tensor(module, x)[1] for _ in range(args.runs)]
    variant = module.variant_for(x) if hasattr(module, "variant_for") else fast.variant
    from zoo.inference.fast_cpu import variant_label

    result = {
        "model": entry.name, "input_size": side, "batch": 1, "threads": torch.get_num_threads(),
        "backend": variant.backend, "precision": variant.precision, "label": variant_label(variant),
        "median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3), "runs": len(times),
        "weights": "published" if real else "seeded random",
        "prepare_s": round(fast.build_s, 3), "choice_cached": bool(fast.choice and fast.choice.cached),
        "measured_ms": fast.choice.ms if fast.choice else None,
        "refused": fast.choice.refused if fast.choice else None, "reason": fast.reason,
    }
    if args.json:
        _print_json(result)
        return
    weights = "its published weights" if real else ("seeded random weights (none on this computer; speed does not "
                                                     "depend on the values)")
    print(f"{entry.display} at {side} px, batch 1, {result['threads']} threads, {weights}")
    print(f"  {result['label']}: median {result['median_ms']:.2f} ms of {len(times)} warm runs "
          f"(min {result['min_ms']:.2f} ms)")
    how = "read the cached choice" if result["choice_cached"] else "measured on this computer now"
    print(f"  prepared in {fast.build_s:.1f} s ({how}){'; ' + fast.reason if fast.reason else ''}")
    for key, reason in (result["refused"] or {}).items():
        print(f"  not used: {key}: {reason}")


def cmd_export(args) -> None:
    """Fill the fast-path cache ahead of time: export, convert, check and time each model on this CPU."""
    import time

    from zoo import registry
    from zoo.inference import fast_cpu
    from zoo.inference import weights as W
    from zoo.inference.backends import cache
    from zoo.inference.models import load_model

    if args.all == bool(args.names):
        raise UserError("Name the models to export, or give --all (not both).")
    names = [n for n in W.available_models() if registry.get(n).preprocess] if args.all else \
        [registry.get(n).name for n in args.names]
    print(f"{len(names)} model{'s' if len(names) != 1 else ''} into {cache.cache_dir()}", file=sys.stderr)
    failed = []
    with cache.filling():  # the one step that writes a read-only (shared) cache
        for n in names:
            start = time.perf_counter()
            model = load_model(n, "cpu")  # WeightsUnavailableError: one sentence, exit 2
            fast = fast_cpu.accelerate(n, model, progress=_stage_progress(f"{n}: "))
            fast_cpu.finish_background()  # the backend's own files, written in the background, are part of the export
            refused = "; ".join(f"{k} not used: {r}" for k, r in (fast.choice.refused if fast.choice else {}).items())
            if fast.reason and fast.choice is None:
                failed.append(n)
            print(f"{n}: {fast.label}{' (' + fast.reason + ')' if fast.reason else ''}"
                  f"{'; ' + refused if refused else ''}, {time.perf_counter() - start:.1f} s")
    if failed:
        raise UserError(f"{len(failed)} of {len(names)} models have no fast path ({', '.join(failed)}); they run "
                        f"in PyTorch.")


def _class_index(value: str | None, labels) -> int | None:
    """``--class``: a class index or an exact label (any case); None means the top class."""
    if value is None:
        return None
    if value.strip().isascii() and value.strip().isdecimal():  # '²' is a digit to str.isdigit, not to int()
        index = int(value)
        if not 0 <= index < len(labels):
            raise UserError(f"--class must be between 0 and {len(labels) - 1}, not {index}.")
        return index
    wanted = value.strip().lower()
    for index, label in enumerate(labels):
        if label.lower() == wanted:
            return index
    raise UserError(f"No ImageNet class is called '{value}'; give its index (0-{len(labels) - 1}) or its exact label.")


def cmd_cam(args) -> None:
    from zoo import registry
    from zoo.inference import cam as C
    from zoo.inference.view import view

    entry = registry.get(args.model)
    if args.list_layers:
        shapes = C.target_layer_shapes(entry.name)
        default = C.default_target_layer(entry.name)
        for layer in C.target_layers(entry.name):
            shape = "x".join(map(str, shapes.get(layer, ())))
            print(f"{layer:44} {shape:>14}{'  (default: last conv stage)' if layer == default else ''}")
        return
    if args.image is None or args.out is None:
        raise UserError("Give an IMAGE and --out FILE.png (or --list-layers to see the target layers).")
    from zoo.inference.device import pick_device

    image = _read_image(args.image)
    device = pick_device(args.device)
    layer = C.check_layer(entry.name, args.layer)
    class_index = _class_index(args.class_, entry.categories or registry.imagenet_categories())
    from zoo.inference.models import load_model

    model = load_model(entry.name, device)
    # The CLI owns this instance, so it is prepared for hooks in place rather than copied.
    max_channels = C.SCORECAM_CPU_CHANNELS if args.method == "scorecam" and device.type == "cpu" else None
    result = C.compute_cam(C.cam_instance(model, copy_model=False), entry, image, class_index, args.method, layer,
                           max_channels=max_channels)
    try:
        result.overlay.save(args.out, format="PNG")
    except OSError as e:
        raise UserError(f"Cannot write {args.out}: {e.strerror or e}.") from e
    what = f"'{result.label}' ({result.class_index})" if result.class_index is not None else "no class (Eigen-CAM)"
    c, h, w = result.activation_shape
    print(f"{C.METHODS[args.method].label} of {entry.display} for {what} at {layer} ({c}x{h}x{w}), "
          f"{result.ms:.0f} ms -> {args.out}")
    print(f"  the {result.crop.width}x{result.crop.height} overlay covers {_photo_part(view(entry), image.size)}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zoo", description="CNN Zoo Explorer from the command line.")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("list", help="every model in the catalogue with params, MACs and acc@1")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("summary", help="layer table and stage totals of one model")
    sp.add_argument("name")
    sp.add_argument("--input-size", type=int, default=None, help="square input side (default: the model's own crop)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_summary)

    sp = sub.add_parser("rf", help="receptive field (size, stride, padding in px) of every conv/pool layer")
    sp.add_argument("name")
    sp.add_argument("--input-size", type=int, default=None, help="square input side (default: the model's own crop)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_rf)

    sp = sub.add_parser("fetch", help="download pretrained weights ahead of time (for a class without Wi-Fi)")
    sp.add_argument("names", nargs="*", metavar="NAME")
    sp.add_argument("--all", action="store_true", help="every model with published weights")
    sp.set_defaults(func=cmd_fetch)

    sp = sub.add_parser("predict", help="top-k ImageNet classes of one image from one model")
    sp.add_argument("image", help="path to a JPEG, PNG, WebP, GIF or BMP file")
    sp.add_argument("--model", required=True)
    sp.add_argument("--topk", type=int, default=5)
    sp.add_argument("--device", default=None, help="auto (default), cuda, mps or cpu")
    sp.add_argument("--half", action="store_true", help="float16 autocast on CUDA")
    sp.add_argument("--preprocess", choices=["correct", "no_normalise", "wrong_size"], default="correct",
                    help="the weights' own transform, or a deliberately wrong one")
    sp.add_argument("--download", action="store_true", help="fetch missing weights first (else only cached ones)")
    sp.add_argument("--backend", default=None, help=BACKEND_HELP)
    sp.add_argument("--exact", action="store_true", help="exact fp32 backends only (no bf16)")
    sp.add_argument("--runs", type=int, default=5, help="timed passes; latency is the median after the first")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_predict)

    sp = sub.add_parser("bench", help="the app's CPU forward path for one model: warm median latency at batch 1")
    sp.add_argument("name")
    sp.add_argument("--runs", type=int, default=20)
    sp.add_argument("--input-size", type=int, default=None, help="square input side (default: the model's own crop)")
    sp.add_argument("--backend", default=None, help=BACKEND_HELP)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("export", help="prepare the fast CPU path ahead of time (fills a shared, read-only cache)")
    sp.add_argument("names", nargs="*", metavar="NAME")
    sp.add_argument("--all", action="store_true", help="every model whose weights are on this computer")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("cam", help="Grad-CAM (or Eigen-CAM, Score-CAM) heatmap of one image, as an overlay PNG")
    sp.add_argument("image", nargs="?", help="path to a JPEG, PNG, WebP, GIF or BMP file")
    sp.add_argument("--model", required=True)
    sp.add_argument("--method", choices=["gradcam", "eigencam", "scorecam"], default="gradcam")
    sp.add_argument("--layer", default=None, help="target layer (default: the last conv stage); see --list-layers")
    sp.add_argument("--class", dest="class_", default=None, help="class index or exact label (default: the top class)")
    sp.add_argument("--out", default=None, help="where to write the overlay PNG")
    sp.add_argument("--device", default=None, help="auto (default), cuda, mps or cpu")
    sp.add_argument("--list-layers", action="store_true", help="print the layers --layer accepts and exit")
    sp.set_defaults(func=cmd_cam)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from zoo import concurrency

    concurrency.configure()
    try:
        args.func(args)
    except ZooError as e:  # every error a user can cause, whichever module raised it
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `python -m zoo list | head`: the reader left; stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def main_exit() -> None:
    """The ``zoo`` console script: ``zoo list`` == ``python -m zoo list``."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
