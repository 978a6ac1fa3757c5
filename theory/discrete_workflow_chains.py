"""Exact categorical chains under the data workflows and the sampling biases.

Setting and conventions
-----------------------
A categorical distribution ``p0`` over ``K`` symbols is refit, generation after generation, by
the empirical frequencies of each fit's ``M`` data; generation 0 is ``p0`` and the first fit
(generation 1) sees ``M`` real samples, ``counts_1 ~ Mult(M, p0)``, whatever the workflow and
the sampling bias (the toolkit's convention). The workflow value
(:mod:`modelcollapse.spec.workflows`) says where the later fits' data come from; with
``r = workflow.real_count(M)`` real and ``s = M - r`` synthetic samples per fit:

- ``replace``: ``counts_t ~ Mult(M, b(counts_{t-1}/M))``;
- ``mix`` (fresh real data): ``counts_t = Mult(r, p0) + Mult(s, b(counts_{t-1}/M))``, the real
  part drawn anew each generation;
- ``mix(fixed_real=True)``: the real part ``R ~ Mult(r, p0)`` is the real set of generation 1
  (whose other ``s`` samples are real too) and is reused: ``counts_t = R + Mult(s,
  b(counts_{t-1}/M))``;
- ``accumulate``: each fit sees the pool of all data so far (the first ``M`` real, then ``M``
  synthetic per generation).

``b`` is the sampling bias, acting on synthetic draws only: temperature ``T`` (``q^(1/T)``
normalised), then ``top_k`` (the ``k`` most probable symbols), then ``top_p`` (the smallest set
of most probable symbols whose mass is ``>= p``), each renormalised; ties are broken by the
symbol index (the lower index first).

Two exact engines
-----------------
1. **The single-symbol chain under mix.** Without a sampling bias one symbol's count is a
   Markov chain on ``{0..M}`` by itself (the categorical refit is lumpable)::

       X_t = Bin(r, p) + Bin(s, X_{t-1}/M),      X_0 = M p   (so X_1 ~ Bin(M, p)),

   and with a fixed real set ``X_t = k + Bin(s, X_{t-1}/M)`` given the symbol's real count
   ``R = k ~ Bin(r, p)`` (exact by conditioning on it: cost ``x`` the width of that binomial).
   The law is stepped exactly on its occupied band (the synthetic rows ``Bin(s, j/M)`` built
   once per ``(M, s)`` with the band rule of :mod:`~modelcollapse.theory.wright_fisher`, then
   the convolution with the real binomial). For ``r >= 1`` the chain forgets its start
   geometrically: coupling two copies with the same real draws and monotonically coupled
   synthetic draws gives ``E|X_t - X'_t| = (s/M) E|X_{t-1} - X'_{t-1}|``, so the law of ``X_t``
   is within ``M (s/M)^(t-1)`` in total variation of the stationary law; once that is below
   1e-17 the stepping stops and the later generations take that law. The same chain with
   ``p = F0(j)`` is the cumulative count of the symbols up to a cut point, which gives
   ``E W1`` and ``E TV`` under mix (through :mod:`~modelcollapse.theory.discrete_drift`).
   Public: :func:`mix_count_distribution`, and ``workflow=mix(...)`` in
   :func:`~modelcollapse.theory.discrete.extinction_probability`,
   :func:`~modelcollapse.theory.discrete.survival_probability`,
   :func:`~modelcollapse.theory.discrete.expected_survivors`,
   :func:`~modelcollapse.theory.discrete_drift.expected_w1` and
   :func:`~modelcollapse.theory.discrete_drift.expected_total_variation` (which also take
   ``accumulate()``, below).

   Under ``accumulate`` a symbol absent from the first (real) batch is never drawn again and a
   symbol present stays in the pool forever, so ``P(symbol absent from generation t's pool) =
   P(C_1 = 0) = (1 - p)^M`` for every ``t >= 1`` (exact, any sampling bias); the expected number
   of symbols present is ``sum_i (1 - (1 - p0_i)^M)``. The pooled count of a symbol (or of the
   symbols up to a cut point) is the chain ``C_1 ~ Bin(M, p)``, ``C_t = C_{t-1} + Bin(M,
   C_{t-1}/((t - 1) M))`` on ``0..t M``, stepped exactly for ``E W1`` and ``E TV`` under
   accumulate (``O(n^2 M)`` work: small ``n M`` only, refused above :data:`CHAIN_BUDGET_S`).

   Second moments need no chain: under replace, mix (fresh or fixed) and accumulate the
   covariance of the fitted frequencies stays proportional to ``Sigma0 = diag p0 - p0 p0^T``
   (each multinomial draw from ``q`` adds ``E[diag q - q q^T]/m = (Sigma0 - Cov q)/m``, and the
   fits are linear in the draws), so ``Cov(p_n) = c_n Sigma0`` with ``c_n = D_n/(1 - sum p0^2)``,
   ``D_n`` the exact squared distance of :mod:`~modelcollapse.theory.discrete_workflows`. The
   mean drift ``E(m_n - m_0)^2 = c_n Var_{p0}(X)``, the support variance ``E Var_{p_n}(X) = (1 -
   c_n) Var_{p0}(X)`` and the Cramer distance ``c_n sum_j dx_j F0 (1 - F0)`` of
   :mod:`~modelcollapse.theory.discrete_drift` follow under every one of these workflows.

2. **The full multinomial chain** (:func:`chain_expectation`): on the count vectors summing to
   ``M`` (``C(M + K - 1, K - 1)`` states, at most :data:`MAX_FULL_STATES`), with any sampling
   bias, under replace or mix (fresh or fixed real data); the transition matrix is built once
   (multinomial pmfs from log-gamma, vectorised) and the law propagated. It is the independent
   reference for the biased simulator and for the lumped chains above.

This module uses NumPy/SciPy only (float64) and never imports JAX or :mod:`modelcollapse.sims`.

References
----------
Ewens, *Mathematical Population Genetics* (2004), ch. 1-3; Shumailov et al., Nature 631 (2024)
(10 % real data kept); Alemohammad et al., "Self-consuming generative models go MAD" (2023)
(sampling bias); Holtzman et al., "The curious case of neural text degeneration" (ICLR 2020)
(nucleus sampling); Levin, Peres & Wilmer, *Markov Chains and Mixing Times* (2009), ch. 5
(coupling).

Examples
--------
>>> import numpy as np
>>> from modelcollapse.spec.workflows import mix
>>> from modelcollapse.theory.discrete import expected_survivors
>>> round(float(expected_survivors(50, [0.9, 0.09, 0.01], 50, workflow=mix(n_real=5))), 6)
2.035723
>>> round(float(expected_survivors(50, [0.9, 0.09, 0.01], 50)), 6)    # replace
1.194569
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from .wright_fisher import (
    MAX_EXACT_M,
    _band_rows,
    _row_normalised,
    binomial_band,
    binomial_pmf_rows,
)

__all__ = [
    "mix_count_distribution",
    "chain_expectation",
    "bias_distribution",
    "OBSERVABLES",
    "MAX_FULL_STATES",
    "CHAIN_BUDGET_S",
]

#: The observables of :func:`chain_expectation`.
OBSERVABLES: tuple[str, ...] = ("heterozygosity", "survivors", "sq_distance", "w1", "tv",
                                 "mean_drift", "support_variance")

#: Largest number of states ``C(M + K - 1, K - 1)`` of the full multinomial chain (a dense
#: ``S x S`` transition matrix: 72 MB at the limit).
MAX_FULL_STATES = 3000

#: Largest estimated run time (seconds) of one exact chain computation here; beyond,
#: ``ValueError`` with the estimate instead of a minutes-long run.
CHAIN_BUDGET_S = 20.0

#: Total-variation distance to the stationary law below which the mix chain stops stepping.
_STATIONARY_TOL = 1e-17
#: Entries of a stepped law below this at the ends of its band are dropped.
_TRIM = 1e-30
#: Rows stepped together.
_GROUP = 32
# Estimated seconds per multiply-add of the banded stepping and per row-step of Python overhead
# (measured on 2 shared cores), and per multiply-add of a dense matrix product.
_COST_FLOP = 6.0e-10
_COST_ROW_STEP = 2.0e-6
_COST_DENSE = 1.0e-10

_OBSERVABLE = P.Choice("observable", "expectation computed by the full chain", OBSERVABLES)
_MARGINAL = ("replace", "mix")
#: Generations of the full chain (``int64`` steps; the chain is not stopped early).
_N_FULL = P.n.restrict(high=float(2**53))


# --------------------------------------------------------------------------------------------
# the single-symbol chain under mix
# --------------------------------------------------------------------------------------------


def _split(wf: W.Workflow, M: int) -> tuple[int, int]:
    """``(r, s)``: real and synthetic samples of a fit of size ``M`` (the spec's rule)."""
    if wf.name != "mix":
        return 0, M
    r = wf.real_count(M)
    return r, M - r


@lru_cache(maxsize=4)
def _synthetic_rows(M: int, s: int) -> tuple[sp.csr_matrix, NDArray[np.int64], NDArray[np.int64]]:
    """Rows ``Bin(s, j/M)``, ``j = 0..M``, as a CSR ``(M + 1, s + 1)`` (the band rule of
    :func:`~modelcollapse.theory.wright_fisher.binomial_band`, rows renormalised), and each
    row's band ``lo, hi`` (non-decreasing in ``j``)."""
    x = np.arange(M + 1, dtype=np.float64) / M
    if s == 0:
        ones = np.ones(M + 1)
        S = sp.csr_matrix((ones, np.zeros(M + 1, np.int64), np.arange(M + 2)), shape=(M + 1, 1))
        z = np.zeros(M + 1, np.int64)
        return S, z, z
    S = _row_normalised(_band_rows(x, s))
    lo, hi = binomial_band(x, s)
    return S, lo, hi


def _stop_step(M: int, r: int) -> float:
    """Generation from which the mix chain's law is stationary within ``_STATIONARY_TOL`` in
    total variation: the smallest ``t`` with ``M (s/M)^(t-1) <= tol`` (``inf`` for ``r = 0``)."""
    if r <= 0:
        return math.inf
    if r >= M:
        return 1.0
    a = (M - r) / M
    return 1.0 + max(0.0, math.ceil(math.log(_STATIONARY_TOL / M) / math.log(a)))


def _law_width(q: NDArray[np.float64], M: int, r: int) -> NDArray[np.float64]:
    """A generous estimate of the occupied band of the mix chain's law: 24 standard deviations
    of the stationary count plus 60 states (``Var X_inf = M^2 q (1 - q) / (r (1 + a) + a) <= M^2
    q (1 - q) / r``, ``a = s/M``: the fresh-data limit of the squared distance, per symbol)."""
    var = M * M * q * (1.0 - q) / max(r, 1)
    return np.minimum(M + 1.0, 24.0 * np.sqrt(var) + 60.0)


def _mix_cost(q: NDArray[np.float64], steps: float, M: int, r: int, fixed: bool) -> float:
    """Estimated seconds of :func:`_mix_table` for the rows ``q`` up to generation ``steps``."""
    s = M - r
    steps = min(steps, _stop_step(M, r))
    width = _law_width(q, M, r)
    row = 20.0 * math.sqrt(max(s, 1) / 4.0) + 31.0
    per_row = steps * (width * (row + 2.0) * _COST_FLOP + _COST_ROW_STEP)
    mult = np.ones(q.size)
    if fixed and r > 0:
        mult = 20.0 * np.sqrt(r * q * (1.0 - q)) + 31.0
    return float(np.sum(per_row * mult))


def _mix_table(
    q: NDArray[np.float64],
    steps: NDArray[np.int64],
    M: int,
    r: int,
    fixed: bool,
    reduce: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]],
    width: int = 1,
) -> NDArray[np.float64]:
    """``reduce(law of X_t, q)`` for every start ``q`` (axis 0) and generation ``t`` in
    ``steps`` (axis 1; sorted distinct integers ``>= 1``), for the mix chain with ``r >= 1``
    real samples (fresh, or one fixed set by conditioning on its count). ``reduce`` maps
    ``(G, M + 1)`` laws and their ``(G,)`` starts to ``(G, width)`` values; the result has shape
    ``(len(q), len(steps), width)`` (mixtures over a fixed set's count are weighted sums)."""
    s = M - r
    out = np.zeros((q.size, steps.size, width))
    if q.size == 0 or steps.size == 0:
        return out
    S, slo, shi = _synthetic_rows(M, s)
    t_stop = _stop_step(M, r)
    # rows: (start index, real count k or -1 for fresh, weight)
    if fixed:
        Rs = _band_rows(q, r)  # Bin(r, q_b) on its band (CSR: compact for many starts)
        owner = np.repeat(np.arange(q.size), np.diff(Rs.indptr))
        kk = Rs.indices.astype(np.int64)
        weight = Rs.data
        # drop the real counts of weight <= tol / (band width): at most tol in total per start,
        # and each changes a result bounded by 1 by at most its weight
        bandw = np.diff(Rs.indptr)[owner]
        keep = weight > _STATIONARY_TOL / np.maximum(bandw, 1)
        owner, kk, weight = owner[keep], kk[keep], weight[keep]
    else:
        owner = np.arange(q.size)
        kk = np.full(q.size, -1)
        weight = np.ones(q.size)
        Rs = _band_rows(q, r)
        rlo_all, rhi_all = binomial_band(q, r)
    order = np.argsort(q[owner], kind="stable")
    for g0 in range(0, order.size, _GROUP):
        rows = order[g0 : g0 + _GROUP]
        b_idx, k_idx, w = owner[rows], kk[rows], weight[rows]
        qg = q[b_idx]
        G = rows.size
        # generation 1: Bin(M, q) (fresh), k + Bin(s, q) (fixed)
        Y = np.zeros((G, M + 1))
        if fixed:
            first = binomial_pmf_rows(qg, s) if s > 0 else np.ones((G, 1))
            idx = k_idx[:, None] + np.arange(s + 1)[None, :]
            np.put_along_axis(Y, idx, first, axis=1)
        else:
            Y[:] = binomial_pmf_rows(qg, M)
            Rg = Rs[b_idx].toarray()
            rlo, rhi = rlo_all[b_idx], rhi_all[b_idx]
        occ = np.flatnonzero(np.any(Y > _TRIM, axis=0))
        a, b = int(occ[0]), int(occ[-1])
        t = 1
        col = 0
        while col < steps.size:
            target = int(steps[col])
            if t == target or t >= t_stop:
                vals = np.asarray(reduce(Y, qg)).reshape(G, width)
                while col < steps.size and (int(steps[col]) == t or t >= t_stop):
                    np.add.at(out[:, col], b_idx, w[:, None] * vals)
                    col += 1
                continue
            # one step: synthetic rows on the band, then the real part
            blk = S[a : b + 1]
            Wsyn = np.asarray((blk.T @ Y[:, a : b + 1].T).T)  # (G, s + 1)
            wa, wb = int(slo[a]), int(shi[b])
            Y = np.zeros((G, M + 1))
            if fixed:
                idx = k_idx[:, None] + np.arange(wa, wb + 1)[None, :]
                np.put_along_axis(Y, idx, Wsyn[:, wa : wb + 1], axis=1)
            else:
                for g in range(G):
                    conv = np.convolve(Wsyn[g, wa : wb + 1], Rg[g, rlo[g] : rhi[g] + 1])
                    start = wa + int(rlo[g])
                    Y[g, start : start + conv.size] = conv
            big = np.flatnonzero(np.any(Y > _TRIM, axis=0))
            a, b = int(big[0]), int(big[-1])
            Y[:, :a] = 0.0
            Y[:, b + 1 :] = 0.0
            t += 1
    return out


def _point_mass_law(q: NDArray[np.float64], M: int) -> NDArray[np.float64]:
    """Generation 0 as a law of the count: the point mass at ``M q`` (``M q`` an integer)."""
    c = M * q
    ci = np.rint(c)
    bad = np.abs(c - ci) > 1e-9 * max(M, 1)
    if bad.any():
        raise ValueError(
            "p0 must make M*p0_i an integer when n = 0 (generation 0 has no count distribution "
            f"otherwise; got p0_i={P.show(q[bad])}, M={M})"
        )
    out = np.zeros((q.size, M + 1))
    out[np.arange(q.size), ci.astype(np.int64)] = 1.0
    return out


def _mix_reduce_table(
    q: NDArray[np.float64], nn: NDArray[np.float64], M: int, wf: W.Workflow, what: str,
    reduce: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]],
    at_zero: Callable[[NDArray[np.float64]], NDArray[np.float64]],
) -> NDArray[np.float64]:
    """``(len(q), len(nn))`` table of ``reduce`` at every distinct start and generation (``n =
    0`` from ``at_zero(q)``), refused above :data:`CHAIN_BUDGET_S` with the estimate."""
    r, _ = _split(wf, M)
    out = np.zeros((q.size, nn.size))
    zero = nn == 0
    if zero.any():
        out[:, zero] = at_zero(q)[:, None]
    pos = np.flatnonzero(~zero)
    if pos.size == 0 or q.size == 0:
        return out
    # generations beyond the stationary horizon take its law (n up to 1e300 without overflow)
    steps = np.minimum(nn[pos], _stop_step(M, r)).astype(np.int64)
    cost = _mix_cost(q, float(steps.max()), M, r, wf.fixed_real)
    if cost > CHAIN_BUDGET_S:
        raise ValueError(
            f"{what}: the exact mix chain would take about {cost:.0f} s (estimated; the limit is "
            f"{CHAIN_BUDGET_S:.0f} s): {q.size} chains of M={M} (r={r} real) over "
            f"{int(min(steps.max(), _stop_step(M, r)))} generations. Use a smaller M or fewer "
            "distinct probabilities"
        )
    su, sinv = np.unique(steps, return_inverse=True)
    out[:, pos] = _mix_table(q, su, M, r, wf.fixed_real, reduce)[:, sinv, 0]
    return out


def _check_marginal(workflow: W.WorkflowLike, where: str) -> W.Workflow:
    return W.require(workflow, where, names=_MARGINAL)


def mix_count_distribution(
    n: ArrayLike, p0: ArrayLike, M: int, *, workflow: W.WorkflowLike = "mix"
) -> NDArray[np.float64]:
    """Exact pmf of each symbol's count at generation ``n`` under the mix workflow.

    Formula: with ``r = workflow.real_count(M)`` real and ``s = M - r`` synthetic samples per fit,
    symbol ``i``'s count is the Markov chain ``X_t = Bin(r, p0_i) + Bin(s, X_{t-1}/M)`` on
    ``{0..M}`` with ``X_1 ~ Bin(M, p0_i)`` (fresh real data); with ``fixed_real=True``,
    ``X_t = k + Bin(s, X_{t-1}/M)`` and ``X_1 = k + Bin(s, p0_i)`` given the symbol's count
    ``k ~ Bin(r, p0_i)`` in the one real set, averaged over ``k``. ``r = 0`` is the replace
    chain (:func:`~modelcollapse.theory.discrete.count_distribution`).

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0`` (the point mass at ``M p0_i``,
        defined only when ``M p0_i`` is an integer), ``n`` the model after ``n`` refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols; leading axes hold several
        distributions.
    M : int, integer in [1, MAX_EXACT_M]
        Samples per fit, a single integer (the output's last axis has ``M + 1`` entries).
    workflow : Workflow or str, optional
        A ``mix(...)`` value (default ``'mix'``: 10 % fresh real data) or ``'replace'``;
        sampling biases are refused (the single-symbol chain is not closed under them: use
        :func:`chain_expectation`).

    Returns
    -------
    ndarray
        Shape ``broadcast(n, p0.shape[:-1]) + (K, M + 1)``: the pmf of symbol ``i``'s count
        over ``0..M``.

    Raises
    ------
    ValueError
        For a workflow other than mix/replace, a sampling bias, ``M > MAX_EXACT_M``, ``n = 0``
        with ``M p0_i`` not an integer, or an estimated run time above
        :data:`CHAIN_BUDGET_S`.

    Notes
    -----
    Exact: the law is stepped on its occupied band (entries below 1e-30 at the band's ends
    dropped), the synthetic rows ``Bin(s, j/M)`` built once per ``(M, s)`` (band rule of
    :mod:`~modelcollapse.theory.wright_fisher`: omitted mass below ~1e-20 per row), then convolved
    with ``Bin(r, p0_i)``. For ``r >= 1`` the stepping stops at the first ``t`` with ``M (s/M)^(t-1)
    <= 1e-17``, a coupling bound on the total-variation distance of the law to the stationary
    law (see the module docstring): every later generation is within 1e-17 of it. Accuracy,
    measured (tests/test_theory_discrete_workflow_chains.py): within 1e-15 of a brute-force
    enumeration in exact rationals (``M = 5``, ``n <= 3``), within 7e-14 of the full
    multinomial chain (:func:`chain_expectation`; ``K = 4``, ``M = 12``, ``n <= 400``); the pmf
    sums to 1 within 5e-14. Cost: ``min(n, t_stop)``
    steps of ``O(width x sqrt(M))`` per distinct ``p0_i`` (times the width of ``Bin(r, p0_i)``
    for a fixed real set); refused above :data:`CHAIN_BUDGET_S` (estimated).

    References
    ----------
    Ewens (2004), ch. 1-3; Shumailov et al., Nature 631 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.spec.workflows import mix
    >>> from modelcollapse.theory.discrete_workflow_chains import mix_count_distribution
    >>> pmf = mix_count_distribution(2, [0.5, 0.5], 2, workflow=mix(n_real=1))
    >>> np.round(pmf[0], 12).tolist()      # X_1 ~ Bin(2, 1/2); X_2 = Bin(1, 1/2) + Bin(1, X_1/2)
    [0.25, 0.5, 0.25]
    >>> np.round(mix_count_distribution(3, [0.5, 0.5], 2, workflow="replace")[0], 12).tolist()
    [0.4375, 0.125, 0.4375]
    """
    wf = _check_marginal(workflow, "theory.discrete_workflow_chains.mix_count_distribution")
    MM = P.M.array(M)
    if MM.ndim != 0:
        raise ValueError(f"M must be a single integer >= 1 for mix_count_distribution (got {M!r})")
    _check_chain_M(MM.reshape(1), wf, "mix_count_distribution")
    Mi = int(MM)
    nn = P.n.array(n)
    p = P.p0.check(p0)
    from .discrete import _broadcast, _lead

    _broadcast(n=nn, p0=_lead(p))
    lead = np.broadcast_shapes(nn.shape, p.shape[:-1])
    K = p.shape[-1]
    q = np.clip(p / p.sum(axis=-1, keepdims=True), 0.0, 1.0)
    qb = np.broadcast_to(q, lead + (K,)).reshape(-1, K)
    nb = np.broadcast_to(nn, lead).ravel()
    r, _ = _split(wf, Mi)
    out = np.zeros((nb.size, K, Mi + 1))
    if r == 0:
        from .discrete import count_distribution

        for row in range(nb.size):
            out[row] = count_distribution(nb[row], qb[row], Mi)
        return out.reshape(lead + (K, Mi + 1))
    qu, qinv = np.unique(qb, return_inverse=True)
    nu, ninv = np.unique(nb, return_inverse=True)
    zero = nu == 0
    for i in np.flatnonzero(nb == 0):
        out[i] = _point_mass_law(qb[i], Mi)
    pos = np.flatnonzero(~zero)
    if pos.size:
        steps = np.minimum(nu[pos], _stop_step(Mi, r)).astype(np.int64)
        cost = _mix_cost(qu, float(steps.max()), Mi, r, wf.fixed_real)
        if cost > CHAIN_BUDGET_S:
            raise ValueError(
                f"mix_count_distribution: the exact mix chain would take about {cost:.0f} s "
                f"(estimated; the limit is {CHAIN_BUDGET_S:.0f} s); use a smaller M or n"
            )
        laws = _mix_table(qu, steps, Mi, r, wf.fixed_real, lambda law, _q: law, Mi + 1)
        qinv2 = qinv.reshape(nb.size, K)
        nstep = np.minimum(nb, _stop_step(Mi, r))
        for ci, t in enumerate(steps):
            for i in np.flatnonzero((nstep == t) & (nb > 0)):
                out[i] = laws[qinv2[i], ci]
    return out.reshape(lead + (K, Mi + 1))


# --------------------------------------------------------------------------------------------
# dispatch targets of theory.discrete and theory.discrete_drift (arguments validated there)
# --------------------------------------------------------------------------------------------


def _check_chain_M(Mf: NDArray[np.float64], wf: W.Workflow, what: str) -> None:
    """``M <= MAX_EXACT_M`` (the exact chains' limit), else ``ValueError`` naming ``M``."""
    big = Mf > MAX_EXACT_M
    if np.any(big):
        raise ValueError(
            f"M must be <= {MAX_EXACT_M} for the exact {wf.name} chain in {what} (got "
            f"{P.show(Mf[big])}); no approximate method is offered under {wf.name}"
        )


def _extinction(
    nn: NDArray[np.float64], pp: NDArray[np.float64], MM: NDArray[np.float64], wf: W.Workflow,
    what: str,
) -> NDArray[np.float64]:
    """``P(X_n = 0)`` under ``wf`` (mix or accumulate) for broadcastable validated arrays."""
    nn, pp, MM = np.broadcast_arrays(nn, pp, MM)
    out = np.empty(nn.shape)
    res = out.reshape(-1)
    nf, pf, Mf = nn.ravel(), pp.ravel(), MM.ravel()
    if wf.name == "accumulate":
        # absent from the pool at t >= 1 iff absent from the first (real) batch
        with np.errstate(divide="ignore"):
            first = np.exp(Mf * np.log1p(-pf))
        res[:] = np.where(nf == 0, (pf == 0).astype(np.float64), first)
        return out
    _check_chain_M(Mf, wf, what)
    for Mv in np.unique(Mf):
        Mi = int(Mv)
        sel = np.flatnonzero(Mf == Mv)
        r, _ = _split(wf, Mi)
        if r == 0:
            from .wright_fisher import loss_probability

            res[sel] = loss_probability(nf[sel], pf[sel], Mf[sel])
            continue
        qu, qinv = np.unique(pf[sel], return_inverse=True)
        nu, ninv = np.unique(nf[sel], return_inverse=True)
        table = _mix_reduce_table(
            qu, nu, Mi, wf, what, lambda law, _q: law[:, 0], lambda q: (q == 0).astype(float)
        )
        res[sel] = table[qinv.ravel(), ninv.ravel()]
    return np.clip(out, 0.0, 1.0)


def _accumulate_cost(q: NDArray[np.float64], steps: float, M: int) -> float:
    """Estimated seconds of :func:`_accumulate_table` up to generation ``steps``: the pooled
    count's band (24 standard deviations, ``Var C_t <= (t M)^2 q (1 - q) pi^2/(6 M)``) times the
    row width, 2e-7 s per entry (the binomial pmfs are rebuilt every generation)."""
    if steps < 2:
        return 0.0
    qq = q * (1.0 - q)
    # sum_{t=2}^{n} (slope t + 60), slope = min(M, 24 sqrt(1.65 M q (1 - q))): closed form, no
    # array over t (n up to 1e300 gives a finite estimate, then a refusal)
    slope = np.minimum(float(M), 24.0 * np.sqrt(M * qq * 1.65))
    width = slope * (steps * (steps + 1.0) / 2.0 - 1.0) + 60.0 * (steps - 1.0)
    row = np.minimum(M + 1.0, 20.0 * np.sqrt(M * qq) + 31.0)
    return float(np.sum(width * row) * 2.0e-7)


def _accumulate_table(
    q: NDArray[np.float64], steps: NDArray[np.int64], M: int,
) -> NDArray[np.float64]:
    """``E|C_t/(t M) - q|`` for the pooled count ``C_1 ~ Bin(M, q)``, ``C_t = C_{t-1} +
    Bin(M, C_{t-1}/((t - 1) M))``, every start ``q`` (rows) and ``t`` in ``steps`` (sorted
    distinct, ``>= 1``), stepped exactly on the occupied band."""
    out = np.zeros((q.size, steps.size))
    for i, qi in enumerate(q):
        v = binomial_pmf_rows(np.array([qi]), M)[0]
        a = 0
        t = 1
        for col, target in enumerate(steps):
            while t < int(target):
                c = a + np.arange(v.size)
                R = _row_normalised(_band_rows(c / (t * M), M))
                rows = np.repeat(np.arange(v.size), np.diff(R.indptr))
                new = np.bincount(rows + R.indices, weights=v[rows] * R.data,
                                  minlength=v.size + M)
                big = np.flatnonzero(new > _TRIM)
                lo, hi = int(big[0]), int(big[-1])
                v = new[lo : hi + 1]
                a += lo
                t += 1
            c = a + np.arange(v.size)
            out[i, col] = float(np.sum(v * np.abs(c / (t * M) - qi)))
    return out


def _abs_dev(
    q: NDArray[np.float64], nn: NDArray[np.float64], MM: NDArray[np.float64], wf: W.Workflow,
    what: str,
) -> NDArray[np.float64]:
    """``E|X_n/M - q_j|`` for the mix chain started at ``q_j``: shape ``broadcast(nn, MM,
    q[..., 0]) + (J,)`` (the layout of :mod:`~modelcollapse.theory.discrete_drift`'s engine)."""
    lead = np.broadcast_shapes(nn.shape, MM.shape, q.shape[:-1])
    J = q.shape[-1]
    qb = np.broadcast_to(q, lead + (J,))
    nb = np.broadcast_to(nn, lead)
    Mb = np.broadcast_to(MM, lead)
    _check_chain_M(np.asarray(MM, dtype=np.float64).ravel(), wf, what)
    out = np.zeros(lead + (J,))
    flat_out = out.reshape(-1, J)
    qf, nf, Mf = qb.reshape(-1, J), nb.ravel(), Mb.ravel()
    for Mv in np.unique(Mf):
        Mi = int(Mv)
        sel = np.flatnonzero(Mf == Mv)
        qu, qinv = np.unique(qf[sel], return_inverse=True)
        nu, ninv = np.unique(nf[sel], return_inverse=True)
        r, _ = _split(wf, Mi)
        if wf.name == "accumulate":
            table = np.zeros((qu.size, nu.size))
            pos = np.flatnonzero(nu > 0)
            if pos.size:
                cost = _accumulate_cost(qu, float(nu[pos].max()), Mi)
                if cost > CHAIN_BUDGET_S:
                    raise ValueError(
                        f"{what}: the exact accumulate chain would take about {cost:.0f} s "
                        f"(estimated; the limit is {CHAIN_BUDGET_S:.0f} s): {qu.size} pooled "
                        f"counts on 0..n M (M={Mi}) over {P.show(nu[pos].max())} generations, "
                        "O(n^2 M) work each. Use a smaller M or n"
                    )
                table[:, pos] = _accumulate_table(qu, nu[pos].astype(np.int64), Mi)
        elif r == 0:
            from .discrete_drift import _abs_dev_table

            table = _abs_dev_table(qu, nu, Mi, what)
        else:
            def reduce(law: NDArray[np.float64], qg: NDArray[np.float64], Mi: int = Mi
                       ) -> NDArray[np.float64]:
                grid = np.arange(Mi + 1, dtype=np.float64) / Mi
                return np.sum(law * np.abs(grid[None, :] - qg[:, None]), axis=1)

            table = _mix_reduce_table(qu, nu, Mi, wf, what, reduce, lambda q: np.zeros(q.size))
        flat_out[sel] = table[qinv.reshape(sel.size, J), ninv.ravel()[:, None]]
    return out


def _covariance_factor(
    nn: NDArray[np.float64], MM: NDArray[np.float64], wf: W.Workflow, persist: bool = False
) -> NDArray[np.float64]:
    """``c_n`` with ``Cov(p_n) = c_n (diag p0 - p0 p0^T)`` under mix or accumulate (``persist``:
    ``1 - c_n``, formed without cancellation).

    The one-step laws keep the covariance proportional to ``Sigma0 = diag p0 - p0 p0^T``: a
    multinomial draw from ``q`` adds ``E[diag q - q q^T]/m = (Sigma0 - Cov q)/m`` (``E q = p0``),
    the real part ``Sigma0 / m``, and the pooled or mixed frequencies are linear in the parts.
    Taking the trace, ``c_n = D_n / H*`` with ``D_n = E||p_n - p0||^2`` and ``H* = tr Sigma0 =
    1 - sum p0^2``: the closed forms of :mod:`~modelcollapse.theory.discrete_workflows`, read off
    at ``p0 = (1/2, 1/2)`` (``H* = 1/2``, so ``c_n = 2 D_n`` exactly)."""
    from .discrete_workflows import _heterozygosity, _sq_distance

    half = np.array([0.5, 0.5])
    if persist:
        return 2.0 * _heterozygosity(nn, half, MM, wf)
    return 2.0 * _sq_distance(nn, half, MM, wf)


# --------------------------------------------------------------------------------------------
# sampling biases
# --------------------------------------------------------------------------------------------


def _apply_bias(q: NDArray[np.float64], bias: W.SamplingBias) -> NDArray[np.float64]:
    """The sampling distributions ``b(q)`` of the rows of ``q`` (``(S, K)``): temperature, then
    top-k, then top-p, each renormalised; ties by the symbol index."""
    q = np.array(q, dtype=np.float64)
    S, K = q.shape
    if bias.temperature != 1.0:
        with np.errstate(divide="ignore"):
            logq = np.where(q > 0, np.log(np.where(q > 0, q, 1.0)), -np.inf) / bias.temperature
        top = np.max(logq, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", under="ignore"):
            q = np.where(np.isfinite(logq), np.exp(logq - top), 0.0)
        q /= q.sum(axis=1, keepdims=True)
    need_rank = (0 < bias.top_k < K) or bias.top_p < 1.0
    if not need_rank:
        return q
    # rank: most probable first, ties by the lower symbol index (a stable sort of -q)
    order = np.argsort(-q, axis=1, kind="stable")
    ranked = np.take_along_axis(q, order, axis=1)
    keep = ranked > 0
    if 0 < bias.top_k < K:
        keep[:, bias.top_k :] = False
        ranked = np.where(keep, ranked, 0.0)
        ranked /= ranked.sum(axis=1, keepdims=True)
    if bias.top_p < 1.0:
        cum = np.cumsum(ranked, axis=1)
        # the smallest prefix of mass >= p (exact ties such as 0.3 + 0.2 = 0.5 reach p: a
        # relative tolerance of 1e-12 on the cumulative sum)
        reached = cum >= bias.top_p * (1.0 - 1e-12)
        first = np.argmax(reached, axis=1)
        first = np.where(reached.any(axis=1), first, K - 1)
        keep &= np.arange(K)[None, :] <= first[:, None]
        ranked = np.where(keep, ranked, 0.0)
        ranked /= ranked.sum(axis=1, keepdims=True)
    out = np.zeros_like(q)
    np.put_along_axis(out, order, ranked, axis=1)
    return out


def bias_distribution(q: ArrayLike, bias: W.SamplingBias | None = None) -> NDArray[np.float64]:
    """The distribution synthetic symbols are drawn from, given the fitted model ``q``.

    Formula, in this order (each step renormalised; ``b`` the result):

    1. temperature ``T``: ``q_i^(1/T) / sum_j q_j^(1/T)`` (zero stays zero);
    2. ``top_k = k`` (``0 < k < K``): keep the ``k`` most probable symbols;
    3. ``top_p = p`` (``p < 1``): keep the smallest set of most probable symbols whose mass
       is ``>= p`` (nucleus sampling).

    Symbols of equal probability are ranked by their index (the lower index first).

    Parameters
    ----------
    q : array_like, probability vector along the last axis
        The fitted model(s), shape ``(..., K)``.
    bias : SamplingBias, optional
        The sampling bias (default: none, ``b(q) = q``); only the categorical biases
        ``temperature``, ``top_k``, ``top_p`` may be active.

    Returns
    -------
    ndarray
        ``b(q)``, the shape of ``q``.

    Notes
    -----
    Exact up to rounding: the temperature is applied in log space (``exp((log q_i - max log
    q)/T)``, no overflow for small ``T``); the nucleus test ``cumulative mass >= p`` allows a
    relative rounding tolerance of 1e-12 so that exact ties (``0.3 + 0.2 = 0.5`` with
    ``p = 0.5``) reach ``p`` whatever the floating-point summation gives.

    References
    ----------
    Holtzman et al., "The curious case of neural text degeneration" (ICLR 2020) (nucleus);
    Fan, Lewis & Dauphin (ACL 2018) (top-k); Alemohammad et al. (2023) (sampling bias).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias
    >>> from modelcollapse.theory.discrete_workflow_chains import bias_distribution
    >>> bias_distribution([0.5, 0.3, 0.2], SamplingBias(top_p=0.5)).tolist()
    [1.0, 0.0, 0.0]
    >>> bias_distribution([0.5, 0.3, 0.2], SamplingBias(top_p=0.8)).round(12).tolist()
    [0.625, 0.375, 0.0]
    >>> bias_distribution([0.8, 0.2], SamplingBias(temperature=0.5)).round(12).tolist()
    [0.941176470588, 0.058823529412]
    """
    b = W.SamplingBias() if bias is None else bias
    if not isinstance(b, W.SamplingBias):
        raise ValueError(f"bias must be a SamplingBias (got {P.show(bias)})")
    extra = [x for x in b.active if x not in ("temperature", "top_k", "top_p")]
    if extra:
        raise ValueError(f"sampling bias {extra} is not categorical (available: temperature, "
                         "top_k, top_p)")
    p = P.probability_vector(q, "q")
    shape = p.shape
    flat = p.reshape(-1, shape[-1])
    flat = flat / flat.sum(axis=1, keepdims=True)
    return _apply_bias(flat, b).reshape(shape)


# --------------------------------------------------------------------------------------------
# the full multinomial chain
# --------------------------------------------------------------------------------------------


def _compositions(M: int, K: int) -> NDArray[np.int64]:
    """All count vectors of ``K`` non-negative integers summing to ``M`` (rows), built
    recursively on the first symbol's count (vectorised, no per-state Python loop)."""
    if K == 1:
        return np.array([[M]], dtype=np.int64)
    parts = []
    for c in range(M, -1, -1):
        rest = _compositions(M - c, K - 1)
        parts.append(np.concatenate([np.full((rest.shape[0], 1), c), rest], axis=1))
    return np.concatenate(parts, axis=0)


def _n_states(M: int, K: int) -> int:
    return math.comb(M + K - 1, K - 1)


def _log_mult(C: NDArray[np.int64], q: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    """``log Mult(m, q_a)(C_b)``, ``(len(q), len(C))``; ``-inf`` where a count needs a zero
    probability (``0 log 0 = 0``)."""
    with np.errstate(divide="ignore"):
        lq = np.log(q)
    Cf = C.astype(np.float64)
    # sum_i C_bi log q_ai with 0 * (-inf) = 0
    with np.errstate(invalid="ignore"):
        terms = np.where(Cf[None, :, :] > 0, Cf[None, :, :] * lq[:, None, :], 0.0)
    base = gammaln(m + 1.0) - np.sum(gammaln(Cf + 1.0), axis=1)
    return np.asarray(np.sum(terms, axis=2) + base[None, :])


def _index(C: NDArray[np.int64], M: int) -> dict[bytes, int]:
    return {row.tobytes(): i for i, row in enumerate(C)}


def _observable_values(
    C: NDArray[np.int64], M: int, p: NDArray[np.float64], x: NDArray[np.float64], name: str
) -> NDArray[np.float64]:
    """The observable at every state (fitted model ``C/M``)."""
    f = C / M
    if name == "heterozygosity":
        return np.asarray(1.0 - np.sum(f * f, axis=1))
    if name == "survivors":
        return np.asarray(np.sum(C > 0, axis=1), dtype=np.float64)
    if name == "sq_distance":
        return np.asarray(np.sum((f - p[None, :]) ** 2, axis=1))
    if name == "tv":
        return np.asarray(0.5 * np.sum(np.abs(f - p[None, :]), axis=1))
    if name == "mean_drift":
        return np.asarray((f @ x - p @ x) ** 2)
    if name == "support_variance":
        m = f @ x
        return np.asarray(np.sum(f * (x[None, :] - m[:, None]) ** 2, axis=1))
    Fc = np.cumsum(f, axis=1)[:, :-1]
    F0 = np.cumsum(p)[:-1]
    return np.asarray(np.abs(Fc - F0[None, :]) @ np.diff(x))


def _observable_at_p0(p: NDArray[np.float64], x: NDArray[np.float64], name: str) -> float:
    if name == "heterozygosity":
        return float(np.sum(p * (1.0 - p)))
    if name == "survivors":
        return float(np.sum(p > 0))
    if name == "support_variance":
        return float(np.sum(p * (x - p @ x) ** 2))
    return 0.0


def _full_chain(
    steps: NDArray[np.int64], p: NDArray[np.float64], M: int, wf: W.Workflow,
    values: Callable[[NDArray[np.int64]], NDArray[np.float64]],
) -> NDArray[np.float64]:
    """``E values(counts_t)`` for every ``t`` in ``steps`` (sorted distinct, ``>= 1``)."""
    K = p.size
    r, s = _split(wf, M)
    C = _compositions(M, K)
    idx = _index(C, M)
    v = values(C)
    bias = wf.bias
    Cs = _compositions(s, K)
    # synthetic part: rows b(c/M) -> Mult(s, .) over the compositions of s
    Bq = _apply_bias(C / M, bias)
    A = np.exp(_log_mult(Cs, Bq, s)) if s > 0 else np.ones((C.shape[0], 1))
    A /= A.sum(axis=1, keepdims=True)
    first = np.exp(_log_mult(C, p[None, :], M))[0]
    # s = 0: every fit is the real set, whose law is Mult(M, p0) at every t with fresh or fixed
    # real data alike (one fit's expectation does not see the correlation between generations)
    if r == 0 or s == 0 or not wf.fixed_real:
        # transition T[c, c'] = sum_y A[c, y] Real[c' - y]
        if r > 0:
            Cr = _compositions(r, K)
            real = np.exp(_log_mult(Cr, p[None, :], r))[0]
            rows, cols, vals = [], [], []
            for yi, y in enumerate(Cs):
                tgt = [idx[(y + xr).tobytes()] for xr in Cr]
                rows.append(np.full(len(tgt), yi))
                cols.append(np.asarray(tgt))
                vals.append(real)
            conv = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                         np.concatenate(cols))),
                                 shape=(Cs.shape[0], C.shape[0]))
            T = np.asarray((conv.T @ A.T).T)
            T /= T.sum(axis=1, keepdims=True)
        else:
            T = A  # s = M: the compositions of s are those of M
        return _propagate_dense(first / first.sum(), T, v, steps)
    # a fixed real set: condition on its counts x ~ Mult(r, p0); counts_t = x + Mult(s, b(.))
    Cr = _compositions(r, K)
    real = np.exp(_log_mult(Cr, p[None, :], r))[0]
    out = np.zeros(steps.size)
    gen1 = np.exp(_log_mult(Cs, p[None, :], s))[0] if s > 0 else np.ones(1)
    for xi, xr in enumerate(Cr):
        if real[xi] == 0.0:
            continue
        shift = np.asarray([idx[(y + xr).tobytes()] for y in Cs])
        T = np.zeros((C.shape[0], C.shape[0]))
        T[:, shift] = A
        start = np.zeros(C.shape[0])
        start[shift] = gen1
        out += real[xi] * _propagate_dense(start, T, v, steps)
    return out


def _propagate_dense(
    start: NDArray[np.float64], T: NDArray[np.float64], v: NDArray[np.float64],
    steps: NDArray[np.int64],
) -> NDArray[np.float64]:
    """``start T^(t-1) v`` for every ``t`` in ``steps`` (``start`` is the law at ``t = 1``):
    stepping, or repeated squaring when cheaper."""
    out = np.zeros(steps.size)
    S = T.shape[0]
    tmax = int(steps[-1])
    if (tmax - 1) * S * S > 8 * math.log2(max(tmax, 2)) * S**3:
        # backward by repeated squaring: T^(t-1) v for each t
        for i, t in enumerate(steps):
            e, P_, w = int(t) - 1, T.copy(), v.copy()
            while e:
                if e & 1:
                    w = P_ @ w
                e >>= 1
                if e:
                    P_ = P_ @ P_
            out[i] = float(start @ w)
        return out
    law = start.copy()
    t = 1
    for i, target in enumerate(steps):
        while t < int(target):
            law = law @ T
            t += 1
        out[i] = float(law @ v)
    return out


def _full_cost(steps: NDArray[np.int64], S: int, Ss: int, nr: int, fixed: bool) -> float:
    tmax = float(steps[-1]) if steps.size else 0.0
    prop = min((tmax - 1.0) * S * S, 8.0 * math.log2(max(tmax, 2.0)) * S**3 * steps.size)
    build = S * Ss * 10.0
    reps = nr if fixed else 1
    return (prop + build) * _COST_DENSE * 10.0 * reps


def chain_expectation(
    n: ArrayLike,
    p0: ArrayLike,
    M: int,
    *,
    workflow: W.WorkflowLike = None,
    observable: str = "heterozygosity",
    support: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Exact expectation of an observable of the fitted model at generation ``n``, by the full
    multinomial chain (any categorical sampling bias; replace or mix).

    Formula: with ``r = workflow.real_count(M)`` real and ``s = M - r`` synthetic samples per fit
    and ``b`` the sampling bias (:func:`bias_distribution`), the counts ``c_t`` (summing to
    ``M``) form the Markov chain ``c_1 ~ Mult(M, p0)``, ``c_t = Mult(r, p0) + Mult(s,
    b(c_{t-1}/M))`` (a fixed real set: ``c_t = R + Mult(s, b(c_{t-1}/M))`` with ``R ~ Mult(r,
    p0)`` the real part of ``c_1``, exact by conditioning on ``R``). The result is
    ``E f(c_n / M) = pi_1 T^(n-1) f`` over the ``C(M + K - 1, K - 1)`` states, for the
    observable ``f``:

    - ``"heterozygosity"``: ``1 - sum_i p_{n,i}^2``;
    - ``"survivors"``: ``#{i: p_{n,i} > 0}`` (symbols present in generation ``n``'s fit);
    - ``"sq_distance"``: ``||p_n - p0||^2``;
    - ``"w1"``: ``sum_j (x_{j+1} - x_j) |F_n(j) - F0(j)|`` (Wasserstein-1 on the support);
    - ``"tv"``: ``1/2 sum_i |p_{n,i} - p0_i|``;
    - ``"mean_drift"``: ``(m_n - m_0)^2`` with ``m_t = sum_i x_i p_{t,i}``;
    - ``"support_variance"``: ``Var_{p_n}(X) = sum_i p_{n,i} (x_i - m_n)^2``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is ``p0`` itself, ``n`` the model after ``n`` refits.
    p0 : array_like, shape (K,)
        Original distribution, a single probability vector.
    M : int, integer >= 1
        Samples per fit, a single integer, with ``C(M + K - 1, K - 1) <= MAX_FULL_STATES``.
    workflow : Workflow or str, optional
        ``'replace'`` (default, ``None``) or ``mix(...)`` (fresh or fixed real data), with any
        of the categorical sampling biases ``temperature``, ``top_k``, ``top_p`` (applied to
        the synthetic draws only).
    observable : str
        One of :data:`OBSERVABLES` (default ``"heterozygosity"``).
    support : array_like, shape (K,), optional
        Numeric values ``x_1 < ... < x_K`` for ``"w1"``, ``"mean_drift"`` and
        ``"support_variance"`` (default ``0..K-1``).

    Returns
    -------
    float or ndarray
        ``E f(p_n)``, of the shape of ``n``.

    Raises
    ------
    ValueError
        For more than :data:`MAX_FULL_STATES` states (the message gives the count), an
        estimated run time above :data:`CHAIN_BUDGET_S`, other workflows or a non-categorical
        sampling bias.

    Notes
    -----
    Exact: the transition matrix is built once (multinomial pmfs from log-gamma, vectorised,
    rows renormalised; with fresh real data the convolution with ``Mult(r, p0)`` as one sparse
    product) and the law stepped ``n - 1`` times (``O(n S^2)``), or ``T^(n-1) f`` formed by
    repeated squaring when cheaper (``O(S^3 log n)``). A fixed real set repeats it for each real
    composition of ``r`` (``x C(r + K - 1, K - 1)``). Accuracy, measured
    (tests/test_theory_discrete_workflow_chains.py): within 5e-16 of the closed forms of
    :mod:`~modelcollapse.theory.discrete` and :mod:`~modelcollapse.theory.discrete_workflows`
    (heterozygosity, squared distance; replace and mix, ``K = 4``, ``M = 12``, ``n <= 40``),
    within 7e-14 of the single-symbol chains (survivors, W1, TV under mix, ``n <= 400``), and
    within 1e-14 of a brute-force enumeration (exact rationals, every bias; ``M <= 4``,
    ``n <= 3``). Cost, estimated before the run and refused above :data:`CHAIN_BUDGET_S`:
    ``O(S s_syn)`` to build (``s_syn = C(s + K - 1, K - 1)``) and ``O(n S^2)`` to step.

    References
    ----------
    Ewens (2004), ch. 1-3; Holtzman et al. (ICLR 2020); Alemohammad et al. (2023).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.spec.workflows import SamplingBias, mix, replace
    >>> from modelcollapse.theory.discrete_workflow_chains import chain_expectation
    >>> float(chain_expectation(1, [0.5, 0.5], 2))          # (1 - 1/2) * 1/2
    0.25
    >>> cold = replace(bias=SamplingBias(temperature=0.5))   # generation 1 is unbiased
    >>> np.round(chain_expectation([1, 5], [0.6, 0.3, 0.1], 6, workflow=cold), 6).tolist()
    [0.45, 0.036097]
    >>> nucleus = mix(n_real=1, bias=SamplingBias(top_p=0.9))
    >>> round(float(chain_expectation(20, [0.6, 0.3, 0.1], 6, workflow=nucleus,
    ...                               observable="survivors")), 6)
    1.981057
    """
    wf = W.require(workflow, "theory.discrete_workflow_chains.chain_expectation",
                   names=_MARGINAL, biases=("temperature", "top_k", "top_p"))
    name = _OBSERVABLE.check(observable)
    nn = _N_FULL.array(n)
    p = P.p0.check(p0, ndim=1)
    Mi = int(P.M.scalar(M))
    K = p.size
    from .discrete_drift import _check_support

    x = _check_support(support, K)
    p = p / p.sum()
    S = _n_states(Mi, K)
    if S > MAX_FULL_STATES:
        raise ValueError(
            f"M={Mi} with K={K} symbols gives {S} states C(M + K - 1, K - 1), more than "
            f"MAX_FULL_STATES = {MAX_FULL_STATES} for the full multinomial chain of "
            "chain_expectation; use a smaller M or K (without a sampling bias the "
            "single-symbol chains of theory.discrete / theory.discrete_drift take any M)"
        )
    r, s = _split(wf, Mi)
    steps = np.unique(nn[nn > 0].astype(np.int64))
    cost = _full_cost(steps, S, _n_states(s, K), _n_states(r, K),
                      wf.fixed_real and r > 0 and s > 0)
    if cost > CHAIN_BUDGET_S:
        raise ValueError(
            f"chain_expectation: the full chain would take about {cost:.0f} s (estimated; the "
            f"limit is {CHAIN_BUDGET_S:.0f} s) for {S} states up to n={int(steps[-1])}; use a "
            "smaller M, K or n"
        )
    vals = np.full(nn.shape, _observable_at_p0(p, x, name))
    if steps.size:
        table = _full_chain(steps, p, Mi, wf, lambda C: _observable_values(C, Mi, p, x, name))
        pos = nn > 0
        vals[pos] = table[np.searchsorted(steps, nn[pos].astype(np.int64))]
    return vals[()] if vals.ndim == 0 else vals
