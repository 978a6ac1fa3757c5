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
           "iid_moment", "expect_groups", "conditional_moments", "truncation_moments",
           "delta_method", "optimal_weight_equation",
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



# --------------------------------------------------------------------------------------------
# second moments (Var sigma^2, E (mu - mu0)^4), truncation's fourth moment, delta method
# --------------------------------------------------------------------------------------------

S = sp.Symbol("S", positive=True)        # sigma_t^2 of the previous model (sigma0^2 = s0)
e = sp.Symbol("e", real=True)            # mu_t - mu0 of the previous model
beta = sp.Symbol("beta", positive=True)  # kurtosis E z^4 / (E z^2)^2 of a synthetic point
P = sp.Symbol("P", positive=True)        # accumulate: points in the pool before the step
tau = sp.Symbol("tau", positive=True)
h, k = sp.symbols("h k", positive=True)


def iid_moment(a: int, c: int, n: sp.Expr, v: sp.Expr, m4: sp.Expr) -> sp.Expr:
    """``E[S1^a S2^c]`` for ``S1 = sum z_i``, ``S2 = sum z_i^2`` over ``n`` iid centred points
    of variance ``v``, third moment 0 and fourth moment ``m4`` (total degree ``a + 2c <= 4``).

    Counting the index patterns of the expanded sums: E S1^2 = E S2 = n v,
    E S1^4 = n m4 + 3 n (n-1) v^2, E S1^2 S2 = E S2^2 = n m4 + n (n-1) v^2, odd degrees 0.

    Parameters
    ----------
    a, c : int
        Powers of S1 and S2.
    n, v, m4 : sympy.Expr
        Count, variance and fourth moment of the points.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.iid_moment(4, 0, sgw.N, 1, 3)
    3*N*(N - 1) + 3*N
    """
    if a + 2 * c > 4:
        raise ValueError(f"degree a + 2c must be <= 4 (got a={a}, c={c})")
    if a % 2:
        return sp.Integer(0)
    table = {(0, 0): sp.Integer(1), (2, 0): n * v, (0, 1): n * v,
             (4, 0): n * m4 + 3 * n * (n - 1) * v**2, (2, 1): n * m4 + n * (n - 1) * v**2,
             (0, 2): n * m4 + n * (n - 1) * v**2}
    return table[(a, c)]


def expect_groups(expr: sp.Expr, groups: list[tuple[sp.Symbol, sp.Symbol, sp.Expr, sp.Expr,
                                                     sp.Expr]]) -> sp.Expr:
    """``E expr`` for a polynomial in the power sums of independent groups of iid points.

    Parameters
    ----------
    expr : sympy.Expr
        Polynomial in the symbols ``S1_g, S2_g`` of the groups.
    groups : list of (S1_g, S2_g, n_g, v_g, m4_g)
        Each group's power-sum symbols, count, variance and fourth moment (see
        :func:`iid_moment`).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> A1, A2 = sp.symbols("A1 A2")
    >>> sgw.expect_groups(A2 - A1**2 / sgw.N, [(A1, A2, sgw.N, 1, 3)]).factor()
    N - 1
    """
    syms = [x for g in groups for x in g[:2]]
    poly = sp.Poly(sp.expand(expr), *syms)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for i, (_, _, n_g, v_g, m4_g) in enumerate(groups):
            term *= iid_moment(powers[2 * i], powers[2 * i + 1], n_g, v_g, m4_g)
        total += term
    return sp.expand(total)


@cache
def conditional_moments(kind: str) -> dict[str, tuple[sp.Expr, ...]]:
    """The one-step conditional moments of ``(sigma'^2, e'^2)``, ``e = mu - mu0``, given the
    previous model ``(S = sigma^2, e)``, derived by expanding the fit in the power sums of its
    points (real points N(mu0, s0), synthetic points of mean mu, variance b S, kurtosis beta).

    ``kind``: ``"mix"`` (n_r real + n_s synthetic points, N = n_r + n_s; replace is n_r = 0),
    ``"weighted"`` (w (n_r real points) + (1 - w) (M synthetic points)), ``"accumulate"`` (pool
    of P points with sum of squares (P - ddof) S joined by M synthetic points).

    Parameters
    ----------
    kind : str
        ``"mix"``, ``"weighted"`` or ``"accumulate"``.

    Returns
    -------
    dict
        ``"mean"``: (E sigma'^2, E e'^2); ``"raw"``: (E sigma'^4, E sigma'^2 e'^2, E e'^4);
        ``"cov"``: (Var sigma'^2, Cov(sigma'^2, e'^2), Var e'^2), polynomials in S and e.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.conditional_moments("mix")["cov"][0].subs({sgw.nr: 0, sgw.beta: 3}).factor()
    2*S**2*b**2*(n_s - 1)/(ddof - n_s)**2
    """
    A1, A2, B1, B2 = sp.symbols("A1 A2 B1 B2")
    v = b * S
    if kind == "mix":
        groups = [(A1, A2, nr, s0, 3 * s0**2), (B1, B2, ns, v, beta * v**2)]
        Ntot = nr + ns
        sum1 = A1 + B1 + ns * e          # sum of (x - mu0)
        sum2 = A2 + B2 + 2 * e * B1 + ns * e**2
        sig = (sum2 - sum1**2 / Ntot) / (Ntot - ddof)
        X = sum1 / Ntot
    elif kind == "weighted":
        groups = [(A1, A2, nr, s0, 3 * s0**2), (B1, B2, M, v, beta * v**2)]
        ss_r = A2 - A1**2 / nr
        ss_s = (B2 + 2 * e * B1 + M * e**2) - (B1 + M * e) ** 2 / M
        sig = w * ss_r / (nr - ddof) + (1 - w) * ss_s / (M - ddof)
        X = w * A1 / nr + (1 - w) * (e + B1 / M)
    elif kind == "accumulate":
        groups = [(B1, B2, M, v, beta * v**2)]
        # the pool has sum of (x - mu) 0 and sum of squares (P - ddof) S; the new points'
        # deviations from mu are the B's
        sig = ((P - ddof) * S + B2 - B1**2 / (P + M)) / (P + M - ddof)
        X = e + B1 / (P + M)
    else:
        raise ValueError(f"kind must be 'mix', 'weighted' or 'accumulate' (got {kind!r})")
    m_s, m_e = (expect_groups(x, groups) for x in (sig, X**2))
    r = tuple(expect_groups(x, groups) for x in (sig**2, sig * X**2, X**4))
    cov = (r[0] - m_s**2, r[1] - m_s * m_e, r[2] - m_e**2)
    return {"mean": (m_s, m_e), "raw": r, "cov": tuple(sp.expand(c) for c in cov)}


@cache
def truncation_moments() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``(E Z^2, E Z^4, beta)`` of the standard normal truncated to ``[-tau, tau]``
    (beta = E Z^4 / (E Z^2)^2, the kurtosis factor).

    ``I_k(tau) = int_{-tau}^{tau} z^{2k} exp(-z^2/2) dz`` by parts:
    ``I_k = (2k-1) I_{k-1} - 2 tau^{2k-1} exp(-tau^2/2)``, ``I_0 = sqrt(2 pi) erf(tau/sqrt 2)``;
    each ``I_k`` is checked by differentiation (``dI_k/dtau = 2 tau^{2k} exp(-tau^2/2)``,
    ``I_k(0) = 0``), then ``E Z^{2k} = I_k / I_0``.

    Returns
    -------
    tuple of sympy.Expr
        In the symbol ``tau``.

    Examples
    --------
    >>> import sympy as sp
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> k2, k4, bt = sgw.truncation_moments()
    >>> sp.limit(bt, sgw.tau, 0)
    9/5
    """
    I_ = [sp.sqrt(2 * sp.pi) * sp.erf(tau / sp.sqrt(2))]
    for j in (1, 2):
        I_.append((2 * j - 1) * I_[-1] - 2 * tau ** (2 * j - 1) * sp.exp(-tau**2 / 2))
    for j, Ij in enumerate(I_):
        if sp.simplify(sp.diff(Ij, tau) - 2 * tau ** (2 * j) * sp.exp(-tau**2 / 2)) != 0 or \
                Ij.subs(tau, 0) != 0:
            raise AssertionError(f"I_{j} is not the antiderivative")
    m2, m4 = I_[1] / I_[0], I_[2] / I_[0]
    return m2, m4, m4 / m2**2


def delta_method() -> tuple[sp.Expr, sp.Expr]:
    """Second-order delta expansions ``(E sqrt(X), E log X)`` in ``m = E X``, ``v = Var X``:
    the Taylor polynomial of degree 2 about m, averaged (E (X - m) = 0, E (X - m)^2 = v).

    Returns
    -------
    tuple of sympy.Expr
        In the symbols ``s`` (standing for m) and ``D`` (standing for v).

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.delta_method()[0]
    -D/(8*s**(3/2)) + sqrt(s)
    """
    x = sp.Symbol("x", real=True)
    out = []
    for f in (sp.sqrt(s + x), sp.log(s + x)):
        taylor = sp.series(f, x, 0, 3).removeO()
        out.append(sp.expand(taylor.subs(x**2, D).subs(x, 0)))
    return out[0], out[1]


@cache
def optimal_weight_equation() -> sp.Expr:
    """The quadratic in ``w`` whose root is the weighted workflow's optimal real weight for any
    ddof and bias: the numerator of dD_inf/dw with h = b (M-1)/(M-ddof) and
    k = b n_r (n_r-1)/((n_r-ddof) M) (D_inf n_r = (w + (1-w)^2 k/(1 - (1-w) h))/(2 - w)).

    Returns
    -------
    sympy.Expr
        Polynomial in ``w``, ``h``, ``k``.

    Examples
    --------
    >>> from modelcollapse.theory.symbolic import gaussian_workflows as sgw
    >>> sgw.optimal_weight_equation().subs({sgw.h: 1, sgw.k: sgw.nr / sgw.M}).factor()
    2*(M*w**2 + n_r*w - n_r)/M
    """
    _, D_ = weighted_fixed_point()
    g_ = (M - 1) / (M - ddof)
    gr = (nr - 1) / (nr - ddof)
    f = sp.simplify(D_ * nr / s0)
    # substitute b = h/g and n_r g_r b / M = k through ddof-free symbols: solve for b and M
    f_hk = (w + (1 - w) ** 2 * k / (1 - (1 - w) * h)) / (2 - w)
    check = sp.simplify(f - f_hk.subs({h: b * g_, k: b * gr * nr / M}))
    if check != 0:
        raise AssertionError("the (h, k) form does not match the weighted fixed point")
    num = sp.numer(sp.together(sp.diff(f_hk, w)))
    return sp.expand(num)
