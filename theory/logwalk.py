"""The law of a log-gamma random walk, by Gil-Pelaez Fourier inversion (the Gaussian law engine).

The walk is ``S_n = sum_{i<=n} [log(G_i / a) + c]`` with ``G_i ~ Gamma(a, 1)`` i.i.d., ``a > 0``
and a real shift ``c``. The log-variance of the 1-D Gaussian refit is such a walk
(``log(sigma_n^2 / sigma_0^2)``, ``a = (M - 1)/2``, ``c = log((M - 1)/(M - ddof))``), and so is
each Bartlett factor of a refit covariance matrix. Its characteristic function is
``phi(t) = exp(n [i t (c - log a) + log Gamma(a + i t) - log Gamma(a)])``.

- :func:`cdf_parts` -- ``P(S_n <= x)`` and ``P(S_n > x)``;
- :func:`quantile` -- quantiles of ``S_n``.

Method. ``n = 1`` is a gamma cdf (scipy, for ``a <= 5e5``). Otherwise the standardised
``Y = (S_n - E S_n) / sd(S_n)`` is inverted by the Gil-Pelaez formula with a midpoint rule,
``F(y) = 1/2 - (1/pi) sum_{k>=0} Im(e^{-i s_k y} phi_Y(s_k)) / (k + 1/2)``, ``s_k = (k + 1/2) h``.
That sum equals ``P(Y in (y - 2 pi/h, y))`` plus shifted copies (period ``4 pi/h``), so its error
is the tail mass outside a window; ``h = 2 pi / width`` with a window holding all but 1e-14 of
the mass on each side, located by Chernoff bounds (which also handle the heavy left tail
``e^{a x}`` of small ``a`` exactly). The sum stops where ``|phi_Y| < 1e-15``; the log-gamma
differences come from :mod:`~modelcollapse.theory.special`. Nodes of a whole grid of parameters
are evaluated at once, grouped by node count. Reference: J. Gil-Pelaez, "Note on the inversion
theorem", Biometrika 38 (1951).

This module uses NumPy/SciPy only.

References
----------
.. [1] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.

Examples
--------
With ``a = 1`` and ``c = 0`` a step is ``log G``, ``G ~ Exp(1)``, and
``P(G_1 G_2 <= y) = 1 - 2 sqrt(y) K_1(2 sqrt(y))`` (``K_1`` a modified Bessel function):

>>> from scipy import special
>>> from modelcollapse.theory import logwalk
>>> cdf, sf = logwalk.cdf_parts(2, 1.0, 0.0, 0.0)
>>> round(float(cdf), 12), round(float(1 - 2 * special.k1(2.0)), 12)
(0.720268236367, 0.720268236367)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from .special import lgamma_ratio, lgamma_ratio_imag, psi_minus_log

__all__ = ["cdf_parts", "quantile"]

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


def cdf_parts(
    n_: ArrayLike, a_: ArrayLike, c_: ArrayLike, x_: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The distribution and survival functions ``(P(S_n <= x), P(S_n > x))`` of the walk.

    ``S_n = sum_{i<=n} [log(G_i / a) + c]``, ``G_i ~ Gamma(a, 1)`` i.i.d. (see the module
    docstring); all arguments broadcast. ``n = 0``: the point mass at 0. ``n = 1``
    (``a <= 5e5``): the regularised incomplete gamma function (scipy ``gammainc``/
    ``gammaincc``) at ``a e^(x - c)``. Otherwise the Gil-Pelaez midpoint sum on the
    standardised walk, inside a window that holds all but 1e-14 of the mass on each side (0 or 1
    outside it).

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
        Real point(s) at which the law is evaluated.

    Returns
    -------
    cdf, sf : ndarray
        float64 arrays of the broadcast shape (0-d for scalar input), in ``[0, 1]``:
        ``P(S_n <= x)`` and ``P(S_n > x)``, each computed directly (``sf`` is not
        ``1 - cdf``, so a small tail probability keeps its digits where it comes from
        ``gammaincc``; from the Fourier sum it is known to an absolute ~1e-12).

    Notes
    -----
    The method (midpoint rule of the Gil-Pelaez integral, window from Chernoff bounds,
    truncation where ``|phi_Y| < 1e-15``) is described in the module docstring;
    :func:`modelcollapse.theory.gaussian.collapse_probability` gives its measured accuracy.

    References
    ----------
    .. [1] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.

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
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (n_, a_, c_, x_)))
    n, A, C, x = (
        np.broadcast_to(np.asarray(v, np.float64), shape).ravel() for v in (n_, a_, c_, x_)
    )
    cdf = np.empty(n.shape)
    sf = np.empty(n.shape)
    z0 = n == 0
    cdf[z0] = (x[z0] >= 0.0).astype(np.float64)
    sf[z0] = 1.0 - cdf[z0]
    z1 = (n == 1) & (A <= _GAMMAINC_MAX_A)
    if z1.any():
        a = A[z1]
        with np.errstate(over="ignore"):
            g = np.exp(x[z1] - C[z1]) * a  # e^x / theta, theta = e^c / a
        cdf[z1] = special.gammainc(a, g)
        sf[z1] = special.gammaincc(a, g)
    z2 = (n >= 2) | ((n == 1) & ~z1)
    if z2.any():
        walk = _LogWalk(n[z2], A[z2], C[z2])
        y = walk.standardise(x[z2])
        inside = (y > walk.y_lo) & (y < walk.y_hi)
        c = np.zeros_like(y)
        s = np.zeros_like(y)
        c[y >= walk.y_hi] = 1.0
        s[y <= walk.y_lo] = 1.0
        if inside.any():
            sub = _subset(walk, inside)
            tot = sub.cdf_sum(y[inside])
            c[inside] = np.clip(0.5 - tot, 0.0, 1.0)
            s[inside] = np.clip(0.5 + tot, 0.0, 1.0)
        cdf[z2] = c
        sf[z2] = s
    return cdf.reshape(shape), sf.reshape(shape)


def _subset(walk: _LogWalk, mask: NDArray[np.bool_]) -> _LogWalk:
    sub = object.__new__(_LogWalk)
    for key, val in vars(walk).items():
        setattr(sub, key, val[mask])
    return sub


def quantile(n_: ArrayLike, a_: ArrayLike, c_: ArrayLike, q_: ArrayLike) -> NDArray[np.float64]:
    """The ``q``-quantile of the walk ``S_n``, ``0 < q < 1``, broadcast.

    ``S_n = sum_{i<=n} [log(G_i / a) + c]``, ``G_i ~ Gamma(a, 1)`` i.i.d. (see the module
    docstring). ``n = 0``: 0. ``n = 1`` (``a <= 5e5``): ``log(gammaincinv(a, q) / a) + c``.
    Otherwise a vectorised safeguarded Newton iteration on the standardised scale, with the
    Gil-Pelaez cdf and density (``f(y) = (h/pi) sum_k Re(e^{-i s_k y} phi_Y(s_k))``),
    bracketed by the Chernoff window; accurate for ``1e-10 <= q <= 1 - 1e-10`` (the cdf is
    known to ~1e-12 absolute).

    Parameters
    ----------
    n_ : int or array_like
        Number of steps, integer >= 0 (not validated here: the callers validate).
    a_ : float or array_like
        Gamma shape ``a > 0`` of each step.
    c_ : float or array_like
        Real shift ``c`` added to each step.
    q_ : float or array_like
        Probability level(s), ``0 < q < 1``.

    Returns
    -------
    ndarray
        float64 array of the broadcast shape (0-d for scalar input): the ``x`` with
        ``P(S_n <= x) = q``.

    Notes
    -----
    Newton steps that leave the current bracket are replaced by bisection; the iteration stops
    when the cdf matches ``q`` to 1e-14 or the bracket is narrower than ``1e-13 (1 + |y|)``
    (at most 100 iterations). The Fourier nodes are computed once and reused at every step.

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
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (n_, a_, c_, q_)))
    n, A, C, qq = (
        np.broadcast_to(np.asarray(v, np.float64), shape).ravel() for v in (n_, a_, c_, q_)
    )
    logx = np.zeros(n.shape)
    z1 = (n == 1) & (A <= _GAMMAINC_MAX_A)
    if z1.any():
        logx[z1] = np.log(special.gammaincinv(A[z1], qq[z1]) / A[z1]) + C[z1]
    z2 = (n >= 2) | ((n == 1) & ~z1)
    if z2.any():
        walk = _LogWalk(n[z2], A[z2], C[z2])
        y = _quantile_newton(walk, qq[z2])
        logx[z2] = walk.mean + walk.sd * y
    return logx.reshape(shape)


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
