"""Verify rows under the data workflows, written once for every family.

A family declares what to compare (:class:`Quantity`: how to read a per-chain value from its
simulated run, and which theory function gives its exact expectation, variance or probability
under a workflow value) and how to run its simulator (:class:`WorkflowRows`); this module turns
``(workflow, n, parameters)`` triples into checks and registered :class:`~modelcollapse.verify.
registry.Case` values. The same workflow value goes, unchanged, to the theory (``workflow=``)
and to the simulator, which never sees the formulas.

Statistics: a ``"mean"`` quantity is checked by :func:`~modelcollapse.verify.checks.mean_check`
(se ``sd / sqrt(N)``), a ``"variance"`` by ``variance_check`` (se ``sqrt((m4 - s^4)/N)``), a
``"probability"`` by ``probability_check`` (se ``sqrt(p (1 - p)/N)`` at the theory's ``p``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from modelcollapse._cliutil import as_key
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W
from modelcollapse.verify.checks import (
    Check,
    bonferroni_z,
    mean_check,
    probability_check,
    variance_check,
)
from modelcollapse.verify.registry import Case

__all__ = ["Quantity", "WorkflowRows", "RowCase", "workflow_checks", "workflow_cases", "lazy"]

_CHECKS = {"mean": mean_check, "variance": variance_check, "probability": probability_check}


def lazy(module: str, name: str | None = None) -> Callable[[], Any]:
    """A function that imports ``module`` on call and returns it (or its attribute ``name``):
    a family's rows name their simulator and theory without importing them (JAX) at once.

    Parameters
    ----------
    module : str
        Dotted module path.
    name : str, optional
        An attribute of the module.

    Returns
    -------
    callable
        ``() -> module`` or ``() -> module.name``.

    Examples
    --------
    >>> from modelcollapse.verify.workflow_rows import lazy
    >>> lazy("math", "pi")() > 3
    True
    """
    def load() -> Any:
        mod = importlib.import_module(module)
        return mod if name is None else getattr(mod, name)

    return load


class Quantity(NamedTuple):
    """One compared quantity.

    Attributes
    ----------
    name : str
        In words, e.g. ``"E H_n"``.
    kind : {"mean", "variance", "probability"}
        What the theory gives for the per-chain values: their mean, their variance, or the
        probability that the (boolean) value is true.
    simulated : callable
        ``simulated(run, row, params) -> numpy.ndarray``: the per-chain values at the recorded
        row (``params`` the case's parameters, e.g. ``p0``).
    exact : callable
        ``exact(theory, n, workflow, params) -> float``: the theory's value.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.verify.workflow_rows import Quantity
    >>> q = Quantity("E X", "mean", lambda run, row, p: np.asarray(run)[row],
    ...              lambda th, n, wf, p: 1.0)
    >>> q.kind
    'mean'
    """

    name: str
    kind: str
    simulated: Callable[[Any, int, Mapping[str, Any]], Any]
    exact: Callable[[Any, int, W.Workflow, Mapping[str, Any]], float]


@dataclass(frozen=True)
class WorkflowRows:
    """A family's workflow rows: its quantities and how to run its simulator and theory.

    Attributes
    ----------
    family : str
        The family's name in the report.
    quantities : tuple of Quantity
        What each case compares.
    run : callable
        ``run(simulate, key, n, chains, workflow, params) -> run``: one simulation recording
        generation ``n`` (``simulate`` the simulator function, possibly replaced by a test).
    simulator : callable
        ``simulator() -> simulate``: the family's simulator function (imported on use).
    theory : callable
        ``theory() -> module``: the family's theory module (imported on use).
    """

    family: str
    quantities: tuple[Quantity, ...]
    run: Callable[..., Any]
    simulator: Callable[[], Callable[..., Any]]
    theory: Callable[[], Any]


class RowCase(NamedTuple):
    """One case: the workflow value, the checked generation and the family's parameters.

    Attributes
    ----------
    workflow : Workflow
        The data policy.
    n : int
        The checked generation (>= 1).
    params : tuple of (str, value)
        The family's parameters (``M``, ``p0``, ``lam0``, ``method``...), in the label's order.

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate
    >>> from modelcollapse.verify.workflow_rows import RowCase
    >>> RowCase(accumulate(), 20, (("M", 10), ("method", "sufficient"))).label
    "Workflow(name='accumulate') M=10 method=sufficient n=20"
    """

    workflow: W.Workflow
    n: int
    params: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        """The case in words (unique within the family)."""
        def show(v: Any) -> str:
            if isinstance(v, (tuple, list, np.ndarray)):
                return "[" + ",".join(f"{float(x):g}" for x in np.ravel(v)) + "]"
            return f"{v:g}" if isinstance(v, float) else str(v)

        words = " ".join(f"{k}={show(v)}" for k, v in self.params)
        return f"{self.workflow!r} {words} n={self.n}"


def workflow_checks(
    rows: WorkflowRows,
    seed: Any,
    case: RowCase,
    *,
    chains: int,
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Simulate ``case`` once and compare each of ``rows.quantities`` with the theory.

    Parameters
    ----------
    rows : WorkflowRows
        The family's rows.
    seed : int or jax.Array
        An integer seed or a key.
    case : RowCase
        The workflow, generation and parameters.
    chains : int
        Simulated chains.
    z_bound : float, optional
        The bound on |z|; default Bonferroni over the quantities at 1e-3.
    theory : module-like, optional
        Replaces the family's theory module (e.g. a perturbed copy).
    simulate : callable, optional
        Replaces the family's simulator.

    Returns
    -------
    list of Check
        One per quantity, in order.

    Examples
    --------
    >>> from modelcollapse.families.gaussian_workflows import ROWS
    >>> from modelcollapse.spec.workflows import accumulate
    >>> from modelcollapse.verify.workflow_rows import RowCase, workflow_checks
    >>> case = RowCase(accumulate(), 5, (("M", 10), ("ddof", 0), ("method", "sufficient")))
    >>> checks = workflow_checks(ROWS, 0, case, chains=2000)
    >>> [c.quantity for c in checks], all(c.passed for c in checks)
    (['E sigma_n^2', 'E (mu_n - mu0)^2'], True)
    """
    n = P.n.restrict(low=1).scalar(case.n)
    wf = W.as_workflow(case.workflow)
    params = dict(case.params)
    sim = rows.simulator() if simulate is None else simulate
    th = rows.theory() if theory is None else theory
    run = rows.run(sim, as_key(seed), n, chains, wf, params)
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    z = bonferroni_z(len(rows.quantities)) if z_bound is None else float(z_bound)
    shown = {"workflow": repr(wf), "n": n, "chains": chains,
             **{k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
                for k, v in params.items()}}
    return [_CHECKS[q.kind](rows.family, q.name, q.simulated(run, row, params),
                            float(q.exact(th, n, wf, params)), z, **shown)
            for q in rows.quantities]


def workflow_cases(rows: WorkflowRows, selected: Iterable[RowCase], *,
                   max_chains: int | None = None) -> list[Case]:
    """Registered cases of ``rows`` (each declares one check per quantity).

    Parameters
    ----------
    rows : WorkflowRows
        The family's rows.
    selected : iterable of RowCase
        The cases.
    max_chains : int, optional
        Cap on each case's chains (memory).

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.gaussian_workflows import ROWS
    >>> from modelcollapse.spec.workflows import accumulate
    >>> from modelcollapse.verify.workflow_rows import RowCase, workflow_cases
    >>> case = RowCase(accumulate(), 5, (("M", 10), ("ddof", 0), ("method", "sufficient")))
    >>> [c.id for c in workflow_cases(ROWS, [case])]
    ["gaussian/Workflow(name='accumulate') M=10 ddof=0 method=sufficient n=5"]
    """

    def runner(c: RowCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: workflow_checks(rows, key, c, chains=chains, z_bound=z)

    return [Case(rows.family, c.label, len(rows.quantities), runner(c), max_chains)
            for c in selected]
