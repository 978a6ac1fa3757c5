"""Exact finite-n theory of the 1-D Gaussian refit under the data workflows.

Conventions (those of :mod:`modelcollapse.theory.gaussian`): generation 0 is N(mu0, sigma2);
generation ``n`` is the model after ``n`` fits; the first fit sees real data only, and a
sampling bias applies only to synthetic data (draws from a fitted model, generations >= 1).
The mean estimate is the sample mean, the variance estimate ``sum (x - xbar)^2 / (N - ddof)``
over the ``N`` points of the fit. ``s_t = E sigma_t^2`` and ``D_t = E (mu_t - mu0)^2``.

Every formula below follows from the one-step law of the fit: given the previous model, the
expected sum of squares of a sample depends only on the means and variances of its points,
so ``(s_t, D_t)`` obey exact linear recursions (a sampling bias enters only through the
variance factor ``b = lambda kappa(tau)`` of a synthetic draw, ``kappa`` the variance of the
standard normal truncated at ``+-tau``). The symbolic derivations are in
:mod:`modelcollapse.theory.symbolic.gaussian_workflows`, the proofs in
``proofs/gaussian_workflows.md``.

- replace with bias, mix: s_t = [(1-1/N)(n_r sigma2 + n_s b s_{t-1}) + (n_r n_s/N) D_{t-1}]
  / (N - ddof), D_t = a^2 D_{t-1} + (n_r sigma2 + n_s b s_{t-1})/N^2, a = n_s/N, N = M;
- mix with a reused real set (fixed_real): the same with the set's sum of squares and mean
  fixed, tracked through G_t = E (mu_t - rbar)^2 and H_t = E[(mu_t - rbar)(rbar - mu0)];
- weighted: s_t = w sigma2 (n_r-1)/(n_r-ddof) + (1-w) b s_{t-1} (M-1)/(M-ddof),
  D_t = w^2 sigma2/n_r + (1-w)^2 (D_{t-1} + b s_{t-1}/M);
- accumulate: s_t = sigma2 (M-1)/(M-ddof) prod_{j=2..t} (1 - 1/(j (j M - ddof))),
  D_t = sum_{j=1..t} s_{j-1}/(M j^2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from .gaussian import _M, _broadcast, _nm, _out, _sigma2, _times_exp

__all__ = [
    "truncation_variance_factor",
    "accumulate_expected_variance",
    "accumulate_mean_drift_mse",
    "accumulate_variance_limit",
    "accumulate_drift_bound",
    "accumulate_biased_moments",
    "mix_moments",
    "mix_fixed_point",
    "mix_fixed_real_moments",
    "weighted_moments",
    "weighted_stationary_variance",
    "optimal_weight",
    "expected_variance",
    "mean_drift_mse",
]

Float = np.float64 | NDArray[np.float64]

_TAU = P.Param("truncation", "tau: synthetic Gaussian data truncated at mu +- tau sigma",
               low=0.0, low_open=True, finite=False)
_LAMBDA = P.Param("variance_scale", "lambda: synthetic Gaussian data drawn from "
                  "N(mu, lambda sigma^2)", low=0.0, low_open=True)
_N_REAL = P.Param("n_real", "fresh real samples per fit (mix, weighted)", integer=True, low=0)
_WEIGHT = P.Param("weight", "weight w of the real-data estimate (weighted)", low=0.0, high=1.0)

#: Terms of the accumulate product summed one by one; the tail beyond uses Hurwitz zeta sums.
_J = 1000
#: Largest (elements x generations) of the direct sum of accumulate_mean_drift_mse (ddof != 0).
_MAX_WORK = 5e6


def _kappa(tau: NDArray[np.float64]) -> NDArray[np.float64]:
    x = 0.5 * np.square(np.where(np.isinf(tau), 1.0, tau))
    with np.errstate(invalid="ignore"):
        k = special.gammainc(1.5, x) / special.gammainc(0.5, x)
    return np.where(np.isinf(tau), 1.0, k)


def truncation_variance_factor(truncation: ArrayLike) -> Float:
    """The variance ``kappa(tau)`` of the standard normal truncated to ``[-tau, tau]``.

    Formula: kappa(tau) = 1 - 2 tau phi(tau) / (2 Phi(tau) - 1), evaluated as
    P(3/2, tau^2/2) / P(1/2, tau^2/2) (regularised lower incomplete gamma: E[Z^2; |Z| < tau] =
    P(chi2_3 < tau^2)), which keeps relative accuracy as tau -> 0 (kappa ~ tau^2/3).

    Parameters
    ----------
    truncation : float or array_like
        tau > 0 (``inf``: no truncation, factor 1).

    Returns
    -------
    float or ndarray
        float64 in (0, 1]; a NumPy scalar for scalar input.

    Notes
    -----
    Exact. A synthetic draw from the normal truncated at ``mu +- tau sigma`` has mean ``mu`` and
    variance ``kappa sigma^2``; every second moment of the refit sees only that, so truncation
    acts on ``E sigma_t^2`` and ``E (mu_t - mu0)^2`` as a variance scale ``lambda = kappa``.

    References
    ----------
    .. [1] N. L. Johnson, S. Kotz and N. Balakrishnan, Continuous Univariate Distributions,
       vol. 1, 2nd ed., Wiley (1994), ch. 13.10.1.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.truncation_variance_factor(1.0)), 12)
    0.291125094773
    >>> float(gw.truncation_variance_factor(float("inf")))
    1.0
    """
    return _out(_kappa(_TAU.array(truncation)))


# --------------------------------------------------------------------------------------------
# accumulate
# --------------------------------------------------------------------------------------------


def _tail(A: NDArray, M: NDArray, c: NDArray) -> NDArray:
    """sum_{j >= A} -log1p(-u_j), u_j = 1/(M j (j - c)), A >= _J + 1 (0 where A is inf):
    (1/M) sum_k c^k zeta(k+2, A) + (1/(2 M^2)) sum_k (k+1) c^k zeta(k+4, A); the next term is
    below 1e-13 of the first (u_A <= 1/(M A^2))."""
    fin = np.isfinite(A)
    A_ = np.where(fin, A, 2.0 * _J)
    s1 = np.zeros(np.broadcast(A_, c).shape)
    s2 = np.zeros_like(s1)
    for k in range(10):
        s1 = s1 + c**k * special.zeta(k + 2.0, A_)
        s2 = s2 + (k + 1) * c**k * special.zeta(k + 4.0, A_)
    return np.where(fin, s1 / M + 0.5 * s2 / M**2, 0.0)


def _acc_log_product(n: NDArray, M: NDArray, d: NDArray) -> NDArray:
    """log prod_{j=2..n} (1 - 1/(j (j M - d))) (0 for n <= 1; n may be inf)."""
    c = d / M
    shape = np.broadcast(n, M, d).shape
    L = np.zeros(shape)
    for j in range(2, _J + 1):
        L = L + np.where(n >= j, np.log1p(-1.0 / (j * (j * M - d))), 0.0)
    far = n > _J
    tail = _tail(np.full(shape, _J + 1.0), M, c) - _tail(np.where(far, n + 1.0, np.inf), M, c)
    return L - np.where(far, tail, 0.0)


def _acc_args(n, M, ddof, sigma2):
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    return n_, M_, d_, s2


def _acc_variance(n_, M_, d_, s2):
    first = np.log1p((d_ - 1.0) / (M_ - d_))
    logr = np.where(n_ >= 1, first + _acc_log_product(n_, M_, d_), 0.0)
    return _times_exp(s2, logr)


def accumulate_expected_variance(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 0, sigma2: ArrayLike = 1.0
) -> Float:
    """``E sigma_n^2`` under the accumulate workflow (fit on all data so far).

    Formula: E sigma_n^2 = sigma2 (M-1)/(M-ddof) prod_{j=2..n} (1 - 1/(j (j M - ddof))), n >= 1;
    for ddof = 0 (MLE) this is sigma2 prod_{j=1..n} (1 - 1/(M j^2)). Generation n is fit on the
    pool of n M points: the first batch of M real points, then M synthetic points drawn from
    each of generations 1, ..., n-1.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points added per generation (the first batch real), integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of ``sum (x - xbar)^2 / (n M - ddof)`` over the pool (default 0,
        MLE).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0 (default 1).

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    Exact. One step: with SS_t the pool's sum of squares, E[SS_{t+1} | F_t] = SS_t + sigma_t^2
    (M - 1/(t+1)), hence the factor (t M - ddof + M - 1/(t+1)) / ((t+1) M - ddof). The first
    1000 factors are summed as log1p, the rest through Hurwitz zeta series (relative error
    below 1e-13); cost O(1000) per element, any n up to 2**53.

    References
    ----------
    .. [1] M. Gerstgrasser et al., "Is model collapse inevitable? Breaking the curse of
       recursion by accumulating real and synthetic data", arXiv:2404.01413 (2024).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.accumulate_expected_variance(2, 10)), 12)    # 0.9 * (1 - 1/40)
    0.8775
    """
    return _out(_acc_variance(*_acc_args(n, M, ddof, sigma2)))


def accumulate_variance_limit(
    M: ArrayLike, *, ddof: ArrayLike = 0, sigma2: ArrayLike = 1.0
) -> Float:
    """The limit ``lim_n E sigma_n^2`` under the accumulate workflow.

    Formula: sigma2 (M-1)/(M-ddof) Gamma(2) Gamma(2 - ddof/M) / (Gamma(2 - r1) Gamma(2 - r2)),
    r1,2 = (ddof +- sqrt(ddof^2 + 4 M)) / (2 M) the roots of M j^2 - ddof j - 1; for ddof = 0
    this is sigma2 sqrt(M) sin(pi/sqrt(M)) / pi.

    Parameters
    ----------
    M : int or array_like
        Points added per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom (default 0).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.

    Returns
    -------
    float or ndarray
        float64; a NumPy scalar for scalar input.

    Notes
    -----
    Exact (the infinite product of :func:`accumulate_expected_variance`, evaluated by its
    summed log1p head and zeta-series tail, relative error below 1e-13; the Gamma form above is
    the closed form the tests compare with).

    References
    ----------
    .. [1] M. Gerstgrasser et al., arXiv:2404.01413 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> M = 10.0
    >>> closed = np.sqrt(M) * np.sin(np.pi / np.sqrt(M)) / np.pi
    >>> bool(np.isclose(gw.accumulate_variance_limit(M), closed, rtol=1e-13))
    True
    """
    _, M_, d_, s2 = _acc_args(0, M, ddof, sigma2)
    return _out(_acc_variance(np.asarray(np.inf), M_, d_, s2))


def accumulate_drift_bound(M: ArrayLike, *, sigma2: ArrayLike = 1.0) -> Float:
    """The bound ``sigma2 pi^2 / (6 M)`` on ``E (mu_n - mu0)^2`` under accumulate (MLE).

    Formula: E (mu_n - mu0)^2 = sigma2 - E sigma_n^2 <= sum_{j>=1} sigma2/(M j^2) =
    sigma2 pi^2/(6 M) for every n (ddof = 0).

    Parameters
    ----------
    M : int or array_like
        Points added per generation, integer >= 2.
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.

    Returns
    -------
    float or ndarray
        float64; a NumPy scalar for scalar input.

    Notes
    -----
    A bound, exact in the limit of large M (the gap is O(1/M^2)). Proof:
    ``proofs/gaussian_workflows.md``.

    References
    ----------
    .. [1] M. Gerstgrasser et al., arXiv:2404.01413 (2024).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.accumulate_drift_bound(100)), 12)
    0.016449340668
    """
    M_ = _M.array(M)
    s2 = _sigma2(sigma2)
    _broadcast(M=M_, sigma2=s2)
    return _out(s2 * np.pi**2 / (6.0 * M_))


def accumulate_mean_drift_mse(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 0, sigma2: ArrayLike = 1.0
) -> Float:
    """``E (mu_n - mu0)^2`` under the accumulate workflow.

    Formula: E (mu_n - mu0)^2 = sum_{j=1..n} E sigma_{j-1}^2 / (M j^2); for ddof = 0 the
    conservation law E sigma_n^2 + E (mu_n - mu0)^2 = sigma2 gives it as
    sigma2 (1 - prod_{j=1..n} (1 - 1/(M j^2))).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points added per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom (default 0).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    Exact. One step: mu_{t+1} - mu_t = (ybar - mu_t)/(t+1), ybar ~ N(mu_t, sigma_t^2/M). For
    ddof = 0, O(1000) per element for any n; otherwise a direct sum, O(n) per element, refused
    with ``ValueError`` beyond 5e6 terms in all.

    References
    ----------
    .. [1] M. Gerstgrasser et al., arXiv:2404.01413 (2024).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.accumulate_mean_drift_mse(2, 10)), 12)       # 1 - 0.8775
    0.1225
    """
    n_, M_, d_, s2 = _acc_args(n, M, ddof, sigma2)
    shape = np.broadcast(n_, M_, d_, s2).shape
    if np.all(d_ == 0):
        logr = np.log1p(-1.0 / M_) + _acc_log_product(n_, M_, d_)
        return _out(np.where(n_ >= 1, -s2 * np.expm1(logr), 0.0) + np.zeros(shape))
    return _acc_direct(n_, M_, d_, s2, np.asarray(1.0))[1]


def _acc_direct(n_, M_, d_, s2, b):
    """(s_n, D_n) of accumulate by the direct O(n) sums, synthetic variance factor b:
    s_n = s2 (M-1)/(M-d) prod_{j=2..n} (1 - ((1-b) M + b/j)/(j M - d)),
    D_n = s2/M + sum_{j=2..n} b s_{j-1}/(M j^2)."""
    shape = np.broadcast(n_, M_, d_, s2, b).shape
    nmax = int(np.max(n_)) if n_.size else 0
    size = max(int(np.prod(shape)), 1)
    if size * max(nmax, 1) > _MAX_WORK:
        raise ValueError(f"n must be <= {int(_MAX_WORK // size)} for {size} elements with "
                         f"ddof != 0 or a sampling bias (a direct sum; got max n = {nmax})")
    nb, Mb, db, sb, bb = (np.broadcast_to(x, shape).reshape(-1, 1)
                          for x in (n_, M_, d_, s2, b))
    j = np.arange(1, nmax + 1, dtype=np.float64)[None, :]
    step = np.where(j >= 2, np.log1p(-((1.0 - bb) * Mb + bb / j) / (j * Mb - db)), 0.0)
    first = np.log1p((db - 1.0) / (Mb - db))
    # logs[:, k] = log(s_k / sigma2), k = 0..nmax
    logs = np.concatenate([np.zeros((nb.shape[0], 1)), first + np.cumsum(step, axis=1)], axis=1)
    idx = nb.astype(np.int64)
    s_n = np.take_along_axis(logs, idx, axis=1)[:, 0]
    c = np.where(j >= 2, bb, 1.0)
    terms = np.where(j <= nb, c * np.exp(logs[:, :nmax]) / (Mb * j * j), 0.0)
    s_out = _times_exp(sb[:, 0], s_n).reshape(shape)
    return _out(s_out), _out((sb[:, 0] * terms.sum(axis=1)).reshape(shape))


def accumulate_biased_moments(
    n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 0, sigma2: ArrayLike = 1.0,
    variance_scale: ArrayLike = 1.0, truncation: ArrayLike = np.inf,
) -> tuple[Float, Float]:
    """``(E sigma_n^2, E (mu_n - mu0)^2)`` under accumulate with a sampling bias.

    Formula: b = lambda kappa(tau) scales the variance of every synthetic batch (generations
    >= 2; the first batch is real): E[SS_{t+1} | F_t] = SS_t + b sigma_t^2 (M - 1/(t+1)), so
    s_n = sigma2 (M-1)/(M-ddof) prod_{j=2..n} (1 - ((1-b) M + b/j)/(j M - ddof)) and
    D_n = sigma2/M + sum_{j=2..n} b s_{j-1}/(M j^2). b = 1 is :func:`accumulate_expected_variance`
    and :func:`accumulate_mean_drift_mse`.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points added per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom (default 0).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    variance_scale : float or array_like, optional
        lambda > 0 (default 1).
    truncation : float or array_like, optional
        tau > 0 (default inf).

    Returns
    -------
    (float or ndarray, float or ndarray)
        ``E sigma_n^2`` and ``E (mu_n - mu0)^2``, float64, broadcast.

    Notes
    -----
    Exact. For b < 1 the product decays like n^-(1-b): accumulation no longer bounds the
    collapse. Direct sums, O(n) per element, refused with ``ValueError`` beyond 5e6 terms in
    all.

    References
    ----------
    .. [1] M. Gerstgrasser et al., arXiv:2404.01413 (2024).
    .. [2] S. Alemohammad et al., ICLR 2024.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> s, D = gw.accumulate_biased_moments(2, 10, variance_scale=0.5)
    >>> round(float(s), 12), round(float(D), 12)    # 0.9 (1 - (5 + 0.25)/20), 0.1 + 0.5 * 0.9/40
    (0.66375, 0.11125)
    """
    n_, M_, d_, s2 = _acc_args(n, M, ddof, sigma2)
    b = _bias_args(variance_scale, truncation)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2, bias=b)
    return _acc_direct(n_, M_, d_, s2, b)


# --------------------------------------------------------------------------------------------
# mix, replace with bias, weighted: affine recursions of (s, D)
# --------------------------------------------------------------------------------------------


def _mix_matrix(N, nr, d, b):
    """(3, 3) affine step of (s/sigma2, D/sigma2, 1) for mix (replace: nr = 0)."""
    ns = N - nr
    A = (1 - 1 / N) * ns * b / (N - d)
    B = nr * ns / (N * (N - d))
    C = (1 - 1 / N) * nr / (N - d)
    E = ns * b / N**2
    F = (ns / N) ** 2
    G = nr / N**2
    return _stack(A, B, C, E, F, G)


def _weighted_matrix(M, nr, w, d, b):
    gr = np.where(w > 0, (nr - 1) / np.maximum(nr - d, 1e-300), 0.0)
    A = (1 - w) * b * (M - 1) / (M - d)
    C = w * gr
    E = (1 - w) ** 2 * b / M
    F = (1 - w) ** 2
    G = np.where(w > 0, w**2 / np.maximum(nr, 1.0), 0.0)
    return _stack(A, 0.0 * A, C, E, F, G)


def _stack(A, B, C, E, F, G):
    A, B, C, E, F, G = np.broadcast_arrays(A, B, C, E, F, G)
    z, o = np.zeros_like(A), np.ones_like(A)
    return np.stack([np.stack([A, B, C], -1), np.stack([E, F, G], -1),
                     np.stack([z, z, o], -1)], -2)


def _power_apply(K: NDArray, x: NDArray, k: NDArray) -> NDArray:
    """K^k x for stacked (..., 3, 3) K, (..., 3) x and integer k >= 0 (binary powering)."""
    k = np.asarray(k, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        while np.any(k > 0):
            odd = (np.mod(k, 2) == 1)[..., None]
            x = np.where(odd, np.einsum("...ij,...j->...i", K, x), x)
            k = np.floor(k / 2)
            if np.any(k > 0):
                K = K @ K
    return x


def _bias(wf: W.Workflow) -> float:
    lam = float(wf.bias.variance_scale)
    return lam * float(_kappa(np.asarray(float(wf.bias.truncation))))


def _bias_args(variance_scale, truncation):
    return _LAMBDA.array(variance_scale) * _kappa(_TAU.array(truncation))


def _run(n_, K1, Kb, s2):
    """(s_n, D_n): one unbiased first step K1, then n-1 steps Kb, from (sigma2, 0)."""
    shape = np.broadcast(n_, K1[..., 0, 0], Kb[..., 0, 0], s2).shape
    x0 = np.zeros(shape + (3,))
    x0[..., 0] = 1.0
    x0[..., 2] = 1.0
    K1 = np.broadcast_to(K1, shape + (3, 3))
    Kb = np.broadcast_to(Kb, shape + (3, 3))
    n_b = np.broadcast_to(n_, shape)
    x1 = np.where((n_b >= 1)[..., None], np.einsum("...ij,...j->...i", K1, x0), x0)
    x = _power_apply(Kb, x1, np.maximum(n_b - 1, 0))
    return _out(s2 * x[..., 0]), _out(s2 * x[..., 1])


def _mix_args(n, M, n_real, ddof, sigma2):
    n_, M_, d_ = _nm(n, M, ddof)
    nr = _N_REAL.array(n_real)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, n_real=nr, ddof=d_, sigma2=s2)
    if np.any(nr > M_):
        raise ValueError(f"n_real must be <= M (got n_real={P.show(n_real)}, M={P.show(M)})")
    return n_, M_, nr, d_, s2


def mix_moments(
    n: ArrayLike, M: ArrayLike, n_real: ArrayLike, *, ddof: ArrayLike = 0,
    sigma2: ArrayLike = 1.0, variance_scale: ArrayLike = 1.0, truncation: ArrayLike = np.inf,
) -> tuple[Float, Float]:
    """``(E sigma_n^2, E (mu_n - mu0)^2)`` under mix: each fit sees n_real fresh real points
    plus M - n_real synthetic ones.

    Formula (N = M, n_r = n_real, n_s = N - n_r, a = n_s/N, b = lambda kappa(tau)):
    s_t = [(1-1/N)(n_r sigma2 + n_s b s_{t-1}) + (n_r n_s/N) D_{t-1}] / (N - ddof),
    D_t = a^2 D_{t-1} + (n_r sigma2 + n_s b s_{t-1}) / N^2, from s_0 = sigma2, D_0 = 0, with
    b = 1 at t = 1 (the first fit sees real data only). n_real = 0 is replace with a bias.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points per fit, integer >= 2 and > ddof.
    n_real : int or array_like
        Fresh real points per fit, integer in [0, M].
    ddof : float or array_like, optional
        Delta degrees of freedom (default 0, MLE).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    variance_scale : float or array_like, optional
        lambda > 0: synthetic draws from N(mu, lambda sigma^2) (default 1).
    truncation : float or array_like, optional
        tau > 0: synthetic draws truncated at mu +- tau sigma (default inf: none).

    Returns
    -------
    (float or ndarray, float or ndarray)
        ``E sigma_n^2`` and ``E (mu_n - mu0)^2``, float64, broadcast.

    Notes
    -----
    Exact. The recursion is an affine map of (s, D) with nonnegative coefficients, applied by
    binary powering: O(log n) per element, no cancellation. Accuracy: the rounding of the
    one-step coefficients (about 2e-16 relative) is raised to the n-th power, so the relative
    error grows like n * 2e-16 (measured 3e-11 at n = 1e6, M = 1e9); the plain replace formulas
    of :mod:`modelcollapse.theory.gaussian` (log1p form) stay at 1e-15.

    References
    ----------
    .. [1] S. Alemohammad et al., "Self-consuming generative models go MAD", ICLR 2024.
    .. [2] I. Shumailov et al., Nature 631 (2024), 755-759.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> s, D = gw.mix_moments(1, 10, 5)
    >>> round(float(s), 12), round(float(D), 12)
    (0.9, 0.1)
    """
    n_, M_, nr, d_, s2 = _mix_args(n, M, n_real, ddof, sigma2)
    b = _bias_args(variance_scale, truncation)
    return _run(n_, _mix_matrix(M_, nr, d_, 1.0), _mix_matrix(M_, nr, d_, b), s2)


def _fixed(K):
    """Fixed point of s = A s + B D + C, D = E s + F D + G (inf where none is stable)."""
    A, B, C = K[..., 0, 0], K[..., 0, 1], K[..., 0, 2]
    E, F, G = K[..., 1, 0], K[..., 1, 1], K[..., 1, 2]
    det = (1 - A) * (1 - F) - B * E
    ok = (A < 1) & (F < 1) & (det > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(ok, (C * (1 - F) + B * G) / det, np.inf)
        D = np.where(ok, (G * (1 - A) + E * C) / det, np.inf)
    return s, D


def mix_fixed_point(
    M: ArrayLike, n_real: ArrayLike, *, ddof: ArrayLike = 0, sigma2: ArrayLike = 1.0,
    variance_scale: ArrayLike = 1.0, truncation: ArrayLike = np.inf,
) -> tuple[Float, Float]:
    """The stationary ``(s_inf, D_inf)`` of the mix recursion (see :func:`mix_moments`).

    Formula: the solution of s = A s + B D + C sigma2, D = E s + F D + G sigma2 with the
    coefficients of the recursion: s = sigma2 (C(1-F) + B G)/det, D = sigma2 (G(1-A) + E C)/det,
    det = (1-A)(1-F) - B E; for ddof = 0 and lambda = 1, D_inf = sigma2/(n_r (1+a) + a),
    a = n_s/N, and s_inf + D_inf = sigma2.

    Parameters
    ----------
    M : int or array_like
        Points per fit, integer >= 2 and > ddof.
    n_real : int or array_like
        Fresh real points per fit, integer in [0, M].
    ddof : float or array_like, optional
        Delta degrees of freedom (default 0).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    variance_scale : float or array_like, optional
        lambda > 0 (default 1).
    truncation : float or array_like, optional
        tau > 0 (default inf).

    Returns
    -------
    (float or ndarray, float or ndarray)
        ``s_inf`` and ``D_inf``; ``inf`` where the recursion has no stable fixed point (n_real =
        0, or a bias large enough that the spectral radius reaches 1).

    Notes
    -----
    Exact. With lambda = 1 the effective sample size sigma2/D_inf = n_r (1+a) + a is below
    2 n_r + 1: synthetic data at most double it. Proof: ``proofs/gaussian_workflows.md``.

    References
    ----------
    .. [1] S. Alemohammad et al., ICLR 2024.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> s, D = gw.mix_fixed_point(10, 5)             # D = 1/(5 * 1.5 + 0.5)
    >>> round(float(D), 12), round(float(s + D), 12)
    (0.125, 1.0)
    """
    _, M_, nr, d_, s2 = _mix_args(0, M, n_real, ddof, sigma2)
    b = _bias_args(variance_scale, truncation)
    s, D = _fixed(_mix_matrix(M_, nr, d_, b))
    return _out(s2 * s), _out(s2 * D)


def mix_fixed_real_moments(
    n: ArrayLike, M: ArrayLike, n_real: ArrayLike, *, ddof: ArrayLike = 0,
    sigma2: ArrayLike = 1.0, variance_scale: ArrayLike = 1.0, truncation: ArrayLike = np.inf,
) -> tuple[Float, Float]:
    """``(E sigma_n^2, E (mu_n - mu0)^2)`` under mix with one real set reused every generation.

    Formula: the real set R (n_r points, mean rbar) is drawn once, with the first fit (which
    sees R plus n_s fresh real points). With e_t = mu_t - rbar, G_t = E e_t^2,
    H_t = E[e_t (rbar - mu0)], a = n_s/N, N = M, b = lambda kappa(tau):
    s_{t+1} = [(n_r - 1) sigma2 + (n_s - 1 + n_r/N) b s_t + (n_r n_s/N) G_t] / (N - ddof),
    G_{t+1} = a^2 (G_t + b s_t/n_s), H_{t+1} = a H_t, from s_1 = sigma2 (N-1)/(N-ddof),
    G_1 = a^2 sigma2 (1/n_s + 1/n_r), H_1 = -a sigma2/n_r; then
    E (mu_t - mu0)^2 = G_t + 2 H_t + sigma2/n_r.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points per fit, integer >= 2 and > ddof.
    n_real : int or array_like
        Size of the reused real set, integer in [1, M - 1] (0 or M: use :func:`mix_moments`,
        which is then the same workflow).
    ddof : float or array_like, optional
        Delta degrees of freedom (default 0).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    variance_scale : float or array_like, optional
        lambda > 0 (default 1).
    truncation : float or array_like, optional
        tau > 0 (default inf).

    Returns
    -------
    (float or ndarray, float or ndarray)
        ``E sigma_n^2`` and ``E (mu_n - mu0)^2``, float64, broadcast.

    Notes
    -----
    Exact (the expected pooled sum of squares needs only E SS_R = (n_r - 1) sigma2 and the
    second moments of e_t). H_t -> 0, so the limit of the mean error is at least sigma2/n_r (the
    reused set's own error). O(log n) per element; relative error growing like n * 2e-16.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), 755-759 (real data kept across generations).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> s, D = gw.mix_fixed_real_moments(1, 10, 5)
    >>> round(float(s), 12), round(float(D), 12)
    (0.9, 0.1)
    """
    n_, M_, nr, d_, s2 = _mix_args(n, M, n_real, ddof, sigma2)
    if np.any((nr < 1) | (nr >= M_)):
        raise ValueError(f"n_real must be in [1, M - 1] for a reused real set (got n_real="
                         f"{P.show(n_real)}, M={P.show(M)})")
    b = _bias_args(variance_scale, truncation)
    return _run_fixed(n_, M_, nr, d_, b, s2)


def _run_fixed(n_, N, nr, d, b, s2):
    ns = N - nr
    a = ns / N
    A = (ns - 1 + nr / N) * b / (N - d)
    B = nr * ns / N / (N - d)
    C = (nr - 1) / (N - d)
    E = a * a * b / ns
    F = a * a
    A, B, C, E, F, a_ = np.broadcast_arrays(A, B, C, E, F, a)
    z, o = np.zeros_like(A), np.ones_like(A)
    # state (s, G, H, 1) / sigma2
    K = np.stack([np.stack([A, B, z, C], -1), np.stack([E, F, z, z], -1),
                  np.stack([z, z, a_, z], -1), np.stack([z, z, z, o], -1)], -2)
    shape = np.broadcast(n_, A, s2).shape
    K = np.broadcast_to(K, shape + (4, 4))
    x1 = np.stack(np.broadcast_arrays((N - 1) / (N - d), a * a * (1 / ns + 1 / nr), -a / nr,
                                      np.ones_like(a)), -1)
    x1 = np.broadcast_to(x1, shape + (4,))
    n_b = np.broadcast_to(n_, shape)
    x = _power_apply(K, x1, np.maximum(n_b - 1, 0))
    s_ = np.where(n_b >= 1, x[..., 0], 1.0)
    D_ = np.where(n_b >= 1, x[..., 1] + 2 * x[..., 2] + np.broadcast_to(1 / nr, shape), 0.0)
    return _out(s2 * s_), _out(s2 * D_)


def _weighted_args(n, M, n_real, weight, ddof, sigma2):
    n_, M_, d_ = _nm(n, M, ddof)
    nr = _N_REAL.array(n_real)
    w = _WEIGHT.array(weight)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, n_real=nr, weight=w, ddof=d_, sigma2=s2)
    bad = (w > 0) & ((nr < 2) | (nr <= d_))
    if np.any(bad):
        raise ValueError(f"n_real must be >= 2 and > ddof where weight > 0 (got n_real="
                         f"{P.show(n_real)}, ddof={P.show(ddof)})")
    return n_, M_, nr, w, d_, s2


def weighted_moments(
    n: ArrayLike, M: ArrayLike, n_real: ArrayLike, weight: ArrayLike, *, ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0, variance_scale: ArrayLike = 1.0, truncation: ArrayLike = np.inf,
) -> tuple[Float, Float]:
    """``(E sigma_n^2, E (mu_n - mu0)^2)`` under the weighted workflow.

    Formula: theta_t = w theta_real + (1-w) theta_synth for the mean and the variance
    estimates, theta_real from n_real fresh real points, theta_synth from M synthetic points:
    s_t = w sigma2 (n_r-1)/(n_r-ddof) + (1-w) b s_{t-1} (M-1)/(M-ddof),
    D_t = w^2 sigma2/n_r + (1-w)^2 (D_{t-1} + b s_{t-1}/M), b = lambda kappa(tau) (1 at t = 1).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Synthetic points per fit, integer >= 2 and > ddof.
    n_real : int or array_like
        Real points behind the real estimate, integer >= 2 and > ddof (where weight > 0).
    weight : float or array_like
        w in [0, 1], the weight of the real estimate.
    ddof : float or array_like, optional
        Delta degrees of freedom of both variance estimates (default 1).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    variance_scale : float or array_like, optional
        lambda > 0 (default 1).
    truncation : float or array_like, optional
        tau > 0 (default inf).

    Returns
    -------
    (float or ndarray, float or ndarray)
        ``E sigma_n^2`` and ``E (mu_n - mu0)^2``, float64, broadcast.

    Notes
    -----
    Exact; O(log n) per element (binary powering of the affine map); relative error growing
    like n * 2e-16, as for :func:`mix_moments`.

    References
    ----------
    .. [1] X. He, S. Xu and G. Cheng, "Golden ratio weighting prevents model collapse",
       J. R. Stat. Soc. B (2025).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> s, D = gw.weighted_moments(1, 10, 10, 0.5)
    >>> round(float(s), 12), round(float(D), 12)
    (1.0, 0.05)
    """
    n_, M_, nr, w, d_, s2 = _weighted_args(n, M, n_real, weight, ddof, sigma2)
    b = _bias_args(variance_scale, truncation)
    return _run(n_, _weighted_matrix(M_, nr, w, d_, 1.0), _weighted_matrix(M_, nr, w, d_, b), s2)


def weighted_stationary_variance(
    weight: ArrayLike, M: ArrayLike, n_real: ArrayLike, *, ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0, variance_scale: ArrayLike = 1.0, truncation: ArrayLike = np.inf,
) -> Float:
    """The stationary error ``lim E (mu_t - mu0)^2`` of the weighted workflow's mean.

    Formula: with g_r = (n_r-1)/(n_r-ddof), g = (M-1)/(M-ddof), b = lambda kappa(tau):
    s_inf = w sigma2 g_r / (1 - (1-w) b g), D_inf = (w^2 sigma2/n_r + (1-w)^2 b s_inf/M) /
    (1 - (1-w)^2); for ddof = 1, b = 1: D_inf = sigma2 (w^2/n_r + (1-w)^2/M) / (w (2-w)).

    Parameters
    ----------
    weight : float or array_like
        w in [0, 1] (0: replace, no stationary state, ``inf``).
    M : int or array_like
        Synthetic points per fit, integer >= 2 and > ddof.
    n_real : int or array_like
        Real points per fit, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom (default 1).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    variance_scale : float or array_like, optional
        lambda > 0 (default 1).
    truncation : float or array_like, optional
        tau > 0 (default inf).

    Returns
    -------
    float or ndarray
        float64; ``inf`` where no stable state exists.

    Notes
    -----
    Exact. At w = 1/phi and n_real = M (ddof = 1, no bias) it is (1/phi) sigma2/M: 0.618 times
    the real-only error.

    References
    ----------
    .. [1] X. He, S. Xu and G. Cheng, J. R. Stat. Soc. B (2025).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.weighted_stationary_variance(gw.optimal_weight(100, 100), 100, 100)), 12)
    0.006180339887
    """
    _, M_, nr, w, d_, s2 = _weighted_args(0, M, n_real, weight, ddof, sigma2)
    b = _bias_args(variance_scale, truncation)
    _, D = _fixed(_weighted_matrix(M_, nr, w, d_, b))
    return _out(s2 * D)


def optimal_weight(n_real: ArrayLike, M: ArrayLike) -> Float:
    """The real weight ``w*`` minimising :func:`weighted_stationary_variance` (ddof = 1, no bias).

    Formula: w* = (sqrt(rho^2 + 4 rho) - rho)/2, rho = n_real/M, the positive root of
    M w^2 = n_real (1 - w); w* = 1/phi = (sqrt 5 - 1)/2 for n_real = M.

    Parameters
    ----------
    n_real : int or array_like
        Real points per fit, integer >= 2.
    M : int or array_like
        Synthetic points per fit, integer >= 2.

    Returns
    -------
    float or ndarray
        float64 in (0, 1); a NumPy scalar for scalar input.

    Notes
    -----
    Exact for the unbiased variance refit (ddof = 1) without sampling bias, where s_inf = sigma2
    and D(w) = sigma2 (w^2/n_r + (1-w)^2/M)/(w (2-w)); setting D'(w) = 0 leaves
    M w^2 - n_r (1-w) = 0. Other ddof or biases: minimise the stationary variance numerically.

    References
    ----------
    .. [1] X. He, S. Xu and G. Cheng, J. R. Stat. Soc. B (2025).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.optimal_weight(50, 50)), 12)
    0.61803398875
    """
    nr = _N_REAL.restrict(low=2).array(n_real)
    M_ = _M.array(M)
    _broadcast(n_real=nr, M=M_)
    rho = nr / M_
    return _out(2.0 * rho / (rho + np.sqrt(rho * rho + 4.0 * rho)))


# --------------------------------------------------------------------------------------------
# dispatch from theory.gaussian
# --------------------------------------------------------------------------------------------

_NAMES = ("replace", "mix", "accumulate", "accumulate_subsample", "weighted")
_BIASES = ("variance_scale", "truncation")


def _moments(n, M, ddof, sigma2, workflow, where):
    wf = W.require(workflow, where, names=_NAMES, biases=_BIASES)
    b = _bias(wf)
    if wf.name == "accumulate":
        if wf.bias.active:
            n_, M_, d_, s2 = _acc_args(n, M, ddof, sigma2)
            return "ok", _acc_direct(n_, M_, d_, s2, np.asarray(b))
        return "acc", wf
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    if wf.name == "weighted":
        nr = M_ if wf.n_real is None else np.asarray(float(wf.n_real))
        n_, M_, nr, w, d_, s2 = _weighted_args(n_, M_, nr, wf.effective_weight, d_, s2)
        return "ok", _run(n_, _weighted_matrix(M_, nr, w, d_, 1.0),
                          _weighted_matrix(M_, nr, w, d_, b), s2)
    if wf.name == "mix":
        nr = (np.round(wf.real_fraction * M_) if wf.real_fraction is not None
              else np.asarray(float(wf.n_real or 0)))
        if np.any(nr > M_):
            raise ValueError(f"n_real must be <= M for the mix workflow (got n_real={wf.n_real}, "
                             f"M={P.show(M)})")
        if wf.fixed_real:
            fixed = (nr >= 1) & (nr < M_)
            nr_f = np.where(fixed, nr, 1.0)
            sf, Df = _run_fixed(n_, M_, nr_f, d_, b, s2)
            sm, Dm = _run(n_, _mix_matrix(M_, nr, d_, 1.0), _mix_matrix(M_, nr, d_, b), s2)
            return "ok", (_out(np.where(fixed, sf, sm)), _out(np.where(fixed, Df, Dm)))
    else:
        nr = np.asarray(0.0)
    return "ok", _run(n_, _mix_matrix(M_, nr, d_, 1.0), _mix_matrix(M_, nr, d_, b), s2)


def expected_variance(n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1,
                      sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None) -> Float:
    """``E sigma_n^2`` under any implemented workflow (what ``gaussian.expected_variance`` calls).

    Formula: see :func:`mix_moments` (replace with a bias, mix), :func:`weighted_moments`,
    :func:`accumulate_expected_variance`.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points per fit (accumulate: added per generation), integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom (default 1).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    workflow : Workflow or str, optional
        replace, mix (fresh or reused real data), accumulate, accumulate_subsample (exact
        recursion of :mod:`modelcollapse.theory.accumulate_subsample`) or weighted, each with
        the biases variance_scale and truncation; others raise ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    Exact (see the functions above for cost).

    References
    ----------
    .. [1] M. Gerstgrasser et al., arXiv:2404.01413 (2024).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.expected_variance(2, 10, ddof=0, workflow="accumulate")), 12)
    if wf.name == "accumulate_subsample":  # exact recursion (that module imports this one)
        from .accumulate_subsample import _moments as _subsample_moments
        return "ok", _subsample_moments(n, M, wf.subsample, ddof, sigma2, "exact", b)
    0.8775
    """
    kind, res = _moments(n, M, ddof, sigma2, workflow, "theory.gaussian.expected_variance")
    if kind == "acc":
        return accumulate_expected_variance(n, M, ddof=ddof, sigma2=sigma2)
    return res[0]


def mean_drift_mse(n: ArrayLike, M: ArrayLike, *, ddof: ArrayLike = 1,
                   sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None) -> Float:
    """``E (mu_n - mu0)^2`` under any implemented workflow (``gaussian.mean_drift_mse`` calls it).

    Formula: see :func:`mix_moments`, :func:`weighted_moments`,
    :func:`accumulate_mean_drift_mse`.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0.
    M : int or array_like
        Points per fit, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom (default 1).
    sigma2 : float or array_like, optional
        Variance of generation 0, real > 0.
    workflow : Workflow or str, optional
        As for :func:`expected_variance`.

    Returns
    -------
    float or ndarray
        float64, broadcast; a NumPy scalar for scalar input.

    Notes
    -----
    Exact.

    References
    ----------
    .. [1] M. Gerstgrasser et al., arXiv:2404.01413 (2024).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian_workflows as gw
    >>> round(float(gw.mean_drift_mse(2, 10, ddof=0, workflow="accumulate")), 12)
    0.1225
    """
    kind, res = _moments(n, M, ddof, sigma2, workflow, "theory.gaussian.mean_drift_mse")
    if kind == "acc":
        return accumulate_mean_drift_mse(n, M, ddof=ddof, sigma2=sigma2)
    return res[1]
