"""Monte Carlo simulator of recursive refitting of a categorical distribution (Wright-Fisher).

Model (convention of the whole package): generation 0 is the original distribution p0 over K
symbols. Generation t >= 1 is the model refit on M samples drawn from generation t - 1:

    counts_1 ~ Multinomial(M, p0)                      (the first fit sees M real samples)
    counts_{t+1} ~ Multinomial(M, w_t / sum(w_t)),     w_t = q_t^(1/T)
    q_t = (counts_t + beta) / (M + K beta)             (fitted model; beta = add-beta smoothing)

With beta = 0 and T = 1 this is the neutral haploid Wright-Fisher model with population size M
(counts_{t+1} ~ Multinomial(M, counts_t / M)); its only absorbing states are the deltas. beta > 0
removes the absorbing states; a sampling temperature T < 1 (synthetic data drawn from the
sharpened model q^(1/T), normalised) accelerates the loss of the tail. Temperature applies only
to synthetic data (generations >= 1 are sampled from q_t^(1/T); the first fit uses p0 itself).

Two exact paths:
  * ``method="samples"`` (reference): draw M token ids by inverse cdf (``searchsorted`` on the
    cumulative weights; with beta = 0 and T = 1 an exact integer search on the cumulative counts,
    i.e. resample M tokens uniformly) with ``jax.random``, and count them;
  * ``method="counts"`` (fast): the counts directly, by the conditional-binomial multinomial
    sampler of :mod:`modelcollapse.sims.discrete_samplers`.

Recorded per chain at the recorded generations (always including 0): ``survivors`` (number of
symbols with count > 0; at generation 0 the support of p0), ``heterozygosity`` 1 - sum q_t^2
(Gini-Simpson), ``entropy`` -sum q_t log q_t (nats), optionally the counts; over the whole run
``extinction_generation`` (first generation at which a symbol's count is 0; 0 where p0_i = 0;
-1 if it never happened within the run) and ``absorption_generation`` (first generation with a
single symbol left; -1 if not reached).

Randomness: chain i uses ``jax.random.fold_in(key, i)``; generation g of that chain uses a seed
derived from (chain key, g) only, so every chain's path is bit-identical whatever
``chunk_size`` or the number of devices. References: S. Wright (1931), R. A. Fisher (1930);
Shumailov et al., Nature 631 (2024) (model collapse of discrete distributions).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims._progress import ProgressBar
from modelcollapse.sims._validate import check_choice, check_int, check_real, check_record
from modelcollapse.sims.discrete_samplers import (
    MAX_N,
    multinomial_rows,
    seed_from_key,
    threefry2x32,
)

__all__ = ["DiscreteRun", "simulate", "default_record"]

_EXTINCTION_LIMIT = 2**26  # chains * K above which extinction tracking is switched off


# ---------------------------------------------------------------------------------------------
# Result container
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class DiscreteRun:
    """Result of :func:`simulate`. Arrays are NumPy; ``R`` = number of recorded generations.

    Attributes:
      generations: (R,) recorded generations, increasing, always starting with 0.
      survivors: (R, chains) int, number of symbols with count > 0.
      heterozygosity: (R, chains) float, 1 - sum_i q_i^2 of the fitted model q.
      entropy: (R, chains) float, -sum_i q_i log q_i (nats).
      counts: (R, chains, K) int32 or None (only with ``record_counts=True``); the row of
        generation 0 is -1 (generation 0 is p0 itself, not a sample).
      extinction_generation: (chains, K) int32 or None: first generation with count 0
        (0 where p0_i = 0), -1 if never within the run.
      absorption_generation: (chains,) int32: first generation with one symbol left, -1 if not.
      p0, M, generations_run, chains, method, smoothing, temperature: the parameters.
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
    generations_run: int
    chains: int
    method: str
    smoothing: float
    temperature: float

    @property
    def K(self) -> int:
        """Number of symbols."""
        return int(self.p0.shape[0])

    def save(self, path) -> None:
        """Write every field to a NumPy ``.npz`` archive (None fields are omitted)."""
        data = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                data[field.name] = np.asarray(value)
        np.savez_compressed(path, **data)

    @classmethod
    def load(cls, path) -> DiscreteRun:
        """Read a run written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            kw = {}
            for field in dataclasses.fields(cls):
                if field.name in z.files:
                    kw[field.name] = z[field.name]
                else:
                    kw[field.name] = None
        for name, conv in (("M", int), ("generations_run", int), ("chains", int),
                           ("method", str), ("smoothing", float), ("temperature", float)):
            kw[name] = conv(kw[name])
        return cls(**kw)


# ---------------------------------------------------------------------------------------------
# Validation (own, tiny: the sims package never imports modelcollapse.theory)
# ---------------------------------------------------------------------------------------------
def _check_p0(p0) -> np.ndarray:
    try:
        arr = np.asarray(p0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"p0 must be a numeric probability vector (got {p0!r})") from exc
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"p0 must be a 1-d probability vector of length K >= 1 (got shape "
                         f"{arr.shape})")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = arr[~(np.isfinite(arr) & (arr >= 0))]
        raise ValueError(f"p0 entries must be finite and >= 0 (got {bad[:6]})")
    s = float(arr.sum())
    if abs(s - 1.0) > 1e-9:
        raise ValueError(f"p0 must sum to 1 within 1e-9 (got sum {s!r})")
    return arr


def default_record(generations: int, points: int = 200) -> np.ndarray:
    """Every generation if ``generations < points``; else 0, then ~``points`` log-spaced ones."""
    if generations < points:
        return np.arange(generations + 1)
    g = np.unique(np.round(np.geomspace(1, generations, points - 1)).astype(np.int64))
    return np.concatenate([[0], g])


# ---------------------------------------------------------------------------------------------
# One generation
# ---------------------------------------------------------------------------------------------
_GEN_TAG = np.uint32(0x5EED6E4E)


def _generation_seeds(chain_seeds: jax.Array, g: jax.Array) -> jax.Array:
    """Seed of generation g for each chain: Threefry(chain seed; counter (g, tag))."""
    g = jnp.asarray(g, jnp.uint32)
    y0, y1 = threefry2x32(chain_seeds[:, 0], chain_seeds[:, 1], g, _GEN_TAG)
    return jnp.stack([y0, y1], axis=1)


def _model_weights(counts, beta: float, temperature: float):
    """Unnormalised sampling weights q^(1/T) of the fitted q = (counts + beta)/(M + K beta)."""
    w = counts.astype(jnp.float32) + jnp.float32(beta)
    if temperature != 1.0:
        lw = jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)), -jnp.inf) / temperature
        w = jnp.exp(lw - jnp.max(lw, axis=-1, keepdims=True))
    return w


def _draw_counts(method, chain_keys, chain_seeds, g, M, weights, prev_counts=None):
    """Counts of generation g (>= 1) drawn from the sampling weights of generation g - 1.

    ``prev_counts`` (samples method only): when given, the M tokens are resampled uniformly
    from the previous M tokens, i.e. an exact integer search in the cumulative counts.
    """
    chains, K = weights.shape
    if method == "counts":
        seeds = _generation_seeds(chain_seeds, g)
        return multinomial_rows(seeds, jnp.full((chains,), M, jnp.int32), weights)

    def one_chain(key, w, cnt):
        kg = jax.random.fold_in(key, g)
        if prev_counts is not None:
            cum = jnp.cumsum(cnt)
            r = jax.random.randint(kg, (M,), 0, M)
            sym = jnp.searchsorted(cum, r, side="right")
        else:
            cum = jnp.cumsum(w)
            u = jax.random.uniform(kg, (M,), jnp.float32) * cum[-1]
            sym = jnp.searchsorted(cum, u, side="right")
        sym = jnp.minimum(sym, K - 1)
        return jnp.zeros((K,), jnp.int32).at[sym].add(1)

    cnts = prev_counts if prev_counts is not None else jnp.zeros(weights.shape, jnp.int32)
    return jax.vmap(one_chain)(chain_keys, weights, cnts)


def _tree_sum(x: jax.Array) -> jax.Array:
    """Sum over the last axis in a fixed pairwise order (bit-identical whatever the batch size,
    unlike an XLA reduction whose vectorisation may depend on the shape)."""
    K = x.shape[-1]
    width = 1 << max(0, (K - 1).bit_length())
    if width != K:
        x = jnp.concatenate([x, jnp.zeros(x.shape[:-1] + (width - K,), x.dtype)], axis=-1)
    while width > 1:
        width //= 2
        x = x[..., :width] + x[..., width:]
    return x[..., 0]


def _stats(counts, M, beta):
    """survivors, heterozygosity 1 - sum q^2, entropy -sum q log q; q = (c + beta)/(M + K beta)."""
    K = counts.shape[-1]
    denom = jnp.asarray(M, jnp.float32) + jnp.float32(K * beta)
    q = (counts.astype(jnp.float32) + jnp.float32(beta)) / denom
    surv = _tree_sum((counts > 0).astype(jnp.int32))
    het = 1.0 - _tree_sum(q * q)
    ent = -_tree_sum(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0))
    return surv, het, ent


# ---------------------------------------------------------------------------------------------
# A chunk of chains over a block of generations (jitted)
# ---------------------------------------------------------------------------------------------
def _make_block_fn(cfg):
    """Function advancing a chunk's state over generations g0 .. g1 - 1 (dynamic bounds).

    M is static only for ``method="samples"`` (the token array has M entries); for
    ``"counts"`` it is a runtime argument, so distinct M share one compiled program.
    """
    method = cfg["method"]
    M_static = cfg.get("M")
    beta = cfg["beta"]
    temp = cfg["temperature"]
    track = cfg["track"]
    rec_counts = cfg["record_counts"]
    exact_counts = beta == 0.0 and temp == 1.0

    def step(carry, g, M, rec, p0w, G):
        counts, ext, absg, surv_r, het_r, ent_r, cnt_r, chain_keys, chain_seeds = carry
        if M_static is not None:
            M = M_static
        active = g <= G

        def advance(_):
            if method == "samples" and exact_counts:
                # generation 1 samples p0; later ones resample the previous M tokens exactly
                return lax.cond(
                    g == 1,
                    lambda _: _draw_counts(method, chain_keys, chain_seeds, g, M,
                                           jnp.broadcast_to(p0w, counts.shape)),
                    lambda _: _draw_counts(method, chain_keys, chain_seeds, g, M,
                                           counts.astype(jnp.float32), counts), None)
            w_prev = jnp.where(g == 1, p0w[None, :], _model_weights(counts, beta, temp))
            return _draw_counts(method, chain_keys, chain_seeds, g, M, w_prev)

        new = lax.cond(active, advance, lambda _: counts, None)
        surv = jnp.sum(new > 0, axis=-1).astype(jnp.int32)
        absg2 = jnp.where(active & (absg < 0) & (surv == 1), g, absg)
        ext2 = ext
        if track:
            ext2 = jnp.where(active & (ext < 0) & (new == 0), g, ext)
        # rec: recorded generations, increasing, padded at the end with 2^30
        pos = jnp.sum((rec < g).astype(jnp.int32))
        hit = rec[jnp.minimum(pos, rec.shape[0] - 1)] == g
        slot = jnp.where(active & hit, pos, -1)

        def record(bufs):
            s_r, h_r, e_r, c_r = bufs
            s, h, e = _stats(new, M, beta)
            s_r = s_r.at[slot].set(s)
            h_r = h_r.at[slot].set(h)
            e_r = e_r.at[slot].set(e)
            if rec_counts:
                c_r = c_r.at[slot].set(new)
            return s_r, h_r, e_r, c_r

        surv_r, het_r, ent_r, cnt_r = lax.cond(
            slot >= 0, record, lambda b: b, (surv_r, het_r, ent_r, cnt_r))
        return (new, ext2, absg2, surv_r, het_r, ent_r, cnt_r, chain_keys, chain_seeds), None

    def block(carry, g0, g1, M, rec, p0w, G):
        return lax.fori_loop(g0, g1, lambda g, c: step(c, g, M, rec, p0w, G)[0], carry)

    return block


def _init_chunk(key, chain_ids, p0w, support1, n_rec, K, track, rec_counts):
    chain_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(chain_ids)
    chain_seeds = seed_from_key(chain_keys)
    C = chain_ids.shape[0]
    counts = jnp.zeros((C, K), jnp.int32)
    ext = jnp.broadcast_to(jnp.where(p0w > 0, -1, 0).astype(jnp.int32), (C, K)) if track \
        else jnp.zeros((C, 0), jnp.int32)
    absg = jnp.where(support1, jnp.zeros((C,), jnp.int32), jnp.full((C,), -1, jnp.int32))
    surv_r = jnp.zeros((n_rec, C), jnp.int32)
    het_r = jnp.zeros((n_rec, C), jnp.float32)
    ent_r = jnp.zeros((n_rec, C), jnp.float32)
    cnt_r = jnp.zeros((n_rec, C, K) if rec_counts else (0,), jnp.int32)
    return (counts, ext, absg, surv_r, het_r, ent_r, cnt_r, chain_keys, chain_seeds)


_CACHE: dict = {}


def _bucket(x: int) -> int:
    """Round x >= 1 up to 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, ... (four sizes per
    octave above 8): shapes that differ a little share one compiled program."""
    if x <= 8:
        return max(1, int(x))
    step = 1 << (int(x - 1).bit_length() - 3)
    return -(-int(x) // step) * step


def _compiled(cfg_items, K, n_rec, devs, key_impl=None):
    """Jitted (init, block) functions for a static configuration (cached across calls).

    Static: method, smoothing, temperature, the tracking switches, K, the (padded) number of
    recorded generations, the devices (and M for ``method="samples"``). M (counts method),
    the number of generations, the recorded generations and p0 are runtime arguments.
    """
    cache_key = (cfg_items, K, n_rec, devs, key_impl)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    cfg = dict(cfg_items)
    block_fn = _make_block_fn(cfg)
    track, rec_counts = cfg["track"], cfg["record_counts"]

    def init(key_data, ids, p0w, support1):
        key = jax.random.wrap_key_data(key_data, impl=key_impl) if key_impl is not None \
            else jax.random.wrap_key_data(key_data)
        return _init_chunk(key, ids, p0w, support1, n_rec, K, track, rec_counts)

    def block(carry, g0, g1, M, rec, p0w, G):
        return block_fn(carry, g0, g1, M, rec, p0w, G)

    if devs is None:
        out = (jax.jit(init), jax.jit(block))
    else:
        mesh = jax.sharding.Mesh(np.asarray(devs), ("c",))
        P = jax.sharding.PartitionSpec
        cspec = (P("c"), P("c"), P("c"), P(None, "c"), P(None, "c"), P(None, "c"),
                 P(None, "c") if rec_counts else P(), P("c"), P("c"))
        init_sm = jax.jit(jax.shard_map(
            lambda kd, ids, w, s1: init(kd, ids, w, s1), mesh=mesh,
            in_specs=(P(), P("c"), P(), P()), out_specs=cspec, check_vma=False))
        block_sm = jax.jit(jax.shard_map(
            block, mesh=mesh, in_specs=(cspec, P(), P(), P(), P(), P(), P()), out_specs=cspec,
            check_vma=False))
        out = (init_sm, block_sm)
    _CACHE[cache_key] = out
    return out


def _resolve_devices(devices):
    if devices is None:
        return None
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        avail = jax.devices()
        if devices < 1 or devices > len(avail):
            raise ValueError(f"devices must be an integer in [1, {len(avail)}] or a list of "
                             f"jax devices (got {devices!r})")
        return list(avail[:devices]) if devices > 1 else None
    devs = list(devices)
    if not devs:
        raise ValueError("devices must be a non-empty list of jax devices (got [])")
    return devs if len(devs) > 1 else None


def simulate(
    key: jax.Array,
    *,
    p0,
    M: int,
    generations: int,
    chains: int,
    method: str = "counts",
    record: Sequence[int] | np.ndarray | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    smoothing: float = 0.0,
    temperature: float = 1.0,
    devices=None,
    track_extinction: bool = True,
    record_counts: bool = False,
) -> DiscreteRun:
    """Simulate ``chains`` independent runs of recursive refitting of a categorical distribution.

    Generation 0 is p0; generation t >= 1 is the model refit on M samples of generation t - 1:
    counts_1 ~ Multinomial(M, p0), counts_{t+1} ~ Multinomial(M, q_t^(1/T) / sum q_t^(1/T)) with
    q_t = (counts_t + beta) / (M + K beta). beta = 0, T = 1 is neutral haploid Wright-Fisher.

    Args:
      key: JAX PRNG key; chain i uses ``jax.random.fold_in(key, i)``.
      p0: original probabilities (K,), non-negative, summing to 1 within 1e-9.
      M: samples per generation, integer in [1, 2**24].
      generations: number of refits n >= 0.
      chains: number of independent chains >= 1.
      method: ``"counts"`` (multinomial counts by conditional binomials, fast) or
        ``"samples"`` (draw M token ids and count them, the reference).
      record: generations to record (each in [0, generations]; 0 is always added); default
        every generation up to 199, else 0 plus ~200 log-spaced generations.
      chunk_size: chains per chunk (memory O(chunk_size x (R + K)) on the device); default
        chosen from K (and M for ``"samples"``). Results do not depend on it.
      progress: print a progress bar on stderr.
      smoothing: add-beta smoothing beta >= 0 of the refit (beta > 0: no absorbing states).
      temperature: sampling temperature T > 0 for synthetic data (T < 1 sharpens).
      devices: None (default device), an int (the first n of ``jax.devices()``) or a list of
        devices; chains are sharded over them (``jax.shard_map``); results do not depend on it.
      track_extinction: keep the (chains, K) first-extinction generations (switched off with a
        warning when chains * K > 2**26).
      record_counts: also keep the counts at the recorded generations ((R, chains, K) int32).

    Returns:
      A :class:`DiscreteRun`.

    Raises:
      ValueError: naming the argument, its value and the allowed range.

    Example::

        >>> run = simulate(jax.random.key(0), p0=[0.5, 0.3, 0.2], M=100, generations=50,
        ...                chains=1000)
        >>> run.heterozygosity.mean(axis=1)   # decays like (1 - 1/M)^t (1 - sum p0^2)
    """
    p0_np = _check_p0(p0)
    K = p0_np.shape[0]
    M = check_int("M", M, 1, MAX_N)
    generations = check_int("generations", generations, 0)
    chains = check_int("chains", chains, 1)
    method = check_choice("method", method, ("counts", "samples"))
    try:
        beta = float(smoothing)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"smoothing must be a float >= 0 (got {smoothing!r})") from exc
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"smoothing must be a finite float >= 0 (got {smoothing!r})")
    temp = check_real("temperature", temperature, positive=True)
    rec = default_record(generations) if record is None else check_record(record, generations)
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, 1)
    devs = _resolve_devices(devices)
    ndev = 1 if devs is None else len(devs)
    track = bool(track_extinction)
    if track and chains * K > _EXTINCTION_LIMIT:
        warnings.warn(f"chains * K = {chains * K} > {_EXTINCTION_LIMIT}: extinction_generation "
                      "is not tracked (pass fewer chains per call)", stacklevel=2)
        track = False

    # chunking: memory per chain ~ K (state, extinction) + R (records) [+ M for samples]
    if chunk_size is None:
        per_chain = 2 * K + 3 * len(rec) + (M if method == "samples" else 0)
        if record_counts:
            per_chain += len(rec) * K
        chunk_size = max(1, min(chains, 2**22 // max(per_chain, 1)))
        chunk_size = _bucket(chunk_size)  # few distinct shapes: fewer compiles
    else:
        chunk_size = min(chunk_size, chains)
    chunk = -(-chunk_size // ndev) * ndev  # multiple of the device count

    n_rec = len(rec)
    n_rec_pad = _bucket(n_rec)
    rec_pad = np.full(n_rec_pad, 2**30, np.int32)
    rec_pad[:n_rec] = rec
    block = generations if not progress else max(1, -(-generations // 50))
    cfg = {"method": method, "beta": beta, "temperature": temp, "track": track,
           "record_counts": bool(record_counts)}
    if method == "samples":
        cfg["M"] = M

    key_data = jax.random.key_data(key) if jax.dtypes.issubdtype(
        key.dtype, jax.dtypes.prng_key) else jnp.asarray(key, jnp.uint32)
    key_impl = jax.random.key_impl(key) if jax.dtypes.issubdtype(
        key.dtype, jax.dtypes.prng_key) else None
    init_j, block_j = _compiled(tuple(sorted(cfg.items())), K, n_rec_pad,
                                None if devs is None else tuple(devs), key_impl)
    p0w = jnp.asarray(p0_np, jnp.float32)
    rec_j = jnp.asarray(rec_pad)
    M_j = jnp.int32(M)
    G_j = jnp.int32(generations)
    support1 = jnp.bool_(int(np.sum(p0_np > 0)) == 1)

    # generation 0 statistics (exact, from p0)
    q0 = p0_np
    het0 = 1.0 - float(np.sum(q0 * q0))
    ent0 = float(-np.sum(np.where(q0 > 0, q0 * np.log(np.where(q0 > 0, q0, 1.0)), 0.0)))
    surv0 = int(np.sum(q0 > 0))

    out_s, out_h, out_e, out_c, out_x, out_a = [], [], [], [], [], []
    prog = ProgressBar(chains * max(generations, 1), desc=f"discrete[{method}]",
                       unit="chain-gens", enabled=progress)
    done_chains = 0
    for start in range(0, chains, chunk):
        ids = np.arange(start, start + chunk, dtype=np.uint32)  # padded chains are discarded
        carry = init_j(key_data, jnp.asarray(ids), p0w, support1)
        g0 = 1
        while g0 <= generations:
            g1 = min(g0 + max(block, 1), generations + 1)
            carry = block_j(carry, jnp.int32(g0), jnp.int32(g1), M_j, rec_j, p0w, G_j)
            g0 = g1
            if progress:
                jax.block_until_ready(carry[0])
                done = (done_chains * generations
                        + min(g0 - 1, generations) * min(chunk, chains - start))
                prog.update(done - prog.done)
        counts, ext, absg, surv_r, het_r, ent_r, cnt_r, _, _ = carry
        take = min(chunk, chains - start)
        surv_r = np.asarray(surv_r)[:n_rec, :take].copy()
        het_r = np.asarray(het_r, np.float64)[:n_rec, :take].copy()
        ent_r = np.asarray(ent_r, np.float64)[:n_rec, :take].copy()
        surv_r[0], het_r[0], ent_r[0] = surv0, het0, ent0
        out_s.append(surv_r)
        out_h.append(het_r)
        out_e.append(ent_r)
        if record_counts:
            c = np.asarray(cnt_r)[:n_rec, :take].copy()
            c[0] = -1  # generation 0 holds probabilities, not counts
            out_c.append(c)
        if track:
            out_x.append(np.asarray(ext)[:take])
        out_a.append(np.asarray(absg)[:take])
        done_chains += take
        prog.update(done_chains * generations - prog.done)
    prog.close()

    return DiscreteRun(
        generations=rec.astype(np.int64),
        survivors=np.concatenate(out_s, axis=1),
        heterozygosity=np.concatenate(out_h, axis=1),
        entropy=np.concatenate(out_e, axis=1),
        absorption_generation=np.concatenate(out_a),
        extinction_generation=np.concatenate(out_x) if track else None,
        counts=np.concatenate(out_c, axis=1) if record_counts else None,
        p0=p0_np,
        M=M,
        generations_run=generations,
        chains=chains,
        method=method,
        smoothing=beta,
        temperature=temp,
    )
