"""Verification of the Gaussian family under the data workflows: exact theory against simulation.

Part of the Gaussian family's front end (:mod:`modelcollapse.families.gaussian` registers these
cases with its own). One workflow value of :mod:`modelcollapse.spec.workflows` is passed both to
the theory (``theory.gaussian.expected_variance`` and ``mean_drift_mse``, ``workflow=``) and to
the simulator (``sims.gaussian.simulate``, which never sees the formulas); at generation ``n``
the chain means of ``sigma_n^2`` and ``(mu_n - mu0)^2`` must lie within ``z_bound`` standard
errors of the exact values.

Workflows covered: accumulate (ddof 0 and 1), mix (a real fraction, a reused real set, a
variance-scale bias), weighted (the golden-ratio weight), replace with a truncation bias and
accumulate-subsample (the default N = M, and N = M/4).

References: Gerstgrasser et al. (2024), accumulate; Shumailov et al., Nature 631 (2024), mix;
He, Xu & Cheng, JRSS-B (2025), weighted; Alemohammad et al. (2023), sampling bias.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from modelcollapse.spec import workflows as W
from modelcollapse.verify.checks import Check
from modelcollapse.verify.registry import Case
from modelcollapse.verify.workflow_rows import Quantity, RowCase, WorkflowRows, lazy
from modelcollapse.verify.workflow_rows import workflow_checks as _checks

__all__ = ["WORKFLOW_QUANTITIES", "WorkflowCase", "WORKFLOW_CASES", "workflow_checks", "cases",
           "ROWS"]

NAME = "gaussian"


_SIMULATOR = lazy("modelcollapse.sims.gaussian", "simulate")
_THEORY = lazy("modelcollapse.theory.gaussian")


def _run(simulate: Callable[..., Any], key: Any, n: int, chains: int, wf: W.Workflow,
         p: dict[str, Any]) -> Any:
    return simulate(key, M=p["M"], generations=n, chains=chains, ddof=p["ddof"],
                    method=p["method"], workflow=wf, record=[n])


#: The Gaussian workflow rows (:mod:`modelcollapse.verify.workflow_rows`): the chain means of
#: ``sigma_n^2`` and ``(mu_n - mu0)^2`` (``mu0 = 0``) against ``expected_variance`` and
#: ``mean_drift_mse`` with ``workflow=``.
ROWS = WorkflowRows(NAME, (
    Quantity("E sigma_n^2", "mean",
             lambda run, row, p: np.exp(np.asarray(run.log_variance, np.float64)[row]),
             lambda th, n, wf, p: th.expected_variance(n, p["M"], ddof=p["ddof"], workflow=wf)),
    Quantity("E (mu_n - mu0)^2", "mean",
             lambda run, row, p: np.asarray(run.mean, np.float64)[row] ** 2,
             lambda th, n, wf, p: th.mean_drift_mse(n, p["M"], ddof=p["ddof"], workflow=wf)),
), _run, _SIMULATOR, _THEORY)

#: The checks of one :func:`workflow_checks` call.
WORKFLOW_QUANTITIES = tuple(q.name for q in ROWS.quantities)


def workflow_checks(
    seed: Any,
    *,
    workflow: W.WorkflowLike,
    M: int,
    n: int,
    ddof: float = 0,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Compare the exact Gaussian moments under ``workflow`` with one simulation at ``n``.

    Parameters
    ----------
    seed : int or jax.Array
        An integer seed (``jax.random.key(seed)``) or a key.
    workflow : Workflow or str
        The data policy, passed unchanged to theory and simulator.
    M : int
        Points per fit.
    n : int
        The checked generation, an integer >= 1.
    ddof : float
        Delta degrees of freedom of the variance estimator.
    chains : int
        Number of simulated chains.
    method : {"sufficient", "samples"}
        Simulator path.
    z_bound : float, optional
        The bound on |z|; default Bonferroni over ``len(WORKFLOW_QUANTITIES)`` at 1e-3.
    theory : module-like, optional
        Replaces :mod:`modelcollapse.theory.gaussian` (e.g. a perturbed copy).
    simulate : callable, optional
        Replaces the simulator.

    Returns
    -------
    list of Check
        ``E sigma_n^2`` and ``E (mu_n - mu0)^2``.

    Examples
    --------
    >>> from modelcollapse.families.gaussian_workflows import workflow_checks
    >>> checks = workflow_checks(0, workflow="accumulate", M=10, n=5, chains=2000)
    >>> [c.quantity for c in checks], all(c.passed for c in checks)
    (['E sigma_n^2', 'E (mu_n - mu0)^2'], True)
    """
    case = RowCase(W.as_workflow(workflow), n, (("M", M), ("ddof", ddof), ("method", method)))
    return _checks(ROWS, seed, case, chains=chains, z_bound=z_bound, theory=theory,
                   simulate=simulate)


class WorkflowCase(NamedTuple):
    """One workflow case: the workflow value, ``M``, ``n``, ``ddof`` and the simulator path.

    Attributes
    ----------
    workflow : Workflow
        The data policy.
    M : int
        Points per fit.
    n : int
        The checked generation.
    ddof : float
        Delta degrees of freedom.
    method : {"sufficient", "samples"}
        Simulator path.

    Examples
    --------
    >>> from modelcollapse.families.gaussian_workflows import WorkflowCase
    >>> from modelcollapse.spec.workflows import accumulate
    >>> WorkflowCase(accumulate(), 20, 50, 0, "sufficient").label
    "Workflow(name='accumulate') M=20 n=50 ddof=0 sufficient"
    """

    workflow: W.Workflow
    M: int
    n: int
    ddof: float
    method: str

    @property
    def label(self) -> str:
        """The case in words, unique within the family."""
        return f"{self.workflow!r} M={self.M} n={self.n} ddof={self.ddof:g} {self.method}"


#: Cases of the verification report.
WORKFLOW_CASES: tuple[WorkflowCase, ...] = (
    WorkflowCase(W.accumulate(), 20, 50, 0, "sufficient"),
    WorkflowCase(W.accumulate(), 10, 20, 1, "samples"),
    WorkflowCase(W.mix(real_fraction=0.1), 100, 100, 0, "sufficient"),
    WorkflowCase(W.mix(n_real=10, fixed_real=True), 50, 30, 0, "sufficient"),
    WorkflowCase(W.mix(n_real=5, bias=W.SamplingBias(variance_scale=0.8)), 50, 20, 1,
                 "sufficient"),
    WorkflowCase(W.weighted(), 50, 50, 1, "sufficient"),
    WorkflowCase(W.replace(bias=W.SamplingBias(truncation=1.5)), 20, 10, 0, "samples"),
    WorkflowCase(W.accumulate_subsample(), 10, 10, 1, "sufficient"),
    WorkflowCase(W.accumulate_subsample(5), 20, 6, 0, "samples"),
)


def cases(selected: Iterable[WorkflowCase] = WORKFLOW_CASES) -> list[Case]:
    """The registered workflow cases (each declares ``len(WORKFLOW_QUANTITIES)`` checks).

    Parameters
    ----------
    selected : iterable of WorkflowCase
        Default :data:`WORKFLOW_CASES`.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.gaussian_workflows import cases
    >>> cases()[0].id
    "gaussian/Workflow(name='accumulate') M=20 n=50 ddof=0 sufficient"
    """

    def runner(c: WorkflowCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: workflow_checks(key, workflow=c.workflow, M=c.M, n=c.n,
                                                      ddof=c.ddof, chains=chains,
                                                      method=c.method, z_bound=z)

    return [Case(NAME, c.label, len(WORKFLOW_QUANTITIES), runner(WorkflowCase(*c)))
            for c in selected]
