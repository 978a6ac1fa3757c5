"""Monte Carlo simulator of the 1-D Gaussian refit chain (model collapse), in JAX.

Convention. Generation 0 is the original distribution N(mu0, sigma2). Generation n is the model
after n rounds of "draw M samples from the current model, refit"; the first fit sees M real
samples. The refit uses the sample mean and the variance estimator
``s^2 = sum_j (x_j - xbar)^2 / (M - ddof)``, ddof=1 unbiased (the estimator of Shumailov et al.,
Nature 631, 2024, Thm 3.1), ddof=0 maximum likelihood. With a schedule, M_i is the sample size
of the fit that produces generation i.

The family is a kernel on the shared driver (:mod:`modelcollapse.sims.driver`) under a workflow
(:mod:`modelcollapse.sims.workflows`). Its sufficient statistics are, for a sample of ``m``
points drawn from a model with log-variance ``L``: the count, the mean, ``L`` itself (a
reference scale) and ``log(SS / (m e^L))``, ``SS = sum (x - xbar)^2``. Keeping the scale apart
keeps every increment of the log-variance an O(1/sqrt(m)) number, so 10^5 generations at M = 2
stay finite and float32 accumulates no rounding bias. Two paths that share everything but the
draw:

- ``method="samples"`` (the reference): draws the M points ``x_j = mu + sigma z_j``,
  ``z_j ~ N(0, 1)``, and fits them (in the standardised frame: the sample mean and variance are
  affine-equivariant, so this is the same fit, finite where sigma^2 underflows);
- ``method="sufficient"`` (fast, the default): draws the fitted statistics' exact law,
  ``xbar = mu + sigma Z / sqrt(M)``, ``SS = sigma^2 2 G``, ``Z ~ N(0, 1)``,
  ``G ~ Gamma((M - 1)/2, 1)`` independent (so ``2 G ~ chi^2_{M-1}``), from
  :mod:`modelcollapse.sims.rng.gamma` (log-space Gamma, accurate at M = 2).

Frame. Without an ``initial_sampler`` the chains run in the standardised frame of the original
distribution -- generation 0 is N(0, 1) -- and the results are mapped back in float64 at the
end, ``mean = mu0 + sigma0 mean'``, ``log_variance = log sigma2 + log_variance'``: the refit is
affine-equivariant (the sample mean and the variance estimator commute with
``x -> mu0 + sigma0 x``), so this is the same chain, with no float32 overflow inside
(``sigma2 = 1e30``) and no loss of the increments next to a large ``mu0``.

Workflows. The family gives the seam its draw (through the sampling biases
``variance_scale`` and, on the sample path, ``truncation``), its fit, ``combine`` (pooled
statistics), ``empty`` and ``blend`` (weighted estimate), and for accumulate_subsample
``draw_points`` and ``point_stats`` (a point pool: both paths keep the points, since a
subsample is not a function of the pool's statistics): :func:`simulate` runs replace, mix
(fresh or fixed real data), accumulate, accumulate_subsample and weighted on both paths (see
:mod:`modelcollapse.sims.workflows`).

Randomness. Chain i uses the key words of ``fold_in(fold_in(key, i), 0)``; generation g of chain
i reads the Threefry-2x32 blocks ``(g, j)`` under them (counter-based: a pure function of
(chain, g, j)), so results are bit-identical whatever ``chunk_size``, the generation chunking of
the progress bar, the number of devices or of processes (sums over the M points use a fixed
pairwise order for the same reason). An ``initial_sampler`` draws with the key
``Threefry(w_i; (1, REAL_DATA_TAG))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims import driver
from modelcollapse.sims._reduce import tree_sum_rows
from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.gamma import log_gamma_core
from modelcollapse.sims.rng.threefry import Stream, materialize, resolve_dtype
from modelcollapse.sims.workflows import kernel
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = [
    "simulate",
    "GaussianRun",
    "GaussianFamily",
    "GaussianState",
    "GaussianStats",
    "GaussianParams",
    "load",
    "log_record",
    "METHODS",
    "WORKFLOWS",
    "SIM_M",
]

METHODS = P.METHODS
#: The workflows this simulator runs (see :mod:`modelcollapse.sims.workflows`).
WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "accumulate_subsample",
                              "weighted")
#: The sampling biases of each path: truncation has no exact law of the fitted statistics, so
#: only the sample path (which draws the truncated points) implements it.
BIASES: dict[str, tuple[str, ...]] = {"samples": ("variance_scale", "truncation"),
                                      "sufficient": ("variance_scale",)}
#: Counter word of the block that seeds an ``initial_sampler`` (real data of generation 1).
REAL_DATA_TAG = 0x5EED0001
#: M of the Gaussian simulator: >= 2, and held as int32 (schedules).
SIM_M = P.GAUSSIAN_M.restrict(high=float(driver.MAX_INT32))
#: Bytes per drawn point of the sample path (words, normals, deviations), from XLA's buffer
#: assignment on CPU (``memory_analysis`` of one generation, float32; twice in float64).
_SAMPLE_BYTES = 16


class GaussianState(NamedTuple):
    """The fitted model of each chain: mean and log-variance, shape ``(n,)`` each.

    Attributes
    ----------
    mean : jax.Array
        ``(n,)`` fitted means mu_g.
    log_variance : jax.Array
        ``(n,)`` fitted log-variances log sigma_g^2 (the log keeps long runs finite).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.gaussian import GaussianState
    >>> GaussianState(jnp.zeros(2), jnp.zeros(2)).log_variance.shape
    (2,)
    """

    mean: jax.Array
    log_variance: jax.Array


class GaussianStats(NamedTuple):
    """Sufficient statistics of a sample of ``size`` points (per chain).

    ``SS = sum (x - mean)^2 = size * exp(log_scale + log_ms)``: ``log_scale`` is the
    log-variance of the distribution the points came from, ``log_ms`` the log of the mean
    square about the mean in that unit (close to 0).

    Attributes
    ----------
    size : jax.Array
        Number of points m (float, scalar or ``(n,)``).
    mean : jax.Array
        ``(n,)`` sample means.
    log_scale : jax.Array
        ``(n,)`` reference log-variance L.
    log_ms : jax.Array
        ``(n,)`` ``log(SS / (m e^L))``.

    Examples
    --------
    The sample (-1, 1) drawn from N(0, 1): SS = 2, so ``log_ms = log(2 / 2) = 0``.

    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.gaussian import GaussianStats
    >>> st = GaussianStats(jnp.float32(2), jnp.zeros(1), jnp.zeros(1), jnp.zeros(1))
    >>> float(st.size * jnp.exp(st.log_scale + st.log_ms)[0])       # SS
    2.0
    """

    size: jax.Array
    mean: jax.Array
    log_scale: jax.Array
    log_ms: jax.Array


class GaussianParams(NamedTuple):
    """Run-time parameters: the schedule ``[M]`` or ``M_1..M_n``, ddof, mu0, log sigma2.

    Attributes
    ----------
    sched : jax.Array
        int32: ``[M]`` (constant sample size) or the schedule ``M_1..M_n``.
    ddof : jax.Array
        Scalar delta degrees of freedom (>= 0, < every M).
    mu0 : jax.Array
        Scalar mean of the original distribution.
    lv0 : jax.Array
        Scalar ``log sigma2`` of the original distribution.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.gaussian import GaussianParams
    >>> GaussianParams(jnp.array([100]), jnp.float32(1), jnp.float32(0), jnp.float32(0)).sched
    Array([100], dtype=int32)
    """

    sched: jax.Array
    ddof: jax.Array
    mu0: jax.Array
    lv0: jax.Array


def stats_of_points(x: jax.Array, count: Any, mask: jax.Array | None = None) -> GaussianStats:
    """:class:`GaussianStats` of points ``x`` of shape ``(m, n)`` (``mask`` keeps the first
    ``count`` rows), in the unit scale (``log_scale = 0``)."""
    if mask is not None:
        x = jnp.where(mask, x, 0.0)
    xbar = tree_sum_rows(x) / count
    dev = x - xbar[None, :]
    if mask is not None:
        dev = jnp.where(mask, dev, 0.0)
    ss = tree_sum_rows(jnp.square(dev))
    return GaussianStats(jnp.asarray(count, x.dtype), xbar, jnp.zeros_like(xbar),
                         jnp.log(ss / count))


def _source(state: Any, real: jax.Array, params: Any, bias: W.SamplingBias
            ) -> tuple[jax.Array, jax.Array, float]:
    """``(mean, log-variance, truncation)`` of the law a draw comes from: N(mu0, sigma2) when
    ``real``, else the fitted model through the sampling ``bias`` (variance_scale scales the
    variance; truncation is returned for the caller's sampler)."""
    mu = jnp.where(real, params.mu0, state.mean)
    lv_model = state.log_variance
    if bias.variance_scale != 1.0:
        lv_model = lv_model + jnp.asarray(math.log(bias.variance_scale), lv_model.dtype)
    return mu, jnp.where(real, params.lv0, lv_model), float(bias.truncation)


@dataclass(frozen=True)
class GaussianFamily:
    """The 1-D Gaussian refit as a family of the workflow seam (static configuration).

    ``m_max``: points drawn per generation on the sample path (the largest M of a schedule;
    ``masked`` when M varies); ``initial_sampler``: real data D0 of the first fit (``m1``
    points), or None for N(mu0, sigma2).

    The fit of m points is ``mu' = mean(x)`` and ``log sigma'^2 = log(SS / (m - ddof))
    = log_scale + log_ms + log1p(ddof / (m - ddof))`` (:meth:`fit`); pooled samples combine by
    ``SS = SS_a + SS_b + (m_a m_b / m)(mean_a - mean_b)^2`` (:meth:`combine`).

    Attributes
    ----------
    method : {"sufficient", "samples"}
        Simulator path (see the module docstring).
    dtype : str
        ``"float32"`` or ``"float64"``.
    m_max : int
        Points drawn per generation on the sample path (0 on the sufficient path).
    masked : bool
        Whether the sample path masks the points beyond the generation's M.
    initial_sampler : callable or None
        ``f(key, m1) -> array (m1,)``: real data of the first fit.
    m1 : int
        Sample size of the first fit (with ``initial_sampler``).
    name : str
        The family's name, ``"gaussian"``.
    biases : tuple of str
        Sampling biases the family supports (``simulate`` sets :data:`BIASES` of the path):
        ``variance_scale`` lambda draws synthetic points from N(mu, lambda sigma^2) (both
        paths: ``log sigma^2 + log lambda``); ``truncation`` tau from N(mu, sigma^2) truncated
        at ``mu +- tau sigma`` (sample path: exact inversion,
        ``z = sqrt(2) erfinv(c v)``, ``c = erf(tau / sqrt 2)``, ``v`` uniform on (-1, 1)).
    workflows : tuple of str
        Workflows of the seam it runs (:data:`WORKFLOWS`).
    guard : bool
        Draws may have fewer than 2 points (mix, weighted): 0 points give the statistics of
        no point (size 0, dropped by :meth:`combine`), 1 point a zero sum of squares.

    Examples
    --------
    Pooling the samples (-1, 1) and (1, 3): mean 1, SS = 8, so ``log_ms = log(8 / 4)``.

    >>> import math, jax.numpy as jnp
    >>> from modelcollapse.sims.gaussian import GaussianFamily, GaussianStats
    >>> fam = GaussianFamily(method="sufficient", dtype="float32")
    >>> a = GaussianStats(jnp.float32(2), jnp.zeros(1), jnp.zeros(1), jnp.zeros(1))
    >>> b = GaussianStats(jnp.float32(2), jnp.full(1, 2.0), jnp.zeros(1), jnp.zeros(1))
    >>> c = fam.combine(a, b)
    >>> float(c.size), float(c.mean[0]), round(float(c.log_ms[0]), 5) == round(math.log(2), 5)
    (4.0, 1.0, True)
    """

    method: str
    dtype: str
    m_max: int = 0
    masked: bool = False
    initial_sampler: Callable[[Any, int], Any] | None = None
    m1: int = 0
    name: str = "gaussian"
    biases: tuple[str, ...] = ()
    workflows: tuple[str, ...] = WORKFLOWS
    guard: bool = False

    # ------------------------------------------------------------------ state
    def init(self, params: GaussianParams, n: int) -> GaussianState:
        dt = jnp.dtype(self.dtype)
        return GaussianState(jnp.full((n,), params.mu0, dt), jnp.full((n,), params.lv0, dt))

    def observables(self) -> Mapping[str, Observable]:
        return {"mean": Observable((), self.dtype), "log_variance": Observable((), self.dtype)}

    def observe(self, state: GaussianState, params: GaussianParams) -> dict[str, jax.Array]:
        return {"mean": state.mean, "log_variance": state.log_variance}

    def finals(self, state: GaussianState) -> dict[str, jax.Array]:
        return {}

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        return max(1, 2**22 // self.m_max) if self.method == "samples" else 2**18

    def batch_bytes(self, chains: int) -> int:
        """Estimated memory of one batch of ``chains`` chains on one device (bytes): the
        sample path holds the ``m_max`` points of every chain (:data:`_SAMPLE_BYTES` each in
        float32), the sufficient path a few numbers per chain."""
        per_point = _SAMPLE_BYTES * jnp.dtype(self.dtype).itemsize // 4
        return chains * (per_point * self.m_max + 64)

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit (see :meth:`batch_bytes`)."""
        return (f"M={self.m_max} with method='samples' (the M points of every chain are drawn "
                "at once)", "use method='sufficient' (the exact law of the fitted mean and "
                "variance) or a smaller M")

    # ------------------------------------------------------------------ draw and fit
    def _truncated(self, stream: Stream, real: jax.Array, tau: float,
                   m: int | None = None) -> jax.Array:
        """``m`` (default ``m_max``) points per chain: standard normals where ``real``, else the
        standard normal truncated at ``+-tau``, by inversion ``sqrt(2) erfinv(c v)``,
        ``c = erf(tau/sqrt 2)``, ``v`` uniform on a symmetric grid of (-1, 1) (2^-23 in
        float32, 2^-52 in float64) from block ``(g, j)`` of point ``j``; exact up to the
        rounding of ``c v`` and erfinv."""
        dt = jnp.dtype(self.dtype)
        count = self.m_max if m is None else m
        w0, w1 = stream.block(jnp.arange(count, dtype=jnp.uint32)[:, None])
        if dt == jnp.float64:
            k = (w0 >> jnp.uint32(11)).astype(jnp.int32).astype(dt) * 2.0**32
            v = (k + w1.astype(dt)) * 2.0**-52 + (2.0**-53 - 1.0)
        else:
            k = (w0 >> jnp.uint32(8)).astype(jnp.int32).astype(dt)
            v = k * jnp.asarray(2.0**-23, dt) + jnp.asarray(2.0**-24 - 1.0, dt)
        c = jnp.where(real, jnp.asarray(1.0, dt), jnp.asarray(math.erf(tau / math.sqrt(2.0)), dt))
        return jnp.asarray(math.sqrt(2.0), dt) * lax.erf_inv(c * v)

    def _from_model(self, stream: Stream, m: jax.Array, mu: jax.Array,
                    lv: jax.Array, real: Any = None, tau: float = math.inf) -> GaussianStats:
        dt = jnp.dtype(self.dtype)
        mf = m.astype(dt)
        if self.method == "samples":
            # computed once: every consumer must see the same bits (see materialize)
            if math.isinf(tau):
                z = materialize(stream.normals(self.m_max, dt), stream.g)
            else:
                z = materialize(self._truncated(stream, real, tau), stream.g)
            mask = (jnp.arange(self.m_max) < m)[:, None] if self.masked else None
            st = stats_of_points(z, mf, mask)
            log_ms = st.log_ms
            if self.guard:  # no point: size 0, dropped by combine
                log_ms = jnp.where(mf < 1.0, -jnp.inf, log_ms)
            return GaussianStats(st.size, mu + jnp.exp(0.5 * lv) * st.mean, lv, log_ms)
        n = mu.shape[0]
        mg = jnp.maximum(mf, 2.0) if self.guard else mf  # the Gamma law needs m >= 2
        a = jnp.full((n,), 0.5, dt) * (mg - 1.0)
        # log(2 G / m) with G = d (1 + c x)^3: the constant log(2 d / m) = log1p((2 d - m)/m),
        # 2 d - m = -5/3 (a >= 1) or 1/3 (a < 1, the boosted M = 2), exactly
        offset = jnp.where(mg < 3.0, 1.0 / 3.0, -5.0 / 3.0)
        log_d = jnp.full((n,), jnp.log1p(offset / mg), dt)
        log_ms, zs = log_gamma_core(stream.k0, stream.k1, jnp.full((n,), stream.g), a, dt,
                                    log_d)
        mean = mu + jnp.exp(0.5 * lv) * zs * lax.rsqrt(mf)
        if self.guard:  # one point: SS = 0; no point: dropped by combine
            log_ms = jnp.where(mf < 2.0, -jnp.inf, log_ms)
            mean = jnp.where(mf < 1.0, mu, mean)
        return GaussianStats(mf, mean, lv, log_ms)

    def _from_sampler(self, stream: Stream) -> GaussianStats:
        dt = jnp.dtype(self.dtype)
        sampler, m1 = self.initial_sampler, self.m1

        def one(key: jax.Array) -> jax.Array:
            x = jnp.asarray(sampler(key, m1), dt)  # type: ignore[misc]
            if x.shape != (m1,):
                raise ValueError(f"initial_sampler(key, {m1}) must return shape ({m1},), got "
                                 f"{x.shape}")
            return x

        x = materialize(jax.vmap(one, out_axes=1)(stream.keys(REAL_DATA_TAG)), stream.g)
        return stats_of_points(x, jnp.asarray(m1, dt))

    def draw(self, stream: Stream, m: jax.Array, state: GaussianState, real: jax.Array,
             params: GaussianParams, bias: W.SamplingBias) -> GaussianStats:
        """Statistics of m points from N(mu0, sigma2) (``real``) or from the fitted model
        through the sampling ``bias`` (variance_scale, truncation)."""
        mu, lv, tau = _source(state, real, params, bias)
        if self.initial_sampler is None:
            return self._from_model(stream, m, mu, lv, real, tau)
        return lax.cond(real, lambda: self._from_sampler(stream),
                        lambda: self._from_model(stream, m, mu, lv, real, tau))

    def draw_points(self, stream: Stream, m_max: int, m: jax.Array, state: GaussianState,
                    real: jax.Array, params: GaussianParams, bias: W.SamplingBias) -> jax.Array:
        """``(chains, m_max)`` points ``mu + sigma z`` of N(mu0, sigma2) (``real``) or of the
        fitted model through the ``bias`` (the point pool of accumulate_subsample; entries at
        index ``>= m`` are ignored). Both paths draw points here: a subsample of a pool is not
        a function of the pool's mean and sum of squares, so the sufficient path has no exact
        shortcut and keeps the points too. ``z`` as on the sample path: normals from blocks
        ``(g, j)``, truncated ones by inversion."""
        mu, lv, tau = _source(state, real, params, bias)
        dt = jnp.dtype(self.dtype)
        if math.isinf(tau):
            z = stream.normals(m_max, dt)
        else:
            z = self._truncated(stream, real, tau, m_max)
        return (mu + jnp.exp(0.5 * lv) * z).T

    def point_stats(self, points: jax.Array, mask: jax.Array) -> GaussianStats:
        """Statistics of the points (``(chains, k)``) where ``mask`` is true: count, mean and
        ``log(SS / count)`` in the points' own unit (``log_scale = 0``), summed in a fixed
        pairwise order."""
        count = jnp.sum(mask, axis=1).astype(points.dtype)
        return stats_of_points(points.T, count, mask.T)

    def fit(self, g: jax.Array, stats: GaussianStats, state: GaussianState,
            params: GaussianParams) -> GaussianState:
        """Sample mean and log(SS / (m - ddof)) = log_scale + log_ms + log1p(ddof/(m - ddof))."""
        c = stats.size
        step = stats.log_ms + jnp.log1p(params.ddof / (c - params.ddof))  # two small terms
        return GaussianState(stats.mean, stats.log_scale + step)

    def combine(self, a: GaussianStats, b: GaussianStats) -> GaussianStats:
        """Pooled statistics: SS = SS_a + SS_b + (m_a m_b / m)(mean_a - mean_b)^2, in logs
        (Chan, Golub and LeVeque's parallel formula, exact); a sample of no point (size 0, e.g.
        :meth:`empty`) leaves the other unchanged."""
        c = a.size + b.size
        mean = (a.size * a.mean + b.size * b.mean) / c
        scale = jnp.maximum(a.log_scale, b.log_scale)
        d = a.mean - b.mean
        terms = jnp.stack([
            jnp.log(a.size) + a.log_scale + a.log_ms - scale,
            jnp.log(b.size) + b.log_scale + b.log_ms - scale,
            jnp.log(a.size * b.size / c) + jnp.log(jnp.square(d)) - scale,
        ])
        pooled = GaussianStats(c, mean, scale, jax.nn.logsumexp(terms, axis=0) - jnp.log(c))
        return jax.tree.map(lambda x, y, z: jnp.where(a.size == 0, y,
                                                      jnp.where(b.size == 0, x, z)), a, b, pooled)

    def empty(self, params: GaussianParams, n: int) -> GaussianStats:
        """Statistics of no point (size 0): the start of a pool (accumulate, fixed real set)."""
        dt = jnp.dtype(self.dtype)
        return GaussianStats(jnp.zeros((n,), dt), jnp.zeros((n,), dt), jnp.zeros((n,), dt),
                             jnp.full((n,), -jnp.inf, dt))

    def blend(self, w: float, a: GaussianState, b: GaussianState) -> GaussianState:
        """The weighted estimate: mean ``w mu_a + (1 - w) mu_b``, variance
        ``w sigma_a^2 + (1 - w) sigma_b^2`` (in logs: a logaddexp)."""
        dt = a.mean.dtype
        lw = jnp.asarray(math.log(w) if w > 0 else -math.inf, dt)
        lw1 = jnp.asarray(math.log1p(-w) if w < 1 else -math.inf, dt)
        return GaussianState(w * a.mean + (1.0 - w) * b.mean,
                             jnp.logaddexp(lw + a.log_variance, lw1 + b.log_variance))


# ----------------------------------------------------------------------------- result object
@dataclass(frozen=True, eq=False)
class GaussianRun:
    """Recorded output of :func:`simulate`.

    Save with :meth:`save` and read back with :func:`load`; ``variance`` and ``std`` are
    derived from ``log_variance``.

    Attributes
    ----------
    generations : numpy.ndarray
        int64 ``(R,)`` recorded generation indices (always contains 0).
    mean : numpy.ndarray
        ``(R, chains)`` fitted means mu_g (generation 0: mu0).
    log_variance : numpy.ndarray
        ``(R, chains)`` log sigma_g^2 (generation 0: log sigma2).
    M : int or tuple of int
        The sample size, or the schedule M_1..M_n.
    ddof, method, workflow, mu0, sigma2, chains, n_generations
        The run's parameters (``workflow`` is the workflow's name).
    dtype : str
        Float dtype of the run.
    initial : str or None
        Name of the ``initial_sampler``, if any.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.gaussian import simulate
    >>> run = simulate(jax.random.key(0), M=10, generations=5, chains=100, mu0=3.0,
    ...                sigma2=4.0, record=[2, 5])
    >>> run.generations.tolist(), run.mean.shape
    ([0, 2, 5], (3, 100))
    >>> float(run.mean[0, 0]), round(float(run.variance[0, 0]), 4), round(float(run.std[0, 0]), 4)
    (3.0, 4.0, 2.0)
    >>> run.at(5)
    2
    """

    generations: np.ndarray
    mean: np.ndarray
    log_variance: np.ndarray
    M: int | tuple[int, ...]
    ddof: float
    method: str
    workflow: str
    mu0: float
    sigma2: float
    chains: int
    n_generations: int
    dtype: str
    initial: str | None = None

    @property
    def variance(self) -> np.ndarray:
        """sigma_g^2 = exp(log_variance) (may underflow to 0 for long runs: prefer
        log_variance).

        Returns
        -------
        numpy.ndarray
            ``(R, chains)``.
        """
        return np.exp(self.log_variance)

    @property
    def std(self) -> np.ndarray:
        """sigma_g = exp(log_variance / 2)."""
        return np.exp(0.5 * self.log_variance)

    @property
    def sigma0(self) -> float:
        """Deprecated: the original standard deviation sqrt(sigma2); use ``sigma2``."""
        P.warn_renamed("GaussianRun.sigma0", "GaussianRun.sigma2 (a variance)")
        return math.sqrt(self.sigma2)

    def at(self, generation: int) -> int:
        """Row index of a recorded generation (ValueError if it was not recorded).

        Parameters
        ----------
        generation : int
            A recorded generation.

        Returns
        -------
        int
            Its row in ``mean`` and ``log_variance``.
        """
        hit = np.nonzero(self.generations == generation)[0]
        if hit.size == 0:
            raise ValueError(f"generation must be a recorded generation "
                             f"{self.generations.tolist()} (got {generation!r})")
        return int(hit[0])

    def save(self, path: Any) -> None:
        """Write the run to a NumPy ``.npz`` file (read back with :func:`load`)."""
        M = np.asarray(self.M, dtype=np.int64)
        np.savez(path, generations=self.generations, mean=self.mean,
                 log_variance=self.log_variance, M=M, M_is_schedule=not isinstance(self.M, int),
                 ddof=self.ddof, method=self.method, workflow=self.workflow, mu0=self.mu0,
                 sigma2=self.sigma2, chains=self.chains, n_generations=self.n_generations,
                 dtype=self.dtype, initial="" if self.initial is None else self.initial)

    @classmethod
    def load(cls, path: Any) -> GaussianRun:
        """Read a run written by :meth:`save` (also files of version 0.1, with ``sigma0``)."""
        with np.load(path, allow_pickle=False) as f:
            M = f["M"]
            initial = str(f["initial"])
            sigma2 = float(f["sigma2"]) if "sigma2" in f.files else float(f["sigma0"]) ** 2
            return cls(generations=f["generations"], mean=f["mean"],
                       log_variance=f["log_variance"],
                       M=tuple(int(m) for m in M) if bool(f["M_is_schedule"]) else int(M),
                       ddof=_number(float(f["ddof"])), method=str(f["method"]),
                       workflow=str(f["workflow"]), mu0=float(f["mu0"]), sigma2=sigma2,
                       chains=int(f["chains"]), n_generations=int(f["n_generations"]),
                       dtype=str(f["dtype"]), initial=initial or None)


def _number(v: float) -> Any:
    """An integral float as int (ddof=1 stays 1), else the float."""
    return int(v) if float(v).is_integer() else v


def load(path: Any) -> GaussianRun:
    """Read a :class:`GaussianRun` saved with :meth:`GaussianRun.save`.

    Files of version 0.1 (which stored ``sigma0`` instead of ``sigma2``) are read too.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.

    Returns
    -------
    GaussianRun
        The run, with the saved arrays and parameters.

    Examples
    --------
    >>> import os, tempfile, jax
    >>> import numpy as np
    >>> from modelcollapse.sims.gaussian import load, simulate
    >>> run = simulate(jax.random.key(0), M=10, generations=5, chains=100, record=[5])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run.save(os.path.join(d, "run.npz"))
    ...     back = load(os.path.join(d, "run.npz"))
    >>> bool(np.array_equal(back.log_variance, run.log_variance)), back.M, back.ddof
    (True, 10, 1)
    """
    return GaussianRun.load(path)


def log_record(generations: int, num: int = 50) -> np.ndarray:
    """Default recorded generations: 0 plus ~``num`` log-spaced integers in [1, generations].

    Always contains 0 and ``generations``; sorted and deduplicated (see
    :func:`modelcollapse.sims.driver.log_record`); every generation when
    ``generations < num``.

    Parameters
    ----------
    generations : int
        Number of refits simulated, an integer >= 0.
    num : int
        Target number of recorded generations, an integer >= 2.

    Returns
    -------
    numpy.ndarray
        int64 generation indices, increasing.

    Examples
    --------
    >>> from modelcollapse.sims.gaussian import log_record
    >>> log_record(4).tolist()
    [0, 1, 2, 3, 4]
    >>> r = log_record(10_000)
    >>> int(r[0]), int(r[-1]), len(r) <= 50
    (0, 10000, True)
    """
    return driver.log_record(generations, num)


# ----------------------------------------------------------------------------- entry point
def _in_range(param: P.Param, value: Any, bound: float, dtype: Any, *,
              symmetric: bool = False) -> float:
    """``param.scalar(value)`` (the vocabulary's rule), then ``|value| <= bound``: the results
    are held in ``dtype``, whose range ``bound`` derives from."""
    v = float(param.scalar(value))
    if abs(v) > bound:
        lo = f"[{-bound:.4g}" if symmetric else "(0"
        raise ValueError(f"{param.name} must be a real in {lo}, {bound:.4g}] (got "
                         f"{P.show(value)}): the results are {jnp.dtype(dtype).name}; use "
                         "dtype=float64 (x64 mode) or rescale the data")
    return v


def simulate(key: Any, *, M: int | Sequence[int], generations: int, chains: int,
             ddof: float = 1, method: str = "sufficient", mu0: float = 0.0,
             sigma2: float = 1.0, record: Sequence[int] | None = None,
             chunk_size: int | None = None, progress: bool = False,
             initial_sampler: Callable[[Any, int], Any] | None = None,
             workflow: W.WorkflowLike = "replace", devices: Any = None, dtype: Any = None,
             sigma0: float | None = None) -> GaussianRun:
    """Simulate ``chains`` independent 1-D Gaussian refit chains for ``generations`` generations.

    One generation (replace workflow): from the current fit (mu, sigma^2) draw M points, refit
    ``mu' = mean(x)``, ``sigma'^2 = sum_j (x_j - mu')^2 / (M - ddof)``; equivalently (the
    sufficient-statistic path) ``mu' = mu + sigma Z / sqrt(M)``,
    ``sigma'^2 = sigma^2 C / (M - ddof)``, ``Z ~ N(0,1)``, ``C ~ chi^2_{M-1}`` independent.
    Generation 0 is N(mu0, sigma2); the first fit sees M real samples (Shumailov et al.,
    Nature 631, 2024, Thm 3.1). ddof=1 unbiased, ddof=0 maximum likelihood.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key``. Chain i draws from ``fold_in(key, i)``.
    M : int or sequence of int
        Sample size per generation (integer in [2, 2**31 - 1], > ddof) or a schedule of length
        ``generations`` (M_i = sample size of the fit producing generation i). The sample path
        draws max(M) points per generation and masks the unused ones; a batch of them must fit
        in the device's memory (else ``ValueError``: use ``method="sufficient"``).
    generations : int
        Number of refits, an integer in [0, 2**31 - 2].
    chains : int
        Number of independent chains, an integer in [1, 2**31 - 1] whose recorded results fit
        in memory.
    ddof : float
        Delta degrees of freedom of the variance estimator, a real >= 0 with M > ddof
        (0 maximum likelihood, 1 unbiased).
    method : {"sufficient", "samples"}
        "sufficient" (exact law of the fit; fast, the default) or "samples" (draws and fits the
        M points; the reference).
    mu0, sigma2 : float
        The original N(mu0, sigma2) (sigma2 a variance): ``|mu0|`` at most half the largest
        float of ``dtype`` and ``0 < sigma2 <=`` the largest float (3.4e38 in float32), so that
        the reported means and variances are finite. With ``initial_sampler`` they are only the
        reported generation-0 values: pass D0's mean and variance.
    record : sequence of int, optional
        Generations to store (ints in [0, generations]; sorted and deduplicated; 0 is always
        added). Default: :func:`log_record` (0 plus ~50 log-spaced generations).
    chunk_size : int, optional
        Chains per batch (default: about 2^22 / max(M) for "samples", 2^18 for "sufficient").
        Results do not depend on it.
    progress : bool
        Print a text progress bar on stderr.
    initial_sampler : callable, optional
        ``f(key, M_1) -> array (M_1,)`` of real data D0 for the first fit (jax-traceable; it is
        vmapped over chains). Works with both methods (the first fit is computed from the M_1
        points).
    workflow : Workflow or str
        Data policy (:mod:`modelcollapse.spec.workflows`, the value the theory takes):
        ``"replace"`` (default), ``mix`` (``r = real_count(M)`` fresh N(mu0, sigma2) points
        plus ``M - r`` synthetic; ``fixed_real=True``: one real set drawn at generation 1 and
        reused), ``accumulate`` (fit on all data so far; pooled count, mean and centred sum of
        squares combined exactly), ``weighted`` (``w`` times the fit of ``n_real`` fresh real
        points plus ``1 - w`` times the fit of ``M`` synthetic points, for the mean and the
        variance). Sampling biases of synthetic points: ``variance_scale`` lambda (from
        N(mu, lambda sigma^2), both paths) and ``truncation`` tau (normal truncated at
        ``mu +- tau sigma``, ``method="samples"`` only: the sufficient path has no exact law
        for it and refuses it). The first fit (generation 1) sees real points only, for every
        workflow and bias. ``accumulate_subsample(N)``: the pool grows as in accumulate and
        each fit uses a uniform subsample of ``N`` of its points drawn without replacement
        (``N <= M_1`` and ``N > ddof``; None: ``N = M_g``); both paths keep the points (see
        Notes), and the real data are N(mu0, sigma2) (no ``initial_sampler``).
    devices : None, int or sequence of devices
        Shard the chain axis over these local devices; results are identical for any number.
    dtype : float32 or float64, optional
        Default: JAX's default float (float64 needs x64 mode).
    sigma0 : float, optional
        Deprecated: the original standard deviation; use ``sigma2 = sigma0**2`` (``sigma0``
        up to the square root of the largest float of ``dtype``).

    Returns
    -------
    GaussianRun
        ``generations`` (R,), ``mean`` and ``log_variance`` (R, chains).

    Notes
    -----
    Without an ``initial_sampler`` the chains are simulated for N(0, 1) and mapped back to
    N(mu0, sigma2) in float64 (see the module docstring): the same chains, exactly affine.
    float32 normals have |z| <= 5.4 (inversion of a 2^-23 grid, as ``jax.random.normal``); in
    float32 the sample path at M = 2 can, rarely, draw two equal points, giving
    log_variance = -inf (about 1e-7 per draw); use float64 or the sufficient path for very long
    M = 2 runs. Under ``jax.distributed`` every process must make the same call; chains are
    split over the processes and every process receives all of them.

    Workflows: accumulate keeps one pooled sample's statistics per chain (memory independent of
    the number of generations; the pooled count ``M t`` is a float of the working dtype, exact
    up to 2^24 in float32). accumulate_subsample keeps the pool's points, ``sum_g M_g + max M``
    values per chain (about 40 bytes each with the sort that picks the subsample, so memory
    and time per generation grow with the generation count: ``chunk_size`` defaults to about
    2^22 pool entries per batch), on both paths: a subsample is not a function of the pooled
    statistics (:mod:`modelcollapse.sims.workflows`). mix and weighted draw real and synthetic
    data from separate sub-streams; the sample path then draws ``max(M, n_real)`` points for
    each and masks the unused ones. Truncated points are drawn by inversion,
    ``sqrt(2) erfinv(c v)``, ``c = erf(tau / sqrt 2)``, ``v`` on a symmetric 2^-23 (float32)
    or 2^-52 (float64) grid of (-1, 1): exact in law up to that grid and the rounding of
    ``c v`` (in float32 the deep tail ``tau > 4`` is resolved only to about 1e-7 in
    probability). Results stay bit-identical across chunk sizes; replace's bits are unchanged
    by the workflows.

    References
    ----------
    I. Shumailov, Z. Shumaylov, Y. Zhao, N. Papernot, R. Anderson and Y. Gal, "AI models
    collapse when trained on recursively generated data", Nature 631 (2024) 755-759.

    Examples
    --------
    After n refits at M = 100, ddof = 1, ``E log sigma_n^2 = n (psi(99/2) + log(2/99))``:
    -1.01 at n = 100 (-10.14 at n = 1000), with standard deviation 1.43 at n = 100.

    >>> import jax, numpy as np
    >>> from modelcollapse.sims.gaussian import simulate
    >>> run = simulate(jax.random.key(0), M=100, generations=100, chains=1000,
    ...                record=[10, 100])
    >>> run.generations.tolist(), run.log_variance.shape, run.log_variance.dtype
    ([0, 10, 100], (3, 1000), dtype('float32'))
    >>> bool(abs(np.mean(run.log_variance[-1]) + 1.01) < 0.2)   # standard error 0.045
    True

    The sample path draws and fits the points; generation 0 is N(mu0, sigma2) exactly:

    >>> run = simulate(jax.random.key(0), M=10, generations=5, chains=500, method="samples",
    ...                mu0=1.0, sigma2=2.0, record=[5])
    >>> float(run.mean[0, 0]), round(float(run.variance[0, 0]), 4), run.method
    (1.0, 2.0, 'samples')

    Accumulating all data (MLE): ``E sigma_t^2 = sigma0^2 prod_{j<=t} (1 - 1/(M j^2))``,
    0.8543 at M = 10, t = 5 (standard error of the mean below about 0.005):

    >>> from modelcollapse.spec.workflows import accumulate
    >>> run = simulate(jax.random.key(1), M=10, generations=5, chains=20000, ddof=0,
    ...                workflow=accumulate(), record=[5])
    >>> run.workflow, bool(abs(np.mean(run.variance[-1]) - 0.8543) < 0.02)
    ('accumulate', True)

    Accumulating but fitting a subsample of N = M = 10 pooled points (KoyejoLab's
    accumulate-subsample): ``E (mu_3 - mu0)^2 = 0.2061`` exactly
    (:func:`modelcollapse.theory.accumulate_subsample.accumulate_subsample_mean_drift_mse`;
    standard error of the mean about 0.002):

    >>> from modelcollapse.spec.workflows import accumulate_subsample
    >>> run = simulate(jax.random.key(2), M=10, generations=3, chains=20000,
    ...                workflow=accumulate_subsample(), record=[3])
    >>> bool(abs(np.mean(run.mean[-1].astype(float) ** 2) - 0.2061) < 0.01)
    True
    """
    generations = driver.GENERATIONS.scalar(generations)
    chains = P.chains.scalar(chains)
    ddof = P.ddof.scalar(ddof)
    method = P.method.check(method)
    wf_kernel_args = W.as_workflow(workflow)
    dt = resolve_dtype(dtype)
    fmax = float(np.finfo(dt).max)
    mu0 = _in_range(P.mu0, mu0, fmax / 2, dt, symmetric=True)
    if sigma0 is not None:
        P.warn_renamed("sigma0", "sigma2 (= sigma0**2)")
        if sigma2 != 1.0:
            raise ValueError("give sigma2 or the deprecated sigma0, not both")
        sigma2 = _in_range(P.Param("sigma0", "original standard deviation", low=0.0,
                                   low_open=True), sigma0, math.sqrt(fmax), dt) ** 2
    sigma2 = _in_range(P.sigma2, sigma2, fmax, dt)
    m_const, sched = driver.sample_sizes(M, SIM_M, generations)
    if sched:
        P.require_greater(SIM_M, min(sched), P.ddof, ddof)
    rec = log_record(generations) if record is None else P.record(record, generations)
    if initial_sampler is not None and not callable(initial_sampler):
        raise ValueError(f"initial_sampler must be callable or None (got "
                         f"{P.show(initial_sampler)})")
    wf = wf_kernel_args
    if "truncation" in wf.bias.active and method != "samples":
        raise ValueError("sampling bias truncation needs method='samples' (the sufficient path "
                         "has no exact law of the mean and sum of squares of truncated normal "
                         "points)")
    split = wf.name in ("mix", "weighted")
    if initial_sampler is not None and split:
        raise ValueError(f"initial_sampler is not available with the {wf.name} workflow (its "
                         "real data are fresh draws of N(mu0, sigma2) each generation)")
    if initial_sampler is not None and wf.name == "accumulate_subsample":
        raise ValueError("initial_sampler is not available with the accumulate_subsample "
                         "workflow (its point pool starts from N(mu0, sigma2) draws)")
    if wf.name == "accumulate_subsample" and wf.subsample is not None and wf.subsample <= ddof:
        raise ValueError(f"subsample must be > ddof = {P.show(ddof)} (got {wf.subsample})")
    sizes = tuple(sched) if sched else (2,)
    counts = tuple(wf.real_count(m) for m in sizes) if split else ()
    if wf.name == "weighted" and counts and min(counts) <= ddof:
        raise ValueError(f"n_real must be > ddof = {P.show(ddof)} for the weighted workflow "
                         f"(got {min(counts)})")
    m_max = max(sizes + counts)
    fam = GaussianFamily(
        method=method, dtype=jnp.dtype(dt).name,
        m_max=m_max if method == "samples" else 0,
        masked=method == "samples" and (split or (m_const is None and len(set(sched)) > 1)),
        initial_sampler=initial_sampler,
        m1=(sched[0] if sched else 2) if initial_sampler is not None else 0,
        biases=BIASES[method], guard=split)
    # the standardised frame (module docstring); with D0 from a sampler, D0's own units
    frame = initial_sampler is None and (mu0 != 0.0 or sigma2 != 1.0)
    params = GaussianParams(
        sched=jnp.asarray(sched if sched else (2,), jnp.int32), ddof=jnp.asarray(ddof, dt),
        mu0=jnp.asarray(0.0 if frame else mu0, dt),
        lv0=jnp.asarray(0.0 if frame else math.log(sigma2), dt))
    out = driver.run(kernel(fam, wf, sizes, generations=generations), key, params,
                     generations=generations,
                     chains=chains, record=rec, observe=("mean", "log_variance"),
                     chunk_size=chunk_size, progress=progress, devices=devices,
                     desc=f"gaussian[{method}]")
    mean, log_variance = out.observed["mean"], out.observed["log_variance"]
    if frame:
        mean = (mu0 + math.sqrt(sigma2) * mean.astype(np.float64)).astype(dt)
        log_variance = (math.log(sigma2) + log_variance.astype(np.float64)).astype(dt)
    name = None
    if initial_sampler is not None:
        name = getattr(initial_sampler, "__name__", type(initial_sampler).__name__)
    return GaussianRun(generations=out.generations, mean=mean, log_variance=log_variance,
                       M=m_const if m_const is not None else sched, ddof=_number(ddof),
                       method=method, workflow=wf_kernel_args.name, mu0=mu0, sigma2=sigma2,
                       chains=chains, n_generations=generations, dtype=jnp.dtype(dt).name,
                       initial=name)
