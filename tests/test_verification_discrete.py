"""Theory against simulation for categorical refitting (Wright-Fisher), and the discrete CLI.

The simulator (modelcollapse.sims.discrete) never sees the formulas. Each Hypothesis example draws
a simulator configuration (M, K, method) from a short menu (each configuration is compiled once by
JAX and reused), an arbitrary p0 over K symbols, a generation n and a seed, runs 20000 chains and
applies up to 7 checks (modelcollapse.families.discrete.discrete_checks). Tolerance:
|estimate - theory| <= z * se with z the Bonferroni bound over all checks of the property
(family-wise alpha = 1e-3): z ~ 4.6 for 30 examples x 7 checks (dev profile), ~4.4 for 15 (ci).
The tests below the property show the same checker rejecting wrong formulas.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcollapse.families.discrete import (
    ABSORPTION_QUANTITIES,
    DISCRETE_QUANTITIES,
    absorption_checks,
    cases,
    discrete_checks,
    max_discrete_checks,
    zipf_p0,
)
from modelcollapse.sims.discrete import simulate as _simulate
from modelcollapse.theory import discrete as th
from modelcollapse.verify.checks import bonferroni_z, perturbed
from modelcollapse.verify.registry import run_report

CHAINS = 20_000
MAX_EXAMPLES = settings.default.max_examples
Z = bonferroni_z(MAX_EXAMPLES * len(DISCRETE_QUANTITIES), alpha=1e-3)

# (M, K, method, generations): the simulator runs `generations` and the checks look at n <= it,
# so every example of one configuration reuses one compiled simulator.
# (JAX compile time dominates this file: the count-level sampler compiles slowly for larger K,
# so the default run covers it with K = 2; the slow sweep covers K up to 50 with both paths.)
CONFIGS = ((20, 4, "samples", 60), (7, 2, "sufficient", 30))

_RUNS: dict = {}


def cached_simulate(key, **kw):
    """The real simulator, memoised on (key data, arguments): the perturbed-formula tests reuse
    one simulation for several wrong theories."""
    import jax

    tag = (tuple(np.asarray(jax.random.key_data(key)).tolist()),
           tuple(np.asarray(kw.pop("p0")).tolist()), tuple(sorted(
               (k, tuple(v) if isinstance(v, list) else v) for k, v in kw.items())))
    if tag not in _RUNS:
        _RUNS[tag] = _simulate(key, p0=np.array(tag[1]), **kw)
    return _RUNS[tag]


def _failures(checks):
    return [f"{c.quantity}: theory {c.theory:.6g} sim {c.estimate:.6g} z={c.z:.2f}"
            for c in checks if not c.passed]


@st.composite
def discrete_case(draw):
    M, K, method, G = draw(st.sampled_from(CONFIGS))
    # any p0 over K symbols, each at least 1 %, possibly far from uniform
    w = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=K, max_size=K)))
    p0 = w / w.sum()
    n = draw(st.integers(1, G))
    return M, p0, n, method, G


@given(case=discrete_case(), seed=st.integers(0, 2**31 - 1))
def test_simulator_matches_theory(case, seed):
    M, p0, n, method, G = case
    checks = discrete_checks(seed, p0=p0, M=M, n=n, chains=CHAINS, method=method, z_bound=Z,
                             generations=G)
    assert len(checks) >= 2
    assert not _failures(checks), _failures(checks)


def _shift_heterozygosity(theory, shift: int):
    wrong = perturbed(theory, "expected_heterozygosity", 1.0)
    wrong.expected_heterozygosity = lambda n, p0, M: theory.expected_heterozygosity(
        np.asarray(n) + shift, p0, M)
    return wrong


@pytest.mark.parametrize(
    "wrong, quantity",
    [
        (_shift_heterozygosity(th, 1), "E H_n"),
        (perturbed(th, "extinction_probability", 1.05), "P(lost by n) #1"),
        (perturbed(th, "expected_survivors", 1.05), "E S_n"),
        (perturbed(th, "count_distribution", 1.05), "Var c_n"),
    ],
    ids=["heterozygosity n+1", "extinction x1.05", "survivors x1.05", "count pmf x1.05"],
)
def test_checker_rejects_a_perturbed_formula(wrong, quantity):
    """The checks, fed a formula off by one generation or by 5 %, must fail (same z as above)."""
    M, K, method, G = CONFIGS[0]
    p0 = zipf_p0(K, 1.0)
    right = discrete_checks(11, p0=p0, M=M, n=20, chains=CHAINS, method=method, z_bound=Z,
                            generations=G, simulate=cached_simulate)
    assert not _failures(right), _failures(right)
    checks = discrete_checks(11, p0=p0, M=M, n=20, chains=CHAINS, method=method, z_bound=Z,
                             generations=G, theory=wrong, simulate=cached_simulate)
    failed = {c.quantity for c in checks if not c.passed}
    assert quantity in failed, f"{quantity} not rejected; failed: {failed}"


def test_absorption_times_match_theory_and_reject_wrong_ones():
    """Two symbols, run until every chain is absorbed (absorption_checks asserts it)."""
    z = bonferroni_z(2 * len(ABSORPTION_QUANTITIES), alpha=1e-3)  # two families of 4 checks
    checks = absorption_checks(5, p=0.3, M=10, chains=CHAINS, z_bound=z, method="samples",
                               simulate=cached_simulate)
    assert {c.quantity for c in checks} == set(ABSORPTION_QUANTITIES)
    assert not _failures(checks), _failures(checks)
    wrong = perturbed(th, "expected_absorption_time", 1.05)
    bad = absorption_checks(5, p=0.3, M=10, chains=CHAINS, z_bound=z, theory=wrong,
                            method="samples", simulate=cached_simulate)
    assert "E T_abs" in {c.quantity for c in bad if not c.passed}
    # the diffusion formula is off by O(1/M) at M = 10: the exact-chain checker notices
    diffusion = perturbed(th, "expected_absorption_time", 1.0)
    diffusion.expected_absorption_time = lambda p, M: th.expected_absorption_time(
        p, M, method="diffusion")
    bad = absorption_checks(5, p=0.3, M=10, chains=CHAINS, z_bound=z, theory=diffusion,
                            method="samples", simulate=cached_simulate)
    assert "E T_abs" in {c.quantity for c in bad if not c.passed}


def test_zipf_and_case_bounds():
    p = zipf_p0(5, 1.0)
    assert p.shape == (5,) and abs(p.sum() - 1) < 1e-15 and np.all(np.diff(p) < 0)
    np.testing.assert_allclose(zipf_p0(4, 0.0), 0.25)
    with pytest.raises(ValueError, match="K"):
        zipf_p0(0, 1.0)
    with pytest.raises(ValueError, match="exponent"):
        zipf_p0(3, -1.0)
    assert max_discrete_checks([], []) == 0
    with pytest.raises(ValueError, match="n must"):
        discrete_checks(0, p0=[0.5, 0.5], M=4, n=0)


# ------------------------------------------------------------------------------------------
# CLI (a throwaway parser: the lead wires add_simulate_parser into modelcollapse.cli)
# ------------------------------------------------------------------------------------------
def _parser():
    from modelcollapse.families.discrete import add_simulate_command

    parser = argparse.ArgumentParser(prog="modelcollapse")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate")
    fam = sim.add_subparsers(dest="family", required=True)
    add_simulate_command(fam)
    return parser


def test_cli_simulate_discrete(tmp_path, capsys):
    out = tmp_path / "run.npz"
    args = _parser().parse_args(["simulate", "discrete", "--M", "20", "--generations", "30",
                                 "--chains", "500", "--p0", "0.5,0.3,0.2", "--seed", "3",
                                 "--method", "samples", "--out", str(out)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "M=20" in text and "theory" in text and "P(abs)" in text
    lines = [ln.split() for ln in text.splitlines() if ln.strip()[:1].isdigit()]
    assert lines and lines[-1][0] == "30"
    # heterozygosity column matches the exact formula at the last row within 4 printed se
    sim, two_se, theory = (float(x) for x in lines[-1][1:4])
    assert theory == pytest.approx(float(th.expected_heterozygosity(30, [0.5, 0.3, 0.2], 20)),
                                   rel=1e-4)
    assert abs(sim - theory) <= 2.0 * two_se + 1e-4  # z = 4 (one check)
    with np.load(out) as data:
        assert "survivors" in data.files


def test_cli_rejects_bad_arguments():
    parser = _parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["simulate", "discrete", "--M", "0", "--generations", "5", "--K", "3"])
    args = parser.parse_args(["simulate", "discrete", "--M", "5", "--generations", "5"])
    with pytest.raises(ValueError, match="--K"):
        args.func(args)
    args = parser.parse_args(["simulate", "discrete", "--M", "5", "--generations", "5",
                              "--p0", "0.5,0.6"])
    with pytest.raises(ValueError, match="p0 must be a probability vector"):
        args.func(args)
    args = parser.parse_args(["simulate", "discrete", "--M", "5", "--generations", "5",
                              "--p0", "0.5,0.5", "--K", "2"])
    with pytest.raises(ValueError, match="not both"):
        args.func(args)


def test_cli_simulate_discrete_on_two_cpu_devices():
    # a fresh process (JAX's CPU devices are fixed once its backends start): --devices 2 asks
    # for two CPU devices and shards the chains over them
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-m", "modelcollapse", "simulate", "discrete", "--M", "30",
         "--generations", "6", "--chains", "64", "--K", "4", "--devices", "2"],
        env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "64 chains, 2 devices" in out.stdout and "theory" in out.stdout


# ------------------------------------------------------------------------------------------
# slow sweeps
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_verification_report_passes():
    checks = run_report(cases(), chains=CHAINS, seed=2024)
    assert len(checks) <= max_discrete_checks()
    assert not _failures(checks), _failures(checks)


@pytest.mark.slow
@given(
    M=st.sampled_from([2, 10, 100, 1000]),
    K=st.sampled_from([2, 5, 50]),
    s=st.floats(0.0, 2.0),
    frac=st.floats(0.01, 2.0),
    method=st.sampled_from(["sufficient", "samples"]),
    seed=st.integers(0, 2**31 - 1),
)
@settings(max_examples=20)
def test_simulator_matches_theory_sweep(M, K, s, frac, method, seed):
    # the simulator always runs SWEEP_G generations (one compilation per (M, K, method));
    # the sample path costs ~M per chain and generation, so it is limited to M <= 100
    if method == "samples" and M > 100:
        method = "sufficient"
    n = min(max(1, int(frac * M)), SWEEP_G)
    z = bonferroni_z(20 * len(DISCRETE_QUANTITIES), alpha=1e-3)
    checks = discrete_checks(seed, p0=zipf_p0(K, s), M=M, n=n, chains=CHAINS, method=method,
                             z_bound=z, generations=SWEEP_G)
    assert not _failures(checks), _failures(checks)


SWEEP_G = 100
