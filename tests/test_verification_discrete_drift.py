"""The drift verification rows (modelcollapse.families.discrete_drift): theory against simulation.

The simulator never sees the formulas. Tolerance: |estimate - theory| <= z * se, z the Bonferroni
bound over every check of this file at family-wise alpha = 1e-3 (z ~ 4.2 for 3 cases x 9
checks). The same checker, fed one wrong formula at a time (scaled by 5 % to 25 %, the size of
an off-by-one exponent such as (1 - 1/M)^(n-1) at small M), must reject it. The full
registered cases run in the report (``modelcollapse verify``) and in the slow sweep here.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from modelcollapse.families.discrete import cases as discrete_cases
from modelcollapse.families.discrete_drift import (
    DRIFT_CASES,
    DRIFT_QUANTITIES,
    DriftCase,
    cases,
    drift_checks,
)
from modelcollapse.sims.discrete import simulate as _simulate
from modelcollapse.theory import discrete_drift, tails
from modelcollapse.verify.checks import bonferroni_z, perturbed
from modelcollapse.verify.registry import run_report

CHAINS = 20_000
Z = bonferroni_z(3 * len(DRIFT_QUANTITIES), alpha=1e-3)
CASES = (
    DriftCase(3, 1.0, 5, 4, "samples", 5, 0.5),        # W2^2 from the full chain
    DriftCase(2, 0.5, 30, 20, "sufficient", 30),      # W2^2 from the two-allele chain
    DriftCase(12, 1.0, 40, 60, "sufficient", 40, 0.3),  # W2^2 refused: left out
)
_RUNS: dict = {}


def cached_simulate(key, **kw):
    """The real simulator, memoised on (key, case): the perturbed-formula tests reuse one run."""
    tag = (tuple(np.asarray(jax.random.key_data(key)).tolist()), kw["M"], kw["generations"],
           tuple(np.asarray(kw["p0"]).tolist()), kw["method"], kw["record_counts"])
    if tag not in _RUNS:
        _RUNS[tag] = _simulate(key, **kw)
    return _RUNS[tag]


def run(case: DriftCase, seed: int = 11, **kw):
    return drift_checks(seed, p0=case.p0, M=case.M, n=case.n, support=case.support, T=case.T,
                        chains=CHAINS, method=case.method, z_bound=Z, simulate=cached_simulate,
                        **kw)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_drift_rows_pass(case):
    checks = run(case)
    names = [c.quantity for c in checks]
    expected = [q for q in DRIFT_QUANTITIES if q != "E W2^2" or case.K <= 3]
    assert names == expected
    bad = [(c.quantity, c.estimate, c.theory, c.z) for c in checks if not c.passed]
    assert not bad, bad


DRIFT_FUNCTIONS = ("expected_mean_drift", "expected_support_variance", "support_variance_variance",
                   "expected_w1", "expected_total_variation", "expected_w2_squared",
                   "expected_cramer_squared")


@pytest.mark.parametrize("name", DRIFT_FUNCTIONS)
def test_a_wrong_drift_formula_is_rejected(name):
    # the chain mean of (m_n - m_0)^2 and of Var_n has a relative se near 1 % at 20000
    # chains, so those two are perturbed by an off-by-one exponent at M = 5, n = 4 (factor
    # (1 - 1/5)^-1 = 1.25); the others by 5 % (15 % for a variance's variance)
    big = ("expected_w2_squared", "expected_mean_drift", "expected_support_variance")
    case = CASES[0] if name in big else CASES[2]
    factor = {"support_variance_variance": 1.15, "expected_mean_drift": 1.25,
              "expected_support_variance": 1.25}.get(name, 1.05)
    checks = run(case, theory=perturbed(discrete_drift, name, factor))
    assert any(not c.passed for c in checks), name


@pytest.mark.parametrize("name", ["expected_missing_mass", "memoriser_test_error"])
def test_a_wrong_tails_formula_is_rejected(name):
    checks = run(CASES[2], tails=perturbed(tails, name, 1.05))
    assert any(not c.passed for c in checks), name


def test_registered_with_the_discrete_family():
    ids = [c.id for c in discrete_cases()]
    assert all(c.id in ids for c in cases())
    assert len(cases()) == len(DRIFT_CASES)
    assert all(c.max_checks == len(DRIFT_QUANTITIES) for c in cases())


def test_no_memoriser_row_without_T():
    c = CASES[1]
    checks = drift_checks(3, p0=c.p0, M=c.M, n=c.n, chains=2000, method=c.method, z_bound=Z)
    assert "memoriser error" not in [x.quantity for x in checks]


@pytest.mark.slow
def test_registered_drift_cases_pass():
    checks = run_report(cases(), chains=100_000, seed=2024)
    bad = [(c.case, c.quantity, c.z) for c in checks if not c.passed]
    assert not bad, bad


def test_cli_prints_the_drift_beside_the_theory(capsys):
    from modelcollapse.cli import main

    code = main(["simulate", "discrete", "--K", "3", "--M", "10", "--generations", "4",
                 "--chains", "500", "--drift", "--support", "-1,0,2.5"])
    out = capsys.readouterr().out
    assert code == 0
    table = out.split("drift from p0 on the given support")[1].splitlines()
    assert "E W1 sim" in table[2] and "E missing sim" in table[2]
    rows = [line.split() for line in table[3:] if line.strip()]
    assert [r[0] for r in rows][0] == "0" and len(rows) >= 3
    # generation 4: the W1 theory column is the exact value
    p0 = np.full(3, 1 / 3)
    last = [r for r in rows if r[0] == "4"][0]
    assert float(last[3]) == pytest.approx(
        float(discrete_drift.expected_w1(4, p0, 10, [-1.0, 0.0, 2.5])), rel=1e-4)


def test_cli_refuses_a_bad_support(capsys):
    from modelcollapse.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "discrete", "--K", "3", "--M", "10", "--generations", "2", "--drift",
              "--support", "0,2,1"])
    assert exit_.value.code == 2
    assert "support must be" in capsys.readouterr().err
