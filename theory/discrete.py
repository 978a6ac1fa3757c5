"""Categorical distributions refit on their own samples: the neutral Wright-Fisher model.

Setting and conventions
-----------------------
A categorical distribution ``p0`` over ``K`` symbols is refit, generation after generation, by the
empirical frequencies of ``M`` samples drawn from the current model::

    counts_{t+1} ~ Multinomial(M, p_t),      p_{t+1} = counts_{t+1} / M.

Generation 0 is the original distribution ``p0``; generation ``n`` is the model after ``n`` rounds
of "draw M samples, refit", so generation 1 is one multinomial draw from ``p0``. This is the neutral
haploid Wright-Fisher model with population size ``M`` (Ewens, *Mathematical Population Genetics*,
2004, ch. 1-3; Shumailov et al., Nature 631, 2024, sec. 3.1). One symbol's count is a Markov chain
on ``{0, ..., M}``: the first step is ``Binomial(M, p)`` from the original probability ``p`` (which
need not be a multiple of ``1/M``), every later step is ``Binomial(M, j/M)`` from the current count
``j``. States 0 (lost) and ``M`` (fixed) are absorbing.

Exact quantities are computed from that chain by the engine
:mod:`~modelcollapse.theory.wright_fisher`: loss probabilities and absorption times from its loss
model (a few exactly stepped generations, then the exact evolution on the invariant subspace of
low-degree polynomials, with the closed-form eigenvalues; built in under 2 s per ``M <= 20000``,
then any ``n`` in under a millisecond), the pmf of a count by stepping its occupied band or by
dense repeated squaring; diffusion (Kimura, Littler) and branching-process (Suresh et al.)
approximations are offered beside them. Arguments are validated through the parameter
vocabulary :mod:`modelcollapse.spec.params` (``n``, ``p0``, ``p`` the original probability of
one symbol, ``M``, ``beta``, ``K``); every function of the refit takes ``workflow``
(:mod:`modelcollapse.spec.workflows`, the value the simulators take; the formulas are those of
``replace``, except the moments :func:`expected_heterozygosity`, :func:`expected_collision` and
:func:`expected_sq_distance`, exact also under ``mix(...)`` and ``accumulate()`` through
:mod:`~modelcollapse.theory.discrete_workflows`, and :func:`extinction_probability`,
:func:`survival_probability`, :func:`expected_survivors`, exact also under ``mix(...)`` and
``accumulate()`` through :mod:`~modelcollapse.theory.discrete_workflow_chains`).

At the edges: huge arguments (``n``, ``M``, ``beta``, ``K``, ``N``, ``n_synth`` up to the float64
range) give the limit (e.g. ``beta -> inf``: every refit is uniform), computed without overflow,
or a ``ValueError`` naming the argument (``M > MAX_EXACT_M`` for the exact chain, ``n/(2M)`` too
small for Kimura's series, a ``count_distribution`` run estimated above
:data:`COUNT_BUDGET_S`); arguments that do not broadcast are named with their shapes
(``'n and M do not broadcast: shapes (2,) and (3,)'``; a ``p0`` takes part with its leading
axes).

Add-beta smoothing (``q_i = (count_i + beta) / (M + K beta)``) and the "mix N real + n synthetic"
workflow have exact second-moment recursions; their closed forms are given below.

Contents
--------
- moments (exact, any ``M``): :func:`expected_heterozygosity`, :func:`expected_collision`,
  :func:`expected_sq_distance`;
- the single-symbol chain: :func:`count_distribution`, :func:`extinction_probability`,
  :func:`survival_probability`, :func:`survival_bounds`, :func:`expected_survivors`,
  :func:`fixation_probability`, :func:`poisson_refit_g` (from
  :mod:`~modelcollapse.theory.branching`);
- absorption times: :func:`expected_absorption_time`, :func:`expected_time_to_fixation`,
  :func:`expected_time_to_loss`, :func:`expected_time_to_monomorphism`;
- add-beta smoothing: :func:`smoothed_expected_collision`,
  :func:`smoothed_expected_heterozygosity`, :func:`smoothed_stationary_heterozygosity`,
  :func:`smoothed_expected_sq_distance`;
- mixing real and synthetic data: :func:`mixed_expected_sq_distance`,
  :func:`mixed_sq_distance_limit` (thin wrappers; the workflow route is ``workflow=mix(...)``,
  the mix, accumulate and accumulate-subsample formulas live in
  :mod:`~modelcollapse.theory.discrete_workflows`);
- size limits of the exact chain: :data:`MAX_DENSE_M`, :data:`MAX_EXACT_M`,
  :data:`COUNT_BUDGET_S`.

This module uses NumPy/SciPy only (float64) and never imports JAX or :mod:`modelcollapse.sims`.

References
----------
Ewens, *Mathematical Population Genetics* (2004), ch. 1-5; Shumailov et al., "AI models collapse
when trained on recursively generated data", Nature 631 (2024); Kimura, Genetics 40 (1955);
Kimura & Ohta, Genetics 61 (1969); Littler, Theor. Pop. Biol. 7 (1975); Suresh, Thangaraj &
Khandavally, "Rate of model collapse in recursive training" (AISTATS 2025).

Examples
--------
>>> from modelcollapse.theory.discrete import expected_heterozygosity, fixation_probability
>>> float(expected_heterozygosity(1, [0.5, 0.5], 2))
0.25
>>> float(fixation_probability(0.3))
0.3
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, legendre_p_all, xlogy

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

from ._powers import one_minus_pow as _one_minus_pow
from ._powers import pow_decay as _pow_decay
from .branching import poisson_refit_g
from .wright_fisher import (
    MAX_DENSE_M,
    MAX_EXACT_M,
    absorption_expectation,
    binomial_pmf_rows,
    check_exact_M,
    forward_cost,
    loss_probability,
    propagate,
)
from .wright_fisher import _broadcast as _broadcast_named

__all__ = [
    "expected_heterozygosity",
    "expected_collision",
    "expected_sq_distance",
    "count_distribution",
    "extinction_probability",
    "survival_probability",
    "poisson_refit_g",
    "survival_bounds",
    "expected_survivors",
    "fixation_probability",
    "expected_absorption_time",
    "expected_time_to_loss",
    "expected_time_to_fixation",
    "expected_time_to_monomorphism",
    "smoothed_expected_collision",
    "smoothed_expected_heterozygosity",
    "smoothed_stationary_heterozygosity",
    "smoothed_expected_sq_distance",
    "mixed_expected_sq_distance",
    "mixed_sq_distance_limit",
    "MAX_DENSE_M",
    "MAX_EXACT_M",
    "COUNT_BUDGET_S",
]

# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


_check_M = P.M.array
_check_beta = P.beta.array
_N_REAL = P.Param("N", "fresh real samples per generation", integer=True, low=0)
_N_SYNTH = P.Param("n_synth", "synthetic samples per generation", integer=True, low=0)

#: Largest estimated run time (seconds, :func:`~modelcollapse.theory.wright_fisher.forward_cost`)
#: that :func:`count_distribution` accepts; beyond, it raises ``ValueError`` instead of running
#: for minutes.
COUNT_BUDGET_S = 20.0


def _replace(workflow: W.WorkflowLike, name: str) -> None:
    """The formulas here are those of the replace workflow (sampling biases: none)."""
    W.require(workflow, f"theory.discrete.{name}")


def _workflow_moments(workflow: W.WorkflowLike, name: str) -> W.Workflow:
    """The moments are exact under replace, mix, accumulate and accumulate-subsample (sampling
    biases: none)."""
    return W.require(workflow, f"theory.discrete.{name}",
                     names=("replace", "mix", "accumulate", "accumulate_subsample"))


def _workflow_chains(workflow: W.WorkflowLike, name: str) -> W.Workflow:
    """Extinction and survivors: replace, mix (no sampling bias; the single-symbol chains of
    :mod:`~modelcollapse.theory.discrete_workflow_chains`) and accumulate (any categorical
    bias: a symbol is in the pool iff it is in the first, real, batch)."""
    wf = W.require(workflow, f"theory.discrete.{name}", names=("replace", "mix", "accumulate"),
                   biases=("temperature", "top_k", "top_p"))
    if wf.name != "accumulate":
        W.require(wf, f"theory.discrete.{name} under {wf.name}", names=(wf.name,))
    return wf


def _check_method(method: str, allowed: tuple[str, ...]) -> str:
    return P.Choice("method", "computation method of the formula", allowed).check(method)


def _gini_simpson(p0: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - sum_i p_i^2`` along the last axis, computed as ``sum_i p_i (1 - p_i)`` (no
    cancellation when one symbol dominates) and corrected for ``sum p != 1`` rounding."""
    s = p0.sum(axis=-1, keepdims=True)
    return np.clip(np.sum(p0 * (s - p0), axis=-1), 0.0, None)


def _out(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """0-d results become NumPy scalars (as every function of the module returns for scalar
    input); arrays are returned as they are."""
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _as_int(x: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.asarray(x, dtype=np.int64)


def _lead(p0: NDArray[np.float64]) -> NDArray[np.float64]:
    """A stand-in with the leading (distribution) axes of ``p0``, for broadcast checks."""
    return np.empty(p0.shape[:-1])


def _broadcast(**named: ArrayLike) -> tuple[int, ...]:
    """:func:`~modelcollapse.theory.wright_fisher` 's named broadcast check; a ``p0`` takes part
    with its leading axes (one distribution per entry), which the message says."""
    try:
        return _broadcast_named(**named)
    except ValueError as exc:
        if "p0" in named and "p0" in str(exc):
            raise ValueError(f"{exc} (p0: its leading axes, one distribution per entry)") from None
        raise




# --------------------------------------------------------------------------------------------
# moments (exact, any M)
# --------------------------------------------------------------------------------------------


def expected_heterozygosity(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Expected Gini-Simpson index (heterozygosity) at generation ``n``.

    Formula: ``E[1 - sum_i p_{n,i}^2] = (1 - 1/M)^n * (1 - sum_i p0_i^2)``. Exact for every
    ``M >= 1`` and ``n >= 0``.

    Convention: generation 0 is ``p0``; generation ``n >= 1`` is after ``n`` multinomial refits of
    ``M`` samples, the first one drawn from ``p0``. One refit multiplies the expected
    heterozygosity by ``1 - 1/M`` because ``E[c_i^2] = M p_i (1 - p_i) + M^2 p_i^2`` for
    ``c ~ Multinomial(M, p)``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default, ``None``),
        ``mix(...)`` (fresh or one fixed real set), ``accumulate()`` or
        ``accumulate_subsample(N)``, exact forms of
        :mod:`~modelcollapse.theory.discrete_workflows` (``M`` is each fit's size, or the
        samples added per generation); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E[1 - sum_i p_{n,i}^2]``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    References
    ----------
    Wright (1931); Ewens, *Mathematical Population Genetics* (2004), eq. 1.47 (haploid form);
    Shumailov et al., Nature 631 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import expected_heterozygosity
    >>> float(expected_heterozygosity(1, [0.5, 0.5], 2))
    0.25
    >>> np.round(expected_heterozygosity([0, 1, 10], [0.5, 0.3, 0.2], 100), 10).tolist()
    [0.62, 0.6138, 0.5607168865]
    """
    wf = _workflow_moments(workflow, "expected_heterozygosity")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = _check_M(M)
    _broadcast(n=nn, p0=_lead(p), M=MM)
    if wf.name != "replace":
        from .discrete_workflows import _heterozygosity

        return _out(_heterozygosity(nn, p, MM, wf))
    with np.errstate(divide="ignore"):
        return _pow_decay(np.log1p(-1.0 / MM), nn) * _gini_simpson(p)


def expected_collision(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Expected collision probability ``E[sum_i p_{n,i}^2] = 1 - (1 - 1/M)^n (1 - sum p0_i^2)``.

    The probability that two independent draws from generation ``n``'s model agree, averaged over
    the refitting randomness. Same conventions as :func:`expected_heterozygosity` (generation 0 =
    ``p0``), of which it is the complement to 1.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default, ``None``),
        ``mix(...)`` (fresh or one fixed real set), ``accumulate()`` or
        ``accumulate_subsample(N)``, exact forms of
        :mod:`~modelcollapse.theory.discrete_workflows` (``M`` is each fit's size, or the
        samples added per generation); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E[sum_i p_{n,i}^2]``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004), ch. 1.

    Examples
    --------
    >>> from modelcollapse.theory.discrete import expected_collision
    >>> float(expected_collision(1, [0.5, 0.5], 2))
    0.75
    >>> round(float(expected_collision(10, [0.5, 0.3, 0.2], 100)), 12)
    0.439283113495
    """
    wf = _workflow_moments(workflow, "expected_collision")
    return 1.0 - expected_heterozygosity(n, p0, M, workflow=wf)


def expected_sq_distance(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Expected squared Euclidean distance from the original, ``E||p_n - p0||^2``.

    Formula: ``(1 - sum_i p0_i^2) * (1 - (1 - 1/M)^n)``. Exact: frequencies are martingales
    (``E p_n = p0``) so ``E||p_n - p0||^2 = E sum p_n^2 - sum p0^2``. Generation 0 is ``p0``
    (distance 0); the distance tends to ``1 - sum p0^2`` as the model collapses to one symbol.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default, ``None``),
        ``mix(...)`` (fresh or one fixed real set), ``accumulate()`` or
        ``accumulate_subsample(N)``, exact forms of
        :mod:`~modelcollapse.theory.discrete_workflows` (``M`` is each fit's size, or the
        samples added per generation); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E||p_n - p0||^2``; ``n`` and ``M`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    ``1 - (1 - 1/M)^n`` is evaluated as ``-expm1(n log1p(-1/M))``, without cancellation for small
    ``n / M``.

    References
    ----------
    Shumailov et al., Nature 631 (2024); Ewens, *Mathematical Population Genetics* (2004).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import expected_sq_distance
    >>> np.round(expected_sq_distance([0, 1, 10, 100], [0.5, 0.3, 0.2], 100), 10).tolist()
    [0.0, 0.0062, 0.0592831135, 0.3930599484]
    """
    wf = _workflow_moments(workflow, "expected_sq_distance")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = _check_M(M)
    _broadcast(n=nn, p0=_lead(p), M=MM)
    if wf.name != "replace":
        from .discrete_workflows import _sq_distance

        return _out(_sq_distance(nn, p, MM, wf))
    with np.errstate(divide="ignore"):
        decay = _one_minus_pow(np.log1p(-1.0 / MM), nn)  # 1 - (1 - 1/M)^n
    return decay * _gini_simpson(p)


# --------------------------------------------------------------------------------------------
# the single-symbol chain
# --------------------------------------------------------------------------------------------


def count_distribution(
    n: ArrayLike, p: ArrayLike, M: int, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Exact pmf of one symbol's count at generation ``n``.

    Formula: ``pi_1 = Binomial(M, p)`` (the first refit draws from the original probability
    ``p``); ``pi_n = pi_1 P^(n-1)`` with the Wright-Fisher matrix
    ``P[j, k] = C(M, k) (j/M)^k (1 - j/M)^(M-k)``.

    Convention: generation 0 is the original distribution, whose "count" ``M p`` is defined only
    when ``M p`` is an integer; ``n = 0`` then returns the point mass at ``M p`` and raises
    ``ValueError`` otherwise.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p : float or array_like, original probability of one symbol, in [0, 1]
        The symbol's probability in ``p0``; broadcast against ``n``.
    M : int, integer in [1, MAX_EXACT_M]
        Samples per generation, a single integer (the output length is ``M + 1``).
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default,
        ``None``) or ``mix(...)`` (fresh or one fixed real set, no sampling bias: the exact
        single-symbol mix chain of
        :func:`~modelcollapse.theory.discrete_workflow_chains.mix_count_distribution`); other
        workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    ndarray
        Array of shape ``broadcast(n, p).shape + (M + 1,)``; the last axis is the count ``0..M``.

    Raises
    ------
    ValueError
        If ``M`` is not a single integer in ``[1, MAX_EXACT_M]``, ``n = 0`` with ``M p`` not an
        integer, or the estimated run time exceeds :data:`COUNT_BUDGET_S` (see Notes).

    Notes
    -----
    Computed by propagating the banded transition matrix over the occupied band of the
    distribution (or dense repeated squaring for long horizons), see
    :func:`modelcollapse.theory.wright_fisher.propagate`. Accuracy (measured, see
    tests/test_theory_discrete.py): <= 1e-14 against exact rationals (``M <= 8``) and 40-digit
    mpmath (``M = 40``); at ``M = 5000`` sparse stepping and dense squaring agree to 1e-15 and
    the pmf sums to 1 and has mean ``M p`` to within 2e-13; limits of very long horizons are
    reached to within 1e-13 (``M = 1000``, ``n = 10^8``).

    Cost: once ``M p (1 - p) (1 - 1/M)^(n-1) <= 1e-17`` (an upper bound on ``P(0 < count_n <
    M)``) the absorbed law ``(1 - p) e_0 + p e_M`` is returned at once. Otherwise the pmf needs
    up to ``45 M`` generations of ``O(M^1.5)`` work: when
    :func:`~modelcollapse.theory.wright_fisher.forward_cost` estimates more than
    :data:`COUNT_BUDGET_S` (20 s), ``ValueError`` is raised with the estimate instead of a
    minutes-long run (e.g. ``n = 10^4``, ``p = 0.5``, ``M = 20000``: ~460 s). The absorbed
    masses ``P(count_n = 0)`` and ``P(count_n = M)`` are fast and exact at any ``n`` with
    :func:`extinction_probability` (of ``p`` and of ``1 - p``).

    References
    ----------
    Wright (1931), Fisher (1930); Ewens, *Mathematical Population Genetics* (2004), sec. 1.5.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import count_distribution
    >>> np.round(count_distribution(1, 0.5, 2), 12).tolist()
    [0.25, 0.5, 0.25]
    >>> np.round(count_distribution([0, 2], 0.5, 2), 12).tolist()
    [[0.0, 1.0, 0.0], [0.375, 0.25, 0.375]]
    >>> count_distribution(0, 0.3, 2)
    Traceback (most recent call last):
    ...
    ValueError: p must make M*p an integer when n = 0 ...
    """
    wf = W.require(workflow, "theory.discrete.count_distribution", names=("replace", "mix"))
    MM = _check_M(M)
    if MM.ndim != 0:
        raise ValueError(f"M must be a single integer >= 1 for count_distribution (got {M!r})")
    check_exact_M(MM, "count_distribution")
    Mi = int(MM)
    nn = P.n.array(n)
    pp = P.p.array(p)
    _broadcast(n=nn, p=pp)
    if wf.name == "mix":
        from .discrete_workflow_chains import mix_count_distribution

        two = np.stack([pp, 1.0 - pp], axis=-1)  # the symbol against the rest
        return mix_count_distribution(nn, two, Mi, workflow=wf)[..., 0, :]
    nb, pb = np.broadcast_arrays(nn, pp)
    shape = nb.shape
    nf, pf = nb.ravel(), pb.ravel()
    out = np.zeros((nf.size, Mi + 1))
    zero = nf == 0
    if zero.any():
        c = Mi * pf[zero]
        ci = np.rint(c)
        bad = np.abs(c - ci) > 1e-9 * max(Mi, 1)
        if bad.any():
            raise ValueError(
                "p must make M*p an integer when n = 0 (generation 0 has no count distribution "
                f"otherwise; got p={P.show(pf[zero][bad])}, M={Mi})"
            )
        out[np.flatnonzero(zero), ci.astype(np.int64)] = 1.0
    # P(0 < count_n < M) <= M p (1 - p) (1 - 1/M)^(n-1): below 1e-17 the law is the absorbed one
    with np.errstate(divide="ignore"):
        transient = Mi * pf * (1.0 - pf) * _pow_decay(np.log1p(-1.0 / Mi), np.maximum(nf - 1, 0))
    absorbed = ~zero & (transient <= 1e-17)
    if absorbed.any():
        ia = np.flatnonzero(absorbed)
        out[ia, 0] = 1.0 - pf[ia]
        out[ia, Mi] += pf[ia]
    idx = np.flatnonzero(~zero & ~absorbed)
    if idx.size:
        pu, pinv = np.unique(pf[idx], return_inverse=True)
        steps = _as_int(nf[idx] - 1)
        cost = forward_cost(Mi, int(steps.max()), pu.size, p=pu)
        if cost > COUNT_BUDGET_S:
            raise ValueError(
                f"count_distribution(n={P.show(nf[idx][steps == steps.max()][:1])}, p="
                f"{P.show(pu)}, M={Mi}) would take about {cost:.0f} s (estimated; the limit is "
                f"{COUNT_BUDGET_S:.0f} s): the pmf needs about min(n, 45 M) generations of "
                "O(M^1.5) work. The absorbed masses P(count = 0) and P(count = M) are fast and "
                "exact at any n: extinction_probability(n, p, M) and "
                "extinction_probability(n, 1 - p, M)"
            )
        start = binomial_pmf_rows(pu, Mi)
        res = propagate(Mi, start, steps, "forward")
        for s_, Y in res.items():
            sel = steps == s_
            out[idx[sel]] = Y[pinv[sel]]
    return out.reshape(shape + (Mi + 1,))


#: Kimura's series: terms kept until the tail is below this (absolute), and the most terms summed
#: (beyond, ``n / (2M)`` is too small for the series; see :func:`extinction_probability`).
_KIMURA_TAIL = 1e-17
_KIMURA_MAX_TERMS = 1_000_000


def _kimura_terms(rate: NDArray[np.float64]) -> NDArray[np.float64]:
    """Number of terms ``N`` of Kimura's series at ``rate = t / (2M)`` so that the tail
    ``sum_{i>N} (2i+1) p (1-p) |F_i| e^{-i(i+1) rate} <= e^{-N(N+1) rate} / (4 rate)`` (the
    terms decrease beyond ``N >= (sqrt(2/rate) - 1)/2``, ``|F_i| <= 1``) is below
    ``_KIMURA_TAIL``."""
    with np.errstate(divide="ignore", over="ignore"):
        L = np.log(1.0 / (4.0 * rate * _KIMURA_TAIL))
        n_tail = (np.sqrt(1.0 + 4.0 * np.maximum(L, 0.0) / rate) - 1.0) / 2.0  # N(N+1) = L/rate
        n_mono = (np.sqrt(2.0 / rate) - 1.0) / 2.0
    return np.maximum(np.ceil(np.maximum(n_tail, n_mono)), 1.0)


def _kimura_loss(
    t: NDArray[np.float64], p: NDArray[np.float64], M: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Kimura's series for the probability of loss by time ``t`` (haploid population ``M``).

    ``P_loss = (1 - p) - p (1 - p) sum_{i>=1} (2i + 1) F_i(1 - 2p) e^{-i(i+1) t/(2M)}`` with
    ``F_i(z) = 2F1(1 - i, i + 2; 2; p) = P^(1,1)_{i-1}(z) / i = 2 P_i'(z) / (i (i + 1))``
    (``|F_i| <= 1`` on ``[-1, 1]``), the same series as Kimura's ``(-1)^i F(1-i, i+2; 2; 1-p)``
    form by the parity of the Jacobi polynomials. ``P_i'`` comes from scipy's
    ``legendre_p_all`` (a stable three-term recurrence, all degrees at once).
    """
    out = np.empty(t.shape)
    tf, pf, Mf = t.ravel(), p.ravel(), M.ravel()
    res = out.reshape(-1)
    trivial = (tf == 0) | (pf == 0) | (pf == 1)
    res[trivial] = np.where(
        tf[trivial] == 0, (pf[trivial] == 0).astype(np.float64), 1.0 - pf[trivial]
    )
    idx = np.flatnonzero(~trivial)
    if idx.size == 0:
        return out
    rate = tf[idx] / (2.0 * Mf[idx])
    nterms = _kimura_terms(rate)
    too_many = nterms > _KIMURA_MAX_TERMS
    if too_many.any():
        k = idx[too_many]
        raise ValueError(
            "n/M too small for Kimura's series (method='kimura'): n/(2M) = "
            f"{P.show(rate[too_many])} (n={P.show(tf[k])}, M={P.show(Mf[k])}) needs more than "
            f"{_KIMURA_MAX_TERMS} terms; the series needs n/(2M) >= about 6e-11. Use "
            "method='suresh' (accurate for rare symbols when n << M) or method='exact' "
            f"(M <= {MAX_EXACT_M})"
        )
    pu, pinv = np.unique(pf[idx], return_inverse=True)
    for a in range(pu.size):
        sel = np.flatnonzero(pinv == a)
        pa = float(pu[a])
        N = int(nterms[sel].max())
        i = np.arange(1, N + 1, dtype=np.float64)
        dP = legendre_p_all(N, 1.0 - 2.0 * pa, diff_n=1)[1, 1:]  # P_i'(z), i = 1..N
        w = (2.0 * i + 1.0) * (2.0 * dP / (i * (i + 1.0)))  # (2i + 1) F_i
        ru, rinv = np.unique(rate[sel], return_inverse=True)
        step = max(1, 4_000_000 // N)
        sums = np.empty(ru.size)
        for b in range(0, ru.size, step):
            with np.errstate(under="ignore"):
                E = np.exp(-np.outer(i * (i + 1.0), ru[b : b + step]))
            sums[b : b + step] = w @ E
        res[idx[sel]] = (1.0 - pa) - pa * (1.0 - pa) * sums[rinv]
    return np.clip(out, 0.0, 1.0)


def extinction_probability(
    n: ArrayLike,
    p: ArrayLike,
    M: ArrayLike,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Probability that a symbol with original probability ``p`` has count 0 at generation ``n``.

    Formula (``method="exact"``): ``P(count_n = 0) = sum_j Binomial(M, p).pmf(j) * (P^(n-1))[j, 0]``
    from the Wright-Fisher chain, for ``n >= 1``.

    Convention: generation 0 is the original distribution (extinct iff ``p = 0``); generation 1
    is ``Binomial(M, p)``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p : float or array_like, original probability of one symbol, in [0, 1]
        The symbol's probability in ``p0``.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
        ``M <= MAX_EXACT_M`` for ``method="exact"``.
    method : {"exact", "kimura", "suresh"}, optional
        Computation method of the formula (see Notes); default ``"exact"``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default,
        ``None``); ``mix(...)`` (fresh or one fixed real set; ``method="exact"``, no sampling
        bias): the exact single-symbol mix chain of
        :mod:`~modelcollapse.theory.discrete_workflow_chains`, "lost" meaning absent from
        generation ``n``'s fit; ``accumulate()`` (any categorical bias): absent from the pool,
        ``(1 - p)^M`` for every ``n >= 1`` (a symbol missing from the first, real, batch is never
        drawn again, one present stays in the pool). Other workflows raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``P(count_n = 0)``, of the broadcast shape of ``n, p, M``.

    Notes
    -----
    Methods:

    - ``"exact"``: ``sum_j Binomial(M, p).pmf(j) * (P^(n-1))[j, 0]`` from the Wright-Fisher
      chain, by the loss model of :mod:`~modelcollapse.theory.wright_fisher` (one model per
      ``M`` serves every ``p`` and ``n``): the first ``S`` generations stepped exactly on the
      occupied band (``S`` = 32-37 for ``M`` from 65 to 20000; every generation until absorbed
      for ``M <= 64``), the later ones evolved exactly in the invariant subspace of
      polynomials of degree ``<= K`` (closed-form eigenvalues ``M!/((M-k)! M^k)``), within the
      fit's sup-norm residual. ``M <= MAX_EXACT_M``. Absolute error, measured: <= 1e-15
      against exact rationals / 40-digit mpmath / a long-double chain for ``M <= 150`` (every
      ``n``), <= 2e-14 against plain stepping at ``M = 5000`` (whose own drift dominates);
      the bound ``delta`` is below 5e-15 for ``M <= 1000`` and 2.5e-14 at ``M = 20000``.
      Probabilities far below ``delta`` beyond generation ``S`` are accurate in absolute, not
      relative, terms. Cost, measured on 2 shared cores: building the model takes 0.1 s at
      ``M = 1000``, 0.6 s at ``M = 6000``, 0.8-1.8 s at ``M = 20000`` (cached per ``M``); then
      under a millisecond per call for any ``n`` (up to ``1e300``).
    - ``"kimura"``: Kimura's (1955) diffusion series, haploid time scale::

          P_loss(p, t) = (1 - p) + sum_{i>=1} (2i+1) p (1-p) (-1)^i F(1-i, i+2; 2; 1-p)
                                   * exp(-i (i+1) t / (2M)),

      ``F`` the hypergeometric (Jacobi ``P^{(1,1)}_{i-1}``) polynomial. A diffusion
      approximation whose error is dominated by the rare-symbol, early-generation regime and
      decays like ``1/t``. Measured against ``"exact"`` (max abs error over ``p`` in
      ``[0.01, 0.99]``, the same for ``M`` = 50 to 800): about 0.03 for ``20 <= t <= 40``,
      0.018 for ``40 <= t <= 80``, 0.010 for ``80 <= t <= 160``; 0.0045 for ``M = 800``,
      ``200 <= t <= 3200``. Poor (errors ~0.1-0.2) for ``t < 20``.
      Summation: ``(2i+1) F_i`` from the Legendre derivatives ``2 P_i'(1 - 2p)/(i(i+1))``
      (scipy's ``legendre_p_all``, a stable recurrence, ``|F_i| <= 1``), summed until the tail
      bound ``e^{-N(N+1) r}/(4r)`` (``r = t/(2M)``) is below 1e-17: ``N ~ sqrt(60/r)`` terms
      (1400 at ``r = 2.5e-5``, 3.4e5 at ``r = 5e-10``, i.e. ``M = 1e9``, ``t = 1``; 0.1 s).
      Summation error against a 30-digit evaluation of the series, measured over ``p`` in
      ``[1e-6, 0.999]``: <= 1.3e-15 for ``r >= 5e-5``; <= 5e-13 for ``r`` down to 5e-6;
      <= 3e-11 down to ``r = 5e-10`` (worst for rare symbols, ``p ~ 1e-6``, where ``P_i'``
      near ``z = 1`` carries relative errors ``~ i eps``). For ``r`` below about 6e-11 (more
      than 1e6 terms) it raises ``ValueError``: use ``"suresh"`` (``n << M``).
    - ``"suresh"``: ``exp(-M p g_n)`` with ``g_n`` from :func:`poisson_refit_g`. Exact for the
      *Poisson* refit (each count redrawn as ``Poisson(count)``), and an upper bound on the
      multinomial extinction probability (see :func:`survival_bounds`); accurate when
      ``M p << M`` (rare symbols) and ``n << M``. Measured against ``"exact"`` for counts
      ``M p <= 10`` and ``n <= 100``: max abs error 0.037 at ``M = 100``, 0.0033 at
      ``M = 1000`` (shrinks like ``1/M``).

    References
    ----------
    Kimura, Genetics 40 (1955); Ewens, *Mathematical Population Genetics* (2004), sec. 5.4;
    Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive training", AISTATS 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import extinction_probability
    >>> np.round(extinction_probability([0, 1, 2], 0.5, 2), 12).tolist()
    [0.0, 0.25, 0.375]
    >>> np.round(extinction_probability([1, 10, 100], 0.05, 100), 6).tolist()
    [0.005921, 0.409448, 0.888425]
    >>> np.round(extinction_probability([1, 10, 100], 0.05, 100, method="suresh"), 6).tolist()
    [0.006738, 0.422624, 0.906909]
    >>> np.round(extinction_probability([1, 10, 100], 0.05, 100, method="kimura"), 6).tolist()
    [3.8e-05, 0.355451, 0.886295]

    Keeping 10 % fresh real data bounds the loss; accumulating data freezes it after the first
    (real) batch at ``(1 - p)^M``:

    >>> from modelcollapse.spec.workflows import accumulate, mix
    >>> wf = mix(real_fraction=0.1)
    >>> np.round(extinction_probability([1, 10, 100], 0.05, 100, workflow=wf), 6).tolist()
    [0.005921, 0.117813, 0.127758]
    >>> q = extinction_probability([1, 10, 100], 0.05, 100, workflow=accumulate())
    >>> np.round(q, 6).tolist()
    [0.005921, 0.005921, 0.005921]
    """
    wf = _workflow_chains(workflow, "extinction_probability")
    _check_method(method, ("exact", "kimura", "suresh") if wf.name == "replace" else ("exact",))
    nn, pp, MM = P.n.array(n), P.p.array(p), _check_M(M)
    _broadcast(n=nn, p=pp, M=MM)
    nn, pp, MM = np.broadcast_arrays(nn, pp, MM)
    if wf.name != "replace":
        from .discrete_workflow_chains import _extinction

        return _out(_extinction(nn, pp, MM, wf, "extinction_probability"))
    if method == "exact":
        check_exact_M(MM, "extinction_probability")
        return loss_probability(nn, pp, MM)
    if method == "kimura":
        return _kimura_loss(nn, pp, MM)
    g = poisson_refit_g(nn)
    with np.errstate(invalid="ignore"):
        val = np.exp(-MM * pp * g)
    return _out(np.where(nn == 0, (pp == 0).astype(np.float64), val))


def survival_probability(
    n: ArrayLike,
    p: ArrayLike,
    M: ArrayLike,
    *,
    method: str = "exact",
    workflow: W.WorkflowLike = None,
) -> NDArray[np.float64]:
    """Probability that a symbol is still present at generation ``n``.

    Formula: ``1 - extinction_probability(n, p, M, method=method)``; see
    :func:`extinction_probability` for the conventions, the methods and their accuracy.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p : float or array_like, original probability of one symbol, in [0, 1]
        The symbol's probability in ``p0``.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    method : {"exact", "kimura", "suresh"}, optional
        Computation method, as in :func:`extinction_probability`; default ``"exact"``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default,
        ``None``); ``mix(...)`` (fresh or one fixed real set; ``method="exact"``, no sampling
        bias): the exact single-symbol mix chain of
        :mod:`~modelcollapse.theory.discrete_workflow_chains`, "lost" meaning absent from
        generation ``n``'s fit; ``accumulate()`` (any categorical bias): absent from the pool,
        ``(1 - p)^M`` for every ``n >= 1`` (a symbol missing from the first, real, batch is never
        drawn again, one present stays in the pool). Other workflows raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``P(count_n >= 1)``, of the broadcast shape of ``n, p, M``.

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004), sec. 5.4; Suresh, Thangaraj & Khandavally
    (AISTATS 2025).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import survival_probability
    >>> np.round(survival_probability([0, 1, 10, 100], 0.05, 100), 6).tolist()
    [1.0, 0.994079, 0.590552, 0.111575]
    """
    wf = _workflow_chains(workflow, "survival_probability")
    return 1.0 - extinction_probability(n, p, M, method=method, workflow=wf)


def survival_bounds(
    n: ArrayLike, p: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rigorous bounds on the survival probability of a symbol (for figures).

    Returns ``(suresh_lower, lower, upper)`` with
    ``suresh_lower <= lower <= P(alive at n) <= upper``:

    - ``suresh_lower = 1 - exp(-M p / n)`` (the bound stated by Suresh et al.; uses
      ``g_n >= 1/n``);
    - ``lower = 1 - (1 - p g_n)^M`` (``g_n`` from :func:`poisson_refit_g`), which is
      ``>= 1 - exp(-M p g_n)``, the Poisson-refit survival. Proof sketch: with
      ``f_t(j) = P(count 0 after t further steps | count j)`` one shows by induction
      ``f_t(j) <= exp(-j g_t)`` (``g_0 = inf``), using ``E exp(-s Bin(M, q)) =
      (1 - q (1 - e^{-s}))^M <= exp(-M q (1 - e^{-s}))`` and ``g_{t+1} = 1 - e^{-g_t}``; the
      first step from ``p`` gives ``P(lost at n) <= (1 - p g_n)^M``. Exact at ``n = 1``.
    - ``upper = min(1, M p, p + M p (1 - p) (1 - 1/M)^(n-1))``: ``P(count >= 1) <= E count = M p``
      and ``P(alive) <= P(fixed) + P(0 < count < M) <= p + E[X(M - X)]/(M - 1)``, with
      ``E[X_n (M - X_n)] = M^2 p (1 - p) (1 - 1/M)^n`` (heterozygosity decay).

    At ``n = 0`` all three equal the exact value ``1[p > 0]``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p : float or array_like, original probability of one symbol, in [0, 1]
        The symbol's probability in ``p0``.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    suresh_lower, lower, upper : ndarray
        The three bounds, each of the broadcast shape of ``n, p, M``.

    References
    ----------
    Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive training"
    (AISTATS 2025), Thm. for unigram models.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import survival_bounds, survival_probability
    >>> lo_s, lo, up = survival_bounds([1, 10, 100], 0.05, 100)
    >>> np.round(lo_s, 6).tolist(), np.round(lo, 6).tolist(), up.tolist()
    ([0.993262, 0.393469, 0.048771], [0.994079, 0.57895, 0.093134], [1.0, 1.0, 1.0])
    >>> np.round(survival_probability([1, 10, 100], 0.05, 100), 6).tolist()
    [0.994079, 0.590552, 0.111575]
    """
    _replace(workflow, "survival_bounds")
    nn, pp, MM = P.n.array(n), P.p.array(p), _check_M(M)
    _broadcast(n=nn, p=pp, M=MM)
    nn, pp, MM = np.broadcast_arrays(nn, pp, MM)
    alive0 = (pp > 0).astype(np.float64)
    n_safe = np.maximum(nn, 1.0)
    suresh = -np.expm1(-MM * pp / n_safe)
    g = poisson_refit_g(n_safe)  # g_n = 1 - exp(-g_{n-1})
    with np.errstate(divide="ignore"):
        lower = -np.expm1(MM * np.log1p(-pp * g))  # 1 - (1 - p g_n)^M; p g_n <= 1
        log_keep = np.log1p(-1.0 / MM)  # log(1 - 1/M)
    upper = np.minimum.reduce(
        [
            np.ones_like(pp),
            MM * pp,
            pp + MM * pp * (1.0 - pp) * _pow_decay(log_keep, n_safe - 1.0),
        ]
    )
    z = nn == 0
    return (
        _out(np.where(z, alive0, suresh)),
        _out(np.where(z, alive0, lower)),
        _out(np.where(z, alive0, upper)),
    )


def expected_survivors(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Expected support size at generation ``n``: ``sum_i (1 - P(symbol i lost by n))``.

    Exact by linearity of expectation (each symbol's count is the binomial chain started at
    ``p0_i``; all symbols share one transition matrix, so one backward propagation serves the
    whole vocabulary). Generation 0 gives the number of symbols with ``p0_i > 0``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer in [1, MAX_EXACT_M]
        Samples drawn per generation.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`): ``'replace'`` (the default,
        ``None``); ``mix(...)`` (fresh or one fixed real set; ``method="exact"``, no sampling
        bias): the exact single-symbol mix chain of
        :mod:`~modelcollapse.theory.discrete_workflow_chains`, "lost" meaning absent from
        generation ``n``'s fit; ``accumulate()`` (any categorical bias): absent from the pool,
        ``(1 - p)^M`` for every ``n >= 1`` (a symbol missing from the first, real, batch is never
        drawn again, one present stays in the pool). Other workflows raise ``ValueError``.

    Returns
    -------
    float or ndarray
        Expected number of symbols with a non-zero count; ``n`` and ``M`` broadcast against
        ``p0.shape[:-1]``.

    Notes
    -----
    Uses the exact method of :func:`extinction_probability` (same accuracy and cost).

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004); Shumailov et al., Nature 631 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import expected_survivors
    >>> np.round(expected_survivors([0, 1, 10, 100], [0.5, 0.3, 0.15, 0.05], 100), 6).tolist()
    [4.0, 3.994079, 3.526107, 1.734224]
    >>> from modelcollapse.spec.workflows import mix
    >>> s = expected_survivors([0, 1, 10, 100], [0.5, 0.3, 0.15, 0.05], 100,
    ...                        workflow=mix(real_fraction=0.1))
    >>> np.round(s, 6).tolist()
    [4.0, 3.994079, 3.880938, 3.870619]
    """
    wf = _workflow_chains(workflow, "expected_survivors")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = _check_M(M)
    _broadcast(n=nn, p0=_lead(p), M=MM)
    ext = extinction_probability(nn[..., None], p, MM[..., None], workflow=wf)
    return np.sum(1.0 - ext, axis=-1)


def fixation_probability(p: ArrayLike, *, workflow: W.WorkflowLike = None) -> NDArray[np.float64]:
    """Probability that a symbol with original probability ``p`` eventually takes over: ``p``.

    Formula: ``P(fixation) = p``. Exact for every ``M``: the frequency is a bounded martingale
    absorbed in ``{0, 1}`` (proofs/wright_fisher.md: step 2 for the absorbing states, step 5 for
    the fixation probability).

    Parameters
    ----------
    p : float or array_like, original probability of one symbol, in [0, 1]
        The symbol's probability in ``p0``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``p`` (as float64), of the shape of ``p``.

    References
    ----------
    Ewens, *Mathematical Population Genetics* (2004), sec. 1.5.

    Examples
    --------
    >>> from modelcollapse.theory.discrete import fixation_probability
    >>> fixation_probability([0, 0.25, 1]).tolist()
    [0.0, 0.25, 1.0]
    """
    _replace(workflow, "fixation_probability")
    return P.p.array(p) + 0.0


def expected_absorption_time(
    p: ArrayLike, M: ArrayLike, *, method: str = "exact", workflow: W.WorkflowLike = None
):
    """Expected generation at which a symbol is lost or fixed (two-type absorption time).

    Convention: time counted in generations from generation 0 (the original distribution); the
    absorption time ``T`` is the first generation whose count is 0 or ``M``. ``T = 0`` if
    ``p in {0, 1}``; otherwise ``T >= 1``.

    Formulas:

    - ``"exact"``: ``E T = 1 + sum_j Binomial(M, p).pmf(j) * tau(j)`` where
      ``tau = (I - Q)^{-1} 1`` is the fundamental-matrix absorption time of the chain on the
      transient states ``1..M-1``.
    - ``"diffusion"``: ``-2 M [p ln p + (1 - p) ln(1 - p)]`` (Kimura & Ohta 1969, haploid time
      scale).

    Parameters
    ----------
    p : float or array_like, original probability of one symbol, in [0, 1]
        The symbol's probability in ``p0``.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
        ``M <= MAX_EXACT_M`` for ``method="exact"``; broadcast against ``p``.
    method : {"exact", "diffusion"}, optional
        Computation method; default ``"exact"``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E T``, of the broadcast shape of ``p`` and ``M`` (a 0-d array for scalar arguments with
        ``method="exact"``).

    Notes
    -----
    ``"exact"``: ``tau = (I - Q)^{-1} 1 = sum_{s>=0} P(not absorbed after s steps)`` from the
    loss model of :mod:`~modelcollapse.theory.wright_fisher` (the first ``S`` terms summed
    exactly, the rest in closed form on the polynomial subspace; a dense solve for ``M <= 64``);
    see :func:`~modelcollapse.theory.wright_fisher.fundamental_solutions`. Relative error,
    measured against 30-digit mpmath: <= 3e-15 (``M <= 150``), <= 1.2e-14 (``M = 300``); cost
    0.1 s at ``M = 1000``, under a second at ``M = 20000`` (cached per ``M``; a banded LU took
    13-34 s there). ``"diffusion"`` has relative error ``O(1/M)`` away from the boundaries.

    References
    ----------
    Kemeny & Snell, *Finite Markov Chains* (1960); Ewens, *Mathematical Population Genetics*
    (2004), sec. 4.4; Kimura & Ohta, Genetics 61 (1969).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import expected_absorption_time
    >>> np.round(expected_absorption_time([0, 0.5, 1], 2), 12).tolist()
    [0.0, 2.0, 0.0]
    >>> round(float(expected_absorption_time(0.5, 100)), 6)
    136.602278
    >>> round(float(expected_absorption_time(0.5, 100, method="diffusion")), 6)
    138.629436
    """
    _replace(workflow, "expected_absorption_time")
    _check_method(method, ("exact", "diffusion"))
    pp, MM = P.p.array(p), _check_M(M)
    _broadcast(p=pp, M=MM)
    pp, MM = np.broadcast_arrays(pp, MM)
    if method == "diffusion":
        return _out(-2.0 * MM * (xlogy(pp, pp) + xlogy(1.0 - pp, 1.0 - pp)))
    check_exact_M(MM, "expected_absorption_time")
    interior = (pp > 0) & (pp < 1)
    return _out(np.where(interior, 1.0 + absorption_expectation(pp, MM, 0), 0.0))


def expected_time_to_fixation(
    p: ArrayLike, M: ArrayLike, *, method: str = "exact", workflow: W.WorkflowLike = None
):
    """Expected absorption generation conditional on the symbol taking over (fixation).

    Formulas:

    - ``"exact"``: Doob h-transform with ``h(j) = j/M``:
      ``E[T | fix] = 1 + sum_j Binomial(M, p).pmf(j) (N h)(j) / p`` (``N`` the fundamental matrix).
    - ``"diffusion"``: ``-2 M (1 - p) ln(1 - p) / p`` (limit ``2M`` as ``p -> 0``).

    Time convention as in :func:`expected_absorption_time`.

    Parameters
    ----------
    p : float or array_like, original probability of one symbol, in (0, 1]
        The symbol's probability in ``p0``; fixation has probability ``p``, so ``p = 0`` raises
        ``ValueError``; ``p = 1`` gives 0.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
        ``M <= MAX_EXACT_M`` for ``method="exact"``; broadcast against ``p``.
    method : {"exact", "diffusion"}, optional
        Computation method; default ``"exact"``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E[T | fixation]``, of the broadcast shape of ``p`` and ``M``.

    References
    ----------
    Kimura & Ohta, Genetics 61 (1969); Ewens, *Mathematical Population Genetics* (2004),
    sec. 4.6.

    Examples
    --------
    >>> from modelcollapse.theory.discrete import expected_time_to_fixation
    >>> round(float(expected_time_to_fixation(0.1, 100)), 6)
    187.425738
    >>> round(float(expected_time_to_fixation(0.1, 100, method="diffusion")), 6)
    189.648928
    """
    _replace(workflow, "expected_time_to_fixation")
    _check_method(method, ("exact", "diffusion"))
    pp = P.p.array(p)
    if (pp == 0).any():
        raise ValueError("p must be a real in (0, 1] for the time to fixation (got 0.0)")
    MM = _check_M(M)
    _broadcast(p=pp, M=MM)
    pp, MM = np.broadcast_arrays(pp, MM)
    if method == "diffusion":
        return _out(-2.0 * MM * xlogy(1.0 - pp, 1.0 - pp) / pp)
    check_exact_M(MM, "expected_time_to_fixation")
    return _out(np.where(pp < 1, 1.0 + absorption_expectation(pp, MM, 1) / pp, 0.0))


def expected_time_to_loss(
    p: ArrayLike, M: ArrayLike, *, method: str = "exact", workflow: W.WorkflowLike = None
):
    """Expected absorption generation conditional on the symbol being lost.

    Formulas:

    - ``"exact"``: h-transform with ``h(j) = 1 - j/M``:
      ``E[T | loss] = 1 + sum_j Binomial(M, p).pmf(j) (N h)(j) / (1 - p)``.
    - ``"diffusion"``: ``-2 M p ln p / (1 - p)`` (limit ``2M`` as ``p -> 1``).

    Time convention as in :func:`expected_absorption_time`.

    Parameters
    ----------
    p : float or array_like, original probability of one symbol, in [0, 1)
        The symbol's probability in ``p0``; ``p = 1`` raises ``ValueError``; ``p = 0`` gives 0.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
        ``M <= MAX_EXACT_M`` for ``method="exact"``; broadcast against ``p``.
    method : {"exact", "diffusion"}, optional
        Computation method; default ``"exact"``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E[T | loss]``, of the broadcast shape of ``p`` and ``M``.

    References
    ----------
    Kimura & Ohta, Genetics 61 (1969); Ewens, *Mathematical Population Genetics* (2004).

    Examples
    --------
    >>> from modelcollapse.theory.discrete import (expected_absorption_time,
    ...                                            expected_time_to_fixation, expected_time_to_loss)
    >>> round(float(expected_time_to_loss(0.1, 100)), 6)
    49.679877
    >>> round(float(expected_time_to_loss(0.1, 100, method="diffusion")), 6)
    51.168558

    The two conditional times average to the unconditional one, with weights ``p`` and ``1 - p``:

    >>> t_fix, t_loss = expected_time_to_fixation(0.1, 100), expected_time_to_loss(0.1, 100)
    >>> bool(abs(0.1 * t_fix + 0.9 * t_loss - expected_absorption_time(0.1, 100)) < 1e-9)
    True
    """
    _replace(workflow, "expected_time_to_loss")
    _check_method(method, ("exact", "diffusion"))
    pp = P.p.array(p)
    if (pp == 1).any():
        raise ValueError("p must be a real in [0, 1) for the time to loss (got 1.0)")
    MM = _check_M(M)
    _broadcast(p=pp, M=MM)
    pp, MM = np.broadcast_arrays(pp, MM)
    if method == "diffusion":
        return _out(-2.0 * MM * xlogy(pp, pp) / (1.0 - pp))
    check_exact_M(MM, "expected_time_to_loss")
    return _out(np.where(pp > 0, 1.0 + absorption_expectation(pp, MM, 2) / (1.0 - pp), 0.0))


def expected_time_to_monomorphism(
    p0: ArrayLike, M: ArrayLike, *, workflow: W.WorkflowLike = None
) -> NDArray[np.float64]:
    """Expected generations until a single symbol remains (diffusion approximation).

    Formula (Littler 1975, haploid time scale): ``-2 M sum_i (1 - p0_i) ln(1 - p0_i)``.
    For ``K = 2`` it coincides with ``expected_absorption_time(p, M, method="diffusion")``.
    Generation 0 is ``p0``.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
        Broadcast against ``p0.shape[:-1]``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        The expected number of generations, of shape ``broadcast(M, p0.shape[:-1])``.

    Notes
    -----
    A diffusion approximation (relative error ``O(1/M)``); cheap for any ``M``.

    References
    ----------
    Littler, Theor. Pop. Biol. 7 (1975).

    Examples
    --------
    >>> from modelcollapse.theory.discrete import (expected_absorption_time,
    ...                                            expected_time_to_monomorphism)
    >>> round(float(expected_time_to_monomorphism([0.5, 0.3, 0.2], 100)), 6)
    154.952178
    >>> bool(expected_time_to_monomorphism([0.3, 0.7], 100)
    ...      == expected_absorption_time(0.3, 100, method="diffusion"))
    True
    """
    _replace(workflow, "expected_time_to_monomorphism")
    p = P.p0.check(p0)
    MM = _check_M(M)
    _broadcast(p0=_lead(p), M=MM)
    q = np.clip(1.0 - p, 0.0, 1.0)
    return -2.0 * MM * np.sum(xlogy(q, q), axis=-1)


# --------------------------------------------------------------------------------------------
# add-beta smoothing
# --------------------------------------------------------------------------------------------


def _smoothing_terms(M, K, beta):
    """``log a``, ``S* = b / (1 - a)``, ``H* = 1 - S*`` and ``log r`` of the add-beta recursion
    ``S_{t+1} = a S_t + b`` (``a = M (M-1)/D^2``, ``b = (M + 2 beta M + K beta^2)/D^2``,
    ``D = M + K beta``, ``r = M/D``), overflow-free for any ``M, K, beta`` (``1e300`` included).

    With ``u = log(K beta / M)``, ``r = expit(-u)``, ``s = K beta / D = expit(u)``:
    ``log a = -2 log1p(e^u) + log1p(-1/M)``, ``1 - a = s (1 + r) + r^2/M``,
    ``b = r^2/M + s (1 + r)/K`` and ``H* = s (1 + r) (1 - 1/K) / (1 - a)``: no difference of
    large or nearly equal numbers.
    """
    with np.errstate(divide="ignore"):
        u = np.log(K) + np.log(beta) - np.log(M)  # beta = 0: -inf
        log_r = -np.logaddexp(0.0, u)
        log_a = 2.0 * log_r + np.log1p(-1.0 / M)
    r, s = expit(-u), expit(u)
    growth = s * (1.0 + r)
    one_minus_a = growth + r * r / M
    Sstar = (r * r / M + growth / K) / one_minus_a
    Hstar = growth * (1.0 - 1.0 / K) / one_minus_a
    return log_a, Sstar, Hstar, log_r


def smoothed_stationary_heterozygosity(
    K: ArrayLike, M: ArrayLike, beta: ArrayLike, *, workflow: W.WorkflowLike = None
):
    """Stationary expected heterozygosity under add-beta smoothing.

    Formula: ``H* = (K - 1) beta (2M + K beta) / (K beta (2M + K beta) + M)``, the fixed point of
    the recursion of :func:`smoothed_expected_heterozygosity`. Positive for ``beta > 0`` and
    ``K >= 2``: smoothing removes the absorbing states and a stationary regime replaces collapse
    (``H* -> (K-1)/K``, the uniform value, as ``beta -> inf``; ``H* -> 0`` as ``beta -> 0``).

    Parameters
    ----------
    K : int or array_like, integer >= 1
        Number of symbols of the categorical distribution.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    beta : float or array_like, real >= 0
        Add-beta pseudo-count: each refit is ``q_i = (count_i + beta) / (M + K beta)``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``H*``, of the broadcast shape of ``K, M, beta``.

    References
    ----------
    Derivation: :mod:`modelcollapse.theory.symbolic.discrete` (``solutions()``).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import smoothed_stationary_heterozygosity
    >>> round(float(smoothed_stationary_heterozygosity(2, 10, 1.0)), 12)  # 22/54
    0.407407407407
    >>> np.round(smoothed_stationary_heterozygosity(3, 100, [0, 0.5, 1e6]), 8).tolist()
    [0.0, 0.50093226, 0.66666667]
    """
    _replace(workflow, "smoothed_stationary_heterozygosity")
    KK = P.K.array(K)
    MM = _check_M(M)
    bb = _check_beta(beta)
    _broadcast(K=KK, M=MM, beta=bb)
    return _out(_smoothing_terms(MM, KK, bb)[2])


def smoothed_expected_collision(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, beta: ArrayLike, *, workflow: W.WorkflowLike = None
):
    """``E sum_i q_{n,i}^2`` under add-beta smoothing ``q_i = (count_i + beta)/(M + K beta)``.

    Exact linear recursion (``D = M + K beta``, ``S_t = E sum_i q_{t,i}^2``)::

        S_{t+1} = a S_t + b,   a = M (M - 1) / D^2,   b = (M + 2 beta M + K beta^2) / D^2,

    from ``E[(c_i + beta)^2] = M q_i (1 - q_i) + (M q_i + beta)^2``, so
    ``S_n = a^n S_0 + S* (1 - a^n)`` with ``S* = b / (1 - a)``. ``K = p0.shape[-1]`` counts every
    symbol of the alphabet (including those with ``p0_i = 0``). Generation 0 is ``p0``
    (unsmoothed); every refit is smoothed. ``beta = 0`` recovers :func:`expected_collision`.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    beta : float or array_like, real >= 0
        Add-beta pseudo-count: each refit is ``q_i = (count_i + beta) / (M + K beta)``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``S_n``; ``n, M, beta`` broadcast against ``p0.shape[:-1]``.

    References
    ----------
    Derivation: :mod:`modelcollapse.theory.symbolic.discrete`.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import smoothed_expected_collision
    >>> np.round(smoothed_expected_collision([0, 1, 10, 1000], [0.5, 0.5], 10, 1.0), 8).tolist()
    [0.5, 0.53472222, 0.59175047, 0.59259259]
    >>> float(smoothed_expected_collision(1, [0.5, 0.5], 2, 0.0))
    0.75
    """
    _replace(workflow, "smoothed_expected_collision")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = _check_M(M)
    bb = _check_beta(beta)
    _broadcast(n=nn, p0=_lead(p), M=MM, beta=bb)
    log_a, Sstar, _, _ = _smoothing_terms(MM, p.shape[-1], bb)
    S0 = 1.0 - _gini_simpson(p)
    return _out(_pow_decay(log_a, nn) * S0 + Sstar * _one_minus_pow(log_a, nn))


def smoothed_expected_heterozygosity(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, beta: ArrayLike, *, workflow: W.WorkflowLike = None
):
    """Expected Gini-Simpson index ``E[1 - sum_i q_{n,i}^2]`` under add-beta smoothing.

    Formula: ``H_n = a^n H_0 + H* (1 - a^n)`` with ``a = M (M-1)/(M + K beta)^2``, ``H_0 =
    1 - sum p0^2`` and ``H*`` from :func:`smoothed_stationary_heterozygosity` (see
    :func:`smoothed_expected_collision` for the recursion). Generation 0 is ``p0``.
    ``beta = 0`` gives ``(1 - 1/M)^n H_0``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    beta : float or array_like, real >= 0
        Add-beta pseudo-count: each refit is ``q_i = (count_i + beta) / (M + K beta)``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``H_n``; ``n, M, beta`` broadcast against ``p0.shape[:-1]``.

    References
    ----------
    Derivation: :mod:`modelcollapse.theory.symbolic.discrete`.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import smoothed_expected_heterozygosity
    >>> H = smoothed_expected_heterozygosity([0, 1, 10, 1000], [0.5, 0.5], 10, 1.0)
    >>> np.round(H, 8).tolist()
    [0.5, 0.46527778, 0.40824953, 0.40740741]
    """
    _replace(workflow, "smoothed_expected_heterozygosity")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = _check_M(M)
    bb = _check_beta(beta)
    _broadcast(n=nn, p0=_lead(p), M=MM, beta=bb)
    log_a, _, Hstar, _ = _smoothing_terms(MM, p.shape[-1], bb)
    return _out(_pow_decay(log_a, nn) * _gini_simpson(p) + Hstar * _one_minus_pow(log_a, nn))


def smoothed_expected_sq_distance(
    n: ArrayLike, p0: ArrayLike, M: ArrayLike, beta: ArrayLike, *, workflow: W.WorkflowLike = None
):
    """``E||q_n - p0||^2`` under add-beta smoothing.

    Formula: with ``r = M / (M + K beta)``, ``E q_n = r^n p0 + (1 - r^n)/K`` and
    ``E||q_n - p0||^2 = S_n - 2 [r^n sum p0^2 + (1 - r^n)/K] + sum p0^2``, ``S_n`` from
    :func:`smoothed_expected_collision`. Tends to ``S* - 2/K + sum p0^2`` as ``n -> inf`` (the
    smoothed chain forgets ``p0`` and fluctuates around the uniform distribution).

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
    M : int or array_like, integer >= 1
        Samples drawn per generation.
    beta : float or array_like, real >= 0
        Add-beta pseudo-count: each refit is ``q_i = (count_i + beta) / (M + K beta)``.
    workflow : Workflow or str, optional
        Data policy (:mod:`modelcollapse.spec.workflows`); the formulas are those of ``'replace'``
        (the default, ``None``); other workflows and sampling biases raise ``ValueError``.

    Returns
    -------
    float or ndarray
        ``E||q_n - p0||^2`` (clipped at 0); ``n, M, beta`` broadcast against ``p0.shape[:-1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import smoothed_expected_sq_distance
    >>> d = smoothed_expected_sq_distance([0, 1, 10, 1000], [0.5, 0.3, 0.2], 10, 1.0)
    >>> np.round(d, 8).tolist()
    [0.0, 0.0391716, 0.12421542, 0.13105485]
    """
    _replace(workflow, "smoothed_expected_sq_distance")
    nn = P.n.array(n)
    p = P.p0.check(p0)
    MM = _check_M(M)
    bb = _check_beta(beta)
    _broadcast(n=nn, p0=_lead(p), M=MM, beta=bb)
    K = p.shape[-1]
    log_a, Sstar, _, log_r = _smoothing_terms(MM, K, bb)
    S0 = 1.0 - _gini_simpson(p)
    # S_n - 2 E[q_n] . p0 + S0 = (1 - a^n)(S* - S0) + 2 (1 - r^n)(S0 - 1/K)
    d = _one_minus_pow(log_a, nn) * (Sstar - S0) + 2.0 * _one_minus_pow(log_r, nn) * (S0 - 1.0 / K)
    return _out(np.clip(d, 0.0, None))


# --------------------------------------------------------------------------------------------
# mixing real and synthetic data
# --------------------------------------------------------------------------------------------


def _check_mix(N, n_synth):
    NN = _N_REAL.array(N)
    ns = _N_SYNTH.array(n_synth)
    _broadcast(N=NN, n_synth=ns)
    tot = NN + ns
    if np.any(tot < 1):
        raise ValueError(f"N + n_synth must be >= 1 (got {P.show(tot[tot < 1])})")
    return NN, ns


def _mix_terms(NN, ns):
    """``a = n_synth/T``, ``b = N/T``, ``1/T`` (``T = N + n_synth``) and ``log rho``
    (``rho = n_synth (n_synth - 1)/T^2``) as ratios: finite for any sizes (``1e300`` included)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(ns > 0, 1.0 / (1.0 + NN / np.where(ns > 0, ns, 1.0)), 0.0)
        b = np.where(NN > 0, 1.0 / (1.0 + ns / np.where(NN > 0, NN, 1.0)), 0.0)
        inv_T = np.where(ns > 0, a / np.where(ns > 0, ns, 1.0), 1.0 / np.where(NN > 0, NN, 1.0))
        ns1 = np.where(ns > 0, ns, 1.0)
        log_a = np.where(ns > 0, -np.log1p(NN / ns1), -np.inf)  # log(n_synth / T), no rounding
        log_rho = 2.0 * log_a + np.log1p(-1.0 / ns1)
    return a, b, inv_T, log_rho


@P.renamed_keywords(p_star="p0")
def mixed_expected_sq_distance(n: ArrayLike, p0: ArrayLike, N: ArrayLike, n_synth: ArrayLike):
    """``E||p_n - p0||^2`` when each refit mixes ``N`` real and ``n_synth`` synthetic samples.

    Each refit uses ``N`` fresh real samples from ``p0`` plus ``n_synth`` samples from the current
    model. Formula (``T = N + n_synth``, ``H* = 1 - sum p0^2``, ``rho = n_synth (n_synth - 1) /
    T^2``)::

        D_n = (H* / T) (1 - rho^n) / (1 - rho)        (D_0 = 0, generation 0 is p0).

    Derivation: ``p_{t+1} = (X + Y)/T`` with ``X ~ Mult(N, p0)``, ``Y ~ Mult(n_synth, p_t)``;
    ``E[p_{t+1} | p_t] = p0 + a (p_t - p0)`` with ``a = n_synth/T`` so ``E p_t = p0`` and
    ``D_{t+1} = a^2 D_t + [N H* + n_synth (H* - D_t)] / T^2 = rho D_t + H*/T``.
    ``N = 0`` recovers :func:`expected_sq_distance` with ``M = n_synth``.

    Parameters
    ----------
    n : int or array_like, integer >= 0
        Generation index: 0 is the original distribution ``p0``, ``n`` the model after ``n``
        refits.
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
        (Deprecated keyword spelling: ``p_star``, which warns with ``DeprecationWarning``.)
    N : int or array_like, integer >= 0
        Fresh real samples drawn from ``p0`` per generation.
    n_synth : int or array_like, integer >= 0
        Synthetic samples drawn from the current model per generation (``N + n_synth >= 1``).

    Returns
    -------
    float or ndarray
        ``D_n``; ``n, N, n_synth`` broadcast against ``p0.shape[:-1]``.

    Notes
    -----
    Exact. A thin wrapper: the same formula as
    ``expected_sq_distance(n, p0, N + n_synth, workflow=mix(n_real=N))``
    (:mod:`~modelcollapse.theory.discrete_workflows`, one implementation), kept for its
    signature, which lets ``N`` and ``n_synth`` vary per entry. It takes no ``workflow``: the
    mixing policy is set by ``N`` and ``n_synth``.

    References
    ----------
    Derived in :mod:`modelcollapse.theory.symbolic.discrete` (the mixing recursion);
    Bertrand et al. (ICLR 2024) and Gerstgrasser et al. (2024) for the workflows.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.discrete import expected_sq_distance, mixed_expected_sq_distance
    >>> p0 = [0.5, 0.3, 0.2]
    >>> np.round(mixed_expected_sq_distance([0, 1, 10, 1000], p0, 10, 90), 8).tolist()
    [0.0, 0.0062, 0.0277684, 0.03115578]
    >>> bool(np.allclose(mixed_expected_sq_distance([1, 10], p0, 0, 100),
    ...                  expected_sq_distance([1, 10], p0, 100), rtol=1e-12))
    True
    """
    nn = P.n.array(n)
    p = P.p0.check(p0)
    NN, ns = _check_mix(N, n_synth)
    _broadcast(n=nn, p0=_lead(p), N=NN, n_synth=ns)
    from .discrete_workflows import _mix_sq_distance

    return _out(_mix_sq_distance(nn, p, NN, ns))


@P.renamed_keywords(p_star="p0")
def mixed_sq_distance_limit(p0: ArrayLike, N: ArrayLike, n_synth: ArrayLike):
    """Limit of :func:`mixed_expected_sq_distance` as ``n -> inf``.

    Formula: ``(1 - sum p0^2) / (N (1 + a) + a)`` with ``a = n_synth / (N + n_synth)`` (equal to
    ``H* T / (T^2 - n_synth^2 + n_synth)``). Finite for ``N >= 1``: fresh real data stop
    collapse.

    Parameters
    ----------
    p0 : array_like, probability vector along the last axis
        Original distribution over the ``K = p0.shape[-1]`` symbols (entries ``>= 0`` summing to 1
        within 1e-9); leading axes hold several distributions.
        (Deprecated keyword spelling: ``p_star``, which warns with ``DeprecationWarning``.)
    N : int or array_like, integer >= 0
        Fresh real samples drawn from ``p0`` per generation.
    n_synth : int or array_like, integer >= 0
        Synthetic samples drawn from the current model per generation (``N + n_synth >= 1``).

    Returns
    -------
    float or ndarray
        ``lim_n E||p_n - p0||^2``; ``N`` and ``n_synth`` broadcast against ``p0.shape[:-1]``.
        For ``N = 0`` it is ``1 - sum p0^2`` (complete collapse).

    Notes
    -----
    Exact. A thin wrapper over the limit of
    :func:`~modelcollapse.theory.discrete_workflows.sq_distance_limit` for
    ``workflow=mix(n_real=N)`` and ``M = N + n_synth`` (one implementation).

    References
    ----------
    Derived in :mod:`modelcollapse.theory.symbolic.discrete`; Bertrand et al. (ICLR 2024).

    Examples
    --------
    >>> from modelcollapse.theory.discrete import mixed_sq_distance_limit
    >>> round(float(mixed_sq_distance_limit([0.5, 0.3, 0.2], 10, 90)), 12)  # 0.62 * 100 / 1990
    0.031155778894
    >>> round(float(mixed_sq_distance_limit([0.5, 0.3, 0.2], 0, 90)), 12)
    0.62
    """
    p = P.p0.check(p0)
    NN, ns = _check_mix(N, n_synth)
    _broadcast(p0=_lead(p), N=NN, n_synth=ns)
    from .discrete_workflows import _mix_limit

    return _out(_mix_limit(p, NN, ns))
