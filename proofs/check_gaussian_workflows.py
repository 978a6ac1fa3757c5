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


STEPS: list[tuple[str, str, Callable[[], None]]] = [
    ("1", "the one-step law of the sum of squares", step1_one_step_law),
    ("2", "the accumulate factor", step2_accumulate_factor),
    ("3", "the drift and the conservation law", step3_conservation),
    ("4", "the accumulate bound and limit", step4_bound_and_limit),
    ("5", "the mix recursion", step5_mix_recursion),
    ("6", "the mix fixed point", step6_mix_fixed_point),
]


def main() -> int:
    failures = run_steps(STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
