"""Exact theory of the Poisson refit under the data workflows: mean, variance, P(Lam_t = 0).

Setting and conventions
-----------------------
Generation 0 is ``Poisson(lam0)``; generation ``t >= 1`` is the Poisson model whose rate
``Lam_t`` is the sample mean of its fit's data (:mod:`modelcollapse.theory.poisson`). The
workflow value (:mod:`modelcollapse.spec.workflows`) says where each fit's data come from. The
first fit sees real data only for every workflow; below this is the same as reading
"synthetic data of generation 1" as draws from ``Lam_0 = lam0``, so every recursion starts at
``Lam_0 = lam0``. ``r`` is the real count of a fit of size ``M``
(``workflow.real_count(M)``), ``a = (M - r)/M`` the synthetic share.

- mix (fresh real data): ``M Lam_t = R_t + Y_t`` with ``R_t ~ Poisson(r lam0)`` fresh and
  ``Y_t | Lam_{t-1} ~ Poisson((M - r) Lam_{t-1})``;
- mix with one real set (``fixed_real=True``): the same with one ``R ~ Poisson(r lam0)``
  drawn at generation 1 and reused (the other ``M - r`` points of generation 1 are real too);
- accumulate: ``Lam_t = P_t / (t M)`` for the pool sum ``P_t = P_{t-1} + Y_t``,
  ``P_1 ~ Poisson(M lam0)``, ``Y_t | Lam_{t-1} ~ Poisson(M Lam_{t-1})``;
- weighted: ``Lam_t = w A_t / r + (1 - w) B_t / M`` with ``A_t ~ Poisson(r lam0)`` fresh and
  ``B_t | Lam_{t-1} ~ Poisson(M Lam_{t-1})`` (``r = n_real``, default ``M``);
- accumulate_subsample: the pool grows as in accumulate, each fit is the mean of a uniform
  subsample of ``N`` pooled points drawn without replacement.

Results (all exact; derived from the one-step law in
:mod:`modelcollapse.theory.symbolic.poisson_workflows`, proved in ``proofs/poisson_workflows.md``):

- ``E Lam_t = lam0`` for every workflow (the conditional mean of each fit is linear with
  weights summing to one, or a martingale step);
- mix: ``Var Lam_t = lam0/M + a^2 Var Lam_{t-1}``, so
  ``Var Lam_t = lam0 M (1 - a^{2t}) / (r (2M - r))`` (fresh) and, conditioning on the real set,
  ``Var Lam_t = a lam0 M (1 - a^{2t}) / (r (2M - r)) + lam0 (1 - a^t)^2 / r`` (fixed);
  stationary ``lam0 M / (r (2M - r))`` and ``lam0 (1 + 2a) / (r (1 + a))``;
- accumulate: ``Var Lam_t = (lam0/M) sum_{j=1..t} 1/j^2 -> lam0 pi^2/(6M)``;
- weighted: ``Var Lam_t = c (1 - q^t)/(1 - q)``, ``q = (1-w)^2``,
  ``c = lam0 (w^2/r + (1-w)^2/M)``; stationary ``c / (w (2 - w))``;
- ``P(Lam_t = 0)`` through the Laplace transform ``L_t(s) = E exp(-s Lam_t)``. For mix,
  ``L_t(s) = exp(-r lam0 u(s)) L_{t-1}((M - r) u(s))``, ``u(s) = 1 - e^{-s/M}``, and
  ``P(Lam_t = 0) = L_t(inf)`` unrolls to
  ``log P(Lam_t = 0) = -lam0 (r sum_{k=0}^{t-2} u_k + M u_{t-1})``, ``u_0 = 1``,
  ``u_{k+1} = 1 - exp(-a u_k)``; with one real set (condition on ``R = 0``)
  ``log P(Lam_t = 0) = -lam0 (r + (M - r) u_{t-1})``. For weighted (``0 < w < 1``) the fit is 0
  iff both parts are 0 and
  ``log P(Lam_t = 0) = -lam0 (r + r sum_{k=0}^{t-2} (1 - exp(-w M u_k / r)) + M u_{t-1})`` with
  ``u_{k+1} = 1 - exp(-(1 - w) u_k)``. For accumulate the pool sum never decreases, so
  ``Lam_t = 0`` iff the first (real) batch is all zeros: ``P(Lam_t = 0) = exp(-M lam0)``.

Sample-size schedules ``M_1, ..., M_n`` (``M_i`` points in the fit producing generation ``i``,
real counts ``r_i = workflow.real_count(M_i)``; accumulate pools ``N_i = M_1 + ... + M_i``):
``Var Lam_i`` follows exact affine recursions (mix ``V_i = lam0/M_i + a_i^2 V_{i-1}``,
``a_i = (M_i - r_i)/M_i``; with one real set a second line for ``Cov(Lam_i, R)``; accumulate
``V_i = V_{i-1} + lam0 M_i/N_i^2``; weighted ``V_i = w^2 lam0/r_i + (1-w)^2 (lam0/M_i +
V_{i-1})``; accumulate_subsample a recursion in the pool's moments and the batches'
covariances) and ``P(Lam_i = 0)`` the same Laplace maps with ``M_j`` and ``r_j`` of fit ``j``,
iterated backwards from each target (accumulate: ``exp(-M_1 lam0)``); public route
:func:`modelcollapse.theory.poisson.rate_variance_schedule`,
:func:`~modelcollapse.theory.poisson.extinction_probability_schedule`,
:func:`~modelcollapse.theory.poisson.survival_probability_schedule` with ``workflow=``
(accumulate_subsample: the variance only).

The public route is :func:`modelcollapse.theory.poisson.expected_rate`,
:func:`~modelcollapse.theory.poisson.rate_variance`,
:func:`~modelcollapse.theory.poisson.extinction_probability` (and its log and complement) with
``workflow=``; the formulas live here once. Sampling biases are refused (the Poisson family has
none). For ``accumulate_subsample`` ``E Lam_t`` and ``Var Lam_t`` are given, ``P(Lam_t = 0)``
is refused. The fit is the same linear statistic as the Gaussian sample mean under that
workflow (:mod:`modelcollapse.theory.accumulate_subsample`): its exact recursion for
``D_t = E (mu_t - mu0)^2`` uses only each batch's mean square error and the mean variance of its
points, so ``Var Lam_t`` is that ``D_t`` with every point variance ``b_j s_{j-1}`` replaced by
``E Lam_{j-1} = lam0`` (a Poisson point's variance is its rate):
:func:`~modelcollapse.theory.accumulate_subsample.accumulate_subsample_mean_mse`; to leading
order in ``1/N``, ``Var Lam_t / Var Lam_1 -> 1 + (1 + 2 N/M)(sum_{k<=t} 1/k^2 - 1)``,
``Var Lam_1 = lam0/N``.

This module uses NumPy/SciPy only (float64) and never imports JAX or :mod:`modelcollapse.sims`.

References
----------
Shumailov et al., "AI models collapse when trained on recursively generated data", Nature 631
(2024) (replace and mix with real data); He, Xu & Cheng, JRSS-B (2025) (weighted);
Gerstgrasser et al., "Is model collapse inevitable?" (2024) (accumulate); Kazdan et al.,
"Collapse or thrive?" (2024) (accumulate-subsample); Suresh, Thangaraj & Khandavally,
AISTATS 2025 (the Poisson refit).

Examples
--------
>>> from modelcollapse.spec.workflows import accumulate, mix
>>> from modelcollapse.theory.poisson import extinction_probability, rate_variance
>>> float(rate_variance(1, 2.0, 10, workflow=accumulate()))   # lam0 / M
0.2
>>> round(float(extinction_probability(2, 0.1, 10, workflow=mix(n_real=10))), 12)
0.367879441171
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from ._powers import one_minus_pow
from .poisson import _args, _log_ext, _out

__all__ = [
    "MEAN_WORKFLOWS",
    "VARIANCE_WORKFLOWS",
    "EXTINCTION_WORKFLOWS",
    "SCHEDULE_WORKFLOWS",
    "SCHEDULE_VARIANCE_WORKFLOWS",
    "MAX_LAPLACE_STEPS",
    "mix_rate_variance",
    "mix_stationary_variance",
    "mix_extinction_probability",
    "accumulate_rate_variance",
    "accumulate_variance_limit",
    "accumulate_extinction_probability",
    "weighted_rate_variance",
    "weighted_stationary_variance",
    "weighted_extinction_probability",
    "stationary_rate_variance",
    "extinction_limit",
]

Float = np.float64 | NDArray[np.float64]

#: Workflows whose ``E Lam_t`` is exact here.
MEAN_WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted",
                                   "accumulate_subsample")
#: Workflows whose ``Var Lam_t`` is exact here.
VARIANCE_WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted",
                                       "accumulate_subsample")
#: Workflows whose ``P(Lam_t = 0)`` is exact here.
EXTINCTION_WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted")
#: Most generations the Laplace recursion iterates (mix, weighted); beyond, ``n`` is accepted
#: only where the recursion has converged to its stationary value (to rounding).
MAX_LAPLACE_STEPS = 10**6

_N_REAL = W.OPTIONS["n_real"]
_WEIGHTED_N_REAL = _N_REAL.restrict(low=1.0)
_WEIGHT = W.OPTIONS["weight"]
_BLOCK = 256  # generations of the Laplace recursion per vectorised block
_TOL = 2.0**-54  # relative size of a neglected tail of the Laplace sum
#: partial sums of 1/j^2, j <= _HEAD (exact in float64 to rounding); zeta tail beyond
_HEAD = 64
_H2 = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, _HEAD + 1.0) ** 2)])


# --------------------------------------------------------------------------------------------
# argument handling
# --------------------------------------------------------------------------------------------


def _real_count(n_real: ArrayLike, M_: NDArray[np.float64], *, weighted: bool = False
                ) -> NDArray[np.float64]:
    r = (_WEIGHTED_N_REAL if weighted else _N_REAL).array(n_real)
    if not weighted:
        r_b, M_b = np.broadcast_arrays(r, M_)
        big = r_b > M_b
        if np.any(big):
            raise ValueError(f"n_real must be <= M (got n_real = {P.show(r_b[big])} with M = "
                             f"{P.show(M_b[big])})")
    return np.asarray(r, dtype=np.float64)


def _mix_args(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, n_real: ArrayLike):
    n_, l_, M_ = _args(n, lam0, M)
    r_ = _real_count(n_real, np.asarray(M_))
    return np.broadcast_arrays(n_, l_, M_, r_)


def _weighted_args(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, weight: ArrayLike,
                   n_real: ArrayLike | None):
    n_, l_, M_ = _args(n, lam0, M)
    w_ = _WEIGHT.array(weight)
    r_ = np.asarray(M_) if n_real is None else _real_count(n_real, M_, weighted=True)
    return np.broadcast_arrays(n_, l_, M_, w_, r_)


def _check_fixed(fixed_real: object) -> bool:
    if not isinstance(fixed_real, bool):
        raise ValueError(f"fixed_real must be True or False (got {P.show(fixed_real)})")
    return fixed_real


def _counts(wf: W.Workflow, M_: NDArray[np.float64]) -> NDArray[np.float64]:
    """``wf.real_count(M)`` for every entry of ``M`` (the spec's rule, one source of truth)."""
    uniq, inv = np.unique(M_.ravel(), return_inverse=True)
    counts = np.array([wf.real_count(int(m)) for m in uniq], dtype=np.float64)
    out = counts[inv].reshape(M_.shape)
    if wf.name == "weighted" and np.any(out < 1):
        raise ValueError("n_real must be >= 1 for the weighted workflow (got 0)")
    return out


# --------------------------------------------------------------------------------------------
# variances
# --------------------------------------------------------------------------------------------


def _mix_var(n_, l_, M_, r_, fixed: bool) -> NDArray[np.float64]:
    """Var Lam_n under mix (validated, broadcast arrays); r = 0 is the replace chain."""
    has = r_ > 0
    rs = np.where(has, r_, 1.0)
    with np.errstate(divide="ignore"):
        log_a = np.log1p(-r_ / M_)  # -inf where r = M
    stat = l_ * M_ / (rs * (2.0 * M_ - r_))  # lam0/(M (1 - a^2))
    fresh = stat * one_minus_pow(2.0 * log_a, n_)
    if fixed:
        a = (M_ - r_) / M_
        fresh = a * fresh + l_ * one_minus_pow(log_a, n_) ** 2 / rs
    return np.where(has, fresh, n_ * (l_ / M_))


def _mix_stationary(l_, M_, r_, fixed: bool) -> NDArray[np.float64]:
    has = r_ > 0
    rs = np.where(has, r_, 1.0)
    a = (M_ - r_) / M_
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = l_ * M_ / (rs * (2.0 * M_ - r_))
        if fixed:
            stat = a * stat + l_ / rs
    return np.where(has, stat, np.inf)


def _h2(n_: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_{j=1}^n 1/j^2``: a table up to 64, ``pi^2/6 - psi_1(n + 1)`` beyond."""
    small = n_ <= _HEAD
    idx = np.where(small, n_, 0).astype(np.int64)
    far = np.where(small, _HEAD + 1.0, n_ + 1.0)
    return np.where(small, _H2[idx], math.pi**2 / 6.0 - special.polygamma(1, far))


def _acc_var(n_, l_, M_) -> NDArray[np.float64]:
    return (l_ / M_) * _h2(n_)


def _weighted_var(n_, l_, M_, w_, r_) -> NDArray[np.float64]:
    w1 = 1.0 - w_
    c = l_ * (w_ * w_ / r_ + w1 * w1 / M_)
    with np.errstate(divide="ignore"):
        log_q = 2.0 * np.log1p(-w_)
    pos = w_ > 0
    ws = np.where(pos, w_, 1.0)
    return np.where(pos, c * one_minus_pow(log_q, n_) / (ws * (2.0 - ws)), n_ * c)


def _weighted_stationary(l_, M_, w_, r_) -> NDArray[np.float64]:
    w1 = 1.0 - w_
    c = l_ * (w_ * w_ / r_ + w1 * w1 / M_)
    with np.errstate(divide="ignore"):
        return np.where(w_ > 0, c / (np.where(w_ > 0, w_, 1.0) * (2.0 - w_)), np.inf)


# --------------------------------------------------------------------------------------------
# P(Lam_n = 0): the Laplace-transform recursion
# --------------------------------------------------------------------------------------------


def _laplace_sum(nn: NDArray, a: NDArray, M: NDArray, head: NDArray, coef: NDArray,
                 beta: NDArray | None) -> NDArray[np.float64]:
    """``head + sum_{k=0}^{n-2} phi(u_k) + M u_{n-1}`` for ``n >= 1`` (flat arrays),
    ``u_0 = 1``, ``u_{k+1} = -expm1(-a u_k)``; ``phi(u) = coef u`` (``beta`` None) or
    ``coef (1 - exp(-beta u))``. Requires ``phi(u) <= M (1 - a) u`` (true for mix and weighted):
    the rest of the sum after ``u_k`` is then below ``2 M u_k``, and an element whose rest is
    below ``2^-54`` of its sum so far has converged. Blocks of :data:`_BLOCK` generations."""
    out = np.empty(nn.shape)
    idx = np.arange(nn.size)
    u = np.ones(nn.shape)
    S = head.astype(np.float64).copy()
    k0 = 0
    while idx.size:
        if k0 >= MAX_LAPLACE_STEPS:
            raise ValueError(
                f"n must be <= MAX_LAPLACE_STEPS = {MAX_LAPLACE_STEPS} here unless the "
                "Laplace recursion of P(Lam_n = 0) has converged (it has not for n = "
                f"{P.show(nn[idx])}: the synthetic share is too close to 1)")
        U = np.empty((_BLOCK,) + u.shape)
        if u.size <= 8:  # a few chains of the map: plain floats are ~10x faster than arrays
            for c in range(u.size):
                uc, ac, col = float(u[c]), float(a[c]), []
                for _ in range(_BLOCK):
                    col.append(uc)
                    uc = -math.expm1(-ac * uc)
                U[:, c] = col
                u[c] = uc
        else:
            for j in range(_BLOCK):
                U[j] = u
                u = -np.expm1(-a * u)
        phi = coef * U if beta is None else coef * -np.expm1(-beta * U)
        before = S + np.cumsum(phi, axis=0) - phi  # S + sum_{k < k0 + j}
        last = nn - 1.0 - k0  # position of n - 1 in this block
        fin = last < _BLOCK
        if np.any(fin):
            pos = last[fin].astype(np.int64)
            cols = np.nonzero(fin)[0]
            out[idx[fin]] = before[pos, cols] + M[fin] * U[pos, cols]
        S = before[-1] + phi[-1]
        conv = ~fin & (2.0 * M * u <= _TOL * S)
        out[idx[conv]] = S[conv]
        keep = ~(fin | conv)
        idx, u, S, nn, a, M, coef = idx[keep], u[keep], S[keep], nn[keep], a[keep], M[keep], \
            coef[keep]
        beta = None if beta is None else beta[keep]
        k0 += _BLOCK
    return out


def _mix_log_ext(n_, l_, M_, r_, fixed: bool) -> NDArray[np.float64]:
    """log P(Lam_n = 0) under mix (validated, broadcast arrays)."""
    shape = n_.shape
    nn, ll, MM, rr = (np.asarray(x, dtype=np.float64).ravel() for x in (n_, l_, M_, r_))
    out = np.asarray(_log_ext(nn, ll, MM), dtype=np.float64).copy()  # replace: r = 0
    sel = (rr > 0) & (nn >= 1)
    if np.any(sel):
        a = (MM[sel] - rr[sel]) / MM[sel]
        if fixed:
            # condition on the reused real set: R = 0, then the replace chain of M - r draws
            out[sel] = -ll[sel] * _laplace_sum(nn[sel], a, MM[sel] - rr[sel], rr[sel],
                                               np.zeros(a.shape), None)
        else:
            out[sel] = -ll[sel] * _laplace_sum(nn[sel], a, MM[sel], np.zeros(a.shape), rr[sel],
                                               None)
    return out.reshape(shape)


def _weighted_log_ext(n_, l_, M_, w_, r_) -> NDArray[np.float64]:
    """log P(Lam_n = 0) under weighted (validated, broadcast arrays)."""
    shape = n_.shape
    nn, ll, MM, ww, rr = (np.asarray(x, dtype=np.float64).ravel()
                          for x in (n_, l_, M_, w_, r_))
    out = np.asarray(_log_ext(nn, ll, MM), dtype=np.float64).copy()  # w = 0: replace
    one = (ww == 1.0) & (nn >= 1)
    out[one] = -ll[one] * rr[one]  # only the fresh real estimate
    sel = (ww > 0) & (ww < 1) & (nn >= 1)
    if np.any(sel):
        w, r, m = ww[sel], rr[sel], MM[sel]
        out[sel] = -ll[sel] * _laplace_sum(nn[sel], 1.0 - w, m, r, r, w * m / r)
    return out.reshape(shape)


def _acc_log_ext(n_, l_, M_) -> NDArray[np.float64]:
    with np.errstate(over="ignore"):
        return np.where(n_ == 0, -np.inf, -(l_ * M_))


# --------------------------------------------------------------------------------------------
# dispatch (called by theory.poisson with a validated workflow and validated arrays)
# --------------------------------------------------------------------------------------------


def _variance(n_, l_, M_, wf: W.Workflow) -> NDArray[np.float64]:
    if wf.name == "accumulate_subsample":
        from .accumulate_subsample import accumulate_subsample_mean_mse

        return np.asarray(accumulate_subsample_mean_mse(n_, M_, subsample=wf.subsample,
                                                        variance=l_), dtype=np.float64)
    if wf.name == "replace":
        return n_ * (l_ / M_)
    if wf.name == "accumulate":
        return _acc_var(n_, l_, M_)
    r_ = _counts(wf, M_)
    if wf.name == "mix":
        return _mix_var(n_, l_, M_, r_, wf.fixed_real)
    return _weighted_var(n_, l_, M_, np.full(n_.shape, wf.effective_weight), r_)


def _log_extinction(n_, l_, M_, wf: W.Workflow) -> NDArray[np.float64]:
    if wf.name == "replace":
        return _log_ext(n_, l_, M_)
    if wf.name == "accumulate":
        return _acc_log_ext(n_, l_, M_)
    r_ = _counts(wf, M_)
    if wf.name == "mix":
        return _mix_log_ext(n_, l_, M_, r_, wf.fixed_real)
    return _weighted_log_ext(n_, l_, M_, np.full(n_.shape, wf.effective_weight), r_)


# --------------------------------------------------------------------------------------------
# sample-size schedules M_1, ..., M_n (called by the *_schedule functions of theory.poisson)
# --------------------------------------------------------------------------------------------

#: Workflows whose ``Var Lam_i`` under a schedule is exact here.
SCHEDULE_VARIANCE_WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted",
                                                "accumulate_subsample")
#: Workflows whose ``P(Lam_i = 0)`` under a schedule is exact here (accumulate_subsample is
#: refused: the fit is 0 iff its subsample is all zeros, whose law needs the pool's whole
#: composition, not its moments).
SCHEDULE_WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted")


def _schedule_counts(wf: W.Workflow, Ms: NDArray[np.float64]) -> NDArray[np.float64]:
    """Real counts ``r_i = wf.real_count(M_i)`` of a schedule (mix, weighted), checked."""
    r = _counts(wf, Ms)
    if wf.name == "mix" and wf.fixed_real and np.unique(r).size > 1:
        raise ValueError("mix with fixed_real=True needs the same real count in every "
                         f"generation (got {sorted(set(r.astype(int).tolist()))} from the "
                         "schedule M)")
    return r


def _schedule_unit_variance(Ms: NDArray[np.float64], wf: W.Workflow) -> NDArray[np.float64]:
    """``Var Lam_i / lam0`` for ``i = 0..n`` under a schedule (mix, accumulate, weighted).

    Affine recursions in ``V_i = Var Lam_i`` (``E Lam_i = lam0``, ``V_0 = 0``):
    mix fresh ``V_i = lam0/M_i + a_i^2 V_{i-1}``, ``a_i = (M_i - r_i)/M_i``; mix with one real
    set (``C_i = Cov(Lam_i, R)``) ``V_i = lam0/M_i + 2 a_i C_{i-1}/M_i + a_i^2 V_{i-1}``,
    ``C_i = r lam0/M_i + a_i C_{i-1}``; accumulate ``V_i = V_{i-1} + lam0 M_i / N_i^2``,
    ``N_i = M_1 + ... + M_i``; weighted
    ``V_i = w^2 lam0/r_i + (1 - w)^2 (lam0/M_i + V_{i-1})``.
    """
    n = Ms.size
    out = np.zeros(n + 1)
    if wf.name == "accumulate":
        N = np.cumsum(Ms)
        out[1:] = np.cumsum(Ms / (N * N))
        return out
    if wf.name == "accumulate_subsample":
        from .accumulate_subsample import _schedule_recursion

        out[1:] = _schedule_recursion(Ms, wf.subsample, fixed_variance=True)[0]
        return out
    r = _schedule_counts(wf, Ms)
    Mf, rf = Ms.tolist(), r.tolist()
    v, c = 0.0, 0.0
    if wf.name == "weighted":
        w = wf.effective_weight
        q = (1.0 - w) ** 2
        for i in range(n):
            v = w * w / rf[i] + q * (1.0 / Mf[i] + v)
            out[i + 1] = v
        return out
    fixed = wf.fixed_real
    for i in range(n):
        m = Mf[i]
        a = (m - rf[i]) / m
        if fixed:
            v = 1.0 / m + 2.0 * a * c / m + a * a * v
            c = rf[i] / m + a * c
        else:
            v = 1.0 / m + a * a * v
        out[i + 1] = v
    return out


def _schedule_unit_log_ext(Ms: NDArray[np.float64], wf: W.Workflow) -> NDArray[np.float64]:
    """``-log P(Lam_i = 0) / lam0`` for ``i = 0..n`` under a schedule (``inf`` at ``i = 0``).

    Backward Laplace-transform recursion, one pass over the fits ``j = n, ..., 1`` for all
    targets ``i >= j`` at once (``n^2 / 2`` map evaluations). For target ``i`` start at
    ``s = infinity`` at fit ``i``; each fit ``j`` maps the Laplace argument ``s`` of
    ``Lam_j`` to a constant ``k_j(s)`` (the real part) and the argument ``s'`` of
    ``Lam_{j-1}``, and ``L_0(s) = exp(-lam0 s)``:
    ``-log P(Lam_i = 0) / lam0 = sum_{j<=i} k_j + s_0``. Mix (fresh):
    ``k = r_j u``, ``s' = (M_j - r_j) u``, ``u = 1 - exp(-s/M_j)``; mix with one real set:
    ``k`` only once, ``r`` (``P(R = 0)``), the same ``s'``; weighted:
    ``k = r_j (1 - exp(-w s/r_j))``, ``s' = M_j (1 - exp(-(1 - w) s/M_j))``; accumulate:
    ``M_1`` (the first, real batch all zeros).
    """
    n = Ms.size
    out = np.empty(n + 1)
    out[0] = np.inf
    if n == 0:
        return out
    if wf.name == "accumulate":
        out[1:] = Ms[0]
        return out
    r = _schedule_counts(wf, Ms)
    s = np.empty(n)  # s[i - 1]: the Laplace argument of target i at the current fit
    k = np.zeros(n)  # k[i - 1]: the real parts of target i summed so far
    if wf.name == "weighted":
        w = wf.effective_weight
        for j in range(n, 0, -1):
            m, rj = Ms[j - 1], r[j - 1]
            t = s[j:]
            if w > 0.0:
                k[j:] += rj * -np.expm1(-w * t / rj)
            s[j:] = m * -np.expm1(-(1.0 - w) * t / m)
            k[j - 1] = rj if w > 0.0 else 0.0  # s = infinity: the real part is 0 iff A = 0
            s[j - 1] = m if w < 1.0 else 0.0
        out[1:] = k + s
        return out
    fixed = wf.fixed_real
    for j in range(n, 0, -1):
        m, rj = Ms[j - 1], r[j - 1]
        u = -np.expm1(-s[j:] / m)
        if not fixed:
            k[j:] += rj * u
        s[j:] = (m - rj) * u
        k[j - 1] = rj
        s[j - 1] = m - rj
    if fixed:
        k[:] = r[0]
    out[1:] = k + s
    return out


# --------------------------------------------------------------------------------------------
# public per-workflow functions
# --------------------------------------------------------------------------------------------


def mix_rate_variance(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, n_real: ArrayLike, *,
                      fixed_real: bool = False) -> Float:
    """Exact ``Var Lam_n`` when each fit sees ``n_real`` real and ``M - n_real`` synthetic points.

    Formula (``r = n_real``, ``a = (M - r)/M``): fresh real data
    ``Var Lam_n = lam0 M (1 - a^{2n}) / (r (2M - r))``; one reused real set
    ``Var Lam_n = a lam0 M (1 - a^{2n}) / (r (2M - r)) + lam0 (1 - a^n)^2 / r``; ``r = 0`` is the
    replace chain, ``n lam0 / M``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Points per fit, integer ``>= 1``.
    n_real : array_like
        Real points per fit, integer in ``[0, M]``.
    fixed_real : bool
        Reuse the real set of generation 1 in every fit.

    Returns
    -------
    float or ndarray
        ``Var Lam_n`` (float64, broadcast; a NumPy scalar for scalar input).

    Notes
    -----
    Exact. From ``Var Lam_t = lam0 / M + a^2 Var Lam_{t-1}`` (law of total variance with
    ``E Lam_{t-1} = lam0``); with one real set, conditioning on it adds the variance of the
    conditional mean ``(1 - a^t) R / r`` -- the error of that set never averages out. ``1 - a^k``
    is computed as ``-expm1(k log1p(-r/M))``: relative accuracy about 1e-15 for any ``n`` and
    ``M`` up to 1e9. Cost O(1) per element.

    References
    ----------
    Shumailov et al., Nature 631 (2024) (mixing in real data); Suresh, Thangaraj &
    Khandavally, AISTATS 2025 (the Poisson refit).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import mix_rate_variance
    >>> float(mix_rate_variance(1, 2.0, 10, 5))       # generation 1 is real: lam0 / M
    0.2
    >>> round(float(mix_rate_variance(2, 2.0, 10, 5)), 12)   # 0.2 + 0.25 * 0.2
    0.25
    >>> round(float(mix_rate_variance(2, 2.0, 10, 5, fixed_real=True)), 12)   # 0.125 + 0.225
    0.35
    """
    fixed = _check_fixed(fixed_real)
    n_, l_, M_, r_ = _mix_args(n, lam0, M, n_real)
    return _out(_mix_var(n_, l_, M_, r_, fixed))


def mix_stationary_variance(lam0: ArrayLike, M: ArrayLike, n_real: ArrayLike, *,
                            fixed_real: bool = False) -> Float:
    """The limit of ``Var Lam_n`` under mix as ``n -> infinity``.

    Formula: ``lam0 M / (r (2M - r))`` (fresh real data; ``r = n_real``) and
    ``lam0 (1 + 2a) / (r (1 + a))``, ``a = (M - r)/M`` (one reused real set); ``inf`` for
    ``r = 0`` (the replace chain's variance grows without bound).

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Points per fit, integer ``>= 1``.
    n_real : array_like
        Real points per fit, integer in ``[0, M]``.
    fixed_real : bool
        Reuse the real set of generation 1 in every fit.

    Returns
    -------
    float or ndarray
        The stationary variance.

    Notes
    -----
    Exact (the fixed point of the linear recursion, ``|a| < 1``). Fresh real data at most
    double the effective sample size: ``lam0 / (r (1 + a))`` lies between ``lam0 / (2r)`` and
    ``lam0 / r``; one reused real set is worse by the factor ``1 + 2a``.

    References
    ----------
    Shumailov et al., Nature 631 (2024); Bertrand et al., ICLR 2024.

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import mix_stationary_variance
    >>> round(float(mix_stationary_variance(1.0, 10, 5)), 12)   # 10 / (5 * 15)
    0.133333333333
    >>> round(float(mix_stationary_variance(1.0, 10, 5, fixed_real=True)), 12)   # 2 / 7.5
    0.266666666667
    """
    fixed = _check_fixed(fixed_real)
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    r_ = _real_count(n_real, M_)
    l_, M_, r_ = np.broadcast_arrays(l_, M_, r_)
    return _out(_mix_stationary(l_, M_, r_, fixed))


def mix_extinction_probability(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, n_real: ArrayLike,
                               *, fixed_real: bool = False) -> Float:
    """Exact ``P(Lam_n = 0)`` under mix, from the Laplace-transform recursion.

    Formula (``r = n_real``, ``a = (M - r)/M``, ``u_0 = 1``, ``u_{k+1} = 1 - exp(-a u_k)``):
    fresh real data ``P(Lam_n = 0) = exp(-lam0 (r sum_{k=0}^{n-2} u_k + M u_{n-1}))``; one reused
    real set ``P(Lam_n = 0) = exp(-lam0 (r + (M - r) u_{n-1}))``; 0 at ``n = 0``. For ``r = 0``
    both are the replace law ``exp(-M lam0 g_n)``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Points per fit, integer ``>= 1``.
    n_real : array_like
        Real points per fit, integer in ``[0, M]``.
    fixed_real : bool
        Reuse the real set of generation 1 in every fit.

    Returns
    -------
    float or ndarray
        ``P(Lam_n = 0)``.

    Notes
    -----
    Exact. ``L_t(s) = E exp(-s Lam_t)`` obeys
    ``L_t(s) = exp(-r lam0 (1 - e^{-s/M})) L_{t-1}((M - r)(1 - e^{-s/M}))`` with
    ``L_0(s) = exp(-s lam0)`` (Poisson Laplace transforms of the fresh real and the synthetic
    parts), and ``P(Lam_t = 0) = L_t(infinity)``. Since ``u_{k+1} <= a u_k`` the sum converges:
    ``P(Lam_n = 0)`` tends to ``exp(-lam0 r sum_k u_k)`` (fresh) and to ``exp(-r lam0)`` (the real
    set is all zeros; fixed), and ``Lam = 0`` is no longer absorbing. Cost: one ``expm1`` per
    generation until the tail is below ``2^-54`` of the sum (relative accuracy about
    ``1e-16`` per generation summed; 1e-13 measured against ``math.fsum`` at ``n = 10^5``);
    ``n`` above :data:`MAX_LAPLACE_STEPS` is refused where that has not happened (``r / M``
    below about ``1e-5``). Measured on 2 shared cores: ``n = 10^6`` unconverged generations
    take about 1 s for one element and 12 s for 100 distinct ones; converged cases (``r / M``
    of a few percent) take milliseconds.

    References
    ----------
    Shumailov et al., Nature 631 (2024); Suresh, Thangaraj & Khandavally, AISTATS 2025;
    Athreya & Ney, *Branching Processes* (1972), ch. VI (immigration).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import mix_extinction_probability
    >>> round(float(mix_extinction_probability(1, 0.1, 10, 3)), 12)     # exp(-M lam0)
    0.367879441171
    >>> round(float(mix_extinction_probability(10**6, 0.1, 10, 3, fixed_real=True)), 12)
    0.740818220682
    """
    fixed = _check_fixed(fixed_real)
    n_, l_, M_, r_ = _mix_args(n, lam0, M, n_real)
    return _out(np.exp(_mix_log_ext(n_, l_, M_, r_, fixed)))


def accumulate_rate_variance(n: ArrayLike, lam0: ArrayLike, M: ArrayLike) -> Float:
    """Exact ``Var Lam_n`` when each fit sees all data so far (``M`` new points per generation).

    Formula: ``Var Lam_n = (lam0 / M) sum_{j=1}^n 1/j^2``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        New points per generation, integer ``>= 1``.

    Returns
    -------
    float or ndarray
        ``Var Lam_n``.

    Notes
    -----
    Exact. The pooled mean is a martingale, ``Lam_t = Lam_{t-1} + (Y_t - M Lam_{t-1}) / (t M)``
    with ``Var[Y_t | Lam_{t-1}] = M Lam_{t-1}``, so the variance grows by ``lam0 / (M t^2)`` at
    step ``t``. The partial sum is a table up to 64 terms and ``pi^2/6 - psi_1(n + 1)`` beyond
    (relative accuracy about 1e-16, any ``n``).

    References
    ----------
    Gerstgrasser et al., "Is model collapse inevitable?" (2024).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import accumulate_rate_variance
    >>> float(accumulate_rate_variance(2, 4.0, 10))    # 0.4 (1 + 1/4)
    0.5
    """
    n_, l_, M_ = _args(n, lam0, M)
    return _out(_acc_var(n_, l_, M_))


def accumulate_variance_limit(lam0: ArrayLike, M: ArrayLike) -> Float:
    """The bound and limit of ``Var Lam_n`` under accumulate: ``lam0 pi^2 / (6 M)``.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        New points per generation, integer ``>= 1``.

    Returns
    -------
    float or ndarray
        ``lam0 pi^2 / (6 M)``.

    Notes
    -----
    Exact (Basel sum): accumulating data bounds the drift at ``pi^2/6`` times the variance of
    one real fit, where replace grows as ``n lam0 / M``.

    References
    ----------
    Gerstgrasser et al. (2024).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import accumulate_variance_limit
    >>> round(float(accumulate_variance_limit(6.0, 1)), 12)    # pi^2
    9.869604401089
    """
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    return _out(l_ * (math.pi**2 / 6.0) / M_)


def accumulate_extinction_probability(n: ArrayLike, lam0: ArrayLike, M: ArrayLike) -> Float:
    """Exact ``P(Lam_n = 0)`` under accumulate: ``exp(-M lam0)`` for every ``n >= 1``.

    Formula: ``P(Lam_n = 0) = P(the first, real, batch is all zeros) = exp(-M lam0)`` (0 at
    ``n = 0``).

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        New points per generation, integer ``>= 1``.

    Returns
    -------
    float or ndarray
        ``P(Lam_n = 0)``.

    Notes
    -----
    Exact. The pool sum ``P_t`` never decreases; if ``P_1 > 0`` every later fit is positive,
    and if ``P_1 = 0`` every later draw is from ``Poisson(0)``: accumulation removes collapse
    to the point mass, which under replace has probability tending to 1.

    References
    ----------
    Gerstgrasser et al. (2024).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import accumulate_extinction_probability
    >>> round(float(accumulate_extinction_probability(1000, 0.1, 10)), 12)
    0.367879441171
    """
    n_, l_, M_ = _args(n, lam0, M)
    return _out(np.exp(_acc_log_ext(n_, l_, M_)))


def weighted_rate_variance(n: ArrayLike, lam0: ArrayLike, M: ArrayLike, weight: ArrayLike,
                           n_real: ArrayLike | None = None) -> Float:
    """Exact ``Var Lam_n`` for ``Lam_t = w (real mean) + (1 - w) (synthetic mean)``.

    Formula (``r = n_real``, default ``M``; ``q = (1 - w)^2``):
    ``Var Lam_n = c (1 - q^n) / (1 - q)``, ``c = lam0 (w^2 / r + (1 - w)^2 / M)``,
    ``1 - q = w (2 - w)``; ``n c = n lam0 / M`` at ``w = 0`` (replace).

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Synthetic points per fit, integer ``>= 1``.
    weight : array_like
        Real weight ``w`` in ``[0, 1]``.
    n_real : array_like, optional
        Real points behind the real mean, integer ``>= 1`` (None: ``M``).

    Returns
    -------
    float or ndarray
        ``Var Lam_n``.

    Notes
    -----
    Exact: ``Var Lam_t = w^2 lam0 / r + (1 - w)^2 (Var Lam_{t-1} + lam0 / M)``.

    References
    ----------
    He, Xu & Cheng, JRSS-B (2025).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import weighted_rate_variance
    >>> round(float(weighted_rate_variance(1, 1.0, 10, 0.5)), 12)   # (1/4 + 1/4)/10
    0.05
    """
    n_, l_, M_, w_, r_ = _weighted_args(n, lam0, M, weight, n_real)
    return _out(_weighted_var(n_, l_, M_, w_, r_))


def weighted_stationary_variance(lam0: ArrayLike, M: ArrayLike, weight: ArrayLike,
                                 n_real: ArrayLike | None = None) -> Float:
    """The limit of ``Var Lam_n`` under weighted: ``lam0 (w^2/r + (1-w)^2/M) / (w (2 - w))``.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Synthetic points per fit, integer ``>= 1``.
    weight : array_like
        Real weight ``w`` in ``[0, 1]`` (``inf`` at ``w = 0``).
    n_real : array_like, optional
        Real points behind the real mean, integer ``>= 1`` (None: ``M``).

    Returns
    -------
    float or ndarray
        The stationary variance.

    Notes
    -----
    Exact. For ``r = M`` it is ``(lam0/M) (2w^2 - 2w + 1)/(w (2 - w))``, smallest at
    ``w = 1/phi = 0.618...`` where it is ``0.618 lam0 / M``: weighting beats the real data alone.

    References
    ----------
    He, Xu & Cheng, JRSS-B (2025).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import weighted_stationary_variance
    >>> from modelcollapse.spec.workflows import GOLDEN_WEIGHT
    >>> round(float(weighted_stationary_variance(1.0, 1, GOLDEN_WEIGHT)), 10)
    0.6180339887
    """
    _, l_, M_, w_, r_ = _weighted_args(0, lam0, M, weight, n_real)
    return _out(_weighted_stationary(l_, M_, w_, r_))


def weighted_extinction_probability(n: ArrayLike, lam0: ArrayLike, M: ArrayLike,
                                    weight: ArrayLike, n_real: ArrayLike | None = None) -> Float:
    """Exact ``P(Lam_n = 0)`` under weighted: both the real and the synthetic mean are 0.

    Formula (``r = n_real``, ``0 < w < 1``, ``u_0 = 1``, ``u_{k+1} = 1 - exp(-(1 - w) u_k)``):
    ``P(Lam_n = 0) = exp(-lam0 (r + r sum_{k=0}^{n-2} (1 - exp(-w M u_k / r)) + M u_{n-1}))``;
    ``exp(-lam0 r)`` at ``w = 1``; the replace law at ``w = 0``; 0 at ``n = 0``.

    Parameters
    ----------
    n : array_like
        Generation, integer ``>= 0``.
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Synthetic points per fit, integer ``>= 1``.
    weight : array_like
        Real weight ``w`` in ``[0, 1]``.
    n_real : array_like, optional
        Real points behind the real mean, integer ``>= 1`` (None: ``M``).

    Returns
    -------
    float or ndarray
        ``P(Lam_n = 0)``.

    Notes
    -----
    Exact. ``Lam_t = 0`` iff both parts are 0; the Laplace transform obeys
    ``L_t(s) = exp(-r lam0 (1 - e^{-w s / r})) L_{t-1}(M (1 - e^{-(1 - w) s / M}))``,
    ``L_0(s) = exp(-s lam0)``, and ``P(Lam_t = 0) = L_t(infinity)``. Cost and accuracy as
    :func:`mix_extinction_probability`.

    References
    ----------
    He, Xu & Cheng, JRSS-B (2025); Suresh, Thangaraj & Khandavally, AISTATS 2025.

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import weighted_extinction_probability
    >>> round(float(weighted_extinction_probability(1, 0.05, 10, 0.5)), 12)   # exp(-20 lam0)
    0.367879441171
    """
    n_, l_, M_, w_, r_ = _weighted_args(n, lam0, M, weight, n_real)
    return _out(np.exp(_weighted_log_ext(n_, l_, M_, w_, r_)))


def stationary_rate_variance(lam0: ArrayLike, M: ArrayLike, *,
                             workflow: W.WorkflowLike = None) -> Float:
    """``lim_n Var Lam_n`` under ``workflow`` (``inf`` where the variance grows without bound).

    Formula: replace ``inf``; mix and weighted the fixed points
    (:func:`mix_stationary_variance`, :func:`weighted_stationary_variance`); accumulate
    ``lam0 pi^2 / (6 M)``.

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Points per fit, integer ``>= 1``.
    workflow : Workflow or str, optional
        One of :data:`VARIANCE_WORKFLOWS` (default replace), without sampling bias.

    Returns
    -------
    float or ndarray
        The limit.

    Notes
    -----
    Exact.

    References
    ----------
    Shumailov et al. (2024); He, Xu & Cheng (2025); Gerstgrasser et al. (2024).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import stationary_rate_variance
    >>> float(stationary_rate_variance(1.0, 10, workflow="replace"))
    inf
    >>> round(float(stationary_rate_variance(1.0, 10, workflow="mix")), 12)  # r = 1: 10/19
    0.526315789474
    """
    wf = W.require(workflow, "theory.poisson_workflows.stationary_rate_variance",
                   names=VARIANCE_WORKFLOWS)
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    l_, M_ = np.broadcast_arrays(l_, M_)
    if wf.name == "replace":
        return _out(np.full(l_.shape, np.inf))
    if wf.name == "accumulate":
        return _out(l_ * (math.pi**2 / 6.0) / M_)
    r_ = _counts(wf, np.asarray(M_, dtype=np.float64))
    if wf.name == "mix":
        return _out(_mix_stationary(l_, M_, r_, wf.fixed_real))
    return _out(_weighted_stationary(l_, M_, np.full(l_.shape, wf.effective_weight), r_))


def extinction_limit(lam0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
                     ) -> Float:
    """``lim_n P(Lam_n = 0)`` under ``workflow``.

    Formula: replace 1 (collapse is certain); accumulate ``exp(-M lam0)``; mix with one real
    set ``exp(-r lam0)``; mix with fresh real data ``exp(-lam0 r sum_{k>=0} u_k)`` and weighted
    ``exp(-lam0 r (1 + sum_{k>=0} (1 - exp(-w M u_k / r))))`` (the converged Laplace sums).

    Parameters
    ----------
    lam0 : array_like
        Original rate ``> 0``.
    M : array_like
        Points per fit, integer ``>= 1``.
    workflow : Workflow or str, optional
        One of :data:`EXTINCTION_WORKFLOWS` (default replace), without sampling bias.

    Returns
    -------
    float or ndarray
        The limit.

    Notes
    -----
    Exact up to the ``2^-54`` truncation of the converged sums; refused (``ValueError``) where
    they need more than :data:`MAX_LAPLACE_STEPS` generations.

    References
    ----------
    Shumailov et al. (2024); He, Xu & Cheng (2025); Gerstgrasser et al. (2024).

    Examples
    --------
    >>> from modelcollapse.theory.poisson_workflows import extinction_limit
    >>> float(extinction_limit(1.0, 10, workflow="replace"))
    1.0
    >>> round(float(extinction_limit(0.1, 10, workflow="accumulate")), 12)
    0.367879441171
    """
    wf = W.require(workflow, "theory.poisson_workflows.extinction_limit",
                   names=EXTINCTION_WORKFLOWS)
    l_ = P.lam0.array(lam0)
    M_ = P.M.array(M)
    l_, M_ = np.broadcast_arrays(l_, M_)
    if wf.name == "replace":
        return _out(np.ones(l_.shape))
    if wf.name == "accumulate":
        return _out(np.exp(_acc_log_ext(np.ones(l_.shape), l_, M_)))
    big = np.full(l_.shape, float(2**53))  # a generation beyond any convergence
    r_ = _counts(wf, np.asarray(M_, dtype=np.float64))
    if wf.name == "mix":
        out = np.exp(_mix_log_ext(big, l_, M_, r_, wf.fixed_real))
        return _out(np.where(r_ > 0, out, 1.0))
    w_ = np.full(l_.shape, wf.effective_weight)
    if wf.effective_weight == 0.0:
        return _out(np.ones(l_.shape))
    return _out(np.exp(_weighted_log_ext(big, l_, M_, w_, r_)))
