"""The sympy derivations of discrete drift (theory.symbolic.discrete_drift) against brute-force
enumeration of the full multinomial chain (exact rationals, K = 3, M <= 5, n <= 4), against the
numeric module theory.discrete_drift, and the proof checker rejecting perturbed derivations.

Everything here is exact (rational arithmetic) or deterministic float comparison: no statistical
tolerance is involved. The brute-force witness below is written independently of the module under
test (its own enumeration of count vectors and multinomial pmf).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from modelcollapse.proofs import StepFailure
from modelcollapse.proofs import check_discrete_drift as chk
from modelcollapse.theory.symbolic import discrete_drift as dd

# --------------------------------------------------------------------------------------------
# independent brute force: the full chain on count vectors, exact
# --------------------------------------------------------------------------------------------
CASES_P0 = [
    ((Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)), (Fraction(0), Fraction(1), Fraction(3))),
    ((Fraction(1, 5), Fraction(2, 5), Fraction(2, 5)), (Fraction(-1), Fraction(0), Fraction(1))),
]
MS = range(1, 6)
NS = range(0, 5)


def _counts(M, K):
    return [c for c in itertools.product(range(M + 1), repeat=K) if sum(c) == M]


def _pmf(c, q, M):
    w = Fraction(math.factorial(M))
    for ci, qi in zip(c, q, strict=True):
        w = w / math.factorial(ci) * qi**ci
    return w


def brute_law(p0, M, gens):
    """List of (probability vector, weight) of generation ``gens`` (gens = 0: p0 itself)."""
    law = {tuple(p0): Fraction(1)}
    for _ in range(gens):
        new = {}
        for q, w in law.items():
            for c in _counts(M, len(p0)):
                pw = _pmf(c, q, M)
                if pw:
                    key = tuple(Fraction(ci, M) for ci in c)
                    new[key] = new.get(key, Fraction(0)) + w * pw
        law = new
    return list(law.items())


def _mean(p, x):
    return sum((a * b for a, b in zip(p, x, strict=True)), Fraction(0))


def _var(p, x):
    m = _mean(p, x)
    return sum((a * (b - m) ** 2 for a, b in zip(p, x, strict=True)), Fraction(0))


def _cdf(p):
    return list(itertools.accumulate(p))[:-1]


def _w1(p, q, x):
    return sum((abs(a - b) * (x[j + 1] - x[j]) for j, (a, b) in
                enumerate(zip(_cdf(p), _cdf(q), strict=True))), Fraction(0))


def _cramer(p, q, x):
    return sum(((a - b) ** 2 * (x[j + 1] - x[j]) for j, (a, b) in
                enumerate(zip(_cdf(p), _cdf(q), strict=True))), Fraction(0))


def _tv(p, q):
    return sum((abs(a - b) for a, b in zip(p, q, strict=True)), Fraction(0)) / 2


def _w2sq(p, q, x):
    """int_0^1 (Q_p(u) - Q_q(u))^2 du for step quantile functions on the support x."""
    cuts = sorted(set([Fraction(0), Fraction(1)] + _cdf(p) + _cdf(q)))
    total = Fraction(0)
    for lo, hi in itertools.pairwise(cuts):
        if hi == lo:
            continue
        u = (lo + hi) / 2  # quantile index constant on (lo, hi)
        ip = next(i for i, F in enumerate(itertools.accumulate(p)) if F >= u)
        iq = next(i for i, F in enumerate(itertools.accumulate(q)) if F >= u)
        total += (hi - lo) * (x[ip] - x[iq]) ** 2
    return total


def expect(p0, M, gens, fn):
    return sum((w * fn(q) for q, w in brute_law(p0, M, gens)), Fraction(0))


def _rat(v):
    return sp.Rational(v.numerator, v.denominator)


def _value(expr, subs):
    val = sp.simplify(sp.sympify(expr).subs(subs))
    assert val.is_Rational, val
    return Fraction(int(val.p), int(val.q))


def _moments(p0, x):
    m = _mean(p0, x)
    mu = {a: sum((pi * (xi - m) ** a for pi, xi in zip(p0, x, strict=True)), Fraction(0))
          for a in (2, 4)}
    return {dd.V: _rat(mu[2]), dd.mu2: _rat(mu[2]), dd.mu4: _rat(mu[4])}


# --------------------------------------------------------------------------------------------
# symbolic == brute force (exact)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p0, x", CASES_P0)
def test_moment_closed_forms_equal_full_chain(p0, x):
    sol = dd.solutions()
    mom = _moments(p0, x)
    m0, F0s = _mean(p0, x), _cdf(p0)
    for M in MS:
        for g in NS:
            at = {dd.n: g, dd.M: M, **mom}
            law = brute_law(p0, M, g)
            Ev = sum((w * _var(q, x) for q, w in law), Fraction(0))
            Ev2 = sum((w * _var(q, x) ** 2 for q, w in law), Fraction(0))
            drift = sum((w * (_mean(q, x) - m0) ** 2 for q, w in law), Fraction(0))
            cram = sum((w * _cramer(q, p0, x) for q, w in law), Fraction(0))
            assert drift == _value(sol["expected_mean_drift"], at), (M, g)
            assert Ev == _value(sol["expected_support_variance"], at), (M, g)
            assert Ev2 == _value(sol["support_variance_second_moment"], at), (M, g)
            assert Ev2 - Ev**2 == _value(sol["support_variance_variance"], at), (M, g)
            closed = sum((_value(sol["cdf_sq_deviation"], {dd.n: g, dd.M: M, dd.F0: _rat(F)})
                          * (x[j + 1] - x[j]) for j, F in enumerate(F0s)), Fraction(0))
            assert cram == closed, (M, g)


def test_zero_eigenvalues_at_small_M_read_zero_to_the_zero_as_one():
    """At M <= 3 some eigenvalues vanish; n = 0 must still give Var(Var) = 0 with 0**0 = 1."""
    f = dd.lambdified("support_variance_variance")
    g = dd.lambdified("support_variance_second_moment")
    for M in (1, 2, 3):
        assert float(f(0, 0.3, 0.2, M)) == 0.0
        assert float(g(0, 0.3, 0.2, M)) == pytest.approx(0.09, rel=1e-14)


@pytest.mark.parametrize("p0, x", CASES_P0)
def test_w1_and_tv_reduce_to_two_allele_chains(p0, x):
    for M in range(1, 6):
        for g in range(0, 4):
            w1 = expect(p0, M, g, lambda q: _w1(q, p0, x))
            tv = expect(p0, M, g, lambda q: _tv(q, p0))
            red_w1 = sum((dd.two_allele_abs_deviation(g, M, F) * (x[j + 1] - x[j])
                          for j, F in enumerate(_cdf(p0))), Fraction(0))
            red_tv = sum((dd.two_allele_abs_deviation(g, M, pi) for pi in p0), Fraction(0)) / 2
            assert w1 == red_w1, (M, g)
            assert tv == red_tv, (M, g)


@pytest.mark.parametrize("K", [2, 3])
def test_variance_variance_for_small_K_general_p(K):
    """support_variance_variance_for(K) (general p, x) equals the full chain at rational points."""
    expr = dd.support_variance_variance_for(K)
    p0 = CASES_P0[0][0] if K == 3 else (Fraction(2, 7), Fraction(5, 7))
    x = CASES_P0[0][1] if K == 3 else (Fraction(-1, 2), Fraction(3))
    subs = {sp.Symbol(f"x{i + 1}", real=True): _rat(v) for i, v in enumerate(x)}
    subs.update({sp.Symbol(f"p{i + 1}", real=True): _rat(v) for i, v in enumerate(p0[:-1])})
    for M in (2, 4):
        for g in (1, 3):
            law = brute_law(p0, M, g)
            Ev = sum((w * _var(q, x) for q, w in law), Fraction(0))
            Ev2 = sum((w * _var(q, x) ** 2 for q, w in law), Fraction(0))
            assert Ev2 - Ev**2 == _value(expr, {**subs, dd.n: g, dd.M: M})


def test_full_chain_law_of_the_module_matches_the_brute_force():
    p0, _ = CASES_P0[0]
    mine = dict(brute_law(p0, 4, 3))
    theirs = dd.full_chain_law(p0, 4, 3)
    assert {tuple(Fraction(c, 4) for c in k): w for k, w in theirs.items()} == mine


def test_absorbed_limits_match_long_run_of_the_full_chain():
    """Limits derived from the absorbed law vs the full chain at large n (M = 2: fast mixing)."""
    p0, x = CASES_P0[0]
    lim = dd.absorbed_limits(3)
    d1, d2 = sp.symbols("d1 d2", positive=True)
    subs = {sp.Symbol(f"p{i + 1}", positive=True): _rat(v) for i, v in enumerate(p0)}
    subs.update({sp.Symbol("x1", real=True): _rat(x[0]), d1: _rat(x[1] - x[0]),
                 d2: _rat(x[2] - x[1])})
    # generation 40 at M = 2: P(not absorbed) <= (1 - 2^-2)^39 < 1.5e-5 (proof wright_fisher,
    # Step 3). E D(p_40) - limit = E[D; not absorbed] - sum_i (p0_i - P(absorbed at i by 40)) D_i,
    # a difference of two non-negative terms each <= P(not absorbed) max D <= 1.5e-5 * 9 (the
    # distances are at most 1, diameter 3, 9 and 3): the gap is < 1.4e-4 < 2e-4
    law = brute_law(p0, 2, 40)
    for key, fn in (("total_variation", lambda q: _tv(q, p0)), ("w1", lambda q: _w1(q, p0, x)),
                    ("w2_squared", lambda q: _w2sq(q, p0, x)),
                    ("cramer_squared", lambda q: _cramer(q, p0, x))):
        long_run = float(sum((w * fn(q) for q, w in law), Fraction(0)))
        assert long_run == pytest.approx(float(lim[key].subs(subs)), abs=2e-4), key


# --------------------------------------------------------------------------------------------
# perturbed derivations are rejected
# --------------------------------------------------------------------------------------------
M, n, V, F0 = dd.M, dd.n, dd.V, dd.F0


def test_proof_steps_accept_the_derivation_and_reject_perturbations(monkeypatch):
    steps = {str(label): fn for label, _, fn in chk.STEPS}
    for label in ("3", "4", "8"):
        steps[label]()
    wrong_drift = V * (1 - (1 - 1 / M) ** (n + 1))
    with pytest.raises(StepFailure):
        chk.step3_mean_drift(wrong_drift)
    with pytest.raises(StepFailure):
        chk.step4_variance_decay(V * (1 - 1 / (M + 1)) ** n)
    with pytest.raises(StepFailure):
        chk.step8_cramer(F0 * (1 - F0) * (1 - (1 - 2 / M) ** n))
    sol = dd.solutions()["support_variance_variance"]
    with pytest.raises(StepFailure):
        chk.step5_variance_variance(sol + dd.mu2**2 * ((M - 1) / M) ** n / M**2)
    with pytest.raises(StepFailure):  # the Poisson-like shortcut misses the M^(b) factors
        chk.step2_power_sums(lambda a: sp.expand(dd.power_sum_moment(a).subs(M, M + 1)))
    with pytest.raises(StepFailure):  # W1 by the chain one generation early
        chk.step7_reduction(lambda g, Mi, F: dd.two_allele_abs_deviation(max(g - 1, 0), Mi, F))

    def wrong_limits(K):
        out = dict(dd.absorbed_limits(K))
        out["w2_squared"] = out["w2_squared"] / 2  # V instead of 2V
        return out

    with pytest.raises(StepFailure):
        chk.step10_limits(3, wrong_limits)
    # a wrong one-step moment (a Poisson count instead of the multinomial) fails Step 1
    with pytest.raises(StepFailure):
        chk.step1_moments(lambda ks: sp.expand(dd.multinomial_moment(ks).subs(M, M + 1))
                          if sum(ks) > 1 else dd.multinomial_moment(ks))


def test_brute_force_comparison_rejects_a_perturbed_formula():
    """The exact comparison used above fails for an off-by-one exponent."""
    p0, x = CASES_P0[0]
    mom = _moments(p0, x)
    wrong = V * (1 - 1 / M) ** (n + 1)
    law = brute_law(p0, 3, 2)
    Ev = sum((w * _var(q, x) for q, w in law), Fraction(0))
    assert Ev == _value(dd.solutions()["expected_support_variance"], {n: 2, M: 3, **mom})
    assert Ev != _value(wrong, {n: 2, M: 3, **mom})


# --------------------------------------------------------------------------------------------
# lambdified: validation, broadcasting, extreme arguments
# --------------------------------------------------------------------------------------------
def test_lambdified_validates_and_broadcasts():
    f = dd.lambdified("expected_mean_drift")
    out = f(np.arange(4)[:, None], 2.0, np.array([1, 10]))
    assert out.shape == (4, 2)
    assert isinstance(f(1, 2.0, 3), np.floating)
    with pytest.raises(ValueError, match="V"):
        f(1, -1.0, 3)
    with pytest.raises(ValueError, match="M"):
        f(1, 1.0, 0)
    with pytest.raises(ValueError, match="n"):
        f(True, 1.0, 3)
    with pytest.raises(ValueError, match="F0"):
        dd.lambdified("cdf_sq_deviation")(1, 1.5, 3)
    with pytest.raises(ValueError, match="name"):
        dd.lambdified("no_such_thing")
    with pytest.raises(TypeError):
        f(1, 2.0)


def test_lambdified_is_accurate_at_extreme_arguments():
    q = -np.expm1(1e6 * np.log1p(-1e-9))  # 1 - (1 - 1/M)^n to full relative accuracy
    assert float(dd.lambdified("expected_mean_drift")(10**6, 1.0, 10**9)) == pytest.approx(
        q, rel=1e-14)
    assert float(dd.lambdified("cdf_sq_deviation")(1, 0.5, 10**9)) == pytest.approx(
        0.25e-9, rel=1e-14)
    v = dd.lambdified("support_variance_variance")(np.array([1, 10**3, 10**6]), 1.0, 3.0, 10**6)
    assert np.all(np.isfinite(v)) and np.all(v >= 0)
    # Var(Var) far below mu2^2 (n = 1, M = 1e9): the exact rational value of the derived closed
    # form, against the cancellation-free evaluation
    sol = dd.solutions()["support_variance_variance"]
    for nv, Mv in ((1, 10**9), (7, 10**8), (10**3, 10**5)):
        exact = sol.subs({dd.n: nv, dd.M: Mv, dd.mu2: sp.Rational(1, 4), dd.mu4: sp.Rational(1, 8)})
        got = float(dd.lambdified("support_variance_variance")(nv, 0.25, 0.125, Mv))
        assert got == pytest.approx(float(exact), rel=1e-13), (nv, Mv)


def test_lumped_count_mgf_refuses_bad_cut_points():
    with pytest.raises(ValueError, match="j"):
        dd.lumped_count_mgf(3, 4)
    with pytest.raises(ValueError, match="K"):
        dd.lumped_count_mgf(True, 1)
    with pytest.raises(ValueError, match="F0"):
        dd.two_allele_abs_deviation(1, 3, "3/2")


# --------------------------------------------------------------------------------------------
# symbolic == numeric module (theory.discrete_drift)
# --------------------------------------------------------------------------------------------
def _numeric():
    return pytest.importorskip(
        "modelcollapse.theory.discrete_drift",
        reason="modelcollapse.theory.discrete_drift (the numeric witness) does not exist yet")


def _floats(p0, x):
    return np.array([float(v) for v in p0]), np.array([float(v) for v in x])


@pytest.mark.parametrize("p0, x", CASES_P0)
def test_numeric_closed_forms_equal_symbolic(p0, x):
    num = _numeric()
    pf, xf = _floats(p0, x)
    mom = {k.name: float(v) for k, v in _moments(p0, x).items()}
    ns = np.array([0, 1, 2, 5, 40, 1000])
    for M in (1, 2, 3, 7, 100, 10**6):
        args = (ns, pf, M, xf)
        np.testing.assert_allclose(
            num.expected_mean_drift(*args),
            dd.lambdified("expected_mean_drift")(ns, mom["V"], M), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(
            num.expected_support_variance(*args),
            dd.lambdified("expected_support_variance")(ns, mom["V"], M), rtol=1e-12,
            atol=1e-300)
        # Var(Var) is a difference of eigen-sums: compare relative to mu2^2
        np.testing.assert_allclose(
            num.support_variance_variance(*args),
            dd.lambdified("support_variance_variance")(ns, mom["mu2"], mom["mu4"], M),
            rtol=1e-9, atol=1e-13 * mom["mu2"] ** 2)
        cram = sum((float(x[j + 1] - x[j])
                    * dd.lambdified("cdf_sq_deviation")(ns, float(F), M)
                    for j, F in enumerate(_cdf(p0))), np.zeros(ns.shape))
        np.testing.assert_allclose(num.expected_cramer_squared(*args), cram, rtol=1e-12,
                                   atol=1e-300)


@pytest.mark.parametrize("p0, x", CASES_P0)
def test_numeric_limits_equal_absorbed_law(p0, x):
    num = _numeric()
    pf, xf = _floats(p0, x)
    lim = dd.absorbed_limits(3)
    d1, d2 = sp.symbols("d1 d2", positive=True)
    subs = {sp.Symbol(f"p{i + 1}", positive=True): _rat(v) for i, v in enumerate(p0)}
    subs.update({sp.Symbol("x1", real=True): _rat(x[0]), d1: _rat(x[1] - x[0]),
                 d2: _rat(x[2] - x[1])})
    assert float(num.w1_limit(pf, xf)) == pytest.approx(float(lim["w1"].subs(subs)), rel=1e-13)
    assert float(num.total_variation_limit(pf)) == pytest.approx(
        float(lim["total_variation"].subs(subs)), rel=1e-13)
    assert float(num.w2_squared_limit(pf, xf)) == pytest.approx(
        float(lim["w2_squared"].subs(subs)), rel=1e-13)
    assert float(num.cramer_squared_limit(pf, xf)) == pytest.approx(
        float(lim["cramer_squared"].subs(subs)), rel=1e-13)


@pytest.mark.parametrize("p0, x", CASES_P0)
def test_numeric_w1_tv_w2_equal_full_chain(p0, x):
    """The exact finite-n methods of the numeric module equal the exact full chain."""
    num = _numeric()
    pf, xf = _floats(p0, x)
    for M in (1, 2, 3, 5):
        for g in (0, 1, 2, 4):
            w1 = float(expect(p0, M, g, lambda q: _w1(q, p0, x)))
            tv = float(expect(p0, M, g, lambda q: _tv(q, p0)))
            w2 = float(expect(p0, M, g, lambda q: _w2sq(q, p0, x)))
            assert float(num.expected_w1(g, pf, M, xf)) == pytest.approx(w1, rel=1e-12,
                                                                          abs=1e-15)
            assert float(num.expected_total_variation(g, pf, M)) == pytest.approx(
                tv, rel=1e-12, abs=1e-15)
            assert float(num.expected_w2_squared(g, pf, M, xf)) == pytest.approx(
                w2, rel=1e-12, abs=1e-15)
            lo, hi = num.w2_squared_bounds(g, pf, M, xf)
            assert float(lo) <= w2 * (1 + 1e-12) + 1e-15
            assert w2 <= float(hi) * (1 + 1e-12) + 1e-15


@st.composite
def _problems(draw):
    K = draw(st.integers(2, 6))
    w = np.array(draw(st.lists(st.floats(0.01, 10.0), min_size=K, max_size=K)))
    gaps = np.array(draw(st.lists(st.floats(0.05, 5.0), min_size=K - 1, max_size=K - 1)))
    x = np.concatenate([[draw(st.floats(-5.0, 5.0))], gaps]).cumsum()
    return w / w.sum(), x


@given(prob=_problems(), n_=st.integers(0, 10**5), M_=st.integers(1, 10**7))
def test_numeric_closed_forms_equal_symbolic_at_random_points(prob, n_, M_):
    num = _numeric()
    p, x = prob
    m = float(np.sum(p * x))
    mu2_, mu4_ = float(np.sum(p * (x - m) ** 2)), float(np.sum(p * (x - m) ** 4))
    assert float(num.expected_mean_drift(n_, p, M_, x)) == pytest.approx(
        float(dd.lambdified("expected_mean_drift")(n_, mu2_, M_)), rel=1e-12, abs=1e-300)
    assert float(num.expected_support_variance(n_, p, M_, x)) == pytest.approx(
        float(dd.lambdified("expected_support_variance")(n_, mu2_, M_)), rel=1e-12, abs=1e-300)
    assert float(num.support_variance_variance(n_, p, M_, x)) == pytest.approx(
        float(dd.lambdified("support_variance_variance")(n_, mu2_, mu4_, M_)), rel=1e-11,
        abs=1e-12 * mu2_**2)
    F = np.cumsum(p)[:-1]
    cram = float(np.sum(np.diff(x) * dd.lambdified("cdf_sq_deviation")(n_, F, M_)))
    assert float(num.expected_cramer_squared(n_, p, M_, x)) == pytest.approx(cram, rel=1e-12,
                                                                           abs=1e-300)
