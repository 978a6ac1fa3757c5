"""Tests of the far tails of the law of sigma_n^2 (modelcollapse.theory.gaussian and logwalk).

What is checked: relative accuracy of both tail probabilities down to the smallest subnormal
number (and of their logarithms far beyond float64), that nothing representable comes out as 0,
monotonicity, the log forms against the plain ones, and quantiles for levels from 1e-300 to
1 - 1e-16.

References are independent of the module:

- closed forms: ``M = 3, ddof = 1`` makes a step ``log G`` with ``G ~ Exp(1)``, so
  ``P(S_1 > x) = exp(-e^x)`` and ``P(S_2 > x) = 2 sqrt(y) K_1(2 sqrt(y))``, ``y = e^x`` (``K_1``
  a modified Bessel function, in logs through scipy's ``k1e``), with
  ``P(S_2 <= x) = y (log(1/y) + 1 - 2 gamma) + O(y^2 log y)`` for small ``y``;
  ``M = 2, ddof = 1``: ``P(S_1 <= x) = erf(sqrt(y/2))``; mpmath's Bessel function at
  high precision for the left tail of ``S_2``;
- mpmath at 30-40 digits, computed once by the functions at the end of this file and written
  down in ``REFERENCES`` (``test_reference_values_reproduce`` recomputes them, with
  ``--runslow``): the regularised incomplete gamma function (n = 1), the n = 2 convolution
  integral, the residues at the poles ``z = -a - m`` of the Bromwich integrand (far left tails),
  and for any n the Bromwich integral itself along the line through the saddle point by
  tanh-sinh quadrature with mpmath's own log-gamma.

Tolerances: the tail probability P has a condition number ``kappa = |x| f(x) / P`` with respect
to the point ``x = log eps`` (f the density); rounding x alone moves P by ``kappa eps_64``.
The module documents a relative error below ``2e-13 + 4 kappa eps_64``; the tests use that
bound (for the log forms: absolute error of log P, which is the relative error of P), with
``kappa`` estimated as ``|x c|``, c the saddle point (``f/P -> |c|`` in the tails).
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import special

from modelcollapse.theory import gaussian as g
from modelcollapse.theory import logwalk

EPS64 = 2.0**-52
EULER = 0.5772156649015329


def walk(M, ddof):
    """(a, c) of the log-variance walk: step log(G/a) + c, G ~ Gamma(a, 1)."""
    return 0.5 * (M - 1.0), math.log1p((ddof - 1.0) / (M - ddof))


def kappa(n, M, ddof, x):
    """|c| (|x| + |E S_n|), c the saddle point of n K(c) - c x (bisection on psi, scipy only):
    the condition number of the tail with respect to x, and to E S_n = n (psi(a) - log a + c),
    which the computation forms and rounds as well."""
    a, cs = walk(M, ddof)
    lo, hi = -800.0, 705.0  # log b, b = a + c
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        psi = mid - 0.5 * math.exp(-mid) if mid > 30 else special.digamma(math.exp(mid))
        if n * (cs + psi - math.log(a)) > x:
            hi = mid
        else:
            lo = mid
    mean = n * (special.digamma(a) - math.log(a) + cs)
    return abs(math.exp(hi) - a) * (abs(x) + abs(mean))


def tol(n, M, ddof, x, base=2e-13):
    return base + 4.0 * kappa(n, M, ddof, x) * EPS64


# --------------------------------------------------------------------------------------------
# The issue's example, closed forms
# --------------------------------------------------------------------------------------------


def test_issue_example_is_not_zero_and_respects_the_product_bound():
    P = g.collapse_probability([1, 2], 100, 0.01, ddof=0)
    assert np.all(P > 0)
    # P(S_2 <= x) >= P(X_1 <= 1, ...) in the issue's words: >= P(sigma_1^2 <= 1) P(X_2 <= 0.01)
    a, cs = walk(100, 0)
    p1 = float(mp.gammainc(a, 0, a * math.exp(math.log(1.0) - cs), regularized=True))
    assert P[1] >= p1 * P[0]
    assert P[1] == pytest.approx(math.exp(-139.93574190856103), rel=2e-13)  # REFERENCES


@pytest.mark.parametrize("x", [-700.0, -300.0, -40.0, -3.0, -0.5, 0.5, 2.0, 5.0, 6.5])
def test_one_exponential_step_both_tails(x):
    # M = 3, ddof = 1: S_1 = log G, G ~ Exp(1): P(S_1 <= x) = -expm1(-e^x), P(S_1 > x) = exp(-e^x)
    y = math.exp(x)
    lcdf = float(g.log_variance_logcdf(1, 3, x))
    lsf_ref = -y
    lcdf_ref = math.log(-math.expm1(-y))
    assert lcdf == pytest.approx(lcdf_ref, rel=1e-14, abs=tol(1, 3, 1, x))
    eps = math.exp(x)
    assert float(g.log_survival_probability(1, 3, eps)) == pytest.approx(
        lsf_ref, rel=tol(1, 3, 1, x) + 1e-15, abs=1e-300)
    if x > -700:
        assert float(g.collapse_probability(1, 3, eps)) == pytest.approx(
            -math.expm1(-y), rel=tol(1, 3, 1, x))
    assert float(g.survival_probability(1, 3, eps)) == pytest.approx(math.exp(-y),
                                                                      rel=tol(1, 3, 1, x))


@pytest.mark.parametrize("eps", [1e-300, 1e-100, 1e-20, 1e-3, 1.0, 10.0, 1e3, 1e100, 1e300])
def test_one_half_shape_step_both_tails(eps):
    # M = 2, ddof = 1: sigma_1^2 / sigma_0^2 = 2 G, G ~ Gamma(1/2) = Z^2 / 2:
    # P(sigma_1^2 <= eps) = erf(sqrt(eps / 2)), P(> eps) = erfc(sqrt(eps/2)) = 2 Phi(-sqrt(eps))
    x = math.log(eps)
    lsf_ref = math.log(2.0) + float(special.log_ndtr(-math.sqrt(eps)))
    assert float(g.log_survival_probability(1, 2, eps)) == pytest.approx(
        lsf_ref, rel=tol(1, 2, 1, x), abs=tol(1, 2, 1, x))
    if eps < 1.0:
        cdf_ref = math.erf(math.sqrt(eps / 2.0))
        assert float(g.collapse_probability(1, 2, eps)) == pytest.approx(cdf_ref,
                                                                         rel=tol(1, 2, 1, x))


@pytest.mark.parametrize("x", [-1.0, 2.0, 8.0, 30.0, 300.0, 1000.0, 1400.0])
def test_two_exponential_steps_upper_tail_bessel(x):
    # M = 3, ddof = 1: P(G_1 G_2 > y) = 2 sqrt(y) K_1(2 sqrt(y)); in logs with k1e = e^z K_1(z)
    z = 2.0 * math.exp(0.5 * x)
    ref = math.log(z) + math.log(special.k1e(z)) - z
    got = float(logwalk.log_cdf_parts(2, 1.0, 0.0, x)[1])
    assert got == pytest.approx(ref, rel=1e-14, abs=tol(2, 3, 1, x))
    if ref > -745.0:
        assert float(g.survival_probability(2, 3, math.exp(x))) == pytest.approx(
            math.exp(ref), rel=tol(2, 3, 1, x))


@pytest.mark.parametrize("x", [-3.0, -20.0, -100.0, -700.0])
def test_two_exponential_steps_lower_tail_bessel(x):
    # P(G_1 G_2 <= y) = 1 - 2 sqrt(y) K_1(2 sqrt(y)), evaluated by mpmath with enough digits to
    # survive the cancellation
    with mp.workdps(40 + int(-x / 2.3)):
        y = mp.exp(mp.mpf(x))
        ref = float(mp.log(1 - 2 * mp.sqrt(y) * mp.besselk(1, 2 * mp.sqrt(y))))
    got = float(g.log_variance_logcdf(2, 3, x))
    assert got == pytest.approx(ref, rel=1e-14, abs=tol(2, 3, 1, x))


@pytest.mark.parametrize("x", [-50.0, -1e3, -1e5, -1e8, -1e300])
def test_two_exponential_steps_far_lower_tail_asymptotic(x):
    # 1 - z K_1(z) = y (log(1/y) + 1 - 2 gamma) + O(y^2 log y), z = 2 sqrt(y): exact to float64
    # for y < e^-50; these points are beyond the trapezoid rule (residue form) from -1e5 on
    ref = x + math.log(-x + 1.0 - 2.0 * EULER)
    got = float(g.log_variance_logcdf(2, 3, x))
    assert got == pytest.approx(ref, rel=1e-15, abs=tol(2, 3, 1, x))


# --------------------------------------------------------------------------------------------
# mpmath references (computed by the functions at the end of this file)
# --------------------------------------------------------------------------------------------

#: (n, M, ddof, x, side, log P, reference). side "left": log P(S_n <= x); "right": log P(S_n > x).
#: The comment names the method of the module that the point exercises.
REFERENCES = [
    (1, 100, 0, math.log(0.01), "left", -181.32009253784554, "gammainc"),  # n = 1 series
    (1, 1000, 1, math.log(1e-300), "left", -344546.9020943235, "gammainc"),  # series
    (1, 2, 0, math.log(1e300), "right", -9.999999999999763e299, "gammainc"),  # Lugannani-Rice
    (1, 10**7, 1, math.log(0.998), "left", -12.47497888420415, "bromwich"),  # n = 1, large a
    (2, 100, 0, math.log(0.01), "left", -139.93574190856103, "conv2"),  # the issue's point
    (2, 9, 1, math.log(1e-8), "left", -64.87136803469397, "conv2"),
    (2, 51, 0, math.log(5.0), "right", -26.389657704332024, "conv2"),
    (2, 10**9, 1, math.log(1e-300), "left", -344387763600.0806, "residue"),
    (3, 2, 1, math.log(1e-300), "left", -335.0621450753449, "residue"),  # contour, tiny b
    (3, 2, 1, -1e4, "left", -4984.335665262559, "residue"),  # residue form
    (10, 10, 1, -120.0, "left", -469.70912027162285, "bromwich"),
    (7, 20, 1, math.log(0.5), "left", -1.043774291226883, "bromwich"),  # bulk (inversion)
    (1000, 50, 1, math.log(1e-30), "left", -30.768815675254665, "bromwich"),
    (30, 1000, 0, math.log(1e-40), "left", -31663.13036796816, "bromwich"),
    (10**6, 2, 1, -1.35e6, "left", -635.5056169805436, "bromwich"),
    (10**6, 10**9, 1, math.log(1e-300), "left", -119264909.124973, "bromwich"),
    (2000, 10, 1, math.log(0.01), "right", -56.46879387735144, "bromwich"),
    (10**6, 10, 1, math.log(0.01), "right", -27734.93842197535, "bromwich"),
    (10**6, 2, 1, math.log(1e300), "right", -230046.98536707426, "bromwich"),
    (5, 30, 0, math.log(1e10), "right", -7108.164801824684, "bromwich"),
    (100, 10, 1, 2000.0, "right", -218324329500.22803, "bromwich"),  # Lugannani-Rice
    (10, 1000, 0, 400.0, "right", -1.1769263341850998e21, "bromwich"),  # Lugannani-Rice
]


@pytest.mark.parametrize("n, M, ddof, x, side, ref, how", REFERENCES)
def test_against_mpmath_references(n, M, ddof, x, side, ref, how):
    lcdf = g.log_variance_logcdf(n, M, x, ddof=ddof)
    a, cs = walk(M, ddof)
    lF, lS = logwalk.log_cdf_parts(n, a, cs, x)
    assert lF == lcdf
    got = float(lF if side == "left" else lS)
    assert got == pytest.approx(ref, rel=4 * EPS64, abs=tol(n, M, ddof, x))
    # the plain probabilities agree where they are representable, and are not 0 there
    if ref > -745.0:
        F, S = logwalk.cdf_parts(n, a, cs, x)
        P = float(F if side == "left" else S)
        assert P > 0
        assert P == pytest.approx(math.exp(ref), rel=tol(n, M, ddof, x) + 4 * abs(ref) * EPS64)
        if abs(x) < 700:
            f = g.collapse_probability if side == "left" else g.survival_probability
            assert float(f(n, M, math.exp(x), ddof=ddof)) == pytest.approx(P, rel=1e-12)


def test_every_tail_method_is_exercised():
    # the reference points reach each regime of logwalk (a guard against a table that drifts)
    seen = set()
    for n, M, ddof, x, _, _, _ in REFERENCES:
        a, cs = walk(M, ddof)
        v = logwalk._saddle_v(*(np.array([float(t)]) for t in (n, a, cs, x)))
        s = logwalk._Saddle(*(np.array([float(t)]) for t in (n, a, cs, x)), v)
        if abs(s.w[0]) < logwalk._TAIL_W:
            seen.add("bulk")
        elif n == 1 and s.left[0] and x - cs <= math.log(logwalk._SERIES_MAX):
            seen.add("series")
        elif logwalk._plan(s)[2][0] <= logwalk._NODES_MAX:
            seen.add("contour")
        elif s.left[0] and logwalk._residue(s)[1][0]:
            seen.add("residue")
        else:
            seen.add("lugannani-rice")
    assert seen == {"bulk", "series", "contour", "residue", "lugannani-rice"}


def test_a_wrong_tail_formula_is_caught():
    # the tolerance has teeth: the first-order Lugannani-Rice approximation (what the contour
    # integral replaces) misses the n = 2 reference by far more than it allows
    n, M, ddof, x, _, ref, _ = REFERENCES[4]
    a, cs = walk(M, ddof)
    arr = [np.array([float(t)]) for t in (n, a, cs, x)]
    s = logwalk._Saddle(*arr, logwalk._saddle_v(*arr))
    u, w = float(s.c[0] * s.sd[0]), float(s.w[0])
    lr1 = -float(s.L[0]) - 0.5 * math.log(2 * math.pi) + math.log(
        math.sqrt(math.pi / 2) * special.erfcx(abs(w) / math.sqrt(2)) - (1 / u - 1 / w))
    assert abs(lr1 - ref) > 100 * tol(n, M, ddof, x)


# --------------------------------------------------------------------------------------------
# Properties over random valid arguments
# --------------------------------------------------------------------------------------------


def log_product_bound(n, M, ddof, x, upper):
    """A lower bound on log P(S_n <= x) (or log P(S_n > x)): all n steps on the same side of
    x/n, each bounded below in closed form (first term of the incomplete gamma series; for the
    upper tail Gamma(a, g) >= g^(a-1) e^-g for a >= 1, >= (1 - 1/e) (g+1)^(a-1) e^-g for a < 1)."""
    a, cs = walk(M, ddof)
    lg = math.log(a) + x / n - cs  # log g, g = a e^(x/n - cs)
    gg = math.exp(min(lg, 700.0))
    if lg > 700.0:
        gg = math.inf
    if not upper:
        one = -gg + a * lg - math.lgamma(a + 1.0) if gg < math.inf else 0.0
        one = min(one, 0.0)
    elif a >= 1.0:
        one = (a - 1.0) * lg - gg - math.lgamma(a)
    else:
        one = math.log1p(-math.exp(-1.0)) + (a - 1.0) * math.log1p(gg) - gg - math.lgamma(a)
    return n * one


ARGS = dict(
    n=st.integers(1, 10**6),
    M=st.integers(2, 10**9),
    log10_eps=st.floats(-300.0, 300.0),
    ddof=st.sampled_from([0, 1]),
)


@given(**ARGS)
def test_probabilities_positive_bounded_monotone_and_consistent(n, M, log10_eps, ddof):
    assume(M > ddof)
    eps = 10.0**log10_eps * np.array([1.0, 1.0 + 1e-6, 1.01, 2.0, 10.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid operation on the way
        P = g.collapse_probability(n, M, eps, ddof=ddof)
        S = g.survival_probability(n, M, eps, ddof=ddof)
        lP = g.log_collapse_probability(n, M, eps, ddof=ddof)
        lS = g.log_survival_probability(n, M, eps, ddof=ddof)
    assert np.all((P >= 0) & (P <= 1) & (S >= 0) & (S <= 1))
    assert np.all(np.isfinite(lP) & np.isfinite(lS) & (lP <= 0) & (lS <= 0))
    assert np.allclose(P + S, 1.0, rtol=0, atol=1e-14)
    # monotone in eps (to the relative accuracy of the values)
    assert np.all(np.diff(P) >= -1e-12 * P[1:]) and np.all(np.diff(S) <= 1e-12 * S[:-1])
    assert np.all(np.diff(lP) >= -1e-12 * np.abs(lP[1:]))
    # representable probabilities are never 0: a closed-form lower bound decides
    for i, e in enumerate(eps):
        x = math.log(e)
        if log_product_bound(n, M, ddof, x, upper=False) > -740.0:
            assert P[i] > 0, (n, M, e, ddof)
        if log_product_bound(n, M, ddof, x, upper=True) > -740.0:
            assert S[i] > 0, (n, M, e, ddof)
    # the log forms are the logs of the plain ones wherever those are above 1e-300 (near 1,
    # where log(p) loses its digits, log1p of minus the complement)
    for p, lp, other in ((P, lP, S), (S, lS, P)):
        with np.errstate(divide="ignore"):
            expected = np.where(p < 0.5, np.log(p), np.log1p(-other))
        ok = p > 1e-300
        assert np.allclose(lp[ok], expected[ok], rtol=1e-10, atol=0)
    # and below the Chernoff bound (an independent optimisation in the module)
    bound = g.chernoff_survival_bound(n, M, eps, ddof=ddof)
    assert np.all(S <= bound * (1 + 1e-10))


# --------------------------------------------------------------------------------------------
# Quantiles
# --------------------------------------------------------------------------------------------

LEVELS = [1e-300, 1e-200, 1e-100, 1e-30, 1e-15, 1e-6, 0.02, 0.3, 0.5, 0.98, 1 - 1e-6, 1 - 1e-12,
          1 - 1e-16]


@pytest.mark.parametrize("n, M, ddof", [(1, 2, 1), (1, 10, 0), (2, 3, 1), (5, 10, 1),
                                         (300, 40, 0), (10**6, 10**9, 1), (1, 10**7, 1)])
def test_quantiles_invert_the_tails_relatively(n, M, ddof):
    q = np.array(LEVELS)
    x = g.log_variance_quantile(n, M, q, ddof=ddof)
    assert np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)
    a, cs = walk(M, ddof)
    lF, lS = logwalk.log_cdf_parts(n, a, cs, x)
    for qi, xi, lf, ls in zip(q, x, lF, lS, strict=True):
        t = 2e-12 + 4 * kappa(n, M, ddof, float(xi)) * EPS64
        if qi < 0.5:
            assert float(lf) - math.log(qi) == pytest.approx(0.0, abs=t), qi
        else:
            assert float(ls) - math.log1p(-qi) == pytest.approx(0.0, abs=t), qi


def test_quantile_issue_example_and_closed_form():
    # the issue: cdf(quantile(1e-15)) was off by 3.6e-13 absolute (36% relative)
    x = g.log_variance_quantile(5, 10, 1e-15)
    assert float(g.log_variance_cdf(5, 10, x)) == pytest.approx(1e-15, rel=1e-12)
    # M = 3, ddof = 1, n = 1: P(S_1 <= x) = 1 - exp(-e^x), so x_q = log(-log1p(-q))
    for q in (1e-300, 1e-40, 0.3, 1 - 1e-10, 1 - 1e-16):
        ref = math.log(-math.log1p(-q))
        assert float(g.log_variance_quantile(1, 3, q)) == pytest.approx(ref, rel=1e-14)
    # and sigma_n^2's quantile follows, underflowing only where it must
    assert float(g.variance_quantile(1, 3, 1e-300)) == pytest.approx(1e-300, rel=1e-13)
    assert g.variance_quantile(10**4, 10, 1e-300) == 0.0
    assert np.isfinite(g.log_variance_quantile(10**4, 10, 1e-300))


# --------------------------------------------------------------------------------------------
# The mpmath references themselves (how REFERENCES was computed)
# --------------------------------------------------------------------------------------------


def _mp_saddle(n, a, cs, x):
    la = mp.log(a)
    lo, hi = mp.mpf(-1500), mp.mpf(1500)  # bisection on log b, b = a + c
    for _ in range(mp.mp.prec + 20):
        mid = (lo + hi) / 2
        if n * (cs + mp.psi(0, mp.exp(mid)) - la) > x:
            hi = mid
        else:
            lo = mid
    return mp.exp((lo + hi) / 2) - a


def mp_bromwich(n, a, cs, x, dps=35):
    """log of the tail on the side of x (of P(S_n <= x) if x < E S_n, else of P(S_n > x)): the
    inversion integral along Re z = c through the saddle point, tanh-sinh on short pieces."""
    with mp.workdps(dps):
        n, a, cs, x = (mp.mpf(v) for v in (n, a, cs, x))
        lga, la = mp.loggamma(a), mp.log(a)
        u = _mp_saddle(n, a, cs, x)
        base = n * (u * cs + mp.loggamma(a + u) - lga - u * la) - u * x
        b = a + u
        sd = mp.sqrt(n * mp.psi(1, b))
        lgb = mp.loggamma(b)

        def f(t):
            z = u + 1j * t
            e = n * (z * cs + mp.loggamma(a + z) - lga - z * la) - z * x - base
            return mp.re(mp.exp(e) / (-z if u < 0 else z))

        T = 12 / sd
        while n * mp.re(mp.loggamma(b + 1j * T) - lgb) > -48:
            T *= 1.3
        pieces = int(min(6000, max(40, T / (min(1 / sd, b, abs(u)) / 2))))
        pts = [T * (mp.mpf(k) / pieces) ** 1.5 for k in range(pieces + 1)]
        return base + mp.log(mp.quad(f, pts) / mp.pi)


def mp_conv2(a, cs, x, upper=False, dps=30):
    """log P(S_2 <= x) (or > x): int over s = log G_1 of e^(a s - e^s)/Gamma(a) times the
    incomplete gamma function of G_2 at Y e^-s, Y = a^2 e^(x - 2 cs); pieces of the integrand's
    width about its mode, halved until two results agree to 1e-16."""
    with mp.workdps(dps):
        a, cs, x = mp.mpf(a), mp.mpf(cs), mp.mpf(x)
        lY = 2 * mp.log(a) + x - 2 * cs
        lga = mp.loggamma(a)

        def h(s):
            z = mp.exp(lY - s)
            tail = (mp.gammainc(a, z, mp.inf, regularized=True) if upper
                    else mp.gammainc(a, 0, z, regularized=True))
            return mp.exp(a * s - mp.exp(s) - lga) * tail

        lo, hi = min(lY, mp.mpf(0)) - 60 / a - 30, mp.log(a + 1) + 10
        c0 = max((lo + (hi - lo) * k / 300 for k in range(301)),
                 key=lambda s: mp.log(h(s)) if h(s) > 0 else -mp.inf)
        d2 = mp.mpf(-1)
        for _ in range(6):
            e = mp.mpf(10) ** -8
            f0, fp, fm = mp.log(h(c0)), mp.log(h(c0 + e)), mp.log(h(c0 - e))
            d1, d2 = (fp - fm) / (2 * e), (fp - 2 * f0 + fm) / e**2
            if d2 >= 0:
                break
            c0 = c0 - max(min(d1 / d2, 1), -1)
        width = 1 / mp.sqrt(-d2) if d2 < 0 else mp.inf
        w = min(width, 1 / mp.sqrt(a + 1), mp.mpf(1)) / 2
        span = 40 * width if width < 0.2 else max(c0 - lo, hi - c0)
        prev = None
        for _ in range(4):
            K = int(span / w) + 1
            val = mp.log(mp.quad(h, [c0 + k * w for k in range(-K, K + 1)]))
            if prev is not None and abs(val - prev) < mp.mpf(10) ** -16 * max(1, abs(val)):
                return val
            prev, w = val, w / 2
        raise ArithmeticError("mp_conv2: the pieces did not converge")


def mp_residue(n, a, cs, x, dps=40, poles=3):
    """log P(S_n <= x) as the sum of the residues of e^(n K(z) - z x)/(-z) at z = -a - m,
    m < poles (Taylor coefficient n - 1 of the analytic part, by mpmath)."""
    with mp.workdps(dps):
        a, cs, x = mp.mpf(a), mp.mpf(cs), mp.mpf(x)
        lga, la = mp.loggamma(a), mp.log(a)
        total = mp.mpf(0)
        for m in range(poles):
            def analytic(w, m=m):
                z = -a - m + w
                lg = mp.loggamma(1 + w) - sum(mp.log(w - j) for j in range(1, m + 1))
                return mp.exp(n * (z * cs + lg - lga - z * la) - z * x) / (-z)

            scale = analytic(mp.mpf(10) ** (-dps // 2)) if m else analytic(0)
            total += mp.taylor(lambda w, s=scale: analytic(w) / s, 0, n - 1)[n - 1] * scale
        return mp.log(mp.re(total))


def mp_reference(n, M, ddof, x, side, how):
    a, cs = walk(M, ddof)
    if how == "gammainc":
        with mp.workdps(40):
            z = mp.mpf(a) * mp.exp(mp.mpf(x) - mp.mpf(cs))
            return float(mp.log(mp.gammainc(a, z, mp.inf, regularized=True) if side == "right"
                                else mp.gammainc(a, 0, z, regularized=True)))
    if how == "conv2":
        return float(mp_conv2(a, cs, x, upper=side == "right"))
    if how == "residue":
        return float(mp_residue(n, a, cs, x))
    return float(mp_bromwich(n, a, cs, x))


@pytest.mark.slow
@pytest.mark.parametrize("n, M, ddof, x, side, ref, how", REFERENCES)
def test_reference_values_reproduce(n, M, ddof, x, side, ref, how):
    assert mp_reference(n, M, ddof, x, side, how) == pytest.approx(ref, rel=1e-15, abs=1e-13)
