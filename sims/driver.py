"""The one simulation driver: every family's simulator is a kernel run by :func:`run`.

A *kernel* (see :class:`Kernel`) describes one family under one workflow: a typed state (a
pytree whose leaves have the chain axis first), ``init`` (generation 0), ``step`` (one
generation: it gets the generation index and that generation's counter-based random
:class:`~modelcollapse.sims.rng.threefry.Stream`), ``observe`` (named per-chain observables) and
``finals`` (per-chain summaries of the whole run, e.g. first extinction generations). The
driver owns everything else, once for all families:

- **chunking** of the chains into batches of a fixed width (a multiple of ``128 x devices``, so
  XLA's vectorised loops see aligned shapes; padded chains are computed and dropped);
- **recording** of any named observable at the requested generations (buffers of
  ``(recorded + 1, chains, ...)``): the generations between two recorded ones run in an inner
  loop with nothing but the kernel's step, and the observables are computed once per recorded
  generation (and once, into a spare row, at the end of a block that stops between two);
- **sharding** of the chain axis over devices (``jax.shard_map`` on a 1-D mesh) and over
  processes (``jax.distributed``: process ``p`` of ``P`` simulates the chains
  ``[p S, (p + 1) S)``, ``S = ceil(chains / P)``, and every process receives all results,
  gathered with ``jax.experimental.multihost_utils.process_allgather``);
- the **compile cache** (one bounded LRU cache keyed by the kernel, the batch shape, the
  recorded names and the devices) and the **progress bar** (generation blocks of ~5 % of the
  run when ``progress=True``);
- the **limits** every simulator shares, checked before anything is allocated: generations in
  ``[0, 2^31 - 2]`` and chains in ``[1, 2^31 - 1]`` (int32 generation counters, uint32 chain
  indices); the recorded results must fit in this machine's memory, and one batch (estimated by
  the kernel's optional ``batch_bytes``) in the device's (:func:`check_memory`).

Randomness. Chain ``i`` (its global index) uses the key words of
``fold_in(fold_in(key, i), 0)`` and generation ``g`` reads the Threefry blocks ``(g, j)`` under
them (:mod:`~modelcollapse.sims.rng.threefry`), so every chain's path is a pure function of
``(key, i)``: results are bit-identical whatever the chunk size, the number of devices or the
number of processes (tested).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, PartitionSpec

from modelcollapse.sims._progress import ProgressBar
from modelcollapse.sims.rng.threefry import Stream, chain_words, materialize
from modelcollapse.spec import params as P

__all__ = [
    "Observable",
    "Kernel",
    "Recording",
    "run",
    "log_record",
    "resolve_devices",
    "as_key",
    "sample_sizes",
    "check_memory",
    "host_memory",
    "device_memory",
    "GENERATIONS",
    "CHAINS",
    "MAX_INT32",
    "PAD",
]

#: Chains per device are padded to a multiple of this (aligned vector loops on XLA:CPU).
PAD = 128
#: The largest int32: the bound of sample sizes held as int32 (schedules, counts).
MAX_INT32 = 2**31 - 1
#: generations of every simulator: the generation counter is int32 and the driver's loop bound
#: ``g + 1`` must fit.
GENERATIONS = P.generations.restrict(high=float(MAX_INT32 - 1))
#: chains of every simulator: chain indices are uint32 words of ``fold_in`` (padded batches
#: run past the last chain), so int32's range keeps them exact.
CHAINS = P.chains.restrict(high=float(MAX_INT32))
_REC_SENTINEL = MAX_INT32 - 1  # >= every generation (see GENERATIONS)


@dataclass(frozen=True)
class Observable:
    """A per-chain observable: its trailing shape and dtype (``"float32"``, ``"int32"``, ...)."""

    shape: tuple[int, ...] = ()
    dtype: str = "float32"


class Kernel(Protocol):
    """What the driver needs from a family under a workflow (hashable: it keys the cache).

    ``float_state`` (optional, default True): the state holds floats, so the driver makes XLA
    compute each generation's state once (:func:`~modelcollapse.sims.rng.threefry.materialize`)
    -- two fused copies of float arithmetic may round differently, which would make a chain's
    bits depend on the batch shape. Integer states are exact by construction and skip it.
    """

    name: str

    def observables(self) -> Mapping[str, Observable]:
        """Every observable :meth:`observe` returns, with its shape and dtype."""
        ...

    def init(self, params: Any, n: int) -> Any:
        """The state of ``n`` chains at generation 0 (traced; ``params`` is a pytree)."""
        ...

    def step(self, g: jax.Array, state: Any, stream: Stream, params: Any) -> Any:
        """The state of generation ``g`` from that of ``g - 1`` (``g`` is int32, traced)."""
        ...

    def observe(self, state: Any, params: Any) -> dict[str, jax.Array]:
        """Named per-chain observables of a state (unused ones cost nothing: XLA drops them)."""
        ...

    def finals(self, state: Any) -> dict[str, jax.Array]:
        """Per-chain summaries of the whole run, read from the last state."""
        ...

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        """A good number of chains per batch (memory), given the recorded rows and names."""
        ...


@dataclass
class Recording:
    """What :func:`run` returns (NumPy arrays; ``R`` recorded generations)."""

    generations: np.ndarray
    observed: dict[str, np.ndarray] = field(default_factory=dict)  # (R, chains, ...)
    finals: dict[str, np.ndarray] = field(default_factory=dict)  # (chains, ...)


# ----------------------------------------------------------------------------- arguments
def log_record(generations: int, num: int = 50) -> np.ndarray:
    """Default recorded generations: all of them below ``num``, else 0 and ~``num`` log-spaced.

    Always contains 0 and ``generations``; sorted, deduplicated, at most ``num`` entries when
    ``generations >= num``.

    Parameters
    ----------
    generations : int
        Number of refits simulated (>= 0).
    num : int
        Target number of recorded generations (>= 2).

    Returns
    -------
    numpy.ndarray
        int64 generation indices.

    Examples
    --------
    >>> from modelcollapse.sims.driver import log_record
    >>> log_record(5).tolist()
    [0, 1, 2, 3, 4, 5]
    >>> log_record(1000, 8).tolist()
    [0, 1, 3, 10, 32, 100, 316, 1000]
    """
    generations = GENERATIONS.scalar(generations)
    num = P.Param("num", "number of recorded generations", integer=True, low=2).scalar(num)
    if generations < num:
        return np.arange(generations + 1, dtype=np.int64)
    pts = np.rint(np.geomspace(1, generations, num - 1))
    return np.unique(np.concatenate([[0, generations], pts]).astype(np.int64))


_KEY_DOMAIN = ("a jax.random.key, e.g. jax.random.key(0), or the uint32 key data of "
               "jax.random.PRNGKey; integer seeds are not accepted")


def as_key(key: Any) -> jax.Array:
    """A typed PRNG key from a typed key or legacy uint32 key data.

    Integer seeds are refused on purpose: a simulator's randomness is an explicit key (the
    command line turns its ``--seed`` into ``jax.random.key(seed)``).

    Parameters
    ----------
    key : jax.Array
        A typed key (``jax.random.key``) or raw uint32 key data of the default implementation
        (``jax.random.PRNGKey``, shape ``(2,)``).

    Returns
    -------
    jax.Array
        A typed key (shape ``()``); ``ValueError`` naming ``key`` for anything else.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.driver import as_key
    >>> as_key(jax.random.PRNGKey(3)).dtype
    key<fry>
    >>> as_key(0)
    Traceback (most recent call last):
    ...
    ValueError: key must be a jax.random.key, e.g. jax.random.key(0), or the uint32 key data of jax.random.PRNGKey; integer seeds are not accepted (got 0)
    """  # noqa: E501
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key must be a single PRNG key (got a key array of shape "
                             f"{key.shape})")
        return key
    data = key if isinstance(key, jax.Array | np.ndarray) else None
    if data is None or data.dtype != np.uint32 or data.ndim != 1:
        raise ValueError(f"key must be {_KEY_DOMAIN} (got {P.show(key)})")
    try:
        return jax.random.wrap_key_data(jnp.asarray(data, jnp.uint32))
    except Exception as exc:  # noqa: BLE001 - wrong length for the default implementation
        raise ValueError(f"key must be {_KEY_DOMAIN} (got uint32 data of shape "
                         f"{data.shape})") from exc


def resolve_devices(devices: Any) -> tuple[Any, ...] | None:
    """The devices to shard the chain axis over.

    Parameters
    ----------
    devices : None, int or sequence of jax devices
        ``None``: the default device; an int ``k``: the first ``k`` local devices (1: the
        default device); a non-empty sequence: those devices (local to this process).

    Returns
    -------
    tuple of devices or None
        None means "no sharding".

    Examples
    --------
    >>> from modelcollapse.sims.driver import resolve_devices
    >>> resolve_devices(1) is None
    True
    >>> resolve_devices(0)
    Traceback (most recent call last):
    ...
    ValueError: devices must be an integer in [1, ...] (got 0)
    """
    if devices is None:
        return None
    local = jax.local_devices()
    if isinstance(devices, int | np.integer) and not isinstance(devices, bool):
        k = P.Param("devices", "number of local devices to shard the chains over",
                    integer=True, low=1, high=len(local)).scalar(devices)
        return None if k == 1 else tuple(local[:k])
    domain = (f"devices must be None, an integer in [1, {len(local)}] (this process's devices) "
              "or a non-empty sequence of distinct local jax devices")
    if isinstance(devices, str | bytes) or not np.iterable(devices):
        raise ValueError(f"{domain} (got {P.show(devices)})")
    devs = tuple(devices)
    if not devs:
        raise ValueError(f"{domain} (got an empty sequence)")
    bad = [d for d in devs if not isinstance(d, jax.Device) or d not in local]
    if bad:
        raise ValueError(f"{domain} (got {P.show([str(d) for d in bad])})")
    if len(set(devs)) != len(devs):
        raise ValueError(f"{domain} (got a device twice)")
    return devs


def sample_sizes(value: Any, param: P.Param, generations_value: int
                 ) -> tuple[int | None, tuple[int, ...]]:
    """A constant sample size or a 1-D schedule, validated as ``param`` (see
    :func:`modelcollapse.spec.params.sample_sizes`); ragged nested sequences, which NumPy
    cannot hold as an array, are refused with the same message as any other bad value.

    Parameters
    ----------
    value : int or sequence of int
        ``M``.
    param : Param
        The declaration of every size.
    generations_value : int
        The number of generations a schedule must cover.

    Returns
    -------
    tuple
        ``(M, (M,))`` or ``(None, schedule)``.

    Examples
    --------
    >>> from modelcollapse.sims.driver import sample_sizes
    >>> from modelcollapse.spec import params as P
    >>> sample_sizes([[1, 2], [3]], P.M, 2)
    Traceback (most recent call last):
    ...
    ValueError: M must be an integer >= 1 or a 1-D schedule of them (got [[1, 2], [3]])
    """
    if not isinstance(value, str | bytes) and not _regular(value):
        raise ValueError(f"{param.name} must be {param.domain} or a 1-D schedule of them "
                         f"(got {P.show(value)})")
    return P.sample_sizes(value, param, generations_value)


def _regular(value: Any) -> bool:
    """Whether NumPy can hold ``value`` as a regular array."""
    try:
        np.asarray(value)
    except (ValueError, TypeError):
        return False
    return True


# ----------------------------------------------------------------------------- memory
def host_memory() -> int:
    """This machine's physical memory in bytes (2^40 where the OS does not say).

    Returns
    -------
    int
        ``SC_PAGE_SIZE * SC_PHYS_PAGES``.

    Examples
    --------
    >>> from modelcollapse.sims.driver import host_memory
    >>> host_memory() > 2**20
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 2**40


def device_memory(devs: tuple[Any, ...] | None) -> int:
    """Memory of one device of ``devs`` (the default device for None) in bytes.

    Accelerators report their limit (``memory_stats()["bytes_limit"]``); CPU devices share the
    host's memory (:func:`host_memory`).

    Parameters
    ----------
    devs : tuple of devices or None
        As returned by :func:`resolve_devices`.

    Returns
    -------
    int
        The smallest limit among the devices.

    Examples
    --------
    >>> from modelcollapse.sims.driver import device_memory, host_memory
    >>> device_memory(None) <= host_memory() or device_memory(None) > 0
    True
    """
    out = []
    for d in devs if devs is not None else jax.local_devices()[:1]:
        try:
            stats = d.memory_stats()
        except Exception:  # noqa: BLE001 - not every backend implements it
            stats = None
        limit = (stats or {}).get("bytes_limit")
        out.append(int(limit) if limit else host_memory())
    return min(out)


def _size(n: float) -> str:
    """Bytes for a message: '1.86 TiB' (powers of 1024, binary prefixes)."""
    for unit, k in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2**k:
            return f"{n / 2**k:.3g} {unit}"
    return f"{int(n)} bytes"


def check_memory(kernel: Kernel, params: Any, *, chains: int, rows: int,
                 names: Sequence[str], width: int, devs: tuple[Any, ...] | None,
                 chunk_size: int | None = None) -> None:
    """Refuse (``ValueError``) a run whose results or batches cannot be held.

    Two estimates, made before anything is allocated or compiled:

    - the recorded results: ``rows x chains`` of every observable plus the finals, twice (the
      driver's arrays and the family's converted copies), against :func:`host_memory`;
    - one batch of ``width`` chains: the kernel's ``batch_bytes(width / devices)`` (optional;
      its ``memory_hint()`` gives the cause and what to change, two strings), against
      :func:`device_memory`.

    Parameters
    ----------
    kernel : Kernel
        The family under its workflow.
    params : pytree
        Its run-time parameters (for the shapes of the finals).
    chains, rows : int
        Chains of the run and recorded generations.
    names : sequence of str
        Recorded observables.
    width : int
        Chains per batch (all devices together).
    devs : tuple of devices or None
        The devices (:func:`resolve_devices`).
    chunk_size : int, optional
        The chunk size the caller asked for (named in the message when it is the cause).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims import driver, gaussian
    >>> from modelcollapse.sims.workflows import kernel
    >>> k = kernel(gaussian.GaussianFamily(method="sufficient", dtype="float32"), "replace")
    >>> params = gaussian.GaussianParams(jnp.asarray([5]), jnp.float32(1), jnp.float32(0),
    ...                                  jnp.float32(0))
    >>> driver.check_memory(k, params, chains=10**12, rows=2, names=("mean",), width=128,
    ...                     devs=None)
    Traceback (most recent call last):
    ...
    ValueError: chains=1000000000000: the recorded results need about 14.6 TiB, more than this machine's memory (...); record fewer generations or observables, or split the chains over several calls
    """  # noqa: E501
    specs = kernel.observables()
    per_chain = sum(rows * int(np.prod(specs[k].shape, dtype=np.int64))
                    * np.dtype(specs[k].dtype).itemsize for k in names)
    fin = jax.eval_shape(lambda: kernel.finals(kernel.init(params, 1)))
    per_chain += sum(int(np.prod(v.shape[1:], dtype=np.int64)) * np.dtype(v.dtype).itemsize
                     for v in fin.values())
    need, have = 2 * per_chain * chains, host_memory()
    if need > have:
        raise ValueError(f"chains={chains}: the recorded results need about {_size(need)}, "
                         f"more than this machine's memory ({_size(have)}); record fewer "
                         "generations or observables, or split the chains over several calls")
    batch_bytes = getattr(kernel, "batch_bytes", None)
    if batch_bytes is None:
        return
    ndev = 1 if devs is None else len(devs)
    need, have = batch_bytes(width // ndev), device_memory(devs)
    if need <= have:
        return
    least = batch_bytes(PAD)
    if least > have:
        subject, advice = (kernel.memory_hint() if hasattr(kernel, "memory_hint")
                           else ("the simulator's sizes", "reduce them"))
        raise ValueError(f"{subject}: one batch of {PAD} chains needs about {_size(least)}, "
                         f"more than the device's memory ({_size(have)}); {advice}")
    raise ValueError(f"chunk_size={chunk_size}: a batch of {width // ndev} chains per device "
                     f"needs about {_size(need)}, more than the device's memory "
                     f"({_size(have)}); use a smaller chunk_size")


def _bucket(units: int) -> int:
    """Round up to 1..16, then 8 sizes per octave: batch shapes that differ a little share one
    compiled program (at most 1/8 of a batch is padding)."""
    if units <= 16:
        return max(1, units)
    step = 1 << (int(units - 1).bit_length() - 4)
    return -(-units // step) * step


def _rows_bucket(rows: int) -> int:
    """Recorded rows plus at least one sentinel slot: exact up to 16, then multiples of 8."""
    return rows + 1 if rows < 16 else -(-(rows + 1) // 8) * 8


# ----------------------------------------------------------------------------- compiled parts
@functools.lru_cache(maxsize=64)
def _compiled(kernel: Kernel, width: int, n_rec: int, names: tuple[str, ...],
              devs: tuple[Any, ...] | None) -> tuple[Any, Any]:
    """Jitted ``init(words, params, rec)`` and ``advance(words, state, bufs, g0, g1, params,
    rec)`` for one kernel and batch shape (cached)."""
    specs = kernel.observables()
    float_state = getattr(kernel, "float_state", True)

    def observe(state: Any, params: Any) -> dict[str, jax.Array]:
        obs = kernel.observe(state, params)
        return {k: obs[k].astype(specs[k].dtype) for k in names}

    def init(words: jax.Array, params: Any, rec: jax.Array) -> tuple[Any, Any]:
        n = words.shape[0]
        state = kernel.init(params, n)
        first = observe(state, params)
        bufs = {k: jnp.zeros((n_rec + 1, n) + specs[k].shape, specs[k].dtype).at[0].set(v)
                for k, v in first.items()}
        return state, bufs

    def advance(words: jax.Array, state: Any, bufs: Any, g0: jax.Array, g1: jax.Array,
                params: Any, rec: jax.Array) -> tuple[Any, Any]:
        k0, k1 = words[:, 0], words[:, 1]

        def step(g: jax.Array, state: Any) -> Any:
            gu = g.astype(jnp.uint32)
            state = kernel.step(g, state, Stream(k0, k1, gu), params)
            if float_state:  # carried and recorded float values share their bits
                state = materialize(state, gu)
            return state

        def segment(r: jax.Array, carry: tuple[Any, Any]) -> tuple[Any, Any]:
            # slot r covers the generations (rec[r-1], rec[r]]: step through the part inside
            # [g0, g1), then record rec[r] if this block reaches it (else: the spare row)
            state, bufs = carry
            a = jnp.maximum(g0, rec[r - 1] + 1)
            b = jnp.minimum(g1, rec[r] + 1)
            state = lax.fori_loop(a, b, step, state)
            slot = jnp.where(rec[r] < g1, r, n_rec)
            vals = observe(state, params)
            bufs = {k: lax.dynamic_update_index_in_dim(v, vals[k], slot, 0)
                    for k, v in bufs.items()}
            return state, bufs

        # slots whose segment meets [g0, g1): from the first recorded generation >= g0 to the
        # one holding generation g1 - 1 (a sentinel slot for the generations after the last
        # recorded one); observations are made once per segment, never per generation
        r_lo = jnp.searchsorted(rec, g0, side="left")
        r_hi = jnp.searchsorted(rec, g1 - 1, side="left")
        return lax.fori_loop(r_lo, r_hi + 1, segment, (state, bufs))

    if devs is None:
        return jax.jit(init), jax.jit(advance)
    mesh = Mesh(np.asarray(devs), ("chains",))
    c, rep, rows = PartitionSpec("chains"), PartitionSpec(), PartitionSpec(None, "chains")
    init_sm = jax.shard_map(init, mesh=mesh, in_specs=(c, rep, rep), out_specs=(c, rows),
                            check_vma=False)
    adv_sm = jax.shard_map(advance, mesh=mesh, in_specs=(c, c, rows, rep, rep, rep, rep),
                           out_specs=(c, rows), check_vma=False)
    return jax.jit(init_sm), jax.jit(adv_sm)


_chain_words = jax.jit(chain_words)


# ----------------------------------------------------------------------------- the loop
def run(kernel: Kernel, key: Any, params: Any, *, generations: int, chains: int,
        record: Sequence[int] | np.ndarray, observe: Sequence[str],
        chunk_size: int | None = None, progress: bool = False, devices: Any = None,
        desc: str | None = None) -> Recording:
    """Simulate ``chains`` chains of ``kernel`` for ``generations`` generations.

    Parameters
    ----------
    kernel : Kernel
        The family under its workflow (hashable; static configuration).
    key : jax.Array
        A ``jax.random.key``; chain ``i`` draws from ``fold_in(key, i)``.
    params : pytree
        Run-time parameters passed to the kernel (traced: changing them does not recompile).
    generations, chains : int
        Number of refits (>= 0) and of independent chains (>= 1).
    record : sequence of int
        Recorded generations (validated, sorted, deduplicated; 0 is always added).
    observe : sequence of str
        Names of the observables to record (among ``kernel.observables()``).
    chunk_size : int, optional
        Chains per batch (default: ``kernel.chunk_hint``). Results do not depend on it.
    progress : bool
        Print a progress bar on stderr.
    devices : None, int or sequence of devices
        Shard the chain axis over these local devices (see :func:`resolve_devices`).
    desc : str, optional
        Label of the progress bar (default: ``kernel.name``).

    Returns
    -------
    Recording
        ``generations`` (R,), ``observed[name]`` (R, chains, ...), ``finals[name]`` (chains, ...).

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims import gaussian
    >>> run = gaussian.simulate(jax.random.key(0), M=10, generations=3, chains=4,
    ...                         record=[0, 3])
    >>> run.log_variance.shape
    (2, 4)
    """
    key = as_key(key)
    generations = GENERATIONS.scalar(generations)
    chains = P.chains.scalar(chains)
    rec = P.record(record, generations)
    if chunk_size is not None:
        chunk_size = P.chunk_size.scalar(chunk_size)
    specs = kernel.observables()
    names = tuple(observe)
    unknown = [k for k in names if k not in specs]
    if unknown:
        raise ValueError(f"observe must name observables among {tuple(specs)} (got {unknown})")
    devs = resolve_devices(devices)
    ndev = 1 if devs is None else len(devs)

    # processes: a contiguous share of the global chain indices each
    nproc, pid = jax.process_count(), jax.process_index()
    share = -(-chains // nproc)
    lo, hi = min(pid * share, chains), min((pid + 1) * share, chains)
    local = hi - lo

    R = rec.shape[0]
    n_rec = _rows_bucket(R)
    rec_pad = np.full(n_rec, _REC_SENTINEL, np.int32)
    rec_pad[:R] = rec
    rec_j = jnp.asarray(rec_pad)

    unit = ndev * PAD
    want = chunk_size if chunk_size is not None else kernel.chunk_hint(R, names)
    want = max(1, min(want, max(local, 1)))
    width = _bucket(-(-want // unit)) * unit
    check_memory(kernel, params, chains=chains, rows=R, names=names, width=width, devs=devs,
                 chunk_size=chunk_size)
    chains = CHAINS.scalar(chains)
    init_fn, adv_fn = _compiled(kernel, width, n_rec, names, devs)  # type: ignore[arg-type]

    try:
        observed = {k: np.empty((R, share) + specs[k].shape, specs[k].dtype) for k in names}
    except MemoryError:  # the estimate of check_memory passed, but the OS refused
        raise ValueError(f"chains={chains}: the recorded results could not be allocated; "
                         "record fewer generations or observables, or split the chains over "
                         "several calls") from None
    finals: dict[str, np.ndarray] = {}
    glen = generations if not progress else max(1, -(-generations // 20))
    bar = ProgressBar(local * generations, desc=desc or kernel.name, unit="chain-gens",
                      enabled=progress)
    for c0 in range(lo, hi, width):
        n_real = min(width, hi - c0)
        words = _chain_words(key, jnp.arange(c0, c0 + width, dtype=jnp.uint32))
        state, bufs = init_fn(words, params, rec_j)
        g = 1
        while g <= generations:
            length = min(glen, generations - g + 1)
            state, bufs = adv_fn(words, state, bufs, jnp.int32(g), jnp.int32(g + length),
                                 params, rec_j)
            if progress:
                jax.block_until_ready(state)
            bar.update(n_real * length)
            g += length
        a = c0 - lo
        for k in names:
            observed[k][:, a:a + n_real] = np.asarray(bufs[k][:R, :n_real])
        for k, fin in kernel.finals(state).items():
            v = np.asarray(fin)
            if k not in finals:
                finals[k] = np.empty((share,) + v.shape[1:], v.dtype)
            finals[k][a:a + n_real] = v[:n_real]
    bar.close()
    if nproc > 1:
        observed, finals = _gather(observed, finals, kernel, params, chains, share, local)
    else:
        observed = {k: v[:, :chains] for k, v in observed.items()}
        finals = {k: v[:chains] for k, v in finals.items()}
    return Recording(generations=rec, observed=observed, finals=finals)


def _gather(observed: dict[str, np.ndarray], finals: dict[str, np.ndarray], kernel: Kernel,
            params: Any, chains: int, share: int, local: int
            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """All processes' shares, in global chain order, on every process."""
    from jax.experimental import multihost_utils

    if not finals and local == 0:  # a process without chains still knows the finals' shapes
        state = jax.eval_shape(lambda: kernel.finals(kernel.init(params, 1)))
        finals = {k: np.zeros((share,) + v.shape[1:], v.dtype) for k, v in state.items()}
    for k, v in finals.items():
        if v.shape[0] != share:  # cannot happen: allocated with `share` rows
            raise RuntimeError(f"final {k!r} has {v.shape[0]} rows, expected {share}")
    got = multihost_utils.process_allgather((observed, finals))
    obs_all, fin_all = got
    observed = {k: np.concatenate(list(np.asarray(v)), axis=1)[:, :chains]
                for k, v in obs_all.items()}
    finals = {k: np.concatenate(list(np.asarray(v)), axis=0)[:chains]
              for k, v in fin_all.items()}
    return observed, finals

