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

Growing sample-size schedules ``M_1, ..., M_n`` (``M_t`` the size of the fit that produces
generation ``t``; under accumulate the points added at generation ``t``, pool
``N_t = M_1 + ... + M_t``): :func:`expected_heterozygosity_schedule` and
:func:`expected_sq_distance_schedule` give generations ``0..n`` exactly, by the one-step laws
above with per-step sizes -- replace ``H_t = H_{t-1} (1 - 1/M_t)``, accumulate
``H_t = H_{t-1} (1 - M_t/N_t^2)`` (the constant-``M`` product ``1 - 1/(M t^2)`` is the case
``N_t = t M``), mix the affine recursion ``D_t = rho_t D_{t-1} + H*/M_t`` (fresh real data)
or its two-term form with the fixed real set's covariance (see the functions). Accumulate-
subsample takes a constant schedule only.

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
    "expected_heterozygosity_schedule",
    "expected_sq_distance_schedule",
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


# --------------------------------------------------------------------------------------------
# schedules M_1, ..., M_n
# --------------------------------------------------------------------------------------------


def _schedule_sizes(M: ArrayLike) -> NDArray[np.float64]:
    """The schedule ``M_1, ..., M_n`` (1-D, each an integer >= 1; a bad entry ``i`` reported
    as ``M[i]``) as float64 (exact: integers below 2^53). Validated in one vectorised pass
    (about 20 ns per entry); the entry-by-entry pass runs only to name a bad entry."""
    try:
        arr = None if isinstance(M, str | bytes) else np.asarray(M)
    except (ValueError, TypeError):  # ragged nested sequences
        arr = None
    if arr is None or arr.ndim != 1:
        raise ValueError(f"M must be a 1-D schedule M_1, ..., M_n of integers >= 1 (got "
                         f"{P.show(M)})")
    if arr.dtype == bool or arr.dtype == object or not isinstance(M, np.ndarray):
        # NumPy turns [True, 3] into [1, 3]: refuse booleans before the conversion
        entries = arr.tolist() if not isinstance(M, list | tuple) else list(M)
        for i, v in enumerate(entries):
            if isinstance(v, bool | np.bool_):
                raise ValueError(P.M.restrict(name=f"M[{i}]").message(v))
    try:
        return np.asarray(P.M.array(arr), dtype=np.float64).reshape(-1)
    except ValueError:
        P.schedule(arr, P.M)  # raises, naming the first bad entry M[i]
        raise


def _schedule_ratios(MM: NDArray[np.float64], wf: W.Workflow
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(h, d)``: ``H_t/H*`` and ``D_t/H*`` for ``t = 0..n`` under ``wf`` and the schedule
    ``MM`` (validated); both independent of ``p0``."""
    n = MM.shape[0]
    if wf.name == "replace" or wf.name == "accumulate":
        with np.errstate(divide="ignore"):  # -inf at M_1 = 1: absorbed at generation 1
            if wf.name == "replace":
                step = np.log1p(-1.0 / MM)
            else:
                pool = np.cumsum(MM)  # N_t = M_1 + ... + M_t
                step = np.log1p(-(MM / pool) / pool)
            logs = np.concatenate([[0.0], np.cumsum(step)])
        return np.exp(logs), 0.0 - np.expm1(logs)
    if wf.name == "accumulate_subsample":
        if n and np.any(MM != MM[0]):
            raise ValueError("M must be a constant schedule for the accumulate_subsample "
                             "workflow (its exact moments are derived for M points added per "
                             f"generation; got {P.show(MM.astype(np.int64).tolist())})")
        if n == 0:
            return np.ones(1), np.zeros(1)
        s, d = _subsample_moments(np.arange(n + 1, dtype=np.float64), np.asarray(MM[0]), wf)
        return s, d
    if wf.name == "weighted":
        # q_t = w X_t/r_t + (1 - w) Y_t/M_t, X_t ~ Mult(r_t, p0), Y_t ~ Mult(M_t, q_{t-1}):
        # D_t = (1 - w)^2 (1 - 1/M_t) D_{t-1} + H* (w^2/r_t + (1 - w)^2/M_t)
        w = wf.effective_weight
        real_w = np.array([wf.real_count(int(m)) for m in MM], dtype=np.float64)
        if n and np.min(real_w) < 1:
            raise ValueError("n_real must be >= 1 for the weighted workflow (got 0)")
        dw = np.zeros(n + 1)
        acc = 0.0
        for t, (size, nr) in enumerate(zip(MM.tolist(), real_w.tolist(), strict=True)):
            acc = ((1.0 - w) ** 2 * (1.0 - 1.0 / size) * acc
                   + (w * w / nr + (1.0 - w) ** 2 / size))
            dw[t + 1] = acc
        dw = np.clip(dw, 0.0, 1.0)
        return 1.0 - dw, dw
    # mix: r_t real points (fresh, or one fixed set), s_t synthetic ones, T_t = M_t
    real = np.array([wf.real_count(int(m)) for m in MM], dtype=np.float64)
    if wf.fixed_real and n and np.any(real != real[0]):
        raise ValueError("M must give the same real count in every generation for mix with "
                         "fixed_real=True (one real set is reused; got real counts "
                         f"{sorted(set(real.astype(np.int64).tolist()))} from the schedule)")
    synth = MM - real
    d = np.zeros(n + 1)
    c = 0.0  # E<U, e_{t}>/H*, U = X - N p0 the fixed real set's deviation (fixed_real only)
    dt = 0.0
    for t, (size, nr, ns) in enumerate(zip(MM.tolist(), real.tolist(), synth.tolist(),
                                           strict=True)):
        a = ns / size
        rho = a * ((ns - 1.0) / size)  # s (s - 1)/T^2
        if wf.fixed_real:
            dt = rho * dt + (nr + ns) / (size * size) + 2.0 * (a / size) * c
            c = nr / size + a * c
        else:
            dt = rho * dt + 1.0 / size
        d[t + 1] = dt
    d = np.clip(d, 0.0, 1.0)
    return 1.0 - d, d


def _schedule_run(p0: ArrayLike, M: ArrayLike, workflow: W.WorkflowLike, where: str
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validated ``(H*[..., None], h, d)`` of the schedule functions."""
    wf = W.require(workflow, f"theory.discrete_workflows.{where}",
                   names=IMPLEMENTED + ("weighted",))
    p = P.p0.check(p0)
    MM = _schedule_sizes(M)
    h, d = _schedule_ratios(MM, wf)
    return np.asarray(_gini_simpson(p), dtype=np.float64)[..., None], h, d


def expected_heterozygosity_schedule(p0: ArrayLike, M: ArrayLike, *,
                                     workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``E[1 - sum_i p_{t,i}^2]`` for generations ``t = 0..n`` under a schedule ``M_1..M_n``.

    Formula (``H* = 1 - sum p0^2``, ``H_t`` the value at generation ``t``, ``H_0 = H*``):
    replace ``H_t = H_{t-1} (1 - 1/M_t)``; accumulate (pool ``N_t = M_1 + ... + M_t``, the
    first batch real) ``H_t = H_{t-1} (1 - M_t/N_t^2)``; mix ``H_t = H* - D_t`` with ``D_t`` of
    :func:`expected_sq_distance_schedule` (the frequencies stay unbiased, ``E p_t = p0``), and
    so weighted.
    ``M[t-1] = M_t`` is the sample size of the fit that produces generation ``t`` (under
    accumulate: the points added to the pool at generation ``t``).

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing
        to 1 within 1e-9); leading axes hold several distributions.
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 1 (empty: generation 0 only).
    workflow : Workflow or str, optional
        ``'replace'`` (the default, ``None``), ``mix(...)`` (``r_t = workflow.real_count(M_t)``
        fresh real points per fit, or with ``fixed_real=True`` one real set reused, which needs
        the same real count in every generation), ``accumulate()``, ``weighted(w)`` (the
        unsmoothed fit ``q_t = w q_real + (1 - w) q_synth``, ``r_t = workflow.real_count(M_t)``
        real and ``M_t`` synthetic points), or ``accumulate_subsample(N)`` for a constant
        schedule only; sampling biases raise ``ValueError``.

    Returns
    -------
    ndarray
        float64, shape ``p0.shape[:-1] + (n + 1,)``: generations ``0..n`` along the last axis.

    Notes
    -----
    Exact for every schedule (derivation in :mod:`modelcollapse.theory.discrete_workflows`'
    module docstring and in :func:`expected_sq_distance_schedule`). For a constant schedule
    the values are those of :func:`modelcollapse.theory.discrete.expected_heterozygosity`.
    Replace and accumulate are cumulative sums of ``log1p`` factors (cost ``O(n)`` vectorised,
    relative error a few ulps times ``sqrt(n)``); mix runs its affine recursion in a Python
    loop (``O(n)``, about 1 us per generation). ``M`` up to ``1e9`` and more stays accurate.

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004), ch. 1; Gerstgrasser et al. (2024).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate, mix
    >>> from modelcollapse.theory.discrete_workflows import expected_heterozygosity_schedule
    >>> expected_heterozygosity_schedule([0.5, 0.5], [2, 4])        # 1/2, 1/4, 3/16
    array([0.5   , 0.25  , 0.1875])
    >>> expected_heterozygosity_schedule([0.5, 0.5], [2, 2], workflow=accumulate())
    array([0.5    , 0.25   , 0.21875])
    >>> expected_heterozygosity_schedule([0.5, 0.5], [2, 4], workflow=mix(n_real=1))
    array([0.5    , 0.25   , 0.28125])
    """
    H, h, _ = _schedule_run(p0, M, workflow, "expected_heterozygosity_schedule")
    return H * h


def expected_sq_distance_schedule(p0: ArrayLike, M: ArrayLike, *,
                                  workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """``E||p_t - p0||^2`` for generations ``t = 0..n`` under a schedule ``M_1..M_n``.

    Formula (``H* = 1 - sum p0^2``, ``D_0 = 0``, ``D_t = H* - H_t``): replace
    ``D_t = H* (1 - prod_{j<=t} (1 - 1/M_j))``; accumulate
    ``D_t = H* (1 - prod_{j<=t} (1 - M_j/N_j^2))``, ``N_j = M_1 + ... + M_j``; mix with
    ``r_t = workflow.real_count(M_t)`` real and ``s_t = M_t - r_t`` synthetic points,
    ``a_t = s_t/M_t``, ``rho_t = s_t (s_t - 1)/M_t^2``:

    - fresh real data: ``D_t = rho_t D_{t-1} + H*/M_t``;
    - one fixed real set of ``r`` points (``U = X - r p0``, ``C_t = E<U, p_t - p0>``):
      ``D_t = rho_t D_{t-1} + H* (r + s_t)/M_t^2 + 2 (a_t/M_t) C_{t-1}``,
      ``C_t = H* r/M_t + a_t C_{t-1}``, ``C_0 = 0``;

    weighted (``w`` the real weight, ``r_t`` real and ``M_t`` synthetic points, two fits):
    ``D_t = (1 - w)^2 (1 - 1/M_t) D_{t-1} + H* (w^2/r_t + (1 - w)^2/M_t)``.

    Derivation: ``p_t - p0 = (X_t - r p0)/T + (Y_t - s p_{t-1})/T + a (p_{t-1} - p0)``
    (``T = M_t``) with ``E||X_t - r p0||^2 = r H*`` and
    ``E||Y_t - s p_{t-1}||^2 = s (H* - D_{t-1})``; the cross terms vanish except, for a fixed
    real set, ``E<X - r p0, p_{t-1} - p0> = C_{t-1}``. Under accumulate
    ``p_t = p_{t-1} + (c_t - M_t p_{t-1})/N_t`` with a martingale increment of conditional
    second moment ``M_t (1 - ||p_{t-1}||^2)``, so ``D_t = D_{t-1} + M_t H_{t-1}/N_t^2``.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : array_like of int
        The schedule ``M_1, ..., M_n``, 1-D, each an integer >= 1 (empty: generation 0 only).
    workflow : Workflow or str, optional
        As for :func:`expected_heterozygosity_schedule`.

    Returns
    -------
    ndarray
        float64, shape ``p0.shape[:-1] + (n + 1,)``: generations ``0..n`` along the last axis.

    Notes
    -----
    Exact (see :func:`expected_heterozygosity_schedule` for the cost and the accuracy;
    replace and accumulate form ``1 - prod`` by ``expm1``, without cancellation). A constant
    schedule reproduces :func:`modelcollapse.theory.discrete.expected_sq_distance`, the mix
    closed forms included (weighted has no constant-``M`` route there: this is its only
    one). ``accumulate_subsample`` takes a constant schedule only (its exact recursion
    assumes the same batch size every generation): a varying one raises ``ValueError``
    naming ``M``.

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004), ch. 1; Gerstgrasser et al. (2024);
    Shumailov et al., Nature 631 (2024).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate, mix
    >>> from modelcollapse.theory.discrete_workflows import expected_sq_distance_schedule
    >>> expected_sq_distance_schedule([0.5, 0.5], [2, 4])           # H* - H_t
    array([0.    , 0.25  , 0.3125])
    >>> expected_sq_distance_schedule([0.5, 0.5], [2, 2], workflow=accumulate())
    array([0.     , 0.25   , 0.28125])
    >>> expected_sq_distance_schedule([0.5, 0.5], [2, 4], workflow=mix(n_real=1, fixed_real=True))
    array([0.    , 0.25  , 0.3125])
    """
    H, _, d = _schedule_run(p0, M, workflow, "expected_sq_distance_schedule")
    return H * d
