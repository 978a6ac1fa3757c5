"""The sympy derivations of the Poisson refit agree with modelcollapse.theory.poisson, and the
proof checker of proofs/poisson_refit.md accepts the right formulas and rejects wrong ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from modelcollapse.proofs import STEP_OK, proof_steps
from modelcollapse.proofs import check_poisson_refit as cpr
from modelcollapse.theory import poisson as po
from modelcollapse.theory.branching import poisson_refit_g
from modelcollapse.theory.symbolic import poisson as spo

NLM_NAMES = [name for name, args in spo.ARGUMENTS.items() if args == ("n", "lam0", "M")]
gens = st.integers(0, 400)
rates = st.floats(1e-3, 10.0)
sizes = st.integers(1, 500)


@given(n=gens, lam0=rates, M=sizes)
def test_numeric_equals_symbolic(n, lam0, M):
    for name in NLM_NAMES:
        if name == "survival_asymptotic" and n == 0:
            continue
        sym = spo.lambdified(name)(n, lam0, M)
        num = getattr(po, name)(n, lam0, M)
        if name == "conditional_rate_variance":
            # the symbolic form n lam0/(M s) - lam0^2 e/s^2 cancels when n = 1 and M lam0 is
            # small; compare against the size of its terms
            s = float(po.survival_probability(n, lam0, M))
            scale = n * lam0 / (M * s) + lam0**2 / s**2 if n else 1.0
            assert sym == pytest.approx(num, abs=1e-13 * scale, rel=1e-12)
        elif name == "log_extinction_probability" and n == 0:
            assert sym == num == -np.inf
        else:
            assert sym == pytest.approx(num, rel=1e-12, abs=1e-300), name


@given(lam0=st.floats(1e-3, 3.0), M=st.integers(1, 20), q=st.floats(0.01, 0.99))
def test_extinction_time_quantiles(lam0, M, q):
    assert spo.lambdified("extinction_time_quantile")(lam0, M, q) == (
        po.extinction_time_quantile(lam0, M, q))
    assert spo.lambdified("median_extinction_time")(lam0, M) == po.median_extinction_time(lam0, M)


@given(lam0=rates, Ms=st.lists(st.integers(1, 1000), min_size=0, max_size=30))
def test_schedules(lam0, Ms):
    for name in ("rate_variance_schedule", "extinction_probability_schedule",
                 "survival_probability_schedule"):
        np.testing.assert_allclose(spo.lambdified(name)(lam0, Ms), getattr(po, name)(lam0, Ms),
                                   rtol=1e-12, atol=1e-300)


def test_capped_extinction_time():
    f = spo.lambdified("expected_capped_extinction_time")
    for n, lam0, M in [(0, 1.0, 1), (1, 0.2, 3), (50, 0.5, 10), (2000, 0.01, 100)]:
        assert f(n, lam0, M) == pytest.approx(po.expected_capped_extinction_time(n, lam0, M),
                                              rel=1e-12)


def test_broadcasting_and_validation_match_numeric():
    n = np.arange(5)[:, None]
    f = spo.lambdified("survival_probability")
    np.testing.assert_allclose(f(n, [0.1, 2.0], 7), po.survival_probability(n, [0.1, 2.0], 7),
                               rtol=1e-13)
    for args in [(1, 0.0, 3), (1, 1.0, 0), (-1, 1.0, 3), (1, float("nan"), 3), (True, 1.0, 3)]:
        with pytest.raises(ValueError) as sym_err:
            spo.lambdified("rate_variance")(*args)
        with pytest.raises(ValueError) as num_err:
            po.rate_variance(*args)
        assert str(sym_err.value) == str(num_err.value)
    with pytest.raises(ValueError, match="workflow"):
        spo.lambdified("rate_variance")(1, 1.0, 3, workflow="mix")
    with pytest.raises(ValueError, match="name must be one of"):
        spo.lambdified("nope")


def test_derived_forms():
    assert spo.poisson_pgf() == sp.exp(sp.Symbol("r", positive=True) * (spo.s - 1))
    assert spo.offspring_moments() == {"mean": 1, "factorial2": 1, "variance": 1}
    sol = spo.solutions()
    assert sol["expected_count"] == spo.c
    assert sp.simplify(sol["count_variance"] - spo.c * spo.t) == 0
    assert sp.simplify(sol["rate_variance"] - spo.n * spo.lam0 / spo.M) == 0
    assert sp.simplify(spo.extinction_recursion().rhs - (1 - sp.exp(-spo.g))) == 0
    assert spo.log_extinction_expr() == -spo.c * spo.g
    bprev = spo.schedule_extinction_map().rhs
    m = sp.Symbol("m", positive=True)
    assert sp.simplify(bprev - m * (1 - sp.exp(-spo.b / m))) == 0
    assert spo.survival_asymptotic_expr() == 2 * spo.M * spo.lam0 / spo.n
    with pytest.raises(ValueError):
        spo.pgf_expr(0)


@pytest.mark.parametrize("t", [1, 2, 3, 5])
def test_g_and_pgf_match_numeric(t):
    g_exact = sp.N(spo.g_expr(t), 40)
    assert float(g_exact) == pytest.approx(float(poisson_refit_g(t)), rel=1e-15)
    ext = spo.extinction_probability_expr(t).subs({spo.M: 4, spo.lam0: sp.Rational(3, 4)})
    assert float(sp.N(ext, 40)) == pytest.approx(float(po.extinction_probability(t, 0.75, 4)),
                                                 rel=1e-14)


@pytest.mark.parametrize(("t", "c"), [(1, sp.Rational(1, 2)), (2, sp.Integer(2)),
                                      (3, sp.Rational(3, 2))])
def test_count_pmf_exprs_match_fft(t, c):
    kmax = 6
    exact = [float(sp.N(e, 30)) for e in spo.count_pmf_exprs(t, kmax, c)]
    pmf = po.count_distribution(t, float(c), 1)
    np.testing.assert_allclose(pmf[: kmax + 1], exact, rtol=1e-12)


def test_proof_checker_passes(capsys):
    assert cpr.main() == 0
    out = capsys.readouterr().out
    reported = set(STEP_OK.findall(out))
    assert reported == set(proof_steps("poisson_refit")) == {str(k) for k, _, _ in cpr.STEPS}


r_, c_, s_, t_, M_, lam_ = (sp.Symbol("r", positive=True), spo.c, spo.s, spo.t, spo.M, spo.lam0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: cpr.step1_galton_watson(sp.exp(2 * r_ * (s_ - 1))),
        lambda: cpr.step2_pgf(lambda k: sp.exp(c_ * (cpr._f_iter(k, s_) - 1))),
        lambda: cpr.step3_mean(c_ * t_),
        lambda: cpr.step4_variance(c_ * (t_ + 1)),
        lambda: cpr.step5_extinction(1 - sp.exp(-2 * spo.g)),
        lambda: cpr.step6_bounds(lower=lambda k: sp.Rational(3, 2 * k)),
        lambda: cpr.step6_bounds(upper=lambda k: sp.Rational(1, k + 1)),
        lambda: cpr.step7_collapse(sp.exp(-2 * c_)),
        lambda: cpr.step8_infinite_mean(c_ / (sp.Symbol("tt", positive=True, integer=True) ** 2
                                              + c_)),
        lambda: cpr.step9_kolmogorov(M_ * lam_ / spo.n),
    ],
)
def test_proof_checker_rejects_wrong_formulas(call):
    with pytest.raises(cpr.StepFailure):
        call()


def test_asymptotic_derivation_is_not_circular():
    """The coefficient 1/2 of the increment series is f''(1)/2 from the offspring pgf."""
    ser = spo.g_increment_series(3).removeO()
    assert ser.subs(spo.g, 0) == spo.offspring_moments()["factorial2"] / 2
    assert math.isclose(float(ser.coeff(spo.g, 1)), 1 / 12)
