"""Benchmark: count-level Wright-Fisher simulator and binomial sampler against NumPy, one run.

Prints generations x chains per second of the count-level path
(``modelcollapse.sims.discrete.simulate(method="sufficient")``) against a plain NumPy loop
over generations (``rng.multinomial(M, probs)`` with ``probs`` the (chains, K) array of
frequencies, NumPy's broadcast multinomial), on the same problem, and
binomial draws per second of ``modelcollapse.sims.rng.binomial.binomial`` against
``jax.random.binomial`` and ``numpy.random.Generator.binomial``. Compilation is timed
separately (a first call of the same shapes) and excluded from the rates.

Every rate is the best of ``--repeat`` timed runs (default 3), NumPy and JAX runs interleaved,
so that a slow spell of a shared machine does not favour either side. The "compile s" column
is the first call's extra time (XLA compilation of the simulator for that configuration, a
few seconds). The whole script takes about 2 min.
Usage: ``python benchmarks/bench_discrete.py [--quick] [--devices N] [--repeat R]``
(``--devices N`` shards the chains over N devices; on a CPU it asks JAX for N CPU devices,
one per core; default one device).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
from bench_gaussian import best_time  # same folder: run as a script

from modelcollapse.cli_discrete import request_cpu_devices
from modelcollapse.sims.discrete import simulate
from modelcollapse.sims.rng.binomial import binomial


def _numpy_run(K: int, M: int, chains: int, generations: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    probs = np.full((chains, K), 1.0 / K)
    t = time.perf_counter()
    for _ in range(generations):
        counts = rng.multinomial(M, probs)
        probs = counts / M
    return time.perf_counter() - t


def _jax_run(K: int, M: int, chains: int, generations: int, seed: int, devices) -> float:
    p0 = np.full(K, 1.0 / K)
    kw = dict(p0=p0, M=M, generations=generations, chains=chains, record=[generations],
              track_extinction=False, devices=devices)
    t = time.perf_counter()
    run = simulate(jax.random.key(seed), **kw)
    assert run.survivors.shape == (2, chains)
    return time.perf_counter() - t


def bench_simulator(quick: bool, devices, repeat: int) -> None:
    gens = 20 if quick else 50
    cases = [(100, 1000, 2000, 1.0), (10, 10**6, 4096, 3.0), (10, 10**6, 16384, 3.0)]
    print("count-level simulator vs NumPy broadcast multinomial loop (same run, best of "
          f"{repeat})")
    print(f"{'K':>6} {'M':>8} {'chains':>7} {'gens':>5} {'numpy gen*ch/s':>15} "
          f"{'jax gen*ch/s':>13} {'ratio':>6} {'target':>6} {'compile s':>9}")
    for K, M, chains, target in cases:
        t_c = _jax_run(K, M, chains, gens, 0, devices)  # compile + first run
        t_j, t_n = float("inf"), float("inf")
        for r in range(repeat):
            t_j = min(t_j, _jax_run(K, M, chains, gens, 1 + r, devices))
            t_n = min(t_n, _numpy_run(K, M, chains, gens, 1 + r))
        work = chains * gens
        r_j, r_n = work / t_j, work / t_n
        print(f"{K:>6} {M:>8} {chains:>7} {gens:>5} {r_n:>15.3e} {r_j:>13.3e} "
              f"{r_j / r_n:>6.2f} {target:>5.0f}x {t_c - t_j:>9.1f}")


def bench_binomial(quick: bool, repeat: int) -> None:
    size = 2**18 if quick else 2**20
    print(f"\nbinomial draws per second ({size} draws per call, best of {repeat})")
    print(f"{'n':>8} {'p':>6} {'ours M/s':>9} {'jax.random M/s':>14} {'numpy M/s':>9}")
    rng = np.random.default_rng(0)
    for n, p in [(20, 0.2), (1000, 0.3), (10**6, 0.5)]:
        key = jax.random.key(0)
        ours = size / best_time(
            lambda k=key, n=n, p=p: binomial(k, n, p, (size,)).block_until_ready(), repeat)
        jsize = size // 4
        f = jax.jit(lambda k, n=n, p=p, s=jsize: jax.random.binomial(k, n, p, (s,)))
        jr = jsize / best_time(lambda f=f, k=key: f(k).block_until_ready(), repeat)
        nr = size / best_time(lambda n=n, p=p: rng.binomial(n, p, size), repeat)
        print(f"{n:>8} {p:>6} {ours / 1e6:>9.2f} {jr / 1e6:>14.2f} {nr / 1e6:>9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller problem sizes")
    ap.add_argument("--devices", type=int, default=None, help="shard chains over N devices")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per rate (best is kept)")
    args = ap.parse_args()
    if args.devices:
        request_cpu_devices(args.devices)
    print(f"jax {jax.__version__}, devices: {jax.devices()}")
    bench_simulator(args.quick, args.devices, max(1, args.repeat))
    bench_binomial(args.quick, max(1, args.repeat))


if __name__ == "__main__":
    main()
