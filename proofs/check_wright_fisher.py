"""Checks every step of proofs/wright_fisher.md with sympy (exact rational arithmetic).

Run ``python -m modelcollapse.proofs.check_wright_fisher``: prints one line
``Step k: title ... ok`` per labelled step of the Markdown proof (``... FAILED: reason``
otherwise) through :func:`modelcollapse.proofs.run_steps`, and exits with status 1 if any step
fails. Each check takes the formula it verifies as an argument so tests can feed it a wrong one
and see it fail.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable

import sympy as sp

from modelcollapse.proofs import StepFailure, run_steps
from modelcollapse.theory.symbolic import discrete as sd

M, p, n, H0, K, beta = sd.M, sd.p, sd.n, sd.H0, sd.K, sd.beta


class ProofCheckError(StepFailure):
    """A step of the proof did not check out."""


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise ProofCheckError(msg)


def _binom_pmf(Mi: int, prob: sp.Expr, j: int) -> sp.Expr:
    return sp.binomial(Mi, j) * prob**j * (1 - prob) ** (Mi - j)


def _wf_matrix(Mi: int) -> sp.Matrix:
    """Exact two-type Wright-Fisher matrix on {0..Mi} (rationals)."""
    return sp.Matrix(Mi + 1, Mi + 1, lambda j, k: _binom_pmf(Mi, sp.Rational(j, Mi), k))


def step1_moments(second_moment: sp.Expr | None = None) -> None:
    """E c = M p and E c^2 = M p (1-p) + M^2 p^2 from the binomial MGF."""
    m1, m2 = sd.binomial_moments()
    claimed = M * p * (1 - p) + M**2 * p**2 if second_moment is None else second_moment
    _require(sp.simplify(m1 - M * p) == 0, "E c != M p")
    _require(sp.simplify(m2 - claimed) == 0, f"E c^2 = {m2}, claimed {claimed}")


def step2_absorbing(max_M: int = 12) -> None:
    """Deltas are absorbing; any other state leaves with probability >= p_i^M > 0."""
    for Mi in range(1, max_M + 1):
        P = _wf_matrix(Mi)
        _require(P[0, 0] == 1 and P[Mi, Mi] == 1, f"delta not absorbing at M={Mi}")
        for j in range(1, Mi):
            _require(P[j, j] < 1, f"state {j} absorbing at M={Mi}")
            _require(P[j, Mi] == sp.Rational(j, Mi) ** Mi and P[j, Mi] > 0, "escape prob")
    # K = 3 example: a mixed state escapes to a delta with probability p_i^M
    c = (2, 1, 1)
    Mi = sum(c)
    probs = [sp.Rational(ci, Mi) for ci in c]
    stay = (
        sp.factorial(Mi)
        / sp.prod([sp.factorial(ci) for ci in c])
        * sp.prod([q**ci for q, ci in zip(probs, c, strict=True)])
    )
    _require(stay < 1, "K=3 mixed state is absorbing")


def step3_absorption_certain(max_M: int = 6, horizon: int = 12) -> None:
    """P(not absorbed at n) <= (1 - M^-M)^(n-1) and E T <= 1 + M^M."""
    eps = sp.Symbol("epsilon", positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    geo = sp.summation((1 - eps) ** k, (k, 0, sp.oo))
    _require(sp.simplify(sp.piecewise_fold(geo).args[0][0] - 1 / eps) == 0, "geometric sum")
    Mv = sp.Symbol("Mv", positive=True, integer=True)
    _require(sp.simplify(1 / (Mv ** (-Mv)) - Mv**Mv) == 0, "1/eps != M^M")
    for Mi in range(2, max_M + 1):
        P = _wf_matrix(Mi)
        eps_i = sp.Rational(1, Mi**Mi)
        for j in range(1, Mi):
            _require(P[j, 0] + P[j, Mi] >= eps_i, "one-step absorption below M^-M")
        row = sp.Matrix([[_binom_pmf(Mi, sp.Rational(1, 3), j) for j in range(Mi + 1)]])
        for t in range(1, horizon + 1):  # row = law of generation t
            transient = sum(row[1:Mi])
            _require(transient <= (1 - eps_i) ** (t - 1), f"bound fails M={Mi}, n={t}")
            row = row * P


def step4_martingale(first_moment: sp.Expr | None = None) -> None:
    """E[p_{t+1} | p_t] = p_t."""
    rhs = sd.recursions()["first_moment"].rhs if first_moment is None else first_moment
    _require(sp.simplify(rhs - p) == 0, f"E[p'|p] = {rhs} != p")


def step5_fixation(max_M: int = 8, fixation: Callable[[sp.Expr], sp.Expr] | None = None) -> None:
    """Absorption probabilities into M are j/M; averaged over Binomial(M, p) they give p."""
    fix = (lambda x: x) if fixation is None else fixation
    for Mi in range(2, max_M + 1):
        P = _wf_matrix(Mi)
        Q = P[1:Mi, 1:Mi]
        R = P[1:Mi, [0, Mi]]
        B = (sp.eye(Mi - 1) - Q).LUsolve(R)
        for j in range(1, Mi):
            _require(B[j - 1, 1] == fix(sp.Rational(j, Mi)), f"B[{j}, M] wrong at M={Mi}")
        # from generation 0 (probability p, not necessarily a multiple of 1/M)
        h = [sp.Integer(0)] + [B[j - 1, 1] for j in range(1, Mi)] + [sp.Integer(1)]
        avg = sp.expand(sum(_binom_pmf(Mi, p, j) * h[j] for j in range(Mi + 1)))
        _require(sp.simplify(avg - fix(p)) == 0, f"fixation from p wrong at M={Mi}")


def step6_collision_recursion(recursion: sp.Expr | None = None) -> None:
    """E[S' | p] = (1 - 1/M) S + 1/M, derived from Step 1 and summed over symbols."""
    S = sd.S
    derived = sd.recursions()["collision"].rhs
    claimed = (1 - 1 / M) * S + 1 / M if recursion is None else recursion
    _require(sp.simplify(derived - claimed) == 0, f"derived {derived}, claimed {claimed}")
    # independent per-symbol check: E[(c/M)^2] = p(1-p)/M + p^2
    _require(sp.simplify(sd.one_step_square() - (p * (1 - p) / M + p**2)) == 0, "per-symbol")


def _exact_heterozygosity_K3(gens: int) -> sp.Expr:
    """E H_gens for K = 3, M = 3, p0 = (1/2, 1/3, 1/6) by enumerating multinomial outcomes."""
    Mi = 3
    states = [c for c in itertools.product(range(Mi + 1), repeat=3) if sum(c) == Mi]

    def mult_pmf(c, q):
        coef = sp.factorial(Mi) / sp.prod([sp.factorial(ci) for ci in c])
        return coef * sp.prod([qi**ci for qi, ci in zip(q, c, strict=True)])

    law = {None: sp.Integer(1)}
    p0 = (sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6))
    for _ in range(gens):
        new: dict = {}
        for state, w in law.items():
            q = p0 if state is None else tuple(sp.Rational(ci, Mi) for ci in state)
            for c in states:
                new[c] = new.get(c, 0) + w * mult_pmf(c, q)
        law = new
    if gens == 0:
        return 1 - sum(x**2 for x in p0)
    return sum(w * (1 - sum(sp.Rational(ci, Mi) ** 2 for ci in c)) for c, w in law.items())


def step7_heterozygosity(solution: sp.Expr | None = None) -> None:
    """E H_n = (1 - 1/M)^n H_0 (rsolve) and exact enumeration for K = M = 3."""
    sol = sd.solutions()["heterozygosity"] if solution is None else solution
    target = (1 - 1 / M) ** n * H0
    for nv in range(0, 6):
        for Mv in (1, 2, 3, 7, 50):
            diff = sol.subs({n: nv, M: Mv}) - target.subs({n: nv, M: Mv})
            _require(sp.simplify(diff) == 0, f"rsolve solution differs at n={nv}, M={Mv}")
    H0v = 1 - (sp.Rational(1, 4) + sp.Rational(1, 9) + sp.Rational(1, 36))
    for gens in (0, 1, 2):
        exact = _exact_heterozygosity_K3(gens)
        _require(
            sp.simplify(exact - sol.subs({n: gens, M: 3, H0: H0v})) == 0,
            f"enumeration differs at generation {gens}",
        )


def step8_sq_distance(solution: sp.Expr | None = None) -> None:
    """E||p_n - p0||^2 = H0 (1 - (1 - 1/M)^n)."""
    sol = sd.solutions()["sq_distance"] if solution is None else solution
    target = H0 * (1 - (1 - 1 / M) ** n)
    for nv in range(0, 6):
        for Mv in (1, 2, 5, 40):
            diff = sol.subs({n: nv, M: Mv}) - target.subs({n: nv, M: Mv})
            _require(sp.simplify(diff) == 0, f"sq distance differs at n={nv}, M={Mv}")


def step9_smoothing(stationary: sp.Expr | None = None) -> None:
    """Smoothed chain: a < 1, unique fixed point H* > 0 for K >= 2, beta > 0."""
    Hs = sd.solutions()["smoothed_stationary_heterozygosity"] if stationary is None else stationary
    target = (K - 1) * beta * (2 * M + K * beta) / (K * beta * (2 * M + K * beta) + M)
    _require(sp.simplify(Hs - target) == 0, f"stationary H* = {Hs}")
    a, _ = sd._linear_coefficients(sd.recursions()["smoothed_collision"].rhs)
    # 1 - a = (K beta (2M + K beta) + M) / (M + K beta)^2 > 0
    _require(
        sp.simplify((1 - a) * (M + K * beta) ** 2 - (K * beta * (2 * M + K * beta) + M)) == 0,
        "1 - a",
    )
    # positivity: substitute K = 2 + k, beta = b > 0; numerator and denominator are polynomials
    # with non-negative coefficients and a positive term.
    kk, bb, mm = sp.symbols("k b m", nonnegative=True)
    num, den = sp.fraction(sp.together(Hs.subs({K: 2 + kk, beta: bb, M: 1 + mm})))
    for poly_expr in (sp.expand(num / bb), sp.expand(den)):
        coeffs = sp.Poly(poly_expr, kk, bb, mm).coeffs()
        _require(all(c >= 0 for c in coeffs) and any(c > 0 for c in coeffs), "sign")
    # the recursion's fixed point is reached: smoothed heterozygosity at n -> inf
    lim = sd.solutions()["smoothed_heterozygosity"].subs({M: 10, K: 4, beta: sp.Rational(1, 2)})
    hs = Hs.subs({M: 10, K: 4, beta: sp.Rational(1, 2)})
    _require(sp.limit(lim.subs(H0, 0), n, sp.oo) == hs, "limit of the smoothed solution")


STEPS: list[tuple[int, str, Callable[[], None]]] = [
    (1, "one-step multinomial moments", step1_moments),
    (2, "deltas are the only absorbing states", step2_absorbing),
    (3, "absorption has probability 1", step3_absorption_certain),
    (4, "frequencies are martingales", step4_martingale),
    (5, "fixation probability equals the original probability", step5_fixation),
    (6, "collision probability recursion", step6_collision_recursion),
    (7, "exact heterozygosity decay", step7_heterozygosity),
    (8, "expected squared distance", step8_sq_distance),
    (9, "add-beta smoothing: positive stationary heterozygosity", step9_smoothing),
]


def main() -> int:
    failures = run_steps((str(k), title, fn) for k, title, fn in STEPS)
    return min(failures, 1)


if __name__ == "__main__":
    sys.exit(main())
