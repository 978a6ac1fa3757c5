"""Checks every step of proofs/multivariate_gaussian.md with sympy.

Run ``python -m modelcollapse.proofs.check_multivariate_gaussian``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. Each check takes the formula it verifies as an optional argument so that tests can feed it
a wrong one and see it fail. The formulas are derived in
:mod:`modelcollapse.theory.symbolic.multivariate`.
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
from modelcollapse.theory.symbolic import multivariate as smv

M, m, s, t, k, ddof = smv.M, smv.m, smv.s, smv.t, smv.k, smv.ddof
tr0, det0, r = smv.tr0, smv.det0, smv.r
c = sp.Symbol("c", positive=True)


def _lower(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}{i}{j}") if i >= j else 0)


def step1_triangular_products(d: int = 3) -> None:
    """Products of lower-triangular matrices: lower triangular, diagonal = product of diagonals."""
    A, B, C = _lower("a", d), _lower("b", d), _lower("c", d)
    P = (A * B * C).applyfunc(sp.expand)
    for i in range(d):
        for j in range(i + 1, d):
            assert_true(P[i, j] == 0, f"entry ({i},{j}) above the diagonal is 0")
        assert_true(sp.expand(P[i, i] - A[i, i] * B[i, i] * C[i, i]) == 0, f"diagonal entry {i}")
    # det of a triangular matrix is the product of its diagonal (cofactor expansion, 2 x 2 and
    # 3 x 3 written out), so det(L L^T) = prod_k L[k,k]^2
    assert_true(sp.expand(P.det(method="berkowitz") - sp.prod(P.diagonal())) == 0,
                "det of the product = product of the diagonal")
    # the Bartlett degrees of freedom nu - k + 1 with nu = M - 1 are M - k
    nu = M - 1
    for kk in range(1, d + 1):
        assert_equal(nu - kk + 1, M - kk, f"dof of B[{kk},{kk}]^2")


def step2_chi2_moments(moment: sp.Expr | None = None) -> None:
    """E X^s = 2^s Gamma(m/2+s)/Gamma(m/2); E log X = log 2 + psi(m/2); Var log X = psi'(m/2)."""
    mom = smv.chi2_power_moment() if moment is None else moment
    assert_equal(mom, 2**s * sp.gamma(m / 2 + s) / sp.gamma(m / 2), "E X^s")
    assert_equal(sp.expand_func(mom.subs(s, 1)), m, "E X = m")
    assert_equal(sp.expand_func(mom.subs(s, 2)), m * (m + 2), "E X^2 = m (m + 2)")
    mean, var = smv.chi2_log_moments()
    cgf = sp.log(mom)
    assert_equal(sp.diff(cgf, s).subs(s, 0), sp.log(2) + sp.polygamma(0, m / 2), "E log X")
    assert_equal(sp.diff(cgf, s, 2).subs(s, 0), sp.polygamma(1, m / 2), "Var log X")
    assert_equal(mean, sp.log(2) + sp.polygamma(0, m / 2), "derived E log X")
    assert_equal(var, sp.polygamma(1, m / 2), "derived Var log X")


def step3_wishart_det(det2: sp.Expr | None = None) -> None:
    """E det W = prod_k (M - k): Bartlett for d = 1..4, and the outer-product route for d = 2."""
    for d in range(1, 5):
        assert_equal(smv.wishart_det_moment(d), sp.prod([M - j for j in range(1, d + 1)]),
                     f"E det W, d = {d}")
    route2 = smv.wishart_det_by_outer_products() if det2 is None else det2
    assert_equal(route2, smv.wishart_det_moment(2), "two routes agree for d = 2")


def step4_expected_det(formula: sp.Expr | None = None) -> None:
    """D_t = D_{t-1} prod_k (M-k)/c^d, D_0 = det0, solved by rsolve (d = 3)."""
    d = 3
    q = smv.wishart_det_moment(d) / c**d
    D = sp.Function("D")
    sol = sp.rsolve(D(t + 1) - q * D(t), D(t), {D(0): det0})
    target = det0 * q**t if formula is None else formula
    assert_equal(sp.powsimp(sol, force=True), sp.powsimp(target, force=True), "E det Sigma_t")
    # for ddof = 1 and d >= 2 the factor is < 1 (checked at exact points)
    f1 = q.subs(c, M - 1)
    assert_positive_at(1 - f1, [{M: 4}, {M: 10}, {M: 1000}], "factor < 1 for ddof = 1")


def step5_log_det(mean_formula: sp.Expr | None = None) -> None:
    """E log det and Var log det: sums of the log chi-square moments, times t."""
    d = 3
    mean, var = smv.log_determinant_exprs(d)
    target = sp.log(det0) + t * sum(sp.log(2) + sp.polygamma(0, (M - j) / 2) - sp.log(M - ddof)
                                    for j in range(1, d + 1))
    assert_equal(mean, target if mean_formula is None else mean_formula, "E log det Sigma_t")
    assert_equal(var, t * sum(sp.polygamma(1, (M - j) / 2) for j in range(1, d + 1)),
                 "Var log det Sigma_t")
    # additivity in t: the one-step increment of the mean is the sum of the exponents
    assert_equal(mean.subs(t, t + 1) - mean.subs(t, t),
                 sum(smv.lyapunov_exponent().subs(k, j) for j in range(1, d + 1)), "increment")
    # d = 1 is the 1-D formula E log sigma^2 = log s2 + t [psi((M-1)/2) + log(2/(M-ddof))]
    m1, v1 = smv.log_determinant_exprs(1)
    assert_equal(m1, sp.log(det0) + t * (sp.polygamma(0, (M - 1) / 2) + sp.log(2 / (M - ddof))),
                 "d = 1")
    assert_equal(v1, t * sp.polygamma(1, (M - 1) / 2), "d = 1 variance")


def step6_rates(series: sp.Expr | None = None) -> None:
    """lambda_k decreasing in k (psi' > 0), and its large-M series."""
    lam = smv.lyapunov_exponent()
    assert_equal(sp.diff(lam, k), -sp.polygamma(1, (M - k) / 2) / 2, "d lambda_k / dk")
    y = sp.Symbol("y", positive=True)
    assert_positive_at(sp.polygamma(1, y), [{y: sp.Rational(1, 2)}, {y: 3},
                                            {y: sp.Rational(3 * 10**6 + 1, 3)}],
                       "psi' > 0")
    ser = smv.lyapunov_series(3) if series is None else series
    target = (ddof - k - 1) / M + (ddof**2 / 2 - k**2 / 2 - k - sp.Rational(1, 3)) / M**2
    assert_equal(ser, target, "large-M series of lambda_k")
    total = sp.summation(((1 - k - 1) / M), (k, 1, sp.Symbol("d", positive=True, integer=True)))
    dd = sp.Symbol("d", positive=True, integer=True)
    assert_equal(total, -dd * (dd + 1) / (2 * M), "sum of the leading terms, ddof = 1")
    # numeric check of the series at M = 10^4, k = 3, ddof = 1 (error O(1/M^3))
    # (mpmath directly: sympy would expand psi at a half-integer into thousands of terms)
    f = sp.lambdify((M, k, ddof), lam, "mpmath")
    with mpmath.workdps(40):
        val = f(mpmath.mpf(10**4), 3, 1)
    approx = target.subs({M: 10**4, k: 3, ddof: 1})
    # the next term is c3/M^3 with |c3| < 100 here: 1e-10
    assert_true(bool(abs(sp.Float(str(val), 40) - approx) < sp.Float(1e-10)),
                "series accuracy at M = 1e4")


def step7_mean_and_drift(drift: sp.Expr | None = None) -> None:
    """E Sigma_t = r^t Sigma0 (E U = nu I) and the mean-drift recursion."""
    nu = M - 1
    assert_equal(sp.expand_func(smv.chi2_power_moment().subs({s: 1, m: nu})), nu,
                 "E U_kk = nu (diagonal of a Wishart)")
    sol = smv.mean_drift_expr() if drift is None else drift
    assert_equal(sol.subs(t, 0), 0, "e_0 = 0")
    assert_equal(sol.subs(t, t + 1) - sol, r**t * tr0 / M, "e_{t+1} - e_t = r^t tr0 / M")
    assert_equal(sp.limit(sol, r, 1), t * tr0 / M, "r = 1: t tr0 / M")


def step8_bures(coef: sp.Expr | None = None) -> None:
    """Second-order Bures coefficient (2 x 2) and the one-step variance of Wishart entries."""
    l1, l2, x11, x12, x22 = smv.l1, smv.l2, smv.x11, smv.x12, smv.x22
    got = smv.bures_second_order() if coef is None else coef
    assert_equal(got, x11**2 / (4 * l1) + x22**2 / (4 * l2) + x12**2 / (l1 + l2),
                 "(1/2) sum_ij X_ij^2 / (l_i + l_j)")
    z = sp.Symbol("z", real=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    e2 = sp.integrate(z**2 * phi, (z, -sp.oo, sp.oo))
    e4 = sp.integrate(z**4 * phi, (z, -sp.oo, sp.oo))
    nu = M - 1
    assert_equal(nu * (e4 - e2**2), 2 * nu, "Var U_ii = 2 nu")
    assert_equal(nu * (e2 * e2), nu, "Var U_ij = nu (i != j)")
    # averaging the quadratic form: E X_ij^2 = (1 + [i=j]) l_i l_j per unit t/M
    avg = got.subs({x11**2: 2 * l1**2, x22**2: 2 * l2**2, x12**2: l1 * l2})
    small = sp.Rational(1, 2) * (l1 + l2) + l1 * l2 / (l1 + l2)
    assert_equal(avg, small, "averaged Bures term = (1/2) tr + (1/2) sum_{i!=j}")
    # d = 1: drift + Bures = 3/2 sigma^2 per unit t/M
    # d = 1 (only X_11, E X_11^2 = 2 l1^2): drift l1 + Bures l1/2 = (3/2) l1 per unit t/M
    bures1 = got.subs({x12: 0, x22: 0}).subs({x11**2: 2 * l1**2})
    assert_equal(l1 + bures1, sp.Rational(3, 2) * l1, "d = 1 leading order")


def step9_bounds(moment: sp.Expr | None = None) -> None:
    """AM-GM and Cauchy-Schwarz on the sqrt(m_i), and E det^{1/(2d)} (d = 2 check)."""
    a, b = sp.symbols("a b", positive=True)
    # AM-GM for two: (sqrt a + sqrt b)/2 - (ab)^{1/4} = (a^{1/4} - b^{1/4})^2 / 2 >= 0
    assert_equal((sp.sqrt(a) + sp.sqrt(b)) / 2 - (a * b) ** sp.Rational(1, 4),
                 (a ** sp.Rational(1, 4) - b ** sp.Rational(1, 4)) ** 2 / 2, "AM-GM, d = 2")
    # Cauchy-Schwarz for two: 2 (a + b) - (sqrt a + sqrt b)^2 = (sqrt a - sqrt b)^2
    assert_equal(2 * (a + b) - (sp.sqrt(a) + sp.sqrt(b)) ** 2, (sp.sqrt(a) - sp.sqrt(b)) ** 2,
                 "Cauchy-Schwarz, d = 2")
    mom = smv.chi2_power_moment() if moment is None else moment
    d = 2
    sv = sp.Rational(1, 2 * d)
    one_step = sp.prod([mom.subs({s: sv, m: M - j}) / c**sv for j in range(1, d + 1)])
    target = sp.prod([2**sv * sp.gamma((M - j) / 2 + sv) / sp.gamma((M - j) / 2) / c**sv
                      for j in range(1, d + 1)])
    assert_equal(one_step, target, "E det(U/c)^{1/(2d)}")
    # d = 1: the AM-GM bound is the exact E sigma_t = c_1^t sigma0 with c_1 = E (chi2/c)^{1/2}
    assert_equal(mom.subs({s: sp.Rational(1, 2), m: M - 1}),
                 sp.sqrt(2) * sp.gamma(M / 2) / sp.gamma((M - 1) / 2), "E sqrt(chi2_{M-1})")


def step10_projection(scatter: sp.Expr | None = None) -> None:
    """v^T x ~ N(v^T mu, v^T Sigma v) (MGF), v^T S v = scatter of the projected points, and the
    one-step law of v^T S v: its first two moments are those of (v^T Sigma v) chi2_{M-1}."""
    for d in (1, 2, 3):
        got, want = smv.projection_mgf(d)
        assert_equal(got, want, f"MGF of v^T L z, d = {d}")
    for d, npts in ((2, 3), (3, 2)):
        diff = smv.projected_scatter(d, npts) if scatter is None else scatter
        assert_equal(diff, 0, f"v^T S v = projected scatter, d = {d}, {npts} points")
    # E (v^T W v) = nu |v|^2 and E (v^T W v)^2 = (nu^2 + 2 nu) |v|^4 for W ~ Wishart_2(nu, I):
    # the moments of |v|^2 chi2_nu (Step 2: E X = m, E X^2 = m (m + 2))
    v1, v2 = sp.symbols("v1 v2", real=True)
    mom = smv.wishart_second_moments()
    nu = M - 1
    q2 = (v1**4 * mom["11,11"] + v2**4 * mom["11,11"] + 2 * v1**2 * v2**2 * mom["11,22"]
          + 4 * v1**2 * v2**2 * mom["12,12"])
    chi = smv.chi2_power_moment()
    assert_equal(q2, sp.expand_func(chi.subs({s: 2, m: nu})) * (v1**2 + v2**2) ** 2,
                 "E (v^T W v)^2 = E (chi2_nu)^2 |v|^4")


def step11_minkowski(identity: sp.Expr | None = None) -> None:
    """det(A+B) - det A - det B = tr(adj(A) B) (2 x 2), and the Wishart root moment w(k)."""
    a11, a12, a22, b11, b12, b22 = sp.symbols("a11 a12 a22 b11 b12 b22", real=True)
    A = sp.Matrix([[a11, a12], [a12, a22]])
    B = sp.Matrix([[b11, b12], [b12, b22]])
    lhs = (A + B).det() - A.det() - B.det()
    rhs = (A.adjugate() * B).trace() if identity is None else identity
    assert_equal(sp.expand(lhs), sp.expand(rhs), "det(A+B) - det A - det B = tr(adj(A) B)")
    # with e1, e2 the eigenvalues of A^{-1/2} B A^{-1/2}: det B = det A e1 e2 and
    # tr(adj(A) B) = det A (e1 + e2); (sqrt(det A) + sqrt(det B))^2 = det A + det B
    # + 2 det A sqrt(e1 e2) <= det(A + B) since e1 + e2 >= 2 sqrt(e1 e2)
    e1, e2, dA = sp.symbols("e1 e2 dA", positive=True)
    assert_equal((sp.sqrt(dA) + sp.sqrt(dA * e1 * e2)) ** 2 - (dA + dA * e1 * e2),
                 2 * dA * sp.sqrt(e1 * e2), "cross term")
    assert_equal(e1 + e2 - 2 * sp.sqrt(e1 * e2), (sp.sqrt(e1) - sp.sqrt(e2)) ** 2, "AM-GM")
    # w(k) = E det(W)^{1/d} = prod_i E chi2_{k-i}^{1/d} (Bartlett), d = 2
    kk = sp.Symbol("k", positive=True)
    sv = sp.Rational(1, 2)
    w = sp.prod([smv.chi2_power_moment().subs({s: sv, m: kk - i}) for i in (1, 2)])
    target = sp.prod([2**sv * sp.gamma((kk - i) / 2 + sv) / sp.gamma((kk - i) / 2)
                      for i in (1, 2)])
    assert_equal(w, target, "w(k), d = 2")
    # replace: one group, w(M)/c per generation, and AM-GM det^(1/d) <= tr/d (d = 2)
    x1, x2 = sp.symbols("x1 x2", positive=True)
    assert_equal((x1 + x2) / 2 - sp.sqrt(x1 * x2), (sp.sqrt(x1) - sp.sqrt(x2)) ** 2 / 2,
                 "AM-GM on the eigenvalues")


def step12_accumulate_det(formula: sp.Expr | None = None) -> None:
    """E det(c I + lam (W + rho z z^T)): the d = 2 expansion equals the general-d sum; d = 1 is
    the 1-D accumulate factor 1 - 1/(M t^2)."""
    got = smv.accumulate_det_step()
    target = smv.accumulate_det_step_formula(2) if formula is None else formula
    assert_equal(got, target, "E det(c I + lam (W + rho z z^T)), d = 2")
    cc, lam, rho = sp.symbols("c lam rho", positive=True)
    tt = sp.Symbol("t", positive=True)
    f1 = smv.accumulate_det_step_formula(1).subs({lam: 1, rho: (tt - 1) / tt,
                                                  cc: (tt - 1) * M})
    assert_equal(f1 / (tt * M), 1 - 1 / (M * tt**2), "d = 1, ddof = 0: 1 - 1/(M t^2)")
    # at c = 0, rho = 0, lam = 1 it is E det W = (M-1)(M-2) (Step 3)
    assert_equal(got.subs({cc: 0, rho: 0, lam: 1}), smv.wishart_det_moment(2), "c = 0")


def step13_tangent(kappa: sp.Expr | None = None) -> None:
    """The remainder of the tangent quadratic of log(1+x), its integral form, and kappa."""
    integral, closed = smv.tangent_quadratic_remainder()
    xx, x0 = sp.symbols("x x0", positive=True)
    pts = [{xx: sp.Rational(1, 3), x0: 2}, {xx: 5, x0: sp.Rational(1, 2)}, {xx: 3, x0: 1}]
    for p in pts:
        val = sp.N((integral - closed).subs(p), 30)
        assert_true(bool(abs(val) < sp.Float(1e-25)), f"integral form at {p}")
    # the integrand decreases in x: d/dx (1-s)/(1+x0+s(x-x0))^2 = -2 s (1-s)/(...)^3 <= 0
    sv = sp.Symbol("sv", positive=True)
    integrand = (1 - sv) / (1 + x0 + sv * (xx - x0)) ** 2
    assert_equal(sp.diff(integrand, xx), -2 * sv * (1 - sv) / (1 + x0 + sv * (xx - x0)) ** 3,
                 "d integrand / dx")
    k = closed.subs(xx, 0) if kappa is None else kappa
    assert_equal(k, (sp.log(1 + x0) - x0 / (1 + x0)) / x0**2, "kappa = R(0)")
    # E tr (G - x0 I)^2 = (lam/c)^2 d (d+1) (nu + rho^2): from E tr W^2 = d nu (nu + d + 1),
    # E z^T W z = d nu, E |z|^4 = d (d + 2)
    dd, nu, rho, lam, cc = sp.symbols("d nu rho lam c", positive=True)
    etr2 = (lam / cc) ** 2 * (dd * nu * (nu + dd + 1) + 2 * rho * dd * nu + rho**2 * dd * (dd + 2))
    x0v = lam * (nu + rho) / cc
    assert_equal(etr2 - dd * x0v**2, (lam / cc) ** 2 * dd * (dd + 1) * (nu + rho**2),
                 "E tr (G - x0 I)^2")


def step14_control_variate(step: tuple | None = None) -> None:
    """Wishart second moments (d = 2, from normal moments) and the one-step map of E S_ij S_kl."""
    mom = smv.wishart_second_moments()
    nu = M - 1
    assert_equal(mom["11,11"], nu**2 + 2 * nu, "E W11^2")
    assert_equal(mom["11,22"], nu**2, "E W11 W22")
    assert_equal(mom["12,12"], nu, "E W12^2")
    res = smv.wishart_step_second_moments() if step is None else step
    for r, name in zip(res, ("E S'12^2", "E S'11 S'22", "E S'11^2"), strict=True):
        assert_equal(r, 0, name)
    # the accumulate step H = c I + lam (W + rho z z^T): alpha = mu^2, beta = lam^2 (nu + rho^2)
    cc, lam, rho = sp.symbols("c lam rho", positive=True)
    h = smv.accumulate_step_second_moments()
    mu = cc + lam * (nu + rho)
    alpha, beta = mu**2, lam**2 * (nu + rho**2)
    assert_equal(h["11,11"], alpha + 2 * beta, "E H11^2 = alpha + 2 beta")
    assert_equal(h["11,22"], alpha, "E H11 H22 = alpha")
    assert_equal(h["12,12"], beta, "E H12^2 = beta")
    # the off-diagonal pair from (0, l_i l_j) one step: (nu l_i l_j, nu^2 l_i l_j) / c^2
    li, lj = sp.symbols("li lj", positive=True)
    K = sp.Matrix([[nu**2 + nu, nu], [2 * nu, nu**2]]) / c**2
    one = K * sp.Matrix([0, li * lj])
    assert_equal(one[0], nu * li * lj / c**2, "E S'_ij^2 after one step")


STEPS = [
    ("1", "the Bartlett recursion and products of triangular factors", step1_triangular_products),
    ("2", "moments of a chi-square", step2_chi2_moments),
    ("3", "the expected determinant of a Wishart matrix", step3_wishart_det),
    ("4", "the expected determinant of generation t", step4_expected_det),
    ("5", "the mean and variance of log det", step5_log_det),
    ("6", "the eigenvalue rates", step6_rates),
    ("7", "the expected covariance and the mean drift", step7_mean_and_drift),
    ("8", "the small-t expansion of the Bures-Wasserstein drift", step8_bures),
    ("9", "bounds on the fidelity term", step9_bounds),
    ("10", "the projection reduction (every workflow)", step10_projection),
    ("11", "Minkowski and Jensen bounds on the determinant", step11_minkowski),
    ("12", "the expected determinant under accumulate", step12_accumulate_det),
    ("13", "a second-order lower bound for the accumulate step", step13_tangent),
    ("14", "the exact mean of the Bures quadratic control variate", step14_control_variate),
]


def main() -> int:
    """Run every step; return the process exit status (0 if all pass)."""
    return min(run_steps(STEPS), 1)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["STEPS", "StepFailure", "main"]
