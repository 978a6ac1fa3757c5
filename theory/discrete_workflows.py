"""Exact categorical moments under the data workflows ``mix``, ``accumulate`` and
``accumulate_subsample``.

Setting and conventions
-----------------------
A categorical distribution ``p0`` over ``K`` symbols is refit generation after generation by the
empirical frequencies of its fit's data; generation 0 is ``p0``. The workflow value
(:mod:`modelcollapse.spec.workflows`) says where each fit's data come from:

- ``mix(n_real=N)`` or ``mix(real_fraction=f)``: each fit of size ``M`` sees
  ``N = workflow.real_count(M)`` real samples and ``s = M - N`` synthetic samples from the
  current model, ``p_{t+1} = (X_t + Y_t)/M`` with ``Y_t ~ Mult(s, p_t)``. With fresh real data
  (the default) ``X_t ~ Mult(N, p0)`` is drawn anew each generation; with ``fixed_real=True`` one
  real set ``X ~ Mult(N, p0)`` is drawn once and reused in every fit.
- ``accumulate()``: each fit sees all data so far, the first ``M`` real, then ``M`` synthetic per
  generation drawn from the current pooled frequencies: ``p_t = (c_1 + ... + c_t)/(t M)`` with
  ``c_1 ~ Mult(M, p0)`` and ``c_t ~ Mult(M, p_{t-1})``.

In every case the frequencies stay unbiased, ``E p_t = p0``, so the expected heterozygosity
``H_t = E[1 - sum_i p_{t,i}^2]`` and the expected squared distance ``D_t = E||p_t - p0||^2`` are
tied by ``H_t + D_t = H* = 1 - sum p0^2``; the collision probability is ``1 - H_t``.

Closed forms (all exact, for every ``M >= 1``, ``n >= 0``; derived from the one-step law in
:mod:`modelcollapse.theory.symbolic.discrete_workflows`):

- mix, fresh real data (``T = M``, ``a = s/T``, ``rho = s (s - 1)/T^2``)::

      D_n = (H*/T) (1 - rho^n) / (1 - rho);

- mix, one fixed real set (``N >= 1``; ``N = 0`` is the replace chain)::

      D_n = H* (N + 3 s) / (N (T + s) + s) * (1 - rho^n) - 2 H*/(N + 1) * (a^n - rho^n);

  its limit ``H* (N + 3 s)/(N (T + s) + s)`` exceeds the fresh-data limit
  ``H* T/(N (T + s) + s)``: the error of the one real set never averages out;
- accumulate: the pooled frequencies move by ``p_t = p_{t-1} + e_t / t`` with the martingale
  increment ``e_t = c_t/M - p_{t-1}``, ``E[||e_t||^2 | p_{t-1}] = (1 - ||p_{t-1}||^2)/M``, so
  the heterozygosity is multiplied by ``1 - 1/(M t^2)`` at step ``t``::

      H_n = H* prod_{j=1}^n (1 - 1/(M j^2)),    D_n = H* (1 - prod_{j=1}^n (1 - 1/(M j^2))),

  the same product as the Gaussian accumulate variance (maximum likelihood), with the limit
  ``prod_{j>=1} (1 - 1/(M j^2)) = sqrt(M) sin(pi/sqrt(M))/pi`` (Euler's sine product) as
  ``n -> inf``: accumulating data bounds the collapse (``D_inf <= H* pi^2/(6 M)`` to first
  order);
- accumulate-subsample (each fit on a uniform subsample of ``N`` points of the pool, without
  replacement): the fitted ``p_t`` is the mean of the subsample's one-hot vectors, and
  ``1 - sum p_t^2`` the trace of their maximum-likelihood covariance. Every point's one-hot
  vector has conditional mean the model that drew it and conditional covariance
  ``diag q - q q^T`` (``q`` that model), whose expectation is ``(H_{j}/H*)`` times
  ``diag p0 - p0 p0^T`` for a point drawn from generation ``j``; and the subsample is chosen
  independently of the values. So the second moments along any direction follow the recursion
  of the 1-D Gaussian mean and maximum-likelihood variance under the same policy (the model's
  variance there plays the part of ``H_j/H*``), exactly::

      H_n = H* s_n,    D_n = H* d_n,

  with ``(s_n, d_n)`` the Gaussian ``(E sigma_n^2, E (mu_n - mu0)^2)`` of
  :func:`modelcollapse.theory.accumulate_subsample.accumulate_subsample_moments` at
  ``sigma2 = 1``, ``ddof = 0`` (exact finite-``N`` recursion). The same argument gives the
  replace and accumulate formulas above from the Gaussian ones.

The public routes are :func:`~modelcollapse.theory.discrete.expected_heterozygosity`,
:func:`~modelcollapse.theory.discrete.expected_collision` and
:func:`~modelcollapse.theory.discrete.expected_sq_distance` with ``workflow=``; this module holds
the formulas once, plus the accumulate product (:func:`accumulate_factor`,
:func:`accumulate_factor_limit`) and the long-run limits (:func:`sq_distance_limit`,
:func:`heterozygosity_limit`). Sampling biases are refused (their moments do not close).
Extinction, survivors and the drift measures under mix and accumulate are computed by the
single-symbol chains of :mod:`~modelcollapse.theory.discrete_workflow_chains` (and, with a
sampling bias, its full multinomial chain).

This module uses NumPy/SciPy only (float64) and never imports JAX or :mod:`modelcollapse.sims`.

References
----------
Gerstgrasser et al., "Is model collapse inevitable? Breaking the curse of recursion by
accumulating real and synthetic data" (2024); Shumailov et al., Nature 631 (2024); Bertrand et
al. (ICLR 2024); Ewens, *Mathematical Population Genetics* (2004), ch. 1.

Examples
--------
>>> from modelcollapse.spec.workflows import accumulate
>>> from modelcollapse.theory.discrete import expected_heterozygosity
>>> float(expected_heterozygosity(2, [0.5, 0.5], 2, workflow=accumulate()))  # 1/2 * 1/2 * 7/8
0.21875
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import zeta

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from ._powers import one_minus_pow as _one_minus_pow
from ._powers import pow_decay as _pow

__all__ = [
    "IMPLEMENTED",
    "accumulate_factor",
    "accumulate_factor_limit",
    "sq_distance_limit",
    "heterozygosity_limit",
]

#: The workflows whose heterozygosity and squared distance are exact here.
IMPLEMENTED: tuple[str, ...] = ("replace", "mix", "accumulate", "accumulate_subsample")

#: Terms of the accumulate product summed one by one before the zeta-series tail.
_HEAD = 64
#: Powers of ``1/(M j^2)`` kept in the tail ``sum_{j > _HEAD} log(1 - x/j^2)`` (the first
#: omitted term is below ``64^-12 / 6 < 1e-22``).
_TAIL_TERMS = 5


# --------------------------------------------------------------------------------------------
# shared pieces (imported lazily by theory.discrete, which imports this module in its functions)
# --------------------------------------------------------------------------------------------


def _gini_simpson(p0: NDArray[np.float64]) -> NDArray[np.float64]:
    from .discrete import _gini_simpson as gs

    return gs(p0)




def _log_accumulate_factor(nn: NDArray[np.float64], MM: NDArray[np.float64]
                           ) -> NDArray[np.float64]:
    """``log prod_{j=1}^n (1 - x/j^2)``, ``x = 1/M``: the first :data:`_HEAD` factors summed in
    log1p, the rest as ``-sum_k x^k/k (zeta(2k, HEAD+1) - zeta(2k, n+1))`` (Hurwitz zeta; no
    loop over ``n``, accurate to rounding for any ``n``)."""
    nn, MM = np.broadcast_arrays(nn, MM)
    x = 1.0 / MM
    out = np.zeros(nn.shape)
    with np.errstate(divide="ignore"):
        for j in range(1, _HEAD + 1):
            out = out + np.where(nn >= j, np.log1p(-x / (j * j)), 0.0)
    far = nn > _HEAD
    if np.any(far):
        q = np.where(far, nn + 1.0, _HEAD + 1.0)
        tail = np.zeros(nn.shape)
        for k in range(_TAIL_TERMS, 0, -1):
            tail = tail + x**k / k * (zeta(2.0 * k, _HEAD + 1.0) - zeta(2.0 * k, q))
        out = out - np.where(far, tail, 0.0)
    return out


def _mix_counts(wf: W.Workflow, MM: NDArray[np.float64]) -> NDArray[np.float64]:
    """Real samples per fit, ``wf.real_count(M)`` for every entry of ``M`` (the spec's rule,
    one source of truth)."""
    flat = MM.ravel()
    uniq, inv = np.unique(flat, return_inverse=True)
    counts = np.array([wf.real_count(int(m)) for m in uniq], dtype=np.float64)
    return counts[inv].reshape(MM.shape)


def _mix_sq_distance(nn: NDArray[np.float64], p: NDArray[np.float64], NN: NDArray[np.float64],
                     ns: NDArray[np.float64], fixed: bool = False) -> NDArray[np.float64]:
    """``E||p_n - p0||^2`` for ``N`` real (fresh or one fixed set) and ``n_synth`` synthetic
    samples per fit (validated, broadcastable arrays)."""
    from .discrete import _mix_terms

    a, b, inv_T, log_rho = _mix_terms(NN, ns)
    one_minus_rho = b * (1.0 + a) + a * inv_T  # 1 - rho without cancellation
    H = _gini_simpson(p)
    fresh = H * inv_T * (_one_minus_pow(log_rho, nn) / one_minus_rho)
    if not fixed:
        return fresh
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = np.where(ns > 0, -np.log1p(NN / np.where(ns > 0, ns, 1.0)), -np.inf)
        limit = H * inv_T * (b + 3.0 * a) / one_minus_rho
        pulled = 2.0 * H / (NN + 1.0) * (_pow(log_a, nn) - _pow(log_rho, nn))
        d = limit * _one_minus_pow(log_rho, nn) - pulled
    return np.where(NN == 0, fresh, np.clip(d, 0.0, None))


def _mix_limit(p: NDArray[np.float64], NN: NDArray[np.float64], ns: NDArray[np.float64],
               fixed: bool = False) -> NDArray[np.float64]:
    """``lim_n E||p_n - p0||^2`` for ``N`` real (fresh or fixed) and ``n_synth`` synthetic
    samples per fit: ``H* T/(N (T + s) + s)`` (fresh), ``H* (N + 3 s)/(N (T + s) + s)``
    (fixed, ``N >= 1``), as ratios (finite for any sizes)."""
    from .discrete import _mix_terms

    a, b, inv_T, _ = _mix_terms(NN, ns)
    one_minus_rho = b * (1.0 + a) + a * inv_T
    share = (b + 3.0 * a) if fixed else 1.0
    H = _gini_simpson(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(NN == 0, H, H * inv_T * share / one_minus_rho)


def _subsample_moments(nn: NDArray[np.float64], MM: NDArray[np.float64], wf: W.Workflow
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(H_n/H*, D_n/H*)`` under accumulate-subsample: the Gaussian maximum-likelihood
    ``(E sigma_n^2, E (mu_n - mu0)^2)`` at ``sigma2 = 1`` (see the module docstring)."""
    from .accumulate_subsample import accumulate_subsample_moments

    s, d = accumulate_subsample_moments(nn, MM, subsample=wf.subsample, ddof=0)
    return np.asarray(s, dtype=np.float64), np.asarray(d, dtype=np.float64)


def _sq_distance(nn: NDArray[np.float64], p: NDArray[np.float64], MM: NDArray[np.float64],
                 wf: W.Workflow) -> NDArray[np.float64]:
    """``E||p_n - p0||^2`` under ``wf`` (mix, accumulate or accumulate-subsample; arguments
    validated)."""
    if wf.name == "accumulate_subsample":
        return _gini_simpson(p) * _subsample_moments(nn, MM, wf)[1]
    if wf.name == "accumulate":
        with np.errstate(divide="ignore"):
            return _gini_simpson(p) * -np.expm1(_log_accumulate_factor(nn, MM))
    NN = _mix_counts(wf, MM)
    return _mix_sq_distance(nn, p, NN, MM - NN, fixed=wf.fixed_real)


def _heterozygosity(nn: NDArray[np.float64], p: NDArray[np.float64], MM: NDArray[np.float64],
                    wf: W.Workflow) -> NDArray[np.float64]:
    """``E[1 - sum p_n^2]`` under ``wf`` (mix, accumulate or accumulate-subsample; arguments
    validated)."""
    if wf.name == "accumulate_subsample":
        return _gini_simpson(p) * _subsample_moments(nn, MM, wf)[0]
    if wf.name == "accumulate":
        with np.errstate(divide="ignore"):
            return _gini_simpson(p) * np.exp(_log_accumulate_factor(nn, MM))
    return np.clip(_gini_simpson(p) - _sq_distance(nn, p, MM, wf), 0.0, None)


def _require(workflow: W.WorkflowLike, where: str) -> W.Workflow:
    return W.require(workflow, where, names=IMPLEMENTED)


def _require_limit(workflow: W.WorkflowLike, where: str) -> W.Workflow:
    """The long-run limits have closed forms under replace, mix and accumulate only."""
    return W.require(workflow, where, names=("replace", "mix", "accumulate"))


def _out(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _lead(p0: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.empty(p0.shape[:-1])


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------


def accumulate_factor(n: ArrayLike, M: ArrayLike) -> NDArray[np.float64]:
    """The accumulate product ``prod_{j=1}^n (1 - 1/(M j^2))``.

    Under the accumulate workflow the expected heterozygosity of the pooled frequencies is
    ``H* accumulate_factor(n, M)`` (``H* = 1 - sum p0^2``); the same product is the Gaussian
    accumulate variance ratio under maximum likelihood.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index (0: the empty product, 1).
    M : int or array_like, integer >= 1
        Samples added to the pool per generation (the first batch real).

    Returns
    -------
    float or ndarray
        The product; ``n`` and ``M`` broadcast. ``M = 1`` gives 0 for ``n >= 1``.

    Notes
    -----
    Exact product, evaluated in log space: the first 64 factors by ``log1p``, the rest by the
    series ``-sum_k M^-k/k (zeta(2k, 65) - zeta(2k, n+1))`` (Hurwitz zeta, five terms, the
    omitted ones below 1e-22), so the cost does not grow with ``n`` (about 1.8 us per entry).
    Measured against 40-digit mpmath (``M`` from 2 to ``1e9``, ``n`` from 1 to ``1e12``): relative
    error <= 4e-16 for the product and <= 7e-16 for ``1 - product`` (the squared distance,
    formed by ``expm1``); ``n = 1e300`` stays finite.

    References
    ----------
    Gerstgrasser et al. (2024); derivation in
    :mod:`modelcollapse.theory.symbolic.discrete_workflows`.

    Examples
    --------
    >>> from modelcollapse.theory.discrete_workflows import accumulate_factor
    >>> float(accumulate_factor(2, 2))   # (1 - 1/2)(1 - 1/8)
    0.4375
    """
    nn = P.n.array(n)
    MM = P.M.array(M)
    from .discrete import _broadcast

    _broadcast(n=nn, M=MM)
    with np.errstate(divide="ignore"):
        return _out(np.exp(_log_accumulate_factor(nn, MM)))


def accumulate_factor_limit(M: ArrayLike) -> NDArray[np.float64]:
    """Limit of :func:`accumulate_factor` as ``n -> inf``: ``sqrt(M) sin(pi/sqrt(M)) / pi``.

    Euler's product ``sin(pi x)/(pi x) = prod_{j>=1} (1 - x^2/j^2)`` at ``x = 1/sqrt(M)``.

    Parameters
    ----------
    M : int or array_like, integer >= 1
        Samples added to the pool per generation.

    Returns
    -------
    float or ndarray
        The limit, in ``[0, 1)``; 0 at ``M = 1``; ``1 - pi^2/(6 M) + O(M^-2)`` for large ``M``.

    Notes
    -----
    Exact limit (``numpy.sinc``; 0 set exactly at ``M = 1``).

    References
    ----------
    Gerstgrasser et al. (2024).

    Examples
    --------
    >>> from modelcollapse.theory.discrete_workflows import accumulate_factor_limit
    >>> round(float(accumulate_factor_limit(4)), 12)  # 2 sin(pi/2)/pi
    0.636619772368
    """
    MM = P.M.array(M)
    return _out(np.where(MM == 1, 0.0, np.sinc(1.0 / np.sqrt(MM))))


def sq_distance_limit(p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
                      ) -> NDArray[np.float64]:
    """``lim_{n -> inf} E||p_n - p0||^2`` under a workflow.

    Formulas (``H* = 1 - sum p0^2``; mix: ``N = workflow.real_count(M)``, ``s = M - N``,
    ``a = s/M``): replace ``H*``; mix with fresh real data ``H*/(N (1 + a) + a)``; mix with one
    fixed real set ``H* (N + 3 s)/(N (M + s) + s)`` (``H*`` if ``N = 0``); accumulate
    ``H* (1 - sqrt(M) sin(pi/sqrt(M))/pi)``.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols.
    M : int or array_like, integer >= 1
        Samples per fit (mix) or added per generation (accumulate).
    workflow : Workflow or str, optional
        ``'replace'`` (the default, ``None``), a ``mix(...)`` or ``accumulate()`` value;
        sampling biases and other workflows raise ``ValueError``.

    Returns
    -------
    float or ndarray
        The limit; ``M`` broadcasts against ``p0.shape[:-1]``.

    Notes
    -----
    Exact limits of the closed forms of this module.

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate, mix
    >>> from modelcollapse.theory.discrete_workflows import sq_distance_limit
    >>> round(float(sq_distance_limit([0.5, 0.3, 0.2], 100, workflow=mix(n_real=10))), 12)
    0.031155778894
    >>> round(float(sq_distance_limit([0.5, 0.5], 4, workflow=accumulate())), 12)
    0.181690113816
    """
    wf = _require_limit(workflow, "theory.discrete_workflows.sq_distance_limit")
    p = P.p0.check(p0)
    MM = P.M.array(M)
    from .discrete import _broadcast

    _broadcast(p0=_lead(p), M=MM)
    H = _gini_simpson(p)
    if wf.name == "replace":
        return _out(H * np.ones(MM.shape))
    if wf.name == "accumulate":
        return _out(H * (1.0 - np.where(MM == 1, 0.0, np.sinc(1.0 / np.sqrt(MM)))))
    NN = _mix_counts(wf, MM)
    return _out(_mix_limit(p, NN, MM - NN, fixed=wf.fixed_real))


def heterozygosity_limit(p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
                         ) -> NDArray[np.float64]:
    """``lim_{n -> inf} E[1 - sum_i p_{n,i}^2]`` under a workflow: ``H* - D_inf``.

    ``D_inf`` is :func:`sq_distance_limit` (frequencies stay unbiased, so ``H_n + D_n = H*``);
    accumulate gives ``H* sqrt(M) sin(pi/sqrt(M))/pi``, replace 0.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols.
    M : int or array_like, integer >= 1
        Samples per fit (mix) or added per generation (accumulate).
    workflow : Workflow or str, optional
        ``'replace'`` (the default, ``None``), a ``mix(...)`` or ``accumulate()`` value;
        sampling biases and other workflows raise ``ValueError``.

    Returns
    -------
    float or ndarray
        The limit; ``M`` broadcasts against ``p0.shape[:-1]``.

    Notes
    -----
    Exact.

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate
    >>> from modelcollapse.theory.discrete_workflows import heterozygosity_limit
    >>> round(float(heterozygosity_limit([0.5, 0.5], 4, workflow=accumulate())), 12)
    0.318309886184
    """
    wf = _require_limit(workflow, "theory.discrete_workflows.heterozygosity_limit")
    p = P.p0.check(p0)
    d = sq_distance_limit(p, M, workflow=wf)
    return _out(np.clip(_gini_simpson(p) - d, 0.0, None))
