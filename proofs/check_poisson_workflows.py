"""Checks every step of proofs/poisson_workflows.md with sympy.

Run ``python -m modelcollapse.proofs.check_poisson_workflows``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. Each check takes the formula it verifies as an optional argument so that tests can feed it
a wrong one and see it fail. The formulas are derived in
:mod:`modelcollapse.theory.symbolic.poisson_workflows`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import sympy as sp

from modelcollapse.proofs import StepFailure, assert_equal, assert_true, assert_zero, run_steps
from modelcollapse.theory.symbolic import poisson_workflows as spw

theta, L, R, lam0, M, r, w, t = (spw.theta, spw.L, spw.R, spw.lam0, spw.M, spw.r, spw.w, spw.t)
a = (M - r) / M
x = sp.Symbol("x", nonnegative=True)
NAMES = ("mix", "mix_fixed", "accumulate", "weighted")

#: The stated closed forms (proofs/poisson_workflows.md, Statement).
MIX_FRESH = lam0 * M * (1 - a ** (2 * t)) / (r * (2 * M - r))
MIX_FIXED = a * MIX_FRESH + lam0 * (1 - a**t) ** 2 / r
WEIGHTED = lam0 * (w**2 / r + (1 - w) ** 2 / M) * (1 - (1 - w) ** (2 * t)) / (w * (2 - w))


def step1_one_step_law(cgf: sp.Expr | None = None) -> None:
    """Poisson CGF by summation; every conditional CGF is A + B L."""
    K = spw.poisson_cgf() if cgf is None else cgf
    assert_equal(K, spw.mu * (sp.exp(theta) - 1), "Poisson CGF")
    for name in NAMES:
        c = spw.conditional_cgf(name)
        assert_zero(sp.diff(c, L, 2), f"{name}: CGF linear in L")
    A, B = spw.mgf_step("mix")
    assert_equal(A, r * lam0 * (sp.exp(theta / M) - 1), "mix A")
    assert_equal(B, (M - r) * (sp.exp(theta / M) - 1), "mix B")


def step2_mean(mean_mix: sp.Expr | None = None) -> None:
    """Conditional means affine with weights summing to one: E Lam_t = lam0."""
    c_mix = spw.conditional_moments("mix")[0] if mean_mix is None else mean_mix
    assert_equal(c_mix, r * lam0 / M + a * L, "mix conditional mean")
    assert_equal(spw.conditional_moments("accumulate")[0], L, "accumulate: martingale")
    assert_equal(spw.conditional_moments("weighted")[0], w * lam0 + (1 - w) * L,
                 "weighted conditional mean")
    assert_equal(spw.conditional_moments("mix_fixed")[0], R / M + a * L, "fixed conditional")
    for name in ("mix", "weighted"):
        c = spw.conditional_moments(name)[0] if name != "mix" or mean_mix is None else c_mix
        assert_zero(c.subs(L, lam0) - lam0, f"{name}: lam0 is the fixed point")
    assert_zero((R / M + a * lam0).subs(R, r * lam0) - lam0, "fixed: E R/M + a lam0 = lam0")


def step3_mix_variance(closed: sp.Expr | None = None) -> None:
    """V_t = lam0/M + a^2 V_{t-1}, V_0 = 0: the stated closed form."""
    _, var_step = spw.moment_recursion("mix")
    assert_equal(var_step.subs(spw.m, lam0), lam0 / M + a**2 * spw.V, "mix variance step")
    derived = spw.mix_variance_closed_form()
    assert_equal(derived, MIX_FRESH if closed is None else closed, "mix closed form")
    assert_equal(1 - a**2, r * (2 * M - r) / M**2, "1 - a^2")


def step4_mix_fixed(closed: sp.Expr | None = None) -> None:
    """Total variance over the reused real set; the limit is (1 + 2a)/(1 + a) lam0 / r."""
    derived = spw.mix_variance_closed_form(fixed_real=True)
    assert_equal(derived, MIX_FIXED if closed is None else closed, "fixed real closed form")
    # the limit (t -> inf with 0 < a < 1): the stated form with X = a^t -> 0
    X = sp.Symbol("X", nonnegative=True)
    stated_x = a * lam0 * M * (1 - X**2) / (r * (2 * M - r)) + lam0 * (1 - X) ** 2 / r
    assert_equal(stated_x.subs(X, a**t), MIX_FIXED, "stated form in X = a^t")
    lim = sp.simplify(stated_x.subs(X, 0))
    assert_equal(lim, lam0 * (1 + 2 * a) / (r * (1 + a)), "fixed real limit")
    ratio = sp.simplify(lim / (lam0 * M / (r * (2 * M - r))))
    assert_equal(ratio, 1 + 2 * a, "worse than fresh data by 1 + 2a")


def step5_accumulate_variance(closed: sp.Expr | None = None) -> None:
    """V_t = (lam0/M) H_t^(2) <= lam0 pi^2/(6M)."""
    derived = spw.accumulate_variance_closed_form()
    assert_equal(derived, lam0 * sp.harmonic(t, 2) / M if closed is None else closed,
                 "accumulate closed form")
    j = sp.Symbol("j", integer=True, positive=True)
    assert_equal(sp.summation(1 / j**2, (j, 1, sp.oo)), sp.pi**2 / 6, "Basel")
    assert_true(sp.limit(sp.harmonic(t, 2), t, sp.oo) == sp.pi**2 / 6, "limit of H_t^(2)")


def step6_weighted(closed: sp.Expr | None = None) -> None:
    """Weighted closed form; the optimum weight for r = M is 1/phi."""
    # rsolve writes q^t = (w - 1)^(2t), the same even power as (1 - w)^(2t)
    derived = spw.weighted_variance_closed_form().subs((w - 1) ** (2 * t), (1 - w) ** (2 * t))
    assert_equal(derived, WEIGHTED if closed is None else closed, "weighted closed form")
    stat = sp.limit(derived.subs({r: M, w: sp.Rational(1, 2)}), t, sp.oo)
    assert_equal(stat, lam0 * sp.Rational(2, 3) / M, "limit at w = 1/2, r = M")
    f = (2 * w**2 - 2 * w + 1) / (w * (2 - w))
    crit = sp.solve(sp.numer(sp.together(sp.diff(f, w))), w)
    golden = (sp.sqrt(5) - 1) / 2
    assert_true(any(sp.simplify(c - golden) == 0 for c in crit), "1/phi is critical")
    assert_equal(f.subs(w, golden), golden, "minimum value 1/phi")


def _u_chain(share: sp.Expr, n: int) -> list[sp.Expr]:
    u = [sp.Integer(1)]
    for _ in range(n):
        u.append(1 - sp.exp(-share * u[-1]))
    return u


def _close(e1: sp.Expr, e2: sp.Expr, what: str, points: list[dict]) -> None:
    """Equal at exact rational points to 40 digits (nested exponentials do not simplify)."""
    for p in points:
        v1, v2 = sp.N(e1.subs(p), 40), sp.N(e2.subs(p), 40)
        if abs(v1 - v2) > sp.Float("1e-35") * (abs(v2) + sp.Float("1e-300")):
            raise StepFailure(f"{what}: {v1} != {v2} at {p}")


POINTS = [{lam0: sp.Rational(2, 5), M: 6, r: 2, w: sp.Rational(3, 10)},
          {lam0: sp.Rational(7, 3), M: 11, r: 5, w: sp.Rational(5, 8)}]


def mix_formula(n: int) -> sp.Expr:
    """The stated P(Lam_n = 0) of mix (fresh)."""
    u = _u_chain(a, n)
    return sp.exp(-lam0 * (r * sum(u[: n - 1]) + M * u[n - 1]))


def step7_mix_extinction(formula: Callable[[int], sp.Expr] | None = None) -> None:
    """Composed MGF limit == the unrolled Laplace sum, t = 1..4."""
    f = mix_formula if formula is None else formula
    A, B = spw.mgf_step("mix")
    assert_equal(sp.limit(A, theta, -sp.oo), -r * lam0, "A -> -r lam0")
    assert_equal(sp.limit(B, theta, -sp.oo), -(M - r), "B -> -(M - r)")
    for n in range(1, 5):
        _close(spw.mix_extinction_expr(n), f(n), f"mix t = {n}", POINTS)


def step8_mix_fixed_extinction(formula: Callable[[int], sp.Expr] | None = None) -> None:
    """Given R = 0 the same composition without the real part; P -> exp(-r lam0)."""
    def stated(n: int) -> sp.Expr:
        u = _u_chain(a, n)
        return sp.exp(-lam0 * (r + (M - r) * u[n - 1]))

    f = stated if formula is None else formula
    for n in range(1, 5):
        _close(spw.mix_extinction_expr(n, fixed_real=True), f(n), f"fixed t = {n}", POINTS)
    A, _ = spw.mgf_step("mix_fixed")
    assert_true(sp.limit(A.subs(R, 1), theta, -sp.oo) == -sp.oo, "R > 0: Lam_t > 0")


def step9_accumulate_extinction(step: sp.Expr | None = None) -> None:
    """P(Lam_t = 0 | L) = 1[L = 0]: only the first batch matters."""
    e = spw.accumulate_zero_step() if step is None else step
    assert_true(e.subs(L, 0) == 1, "L = 0 stays 0")
    for val in (sp.Rational(1, 7), sp.Integer(3)):
        assert_true(e.subs(L, val) == 0, f"L = {val} never returns to 0")
    assert_equal(spw.mix_extinction_expr(1), sp.exp(-M * lam0), "first batch all zeros")


def weighted_formula(n: int) -> sp.Expr:
    """The stated P(Lam_n = 0) of weighted."""
    u = _u_chain(1 - w, n)
    body = r + sum(r * (1 - sp.exp(-w * M * u[k] / r)) for k in range(n - 1)) + M * u[n - 1]
    return sp.exp(-lam0 * body)


def step10_weighted_extinction(formula: Callable[[int], sp.Expr] | None = None) -> None:
    """Composed MGF limit == the stated sum, t = 1..4."""
    f = weighted_formula if formula is None else formula
    for n in range(1, 5):
        _close(spw.weighted_extinction_expr(n), f(n), f"weighted t = {n}", POINTS)


def step11_convergence() -> None:
    """1 - e^{-x} <= x and r(1 - e^{-b u}) <= r b u: the sums converge geometrically."""
    g = x - 1 + sp.exp(-x)
    assert_zero(g.subs(x, 0), "x - 1 + e^{-x} = 0 at 0")
    assert_equal(sp.diff(g, x), 1 - sp.exp(-x), "derivative")
    assert_true(sp.solve(sp.Eq(1 - sp.exp(-x), 0), x) == [0], "derivative > 0 for x > 0")
    # tail bound: sum_{j >= k} M (1 - a) a^{j - k} u_k = M u_k
    j = sp.Symbol("j", integer=True, nonnegative=True)
    q = sp.Symbol("q", positive=True)
    tail = sp.summation(q**j, (j, 0, sp.oo)).args[0][0]  # 1/(1 - q) for |q| < 1
    assert_equal(M * (1 - q) * tail, M, "geometric tail M u_k")


STEPS: list[tuple[int, str, Callable[[], None]]] = [
    (1, "the one-step law", step1_one_step_law),
    (2, "the mean is conserved", step2_mean),
    (3, "the mix variance", step3_mix_variance),
    (4, "the mix variance with one real set", step4_mix_fixed),
    (5, "the accumulate variance", step5_accumulate_variance),
    (6, "the weighted variance and its optimal weight", step6_weighted),
    (7, "the mix extinction probability", step7_mix_extinction),
    (8, "one reused real set", step8_mix_fixed_extinction),
    (9, "accumulate keeps its first batch", step9_accumulate_extinction),
    (10, "weighted is zero iff both parts are", step10_weighted_extinction),
    (11, "the sums converge", step11_convergence),
]


def main() -> int:
    failures = run_steps((str(k), title, fn) for k, title, fn in STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
