"""Symbolic (sympy-derived) vs numeric 1-D Gaussian collapse formulas.

Layer: exact algebra. ``modelcollapse.theory.symbolic.gaussian`` derives every closed form from
the one-step law; here its lambdified expressions, evaluated in mpmath at 40 digits
(``dps=40``, so they are exact to float64 rounding), must equal the float64 implementation
``modelcollapse.theory.gaussian`` to ``rtol = 1e-10`` at Hypothesis-drawn points. No random
numbers are involved, so the tolerances are floating-point ones, not statistical ones. The
large-M expansions are checked against the exact expressions (the remainder of the order-p
expansion, times M^(p+1), must tend to the next coefficient). A perturbed formula must fail
the same comparison (``test_checker_rejects_perturbed_formula``).

Convention: generation 0 is the original N(mu0, sigma0^2); ``ddof=1`` unbiased, ``ddof=0`` MLE;
``sigma2`` is sigma0^2.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from modelcollapse.theory import gaussian as G  # the numeric witness
from modelcollapse.theory.symbolic import gaussian as g

RTOL = 1e-10  # float64 implementation vs exact (40-digit) evaluation at moderate points
S = g.symbols()

NM_NAMES = [
    "expected_variance",
    "expected_std",
    "expected_log_variance",
    "log_variance_variance",
    "mean_drift_mse",
    "expected_w2_squared",
    "marginal_variance",
]
SCHEDULE_NAMES = [
    "expected_variance_schedule",
    "expected_std_schedule",
    "mean_drift_mse_schedule",
    "expected_w2_squared_schedule",
    "marginal_variance_schedule",
]

gens = st.integers(min_value=0, max_value=300)
sizes = st.integers(min_value=2, max_value=500)
ddofs = st.sampled_from([0, 1])
sigma2s = st.floats(min_value=0.05, max_value=20.0)


def assert_close(actual, expected, *, rtol: float = RTOL, scale=None) -> None:
    """|actual - expected| <= rtol * scale, scale = |expected| unless given (used where the
    exact value is a difference of terms and may cross zero)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected) if scale is None else np.asarray(scale, dtype=np.float64)
    err = np.abs(actual - expected)
    bad = ~(err <= rtol * scale + 1e-300)
    if bad.any():
        raise AssertionError(
            f"mismatch: actual={actual[bad]}, expected={expected[bad]}, "
            f"rel err={(err / np.maximum(scale, 1e-300))[bad]}, rtol={rtol}"
        )


def _log_scale(n, M, ddof, sigma2):
    """Sum of the magnitudes of the terms of E log sigma_n^2 = log sigma2 + n ell."""
    a = (M - 1) / 2
    ell = float(mpmath.digamma(a) + mpmath.log(2 / (M - ddof)))
    return abs(np.log(sigma2)) + n * abs(ell) + 1e-300


# ---------------------------------------------------------------------------------------------
# symbolic == numeric at random points
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NM_NAMES)
@given(n=gens, M=sizes, ddof=ddofs, sigma2=sigma2s)
def test_symbolic_equals_numeric(name, n, M, ddof, sigma2):
    sym = g.lambdified(name, dps=40)(n, M, ddof=ddof, sigma2=sigma2)
    num = getattr(G, name)(n, M, ddof=ddof, sigma2=sigma2)
    scale = _log_scale(n, M, ddof, sigma2) if name == "expected_log_variance" else None
    if name == "expected_w2_squared" and n == 0:
        scale = sigma2  # exact value 0: absolute tolerance on the scale of the terms
    assert_close(num, sym, scale=scale)


@given(
    n=gens,
    M=sizes,
    ddof=ddofs,
    sigma2=sigma2s,
    u=st.floats(min_value=0.02, max_value=1.0),
    kmax=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
)
def test_variance_moment_symbolic_equals_numeric(n, M, ddof, sigma2, u, kmax):
    # k in (-(M-1)/2, kmax], not too close to the pole; keep n |log r_k| moderate (no overflow)
    lo = -(M - 1) / 2
    k = lo + u * (kmax - lo)
    with np.errstate(over="ignore"):  # values beyond float64 range are skipped below
        sym = g.lambdified("variance_moment", dps=40)(n, M, k, ddof=ddof, sigma2=sigma2)
    if not (np.isfinite(sym) and 1e-250 < sym < 1e250):
        return  # outside float64 range: nothing to compare
    num = G.variance_moment(n, M, k, ddof=ddof, sigma2=sigma2)
    assert_close(num, sym)


@given(M=st.integers(min_value=2, max_value=10**6), ddof=ddofs)
def test_std_factor_symbolic_equals_numeric(M, ddof):
    assert_close(G.std_factor(M, ddof=ddof), g.lambdified("std_factor", dps=40)(M, ddof=ddof))


@given(
    Ms=st.lists(st.integers(min_value=2, max_value=10**4), min_size=1, max_size=8),
    sigma2=sigma2s,
)
def test_w2_leading_order_schedule(Ms, sigma2):
    sym = g.lambdified("w2_leading_order_schedule")(Ms, sigma2=sigma2)
    num = G.w2_leading_order_schedule(Ms, sigma2=sigma2)
    assert sym.shape == num.shape == (len(Ms),)
    assert_close(num, sym, rtol=1e-13)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@given(
    Ms=st.lists(st.integers(min_value=2, max_value=300), min_size=1, max_size=5),
    ddof=ddofs,
    sigma2=sigma2s,
)
def test_schedule_symbolic_equals_numeric(name, Ms, ddof, sigma2):
    sym = g.lambdified(name, dps=30)(Ms, ddof=ddof, sigma2=sigma2)
    num = getattr(G, name)(Ms, ddof=ddof, sigma2=sigma2)
    assert sym.shape == num.shape == (len(Ms) + 1,)
    scale = None
    if name == "expected_w2_squared_schedule":
        scale = np.maximum(np.abs(sym), 0) + np.r_[sigma2, np.zeros(len(Ms))]  # E W2^2 = 0 at 0
    assert_close(num, sym, scale=scale)


@pytest.mark.parametrize(
    "name",
    [
        "expected_variance",
        "expected_std",
        "mean_drift_mse",
        "expected_w2_squared",
        "marginal_variance",
    ],
)
@pytest.mark.parametrize("ddof", [0, 1])
def test_schedule_with_constant_M_matches_constant_formula(name, ddof):
    Ms = [7] * 6
    sched = g.lambdified(name + "_schedule", dps=30)(Ms, ddof=ddof, sigma2=1.5)
    const = g.lambdified(name, dps=30)(np.arange(7), 7, ddof=ddof, sigma2=1.5)
    assert_close(sched, const, rtol=1e-14, scale=np.abs(const) + 1e-15)


# ---------------------------------------------------------------------------------------------
# the float64 lambdified path
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NM_NAMES)
@given(n=st.integers(0, 200), M=st.integers(2, 200), ddof=ddofs, sigma2=sigma2s)
def test_float_lambdify_matches_exact(name, n, M, ddof, sigma2):
    # loggamma differences cost about 1e-16 * M log M relative accuracy: 1e-9 at M <= 200
    fast = g.lambdified(name)(n, M, ddof=ddof, sigma2=sigma2)
    exact = g.lambdified(name, dps=40)(n, M, ddof=ddof, sigma2=sigma2)
    scale = _log_scale(n, M, ddof, sigma2) if name == "expected_log_variance" else None
    if name == "expected_w2_squared" and n == 0:
        scale = sigma2
    assert_close(fast, exact, rtol=1e-9, scale=scale)


def test_lambdified_broadcasts():
    f = g.lambdified("expected_variance")
    out = f(np.arange(4)[:, None], np.array([2, 5, 50]), ddof=np.array([0, 1, 0]), sigma2=2.0)
    assert out.shape == (4, 3)
    assert_close(out[:, 1], 2.0 * np.ones(4), rtol=1e-15)  # ddof=1: constant
    assert_close(out[:, 0], 2.0 * 0.5 ** np.arange(4), rtol=1e-15)  # ddof=0, M=2
    fp = g.lambdified("mean_drift_mse", dps=30)
    assert fp(np.arange(3)[:, None], [3, 4], ddof=[0, 1]).shape == (3, 2)
    sched = g.lambdified("expected_std_schedule")([4, 5, 6], ddof=np.array([0, 1]), sigma2=1.0)
    assert sched.shape == (2, 4)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: g.lambdified("expected_variance")(-1, 5), "n"),
        (lambda: g.lambdified("expected_variance")(1, 1), "M"),
        (lambda: g.lambdified("expected_variance")(1, 2.5), "M"),
        (lambda: g.lambdified("expected_variance")(1, 5, ddof=-1), "ddof"),
        (lambda: g.lambdified("expected_variance")(1, 5, ddof=5), "M"),
        (lambda: g.lambdified("expected_variance")(1, 5, sigma2=0.0), "sigma2"),
        (lambda: g.lambdified("variance_moment")(1, 5, -2.0), "k"),
        (lambda: g.lambdified("std_factor")(1), "M"),
        (lambda: g.lambdified("w2_leading_order_schedule")([10, 1]), "^M must"),
        (lambda: g.lambdified("no_such_formula"), "name"),
        (lambda: g.lambdified("expected_std", dps=3), "dps"),
        (lambda: g.std_factor_series(0), "order"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# the derivations themselves
# ---------------------------------------------------------------------------------------------
def test_closed_forms_and_recursions():
    n, M, k, ddof, s0 = S.n, S.M, S.k, S.ddof, S.sigma0
    a = S.a
    q = (M - 1) / (M - ddof)
    r = g.one_step_moment_expr()
    assert sp.simplify(r - 2**k * sp.gamma(a + k) / (sp.gamma(a) * (M - ddof) ** k)) == 0
    mom = g.variance_moment_expr()
    assert sp.simplify(mom.subs(n, n + 1) / mom - r) == 0
    assert sp.simplify(g.expected_variance_expr() - s0**2 * q**n) == 0
    c = sp.sqrt(2) / sp.sqrt(M - ddof) * sp.gamma(M / 2) / sp.gamma((M - 1) / 2)
    assert sp.simplify(g.std_factor_expr() - c) == 0
    ell = sp.polygamma(0, a) + sp.log(2 / (M - ddof))
    L = g.expected_log_variance_expr()
    assert sp.simplify(sp.expand_log(L - sp.log(s0**2) - n * ell, force=True)) == 0
    assert sp.simplify(g.log_variance_variance_expr() - n * sp.polygamma(1, a)) == 0
    D = g.mean_drift_mse_expr()
    assert sp.simplify(D.subs(ddof, 1) - n * s0**2 / M) == 0
    assert sp.simplify(D.subs(ddof, 0) - s0**2 * (1 - (1 - 1 / M) ** n)) == 0


def test_mean_drift_solves_recursion_for_general_ddof():
    general, flat = g._mean_drift_branches()
    n, M = S.n, S.M
    step = g.expected_variance_expr() / M
    assert sp.simplify(general.subs(n, n + 1) - general - step) == 0
    assert general.subs(n, 0) == 0
    assert sp.simplify(flat.subs(n, n + 1) - flat - step.subs(S.ddof, 1)) == 0


def _exact_c(M: int, ddof: int) -> mpmath.mpf:
    return (
        mpmath.sqrt(mpmath.mpf(2) / (M - ddof))
        * mpmath.gamma(mpmath.mpf(M) / 2)
        / mpmath.gamma(mpmath.mpf(M - 1) / 2)
    )


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_std_factor_series_remainder(order, ddof):
    """Remainder of the order-p expansion times M^(p+1) -> the next coefficient (which the
    order-(p+1) expansion supplies), with error O(1/M)."""
    poly = sp.lambdify(S.M, g.std_factor_series(order).removeO().subs(S.ddof, ddof), "mpmath")
    nxt = g.std_factor_series(order + 1).removeO().subs(S.ddof, ddof)
    coeff = float(sp.expand(nxt.subs(S.M, 1 / S.epsilon)).coeff(S.epsilon, order + 1))
    assert coeff != 0
    errs = []
    with mpmath.workdps(60):
        for M in (10**3, 10**4, 10**5):
            rem = (_exact_c(M, ddof) - poly(mpmath.mpf(M))) * mpmath.mpf(M) ** (order + 1)
            errs.append(abs(float(rem) - coeff))
    # the O(1/M) error of the scaled remainder shrinks about tenfold per decade of M
    assert errs[1] < 0.2 * errs[0] and errs[2] < 0.2 * errs[1]
    assert errs[2] < 1e-3 * max(1.0, abs(coeff))


def test_std_factor_leading_terms():
    ser = g.std_factor_series(2).removeO()
    M, d = S.M, S.ddof
    assert sp.simplify(ser.subs(d, 1) - (1 - 1 / (4 * M) - sp.Rational(7, 32) / M**2)) == 0
    first = sp.expand(g.std_factor_series(1).removeO())
    assert sp.simplify(first - (1 + (2 * d - 3) / (4 * M))) == 0
    assert g.std_factor_series(1).getO() is not None


@pytest.mark.parametrize("ddof", [0, 1])
def test_w2_expansion_against_exact(ddof):
    """E W2^2 - (3/2) sigma0^2 n/M = O(M^-2) at fixed n; the scaled remainder tends to the
    epsilon^2 coefficient of w2_series(2)."""
    lead = g.w2_leading_order_expr()
    assert sp.simplify(lead - sp.Rational(3, 2) * S.sigma0**2 * S.n / S.M) == 0
    second = g.w2_series(2).coeff(S.epsilon, 2)
    exact = g.lambdified("expected_w2_squared", dps=50)
    for n in (1, 3, 10):
        c2 = float(second.subs({S.n: n, S.ddof: ddof, S.sigma0: 1}))
        errs = []
        for M in (10**3, 10**4, 10**5):
            rem = (float(exact(n, M, ddof=ddof)) - 1.5 * n / M) * M**2
            errs.append(abs(rem - c2))
        assert errs[2] < 0.2 * errs[1] < 0.04 * errs[0] + 1e-12
        assert errs[2] < 1e-2 * max(1.0, abs(c2))


def test_w2_leading_order_schedule_expr():
    lead = g.w2_leading_order_schedule_expr()
    n = S.n
    expected = sp.Rational(3, 2) * S.sigma0**2 * sp.Sum(1 / S.Ms[S.i], (S.i, 1, n))
    assert sp.simplify(lead - expected) == 0


# ---------------------------------------------------------------------------------------------
# the comparison rejects a wrong formula
# ---------------------------------------------------------------------------------------------
def test_checker_rejects_perturbed_formula():
    """Feed the symbolic-vs-numeric comparison formulas that are wrong in small ways; each
    must be rejected at some of a handful of moderate points."""
    n, M, ddof, s0 = S.n, S.M, S.ddof, S.sigma0
    wrong = {
        # ddof lost in the variance factor
        "expected_variance": s0**2 * ((M - 1) / M) ** n,
        # Gamma arguments shifted by one half
        "expected_std": s0
        * (sp.sqrt(2 / (M - ddof)) * sp.gamma((M + 1) / 2) / sp.gamma(M / 2)) ** n
        / 1,
        # drift with n - 1 in place of n
        "mean_drift_mse": sp.Piecewise(
            ((n - 1) * s0**2 / M, sp.Eq(ddof, 1)),
            (s0**2 * (M - ddof) * (1 - ((M - 1) / (M - ddof)) ** (n - 1)) / (M * (1 - ddof)), True),
        ),
    }
    points = [(3, 5, 1, 1.0), (10, 20, 0, 2.0), (50, 7, 1, 0.5), (2, 2, 0, 1.0)]
    for name, expr in wrong.items():
        f = sp.lambdify((n, M, ddof, S.sigma0), expr, "mpmath")
        differs = 0
        for nn, MM, dd, s2 in points:
            bad = float(f(nn, MM, dd, mpmath.sqrt(s2)))
            good = float(g.lambdified(name, dps=40)(nn, MM, ddof=dd, sigma2=s2))
            num = getattr(G, name)(nn, MM, ddof=dd, sigma2=s2)
            assert_close(num, good)  # the derivation is accepted ...
            if abs(bad - good) > 1e-8 * abs(good):  # ... and where the perturbation matters,
                differs += 1
                with pytest.raises(AssertionError):  # the perturbed formula is rejected
                    assert_close(num, bad)
        assert differs >= 2, name
