"""Throughput of the 1-D Gaussian refit simulators against plain-NumPy baselines.

Prints chain-generations per second (one chain advanced by one generation = one refit) at M=100
(and optionally other M) for:
  (i)   naive NumPy: a Python loop over chains and generations drawing M points each;
  (i')  NumPy sample-level vectorised over chains (one (chains, M) draw per generation);
  (ii)  NumPy sufficient-statistic recursion vectorised over chains (normal + chisquare per
        generation): the best a careful NumPy user writes;
  (iii) modelcollapse.sims.gaussian.simulate(method="samples");
  (iv)  modelcollapse.sims.gaussian.simulate(method="sufficient");
  (v)   raw jax.random.normal throughput expressed as chain-generations/s at M normals each
        (the RNG limit of a sample-level path built on jax.random.normal).
Timings: warm-up call first (compilation excluded), block_until_ready, best of ``--repeats``.

Usage: python benchmarks/bench_gaussian.py [--quick] [--M 100 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from modelcollapse.sims.gaussian import simulate


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def numpy_naive(M, chains, gens, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(chains):
        mu, sigma = 0.0, 1.0
        for _ in range(gens):
            x = rng.normal(mu, sigma, M)
            mu = x.mean()
            sigma = x.std(ddof=1)


def numpy_vectorised_samples(M, chains, gens, seed=0):
    rng = np.random.default_rng(seed)
    mu = np.zeros(chains)
    lv = np.zeros(chains)
    for _ in range(gens):
        x = mu[:, None] + np.exp(0.5 * lv)[:, None] * rng.standard_normal((chains, M))
        mu = x.mean(axis=1)
        lv = np.log(x.var(axis=1, ddof=1))


def numpy_sufficient(M, chains, gens, seed=0, ddof=1):
    rng = np.random.default_rng(seed)
    mu = np.zeros(chains)
    lv = np.zeros(chains)
    for _ in range(gens):
        z = rng.standard_normal(chains)
        c = rng.chisquare(M - 1, chains)
        mu = mu + np.exp(0.5 * lv) * z / np.sqrt(M)
        lv = lv + np.log(c / (M - ddof))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    ap.add_argument("--M", type=int, nargs="+", default=[100])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    q = args.quick
    repeats = args.repeats
    key = jax.random.key(0)
    print(f"jax {jax.__version__}, devices {jax.devices()}, dtype "
          f"{jnp.zeros(()).dtype}, repeats {repeats}{' (quick)' if q else ''}")
    for M in args.M:
        bench_one(M, q, repeats, key)


def bench_one(M: int, q: bool, repeats: int, key) -> None:
    """Time the six variants at one M and print them with their ratios."""
    rows = {}
    s = max(1, 100 // M)  # keep the per-generation work of the sample-level runs ~constant
    c, g = (20, 50) if q else (50, 100)
    rows["(i)   numpy naive loop"] = c * g / best_time(lambda: numpy_naive(M, c, g), 1)
    c, g = (2048 * s, 10) if q else (4096 * s, 20)
    rows["(i')  numpy samples, vectorised"] = c * g / best_time(
        lambda: numpy_vectorised_samples(M, c, g), repeats)
    c, g = (2**16, 10) if q else (2**17, 30)
    rows["(ii)  numpy sufficient, vectorised"] = c * g / best_time(
        lambda: numpy_sufficient(M, c, g), repeats)
    c, g = (4096 * s, 10) if q else (8192 * s, 40)
    rows["(iii) ours, samples"] = c * g / best_time(
        lambda: simulate(key, M=M, generations=g, chains=c, method="samples", record=[g]),
        repeats)
    c, g = (2**16, 10) if q else (2**17, 60)
    rows["(iv)  ours, sufficient"] = c * g / best_time(
        lambda: simulate(key, M=M, generations=g, chains=c, method="sufficient",
                         record=[g]), repeats)
    c = (4096 if q else 16384) * s
    f = jax.jit(lambda k, c=c: jax.random.normal(k, (c, M)))
    rows["(v)   jax.random.normal limit"] = c / best_time(
        lambda: f(key).block_until_ready(), repeats)

    print(f"\nM = {M}: chain-generations per second")
    for name, v in rows.items():
        print(f"  {name:36s} {v:14,.0f}")
    naive, vec, suf_np, ours_s, ours_f, lim = rows.values()
    print("ratios:")
    for name, v in [("samples / numpy naive loop", ours_s / naive),
                    ("samples / numpy samples vectorised", ours_s / vec),
                    ("samples / jax.random.normal limit", ours_s / lim),
                    ("sufficient / numpy sufficient", ours_f / suf_np),
                    ("sufficient / ours samples", ours_f / ours_s)]:
        print(f"  {name:36s} {v:8.2f}x")


if __name__ == "__main__":
    main()
