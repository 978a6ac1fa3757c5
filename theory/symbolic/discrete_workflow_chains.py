"""Symbolic derivation: the covariance of the fitted frequencies stays proportional to
``Sigma0 = diag p0 - p0 p0^T`` under replace, mix (fresh or one fixed real set) and accumulate.

Derived by sympy from the one-step laws, for ``K = 3`` symbols with symbolic probabilities
``p1, p2, p3 = 1 - p1 - p2`` (the identities are entrywise, so three symbols exercise the
diagonal and the off-diagonal entries alike):

- the multinomial second moments ``E[Y_i Y_j] = m (m - 1) q_i q_j + m q_i [i = j]`` are taken
  from the probability generating function ``(q1 z1 + q2 z2 + q3 z3)^m``;
- the model before the step has ``E q = p0`` and ``Cov q = c Sigma0`` (and, with a fixed real
  set ``X ~ Mult(r, p0)``, ``E[X_i q_j] = r p_i p_j + e Sigma0_ij``);
- one step: replace/mix ``q' = (X + Y)/M`` with ``X ~ Mult(r, p0)`` fresh, ``Y ~ Mult(s, q)``,
  ``M = r + s``; accumulate ``q' = ((t - 1) q + Y/M)/t`` with ``Y ~ Mult(M, q)``; fixed real set
  ``q' = (X + Y)/M`` with the same ``X`` every step.

Each ``Cov q'`` is checked to be ``c' Sigma0`` entry by entry (the residual simplifies to 0), and
the scalar recursions are returned:

- mix (fresh; ``r = 0`` is replace): ``c' = 1/M + s (s - 1) c / M^2``;
- accumulate at step ``t``: ``c' = c + (1 - c)/(M t^2)``;
- fixed real set: ``e' = (r + s e)/M`` and ``c' = (r + s + 2 s e + s (s - 1) c)/M^2`` (see
  :func:`covariance_recursions`).

Generation 0 is ``p0`` itself (``c_0 = e_0 = 0``); generation 1 is ``M`` real samples in every
case (``c_1 = 1/M``).

The numeric module uses the consequence ``Cov(p_n) = c_n Sigma0`` with ``c_n = D_n / (1 -
sum p0^2)`` (:func:`modelcollapse.theory.discrete_workflow_chains._covariance_factor`); the tests
iterate the recursions derived here and compare.

Examples
--------
>>> import sympy as sp
>>> from modelcollapse.theory.symbolic.discrete_workflow_chains import (
...     M, c, covariance_recursions, t)
>>> rec = covariance_recursions()
>>> sp.factor(rec["accumulate"] - (c + (1 - c) / (M * t**2)))
0
"""

from __future__ import annotations

from functools import cache

import sympy as sp

__all__ = [
    "M",
    "c",
    "e",
    "r",
    "s",
    "t",
    "multinomial_second_moments",
    "covariance_recursions",
]

p1, p2 = sp.symbols("p1 p2", positive=True)
P3 = (p1, p2, 1 - p1 - p2)
c, e = sp.symbols("c e")  # Cov q = c Sigma0;  E[X_i q_j] = r p_i p_j + e Sigma0_ij
r, s, M, t = sp.symbols("r s M t", positive=True)
_q = sp.symbols("q1:4")
_z = sp.symbols("z1:4")


def _sigma0(i: int, j: int) -> sp.Expr:
    return (P3[i] if i == j else 0) - P3[i] * P3[j]


def multinomial_second_moments(m: sp.Expr, q: tuple[sp.Expr, ...]) -> list[list[sp.Expr]]:
    """``E[Y_i Y_j]`` for ``Y ~ Mult(m, q)``, ``K = len(q)``, from the generating function.

    Formula: with ``G(z) = (sum_i q_i z_i)^m``, ``E[Y_i Y_j] = d^2 G / dz_i dz_j (1) + [i = j]
    dG/dz_i (1) = m (m - 1) q_i q_j + m q_i [i = j]``.

    Parameters
    ----------
    m : sympy expression
        Number of draws.
    q : tuple of sympy expressions
        Probabilities (``K = 3`` here).

    Returns
    -------
    list of list of sympy.Expr
        The ``K x K`` matrix of second moments.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete_workflow_chains import (
    ...     multinomial_second_moments)
    >>> m = sp.Symbol("m")
    >>> q = sp.symbols("a b d")
    >>> sp.factor(multinomial_second_moments(m, q)[0][1])
    a*b*m*(m - 1)
    """
    K = len(q)
    z = _z[:K]
    G = sum(qi * zi for qi, zi in zip(q, z, strict=True)) ** m
    at1 = {zi: 1 for zi in z}
    out = []
    for i in range(K):
        row = []
        for j in range(K):
            second = sp.diff(G, z[i], z[j]).subs(at1)
            if i == j:
                second += sp.diff(G, z[i]).subs(at1)
            # sum_i q_i = 1 (a probability vector)
            row.append(sp.factor(sp.simplify(second.subs(sum(q), 1))))
        out.append(row)
    return out


def _expect_model(expr: sp.Expr) -> sp.Expr:
    """``E`` over the model ``q`` with ``E q_i = p_i``, ``E q_i q_j = p_i p_j + c Sigma0_ij``
    (``expr`` a polynomial of degree <= 2 in ``q``)."""
    poly = sp.Poly(sp.expand(expr), *_q)
    out = sp.Integer(0)
    for monom, coeff in poly.terms():
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        if len(idx) == 0:
            val = sp.Integer(1)
        elif len(idx) == 1:
            val = P3[idx[0]]
        else:
            a, b = idx
            val = P3[a] * P3[b] + c * _sigma0(a, b)
        out += coeff * val
    return sp.expand(out)


def _proportional(cov: list[list[sp.Expr]]) -> sp.Expr:
    """The factor ``k`` with ``cov = k Sigma0`` entrywise (``AssertionError`` otherwise)."""
    k = sp.simplify(cov[0][0] / _sigma0(0, 0))
    for i in range(3):
        for j in range(3):
            if sp.simplify(cov[i][j] - k * _sigma0(i, j)) != 0:
                raise AssertionError(f"Cov is not proportional to Sigma0 at ({i}, {j})")
    return sp.factor(k)


@cache
def covariance_recursions() -> dict[str, sp.Expr | tuple[sp.Expr, sp.Expr]]:
    """The one-step recursions of the covariance factor ``c`` (``Cov q = c Sigma0``).

    Formula (derived, not typed in; ``M = r + s``):

    - ``"mix"`` (fresh real data; ``r = 0`` is replace): ``c' = 1/M + s (s - 1) c / M^2``;
    - ``"accumulate"`` (step ``t``, ``M`` new points): ``c' = c + (1 - c)/(M t^2)``;
    - ``"fixed_mix"``: the pair ``(c', e')`` with ``e`` the cross factor ``E[X_i q_j] = r p_i
      p_j + e Sigma0_ij`` of the one fixed real set ``X``:
      ``e' = (r + s e)/M``, ``c' = (r + 2 s e + s + s (s - 1) c)/M^2``.

    Returns
    -------
    dict
        ``"mix"``, ``"accumulate"``: ``c'`` in ``c, r, s`` (``M``, ``t``); ``"fixed_mix"``:
        ``(c', e')`` in ``c, e, r, s``.

    Notes
    -----
    Each recursion is returned only after every entry of ``Cov q'`` was checked to be
    ``c' Sigma0`` (``K = 3``, symbolic ``p0``). Cached; about a second the first time.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete_workflow_chains import (
    ...     c, covariance_recursions, r, s)
    >>> sp.factor(covariance_recursions()["mix"] - (1 / (r + s) + s * (s - 1) * c / (r + s)**2))
    0
    """
    out: dict[str, sp.Expr | tuple[sp.Expr, sp.Expr]] = {}
    Ms = r + s
    # mix (fresh): q' = (X + Y)/M, X ~ Mult(r, p0) independent of Y ~ Mult(s, q) given q
    EX = [r * pi for pi in P3]
    XX = multinomial_second_moments(r, P3)
    YY = multinomial_second_moments(s, _q)
    cov = [[_expect_model(XX[i][j] + EX[i] * s * _q[j] + s * _q[i] * EX[j] + YY[i][j]) / Ms**2
            - P3[i] * P3[j] for j in range(3)] for i in range(3)]
    out["mix"] = _proportional(cov)
    # accumulate: q' = ((t - 1) q + Y/M)/t with Y ~ Mult(M, q)
    YM = multinomial_second_moments(M, _q)
    # E[q_i Y_j / M | q] = q_i q_j: the cross terms give 2 (t - 1) q_i q_j
    cov = [[_expect_model(((t - 1) ** 2 * _q[i] * _q[j] + 2 * (t - 1) * _q[i] * _q[j]
                           + YM[i][j] / M**2) / t**2) - P3[i] * P3[j]
            for j in range(3)] for i in range(3)]
    out["accumulate"] = _proportional(cov)
    # fixed real set: E[X_i q_j] = r p_i p_j + e Sigma0_ij, q' = (X + Y)/M
    cross = [[r * P3[i] * P3[j] + e * _sigma0(i, j) for j in range(3)] for i in range(3)]
    # E[X_i q'_j] = (E X_i X_j + s E[X_i q_j]) / M
    xq = [[(XX[i][j] + s * cross[i][j]) / Ms - r * P3[i] * P3[j] for j in range(3)]
          for i in range(3)]
    e_next = _proportional(xq)
    cov = [[(XX[i][j] + s * cross[i][j] + s * cross[j][i] + _expect_model(YY[i][j])) / Ms**2
            - P3[i] * P3[j] for j in range(3)] for i in range(3)]
    out["fixed_mix"] = (_proportional(cov), e_next)
    return out
