"""Benchmark: the exact categorical (Wright-Fisher) theory at large M and n, one run.

Times ``theory.discrete.extinction_probability`` (the exact method: the loss model of
``theory.wright_fisher``) on the cases of the issue "At the edges" and on a grid
``M in {100, 1000, 6000, 20000}`` x ``n in {1, 10, ..., 10^6}`` (``p = 0.5`` and a symbol seen
once, ``p = 1/M``), the absorption times at each ``M``, Kimura's series down to ``n/(2M) =
5e-10`` and ``count_distribution`` (which refuses runs it estimates above its budget).

"cold" is the first call for an ``M`` (it builds the loss model, cached per ``M``: every cache
is cleared before), "warm" a later call with another ``n``. Each time is the best of
``--repeat`` runs (default 3; the cold time re-clears the caches each run). The machine's load
moves the numbers (a shared 2-core machine alternates between fast and slow spells), hence the
best-of.

Usage: ``python benchmarks/bench_theory_discrete.py [--repeat R] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from modelcollapse.theory import discrete as d
from modelcollapse.theory import wright_fisher as wf


def _clear() -> None:
    wf._loss_model.cache_clear()
    wf._transition.cache_clear()
    wf._fundamental_solutions.cache_clear()


def _best(fn: Callable[[], object], repeat: int, cold: bool) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        if cold:
            _clear()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def issue_cases(repeat: int) -> None:
    print("issue cases: extinction_probability(n, p, M), exact (cold: builds the loss model)")
    print(f"{'n':>8} {'p':>5} {'M':>6} {'value':>22} {'cold s':>8} {'warm s':>8}")
    for n, p, M in [(10**4, 0.5, 20000), (10**5, 0.5, 6000), (1000, 0.5, 20000)]:
        tc, v = _best(lambda n=n, p=p, M=M: float(d.extinction_probability(n, p, M)), repeat, True)
        tw, _ = _best(
            lambda n=n, p=p, M=M: float(d.extinction_probability(n + 1, p, M)), repeat, False
        )
        print(f"{n:>8} {p:>5} {M:>6} {v:>22.16g} {tc:>8.3f} {tw:>8.4f}")


def grid(repeat: int, quick: bool) -> None:
    Ms = (100, 1000, 6000) if quick else (100, 1000, 6000, 20000)
    ns = (1, 10, 100, 10**3, 10**4, 10**5, 10**6)
    print(
        "\ngrid: seconds per call of extinction_probability(n, [0.5, 1/M], M); first column "
        "the cold call (n = 1, model build), the others warm"
    )
    print(
        f"{'M':>6} {'build':>7} "
        + " ".join(f"{'n=' + format(n, '.0e'):>9}" for n in ns)
        + f" {'S':>4} {'K-1':>4} {'delta':>8}"
    )
    for M in Ms:
        tb, _ = _best(lambda M=M: d.extinction_probability(1, [0.5, 1 / M], M), repeat, True)
        cells = []
        for n in ns:
            t, _ = _best(
                lambda n=n, M=M: d.extinction_probability(n, [0.5, 1 / M], M), repeat, False
            )
            cells.append(t)
        m = wf._loss_model(M)
        print(
            f"{M:>6} {tb:>7.3f} "
            + " ".join(f"{c:>9.5f}" for c in cells)
            + f" {m.S:>4} {m.d:>4} {m.delta:>8.1e}"
        )


def times(repeat: int, quick: bool) -> None:
    print(
        "\nabsorption times: expected_absorption_time, _to_fixation, _to_loss at p in "
        "{0.01, 0.5} (cold)"
    )
    print(f"{'M':>6} {'E T(0.5)':>12} {'seconds':>8}")
    for M in (100, 1000, 6000) if quick else (100, 1000, 6000, 20000):

        def run(M=M):
            p = np.array([0.01, 0.5])
            return (
                d.expected_absorption_time(p, M),
                d.expected_time_to_fixation(p, M),
                d.expected_time_to_loss(p, M),
            )

        t, out = _best(run, repeat, True)
        print(f"{M:>6} {float(out[0][1]):>12.2f} {t:>8.3f}")


def kimura(repeat: int) -> None:
    print("\nKimura's series (method='kimura'), p in {1e-6, 0.01, 0.5}: terms and seconds")
    print(f"{'n':>4} {'M':>11} {'n/(2M)':>8} {'terms':>8} {'seconds':>8}")
    for n, M in [(1, 20000), (10, 10**6), (1, 10**8), (1, 10**9)]:
        rate = n / (2 * M)
        terms = int(d._kimura_terms(np.array([rate]))[0])
        t, _ = _best(
            lambda n=n, M=M: d.extinction_probability(n, [1e-6, 0.01, 0.5], M, method="kimura"),
            repeat,
            False,
        )
        print(f"{n:>4} {M:>11} {rate:>8.0e} {terms:>8} {t:>8.3f}")


def counts(repeat: int) -> None:
    print("\ncount_distribution (forward engine): seconds, or refused with the estimate")
    print(f"{'n':>8} {'p':>7} {'M':>6} {'estimate s':>10} {'result':>28}")
    for n, p, M in [
        (100, 0.5, 1000),
        (10**4, 0.5, 1000),
        (100, 0.001, 20000),
        (100, 0.5, 6000),
        (10**4, 0.5, 20000),
        (10**6, 0.5, 20000),
    ]:
        est = wf.forward_cost(M, n - 1, p=[p])
        try:
            t, _ = _best(lambda n=n, p=p, M=M: d.count_distribution(n, p, M), 1, True)
            res = f"{t:.3f} s"
        except ValueError:
            res = "refused (ValueError)"
        print(f"{n:>8} {p:>7} {M:>6} {est:>10.2f} {res:>28}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="leave out M = 20000")
    args = ap.parse_args()
    t0 = time.perf_counter()
    issue_cases(args.repeat)
    grid(args.repeat, args.quick)
    times(args.repeat, args.quick)
    kimura(args.repeat)
    counts(args.repeat)
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
