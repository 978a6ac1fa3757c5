"""The Gaussian simulator under the data workflows (issue 10, point 4): mix (fresh and fixed real
data), accumulate, weighted, and the sampling biases variance_scale and truncation.

Every expected value is a closed form written here, from the one-step law of the workflow (the
simulator imports no theory). Conventions: ddof = 0 (maximum likelihood) unless stated; the
first fit (generation 1) sees real data only, whatever the workflow and the bias. Tolerances
are z standard errors of the Monte Carlo mean, with z stated; seeds are fixed. Each statistical
check is also fed a perturbed formula and must reject it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from modelcollapse.sims import gaussian as sg
from modelcollapse.sims import poisson as sp
from modelcollapse.sims.workflows import WorkflowState, kernel
from modelcollapse.spec import workflows as W

#: z-bound of every mean comparison: two-sided 1.4e-5 per comparison, so a Bonferroni level
#: below 1e-3 over the < 70 comparisons of this file.
Z = 4.4
SLOW = pytest.mark.slow  # CI skips these unless --runslow (each compiles a simulator)
BOTH = ["sufficient", pytest.param("samples", marks=SLOW)]
MU0, S0 = 1.0, 2.0  # original N(MU0, S0) (S0 a variance)


def _run(wf, *, M=10, generations=6, chains=40_000, method="sufficient", key=0, **kw):
    return sg.simulate(jax.random.key(key), M=M, generations=generations, chains=chains,
                       ddof=kw.pop("ddof", 0), method=method, mu0=MU0, sigma2=S0,
                       record=list(range(1, generations + 1)), workflow=wf, **kw)


def _moments(run):
    """Per recorded generation t >= 1: (mean, standard error) of sigma_t^2 and of
    (mu_t - mu0)^2, and of their sum per chain."""
    v = np.exp(run.log_variance[1:].astype(np.float64))
    d = np.square(run.mean[1:].astype(np.float64) - MU0)
    n = v.shape[1]
    out = {}
    for name, x in (("var", v), ("dev", d), ("sum", v + d)):
        out[name] = (x.mean(axis=1), x.std(axis=1, ddof=1) / math.sqrt(n))
    return out


def _agrees(est, expected) -> bool:
    mean, se = est
    return bool(np.all(np.abs(mean - np.asarray(expected)) <= Z * se))


# ----------------------------------------------------------------------------- closed forms
def accumulate_variance(M, T, perturbed=False):
    """E sigma_t^2 / sigma0^2 = prod_{j<=t} (1 - 1/(M j^2)) (ddof 0, first batch real): the pool
    after t generations has M t points; given the previous fit, the new M points are drawn from
    it, and the pooled MLE variance loses the factor (1 - 1/(M j^2)) in expectation."""
    j = np.arange(1, T + 1)
    f = 1.0 - 1.0 / (M * (j if perturbed else j**2))
    return S0 * np.cumprod(f)


def mix_recursion(M, n_real, lam, T, perturbed=False):
    """THEORY.md section 2 (MLE, fraction a = n_s / N synthetic, bias lambda):
    s_t = (1 - 1/N)(n_r s0 + n_s lam s_{t-1})/N + (n_r n_s / N^2) D_{t-1},
    D_t = a^2 D_{t-1} + (n_r s0 + n_s lam s_{t-1}) / N^2, from the first fit on N real points
    (s_1 = (1 - 1/N) s0, D_1 = s0 / N)."""
    N, nr = M, n_real
    ns = N - nr
    a = ns / N
    s, D = [(1 - 1 / N) * S0], [S0 / N]
    for _ in range(2, T + 1):
        inner = nr * S0 + ns * (lam**2 if perturbed else lam) * s[-1]
        s_new = (1 - 1 / N) * inner / N + nr * ns / N**2 * D[-1]
        D.append(a**2 * D[-1] + inner / N**2)
        s.append(s_new)
    return np.array(s), np.array(D)


def weighted_recursion(M, n_real, w, T, perturbed=False):
    """sigma_t^2 = w s_real + (1 - w) s_synth, mu_t = w xbar_real + (1 - w) xbar_synth, the
    real estimate from n_r fresh points, the synthetic from M points of generation t - 1 (real
    at t = 1): v_t = w (1 - 1/n_r) s0 + (1 - w)(1 - 1/M) v_{t-1},
    D_t = w^2 s0 / n_r + (1 - w)^2 (D_{t-1} + v_{t-1} / M), v_0 = s0, D_0 = 0."""
    v, D = [S0], [0.0]
    ww = w * w if perturbed else w
    for _ in range(T):
        v_new = ww * (1 - 1 / n_real) * S0 + (1 - ww) * (1 - 1 / M) * v[-1]
        D.append(w**2 * S0 / n_real + (1 - w) ** 2 * (D[-1] + v[-1] / M))
        v.append(v_new)
    return np.array(v[1:]), np.array(D[1:])


def truncation_factor(tau, perturbed=False):
    """Variance of N(0, 1) truncated at +-tau: 1 - 2 tau phi(tau) / (2 Phi(tau) - 1)."""
    k = 1.0 if perturbed else 2.0
    return 1.0 - k * tau * stats.norm.pdf(tau) / (2.0 * stats.norm.cdf(tau) - 1.0)


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("method", BOTH)
def test_accumulate_product(method):
    M, T = 10, 6
    m = _moments(_run(W.accumulate(), M=M, generations=T, method=method))
    assert _agrees(m["var"], accumulate_variance(M, T))
    assert not _agrees(m["var"], accumulate_variance(M, T, perturbed=True))
    # the mean's error is the rest of sigma0^2 (conservation, below)
    assert _agrees(m["dev"], S0 - accumulate_variance(M, T))


@pytest.mark.parametrize("method", ["sufficient", pytest.param("samples", marks=SLOW)])
@pytest.mark.parametrize("wf", [pytest.param(W.replace(), marks=SLOW), W.accumulate(),
                                pytest.param(W.mix(n_real=3), marks=SLOW),
                                W.mix(real_fraction=0.5, fixed_real=True)],
                         ids=["replace", "accumulate", "mix", "mix-fixed"])
def test_conservation_law(wf, method):
    """E sigma_t^2 + E (mu_t - mu0)^2 = sigma0^2 (ddof 0, no bias); the unbiased estimator
    (ddof 1) breaks it (the perturbed law)."""
    T = 5
    m = _moments(_run(wf, generations=T, chains=30_000, method=method, key=1))
    assert _agrees(m["sum"], np.full(T, S0))
    assert not _agrees(m["sum"], np.full(T, S0 * 1.04))
    m1 = _moments(_run(wf, generations=T, chains=30_000, method=method, key=1, ddof=1))
    assert not _agrees(m1["sum"], np.full(T, S0))


def test_accumulate_with_a_schedule():
    """Growing batches M_t (pool N_t = M_1 + ... + M_t): E sigma_t^2 = sigma0^2
    prod_j (1 - M_j / N_j^2) (the new batch's SS and the between-means term of the pooled SS);
    a constant M gives the product above. The naive substitution prod_j (1 - 1/(M_j j^2)) of
    the schedule into the constant-M product is rejected."""
    sched = [4, 6, 9, 14, 20, 30]
    run = _run(W.accumulate(), M=sched, generations=len(sched), key=9)
    m = _moments(run)
    N = np.cumsum(sched)
    assert _agrees(m["var"], S0 * np.cumprod(1.0 - np.asarray(sched) / N**2))
    j = np.arange(1, len(sched) + 1)
    assert not _agrees(m["var"], S0 * np.cumprod(1.0 - 1.0 / (np.asarray(sched) * j**2)))


@pytest.mark.parametrize("method", BOTH)
@pytest.mark.parametrize("lam", [pytest.param(1.0, marks=SLOW), 0.6])
def test_mix_recursion(method, lam):
    M, nr, T = 10, 3, 6
    wf = W.mix(n_real=nr, bias=W.SamplingBias(variance_scale=lam))
    m = _moments(_run(wf, M=M, generations=T, method=method, key=2))
    s, D = mix_recursion(M, nr, lam, T)
    assert _agrees(m["var"], s) and _agrees(m["dev"], D)
    if lam != 1.0:
        sp_, Dp = mix_recursion(M, nr, lam, T, perturbed=True)
        assert not (_agrees(m["var"], sp_) and _agrees(m["dev"], Dp))
    else:  # a perturbed real count (n_r = 4 for 3) is rejected
        sp_, Dp = mix_recursion(M, nr + 1, lam, T)
        assert not (_agrees(m["var"], sp_) and _agrees(m["dev"], Dp))


@pytest.mark.parametrize("method", BOTH)
def test_weighted_recursion(method):
    M, nr, w, T = 10, 5, 0.6, 6
    m = _moments(_run(W.weighted(w, n_real=nr), M=M, generations=T, method=method, key=3))
    v, D = weighted_recursion(M, nr, w, T)
    assert _agrees(m["var"], v) and _agrees(m["dev"], D)
    vp, Dp = weighted_recursion(M, nr, w, T, perturbed=True)
    assert not _agrees(m["var"], vp)


@pytest.mark.parametrize("tau", [pytest.param(0.8, marks=SLOW), 1.5])
def test_truncation_one_step_factor(tau):
    """Generation 1 is fit on real points; generation 2 on M points of N(mu_1, sigma_1^2)
    truncated at +-tau sigma_1: E sigma_2^2 = (1 - 1/M)^2 kappa(tau) s0 and
    E (mu_2 - mu0)^2 = s0 / M + kappa(tau) (1 - 1/M) s0 / M (the truncated law is symmetric)."""
    M = 10
    wf = W.replace(bias=W.SamplingBias(truncation=tau))
    m = _moments(_run(wf, M=M, generations=2, method="samples", key=4))
    k = truncation_factor(tau)
    assert _agrees((m["var"][0][1:], m["var"][1][1:]), [(1 - 1 / M) ** 2 * k * S0])
    assert _agrees((m["dev"][0][1:], m["dev"][1][1:]), [S0 / M + k * (1 - 1 / M) * S0 / M])
    kp = truncation_factor(tau, perturbed=True)
    assert not _agrees((m["var"][0][1:], m["var"][1][1:]), [(1 - 1 / M) ** 2 * kp * S0])


def test_truncated_points_follow_the_truncated_normal():
    """The sample path's truncated points (M = 1 draw of a large sample) against scipy's
    truncnorm: Kolmogorov-Smirnov at level 1e-4 (fixed key)."""
    fam = sg.GaussianFamily(method="samples", dtype="float32", m_max=20_000,
                            biases=sg.BIASES["samples"])
    from modelcollapse.sims.rng.threefry import Stream, chain_words
    w = chain_words(jax.random.key(5), jnp.arange(1, dtype=jnp.uint32))
    z = np.asarray(fam._truncated(Stream(w[:, 0], w[:, 1], jnp.uint32(2)), jnp.asarray(False),
                                  1.3))[:, 0]
    assert np.abs(z).max() <= 1.3
    assert stats.kstest(z, stats.truncnorm(-1.3, 1.3).cdf).pvalue > 1e-4
    assert stats.kstest(z, stats.truncnorm(-1.2, 1.2).cdf).pvalue < 1e-4  # wrong tau rejected


@pytest.mark.parametrize("wf", [
    pytest.param(W.accumulate(bias=W.SamplingBias(variance_scale=0.8)), marks=SLOW),
    W.mix(n_real=2, bias=W.SamplingBias(variance_scale=1.3)),
    pytest.param(W.mix(n_real=4, fixed_real=True), marks=SLOW),
    pytest.param(W.weighted(0.3), marks=SLOW)], ids=["accumulate", "mix", "mix-fixed",
                                                     "weighted"])
def test_paths_agree_in_law(wf):
    """Sample path vs sufficient path: two-sample KS on log sigma_t^2 and mu_t at t = 4, level
    1e-4 each (8 comparisons in all)."""
    a = _run(wf, generations=4, chains=20_000, method="samples", key=6)
    b = _run(wf, generations=4, chains=20_000, method="sufficient", key=7)
    for x, y in ((a.log_variance[-1], b.log_variance[-1]), (a.mean[-1], b.mean[-1])):
        assert stats.ks_2samp(x, y).pvalue > 1e-4


@pytest.mark.parametrize("method", BOTH)
def test_fixed_real_set_is_reused(method):
    """mix with n_real = M and fixed_real: every fit sees the same real set (the fit is
    constant over generations); with fresh real data the fits of two generations are
    independent (|correlation| within z = 4.4 of 0)."""
    run = _run(W.mix(n_real=10, fixed_real=True), generations=4, chains=200, method=method)
    assert np.array_equal(run.mean[1], run.mean[4])
    assert np.array_equal(run.log_variance[1], run.log_variance[4])
    fresh = _run(W.mix(n_real=10), generations=4, chains=2000, method=method)
    assert abs(np.corrcoef(fresh.mean[1], fresh.mean[4])[0, 1]) < Z / math.sqrt(2000)


@pytest.mark.parametrize("wf, method", [
    (W.accumulate(), "samples"), (W.mix(real_fraction=0.3), "sufficient"),
    pytest.param(W.accumulate(), "sufficient", marks=SLOW),
    pytest.param(W.mix(real_fraction=0.3), "samples", marks=SLOW),
    pytest.param(W.mix(n_real=3, fixed_real=True), "sufficient", marks=SLOW),
    pytest.param(W.mix(n_real=3, fixed_real=True), "samples", marks=SLOW),
    pytest.param(W.weighted(), "sufficient", marks=SLOW),
    pytest.param(W.weighted(), "samples", marks=SLOW),
    pytest.param(W.mix(n_real=0), "samples", marks=SLOW),
    pytest.param(W.mix(n_real=7), "sufficient", marks=SLOW)])
def test_bit_identical_across_chunk_sizes(wf, method):
    kw = dict(M=[7, 9, 7, 12, 8], generations=5, chains=300, method=method,
              record=[1, 3, 5], workflow=wf, mu0=MU0, sigma2=S0)
    a = sg.simulate(jax.random.key(8), **kw)
    b = sg.simulate(jax.random.key(8), chunk_size=64, **kw)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.log_variance, b.log_variance)
    assert np.all(np.isfinite(a.log_variance))


def test_accumulate_memory_is_independent_of_generations():
    """The accumulate state is the model plus one sample's pooled statistics, per chain."""
    fam = sg.GaussianFamily(method="sufficient", dtype="float32")
    k = kernel(fam, W.accumulate())
    params = sg.GaussianParams(jnp.asarray([5]), jnp.float32(0), jnp.float32(0),
                               jnp.float32(0))
    shape = jax.eval_shape(lambda: k.init(params, 7))
    assert isinstance(shape, WorkflowState)
    assert {leaf.shape for leaf in jax.tree.leaves(shape)} == {(7,)}
    after = jax.eval_shape(lambda: k.step(jnp.int32(3), k.init(params, 7), _stream(7), params))
    assert jax.tree.structure(after) == jax.tree.structure(shape)
    assert [x.shape for x in jax.tree.leaves(after)] == [x.shape for x in jax.tree.leaves(shape)]


def _stream(n):
    from modelcollapse.sims.rng.threefry import Stream, chain_words
    w = chain_words(jax.random.key(0), jnp.arange(n, dtype=jnp.uint32))
    return Stream(w[:, 0], w[:, 1], jnp.uint32(3))


def test_refusals():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="truncation needs method='samples'"):
        sg.simulate(key, M=10, generations=2, chains=4,
                    workflow=W.replace(bias=W.SamplingBias(truncation=1.0)))
    with pytest.raises(ValueError, match="subsample must be an integer in"):
        sg.simulate(key, M=10, generations=2, chains=4, workflow=W.accumulate_subsample(11))
    with pytest.raises(ValueError, match="n_real must be > ddof"):
        sg.simulate(key, M=10, generations=2, chains=4, ddof=1, workflow=W.weighted(n_real=1))
    with pytest.raises(ValueError, match="n_real must be <= M"):
        sg.simulate(key, M=10, generations=2, chains=4, workflow=W.mix(n_real=11))
    with pytest.raises(ValueError, match="fixed_real=True needs the same real count"):
        sg.simulate(key, M=[10, 20], generations=2, chains=4,
                    workflow=W.mix(real_fraction=0.5, fixed_real=True))
    with pytest.raises(ValueError, match="initial_sampler is not available with the mix"):
        sg.simulate(key, M=10, generations=2, chains=4, workflow="mix",
                    initial_sampler=lambda k, m: jax.random.normal(k, (m,)))


@pytest.mark.parametrize("name", ["mix", "accumulate", "accumulate_subsample", "weighted"])
def test_other_simulators_still_refuse_the_new_workflows(name):
    """The categorical and Poisson families now run every workflow (their own tests:
    tests/test_sims_discrete_workflows.py, tests/test_poisson_workflows.py): none is refused."""
    from modelcollapse.sims.discrete import CategoricalFamily
    from modelcollapse.sims.workflows import family_workflows

    assert name in family_workflows(CategoricalFamily("sufficient", K=2))
    assert name in family_workflows(sp.PoissonFamily(method="sufficient"))
