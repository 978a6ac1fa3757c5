"""The ``modelcollapse`` command.

    modelcollapse figures [--quick] [--out DIR] [--only NAME ...]
    modelcollapse verify [--quick] [--chains N] [--seed S] [--out FILE] [--gaussian-only]
    modelcollapse simulate gaussian --M 100 --generations 1000 --chains 100000
                                    [--ddof 1] [--method samples|sufficient] [--seed 0]
                                    [--out run.npz] [--progress]
    modelcollapse simulate discrete --M 1000 --generations 100 --chains 1000
                                    (--K 1000 [--zipf 1.1] | --p0 0.5,0.3,0.2)
                                    [--method counts|samples] [--seed 0] [--out run.npz]

``verify`` prints a theory-vs-simulation table (z-scores, Bonferroni bound, pass/fail) and exits
with status 1 when any check fails. ``simulate`` prints a summary of the run beside the exact
theory at a few recorded generations.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from modelcollapse._cliutil import summary_record, timed
from modelcollapse.cli_discrete import add_simulate_parser as add_discrete_simulate_parser


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    value = int(float(text))
    if value < 1 or value != float(text):
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _cmd_figures(args: argparse.Namespace) -> int:
    from modelcollapse.figures import make_all

    t0 = time.perf_counter()
    paths = make_all(args.out, quick=args.quick, only=args.only, progress=_log)
    for p in paths:
        print(p)
    _log(f"wrote {len(paths)} files in {time.perf_counter() - t0:.1f} s")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from modelcollapse.verify import format_table, run_verification
    from modelcollapse.verify_discrete import run_discrete_verification

    chains = args.chains or (20_000 if args.quick else 100_000)
    t0 = time.perf_counter()
    # each family holds its own Bonferroni bound at alpha = 1e-3 (report-wide: at most 2e-3)
    checks = run_verification(chains=chains, seed=args.seed, progress=_log)
    if not args.gaussian_only:
        checks += run_discrete_verification(chains=chains, seed=args.seed, progress=_log)
    table = format_table(checks)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    _log(f"verification took {time.perf_counter() - t0:.1f} s with {chains} chains per case")
    return 0 if all(c.passed for c in checks) else 1


def _gaussian_summary(run, M: int, ddof: int) -> str:
    from modelcollapse.theory import gaussian as th

    gens = np.asarray(run.generations)
    lv = np.asarray(run.log_variance, dtype=np.float64)
    mu = np.asarray(run.mean, dtype=np.float64)
    eps = 0.01
    rows = [
        f"{'n':>7} {'E log s2 sim':>13} {'theory':>10} {'med sigma sim':>13} {'theory':>10} "
        f"{'P(s<=.1) sim':>12} {'theory':>10} {'E dmu^2 sim':>12} {'theory':>10}"
    ]
    for i, n in enumerate(gens):
        med_theory = (
            float(np.sqrt(th.variance_quantile(n, M, 0.5, ddof=ddof))) if n > 0 else 1.0
        )
        rows.append(
            f"{n:>7d} {lv[i].mean():>13.5g}"
            f" {float(th.expected_log_variance(n, M, ddof=ddof)):>10.5g}"
            f" {np.exp(0.5 * np.median(lv[i])):>13.5g} {med_theory:>10.5g}"
            f" {np.mean(lv[i] <= np.log(eps)):>12.4g}"
            f" {float(th.collapse_probability(n, M, eps, ddof=ddof)):>10.4g}"
            f" {np.mean(mu[i] ** 2):>12.5g} {float(th.mean_drift_mse(n, M, ddof=ddof)):>10.5g}"
        )
    return "\n".join(rows)


def _cmd_simulate_gaussian(args: argparse.Namespace) -> int:
    import jax

    from modelcollapse.sims.gaussian import simulate

    g = args.generations
    run, elapsed = timed(
        simulate, key=jax.random.key(args.seed), M=args.M, generations=g, chains=args.chains,
        ddof=args.ddof, method=args.method, record=summary_record(g), progress=args.progress,
    )
    print(
        f"1-D Gaussian, replace workflow: M={args.M}, ddof={args.ddof}, method={args.method}, "
        f"{args.chains} chains, {g} generations, seed {args.seed} ({elapsed:.2f} s)"
    )
    print("sigma_0 = 1; simulated chain averages beside the exact theory\n")
    print(_gaussian_summary(run, args.M, args.ddof))
    if args.out:
        run.save(args.out)
        print(f"\nsaved {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
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

    p = sub.add_parser("verify", help="theory-vs-simulation report; exit 1 on failure")
    p.add_argument("--chains", type=_positive_int, default=None, help="chains per case")
    p.add_argument("--quick", action="store_true", help="fewer chains (20000 per case)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--out", default=None, help="also write the table to this file")
    p.add_argument("--gaussian-only", action="store_true", help="skip the categorical rows")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("simulate", help="run a simulator and compare it with the theory")
    fam = p.add_subparsers(dest="family", required=True)
    g = fam.add_parser("gaussian", help="1-D Gaussian refit on its own samples")
    g.add_argument("--M", type=_positive_int, required=True, help="samples per generation (>= 2)")
    g.add_argument("--generations", type=int, required=True)
    g.add_argument("--chains", type=_positive_int, default=10_000)
    g.add_argument("--ddof", type=int, default=1, choices=(0, 1))
    g.add_argument("--method", default="sufficient", choices=("samples", "sufficient"))
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", default=None, help="save the run (.npz)")
    g.add_argument("--progress", action="store_true", help="progress bar on stderr")
    g.set_defaults(func=_cmd_simulate_gaussian)
    add_discrete_simulate_parser(fam)
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
