"""The linear-regression refit simulator (modelcollapse.sims.regression).

Expected values are written here from the formulas (THEORY.md section 5), not taken from the code:
replace (either design, OLS) ``E ||beta_n - beta_0||^2 = n noise2 d / (T - d - 1)``; accumulate
with the fixed design ``noise2 d / (T - d - 1) sum_{g <= n} 1/g^2``. Workflows without a closed
form here (mix, fresh-design accumulate, weighted, ridge) are compared with an independent
plain-NumPy Monte Carlo that draws the rows and the noise and fits with ``numpy.linalg.lstsq``
(two-sample z-test). Every statistical check uses a fixed seed and the tolerance ``Z`` standard
errors, and has a companion that feeds the same check a wrong formula or a wrong reference and
asserts that it is rejected.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jax
import numpy as np
import pytest

from modelcollapse.sims.regression import simulate
from modelcollapse.spec import workflows as W

ROOT = Path(__file__).resolve().parents[1]
#: Tolerance of every statistical check, in standard errors.
Z = 4.5


# ----------------------------------------------------------------------------- checkers
def one_sample_ok(sample: np.ndarray, expected: float, z: float = Z) -> bool:
    """Whether the sample mean is within ``z`` standard errors of ``expected``."""
    sample = np.asarray(sample, np.float64)
    se = sample.std(ddof=1) / np.sqrt(sample.size)
    return bool(abs(sample.mean() - expected) <= z * se)


def two_sample_ok(a: np.ndarray, b: np.ndarray, z: float = Z) -> bool:
    """Whether two independent samples have means within ``z`` standard errors of the
    difference (Welch)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return bool(abs(a.mean() - b.mean()) <= z * se)


def replace_mean(n: int, T: int, d: int, noise2: float) -> float:
    """E test error of replace (either design), OLS."""
    return n * noise2 * d / (T - d - 1)


def accumulate_fixed_mean(n: int, T: int, d: int, noise2: float) -> float:
    """E test error of accumulate with the fixed design, OLS."""
    return noise2 * d / (T - d - 1) * sum(1.0 / g**2 for g in range(1, n + 1))


# ----------------------------------------------------------------------------- NumPy reference
def numpy_reference(seed: int, *, T: int, d: int, n: int, chains: int, noise2: float = 1.0,
                    design: str = "fixed", workflow: str = "replace", real: int = 0,
                    weight: float = 1.0, ridge: float = 0.0,
                    beta0: np.ndarray | None = None) -> np.ndarray:
    """Test errors ``||beta_n - beta_0||^2`` of ``chains`` chains, simulated row by row in plain
    NumPy (``beta_0`` default zeros): the design and the noise are drawn, and every fit is
    ``numpy.linalg.lstsq`` (OLS) or the ridge normal equations.

    Workflows: replace; accumulate (all rows of all generations); mix (``real`` rows with labels
    from ``beta_0``: the first ``real`` rows of the fixed design, or fresh rows, plus ``T - real``
    rows labelled by the previous fit); weighted (``weight`` times the fit of ``real`` real rows
    plus ``1 - weight`` times the fit of ``T`` synthetic rows).
    """
    rng = np.random.default_rng(seed)
    sd = np.sqrt(noise2)
    beta0 = np.zeros(d) if beta0 is None else np.asarray(beta0, np.float64)

    def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if ridge == 0.0:
            return np.linalg.lstsq(x, y, rcond=None)[0]
        return np.linalg.solve(x.T @ x + ridge * np.eye(d), x.T @ y)

    out = np.empty(chains)
    for c in range(chains):
        x_fixed = rng.standard_normal((T, d))
        beta = beta0
        xs, ys = [], []
        for g in range(1, n + 1):
            src = beta0 if g == 1 else beta
            if workflow in ("replace", "accumulate"):
                x = x_fixed if design == "fixed" else rng.standard_normal((T, d))
                y = x @ src + sd * rng.standard_normal(T)
                if workflow == "replace":
                    beta = fit(x, y)
                else:
                    xs.append(x)
                    ys.append(y)
                    beta = fit(np.vstack(xs), np.concatenate(ys))
            elif workflow == "mix":
                if design == "fixed":
                    xr, xs_ = x_fixed[:real], x_fixed[real:]
                else:
                    xr, xs_ = rng.standard_normal((real, d)), rng.standard_normal((T - real, d))
                yr = xr @ beta0 + sd * rng.standard_normal(real)
                ys_ = xs_ @ src + sd * rng.standard_normal(T - real)
                beta = fit(np.vstack([xr, xs_]), np.concatenate([yr, ys_]))
            elif workflow == "weighted":
                if design == "fixed":
                    xr, xs_ = x_fixed[:real], x_fixed
                else:
                    xr, xs_ = rng.standard_normal((real, d)), rng.standard_normal((T, d))
                yr = xr @ beta0 + sd * rng.standard_normal(real)
                ys_ = xs_ @ src + sd * rng.standard_normal(T)
                beta = weight * fit(xr, yr) + (1.0 - weight) * fit(xs_, ys_)
            else:
                raise ValueError(workflow)
        out[c] = np.sum((beta - beta0) ** 2)
    return out


def _errors(seed: int, n: int, **kw) -> np.ndarray:
    run = simulate(jax.random.key(seed), generations=n, record=[n], **kw)
    return run.test_error[-1].astype(np.float64)


# ----------------------------------------------------------------------------- checkers can fail
def test_checkers_reject_a_shifted_mean():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(4000)
    assert one_sample_ok(a, 0.0) and not one_sample_ok(a, 0.2)
    assert two_sample_ok(a, rng.standard_normal(4000))
    assert not two_sample_ok(a, rng.standard_normal(4000) + 0.2)


# ----------------------------------------------------------------------------- import rule
def test_sims_regression_does_not_import_theory():
    tree = ast.parse((ROOT / "sims" / "regression.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    assert not {m for m in names if "theory" in m}, names
    assert not {m for m in names if m.startswith(".")}, names


# ----------------------------------------------------------------------------- closed forms
# T = 12, d = 4: d/(T - d - 1) = 4/7 per generation; the wrong d/(T - d) = 1/2 is 12.5 % off.
T0, D0, N0, C0 = 12, 4, 3, 4000


@pytest.fixture(scope="module")
def replace_fixed() -> np.ndarray:
    return _errors(1, N0, T=T0, d=D0, chains=C0, noise2=0.5, design="fixed")


@pytest.fixture(scope="module")
def replace_fresh() -> np.ndarray:
    return _errors(2, N0, T=T0, d=D0, chains=C0, noise2=0.5, design="fresh")


@pytest.mark.parametrize("fixture", ["replace_fixed", "replace_fresh"])
def test_replace_mean_matches_n_noise2_d_over_T_minus_d_minus_1(fixture, request):
    err = request.getfixturevalue(fixture)
    assert one_sample_ok(err, replace_mean(N0, T0, D0, 0.5))


@pytest.mark.parametrize("fixture", ["replace_fixed", "replace_fresh"])
def test_replace_check_rejects_d_over_T_minus_d(fixture, request):
    err = request.getfixturevalue(fixture)
    assert not one_sample_ok(err, N0 * 0.5 * D0 / (T0 - D0))


@pytest.fixture(scope="module")
def accumulate_fixed() -> np.ndarray:
    return _errors(3, 5, T=T0, d=D0, chains=C0, workflow=W.accumulate(), design="fixed")


def test_accumulate_fixed_mean_matches_sum_inverse_squares(accumulate_fixed):
    assert one_sample_ok(accumulate_fixed, accumulate_fixed_mean(5, T0, D0, 1.0))


def test_accumulate_fixed_check_rejects_wrong_formulas(accumulate_fixed):
    wrong_harmonic = D0 / (T0 - D0 - 1) * sum(1.0 / g for g in range(1, 6))
    wrong_denominator = D0 / (T0 - D0) * sum(1.0 / g**2 for g in range(1, 6))
    assert not one_sample_ok(accumulate_fixed, wrong_harmonic)
    assert not one_sample_ok(accumulate_fixed, wrong_denominator)


# ----------------------------------------------------------------------------- NumPy reference
# mix with 4 real rows out of T = 16 (d = 4), 6 generations: the fixed design's error is about
# 25 % above the fresh design's, so the wrong design is a wrong reference the check must reject.
TM, DM, RM, NM, CM = 16, 4, 4, 6, 3000


@pytest.fixture(scope="module")
def mix_fixed() -> np.ndarray:
    return _errors(4, NM, T=TM, d=DM, chains=CM, design="fixed", workflow=W.mix(n_real=RM))


def test_mix_fixed_design_matches_numpy_reference(mix_fixed):
    ref = numpy_reference(40, T=TM, d=DM, n=NM, chains=CM, design="fixed", workflow="mix",
                          real=RM)
    assert two_sample_ok(mix_fixed, ref)


def test_mix_check_rejects_the_other_design(mix_fixed):
    ref = numpy_reference(41, T=TM, d=DM, n=NM, chains=CM, design="fresh", workflow="mix",
                          real=RM)
    assert not two_sample_ok(mix_fixed, ref)


@pytest.fixture(scope="module")
def accumulate_fresh() -> np.ndarray:
    return _errors(5, NM, T=TM, d=DM, chains=CM, design="fresh", workflow=W.accumulate())


def test_accumulate_fresh_design_matches_numpy_reference(accumulate_fresh):
    ref = numpy_reference(50, T=TM, d=DM, n=NM, chains=CM, design="fresh",
                          workflow="accumulate")
    assert two_sample_ok(accumulate_fresh, ref)


def test_accumulate_fresh_check_rejects_a_wrong_pool(accumulate_fresh):
    """A reference that fits the latest batch only (replace) is rejected."""
    ref = numpy_reference(51, T=TM, d=DM, n=NM, chains=CM, design="fresh", workflow="replace")
    assert not two_sample_ok(accumulate_fresh, ref)


# ----------------------------------------------------------------------------- two paths
# log test errors are light-tailed: their means compare sharply.
@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_samples_and_sufficient_paths_agree_in_law(design, replace_fixed, replace_fresh):
    suff = replace_fixed if design == "fixed" else replace_fresh
    samp = _errors(6, N0, T=T0, d=D0, chains=C0, noise2=0.5, design=design, method="samples")
    assert two_sample_ok(np.log(samp), np.log(suff))
    assert two_sample_ok(samp, suff)
    # the same check rejects a sufficient path whose noise variance is 15 % off
    assert not two_sample_ok(np.log(samp), np.log(suff * 1.15))


# ----------------------------------------------------------------------------- bits
# The fixtures above ran with the default chunk (one batch of 3072 chains); a rerun in batches
# of 1024 (one more compile) must give the same bits. mix_fixed covers the fixed design's two
# square roots (X^T for the r = d real rows, QR for the 12 synthetic rows), accumulate_fresh the
# Bartlett draw of the fresh design.
@pytest.mark.parametrize("fixture,seed,kw", [
    ("mix_fixed", 4, dict(design="fixed", workflow=W.mix(n_real=RM))),
    ("accumulate_fresh", 5, dict(design="fresh", workflow=W.accumulate())),
])
def test_results_do_not_depend_on_chunk_size(fixture, seed, kw, request):
    again = simulate(jax.random.key(seed), T=TM, d=DM, generations=NM, chains=CM, record=[NM],
                     chunk_size=1000, **kw)
    np.testing.assert_array_equal(again.test_error[-1].astype(np.float64),
                                  request.getfixturevalue(fixture))


# ----------------------------------------------------------------------------- validation
KEY = jax.random.key(0)
BASE = dict(T=10, d=3, generations=2, chains=4)


@pytest.mark.parametrize("change,match", [
    (dict(T=3), r"T must be > d .*T=3, d=3"),
    (dict(T=2), r"T must be > d .*T=2, d=3"),
    (dict(T=0), r"T must be an integer >= 1"),
    (dict(d=0), r"d must be an integer >= 1"),
    (dict(noise2=0.0), r"noise2 must be a finite real > 0"),
    (dict(noise2=float("nan")), r"noise2 must be"),
    (dict(ridge=-1.0), r"ridge must be a finite real >= 0"),
    (dict(design="random"), r"design must be one of \('fixed', 'fresh'\)"),
    (dict(method="exact"), r"method must be one of"),
    (dict(beta0=[1.0, 2.0]), r"beta0 must be None or 3 finite reals"),
    (dict(beta0=[1.0, np.inf, 0.0]), r"beta0 must be None or 3 finite reals"),
    (dict(beta0="abc"), r"beta0 must be None or 3 finite reals"),
    (dict(workflow="accumulate_subsample"), r"workflow 'accumulate_subsample' is not available"),
    (dict(workflow=W.mix(n_real=2, fixed_real=True)), r"fixed_real=True is not available"),
    (dict(workflow=W.weighted(n_real=3)), r"n_real must be > d = 3"),
    (dict(workflow=W.mix(n_real=11)), r"n_real must be <= M = 10"),
    (dict(workflow=W.replace(bias=W.SamplingBias(variance_scale=0.5))), r"sampling bias"),
    (dict(record_beta=1), r"record_beta must be True or False"),
    (dict(generations=-1), r"generations must be"),
    (dict(chains=0), r"chains must be"),
    (dict(dtype="int32"), r"dtype must be float32 or float64"),
])
def test_invalid_arguments_raise_value_error_naming_them(change, match):
    with pytest.raises(ValueError, match=match):
        simulate(KEY, **{**BASE, **change})


def test_integer_seed_is_refused():
    with pytest.raises(ValueError, match="key must be"):
        simulate(0, **BASE)


@pytest.fixture(scope="module")
def ridge_run():
    return simulate(KEY, T=3, d=3, generations=2, chains=4, ridge=1.0, record_beta=True)


def test_ridge_allows_T_at_most_d(ridge_run):
    """With ridge > 0 and T <= d the fit exists and the errors are finite; the recorded beta
    gives the recorded test error (beta_0 = 0)."""
    run = ridge_run
    assert np.all(np.isfinite(run.test_error)) and np.all(run.test_error[1:] > 0)
    assert run.test_error[0].tolist() == [0.0] * 4 and run.beta.shape == (3, 4, 3)
    np.testing.assert_allclose(run.test_error, np.sum(run.beta.astype(float) ** 2, axis=-1),
                               rtol=1e-5)
    assert run.ridge == 1.0 and run.design == "fixed" and run.workflow == "replace"


def test_save_and_load_round_trip(ridge_run, tmp_path):
    from modelcollapse.sims.regression import load

    ridge_run.save(tmp_path / "run.npz")
    back = load(tmp_path / "run.npz")
    np.testing.assert_array_equal(back.test_error, ridge_run.test_error)
    np.testing.assert_array_equal(back.beta, ridge_run.beta)
    assert (back.T, back.d, back.ridge, back.design, back.method, back.workflow) == (
        3, 3, 1.0, "fixed", "sufficient", "replace")
    no_beta = simulate(KEY, T=3, d=3, generations=2, chains=4, ridge=1.0)
    no_beta.save(tmp_path / "plain.npz")
    assert load(tmp_path / "plain.npz").beta is None


# ----------------------------------------------------------------------------- slow sweeps
SWEEP = [(design, method, name)
         for design in ("fixed", "fresh") for method in ("sufficient", "samples")
         for name in ("replace", "accumulate", "mix", "weighted")]


def _workflow(name: str, real: int):
    return {"replace": W.replace(), "accumulate": W.accumulate(),
            "mix": W.mix(n_real=real), "weighted": W.weighted(0.4, n_real=real)}[name]


@pytest.mark.slow
@pytest.mark.parametrize("design,method,name", SWEEP)
def test_every_design_path_and_workflow_matches_numpy_reference(design, method, name):
    T, d, n, chains, real = 14, 3, 5, 4000, 6
    sim = _errors(8, n, T=T, d=d, chains=chains, noise2=0.7, design=design, method=method,
                  workflow=_workflow(name, real))
    ref = numpy_reference(80, T=T, d=d, n=n, chains=chains, noise2=0.7, design=design,
                          workflow=name, real=real, weight=0.4)
    # Bonferroni over the 16 cases: z = 4.5 keeps the family-wise level below 1e-4
    assert two_sample_ok(sim, ref)
    assert two_sample_ok(np.log(sim), np.log(ref))


@pytest.mark.slow
@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_ridge_matches_numpy_reference(design):
    T, d, n, chains = 8, 5, 4, 4000
    sim = _errors(9, n, T=T, d=d, chains=chains, ridge=2.0, design=design,
                  workflow=W.accumulate())
    ref = numpy_reference(90, T=T, d=d, n=n, chains=chains, design=design,
                          workflow="accumulate", ridge=2.0)
    assert two_sample_ok(sim, ref)
    wrong = numpy_reference(91, T=T, d=d, n=n, chains=chains, design=design,
                            workflow="accumulate", ridge=0.5)
    assert not two_sample_ok(sim, wrong)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sufficient", "samples"])
def test_closed_forms_at_larger_dimension(method):
    """d = 50, T = 200, 20 generations, float32: replace and fixed-design accumulate."""
    T, d, n, chains = 200, 50, 20, 2000
    rep = _errors(10, n, T=T, d=d, chains=chains, method=method)
    assert one_sample_ok(rep, replace_mean(n, T, d, 1.0))
    # d/(T - d) is only 0.7 % off here (rejected at T = 12 above); an off-by-one generation
    # count, (n - 1) d/(T - d - 1), is 5 % off
    assert not one_sample_ok(rep, replace_mean(n - 1, T, d, 1.0))
    acc = _errors(11, n, T=T, d=d, chains=chains, method=method, workflow=W.accumulate())
    assert one_sample_ok(acc, accumulate_fixed_mean(n, T, d, 1.0))
    assert not one_sample_ok(acc, d / (T - d - 1) * sum(1.0 / g for g in range(1, n + 1)))


@pytest.mark.slow
def test_fresh_design_accumulate_is_below_fixed_design():
    """THEORY.md section 5: the two design conventions give different errors; under accumulate
    the fresh design's is the smaller one (measured at T = 16, d = 4, 6 generations)."""
    T, d, n, chains = 16, 4, 6, 20000
    fixed = _errors(12, n, T=T, d=d, chains=chains, workflow=W.accumulate(), design="fixed")
    fresh = _errors(13, n, T=T, d=d, chains=chains, workflow=W.accumulate(), design="fresh")
    assert one_sample_ok(fixed, accumulate_fixed_mean(n, T, d, 1.0))
    assert not two_sample_ok(fixed, fresh)
    assert fresh.mean() < fixed.mean()


@pytest.mark.slow
@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_float64_ridge_and_nonzero_beta0_match_numpy_reference(design):
    """With ridge the error depends on beta_0 (shrinkage bias): float64, mix, beta_0 != 0."""
    T, d, n, chains, real = 9, 6, 4, 4000, 3
    beta0 = np.linspace(-1.0, 1.5, d)
    with jax.enable_x64(True):
        run = simulate(jax.random.key(14), T=T, d=d, generations=n, chains=chains,
                       record=[n], design=design, workflow=W.mix(n_real=real), ridge=0.8,
                       beta0=beta0, dtype="float64")
    sim = run.test_error[-1]
    assert sim.dtype == np.float64
    ref = numpy_reference(140, T=T, d=d, n=n, chains=chains, design=design, workflow="mix",
                          real=real, ridge=0.8, beta0=beta0)
    assert two_sample_ok(sim, ref)
    wrong = numpy_reference(141, T=T, d=d, n=n, chains=chains, design=design, workflow="mix",
                            real=real, ridge=0.8)
    assert not two_sample_ok(sim, wrong)
