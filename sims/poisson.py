"""Monte Carlo simulator of the Poisson refit (Suresh et al.), a kernel on the shared driver.

Model. Generation 0 is Poisson(lam0). Generation t >= 1 is the Poisson model refit by the sample
mean of M_t draws from generation t - 1: with ``S_t = M_t Lam_t`` the sum of the draws,
``S_1 ~ Poisson(M_1 lam0)`` (the first fit sees real data) and
``S_{t+1} | S_t ~ Poisson(M_{t+1} S_t / M_t)``. For a constant M this is a critical
Galton-Watson process with Poisson(1) offspring: the rate is a martingale and dies out (Lam = 0
is absorbing) with probability 1.

The family is written only against the shared seams (:mod:`modelcollapse.sims.driver`,
:mod:`modelcollapse.sims.workflows`, :mod:`modelcollapse.sims.rng`); its sufficient statistics
are ``(size, total)`` (pooled by addition). Two exact paths:

- ``method="samples"`` (the reference): draws the M points, each ``Poisson(Lam)``, and sums them;
- ``method="sufficient"`` (fast, the default): draws the total ``S ~ Poisson(M Lam)`` directly.

Workflows (:mod:`modelcollapse.sims.workflows`, the same values the theory takes): replace,
mix (fresh real points or one reused real set), accumulate (the pool's size and total: memory
independent of the generation count), weighted (``blend``: ``w`` times the real mean plus
``1 - w`` times the synthetic mean, a float32 rate) and accumulate_subsample (the seam's point
pool, through :meth:`PoissonFamily.draw_points` and :meth:`PoissonFamily.point_stats`; the
statistics of a pool do not determine those of a subsample, so there is no pooled-statistics
path). No sampling bias. The first fit sees real data only.

Observables per chain at the recorded generations: ``rate`` (the fitted rate, float32),
``total`` and ``size`` (the fit's data: ``Lam_t = total / size``; at generation 0 and for a
weighted blend ``-1`` and 0); over the whole run ``extinction_generation`` (first generation
with ``Lam = 0``; -1 if none: only replace keeps 0 for ever).
Randomness: as every family of the driver (chain ``i`` draws from ``fold_in(key, i)``; results do
not depend on chunking, devices or processes).

Reference: A. T. Suresh, A. Thangaraj, A. N. K. Khandavally, "Rate of model collapse in
recursive training" (AISTATS 2025).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from modelcollapse.sims import driver
from modelcollapse.sims._reduce import tree_sum_rows
from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.poisson import MAX_MEAN, poisson_rows
from modelcollapse.sims.rng.threefry import Stream
from modelcollapse.sims.workflows import kernel
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = ["simulate", "PoissonRun", "PoissonFamily", "PoissonState", "PoissonParams", "SIM_M"]

_DRAW_TAG = 0x5EED9015  # block (g, tag): the seed of generation g's Poisson draws
#: M of the Poisson simulator: held as int32 (schedules, sample sizes of the state).
SIM_M = P.M.restrict(high=float(driver.MAX_INT32))
#: Bytes per drawn point of the sample path (the sampler's seeds, counters, means and loop
#: state), from XLA's buffer assignment on CPU (``memory_analysis`` of one generation).
_SAMPLE_BYTES = 128


#: The workflows this simulator runs (see :mod:`modelcollapse.sims.workflows`; the seam lists
#: the ones it implements, and ``accumulate_subsample`` runs on the point pool through
#: :meth:`PoissonFamily.draw_points` and :meth:`PoissonFamily.point_stats`).
WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted", "accumulate_subsample")


class PoissonState(NamedTuple):
    """Per chain: the total ``S`` of the last fit and its sample size (int32, ``(n,)`` each;
    ``-1`` and 0 for a weighted blend, which is no sample's mean), the first generation with
    ``Lam = 0`` (-1: not yet) and the fitted rate ``Lam`` (float32: ``S / size``, or the blend)."""

    total: jax.Array
    size: jax.Array
    extinct_at: jax.Array
    rate: jax.Array


class PoissonParams(NamedTuple):
    """Run-time parameters: the schedule ``[M]`` or ``M_1..M_n`` and ``lam0``."""

    sched: jax.Array
    lam0: jax.Array


class PoissonStats(NamedTuple):
    """Sufficient statistics of a sample: its size and its total (int32)."""

    size: jax.Array
    total: jax.Array


@dataclasses.dataclass(frozen=True)
class PoissonFamily:
    """The Poisson refit as a family of the workflow seam (static configuration).

    ``m_max``: points drawn per generation on the sample path (the largest draw; masked when
    the draw sizes vary: a schedule, or the real and synthetic parts of mix and weighted).
    ``float_state``: True only under ``weighted``, whose blended rate is float arithmetic (the
    driver then fixes its bits whatever the batch); every other fit is ``S / size`` of integers.
    """

    method: str
    m_max: int = 0
    masked: bool = False
    name: str = "poisson"
    biases: tuple[str, ...] = ()
    float_state: bool = False
    workflows: tuple[str, ...] = WORKFLOWS

    def init(self, params: PoissonParams, n: int) -> PoissonState:
        # generation 0 is the rate lam0 itself: no sample (total -1), size 0
        return PoissonState(jnp.full((n,), -1, jnp.int32), jnp.zeros((n,), jnp.int32),
                            jnp.full((n,), -1, jnp.int32),
                            jnp.full((n,), params.lam0, jnp.float32))

    def observables(self) -> Mapping[str, Observable]:
        return {"rate": Observable((), "float32"), "total": Observable((), "int32"),
                "size": Observable((), "int32")}

    def observe(self, state: PoissonState, params: PoissonParams) -> dict[str, jax.Array]:
        return {"rate": state.rate, "total": state.total, "size": state.size}

    def finals(self, state: PoissonState) -> dict[str, jax.Array]:
        return {"extinction_generation": state.extinct_at}

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        return max(1, 2**22 // max(self.m_max, 8)) if self.method == "samples" else 2**18

    def batch_bytes(self, chains: int) -> int:
        """Estimated memory of one batch of ``chains`` chains on one device (bytes)."""
        return chains * (_SAMPLE_BYTES * self.m_max + 64)

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit (see :meth:`batch_bytes`)."""
        return (f"M={self.m_max} with method='samples' (the M draws of every chain are made at "
                "once)", "use method='sufficient' (the total's exact law, Poisson(M Lam)) or a "
                "smaller M")

    def draw_points(self, stream: Stream, m_max: int, m: jax.Array, state: PoissonState,
                    real: jax.Array, params: PoissonParams, bias: W.SamplingBias) -> jax.Array:
        """The ``m <= m_max`` points of one draw, int32 ``(chains, m_max)`` (entries at index
        ``>= m`` are 0): i.i.d. ``Poisson(lam0)`` (``real``) or ``Poisson(Lam)`` of the fit."""
        rate = jnp.where(real, params.lam0, state.rate)
        seeds = stream.seeds(_DRAW_TAG)
        pts = poisson_rows(seeds, jnp.broadcast_to(rate[:, None], (rate.shape[0], m_max)))
        return jnp.where(jnp.arange(m_max)[None, :] < m, pts, 0)

    def point_stats(self, points: jax.Array, mask: jax.Array) -> PoissonStats:
        """Size and total of the points where ``mask`` is true (integer sums: exact)."""
        size = jnp.sum(mask, axis=-1, dtype=jnp.int32)
        total = jnp.sum(jnp.where(mask, points, 0), axis=-1, dtype=jnp.int32)
        return PoissonStats(size, total)

    def draw(self, stream: Stream, m: jax.Array, state: PoissonState, real: jax.Array,
             params: PoissonParams, bias: W.SamplingBias) -> PoissonStats:
        """Total of m draws from Poisson(lam0) (``real``) or from the fitted Poisson(Lam)."""
        rate = jnp.where(real, params.lam0, state.rate)
        if self.method == "sufficient":
            # M rate is the integer S when the sample size does not change (exact in float32)
            mean = jnp.where(~real & (m == state.size), state.total.astype(jnp.float32),
                             m.astype(jnp.float32) * rate)
            total = poisson_rows(stream.seeds(_DRAW_TAG), mean[:, None])[:, 0]
        else:
            if self.masked:
                pts = self.draw_points(stream, self.m_max, m, state, real, params, bias)
            else:
                pts = poisson_rows(stream.seeds(_DRAW_TAG),
                                   jnp.broadcast_to(rate[:, None], (rate.shape[0], self.m_max)))
            total = tree_sum_rows(pts.T)
        return PoissonStats(jnp.full_like(total, m), total)

    def fit(self, g: jax.Array, stats: PoissonStats, state: PoissonState,
            params: PoissonParams) -> PoissonState:
        """The rate is total / size; the first generation with a zero rate is kept."""
        ext = jnp.where((state.extinct_at < 0) & (stats.total == 0), g, state.extinct_at)
        rate = stats.total.astype(jnp.float32) / jnp.maximum(stats.size, 1).astype(jnp.float32)
        return PoissonState(stats.total, stats.size, ext, rate)

    def combine(self, a: PoissonStats, b: PoissonStats) -> PoissonStats:
        """Pooled samples: sizes and totals add."""
        return PoissonStats(a.size + b.size, a.total + b.total)

    def empty(self, params: PoissonParams, n: int) -> PoissonStats:
        """Statistics of no point: the start of a pool (accumulate, fixed real set)."""
        return PoissonStats(jnp.zeros((n,), jnp.int32), jnp.zeros((n,), jnp.int32))

    def blend(self, w: float, a: PoissonState, b: PoissonState) -> PoissonState:
        """The weighted estimate ``w Lam_a + (1 - w) Lam_b`` (no sample: total -1, size 0); it
        is 0 exactly when both are (the first such generation is kept)."""
        rate = jnp.float32(w) * a.rate + jnp.float32(1.0 - w) * b.rate
        one_zero = jnp.where(rate == 0, jnp.maximum(a.extinct_at, b.extinct_at), -1)  # w = 0, 1
        ext = jnp.where(a.extinct_at == b.extinct_at, a.extinct_at, one_zero)
        return PoissonState(jnp.full_like(a.total, -1), jnp.zeros_like(a.size), ext, rate)


@dataclasses.dataclass(frozen=True, eq=False)
class PoissonRun:
    """Recorded output of :func:`simulate`.

    Attributes
    ----------
    generations : numpy.ndarray
        int64 ``(R,)`` recorded generations (always contains 0).
    rate : numpy.ndarray
        ``(R, chains)`` fitted rates ``Lam_g`` (generation 0: lam0).
    total : numpy.ndarray
        ``(R, chains)`` int32 totals ``S_g`` of the fit's data (``S_g = M_g Lam_g`` under
        replace; the pool's total under accumulate; generation 0 and weighted blends: -1).
    extinction_generation : numpy.ndarray
        ``(chains,)`` int32 first generation with ``Lam = 0`` (-1: none within the run).
    lam0, M, method, workflow, chains, n_generations
        The run's parameters.
    """

    generations: np.ndarray
    rate: np.ndarray
    total: np.ndarray
    extinction_generation: np.ndarray
    lam0: float
    M: int | tuple[int, ...]
    method: str
    workflow: str
    chains: int
    n_generations: int

    def save(self, path: Any) -> None:
        """Write the run to a NumPy ``.npz`` file."""
        np.savez(path, generations=self.generations, rate=self.rate, total=self.total,
                 extinction_generation=self.extinction_generation, lam0=self.lam0,
                 M=np.asarray(self.M, np.int64), M_is_schedule=not isinstance(self.M, int),
                 method=self.method, workflow=self.workflow, chains=self.chains,
                 n_generations=self.n_generations)


def simulate(key: Any, *, lam0: float, M: int | Sequence[int], generations: int, chains: int,
             method: str = "sufficient", record: Sequence[int] | None = None,
             chunk_size: int | None = None, progress: bool = False,
             workflow: W.WorkflowLike = "replace", devices: Any = None) -> PoissonRun:
    """Simulate ``chains`` Poisson refit chains for ``generations`` generations.

    One generation (replace workflow): draw M points from the fitted Poisson(Lam) and refit
    ``Lam' = mean``; equivalently ``M Lam' ~ Poisson(M Lam)``. Generation 0 is Poisson(lam0);
    the first fit sees M real draws.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key``; chain i draws from ``fold_in(key, i)``.
    lam0 : float
        The original rate, > 0.
    M : int or sequence of int
        Samples per generation (integer in [1, 2**31 - 1]) or a schedule ``M_1..M_n`` of
        length ``generations``; ``M lam0 <= 2**18`` (the means ``M Lam`` of the draws stay
        exact in float32). The sample path draws the M points of a batch of chains at once:
        they must fit in the device's memory (else ``ValueError``: use ``"sufficient"``).
    generations : int
        Number of refits, an integer in [0, 2**31 - 2].
    chains : int
        Number of independent chains, an integer in [1, 2**31 - 1] whose recorded results
        fit in memory.
    method : {"sufficient", "samples"}
        Draw the total ``S ~ Poisson(M Lam)`` (fast) or the M points (the reference).
    record : sequence of int, optional
        Recorded generations (0 always added); default: all of them below 50, else 0 and ~50
        log-spaced ones.
    chunk_size, progress, devices
        As for every simulator of the package (see :func:`modelcollapse.sims.driver.run`).
    workflow : Workflow or str
        Data policy (:mod:`modelcollapse.spec.workflows`, the value the theory takes):
        ``replace``; ``mix`` (``r`` fresh real points and ``M - r`` synthetic; ``fixed_real``
        reuses the real set of generation 1); ``accumulate`` (the pool's size and total, memory
        independent of the generation count; ``generations * M`` points at most ``2**31 - 1``
        and ``generations * M * lam0 <= 2**30``); ``weighted`` (``w`` times the mean of ``r``
        fresh real points plus ``1 - w`` times the mean of ``M`` synthetic ones; the rate is
        then float32 and ``total`` is -1); ``accumulate_subsample`` where the seam runs it (the
        point pool: every generation's points are kept, about ``POOL_BYTES`` bytes per point
        and chain). No sampling bias. The first fit sees real data only.

    Returns
    -------
    PoissonRun

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.poisson import simulate
    >>> run = simulate(jax.random.key(0), lam0=2.0, M=10, generations=5, chains=1000)
    >>> run.rate.shape, float(run.rate[0, 0]), int(run.total[0, 0])
    ((6, 1000), 2.0, -1)
    >>> bool(abs(float(run.rate[-1].mean()) - 2.0) < 0.15)   # E Lam_n = lam0 (martingale)
    True
    """
    lam0 = P.lam0.scalar(lam0)
    generations = driver.GENERATIONS.scalar(generations)
    chains = P.chains.scalar(chains)
    method = P.method.check(method)
    wf = W.as_workflow(workflow)
    m_const, sched = driver.sample_sizes(M, SIM_M, generations)
    if sched and max(sched) * lam0 > MAX_MEAN / 64:
        raise ValueError(f"M * lam0 must be <= {MAX_MEAN / 64:g} so that the Poisson means "
                         f"M Lam stay exact in float32 (got {max(sched) * lam0:g})")
    if wf.name == "accumulate" and sched:
        points = sum(sched) if len(sched) > 1 else generations * sched[0]
        if points > driver.MAX_INT32 or points * lam0 > 2.0**30:
            raise ValueError("generations * M must be <= 2**31 - 1 and generations * M * lam0 "
                             "<= 2**30 under accumulate (the pool's size and total are int32; "
                             f"got {points} points, mean total {points * lam0:g})")
    rec = driver.log_record(generations) if record is None else P.record(record, generations)
    m_max = max(sched) if sched else 1
    split = wf.name in ("mix", "weighted")  # draws of r and M - r (or M) points
    masked = method == "samples" and (len(set(sched)) > 1 or split)
    fam = PoissonFamily(method=method, m_max=m_max if method == "samples" else 0,
                        masked=masked, float_state=wf.name == "weighted")
    params = PoissonParams(sched=jnp.asarray(sched if sched else (1,), jnp.int32),
                           lam0=jnp.asarray(lam0, jnp.float32))
    sizes = list(sched) if sched else [1]
    kern = (kernel(fam, wf, sizes, generations=generations)
            if wf.name == "accumulate_subsample" else kernel(fam, wf, sizes))
    names = ("total", "size", "rate") if wf.name == "weighted" else ("total", "size")
    out = driver.run(kern, key, params, generations=generations, chains=chains,
                     record=rec, observe=names, chunk_size=chunk_size,
                     progress=progress, devices=devices, desc=f"poisson[{method}]")
    # the rates exactly, in float64: S_g / size_g (generation 0: lam0; weighted: float32 blend)
    total = out.observed["total"]
    size = out.observed["size"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(size > 0, total / np.maximum(size, 1).astype(np.float64), 0.0)
    if wf.name == "weighted":
        rate = out.observed["rate"].astype(np.float64)
    rate[0] = lam0
    return PoissonRun(generations=out.generations, rate=rate, total=total,
                      extinction_generation=out.finals["extinction_generation"], lam0=lam0,
                      M=m_const if m_const is not None else sched, method=method,
                      workflow=wf.name, chains=chains, n_generations=generations)

