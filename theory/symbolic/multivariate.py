"""Symbolic derivation of the multivariate Gaussian refit formulas (sympy).

Model: :mod:`modelcollapse.theory.multivariate` (generation ``t`` fits the sample mean and
``S_t / (M - ddof)`` to ``M`` draws from generation ``t - 1``; Bartlett: the Cholesky factor of
``Sigma_t`` is ``L_0 B_1 ... B_t / (M - ddof)^{t/2}``, ``B_i`` i.i.d. lower triangular with
``B[k, k]^2 ~ chi2_{M-k}``).

Nothing below is typed in as an answer; each closed form is derived:

1. :func:`chi2_power_moment` -- ``E X^s`` for ``X ~ chi2_m`` by integrating the density
   (``sympy.integrate``): ``2^s Gamma(m/2 + s) / Gamma(m/2)``;
2. :func:`chi2_log_moments` -- ``E log X`` and ``Var log X`` as the first two derivatives in
   ``s`` at ``s = 0`` of ``log E X^s`` (the cumulant generating function of ``log X``):
   ``log 2 + psi(m/2)`` and ``psi'(m/2)``;
3. :func:`wishart_det_moment` -- ``E det W = prod_k E chi2_{M-k}`` for ``W ~ Wishart_d(M-1, I)``
   (Bartlett; independent diagonal), simplified to ``prod_{k=1..d} (M - k)``;
   :func:`wishart_det_by_outer_products` -- the same for ``d = 2`` by a second route, from the
   moments of ``W = sum_l x_l x_l^T`` (``E W11 W22 - E W12^2``);
4. :func:`log_determinant_exprs` -- ``E log det Sigma_t`` and ``Var log det Sigma_t``
   (sums over ``k`` of 2., times ``t``), :func:`lyapunov_exponent` (one term) and its large-M
   series :func:`lyapunov_series`;
5. :func:`mean_drift_expr` -- ``e_{t+1} = e_t + r^t tr0 / M`` solved by ``sympy.rsolve``;
6. :func:`bures_second_order` -- the second-order expansion in ``eps`` of the Bures-Wasserstein
   distance between ``diag(l1, l2)`` and ``diag(l1, l2) + eps X`` (2 x 2, closed-form square
   root), the coefficient behind the small-t expansion.

:func:`lambdified` turns 3.-5. into NumPy callables (for tests against the numeric module).

Examples
--------
>>> from modelcollapse.theory.symbolic import multivariate as smv
>>> smv.wishart_det_moment(2)
(M - 2)*(M - 1)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sympy as sp

__all__ = [
    "chi2_power_moment",
    "chi2_log_moments",
    "wishart_det_moment",
    "wishart_det_by_outer_products",
    "log_determinant_exprs",
    "lyapunov_exponent",
    "lyapunov_series",
    "mean_drift_expr",
    "bures_second_order",
    "lambdified",
]

m, s, x = sp.symbols("m s x", positive=True)
M = sp.Symbol("M", positive=True)
ddof = sp.Symbol("ddof", nonnegative=True)
t = sp.Symbol("t", integer=True, nonnegative=True)
k = sp.Symbol("k", integer=True, positive=True)
tr0, det0, r = sp.symbols("tr0 det0 r", positive=True)
eps = sp.Symbol("eps", real=True)
l1, l2 = sp.symbols("l1 l2", positive=True)
x11, x12, x22 = sp.symbols("x11 x12 x22", real=True)


@cache
def chi2_power_moment() -> sp.Expr:
    """``E X^s`` for ``X ~ chi2_m`` (symbols ``m``, ``s``), by integrating the density.

    Formula: E X^s = int_0^oo x^s x^{m/2-1} e^{-x/2} / (2^{m/2} Gamma(m/2)) dx
    = 2^s Gamma(m/2 + s) / Gamma(m/2) (s > -m/2).

    Returns
    -------
    sympy.Expr
        The moment, gamma-simplified.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> sp.expand_func(smv.chi2_power_moment().subs({smv.s: 1}))
    m
    """
    dens = x ** (m / 2 - 1) * sp.exp(-x / 2) / (2 ** (m / 2) * sp.gamma(m / 2))
    out = sp.integrate(x**s * dens, (x, 0, sp.oo), conds="none")
    return sp.gammasimp(sp.powsimp(out, force=True))


@cache
def chi2_log_moments() -> tuple[sp.Expr, sp.Expr]:
    """``(E log X, Var log X)`` for ``X ~ chi2_m``: derivatives of ``log E X^s`` at ``s = 0``.

    Formula: E log X = log 2 + psi(m/2), Var log X = psi'(m/2) (psi the digamma function).

    Returns
    -------
    tuple of sympy.Expr
        The mean and the variance, in the symbol ``m``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.chi2_log_moments()
    (polygamma(0, m/2) + log(2), polygamma(1, m/2))
    """
    cgf = sp.expand_log(sp.log(chi2_power_moment()), force=True)
    mean = sp.simplify(sp.diff(cgf, s).subs(s, 0))
    var = sp.simplify(sp.diff(cgf, s, 2).subs(s, 0))
    return mean, var


def wishart_det_moment(d: int) -> sp.Expr:
    """``E det W`` for ``W ~ Wishart_d(M - 1, I)``: ``prod_{k=1..d} E chi2_{M-k}`` (Bartlett).

    Formula: E det W = prod_{k=1..d} (M - k).

    Parameters
    ----------
    d : int
        Dimension (a concrete integer >= 1).

    Returns
    -------
    sympy.Expr
        The product, factored, in the symbol ``M``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.wishart_det_moment(3)
    (M - 3)*(M - 2)*(M - 1)
    """
    mom = chi2_power_moment().subs(s, 1)
    return sp.factor(sp.prod([sp.simplify(sp.expand_func(mom.subs(m, M - j)))
                              for j in range(1, d + 1)]))


def wishart_det_by_outer_products() -> sp.Expr:
    """``E det W`` for ``d = 2`` from ``W = sum_{l=1..nu} x_l x_l^T``, ``x_l ~ N(0, I_2)``.

    Formula: E W11 W22 = sum_{l,l'} E x_{l1}^2 x_{l'2}^2 = nu^2, E W12^2 = sum_l E x_{l1}^2
    x_{l2}^2 = nu (cross terms have mean 0), so E det W = nu^2 - nu, with nu = M - 1.

    Returns
    -------
    sympy.Expr
        ``E det W`` in the symbol ``M`` (derived from the normal moments E z^2 = 1, E z^4 = 3).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.wishart_det_by_outer_products()
    (M - 2)*(M - 1)
    """
    z = sp.Symbol("z", real=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    e2 = sp.integrate(z**2 * phi, (z, -sp.oo, sp.oo))
    nu = M - 1
    # E W11 W22: nu diagonal pairs (l = l') and nu (nu - 1) off-diagonal, independent coordinates
    e_w11_w22 = nu * e2 * e2 + nu * (nu - 1) * e2 * e2
    # E W12^2: only l = l' survives (E x_{l1} x_{l2} x_{l'1} x_{l'2} = 0 otherwise)
    e_w12_sq = nu * e2 * e2
    return sp.factor(e_w11_w22 - e_w12_sq)


def lyapunov_exponent() -> sp.Expr:
    """The exponent ``lambda_k = E log(chi2_{M-k} / (M - ddof))`` (symbols ``M``, ``k``, ``ddof``).

    Formula: lambda_k = log 2 + psi((M-k)/2) - log(M - ddof).

    Returns
    -------
    sympy.Expr
        The exponent of the k-th eigenvalue of Sigma_t, per generation.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.lyapunov_exponent()
    -log(M - ddof) + polygamma(0, M/2 - k/2) + log(2)
    """
    return chi2_log_moments()[0].subs(m, M - k) - sp.log(M - ddof)


def lyapunov_series(order: int = 2) -> sp.Expr:
    """Large-M expansion of :func:`lyapunov_exponent`, in powers of ``1/M``.

    Formula: lambda_k = (ddof - k - 1)/M + (ddof^2/2 - k^2/2 - k - 1/3)/M^2 + O(1/M^3)
    (sympy's asymptotic series of psi at infinity).

    Parameters
    ----------
    order : int
        The series is taken to ``O(1/M^order)`` and that term removed.

    Returns
    -------
    sympy.Expr
        The truncated series.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.lyapunov_series(2)
    -(-ddof + k + 1)/M
    """
    y = sp.Symbol("y", positive=True)  # y = 1/M
    ser = sp.series(lyapunov_exponent().subs(M, 1 / y), y, 0, order).removeO()
    return sp.factor(ser.subs(y, 1 / M))


def log_determinant_exprs(d: int) -> tuple[sp.Expr, sp.Expr]:
    """``(E log det Sigma_t, Var log det Sigma_t)`` for a concrete dimension ``d``.

    Formula: E log det Sigma_t = log det0 + t sum_{k=1..d} lambda_k,
    Var log det Sigma_t = t sum_{k=1..d} psi'((M-k)/2) (the variances of 2. of log chi2_{M-k};
    independent terms).

    Parameters
    ----------
    d : int
        Dimension (a concrete integer >= 1).

    Returns
    -------
    tuple of sympy.Expr
        Mean and variance in ``t``, ``M``, ``ddof``, ``det0``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.log_determinant_exprs(1)[1]
    t*polygamma(1, M/2 - 1/2)
    """
    lam = lyapunov_exponent()
    var1 = chi2_log_moments()[1]
    mean = sp.log(det0) + t * sum(lam.subs(k, j) for j in range(1, d + 1))
    # Var log(chi2_m / c) = Var log chi2_m (a constant shift)
    var = t * sum(var1.subs(m, M - j) for j in range(1, d + 1))
    return mean, sp.expand(var)


def mean_drift_expr() -> sp.Expr:
    """``E ||mu_t - mu0||^2`` solved from ``e_{t+1} = e_t + r^t tr0 / M``, ``e_0 = 0``.

    Formula: E ||mu_t - mu0||^2 = (tr0 / M) (r^t - 1)/(r - 1), r = (M-1)/(M-ddof) (= t tr0 / M
    at r = 1): the increment mu_{t+1} - mu_t = L_t z / sqrt(M) is uncorrelated with the past and
    has E||.||^2 = E tr Sigma_t / M = r^t tr0 / M.

    Returns
    -------
    sympy.Expr
        The solution of the recursion, in ``t``, ``r``, ``tr0``, ``M``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.mean_drift_expr().subs(smv.t, 1)
    tr0/M
    """
    e = sp.Function("e")
    sol = sp.rsolve(e(t + 1) - e(t) - r**t * tr0 / M, e(t), {e(0): 0})
    return sp.simplify(sol)


def bures_second_order() -> sp.Expr:
    """Coefficient of ``eps^2`` in ``W2^2(N(0, L), N(0, L + eps X))``, ``L = diag(l1, l2)``.

    Formula: with F = tr (L^{1/2} S L^{1/2})^{1/2} = sqrt(tr(L S) + 2 sqrt(det L det S)) for
    2 x 2 matrices, W2^2 = tr L + tr S - 2 F and the eps^2 coefficient is
    (1/2) sum_{ij} X_ij^2 / (l_i + l_j) = x11^2/(4 l1) + x22^2/(4 l2) + x12^2/(l1 + l2).

    Returns
    -------
    sympy.Expr
        The coefficient, in ``l1``, ``l2``, ``x11``, ``x12``, ``x22``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.bures_second_order().subs({smv.l1: 1, smv.l2: 1, smv.x12: 0})
    x11**2/4 + x22**2/4
    """
    L = sp.diag(l1, l2)
    S = L + eps * sp.Matrix([[x11, x12], [x12, x22]])
    F = sp.sqrt((L * S).trace() + 2 * sp.sqrt(L.det() * S.det()))
    w2 = L.trace() + S.trace() - 2 * F
    ser = sp.series(w2, eps, 0, 3).removeO()
    coef = sp.simplify(sp.expand(ser.coeff(eps, 2)))
    # sqrt(l1^2 + 2 l1 l2 + l2^2) = l1 + l2 (positive symbols): factor under every root
    coef = coef.replace(lambda e: e.is_Pow and e.exp.is_Rational and e.exp.q == 2,
                        lambda e: sp.Pow(sp.factor(e.base), e.exp))
    return sp.expand(sp.simplify(coef))


def lambdified(d: int) -> dict[str, Callable[..., object]]:
    """NumPy callables of the derived formulas for a concrete ``d``.

    Parameters
    ----------
    d : int
        Dimension (a concrete integer >= 1).

    Returns
    -------
    dict
        ``'expected_log_determinant'(t, M, ddof, det0)``, ``'log_determinant_variance'(t, M)``,
        ``'expected_determinant'(t, M, ddof, det0)``, ``'mean_drift_mse'(t, M, ddof, tr0)``
        (no validation: for tests against :mod:`modelcollapse.theory.multivariate`).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> f = smv.lambdified(2)
    >>> round(float(f['expected_determinant'](1, 4, 1, 1.0)), 12)   # (3 2) / 3^2
    0.666666666667
    """
    mean, var = log_determinant_exprs(d)
    edet = det0 * (wishart_det_moment(d) / (M - ddof) ** d) ** t
    drift = mean_drift_expr().subs(r, (M - 1) / (M - ddof))
    drift1 = t * tr0 / M
    f_drift = sp.lambdify((t, M, ddof, tr0), drift, "scipy")
    f_drift1 = sp.lambdify((t, M, ddof, tr0), drift1, "scipy")

    def mean_drift(tv, Mv, dv, trv):
        return f_drift1(tv, Mv, dv, trv) if dv == 1 else f_drift(tv, Mv, dv, trv)

    return {
        "expected_log_determinant": sp.lambdify((t, M, ddof, det0), mean, "scipy"),
        "log_determinant_variance": sp.lambdify((t, M), var, "scipy"),
        "expected_determinant": sp.lambdify((t, M, ddof, det0), edet, "scipy"),
        "mean_drift_mse": mean_drift,
    }
