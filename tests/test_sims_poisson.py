"""The Poisson refit simulator and its exact Poisson sampler (no comparison with the theory here).

The sampler is checked against scipy.stats.poisson by chi-square goodness of fit (bins pooled to
>= 5 expected), each test at family-wise ALPHA = 1e-3 with Bonferroni over its checks; the two
simulator paths against each other in law, and the first generation against its exact law
``S_1 ~ Poisson(M lam0)``. Fixed seeds. A wrong law (a 2 % larger mean) must be rejected by the
same checker.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import stats

from modelcollapse.sims.poisson import PoissonRun, simulate
from modelcollapse.sims.rng.poisson import poisson

ALPHA = 1e-3
LAMS = (0.3, 3.0, 15.9, 16.0, 40.0, 1234.5, 1e6)  # around the 16 switch, and jumps


def gof_pvalue(x: np.ndarray, lam: float) -> float:
    """Chi-square p-value of integer draws ``x`` against Poisson(lam), cells pooled so that
    every expected count is >= 5 (the tails beyond 1e-12 mass are pooled into the end cells)."""
    lo = int(stats.poisson.ppf(1e-12, lam))
    hi = int(stats.poisson.isf(1e-12, lam)) + 1
    ks = np.arange(lo, hi + 1)
    pmf = stats.poisson.pmf(ks, lam)
    pmf[0] += stats.poisson.cdf(lo - 1, lam)
    pmf[-1] += stats.poisson.sf(hi, lam)
    obs = np.bincount(np.clip(x, lo, hi) - lo, minlength=ks.size).astype(float)
    exp = pmf * x.size
    po, pe, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(obs, exp, strict=True):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 5:
            po.append(acc_o)
            pe.append(acc_e)
            acc_o = acc_e = 0.0
    po[-1] += acc_o
    pe[-1] += acc_e
    po, pe = np.array(po), np.array(pe)
    return float(stats.chi2.sf(np.sum((po - pe) ** 2 / pe), po.size - 1))


@pytest.fixture(scope="module")
def draws():
    key = jax.random.key(11)
    lam = np.repeat(np.asarray(LAMS), 100_000).reshape(len(LAMS), 100_000)
    return np.asarray(poisson(key, lam))


def test_sampler_matches_scipy(draws):
    assert draws.dtype == np.int32 and draws.min() >= 0
    for i, lam in enumerate(LAMS):  # Bonferroni over the means
        assert gof_pvalue(draws[i], lam) > ALPHA / len(LAMS), lam


def test_checker_rejects_a_wrong_law(draws):
    for i, lam in enumerate(LAMS[:-1]):
        assert gof_pvalue(draws[i], 1.02 * lam + 0.05) < ALPHA, lam


def test_sampler_edges_and_validation():
    key = jax.random.key(0)
    assert np.all(np.asarray(poisson(key, 0.0, (1000,))) == 0)
    x = np.asarray(poisson(key, np.array([[0.0], [2.0]]), (2, 3)))
    assert x.shape == (2, 3) and np.all(x[0] == 0)
    for bad in (-1.0, np.nan, np.inf, 2.0**25):
        with pytest.raises(ValueError, match="lam must be"):
            poisson(key, bad, (3,))


M, LAM0, G, CHAINS = 8, 1.5, 12, 20_000


@pytest.fixture(scope="module")
def runs():
    kw = dict(lam0=LAM0, M=M, generations=G, chains=CHAINS, record=[1, 3, 12])
    return {m: simulate(jax.random.key(21 + i), method=m, **kw)
            for i, m in enumerate(("sufficient", "samples"))}


def _two_sample_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    hi = int(max(a.max(), b.max())) + 1
    ca, cb = np.bincount(a, minlength=hi), np.bincount(b, minlength=hi)
    cols, acc = [], np.zeros(2)
    for x, y in zip(ca, cb, strict=True):
        acc += (x, y)
        if acc.sum() >= 20:
            cols.append(acc.copy())
            acc[:] = 0
    cols[-1] += acc
    return float(stats.chi2_contingency(np.array(cols).T, correction=False)[1])


def test_first_generation_is_poisson_M_lam0(runs):
    for r in runs.values():
        assert gof_pvalue(r.total[r.generations.tolist().index(1)], M * LAM0) > ALPHA / 2


def test_samples_and_sufficient_agree_in_law(runs):
    a, b = runs["sufficient"], runs["samples"]
    for row in (2, 3):  # generations 3 and 12, Bonferroni over 2
        assert _two_sample_pvalue(a.total[row], b.total[row]) > ALPHA / 2
    # the same checker sees generation 12 passed off as generation 3
    assert _two_sample_pvalue(a.total[2], b.total[3]) < ALPHA


def test_run_object_and_invariants(runs, tmp_path):
    r = runs["sufficient"]
    assert isinstance(r, PoissonRun) and r.rate.shape == (4, CHAINS)
    assert np.all(r.rate[0] == LAM0) and np.all(r.total[0] == -1)
    np.testing.assert_allclose(r.rate[1:], r.total[1:] / M)
    lost = r.total[1:] == 0  # zero is absorbing, and the first zero is recorded
    assert np.all(lost[1:] >= lost[:-1])
    ext = r.extinction_generation
    assert np.all((ext == -1) | (ext >= 1)) and np.all(r.total[-1][ext >= 0] == 0)
    r.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:
        assert np.array_equal(z["rate"], r.rate)


def test_chunking_is_bit_identical(runs):
    ref = runs["sufficient"]
    again = simulate(jax.random.key(21), lam0=LAM0, M=M, generations=G, chains=CHAINS,
                     record=[1, 3, 12], chunk_size=3000)
    assert np.array_equal(again.total, ref.total)
    assert np.array_equal(again.extinction_generation, ref.extinction_generation)


def test_schedule_runs_both_paths():
    sched = [3, 10, 4]
    for method in ("sufficient", "samples"):
        r = simulate(jax.random.key(5), lam0=2.0, M=sched, generations=3, chains=500,
                     method=method)
        assert r.M == (3, 10, 4) and np.allclose(r.rate[1:], r.total[1:] / np.array(sched)[:,
                                                                                          None])


@pytest.mark.parametrize("kw, match", [
    (dict(lam0=0.0), "lam0"), (dict(lam0=np.nan), "lam0"), (dict(M=0), "M"),
    (dict(M=[3, 0, 3]), r"M\[1\]"), (dict(generations=-1), "generations"),
    (dict(chains=0), "chains"), (dict(method="exact"), "method"),
    (dict(lam0=1e6, M=1000), "M \\* lam0"),
])
def test_validation(kw, match):
    args = dict(lam0=1.0, M=5, generations=3, chains=2)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        simulate(jax.random.key(0), **args)
