"""Categorical heterozygosity under accumulate-subsample: exact against a brute-force enumeration.

The theory (theory.discrete_workflows) reduces the categorical moments to the 1-D Gaussian
maximum-likelihood recursion of theory.accumulate_subsample (H_n = H* s_n, D_n = H* d_n). The
test enumerates the whole process in exact rationals -- every real and synthetic sequence and
every subsample of the pool -- so it shares nothing with that reduction.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as th
from modelcollapse.theory import discrete_drift as DD


def _draws(p: tuple[Fraction, ...], m: int):
    """Every sequence of m symbols with its probability under p."""
    for seq in itertools.product(range(len(p)), repeat=m):
        prob = Fraction(1)
        for s in seq:
            prob *= p[s]
        if prob:
            yield seq, prob


def _enumerate(p0: tuple[Fraction, ...], M: int, N: int, n: int) -> tuple[Fraction, ...]:
    """(E H_n, E ||p_n - p0||^2, E (m_n - m_0)^2, E Var_{p_n}(X)) on the support 0..K-1,
    exactly, for accumulate-subsample."""
    K = len(p0)
    m0 = sum(i * x for i, x in enumerate(p0))

    def walk(pool: tuple[int, ...], p: tuple[Fraction, ...], t: int) -> tuple[Fraction, ...]:
        if t == n:
            h = 1 - sum(x * x for x in p)
            d = sum((x - y) ** 2 for x, y in zip(p, p0, strict=True))
            m = sum(i * x for i, x in enumerate(p))
            v = sum(i * i * x for i, x in enumerate(p)) - m * m
            return h, d, (m - m0) ** 2, v
        sums = [Fraction(0)] * 4
        source = p0 if t == 0 else p
        for seq, prob in _draws(source, M):
            new_pool = pool + seq
            subsets = list(itertools.combinations(range(len(new_pool)), N))
            for sub in subsets:
                counts = [0] * K
                for i in sub:
                    counts[new_pool[i]] += 1
                q = tuple(Fraction(c, N) for c in counts)
                w = prob / len(subsets)
                sums = [acc + w * x for acc, x in zip(sums, walk(new_pool, q, t + 1),
                                                      strict=True)]
        return tuple(sums)

    return walk((), p0, 0)


@pytest.mark.parametrize(("p0", "M", "N", "n"), [
    ((Fraction(1, 2), Fraction(1, 2)), 2, 1, 3),
    ((Fraction(1, 2), Fraction(1, 2)), 2, 2, 3),
    ((Fraction(2, 3), Fraction(1, 3)), 3, 2, 2),
    ((Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)), 2, 2, 2),
])
def test_accumulate_subsample_moments_match_enumeration(p0, M, N, n):
    h_exact, d_exact, drift_exact, var_exact = _enumerate(p0, M, N, n)
    p = np.array([float(x) for x in p0])
    wf = W.accumulate_subsample(N)
    h = float(th.expected_heterozygosity(n, p, M, workflow=wf))
    d = float(th.expected_sq_distance(n, p, M, workflow=wf))
    assert h == pytest.approx(float(h_exact), rel=1e-13, abs=1e-15)
    assert d == pytest.approx(float(d_exact), rel=1e-13, abs=1e-15)
    drift = float(DD.expected_mean_drift(n, p, M, workflow=wf))
    var = float(DD.expected_support_variance(n, p, M, workflow=wf))
    assert drift == pytest.approx(float(drift_exact), rel=1e-13, abs=1e-15)
    assert var == pytest.approx(float(var_exact), rel=1e-13, abs=1e-15)
    # the enumeration tells the policies apart: accumulate (the whole pool) is another value
    acc = float(th.expected_heterozygosity(n, p, M, workflow=W.accumulate()))
    assert abs(acc - float(h_exact)) > 1e-3


def test_first_generation_is_a_subsample_of_the_real_batch():
    """n = 1: N of the M real points, E H_1 = H* (1 - 1/N) (the MLE of N draws)."""
    p = np.array([0.5, 0.3, 0.2])
    H = 1 - np.sum(p**2)
    for N in (1, 3, 10):
        got = th.expected_heterozygosity(1, p, 10, workflow=W.accumulate_subsample(N))
        assert float(got) == pytest.approx(H * (1 - 1 / N), rel=1e-14)
