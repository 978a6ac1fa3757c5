"""Symbolic derivation of the accumulate-subsample moments (sympy), from the sampling design.

Setting as in :mod:`modelcollapse.theory.accumulate_subsample`: batches of ``M`` points join the
pool each generation (the first real, N(mu0, sigma2), sigma2 = 1 here), generation ``t`` is
fit on a uniform ``N``-subset without replacement of the ``P = t M`` pooled points, ``rho =
N/M``. Nothing below is typed in as an answer:

- :func:`inclusion_probabilities`: ``P(p in S)`` and ``P(p, q in S)`` as ratios of binomial
  coefficients (counting subsets);
- :func:`subsample_moments`: ``E ybar_S^2`` and ``E SS_S`` of a subsample mean and sum of squares
  from the pool's ``A = sum_p E y_p^2`` and ``B = E (sum_p y_p)^2``;
- :func:`exact_recursion`: ``(D_t, s_t)`` for ``t = 1..T`` as rational functions of ``N, M,
  ddof, b`` by running the recursion on the batch covariances ``E[Y_j Y_k]``, which are
  derived here from ``E[Y_j e_{k-1}] = E[Y_j T_{k-1}] / P_{k-1}`` (no closed form assumed);
- :func:`linear_recursion`: the same ``(D_t, s_t)`` by the O(t) recursion the numeric module
  runs (the covariances ``r_j`` and running sums), for comparison with the Gram-matrix one;
- :func:`leading_drift`: ``N E e_t^2 / sigma^2`` of the leading-order model
  ``e_t = (1/t) sum_{j<t} e_j + xi_t``, ``Var xi_t = 1/N``, ``Cov(xi_s, xi_t) = 1/(t M)``
  (``s < t``), as an exact rational function of ``rho`` (the covariance of the xi's summed);
- :func:`mean_ratio_expr`, :func:`ratio_limit_expr`: the claimed closed forms
  ``1 + (1 + 2 rho)(H2_t - 1)`` and its limit, which the proof checks against the two above;
- :func:`leading_variance`: ``v_t`` of ``E sigma_t^2 = 1 - v_t/N + O(1/N^2)`` by the
  leading-order recursion.

Examples
--------
>>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
>>> sas.leading_drift(2)
rho/2 + 5/4
>>> sas.mean_ratio_expr().subs(sas.t, 2).doit().expand()
rho/2 + 5/4
"""

from __future__ import annotations

from functools import cache

import sympy as sp

N, M, P = sp.symbols("N M P", positive=True)
rho = sp.Symbol("rho", positive=True)
ddof = sp.Symbol("ddof", nonnegative=True)
b = sp.Symbol("b", positive=True)
t = sp.Symbol("t", positive=True, integer=True)
A, B = sp.symbols("A B", positive=True)

__all__ = ["inclusion_probabilities", "subsample_moments", "exact_recursion", "linear_recursion",
           "leading_drift",
           "mean_ratio_expr", "ratio_limit_expr", "leading_variance", "leading_variance_expr"]


def inclusion_probabilities() -> tuple[sp.Expr, sp.Expr]:
    """``(P(p in S), P(p, q in S))`` for a uniform ``N``-subset ``S`` of ``P`` points.

    Counting: ``binomial(P-1, N-1)/binomial(P, N)`` subsets contain a given point,
    ``binomial(P-2, N-2)/binomial(P, N)`` a given pair.

    Returns
    -------
    tuple of sympy.Expr
        ``(N/P, N (N-1) / (P (P-1)))``, simplified.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.accumulate_subsample import inclusion_probabilities
    >>> inclusion_probabilities()
    (N/P, N*(N - 1)/(P*(P - 1)))
    """
    n_, p_ = sp.symbols("n p", positive=True, integer=True)
    one = sp.combsimp(sp.binomial(p_ - 1, n_ - 1) / sp.binomial(p_, n_))
    two = sp.combsimp(sp.binomial(p_ - 2, n_ - 2) / sp.binomial(p_, n_))
    return (sp.factor(one.subs({n_: N, p_: P})), sp.factor(two.subs({n_: N, p_: P})))


def subsample_moments() -> tuple[sp.Expr, sp.Expr]:
    """``(E ybar_S^2, E SS_S)`` of a uniform ``N``-subsample of a pool independent of ``S``.

    With ``A = sum_p E y_p^2`` and ``B = E (sum_p y_p)^2``:
    ``E ybar^2 = (1/N^2) (p1 A + p2 (B - A))`` and ``E SS = p1 A - N E ybar^2``
    (``SS = sum_S y^2 - N ybar^2``), ``p1, p2`` of :func:`inclusion_probabilities`.

    Returns
    -------
    tuple of sympy.Expr
        In the symbols ``A, B, N, P``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.accumulate_subsample import subsample_moments
    >>> import sympy
    >>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
    >>> d2, ss = sas.subsample_moments()
    >>> sympy.simplify(d2.subs(sas.N, 1))       # one point: E y^2 averaged over the pool
    A/P
    """
    p1, p2 = inclusion_probabilities()
    d2 = (p1 * A + p2 * (B - A)) / N**2
    return sp.simplify(d2), sp.simplify(p1 * A - N * d2)


@cache
def exact_recursion(T: int, values: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
                    ) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
    """``((D_1, s_1), ..., (D_T, s_T))`` per unit ``sigma2``, exactly, as rational functions.

    Builds the Gram matrix ``G[j, k] = E[Y_j Y_k]`` of the batch sums (``y = x - mu0``):
    ``G[j, j] = M^2 D_{j-1} + M b_j s_{j-1}`` (batch ``j`` drawn from generation ``j-1``:
    mean error ``e_{j-1}``, variance ``b_j sigma_{j-1}^2``, ``b_1 = 1``) and, for ``j < k``,
    ``G[j, k] = M E[Y_j e_{k-1}] = M sum_{i<k} G[j, i] / P_{k-1}`` (the subsample of generation
    ``k-1`` is independent of the values); then :func:`subsample_moments` with
    ``A = M sum_j (D_{j-1} + b_j s_{j-1})``, ``B = sum_{j,k} G[j, k]``.

    Parameters
    ----------
    T : int
        Generations (small with symbols: T = 3 takes some 10 s; with every symbol given a
        rational value in ``values``, T = 10 is quick).
    values : tuple of (Symbol, value) pairs
        Substitutions made before the recursion (e.g. ``((b, 1), (M, N / rho))``).

    Returns
    -------
    tuple of (sympy.Expr, sympy.Expr)
        ``(D_t, s_t)`` in ``N, M, ddof, b``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
    >>> sas.exact_recursion(1)[0]
    (1/N, (N - 1)/(N - ddof))
    """
    subs = dict(values)
    d2, ss = subsample_moments()
    d2, ss = d2.subs(subs), ss.subs(subs)
    M_, b_sym, n_, dd = (sp.sympify(x).subs(subs) for x in (M, b, N, ddof))
    D, s = [sp.Integer(0)], [sp.Integer(1)]
    G: dict[tuple[int, int], sp.Expr] = {}
    out = []
    for k in range(1, T + 1):
        bk = 1 if k == 1 else b_sym
        G[(k, k)] = M_**2 * D[k - 1] + M_ * bk * s[k - 1]
        for j in range(1, k):
            G[(j, k)] = sp.cancel(M_ * sum(G[(min(i, j), max(i, j))] for i in range(1, k))
                                  / ((k - 1) * M_))
        a_ = M_ * sum(D[j - 1] + (1 if j == 1 else b_sym) * s[j - 1] for j in range(1, k + 1))
        b_ = sum(G[(j, j)] for j in range(1, k + 1)) + 2 * sum(
            G[(i, j)] for j in range(1, k + 1) for i in range(1, j))
        sub = {A: a_, B: b_, P: k * M_}
        Dk = sp.cancel(d2.subs(sub))
        sk = sp.cancel(ss.subs(sub) / (n_ - dd))
        D.append(Dk)
        s.append(sk)
        out.append((Dk, sk))
    return tuple(out)


def linear_recursion(T: int, values: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
                     ) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
    """``((D_1, s_1), ..., (D_T, s_T))`` by the O(T) recursion of the numeric module.

    Per unit sigma2, in units of ``M^2`` for the covariances: ``g_t = D_{t-1} + b_t s_{t-1}/M``,
    ``r_t = (sum_{i<t} r_i + g_t)/t``, ``Q_t = sum_{i<=t} (t - i) r_i``,
    ``a_t = (1/t) sum_{j<=t} (D_{j-1} + b_j s_{j-1})`` (``A_t/P_t``), ``c_t = ((1 - 1/M)
    sum_{j<=t} D_{j-1} + 2 Q_t) / (t (t - 1/M))`` (``(B_t - A_t)/(P_t (P_t - 1))``), then
    ``D_t = a_t/N + (1 - 1/N) c_t`` and ``s_t = N/(N - ddof) (a_t - D_t)``.

    Parameters
    ----------
    T : int
        Generations.
    values : tuple of (Symbol, value) pairs
        Substitutions made first (as for :func:`exact_recursion`).

    Returns
    -------
    tuple of (sympy.Expr, sympy.Expr)
        ``(D_t, s_t)``.

    Examples
    --------
    >>> import sympy
    >>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
    >>> sympy.factor(sas.linear_recursion(1)[0][0])
    1/N
    """
    subs = dict(values)
    M_, b_sym, n_, dd = (sp.sympify(x).subs(subs) for x in (M, b, N, ddof))
    D_prev, s_prev = sp.Integer(0), sp.Integer(1)
    sum_a = sum_d = R = Q = sp.Integer(0)
    out = []
    for k in range(1, T + 1):
        bk = 1 if k == 1 else b_sym
        g = D_prev + bk * s_prev / M_
        sum_a += D_prev + bk * s_prev
        sum_d += D_prev
        Q += R
        R += (R + g) / k
        a_t = sum_a / k
        c_t = ((1 - 1 / M_) * sum_d + 2 * Q) / (k * (k - 1 / M_))
        D_prev = sp.cancel(a_t / n_ + (1 - 1 / n_) * c_t)
        s_prev = sp.cancel(n_ / (n_ - dd) * (a_t - D_prev))
        out.append((D_prev, s_prev))
    return tuple(out)


def leading_drift(T: int) -> sp.Expr:
    """``N E e_T^2 / sigma^2`` of the leading-order model, an exact polynomial in ``rho``.

    ``e_t = m_t + xi_t``, ``m_t = (1/t) sum_{j<t} e_j`` (``e_0 = 0``) gives
    ``e_T = sum_j a_j xi_j`` with ``a`` computed here by running the recursion on coefficient
    vectors; then ``N Var = sum_j a_j^2 + 2 sum_{i<j} a_i a_j (N/(j M))``, ``N/M = rho``.

    Parameters
    ----------
    T : int
        Generation, >= 1.

    Returns
    -------
    sympy.Expr
        A polynomial of degree 1 in ``rho`` with rational coefficients.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.accumulate_subsample import leading_drift
    >>> leading_drift(1)
    1
    """
    es: list[list[sp.Expr]] = [[sp.Integer(0)] * (T + 1)]  # e_0 = 0
    for tt in range(1, T + 1):
        m = [sum(es[j][i] for j in range(tt)) / tt for i in range(T + 1)]
        m[tt] += 1  # + xi_t
        es.append(m)
    a = es[T]
    var = sum(a[j] ** 2 for j in range(1, T + 1))
    var += 2 * sum(a[i] * a[j] * rho / j for j in range(1, T + 1) for i in range(1, j))
    return sp.expand(var)


def mean_ratio_expr() -> sp.Expr:
    """The claimed ratio ``1 + (1 + 2 rho)(H2_t - 1)``, ``H2_t = sum_{k<=t} 1/k^2``.

    Returns
    -------
    sympy.Expr
        In ``rho`` and ``t`` (an unevaluated sum).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
    >>> sas.mean_ratio_expr().subs({sas.t: 1}).doit()
    1
    """
    k = sp.Symbol("k", positive=True, integer=True)
    return 1 + (1 + 2 * rho) * (sp.Sum(1 / k**2, (k, 1, t)) - 1)


def ratio_limit_expr() -> sp.Expr:
    """``lim_{t -> inf}`` of :func:`mean_ratio_expr`, by sympy.

    Returns
    -------
    sympy.Expr
        ``1 + (1 + 2 rho)(pi^2/6 - 1)``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
    >>> sas.ratio_limit_expr().subs(sas.rho, 1)
    -2 + pi**2/2
    """
    r = mean_ratio_expr().subs(t, sp.oo).doit()
    return sp.expand(r)


def leading_variance(T: int) -> sp.Expr:
    """``v_T`` of ``E sigma_T^2 = sigma2 (1 - v_T / N) + O(1/N^2)``, by the leading order of
    ``s_t = N/(N - ddof) (A_t/P - D_t)``: ``v_t = -ddof + (1/t) sum_{j<t} (v_j - delta_j)
    + delta_t``, ``v_0 = delta_0 = 0``, ``delta_t`` = :func:`leading_drift`.

    Parameters
    ----------
    T : int
        Generation, >= 0.

    Returns
    -------
    sympy.Expr
        In ``rho`` and ``ddof``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.accumulate_subsample import leading_variance
    >>> leading_variance(1)
    1 - ddof
    """
    v: list[sp.Expr] = [sp.Integer(0)]
    delta = [sp.Integer(0)] + [leading_drift(k) for k in range(1, T + 1)]
    for tt in range(1, T + 1):
        v.append(sp.expand(-ddof + sum(v[j] - delta[j] for j in range(tt)) / tt + delta[tt]))
    return v[T]


def leading_variance_expr() -> sp.Expr:
    """The claimed closed form ``v_t = delta_t - ddof H_t``, ``delta_t = 1 + (1 + 2 rho)
    (H2_t - 1)``, ``H_t = sum_{k<=t} 1/k``.

    Returns
    -------
    sympy.Expr
        In ``rho``, ``ddof`` and ``t`` (unevaluated sums).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import accumulate_subsample as sas
    >>> sas.leading_variance_expr().subs(sas.t, 1).doit()
    1 - ddof
    """
    k = sp.Symbol("k", positive=True, integer=True)
    return mean_ratio_expr() - ddof * sp.Sum(1 / k, (k, 1, t))
