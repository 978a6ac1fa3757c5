"""Checks every step of proofs/gaussian_workflows.md with sympy.

Run ``python -m modelcollapse.proofs.check_gaussian_workflows``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. Each check takes the formula it verifies as an optional argument so that tests can feed it
a wrong one and see it fail. The formulas are derived in
:mod:`modelcollapse.theory.symbolic.gaussian_workflows`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import sympy as sp

from modelcollapse.proofs import StepFailure, assert_equal, assert_true, assert_zero, run_steps
from modelcollapse.theory.symbolic import gaussian_workflows as sgw

M, t, ddof, s, D, s0, b, nr, ns = (sgw.M, sgw.t, sgw.ddof, sgw.s, sgw.D, sgw.s0, sgw.b, sgw.nr,
                                   sgw.ns)
x = sp.Symbol("x", positive=True)
n = sp.Symbol("n", positive=True, integer=True)
j = sp.Symbol("j", positive=True, integer=True)


def step1_one_step_law() -> None:
    """E SS of one group is (N-1) v; two groups carry n1 n2/N (m1-m2)^2."""
    v, m1, m2, v1, v2 = sp.symbols("v m1 m2 v1 v2", real=True)
    n1, n2 = sp.symbols("n1 n2", positive=True)
    assert_equal(sgw.expected_ss([(sgw.N, m1, v)])[0], (sgw.N - 1) * v, "one group")
    ess = sgw.expected_ss([(n1, m1, v1), (n2, m2, v2)])[0]
    N = n1 + n2
    assert_equal(ess, (1 - 1 / N) * (n1 * v1 + n2 * v2) + n1 * n2 / N * (m1 - m2) ** 2,
                 "two groups")
    # the one-step law against a direct expectation for 2 points (x1, x2 independent normals)
    x1, x2 = sp.symbols("x1 x2", real=True)
    ss2 = sp.expand((x1 - (x1 + x2) / 2) ** 2 + (x2 - (x1 + x2) / 2) ** 2)
    moments = {x1**2: v1 + m1**2, x2**2: v2 + m2**2}
    direct = sp.expand(ss2).subs(moments).subs({x1 * x2: m1 * m2})
    assert_equal(direct, sgw.expected_ss([(1, m1, v1), (1, m2, v2)])[0], "2 points directly")


def step2_accumulate_factor(factor: sp.Expr | None = None) -> None:
    """The accumulate factor is 1 - 1/((t+1)((t+1) M - ddof))."""
    f = sgw.accumulate_factor() if factor is None else factor
    assert_equal(f, 1 - 1 / ((t + 1) * ((t + 1) * M - ddof)), "accumulate factor")
    assert_equal(sgw.expected_ss([(M, 0, 1)])[0], M - 1, "first fit: (M-1) sigma0^2")


def step3_conservation(drift: sp.Expr | None = None) -> None:
    """D_{t+1} - D_t = s_t/(M (t+1)^2); s + D is conserved at ddof = 0 (not at ddof = 1)."""
    dstep = sgw.accumulate_drift_step() if drift is None else drift
    assert_equal(dstep, s / (M * (t + 1) ** 2), "drift step")
    change = s * sgw.accumulate_factor() + dstep - s
    assert_zero(change.subs(ddof, 0), "conservation at ddof = 0")
    assert_true(sp.simplify(change.subs(ddof, 1)) != 0, "no conservation at ddof = 1")


def step4_bound_and_limit(limit: sp.Expr | None = None) -> None:
    """D_t <= pi^2/(6M); prod (1 - x^2/j^2) -> sin(pi x)/(pi x)."""
    assert_equal(sp.summation(1 / (M * j**2), (j, 1, sp.oo)), sp.pi**2 / (6 * M), "Basel sum")
    # every factor in (0, 1): 1/((t+1)((t+1) M - ddof)) in (0, 1) for t >= 1, M > ddof, M >= 2
    gap = (t + 1) * ((t + 1) * M - ddof) - 1
    u = sp.Symbol("u", positive=True)  # M - ddof = u > 0, t = 1 + r
    r = sp.Symbol("r", nonnegative=True)
    poly = sp.expand(gap.subs({ddof: M - u, t: 1 + r}))
    # gap + 1 - 2 M is a polynomial in r, u, M >= 0 with positive coefficients: gap >= 2M - 1 >= 3
    if not all(c > 0 for c in sp.Poly(sp.expand(poly + 1 - 2 * M), r, u, M).coeffs()):
        raise StepFailure("factor gap not >= 2 M - 1")
    # finite product in Gamma form: one-step ratio and n = 1
    P = sp.gamma(n + 1 - x) * sp.gamma(n + 1 + x) / (sp.gamma(1 - x) * sp.gamma(1 + x)
                                                     * sp.gamma(n + 1) ** 2)
    assert_equal(sp.gammasimp(P.subs(n, n + 1) / P), 1 - x**2 / (n + 1) ** 2, "product ratio")
    assert_equal(sp.gammasimp(P.subs(n, 1)), 1 - x**2, "n = 1")
    tail = sp.loggamma(n + 1 - x) + sp.loggamma(n + 1 + x) - 2 * sp.loggamma(n + 1)
    assert_true(sp.limit(tail, n, sp.oo) == 0, "Gamma ratio -> 1")
    lim = sp.sin(sp.pi * x) / (sp.pi * x) if limit is None else limit
    assert_equal(1 / sp.gammasimp(sp.gamma(1 - x) * sp.gamma(1 + x)), lim, "reflection")


def step5_mix_recursion(recursion: tuple[sp.Expr, sp.Expr] | None = None) -> None:
    """The mix recursion of (s_t, D_t)."""
    s_next, D_next = sgw.mix_recursion() if recursion is None else recursion
    N = nr + ns
    a = ns / N
    assert_equal(s_next, ((1 - 1 / N) * (nr * s0 + ns * b * s) + nr * ns / N * D) / (N - ddof),
                 "s recursion")
    assert_equal(D_next, a**2 * D + (nr * s0 + ns * b * s) / N**2, "D recursion")


def step6_mix_fixed_point(fixed: tuple[sp.Expr, sp.Expr] | None = None) -> None:
    """D_inf = sigma0^2/(n_r (1+a) + a), s_inf + D_inf = sigma0^2, attracting, < 2 n_r + 1."""
    sf, Df = sgw.mix_fixed_point() if fixed is None else fixed
    N = nr + ns
    a = ns / N
    sub = {ddof: 0, b: 1}
    assert_equal(Df.subs(sub), s0 / (nr * (1 + a) + a), "D_inf")
    assert_equal(sf.subs(sub) + Df.subs(sub), s0, "s_inf + D_inf")
    s_next, D_next = sgw.mix_recursion()
    A = sp.diff(s_next, s).subs(sub)
    B = sp.diff(s_next, D).subs(sub)
    E = sp.diff(D_next, s).subs(sub)
    F = sp.diff(D_next, D).subs(sub)
    p = sp.Symbol("p", nonnegative=True)  # n_r = 1 + p
    for expr, what in ((1 - A, "1 - A"), (1 - F, "1 - F"), ((1 - A) * (1 - F) - B * E, "det")):
        num, den = sp.fraction(sp.factor(sp.together(expr.subs(nr, 1 + p))))
        for part in (num, den):
            coeffs = sp.Poly(sp.expand(part), p, ns).coeffs()
            if not (all(c > 0 for c in coeffs) or all(c < 0 for c in coeffs)):
                raise StepFailure(f"{what}: sign not fixed ({part})")
        if not sp.simplify(expr.subs({nr: 2, ns: 3})) > 0:
            raise StepFailure(f"{what} not > 0")
    assert_true(sp.simplify(2 * nr + 1 - (nr * (1 + a) + a)) == sp.simplify((nr + 1) * (1 - a)),
                "gap to 2 n_r + 1")


# ---------------------------------------------------------------- second moments (steps 7-11)

S_, e_, beta_, P_, w_ = sgw.S, sgw.e, sgw.beta, sgw.P, sgw.w


def step7_power_sums() -> None:
    """E S1^a S2^c of iid centred points: the table equals the enumeration for n = 1..4."""
    v, m4 = sp.symbols("v m4", positive=True)
    moments = {0: 1, 1: 0, 2: v, 3: 0, 4: m4}
    for n_ in range(1, 5):
        z = sp.symbols(f"z0:{n_}", real=True)
        S1, S2 = sum(z), sum(zi**2 for zi in z)
        for a, c in ((1, 0), (2, 0), (3, 0), (4, 0), (0, 1), (1, 1), (2, 1), (0, 2)):
            poly = sp.Poly(sp.expand(S1**a * S2**c), *z)
            direct = sum(coef * sp.prod([moments[p] for p in powers])
                         for powers, coef in poly.terms())
            assert_equal(direct, sgw.iid_moment(a, c, n_, v, m4), f"n={n_}, a={a}, c={c}")


def _poly_in(expr: sp.Expr) -> sp.Expr:
    """e^2 -> E: the conditional moments are even in e."""
    E = sp.Symbol("E", positive=True)
    return sp.expand(sp.expand(expr).subs(e_**4, E**2).subs(e_**2, E)), E


def _same_poly(got: sp.Expr, want: sp.Expr, E: sp.Symbol, what: str) -> None:
    """got == want as polynomials in (S, E): every coefficient of the difference cancels to 0
    (sp.cancel on rational functions of the parameters; cheaper than simplify)."""
    num = sp.numer(sp.together(sp.expand(got) - sp.expand(want)))
    poly = sp.Poly(sp.expand(num), S_, E)
    for coeff in poly.coeffs():
        if sp.cancel(coeff) != 0:
            raise StepFailure(f"{what}: differs by a term with coefficient {coeff}")


def step8_conditional_covariances(mix_cov: tuple[sp.Expr, ...] | None = None) -> None:
    """The conditional means and covariances of (sigma'^2, e'^2) in closed form."""
    E = sp.Symbol("E", positive=True)
    Ntot, q = nr + ns, nr + ns - ddof
    v = b * S_
    # mix (replace: n_r = 0); sigma0^2 = s0
    closed = (
        (b**2 * ns * ((beta_ - 1) * (Ntot - 1) ** 2 + 2 * (ns - 1)) * S_**2
         + 4 * b * nr**2 * ns * S_ * E + 4 * b * nr * ns * s0 * S_ + 4 * nr * ns**2 * s0 * E
         + 2 * nr * (Ntot**2 - nr - 2 * ns) * s0**2) / (Ntot**2 * q**2),
        (b**2 * ns * ((beta_ - 1) * (Ntot - 1) - 2 * (ns - 1)) * S_**2
         + 4 * b * nr * ns**2 * S_ * E - 4 * b * nr * ns * s0 * S_ - 4 * nr * ns**2 * s0 * E
         + 2 * nr * ns * s0**2) / (Ntot**3 * q),
        (b**2 * ns * (beta_ + 2 * ns - 3) * S_**2 + 4 * b * ns**3 * S_ * E
         + 4 * b * nr * ns * s0 * S_ + 4 * nr * ns**2 * s0 * E + 2 * nr**2 * s0**2) / Ntot**4)
    got = sgw.conditional_moments("mix")["cov"] if mix_cov is None else mix_cov
    for g_, c_, what in zip(got, closed, ("Var sigma'^2", "Cov", "Var e'^2"), strict=True):
        _same_poly(_poly_in(g_)[0], c_, E, f"mix {what}")
    mean = sgw.conditional_moments("mix")["mean"]
    s_next, D_next = sgw.mix_recursion()
    assert_equal(_poly_in(mean[0])[0], s_next.subs({s: v / b, D: E}), "mix mean sigma^2")
    assert_equal(_poly_in(mean[1])[0], D_next.subs({s: v / b, D: E}), "mix mean e^2")
    # weighted: u = 1 - w, q = M - ddof, q_r = n_r - ddof
    u, qm, qr = 1 - w_, M - ddof, nr - ddof
    closed_w = (
        u**2 * b**2 * (M - 1) * ((beta_ - 1) * (M - 1) + 2) * S_**2 / (M * qm**2)
        + 2 * w_**2 * (nr - 1) * s0**2 / qr**2,
        u**3 * b**2 * (M - 1) * (beta_ - 3) * S_**2 / (M**2 * qm),
        u**4 * b**2 * (2 * M + beta_ - 3) * S_**2 / M**3 + 4 * b * u**4 * S_ * E / M
        + 4 * b * w_**2 * u**2 * s0 * S_ / (M * nr) + 4 * w_**2 * u**2 * s0 * E / nr
        + 2 * w_**4 * s0**2 / nr**2)
    for g_, c_ in zip(sgw.conditional_moments("weighted")["cov"], closed_w, strict=True):
        _same_poly(_poly_in(g_)[0], c_, E, "weighted")
    # accumulate: pool of P points, Q = P + M, q = Q - ddof
    Q, qa = P_ + M, P_ + M - ddof
    closed_a = (
        M * b**2 * ((beta_ - 1) * (Q - 1) ** 2 + 2 * (M - 1)) * S_**2 / (Q**2 * qa**2),
        M * b**2 * ((beta_ - 1) * (Q - 1) - 2 * (M - 1)) * S_**2 / (Q**3 * qa),
        M * b**2 * (2 * M + beta_ - 3) * S_**2 / Q**4 + 4 * M * b * S_ * E / Q**2)
    for g_, c_ in zip(sgw.conditional_moments("accumulate")["cov"], closed_a, strict=True):
        _same_poly(_poly_in(g_)[0], c_, E, "accumulate")
    m_a = sgw.conditional_moments("accumulate")["mean"]
    assert_equal(m_a[0], ((P_ - ddof) * Q + M * b * (Q - 1)) * S_ / (Q * qa), "acc mean")
    assert_equal(_poly_in(m_a[1])[0], E + M * b * S_ / Q**2, "acc drift")


def step9_truncation_kurtosis(beta_closed: Callable[[float], float] | None = None) -> None:
    """beta(tau) = E Z^4/(E Z^2)^2 of the truncated normal = 3 P(5/2,x) P(1/2,x)/P(3/2,x)^2."""
    import mpmath

    def closed(x: float) -> float:
        y = mpmath.mpf(x) ** 2 / 2
        p = [mpmath.gammainc(a, 0, y, regularized=True) for a in (0.5, 1.5, 2.5)]
        return float(3 * p[2] * p[0] / p[1] ** 2)

    f = closed if beta_closed is None else beta_closed
    _, _, bt = sgw.truncation_moments()
    for x in (0.2, 1.0, 2.0, 4.0):
        got = float(bt.subs(sgw.tau, sp.Rational(str(x))).evalf(40))
        if abs(got - f(x)) > 1e-12 * abs(got):
            raise StepFailure(f"beta({x}): derived {got}, closed form {f(x)}")
    assert_true(sp.limit(bt, sgw.tau, 0) == sp.Rational(9, 5), "beta -> 9/5 as tau -> 0")
    assert_true(sp.limit(bt, sgw.tau, sp.oo) == 3, "beta -> 3 as tau -> inf")


def step10_w2_corollary_and_bounds(delta: sp.Expr | None = None) -> None:
    """W2 corollary of the conservation law; Hoelder/Jensen bounds; the delta expansions."""
    Es, m_ = sp.symbols("Es m", positive=True)
    sig0 = sp.sqrt(s0)
    w2 = D + s - 2 * sig0 * Es + s0
    assert_equal(w2.subs(D, s0 - s), 2 * s0 - 2 * sig0 * Es, "W2 under conservation")
    # Hoelder: E[X^{1/3} X^{2/3}] <= (E X^{1/2})^{2/3} (E X^2)^{1/3} with X = sigma^2:
    # exponents p = 3/2 on X^{1/3} (-> X^{1/2}) and q = 3 on X^{2/3} (-> X^2), 1/p + 1/q = 1
    p_, q_ = sp.Rational(3, 2), sp.Integer(3)
    assert_equal(1 / p_ + 1 / q_, 1, "Hoelder exponents")
    assert_equal(sp.Rational(1, 3) * p_, sp.Rational(1, 2), "X^{1/3 p} = sigma")
    assert_equal(sp.Rational(2, 3) * q_, 2, "X^{2/3 q} = sigma^4")
    # solving m <= (E sigma)^{2/3} (E sigma^4)^{1/3} for E sigma: E sigma >= m^{3/2}/sqrt(E s^4)
    E4 = sp.Symbol("E4", positive=True)
    sol = sp.solve(sp.Eq(m_, Es ** sp.Rational(2, 3) * E4 ** sp.Rational(1, 3)), Es)
    assert_true(any(sp.simplify(x - m_ ** sp.Rational(3, 2) / sp.sqrt(E4)) == 0 for x in sol),
                "Hoelder lower bound")
    sd, ld = sgw.delta_method()
    want = sp.sqrt(s) - D / (8 * s ** sp.Rational(3, 2)) if delta is None else delta
    assert_equal(sd, want, "delta E sigma")
    assert_equal(ld, sp.log(s) - D / (2 * s**2), "delta E log")


def step11_optimal_weight(equation: sp.Expr | None = None) -> None:
    """The optimal weight solves a quadratic in w; at h = 1, k = n_r/M it is M w^2 = n_r(1-w)."""
    eq = sgw.optimal_weight_equation() if equation is None else equation
    h_, k_ = sgw.h, sgw.k
    f = (w_ + (1 - w_) ** 2 * k_ / (1 - (1 - w_) * h_)) / (2 - w_)
    num = sp.numer(sp.together(sp.diff(f, w_)))
    assert_equal(eq, num, "derivative numerator")
    assert_true(sp.degree(sp.Poly(eq, w_)) == 2, "a quadratic in w")
    assert_equal(eq.subs({h_: 1, k_: nr / M}) * M / 2, M * w_**2 + nr * w_ - nr, "He-Xu-Cheng")



STEPS: list[tuple[str, str, Callable[[], None]]] = [
    ("1", "the one-step law of the sum of squares", step1_one_step_law),
    ("2", "the accumulate factor", step2_accumulate_factor),
    ("3", "the drift and the conservation law", step3_conservation),
    ("4", "the accumulate bound and limit", step4_bound_and_limit),
    ("5", "the mix recursion", step5_mix_recursion),
    ("6", "the mix fixed point", step6_mix_fixed_point),
    ("7", "moments of power sums", step7_power_sums),
    ("8", "the conditional covariances of one fit", step8_conditional_covariances),
    ("9", "the truncated normal's kurtosis", step9_truncation_kurtosis),
    ("10", "the W2 corollary, the bounds and the delta method", step10_w2_corollary_and_bounds),
    ("11", "the optimal weight for any ddof and bias", step11_optimal_weight),
]


def main() -> int:
    failures = run_steps(STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
