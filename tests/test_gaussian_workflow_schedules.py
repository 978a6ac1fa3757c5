"""Gaussian moments under a growing sample-size schedule and a workflow: exact theory
(theory.gaussian_workflows.schedule_moments) against the simulator, which takes the same schedule
and workflow value and never sees the formulas.

Bound: z = 4.5 per comparison, 20 comparisons -> family-wise < 1.4e-4 (normal approximation of
chain means, 40 000 chains). Each case also rejects the constant-M formula taken at the last
schedule entry (the naive substitution).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from modelcollapse.sims.gaussian import simulate
from modelcollapse.spec import workflows as W
from modelcollapse.theory import gaussian as g

Z = 4.5
SCHEDULE = [4, 6, 10, 16, 25]
CASES = [
    (W.mix(real_fraction=0.25), 1),
    (W.accumulate(), 1),
    (W.weighted(0.4), 0),
    (W.replace(bias=W.SamplingBias(variance_scale=0.8)), 0),
    (W.accumulate_subsample(3), 1),
]


@pytest.mark.parametrize(("wf", "ddof"), CASES, ids=lambda v: getattr(v, "name", str(v)))
def test_schedule_moments_match_the_simulator(wf, ddof):
    n = len(SCHEDULE)
    run = simulate(jax.random.key(23), M=SCHEDULE, generations=n, chains=40_000, ddof=ddof,
                   workflow=wf, record=[2, n])
    s_th = g.expected_variance_schedule(SCHEDULE, ddof=ddof, workflow=wf)
    d_th = g.mean_drift_mse_schedule(SCHEDULE, ddof=ddof, workflow=wf)
    for row, t in ((1, 2), (2, n)):
        var = np.exp(np.asarray(run.log_variance[row], dtype=np.float64))
        d2 = np.asarray(run.mean[row], dtype=np.float64) ** 2
        for sim, th in ((var, s_th[t]), (d2, d_th[t])):
            se = sim.std(ddof=1) / np.sqrt(sim.size)
            assert abs(sim.mean() - th) <= Z * se, (wf, t, sim.mean(), th, se)
    # the constant-M formula at the last schedule entry is rejected on the mean error
    d2 = np.asarray(run.mean[2], dtype=np.float64) ** 2
    se = d2.std(ddof=1) / np.sqrt(d2.size)
    naive = float(g.mean_drift_mse(n, SCHEDULE[-1], ddof=ddof, workflow=wf))
    assert abs(d2.mean() - naive) > Z * se


def test_constant_schedule_equals_the_constant_M_theory():
    n = np.arange(7)
    for wf in (W.replace(), W.mix(n_real=3), W.accumulate(), W.weighted(),
               W.accumulate(bias=W.SamplingBias(truncation=1.5)), W.accumulate_subsample(),
               W.accumulate_subsample(4, bias=W.SamplingBias(variance_scale=0.7))):
        for ddof in (0, 1):
            s = g.expected_variance_schedule([10] * 6, ddof=ddof, workflow=wf)
            d = g.mean_drift_mse_schedule([10] * 6, ddof=ddof, workflow=wf)
            np.testing.assert_allclose(s, g.expected_variance(n, 10, ddof=ddof, workflow=wf),
                                       rtol=1e-14, atol=1e-16)
            np.testing.assert_allclose(d, g.mean_drift_mse(n, 10, ddof=ddof, workflow=wf),
                                       rtol=1e-14, atol=1e-16)


def test_accumulate_schedule_is_the_pooled_product():
    """ddof = 0, no bias: E sigma_t^2 = prod_j (1 - M_j / N_j^2) (N_j the pool after batch j)."""
    N = np.cumsum(SCHEDULE)
    expected = np.concatenate([[1.0], np.cumprod(1.0 - np.asarray(SCHEDULE) / N**2)])
    got = g.expected_variance_schedule(SCHEDULE, ddof=0, workflow=W.accumulate())
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_refusals():
    with pytest.raises(ValueError, match="fixed_real"):
        g.expected_variance_schedule(SCHEDULE, workflow=W.mix(n_real=2, fixed_real=True))
    with pytest.raises(ValueError, match="subsample must be an integer in"):
        g.mean_drift_mse_schedule(SCHEDULE, workflow=W.accumulate_subsample(5))
    with pytest.raises(ValueError, match="workflow"):
        g.expected_variance_schedule(SCHEDULE, workflow="shuffle")
