"""Tests of the 1-D Gaussian refit simulator (modelcollapse.sims.gaussian).

Simulator laws: the sample-level path (draws and fits M points) and the sufficient-statistic
path (normal + log-gamma) must agree in distribution. Two-sample KS tests on log_variance and
mean at the recorded generations; each test function uses a family-wise alpha of 1e-3 split by
Bonferroni over its KS tests (stated per test). Seeds fixed. No closed-form theory beyond
one-step facts. float64 runs use the ``jax.enable_x64(True)`` context manager.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from modelcollapse.sims import gaussian
from modelcollapse.sims.gaussian import GaussianRun, simulate
from modelcollapse.sims.rng.threefry import chain_words

ALPHA = 1e-3
KEY = jax.random.key(1234)


def ks_agree(a: GaussianRun, b: GaussianRun, alpha: float, shift=None) -> list[str]:
    """Checker: two-sample KS on log_variance and mean at every recorded generation > 0.

    ``shift[g]`` (optional) is added to b's log_variance at generation g (used to feed the
    checker a perturbed formula). Bonferroni over 2 x (recorded generations > 0).
    """
    rows = [i for i, g in enumerate(a.generations) if g > 0]
    per = alpha / (2 * len(rows))
    fails = []
    for i in rows:
        g = int(a.generations[i])
        lv_b = b.log_variance[i] + (0.0 if shift is None else shift[g])
        p1 = stats.ks_2samp(a.log_variance[i], lv_b).pvalue
        p2 = stats.ks_2samp(a.mean[i], b.mean[i]).pvalue
        if p1 < per:
            fails.append(f"log_variance g={g} p={p1:.2e}")
        if p2 < per:
            fails.append(f"mean g={g} p={p2:.2e}")
    return fails


CASES = [(2, 12, 0), (100, 5, 1)]  # (M, generations, ddof); more in the slow sweep


@pytest.fixture(scope="module")
def runs():
    out = {}
    for M, n, ddof in CASES:
        rec = sorted({1, n // 2, n})
        for method in ("samples", "sufficient"):
            key = jax.random.fold_in(KEY, 0 if method == "samples" else 1)  # independent runs
            out[(M, n, ddof, method)] = simulate(key, M=M, generations=n, chains=20_000,
                                                 ddof=ddof, method=method, record=rec)
    return out


def test_samples_vs_sufficient_in_law(runs):
    # alpha 1e-3 over the 3 cases (Bonferroni inside ks_agree over generations x {lv, mean})
    for M, n, ddof in CASES:
        a, b = runs[(M, n, ddof, "samples")], runs[(M, n, ddof, "sufficient")]
        assert ks_agree(a, b, ALPHA / len(CASES)) == [], (M, n, ddof)


def test_checker_rejects_perturbed_formula(runs):
    # The sufficient path with (M - ddof) replaced by (M - ddof + 1) -- an off-by-one in the
    # variance estimator -- shifts log_variance at generation g by g log((M-ddof)/(M-ddof+1));
    # the same checker must reject it (M = 100 is the hardest case: shift 0.05 at g = 5).
    M, n, ddof = 100, 5, 1
    a, b = runs[(M, n, ddof, "samples")], runs[(M, n, ddof, "sufficient")]
    shift = {g: g * np.log((M - ddof) / (M - ddof + 1)) for g in range(n + 1)}
    assert ks_agree(a, b, ALPHA / len(CASES), shift=shift) != []


def test_one_step_law(runs):
    # Generation 1, sample path: (M - ddof) s^2 / sigma0^2 ~ chi2_{M-1}, sqrt(M) mu1 ~ N(0, 1).
    # alpha 1e-3 over 3 cases x 2 KS tests.
    for M, n, ddof in CASES:
        r = runs[(M, n, ddof, "samples")]
        i = r.at(1)
        c = (M - ddof) * np.exp(r.log_variance[i].astype(np.float64))
        assert stats.kstest(c, stats.chi2(M - 1).cdf).pvalue > ALPHA / 6
        assert stats.kstest(np.sqrt(M) * r.mean[i], "norm").pvalue > ALPHA / 6


def test_result_object_and_record(runs, tmp_path):
    r = runs[(2, 12, 0, "sufficient")]
    assert r.generations.tolist() == [0, 1, 6, 12]
    assert r.mean.shape == r.log_variance.shape == (4, 20_000)
    assert np.all(r.mean[0] == 0.0) and np.all(r.log_variance[0] == 0.0)
    assert np.allclose(r.std**2, r.variance) and r.M == 2 and r.ddof == 0
    assert r.method == "sufficient" and r.workflow == "replace" and r.chains == 20_000
    path = tmp_path / "run.npz"
    r.save(path)
    s = gaussian.load(path)
    assert np.array_equal(s.log_variance, r.log_variance) and np.array_equal(s.mean, r.mean)
    assert (s.M, s.ddof, s.method, s.n_generations, s.dtype) == (2, 0, "sufficient", 12,
                                                                  "float32")
    d = gaussian.log_record(1000)
    assert d[0] == 0 and d[-1] == 1000 and np.all(np.diff(d) > 0) and len(d) <= 52


@pytest.mark.parametrize(("method", "M"), [("samples", 100), ("sufficient", 7)])
def test_chunk_and_progress_invariance(method, M, capsys):
    # chains = 20_000 as in the `runs` fixture, so the default-chunk run reuses its compilation.
    kw = dict(M=M, generations=8, chains=20_000, ddof=1, method=method, record=[3, 8])
    a = simulate(KEY, **kw)
    b = simulate(KEY, chunk_size=7000, progress=True, **kw)  # 3 chain chunks x 8 gen chunks
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.log_variance, b.log_variance)
    assert "100.0%" in capsys.readouterr().err


def test_schedule():
    # A constant schedule reproduces the constant-M run (sample path: masked sums over the same
    # draws). A different compiled program, so equal up to float32 rounding, not bit for bit.
    a = simulate(KEY, M=6, generations=4, chains=500, method="samples")
    b = simulate(KEY, M=[6] * 4, generations=4, chains=500, method="samples")
    np.testing.assert_allclose(a.log_variance, b.log_variance, rtol=0, atol=1e-5)
    np.testing.assert_allclose(a.mean, b.mean, rtol=0, atol=1e-5)
    assert b.M == (6, 6, 6, 6)
    # A varying schedule: both paths agree in law (alpha 1e-3, Bonferroni in ks_agree), and
    # generation 1 follows chi2_{M_1 - 1} / (M_1 - ddof) (alpha 1e-3, one KS test).
    sched = [3, 40, 5, 20]
    a = simulate(jax.random.fold_in(KEY, 7), M=sched, generations=4, chains=20_000,
                 method="samples", record=[1, 2, 3, 4])
    b = simulate(jax.random.fold_in(KEY, 8), M=sched, generations=4, chains=20_000,
                 method="sufficient", record=[1, 2, 3, 4])
    assert ks_agree(a, b, ALPHA) == []
    c = (3 - 1) * np.exp(a.log_variance[a.at(1)].astype(np.float64))
    assert stats.kstest(c, stats.chi2(2).cdf).pvalue > ALPHA


def uniform_d0(key, m):
    """D0 = Uniform(-sqrt(3), sqrt(3)): mean 0, variance 1, excess kurtosis -1.2."""
    return jax.random.uniform(key, (m,), minval=-np.sqrt(3.0), maxval=np.sqrt(3.0))


def test_non_gaussian_initial_data():
    M, chains = 5, 20_000
    r = simulate(KEY, M=M, generations=3, chains=chains, ddof=1, initial_sampler=uniform_d0,
                 method="sufficient", record=[1, 3])
    s2 = np.exp(r.log_variance[r.at(1)].astype(np.float64))
    # ddof=1: E s^2 = Var(D0) = 1. z-test with the empirical standard error, z = 3.29
    # (two-sided alpha 1e-3).
    z = (s2.mean() - 1.0) / (s2.std(ddof=1) / np.sqrt(chains))
    assert abs(z) < 3.29, z
    # The law differs from the Gaussian one ((M-1) s^2 ~ chi2_4 for Gaussian D0): KS must
    # reject (Var s^2 = 2/(M-1) + kappa/M = 0.26 here against 0.5 for Gaussian data).
    assert stats.kstest((M - 1) * s2, stats.chi2(M - 1).cdf).pvalue < ALPHA
    assert r.initial == "uniform_d0" and r.mean[0, 0] == 0.0
    assert np.all(np.isfinite(r.log_variance)) and np.all(np.isfinite(r.mean))


@pytest.mark.parametrize("generations", [
    20_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_long_run_stays_finite(generations):
    # M = 2, ddof = 0: log sigma_n^2 drifts by about -1.27 per generation, so sigma^2 underflows
    # any float after ~600 generations; the log-variance must stay finite.
    r = simulate(KEY, M=2, generations=generations, chains=64, ddof=0, method="sufficient")
    assert np.all(np.isfinite(r.log_variance)) and np.all(np.isfinite(r.mean))
    assert np.all(r.log_variance[-1] < -generations / 10)


def test_float64():
    with jax.enable_x64(True):
        r = simulate(KEY, M=4, generations=3, chains=200, method="samples", dtype=jnp.float64)
    assert r.log_variance.dtype == np.float64 and r.dtype == "float64"
    assert np.all(np.isfinite(r.log_variance))


@pytest.mark.slow
def test_float64_sufficient():
    with jax.enable_x64(True):
        s = simulate(KEY, M=4, generations=3, chains=200, method="sufficient",
                     dtype=jnp.float64)
    assert s.log_variance.dtype == np.float64 and np.all(np.isfinite(s.log_variance))


def test_chain_keys_are_fold_in():
    idx = jnp.arange(4, dtype=jnp.uint32)
    w = np.asarray(chain_words(KEY, idx))
    ref = np.stack([np.asarray(jax.random.key_data(
        jax.random.fold_in(jax.random.fold_in(KEY, i), 0))) for i in range(4)])
    assert np.array_equal(w, ref)


_DEVICE_SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    from modelcollapse.sims.gaussian import simulate
    assert len(jax.devices()) == 4, jax.devices()
    key = jax.random.key(99)
    for method in {methods!r}:
        kw = dict(M=5, generations=6, chains=1001, method=method, record=[2, 6])
        one = simulate(key, **kw)
        four = simulate(key, devices=4, **kw)
        for r in (four,):
            assert np.array_equal(one.mean, r.mean), method
            assert np.array_equal(one.log_variance, r.log_variance), method
    print("OK")
""")


def _run_devices(methods):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", _DEVICE_SCRIPT.format(methods=methods)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]


def test_four_devices_match_one():
    _run_devices(("samples",))


@pytest.mark.slow
def test_four_devices_match_one_sufficient():
    _run_devices(("sufficient",))


@pytest.mark.slow
def test_samples_vs_sufficient_in_law_sweep():
    # Larger sweep: alpha 1e-3 over 6 cases.
    cases = [(2, 200, 1), (3, 50, 0), (10, 20, 1), (20, 100, 1), (50, 30, 0), (500, 10, 1),
             (1000, 3, 0)]
    for j, (M, n, ddof) in enumerate(cases):
        rec = sorted({1, n // 3, n})
        a = simulate(jax.random.fold_in(KEY, 100 + j), M=M, generations=n, chains=20_000,
                     ddof=ddof, method="samples", record=rec)
        b = simulate(jax.random.fold_in(KEY, 200 + j), M=M, generations=n, chains=20_000,
                     ddof=ddof, method="sufficient", record=rec)
        assert ks_agree(a, b, ALPHA / len(cases)) == [], (M, n, ddof)


BAD = [
    (dict(M=1), "M"),
    (dict(M=2.5), "M"),
    (dict(M=3, ddof=3), "M"),
    (dict(M=[5, 5]), "schedule"),
    (dict(M=[5, 1, 5]), r"M\[1\]"),
    (dict(generations=-1), "generations"),
    (dict(chains=0), "chains"),
    (dict(ddof=-1), "ddof"),
    (dict(record=[0, 4]), "record"),
    (dict(record=[-1]), "record"),
    (dict(method="exact"), "method"),
    (dict(workflow="shuffle"), "workflow"),
    (dict(sigma2=0.0), "sigma2"),
    (dict(sigma2=float("inf")), "sigma2"),
    (dict(mu0=float("nan")), "mu0"),
    (dict(chunk_size=0), "chunk_size"),
    (dict(devices=0), "devices"),
    (dict(dtype=jnp.float16), "dtype"),
    (dict(initial_sampler=3), "initial_sampler"),
]


@pytest.mark.parametrize(("kw", "match"), BAD)
def test_validation(kw, match):
    args = dict(M=5, generations=3, chains=2)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        simulate(KEY, **args)
