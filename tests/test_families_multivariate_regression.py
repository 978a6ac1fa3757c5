"""Front ends of the multivariate Gaussian and regression families: verify rows and the CLI.

Statistics: each check's |z| bound is the Bonferroni bound at the number of checks of the call
(``bonferroni_z`` at alpha = 1e-3); a perturbed formula (an 8 % multiplicative error, many
standard errors at these chain counts) must be rejected by the same rows.
"""

from __future__ import annotations

import pytest

from modelcollapse.cli import main
from modelcollapse.families import multivariate as MV
from modelcollapse.families import regression as RG
from modelcollapse.spec import workflows as W
from modelcollapse.verify import registry
from modelcollapse.verify.checks import perturbed
from modelcollapse.verify.workflow_rows import RowCase, workflow_checks


def test_cases_are_registered_and_cover_the_workflows():
    ids = [c.id for c in registry.cases()]
    assert len(ids) == len(set(ids))
    for module in (MV, RG):
        for case in module.cases():
            assert case.id in ids
    names = {c.workflow.name for c in MV.WORKFLOW_CASES + MV.ACCUMULATE_CASES}
    assert {"mix", "accumulate", "accumulate_subsample", "weighted"} <= names
    assert {c.params[0][1] for c in MV.REPLACE_CASES} >= {3, 10, 100}  # d
    pairs = {(c.workflow.name, dict(c.params)["design"]) for c in RG.CASES}
    assert {("replace", "fixed"), ("replace", "fresh"), ("accumulate", "fixed"),
            ("accumulate", "fresh"), ("mix", "fixed"), ("mix", "fresh")} <= pairs


_MV_CASE = RowCase(W.replace(), 10, (("d", 3), ("Sigma0", (0.5, 1.0, 2.0)), ("M", 10),
                                     ("ddof", 1), ("method", "bartlett")))
_ACC_CASE = RowCase(W.accumulate(), 8, (("d", 3), ("Sigma0", "I"), ("M", 8), ("ddof", 0),
                                        ("method", "bartlett")))
_RG_CASE = RowCase(W.accumulate(), 10, (("T", 15), ("d", 3), ("design", "fixed"),
                                        ("method", "sufficient")))


@pytest.mark.parametrize(("rows", "case", "name"), [
    (MV.ROWS, _MV_CASE, "expected_log_determinant"),
    (MV.ROWS, _MV_CASE, "mean_drift_mse"),
    (MV.ACCUMULATE_ROWS, _ACC_CASE, "expected_determinant"),
    (RG.ROWS, _RG_CASE, "expected_test_error"),
], ids=["multivariate-logdet", "multivariate-mean", "multivariate-accumulate-det",
       "regression"])
def test_a_case_passes_and_a_perturbed_formula_fails(rows, case, name):
    checks = workflow_checks(rows, 7, case, chains=20_000)
    assert all(c.passed for c in checks), [(c.quantity, c.z) for c in checks]
    wrong = workflow_checks(rows, 7, case, chains=20_000, theory=perturbed(rows.theory(), name,
                                                                           1.08))
    assert [c.quantity for c in wrong if not c.passed], "an 8 % error must be rejected"


def test_simulate_multivariate_prints_the_theory(capsys):
    assert main(["simulate", "multivariate", "--eigenvalues", "1", "2", "--M", "8",
                 "--generations", "3", "--chains", "300", "--workflow", "accumulate"]) == 0
    out = capsys.readouterr().out
    assert "d=2" in out and "accumulate" in out
    assert "n/a: logdet" in out  # E log det: exact under replace only, refused by name here
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("3 ")]
    assert rows and len(rows[0]) == 13  # n + 4 columns of (sim, 2se, theory)


def test_simulate_regression_prints_the_theory(capsys):
    assert main(["simulate", "regression", "--T", "12", "--d", "3", "--generations", "2",
                 "--chains", "300", "--design", "fresh"]) == 0
    out = capsys.readouterr().out
    assert "design=fresh" in out
    last = out.strip().splitlines()[-1].split()
    assert last[0] == "2" and float(last[3]) == pytest.approx(0.75)  # 2 * 3/(12 - 3 - 1)


@pytest.mark.parametrize("argv, message", [
    (["simulate", "multivariate", "--d", "3", "--eigenvalues", "1", "2", "--M", "8"],
     "--d 3 disagrees with the 2 values of --eigenvalues"),
    (["simulate", "multivariate", "--eigenvalues", "1", "-2", "--M", "8"],
     "--eigenvalues must be finite reals > 0"),
    (["simulate", "multivariate", "--M", "8"], "give --d (Sigma0 = I_d) or --eigenvalues"),
    (["simulate", "regression", "--T", "-3", "--d", "2"], "T must be an integer >= 1"),
    (["simulate", "regression", "--T", "10", "--d", "2", "--design", "random"],
     "design must be"),
])
def test_bad_arguments_are_refused_by_name(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--generations", "2", "--chains", "10"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
