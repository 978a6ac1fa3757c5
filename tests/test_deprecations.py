"""Names of version 0.1 keep working for this version, each with a ``DeprecationWarning``."""

from __future__ import annotations

import importlib
import sys

import jax
import numpy as np
import pytest

from modelcollapse.sims import discrete as sd
from modelcollapse.sims import gaussian as sg
from modelcollapse.theory import discrete as td
from modelcollapse.theory import gaussian as tg

KEY = jax.random.key(0)


def test_schedule_keyword_Ms():
    with pytest.warns(DeprecationWarning, match="'Ms' is deprecated"):
        old = tg.expected_variance_schedule(Ms=[3, 4], ddof=0)
    np.testing.assert_array_equal(old, tg.expected_variance_schedule(M=[3, 4], ddof=0))


def test_mixed_keyword_p_star():
    with pytest.warns(DeprecationWarning, match="'p_star' is deprecated"):
        old = td.mixed_sq_distance_limit(p_star=[0.5, 0.5], N=3, n_synth=2)
    assert old == td.mixed_sq_distance_limit([0.5, 0.5], 3, 2)


def test_gaussian_sigma0():
    with pytest.warns(DeprecationWarning, match="'sigma0' is deprecated"):
        run = sg.simulate(KEY, M=5, generations=1, chains=2, sigma0=2.0)
    assert run.sigma2 == 4.0 and np.allclose(run.log_variance[0], np.log(4.0))
    with pytest.warns(DeprecationWarning, match="GaussianRun.sigma0"):
        assert run.sigma0 == 2.0
    with pytest.raises(ValueError, match="not both"), pytest.warns(DeprecationWarning):
        sg.simulate(KEY, M=5, generations=1, chains=2, sigma0=2.0, sigma2=3.0)


def test_discrete_smoothing_counts_and_result_fields(tmp_path):
    with pytest.warns(DeprecationWarning) as rec:
        run = sd.simulate(KEY, p0=[0.5, 0.5], M=5, generations=2, chains=3, smoothing=0.5,
                          method="counts")
    texts = " ".join(str(w.message) for w in rec)
    assert "'smoothing' is deprecated" in texts and "method='counts' is deprecated" in texts
    assert run.beta == 0.5 and run.method == "sufficient"
    with pytest.warns(DeprecationWarning, match="generations_run"):
        assert run.generations_run == 2
    with pytest.warns(DeprecationWarning, match="DiscreteRun.smoothing"):
        assert run.smoothing == 0.5


def test_version_0_1_files_load(tmp_path):
    """Runs saved by version 0.1 (sigma0, smoothing, generations_run, method 'counts') load."""
    g = tmp_path / "g.npz"
    np.savez(g, generations=np.arange(2), mean=np.zeros((2, 1)), log_variance=np.zeros((2, 1)),
             M=np.int64(5), M_is_schedule=False, ddof=1, method="samples", workflow="replace",
             mu0=0.0, sigma0=3.0, chains=1, n_generations=1, dtype="float32", initial="")
    assert sg.load(g).sigma2 == 9.0
    d = tmp_path / "d.npz"
    np.savez(d, generations=np.arange(2), survivors=np.ones((2, 1), int),
             heterozygosity=np.zeros((2, 1)), entropy=np.zeros((2, 1)),
             absorption_generation=np.zeros(1, int), p0=np.array([1.0]), M=3,
             generations_run=1, chains=1, method="counts", smoothing=0.0, temperature=1.0)
    back = sd.DiscreteRun.load(d)
    assert back.n_generations == 1 and back.beta == 0.0 and back.method == "sufficient"


@pytest.mark.parametrize("old, new, names", [
    ("modelcollapse.sims.samplers", "modelcollapse.sims.rng.gamma", ["gamma", "log_gamma"]),
    ("modelcollapse.sims.discrete_samplers", "modelcollapse.sims.rng.binomial",
     ["binomial", "multinomial_rows"]),
    ("modelcollapse.verify_discrete", "modelcollapse.families.discrete",
     ["discrete_checks", "DISCRETE_CASES"]),
    ("modelcollapse.cli_discrete", "modelcollapse.families.discrete", ["parse_p0"]),
])
def test_moved_modules(old, new, names):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        mod = importlib.import_module(old)
    target = importlib.import_module(new)
    for name in names:
        assert getattr(mod, name) is getattr(target, name)


def test_moved_verify_names():
    import modelcollapse.verify as verify
    from modelcollapse.families import gaussian

    for name in ("gaussian_checks", "GAUSSIAN_CASES", "GAUSSIAN_QUANTITIES"):
        with pytest.warns(DeprecationWarning, match=f"verify.{name} is deprecated"):
            assert getattr(verify, name) is getattr(gaussian, name)
    with pytest.raises(AttributeError):
        verify.no_such_name  # noqa: B018


def test_gaussian_only_flag(monkeypatch, capsys):
    from modelcollapse.cli import main
    from modelcollapse.verify import registry

    monkeypatch.setattr(registry, "cases", lambda names=None: [])
    with pytest.warns(DeprecationWarning, match="--gaussian-only"):
        assert main(["verify", "--gaussian-only", "--list"]) == 0
