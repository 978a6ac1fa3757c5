"""Tests of modelcollapse.theory.poisson (the Poisson refit: a critical Galton-Watson process).

References are computed here, independently of the module: brute-force propagation of the
``Poisson`` transition kernel (scipy.stats.poisson) over a truncated state space, mpmath at
40 digits (the ``g_t`` iteration, Poisson pmfs at huge means, conditional moments), exact
additivity of independent founders, and NumPy Monte Carlo (``rng.poisson``, fixed seeds).

Statistical tolerance: ``|estimate - formula| <= Z * standard error`` with ``Z = 5``: a two-sided
normal tail of 5.7e-7 per comparison, about 1e-5 for the ~20 comparisons of this file
(Bonferroni), so a correct formula essentially never fails; each checker is also fed a perturbed
formula (variance x 1.05, ``g`` shifted by one generation, schedule ignored) and must reject it.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from modelcollapse.spec import workflows as W
from modelcollapse.theory import poisson as po
from modelcollapse.theory.branching import poisson_refit_g

Z = 5.0  # z-bound of every Monte Carlo comparison (see the module docstring)

# --------------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------------


def brute_law(n: int, c: float, K: int) -> np.ndarray:
    """Law of S_n on 0..K by propagating the kernel P[j, k] = Poisson(j).pmf(k) (truncated)."""
    k = np.arange(K + 1)
    p = stats.poisson.pmf(k, c)
    P = stats.poisson.pmf(k[None, :], k[:, None].astype(float))
    P[0] = 0.0
    P[0, 0] = 1.0
    for _ in range(n - 1):
        p = p @ P
    return p


def mp_g(t: int) -> mp.mpf:
    with mp.workdps(40):
        val = mp.mpf(1)
        for _ in range(t - 1):
            val = -mp.expm1(-val)
        return val


def mp_poisson_pmf(k: int, c: float) -> float:
    with mp.workdps(40):
        return float(mp.exp(-mp.mpf(c) + k * mp.log(c) - mp.loggamma(k + 1)))


# --------------------------------------------------------------------------------------------
# validation, workflow, broadcasting
# --------------------------------------------------------------------------------------------

NLM = [
    po.expected_rate,
    po.rate_variance,
    po.extinction_probability,
    po.log_extinction_probability,
    po.survival_probability,
    po.conditional_expected_rate,
    po.conditional_rate_variance,
    po.expected_capped_extinction_time,
]
BAD_COMMON = [float("nan"), float("inf"), -1.0, True, "3", None]


@pytest.mark.parametrize("fn", NLM + [po.survival_asymptotic], ids=lambda f: f.__name__)
@pytest.mark.parametrize("which", ["n", "lam0", "M"])
@pytest.mark.parametrize("bad", BAD_COMMON + [0, 0.5])
def test_validation_names_the_argument(fn, which, bad):
    args = {"n": 3, "lam0": 0.5, "M": 10}
    if which == "n" and bad == 0 and fn is not po.survival_asymptotic:
        return  # generation 0 is valid
    if which == "lam0" and bad == 0.5:
        return  # a valid rate
    args[which] = bad
    with pytest.raises(ValueError, match=rf"^{which} must be"):
        fn(args["n"], args["lam0"], args["M"])


@pytest.mark.parametrize("bad", [float("nan"), True, "x", None])
def test_validation_extra_arguments(bad):
    with pytest.raises(ValueError, match="^x must be"):
        po.rate_cdf(1, 1.0, 1, bad)
    for fn, args in [(po.rate_quantile, (1, 1.0, 1)), (po.extinction_time_quantile, (1.0, 1))]:
        for q in (bad, 0.0, 1.0, -0.5, float("inf")):
            with pytest.raises(ValueError, match="^q must be"):
                fn(*args, q)
    for t in (bad, 0.0, -1e-3, 0.5):
        with pytest.raises(ValueError, match="^tail must be"):
            po.count_distribution(1, 1.0, 1, tail=t)
    with pytest.raises(ValueError, match="^lam0 must be"):
        po.median_extinction_time(bad, 10)
    with pytest.raises(ValueError, match=r"^M\[1\] must be"):
        po.rate_variance_schedule(1.0, [10, 0, 3])
    with pytest.raises(ValueError, match="^M as a schedule must be 1-D"):
        po.extinction_probability_schedule(1.0, [[10, 3]])
    with pytest.raises(ValueError, match="^n must be <= 9007199254740992"):
        po.extinction_probability(2.0**60, 1.0, 1)
    with pytest.raises(ValueError, match="^n must be <= 10000000"):
        po.expected_capped_extinction_time(po.MAX_CAPPED_N + 1, 1.0, 1)
    with pytest.raises(ValueError, match="M\\*lam0 an integer"):
        po.count_distribution(0, 0.25, 2)


def test_workflow_keyword():
    assert po.rate_variance(2, 1.0, 4, workflow="replace") == 0.5
    assert po.rate_variance(2, 1.0, 4, workflow=W.replace()) == 0.5
    with pytest.raises(ValueError, match="workflow"):
        po.extinction_probability(2, 1.0, 4, workflow="accumulate_subsample")
    biased = W.replace(bias=W.SamplingBias(temperature=0.5))
    with pytest.raises(ValueError, match="theory.poisson.median_extinction_time"):
        po.median_extinction_time(1.0, 4, workflow=biased)


def test_every_function_refuses_a_sampling_bias_first():
    """Like the other families (tests/test_seam.py): workflow is checked before the arguments."""
    import inspect

    biased = W.replace(bias=W.SamplingBias(temperature=0.5))
    names = []
    for name in po.__all__:
        fn = getattr(po, name)
        if not callable(fn) or "workflow" not in inspect.signature(fn).parameters:
            continue
        nargs = sum(p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
                    for p in inspect.signature(fn).parameters.values())
        with pytest.raises(ValueError, match=rf"sampling bias \['temperature'\] is not "
                                             rf"available for theory\.poisson\.{name} "):
            fn(*([-1] * nargs), workflow=biased)
        names.append(name)
    assert len(names) == len([n for n in po.__all__ if not n.isupper()]) == 18


def test_broadcasting_and_scalars():
    n = np.arange(4)[:, None]
    lam = np.array([0.1, 1.0, 3.0])
    out = po.extinction_probability(n, lam, 10)
    assert out.shape == (4, 3)
    assert isinstance(po.survival_probability(3, 1.0, 10), np.floating)
    assert po.rate_cdf(n, lam, 10, [[0.5]]).shape == (4, 3)
    assert po.rate_quantile(2, lam, [[5], [10]], 0.5).shape == (2, 3)
    assert po.extinction_time_quantile(lam, 10, [[0.1], [0.9]]).shape == (2, 3)
    assert po.rate_variance_schedule([[1.0], [2.0]], [5, 6]).shape == (2, 1, 3)
    np.testing.assert_array_equal(po.extinction_probability(0, lam, 10), 0.0)
    np.testing.assert_array_equal(po.survival_probability(0, lam, 10), 1.0)


# --------------------------------------------------------------------------------------------
# exact small cases against brute-force enumeration
# --------------------------------------------------------------------------------------------

SMALL = [(1, 0.3), (2, 1.0), (3, 2.0), (4, 0.5), (5, 3.0), (5, 1e-6), (2, 1e-12)]


@pytest.mark.parametrize(("n", "c"), SMALL)
def test_count_distribution_against_kernel(n, c):
    K = 160
    ref = brute_law(n, c, K)
    pmf = po.count_distribution(n, c, 1)
    m = min(pmf.size, K // 2)
    surv = float(po.survival_probability(n, c, 1))
    assert pmf[0] == pytest.approx(ref[0], rel=1e-15)
    # measured: max abs error <= 2e-15 * P(S_n > 0); relative <= 1e-13 above 1e-4 of the mode
    assert np.max(np.abs(pmf[1:m] - ref[1:m])) <= 4e-15 * surv
    bulk = ref[1:m] > 1e-4 * ref[1:m].max()
    np.testing.assert_allclose(pmf[1:m][bulk], ref[1:m][bulk], rtol=1e-12)
    assert 1.0 - pmf.sum() <= 1e-15
    # moments of the brute-force law give the closed forms (M = 1 here, so Lam = S)
    k = np.arange(K + 1)
    mean = ref @ k
    assert mean == pytest.approx(po.expected_rate(n, c, 1), rel=1e-12)
    assert ref @ (k - mean) ** 2 == pytest.approx(po.rate_variance(n, c, 1), rel=1e-11)
    s = 1.0 - ref[0]
    if s > 1e-6:
        cm = (ref[1:] @ k[1:]) / s
        cv = (ref[1:] @ k[1:] ** 2) / s - cm**2
        assert po.conditional_expected_rate(n, c, 1) == pytest.approx(cm, rel=1e-11)
        assert po.conditional_rate_variance(n, c, 1) == pytest.approx(cv, rel=1e-10)


@pytest.mark.parametrize(("n", "lam0", "M"), [(1, 0.2, 10), (3, 0.7, 4), (5, 0.1, 20)])
def test_rate_cdf_and_quantile_against_kernel(n, lam0, M):
    c = M * lam0
    ref = np.cumsum(brute_law(n, c, 200))
    xs = np.array([-1.0, 0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 1.7, 3.0, np.inf])
    expect = np.where(xs < 0, 0.0, ref[np.minimum(np.floor(xs * M + 1e-9), 200).astype(int)])
    expect[np.isinf(xs)] = 1.0
    np.testing.assert_allclose(po.rate_cdf(n, lam0, M, xs), expect, atol=2e-15)
    # x = k / M computed in floating point counts the atom k
    k = np.arange(1, 12)
    np.testing.assert_allclose(po.rate_cdf(n, lam0, M, k / M), ref[k], atol=2e-15)
    qs = np.array([1e-9, 0.1, 0.3, 0.5, 0.77, 0.99, 1 - 1e-9])
    expect_q = np.searchsorted(ref, qs - 1e-13, side="left") / M
    np.testing.assert_array_equal(po.rate_quantile(n, lam0, M, qs), expect_q)


def test_generation_zero():
    assert po.rate_cdf(0, 2.0, 5, [1.99, 2.0]).tolist() == [0.0, 1.0]
    assert po.rate_quantile(0, 2.0, 5, 0.3) == 2.0
    assert po.count_distribution(0, 0.5, 4).tolist() == [0.0, 0.0, 1.0]
    lo, pmf = po.count_distribution_window(0, 0.5, 4)
    assert (lo, pmf.tolist()) == (2, [1.0])
    assert po.expected_capped_extinction_time(0, 1.0, 1) == 0.0
    assert po.conditional_expected_rate(0, 3.0, 2) == 3.0


@pytest.mark.parametrize("t", [1, 2, 3, 10, 100, 1000])
def test_extinction_against_mpmath_iteration(t):
    for c in (1e-3, 1.0, 30.0):
        with mp.workdps(40):
            ext = mp.exp(-c * mp_g(t))
        assert po.extinction_probability(t, c, 1) == pytest.approx(float(ext), rel=1e-13)
        assert po.survival_probability(t, c, 1) == pytest.approx(float(1 - ext), rel=1e-12)
        assert po.log_extinction_probability(t, c, 1) == pytest.approx(
            float(-c * mp_g(t)), rel=1e-13)


@pytest.mark.parametrize(("lam0", "M"), [(0.01, 10), (1.0, 3), (0.5, 100), (2.0, 50)])
def test_extinction_time_quantiles_against_scan(lam0, M):
    c = M * lam0
    top = int(2 * c / math.log(1 / 0.9)) + 3  # g_t <= 2/(t+1): every quantile is below
    with mp.workdps(40):
        gs, val = [mp.inf], mp.mpf(1)
        for _ in range(top):
            gs.append(val)
            val = -mp.expm1(-val)
        cdf = [mp.exp(-c * gv) for gv in gs]
    for q in (0.05, 0.5, 0.9):
        expect = next(t for t in range(1, top + 1) if cdf[t] >= q)
        got = po.extinction_time_quantile(lam0, M, q)
        assert got == expect
        # consistent with extinction_probability, bit for bit
        assert po.extinction_probability(got, lam0, M) >= q
        assert po.extinction_probability(got - 1, lam0, M) < q
    assert po.median_extinction_time(lam0, M) == po.extinction_time_quantile(lam0, M, 0.5)


def test_extinction_time_quantile_large_and_refused():
    for c in (1e5, 1e7, 1e10):
        t = po.median_extinction_time(c, 1)
        assert t > 1e6 or c < 1e6
        assert po.extinction_probability(t, c, 1) >= 0.5 > po.extinction_probability(t - 1, c, 1)
        assert t == pytest.approx(2 * c / math.log(2), rel=1e-4)
    with pytest.raises(ValueError, match="2\\^53"):
        po.median_extinction_time(1e16, 10)


def test_capped_extinction_time_diverges_like_log():
    c = 2.0
    n = np.array([1, 2, 5, 1000, 10**6])
    got = po.expected_capped_extinction_time(n, c, 1)
    direct = [1.0 + sum(float(po.survival_probability(t, c, 1)) for t in range(1, nn))
              for nn in n[:4]]
    np.testing.assert_allclose(got[:4], direct, rtol=1e-13)
    # E min(T, n) - 2c ln n converges (E T = infinity because of the log growth)
    a = po.expected_capped_extinction_time([10**5, 10**6], c, 1) - 2 * c * np.log([1e5, 1e6])
    assert abs(a[1] - a[0]) < 1e-3
    assert np.all(np.diff(got) > 0)


# --------------------------------------------------------------------------------------------
# the exact law at large M lam0, additivity, refusals
# --------------------------------------------------------------------------------------------


def test_window_against_mpmath_at_huge_mean():
    c = 1e9
    lo, pmf = po.count_distribution_window(1, 1e6, 1000)
    assert lo > 0 and pmf.size < 10**6
    idx = np.linspace(0, pmf.size - 1, 41).astype(int)[5:-5]
    ref = np.array([mp_poisson_pmf(int(lo + i), c) for i in idx])
    # measured: absolute <= 1e-17, relative <= 2e-11 (scipy.stats.poisson is off by 3e-6 here)
    np.testing.assert_allclose(pmf[idx], ref, rtol=1e-10, atol=1e-16)
    lo10, p10 = po.count_distribution_window(10, 1e6, 1000)
    k = lo10 + np.arange(p10.size, dtype=float)
    assert abs(p10.sum() - 1) < 1e-11
    assert p10 @ k / c == pytest.approx(1.0, rel=1e-13)
    assert p10 @ (k - c) ** 2 == pytest.approx(10 * c, rel=1e-9)


def test_founders_are_additive():
    """S_n(c1 + c2) = S_n(c1) + S_n(c2) independent: the pmf is a convolution."""
    n = 40
    p1 = po.count_distribution(n, 0.7, 1)
    p2 = po.count_distribution(n, 1.8, 1)
    p12 = po.count_distribution(n, 2.5, 1)
    conv = np.convolve(p1, p2)[: p12.size]
    m = min(conv.size, p12.size)
    assert np.max(np.abs(conv[:m] - p12[:m])) < 1e-15


def test_refusals_and_limits():
    with pytest.raises(ValueError, match="MAX_FFT_WORK"):
        po.count_distribution(10**4, 1.0, 1)
    with pytest.raises(ValueError, match="MAX_FFT_SIZE"):
        po.count_distribution(1, 1e6, 1000)  # from 0: 1e9 counts
    with pytest.raises(ValueError, match="not available"):
        po.count_distribution_window(10**6, 1.0, 1)
    with pytest.raises(ValueError, match="not available"):
        po.rate_cdf(10**6, 1.0, 1, 1.0)
    with pytest.raises(ValueError, match="MAX_SCHEDULE_LENGTH"):
        po.extinction_probability_schedule(1.0, np.ones(po.MAX_SCHEDULE_LENGTH + 1, int))
    # tail smaller -> support at least as long, same values
    a = po.count_distribution(20, 1.0, 1, tail=1e-3)
    b = po.count_distribution(20, 1.0, 1)
    assert a.size <= b.size and np.max(np.abs(a - b[: a.size])) < 1e-3
    assert 1 - a.sum() <= 1e-3


# --------------------------------------------------------------------------------------------
# stability at extreme n, M, lam0
# --------------------------------------------------------------------------------------------


def test_extremes_finite_and_monotone():
    n = np.unique(np.round(np.logspace(0, 6, 61))).astype(float)
    for lam0, M in [(1e-12, 1), (1e-3, 10**9), (1.0, 1), (1e6, 10**9), (1e290, 10**9)]:
        surv = po.survival_probability(n, lam0, M)
        ext = po.extinction_probability(n, lam0, M)
        assert np.all(np.isfinite(surv)) and np.all((surv >= 0) & (surv <= 1))
        assert np.all(np.diff(surv) <= 0) and np.all(np.diff(ext) >= 0)
        assert np.all(np.isfinite(po.log_extinction_probability(n, lam0, M)))
        cm = po.conditional_expected_rate(n, lam0, M)
        cv = po.conditional_rate_variance(n, lam0, M)
        assert np.all(np.isfinite(cm)) and np.all(np.diff(cm) >= -1e-12 * cm[1:])
        assert np.all(cm >= lam0 * (1 - 1e-15))
        assert np.all(np.isfinite(cv)) and np.all(cv >= 0)
        assert np.all(np.isfinite(po.rate_variance(n, lam0, M)))
    # tiny survival keeps relative accuracy (no 1 - exp cancellation)
    s = po.survival_probability(10**6, 1e-12, 1)
    assert s == pytest.approx(1e-12 * poisson_refit_g(10**6), rel=1e-12)
    assert po.conditional_expected_rate(10**6, 1e-300, 1) == pytest.approx(
        1.0 / poisson_refit_g(10**6), rel=1e-12)
    # beyond the exact table of g (n > 1e6) and up to 2^53
    far = po.survival_probability([10**7, 10**12, 2**53], 1.0, 1)
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) < 0)
    # monotone in lam0 and in M
    lam = np.logspace(-12, 12, 49)
    assert np.all(np.diff(po.survival_probability(1000, lam, 7)) >= 0)
    assert np.all(np.diff(po.survival_probability(1000, 1e-3, np.arange(1, 10**4, 97))) >= 0)
    med = po.median_extinction_time(np.logspace(-3, 6, 40), 10)
    assert np.all(np.diff(med) >= 0)


def test_survival_asymptotic_is_kolmogorov():
    for c in (0.1, 1.0, 10.0):
        n = np.array([10**3, 10**4, 10**5, 10**6]) * max(c, 1.0)
        ratio = po.survival_asymptotic(n, c, 1) / po.survival_probability(n, c, 1)
        assert np.all(np.diff(np.abs(ratio - 1)) < 0)
        assert abs(ratio[-1] - 1) < 2e-5 * max(c, 1.0)
    # the values quoted in the docstring
    assert po.survival_asymptotic(1000, 1.0, 1) / po.survival_probability(1000, 1.0, 1) == (
        pytest.approx(1.0041, abs=1e-4))
    assert po.survival_asymptotic(100, 100.0, 1) / po.survival_probability(100, 100.0, 1) == (
        pytest.approx(2.33, abs=1e-2))


def test_conditional_variance_small_rate_against_mpmath():
    """n = 1: Var[X | X > 0] for X ~ Poisson(c), c -> 0 (the cancellation-prone case)."""
    for c in (1e-12, 1e-6, 1e-2, 1.0, 50.0):
        with mp.workdps(60):
            cc = mp.mpf(c)
            s = -mp.expm1(-cc)
            ref = (cc + cc**2) / s - (cc / s) ** 2
        assert po.conditional_rate_variance(1, c, 1) == pytest.approx(float(ref), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Monte Carlo (numpy rng.poisson), with perturbed formulas that must be rejected
# --------------------------------------------------------------------------------------------

MC_R = 400_000
MC_GENS = 12


@pytest.fixture(scope="module")
def mc_chains():
    """S_t for t = 1..MC_GENS for M = 20, lam0 = 0.25 (c = 5), MC_R independent chains."""
    rng = np.random.default_rng(20250101)
    M, lam0 = 20, 0.25
    S = np.empty((MC_GENS + 1, MC_R), dtype=np.int64)
    S[0] = 0  # unused (generation 0 is the constant rate lam0)
    S[1] = rng.poisson(M * lam0, MC_R)
    for t in range(1, MC_GENS):
        S[t + 1] = rng.poisson(S[t])
    return M, lam0, S


def _z_checks(S, M, lam0, var_fn, ext_fn) -> list[float]:
    """|z| of every comparison (mean, variance, P(Lam = 0), cdf, conditional mean)."""
    zs = []
    for t in (1, 3, 6, 12):
        lam = S[t] / M
        R = lam.size
        m, v = lam.mean(), lam.var()
        zs.append((m - po.expected_rate(t, lam0, M)) / math.sqrt(v / R))
        m4 = np.mean((lam - m) ** 4)
        zs.append((v - var_fn(t)) / math.sqrt((m4 - v**2) / R))
        p0 = np.mean(lam == 0)
        pe = ext_fn(t)
        zs.append((p0 - pe) / math.sqrt(pe * (1 - pe) / R))
        x = 0.3
        pc = float(po.rate_cdf(t, lam0, M, x))
        zs.append((np.mean(lam <= x) - pc) / math.sqrt(pc * (1 - pc) / R))
        alive = lam[lam > 0]
        zs.append((alive.mean() - po.conditional_expected_rate(t, lam0, M))
                  / math.sqrt(alive.var() / alive.size))
    return [abs(z) for z in zs]


def test_monte_carlo_matches(mc_chains):
    M, lam0, S = mc_chains
    zs = _z_checks(S, M, lam0, lambda t: po.rate_variance(t, lam0, M),
                   lambda t: po.extinction_probability(t, lam0, M))
    assert max(zs) < Z, zs


@pytest.mark.parametrize("perturbation", ["variance x1.05", "g shifted by one generation"])
def test_monte_carlo_rejects_perturbed_formula(mc_chains, perturbation):
    M, lam0, S = mc_chains
    if perturbation == "variance x1.05":
        var_fn = lambda t: 1.05 * po.rate_variance(t, lam0, M)  # noqa: E731
        ext_fn = lambda t: po.extinction_probability(t, lam0, M)  # noqa: E731
    else:
        var_fn = lambda t: po.rate_variance(t, lam0, M)  # noqa: E731
        ext_fn = lambda t: po.extinction_probability(t + 1, lam0, M)  # noqa: E731
    assert max(_z_checks(S, M, lam0, var_fn, ext_fn)) > Z


def _mc_extinction_times(S):
    dead = S[1:] == 0
    T = np.where(dead.any(axis=0), dead.argmax(axis=0) + 1, np.inf)
    return T


def _time_z(T, lam0, M, quantile_fn, capped_fn) -> list[float]:
    R = T.size
    zs = []
    for q in (0.1, 0.4):  # quantiles 2 and 11 <= MC_GENS (P(T <= 12) = 0.47 here)
        tq = quantile_fn(q)
        for tt in (tq, tq - 1):  # the cdf of T at the quantile and one generation before
            pe = float(po.extinction_probability(tt, lam0, M))
            zs.append((np.mean(T <= tt) - pe) / math.sqrt(pe * (1 - pe) / R) if 0 < pe < 1
                      else 0.0)
            zs.append(0.0 if (pe >= q) == (tt == tq) else np.inf)  # quantile's defining property
    capped = np.minimum(T, MC_GENS)
    zs.append((capped.mean() - capped_fn(MC_GENS)) / math.sqrt(capped.var() / R))
    return [abs(z) for z in zs]


def test_monte_carlo_extinction_time(mc_chains):
    M, lam0, S = mc_chains
    T = _mc_extinction_times(S)
    zs = _time_z(T, lam0, M, lambda q: po.extinction_time_quantile(lam0, M, q),
                 lambda n: po.expected_capped_extinction_time(n, lam0, M))
    assert max(zs) < Z, zs
    bad = _time_z(T, lam0, M, lambda q: po.extinction_time_quantile(lam0, M, q) + 1,
                  lambda n: po.expected_capped_extinction_time(n, lam0, M))
    assert max(bad) > Z
    bad = _time_z(T, lam0, M, lambda q: po.extinction_time_quantile(lam0, M, q),
                  lambda n: po.expected_capped_extinction_time(n + 1, lam0, M))
    assert max(bad) > Z


def _schedule_z(Ms, lam0, S_rates, var, ext) -> list[float]:
    zs = []
    for i in range(1, len(Ms) + 1):
        lam = S_rates[i]
        R = lam.size
        v = lam.var()
        m4 = np.mean((lam - lam.mean()) ** 4)
        zs.append((v - var[i]) / math.sqrt((m4 - v**2) / R))
        p0 = np.mean(lam == 0)
        zs.append((p0 - ext[i]) / math.sqrt(ext[i] * (1 - ext[i]) / R))
    return [abs(z) for z in zs]


def test_monte_carlo_schedule():
    rng = np.random.default_rng(7)
    Ms = [3, 6, 12, 24, 2, 1]
    lam0, R = 0.6, 300_000
    rates = [np.full(R, lam0)]
    for m in Ms:  # S_i ~ Poisson(M_i Lam_{i-1}), Lam_i = S_i / M_i
        rates.append(rng.poisson(m * rates[-1]) / m)
    var = po.rate_variance_schedule(lam0, Ms)
    ext = po.extinction_probability_schedule(lam0, Ms)
    np.testing.assert_allclose(po.survival_probability_schedule(lam0, Ms), 1 - ext, rtol=1e-14)
    assert max(_schedule_z(Ms, lam0, rates, var, ext)) < Z
    # the constant-M formulas with M = M_1 ignore the schedule: rejected
    n = np.arange(len(Ms) + 1)
    wrong = _schedule_z(Ms, lam0, rates, po.rate_variance(n, lam0, Ms[0]),
                        po.extinction_probability(n, lam0, Ms[0]))
    assert max(wrong) > Z


def test_schedule_constant_reduces_to_closed_forms():
    Ms = [37] * 200
    n = np.arange(201)
    np.testing.assert_allclose(po.rate_variance_schedule(0.3, Ms), po.rate_variance(n, 0.3, 37),
                               rtol=1e-13)
    np.testing.assert_allclose(po.extinction_probability_schedule(0.3, Ms),
                               po.extinction_probability(n, 0.3, 37), rtol=1e-12)


@given(lam0=st.floats(1e-3, 20.0), M=st.integers(1, 10**6), n=st.integers(0, 5000))
def test_identities(lam0, M, n):
    s = po.survival_probability(n, lam0, M)
    e = po.extinction_probability(n, lam0, M)
    assert s + e == pytest.approx(1.0, abs=1e-15)
    if n >= 1:
        assert po.conditional_expected_rate(n, lam0, M) * s == pytest.approx(lam0, rel=1e-12)
        # E Lam^2 = E[Lam^2 | > 0] P(> 0)
        cv, cm = po.conditional_rate_variance(n, lam0, M), po.conditional_expected_rate(n, lam0, M)
        second = po.rate_variance(n, lam0, M) + lam0**2
        assert (cv + cm**2) * s == pytest.approx(second, rel=1e-9)
