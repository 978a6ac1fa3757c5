"""Checks every step of proofs/regression.md with sympy.

Run ``python -m modelcollapse.proofs.check_regression``: prints one line ``Step k: title ...
ok`` per labelled step of the Markdown proof (``... FAILED: reason`` otherwise) through
:func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step fails. Each check
takes the formula it verifies as an optional argument, so that tests can feed it a wrong one and
see it fail. The formulas are derived in :mod:`modelcollapse.theory.symbolic.regression`.
"""

from __future__ import annotations

import sys

import mpmath
import sympy as sp

from modelcollapse.proofs import (
    StepFailure,
    assert_equal,
    assert_positive_at,
    assert_true,
    run_steps,
)
from modelcollapse.theory.symbolic import regression as srg

T, d, s, kappa, n, g, m = srg.T, srg.d, srg.noise2, srg.kappa, srg.n, srg.g, srg.m
c, w, n_real, r = srg.c, srg.w, srg.n_real, srg.r
mu, lam, b0 = srg.mu, srg.lam, srg.b0


def _sym2(name: str) -> sp.Matrix:
    a, b, e = sp.symbols(f"{name}11 {name}12 {name}22", real=True)
    return sp.Matrix([[a, b], [b, e]])


def step1_one_step(cov: sp.Matrix | None = None) -> None:
    """K X^T (s I) X K = s K for a symbolic 3 x 2 design; beta_n - beta_{n-1} = K X^T eps."""
    diff = srg.one_step_covariance() if cov is None else cov
    assert_true(diff == sp.zeros(2, 2), "Cov(e | X)/s - K = 0")
    X = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"x{i}{j}", real=True))
    bp = sp.Matrix(sp.symbols("p0 p1", real=True))
    ep = sp.Matrix(sp.symbols("e0 e1 e2", real=True))
    K = (X.T * X).inv()
    refit = K * X.T * (X * bp + ep)
    assert_true(sp.simplify(refit - bp - K * X.T * ep) == sp.zeros(2, 1),
                "beta_n = beta_{n-1} + K X^T eps")


def step2_inverse_wishart(trace: sp.Expr | None = None) -> None:
    """E 1/chi2_m = 1/(m-2), E 1/chi2_m^2 = 1/((m-2)(m-4)); E tr K = d/(T-d-1)."""
    e1, e2 = srg.inverse_chi2_moments()
    assert_equal(e1, 1 / (m - 2), "E 1/chi2_m")
    assert_equal(e2, 1 / ((m - 2) * (m - 4)), "E 1/chi2_m^2")
    # a numeric cross-check of the integral at m = 7 (mpmath quadrature)
    val = mpmath.quad(lambda y: y ** (7 / 2 - 1) * mpmath.e ** (-y / 2) / y
                      / (2 ** (7 / 2) * mpmath.gamma(7 / 2)), [0, mpmath.inf])
    assert_true(abs(val - mpmath.mpf(1) / 5) < 1e-12, "E 1/chi2_7 = 1/5 by quadrature")
    k = srg.inverse_wishart_trace() if trace is None else trace
    assert_equal(k, d / (T - d - 1), "E tr K")
    assert_equal(k.subs(d, 1), e1.subs(m, T), "d = 1: E 1/chi2_T")


def step3_replace(formula: sp.Expr | None = None) -> None:
    """E_n = E_{n-1} + s kappa, E_0 = 0: E_n = n s kappa."""
    sol = srg.replace_expr() if formula is None else formula
    assert_equal(sol.subs(n, 0), 0, "E_0 = 0")
    assert_equal(sol.subs(n, n + 1) - sol, s * kappa, "the recursion")
    assert_equal(sol.subs(kappa, srg.inverse_wishart_trace()), n * s * d / (T - d - 1),
                 "Statement 1")


def step4_accumulate_fixed(formula: sp.Expr | None = None) -> None:
    """n delta_n = sum_g (delta_{g-1} + e_g) implies delta_n = delta_{n-1} + e_n/n;
    E_n = s kappa H2(n) -> s kappa pi^2/6."""
    e = sp.symbols("e1:7", real=True)
    delta = [sp.Integer(0)]
    for k in range(1, 6):  # the stacked fit: the mean of beta_{g-1} + e_g over g <= k
        delta.append(sp.together(sum(delta[g_ - 1] + e[g_ - 1] for g_ in range(1, k + 1)) / k))
    for k in range(1, 6):
        assert_equal(delta[k], delta[k - 1] + e[k - 1] / k, f"delta_{k} = delta_{k-1} + e_{k}/{k}")
    sol = srg.accumulate_fixed_expr() if formula is None else formula
    for k in range(0, 6):
        assert_equal(sol.subs(n, k), s * kappa * sum(sp.Rational(1, j**2) for j in range(1, k + 1)),
                     f"E_{k}")
    assert_equal(sp.limit(sol, n, sp.oo), s * kappa * sp.pi**2 / 6, "limit pi^2/6")
    assert_equal(srg.accumulate_limits()[0], s * kappa * sp.pi**2 / 6, "derived limit")


def step5_accumulate_fresh(term: sp.Expr | None = None) -> None:
    """A_n delta_n = A_n delta_{n-1} + xi_n; increment s d/(g (g T - d - 1)); comparison;
    partial fractions and the digamma limit."""
    # the pooled normal equations, d = 2, two generations, symbolic Gram blocks
    B1, B2 = _sym2("u"), _sym2("v")
    d1 = sp.Matrix(sp.symbols("q0 q1", real=True))
    xi = sp.Matrix(sp.symbols("z0 z1", real=True))
    # A_2 delta_2 = B_1 delta_0 + B_2 delta_1 + xi_1 + xi_2 and A_1 delta_1 = xi_1 (delta_0 = 0)
    xi1 = B1 * d1
    delta2 = (B1 + B2).inv() * (B2 * d1 + xi1 + xi)
    assert_true(sp.simplify(delta2 - d1 - (B1 + B2).inv() * xi) == sp.zeros(2, 1),
                "delta_2 = delta_1 + A_2^{-1} xi_2")
    inc = srg.accumulate_fresh_term() if term is None else term
    assert_equal(inc, s * d / (g * (g * T - d - 1)), "the increment")
    assert_equal((g * T - d - 1) - g * (T - d - 1), (g - 1) * (d + 1), "gT-d-1 - g(T-d-1)")
    assert_equal(inc.subs(g, 1), s * srg.inverse_wishart_trace(), "n = 1: the real fit")
    lim = srg.accumulate_limits()[1]
    for Tv, dv in ((3, 1), (10, 2), (50, 7)):
        exact = dv * mpmath.nsum(lambda gg, Tv=Tv, dv=dv: 1 / (gg * (gg * Tv - dv - 1)),
                                 [1, mpmath.inf])
        got = lim.subs({T: Tv, d: dv, s: 1})
        assert_true(abs(sp.N(got, 30) - sp.Float(exact, 30)) < 1e-12,
                    f"the digamma limit at T={Tv}, d={dv}")
        partial = sum(inc.subs({g: k, T: Tv, d: dv, s: 1}) for k in range(1, 200))
        assert_true(sp.N(partial) < sp.N(got), "partial sums below the limit")


def step6_mix(formula: sp.Expr | None = None) -> None:
    """delta_n = P delta_{n-1} + e_n with P = K A_s = I - K A_r; E_n = s kappa (1-c^n)/(1-c)."""
    Ar, As = _sym2("a"), _sym2("b")
    bprev = sp.Matrix(sp.symbols("p0 p1", real=True))
    beta0 = sp.Matrix(sp.symbols("t0 t1", real=True))
    K = (Ar + As).inv()
    fit = K * (Ar * beta0 + As * bprev)
    assert_true(sp.simplify(fit - beta0 - K * As * (bprev - beta0)) == sp.zeros(2, 1),
                "delta_n = P delta_{n-1} (noise aside)")
    assert_true(sp.simplify(K * As - (sp.eye(2) - K * Ar)) == sp.zeros(2, 2), "P = I - K A_r")
    sol = srg.mix_expr() if formula is None else formula
    assert_equal(sol.subs(n, 0), 0, "E_0 = 0")
    assert_equal(sol.subs(n, n + 1) - c * sol, s * kappa, "the recursion")
    assert_equal(sp.limit(sol, c, 1), n * s * kappa, "c = 1: replace")


def step7_mix_contraction(formula: sp.Expr | None = None) -> None:
    """c at r = 0, r = T, d = 1 with r = T - 1, 13/27 at (T, d, r) = (10, 3, 4), large T."""
    cc = srg.mix_contraction_expr() if formula is None else formula
    assert_equal(cc.subs(r, 0), 1, "r = 0")
    assert_equal(cc.subs(r, T), 0, "r = T")
    assert_equal(cc.subs({d: 1, r: T - 1}), 3 / (T * (T + 2)), "d = 1, r = T - 1: E Beta^2")
    f = sp.Symbol("f", positive=True)
    assert_equal(sp.limit(cc.subs(r, f * T), T, sp.oo), (1 - f) ** 2, "large T: (1 - r/T)^2")
    assert_equal(cc.subs({T: 10, d: 3, r: 4}), sp.Rational(13, 27), "T = 10, d = 3, r = 4")
    # E ||u||^4 for u ~ Beta(d/2, (T-d)/2) against d (d+2)/(T (T+2)) at d = 2 by integration
    u = sp.Symbol("u", positive=True)
    Tv = 7
    dens = (1 - u) ** sp.Rational(Tv - 2, 2) / (1 - u) / sp.beta(1, sp.Rational(Tv - 2, 2))
    assert_equal(sp.integrate(u**2 * dens, (u, 0, 1)), sp.Rational(2 * 4, Tv * (Tv + 2)),
                 "E rho^4 at d = 2, T = 7")


def step8_weighted(formula: sp.Expr | None = None) -> None:
    """E_n = w^2 s d/(n_r-d-1) + (1-w)^2 (E_{n-1} + s kappa)."""
    sol = srg.weighted_expr() if formula is None else formula
    real = w**2 * s * d / (n_real - d - 1)
    assert_equal(sol.subs({w: 1, n: 4}), s * d / (n_real - d - 1), "w = 1: the real error")
    assert_equal(sol.subs(n, 0), 0, "E_0 = 0")
    assert_equal(sol.subs(n, n + 1) - real - (1 - w) ** 2 * (sol + s * kappa), 0,
                 "the recursion")


def step9_variance(formulas: dict | None = None) -> None:
    """Var z^T z = 2 tr S^2; inverse Wishart second moments (d = 1 vs chi2); fixed >= fresh."""
    assert_true(srg.quadratic_form_variance() == 0, "Isserlis: Var z^T z = 2 tr S^2")
    etr2, vtr = srg.inverse_wishart_second_moments()
    e1, e2 = srg.inverse_chi2_moments()
    assert_equal(etr2.subs(d, 1), e2.subs(m, T), "d = 1: E K^2 = E 1/chi2_T^2")
    assert_equal(vtr.subs(d, 1), e2.subs(m, T) - e1.subs(m, T) ** 2, "d = 1: Var K")
    v = srg.variance_exprs() if formulas is None else formulas
    q = 2 * etr2 + vtr
    # d = 1 replace fixed by hand: n^2 s^2 (3 E K^2 - (E K)^2)
    assert_equal(v["replace_fixed"].subs(d, 1),
                 n**2 * s**2 * (3 * e2.subs(m, T) - e1.subs(m, T) ** 2), "d = 1, fixed")
    assert_equal(v["replace_fixed"] - v["replace_fresh"],
                 n * (n - 1) * s**2 * (q - 2 * d / (T - d - 1) ** 2), "fixed - fresh")
    gap = sp.factor(etr2 - d / (T - d - 1) ** 2)
    pts = [{T: tv, d: dv} for dv in (1, 2, 5, 20) for tv in (dv + 4, dv + 7, 10 * dv + 50)]
    assert_positive_at(gap, pts)  # E tr K^2 > d/(T-d-1)^2 (Jensen; checked at points)
    assert_equal(v["accumulate_fixed"].subs(n, 1), v["replace_fixed"].subs(n, 1),
                 "accumulate = replace at n = 1")


def step10_ridge(formula: sp.Expr | None = None) -> None:
    """b_n = f b_{n-1} + xi/(mu + lambda): the error is (1-f^n)^2 b^2 +
    s mu (1-f^{2n})/((1-f^2)(mu+lambda)^2)."""
    e = srg.ridge_coordinate_expr() if formula is None else formula
    f = mu / (mu + lam)
    want = (1 - f**n) ** 2 * b0**2 + s * mu * (1 - f ** (2 * n)) / ((1 - f**2) * (mu + lam) ** 2)
    for k in range(0, 4):
        assert_equal(e.subs(n, k), want.subs(n, k), f"n = {k}")
    assert_equal(sp.limit(e.subs(n, 3), lam, 0), 3 * s / mu, "lambda -> 0: OLS")


def step11_mix_fixed(trace_p2: sp.Expr | None = None) -> None:
    """X = Q L^T: P^j K P^{jT} = L^{-T} U^{2j} L^{-1}, U = L^{-1} A_s L^{-T}; E tr P^2 from
    the projection moments; d = 1 Beta moments; fresh >= fixed at n = 2 (at points)."""
    hii2, hij2 = srg.projection_moments()
    assert_equal(hii2, d * (d + 2) / (T * (T + 2)), "E h_ii^2 (Beta leverage)")
    assert_equal(hii2 + (T - 1) * hij2, d / T, "sum_j h_ij^2 = h_ii")
    tp2 = srg.mix_fixed_trace_p2_expr() if trace_p2 is None else trace_p2
    assert_equal(tp2, d - 2 * r * d / T + r * hii2 + r * (r - 1) * hij2, "E tr P^2")
    assert_equal(tp2.subs(r, 0), d, "r = 0: P = I")
    assert_equal(tp2.subs(r, T), 0, "r = T: P = 0")
    # d = 1: tr P^2 = P^2 = U^2, U ~ Beta((T-r)/2, r/2): E U^2 = a (a+1)/((a+b)(a+b+1))
    a, b = (T - r) / 2, r / 2
    assert_equal(tp2.subs(d, 1), a * (a + 1) / ((a + b) * (a + b + 1)), "d = 1: E Beta^2")
    L = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"l{i}{j}", positive=True) if i >= j else 0)
    As = _sym2("b")
    K = (L * L.T).inv()
    P = K * As
    U = L.inv() * As * L.inv().T
    for j in (1, 2):
        lhs = P**j * K * (P**j).T
        rhs = L.inv().T * U ** (2 * j) * L.inv()
        assert_true(sp.simplify(lhs - rhs) == sp.zeros(2, 2), f"P^{j} K P^{j}T = L^-T U^{2*j} L^-1")
    assert_equal(sp.simplify((U**2).trace() - (P**2).trace()), 0, "tr U^2 = tr P^2 (similar)")
    e2, en = srg.mix_fixed_expr()
    assert_equal(sp.simplify(en.subs(n, 2).doit() - e2.subs(d, 1)), 0, "the two forms, d = 1")
    # d = 1 limit: sum_j U^{2j} = 1/(1 - U^2) = (1/(1-U) + 1/(1+U))/2 and, for b > 1,
    # E 1/(1-U) = (a+b-1)/(b-1) (a Beta integral; checked at a = 3/2, b = 5/2)
    u = sp.Symbol("u", positive=True)
    assert_equal(1 / (1 - u**2), (1 / (1 - u) + 1 / (1 + u)) / 2, "partial fractions")
    av, bv = sp.Rational(3, 2), sp.Rational(5, 2)
    dens = u ** (av - 1) * (1 - u) ** (bv - 1) / sp.beta(av, bv)
    assert_equal(sp.integrate(dens / (1 - u), (u, 0, 1)), (av + bv - 1) / (bv - 1),
                 "E 1/(1-U)")
    # fresh E_2 >= fixed E_2: c >= E tr P^2/d (tr P^T P >= tr P^2), checked at points
    gap = srg.mix_contraction_expr() - tp2 / d
    pts = [{T: tv, d: dv, r: rv} for dv in (1, 2, 5) for tv in (dv + 2, dv + 9, 4 * dv + 30)
           for rv in (1, dv, tv - 1)]
    assert_positive_at(gap + sp.Rational(1, 10**30), pts)
    assert_true(all(sp.simplify(gap.subs(p_)) >= 0 for p_ in pts), "c >= E tr P^2/d")


STEPS = [
    ("1", "one refit adds an independent noise term", step1_one_step),
    ("2", "the mean of the inverse Wishart trace", step2_inverse_wishart),
    ("3", "replace", step3_replace),
    ("4", "accumulate with the fixed design", step4_accumulate_fixed),
    ("5", "accumulate with the fresh design", step5_accumulate_fresh),
    ("6", "mix", step6_mix),
    ("7", "the mix contraction", step7_mix_contraction),
    ("8", "weighted", step8_weighted),
    ("9", "the variance of one chain's test error", step9_variance),
    ("10", "ridge", step10_ridge),
    ("11", "mix with the fixed design, in expectation", step11_mix_fixed),
]


def main() -> int:
    """Run every step; return the process exit status (0 if all pass)."""
    return min(run_steps(STEPS), 1)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["STEPS", "StepFailure", "main"]
