"""Monte Carlo simulator of the 1-D Gaussian refit chain (model collapse), in JAX.

Convention. Generation 0 is the original distribution N(mu0, sigma0^2). Generation n is the model
after n rounds of "draw M samples from the current model, refit"; the first fit sees M real
samples. The refit uses the sample mean and the variance estimator
    s^2 = sum_j (x_j - xbar)^2 / (M - ddof),
ddof=1 unbiased (the estimator of Shumailov et al., Nature 631, 2024, Thm 3.1), ddof=0 maximum
likelihood. With a schedule, M_i is the sample size of the fit that produces generation i.

Two paths that share everything but the draw of one generation:

- ``method="samples"`` (the reference): draws the M points of every generation and fits them.
  The points are x_j = mu + sigma z_j with z_j ~ N(0, 1); the fit is computed in the standardised
  frame, mu' = mu + sigma mean(z), log sigma'^2 = log sigma^2 + log(sum (z_j - zbar)^2/(M - ddof)),
  which is the same fit (sample mean and variance are affine-equivariant) but stays finite when
  sigma^2 underflows.
- ``method="sufficient"`` (fast): draws the fitted parameters' exact law,
  mu' = mu + sigma Z / sqrt(M),  log sigma'^2 = log sigma^2 + log(2 G / (M - ddof)),
  Z ~ N(0, 1), G ~ Gamma((M - 1)/2, 1) independent (so 2 G ~ chi^2_{M-1}), from
  :mod:`modelcollapse.sims.samplers` (log-space Gamma, accurate at M = 2).

The state is (mean, log_variance), so 10^5 generations at M = 2 stay finite. Chains are a batch
axis, generations a ``lax.scan``; only the ``record`` generations are stored (memory
O(chains x recorded)).

Randomness. Chain i uses the key ``fold_in(key, i)`` (i the global chain index); its two 32-bit
key words w_i are the key data of ``fold_in(fold_in(key, i), 0)`` (Threefry keys). Generation g
of chain i reads the Threefry-2x32 blocks (w_i; g, j), j = 0, 1, ... (counter-based: a pure
function of (chain key, g, j), the cheap equivalent of a per-generation key). Results are
therefore bit-identical whatever ``chunk_size``, the generation chunking of the progress bar, or
the number of devices (sums over the M points use a fixed pairwise order for the same reason).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, PartitionSpec

from . import samplers as _smp
from ._progress import ProgressBar
from ._validate import check_choice, check_int, check_real, check_record

__all__ = ["simulate", "GaussianRun", "load", "log_record", "METHODS", "WORKFLOWS"]

METHODS = ("samples", "sufficient")
_PAD = 128

# ----------------------------------------------------------------------------- workflows
def _tree_sum(x: jax.Array) -> jax.Array:
    """Sum over axis 0 in a fixed pairwise order (elementwise adds of row halves).

    XLA's reduction order may depend on the batch size; this order does not, which keeps the
    sample path bit-identical across chunk sizes and device counts. Rows are the M points,
    columns the chains (the long, vectorised axis).
    """
    while x.shape[0] > 1:
        k = x.shape[0]
        h = k // 2
        head = x[:h] + x[h:2 * h]
        x = jnp.concatenate([head, x[2 * h:]], axis=0) if k % 2 else head
    return x[0]


@dataclass(frozen=True)
class _Workflow:
    """Data policy of one generation. The simulator calls ``init`` once and one step per
    generation; later workflows (mix with fresh real data, accumulate, subsample, sampling bias)
    add state entries and override the steps without copying the simulator loop.

    ``draw_log_scale`` is log(lambda) for a sampling bias that draws from N(mu, lambda sigma^2)
    (0 = no bias; only 0 is reachable from :func:`simulate` now).
    """

    name: str
    draw_log_scale: float = 0.0

    def init(self, mean: jax.Array, log_variance: jax.Array) -> dict[str, jax.Array]:
        return {"mean": mean, "log_variance": log_variance}

    def step_samples(self, state, z, m, ddof, mask=None):
        """Fit M standardised draws z (shape (Mmax, n); ``mask`` (Mmax, 1) marks the first m)."""
        lv = state["log_variance"] + self.draw_log_scale
        if mask is not None:
            z = jnp.where(mask, z, 0.0)
        zbar = _tree_sum(z) / m
        dev = z - zbar[None, :]
        if mask is not None:
            dev = jnp.where(mask, dev, 0.0)
        ss = _tree_sum(jnp.square(dev))
        step = jnp.exp(0.5 * lv) * zbar
        return {"mean": state["mean"] + step,
                # log of the ratio (~1), not a difference of two large logs (float32 bias)
                "log_variance": lv + jnp.log(ss / (m - ddof))}

    def step_sufficient(self, state, log_factor, z, m):
        """Exact law of the fit: zbar = Z / sqrt(m), sigma'^2 / sigma^2 = 2 G / (m - ddof) with
        G ~ Gamma((m-1)/2); ``log_factor`` is log(2 G / (m - ddof))."""
        lv = state["log_variance"] + self.draw_log_scale
        step = jnp.exp(0.5 * lv) * z * lax.rsqrt(m)
        return {"mean": state["mean"] + step, "log_variance": lv + log_factor}


WORKFLOWS: dict[str, _Workflow] = {"replace": _Workflow("replace")}


# ----------------------------------------------------------------------------- result object
@dataclass(frozen=True, eq=False)
class GaussianRun:
    """Recorded output of :func:`simulate`.

    Attributes:
        generations: int64 array (R,) of recorded generation indices (always contains 0).
        mean: array (R, chains) of fitted means mu_g (generation 0: mu0).
        log_variance: array (R, chains) of log sigma_g^2 (generation 0: 2 log sigma0).
        M: the sample size (int) or the schedule (tuple M_1..M_n).
        ddof, method, workflow, mu0, sigma0, chains, n_generations: the run's parameters.
        dtype: float dtype name of the run; initial: name of ``initial_sampler`` or None.
    """

    generations: np.ndarray
    mean: np.ndarray
    log_variance: np.ndarray
    M: int | tuple[int, ...]
    ddof: int
    method: str
    workflow: str
    mu0: float
    sigma0: float
    chains: int
    n_generations: int
    dtype: str
    initial: str | None = None

    @property
    def variance(self) -> np.ndarray:
        """sigma_g^2 = exp(log_variance) (may underflow to 0 for long runs: prefer log_variance)."""
        return np.exp(self.log_variance)

    @property
    def std(self) -> np.ndarray:
        """sigma_g = exp(log_variance / 2)."""
        return np.exp(0.5 * self.log_variance)

    def at(self, generation: int) -> int:
        """Row index of a recorded generation (ValueError if it was not recorded)."""
        hit = np.nonzero(self.generations == generation)[0]
        if hit.size == 0:
            raise ValueError(f"generation {generation!r} was not recorded; recorded: "
                             f"{self.generations.tolist()}")
        return int(hit[0])

    def save(self, path) -> None:
        """Write the run to a NumPy ``.npz`` file (read back with :func:`load`)."""
        M = np.asarray(self.M, dtype=np.int64)
        np.savez(path, generations=self.generations, mean=self.mean,
                 log_variance=self.log_variance, M=M, M_is_schedule=not isinstance(self.M, int),
                 ddof=self.ddof, method=self.method, workflow=self.workflow, mu0=self.mu0,
                 sigma0=self.sigma0, chains=self.chains, n_generations=self.n_generations,
                 dtype=self.dtype, initial="" if self.initial is None else self.initial)

    @classmethod
    def load(cls, path) -> GaussianRun:
        """Read a run written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            M = f["M"]
            initial = str(f["initial"])
            return cls(generations=f["generations"], mean=f["mean"],
                       log_variance=f["log_variance"],
                       M=tuple(int(m) for m in M) if bool(f["M_is_schedule"]) else int(M),
                       ddof=int(f["ddof"]), method=str(f["method"]),
                       workflow=str(f["workflow"]), mu0=float(f["mu0"]),
                       sigma0=float(f["sigma0"]), chains=int(f["chains"]),
                       n_generations=int(f["n_generations"]), dtype=str(f["dtype"]),
                       initial=initial or None)


def load(path) -> GaussianRun:
    """Read a :class:`GaussianRun` saved with :meth:`GaussianRun.save`."""
    return GaussianRun.load(path)


def log_record(generations: int, num: int = 50) -> np.ndarray:
    """Default recorded generations: 0 plus ~``num`` log-spaced integers in [1, generations].

    Always contains 0 and ``generations``; sorted and deduplicated.
    """
    generations = check_int("generations", generations, 0)
    num = check_int("num", num, 1)
    if generations == 0:
        return np.zeros(1, dtype=np.int64)
    pts = np.rint(np.geomspace(1, generations, min(num, generations)))
    return np.unique(np.concatenate([[0, generations], pts]).astype(np.int64))


# ----------------------------------------------------------------------------- the scan
def _chain_words(key, idx):
    """Key words of fold_in(fold_in(key, i), 0) for each global chain index i (uint32 (n, 2)).

    For Threefry keys this evaluates jax's fold_in (data of fold_in(k, d) =
    threefry2x32(k; 0, d)) with our block function, which compiles much faster than vmapping
    jax.random.fold_in (the tests check equality with jax.random.fold_in). Other key
    implementations go through jax.random directly.
    """
    if "threefry" in str(jax.random.key_impl(key)):
        kd = jax.random.key_data(key)
        zero = jnp.zeros_like(idx)
        c0, c1 = _smp.threefry2x32(kd[0], kd[1], zero, idx)
        w0, w1 = _smp.threefry2x32(c0, c1, zero, zero)
        return jnp.stack([w0, w1], axis=1)

    def one(i):
        return jax.random.key_data(jax.random.fold_in(jax.random.fold_in(key, i), 0))

    return jax.vmap(one)(idx)


_chain_words_jit = jax.jit(_chain_words)


def _normals_block(k0, k1, g, m_max, dt):
    """m_max standard normals per chain for generation g from blocks (k; g, j), shape (m_max, n).

    float32: block j gives points 2j and 2j + 1; float64: block j gives point j.
    """
    per = 1 if jnp.dtype(dt) == jnp.float64 else 2
    nblk = -(-m_max // per)
    j = jnp.arange(nblk, dtype=jnp.uint32)[:, None]
    w0, w1 = _smp.threefry2x32(k0[None, :], k1[None, :], g, j)
    if per == 2:
        w = jnp.stack([w0, w1], axis=1).reshape(2 * nblk, -1)  # rows 2j, 2j+1 from block j
        z = _smp._normal(w, dt)
    else:
        z = _smp._normal((w0, w1), dt)
    return z[:m_max]


def _make_chunk_fn(method, wf, dt, m_max, masked):
    """Advance generations g_start .. g_stop - 1 -> g_stop; record into row slot(g) of the buffers.

    Only shapes and the method are static: M (read from the traced ``sched``), ddof and the
    generation range are run-time values, so one compilation serves every M (sufficient path),
    every ddof and every generation chunk of a given chain-batch size.
    """

    def fn(words, mean, lv, buf_mean, buf_lv, g_start, g_stop, sched, ddof, rec):
        k0, k1 = words[:, 0], words[:, 1]
        n = mean.shape[0]
        nrec = rec.shape[0]
        last = sched.shape[0] - 1

        def step(g, carry):
            state, bm, bl = carry
            # sched = [M] for a constant M (index 0), else M_1..M_n (index g - 1)
            m_int = sched[jnp.minimum(g - 1, last)]
            m = m_int.astype(dt)
            gu = g.astype(jnp.uint32)
            if method == "samples":
                # computed once: every consumer must see the same bits (see materialize)
                z = _smp.materialize(_normals_block(k0, k1, gu, m_max, dt), gu)
                mask = (jnp.arange(m_max) < m_int)[:, None] if masked else None
                state = wf.step_samples(state, z, m, ddof, mask)
            else:
                a = jnp.full((n,), 0.5, dt) * (m - 1.0)
                # log of the variance factor C / (M - ddof) = 2 G / (M - ddof), G = d (1+cx)^3:
                # log(2 d / (M - ddof)) = log1p((2 d - M + ddof) / (M - ddof)) with 2 d - M + ddof
                # = ddof - 5/3 (a >= 1) or ddof + 1/3 (a < 1, the boosted M = 2), exactly.
                offset = jnp.where(m < 3.0, ddof + 1.0 / 3.0, ddof - 5.0 / 3.0)
                log_ds = jnp.full((n,), jnp.log1p(offset / (m - ddof)), dt)
                log_f, zs = _smp._log_gamma_core(k0, k1, jnp.full((n,), gu), a, dt, log_ds)
                state = wf.step_sufficient(state, log_f, zs, m)
            state = _smp.materialize(state, gu)  # carried and recorded values share bits
            slot = jnp.searchsorted(rec, g).astype(jnp.int32)
            hit = rec[jnp.minimum(slot, nrec - 1)] == g
            slot = jnp.where(hit, slot, nrec)
            bm = lax.dynamic_update_index_in_dim(bm, state["mean"], slot, 0)
            bl = lax.dynamic_update_index_in_dim(bl, state["log_variance"], slot, 0)
            return state, bm, bl

        state = wf.init(mean, lv)
        state, buf_mean, buf_lv = lax.fori_loop(g_start, g_stop, step,
                                                (state, buf_mean, buf_lv))
        return state["mean"], state["log_variance"], buf_mean, buf_lv

    return fn


@functools.lru_cache(maxsize=64)
def _compiled_chunk(method, wf, dt_name, m_max, masked, devices):
    dt = jnp.dtype(dt_name)
    fn = _make_chunk_fn(method, wf, dt, m_max, masked)
    if devices is not None:
        mesh = Mesh(np.array(devices), ("chains",))
        c, rep, rows = PartitionSpec("chains"), PartitionSpec(), PartitionSpec(None, "chains")
        fn = jax.shard_map(fn, mesh=mesh,
                           in_specs=(c, c, c, rows, rows, rep, rep, rep, rep, rep),
                           out_specs=(c, c, rows, rows), check_vma=False)
    return jax.jit(fn)


@functools.lru_cache(maxsize=16)
def _compiled_initial(sampler, m1, ddof, dt_name):
    dt = jnp.dtype(dt_name)

    def fn(key, idx):
        def one(i):
            x = jnp.asarray(sampler(jax.random.fold_in(jax.random.fold_in(key, i), 1), m1), dt)
            if x.shape != (m1,):
                raise ValueError(f"initial_sampler(key, {m1}) must return shape ({m1},), "
                                 f"got {x.shape}")
            return x

        x = _smp.materialize(jax.vmap(one, out_axes=1)(idx), idx[0])  # (m1, n), computed once
        xbar = _tree_sum(x) / jnp.asarray(m1, dt)
        ss = _tree_sum(jnp.square(x - xbar[None, :]))
        return _smp.materialize((xbar, jnp.log(ss) - jnp.log(jnp.asarray(m1 - ddof, dt))),
                                idx[0])

    return jax.jit(fn)


# ----------------------------------------------------------------------------- validation
def _resolve_devices(devices):
    if devices is None:
        return None
    avail = jax.devices()
    if isinstance(devices, numbers.Integral) and not isinstance(devices, bool):
        k = check_int("devices", devices, 1, len(avail))
        return tuple(avail[:k])
    devs = tuple(devices)
    if not devs:
        raise ValueError("devices must be None, an int in [1, n_devices] or a non-empty "
                         "sequence of jax devices, got an empty sequence")
    return devs


def _check_schedule(M, generations, ddof):
    if isinstance(M, (str, bytes)):
        raise ValueError(f"M must be an integer >= 2 or a sequence of them, got {M!r}")
    if np.ndim(M) == 0:
        m = check_int("M", M, max(2, ddof + 1))
        return m, None
    arr = np.asarray(M)
    if arr.ndim != 1 or arr.shape[0] != generations:
        raise ValueError(f"M as a schedule must be 1-D of length generations={generations}, "
                         f"got shape {arr.shape}")
    sched = tuple(check_int(f"M[{i}]", v, max(2, ddof + 1)) for i, v in enumerate(arr.tolist()))
    return None, sched


# ----------------------------------------------------------------------------- entry point
def simulate(key, *, M: int | Sequence[int], generations: int, chains: int, ddof: int = 1,
             method: str = "samples", mu0: float = 0.0, sigma0: float = 1.0,
             record: Sequence[int] | None = None, chunk_size: int | None = None,
             progress: bool = False, initial_sampler: Callable[[Any, int], Any] | None = None,
             workflow: str = "replace", devices: int | Sequence[Any] | None = None,
             dtype: Any = None) -> GaussianRun:
    """Simulate ``chains`` independent 1-D Gaussian refit chains for ``generations`` generations.

    One generation (replace workflow): from the current fit (mu, sigma^2) draw M points, refit
        mu' = mean(x),   sigma'^2 = sum_j (x_j - mu')^2 / (M - ddof),
    equivalently (the sufficient-statistic path) mu' = mu + sigma Z / sqrt(M),
    sigma'^2 = sigma^2 C / (M - ddof), Z ~ N(0,1), C ~ chi^2_{M-1} independent.
    Generation 0 is N(mu0, sigma0^2); the first fit sees M real samples (Shumailov et al.,
    Nature 631, 2024, Thm 3.1). ddof=1 unbiased, ddof=0 maximum likelihood.

    Args:
        key: a ``jax.random.key``. Chain i draws from ``fold_in(key, i)``.
        M: sample size per generation (int >= 2, > ddof) or a schedule of length
            ``generations`` (M_i = sample size of the fit producing generation i). The sample
            path draws max(M) points per generation and masks the unused ones, so a schedule
            costs max(M) normals per chain-generation there; the sufficient path costs O(1).
        generations: number of refits n >= 0.
        chains: number of independent chains >= 1.
        ddof: 0 (MLE) or 1 (unbiased), any integer in [0, min(M) - 1].
        method: "samples" (draws and fits the M points; reference) or "sufficient" (exact law
            of the fit; fast).
        mu0, sigma0: the original N(mu0, sigma0^2). With ``initial_sampler`` they are only the
            reported generation-0 values: pass D0's mean and standard deviation.
        record: generations to store (ints in [0, generations]; sorted and deduplicated; 0 is
            always added). Default: :func:`log_record` (0 plus ~50 log-spaced generations).
        chunk_size: chains per batch (default: about 2^22 / max(M) for "samples", 2^18 for
            "sufficient"). Results do not depend on it.
        progress: print a text progress bar on stderr (generation chunks of ~5% of the run).
        initial_sampler: optional ``f(key, M_1) -> array (M_1,)`` of real data D0 for the first
            fit (must be jax-traceable; it is vmapped over chains). Its key for chain i is
            ``fold_in(fold_in(key, i), 1)``. Works with both methods (the first fit is always
            computed from the M_1 points).
        workflow: data policy; only "replace" for now.
        devices: None (default device), an int k (the first k of ``jax.devices()``) or a
            sequence of devices: the chain axis is sharded over a 1-D mesh with ``shard_map``.
            Results are identical for any number of devices.
        dtype: float32 or float64 (default: JAX's default float; float64 needs x64 enabled).

    Returns:
        :class:`GaussianRun` with ``generations`` (R,), ``mean`` and ``log_variance`` (R, chains).

    Notes:
        float32 normals have |z| <= 5.4 (inversion of a 2^-23 grid, as ``jax.random.normal``);
        in float32 the sample path at M = 2 can, rarely, draw two equal points, giving
        log_variance = -inf (about 1e-7 per draw); use float64 or the sufficient path for very
        long M = 2 runs.

    Example:
        >>> run = simulate(jax.random.key(0), M=100, generations=1000, chains=1000,
        ...                method="sufficient")
        >>> run.std[-1].mean()   # doctest: +SKIP
    """
    generations = check_int("generations", generations, 0)
    chains = check_int("chains", chains, 1)
    ddof = check_int("ddof", ddof, 0)
    method = check_choice("method", method, METHODS)
    workflow = check_choice("workflow", workflow, tuple(WORKFLOWS))
    mu0 = check_real("mu0", mu0)
    sigma0 = check_real("sigma0", sigma0, positive=True)
    m_const, sched = _check_schedule(M, generations, ddof)
    rec = log_record(generations) if record is None else check_record(record, generations)
    dt = _smp._resolve_dtype(dtype)
    devs = _resolve_devices(devices)
    ndev = 1 if devs is None else len(devs)
    if initial_sampler is not None and not callable(initial_sampler):
        raise ValueError(f"initial_sampler must be callable or None, got {initial_sampler!r}")
    if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
        key = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))
    m_max = m_const if m_const is not None else (max(sched) if sched else 2)
    m1 = m_const if m_const is not None else (sched[0] if sched else 2)
    if chunk_size is None:
        cs = max(1, 2**22 // m_max) if method == "samples" else 2**18
        cs = min(cs, chains)
    else:
        cs = check_int("chunk_size", chunk_size, 1)
    cs = -(-min(cs, chains) // ndev) * ndev
    wf = WORKFLOWS[workflow]
    sched_arr = jnp.asarray(sched if sched else [m_max], jnp.int32)
    rec_j = jnp.asarray(rec, jnp.int32)
    R = rec.shape[0]
    g_first = 1 if initial_sampler is None else 2
    steps = max(generations - g_first + 1, 0)
    glen = steps if not progress else max(1, -(-steps // 20))
    out_mean = np.empty((R, chains), dtype=dt)
    out_lv = np.empty((R, chains), dtype=dt)
    bar = ProgressBar(chains * generations, desc=f"gaussian[{method}]", unit="chain-gens",
                      enabled=progress)
    lv0 = 2.0 * math.log(sigma0)
    ddof_arr = jnp.asarray(ddof, dt)
    if method == "samples":
        fn = _compiled_chunk(method, wf, jnp.dtype(dt).name, m_max, sched is not None, devs)
    else:  # nothing about M is static on the sufficient path
        fn = _compiled_chunk(method, wf, jnp.dtype(dt).name, 0, False, devs)
    for c0 in range(0, chains, cs):
        n_real = min(cs, chains - c0)
        # Pad to a multiple of _PAD chains per device (extra chains are computed and dropped):
        # XLA CPU may round the last few elements of a loop (remainder / thread-partition
        # edges) differently from the vectorised body; aligned shapes keep the bits of every
        # chain independent of chunk_size and device count.
        n = -(-n_real // (ndev * _PAD)) * (ndev * _PAD)
        idx = jnp.arange(c0, c0 + n, dtype=jnp.uint32)
        words = _chain_words_jit(key, idx)
        mean = jnp.full((n,), mu0, dt)
        lv = jnp.full((n,), lv0, dt)
        buf_mean = jnp.full((R + 1, n), jnp.nan, dt).at[0].set(mean)
        buf_lv = jnp.full((R + 1, n), jnp.nan, dt).at[0].set(lv)
        if initial_sampler is not None and generations >= 1:
            mean, lv = _compiled_initial(initial_sampler, m1, ddof, jnp.dtype(dt).name)(key, idx)
            if rec[-1] >= 1 and 1 in rec:
                row = int(np.searchsorted(rec, 1))
                buf_mean = buf_mean.at[row].set(mean)
                buf_lv = buf_lv.at[row].set(lv)
            bar.update(n_real)
        g = g_first
        while g <= generations:
            length = min(glen, generations - g + 1)
            mean, lv, buf_mean, buf_lv = fn(words, mean, lv, buf_mean, buf_lv, jnp.int32(g),
                                            jnp.int32(g + length), sched_arr, ddof_arr, rec_j)
            if progress:
                jax.block_until_ready(lv)
            bar.update(n_real * length)
            g += length
        out_mean[:, c0:c0 + n_real] = np.asarray(buf_mean[:R, :n_real])
        out_lv[:, c0:c0 + n_real] = np.asarray(buf_lv[:R, :n_real])
    bar.close()
    name = None
    if initial_sampler is not None:
        name = getattr(initial_sampler, "__name__", type(initial_sampler).__name__)
    return GaussianRun(generations=rec, mean=out_mean, log_variance=out_lv,
                       M=m_const if m_const is not None else sched, ddof=ddof, method=method,
                       workflow=workflow, mu0=mu0, sigma0=sigma0, chains=chains,
                       n_generations=generations, dtype=jnp.dtype(dt).name, initial=name)
