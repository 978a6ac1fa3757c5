"""``modelcollapse simulate discrete``: run the categorical (Wright-Fisher) simulator.

    modelcollapse simulate discrete --M 1000 --generations 500 --chains 2000
                                    (--K 1000 --zipf 1.1 | --p0 0.5,0.3,0.2)
                                    [--method counts|samples] [--seed 0] [--out run.npz]
                                    [--progress] [--devices N]

Prints, at a few recorded generations, the simulated chain averages beside the exact theory
(:mod:`modelcollapse.theory.discrete`): mean heterozygosity ``E H_n = (1 - 1/M)^n (1 - sum p0^2)``,
mean number of surviving symbols ``E S_n = sum_i (1 - P(lost_i by n))`` and the probability that a
single symbol is left, ``P(absorbed by n) = sum_i P(lost by n | p = 1 - p0_i)``. Generation 0 is
``p0``; generation ``n`` is after ``n`` rounds of "draw M samples, refit by frequencies".
``--devices N`` shards the chains over N devices; on a CPU-only machine it first asks JAX for N
CPU devices (``jax_num_cpu_devices``), so that N cores run chains side by side.

Wiring (in :mod:`modelcollapse.cli`): ``add_simulate_parser(fam)`` where ``fam`` is the
``simulate`` command's sub-parsers object; the command stores its handler in ``func``.
"""

from __future__ import annotations

import argparse

import numpy as np

from modelcollapse._cliutil import request_cpu_devices, summary_record, timed

__all__ = ["add_simulate_parser", "parse_p0", "discrete_summary", "request_cpu_devices"]

#: Exact-theory columns are skipped above this M (the exact chain gets slow; theory.discrete
#: accepts M <= MAX_EXACT_M = 20000).
MAX_THEORY_M = 5000


def _positive_int(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return int(value)


def parse_p0(text: str) -> np.ndarray:
    """A comma-separated probability vector, e.g. ``"0.5,0.3,0.2"`` (must sum to 1 within 1e-9)."""
    try:
        p = np.array([float(x) for x in text.split(",") if x.strip()], dtype=np.float64)
    except ValueError:
        raise ValueError(f"p0 must be comma-separated numbers (got {text!r})") from None
    if p.size < 1 or np.any(~np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"p0 must be non-negative finite numbers (got {text!r})")
    if abs(float(p.sum()) - 1.0) > 1e-9:
        raise ValueError(f"p0 must sum to 1 within 1e-9 (got sum {float(p.sum())!r})")
    return p


def _resolve_p0(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    from modelcollapse.verify_discrete import zipf_p0

    if args.p0 is not None:
        if args.K is not None or args.zipf is not None:
            raise ValueError("give either --p0 or --K [--zipf EXPONENT], not both")
        p = parse_p0(args.p0)
        return p, f"p0=({', '.join(f'{x:g}' for x in p[:6])}{', ...' if p.size > 6 else ''})"
    if args.K is None:
        raise ValueError("give --K (with --zipf EXPONENT, default uniform) or --p0")
    s = 0.0 if args.zipf is None else args.zipf
    return zipf_p0(args.K, s), f"K={args.K}, Zipf exponent {s:g}" + (" (uniform)" if s == 0 else "")


def discrete_summary(run, p0: np.ndarray, M: int) -> str:
    """Table: per recorded generation, simulated means beside the exact theory."""
    from modelcollapse.theory import discrete as th

    gens = np.asarray(run.generations)
    het = np.asarray(run.heterozygosity, dtype=np.float64)
    surv = np.asarray(run.survivors, dtype=np.float64)
    absg = np.asarray(run.absorption_generation)
    chains = het.shape[1]
    exact = M <= MAX_THEORY_M
    rows = [
        f"{'n':>7} {'E H_n sim':>11} {'+-2se':>9} {'theory':>10} {'E S_n sim':>11} {'+-2se':>9} "
        f"{'theory':>10} {'P(abs) sim':>10} {'theory':>10}"
    ]
    p_pos = p0[p0 > 0]
    for i, n in enumerate(gens):
        n = int(n)
        h_th = float(th.expected_heterozygosity(n, p0, M))
        if exact:
            s_th = f"{float(th.expected_survivors(n, p0, M)):>10.5g}"
            a_th = float(np.sum(th.extinction_probability(n, 1.0 - p_pos, M))) if n > 0 \
                else float(p_pos.size == 1)
            a_th_s = f"{min(a_th, 1.0):>10.4g}"
        else:
            s_th = a_th_s = f"{'(M>' + str(MAX_THEORY_M) + ')':>10}"
        absorbed = np.mean((absg >= 0) & (absg <= n))
        se = 2.0 / np.sqrt(chains)
        rows.append(
            f"{n:>7d} {het[i].mean():>11.5g} {se * het[i].std(ddof=1):>9.2g} {h_th:>10.5g} "
            f"{surv[i].mean():>11.5g} {se * surv[i].std(ddof=1):>9.2g} {s_th} "
            f"{absorbed:>10.4g} {a_th_s}"
        )
    return "\n".join(rows)


def _cmd_simulate_discrete(args: argparse.Namespace) -> int:
    request_cpu_devices(args.devices)
    import jax

    from modelcollapse.sims.discrete import simulate

    p0, label = _resolve_p0(args)
    g = args.generations
    if g < 0:
        raise ValueError(f"generations must be an integer >= 0 (got {g})")
    run, elapsed = timed(
        simulate, key=jax.random.key(args.seed), p0=p0, M=args.M, generations=g,
        chains=args.chains, method=args.method, record=summary_record(g), progress=args.progress,
        devices=args.devices,
    )
    dev = f", {args.devices} devices" if args.devices > 1 else ""
    print(
        f"categorical refit (Wright-Fisher): {label}, M={args.M}, method={args.method}, "
        f"{args.chains} chains{dev}, {g} generations, seed {args.seed} ({elapsed:.2f} s)"
    )
    print("H = heterozygosity 1 - sum p^2, S = surviving symbols, P(abs) = one symbol left;")
    print("simulated chain averages (+- 2 standard errors) beside the exact theory\n")
    print(discrete_summary(run, p0, args.M))
    if args.out:
        run.save(args.out)
        print(f"\nsaved {args.out}")
    return 0


def add_simulate_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``discrete`` to the ``simulate`` command's sub-parsers; return the new parser."""
    d = subparsers.add_parser("discrete", help="categorical distribution refit on its own samples")
    d.add_argument("--M", type=_positive_int, required=True, help="samples per generation (>= 1)")
    d.add_argument("--generations", type=int, required=True)
    d.add_argument("--chains", type=_positive_int, default=2000)
    d.add_argument("--K", type=_positive_int, default=None, help="vocabulary size (Zipf/uniform)")
    d.add_argument("--zipf", type=float, default=None, metavar="EXPONENT",
                   help="Zipf exponent s: p_i ~ i^-s (default 0: uniform)")
    d.add_argument("--p0", default=None, help="explicit probabilities, comma-separated")
    d.add_argument("--method", default="counts", choices=("counts", "samples"))
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", default=None, help="save the run (.npz)")
    d.add_argument("--progress", action="store_true", help="progress bar on stderr")
    d.add_argument("--devices", type=_positive_int, default=1,
                   help="shard the chains over N devices (CPU: N cores; default 1)")
    d.set_defaults(func=_cmd_simulate_discrete)
    return d
