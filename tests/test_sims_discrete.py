"""Tests of the discrete (Wright-Fisher) simulator and its exact binomial/multinomial samplers.

Statistical checks use fixed seeds. Goodness of fit: chi-square with bins pooled until every
expected count is >= 5; a check fails when its p-value is below ALPHA / (number of checks in the
test) (Bonferroni), ALPHA = 1e-3 per test function. z-tests use the two-sided normal quantile
of the same Bonferroni level. No comparison with modelcollapse.theory here: the simulator is
checked against scipy.stats and against its own sample-level reference path.
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

import modelcollapse.sims.rng.binomial as samplers
from modelcollapse.sims.discrete import DiscreteRun, default_record, simulate
from modelcollapse.sims.rng.binomial import binomial, multinomial
from modelcollapse.sims.rng.threefry import threefry2x32

ALPHA = 1e-3  # family-wise level of each test function (Bonferroni inside)


def z_crit(checks: int) -> float:
    """Two-sided normal quantile at level ALPHA / checks."""
    return float(stats.norm.isf(ALPHA / (2 * checks)))


def pooled_chisq_pvalue(samples: np.ndarray, pmf: np.ndarray) -> float:
    """Chi-square GOF p-value of integer ``samples`` against ``pmf`` on 0..len(pmf)-1.

    Adjacent cells are pooled (left to right, the remainder into the last cell) until each
    expected count is >= 5.
    """
    samples = np.asarray(samples)
    R = samples.size
    obs = np.bincount(samples, minlength=pmf.size).astype(float)
    assert obs.size == pmf.size, "samples outside the support"
    exp = pmf * R
    po, pe, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(obs, exp, strict=True):
        acc_o += o
        acc_e += e
        if acc_e >= 5:
            po.append(acc_o)
            pe.append(acc_e)
            acc_o = acc_e = 0.0
    if acc_e > 0 or acc_o > 0:
        if pe:
            po[-1] += acc_o
            pe[-1] += acc_e
        else:
            po.append(acc_o)
            pe.append(acc_e)
    po, pe = np.array(po), np.array(pe)
    if po.size < 2:
        return 1.0
    chi2 = float(np.sum((po - pe) ** 2 / pe))
    return float(stats.chi2.sf(chi2, po.size - 1))


def two_sample_chisq_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square homogeneity p-value of two integer samples (cells pooled to >= 5 expected)."""
    a, b = np.asarray(a, int), np.asarray(b, int)
    hi = int(max(a.max(), b.max())) + 1
    ca = np.bincount(a, minlength=hi).astype(float)
    cb = np.bincount(b, minlength=hi).astype(float)
    cols, acc_a, acc_b = [], 0.0, 0.0
    min_exp = 5.0 * (a.size + b.size) / min(a.size, b.size)
    for x, y in zip(ca, cb, strict=True):
        acc_a += x
        acc_b += y
        if acc_a + acc_b >= min_exp:
            cols.append((acc_a, acc_b))
            acc_a = acc_b = 0.0
    if acc_a + acc_b > 0:
        if cols:
            cols[-1] = (cols[-1][0] + acc_a, cols[-1][1] + acc_b)
        else:
            cols.append((acc_a, acc_b))
    if len(cols) < 2:
        return 1.0
    table = np.array(cols).T
    return float(stats.chi2_contingency(table, correction=False)[1])


# ---------------------------------------------------------------------------------------------
# Random bits
# ---------------------------------------------------------------------------------------------
def test_threefry_known_answers():
    # Known-answer vectors of Threefry-2x32-20 published with Random123 (kat_vectors).
    cases = [
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]
    for key, ctr, want in cases:
        got = threefry2x32(*(jnp.uint32(v) for v in key + ctr))
        assert (int(got[0]), int(got[1])) == want


# ---------------------------------------------------------------------------------------------
# Binomial sampler
# ---------------------------------------------------------------------------------------------
BINOM_CASES = [
    (1, 0.5),  # Bernoulli
    (20, 0.2),  # inversion, small n
    (1000, 0.004),  # inversion, n p = 4
    (99, 0.1),  # inversion (n p = 9.9)
    (119, 0.1),  # inversion just below the switch (n p = 11.9, INVERSION_THRESHOLD = 12)
    (120, 0.1),  # BTRS at the switch (n p = 12)
    (1000, 0.3),  # BTRS
    (10**6, 0.5),  # BTRS, large n
    (10**6, 3e-6),  # inversion, large n, tiny p
    (50, 0.999),  # p near 1 (drawn as n - Binomial(n, 0.001))
    (400, 0.97),  # p near 1, BTRS for 1 - p
]
N_DRAWS = 100_000


def _draws(seed: int, n, p) -> np.ndarray:
    return np.asarray(binomial(jax.random.key(seed), n, p, (N_DRAWS,)))


@pytest.mark.parametrize("case", range(len(BINOM_CASES)))
def test_binomial_matches_scipy(case):
    n, p = BINOM_CASES[case]
    x = _draws(100 + case, n, p)
    assert x.dtype == np.int32 and x.min() >= 0 and x.max() <= n
    lo = int(max(0, stats.binom.ppf(1e-12, n, p) - 1))
    hi = int(min(n, stats.binom.isf(1e-12, n, p) + 1))
    assert x.min() >= lo and x.max() <= hi  # outside: probability < 2e-12 * N_DRAWS
    pmf = stats.binom.pmf(np.arange(lo, hi + 1), n, p)
    pmf = pmf / pmf.sum()
    pval = pooled_chisq_pvalue(x - lo, pmf)
    # Bonferroni over the parametrised cases: each case is tested at ALPHA / len(BINOM_CASES)
    assert pval > ALPHA / len(BINOM_CASES), (n, p, pval)


def test_binomial_checker_rejects_wrong_law():
    # the same checker must reject Binomial(n, 1.02 p) and Binomial(n, p) with a +1 shift
    n, p = 1000, 0.3
    x = _draws(7, n, p)
    lo, hi = 200, 400
    for wrong_p, shift in ((1.02 * p, 0), (p, 1)):
        pmf = stats.binom.pmf(np.arange(lo, hi + 1) - shift, n, wrong_p)
        pmf = pmf / pmf.sum()
        assert pooled_chisq_pvalue(x - lo, pmf) < ALPHA
    n, p = 20, 0.2  # inversion path
    x = _draws(8, n, p)
    pmf = stats.binom.pmf(np.arange(n + 1), n, 1.02 * p)
    assert pooled_chisq_pvalue(x, pmf / pmf.sum()) < ALPHA


def _law_pvalue(x: np.ndarray, n: int, p: float) -> float:
    lo = int(max(0, stats.binom.ppf(1e-12, n, p) - 1))
    hi = int(min(n, stats.binom.isf(1e-12, n, p) + 1))
    assert x.min() >= lo and x.max() <= hi
    pmf = stats.binom.pmf(np.arange(lo, hi + 1), n, p)
    return pooled_chisq_pvalue(x - lo, pmf / pmf.sum())


def test_binomial_rare_paths_keep_the_law(monkeypatch):
    # Paths that the default settings take only rarely, forced here (new shapes, so that the
    # jitted sampler is traced again with the patched constants):
    # (a) inversion past its unrolled terms (u >= F(2): the walk continues from term 3);
    # (b) BTRS elements rejected by both fused attempts, served 16 at a time in many chunks.
    # Each law is checked by chi-square at ALPHA / 2; a walk continued from the wrong term, or a
    # retry queue with wrong per-element constants, fails these checks (tried).
    monkeypatch.setattr(samplers, "_INV_TERMS", 3)
    monkeypatch.setattr(samplers, "_MIN_QUEUE", 16)
    monkeypatch.setattr(samplers, "_RETRY_FRACTION", 10**6)
    for seed, (n, p) in enumerate([(80, 0.1), (300, 0.1)]):
        x = np.asarray(binomial(jax.random.key(40 + seed), n, p, (N_DRAWS + 7 + seed,)))
        assert _law_pvalue(x, n, p) > ALPHA / 2, (n, p)


def test_binomial_edge_cases_and_broadcasting():
    key = jax.random.key(3)
    assert np.all(np.asarray(binomial(key, 1000, 0.0, (N_DRAWS,))) == 0)
    assert np.all(np.asarray(binomial(key, 1000, 1.0, (N_DRAWS,))) == 1000)
    assert np.all(np.asarray(binomial(key, 0, 0.4, (N_DRAWS,))) == 0)
    n = np.array([[0], [5], [10**6]])
    p = np.array([[0.0, 0.3, 1.0, 0.5]])
    x = np.asarray(binomial(key, n, p))
    assert x.shape == (3, 4) and x.dtype == np.int32
    assert np.all(x[:, 0] == 0) and np.all(x[:, 2] == n[:, 0]) and np.all(x[0] == 0)
    assert np.all((x >= 0) & (x <= n))


def test_binomial_traced_arguments():
    # n and p may be traced (jit); the law is unchanged: mean and variance z-tests
    f = jax.jit(lambda k, n, p: binomial(k, n, p, (N_DRAWS,)))
    z = z_crit(4)
    for n, p in ((30.0, 0.1), (5000.0, 0.45)):
        x = np.asarray(f(jax.random.key(11), jnp.float32(n), jnp.float32(p)), float)
        mean, var = n * p, n * p * (1 - p)
        assert abs(x.mean() - mean) < z * np.sqrt(var / x.size)
        # SE of the sample variance: sqrt((mu4 - var^2) / R), mu4 from scipy's excess kurtosis
        mu4 = (stats.binom.stats(n, p, moments="k") + 3) * var**2
        assert abs(x.var() - var) < z * np.sqrt((mu4 - var**2) / x.size)


def test_binomial_validation():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n must be an integer"):
        binomial(key, -1, 0.5)
    with pytest.raises(ValueError, match="n must be an integer"):
        binomial(key, 2.5, 0.5)
    with pytest.raises(ValueError, match=r"p must be a real in \[0, 1\]"):
        binomial(key, 10, 1.5)
    with pytest.raises(ValueError, match=r"p must be a real in \[0, 1\]"):
        binomial(key, 10, float("nan"))


# ---------------------------------------------------------------------------------------------
# Multinomial sampler
# ---------------------------------------------------------------------------------------------
def test_multinomial_moments_and_sum():
    p = np.array([0.45, 0.0, 0.4, 0.15])
    n, R = 60, 40_000
    x = np.asarray(multinomial(jax.random.key(5), n, np.broadcast_to(p, (R, p.size))))
    assert x.dtype == np.int32 and x.shape == (R, p.size)
    assert np.all(x.sum(axis=1) == n)  # exactly
    assert np.all(x[:, 1] == 0)  # zero-probability category
    K = p.size
    pairs = [(i, j) for i in range(K) for j in range(i + 1, K) if p[i] > 0 and p[j] > 0]
    z = z_crit(K + len(pairs))
    xf = x.astype(float)
    for i in range(K):  # marginals: X_i ~ Binomial(n, p_i)
        var = n * p[i] * (1 - p[i])
        if var > 0:
            assert abs(xf[:, i].mean() - n * p[i]) < z * np.sqrt(var / R), i
    d = xf - n * p
    for i, j in pairs:  # Cov(X_i, X_j) = -n p_i p_j; SE from the products' sample spread
        prod = d[:, i] * d[:, j]
        assert abs(prod.mean() + n * p[i] * p[j]) < z * prod.std() / np.sqrt(R), (i, j)
    # one-symbol marginal law by chi-square
    pmf = stats.binom.pmf(np.arange(n + 1), n, p[0])
    assert pooled_chisq_pvalue(x[:, 0], pmf) > ALPHA


@pytest.mark.slow
def test_multinomial_two_stage_path(monkeypatch):
    # the blocked path (block totals, then symbols within blocks) is used for K > 16; force it
    # at K = 7 (blocks of 3, two padding symbols) and check the marginals' laws and the sum
    monkeypatch.setattr(samplers, "_SINGLE_STAGE_K", 2)
    p = np.array([0.3, 0.05, 0.0, 0.2, 0.25, 0.15, 0.05])
    n, R = 40, 20_000
    x = np.asarray(multinomial(jax.random.key(6), n, np.broadcast_to(p, (R, p.size))))
    assert x.shape == (R, p.size) and np.all(x.sum(axis=1) == n) and np.all(x[:, 2] == 0)
    cells = [i for i in range(p.size) if p[i] > 0]
    for i in cells:  # X_i ~ Binomial(n, p_i); Bonferroni over the symbols
        pmf = stats.binom.pmf(np.arange(n + 1), n, p[i])
        assert pooled_chisq_pvalue(x[:, i], pmf) > ALPHA / len(cells), i
    # a block total (symbols 3..5) ~ Binomial(n, p_3 + p_4 + p_5)
    pmf = stats.binom.pmf(np.arange(n + 1), n, p[3:6].sum())
    assert pooled_chisq_pvalue(x[:, 3:6].sum(axis=1), pmf) > ALPHA


def test_multinomial_validation():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="p must be a probability vector"):
        multinomial(key, 10, np.array([0.5, -0.1, 0.6]))
    with pytest.raises(ValueError, match="p must be a probability vector .*got sum"):
        multinomial(key, 10, np.array([0.5, 0.1]))
    with pytest.raises(ValueError, match="n must be an integer"):
        multinomial(key, -3, np.array([0.5, 0.5]))


@pytest.mark.slow
def test_multinomial_large_K():
    K, n, R = 100_000, 10**6, 16
    p = 1.0 / np.arange(1, K + 1)
    p /= p.sum()
    x = np.asarray(multinomial(jax.random.key(2), n, np.broadcast_to(p, (R, K))))
    assert np.all(x.sum(axis=1) == n)
    z = z_crit(2)
    for lo, hi in ((0, 10), (K // 2, K)):  # grouped mass ~ Binomial(n, P)
        P = p[lo:hi].sum()
        s = x[:, lo:hi].sum(axis=1)
        assert abs(s.mean() - n * P) < z * np.sqrt(n * P * (1 - P) / R)


# ---------------------------------------------------------------------------------------------
# Simulator
# ---------------------------------------------------------------------------------------------
P0 = np.array([0.5, 0.3, 0.15, 0.05])
M_SMALL, G_SMALL, CHAINS = 20, 30, 2000


@pytest.fixture(scope="module")
def runs() -> dict[str, DiscreteRun]:
    kw = dict(p0=P0, M=M_SMALL, generations=G_SMALL, chains=CHAINS, record_counts=True)
    return {
        "sufficient": simulate(jax.random.key(21), method="sufficient", **kw),
        "samples": simulate(jax.random.key(22), method="samples", **kw),
    }


def test_run_shapes_and_generation0(runs):
    for r in runs.values():
        R = G_SMALL + 1
        assert np.array_equal(r.generations, np.arange(R))
        assert r.survivors.shape == (R, CHAINS) and r.heterozygosity.shape == (R, CHAINS)
        assert r.counts.shape == (R, CHAINS, P0.size)
        assert np.all(r.counts[1:].sum(axis=2) == M_SMALL)
        assert np.all(r.survivors[0] == 4)
        np.testing.assert_allclose(r.heterozygosity[0], 1 - np.sum(P0**2))
        np.testing.assert_allclose(r.entropy[0], -np.sum(P0 * np.log(P0)))
        q = r.counts[1:] / M_SMALL
        np.testing.assert_allclose(r.heterozygosity[1:], 1 - np.sum(q**2, axis=2), atol=1e-6)
        ent = -np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0), axis=2)
        np.testing.assert_allclose(r.entropy[1:], ent, atol=2e-6)
        assert np.array_equal(r.survivors[1:], np.sum(r.counts[1:] > 0, axis=2))


def test_first_generation_is_binomial(runs):
    # after one refit the count of symbol i is Binomial(M, p0_i) (2 methods x 4 symbols)
    checks = 2 * P0.size
    for r in runs.values():
        for i, pi in enumerate(P0):
            pmf = stats.binom.pmf(np.arange(M_SMALL + 1), M_SMALL, pi)
            pval = pooled_chisq_pvalue(r.counts[1, :, i], pmf)
            assert pval > ALPHA / checks, (r.method, i, pval)


def test_samples_and_counts_agree_in_law(runs):
    a, b = runs["sufficient"], runs["samples"]
    gens = (2, 5, 12, 30)
    checks = 3 * len(gens) + 1  # Bonferroni over every two-sample test below
    for g in gens:
        assert two_sample_chisq_pvalue(a.counts[g, :, 0], b.counts[g, :, 0]) > ALPHA / checks
        assert two_sample_chisq_pvalue(a.survivors[g], b.survivors[g]) > ALPHA / checks
        # heterozygosity = 1 - sum c^2 / M^2: compare the integer sum c^2
        sa = np.sum(a.counts[g].astype(int) ** 2, axis=1)
        sb = np.sum(b.counts[g].astype(int) ** 2, axis=1)
        assert stats.ks_2samp(sa, sb).pvalue > ALPHA / checks  # conservative on discrete data
    ta = np.where(a.absorption_generation < 0, G_SMALL + 1, a.absorption_generation)
    tb = np.where(b.absorption_generation < 0, G_SMALL + 1, b.absorption_generation)
    assert two_sample_chisq_pvalue(ta, tb) > ALPHA / checks


def test_agreement_checker_detects_a_wrong_simulator(runs):
    # feed the two-sample checkers a wrong simulator: generation 16 passed off as generation 12
    # (equivalently, refits with a smaller M); every checker used above must reject it
    a, b = runs["samples"], runs["sufficient"]
    assert two_sample_chisq_pvalue(a.survivors[12], b.survivors[16]) < ALPHA
    assert two_sample_chisq_pvalue(a.counts[12, :, 0], b.counts[16, :, 0]) < ALPHA
    sa = np.sum(a.counts[12].astype(int) ** 2, axis=1)
    sb = np.sum(b.counts[16].astype(int) ** 2, axis=1)
    assert stats.ks_2samp(sa, sb).pvalue < ALPHA


def test_extinction_and_absorption_consistent_with_counts(runs):
    for r in runs.values():
        zero = r.counts[1:] == 0  # (G, chains, K), generation g at index g - 1
        ever = zero.any(axis=0)
        first = np.where(ever, zero.argmax(axis=0) + 1, -1)
        assert np.array_equal(r.extinction_generation, first)
        single = r.survivors[1:] == 1
        first_abs = np.where(single.any(axis=0), single.argmax(axis=0) + 1, -1)
        assert np.array_equal(r.absorption_generation, first_abs)
        # without smoothing a lost symbol never comes back
        lost = r.counts[1:] == 0
        assert np.all(lost[1:] >= lost[:-1])


def test_chunk_invariance_bit_identical(runs):
    ref = runs["sufficient"]
    r = simulate(jax.random.key(21), p0=P0, M=M_SMALL, generations=G_SMALL, chains=CHAINS,
                 record_counts=True, chunk_size=512)
    for name in ("survivors", "heterozygosity", "entropy", "counts", "extinction_generation",
                 "absorption_generation"):
        assert np.array_equal(getattr(r, name), getattr(ref, name)), name
    # the sample path (exact integer token draws from p0, then resampled counts)
    ref = runs["samples"]
    r = simulate(jax.random.key(22), p0=P0, M=M_SMALL, generations=G_SMALL, chains=CHAINS,
                 method="samples", record_counts=True, chunk_size=300)
    assert np.array_equal(r.counts, ref.counts)
    assert np.array_equal(r.extinction_generation, ref.extinction_generation)


def test_chunk_invariance_of_the_weighted_sample_path():
    # float32 weights (beta > 0, T != 1) read exactly as fixed point: the same counts whatever
    # the batch shape
    kw = dict(p0=P0, M=M_SMALL, generations=6, chains=700, method="samples", beta=0.3,
              temperature=0.8, record_counts=True, record=[1, 6])
    a = simulate(jax.random.key(23), **kw)
    b = simulate(jax.random.key(23), chunk_size=200, **kw)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.entropy, b.entropy)


def test_save_load_roundtrip(runs, tmp_path):
    r = runs["sufficient"]
    path = tmp_path / "run.npz"
    r.save(path)
    back = DiscreteRun.load(path)
    for name in ("generations", "survivors", "heterozygosity", "entropy", "counts",
                 "extinction_generation", "absorption_generation", "p0"):
        assert np.array_equal(getattr(back, name), getattr(r, name)), name
    assert (back.M, back.method, back.chains, back.n_generations) == (
        r.M, r.method, r.chains, r.n_generations)
    assert back.beta == r.beta and back.temperature == r.temperature


def test_record_handling():
    kw = dict(M=10, chains=8, method="samples", generations=12, record=[5, 2, 5])
    r = simulate(jax.random.key(0), p0=[0.6, 0.4], **kw)
    assert np.array_equal(r.generations, [0, 2, 5])
    assert r.survivors.shape == (3, 8) and r.extinction_generation.shape == (8, 2)
    # a delta is absorbed at generation 0 and the other symbol is extinct from generation 0
    rd = simulate(jax.random.key(0), p0=[1.0, 0.0], **kw)
    assert np.all(rd.absorption_generation == 0)
    assert np.array_equal(rd.extinction_generation, np.tile([-1, 0], (8, 1)))
    assert np.all(rd.survivors == 1) and np.allclose(rd.heterozygosity, 0.0)
    r0 = simulate(jax.random.key(0), p0=[0.6, 0.4], M=10, chains=8, generations=0,
                  track_extinction=False)
    assert np.array_equal(r0.generations, [0]) and np.all(r0.absorption_generation == -1)
    assert r0.extinction_generation is None
    assert np.array_equal(default_record(10), np.arange(11))
    big = default_record(10**5)
    assert big[0] == 0 and big[-1] == 10**5 and np.all(np.diff(big) > 0) and big.size <= 200


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(p0=[0.5, -0.1, 0.6]), "p0"),
        (dict(p0=[0.5, 0.4]), "p0"),
        (dict(p0=[[0.5, 0.5]]), "p0"),
        (dict(M=0), "M"),
        (dict(M=2.5), "M"),
        (dict(generations=-1), "generations"),
        (dict(chains=0), "chains"),
        (dict(beta=-0.1), "beta"),
        (dict(temperature=0.0), "temperature"),
        (dict(method="exact"), "method"),
        (dict(record=[11]), "record"),
        (dict(record=[-1]), "record"),
        (dict(chunk_size=0), "chunk_size"),
    ],
)
def test_simulate_validation(kwargs, name):
    args = dict(p0=[0.5, 0.5], M=10, generations=10, chains=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        simulate(jax.random.key(0), **args)


@pytest.mark.slow
def test_smoothing_and_temperature_paths_agree():
    # beta > 0 and T != 1: float weights in both paths; compare in law at generation 10
    kw = dict(p0=P0, M=M_SMALL, generations=10, chains=1500, beta=0.5, temperature=0.7,
              record_counts=True, record=[1, 10])
    a = simulate(jax.random.key(31), method="sufficient", **kw)
    b = simulate(jax.random.key(32), method="samples", **kw)
    checks = 3
    assert two_sample_chisq_pvalue(a.counts[2, :, 0], b.counts[2, :, 0]) > ALPHA / checks
    assert two_sample_chisq_pvalue(a.counts[2, :, 3], b.counts[2, :, 3]) > ALPHA / checks
    assert two_sample_chisq_pvalue(a.survivors[2], b.survivors[2]) > ALPHA / checks
    # smoothing removes the absorbing states: lost symbols come back in some chains
    assert np.any((a.extinction_generation >= 1) & (a.counts[2] > 0))
    q = (a.counts[2] + 0.5) / (M_SMALL + P0.size * 0.5)
    np.testing.assert_allclose(a.heterozygosity[2], 1 - np.sum(q**2, axis=1), atol=1e-6)


def test_smoothing_removes_absorption_quick():
    # beta > 0: the fitted model keeps every symbol, lost symbols come back (no absorbing state)
    r = simulate(jax.random.key(4), p0=[0.7, 0.2, 0.1], M=10, generations=40, chains=64,
                 beta=1.0, temperature=0.8, method="samples", record_counts=True)
    back = (r.extinction_generation >= 1) & (r.counts[-1] > 0)
    assert back.any()
    q = (r.counts[1:] + 1.0) / (10 + 3 * 1.0)
    np.testing.assert_allclose(r.heterozygosity[1:], 1 - np.sum(q**2, axis=2), atol=1e-6)


DEVICE_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from modelcollapse.sims.discrete import simulate
    assert len(jax.devices()) == 4, jax.devices()
    kw = dict(p0=[0.4, 0.3, 0.2, 0.1], M=30, generations=15, chains=50, record_counts=True)
    for extra in ({}, dict(method="samples", beta=0.3)):
        one = simulate(jax.random.key(9), **kw, **extra)
        four = simulate(jax.random.key(9), devices=4, **kw, **extra)
        for name in ("survivors", "heterozygosity", "entropy", "counts",
                     "extinction_generation", "absorption_generation"):
            assert np.array_equal(getattr(one, name), getattr(four, name)), (name, extra)
    print("DEVICES-OK")
    """
)


def test_four_devices_match_one_device():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        " --xla_force_host_platform_device_count=4").strip()
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", DEVICE_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "DEVICES-OK" in out.stdout


# ---------------------------------------------------------------------------------------------
# The sample path at probabilities below float32 resolution
# ---------------------------------------------------------------------------------------------
# J symbols of probability (or weight share) EPS = 2^-26 lead the vector. A token sampler that
# rounds its uniforms or cumulative weights to float32 (a 2^-23 grid) reaches at most one in 8
# of them (the ones whose interval holds a grid point: k = 0 or 7 mod 8), so the class
# TINY = {k < J: k mod 8 in 1..6} (768 symbols) is never drawn; an exact sampler draws it with
# probability 768 EPS per token. N = chains * M ~ 1.05e7 tokens: about 120 expected.
EPS, J, M_TINY, CHAINS_TINY = 2.0**-26, 1024, 1024, 10240
TINY = np.asarray([k for k in range(J) if k % 8 not in (0, 7)])


def _binomial_z(x: float, n: float, p: float) -> float:
    return (x - n * p) / np.sqrt(n * p * (1 - p))


def test_samples_path_exact_at_tiny_probabilities():
    # Generation 1 draws from p0 itself (float64). Two statistics, Bonferroni over 2 (z_crit):
    # (a) the class total over all chains ~ Binomial(N, 768 EPS) exactly (a sum of multinomial
    #     counts), z-test with the binomial standard error;
    # (b) the (chain, symbol) pairs of the class alive after one generation: expectation
    #     chains * 768 * (1 - (1 - EPS)^M); the indicators are independent across chains and
    #     negatively associated within a chain, so the binomial standard error is conservative.
    # The float32 sampler of version 0.2 gave 0 for both (z < -10).
    big = (1.0 - J * EPS) / 2
    p0 = np.concatenate([np.full(J, EPS), [big, big]])
    r = simulate(jax.random.key(41), p0=p0, M=M_TINY, generations=1, chains=CHAINS_TINY,
                 method="samples", record_counts=True, track_extinction=False)
    c = r.counts[1][:, TINY]
    z = z_crit(2)
    n_tok = CHAINS_TINY * M_TINY
    assert abs(_binomial_z(c.sum(), n_tok, TINY.size * EPS)) < z, c.sum()
    q = 1.0 - (1.0 - EPS) ** M_TINY
    alive = int((c > 0).sum())
    assert abs(_binomial_z(alive, CHAINS_TINY * TINY.size, q)) < z, alive


def test_samples_path_exact_for_smoothed_weights():
    # Generation 2 draws from the float32 weights c + beta: with p0 = 0 on the first J symbols
    # their counts at generation 1 are 0, so each has weight beta = 2^-16 against M = 2^10
    # (share 2^-26) and the class total at generation 2 ~ Binomial(N, 768 beta / (M + K beta))
    # (exact in the weights; the float32 weight of the two big symbols absorbs beta, a relative
    # change of 6e-8). z-test at ALPHA with the binomial standard error; version 0.2 gave 0.
    beta = 2.0**-16
    p0 = np.concatenate([np.zeros(J), [0.5, 0.5]])
    r = simulate(jax.random.key(42), p0=p0, M=M_TINY, generations=2, chains=CHAINS_TINY,
                 method="samples", beta=beta, record=[2], record_counts=True,
                 track_extinction=False)
    total = r.counts[-1][:, TINY].sum()
    p = TINY.size * beta / (M_TINY + p0.size * beta)
    assert abs(_binomial_z(total, CHAINS_TINY * M_TINY, p)) < z_crit(1), total


@pytest.mark.slow
def test_samples_path_keeps_rare_symbols_alive_at_the_exact_rate():
    # The case of the issue "At the edges": p0_1 = 1e-9, M = 10^4, 20000 chains. The number of
    # chains in which symbol 1 is alive after one generation ~ Binomial(20000, 1 - (1 - p)^M),
    # mean 0.2: P(X >= 4) = 5.6e-5 < ALPHA (version 0.2 gave 24).
    p0 = [1e-9, 0.5 - 1e-9, 0.5 - 1e-9, 1e-9]
    r = simulate(jax.random.key(1), p0=p0, M=10_000, generations=1, chains=20_000,
                 method="samples", record_counts=True)
    n, q = 20_000, 1.0 - (1.0 - 1e-9) ** 10_000
    for k in (0, 3):
        alive = int((r.counts[1][:, k] > 0).sum())
        assert stats.binom.sf(alive - 1, n, q) > ALPHA / 2, (k, alive)
