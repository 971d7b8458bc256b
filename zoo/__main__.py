"""Command line: ``python -m zoo COMMAND ...``; machine-readable output with ``--json``.

Every error a user can cause (unknown model, impossible input size, unreadable image,
missing weights) prints one sentence to stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys


class UserError(Exception):
    """An error caused by the command's arguments; printed as one line, exit status 2."""


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def cmd_list(args) -> None:
    from zoo import registry
    from zoo.analysis import summarize

    rows = []
    for e in registry.REGISTRY.values():
        s = summarize(e.name)
        rows.append({"name": e.name, "family": e.family, "year": e.year, "params": s.params,
                     "macs": s.macs, "acc1": e.acc1, "has_weights": e.has_weights})
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
        print(f"  {r.stage:28} params {r.params:>12,} ({r.params_pct:5.1f}%)  MACs {r.macs / 1e6:>10.1f} M ({r.macs_pct:5.1f}%)")


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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from zoo.analysis import InputSizeError
    from zoo.registry import UnknownModelError

    try:
        args.func(args)
    except (UserError, UnknownModelError, InputSizeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
