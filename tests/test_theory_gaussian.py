"""Tests of modelcollapse.theory.gaussian (closed forms of the 1-D Gaussian replace recursion).

No statistical tolerances here: every reference is an independent exact computation done by the
test itself (mpmath at 40-50 digits, scipy.stats chi-square, a Bessel-function closed form, a plain
scipy.integrate.quad Gil-Pelaez integral, or a direct recursion in Python fractions/mpmath).
Tolerances are absolute 1e-10 for probabilities (the module targets <= 1e-8 and achieves ~1e-12)
and relative 1e-12 for moments unless stated.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from modelcollapse.theory import gaussian as g

# --------------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------------


def mp_log_moment(n, M, k, ddof, dps=50):
    """n log E[(C/(M-ddof))^k] with C ~ chi2_{M-1}, at ``dps`` digits."""
    with mp.workdps(dps):
        a = (mp.mpf(M) - 1) / 2
        return n * (k * mp.log(2 / (mp.mpf(M) - mp.mpf(ddof))) + mp.loggamma(a + k)
                    - mp.loggamma(a))


def mp_log_cdf(n, M, x, ddof, dps=40):
    """P(log(sigma_n^2/sigma_0^2) <= x) by Gil-Pelaez in mpmath (standardised frequency)."""
    with mp.workdps(dps):
        a = (mp.mpf(M) - 1) / 2
        lth = mp.log(2 / (mp.mpf(M) - mp.mpf(ddof)))
        x = mp.mpf(x)
        lg = mp.loggamma(a)
        sd = mp.sqrt(n * mp.psi(1, a))

        def integrand(s):
            t = s / sd
            return mp.im(mp.exp(n * (1j * t * lth + mp.loggamma(a + 1j * t) - lg) - 1j * t * x)) / s

        return float(mp.mpf(0.5) - mp.quad(integrand, mp.linspace(0, 40, 41)) / mp.pi)


def quad_log_cdf(n, M, x, ddof):
    """The same Gil-Pelaez integral with scipy.integrate.quad and scipy.special.loggamma."""
    a = 0.5 * (M - 1)
    lth = math.log(2.0 / (M - ddof))
    lg = special.loggamma(a)
    sd = math.sqrt(n * special.polygamma(1, a))

    def f(s):
        t = s / sd
        return np.exp(n * (1j * t * lth + special.loggamma(a + 1j * t) - lg) - 1j * t * x).imag / s

    val, _ = integrate.quad(f, 0.0, 60.0, limit=4000, epsabs=1e-14, epsrel=1e-13)
    return 0.5 - val / math.pi


def standard_point(n, M, ddof, z):
    """x = E S_n + z sd(S_n), S_n = log(sigma_n^2/sigma_0^2)."""
    m = float(g.expected_log_variance(n, M, ddof=ddof))
    return m + z * math.sqrt(float(g.log_variance_variance(n, M, ddof=ddof)))


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

NM_FUNCS = [
    g.expected_variance,
    g.expected_std,
    g.expected_log_variance,
    g.log_variance_variance,
    g.mean_drift_mse,
    g.expected_w2_squared,
    g.marginal_variance,
    g.expected_std_approx,
]
EPS_FUNCS = [
    g.collapse_probability,
    g.survival_probability,
    g.markov_survival_bound,
    g.chernoff_survival_bound,
]


@pytest.mark.parametrize("f", NM_FUNCS + EPS_FUNCS)
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"M": 1}, "M"),
        ({"M": 2.5}, "M"),
        ({"M": np.nan}, "M"),
        ({"M": 3, "ddof": 3}, "M"),
        ({"n": -1}, "n"),
        ({"n": 1.5}, "n"),
        ({"n": np.nan}, "n"),
        ({"ddof": -1}, "ddof"),
        ({"ddof": np.nan}, "ddof"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(f, kwargs, name):
    args = {"n": 3, "M": 10, "ddof": 1}
    args.update(kwargs)
    n, M = args.pop("n"), args.pop("M")
    pos = (n, M, 0.5) if f in EPS_FUNCS else (n, M)
    with pytest.raises(ValueError, match=name):
        f(*pos, **args)


@pytest.mark.parametrize("f", EPS_FUNCS + [g.suresh_survival_bound])
@pytest.mark.parametrize("eps", [0.0, -1.0, np.nan, np.inf])
def test_bad_eps(f, eps):
    with pytest.raises(ValueError, match="eps"):
        f(3, 10, eps)


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, np.nan])
def test_bad_quantile_level(q):
    with pytest.raises(ValueError, match="q"):
        g.variance_quantile(3, 10, q)


def test_bad_moment_order_and_sigma2():
    with pytest.raises(ValueError, match="k"):
        g.variance_moment(2, 5, -2.0)  # a = 2: k must be > -2
    with pytest.raises(ValueError, match="k"):
        g.log_variance_moment(2, 5, np.nan)
    assert np.isfinite(g.variance_moment(2, 5, -1.999))
    assert g.variance_moment(0, 5, -7.0, sigma2=2.0) == pytest.approx(2.0**-7)
    for f in NM_FUNCS:
        with pytest.raises(ValueError, match="sigma2"):
            f(2, 5, sigma2=0.0)
    with pytest.raises(ValueError, match="sigma2"):
        g.variance_quantile(2, 5, 0.5, sigma2=-1.0)


def test_bad_schedules():
    with pytest.raises(ValueError, match="^M must"):
        g.expected_variance_schedule([[3, 4]])
    with pytest.raises(ValueError, match="^M must"):
        g.expected_variance_schedule([3, 1])
    with pytest.raises(ValueError, match="^M must"):
        g.expected_w2_squared_schedule([3, 4.5])
    with pytest.raises(ValueError, match="^M must be > ddof"):
        g.mean_drift_mse_schedule([3, 2], ddof=2)
    with pytest.raises(ValueError, match="power"):
        g.polynomial_schedule(10, 5, -1.0)
    with pytest.raises(ValueError, match="M1"):
        g.polynomial_schedule(1, 5, 1.0)
    with pytest.raises(ValueError, match="power"):
        g.w2_bounded(np.nan)


# --------------------------------------------------------------------------------------------
# Broadcasting and special cases
# --------------------------------------------------------------------------------------------


def test_broadcasting_shapes():
    n = np.array([0, 1, 5])[:, None]
    M = np.array([2, 3, 10, 1000])[None, :]
    ddof = np.array([0.0, 1.0])[:, None, None]
    shape = (2, 3, 4)
    for f in NM_FUNCS:
        assert np.shape(f(n, M, ddof=ddof)) == shape, f.__name__
        assert np.shape(f(n, M, ddof=ddof, sigma2=np.ones((2, 1, 1)))) == shape, f.__name__
    for f in EPS_FUNCS:
        assert np.shape(f(n, M, 0.3, ddof=ddof)) == shape, f.__name__
    assert np.shape(g.suresh_survival_bound(n, M, np.ones((2, 1, 1)))) == shape
    assert np.shape(g.variance_quantile(n, M, 0.5, ddof=ddof)) == shape
    assert np.shape(g.variance_moment(n, M, np.array([0.5, 1.0])[:, None, None])) == shape
    assert np.shape(g.std_factor(M, ddof=ddof)) == (2, 1, 4)
    assert isinstance(g.expected_variance(3, 10), np.float64)
    assert isinstance(g.collapse_probability(3, 10, 0.5), np.float64)


def test_generation_zero():
    M = np.array([2, 7, 10**9])
    for d in (0, 1, 1.5):
        assert np.all(g.expected_variance(0, M, ddof=d, sigma2=3.0) == 3.0)
        assert np.allclose(g.expected_std(0, M, ddof=d, sigma2=4.0), 2.0)
        assert np.allclose(g.expected_log_variance(0, M, ddof=d, sigma2=3.0), np.log(3.0))
        assert np.all(g.log_variance_variance(0, M, ddof=d) == 0.0)
        assert np.all(g.mean_drift_mse(0, M, ddof=d) == 0.0)
        assert np.all(g.expected_w2_squared(0, M, ddof=d) == 0.0)
        assert np.all(g.marginal_variance(0, M, ddof=d, sigma2=3.0) == 3.0)
        assert np.all(g.collapse_probability(0, M, [[0.5], [1.0], [2.0]], ddof=d)
                      == np.array([[0.0], [1.0], [1.0]]))
        assert np.all(g.survival_probability(0, M, [[0.5], [1.0]], ddof=d) == [[1.0], [0.0]])
        assert np.allclose(g.variance_quantile(0, M, 0.3, ddof=d, sigma2=3.0), 3.0)


# --------------------------------------------------------------------------------------------
# Moments: identities and accuracy at extreme (n, M)
# --------------------------------------------------------------------------------------------


def test_exact_identities():
    n = np.array([0, 1, 2, 10, 1000, 10**6])[:, None]
    M = np.array([2, 3, 17, 1000, 10**9])[None, :]
    # ddof=1: E sigma_n^2 constant, drift n/M, marginal variance 1 + n/M
    assert np.all(g.expected_variance(n, M, ddof=1, sigma2=2.0) == 2.0)
    assert np.allclose(g.mean_drift_mse(n, M, ddof=1), n / M, rtol=1e-15, atol=0)
    assert np.allclose(g.marginal_variance(n, M, ddof=1), 1 + n / M, rtol=1e-15, atol=0)
    # ddof=0: Var X^n = sigma_0^2 exactly (conservation E sigma_n^2 + E(mu_n-mu_0)^2 = sigma_0^2)
    assert np.allclose(g.marginal_variance(n, M, ddof=0, sigma2=2.0), 2.0, rtol=1e-14, atol=0)
    drift0 = g.mean_drift_mse(n, M, ddof=0)
    assert np.allclose(drift0, -np.expm1(n * np.log1p(-1.0 / M)), rtol=1e-13, atol=0)
    # ddof=0: E W2^2 = 2 sigma_0 (sigma_0 - E sigma_n)
    w2 = g.expected_w2_squared(n, M, ddof=0)
    assert np.allclose(w2, -2.0 * np.expm1(n * g.log_std_factor(M, ddof=0)), rtol=1e-12, atol=0)
    # moments of order 1 and 1/2 agree with the named functions
    for d in (0, 1, 0.5):
        assert np.allclose(g.variance_moment(n, M, 1.0, ddof=d), g.expected_variance(n, M, ddof=d),
                           rtol=1e-13)
        assert np.allclose(g.variance_moment(n, M, 0.5, ddof=d, sigma2=4.0),
                           g.expected_std(n, M, ddof=d, sigma2=4.0), rtol=1e-13)
        assert np.allclose(g.std_factor(M, ddof=d), g.expected_std(1, M, ddof=d), rtol=1e-15)


@pytest.mark.parametrize(
    "n, M, ddof",
    [(10**6, 10**9, 1), (10**6, 10**9, 0), (1, 10**9, 1), (10**6, 2, 1), (10**6, 3, 0),
     (7, 5, 1), (3, 10**9, 0), (100, 10**6, 2), (10**6, 10**9, 1.7), (1, 2, 0)],
)
def test_moments_against_mpmath_50_digits(n, M, ddof):
    with mp.workdps(50):
        a = (mp.mpf(M) - 1) / 2
        Md = mp.mpf(M) - mp.mpf(ddof)
        r = (mp.mpf(M) - 1) / Md
        c = mp.sqrt(2 / Md) * mp.exp(mp.loggamma(mp.mpf(M) / 2) - mp.loggamma(a))
        drift = mp.mpf(n) / M if r == 1 else (r**n - 1) / (r - 1) / M
        refs = {
            "ev": r**n,
            "es": c**n,
            "elog": n * (mp.psi(0, a) + mp.log(2 / Md)),
            "vlog": n * mp.psi(1, a),
            "drift": drift,
            "w2": drift + r**n - 2 * c**n + 1,
            "mv": r**n + drift,
            "c": c,
        }
    got = {
        "ev": g.expected_variance(n, M, ddof=ddof),
        "es": g.expected_std(n, M, ddof=ddof),
        "elog": g.expected_log_variance(n, M, ddof=ddof),
        "vlog": g.log_variance_variance(n, M, ddof=ddof),
        "drift": g.mean_drift_mse(n, M, ddof=ddof),
        "w2": g.expected_w2_squared(n, M, ddof=ddof),
        "mv": g.marginal_variance(n, M, ddof=ddof),
        "c": g.std_factor(M, ddof=ddof),
    }
    for key, ref in refs.items():
        assert np.isfinite(got[key]), key
        assert float(got[key]) == pytest.approx(float(ref), rel=1e-12, abs=0), key
    for k in (-0.4, 0.5, 1.0, 2.5, 30.0):
        ref = mp_log_moment(n, M, k, ddof)
        got_k = float(g.log_variance_moment(n, M, k, ddof=ddof))
        # the log-moment is n times a one-step value: absolute error ~ n * 1e-15 (1 + |k|)
        assert got_k == pytest.approx(float(ref), rel=1e-12, abs=1e-15 * n * (1 + abs(k))), k


def test_log_moment_finite_where_moment_overflows():
    lm = g.log_variance_moment(10**6, 3, 5.0)
    assert np.isfinite(lm) and lm > 1000
    assert g.variance_moment(10**6, 3, 5.0) == np.inf
    assert float(lm) == pytest.approx(float(mp_log_moment(10**6, 3, 5.0, 1)), rel=1e-13)


def test_expected_std_approx_is_leading_order():
    M = np.array([10, 100, 10**4, 10**7])[:, None]
    n = np.array([1, 10, 1000])[None, :]
    for d in (0, 1):
        err = np.abs(np.log(g.expected_std_approx(n, M, ddof=d) / g.expected_std(n, M, ddof=d)))
        assert np.all(err <= n / M**2), d  # log c - (2 ddof - 3)/(4M) = O(1/M^2)
        assert np.allclose(g.log_std_factor_approx(M, ddof=d), (2 * d - 3) / (4.0 * M))


# --------------------------------------------------------------------------------------------
# Collapse probability: references
# --------------------------------------------------------------------------------------------


def test_n1_is_chi_square():
    M = np.array([2, 3, 5, 30, 1000, 10**5])[:, None]
    eps = np.array([1e-4, 0.1, 0.5, 1.0, 2.0, 5.0])[None, :]
    for d in (0, 1, 1.5):
        ref = stats.chi2.cdf(eps * (M - d), M - 1)
        assert np.allclose(g.collapse_probability(1, M, eps, ddof=d), ref, rtol=1e-13, atol=1e-15)
        sf = stats.chi2.sf(eps * (M - d), M - 1)
        assert np.allclose(g.survival_probability(1, M, eps, ddof=d), sf, rtol=1e-12, atol=0)


def test_n1_huge_m_against_mpmath():
    # scipy's gammainc (hence chi2.cdf) is off by ~2e-7 in the tails at M = 1e9; the module uses
    # the Fourier inversion there. Reference: mpmath Gil-Pelaez at 40 digits.
    M = 10**9
    x = standard_point(1, M, 1, -5.0)
    ref = mp_log_cdf(1, M, x, 1, dps=40)
    assert float(g.log_variance_cdf(1, M, x)) == pytest.approx(ref, abs=1e-12)
    lq = g.log_variance_quantile(1, M, ref)
    assert float(g.log_variance_cdf(1, M, lq)) == pytest.approx(ref, abs=1e-12)


def test_n2_m3_bessel_closed_form():
    # M=3, ddof=1: sigma_2^2/sigma_0^2 = G1 G2 with G ~ Exp(1);
    # P(G1 G2 <= x) = 1 - 2 sqrt(x) K1(2 sqrt(x)) (K1: modified Bessel function)
    x = np.geomspace(1e-6, 30.0, 60)
    ref = 1.0 - 2.0 * np.sqrt(x) * special.k1(2.0 * np.sqrt(x))
    got = g.collapse_probability(2, 3, x, ddof=1)
    assert np.max(np.abs(got - ref)) < 1e-12
    # the tolerance has teeth: the next sample size is rejected
    assert np.max(np.abs(g.collapse_probability(2, 4, x, ddof=1) - ref)) > 1e-3


@pytest.mark.parametrize(
    "n, M, ddof, z",
    [(2, 2, 1, -3.0), (2, 2, 0, 2.0), (3, 7, 0, 0.5), (3, 2, 1, -8.0), (10**6, 2, 1, -2.0),
     (10**6, 10**9, 1, 1.0), (10**5, 10**4, 0, -4.0)],
)
def test_against_mpmath_gil_pelaez(n, M, ddof, z):
    x = standard_point(n, M, ddof, z)
    ref = mp_log_cdf(n, M, x, ddof, dps=40 if M > 100 else 20)
    assert float(g.log_variance_cdf(n, M, x, ddof=ddof)) == pytest.approx(ref, abs=1e-10)


@settings(max_examples=25)
@given(
    n=st.integers(2, 200),
    M=st.integers(2, 1000),
    ddof=st.sampled_from([0.0, 0.5, 1.0]),
    z=st.floats(-7.0, 5.0),
)
def test_against_scipy_quad_gil_pelaez(n, M, ddof, z):
    x = standard_point(n, M, ddof, z)
    ref = quad_log_cdf(n, M, x, ddof)
    got = float(g.collapse_probability(n, M, math.exp(x), ddof=ddof))
    assert got == pytest.approx(ref, abs=1e-10)
    sf = float(g.survival_probability(n, M, math.exp(x), ddof=ddof))
    assert got + sf == pytest.approx(1.0, abs=1e-14)


def test_grid_consistency_and_monotonicity():
    M = np.array([2, 3, 4, 10, 50, 1000, 10**6, 10**9])[:, None, None]
    n = np.array([2, 3, 10, 100, 10**4, 10**6])[None, :, None]
    z = np.linspace(-9.0, 7.0, 81)[None, None, :]
    x = g.expected_log_variance(n, M) + z * np.sqrt(g.log_variance_variance(n, M))
    P = g.log_variance_cdf(n, M, x)
    assert np.all(np.isfinite(P)) and np.all((P >= 0) & (P <= 1))
    assert np.all(np.diff(P, axis=-1) >= -1e-12)  # non-decreasing in eps
    assert np.all(P[..., 0] < 1e-5) and np.all(P[..., -1] > 1 - 1e-6)  # left tail is heavier
    # one vectorised call over the grid equals element-wise calls
    for i, j, k in [(0, 0, 40), (7, 5, 10), (3, 2, 70)]:
        single = g.log_variance_cdf(int(n[0, j, 0]), int(M[i, 0, 0]), x[i, j, k])
        assert single == P[i, j, k]
    # collapse is eventually certain: P(sigma_n^2 <= 0.01 sigma_0^2) -> 1 as n grows
    assert g.collapse_probability(10**5, 100, 0.01) > 1 - 1e-10


def test_quantile_inverts_cdf():
    n = np.array([1, 2, 5, 300, 10**6])[:, None, None]
    M = np.array([2, 3, 40, 10**9])[None, :, None]
    q = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 1 - 1e-6])[None, None, :]
    for d in (0, 1):
        lq = g.log_variance_quantile(n, M, q, ddof=d)
        back = g.log_variance_cdf(n, M, lq, ddof=d)
        assert np.max(np.abs(back - q)) < 1e-10, d
        assert np.all(np.diff(lq, axis=-1) > 0)
    xq = g.variance_quantile(n[:3], M, q, ddof=1, sigma2=2.0)
    assert np.allclose(xq, 2.0 * np.exp(g.log_variance_quantile(n[:3], M, q)), rtol=1e-15)
    ref = stats.chi2.ppf(0.3, 9) / 9  # n = 1, M = 10, ddof = 1
    assert float(g.variance_quantile(1, 10, 0.3)) == pytest.approx(ref, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Bounds on the survival probability
# --------------------------------------------------------------------------------------------


def test_bounds_dominate_exact_survival():
    M = np.array([2, 3, 5, 10, 100, 10**4, 10**9])[:, None, None]
    n = np.array([1, 2, 5, 20, 100, 1000, 10**5])[None, :, None]
    eps = np.geomspace(1e-6, 10.0, 31)[None, None, :]
    for d in (0, 1):
        exact = g.survival_probability(n, M, eps, ddof=d)
        markov = g.markov_survival_bound(n, M, eps, ddof=d)
        chern = g.chernoff_survival_bound(n, M, eps, ddof=d)
        suresh = g.suresh_survival_bound(n, M, eps)
        tol = 1e-11  # absolute accuracy of the exact survival probability
        assert np.all(markov >= exact - tol), d
        assert np.all(chern >= exact - tol), d
        assert np.all(suresh >= exact - tol), d
        assert np.all(chern <= markov * (1 + 1e-12)), d
        assert np.all(chern <= 1.0)
        assert np.all(suresh >= markov * (1 - 1e-12)), d  # c <= exp(-1/(4M-1)) for ddof <= 1


def test_suresh_constant_4m_minus_1():
    M = np.unique(np.round(np.geomspace(2, 1e9, 3000)))
    for d in (0, 1):
        assert np.all(g.log_std_factor(M, ddof=d) <= -1.0 / (4.0 * M - 1.0))
    # the sharper-looking constant 4(M-1) is NOT an upper bound on log c at small M (ddof=1) ...
    lc = g.log_std_factor(M, ddof=1)
    assert lc[0] > -1.0 / (4.0 * (M[0] - 1.0))
    # ... although it is the large-M asymptote: log c = -1/(4(M-1)) + O(M^-3)
    big = M > 1e3
    assert np.allclose(lc[big], -1.0 / (4.0 * (M[big] - 1.0)), rtol=1e-6, atol=0)


def test_chernoff_optimiser_against_dense_search():
    n, M, eps = 50, 10, np.array([1e-3, 0.05, 0.3, 0.9, 3.0])
    s = np.geomspace(1e-6, 50.0, 20001)[:, None]
    dense = np.exp(np.min(g.log_variance_moment(n, M, s) - s * np.log(eps), axis=0))
    dense = np.minimum(dense, 1.0)
    got = g.chernoff_survival_bound(n, M, eps)
    assert np.allclose(got, dense, rtol=1e-6)
    assert np.all(got <= dense * (1 + 1e-12))


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------

SCHEDULE_PAIRS = [
    (g.expected_variance_schedule, g.expected_variance),
    (g.expected_std_schedule, g.expected_std),
    (g.mean_drift_mse_schedule, g.mean_drift_mse),
    (g.expected_w2_squared_schedule, g.expected_w2_squared),
    (g.marginal_variance_schedule, g.marginal_variance),
]


@pytest.mark.parametrize("sched, const", SCHEDULE_PAIRS)
@pytest.mark.parametrize("M, ddof", [(2, 0), (7, 1), (1000, 0.5), (10**9, 1)])
def test_constant_schedule_matches_constant_m(sched, const, M, ddof):
    n = 40
    got = sched([M] * n, ddof=ddof, sigma2=3.0)
    ref = const(np.arange(n + 1), M, ddof=ddof, sigma2=3.0)
    assert got.shape == (n + 1,)
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-300)


def test_varying_schedule_against_direct_recursion():
    Ms = [3, 5, 2, 40, 11, 1000]
    for d in (0, 1):
        with mp.workdps(40):
            ev, es, drift = [mp.mpf(1)], [mp.mpf(1)], [mp.mpf(0)]
            for Mi in Ms:
                a = mp.mpf(Mi - 1) / 2
                r = mp.mpf(Mi - 1) / (Mi - d)
                c = mp.sqrt(mp.mpf(2) / (Mi - d)) * mp.exp(mp.loggamma(a + 0.5) - mp.loggamma(a))
                drift.append(drift[-1] + ev[-1] / Mi)
                ev.append(ev[-1] * r)
                es.append(es[-1] * c)
            w2 = [dr + v - 2 * s + 1 for dr, v, s in zip(drift, ev, es, strict=True)]
        tofl = lambda xs: np.array([float(x) for x in xs])  # noqa: E731
        assert np.allclose(g.expected_variance_schedule(Ms, ddof=d), tofl(ev), rtol=1e-13)
        assert np.allclose(g.expected_std_schedule(Ms, ddof=d), tofl(es), rtol=1e-13)
        assert np.allclose(g.mean_drift_mse_schedule(Ms, ddof=d), tofl(drift), rtol=1e-13)
        assert np.allclose(g.expected_w2_squared_schedule(Ms, ddof=d), tofl(w2), rtol=1e-12)
        mv = g.marginal_variance_schedule(Ms, ddof=d)
        if d == 0:
            assert np.allclose(mv, 1.0, rtol=1e-14)


def test_schedule_broadcasting():
    out = g.expected_w2_squared_schedule([5, 6, 7], ddof=np.array([0.0, 1.0]),
                                         sigma2=[[1.0], [2.0]])
    assert out.shape == (2, 2, 4)
    assert np.allclose(out[1, 0], 2.0 * out[0, 0])


def test_polynomial_schedules_and_boundedness():
    assert np.array_equal(g.polynomial_schedule(10, 4, 0), [10, 10, 10, 10])
    assert np.array_equal(g.polynomial_schedule(10, 4, 1), [10, 20, 30, 40])
    assert np.array_equal(g.polynomial_schedule(10, 4, 2), [10, 40, 90, 160])
    assert g.polynomial_schedule(10, 4, 2).dtype == np.int64
    assert not g.w2_bounded(0) and not g.w2_bounded(1) and g.w2_bounded(2)
    M1 = 100
    quad = g.expected_w2_squared_schedule(g.polynomial_schedule(M1, 4000, 2))
    # converges: tail increments vanish and the limit is near (3/2)(pi^2/6)/M1 (leading order)
    assert quad[-1] - quad[2000] < 2.0 * 1.5 / M1 * (1 / 2000 - 1 / 4000)  # ~ the sum's tail
    assert quad[-1] == pytest.approx(1.5 * math.pi**2 / 6 / M1, rel=0.02)
    lin = g.expected_w2_squared_schedule(g.polynomial_schedule(M1, 4000, 1))
    assert lin[-1] - lin[2000] == pytest.approx(1.5 * math.log(2.0) / M1, rel=0.02)  # ~ log n
    lead = g.w2_leading_order_schedule(g.polynomial_schedule(M1, 4000, 1))
    assert lead.shape == (4000,)  # generations 1..n
    assert np.allclose(lead[:50], lin[1:51], rtol=0.05)
    assert np.allclose(g.w2_leading_order_schedule([4, 5], sigma2=2.0), [0.75, 0.75 + 0.6])


def test_ddof0_w2_tends_to_twice_the_variance():
    # MLE refit, constant M: the variance collapses, the mean drift stops at sigma_0^2, so
    # E W2^2 = 2 sigma_0 (sigma_0 - E sigma_n) -> 2 sigma_0^2 (not unbounded as for ddof=1).
    M = 20
    w2 = g.expected_w2_squared([0, 10, 100, 10**4], M, ddof=0, sigma2=1.5)
    assert np.all(np.diff(w2) > 0) and w2[-1] == pytest.approx(3.0, rel=1e-12)
    assert g.expected_w2_squared(10**4, M, ddof=1) > 100  # ddof=1: grows like n/M
    sched = g.expected_w2_squared_schedule(g.polynomial_schedule(M, 4000, 2), ddof=0)
    # growing M_i (sum 1/M_i < inf) stops the drift: the limit is 2 (1 - prod c_i) < 2, about
    # 2 (1 - exp(-(3/4)(pi^2/6)/M)) at leading order (log c = -3/(4M) for ddof=0)
    assert sched[-1] - sched[2000] < 1e-4
    assert sched[-1] == pytest.approx(-2 * math.expm1(-0.75 * math.pi**2 / 6 / M), rel=0.05)
