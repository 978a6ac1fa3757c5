"""Symbolic derivation of the 1-D Gaussian collapse formulas (sympy).

Model (Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631, 2024, Theorem 3.1). Generation 0 is the original ``N(mu0, sigma0^2)``. Generation
``n`` is the fit after ``n`` rounds of "draw ``M`` points from the current model, refit"; the
mean is refit by the sample mean, the variance by ``sum (x - xbar)^2 / (M - ddof)`` (``ddof=1``
unbiased, the estimator of the theorem; ``ddof=0`` maximum likelihood). One step from
``(mu, sigma^2)`` is, in law::

    mu'      = mu + sigma Z / sqrt(M)
    sigma'^2 = sigma^2 C / (M - ddof),    Z ~ N(0, 1), C ~ chi2_{M-1}, independent.

Nothing below is typed in as an answer: every closed form is *derived* by sympy from this
one-step law, in this order.

1. ``chi2_moment_expr``: ``E[C^k]`` by integrating ``x^k`` against the chi-square density
   (``sympy.stats.density`` + ``sympy.integrate``) -> ``2^k Gamma(a+k)/Gamma(a)``, ``a=(M-1)/2``.
2. ``one_step_moment_expr``: ``r_k = E[(C/(M-ddof))^k]``.
3. ``variance_moment_expr``: the recursion ``m_{t+1} = r_k m_t``, ``m_0 = sigma0^{2k}``, solved by
   ``sympy.rsolve`` -> ``E sigma_n^{2k} = sigma0^{2k} r_k^n``; ``k=1`` and ``k=1/2`` give
   ``expected_variance_expr`` and ``expected_std_expr`` (``std_factor_expr`` is ``r_{1/2}``).
4. ``one_step_log_mean_expr`` / ``one_step_log_var_expr``: first derivative of ``r_k`` and second
   derivative of ``log r_k`` at ``k=0`` (the cumulants of ``log(C/(M-ddof))``) -> digamma and
   trigamma; the additive recursions for the mean and variance of ``log sigma_t^2`` solved by
   ``rsolve`` -> ``expected_log_variance_expr``, ``log_variance_variance_expr``.
5. ``mean_drift_mse_expr``: ``D_{t+1} = D_t + E sigma_t^2 / M``, ``D_0 = 0``, solved by ``rsolve``
   (``ddof=1`` and ``ddof != 1`` separately, then joined in a ``Piecewise``).
6. ``expected_w2_squared_expr``: ``E W2^2 = E(mu_n-mu0)^2 + E sigma_n^2 - 2 sigma0 E sigma_n +
   sigma0^2`` assembled from 3 and 5; ``marginal_variance_expr = E sigma_n^2 + E(mu_n-mu0)^2``.
7. Large-``M`` expansions: ``std_factor_series`` (Stirling series of ``log Gamma``), giving
   ``c = 1 + (2 ddof - 3)/(4M) + O(M^-2)`` (``1 - 1/(4M)`` for ``ddof=1``);
   ``w2_leading_order_expr`` is the first-order coefficient of ``E W2^2`` in ``1/M`` at fixed
   ``n``: ``(3/2) sigma0^2 n / M`` (for every ``ddof``).
8. Schedules ``M_1, ..., M_n`` (generation ``i`` draws ``M_i`` points): products and sums of
   the per-generation factors (``*_schedule_expr``), and ``(3/2) sigma0^2 sum_i 1/M_i``.

All derivations are cached (``functools.lru_cache``). :func:`lambdified` turns a derived
expression into a NumPy/SciPy callable whose signature matches the numeric module
:mod:`modelcollapse.theory.gaussian` (``sigma2`` there is ``sigma0^2`` here); gamma ratios are
evaluated through ``loggamma`` so that large ``M`` does not overflow (float64 path, accurate to
about ``1e-16 M log M`` relative; ``lambdified(name, dps=40)`` evaluates the same expression in
mpmath instead, exact to float64 rounding at any ``M``).

References
----------
.. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
   collapse when trained on recursively generated data", Nature 631 (2024), 755-759
   (Theorem 3.1 and its Supplementary Information).

Examples
--------
>>> from modelcollapse.theory.symbolic import gaussian as g
>>> g.expected_variance_expr()
sigma0**2*((M - 1)/(M - ddof))**n
>>> f = g.lambdified("expected_variance")
>>> float(f(3, 10, ddof=0, sigma2=2.0))  # 2 * 0.9**3
1.458
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import mpmath
import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray
from sympy.codegen.cfunctions import expm1, log1p
from sympy.stats import ChiSquared, density

from modelcollapse.spec import params as P

__all__ = [
    "GaussianSymbols",
    "symbols",
    "chi2_moment_expr",
    "one_step_moment_expr",
    "variance_moment_expr",
    "expected_variance_expr",
    "expected_std_expr",
    "std_factor_expr",
    "one_step_log_mean_expr",
    "one_step_log_var_expr",
    "expected_log_variance_expr",
    "log_variance_variance_expr",
    "mean_drift_mse_expr",
    "expected_w2_squared_expr",
    "marginal_variance_expr",
    "std_factor_series",
    "log_std_factor_series",
    "w2_series",
    "w2_leading_order_expr",
    "expected_variance_schedule_expr",
    "expected_std_schedule_expr",
    "mean_drift_mse_schedule_expr",
    "expected_w2_squared_schedule_expr",
    "marginal_variance_schedule_expr",
    "w2_leading_order_schedule_expr",
    "LAMBDIFIABLE",
    "lambdified",
]


# ---------------------------------------------------------------------------------------------
# Symbols
# ---------------------------------------------------------------------------------------------
class GaussianSymbols(NamedTuple):
    """The symbols the expressions of this module are written in (returned by :func:`symbols`).

    Attributes
    ----------
    n : sympy.Symbol
        Generation (integer >= 0).
    M : sympy.Symbol
        Sample size per generation (positive; the formulas need ``M >= 2`` and ``M > ddof``).
    k : sympy.Symbol
        Moment order (real, ``k > -(M-1)/2``).
    ddof : sympy.Symbol
        Delta degrees of freedom (>= 0).
    sigma0 : sympy.Symbol
        Original standard deviation (> 0).
    a : sympy.Expr
        ``a = (M-1)/2`` (an expression, the chi-square half degrees of freedom).
    t : sympy.Symbol
        Recursion index.
    i : sympy.Symbol
        Schedule index (``1..n``).
    Ms : sympy.IndexedBase
        The schedule (``Ms[i]`` is ``M_i``).
    epsilon : sympy.Symbol
        The expansion variable ``1/M``.
    """

    n: sp.Symbol
    M: sp.Symbol
    k: sp.Symbol
    ddof: sp.Symbol
    sigma0: sp.Symbol
    a: sp.Expr
    t: sp.Symbol
    i: sp.Symbol
    Ms: sp.IndexedBase
    epsilon: sp.Symbol


_n = sp.Symbol("n", integer=True, nonnegative=True)
_M = sp.Symbol("M", positive=True)
_k = sp.Symbol("k", real=True)
_ddof = sp.Symbol("ddof", nonnegative=True)
_sigma0 = sp.Symbol("sigma0", positive=True)
_t = sp.Symbol("t", integer=True, nonnegative=True)
_i = sp.Symbol("i", integer=True, positive=True)
_Ms = sp.IndexedBase("Ms", positive=True)
_eps = sp.Symbol("epsilon", positive=True)
_a = (_M - 1) / 2

_SYMBOLS = GaussianSymbols(_n, _M, _k, _ddof, _sigma0, _a, _t, _i, _Ms, _eps)


def symbols() -> GaussianSymbols:
    """The symbols in which every expression of this module is written.

    ``(n, M, k, ddof, sigma0, a, t, i, Ms, epsilon)`` with ``a = (M-1)/2`` and ``epsilon = 1/M``
    (see :class:`GaussianSymbols`). Convention: generation 0 is the original ``N(mu0, sigma0^2)``;
    generation ``n`` follows ``n`` rounds of "draw ``M`` points, refit" (Shumailov et al., Nature
    2024, Thm 3.1).

    Returns
    -------
    GaussianSymbols
        The named tuple of sympy symbols (and the expression ``a``), always the same objects, so
        they can be used to substitute into the derived expressions.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> s.a, s.n.is_integer, s.M.is_positive
    (M/2 - 1/2, True, True)
    >>> g.expected_variance_expr().subs(s.ddof, 0)
    sigma0**2*((M - 1)/M)**n
    """
    return _SYMBOLS


def _zero(expr: sp.Expr) -> bool:
    """True when sympy can reduce ``expr`` to zero."""
    return sp.simplify(sp.expand_func(sp.gammasimp(expr))) == 0


def _require(cond: bool, what: str) -> None:
    if not cond:  # pragma: no cover - derivation self-check
        raise RuntimeError(f"symbolic derivation self-check failed: {what}")


# ---------------------------------------------------------------------------------------------
# 1-3. Moments of the fitted variance
# ---------------------------------------------------------------------------------------------
@cache
def chi2_moment_expr() -> sp.Expr:
    """``E[C^k]`` for ``C ~ chi2_{M-1}``, derived by integrating ``x^k`` against the density.

    Formula: ``E[C^k] = 2^k Gamma(a + k) / Gamma(a)``, ``a = (M-1)/2``, valid for ``k > -a``
    (sympy returns the integral as a ``Piecewise`` whose convergent branch has exactly that
    condition; the branch is extracted and the condition checked).

    Returns
    -------
    sympy.Expr
        The moment as a ratio of gamma functions in the symbols ``M`` and ``k`` (the condition
        ``k > -a`` is not part of it).

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1 (one-step law of the sample variance).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.chi2_moment_expr()
    2**k*gamma(M/2 + k - 1/2)/gamma(M/2 - 1/2)
    >>> sp.factor(sp.expand_func(g.chi2_moment_expr().subs(s.k, 2)))   # E C^2 = df (df + 2)
    (M - 1)*(M + 1)
    """
    nu = sp.Symbol("nu", positive=True)
    x = sp.Symbol("x", positive=True)
    pdf = density(ChiSquared("C", nu))(x)
    integral = sp.integrate(x**_k * pdf, (x, 0, sp.oo))
    if isinstance(integral, sp.Piecewise):
        value, cond = integral.args[0]
        # the convergence condition must be k + nu/2 > 0, i.e. k > -a
        _require(
            isinstance(cond, sp.StrictGreaterThan) and _zero(cond.lhs - cond.rhs - (_k + nu / 2)),
            "convergence condition of the chi-square moment",
        )
    else:  # pragma: no cover - depends on the sympy version
        value = integral
    value = sp.powsimp(sp.simplify(value.subs(nu, _M - 1)), force=True)
    return sp.simplify(value)


@cache
def one_step_moment_expr() -> sp.Expr:
    """``r_k = E[(sigma'^2/sigma^2)^k] = E[(C/(M-ddof))^k]`` for one refit step.

    Formula: ``r_k = 2^k Gamma(a+k) / (Gamma(a) (M-ddof)^k)``, ``a = (M-1)/2``, ``k > -a``.
    Derived from :func:`chi2_moment_expr`.

    Returns
    -------
    sympy.Expr
        ``r_k`` in the symbols ``M``, ``k`` and ``ddof``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.one_step_moment_expr()
    2**k*gamma(M/2 + k - 1/2)/((M - ddof)**k*gamma(M/2 - 1/2))
    >>> sp.factor(sp.expand_func(g.one_step_moment_expr().subs(s.k, 1)))
    (M - 1)/(M - ddof)
    """
    return chi2_moment_expr() / (_M - _ddof) ** _k


@cache
def variance_moment_expr() -> sp.Expr:
    """``E[sigma_n^{2k}]`` after ``n`` generations with constant ``M``.

    Derived by solving ``m_{t+1} = r_k m_t``, ``m_0 = sigma0^{2k}`` with ``sympy.rsolve``
    (independence of the ``n`` one-step factors), where ``r_k`` is :func:`one_step_moment_expr`.
    Formula: ``E sigma_n^{2k} = sigma0^{2k} [2^k Gamma(a+k) / (Gamma(a) (M-ddof)^k)]^n``,
    ``a = (M-1)/2``, ``k > -a``. Generation 0 is the original distribution.

    Returns
    -------
    sympy.Expr
        The moment in the symbols ``n``, ``M``, ``k``, ``ddof`` and ``sigma0``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.variance_moment_expr()
    sigma0**(2*k)*(2**k*gamma(M/2 + k - 1/2)/((M - ddof)**k*gamma(M/2 - 1/2)))**n
    >>> g.variance_moment_expr().subs({s.k: 2, s.M: 10, s.ddof: 1, s.n: 3})   # (11/9)^3 sigma0^4
    1331*sigma0**4/729
    """
    r = sp.Symbol("r", positive=True)
    m = sp.Function("m")
    sol = sp.rsolve(m(_t + 1) - r * m(_t), m(_t), {m(0): _sigma0 ** (2 * _k)})
    _require(sol is not None, "rsolve of the moment recursion")
    sol = sol.subs(_t, _n)
    return sol.subs(r, one_step_moment_expr())


def _gamma_clean(expr: sp.Expr) -> sp.Expr:
    """Reduce ratios like ``Gamma(x+1)/Gamma(x)`` and tidy powers."""
    return sp.simplify(sp.powsimp(sp.expand_func(sp.gammasimp(expr)), force=True))


@cache
def _moment_factor(kval: sp.Rational) -> sp.Expr:
    return sp.factor(_gamma_clean(one_step_moment_expr().subs(_k, kval)))


@cache
def expected_variance_expr() -> sp.Expr:
    """``E sigma_n^2 = sigma0^2 ((M-1)/(M-ddof))^n``: :func:`variance_moment_expr` at ``k=1``.

    Constant for the unbiased estimator (``ddof=1``); ``sigma0^2 (1-1/M)^n`` for ``ddof=0``.

    Returns
    -------
    sympy.Expr
        ``E sigma_n^2`` in the symbols ``n``, ``M``, ``ddof`` and ``sigma0``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.expected_variance_expr()
    sigma0**2*((M - 1)/(M - ddof))**n
    >>> g.expected_variance_expr().subs(s.ddof, 1)
    sigma0**2
    """
    q = _moment_factor(sp.Integer(1))
    return _sigma0**2 * q**_n


@cache
def std_factor_expr() -> sp.Expr:
    """``c = E[sigma_1]/sigma_0 = r_{1/2}``, the per-generation factor of ``E sigma_n``.

    Formula: ``c = sqrt(2/(M-ddof)) Gamma(M/2) / Gamma((M-1)/2)`` (< 1 for ``ddof <= 1``).

    Returns
    -------
    sympy.Expr
        ``c`` in the symbols ``M`` and ``ddof``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.
    .. [2] Bertrand et al., "On the stability of iterative retraining of generative models on
       their own data", 2023 (their alpha(M)).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.std_factor_expr()
    sqrt(2)*gamma(M/2)/(sqrt(M - ddof)*gamma(M/2 - 1/2))
    >>> g.std_factor_expr().subs({s.M: 2, s.ddof: 1})
    sqrt(2)/sqrt(pi)
    """
    return _moment_factor(sp.Rational(1, 2))


@cache
def expected_std_expr() -> sp.Expr:
    """``E sigma_n = sigma0 c^n``, ``c`` = :func:`std_factor_expr` (``k=1/2`` moment).

    Returns
    -------
    sympy.Expr
        ``E sigma_n`` in the symbols ``n``, ``M``, ``ddof`` and ``sigma0``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.expected_std_expr()
    sigma0*(sqrt(2)*gamma(M/2)/(sqrt(M - ddof)*gamma(M/2 - 1/2)))**n
    >>> g.expected_std_expr().subs({s.M: 2, s.ddof: 1, s.n: 2})
    2*sigma0/pi
    """
    return _sigma0 * std_factor_expr() ** _n


# ---------------------------------------------------------------------------------------------
# 4. Log-variance random walk
# ---------------------------------------------------------------------------------------------
@cache
def one_step_log_mean_expr() -> sp.Expr:
    """``ell = E log(sigma'^2/sigma^2) = d r_k / dk at k=0 = psi(a) + log(2/(M-ddof))``.

    ``psi`` is the digamma function, ``a = (M-1)/2``. Negative for ``0 <= ddof <= 1`` (see the
    proof ``gaussian_collapse`` of :mod:`modelcollapse.proofs`, ``proofs/gaussian_collapse.md``).

    Returns
    -------
    sympy.Expr
        ``ell`` in the symbols ``M`` and ``ddof`` (digamma written ``polygamma(0, .)``).

    References
    ----------
    .. [1] Shumailov et al. 2024.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.one_step_log_mean_expr()
    -log(M - ddof) + polygamma(0, M/2 - 1/2) + log(2)
    >>> g.one_step_log_mean_expr().subs({s.M: 3, s.ddof: 1})     # psi(1)
    -EulerGamma
    """
    d1 = sp.diff(one_step_moment_expr(), _k).subs(_k, 0)
    return sp.expand_log(sp.simplify(d1), force=True)


@cache
def one_step_log_var_expr() -> sp.Expr:
    """``v = Var log(sigma'^2/sigma^2) = d^2 log r_k / dk^2 at k=0 = psi'(a)`` (trigamma).

    ``log r_k`` is the cumulant generating function of ``log(C/(M-ddof))``, so its second
    derivative at 0 is the variance.

    Returns
    -------
    sympy.Expr
        ``v`` in the symbol ``M`` (it does not depend on ``ddof``).

    References
    ----------
    .. [1] Shumailov et al., Nature 2024.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.one_step_log_var_expr()
    polygamma(1, M/2 - 1/2)
    >>> g.one_step_log_var_expr().subs(s.M, 3)
    pi**2/6
    """
    cgf = sp.expand_log(sp.log(one_step_moment_expr()), force=True)
    return sp.simplify(sp.diff(cgf, _k, 2).subs(_k, 0))


def _solve_additive(step: sp.Expr, start: sp.Expr) -> sp.Expr:
    """Solve ``y_{t+1} = y_t + step``, ``y_0 = start`` with ``rsolve``; return ``y_n``."""
    s = sp.Symbol("s", real=True)
    y = sp.Function("y")
    sol = sp.rsolve(y(_t + 1) - y(_t) - s, y(_t), {y(0): start})
    _require(sol is not None, "rsolve of an additive recursion")
    return sol.subs(_t, _n).subs(s, step)


@cache
def expected_log_variance_expr() -> sp.Expr:
    """``E log sigma_n^2 = log sigma0^2 + n [psi(a) + log(2/(M-ddof))]``, ``a=(M-1)/2``.

    Derived from the random walk ``log sigma_{t+1}^2 = log sigma_t^2 + xi_t`` with i.i.d.
    increments of mean :func:`one_step_log_mean_expr` (recursion solved by ``rsolve``).

    Returns
    -------
    sympy.Expr
        ``E log sigma_n^2`` in the symbols ``n``, ``M``, ``ddof`` and ``sigma0``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.expected_log_variance_expr()
    n*(-log(M - ddof) + polygamma(0, M/2 - 1/2) + log(2)) + 2*log(sigma0)
    >>> g.expected_log_variance_expr().subs({s.M: 3, s.ddof: 1, s.n: 2})
    2*log(sigma0) - 2*EulerGamma
    """
    return _solve_additive(one_step_log_mean_expr(), sp.log(_sigma0**2))


@cache
def log_variance_variance_expr() -> sp.Expr:
    """``Var log sigma_n^2 = n psi'((M-1)/2)`` (independent of ``ddof`` and ``sigma0``).

    Variances of independent increments add: ``V_{t+1} = V_t + psi'(a)``, ``V_0 = 0``.

    Returns
    -------
    sympy.Expr
        ``Var log sigma_n^2`` in the symbols ``n`` and ``M``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.log_variance_variance_expr()
    n*polygamma(1, M/2 - 1/2)
    >>> g.log_variance_variance_expr().subs(s.M, 3)
    pi**2*n/6
    """
    return _solve_additive(one_step_log_var_expr(), sp.Integer(0))


# ---------------------------------------------------------------------------------------------
# 5-6. Mean drift, Wasserstein-2, marginal variance
# ---------------------------------------------------------------------------------------------
@cache
def _mean_drift_branches() -> tuple[sp.Expr, sp.Expr]:
    """(general ``ddof != 1`` branch, ``ddof = 1`` branch) of ``E(mu_n - mu0)^2``."""
    q = sp.Symbol("q", positive=True)
    D = sp.Function("D")
    # E(mu_{t+1}-mu0)^2 = E(mu_t-mu0)^2 + E[sigma_t^2 Z^2]/M = D_t + sigma0^2 q^t / M
    general = sp.rsolve(D(_t + 1) - D(_t) - _sigma0**2 * q**_t / _M, D(_t), {D(0): 0})
    flat = sp.rsolve(D(_t + 1) - D(_t) - _sigma0**2 / _M, D(_t), {D(0): 0})
    _require(general is not None and flat is not None, "rsolve of the mean-drift recursion")
    qval = _moment_factor(sp.Integer(1))
    # sigma0^2 (q^n - 1) / (M (q - 1)), with q - 1 = (ddof - 1)/(M - ddof) written exactly
    general = sp.factor(sp.simplify(general.subs(_t, _n)))
    qm1 = sp.Symbol("qm1")
    general = general.subs(q - 1, qm1).subs(q, qval).subs(qm1, sp.factor(qval - 1))
    flat = flat.subs(_t, _n)
    # the flat branch is the ddof -> 1 limit of the general one
    _require(_zero(sp.limit(general, _ddof, 1) - flat), "continuity at ddof=1")
    return general, flat


@cache
def mean_drift_mse_expr() -> sp.Expr:
    """``E(mu_n - mu0)^2`` with constant ``M`` (a ``Piecewise`` in ``ddof``).

    Derived from ``D_{t+1} = D_t + E sigma_t^2 / M``, ``D_0 = 0`` (``rsolve``):
    ``ddof = 1``: ``n sigma0^2 / M`` (a random walk);
    otherwise: ``(sigma0^2/M) (1 - q^n)/(1 - q)`` with ``q = (M-1)/(M-ddof)``, i.e.
    ``sigma0^2 (M-ddof)(1 - q^n) / (M (1-ddof))`` (``sigma0^2 (1 - (1-1/M)^n)`` for ``ddof=0``).
    The ``ddof = 1`` branch is checked to be the ``ddof -> 1`` limit of the other.

    Returns
    -------
    sympy.Expr
        A ``Piecewise`` in the symbols ``n``, ``M``, ``ddof`` and ``sigma0``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.mean_drift_mse_expr().subs(s.ddof, 1)
    n*sigma0**2/M
    >>> sp.simplify(g.mean_drift_mse_expr().subs(s.ddof, 0))
    sigma0**2*(M**n - (M - 1)**n)/M**n
    """
    general, flat = _mean_drift_branches()
    return sp.Piecewise((flat, sp.Eq(_ddof, 1)), (general, True))


@cache
def expected_w2_squared_expr() -> sp.Expr:
    """``E W2^2`` between generation ``n`` and the original, exact for every ``n``.

    ``W2^2(N(mu0,sigma0^2), N(mu_n,sigma_n^2)) = (mu_n-mu0)^2 + (sigma_n-sigma0)^2``, hence
    ``E W2^2 = E(mu_n-mu0)^2 + E sigma_n^2 - 2 sigma0 E sigma_n + sigma0^2``, assembled from
    :func:`mean_drift_mse_expr`, :func:`expected_variance_expr`, :func:`expected_std_expr`.

    Returns
    -------
    sympy.Expr
        ``E W2^2`` in the symbols ``n``, ``M``, ``ddof`` and ``sigma0`` (containing the
        ``Piecewise`` of the mean drift).

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.expected_w2_squared_expr().subs(s.n, 0)
    0
    >>> sp.simplify(g.expected_w2_squared_expr().subs({s.n: 1, s.M: 2, s.ddof: 1}))
    -2*sqrt(2)*sigma0**2/sqrt(pi) + 5*sigma0**2/2
    """
    return (
        mean_drift_mse_expr()
        + expected_variance_expr()
        - 2 * _sigma0 * expected_std_expr()
        + _sigma0**2
    )


@cache
def marginal_variance_expr() -> sp.Expr:
    """``Var X_n = E sigma_n^2 + E(mu_n-mu0)^2`` for one point drawn from generation ``n``.

    Law of total variance. ``sigma0^2 (1 + n/M)`` for ``ddof=1``; exactly ``sigma0^2`` for
    ``ddof=0``.

    Returns
    -------
    sympy.Expr
        ``Var X_n`` in the symbols ``n``, ``M``, ``ddof`` and ``sigma0``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.marginal_variance_expr().subs(s.ddof, 1)
    sigma0**2 + n*sigma0**2/M
    >>> sp.simplify(g.marginal_variance_expr().subs(s.ddof, 0))
    sigma0**2
    """
    return expected_variance_expr() + mean_drift_mse_expr()


# ---------------------------------------------------------------------------------------------
# 7. Large-M expansions
# ---------------------------------------------------------------------------------------------
def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer >= 1 (got {order!r})")
    return int(order)


@cache
def _log_std_factor_poly(order: int) -> sp.Expr:
    """Series of ``log c`` in ``epsilon`` through ``epsilon^order`` (see below)."""
    z = sp.Symbol("z", positive=True)
    stirling = sp.series(sp.loggamma(z), z, sp.oo, order + 3).removeO()
    Minv = 1 / _eps
    logc = sp.log(2) / 2 - sp.log(Minv - _ddof) / 2
    logc += stirling.subs(z, Minv / 2) - stirling.subs(z, (Minv - 1) / 2)
    return sp.expand(sp.series(logc, _eps, 0, order + 1).removeO())


_SERIES_ORDER = 4  # one derivation serves every order up to this (truncated), for speed


@cache
def log_std_factor_series(order: int = 2) -> sp.Expr:
    """``log c`` expanded in ``epsilon = 1/M`` up to ``epsilon^order`` (no ``O`` term).

    Derived from the Stirling series of ``log Gamma`` (``sympy.series(loggamma(z), z, oo)``)
    applied to ``log c = (1/2) log(2/(M-ddof)) + log Gamma(M/2) - log Gamma((M-1)/2)``.
    First term: ``(2 ddof - 3) epsilon / 4`` (``-epsilon/4`` for ``ddof=1``), so
    ``E sigma_n = sigma0 c^n ~ sigma0 exp(-n/(4M))`` for ``ddof=1``. Expression in ``epsilon``.

    Parameters
    ----------
    order : int, optional
        Highest power of ``epsilon`` kept, an integer >= 1 (default 2).

    Returns
    -------
    sympy.Expr
        A polynomial in ``epsilon`` and ``ddof`` without constant term.

    Notes
    -----
    One derivation, through ``epsilon^4``, serves every ``order <= 4`` (truncated); it takes about
    a second the first time (then cached).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.log_std_factor_series(1)
    ddof*epsilon/2 - 3*epsilon/4
    >>> g.log_std_factor_series(3).subs(s.ddof, 1)
    -5*epsilon**3/24 - epsilon**2/4 - epsilon/4
    """
    order = _check_order(order)
    poly = _log_std_factor_poly(max(order, _SERIES_ORDER))
    return sp.expand(sum(poly.coeff(_eps, p) * _eps**p for p in range(1, order + 1)))


@cache
def std_factor_series(order: int = 2) -> sp.Expr:
    """Large-``M`` expansion of ``c = E sigma_1/sigma_0`` in powers of ``1/M``, with an ``O`` term.

    ``c = 1 + (2 ddof - 3)/(4M) + O(M^-2)``; for ``ddof=1``
    ``1 - 1/(4M) - 7/(32 M^2) + O(M^-3)``. Derived by exponentiating
    :func:`log_std_factor_series`. Use ``.removeO()`` for the truncated polynomial in ``1/M``.

    Parameters
    ----------
    order : int, optional
        Highest power of ``1/M`` kept, an integer >= 1 (default 2); the ``O`` term is
        ``O(M^-(order+1))``.

    Returns
    -------
    sympy.Expr
        A polynomial in ``1/M`` (coefficients in ``ddof``) plus ``O(M**-(order+1), (M, oo))``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1 (SI expansion).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.std_factor_series(1)
    (ddof/2 - 3/4)/M + 1 + O(M**(-2), (M, oo))
    >>> g.std_factor_series().subs(s.ddof, 1)
    -7/(32*M**2) - 1/(4*M) + 1 + O(M**(-3), (M, oo))
    """
    order = _check_order(order)
    ser = sp.series(sp.exp(log_std_factor_series(order)), _eps, 0, order + 1).removeO()
    poly = sp.expand(ser).subs(_eps, 1 / _M)
    return sp.collect(sp.expand(poly), _M) + sp.O(_M ** (-(order + 1)), (_M, sp.oo))


@cache
def w2_series(order: int = 1) -> sp.Expr:
    """``E W2^2`` at fixed ``n`` expanded in ``epsilon = 1/M`` up to ``epsilon^order``.

    A polynomial in ``epsilon``, ``n``, ``ddof``, ``sigma0``; no ``O`` term.
    ``q^n = exp(n log q)`` and ``c^n = exp(n log c)`` are expanded with ``log q`` exact and
    ``log c`` from :func:`log_std_factor_series`; the mean drift as ``(sigma0^2 epsilon)
    sum_{t<n} q^t`` with ``sum_{t<n} exp(t L) = (exp(nL)-1)/(exp(L)-1)``.

    Parameters
    ----------
    order : int, optional
        Highest power of ``epsilon`` kept, an integer >= 1 (default 1).

    Returns
    -------
    sympy.Expr
        The truncated expansion, a polynomial in ``epsilon``, ``n``, ``ddof`` and ``sigma0``.

    Notes
    -----
    Valid while ``n/M`` is small (the coefficient of ``epsilon^j`` grows like ``n^j``). The
    series expansions take about a second the first time (then cached).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> g.w2_series()
    3*epsilon*n*sigma0**2/2
    """
    order = _check_order(order)
    Minv = 1 / _eps
    logq = sp.log(Minv - 1) - sp.log(Minv - _ddof)
    L = sp.Symbol("L")
    qn = sp.exp(_n * logq)
    cn = sp.exp(_n * log_std_factor_series(order + 1))
    # geometric sum (exp(nL)-1)/(exp(L)-1) expanded in L, then L -> log q (which is O(eps))
    geo = sp.series((sp.exp(_n * L) - 1) / (sp.exp(L) - 1), L, 0, order + 1).removeO()
    drift = _sigma0**2 * _eps * geo.subs(L, logq)
    w2 = drift + _sigma0**2 * qn - 2 * _sigma0**2 * cn + _sigma0**2
    ser = sp.series(w2, _eps, 0, order + 1).removeO()
    return sp.expand(sp.simplify(sp.expand(ser)))


@cache
def w2_leading_order_expr() -> sp.Expr:
    """Leading order of ``E W2^2`` for large ``M`` at fixed ``n``: ``(3/2) sigma0^2 n / M``.

    The ``epsilon^1`` coefficient of :func:`w2_series` (``epsilon = 1/M``); the ``ddof``
    terms cancel, so it is the same for every ``ddof``. Valid while ``n/M`` is small.

    Returns
    -------
    sympy.Expr
        ``3 n sigma0^2 / (2 M)``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI (``(3/2) sigma0^2 sum_i 1/M_i``).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> g.w2_leading_order_expr()
    3*n*sigma0**2/(2*M)
    """
    coeff = sp.expand(w2_series(1)).coeff(_eps, 1)
    _require(not sp.simplify(coeff).has(_ddof), "ddof-independence of the leading order")
    return sp.simplify(coeff) / _M


# ---------------------------------------------------------------------------------------------
# 8. Schedules M_1, ..., M_n
# ---------------------------------------------------------------------------------------------
def _at(expr: sp.Expr, Mi: sp.Expr) -> sp.Expr:
    return expr.subs(_M, Mi)


@cache
def expected_variance_schedule_expr() -> sp.Expr:
    """``E sigma_n^2 = sigma0^2 prod_{i=1..n} (M_i - 1)/(M_i - ddof)`` for a schedule ``Ms``.

    Solution of ``s_i = s_{i-1} (M_i-1)/(M_i-ddof)``, ``s_0 = sigma0^2`` (generation ``i`` draws
    ``M_i`` points). ``sigma0^2`` for every ``n`` when ``ddof=1``.

    Returns
    -------
    sympy.Expr
        ``sigma0^2`` times an unevaluated ``Product`` over ``i = 1..n`` of the indexed ``Ms[i]``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.expected_variance_schedule_expr()
    sigma0**2*Product((Ms[i] - 1)/(-ddof + Ms[i]), (i, 1, n))
    >>> g.expected_variance_schedule_expr().subs(s.n, 2).doit()
    sigma0**2*(Ms[1] - 1)*(Ms[2] - 1)/((-ddof + Ms[1])*(-ddof + Ms[2]))
    """
    return _sigma0**2 * sp.Product(_at(_moment_factor(sp.Integer(1)), _Ms[_i]), (_i, 1, _n))


@cache
def expected_std_schedule_expr() -> sp.Expr:
    """``E sigma_n = sigma0 prod_{i=1..n} c(M_i)``, ``c`` = :func:`std_factor_expr`.

    Returns
    -------
    sympy.Expr
        ``sigma0`` times an unevaluated ``Product`` over ``i = 1..n`` of ``c(Ms[i])``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> g.expected_std_schedule_expr()
    sigma0*Product(sqrt(2)*gamma(Ms[i]/2)/(sqrt(-ddof + Ms[i])*gamma(Ms[i]/2 - 1/2)), (i, 1, n))
    """
    return _sigma0 * sp.Product(_at(std_factor_expr(), _Ms[_i]), (_i, 1, _n))


@cache
def mean_drift_mse_schedule_expr() -> sp.Expr:
    """``E(mu_n-mu0)^2 = sum_{i=1..n} E sigma_{i-1}^2 / M_i`` for a schedule ``Ms``.

    From ``D_i = D_{i-1} + E sigma_{i-1}^2 / M_i``, ``D_0 = 0``; equals
    ``sigma0^2 sum_i 1/M_i`` exactly for ``ddof=1``.

    Returns
    -------
    sympy.Expr
        An unevaluated ``Sum`` over ``i = 1..n`` (with a ``Product`` over ``j < i`` inside).

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.mean_drift_mse_schedule_expr().subs(s.n, 2).doit()
    sigma0**2*(1/Ms[1] + (Ms[1] - 1)/((-ddof + Ms[1])*Ms[2]))
    >>> sp.simplify(g.mean_drift_mse_schedule_expr().subs({s.n: 3, s.ddof: 1}).doit())
    sigma0**2/Ms[3] + sigma0**2/Ms[2] + sigma0**2/Ms[1]
    """
    j = sp.Symbol("j", integer=True, positive=True)
    var_before = _sigma0**2 * sp.Product(_at(_moment_factor(sp.Integer(1)), _Ms[j]), (j, 1, _i - 1))
    return sp.Sum(var_before / _Ms[_i], (_i, 1, _n))


@cache
def expected_w2_squared_schedule_expr() -> sp.Expr:
    """``E W2^2 = E(mu_n-mu0)^2 + E sigma_n^2 - 2 sigma0 E sigma_n + sigma0^2`` (schedule).

    Assembled from :func:`mean_drift_mse_schedule_expr`, :func:`expected_variance_schedule_expr`
    and :func:`expected_std_schedule_expr`.

    Returns
    -------
    sympy.Expr
        ``E W2^2`` with unevaluated ``Sum`` and ``Product`` over the indexed schedule ``Ms``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.expected_w2_squared_schedule_expr().subs(s.n, 1).doit()
    sigma0**2 + sigma0**2/Ms[1] + sigma0**2*(Ms[1] - 1)/(-ddof + Ms[1]) -
    2*sqrt(2)*sigma0**2*gamma(Ms[1]/2)/(sqrt(-ddof + Ms[1])*gamma(Ms[1]/2 - 1/2))
    """
    return (
        mean_drift_mse_schedule_expr()
        + expected_variance_schedule_expr()
        - 2 * _sigma0 * expected_std_schedule_expr()
        + _sigma0**2
    )


@cache
def marginal_variance_schedule_expr() -> sp.Expr:
    """``Var X_n = E sigma_n^2 + E(mu_n-mu0)^2`` for a schedule ``Ms``.

    Exactly ``sigma0^2`` for ``ddof=0`` whatever the schedule.

    Returns
    -------
    sympy.Expr
        ``Var X_n`` with unevaluated ``Sum`` and ``Product`` over the indexed schedule ``Ms``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> sp.simplify(g.marginal_variance_schedule_expr().subs({s.n: 2, s.ddof: 0}).doit())
    sigma0**2
    """
    return expected_variance_schedule_expr() + mean_drift_mse_schedule_expr()


@cache
def w2_leading_order_schedule_expr() -> sp.Expr:
    """``(3/2) sigma0^2 sum_{i=1..n} 1/M_i``: the first-order term of ``E W2^2`` in the ``1/M_i``.

    Each generation contributes ``1/M_i`` to the drift and ``-1/(4 M_i)`` to
    ``log E sigma_n`` at first order, so the constant-``M`` coefficient
    (:func:`w2_leading_order_expr`) distributes over generations.

    Returns
    -------
    sympy.Expr
        An unevaluated ``Sum`` over ``i = 1..n`` of ``3 sigma0^2 / (2 Ms[i])``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, SI.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> s = g.symbols()
    >>> g.w2_leading_order_schedule_expr()
    Sum(3*sigma0**2/(2*Ms[i]), (i, 1, n))
    >>> g.w2_leading_order_schedule_expr().subs(s.n, 3).doit()
    3*sigma0**2*(1/Ms[3] + 1/Ms[2] + 1/Ms[1])/2
    """
    per_generation = w2_leading_order_expr().subs(_n, 1)
    return sp.Sum(_at(per_generation, _Ms[_i]), (_i, 1, _n))


# ---------------------------------------------------------------------------------------------
# Lambdify
# ---------------------------------------------------------------------------------------------
_sigma2 = sp.Symbol("sigma2", positive=True)
_MODULES = ["scipy", "numpy"]


def _log_form(expr: sp.Expr) -> sp.Expr:
    """``log(expr)`` for a positive product of powers and gamma functions, with every
    ``log(Gamma(x))`` written as ``loggamma(x)`` (no overflow for large arguments)."""
    lg = sp.expand_log(sp.log(expr), force=True)
    return sp.expand(
        lg.replace(
            lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
            lambda e: sp.loggamma(e.args[0].args[0]),
        )
    )


def _log_of_base(base: sp.Expr) -> sp.Expr:
    """``log(base)`` in a cancellation-free form: ``loggamma`` for gamma ratios,
    ``log1p(base - 1)`` (with ``base - 1`` simplified exactly) for rational bases."""
    if base.has(sp.gamma):
        return _log_form(base)
    return log1p(sp.cancel(sp.together(base - 1)))


def _expm1_add(expr: sp.Expr) -> sp.Expr:
    """Rewrite ``sum_j c_j exp(x_j) + rest`` as ``sum_j c_j expm1(x_j) + (sum_j c_j + rest)``
    when the bracket simplifies (it removes the cancellation ``exp(x) - 1`` at small ``x``)."""

    def is_candidate(e: sp.Expr) -> bool:
        return e.is_Add and any(t.has(sp.exp) for t in e.args)

    def rewrite(e: sp.Expr) -> sp.Expr:
        exp_terms, rest = [], []
        for term in e.args:
            coeff, fac = term.as_independent(sp.exp, as_Add=False)
            if isinstance(fac, sp.exp):
                exp_terms.append((coeff, fac.args[0]))
            else:
                rest.append(term)
        if not exp_terms:
            return e
        leftover = sp.simplify(sp.Add(*(c for c, _ in exp_terms)) + sp.Add(*rest))
        if sp.count_ops(leftover) > sp.count_ops(sp.Add(*rest)):
            return e
        return sp.Add(*(c * expm1(x) for c, x in exp_terms)) + leftover

    return expr.replace(is_candidate, rewrite)


def _stable(expr: sp.Expr) -> sp.Expr:
    """An equivalent expression for floating point: ``base**n`` -> ``exp(n log(base))`` with
    the log from :func:`_log_of_base`, a lone positive gamma ratio ``P`` -> ``exp(log P)``,
    then ``exp(x) - 1`` -> ``expm1(x)`` where terms cancel."""
    expr = expr.replace(
        lambda e: e.is_Pow and e.exp.has(_n) and e.base.has(_M),
        lambda e: sp.exp(e.exp * _log_of_base(e.base)),
    )
    if expr.has(sp.gamma) and (expr.is_Mul or expr.is_Pow):
        expr = sp.exp(_log_form(expr))
    return _expm1_add(expr)


def _lam(expr: sp.Expr, args: tuple[sp.Symbol, ...], dps: int | None) -> Callable[..., NDArray]:
    """Lambdify ``expr`` (``sigma0 -> sqrt(sigma2)``): NumPy/SciPy in float64 when ``dps`` is
    None (via :func:`_stable`), otherwise mpmath at ``dps`` digits, element-wise."""
    expr = expr.subs(_sigma0, sp.sqrt(_sigma2))
    if dps is None:
        return sp.lambdify(args, _stable(expr), modules=["scipy", "numpy"])
    f = sp.lambdify(args, expr, modules="mpmath")

    def scalar(*xs: float) -> float:
        with mpmath.workdps(dps):
            return float(f(*(mpmath.mpf(float(x)) for x in xs)))

    return np.vectorize(scalar, otypes=[np.float64])


def _ddof_M(ddof: ArrayLike, M: ArrayLike) -> tuple[NDArray, NDArray]:
    dd = P.ddof.array(ddof)
    MM = P.GAUSSIAN_M.array(M)
    P.require_greater(P.GAUSSIAN_M, MM, P.ddof, dd)
    return dd, MM


def _schedule_arg(M: ArrayLike, ddof: ArrayLike = 0.0) -> NDArray:
    arr = np.asarray(M) if not isinstance(M, str | bytes) else None
    if arr is None or arr.ndim > 1:
        raise ValueError(f"M must be a 1-D schedule M_1..M_n of integers >= 2 (got "
                         f"{P.show(M) if arr is None else f'shape {arr.shape}'})")
    arr = P.GAUSSIAN_M.array(np.atleast_1d(arr))
    P.require_greater(P.GAUSSIAN_M, arr, P.ddof, np.max(np.asarray(ddof), initial=0.0))
    return arr


def _common(n: ArrayLike, M: ArrayLike, ddof: ArrayLike, sigma2: ArrayLike):
    nn = P.n.array(n)
    dd, MM = _ddof_M(ddof, M)
    s2 = P.sigma2.array(sigma2)
    return nn, MM, dd, s2


def _wrap_nm(name: str, expr: sp.Expr, dps: int | None) -> Callable[..., NDArray]:
    f = _lam(expr, (_n, _M, _ddof, _sigma2), dps)

    def call(n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0):
        nn, MM, dd, s2 = _common(n, M, ddof, sigma2)
        shape = np.broadcast_shapes(nn.shape, MM.shape, dd.shape, s2.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = f(nn, MM, dd, s2)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), shape).copy()

    call.__name__ = name
    call.__doc__ = f"Lambdified symbolic ``{name}(n, M, *, ddof=1, sigma2=1.0)``: {expr}"
    return call


def _wrap_moment(expr: sp.Expr, dps: int | None) -> Callable[..., NDArray]:
    f = _lam(expr, (_n, _M, _k, _ddof, _sigma2), dps)

    def variance_moment(
        n: ArrayLike, M: ArrayLike, k: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
    ) -> NDArray:
        nn, MM, dd, s2 = _common(n, M, ddof, sigma2)
        kk = P.k.array(k)
        if np.any(~np.isfinite(kk) | (kk <= -(MM - 1) / 2)):
            raise ValueError(f"k must be finite and > -(M-1)/2 (got k={k!r}, M={M!r})")
        shape = np.broadcast_shapes(nn.shape, MM.shape, kk.shape, dd.shape, s2.shape)
        out = f(nn, MM, kk, dd, s2)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), shape).copy()

    variance_moment.__doc__ = (
        f"Lambdified symbolic ``variance_moment(n, M, k, *, ddof=1, sigma2=1.0)``: {expr}"
    )
    return variance_moment


def _wrap_std_factor(expr: sp.Expr, dps: int | None) -> Callable[..., NDArray]:
    f = _lam(expr, (_M, _ddof), dps)

    def std_factor(M: ArrayLike, *, ddof: ArrayLike = 1) -> NDArray:
        dd, MM = _ddof_M(ddof, M)
        shape = np.broadcast_shapes(MM.shape, dd.shape)
        return np.broadcast_to(np.asarray(f(MM, dd), dtype=np.float64), shape).copy()

    std_factor.__doc__ = f"Lambdified symbolic ``std_factor(M, *, ddof=1)``: {expr}"
    return std_factor


def _wrap_w2_schedule(expr: sp.Expr, dps: int | None) -> Callable[..., NDArray]:
    # expr = Sum(g(Ms[i]), (i, 1, n)): the printed Sum loops over i and indexes the array Ms
    f = sp.lambdify(
        (_Ms, _n, _sigma2),
        expr.subs(_sigma0, sp.sqrt(_sigma2)),
        modules="mpmath" if dps is not None else ["scipy", "numpy"],
    )

    def w2_leading_order_schedule(M: ArrayLike, *, sigma2: ArrayLike = 1.0) -> NDArray:
        arr = _schedule_arg(M)
        s2 = P.sigma2.array(sigma2)
        if dps is None:
            padded = np.concatenate([[np.nan], arr])  # 1-based: padded[1] is M_1
            vals = [f(padded, m, 1.0) for m in range(1, arr.size + 1)]
        else:
            with mpmath.workdps(dps):
                padded = [mpmath.nan] + [mpmath.mpf(float(x)) for x in arr]
                vals = [float(f(padded, m, mpmath.mpf(1))) for m in range(1, arr.size + 1)]
        out = np.asarray(vals, dtype=np.float64)
        return np.multiply.outer(s2, out)

    w2_leading_order_schedule.__doc__ = (
        f"Lambdified symbolic ``w2_leading_order_schedule(M, *, sigma2=1.0)``: the values of "
        f"{expr} for n = 1..len(M)."
    )
    return w2_leading_order_schedule


def _products_as_sums(expr: sp.Expr) -> sp.Expr:
    """``Product(f, (i, lo, hi))`` -> ``exp(Sum(log f, (i, lo, hi)))`` (positive factors), so
    that the printers (which know ``Sum`` but not ``Product``) can evaluate it."""
    return expr.replace(
        lambda e: isinstance(e, sp.Product),
        lambda e: sp.exp(sp.Sum(sp.log(e.function), *e.limits)),
    )


def _wrap_schedule(name: str, expr: sp.Expr, dps: int | None) -> Callable[..., NDArray]:
    body = _products_as_sums(expr.subs(_sigma0, sp.sqrt(_sigma2)))
    modules = "mpmath" if dps is not None else ["scipy", "numpy"]
    f = sp.lambdify((_Ms, _n, _ddof, _sigma2), body, modules=modules)

    def scalar(arr: NDArray, m: int, d: float, s2: float) -> float:
        if dps is None:
            padded = np.concatenate([[np.nan], arr])  # 1-based: padded[1] is M_1
            return float(f(padded, m, d, s2))
        with mpmath.workdps(dps):
            padded = [mpmath.nan] + [mpmath.mpf(float(v)) for v in arr]
            return float(f(padded, m, mpmath.mpf(float(d)), mpmath.mpf(float(s2))))

    def call(M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0) -> NDArray:
        dd = P.ddof.array(ddof)
        arr = _schedule_arg(M, dd)
        s2 = P.sigma2.array(sigma2)
        lead = np.broadcast_shapes(dd.shape, s2.shape)
        out = np.empty(lead + (arr.size + 1,))
        for idx in np.ndindex(*lead):
            d = float(np.broadcast_to(dd, lead)[idx])
            v = float(np.broadcast_to(s2, lead)[idx])
            out[idx] = [scalar(arr, m, d, v) for m in range(arr.size + 1)]
        return out

    call.__name__ = name
    call.__doc__ = (
        f"Lambdified symbolic ``{name}(M, *, ddof=1, sigma2=1.0)``: generations 0..len(M) "
        f"of {expr}"
    )
    return call


_SCHEDULE_EXPRS: dict[str, Callable[[], sp.Expr]] = {
    "expected_variance_schedule": expected_variance_schedule_expr,
    "expected_std_schedule": expected_std_schedule_expr,
    "mean_drift_mse_schedule": mean_drift_mse_schedule_expr,
    "expected_w2_squared_schedule": expected_w2_squared_schedule_expr,
    "marginal_variance_schedule": marginal_variance_schedule_expr,
}

_NM_EXPRS: dict[str, Callable[[], sp.Expr]] = {
    "expected_variance": expected_variance_expr,
    "expected_std": expected_std_expr,
    "expected_log_variance": expected_log_variance_expr,
    "log_variance_variance": log_variance_variance_expr,
    "mean_drift_mse": mean_drift_mse_expr,
    "expected_w2_squared": expected_w2_squared_expr,
    "marginal_variance": marginal_variance_expr,
    "w2_leading_order": w2_leading_order_expr,
}

LAMBDIFIABLE: tuple[str, ...] = (
    "variance_moment",
    *_NM_EXPRS,
    "std_factor",
    "w2_leading_order_schedule",
    *_SCHEDULE_EXPRS,
)


@cache
def lambdified(name: str, *, dps: int | None = None) -> Callable[..., NDArray]:
    """A NumPy-broadcasting callable of the derived expression ``name``.

    The callable has the signature of the numeric module :mod:`modelcollapse.theory.gaussian`:

    - ``variance_moment(n, M, k, *, ddof=1, sigma2=1.0)``;
    - ``expected_variance``, ``expected_std``, ``expected_log_variance``,
      ``log_variance_variance``, ``mean_drift_mse``, ``expected_w2_squared``,
      ``marginal_variance``, ``w2_leading_order``: ``(n, M, *, ddof=1, sigma2=1.0)``;
    - ``std_factor(M, *, ddof=1)``;
    - ``w2_leading_order_schedule(M, *, sigma2=1.0)``: ``(3/2) sigma2 sum_{i<=m} 1/M_i`` for
      ``m = 1..len(M)`` (an array of length ``len(M)``), ``M`` the schedule;
    - ``expected_variance_schedule``, ``expected_std_schedule``, ``mean_drift_mse_schedule``,
      ``expected_w2_squared_schedule``, ``marginal_variance_schedule``:
      ``(M, *, ddof=1, sigma2=1.0)`` -> values at generations ``0..len(M)`` (last axis),
      ``M[j-1] = M_j`` drawn by the fit that makes generation ``j`` (``Product`` evaluated as
      ``exp(Sum(log))``; a Python loop, meant for short schedules).

    ``sigma2`` is the original variance ``sigma0^2``. Arguments broadcast and are validated
    (``ValueError`` naming the argument). Convention: generation 0 = original; ``ddof=1``
    unbiased, ``ddof=0`` MLE.

    Parameters
    ----------
    name : str
        One of :data:`LAMBDIFIABLE` (the names above).
    dps : int or None, optional
        ``None`` (default): ``sympy.lambdify`` to NumPy/SciPy in float64, gamma ratios through
        ``loggamma`` and ``exp(x) - 1`` through ``expm1``. An integer >= 15 (e.g. ``dps=50``): the
        same expression evaluated element-wise in mpmath at ``dps`` digits and rounded to float64
        (slow, accurate at any ``M``).

    Returns
    -------
    callable
        A function returning float64 arrays (a 0-d array for scalar input), cached per
        ``(name, dps)``.

    Raises
    ------
    ValueError
        For an unknown ``name`` or a ``dps`` that is not None or an integer >= 15.

    Notes
    -----
    The float64 path (``dps=None``) has a relative accuracy of about ``1e-16 * M`` for quantities
    that are small differences (``E W2^2`` at ``n << M``), so use it for moderate ``M`` (a few
    hundred); measured for ``E W2^2`` (``n = 1..100``, against ``dps=40``): relative error 7e-12 at
    ``M = 100``, 7e-10 at ``M = 1000`` and 6e-8 at ``M = 1e4``.

    References
    ----------
    .. [1] Shumailov et al., Nature 2024, Thm 3.1.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian as g
    >>> float(g.lambdified("std_factor")(2))          # sqrt(2/pi)
    0.797884560802865...
    >>> g.lambdified("expected_variance")([0, 1, 2], 10, ddof=0)
    array([1.  , 0.9 , 0.81])
    >>> g.lambdified("expected_variance_schedule")([10, 20], ddof=0)
    array([1.   , 0.9  , 0.855])
    >>> round(float(g.lambdified("expected_w2_squared", dps=30)(10, 100)), 12)
    0.149871857195
    """
    if dps is not None and (isinstance(dps, bool) or not isinstance(dps, int) or dps < 15):
        raise ValueError(f"dps must be None or an integer >= 15 (got {dps!r})")
    if name == "variance_moment":
        return _wrap_moment(variance_moment_expr(), dps)
    if name == "std_factor":
        return _wrap_std_factor(std_factor_expr(), dps)
    if name == "w2_leading_order_schedule":
        return _wrap_w2_schedule(w2_leading_order_schedule_expr(), dps)
    if name in _NM_EXPRS:
        return _wrap_nm(name, _NM_EXPRS[name](), dps)
    if name in _SCHEDULE_EXPRS:
        return _wrap_schedule(name, _SCHEDULE_EXPRS[name](), dps)
    raise ValueError(f"name must be one of {', '.join(LAMBDIFIABLE)} (got {name!r})")
