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
tail. The bias applies only to synthetic data; the first fit uses p0 itself.

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
optionally ``counts``; over the whole run ``extinction_generation`` (first generation at which
a symbol's count is 0; 0 where p0_i = 0; -1 if it never happened within the run) and
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
    token_counts,
    weight_thresholds,
)
from modelcollapse.sims.rng.threefry import Stream, materialize
from modelcollapse.sims.workflows import kernel
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = ["DiscreteRun", "simulate", "default_record", "CategoricalFamily",
           "CategoricalState", "CategoricalParams"]

_EXTINCTION_LIMIT = 2**26  # chains * K above which extinction tracking is switched off
_COUNTS_TAG = 0x5EED6E4E  # block (g, tag): the seed of generation g's multinomial draw
_TOKENS_TAG = 0x5EED7017  # block (g, tag): the key words of generation g's token draws
_BETA_SCALED = 2.0**100  # above this beta the weights are carried as counts 2^-e + beta 2^-e

#: M of the categorical simulators: counts are exact float32 integers up to 2**24.
SIM_M = P.M.restrict(high=float(MAX_N))


class CategoricalState(NamedTuple):
    """Per chain: ``counts`` (n, K) of the last fit, ``extinct_at`` (n, K) first generation with
    count 0 (-1: not yet; shape (n, 0) when not tracked), ``absorbed_at`` (n,).

    Attributes
    ----------
    counts : jax.Array
        int32 ``(n, K)``: the counts of the last fit (zeros before the first fit).
    extinct_at : jax.Array
        int32 ``(n, K)``: first generation at which the symbol's count was 0 (0 where
        p0_i = 0, -1 not yet); ``(n, 0)`` when extinction is not tracked.
    absorbed_at : jax.Array
        int32 ``(n,)``: first generation with a single symbol left (-1 not yet).

    Examples
    --------
    See :class:`CategoricalFamily`.
    """

    counts: jax.Array
    extinct_at: jax.Array
    absorbed_at: jax.Array


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


def _model_weights(counts: jax.Array, beta: float, temperature: float) -> jax.Array:
    """Unnormalised sampling weights q^(1/T) of the fitted q = (counts + beta)/(M + K beta).

    ``q^(1/T)`` is taken relative to its largest entry, ``exp((log w - max log w) / T)``, with
    ``1/T`` computed in float64 (infinite for T below ~3e-39): for T -> 0 the weights tend to
    the indicator of the argmax, for T -> infinity to that of the support; never NaN.
    """
    s, b = _beta_scale(beta)
    w = counts.astype(jnp.float32)
    w = (w + jnp.float32(b)) if s == 1.0 else (w * jnp.float32(s) + jnp.float32(b))
    if temperature != 1.0:
        inv_t = 1.0 / temperature
        inv = jnp.float32(inv_t if inv_t < float(np.finfo(np.float32).max) else math.inf)
        pos = w > 0
        lw = jnp.log(jnp.where(pos, w, 1.0))
        d = lw - jnp.max(jnp.where(pos, lw, -jnp.inf), axis=-1, keepdims=True)
        w = jnp.where(pos, jnp.exp(jnp.where(d == 0, 0.0, d * inv)), 0.0)
    return w


@dataclasses.dataclass(frozen=True)
class CategoricalFamily:
    """The categorical refit as a family of the workflow seam (static configuration).

    ``M``: the token count of the sample path (static there); ``beta``: add-beta smoothing of
    the fit; ``track``: keep per-symbol first-extinction generations.

    The fit is the counts themselves, ``q = (counts + beta) / (M + K beta)``; synthetic data
    are drawn from ``q^(1/T)`` normalised (T the workflow's sampling temperature), real data
    from p0.

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
        Tokens drawn per generation on the sample path (0 on the sufficient path).
    name : str
        The family's name, ``"discrete"``.
    biases : tuple of str
        Sampling biases the family supports: ``("temperature",)``.

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
    name: str = "discrete"
    biases: tuple[str, ...] = ("temperature",)
    float_state: bool = False  # counts and generations: integers, exact whatever the batch

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
        return CategoricalState(counts, ext, absg)

    def observables(self) -> Mapping[str, Observable]:
        return {"survivors": Observable((), "int32"), "heterozygosity": Observable(),
                "entropy": Observable(), "counts": Observable((self.K,), "int32")}

    def observe(self, state: CategoricalState, params: CategoricalParams
                ) -> dict[str, jax.Array]:
        """survivors, heterozygosity 1 - sum q^2, entropy -sum q log q, counts."""
        counts = state.counts
        s, b = _beta_scale(self.beta)
        cf = counts.astype(jnp.float32)
        total = tree_sum_last(counts).astype(jnp.float32)
        if s != 1.0:  # beta beyond 2^100: counts + beta scaled by s = 2^-e (see _beta_scale)
            cf, total = cf * jnp.float32(s), total * jnp.float32(s)
        denom = total + jnp.float32(self.K * b)
        q = (cf + jnp.float32(b)) / denom[:, None]
        surv = tree_sum_last((counts > 0).astype(jnp.int32))
        het = 1.0 - tree_sum_last(q * q)
        ent = -tree_sum_last(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0))
        return {"survivors": surv, "heterozygosity": het, "entropy": ent, "counts": counts}

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

    def draw(self, stream: Stream, m: jax.Array, state: CategoricalState, real: jax.Array,
             params: CategoricalParams, bias: W.SamplingBias) -> jax.Array:
        """Counts of m draws from p0 (``real``) or from the fitted model through ``bias``."""
        counts = state.counts
        n = counts.shape[0]
        T = bias.temperature
        if self.method == "sufficient":
            p0w = jnp.broadcast_to(params.p0w[None, :], counts.shape)
            w = jnp.where(real, p0w, _model_weights(counts, self.beta, T))
            return multinomial_rows(stream.seeds(_COUNTS_TAG), jnp.full((n,), m, jnp.int32), w)

        def model() -> tuple[jax.Array, ...]:
            if self.beta == 0.0 and T == 1.0:  # resample the M tokens: integer masses
                return count_thresholds(counts)
            w = materialize(_model_weights(counts, self.beta, T), stream.g)
            return weight_thresholds(w)

        thr = lax.cond(real, lambda: self._real_thresholds(params, n), model)
        tokens = stream.child(_TOKENS_TAG)
        return token_counts(tokens.k0, tokens.k1, tokens.g, self.M, thr)

    def fit(self, g: jax.Array, stats: jax.Array, state: CategoricalState,
            params: CategoricalParams) -> CategoricalState:
        """The counts are the fit; first-extinction and absorption generations are updated."""
        ext = state.extinct_at
        if self.track:
            ext = jnp.where((ext < 0) & (stats == 0), g, ext)
        surv = jnp.sum(stats > 0, axis=-1)
        absg = jnp.where((state.absorbed_at < 0) & (surv == 1), g, state.absorbed_at)
        return CategoricalState(stats, ext, absg)

    def combine(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """Pooled counts."""
        return a + b


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
        The parameters.

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
    M: int
    n_generations: int
    chains: int
    method: str
    beta: float
    temperature: float

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
        for name, conv in (("M", int), ("n_generations", int), ("chains", int),
                           ("method", str), ("beta", float), ("temperature", float)):
            kw[name] = conv(kw[name])
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
    M: int,
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
) -> DiscreteRun:
    """Simulate ``chains`` independent runs of recursive refitting of a categorical distribution.

    Generation 0 is p0; generation t >= 1 is the model refit on M samples of generation t - 1:
    ``counts_1 ~ Multinomial(M, p0)``, ``counts_{t+1} ~ Multinomial(M, q_t^(1/T) / sum
    q_t^(1/T))`` with ``q_t = (counts_t + beta) / (M + K beta)``. beta = 0, T = 1 is neutral
    haploid Wright-Fisher.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key`` (integer seeds are refused); chain i uses ``fold_in(key, i)``.
    p0 : array_like
        Original probabilities (K,), non-negative, summing to 1 within 1e-9 (float64; the
        sample path draws from them exactly, whatever their size).
    M : int
        Samples per generation, an integer in [1, 2**24].
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
        Data policy (:mod:`modelcollapse.spec.workflows`); ``"replace"``.
    devices : None, int or sequence of devices
        Shard the chains over these local devices; results do not depend on it.
    track_extinction : bool
        Keep the (chains, K) first-extinction generations (switched off with a warning when
        chains * K > 2**26).
    record_counts : bool
        Also keep the counts at the recorded generations ((R, chains, K) int32).
    smoothing : float, optional
        Deprecated name of ``beta``.

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
    """
    if smoothing is not None:
        P.warn_renamed("smoothing", "beta")
        if beta != 0.0:
            raise ValueError("give beta or the deprecated smoothing, not both")
        beta = smoothing
    p0_np = P.p0.check(p0, ndim=1)
    K = p0_np.shape[0]
    M = SIM_M.scalar(M)
    generations = driver.GENERATIONS.scalar(generations)
    chains = P.chains.scalar(chains)
    method = P.method.check(method)
    beta = P.beta.scalar(beta)
    temp = P.temperature.scalar(temperature)
    wf = W.as_workflow(workflow)
    if temp != 1.0:
        if wf.bias.active:
            raise ValueError("give the sampling temperature either as temperature or in the "
                             "workflow's bias, not both")
        wf = dataclasses.replace(wf, bias=W.SamplingBias(temperature=temp))
    rec = default_record(generations) if record is None else P.record(record, generations)
    track = bool(track_extinction)
    if track and chains * K > _EXTINCTION_LIMIT:
        warnings.warn(f"chains * K = {chains * K} > {_EXTINCTION_LIMIT}: extinction_generation "
                      "is not tracked (pass fewer chains per call)", stacklevel=2)
        track = False
    fam = CategoricalFamily(method=method, K=K, beta=beta, track=track,
                            M=M if method == "samples" else 0)
    cdf = None
    if method == "samples":  # generation 1 draws from the float64 p0 exactly
        cdf = tuple(jnp.asarray(v) for v in host_thresholds(p0_np))
    params = CategoricalParams(sched=jnp.asarray([M], jnp.int32),
                               p0w=jnp.asarray(p0_np, jnp.float32), cdf=cdf)
    names = ("survivors", "heterozygosity", "entropy") + (("counts",) if record_counts else ())
    out = driver.run(kernel(fam, wf), key, params, generations=generations, chains=chains,
                     record=rec, observe=names, chunk_size=chunk_size, progress=progress,
                     devices=devices, desc=f"discrete[{method}]")

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
    return DiscreteRun(
        generations=out.generations.astype(np.int64),
        survivors=surv,
        heterozygosity=het,
        entropy=ent,
        absorption_generation=out.finals["absorption_generation"],
        extinction_generation=out.finals.get("extinction_generation"),
        counts=counts,
        p0=p0_np,
        M=M,
        n_generations=generations,
        chains=chains,
        method=method,
        beta=beta,
        temperature=wf.bias.temperature,
    )
