"""Poisson distributions refit on their own samples: a critical Galton-Watson process.

Model
-----
Generation 0 is the original ``Poisson(lam0)``. Generation ``t >= 1`` is the Poisson model whose
rate ``Lam_t`` is the sample mean of ``M`` draws from generation ``t - 1`` (the maximum-likelihood
refit). Write ``S_t = M Lam_t`` for the sum of those draws and ``c = M lam0``::

    S_1 ~ Poisson(c)                      (the first fit sees M real samples),
    S_{t+1} | S_t ~ Poisson(M Lam_t) = Poisson(S_t)      (constant M).

A ``Poisson(S)`` variable is the sum of ``S`` independent ``Poisson(1)`` variables, so ``(S_t)`` is
a critical Galton-Watson branching process with ``Poisson(1)`` offspring (offspring pgf
``f(s) = exp(s - 1)``, mean 1, variance 1), started from ``S_1 ~ Poisson(c)``. State 0 is
absorbing: once a fit sees only zeros the model is ``Poisson(0)`` forever.

Exact facts used here (derived in :mod:`modelcollapse.theory.symbolic.poisson`, proved in
``proofs/poisson_refit.md``):

- pgf: ``E s^{S_t} = exp(c (f_{t-1}(s) - 1))`` with ``f_0(s) = s``, ``f_{k+1} = f(f_k)``;
- mean conserved: ``E Lam_t = lam0``; variance ``Var Lam_t = t lam0 / M``;
- extinction: ``P(Lam_t = 0) = exp(-c g_t)`` with ``g_1 = 1``, ``g_{t+1} = 1 - exp(-g_t)``
  (:func:`modelcollapse.theory.branching.poisson_refit_g`), ``1/t <= g_t <= 2/(t+1)`` and
  ``g_t ~ 2/t``; so ``Lam_t -> 0`` almost surely (collapse), and the extinction time
  ``T = min{t : Lam_t = 0}`` has ``P(T <= t) = P(Lam_t = 0)`` but ``E T = infinity`` (its tail
  ``P(T > t) ~ 2c/t`` is not summable): use quantiles of ``T`` instead
  (:func:`extinction_time_quantile`, :func:`median_extinction_time`).
- the whole law of ``S_t`` is computed exactly by inverting the pgf on the unit circle with an
  FFT (:func:`count_distribution`), hence the cdf and the quantiles of ``Lam_t``.

Conventions
-----------
Generation 0 is the original distribution (``Lam_0 = lam0``, a constant). Generation ``n`` is the
model after ``n`` rounds of "draw ``M`` samples from the current model, refit by the sample
mean". Argument order is ``(n, lam0, M)`` everywhere; the extra argument of a function (``x``,
``q``) comes last. Every numeric argument is validated through the parameter vocabulary
:mod:`modelcollapse.spec.params` (``ValueError`` naming the argument) and broadcasts with NumPy
rules; results are float64 (a NumPy scalar for scalar input). Every public function takes
``workflow`` (no sampling bias); :func:`expected_rate`, :func:`rate_variance` and the
extinction and survival probabilities also take mix, accumulate and weighted (the formulas are
in :mod:`modelcollapse.theory.poisson_workflows`), the others only replace. A sample-size schedule
``M_1, ..., M_n`` (``M_i`` draws for the fit that produces generation ``i``) has its own
``*_schedule`` functions: ``S_i | Lam_{i-1} ~ Poisson(M_i Lam_{i-1})`` is then a branching
process in a varying environment (``Poisson(M_i / M_{i-1})`` offspring). They take the
workflows too (mix, accumulate, weighted; accumulate_subsample for the variance), with the
recursions of :mod:`modelcollapse.theory.poisson_workflows`.

This module uses NumPy/SciPy only (float64) and never imports JAX or :mod:`modelcollapse.sims`.

References
----------
A. T. Suresh, A. Thangaraj, A. N. K. Khandavally, "Rate of model collapse in recursive
training", AISTATS 2025. T. E. Harris, *The Theory of Branching Processes* (1963), ch. I.
K. B. Athreya and P. E. Ney, *Branching Processes* (1972), ch. I (Kolmogorov's estimate
``P(Z_n > 0) ~ 2/(n sigma^2)`` and Yaglom's limit for critical processes).

Examples
--------
>>> from modelcollapse.theory import poisson as po
>>> float(po.rate_variance(10, 2.0, 100))      # t lam0 / M
0.2
>>> round(float(po.extinction_probability(1, 0.01, 100)), 12)   # exp(-M lam0)
0.367879441171
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft
from numpy.typing import ArrayLike, NDArray

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from .branching import poisson_refit_g

__all__ = [
    "expected_rate",
    "rate_variance",
    "extinction_probability",
    "log_extinction_probability",
    "survival_probability",
    "survival_asymptotic",
    "conditional_expected_rate",
    "conditional_rate_variance",
    "count_distribution",
    "count_distribution_window",
    "rate_cdf",
    "rate_quantile",
    "extinction_time_quantile",
    "median_extinction_time",
    "expected_capped_extinction_time",
    "rate_variance_schedule",
    "extinction_probability_schedule",
    "survival_probability_schedule",
    "MAX_FFT_SIZE",
    "MAX_FFT_WORK",
    "MAX_CAPPED_N",
    "MAX_SCHEDULE_LENGTH",
]

Float = np.float64 | NDArray[np.float64]

#: Largest FFT length accepted by the exact law (:func:`count_distribution` and friends): the
#: pgf is held at ``MAX_FFT_SIZE // 2 + 1`` complex points (32 MiB).
MAX_FFT_SIZE = 2**22
#: Largest ``(n - 1) * (N // 2 + 1)`` (generations iterated times pgf points) accepted by the
#: exact law; one unit is one in-place complex ``expm1`` (16-30 ns on one core here, so a few
#: seconds at the limit: n = 3000, M lam0 = 1 takes 4 s).
MAX_FFT_WORK = 3 * 10**8
#: Largest ``n`` for :func:`expected_capped_extinction_time` (a sum over generations).
MAX_CAPPED_N = 10**7
#: Longest schedule accepted by the ``*_extinction*_schedule`` functions (cost ~ length^2 / 2).
MAX_SCHEDULE_LENGTH = 20_000

_DEFAULT_TAIL = 1e-16
_GRID = 64  # points per pass of the Chernoff-bound search

# ---------------------------------------------------------------------------------------------
# local parameter declarations (restrictions of the vocabulary, same names and messages)
# ---------------------------------------------------------------------------------------------

#: Kolmogorov's estimate needs at least one refit
_N_ASYMPTOTIC = P.n.restrict(low=1.0)
#: generations beyond 2^53 are not exact in float64 (and overflow the int64 table index of g)
_N_MAX = float(2**53)
#: a point of the rate axis (the vocabulary's ``x`` is the log-variance axis of the Gaussian)
_X = P.x.restrict(meaning="a value of the fitted Poisson rate Lambda_n (argument of its cdf)")
#: the probability mass an exact pmf may leave out (truncation plus FFT aliasing)
TAIL = P.Param(
    "tail",
    "bound on the probability mass an exact pmf leaves out (Chernoff truncation plus FFT "
    "aliasing), relative to P(Lam_n > 0)",
    low=0.0,
    high=1e-3,
    low_open=True,
)


def _wf(workflow: W.WorkflowLike, name: str, names: tuple[str, ...] = ("replace",)
        ) -> W.Workflow:
    return W.require(workflow, f"theory.poisson.{name}", names=names)


def _wf_log_ext(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, workflow: W.WorkflowLike,
                name: str) -> NDArray[np.float64]:
    """``log P(Lam_n = 0)`` under any workflow of
    :data:`modelcollapse.theory.poisson_workflows.EXTINCTION_WORKFLOWS` (the formulas live
    there)."""
    from . import poisson_workflows as pw

    wf = _wf(workflow, name, pw.EXTINCTION_WORKFLOWS)
    n_, l_, M_ = _args(n, lam0, M)
    return pw._log_extinction(n_, l_, M_, wf)


def _out(x: ArrayLike) -> Float:
    """0-d arrays become NumPy scalars; everything float64."""
    arr = np.asarray(x, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


def _check_n_max(n_: NDArray[np.float64], top: float = _N_MAX, why: str = "") -> None:
    big = n_ > top
    if np.any(big):
        raise ValueError(f"n must be <= {int(top)} here{why} (got {P.show(n_[big])})")


def _args(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, n_param: P.Param = P.n):
    n_ = n_param.array(n)
    _check_n_max(n_, why=" (larger generations are not exact in float64)")
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    return np.broadcast_arrays(n_, l_, M_)


def _log_ext(n_: NDArray, l_: NDArray, M_: NDArray) -> NDArray[np.float64]:
    """``log P(Lam_n = 0) = -lam0 (M g_n)`` (``-inf`` at ``n = 0``); ``M g_n`` first, so that
    ``M lam0`` may overflow while the product with ``g_n`` does not."""
    g = poisson_refit_g(n_)
    with np.errstate(invalid="ignore", over="ignore"):
        out = -l_ * (M_ * g)
    return np.where(n_ == 0, -np.inf, out)


def _one_minus_x_over_expm1(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - x / (e^x - 1)`` for ``x >= 0`` without cancellation (Bernoulli series below 0.1)."""
    x = np.asarray(x, dtype=np.float64)
    small = x < 0.1
    xs = np.where(small, x, 0.0)
    x2 = xs * xs
    series = xs / 2.0 - x2 / 12.0 * (
        1.0 - x2 / 60.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 40.0 * (1.0 - x2 * 5.0 / 198.0)))
    )
    xl = np.where(small, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore"):
        big = np.where(xl > 40.0, -np.expm1(np.log(xl) - xl), 1.0 - xl / np.expm1(xl))
    return np.where(small, series, big)


# ---------------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------------


def expected_rate(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Expected fitted rate at generation ``n``: ``E Lam_n = lam0`` for every ``n`` and ``M``.

    Formula: ``E Lam_n = lam0``. The rate is a martingale: ``E[S_{t+1} | S_t] = S_t`` (a
    critical branching process), although ``Lam_n -> 0`` almost surely; the mean is carried by
    the rare surviving paths (see :func:`conditional_expected_rate`).

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0`` (0 is the original distribution).
    lam0 : array_like
        Original rate ``lambda_0 > 0``.
    M : array_like
        Samples drawn per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): replace (the default), mix (fresh or
        one reused real set), accumulate, accumulate_subsample, weighted; no sampling bias.
        ``E Lam_n = lam0`` under each (:mod:`modelcollapse.theory.poisson_workflows`).

    Returns
    -------
    float or ndarray
        ``lam0`` broadcast against ``n`` and ``M``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Harris (1963), ch. I.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import expected_rate
    >>> float(expected_rate(1000, 2.5, 10))
    2.5
    """
    from .poisson_workflows import MEAN_WORKFLOWS

    _wf(workflow, "expected_rate", MEAN_WORKFLOWS)  # E Lam_n = lam0 under each of them
    _, l_, _ = _args(n, lam0, M)
    return _out(l_ + 0.0)


def rate_variance(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Variance of the fitted rate at generation ``n``: ``Var Lam_n = n lam0 / M``.

    Formula: ``Var Lam_n = n lam0 / M``, from ``Var S_{t+1} = Var S_t + E S_t`` (law of total
    variance with ``Poisson(S_t)`` steps) and ``Var S_1 = M lam0``. Exact for every ``n >= 0``
    (0 at generation 0).

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Data policy: replace (the default, ``n lam0 / M``), mix (fresh or one reused real
        set), accumulate, weighted; exact formulas in
        :mod:`modelcollapse.theory.poisson_workflows` (accumulate_subsample: the exact recursion
        of :func:`~modelcollapse.theory.accumulate_subsample.accumulate_subsample_mean_mse`).

    Returns
    -------
    float or ndarray
        ``n lam0 / M``, broadcast.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Athreya & Ney (1972), sec. I.2.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import rate_variance
    >>> float(rate_variance(10, 2.0, 100))
    0.2
    """
    from . import poisson_workflows as pw

    wf = _wf(workflow, "rate_variance", pw.VARIANCE_WORKFLOWS)
    n_, l_, M_ = _args(n, lam0, M)
    return _out(pw._variance(n_, l_, M_, wf))


# ---------------------------------------------------------------------------------------------
# extinction and survival
# ---------------------------------------------------------------------------------------------


def log_extinction_probability(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Natural log of ``P(Lam_n = 0)``: ``-M lam0 g_n`` (``-inf`` at ``n = 0``).

    Formula: ``log P(Lam_n = 0) = -M lam0 g_n``, ``g_1 = 1``, ``g_{t+1} = 1 - exp(-g_t)``
    (:func:`modelcollapse.theory.branching.poisson_refit_g`: exact iteration up to ``n = 10^6``,
    relative error below 1e-12 beyond). Finite where :func:`extinction_probability` underflows.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0`` (at most ``2^53``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Data policy: replace (the default), mix (fresh or one reused real set), accumulate,
        weighted: exact through the Laplace-transform recursion of
        :mod:`modelcollapse.theory.poisson_workflows` (``Lam = 0`` is absorbing only under
        replace). accumulate_subsample is refused.

    Returns
    -------
    float or ndarray
        ``log P(Lam_n = 0)``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import log_extinction_probability
    >>> float(log_extinction_probability(1, 1.0, 1000))
    -1000.0
    """
    return _out(_wf_log_ext(n, lam0, M, workflow, "log_extinction_probability"))


def extinction_probability(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Probability that the model has collapsed to ``Poisson(0)`` by generation ``n``.

    Formula: ``P(Lam_n = 0) = exp(-M lam0 g_n)`` for ``n >= 1`` (0 at ``n = 0``), with
    ``g_1 = 1``, ``g_{t+1} = 1 - exp(-g_t)``. Because 0 is absorbing this is also
    ``P(T <= n)``, the cdf of the extinction time ``T = min{t : Lam_t = 0}``. It tends to 1
    (``g_n <= 2/(n+1)``): collapse is certain.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0`` (at most ``2^53``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Data policy: replace (the default), mix (fresh or one reused real set), accumulate,
        weighted: exact through the Laplace-transform recursion of
        :mod:`modelcollapse.theory.poisson_workflows` (``Lam = 0`` is absorbing only under
        replace). accumulate_subsample is refused.

    Returns
    -------
    float or ndarray
        ``P(Lam_n = 0)``, broadcast over ``n, lam0, M``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Harris (1963), ch. I.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import extinction_probability
    >>> round(float(extinction_probability(1, 0.01, 100)), 12)
    0.367879441171
    >>> round(float(extinction_probability(2, 0.01, 100)), 12)   # exp(-(1 - 1/e))
    0.531463605387
    """
    return _out(np.exp(_wf_log_ext(n, lam0, M, workflow, "extinction_probability")))


def survival_probability(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Probability that the fitted rate is still positive at generation ``n``: ``P(Lam_n > 0)``.

    Formula: ``P(Lam_n > 0) = 1 - exp(-M lam0 g_n)``, computed as ``-expm1(-M lam0 g_n)`` (full
    relative accuracy when it is tiny); 1 at ``n = 0``. Equals ``P(T > n)``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0`` (at most ``2^53``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Data policy: replace (the default), mix (fresh or one reused real set), accumulate,
        weighted: exact through the Laplace-transform recursion of
        :mod:`modelcollapse.theory.poisson_workflows` (``Lam = 0`` is absorbing only under
        replace). accumulate_subsample is refused.

    Returns
    -------
    float or ndarray
        ``P(Lam_n > 0)``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import survival_probability
    >>> round(float(survival_probability(1, 0.01, 100)), 12)
    0.632120558829
    >>> f"{survival_probability(10**6, 1e-9, 1):.8e}"   # ~ 2 M lam0 / n
    '1.99998919e-15'
    """
    return _out(-np.expm1(_wf_log_ext(n, lam0, M, workflow, "survival_probability")))


def survival_asymptotic(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """APPROXIMATE survival probability for ``n >> M lam0``: ``P(Lam_n > 0) ~ 2 M lam0 / n``.

    Formula (APPROXIMATION, not a bound): ``2 M lam0 / n``. Kolmogorov's estimate for a critical
    Galton-Watson process with offspring variance ``sigma^2 = 1``,
    ``P(Z_n > 0 | Z_0 = 1) ~ 2 / (sigma^2 n)``, applied to the ``Poisson(M lam0)`` founders. The
    exact value is :func:`survival_probability`; the ratio approximate/exact is
    ``1 + O(M lam0 / n + log(n) / n)`` and tends to 1 as ``n / (M lam0) -> infinity``
    (measured: 1.0041 at ``M lam0 = 1, n = 10^3`` and 1.00005 at ``n = 10^5``; 1.013 at
    ``M lam0 = 10, n = 10^3``; 2.33 at ``M lam0 = 100, n = 100``; it exceeds 1 whenever
    ``n < 2 M lam0``, where it is meaningless). Requires ``n >= 1``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 1`` (at most ``2^53``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        ``2 M lam0 / n``.

    References
    ----------
    A. N. Kolmogorov (1938); Athreya & Ney (1972), sec. I.9; Suresh, Thangaraj & Khandavally,
    AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import survival_asymptotic
    >>> float(survival_asymptotic(1000, 0.01, 100))
    0.002
    """
    _wf(workflow, "survival_asymptotic")
    n_, l_, M_ = _args(n, lam0, M, _N_ASYMPTOTIC)
    with np.errstate(over="ignore"):
        return _out(2.0 * (M_ * l_) / n_)


def conditional_expected_rate(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Expected fitted rate given that the model has not collapsed: ``E[Lam_n | Lam_n > 0]``.

    Formula: ``E[Lam_n | Lam_n > 0] = lam0 / P(Lam_n > 0)`` (since ``E Lam_n 1[Lam_n > 0] =
    E Lam_n = lam0``), evaluated as ``(x / (1 - e^{-x})) / (M g_n)`` with ``x = M lam0 g_n`` so
    that it stays finite when the survival probability underflows; ``lam0`` at ``n = 0``. Grows
    like ``n / (2 M)`` for ``n >> M lam0`` (Yaglom: surviving rates are of order ``n / M``).

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0`` (at most ``2^53``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        ``E[Lam_n | Lam_n > 0]``.

    References
    ----------
    Athreya & Ney (1972), sec. I.9 (Yaglom's theorem); Suresh, Thangaraj & Khandavally (2025).

    Examples
    --------
    >>> from modelcollapse.theory.poisson import conditional_expected_rate
    >>> round(float(conditional_expected_rate(1, 0.01, 100)), 12)   # 0.01 / (1 - 1/e)
    0.015819767069
    """
    _wf(workflow, "conditional_expected_rate")
    n_, l_, M_ = _args(n, lam0, M)
    return _out(_conditional_mean(n_, l_, M_))


def _conditional_mean(n_, l_, M_) -> NDArray[np.float64]:
    g = poisson_refit_g(n_)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x = l_ * (M_ * g)
        small = x <= 40.0
        xs = np.where(small, x, 1.0)
        ratio = xs / -np.expm1(-xs)
        ratio = np.where(xs < 1e-300, 1.0, ratio)
        via_g = ratio / (M_ * np.where(small, g, 1.0))
        direct = l_ / -np.expm1(-np.where(small, 1.0, x))
        out = np.where(small, via_g, direct)
    return np.where(n_ == 0, l_, out)


def conditional_rate_variance(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Variance of the fitted rate given survival: ``Var[Lam_n | Lam_n > 0]``.

    Formula: with ``s = P(Lam_n > 0)``, ``e = 1 - s`` and ``m = lam0 / s``,
    ``Var[Lam_n | Lam_n > 0] = (n lam0 / M + lam0^2) / s - m^2 = m (n - x / (g_n (e^x - 1))) / M``
    where ``x = M lam0 g_n``; evaluated as ``(m / M) [(n - 1/g_n) + (1 - x/(e^x - 1)) / g_n]``,
    both terms non-negative (``1/g_n <= n``), so there is no cancellation (``n = 1`` included).
    0 at ``n = 0``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0`` (at most ``2^53``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        ``Var[Lam_n | Lam_n > 0]``.

    References
    ----------
    Athreya & Ney (1972), sec. I.9; Suresh, Thangaraj & Khandavally (2025).

    Examples
    --------
    >>> from modelcollapse.theory.poisson import conditional_rate_variance
    >>> float(conditional_rate_variance(0, 3.0, 10))
    0.0
    >>> round(float(conditional_rate_variance(1, 1.0, 1)), 12)   # Poisson(1) given > 0
    0.661303112662
    """
    _wf(workflow, "conditional_rate_variance")
    n_, l_, M_ = _args(n, lam0, M)
    m = _conditional_mean(n_, l_, M_)
    g = poisson_refit_g(n_)
    with np.errstate(over="ignore", invalid="ignore"):
        gs = np.where(n_ == 0, 1.0, g)
        x = l_ * (M_ * gs)
        first = np.maximum(n_ - 1.0 / gs, 0.0)
        second = _one_minus_x_over_expm1(x) / gs
        out = (m / M_) * (first + second)
    return _out(np.where(n_ == 0, 0.0, out))


# ---------------------------------------------------------------------------------------------
# the exact law of S_n = M Lam_n (pgf inversion by FFT)
# ---------------------------------------------------------------------------------------------


def _chernoff_range(n: int, c: float, L: float) -> tuple[float, float]:
    """Chernoff bounds on ``S_n``: ``(bottom, top)`` with ``P(S_n <= bottom) <= e^{-L}`` and
    ``P(S_n >= top) <= e^{-L}`` (``bottom < 0`` when no such count exists).

    Upper tail, ``s = 1 + v > 1``: ``log G_n(s) = c V`` with ``V_0 = v``, ``V_{k+1} = e^{V_k} - 1``
    (``n - 1`` times) and ``P(S_n >= m) <= exp(c V - m log1p(v))``. Lower tail, ``s = e^{-w}``:
    ``log G_n(s) = -c U`` with ``U_0 = 1 - e^{-w}``, ``U_{k+1} = 1 - e^{-U_k}`` and
    ``P(S_n <= m) <= exp(-c U + m w)``. Since ``-U_{k+1} = expm1(-U_k)``, both iterate
    ``x -> expm1(x)`` (on ``x = v > 0`` and ``x = -U < 0``) in one array. Each side is optimised
    over a log grid of ``_GRID`` points, then over a finer grid around the best point.
    """

    def bounds(v, w):
        x = np.concatenate([v, np.expm1(-w)])
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(n - 1):
                np.expm1(x, out=x)
            V, U = x[: v.size], -x[v.size :]
            top = (c * V + L) / np.log1p(v)
            bottom = (c * U - L) / w
        return np.where(np.isfinite(top), top, np.inf), bottom

    def around(grid, i):
        return np.geomspace(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)], _GRID)

    v1, w1 = np.geomspace(1e-12, 1e200, _GRID), np.geomspace(1e-12, 60.0, _GRID)
    t1, b1 = bounds(v1, w1)
    t2, b2 = bounds(around(v1, int(np.argmin(t1))), around(w1, int(np.argmax(b1))))
    return float(max(b1.max(), b2.max())), float(min(t1.min(), t2.min()))


def _refuse(reason: str) -> ValueError:
    return ValueError(
        f"the exact law of S_n = M Lam_n is not available here: {reason} (limits: FFT size <= "
        f"MAX_FFT_SIZE = {MAX_FFT_SIZE}, (n - 1) * (N/2 + 1) <= MAX_FFT_WORK = {MAX_FFT_WORK})"
    )


def _count_law(n: int, c: float, tail: float, window: bool) -> tuple[int, NDArray[np.float64]]:
    """Exact pmf of ``S_n`` (``n >= 1``) on ``lo..hi``; mass left out (aliasing + truncation)
    ``<= tail`` by Chernoff bounds. ``window=False`` forces ``lo = 0``."""
    g_n = float(poisson_refit_g(n))
    surv = -math.expm1(-c * g_n)
    # cheap pre-check (a rough lower estimate of the FFT length: the conditional mean c / surv
    # when the law starts near 0, two standard deviations otherwise), so that hopeless sizes are
    # refused before the Chernoff search, which costs ~n * 4 * _GRID evaluations
    est = 2.0 * math.sqrt(n * c) if (window and c > 100.0 * n) else 0.5 * c / max(surv, 1e-300)
    if est > MAX_FFT_SIZE or (n - 1) * est / 2.0 > MAX_FFT_WORK:
        raise _refuse(f"it needs an FFT of at least ~{est:.3g} points (n = {n}, M lam0 = {c:g})")
    # left-out mass <= tail * P(S_n > 0): relative accuracy where the non-zero part is tiny
    L = math.log(2.0 / tail) - math.log(max(surv, 1e-300))
    bottom, top = _chernoff_range(n, c, L)  # each tail holds <= tail * surv / 2
    if not top < 2.0**53:
        raise _refuse(f"the counts exceed 2^53 (n = {n}, M lam0 = {c:g})")
    hi = max(int(math.ceil(top)) - 1, 0)
    lo = 0
    if window:
        lo = int(math.floor(bottom)) + 1 if bottom >= 0 else 0
        if lo <= hi // 2:  # a window that does not halve the length is not worth the accuracy
            lo = 0
    length = hi - lo + 1
    if length > MAX_FFT_SIZE:
        raise _refuse(f"{length} counts hold all but {tail:g} of the mass (n = {n}, "
                      f"M lam0 = {c:g})" + ("" if window else
                                            "; count_distribution_window may need fewer"))
    N = sfft.next_fast_len(length, real=True)
    if N > MAX_FFT_SIZE:
        raise _refuse(f"it needs an FFT of {N} points (n = {n}, M lam0 = {c:g}, tail = {tail:g})")
    K = N // 2 + 1
    if (n - 1) * K > MAX_FFT_WORK:
        raise _refuse(f"it needs (n - 1) * (N/2 + 1) = {(n - 1) * K} pgf evaluations "
                      f"(n = {n}, N = {N})")
    theta = (2.0 * np.pi / N) * np.arange(K)
    # u = 1 - z on the unit circle, accurate near z = 1
    u = 2.0 * np.sin(0.5 * theta) ** 2 - 1j * np.sin(theta)
    for _ in range(n - 1):  # u_{k+1} = 1 - f(1 - u_k) = 1 - exp(-u_k)
        np.negative(u, out=u)
        np.expm1(u, out=u)
        np.negative(u, out=u)
    if lo == 0:
        # G - 1 = expm1(-c u): the pmf minus the unit mass at 0, relative accuracy kept for
        # small c; the atom at 0 is the closed form exp(-c g_n).
        H = np.expm1(-c * u)
        p = sfft.irfft(np.conj(H), N)
        p[0] = math.exp(-c * g_n)
    else:
        phase = np.exp((-2j * np.pi / N) * ((lo * np.arange(K, dtype=np.int64)) % N))
        p = sfft.irfft(np.conj(np.exp(-c * u) * phase), N)
    return lo, np.clip(p[:length], 0.0, None)


def _scalar_args(n, lam0, M, tail):
    nn = P.n.scalar(n)
    _check_n_max(np.asarray(float(nn)), why=" (larger generations are not exact in float64)")
    return nn, P.lam0.scalar(lam0), P.M.scalar(M), TAIL.scalar(tail)


def _generation0(lam0: float, M: int) -> int:
    c = M * lam0
    ci = round(c)
    if abs(c - ci) > 1e-9 * max(1.0, c):
        raise ValueError(
            "lam0 must make M*lam0 an integer when n = 0 (generation 0 is the constant rate lam0; "
            f"S_0 = M lam0 is then not a count; got lam0={lam0!r}, M={M})"
        )
    if ci > MAX_FFT_SIZE:
        raise _refuse(f"M lam0 = {ci} is too large")
    return int(ci)


def count_distribution_window(
    n: int,
    lam0: float,
    M: int,
    *,
    tail: float = _DEFAULT_TAIL,
    workflow: W.WorkflowLike = None,
) -> tuple[int, NDArray[np.float64]]:
    """Exact pmf of ``S_n = M Lam_n`` on the window ``lo..hi`` that holds all but ``tail`` of it.

    Formula: the pgf ``G_n(z) = exp(M lam0 (f_{n-1}(z) - 1))``, ``f(z) = exp(z - 1)``, is
    evaluated at the ``N`` roots of unity by iterating ``u -> 1 - exp(-u)`` on ``u = 1 - z``
    (``n - 1`` times, complex ``expm1``), and inverted by a real inverse FFT shifted by ``lo``.
    ``lo`` and ``hi`` come from Chernoff bounds ``P(S >= m) <= G_n(s) / s^m`` (``s > 1``) and
    ``P(S <= m) <= G_n(s) / s^m`` (``s < 1``), each held to ``tail P(Lam_n > 0) / 2`` and
    optimised over ``s`` on a grid; ``N >= hi - lo + 1``, so aliasing moves at most the left-out
    mass: every entry is exact up to ``tail`` plus rounding. The window starts at 0 unless that
    would at least halve the FFT (large ``M lam0``, small ``n``). Entries are clipped at 0.

    Accuracy (measured; see tests/test_theory_poisson.py): where the window starts at 0 it is
    that of :func:`count_distribution`. At ``M lam0 = 10^9``, ``n = 1`` (a window of about
    5.5e5 counts, 0.06 s) the absolute error against 40-digit mpmath is below 1e-17 and the
    relative error below 2e-11 over the bulk (``scipy.stats.poisson.pmf`` itself is off by up to
    3.5e-6 there); at ``n = 10`` (1.7e6 counts, 0.6 s) the pmf sums to 1 within 1e-12 and
    reproduces the mean to 1e-14 and the variance ``n M lam0`` to 5e-11 (relative).

    Parameters
    ----------
    n : int
        Generation, integer ``>= 0`` (``n = 0`` needs ``M lam0`` integral: a point mass).
    lam0 : float
        Original rate ``> 0``.
    M : int
        Samples per generation, integer ``>= 1``.
    tail : float, optional
        Mass allowed outside the window, relative to ``P(Lam_n > 0)`` (default 1e-16), in
        ``(0, 1e-3]``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    lo : int
        First count of the window.
    pmf : ndarray
        ``P(S_n = lo + j)`` for ``j = 0..hi-lo``.

    Raises
    ------
    ValueError
        If the FFT would exceed :data:`MAX_FFT_SIZE` points or the pgf iteration
        :data:`MAX_FFT_WORK` evaluations (about 5 s): the result would be too slow, or not exact.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; J. Abate and W. Whitt, "Numerical inversion
    of probability generating functions", Oper. Res. Lett. 12 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.poisson import count_distribution_window
    >>> lo, pmf = count_distribution_window(1, 1e6, 1000)      # S_1 ~ Poisson(1e9)
    >>> bool(lo > 9.99e8 and abs(pmf.sum() - 1) < 1e-11)
    True
    >>> round(float(pmf @ np.arange(lo, lo + pmf.size)) / 1e9, 12)     # mean M lam0
    1.0
    """
    _wf(workflow, "count_distribution_window")
    nn, ll, MM, tt = _scalar_args(n, lam0, M, tail)
    if nn == 0:
        return _generation0(ll, MM), np.ones(1)
    return _count_law(nn, MM * ll, tt, window=True)


def count_distribution(
    n: int,
    lam0: float,
    M: int,
    *,
    tail: float = _DEFAULT_TAIL,
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Exact pmf of ``S_n = M Lam_n`` on ``0..smax`` (so ``P(Lam_n = k / M)`` at index ``k``).

    Formula: the coefficients of the pgf ``E z^{S_n} = exp(M lam0 (f_{n-1}(z) - 1))``,
    ``f(z) = exp(z - 1)``, ``f_0(z) = z``, obtained by evaluating it at the ``N`` roots of unity
    (iterating ``u -> 1 - exp(-u)`` on ``u = 1 - z``) and inverting with a real inverse FFT.
    ``smax`` is the smallest count with the Chernoff bound
    ``P(S_n > smax) <= min_{s>1} G_n(s) / s^(smax+1) <= tail P(Lam_n > 0) / 2`` (optimised over
    ``s`` on a grid), and ``N >= smax + 1``, so the aliased and truncated mass together are at
    most ``tail P(Lam_n > 0) <= tail`` (relative to the non-degenerate part, which matters when
    ``M lam0 g_n`` is tiny). The atom at 0 is the closed form
    ``exp(-M lam0 g_n)``; the rest comes from ``G_n - 1`` (which keeps relative accuracy when
    ``M lam0`` is small). Entries are clipped at 0; they sum to ``1 - tail`` or more.

    Accuracy and cost (measured; see tests/test_theory_poisson.py): against brute-force
    propagation of the ``Poisson`` kernel, the absolute error is below ``2e-15 P(Lam_n > 0)``
    for ``n <= 5`` (``M lam0`` from 1e-12 to 3; tested at ``4e-15``) and ``6e-15 P(Lam_n > 0)``
    at ``n = 300``; the relative error is below 1e-12 where the pmf exceeds 1e-4 of its mode
    (``n <= 5``) and about 1e-11 at ``n = 300`` (1e-3 of the mode); far-tail entries carry that
    absolute floor. ``n = 1000, M lam0 = 1``: ``smax ~ 22000``, 0.4 s; ``n = 3000``: 4 s;
    ``n = 10^4`` is refused. For large ``M lam0`` use :func:`count_distribution_window`, which
    skips the empty left part of the support.

    Parameters
    ----------
    n : int
        Generation, integer ``>= 0`` (``n = 0``: point mass at ``M lam0``, which must be an
        integer).
    lam0 : float
        Original rate ``> 0``.
    M : int
        Samples per generation, integer ``>= 1``.
    tail : float, optional
        Bound on the mass left out, relative to ``P(Lam_n > 0)``, in ``(0, 1e-3]`` (default
        1e-16).
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    ndarray
        ``P(S_n = k)`` for ``k = 0..smax``.

    Raises
    ------
    ValueError
        When the FFT would exceed :data:`MAX_FFT_SIZE` points or :data:`MAX_FFT_WORK` pgf
        evaluations, rather than return an inexact or very slow answer.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Harris (1963), ch. I; Abate & Whitt, Oper.
    Res. Lett. 12 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.poisson import count_distribution
    >>> np.round(count_distribution(1, 0.5, 2)[:4], 12).tolist()   # Poisson(1)
    [0.367879441171, 0.367879441171, 0.183939720586, 0.061313240195]
    >>> pmf = count_distribution(3, 0.5, 2)
    >>> round(float(pmf[0]), 12), round(float(pmf @ np.arange(pmf.size)), 12)
    (0.625917694717, 1.0)
    """
    _wf(workflow, "count_distribution")
    nn, ll, MM, tt = _scalar_args(n, lam0, M, tail)
    if nn == 0:
        ci = _generation0(ll, MM)
        out = np.zeros(ci + 1)
        out[ci] = 1.0
        return out
    return _count_law(nn, MM * ll, tt, window=False)[1]


def _grouped(n_, c_, tail: float, fn) -> None:
    """Call ``fn(mask, lo, cdf)`` once per distinct ``(n, M lam0)`` with ``n >= 1``."""
    pos = n_ >= 1
    if not pos.any():
        return
    keys = np.unique(np.stack([n_[pos], c_[pos]], axis=1), axis=0)
    for nv, cv in keys:
        lo, pmf = _count_law(int(nv), float(cv), tail, window=True)
        cdf = np.minimum(np.cumsum(pmf), 1.0)
        fn((n_ == nv) & (c_ == cv), lo, cdf)


def rate_cdf(
    n: ArrayLike,
    lam0: ArrayLike,
    M: ArrayLike,
    x: ArrayLike,
    *,
    tail: float = _DEFAULT_TAIL,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Exact cdf of the fitted rate: ``P(Lam_n <= x)``.

    Formula: ``P(Lam_n <= x) = sum_{k <= M x} P(S_n = k)`` with the exact law of
    :func:`count_distribution_window` (one FFT per distinct ``(n, M lam0)``); ``1[x >= lam0]`` at
    ``n = 0``. ``M x`` is rounded up to an integer when within a relative 1e-15 of it (so
    ``x = k / M`` computed in floating point includes the atom ``k``). Absolute error ``<= tail``
    plus rounding (about 1e-15).

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    x : array_like
        Point(s) of the rate axis (any real, ``+-inf`` allowed).
    tail : float, optional
        Mass the exact law may leave out (default 1e-16).
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        ``P(Lam_n <= x)`` broadcast over ``n, lam0, M, x``.

    Raises
    ------
    ValueError
        Where the exact law is refused (see :func:`count_distribution_window`).

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import rate_cdf
    >>> round(float(rate_cdf(1, 1.0, 1, 0.0)), 12)       # P(Poisson(1) = 0)
    0.367879441171
    >>> round(float(rate_cdf(5, 1.0, 10, 1.0)), 12)
    0.593417580331
    """
    _wf(workflow, "rate_cdf")
    tt = TAIL.scalar(tail)
    n_, l_, M_ = _args(n, lam0, M)
    x_ = _X.array(x)
    n_, l_, M_, x_ = (a.ravel() for a in np.broadcast_arrays(n_, l_, M_, x_))
    shape = np.broadcast_shapes(np.shape(n), np.shape(lam0), np.shape(M), np.shape(x))
    out = (x_ >= l_).astype(np.float64)  # generation 0
    with np.errstate(invalid="ignore", over="ignore"):
        mx = M_ * x_
        k = np.floor(mx + 4.0 * np.finfo(float).eps * np.abs(mx))

    def fill(mask, lo, cdf):
        kk = k[mask]
        val = np.zeros(kk.shape)
        inside = (kk >= lo) & (kk < lo + cdf.size)
        val[inside] = cdf[(kk[inside] - lo).astype(np.int64)]
        val[kk >= lo + cdf.size] = 1.0
        out[mask] = val

    _grouped(n_, M_ * l_, tt, fill)
    return _out(out.reshape(shape))


def rate_quantile(
    n: ArrayLike,
    lam0: ArrayLike,
    M: ArrayLike,
    q: ArrayLike,
    *,
    tail: float = _DEFAULT_TAIL,
    workflow: W.WorkflowLike = None,
) -> Float:
    """Exact ``q``-quantile of the fitted rate: ``min{x : P(Lam_n <= x) >= q}``.

    Formula: ``k* / M`` with ``k*`` the smallest count whose cumulative probability under the
    exact law of ``S_n`` (:func:`count_distribution_window`) reaches ``q``; ``lam0`` at
    ``n = 0``. The quantile is 0 whenever ``q <= P(Lam_n = 0)`` (typical for ``n >> M lam0``:
    the median rate collapses long before the mean moves). Levels within about 1e-15 of a jump
    of the cdf, or above ``1 - tail``, are not resolved.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    q : array_like
        Probability level in ``(0, 1)``.
    tail : float, optional
        Mass the exact law may leave out (default 1e-16).
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        The quantile of ``Lam_n`` (a multiple of ``1/M`` for ``n >= 1``).

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import rate_quantile
    >>> float(rate_quantile(1, 1.0, 1, 0.5))     # median of Poisson(1)
    1.0
    >>> float(rate_quantile(50, 1.0, 10, 0.5))   # P(Lam_50 = 0) = 0.67 > 1/2
    0.0
    """
    _wf(workflow, "rate_quantile")
    tt = TAIL.scalar(tail)
    n_, l_, M_ = _args(n, lam0, M)
    q_ = P.q.array(q)
    n_, l_, M_, q_ = (a.ravel() for a in np.broadcast_arrays(n_, l_, M_, q_))
    shape = np.broadcast_shapes(np.shape(n), np.shape(lam0), np.shape(M), np.shape(q))
    out = l_.copy()  # generation 0

    def fill(mask, lo, cdf):
        idx = np.searchsorted(cdf, q_[mask], side="left")
        idx = np.minimum(idx, cdf.size - 1)
        out[mask] = (lo + idx) / M_[mask]

    _grouped(n_, M_ * l_, tt, fill)
    return _out(out.reshape(shape))


# ---------------------------------------------------------------------------------------------
# extinction time
# ---------------------------------------------------------------------------------------------


def extinction_time_quantile(
    lam0: ArrayLike, M: ArrayLike, q: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """``q``-quantile of the extinction time ``T = min{t : Lam_t = 0}``.

    Formula: the smallest generation ``t >= 1`` with ``P(T <= t) = exp(-M lam0 g_t) >= q``
    (``P(T <= t) = P(Lam_t = 0)`` because 0 is absorbing; ``T >= 1`` since ``lam0 > 0``). Found
    by bisection on ``t`` with the same floating-point criterion as
    :func:`extinction_probability` (so the two agree exactly); ``g_t <= 2/(t+1)`` brackets the
    answer by ``2 M lam0 / log(1/q)``. For ``M lam0 >> 1`` the quantile is close to
    ``2 M lam0 / log(1/q)``. The mean ``E T`` is infinite (``P(T > t) ~ 2 M lam0 / t``; see
    :func:`expected_capped_extinction_time`), which is why quantiles are offered.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    q : array_like
        Probability level in ``(0, 1)``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        The quantile (an integer generation, as float64).

    Raises
    ------
    ValueError
        If the quantile would exceed ``2^53`` generations (``M lam0`` above about
        ``4.5e15 log(1/q)``).

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Athreya & Ney (1972), sec. I.9.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import extinction_time_quantile
    >>> float(extinction_time_quantile(1.0, 100, 0.5))
    286.0
    >>> float(extinction_time_quantile(0.001, 100, 0.5))    # P(T = 1) = exp(-0.1) > 1/2
    1.0
    """
    _wf(workflow, "extinction_time_quantile")
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    q_ = P.q.array(q)
    l_, M_, q_ = np.broadcast_arrays(l_, M_, q_)
    return _out(_time_quantile(M_ * l_, q_))


def _time_quantile(c: NDArray, q: NDArray) -> NDArray[np.float64]:
    shape = c.shape
    c, q = c.ravel(), q.ravel()
    with np.errstate(divide="ignore", over="ignore"):
        y = -np.log(q) / c  # answer t: g_t <= y (up to rounding)
        upper = np.ceil(2.0 / y) + 1.0  # g_t <= 2/(t+1) <= y there
    limit = float(2**53)
    if np.any(upper > limit):
        bad = upper > limit
        raise ValueError(
            "the extinction-time quantile exceeds 2^53 generations (M*lam0 = "
            f"{P.show(c[bad])}, q = {P.show(q[bad])}); not representable exactly"
        )
    table_max = int(min(upper.max(initial=1.0), 1_000_000))
    G = poisson_refit_g(np.arange(table_max + 1))

    def ext_ok(t: NDArray) -> NDArray[np.bool_]:
        g = np.empty(t.shape)
        small = t <= table_max
        g[small] = G[t[small].astype(np.int64)]
        if (~small).any():
            g[~small] = poisson_refit_g(t[~small])
        with np.errstate(over="ignore"):
            return np.exp(-c * g) >= q

    lo = np.zeros(c.shape)  # P(T <= 0) = 0 < q
    hi = upper.copy()
    ok = ext_ok(hi)
    while not ok.all():  # rounding at the bracket's end: widen
        hi = np.where(ok, hi, 2.0 * hi)
        ok = ext_ok(hi)
    while np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2.0)
        active = hi - lo > 1
        good = ext_ok(np.where(active, mid, hi))
        hi = np.where(active & good, mid, hi)
        lo = np.where(active & ~good, mid, lo)
    return hi.reshape(shape)


def median_extinction_time(
    lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """Median extinction time: the smallest ``t`` with ``P(Lam_t = 0) >= 1/2``.

    Formula: ``min{t >= 1 : exp(-M lam0 g_t) >= 1/2}``, i.e. ``g_t <= log(2) / (M lam0)``; close
    to ``2 M lam0 / log 2 ~ 2.885 M lam0`` for ``M lam0 >> 1`` (286 at ``M lam0 = 100``,
    against 288.5; 2882 at ``M lam0 = 1000``, against 2885.4). Offered instead of the mean,
    which is infinite.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        The median of ``T`` (an integer, as float64).

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import median_extinction_time
    >>> float(median_extinction_time(1.0, 1000))   # 2 M lam0 / log 2 = 2885.4
    2882.0
    """
    _wf(workflow, "median_extinction_time")
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    l_, M_ = np.broadcast_arrays(l_, M_)
    return _out(_time_quantile(M_ * l_, np.full(l_.shape, 0.5)))


def expected_capped_extinction_time(
    n: ArrayLike, lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> Float:
    """``E[min(T, n)]``: expected extinction time capped at ``n`` generations.

    Formula: ``E[min(T, n)] = sum_{t=0}^{n-1} P(T > t) = 1 + sum_{t=1}^{n-1} (1 - exp(-M lam0
    g_t))`` for ``n >= 1`` (0 at ``n = 0``). It grows without bound, like ``2 M lam0 log n``,
    since ``P(T > t) ~ 2 M lam0 / t``: this is why ``E T = infinity``. Summed in float64
    (relative error about ``1e-16 n``). Cost: one pass over ``t < n`` per distinct ``M lam0``.

    Parameters
    ----------
    n : array_like
        Cap, integer ``>= 0``, at most ``MAX_CAPPED_N`` (``10^7``).
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Samples per generation, integer ``>= 1``.
    workflow : Workflow or str, optional
        Only ``"replace"``.

    Returns
    -------
    float or ndarray
        ``E[min(T, n)]``.

    References
    ----------
    Athreya & Ney (1972), sec. I.9; Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson import expected_capped_extinction_time
    >>> round(float(expected_capped_extinction_time(2, 0.01, 100)), 12)   # 1 + (1 - 1/e)
    1.632120558829
    """
    _wf(workflow, "expected_capped_extinction_time")
    n_, l_, M_ = _args(n, lam0, M)
    _check_n_max(n_, float(MAX_CAPPED_N), " (MAX_CAPPED_N: the cost is one pass over t < n)")
    c_ = M_ * l_
    shape = n_.shape
    nf, cf = n_.ravel(), c_.ravel()
    out = np.zeros(nf.shape)
    nmax = int(nf.max(initial=0.0))
    if nmax >= 2:
        G = poisson_refit_g(np.arange(1, nmax))  # g_1 .. g_{nmax-1}
        for cv in np.unique(cf):
            sel = (cf == cv) & (nf >= 1)
            cums = np.concatenate([[0.0], np.cumsum(-np.expm1(-cv * G))])
            out[sel] = 1.0 + cums[nf[sel].astype(np.int64) - 1]
    out[(nf == 1)] = 1.0
    return _out(out.reshape(shape))


# ---------------------------------------------------------------------------------------------
# sample-size schedules M_1, ..., M_n
# ---------------------------------------------------------------------------------------------


def _schedule_args(lam0: ArrayLike, M: ArrayLike, *, cap: bool):
    Ms = np.asarray(P.schedule(M, P.M), dtype=np.float64)
    if cap and Ms.size > MAX_SCHEDULE_LENGTH:
        raise ValueError(
            f"M as a schedule must have at most MAX_SCHEDULE_LENGTH = {MAX_SCHEDULE_LENGTH} "
            f"entries here (got length {Ms.size}; the cost grows like length^2)"
        )
    return P.lam0.array(lam0), Ms


def _schedule_wf(workflow: W.WorkflowLike, name: str, *, variance: bool = False) -> W.Workflow:
    """The workflow of a ``*_schedule`` function: one of
    :data:`~modelcollapse.theory.poisson_workflows.SCHEDULE_VARIANCE_WORKFLOWS` (variance) or
    :data:`~modelcollapse.theory.poisson_workflows.SCHEDULE_WORKFLOWS`, no sampling bias."""
    from .poisson_workflows import SCHEDULE_VARIANCE_WORKFLOWS, SCHEDULE_WORKFLOWS

    wf = W.as_workflow(workflow)
    if wf.name == "accumulate_subsample" and not variance:
        raise ValueError(
            f"workflow 'accumulate_subsample' is not available for theory.poisson.{name}: "
            "P(Lam_i = 0) needs the law of the subsample, not its moments (available with a "
            f"schedule: {SCHEDULE_WORKFLOWS}; Var Lam_i is exact: rate_variance_schedule)"
        )
    return _wf(wf, name, SCHEDULE_VARIANCE_WORKFLOWS if variance else SCHEDULE_WORKFLOWS)


def _schedule_log_ext(lam0: ArrayLike, M: ArrayLike, workflow: W.WorkflowLike, name: str
                      ) -> NDArray[np.float64]:
    """``log P(Lam_i = 0)``, ``i = 0..n``, shape ``lam0.shape + (n + 1,)``."""
    wf = _schedule_wf(workflow, name)
    l_, Ms = _schedule_args(lam0, M, cap=True)
    if wf.name == "replace":
        b = np.concatenate([[np.inf], _schedule_b(Ms)])
    else:
        from .poisson_workflows import _schedule_unit_log_ext

        b = _schedule_unit_log_ext(Ms, wf)
    with np.errstate(invalid="ignore", over="ignore"):
        return -np.asarray(l_)[..., None] * b


def rate_variance_schedule(
    lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``Var Lam_i`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula (replace): ``Var Lam_i = lam0 sum_{j<=i} 1 / M_j`` (``S_j | Lam_{j-1} ~ Poisson(M_j
    Lam_{j-1})``, ``Lam_j = S_j / M_j``, so ``Var Lam_j = Var Lam_{j-1} + E Lam_{j-1} / M_j``
    and ``E Lam_j = lam0``). Bounded in ``n`` iff ``sum 1/M_j < infinity``. Under the other
    workflows ``V_i = Var Lam_i`` obeys an exact affine recursion from ``V_0 = 0``
    (``r_i = workflow.real_count(M_i)``, ``a_i = (M_i - r_i)/M_i``):

    - mix, fresh real data: ``V_i = lam0/M_i + a_i^2 V_{i-1}``;
    - mix, one reused real set ``R`` (``r`` the same for every ``M_i``):
      ``V_i = lam0/M_i + 2 a_i C_{i-1}/M_i + a_i^2 V_{i-1}`` with
      ``C_i = Cov(Lam_i, R) = r lam0/M_i + a_i C_{i-1}``, ``C_0 = 0``;
    - accumulate (pool ``N_i = M_1 + ... + M_i``): ``V_i = V_{i-1} + lam0 M_i / N_i^2``;
    - weighted: ``V_i = w^2 lam0/r_i + (1 - w)^2 (lam0/M_i + V_{i-1})``;
    - accumulate_subsample (pool ``P_i = M_1 + ... + M_i``, fit on ``N_i`` pooled points
      without replacement, ``N_i = subsample`` or ``M_i``):
      ``V_i = (A_i N_i/P_i + (B_i - A_i) N_i (N_i - 1)/(P_i (P_i - 1))) / N_i^2`` with
      ``A_i = sum_{j<=i} M_j (lam0 + V_{j-1})`` and
      ``B_i - A_i = sum_{j<=i} (M_j^2 - M_j) V_{j-1} + 2 sum_{j<=i} c_j (P_i - P_j)``,
      ``c_j = (M_j sum_{l<j} c_l + M_j lam0 + M_j^2 V_{j-1}) / P_j`` (the covariance of two
      batches' sums is ``E[Y_j Y_k] = M_k c_j``, ``k > j``).

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : sequence of int
        Schedule ``M_1, ..., M_n`` (``M[i-1]`` samples for the fit producing generation ``i``).
    workflow : Workflow or str, optional
        replace (the default), mix (fresh or one reused real set; real counts
        ``workflow.real_count(M_i)``), accumulate, weighted, accumulate_subsample
        (``subsample <= M_1``); no sampling bias.

    Returns
    -------
    ndarray
        Shape ``lam0.shape + (n + 1,)``; entry ``i`` is ``Var Lam_i``.

    Notes
    -----
    Exact for every workflow: the law of total variance over one fit, with ``E Lam_j = lam0``
    for every ``j`` (each fit's conditional mean is linear with weights summing to one), gives
    the affine step; under accumulate_subsample the fit is a linear statistic of the pool
    chosen blind to the values, so its second moment follows from the pool's first two
    moments and the inclusion probabilities (exact, not large-N). A constant schedule
    reproduces :func:`modelcollapse.theory.poisson_workflows.mix_rate_variance`, the other
    constant-M closed forms and
    :func:`~modelcollapse.theory.accumulate_subsample.accumulate_subsample_mean_mse` (to
    rounding). Cost: O(n), a loop in plain floats beyond replace and accumulate, plus the
    entry-wise validation of the schedule (every workflow: 7-10 s per million generations
    measured on 2 shared cores, mostly the validation); no cap on ``n``. All terms are
    positive: relative accuracy about ``1e-16 n``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Shumailov et al., Nature 631 (2024), SI;
    Gerstgrasser et al. (2024); He, Xu & Cheng, JRSS-B (2025).

    Examples
    --------
    >>> from modelcollapse.theory.poisson import rate_variance_schedule
    >>> from modelcollapse.spec.workflows import accumulate
    >>> rate_variance_schedule(2.0, [10, 20, 40]).tolist()
    [0.0, 0.2, 0.30000000000000004, 0.35000000000000003]
    >>> rate_variance_schedule(2.0, [10, 30], workflow=accumulate()).tolist()  # 0.2 + 2*30/1600
    [0.0, 0.2, 0.23750000000000002]
    >>> from modelcollapse.spec.workflows import accumulate_subsample
    >>> rate_variance_schedule(1.0, [2, 1], workflow=accumulate_subsample(1)).tolist()
    [0.0, 1.0, 1.3333333333333333]
    """
    wf = _schedule_wf(workflow, "rate_variance_schedule", variance=True)
    l_, Ms = _schedule_args(lam0, M, cap=False)
    if wf.name == "replace":
        inv = np.concatenate([[0.0], np.cumsum(1.0 / Ms)])
    else:
        from .poisson_workflows import _schedule_unit_variance

        inv = _schedule_unit_variance(Ms, wf)
    return np.asarray(l_)[..., None] * inv


def _schedule_b(Ms: NDArray[np.float64]) -> NDArray[np.float64]:
    """``b_i`` with ``P(Lam_i = 0) = exp(-lam0 b_i)``, ``i = 1..n`` (backward pgf recursion)."""
    n = Ms.size
    b = np.empty(n)
    for i in range(n, 0, -1):  # process the fit producing generation i
        m = Ms[i - 1]
        b[i:] = -m * np.expm1(-b[i:] / m)  # targets j > i: one more step back
        b[i - 1] = m  # target i: P(S_i = 0 | Lam_{i-1}) = exp(-M_i Lam_{i-1})
    return b


def extinction_probability_schedule(
    lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``P(Lam_i = 0)`` for generations ``i = 0..n`` under a schedule ``M_1, ..., M_n``.

    Formula (replace): ``P(Lam_i = 0) = exp(-lam0 b_i)`` where, for target ``i``, ``b = M_i``
    and then ``b <- M_j (1 - exp(-b / M_j))`` for ``j = i-1, ..., 1`` (from
    ``E[exp(-b Lam_j) | Lam_{j-1}] = exp(-M_j Lam_{j-1} (1 - e^{-b/M_j}))``). For constant ``M``
    this is ``b_i = M g_i``.

    Under the other workflows (``r_j = workflow.real_count(M_j)``) the Laplace transform
    ``L_j(s) = E exp(-s Lam_j)`` obeys ``L_j(s) = exp(-lam0 k_j(s)) L_{j-1}(s'_j(s))``,
    ``L_0(s) = exp(-lam0 s)``, and ``P(Lam_i = 0) = L_i(infinity)``; so
    ``-log P(Lam_i = 0) / lam0 = sum_{j<=i} k_j + s_0``, iterating ``s`` from infinity at
    ``j = i`` down to ``j = 1`` (``u = 1 - exp(-s/M_j)``):

    - mix, fresh real data: ``k_j = r_j u``, ``s' = (M_j - r_j) u``;
    - mix, one reused real set (condition on ``R = 0``): ``P(Lam_i = 0) = exp(-lam0 (r + s_0))``
      with the same map ``s' = (M_j - r) u``;
    - weighted (``Lam_j = w A_j/r_j + (1 - w) B_j/M_j``, 0 iff both parts are):
      ``k_j = r_j (1 - exp(-w s/r_j))``, ``s' = M_j (1 - exp(-(1 - w) s/M_j))``;
    - accumulate: the pool's sum never decreases, so ``P(Lam_i = 0) = exp(-M_1 lam0)``.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : sequence of int
        Schedule ``M_1, ..., M_n``.
    workflow : Workflow or str, optional
        replace (the default), mix (fresh or one reused real set), accumulate, weighted; no
        sampling bias. accumulate_subsample is refused (``ValueError``).

    Returns
    -------
    ndarray
        Shape ``lam0.shape + (n + 1,)``; entry 0 is 0 (generation 0 is ``Poisson(lam0)``).

    Notes
    -----
    Exact for every workflow (the Poisson Laplace transforms of the real and the synthetic
    parts of each fit). Cost ``n^2 / 2`` map evaluations, vectorised over the targets
    (``n <= MAX_SCHEDULE_LENGTH``; ``n = 2000`` takes about 0.1 s); each map is one
    ``expm1``: relative accuracy of ``log P`` about ``1e-16`` per generation summed.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025; Athreya & Ney (1972), ch. VI (varying
    environments); He, Xu & Cheng, JRSS-B (2025).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.poisson import extinction_probability_schedule
    >>> from modelcollapse.spec.workflows import mix
    >>> np.round(extinction_probability_schedule(0.01, [100, 100]), 12).tolist()
    [0.0, 0.367879441171, 0.531463605387]
    >>> wf = mix(n_real=10, fixed_real=True)
    >>> np.round(extinction_probability_schedule(0.01, [100, 10], workflow=wf), 12).tolist()
    [0.0, 0.367879441171, 0.904837418036]
    """
    return np.exp(_schedule_log_ext(lam0, M, workflow, "extinction_probability_schedule"))


def survival_probability_schedule(
    lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """``P(Lam_i > 0)`` for ``i = 0..n`` under a schedule: ``-expm1(-lam0 b_i)``.

    Same recursion as :func:`extinction_probability_schedule` (``log P(Lam_i = 0) = -lam0
    b_i``), complemented without cancellation. Growing schedules slow collapse: with
    ``M_i = M_1 i^2`` the survival probability stays bounded away from 0 under replace.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : sequence of int
        Schedule ``M_1, ..., M_n``.
    workflow : Workflow or str, optional
        replace (the default), mix (fresh or one reused real set), accumulate, weighted; no
        sampling bias. accumulate_subsample is refused (``ValueError``).

    Returns
    -------
    ndarray
        Shape ``lam0.shape + (n + 1,)``; entry 0 is 1.

    Notes
    -----
    Exact; cost and accuracy as :func:`extinction_probability_schedule`.

    References
    ----------
    Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.poisson import survival_probability_schedule
    >>> np.round(survival_probability_schedule(0.01, [100, 100]), 12).tolist()
    [1.0, 0.632120558829, 0.468536394613]
    >>> np.round(survival_probability_schedule(0.01, [100, 300], workflow="accumulate"),
    ...          12).tolist()
    [1.0, 0.632120558829, 0.632120558829]
    """
    return -np.expm1(_schedule_log_ext(lam0, M, workflow, "survival_probability_schedule"))

