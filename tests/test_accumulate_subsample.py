"""accumulate_subsample end to end: the seam's sampler, the Gaussian simulator, the theory.

Statistical tests use fixed seeds and a tolerance of ``Z`` standard errors of the Monte Carlo
mean (stated per test); each also shows that a wrong formula (accumulate's law, replace's law,
``(1 + rho)`` for ``(1 + 2 rho)``) lies outside that band, so the test would fail with it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from modelcollapse.sims import gaussian as sg
from modelcollapse.sims.rng.threefry import Stream, chain_words
from modelcollapse.sims.workflows import POOL_BYTES, WorkflowKernel, kernel
from modelcollapse.spec import workflows as W
from modelcollapse.theory import accumulate_subsample as th
from modelcollapse.theory import gaussian as tg
from modelcollapse.theory import gaussian_workflows as gw

#: z-bound of the theory-vs-simulation comparisons: with at most ~20 compared means per test a
#: false alarm has probability below 20 * 6e-5 = 1.3e-3 (two-sided normal tail at 4).
Z = 4.0


def _mc(x: np.ndarray) -> tuple[float, float]:
    """Monte Carlo mean and its standard error."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


# ------------------------------------------------------------------ the sampler (the seam)
class _Params(NamedTuple):
    sched: jax.Array


class _Probe:
    """A family whose points are their own pool positions and whose fitted state is the list
    of chosen positions (-1 where masked): the seam's subsample made visible."""

    name = "probe"
    biases: tuple[str, ...] = ()
    workflows = ("accumulate_subsample",)
    float_state = False

    def __init__(self, width: int):
        self.width = width

    def __hash__(self) -> int:
        return hash(self.width)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Probe) and other.width == self.width

    def init(self, params: Any, n: int) -> jax.Array:
        return jnp.full((n, self.width), -1, jnp.int32)

    def draw_points(self, stream, m_max, m, state, real, params, bias):
        g = stream.g.astype(jnp.int32)
        start = jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(params.sched)])[g - 1]
        ids = start + jnp.arange(m_max, dtype=jnp.int32)
        ids = jnp.where(jnp.arange(m_max) < m, ids, -7)  # beyond m: must never be chosen
        return jnp.broadcast_to(ids, (state.shape[0], m_max))

    def point_stats(self, points, mask):
        return jnp.where(mask, points, -1)

    def fit(self, g, stats, state, params):
        return stats

    def combine(self, a, b):  # pragma: no cover - not used by the point pool
        raise AssertionError


def _chosen(sizes: tuple[int, ...], subsample: int | None, generations: int, chains: int,
            seed: int = 0) -> list[np.ndarray]:
    """The chosen pool positions of every generation, ``(chains, width)`` each."""
    wf = W.accumulate_subsample(subsample)
    width = subsample if subsample is not None else max(sizes)
    k = kernel(_Probe(width), wf, sizes, generations=generations)
    sched = sizes if len(sizes) > 1 else sizes * generations
    params = _Params(jnp.asarray(sched, jnp.int32))
    words = chain_words(jax.random.key(seed), jnp.arange(chains, dtype=jnp.uint32))
    state = k.init(params, chains)
    step = jax.jit(lambda g, s: k.step(g, s, Stream(words[:, 0], words[:, 1],
                                                    g.astype(jnp.uint32)), params))
    out = []
    for g in range(1, generations + 1):
        state = step(jnp.int32(g), state)
        out.append(np.asarray(state.model))
    return out


def test_subsample_is_uniform_without_replacement():
    """Each of the P pooled points is chosen with probability N/P and each pair with
    N(N-1)/(P(P-1)); no point twice; never a point beyond the pool. Counts over 20000 chains
    are binomial: |count - chains p| <= 4.5 sqrt(chains p (1-p)) (4.5 sigma: 15 points and 3
    pairs, false alarm below 1e-4)."""
    M, N, G, chains = 5, 3, 3, 20000
    chosen = _chosen((M,), N, G, chains)
    for g, c in enumerate(chosen, 1):
        pool = g * M
        assert ((c >= 0) & (c < pool)).all(), "a chosen point outside the pool"
        srt = np.sort(c, axis=1)
        assert (np.diff(srt, axis=1) > 0).all(), "a point chosen twice"
    c = chosen[-1]
    P = G * M
    p1 = N / P
    counts = np.bincount(c.ravel(), minlength=P)
    bound = 4.5 * math.sqrt(chains * p1 * (1 - p1))
    assert np.abs(counts - chains * p1).max() <= bound, counts
    # a biased sampler (e.g. the newest batch twice as likely) is outside the band
    assert abs(chains * 2 * p1 / (1 + p1) - chains * p1) > bound
    p2 = N * (N - 1) / (P * (P - 1))
    for a, b in ((0, 1), (0, 14), (7, 12)):
        both = int(np.sum(np.any(c == a, axis=1) & np.any(c == b, axis=1)))
        assert abs(both - chains * p2) <= 4.5 * math.sqrt(chains * p2 * (1 - p2)), (a, b, both)


def test_subsample_with_a_schedule_and_the_default_size():
    """subsample=None fits N = M_g points of a pool of sum_{j<=g} M_j (schedule 4, 6, 2)."""
    sizes = (4, 6, 2)
    chosen = _chosen(sizes, None, 3, 500, seed=3)
    pools = np.cumsum(sizes)
    for g, c in enumerate(chosen, 1):
        m = sizes[g - 1]
        assert (c[:, :m] >= 0).all() and (c[:, :m] < pools[g - 1]).all()
        assert (c[:, m:] == -1).all()  # masked beyond N_g
        srt = np.sort(c[:, :m], axis=1)
        assert (np.diff(srt, axis=1) > 0).all()
    # generation 2 draws from all 10 points: the first batch is reached as well
    assert set(np.unique(chosen[1][:, :6])) == set(range(10))


def test_kernel_refusals():
    fam = sg.GaussianFamily(method="sufficient", dtype="float32")
    with pytest.raises(ValueError, match=r"subsample must be an integer in \[1, 10\]"):
        kernel(fam, W.accumulate_subsample(11), (10,), generations=3)
    with pytest.raises(ValueError, match="needs generations="):
        kernel(fam, W.accumulate_subsample(5), (10,))
    with pytest.raises(ValueError, match="needs the sample sizes"):
        kernel(fam, W.accumulate_subsample(5), generations=3)

    class Bare:  # names the workflow without its hooks: refused by name
        name, biases, workflows = "bare", (), ("replace", "accumulate_subsample")

    with pytest.raises(ValueError, match="workflow 'accumulate_subsample' is not available"):
        kernel(Bare(), W.accumulate_subsample(5), (10,), generations=3)


def test_memory_accumulate_is_flat_and_the_pool_is_counted():
    """accumulate's kernel state has the same pytree shapes for 10 and 10^6 generations (pooled
    statistics); the accumulate_subsample point pool grows with them and the batch estimate
    and chunk hint count it."""
    fam = sg.GaussianFamily(method="sufficient", dtype="float32")
    params = sg.GaussianParams(jnp.asarray([10], jnp.int32), jnp.float32(1), jnp.float32(0),
                               jnp.float32(0))

    def shapes(k: WorkflowKernel) -> list[tuple[int, ...]]:
        st = jax.eval_shape(lambda: k.step(jnp.int32(2), k.init(params, 8),
                                           Stream(jnp.zeros(8, jnp.uint32),
                                                  jnp.zeros(8, jnp.uint32), jnp.uint32(2)),
                                           params))
        return [x.shape for x in jax.tree.leaves(st)]

    short = kernel(fam, W.accumulate(), (10,), generations=10)
    long = kernel(fam, W.accumulate(), (10,), generations=10**6)
    assert shapes(short) == shapes(long) == [(8,)] * 6
    assert short.batch_bytes(100) == long.batch_bytes(100)
    sub10 = kernel(fam, W.accumulate_subsample(5), (10,), generations=10)
    sub1000 = kernel(fam, W.accumulate_subsample(5), (10,), generations=1000)
    assert sub10.pool_size == 10 * 10 + 10 and sub1000.pool_size == 1000 * 10 + 10
    assert shapes(sub10)[-1] == (8, 110) and shapes(sub1000)[-1] == (8, 10010)
    assert (sub1000.batch_bytes(100) - fam.batch_bytes(100)) == 100 * 10010 * POOL_BYTES
    assert sub1000.chunk_hint(2, ("mean",)) == 2**22 // 10010


def test_bits_do_not_depend_on_the_chunk_size():
    for method in ("sufficient", "samples"):
        kw = dict(M=6, generations=5, chains=37, method=method, record=[1, 3, 5],
                  workflow=W.accumulate_subsample(4))
        a = sg.simulate(jax.random.key(5), **kw)
        b = sg.simulate(jax.random.key(5), chunk_size=5, **kw)
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.log_variance, b.log_variance)
    # and both paths draw the same points (the pool is of points on both)
    c = sg.simulate(jax.random.key(5), **{**kw, "method": "sufficient"})
    assert np.array_equal(a.mean, c.mean)


def test_simulator_refusals():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="subsample must be an integer in"):
        sg.simulate(key, M=10, generations=2, chains=4, workflow=W.accumulate_subsample(11))
    with pytest.raises(ValueError, match="subsample must be > ddof"):
        sg.simulate(key, M=10, generations=2, chains=4, ddof=1,
                    workflow=W.accumulate_subsample(1))
    with pytest.raises(ValueError, match="initial_sampler is not available"):
        sg.simulate(key, M=10, generations=2, chains=4, workflow="accumulate_subsample",
                    initial_sampler=lambda k, m: jax.random.normal(k, (m,)))


# ------------------------------------------------------------------ theory vs simulation
def test_exact_finite_n_moments_match_the_simulator():
    """Small N (M = 4, N = 3, ddof = 1): the exact E(mu_t - mu0)^2 and E sigma_t^2, t = 1..6,
    within Z = 4 standard errors of 40000 chains (12 means); accumulate's exact D_t and
    replace's (fit on N fresh points of the previous model) are outside the band at t = 6, so
    the test rejects them (the large-N law is within 3 % of the exact value even here)."""
    M, N, G = 4, 3, 6
    run = sg.simulate(jax.random.key(11), M=M, generations=G, chains=40000, ddof=1,
                      mu0=2.0, sigma2=3.0, workflow=W.accumulate_subsample(N),
                      record=list(range(1, G + 1)))
    e2 = (run.mean.astype(np.float64) - 2.0) ** 2
    var = run.variance.astype(np.float64)
    for t in range(1, G + 1):
        s_th, D_th = th.accumulate_subsample_moments(t, M, subsample=N, ddof=1, sigma2=3.0)
        m, se = _mc(e2[t])
        assert abs(m - D_th) <= Z * se, (t, m, D_th, se)
        m2, se2 = _mc(var[t])
        assert abs(m2 - s_th) <= Z * se2, (t, m2, s_th, se2)
    m, se = _mc(e2[G])
    wrong_acc = float(gw.accumulate_mean_drift_mse(G, M, ddof=1, sigma2=3.0))
    wrong_replace = float(tg.mean_drift_mse(G, N, ddof=1, sigma2=3.0))
    assert abs(m - wrong_acc) > Z * se and abs(m - wrong_replace) > Z * se


def test_variance_scale_bias_matches_the_simulator():
    """lambda = 1.5 on synthetic draws (exact recursion with b = 1.5): Z = 4 for t = 2, 4 (4
    means); the unbiased law (b = 1) is rejected at t = 4."""
    M, N = 5, 4
    wf = W.accumulate_subsample(N, bias=W.SamplingBias(variance_scale=1.5))
    run = sg.simulate(jax.random.key(12), M=M, generations=4, chains=40000, ddof=1,
                      workflow=wf, record=[2, 4])
    for row, t in ((1, 2), (2, 4)):
        s_th = float(tg.expected_variance(t, M, ddof=1, workflow=wf))
        D_th = float(tg.mean_drift_mse(t, M, ddof=1, workflow=wf))
        m, se = _mc(run.mean[row].astype(np.float64) ** 2)
        assert abs(m - D_th) <= Z * se, (t, m, D_th)
        v, sev = _mc(run.variance[row].astype(np.float64))
        assert abs(v - s_th) <= Z * sev, (t, v, s_th)
    plain = float(th.accumulate_subsample_expected_variance(4, M, subsample=N))
    assert abs(v - plain) > Z * sev


def test_large_n_law_of_the_mean_at_n_1000():
    """N = M = 1000 (rho = 1), t = 3: N E(mu_t - mu0)^2 -> 3 H2_t - 2 = 2.0833 (the exact
    value differs by 0.1 %). 2000 chains give a relative standard error of 3.2 %; Z = 4 for the
    law at t = 2 and 3; (1 + rho) in place of (1 + 2 rho) (1.722 at t = 3) and accumulate's
    H2_t (1.361) are rejected at more than 4 standard errors."""
    M = N = 1000
    run = sg.simulate(jax.random.key(13), M=M, generations=3, chains=2000, ddof=1,
                      workflow=W.accumulate_subsample(N), record=[2, 3])
    ratio = th.accumulate_subsample_mean_ratio
    for row, t in ((1, 2), (2, 3)):
        m, se = _mc(N * run.mean[row].astype(np.float64) ** 2)
        law = float(ratio(t, M, subsample=N))
        assert abs(m - law) <= Z * se, (t, m, law, se)
    h2 = 1 + 1 / 4 + 1 / 9
    assert abs(m - (1 + 2 * (h2 - 1))) > Z * se        # (1 + rho) instead of (1 + 2 rho)
    assert abs(m - h2) > Z * se                          # accumulate's law
    # and the variance to leading order: E sigma_t^2 = 1 - (delta_t - H_t)/N (Z = 4)
    v, sev = _mc(run.variance[2].astype(np.float64))
    s_th = float(th.accumulate_subsample_expected_variance(3, M, method="large_n"))
    assert abs(v - s_th) <= Z * sev


@pytest.mark.slow
def test_large_n_law_with_rho_one_half_longer_run():
    """N = 500, M = 1000 (rho = 1/2), t = 8: ratio 1 + 2 (H2_8 - 1) = 2.0544; 4000 chains
    (relative standard error 2.2 %), Z = 4; the rho = 1 law (2.58) is rejected."""
    M, N, G = 1000, 500, 8
    run = sg.simulate(jax.random.key(14), M=M, generations=G, chains=4000, ddof=1,
                      workflow=W.accumulate_subsample(N), record=[G])
    m, se = _mc(N * run.mean[1].astype(np.float64) ** 2)
    law = float(th.accumulate_subsample_mean_ratio(G, M, subsample=N))
    assert abs(m - law) <= Z * se
    assert abs(m - float(th.accumulate_subsample_mean_ratio(G))) > Z * se


# ------------------------------------------------------------------ theory: properties
def test_conservation_law_and_first_generation():
    n = np.arange(0, 30)
    s, D = th.accumulate_subsample_moments(n, 7, subsample=5, ddof=0, sigma2=2.5)
    np.testing.assert_allclose(s + D, 2.5, rtol=1e-13)
    assert float(th.accumulate_subsample_mean_drift_mse(1, 10, subsample=4)) == pytest.approx(
        0.25, rel=1e-15)
    assert float(th.accumulate_subsample_expected_variance(1, 10, subsample=4)) == 1.0
    assert float(th.accumulate_subsample_mean_drift_mse(0, 10)) == 0.0


def test_large_n_accuracy_against_exact():
    """Measured relative error of the large-N drift (the docstring's numbers): < 0.2 % at
    N = 1000, < 2 % at N = 100 for t <= 1000; the variance's absolute error O(1/N^2)."""
    n = np.arange(1, 1001)
    for N, tol_d, tol_s in ((1000, 2e-3, 2e-5), (100, 2e-2, 2e-3)):
        De = th.accumulate_subsample_mean_drift_mse(n, N)
        Dl = th.accumulate_subsample_mean_drift_mse(n, N, method="large_n")
        assert np.max(np.abs(Dl / De - 1)) < tol_d
        se = th.accumulate_subsample_expected_variance(n, N)
        sl = th.accumulate_subsample_expected_variance(n, N, method="large_n")
        assert np.max(np.abs(se - sl)) < tol_s


def test_ratio_functions():
    assert float(th.accumulate_subsample_mean_ratio(1)) == 1.0
    assert float(th.accumulate_subsample_mean_ratio(0)) == 0.0
    assert float(th.accumulate_subsample_mean_ratio(3)) == pytest.approx(
        3 * (1 + 1 / 4 + 1 / 9) - 2, rel=1e-14)
    assert float(th.accumulate_subsample_mean_ratio(2, 10, subsample=5)) == pytest.approx(1.5)
    assert float(th.accumulate_subsample_mean_ratio_limit()) == pytest.approx(
        math.pi**2 / 2 - 2, rel=1e-15)
    big = float(th.accumulate_subsample_mean_ratio(2**53))
    assert big == pytest.approx(math.pi**2 / 2 - 2, rel=1e-14)
    lim = th.accumulate_subsample_mean_ratio_limit([0.5, 1.0])
    np.testing.assert_allclose(lim, 1 + np.array([2.0, 3.0]) * (math.pi**2 / 6 - 1))


def test_scale_edges_and_broadcasting():
    # n up to 1e6 with M up to 1e9: finite and consistent with the large-N law
    d = float(th.accumulate_subsample_mean_drift_mse(10**6, 10**9))
    dl = float(th.accumulate_subsample_mean_drift_mse(10**6, 10**9, method="large_n"))
    assert math.isfinite(d) and d == pytest.approx(dl, rel=1e-6)
    assert math.isfinite(float(th.accumulate_subsample_expected_variance(
        2**53, 10**9, method="large_n")))
    out = th.accumulate_subsample_mean_drift_mse([[1], [5]], [10, 20, 30], subsample=[2, 3, 4])
    assert out.shape == (2, 3)
    for i, n in enumerate((1, 5)):
        for j, (m, k) in enumerate(((10, 2), (20, 3), (30, 4))):
            assert out[i, j] == pytest.approx(
                float(th.accumulate_subsample_mean_drift_mse(n, m, subsample=k)), rel=1e-14)
    assert isinstance(th.accumulate_subsample_expected_variance(3, 10), np.float64)
    # the dispatch from theory.gaussian is the same recursion
    wf = W.accumulate_subsample(6)
    assert float(tg.mean_drift_mse(7, 10, ddof=0, workflow=wf)) == float(
        th.accumulate_subsample_mean_drift_mse(7, 10, subsample=6, ddof=0))
    assert float(gw.expected_variance(7, 10, workflow=wf)) == float(
        th.accumulate_subsample_expected_variance(7, 10, subsample=6))


@pytest.mark.parametrize("call, match", [
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 10, subsample=11), "subsample must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 10, subsample=1, ddof=1),
     "subsample must be > ddof"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 10, subsample=0), "subsample must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 10, subsample=True), "subsample"),
    (lambda: th.accumulate_subsample_mean_drift_mse(True, 10), "n must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, "10"), "M must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 1), "M must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(-1, 10), "n must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 10, method="fast"), "method must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse(10**7, 10), "method='large_n'"),
    (lambda: th.accumulate_subsample_mean_drift_mse(3, 10, sigma2=0), "sigma2 must be"),
    (lambda: th.accumulate_subsample_mean_drift_mse([1, 2], [10, 20, 30]), "do not broadcast"),
    (lambda: th.accumulate_subsample_mean_ratio(3, subsample=5), "subsample needs M"),
    (lambda: th.accumulate_subsample_mean_ratio(3, 10, subsample=20), "subsample must be"),
    (lambda: th.accumulate_subsample_mean_ratio_limit(0.0), "rho must be"),
    (lambda: th.accumulate_subsample_mean_ratio_limit(1.5), "rho must be"),
    (lambda: th.accumulate_subsample_moments(3, 10, variance_scale=1.5, method="large_n"),
     "needs method='exact'"),
    (lambda: th.accumulate_subsample_moments(3, 10, variance_scale=-1.0), "variance_scale"),
])
def test_theory_refusals(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_symbolic_derivation_is_the_numeric_module():
    """The sympy recursion (exact rationals) and the numeric one agree to 1e-12 relative; the
    leading-order model's variance (sympy) is the numeric large-N ratio and variance law."""
    import sympy as sp

    from modelcollapse.theory.symbolic import accumulate_subsample as sas

    cases = ((3, 4, 1, 1), (2, 5, 0, sp.Rational(3, 2)), (7, 9, 1, sp.Rational(1, 2)))
    for nv, mv, dv, bv in cases:
        vals = ((sas.N, nv), (sas.M, mv), (sas.ddof, dv), (sas.b, bv))
        for k, (D, s) in enumerate(sas.linear_recursion(8, vals), 1):
            sn, Dn = th.accumulate_subsample_moments(k, mv, subsample=nv, ddof=float(dv),
                                                     variance_scale=float(bv))
            assert float(Dn) == pytest.approx(float(D), rel=1e-12)
            assert float(sn) == pytest.approx(float(s), rel=1e-12)
    for k in range(1, 9):
        for r in (sp.Rational(1, 2), sp.Integer(1)):
            want = float(sas.leading_drift(k).subs(sas.rho, r))
            got = float(th.accumulate_subsample_mean_ratio(k, 10, subsample=int(10 * r)))
            assert got == pytest.approx(want, rel=1e-14)
            v = float(sas.leading_variance(k).subs({sas.rho: r, sas.ddof: 1}))
            s_l = float(th.accumulate_subsample_expected_variance(
                k, 10**6, subsample=int(10**6 * r), method="large_n"))
            assert s_l == pytest.approx(1 - v / (10**6 * float(r)), rel=1e-14)


def test_schedule_keeps_the_conservation_law():
    """With a schedule (5, 8, 3, 10), ddof = 0 and N_g = M_g (subsample=None) or N = 4, the
    conservation law E sigma_t^2 + E (mu_t - mu0)^2 = sigma2 still holds (the proof's Step 4
    needs only A_t/P_t, an average over the pool): Z = 4 for t = 1..4 (8 means). A wrong
    offset or pool count would break it: an entry never written (a zero) counted as a point
    lowers A_t/P_t (to 5/6 at t = 1 for one such entry)."""
    for wf in (W.accumulate_subsample(), W.accumulate_subsample(4)):
        run = sg.simulate(jax.random.key(21), M=[5, 8, 3, 10], generations=4, chains=20000,
                          ddof=0, workflow=wf, record=[1, 2, 3, 4])
        total = run.mean.astype(np.float64) ** 2 + run.variance.astype(np.float64)
        for t in range(1, 5):
            m, se = _mc(total[t])
            assert abs(m - 1.0) <= Z * se, (wf, t, m, se)


def test_truncation_bias_matches_the_simulator():
    """Synthetic points truncated at mu +- sigma (b = kappa(1) = 0.291, sample path): the exact
    recursion's E(mu_4 - mu0)^2 and E sigma_4^2 within Z = 4 standard errors of 40000 chains;
    the untruncated variance law is rejected."""
    wf = W.accumulate_subsample(4, bias=W.SamplingBias(truncation=1.0))
    run = sg.simulate(jax.random.key(3), M=5, generations=4, chains=40000, method="samples",
                      workflow=wf, record=[4])
    m, se = _mc(run.mean[-1].astype(np.float64) ** 2)
    assert abs(m - float(tg.mean_drift_mse(4, 5, workflow=wf))) <= Z * se
    v, sev = _mc(run.variance[-1].astype(np.float64))
    assert abs(v - float(tg.expected_variance(4, 5, workflow=wf))) <= Z * sev
    assert abs(v - float(th.accumulate_subsample_expected_variance(4, 5, subsample=4))) > Z * sev


def test_selection_by_top_k_equals_the_full_sort():
    """The N smallest 63-bit keys found by top_k on 24-bit candidates are those of the full
    sort, in the same order -- also with many pool entries sharing a 24-bit key (up to the
    spare count at the cut); with more ties than spares at the cut the shortcut would differ,
    which the crafted case below shows is detected."""
    import jax.numpy as jnp
    from jax import lax

    from modelcollapse.sims.workflows import _SPARE, _smallest

    rng = np.random.default_rng(5)

    def full(k0, k1, n):
        idx = jnp.broadcast_to(jnp.arange(k0.shape[1], dtype=jnp.int32), k0.shape)
        return lax.sort((k0, k1, idx), dimension=1, num_keys=2)[2][:, :n]

    for cap, n in ((3000, 100), (500, 490), (64, 1)):
        k0 = jnp.asarray(rng.integers(0, 2**31, (6, cap), dtype=np.uint32))
        k1 = jnp.asarray(rng.integers(0, 2**32, (6, cap), dtype=np.uint32))
        assert np.array_equal(_smallest(k0, k1, n), full(k0, k1, n))
    # ties in the top 24 bits: coarse keys from a small set, the cut inside a tied group
    coarse = rng.integers(0, 40, (4, 400), dtype=np.uint32) << np.uint32(7)
    k0 = jnp.asarray(coarse | rng.integers(0, 128, (4, 400), dtype=np.uint32))
    k1 = jnp.asarray(rng.integers(0, 2**32, (4, 400), dtype=np.uint32))
    n = 100  # about 10 entries per coarse value: fewer than the spares at the cut
    assert np.array_equal(_smallest(k0, k1, n), full(k0, k1, n))
    # more ties at the cut than spares: the shortcut is no longer the full sort
    k0 = jnp.zeros((1, 4 * _SPARE), jnp.uint32) + jnp.arange(4 * _SPARE, dtype=jnp.uint32)[::-1]
    k1 = jnp.zeros((1, 4 * _SPARE), jnp.uint32)
    assert not np.array_equal(_smallest(k0, k1, 1), full(k0, k1, 1))
