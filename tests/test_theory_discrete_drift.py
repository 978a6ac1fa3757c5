"""Tests for modelcollapse.theory.discrete_drift (drift of discrete fitting on a numeric support).

References are built here, independently of the module: the FULL multinomial chain over the
compositions of M into K parts, enumerated in exact rational arithmetic (fractions.Fraction),
with every functional (mean, variance, W1, TV, W2^2 by an explicit quantile integral, Cramer)
evaluated exactly per state; mpmath at 60 digits for the closed forms at huge M. The module is
never used to produce its own reference. These tests are deterministic (no Monte Carlo): the
tolerances are round-off bounds, stated per test.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import cache

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcollapse.theory import discrete_drift as dd

# --------------------------------------------------------------------------------------------
# the exact reference: the full multinomial chain in rationals
# --------------------------------------------------------------------------------------------


def _comps(M: int, K: int) -> list[tuple[int, ...]]:
    return [c for c in itertools.product(range(M + 1), repeat=K) if sum(c) == M]


def _multinomial(M: int, q: tuple[Fraction, ...], c: tuple[int, ...]) -> Fraction:
    coef = math.factorial(M)
    out = Fraction(1)
    for ci, qi in zip(c, q, strict=True):
        coef //= math.factorial(ci)
        out *= qi**ci
    return coef * out


@cache
def _chain_laws(M: int, p0: tuple[Fraction, ...], nmax: int) -> list[dict]:
    """Exact laws of counts_n for n = 1..nmax (dict composition -> probability)."""
    K = len(p0)
    states = _comps(M, K)
    law = {c: _multinomial(M, p0, c) for c in states}
    laws = [law]
    for _ in range(nmax - 1):
        new = dict.fromkeys(states, Fraction(0))
        for c, w in law.items():
            if w == 0:
                continue
            q = tuple(Fraction(ci, M) for ci in c)
            for c2 in states:
                new[c2] += w * _multinomial(M, q, c2)
        law = new
        laws.append(law)
    return laws


def _quantile_w(p: list[Fraction], q: list[Fraction], x: list[Fraction], power: int) -> Fraction:
    """int_0^1 |Q_p(u) - Q_q(u)|^power du, exactly: on each interval between consecutive cdf
    values both quantile functions are constant."""
    Fp = list(itertools.accumulate(p))
    Fq = list(itertools.accumulate(q))
    cuts = sorted(set([Fraction(0), Fraction(1)] + Fp + Fq))
    total = Fraction(0)
    for a, b in itertools.pairwise(cuts):
        if b <= a:
            continue
        u = (a + b) / 2
        ip = next(i for i, F in enumerate(Fp) if F >= u)
        iq = next(i for i, F in enumerate(Fq) if F >= u)
        total += (b - a) * abs(x[ip] - x[iq]) ** power
    return total


def _functionals(c, M, p0, x):
    p = [Fraction(ci, M) for ci in c]
    mean = sum(pi * xi for pi, xi in zip(p, x, strict=True))
    var = sum(pi * (xi - mean) ** 2 for pi, xi in zip(p, x, strict=True))
    Fp = list(itertools.accumulate(p))[:-1]
    F0 = list(itertools.accumulate(p0))[:-1]
    dx = [b - a for a, b in itertools.pairwise(x)]
    w1_cdf = sum(d * abs(a - b) for d, a, b in zip(dx, Fp, F0, strict=True))
    return {
        "mean": mean,
        "var": var,
        "w1": _quantile_w(p, list(p0), x, 1),
        "w1_cdf": w1_cdf,
        "tv": sum(abs(a - b) for a, b in zip(p, p0, strict=True)) / 2,
        "w2": _quantile_w(p, list(p0), x, 2),
        "cramer": sum(d * (a - b) ** 2 for d, a, b in zip(dx, Fp, F0, strict=True)),
    }


@cache
def _exact(n: int, M: int, p0: tuple[Fraction, ...], x: tuple[Fraction, ...]) -> dict:
    """Exact expectations at generation n (n >= 1) of every functional, from the full chain."""
    law = _chain_laws(M, p0, n)[n - 1]
    m0 = sum(pi * xi for pi, xi in zip(p0, x, strict=True))
    v0 = sum(pi * (xi - m0) ** 2 for pi, xi in zip(p0, x, strict=True))
    acc = dict.fromkeys(("drift", "var", "var2", "w1", "w1_cdf", "tv", "w2", "cramer"),
                        Fraction(0))
    for c, w in law.items():
        if w == 0:
            continue
        f = _functionals(c, M, p0, x)
        acc["drift"] += w * (f["mean"] - m0) ** 2
        acc["var"] += w * f["var"]
        acc["var2"] += w * f["var"] ** 2
        for k in ("w1", "w1_cdf", "tv", "w2", "cramer"):
            acc[k] += w * f[k]
    acc["varvar"] = acc["var2"] - acc["var"] ** 2
    acc["v0"] = v0
    return acc


def _frac(v) -> tuple[Fraction, ...]:
    return tuple(Fraction(a).limit_denominator(1000) for a in v)


CASES = [
    ((0.2, 0.5, 0.3), (0.0, 1.0, 4.0)),
    ((0.5, 0.25, 0.25), (-1.0, 0.5, 2.0)),
    ((0.1, 0.0, 0.9), (0.0, 1.0, 2.0)),  # a zero-probability symbol in the middle
]


@pytest.mark.parametrize("p0, x", CASES)
@pytest.mark.parametrize("M", [1, 2, 3, 5, 6])
def test_every_function_against_the_full_chain(p0, x, M):
    """Rationals vs float64: every quantity to 1e-12 relative to its scale (round-off of a few
    hundred float operations; a wrong formula moves the values by far more)."""
    pf, xf = _frac(p0), _frac(x)
    ns = [1, 2, 3, 5] if M <= 5 else [1, 2, 4]
    for n in ns:
        ex = _exact(n, M, pf, xf)
        # the two forms of W1 agree exactly (the cdf form is what the module uses)
        assert ex["w1"] == ex["w1_cdf"]
        scale = float(ex["v0"]) + 1.0
        got = {
            "drift": dd.expected_mean_drift(n, p0, M, x),
            "var": dd.expected_support_variance(n, p0, M, x),
            "varvar": dd.support_variance_variance(n, p0, M, x),
            "w1": dd.expected_w1(n, p0, M, x),
            "tv": dd.expected_total_variation(n, p0, M),
            "w2": dd.expected_w2_squared(n, p0, M, x),
            "cramer": dd.expected_cramer_squared(n, p0, M, x),
        }
        for k, v in got.items():
            assert float(v) == pytest.approx(float(ex[k]), rel=1e-12, abs=1e-13 * scale**2), (
                k, n, M)
        lo, hi = dd.w2_squared_bounds(n, p0, M, x)
        assert float(lo) <= float(ex["w2"]) * (1 + 1e-12) + 1e-14
        assert float(ex["w2"]) <= float(hi) * (1 + 1e-12) + 1e-14


def test_k2_w2_against_the_full_chain_and_w1_identity():
    """K = 2: W2^2 = dx W1 exactly (quantile functions differ by dx on a u-set of length
    |F_n - F0|); checked against the rational chain and as an identity at larger M."""
    p0, x = (0.3, 0.7), (0.0, 2.5)
    for M in (1, 2, 4, 7):
        for n in (1, 2, 3):
            ex = _exact(n, M, _frac(p0), _frac(x))
            assert float(dd.expected_w2_squared(n, p0, M, x)) == pytest.approx(
                float(ex["w2"]), rel=1e-12)
    n = np.array([1, 5, 50, 500])
    w1 = dd.expected_w1(n, p0, 300, x)
    w2 = dd.expected_w2_squared(n, p0, 300, x)
    np.testing.assert_allclose(w2, 2.5 * w1, rtol=1e-14)


def test_brute_force_rejects_perturbed_formulas():
    """The reference check above fails for the perturbations it must catch: (1 - 1/M)^(n-1)
    instead of (1 - 1/M)^n, and TV without its 1/2."""
    p0, x, M = (0.2, 0.5, 0.3), (0.0, 1.0, 4.0), 5
    for n in (1, 2, 3):
        ex = _exact(n, M, _frac(p0), _frac(x))
        v0 = float(ex["v0"])
        wrong_drift = v0 * (1 - (1 - 1 / M) ** (n - 1))
        wrong_var = v0 * (1 - 1 / M) ** (n - 1)
        assert wrong_drift != pytest.approx(float(ex["drift"]), rel=1e-6)
        assert wrong_var != pytest.approx(float(ex["var"]), rel=1e-6)
        tv = float(dd.expected_total_variation(n, p0, M))
        assert 2 * tv != pytest.approx(float(ex["tv"]), rel=1e-6)
        # and the right formulas pass the same comparison
        assert v0 * (1 - (1 - 1 / M) ** n) == pytest.approx(float(ex["drift"]), rel=1e-12)


def test_limits_reached_at_large_n():
    """After n >> M log M generations every quantity is at its limit (transient mass < 1e-15)."""
    p0, x = np.array([0.1, 0.4, 0.3, 0.2]), np.array([-2.0, 0.0, 0.5, 3.0])
    M, n = 20, 5000
    np.testing.assert_allclose(dd.expected_w1(n, p0, M, x), dd.w1_limit(p0, x), rtol=1e-12)
    np.testing.assert_allclose(dd.expected_total_variation(n, p0, M),
                               dd.total_variation_limit(p0), rtol=1e-12)
    np.testing.assert_allclose(dd.expected_cramer_squared(10**9, p0, M, x),
                               dd.cramer_squared_limit(p0, x), rtol=1e-12)
    np.testing.assert_allclose(dd.expected_w2_squared(n, p0, 6, x), dd.w2_squared_limit(p0, x),
                               rtol=1e-12)
    np.testing.assert_allclose(dd.expected_mean_drift(10**7, p0, M, x),
                               dd.w2_squared_limit(p0, x) / 2, rtol=1e-12)
    assert float(dd.support_variance_variance(10**6, p0, M, x)) < 1e-300
    # astronomically large n: the absorbed values at once (the full chain stops once its
    # non-absorbed mass, summed directly, is below 1e-17; 1 - absorbed mass would stall)
    big = 1e300
    assert float(dd.expected_w2_squared(big, p0, 6, x)) == pytest.approx(
        float(dd.w2_squared_limit(p0, x)), rel=1e-13)
    assert float(dd.expected_w1(big, p0, 20000, x)) == pytest.approx(
        float(dd.w1_limit(p0, x)), rel=1e-14)
    assert float(dd.expected_total_variation(big, p0, 1)) == pytest.approx(
        float(dd.total_variation_limit(p0)), rel=1e-14)
    # the limits themselves, by their definitions
    diff = np.abs(x[:, None] - x[None, :])
    assert float(dd.w1_limit(p0, x)) == pytest.approx(float(p0 @ diff @ p0), rel=1e-14)
    m = p0 @ x
    assert float(dd.w2_squared_limit(p0, x)) == pytest.approx(2 * float(p0 @ (x - m) ** 2))
    assert float(dd.total_variation_limit(p0)) == pytest.approx(1 - float(p0 @ p0))


# --------------------------------------------------------------------------------------------
# stability: huge M, huge n, large K
# --------------------------------------------------------------------------------------------


def _mp_varvar(n: int, M: int, p0, x) -> float:
    """The plain closed form at 60 digits (cancellation is harmless there)."""
    with mpmath.workdps(60):
        p = [mpmath.mpf(v) for v in p0]
        xs = [mpmath.mpf(v) for v in x]
        m = mpmath.fsum(a * b for a, b in zip(p, xs, strict=True))
        mu2 = mpmath.fsum(a * (b - m) ** 2 for a, b in zip(p, xs, strict=True))
        mu4 = mpmath.fsum(a * (b - m) ** 4 for a, b in zip(p, xs, strict=True))
        kappa, s = mu4 - mu2**2, mu2**2
        Mm = mpmath.mpf(M)
        l2 = 1 - 1 / Mm
        l4 = l2 * (1 - 2 / Mm) * (1 - 3 / Mm)
        val = ((Mm - 1) * kappa * (l2**n - l4**n)
               + s * (4 * (Mm - 1) * l2**n + (Mm - 2) * l4**n - (5 * Mm - 6) * l2 ** (2 * n)))
        return float(val / (5 * Mm - 6))


@pytest.mark.parametrize("p0, x", [((0.5, 0.5), (0.0, 1.0)),  # kappa = 0: the hard case
                                   ((0.2, 0.5, 0.3), (0.0, 1.0, 4.0))])
def test_variance_variance_stable_at_huge_M(p0, x):
    """Relative error below 1e-12 against 60-digit mpmath for M up to 1e9, n up to 1e7 (the
    plain float64 formula is off by 4e-9 at M = 1e4 and 6e-5 at M = 1e6, n = 1, kappa = 0;
    measured worst of the module: 1.8e-14)."""
    for M in (4, 7, 100, 10**4, 10**6, 10**9):
        for n in (1, 2, 3, 10, 1000, 10**5, 10**7):
            ref = _mp_varvar(n, M, p0, x)
            got = float(dd.support_variance_variance(n, p0, M, x))
            if ref < 1e-290:
                assert got < 1e-280
                continue
            assert got == pytest.approx(ref, rel=1e-12), (M, n)


def test_closed_forms_at_huge_arguments():
    """n = 1e6 .. 1e15 and M = 1e9: finite, in range, and equal to the expm1 forms."""
    p0, x = np.array([0.25, 0.25, 0.5]), np.array([0.0, 1.0, 3.0])
    v0 = float(p0 @ (x - p0 @ x) ** 2)
    for n, M in [(1, 10**9), (10**6, 10**9), (10**15, 10**9), (10**6, 2)]:
        want = v0 * -math.expm1(n * math.log1p(-1 / M))
        assert float(dd.expected_mean_drift(n, p0, M, x)) == pytest.approx(want, rel=1e-14)
        got = float(dd.expected_support_variance(n, p0, M, x))
        assert got == pytest.approx(v0 * math.exp(n * math.log1p(-1 / M)), rel=1e-12, abs=1e-300)
        assert np.isfinite(float(dd.support_variance_variance(n, p0, M, x)))
    # normal approximation and closed forms for K = 1e5 in well under a second
    K = 100_000
    p = np.full(K, 1.0 / K)
    xs = np.linspace(0.0, 1.0, K)
    c = dd.expected_cramer_squared([1, 10**6], p, 10**9, xs)
    assert np.all(np.isfinite(c)) and c[1] > c[0] > 0
    w = dd.expected_w1([1, 10], p, 10**9, xs, method="normal")
    assert np.all(np.isfinite(w)) and w[1] > w[0] > 0
    assert np.isfinite(float(dd.support_variance_variance(100, p, 10**9, xs)))


def test_w2_bounds_beyond_the_exact_chain():
    """M > MAX_EXACT_M or an exact W1 over budget: the closed-form bounds (moment lower bound,
    2 Var upper bound), which still hold; they meet at the limit."""
    p0, x = np.array([0.2, 0.5, 0.3]), np.array([0.0, 1.0, 4.0])
    v0 = float(p0 @ (x - p0 @ x) ** 2)
    for n, M in [(1, 10**9), (10**6, 10**5), (3000, 20000)]:
        lo, hi = dd.w2_squared_bounds(n, p0, M, x)
        lam = 1 - 1 / M
        want = v0 * ((1 - lam**n) + (1 - lam ** (n / 2)) ** 2)
        assert float(lo) == pytest.approx(want, rel=1e-9)
        assert float(hi) == pytest.approx(2 * v0, rel=1e-14)
    lo, hi = dd.w2_squared_bounds(10**12, p0, 10**5, x)
    assert float(lo) == pytest.approx(float(hi), rel=1e-12)
    assert float(hi) == pytest.approx(float(dd.w2_squared_limit(p0, x)), rel=1e-14)
    # mixed M: the exact W1 is used where it is available, per entry
    lo, hi = dd.w2_squared_bounds(3, p0, [6, 10**7], x)
    lo6, hi6 = dd.w2_squared_bounds(3, p0, 6, x)
    assert (float(lo[0]), float(hi[0])) == (float(lo6), float(hi6))
    assert float(hi[1]) == pytest.approx(2 * v0)


def test_varvar_two_forms_agree():
    """The kappa term of the variance recursion equals its closed form (lam2^n - lam4^n)."""
    p0, x = (0.2, 0.5, 0.3), (0.0, 1.0, 4.0)
    for M in (5, 50, 5000):
        for n in (1, 3, 30, 3000):
            assert float(dd.support_variance_variance(n, p0, M, x)) == pytest.approx(
                _mp_varvar(n, M, p0, x), rel=1e-12)


# --------------------------------------------------------------------------------------------
# closed forms vs the exact engine; the normal approximation's error
# --------------------------------------------------------------------------------------------


def test_cramer_and_mean_drift_against_two_allele_laws():
    """E (F_n - F0)^2 from the exact count law of the cut (theory.discrete.count_distribution)
    equals the closed form behind expected_cramer_squared."""
    from modelcollapse.theory.discrete import count_distribution

    p0, x, M = np.array([0.2, 0.5, 0.3]), np.array([0.0, 1.0, 4.0]), 40
    F = np.cumsum(p0)[:-1]
    grid = np.arange(M + 1) / M
    for n in (1, 7, 60):
        law = count_distribution(n, F, M)
        sq = np.sum(law * (grid[None, :] - F[:, None]) ** 2, axis=1)
        ab = np.sum(law * np.abs(grid[None, :] - F[:, None]), axis=1)
        assert float(dd.expected_cramer_squared(n, p0, M, x)) == pytest.approx(
            float(np.diff(x) @ sq), rel=1e-12)
        assert float(dd.expected_w1(n, p0, M, x)) == pytest.approx(float(np.diff(x) @ ab),
                                                                   rel=1e-12)


def test_normal_approximation_error_as_stated():
    """The figures quoted in expected_w1's Notes (uniform p0 on 5 symbols), each with a margin
    of a third of its size: +0.34% (M=100, n=1), -1.2%, -0.12%, -0.012% (n=10, M=1e2..1e4),
    -5% (M=100, n=50)."""
    p0 = np.full(5, 0.2)
    stated = {(100, 1): 0.0034, (100, 10): -0.012, (1000, 10): -0.0012, (10**4, 10): -0.00012,
              (100, 50): -0.05}
    for (M, n), want in stated.items():
        ex = float(dd.expected_w1(n, p0, M))
        nm = float(dd.expected_w1(n, p0, M, method="normal"))
        assert (nm - ex) / ex == pytest.approx(want, rel=0.34), (M, n)


def test_forward_route_in_row_groups_agrees_with_single_rows():
    """M = 3000 (forward route; rows grouped by band): the same values as the count law of each
    row stepped alone (theory.discrete.count_distribution)."""
    from modelcollapse.theory.discrete import count_distribution

    q = np.array([0.004, 0.3, 0.31, 0.7])
    ns = np.array([1.0, 4.0])
    M = 3000
    assert len(dd._row_groups(q, M, 3, 100)) == 3  # 0.3 and 0.31 share a band
    a = dd._abs_dev_table(q, ns, M, "t")
    grid = np.arange(M + 1) / M
    law = count_distribution(ns[None, :], q[:, None], M)
    b = np.sum(law * np.abs(grid - q[:, None, None]), axis=-1)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-16)


def test_exact_path_choices_agree():
    """The forward route and the identity ("matrix") route give the same laws."""
    q = np.array([0.05, 0.3, 0.5])
    ns = np.array([0.0, 1.0, 2.0, 9.0, 40.0])
    M = 60
    a = dd._abs_dev_table(q, ns, M, "t")
    grid = np.arange(M + 1) / M
    from modelcollapse.theory.wright_fisher import binomial_pmf_rows, propagate

    res = propagate(M, binomial_pmf_rows(q, M), [0, 1, 8, 39], "forward")
    for j, n in enumerate(ns):
        if n == 0:
            np.testing.assert_array_equal(a[:, j], 0.0)
            continue
        b = np.sum(res[int(n) - 1] * np.abs(grid[None, :] - q[:, None]), axis=1)
        np.testing.assert_allclose(a[:, j], b, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------------
# properties (Hypothesis): only ones that are true
# --------------------------------------------------------------------------------------------

probs = st.lists(st.integers(0, 20), min_size=2, max_size=4).filter(lambda v: sum(v) > 0).map(
    lambda v: np.asarray(v, dtype=np.float64) / sum(v))


@given(p0=probs, M=st.integers(1, 30), data=st.data())
def test_properties(p0, M, data):
    K = p0.size
    gaps = data.draw(st.lists(st.floats(0.1, 3.0), min_size=K - 1, max_size=K - 1))
    x = np.concatenate([[0.0], np.cumsum(gaps)])
    n = np.arange(0, 12)
    w1 = dd.expected_w1(n, p0, M, x)
    tv = dd.expected_total_variation(n, p0, M)
    # convex functionals of a martingale: non-decreasing in n, below their limits
    assert np.all(np.diff(w1) >= -1e-13)
    assert np.all(np.diff(tv) >= -1e-13)
    assert np.all(w1 <= float(dd.w1_limit(p0, x)) + 1e-12)
    assert np.all(tv <= float(dd.total_variation_limit(p0)) + 1e-12)
    # E|Z| <= sqrt(E Z^2) at every cut: W1 below sum dx sqrt(Var F_n)
    normal = dd.expected_w1(n, p0, M, x, method="normal")
    assert np.all(w1 <= normal * math.sqrt(math.pi / 2) + 1e-12)
    # W2 bounds ordered, and around the exact value where the full chain is small
    lo, hi = dd.w2_squared_bounds(n, p0, M, x)
    assert np.all(lo <= hi * (1 + 1e-12) + 1e-14)
    if math.comb(M + K - 1, K - 1) <= 300:
        w2 = dd.expected_w2_squared(n, p0, M, x)
        assert np.all(lo <= w2 * (1 + 1e-10) + 1e-12)
        assert np.all(w2 <= hi * (1 + 1e-10) + 1e-12)
        assert np.all(np.diff(w2) >= -1e-12)
    assert np.all(dd.support_variance_variance(n, p0, M, x) >= 0)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

P0, X = [0.2, 0.5, 0.3], [0.0, 1.0, 4.0]
SUPPORTED = [dd.expected_mean_drift, dd.expected_support_variance, dd.support_variance_variance,
             dd.expected_w1, dd.expected_cramer_squared, dd.expected_w2_squared,
             dd.w2_squared_bounds]


@pytest.mark.parametrize("fn", SUPPORTED, ids=lambda f: f.__name__)
def test_validation_names_the_argument(fn):
    with pytest.raises(ValueError, match="^n must"):
        fn(-1, P0, 5, X)
    with pytest.raises(ValueError, match="^M must"):
        fn(1, P0, 0, X)
    with pytest.raises(ValueError, match="^p0 must"):
        fn(1, [0.5, 0.6], 5)
    with pytest.raises(ValueError, match="^support must"):
        fn(1, P0, 5, [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="^support must"):
        fn(1, P0, 5, [0.0, 1.0])
    with pytest.raises(ValueError, match="^support must"):
        fn(1, P0, 5, [0.0, 1.0, np.inf])
    with pytest.raises(ValueError, match="^support must"):
        fn(1, P0, 5, [True, False, True])
    with pytest.raises(ValueError, match="workflow"):  # (mix, accumulate: some take them)
        fn(1, P0, 5, X, workflow="weighted")
    with pytest.raises(ValueError, match="do not broadcast"):
        fn([1, 2], [P0, P0, P0], 5, X)


def test_validation_methods_and_sizes():
    with pytest.raises(ValueError, match="^method must"):
        dd.expected_w1(1, P0, 5, X, method="kimura")
    with pytest.raises(ValueError, match="^method must"):
        dd.expected_total_variation(1, P0, 5, method=True)
    with pytest.raises(ValueError, match="M must be <= 20000.*method='normal'"):
        dd.expected_w1(1, P0, 10**6, X)
    with pytest.raises(ValueError, match="^M must be <= 20000.*method='normal'"):
        dd.expected_total_variation(1, P0, 10**6)
    many = np.arange(1.0, 401.0) / np.sum(np.arange(1.0, 401.0))
    with pytest.raises(ValueError, match="would take about .* s .*method='normal'"):
        dd.expected_total_variation(3000, many, 20000)
    # a rare symbol's count spreads far beyond 12 standard deviations: refused, not run (81 s)
    with pytest.raises(ValueError, match="would take about"):
        dd.expected_total_variation(3000, [1 / 400, 399 / 400], 20000)
    with pytest.raises(ValueError, match="MAX_CHAIN_STATES.*w2_squared_bounds"):
        dd.expected_w2_squared(1, [0.25] * 4, 100, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="^p0 must"):
        dd.w1_limit([0.5, 0.6])
    with pytest.raises(ValueError, match="^support must"):
        dd.w2_squared_limit(P0, [1.0, 1.0, 2.0])


def test_shapes_and_scalars():
    out = dd.expected_w1(np.array([[1], [2]]), [P0, [0.1, 0.1, 0.8], P0], np.array([5, 6, 7]), X)
    assert out.shape == (2, 3)
    assert float(out[1, 1]) == pytest.approx(float(dd.expected_w1(2, [0.1, 0.1, 0.8], 6, X)))
    assert isinstance(dd.expected_mean_drift(1, P0, 5), np.floating)
    assert isinstance(dd.expected_w1(1, P0, 5), np.floating)
    assert dd.support_variance_variance([0, 1], P0, [[1], [3]], X).shape == (2, 2)
    assert float(dd.expected_w2_squared(4, [1.0], 5)) == 0.0
    assert float(dd.support_variance_variance(3, P0, 1, X)) == 0.0
    tv = dd.expected_total_variation([0, 1], [[0.5, 0.5], [1.0, 0.0]], 4)
    assert tv.tolist() == [0.0, 0.0]
