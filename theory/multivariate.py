"""Closed forms for the multivariate Gaussian "replace" recursion (Wishart products).

Model (Shumailov et al., Nature 631, 2024, Theorem 3.1, stated for covariance matrices; Kazdan et
al., "Collapse or Thrive?", 2024, who sweep the dimension by Monte Carlo). Generation 0 is the
original ``N(mu0, Sigma0)`` in ``d`` dimensions; generation ``t`` draws ``M`` points from
generation ``t - 1`` and refits ``mu_t`` = the sample mean and ``Sigma_t = S_t / (M - ddof)``,
``S_t`` the scatter matrix ``sum_i (x_i - xbar)(x_i - xbar)^T``. In law::

    mu_t    = mu_{t-1} + L_{t-1} z / sqrt(M),                 z ~ N(0, I_d),
    Sigma_t = L_{t-1} (W_t / (M - ddof)) L_{t-1}^T,          W_t ~ Wishart_d(M - 1, I),

with ``L_{t-1}`` the Cholesky factor of ``Sigma_{t-1}`` and ``W_t`` independent of the past. By
Bartlett's decomposition ``W_t = B_t B_t^T`` with ``B_t`` lower triangular, ``B_t[k, k]^2 ~
chi2_{M-k}`` (``k = 1..d``) and ``N(0, 1)`` below the diagonal, all independent. The product of
lower-triangular factors is lower triangular, so the Cholesky factor of ``Sigma_t`` is
``L_0 B_1 ... B_t / (M - ddof)^{t/2}``: ``log det Sigma_t`` is a sum of ``t d`` independent
``log chi2`` terms, and the ``k``-th eigenvalue of ``Sigma_t`` decays at its own rate
``E log(chi2_{M-k} / (M - ddof))`` (the Lyapunov spectrum). The one-dimensional module
:mod:`~modelcollapse.theory.gaussian` is the case ``d = 1``; the moments of the trace and of the
mean use its formulas with ``sigma2 = tr Sigma0``.

Conventions. ``Sigma0`` is a symmetric positive definite ``d x d`` matrix (validated: symmetric to
``1e-10`` relative, every eigenvalue ``> 0``) or the vector of its ``d`` eigenvalues (each
``> 0``); every quantity here depends on ``Sigma0`` through its eigenvalues only, except
:func:`expected_covariance`, which returns a matrix for a matrix and the diagonal in ``Sigma0``'s
eigenbasis for eigenvalues. ``n``, ``M``, ``ddof`` (and ``det0``) broadcast with NumPy rules; a
``Sigma0`` is one covariance (not batched). ``M >= 2`` and ``M > ddof`` always; the determinant
quantities and the spectrum also need ``M > d``: a fit on ``M <= d`` points has a singular
scatter matrix (``det Sigma_t = 0``, ``log det = -inf`` from generation 1), and those functions
raise ``ValueError`` naming ``M`` and ``d`` instead. Every function takes ``workflow``; the
formulas are those of ``replace`` and other workflows raise ``ValueError``.

References
----------
.. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
   collapse when trained on recursively generated data", Nature 631 (2024), 755-759, Thm 3.1.
.. [2] J. Kazdan, R. Schaeffer, A. Dey, M. Gerstgrasser, R. Rafailov, D. L. Donoho and
   S. Koyejo, "Collapse or Thrive? Perils and promises of synthetic data in a self-generating
   world", 2024.
.. [3] M. S. Bartlett, "On the theory of statistical regression", Proc. R. Soc. Edinburgh 53
   (1933), 260-283; R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982),
   Thm 3.2.14 (Bartlett decomposition) and Thm 3.2.15 (moments of the determinant).
.. [4] R. Bhatia, T. Jain and Y. Lim, "On the Bures-Wasserstein distance between positive
   definite matrices", Expo. Math. 37 (2019), 165-191.

Examples
--------
>>> from modelcollapse.theory import multivariate as mv
>>> float(mv.expected_trace(10, 100, [1.0, 2.0, 3.0]))       # ddof=1: conserved
6.0
>>> round(float(mv.expected_determinant(1, 4, 2, ddof=0)), 12)   # (3/4) (2/4)
0.375
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from . import gaussian as _g

__all__ = [
    "expected_covariance",
    "expected_trace",
    "expected_determinant",
    "expected_log_determinant",
    "log_determinant_variance",
    "lyapunov_spectrum",
    "mean_drift_mse",
    "expected_w2_squared",
    "w2_squared_small_t",
    "w2_squared_bounds",
    "expected_log_determinant_schedule",
    "log_determinant_variance_schedule",
    "expected_determinant_schedule",
    "expected_trace_schedule",
    "mean_drift_mse_schedule",
]

Float = np.float64 | NDArray[np.float64]

#: Relative asymmetry ``max|A - A^T| / max|A|`` accepted in a ``Sigma0`` matrix.
SYMMETRY_RTOL = 1e-10
_MAX_INT = float(2**53)
_M = P.GAUSSIAN_M.restrict(high=_MAX_INT)
_D = P.d.restrict(high=1e6)
_EIG = P.Sigma0.restrict(low=0.0, low_open=True)
_METHODS = ("exact", "small_t", "bounds")


# --------------------------------------------------------------------------------------------
# validation (private)
# --------------------------------------------------------------------------------------------


def _out(x: ArrayLike) -> Float:
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _replace(workflow: W.WorkflowLike, name: str) -> None:
    W.require(workflow, f"theory.multivariate.{name}")


def _eigenvalues(Sigma0: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(eigenvalues, the validated array as given) of ``Sigma0``, or ``ValueError``."""
    arr = P.Sigma0.array(Sigma0)
    if arr.ndim == 1 and arr.size >= 1:
        return _EIG.array(arr), arr
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.size >= 1:
        scale = float(np.max(np.abs(arr)))
        if np.max(np.abs(arr - arr.T)) > SYMMETRY_RTOL * scale:
            raise ValueError(f"Sigma0 must be symmetric (max |Sigma0 - Sigma0^T| = "
                             f"{np.max(np.abs(arr - arr.T)):.3g})")
        eig = np.linalg.eigvalsh(0.5 * (arr + arr.T))
        if not np.all(eig > 0.0):
            raise ValueError(f"Sigma0 must be positive definite (smallest eigenvalue "
                             f"{eig.min():.6g})")
        try:
            np.linalg.cholesky(arr)
        except np.linalg.LinAlgError:
            raise ValueError("Sigma0 must be positive definite (Cholesky failed)") from None
        return eig, arr
    raise ValueError(f"Sigma0 must be a d x d matrix or a vector of d eigenvalues, d >= 1 "
                     f"(got shape {arr.shape})")


def _nM(n: ArrayLike, M: ArrayLike, ddof: ArrayLike):
    n_ = P.n.array(n)
    d_ = P.ddof.array(ddof)
    M_ = _M.array(M)
    _g._broadcast(n=n_, M=M_, ddof=d_)
    P.require_greater(_M, M_, P.ddof, d_)
    return n_, M_, d_


def _Md(M_: NDArray[np.float64], d: ArrayLike) -> int:
    d_ = int(_D.scalar(d))
    P.require_greater(_M, M_, P.d, d_)
    return d_


def _per_dimension(M_: NDArray[np.float64], ddof_: NDArray[np.float64], d: int):
    """Bartlett's diagonal for k = 1..d, as the 1-D recursion with (M', ddof') =
    (M - k + 1, ddof - k + 1): chi2_{M'-1} = chi2_{M-k} and M' - ddof' = M - ddof. Arrays of
    shape broadcast(M, ddof) + (d,)."""
    k = np.arange(1, d + 1, dtype=np.float64)
    return M_[..., None] - k + 1.0, ddof_[..., None] - k + 1.0, k


# --------------------------------------------------------------------------------------------
# moments of the covariance, the trace and the mean
# --------------------------------------------------------------------------------------------


def expected_covariance(n: ArrayLike, M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                        workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """The expected covariance ``E Sigma_n`` of generation ``n``.

    Formula: E Sigma_n = r^n Sigma0, r = (M-1)/(M-ddof) (exact: E[W/(M-ddof)] = r I for
    W ~ Wishart_d(M-1, I), and E Sigma_n = E[L_{n-1} E(W/(M-ddof)) L_{n-1}^T] by the tower
    property). Conserved for ddof=1; any M >= 2 (also M <= d).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2 and > ddof.
    Sigma0 : array_like
        Original covariance: a symmetric positive definite ``d x d`` matrix, or its ``d``
        eigenvalues (each > 0).
    ddof : float or array_like, optional
        Delta degrees of freedom of ``Sigma_t = S_t / (M - ddof)``, real >= 0: 1 (default)
        unbiased, 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``); others raise ``ValueError``.

    Returns
    -------
    ndarray
        float64 of shape ``broadcast(n, M, ddof) + Sigma0.shape``: a matrix per point for a
        matrix ``Sigma0``, the diagonal of ``E Sigma_n`` in ``Sigma0``'s eigenbasis for
        eigenvalues.

    Notes
    -----
    Exact; cost O(d^2) per point. ``r^n`` is ``exp(n log1p((ddof-1)/(M-ddof)))``.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), Thm 3.1 (covariance version).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.expected_covariance(2, 3, [[2.0, 0.5], [0.5, 1.0]], ddof=0)   # (2/3)^2 Sigma0
    array([[0.88888889, 0.22222222],
           [0.22222222, 0.44444444]])
    """
    _replace(workflow, "expected_covariance")
    _, given = _eigenvalues(Sigma0)
    factor = np.asarray(_g.expected_variance(n, M, ddof=ddof))
    return factor[(...,) + (None,) * given.ndim] * given


def expected_trace(n: ArrayLike, M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                   workflow: W.WorkflowLike = None) -> Float:
    """The expected total variance ``E tr Sigma_n`` of generation ``n``.

    Formula: E tr Sigma_n = r^n tr Sigma0, r = (M-1)/(M-ddof) (the trace of
    :func:`expected_covariance`; computed by
    :func:`modelcollapse.theory.gaussian.expected_variance` with ``sigma2 = tr Sigma0``).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2 and > ddof.
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``ddof``; a NumPy scalar for scalar input.

    Notes
    -----
    Exact, any M >= 2 (also M <= d); relative accuracy ~1e-15 for M up to 2**53.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), Thm 3.1.
    .. [2] J. Kazdan et al., "Collapse or Thrive?", 2024 (trace ratios by simulation).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.expected_trace(10, 100, [1.0, 2.0], ddof=0)), 12)   # 3 (0.99)^10
    2.713146225026
    """
    _replace(workflow, "expected_trace")
    eig, _ = _eigenvalues(Sigma0)
    return _g.expected_variance(n, M, ddof=ddof, sigma2=float(eig.sum()))


def mean_drift_mse(n: ArrayLike, M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                   workflow: W.WorkflowLike = None) -> Float:
    """The mean squared drift ``E ||mu_n - mu0||^2`` of the mean of generation ``n``.

    Formula: E ||mu_n - mu0||^2 = (tr Sigma0 / M) sum_{j<n} r^j, r = (M-1)/(M-ddof): the
    increments ``mu_j - mu_{j-1}`` are uncorrelated with E||.||^2 = E tr Sigma_{j-1} / M. This is
    :func:`modelcollapse.theory.gaussian.mean_drift_mse` with ``sigma2 = tr Sigma0``.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2 and > ddof.
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``ddof``; a NumPy scalar for scalar input.

    Notes
    -----
    Exact, any M >= 2; = n tr Sigma0 / M for ddof=1.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), SI (mean drift).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.mean_drift_mse(10, 100, [1.0, 2.0, 3.0])), 12)   # n tr / M
    0.6
    """
    _replace(workflow, "mean_drift_mse")
    eig, _ = _eigenvalues(Sigma0)
    return _g.mean_drift_mse(n, M, ddof=ddof, sigma2=float(eig.sum()))


# --------------------------------------------------------------------------------------------
# the determinant (Bartlett) and the Lyapunov spectrum
# --------------------------------------------------------------------------------------------


def expected_determinant(n: ArrayLike, M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                         det0: ArrayLike = 1.0, workflow: W.WorkflowLike = None) -> Float:
    """The expected generalised variance ``E det Sigma_n`` of generation ``n``.

    Formula: E det Sigma_n = det0 (prod_{k=1..d} (M-k)/(M-ddof))^n, from
    E det W = prod_{k=1..d} (M-k) for W ~ Wishart_d(M-1, I) (Bartlett: det W = prod_k chi2_{M-k},
    independent) and the independence of the generations. Evaluated as
    det0 exp(n sum_k log1p((ddof-k)/(M-ddof))).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1 (at most 1e6).
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    det0 : float or array_like, optional
        det Sigma0, real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``ddof``, ``det0``; a NumPy scalar for scalar
        input. Values below the float64 range underflow to 0 (use
        :func:`expected_log_determinant` for the typical size).

    Notes
    -----
    Exact. M <= d raises ``ValueError`` (the fitted scatter matrix is singular, det = 0). Cost
    O(d) per point. E det Sigma_n decays even for ddof=1 when d >= 2 (the factor is
    prod_k (1 - (k-1)/(M-1)) < 1), while E tr Sigma_n is conserved.

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.15.
    .. [2] J. Kazdan et al., "Collapse or Thrive?", 2024 (det ratios by simulation).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.expected_determinant(1, 10, 3)), 12)    # (9 8 7)/9^3
    0.691358024691
    """
    _replace(workflow, "expected_determinant")
    n_, M_, dd = _nM(n, M, ddof)
    d_ = _Md(M_, d)
    det0_ = P.det0.array(det0)
    _g._broadcast(n=n_, M=M_, ddof=dd, det0=det0_)
    _, _, k = _per_dimension(M_, dd, d_)
    log_factor = np.sum(np.log1p((dd[..., None] - k) / (M_[..., None] - dd[..., None])), axis=-1)
    return _out(_g._times_exp(det0_, n_ * log_factor))


def lyapunov_spectrum(M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                      workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """The Lyapunov exponents of the eigenvalues of ``Sigma_t`` (per generation).

    Formula: lambda_k = E log(chi2_{M-k} / (M-ddof)) = psi((M-k)/2) + log(2/(M-ddof)),
    k = 1..d (psi the digamma function), so that ``log eig_k(Sigma_t) / t -> lambda_k`` almost
    surely, ``lambda_1 > lambda_2 > ... > lambda_d``. The Cholesky factor of Sigma_t is
    ``L_0 B_1 ... B_t / (M-ddof)^{t/2}`` with i.i.d. lower-triangular Bartlett factors, and the
    exponents of a product of i.i.d. triangular matrices are the mean log-diagonals.

    Parameters
    ----------
    M : int or array_like
        Points drawn per generation, integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1 (at most 1e6).
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``broadcast(M, ddof) + (d,)``, decreasing along the last axis. Their
        sum is the per-generation drift of ``E log det Sigma_t``.

    Notes
    -----
    Exact (the exponents; the rate at which each eigenvalue decays). Each exponent is evaluated
    as [psi(a) - log a + 1/(2a)] + log1pmx(u) + a rational remainder (no cancellation, M up to
    2**53). Independent of Sigma0. For ddof=1 every exponent is < 0: every eigenvalue collapses,
    the smallest fastest (lambda_d - lambda_1 ~ -(d-1)/M).

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), Thm 3.1.
    .. [2] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.14.
    .. [3] J. R. Key, "Lyapunov exponents for products of random triangular matrices" (1990).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.lyapunov_spectrum(10, 3).round(6)
    array([-0.115206, -0.24796 , -0.400921])
    """
    _replace(workflow, "lyapunov_spectrum")
    dd = P.ddof.array(ddof)
    M_ = _M.array(M)
    _g._broadcast(M=M_, ddof=dd)
    P.require_greater(_M, M_, P.ddof, dd)
    d_ = _Md(M_, d)
    Mk, dk, _ = _per_dimension(M_, dd, d_)
    return np.asarray(_g._mean_log_step(Mk, dk), dtype=np.float64)


def expected_log_determinant(n: ArrayLike, M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                             det0: ArrayLike = 1.0, workflow: W.WorkflowLike = None) -> Float:
    """The mean ``E log det Sigma_n`` of the log generalised variance of generation ``n``.

    Formula: E log det Sigma_n = log det0 + n sum_{k=1..d} [log 2 + psi((M-k)/2) - log(M-ddof)]
    (E log chi2_m = log 2 + psi(m/2); Bartlett's diagonal, independent across k and across
    generations): ``log det0 + n sum(lyapunov_spectrum(M, d))``.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1 (at most 1e6).
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    det0 : float or array_like, optional
        det Sigma0, real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``ddof``, ``det0``; a NumPy scalar for scalar
        input.

    Notes
    -----
    Exact. M <= d raises ``ValueError`` (log det = -inf from generation 1). Every term is
    computed without cancellation (see :func:`lyapunov_spectrum`), so the value keeps its
    relative accuracy for M up to 2**53 and any n; cost O(d) per point.

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.14.
    .. [2] I. Shumailov et al., Nature 631 (2024), Thm 3.1 and SI.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.expected_log_determinant(1, 3, 2)), 12)   # psi(1) + psi(1/2)
    -2.540725690923
    """
    _replace(workflow, "expected_log_determinant")
    n_, M_, dd = _nM(n, M, ddof)
    d_ = _Md(M_, d)
    det0_ = P.det0.array(det0)
    _g._broadcast(n=n_, M=M_, ddof=dd, det0=det0_)
    Mk, dk, _ = _per_dimension(M_, dd, d_)
    rate = np.sum(_g._mean_log_step(Mk, dk), axis=-1)
    return _out(np.log(det0_) + n_ * rate)


def log_determinant_variance(n: ArrayLike, M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                             det0: ArrayLike = 1.0, workflow: W.WorkflowLike = None) -> Float:
    """The variance ``Var log det Sigma_n`` of the log generalised variance of generation ``n``.

    Formula: Var log det Sigma_n = n sum_{k=1..d} psi'((M-k)/2) (psi' the trigamma function;
    Var log chi2_m = psi'(m/2)), independent of ddof and det0.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1 (at most 1e6).
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1); validated and broadcast only.
    det0 : float or array_like, optional
        det Sigma0, real > 0 (default 1); validated and broadcast only.
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``ddof``, ``det0``; a NumPy scalar for scalar
        input.

    Notes
    -----
    Exact; M <= d raises ``ValueError``. Relative accuracy ~1e-15 (scipy's polygamma); for
    large M it is about 2 n d / M.

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.14.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.log_determinant_variance(1, 3, 2)), 12)   # psi'(1) + psi'(1/2) = 2 pi^2/3
    6.579736267393
    """
    _replace(workflow, "log_determinant_variance")
    n_, M_, dd = _nM(n, M, ddof)
    d_ = _Md(M_, d)
    det0_ = P.det0.array(det0)
    shape = _g._broadcast(n=n_, M=M_, ddof=dd, det0=det0_)
    k = np.arange(1, d_ + 1, dtype=np.float64)
    total = np.sum(special.polygamma(1, 0.5 * (M_[..., None] - k)), axis=-1)
    return _out(np.broadcast_to(n_ * total, shape))


# --------------------------------------------------------------------------------------------
# Bures-Wasserstein drift
# --------------------------------------------------------------------------------------------


def _small_t(n_, M_, eig):
    lam = eig
    pair = lam[:, None] * lam[None, :] / (lam[:, None] + lam[None, :])
    cross = float(pair.sum() - np.trace(pair))
    return n_ / M_ * (1.5 * float(lam.sum()) + 0.5 * cross)


def w2_squared_small_t(n: ArrayLike, M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                       workflow: W.WorkflowLike = None) -> Float:
    """Leading order in ``n/M`` of ``E W2^2(N(mu_n, Sigma_n), N(mu0, Sigma0))``.

    Formula: E W2^2 ~ (n/M) [ (3/2) tr Sigma0 + (1/2) sum_{i != j} l_i l_j / (l_i + l_j) ],
    l_i the eigenvalues of Sigma0: the mean drift n tr Sigma0 / M plus the Bures metric
    (1/2) sum_ij X_ij^2 / (l_i + l_j) of the covariance fluctuation X (in Sigma0's eigenbasis),
    E X_ij^2 ~ (1 + [i = j]) l_i l_j n / M. For Sigma0 = s I: n s d (1 + (d+1)/4) / M;
    for d = 1: 3 n sigma2 / (2 M).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2 and > ddof.
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1); it enters at the next order only.
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``ddof``; a NumPy scalar for scalar input.

    Notes
    -----
    Asymptotic: relative error O((n + d)/M) (the next order). Measured: against the exact
    d = 1 formula, 2.9e-4 relative at n = 1, M = 1000; against the sample-level simulation of
    tests/test_theory_multivariate.py at d = 3, Sigma0 = diag(1, 2, 4), M = 400, n = 1, 2:
    within 1 % (the Monte Carlo standard error is 0.7 %). Cost O(d^2) once.

    References
    ----------
    .. [1] R. Bhatia, T. Jain and Y. Lim, Expo. Math. 37 (2019) (the Bures-Wasserstein metric).
    .. [2] I. Shumailov et al., Nature 631 (2024), SI (d = 1).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.w2_squared_small_t(1, 1000, [1.0, 1.0])), 12)   # 2 (1 + 3/4) / 1000
    0.0035
    """
    _replace(workflow, "w2_squared_small_t")
    eig, _ = _eigenvalues(Sigma0)
    n_, M_, dd = _nM(n, M, ddof)
    return _out(np.broadcast_to(_small_t(n_, M_, eig), _g._broadcast(n=n_, M=M_, ddof=dd)))


def w2_squared_bounds(n: ArrayLike, M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                      workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """Proven lower and upper bounds on ``E W2^2(N(mu_n, Sigma_n), N(mu0, Sigma0))``.

    Formula: W2^2 = ||mu_n - mu0||^2 + tr Sigma0 + tr Sigma_n - 2 F,
    F = tr (Sigma0^{1/2} Sigma_n Sigma0^{1/2})^{1/2} = sum_i sqrt(m_i), m_i the eigenvalues of
    Sigma0^{1/2} Sigma_n Sigma0^{1/2}. Everything but E F is exact (:func:`mean_drift_mse`,
    :func:`expected_trace`). Bounds on E F:

    - upper (Cauchy-Schwarz, then Jensen): F <= sqrt(d tr(Sigma0 Sigma_n)), so
      E F <= sqrt(d r^n tr(Sigma0^2)), r = (M-1)/(M-ddof); also F <= (tr Sigma0 + tr Sigma_n)/2
      (W2 >= 0), which gives the lower bound E W2^2 >= E||mu_n - mu0||^2;
    - lower: in law Sigma_n = Sigma0^{1/2} V_n Sigma0^{1/2} with V_n the covariance chain
      started at I, whose law is rotation invariant; so F = ||Sigma0 V_n^{1/2}||_* >=
      tr(Sigma0 V_n^{1/2}) and E F >= tr Sigma0 E tr(V_n^{1/2}) / d >= tr Sigma0 g^n by AM-GM
      (tr V^{1/2} >= d det(V)^{1/(2d)}), with g = prod_k E (chi2_{M-k}/(M-ddof))^{1/(2d)}
      (Bartlett; E chi2_m^s = 2^s Gamma(m/2 + s)/Gamma(m/2)). This gives the upper bound
      E W2^2 <= E||mu_n - mu0||^2 + tr Sigma0 (1 + r^n - 2 g^n), which is 0 at n = 0.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2, > ddof and > d.
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``broadcast(n, M, ddof) + (2,)``: ``[..., 0]`` the lower bound,
        ``[..., 1]`` the upper bound.

    Notes
    -----
    Bounds (rigorous). For d = 1 the upper bound is the exact value (AM-GM is an equality). For
    d > 1 they are not tight: the AM-GM gap is of the same order n/M as the quantity itself
    (measured: at d = 3, Sigma0 = diag(1, 2, 4), M = 400, n = 1 the simulated value 0.0329 lies
    in [0.0175, 0.0497]; the lower bound is often just the mean drift). M <= d raises
    ``ValueError`` (needed for the determinant).

    References
    ----------
    .. [1] R. Bhatia, T. Jain and Y. Lim, Expo. Math. 37 (2019).
    .. [2] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.15.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> lo, hi = mv.w2_squared_bounds(5, 100, [1.0, 1.0, 1.0])
    >>> bool(0 < lo < mv.w2_squared_small_t(5, 100, [1.0, 1.0, 1.0]) < hi)
    True
    """
    _replace(workflow, "w2_squared_bounds")
    eig, _ = _eigenvalues(Sigma0)
    n_, M_, dd = _nM(n, M, ddof)
    d_ = _Md(M_, eig.size)
    tr0 = float(eig.sum())
    q = float(np.sum(eig**2))
    drift = np.asarray(_g.mean_drift_mse(n_, M_, ddof=dd, sigma2=tr0))
    log_r = _g._log_ratio_factor(M_, dd)
    with np.errstate(over="ignore", invalid="ignore"):
        # lower bound: drift + tr0 + tr0 r^n - 2 sqrt(d q) r^{n/2}, floored at drift
        cs = np.sqrt(d_ * q)
        lower = (drift + (tr0 - cs) + tr0 * np.expm1(n_ * log_r)
                 - 2.0 * cs * np.expm1(0.5 * n_ * log_r))
        lower = np.maximum(lower, drift)
        # upper bound: drift + tr0 (1 + r^n - 2 g^n)
        Mk, dk, _ = _per_dimension(M_, dd, d_)
        s = np.full_like(Mk, 0.5 / d_)
        log_g = np.sum(_g._log_moment_step(Mk, dk, s), axis=-1)
        upper = drift + tr0 * (np.expm1(n_ * log_r) - 2.0 * np.expm1(n_ * log_g))
    shape = _g._broadcast(n=n_, M=M_, ddof=dd)
    return np.stack([np.broadcast_to(lower, shape), np.broadcast_to(upper, shape)], axis=-1)


def expected_w2_squared(n: ArrayLike, M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                        method: str = "exact", workflow: W.WorkflowLike = None
                        ) -> Float | NDArray[np.float64]:
    """``E W2^2`` between generation ``n`` and generation 0 (Bures-Wasserstein drift).

    Formula: W2^2(N(mu_n, Sigma_n), N(mu0, Sigma0)) = ||mu_n - mu0||^2 + tr Sigma0 + tr Sigma_n
    - 2 tr (Sigma0^{1/2} Sigma_n Sigma0^{1/2})^{1/2}. ``method='exact'``: for d = 1 the exact
    closed form of :func:`modelcollapse.theory.gaussian.expected_w2_squared`; ``'small_t'``:
    :func:`w2_squared_small_t`; ``'bounds'``: :func:`w2_squared_bounds`.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0 (0 is the original distribution).
    M : int or array_like
        Points drawn per generation, integer >= 2 and > ddof (and > d for ``'bounds'``).
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom of the covariance estimator, real >= 0 (default 1).
    method : {'exact', 'small_t', 'bounds'}
        How the fidelity term is evaluated.
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    float or ndarray
        float64 broadcast over ``n``, ``M``, ``ddof`` (``'bounds'``: an extra last axis of 2,
        lower and upper).

    Notes
    -----
    ``'exact'`` is exact for d = 1 and raises ``ValueError`` for d > 1: the expected fidelity
    E tr (Sigma0^{1/2} Sigma_n Sigma0^{1/2})^{1/2} (the expected sum of singular values of a
    product of n Wishart factors) has no closed form we know, and no deterministic quadrature
    with a stated accuracy is implemented; use ``'bounds'`` (rigorous) or ``'small_t'``
    (asymptotic in n/M), or simulate.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), SI (Wasserstein-2 distance).
    .. [2] R. Bhatia, T. Jain and Y. Lim, Expo. Math. 37 (2019).

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> round(float(mv.expected_w2_squared(10, 100, [1.0])), 12)   # d = 1: the 1-D value
    0.149871857195
    """
    m = P.Choice("method", "evaluation of E W2^2 in d dimensions", _METHODS).check(method)
    _replace(workflow, "expected_w2_squared")
    if m == "small_t":
        return w2_squared_small_t(n, M, Sigma0, ddof=ddof)
    if m == "bounds":
        return w2_squared_bounds(n, M, Sigma0, ddof=ddof)
    eig, _ = _eigenvalues(Sigma0)
    if eig.size != 1:
        raise ValueError(f"method='exact' needs d = 1 (got d = {eig.size}): for d > 1 E W2^2 "
                         "has no closed form here; use method='bounds' or 'small_t'")
    return _g.expected_w2_squared(n, M, ddof=ddof, sigma2=float(eig[0]))


# --------------------------------------------------------------------------------------------
# sample-size schedules M_1, ..., M_n
# --------------------------------------------------------------------------------------------


def _schedule_terms(M: ArrayLike, d: int, ddof: ArrayLike):
    """Validated schedule (each M_j > d), its per-dimension (M', ddof', k) arrays of shape
    lead + (n, d), and the leading shape of ``ddof``."""
    Mi, dd, _, lead = _g._schedule(M, ddof, 1.0)
    d_ = int(_D.scalar(d))
    P.require_greater(_M, Mi, P.d, d_)
    Mb = np.broadcast_to(Mi, lead + Mi.shape)
    db = np.broadcast_to(dd, lead + Mi.shape)
    k = np.arange(1, d_ + 1, dtype=np.float64)
    return Mb[..., None] - k + 1.0, db[..., None] - k + 1.0, k, Mb, db


def expected_log_determinant_schedule(M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                                      det0: float = 1.0,
                                      workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``E log det Sigma_i`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E log det Sigma_i = log det0 + sum_{j<=i} sum_{k=1..d} [log 2 + psi((M_j-k)/2)
    - log(M_j - ddof)] (Bartlett, each generation with its own sample size).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n`` (1-D; ``M_j`` points for the fit that produces
        generation ``j``), each an integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1.
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1); its shape leads the result's.
    det0 : float, optional
        det Sigma0, real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``ddof.shape + (len(M) + 1,)``: generations ``0..n`` on the last axis.

    Notes
    -----
    Exact; cost O(n d). With a constant schedule it equals :func:`expected_log_determinant`.

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.14.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.expected_log_determinant_schedule([3, 3], 2).round(6)   # 0, psi(1)+psi(1/2), twice
    array([ 0.      , -2.540726, -5.081451])
    """
    _replace(workflow, "expected_log_determinant_schedule")
    Mk, dk, _, _, _ = _schedule_terms(M, d, ddof)
    det0_ = float(P.det0.scalar(det0))
    steps = np.sum(_g._mean_log_step(Mk, dk), axis=-1)
    return np.log(det0_) + _g._prepend_zero(np.cumsum(steps, axis=-1))


def log_determinant_variance_schedule(M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                                      workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``Var log det Sigma_i`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: Var log det Sigma_i = sum_{j<=i} sum_{k=1..d} psi'((M_j-k)/2).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n`` (1-D), each an integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1.
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1); validated, its shape leads the result's.
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``ddof.shape + (len(M) + 1,)``.

    Notes
    -----
    Exact; cost O(n d).

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.14.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.log_determinant_variance_schedule([3], 2).round(6)   # psi'(1) + psi'(1/2)
    array([0.      , 6.579736])
    """
    _replace(workflow, "log_determinant_variance_schedule")
    _, _, k, Mb, _ = _schedule_terms(M, d, ddof)
    steps = np.sum(special.polygamma(1, 0.5 * (Mb[..., None] - k)), axis=-1)
    return _g._prepend_zero(np.cumsum(steps, axis=-1))


def expected_determinant_schedule(M: ArrayLike, d: int, *, ddof: ArrayLike = 1,
                                  det0: float = 1.0,
                                  workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``E det Sigma_i`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E det Sigma_i = det0 prod_{j<=i} prod_{k=1..d} (M_j - k)/(M_j - ddof).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n`` (1-D), each an integer >= 2, > ddof and > d.
    d : int
        Dimension, integer >= 1.
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1); its shape leads the result's.
    det0 : float, optional
        det Sigma0, real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``ddof.shape + (len(M) + 1,)``.

    Notes
    -----
    Exact (log-space product; underflows to 0 only below the float64 range).

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Thm 3.2.15.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.expected_determinant_schedule([4, 10], 2, ddof=0).round(6)   # 3 2/16, then 9 8/100
    array([1.   , 0.375, 0.27 ])
    """
    _replace(workflow, "expected_determinant_schedule")
    _, _, k, Mb, db = _schedule_terms(M, d, ddof)
    det0_ = float(P.det0.scalar(det0))
    steps = np.sum(np.log1p((db[..., None] - k) / (Mb[..., None] - db[..., None])), axis=-1)
    return det0_ * np.exp(_g._prepend_zero(np.cumsum(steps, axis=-1)))


def expected_trace_schedule(M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                            workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``E tr Sigma_i`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E tr Sigma_i = tr Sigma0 prod_{j<=i} (M_j-1)/(M_j-ddof)
    (:func:`modelcollapse.theory.gaussian.expected_variance_schedule` with
    ``sigma2 = tr Sigma0``).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n`` (1-D), each an integer >= 2 and > ddof.
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``ddof.shape + (len(M) + 1,)``.

    Notes
    -----
    Exact, any M_j >= 2.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), Thm 3.1.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.expected_trace_schedule([10, 10], [1.0, 2.0], ddof=0)
    array([3.  , 2.7 , 2.43])
    """
    _replace(workflow, "expected_trace_schedule")
    eig, _ = _eigenvalues(Sigma0)
    return _g.expected_variance_schedule(M, ddof=ddof, sigma2=float(eig.sum()))


def mean_drift_mse_schedule(M: ArrayLike, Sigma0: ArrayLike, *, ddof: ArrayLike = 1,
                            workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``E ||mu_i - mu0||^2`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E ||mu_i - mu0||^2 = sum_{j<=i} E tr Sigma_{j-1} / M_j
    (:func:`modelcollapse.theory.gaussian.mean_drift_mse_schedule` with ``sigma2 = tr Sigma0``).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n`` (1-D), each an integer >= 2 and > ddof.
    Sigma0 : array_like
        Original covariance (symmetric positive definite ``d x d``) or its eigenvalues.
    ddof : float or array_like, optional
        Delta degrees of freedom, real >= 0 (default 1).
    workflow : Workflow or str, optional
        Data policy; only ``'replace'`` (the default ``None``).

    Returns
    -------
    ndarray
        float64 of shape ``ddof.shape + (len(M) + 1,)``.

    Notes
    -----
    Exact, any M_j >= 2.

    References
    ----------
    .. [1] I. Shumailov et al., Nature 631 (2024), SI.

    Examples
    --------
    >>> from modelcollapse.theory import multivariate as mv
    >>> mv.mean_drift_mse_schedule([10, 20], [1.0, 2.0])   # 3/10, then + 3/20
    array([0.  , 0.3 , 0.45])
    """
    _replace(workflow, "mean_drift_mse_schedule")
    eig, _ = _eigenvalues(Sigma0)
    return _g.mean_drift_mse_schedule(M, ddof=ddof, sigma2=float(eig.sum()))
