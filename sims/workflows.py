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

Workflows implemented: ``replace`` -- generation ``g`` is fit on ``M_g`` points drawn from
generation ``g - 1``; the first fit (``g = 1``) sees ``M_1`` real points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jax
import jax.numpy as jnp

from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.threefry import Stream
from modelcollapse.spec import workflows as W

#: The workflows of :mod:`modelcollapse.spec.workflows` the simulators implement (the others
#: are refused by name).
IMPLEMENTED: tuple[str, ...] = ("replace",)

__all__ = ["Family", "WorkflowKernel", "kernel", "sample_size"]


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
        """Statistics of the union of the samples behind ``a`` and ``b``."""
        ...

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

    def init(self, params: Any, n: int) -> Any:
        return self.family.init(params, n)

    def step(self, g: jax.Array, state: Any, stream: Stream, params: Any) -> Any:
        fam, wf = self.family, self.workflow
        if wf.name == "replace":
            m = sample_size(g, params.sched)
            stats = fam.draw(stream, m, state, g == 1, params, wf.bias)
            return fam.fit(g, stats, state, params)
        raise NotImplementedError(wf.name)  # unreachable: kernel() validated the workflow

    def observe(self, state: Any, params: Any) -> dict[str, jax.Array]:
        return self.family.observe(state, params)

    def finals(self, state: Any) -> dict[str, jax.Array]:
        return self.family.finals(state)

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


def kernel(family: Family, workflow: Any) -> WorkflowKernel:
    """The driver kernel of ``family`` under ``workflow``.

    Parameters
    ----------
    family : Family
        A family of the seam (e.g. :class:`modelcollapse.sims.gaussian.GaussianFamily`).
    workflow : Workflow, str or None
        A value of :mod:`modelcollapse.spec.workflows` (the one the theory functions take), a
        workflow name, or None for ``replace``.

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
    wf = W.require(workflow, f"the {family.name} simulator", names=IMPLEMENTED,
                   biases=family.biases)
    return WorkflowKernel(family, wf)
