"""Symbolic derivation of the Poisson workflow formulas (sympy), from the one-step law.

One-step law: the cumulant generating function (log MGF) of ``X ~ Poisson(mu)`` is
``mu (e^theta - 1)`` (:func:`poisson_cgf`, summed from the pmf), and the CGF of a sum of
independent parts is the sum of theirs. Given the previous rate ``L = Lam_{t-1}`` the fit's CGF
``K(theta) = log E[exp(theta Lam_t) | L]`` is therefore, for each workflow
(:func:`conditional_cgf`; ``r`` real points, ``M`` points per fit):

- mix: ``r lam0 (e^{theta/M} - 1) + (M - r) L (e^{theta/M} - 1)``;
- mix with a reused real set ``R``: ``theta R / M + (M - r) L (e^{theta/M} - 1)``;
- accumulate (generation ``t``, pool of ``(t-1) M`` points of mean ``L`` plus ``M`` new):
  ``theta (t - 1) L / t + M L (e^{theta/(t M)} - 1)``;
- weighted: ``r lam0 (e^{theta w/r} - 1) + M L (e^{theta (1-w)/M} - 1)``.

Each is ``A(theta) + B(theta) L``, linear in ``L``. Derivatives at ``theta = 0`` give the
conditional mean and variance, and the laws of total expectation and variance turn them into
linear recursions for ``E Lam_t`` and ``Var Lam_t`` (:func:`moment_recursion`), solved by
``sympy.rsolve`` (closed forms: :func:`mix_variance_closed_form`,
:func:`weighted_variance_closed_form`, :func:`accumulate_variance_closed_form`). The MGF obeys
``Phi_t(theta) = exp(A(theta)) Phi_{t-1}(B(theta))``, ``Phi_0(theta) = exp(theta lam0)``;
``P(Lam_t = 0) = lim_{theta -> -inf} Phi_t(theta)`` (:func:`mix_extinction_expr`,
:func:`weighted_extinction_expr`, composed for a given ``t``; with a reused real set one
conditions on ``R = 0``). The numeric module is :mod:`modelcollapse.theory.poisson_workflows`;
the tests compare the two.

Examples
--------
>>> from modelcollapse.theory.symbolic import poisson_workflows as spw
>>> spw.moment_recursion("accumulate")[1]
V + m/(M*t**2)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

theta = sp.Symbol("theta", real=True)
L, R = sp.symbols("L R", nonnegative=True)
lam0, M, r, w = sp.symbols("lam0 M r w", positive=True)
t = sp.Symbol("t", integer=True, positive=True)
m, V = sp.symbols("m V", real=True)
mu = sp.Symbol("mu", positive=True)
k = sp.Symbol("k", integer=True, nonnegative=True)

__all__ = ["poisson_cgf", "conditional_cgf", "conditional_moments", "moment_recursion",
           "mix_variance_closed_form", "weighted_variance_closed_form",
           "accumulate_variance_closed_form", "mgf_step", "mix_extinction_expr",
           "weighted_extinction_expr", "accumulate_zero_step"]

_NAMES = ("mix", "mix_fixed", "accumulate", "weighted")


@cache
def poisson_cgf() -> sp.Expr:
    """``log E exp(theta X)`` for ``X ~ Poisson(mu)``, summed from the pmf.

    Returns
    -------
    sympy.Expr
        ``mu (e^theta - 1)``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.poisson_cgf()
    mu*(exp(theta) - 1)
    """
    z = sp.Symbol("z", positive=True)  # z = mu e^theta: sum_k e^{-mu} mu^k e^{theta k} / k!
    series = sp.summation(z**k / sp.factorial(k), (k, 0, sp.oo))
    mgf = sp.exp(-mu) * series.subs(z, mu * sp.exp(theta))
    return sp.factor(sp.expand_log(sp.log(mgf), force=True), mu)


def _cgf_of_mean(rate: sp.Expr, size: sp.Expr, scale: sp.Expr) -> sp.Expr:
    """CGF of ``scale * (sum of size points of Poisson(rate))`` (a Poisson(size * rate) total)."""
    return poisson_cgf().subs({mu: size * rate, theta: theta * scale}, simultaneous=True)


def conditional_cgf(name: str) -> sp.Expr:
    """``log E[exp(theta Lam_t) | Lam_{t-1} = L]`` of one fit under workflow ``name``.

    Parameters
    ----------
    name : {"mix", "mix_fixed", "accumulate", "weighted"}
        The workflow (``mix_fixed``: mix with the reused real total ``R``, held fixed).

    Returns
    -------
    sympy.Expr
        In ``theta, L`` (and ``R``, ``t``, ``lam0``, ``M``, ``r``, ``w``).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.conditional_cgf("mix").diff(spw.theta).subs(spw.theta, 0).expand()
    L - L*r/M + lam0*r/M
    """
    if name == "mix":
        return _cgf_of_mean(lam0, r, 1 / M) + _cgf_of_mean(L, M - r, 1 / M)
    if name == "mix_fixed":
        return theta * R / M + _cgf_of_mean(L, M - r, 1 / M)
    if name == "accumulate":
        return theta * (t - 1) * L / t + _cgf_of_mean(L, M, 1 / (t * M))
    if name == "weighted":
        return _cgf_of_mean(lam0, r, w / r) + _cgf_of_mean(L, M, (1 - w) / M)
    raise ValueError(f"name must be one of {_NAMES} (got {name!r})")


@cache
def conditional_moments(name: str) -> tuple[sp.Expr, sp.Expr]:
    """Conditional mean and variance of ``Lam_t`` given ``L``: the first two cumulants.

    Parameters
    ----------
    name : str
        As for :func:`conditional_cgf`.

    Returns
    -------
    tuple of sympy.Expr
        ``(E[Lam_t | L], Var[Lam_t | L])``, both linear in ``L``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.conditional_moments("accumulate")
    (L, L/(M*t**2))
    """
    K = conditional_cgf(name)
    mean = sp.simplify(K.diff(theta).subs(theta, 0))
    var = sp.simplify(K.diff(theta, 2).subs(theta, 0))
    return mean, var


def moment_recursion(name: str) -> tuple[sp.Expr, sp.Expr]:
    """``(E Lam_t, Var Lam_t)`` in terms of ``m = E Lam_{t-1}``, ``V = Var Lam_{t-1}``.

    Law of total expectation and variance: ``E Lam_t = E c(L)``,
    ``Var Lam_t = E v(L) + Var c(L)`` for the linear conditional mean ``c`` and variance ``v``.
    For ``mix_fixed`` the recursion is conditional on ``R`` (``m``, ``V`` given ``R``).

    Parameters
    ----------
    name : str
        As for :func:`conditional_cgf`.

    Returns
    -------
    tuple of sympy.Expr
        The next mean and variance.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.moment_recursion("mix")[0].simplify()
    (M*m + lam0*r - m*r)/M
    """
    c, v = conditional_moments(name)
    slope = sp.diff(c, L)
    return sp.expand(c.subs(L, m)), sp.expand(v.subs(L, m) + slope**2 * V)


def _solve_linear(step: sp.Expr, start: sp.Expr) -> sp.Expr:
    """Solve ``x_t = step(x_{t-1})`` (``step`` in ``V``, constant coefficients), ``x_0 = start``."""
    x = sp.Function("x")
    sol = sp.rsolve(x(t) - step.subs(V, x(t - 1)), x(t), {x(0): start})
    return sp.simplify(sol)


def _numeric(expr: sp.Expr, args: tuple[sp.Symbol, ...], n_sym: sp.Symbol | None = None
             ) -> Callable[..., Any]:
    syms = ((n_sym,) if n_sym is not None else ()) + args
    f = sp.lambdify(syms, expr, modules="numpy")
    # float64 arguments: integer powers such as (M - r)^(2 t) would overflow in int64
    return lambda *xs: f(*(np.asarray(x, dtype=np.float64) for x in xs))


@cache
def _mix_var(fixed: bool) -> sp.Expr:
    if not fixed:
        # E Lam_{t-1} = lam0 for every t (the mean recursion's solution), so V obeys a linear
        # recursion with constant coefficients
        mean_step, var_step = moment_recursion("mix")
        assert sp.simplify(mean_step.subs(m, lam0) - lam0) == 0
        return _solve_linear(var_step.subs(m, lam0), sp.Integer(0))
    # given the reused real total R: the conditional mean m_t(R) and variance v_t(R)
    mean_step, var_step = moment_recursion("mix_fixed")
    x = sp.Function("x")
    m_R = sp.simplify(sp.rsolve(x(t) - mean_step.subs(m, x(t - 1)), x(t), {x(0): lam0}))
    # E_R v_t: the conditional variance's recursion averaged over R (E m_{t-1}(R) = lam0)
    e_m = sp.simplify(m_R.subs(R, r * lam0))  # m_R is linear in R, E R = r lam0
    assert sp.simplify(e_m - lam0) == 0
    e_v = _solve_linear(var_step.subs(m, lam0), sp.Integer(0))
    var_of_mean = sp.diff(m_R, R) ** 2 * (r * lam0)  # Var R = r lam0
    return sp.simplify(e_v + var_of_mean)


def mix_variance_closed_form(*, fixed_real: bool = False, numeric: bool = False) -> Any:
    """``Var Lam_t`` under mix, solved from :func:`moment_recursion` (``Var Lam_0 = 0``).

    With a reused real set: ``E_R Var[Lam_t | R] + Var_R E[Lam_t | R]`` (total variance over
    the real set).

    Parameters
    ----------
    fixed_real : bool
        Reuse one real set.
    numeric : bool
        Return a NumPy callable ``f(n, lam0, M, r)`` instead of the expression.

    Returns
    -------
    sympy.Expr or callable
        In ``t, lam0, M, r``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> e = spw.mix_variance_closed_form()
    >>> sp_val = e.subs({spw.t: 2, spw.lam0: 2, spw.M: 10, spw.r: 5})
    >>> sp_val
    1/4
    """
    expr = _mix_var(fixed_real)
    return _numeric(expr, (lam0, M, r), t) if numeric else expr


@cache
def _weighted_var() -> sp.Expr:
    mean_step, var_step = moment_recursion("weighted")
    assert sp.simplify(mean_step.subs(m, lam0) - lam0) == 0
    return _solve_linear(var_step.subs(m, lam0), sp.Integer(0))


def weighted_variance_closed_form(*, numeric: bool = False) -> Any:
    """``Var Lam_t`` under weighted, solved from :func:`moment_recursion`.

    Parameters
    ----------
    numeric : bool
        Return a NumPy callable ``f(n, lam0, M, w, r)`` instead of the expression.

    Returns
    -------
    sympy.Expr or callable
        In ``t, lam0, M, w, r``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.weighted_variance_closed_form().subs({spw.t: 1, spw.w: 0.5, spw.r: 10,
    ...                                            spw.M: 10, spw.lam0: 1})
    0.0500000000000000
    """
    expr = _weighted_var()
    return _numeric(expr, (lam0, M, w, r), t) if numeric else expr


@cache
def _acc_var() -> sp.Expr:
    mean_step, var_step = moment_recursion("accumulate")
    assert sp.simplify(mean_step - m) == 0  # a martingale
    increment = sp.simplify(var_step.subs(m, lam0) - V)
    j = sp.Symbol("j", integer=True, positive=True)
    return sp.summation(increment.subs(t, j), (j, 1, t))


def accumulate_variance_closed_form(*, numeric: bool = False) -> Any:
    """``Var Lam_t`` under accumulate: the summed increments ``lam0 / (M j^2)``.

    Parameters
    ----------
    numeric : bool
        Return a callable ``f(n, lam0, M)`` (exact rational partial sums) instead.

    Returns
    -------
    sympy.Expr or callable
        ``lam0 harmonic(t, 2) / M``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.accumulate_variance_closed_form()
    lam0*harmonic(t, 2)/M
    """
    expr = _acc_var()
    if not numeric:
        return expr
    return lambda n, l0, MM: float(expr.subs({t: int(n), lam0: l0, M: MM}))


@cache
def mgf_step(name: str) -> tuple[sp.Expr, sp.Expr]:
    """``(A, B)`` with ``E[exp(theta Lam_t) | L] = exp(A + B L)`` (the CGF split in ``L``).

    Parameters
    ----------
    name : str
        As for :func:`conditional_cgf`.

    Returns
    -------
    tuple of sympy.Expr
        ``A(theta)`` and ``B(theta)``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.mgf_step("mix")[1].factor()
    -(-M + r)*(exp(theta/M) - 1)
    """
    K = sp.expand(conditional_cgf(name))
    B = sp.simplify(K.diff(L))
    A = sp.simplify(K - B * L)
    return A, B


@cache
def _extinction(name: str, n: int, real_zero: bool = False) -> sp.Expr:
    """``lim_{theta -> -inf} Phi_n(theta)`` by composing ``Phi_t = exp(A) Phi_{t-1}(B)``
    (``real_zero``: the reused real total ``R = 0`` substituted in the step first)."""
    A, B = mgf_step(name)
    if real_zero:
        A, B = A.subs(R, 0), B.subs(R, 0)
    arg = sp.Symbol("arg", real=True)
    phi = sp.exp(arg * lam0)  # Phi_0
    for _ in range(n - 1):  # Phi_{k+1}(arg) = exp(A(arg)) Phi_k(B(arg))
        phi = sp.exp(A.subs(theta, arg)) * phi.subs(arg, B.subs(theta, arg))
    wc = sp.Symbol("wc", positive=True)  # 1 - w > 0 (weighted, 0 < w < 1)
    a_inf = sp.limit(A, theta, -sp.oo)  # A holds e^{theta w / r}, w > 0
    b_inf = sp.limit(B.subs(w, 1 - wc), theta, -sp.oo).subs(wc, 1 - w)
    return sp.exp(a_inf) * phi.subs(arg, b_inf)


def mix_extinction_expr(n: int, *, fixed_real: bool = False, numeric: bool = False) -> Any:
    """``P(Lam_n = 0)`` under mix, from the MGF recursion composed ``n`` times (``n >= 1``).

    With a reused real set ``Lam_n >= R/M``, so ``Lam_n = 0`` needs ``R = 0``
    (``P = exp(-r lam0)``); given ``R = 0`` the same recursion runs without the real part.

    Parameters
    ----------
    n : int
        Generation ``>= 1``.
    fixed_real : bool
        Reuse one real set.
    numeric : bool
        Return a callable ``f(lam0, M, r)`` instead of the expression.

    Returns
    -------
    sympy.Expr or callable
        In ``lam0, M, r``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.mix_extinction_expr(1)
    exp(-M*lam0)
    """
    if fixed_real:
        expr = sp.exp(-r * lam0) * _extinction("mix_fixed", n, True)
    else:
        expr = _extinction("mix", n)
    expr = sp.simplify(expr)
    return _numeric(expr, (lam0, M, r)) if numeric else expr


def weighted_extinction_expr(n: int, *, numeric: bool = False) -> Any:
    """``P(Lam_n = 0)`` under weighted (``0 < w < 1``) from the composed MGF recursion.

    Parameters
    ----------
    n : int
        Generation ``>= 1``.
    numeric : bool
        Return a callable ``f(lam0, M, w, r)`` instead of the expression.

    Returns
    -------
    sympy.Expr or callable
        In ``lam0, M, w, r``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> spw.weighted_extinction_expr(1)
    exp(lam0*(-M - r))
    """
    expr = sp.simplify(_extinction("weighted", n))
    return _numeric(expr, (lam0, M, w, r)) if numeric else expr


def accumulate_zero_step() -> sp.Expr:
    """``P(Lam_t = 0 | Lam_{t-1} = L)`` under accumulate: ``lim_{theta -> -inf}`` of the MGF.

    It is 1 at ``L = 0`` and 0 for ``L > 0`` (the pooled points of mean ``L > 0`` stay in the
    pool): the pool is empty of mass iff the first batch was.

    Returns
    -------
    sympy.Expr
        A piecewise expression in ``L``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import poisson_workflows as spw
    >>> e = spw.accumulate_zero_step()
    >>> e.subs(spw.L, 0), e.subs(spw.L, sp.Rational(1, 3))
    (1, 0)
    """
    A, B = mgf_step("accumulate")
    lim_b = sp.limit(B.subs(t, 2), theta, -sp.oo)
    lim_a = sp.limit(A.subs(t, 2), theta, -sp.oo)
    return sp.Piecewise((sp.exp(lim_a), sp.Eq(L, 0)), (0, True)) if lim_b == -sp.oo else \
        sp.exp(lim_a + lim_b * L)
