"""Symbolic derivation of the Poisson refit formulas (sympy).

Model (Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive training", AISTATS
2025). Generation 0 is the original ``Poisson(lam0)``; generation ``t >= 1`` is the Poisson fit
(sample mean) of ``M`` draws from generation ``t - 1``. With ``S_t = M Lam_t`` the sum of the
draws and ``c = M lam0``::

    S_1 ~ Poisson(c),        S_{t+1} | S_t ~ Poisson(S_t)        (constant M),

and with a schedule ``M_1, ..., M_n``: ``S_t | Lam_{t-1} ~ Poisson(M_t Lam_{t-1})``,
``Lam_t = S_t / M_t``.

Nothing below is typed in as an answer; each closed form is derived from the one-step law:

1. :func:`poisson_pgf` -- ``E s^X`` for ``X ~ Poisson(r)`` by summing the series
   (``sympy.summation``): ``exp(r (s - 1))``; :func:`offspring_pgf` is ``r = 1``, i.e.
   ``f(s) = exp(s - 1)``, and ``poisson_pgf(S) = f(s)^S`` shows that a ``Poisson(S)`` step is a
   sum of ``S`` independent ``Poisson(1)`` offspring (a Galton-Watson step);
2. :func:`offspring_moments` and :func:`conditional_moments` -- derivatives of the pgfs at
   ``s = 1`` (mean 1 and variance 1: a *critical* process);
3. :func:`moment_recursions` -- law of total expectation / variance, then :func:`solutions` solves
   them with ``sympy.rsolve``: ``E S_t = c``, ``Var S_t = c t``, hence ``E Lam_n = lam0`` and
   ``Var Lam_n = n lam0 / M``; with a schedule, ``Var Lam_n = lam0 sum_{j<=n} 1/M_j``;
4. :func:`pgf_expr` -- ``G_{t+1}(s) = G_t(f(s))`` (tower property), ``G_1 = poisson_pgf(c)``;
   :func:`extinction_recursion` -- ``g_t = 1 - f_{t-1}(0)`` obeys ``g_{t+1} = 1 - exp(-g_t)``
   (from ``f``), ``g_1 = 1``, and ``P(Lam_t = 0) = G_t(0) = exp(-c g_t)``
   (:func:`extinction_probability_expr`); with a schedule the backward map
   ``b -> M_j (1 - exp(-b / M_j))`` (:func:`schedule_extinction_map`);
5. :func:`g_increment_series` -- ``1/g_{t+1} - 1/g_t = 1/(1 - e^{-g}) - 1/g = 1/2 + g/12 + ...``
   whose limit ``f''(1)/2 = 1/2`` gives ``g_t ~ 2/t`` and Kolmogorov's estimate
   ``P(Lam_n > 0) ~ 2 M lam0 / n`` (:func:`survival_asymptotic_expr`);
6. :func:`conditional_exprs` -- ``E[Lam_n | Lam_n > 0]`` and ``Var[Lam_n | Lam_n > 0]`` from
   ``E Lam_n 1[Lam_n > 0] = E Lam_n`` and the moments of 3, in terms of ``g = g_n``;
7. :func:`count_pmf_exprs` -- exact Taylor coefficients of ``G_t`` (the pmf of ``S_t``) by the
   power-series recurrence for ``exp`` of a series, in exact arithmetic.

:func:`lambdified` turns these into NumPy callables with the signatures of
:mod:`modelcollapse.theory.poisson` (``(n, lam0, M)``, ``(lam0, M)`` for schedules), validated
through :mod:`modelcollapse.spec.params`. Where ``g_n`` has no closed form the callable iterates
the *derived* one-step map (rewritten by :mod:`sympy.codegen.rewriting` with ``expm1``), so it
is independent of :func:`modelcollapse.theory.discrete.poisson_refit_g`; cost ``O(max n)``.

Conventions: generation 0 is the original distribution (``Lam_0 = lam0``, a constant);
generation ``n`` follows ``n`` rounds of "draw ``M`` samples, refit by the sample mean".

Examples
--------
>>> from modelcollapse.theory.symbolic import poisson as sp_po
>>> sp_po.extinction_recursion()
Eq(g_next, 1 - exp(-g))
>>> sp_po.solutions()["rate_variance"]
lam0*n/M
>>> f = sp_po.lambdified("extinction_probability")
>>> round(float(f(2, 0.01, 100)), 12)
0.531463605387

References
----------
Suresh, Thangaraj & Khandavally, AISTATS 2025; T. E. Harris, *The Theory of Branching
Processes* (1963), ch. I; K. B. Athreya and P. E. Ney, *Branching Processes* (1972), ch. I.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray
from sympy.codegen.cfunctions import expm1
from sympy.codegen.rewriting import expm1_opt, optimize

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = [
    "ARGUMENTS",
    "n",
    "t",
    "s",
    "lam0",
    "M",
    "c",
    "g",
    "b",
    "surv",
    "ext",
    "poisson_pgf",
    "offspring_pgf",
    "offspring_moments",
    "conditional_moments",
    "moment_recursions",
    "solutions",
    "pgf_expr",
    "extinction_recursion",
    "g_expr",
    "log_extinction_expr",
    "extinction_probability_expr",
    "schedule_extinction_map",
    "g_increment_series",
    "survival_asymptotic_expr",
    "conditional_exprs",
    "count_pmf_exprs",
    "lambdified",
    "MAX_ITERATED_N",
]

n = sp.Symbol("n", integer=True, nonnegative=True)
t = sp.Symbol("t", integer=True, nonnegative=True)
s = sp.Symbol("s")
lam0 = sp.Symbol("lam0", positive=True)
M = sp.Symbol("M", positive=True)
#: ``c = M lam0``, the expected number of founders ``E S_1``
c = sp.Symbol("c", positive=True)
#: ``g = g_n`` (so that ``P(Lam_n = 0) = exp(-c g)``)
g = sp.Symbol("g", positive=True)
#: ``b``: the exponent of the backward extinction recursion under a schedule
b = sp.Symbol("b", positive=True)
#: ``P(Lam_n > 0)`` and ``P(Lam_n = 0)`` (arguments of the conditional moments)
surv = sp.Symbol("surv", positive=True)
ext = sp.Symbol("ext", nonnegative=True)
_r = sp.Symbol("r", positive=True)  # a Poisson rate
_k = sp.Symbol("k", integer=True, nonnegative=True)
_S = sp.Symbol("S", nonnegative=True)  # the current count
_m = sp.Symbol("m", positive=True)  # the next sample size of a schedule
_lam = sp.Symbol("lambda", nonnegative=True)  # the current fitted rate
_f = sp.Function("f")

#: Largest ``n`` the lambdified callables iterate to (their cost is ``O(max n)``).
MAX_ITERATED_N = 10**7

#: Argument order of each lambdified callable (that of :mod:`modelcollapse.theory.poisson`).
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "expected_rate": ("n", "lam0", "M"),
    "rate_variance": ("n", "lam0", "M"),
    "extinction_probability": ("n", "lam0", "M"),
    "log_extinction_probability": ("n", "lam0", "M"),
    "survival_probability": ("n", "lam0", "M"),
    "survival_asymptotic": ("n", "lam0", "M"),
    "conditional_expected_rate": ("n", "lam0", "M"),
    "conditional_rate_variance": ("n", "lam0", "M"),
    "expected_capped_extinction_time": ("n", "lam0", "M"),
    "extinction_time_quantile": ("lam0", "M", "q"),
    "median_extinction_time": ("lam0", "M"),
    "rate_variance_schedule": ("lam0", "M"),
    "extinction_probability_schedule": ("lam0", "M"),
    "survival_probability_schedule": ("lam0", "M"),
}


# ---------------------------------------------------------------------------------------------
# one-step law
# ---------------------------------------------------------------------------------------------


@cache
def _pgf_general() -> sp.Expr:
    series = sp.summation(sp.exp(-_r) * _r**_k / sp.factorial(_k) * s**_k, (_k, 0, sp.oo))
    return sp.simplify(series)


def poisson_pgf(rate: sp.Expr = _r) -> sp.Expr:
    """Probability generating function of ``Poisson(rate)``, summed from its pmf.

    Formula: ``E s^X = sum_k e^{-r} r^k s^k / k! = exp(r (s - 1))``, obtained by
    ``sympy.summation`` (not typed in).

    Parameters
    ----------
    rate : sympy expression, optional
        The Poisson rate ``r`` (default the positive symbol ``r``).

    Returns
    -------
    sympy.Expr
        ``exp(rate (s - 1))`` in the symbol :data:`s`.

    References
    ----------
    Harris (1963), ch. I.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import lam0, poisson_pgf
    >>> poisson_pgf(lam0)
    exp(lam0*(s - 1))
    """
    return sp.simplify(_pgf_general().subs(_r, rate))


def offspring_pgf() -> sp.Expr:
    """Offspring pgf of the refit seen as a branching process: ``f(s) = E s^X``, ``X ~ Poisson(1)``.

    Formula: ``f(s) = exp(s - 1)`` (:func:`poisson_pgf` at rate 1).

    Returns
    -------
    sympy.Expr
        ``exp(s - 1)``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import offspring_pgf
    >>> offspring_pgf()
    exp(s - 1)
    """
    return poisson_pgf(sp.Integer(1))


@cache
def offspring_moments() -> dict[str, sp.Expr]:
    """Mean, second factorial moment and variance of the offspring law, from ``f``.

    Formula: ``mean = f'(1)``, ``factorial2 = f''(1)``, ``variance = f''(1) + f'(1) - f'(1)^2``;
    all equal 1 here: the process is *critical* with unit offspring variance.

    Returns
    -------
    dict of str to sympy.Expr
        Keys ``"mean"``, ``"factorial2"``, ``"variance"``.

    References
    ----------
    Athreya & Ney (1972), sec. I.1.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import offspring_moments
    >>> offspring_moments()
    {'mean': 1, 'factorial2': 1, 'variance': 1}
    """
    f = offspring_pgf()
    m1 = sp.simplify(sp.diff(f, s).subs(s, 1))
    m2 = sp.simplify(sp.diff(f, s, 2).subs(s, 1))
    return {"mean": m1, "factorial2": m2, "variance": sp.simplify(m2 + m1 - m1**2)}


@cache
def conditional_moments() -> dict[str, sp.Expr]:
    """One-step conditional moments of the refit, from derivatives of the Poisson pgf at 1.

    Formula: for ``S' ~ Poisson(S)``: ``E[S' | S] = Var[S' | S] = S``; for a fit on ``m``
    samples, ``Lam' = Poisson(m Lam) / m``: ``E[Lam' | Lam] = Lam``, ``Var[Lam' | Lam] =
    Lam / m``. ``"gw_step"`` is ``poisson_pgf(S) / f(s)^S``, which is 1: a ``Poisson(S)`` step is
    the sum of ``S`` independent ``Poisson(1)`` offspring (a Galton-Watson step).

    Returns
    -------
    dict of str to sympy.Expr
        Keys ``"count_mean"``, ``"count_variance"`` (in the symbol ``S``), ``"rate_mean"``,
        ``"rate_variance"`` (in ``lambda`` and ``m``) and ``"gw_step"``.

    References
    ----------
    Harris (1963), ch. I.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import conditional_moments
    >>> cm = conditional_moments()
    >>> cm["count_variance"], cm["rate_variance"], cm["gw_step"]
    (S, lambda/m, 1)
    """

    def mv(rate):
        G = poisson_pgf(rate)
        m1 = sp.simplify(sp.diff(G, s).subs(s, 1))
        m2 = sp.simplify(sp.diff(G, s, 2).subs(s, 1))
        return m1, sp.simplify(m2 + m1 - m1**2)

    cm, cv = mv(_S)
    rm, rv = mv(_m * _lam)
    gw = sp.simplify(sp.powdenest(poisson_pgf(_S) / offspring_pgf() ** _S, force=True))
    return {
        "count_mean": cm,
        "count_variance": cv,
        "rate_mean": sp.simplify(rm / _m),
        "rate_variance": sp.simplify(rv / _m**2),
        "gw_step": gw,
    }


@cache
def moment_recursions() -> dict[str, sp.Eq]:
    """One-step recursions of the moments, by the laws of total expectation and variance.

    Formula: with ``m_t = E S_t``, ``v_t = Var S_t``: ``m_{t+1} = E E[S' | S] = m_t`` and
    ``v_{t+1} = E Var[S' | S] + Var E[S' | S] = m_t + v_t``; under a schedule, with
    ``V_t = Var Lam_t`` and ``m = M_{t+1}``: ``V_{t+1} = E[Lam_t] / m + V_t = lam0 / m + V_t``.

    Returns
    -------
    dict of str to sympy.Eq
        Keys ``"mean"`` (``m_next``), ``"variance"`` (``v_next``) and
        ``"schedule_rate_variance"`` (``V_next``).

    References
    ----------
    Athreya & Ney (1972), sec. I.2.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import moment_recursions
    >>> moment_recursions()["variance"]
    Eq(v_next, m_t + v_t)
    """
    cm = conditional_moments()
    mt, vt, Vt = sp.symbols("m_t v_t V_t")
    # E[S'|S] = a S is linear: E[S'] = a m_t and Var E[S'|S] = a^2 v_t
    a_mean = sp.Poly(cm["count_mean"], _S).coeff_monomial(_S)
    mean_next = sp.expand(cm["count_mean"].subs(_S, mt))
    var_next = sp.expand(cm["count_variance"].subs(_S, mt) + a_mean**2 * vt)
    r_mean_coef = sp.Poly(cm["rate_mean"], _lam).coeff_monomial(_lam)
    sched_next = sp.expand(cm["rate_variance"].subs(_lam, lam0) + r_mean_coef**2 * Vt)
    return {
        "mean": sp.Eq(sp.Symbol("m_next"), mean_next),
        "variance": sp.Eq(sp.Symbol("v_next"), var_next),
        "schedule_rate_variance": sp.Eq(sp.Symbol("V_next"), sched_next),
    }


def _rsolve(rhs: sp.Expr, current: sp.Symbol, init: sp.Expr) -> sp.Expr:
    """Solve ``x_{t+1} = rhs(x_t)`` with ``x_1 = init``; returns ``x_t``."""
    y = sp.Function("y")
    sol = sp.rsolve(y(t + 1) - rhs.subs(current, y(t)), y(t), {y(1): init})
    if sol is None:
        raise AssertionError("rsolve failed")
    return sp.simplify(sol)


@cache
def solutions() -> dict[str, sp.Expr]:
    """Closed-form moments solved by ``sympy.rsolve`` from :func:`moment_recursions`.

    Formula: ``E S_t = c``, ``Var S_t = c t`` (initial values from the pgf of
    ``S_1 ~ Poisson(c)``), hence ``E Lam_n = lam0`` and ``Var Lam_n = n lam0 / M`` with
    ``c = M lam0``. Generation 0 agrees: ``Lam_0 = lam0`` has variance ``0 = 0 lam0 / M``.

    Returns
    -------
    dict of str to sympy.Expr
        ``"expected_count"``, ``"count_variance"`` (in ``c, t``), ``"expected_rate"``,
        ``"rate_variance"`` (in ``n, lam0, M``).

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import solutions
    >>> sol = solutions()
    >>> sol["count_variance"], sol["rate_variance"]
    (c*t, lam0*n/M)
    """
    rec = moment_recursions()
    mt, vt = sp.symbols("m_t v_t")
    G1 = poisson_pgf(c)
    m1 = sp.simplify(sp.diff(G1, s).subs(s, 1))
    v1 = sp.simplify(sp.diff(G1, s, 2).subs(s, 1) + m1 - m1**2)
    mean = _rsolve(rec["mean"].rhs, mt, m1)
    var = _rsolve(rec["variance"].rhs.subs(mt, mean), vt, v1)  # m_t solved first
    out = {"expected_count": mean, "count_variance": sp.expand(var)}
    out["expected_rate"] = sp.simplify((mean / M).subs(c, M * lam0).subs(t, n))
    out["rate_variance"] = sp.simplify((var / M**2).subs(c, M * lam0).subs(t, n))
    return out


# ---------------------------------------------------------------------------------------------
# pgf and extinction
# ---------------------------------------------------------------------------------------------


def _check_gen(gen: Any) -> int:
    if isinstance(gen, bool) or not isinstance(gen, int | np.integer) or gen < 1:
        raise ValueError(f"gen must be an integer >= 1 (got {gen!r})")
    return int(gen)


def pgf_expr(gen: int, rate: sp.Expr = c) -> sp.Expr:
    """The pgf ``G_gen(s) = E s^{S_gen}`` of the count at a concrete generation ``gen >= 1``.

    Formula: ``G_1 = poisson_pgf(c)`` and ``G_{t+1}(s) = E[E[s^{S_{t+1}} | S_t]] =
    E[f(s)^{S_t}] = G_t(f(s))`` (tower property and ``conditional_moments()["gw_step"] == 1``),
    so ``G_t(s) = exp(c (f_{t-1}(s) - 1))``.

    Parameters
    ----------
    gen : int
        Generation, ``>= 1``.
    rate : sympy expression, optional
        ``E S_1 = M lam0`` (default the symbol :data:`c`).

    Returns
    -------
    sympy.Expr
        ``G_gen`` in the symbol :data:`s`.

    References
    ----------
    Harris (1963), ch. I.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import pgf_expr
    >>> pgf_expr(2)
    exp(c*(exp(s - 1) - 1))
    """
    G = poisson_pgf(rate)
    f = offspring_pgf()
    for _ in range(_check_gen(gen) - 1):
        G = G.subs(s, f)
    return G


@cache
def extinction_recursion() -> sp.Eq:
    """The one-step map of ``g_t = 1 - f_{t-1}(0)``, derived from the offspring pgf.

    Formula: ``f_t(0) = f(f_{t-1}(0)) = f(1 - g_t)``, so ``g_{t+1} = 1 - f(1 - g_t) =
    1 - exp(-g_t)``; ``g_1 = 1 - f_0(0) = 1``; and ``P(Lam_t = 0) = G_t(0) = exp(-c g_t)``.

    Returns
    -------
    sympy.Eq
        ``Eq(g_next, 1 - exp(-g))``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import extinction_recursion
    >>> extinction_recursion()
    Eq(g_next, 1 - exp(-g))
    """
    return sp.Eq(sp.Symbol("g_next"), sp.simplify(1 - offspring_pgf().subs(s, 1 - g)))


def g_expr(gen: int) -> sp.Expr:
    """Exact nested expression of ``g_gen`` (iterating :func:`extinction_recursion` from 1).

    Formula: ``g_1 = 1``, ``g_{t+1} = 1 - exp(-g_t)``.

    Parameters
    ----------
    gen : int
        Generation, ``>= 1``.

    Returns
    -------
    sympy.Expr
        ``g_gen`` (exact).

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import g_expr
    >>> g_expr(3)
    1 - exp(-1 + exp(-1))
    """
    step = extinction_recursion().rhs
    val: sp.Expr = sp.Integer(1)
    for _ in range(_check_gen(gen) - 1):
        val = step.subs(g, val)
    return val


@cache
def log_extinction_expr() -> sp.Expr:
    """``log P(Lam_n = 0)`` in ``c = M lam0`` and ``g = g_n``, from the pgf.

    Formula: ``G_n(0)`` is ``poisson_pgf(c)`` evaluated at ``s = f_{n-1}(0) = 1 - g_n``, so
    ``log P(Lam_n = 0) = -c g``.

    Returns
    -------
    sympy.Expr
        ``-c*g``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import log_extinction_expr
    >>> log_extinction_expr()
    -c*g
    """
    return sp.simplify(sp.expand_log(sp.log(poisson_pgf(c).subs(s, 1 - g)), force=True))


def extinction_probability_expr(gen: int) -> sp.Expr:
    """``P(Lam_gen = 0) = G_gen(0)`` straight from the pgf, in ``lam0`` and ``M``.

    Formula: ``exp(M lam0 (f_{gen-1}(0) - 1))`` (unsimplified: nested exponentials).

    Parameters
    ----------
    gen : int
        Generation, ``>= 1``.

    Returns
    -------
    sympy.Expr
        The exact extinction probability.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import extinction_probability_expr
    >>> extinction_probability_expr(2)
    exp(M*lam0*(-1 + exp(-1)))
    """
    return pgf_expr(gen).subs(s, 0).subs(c, M * lam0)


@cache
def schedule_extinction_map() -> sp.Eq:
    """Backward map of the extinction exponent under a sample-size schedule.

    Formula: if ``P(Lam_n = 0 | Lam_j) = exp(-b Lam_j)``, then with ``m = M_j`` and
    ``Lam_j = Poisson(m lambda) / m`` given ``Lam_{j-1} = lambda``,
    ``E[exp(-b Lam_j) | lambda] = poisson_pgf(m lambda)`` at ``s = e^{-b/m}`` ``=
    exp(-lambda b_prev)`` with ``b_prev = m (1 - e^{-b/m})``. Start: ``b = M_n``; at the end
    ``P(Lam_n = 0) = exp(-lam0 b)``.

    Returns
    -------
    sympy.Eq
        ``Eq(b_prev, m - m*exp(-b/m))`` (``m`` the sample size of the fit being undone).

    References
    ----------
    Athreya & Ney (1972), ch. VI (branching processes in varying environments).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import schedule_extinction_map
    >>> schedule_extinction_map()
    Eq(b_prev, m - m*exp(-b/m))
    """
    val = poisson_pgf(_m * _lam).subs(s, sp.exp(-b / _m))
    bprev = sp.simplify(-sp.expand_log(sp.log(val), force=True) / _lam)
    return sp.Eq(sp.Symbol("b_prev"), sp.expand(bprev))


@cache
def g_increment_series(order: int = 4) -> sp.Expr:
    """Series of the increment ``1/g_{t+1} - 1/g_t = 1/(1 - f(1 - g)) - 1/g`` at ``g = 0``.

    Formula: ``1/2 + g/12 - g^3/720 + O(g^4)``; the constant ``f''(1)/2 = 1/2`` gives
    ``1/g_t ~ t/2`` (Stolz-Cesaro), i.e. ``g_t ~ 2/t``.

    Parameters
    ----------
    order : int, optional
        Order of the remainder ``O(g^order)`` (default 4).

    Returns
    -------
    sympy.Expr
        The truncated series (with its ``O`` term).

    References
    ----------
    Athreya & Ney (1972), sec. I.9.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import g_increment_series
    >>> g_increment_series(3)
    1/2 + g/12 + O(g**3)
    """
    inc = 1 / extinction_recursion().rhs - 1 / g
    return sp.series(inc, g, 0, order)


@cache
def survival_asymptotic_expr() -> sp.Expr:
    """Kolmogorov's estimate ``P(Lam_n > 0) ~ 2 M lam0 / n``, derived (APPROXIMATE).

    Formula: the increments of ``1/g_t`` tend to ``a = lim_{g->0} (1/(1 - e^{-g}) - 1/g)``, so
    ``1/g_n ~ a n`` and ``P(Lam_n > 0) = 1 - exp(-c g_n) ~ c g_n ~ c / (a n)``, valid for
    ``n >> M lam0``.

    Returns
    -------
    sympy.Expr
        ``2*M*lam0/n``.

    References
    ----------
    A. N. Kolmogorov (1938); Athreya & Ney (1972), sec. I.9.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import survival_asymptotic_expr
    >>> survival_asymptotic_expr()
    2*M*lam0/n
    """
    a = sp.limit(1 / extinction_recursion().rhs - 1 / g, g, 0)
    return sp.simplify(M * lam0 / (a * n))


@cache
def conditional_exprs() -> dict[str, sp.Expr]:
    """Mean and variance of the fitted rate given survival, from the moments of :func:`solutions`.

    Formula: ``Lam_n 1[Lam_n > 0] = Lam_n``, so ``E[Lam_n | >0] = lam0 / surv`` and
    ``E[Lam_n^2 | >0] = (n lam0 / M + lam0^2) / surv``; the variance is returned as
    ``n lam0 / (M surv) - lam0^2 ext / surv^2`` (checked equal to the derived difference with
    ``ext = 1 - surv``), where ``surv = P(Lam_n > 0)`` and ``ext = P(Lam_n = 0)``.

    Returns
    -------
    dict of str to sympy.Expr
        ``"conditional_expected_rate"`` and ``"conditional_rate_variance"`` in ``n, lam0, M``,
        :data:`surv`, :data:`ext`.

    References
    ----------
    Athreya & Ney (1972), sec. I.9.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import conditional_exprs
    >>> conditional_exprs()["conditional_expected_rate"]
    lam0/surv
    """
    sol = solutions()
    mean = sol["expected_rate"] / surv
    second = (sol["rate_variance"] + sol["expected_rate"] ** 2) / surv
    derived = sp.simplify(second - mean**2)
    rewritten = n * lam0 / (M * surv) - lam0**2 * ext / surv**2
    if sp.simplify(rewritten.subs(ext, 1 - surv) - derived) != 0:
        raise AssertionError("conditional variance rewriting")
    return {"conditional_expected_rate": mean, "conditional_rate_variance": rewritten}


def count_pmf_exprs(gen: int, kmax: int, rate: sp.Expr = c) -> list[sp.Expr]:
    """Exact ``P(S_gen = k)``, ``k = 0..kmax``: the Taylor coefficients of ``G_gen`` at 0.

    Formula: truncated power series ``f_0 = s``, ``f_{j+1} = exp(f_j - 1)``,
    ``G = exp(rate (f_{gen-1} - 1))``, where ``B = exp(A)`` has ``b_0 = e^{a_0}`` and
    ``b_m = (1/m) sum_{j=1}^m j a_j b_{m-j}`` (from ``B' = A' B``). Exact arithmetic; pass a
    rational ``rate`` to keep the expressions small.

    Parameters
    ----------
    gen : int
        Generation, ``>= 1``.
    kmax : int
        Largest count, ``>= 0``.
    rate : sympy expression, optional
        ``E S_1 = M lam0`` (default the symbol :data:`c`).

    Returns
    -------
    list of sympy.Expr
        ``[P(S_gen = 0), ..., P(S_gen = kmax)]``.

    References
    ----------
    Harris (1963), ch. I; D. E. Knuth, *The Art of Computer Programming* 2, sec. 4.7 (power
    series).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import count_pmf_exprs
    >>> count_pmf_exprs(1, 2)
    [exp(-c), c*exp(-c), c**2*exp(-c)/2]
    """
    gen = _check_gen(gen)
    if isinstance(kmax, bool) or not isinstance(kmax, int | np.integer) or kmax < 0:
        raise ValueError(f"kmax must be an integer >= 0 (got {kmax!r})")
    K = int(kmax)

    def exp_series(a: list) -> list:
        out = [sp.exp(a[0])] + [sp.Integer(0)] * K
        for mm in range(1, K + 1):
            out[mm] = sp.expand(sum(j * a[j] * out[mm - j] for j in range(1, mm + 1)) / mm)
        return out

    f = ([sp.Integer(0), sp.Integer(1)] + [sp.Integer(0)] * K)[: K + 1]
    for _ in range(gen - 1):
        f = exp_series([f[0] - 1] + f[1:])
    return exp_series([rate * (f[0] - 1)] + [rate * fj for fj in f[1:]])


# ---------------------------------------------------------------------------------------------
# lambdified callables (numeric module signatures, validated through the vocabulary)
# ---------------------------------------------------------------------------------------------


def _stable(expr: sp.Expr) -> sp.Expr:
    """``expr`` with ``A - A exp(y)`` rewritten as ``-A expm1(y)`` (checked equal), so that the
    lambdified map keeps full relative accuracy where ``y`` is small."""
    ex = sp.expand(expr)
    exps = list(ex.atoms(sp.exp))
    out = optimize(expr, [expm1_opt])
    if len(exps) == 1:
        coeff = ex.coeff(exps[0])
        rest = sp.simplify(ex - coeff * exps[0])
        if sp.simplify(coeff + rest) == 0:
            out = -rest * expm1(exps[0].args[0])
    if sp.simplify(out.rewrite(sp.exp) - expr) != 0:
        raise AssertionError("expm1 rewriting changed the expression")
    return out


@cache
def _g_step() -> Callable:
    return sp.lambdify([g], _stable(extinction_recursion().rhs), modules="numpy")


@cache
def _b_step() -> Callable:
    return sp.lambdify([b, _m], _stable(schedule_extinction_map().rhs), modules="numpy")


def _g_values(n_: NDArray[np.float64]) -> NDArray[np.float64]:
    """``g_n`` by iterating the derived map (``inf`` at ``n = 0``)."""
    if n_.size and n_.max() > MAX_ITERATED_N:
        raise ValueError(f"n must be <= {MAX_ITERATED_N} for the iterated symbolic map (got "
                         f"{P.show(n_[n_ > MAX_ITERATED_N])})")
    ni = n_.astype(np.int64)
    top = int(ni.max(initial=0))
    table = np.empty(top + 1)
    table[0] = np.inf
    step = _g_step()
    val = 1.0
    for j in range(1, top + 1):
        table[j] = val
        val = float(step(val))
    return table[ni]


def _nlm(nv, lv, Mv):
    return np.broadcast_arrays(P.n.array(nv), P.lam0.array(lv), P.M.array(Mv))


def _scalarize(x: Any) -> Any:
    arr = np.asarray(x, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


@cache
def lambdified(name: str) -> Callable:
    """NumPy callable for the derived formula ``name``, with the numeric module's signature.

    Closed forms (moments, Kolmogorov's estimate, the conditional moments) are
    ``sympy.lambdify``-ed; ``g_n`` and the schedule exponents ``b_i`` are obtained by iterating
    the lambdified one-step maps of :func:`extinction_recursion` and
    :func:`schedule_extinction_map` (rewritten with ``expm1``), independently of
    :func:`modelcollapse.theory.branching.poisson_refit_g`. Extinction-time quantiles scan
    ``t = 1, 2, ...`` (cost ~ the answer); ``n`` is limited to :data:`MAX_ITERATED_N`.

    Parameters
    ----------
    name : str
        One of :data:`ARGUMENTS` (the names of :mod:`modelcollapse.theory.poisson`).

    Returns
    -------
    callable
        ``f(*ARGUMENTS[name], workflow=None)``; arguments are validated through
        :mod:`modelcollapse.spec.params` (same messages as the numeric module) and broadcast;
        ``workflow`` must be ``"replace"``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.poisson import lambdified
    >>> f = lambdified("rate_variance")    # (n, lam0, M)
    >>> float(f(10, 2.0, 100))
    0.2
    >>> round(float(lambdified("survival_probability")(1, 0.01, 100)), 12)
    0.632120558829
    >>> lambdified("extinction_probability_schedule")(0.01, [100, 100]).round(12).tolist()
    [0.0, 0.367879441171, 0.531463605387]
    """
    if name not in ARGUMENTS:
        raise ValueError(f"name must be one of {sorted(ARGUMENTS)} (got {name!r})")
    where = f"theory.symbolic.poisson.{name}"
    sol = solutions()
    cond = conditional_exprs()
    mean_f = sp.lambdify([n, lam0, M], sol["expected_rate"], modules="numpy")
    var_f = sp.lambdify([n, lam0, M], sol["rate_variance"], modules="numpy")
    # log P(Lam_n = 0) = log G_n(0) = log poisson_pgf(c)(s = f_{n-1}(0)), f_{n-1}(0) = 1 - g_n
    log_ext_f = sp.lambdify([c, g], log_extinction_expr(), modules="numpy")
    asym_f = sp.lambdify([n, lam0, M], survival_asymptotic_expr(), modules="numpy")
    cargs = [n, lam0, M, surv, ext]
    cmean_f = sp.lambdify(cargs, cond["conditional_expected_rate"], modules="numpy")
    cvar_f = sp.lambdify(cargs, cond["conditional_rate_variance"], modules="numpy")
    sched_var = moment_recursions()["schedule_rate_variance"].rhs
    sched_var_f = sp.lambdify([sp.Symbol("V_t"), lam0, _m], sched_var, modules="numpy")

    def log_ext(n_, l_, M_):
        gg = _g_values(n_)
        with np.errstate(invalid="ignore"):
            out = log_ext_f(M_ * l_, gg)
        return np.where(n_ == 0, -np.inf, out)

    def three(fn):
        def call(n_arg: ArrayLike, lam0_arg: ArrayLike, M_arg: ArrayLike, *,
                 workflow: W.WorkflowLike = None):
            W.require(workflow, where)
            return _scalarize(fn(*_nlm(n_arg, lam0_arg, M_arg)))

        call.__name__ = name
        return call

    def conditional(fn, a, which):
        n_, l_, M_ = a
        le = log_ext(n_, l_, M_)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = fn(n_, l_, M_, -np.expm1(le), np.exp(le))
        return np.where(n_ == 0, l_ if which == 0 else 0.0, val)

    def capped(n_, l_, M_):
        out = np.zeros(n_.shape)
        for idx in np.ndindex(n_.shape):
            nn = int(n_[idx])
            if nn >= 1:
                ts = np.arange(1, nn, dtype=np.float64)
                le = log_ext(ts, np.full(ts.shape, l_[idx]), np.full(ts.shape, M_[idx]))
                out[idx] = 1.0 + float(np.sum(-np.expm1(le)))
        return out

    def quantile(l_, M_, q_):
        out = np.empty(l_.shape)
        step = _g_step()
        for idx in np.ndindex(l_.shape):
            cc, qq = float(M_[idx] * l_[idx]), float(q_[idx])
            tt, gg = 1, 1.0
            while np.exp(float(log_ext_f(cc, gg))) < qq:  # scan t = 1, 2, ... (cost ~ answer)
                tt, gg = tt + 1, float(step(gg))
                if tt > MAX_ITERATED_N:
                    raise ValueError(f"the quantile exceeds {MAX_ITERATED_N} generations")
            out[idx] = tt
        return out

    def schedule(kind: str):
        def call(lam0_arg: ArrayLike, M_arg: ArrayLike, *, workflow: W.WorkflowLike = None):
            W.require(workflow, where)
            Ms = np.asarray(P.schedule(M_arg, P.M), dtype=np.float64)
            l_ = np.asarray(P.lam0.array(lam0_arg))[..., None]
            if kind == "variance":
                V = [np.zeros(l_.shape[:-1])]
                for mv in Ms:
                    V.append(sched_var_f(V[-1], l_[..., 0], mv))
                return np.stack(V, axis=-1)
            bs = [np.inf]
            step = _b_step()
            for i in range(1, Ms.size + 1):  # target generation i: b = M_i, then maps j < i
                bb = Ms[i - 1]
                for j in range(i - 1, 0, -1):
                    bb = float(step(bb, Ms[j - 1]))
                bs.append(bb)
            le = -l_ * np.asarray(bs)
            return np.exp(le) if kind == "extinction" else -np.expm1(le)

        call.__name__ = name
        return call

    table: dict[str, Callable] = {
        "expected_rate": three(lambda n_, l_, M_: mean_f(n_, l_, M_) + 0.0 * n_ * M_),
        "rate_variance": three(var_f),
        "log_extinction_probability": three(log_ext),
        "extinction_probability": three(lambda *a: np.exp(log_ext(*a))),
        "survival_probability": three(lambda *a: -np.expm1(log_ext(*a))),
        "conditional_expected_rate": three(lambda *a: conditional(cmean_f, a, 0)),
        "conditional_rate_variance": three(lambda *a: conditional(cvar_f, a, 1)),
        "expected_capped_extinction_time": three(capped),
        "rate_variance_schedule": schedule("variance"),
        "extinction_probability_schedule": schedule("extinction"),
        "survival_probability_schedule": schedule("survival"),
    }

    def asym(n_arg, lam0_arg, M_arg, *, workflow=None):
        W.require(workflow, where)
        n_ = P.n.restrict(low=1.0).array(n_arg)
        nb, lb, Mb = np.broadcast_arrays(n_, P.lam0.array(lam0_arg), P.M.array(M_arg))
        return _scalarize(asym_f(nb, lb, Mb))

    def tq(lam0_arg, M_arg, q_arg, *, workflow=None):
        W.require(workflow, where)
        lb, Mb, qb = np.broadcast_arrays(P.lam0.array(lam0_arg), P.M.array(M_arg),
                                         P.q.array(q_arg))
        return _scalarize(quantile(lb, Mb, qb))

    def med(lam0_arg, M_arg, *, workflow=None):
        W.require(workflow, where)
        lb, Mb = np.broadcast_arrays(P.lam0.array(lam0_arg), P.M.array(M_arg))
        return _scalarize(quantile(lb, Mb, np.full(lb.shape, 0.5)))

    table["survival_asymptotic"] = asym
    table["extinction_time_quantile"] = tq
    table["median_extinction_time"] = med
    return table[name]
