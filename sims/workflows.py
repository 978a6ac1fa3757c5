"""Workflows as simulation steps: each written once, over any family's draw and fit.

A *family* (:class:`Family`) says how to draw a sample and how to fit one, in terms of its
sufficient statistics:

- ``draw(stream, m, state, real, params, bias)``: the sufficient statistics of ``m`` points drawn
  from the original distribution (``real`` true) or from the model fitted in ``state`` (``real``
  false, through the sampling ``bias``), using the counter-based random ``stream``;
- ``fit(g, stats, state, params)``: the state of generation ``g`` fitted on ``stats``;
- ``combine(a, b)``: the statistics of the union of two samples (pooled data);

plus ``init`` (generation 0), ``observe`` and ``finals`` (what the driver records). A workflow
(:mod:`modelcollapse.spec.workflows`, the same value the theory functions take) then becomes a
:class:`~modelcollapse.sims.driver.Kernel` for the driver by :func:`kernel`. Its step sees the
generation index, the original parameters (in ``params``), the stream (from which it derives
independent sub-streams for real and synthetic data) and may keep pooled statistics in the state.

Workflows implemented (a family lists the ones it runs in its ``workflows`` attribute; the
default is ``("replace",)``, so a family that does not name a workflow refuses it by name).
``M_g`` is the sample size of the fit that produces generation ``g``; the first fit (``g = 1``)
sees real points only, whatever the workflow and the sampling bias (the toolkit's convention):

- ``replace`` -- generation ``g`` is fit on ``M_g`` points drawn from generation ``g - 1``;
- ``mix`` -- fit on ``r_g`` fresh real points (``Workflow.real_count(M_g)``) pooled by
  ``combine`` with ``M_g - r_g`` points drawn from generation ``g - 1`` through the bias;
  ``fixed_real=True`` keeps the real set of ``g = 1`` (its statistics, in the state) and
  reuses it (later generations draw a real set too and discard it: a select, whose bits do
  not depend on the batch shape, where a branch compiled apart did);
- ``accumulate`` -- the state keeps the pooled statistics of all data so far (``combine``, exact:
  for the Gaussian Chan's parallel formula for count, mean and centred sum of squares); each
  generation adds ``M_g`` points drawn from generation ``g - 1`` and fits the pool. Memory is
  that of one sample's statistics, independent of the number of generations;
- ``weighted`` -- ``blend(w, real estimate, synthetic estimate)``: the real estimate is fit on
  ``r_g`` fresh real points, the synthetic one on ``M_g`` points from generation ``g - 1``.

- ``accumulate_subsample`` -- the pool grows as in accumulate (the first batch of ``M_1`` real
  points, then ``M_g`` points drawn from generation ``g - 1``), and generation ``g`` is fit on a
  uniform subsample of ``N`` points drawn without replacement from the whole pool
  (``Workflow.subsample``; None: ``N = M_g``, KoyejoLab's setting, Kazdan et al. 2024). ``N``
  must be at most the first pool, ``M_1`` (else ``ValueError`` naming ``subsample``). Two ways:

  * *point pool* (any family with the hooks ``draw_points`` and ``point_stats``): the state keeps
    the points themselves, an array ``(chains, P)`` of the family's point dtype (``(chains, P,
    d)`` for a family whose points are d-vectors, e.g. the multivariate Gaussian) with
    ``P = sum_g M_g + max_g M_g`` (the sum of the schedule over the run's generations, plus one
    batch of slack for the fixed-width writes). Each generation writes its batch at the pool's
    offset, gives every pool entry a 63-bit random key (two words of the child stream
    :data:`SELECT_TAG`; entries not yet in the pool get the largest key), sorts the keys and
    keeps the ``N`` smallest: a uniform ``N``-subset without replacement (exact but for ties of
    63-bit keys, probability below ``P^2 2^-64``). ``point_stats(points, mask)`` gives the
    statistics the fit takes. Memory: about :data:`POOL_BYTES` bytes per pool entry and chain
    (the pool, its keys, indices and sort buffers), so a batch of ``c`` chains holds about
    ``40 c P`` bytes: it grows linearly with the number of generations -- a bounded-memory
    point pool is not possible, the subsample may pick any point ever drawn. ``batch_bytes``
    and ``chunk_hint`` count the pool, so big runs are chunked into fewer chains per batch
    rather than run out of memory;
  * *pooled statistics* (a family with ``subsample_stats(stream, pool_stats, N)``, the exact
    law of the statistics of a uniform ``N``-subsample of the pool, e.g. categorical counts:
    multivariate hypergeometric): the state keeps the pooled statistics as ``accumulate`` does
    (``combine``), memory independent of the number of generations.

  The hooks (optional; a family runs ``accumulate_subsample`` when it names it in
  ``workflows`` and has either ``draw_points`` and ``point_stats`` or ``subsample_stats``):

  * ``draw_points(stream, m_max, m, state, real, params, bias) -> (chains, m_max)`` array
    (``(chains, m_max, d)`` for vector points): the
    points of one draw of ``m <= m_max`` points (``m_max`` static; entries at index ``>= m``
    are ignored), from the original distribution (``real`` true) or from the model in
    ``state`` through ``bias``, in the family's point dtype (Gaussian float values,
    categorical int32 symbol indices, Poisson int32 counts);
  * ``point_stats(points, mask) -> stats``: the statistics (what ``draw`` returns and ``fit``
    takes) of the points where the boolean ``mask`` (shape ``(chains, k)``) is true;
  * ``subsample_stats(stream, pool_stats, N) -> stats`` (the pooled-statistics way).

  :func:`kernel` needs the sample sizes and the number of generations for the pool's size.

Streams: ``replace``, ``accumulate`` and ``accumulate_subsample`` draw from the generation's
stream itself (replace's bits are those of the seam before workflows existed; the subsample is
chosen with the child stream :data:`SELECT_TAG`); ``mix`` and ``weighted`` draw real data from
the child stream :data:`REAL_TAG` and synthetic data from the child :data:`SYNTH_TAG`, so every
draw is a pure function of (chain, generation, use) and results do not depend on the chunk size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.threefry import Stream
from modelcollapse.spec import workflows as W

#: The workflows of :mod:`modelcollapse.spec.workflows` the seam implements for a family that
#: provides what they need (``combine``; ``empty`` for pooled state; ``blend`` for weighted).
#: Each family names the ones it runs in its ``workflows`` attribute (default ``("replace",)``);
#: the others are refused by name.
IMPLEMENTED: tuple[str, ...] = ("replace", "mix", "accumulate", "accumulate_subsample",
                                "weighted")
#: Counter word of the child stream of real data (mix, weighted).
REAL_TAG = 0x3EA10001
#: Counter word of the child stream of synthetic data (mix, weighted).
SYNTH_TAG = 0x5E1F0002
#: Counter word of the child stream that chooses the subsample (accumulate_subsample).
SELECT_TAG = 0x5E1EC703
#: Bytes per pool entry and chain of the point pool (accumulate_subsample), float32 points: the
#: pool (4), the two key words and the index (12), their sorted copies (12), slack for the
#: carried copy (12). A family whose points are vectors of ``k`` values (``point_size``, e.g. a
#: d-dimensional Gaussian) adds :data:`POOL_BYTES_PER_VALUE` per value beyond the first.
POOL_BYTES = 40
#: Bytes per extra value of a vector point (the pool and its carried copy, float32).
POOL_BYTES_PER_VALUE = 8

__all__ = ["Family", "WorkflowKernel", "WorkflowState", "kernel", "sample_size",
           "family_workflows"]


class WorkflowState(NamedTuple):
    """State of a chain batch under a workflow that keeps more than the model.

    Attributes
    ----------
    model : Any
        The family's state (the fitted model of generation ``g``).
    aux : Any
        The workflow's own state: the pooled statistics (``accumulate``; ``accumulate_subsample``
        with ``subsample_stats``), the point pool ``(chains, P)`` (``accumulate_subsample``
        otherwise), the fixed real set's statistics (``mix`` with ``fixed_real``), else ``()``.

    Examples
    --------
    >>> from modelcollapse.sims.workflows import WorkflowState
    >>> WorkflowState(model=1.0, aux=()).aux
    ()
    """

    model: Any
    aux: Any


def family_workflows(family: Any) -> tuple[str, ...]:
    """The workflows ``family`` runs: its ``workflows`` attribute, else ``("replace",)``.

    Parameters
    ----------
    family : Family
        A family of the seam.

    Returns
    -------
    tuple of str
        Names among :data:`IMPLEMENTED` (``accumulate_subsample`` only with its hooks:
        ``draw_points`` and ``point_stats``, or ``subsample_stats``).

    Examples
    --------
    >>> from modelcollapse.sims.gaussian import GaussianFamily
    >>> from modelcollapse.sims.workflows import family_workflows
    >>> family_workflows(GaussianFamily("sufficient", "float32"))
    ('replace', 'mix', 'accumulate', 'accumulate_subsample', 'weighted')
    >>> class Bare:                 # names accumulate_subsample but has none of its hooks
    ...     workflows = ("replace", "accumulate_subsample")
    >>> family_workflows(Bare())
    ('replace',)
    """
    names = tuple(getattr(family, "workflows", ("replace",)))
    return tuple(n for n in names if n in IMPLEMENTED
                 and (n != "accumulate_subsample" or _pooled_stats(family)
                      or _point_pool(family)))


def _pooled_stats(family: Any) -> bool:
    """Whether ``family`` gives the exact statistics of a subsample of a pool's statistics."""
    return hasattr(family, "subsample_stats")


def _point_pool(family: Any) -> bool:
    """Whether ``family`` draws points and gives the statistics of a masked set of them."""
    return hasattr(family, "draw_points") and hasattr(family, "point_stats")


class Family(Protocol):
    """A family of models, as the workflows see it (hashable: static configuration only)."""

    name: str
    #: Sampling biases (fields of :class:`~modelcollapse.spec.workflows.SamplingBias`) it
    #: implements.
    biases: tuple[str, ...]

    def init(self, params: Any, n: int) -> Any:
        """State of ``n`` chains at generation 0 (the original distribution)."""
        ...

    def draw(self, stream: Stream, m: jax.Array, state: Any, real: jax.Array, params: Any,
             bias: W.SamplingBias) -> Any:
        """Sufficient statistics of ``m`` points from the original (``real``) or the model."""
        ...

    def fit(self, g: jax.Array, stats: Any, state: Any, params: Any) -> Any:
        """State of generation ``g`` fitted on ``stats``."""
        ...

    def combine(self, a: Any, b: Any) -> Any:
        """Statistics of the union of the samples behind ``a`` and ``b`` (either may be the
        statistics of no point, e.g. ``empty``: the other is returned)."""
        ...

    # optional, for the workflows that need them (see the module docstring):
    # ``workflows``: tuple of the workflow names the family runs (default ``("replace",)``);
    # ``empty(params, n)``: statistics of no point (accumulate, mix with fixed_real);
    # ``blend(w, a, b)``: the state ``w a + (1 - w) b`` of two fitted states (weighted).

    def observables(self) -> Mapping[str, Observable]: ...

    def observe(self, state: Any, params: Any) -> dict[str, jax.Array]: ...

    def finals(self, state: Any) -> dict[str, jax.Array]: ...

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int: ...


def sample_size(g: jax.Array, sched: jax.Array) -> jax.Array:
    """The sample size ``M_g`` of the fit that produces generation ``g``.

    Parameters
    ----------
    g : jax.Array
        The generation (int32, >= 1).
    sched : jax.Array
        ``[M]`` for a constant sample size, or the schedule ``M_1, ..., M_n``.

    Returns
    -------
    jax.Array
        ``sched[min(g - 1, len(sched) - 1)]``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.workflows import sample_size
    >>> int(sample_size(jnp.int32(3), jnp.asarray([10, 20, 30, 40])))
    30
    >>> int(sample_size(jnp.int32(3), jnp.asarray([10])))
    10
    """
    return sched[jnp.minimum(g - 1, sched.shape[0] - 1)]


#: Spare candidates of :func:`_smallest` beyond the ``n`` kept (see there).
_SPARE = 16


def _smallest(k0: jax.Array, k1: jax.Array, n: int) -> jax.Array:
    """Indices (along axis 1) of the ``n`` smallest 63-bit keys ``(k0, k1)``, in key order.

    A full sort of the pool costs ``P log P`` per chain and generation; instead ``lax.top_k``
    (fast on floats) keeps the ``n + _SPARE`` smallest by the top 24 bits of ``k0`` (exact in
    float32), and a sort of these candidates by the full keys picks the ``n``. The result is
    that of the full sort unless more than ``_SPARE + 1`` pool entries share the 24-bit key at
    the cut (probability below ``(P / 2^24)^17`` per draw: never, for any pool that fits in
    memory), so the draws are bit-for-bit those of the full sort.
    """
    cap = k0.shape[1]
    n_c = min(cap, n + _SPARE)
    coarse = -(k0 >> jnp.uint32(7)).astype(jnp.float32)
    _, cand = lax.top_k(coarse, n_c)
    c0 = jnp.take_along_axis(k0, cand, axis=1)
    c1 = jnp.take_along_axis(k1, cand, axis=1)
    _, _, order = lax.sort((c0, c1, cand.astype(jnp.int32)), dimension=1, num_keys=2)
    return order[:, :n]


@dataclass(frozen=True)
class WorkflowKernel:
    """A family under a workflow: the driver's kernel (init, step, observe, finals)."""

    family: Family
    workflow: W.Workflow
    #: Real points per fit, one per entry of the schedule (mix, weighted; else empty).
    real_counts: tuple[int, ...] = ()
    #: The sample sizes ``(M,)`` or the schedule (accumulate_subsample; else empty).
    sizes: tuple[int, ...] = ()
    #: Generations of the run: the point pool holds their batches (accumulate_subsample).
    generations: int = 0

    @property
    def subsample_max(self) -> int:
        """accumulate_subsample: the largest subsample ``N`` (``subsample``, else max M)."""
        sub = self.workflow.subsample
        return int(sub) if sub is not None else max(self.sizes, default=0)

    @property
    def point_pool(self) -> bool:
        """accumulate_subsample kept as points (the family has no ``subsample_stats``)."""
        return self.workflow.name == "accumulate_subsample" and not _pooled_stats(self.family)

    @property
    def pool_size(self) -> int:
        """Entries per chain of the point pool: ``sum_g M_g`` over the run's generations plus
        one batch ``max M`` of slack (0 without a point pool)."""
        if not self.point_pool:
            return 0
        g = self.generations
        total = g * self.sizes[0] if len(self.sizes) == 1 else sum(self.sizes[:g])
        return total + max(self.sizes)

    def _offset(self, g: jax.Array) -> jax.Array:
        """Pool entries before the batch of generation ``g``: ``sum_{j < g} M_j``."""
        if len(self.sizes) == 1:
            return (g - 1) * self.sizes[0]
        starts = np.concatenate([[0], np.cumsum(self.sizes)])[:-1]
        return jnp.asarray(starts, jnp.int32)[jnp.minimum(g - 1, len(self.sizes) - 1)]

    @property
    def name(self) -> str:
        return f"{self.family.name}[{self.workflow.name}]"

    @property
    def float_state(self) -> bool:
        """Whether the family's state holds floats (see :class:`~modelcollapse.sims.driver.
        Kernel`); default True."""
        return bool(getattr(self.family, "float_state", True))

    def observables(self) -> Mapping[str, Observable]:
        return self.family.observables()

    def _pooled(self) -> bool:
        wf = self.workflow
        return (wf.name == "accumulate" or (wf.name == "mix" and wf.fixed_real)
                or (wf.name == "accumulate_subsample" and not self.point_pool))

    def init(self, params: Any, n: int) -> Any:
        model = self.family.init(params, n)
        if self.workflow.name == "replace":
            return model  # replace's state (and bits) as before the workflows
        if self.point_pool:
            return WorkflowState(model, self._empty_pool(params, model, n))
        aux = self.family.empty(params, n) if self._pooled() else ()  # type: ignore[attr-defined]
        return WorkflowState(model, aux)

    def _empty_pool(self, params: Any, model: Any, n: int) -> jax.Array:
        """The point pool of ``n`` chains before the first batch: zeros of the points' dtype."""
        zero = jnp.zeros((n,), jnp.uint32)
        shape = jax.eval_shape(lambda: self.family.draw_points(  # type: ignore[attr-defined]
            Stream(zero, zero, jnp.uint32(1)), 1, jnp.int32(1), model, jnp.asarray(True),
            params, self.workflow.bias))
        # scalar points: (n, P); vector points (e.g. d-vectors): (n, P, d)
        return jnp.zeros((n, self.pool_size) + tuple(shape.shape[2:]), shape.dtype)

    def _subsample(self, g: jax.Array, state: Any, stream: Stream, params: Any) -> Any:
        """One generation of accumulate_subsample (see the module docstring)."""
        fam, wf = self.family, self.workflow
        model, pool = state
        m = sample_size(g, params.sched)
        first = g == 1  # the first fit sees real data only
        n_fit = (jnp.asarray(wf.subsample, jnp.int32) if wf.subsample is not None else m)
        select = stream.child(SELECT_TAG)
        if not self.point_pool:
            pool = fam.combine(pool, fam.draw(stream, m, model, first, params, wf.bias))
            stats = fam.subsample_stats(select, pool, n_fit)  # type: ignore[attr-defined]
            return WorkflowState(fam.fit(g, stats, model, params), pool)
        m_max = max(self.sizes)
        pts = fam.draw_points(stream, m_max, m, model, first, params,  # type: ignore[attr-defined]
                              wf.bias)
        off = self._offset(g)
        start = (jnp.int32(0), off) + (jnp.int32(0),) * (pool.ndim - 2)  # vector points
        pool = lax.dynamic_update_slice(pool, pts.astype(pool.dtype), start)
        cap = pool.shape[1]
        # 63-bit sort keys (word 0 shifted to 31 bits, then word 1); entries beyond the pool's
        # count get the largest key, so the N smallest keys are a uniform N-subset of the pool
        w0, w1 = select.block(jnp.arange(cap, dtype=jnp.uint32)[:, None])
        valid = (jnp.arange(cap) < off + m)[:, None]
        top = jnp.uint32(0xFFFFFFFF)
        k0 = jnp.where(valid, w0 >> jnp.uint32(1), top).T
        k1 = jnp.where(valid, w1, top).T
        n_max = self.subsample_max
        order = _smallest(k0, k1, n_max)
        idx = order[:, :n_max].reshape(order.shape[:1] + (n_max,) + (1,) * (pool.ndim - 2))
        chosen = jnp.take_along_axis(pool, idx, axis=1)
        mask = jnp.broadcast_to(jnp.arange(n_max) < n_fit, chosen.shape[:2])
        stats = fam.point_stats(chosen, mask)  # type: ignore[attr-defined]
        return WorkflowState(fam.fit(g, stats, model, params), pool)

    def step(self, g: jax.Array, state: Any, stream: Stream, params: Any) -> Any:
        fam, wf = self.family, self.workflow
        m = sample_size(g, params.sched)
        first = g == 1  # the first fit sees real data only
        if wf.name == "replace":
            stats = fam.draw(stream, m, state, first, params, wf.bias)
            return fam.fit(g, stats, state, params)
        if wf.name == "accumulate_subsample":
            return self._subsample(g, state, stream, params)
        model, aux = state
        if wf.name == "accumulate":
            pool = fam.combine(aux, fam.draw(stream, m, model, first, params, wf.bias))
            return WorkflowState(fam.fit(g, pool, model, params), pool)
        r = sample_size(g, jnp.asarray(self.real_counts, jnp.int32))
        real_stream, synth_stream = stream.child(REAL_TAG), stream.child(SYNTH_TAG)
        true = jnp.asarray(True)
        if wf.name == "mix":
            if wf.fixed_real:
                # kept from g = 1 on (a select, not a cond: a branch compiled apart rounds
                # differently with the batch shape, and the bits must not depend on it)
                drawn = fam.draw(real_stream, r, model, true, params, wf.bias)
                aux = jax.tree.map(lambda x, y: jnp.where(first, x, y).astype(y.dtype), drawn,
                                   aux)
                real = aux
            else:
                real = fam.draw(real_stream, r, model, true, params, wf.bias)
            synth = fam.draw(synth_stream, m - r, model, first, params, wf.bias)
            return WorkflowState(fam.fit(g, fam.combine(real, synth), model, params), aux)
        if wf.name == "weighted":
            a = fam.fit(g, fam.draw(real_stream, r, model, true, params, wf.bias), model, params)
            b = fam.fit(g, fam.draw(synth_stream, m, model, first, params, wf.bias), model,
                        params)
            return WorkflowState(fam.blend(wf.effective_weight, a, b), aux)  # type: ignore
        raise NotImplementedError(wf.name)  # unreachable: kernel() validated the workflow

    def observe(self, state: Any, params: Any) -> dict[str, jax.Array]:
        model = state if self.workflow.name == "replace" else state.model
        return self.family.observe(model, params)

    def finals(self, state: Any) -> dict[str, jax.Array]:
        model = state if self.workflow.name == "replace" else state.model
        return self.family.finals(model)

    @property
    def entry_bytes(self) -> int:
        """Bytes per pool entry and chain: :data:`POOL_BYTES`, plus
        :data:`POOL_BYTES_PER_VALUE` per value beyond the first of a vector point (the
        family's ``point_size``, default 1)."""
        k = int(getattr(self.family, "point_size", 1))
        return POOL_BYTES + POOL_BYTES_PER_VALUE * (k - 1)

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        hint = self.family.chunk_hint(rows, names)
        if self.point_pool:  # about 160 MiB of pool per batch (2^22 scalar entries)
            per = self.pool_size * self.entry_bytes // POOL_BYTES
            hint = min(hint, max(1, 2**22 // max(per, 1)))
        return hint

    def batch_bytes(self, chains: int) -> int:
        """The family's estimate of one batch's memory (0 when it gives none), plus the point
        pool of accumulate_subsample (:attr:`entry_bytes` per entry and chain)."""
        fn = getattr(self.family, "batch_bytes", None)
        base = int(fn(chains)) if fn is not None else 0
        return base + chains * self.pool_size * self.entry_bytes

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit (the family's words, if any)."""
        if self.point_pool:
            return (f"the accumulate_subsample point pool of {self.pool_size} points per chain "
                    "(all generations' batches)", "run fewer generations or a smaller M")
        fn = getattr(self.family, "memory_hint", None)
        if fn is None:
            return f"the {self.family.name} simulator's sizes", "reduce them"
        subject, advice = fn()
        return str(subject), str(advice)


def kernel(family: Family, workflow: Any, sizes: Any = None, *,
           generations: int | None = None) -> WorkflowKernel:
    """The driver kernel of ``family`` under ``workflow``.

    Parameters
    ----------
    family : Family
        A family of the seam (e.g. :class:`modelcollapse.sims.gaussian.GaussianFamily`).
    workflow : Workflow, str or None
        A value of :mod:`modelcollapse.spec.workflows` (the one the theory functions take), a
        workflow name, or None for ``replace``.
    sizes : sequence of int, optional
        The sample sizes ``M`` (a constant as ``[M]``, or the schedule): needed by ``mix`` and
        ``weighted``, whose real counts ``Workflow.real_count(M)`` are fixed here, in Python,
        and by ``accumulate_subsample`` (the pool's size; ``subsample <= M_1``).
    generations : int, optional
        Generations of the run: needed by ``accumulate_subsample`` with a point pool (it holds
        every generation's batch).

    Returns
    -------
    WorkflowKernel
        Hashable; what :func:`modelcollapse.sims.driver.run` runs.

    Raises
    ------
    ValueError
        Naming the workflow or the sampling bias the family does not implement, or
        ``subsample`` when it exceeds the first pool ``M_1``.

    Examples
    --------
    >>> from modelcollapse.sims.discrete import CategoricalFamily
    >>> from modelcollapse.sims.workflows import kernel
    >>> from modelcollapse.spec.workflows import SamplingBias, replace
    >>> k = kernel(CategoricalFamily("sufficient", K=3), replace(bias=SamplingBias(0.7)))
    >>> k.name
    'discrete[replace]'
    """
    wf = W.require(workflow, f"the {family.name} simulator", names=family_workflows(family),
                   biases=family.biases)
    counts: tuple[int, ...] = ()
    if wf.name in ("mix", "weighted"):
        if sizes is None or len(sizes) == 0:
            raise ValueError(f"the {wf.name} workflow needs the sample sizes (sizes=[M] or the "
                             "schedule)")
        counts = tuple(wf.real_count(int(m)) for m in sizes)
        if wf.name == "mix" and wf.fixed_real and len(set(counts)) > 1:
            raise ValueError("mix with fixed_real=True needs the same real count in every "
                             f"generation (got {sorted(set(counts))} from the schedule)")
        if wf.name == "weighted" and min(counts) < 1:
            raise ValueError("n_real must be >= 1 for the weighted workflow (got 0)")
    if wf.name == "accumulate_subsample":
        if sizes is None or len(sizes) == 0:
            raise ValueError("the accumulate_subsample workflow needs the sample sizes (sizes=[M] "
                             "or the schedule)")
        size_t = tuple(int(m) for m in sizes)
        if wf.subsample is not None and wf.subsample > size_t[0]:
            raise ValueError(f"subsample must be an integer in [1, {size_t[0]}] (at most the first "
                             f"pool, M_1 = {size_t[0]} real points; got {wf.subsample})")
        if generations is None and not _pooled_stats(family):
            raise ValueError("the accumulate_subsample workflow needs generations= (the point "
                             "pool holds every generation's batch)")
        gens = int(generations or 0)
        if len(size_t) > 1:
            size_t = size_t[:max(gens, 1)]
        return WorkflowKernel(family, wf, counts, size_t, gens)
    return WorkflowKernel(family, wf, counts)
