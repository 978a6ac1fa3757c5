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

Conventions used throughout (the parameter vocabulary :mod:`modelcollapse.spec.params`):
``sigma2`` is the original variance ``sigma_0^2``; ``M`` is the number of points drawn per
generation (``M >= 2``, ``M > ddof``); ``n >= 0`` generations; every numeric argument broadcasts
with NumPy rules (``ddof`` and ``sigma2`` included) and results are float64 (a NumPy scalar for
scalar input). Schedules ``M_1, ..., M_n`` (``M_i`` points for the fit that produces generation
``i``) have their own ``*_schedule`` functions, because broadcasting over ``M`` means "a grid of
constant sample sizes". Every function of the refit takes ``workflow`` (a value of
:mod:`modelcollapse.spec.workflows`, the same one the simulators take); the formulas here are
those of ``replace``, and other workflows are refused with a ``ValueError``.

Layers. This module holds the public formulas. Special-function kernels (cancellation-free
log-gamma and digamma differences, accurate for ``M`` up to ``1e9`` and any ``n``) live in
:mod:`~modelcollapse.theory.special`; the law of ``S_n`` (Gil-Pelaez inversion of its
characteristic function, behind :func:`collapse_probability` and the quantiles) in
:mod:`~modelcollapse.theory.logwalk`.

References
----------
.. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
   collapse when trained on recursively generated data", Nature 631 (2024), 755-759
   (Thm 3.1, SI: moments, mean drift, Wasserstein-2).
.. [2] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability
   of iterative retraining of generative models on their own data", 2023 (the factor
   ``alpha(M) = c`` of :func:`std_factor`).
.. [3] Suresh, Thangaraj and Khandavally, "Rate of model collapse in recursive training", 2024
   (the survival bound of :func:`suresh_survival_bound`).
.. [4] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482 (the law
   of ``S_n``, in :mod:`~modelcollapse.theory.logwalk`).

Examples
--------
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

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from . import logwalk
from .special import lgamma_ratio, log1pmx, psi_minus_log, psi_minus_log_plus

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
    "log_variance_logcdf",
    "log_collapse_probability",
    "log_survival_probability",
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


def _out(x: NDArray[np.float64]) -> Float:
    """0-d arrays become NumPy scalars; everything float64."""
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _times_exp(scale: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """scale * exp(y), as exp(log(scale) + y) where exp(y) alone would under- or overflow (so
    that sigma2 = 1e300 times a factor 1e-320 is 1e-20, not 0)."""
    with np.errstate(over="ignore", divide="ignore"):
        plain = np.abs(y) < 700.0
        direct = scale * np.exp(np.where(plain, y, 0.0))
        return np.where(plain, direct, np.exp(np.log(scale) + y))


def _log_ratio_factor(M: NDArray[np.float64], ddof: NDArray[np.float64]) -> NDArray[np.float64]:
    """log((M-1)/(M-ddof)) = log1p((ddof-1)/(M-ddof)): the one-step log of E sigma'^2/sigma^2."""
    return np.log1p((ddof - 1.0) / (M - ddof))


def _log_moment_step(M, ddof, k) -> NDArray[np.float64]:
    """log E[(C/(M-ddof))^k] = k log1p((ddof-1)/(M-ddof)) + D((M-1)/2, k)."""
    a = 0.5 * (M - 1.0)
    return k * _log_ratio_factor(M, ddof) + lgamma_ratio(a, k)


def _mean_log_step(M, ddof) -> NDArray[np.float64]:
    """E log(C/(M-ddof)) = psi(a) + log(2/(M-ddof)) = [psi(a) - log a] + log1p((ddof-1)/(M-ddof)).

    Evaluated as [psi(a) - log a + 1/(2a)] + [log1p(u) - u] + [u - 1/(M-1)], u = (ddof-1)/(M-ddof),
    with u - 1/(M-1) = (M (ddof-2) + 1)/((M-ddof)(M-1)): every bracket is accurate, so the sum
    keeps its relative accuracy even where the two O(1/M) parts cancel (ddof near 2).
    """
    a = 0.5 * (M - 1.0)
    u = (ddof - 1.0) / (M - ddof)
    return psi_minus_log_plus(a) + log1pmx(u) + (M * (ddof - 2.0) + 1.0) / (M - ddof) / (M - 1.0)


# --------------------------------------------------------------------------------------------
# Validation helpers (private)
# --------------------------------------------------------------------------------------------


#: Largest sample size and (for the law of sigma_n^2) generation index accepted: 2**53, the
#: largest integer up to which float64 holds every integer.
_MAX_INT = 2**53
_M = P.GAUSSIAN_M.restrict(high=float(_MAX_INT))
_N_LAW = P.n.restrict(high=float(_MAX_INT))


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _broadcast(**arrays: NDArray[np.float64]) -> tuple[int, ...]:
    """The broadcast shape of the named arrays, or ``ValueError`` naming those that clash:
    ``'n and M do not broadcast: shapes (3,) and (2,)'`` (scalars are not listed)."""
    shapes = {name: np.shape(v) for name, v in arrays.items()}
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        shown = {k: v for k, v in shapes.items() if v != ()}
        raise ValueError(f"{_join(list(shown))} do not broadcast: shapes "
                         f"{_join([str(v) for v in shown.values()])}") from None


def _M_ddof(M: ArrayLike, ddof: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    d_ = P.ddof.array(ddof)
    M_ = _M.array(M)
    _broadcast(M=M_, ddof=d_)
    P.require_greater(_M, M_, P.ddof, d_)
    return M_, d_


def _nm(n: ArrayLike, M: ArrayLike, ddof: ArrayLike, *, law: bool = False):
    """Validated (n, M, ddof); ``law=True``: also n <= 2**53 (the law of sigma_n^2)."""
    n_ = (_N_LAW if law else P.n).array(n)
    M_, d_ = _M_ddof(M, ddof)
    _broadcast(n=n_, M=M_, ddof=d_)
    return n_, M_, d_


_sigma2 = P.sigma2.array


def _replace(workflow: W.WorkflowLike, name: str) -> None:
    """The formulas of this module are those of the replace workflow (no sampling bias)."""
    W.require(workflow, f"theory.gaussian.{name}")


def _plain(workflow: W.WorkflowLike) -> bool:
    """Whether ``workflow`` is plain replace (no bias): the formulas of this module."""
    try:
        wf = W.as_workflow(workflow)
    except ValueError:
        return True  # let _replace raise its message
    return wf.name == "replace" and not wf.bias.active


def _walk(
    M: NDArray[np.float64], ddof: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(a, c) of the log-variance walk: step log(G/a) + c, a = (M-1)/2, c = log((M-1)/(M-ddof))."""
    return 0.5 * (M - 1.0), _log_ratio_factor(M, ddof)


# --------------------------------------------------------------------------------------------
# Moments
# --------------------------------------------------------------------------------------------


def log_variance_moment(
    n: ArrayLike,
    M: ArrayLike,
    k: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Logarithm of the moment ``E[(sigma_n^2)^k]``, finite where the moment over- or underflows.

    Formula: k log(sigma2) + n [k log(2/(M-ddof)) + log Gamma(a+k) - log Gamma(a)],
    a = (M-1)/2, real k > -a (the moment is infinite for k <= -a when n >= 1). Evaluated as
    n [k log1p((ddof-1)/(M-ddof)) + D(a, k)], D(a, k) = log Gamma(a+k) - log Gamma(a) - k log a by
    a cancellation-free Stirling form (:func:`~modelcollapse.theory.special.lgamma_ratio`).
    Convention: generation 0 is the original N(mu_0, sigma2); ddof=1 unbiased, ddof=0 MLE.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    k : float or array_like
        Moment order, a finite real; ``k > -(M-1)/2`` wherever ``n >= 1``.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        ``log E[(sigma_n^2)^k]``, float64, broadcast over the numeric arguments (``ddof`` and
        ``sigma2`` included); a NumPy scalar for scalar input.

    Raises
    ------
    ValueError
        If an argument is outside its domain (the message names it), e.g. ``k <= -(M-1)/2``.

    Notes
    -----
    The one-step value has absolute error ~1e-16 (1 + |k|), so the log-moment's is ~n times that
    (measured: 9e-10 at n = 1e6, a = 1/2; 1e-12 relative at M = 1e9).

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1 and SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.log_variance_moment(3, 10, 2)), 12)      # 3 log(11/9)
    0.602012086386
    >>> float(g.variance_moment(10**6, 10, 2))                 # the moment itself overflows
    inf
    >>> round(float(g.log_variance_moment(10**6, 10, 2)), 6)   # 1e6 log(11/9)
    200670.695462
    """
    _replace(workflow, "log_variance_moment")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    k_ = P.k.array(k)
    _broadcast(n=n_, M=M_, k=k_, ddof=d_, sigma2=s2)
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
    n: ArrayLike,
    M: ArrayLike,
    k: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The moment ``E[(sigma_n^2)^k]`` of the variance of generation ``n``.

    Formula: E[(sigma_n^2)^k] = sigma2^k [2^k Gamma(a+k) / (Gamma(a) (M-ddof)^k)]^n, a=(M-1)/2,
    k > -a. Computed as exp(:func:`log_variance_moment`) (may overflow to inf / underflow to 0
    where the value is outside float64). Convention: generation 0 = original N(mu_0, sigma2);
    ddof=1 unbiased, ddof=0 MLE.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    k : float or array_like
        Moment order, a finite real; ``k > -(M-1)/2`` wherever ``n >= 1``.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1 and SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.variance_moment(3, 10, 2)), 12)    # (11/9)^3: the second moment grows
    1.825788751715
    >>> round(float(g.variance_moment(3, 10, 1, ddof=0, sigma2=2.0)), 12)   # 2 (9/10)^3
    1.458
    """
    _replace(workflow, "variance_moment")
    with np.errstate(over="ignore"):
        return _out(np.exp(log_variance_moment(n, M, k, ddof=ddof, sigma2=sigma2)))


def expected_variance(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The mean ``E sigma_n^2`` of the variance of generation ``n``.

    Formula: E sigma_n^2 = sigma2 ((M-1)/(M-ddof))^n, computed as
    sigma2 exp(n log1p((ddof-1)/(M-ddof))). Constant for ddof=1 (unbiased refit),
    sigma2 (1-1/M)^n for ddof=0 (MLE). Generation 0 is the original distribution.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); default ``None`` (``'replace'``, the
        formula above). ``replace`` with a ``variance_scale`` or ``truncation`` bias, ``mix``
        (fresh real data), ``accumulate`` and ``weighted`` dispatch to the exact formulas of
        :mod:`modelcollapse.theory.gaussian_workflows`; any other raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> float(g.expected_variance(10, 100))                 # ddof=1: constant
    1.0
    >>> round(float(g.expected_variance(10, 100, ddof=0)), 12)   # 0.99^10
    0.904382075009
    >>> g.expected_variance(5, [10, 100, 1000], ddof=0)     # a grid of constant M
    array([0.59049   , 0.95099005, 0.99500999])
    """
    if not _plain(workflow):
        from . import gaussian_workflows

        return gaussian_workflows.expected_variance(n, M, ddof=ddof, sigma2=sigma2,
                                                    workflow=workflow)
    _replace(workflow, "expected_variance")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    with np.errstate(over="ignore"):
        return _out(_times_exp(s2, n_ * _log_ratio_factor(M_, d_)))


def log_std_factor(M: ArrayLike, *, ddof: ArrayLike = 1, workflow: W.WorkflowLike = None) -> Float:
    """The logarithm ``log c`` of the per-generation factor of ``E sigma_n``.

    Formula: log c, c = sqrt(2/(M-ddof)) Gamma(M/2)/Gamma((M-1)/2) (see :func:`std_factor`).
    Computed as (1/2) log1p((ddof-1)/(M-ddof)) + D(a, 1/2), a = (M-1)/2, D(a, k) =
    log Gamma(a+k) - log Gamma(a) - k log a evaluated by a cancellation-free Stirling expansion,
    so it keeps its relative accuracy for M up to 1e9.

    Parameters
    ----------
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over ``M`` and ``ddof``; a NumPy scalar for scalar input. Negative for
        ``ddof <= 1``.

    References
    ----------
    .. [1] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability of
       iterative retraining of generative models on their own data", 2023.
    .. [2] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.log_std_factor(2)), 12)      # log sqrt(2/pi)
    -0.225791352645
    >>> float(g.log_std_factor(10**9))             # about -1/(4(M-1)): no cancellation
    -2.5000000025...e-10
    """
    _replace(workflow, "log_std_factor")
    M_, d_ = _M_ddof(M, ddof)
    return _out(_log_moment_step(M_, d_, 0.5))


def std_factor(M: ArrayLike, *, ddof: ArrayLike = 1, workflow: W.WorkflowLike = None) -> Float:
    """The factor ``c = E[sigma_1]/sigma_0`` of one refit, so that ``E sigma_n = sigma_0 c^n``.

    Formula: c = E[sigma_1]/sigma_0 = sqrt(2/(M-ddof)) Gamma(M/2)/Gamma((M-1)/2);
    E sigma_n = sigma_0 c^n. For ddof=1 this is Bertrand et al.'s alpha(M) < 1;
    c = 1 - 1/(4M) + O(M^-2) for ddof=1 and 1 + (2 ddof - 3)/(4M) + O(M^-2) in general.
    Convention: one refit on M points. Computed as exp(:func:`log_std_factor`).

    Parameters
    ----------
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over ``M`` and ``ddof``; a NumPy scalar for scalar input.

    References
    ----------
    .. [1] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability of
       iterative retraining of generative models on their own data", 2023.
    .. [2] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.std_factor(2)), 12), round(float(np.sqrt(2 / np.pi)), 12)
    (0.797884560803, 0.797884560803)
    >>> round(float(g.std_factor(100)), 12)        # 1 - 1/(4M) = 0.9975 to first order
    0.997477976071
    """
    _replace(workflow, "std_factor")
    return _out(np.exp(log_std_factor(M, ddof=ddof)))


def expected_std(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The mean ``E sigma_n`` of the standard deviation of generation ``n``.

    Formula: E sigma_n = sqrt(sigma2) c^n, c = :func:`std_factor` (M, ddof); computed as
    exp(n log c). Decays to 0 for every ddof <= 1 (typical collapse) although E sigma_n^2 is
    constant for ddof=1. Generation 0 = original distribution.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability of
       iterative retraining of generative models on their own data", 2023.
    .. [2] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.expected_std(100, 100)), 12)    # close to exp(-n/(4M)) = 0.7788
    0.776839931003
    >>> float(g.expected_std(0, 100, sigma2=4.0))     # generation 0: sigma_0
    2.0
    """
    _replace(workflow, "expected_std")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    with np.errstate(over="ignore"):
        return _out(_times_exp(np.sqrt(s2), n_ * _log_moment_step(M_, d_, 0.5)))


def expected_log_variance(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The mean ``E log sigma_n^2`` of the log-variance of generation ``n``.

    Formula: E log sigma_n^2 = log sigma2 + n [psi(a) + log(2/(M-ddof))], a = (M-1)/2, psi the
    digamma function. The bracket (< 0 for ddof <= 1) is evaluated as [psi(a) - log a] +
    log1p((ddof-1)/(M-ddof)) with an asymptotic series for psi(a) - log a at large a, so no digits
    are lost for M up to 1e9. log sigma_n^2 is a random walk: sigma_n -> 0 almost surely.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); default ``None`` (``'replace'``, the
        exact formula above). ``replace`` with a bias, ``mix`` (fresh real data), ``accumulate``
        and ``weighted`` dispatch to
        :func:`modelcollapse.theory.gaussian_workflows.expected_log_variance` (second-order
        delta method from the exact mean and variance of sigma_n^2; asymptotic, see there);
        any other raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1 and SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.expected_log_variance(1, 3)), 12)   # a = 1: psi(1) = -Euler's gamma
    -0.577215664902
    >>> float(g.expected_log_variance(10**6, 10**9))      # about -n/M, every digit kept
    -0.00100000000133...
    """
    if not _plain(workflow):
        from . import gaussian_workflows

        return gaussian_workflows.expected_log_variance(n, M, ddof=ddof, sigma2=sigma2,
                                                        workflow=workflow)
    _replace(workflow, "expected_log_variance")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    return _out(np.log(s2) + n_ * _mean_log_step(M_, d_))


def log_variance_variance(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The variance ``Var log sigma_n^2`` of the log-variance of generation ``n``.

    Formula: Var log sigma_n^2 = n psi'((M-1)/2) (psi' the trigamma function), independent of
    ddof and sigma2. Generation 0 has variance 0.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
        Validated, and broadcast into the result's shape; the value does not depend on it.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
        Validated, and broadcast into the result's shape; the value does not depend on it.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.log_variance_variance(1, 3)), 12)   # psi'(1) = pi^2/6
    1.644934066848
    >>> round(float(g.log_variance_variance(4, 3, ddof=0, sigma2=9.0)), 12)   # 4 pi^2/6
    6.579736267393
    """
    _replace(workflow, "log_variance_variance")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    a = 0.5 * (M_ - 1.0)
    shape = _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
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
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The mean squared drift ``E (mu_n - mu_0)^2`` of the mean of generation ``n``.

    Formula: E (mu_n - mu_0)^2 = (sigma2/M) sum_{i<n} r^i, r = (M-1)/(M-ddof);
    = n sigma2 / M for ddof=1 (a random walk of the mean); = sigma2 (1 - (1-1/M)^n) for ddof=0.
    The geometric sum is expm1(n log r)/expm1(log r) with log r = log1p((ddof-1)/(M-ddof)).
    Generation 0 = original distribution.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); default ``None`` (``'replace'``, the
        formula above). ``replace`` with a ``variance_scale`` or ``truncation`` bias, ``mix``
        (fresh real data), ``accumulate`` and ``weighted`` dispatch to the exact formulas of
        :mod:`modelcollapse.theory.gaussian_workflows`; any other raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.mean_drift_mse(10, 100)), 12)            # n / M
    0.1
    >>> round(float(g.mean_drift_mse(10, 100, ddof=0)), 12)    # 1 - 0.99^10
    0.095617924991
    """
    if not _plain(workflow):
        from . import gaussian_workflows

        return gaussian_workflows.mean_drift_mse(n, M, ddof=ddof, sigma2=sigma2, workflow=workflow)
    _replace(workflow, "mean_drift_mse")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
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
    d_half = lgamma_ratio(a, np.full_like(a, 0.5))
    log_c = 0.5 * _log_ratio_factor(M, ddof) + d_half
    with np.errstate(over="ignore"):
        return _scaled_expm1(2.0 * n * log_c, -2.0 * n * d_half) + np.expm1(n * log_c) ** 2


def expected_w2_squared(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Exact ``E W2^2`` between generation ``n`` and generation 0 (both Gaussian).

    W2^2 = (mu_n - mu_0)^2 + (sigma_n - sigma_0)^2, so
    E W2^2 = E(mu_n - mu_0)^2 + E sigma_n^2 - 2 sigma_0 E sigma_n + sigma_0^2
           = mean_drift_mse + sigma2 [c^{2n} expm1(n (log r - 2 log c)) + (c^n - 1)^2],
    r = (M-1)/(M-ddof), c = std_factor. Both terms of the bracket are >= 0, so there is no
    cancellation (log r - 2 log c = -2 D(a, 1/2) exactly, D as in :func:`log_std_factor`).
    Leading order (3/2) sigma2 n / M for large M. For ddof=0 the conservation law gives
    E W2^2 = 2 sigma_0 (sigma_0 - E sigma_n) -> 2 sigma2.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); default ``None`` (``'replace'``, the
        exact formula above). ``replace`` with a bias, ``mix`` (fresh real data), ``accumulate``
        and ``weighted`` dispatch to
        :func:`modelcollapse.theory.gaussian_workflows.expected_w2_squared` (exact drift and
        E sigma_n^2, E sigma_n by the second-order delta method; asymptotic, see there); any
        other raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI (Wasserstein-2 distance).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.expected_w2_squared(10, 100)), 12)    # leading order 1.5 n / M = 0.15
    0.149871857195
    >>> round(float(g.expected_w2_squared(10**6, 100, ddof=0)), 12)   # ddof=0: -> 2 sigma2
    2.0
    """
    if not _plain(workflow):
        from . import gaussian_workflows

        return gaussian_workflows.expected_w2_squared(n, M, ddof=ddof, sigma2=sigma2,
                                                      workflow=workflow)
    _replace(workflow, "expected_w2_squared")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    drift = _geometric_sum(n_, _log_ratio_factor(M_, d_)) / M_
    return _out(s2 * (drift + _w2_scale_part(n_, M_, d_)))


def marginal_variance(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The variance ``Var X^n`` of a point drawn from generation ``n``.

    Formula: Var X^n = E sigma_n^2 + E(mu_n - mu_0)^2 for a sample X^n of generation n (law of
    total variance); = sigma2 (1 + n/M) for ddof=1; exactly sigma2 for ddof=0 (the MLE conserves
    the second moment about mu_0).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.marginal_variance(10, 100)), 12)           # 1 + n/M
    1.1
    >>> round(float(g.marginal_variance(10, 100, ddof=0)), 12)   # conserved
    1.0
    """
    _replace(workflow, "marginal_variance")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    lr = _log_ratio_factor(M_, d_)
    with np.errstate(over="ignore"):
        return _out(_times_exp(s2, n_ * lr) + s2 * _geometric_sum(n_, lr) / M_)


# --------------------------------------------------------------------------------------------
# Law of log sigma_n^2: inversion in the bulk, saddle-point contour integrals in the tails
# --------------------------------------------------------------------------------------------

def _law(n: ArrayLike, M: ArrayLike, ddof: ArrayLike, name: str, value: ArrayLike,
         param: P.Param, **more: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Validated (n, a, c, value) of the log-variance walk, a = (M-1)/2, c = log((M-1)/(M-ddof));
    ``more``: other validated arguments that must broadcast with them."""
    n_, M_, d_ = _nm(n, M, ddof, law=True)
    v_ = param.array(value)
    _broadcast(**{"n": n_, "M": M_, name: v_, "ddof": d_}, **more)
    a, c = _walk(M_, d_)
    return n_, a, c, v_


def log_variance_cdf(
    n: ArrayLike,
    M: ArrayLike,
    x: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The distribution function ``P(log(sigma_n^2 / sigma_0^2) <= x)`` of the log-variance.

    For real x (any size); equal to collapse_probability(n, M, exp(x)) but usable where exp(x)
    would under/overflow. Computed by :func:`modelcollapse.theory.logwalk.cdf_parts` on the walk
    with a = (M-1)/2, c = log((M-1)/(M-ddof)); see :func:`collapse_probability` for the method,
    its regimes and its measured accuracy (relative, in both tails).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    x : float or array_like
        A point of the log-variance axis ``log(sigma_n^2 / sigma_0^2)``, real (``-inf`` and
        ``inf`` allowed).
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 probability in ``[0, 1]``, broadcast over ``n``, ``M``, ``x`` and ``ddof``; a
        NumPy scalar for scalar input. 0 only where the probability is below the smallest
        subnormal number (about 4.9e-324), 1 only where its complement rounds to 0 below 1.

    See Also
    --------
    log_variance_logcdf : its logarithm, finite where the probability underflows.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1.
    .. [2] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.log_variance_cdf(1, 3, np.log(0.5))), 12)   # 1 - exp(-1/2)
    0.393469340287
    >>> round(float(g.log_variance_cdf(10**4, 10, -1000.0)), 10)  # exp(-1000) underflows
    0.9988783109
    >>> float(g.log_variance_cdf(10, 10, -120.0))                 # deep left tail
    1.01840604004...e-204
    """
    _replace(workflow, "log_variance_cdf")
    n_, a, c, x_ = _law(n, M, ddof, "x", x, P.x)
    return _out(logwalk.cdf_parts(n_, a, c, x_)[0])


def log_variance_logcdf(
    n: ArrayLike,
    M: ArrayLike,
    x: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The logarithm ``log P(log(sigma_n^2 / sigma_0^2) <= x)`` of the log-variance's cdf.

    Finite wherever the probability is positive, however far beyond float64 it lies (down to
    about ``-1.8e308``): far in the left tail it is about ``-L``, ``L`` the Chernoff exponent of
    :func:`collapse_probability`. The method and its accuracy are those of
    :func:`collapse_probability` (relative error of the probability = absolute error of its
    logarithm); near 1 it is ``log1p(-P(S_n > x))`` with the upper tail computed directly.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    x : float or array_like
        A point of the log-variance axis ``log(sigma_n^2 / sigma_0^2)``, real (``-inf`` and
        ``inf`` allowed).
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 value ``<= 0`` (``-inf`` only for ``n = 0`` and ``x < 0``, or ``x = -inf``),
        broadcast over ``n``, ``M``, ``x`` and ``ddof``; a NumPy scalar for scalar input.

    References
    ----------
    .. [1] R. Lugannani and S. Rice, "Saddle point approximation for the distribution of the sum
       of independent random variables", Adv. Appl. Probab. 12 (1980), 475-490.
    .. [2] H. E. Daniels, "Tail probability approximations", Int. Statist. Rev. 55 (1987),
       37-48.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian as g
    >>> float(g.log_variance_logcdf(10, 10, -120.0))      # log of 1.018e-204
    -469.709120271...
    >>> float(g.log_variance_logcdf(10, 10, -1e5))        # P is about exp(-4.5e5)
    -449867.545311...
    >>> float(g.log_variance_logcdf(1, 3, np.log(0.5))), float(np.log1p(-np.exp(-0.5)))
    (-0.9327521295671..., -0.9327521295671...)
    """
    _replace(workflow, "log_variance_logcdf")
    n_, a, c, x_ = _law(n, M, ddof, "x", x, P.x)
    return _out(logwalk.log_cdf_parts(n_, a, c, x_)[0])


def collapse_probability(
    n: ArrayLike,
    M: ArrayLike,
    eps: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Probability that generation ``n`` has collapsed: ``P(sigma_n^2 <= eps sigma_0^2)``.

    ``eps`` is a ratio of VARIANCES (P(sigma_n <= 0.1 sigma_0) uses eps = 0.01).
    S_n = log(sigma_n^2/sigma_0^2) is a sum of n i.i.d. steps log(G/a) + c, G ~ Gamma(a, 1),
    a = (M-1)/2, c = log((M-1)/(M-ddof)), with cumulant generating function
    K(u) = u c + log Gamma(a+u) - log Gamma(a) - u log a (convex, u > -a) and characteristic
    function exp(n K(it)); the probability is P(S_n <= log eps). Regimes, chosen by the saddle
    point u* of n K(u) - u log(eps) (n K'(u*) = log eps) and w = sign(u*) sqrt(2 L), where
    L = u* log(eps) - n K(u*) >= 0 is the Chernoff exponent (P <= e^-L on the side of u*):

    - n = 0: 1 if eps >= 1 else 0.
    - Bulk, |w| < 2.5 (P and 1 - P both above about 0.005). n = 1, M <= 1e6: the gamma cdf
      (scipy gammainc). Otherwise Gil-Pelaez on the standardised Y = (S - E S)/sd(S),
      F(y) = 1/2 - (1/pi) sum_{k>=0} Im(e^{-i s_k y} phi_Y(s_k)) / (k + 1/2), s_k = (k + 1/2) h,
      a midpoint rule whose error is the mass outside a window holding all but 1e-14 of it on
      each side (located by Chernoff bounds), truncated where |phi_Y| < 1e-15.
    - Tails, |w| >= 2.5: the exact inversion integral along the vertical line through the
      saddle point, P = e^-L (1/pi) int_0^inf Re[e^(n (K(u*+it) - K(u*)) - it log eps) /
      (-(u*+it))] dt for u* < 0 (for u* > 0 the same with 1/(u*+it) gives 1 - P), summed by the
      trapezoid rule with its step set against the singularities (the pole at 0, the poles of
      Gamma(a+u) from -a on); the steepest-descent integral behind the Lugannani-Rice formula,
      evaluated rather than expanded, so that the smaller of P and 1 - P is relatively accurate
      however small. Where that rule would need more than 2^17 nodes: n = 1 uses the series of
      the incomplete gamma function, far left tails the residue at the pole u = -a (of order n),
      nearly Gaussian tails (-log P above ~1e9) the second-order Lugannani-Rice formula.

    The log-gamma differences come from :mod:`~modelcollapse.theory.special` and the engine is
    :mod:`modelcollapse.theory.logwalk`. Convention: generation 0 = original; ddof=1 unbiased,
    ddof=0 MLE.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 probability in ``[0, 1]``, broadcast over ``n``, ``M``, ``eps`` and ``ddof``; a
        NumPy scalar for scalar input. 0 only where the probability is below the smallest
        subnormal number (about 4.9e-324), 1 only where 1 - P is below half an ulp of 1.

    See Also
    --------
    log_collapse_probability : its logarithm, finite where the probability underflows.
    survival_probability : the complement, computed directly.

    Notes
    -----
    Accuracy measured against mpmath at {npts} random points (n from 1 to 1e6, M from 2 to 1e9,
    ddof 0 and 1, P from 1e-300 to 1/2 and log P down to -1e9): references the regularised
    incomplete gamma function (n = 1), the convolution integral (n = 2) and, for every n, the
    same inversion integral by tanh-sinh quadrature at 30 digits with mpmath's own log-gamma.

    - bulk: absolute error below {bulk_abs} (relative below {bulk_rel});
    - tails (trapezoid rule on the saddle-point line): relative error below
      ``{tail_rel} + 4 kappa eps_64``, ``kappa = |log eps| f / P`` the condition number of P
      (``f`` the density of S_n at log eps, ``eps_64 = 2^-52``): the error of rounding log eps
      itself, which only matters for large n (``kappa eps_64`` is about 2e-12 at n = 1e6,
      M = 2, P = 1e-223);
    - n = 1 series, residue: relative error below {series_rel} and {residue_rel};
    - Lugannani-Rice: relative error of log P below {lr_rel} where it is used.

    A 100 x 100 (M, n) grid takes about 0.3 s on one core (benchmarks/).

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1 (sigma_n -> 0 a.s.).
    .. [2] J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951), 481-482.
    .. [3] R. Lugannani and S. Rice, "Saddle point approximation for the distribution of the sum
       of independent random variables", Adv. Appl. Probab. 12 (1980), 475-490.
    .. [4] H. E. Daniels, "Tail probability approximations", Int. Statist. Rev. 55 (1987),
       37-48.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.collapse_probability(1, 3, 0.5)), 12)   # n = 1: 1 - exp(-0.5)
    0.393469340287
    >>> g.collapse_probability([1, 10, 100], 10, 0.01)       # P(sigma_n <= sigma_0 / 10)
    array([1.60184209e-08, 1.78580409e-02, 9.18437969e-01])
    >>> g.collapse_probability(0, 10, [0.5, 1.0])             # generation 0: sigma_0^2 itself
    array([0., 1.])
    >>> g.collapse_probability([1, 2], 100, 0.01, ddof=0)    # far tails: relative accuracy
    array([1.79342968e-79, 1.68530872e-61])
    """
    _replace(workflow, "collapse_probability")
    n_, a, c, e_ = _law(n, M, ddof, "eps", eps, P.eps)
    return _out(logwalk.cdf_parts(n_, a, c, np.log(e_))[0])


def log_collapse_probability(
    n: ArrayLike,
    M: ArrayLike,
    eps: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The logarithm ``log P(sigma_n^2 <= eps sigma_0^2)`` of the collapse probability.

    Finite wherever the probability is positive, however far below float64 it lies (a sample of
    M = 1e9 points collapsing below eps = 1e-300 in two generations has log P about -3.5e11).
    The method, regimes and measured accuracy are those of :func:`collapse_probability`; the
    relative error of P there is the absolute error of log P here. Near 0 (P near 1) it is
    ``log1p(-survival_probability)``, with the survival probability computed directly.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 value ``<= 0`` (``-inf`` only for ``n = 0``, ``eps < 1``), broadcast over ``n``,
        ``M``, ``eps`` and ``ddof``; a NumPy scalar for scalar input.

    References
    ----------
    .. [1] R. Lugannani and S. Rice, "Saddle point approximation for the distribution of the sum
       of independent random variables", Adv. Appl. Probab. 12 (1980), 475-490.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> float(g.log_collapse_probability(2, 100, 0.01, ddof=0))   # log(1.68530872e-61)
    -139.93574190856...
    >>> float(g.log_collapse_probability(2, 10**9, 1e-300))        # P underflows
    -344387763600.08...
    >>> float(g.log_collapse_probability(10**5, 100, 0.01))        # P close to 1
    -3.78757393807...e-111
    """
    _replace(workflow, "log_collapse_probability")
    n_, a, c, e_ = _law(n, M, ddof, "eps", eps, P.eps)
    return _out(logwalk.log_cdf_parts(n_, a, c, np.log(e_))[0])


def survival_probability(
    n: ArrayLike,
    M: ArrayLike,
    eps: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Probability that generation ``n`` has not collapsed: ``P(sigma_n^2 > eps sigma_0^2)``.

    P(sigma_n^2 > eps sigma_0^2) = 1 - collapse_probability, evaluated directly, by the method of
    :func:`collapse_probability`: n = 1 in the bulk by the upper regularised gamma function
    (scipy gammaincc), n >= 2 in the bulk by the same Gil-Pelaez sum
    (1/2 + (1/pi) sum_k Im(...)/(k + 1/2)), and both tails by the saddle-point integral, so
    that a small survival probability is relatively accurate (with the accuracy stated there).
    eps is a variance ratio. Convention: generation 0 = original; ddof=1 unbiased, ddof=0 MLE.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 probability in ``[0, 1]``, broadcast over ``n``, ``M``, ``eps`` and ``ddof``; a
        NumPy scalar for scalar input. 0 only where the probability is below the smallest
        subnormal number.

    See Also
    --------
    log_survival_probability : its logarithm, finite where the probability underflows.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759.
    .. [2] Suresh, Thangaraj and Khandavally, "Rate of model collapse in recursive training",
       2024 (the survival view).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.survival_probability(1, 3, 0.5)), 12)   # exp(-0.5)
    0.606530659713
    >>> g.survival_probability([1, 10, 100], 10, 0.01)
    array([0.99999998, 0.98214196, 0.08156203])
    >>> float(g.survival_probability(2000, 10, 0.01))         # relatively accurate
    2.99167504871...e-25
    """
    _replace(workflow, "survival_probability")
    n_, a, c, e_ = _law(n, M, ddof, "eps", eps, P.eps)
    return _out(logwalk.cdf_parts(n_, a, c, np.log(e_))[1])


def log_survival_probability(
    n: ArrayLike,
    M: ArrayLike,
    eps: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The logarithm ``log P(sigma_n^2 > eps sigma_0^2)`` of the survival probability.

    Finite wherever the probability is positive, however far below float64 it lies. The method,
    regimes and accuracy are those of :func:`collapse_probability` (relative error of the
    probability = absolute error of its logarithm).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 value ``<= 0`` (``-inf`` only for ``n = 0``, ``eps >= 1``, or where the
        probability is below ``exp(-1.8e308)``), broadcast over ``n``, ``M``, ``eps`` and
        ``ddof``; a NumPy scalar for scalar input.

    References
    ----------
    .. [1] Suresh, Thangaraj and Khandavally, "Rate of model collapse in recursive training",
       2024 (the survival view).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> float(g.log_survival_probability(2000, 10, 0.01))    # log(2.99e-25)
    -56.4687938773...
    >>> float(g.log_survival_probability(10**6, 10, 0.01))   # survival is hopeless
    -27734.9384219...
    """
    _replace(workflow, "log_survival_probability")
    n_, a, c, e_ = _law(n, M, ddof, "eps", eps, P.eps)
    return _out(logwalk.log_cdf_parts(n_, a, c, np.log(e_))[1])


def log_variance_quantile(
    n: ArrayLike,
    M: ArrayLike,
    q: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The ``q``-quantile of the log-variance ``S_n = log(sigma_n^2 / sigma_0^2)``.

    q in (0, 1), from 1e-300 up to 1 - 1e-16; finite where sigma_n^2 underflows. n = 0: 0.
    For 0.01 <= q <= 0.99: n = 1, M <= 1e6: log(theta gammaincinv(a, q)), theta = 2/(M-ddof),
    a = (M-1)/2; otherwise a vectorised safeguarded Newton iteration on the standardised scale
    using the Gil-Pelaez cdf and density (midpoint rule f(y) = (h/pi) sum_k Re(e^{-i s_k y}
    phi_Y(s_k))), bracketed by the Chernoff window of :func:`collapse_probability`. Beyond, the
    logarithm of the tail probability (q, or 1 - q above 1/2) is inverted: Newton's method on
    log(-log P) along the saddle-point parametrisation of :func:`collapse_probability`, with
    its relatively accurate tails. Convention: generation 0 = original; ddof=1 unbiased, ddof=0
    MLE.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    q : float or array_like
        Probability level of the quantile, real in (0, 1).
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``q`` and ``ddof``; a NumPy scalar for scalar
        input: the ``x`` with ``P(S_n <= x) = q``.

    Notes
    -----
    Measured: the relative error of the tail probability at the returned point,
    ``log_variance_cdf(x) / q - 1`` (or ``P(S_n > x) / (1 - q) - 1`` above 1/2), is below
    {quant_rel} plus the condition-number term ``4 kappa eps_64`` of :func:`collapse_probability`
    for q from 1e-300 to 1 - 1e-16 (n from 1 to 1e6, M from 2 to 1e9).

    References
    ----------
    As :func:`collapse_probability`.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.log_variance_quantile(1, 3, 0.5)), 12)    # log(log 2)
    -0.366512920582
    >>> round(float(g.log_variance_quantile(10**4, 10, 0.5)), 6)   # sigma_n^2 itself is 0.0
    -1152.023456
    >>> x = g.log_variance_quantile(5, 10, 1e-15)
    >>> float(g.log_variance_cdf(5, 10, x) / 1e-15)             # relatively accurate tails
    0.99999999999...
    """
    _replace(workflow, "log_variance_quantile")
    n_, a, c, q_ = _law(n, M, ddof, "q", q, P.q)
    return _out(logwalk.quantile(n_, a, c, q_))


def variance_quantile(
    n: ArrayLike,
    M: ArrayLike,
    q: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """The ``q``-quantile of ``sigma_n^2``: the ``x`` with ``P(sigma_n^2 <= x) = q``, q in (0, 1).

    x = sigma2 exp(:func:`log_variance_quantile`), computed as exp(log(sigma2) + log-quantile)
    (n = 0: sigma2; n = 1: sigma2 theta gammaincinv(a, q), theta = 2/(M-ddof), a = (M-1)/2); may
    underflow to 0 for n >> M, where the log version stays finite. Convention: generation 0 =
    original; ddof=1 unbiased, ddof=0 MLE.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer in ``[0, 2**53]``: 0 is the original distribution, ``n`` the
        model after ``n`` refits.
    M : int or array_like
        Samples drawn per generation, integer in ``[2, 2**53]`` and > ddof.
    q : float or array_like
        Probability level of the quantile, real in (0, 1).
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    As :func:`collapse_probability`.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.variance_quantile(1, 3, 1 - np.exp(-0.5))), 12)  # inverse of the cdf
    0.5
    >>> round(float(g.variance_quantile(1, 3, 0.5)), 12)     # median of Exp(1): log 2
    0.69314718056
    >>> g.variance_quantile(100, 10, [0.1, 0.5, 0.9])
    array([1.62121821e-08, 1.03407331e-05, 5.76039838e-03])
    """
    _replace(workflow, "variance_quantile")
    s2 = _sigma2(sigma2)
    n_, a, c, q_ = _law(n, M, ddof, "q", q, P.q, sigma2=s2)
    lq = logwalk.quantile(n_, a, c, q_)
    return _out(_times_exp(s2, lq))


# --------------------------------------------------------------------------------------------
# Bounds on the survival probability P(sigma_n^2 > eps sigma_0^2)
# --------------------------------------------------------------------------------------------


def markov_survival_bound(
    n: ArrayLike,
    M: ArrayLike,
    eps: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Markov bound on ``E sigma_n``: ``P(sigma_n^2 > eps sigma_0^2) <= c^n / sqrt(eps)``.

    eps is a variance ratio; c = :func:`std_factor`. Unclipped (may exceed 1). This is the
    Chernoff bound at s = 1/2 (see :func:`chernoff_survival_bound`).

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M``, ``eps`` and ``ddof``; a NumPy scalar for scalar
        input (possibly > 1, or ``inf`` on overflow).

    References
    ----------
    .. [1] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability of
       iterative retraining of generative models on their own data", 2023 (alpha(M) = c for ddof=1).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.markov_survival_bound(100, 10, 0.25)), 12)   # c^100 / 0.5
    0.125055616616
    >>> round(float(g.std_factor(10)) ** 100 / 0.5, 12)
    0.125055616616
    """
    _replace(workflow, "markov_survival_bound")
    n_, M_, d_ = _nm(n, M, ddof)
    e_ = P.eps.array(eps)
    _broadcast(n=n_, M=M_, eps=e_, ddof=d_)
    with np.errstate(over="ignore"):
        return _out(np.exp(n_ * _log_moment_step(M_, d_, 0.5) - 0.5 * np.log(e_)))


def suresh_survival_bound(
    n: ArrayLike, M: ArrayLike, eps: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Suresh et al.'s bound ``P(sigma_n^2 > eps sigma_0^2) <= exp(-n/(4M - 1)) / sqrt(eps)``.

    eps is a variance ratio (their statement is P(sigma_n > eps' sigma_0) <= exp(-n/(4M-1))/eps'
    with eps' = sqrt(eps)). It is Markov's inequality on E sigma_n with c replaced by the upper
    bound exp(-1/(4M-1)); c <= exp(-1/(4M-1)) holds for every ddof <= 1 (log c = -1/(4(M-1)) +
    O(M^-3) for ddof=1; c increases with ddof), checked numerically in the tests for M in
    [2, 1e9]. The weaker exp(-n/(4M)) is then valid too. Unclipped (may exceed 1). No ddof
    argument: the bound is stated for the ddof <= 1 estimators.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over ``n``, ``M`` and ``eps``; a NumPy scalar for scalar input
        (possibly > 1).

    References
    ----------
    .. [1] Suresh, Thangaraj and Khandavally, "Rate of model collapse in recursive training",
       2024.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.suresh_survival_bound(100, 10, 0.25)), 12)   # exp(-100/39) / 0.5
    0.153976484921
    >>> bool(g.markov_survival_bound(100, 10, 0.25) <= g.suresh_survival_bound(100, 10, 0.25))
    True
    """
    _replace(workflow, "suresh_survival_bound")
    n_ = P.n.array(n)
    M_ = _M.array(M)
    e_ = P.eps.array(eps)
    _broadcast(n=n_, M=M_, eps=e_)
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
        return n * (lr + psi_minus_log(a + s) + np.log1p(s / a)) - log_eps

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
    n: ArrayLike,
    M: ArrayLike,
    eps: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Optimised fractional-moment (Chernoff) bound on ``P(sigma_n^2 > eps sigma_0^2)``.

    Formula: inf over s > 0 of eps^{-s} E[(sigma_n^2/sigma_0^2)^s] =
    exp(min_s [n log m_s - s log eps]), m_s = 2^s Gamma(a+s) / (Gamma(a) (M-ddof)^s),
    a = (M-1)/2. The exponent is convex in s; its minimiser solves
    psi(a+s) = log((M-ddof)/2) + log(eps)/n and is found by vectorised bisection on log s. Includes
    s -> 0, so the value is always <= 1 (clipped by construction) and <= the Markov bound
    (s = 1/2). eps is a variance ratio. Convention: as :func:`collapse_probability`.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    eps : float or array_like
        Collapse threshold, a ratio of VARIANCES ``sigma_n^2 / sigma_0^2``, real > 0.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 in ``(0, 1]``, broadcast over ``n``, ``M``, ``eps`` and ``ddof``; a NumPy scalar
        for scalar input.

    Notes
    -----
    The bisection takes 100 steps on ``log s`` between ``1e-18`` and an upper end past the root;
    where the minimum over ``s > 0`` is not below 0, the bound is the trivial 1.

    References
    ----------
    .. [1] H. Chernoff, "A measure of asymptotic efficiency for tests of a hypothesis based on the
       sum of observations", Ann. Math. Statist. 23 (1952), 493-507.
    .. [2] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, Thm 3.1 (the moments).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> fs = (g.survival_probability, g.chernoff_survival_bound, g.markov_survival_bound,
    ...       g.suresh_survival_bound)
    >>> [round(float(f(100, 10, 0.25)), 6) for f in fs]    # exact, then the three bounds
    [0.019757, 0.118146, 0.125056, 0.153976]
    """
    _replace(workflow, "chernoff_survival_bound")
    n_, M_, d_ = _nm(n, M, ddof)
    e_ = P.eps.array(eps)
    _broadcast(n=n_, M=M_, eps=e_, ddof=d_)
    logb, _ = _chernoff_log(n_, M_, d_, np.log(e_))
    return _out(np.exp(logb))


# --------------------------------------------------------------------------------------------
# Large-M approximations (clearly approximate)
# --------------------------------------------------------------------------------------------


def log_std_factor_approx(
    M: ArrayLike, *, ddof: ArrayLike = 1, workflow: W.WorkflowLike = None
) -> Float:
    """APPROXIMATE ``log c ~ (2 ddof - 3) / (4M)`` (leading order in 1/M; -1/(4M) for ddof=1).

    From log c = (1/2) log1p((ddof-1)/(M-ddof)) + log Gamma(a+1/2) - log Gamma(a) - (1/2) log a,
    a = (M-1)/2, and log Gamma(a+1/2) - log Gamma(a) = (1/2) log a - 1/(8a) + O(a^-3).
    Use :func:`log_std_factor` for the exact value.

    Parameters
    ----------
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over ``M`` and ``ddof``; a NumPy scalar for scalar input.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> float(g.log_std_factor_approx(100)), round(float(g.log_std_factor(100)), 9)
    (-0.0025, -0.00252521)
    >>> float(g.log_std_factor_approx(100, ddof=0))
    -0.0075
    """
    _replace(workflow, "log_std_factor_approx")
    M_, d_ = _M_ddof(M, ddof)
    return _out((2.0 * d_ - 3.0) / (4.0 * M_))


def expected_std_approx(
    n: ArrayLike,
    M: ArrayLike,
    *,
    ddof: ArrayLike = 1,
    sigma2: ArrayLike = 1.0,
    workflow: W.WorkflowLike = None,
) -> Float:
    """APPROXIMATE ``E sigma_n ~ sigma_0 exp(-n (3 - 2 ddof) / (4M))`` for large M.

    ddof=1: sigma_0 exp(-n/(4M)); ddof=0: sigma_0 exp(-3n/(4M)). Relative error O(n/M^2).
    Use :func:`expected_std` for the exact value.

    Parameters
    ----------
    n : int or array_like
        Generation index, integer >= 0: 0 is the original distribution, ``n`` the model after ``n``
        refits.
    M : int or array_like
        Samples drawn per generation, integer >= 2 and > ddof.
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator ``sum (x - xbar)^2 / (M - ddof)``, real
        >= 0: 1 (default) unbiased, the estimator of the theorem; 0 maximum likelihood.
    sigma2 : float or array_like, optional
        Variance ``sigma_0^2`` of the original Gaussian (generation 0), real > 0 (default 1).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64, broadcast over the numeric arguments (``ddof`` and ``sigma2`` included); a NumPy
        scalar for scalar input.

    References
    ----------
    .. [1] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability of
       iterative retraining of generative models on their own data", 2023.
    .. [2] Suresh, Thangaraj and Khandavally, "Rate of model collapse in recursive training",
       2024 (collapse after ~M generations).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> round(float(g.expected_std_approx(100, 100)), 6), round(float(g.expected_std(100, 100)), 6)
    (0.778801, 0.77684)
    """
    _replace(workflow, "expected_std_approx")
    n_, M_, d_ = _nm(n, M, ddof)
    s2 = _sigma2(sigma2)
    _broadcast(n=n_, M=M_, ddof=d_, sigma2=s2)
    return _out(_times_exp(np.sqrt(s2), -n_ * (3.0 - 2.0 * d_) / (4.0 * M_)))


# --------------------------------------------------------------------------------------------
# Schedules M_1, ..., M_n
# --------------------------------------------------------------------------------------------


def _schedule(M: ArrayLike | Sequence[int], ddof: ArrayLike, sigma2: ArrayLike):
    """A schedule M_1..M_n (1-D, each an integer >= 2 and > ddof), with ddof and sigma2 given a
    trailing axis to broadcast against it."""
    d_ = P.ddof.array(ddof)
    s2 = _sigma2(sigma2)
    raw = np.asarray(M) if not isinstance(M, str | bytes) else None
    if raw is None or raw.ndim != 1:
        raise ValueError(
            f"M must be a 1-D schedule M_1..M_n of integers >= 2 (got "
            f"{P.show(M) if raw is None else f'shape {raw.shape}'})"
        )
    arr = _M.array(raw)
    lead = _broadcast(ddof=d_, sigma2=s2)
    dd = np.asarray(d_)[..., None]
    P.require_greater(_M, arr, P.ddof, dd)
    return arr, dd, np.asarray(s2)[..., None], lead


def _prepend_zero(x: NDArray) -> NDArray:
    return np.concatenate([np.zeros(x.shape[:-1] + (1,)), x], axis=-1)


@P.renamed_keywords(Ms="M")
def expected_variance_schedule(
    M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``E sigma_i^2`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E sigma_i^2 = sigma2 prod_{j<=i} (M_j-1)/(M_j-ddof). M[j-1] = M_j is used for the fit
    that produces generation j.

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 2 and > ddof; ``M[j-1] = M_j``
        points are drawn for the fit that produces generation ``j``. (The old keyword ``Ms`` is
        still accepted, with a ``DeprecationWarning``.)
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator, real >= 0 (1 unbiased, the default; 0
        maximum likelihood); broadcasts with ``sigma2`` into the leading axes of the result.
    sigma2 : float or array_like, optional
        Original variance ``sigma_0^2``, real > 0 (default 1); broadcasts with ``ddof``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default ``None``);
        replace with a bias, mix (fresh real data), accumulate and weighted are computed by
        :func:`~modelcollapse.theory.gaussian_workflows.schedule_moments` (exact); others raise
        ``ValueError``.

    Returns
    -------
    ndarray
        float64 array of shape ``broadcast(ddof, sigma2).shape + (len(M) + 1,)``: generations
        ``0, 1, ..., n`` along the last axis.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.expected_variance_schedule([10, 10, 10], ddof=0)      # 0.9^i
    array([1.   , 0.9  , 0.81 , 0.729])
    >>> g.expected_variance_schedule([10, 10], ddof=[0, 1])     # one row per ddof
    array([[1.  , 0.9 , 0.81],
           [1.  , 1.  , 1.  ]])
    """
    if not _plain(workflow):
        from .gaussian_workflows import schedule_moments

        return schedule_moments(M, ddof=ddof, sigma2=sigma2, workflow=workflow)[0]
    _replace(workflow, "expected_variance_schedule")
    Mi, d, s2, lead = _schedule(M, ddof, sigma2)
    logs = _prepend_zero(np.cumsum(np.broadcast_to(_log_ratio_factor(Mi, d), lead + Mi.shape), -1))
    return s2 * np.exp(logs)


@P.renamed_keywords(Ms="M")
def expected_std_schedule(
    M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``E sigma_i`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E sigma_i = sigma_0 prod_{j<=i} c(M_j), c = :func:`std_factor`.

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 2 and > ddof; ``M[j-1] = M_j``
        points are drawn for the fit that produces generation ``j``. (The old keyword ``Ms`` is
        still accepted, with a ``DeprecationWarning``.)
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator, real >= 0 (1 unbiased, the default; 0
        maximum likelihood); broadcasts with ``sigma2`` into the leading axes of the result.
    sigma2 : float or array_like, optional
        Original variance ``sigma_0^2``, real > 0 (default 1); broadcasts with ``ddof``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    ndarray
        float64 array of shape ``broadcast(ddof, sigma2).shape + (len(M) + 1,)``: generations
        ``0, 1, ..., n`` along the last axis.

    References
    ----------
    .. [1] Q. Bertrand, A. J. Bose, A. Duplessis, M. Jiralerspong and G. Gidel, "On the stability of
       iterative retraining of generative models on their own data", 2023.
    .. [2] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.expected_std_schedule([2, 2])     # c(2) = sqrt(2/pi), c(2)^2 = 2/pi
    array([1.        , 0.79788456, 0.63661977])
    """
    _replace(workflow, "expected_std_schedule")
    Mi, d, s2, lead = _schedule(M, ddof, sigma2)
    logc = np.broadcast_to(_log_moment_step(Mi, d, 0.5), lead + Mi.shape)
    return np.sqrt(s2) * np.exp(_prepend_zero(np.cumsum(logc, -1)))


@P.renamed_keywords(Ms="M")
def mean_drift_mse_schedule(
    M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``E(mu_i - mu_0)^2`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula: E(mu_i - mu_0)^2 = sum_{j<i} E sigma_j^2 / M_{j+1} (= sigma2 sum_{j<=i} 1/M_j for
    ddof=1).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 2 and > ddof; ``M[j-1] = M_j``
        points are drawn for the fit that produces generation ``j``. (The old keyword ``Ms`` is
        still accepted, with a ``DeprecationWarning``.)
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator, real >= 0 (1 unbiased, the default; 0
        maximum likelihood); broadcasts with ``sigma2`` into the leading axes of the result.
    sigma2 : float or array_like, optional
        Original variance ``sigma_0^2``, real > 0 (default 1); broadcasts with ``ddof``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default ``None``);
        replace with a bias, mix (fresh real data), accumulate and weighted are computed by
        :func:`~modelcollapse.theory.gaussian_workflows.schedule_moments` (exact); others raise
        ``ValueError``.

    Returns
    -------
    ndarray
        float64 array of shape ``broadcast(ddof, sigma2).shape + (len(M) + 1,)``: generations
        ``0, 1, ..., n`` along the last axis.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.mean_drift_mse_schedule([10, 20, 40])            # cumulative sum of 1/M_j
    array([0.   , 0.1  , 0.15 , 0.175])
    >>> g.mean_drift_mse_schedule([10, 20, 40], ddof=0)
    array([0.      , 0.1     , 0.145   , 0.166375])
    """
    if not _plain(workflow):
        from .gaussian_workflows import schedule_moments

        return schedule_moments(M, ddof=ddof, sigma2=sigma2, workflow=workflow)[1]
    _replace(workflow, "mean_drift_mse_schedule")
    Mi, d, s2, lead = _schedule(M, ddof, sigma2)
    ev = expected_variance_schedule(M, ddof=ddof, sigma2=sigma2)
    return _prepend_zero(np.cumsum(ev[..., :-1] / Mi, -1))


@P.renamed_keywords(Ms="M")
def expected_w2_squared_schedule(
    M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Exact ``E W2^2`` between generations ``i`` and 0, ``i = 0..n``, under a schedule.

    Formula, for the schedule M_1, ..., M_n:
    E W2^2_i = E(mu_i - mu_0)^2 + sigma2 [C_i^2 expm1(-2 sum_{j<=i} D(a_j, 1/2)) + (C_i - 1)^2],
    C_i = prod_{j<=i} c(M_j), a_j = (M_j - 1)/2, D(a, k) = log Gamma(a+k) - log Gamma(a) - k log a
    (this is E sigma_i^2 - 2 sigma_0 E sigma_i + sigma_0^2 without cancellation).
    Bounded in i iff sum 1/M_j < inf (ddof=1).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 2 and > ddof; ``M[j-1] = M_j``
        points are drawn for the fit that produces generation ``j``. (The old keyword ``Ms`` is
        still accepted, with a ``DeprecationWarning``.)
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator, real >= 0 (1 unbiased, the default; 0
        maximum likelihood); broadcasts with ``sigma2`` into the leading axes of the result.
    sigma2 : float or array_like, optional
        Original variance ``sigma_0^2``, real > 0 (default 1); broadcasts with ``ddof``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    ndarray
        float64 array of shape ``broadcast(ddof, sigma2).shape + (len(M) + 1,)``: generations
        ``0, 1, ..., n`` along the last axis.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import gaussian as g
    >>> g.expected_w2_squared_schedule([10, 20, 40])
    array([0.        , 0.15468145, 0.23009846, 0.26736482])
    >>> np.allclose(g.expected_w2_squared_schedule([100] * 3),      # constant M
    ...             g.expected_w2_squared([0, 1, 2, 3], 100), rtol=1e-13, atol=0)
    True
    """
    _replace(workflow, "expected_w2_squared_schedule")
    Mi, d, s2, lead = _schedule(M, ddof, sigma2)
    a = 0.5 * (Mi - 1.0)
    dhalf = np.broadcast_to(lgamma_ratio(a, np.full_like(a, 0.5)), lead + Mi.shape)
    logc = np.broadcast_to(_log_moment_step(Mi, d, 0.5), lead + Mi.shape)
    L = _prepend_zero(np.cumsum(logc, -1))
    G = _prepend_zero(np.cumsum(dhalf, -1))
    with np.errstate(over="ignore"):
        scale = _scaled_expm1(2.0 * L, -2.0 * G) + np.expm1(L) ** 2
    drift = mean_drift_mse_schedule(M, ddof=ddof, sigma2=sigma2)
    return drift + s2 * scale


@P.renamed_keywords(Ms="M")
def marginal_variance_schedule(
    M: ArrayLike, *, ddof: ArrayLike = 1, sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``Var X^i = E sigma_i^2 + E(mu_i - mu_0)^2`` for ``i = 0..n`` under a schedule.

    Exactly sigma2 for ddof=0 whatever the schedule (= sigma2 (1 + sum_{j<=i} 1/M_j) for
    ddof=1).

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 2 and > ddof; ``M[j-1] = M_j``
        points are drawn for the fit that produces generation ``j``. (The old keyword ``Ms`` is
        still accepted, with a ``DeprecationWarning``.)
    ddof : float or array_like, optional
        Delta degrees of freedom of the variance estimator, real >= 0 (1 unbiased, the default; 0
        maximum likelihood); broadcasts with ``sigma2`` into the leading axes of the result.
    sigma2 : float or array_like, optional
        Original variance ``sigma_0^2``, real > 0 (default 1); broadcasts with ``ddof``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    ndarray
        float64 array of shape ``broadcast(ddof, sigma2).shape + (len(M) + 1,)``: generations
        ``0, 1, ..., n`` along the last axis.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.marginal_variance_schedule([10, 20, 40], ddof=0)
    array([1., 1., 1., 1.])
    >>> g.marginal_variance_schedule([10, 20, 40])
    array([1.   , 1.1  , 1.15 , 1.175])
    """
    _replace(workflow, "marginal_variance_schedule")
    return expected_variance_schedule(M, ddof=ddof, sigma2=sigma2) + mean_drift_mse_schedule(
        M, ddof=ddof, sigma2=sigma2
    )


_M1 = _M.restrict(name="M1", meaning="sample size of the first fit")
_POWER = P.Param("power", "exponent of a polynomial schedule M_i = M1 i^power", low=0.0)
#: Longest schedule polynomial_schedule builds: 2**27 entries (1 GiB of int64, and two float64
#: temporaries of the same size while it is built).
_SCHEDULE_MAX_LEN = 2**27


def _bytes(count: float) -> str:
    """A byte count in words: '7.28 TiB'."""
    size, power = float(count), 0
    while size >= 1024.0 and power < 5:
        size /= 1024.0
        power += 1
    return f"{size:.3g} {('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB')[power]}"


def polynomial_schedule(M1: int, n: int, power: float) -> NDArray[np.int64]:
    """The polynomial schedule ``M_i = round(M1 * i**power)`` for ``i = 1..n``.

    power 0 is constant, 1 linear, 2 quadratic. Convention: M_i points are drawn for the fit that
    produces generation i. Rounding is NumPy's (halves to even). Schedules whose last entry
    ``M1 n^power`` exceeds 2**53 (the largest sample size the Gaussian formulas accept, and the
    largest integer float64 holds exactly), or with more than 2**27 entries (1 GiB), are refused
    with a ``ValueError`` stating the size.

    Parameters
    ----------
    M1 : int
        Sample size of the first fit, integer in ``[2, 2**53]``.
    n : int
        Number of generations (the length of the schedule), integer in ``[0, 2**27]``.
    power : float
        Exponent of the schedule, real >= 0, with ``M1 n^power <= 2**53``.

    Returns
    -------
    ndarray
        int64 array of length ``n``, each entry in ``[M1, 2**53]``.

    Raises
    ------
    ValueError
        If an argument is outside its domain, the schedule is longer than 2**27 entries, or its
        last entry exceeds 2**53 (the message gives the size).

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI (growing sample sizes).

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.polynomial_schedule(10, 4, 2)
    array([ 10,  40,  90, 160])
    >>> g.polynomial_schedule(10, 4, 0.5)
    array([10, 14, 17, 20])
    >>> g.polynomial_schedule(100, 10, 1000)
    Traceback (most recent call last):
    ...
    ValueError: polynomial_schedule(M1=100, n=10, power=1000.0): the last entry M1 n^power =
    1e+1002 exceeds 2**53 = 9007199254740992, the largest sample size accepted
    >>> g.polynomial_schedule(100, 10**12, 0)
    Traceback (most recent call last):
    ...
    ValueError: n must be an integer in [0, 134217728] for a schedule (got 1000000000000: the
    schedule would take 7.28 TiB)
    """
    m = _M1.scalar(M1)
    nn = P.n.scalar(n)
    p = _POWER.scalar(power)
    if nn > _SCHEDULE_MAX_LEN:
        raise ValueError(f"n must be an integer in [0, {_SCHEDULE_MAX_LEN}] for a schedule (got "
                         f"{nn}: the schedule would take {_bytes(8.0 * nn)})")
    call = f"polynomial_schedule(M1={m}, n={nn}, power={p!r})"
    if nn == 0:
        return np.zeros(0, dtype=np.int64)
    log10_last = math.log10(m) + p * math.log10(nn)
    if log10_last > 53 * math.log10(2.0) + 1e-12:
        shown = f"{10.0 ** log10_last:.6g}" if log10_last < 300 else (
            f"1e+{math.floor(log10_last)}")
        raise ValueError(f"{call}: the last entry M1 n^power = {shown} exceeds 2**53 = "
                         f"{_MAX_INT}, the largest sample size accepted")
    i = np.arange(1, nn + 1, dtype=np.float64)
    out = np.round(float(m) * i**p)
    if out[-1] > _MAX_INT:  # the rounding at the very edge
        raise ValueError(f"{call}: the last entry {out[-1]:.17g} exceeds 2**53 = {_MAX_INT}, "
                         "the largest sample size accepted")
    return out.astype(np.int64)


@P.renamed_keywords(Ms="M")
def w2_leading_order_schedule(
    M: ArrayLike, *, sigma2: ArrayLike = 1.0, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """APPROXIMATE (large M) ``E W2^2`` at generations ``i = 1..n`` under a schedule.

    Formula: (3/2) sigma2 sum_{j<=i} 1/M_j = (3/2) sigma2 cumsum(1/M_i): length len(M)
    (generation 0, where it is 0, is not included, unlike the exact ``*_schedule`` functions).
    Leading order in 1/M for every ddof (the Nature SI form; the 3/(2 M_n) variant on the last
    term only is wrong at first order). Use :func:`expected_w2_squared_schedule` for the exact
    value.

    Parameters
    ----------
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 2. (The old keyword ``Ms`` is
        still accepted, with a ``DeprecationWarning``.)
    sigma2 : float or array_like, optional
        Original variance ``sigma_0^2``, real > 0 (default 1); an array adds leading axes.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    ndarray
        float64 array of shape ``np.shape(sigma2) + (len(M),)``: generations ``1..n``.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.w2_leading_order_schedule([10, 20, 40])      # exact: 0.155, 0.230, 0.267
    array([0.15  , 0.225 , 0.2625])
    """
    _replace(workflow, "w2_leading_order_schedule")
    Mi, _, s2, _ = _schedule(M, 0.0, sigma2)
    return 1.5 * s2 * np.cumsum(1.0 / Mi, -1)


def w2_bounded(power: float, *, workflow: W.WorkflowLike = None) -> bool:
    """Whether ``E W2^2`` stays bounded in ``n`` for ``M_i ~ M1 i**power`` (ddof=1).

    Bounded iff sum 1/M_i < inf, i.e. iff power > 1. For ddof=1 the mean drift
    sum_i sigma_0^2/M_i diverges otherwise. For ddof=0 E W2^2 = 2 sigma_0 (sigma_0 - E sigma_n) is
    always <= 2 sigma_0^2; it tends to the collapsed value 2 sigma_0^2 iff prod c(M_i) -> 0 iff
    sum 1/M_i = inf, i.e. again iff power <= 1.

    Parameters
    ----------
    power : float
        Exponent of the polynomial schedule (:func:`polynomial_schedule`), real >= 0.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default ``None``), and any other workflow raises ``ValueError``.

    Returns
    -------
    bool
        ``power > 1``.

    References
    ----------
    .. [1] I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
       collapse when trained on recursively generated data", Nature 631 (2024),
       755-759, SI.

    Examples
    --------
    >>> from modelcollapse.theory import gaussian as g
    >>> g.w2_bounded(2), g.w2_bounded(1)
    (True, False)
    """
    _replace(workflow, "w2_bounded")
    return bool(_POWER.scalar(power) > 1)
