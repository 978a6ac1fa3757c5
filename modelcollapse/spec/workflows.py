"""Workflows as values: the data policy of each generation, written once, read by every layer.

A workflow says where the data of each fit come from (the original distribution, the current
model, a pool of earlier data) and how synthetic data are drawn (a sampling bias). The *same*
value is passed to a theory function and to a simulator::

    >>> from modelcollapse.spec import workflows as W
    >>> wf = W.replace()
    >>> wf
    Workflow(name='replace', bias=SamplingBias(temperature=1.0))
    >>> W.as_workflow("replace") == wf
    True

and each layer implements it once for every family: ``modelcollapse.sims.workflows`` turns it
into a simulation step over a family's draw and fit, the theory modules dispatch on
``workflow.name``. This module holds no formula and imports neither JAX nor the theory.

Workflows available now:

- ``replace`` -- each generation is fit on ``M`` samples drawn from the previous generation's
  model; the first fit sees ``M`` real samples (Shumailov et al., Nature 631, 2024).

A :class:`SamplingBias` changes how synthetic (model) data are drawn, never the real data:
``temperature`` T draws categorical data from ``q^(1/T)`` normalised (T < 1 sharpens, as a
language model sampled at low temperature; Alemohammad et al., "Self-consuming generative
models go MAD", 2023).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from modelcollapse.spec import params as P

__all__ = [
    "SamplingBias",
    "Workflow",
    "WorkflowLike",
    "replace",
    "as_workflow",
    "require",
    "WORKFLOWS",
    "workflow",
]

#: Names of the workflows every layer knows.
WORKFLOWS: tuple[str, ...] = ("replace",)

workflow = P.Choice("workflow", "data policy of each generation (see modelcollapse.spec."
                    "workflows)", WORKFLOWS)


@dataclass(frozen=True)
class SamplingBias:
    """How synthetic data are drawn from the fitted model; the default is no bias.

    Parameters
    ----------
    temperature : float
        Categorical families: synthetic symbols are drawn from ``q^(1/T) / sum q^(1/T)`` with
        ``q`` the fitted model (``T > 0``; ``T = 1`` no bias, ``T < 1`` sharpens).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias
    >>> SamplingBias(temperature=0.7).active
    ('temperature',)
    >>> SamplingBias(temperature=0)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite real > 0 (got 0)
    """

    temperature: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", P.temperature.scalar(self.temperature))

    @property
    def active(self) -> tuple[str, ...]:
        """Names of the biases that differ from "no bias" (``()`` for the default)."""
        neutral = {"temperature": 1.0}
        return tuple(f.name for f in fields(self) if getattr(self, f.name) != neutral[f.name])


@dataclass(frozen=True)
class Workflow:
    """A data policy: its name, its parameters and the sampling bias of synthetic data.

    Build one with the constructor functions of this module (:func:`replace`); compare and hash
    by value. Theory functions and simulators accept a ``Workflow``, a workflow name (its
    defaults) or ``None`` (``replace``).

    Parameters
    ----------
    name : str
        One of :data:`WORKFLOWS` (``"replace"``).
    bias : SamplingBias
        How synthetic data are drawn (default: no bias).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias, Workflow, replace
    >>> Workflow() == replace()
    True
    >>> Workflow("mix")
    Traceback (most recent call last):
    ...
    ValueError: workflow must be one of ('replace',) (got 'mix')
    >>> Workflow(bias=0.5)
    Traceback (most recent call last):
    ...
    ValueError: bias must be a SamplingBias (got 0.5)
    """

    name: str = "replace"
    bias: SamplingBias = field(default_factory=SamplingBias)

    def __post_init__(self) -> None:
        workflow.check(self.name)
        if not isinstance(self.bias, SamplingBias):
            raise ValueError(f"bias must be a SamplingBias (got {P.show(self.bias)})")


WorkflowLike = Workflow | str | None


def replace(*, bias: SamplingBias | None = None) -> Workflow:
    """The replace workflow: generation t is fit on M samples of generation t - 1 only.

    Parameters
    ----------
    bias : SamplingBias, optional
        How synthetic samples are drawn (default: from the fitted model itself).

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias, replace
    >>> replace(bias=SamplingBias(temperature=0.5)).bias.temperature
    0.5
    """
    return Workflow("replace", SamplingBias() if bias is None else bias)


def as_workflow(value: Any) -> Workflow:
    """A :class:`Workflow` from a workflow, a workflow name, or ``None`` (replace).

    Raises ``ValueError`` naming ``workflow`` for anything else.

    Parameters
    ----------
    value : Workflow, str or None
        A workflow (returned as is), a name of :data:`WORKFLOWS` (that workflow with its
        defaults), or ``None`` (``replace``).

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import as_workflow
    >>> as_workflow(None)
    Workflow(name='replace', bias=SamplingBias(temperature=1.0))
    >>> as_workflow("mix")
    Traceback (most recent call last):
    ...
    ValueError: workflow must be one of ('replace',) (got 'mix')
    >>> as_workflow(3)
    Traceback (most recent call last):
    ...
    ValueError: workflow must be a Workflow or one of ('replace',) (got 3)
    """
    if value is None:
        return Workflow()
    if isinstance(value, Workflow):
        return value
    if isinstance(value, str):
        return Workflow(workflow.check(value))
    raise ValueError(f"workflow must be a Workflow or one of {WORKFLOWS} (got {P.show(value)})")


def require(value: Any, where: str, *, names: tuple[str, ...] = ("replace",),
            biases: tuple[str, ...] = ()) -> Workflow:
    """``value`` as a workflow that ``where`` implements, else ``ValueError``.

    ``names`` are the workflows implemented there and ``biases`` the sampling biases it
    supports; anything else is refused with a message naming both.

    Parameters
    ----------
    value : Workflow, str or None
        As for :func:`as_workflow`.
    where : str
        The implementing function or module, in words (used in the message).
    names : tuple of str
        Workflows implemented there.
    biases : tuple of str
        Sampling biases supported there (names of :class:`SamplingBias` fields).

    Returns
    -------
    Workflow
        ``as_workflow(value)``.

    Raises
    ------
    ValueError
        For a workflow or an active sampling bias that ``where`` does not implement.

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias, replace, require
    >>> require("replace", "the Gaussian theory").name
    'replace'
    >>> require(replace(bias=SamplingBias(temperature=0.5)), "the Gaussian theory")
    Traceback (most recent call last):
    ...
    ValueError: sampling bias ['temperature'] is not available for the Gaussian theory
    (available: none)
    """
    wf = as_workflow(value)
    if wf.name not in names:
        raise ValueError(f"workflow {wf.name!r} is not available for {where} (available: "
                         f"{names})")
    extra = [b for b in wf.bias.active if b not in biases]
    if extra:
        raise ValueError(f"sampling bias {extra} is not available for {where} (available: "
                         f"{biases or 'none'})")
    return wf
