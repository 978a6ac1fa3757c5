"""Verification of the categorical family under the data workflows and sampling biases.

Part of the categorical family's front end (:mod:`modelcollapse.families.discrete` registers
these cases with its own), written on :mod:`modelcollapse.verify.workflow_rows`: one workflow
value goes to the theory and to the simulator (``sims.discrete.simulate``); at generation ``n``
the chain means of the heterozygosity ``1 - sum p_i^2`` and of the number of surviving symbols
must lie within the report's bound of the exact values.

Theory: without a sampling bias, :func:`modelcollapse.theory.discrete.expected_heterozygosity`
and ``expected_survivors`` with ``workflow=`` (closed-form second moments; single-symbol
chains); with a sampling bias (temperature, top-k, top-p), the full multinomial chain
(:func:`modelcollapse.theory.discrete_workflow_chains.chain_expectation`), an engine written
apart from the simulator.

Workflows covered: mix (10 % fresh real data; a reused real set), accumulate,
accumulate-subsample (heterozygosity), replace and mix with temperature, top-k and top-p
sampling.

References: Shumailov et al., Nature 631 (2024); Gerstgrasser et al. (2024); Kazdan et al.
(2024); Holtzman et al., ICLR 2020 (nucleus sampling).
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

__all__ = ["ROWS", "HETEROZYGOSITY_ROWS", "WORKFLOW_CASES", "HETEROZYGOSITY_CASES", "cases",
           "zipf"]

# Each case's p0 is the Zipf law p_i ~ i^-s on K symbols (parameters K and zipf).

NAME = "discrete"


def zipf(K: int, s: float) -> tuple[float, ...]:
    """``p_i ~ i^-s`` on ``K`` symbols, as a tuple (a hashable case parameter).

    Parameters
    ----------
    K : int
        Symbols.
    s : float
        Exponent.

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> from modelcollapse.families.discrete_workflows import zipf
    >>> [round(x, 4) for x in zipf(3, 1.0)]
    [0.5455, 0.2727, 0.1818]
    """
    w = np.arange(1, K + 1, dtype=np.float64) ** -float(s)
    return tuple(float(x) for x in w / w.sum())


def _p0(p: dict[str, Any]) -> np.ndarray:
    return np.asarray(zipf(p["K"], p["zipf"]))


_SIMULATOR = lazy("modelcollapse.sims.discrete", "simulate")
_THEORY = lazy("modelcollapse.theory.discrete")


def _run(simulate: Callable[..., Any], key: Any, n: int, chains: int, wf: W.Workflow,
         p: dict[str, Any]) -> Any:
    return simulate(key, p0=_p0(p), M=p["M"], generations=n, chains=chains,
                    method=p["method"], workflow=wf, record=[n], track_extinction=False)


def _exact(observable: str, name: str) -> Callable[[Any, int, W.Workflow, dict[str, Any]],
                                                    float]:
    def value(th: Any, n: int, wf: W.Workflow, p: dict[str, Any]) -> float:
        p0 = _p0(p)
        if wf.bias.active:
            from modelcollapse.theory.discrete_workflow_chains import chain_expectation

            return float(chain_expectation(n, p0, p["M"], workflow=wf, observable=observable))
        return float(getattr(th, name)(n, p0, p["M"], workflow=wf))

    return value


_HET = Quantity("E H_n", "mean",
                lambda run, row, p: np.asarray(run.heterozygosity, np.float64)[row],
                _exact("heterozygosity", "expected_heterozygosity"))

#: Rows with heterozygosity and surviving symbols.
ROWS = WorkflowRows(NAME, (
    _HET,
    Quantity("E S_n", "mean", lambda run, row, p: np.asarray(run.survivors, np.float64)[row],
             _exact("survivors", "expected_survivors")),
), _run, _SIMULATOR, _THEORY)

#: Rows with the heterozygosity only (accumulate-subsample).
HETEROZYGOSITY_ROWS = WorkflowRows(NAME, (_HET,), _run, _SIMULATOR, _THEORY)


def _case(wf: W.Workflow, K: int, s: float, M: int, n: int, method: str) -> RowCase:
    return RowCase(wf, n, (("K", K), ("zipf", s), ("M", M), ("method", method)))


#: Cases with heterozygosity and survivors.
WORKFLOW_CASES: tuple[RowCase, ...] = (
    _case(W.mix(real_fraction=0.1), 30, 1.1, 50, 20, "sufficient"),
    _case(W.mix(n_real=3, fixed_real=True), 10, 1.0, 20, 15, "sufficient"),
    _case(W.accumulate(), 20, 1.1, 30, 10, "samples"),
    _case(W.replace(bias=W.SamplingBias(temperature=0.7)), 4, 1.0, 12, 6, "sufficient"),
    _case(W.replace(bias=W.SamplingBias(top_p=0.8)), 4, 1.0, 12, 5, "samples"),
    _case(W.mix(n_real=2, bias=W.SamplingBias(top_k=2, temperature=1.3)), 4, 1.0, 12, 8,
          "sufficient"),
)
#: Cases with the heterozygosity only.
HETEROZYGOSITY_CASES: tuple[RowCase, ...] = (
    _case(W.accumulate_subsample(), 10, 1.0, 20, 8, "sufficient"),
)


def cases() -> list[Case]:
    """The registered categorical workflow cases.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.discrete_workflows import cases
    >>> cases()[2].label
    "Workflow(name='accumulate') K=20 zipf=1.1 M=30 method=samples n=10"
    """
    return (workflow_cases(ROWS, WORKFLOW_CASES)
            + workflow_cases(HETEROZYGOSITY_ROWS, HETEROZYGOSITY_CASES))
