"""Special-function kernels of the closed forms, accurate where the textbook forms cancel.

Differences of log-gammas and of digammas at large arguments are never formed as differences of
two large numbers: Stirling and asymptotic series written with ``log1p`` and ``log1p(x) - x``
(after shifting small arguments up by the recurrences) keep full relative accuracy for arguments
up to 1e9 and beyond. Every function takes and returns float64 NumPy arrays and broadcasts.

- :func:`log1pmx`, :func:`atanmx` -- ``log1p(u) - u`` and ``arctan(v) - v`` near 0;
- :func:`stirling_tail` -- ``log Gamma(w) - [(w - 1/2) log w - w + log(2 pi)/2]``, real or complex;
- :func:`psi_minus_log`, :func:`psi_minus_log_plus` -- ``psi(x) - log x`` (+ ``1/(2x)``);
- :func:`lgamma_ratio` -- ``log Gamma(a+k) - log Gamma(a) - k log a``;
- :func:`lgamma_ratio_imag` -- the same at ``k = i t`` (the characteristic function of a
  log-gamma variable).

Reference: NIST DLMF 5.11 (Stirling series), 5.15 (asymptotics of psi).
This module uses NumPy/SciPy only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "log1pmx",
    "atanmx",
    "stirling_tail",
    "psi_minus_log",
    "psi_minus_log_plus",
    "lgamma_ratio",
    "lgamma_ratio_imag",
]

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


def log1pmx(u: NDArray[np.float64]) -> NDArray[np.float64]:
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


def atanmx(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """arctan(v) - v, relatively accurate near 0."""
    small = np.abs(v) < 0.1
    vs = np.where(small, v, 0.0)
    v2 = vs * vs
    acc = np.zeros_like(vs)
    for m in range(9, 0, -1):  # sum_{m>=1} (-1)^m v^{2m+1} / (2m+1)
        acc = v2 * (((-1.0) ** m) / (2 * m + 1) + acc)
    acc = vs * acc
    return np.where(small, acc, np.arctan(v) - v)


def stirling_tail(w: NDArray) -> NDArray:
    """R(w) = log Gamma(w) - [(w - 1/2) log w - w + log(2 pi)/2] for |w| >= 10 (real/complex)."""
    r = 1.0 / w
    r2 = r * r
    acc: NDArray | float = _STIRLING[-1]
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
    acc: NDArray | float = _PSI_ASY[-1]
    for c in _PSI_ASY[-2::-1]:
        acc = c + r2 * acc
    return big, xb, r2 * acc, np.where(big, 1.0, x)


def psi_minus_log(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """psi(x) - log(x) for x > 0, without cancellation for large x."""
    big, xb, tail, xs = _psim_parts(x)
    return np.where(big, tail - 0.5 / xb, special.digamma(xs) - np.log(xs))


def psi_minus_log_plus(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """psi(x) - log(x) + 1/(2x) (= -1/(12 x^2) + ... for large x)."""
    big, _, tail, xs = _psim_parts(x)
    return np.where(big, tail, special.digamma(xs) - np.log(xs) + 0.5 / xs)


def _shift(a: NDArray[np.float64], lowest: NDArray[np.float64]) -> NDArray[np.float64]:
    """Number of recurrence steps so that ``lowest + K >= _A0_LGAMMA``."""
    return np.maximum(0.0, np.ceil(_A0_LGAMMA - lowest))


def lgamma_ratio(a: NDArray[np.float64], k: NDArray[np.float64]) -> NDArray[np.float64]:
    """D(a, k) = log Gamma(a+k) - log Gamma(a) - k log a for real a > 0, a + k > 0.

    Stirling with A = a + K >= 10:  D(A, k) = A (log1p(k/A) - k/A) + (k - 1/2) log1p(k/A)
    + R(A + k) - R(A); then D(a, k) = D(A, k) + k log1p(K/a) - sum_{j<K} log1p(k/(a+j)).
    """
    a, k = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(k, np.float64))
    K = _shift(a, a + np.minimum(k, 0.0))
    A = a + K
    u = k / A
    d = A * log1pmx(u) + (k - 0.5) * np.log1p(u) + (stirling_tail(A + k) - stirling_tail(A))
    if np.any(K > 0):
        kmax = int(K.max())
        acc = np.zeros_like(d)
        for j in range(kmax):
            on = j < K
            acc += np.where(on, np.log1p(np.where(on, k / (a + j), 0.0)), 0.0)
        d = d + k * np.log1p(K / a) - acc
    return d


def lgamma_ratio_imag(
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
    dR = stirling_tail(A + 1j * t) - stirling_tail(A)
    re = (A - 0.5) * lp_re - t * lp_im + dR.real
    im = A * atanmx(v) + t * lp_re - 0.5 * lp_im + dR.imag
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
