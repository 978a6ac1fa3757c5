"""Drift of discrete fitting: moments of a numeric support, Wasserstein, total variation, Cramer.

Setting and conventions
-----------------------
A categorical distribution ``p0`` on a numeric support ``x_1 < ... < x_K`` (argument ``support``,
default ``0, 1, ..., K-1``) is refit by the empirical frequencies of ``M`` samples, generation
after generation (the replace workflow, the neutral Wright-Fisher model)::

    counts_1 ~ Multinomial(M, p0),    counts_{t+1} ~ Multinomial(M, counts_t / M),
    p_t = counts_t / M.

Generation 0 is ``p0``; generation ``n`` is the model after ``n`` refits. Write
``lam = 1 - 1/M`` (the decay rate of the heterozygosity), ``F0(j) = p0_1 + ... + p0_j`` for the
cut points ``j = 1..K-1`` and ``dx_j = x_{j+1} - x_j``.

Two facts carry everything here:

- the frequencies are a martingale (``E[p_{t+1} | p_t] = p_t``), so the mean ``m_t = sum_i x_i
  p_{t,i}`` is one too, and ``Cov(p_n) = (diag p0 - p0 p0^T)(1 - lam^n)``: the mean drift, the
  variance decay and the Cramer distance are closed forms;
- a symbol's count ``M p_{t,i}``, and the cumulative count ``M F_t(j)`` of the symbols up to a
  cut point, is itself a two-allele Wright-Fisher chain (first step ``Binomial(M, q)``), whose
  law :mod:`~modelcollapse.theory.wright_fisher` computes exactly: ``E W1 = sum_j dx_j
  E|F_n(j) - F0(j)|`` and ``E TV = 1/2 sum_i E|p_{n,i} - p0_i|`` are exact at finite ``n``.

Workflows (``workflow=``, no sampling bias): the mean drift, the support variance and the Cramer
distance are exact also under ``mix(...)`` and ``accumulate()`` (``Cov(p_n)`` stays proportional
to ``diag p0 - p0 p0^T``), and ``E W1``, ``E TV`` through the single-symbol chains of
:mod:`~modelcollapse.theory.discrete_workflow_chains` (mix: any ``M <= MAX_EXACT_M``;
accumulate: small ``n M``); the others take ``replace`` only.

Every functional ``f`` here that is convex in ``p`` (``W1(., p0)``, ``TV(., p0)``,
``W2^2(., p0)``, the Cramer distance) has ``E f(p_n)`` non-decreasing in ``n`` (Jensen on the
martingale ``p_n``), and tends to its value at the absorbed state: ``p_inf`` is a point mass at a
symbol drawn from ``p0`` (:func:`w1_limit`, :func:`total_variation_limit`,
:func:`w2_squared_limit`, :func:`cramer_squared_limit`).

Contents
--------
- closed forms (exact, any ``M``, ``O(K)``): :func:`expected_mean_drift`,
  :func:`expected_support_variance`, :func:`support_variance_variance`,
  :func:`expected_cramer_squared`;
- two-allele chains (exact, ``M <= MAX_EXACT_M``, or the normal approximation):
  :func:`expected_w1`, :func:`expected_total_variation`;
- W2 on the line: :func:`expected_w2_squared` (exact for ``K = 2`` and by the full multinomial
  chain for few compositions), :func:`w2_squared_bounds`;
- limits: :func:`w1_limit`, :func:`total_variation_limit`, :func:`w2_squared_limit`,
  :func:`cramer_squared_limit`;
- size limits: :data:`DRIFT_BUDGET_S`, :data:`MAX_CHAIN_STATES`.

NumPy/SciPy only (float64); never imports JAX or :mod:`modelcollapse.sims`.

References
----------
Ewens, *Mathematical Population Genetics* (2004), ch. 1-3; Villani, *Optimal Transport* (2009),
ch. 2 and 6 (W1 and W2 on the line through distribution and quantile functions); Shumailov et
al., Nature 631 (2024).

Examples
--------
>>> from modelcollapse.theory.discrete_drift import expected_support_variance, w1_limit
>>> float(expected_support_variance(1, [0.5, 0.5], 2))
0.125
>>> float(w1_limit([0.5, 0.5]))
0.5
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from .discrete import _broadcast, _lead, _one_minus_pow, _out, _pow_decay
from .wright_fisher import (
    MAX_EXACT_M,
    binomial_pmf_rows,
    check_exact_M,
    forward_cost,
    propagate,
)

__all__ = [
    "expected_mean_drift",
    "expected_support_variance",
    "support_variance_variance",
    "expected_w1",
    "w1_limit",
    "expected_total_variation",
    "total_variation_limit",
    "expected_w2_squared",
    "w2_squared_bounds",
    "w2_squared_limit",
    "expected_cramer_squared",
    "cramer_squared_limit",
    "DRIFT_BUDGET_S",
    "MAX_CHAIN_STATES",
]

#: Largest estimated run time (seconds) of an exact chain computation (:func:`expected_w1`,
#: :func:`expected_total_variation`, :func:`expected_w2_squared`); beyond, ``ValueError`` with
#: the estimate instead of a minutes-long run.
DRIFT_BUDGET_S = 20.0

#: Largest number of states ``C(M + K - 1, K - 1)`` of the full multinomial chain that
#: :func:`expected_w2_squared` builds for ``K > 2`` (a dense ``S x S`` transition matrix: 32 MB
#: at the limit).
MAX_CHAIN_STATES = 2000

_METHOD = ("exact", "normal")
# Seconds per entry of a dense matrix-vector product (full chain), measured on 2 shared cores.
_COST_MATVEC = 2.0e-9
# Seconds per multiply-add of a dense matrix product (the "matrix" route of the two-allele laws).
_COST_FLOP = 1.0e-10
# Largest number of float64 entries held at once by the two-allele engines.
_MAX_ENTRIES = 8_000_000


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _replace(workflow: W.WorkflowLike, name: str) -> None:
    W.require(workflow, f"theory.discrete_drift.{name}")


def _moment_workflow(workflow: W.WorkflowLike, name: str) -> W.Workflow:
    """Mean drift, support variance, Cramer: replace, mix, accumulate and accumulate-subsample
    (no sampling bias), where ``Cov(p_n) = c_n (diag p0 - p0 p0^T)`` with ``c_n`` from
    :mod:`~modelcollapse.theory.discrete_workflow_chains` (accumulate-subsample: every point's
    conditional covariance is proportional to ``diag p0 - p0 p0^T`` in expectation, so the
    factor is that of :mod:`~modelcollapse.theory.discrete_workflows`' squared distance)."""
    return W.require(workflow, f"theory.discrete_drift.{name}",
                     names=("replace", "mix", "accumulate", "accumulate_subsample"))


def _cov_factor(nn: NDArray[np.float64], MM: NDArray[np.float64], wf: W.Workflow,
                persist: bool = False) -> NDArray[np.float64]:
    """``c_n`` (``persist``: ``1 - c_n``) of ``Cov(p_n) = c_n (diag p0 - p0 p0^T)``."""
    if wf.name == "replace":
        return _persist(nn, MM) if persist else _decay(nn, MM)
    from .discrete_workflow_chains import _covariance_factor

    return _covariance_factor(nn, MM, wf, persist)


def _replace_or_mix(workflow: W.WorkflowLike, name: str) -> W.Workflow:
    """W1 and TV: replace; mix (fresh or fixed real data) and accumulate (no sampling bias) by
    the single-symbol chains of :mod:`~modelcollapse.theory.discrete_workflow_chains`."""
    return W.require(workflow, f"theory.discrete_drift.{name}",
                     names=("replace", "mix", "accumulate"))


def _check_method(method: str) -> str:
    return P.Choice("method", "computation method of the formula", _METHOD).check(method)


def _check_support(support: ArrayLike | None, K: int) -> NDArray[np.float64]:
    """``support`` as a float64 array of shape ``(K,)``, finite and strictly increasing."""
    if support is None:
        return np.arange(K, dtype=np.float64)
    msg = (
        f"support must be a finite, strictly increasing 1-D array of K = {K} reals (one per "
        "symbol of p0)"
    )
    try:
        raw = np.asarray(support)
    except Exception:  # noqa: BLE001 - ragged or exotic input
        raise ValueError(f"{msg} (got {P.show(support)})") from None
    if raw.dtype == np.bool_ or raw.dtype.kind not in "iuf":
        raise ValueError(f"{msg} (got {P.show(support)})")
    if raw.shape != (K,):
        raise ValueError(f"{msg} (got shape {raw.shape})")
    x = raw.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{msg} (got {P.show(x)})")
    if K > 1 and not np.all(np.diff(x) > 0):
        raise ValueError(f"{msg} (got {P.show(x)}: not strictly increasing)")
    return x


_ABSENT = object()


def _setup(
    n: object, p0: ArrayLike, M: object, support: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validated ``n, p0, M, support`` (``_ABSENT`` for a function without ``n``/``M``) and the
    broadcast check of ``n``, ``M`` against ``p0.shape[:-1]``."""
    nn = P.n.array(n) if n is not _ABSENT else np.zeros(())  # type: ignore[arg-type]
    p = P.p0.check(p0)
    MM = P.M.array(M) if M is not _ABSENT else np.ones(())  # type: ignore[arg-type]
    x = _check_support(support, p.shape[-1])
    _broadcast(n=nn, p0=_lead(p), M=MM)
    return nn, p, MM, x


def _cdf(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """``F0(j)`` at the cut points ``j = 1..K-1`` (shape ``p.shape[:-1] + (K-1,)``), normalised
    by the total and clipped to ``[0, 1]``."""
    s = p.sum(axis=-1, keepdims=True)
    return np.clip(np.cumsum(p, axis=-1)[..., :-1] / s, 0.0, 1.0)


def _variance(p: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Var_p(X)`` along the last axis, computed about the mean (no cancellation)."""
    s = p.sum(axis=-1, keepdims=True)
    m = (p @ x)[..., None] / s
    return np.sum(p * (x - m) ** 2, axis=-1) / s[..., 0]


def _decay(n: NDArray[np.float64], M: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - (1 - 1/M)^n`` without cancellation."""
    with np.errstate(divide="ignore"):
        return _one_minus_pow(np.log1p(-1.0 / M), n)


def _persist(n: NDArray[np.float64], M: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(1 - 1/M)^n``."""
    with np.errstate(divide="ignore"):
        return _pow_decay(np.log1p(-1.0 / M), n)


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------


def expected_mean_drift(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected squared drift of the mean, ``E (m_n - m_0)^2``, exact.

    Formula: ``E (m_n - m_0)^2 = Var_{p0}(X) (1 - (1 - 1/M)^n)`` with ``m_t = sum_i x_i p_{t,i}``
    the mean of the support under generation ``t``'s model. The mean is a martingale and
    ``Cov(p_n) = (diag p0 - p0 p0^T)(1 - (1 - 1/M)^n)``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K`` of the symbols (finite, strictly increasing);
        default ``0, 1, ..., K-1``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default,
        ``None``), ``mix(...)``, ``accumulate()`` or ``accumulate_subsample(N)`` (no sampling
        bias): then ``Cov(p_n) = c_n (diag p0 - p0 p0^T)`` with
        ``c_n = D_n / (1 - sum p0^2)`` the exact squared-distance factor of
        :mod:`~modelcollapse.theory.discrete_workflows`, and
        ``1 - (1 - 1/M)^n`` becomes ``c_n`` (derivation:
        :mod:`~modelcollapse.theory.discrete_workflow_chains`).

    Returns
    -------
    float or ndarray
        ``E (m_n - m_0)^2``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    Exact for every ``n >= 0`` and ``M >= 1``; ``O(K)``. ``1 - (1 - 1/M)^n`` is evaluated as
    ``-expm1(n log1p(-1/M))`` (full relative accuracy for ``n/M`` tiny, ``M`` up to ``1e9`` and
    beyond), the variance about the mean.

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004), ch. 1 (the heterozygosity recursion).

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import expected_mean_drift
    >>> float(expected_mean_drift(1, [0.5, 0.5], 2))
    0.125
    >>> round(float(expected_mean_drift(3, [0.2, 0.5, 0.3], 10, [0.0, 1.0, 4.0])), 12)
    0.65311
    """
    wf = _moment_workflow(workflow, "expected_mean_drift")
    nn, p, MM, x = _setup(n, p0, M, support)
    return _out(_variance(p, x) * _cov_factor(nn, MM, wf))


def expected_support_variance(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected variance of the support under generation ``n``: ``E Var_{p_n}(X)``, exact.

    Formula: ``E Var_{p_n}(X) = Var_{p0}(X) (1 - 1/M)^n`` (the variance decay of discrete
    fitting: ``Var_{p_n} = sum_i x_i^2 p_{n,i} - m_n^2`` and ``E m_n^2 = m_0^2 + E(m_n - m_0)^2``).

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K`` (finite, strictly increasing); default
        ``0..K-1``.
    workflow : Workflow or str, optional
        Data policy: ``'replace'`` (the default, ``None``), ``mix(...)``, ``accumulate()`` or
        ``accumulate_subsample(N)`` (no sampling bias): ``(1 - 1/M)^n`` becomes ``1 - c_n``,
        ``c_n`` the covariance factor of :func:`expected_mean_drift`.

    Returns
    -------
    float or ndarray
        ``E Var_{p_n}(X)``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    Exact, any ``n`` and ``M``; ``O(K)``. The same decay as the Gaussian refit with the maximum
    likelihood variance (``E sigma_n^2 = (1 - 1/M)^n sigma_0^2``): one refit of ``M`` samples
    multiplies the expected plug-in variance by ``(M - 1)/M``.

    References
    ----------
    Ewens (2004), ch. 1; Shumailov et al., Nature 631 (2024), sec. 3.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import expected_support_variance
    >>> float(expected_support_variance(1, [0.5, 0.5], 2))
    0.125
    >>> round(float(expected_support_variance(3, [0.2, 0.5, 0.3], 10, [0.0, 1.0, 4.0])), 12)
    1.75689
    """
    wf = _moment_workflow(workflow, "expected_support_variance")
    nn, p, MM, x = _setup(n, p0, M, support)
    return _out(_variance(p, x) * _cov_factor(nn, MM, wf, persist=True))


def _psi(s: NDArray[np.float64]) -> NDArray[np.float64]:
    """``psi(s) = expm1(s)/s`` (``psi(0) = 1``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s == 0, 1.0, np.expm1(s) / np.where(s == 0, 1.0, s))


def _psi_dd(u: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    """First divided difference ``(psi(u) - psi(v))/(u - v)`` of ``psi`` for ``|u|, |v| <= 1``:
    ``sum_{j>=1} h_{j-1}(u, v)/(j + 1)!`` (``h`` the complete homogeneous polynomial), 30 terms
    (truncation below ``1/31!``)."""
    total = np.zeros(np.broadcast(u, v).shape)
    h = np.ones_like(total)  # h_0
    vpow = np.ones_like(total)
    fact = 1.0
    for j in range(1, 31):
        fact *= j + 1
        total = total + h / fact
        vpow = vpow * v
        h = u * h + vpow  # h_j(u, v) = u h_{j-1} + v^j
    return total


def _sd(n: NDArray[np.float64], M: NDArray[np.float64]) -> NDArray[np.float64]:
    """``S_d = sum_{k=0}^{n-1} lam2^(2(n-1-k)) (lam2^k - lam4^k)`` for ``M >= 4``, ``n >= 1``,
    without cancellation (``lam2 = 1 - 1/M``, ``lam4 = lam2 (1 - 2/M)(1 - 3/M)``)."""
    x = -np.log1p(-1.0 / M)  # -log lam2
    y = -(np.log1p(-2.0 / M) + np.log1p(-3.0 / M))  # -log(lam4/lam2)
    z = np.log1p(-(4.0 * M - 6.0) / (M * (M - 1.0)))  # log(lam4 / lam2^2) = x - y
    small = n * np.maximum(x, -z) <= 1.0
    ns = np.where(small, n, 1.0)
    xs, zs = np.where(small, x, 0.0), np.where(small, z, 0.0)
    # sum_k e^{kx} - e^{kz} = n (x - z) [n psi[nx, nz] psi(z) - psi(nz) psi[x, z]] / (psi(x) psi(z))
    inner = ns * _psi_dd(ns * xs, ns * zs) * _psi(zs) - _psi(ns * zs) * _psi_dd(xs, zs)
    series = ns * y * inner / (_psi(xs) * _psi(zs))
    with np.errstate(under="ignore"):
        lead = np.exp(-(2.0 * ns - 2.0) * xs)
    a_small = lead * series
    # otherwise S_a - S_b loses at most a factor ~3 (see support_variance_variance Notes)
    sa, sb = _sa_sb(n, M)
    return np.where(small, a_small, np.maximum(sa - sb, 0.0))


def _sa_sb(n: NDArray[np.float64], M: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """``S_a = sum_k lam2^(2n-2-k) = M lam2^(n-1) (1 - lam2^n)`` and ``S_b = sum_k
    lam2^(2(n-1-k)) lam4^k = (lam2^(2n) - lam4^n)/(lam2^2 - lam4)`` (``n >= 1``, ``M >= 2``)."""
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        l2 = np.log1p(-1.0 / M)
        sa = M * np.exp((n - 1.0) * l2) * -np.expm1(n * l2)
        rho = np.log1p(-(4.0 * M - 6.0) / (M * (M - 1.0)))  # log(lam4/lam2^2), -inf for M <= 3
        gap = np.exp(l2) * (4.0 * M - 6.0) / M**2  # lam2^2 - lam4
        sb = np.exp((2.0 * n - 2.0) * l2) * -np.expm1(n * rho) * np.exp(2.0 * l2) / gap
    return sa, sb


def support_variance_variance(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Variance of the support's variance at generation ``n``: ``Var(Var_{p_n}(X))``, exact.

    Formula: with ``mu_2, mu_4`` the central moments of ``p0``, ``kappa = mu_4 - mu_2^2`` (the
    variance of ``(X - m_0)^2``), ``s = mu_2^2``, ``lam_b = prod_{j<b} (1 - j/M)``
    (``lam_2 = 1 - 1/M``, ``lam_4 = lam_2 (1 - 2/M)(1 - 3/M)``)::

        Var(Var_{p_n}) = [(M - 1) kappa (lam_2^n - lam_4^n)
                          + s (4 (M - 1) lam_2^n + (M - 2) lam_4^n - (5M - 6) lam_2^(2n))]
                         / (5M - 6).

    Derivation: ``kappa(p)`` and ``mu_2(p)^2`` of the refit ``p'`` (an empirical distribution of
    ``M`` draws from ``p``) have ``E[kappa'|p] = (M-1)(M-2)^2/M^3 kappa + 4(M-1)(M-2)/M^3 s`` and
    ``E[s'|p] = (M-1)^2/M^3 kappa + (M-1)(M^2-M+2)/M^3 s`` (the moments of the plug-in variance
    and fourth central moment); the 2x2 matrix has eigenvalues ``lam_2`` (eigenfunction
    ``kappa + 4 s``) and ``lam_4`` (``(M-1) kappa - (M-2) s``), which gives ``E s_n`` above; and
    ``E mu_2(p_n) = lam_2^n mu_2``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K`` (finite, strictly increasing); default
        ``0..K-1``.
    workflow : Workflow or str, optional
        Data policy; the formulas are those of ``'replace'`` (the default, ``None``).

    Returns
    -------
    float or ndarray
        ``Var(Var_{p_n}(X))``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    Exact for every ``n`` and ``M`` (``M = 1``: 0 from generation 1 on, the model is a point
    mass). ``O(K)``. The ``s`` term of the formula above is a difference of terms of size
    ``~M`` that cancel to ``~n/M`` (``n << M``); it is evaluated instead from the variance
    recursion ``Var_{n+1} = lam_2^2 Var_n + E h(p_n)``, ``h = h_1 kappa + h_2 s`` with ``h_1 =
    (M-1)^2/M^3``, ``h_2 = 2(M-1)/M^3`` (the variance of the plug-in variance of ``M`` draws),
    whose terms are all non-negative:
    ``s [4 h_1 (M-2) S_d + 4 h_2 (M-1) S_a + h_2 (M-2) S_b] / (5M - 6)`` with ``S_a =
    sum_k lam_2^(2n-2-k)``, ``S_b = sum_k lam_2^(2(n-1-k)) lam_4^k`` and ``S_d = S_a - S_b``;
    ``S_d`` is summed as ``lam_2^(2n-2) (phi_n(x) - phi_n(z))``, ``phi_n(t) = sum_{k<n} e^{kt}``,
    ``x = -log lam_2``, ``z = log(lam_4/lam_2^2)``, by divided differences of ``expm1(s)/s``
    when ``n max(x, |z|) <= 1`` (no cancellation beyond a factor 3) and directly otherwise
    (where ``S_b <= 0.63 S_a``). Central moments are taken about the mean of ``p0``, scaled by
    the largest deviation. Measured relative error against 60-digit mpmath of the plain formula:
    below 2e-14 for ``M`` from 4 to ``1e9`` and ``n`` from 1 to ``1e7`` (three ``p0``, one with
    ``kappa = 0``), where the plain formula in float64 is off by 4e-9 at ``M = 1e4`` and 6e-5
    at ``M = 1e6`` (``n = 1``, ``kappa = 0``).

    References
    ----------
    Cramer, *Mathematical Methods of Statistics* (1946), sec. 27.4 (moments of the sample
    variance); Ewens (2004), ch. 1-3 (the Wright-Fisher moment recursions).

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import support_variance_variance
    >>> float(support_variance_variance(1, [0.5, 0.5], 2))     # Var_{p_1} is 0 or 1/4
    0.015625
    >>> bool(support_variance_variance(0, [0.2, 0.8], 5) == 0.0)
    True
    """
    _replace(workflow, "support_variance_variance")
    nn, p, MM, x = _setup(n, p0, M, support)
    s_tot = p.sum(axis=-1, keepdims=True)
    q = p / s_tot
    d = x - (q @ x)[..., None]
    scale = np.max(np.abs(d), axis=-1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    y = d / scale
    mu2 = np.sum(q * y**2, axis=-1)
    kappa = np.sum(q * (y**2 - mu2[..., None]) ** 2, axis=-1)
    s0 = mu2**2
    nb, Mb, kb, sb0, sc = np.broadcast_arrays(nn, MM, kappa, s0, scale[..., 0])
    out = np.zeros(nb.shape)
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        act = (nb >= 1) & (Mb >= 2)
        nv, Mv = np.where(act, nb, 1.0), np.where(act, Mb, 2.0)
        l2 = np.log1p(-1.0 / Mv)
        Mr = np.maximum(Mv, 4.0)
        r = np.where(Mv <= 3, -np.inf, np.log1p(-2.0 / Mr) + np.log1p(-3.0 / Mr))  # log lam4/lam2
        k_part = (Mv - 1.0) * np.exp(nv * l2) * -np.expm1(nv * r) * kb
        sa, sbb = _sa_sb(nv, Mv)
        big = Mv >= 4
        sd = np.where(big, _sd(nv, np.where(big, Mv, 4.0)), np.maximum(sa - sbb, 0.0))
        h1, h2 = (Mv - 1.0) ** 2 / Mv**3, 2.0 * (Mv - 1.0) / Mv**3
        s_part = sb0 * (
            4.0 * h1 * (Mv - 2.0) * sd + 4.0 * h2 * (Mv - 1.0) * sa + h2 * (Mv - 2.0) * sbb
        )
        val = (k_part + s_part) / (5.0 * Mv - 6.0) * sc**4
    out = np.where(act, val, 0.0)
    return _out(out)


def expected_cramer_squared(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected squared Cramer (L2-CDF) distance, ``E sum_j dx_j (F_n(j) - F0(j))^2``, exact.

    Formula: ``sum_j dx_j F0(j) (1 - F0(j)) (1 - (1 - 1/M)^n)``: ``M F_n(j)`` is a two-allele
    Wright-Fisher chain, whose variance is ``M^2 F0 (1 - F0) (1 - (1 - 1/M)^n)``. The distance
    is ``int (F_n(t) - F0(t))^2 dt`` over the real line for the step cdfs on the support.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K`` (finite, strictly increasing); default
        ``0..K-1``.
    workflow : Workflow or str, optional
        Data policy: ``'replace'`` (the default, ``None``), ``mix(...)``, ``accumulate()`` or
        ``accumulate_subsample(N)`` (no sampling bias): ``1 - (1 - 1/M)^n`` becomes ``c_n``,
        the covariance factor of :func:`expected_mean_drift`.

    Returns
    -------
    float or ndarray
        The expected squared Cramer distance; ``n`` and ``M`` broadcast against
        ``p0.shape[:-1]``.

    Notes
    -----
    Exact, any ``n`` and ``M``; ``O(K)``. Tends to :func:`cramer_squared_limit`.

    References
    ----------
    Cramer (1928); Szekely & Rizzo, J. Stat. Plan. Inference 143 (2013) (energy distance = twice
    the squared Cramer distance on the line).

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import expected_cramer_squared
    >>> float(expected_cramer_squared(1, [0.5, 0.5], 2))
    0.125
    """
    wf = _moment_workflow(workflow, "expected_cramer_squared")
    nn, p, MM, x = _setup(n, p0, M, support)
    return _out(_cramer_limit(p, x) * _cov_factor(nn, MM, wf))


def _cramer_limit(p: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    F = _cdf(p)
    return np.sum(np.diff(x) * F * (1.0 - F), axis=-1)


def cramer_squared_limit(p0: ArrayLike, support: ArrayLike | None = None) -> NDArray[np.float64]:
    """Limit of :func:`expected_cramer_squared` as ``n -> inf``: ``sum_j dx_j F0(j)(1 - F0(j))``.

    Formula: ``lim E sum_j dx_j (F_n(j) - F0(j))^2 = sum_j (x_{j+1} - x_j) F0(j) (1 - F0(j))``
    (the absorbed state is a point mass at a symbol drawn from ``p0``).

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution; leading axes hold several distributions.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K``; default ``0..K-1``.

    Returns
    -------
    float or ndarray
        The limit, of shape ``p0.shape[:-1]``.

    Notes
    -----
    Exact; ``O(K)``. It is half of :func:`w1_limit`: ``E|X - Y| = sum_j dx_j 2 F0 (1 - F0)``
    for ``X, Y`` independent from ``p0``.

    References
    ----------
    Ewens (2004), ch. 1 (absorption of the Wright-Fisher chain).

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import cramer_squared_limit
    >>> float(cramer_squared_limit([0.5, 0.5]))
    0.25
    """
    _, p, _, x = _setup(_ABSENT, p0, _ABSENT, support)
    return _out(_cramer_limit(p, x))


# --------------------------------------------------------------------------------------------
# the two-allele laws: E|C_n/M - q| for the chain started from Binomial(M, q)
# --------------------------------------------------------------------------------------------


def _band_cost(M: int, s: int, q: NDArray[np.float64]) -> float:
    """Seconds of stepping ``len(q)`` rows started at ``Binomial(M, q_b)`` over ``s`` generations
    on their occupied band, with a band that also covers the long tail of a count started near
    an absorbing end: ``12`` standard deviations plus ``35 k`` states at step ``k`` (a count of
    a Feller diffusion started near 0 has a tail ``~ exp(-2c/k)``, below 1e-30 from ``c ~ 35
    k``; :func:`~modelcollapse.theory.wright_fisher.forward_cost` now counts the same tail).
    Here the band is the one union over a group of rows stepped together, without the model
    build, which :func:`_abs_dev_table` compares with the per-group ``forward_cost``."""
    if M < 2 or s <= 0 or q.size == 0:
        return 0.0
    lg = math.log1p(-1.0 / M)
    qq = q * (1.0 - q)
    qmax = float(np.max(qq))
    if qmax <= 0:
        return 0.0
    s_stop = min(s, int(math.ceil(math.log(1e-15 / (M * qmax)) / lg)) + 16)
    k = np.arange(1, max(s_stop, 0) + 1, dtype=np.float64)
    sd = M * np.sqrt(qmax * -np.expm1(k * lg))
    lo = np.clip(np.floor(M * float(np.min(q)) - 12.0 * sd - 35.0 * k - 20.0), 0, M)
    hi = np.clip(np.ceil(M * float(np.max(q)) + 12.0 * sd + 35.0 * k + 20.0), 0, M)
    j = np.arange(M + 1, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(20.0 * np.sqrt(j * (1.0 - j / M)) + 31.0)])
    touched = float(np.sum(cum[hi.astype(np.int64) + 1] - cum[lo.astype(np.int64)]))
    return touched * q.size * 2.0e-9


def _row_groups(q: NDArray[np.float64], M: int, s: int, per: int) -> list[tuple[int, int]]:
    """Index ranges of the sorted ``q`` stepped together: forward stepping works on the union of
    the rows' occupied bands, so rows are grouped only while they lie within one band
    half-width (12 standard deviations of the count at step ``s``, plus the tail allowance of
    :func:`_band_cost`) of the group's first row, and at most ``per`` rows (memory); more than
    200 groups are merged into blocks of ``per`` rows."""
    B = q.size
    decay = -math.expm1((s + 1) * math.log1p(-1.0 / M)) if M > 1 else 1.0
    groups: list[tuple[int, int]] = []
    i = 0
    while i < B:
        hw = 12.0 * M * math.sqrt(float(q[i] * (1.0 - q[i])) * decay) + 35.0 * s + 20.0
        j = int(np.searchsorted(q, q[i] + hw / M, side="right"))
        j = min(max(j, i + 1), i + per, B)
        groups.append((i, j))
        i = j
    if len(groups) > 200:
        groups = [(a, min(a + per, B)) for a in range(0, B, per)]
    return groups


def _abs_dev_table(
    q: NDArray[np.float64], ns: NDArray[np.float64], M: int, what: str
) -> NDArray[np.float64]:
    """``E|C_n/M - q|`` for every ``q`` (rows) and generation ``n`` (columns, ``n >= 0``)."""
    out = np.zeros((q.size, ns.size))
    if q.size == 0 or ns.size == 0:
        return out
    with np.errstate(divide="ignore"):
        lg = math.log1p(-1.0 / M) if M > 1 else -math.inf
    limit = 2.0 * q * (1.0 - q)
    steps = np.maximum(ns - 1.0, 0.0)
    with np.errstate(under="ignore", invalid="ignore"):
        decay = np.where(steps == 0, 1.0, np.exp(steps * lg))
    transient = M * (q * (1.0 - q))[:, None] * decay[None, :]
    absorbed = (transient <= 1e-17) & (ns[None, :] >= 1)
    out[absorbed] = np.broadcast_to(limit[:, None], out.shape)[absorbed]
    todo = (~absorbed) & (ns[None, :] >= 1) & (limit[:, None] > 0)
    rows = np.flatnonzero(todo.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(todo.any(axis=0))
    svals = np.unique(steps[cols].astype(np.int64))
    smax = int(svals[-1])
    qr = q[rows]
    B = rows.size
    groups = _row_groups(qr, M, smax, max(1, _MAX_ENTRIES // ((M + 1) * svals.size)))
    cost_fwd = sum(
        max(
            forward_cost(M, smax, b - a, p=qr[a:b]),
            min(_band_cost(M, smax, qr[a:b]), forward_cost(M, smax, b - a)),
        )
        for a, b in groups
    )
    # the matrix route: rows of P^s from the identity, then (B x (M+1)) @ (M+1)^2 per step
    mat_ok = (M + 1) ** 2 <= _MAX_ENTRIES
    cost_mat = (
        forward_cost(M, smax, M + 1) + svals.size * B * (M + 1) ** 2 * _COST_FLOP
        if mat_ok
        else math.inf
    )
    cost = min(cost_fwd, cost_mat)
    if cost > DRIFT_BUDGET_S:
        raise ValueError(
            f"{what}: the exact method would take about {cost:.0f} s (estimated; the limit is "
            f"{DRIFT_BUDGET_S:.0f} s): {B} two-allele chains of M={M} over {smax} generations "
            "(about min(n, 45 M) generations of O(M^1.5) work each). Use method='normal' (the "
            "large-M approximation) or a smaller M"
        )
    grid = np.arange(M + 1, dtype=np.float64) / M
    s_index = {int(s): i for i, s in enumerate(svals)}
    vals = np.zeros((B, svals.size))
    if cost_mat < cost_fwd:
        per = max(1, _MAX_ENTRIES // (M + 1) ** 2)
        for a in range(0, svals.size, per):
            chunk = svals[a : a + per]
            T = propagate(M, np.eye(M + 1), chunk, "forward")
            for b0 in range(0, B, max(1, _MAX_ENTRIES // (M + 1))):
                qb = qr[b0 : b0 + _MAX_ENTRIES // (M + 1)]
                start = binomial_pmf_rows(qb, M)
                dev = np.abs(grid[None, :] - qb[:, None])
                for s in chunk:
                    law = start @ T[int(s)]
                    vals[b0 : b0 + qb.size, s_index[int(s)]] = np.sum(law * dev, axis=1)
    else:
        for b0, b1 in groups:
            qb = qr[b0:b1]
            start = binomial_pmf_rows(qb, M)
            dev = np.abs(grid[None, :] - qb[:, None])
            res = propagate(M, start, svals, "forward")
            for s, law in res.items():
                vals[b0:b1, s_index[int(s)]] = np.sum(law * dev, axis=1)
    col_s = np.array([s_index.get(int(s), 0) for s in steps], dtype=np.int64)
    sub = vals[:, col_s]  # (B, ns.size)
    blk = todo[rows]
    target = out[rows]
    target[blk] = sub[blk]
    out[rows] = target
    return out


def _abs_dev(
    q: NDArray[np.float64], nn: NDArray[np.float64], MM: NDArray[np.float64], method: str,
    what: str, wf: W.Workflow | None = None,
) -> NDArray[np.float64]:
    """``E|C_n/M - q_j|`` of shape ``broadcast(nn, MM, q[..., 0]) + (J,)`` where ``q`` has shape
    ``lead + (J,)`` and ``nn``, ``MM`` broadcast against ``lead`` (``wf`` a mix workflow: the
    mix chain of :mod:`~modelcollapse.theory.discrete_workflow_chains`)."""
    if wf is not None and wf.name != "replace":
        if method != "exact":
            raise ValueError(f"method must be 'exact' under the {wf.name} workflow (got "
                             f"{method!r})")
        from .discrete_workflow_chains import _abs_dev as mix_abs_dev

        return mix_abs_dev(q, nn, MM, wf, what)
    lead = np.broadcast_shapes(nn.shape, MM.shape, q.shape[:-1])
    J = q.shape[-1]
    qb = np.broadcast_to(q, lead + (J,))
    nb = np.broadcast_to(nn, lead)
    Mb = np.broadcast_to(MM, lead)
    if method == "normal":
        var = qb * (1.0 - qb) * _decay(nb, Mb)[..., None]
        return np.asarray(np.sqrt(2.0 / np.pi * var))
    try:
        check_exact_M(np.asarray(MM, dtype=np.float64).ravel(), what)
    except ValueError as exc:
        raise ValueError(f"{exc}: method='normal' (the large-M approximation)") from None
    out = np.zeros(lead + (J,))
    flat_out = out.reshape(-1, J)
    qf, nf, Mf = qb.reshape(-1, J), nb.ravel(), Mb.ravel()
    for Mv in np.unique(Mf):
        sel = np.flatnonzero(Mf == Mv)
        qu, qinv = np.unique(qf[sel], return_inverse=True)
        nu, ninv = np.unique(nf[sel], return_inverse=True)
        table = _abs_dev_table(qu, nu, int(Mv), what)
        qinv = qinv.reshape(sel.size, J)
        flat_out[sel] = table[qinv, ninv[:, None]]
    return out


def expected_w1(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected Wasserstein-1 distance from the original, ``E W1(p_n, p0)``.

    Formula: ``E W1(p_n, p0) = sum_j (x_{j+1} - x_j) E|F_n(j) - F0(j)|`` (W1 on the line is the
    L1 distance of the cdfs); ``M F_n(j)`` is a two-allele Wright-Fisher chain whose first step
    is ``Binomial(M, F0(j))``, so each term is exact from that chain's law.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation; ``M <= MAX_EXACT_M`` for ``method="exact"``.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K`` (finite, strictly increasing); default
        ``0..K-1``.
    method : {"exact", "normal"}, optional
        ``"exact"`` (default): the two-allele chains' laws; ``"normal"``: the large-M
        approximation ``sum_j dx_j sqrt(2/pi F0 (1 - F0) (1 - (1 - 1/M)^n))``.
    workflow : Workflow or str, optional
        Data policy: ``'replace'`` (the default, ``None``), ``mix(...)`` (fresh or one fixed
        real set) or ``accumulate()``, with ``method="exact"`` and no sampling bias: each cut's
        or symbol's (pooled) count is an exact single-symbol chain of
        :mod:`~modelcollapse.theory.discrete_workflow_chains` (mix: stationary after a few
        ``log(M)/log(M/(M - r))`` generations; accumulate: the pooled count on ``0..n M``,
        ``O(n^2 M)`` work, small ``n M`` only); others raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E W1(p_n, p0)``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Raises
    ------
    ValueError
        For ``method="exact"`` with ``M > MAX_EXACT_M``, or a run estimated above
        :data:`DRIFT_BUDGET_S` (the message carries the estimate); use ``method="normal"``.

    Notes
    -----
    ``"exact"``: the law of each cut's count ``M F_n(j)`` at generation ``n`` by
    :func:`~modelcollapse.theory.wright_fisher.propagate` forward from the ``Binomial(M, F0(j))``
    rows (one row per distinct ``F0(j)``), or from the identity (the rows of ``P^(n-1)``, then
    one product per cut) when that is cheaper; once ``M F0 (1 - F0)(1 - 1/M)^(n-1) <= 1e-17``
    (a bound on the transient mass) the absorbed value ``2 F0 (1 - F0)`` is used. Absolute
    error, measured against exact rationals (``M <= 6``): below 2e-16 times ``x_K - x_1``.
    Cost: up to ``min(n, 45 M)`` generations of ``O(M^1.5)`` work per distinct cut (cuts whose
    bands overlap are stepped together), estimated by
    :func:`~modelcollapse.theory.wright_fisher.forward_cost` and, for counts starting near 0 or
    ``M`` whose tails spread far beyond 12 standard deviations, a wider band; refused above
    :data:`DRIFT_BUDGET_S` (e.g. 29 cuts at ``M = 20000``, ``n = 20``). Measured on 2 shared
    cores (W1, random ``p0``): ``K = 10^4``, ``M = 100``, ``n`` up to 100: 0.3 s; ``K = 10^5``,
    ``M = 50``: 1.6 s; ``K = 10^5``, ``M = 1000``, ``n = 1``: 4 s; ``K = 100``, ``M = 20000``,
    ``n = 5``: 14 s.

    ``"normal"``: ``E|F_n - F0| ~ sqrt(2/pi Var F_n)`` (the exact variance, a normal shape).
    Good when ``n << M`` and ``M F0 (1 - F0) >> 1`` at every cut (the count is then nearly
    normal); ``sqrt(pi/2)`` times it is an upper bound on the exact value (``E|Z| <=
    sqrt(E Z^2)``). Measured relative error against ``"exact"`` (``p0`` uniform on 5
    symbols): +0.34% at ``M = 100, n = 1``; -1.2%, -0.12%, -0.012% at ``n = 10`` and ``M =
    100, 1000, 10^4`` (about ``-0.12 n/M`` for ``n/M <= 0.1``); -5% at ``M = 100, n = 50``,
    -7.5% at ``M = n = 1000``. As ``n/M -> inf`` it tends to ``sqrt(2/pi) sum dx sqrt(F0 (1 -
    F0))``, not to the limit ``2 sum dx F0 (1 - F0)`` (:func:`w1_limit`): do not use it there.

    References
    ----------
    Villani, *Optimal Transport* (2009), remark 2.19 (W1 on the line); Ewens (2004), ch. 1-3.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import expected_w1
    >>> float(expected_w1(1, [0.5, 0.5], 2))      # F_1 in {0, 1/2, 1} w.p. 1/4, 1/2, 1/4
    0.25
    >>> round(float(expected_w1(10, [0.2, 0.5, 0.3], 50, [0.0, 1.0, 4.0])), 12)
    0.620060937411
    >>> round(float(expected_w1(10, [0.2, 0.5, 0.3], 50, [0.0, 1.0, 4.0], method="normal")), 12)
    0.605650302505
    """
    wf = _replace_or_mix(workflow, "expected_w1")
    method = _check_method(method)
    nn, p, MM, x = _setup(n, p0, M, support)
    F = _cdf(p)
    dev = _abs_dev(F, nn, MM, method, "expected_w1", wf)
    return _out(np.sum(np.diff(x) * dev, axis=-1))


def w1_limit(p0: ArrayLike, support: ArrayLike | None = None) -> NDArray[np.float64]:
    """Limit of :func:`expected_w1` as ``n -> inf``: ``sum_{i,j} p0_i p0_j |x_i - x_j|``.

    Formula: ``lim E W1(p_n, p0) = E|X - Y| (X, Y independent from p0) = sum_j dx_j 2 F0(j)
    (1 - F0(j))``: the absorbed state is a point mass at ``X ~ p0`` and ``W1(delta_X, p0) =
    E_Y |X - Y|``.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution; leading axes hold several distributions.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K``; default ``0..K-1``.

    Returns
    -------
    float or ndarray
        The limit (Gini's mean difference of ``p0``), of shape ``p0.shape[:-1]``.

    Notes
    -----
    Exact, ``O(K)``. ``E W1(p_n, p0)`` increases to it (``W1(., p0)`` is convex and ``p_n`` a
    martingale).

    References
    ----------
    Gini (1912) (mean difference); Ewens (2004), ch. 1.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import w1_limit
    >>> round(float(w1_limit([0.2, 0.5, 0.3], [0.0, 1.0, 4.0])), 12)
    1.58
    """
    _, p, _, x = _setup(_ABSENT, p0, _ABSENT, support)
    return _out(2.0 * _cramer_limit(p, x))


def expected_total_variation(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected total-variation distance from the original, ``E TV(p_n, p0)``.

    Formula: ``E TV(p_n, p0) = 1/2 sum_i E|p_{n,i} - p0_i|``; each symbol's count ``M p_{n,i}``
    is a two-allele Wright-Fisher chain with first step ``Binomial(M, p0_i)``, so each term is
    exact from that chain's law.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation; ``M <= MAX_EXACT_M`` for ``method="exact"``.
    method : {"exact", "normal"}, optional
        ``"exact"`` (default) or ``"normal"``: ``1/2 sum_i sqrt(2/pi p0_i (1 - p0_i)
        (1 - (1 - 1/M)^n))``.
    workflow : Workflow or str, optional
        Data policy: ``'replace'`` (the default, ``None``), ``mix(...)`` (fresh or one fixed
        real set) or ``accumulate()``, with ``method="exact"`` and no sampling bias: each cut's
        or symbol's (pooled) count is an exact single-symbol chain of
        :mod:`~modelcollapse.theory.discrete_workflow_chains` (mix: stationary after a few
        ``log(M)/log(M/(M - r))`` generations; accumulate: the pooled count on ``0..n M``,
        ``O(n^2 M)`` work, small ``n M`` only); others raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E TV(p_n, p0)``, in ``[0, 1]``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Raises
    ------
    ValueError
        For ``method="exact"`` with ``M > MAX_EXACT_M`` or a run estimated above
        :data:`DRIFT_BUDGET_S` (the message carries the estimate); use ``method="normal"``.

    Notes
    -----
    The same engine, cost and accuracy as :func:`expected_w1` (one chain per distinct
    ``p0_i``). It increases with ``n`` to :func:`total_variation_limit` ``1 - sum p0^2``.
    ``"normal"`` is good for ``n << M`` and ``M p0_i >> 1`` for the symbols that carry the
    mass; it fails for rare symbols (counts near 0 are far from normal) and for ``n >~ M``.

    References
    ----------
    Ewens (2004), ch. 1-3.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import expected_total_variation
    >>> float(expected_total_variation(1, [0.5, 0.5], 2))
    0.25
    >>> round(float(expected_total_variation(10, [0.2, 0.5, 0.3], 50)), 12)
    0.237522651718
    """
    wf = _replace_or_mix(workflow, "expected_total_variation")
    method = _check_method(method)
    nn, p, MM, _ = _setup(n, p0, M)
    q = np.clip(p / p.sum(axis=-1, keepdims=True), 0.0, 1.0)
    dev = _abs_dev(q, nn, MM, method, "expected_total_variation", wf)
    return _out(0.5 * np.sum(dev, axis=-1))


def total_variation_limit(p0: ArrayLike) -> NDArray[np.float64]:
    """Limit of :func:`expected_total_variation` as ``n -> inf``: ``1 - sum_i p0_i^2``.

    Formula: the absorbed state is a point mass at symbol ``i`` with probability ``p0_i``, at TV
    distance ``1 - p0_i`` from ``p0``: ``sum_i p0_i (1 - p0_i) = 1 - sum_i p0_i^2``.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution; leading axes hold several distributions.

    Returns
    -------
    float or ndarray
        The limit (the Gini-Simpson index of ``p0``), of shape ``p0.shape[:-1]``.

    Notes
    -----
    Exact, ``O(K)``, computed as ``sum_i p0_i (1 - p0_i)``.

    References
    ----------
    Ewens (2004), ch. 1.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import total_variation_limit
    >>> float(total_variation_limit([0.5, 0.3, 0.2]))
    0.62
    """
    p = P.p0.check(p0)
    s = p.sum(axis=-1, keepdims=True)
    return _out(np.clip(np.sum(p * (s - p), axis=-1), 0.0, None))


# --------------------------------------------------------------------------------------------
# W2 on the line
# --------------------------------------------------------------------------------------------


def _compositions(M: int, K: int) -> NDArray[np.int64]:
    """All compositions of ``M`` into ``K`` non-negative parts, as rows (stars and bars)."""
    out = []
    for bars in itertools.combinations(range(M + K - 1), K - 1):
        edges = (-1, *bars, M + K - 1)
        out.append([edges[i + 1] - edges[i] - 1 for i in range(K)])
    return np.asarray(out, dtype=np.int64).reshape(-1, K)


def _log_multinomial(C: NDArray[np.int64], q: NDArray[np.float64], M: int) -> NDArray[np.float64]:
    """``log Multinomial(M, q_a).pmf(C_b)`` as ``(len(q), len(C))`` (``0 log 0 = 0``)."""
    with np.errstate(divide="ignore"):
        lq = np.where(q > 0, np.log(np.where(q > 0, q, 1.0)), -1e300)
    base = gammaln(M + 1.0) - np.sum(gammaln(C + 1.0), axis=1)
    return np.asarray(lq @ C.T.astype(np.float64) + base[None, :])


def _w2_states(
    C: NDArray[np.int64], p: NDArray[np.float64], x: NDArray[np.float64], M: int
) -> NDArray[np.float64]:
    """``W2^2(c/M, p)`` for every composition row ``c`` (the quantile coupling)."""
    Fc = np.cumsum(C, axis=1)[:, :-1] / M
    F0 = np.broadcast_to(_cdf(p), Fc.shape)
    br = np.sort(np.concatenate([np.zeros((C.shape[0], 1)), Fc, F0, np.ones((C.shape[0], 1))],
                                axis=1), axis=1)
    br = np.clip(br, 0.0, 1.0)
    du = np.diff(br, axis=1)
    u = 0.5 * (br[:, 1:] + br[:, :-1])
    ic = np.sum(Fc[:, None, :] < u[:, :, None], axis=2)
    i0 = np.sum(F0[:, None, :] < u[:, :, None], axis=2)
    return np.sum(du * (x[ic] - x[i0]) ** 2, axis=1)


def _w2_full_chain(
    ns: NDArray[np.float64], p: NDArray[np.float64], x: NDArray[np.float64], M: int
) -> NDArray[np.float64]:
    """``E W2^2(p_n, p)`` for every ``n`` in ``ns`` by the full multinomial chain."""
    K = p.size
    C = _compositions(M, K)
    q = p / p.sum()
    w2 = _w2_states(C, q, x, M)
    pi = np.exp(_log_multinomial(C, q[None, :], M))[0]
    Pm = np.exp(_log_multinomial(C, C / M, M))
    Pm /= Pm.sum(axis=1, keepdims=True)
    transient = np.flatnonzero(np.max(C, axis=1) < M)  # the non-absorbing states
    out = np.zeros(ns.size)
    order = np.argsort(ns)
    cur, done = 1, False
    for i in order:
        s = ns[i]
        if s == 0:
            continue
        while cur < s and not done:
            pi = pi @ Pm
            cur += 1
            # summed directly (1 - absorbed mass would stall at the rounding floor)
            if float(pi[transient].sum()) < 1e-17:
                done = True
        out[i] = float(pi @ w2)
    return out


def expected_w2_squared(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected squared Wasserstein-2 distance on the line, ``E W2^2(p_n, p0)``, exact.

    Formula: ``W2^2(p, p0) = int_0^1 (Q_p(u) - Q_0(u))^2 du`` with the quantile functions
    ``Q(u) = x_{min{i: F(i) >= u}}``. For ``K = 2``: ``W2^2 = dx^2 |F_n - F0|``, so
    ``E W2^2 = dx^2 E|F_n - F0|`` from the two-allele chain (any ``M <= MAX_EXACT_M``). For
    ``K > 2``: ``sum_c P(counts_n = c) W2^2(c/M, p0)`` over the compositions ``c`` of ``M`` into
    ``K`` parts, by the full multinomial chain.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation (``K > 2``: ``C(M + K - 1, K - 1) <= MAX_CHAIN_STATES``).
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K`` (finite, strictly increasing); default
        ``0..K-1``.
    workflow : Workflow or str, optional
        Data policy; the formulas are those of ``'replace'`` (the default, ``None``).

    Returns
    -------
    float or ndarray
        ``E W2^2(p_n, p0)``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Raises
    ------
    ValueError
        For ``K > 2`` with more than :data:`MAX_CHAIN_STATES` compositions (the message points
        to :func:`w2_squared_bounds`), or an estimated run time above :data:`DRIFT_BUDGET_S`;
        for ``K = 2`` as :func:`expected_w1`.

    Notes
    -----
    ``K > 2``: the chain over the ``S = C(M + K - 1, K - 1)`` compositions (``S <= 2000``:
    ``K = 3`` up to ``M = 61``, ``K = 4`` up to ``M = 20``, ``K = 5`` up to ``M = 12``) is
    stepped one dense ``S x S`` product per generation until the non-absorbed mass is below
    1e-17 (later generations change the result by less than that times ``(x_K - x_1)^2``),
    ``O(min(n, ~45 M) S^2)``, estimated at 2e-9 s per matrix entry (measured 1.6e-9: 18 s for
    ``K = 3``, ``M = 61``, ``n = 3000`` on 2 shared cores) and refused above
    :data:`DRIFT_BUDGET_S` (there: from ``n`` about 2600); the transition rows are
    multinomial pmfs from log-gamma, renormalised. Absolute
    error, measured against exact rationals (``K = 2, 3``, ``M <= 7``, ``n <= 5``): below
    1e-16 times ``(x_K - x_1)^2``. Beyond the limit use :func:`w2_squared_bounds`; the limit is
    :func:`w2_squared_limit`.

    References
    ----------
    Villani, *Optimal Transport* (2009), remark 2.19 (the quantile coupling is optimal on the
    line); Ewens (2004), ch. 1-3.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import expected_w2_squared
    >>> float(expected_w2_squared(1, [0.5, 0.5], 2, [0.0, 2.0]))   # dx^2 E|F_1 - F0| = 4 / 4
    1.0
    >>> round(float(expected_w2_squared(3, [0.2, 0.5, 0.3], 6, [0.0, 1.0, 4.0])), 12)
    2.594899255306
    """
    _replace(workflow, "expected_w2_squared")
    nn, p, MM, x = _setup(n, p0, M, support)
    K = p.shape[-1]
    if K == 1:
        return _out(np.zeros(np.broadcast_shapes(nn.shape, MM.shape, p.shape[:-1])))
    if K == 2:
        F = _cdf(p)
        dev = _abs_dev(F, nn, MM, "exact", "expected_w2_squared")
        return _out(np.sum(np.diff(x) ** 2 * dev, axis=-1))
    states = np.asarray([math.comb(int(m) + K - 1, K - 1) for m in np.unique(MM)])
    if np.any(states > MAX_CHAIN_STATES):
        bad = np.unique(MM)[states > MAX_CHAIN_STATES]
        raise ValueError(
            f"M={P.show(bad)} with K={K} symbols gives {int(states.max())} compositions "
            f"C(M + K - 1, K - 1), more than MAX_CHAIN_STATES = {MAX_CHAIN_STATES} for the exact "
            "full multinomial chain of expected_w2_squared (K > 2); use w2_squared_bounds(n, "
            "p0, M, support) for bounds, or K = 2"
        )
    lead = np.broadcast_shapes(nn.shape, MM.shape, p.shape[:-1])
    nb = np.broadcast_to(nn, lead).ravel()
    Mb = np.broadcast_to(MM, lead).ravel()
    pb = np.broadcast_to(p, lead + (K,)).reshape(-1, K)
    lg = np.log1p(-1.0 / np.maximum(Mb, 2.0))
    with np.errstate(divide="ignore"):
        horizon = np.minimum(nb, np.ceil(np.log(1e-18 / Mb**2) / lg) + 2.0)
    S = np.asarray([math.comb(int(m) + K - 1, K - 1) for m in Mb], dtype=np.float64)
    cost = float(np.sum(horizon * S**2) * _COST_MATVEC) if nb.size else 0.0
    if cost > DRIFT_BUDGET_S:
        raise ValueError(
            f"expected_w2_squared: the full multinomial chain would take about {cost:.0f} s "
            f"(estimated; the limit is {DRIFT_BUDGET_S:.0f} s); use w2_squared_bounds"
        )
    out = np.zeros(nb.size)
    keys: dict[tuple[int, bytes], list[int]] = {}
    for i in range(nb.size):
        keys.setdefault((int(Mb[i]), pb[i].tobytes()), []).append(i)
    for (Mi, _), idx in keys.items():
        ii = np.asarray(idx)
        out[ii] = _w2_full_chain(nb[ii], pb[ii[0]], x, Mi)
    return _out(out.reshape(lead))


def w2_squared_bounds(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    support: ArrayLike | None = None,
    *,
    workflow: W.WorkflowLike = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bounds ``(lower, upper)`` on ``E W2^2(p_n, p0)`` for any ``K`` (the exact W1 inside).

    Formula::

        lower = max((E W1)^2, Var_{p0}(X) [(1 - lam^n) + (1 - lam^(n/2))^2]),
        upper = min((x_K - x_1) E W1, 2 Var_{p0}(X)),      lam = 1 - 1/M,

    with ``E W1`` from :func:`expected_w1` (exact).

    Proof: (i) ``W1 <= W2`` (Jensen on the optimal W2 coupling) and ``E W1^2 >= (E W1)^2``.
    (ii) On the line ``W2^2(p, p0) = (m_p - m_0)^2 + int (Qc_p - Qc_0)^2`` with the centred
    quantile functions ``Qc``, and ``int (Qc_p - Qc_0)^2 = s_p^2 + s_0^2 - 2 int Qc_p Qc_0 >=
    (s_p - s_0)^2`` by Cauchy-Schwarz (``s`` the standard deviations). Taking expectations,
    ``E (m_n - m_0)^2 = Var_{p0} (1 - lam^n)`` (:func:`expected_mean_drift`) and, since
    ``E s_n <= sqrt(E s_n^2) = s_0 lam^(n/2)`` (:func:`expected_support_variance`),
    ``E (s_n - s_0)^2 = E s_n^2 - 2 s_0 E s_n + s_0^2 >= s_0^2 (1 - lam^(n/2))^2``. (iii)
    ``|Q_p - Q_0| <= x_K - x_1``, so ``W2^2 <= (x_K - x_1) W1``. (iv) ``W2^2(., p0)`` is convex
    (a transport cost, jointly convex in the two measures) and ``p_n`` is a martingale, so
    ``E W2^2(p_n, p0)`` increases in ``n`` to its limit ``2 Var_{p0}`` (:func:`w2_squared_limit`).
    The lower bound (ii) equals the limit ``2 Var_{p0}`` as ``n -> inf``: both bounds are tight
    there.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation (``M <= MAX_EXACT_M``: the exact ``E W1``).
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K``; default ``0..K-1``.
    workflow : Workflow or str, optional
        Data policy; the formulas are those of ``'replace'`` (the default, ``None``).

    Returns
    -------
    lower, upper : float or ndarray
        The bounds; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    ``E W1`` is :func:`expected_w1` (``method="exact"``, same cost); where it is not available
    (``M > MAX_EXACT_M``, or a run above :data:`DRIFT_BUDGET_S`) the bounds fall back to the
    closed forms (ii) and (iv), valid for every ``M``: ``lower`` = the moment bound, ``upper
    = 2 Var_{p0}(X)``. ``O(K)`` then. The moment bound (ii) is the
    larger lower bound in the cases we measured (e.g. ``p0 = (0.2, 0.5, 0.3)`` on ``(0, 1, 4)``,
    ``M = 6``, ``n = 1, 3, 20``: ``(E W1)^2`` = 0.34, 0.94, 2.42 and the moment bound 0.42,
    1.15, 4.04 against the exact 1.50, 2.59, 4.72; upper 2.34, 3.88, 4.82).

    References
    ----------
    Villani, *Optimal Transport* (2009), ch. 6; Gelbrich, Math. Nachr. 147 (1990) (the moment
    bound).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete_drift import w2_squared_bounds
    >>> lo, hi = w2_squared_bounds(3, [0.2, 0.5, 0.3], 6, [0.0, 1.0, 4.0])
    >>> bool(lo <= 2.594899255306 <= hi)     # expected_w2_squared, exact
    True
    """
    _replace(workflow, "w2_squared_bounds")
    nn, p, MM, x = _setup(n, p0, M, support)
    lead = np.broadcast_shapes(nn.shape, MM.shape, p.shape[:-1])
    K = p.shape[-1]
    nf = np.broadcast_to(nn, lead).ravel()
    Mf = np.broadcast_to(MM, lead).ravel()
    pf = np.broadcast_to(p, lead + (K,)).reshape(-1, K)
    var = _variance(pf, x)
    lam_half = np.sqrt(_persist(nf, Mf))
    lower = var * (_decay(nf, Mf) + (1.0 - lam_half) ** 2)
    upper = 2.0 * var
    ok = np.flatnonzero(Mf <= MAX_EXACT_M)
    if ok.size:
        try:
            w1 = np.asarray(expected_w1(nf[ok], pf[ok], Mf[ok], x))
        except ValueError:  # over the time budget: the closed-form bounds only
            w1 = None
        if w1 is not None:
            lower[ok] = np.maximum(w1**2, lower[ok])
            upper[ok] = np.minimum((x[-1] - x[0]) * w1, upper[ok])
    upper = np.maximum(upper, lower).reshape(lead)  # equal up to rounding where both are tight
    lower = lower.reshape(lead)
    return _out(lower), _out(upper)


def w2_squared_limit(p0: ArrayLike, support: ArrayLike | None = None) -> NDArray[np.float64]:
    """Limit of :func:`expected_w2_squared` as ``n -> inf``: ``2 Var_{p0}(X)``.

    Formula: the absorbed state is a point mass at ``X ~ p0``; ``W2^2(delta_X, p0) = E_Y (X -
    Y)^2 = Var_{p0} + (X - m_0)^2``, whose mean over ``X`` is ``2 Var_{p0}(X)``.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution; leading axes hold several distributions.
    support : array_like, shape (K,), optional
        The numeric values ``x_1 < ... < x_K``; default ``0..K-1``.

    Returns
    -------
    float or ndarray
        ``2 Var_{p0}(X)``, of shape ``p0.shape[:-1]``.

    Notes
    -----
    Exact, ``O(K)``; ``E W2^2(p_n, p0)`` increases to it.

    References
    ----------
    Villani, *Optimal Transport* (2009), ch. 6.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_drift import w2_squared_limit
    >>> float(w2_squared_limit([0.5, 0.5]))
    0.5
    """
    _, p, _, x = _setup(_ABSENT, p0, _ABSENT, support)
    return _out(2.0 * _variance(p, x))

