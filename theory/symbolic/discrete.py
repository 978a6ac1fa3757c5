"""Symbolic derivation of the categorical (Wright-Fisher) moment recursions.

Everything here is derived by sympy from the one-step law of the refit, not typed in:

1. the moments of ``c ~ Binomial(M, p)`` (the marginal of ``Multinomial(M, p)``) come from
   differentiating its moment generating function ``(1 - p + p e^s)^M`` at ``s = 0``;
2. the expected next-generation value of ``q_i^2`` (plain refit ``q = c/M``, add-beta refit
   ``q = (c + beta)/(M + K beta)``) is a polynomial ``alpha p_i^2 + beta' p_i + gamma`` in the
   current ``p_i``; summing over ``K`` symbols with ``sum p_i = 1`` and ``sum p_i^2 = S`` gives a
   linear recursion ``S_{t+1} = a S_t + b`` for ``S_t = E sum_i p_{t,i}^2``;
3. ``sympy.rsolve`` solves the recursions; ``sympy.solve`` gives their fixed points.

Conventions: generation 0 is the original distribution ``p0`` (``S_0 = sum p0^2``,
``H_0 = 1 - S_0``); generation ``n`` is after ``n`` refits on ``M`` samples.

Access: :func:`recursions` (sympy equations), :func:`solutions` (closed forms) and
:func:`lambdified` (NumPy callables). Argument orders are listed in :data:`ARGUMENTS`. The
symbols of the closed forms are exported: ``n`` (generation, integer ``>= 0``), ``M``
(samples per generation), ``K`` (symbols), ``beta`` (pseudo-count), ``N`` (fresh real samples),
``m`` (named ``n_synth``: synthetic samples), ``S0``, ``H0`` and ``Hstar`` (the collision
probability and heterozygosity of ``p0``). The NumPy versions of these formulas are in
:mod:`modelcollapse.theory.discrete`.

References
----------
Ewens, *Mathematical Population Genetics* (2004), ch. 1; Shumailov et al. (2024).

Examples
--------
>>> from modelcollapse.theory.symbolic.discrete import ARGUMENTS
>>> ARGUMENTS["smoothed_stationary_heterozygosity"]
('K', 'M', 'beta')
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from modelcollapse.spec import params as P

__all__ = [
    "ARGUMENTS",
    "VALIDATORS",
    "n",
    "M",
    "K",
    "beta",
    "N",
    "m",
    "S0",
    "H0",
    "Hstar",
    "binomial_moments",
    "one_step_square",
    "recursions",
    "solutions",
    "lambdified",
]

n = sp.Symbol("n", integer=True, nonnegative=True)
t = sp.Symbol("t", integer=True, nonnegative=True)
M = sp.Symbol("M", positive=True)
K = sp.Symbol("K", positive=True)
beta = sp.Symbol("beta", nonnegative=True)
N = sp.Symbol("N", nonnegative=True)
m = sp.Symbol("n_synth", positive=True)
S0 = sp.Symbol("S0", nonnegative=True)
H0 = sp.Symbol("H0", nonnegative=True)
Hstar = sp.Symbol("Hstar", nonnegative=True)
p = sp.Symbol("p", nonnegative=True)
S = sp.Symbol("S", nonnegative=True)
s = sp.Symbol("s")
_f = sp.Function("f")

#: Argument order of each lambdified closed form.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "collision": ("n", "S0", "M"),
    "heterozygosity": ("n", "H0", "M"),
    "sq_distance": ("n", "H0", "M"),
    "smoothed_collision": ("n", "S0", "M", "K", "beta"),
    "smoothed_heterozygosity": ("n", "H0", "M", "K", "beta"),
    "smoothed_stationary_heterozygosity": ("K", "M", "beta"),
    "mixed_sq_distance": ("n", "Hstar", "N", "n_synth"),
    "mixed_sq_distance_limit": ("Hstar", "N", "n_synth"),
}


#: How each argument of a lambdified solution is validated (the parameter vocabulary).
VALIDATORS: dict[str, P.Param] = {
    "n": P.n,
    "M": P.M,
    "K": P.K,
    "beta": P.beta,
    "S0": P.Param("S0", "collision probability sum p0^2 of generation 0", low=0.0, high=1.0),
    "H0": P.Param("H0", "heterozygosity 1 - sum p0^2 of generation 0", low=0.0, high=1.0),
    "Hstar": P.Param("Hstar", "heterozygosity 1 - sum p0^2 of the real data", low=0.0, high=1.0),
    "N": P.Param("N", "fresh real samples per generation", integer=True, low=0),
    "n_synth": P.Param("n_synth", "synthetic samples per generation", integer=True, low=0),
}


def binomial_moments(trials: sp.Expr = M, prob: sp.Expr = p) -> tuple[sp.Expr, sp.Expr]:
    """``(E c, E c^2)`` for ``c ~ Binomial(trials, prob)``, from the MGF's derivatives at 0.

    Formula: with ``G(s) = (1 - prob + prob e^s)^trials``, ``E c = G'(0) = trials prob`` and
    ``E c^2 = G''(0) = trials prob (1 - prob) + trials^2 prob^2``.

    Parameters
    ----------
    trials : sympy expression, optional
        Number of trials; default the symbol ``M``.
    prob : sympy expression, optional
        Success probability; default the symbol ``p`` (nonnegative).

    Returns
    -------
    tuple of sympy.Expr
        ``(E c, E c^2)``, expanded.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import M, binomial_moments
    >>> p = sp.Symbol("p", nonnegative=True)
    >>> m1, m2 = binomial_moments()
    >>> m1
    M*p
    >>> sp.expand(m2 - m1**2 - M * p * (1 - p))
    0
    >>> binomial_moments(3, sp.Rational(1, 2))
    (3/2, 3)
    """
    mgf = (1 - prob + prob * sp.exp(s)) ** trials
    m1 = sp.simplify(sp.diff(mgf, s).subs(s, 0))
    m2 = sp.simplify(sp.diff(mgf, s, 2).subs(s, 0))
    return sp.expand(m1), sp.expand(m2)


def one_step_square(smoothing: bool = False) -> sp.Expr:
    """``E[q_i'^2 | p]`` after one refit, as a polynomial in the current ``p_i = p``.

    Formula: plain refit ``q' = c / M``: ``E[c^2] / M^2 = p^2 (1 - 1/M) + p / M``. Add-beta:
    ``q' = (c + beta) / (M + K beta)``: ``(E[c^2] + 2 beta E[c] + beta^2) / (M + K beta)^2``, with
    ``c ~ Binomial(M, p)`` (moments from :func:`binomial_moments`).

    Parameters
    ----------
    smoothing : bool, optional
        Whether the refit is add-beta smoothed (default ``False``: the plain refit).

    Returns
    -------
    sympy.Expr
        The conditional second moment, expanded, in the symbols ``p``, ``M`` (and ``K``, ``beta``
        when smoothed).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import beta, one_step_square
    >>> one_step_square()
    p**2 - p**2/M + p/M
    >>> sp.simplify(one_step_square(smoothing=True).subs(beta, 0) - one_step_square())
    0
    """
    m1, m2 = binomial_moments()
    if not smoothing:
        return sp.expand(m2 / M**2)
    D = M + K * beta
    return sp.expand((m2 + 2 * beta * m1 + beta**2) / D**2)


def _sum_over_symbols(expr: sp.Expr) -> sp.Expr:
    """Sum ``alpha p^2 + b p + c`` over ``K`` symbols using ``sum p = 1``, ``sum p^2 = S``."""
    poly = sp.Poly(sp.expand(expr), p)
    if poly.degree() > 2:
        raise AssertionError("second-moment recursion is not quadratic in p")
    a2 = poly.coeff_monomial(p**2)
    a1 = poly.coeff_monomial(p)
    a0 = poly.coeff_monomial(1)
    return sp.expand(a2 * S + a1 + K * a0)


def _linear_coefficients(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    poly = sp.Poly(sp.expand(expr), S)
    if poly.degree() > 1:
        raise AssertionError("recursion is not linear in S")
    return sp.simplify(poly.coeff_monomial(S)), sp.simplify(poly.coeff_monomial(1))


@lru_cache(maxsize=1)
def recursions() -> dict[str, sp.Eq]:
    """One-step recursions, each as ``Eq(next, f(current))`` in the symbol ``S`` (or ``D``).

    Keys: ``"first_moment"`` (``E[p'_i | p] = p_i``: the martingale property),
    ``"collision"`` (``E S' = a S + b``), ``"smoothed_collision"``, ``"mixed_sq_distance"``
    (in ``D = E||p - p*||^2``).

    Returns
    -------
    dict of str to sympy.Eq
        The four recursions: the left-hand side is a fresh symbol for the next value
        (``Ep_next``, ``S_next``, ``D_next``), the right-hand side a function of the current
        ``p``, ``S`` or ``D`` and of ``M``, ``K``, ``beta``, ``N``, ``n_synth``, ``Hstar``.

    Notes
    -----
    Derived once and cached (~0.4 s for the first call).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import M, recursions
    >>> rec = recursions()
    >>> sorted(rec)
    ['collision', 'first_moment', 'mixed_sq_distance', 'smoothed_collision']
    >>> rec["first_moment"]
    Eq(Ep_next, p)
    >>> S = sp.Symbol("S", nonnegative=True)
    >>> sp.simplify(rec["collision"].rhs - (S * (1 - 1 / M) + 1 / M))
    0
    """
    m1, _ = binomial_moments()
    Snext = sp.Symbol("S_next")
    out = {
        "first_moment": sp.Eq(sp.Symbol("Ep_next"), sp.simplify(m1 / M)),
        "collision": sp.Eq(Snext, sp.collect(_sum_over_symbols(one_step_square()), S)),
        "smoothed_collision": sp.Eq(
            Snext, sp.collect(sp.simplify(_sum_over_symbols(one_step_square(True))), S)
        ),
    }
    # Mixing: p' = (X + Y)/T, X ~ Mult(N, p*), Y ~ Mult(m, p); per symbol, given p, with
    # E p = p*: E||p' - p*||^2 = sum_i [ (E p'_i - p*_i)^2 + Var(p'_i) ].
    T = N + m
    pst, pi = sp.symbols("pstar p_i", nonnegative=True)
    a = m / T
    mean_dev = a * (pi - pst)
    var = (N * pst * (1 - pst) + m * pi * (1 - pi)) / T**2
    D, Dn = sp.symbols("D D_next", nonnegative=True)
    per_symbol = sp.expand(mean_dev**2 + var)
    # sum over symbols: sum (p_i - p*_i)^2 = D; sum p*_i (1 - p*_i) = Hstar;
    # sum p_i (1 - p_i) = 1 - sum p_i^2 = Hstar - D - 2 sum p*_i (p_i - p*_i), whose expectation
    # is Hstar - D because E p_i = p*_i (mixing from p_0 = p*).
    d = sp.Symbol("d")  # p_i - p*_i
    per_symbol = sp.expand(per_symbol.subs(pi, pst + d))
    poly = sp.Poly(per_symbol, d)
    c2, c1, c0 = poly.coeff_monomial(d**2), poly.coeff_monomial(d), poly.coeff_monomial(1)
    # sum_i c0(p*_i): linear in p*_i and p*_i^2 -> express via Hstar (sum p* = 1).
    c0p = sp.Poly(sp.expand(c0), pst)
    sum_c0 = (
        c0p.coeff_monomial(pst**2) * (1 - Hstar)
        + c0p.coeff_monomial(pst)
        + K * c0p.coeff_monomial(1)
    )
    # c1 multiplies d_i times a polynomial in p*_i of degree <= 1: E d_i = 0 kills the constant
    # part; the p*_i d_i part has sum_i p*_i E d_i = 0 too.
    c1p = sp.Poly(sp.expand(c1), pst)
    if c1p.degree() > 1:
        raise AssertionError("unexpected cross term in the mixing recursion")
    out["mixed_sq_distance"] = sp.Eq(Dn, sp.collect(sp.simplify(c2 * D + sum_c0), D))
    return out


def _solve_linear(a: sp.Expr, b: sp.Expr, init: sp.Expr) -> sp.Expr:
    """Solve ``x_{t+1} = a x_t + b``, ``x_0 = init`` with ``rsolve``; return ``x_n``."""
    sol = sp.rsolve(_f(t + 1) - a * _f(t) - b, _f(t), {_f(0): init})
    if sol is None:
        raise AssertionError("rsolve failed")
    return sp.simplify(sol.subs(t, n))


@lru_cache(maxsize=1)
def solutions() -> dict[str, sp.Expr]:
    """Closed forms of the recursions, keyed like :data:`ARGUMENTS` (free symbols listed there).

    Formulas (solved by ``sympy.rsolve`` from :func:`recursions`, fixed points by
    ``sympy.solve``): ``collision``, ``heterozygosity`` and ``sq_distance`` of the plain refit;
    ``smoothed_collision``, ``smoothed_heterozygosity`` and
    ``smoothed_stationary_heterozygosity`` of the add-beta refit; ``mixed_sq_distance`` and
    ``mixed_sq_distance_limit`` of the refit on ``N`` real plus ``n_synth`` synthetic samples.
    ``sq_distance`` uses ``E p_n = p0`` (the first-moment recursion).

    Returns
    -------
    dict of str to sympy.Expr
        Closed form of each quantity at generation ``n`` (or its limit), in the symbols of
        ``ARGUMENTS[name]``.

    Notes
    -----
    Derived once and cached; the first call takes about 1.5 s (``rsolve``).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import H0, K, M, beta, solutions
    >>> sol = solutions()
    >>> sol["heterozygosity"]
    H0*((M - 1)/M)**n
    >>> target = (K - 1) * beta * (2 * M + K * beta) / (K * beta * (2 * M + K * beta) + M)
    >>> sp.simplify(sol["smoothed_stationary_heterozygosity"] - target)
    0
    """
    rec = recursions()
    out: dict[str, sp.Expr] = {}
    a, b = _linear_coefficients(rec["collision"].rhs)
    coll = _solve_linear(a, b, S0)
    out["collision"] = coll
    out["heterozygosity"] = sp.simplify(1 - coll.subs(S0, 1 - H0))
    # E||p_n - p0||^2 = E S_n - 2 sum p0 E p_n + S0, and E p_n = p0 (first-moment recursion)
    out["sq_distance"] = sp.simplify(coll.subs(S0, 1 - H0) - (1 - H0))
    a_s, b_s = _linear_coefficients(rec["smoothed_collision"].rhs)
    scoll = _solve_linear(a_s, b_s, S0)
    out["smoothed_collision"] = scoll
    out["smoothed_heterozygosity"] = 1 - scoll.subs(S0, 1 - H0)
    x = sp.Symbol("x")
    fixed = sp.solve(sp.Eq(x, a_s * x + b_s), x)
    if len(fixed) != 1:
        raise AssertionError("smoothed recursion has no unique fixed point")
    out["smoothed_stationary_heterozygosity"] = sp.factor(sp.simplify(1 - fixed[0]))
    D = sp.Symbol("D", nonnegative=True)
    am, bm = (sp.Poly(rec["mixed_sq_distance"].rhs, D).coeff_monomial(c) for c in (D, 1))
    out["mixed_sq_distance"] = _solve_linear(sp.simplify(am), sp.simplify(bm), sp.Integer(0))
    fixed_m = sp.solve(sp.Eq(x, am * x + bm), x)
    out["mixed_sq_distance_limit"] = sp.simplify(fixed_m[0])
    return out


_SYMBOLS = {
    "n": n,
    "S0": S0,
    "H0": H0,
    "M": M,
    "K": K,
    "beta": beta,
    "Hstar": Hstar,
    "N": N,
    "n_synth": m,
}


@cache
def lambdified(name: str) -> Callable:
    """NumPy callable for ``solutions()[name]`` with arguments ``ARGUMENTS[name]``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`ARGUMENTS` (``"collision"``, ``"heterozygosity"``,
        ``"sq_distance"``, ``"smoothed_collision"``, ``"smoothed_heterozygosity"``,
        ``"smoothed_stationary_heterozygosity"``, ``"mixed_sq_distance"``,
        ``"mixed_sq_distance_limit"``).

    Returns
    -------
    callable
        ``f(*args)`` in the order ``ARGUMENTS[name]``, evaluated with NumPy (broadcasts); each
        argument is validated through the parameter vocabulary (:data:`VALIDATORS`:
        ``ValueError`` naming it, the same message as the numeric module's).

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`ARGUMENTS`.

    Notes
    -----
    Cached per ``name``; the first call builds :func:`solutions` (about 1.5 s).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.discrete import ARGUMENTS, lambdified
    >>> f = lambdified("heterozygosity")
    >>> ARGUMENTS["heterozygosity"]
    ('n', 'H0', 'M')
    >>> float(f(1, 0.5, 2))
    0.25
    >>> g = lambdified("mixed_sq_distance_limit")   # (Hstar, N, n_synth)
    >>> round(float(g(0.62, 10, 90)), 12)
    0.031155778894
    """
    if name not in ARGUMENTS:
        raise ValueError(f"name must be one of {sorted(ARGUMENTS)} (got {name!r})")
    expr = solutions()[name]
    args = [_SYMBOLS[a] for a in ARGUMENTS[name]]
    extra = expr.free_symbols - set(args)
    if extra:
        raise AssertionError(f"{name} has unexpected free symbols {extra}")
    fn = sp.lambdify(args, expr, modules="numpy")
    names = ARGUMENTS[name]

    def call(*values: Any) -> Any:
        if len(values) != len(names):
            raise TypeError(f"{name}() takes {len(names)} arguments {names} "
                            f"({len(values)} given)")
        checked = [VALIDATORS[a].array(v) for a, v in zip(names, values, strict=True)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(*checked)

    call.__name__ = name
    call.__doc__ = f"Lambdified symbolic ``{name}{names}``: {expr}"
    return call
