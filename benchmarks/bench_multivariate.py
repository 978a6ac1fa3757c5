"""Throughput of the multivariate Gaussian refit simulators against plain-NumPy baselines.

One chain advanced by one generation (draw M points in d dimensions from N(mu, Sigma), refit the
sample mean and the covariance S / (M - ddof)) is one *chain-generation*. Printed, in
chain-generations per second, at d = 10, M = 100 (``--d``, ``--M`` for others):

  (i)   NumPy loop: Python loops over chains and generations; each refit draws the M points
        (``rng.multivariate_normal`` would refactor Sigma every call, so the loop draws standard
        normals and maps them through the Cholesky factor, then ``np.cov`` and
        ``np.linalg.cholesky``) -- what a user without this toolkit writes;
  (ii)  NumPy Bartlett, vectorised over chains: the lower-triangular factor L of Sigma is
        advanced by ``L <- L B / sqrt(M - ddof)`` with B the Bartlett factor (chi diagonal,
        normal below it) for all chains at once (batched ``matmul``), the mean by
        ``mu + L z / sqrt(M)``, the log-determinant accumulated from the chi-square draws --
        the best NumPy version of the fast path we could write;
  (iii) ``modelcollapse.sims.multivariate.simulate(method="samples")``;
  (iv)  ``modelcollapse.sims.multivariate.simulate(method="bartlett")``.

Timings: warm-up call first (compilation excluded), best of ``--repeats``. Issue 11's targets:
(iv) / (i) >= 20 and (iv) / (ii) >= 1.5 at d = 10, M = 100 on 2 CPU cores. ``--devices N``
shards our chains over N devices (on a CPU it asks JAX for N CPU devices, one per core: the
NumPy baselines run on one core, as NumPy does).

Usage: python benchmarks/bench_multivariate.py [--quick] [--d 10] [--M 100] [--repeats 3]
[--devices N]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from modelcollapse._cliutil import request_cpu_devices
from modelcollapse.sims.multivariate import simulate


def best_time(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def numpy_loop(d: int, M: int, chains: int, gens: int, ddof: int = 1, seed: int = 0) -> None:
    """(i): a Python loop over chains and generations, drawing and fitting the M points."""
    rng = np.random.default_rng(seed)
    for _ in range(chains):
        mu, L = np.zeros(d), np.eye(d)
        for _ in range(gens):
            x = mu + rng.standard_normal((M, d)) @ L.T
            mu = x.mean(axis=0)
            L = np.linalg.cholesky(np.cov(x, rowvar=False, ddof=ddof))


def numpy_bartlett(d: int, M: int, chains: int, gens: int, ddof: int = 1,
                   seed: int = 0) -> np.ndarray:
    """(ii): the Bartlett recursion for all chains at once; returns log det Sigma_gens."""
    rng = np.random.default_rng(seed)
    below = np.tril_indices(d, -1)
    dof = M - np.arange(1, d + 1)
    scale = 1.0 / np.sqrt(M - ddof)
    mu = np.zeros((chains, d))
    L = np.broadcast_to(np.eye(d), (chains, d, d)).copy()
    logdet = np.zeros(chains)
    B = np.zeros((chains, d, d))
    for _ in range(gens):
        z = rng.standard_normal((chains, d))
        mu = mu + np.einsum("cij,cj->ci", L, z) / np.sqrt(M)
        chi2 = rng.chisquare(dof, (chains, d))
        B[:, below[0], below[1]] = rng.standard_normal((chains, below[0].size))
        B[:, np.arange(d), np.arange(d)] = np.sqrt(chi2)
        L = np.matmul(L, B) * scale
        logdet += np.log(chi2).sum(axis=1) + 2 * d * np.log(scale)
    return logdet


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--M", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--devices", type=int, default=None, help="shard our chains over N devices")
    args = ap.parse_args(argv)
    if args.devices:
        request_cpu_devices(args.devices)
    d, M, q, repeats, dev = args.d, args.M, args.quick, args.repeats, args.devices
    key = jax.random.key(0)
    print(f"jax {jax.__version__}, devices {jax.devices()}, dtype {jnp.zeros(()).dtype}, "
          f"d = {d}, M = {M}, repeats {repeats}{' (quick)' if q else ''}")
    rows = {}
    c, g = (10, 20) if q else (20, 50)
    rows["(i)   numpy loop (draw M points, fit)"] = c * g / best_time(
        lambda: numpy_loop(d, M, c, g), 1)
    c, g = (2048, 10) if q else (8192, 50)
    rows["(ii)  numpy Bartlett, vectorised"] = c * g / best_time(
        lambda: numpy_bartlett(d, M, c, g), repeats)
    c, g = (512, 10) if q else (2048, 20)
    rows["(iii) ours, samples"] = c * g / best_time(
        lambda: simulate(key, M=M, d=d, generations=g, chains=c, method="samples",
                         record=[g], devices=dev), repeats)
    c, g = (2048, 10) if q else (8192, 50)
    rows["(iv)  ours, bartlett"] = c * g / best_time(
        lambda: simulate(key, M=M, d=d, generations=g, chains=c, method="bartlett",
                         record=[g], devices=dev), repeats)
    print("chain-generations per second")
    for name, v in rows.items():
        print(f"  {name:40s} {v:14,.0f}")
    loop, vec, ours_s, ours_b = rows.values()
    print("ratios:")
    for name, v in [("bartlett / numpy loop (target >= 20)", ours_b / loop),
                    ("bartlett / numpy Bartlett (target >= 1.5)", ours_b / vec),
                    ("samples / numpy loop", ours_s / loop),
                    ("bartlett / ours samples", ours_b / ours_s)]:
        print(f"  {name:42s} {v:8.2f}x")


if __name__ == "__main__":
    main()
