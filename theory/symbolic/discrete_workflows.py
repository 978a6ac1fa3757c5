"""Symbolic derivation of the categorical moments under the accumulate and fixed-real mix
workflows.

Everything is derived by sympy from the one-step law (the multinomial moments of
:func:`~modelcollapse.theory.symbolic.discrete.binomial_moments`), not typed in:

1. **accumulate** -- after ``t - 1`` generations the pool holds ``(t - 1) M`` points with
   frequencies ``p``; generation ``t`` adds ``c ~ Mult(M, p)``, so a symbol's pooled frequency
   becomes ``p' = ((t - 1) p + c/M)/t``. ``E[p'^2 | p]`` summed over the symbols (``sum p = 1``,
   ``sum p^2 = S``) gives ``S' = S + (1 - S)/(M t^2)``: the heterozygosity ``h = 1 - S`` is
   multiplied by ``1 - 1/(M t^2)``. ``sympy.product`` solves it
   (``H_n = Hstar (1 - x)_n (1 + x)_n / (n!)^2``, ``x = 1/sqrt(M)``, rising factorials;
   ``sympy.rsolve`` is not used: for this variable-coefficient recursion it returns 0), and the
   limit ``n -> inf`` is ``1/(Gamma(1 - x) Gamma(1 + x)) = sin(pi x)/(pi x)`` (Euler's
   reflection formula; the ratio ``Gamma(n+1-x) Gamma(n+1+x)/Gamma(n+1)^2 -> 1``).
2. **mix with one fixed real set** ``X ~ Mult(N, p0)`` (reused every generation) plus ``s``
   synthetic samples, ``T = N + s``: given ``(X, p)``, ``p' = (X + Y)/T`` with
   ``Y ~ Mult(s, p)``. Summed over the symbols, ``u = E||X||^2`` (constant),
   ``v_t = E[X . p_t]`` and ``w_t = E||p_t||^2`` obey the linear system
   ``v' = (u + s v)/T``, ``w' = (u + 2 s v + s + s (s - 1) w)/T^2``; ``rsolve`` gives ``v_t``
   and undetermined coefficients (``w_t = w* + B a^t + C rho^t``, ``a = s/T``,
   ``rho = s (s - 1)/T^2``) give ``w_t``. With ``E p_t = p0``,
   ``D_t = E||p_t - p0||^2 = w_t - (1 - Hstar)``.

Conventions: generation 0 is ``p0`` (``Hstar = 1 - sum p0^2``); generation ``n`` is the model
after ``n`` fits. The NumPy versions are in :mod:`modelcollapse.theory.discrete_workflows`.

Access: :func:`recursions`, :func:`solutions`, :func:`lambdified` (NumPy callables, arguments
validated, in the order of :data:`ARGUMENTS`).

References
----------
Gerstgrasser et al. (2024); Ewens, *Mathematical Population Genetics* (2004), ch. 1.

Examples
--------
>>> from modelcollapse.theory.symbolic.discrete_workflows import ARGUMENTS
>>> ARGUMENTS["accumulate_heterozygosity"]
('n', 'Hstar', 'M')
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from modelcollapse.spec import params as P

from .discrete import Hstar, M, N, binomial_moments, m, n

__all__ = [
    "ARGUMENTS",
    "VALIDATORS",
    "accumulate_one_step",
    "fixed_mix_one_step",
    "recursions",
    "solutions",
    "lambdified",
]

t = sp.Symbol("t", integer=True, positive=True)
j = sp.Symbol("j", integer=True, positive=True)
p = sp.Symbol("p", nonnegative=True)
x = sp.Symbol("x", nonnegative=True)  # a real count X_i
S = sp.Symbol("S", nonnegative=True)
_f = sp.Function("f")

#: Argument order of each lambdified closed form.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "accumulate_heterozygosity": ("n", "Hstar", "M"),
    "accumulate_sq_distance": ("n", "Hstar", "M"),
    "accumulate_factor_limit": ("M",),
    "fixed_mix_sq_distance": ("n", "Hstar", "N", "n_synth"),
    "fixed_mix_sq_distance_limit": ("Hstar", "N", "n_synth"),
}

#: How each argument of a lambdified solution is validated (the parameter vocabulary).
VALIDATORS: dict[str, P.Param] = {
    "n": P.n,
    "M": P.M,
    "Hstar": P.Param("Hstar", "heterozygosity 1 - sum p0^2 of the real data", low=0.0, high=1.0),
    "N": P.Param("N", "real samples per fit (one fixed set)", integer=True, low=1),
    "n_synth": P.Param("n_synth", "synthetic samples per generation", integer=True, low=0),
}

_SYMBOLS = {"n": n, "M": M, "Hstar": Hstar, "N": N, "n_synth": m}


def _sum_symbols(expr: sp.Expr, rules: dict[sp.Expr, sp.Expr]) -> sp.Expr:
    """Sum a per-symbol polynomial over the ``K`` symbols: each monomial is replaced by its
    sum (``rules``); a constant term would need ``K`` and is refused."""
    poly = sp.Poly(sp.expand(expr), *[g for g in (x, p) if expr.has(g)])
    out = sp.Integer(0)
    for monom, coeff in poly.terms():
        key = sp.Mul(*[g**e for g, e in zip(poly.gens, monom, strict=True)])
        if key == 1:
            raise AssertionError("constant per-symbol term: the sum would depend on K")
        out += coeff * rules[key]
    return sp.expand(out)


def accumulate_one_step() -> sp.Expr:
    """``E[S_t | S_{t-1} = S]`` under accumulate, from the one-step law.

    Formula: ``p' = ((t - 1) p + c/M)/t``, ``c ~ Binomial(M, p)``; ``E p'^2`` summed over the
    symbols is ``S + (1 - S)/(M t^2)``.

    Returns
    -------
    sympy.Expr
        The expected collision probability at step ``t`` in the symbols ``S``, ``M``, ``t``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import M
    >>> from modelcollapse.theory.symbolic.discrete_workflows import S, accumulate_one_step, t
    >>> sp.simplify(accumulate_one_step() - (S + (1 - S) / (M * t**2)))
    0
    """
    m1, m2 = binomial_moments(M, p)
    second = ((t - 1) ** 2 * p**2 + 2 * (t - 1) * p * m1 / M + m2 / M**2) / t**2
    return sp.simplify(_sum_symbols(second, {p**2: S, p: sp.Integer(1)}))


def fixed_mix_one_step() -> tuple[sp.Expr, sp.Expr]:
    """``(E[X . p'], E||p'||^2)`` after one fit on a fixed real set plus synthetic samples.

    Formula: given ``(X, p)``, ``p' = (X + Y)/T``, ``Y ~ Mult(s, p)``, ``T = N + s``; summed
    over the symbols with ``sum X_i^2 = u``, ``sum X_i p_i = v``, ``sum p_i^2 = w``:
    ``v' = (u + s v)/T`` and ``w' = (u + 2 s v + s + s (s - 1) w)/T^2``.

    Returns
    -------
    tuple of sympy.Expr
        ``(v', w')`` in the symbols ``u``, ``v``, ``w``, ``N``, ``n_synth``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import N, m
    >>> from modelcollapse.theory.symbolic.discrete_workflows import fixed_mix_one_step
    >>> u, v, w = sp.symbols("u v w")
    >>> vn, wn = fixed_mix_one_step()
    >>> sp.simplify(vn - (u + m * v) / (N + m))
    0
    """
    u, v, w = sp.symbols("u v w")
    T = N + m
    y1, y2 = binomial_moments(m, p)
    mean = (x + y1) / T
    second = (x**2 + 2 * x * y1 + y2) / T**2
    rules = {x**2: u, x * p: v, p**2: w, p: sp.Integer(1), x: N}
    return (sp.simplify(_sum_symbols(x * mean, rules)),
            sp.simplify(_sum_symbols(second, rules)))


@lru_cache(maxsize=1)
def recursions() -> dict[str, sp.Eq]:
    """One-step recursions: ``accumulate_heterozygosity`` (``h_t = r_t h_{t-1}``) and the
    fixed-real mix pair ``fixed_mix_v``, ``fixed_mix_w``.

    Returns
    -------
    dict of str to sympy.Eq
        Left side a symbol for the next value, right side a function of the current one.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import M
    >>> from modelcollapse.theory.symbolic.discrete_workflows import recursions, t
    >>> rec = recursions()["accumulate_heterozygosity"]
    >>> h = sp.Symbol("h")
    >>> sp.simplify(rec.rhs - h * (1 - 1 / (M * t**2)))
    0
    """
    h = sp.Symbol("h")
    # h' = 1 - S' with S = 1 - h
    acc = sp.factor(1 - accumulate_one_step().subs(S, 1 - h))
    v, w = sp.symbols("v w")
    vn, wn = fixed_mix_one_step()
    return {
        "accumulate_heterozygosity": sp.Eq(sp.Symbol("h_next"), acc),
        "fixed_mix_v": sp.Eq(sp.Symbol("v_next"), vn),
        "fixed_mix_w": sp.Eq(sp.Symbol("w_next"), wn),
    }


@lru_cache(maxsize=1)
def solutions() -> dict[str, sp.Expr]:
    """Closed forms keyed like :data:`ARGUMENTS`, solved from :func:`recursions`.

    Formulas: ``accumulate_heterozygosity = Hstar prod_{j=1}^n (1 - 1/(M j^2))`` (rising
    factorials), ``accumulate_sq_distance = Hstar - accumulate_heterozygosity``,
    ``accumulate_factor_limit = sin(pi/sqrt M) sqrt(M)/pi``, ``fixed_mix_sq_distance`` and its
    limit ``Hstar (N + 3 s)/(N (N + 2 s) + s)``.

    Returns
    -------
    dict of str to sympy.Expr
        Each closed form in the symbols of ``ARGUMENTS[name]``.

    Raises
    ------
    AssertionError
        If a derived closed form does not solve its recursion (checked here).

    Notes
    -----
    Cached; the first call takes about a second.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic.discrete import Hstar, M, n
    >>> from modelcollapse.theory.symbolic.discrete_workflows import solutions
    >>> sol = solutions()
    >>> sp.expand(sol["accumulate_heterozygosity"].subs({n: 2, M: 2}))  # (1 - 1/2)(1 - 1/8)
    7*Hstar/16
    """
    rec = recursions()
    out: dict[str, sp.Expr] = {}
    h = sp.Symbol("h")
    factor = sp.simplify(rec["accumulate_heterozygosity"].rhs / h)
    prod = sp.product(factor.subs(t, j), (j, 1, n))
    # check: prod(n + 1)/prod(n) is the one-step factor at t = n + 1, prod(0) = 1
    ratio = sp.gammasimp(sp.combsimp((prod.subs(n, n + 1) / prod).rewrite(sp.gamma)))
    if sp.simplify(ratio - factor.subs(t, n + 1)) != 0 or prod.subs(n, 0) != 1:
        raise AssertionError("the accumulate product does not solve its recursion")
    out["accumulate_heterozygosity"] = Hstar * prod
    out["accumulate_sq_distance"] = Hstar * (1 - prod)
    # limit: (1 - y)_n (1 + y)_n/(n!)^2 = Gamma(n+1-y) Gamma(n+1+y)/(Gamma(1-y) Gamma(1+y) n!^2)
    # and Gamma(n+1-y) Gamma(n+1+y)/Gamma(n+1)^2 -> 1, so the limit is 1/(Gamma(1-y) Gamma(1+y))
    y = sp.Symbol("y", positive=True)
    reflection = sp.simplify(1 / (sp.gamma(1 - y) * sp.gamma(1 + y)))
    out["accumulate_factor_limit"] = reflection.subs(y, 1 / sp.sqrt(M))

    # fixed-real mix
    u, v, w = sp.symbols("u v w")
    T = N + m
    S0 = 1 - Hstar
    u_val = _sum_symbols(binomial_moments(N, p)[1], {p**2: S0, p: sp.Integer(1)})
    vn = rec["fixed_mix_v"].rhs.subs(u, u_val)
    v_t = sp.rsolve(_f(t + 1) - vn.subs(v, _f(t)), _f(t), {_f(0): N * S0})
    if v_t is None:
        raise AssertionError("rsolve failed")
    a, rho = m / T, m * (m - 1) / T**2
    A, R = sp.symbols("A R", positive=True)  # a^t, rho^t
    v_of = sp.simplify(sp.expand(v_t).subs(m**t, A * T**t))
    if v_of.has(t):
        raise AssertionError(f"unexpected form of v_t: {v_t}")
    ws, B, C = sp.symbols("wstar B C")
    w_t = ws + B * A + C * R
    w_next = rec["fixed_mix_w"].rhs.subs({u: u_val, v: v_of, w: w_t})
    target = ws + B * a * A + C * rho * R
    eqs = sp.Poly(sp.expand(sp.together(w_next - target).as_numer_denom()[0]), A, R).coeffs()
    sol = sp.solve(eqs, [ws, B], dict=True)
    if len(sol) != 1:
        raise AssertionError("no unique particular solution")
    ws_v, B_v = sp.simplify(sol[0][ws]), sp.simplify(sol[0][B])
    C_v = sp.simplify(S0 - ws_v - B_v)  # w_0 = sum p0^2
    D_t = ws_v + B_v * a**n + C_v * rho**n - S0
    out["fixed_mix_sq_distance"] = D_t
    out["fixed_mix_sq_distance_limit"] = sp.factor(sp.simplify(ws_v - S0))
    return out


@cache
def lambdified(name: str) -> Callable:
    """NumPy callable for ``solutions()[name]`` with arguments ``ARGUMENTS[name]``.

    Parameters
    ----------
    name : str
        A key of :data:`ARGUMENTS`.

    Returns
    -------
    callable
        ``f(*args)`` in the order ``ARGUMENTS[name]``, each argument validated through the
        vocabulary (:data:`VALIDATORS`). The accumulate product is lambdified with SciPy's
        ``poch`` and ``gamma``: usable for moderate ``n`` (it overflows where the numeric module
        does not).

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`ARGUMENTS`.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic.discrete_workflows import lambdified
    >>> round(float(lambdified("accumulate_heterozygosity")(2, 0.5, 2)), 12)
    0.21875
    """
    if name not in ARGUMENTS:
        raise ValueError(f"name must be one of {sorted(ARGUMENTS)} (got {name!r})")
    expr = solutions()[name]
    args = [_SYMBOLS[a] for a in ARGUMENTS[name]]
    extra = expr.free_symbols - set(args)
    if extra:
        raise AssertionError(f"{name} has unexpected free symbols {extra}")
    fn = sp.lambdify(args, expr, modules="scipy")
    names = ARGUMENTS[name]

    def call(*values: Any) -> Any:
        if len(values) != len(names):
            raise TypeError(f"{name}() takes {len(names)} arguments {names} "
                            f"({len(values)} given)")
        checked = [VALIDATORS[a].array(val) for a, val in zip(names, values, strict=True)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(*checked)

    call.__name__ = name
    call.__doc__ = f"Lambdified symbolic ``{name}{names}``: {expr}"
    return call
