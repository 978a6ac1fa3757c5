"""Checks every step of proofs/discrete_drift.md with sympy (exact rational arithmetic).

Run ``python -m modelcollapse.proofs.check_discrete_drift``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. Each check takes the formula it verifies as an optional argument so that tests can feed it
a wrong one and see it fail.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from fractions import Fraction

import sympy as sp

from modelcollapse.proofs import StepFailure, assert_equal, assert_true, assert_zero, run_steps
from modelcollapse.theory.symbolic import discrete_drift as dd

M, n, V, mu2, mu3, mu4, F0 = dd.M, dd.n, dd.V, dd.mu2, dd.mu3, dd.mu4, dd.F0

P0 = (Fraction(1, 2), Fraction(1, 3), Fraction(1, 6))
X = (Fraction(0), Fraction(1), Fraction(3))  # an uneven support


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise StepFailure(msg)


def _falling(m: sp.Expr, k: int) -> sp.Expr:
    return sp.prod([m - j for j in range(k)]) if k else sp.Integer(1)


def _q(expr: sp.Expr, subs: dict) -> Fraction:
    val = sp.nsimplify(sp.simplify(sp.sympify(expr).subs(subs)))
    if not val.is_Rational:
        raise StepFailure(f"not a rational value: {val}")
    return Fraction(int(val.p), int(val.q))


# --------------------------------------------------------------------------------------------
# brute-force observables of the full chain (exact)
# --------------------------------------------------------------------------------------------
def _stats(p: Sequence[Fraction], x: Sequence[Fraction] = X) -> dict[str, Fraction]:
    m = sum((pi * xi for pi, xi in zip(p, x, strict=True)), Fraction(0))
    v = sum((pi * (xi - m) ** 2 for pi, xi in zip(p, x, strict=True)), Fraction(0))
    return {"m": m, "v": v}


def _cdf(p: Sequence[Fraction]) -> list[Fraction]:
    out, acc = [], Fraction(0)
    for pi in p[:-1]:
        acc += pi
        out.append(acc)
    return out


def _expect(Mi: int, gens: int, fn: Callable[[list[Fraction]], Fraction],
            p0: Sequence[Fraction] = P0) -> Fraction:
    law = dd.full_chain_law(p0, Mi, gens)
    return sum((w * fn([Fraction(c, Mi) for c in state]) for state, w in law.items()),
               Fraction(0))


def _cases(max_M: int = 4, max_n: int = 3) -> list[tuple[int, int]]:
    return [(Mi, g) for Mi in range(1, max_M + 1) for g in range(1, max_n + 1)]


def _base_subs() -> dict:
    s0 = _stats(P0)
    mu = {a: sum((pi * (xi - s0["m"]) ** a for pi, xi in zip(P0, X, strict=True)), Fraction(0))
          for a in (2, 3, 4)}
    return {V: sp.Rational(s0["v"].numerator, s0["v"].denominator),
            mu2: sp.Rational(mu[2].numerator, mu[2].denominator),
            mu4: sp.Rational(mu[4].numerator, mu[4].denominator)}


# --------------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------------
def step1_moments(moment: Callable[[tuple[int, ...]], sp.Expr] | None = None) -> None:
    """MGF derivatives equal the factorial-moment formula, K = 3, total order <= 4."""
    mom = dd.multinomial_moment if moment is None else moment
    p = sp.symbols("p1:4", positive=True)
    for ks in [(a, b, k) for a in range(5) for b in range(5) for k in range(5)
               if 0 < a + b + k <= 4]:
        # prod c_i^{k_i} as a combination of falling factorials (Stirling numbers of 2nd kind)
        target = sp.Integer(1)
        for ki, pi in zip(ks, p, strict=True):
            target *= sum(sp.functions.combinatorial.numbers.stirling(ki, j) * sp.Symbol(f"f{j}")
                          * pi**j for j in range(ki + 1))
        # replace prod over i of falling factorial moments: E prod c_i^(j_i) = M^(sum j) prod p^j
        poly = sp.Poly(sp.expand(target), *[sp.Symbol(f"f{j}") for j in range(5)])
        value = sp.Integer(0)
        for monom, coeff in poly.terms():
            order = sum(j * e for j, e in enumerate(monom))
            value += coeff * _falling(M, order)
        assert_equal(sp.expand(mom(ks)), sp.expand(value), f"E c^{ks}")
    _require(sp.expand(dd.multinomial_moment((1, 1)) - M * (M - 1) * p[0] * p[1]) == 0, "E c1 c2")


def _power_sum_from_counts(orders: tuple[int, ...], K: int) -> sp.Expr:
    """E[prod A'_{a_k}] from the multinomial moments of Step 1 (symbolic x, p)."""
    x = sp.symbols(f"x1:{K + 1}", real=True)
    c = sp.symbols(f"c1:{K + 1}")
    prod = sp.Integer(1)
    for a in orders:
        prod *= sum(xi**a * ci for xi, ci in zip(x, c, strict=True)) / M
    poly = sp.Poly(sp.expand(prod), *c)
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        total += coeff * dd.multinomial_moment(tuple(monom))
    return sp.expand(total)


def step2_power_sums(closed: Callable[[tuple[int, ...]], sp.Expr] | None = None) -> None:
    """Set-partition formula = multinomial moments (K = 3, order <= 3; K = 2, order 4)."""
    fn = dd.power_sum_moment if closed is None else closed
    for K, orders_list in ((3, [(1,), (2,), (1, 1), (2, 1), (1, 1, 1)]),
                           (2, [(4,), (3, 1), (2, 2), (2, 1, 1), (1, 1, 1, 1)])):
        x = sp.symbols(f"x1:{K + 1}", real=True)
        p = sp.symbols(f"p1:{K + 1}", positive=True)
        A = dd.power_sum_symbols(4)
        power = {A[a - 1]: sum(pi * xi**a for pi, xi in zip(p, x, strict=True))
                 for a in range(1, 5)}
        for orders in orders_list:
            derived = sp.expand(fn(orders).subs(power))
            from_counts = _power_sum_from_counts(orders, K)
            assert_zero(sp.expand(derived - from_counts), f"E prod A' for {orders}, K = {K}")


def step3_mean_drift(solution: sp.Expr | None = None) -> None:
    """E[m'|p] = m, E[m'^2|p] = m^2 + v/M, D_n = V (1 - (1 - 1/M)^n); full chain."""
    rec = dd.recursions()
    m, v = dd._m, dd._v
    assert_equal(rec["mean"].rhs, m, "E[m'|p]")
    assert_equal(rec["mean_square"].rhs, m**2 + v / M, "E[m'^2|p]")
    sol = dd.solutions()["expected_mean_drift"] if solution is None else solution
    target = V * (1 - (1 - 1 / M) ** n)
    for nv in range(0, 6):
        for Mv in (1, 2, 3, 7, 50):
            assert_zero(sp.simplify((sol - target).subs({n: nv, M: Mv})), f"n={nv}, M={Mv}")
    s0 = _stats(P0)
    for Mi, g in _cases():
        exact = _expect(Mi, g, lambda q: (_stats(q)["m"] - s0["m"]) ** 2)
        _require(exact == _q(sol, {n: g, M: Mi, **_base_subs()}),
                 f"full chain E(m_n - m_0)^2 differs at M={Mi}, n={g}")


def step4_variance_decay(solution: sp.Expr | None = None) -> None:
    """E[v'|p] = (1 - 1/M) v and E v_n = V (1 - 1/M)^n; full chain."""
    assert_equal(dd.recursions()["support_variance"].rhs, (1 - 1 / M) * dd._v, "E[v'|p]")
    sol = dd.solutions()["expected_support_variance"] if solution is None else solution
    for nv in range(0, 6):
        for Mv in (1, 2, 3, 7, 50):
            assert_zero(sp.simplify((sol - V * (1 - 1 / M) ** n).subs({n: nv, M: Mv})),
                        f"n={nv}, M={Mv}")
    for Mi, g in _cases():
        exact = _expect(Mi, g, lambda q: _stats(q)["v"])
        _require(exact == _q(sol, {n: g, M: Mi, **_base_subs()}),
                 f"full chain E v_n differs at M={Mi}, n={g}")


def step5_variance_variance(solution: sp.Expr | None = None) -> None:
    """Triangular closed system, eigenvalues prod (1 - j/M), shift invariance, closed form."""
    mons, T, eig = dd.variance_moment_system()
    for i in range(T.rows):
        for j in range(i + 1, T.cols):
            _require(sp.simplify(T[i, j]) == 0, "T is not lower triangular")
        b = len(mons[i])
        assert_equal(eig[i], sp.prod([1 - sp.Integer(k) / M for k in range(b)]), f"eig {i}")
    A = dd.power_sum_symbols(4)
    mon = [sp.prod([A[a - 1] for a in q]) for q in mons]
    v2 = sp.Poly(sp.expand((A[1] - A[0] ** 2) ** 2), *A)
    w = sp.Matrix([[v2.coeff_monomial(e) for e in mon]])
    # shift invariance: raw power sums of a support shifted by h, about a mean h
    h = sp.Symbol("h", real=True)
    raw = {A[a - 1]: sum(sp.binomial(a, k) * h ** (a - k) * mk
                         for k, mk in enumerate([1, 0, mu2, mu3, mu4][: a + 1]))
           for a in range(1, 5)}
    u_raw = sp.Matrix([e.subs(raw) for e in mon])
    u_c = sp.Matrix([e.subs({A[0]: 0, A[1]: mu2, A[2]: mu3, A[3]: mu4}) for e in mon])
    for k in (0, 1, 2):
        assert_zero(sp.expand((w * T**k * (u_raw - u_c))[0, 0]), f"shift at power {k}")
    second = dd.support_variance_second_moment()
    _require(not second.has(mu3), "mu3 should drop out")
    for k in range(0, 7):
        assert_zero(sp.simplify(second.subs(n, k) - (w * T**k * u_c)[0, 0]), f"T^{k}")
    sol = dd.solutions()["support_variance_variance"] if solution is None else solution
    for Mi, g in _cases():
        Ev = _expect(Mi, g, lambda q: _stats(q)["v"])
        Ev2 = _expect(Mi, g, lambda q: _stats(q)["v"] ** 2)
        _require(Ev2 - Ev**2 == _q(sol, {n: g, M: Mi, **_base_subs()}),
                 f"full chain Var(v_n) differs at M={Mi}, n={g}")


def step6_lumpability(max_K: int = 4) -> None:
    """Lumped count has the Binomial(M, F(j)) MGF; full chain lumped law = two-allele chain."""
    for K in range(2, max_K + 1):
        for j in range(1, K + 1):
            lumped, binom = dd.lumped_count_mgf(K, j)
            _require(lumped.exp == binom.exp == M, "the MGFs are not M-th powers")
            assert_zero(sp.expand(lumped.base - binom.base), f"lumped MGF K={K}, j={j}")
    Mi = 4
    for g in (1, 2, 3):
        law = dd.full_chain_law(P0, Mi, g)
        for j, F in enumerate(_cdf(list(P0)), start=1):
            lumped = [Fraction(0)] * (Mi + 1)
            for state, w in law.items():
                lumped[sum(state[:j])] += w
            two = dd._binomial_row(Mi, F)
            rows = [dd._binomial_row(Mi, Fraction(k, Mi)) for k in range(Mi + 1)]
            for _ in range(g - 1):
                two = [sum((two[k] * rows[k][i] for k in range(Mi + 1)), Fraction(0))
                       for i in range(Mi + 1)]
            _require(lumped == two, f"lumped law differs at j={j}, n={g}")


def step7_reduction(abs_dev: Callable[[int, int, Fraction], Fraction] | None = None) -> None:
    """E W1 and E TV of the full chain = sums of two-allele E|G_n - G_0|."""
    fn = dd.two_allele_abs_deviation if abs_dev is None else abs_dev
    F0s = _cdf(list(P0))
    dx = [X[j + 1] - X[j] for j in range(len(X) - 1)]
    for Mi, g in _cases(4, 3):
        w1 = _expect(Mi, g, lambda q: sum((d * abs(a - b) for d, a, b in
                                           zip(dx, _cdf(q), F0s, strict=True)), Fraction(0)))
        tv = _expect(Mi, g, lambda q: sum((abs(a - b) for a, b in zip(q, P0, strict=True)),
                                          Fraction(0)) / 2)
        w1_red = sum((d * fn(g, Mi, F) for d, F in zip(dx, F0s, strict=True)), Fraction(0))
        tv_red = sum((fn(g, Mi, pi) for pi in P0), Fraction(0)) / 2
        _require(w1 == w1_red, f"E W1 reduction fails at M={Mi}, n={g}")
        _require(tv == tv_red, f"E TV reduction fails at M={Mi}, n={g}")


def step8_cramer(solution: sp.Expr | None = None) -> None:
    """E (F_n - F_0)^2 = F0 (1 - F0) (1 - (1 - 1/M)^n); Cramer^2 of the full chain."""
    rec = dd.recursions()
    F = dd._F
    assert_equal(rec["cdf"].rhs, F, "E[F'|F]")
    assert_equal(rec["cdf_square"].rhs, (1 - 1 / M) * F**2 + F / M, "E[F'^2|F]")
    sol = dd.solutions()["cdf_sq_deviation"] if solution is None else solution
    for nv in range(0, 6):
        for Mv in (1, 2, 5, 40):
            target = F0 * (1 - F0) * (1 - (1 - 1 / M) ** n)
            assert_zero(sp.simplify((sol - target).subs({n: nv, M: Mv})), f"n={nv}, M={Mv}")
    F0s = _cdf(list(P0))
    dx = [X[j + 1] - X[j] for j in range(len(X) - 1)]
    for Mi, g in _cases():
        exact = _expect(Mi, g, lambda q: sum((d * (a - b) ** 2 for d, a, b in
                                              zip(dx, _cdf(q), F0s, strict=True)), Fraction(0)))
        closed = sum((d * _q(sol, {n: g, M: Mi, F0: sp.Rational(Fv.numerator, Fv.denominator)})
                      for d, Fv in zip(dx, F0s, strict=True)), Fraction(0))
        _require(exact == closed, f"E Cramer^2 differs at M={Mi}, n={g}")


def step9_absorbed_law(Mi: int = 3) -> None:
    """Absorption probabilities of the full chain (K = 3) averaged over the first step = p0."""
    states = dd._compositions(Mi, 3)
    deltas = [s for s in states if max(s) == Mi]
    trans = [s for s in states if max(s) < Mi]
    one = {s: dd.full_chain_law([Fraction(c, Mi) for c in s], Mi, 1) for s in trans}
    Q = sp.Matrix(len(trans), len(trans),
                  lambda a, b: sp.Rational(one[trans[a]].get(trans[b], Fraction(0))))
    R = sp.Matrix(len(trans), 3,
                  lambda a, b: sp.Rational(one[trans[a]].get(deltas[b], Fraction(0))))
    B = (sp.eye(len(trans)) - Q).LUsolve(R)
    first = dd.full_chain_law(P0, Mi, 1)
    for b, d in enumerate(deltas):
        i = d.index(Mi)
        prob = sp.Rational(first.get(d, Fraction(0)))
        prob += sum(sp.Rational(first.get(s, Fraction(0))) * B[a, b] for a, s in enumerate(trans))
        _require(prob == sp.Rational(P0[i]), f"P(I = {i + 1}) = {prob} != {P0[i]}")


def step10_limits(max_K: int = 4, limits: Callable[[int], dict] | None = None) -> None:
    """Limits from the absorbed law equal the stated sums, K = 2..4; limits of closed forms."""
    fn = dd.absorbed_limits if limits is None else limits
    for K in range(2, max_K + 1):
        lim = fn(K)
        p = sp.symbols(f"p1:{K + 1}", positive=True)
        d = sp.symbols(f"d1:{K}", positive=True)
        x = [sp.Symbol("x1", real=True) + sum(d[:k]) for k in range(K)]
        one = {p[-1]: 1 - sum(p[:-1])}
        mean = sum(pi * xi for pi, xi in zip(p, x, strict=True))
        var = sum(pi * (xi - mean) ** 2 for pi, xi in zip(p, x, strict=True))
        F = [sum(p[: j + 1]) for j in range(K - 1)]
        w1 = sum(p[i] * p[j] * sum(d[min(i, j):max(i, j)]) for i in range(K) for j in range(K))
        target = {
            "total_variation": 1 - sum(q**2 for q in p),
            "w1": w1,
            "w2_squared": 2 * var,
            "cramer_squared": sum(dj * Fj * (1 - Fj) for dj, Fj in zip(d, F, strict=True)),
        }
        for key, val in target.items():
            assert_zero(sp.expand((lim[key] - val).subs(one)), f"{key} limit, K = {K}")
    sol = dd.solutions()
    assert_equal(sol["mean_drift_limit"], V, "lim E(m_n - m_0)^2")
    assert_equal(sol["cdf_sq_deviation_limit"], F0 * (1 - F0), "lim E(F_n - F_0)^2")
    assert_equal(sol["w2_squared_limit"], 2 * V, "W2^2 limit")
    assert_equal(sol["total_variation_limit"], 1 - dd.S0, "TV limit")
    assert_true(sp.limit(sol["expected_support_variance"].subs(M, 10), n, sp.oo) == 0,
                "variance decays to 0")


STEPS: list[tuple[int, str, Callable[[], None]]] = [
    (1, "one-step multinomial moments", step1_moments),
    (2, "products of power sums are closed under one step", step2_power_sums),
    (3, "mean martingale and mean-drift law", step3_mean_drift),
    (4, "variance decay", step4_variance_decay),
    (5, "second moment and variance of the support variance", step5_variance_variance),
    (6, "lumpability: cumulative counts are two-allele chains", step6_lumpability),
    (7, "W1 and TV reduce to two-allele chains", step7_reduction),
    (8, "Cramer distance in closed form", step8_cramer),
    (9, "absorbed law: point mass at a symbol drawn from p0", step9_absorbed_law),
    (10, "limits of TV, W1, W2^2 and Cramer", step10_limits),
]


def main() -> int:
    failures = run_steps((str(k), title, fn) for k, title, fn in STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
