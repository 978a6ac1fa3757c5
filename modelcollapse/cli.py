"""The ``modelcollapse`` command.

    modelcollapse figures [--quick] [--out DIR] [--only NAME ...]
    modelcollapse verify [--list] [--family NAME ...] [--quick] [--chains N] [--seed S]
                         [--out FILE]
    modelcollapse simulate <family> --M ... --generations ... [--chains N] [--seed S]
                                    [--out run.npz] [--progress] [--devices N]
                                    [--coordinator HOST:PORT --num-processes P --process-id I]
    modelcollapse params

``verify`` prints a theory-vs-simulation table (z-scores, one Bonferroni bound over the whole
report, pass/fail) and exits with status 1 when any check fails. ``simulate`` prints a summary of
a run beside the exact theory; its families (``gaussian``, ``discrete``, ...) and the verification
cases come from one registry (:mod:`modelcollapse.verify.registry`). ``params`` prints the
parameter vocabulary. With ``--coordinator`` the same command runs on every host under
``jax.distributed``; process 0 prints and saves.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from modelcollapse._cliutil import add_distributed_arguments, start_distributed
from modelcollapse.spec import params as P


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _cmd_figures(args: argparse.Namespace) -> int:
    from modelcollapse.figures import make_all

    t0 = time.perf_counter()
    paths = make_all(args.out, quick=args.quick, only=args.only, progress=_log)
    for p in paths:
        print(p)
    _log(f"wrote {len(paths)} files in {time.perf_counter() - t0:.1f} s")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from modelcollapse.verify import registry
    from modelcollapse.verify.checks import format_table

    names = args.family
    if args.gaussian_only:
        warnings.warn("--gaussian-only is deprecated; use --family gaussian", DeprecationWarning,
                      stacklevel=2)
        names = ["gaussian"]
    selected = registry.cases(names)
    if args.list:
        print(registry.describe(selected))
        return 0
    start_distributed(args)
    chains = args.chains or (20_000 if args.quick else 100_000)
    t0 = time.perf_counter()
    checks = registry.run_report(selected, chains=chains, seed=args.seed, progress=_log)
    table = format_table(checks)
    if _is_main_process():
        print(table)
        if args.out:
            Path(args.out).write_text(table + "\n")
    _log(f"verification took {time.perf_counter() - t0:.1f} s with {chains} chains per case")
    return 0 if all(c.passed for c in checks) else 1


def _is_main_process() -> bool:
    if "jax" not in sys.modules:
        return True
    import jax

    return jax.process_index() == 0


def _cmd_params(args: argparse.Namespace) -> int:
    print(P.describe())
    return 0


def _simulate(handler):  # noqa: ANN001, ANN202 - wraps a family's handler
    def run(args: argparse.Namespace) -> int:
        start_distributed(args)
        if _is_main_process():
            return int(handler(args))
        args.out = None  # process 0 saves
        with contextlib.redirect_stdout(io.StringIO()):
            return int(handler(args))

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``modelcollapse`` command (families from the registry)."""
    from modelcollapse.verify import registry

    parser = argparse.ArgumentParser(
        prog="modelcollapse",
        description="The mathematics of model collapse: theory and simulation.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("figures", help="regenerate every figure (PNG + data + metadata)")
    p.add_argument("--out", default="figures", help="output folder (default: ./figures)")
    p.add_argument("--quick", action="store_true", help="small, fast versions (smoke run)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="draw only these figures")
    p.set_defaults(func=_cmd_figures)

    fams = registry.families()
    p = sub.add_parser("verify", help="theory-vs-simulation report; exit 1 on failure")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--family", action="append", choices=tuple(fams), default=None,
                   help="only this family (repeatable; default: every family)")
    p.add_argument("--chains", type=P.chains.arg, default=None, help="chains per case")
    p.add_argument("--quick", action="store_true", help="fewer chains (20000 per case)")
    p.add_argument("--seed", type=int, default=2024, help="the report's seed")
    p.add_argument("--out", default=None, help="also write the table to this file")
    p.add_argument("--gaussian-only", action="store_true", help=argparse.SUPPRESS)
    add_distributed_arguments(p)
    p.set_defaults(func=_cmd_verify, devices=1)

    p = sub.add_parser("simulate", help="run a simulator and compare it with the theory")
    fam = p.add_subparsers(dest="family", required=True)
    for entry in fams.values():
        q = entry.add_simulate_command(fam)
        q.set_defaults(func=_simulate(q.get_default("func")))

    p = sub.add_parser("params", help="the parameter vocabulary: names, domains, meanings")
    p.set_defaults(func=_cmd_params)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:
        parser.exit(2, f"modelcollapse: error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
