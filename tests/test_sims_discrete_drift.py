"""Drift observables of the categorical simulator (issue 9, point 3).

``simulate(..., drift=True)`` records per chain W1, TV, W2^2 (on the line), the mean and
variance of the fitted q, the missing mass and the Cramer distance. Checked here:

1. the values computed on device equal a plain NumPy float64 computation from the recorded
   counts (both paths, smoothing, temperature), W2^2 also against a quantile-grid brute force;
2. theory vs simulation (replace workflow, beta = 0, T = 1): closed forms written here
   (mean drift, variance decay, Cramer, missing mass through
   ``theory.discrete.extinction_probability``, the absorbed limits of TV, W1, W2^2) and, where
   present, ``theory.discrete_drift``; every check is |chain mean - theory| <= z se (z stated)
   and a perturbed formula is shown to be rejected by the same check;
3. the two paths agree in law (two-sample z on the means);
4. results are bit-identical across chunk sizes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from modelcollapse.sims.discrete import DRIFT, DiscreteRun, drift_params, simulate
from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as td

#: Device (float32) against float64 from the counts: measured at most 7e-7 relative (K up to
#: 1e5, M up to 2^24); bound with margin.
RTOL = 3e-6


# ----------------------------------------------------------------------------- references
def reference(counts: np.ndarray, p0: np.ndarray, x: np.ndarray, beta: float = 0.0
              ) -> dict[str, np.ndarray]:
    """The drift observables in float64 from counts (chains, K), written from the definitions."""
    c = counts.astype(np.float64)
    K = p0.size
    q = (c + beta) / (c.sum(-1, keepdims=True) + K * beta)
    F0 = np.cumsum(p0)[:-1]
    dF = np.cumsum(q, -1)[:, :-1] - F0
    dx = np.diff(x)
    m0 = p0 @ x
    mean = q @ x
    return {
        "w1": (dx * np.abs(dF)).sum(-1),
        "tv": 0.5 * np.abs(q - p0).sum(-1),
        "w2_squared": np.array([_w2_merge(row, p0, x) for row in q]),
        "mean": mean,
        "variance": q @ (x - m0) ** 2 - (mean - m0) ** 2,
        "missing_mass": ((counts == 0) * p0).sum(-1),
        "cramer_squared": (dx * dF**2).sum(-1),
    }


def _quantile(p: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Q(u) = x_i for u in (F(i-1), F(i)]."""
    F = np.cumsum(p)
    F[-1] = 1.0
    return x[np.minimum(np.searchsorted(F, u, side="left"), p.size - 1)]


def _w2_merge(q: np.ndarray, p: np.ndarray, x: np.ndarray) -> float:
    """W2^2 from the union of both CDFs' breakpoints (both quantiles constant in between)."""
    br = np.unique(np.clip(np.concatenate([[0.0, 1.0], np.cumsum(q), np.cumsum(p)]), 0, 1))
    mid = 0.5 * (br[1:] + br[:-1])
    return float(np.sum(np.diff(br) * (_quantile(q, x, mid) - _quantile(p, x, mid)) ** 2))


def _w2_grid(q: np.ndarray, p: np.ndarray, x: np.ndarray, N: int) -> float:
    """W2^2 by the midpoint rule on N quantile levels (brute force)."""
    u = (np.arange(N) + 0.5) / N
    return float(np.mean((_quantile(q, x, u) - _quantile(p, x, u)) ** 2))


def within(sample: np.ndarray, expected: float, z: float, bias: float = 0.0) -> bool:
    """|mean(sample) - expected| <= z se + bias (se of the chain mean)."""
    se = float(np.std(sample, ddof=1)) / np.sqrt(sample.size)
    return abs(float(np.mean(sample)) - expected) <= z * se + bias


# ----------------------------------------------------------------------------- 1. values
CASES = [  # K, M, beta, temperature, method, generations
    (3, 7, 0.0, 1.0, "samples", 6),
    (5, 20, 0.5, 1.0, "sufficient", 6),
    (6, 13, 0.0, 0.6, "samples", 6),
    (4, 9, 2.0, 1.7, "sufficient", 6),
]
_RUNS: dict[tuple, tuple[DiscreteRun, np.ndarray, np.ndarray]] = {}


def case_run(case: tuple) -> tuple[DiscreteRun, np.ndarray, np.ndarray]:
    """The run of a case (cached: compiling is most of a small run's time)."""
    if case not in _RUNS:
        K, M, beta, T, method, gens = case
        rng = np.random.default_rng(K * 100 + M)
        p0 = rng.dirichlet(np.ones(K))
        x = np.sort(rng.normal(size=K)) * 3.0 + 10.0
        run = simulate(jax.random.key(K), p0=p0, M=M, generations=gens, chains=300,
                       method=method, beta=beta, temperature=T, support=x, drift=True,
                       record_counts=True, record=[1, gens // 2, gens])
        _RUNS[case] = run, p0, x
    return _RUNS[case]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"K{c[0]}-M{c[1]}-{c[4]}")
def test_device_values_equal_float64_from_counts(case):
    beta = case[2]
    run, p0, x = case_run(case)
    assert run.support is not None and np.array_equal(run.support, x)
    for r in range(1, run.generations.size):
        ref = reference(run.counts[r], p0, x, beta)
        for name in DRIFT:
            got = getattr(run, name)[r]
            assert got.dtype == np.float64 and got.shape == (300,)
            np.testing.assert_allclose(got, ref[name], rtol=RTOL, atol=1e-12, err_msg=name)
    # generation 0 is p0: exact zeros, its mean and variance in float64
    m0 = float(p0 @ x)
    for name in ("w1", "tv", "w2_squared", "missing_mass", "cramer_squared"):
        assert np.all(getattr(run, name)[0] == 0.0)
    assert np.all(run.mean[0] == m0)
    assert np.all(run.variance[0] == float(p0 @ (x - m0) ** 2))


def test_w2_against_quantile_grid_brute_force():
    """The merge of breakpoints against the midpoint rule on N levels, whose error is at most
    (number of breakpoints) x diameter^2 / N (each breakpoint spoils one cell)."""
    K, M, beta = 5, 20, 0.5
    run, p0, x = case_run(CASES[1])
    N = 2**18
    bound = 2 * (K - 1) * (x[-1] - x[0]) ** 2 / N
    for r in (1, 3):
        for c in range(40):
            q = (run.counts[r, c] + beta) / (M + K * beta)
            assert abs(run.w2_squared[r, c] - _w2_grid(q, p0, x, N)) <= bound


@pytest.mark.slow
def test_extreme_sizes_stay_accurate():
    """M = 2^24 (float32 holds counts exactly, not T F0): every observable within RTOL of the
    float64 value; this is where plain float32 CDF differences lose ~1e-4."""
    rng = np.random.default_rng(11)
    K = 64
    p0 = rng.dirichlet(np.full(K, 0.5))
    x = np.cumsum(rng.exponential(size=K))
    run = simulate(jax.random.key(5), p0=p0, M=2**24, generations=2, chains=8, support=x,
                   drift=True, record_counts=True, record=[1, 2], track_extinction=False)
    for r in (1, 2):
        ref = reference(run.counts[r], p0, x)
        for name in DRIFT:
            np.testing.assert_allclose(getattr(run, name)[r], ref[name], rtol=RTOL,
                                       atol=1e-300, err_msg=name)


def test_degenerate_and_workflow_seam():
    # K = 1: nothing moves
    run = simulate(jax.random.key(0), p0=[1.0], M=5, generations=3, chains=4, drift=True,
                   support=[2.5])
    for name in ("w1", "tv", "w2_squared", "missing_mass", "cramer_squared", "variance"):
        assert np.all(getattr(run, name) == 0.0), name
    assert np.all(run.mean == 2.5)
    # huge smoothing: finite, q uniform
    run = simulate(jax.random.key(3), p0=[0.1, 0.9], M=10, generations=2, chains=4,
                   drift=True, beta=1e39)
    assert np.allclose(run.tv[1:], 0.4, rtol=1e-6) and np.allclose(run.mean[1:], 0.5)


def test_arguments_are_validated():
    kw = dict(p0=[0.5, 0.5], M=5, generations=2, chains=4)
    key = jax.random.key(0)
    for bad in ([0.0, 0.0], [1.0, 0.0], [0.0, np.inf], [0.0, 1.0, 2.0], "ab", [[0.0, 1.0]]):
        with pytest.raises(ValueError, match="support must be"):
            simulate(key, support=bad, drift=True, **kw)
    for bad in ("w1", ["w3"], 3, None, [True]):
        with pytest.raises(ValueError, match="drift must be"):
            simulate(key, drift=bad, **kw)
    with pytest.raises(ValueError, match="support must"):
        drift_params([0.5, 0.5], [-1e38, 3e38])  # gaps beyond float32


def test_save_and_load_keep_the_drift(tmp_path):
    run, _, x = case_run(CASES[0])
    run.save(tmp_path / "r.npz")
    back = DiscreteRun.load(tmp_path / "r.npz")
    for name in DRIFT:
        assert np.array_equal(getattr(back, name), getattr(run, name))
    assert np.array_equal(back.support, x)
    run.w1 = None  # a field not recorded is not saved, and reads back as None
    run.save(tmp_path / "s.npz")
    assert DiscreteRun.load(tmp_path / "s.npz").w1 is None


# ----------------------------------------------------------------------------- 2. theory
P0 = np.array([0.4, 0.1, 0.3, 0.2])
X = np.array([-1.0, 0.5, 2.0, 6.0])
M_T = 10
GENS = (1, 3, 10)
N_LONG = 300
CHAINS = 4000
#: z of every theory-vs-simulation check below: about 20 checks, two-sided 5 se has
#: probability < 1e-5 in all (Bonferroni), with fixed keys.
Z = 5.0


@pytest.fixture(scope="module")
def wf_run() -> DiscreteRun:
    return simulate(jax.random.key(2024), p0=P0, M=M_T, generations=N_LONG, chains=CHAINS,
                    support=X, drift=True, record=[*GENS, N_LONG])


def _row(run: DiscreteRun, n: int) -> int:
    return int(np.flatnonzero(run.generations == n)[0])


def _closed_forms(n: int, M: int, p0: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Exact means under Wright-Fisher (written here from THEORY.md section 3)."""
    m0 = p0 @ x
    V = p0 @ (x - m0) ** 2
    keep = (1.0 - 1.0 / M) ** n
    F0 = np.cumsum(p0)[:-1]
    lost = td.extinction_probability(n, p0, M)
    return {
        "mean_drift": V * (1.0 - keep),
        "variance": V * keep,
        "cramer_squared": float(np.sum(np.diff(x) * F0 * (1 - F0)) * (1.0 - keep)),
        "missing_mass": float(np.sum(p0 * lost)),
    }


def _samples(run: DiscreteRun, r: int) -> dict[str, np.ndarray]:
    m0 = float(P0 @ X)
    return {"mean_drift": (run.mean[r] - m0) ** 2, "variance": run.variance[r],
            "cramer_squared": run.cramer_squared[r], "missing_mass": run.missing_mass[r]}


@pytest.mark.parametrize("n", GENS)
def test_closed_forms_at_finite_n(wf_run, n):
    r = _row(wf_run, n)
    sims = _samples(wf_run, r)
    for name, value in _closed_forms(n, M_T, P0, X).items():
        assert within(sims[name], value, Z), (name, n, float(np.mean(sims[name])), value)


def test_perturbed_closed_forms_are_rejected(wf_run):
    """The same check rejects the off-by-one generation convention (n - 1 refits: the first
    fit not counted), for every closed form, at n = 3."""
    n = 3
    sims = _samples(wf_run, _row(wf_run, n))
    wrong = _closed_forms(n - 1, M_T, P0, X)
    for name, value in wrong.items():
        assert not within(sims[name], value, Z), name


def _unabsorbed_bound(n: int, M: int, p0: np.ndarray) -> float:
    """P(two or more symbols alive at n) <= E H_n / min H over non-absorbed states, with
    E H_n = (1 - 1/M)^n (1 - sum p0^2) and min H = 2 (M - 1) / M^2."""
    return (1 - 1 / M) ** n * (1 - float(p0 @ p0)) / (2 * (M - 1) / M**2)


def test_absorbed_chains(wf_run):
    """Absorbed chains: variance exactly 0 (centred at q's own mean), the mean at a support
    point (p0's mean plus a float32 shift: within 2^-23 of the range)."""
    r = _row(wf_run, N_LONG)
    gone = wf_run.absorption_generation >= 0
    assert gone.all()
    assert np.all(wf_run.variance[r] == 0.0)
    m = wf_run.mean[r]
    near = np.min(np.abs(m[:, None] - X[None, :]), axis=1)
    assert np.all(near <= 2.0**-23 * (X[-1] - X[0]))


def test_absorbed_limits(wf_run):
    """At n = 300 the chain is absorbed but for a bias bounded by P(not absorbed) x (range of
    the observable): E TV -> 1 - sum p0^2, E W1 -> sum_ij p_i p_j |x_i - x_j|,
    E W2^2 -> 2 Var_p0(X)."""
    r = _row(wf_run, N_LONG)
    pna = _unabsorbed_bound(N_LONG, M_T, P0)
    assert pna < 1e-10
    diam = X[-1] - X[0]
    m0 = P0 @ X
    limits = {"tv": (1 - P0 @ P0, 1.0),
              "w1": (float(P0 @ np.abs(X[:, None] - X[None, :]) @ P0), diam),
              "w2_squared": (2 * float(P0 @ (X - m0) ** 2), diam**2)}
    for name, (value, scale) in limits.items():
        sample = getattr(wf_run, name)[r]
        assert within(sample, value, Z, pna * scale), name
        assert not within(sample, 1.1 * value, Z, pna * scale), name  # a 10% error is seen


def _drift_theory():
    mod = pytest.importorskip("modelcollapse.theory.discrete_drift")
    need = ("expected_w1", "expected_total_variation", "expected_w2_squared")
    if not all(hasattr(mod, k) for k in need):
        pytest.skip("theory.discrete_drift lacks " + ", ".join(need))
    return mod


def _exact(dd, n: int) -> dict[str, float]:
    out = {"w1": float(dd.expected_w1(n, P0, M_T, X)),
           "tv": float(dd.expected_total_variation(n, P0, M_T))}
    try:
        out["w2_squared"] = float(dd.expected_w2_squared(n, P0, M_T, X))
    except ValueError:  # refused (beyond its exact methods)
        pass
    return out


@pytest.mark.parametrize("n", GENS)
def test_w1_tv_w2_against_exact_theory(wf_run, n):
    """theory.discrete_drift (exact at finite n) against the chain means, z = 5; at n = 3 the
    theory one generation late (n = 2) is rejected by the same check."""
    dd = _drift_theory()
    r = _row(wf_run, n)
    late = _exact(dd, n - 1) if n == 3 else {}
    for name, value in _exact(dd, n).items():
        sample = getattr(wf_run, name)[r]
        assert within(sample, value, Z), (name, n, float(np.mean(sample)), value)
        if name in late:
            assert not within(sample, late[name], Z), name


# ----------------------------------------------------------------------------- 3. paths
def test_both_paths_agree_in_law():
    """Two-sample z on the chain means of every observable, |diff| <= 4.5 sqrt(se_a^2 +
    se_b^2) (7 observables x 2 generations: Bonferroni level ~1e-4)."""
    kw = dict(p0=[0.3, 0.05, 0.25, 0.4], M=12, generations=8, chains=3000,
              support=[0.0, 1.0, 1.5, 4.0], drift=True, record=[2, 8])
    a = simulate(jax.random.key(7), method="sufficient", **kw)
    b = simulate(jax.random.key(8), method="samples", **kw)
    for r in (1, 2):
        for name in DRIFT:
            u, v = getattr(a, name)[r], getattr(b, name)[r]
            se = np.hypot(np.std(u, ddof=1), np.std(v, ddof=1)) / np.sqrt(u.size)
            assert abs(u.mean() - v.mean()) <= 4.5 * se, (name, r)


# ----------------------------------------------------------------------------- 4. bits
def test_bit_identical_across_chunk_sizes_and_through_the_workflow_value():
    """The observables of a chain do not depend on the batch (pairwise sums, integer
    cumulative counts); the sampling bias given as a workflow value is the temperature."""
    kw = dict(p0=[0.3, 0.05, 0.25, 0.4], M=12, generations=6, chains=300,
              support=[0.0, 1.0, 1.5, 4.0], drift=True, beta=0.3, record=[1, 4, 6])
    a = simulate(jax.random.key(9), temperature=0.8, **kw)
    b = simulate(jax.random.key(9), chunk_size=128,
                 workflow=W.replace(bias=W.SamplingBias(temperature=0.8)), **kw)
    for name in DRIFT:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


DEVICE_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from modelcollapse.sims.discrete import DRIFT, simulate
    assert len(jax.devices()) == 2, jax.devices()
    kw = dict(p0=[0.3, 0.05, 0.25, 0.4], M=12, generations=4, chains=200,
              support=[0.0, 1.0, 1.5, 4.0], drift=True, beta=0.3, record=[2, 4])
    one = simulate(jax.random.key(9), **kw)
    two = simulate(jax.random.key(9), devices=2, **kw)
    plain = simulate(jax.random.key(9), **{k: v for k, v in kw.items() if k != "drift"})
    for name in DRIFT + ("heterozygosity", "entropy"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert np.array_equal(one.heterozygosity, plain.heterozygosity)
    print("DEVICES-OK")
    """
)


@pytest.mark.slow
def test_two_devices_match_one_device():
    """Sharded over two devices: the same bits (every product feeding a sum is computed once,
    so no FMA contraction depends on the program); asking for the drift leaves the
    heterozygosity's bits unchanged."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        " --xla_force_host_platform_device_count=2").strip()
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", DEVICE_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "DEVICES-OK" in out.stdout


# ----------------------------------------------------------------------------- slow sweep
@pytest.mark.slow
@pytest.mark.parametrize("M,K", [(5, 3), (30, 6), (200, 12)])
def test_closed_forms_sweep(M, K):
    rng = np.random.default_rng(M + K)
    p0 = rng.dirichlet(np.ones(K))
    x = np.cumsum(rng.exponential(size=K))
    gens = (1, 4, M, 4 * M)
    run = simulate(jax.random.key(M * K), p0=p0, M=M, generations=gens[-1], chains=20000,
                   support=x, drift=True, record=gens)
    m0 = p0 @ x
    for n in gens:
        r = _row(run, n)
        sims = {"mean_drift": (run.mean[r] - m0) ** 2, "variance": run.variance[r],
                "cramer_squared": run.cramer_squared[r],
                "missing_mass": run.missing_mass[r]}
        for name, value in _closed_forms(n, M, p0, x).items():
            assert within(sims[name], value, Z), (name, n, M, K)
