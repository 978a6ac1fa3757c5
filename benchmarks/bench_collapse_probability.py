"""Time modelcollapse.theory.gaussian.collapse_probability on a 100 x 100 (M, n) grid.

Grid: M log-spaced in [2, 1e9] (100 integer values, duplicates allowed), n log-spaced in
[2, 1e6] (100 integers), eps = 0.01 and ddof = 1. Prints the best of a few repeats, the number
of grid points and the largest node count used by the Gil-Pelaez sum. Run:
``python benchmarks/bench_collapse_probability.py``.
"""

from __future__ import annotations

import time

import numpy as np

from modelcollapse.theory import gaussian as g


def main(repeats: int = 3) -> None:
    M = np.round(np.logspace(np.log10(2.0), 9.0, 100))[:, None]
    n = np.round(np.logspace(np.log10(2.0), 6.0, 100))[None, :]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        P = g.collapse_probability(n, M, 0.01, ddof=1)
        times.append(time.perf_counter() - t0)
    walk = g._LogWalk(*(np.broadcast_to(v, (100, 100)).ravel() for v in (n, M, np.ones(1))))
    print(f"grid {P.shape}, best of {repeats}: {min(times):.3f} s "
          f"(all: {', '.join(f'{t:.3f}' for t in times)}); max nodes {walk.nodes.max()}, "
          f"median nodes {int(np.median(walk.nodes))}")
    t0 = time.perf_counter()
    g.log_variance_quantile(n, M, 0.5)
    print(f"log_variance_quantile (median) on the same grid: {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
