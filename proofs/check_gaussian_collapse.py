"""Check, step by step, the proof in ``gaussian_collapse.md`` (Shumailov et al., Nature 2024,
Theorem 3.1: collapse of a 1-D Gaussian refit on its own samples).

Run ``python -m modelcollapse.proofs.check_gaussian_collapse``: one line ``Step k: title ... ok``
per step of the Markdown proof, exit status 1 if any step fails. The closed forms come from
:mod:`modelcollapse.theory.symbolic.gaussian`, where sympy derives them from the one-step law;
this script checks the proof's claims about them. Inequalities that sympy cannot decide
symbolically are reduced (in the proof) to an analytic argument whose ingredients are checked
here -- termwise comparisons, series sums, limits -- plus evaluation at exact rational points.

Convention: generation 0 is the original ``N(mu0, sigma0^2)``; generation ``n`` follows ``n``
rounds of "draw ``M`` points, refit"; ``ddof=1`` unbiased variance, ``ddof=0`` MLE.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.stats import ChiSquared, Normal
from sympy.stats import E as Expect

from modelcollapse.proofs import (
    StepFailure,
    assert_equal,
    assert_positive_at,
    assert_true,
    assert_zero,
    run_steps,
)
from modelcollapse.theory.symbolic import gaussian as g

S = g.symbols()
n, M, k, ddof, sigma0, a, t, i_, Ms, eps = S
R = sp.Rational
x = sp.Symbol("x", positive=True)
j = sp.Symbol("j", integer=True, nonnegative=True)

# exact sample points used for the inequality spot checks (M >= 2 integer, 0 <= ddof <= 1)
M_POINTS = (2, 3, 4, 5, 10, 37, 100, 1000)  # sympy expands psi((M-1)/2) into ~M/2 terms
DDOF_POINTS = (0, R(1, 3), R(1, 2), 1)
X_POINTS = (R(1, 2), 1, R(7, 3), 5, 50, 500)


def q_expr() -> sp.Expr:
    return (M - 1) / (M - ddof)


def c_expr() -> sp.Expr:
    return sp.sqrt(2 / (M - ddof)) * sp.gamma(M / 2) / sp.gamma((M - 1) / 2)


# ---------------------------------------------------------------------------------------------
def step1() -> None:
    # module derivation (integral of x^k against the chi-square density) == stated formula
    stated = 2**k * sp.gamma(a + k) / (sp.gamma(a) * (M - ddof) ** k)
    assert_equal(g.one_step_moment_expr(), stated, "r_k")
    # independent check by sympy.stats at integer k: E C^k = nu (nu+2) ... (nu+2k-2)
    nu = sp.Symbol("nu", positive=True)
    C = ChiSquared("C", nu)
    for kk in (1, 2, 3):
        rising = sp.Mul(*(nu + 2 * m for m in range(kk)))
        assert_equal(sp.simplify(Expect(C**kk)), rising, f"E C^{kk}")
        assert_equal(
            g.chi2_moment_expr().subs({k: kk, M: nu + 1}), rising, f"module E C^{kk} vs stats"
        )


def step2() -> None:
    mom = g.variance_moment_expr()
    r = g.one_step_moment_expr()
    assert_equal(mom.subs(n, 0), sigma0 ** (2 * k), "m_0")
    assert_equal(mom.subs(n, n + 1), r * mom, "m_{n+1} = r_k m_n")


def step3() -> None:
    q = q_expr()
    assert_equal(g.one_step_moment_expr().subs(k, 1), q, "r_1")
    ev = g.expected_variance_expr()
    assert_equal(ev, sigma0**2 * q**n, "E sigma_n^2")
    assert_equal(ev.subs(ddof, 1), sigma0**2, "ddof=1: E sigma_n^2 constant")
    assert_equal(ev.subs(ddof, 0), sigma0**2 * (1 - 1 / M) ** n, "ddof=0")


def step4() -> None:
    r = g.one_step_moment_expr()
    ell = sp.polygamma(0, a) + sp.log(2 / (M - ddof))
    v = sp.polygamma(1, a)
    # E log Y = d/dk E[Y^k] at k=0;  Var log Y = d^2/dk^2 log E[Y^k] at k=0
    assert_equal(sp.diff(r, k).subs(k, 0), ell, "E log(C/(M-ddof))")
    cgf = sp.expand_log(sp.log(r), force=True)
    assert_equal(sp.diff(cgf, k, 2).subs(k, 0), v, "Var log(C/(M-ddof))")
    assert_equal(g.one_step_log_mean_expr(), ell, "module ell")
    assert_equal(g.one_step_log_var_expr(), v, "module v")
    # the cumulant identity used: (log r)'' = r''/r - (r'/r)^2 and r(0) = 1
    assert_equal(r.subs(k, 0), 1, "r_0 = 1")
    second = (sp.diff(r, k, 2) / r - (sp.diff(r, k) / r) ** 2).subs(k, 0)
    assert_equal(sp.expand_func(second), sp.expand_func(v), "E log^2 - (E log)^2")


def step5() -> None:
    ell = g.one_step_log_mean_expr()
    L = g.expected_log_variance_expr()
    V = g.log_variance_variance_expr()
    assert_equal(L.subs(n, 0), sp.log(sigma0**2), "L_0")
    assert_equal(L.subs(n, n + 1) - L, ell, "L_{n+1} - L_n")
    assert_equal(V.subs(n, 0), 0, "V_0")
    assert_equal(V.subs(n, n + 1) - V, g.one_step_log_var_expr(), "V_{n+1} - V_n")


def step6() -> None:
    # (a) psi'(x) = sum_j 1/(x+j)^2
    ser = sp.summation(1 / (x + j) ** 2, (j, 0, sp.oo))
    assert_equal(sp.expand_func(ser), sp.polygamma(1, x).rewrite(sp.zeta), "trigamma series")
    # (b) termwise 1/(x+j)^2 > 1/((x+j)(x+j+1)) and the telescoping sum is 1/x
    diff_term = sp.factor(1 / (x + j) ** 2 - 1 / ((x + j) * (x + j + 1)))
    assert_equal(diff_term, 1 / ((x + j) ** 2 * (x + j + 1)), "termwise gap")
    assert_true(diff_term.is_positive, "termwise gap > 0")
    assert_equal(sp.summation(1 / ((x + j) * (x + j + 1)), (j, 0, sp.oo)), 1 / x, "sum = 1/x")
    # (c) psi(x) - log(x) -> 0
    assert_equal(sp.limit(sp.digamma(x) - sp.log(x), x, sp.oo), 0, "limit psi - log")
    # (d) consequence log x - psi(x) > 0, spot-checked at exact points
    assert_positive_at(sp.log(x) - sp.digamma(x), [{x: v} for v in X_POINTS], "log x - psi(x)")


def step7() -> None:
    ell = g.one_step_log_mean_expr()
    q = q_expr()
    # replacing psi(a) by the larger log(a) gives exactly log q
    bound = ell.subs(sp.polygamma(0, a), sp.log(a))
    assert_zero(sp.expand_log(bound - sp.log(q), force=True), "ell with log a == log q")
    # q - 1 = (ddof - 1)/(M - ddof) <= 0 for ddof <= 1
    assert_equal(q - 1, (ddof - 1) / (M - ddof), "q - 1")
    pts = [{M: m, ddof: d} for m in M_POINTS for d in DDOF_POINTS]
    assert_positive_at(-ell, pts, "-ell")
    assert_positive_at(sp.log(q) - ell, pts, "log q - ell")


def step8() -> None:
    # finite variance of the increments: psi'(a) finite for a >= 1/2 (decreasing, psi'(1/2))
    assert_equal(sp.polygamma(1, R(1, 2)), sp.pi**2 / 2, "psi'(1/2)")
    assert_true(sp.polygamma(2, x).is_negative, "psi' decreasing")
    # rate: ell = (ddof - 2)/M + O(M^-2)
    z = sp.Symbol("z", positive=True)
    psi_as = sp.series(sp.digamma(z), z, sp.oo, 4).removeO()
    ell_eps = psi_as.subs(z, (1 / eps - 1) / 2) + sp.log(2) - sp.log(1 / eps - ddof)
    ser = sp.series(ell_eps, eps, 0, 2).removeO()
    assert_equal(ser, (ddof - 2) * eps, "ell leading order")


def step9() -> None:
    c = g.std_factor_expr()
    assert_equal(c, c_expr(), "c = r_{1/2}")
    assert_equal(g.expected_std_expr(), sigma0 * c**n, "E sigma_n = sigma0 c^n")
    y = sp.Symbol("y", positive=True)
    # Gamma(y) Gamma(y+1) = y Gamma(y)^2 and c^2 (M-ddof)/2 = (Gamma(a+1/2)/Gamma(a))^2
    assert_equal(sp.gamma(y) * sp.gamma(y + 1), y * sp.gamma(y) ** 2, "Gamma(y)Gamma(y+1)")
    assert_equal(c**2 * (M - ddof) / 2, (sp.gamma(a + R(1, 2)) / sp.gamma(a)) ** 2, "c^2")
    assert_equal(2 * a / (M - ddof), q_expr(), "2a/(M-ddof) = q")
    # strict log-convexity: (log Gamma)'' = psi' > 0 (a sum of positive terms, Step 6a)
    assert_true(sp.polygamma(1, y).is_positive, "psi' > 0")
    gap = (sp.loggamma(y) + sp.loggamma(y + 1)) / 2 - sp.loggamma(y + R(1, 2))
    assert_positive_at(gap, [{y: v} for v in X_POINTS], "log-convexity gap")
    pts = [{M: m, ddof: d} for m in M_POINTS for d in DDOF_POINTS]
    assert_positive_at(1 - c_expr(), pts, "1 - c")
    assert_positive_at(q_expr() - c_expr() ** 2, pts, "q - c^2")


def step10() -> None:
    D = g.mean_drift_mse_expr()
    D1 = D.subs(ddof, 1)
    assert_equal(D1, n * sigma0**2 / M, "ddof=1 branch")
    general, _ = g._mean_drift_branches()
    q = q_expr()
    for name, expr in (("ddof=1", D1), ("general", general)):
        assert_equal(expr.subs(n, 0), 0, f"D_0 ({name})")
        step = g.expected_variance_expr()
        if name == "ddof=1":
            step = step.subs(ddof, 1)
        assert_equal(expr.subs(n, n + 1) - expr, step / M, f"D recursion ({name})")
    # general branch = (sigma0^2/M) sum_{t<n} q^t, and its ddof -> 1 limit is the flat branch
    tt = sp.Symbol("tt", integer=True, nonnegative=True)
    qs = sp.Symbol("qs", positive=True)
    geo = sp.summation(qs**tt, (tt, 0, n - 1))  # Piecewise((n, Eq(qs, 1)), (..., True))
    assert_true(isinstance(geo, sp.Piecewise), "geometric sum is a Piecewise")
    assert_equal(sigma0**2 / M * geo.args[-1][0].subs(qs, q), general, "geometric sum")
    assert_equal(geo.args[0][0], n, "geometric sum at q = 1")
    assert_equal(sp.limit(general, ddof, 1), D1, "continuity at ddof = 1")
    assert_equal(D.subs(ddof, 0), sigma0**2 * (1 - (1 - 1 / M) ** n), "ddof=0 branch")
    # one-step increment: (mu_t - mu0 + sigma_t Z/sqrt(M))^2 has conditional mean
    # (mu_t-mu0)^2 + sigma_t^2/M because E Z = 0, E Z^2 = 1
    Z = Normal("Z", 0, 1)
    u, s = sp.symbols("u s", real=True)
    assert_equal(Expect((u + s * Z / sp.sqrt(M)) ** 2), u**2 + s**2 / M, "E step^2")


def step11() -> None:
    mu, mu2 = sp.symbols("mu mu2", real=True)
    s1, s2 = sp.symbols("s1 s2", positive=True)
    X = Normal("X", mu, s1)
    coupled = mu2 + s2 / s1 * (X - mu)  # the monotone (quantile) coupling
    w2 = (mu - mu2) ** 2 + (s1 - s2) ** 2
    assert_equal(sp.simplify(Expect((X - coupled) ** 2)), w2, "cost of the quantile coupling")
    # any coupling: E(X-Y)^2 = (mu-mu2)^2 + s1^2 + s2^2 - 2 cov >= w2 since cov <= s1 s2
    cov = sp.Symbol("cov", real=True)
    any_cost = (mu - mu2) ** 2 + s1**2 + s2**2 - 2 * cov
    assert_equal(any_cost - w2, 2 * (s1 * s2 - cov), "cost gap")


def step12() -> None:
    W = g.expected_w2_squared_expr()
    assembled = (
        g.mean_drift_mse_expr() + sigma0**2 * q_expr() ** n - 2 * sigma0**2 * c_expr() ** n
    ) + sigma0**2
    assert_equal(W, assembled, "E W2^2 assembled")
    assert_equal(W.subs(n, 0), 0, "E W2^2 at n=0")
    # E[(sigma_n - sigma0)^2] expands to E sigma_n^2 - 2 sigma0 E sigma_n + sigma0^2
    sn = sp.Symbol("sigma_n", positive=True)
    assert_equal(sp.expand((sn - sigma0) ** 2), sn**2 - 2 * sigma0 * sn + sigma0**2, "square")
    # ddof = 1 form
    W1 = sp.piecewise_fold(W.subs(ddof, 1))
    c1 = c_expr().subs(ddof, 1)
    assert_equal(W1, sigma0**2 * (n / M + 2 - 2 * c1**n), "ddof=1 form")


def step13() -> None:
    # ddof = 1: E W2^2 = sigma0^2 (n/M + 2 - 2 c^n) with 0 < c < 1 (Step 9)
    cs = sp.Symbol("c", positive=True)
    W1 = sigma0**2 * (n / M + 2 - 2 * cs**n)
    assert_equal(W1 - sigma0**2 * n / M, 2 * sigma0**2 * (1 - cs**n), "W - n sigma0^2/M")
    assert_true(sp.limit(sigma0**2 * n / M, n, sp.oo) is sp.oo, "n sigma0^2/M -> oo")
    # ddof > 1: q > 1, so sum_{t<n} q^t >= n and D_n >= n sigma0^2 / M; E(sigma_n - sigma0)^2 >= 0
    assert_positive_at(
        q_expr() - 1, [{M: m, ddof: d} for m in (3, 10, 100) for d in (R(3, 2), 2)], "q - 1"
    )
    general, _ = g._mean_drift_branches()
    for m, d in ((5, 2), (10, R(3, 2))):
        gm = general.subs({M: m, ddof: d, sigma0: 1})
        for nn in (1, 2, 10, 50):
            assert_true(sp.nsimplify(gm.subs(n, nn)) >= sp.Rational(nn, m), f"D_n >= n/M at {nn}")
        assert_true(sp.limit(gm, n, sp.oo) is sp.oo, f"D_n -> oo at M={m}, ddof={d}")


def step14() -> None:
    general, _ = g._mean_drift_branches()
    Wg = general + sigma0**2 * q_expr() ** n - 2 * sigma0**2 * c_expr() ** n + sigma0**2
    Wfull = sp.piecewise_fold(g.expected_w2_squared_expr())
    assert_equal(Wfull.args[-1][0], Wg, "general branch of E W2^2")
    target = sigma0**2 * (1 + (M - ddof) / (M * (1 - ddof)))
    # 0 < q < 1 for ddof < 1 (Step 7: q - 1 = (ddof-1)/(M-ddof)) and 0 < c < 1 (Step 9):
    # write q = 1/(1+u), c = 1/(1+w) with u, w > 0; then q^n -> 0 and c^n -> 0
    u, w = sp.symbols("u w", positive=True)
    assert_equal(sp.limit((1 / (1 + u)) ** n, n, sp.oo), 0, "q^n -> 0")
    assert_equal(sp.limit((1 / (1 + w)) ** n, n, sp.oo), 0, "c^n -> 0")
    # so the limit of E W2^2 is its value with q^n and c^n replaced by 0
    qn, cn = sp.symbols("qn cn", positive=True)
    named = Wg.subs(q_expr() ** n, qn).subs(c_expr() ** n, cn)
    assert_true(not named.has(n), "E W2^2 depends on n only through q^n and c^n")
    assert_equal(named.subs({qn: 0, cn: 0}), target, "limit of E W2^2 (symbolic)")
    assert_equal(target.subs(ddof, 0), 2 * sigma0**2, "ddof=0 limit 2 sigma0^2")
    # cross-check with sympy's limit at exact points
    for sub in ({M: 2, ddof: 0}, {M: 10, ddof: R(1, 2)}):
        assert_equal(sp.limit(Wg.subs(sub), n, sp.oo), target.subs(sub), f"limit at {sub}")
    # ddof = 0 conserves the marginal variance exactly: E sigma_n^2 + E(mu_n - mu0)^2 = sigma0^2
    mv0 = sp.piecewise_fold(g.marginal_variance_expr().subs(ddof, 0))
    assert_equal(mv0, sigma0**2, "marginal variance, ddof=0")
    mv1 = sp.piecewise_fold(g.marginal_variance_expr().subs(ddof, 1))
    assert_equal(mv1, sigma0**2 * (1 + n / M), "marginal variance, ddof=1")


def step15() -> None:
    ev = g.expected_variance_schedule_expr().subs(ddof, 1)
    assert_equal(ev.doit(), sigma0**2, "schedule E sigma_n^2, ddof=1")
    D = g.mean_drift_mse_schedule_expr().subs(ddof, 1).doit()
    assert_equal(D, sigma0**2 * sp.Sum(1 / Ms[i_], (i_, 1, n)), "schedule drift, ddof=1")
    # the schedule recursions, checked on a concrete horizon with distinct symbols M_1..M_4
    Mv = sp.symbols("M1:5", positive=True)
    sub_sched = {Ms[m + 1]: Mv[m] for m in range(4)}

    def concrete(expr: sp.Expr, nn: int) -> sp.Expr:
        return expr.subs(n, nn).doit().subs(sub_sched)

    Dg = g.mean_drift_mse_schedule_expr()
    Vg = g.expected_variance_schedule_expr()
    for nn in range(1, 4):
        lhs = concrete(Dg, nn + 1) - concrete(Dg, nn)
        assert_equal(lhs, concrete(Vg, nn) / Mv[nn], f"schedule D recursion at {nn}")
        ratio = concrete(Vg, nn + 1) / concrete(Vg, nn)
        assert_equal(ratio, (Mv[nn] - 1) / (Mv[nn] - ddof), f"schedule variance at {nn}")
    # sandwich: E W2^2 = sigma0^2 S_n + 2 sigma0^2 (1 - P_n), 0 < P_n <= 1 (each c_i in (0,1))
    W = g.expected_w2_squared_schedule_expr().subs(ddof, 1).doit()
    Sn = sp.Sum(1 / Ms[i_], (i_, 1, n))
    Pn = sp.Product(g.std_factor_expr().subs({ddof: 1, M: Ms[i_]}), (i_, 1, n))
    assert_equal(W, sigma0**2 * Sn + 2 * sigma0**2 * (1 - Pn), "schedule E W2^2, ddof=1")
    # examples: M_i = M1 i^2 (bounded: pi^2/(6 M1)) and M_i = M1 i (harmonic: unbounded)
    M1 = sp.Symbol("M_1", positive=True)
    ii = sp.Symbol("ii", integer=True, positive=True)
    assert_equal(sp.summation(1 / (M1 * ii**2), (ii, 1, sp.oo)), sp.pi**2 / (6 * M1), "quad")
    assert_true(sp.summation(1 / (M1 * ii), (ii, 1, sp.oo)) is sp.oo, "linear schedule")


def step16() -> None:
    # c = 1 + (2 ddof - 3)/(4M) + O(M^-2); ddof=1: 1 - 1/(4M) - 7/(32 M^2) + O(M^-3)
    ser1 = g.std_factor_series(1).removeO()
    assert_equal(ser1, 1 + (2 * ddof - 3) / (4 * M), "c to first order")
    ser2 = g.std_factor_series(2).removeO().subs(ddof, 1)
    assert_equal(ser2, 1 - 1 / (4 * M) - R(7, 32) / M**2, "c to second order, ddof=1")
    logc = g.log_std_factor_series(1).subs(ddof, 1)
    assert_equal(logc, -eps / 4, "log c ~ -1/(4M)")
    # remainder of the first-order expansion shrinks like M^-2 (exact values, 40 digits)
    for d in (0, 1):
        rems = []
        for m in (10**2, 10**3, 10**4):
            exact = sp.N(c_expr().subs({M: m, ddof: d}), 40)
            approx = ser1.subs({M: m, ddof: d})
            rems.append(sp.N((exact - approx) * m**2, 30))
        coeff2 = sp.Rational(3, 8) * d**2 - sp.Rational(3, 8) * d - sp.Rational(7, 32)
        for rem in rems:
            assert_true(abs(rem - coeff2) < sp.Rational(1, 10), f"M^2 remainder ~ {coeff2}")
    # E W2^2 = (3/2) sigma0^2 n/M + O(M^-2) at fixed n, for every ddof
    assert_equal(g.w2_leading_order_expr(), R(3, 2) * sigma0**2 * n / M, "W2 leading order")
    # schedule: the first-order term of the module's exact schedule E W2^2 is
    # (3/2) sigma0^2 sum_i 1/M_i; checked for n = 3, ddof in {0, 1}, with M_i = m_i / eps
    mv = sp.symbols("m1:4", positive=True)
    csym = sp.symbols("c1:4", positive=True)
    Wsched = g.expected_w2_squared_schedule_expr().subs(n, 3).doit()
    for d in (0, 1):
        expr = Wsched.subs(ddof, d)
        for m in range(3):  # name the gamma-ratio factor c(M_i): Gamma(M_i/2) -> c_i ...
            Mi = Ms[m + 1]
            expr = expr.subs(
                sp.gamma(Mi / 2), csym[m] * sp.sqrt(Mi - d) * sp.gamma((Mi - 1) / 2) / sp.sqrt(2)
            )
        assert_true(not expr.has(sp.gamma), "all gamma ratios named")
        cser = g.std_factor_series(2).removeO().subs(ddof, d)
        expr = expr.subs({csym[m]: cser.subs(M, Ms[m + 1]) for m in range(3)})
        expr = expr.subs({Ms[m + 1]: mv[m] / eps for m in range(3)})
        ser = sp.series(expr, eps, 0, 2).removeO()
        assert_equal(ser.coeff(eps, 0), 0, f"zeroth order, ddof={d}")
        first = ser.coeff(eps, 1)
        assert_equal(first, R(3, 2) * sigma0**2 * sum(1 / v for v in mv), f"first order, d={d}")
    lead = g.w2_leading_order_schedule_expr()
    assert_equal(lead, R(3, 2) * sigma0**2 * sp.Sum(1 / Ms[i_], (i_, 1, n)), "schedule lead")


def step17() -> None:
    # (a) psi'(x) < 1/(x - 1/2): termwise 1/(x+j)^2 < 1/((x+j)^2 - 1/4), telescoping sum
    half = R(1, 2)
    gap = sp.factor(1 / ((x + j - half) * (x + j + half)) - 1 / (x + j) ** 2)
    assert_equal(gap, 1 / (4 * (x + j) ** 2 * (x + j - half) * (x + j + half)), "gap")
    tele = sp.summation(1 / ((x + j - half) * (x + j + half)), (j, 0, sp.oo))
    assert_equal(tele, 1 / (x - half), "sum = 1/(x - 1/2)")
    # (b) psi(x) - log(x - 1/2) -> 0, hence (decreasing) > 0 for x > 1/2
    assert_equal(sp.limit(sp.digamma(x) - sp.log(x - half), x, sp.oo), 0, "limit")
    pts = [{x: v} for v in (R(3, 5), 1, R(7, 3), 5, 50, 500)]
    assert_positive_at(sp.digamma(x) - sp.log(x - half), pts, "psi(x) - log(x - 1/2)")
    # (c) ell > log((M-2)/(M-ddof)) >= 0 for ddof >= 2: with psi(a) -> log(a - 1/2)
    ell = g.one_step_log_mean_expr()
    lower = ell.subs(sp.polygamma(0, a), sp.log(a - half))
    assert_zero(sp.expand_log(lower - sp.log((M - 2) / (M - ddof)), force=True), "lower bound")
    pts2 = [{M: m, ddof: d} for m in (3, 5, 10, 100, 1000) for d in (2, R(5, 2)) if m > d]
    assert_positive_at(ell, pts2, "ell > 0 for ddof >= 2")


STEPS: list[tuple[str, str, Callable[[], Any]]] = [
    ("1", "one-step moment factor r_k (chi-square integral)", step1),
    ("2", "moments at generation n solve m_{t+1} = r_k m_t", step2),
    ("3", "E sigma_n^2 = sigma0^2 ((M-1)/(M-ddof))^n", step3),
    ("4", "mean and variance of one log-increment (digamma, trigamma)", step4),
    ("5", "log-variance random walk: E and Var of log sigma_n^2", step5),
    ("6", "lemma psi(x) < log x", step6),
    ("7", "negative drift ell < 0 for 0 <= ddof <= 1", step7),
    ("8", "finite increment variance and rate ell = (ddof-2)/M + O(M^-2)", step8),
    ("9", "E sigma_n = sigma0 c^n with c < 1", step9),
    ("10", "mean drift E(mu_n - mu0)^2", step10),
    ("11", "W2 between two 1-D Gaussians", step11),
    ("12", "exact finite-n E W2^2", step12),
    ("13", "E W2^2 -> infinity for ddof >= 1", step13),
    ("14", "bounded E W2^2 for 0 <= ddof < 1 (2 sigma0^2 for ddof = 0)", step14),
    ("15", "schedules, ddof = 1: bounded iff sum 1/M_i < infinity", step15),
    ("16", "large-M expansions: c, E W2^2 ~ (3/2) sigma0^2 sum 1/M_i", step16),
    ("17", "ddof >= 2: positive drift (no collapse)", step17),
]


def main(argv: list[str] | None = None) -> int:
    """Run every step; return 0 if all pass, 1 otherwise."""
    failures = run_steps(STEPS)
    total = len(STEPS)
    print(f"{total - failures}/{total} steps ok")
    return 1 if failures else 0


__all__ = ["STEPS", "main", "StepFailure"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
