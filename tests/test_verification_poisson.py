"""Theory against simulation for the Poisson refit (a critical Galton-Watson process).

The simulator (modelcollapse.sims.poisson) never sees the formulas. Each Hypothesis example draws
(lam0, M, n) and a seed, runs 20000 chains on the sufficient path (one compiled program serves
every example) and applies up to 6 checks (modelcollapse.families.poisson.poisson_checks):
|estimate - theory| <= z * se with z the Bonferroni bound over all checks of the property
(family-wise alpha = 1e-3; z ~ 4.3 for 15 examples x 6 checks). Two fixed cases cover the
sample-level path and a schedule; the tests below show the checker rejecting wrong formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcollapse.families.poisson import POISSON_QUANTITIES, poisson_checks
from modelcollapse.sims.poisson import simulate as _simulate
from modelcollapse.theory import poisson as th
from modelcollapse.verify.checks import bonferroni_z, perturbed

CHAINS = 20_000
MAX_EXAMPLES = settings.default.max_examples
Z = bonferroni_z(MAX_EXAMPLES * len(POISSON_QUANTITIES), alpha=1e-3)
_RUNS: dict = {}


def cached_simulate(key, **kw):
    """The real simulator, memoised: the perturbed-formula tests reuse one simulation."""
    import jax

    tag = (tuple(np.asarray(jax.random.key_data(key)).tolist()), tuple(sorted(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in kw.items())))
    if tag not in _RUNS:
        _RUNS[tag] = _simulate(key, **kw)
    return _RUNS[tag]


def _failures(checks):
    return [f"{c.quantity}: theory {c.theory:.6g} sim {c.estimate:.6g} z={c.z:.2f}"
            for c in checks if not c.passed]


@given(lam0=st.floats(0.05, 5.0), M=st.integers(1, 60), n=st.integers(1, 80),
       seed=st.integers(0, 2**31 - 1))
def test_simulator_matches_theory(lam0, M, n, seed):
    checks = poisson_checks(seed, lam0=lam0, M=M, n=n, chains=CHAINS, z_bound=Z)
    assert len(checks) >= 2
    assert not _failures(checks), _failures(checks)


@pytest.mark.parametrize("lam0, M, n", [(1.5, 6, 12), (0.7, tuple(range(3, 13)), 10)],
                         ids=["constant", "schedule"])
def test_sample_level_simulator_matches_theory(lam0, M, n):
    z = bonferroni_z(2 * len(POISSON_QUANTITIES), alpha=1e-3)
    checks = poisson_checks(7, lam0=lam0, M=M, n=n, chains=CHAINS, method="samples", z_bound=z)
    assert not _failures(checks), _failures(checks)


def _shift_generation(theory, name, shift):
    wrong = perturbed(theory, name, 1.0)
    fn = getattr(theory, name)
    setattr(wrong, name, lambda n, *a, **kw: fn(np.asarray(n) + shift, *a, **kw))
    return wrong


# Two cases: M lam0 = 100 at n = 10 (few extinctions: the moments and the cdf are sharp) and
# M lam0 = 20 at n = 25 (a quarter of the chains extinct). Each perturbation is ~7-13 standard
# errors at 20000 chains, against the same bound z ~ 4.3 as above.
SHARP, EXTINCT = (2.0, 50, 10), (2.0, 10, 25)


@pytest.mark.parametrize("wrong, quantity, case", [
    (perturbed(th, "rate_variance", 1.10), "Var Lam_n", SHARP),
    (_shift_generation(th, "extinction_probability", 1), "P(Lam_n = 0)", EXTINCT),
    (perturbed(th, "conditional_expected_rate", 1.03), "E[Lam_n | Lam_n > 0]", SHARP),
    (perturbed(th, "rate_cdf", 1.05), "P(Lam_n <= median)", SHARP),
    (perturbed(th, "expected_rate", 1.03), "E Lam_n", SHARP),
], ids=["variance x1.1", "extinction n+1", "conditional mean x1.03", "cdf x1.05", "mean x1.03"])
def test_checker_rejects_a_perturbed_formula(wrong, quantity, case):
    lam0, M, n = case
    kw = dict(lam0=lam0, M=M, n=n, chains=CHAINS, z_bound=Z, simulate=cached_simulate)
    right = poisson_checks(3, **kw)
    assert not _failures(right), _failures(right)
    failed = {c.quantity for c in poisson_checks(3, theory=wrong, **kw) if not c.passed}
    assert quantity in failed, f"{quantity} not rejected; failed: {failed}"
