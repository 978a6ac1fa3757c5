"""Theory of the 1-D Gaussian refit under accumulate-subsample (exact and large-N).

Setting (KoyejoLab's "accumulate-subsample", Kazdan et al. 2024): the pool grows as under
accumulate -- ``M`` real points from N(mu0, sigma2), then ``M`` points drawn from each fitted
generation -- and generation ``t`` is fit (sample mean, ``sum (x - xbar)^2 / (N - ddof)``) on a
uniform subsample of ``N`` points of the pool of ``t M`` points, drawn without replacement
(``N <= M``; ``rho = N / M``). Generation 1 is fit on ``N`` of the ``M`` real points.
``D_t = E (mu_t - mu0)^2`` and ``s_t = E sigma_t^2``.

Exact recursion. Write ``y_p = x_p - mu0`` for the pool's points and ``Y_j`` for the sum over
batch ``j`` (drawn from generation ``j - 1``). The subsample is chosen independently of the
values, with inclusion probabilities ``N/P`` and ``N (N-1) / (P (P-1))`` (pairs), ``P = t M``;
so with ``A_t = sum_p E y_p^2 = M sum_{j<=t} (D_{j-1} + b_j s_{j-1})`` and
``B_t = E (sum_p y_p)^2``::

    D_t = A_t / (N P) + (1 - 1/N) (B_t - A_t) / (P (P - 1)),
    s_t = N / (N - ddof) (A_t / P - D_t),

(``b_1 = 1``; ``b_j = b`` for synthetic batches, the sampling bias' variance factor). A later
batch's sum is ``Y_k = M e_{k-1} + noise``, and ``E[Y_j e_{k-1}] = E[Y_j sum_{i<k} Y_i] / P_{k-1}``
for ``j < k``; solving this shows ``E[Y_j Y_k] = r_j`` is the same for every ``k > j``, with
``r_j = (sum_{i<j} r_i + E Y_j^2) / j`` and ``E Y_j^2 = M^2 D_{j-1} + M b_j s_{j-1}``. Then
``B_t - A_t = (M^2 - M) sum_{j<=t} D_{j-1} + 2 sum_{i<=t} (t - i) r_i``. Everything is exact in
expectation (the mean is a linear statistic; the sum of squares a quadratic one); O(t) work.

Corollary (ddof = 0, no bias): ``s_t + D_t = A_t / P = (1/t) sum_{j<t} (s_j + D_j)``, so the
conservation law ``E sigma_t^2 + E (mu_t - mu0)^2 = sigma2`` holds exactly, as under replace and
accumulate.

Large-N law (leading order in 1/N at fixed t, rho):
``D_t / D_1 -> 1 + (1 + 2 rho) (H2_t - 1)``, ``H2_t = sum_{k=1..t} 1/k^2``, ``D_1 = sigma2 / N``:
``3 H2_t - 2 -> pi^2/2 - 2`` for N = M (accumulate: ``H2_t``; replace: ``t``), and
``s_t = sigma2 (1 - (delta_t - ddof H_t) / N)``, ``delta_t = 1 + (1 + 2 rho)(H2_t - 1)``,
``H_t = sum_{k<=t} 1/k``. Proof: ``proofs/accumulate_subsample.md``; symbolic derivation:
:mod:`modelcollapse.theory.symbolic.accumulate_subsample`.

References
----------
.. [1] J. Kazdan, R. Schaeffer, A. Dey, M. Gerstgrasser, R. Rafailov, D. L. Donoho and
   S. Koyejo, "Collapse or Thrive? Perils and Promises of Synthetic Data in a Self-Generating
   World", arXiv:2410.16713 (2024).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from .gaussian import _M, _broadcast, _out, _sigma2
from .gaussian_workflows import _kappa

__all__ = [
    "accumulate_subsample_mean_mse",
    "accumulate_subsample_mean_drift_mse",
    "accumulate_subsample_expected_variance",
    "accumulate_subsample_mean_ratio",
    "accumulate_subsample_mean_ratio_limit",
    "accumulate_subsample_moments",
]

Float = np.float64 | NDArray[np.float64]

_SUBSAMPLE = W.OPTIONS["subsample"]
_RHO = P.Param("rho", "subsample fraction rho = N / M of accumulate_subsample (N points per fit, "
               "M per batch)", low=0.0, high=1.0, low_open=True)
_N = P.n.restrict(high=2.0**53)
METHODS = ("exact", "large_n")
_METHOD = P.Choice("method", "accumulate_subsample theory: 'exact' (finite-N recursion) or "
                   "'large_n' (leading order in 1/N)", METHODS)
#: Largest (elements x generations) of the exact recursion.
MAX_WORK = 4e6
#: Elements up to which the exact recursion runs in plain floats (faster than small arrays).
_SCALAR_ELEMENTS = 4


#: Partial sums sum_{k<=n} 1/k^2 and 1/k for n < _TABLE, summed directly (exact to rounding).
_TABLE = 256
_H2_TABLE = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, _TABLE) ** 2)])
_H1_TABLE = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, _TABLE))])


def _h2(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """sum_{k=1..n} 1/k^2: direct below _TABLE, else pi^2/6 - psi'(n + 1) (0 at n = 0)."""
    small = n < _TABLE
    idx = np.where(small, n, 0).astype(np.int64)
    return np.where(small, _H2_TABLE[idx],
                    np.pi**2 / 6.0 - special.polygamma(1, np.maximum(n, _TABLE) + 1.0))


def _h1(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """sum_{k=1..n} 1/k: direct below _TABLE, else psi(n + 1) + gamma (0 at n = 0)."""
    small = n < _TABLE
    idx = np.where(small, n, 0).astype(np.int64)
    return np.where(small, _H1_TABLE[idx],
                    special.digamma(np.maximum(n, _TABLE) + 1.0) + np.euler_gamma)


def _args(n: ArrayLike, M: ArrayLike, subsample: ArrayLike | None, ddof: ArrayLike,
          sigma2: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    n_ = _N.array(n)
    M_ = _M.array(M)
    d_ = P.ddof.array(ddof)
    s2 = _sigma2(sigma2)
    N_ = M_ if subsample is None else _SUBSAMPLE.array(subsample)
    _broadcast(n=n_, M=M_, subsample=N_, ddof=d_, sigma2=s2)
    if np.any(N_ > M_):
        bad = np.broadcast_arrays(N_, M_)
        idx = np.argmax(bad[0] > bad[1])
        raise ValueError(f"subsample must be <= M (the first pool holds M real points; got "
                         f"subsample={P.show(bad[0].flat[idx])}, M={P.show(bad[1].flat[idx])})")
    P.require_greater(_SUBSAMPLE, N_, P.ddof, d_)
    return n_, M_, N_, d_, s2


def _recursion(n: Any, M: Any, N: Any, d: Any, b: Any, nmax: int, arrays: bool,
               fixed_variance: bool = False) -> tuple[Any, Any]:
    """(D_n, s_n) per unit sigma2 by the exact recursion of the module docstring, run for
    t = 1..nmax; ``n`` the wanted generation (floats, or arrays when ``arrays``).
    ``fixed_variance``: every point's conditional variance has expectation 1 whatever the fit
    (a family whose point variance is a linear function of its mean with expectation fixed,
    e.g. the Poisson: ``Var(x | Lam) = Lam``, ``E Lam = lam0``); ``s`` then stays 1."""
    D_prev, s_prev = 0.0 * M, 1.0 + 0.0 * M  # D_0, s_0
    D_out, s_out = 0.0 * M, 1.0 + 0.0 * M  # n = 0
    sum_a = sum_d = R = Q = 0.0 * M
    inv_m = 1.0 / M
    for t in range(1, nmax + 1):
        bj = 1.0 if t == 1 else b
        g = D_prev + bj * s_prev * inv_m  # E Y_t^2 / M^2
        sum_a = sum_a + D_prev + bj * s_prev  # A_t / M
        sum_d = sum_d + D_prev
        Q = Q + R  # sum_{i<t} (t - i) r_i / M^2
        rho = (R + g) / t  # r_t / M^2
        R = R + rho
        ap = sum_a / t  # A_t / P
        cross = ((1.0 - inv_m) * sum_d + 2.0 * Q) / (t * (t - inv_m))  # (B - A)/(P (P - 1))
        D_prev = ap / N + (1.0 - 1.0 / N) * cross
        if not fixed_variance:
            s_prev = N / (N - d) * (ap - D_prev)
        if arrays:
            D_out = np.where(n == t, D_prev, D_out)
            s_out = np.where(n == t, s_prev, s_out)
        elif n == t:
            D_out, s_out = D_prev, s_prev
    return D_out, s_out


def _schedule_recursion(Ms: ArrayLike, subsample: int | None = None, *, ddof: float = 0.0,
                       b: float = 1.0, fixed_variance: bool = False
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(D_t, s_t)``, ``t = 1..n``, per unit ``sigma2`` under a sample-size schedule.

    The exact recursion of the module docstring with batch ``j`` of ``M_j`` points, the pool
    ``P_t = M_1 + ... + M_t`` and ``N_t`` points per fit (``subsample``, else ``M_t``). With
    ``v_j`` the mean conditional variance of batch ``j``'s points (``b_j s_{j-1}``; 1 with
    ``fixed_variance``, e.g. the Poisson rate), ``D_t = (pi1 A_t + pi2 (B_t - A_t)) / N_t^2``,
    ``pi1 = N_t / P_t``, ``pi2 = N_t (N_t - 1) / (P_t (P_t - 1))``,
    ``A_t = sum_j M_j (D_{j-1} + v_j)``, and since ``E[Y_j | past] = M_j e_{j-1}`` with the
    subsample chosen blind to the values, ``E[Y_i Y_k] = M_k c_i`` (``k > i``) with
    ``c_i = (M_i sum_{l<i} c_l + E Y_i^2) / P_i``, ``E Y_i^2 = M_i v_i + M_i^2 D_{i-1}``, so
    ``B_t - A_t = sum_j (M_j^2 - M_j) D_{j-1} + 2 sum_{i<=t} c_i (P_t - P_i)``; and
    ``s_t = N_t / (N_t - ddof) (A_t / P_t - D_t)``. O(n), every term nonnegative. For a constant
    ``M`` this is the recursion of :func:`accumulate_subsample_moments` (``M c_i`` its
    ``r_i``; tested equal).

    Parameters
    ----------
    Ms : array_like
        The schedule ``M_1..M_n`` (validated by the caller).
    subsample : int, optional
        ``N`` (None: ``M_t``); at most ``M_1``.
    ddof : float
        The variance estimator's ddof (``s_t``; unused with ``fixed_variance``).
    b : float
        The sampling bias' variance factor of synthetic batches.
    fixed_variance : bool
        Every point's mean conditional variance is 1 whatever the fit.

    Returns
    -------
    (ndarray, ndarray)
        ``D_t`` and ``s_t`` (``s_t = 1`` with ``fixed_variance``), ``t = 1..n``.

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import _schedule_recursion
    >>> D, s = _schedule_recursion([10, 10], ddof=0)
    >>> [round(float(x), 12) for x in D], [round(float(x), 12) for x in s]  # D + s = 1 (MLE)
    ([0.1, 0.168684210526], [0.9, 0.831315789474])
    """
    Mf = [float(m) for m in np.asarray(Ms, dtype=np.float64).ravel()]
    if subsample is not None and Mf and subsample > Mf[0]:
        raise ValueError(f"subsample must be an integer in [1, {int(Mf[0])}] (at most the first "
                         f"pool, M_1 = {int(Mf[0])} real points; got {subsample})")
    D_out, s_out = np.empty(len(Mf)), np.empty(len(Mf))
    d, sv = 0.0, 1.0  # D_{t-1}, s_{t-1}
    A = BA = X = C = 0.0  # A_t, B_t - A_t without 2 X_t, X_t, sum_{l<t} c_l
    pool = 0.0
    for t, m in enumerate(Mf):
        v = 1.0 if fixed_variance else (1.0 if t == 0 else b) * sv
        pool += m
        ey2 = m * v + m * m * d
        A += m * (d + v)
        BA += (m * m - m) * d
        X += m * C  # P_t - P_i grows by M_t for every i < t
        C += (m * C + ey2) / pool
        nf = float(subsample) if subsample is not None else m
        pi2 = nf * (nf - 1.0) / (pool * (pool - 1.0)) if pool > 1.0 else 0.0
        d = (nf / pool * A + pi2 * (BA + 2.0 * X)) / (nf * nf)
        if not fixed_variance:
            sv = nf / (nf - ddof) * (A / pool - d)
        D_out[t], s_out[t] = d, sv
    return D_out, s_out


def _exact(n_: NDArray, M_: NDArray, N_: NDArray, d_: NDArray, s2: NDArray,
           b: NDArray, fixed_variance: bool = False) -> tuple[NDArray, NDArray]:
    """(s_n, D_n) exactly (the recursion), broadcast; ValueError beyond :data:`MAX_WORK`."""
    shape = np.broadcast(n_, M_, N_, d_, s2, b).shape
    size = max(int(np.prod(shape)), 1)
    nmax = int(np.max(n_)) if np.size(n_) else 0
    if size * max(nmax, 1) > MAX_WORK:
        raise ValueError(f"n must be <= {int(MAX_WORK // size)} for {size} element(s) with "
                         f"method='exact' (an O(n) recursion; got max n = {nmax}); use "
                         "method='large_n' (leading order in 1/N) for longer runs")
    flat = [np.broadcast_to(x, shape).reshape(-1).astype(np.float64)
            for x in (n_, M_, N_, d_, b)]
    if size <= _SCALAR_ELEMENTS:
        pairs = [_recursion(float(n), float(m), float(k), float(d), float(bb), int(n), False,
                            fixed_variance)
                 for n, m, k, d, bb in zip(*flat, strict=True)]
        D = np.array([p[0] for p in pairs], dtype=np.float64)
        s = np.array([p[1] for p in pairs], dtype=np.float64)
    else:
        n_f, m_f, k_f, d_f, b_f = flat
        D, s = _recursion(n_f, m_f, k_f, d_f, b_f, nmax, True, fixed_variance)
    scale = np.broadcast_to(s2, shape).reshape(-1)
    return (s * scale).reshape(shape), (D * scale).reshape(shape)


def _large_n(n_: NDArray, M_: NDArray, N_: NDArray, d_: NDArray,
             s2: NDArray) -> tuple[NDArray, NDArray]:
    """(s_n, D_n) to leading order in 1/N (the module docstring)."""
    rho = N_ / M_
    delta = np.where(n_ >= 1, 1.0 + (1.0 + 2.0 * rho) * (_h2(n_) - 1.0), 0.0)
    s = s2 * (1.0 - (delta - d_ * _h1(n_)) / N_)
    D = s2 * delta / N_
    return s, D


def _moments(n: ArrayLike, M: ArrayLike, subsample: ArrayLike | None, ddof: ArrayLike,
             sigma2: ArrayLike, method: str, b: ArrayLike = 1.0) -> tuple[Float, Float]:
    method = _METHOD.check(method, stacklevel=4)
    n_, M_, N_, d_, s2 = _args(n, M, subsample, ddof, sigma2)
    shape = np.broadcast(n_, M_, N_, d_, s2).shape
    b_ = np.asarray(b, dtype=np.float64)
    if method == "exact":
        s, D = _exact(n_, M_, N_, d_, s2, b_)
    else:
        if np.any(b_ != 1.0):
            raise ValueError("a sampling bias needs method='exact' (the large-N law is that of "
                             "unbiased sampling)")
        s, D = _large_n(n_, M_, N_, d_, s2)
    return _out(np.broadcast_to(s, shape)), _out(np.broadcast_to(D, shape))


def accumulate_subsample_moments(
    n: ArrayLike, M: ArrayLike, *, subsample: ArrayLike | None = None, ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0, method: str = "exact", variance_scale: ArrayLike = 1.0,
    truncation: ArrayLike = np.inf,
) -> tuple[Float, Float]:
    """``(E sigma_n^2, E (mu_n - mu0)^2)`` under accumulate-subsample, with a sampling bias.

    Formula (exact): D_t = A_t/(N P) + (1 - 1/N)(B_t - A_t)/(P (P-1)), s_t = N/(N - ddof)
    (A_t/P - D_t), P = t M, A_t = M sum_{j<=t} (D_{j-1} + b_j s_{j-1}), B_t - A_t =
    (M^2 - M) sum_{j<=t} D_{j-1} + 2 sum_{i<=t} (t - i) r_i, r_j = (sum_{i<j} r_i + M^2 D_{j-1}
    + M b_j s_{j-1}) / j; b_1 = 1, b_j = b = lambda kappa(tau) for synthetic batches.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points added to the pool per generation (the first batch real), integer >= 2.
    subsample : int or array_like, optional
        ``N``, points per fit drawn without replacement from the pool, integer in [1, M] and
        > ddof (None: ``M``).
    ddof : float or array_like, optional
        Delta degrees of freedom of ``sum (x - xbar)^2 / (N - ddof)`` (default 1).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    method : {"exact", "large_n"}
        The exact recursion (O(n)) or the leading order in 1/N (O(1); no sampling bias).
    variance_scale : float, optional
        lambda > 0: synthetic points from N(mu, lambda sigma^2) (exact method only).
    truncation : float, optional
        tau > 0: synthetic points from the normal truncated at mu +- tau sigma (exact only).

    Returns
    -------
    tuple of float or ndarray
        ``(E sigma_n^2, E (mu_n - mu0)^2)``, float64, broadcast.

    Notes
    -----
    Exact for ``method="exact"``: the selection of the subsample is independent of the values,
    and a synthetic batch drawn from generation ``j - 1`` has mean ``mu_{j-1}`` and variance
    ``b sigma_{j-1}^2`` given the past, which is all the first two moments see. Cost O(n) per
    element; refused (``ValueError``) beyond :data:`MAX_WORK` elements x generations.
    ``method="large_n"``: see :func:`accumulate_subsample_mean_drift_mse`.

    References
    ----------
    .. [1] J. Kazdan et al., "Collapse or Thrive? Perils and Promises of Synthetic Data in a
       Self-Generating World", arXiv:2410.16713 (2024).

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import accumulate_subsample_moments
    >>> s, D = accumulate_subsample_moments(3, 10, ddof=0)
    >>> round(float(s + D), 12)                     # conservation law (ddof = 0, no bias)
    1.0
    """
    lam = P.Param("variance_scale", "lambda: synthetic Gaussian data drawn from N(mu, lambda "
                  "sigma^2)", low=0.0, low_open=True).array(variance_scale)
    tau = P.Param("truncation", "tau: synthetic Gaussian data truncated at mu +- tau sigma",
                  low=0.0, low_open=True, finite=False).array(truncation)
    return _moments(n, M, subsample, ddof, sigma2, method, lam * _kappa(tau))


def accumulate_subsample_mean_drift_mse(
    n: ArrayLike, M: ArrayLike, *, subsample: ArrayLike | None = None, ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0, method: str = "exact",
) -> Float:
    """``E (mu_n - mu0)^2`` under accumulate-subsample (pool of batches of M, fits on N of it).

    Formula: exact -- the recursion of :func:`accumulate_subsample_moments`,
    D_n = A_n/(N P) + (1 - 1/N)(B_n - A_n)/(P (P - 1)), P = n M; large_n -- D_n =
    (sigma2/N) (1 + (1 + 2 rho)(H2_n - 1)), rho = N/M, H2_n = sum_{k=1..n} 1/k^2.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points added to the pool per generation (the first batch real), integer >= 2.
    subsample : int or array_like, optional
        ``N``, points per fit drawn without replacement, integer in [1, M] and > ddof
        (None: ``M``).
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator (default 1); it enters ``D_n``
        through the variances of the batches drawn from earlier fits.
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    method : {"exact", "large_n"}
        ``"exact"`` (default): the finite-N recursion, O(n) per element. ``"large_n"``: the
        leading order in 1/N, O(1), any n up to 2**53.

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    ``exact`` is exact in expectation (no approximation; rounding only, relative about n 1e-16),
    refused with ``ValueError`` beyond :data:`MAX_WORK` elements x generations (n = 4e6 for
    one element, about 1 s). ``large_n`` is asymptotic: ``D_1 = sigma2/N`` exactly and
    ``D_n / D_1 = 1 + (1 + 2 rho)(H2_n - 1) + O(1/N)``; measured against ``exact`` (N = M,
    ddof = 1, n <= 1000) its relative error is below 0.16 % at N = 1000, 1.6 % at N = 100
    and 17 % at N = 10, falling like 1/N. The limit n -> inf of the ratio is
    ``1 + (1 + 2 rho)(pi^2/6 - 1)`` (:func:`accumulate_subsample_mean_ratio_limit`), so the
    mean's error stays bounded, at ``pi^2/2 - 2 = 2.93`` times that of generation 1 for N = M
    (accumulate: ``pi^2/6``; replace grows like n).

    References
    ----------
    .. [1] J. Kazdan et al., "Collapse or Thrive? Perils and Promises of Synthetic Data in a
       Self-Generating World", arXiv:2410.16713 (2024).

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import (
    ...     accumulate_subsample_mean_drift_mse as drift)
    >>> round(float(drift(1, 10, subsample=5)), 12)          # D_1 = sigma2 / N
    0.2
    >>> round(float(drift(50, 10**6, method="large_n") * 10**6), 6)   # 3 H2_50 - 2
    2.875398
    """
    return _moments(n, M, subsample, ddof, sigma2, method)[1]


def accumulate_subsample_expected_variance(
    n: ArrayLike, M: ArrayLike, *, subsample: ArrayLike | None = None, ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0, method: str = "exact",
) -> Float:
    """``E sigma_n^2`` under accumulate-subsample.

    Formula: exact -- s_n = N/(N - ddof) (A_n/P - D_n) with the recursion of
    :func:`accumulate_subsample_moments`; large_n -- s_n = sigma2 (1 - (delta_n - ddof H_n)/N),
    delta_n = 1 + (1 + 2 rho)(H2_n - 1) (delta_0 = 0), H_n = sum_{k<=n} 1/k, rho = N/M.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points added to the pool per generation, integer >= 2.
    subsample : int or array_like, optional
        ``N``, integer in [1, M] and > ddof (None: ``M``).
    ddof : float or array_like, optional
        Delta degrees of freedom (default 1).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    method : {"exact", "large_n"}
        The exact recursion or the leading order in 1/N.

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    ``exact``: exact (cost and limits as :func:`accumulate_subsample_mean_drift_mse`). For
    ddof = 0 it equals ``sigma2 - E (mu_n - mu0)^2`` (conservation law). ``large_n``: leading
    order in 1/N at fixed n (valid while ``log n << N``; with ddof = 1 the term ``H_n / N`` makes
    ``E sigma_n^2`` exceed sigma2 slowly: the unbiased estimator inflates the pool's variance
    more than the subsample's drift shrinks it). Measured against ``exact`` (N = M, n <= 1000):
    absolute error below 1.1e-5 at N = 1000, 1.1e-3 at N = 100, 0.12 at N = 10 (O(1/N^2)).

    References
    ----------
    .. [1] J. Kazdan et al., "Collapse or Thrive? Perils and Promises of Synthetic Data in a
       Self-Generating World", arXiv:2410.16713 (2024).

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import (
    ...     accumulate_subsample_expected_variance as ev)
    >>> round(float(ev(1, 10, subsample=4, ddof=0)), 12)     # (N - 1)/N
    0.75
    >>> round(float(ev(2, 10, subsample=4, ddof=0, method="large_n")), 6)  # 1 - 1.45/4
    0.6375
    """
    return _moments(n, M, subsample, ddof, sigma2, method)[0]


def accumulate_subsample_mean_ratio(n: ArrayLike, M: ArrayLike | None = None, *,
                                    subsample: ArrayLike | None = None) -> Float:
    """The large-N ratio ``E (mu_n - mu0)^2 / E (mu_1 - mu0)^2`` under accumulate-subsample.

    Formula: 1 + (1 + 2 rho) (H2_n - 1), H2_n = sum_{k=1..n} 1/k^2, rho = N/M (0 at n = 0);
    ``3 H2_n - 2`` for N = M.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like, optional
        Points added to the pool per generation, integer >= 2 (needed with ``subsample``).
    subsample : int or array_like, optional
        ``N``, integer in [1, M] (None: ``M``, rho = 1).

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    The limit N -> inf at fixed n and rho (asymptotic; exact for the leading-order model of
    ``proofs/accumulate_subsample.md``). Finite-N ratios: ratio of
    :func:`accumulate_subsample_mean_drift_mse` at n and 1. Cost O(1), any n up to 2**53.

    References
    ----------
    .. [1] J. Kazdan et al., "Collapse or Thrive? Perils and Promises of Synthetic Data in a
       Self-Generating World", arXiv:2410.16713 (2024).

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import accumulate_subsample_mean_ratio
    >>> float(accumulate_subsample_mean_ratio(2))               # 3 (1 + 1/4) - 2
    1.75
    >>> float(accumulate_subsample_mean_ratio(2, 10, subsample=5))  # 1 + 2 / 4
    1.5
    """
    n_ = _N.array(n)
    if subsample is None:
        rho = np.asarray(1.0) if M is None else np.ones_like(_M.array(M))
    else:
        if M is None:
            raise ValueError("subsample needs M (rho = subsample / M)")
        M_, N_ = _M.array(M), _SUBSAMPLE.array(subsample)
        _broadcast(M=M_, subsample=N_)
        if np.any(N_ > M_):
            raise ValueError(f"subsample must be <= M (got subsample={P.show(subsample)}, "
                             f"M={P.show(M)})")
        rho = N_ / M_
    _broadcast(n=n_, rho=rho)
    return _out(np.where(n_ >= 1, 1.0 + (1.0 + 2.0 * rho) * (_h2(n_) - 1.0), 0.0))


def accumulate_subsample_mean_ratio_limit(rho: ArrayLike = 1.0) -> Float:
    """The n -> inf limit of :func:`accumulate_subsample_mean_ratio`.

    Formula: 1 + (1 + 2 rho) (pi^2/6 - 1); pi^2/2 - 2 = 2.9348 at rho = 1.

    Parameters
    ----------
    rho : float or array_like
        ``N / M``, a real in (0, 1].

    Returns
    -------
    float or ndarray
        float64; a NumPy scalar for scalar input.

    Notes
    -----
    Large-N (asymptotic) law; the limit is approached like ``(1 + 2 rho)/n``
    (``sum_{k>n} 1/k^2 ~ 1/n``).

    References
    ----------
    .. [1] J. Kazdan et al., "Collapse or Thrive? Perils and Promises of Synthetic Data in a
       Self-Generating World", arXiv:2410.16713 (2024).

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import (
    ...     accumulate_subsample_mean_ratio_limit as lim)
    >>> import math
    >>> round(float(lim()), 12) == round(math.pi**2 / 2 - 2, 12)
    True
    """
    r = _RHO.array(rho)
    return _out(1.0 + (1.0 + 2.0 * r) * (math.pi**2 / 6.0 - 1.0))


def accumulate_subsample_mean_mse(
    n: ArrayLike, M: ArrayLike, *, subsample: ArrayLike | None = None,
    variance: ArrayLike = 1.0,
) -> Float:
    """Exact ``E (xbar_n - m0)^2`` of a fitted sample mean under accumulate-subsample, for a
    family whose points have conditional mean the fitted mean and conditional variance of fixed
    expectation ``variance`` (the Poisson refit: ``Var(x | Lam) = Lam``, ``E Lam = lam0``).

    Formula: the recursion of the module docstring with every batch's mean point variance
    ``b_j s_{j-1}`` replaced by ``variance``: ``D_t = A_t/(N P) + (1 - 1/N)(B_t - A_t)/(P (P -
    1))``, ``A_t = M sum_{j<=t} (D_{j-1} + variance)``, ``B_t - A_t`` from the batch
    covariances ``r_j`` as there. Only first and second moments of the points enter and the
    subsample is chosen independently of the values, so the result is exact for any such
    family (the Gaussian with its variance fixed, the Poisson rate).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points per batch (the first real), integer >= 2.
    subsample : int or array_like, optional
        Points per fit ``N <= M`` (None: ``M``).
    variance : float or array_like, optional
        The points' mean conditional variance (Poisson: ``lam0``), real > 0.

    Returns
    -------
    float or ndarray
        ``E (xbar_n - m0)^2``, float64, broadcast.

    Notes
    -----
    Exact; O(n) work (refused beyond :data:`MAX_WORK` element-generations). To leading order in
    ``1/N`` it is ``variance / N (1 + (1 + 2 N/M)(sum_{k<=n} 1/k^2 - 1))``, the law of
    :func:`accumulate_subsample_mean_ratio`.

    References
    ----------
    .. [1] J. Kazdan et al., "Collapse or Thrive?", arXiv:2410.16713 (2024).

    Examples
    --------
    >>> from modelcollapse.theory.accumulate_subsample import accumulate_subsample_mean_mse
    >>> float(accumulate_subsample_mean_mse(1, 10, variance=2.0))       # lam0 / N
    0.2
    >>> round(float(accumulate_subsample_mean_mse(50, 1000) * 1000), 3)  # 3 H2_50 - 2 = 2.875
    2.876
    """
    n_, M_, N_, d_, s2 = _args(n, M, subsample, 0.0, variance)
    _, D = _exact(n_, M_, N_, d_, s2, np.asarray(1.0), fixed_variance=True)
    return _out(np.broadcast_to(D, np.broadcast(n_, M_, N_, s2).shape))
