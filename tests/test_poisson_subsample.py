"""Var Lambda_t of the Poisson refit under accumulate-subsample: exact recursion against the
simulator (z-bounded) and against an exact enumeration; wrong laws rejected.

The theory (theory.accumulate_subsample.accumulate_subsample_mean_mse with variance = lam0)
is the Gaussian mean's recursion with each point's variance fixed at lam0. The simulator draws
Poisson points into a pool and subsamples it (it never sees the formula).
"""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest

from modelcollapse.sims.poisson import simulate
from modelcollapse.spec.workflows import accumulate, accumulate_subsample
from modelcollapse.theory import poisson as po
from modelcollapse.theory.accumulate_subsample import accumulate_subsample_mean_drift_mse

Z = 4.5  # per comparison; 4 comparisons below -> family-wise < 3e-5


def _var_se(x: np.ndarray) -> tuple[float, float]:
    d = x - x.mean()
    s2 = float(d @ d / (x.size - 1))
    return s2, math.sqrt(max(float(np.mean(d**4)) - s2 * s2, 0.0) / x.size)


def test_rate_variance_matches_the_simulator_and_rejects_other_laws():
    lam0, M, N = 0.7, 6, 4
    gens = [2, 5]
    run = simulate(jax.random.key(17), lam0=lam0, M=M, generations=5, chains=60_000,
                   method="samples", workflow=accumulate_subsample(N), record=gens)
    for row, n in enumerate(gens, start=1):
        v, se = _var_se(np.asarray(run.rate[row], dtype=np.float64))
        th = float(po.rate_variance(n, lam0, M, workflow=accumulate_subsample(N)))
        assert abs(v - th) <= Z * se, (n, v, th, se)
        # the Gaussian law with a decaying point variance (MLE), and accumulate's, are rejected
        gauss = lam0 * float(accumulate_subsample_mean_drift_mse(n, M, subsample=N, ddof=0))
        acc = float(po.rate_variance(n, lam0, M, workflow=accumulate()))
        assert abs(v - gauss) > Z * se and abs(v - acc) > Z * se


def test_rate_variance_matches_an_enumeration_at_tiny_sizes():
    """M = 2 points per batch, N = 1, two generations: enumerate the pool's values (each
    Poisson truncated where its remaining mass times the largest squared error is below
    1e-14) and every subsample."""
    lam0, M, N, kmax = 0.4, 2, 1, 12
    total = 0.0
    for a in itertools.product(range(kmax + 1), repeat=M):
        pa = math.prod(math.exp(-lam0) * lam0**k / math.factorial(k) for k in a)
        for i in range(M):  # generation 1: one of the M real points
            lam1 = a[i] / N
            kb = int(lam1 + 12 * math.sqrt(lam1) + 15)
            for b in itertools.product(range(kb + 1), repeat=M):
                pb = math.prod(math.exp(-lam1) * lam1**k / math.factorial(k) for k in b)
                pool = a + b
                for j in range(2 * M):  # generation 2: one of the 2 M pooled points
                    lam2 = pool[j] / N
                    total += pa / M * pb / (2 * M) * (lam2 - lam0) ** 2
    th = float(po.rate_variance(2, lam0, M, workflow=accumulate_subsample(N)))
    assert th == pytest.approx(total, rel=1e-10)
