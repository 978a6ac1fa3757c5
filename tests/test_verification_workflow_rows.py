"""Workflow verify rows of every family: coverage, unique ids, one fast case each, and perturbed
theory rejected.

Statistics: each check's |z| bound is the report's Bonferroni bound at the number of checks of
the call (``bonferroni_z``); a perturbed formula (a multiplicative error of a few percent, far
beyond the standard error at these chain counts) must fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from modelcollapse.families import discrete_workflows as DWF
from modelcollapse.families import gaussian_workflows as GWF
from modelcollapse.families import poisson_workflows as PWF
from modelcollapse.spec import workflows as W
from modelcollapse.verify import registry
from modelcollapse.verify.checks import perturbed
from modelcollapse.verify.workflow_rows import RowCase, workflow_checks


def _names(cases) -> set[str]:
    return {c.workflow.name for c in cases}


def test_every_family_verifies_mix_accumulate_and_subsample():
    """The issue's bar: verify covers mix, accumulate and accumulate-subsample for each family
    (and the sampling biases where a family has them)."""
    need = {"mix", "accumulate", "accumulate_subsample"}
    assert need <= _names(GWF.WORKFLOW_CASES)
    assert need <= _names(DWF.WORKFLOW_CASES + DWF.HETEROZYGOSITY_CASES)
    assert need <= _names(PWF.WORKFLOW_CASES + PWF.MOMENT_CASES)
    biases = {b for c in DWF.WORKFLOW_CASES for b in c.workflow.bias.active}
    assert {"temperature", "top_k", "top_p"} <= biases
    gbiases = {b for c in GWF.WORKFLOW_CASES for b in c.workflow.bias.active}
    assert {"variance_scale", "truncation"} <= gbiases


def test_workflow_cases_are_registered_with_unique_ids():
    ids = [c.id for c in registry.cases()]
    assert len(ids) == len(set(ids))
    for module in (DWF, PWF):
        for case in module.cases():
            assert case.id in ids


FAST = [
    (DWF.ROWS, RowCase(W.mix(real_fraction=0.1), 10,
                       (("K", 10), ("zipf", 1.0), ("M", 30), ("method", "sufficient"))),
     "expected_heterozygosity"),
    (PWF.ROWS, RowCase(W.accumulate(), 6, (("lam0", 0.3), ("M", 10), ("method", "sufficient"))),
     "rate_variance"),
    (GWF.ROWS, RowCase(W.accumulate_subsample(), 6,
                       (("M", 10), ("ddof", 1), ("method", "sufficient"))),
     "mean_drift_mse"),
]


@pytest.mark.parametrize(("rows", "case", "name"), FAST, ids=["discrete", "poisson", "gaussian"])
def test_a_workflow_case_passes_and_a_perturbed_formula_fails(rows, case, name):
    checks = workflow_checks(rows, 11, case, chains=20_000)
    assert all(c.passed for c in checks), [(c.quantity, c.z) for c in checks]
    bad = perturbed(rows.theory(), name, 1.08)
    wrong = workflow_checks(rows, 11, case, chains=20_000, theory=bad)
    failed = [c.quantity for c in wrong if not c.passed]
    assert failed, "an 8 % error must be rejected"


def test_biased_categorical_rows_use_the_full_chain_and_reject_the_inverted_temperature():
    """temperature 0.5 vs its inverse 2: the full chain's value for T = 2 is rejected by the
    T = 0.5 simulation (the inversion q^T for q^(1/T) the issue names)."""
    from modelcollapse.theory.discrete_workflow_chains import chain_expectation

    case = RowCase(W.replace(bias=W.SamplingBias(temperature=0.5)), 4,
                   (("K", 4), ("zipf", 1.0), ("M", 10), ("method", "sufficient")))
    checks = workflow_checks(DWF.ROWS, 3, case, chains=20_000)
    assert all(c.passed for c in checks)
    p0 = np.asarray(DWF.zipf(4, 1.0))
    inverted = float(chain_expectation(4, p0, 10, workflow=W.replace(
        bias=W.SamplingBias(temperature=2.0)), observable="heterozygosity"))
    het = checks[0]
    assert abs(het.estimate - inverted) / het.stderr > het.z_bound
