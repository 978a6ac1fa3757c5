"""Checks every step of proofs/poisson_refit.md with sympy.

Run ``python -m modelcollapse.proofs.check_poisson_refit``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. Each check takes the formula it verifies as an optional argument so that tests can feed it
a wrong one and see it fail. The formulas themselves are derived in
:mod:`modelcollapse.theory.symbolic.poisson`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import sympy as sp

from modelcollapse.proofs import (
    StepFailure,
    assert_equal,
    assert_positive_at,
    assert_true,
    assert_zero,
    run_steps,
)
from modelcollapse.theory.symbolic import poisson as spo

s, c, g, n, t, M, lam0 = spo.s, spo.c, spo.g, spo.n, spo.t, spo.M, spo.lam0
x = sp.Symbol("x", positive=True)
r = sp.Symbol("r", positive=True)
Sv = sp.Symbol("S", positive=True, integer=True)
j = sp.Symbol("j", integer=True, nonnegative=True)


class ProofCheckError(StepFailure):
    """A step of the proof did not check out."""


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise ProofCheckError(msg)


def _f_iter(k: int, arg: sp.Expr) -> sp.Expr:
    """``f_k(arg)`` with ``f(s) = exp(s - 1)`` composed ``k`` times (written out here)."""
    out = arg
    for _ in range(k):
        out = sp.exp(out - 1)
    return out


def step1_galton_watson(pgf: sp.Expr | None = None) -> None:
    """Poisson pgf by summation; sums of Poissons; Poisson(S) = S offspring; mean 1, variance 1."""
    G = spo.poisson_pgf(r) if pgf is None else pgf
    assert_equal(G, sp.exp(r * (s - 1)), "pgf of Poisson(r)")
    # M real samples from Poisson(lam0) sum to Poisson(M lam0)
    assert_zero(sp.powsimp(G.subs(r, lam0) ** M, force=True) - G.subs(r, M * lam0), "sum of M")
    # Poisson(S) is the sum of S Poisson(1) offspring
    f = G.subs(r, 1)
    assert_zero(sp.powsimp(f**Sv, force=True) - G.subs(r, Sv), "Poisson(S) = S offspring")
    assert_true(spo.conditional_moments()["gw_step"].equals(1), "gw step")
    mom = spo.offspring_moments()
    _require(mom["mean"] == 1, f"offspring mean {mom['mean']} != 1 (not critical)")
    _require(mom["variance"] == 1, f"offspring variance {mom['variance']} != 1")
    assert_equal(sp.diff(f, s).subs(s, 1), 1, "f'(1) from the supplied pgf")


def step2_pgf(pgf_of: Callable[[int], sp.Expr] | None = None) -> None:
    """G_t(s) = exp(c (f_{t-1}(s) - 1)); kernel sums agree with the Taylor coefficients of G_2."""
    pgf = spo.pgf_expr if pgf_of is None else pgf_of
    for tv in range(1, 5):
        assert_zero(pgf(tv) - sp.exp(c * (_f_iter(tv - 1, s) - 1)), f"G_{tv}")
    coeffs = spo.count_pmf_exprs(2, 2)
    G2 = pgf(2)
    for k in range(3):
        kernel = sp.summation(
            sp.exp(-c) * c**j / sp.factorial(j) * sp.exp(-j) * j**k / sp.factorial(k),
            (j, 0, sp.oo),
        )
        taylor = sp.diff(G2, s, k).subs(s, 0) / sp.factorial(k)
        assert_equal(kernel, coeffs[k], f"P(S_2 = {k}): kernel sum vs power series")
        assert_equal(taylor, coeffs[k], f"P(S_2 = {k}): derivative of G_2")


def step3_mean(solution: sp.Expr | None = None) -> None:
    """E S_t = c (rsolve) and E Lam_n = lam0; G_t'(1) = c for t <= 4."""
    rec = spo.moment_recursions()["mean"].rhs
    assert_equal(rec, sp.Symbol("m_t"), "m_{t+1} = m_t")
    sol = spo.solutions()["expected_count"] if solution is None else solution
    for tv in range(1, 5):
        assert_equal(sp.diff(spo.pgf_expr(tv), s).subs(s, 1), sol.subs(t, tv), f"G_{tv}'(1)")
    assert_equal(spo.solutions()["expected_rate"], lam0, "E Lam_n")


def step4_variance(solution: sp.Expr | None = None) -> None:
    """Var S_t = c t (rsolve; second derivative of G_t) and Var Lam_n = n lam0 / M."""
    rec = spo.moment_recursions()["variance"].rhs
    assert_equal(rec, sp.Symbol("m_t") + sp.Symbol("v_t"), "v_{t+1} = m_t + v_t")
    sol = spo.solutions()["count_variance"] if solution is None else solution
    for tv in range(1, 5):
        G = spo.pgf_expr(tv)
        d1 = sp.diff(G, s).subs(s, 1)
        d2 = sp.diff(G, s, 2).subs(s, 1)
        assert_equal(d2 + d1 - d1**2, sol.subs(t, tv), f"Var S_{tv} from G_{tv}")
    assert_equal(spo.solutions()["rate_variance"], n * lam0 / M, "Var Lam_n")
    assert_equal((sol / M**2).subs(c, M * lam0).subs(t, n), n * lam0 / M, "scaling to Lam")


def step5_extinction(recursion: sp.Expr | None = None) -> None:
    """G_t(0) = exp(-c g_t), g_1 = 1, g_{t+1} = 1 - exp(-g_t); 0 is absorbing."""
    rhs = spo.extinction_recursion().rhs if recursion is None else recursion
    assert_equal(rhs, 1 - sp.exp(-g), "one-step map of g")
    gv: sp.Expr = sp.Integer(1)  # g_1 = 1 - f_0(0)
    assert_equal(1 - _f_iter(0, sp.Integer(0)), gv, "g_1")
    for tv in range(1, 6):
        assert_zero(spo.pgf_expr(tv).subs(s, 0) - sp.exp(-c * gv), f"G_{tv}(0)")
        gv = rhs.subs(g, gv)
    assert_equal(spo.poisson_pgf(sp.Integer(0)), 1, "Poisson(0) is the point mass at 0")


def _phi(y: sp.Expr) -> sp.Expr:
    return 1 - (1 + y) * sp.exp(-y)


def _psi(y: sp.Expr) -> sp.Expr:
    return (y + 2) * sp.exp(-y) + y - 2


def step6_bounds(lower: Callable[[int], sp.Expr] | None = None,
                 upper: Callable[[int], sp.Expr] | None = None) -> None:
    """1/t <= g_t <= 2/(t+1) via phi, psi >= 0; g decreasing; exact check for t <= 60."""
    lo = (lambda tv: sp.Rational(1, tv)) if lower is None else lower
    hi = (lambda tv: sp.Rational(2, tv + 1)) if upper is None else upper
    phi, psi = _phi(x), _psi(x)
    assert_zero(phi.subs(x, 0), "phi(0)")
    assert_zero(psi.subs(x, 0), "psi(0)")
    assert_equal(sp.diff(phi, x), x * sp.exp(-x), "phi'")
    assert_equal(sp.diff(psi, x), phi, "psi' = phi")
    step = spo.extinction_recursion().rhs.subs(g, x)
    d = 1 / step - 1 / x
    assert_equal(1 - d, phi / (x * step), "1 - d = phi / (x (1 - e^-x))")
    assert_equal(d - sp.Rational(1, 2), psi / (2 * x * step), "d - 1/2 = psi / (2x (1 - e^-x))")
    dec = x - step
    assert_zero(dec.subs(x, 0), "x - g(x) at 0")
    assert_equal(sp.diff(dec, x), 1 - sp.exp(-x), "(x - g(x))'")
    gv = sp.Integer(1)
    for tv in range(1, 61):
        assert_positive_at(gv - lo(tv) + sp.Rational(1, 10**30), [{}], f"g_{tv} >= lower")
        assert_positive_at(hi(tv) - gv + sp.Rational(1, 10**30), [{}], f"g_{tv} <= upper")
        gv = sp.N(step.subs(x, gv), 50)


def step7_collapse(extinction: sp.Expr | None = None) -> None:
    """exp(-2c/(t+1)) -> 1 and P(Lam_t = 0) increases with t: collapse almost surely."""
    ext = sp.exp(-2 * c / (t + 1)) if extinction is None else extinction
    assert_equal(sp.limit(ext, t, sp.oo), 1, "lower bound on P(T <= t) tends to 1")
    # the exact extinction probability increases (g decreases, Step 6): at t = 1..5
    vals = [spo.extinction_probability_expr(tv).subs({M: 10, lam0: sp.Rational(1, 5)})
            for tv in range(1, 6)]
    for a, b in zip(vals, vals[1:], strict=False):
        assert_positive_at(b - a, [{}], "P(Lam_t = 0) increases")
    # and dominates the bound of Step 6 (c = 2 here)
    for tv, v in enumerate(vals, start=1):
        assert_positive_at(v - ext.subs({c: 2, t: tv}) + sp.Rational(1, 10**30), [{}], "bound")


def step8_infinite_mean(term: sp.Expr | None = None) -> None:
    """1 - e^{-y} >= y/(1+y) = phi(y)/(1+y) >= 0 and sum_t c/(t + c) = infinity."""
    y = x
    assert_equal(1 - sp.exp(-y) - y / (1 + y), _phi(y) / (1 + y), "1 - e^-y - y/(1+y)")
    tt = sp.Symbol("tt", positive=True, integer=True)
    lower_term = (c / tt) / (1 + c / tt) if term is None else term
    assert_equal(lower_term, c / (tt + c), "(c/t) / (1 + c/t)")
    total = sp.summation(lower_term.subs(c, 3), (tt, 1, sp.oo))
    _require(total is sp.oo, f"sum of the lower bound is {total}, not infinity")


def step9_kolmogorov(asymptotic: sp.Expr | None = None) -> None:
    """d(x) = 1/2 + x/12 + ...; g_t ~ 2/t; P(Lam_t > 0) ~ 2 M lam0 / t."""
    ser = spo.g_increment_series(4).removeO()
    assert_equal(ser, sp.Rational(1, 2) + g / 12 - g**3 / 720, "series of the increment")
    _require(spo.offspring_moments()["factorial2"] / 2 == sp.Rational(1, 2), "f''(1)/2")
    asym = spo.survival_asymptotic_expr() if asymptotic is None else asymptotic
    assert_equal(asym, 2 * M * lam0 / n, "Kolmogorov's estimate")
    # survival / estimate -> 1 with g_t = 2/t: the limit of (1 - exp(-2c/t)) / (2c/t)
    ratio = (1 - sp.exp(-2 * c / t)) / asym.subs({M * lam0: c, n: t}).subs(lam0, c / M)
    assert_equal(sp.limit(sp.simplify(ratio), t, sp.oo), 1, "ratio exact / asymptotic")
    # t g_t at t = 2000 (50-digit iteration of the map): within 2 ln(t)/t of 2
    step = spo.extinction_recursion().rhs
    gv = sp.Float(1, 50)
    T = 2000
    for _ in range(T - 1):
        gv = sp.N(step.subs(g, gv), 50)
    tg = T * gv
    _require(abs(tg - 2) < 2 * sp.log(T) / T, f"t g_t = {tg} at t = {T}")
    asym_val = asym.subs({M: 1, lam0: sp.Rational(1, 2), n: T})
    exact_val = 1 - sp.exp(-gv / 2)
    _require(abs(exact_val / asym_val - 1) < 2 * sp.log(T) / T + sp.Rational(1, T),
             f"exact / asymptotic = {sp.N(exact_val / asym_val)} at t = {T}")


STEPS: list[tuple[int, str, Callable[[], None]]] = [
    (1, "the refit is a critical Galton-Watson process", step1_galton_watson),
    (2, "the pgf of S_t", step2_pgf),
    (3, "the mean is conserved", step3_mean),
    (4, "the variance grows linearly", step4_variance),
    (5, "the extinction probability", step5_extinction),
    (6, "bounds on g_t", step6_bounds),
    (7, "collapse is certain", step7_collapse),
    (8, "the expected extinction time is infinite", step8_infinite_mean),
    (9, "Kolmogorov's rate", step9_kolmogorov),
]


def main() -> int:
    failures = run_steps((str(k), title, fn) for k, title, fn in STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
