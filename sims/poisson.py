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

Observables per chain at the recorded generations: ``rate`` (``Lam_t = S_t / M_t``, float32) and
``total`` (``S_t``, int32; at generation 0 ``-1``: generation 0 is a rate, not a sample); over the
whole run ``extinction_generation`` (first generation with ``Lam = 0``; -1 if none).
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


class PoissonState(NamedTuple):
    """Per chain: the total ``S`` of the last fit and its sample size (int32, ``(n,)`` each),
    and the first generation with ``S = 0`` (-1: not yet)."""

    total: jax.Array
    size: jax.Array
    extinct_at: jax.Array


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

    ``m_max``: points drawn per generation on the sample path (the largest M; masked when the
    schedule varies).
    """

    method: str
    m_max: int = 0
    masked: bool = False
    name: str = "poisson"
    biases: tuple[str, ...] = ()
    float_state: bool = False  # integer totals: exact whatever the batch

    def init(self, params: PoissonParams, n: int) -> PoissonState:
        # generation 0 is the rate lam0 itself: no sample (total -1), size 0
        return PoissonState(jnp.full((n,), -1, jnp.int32), jnp.zeros((n,), jnp.int32),
                            jnp.full((n,), -1, jnp.int32))

    def observables(self) -> Mapping[str, Observable]:
        return {"rate": Observable((), "float32"), "total": Observable((), "int32")}

    def observe(self, state: PoissonState, params: PoissonParams) -> dict[str, jax.Array]:
        size = jnp.maximum(state.size, 1).astype(jnp.float32)
        rate = jnp.where(state.size > 0, state.total.astype(jnp.float32) / size, params.lam0)
        return {"rate": rate, "total": state.total}

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

    def draw(self, stream: Stream, m: jax.Array, state: PoissonState, real: jax.Array,
             params: PoissonParams, bias: W.SamplingBias) -> PoissonStats:
        """Total of m draws from Poisson(lam0) (``real``) or from the fitted Poisson(S/size)."""
        fitted = state.total.astype(jnp.float32) / jnp.maximum(state.size, 1).astype(
            jnp.float32)
        rate = jnp.where(real, params.lam0, fitted)
        seeds = stream.seeds(_DRAW_TAG)
        if self.method == "sufficient":
            # M rate is the integer S when the sample size does not change (exact in float32)
            mean = jnp.where(~real & (m == state.size), state.total.astype(jnp.float32),
                             m.astype(jnp.float32) * rate)
            total = poisson_rows(seeds, mean[:, None])[:, 0]
        else:
            pts = poisson_rows(seeds, jnp.broadcast_to(rate[:, None], (rate.shape[0],
                                                                       self.m_max)))
            if self.masked:
                pts = jnp.where(jnp.arange(self.m_max)[None, :] < m, pts, 0)
            total = tree_sum_rows(pts.T)
        return PoissonStats(jnp.full_like(total, m), total)

    def fit(self, g: jax.Array, stats: PoissonStats, state: PoissonState,
            params: PoissonParams) -> PoissonState:
        """The rate is total / size; the first generation with a zero rate is kept."""
        ext = jnp.where((state.extinct_at < 0) & (stats.total == 0), g, state.extinct_at)
        return PoissonState(stats.total, stats.size, ext)

    def combine(self, a: PoissonStats, b: PoissonStats) -> PoissonStats:
        """Pooled samples: sizes and totals add."""
        return PoissonStats(a.size + b.size, a.total + b.total)


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
        ``(R, chains)`` int32 totals ``S_g = M_g Lam_g`` (generation 0: -1).
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
        Data policy (:mod:`modelcollapse.spec.workflows`); ``"replace"``.

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
    rec = driver.log_record(generations) if record is None else P.record(record, generations)
    m_max = max(sched) if sched else 1
    fam = PoissonFamily(method=method, m_max=m_max if method == "samples" else 0,
                        masked=method == "samples" and len(set(sched)) > 1)
    params = PoissonParams(sched=jnp.asarray(sched if sched else (1,), jnp.int32),
                           lam0=jnp.asarray(lam0, jnp.float32))
    out = driver.run(kernel(fam, wf), key, params, generations=generations, chains=chains,
                     record=rec, observe=("total",), chunk_size=chunk_size,
                     progress=progress, devices=devices, desc=f"poisson[{method}]")
    # the rates exactly, in float64: S_g / M_g (generation 0: lam0)
    total = out.observed["total"]
    sizes = np.asarray([sched[min(int(g), len(sched)) - 1] if g else 1
                        for g in out.generations], np.float64)
    rate = total / sizes[:, None]
    rate[0] = lam0
    return PoissonRun(generations=out.generations, rate=rate, total=total,
                      extinction_generation=out.finals["extinction_generation"], lam0=lam0,
                      M=m_const if m_const is not None else sched, method=method,
                      workflow=wf.name, chains=chains, n_generations=generations)

