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

Streams: ``replace`` and ``accumulate`` read the generation's stream itself (replace's bits are
those of the seam before workflows existed); ``mix`` and ``weighted`` draw real data from the
child stream :data:`REAL_TAG` and synthetic data from the child :data:`SYNTH_TAG`, so every draw
is a pure function of (chain, generation, use) and results do not depend on the chunk size.
``accumulate_subsample`` needs the pool itself and is not implemented (refused by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.threefry import Stream
from modelcollapse.spec import workflows as W

#: The workflows of :mod:`modelcollapse.spec.workflows` the seam implements for a family that
#: provides what they need (``combine``; ``empty`` for pooled state; ``blend`` for weighted).
#: Each family names the ones it runs in its ``workflows`` attribute (default ``("replace",)``);
#: the others are refused by name.
IMPLEMENTED: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted")
#: Counter word of the child stream of real data (mix, weighted).
REAL_TAG = 0x3EA10001
#: Counter word of the child stream of synthetic data (mix, weighted).
SYNTH_TAG = 0x5E1F0002

__all__ = ["Family", "WorkflowKernel", "WorkflowState", "kernel", "sample_size",
           "family_workflows"]


class WorkflowState(NamedTuple):
    """State of a chain batch under a workflow that keeps more than the model.

    Attributes
    ----------
    model : Any
        The family's state (the fitted model of generation ``g``).
    aux : Any
        The workflow's own state: the pooled statistics (``accumulate``), the fixed real set's
        statistics (``mix`` with ``fixed_real``), else ``()``.

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
        Names among :data:`IMPLEMENTED`.

    Examples
    --------
    >>> from modelcollapse.sims.discrete import CategoricalFamily
    >>> from modelcollapse.sims.workflows import family_workflows
    >>> family_workflows(CategoricalFamily("sufficient", K=3))
    ('replace',)
    """
    names = tuple(getattr(family, "workflows", ("replace",)))
    return tuple(n for n in names if n in IMPLEMENTED)


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


@dataclass(frozen=True)
class WorkflowKernel:
    """A family under a workflow: the driver's kernel (init, step, observe, finals)."""

    family: Family
    workflow: W.Workflow
    #: Real points per fit, one per entry of the schedule (mix, weighted; else empty).
    real_counts: tuple[int, ...] = ()

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
        return wf.name == "accumulate" or (wf.name == "mix" and wf.fixed_real)

    def init(self, params: Any, n: int) -> Any:
        model = self.family.init(params, n)
        if self.workflow.name == "replace":
            return model  # replace's state (and bits) as before the workflows
        aux = self.family.empty(params, n) if self._pooled() else ()  # type: ignore[attr-defined]
        return WorkflowState(model, aux)

    def step(self, g: jax.Array, state: Any, stream: Stream, params: Any) -> Any:
        fam, wf = self.family, self.workflow
        m = sample_size(g, params.sched)
        first = g == 1  # the first fit sees real data only
        if wf.name == "replace":
            stats = fam.draw(stream, m, state, first, params, wf.bias)
            return fam.fit(g, stats, state, params)
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

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        return self.family.chunk_hint(rows, names)

    def batch_bytes(self, chains: int) -> int:
        """The family's estimate of one batch's memory (0 when it gives none)."""
        fn = getattr(self.family, "batch_bytes", None)
        return int(fn(chains)) if fn is not None else 0

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit (the family's words, if any)."""
        fn = getattr(self.family, "memory_hint", None)
        if fn is None:
            return f"the {self.family.name} simulator's sizes", "reduce them"
        subject, advice = fn()
        return str(subject), str(advice)


def kernel(family: Family, workflow: Any, sizes: Any = None) -> WorkflowKernel:
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
        ``weighted``, whose real counts ``Workflow.real_count(M)`` are fixed here, in Python.

    Returns
    -------
    WorkflowKernel
        Hashable; what :func:`modelcollapse.sims.driver.run` runs.

    Raises
    ------
    ValueError
        Naming the workflow or the sampling bias the family does not implement.

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
    return WorkflowKernel(family, wf, counts)
