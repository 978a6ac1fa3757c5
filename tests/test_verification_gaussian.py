"""Theory against simulation for the 1-D Gaussian recursion (Shumailov et al. 2024, Thm 3.1).

The simulator (modelcollapse.sims.gaussian) never sees the formulas. Each Hypothesis example draws
(M, n, ddof, eps), runs 20000 chains with a seed fixed by the example, and checks up to 7
quantities (see modelcollapse.families.gaussian.gaussian_checks). Tolerance:
|estimate - theory| <= z * se with the Bonferroni bound z over all checks of the test
(family-wise alpha = 1e-3), i.e. z ~ 4.3 for 15 examples x 7 checks. The test below the
property shows the same checker rejecting wrong formulas.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcollapse.families.gaussian import GAUSSIAN_QUANTITIES, gaussian_checks
from modelcollapse.theory import gaussian as th
from modelcollapse.verify.checks import bonferroni_z, perturbed

CHAINS = 20_000
MAX_EXAMPLES = settings.default.max_examples
Z = bonferroni_z(MAX_EXAMPLES * len(GAUSSIAN_QUANTITIES), alpha=1e-3)


def _failures(checks):
    return [f"{c.quantity}: theory {c.theory:.6g} sim {c.estimate:.6g} z={c.z:.2f}"
            for c in checks if not c.passed]


@st.composite
def gaussian_case(draw):
    M = draw(st.integers(2, 400))
    ddof = draw(st.sampled_from([0, 1]))
    # n from 1 to 3M: covers n << M (moments checked) and n > M (log-variance law only)
    n = draw(st.integers(1, 3 * M))
    # collapse thresholds eps = exp(E log sigma_n^2 + z sd), z drawn on each side of the median
    eps_z = (draw(st.floats(-2.0, 0.0)), draw(st.floats(0.0, 2.0)))
    return M, n, ddof, eps_z


@given(case=gaussian_case(), seed=st.integers(0, 2**31 - 1))
def test_sufficient_simulator_matches_theory(case, seed):
    M, n, ddof, eps_z = case
    checks = gaussian_checks(seed, M=M, n=n, ddof=ddof, chains=CHAINS, z_bound=Z, eps_z=eps_z)
    assert not _failures(checks), _failures(checks)


@pytest.mark.parametrize("M, n, ddof", [(2, 3, 1), (20, 15, 0), (50, 40, 1)])
def test_sample_level_simulator_matches_theory(M, n, ddof):
    z = bonferroni_z(3 * len(GAUSSIAN_QUANTITIES), alpha=1e-3)
    checks = gaussian_checks(100 + M, M=M, n=n, ddof=ddof, chains=CHAINS, method="samples",
                             z_bound=z)
    assert not _failures(checks), _failures(checks)


@pytest.mark.parametrize(
    "name, factor",
    [
        ("expected_log_variance", 1.05),
        ("log_variance_variance", 1.10),
        ("collapse_probability", 1.05),
        ("expected_std", 1.03),  # se ~ 0.6 % at 20000 chains: 3 % is ~5 se
        ("mean_drift_mse", 1.05),
        ("expected_w2_squared", 1.05),
    ],
)
def test_checker_rejects_a_perturbed_formula(name, factor):
    """The same checks, fed a formula off by a few percent, must fail (same z bound as above)."""
    wrong = perturbed(th, name, factor)
    checks = gaussian_checks(7, M=50, n=50, ddof=1, chains=CHAINS, z_bound=Z, theory=wrong)
    failed = {c.quantity for c in checks if not c.passed}
    assert failed, f"a {factor}x error in {name} went unnoticed"


def test_checker_rejects_the_other_estimator():
    """Theory for ddof=0 against a ddof=1 simulation: the classic mix-up must be caught."""

    class Swapped:
        def __getattr__(self, name):
            fn = getattr(th, name)
            return lambda *a, **kw: fn(*a, **{**kw, "ddof": 1 - kw.get("ddof", 1)})

    checks = gaussian_checks(3, M=100, n=100, ddof=1, chains=CHAINS, z_bound=Z, theory=Swapped())
    assert sum(not c.passed for c in checks) >= 3


@pytest.mark.slow
@given(case=gaussian_case(), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=60)
def test_sufficient_simulator_matches_theory_sweep(case, seed):
    M, n, ddof, eps_z = case
    z = bonferroni_z(60 * len(GAUSSIAN_QUANTITIES), alpha=1e-3)
    checks = gaussian_checks(seed, M=M, n=n, ddof=ddof, chains=100_000, z_bound=z, eps_z=eps_z)
    assert not _failures(checks), _failures(checks)
