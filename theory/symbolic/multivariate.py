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
   root), the coefficient behind the small-t expansion;
7. :func:`projection_mgf` and :func:`projected_scatter` -- the projection reduction: ``v^T L z``
   has the moment generating function of ``N(0, v^T L L^T v)`` (a product of normal MGFs,
   integrated), and ``v^T S v`` is the scatter of the projected points (polynomial identity);
8. :func:`wishart_second_moments` -- ``E W_ij W_kl`` for ``d = 2`` from ``W = sum_l x_l x_l^T``,
   and :func:`wishart_step_second_moments` -- the one-step map of ``E S_ij S_kl`` under
   ``S' = L W L^T / c`` (the exact mean of the Bures quadratic control variate);
9. :func:`accumulate_det_step` -- ``E det(c I + lam (W + rho z z^T))`` for ``d = 2`` by expanding
   the determinant and taking moments, and :func:`accumulate_det_step_formula` -- the general-d
   sum ``sum_k C(d,k) c^{d-k} lam^k (nu_(k) + rho k nu_(k-1))``;
10. :func:`tangent_quadratic_remainder` -- the integral form of the remainder of the tangent
    quadratic of ``log(1 + x)``, behind the accumulate bounds.

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
    "projection_mgf",
    "projected_scatter",
    "wishart_second_moments",
    "wishart_step_second_moments",
    "accumulate_det_step",
    "accumulate_det_step_formula",
    "accumulate_step_second_moments",
    "tangent_quadratic_remainder",
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


def _normal_moment(p: int) -> sp.Expr:
    z = sp.Symbol("z", real=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.integrate(z**p * phi, (z, -sp.oo, sp.oo))


def projection_mgf(d: int) -> tuple[sp.Expr, sp.Expr]:
    """``(E exp(u v^T L z), exp(u^2 v^T L L^T v / 2))`` for a symbolic lower-triangular ``L``
    (``d x d``), a symbolic ``v`` and ``z ~ N(0, I_d)``.

    Formula: v^T L z = sum_k a_k z_k with a = L^T v; E exp(u a_k z_k) = exp(u^2 a_k^2 / 2) (the
    standard normal MGF, integrated here), and the product over independent k is
    exp(u^2 |a|^2 / 2), |a|^2 = v^T L L^T v: the projection of N(mu, Sigma) is
    N(v^T mu, v^T Sigma v).

    Parameters
    ----------
    d : int
        Dimension (a concrete integer >= 1).

    Returns
    -------
    tuple of sympy.Expr
        The derived MGF and the MGF of ``N(0, v^T Sigma v)``; they are equal.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> got, want = smv.projection_mgf(2)
    >>> sp.simplify(got - want)
    0
    """
    u = sp.Symbol("u", real=True)
    z = sp.Symbol("z", real=True)
    a = sp.Symbol("a", real=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    mgf1 = sp.simplify(sp.integrate(sp.exp(u * a * z) * phi, (z, -sp.oo, sp.oo), conds="none"))
    L = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"L{i}{j}", real=True) if i >= j else 0)
    v = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"v{i}", real=True))
    coef = L.T * v
    got = sp.prod([mgf1.subs(a, coef[k]) for k in range(d)])
    want = sp.exp(u**2 * (v.T * L * L.T * v)[0, 0] / 2)
    return sp.powsimp(got, combine="exp"), want


def projected_scatter(d: int, npoints: int) -> sp.Expr:
    """``v^T S v - sum_l (v^T x_l - mean_l v^T x_l)^2`` for symbolic points (should be 0).

    Formula: S = sum_l (x_l - xbar)(x_l - xbar)^T, so v^T S v = sum_l (v^T x_l - v^T xbar)^2 and
    v^T xbar is the mean of the projected points: the projected fit is the 1-D fit of the
    projected sample (the same holds for pooled and subsampled point sets: any set of points).

    Parameters
    ----------
    d : int
        Dimension (a concrete integer >= 1).
    npoints : int
        Number of points (a concrete integer >= 2).

    Returns
    -------
    sympy.Expr
        The expanded difference.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.projected_scatter(2, 3)
    0
    """
    X = sp.Matrix(npoints, d, lambda i, j: sp.Symbol(f"x{i}{j}", real=True))
    v = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"v{i}", real=True))
    xbar = sp.Matrix(1, d, lambda i, j: sum(X[l, j] for l in range(npoints)) / npoints)
    C = X - sp.ones(npoints, 1) * xbar
    S = C.T * C
    y = X * v
    ybar = sum(y) / npoints
    return sp.expand((v.T * S * v)[0, 0] - sum((y[l] - ybar) ** 2 for l in range(npoints)))


def wishart_second_moments() -> dict[str, sp.Expr]:
    """``E W_ij W_kl`` for ``W = sum_{l=1..nu} x_l x_l^T``, ``x_l ~ N(0, I_2)`` (``nu = M - 1``).

    Formula: E W_ij W_kl = nu^2 d_ij d_kl + nu (d_ik d_jl + d_il d_jk) (Isserlis; derived here
    from E z^2 = 1, E z^4 = 3, independence across l and coordinates): E W11^2 = nu^2 + 2 nu,
    E W11 W22 = nu^2, E W12^2 = nu, E W11 W12 = 0.

    Returns
    -------
    dict
        Keys ``'11,11'``, ``'11,22'``, ``'12,12'``, ``'11,12'``; values in the symbol ``M``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.wishart_second_moments()['12,12']
    M - 1
    """
    e2, e4 = _normal_moment(2), _normal_moment(4)
    nu = M - 1
    return {
        "11,11": sp.expand(nu * e4 + nu * (nu - 1) * e2 * e2),
        "11,22": sp.expand(nu * e2 * e2 + nu * (nu - 1) * e2 * e2),
        "12,12": sp.expand(nu * e2 * e2),
        "11,12": sp.Integer(0) * _normal_moment(3),
    }


def wishart_step_second_moments() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """One step of the second moments of ``S' = L W L^T / c`` given ``S = L L^T`` (``d = 2``).

    Formula (from :func:`wishart_second_moments`, ``L`` a symbolic lower-triangular 2 x 2):
    E S'_12^2 = ((nu^2 + nu) S_12^2 + nu S_11 S_22)/c^2,
    E S'_11 S'_22 = (nu^2 S_11 S_22 + 2 nu S_12^2)/c^2,
    E S'_11^2 = (nu^2 + 2 nu) S_11^2 / c^2.

    Returns
    -------
    tuple of sympy.Expr
        The three expectations minus their stated forms (each should be 0).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> smv.wishart_step_second_moments()
    (0, 0, 0)
    """
    c = sp.Symbol("c", positive=True)
    a, b, e = sp.symbols("la lb le", real=True)
    L = sp.Matrix([[a, 0], [b, e]])
    w11, w12, w22 = sp.symbols("w11 w12 w22", real=True)
    Wm = sp.Matrix([[w11, w12], [w12, w22]])
    Sp = (L * Wm * L.T) / c
    mom = wishart_second_moments()
    table = {w11**2: mom["11,11"], w22**2: mom["11,11"], w11 * w22: mom["11,22"],
             w12**2: mom["12,12"], w11 * w12: 0, w22 * w12: 0}

    def expect(expr):
        poly = sp.Poly(sp.expand(expr), w11, w12, w22)
        total = sp.Integer(0)
        for mono, coef in poly.terms():
            term = sp.Mul(*[g**p for g, p in zip((w11, w12, w22), mono, strict=True)])
            total += coef * table[term]
        return sp.expand(total)

    S = L * L.T
    nu = M - 1
    r12 = expect(Sp[0, 1] ** 2) - sp.expand(((nu**2 + nu) * S[0, 1] ** 2
                                              + nu * S[0, 0] * S[1, 1]) / c**2)
    r1122 = expect(Sp[0, 0] * Sp[1, 1]) - sp.expand((nu**2 * S[0, 0] * S[1, 1]
                                                       + 2 * nu * S[0, 1] ** 2) / c**2)
    r11 = expect(Sp[0, 0] ** 2) - sp.expand((nu**2 + 2 * nu) * S[0, 0] ** 2 / c**2)
    return sp.simplify(r12), sp.simplify(r1122), sp.simplify(r11)


def accumulate_det_step() -> sp.Expr:
    """``E det(c I + lam (W + rho z z^T))`` for ``d = 2``, ``W ~ Wishart_2(M - 1, I)``,
    ``z ~ N(0, I_2)`` independent, by expanding the determinant and taking moments.

    Formula: c^2 + 2 c lam (nu + rho) + lam^2 (nu (nu - 1) + 2 rho nu), nu = M - 1 (the
    rho^2 terms cancel: det(z z^T) = 0; E W12 z1 z2 = 0).

    Returns
    -------
    sympy.Expr
        The expectation, expanded, in ``c``, ``lam``, ``rho``, ``M``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> lam, rho, c = sp.symbols("lam rho c", positive=True)
    >>> sp.factor(smv.accumulate_det_step().subs({lam: 1, rho: 0, c: 0}))
    (M - 2)*(M - 1)
    """
    c, lam, rho = sp.symbols("c lam rho", positive=True)
    w11, w12, w22, z1, z2 = sp.symbols("w11 w12 w22 z1 z2", real=True)
    A = sp.Matrix([[w11, w12], [w12, w22]]) + rho * sp.Matrix([[z1 * z1, z1 * z2],
                                                              [z1 * z2, z2 * z2]])
    det = sp.expand((c * sp.eye(2) + lam * A).det())
    mom = wishart_second_moments()
    e2 = _normal_moment(2)
    nu = M - 1
    wt = {1: 1, w11: nu, w22: nu, w12: 0, w11 * w22: mom["11,22"], w12**2: mom["12,12"],
          w11**2: mom["11,11"], w22**2: mom["11,11"], w11 * w12: 0, w22 * w12: 0}
    zt = {1: 1, z1**2: e2, z2**2: e2, z1 * z2: 0, z1**2 * z2**2: e2 * e2}
    poly = sp.Poly(det, w11, w12, w22, z1, z2)
    total = sp.Integer(0)
    for mono, coef in poly.terms():
        wpart = sp.Mul(*[g**p for g, p in zip((w11, w12, w22), mono[:3], strict=True)])
        zpart = sp.Mul(*[g**p for g, p in zip((z1, z2), mono[3:], strict=True)])
        total += coef * wt[wpart] * zt[zpart]
    return sp.expand(total)


def accumulate_step_second_moments() -> dict[str, sp.Expr]:
    """Second moments of ``H = c I + lam (W + rho z z^T)`` for ``d = 2`` (the accumulate step).

    Formula: E H_ab H_cd = alpha d_ab d_cd + beta (d_ac d_bd + d_ad d_bc) with
    alpha = (c + lam (nu + rho))^2, beta = lam^2 (nu + rho^2), nu = M - 1: so
    E H11^2 = alpha + 2 beta, E H11 H22 = alpha, E H12^2 = beta (derived from the Wishart and
    normal moments, E z^4 = 3).

    Returns
    -------
    dict
        ``'11,11'``, ``'11,22'``, ``'12,12'`` in ``c``, ``lam``, ``rho``, ``M``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> lam, rho = sp.symbols("lam rho", positive=True)
    >>> sp.factor(smv.accumulate_step_second_moments()['12,12'])
    lam**2*(M + rho**2 - 1)
    """
    c, lam, rho = sp.symbols("c lam rho", positive=True)
    w11, w12, w22, z1, z2 = sp.symbols("w11 w12 w22 z1 z2", real=True)
    H = c * sp.eye(2) + lam * (sp.Matrix([[w11, w12], [w12, w22]])
                               + rho * sp.Matrix([[z1 * z1, z1 * z2], [z1 * z2, z2 * z2]]))
    mom = wishart_second_moments()
    e2, e4 = _normal_moment(2), _normal_moment(4)
    nu = M - 1
    wt = {1: 1, w11: nu, w22: nu, w12: 0, w11 * w22: mom["11,22"], w12**2: mom["12,12"],
          w11**2: mom["11,11"], w22**2: mom["11,11"], w11 * w12: 0, w22 * w12: 0}

    def zmom(p1: int, p2: int) -> sp.Expr:
        one = {0: 1, 1: 0, 2: e2, 3: 0, 4: e4}
        return one[p1] * one[p2]

    def expect(expr: sp.Expr) -> sp.Expr:
        poly = sp.Poly(sp.expand(expr), w11, w12, w22, z1, z2)
        total = sp.Integer(0)
        for mono, coef in poly.terms():
            wpart = sp.Mul(*[g**p for g, p in zip((w11, w12, w22), mono[:3], strict=True)])
            total += coef * wt[wpart] * zmom(mono[3], mono[4])
        return sp.expand(total)

    return {"11,11": expect(H[0, 0] ** 2), "11,22": expect(H[0, 0] * H[1, 1]),
            "12,12": expect(H[0, 1] ** 2)}


def accumulate_det_step_formula(d: int) -> sp.Expr:
    """The general-d form ``sum_{k=0..d} C(d,k) c^{d-k} lam^k (nu_(k) + rho k nu_(k-1))``.

    Formula: E det(c I + A) = sum_k c^{d-k} E e_k(A), e_k the sum of the C(d,k) principal k x k
    minors; for A = lam (W + rho z z^T) a principal block has E det = lam^k (E det W_k +
    rho E[z^T adj(W_k) z]) = lam^k (nu_(k) + rho k nu_(k-1)) (matrix determinant lemma; the
    diagonal of adj W_k holds (k-1)-minors, each a Wishart_{k-1}(nu) determinant).

    Parameters
    ----------
    d : int
        Dimension (a concrete integer >= 1).

    Returns
    -------
    sympy.Expr
        The sum, expanded.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> lam, rho, c = sp.symbols("lam rho c", positive=True)
    >>> sp.expand(smv.accumulate_det_step_formula(2) - smv.accumulate_det_step())
    0
    """
    c, lam, rho = sp.symbols("c lam rho", positive=True)
    nu = M - 1

    def ff(k: int) -> sp.Expr:
        return sp.prod([nu - i for i in range(k)]) if k > 0 else sp.Integer(1)

    return sp.expand(sum(sp.binomial(d, k) * c ** (d - k) * lam**k
                         * (ff(k) + rho * k * (ff(k - 1) if k > 0 else 0))
                         for k in range(d + 1)))


def tangent_quadratic_remainder() -> tuple[sp.Expr, sp.Expr]:
    """The remainder ``R(x)`` of the tangent quadratic of ``log(1 + x)`` at ``x0`` and its
    integral form.

    Formula: R(x) = (log(1+x0) + (x-x0)/(1+x0) - log(1+x)) / (x-x0)^2
    = int_0^1 (1-s) / (1 + x0 + s (x - x0))^2 ds, decreasing in x (the integrand is), so for
    x >= 0: R(x) <= R(0) = (log(1+x0) - x0/(1+x0)) / x0^2 = kappa, i.e.
    log(1+x) >= log(1+x0) + (x-x0)/(1+x0) - kappa (x-x0)^2.

    Returns
    -------
    tuple of sympy.Expr
        ``(integral form evaluated by sympy, the closed form of R)`` at symbols ``x``, ``x0``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import multivariate as smv
    >>> a, b = smv.tangent_quadratic_remainder()
    >>> import sympy as sp
    >>> float(sp.N((a - b).subs({sp.Symbol('x', positive=True): 3,
    ...                            sp.Symbol('x0', positive=True): 1}))) < 1e-12
    True
    """
    xx, x0 = sp.symbols("x x0", positive=True)
    sv = sp.Symbol("sv", positive=True)
    integral = sp.integrate((1 - sv) / (1 + x0 + sv * (xx - x0)) ** 2, (sv, 0, 1))
    closed = (sp.log(1 + x0) + (xx - x0) / (1 + x0) - sp.log(1 + xx)) / (xx - x0) ** 2
    return sp.simplify(integral), closed


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
