"""The Gaussian workflow verification rows (modelcollapse.families.gaussian_workflows).

Each registered case runs at 20000 chains here with the Bonferroni z over all of them (family-wise
alpha = 1e-3); the same checker rejects a theory whose variance or mean drift is off by 5 %
(fed through ``verify.checks.perturbed``), and the replace formula fed an accumulate run.
"""

from __future__ import annotations

import pytest

from modelcollapse.families.gaussian import cases as gaussian_cases
from modelcollapse.families.gaussian_workflows import (
    WORKFLOW_CASES,
    WORKFLOW_QUANTITIES,
    cases,
    workflow_checks,
)
from modelcollapse.sims.gaussian import simulate as _simulate
from modelcollapse.spec import workflows as W
from modelcollapse.theory import gaussian
from modelcollapse.verify.checks import bonferroni_z, perturbed

CHAINS = 20_000
Z = bonferroni_z(len(WORKFLOW_CASES) * len(WORKFLOW_QUANTITIES), alpha=1e-3)
_RUNS: dict = {}


def cached_simulate(key, **kw):
    import jax
    import numpy as np

    tag = (tuple(np.asarray(jax.random.key_data(key)).tolist()),
           tuple(sorted((k, repr(v)) for k, v in kw.items())))
    if tag not in _RUNS:
        _RUNS[tag] = _simulate(key, **kw)
    return _RUNS[tag]


def run(case, **kw):
    return workflow_checks(7, workflow=case.workflow, M=case.M, n=case.n, ddof=case.ddof,
                           chains=CHAINS, method=case.method, z_bound=Z,
                           simulate=cached_simulate, **kw)


@pytest.mark.parametrize("case", WORKFLOW_CASES, ids=lambda c: c.label)
def test_workflow_rows_pass(case):
    checks = run(case)
    assert [c.quantity for c in checks] == list(WORKFLOW_QUANTITIES)
    bad = [(c.quantity, c.estimate, c.theory, c.z) for c in checks if not c.passed]
    assert not bad, bad


@pytest.mark.parametrize("name", ["expected_variance", "mean_drift_mse"])
def test_a_wrong_formula_is_rejected(name):
    case = WORKFLOW_CASES[2]  # mix, 10 % real, n = 100
    checks = run(case, theory=perturbed(gaussian, name, 1.05))
    assert any(not c.passed for c in checks), name


def test_the_replace_formula_is_rejected_for_accumulate():
    case = WORKFLOW_CASES[0]
    wrong = perturbed(gaussian, "expected_variance", 1.0)
    wrong.expected_variance = lambda n, M, ddof, workflow: gaussian.expected_variance(
        n, M, ddof=ddof, workflow=W.replace())
    checks = run(case, theory=wrong)
    assert not checks[0].passed


def test_registered_with_the_gaussian_family():
    ids = [c.id for c in gaussian_cases()]
    assert all(c.id in ids for c in cases())
    assert len(set(ids)) == len(ids)
