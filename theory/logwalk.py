"""The law of a log-gamma random walk: Gil-Pelaez inversion in the bulk, saddle-point contour
integrals in the tails (the Gaussian law engine).

The walk is ``S_n = sum_{i<=n} [log(G_i / a) + c]`` with ``G_i ~ Gamma(a, 1)`` i.i.d., ``a > 0``
and a real shift ``c``. The log-variance of the 1-D Gaussian refit is such a walk
(``log(sigma_n^2 / sigma_0^2)``, ``a = (M - 1)/2``, ``c = log((M - 1)/(M - ddof))``), and so is
each Bartlett factor of a refit covariance matrix. The cumulant generating function of one step
is ``K(u) = u c + log Gamma(a + u) - log Gamma(a) - u log a`` (convex, defined for ``u > -a``)
and the characteristic function of ``S_n`` is ``exp(n K(i t))``.

- :func:`cdf_parts` -- ``P(S_n <= x)`` and ``P(S_n > x)``, each relatively accurate;
- :func:`log_cdf_parts` -- their logarithms, finite far beyond the range of float64;
- :func:`quantile` -- quantiles of ``S_n``, for levels down to 1e-300 on either side.

Method. A point is in the bulk or in a tail according to the saddle point ``c`` of
``n K(c) - c x`` (``n K'(c) = x``) and the signed root ``w = sign(c) sqrt(2 L)`` of the
Chernoff exponent ``L = c x - n K(c)``: the bulk is ``|w| < 2.5`` (both probabilities above
about 0.005), the rest are tails.

*Bulk.* ``n = 1`` is a gamma cdf (scipy's ``gammainc``/``gammaincc``, for ``a <= 5e5``).
Otherwise the standardised ``Y = (S_n - E S_n) / sd(S_n)`` is inverted by the Gil-Pelaez
formula with a midpoint rule,
``F(y) = 1/2 - (1/pi) sum_{k>=0} Im(e^{-i s_k y} phi_Y(s_k)) / (k + 1/2)``, ``s_k = (k + 1/2) h``.
That sum equals ``P(Y in (y - 2 pi/h, y))`` plus shifted copies (period ``4 pi/h``), so its error
is the tail mass outside a window; ``h = 2 pi / width`` with a window holding all but 1e-14 of
the mass on each side, located by Chernoff bounds (which also handle the heavy left tail
``e^{a x}`` of small ``a`` exactly). The sum stops where ``|phi_Y| < 1e-15``. Its absolute
error (about 4e-16) is at most about 1e-13 relative to either probability in the bulk.

*Tails.* For any ``c`` in ``(-a, 0)``, closing the Bromwich integral of the distribution
function gives exactly
``P(S_n <= x) = e^(-L) (1/pi) int_0^inf Re[e^(n (K(c+it) - K(c)) - i t x) / (-(c + it))] dt``
(and ``P(S_n > x)`` the same with ``c > 0`` and ``1/(c + it)``). Along the vertical line
through the saddle point the integrand neither oscillates nor cancels near ``t = 0``: it is
the characteristic function of the exponentially tilted walk, whose steps are again log-gamma
(shape ``b = a + c``), times a smooth factor, so ``n (K(c+it) - K(c))`` comes from
:func:`~modelcollapse.theory.special.lgamma_ratio_imag` ``(b, t)`` and the integral is of
order one whatever the size of the probability. It is summed by the trapezoid rule, whose
error is ``exp(-2 pi d / h)`` times the growth of the integrand at distance ``d`` from the
line; the step ``h`` is chosen against the growth towards the pole of ``1/z`` at 0 (residue
``e^L``), the poles of ``Gamma(a + z)`` from ``z = -a`` on, and the Gaussian growth
``e^(n K''(c) d^2/2)``, for a tolerance ``e^(-37)``. ``L`` is evaluated as
``c (x - E S_n) - n Kc(c)`` with the centred ``Kc(c) = log Gamma(a+c) - log Gamma(a) - c psi(a)``
(:func:`~modelcollapse.theory.special.lgamma_ratio_centered`), which does not cancel. This is
the steepest-descent integral behind the Lugannani-Rice formula, evaluated instead of
expanded. Three variants cover what the trapezoid rule would need too many nodes for
(more than 2^17): ``n = 1`` in the left tail with ``e^(x - c) <= 1/2`` uses the series of the
incomplete gamma function (in logs); far left tails use the residue of
``e^(n K(z) - z x)/(-z)`` at its pole ``z = -a`` of order ``n`` (the other poles contribute
about ``e^(-60)`` relatively or less there); what is left (nearly Gaussian tilted walks,
``-log P`` above about 1e9) uses the second-order Lugannani-Rice formula, whose relative error
(below 1e-9 there) is then below 1e-18 relative to ``log P``.

Accuracy, measured against mpmath (the same Bromwich integral by tanh-sinh quadrature at 30
digits, the regularised incomplete gamma function for ``n = 1``, the convolution integral for
``n = 2``): relative error of the tail probabilities below ``2e-13 + 4 kappa eps`` in the
tails, where ``kappa = |x| f(x)/P`` is the condition number of the probability (``f`` the
density, ``eps = 2^-52``) -- the part of the error due to rounding ``x`` itself, which matters
for large ``n`` only (``kappa eps`` is about 2e-12 at ``n = 1e6``, ``M = 2``, ``P = 1e-223``);
below about 1e-13 relative in the bulk. Quantiles invert the logarithm of the tail
probability by Newton's method on ``log(-log P)`` along the saddle-point parametrisation.

This module uses NumPy/SciPy only.

References
----------
.. [1] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.
.. [2] R. Lugannani and S. Rice, "Saddle point approximation for the distribution of the sum
   of independent random variables", Adv. Appl. Probab. 12 (1980), 475-490.
.. [3] H. E. Daniels, "Tail probability approximations", Int. Statist. Rev. 55 (1987), 37-48.
.. [4] L. N. Trefethen and J. A. C. Weideman, "The exponentially convergent trapezoidal rule",
   SIAM Review 56 (2014), 385-458.

Examples
--------
With ``a = 1`` and ``c = 0`` a step is ``log G``, ``G ~ Exp(1)``, and
``P(G_1 G_2 <= y) = 1 - 2 sqrt(y) K_1(2 sqrt(y))`` (``K_1`` a modified Bessel function):

>>> from scipy import special
>>> from modelcollapse.theory import logwalk
>>> cdf, sf = logwalk.cdf_parts(2, 1.0, 0.0, 0.0)
>>> round(float(cdf), 12), round(float(1 - 2 * special.k1(2.0)), 12)
(0.720268236367, 0.720268236367)

Far in the tail, where ``2 sqrt(y) K_1(2 sqrt(y)) = 1 - cdf`` no longer has a digit:

>>> import math
>>> cdf, sf = logwalk.cdf_parts(2, 1.0, 0.0, 6.0)     # y = e^6
>>> y = math.exp(6.0)
>>> float(sf / (2 * math.sqrt(y) * special.k1(2 * math.sqrt(y))))
1.0000000000000...
>>> float(logwalk.log_cdf_parts(2, 1.0, 0.0, 100.0)[1])   # log P(G_1 G_2 > e^100)
-1.0...e+22
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from .special import (
    lgamma_ratio,
    lgamma_ratio_centered,
    lgamma_ratio_imag,
    psi_diff,
    psi_minus_log,
    stirling_tail,
)

__all__ = ["cdf_parts", "log_cdf_parts", "quantile"]

_DELTA_LOG = math.log(1e-14)  # tail mass (each side) outside the inversion window
_PHI_LOG = math.log(1e-15)  # |phi| below which the Fourier sum is truncated
# scipy's gammainc/gammaincinv lose accuracy in the tails for very large a (measured: 2e-11 at
# a = 1.5e6, 2e-9 at a = 5e6, 2e-7 at a = 5e8, against mpmath); above this a the n = 1 case goes
# through the Fourier inversion too.
_GAMMAINC_MAX_A = 0.5 * (1e6 - 1.0)
_BISECT = 26  # bisection steps for the window ends (any u gives a valid bound)


def _tail_threshold(n, a, psim_a, sd, side: int) -> NDArray[np.float64]:
    """Standardised point y with P(side * Y > |y|) <= exp(_DELTA_LOG), by the Chernoff bound.

    For the centred walk S - n mu, P(side (S - n mu) > x) <= exp(n c(u) - u x) with c the centred
    cumulant generating function of one step at side*u. The smallest valid x for tail mass delta
    is min_u (n c(u) + log(1/delta))/u, attained where n (u c'(u) - c(u)) = log(1/delta); solved
    by bisection (u in (0, inf) on the right, u in (0, a) on the left).
    """
    lam = -_DELTA_LOG
    if side > 0:
        lo = np.full_like(a, -30.0)
        hi = np.full_like(a, 40.0)
    else:
        lo = np.full_like(a, -40.0)
        hi = np.full_like(a, 36.0)  # expit(36) < 1 in float64: u stays below a

    def cgf(w):
        if side > 0:
            u = np.exp(w)
            z = u
        else:
            p = special.expit(w)
            u = a * p
            z = -u
        c = lgamma_ratio(a, z) - z * psim_a
        dc = side * (psi_minus_log(a + z) - psim_a + np.log1p(z / a))
        return u, c, dc

    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        u, c, dc = cgf(mid)
        g = n * (u * dc - c)
        big = g > lam
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
    u, c, dc = cgf(hi)
    x = (n * c + lam) / u
    return side * (x / sd)


def _phi_cutoff(n, a, sd) -> NDArray[np.float64]:
    """s_max with n Re D(a, i s/sd) = log(tol): beyond it |phi_Y(s)| < tol (monotone in s)."""
    lo = np.full_like(a, math.log(0.5))
    hi = np.full_like(a, math.log(400.0))
    for _ in range(18):  # log s to ~3e-5 relative; hi (the conservative end) is returned
        mid = 0.5 * (lo + hi)
        re, _ = lgamma_ratio_imag(a, np.exp(mid) / sd)
        small = n * re < _PHI_LOG
        hi = np.where(small, mid, hi)
        lo = np.where(small, lo, mid)
    return np.exp(hi)


class _LogWalk:
    """Precomputed inversion data for the standardised walk Y = (S_n - n mu)/sqrt(n v), n >= 1."""

    def __init__(self, n, a, c):
        self.n = n
        self.a = a
        self.psim = psi_minus_log(a)
        self.mean = n * (self.psim + c)
        self.sd = np.sqrt(n * special.polygamma(1, a))
        self.y_lo = _tail_threshold(n, a, self.psim, self.sd, -1)
        self.y_hi = _tail_threshold(n, a, self.psim, self.sd, +1)
        width = (self.y_hi - self.y_lo) * 1.02 + 0.5
        self.h = 2.0 * np.pi / width
        smax = _phi_cutoff(n, a, self.sd)
        self.nodes = np.ceil(smax / self.h).astype(np.int64) + 1

    def standardise(self, x):
        return (x - self.mean) / self.sd

    def _phi(self, idx, K):
        """log|phi_Y| and the centred phase at nodes s_k = (k + 1/2) h, k < K."""
        k = np.arange(K, dtype=np.float64) + 0.5
        s = self.h[idx, None] * k
        sd = self.sd[idx, None]
        t = s / sd
        re, im = lgamma_ratio_imag(self.a[idx, None], t)
        n = self.n[idx, None]
        logmod = n * re
        phase = n * (im - self.psim[idx, None] * t)
        return s, logmod, phase, k

    def groups(self, chunk: int = 1 << 19):
        """Index groups of similar node counts, each at most ~chunk nodes in all."""
        order = np.argsort(self.nodes, kind="stable")
        nodes = self.nodes[order]
        start = 0
        while start < order.size:
            K = int(nodes[start])
            Kb = max(8, 1 << int(math.ceil(math.log2(K))))  # power-of-two bucket
            stop = int(np.searchsorted(nodes, Kb, side="right"))
            stop = min(stop, start + max(1, chunk // Kb))
            yield order[start:stop], Kb
            start = stop

    def cdf_sum(self, y):
        """(sum_k Im(e^{-i s_k y} phi_Y(s_k)) / (k+1/2)) / pi, so F = 1/2 - this, S = 1/2 + this."""
        total = np.zeros_like(y)
        for idx, K in self.groups():
            s, logmod, phase, k = self._phi(idx, K)
            terms = np.exp(logmod) * np.sin(phase - s * y[idx, None]) / k
            total[idx] = terms.sum(axis=1) / np.pi
        return total




# --------------------------------------------------------------------------------------------
# The law: bulk and tails together
# --------------------------------------------------------------------------------------------


def _flat(*args: ArrayLike) -> tuple[tuple[int, ...], list[NDArray[np.float64]]]:
    shape = np.broadcast_shapes(*(np.shape(v) for v in args))
    return shape, [np.broadcast_to(np.asarray(v, np.float64), shape).ravel() for v in args]


def _law(n, a, cs, x, logs: bool = True) -> tuple[NDArray[np.float64], ...]:
    """(F, S, log F, log S) at 1-D arrays of (n, a, cs, x): bulk by gammainc or the inversion,
    tails by :func:`_tail`. With ``logs=False`` only F and S are wanted: tails whose Chernoff
    bound e^(-L) is below half the smallest subnormal number are then 0 without computing them
    (and the logs are not filled in there)."""
    F = np.empty(x.shape)
    S = np.empty(x.shape)
    lF = np.empty(x.shape)
    lS = np.empty(x.shape)
    z0 = n == 0
    F[z0] = (x[z0] >= 0.0).astype(np.float64)
    S[z0] = 1.0 - F[z0]
    lo = ~z0 & (x == -np.inf)
    hi = ~z0 & (x == np.inf)
    F[lo], S[lo] = 0.0, 1.0
    F[hi], S[hi] = 1.0, 0.0
    with np.errstate(divide="ignore"):
        for m in (z0, lo, hi):
            lF[m] = np.log(F[m])
            lS[m] = np.log(S[m])
    idx = np.flatnonzero(~z0 & np.isfinite(x))
    if idx.size == 0:
        return F, S, lF, lS
    v = _saddle_v(n[idx], a[idx], cs[idx], x[idx])
    sad = _Saddle(n[idx], a[idx], cs[idx], x[idx], v, accurate=False)
    bulk = np.abs(sad.w) < _TAIL_W
    b_idx = idx[bulk]
    if b_idx.size:
        fb = np.empty(b_idx.size)
        sb = np.empty(b_idx.size)
        gam = (n[b_idx] == 1) & (a[b_idx] <= _GAMMAINC_MAX_A)
        if gam.any():
            j = b_idx[gam]
            g = np.exp(x[j] - cs[j]) * a[j]  # e^x / theta, theta = e^cs / a
            fb[gam] = special.gammainc(a[j], g)
            sb[gam] = special.gammaincc(a[j], g)
        if (~gam).any():
            j = b_idx[~gam]
            walk = _LogWalk(n[j], a[j], cs[j])
            tot = walk.cdf_sum(walk.standardise(x[j]))
            fb[~gam] = np.clip(0.5 - tot, 0.0, 1.0)
            sb[~gam] = np.clip(0.5 + tot, 0.0, 1.0)
        F[b_idx], S[b_idx] = fb, sb
        with np.errstate(divide="ignore"):
            lF[b_idx] = np.where(fb <= sb, np.log(fb), np.log1p(-sb))
            lS[b_idx] = np.where(sb <= fb, np.log(sb), np.log1p(-fb))
    t_idx = idx[~bulk]
    if t_idx.size:
        sub = sad.take(~bulk)
        lt = np.full(sub.c.shape, -np.inf)
        need = np.ones(sub.c.shape, dtype=bool) if logs else ~(sub.L > _UNDERFLOW_L)
        if need.any():
            j = t_idx[need]
            lt[need], _ = _tail(_Saddle(n[j], a[j], cs[j], x[j], v[~bulk][need]))
        left = sub.left
        with np.errstate(under="ignore"):
            small = np.exp(lt)
            other = -np.expm1(lt)
            log_other = np.log1p(-small)
        F[t_idx] = np.where(left, small, other)
        S[t_idx] = np.where(left, other, small)
        lF[t_idx] = np.where(left, lt, log_other)
        lS[t_idx] = np.where(left, log_other, lt)
    return F, S, lF, lS


def cdf_parts(
    n_: ArrayLike, a_: ArrayLike, c_: ArrayLike, x_: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The distribution and survival functions ``(P(S_n <= x), P(S_n > x))`` of the walk.

    ``S_n = sum_{i<=n} [log(G_i / a) + c]``, ``G_i ~ Gamma(a, 1)`` i.i.d. (see the module
    docstring for the method and its accuracy); all arguments broadcast. ``n = 0``: the point
    mass at 0. In the bulk (both probabilities above about 0.005): the regularised incomplete
    gamma function for ``n = 1``, ``a <= 5e5``, the Gil-Pelaez midpoint sum otherwise. In the
    tails: the exact contour integral through the saddle point (or its series, residue and
    Lugannani-Rice variants), so that the smaller of the two probabilities is relatively
    accurate down to the smallest subnormal number, and 0 only below it.

    Parameters
    ----------
    n_ : int or array_like
        Number of steps, integer >= 0 (not validated here: the callers validate).
    a_ : float or array_like
        Gamma shape ``a > 0`` of each step (``(M - 1)/2`` for the Gaussian refit).
    c_ : float or array_like
        Real shift ``c`` added to each step (``log((M - 1)/(M - ddof))`` for the Gaussian
        refit).
    x_ : float or array_like
        Real point(s) at which the law is evaluated (``-inf`` and ``inf`` allowed).

    Returns
    -------
    cdf, sf : ndarray
        float64 arrays of the broadcast shape (0-d for scalar input), in ``[0, 1]``:
        ``P(S_n <= x)`` and ``P(S_n > x)``, each computed directly (``sf`` is not ``1 - cdf``):
        the smaller one has a relative error below ``2e-13 + 4 kappa eps`` (module docstring).

    References
    ----------
    .. [1] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.
    .. [2] R. Lugannani and S. Rice, "Saddle point approximation for the distribution of the
       sum of independent random variables", Adv. Appl. Probab. 12 (1980), 475-490.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.logwalk import cdf_parts
    >>> cdf, sf = cdf_parts([0, 1, 2, 10], 1.5, 0.0, 0.3)
    >>> np.round(cdf, 8), np.round(sf, 8)
    (array([1.        , 0.74383971, 0.76944309, 0.91155935]),
     array([0.        , 0.25616029, 0.23055691, 0.08844065]))
    >>> cdf, _ = cdf_parts(1, 1.0, 0.0, 0.0)      # one step: P(G <= 1) = 1 - 1/e, G ~ Exp(1)
    >>> round(float(cdf), 12)
    0.632120558829
    >>> cdf, _ = cdf_parts(2, 49.5, np.log(0.99), np.log(0.01))   # a tail: relative accuracy
    >>> float(cdf)
    1.68530872073...e-61
    """
    shape, (n, a, c, x) = _flat(n_, a_, c_, x_)
    F, S, _, _ = _law(n, a, c, x, logs=False)
    return F.reshape(shape), S.reshape(shape)


def log_cdf_parts(
    n_: ArrayLike, a_: ArrayLike, c_: ArrayLike, x_: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The logarithms ``(log P(S_n <= x), log P(S_n > x))`` of the walk's two tails.

    As :func:`cdf_parts`, but returning logarithms, which stay finite (and relatively accurate)
    where the probabilities underflow: far in the tails ``-log P`` is about the Chernoff
    exponent ``L = c x - n K(c)`` and can be as large as float64 allows. The larger of the two
    probabilities is given as ``log1p(-smaller)``.

    Parameters
    ----------
    n_ : int or array_like
        Number of steps, integer >= 0 (not validated here: the callers validate).
    a_ : float or array_like
        Gamma shape ``a > 0`` of each step.
    c_ : float or array_like
        Real shift ``c`` added to each step.
    x_ : float or array_like
        Real point(s) (``-inf`` and ``inf`` allowed).

    Returns
    -------
    log_cdf, log_sf : ndarray
        float64 arrays of the broadcast shape (0-d for scalar input), ``<= 0``; ``-inf`` only
        where the probability is 0 (``n = 0``, ``x = -inf``) or below ``exp(-1.8e308)``.

    References
    ----------
    .. [1] H. E. Daniels, "Tail probability approximations", Int. Statist. Rev. 55 (1987),
       37-48.

    Examples
    --------
    >>> from modelcollapse.theory.logwalk import log_cdf_parts
    >>> lcdf, lsf = log_cdf_parts(3, 0.5, 0.0, -2000.0)   # P(S_3 <= -2000) is about e^-1000
    >>> float(lcdf), float(lsf)
    (-987.552662034..., -0.0)
    """
    shape, (n, a, c, x) = _flat(n_, a_, c_, x_)
    _, _, lF, lS = _law(n, a, c, x)
    return lF.reshape(shape), lS.reshape(shape)


def _subset(walk: _LogWalk, mask: NDArray[np.bool_]) -> _LogWalk:
    sub = object.__new__(_LogWalk)
    for key, val in vars(walk).items():
        setattr(sub, key, val[mask])
    return sub


def quantile(n_: ArrayLike, a_: ArrayLike, c_: ArrayLike, q_: ArrayLike) -> NDArray[np.float64]:
    """The ``q``-quantile of the walk ``S_n``, ``0 < q < 1``, broadcast.

    ``S_n = sum_{i<=n} [log(G_i / a) + c]``, ``G_i ~ Gamma(a, 1)`` i.i.d. (see the module
    docstring). ``n = 0``: 0. For ``0.01 <= q <= 0.99``: ``n = 1`` (``a <= 5e5``)
    ``log(gammaincinv(a, q) / a) + c``; otherwise a vectorised safeguarded Newton iteration on
    the standardised scale, with the Gil-Pelaez cdf and density
    (``f(y) = (h/pi) sum_k Re(e^{-i s_k y} phi_Y(s_k))``), bracketed by the Chernoff window.
    Beyond (``q < 0.01`` or ``q > 0.99``), the tail probability ``p`` (``q`` or ``1 - q``) is
    inverted in logs: Newton's method on ``log(-log P(x(v))) = log(-log p)`` along the
    saddle-point parametrisation ``x(v) = n K'(a e^v - a)`` (nearly linear in ``v`` far out on
    both sides), with the tail methods of :func:`log_cdf_parts`, safeguarded by bisection.

    Parameters
    ----------
    n_ : int or array_like
        Number of steps, integer >= 0 (not validated here: the callers validate).
    a_ : float or array_like
        Gamma shape ``a > 0`` of each step.
    c_ : float or array_like
        Real shift ``c`` added to each step.
    q_ : float or array_like
        Probability level(s), ``0 < q < 1`` (down to the smallest normal number, and up to
        ``1 - 2^-53``).

    Returns
    -------
    ndarray
        float64 array of the broadcast shape (0-d for scalar input): the ``x`` with
        ``P(S_n <= x) = q``.

    Notes
    -----
    In the bulk the iteration stops when the cdf matches ``q`` to 1e-14 or the bracket is
    narrower than ``1e-13 (1 + |y|)`` (at most 100 iterations); in the tails when
    ``log P`` matches ``log p`` to ``1e-15 max(1, |log p|)`` (at most 60 iterations). Measured:
    ``P(S_n <= x_q) / q - 1`` (lower tail) and ``P(S_n > x_q) / (1 - q) - 1`` (upper tail)
    below ``1e-12 + 4 kappa eps`` for ``q`` from 1e-300 to ``1 - 1e-16`` (``kappa`` as in the
    module docstring).

    References
    ----------
    .. [1] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.logwalk import cdf_parts, quantile
    >>> round(float(quantile(1, 1.0, 0.0, 0.5)), 12)   # median of log G, G ~ Exp(1): log log 2
    -0.366512920582
    >>> x = quantile(5, 2.0, 0.1, [0.1, 0.5, 0.9])
    >>> np.round(cdf_parts(5, 2.0, 0.1, x)[0], 10)     # the cdf at the quantiles
    array([0.1, 0.5, 0.9])
    >>> x = quantile(5, 2.0, 0.1, [1e-300, 1 - 1e-16])
    >>> cdf, sf = cdf_parts(5, 2.0, 0.1, x)
    >>> float(cdf[0] / 1e-300), float(sf[1] / (1 - (1 - 1e-16)))
    (1.0000000000..., 1.0000000000...)
    """
    shape, (n, A, C, qq) = _flat(n_, a_, c_, q_)
    logx = np.zeros(n.shape)
    p_small = np.minimum(qq, 1.0 - qq)
    tail = (n >= 1) & (p_small < _Q_TAIL)
    z1 = (n == 1) & (A <= _GAMMAINC_MAX_A) & ~tail
    if z1.any():
        logx[z1] = np.log(special.gammaincinv(A[z1], qq[z1]) / A[z1]) + C[z1]
    z2 = ((n >= 2) | ((n == 1) & (A > _GAMMAINC_MAX_A))) & ~tail
    if z2.any():
        walk = _LogWalk(n[z2], A[z2], C[z2])
        y = _quantile_newton(walk, qq[z2])
        logx[z2] = walk.mean + walk.sd * y
    if tail.any():
        left = qq[tail] < 0.5
        logp = np.where(left, np.log(qq[tail]), np.log1p(-qq[tail]))
        logx[tail] = _tail_quantile(n[tail], A[tail], C[tail], logp, left)
    return logx.reshape(shape)


_Q_TAIL = 0.01


def _tail_quantile(n, a, cs, logp, left) -> NDArray[np.float64]:
    """x with log P(tail at x) = logp, by Newton's method on log(-log P) in the saddle-point
    parameter v = log(b/a) (x = E S_n + n (psi(a e^v) - psi(a))), safeguarded by a bracket in
    the depth u = |v| (P decreases with u). Starts from the Gaussian guess; the inner end of the
    bracket is the point |c| sd(S_n) = 1.5, where P is above 0.01."""
    sign = np.where(left, -1.0, 1.0)
    sd_a = np.sqrt(n * special.polygamma(1, a))
    c_in = sign * 1.5 / sd_a
    c_in = np.where(left, np.maximum(c_in, -0.5 * a), c_in)
    u_in = sign * np.log1p(c_in / a)
    u_out = np.full_like(a, np.inf)
    c0 = sign * np.sqrt(-2.0 * logp) / sd_a
    c0 = np.where(left, np.maximum(c0, -0.9 * a), c0)
    u = np.maximum(sign * np.log1p(c0 / a), 2.0 * u_in)
    target = np.log(-logp)
    active = np.ones(a.shape, dtype=bool)
    for _ in range(60):
        idx = np.flatnonzero(active)
        v = sign[idx] * u[idx]
        sad = _Saddle(n[idx], a[idx], cs[idx], None, v, exact=True)
        lt, dlog = _tail(sad)
        with np.errstate(all="ignore"):
            G = np.log(-lt) - target[idx]
            dG = sign[idx] * dlog * n[idx] * _b_psi1(sad.b) / lt  # dG/du
            step = G / dG
        deep = G > 0
        u_out[idx] = np.where(deep, np.minimum(u_out[idx], u[idx]), u_out[idx])
        u_in[idx] = np.where(deep, u_in[idx], np.maximum(u_in[idx], u[idx]))
        un = u[idx] - step
        lo_b, hi_b = u_in[idx], u_out[idx]
        bad = ~np.isfinite(un) | (un <= lo_b) | (un >= hi_b)
        mid = np.where(np.isfinite(hi_b), 0.5 * (lo_b + hi_b), 2.0 * u[idx] - lo_b + 1.0)
        un = np.where(bad, mid, un)
        done = (np.abs(lt - logp[idx]) <= 1e-15 * np.maximum(1.0, -logp[idx])) | (
            np.abs(un - u[idx]) <= 2e-16 * np.abs(u[idx]))
        u[idx] = np.where(done, u[idx], un)
        active[idx[done]] = False
        if not active.any():
            break
    sad = _Saddle(n, a, cs, None, sign * u, exact=True)
    return sad.x


def _quantile_newton(walk: _LogWalk, q: NDArray[np.float64]) -> NDArray[np.float64]:
    lo = walk.y_lo.copy()
    hi = walk.y_hi.copy()
    y = np.clip(special.ndtri(q), lo, hi)
    cache = []
    for idx, K in walk.groups():
        s, logmod, phase, k = walk._phi(idx, K)
        cache.append((idx, s, np.exp(logmod), phase, k))
    active = np.ones(q.shape, dtype=bool)
    for _ in range(100):
        F = np.empty_like(y)
        f = np.empty_like(y)
        for idx, s, mod, phase, k in cache:
            ang = phase - s * y[idx, None]
            F[idx] = 0.5 - (mod * np.sin(ang) / k).sum(axis=1) / np.pi
            f[idx] = walk.h[idx] / np.pi * (mod * np.cos(ang)).sum(axis=1)
        err = F - q
        below = err < 0
        lo = np.where(below, np.maximum(lo, y), lo)
        hi = np.where(below, hi, np.minimum(hi, y))
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = y - err / f
        ok = (f > 0) & (newton > lo) & (newton < hi)
        step = np.where(ok, newton, 0.5 * (lo + hi))
        done = (np.abs(err) < 1e-14) | (hi - lo < 1e-13 * (1.0 + np.abs(y)))
        active = active & ~done
        y = np.where(active, step, y)
        if not active.any():
            break
    return y


# --------------------------------------------------------------------------------------------
# Tails: the saddle-point line, the incomplete-gamma series, the residue, Lugannani-Rice
# --------------------------------------------------------------------------------------------

_TAIL_W = 2.5  # |w| (signed root of the saddle-point exponent) from which a point is a tail
_LOG_TOL = 37.0  # log(1/tolerance) of the trapezoid rule along the saddle-point line
_NODES_MAX = 1 << 17  # above this many nodes: the residue form (left) or Lugannani-Rice
_SERIES_MAX = 0.5  # n = 1, left tail: the incomplete-gamma series where G/a = e^(x-c) <= this
_RESIDUE_TERMS = 40
_UNDERFLOW_L = 746.0  # P <= e^(-L) (Chernoff) underflows to 0 in float64 beyond this
_EULER = 0.57721566490153286
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _b_psi1(b: NDArray[np.float64]) -> NDArray[np.float64]:
    """b psi'(b) (>= 1), without overflow for tiny b: 1/b + b psi'(b + 1) below 1."""
    small = b < 1.0
    bs = np.where(small, b, 1.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        lo = 1.0 / bs + bs * special.polygamma(1, bs + 1.0)
        hi = b * special.polygamma(1, np.where(small, 1.0, b))
    return np.where(small, lo, np.where(np.isfinite(b), hi, 1.0))


def _saddle_v(n, a, cs, x) -> NDArray[np.float64]:
    """v = log(b/a), b = a + c, where c solves n K'(c) = x: psim(b) + v = x/n - cs.

    psim = psi - log lies in (-1/b, -1/(2b)), so the root lies between the roots of
    v - m = e^(-v)/(2a) and v - m = e^(-v)/a, m = x/n - cs: v = m + W(e^(-m)/(2a)) and
    v = m + W(e^(-m)/a) with Lambert's W, i.e. Wright's omega (written without cancellation
    for large arguments). F(v) = psim(a e^v) + v - m is increasing and concave, so Newton's
    method from the lower end converges monotonically.
    """
    with np.errstate(all="ignore"):
        m = x / n - cs
        la = np.log(a)
        z_lo = -m - la - math.log(2.0)
        z_hi = -m - la
        om_lo = special.wrightomega(z_lo).real
        om_hi = special.wrightomega(z_hi).real
        # m + omega(z) = m + z - log omega(z) where omega is large (z > 1): no cancellation
        lo = np.where(z_lo > 1.0, -la - math.log(2.0) - np.log(om_lo), m + om_lo)
        hi = np.where(z_hi > 1.0, -la - np.log(om_hi), m + om_hi)
        v = lo.copy()
        act = np.arange(v.size)
        for _ in range(100):
            va, aa = v[act], a[act]
            b = aa * np.exp(va)
            ok = np.isfinite(b) & (b > 0)
            f = np.where(ok, psi_minus_log(np.where(ok, b, 1.0)), 0.0) + va - m[act]
            vn = np.clip(va - f / _b_psi1(b), lo[act], hi[act])
            vn = np.where(np.isfinite(vn), vn, va)
            done = np.abs(vn - va) <= 4e-16 * (1.0 + np.abs(va))
            v[act] = vn
            act = act[~done]
            if act.size == 0:
                break
    return v


class _Saddle:
    """The point c of the saddle-point line Re z = c and what the tail methods need there.

    K(u) = u cs + log Gamma(a+u) - log Gamma(a) - u log a is the cumulant generating function
    of one step. For any c in (-a, 0) (left tail) or c > 0 (right tail),
    P(S_n <= x) resp. P(S_n > x) = e^(-L) I with L = c x - n K(c) = c delta - n Kc(c)
    (delta = x - E S_n, Kc the centred K) and I the integral along Re z = c; c is taken at the
    saddle point n K'(c) = x, where L is the Legendre transform (the Chernoff exponent).
    The tilted step is log(G'/a) + cs with G' ~ Gamma(b, 1), b = a + c = a e^v.
    """

    def __init__(self, n, a, cs, x, v, exact: bool = False, accurate: bool = True):
        with np.errstate(all="ignore"):
            self.n, self.a, self.cs, self.v = n, a, cs, v
            self.b = a * np.exp(v)
            self.c = a * np.expm1(v)
            self.psim_a = psi_minus_log(a)
            self.psim_b = psi_minus_log(self.b)
            self.mean = n * (self.psim_a + cs)
            # K'(c) - K'(0) and the centred K(c); where b << a they are written in b = a e^v
            # (a + c would lose the digits of b)
            deep = self.c < -0.5 * a
            if accurate:
                near_dpsi = psi_diff(a, self.c)
                near_kc = lgamma_ratio_centered(a, self.c)
            else:  # enough to tell the bulk from the tails, and cheaper
                near_dpsi = self.psim_b + v - self.psim_a
                near_kc = lgamma_ratio(a, self.c) - self.c * self.psim_a
            self.dpsi = np.where(deep, self.psim_b + v - self.psim_a, near_dpsi)
            kc = np.where(deep, -lgamma_ratio(self.b, -self.c) + self.c * (v - self.psim_a),
                          near_kc)
            if exact:  # x is the point whose saddle is c (the quantile iteration)
                self.delta = n * self.dpsi
                self.x = self.mean + self.delta
                self.r = np.zeros_like(v)
            else:
                self.x = x
                self.delta = x - self.mean
                self.r = n * self.dpsi - self.delta  # n K'(c) - x, 0 at the saddle point
            self.L = self.c * self.delta - n * kc
            self.sd = np.sqrt(n * _b_psi1(self.b) / self.b)
            self.w = np.sign(self.c) * np.sqrt(2.0 * np.maximum(self.L, 0.0))
        self.left = self.c < 0

    def take(self, idx) -> _Saddle:
        sub = object.__new__(_Saddle)
        for key, val in vars(self).items():
            setattr(sub, key, val[idx])
        return sub


def _plan(s: _Saddle) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Step h, cutoff T and node count T/h (float) of the trapezoid rule on the line Re z = c.

    The rule's error is about exp(-2 pi d / h) times the growth of the integrand at distance d
    from the line; the growth towards Re z = c + delta is n Kc_b(delta) (Kc_b: the centred
    cumulant generating function of the tilted step) plus the growth of the factor 1/z. The
    singularities are the pole of 1/z at z = 0 (residue e^L relative to the integral) and the
    poles of Gamma(a + z) from z = -a on. For each side the best of a few distances d is kept
    (fractions of the distance to the nearest singularity and multiples of the Gaussian width);
    T is where n Re log phi_b(T) drops below -40 (minus the log of the standardised scale).
    """
    n, b, ac, L, sd = s.n, s.b, np.abs(s.c), s.L, s.sd
    with np.errstate(all="ignore"):
        dg = math.sqrt(2.0 * _LOG_TOL) / sd
        # down: Re z decreases (towards the Gamma poles at distance b, and z = 0 at c if c > 0)
        dist_down = np.where(s.left, b, np.minimum(b, ac))
        # up: Re z increases (towards z = 0 at distance |c| if c < 0; nothing if c > 0)
        dist_up = np.where(s.left, ac, np.inf)
        h_side = []
        for sign, dist in ((-1.0, dist_down), (1.0, dist_up)):
            best = np.zeros_like(b)
            cands = [f * dist for f in (1 / 64, 1 / 16, 1 / 4, 1 / 2, 3 / 4, 0.9)]
            cands += [np.minimum(f * dg, 0.9 * dist) for f in (0.5, 1.0, 2.0)]
            for d in cands:
                d = np.where(np.isfinite(d), d, dg)
                # a rough growth is enough here: lgamma_ratio is cheap and accurate to 1e-15 d
                k = sign * d
                grow = n * (lgamma_ratio(b, k) - k * s.psim_b) - np.log1p(k / s.c)
                hd = 2.0 * np.pi * d / (_LOG_TOL + np.maximum(grow, 0.0))
                best = np.maximum(best, np.where(np.isfinite(hd), hd, 0.0))
            h_side.append(best)
        pole = 2.0 * np.pi * ac / (_LOG_TOL + np.maximum(L, 0.0))
        h = np.minimum(np.minimum(h_side[0], h_side[1]), pole)
        thr = -40.0 - np.log(np.maximum(1.0, sd * _SQRT2PI))
        lo = np.log(h)
        hi = np.log(np.maximum(400.0 / sd, 400.0))
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            re, _ = lgamma_ratio_imag(b, np.exp(mid))
            small = n * re < thr
            hi = np.where(small, mid, hi)
            lo = np.where(small, lo, mid)
        T = np.exp(hi)
        nodes = T / h
    return h, T, np.where(np.isfinite(nodes), nodes, np.inf)


def _contour(s: _Saddle, h: NDArray[np.float64], nodes: NDArray[np.float64],
             chunk: int = 1 << 19) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log of the tail probability and d(log tail)/dx by the trapezoid rule on Re z = c.

    Tail = e^(-L) I, I = (1/pi) int_0^inf Re[e^(n (K(c+it) - K(c)) - itx) / (-+ (c + it))] dt;
    the density is e^(-L) J, J the same integral without the factor 1/(-+ z). With
    re, im = :func:`~modelcollapse.theory.special.lgamma_ratio_imag` (b, t) the exponent is
    n re + i phi, phi = n (im - t psim(b)) + t r.
    """
    log_t = np.empty_like(s.c)
    dlog = np.empty_like(s.c)
    K = np.ceil(nodes).astype(np.int64) + 1
    order = np.argsort(K, kind="stable")
    Ks = K[order]
    start = 0
    sigma = np.where(s.left, 1.0, -1.0)
    ac = np.abs(s.c)
    while start < order.size:
        kb = max(8, 1 << int(math.ceil(math.log2(int(Ks[start])))))
        stop = int(np.searchsorted(Ks, kb, side="right"))
        stop = min(stop, start + max(1, chunk // kb))
        idx = order[start:stop]
        j = np.arange(kb, dtype=np.float64)
        t = h[idx, None] * j
        re, im = lgamma_ratio_imag(s.b[idx, None], t)
        n = s.n[idx, None]
        phase = n * (im - s.psim_b[idx, None] * t) + s.r[idx, None] * t
        with np.errstate(under="ignore"):
            mod = np.exp(n * re)
        mod[:, 0] *= 0.5
        cos, sin = np.cos(phase), np.sin(phase)
        ci = ac[idx, None]
        integral = (mod * (ci * cos - sigma[idx, None] * t * sin) / (ci * ci + t * t)).sum(1)
        dens = (mod * cos).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_t[idx] = -s.L[idx] + np.log(h[idx] * integral / np.pi)
            dlog[idx] = sigma[idx] * dens / integral
        start = stop
    return log_t, dlog


def _series_n1(s: _Saddle) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """n = 1, left tail: log P(G <= g), g = a e^(x - cs), by the incomplete-gamma series.

    P(G <= g) = e^(-g) g^a / Gamma(a + 1) sum_{k>=0} g^k / ((a+1)...(a+k)) (all terms > 0,
    ratio <= g/a <= 1/2 here). The prefactor is written a (y - expm1(y)) - log(2 pi a)/2 - R(a),
    y = x - cs (R: the Stirling remainder) for a >= 10, so that nothing cancels at large a.
    The density ratio f/F = a / sum.
    """
    a, y = s.a, s.x - s.cs
    with np.errstate(under="ignore"):
        g = np.exp(np.log(a) + y)
        big = a >= 10.0
        ab = np.where(big, a, 10.0)
        pre_big = ab * (y - np.expm1(y)) - 0.5 * np.log(2.0 * np.pi * ab) - stirling_tail(ab)
        pre_small = -g + a * (np.log(a) + y) - special.gammaln(a + 1.0)
        pre = np.where(big, pre_big, pre_small)
        total = np.ones_like(a)
        term = np.ones_like(a)
        for k in range(1, 200):
            term = term * g / (a + k)
            total += term
            if np.all(term <= 1e-17 * total):
                break
    return pre + np.log(total), a / total


def _residue(s: _Saddle) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Left tail from the residue at the pole z = -a (order n) of e^(n K(z) - z x) / (-z).

    P(S_n <= x) is the sum of the residues at z = -a - m, m >= 0 (the contour closed to the
    left); beyond m = 0 they are smaller by about e^(-beta), beta = n (cs - log a) - x. At
    z = -a + w the function is w^(-n) e^(h(w)), h(w) = (w - a) beta + n log Gamma(1 + w)
    - n log Gamma(a) - log(a - w), so the residue is e^(h_0) [w^(n-1)] e^(h(w) - h_0):
    h_1 = beta - n gamma + 1/a, h_k = n (-1)^k zeta(k)/k + 1/(k a^k) (k >= 2); written as
    h_1^(n-1)/(n-1)! sum_j C_j (n-1)...(n-j)/h_1^j with C_j the coefficients of
    exp(sum_{k>=2} h_k w^k). Valid (second value True) where beta > 60 and the sum has
    converged within 40 terms.
    """
    n, a = s.n, s.a
    with np.errstate(all="ignore"):
        beta = n * (s.cs - np.log(a)) - s.x
        h0 = -a * beta - n * special.gammaln(a) - np.log(a)
        h1 = beta - n * _EULER + 1.0 / a
        J = _RESIDUE_TERMS
        hk = [np.zeros_like(a), np.zeros_like(a)] + [
            n * (-1.0) ** k * special.zeta(k, 1.0) / k + 1.0 / (k * a**k) for k in range(2, J + 1)
        ]
        C = [np.ones_like(a)] + [np.zeros_like(a) for _ in range(J)]
        total = np.ones_like(a)
        rho = np.ones_like(a)
        last = np.zeros_like(a)
        for j in range(1, J + 1):
            C[j] = sum(k * hk[k] * C[j - k] for k in range(2, j + 1)) / j
            rho = rho * np.maximum(n - j, 0.0) / h1
            last = C[j] * rho
            total = total + last
        ok = (beta > 60.0) & (h1 > 0) & (total > 0) & (np.abs(last) <= 1e-17 * total)
        out = h0 + (n - 1.0) * np.log(h1) - special.gammaln(n) + np.log(total)
    return out, ok & np.isfinite(out)


def _lugannani_rice(s: _Saddle) -> NDArray[np.float64]:
    """log tail by the second-order Lugannani-Rice formula (Daniels 1987).

    With w = sign(c) sqrt(2 L), u = c sd_b and the standardised cumulants
    l3 = n psi''(b)/sd_b^3, l4 = n psi'''(b)/sd_b^4 of the tilted walk,
    P(S_n > x) = 1 - Phi(w) + phi(w) B and P(S_n <= x) = Phi(w) - phi(w) B,
    B = 1/u - 1/w + (l4/8 - 5 l3^2/24)/u - l3/(2 u^2) - 1/u^3 + 1/w^3;
    in logs, -L - log(2 pi)/2 + log(R(|w|) -+ B), R the Mills ratio. Used only beyond
    _NODES_MAX nodes, where the tilted walk is close to Gaussian.
    """
    with np.errstate(all="ignore"):
        b = s.b
        w = s.w
        u = s.c * s.sd
        l3 = s.n * special.polygamma(2, b) / s.sd**3
        l4 = s.n * special.polygamma(3, b) / s.sd**4
        B = 1 / u - 1 / w + (l4 / 8 - 5 * l3**2 / 24) / u - l3 / (2 * u**2) - 1 / u**3 + 1 / w**3
        mills = math.sqrt(math.pi / 2.0) * special.erfcx(np.abs(w) / math.sqrt(2.0))
        val = np.where(s.left, mills - B, mills + B)
        out = -s.L - 0.5 * math.log(2.0 * math.pi) + np.log(val)
        crude = -s.L - np.log(np.maximum(np.abs(u), 1.0) * _SQRT2PI)
    return np.where(np.isfinite(out), out, crude)


def _tail(s: _Saddle) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log of the tail probability on the side of each point (P(S_n <= x) where c < 0, else
    P(S_n > x)) and its derivative in x, by the first method that applies: the incomplete-gamma
    series (n = 1, left, e^(x - cs) <= 1/2), the trapezoid rule on the saddle-point line (at
    most _NODES_MAX nodes), the residue at z = -a (left), Lugannani-Rice."""
    log_t = np.full(s.c.shape, np.nan)
    dlog = -s.c.copy()  # d log(tail)/dx -> -c in the far tails (envelope theorem)
    todo = np.ones(s.c.shape, dtype=bool)
    with np.errstate(all="ignore"):
        # beyond float64: b or L overflows (the tail is below e^(-1e308))
        gone = ~np.isfinite(s.L) | ~np.isfinite(s.b)
    log_t[gone] = -np.inf
    todo &= ~gone
    ser = todo & (s.n == 1) & s.left & (s.x - s.cs <= math.log(_SERIES_MAX))
    if ser.any():
        log_t[ser], dlog[ser] = _series_n1(s.take(ser))
        todo &= ~ser
    if todo.any():
        idx = np.flatnonzero(todo)
        sub = s.take(idx)
        h, _, nodes = _plan(sub)
        fit = nodes <= _NODES_MAX
        if fit.any():
            lt, dl = _contour(sub.take(fit), h[fit], nodes[fit])
            good = np.isfinite(lt)
            log_t[idx[fit][good]] = lt[good]
            dlog[idx[fit][good]] = dl[good]
            todo[idx[fit][good]] = False
    res = todo & s.left & (s.n >= 2)
    if res.any():
        idx = np.flatnonzero(res)
        lt, ok = _residue(s.take(idx))
        log_t[idx[ok]] = lt[ok]
        todo[idx[ok]] = False
    if todo.any():
        log_t[todo] = _lugannani_rice(s.take(todo))
    return log_t, dlog
