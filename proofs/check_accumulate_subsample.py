"""Checks every step of proofs/accumulate_subsample.md with sympy.

Run ``python -m modelcollapse.proofs.check_accumulate_subsample``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. The checks that verify a claimed formula take it as an optional argument so that tests
can feed a wrong one and see the step fail. The derivations are in
:mod:`modelcollapse.theory.symbolic.accumulate_subsample`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from fractions import Fraction

import sympy as sp

from modelcollapse.proofs import StepFailure, assert_equal, assert_zero, run_steps
from modelcollapse.theory.symbolic import accumulate_subsample as sas

N, M, P, rho, ddof, b, t = sas.N, sas.M, sas.P, sas.rho, sas.ddof, sas.b, sas.t
A, B = sas.A, sas.B
H = sp.Symbol("H", positive=True)  # H_t, the harmonic number
#: Generations of the symbolic large-N limits (the exact recursion grows quickly with t).
T_LIMIT = 3
#: Generations of the rational-arithmetic and closed-form comparisons.
T_RATIONAL = 8


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise StepFailure(msg)


def _h2(T: int) -> sp.Expr:
    return sum((sp.Rational(1, k * k) for k in range(1, T + 1)), sp.Integer(0))


def step1_inclusion(probs: tuple[sp.Expr, sp.Expr] | None = None) -> None:
    """P(p in S) = N/P, P(p, q in S) = N(N-1)/(P(P-1)); E|S_s cap S_t| = N^2/(t M)."""
    p1, p2 = sas.inclusion_probabilities() if probs is None else probs
    assert_equal(p1, N / P, "P(p in S)")
    assert_equal(p2, N * (N - 1) / (P * (P - 1)), "P(p, q in S)")
    # brute force on small pools: count subsets
    from itertools import combinations
    for pv, nv in ((5, 2), (6, 3), (7, 7)):
        subs = list(combinations(range(pv), nv))
        one = Fraction(sum(0 in s for s in subs), len(subs))
        two = Fraction(sum(0 in s and 1 in s for s in subs), len(subs))
        for name, count, formula in (("P(p in S)", one, p1), ("P(p, q in S)", two, p2)):
            _require(sp.Rational(count.numerator, count.denominator)
                     == sp.nsimplify(formula.subs({N: nv, P: pv})),
                     f"{name} at P={pv}, N={nv}: {count} by counting")
    # overlap: each of the N points of S_s is in S_t with probability N / (t M)
    overlap = N * p1.subs(P, t * M)
    assert_equal(overlap / N**2, 1 / (t * M), "Cov(xi_s, xi_t) = E|S_s cap S_t| / N^2")


def step2_subsample_moments(moments: tuple[sp.Expr, sp.Expr] | None = None) -> None:
    """E ybar^2 and E SS of a subsample from the pool's A and B."""
    d2, ss = sas.subsample_moments() if moments is None else moments
    assert_equal(d2, A / (N * P) + (1 - 1 / N) * (B - A) / (P * (P - 1)), "D_t")
    assert_equal(ss / (N - ddof), N / (N - ddof) * (A / P - d2), "s_t")


def step3_batch_covariances(T: int = 6) -> None:
    """G_{jk} = (1/(k-1)) sum_{i<k} G_{ji} makes G_{jk} = r_j for all k > j, and B - A."""
    g = sp.symbols(f"g1:{T + 1}", positive=True)  # the diagonal E Y_j^2
    G: dict[tuple[int, int], sp.Expr] = {}
    for k in range(1, T + 1):
        G[(k, k)] = g[k - 1]
        for j in range(1, k):
            G[(j, k)] = sp.cancel(sum(G[(min(i, j), max(i, j))] for i in range(1, k)) / (k - 1))
    r: list[sp.Expr] = []
    for j in range(1, T + 1):
        r.append(sp.cancel((sum(r) + g[j - 1]) / j))
        for k in range(j + 1, T + 1):
            assert_zero(G[(j, k)] - r[j - 1], f"G_({j},{k}) = r_{j}")
    Bt = sum(G[(j, j)] for j in range(1, T + 1)) + 2 * sum(
        G[(i, j)] for j in range(1, T + 1) for i in range(1, j))
    closed = sum(g) + 2 * sum((T - i) * r[i - 1] for i in range(1, T + 1))
    assert_zero(Bt - closed, "B_t = sum E Y_j^2 + 2 sum (t - i) r_i")


def step4_conservation() -> None:
    """ddof = 0: s_t + D_t = A_t/P_t; b = 1: = (1/t) sum_{j<t}(s_j + D_j) = 1 by induction."""
    d2, ss = sas.subsample_moments()
    assert_equal(d2 + ss / N, A / P, "s_t + D_t = A_t / P_t (ddof = 0)")
    for nv, mv in ((2, 3), (3, 3), (5, 9)):
        rec = sas.exact_recursion(T_RATIONAL, ((N, nv), (M, mv), (ddof, 0), (b, 1)))
        for k, (D, s) in enumerate(rec, 1):
            _require(sp.simplify(D + s - 1) == 0, f"s_{k} + D_{k} = {D + s} at N={nv}, M={mv}")


def step5_linear_recursion(
        linear: Callable[..., tuple[tuple[sp.Expr, sp.Expr], ...]] | None = None) -> None:
    """The O(t) recursion (the numeric module's) equals the Gram-matrix one, exactly."""
    rec_lin = sas.linear_recursion if linear is None else linear
    for (D, s), (D2, s2) in zip(sas.exact_recursion(2), rec_lin(2), strict=True):
        assert_zero(D - D2, "D (symbolic)")
        assert_zero(s - s2, "s (symbolic)")
    D1, s1 = sas.exact_recursion(1)[0]
    assert_equal(D1, 1 / N, "D_1")
    assert_equal(s1, (N - 1) / (N - ddof), "s_1")
    cases = ((3, 4, 1, 1), (2, 5, 0, sp.Rational(3, 2)),
             (4, 4, sp.Rational(1, 2), sp.Rational(1, 3)), (10, 10, 1, 1))
    for nv, mv, dv, bv in cases:
        vals = ((N, nv), (M, mv), (ddof, dv), (b, bv))
        pairs = zip(sas.exact_recursion(T_RATIONAL, vals), rec_lin(T_RATIONAL, vals), strict=True)
        for k, ((D, s), (D2, s2)) in enumerate(pairs, 1):
            _require(D == D2 and s == s2, f"t = {k}: ({D}, {s}) vs ({D2}, {s2}) at N={nv}, "
                     f"M={mv}, ddof={dv}, b={bv}")


def step6_large_n_limit(drift: Callable[[int], sp.Expr] | None = None) -> None:
    """N D_t -> the leading-order model's variance (M = N/rho, b = 1, t <= 3)."""
    model = sas.leading_drift if drift is None else drift
    eps = sp.Symbol("eps", positive=True)
    rec = sas.exact_recursion(T_LIMIT, ((b, 1), (M, N / rho)))
    for k, (D, _) in enumerate(rec, 1):
        lim = sp.limit(sp.cancel((N * D).subs(N, 1 / eps)), eps, 0)
        assert_zero(lim - model(k), f"lim N D_{k}")


def step7_closed_form(ratio: sp.Expr | None = None) -> None:
    """N E e_t^2 = 1 + (1 + 2 rho)(H2_t - 1) in the leading-order model (telescoping)."""
    claim = sas.mean_ratio_expr() if ratio is None else ratio
    # the telescoping identity, with H_{t+1} = H_t + 1/(t+1)
    F_step = (H - 1) / (t * (t + 1)) + (H + 1 / (t + 1) - 1) / (t + 1) - (H - 1) / t
    assert_equal(F_step, 1 / (t + 1) ** 2, "F_{t+1} - F_t")
    for T in range(1, T_RATIONAL + 1):
        a = [sp.Rational(1, j + 1) for j in range(1, T)] + [sp.Integer(1)]
        assert_zero(sum(x * x for x in a) - _h2(T), f"sum a_j^2 = H2_{T}")
        assert_zero(sp.expand(claim.subs(t, T).doit()) - sas.leading_drift(T),
                    f"closed form at t = {T}")


def step8_limit(limit: sp.Expr | None = None) -> None:
    """lim = 1 + (1 + 2 rho)(pi^2/6 - 1); pi^2/2 - 2 at rho = 1."""
    lim = sas.ratio_limit_expr() if limit is None else limit
    assert_equal(lim, 1 + (1 + 2 * rho) * (sp.pi**2 / 6 - 1), "limit")
    assert_equal(lim.subs(rho, 1), sp.pi**2 / 2 - 2, "rho = 1")
    _require(bool(lim.subs(rho, 1) > sp.pi**2 / 6), "above accumulate's pi^2/6")


def step9_variance(closed: sp.Expr | None = None) -> None:
    """v_t = delta_t - ddof H_t, and N (1 - s_t) -> v_t for the exact recursion (t <= 3)."""
    claim = sas.leading_variance_expr() if closed is None else closed
    c = sp.Symbol("c", real=True)
    assert_equal((t * c + c - ddof) / (t + 1), c - ddof / (t + 1), "c_{t+1}")
    for T in range(1, T_RATIONAL + 1):
        assert_zero(sp.expand(claim.subs(t, T).doit()) - sas.leading_variance(T),
                    f"v_{T} closed form")
    eps = sp.Symbol("eps", positive=True)
    rec = sas.exact_recursion(T_LIMIT, ((b, 1), (M, N / rho)))
    for k, (_, s) in enumerate(rec, 1):
        lim = sp.limit(sp.cancel((N * (1 - s)).subs(N, 1 / eps)), eps, 0)
        assert_zero(lim - sp.expand(claim.subs(t, k).doit()), f"lim N (1 - s_{k})")


STEPS: list[tuple[str, str, Callable[[], None]]] = [
    ("1", "inclusion probabilities and the overlap of two subsets", step1_inclusion),
    ("2", "the moments of a subsample's mean and sum of squares", step2_subsample_moments),
    ("3", "the batch covariances", step3_batch_covariances),
    ("4", "the conservation law", step4_conservation),
    ("5", "the O(t) recursion", step5_linear_recursion),
    ("6", "the leading-order model is the large-N limit", step6_large_n_limit),
    ("7", "the closed form of the leading-order model", step7_closed_form),
    ("8", "the limit", step8_limit),
    ("9", "the variance to leading order", step9_variance),
]


def main() -> int:
    failures = run_steps(STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
