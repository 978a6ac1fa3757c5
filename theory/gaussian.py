"""Closed forms for the one-dimensional Gaussian "replace" recursion.

Model (Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631, 2024, Theorem 3.1 and its Supplementary Information). Generation 0 is the original
``N(mu_0, sigma_0^2)``; generation ``n`` is the Gaussian fitted after ``n`` rounds of "draw ``M``
points from the current model, refit". The mean is refit by the sample mean and the variance by
``sum (x - xbar)^2 / (M - ddof)`` (``ddof=1`` unbiased, the estimator of the theorem; ``ddof=0``
maximum likelihood). One step from ``(mu, sigma^2)`` is, in law::

    mu'      = mu + sigma Z / sqrt(M)
    sigma'^2 = sigma^2 C / (M - ddof),      Z ~ N(0, 1), C ~ chi2_{M-1}, independent,

so ``sigma_n^2 / sigma_0^2`` is a product of ``n`` i.i.d. factors ``C_i / (M - ddof)`` and
``S_n = log(sigma_n^2 / sigma_0^2)`` is a random walk whose steps are ``log(theta G)``,
``G ~ Gamma(a, 1)``, ``a = (M - 1)/2``, ``theta = 2/(M - ddof)``.

Conventions used throughout: ``sigma2`` is the original variance ``sigma_0^2``; ``M`` is the
number of points drawn per generation (``M >= 2``, ``M > ddof``); ``n >= 0`` generations; every
numeric argument broadcasts with NumPy rules (``ddof`` and ``sigma2`` included) and results are
float64 (a NumPy scalar for scalar input). Schedules ``M_1, ..., M_n`` (``M_i`` points for the fit
that produces generation ``i``) have their own ``*_schedule`` functions, because broadcasting over
``M`` means "a grid of constant sample sizes".

Numerical notes. Everything is evaluated in log space; ``log Gamma(a+z) - log Gamma(a)`` is never
formed as a difference of two large log-gammas: a Stirling expansion written with
``log1p``/``log1p(x) - x`` (after shifting ``a`` up by the recurrence when ``a < 16``) keeps full
relative accuracy for ``M`` up to ``1e9`` and any ``n`` (tested to ``n = 1e6``). Collapse
probabilities come from a vectorised Gil-Pelaez inversion of the characteristic function of the
standardised ``S_n`` (see :func:`collapse_probability`).

References: Shumailov et al. 2024 (Thm 3.1, SI: moments, mean drift, Wasserstein-2);
Bertrand et al. 2023, "On the stability of iterative retraining of generative models on their own
data" (the factor ``alpha(M) = c`` of :func:`std_factor`); Suresh, Thangaraj & Khandavally 2024,
"Rate of model collapse in recursive training" (the survival bound of
:func:`suresh_survival_bound`).

Example
-------
>>> from modelcollapse.theory import gaussian as g
>>> float(g.expected_variance(10, 100))            # ddof=1: constant
1.0
>>> round(float(g.collapse_probability(1, 3, 0.5)), 12)   # n = 1: 1 - exp(-0.5)
0.393469340287
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validate import (
    as_float,
    check_ddof,
    check_generations,
    check_integer,
    check_open_unit,
    check_positive,
    check_sample_size,
)

__all__ = [
    "variance_moment",
    "log_variance_moment",
    "expected_variance",
    "expected_std",
    "expected_log_variance",
    "log_variance_variance",
    "collapse_probability",
    "survival_probability",
    "log_variance_cdf",
    "variance_quantile",
    "log_variance_quantile",
    "mean_drift_mse",
    "expected_w2_squared",
    "marginal_variance",
    "std_factor",
    "log_std_factor",
    "markov_survival_bound",
    "suresh_survival_bound",
    "chernoff_survival_bound",
    "expected_variance_schedule",
    "expected_std_schedule",
    "mean_drift_mse_schedule",
    "expected_w2_squared_schedule",
    "marginal_variance_schedule",
    "polynomial_schedule",
    "w2_leading_order_schedule",
    "w2_bounded",
    "expected_std_approx",
    "log_std_factor_approx",
]

Float = np.float64 | NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# Special-function kernels (private). All keep relative accuracy for huge ``a``.
# --------------------------------------------------------------------------------------------

_A0 = 16.0  # psi(x) - log x: asymptotic series from here on
_A0_LGAMMA = 10.0  # log Gamma: shift a up by Gamma(x+1) = x Gamma(x) until a >= 10, then Stirling
# Stirling coefficients B_{2k} / (2k (2k-1)), k = 1..9 (first omitted term < 2e-19 at |w| >= 10)
_STIRLING = (
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360360.0,
    1.0 / 156.0,
    -3617.0 / 122400.0,
    43867.0 / 244188.0,
)
# psi(x) - log(x) ~ -1/(2x) - sum_k B_{2k} / (2k x^{2k})
_PSI_ASY = (
    -1.0 / 12.0,
    1.0 / 120.0,
    -1.0 / 252.0,
    1.0 / 240.0,
    -1.0 / 132.0,
    691.0 / 32760.0,
    -1.0 / 12.0,
)


def _out(x: NDArray[np.float64]) -> Float:
    """0-d arrays become NumPy scalars; everything float64."""
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _log1pmx(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """log1p(u) - u for real u > -1, relatively accurate near 0 (series for |u| < 0.1)."""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 0.1
    us = np.where(small, u, 0.0)
    acc = np.zeros_like(us)
    for m in range(18, 1, -1):  # sum_{m>=2} (-1)^{m+1} u^m / m, Horner
        acc = us * (((-1.0) ** (m + 1)) / m + acc)
    acc = us * acc
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log1p(np.where(small, 0.0, u)) - np.where(small, 0.0, u)
    return np.where(small, acc, direct)


def _atanmx(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """arctan(v) - v, relatively accurate near 0."""
    small = np.abs(v) < 0.1
    vs = np.where(small, v, 0.0)
    v2 = vs * vs
    acc = np.zeros_like(vs)
    for m in range(9, 0, -1):  # sum_{m>=1} (-1)^m v^{2m+1} / (2m+1)
        acc = v2 * (((-1.0) ** m) / (2 * m + 1) + acc)
    acc = vs * acc
    return np.where(small, acc, np.arctan(v) - v)


def _stirling_tail(w: NDArray) -> NDArray:
    """R(w) = log Gamma(w) - [(w - 1/2) log w - w + log(2 pi)/2] for |w| >= 10 (real/complex)."""
    r = 1.0 / w
    r2 = r * r
    acc = _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        acc = c + r2 * acc
    return r * acc


def _psim_parts(x: ArrayLike):
    """Shared pieces of psi(x) - log(x): (large-x mask, clamped x, asymptotic tail, small x).

    For x >= _A0 the tail is psi(x) - log(x) + 1/(2x) = -1/(12 x^2) + ... from its asymptotic
    series (no cancellation); below, callers use scipy's digamma directly on the small x.
    """
    x = np.asarray(x, dtype=np.float64)
    big = x >= _A0
    xb = np.where(big, x, _A0)
    r2 = 1.0 / (xb * xb)
    acc = _PSI_ASY[-1]
    for c in _PSI_ASY[-2::-1]:
        acc = c + r2 * acc
    return big, xb, r2 * acc, np.where(big, 1.0, x)


def _psim(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """psi(x) - log(x) for x > 0, without cancellation for large x."""
    big, xb, tail, xs = _psim_parts(x)
    return np.where(big, tail - 0.5 / xb, special.digamma(xs) - np.log(xs))


def _psim_plus(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """psi(x) - log(x) + 1/(2x) (= -1/(12 x^2) + ... for large x)."""
    big, _, tail, xs = _psim_parts(x)
    return np.where(big, tail, special.digamma(xs) - np.log(xs) + 0.5 / xs)


def _shift(a: NDArray[np.float64], lowest: NDArray[np.float64]) -> NDArray[np.float64]:
    """Number of recurrence steps so that ``lowest + K >= _A0_LGAMMA``."""
    return np.maximum(0.0, np.ceil(_A0_LGAMMA - lowest))


def _lgamma_ratio(a: NDArray[np.float64], k: NDArray[np.float64]) -> NDArray[np.float64]:
    """D(a, k) = log Gamma(a+k) - log Gamma(a) - k log a for real a > 0, a + k > 0.

    Stirling with A = a + K >= 10:  D(A, k) = A (log1p(k/A) - k/A) + (k - 1/2) log1p(k/A)
    + R(A + k) - R(A); then D(a, k) = D(A, k) + k log1p(K/a) - sum_{j<K} log1p(k/(a+j)).
    """
    a, k = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(k, np.float64))
    K = _shift(a, a + np.minimum(k, 0.0))
    A = a + K
    u = k / A
    d = A * _log1pmx(u) + (k - 0.5) * np.log1p(u) + (_stirling_tail(A + k) - _stirling_tail(A))
    if np.any(K > 0):
        kmax = int(K.max())
        acc = np.zeros_like(d)
        for j in range(kmax):
            on = j < K
            acc += np.where(on, np.log1p(np.where(on, k / (a + j), 0.0)), 0.0)
        d = d + k * np.log1p(K / a) - acc
    return d


def _lgamma_ratio_imag(
    a: NDArray[np.float64], t: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Real and imaginary parts of D(a, i t) = log Gamma(a+it) - log Gamma(a) - i t log a.

    The branch is the continuous one from t = 0 (what the characteristic function needs before
    it is raised to the power n). Errors are relative to the size of each part, so the phase
    error is O(eps t) and the modulus error O(eps t^2): both survive multiplication by n.
    """
    a, t = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(t, np.float64))
    K = _shift(a, a)
    A = a + K
    v = t / A
    lp_re = 0.5 * np.log1p(v * v)
    lp_im = np.arctan(v)
    dR = _stirling_tail(A + 1j * t) - _stirling_tail(A)
    re = (A - 0.5) * lp_re - t * lp_im + dR.real
    im = A * _atanmx(v) + t * lp_re - 0.5 * lp_im + dR.imag
    if np.any(K > 0):
        kmax = int(K.max())
        e = np.zeros_like(re)  # prod (1 + (t/(a+j))^2) - 1, accumulated without cancellation
        ang = np.zeros_like(im)
        for j in range(0, kmax, 2):
            q1 = np.where(j < K, t / (a + j), 0.0)
            q2 = np.where(j + 1 < K, t / (a + j + 1), 0.0)
            for q in (q1, q2):
                w = q * q
                e = e + w + e * w
            # arctan q1 + arctan q2 = arg((1 + i q1)(1 + i q2)); both have the sign of t and
            # modulus < pi/2, so the sum lies in (-pi, pi) and atan2 returns it exactly
            ang += np.arctan2(q1 + q2, 1.0 - q1 * q2)
        re = re - 0.5 * np.log1p(e)
        im = im + t * np.log1p(K / a) - ang
    return re, im


def _log_ratio_factor(M: NDArray[np.float64], ddof: NDArray[np.float64]) -> NDArray[np.float64]:
    """log((M-1)/(M-ddof)) = log1p((ddof-1)/(M-ddof)): the one-step log of E sigma'^2/sigma^2."""
    return np.log1p((ddof - 1.0) / (M - ddof))


def _log_moment_step(M, ddof, k) -> NDArray[np.float64]:
    """log E[(C/(M-ddof))^k] = k log1p((ddof-1)/(M-ddof)) + D((M-1)/2, k)."""
    a = 0.5 * (M - 1.0)
    return k * _log_ratio_factor(M, ddof) + _lgamma_ratio(a, k)


def _mean_log_step(M, ddof) -> NDArray[np.float64]:
    """E log(C/(M-ddof)) = psi(a) + log(2/(M-ddof)) = [psi(a) - log a] + log1p((ddof-1)/(M-ddof)).

    Evaluated as [psi(a) - log a + 1/(2a)] + [log1p(u) - u] + [u - 1/(M-1)], u = (ddof-1)/(M-ddof),
    with u - 1/(M-1) = (M (ddof-2) + 1)/((M-ddof)(M-1)): every bracket is accurate, so the sum
    keeps its relative accuracy even where the two O(1/M) parts cancel (ddof near 2).
    """
    a = 0.5 * (M - 1.0)
    u = (ddof - 1.0) / (M - ddof)
    return (
        _psim_plus(a)
        + _log1pmx(u)
        + (M * (ddof - 2.0) + 1.0) / ((M - ddof) * (M - 1.0))
    )


# --------------------------------------------------------------------------------------------
# Validation helpers (private)
# --------------------------------------------------------------------------------------------


def _nm(n: ArrayLike, M: ArrayLike, ddof: ArrayLike):
    n_ = check_generations(n, "n")
    d_ = check_ddof(ddof, "ddof")
    M_ = check_sample_size(M, d_, "M")
    return n_, M_, d_


def _sigma2(sigma2: ArrayLike) -> NDArray[np.float64]:
    return check_positive(sigma2, "sigma2")


# --------------------------------------------------------------------------------------------
# Moments
# --------------------------------------------------------------------------------------------


def log_variance_moment(
    n: ArrayLike, M: ArrayLike, k: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """log E[(sigma_n^2)^k], finite where the moment itself over- or underflows.

    Formula: k log(sigma2) + n [k log(2/(M-ddof)) + log Gamma(a+k) - log Gamma(a)],
    a = (M-1)/2, real k > -a (the moment is infinite for k <= -a when n >= 1). Evaluated as
    n [k log1p((ddof-1)/(M-ddof)) + D(a, k)], D(a, k) = log Gamma(a+k) - log Gamma(a) - k log a by
    a cancellation-free Stirling form; the one-step value has absolute error ~1e-16 (1 + |k|), so
    the log-moment's is ~n times that (measured: 9e-10 at n = 1e6, a = 1/2; 1e-12 relative at
    M = 1e9).
    Convention: generation 0 is the original N(mu_0, sigma2); ddof=1 unbiased, ddof=0 MLE.
    Reference: Shumailov et al. 2024, Thm 3.1 and SI.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    k_ = as_float(k, "k")
    a = 0.5 * (M_ - 1.0)
    bad = np.broadcast_to(~np.isfinite(k_) | (k_ <= -a), np.broadcast_shapes(k_.shape, a.shape))
    bad = bad & np.broadcast_to(n_ > 0, np.broadcast_shapes(bad.shape, n_.shape))
    if bad.any():
        kb = np.broadcast_to(k_, bad.shape)[bad][:6]
        mb = np.broadcast_to(M_, bad.shape)[bad][:6]
        raise ValueError(f"k must be a finite real > -(M-1)/2 (got k={kb}, M={mb})")
    kk = np.where(k_ > -a, k_, 0.0)  # n = 0 needs no finite moment of the step
    step = _log_moment_step(M_, d_, kk)
    out = k_ * np.log(s2) + np.where(n_ == 0, 0.0, n_ * step)
    return _out(out)


def variance_moment(
    n: ArrayLike, M: ArrayLike, k: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """E[(sigma_n^2)^k] = sigma2^k [2^k Gamma(a+k) / (Gamma(a) (M-ddof)^k)]^n, a=(M-1)/2, k > -a.

    Computed as exp(:func:`log_variance_moment`) (may overflow to inf / underflow to 0 where the
    value is outside float64). Convention: generation 0 = original N(mu_0, sigma2); ddof=1
    unbiased, ddof=0 MLE. Reference: Shumailov et al. 2024, Thm 3.1 and SI.
    """
    with np.errstate(over="ignore"):
        return _out(np.exp(log_variance_moment(n, M, k, ddof=ddof, sigma2=sigma2)))


def expected_variance(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """E sigma_n^2 = sigma2 ((M-1)/(M-ddof))^n, computed as sigma2 exp(n log1p((ddof-1)/(M-ddof))).

    Constant for ddof=1 (unbiased refit), sigma2 (1-1/M)^n for ddof=0 (MLE). Generation 0 is the
    original distribution. Reference: Shumailov et al. 2024, Thm 3.1.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    with np.errstate(over="ignore"):
        return _out(s2 * np.exp(n_ * _log_ratio_factor(M_, d_)))


def log_std_factor(M: ArrayLike, *, ddof: ArrayLike = 1) -> Float:
    """log c, c = sqrt(2/(M-ddof)) Gamma(M/2)/Gamma((M-1)/2) (see :func:`std_factor`).

    Computed as (1/2) log1p((ddof-1)/(M-ddof)) + D(a, 1/2), D(a, k) = log Gamma(a+k) -
    log Gamma(a) - k log a evaluated by a cancellation-free Stirling expansion.
    """
    d_ = check_ddof(ddof, "ddof")
    M_ = check_sample_size(M, d_, "M")
    return _out(_log_moment_step(M_, d_, 0.5))


def std_factor(M: ArrayLike, *, ddof: ArrayLike = 1) -> Float:
    """c = E[sigma_1]/sigma_0 = sqrt(2/(M-ddof)) Gamma(M/2)/Gamma((M-1)/2); E sigma_n = sigma_0 c^n.

    For ddof=1 this is Bertrand et al.'s alpha(M) < 1; c = 1 - 1/(4M) + O(M^-2) for ddof=1 and
    1 + (2 ddof - 3)/(4M) + O(M^-2) in general. Convention: one refit on M points.
    Reference: Bertrand et al. 2023; Shumailov et al. 2024 SI.
    """
    return _out(np.exp(log_std_factor(M, ddof=ddof)))


def expected_std(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """E sigma_n = sqrt(sigma2) c^n, c = :func:`std_factor` (M, ddof); computed as exp(n log c).

    Decays to 0 for every ddof <= 1 (typical collapse) although E sigma_n^2 is constant for
    ddof=1. Generation 0 = original distribution. Reference: Bertrand et al. 2023;
    Shumailov et al. 2024 SI.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    with np.errstate(over="ignore"):
        return _out(np.sqrt(s2) * np.exp(n_ * _log_moment_step(M_, d_, 0.5)))


def expected_log_variance(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """E log sigma_n^2 = log sigma2 + n [psi(a) + log(2/(M-ddof))], a = (M-1)/2.

    The bracket (< 0 for ddof <= 1) is evaluated as [psi(a) - log a] + log1p((ddof-1)/(M-ddof))
    with an asymptotic series for psi(a) - log a at large a, so no digits are lost for M up to
    1e9. log sigma_n^2 is a random walk: sigma_n -> 0 almost surely.
    Reference: Shumailov et al. 2024, Thm 3.1 and SI.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    return _out(np.log(s2) + n_ * _mean_log_step(M_, d_))


def log_variance_variance(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """Var log sigma_n^2 = n psi'((M-1)/2) (trigamma), independent of ddof and sigma2.

    Generation 0 has variance 0. Reference: Shumailov et al. 2024, SI.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    _sigma2(sigma2)
    a = 0.5 * (M_ - 1.0)
    shape = np.broadcast_shapes(n_.shape, M_.shape, d_.shape, np.shape(sigma2))
    return _out(np.broadcast_to(n_ * special.polygamma(1, a), shape))


# --------------------------------------------------------------------------------------------
# Mean drift, Wasserstein-2, marginal variance
# --------------------------------------------------------------------------------------------


def _geometric_sum(n: NDArray, log_r: NDArray) -> NDArray:
    """sum_{i<n} r^i = expm1(n log r) / expm1(log r) (= n when r = 1)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = np.expm1(n * log_r) / np.expm1(log_r)
    return np.where(log_r == 0.0, n, np.where(n == 0, 0.0, g))


def mean_drift_mse(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """E (mu_n - mu_0)^2 = (sigma2/M) sum_{i<n} r^i, r = (M-1)/(M-ddof).

    = n sigma2 / M for ddof=1 (a random walk of the mean); = sigma2 (1 - (1-1/M)^n) for ddof=0.
    The geometric sum is expm1(n log r)/expm1(log r) with log r = log1p((ddof-1)/(M-ddof)).
    Generation 0 = original distribution. Reference: Shumailov et al. 2024, SI.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    return _out(s2 / M_ * _geometric_sum(n_, _log_ratio_factor(M_, d_)))


def _scaled_expm1(log_scale: NDArray, x: NDArray) -> NDArray:
    """exp(log_scale) * expm1(x) for x >= 0 without 0 * inf (exp(log_scale + x) - exp(log_scale)
    where x >= 1, which has no cancellation there)."""
    with np.errstate(over="ignore", invalid="ignore"):
        small = x < 1.0
        prod = np.exp(log_scale) * np.expm1(np.where(small, x, 0.0))
        diff = np.exp(log_scale + x) - np.exp(log_scale)
    return np.where(small, prod, diff)


def _w2_scale_part(n: NDArray, M: NDArray, ddof: NDArray) -> NDArray:
    """(E sigma_n^2 - 2 sigma_0 E sigma_n + sigma_0^2) / sigma_0^2 = E (sigma_n/sigma_0 - 1)^2.

    Written as c^{2n} expm1(-2 n D(a, 1/2)) + expm1(n log c)^2: both terms are >= 0 and each is
    accurate, since log r - 2 log c = -2 D(a, 1/2) exactly (Jensen gap, independent of ddof).
    """
    a = 0.5 * (M - 1.0)
    d_half = _lgamma_ratio(a, np.full_like(a, 0.5))
    log_c = 0.5 * _log_ratio_factor(M, ddof) + d_half
    with np.errstate(over="ignore"):
        return _scaled_expm1(2.0 * n * log_c, -2.0 * n * d_half) + np.expm1(n * log_c) ** 2


def expected_w2_squared(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """Exact E W2^2 between generation n and generation 0 (both Gaussian).

    W2^2 = (mu_n - mu_0)^2 + (sigma_n - sigma_0)^2, so
    E W2^2 = E(mu_n - mu_0)^2 + E sigma_n^2 - 2 sigma_0 E sigma_n + sigma_0^2
           = mean_drift_mse + sigma2 [c^{2n} expm1(n (log r - 2 log c)) + (c^n - 1)^2],
    r = (M-1)/(M-ddof), c = std_factor. Leading order (3/2) sigma2 n / M for large M.
    For ddof=0 the conservation law gives E W2^2 = 2 sigma_0 (sigma_0 - E sigma_n) -> 2 sigma2.
    Reference: Shumailov et al. 2024, SI (Wasserstein-2 distance).
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    drift = _geometric_sum(n_, _log_ratio_factor(M_, d_)) / M_
    return _out(s2 * (drift + _w2_scale_part(n_, M_, d_)))


def marginal_variance(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """Var X^n = E sigma_n^2 + E(mu_n - mu_0)^2 for a sample X^n of generation n.

    = sigma2 (1 + n/M) for ddof=1; exactly sigma2 for ddof=0 (the MLE conserves the second moment
    about mu_0). Reference: Shumailov et al. 2024, SI.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    lr = _log_ratio_factor(M_, d_)
    with np.errstate(over="ignore"):
        return _out(s2 * (np.exp(n_ * lr) + _geometric_sum(n_, lr) / M_))


# --------------------------------------------------------------------------------------------
# Law of log sigma_n^2: Gil-Pelaez inversion
# --------------------------------------------------------------------------------------------

_DELTA_LOG = math.log(1e-14)  # tail mass (each side) outside the inversion window
_PHI_LOG = math.log(1e-15)  # |phi| below which the Fourier sum is truncated
# scipy's gammainc/gammaincinv lose accuracy in the tails for very large a (measured: 2e-11 at
# M = 3e6, 2e-9 at M = 1e7, 2e-7 at M = 1e9, against mpmath); above this M the n = 1 case goes
# through the Fourier inversion too.
_GAMMAINC_MAX_M = 1e6
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
        c = _lgamma_ratio(a, z) - z * psim_a
        dc = side * (_psim(a + z) - psim_a + np.log1p(z / a))
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
        re, _ = _lgamma_ratio_imag(a, np.exp(mid) / sd)
        small = n * re < _PHI_LOG
        hi = np.where(small, mid, hi)
        lo = np.where(small, lo, mid)
    return np.exp(hi)


class _LogWalk:
    """Precomputed inversion data for the standardised walk Y = (S_n - n mu)/sqrt(n v), n >= 2."""

    def __init__(self, n, M, ddof):
        self.n = n
        self.a = a = 0.5 * (M - 1.0)
        self.psim = _psim(a)
        self.mean = n * (self.psim + _log_ratio_factor(M, ddof))
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
        re, im = _lgamma_ratio_imag(self.a[idx, None], t)
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


def _check_eps(eps: ArrayLike, name: str = "eps") -> NDArray[np.float64]:
    return check_positive(eps, name)


def _log_cdf_parts(n_, M_, d_, x_):
    """(cdf, survival) of S_n = log(sigma_n^2/sigma_0^2) at x, broadcast, float64 arrays."""
    shape = np.broadcast_shapes(n_.shape, M_.shape, d_.shape, x_.shape)
    n, M, d, x = (np.broadcast_to(v, shape).ravel() for v in (n_, M_, d_, x_))
    cdf = np.empty(n.shape)
    sf = np.empty(n.shape)
    z0 = n == 0
    cdf[z0] = (x[z0] >= 0.0).astype(np.float64)
    sf[z0] = 1.0 - cdf[z0]
    z1 = (n == 1) & (M <= _GAMMAINC_MAX_M)
    if z1.any():
        a = 0.5 * (M[z1] - 1.0)
        with np.errstate(over="ignore"):
            g = np.exp(x[z1]) * 0.5 * (M[z1] - d[z1])  # x / theta
        cdf[z1] = special.gammainc(a, g)
        sf[z1] = special.gammaincc(a, g)
    z2 = (n >= 2) | ((n == 1) & ~z1)
    if z2.any():
        walk = _LogWalk(n[z2], M[z2], d[z2])
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


def log_variance_cdf(n: ArrayLike, M: ArrayLike, x: ArrayLike, *, ddof: ArrayLike = 1) -> Float:
    """P(log(sigma_n^2 / sigma_0^2) <= x) for real x (any size; see :func:`collapse_probability`).

    Equal to collapse_probability(n, M, exp(x)) but usable where exp(x) would under/overflow.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    x_ = as_float(x, "x")
    return _out(_log_cdf_parts(n_, M_, d_, x_)[0])


def collapse_probability(
    n: ArrayLike, M: ArrayLike, eps: ArrayLike, *, ddof: ArrayLike = 1
) -> Float:
    """P(sigma_n^2 <= eps sigma_0^2): probability that generation n has collapsed below eps.

    ``eps`` is a ratio of VARIANCES (P(sigma_n <= 0.1 sigma_0) uses eps = 0.01).
    S = log(sigma_n^2/sigma_0^2) is a sum of n i.i.d. log(theta G), G ~ Gamma(a, 1), a=(M-1)/2,
    theta = 2/(M-ddof), with characteristic function
    phi(t) = exp(n [i t log theta + log Gamma(a+it) - log Gamma(a)]).
    n = 0: 1 if eps >= 1 else 0. n = 1, M <= 1e6: the gamma cdf P(G <= eps/theta) (scipy
    gammainc; for larger M scipy's gammainc is off by up to 2e-7 in the tails, so the inversion
    below is used). n >= 2: Gil-Pelaez on the standardised Y = (S - E S)/sd(S),
    F(y) = 1/2 - (1/pi) sum_{k>=0} Im(e^{-i s_k y} phi_Y(s_k)) / (k + 1/2), s_k = (k + 1/2) h.
    This midpoint rule equals P(Y in (y - 2pi/h, y)) plus shifted copies (period 4pi/h), so its
    error is the tail mass beyond the window; h = 2pi / (window width) where the window holds all
    but 1e-14 of the mass on each side, located by Chernoff bounds (a heavy left tail e^{a x}
    for small a is accounted for exactly). The sum stops where |phi_Y| < 1e-15; log Gamma
    differences use a cancellation-free Stirling form. Points outside the window return 0/1.
    Absolute error measured <= 4e-16 against mpmath (n from 1 to 1e6, M from 2 to 1e9, deep
    left tails included) and within the 3e-11 accuracy of a scipy quad reference at 400 random
    points; a 100 x 100 (M, n) grid takes ~0.3-0.6 s on one core.
    Vectorised: the nodes for a whole grid are evaluated at once, grouped by node count.
    Convention: generation 0 = original; ddof=1 unbiased, ddof=0 MLE.
    Reference: Shumailov et al. 2024, Thm 3.1 (sigma_n -> 0 a.s.); Gil-Pelaez 1951.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    e_ = _check_eps(eps)
    return _out(_log_cdf_parts(n_, M_, d_, np.log(e_))[0])


def survival_probability(
    n: ArrayLike, M: ArrayLike, eps: ArrayLike, *, ddof: ArrayLike = 1
) -> Float:
    """P(sigma_n^2 > eps sigma_0^2) = 1 - collapse_probability, evaluated directly.

    n = 1 (M <= 1e6) uses the upper regularised gamma function (scipy gammaincc, relative
    accuracy);
    n >= 2 uses 1/2 + (1/pi) sum_k Im(...)/(k+1/2) from the same Gil-Pelaez sum (absolute
    error ~1e-12; values below that are not relatively accurate). eps is a variance ratio.
    Convention: generation 0 = original; ddof=1 unbiased, ddof=0 MLE.
    Reference: Shumailov et al. 2024; Suresh et al. 2024 (the survival view).
    """
    n_, M_, d_ = _nm(n, M, ddof)
    e_ = _check_eps(eps)
    return _out(_log_cdf_parts(n_, M_, d_, np.log(e_))[1])


def log_variance_quantile(
    n: ArrayLike, M: ArrayLike, q: ArrayLike, *, ddof: ArrayLike = 1
) -> Float:
    """q-quantile of S_n = log(sigma_n^2 / sigma_0^2), q in (0, 1); finite where sigma_n^2
    underflows.

    n = 0: 0. n = 1, M <= 1e6: log(theta gammaincinv(a, q)), theta = 2/(M-ddof), a = (M-1)/2.
    Otherwise:
    vectorised safeguarded Newton iteration on the standardised scale using the Gil-Pelaez cdf
    and density (midpoint rule f(y) = (h/pi) sum_k Re(e^{-i s_k y} phi_Y(s_k))), bracketed by the
    Chernoff window of :func:`collapse_probability`; accurate for 1e-10 <= q <= 1 - 1e-10 (the cdf
    is known to ~1e-12 absolute). Convention: generation 0 = original; ddof=1 unbiased, ddof=0
    MLE. Reference: as :func:`collapse_probability`.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    q_ = check_open_unit(q, "q")
    shape = np.broadcast_shapes(n_.shape, M_.shape, d_.shape, q_.shape)
    n, M, d, qq = (np.broadcast_to(w, shape).ravel() for w in (n_, M_, d_, q_))
    logx = np.zeros(n.shape)
    z1 = (n == 1) & (M <= _GAMMAINC_MAX_M)
    if z1.any():
        a = 0.5 * (M[z1] - 1.0)
        logx[z1] = np.log(special.gammaincinv(a, qq[z1])) + np.log(2.0 / (M[z1] - d[z1]))
    z2 = (n >= 2) | ((n == 1) & ~z1)
    if z2.any():
        walk = _LogWalk(n[z2], M[z2], d[z2])
        y = _quantile_newton(walk, qq[z2])
        logx[z2] = walk.mean + walk.sd * y
    return _out(logx.reshape(shape))


def variance_quantile(
    n: ArrayLike,
    M: ArrayLike,
    q: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
) -> Float:
    """q-quantile of sigma_n^2: the x with P(sigma_n^2 <= x) = q, q in (0, 1).

    x = sigma2 exp(:func:`log_variance_quantile`) (n = 0: sigma2; n = 1: sigma2 theta
    gammaincinv(a, q)); may underflow to 0 for n >> M, where the log version stays finite.
    Convention: generation 0 = original; ddof=1 unbiased, ddof=0 MLE. Reference: as
    :func:`collapse_probability`.
    """
    lq = log_variance_quantile(n, M, q, ddof=ddof)
    s2 = _sigma2(sigma2)
    return _out(s2 * np.exp(lq))


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
# Bounds on the survival probability P(sigma_n^2 > eps sigma_0^2)
# --------------------------------------------------------------------------------------------


def markov_survival_bound(
    n: ArrayLike, M: ArrayLike, eps: ArrayLike, *, ddof: ArrayLike = 1
) -> Float:
    """Markov bound on E sigma_n: P(sigma_n^2 > eps sigma_0^2) <= c^n / sqrt(eps).

    eps is a variance ratio; c = :func:`std_factor`. Unclipped (may exceed 1). This is the
    Chernoff bound at s = 1/2. Reference: Bertrand et al. 2023 (alpha(M) = c for ddof=1).
    """
    n_, M_, d_ = _nm(n, M, ddof)
    e_ = _check_eps(eps)
    with np.errstate(over="ignore"):
        return _out(np.exp(n_ * _log_moment_step(M_, d_, 0.5) - 0.5 * np.log(e_)))


def suresh_survival_bound(n: ArrayLike, M: ArrayLike, eps: ArrayLike) -> Float:
    """Suresh et al.'s bound P(sigma_n^2 > eps sigma_0^2) <= exp(-n/(4M - 1)) / sqrt(eps).

    eps is a variance ratio (their statement is P(sigma_n > eps' sigma_0) <= exp(-n/(4M-1))/eps'
    with eps' = sqrt(eps)). It is Markov's inequality on E sigma_n with c replaced by the upper
    bound exp(-1/(4M-1)); c <= exp(-1/(4M-1)) holds for every ddof <= 1 (log c = -1/(4(M-1)) +
    O(M^-3) for ddof=1; c increases with ddof), checked numerically in the tests for M in
    [2, 1e9]. The weaker exp(-n/(4M)) is then valid too. Unclipped (may exceed 1). No ddof
    argument: the bound is stated for the ddof <= 1 estimators.
    Reference: Suresh, Thangaraj & Khandavally 2024, "Rate of model collapse in recursive
    training".
    """
    n_ = check_generations(n, "n")
    M_ = check_sample_size(M, 1.0, "M")
    e_ = _check_eps(eps)
    with np.errstate(over="ignore"):
        return _out(np.exp(-n_ / (4.0 * M_ - 1.0) - 0.5 * np.log(e_)))


def _chernoff_log(n, M, d, log_eps):
    """min over s > 0 of f(s) = n log m_s - s log eps, with the minimiser (0 if f'(0+) >= 0).

    f is convex (log m_s is a cumulant generating function); f'(s) = n [log r + psi(a+s) -
    log a] - log eps (written with psi(x) - log x and log1p(s/a)). The root of f' is found by
    vectorised bisection on log s (100 steps) between 1e-18 and a safe upper end.
    """
    a = 0.5 * (M - 1.0)
    lr = _log_ratio_factor(M, d)

    def fprime(s):
        return n * (lr + _psim(a + s) + np.log1p(s / a)) - log_eps

    lo = np.full(np.broadcast_shapes(n.shape, a.shape, log_eps.shape), -18.0 * math.log(10.0))
    with np.errstate(divide="ignore"):
        hi = np.log(a) + np.maximum(log_eps / np.where(n > 0, n, 1.0) - lr, 0.0) + 3.0
    hi = np.maximum(hi, lo + 1.0)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        pos = fprime(np.exp(mid)) > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    s = np.exp(0.5 * (lo + hi))
    f = n * _log_moment_step(M, d, s) - s * log_eps
    use = f < 0.0  # otherwise s -> 0+ (the trivial bound 1) is the infimum
    return np.where(use, f, 0.0), np.where(use, s, 0.0)


def chernoff_survival_bound(
    n: ArrayLike, M: ArrayLike, eps: ArrayLike, *, ddof: ArrayLike = 1
) -> Float:
    """Optimised fractional-moment (Chernoff) bound on P(sigma_n^2 > eps sigma_0^2).

    inf over s > 0 of eps^{-s} E[(sigma_n^2/sigma_0^2)^s] = exp(min_s [n log m_s - s log eps]),
    m_s = 2^s Gamma(a+s) / (Gamma(a) (M-ddof)^s). The exponent is convex in s; its minimiser
    solves psi(a+s) = log((M-ddof)/2) + log(eps)/n and is found by vectorised bisection on
    log s. Includes s -> 0, so the value is always <= 1 (clipped by construction) and <= the
    Markov bound (s = 1/2). eps is a variance ratio. Convention: as :func:`collapse_probability`.
    Reference: Chernoff (1952); moments from Shumailov et al. 2024, Thm 3.1.
    """
    n_, M_, d_ = _nm(n, M, ddof)
    e_ = _check_eps(eps)
    logb, _ = _chernoff_log(n_, M_, d_, np.log(e_))
    return _out(np.exp(logb))


# --------------------------------------------------------------------------------------------
# Large-M approximations (clearly approximate)
# --------------------------------------------------------------------------------------------


def log_std_factor_approx(M: ArrayLike, *, ddof: ArrayLike = 1) -> Float:
    """APPROXIMATE log c ~ (2 ddof - 3) / (4M) (leading order in 1/M; -1/(4M) for ddof=1).

    From log c = (1/2) log1p((ddof-1)/(M-ddof)) + log Gamma(a+1/2) - log Gamma(a) - (1/2) log a,
    a = (M-1)/2, and log Gamma(a+1/2) - log Gamma(a) = (1/2) log a - 1/(8a) + O(a^-3).
    """
    d_ = check_ddof(ddof, "ddof")
    M_ = check_sample_size(M, d_, "M")
    return _out((2.0 * d_ - 3.0) / (4.0 * M_))


def expected_std_approx(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> Float:
    """APPROXIMATE E sigma_n ~ sigma_0 exp(-n (3 - 2 ddof) / (4M)) for large M.

    ddof=1: sigma_0 exp(-n/(4M)); ddof=0: sigma_0 exp(-3n/(4M)). Relative error O(n/M^2).
    Use :func:`expected_std` for the exact value. Reference: Bertrand et al. 2023; Suresh et al.
    2024 (collapse after ~M generations).
    """
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    return _out(np.sqrt(s2) * np.exp(-n_ * (3.0 - 2.0 * d_) / (4.0 * M_)))


# --------------------------------------------------------------------------------------------
# Schedules M_1, ..., M_n
# --------------------------------------------------------------------------------------------


def _schedule(Ms: ArrayLike | Sequence[int], ddof: ArrayLike, sigma2: ArrayLike):
    d_ = check_ddof(ddof, "ddof")
    s2 = _sigma2(sigma2)
    arr = as_float(Ms, "Ms")
    if arr.ndim != 1:
        raise ValueError(f"Ms must be a 1-D sequence of sample sizes (got shape {arr.shape})")
    arr = check_integer(arr, "Ms", minimum=2)
    lead = np.broadcast_shapes(d_.shape, s2.shape)
    dd = np.asarray(d_)[..., None]
    if np.any(arr <= dd):
        raise ValueError(f"Ms must be > ddof everywhere (got min(Ms)={arr.min():g}, ddof={d_})")
    return arr, dd, np.asarray(s2)[..., None], lead


def _prepend_zero(x: NDArray) -> NDArray:
    return np.concatenate([np.zeros(x.shape[:-1] + (1,)), x], axis=-1)


def expected_variance_schedule(
    Ms: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """E sigma_i^2 for generations i = 0..n under a schedule: sigma2 prod_{j<=i} (M_j-1)/(M_j-ddof).

    Ms[j-1] = M_j is used for the fit that produces generation j. Returns shape
    broadcast(ddof, sigma2).shape + (len(Ms) + 1,). Reference: Shumailov et al. 2024, SI.
    """
    M, d, s2, lead = _schedule(Ms, ddof, sigma2)
    logs = _prepend_zero(np.cumsum(np.broadcast_to(_log_ratio_factor(M, d), lead + M.shape), -1))
    return s2 * np.exp(logs)


def expected_std_schedule(
    Ms: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """E sigma_i for i = 0..n under a schedule: sigma_0 prod_{j<=i} c(M_j), c = :func:`std_factor`.

    Reference: Bertrand et al. 2023; Shumailov et al. 2024, SI.
    """
    M, d, s2, lead = _schedule(Ms, ddof, sigma2)
    logc = np.broadcast_to(_log_moment_step(M, d, 0.5), lead + M.shape)
    return np.sqrt(s2) * np.exp(_prepend_zero(np.cumsum(logc, -1)))


def mean_drift_mse_schedule(
    Ms: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """E(mu_i - mu_0)^2 for i = 0..n under a schedule: sum_{j<i} E sigma_j^2 / M_{j+1}.

    Reference: Shumailov et al. 2024, SI.
    """
    M, d, s2, lead = _schedule(Ms, ddof, sigma2)
    ev = expected_variance_schedule(Ms, ddof=ddof, sigma2=sigma2)
    return _prepend_zero(np.cumsum(ev[..., :-1] / M, -1))


def expected_w2_squared_schedule(
    Ms: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """Exact E W2^2 between generation i and 0, i = 0..n, under a schedule M_1..M_n.

    E W2^2_i = E(mu_i - mu_0)^2 + sigma2 [C_i^2 expm1(-2 sum_{j<=i} D(a_j, 1/2)) + (C_i - 1)^2],
    C_i = prod_{j<=i} c(M_j), a_j = (M_j - 1)/2, D(a, k) = log Gamma(a+k) - log Gamma(a) - k log a
    (this is E sigma_i^2 - 2 sigma_0 E sigma_i + sigma_0^2 without cancellation).
    Bounded in i iff sum 1/M_j < inf (ddof=1). Reference: Shumailov et al. 2024, SI.
    """
    M, d, s2, lead = _schedule(Ms, ddof, sigma2)
    a = 0.5 * (M - 1.0)
    dhalf = np.broadcast_to(_lgamma_ratio(a, np.full_like(a, 0.5)), lead + M.shape)
    logc = np.broadcast_to(_log_moment_step(M, d, 0.5), lead + M.shape)
    L = _prepend_zero(np.cumsum(logc, -1))
    G = _prepend_zero(np.cumsum(dhalf, -1))
    with np.errstate(over="ignore"):
        scale = _scaled_expm1(2.0 * L, -2.0 * G) + np.expm1(L) ** 2
    drift = mean_drift_mse_schedule(Ms, ddof=ddof, sigma2=sigma2)
    return drift + s2 * scale


def marginal_variance_schedule(
    Ms: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0
) -> NDArray[np.float64]:
    """Var X^i = E sigma_i^2 + E(mu_i - mu_0)^2 for i = 0..n under a schedule.

    Exactly sigma2 for ddof=0 whatever the schedule. Reference: Shumailov et al. 2024, SI.
    """
    return expected_variance_schedule(Ms, ddof=ddof, sigma2=sigma2) + mean_drift_mse_schedule(
        Ms, ddof=ddof, sigma2=sigma2
    )


def polynomial_schedule(M1: int, n: int, power: float) -> NDArray[np.int64]:
    """M_i = round(M1 * i**power) for i = 1..n (power 0 constant, 1 linear, 2 quadratic).

    Returns int64 of length n. Convention: M_i points are drawn for the fit that produces
    generation i. Reference: Shumailov et al. 2024, SI (growing sample sizes).
    """
    m = check_integer(M1, "M1", minimum=2)
    nn = check_integer(n, "n", minimum=0)
    p = as_float(power, "power")
    if m.ndim or nn.ndim or p.ndim:
        raise ValueError("M1, n and power must be scalars")
    if not np.isfinite(p) or p < 0:
        raise ValueError(f"power must be a finite real >= 0 (got {float(p)!r})")
    i = np.arange(1, int(nn) + 1, dtype=np.float64)
    return np.round(float(m) * i ** float(p)).astype(np.int64)


def w2_leading_order_schedule(Ms: ArrayLike, *, sigma2: ArrayLike = 1.0) -> NDArray[np.float64]:
    """APPROXIMATE (large M) E W2^2 at generations i = 1..n: (3/2) sigma2 sum_{j<=i} 1/M_j.

    = (3/2) sigma2 cumsum(1/M_i): length len(Ms) (generation 0, where it is 0, is not included,
    unlike the exact ``*_schedule`` functions). Leading order in 1/M for every ddof (the Nature
    SI form; the 3/(2 M_n) variant on the last term only is wrong at first order).
    Reference: Shumailov et al. 2024, SI.
    """
    M, _, s2, _ = _schedule(Ms, 0.0, sigma2)
    return 1.5 * s2 * np.cumsum(1.0 / M, -1)


def w2_bounded(power: float) -> bool:
    """Whether E W2^2 stays bounded in n for M_i ~ M1 i**power (ddof=1): iff sum 1/M_i < inf,
    i.e. iff power > 1.

    For ddof=1 the mean drift sum_i sigma_0^2/M_i diverges otherwise. For ddof=0 E W2^2 =
    2 sigma_0 (sigma_0 - E sigma_n) is always <= 2 sigma_0^2; it tends to the collapsed value
    2 sigma_0^2 iff prod c(M_i) -> 0 iff sum 1/M_i = inf, i.e. again iff power <= 1.
    Reference: Shumailov et al. 2024, SI.
    """
    p = as_float(power, "power")
    if p.ndim or not np.isfinite(p) or p < 0:
        raise ValueError(f"power must be a finite real >= 0 (got {power!r})")
    return bool(p > 1)
