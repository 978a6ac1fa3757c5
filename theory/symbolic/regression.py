"""Symbolic derivation of the regression refit formulas (sympy).

Model: :mod:`modelcollapse.theory.regression` (``y = x^T beta + eps``, ``x ~ N(0, I_d)``,
``eps ~ N(0, noise2)``; generation 1 is the OLS fit on ``T`` real samples, generation ``n``
refits on labels made by generation ``n - 1``; test error ``||beta_n - beta_0||^2``).

The one-step law is the input: ``beta_n = K X^T y`` with ``K = (X^T X)^{-1}``. Nothing below
is typed in as an answer; each closed form is derived:

1. :func:`one_step_covariance` -- ``Cov(K X^T eps | X) = noise2 K`` on a symbolic ``3 x 2``
   design (``K X^T X K = K``);
2. :func:`inverse_wishart_trace` -- ``E tr K = d E K_11`` with ``1/K_11`` the Schur complement,
   ``~ chi2_{T-d+1}``, and ``E 1/chi2_m`` integrated from the chi-square density:
   ``d/(T - d - 1)``; :func:`inverse_chi2_moments` gives ``E X^-1`` and ``E X^-2``;
3. :func:`error_recursions` -- the expected-error recursions of each workflow, with the
   inverse-Wishart trace kept as the symbol ``kappa`` (``E tr K``), solved by ``sympy.rsolve``
   (replace, mix, weighted) or summed (accumulate): :func:`replace_expr`,
   :func:`accumulate_fixed_expr` (``noise2 kappa H2(n)``), :func:`accumulate_fresh_term`
   (``noise2 d/(g (g T - d - 1))`` per generation), :func:`mix_expr`, :func:`weighted_expr`;
4. :func:`accumulate_limits` -- ``pi^2/6`` and the fresh design's digamma limit, from the
   partial fractions of ``1/(g (g T - d - 1))``;
5. :func:`mix_contraction_expr` -- ``c = E tr(P^T P)/d`` from the Beta law of a leverage and the
   Schur complement; :func:`projection_moments`, :func:`mix_fixed_trace_p2_expr` and
   :func:`mix_fixed_expr` -- the fixed design's ``E tr P^2`` and ``E_n``;
6. :func:`quadratic_form_variance` -- ``Var z^T z = 2 tr S^2`` for ``z ~ N(0, S)`` (Isserlis, on
   a symbolic 2 x 2 ``S``); :func:`inverse_wishart_second_moments` -- ``E tr K^2`` and
   ``Var tr K`` from the inverse Wishart covariance (von Rosen 1988), :func:`variance_exprs`;
7. :func:`ridge_coordinate_expr` -- the ridge refit's error along one eigenvector of
   ``X^T X`` (replace), by ``rsolve``.

:func:`lambdified` turns them into NumPy callables (for tests against the numeric module).

Examples
--------
>>> from modelcollapse.theory.symbolic import regression as srg
>>> srg.inverse_wishart_trace()
d/(T - d - 1)
>>> srg.replace_expr()
kappa*n*noise2
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sympy as sp

__all__ = [
    "one_step_covariance",
    "inverse_chi2_moments",
    "inverse_wishart_trace",
    "replace_expr",
    "accumulate_fixed_expr",
    "accumulate_fresh_term",
    "accumulate_limits",
    "mix_expr",
    "mix_contraction_expr",
    "projection_moments",
    "mix_fixed_trace_p2_expr",
    "mix_fixed_expr",
    "weighted_expr",
    "quadratic_form_variance",
    "inverse_wishart_second_moments",
    "variance_exprs",
    "ridge_coordinate_expr",
    "lambdified",
]

T, d, noise2, kappa = sp.symbols("T d noise2 kappa", positive=True)
n = sp.Symbol("n", integer=True, nonnegative=True)
g = sp.Symbol("g", integer=True, positive=True)
m, x = sp.symbols("m x", positive=True)
c, a_w, b_w = sp.symbols("c a_w b_w", positive=True)
w, n_real, r = sp.symbols("w n_real r", nonnegative=True)
mu, lam, b0 = sp.symbols("mu lambda b0", positive=True)


def one_step_covariance() -> sp.Matrix:
    """``Cov(e | X) / noise2 - K`` for ``e = K X^T eps`` on a symbolic ``3 x 2`` design (zero).

    Formula: Cov(e | X) = K X^T (noise2 I) X K = noise2 K (X^T X) K = noise2 K.

    Returns
    -------
    sympy.Matrix
        The 2 x 2 difference, simplified (the zero matrix).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.one_step_covariance()
    Matrix([
    [0, 0],
    [0, 0]])
    """
    X = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"x{i}{j}", real=True))
    K = (X.T * X).inv()
    cov = K * X.T * (noise2 * sp.eye(3)) * X * K
    return sp.simplify(cov / noise2 - K)


@cache
def inverse_chi2_moments() -> tuple[sp.Expr, sp.Expr]:
    """``(E 1/X, E 1/X^2)`` for ``X ~ chi2_m``, integrated from the density.

    Formula: E X^-1 = 1/(m - 2) (m > 2), E X^-2 = 1/((m - 2)(m - 4)) (m > 4).

    Returns
    -------
    tuple of sympy.Expr
        In the symbol ``m``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.inverse_chi2_moments()[0]
    1/(m - 2)
    """
    dens = x ** (m / 2 - 1) * sp.exp(-x / 2) / (2 ** (m / 2) * sp.gamma(m / 2))
    out = []
    for p in (1, 2):
        # m > 2p: write m = 2p + q with q > 0 so that sympy sees a convergent integral
        q = sp.Symbol("q", positive=True)
        val = sp.integrate(x**-p * dens.subs(m, 2 * p + q), (x, 0, sp.oo))
        out.append(sp.factor(sp.gammasimp(val.subs(q, m - 2 * p))))
    return out[0], out[1]


@cache
def inverse_wishart_trace() -> sp.Expr:
    """``E tr (X^T X)^{-1}`` for a ``T x d`` standard Gaussian ``X``.

    Formula: 1/K_11 = A_11 - a^T A_22^{-1} a ~ chi2_{T-d+1} (the Schur complement of a Wishart
    matrix), so E K_11 = 1/(T - d - 1) and, all diagonal entries alike, E tr K = d/(T - d - 1).

    Returns
    -------
    sympy.Expr
        In ``T`` and ``d``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.inverse_wishart_trace().subs({srg.T: 10, srg.d: 2})
    2/7
    """
    num, den = sp.fraction(sp.cancel(d * inverse_chi2_moments()[0].subs(m, T - d + 1)))
    if den.coeff(T) < 0:  # the sign convention d/(T - d - 1)
        num, den = -num, -den
    return num / den


def _solve(rec: Callable[[sp.Function], sp.Expr]) -> sp.Expr:
    E = sp.Function("E")
    return sp.simplify(sp.rsolve(rec(E), E(n), {E(0): 0}))


@cache
def replace_expr() -> sp.Expr:
    """``E_n`` from ``E_n = E_{n-1} + noise2 kappa``, ``E_0 = 0`` (``kappa = E tr K``).

    Formula: delta_n = delta_{n-1} + e_n, e_n uncorrelated with the past, so
    E_n = n noise2 kappa (either design).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.replace_expr().subs(srg.kappa, srg.inverse_wishart_trace())
    d*n*noise2/(T - d - 1)
    """
    return _solve(lambda E: E(n + 1) - E(n) - noise2 * kappa)


@cache
def accumulate_fixed_expr() -> sp.Expr:
    """``E_n`` of accumulate with the fixed design: ``E_n = E_{n-1} + noise2 kappa/n^2``.

    Formula: delta_n = delta_{n-1} + e_n/n (the stacked normal equations n A beta_n =
    A sum_{g<=n} beta_{g-1} + sum_g X^T eps_g), so E_n = noise2 kappa H2(n), H2(n) =
    sum_{g<=n} 1/g^2 (sympy's ``harmonic(n, 2)``).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.accumulate_fixed_expr()
    kappa*noise2*harmonic(n, 2)
    """
    out = sp.summation(noise2 * kappa / g**2, (g, 1, n))
    return sp.simplify(out)


@cache
def accumulate_fresh_term() -> sp.Expr:
    """The increment ``E_g - E_{g-1}`` of accumulate with the fresh design.

    Formula: delta_g = delta_{g-1} + A_g^{-1} X_g^T eps_g, A_g the pooled Gram matrix
    (Wishart, g T degrees of freedom). By exchangeability of the g blocks
    E tr(A_g^{-2} X_g^T X_g) = E tr(A_g^{-1})/g, so the increment is
    noise2 d/(g (g T - d - 1)) (``E tr A_g^{-1}`` is :func:`inverse_wishart_trace` at g T).

    Returns
    -------
    sympy.Expr
        In ``g``, ``T``, ``d``, ``noise2``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.accumulate_fresh_term().subs({srg.g: 1})
    d*noise2/(T - d - 1)
    """
    return noise2 * inverse_wishart_trace().subs(T, g * T) / g


@cache
def accumulate_limits() -> tuple[sp.Expr, sp.Expr]:
    """``(lim E_n fixed, lim E_n fresh)`` of the accumulate workflow.

    Formula: fixed noise2 kappa pi^2/6; fresh, with 1/(g (g T - d - 1)) = [1/(g - x) - 1/g]
    /(d + 1), x = (d + 1)/T: noise2 d/(d + 1) [psi(1) - psi(1 - x)]
    (sum_{g>=1} [1/(g - x) - 1/g] = psi(1) - psi(1 - x)).

    Returns
    -------
    tuple of sympy.Expr

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.accumulate_limits()[0]
    pi**2*kappa*noise2/6
    """
    fixed = sp.limit(accumulate_fixed_expr(), n, sp.oo)
    xx = sp.Symbol("x", positive=True)
    parts = sp.apart((1 / (g * (g * T - d - 1))).subs(T, (d + 1) / xx), g)
    # parts = coef (1/(g - x) - 1/g); sum_{g>=1} (1/(g - x) - 1/g) = psi(1) - psi(1 - x)
    coef = sp.simplify(sp.residue(parts, g, xx))
    if sp.simplify(parts - coef * (1 / (g - xx) - 1 / g)) != 0:  # pragma: no cover
        raise ArithmeticError("unexpected partial fractions of 1/(g (g T - d - 1))")
    fresh = noise2 * d * coef * (sp.polygamma(0, 1) - sp.polygamma(0, 1 - xx))
    return fixed, sp.simplify(fresh.subs(xx, (d + 1) / T))


@cache
def mix_expr() -> sp.Expr:
    """``E_n`` from ``E_n = c E_{n-1} + noise2 kappa`` (mix, fresh design), ``E_0 = 0``.

    Formula: E_n = noise2 kappa (1 - c^n)/(1 - c), c = E tr(P^T P)/d (rotation invariance:
    E P^T P = c I).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> sp.simplify(srg.mix_expr().subs(srg.n, 2) - srg.noise2 * srg.kappa * (1 + srg.c))
    0
    """
    return _solve(lambda E: E(n + 1) - c * E(n) - noise2 * kappa)


@cache
def mix_contraction_expr() -> sp.Expr:
    """``c = E tr(P^T P)/d`` of the mix workflow (fresh design), ``r`` real rows of ``T``.

    Formula: P = I - K A_r; E tr(K A_r) = r d/T (exchangeable rows); E tr(A_r K^2 A_r) =
    r alpha + r (r - 1) beta, alpha = E ||x||^2 x^T K^2 x = E rho^4 E[A_11 K_11] with
    rho^2 ~ Beta(d/2, (T - d)/2) (a leverage) and E A_11 K_11 = 1 + E chi2_{d-1} E
    1/chi2_{T-d+1}; beta from r = T (E tr(K^2 A^2) = d).

    Returns
    -------
    sympy.Expr
        In ``T``, ``d``, ``r``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.mix_contraction_expr().subs({srg.T: 10, srg.d: 3, srg.r: 4})
    13/27
    """
    # E u^2 for u ~ Beta(d/2, (T-d)/2) is B(d/2 + 2, (T-d)/2)/B(d/2, (T-d)/2) (the density
    # integrated against u^2), written with Gamma functions and simplified
    rho4 = sp.gammasimp(sp.expand_func(sp.beta(d / 2 + 2, (T - d) / 2)
                                       / sp.beta(d / 2, (T - d) / 2)))
    e_a11_k11 = 1 + (d - 1) * inverse_chi2_moments()[0].subs(m, T - d + 1)
    alpha = sp.factor(rho4 * e_a11_k11)
    bb = sp.Symbol("bb")
    beta_ = sp.solve(sp.Eq(T * alpha + T * (T - 1) * bb, d), bb)[0]
    trace = d - 2 * r * d / T + r * alpha + r * (r - 1) * beta_
    return sp.factor(sp.simplify(trace / d))


@cache
def projection_moments() -> tuple[sp.Expr, sp.Expr]:
    """``(E h_ii^2, E h_ij^2)``, ``i != j``, for the hat matrix ``H = X (X^T X)^{-1} X^T`` of a
    ``T x d`` standard Gaussian design (a uniformly random rank-``d`` projection).

    Formula: h_ii = ||u_i||^2 ~ Beta(d/2, (T-d)/2), so E h_ii^2 = d (d+2)/(T (T+2)); H^2 = H
    gives sum_j h_ij^2 = h_ii, so (T - 1) E h_ij^2 = d/T - E h_ii^2 = d (T-d)/(T (T-1)(T+2)).

    Returns
    -------
    tuple of sympy.Expr
        In ``T`` and ``d``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.projection_moments()[1].subs({srg.T: 4, srg.d: 1})
    1/24
    """
    hii2 = sp.factor(sp.gammasimp(sp.expand_func(sp.beta(d / 2 + 2, (T - d) / 2)
                                                 / sp.beta(d / 2, (T - d) / 2))))
    hij2 = sp.factor((d / T - hii2) / (T - 1))
    return hii2, hij2


@cache
def mix_fixed_trace_p2_expr() -> sp.Expr:
    """``E tr P^2`` for ``P = K A_s`` with one Gaussian design and ``r`` real rows.

    Formula: P = I - K A_r, tr(K A_r) = tr H_rr, tr(K A_r K A_r) = tr H_rr^2 (``H_rr`` the
    real rows' block of the hat matrix), so E tr P^2 = d - 2 r d/T + r E h_ii^2 + r (r-1)
    E h_ij^2 (:func:`projection_moments`).

    Returns
    -------
    sympy.Expr
        In ``T``, ``d``, ``r``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.mix_fixed_trace_p2_expr().subs({srg.T: 10, srg.d: 3, srg.r: 4})
    4/3
    """
    hii2, hij2 = projection_moments()
    return sp.factor(d - 2 * r * d / T + r * hii2 + r * (r - 1) * hij2)


@cache
def mix_fixed_expr() -> tuple[sp.Expr, sp.Expr]:
    """``(E_2 for any d, E_n for d = 1)`` of the mix workflow with the fixed design.

    Formula: E_n = (noise2 kappa/d) sum_{j<n} E tr P^{2j} (``X = Q L^T``, ``Q`` uniform on the
    Stiefel manifold and independent of ``L``; ``P^j K P^{jT} = L^{-T} U^{2j} L^{-1}`` with
    ``U = Q_s^T Q_s`` independent of ``L`` and of orthogonally invariant law). For d = 1,
    P ~ Beta((T-r)/2, r/2) and E P^{2j} = B((T-r)/2 + 2j, r/2)/B((T-r)/2, r/2).

    Returns
    -------
    tuple of sympy.Expr
        E_2 (in ``T``, ``d``, ``r``, ``kappa``, ``noise2``) and E_n for d = 1 as an unevaluated
        ``Sum`` over ``g`` (the index ``j``).

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> e2, en = srg.mix_fixed_expr()
    >>> e2.subs({srg.T: 10, srg.d: 3, srg.r: 4, srg.kappa: sp.Rational(3, 6), srg.noise2: 1})
    13/18
    """
    e2 = noise2 * kappa / d * (d + mix_fixed_trace_p2_expr())
    a, b = (T - r) / 2, r / 2
    j = sp.Symbol("j", integer=True, nonnegative=True)
    moment = sp.gamma(a + 2 * j) * sp.gamma(a + b) / (sp.gamma(a) * sp.gamma(a + b + 2 * j))
    en = noise2 * kappa * sp.Sum(moment, (j, 0, n - 1))
    return e2, en


@cache
def weighted_expr() -> sp.Expr:
    """``E_n`` of the weighted workflow: ``E_n = w^2 noise2 d/(n_real - d - 1) + (1 - w)^2
    (E_{n-1} + noise2 kappa)``, ``E_0 = 0`` (either design; real and synthetic noise independent).

    Returns
    -------
    sympy.Expr
        In ``n``, ``w``, ``n_real``, ``d``, ``kappa``, ``noise2``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> e = srg.weighted_expr().subs({srg.w: 1, srg.n: 3})
    >>> sp.simplify(e - srg.noise2 * srg.d / (srg.n_real - srg.d - 1))
    0
    """
    real = w**2 * noise2 * d / (n_real - d - 1)
    return _solve(lambda E: E(n + 1) - real - (1 - w) ** 2 * (E(n) + noise2 * kappa))


def quadratic_form_variance() -> sp.Expr:
    """``Var(z^T z) - 2 tr S^2`` for ``z ~ N(0, S)``, ``S`` a symbolic 2 x 2 matrix (zero).

    Formula: Isserlis, E z_i z_i z_k z_k = S_ii S_kk + 2 S_ik^2, so Var z^T z = 2 tr S^2.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> srg.quadratic_form_variance()
    0
    """
    s11, s12, s22 = sp.symbols("s11 s12 s22", real=True)
    S = sp.Matrix([[s11, s12], [s12, s22]])
    second = sum(S[i, i] * S[k, k] + S[i, k] * S[i, k] + S[i, k] * S[k, i]
                 for i in range(2) for k in range(2))
    return sp.expand(second - S.trace() ** 2 - 2 * (S * S).trace())


@cache
def inverse_wishart_second_moments() -> tuple[sp.Expr, sp.Expr]:
    """``(E tr K^2, Var tr K)`` for ``K = (X^T X)^{-1}``, ``X`` a ``T x d`` standard Gaussian.

    Formula: with a = T - d, D = a (a-1)^2 (a-3), Cov(K_ij, K_kl) = [2 d_ij d_kl +
    (a-1)(d_ik d_jl + d_il d_jk)]/D (von Rosen 1988) and E K = I/(a-1): summing the d diagonal
    and d (d-1) off-diagonal index pairs, E tr K^2 = [2 a d + d (d-1)(a-1)]/D + d/(a-1)^2 and
    Var tr K = [2 d^2 + 2 (a-1) d]/D.

    Returns
    -------
    tuple of sympy.Expr
        In ``T`` and ``d``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> sp.factor(srg.inverse_wishart_second_moments()[0].subs(srg.d, 1))
    1/((T - 4)*(T - 2))
    """
    a = T - d
    D = a * (a - 1) ** 2 * (a - 3)

    def cov(i, j, k, l_):
        return (2 * sp.KroneckerDelta(i, j) * sp.KroneckerDelta(k, l_) + (a - 1) * (
            sp.KroneckerDelta(i, k) * sp.KroneckerDelta(j, l_)
            + sp.KroneckerDelta(i, l_) * sp.KroneckerDelta(j, k))) / D

    # index patterns: (i == j) d times, (i != j) d (d - 1) times
    var_diag, var_off = cov(1, 1, 1, 1), cov(1, 2, 1, 2)
    etr2 = d * var_diag + d * (d - 1) * var_off + d / (a - 1) ** 2
    vtr = d * cov(1, 1, 1, 1) + d * (d - 1) * cov(1, 1, 2, 2)
    return sp.simplify(etr2), sp.factor(vtr)


@cache
def variance_exprs() -> dict[str, sp.Expr]:
    """``Var ||beta_n - beta_0||^2``: ``'replace_fixed'``, ``'replace_fresh'``,
    ``'accumulate_fixed'`` (``v = n`` or ``H2(n)``).

    Formula: given X, delta ~ N(0, v noise2 K): Var = 2 v^2 noise2^2 tr K^2 (Isserlis); the
    law of total variance adds v^2 noise2^2 Var tr K (fixed). Fresh: n independent terms, each
    with that variance at v = 1, plus 4 C(n, 2) E(e_g . e_h)^2 = 2 n (n-1) noise2^2
    tr (E K)^2 = 2 n (n-1) noise2^2 d/(T-d-1)^2.

    Returns
    -------
    dict of sympy.Expr

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> v = srg.variance_exprs()
    >>> sp.simplify((v['replace_fixed'] - v['replace_fresh']).subs(srg.n, 1))
    0
    """
    etr2, vtr = inverse_wishart_second_moments()
    q = 2 * etr2 + vtr
    h2 = sp.harmonic(n, 2)
    return {
        "replace_fixed": n**2 * noise2**2 * q,
        "replace_fresh": n * noise2**2 * q + 2 * n * (n - 1) * noise2**2 * d / (T - d - 1) ** 2,
        "accumulate_fixed": h2**2 * noise2**2 * q,
    }


@cache
def ridge_coordinate_expr() -> sp.Expr:
    """The replace ridge refit's error along one eigenvector of ``X^T X`` (eigenvalue ``mu``).

    Formula: b_n = f b_{n-1} + xi_n/(mu + lambda), f = mu/(mu + lambda), xi_n ~ N(0, noise2
    mu): the mean m_n = f^n b0 and the variance v_n = f^2 v_{n-1} + noise2 mu/(mu + lambda)^2
    solve by rsolve; the error is (m_n - b0)^2 + v_n.

    Returns
    -------
    sympy.Expr
        In ``n``, ``mu``, ``lambda``, ``b0``, ``noise2``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> e = srg.ridge_coordinate_expr().subs(srg.n, 1)
    >>> sp.simplify(e - (srg.lam**2 * srg.b0**2 + srg.noise2 * srg.mu) / (srg.mu + srg.lam)**2)
    0
    """
    f = mu / (mu + lam)
    M_, V = sp.Function("M_"), sp.Function("V")
    mean = sp.rsolve(M_(n + 1) - f * M_(n), M_(n), {M_(0): b0})
    var = sp.rsolve(V(n + 1) - f**2 * V(n) - noise2 * mu / (mu + lam) ** 2, V(n), {V(0): 0})
    return sp.simplify((mean - b0) ** 2 + var)


def lambdified() -> dict[str, Callable[..., object]]:
    """NumPy callables of the derived formulas (no validation; for tests).

    Returns
    -------
    dict
        ``'replace'(n, T, d, noise2)``, ``'accumulate_fixed'(n, T, d, noise2)`` (integer n),
        ``'accumulate_fresh_limit'(T, d, noise2)``, ``'mix_contraction'(T, d, r)``,
        ``'mix'(n, T, d, r, noise2)``, ``'mix_fixed_2'(T, d, r, noise2)`` (E_2),
        ``'mix_fixed_d1'(n, T, r, noise2)``, ``'weighted'(n, T, d, w, n_real, noise2)``,
        ``'variance_<name>'(n, T, d, noise2)`` for the keys of :func:`variance_exprs`.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import regression as srg
    >>> float(srg.lambdified()['replace'](3, 10, 2, 1.0))
    0.8571428571428571
    """
    k = inverse_wishart_trace()
    cexpr = mix_contraction_expr()
    out: dict[str, Callable[..., object]] = {
        "replace": sp.lambdify((n, T, d, noise2), replace_expr().subs(kappa, k), "scipy"),
        "accumulate_fresh_limit": sp.lambdify((T, d, noise2), accumulate_limits()[1], "scipy"),
        "mix_contraction": sp.lambdify((T, d, r), cexpr, "scipy"),
        "mix": sp.lambdify((n, T, d, r, noise2), mix_expr().subs({kappa: k, c: cexpr}),
                           "scipy"),
        "weighted": sp.lambdify((n, T, d, w, n_real, noise2), weighted_expr().subs(kappa, k),
                                "scipy"),
    }
    e2 = mix_fixed_expr()[0].subs(kappa, k)
    out["mix_fixed_2"] = sp.lambdify((T, d, r, noise2), e2, "scipy")
    en1 = mix_fixed_expr()[1].subs(kappa, k).subs(d, 1)

    def mix_fixed_d1(nv, Tv, rv, sv):
        return float(en1.subs({n: int(nv), T: Tv, r: rv, noise2: sv}).doit().evalf(20))

    out["mix_fixed_d1"] = mix_fixed_d1
    acc = accumulate_fixed_expr().subs(kappa, k)

    def accumulate_fixed(nv, Tv, dv, sv):
        return float(acc.subs({n: int(nv), T: Tv, d: dv, noise2: sv}).evalf(20))

    out["accumulate_fixed"] = accumulate_fixed
    for name, expr in variance_exprs().items():
        if name == "accumulate_fixed":
            def acc_var(nv, Tv, dv, sv, expr=expr):
                return float(expr.subs({n: int(nv), T: Tv, d: dv, noise2: sv}).evalf(20))
            out[f"variance_{name}"] = acc_var
        else:
            out[f"variance_{name}"] = sp.lambdify((n, T, d, noise2), expr, "scipy")
    return out
