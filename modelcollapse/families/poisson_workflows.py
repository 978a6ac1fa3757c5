"""Verification of the Poisson family under the data workflows: exact theory against simulation.

Part of the Poisson family's front end (:mod:`modelcollapse.families.poisson` registers these
cases with its own), written on :mod:`modelcollapse.verify.workflow_rows`: one workflow value is
passed to the theory (``theory.poisson.expected_rate``, ``rate_variance``,
``extinction_probability``, ``workflow=``) and to the simulator (``sims.poisson.simulate``); at
generation ``n`` the chain mean and variance of ``Lambda_n`` and the fraction of chains with
``Lambda_n = 0`` must lie within the report's bound of the exact values.

Workflows covered: mix (10 % fresh real data; a reused real set), accumulate, weighted (the
golden-ratio weight) and accumulate-subsample (mean and variance; its P(Lambda_n = 0) has no
closed form).

References: Shumailov et al., Nature 631 (2024), mix; Gerstgrasser et al. (2024), accumulate;
He, Xu & Cheng, JRSS-B (2025), weighted; Kazdan et al. (2024), accumulate-subsample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from modelcollapse.spec import workflows as W
from modelcollapse.verify.registry import Case
from modelcollapse.verify.workflow_rows import (
    Quantity,
    RowCase,
    WorkflowRows,
    lazy,
    workflow_cases,
)

__all__ = ["ROWS", "MOMENT_ROWS", "WORKFLOW_CASES", "MOMENT_CASES", "cases"]

NAME = "poisson"


_SIMULATOR = lazy("modelcollapse.sims.poisson", "simulate")
_THEORY = lazy("modelcollapse.theory.poisson")


def _run(simulate: Callable[..., Any], key: Any, n: int, chains: int, wf: W.Workflow,
         p: dict[str, Any]) -> Any:
    return simulate(key, lam0=p["lam0"], M=p["M"], generations=n, chains=chains,
                    method=p["method"], workflow=wf, record=[n])


def _rate(run: Any, row: int, p: dict[str, Any]) -> np.ndarray:
    return np.asarray(run.rate, dtype=np.float64)[row]


_MEAN = Quantity("E Lam_n", "mean", _rate,
                 lambda th, n, wf, p: th.expected_rate(n, p["lam0"], p["M"], workflow=wf))

_VAR = Quantity("Var Lam_n", "variance", _rate,
                lambda th, n, wf, p: th.rate_variance(n, p["lam0"], p["M"], workflow=wf))

#: Rows of the workflows with an exact variance and extinction probability.
ROWS = WorkflowRows(NAME, (
    _MEAN,
    _VAR,
    Quantity("P(Lam_n = 0)", "probability", lambda run, row, p: _rate(run, row, p) == 0,
             lambda th, n, wf, p: th.extinction_probability(n, p["lam0"], p["M"],
                                                            workflow=wf)),
), _run, _SIMULATOR, _THEORY)

#: Rows of a workflow whose theory gives the mean and variance only (accumulate-subsample).
MOMENT_ROWS = WorkflowRows(NAME, (_MEAN, _VAR), _run, _SIMULATOR, _THEORY)


def _case(wf: W.Workflow, lam0: float, M: int, n: int, method: str) -> RowCase:
    return RowCase(wf, n, (("lam0", lam0), ("M", M), ("method", method)))


#: Cases with mean, variance and extinction probability.
WORKFLOW_CASES: tuple[RowCase, ...] = (
    _case(W.mix(real_fraction=0.1), 0.5, 20, 10, "sufficient"),
    _case(W.mix(n_real=2, fixed_real=True), 0.3, 10, 8, "sufficient"),
    _case(W.accumulate(), 0.1, 10, 12, "sufficient"),
    _case(W.weighted(), 0.2, 10, 10, "samples"),
)
#: Cases with the mean and variance only.
MOMENT_CASES: tuple[RowCase, ...] = (
    _case(W.accumulate_subsample(), 1.0, 10, 10, "samples"),
    _case(W.accumulate_subsample(4), 0.5, 8, 6, "sufficient"),
)


def cases() -> list[Case]:
    """The registered Poisson workflow cases.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.poisson_workflows import cases
    >>> cases()[0].id
    "poisson/Workflow(name='mix', real_fraction=0.1) lam0=0.5 M=20 method=sufficient n=10"
    """
    return workflow_cases(ROWS, WORKFLOW_CASES) + workflow_cases(MOMENT_ROWS, MOMENT_CASES)
