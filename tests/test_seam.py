"""The shared simulation house: driver arguments, the workflow seam, and one workflow value
passed to theory and simulators alike."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from modelcollapse.sims import discrete as sd
from modelcollapse.sims import driver
from modelcollapse.sims import gaussian as sg
from modelcollapse.sims.workflows import kernel
from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as td
from modelcollapse.theory import gaussian as tg

BIASED = W.replace(bias=W.SamplingBias(temperature=0.5))


def _points(rng, m, n, mu, sd_):
    return jnp.asarray(mu + sd_ * rng.standard_normal((m, n)), jnp.float32)


def test_gaussian_combine_equals_the_pooled_sample():
    """combine(stats(a), stats(b)) fits like the concatenated points, also when the two groups
    are kept on different reference scales (log_scale)."""
    rng = np.random.default_rng(0)
    fam = sg.GaussianFamily(method="samples", dtype="float32", m_max=8)
    params = sg.GaussianParams(jnp.asarray([8]), jnp.float32(1.0), jnp.float32(0.0),
                               jnp.float32(0.0))
    xa, xb = _points(rng, 5, 64, 0.3, 2.0), _points(rng, 8, 64, -1.0, 0.5)
    a = sg.stats_of_points(xa, 5.0)
    b = sg.stats_of_points(xb, 8.0)
    # the same b on the scale of its own distribution: log_scale = log 0.25
    b_scaled = b._replace(log_scale=jnp.full_like(b.log_scale, np.log(0.25)),
                          log_ms=b.log_ms - np.log(0.25))
    pooled = sg.stats_of_points(jnp.concatenate([xa, xb]), 13.0)
    for bb in (b, b_scaled):
        fit = fam.fit(jnp.int32(1), fam.combine(a, bb), None, params)
        ref = fam.fit(jnp.int32(1), pooled, None, params)
        np.testing.assert_allclose(fit.mean, ref.mean, rtol=0, atol=2e-6)
        np.testing.assert_allclose(fit.log_variance, ref.log_variance, rtol=0, atol=2e-5)


def test_categorical_combine_pools_counts():
    fam = sd.CategoricalFamily(method="sufficient", K=3)
    a, b = jnp.asarray([[1, 2, 3]]), jnp.asarray([[0, 5, 1]])
    assert fam.combine(a, b).tolist() == [[1, 7, 4]]


def test_one_workflow_value_for_theory_and_simulators():
    wf = W.replace()
    run = sg.simulate(jax.random.key(0), M=10, generations=2, chains=4, workflow=wf)
    assert run.workflow == "replace"
    assert float(tg.expected_variance(2, 10, workflow=wf)) == 1.0
    d = sd.simulate(jax.random.key(0), p0=[0.5, 0.5], M=10, generations=2, chains=4,
                    workflow=BIASED)
    assert d.temperature == 0.5  # the categorical simulator implements temperature
    with pytest.raises(ValueError, match=r"sampling bias \['temperature'\] is not available for "
                                         r"the gaussian simulator"):
        sg.simulate(jax.random.key(0), M=10, generations=2, chains=4, workflow=BIASED)
    with pytest.raises(ValueError, match="give the sampling temperature either"):
        sd.simulate(jax.random.key(0), p0=[0.5, 0.5], M=10, generations=2, chains=4,
                    workflow=BIASED, temperature=0.7)


def _workflow_functions(module):
    for name in module.__all__:
        fn = getattr(module, name)
        if callable(fn) and "workflow" in inspect.signature(fn).parameters:
            yield name, fn


@pytest.mark.parametrize("module", [tg, td], ids=["gaussian", "discrete"])
def test_theory_refuses_what_it_does_not_implement(module):
    """Every formula takes workflow=; a sampling bias the closed form does not cover is refused
    (before any other argument is looked at)."""
    names = []
    for name, fn in _workflow_functions(module):
        nargs = sum(p.default is inspect.Parameter.empty and p.kind in (
            p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in
            inspect.signature(fn).parameters.values())
        with pytest.raises(ValueError, match=r"sampling bias \['temperature'\] is not "
                                             r"available for theory\."):
            fn(*([1] * nargs), workflow=BIASED)
        names.append(name)
    assert len(names) >= 15


def test_driver_arguments():
    assert driver.log_record(3).tolist() == [0, 1, 2, 3]
    big = driver.log_record(10**6, 20)
    assert big[0] == 0 and big[-1] == 10**6 and big.size <= 20
    assert [driver._bucket(u) for u in (1, 16, 17, 31, 33, 100)] == [1, 16, 18, 32, 36, 104]
    for bad in (0, "2", [], True, 10**6):
        with pytest.raises(ValueError, match="devices must be"):
            driver.resolve_devices(bad)
    assert driver.resolve_devices(1) is None
    fam = sg.GaussianFamily(method="sufficient", dtype="float32")
    k = kernel(fam, "replace")
    params = sg.GaussianParams(jnp.asarray([5]), jnp.float32(1), jnp.float32(0), jnp.float32(0))
    with pytest.raises(ValueError, match="observe must name observables"):
        driver.run(k, jax.random.key(0), params, generations=2, chains=2, record=[1],
                   observe=("nope",))
    with pytest.raises(ValueError, match="key must be"):
        driver.as_key("not a key")
    rec = driver.run(k, jax.random.key(0), params, generations=2, chains=3, record=[2],
                     observe=("mean",))
    assert rec.observed["mean"].shape == (2, 3) and rec.generations.tolist() == [0, 2]


def test_recording_is_the_same_whatever_the_generation_blocks(capsys):
    """The driver records once per recorded generation, whether a block of generations stops
    on, before or between recorded ones (progress=True cuts the run into blocks of 1 here)."""
    kw = dict(M=6, generations=20, chains=300, record=[1, 2, 5, 6, 7, 19, 20],
              method="samples")
    a = sg.simulate(jax.random.key(3), **kw)
    b = sg.simulate(jax.random.key(3), progress=True, chunk_size=128, **kw)
    assert a.generations.tolist() == [0, 1, 2, 5, 6, 7, 19, 20]
    assert np.array_equal(a.log_variance, b.log_variance) and np.array_equal(a.mean, b.mean)
    c = sg.simulate(jax.random.key(3), **{**kw, "record": [20]})
    assert np.array_equal(c.log_variance[-1], a.log_variance[-1])  # same path, fewer records
    capsys.readouterr()
