"""Tails of the recursive categorical refit: missing mass, tail cut-off and a memoriser's error.

Setting and conventions
-----------------------
The categorical refit of :mod:`~modelcollapse.theory.discrete` (replace workflow): generation 0 is
the original distribution ``p0`` over ``K`` symbols, generation ``n`` the empirical frequencies of
``M`` samples drawn from generation ``n - 1``. Each symbol's count is a two-allele Wright-Fisher
chain (:mod:`~modelcollapse.theory.wright_fisher`), so every quantity below that is linear in the
per-symbol laws is an exact finite sum over the symbols.

The question is the one of Dohmatob, Feng, Yang, Charton & Kempe, "A Tale of Tails" (ICML 2024):
resampling a heavy-tailed (Zipf) law cuts its tail, and a learner trained on the synthetic data
sees a learning curve that stops improving. Their learner is Hutter's memoriser: it is trained on
``T`` samples and answers a test symbol correctly iff it saw it. Here the test distribution is the
*original* ``p0`` and the training samples come from generation ``n``:

- :func:`zipf_probabilities` -- ``p_i = i^-exponent / H_{K,exponent}``;
- :func:`expected_missing_mass` -- ``E sum_i p0_i 1{count_{n,i} = 0}`` (exact);
- :func:`effective_cutoff` -- the rank ``k_n`` whose tail mass equals the missing mass (exact,
  from the exact missing mass), and :func:`effective_cutoff_asymptotic` for Zipf;
- :func:`memoriser_test_error` -- ``sum_i p0_i E[(1 - p_{n,i})^T]`` (exact), and
  :func:`memoriser_test_error_asymptotic`, the scaling law with its plateau.

The asymptotic forms were derived here (the paper's text was not at hand): a rare symbol of count
``c = M p`` is lost by generation ``n`` with probability about ``exp(-c g_n)``, ``g_n`` the
Poisson-refit iterate (:func:`~modelcollapse.theory.branching.poisson_refit_g`, ``g_1 = 1``,
``g_n ~ 2/n``); so generation ``n`` keeps the symbols a clean sample of size ``M g_n`` would show,
and for Zipf(``exponent`` = beta > 1), with ``H = H_{K,beta}`` and ``c = 1 - 1/beta``::

    missing mass      ~ Gamma(1 - 1/beta) / (beta H^(1/beta)) * (M g_n)^-c
    clean error       ~ Gamma(1 - 1/beta) / (beta H^(1/beta)) * T^-c
    k_n               ~ (M g_n / H)^(1/beta) * Gamma(2 - 1/beta)^(-1/(beta - 1))
    error at gen n    ~ T-term + tail mass beyond k_n = T-term + k_n^-(beta-1) / ((beta - 1) H)

(the paper's law ``E_test ~ T^-c + k^-(beta-1)`` for a tail cut at rank ``k``, with the constants
made explicit and ``k = k_n``). The two-term sum overshoots near the crossover ``T ~ M g_n``
(measured up to 1.5x); the single-term law ``C T_eff^-c`` with the effective sample size
``T_eff = M phi_n(T/M)`` (``form="effective"`` of :func:`memoriser_test_error_asymptotic`,
also derived here) holds uniformly (measured within 0.2% of the exact error for ``T >= 1000``).

Exact: :func:`expected_missing_mass`, :func:`effective_cutoff` and :func:`memoriser_test_error`
with ``method="exact"`` (the chain, ``M <= MAX_EXACT_M``, as accurate as the engine: ~1e-14).
Approximate: their ``method="suresh"`` (Poisson-refit, any ``M``) and ``"kimura"`` (missing mass
only). Asymptotic: :func:`effective_cutoff_asymptotic`, :func:`memoriser_test_error_asymptotic`.

NumPy/SciPy only (float64); never imports JAX or :mod:`modelcollapse.sims`.

References
----------
Dohmatob, Feng, Yang, Charton & Kempe, "A Tale of Tails: Model Collapse as a Change of Scaling
Laws", ICML 2024; Hutter, "Learning Curve Theory", arXiv:2102.04074 (2021); Suresh, Thangaraj &
Khandavally, "Rate of model collapse in recursive training" (AISTATS 2025); Ewens, *Mathematical
Population Genetics* (2004).

Examples
--------
>>> import numpy as np
>>> from modelcollapse.theory.tails import expected_missing_mass, zipf_probabilities
>>> p0 = zipf_probabilities(1000, 2.0)
>>> np.round(expected_missing_mass([0, 1, 10], p0, 1000), 6).tolist()
[0.0, 0.021242, 0.051928]
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln, zeta

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from .branching import poisson_refit_g
from .discrete import _broadcast, _check_method, _lead, _out, extinction_probability
from .wright_fisher import _costs, _expect_band, _nnz_estimate, check_exact_M, propagate

__all__ = [
    "zipf_probabilities",
    "expected_missing_mass",
    "effective_cutoff",
    "effective_cutoff_asymptotic",
    "memoriser_test_error",
    "memoriser_test_error_asymptotic",
    "MEMORISER_BUDGET_S",
    "MAX_ZIPF_K",
]

#: Largest estimated run time (seconds) that the exact :func:`memoriser_test_error` accepts;
#: beyond, it raises ``ValueError`` with the estimate (use ``method="suresh"``).
MEMORISER_BUDGET_S = 20.0

#: Largest vocabulary :func:`zipf_probabilities` builds (an array of ``K`` float64).
MAX_ZIPF_K = 10**8

_T = P.Param("T", "training samples of the memorising learner (drawn from generation n)",
             integer=True, low=0)
_T_ASYMPTOTIC = _T.restrict(low=1)
_EXPONENT_ASYMPTOTIC = P.exponent.restrict(low=1.0, low_open=True)
_K_ZIPF = P.K.restrict(high=float(MAX_ZIPF_K))
# per-step cost of one sparse product row and of building the transition (wright_fisher's model)
_COST_PMF = 1.5e-7
# sum_i i^-s directly up to this K; beyond, zeta(s) - zeta(s, K + 1)
_DIRECT_H = 10**6
# the Poisson-refit iterate of the memoriser: exact steps, then the continuation
_PHI_EXACT_STEPS = 2000


def _replace(workflow: W.WorkflowLike, name: str) -> None:
    W.require(workflow, f"theory.tails.{name}")



def _zipf_H(K: int | None, s: NDArray[np.float64]) -> NDArray[np.float64]:
    """``H_{K,s} = sum_{i=1}^K i^-s`` (``zeta(s)`` for ``K = None``, ``s > 1``)."""
    s = np.asarray(s, dtype=np.float64)
    if K is None:
        return np.asarray(zeta(s, 1.0))
    if K <= _DIRECT_H:
        logi = np.log(np.arange(1, K + 1, dtype=np.float64))
        flat = s.ravel()
        out = np.empty(flat.size)
        for a, sv in enumerate(flat):
            with np.errstate(under="ignore"):
                out[a] = float(np.sum(np.exp(-sv * logi)))
        return out.reshape(s.shape)
    with np.errstate(invalid="ignore"):
        tail = np.where(s > 1.0, zeta(s, K + 1.0), np.nan)
        head = np.where(s > 1.0, zeta(s, 1.0), np.nan)
    return np.asarray(head - tail)


# --------------------------------------------------------------------------------------------
# Zipf
# --------------------------------------------------------------------------------------------


def zipf_probabilities(K: int, exponent: ArrayLike) -> NDArray[np.float64]:
    """Zipf law on ``K`` ranked symbols: ``p_i = i^-exponent / H_{K,exponent}``, ``i = 1..K``.

    Formula: ``H_{K,s} = sum_{i=1}^K i^-s``; ``exponent`` is the tail exponent called beta by
    Dohmatob et al. (in this toolkit ``beta`` is the add-beta smoothing pseudo-count).

    Parameters
    ----------
    K : int
        Number of symbols, integer in ``[1, MAX_ZIPF_K]`` (``10^8``).
    exponent : float or array_like
        Zipf exponent(s), reals ``> 0``; an array gives one distribution per entry.

    Returns
    -------
    ndarray
        Shape ``exponent.shape + (K,)``: probabilities along the last axis, decreasing, summing to
        1 (to rounding).

    Notes
    -----
    Exact up to rounding: ``i^-s = exp(-s log i)`` (``p_1`` is the largest, so the sum does not
    overflow; huge exponents give the point mass on symbol 1). Cost ``O(K)`` per exponent.

    References
    ----------
    Zipf, *Human Behavior and the Principle of Least Effort* (1949); Dohmatob et al., ICML 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.tails import zipf_probabilities
    >>> np.round(zipf_probabilities(3, 1.0), 12).tolist()      # (1, 1/2, 1/3) / (11/6)
    [0.545454545455, 0.272727272727, 0.181818181818]
    >>> zipf_probabilities(4, [1.0, 2.0]).shape
    (2, 4)
    """
    Ki = int(_K_ZIPF.scalar(K))
    s = P.exponent.array(exponent)
    logi = np.log(np.arange(1, Ki + 1, dtype=np.float64))
    with np.errstate(under="ignore"):
        w = np.exp(-s[..., None] * logi)
    return np.asarray(w / np.sum(w, axis=-1, keepdims=True))


# --------------------------------------------------------------------------------------------
# missing mass and the effective cut-off
# --------------------------------------------------------------------------------------------


def expected_missing_mass(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Expected original mass of the symbols absent from generation ``n``.

    Formula: ``E sum_i p0_i 1{count_{n,i} = 0} = sum_i p0_i P(count_{n,i} = 0)`` (linearity), with
    the loss probabilities of
    :func:`~modelcollapse.theory.discrete.extinction_probability`. Generation 0 misses nothing
    (``0``); as ``n -> inf`` it tends to ``1 - sum_i p0_i^2`` (one symbol, drawn from ``p0``,
    survives).

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation; ``M <= MAX_EXACT_M`` for ``method="exact"``.
    method : {"exact", "kimura", "suresh"}, optional
        How the loss probabilities are computed, as in
        :func:`~modelcollapse.theory.discrete.extinction_probability`: ``"exact"`` (the chain,
        default), ``"kimura"`` (diffusion series, approximate), ``"suresh"`` (``exp(-M p g_n)``,
        the Poisson-refit approximation; accurate for rare symbols and ``n << M``).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of
        ``'replace'`` (the default, ``None``); other workflows and sampling biases raise
        ``ValueError``.

    Returns
    -------
    float or ndarray
        The expected missing mass; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    ``"exact"`` inherits the accuracy of the loss model (absolute errors below ~2.5e-14 per
    symbol, so below that in total) and its cost: about 1-2 s to build the model per ``M`` at
    ``M = 20000`` (cached), then ``O(K sqrt(M))`` for ``n`` within the stepped horizon and
    ``O(K)`` beyond; measured 0.3 s for ``K = 10^5``, ``M = 20000``, ``n = 5`` once the model is
    built. For Zipf and large ``M`` the missing mass behaves like
    ``Gamma(1 - 1/beta) / (beta H^(1/beta)) (M g_n)^-(1 - 1/beta)`` (module docstring; the
    second term of :func:`memoriser_test_error_asymptotic`).

    References
    ----------
    Dohmatob et al., ICML 2024; Suresh, Thangaraj & Khandavally (AISTATS 2025); Ewens (2004).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.tails import expected_missing_mass
    >>> round(float(expected_missing_mass(1, [0.5, 0.5], 2)), 12)  # each lost w.p. 1/4
    0.25
    >>> np.round(expected_missing_mass([1, 10, 10**6], [0.5, 0.3, 0.2], 10), 6).tolist()
    [0.030437, 0.409184, 0.62]
    """
    _replace(workflow, "expected_missing_mass")
    _check_method(method, ("exact", "kimura", "suresh"))
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = P.M.array(M)
    _broadcast(n=nn, p0=_lead(p), M=MM)
    ext = extinction_probability(nn[..., None], p, MM[..., None], method=method)
    return _out(np.sum(p * ext, axis=-1))


def _cutoff_from_mass(p: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    """``inf{k >= 0: R(k) <= m}`` with ``R`` the tail mass of ``p`` (sorted decreasing) beyond
    rank ``k``, linear between integers; ``p`` (L, K), ``m`` (L,)."""
    ps = -np.sort(-p, axis=-1)
    # R_k = sum_{i > k} p_(i), k = 0..K, summed from the smallest (accurate small tails)
    R = np.concatenate([np.cumsum(ps[..., ::-1], axis=-1)[..., ::-1],
                        np.zeros(ps.shape[:-1] + (1,))], axis=-1)
    idx = np.sum(R > m[..., None], axis=-1)  # first k with R_k <= m (R is non-increasing)
    out = np.zeros(m.shape)
    pos = idx > 0
    L = np.flatnonzero(pos)
    i1 = idx[pos]
    r0 = R[L, i1 - 1]
    r1 = R[L, i1]
    out[pos] = (i1 - 1) + (r0 - m[pos]) / (r0 - r1)
    return out


def effective_cutoff(
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Effective tail cut-off ``k_n``: the rank whose tail mass equals the expected missing mass.

    Formula: with ``p0`` sorted decreasingly, ``R(k) = sum_{i > k} p0_(i)`` for integer ``k``
    (linear in between), ``k_n = inf{k >= 0: R(k) <= m_n}`` with ``m_n`` from
    :func:`expected_missing_mass`. A hard cut at rank ``k`` (the tail-cutting model of Dohmatob
    et al., where the learner never sees the symbols beyond ``k``) loses exactly ``R(k)``; ``k_n``
    is the hard cut that loses what generation ``n`` loses on average, so the plateau ``T -> inf``
    of :func:`memoriser_test_error` (which is ``m_n``) equals the tail term ``R(k_n)`` of the
    paper's law. Generation 0 gives the support size.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation; ``M <= MAX_EXACT_M`` for ``method="exact"``.
    method : {"exact", "kimura", "suresh"}, optional
        Method of the missing mass (:func:`expected_missing_mass`); default ``"exact"``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of
        ``'replace'`` (the default, ``None``); other workflows and sampling biases raise
        ``ValueError``.

    Returns
    -------
    float or ndarray
        ``k_n`` in ``[0, K]`` (a real: the interpolated rank); ``n`` and ``M`` broadcast against
        ``p0.shape[:-1]``.

    Notes
    -----
    Exact given the definition (as accurate as the missing mass; cost of
    :func:`expected_missing_mass` plus a sort of ``p0``). For Zipf(beta > 1) and large ``M`` it
    behaves like :func:`effective_cutoff_asymptotic`, ``(M g_n / H)^(1/beta) Gamma(2 -
    1/beta)^(-1/(beta - 1))``. Another common measure of the cut, the expected surviving support,
    is :func:`~modelcollapse.theory.discrete.expected_survivors`.

    References
    ----------
    Dohmatob et al., ICML 2024 (tail cutting at rank ``k``).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.tails import effective_cutoff, zipf_probabilities
    >>> float(effective_cutoff(0, [0.5, 0.3, 0.2, 0.0], 10))
    3.0
    >>> p0 = zipf_probabilities(1000, 2.0)
    >>> np.round(effective_cutoff([1, 10, 100], p0, 1000), 3).tolist()
    [27.345, 11.077, 3.51]
    """
    _replace(workflow, "effective_cutoff")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = P.M.array(M)
    shape = _broadcast(n=nn, p0=_lead(p), M=MM)
    m = np.broadcast_to(expected_missing_mass(nn, p, MM, method=method), shape)
    pb = np.broadcast_to(p, shape + p.shape[-1:]).reshape(-1, p.shape[-1])
    return _out(_cutoff_from_mass(pb, np.asarray(m, dtype=np.float64).reshape(-1)).reshape(shape))


def effective_cutoff_asymptotic(
    n: ArrayLike, M: ArrayLike, exponent: ArrayLike, *, K: int | None = None
) -> NDArray[np.float64]:
    """Asymptotic effective cut-off of a Zipf law: ``k_n ~ (M g_n / H)^(1/beta) Gamma(2 -
    1/beta)^(-1/(beta - 1))``.

    Formula: ``beta = exponent > 1``, ``H = H_{K,beta}`` (``zeta(beta)`` for ``K = None``),
    ``g_n`` the Poisson-refit iterate (``g_1 = 1``, ``g_n ~ 2/n``). Derivation: a symbol of
    probability ``p`` is lost by generation ``n`` with probability about ``exp(-M p g_n)``
    (Suresh et al.); with ``p_i = i^-beta / H`` and ``k* = (M g_n / H)^(1/beta)``,
    ``sum_i p_i exp(-(k*/i)^beta) ~ integral = Gamma(1 - 1/beta) k*^(1 - beta) / (beta H)``, and
    the tail mass beyond ``k`` is ``~ k^(1 - beta) / ((beta - 1) H)``; equating the two gives
    ``k_n = k* Gamma(2 - 1/beta)^(-1/(beta - 1))``. (``k*`` alone, the rank where the expected
    count times ``g_n`` is 1, ``~ (2 M / (n H))^(1/beta)``, is smaller by that constant: 1/1.128
    at ``beta = 2``.) ``n = 0`` gives ``inf`` (no cut).

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    M : int or array_like, integer >= 1
        Samples drawn per generation (any size).
    exponent : float or array_like
        Zipf exponent ``beta``, reals ``> 1`` (the tail mass must be finite).
    K : int, optional
        Number of symbols, for ``H_{K,beta}``; ``None`` (default) uses ``zeta(beta)`` (an infinite
        vocabulary).

    Returns
    -------
    float or ndarray
        ``k_n``, of the broadcast shape of ``n``, ``M`` and ``exponent``.

    Notes
    -----
    Asymptotic in the limit ``M -> inf`` with ``n`` fixed (``n / M -> 0``: the Poisson-refit
    law of rare symbols) and ``K >> k_n``; the sum-to-integral step needs ``k_n >> 1``. Measured
    against :func:`effective_cutoff` at ``beta = 2``, ``K = 10^5``, ``M = 20000``: within 1% for
    ``n = 1..5``. Cost ``O(1)`` per entry (``O(K)`` once for ``H``).

    References
    ----------
    Dohmatob et al., ICML 2024; Suresh, Thangaraj & Khandavally (AISTATS 2025).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.tails import effective_cutoff_asymptotic
    >>> np.round(effective_cutoff_asymptotic([1, 10, 100], 1000, 2.0, K=1000), 3).tolist()
    [27.83, 11.55, 3.89]
    """
    nn = P.n.array(n)
    MM = P.M.array(M)
    s = _EXPONENT_ASYMPTOTIC.array(exponent)
    Ki = None if K is None else int(P.K.scalar(K))
    shape = _broadcast(n=nn, M=MM, exponent=s)
    nb, Mb, sb = np.broadcast_arrays(nn, MM, s)
    su, sinv = np.unique(sb, return_inverse=True)
    H = _zipf_H(Ki, su)[sinv].reshape(shape)
    g = poisson_refit_g(nb)
    with np.errstate(divide="ignore", over="ignore"):
        # Gamma(2 - 1/beta)^(-1/(beta - 1)); -> exp(euler_gamma) as beta -> 1
        beta1 = sb - 1.0
        safe = np.where(beta1 > 1e-8, beta1, 1.0)
        const = np.where(beta1 > 1e-8, -gammaln(2.0 - 1.0 / sb) / safe,
                         np.euler_gamma * (1.0 - beta1))
        logk = (np.log(Mb) + np.log(g) - np.log(H)) / sb + const
        out = np.where(nb == 0, np.inf, np.exp(logk))
    return _out(out)


# --------------------------------------------------------------------------------------------
# the memoriser
# --------------------------------------------------------------------------------------------


def _absorbed_steps(M: int) -> int:
    """Steps after which the transient mass of the chain is below 1e-17 from any state (the
    heterozygosity bound ``M^2 (1 - 1/M)^s / (4 (M - 1))``)."""
    if M < 2:
        return 0
    return int(math.ceil(math.log(4.0 * (M - 1) * 1e-17 / M**2) / math.log1p(-1.0 / M)))


def _memoriser_cost(M: int, steps: NDArray[np.int64], B: int) -> float:
    """Estimated seconds of the backward propagation of ``B`` functions to ``steps``."""
    if steps.size == 0 or int(steps.max()) == 0:
        return 0.0
    sparse_s, dense_s = _costs(M, int(steps.max()), B, steps)
    return min(sparse_s, dense_s) + _nnz_estimate(M) * _COST_PMF


def _memoriser_exact_group(
    T: NDArray[np.float64], n: NDArray[np.float64], p: NDArray[np.float64], M: int
) -> NDArray[np.float64]:
    """``sum_i p_{e,i} E[(1 - X_{n_e,i}/M)^T_e]`` for entries ``e`` with ``n_e >= 1`` sharing ``M``
    (``p`` is (L, K))."""
    s_abs = _absorbed_steps(M)
    steps = np.minimum(n - 1.0, float(s_abs)).astype(np.int64)
    Tu, Tinv = np.unique(T, return_inverse=True)
    su, sinv = np.unique(steps, return_inverse=True)
    cost = _memoriser_cost(M, su, Tu.size)
    if cost > MEMORISER_BUDGET_S:
        raise ValueError(
            f"memoriser_test_error(n={P.show(n[steps == su[-1]][:1])}, M={M}) would take about "
            f"{cost:.0f} s (estimated; the limit MEMORISER_BUDGET_S is {MEMORISER_BUDGET_S:.0f} "
            "s): the exact chain steps min(n - 1, absorption) generations of O(M^1.5) work. Use "
            "method='suresh' (the Poisson-refit approximation) or a smaller M"
        )
    x = np.arange(M + 1, dtype=np.float64) / M
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        X = np.where(Tu[:, None] == 0, 1.0, np.exp(Tu[:, None] * np.log1p(-x[None, :])))
    absorbed = X[:, 0][:, None] * (1.0 - x) + X[:, -1][:, None] * x  # the limit P^inf h
    chain_steps = su[su < s_abs]
    res = propagate(M, X, chain_steps, "backward") if chain_steps.size else {}
    F = np.empty((M + 1, su.size * Tu.size))
    for a, sv in enumerate(su):
        F[:, a * Tu.size : (a + 1) * Tu.size] = (res[int(sv)] if sv < s_abs else absorbed).T
    col = sinv * Tu.size + Tinv  # (L,)
    pu, pinv = np.unique(p, return_inverse=True)
    pinv = pinv.reshape(p.shape)
    V = _expect_band(pu, M, F)  # (P_u, ncols): E f(Binomial(M, p))
    vals = V[pinv, col[:, None]]
    return np.asarray(np.sum(p * vals, axis=-1))


def _phi(a: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """``phi_n(a)``: ``phi_1 = 1 - e^{-a}``, ``phi_{t+1} = 1 - e^{-phi_t}`` (``a = inf`` gives
    the Poisson-refit ``g_n``); exact iteration up to ``_PHI_EXACT_STEPS``, then
    ``1/phi_t = y_N + d/2 + (psi(2 y_N + d) - psi(2 y_N))/6 - (1/y_N - (1 + ln(b/y_N))/b)/36``,
    ``d = t - N``, ``b = y_N + d/2`` (from ``1/(1 - e^-x) = 1/x + 1/2 + x/12 + O(x^3)``)."""
    N = _PHI_EXACT_STEPS
    cur = -np.expm1(-a)
    out = np.array(cur, dtype=np.float64)
    tmax = int(min(float(np.max(n, initial=1.0)), N))
    for t in range(1, tmax + 1):
        out = np.where(n == t, cur, out)
        if t < tmax:
            cur = -np.expm1(-cur)
    far = n > N
    if far.any():
        y = 1.0 / cur
        d = np.where(far, n - N, 0.0)
        # y_{t+1} = y_t + 1/2 + 1/(12 y_t) + O(y^-3): along u_k = y_N + k/2 the 1/(12 u_k)
        # sum to (psi(2 y_N + d) - psi(2 y_N)) / 6; y_k exceeds u_k by ~ln(u_k / y_N) / 6,
        # which takes ~(1/36) int ln(u / y_N) / u^2 du * 2 off the sum
        end = y + d / 2.0
        drift = (1.0 / y - (1.0 + np.log(end / y)) / end) / 36.0
        yd = end + (digamma(2.0 * y + d) - digamma(2.0 * y)) / 6.0 - drift
        out = np.where(far, 1.0 / yd, out)
    return out


def memoriser_test_error(
    T: ArrayLike,
    n: ArrayLike,
    p0: ArrayLike,
    M: ArrayLike,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Test error on ``p0`` of a learner that memorises ``T`` samples drawn from generation ``n``.

    Formula: the learner answers a test symbol (drawn from ``p0``) correctly iff it was among its
    ``T`` training samples (i.i.d. from ``p_n``), so the error is
    ``sum_i p0_i E[(1 - p_{n,i})^T]``; generation 0 gives ``sum_i p0_i (1 - p0_i)^T`` (Hutter's
    learning curve). ``E[(1 - p_{n,i})^T]`` is the probability that one more multinomial step of
    size ``T`` loses symbol ``i``: ``E h_T(count_{n,i})`` with ``h_T(j) = (1 - j/M)^T``, i.e.
    ``E[(P^(n-1) h_T)(Binomial(M, p0_i))]`` on the two-allele chain. ``T = 0`` gives 1; as
    ``T -> inf`` the error tends to :func:`expected_missing_mass` (the plateau); as ``n -> inf``
    to ``sum_i p0_i (1 - p0_i)`` (``T >= 1``).

    Parameters
    ----------
    T : int or array_like, integer >= 0
        Training samples of the memoriser, drawn from generation ``n``.
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions. It is also the test distribution.
    M : int or array_like, integer >= 1
        Samples drawn per generation; ``M <= MAX_EXACT_M`` for ``method="exact"``.
    method : {"exact", "suresh"}, optional
        ``"exact"`` (default): the chain (see Notes). ``"suresh"``: the Poisson-refit
        (branching) approximation ``E exp(-T count_n / M)`` with the count a Galton-Watson
        process seeded with ``Poisson(M p0_i)``: ``exp(-M p0_i phi_n)``, ``phi_1 = 1 -
        e^(-T/M)``, ``phi_{t+1} = 1 - e^(-phi_t)``; approximate, accurate for rare symbols,
        ``n << M`` and ``T << M`` or ``T >> M`` (the discreteness of ``(1 - j/M)^T`` against
        ``e^(-T j/M)`` matters only for ``T ~ M``); any ``M``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of
        ``'replace'`` (the default, ``None``); other workflows and sampling biases raise
        ``ValueError``.

    Returns
    -------
    float or ndarray
        The expected test error; ``T``, ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    ``"exact"``: ``h_T(j) = exp(T log1p(-j/M))`` (finite and accurate for ``T`` up to 1e9 and
    beyond), propagated backward ``n - 1`` steps by
    :func:`~modelcollapse.theory.wright_fisher.propagate` (one row per distinct ``T``; sparse
    stepping of the banded matrix, ``~ 9 M^1.5`` operations per step and row, or dense
    squaring for ``M <= 6000``), then its expectation under ``Binomial(M, p0_i)`` on each
    symbol's band (``O(K sqrt(M))``). Once ``n - 1`` exceeds the absorption horizon
    (``M^2 (1 - 1/M)^s / (4 (M - 1)) <= 1e-17``) the absorbed limit ``(1 - x) h_T(0) + x
    h_T(M)`` is used. Errors: the truncation of the band (~1e-20 per entry) and rounding
    (measured <= 1e-14 against exact rationals for ``M <= 6``). Cost, measured on 2 shared
    cores: ``M = 1000``, ``K = 10^5``, ``n = 10``, 8 values of ``T``: 0.25 s; ``M = 5000``,
    ``n = 1``: 0.8 s; ``M = 20000``: 6.6 s at ``n = 1`` (building the transition matrix,
    cached), 0.8 s at ``n = 5`` after that. Runs estimated above
    :data:`MEMORISER_BUDGET_S` (20 s, e.g. ``M = 20000``, ``n = 500``) raise ``ValueError``
    with the estimate; use ``method="suresh"`` there. ``"suresh"``: ``O(min(n, 2000))`` per
    distinct ``(T/M, n)``; beyond 2000 steps the iterate is continued by a closed form for
    ``1/phi_t`` (``1/phi + 1/2 + phi/12`` per step summed in closed form
    with digamma; relative error measured <= 4e-13 against plain iteration to 3e5 steps).

    References
    ----------
    Hutter, "Learning Curve Theory" (2021); Dohmatob et al., ICML 2024; Suresh, Thangaraj &
    Khandavally (AISTATS 2025).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.tails import memoriser_test_error
    >>> float(memoriser_test_error(1, 0, [0.5, 0.5], 2))           # sum p (1 - p)
    0.5
    >>> round(float(memoriser_test_error(1, 1, [0.5, 0.5], 2)), 12)  # E p_1 = p0: unchanged
    0.5
    >>> np.round(memoriser_test_error([10, 10**9], 3, [0.5, 0.3, 0.2], 10), 6).tolist()
    [0.197121, 0.143754]
    """
    _replace(workflow, "memoriser_test_error")
    _check_method(method, ("exact", "suresh"))
    TT = _T.array(T)
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = P.M.array(M)
    shape = _broadcast(T=TT, n=nn, p0=_lead(p), M=MM)
    if method == "exact":
        check_exact_M(MM, "memoriser_test_error")
    K = p.shape[-1]
    Tf, nf, Mf = (np.broadcast_to(a, shape).reshape(-1) for a in (TT, nn, MM))
    pf = np.broadcast_to(p, shape + (K,)).reshape(-1, K)
    res = np.empty(Tf.size)
    zero = nf == 0
    if zero.any():
        with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
            lg = np.log1p(-pf[zero])
            val = np.where(Tf[zero, None] == 0, 1.0, np.exp(Tf[zero, None] * lg))
        res[zero] = np.sum(pf[zero] * val, axis=-1)
    rest = ~zero
    if rest.any() and method == "exact":
        for Mv in np.unique(Mf[rest]):
            sel = np.flatnonzero(rest & (Mf == Mv))
            res[sel] = _memoriser_exact_group(Tf[sel], nf[sel], pf[sel], int(Mv))
    elif rest.any():
        sel = np.flatnonzero(rest)
        a = Tf[sel] / Mf[sel]
        au, inv = np.unique(np.stack([a, nf[sel]]), axis=1, return_inverse=True)
        phi = _phi(au[0], au[1])[np.ravel(inv)]
        with np.errstate(under="ignore"):
            val = np.exp(-(Mf[sel] * phi)[:, None] * pf[sel])
        res[sel] = np.sum(pf[sel] * val, axis=-1)
    return _out(res.reshape(shape))


def memoriser_test_error_asymptotic(
    T: ArrayLike,
    n: ArrayLike,
    M: ArrayLike,
    exponent: ArrayLike,
    *,
    K: int | None = None,
    form: str = "sum",
) -> NDArray[np.float64]:
    """Scaling law of the memoriser's test error on a Zipf law, with the plateau of generation n.

    Formula: ``beta = exponent > 1``, ``c = 1 - 1/beta``, ``H = H_{K,beta}`` (``zeta(beta)`` for
    ``K = None``), ``C = Gamma(1 - 1/beta) / (beta H^(1/beta))``::

        E_test(T, n) ~ C T^-c + [n >= 1] k_n^-(beta - 1) / ((beta - 1) H)
                     = C (T^-c + [n >= 1] (M g_n)^-c)

    with ``k_n`` from :func:`effective_cutoff_asymptotic` and ``g_n`` the Poisson-refit iterate
    (``g_1 = 1``, ``g_n ~ 2/n``). Derivation: clean data, ``sum_i p_i (1 - p_i)^T ~ sum_i p_i
    e^(-T p_i) ~ integral_0^inf (x^-beta / H) exp(-T x^-beta / H) dx = C T^-c`` (substitute
    ``u = T x^-beta / H``); generation ``n`` adds the mass its refits cut, the tail beyond
    ``k_n``. This is the paper's law ``T^-c + k^-(beta - 1)`` with explicit constants: the
    learning curve follows ``T^-c`` until ``T ~ M g_n ~ 2 M / n`` and then stops at the plateau.

    ``form="effective"`` gives instead a single-term law, derived here, that holds uniformly
    across the crossover: ``E_test ~ C T_eff^-c`` with the effective sample size
    ``T_eff = M phi_n(T/M)`` (``T`` at ``n = 0``), ``phi_1(a) = 1 - e^(-a)``,
    ``phi_{t+1} = 1 - e^(-phi_t)``: under the Poisson-refit law of rare symbols
    ``E exp(-T p_{n,i}) = exp(-M p_i phi_n(T/M))``, so generation ``n`` seen through ``T``
    samples is a clean sample of size ``T_eff``; ``1/T_eff ~ 1/T + (1/g_n - 1)/M`` for
    ``T << M``, ``T_eff -> M g_n`` as ``T -> inf`` (the plateau) and ``T_eff = T`` at ``n = 0``.

    Parameters
    ----------
    T : int or array_like, integer >= 1
        Training samples of the memoriser, drawn from generation ``n``.
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    M : int or array_like, integer >= 1
        Samples drawn per generation (any size).
    exponent : float or array_like
        Zipf exponent ``beta``, reals ``> 1``.
    K : int, optional
        Number of symbols, for ``H``; ``None`` (default) uses ``zeta(beta)``.
    form : {"sum", "effective"}, optional
        ``"sum"`` (default): the paper's two-term law; ``"effective"``: ``C T_eff^-c``.

    Returns
    -------
    float or ndarray
        The asymptotic error, of the broadcast shape of ``T``, ``n``, ``M`` and ``exponent``.

    Notes
    -----
    Asymptotic, in this limit: ``T -> inf`` with ``K^beta >> T / H`` (the clean term; for a
    finite ``K`` the exact error eventually falls faster, like ``exp(-T p_K)``), and ``M -> inf``
    with ``n`` fixed and ``K >> k_n`` (the plateau, from the Poisson-refit law of rare
    symbols). Each term is asymptotically exact in its own limit: the ratio to the exact
    :func:`memoriser_test_error` tends to 1 as ``T / (M g_n) -> 0`` (clean term dominates) or
    ``-> inf`` (plateau dominates). Near the crossover ``T ~ M g_n`` the sum double-counts the
    symbols missing from both the training sample and generation ``n``. Measured, ratio exact /
    asymptotic at ``beta = 2``, ``K = 10^5`` (T = 10, 10^2, ..., 10^8): clean data (``n = 0``,
    ``K = 10^6``) 0.965, 0.996, 0.9996, 0.9999 up to ``T = 10^5`` (then the finite ``K``
    shows); ``"sum"`` at ``M = 20000``, ``n = 5``: 0.93, 0.89, 0.76, 0.67, 0.80, 0.93, 0.97,
    0.99 (the sum overshoots by up to 1.5x near ``T ~ M g_n``); ``"effective"`` at the same
    point: 0.965, 0.996, 0.9993, then 0.9992-0.9993 (and 0.9975 at ``M = 1000``, ``n = 10``),
    i.e. as accurate as the clean law at every ``T``. Neither is a bound. (The constant
    ``Gamma(1 - 1/beta) / (beta H)`` in front of ``T^-c`` would be off by the factor
    ``H^(1 - 1/beta)``, 1.28 at ``beta = 2``: the integral gives ``H^(-1/beta)``.) Cost
    ``O(1)`` per entry (``O(K)`` once for ``H``; ``O(min(n, 2000))`` per distinct
    ``(T/M, n)`` for ``"effective"``).

    References
    ----------
    Dohmatob et al., "A Tale of Tails", ICML 2024 (tail cutting, Hutter's memoriser); Hutter,
    "Learning Curve Theory" (2021); Suresh, Thangaraj & Khandavally (AISTATS 2025).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.tails import memoriser_test_error_asymptotic
    >>> np.round(memoriser_test_error_asymptotic([10, 10**4], 0, 1000, 2.0), 6).tolist()
    [0.21851, 0.00691]
    >>> np.round(memoriser_test_error_asymptotic([10, 10**4], 5, 1000, 2.0), 6).tolist()
    [0.257624, 0.046024]
    >>> np.round(memoriser_test_error_asymptotic([10, 10**4], 5, 1000, 2.0, form="effective"),
    ...          6).tolist()
    [0.221229, 0.039115]
    """
    form = P.Choice("form", "form of the asymptotic law", ("sum", "effective")).check(form)
    TT = _T_ASYMPTOTIC.array(T)
    nn = P.n.array(n)
    MM = P.M.array(M)
    s = _EXPONENT_ASYMPTOTIC.array(exponent)
    Ki = None if K is None else int(P.K.scalar(K))
    shape = _broadcast(T=TT, n=nn, M=MM, exponent=s)
    Tb, nb, Mb, sb = np.broadcast_arrays(TT, nn, MM, s)
    su, sinv = np.unique(sb, return_inverse=True)
    H = _zipf_H(Ki, su)[sinv].reshape(shape)
    c = 1.0 - 1.0 / sb
    logC = gammaln(1.0 - 1.0 / sb) - np.log(sb) - np.log(H) / sb
    if form == "effective":
        Tf, nf, Mf = Tb.reshape(-1), nb.reshape(-1), Mb.reshape(-1)
        logT = np.log(Tf)
        syn = nf >= 1
        if syn.any():
            a = Tf[syn] / Mf[syn]
            au, inv = np.unique(np.stack([a, nf[syn]]), axis=1, return_inverse=True)
            logT[syn] = np.log(Mf[syn]) + np.log(_phi(au[0], au[1])[np.ravel(inv)])
        return _out(np.exp(logC - c * logT.reshape(shape)))
    clean = np.exp(logC - c * np.log(Tb))
    k = np.asarray(effective_cutoff_asymptotic(nb, Mb, sb, K=Ki))
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        tail = np.where(nb == 0, 0.0, np.exp(-(sb - 1.0) * np.log(k)) / ((sb - 1.0) * H))
    return _out(clean + tail)

