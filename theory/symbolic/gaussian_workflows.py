"""Symbolic derivation of the Gaussian workflow formulas (sympy), from the one-step law.

One-step law used everywhere: for independent points ``x_i`` with means ``m_i`` and variances
``v_i``, the sum of squares ``SS = sum x_i^2 - N xbar^2`` has
``E SS = sum (v_i + m_i^2) - N [ (sum m_i / N)^2 + sum v_i / N^2 ]`` (:func:`expected_ss`), and
``xbar`` has mean ``sum m_i / N`` and variance ``sum v_i / N^2``. Averaging over the previous
generation's ``(mu, sigma^2)`` with ``E sigma^2 = s`` and ``E (mu - mu0)^2 = D`` gives every
recursion below (nothing is typed in as an answer; the tests compare the results with the
numeric module :mod:`modelcollapse.theory.gaussian_workflows`).

- :func:`accumulate_factor`: ``E sigma_{t+1}^2 / E sigma_t^2`` for the pool of ``t M`` points
  plus ``M`` new ones (any ddof) -> ``1 - 1/((t+1)((t+1) M - ddof))``;
- :func:`accumulate_drift_step`: ``D_{t+1} - D_t = s_t / (M (t+1)^2)``;
- :func:`conservation_step`: ``(s_{t+1} + D_{t+1}) - (s_t + D_t)`` (0 for ddof = 0);
- :func:`mix_recursion`: ``(s_{t+1}, D_{t+1})`` of mix with bias factor ``b``;
- :func:`mix_fixed_point`: its fixed point (``sympy.solve``);
- :func:`mix_fixed_real_recursion`: mix with one real set reused, in (s, G, H);
- :func:`weighted_recursion`, :func:`weighted_fixed_point`, :func:`optimal_weight`.

Examples
--------
>>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
>>> sgw.accumulate_factor().subs(sgw.ddof, 0).factor()
(M*t**2 + 2*M*t + M - 1)/(M*(t + 1)**2)
"""

from __future__ import annotations

from functools import cache

import sympy as sp

M, N, t = sp.symbols("M N t", positive=True)
ddof = sp.Symbol("ddof", nonnegative=True)
s, D, s0, b = sp.symbols("s D sigma0sq b", positive=True)
nr, ns = sp.symbols("n_r n_s", positive=True)
w = sp.Symbol("w", positive=True)
mu, mu0 = sp.symbols("mu mu0", real=True)
H = sp.Symbol("H", real=True)

__all__ = ["expected_ss", "accumulate_factor", "accumulate_drift_step", "conservation_step",
           "mix_recursion", "mix_fixed_point", "mix_fixed_real_recursion", "weighted_recursion",
           "weighted_fixed_point", "optimal_weight"]


def expected_ss(groups: list[tuple[sp.Expr, sp.Expr, sp.Expr]]) -> tuple[sp.Expr, sp.Expr,
                                                                          sp.Expr]:
    """``(E SS, E xbar, Var xbar)`` for groups ``(count, mean, variance)`` of independent points.

    Parameters
    ----------
    groups : list of (count, mean, variance)
        Sympy expressions: each group holds ``count`` independent points of that mean and
        variance.

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.expected_ss([(sgw.N, 0, 1)])[0]
    N - 1
    """
    n_all = sum(c for c, _, _ in groups)
    mean = sum(c * m for c, m, _ in groups) / n_all
    var = sum(c * v for c, _, v in groups) / n_all**2
    ess = sum(c * (v + m**2) for c, m, v in groups) - n_all * (mean**2 + var)
    return sp.simplify(ess), sp.simplify(mean), sp.simplify(var)


@cache
def accumulate_factor() -> sp.Expr:
    """``E[sigma_{t+1}^2 | pool] / sigma_t^2`` under accumulate (pool of t M points, any ddof).

    The pool (sum of squares ``SS_t = sigma_t^2 (t M - ddof)``, mean ``mu``) is joined by ``M``
    draws from N(mu, sigma_t^2); the joint SS is SS_t + SS_new + (t M M/((t+1) M)) (ybar - mu)^2.

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.accumulate_factor().subs({sgw.t: 1, sgw.ddof: 0})
    (4*M - 1)/(4*M)
    """
    ss_new, ybar_mean, ybar_var = expected_ss([(M, mu, s)])
    between = (t * M) * M / ((t + 1) * M) * (ybar_var + (ybar_mean - mu) ** 2)
    ess = s * (t * M - ddof) + ss_new + between
    return sp.simplify(ess / ((t + 1) * M - ddof) / s)


def accumulate_drift_step() -> sp.Expr:
    """``D_{t+1} - D_t`` under accumulate: the new pool mean is (t mu + ybar)/(t+1).

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.accumulate_drift_step()
    s/(M*(t + 1)**2)
    """
    _, _, ybar_var = expected_ss([(M, mu, s)])
    return sp.simplify(ybar_var / (t + 1) ** 2)


def conservation_step() -> sp.Expr:
    """``(s_{t+1} + D_{t+1}) - (s_t + D_t)`` under accumulate; 0 at ddof = 0.

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.conservation_step().subs(sgw.ddof, 0)
    0
    """
    return sp.simplify(s * accumulate_factor() + accumulate_drift_step() - s)


@cache
def mix_recursion() -> tuple[sp.Expr, sp.Expr]:
    """``(s_{t+1}, D_{t+1})`` for mix: n_r real from N(mu0, sigma0^2), n_s synthetic from
    N(mu, b sigma^2), N = n_r + n_s, averaged with E(mu - mu0)^2 = D, E sigma^2 = s.

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sp_s, sp_D = sgw.mix_recursion()
    >>> sp_D.subs(sgw.nr, 0).simplify()
    D + b*s/n_s
    """
    sig2 = sp.Symbol("sig2", positive=True)
    ess, mean, var = expected_ss([(nr, mu0, s0), (ns, mu, b * sig2)])
    Ntot = nr + ns
    # average over the previous model: (mu - mu0)^2 -> D, sig2 -> s (both enter linearly)
    e = sp.Symbol("e", real=True)
    ess_e = sp.expand(ess.subs(mu, mu0 + e))
    s_next = sp.expand(ess_e.subs(e**2, D).subs(sig2, s)) / (Ntot - ddof)
    drift = sp.expand(((mean - mu0) ** 2 + var).subs(mu, mu0 + e))
    D_next = sp.expand(drift.subs(e**2, D).subs(sig2, s))
    return sp.simplify(s_next), sp.simplify(D_next)


def mix_fixed_point() -> tuple[sp.Expr, sp.Expr]:
    """The fixed point ``(s, D)`` of :func:`mix_recursion` (``sympy.solve``).

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> s_, D_ = sgw.mix_fixed_point()
    >>> a = sgw.ns / (sgw.nr + sgw.ns)
    >>> sp_ = __import__("sympy")
    >>> sp_.simplify(D_.subs({sgw.ddof: 0, sgw.b: 1}) - sgw.s0 / (sgw.nr * (1 + a) + a))
    0
    """
    s_next, D_next = mix_recursion()
    sol = sp.solve([sp.Eq(s, s_next), sp.Eq(D, D_next)], [s, D], dict=True)[0]
    return sp.simplify(sol[s]), sp.simplify(sol[D])


def weighted_recursion() -> tuple[sp.Expr, sp.Expr]:
    """``(s_{t+1}, D_{t+1})`` of the weighted workflow: w (real estimate from n_r points) +
    (1-w) (synthetic estimate from M points drawn from N(mu, b sigma^2)).

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.weighted_recursion()[0].subs({sgw.ddof: 1, sgw.b: 1, sgw.s: sgw.s0}).simplify()
    sigma0sq
    """
    sig2 = sp.Symbol("sig2", positive=True)
    e = sp.Symbol("e", real=True)
    ss_r, mean_r, var_r = expected_ss([(nr, mu0, s0)])
    ss_y, mean_y, var_y = expected_ss([(M, mu0 + e, b * sig2)])
    s_next = w * ss_r / (nr - ddof) + (1 - w) * (ss_y / (M - ddof)).subs(sig2, s)
    drift = sp.expand(w**2 * var_r + (1 - w) ** 2 * ((mean_y - mu0) ** 2 + var_y))
    D_next = drift.subs(e**2, D).subs(sig2, s)
    return sp.simplify(s_next), sp.simplify(D_next)


def weighted_fixed_point() -> tuple[sp.Expr, sp.Expr]:
    """The fixed point of :func:`weighted_recursion`.

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> D_ = sgw.weighted_fixed_point()[1].subs({sgw.ddof: 1, sgw.b: 1, sgw.nr: sgw.M})
    >>> __import__("sympy").factor(D_)
    -sigma0sq*(2*w**2 - 2*w + 1)/(M*w*(w - 2))
    """
    s_next, D_next = weighted_recursion()
    sol = sp.solve([sp.Eq(s, s_next), sp.Eq(D, D_next)], [s, D], dict=True)[0]
    return sp.simplify(sol[s]), sp.simplify(sol[D])


def optimal_weight() -> sp.Expr:
    """The stationary-error minimiser in w (ddof = 1, b = 1): the root in (0, 1) of dD/dw.

    Returns
    -------
    sympy.Expr or tuple of sympy.Expr
        The derived expression(s), in the symbols of this module.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.optimal_weight().subs({sgw.nr: 1, sgw.M: 1}).simplify()
    -1/2 + sqrt(5)/2
    """
    D_ = weighted_fixed_point()[1].subs({ddof: 1, b: 1})
    num = sp.numer(sp.together(sp.diff(D_, w)))
    roots = sp.solve(sp.Eq(num, 0), w)
    rho = sp.Rational(1, 3)
    good = [r for r in roots if 0 < r.subs({nr: rho, M: 1}) < 1]
    return sp.simplify(good[0])


def mix_fixed_real_recursion() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``(s_{t+1}, G_{t+1}, H_{t+1})`` of mix with a reused real set R (mean rbar, sum of
    squares SS_R): e_t = mu_t - rbar, G = E e_t^2, H = E[e_t (rbar - mu0)], E SS_R =
    (n_r - 1) sigma0^2. The pool of R and n_s draws from N(mu, b sigma^2) has
    SS = SS_R + SS_synth + (n_r n_s/N) (ybar - rbar)^2 and mean rbar + a (ybar - rbar).

    Returns
    -------
    tuple of sympy.Expr
        The three right-hand sides, in s, D (standing for G), H = ``sgw.H``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.mix_fixed_real_recursion()[2]
    H*n_s/(n_r + n_s)
    """
    sig2 = sp.Symbol("sig2", positive=True)
    e = sp.Symbol("e", real=True)
    Ntot = nr + ns
    ss_syn, ybar_mean, ybar_var = expected_ss([(ns, e, b * sig2)])  # measured from rbar
    ess = (nr - 1) * s0 + ss_syn + nr * ns / Ntot * (ybar_var + ybar_mean**2)
    s_next = sp.expand(ess).subs(e**2, D).subs(sig2, s) / (Ntot - ddof)
    a = ns / Ntot
    G_next = sp.expand(a**2 * (ybar_var + ybar_mean**2)).subs(e**2, D).subs(sig2, s)
    H_next = a * H  # E[(ybar - rbar)(rbar - mu0)] = E[e (rbar - mu0)]: the noise is independent
    return sp.simplify(s_next), sp.simplify(G_next), H_next

