"""Monte Carlo simulator of recursive refitting of a categorical distribution (Wright-Fisher).

Model (convention of the whole package): generation 0 is the original distribution p0 over K
symbols. Generation t >= 1 is the model refit on M samples drawn from generation t - 1::

    counts_1 ~ Multinomial(M, p0)                      (the first fit sees M real samples)
    counts_{t+1} ~ Multinomial(M, w_t / sum(w_t)),     w_t = q_t^(1/T)
    q_t = (counts_t + beta) / (M + K beta)             (fitted model; beta = add-beta smoothing)

With beta = 0 and T = 1 this is the neutral haploid Wright-Fisher model with population size M
(counts_{t+1} ~ Multinomial(M, counts_t / M)); its only absorbing states are the deltas. beta > 0
removes the absorbing states; a sampling temperature T < 1 (a sampling bias of the workflow:
synthetic data drawn from the sharpened model q^(1/T), normalised) accelerates the loss of the
tail. The bias applies only to synthetic data; the first fit uses p0 itself. Besides the
temperature, the sampling biases top-k and top-p (nucleus) truncate the tempered model to its k
most probable symbols, then to the smallest set of most probable symbols of mass >= p (ties
to the smaller symbol index), renormalising after each step (:func:`biased_weights`).

Data workflows (the value of :mod:`modelcollapse.spec.workflows` that the theory takes):
``replace`` (above), ``mix`` (fresh or fixed real draws from p0 pooled with synthetic ones),
``accumulate`` (the pooled counts of all generations), ``accumulate_subsample`` (a uniform
subsample without replacement of that pool, drawn exactly from its counts: multivariate
hypergeometric, :mod:`modelcollapse.sims.rng.hypergeometric`) and ``weighted``
(``q_t = w q_real + (1 - w) q_synth``), all on both paths; see :func:`simulate`. ``M`` is a
constant or a growing (any) schedule ``M_1, ..., M_n`` under every workflow: ``M_g`` points
for the fit that produces generation ``g`` (added to the pool under accumulate).

The family is a kernel on the shared driver (:mod:`modelcollapse.sims.driver`) under a workflow
(:mod:`modelcollapse.sims.workflows`); its sufficient statistics are the counts. Two exact paths:

- ``method="samples"`` (reference): draw M token ids by inverse cdf and count them, in exact
  integer arithmetic (:mod:`modelcollapse.sims.rng.categorical`): 64 uniform bits per token
  against 64-bit fixed-point cumulative masses -- of the float64 p0 for generation 1
  (``floor(p0_i 2^62)``, exact, on the host), of the counts themselves when beta = 0 and
  T = 1 (resample M tokens uniformly), else of the float32 weights ``q^(1/T)`` read exactly
  from their bits. A token's law is the normalised p0 or weights up to 2^-59 per symbol, so
  symbols far below float32 resolution (p0_i = 1e-9) are drawn at their rate;
- ``method="sufficient"`` (fast, the default; ``"counts"`` is its deprecated name): the counts
  directly, by the conditional-binomial multinomial sampler of
  :mod:`modelcollapse.sims.rng.binomial`.

Observables recorded per chain at the recorded generations (always including 0):
``survivors`` (number of symbols with count > 0; at generation 0 the support of p0),
``heterozygosity`` 1 - sum q_t^2 (Gini-Simpson), ``entropy`` -sum q_t log q_t (nats),
optionally ``counts``; with ``drift=True`` (or a list of names) also the drift of the fitted
q_t from p0 on the numeric support x_1 < ... < x_K (:data:`DRIFT`): ``w1`` = W1(q_t, p0),
``tv`` = TV(q_t, p0), ``w2_squared`` = W2^2(q_t, p0) on the line, ``mean`` = sum x q_t,
``variance`` = Var_{q_t}(X), ``missing_mass`` = sum_i p0_i 1{count_i = 0} and
``cramer_squared`` = sum_j dx_j (F_t(j) - F_0(j))^2; over the whole run
``extinction_generation`` (first generation at which a symbol's count is 0; 0 where
p0_i = 0; -1 if it never happened within the run) and
``absorption_generation`` (first generation with a single symbol left; -1 if not reached).

Randomness: chain i uses the key words of ``fold_in(fold_in(key, i), 0)``; generation g draws
from the Threefry blocks ``(g, tag)`` under them, so every chain's path is bit-identical whatever
``chunk_size``, the number of devices or of processes. References: S. Wright (1931),
R. A. Fisher (1930); Shumailov et al., Nature 631 (2024) (model collapse of discrete
distributions).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims import driver
from modelcollapse.sims._reduce import tree_sum_last
from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.binomial import MAX_N, multinomial_rows
from modelcollapse.sims.rng.categorical import (
    count_thresholds,
    host_thresholds,
    symbol_counts,
    token_symbols,
    weight_thresholds,
)
from modelcollapse.sims.rng.hypergeometric import subsample_counts
from modelcollapse.sims.rng.threefry import Stream, materialize
from modelcollapse.sims.workflows import IMPLEMENTED, kernel
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = ["DiscreteRun", "simulate", "default_record", "CategoricalFamily",
           "CategoricalState", "CategoricalParams", "DriftParams", "drift_params", "DRIFT",
           "WORKFLOWS", "BIASES", "biased_weights"]

_EXTINCTION_LIMIT = 2**26  # chains * K above which extinction tracking is switched off
_COUNTS_TAG = 0x5EED6E4E  # block (g, tag): the seed of generation g's multinomial draw
_TOKENS_TAG = 0x5EED7017  # block (g, tag): the key words of generation g's token draws
_BETA_SCALED = 2.0**100  # above this beta the weights are carried as counts 2^-e + beta 2^-e

#: The drift observables of :func:`simulate` (``drift=True`` records all of them).
DRIFT = ("w1", "tv", "w2_squared", "mean", "variance", "missing_mass", "cramer_squared")
#: Their names as kernel observables (``mean`` is recorded as its shift from the p0 mean).
_DRIFT_OBS = {"w1": "w1", "tv": "tv", "w2_squared": "w2_squared", "mean": "mean_shift",
              "variance": "variance", "missing_mass": "missing_mass",
              "cramer_squared": "cramer_squared"}

#: M of the categorical simulators: counts are exact float32 integers up to 2**24.
SIM_M = P.M.restrict(high=float(MAX_N))
#: The workflows this simulator runs (see :mod:`modelcollapse.sims.workflows`).
WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "accumulate_subsample",
                               "weighted")
#: The sampling biases of synthetic data it implements, applied in this order (see
#: :func:`biased_weights`).
BIASES: tuple[str, ...] = ("temperature", "top_k", "top_p")
#: Largest pooled count of the accumulate workflow (int32 counts): M times the generations.
_POOL_MAX = 2**31 - 1


class CategoricalState(NamedTuple):
    """Per chain: ``counts`` (n, K) of the last fit, ``extinct_at`` (n, K) first generation with
    count 0 (-1: not yet; shape (n, 0) when not tracked), ``absorbed_at`` (n,), and under the
    weighted workflow the fitted probabilities ``q`` (n, K) (else shape (n, 0)).

    Attributes
    ----------
    counts : jax.Array
        int32 ``(n, K)``: the counts of the last fit (zeros before the first fit).
    extinct_at : jax.Array
        int32 ``(n, K)``: first generation at which the symbol's count was 0 (0 where
        p0_i = 0, -1 not yet); ``(n, 0)`` when extinction is not tracked.
    absorbed_at : jax.Array
        int32 ``(n,)``: first generation with a single symbol left (-1 not yet).
    q : jax.Array
        float32 ``(n, K)``: the fitted probabilities, carried only by a family with
        ``weighted=True`` (a blend of two fits is no longer a count vector); ``(n, 0)``
        otherwise, where ``q = (counts + beta) / (total + K beta)``.

    Examples
    --------
    See :class:`CategoricalFamily`.
    """

    counts: jax.Array
    extinct_at: jax.Array
    absorbed_at: jax.Array
    q: jax.Array


class DriftParams(NamedTuple):
    """Host-computed constants of the drift observables (float32 and bool arrays on device).

    The cumulative p0 of every cut point j = 1..K-1 is carried from the side where it is
    at most 1/2: ``F0_j`` (``side`` true) or ``G0_j = 1 - F0_j`` (false), split as
    ``a + b`` with ``a`` of 12 significant bits, so that ``T a`` is exact in float32 for any
    integer T < 2^36 split in 12-bit parts (see :func:`_deviation`). Likewise ``pa + pb = p0``.

    Attributes
    ----------
    y : jax.Array
        ``(K,)`` the support centred at the p0 mean, ``x - sum p0 x``.
    dx : jax.Array
        ``(K - 1,)`` the gaps ``x_{j+1} - x_j``.
    fa, fb : jax.Array
        ``(K - 1,)`` the split of ``min(F0_j, G0_j)``.
    side : jax.Array
        ``(K - 1,)`` bool, ``F0_j <= G0_j``.
    ecut : jax.Array
        ``(K - 1,)`` ``j - K F0_j`` (the add-beta term of the cumulative deviation).
    f0, f0lo : jax.Array
        ``(K - 1,)`` ``F0_j`` as a float32 pair ``f0 + f0lo`` (the quantile breakpoints of p0
        for W2).
    pa, pb : jax.Array
        ``(K,)`` the split of p0.
    esym : jax.Array
        ``(K,)`` ``1 - K p0_i`` (the add-beta term of the symbol deviation).

    Examples
    --------
    >>> from modelcollapse.sims.discrete import drift_params
    >>> d = drift_params([0.5, 0.25, 0.25], [0.0, 1.0, 3.0])
    >>> d.y.tolist(), d.dx.tolist(), d.side.tolist()
    ([-1.0, 0.0, 2.0], [1.0, 2.0], [True, False])
    """

    y: jax.Array
    dx: jax.Array
    fa: jax.Array
    fb: jax.Array
    side: jax.Array
    ecut: jax.Array
    f0: jax.Array
    f0lo: jax.Array
    pa: jax.Array
    pb: jax.Array
    esym: jax.Array


def _split12(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v = a + b`` (float64 in, float32 out): ``a`` with 12 significant bits, ``b`` the rest."""
    m, e = np.frexp(v)
    a = np.ldexp(np.floor(m * 4096.0), e - 12)
    a32 = a.astype(np.float32)
    return a32, (v - a32.astype(np.float64)).astype(np.float32)


def drift_params(p0: Any, support: Any = None) -> DriftParams:
    """The constants of the drift observables of p0 on ``support`` (float64 on the host).

    ``mean = sum p0 x``; ``y = x - mean``; ``F0_j = sum_{i <= j} p0_i`` and
    ``G0_j = sum_{i > j} p0_i`` are both summed in float64 (so neither loses its small end).

    Parameters
    ----------
    p0 : array_like
        The original distribution (K,), validated as ``p0``.
    support : array_like, optional
        The numeric support x_1 < ... < x_K (default 0..K-1), validated as ``support``.

    Returns
    -------
    DriftParams

    Raises
    ------
    ValueError
        For an invalid p0 or support, or a support whose centred values or gaps are not
        finite in float32 (beyond 3.4e38).

    Examples
    --------
    >>> from modelcollapse.sims.discrete import drift_params
    >>> drift_params([0.5, 0.5], [10.0, 20.0]).y.tolist()
    [-5.0, 5.0]
    """
    p = P.p0.check(p0, ndim=1)
    K = p.shape[0]
    x = P.support_points(support, K)
    mu = float(np.dot(p, x))
    y = x - mu
    dx = np.diff(x)
    big = float(np.finfo(np.float32).max)
    if not (np.all(np.abs(y) < big) and np.all(dx < big)):
        raise ValueError(f"support must have its values centred at the p0 mean and its gaps "
                         f"below {big:.3g} (float32 on device) (got {P.show(support)})")
    F = np.cumsum(p)[:-1]
    G = np.cumsum(p[::-1])[::-1][1:]
    side = F <= G
    fa, fb = _split12(np.where(side, F, G))
    j = np.arange(1, K, dtype=np.float64)
    ecut = np.where(side, j - K * F, K * G - (K - j))
    pa, pb = _split12(p)
    f32 = np.float32
    return DriftParams(jnp.asarray(y, f32), jnp.asarray(dx, f32), jnp.asarray(fa),
                       jnp.asarray(fb), jnp.asarray(side), jnp.asarray(ecut, f32),
                       jnp.asarray(F, f32), jnp.asarray(F - F.astype(f32), f32),
                       jnp.asarray(pa), jnp.asarray(pb),
                       jnp.asarray(1.0 - K * p, f32))


def _deviation(c: jax.Array, parts: tuple[jax.Array, ...], a: jax.Array, b: jax.Array,
               once: Any) -> jax.Array:
    """``c - T (a + b)`` in float32 without the cancellation of ``c - fl(T f)``.

    ``T = t2 2^24 + t1 2^12 + t0`` (``parts``: the three terms as float32, each with at most
    12 significant bits) and ``a`` has 12 significant bits, so the products ``t_k a`` are
    exact; they are subtracted from the integer count largest first, then ``T b`` (a
    2^-12-relative correction). The absolute error is about ``2^-24 (|result| + 2^12 a)``
    counts, against ``2^-24 T a`` for the plain product. The products ``t_k a`` are exact
    (an FMA changes nothing); ``T b`` is computed ``once`` (:func:`~modelcollapse.sims.rng.
    threefry.materialize`), so no FMA contraction can make a chain's bits depend on the batch.
    """
    t2, t1, t0 = parts
    r = c.astype(jnp.float32) - t2[:, None] * a
    r = r - t1[:, None] * a
    r = r - t0[:, None] * a
    return r - once((t2 + t1 + t0)[:, None] * b)


class CategoricalParams(NamedTuple):
    """Run-time parameters: the schedule ``[M]``, the original probabilities ``p0w`` (K,) and
    (sample path) their exact cumulative thresholds.

    Attributes
    ----------
    sched : jax.Array
        int32 ``[M]``: the sample size of every generation.
    p0w : jax.Array
        float32 ``(K,)``: p0, the weights of the real data.
    cdf : tuple of jax.Array or None
        The exact 64-bit fixed-point thresholds of the float64 p0 and their total, as uint32
        words ``(thr_hi, thr_lo, tot_hi, tot_lo)`` (:func:`~modelcollapse.sims.rng.
        categorical.host_thresholds`); None: the sample path uses the float32 ``p0w``.
    drift : DriftParams or None
        The constants of the drift observables (:func:`drift_params`); None: not observed.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.discrete import CategoricalParams
    >>> CategoricalParams(jnp.array([10]), jnp.array([0.5, 0.5])).p0w.shape
    (2,)
    """

    sched: jax.Array
    p0w: jax.Array
    cdf: Any = None
    drift: Any = None


def _beta_scale(beta: float) -> tuple[float, float]:
    """``(s, b)`` with ``counts s + b`` proportional to ``counts + beta`` and finite in float32.

    ``s = 1, b = beta`` up to 2^100 (the weights of every earlier version); above,
    ``s = 2^-e``, ``b = beta 2^-e`` in [1, 2) with ``e = floor(log2 beta)``: the weights keep
    their float32 bits where both forms are finite, and beyond float32's range (beta = 1e39,
    1e300) they stay finite -- ``counts s`` then underflows, exactly as ``counts / beta`` is
    below float32 resolution next to 1.
    """
    if beta <= _BETA_SCALED:
        return 1.0, beta
    e = math.frexp(beta)[1] - 1
    return math.ldexp(1.0, -e), math.ldexp(beta, -e)


def _fit_weights(counts: jax.Array, beta: float) -> jax.Array:
    """Unnormalised fitted q = (counts + beta)/(M + K beta): ``counts s + b`` (float32)."""
    s, b = _beta_scale(beta)
    w = counts.astype(jnp.float32)
    return (w + jnp.float32(b)) if s == 1.0 else (w * jnp.float32(s) + jnp.float32(b))


def biased_weights(w: jax.Array, temperature: float = 1.0, top_k: int = 0,
                   top_p: float = 1.0) -> jax.Array:
    """The sampling weights of a fitted model under a sampling bias, unnormalised (JAX).

    With ``q = w / sum w`` the fitted model, synthetic symbols are drawn from
    ``r = normalise(keep * q^(1/T))``, the language-model order (temperature, then top-k,
    then top-p)::

        u = q^(1/T)                                        (temperature T)
        rank the symbols by u, largest first, ties by the smaller symbol index
        keep_k = {the top_k first ranked}                  (top_k = 0: all)
        v = u on keep_k, 0 elsewhere
        keep_p = {the smallest prefix of the ranking with sum v >= top_p sum v}
        r = v on keep_p, 0 elsewhere, normalised          (top_p = 1: all)

    so top-p measures mass in the tempered, top-k renormalised distribution (as the logits
    processors of language-model samplers chain them: temperature, top-k, top-p). The nucleus
    is the first ranked symbol ``j`` whose preceding mass is below ``p``: symbol ``j`` is kept
    iff ``sum_{i ranked before j} v_i < p sum v``, compared as the float32 ratio
    ``before / total < float32(p)`` (a prefix whose mass equals ``p`` to float32 resolution
    is a complete nucleus). Zero weights are never kept.

    Parameters
    ----------
    w : jax.Array
        float32 ``(n, K)``: non-negative weights proportional to the fitted model, each row
        with a positive entry (not validated: traced use).
    temperature : float
        T > 0 (static); ``u`` is taken relative to the row maximum,
        ``exp((log w - max log w)/T)``, with ``1/T`` computed in float64 (infinite for T
        below ~3e-39): T -> 0 tends to the indicator of the argmax, T -> infinity to that of
        the support; never NaN.
    top_k : int
        Keep the ``top_k`` most probable symbols (static; 0: all).
    top_p : float
        Nucleus mass in (0, 1] (static; 1: all).

    Returns
    -------
    jax.Array
        float32 ``(n, K)``: the weights ``r`` up to a positive factor per row.

    Examples
    --------
    Ties are broken by the symbol index, and a prefix of mass exactly p is the nucleus:

    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.discrete import biased_weights
    >>> w = jnp.asarray([[3.0, 5.0, 3.0, 1.0]])
    >>> biased_weights(w, top_k=2).tolist()
    [[3.0, 5.0, 0.0, 0.0]]
    >>> biased_weights(w, top_p=8 / 12).tolist(), biased_weights(w, top_p=0.7).tolist()
    ([[3.0, 5.0, 0.0, 0.0]], [[3.0, 5.0, 3.0, 0.0]])
    >>> [round(v, 6) for v in biased_weights(w, temperature=0.5)[0].tolist()]  # q^2 / max
    [0.36, 1.0, 0.36, 0.04]
    >>> biased_weights(w, temperature=0.5, top_k=3, top_p=0.7).tolist()[0][3]
    0.0
    """
    if temperature != 1.0:
        inv_t = 1.0 / temperature
        inv = jnp.float32(inv_t if inv_t < float(np.finfo(np.float32).max) else math.inf)
        pos = w > 0
        lw = jnp.log(jnp.where(pos, w, 1.0))
        d = lw - jnp.max(jnp.where(pos, lw, -jnp.inf), axis=-1, keepdims=True)
        w = jnp.where(pos, jnp.exp(jnp.where(d == 0, 0.0, d * inv)), 0.0)
    if top_k == 0 and top_p == 1.0:
        return w
    n, K = w.shape
    idx = jnp.broadcast_to(jnp.arange(K, dtype=jnp.int32), (n, K))
    neg, order = lax.sort((-w, idx), dimension=1, is_stable=True, num_keys=2)
    ranked = -neg  # largest first, ties by the smaller index
    keep = jnp.ones((n, K), bool)
    if 0 < top_k < K:
        keep = idx < top_k
    if top_p < 1.0:
        v = jnp.where(keep, ranked, 0.0)
        cum = jnp.cumsum(v, axis=-1)
        before = jnp.concatenate([jnp.zeros((n, 1), jnp.float32), cum[:, :-1]], axis=-1)
        keep = keep & (before / cum[:, -1:] < jnp.float32(top_p))
    mask = jnp.zeros((n, K), bool).at[jnp.arange(n)[:, None], order].set(keep)
    return jnp.where(mask, w, 0.0)


@dataclasses.dataclass(frozen=True)
class CategoricalFamily:
    """The categorical refit as a family of the workflow seam (static configuration).

    ``M``: the token count of the sample path (static there); ``beta``: add-beta smoothing of
    the fit; ``track``: keep per-symbol first-extinction generations.

    The fit is the counts themselves, ``q = (counts + beta) / (total + K beta)`` (``total``
    the number of points fitted: ``M``, or the pool under ``accumulate``); synthetic data are
    drawn from ``q`` through the workflow's sampling bias (:func:`biased_weights`:
    temperature ``q^(1/T)``, then top-k, then top-p, renormalised), real data from p0.

    Workflows (:mod:`modelcollapse.sims.workflows`): ``replace``, ``mix`` (fresh or fixed real
    set; :meth:`empty` starts the pool), ``accumulate`` (the pooled counts, exact integers,
    memory independent of the generation count) and ``weighted`` (``weighted=True``:
    :meth:`blend` mixes two fits, ``q = w q_real + (1 - w) q_synth``, each fit smoothed with
    its own size, ``q_real = (c_real + beta)/(r + K beta)``; the state then carries ``q``).
    For ``accumulate_subsample`` the seam's hooks :meth:`draw_points` and :meth:`point_stats`
    give the points of a draw and the counts of a masked subset of them.

    Attributes
    ----------
    method : {"sufficient", "samples"}
        Simulator path (see the module docstring).
    K : int
        Number of symbols.
    beta : float
        Add-beta smoothing pseudo-count (>= 0).
    track : bool
        Whether the state keeps per-symbol first-extinction generations.
    M : int
        Tokens drawn per draw on the sample path (0 on the sufficient path): the largest
        sample size of a draw.
    masked : bool
        Sample path: draws of fewer than ``M`` points (mix, weighted) count the first ``m`` of
        ``M`` drawn tokens.
    weighted : bool
        The state carries the fitted probabilities ``q`` (the weighted workflow).
    name : str
        The family's name, ``"discrete"``.
    biases : tuple of str
        Sampling biases the family supports: ``("temperature", "top_k", "top_p")``.
    workflows : tuple of str
        The workflows it runs (:data:`WORKFLOWS`).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.discrete import CategoricalFamily, CategoricalParams
    >>> fam = CategoricalFamily(method="sufficient", K=3)
    >>> params = CategoricalParams(jnp.array([10]), jnp.array([0.5, 0.5, 0.0]))
    >>> state = fam.init(params, 2)              # 2 chains; symbol 3 has p0 = 0
    >>> state.extinct_at.tolist()
    [[-1, -1, 0], [-1, -1, 0]]

    Fitting the counts of generation 1: chain 0 lost symbol 2 and is absorbed.

    >>> counts = jnp.array([[10, 0, 0], [4, 6, 0]], jnp.int32)
    >>> state = fam.fit(jnp.int32(1), counts, state, params)
    >>> state.extinct_at.tolist(), state.absorbed_at.tolist()
    ([[-1, 1, 0], [-1, -1, 0]], [1, -1])
    >>> fam.observe(state, params)["survivors"].tolist()
    [1, 2]
    """

    method: str
    K: int
    beta: float = 0.0
    track: bool = True
    M: int = 0
    masked: bool = False
    weighted: bool = False
    name: str = "discrete"
    biases: tuple[str, ...] = BIASES
    workflows: tuple[str, ...] = WORKFLOWS

    @property
    def float_state(self) -> bool:
        """Counts and generations are integers, exact whatever the batch; the weighted
        workflow's ``q`` is float (the driver then computes each state once)."""
        return self.weighted

    # ------------------------------------------------------------------ state
    def init(self, params: CategoricalParams, n: int) -> CategoricalState:
        K = self.K
        counts = jnp.zeros((n, K), jnp.int32)
        if self.track:
            ext = jnp.broadcast_to(jnp.where(params.p0w > 0, -1, 0).astype(jnp.int32), (n, K))
        else:
            ext = jnp.zeros((n, 0), jnp.int32)
        support1 = jnp.sum(params.p0w > 0) == 1
        absg = jnp.where(support1, jnp.zeros((n,), jnp.int32), jnp.full((n,), -1, jnp.int32))
        q = (jnp.broadcast_to(params.p0w.astype(jnp.float32), (n, K)) if self.weighted
             else jnp.zeros((n, 0), jnp.float32))
        return CategoricalState(counts, ext, absg, q)

    def observables(self) -> Mapping[str, Observable]:
        out = {"survivors": Observable((), "int32"), "heterozygosity": Observable(),
               "entropy": Observable(), "counts": Observable((self.K,), "int32"),
               "q": Observable((self.K,))}
        out.update({name: Observable() for name in _DRIFT_OBS.values()})
        return out

    def observe(self, state: CategoricalState, params: CategoricalParams
                ) -> dict[str, jax.Array]:
        """survivors, heterozygosity 1 - sum q^2, entropy -sum q log q, counts, the fitted
        probabilities ``q`` (float32), and the drift observables if ``params.drift``."""
        counts = state.counts
        if self.weighted:  # the blended fit (no drift observables: simulate refuses them)
            q = state.q
            surv = tree_sum_last((counts > 0).astype(jnp.int32))
            het = 1.0 - tree_sum_last(q * q)
            ent = -tree_sum_last(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0))
            return {"survivors": surv, "heterozygosity": het, "entropy": ent, "counts": counts,
                    "q": q}
        s, b = _beta_scale(self.beta)
        cf = counts.astype(jnp.float32)
        total = tree_sum_last(counts).astype(jnp.float32)
        if s != 1.0:  # beta beyond 2^100: counts + beta scaled by s = 2^-e (see _beta_scale)
            cf, total = cf * jnp.float32(s), total * jnp.float32(s)
        denom = total + jnp.float32(self.K * b)
        q = (cf + jnp.float32(b)) / denom[:, None]
        if params.drift is not None:  # q has several consumers: computed once (see _drift)
            q, denom = materialize((q, denom), counts[0, 0])
        surv = tree_sum_last((counts > 0).astype(jnp.int32))
        het = 1.0 - tree_sum_last(q * q)
        ent = -tree_sum_last(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0))
        out = {"survivors": surv, "heterozygosity": het, "entropy": ent, "counts": counts,
               "q": q}
        if params.drift is not None:
            out.update(self._drift(counts, q, denom, params))
        return out

    def _drift(self, counts: jax.Array, q: jax.Array, denom: jax.Array,
               params: CategoricalParams) -> dict[str, jax.Array]:
        """The drift observables of the fitted q from p0 (see :data:`DRIFT`), float32.

        ``F_t(j) - F_0(j) = N_j / denom`` with ``N_j = s (C_j - T F0_j) + b (j - K F0_j)``
        (``C_j`` the exact integer cumulative count, ``T`` the total, ``(s, b)`` the scaled
        smoothing of :func:`_beta_scale`); ``C_j - T F0_j`` is formed from the side of the
        cut where p0's mass is at most 1/2 (``-(S_j - T G0_j)``, ``S_j = T - C_j``) by
        :func:`_deviation`. Every sum is pairwise (:func:`tree_sum_last`), over a product
        computed once (:func:`~modelcollapse.sims.rng.threefry.materialize`): XLA may contract
        ``a * b + c`` into an FMA in one program and not in another (batch shapes, sharding),
        which would make a chain's bits depend on them.
        """
        d: DriftParams = params.drift

        def once(v: jax.Array) -> jax.Array:
            return materialize(v, counts[0, 0])

        def total_of(v: jax.Array) -> jax.Array:
            return tree_sum_last(once(v))

        s, b = _beta_scale(self.beta)
        K = self.K
        total = tree_sum_last(counts)
        parts = ((total >> 24) << 24, ((total >> 12) & 4095) << 12, total & 4095)
        parts = tuple(v.astype(jnp.float32) for v in parts)
        n = counts.shape[0]
        # symbols: TV and the missing mass
        dev = _deviation(counts, parts, d.pa, d.pb, once)
        num = self._smoothed(dev, d.esym, once)
        tv = 0.5 * tree_sum_last(jnp.abs(num)) / denom
        miss = tree_sum_last(jnp.where(counts == 0, params.p0w, 0.0))
        # the fitted variance: two passes, centred at q's own mean, with the correction term
        ybar = total_of(q * d.y)
        z = d.y - ybar[:, None]
        var = jnp.maximum(total_of(q * z * z) - total_of(q * z) ** 2, 0.0)
        out = {"tv": tv, "missing_mass": miss, "variance": var}
        if K == 1:
            zero = jnp.zeros((n,), jnp.float32)
            out.update(w1=zero, cramer_squared=zero, w2_squared=zero, mean_shift=zero)
            return out
        # cut points: W1, Cramer, the mean shift, W2
        C = jnp.cumsum(counts, axis=-1)[:, :-1]
        cut = jnp.where(d.side, C, total[:, None] - C)
        dcut = _deviation(cut, parts, d.fa, d.fb, once)
        dcut = jnp.where(d.side, dcut, -dcut)
        r = once(self._smoothed(dcut, d.ecut, once) / denom[:, None])  # F_t(j) - F_0(j)
        out["w1"] = total_of(d.dx * jnp.abs(r))
        out["cramer_squared"] = total_of(d.dx * r * r)
        out["mean_shift"] = -total_of(d.dx * r)
        out["w2_squared"] = _w2_line(r, d, once)
        return out

    def _smoothed(self, dev: jax.Array, e: jax.Array, once: Any) -> jax.Array:
        """``s dev + b e``: the deviation of the smoothed fit, each product computed once."""
        s, b = _beta_scale(self.beta)
        out = dev if s == 1.0 else once(dev * jnp.float32(s))
        return out if b == 0.0 else out + once(jnp.float32(b) * e)

    def finals(self, state: CategoricalState) -> dict[str, jax.Array]:
        out = {"absorption_generation": state.absorbed_at}
        if self.track:
            out["extinction_generation"] = state.extinct_at
        return out

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        per_chain = 2 * self.K + 3 * rows
        per_chain += self.M + 4 * self.K if self.method == "samples" else 0
        if "counts" in names:
            per_chain += rows * self.K
        if any(k in names for k in _DRIFT_OBS.values()):
            per_chain += 8 * self.K + rows * len(names)
        if "w2_squared" in names:  # the merged breakpoints, their tags, ranks and gathers
            per_chain += 16 * self.K
        return max(1, 2**22 // per_chain)

    def batch_bytes(self, chains: int) -> int:
        """Estimated memory of one batch of ``chains`` chains on one device (bytes).

        Measured with XLA's buffer assignment (``memory_analysis``) on CPU: about 24 bytes
        per token on the sample path (the token words, ``V`` and the search), and about 64
        bytes per symbol (state, weights, thresholds or the multinomial's work arrays).
        """
        per = 64 * self.K + (24 * self.M if self.method == "samples" else 0)
        return chains * per

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit (see :meth:`batch_bytes`)."""
        if self.method == "samples":
            return (f"M={self.M} tokens and K={self.K} symbols with method='samples' (drawn "
                    "and counted for every chain at once)", "use method='sufficient' (the "
                    "exact multinomial law of the counts) or a smaller M")
        return (f"K={self.K} symbols (the counts of every chain are held at once)",
                "use fewer symbols")

    # ------------------------------------------------------------------ draw and fit
    def _real_thresholds(self, params: CategoricalParams, n: int) -> tuple[jax.Array, ...]:
        """Thresholds of p0 for every row: the exact host ones of the float64 p0 if given."""
        if params.cdf is None:
            return weight_thresholds(jnp.broadcast_to(params.p0w, (n, self.K)))
        th, tl, ch, cl = params.cdf
        return (jnp.broadcast_to(th, (n, self.K - 1)), jnp.broadcast_to(tl, (n, self.K - 1)),
                jnp.broadcast_to(ch, (n,)), jnp.broadcast_to(cl, (n,)))

    def _weights(self, state: CategoricalState, bias: W.SamplingBias) -> jax.Array:
        """The model's sampling weights through the bias (unnormalised float32)."""
        w = state.q if self.weighted else _fit_weights(state.counts, self.beta)
        return biased_weights(w, bias.temperature, bias.top_k, bias.top_p)

    def _thresholds(self, stream: Stream, state: CategoricalState, real: jax.Array,
                    params: CategoricalParams, bias: W.SamplingBias) -> tuple[jax.Array, ...]:
        """Exact cumulative thresholds of p0 (``real``) or of the model through ``bias``."""
        n = state.counts.shape[0]

        def model() -> tuple[jax.Array, ...]:
            if not self.weighted and self.beta == 0.0 and not bias.active:
                return count_thresholds(state.counts)  # resample the tokens: integer masses
            return weight_thresholds(materialize(self._weights(state, bias), stream.g))

        return lax.cond(real, lambda: self._real_thresholds(params, n), model)

    def draw_points(self, stream: Stream, m_max: int, m: Any, state: CategoricalState,
                    real: jax.Array, params: CategoricalParams, bias: W.SamplingBias
                    ) -> jax.Array:
        """The symbols (int32 ``(n, m_max)``) of one draw from p0 (``real``) or from the model
        through ``bias``; entries at index >= ``m`` are to be ignored (token ``j`` reads block
        ``(g, j)`` of the stream's token child: a draw of ``m`` points is the prefix)."""
        thr = self._thresholds(stream, state, real, params, bias)
        tokens = stream.child(_TOKENS_TAG)
        return token_symbols(tokens.k0, tokens.k1, tokens.g, m_max, thr)

    def point_stats(self, points: jax.Array, mask: jax.Array) -> jax.Array:
        """Counts (int32 ``(n, K)``) of the symbols ``points`` where ``mask`` is true."""
        return symbol_counts(points, self.K, mask)

    def subsample_stats(self, stream: Stream, pool_stats: jax.Array, N: Any) -> jax.Array:
        """Counts of a uniform ``N``-subsample without replacement of the pooled counts: the
        multivariate hypergeometric law, drawn exactly (:func:`~modelcollapse.sims.rng.
        hypergeometric.subsample_counts`, ``O(N K)`` per chain, memory independent of the
        number of generations)."""
        return subsample_counts(stream.k0, stream.k1, stream.g, pool_stats, N)

    def draw(self, stream: Stream, m: jax.Array, state: CategoricalState, real: jax.Array,
             params: CategoricalParams, bias: W.SamplingBias) -> jax.Array:
        """Counts of m draws from p0 (``real``) or from the fitted model through ``bias``."""
        counts = state.counts
        n = counts.shape[0]
        if self.method == "sufficient":
            p0w = jnp.broadcast_to(params.p0w[None, :], counts.shape)
            w = jnp.where(real, p0w, self._weights(state, bias))
            return multinomial_rows(stream.seeds(_COUNTS_TAG), jnp.full((n,), m, jnp.int32), w)
        points = self.draw_points(stream, self.M, m, state, real, params, bias)
        mask = (jnp.arange(self.M) < m)[None, :] if self.masked else None
        return symbol_counts(points, self.K, mask)

    def _marks(self, g: jax.Array, stats: jax.Array, state: CategoricalState
               ) -> tuple[jax.Array, jax.Array]:
        """First-extinction and absorption generations updated by the counts ``stats``."""
        ext = state.extinct_at
        if self.track:
            ext = jnp.where((ext < 0) & (stats == 0), g, ext)
        surv = jnp.sum(stats > 0, axis=-1)
        absg = jnp.where((state.absorbed_at < 0) & (surv == 1), g, state.absorbed_at)
        return ext, absg

    def fit(self, g: jax.Array, stats: jax.Array, state: CategoricalState,
            params: CategoricalParams) -> CategoricalState:
        """The counts are the fit; first-extinction and absorption generations are updated.

        With ``weighted=True`` the fit also carries ``q = (stats + beta)/(total + K beta)``,
        and the generations not yet marked hold ``-(g + 1)`` until :meth:`blend` decides them
        from the counts behind the blend (a fit is then always blended).
        """
        if not self.weighted:
            ext, absg = self._marks(g, stats, state)
            return CategoricalState(stats, ext, absg, state.q)
        w = _fit_weights(stats, self.beta)
        q = w / tree_sum_last(w)[:, None]
        pending = -(g + 1)
        ext = jnp.where(state.extinct_at < 0, pending, state.extinct_at)
        absg = jnp.where(state.absorbed_at < 0, pending, state.absorbed_at)
        return CategoricalState(stats, ext, absg, q)

    def combine(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """Pooled counts."""
        return a + b

    def empty(self, params: CategoricalParams, n: int) -> jax.Array:
        """Counts of no point (zeros): the start of a pool (accumulate, fixed real set)."""
        return jnp.zeros((n, self.K), jnp.int32)

    def blend(self, w: float, a: CategoricalState, b: CategoricalState) -> CategoricalState:
        """The weighted fit ``q = w q_a + (1 - w) q_b`` of two fits of :meth:`fit` (family with
        ``weighted=True``). Its ``counts`` are those of the data that carry weight (``a``'s if
        ``w > 0`` plus ``b``'s if ``w < 1``): a symbol is extinct, and a chain absorbed, when
        the blended model gives it (all other symbols) probability 0 (for ``beta = 0``)."""
        q = jnp.float32(w) * a.q + jnp.float32(1.0 - w) * b.q
        counts = (a.counts if w > 0 else 0) + (b.counts if w < 1 else 0)
        counts = jnp.asarray(counts, jnp.int32)
        ext = a.extinct_at
        if self.track:  # pending -(g + 1): decided now
            ext = jnp.where(ext < -1, jnp.where(counts == 0, -ext - 1, -1), ext)
        surv = jnp.sum(counts > 0, axis=-1)
        absg = a.absorbed_at
        absg = jnp.where(absg < -1, jnp.where(surv == 1, -absg - 1, -1), absg)
        return CategoricalState(counts, ext, absg, q)


def _w2_line(r: jax.Array, d: DriftParams, once: Any) -> jax.Array:
    """W2^2 on the line between the fitted distribution, whose cumulative levels are
    ``F0_j + r_j`` (``r`` (n, K-1)), and p0 (levels ``F0_j``) on the centred support ``d.y``.

    ``W2^2 = int_0^1 (Q_t(u) - Q_0(u))^2 du``; both quantile functions are constant between
    consecutive merged breakpoints, where ``Q_t = y[I]`` with ``I`` the number of levels of
    the fit below ``u`` and ``Q_0 = y[J]`` likewise: the breakpoints are merged by one stable
    sort of both level sets per chain (tags count ``I``, ``J`` is the rest) and the integral
    is a sum of (interval length) x (gap)^2, pairwise. The sort keys are normalised float32
    pairs (hi, lo) of ``F0 + r`` (error-free sums, F0 carried as ``f0 + f0lo``, 48 bits), so
    breakpoints closer than float32's resolution are still merged in their order; an
    interval's length is ``(F0_{j'} - F0_j) + (r' - r)`` from the breakpoints' cut indices,
    not a difference of rounded levels: relative accuracy ~1e-7 however small the lengths.
    """
    n, k1 = r.shape
    fh0, fl0 = jnp.broadcast_to(d.f0, (n, k1)), jnp.broadcast_to(d.f0lo, (n, k1))
    s = fh0 + r  # two-sum: s + e = fh0 + r exactly
    bb = s - fh0
    e = (fh0 - (s - bb)) + (r - bb)
    lo = e + fl0
    hi = s + lo  # fast two-sum: normalised pair
    lo = lo - (hi - s)
    keys_hi = jnp.concatenate([hi, fh0], axis=-1)
    keys_lo = jnp.concatenate([lo, fl0], axis=-1)
    tags = jnp.concatenate([jnp.ones((n, k1), jnp.int32), jnp.zeros((n, k1), jnp.int32)],
                           axis=-1)
    _, _, tags = lax.sort((keys_hi, keys_lo, tags), dimension=1, is_stable=True, num_keys=2)
    i = jnp.cumsum(tags, axis=-1)
    j = jnp.arange(1, 2 * k1 + 1, dtype=jnp.int32)[None, :] - i
    cut = jnp.where(tags == 1, i, j) - 1  # the cut index of every merged breakpoint
    delta = jnp.where(tags == 1, jnp.take_along_axis(r, cut, axis=-1), 0.0)
    fh, fl = d.f0[cut], d.f0lo[cut]
    one = jnp.ones((n, 1), jnp.float32)
    zero = jnp.zeros((n, 1), jnp.float32)

    def following(v: jax.Array, last: jax.Array) -> jax.Array:
        return jnp.concatenate([v[:, 1:], last], axis=-1)

    length = ((following(fh, one) - fh) + (following(fl, zero) - fl)
              + (following(delta, zero) - delta))
    gap = d.y[i] - d.y[j]
    return tree_sum_last(once(length * gap * gap))


# ---------------------------------------------------------------------------------------------
# Result container
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class DiscreteRun:
    """Result of :func:`simulate`. Arrays are NumPy; ``R`` = number of recorded generations.

    Save with :meth:`save` and read back with :meth:`load`; ``K`` is the number of symbols.

    Attributes
    ----------
    generations : numpy.ndarray
        ``(R,)`` recorded generations, increasing, always starting with 0.
    survivors : numpy.ndarray
        ``(R, chains)`` int, number of symbols with count > 0.
    heterozygosity : numpy.ndarray
        ``(R, chains)`` float, 1 - sum_i q_i^2 of the fitted model q.
    entropy : numpy.ndarray
        ``(R, chains)`` float, -sum_i q_i log q_i (nats).
    absorption_generation : numpy.ndarray
        ``(chains,)`` int32: first generation with one symbol left, -1 if not.
    extinction_generation : numpy.ndarray or None
        ``(chains, K)`` int32: first generation with count 0 (0 where p0_i = 0), -1 if never
        within the run.
    counts : numpy.ndarray or None
        ``(R, chains, K)`` int32 (only with ``record_counts=True``); the row of generation 0 is
        -1 (generation 0 is p0 itself, not a sample).
    p0, M, n_generations, chains, method, beta, temperature
        The parameters (``M`` an int, or the schedule ``M_1, ..., M_n`` as a tuple).
    workflow : str
        The name of the workflow simulated (``"replace"`` for files of earlier versions).
    w1, tv, w2_squared, mean, variance, missing_mass, cramer_squared : numpy.ndarray or None
        ``(R, chains)`` float64, the drift observables asked for with ``drift`` (None if not):
        W1(q, p0) = sum_j dx_j |F(j) - F0(j)|, TV(q, p0) = 1/2 sum |q - p0|, W2^2(q, p0) on
        the line, the mean sum x q and variance sum x^2 q - mean^2 of the fitted q, the
        missing mass sum_i p0_i 1{count_i = 0} and the Cramer distance sum_j dx_j (F(j) -
        F0(j))^2 (``dx_j = x_{j+1} - x_j``). Generation 0 is p0: zeros, p0's mean and variance.
    support : numpy.ndarray or None
        ``(K,)`` the numeric support x_1 < ... < x_K of the symbols.

    Examples
    --------
    >>> import os, tempfile, jax
    >>> from modelcollapse.sims.discrete import DiscreteRun, simulate
    >>> run = simulate(jax.random.key(0), p0=[0.5, 0.3, 0.2], M=20, generations=10,
    ...                chains=500, record=[5, 10], record_counts=True)
    >>> run.K, run.generations.tolist(), run.counts.shape
    (3, [0, 5, 10], (3, 500, 3))
    >>> sorted(set(run.counts[1:].sum(axis=-1).ravel().tolist()))   # every sample has M = 20
    [20]
    >>> int(run.survivors[0, 0]), run.counts[0, 0].tolist()      # generation 0 is p0 itself
    (3, [-1, -1, -1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run.save(os.path.join(d, "run.npz"))
    ...     back = DiscreteRun.load(os.path.join(d, "run.npz"))
    >>> back.M, back.method, bool((back.entropy == run.entropy).all())
    (20, 'sufficient', True)
    """

    generations: np.ndarray
    survivors: np.ndarray
    heterozygosity: np.ndarray
    entropy: np.ndarray
    absorption_generation: np.ndarray
    extinction_generation: np.ndarray | None
    counts: np.ndarray | None
    p0: np.ndarray
    M: int | tuple[int, ...]
    n_generations: int
    chains: int
    method: str
    beta: float
    temperature: float
    w1: np.ndarray | None = None
    tv: np.ndarray | None = None
    w2_squared: np.ndarray | None = None
    mean: np.ndarray | None = None
    variance: np.ndarray | None = None
    missing_mass: np.ndarray | None = None
    cramer_squared: np.ndarray | None = None
    support: np.ndarray | None = None
    workflow: str = "replace"

    @property
    def K(self) -> int:
        """Number of symbols."""
        return int(self.p0.shape[0])

    @property
    def generations_run(self) -> int:
        """Deprecated name of :attr:`n_generations`."""
        P.warn_renamed("DiscreteRun.generations_run", "DiscreteRun.n_generations")
        return self.n_generations

    @property
    def smoothing(self) -> float:
        """Deprecated name of :attr:`beta`."""
        P.warn_renamed("DiscreteRun.smoothing", "DiscreteRun.beta")
        return self.beta

    def save(self, path: Any) -> None:
        """Write every field to a NumPy ``.npz`` archive (None fields are omitted)."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                data[f.name] = np.asarray(value)
        np.savez_compressed(path, **data)

    @classmethod
    def load(cls, path: Any) -> DiscreteRun:
        """Read a run written by :meth:`save` (also files of version 0.1)."""
        old = {"generations_run": "n_generations", "smoothing": "beta"}
        with np.load(path, allow_pickle=False) as z:
            files = {old.get(k, k): z[k] for k in z.files}
        kw: dict[str, Any] = {f.name: files.get(f.name) for f in dataclasses.fields(cls)}
        for name, conv in (("n_generations", int), ("chains", int),
                           ("method", str), ("beta", float), ("temperature", float)):
            kw[name] = conv(kw[name])
        m = np.asarray(kw["M"])  # a schedule is saved 1-D, a constant as a scalar
        kw["M"] = tuple(int(v) for v in m) if m.ndim == 1 else int(m)
        kw["workflow"] = "replace" if kw["workflow"] is None else str(kw["workflow"])
        if kw["method"] == "counts":
            kw["method"] = "sufficient"
        return cls(**kw)


def default_record(generations: int, points: int = 200) -> np.ndarray:
    """Every generation if ``generations < points``; else 0, then ~``points`` log-spaced ones.

    Always contains 0 and ``generations``; sorted and deduplicated (see
    :func:`modelcollapse.sims.driver.log_record`).

    Parameters
    ----------
    generations : int
        Number of refits simulated, an integer >= 0.
    points : int
        Target number of recorded generations, an integer >= 2.

    Returns
    -------
    numpy.ndarray
        int64 generation indices, increasing.

    Examples
    --------
    >>> from modelcollapse.sims.discrete import default_record
    >>> default_record(3).tolist()
    [0, 1, 2, 3]
    >>> r = default_record(100_000)
    >>> int(r[0]), int(r[-1]), len(r) <= 200
    (0, 100000, True)
    """
    return driver.log_record(generations, points)


def simulate(
    key: Any,
    *,
    p0: Any,
    M: int | Sequence[int],
    generations: int,
    chains: int,
    method: str = "sufficient",
    record: Sequence[int] | np.ndarray | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    beta: float = 0.0,
    temperature: float = 1.0,
    workflow: W.WorkflowLike = "replace",
    devices: Any = None,
    track_extinction: bool = True,
    record_counts: bool = False,
    smoothing: float | None = None,
    support: Any = None,
    drift: bool | Sequence[str] = False,
) -> DiscreteRun:
    """Simulate ``chains`` independent runs of recursive refitting of a categorical distribution.

    Generation 0 is p0; generation t >= 1 is the model refit on M samples (``M_t`` under a
    schedule) of generation t - 1:
    ``counts_1 ~ Multinomial(M, p0)``, ``counts_{t+1} ~ Multinomial(M, q_t^(1/T) / sum
    q_t^(1/T))`` with ``q_t = (counts_t + beta) / (M + K beta)``. beta = 0, T = 1 is neutral
    haploid Wright-Fisher. Other data workflows (mix, accumulate, weighted) and the top-k /
    top-p sampling biases are chosen with ``workflow``.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key`` (integer seeds are refused); chain i uses ``fold_in(key, i)``.
    p0 : array_like
        Original probabilities (K,), non-negative, summing to 1 within 1e-9 (float64; the
        sample path draws from them exactly, whatever their size).
    M : int or sequence of int
        Samples per generation, an integer in [1, 2**24], or a schedule ``M_1, ..., M_n`` of
        them (one per generation, ``n = generations``; ``M_g`` is the size of the fit that
        produces generation ``g``), under every workflow and both paths: mix and weighted take
        ``workflow.real_count(M_g)`` real points at generation ``g`` (``fixed_real=True`` needs
        the same real count in every generation), accumulate adds ``M_g`` points to the pool
        (``M_1 + ... + M_n <= 2**31 - 1``), accumulate_subsample fits ``N`` (None: ``M_g``)
        points of the pool, ``N <= M_1``.
    generations : int
        Number of refits, an integer in [0, 2**31 - 2].
    chains : int
        Number of independent chains, an integer in [1, 2**31 - 1] whose recorded results fit
        in memory.
    method : {"sufficient", "samples"}
        "sufficient" (multinomial counts by conditional binomials, fast, the default) or
        "samples" (draw M token ids and count them, exactly, the reference; a batch of the
        tokens must fit in the device's memory). "counts" is a deprecated name of
        "sufficient".
    record : sequence of int, optional
        Generations to record (each in [0, generations]; 0 is always added); default every
        generation up to 199, else 0 plus ~200 log-spaced generations.
    chunk_size : int, optional
        Chains per batch; default chosen from K (and M for "samples"). Results do not depend
        on it.
    progress : bool
        Print a progress bar on stderr.
    beta : float
        Add-beta smoothing of the refit, a finite real >= 0 (beta > 0: no absorbing states).
        Any size: beyond 2**100 the weights are carried scaled (q is uniform to within
        float32 resolution, and computed so).
    temperature : float
        Sampling temperature T > 0 of synthetic data (T < 1 sharpens); the same as
        ``workflow=replace(bias=SamplingBias(temperature=T))``. Any finite size: T -> 0
        samples the most frequent symbols, T -> infinity the support uniformly.
    workflow : Workflow or str
        Data policy (:mod:`modelcollapse.spec.workflows`, the value the theory functions
        take): ``"replace"`` (default); ``mix`` (``r = workflow.real_count(M)`` fresh draws
        from p0 plus ``M - r`` synthetic draws per fit; ``fixed_real=True`` reuses the real
        set of generation 1); ``accumulate`` (each fit sees the pool of all counts so far, the
        first ``M`` real, then ``M`` synthetic per generation; ``generations * M <= 2**31 -
        1``); ``accumulate_subsample`` (the pool grows as in accumulate, each fit sees a
        uniform subsample of ``N = workflow.subsample`` (None: ``M``) of its points without
        replacement, drawn exactly from the pooled counts, multivariate hypergeometric,
        ``O(N K)`` per chain and generation, memory independent of the generations);
        ``weighted`` (``q_t = w q_real + (1 - w) q_synth``, the fits of ``r`` fresh real
        and ``M`` synthetic points, each smoothed with its own size; no drift observables).
        Its sampling bias (temperature, top_k, top_p) acts on synthetic draws only, in that
        order (:func:`biased_weights`); ``top_k <= K``.
    devices : None, int or sequence of devices
        Shard the chains over these local devices; results do not depend on it.
    track_extinction : bool
        Keep the (chains, K) first-extinction generations (switched off with a warning when
        chains * K > 2**26).
    record_counts : bool
        Also keep the counts at the recorded generations ((R, chains, K) int32).
    smoothing : float, optional
        Deprecated name of ``beta``.
    support : array_like, optional
        The numeric values x_1 < ... < x_K of the symbols (finite, strictly increasing,
        length K; default 0, 1, ..., K - 1), the line of the drift observables.
    drift : bool or sequence of str
        Record the drift of the fitted q from p0: True for all of :data:`DRIFT` (``w1``,
        ``tv``, ``w2_squared``, ``mean``, ``variance``, ``missing_mass``,
        ``cramer_squared``), or a sequence of those names; default none (they cost memory,
        ``(R, chains)`` each, and W2 a sort of 2K - 2 breakpoints per chain and record).

    Returns
    -------
    DiscreteRun

    Raises
    ------
    ValueError
        Naming the argument, its value and the allowed range.

    Notes
    -----
    Generation 0's ``survivors``, ``heterozygosity`` and ``entropy`` are computed from p0
    itself, in float64; later generations' statistics are computed in float32 from the counts.
    So are the drift observables (generation 0: zeros, p0's mean and variance in float64);
    the fitted q is the family's fit ``(counts + beta) / (total + K beta)``. Their float32
    arithmetic avoids cancellation: CDF differences come from exact integer cumulative counts
    minus ``T F0`` formed exactly in parts (12-bit splits), from the side of each cut point
    where p0's mass is below 1/2; the mean is p0's (float64) plus its shift ``-sum dx (F -
    F0)``; the variance is centred twice; every sum over symbols is pairwise. W2^2 merges
    the float32 breakpoints F(j) and F0(j) (exact as a step function of those levels):
    its relative error is about 2^-24 / min |F(j) - F0(j)| over the cuts that carry it.

    References
    References
    ----------
    S. Wright, "Evolution in Mendelian populations", Genetics 16 (1931); R. A. Fisher, *The
    Genetical Theory of Natural Selection* (1930); Shumailov et al., Nature 631 (2024).

    Examples
    --------
    Under Wright-Fisher, ``E H_t = (1 - 1/M)^t (1 - sum p0^2)``: 0.375 here at t = 50.

    >>> import jax, numpy as np
    >>> from modelcollapse.sims.discrete import simulate
    >>> run = simulate(jax.random.key(0), p0=[0.5, 0.3, 0.2], M=100, generations=50,
    ...                chains=1000)
    >>> run.heterozygosity.shape
    (51, 1000)
    >>> float(run.heterozygosity[0, 0])    # 1 - sum p0^2 at generation 0
    0.62
    >>> bool(abs(np.mean(run.heterozygosity[-1]) - 0.375) < 0.03)   # standard error 0.006
    True
    >>> run.extinction_generation.shape, run.absorption_generation.dtype
    ((1000, 3), dtype('int32'))

    The sample path draws and counts M tokens; a temperature T < 1 speeds up the collapse:

    >>> run = simulate(jax.random.key(0), p0=[0.5, 0.3, 0.2], M=20, generations=10,
    ...                chains=500, method="samples", temperature=0.5, record=[10])
    >>> bool(np.mean(run.heterozygosity[-1]) < 0.1)
    True

    Drift on a numeric support: the mean is a martingale, ``E (m_t - m_0)^2 = Var_p0(X)
    (1 - (1 - 1/M)^t)`` (0.9 (1 - 0.99^20) = 0.164 here):

    >>> run = simulate(jax.random.key(1), p0=[0.5, 0.5], M=100, generations=20, chains=2000,
    ...                support=[-1.0, 2.0], drift=True, record=[20])
    >>> float(run.mean[0, 0]), float(run.variance[0, 0]), float(run.w1[0, 0])
    (0.5, 2.25, 0.0)
    >>> bool(abs(np.mean((run.mean[-1] - 0.5) ** 2) - 2.25 * (1 - 0.99**20)) < 0.04)
    True

    Accumulating all data bounds the collapse: ``E H_t = H* prod_{j <= t} (1 - 1/(M j^2))``
    (0.6104 here at t = 10, against 0.5607 under replace):

    >>> from modelcollapse.spec.workflows import accumulate
    >>> run = simulate(jax.random.key(2), p0=[0.5, 0.3, 0.2], M=100, generations=10,
    ...                chains=1000, workflow=accumulate(), record=[10])
    >>> run.workflow, bool(abs(np.mean(run.heterozygosity[-1]) - 0.6104) < 0.01)
    ('accumulate', True)
    """
    if smoothing is not None:
        P.warn_renamed("smoothing", "beta")
        if beta != 0.0:
            raise ValueError("give beta or the deprecated smoothing, not both")
        beta = smoothing
    p0_np = P.p0.check(p0, ndim=1)
    K = p0_np.shape[0]
    generations = driver.GENERATIONS.scalar(generations)
    m_const, sched = driver.sample_sizes(M, SIM_M, generations)
    chains = P.chains.scalar(chains)
    method = P.method.check(method)
    beta = P.beta.scalar(beta)
    temp = P.temperature.scalar(temperature)
    wf = W.as_workflow(workflow)
    if temp != 1.0:
        if wf.bias.temperature != 1.0:
            raise ValueError("give the sampling temperature either as temperature or in the "
                             "workflow's bias, not both")
        wf = dataclasses.replace(wf, bias=dataclasses.replace(wf.bias, temperature=temp))
    wf = W.require(wf, "the discrete simulator",
                   names=tuple(n for n in WORKFLOWS if n in IMPLEMENTED), biases=BIASES)
    # a schedule of no generation draws nothing: a placeholder size any workflow accepts
    sizes = sched if sched else (max(1, int(wf.n_real or 0), int(wf.subsample or 0)),)
    if wf.bias.top_k > K:
        raise ValueError(f"top_k must be an integer in [0, K] = [0, {K}] (0: all symbols) (got "
                         f"{wf.bias.top_k})")
    rec = default_record(generations) if record is None else P.record(record, generations)
    x_np = P.support_points(support, K)
    want = _drift_names(drift)
    if want and wf.name == "weighted":
        raise ValueError("drift observables are not available with the weighted workflow (its "
                         "fitted q is a blend of two fits, not a count vector); use drift=False")
    if wf.name.startswith("accumulate"):
        if m_const is not None and generations * m_const > _POOL_MAX:
            raise ValueError(f"generations must be <= {_POOL_MAX // m_const} for the {wf.name} "
                             f"workflow with M = {m_const} (the pooled counts, M per generation, "
                             f"are int32 up to 2**31 - 1) (got {generations})")
        if m_const is None and sum(sched) > _POOL_MAX:
            raise ValueError(f"M as a schedule must sum to <= {_POOL_MAX} for the {wf.name} "
                             "workflow (the pooled counts are int32 up to 2**31 - 1) (got a sum "
                             f"of {sum(sched)})")
    split = wf.name in ("mix", "weighted")
    counts_real = tuple(wf.real_count(m) for m in sizes) if split else ()
    if wf.name == "mix" and wf.fixed_real and len(set(counts_real)) > 1:
        raise ValueError("M must give the same real count in every generation for mix with "
                         "fixed_real=True (one real set is reused; got real counts "
                         f"{sorted(set(counts_real))} from the schedule)")
    m_max = max(sizes + counts_real)
    if m_max > MAX_N:
        raise ValueError(f"n_real must be <= {MAX_N} (the simulator's largest sample) (got "
                         f"{m_max})")
    track = bool(track_extinction)
    if track and chains * K > _EXTINCTION_LIMIT:
        warnings.warn(f"chains * K = {chains * K} > {_EXTINCTION_LIMIT}: extinction_generation "
                      "is not tracked (pass fewer chains per call)", stacklevel=2)
        track = False
    fam = CategoricalFamily(method=method, K=K, beta=beta, track=track,
                            M=m_max if method == "samples" else 0,
                            masked=method == "samples" and (split or len(set(sizes)) > 1),
                            weighted=wf.name == "weighted")
    cdf = None
    if method == "samples":  # generation 1 draws from the float64 p0 exactly
        cdf = tuple(jnp.asarray(v) for v in host_thresholds(p0_np))
    params = CategoricalParams(sched=jnp.asarray(sizes, jnp.int32),
                               p0w=jnp.asarray(p0_np, jnp.float32), cdf=cdf,
                               drift=drift_params(p0_np, x_np) if want else None)
    names = ("survivors", "heterozygosity", "entropy") + (("counts",) if record_counts else ())
    names += tuple(_DRIFT_OBS[k] for k in want)
    kw = {"generations": generations} if wf.name == "accumulate_subsample" else {}
    out = driver.run(kernel(fam, wf, list(sizes), **kw), key, params, generations=generations,
                     chains=chains, record=rec, observe=names, chunk_size=chunk_size,
                     progress=progress, devices=devices, desc=f"discrete[{method}]")

    # generation 0 is p0 itself: its statistics exactly, in float64
    obs = out.observed
    het = obs["heterozygosity"].astype(np.float64)
    ent = obs["entropy"].astype(np.float64)
    surv = obs["survivors"]
    het[0] = 1.0 - float(np.sum(p0_np * p0_np))
    ent[0] = float(-np.sum(np.where(p0_np > 0, p0_np * np.log(np.where(p0_np > 0, p0_np, 1.0)),
                                    0.0)))
    surv[0] = int(np.sum(p0_np > 0))
    counts = None
    if record_counts:
        counts = obs["counts"]
        counts[0] = -1  # generation 0 holds probabilities, not counts
    dr: dict[str, np.ndarray | None] = dict.fromkeys(DRIFT)
    m0 = float(np.dot(p0_np, x_np))
    for k in want:
        v = obs[_DRIFT_OBS[k]].astype(np.float64)
        if k == "mean":
            v += m0
            v[0] = m0
        elif k == "variance":
            v[0] = float(np.dot(p0_np, (x_np - m0) ** 2))
        else:
            v[0] = 0.0
        dr[k] = v
    return DiscreteRun(
        generations=out.generations.astype(np.int64),
        survivors=surv,
        heterozygosity=het,
        entropy=ent,
        absorption_generation=out.finals["absorption_generation"],
        extinction_generation=out.finals.get("extinction_generation"),
        counts=counts,
        p0=p0_np,
        M=m_const if m_const is not None else tuple(sched),
        n_generations=generations,
        chains=chains,
        method=method,
        beta=beta,
        temperature=wf.bias.temperature,
        support=x_np,
        workflow=wf.name,
        **dr,
    )


def _drift_names(drift: Any) -> tuple[str, ...]:
    """The drift observables asked for: all for True, none for False, else the named ones."""
    if isinstance(drift, bool | np.bool_):
        return DRIFT if drift else ()
    names = None
    if not isinstance(drift, str | bytes) and np.iterable(drift):
        names = list(drift)
    if names is None or not all(isinstance(k, str) and k in DRIFT for k in names):
        raise ValueError(f"drift must be True, False or a sequence of names among {DRIFT} "
                         f"(got {P.show(drift)})")
    return tuple(k for k in DRIFT if k in names)
