"""The simulators at the edges of their domains (the issue "At the edges").

Every bad argument is refused with a ``ValueError`` that names it and its allowed range -- never
an ``OverflowError``, ``TypeError``, ``MemoryError`` or a hang -- before anything is compiled or
allocated; extreme but valid values give finite results with the right law. Statistical checks:
fixed seeds, chi-square goodness of fit (cells pooled to >= 5 expected) at ALPHA = 1e-3 per test
function, Bonferroni over its checks (stated per test).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import stats

from modelcollapse.sims import discrete, driver, gaussian, poisson

ALPHA = 1e-3
KEY = jax.random.key(0)
NDEV = len(jax.local_devices())

FAMILIES = {
    "gaussian": (gaussian.simulate, dict(M=5, generations=3, chains=2)),
    "discrete": (discrete.simulate, dict(p0=[0.5, 0.5], M=5, generations=3, chains=2)),
    "poisson": (poisson.simulate, dict(lam0=1.0, M=5, generations=3, chains=2)),
}

#: (keyword arguments, the message) refused by every family alike
COMMON = [
    (dict(generations=10**12),
     r"generations must be an integer in \[0, 2147483646\] \(got 1000000000000\)"),
    (dict(generations=1e300), r"generations must be an integer in \[0, 2147483646\]"),
    (dict(chains=10**12), r"chains=1000000000000: the recorded results need about [\d.]+ TiB, "
     r"more than this machine's memory"),
    (dict(devices="cpu"), r"devices must be None, an integer in \[1, \d+\]"),
    (dict(devices=64), rf"devices must be an integer in \[1, {NDEV}\] \(got 64\)"),
    (dict(devices=[0, 1]), r"sequence of distinct local jax devices \(got \['0', '1'\]\)"),
    (dict(M=[[1, 2], [3]]), r"M must be an integer .* \(got \[\[1, 2\], \[3\]\]\)"),
]

#: (family, keyword arguments, the message) of one family
SPECIFIC = [
    ("gaussian", dict(M=10**12), r"M must be an integer in \[2, 2147483647\]"),
    ("gaussian", dict(M=10**9, method="samples"),
     r"M=1000000000 with method='samples' .*: one batch of 128 chains needs about [\d.]+ TiB, "
     r"more than the device's memory .*; use method='sufficient'"),
    ("gaussian", dict(M=10**5, method="samples", chains=10**6, chunk_size=10**6, record=[1]),
     r"chunk_size=1000000: a batch of \d+ chains per device needs about [\d.]+ TiB"),
    ("gaussian", dict(dtype="abc"), r"dtype must be float32 or float64 \(got 'abc'\)"),
    ("gaussian", dict(ddof=1e12), r"M must be > ddof \(got M=5\.0, ddof=1000000000000\.0\)"),
    ("gaussian", dict(sigma0=1e300),
     r"sigma0 must be a real in \(0, 1\.845e\+19\] \(got 1e\+300\): the results are float32"),
    ("gaussian", dict(sigma2=1e300), r"sigma2 must be a real in \(0, 3\.403e\+38\]"),
    ("gaussian", dict(mu0=1e300), r"mu0 must be a real in \[-1\.701e\+38, 1\.701e\+38\]"),
    ("gaussian", dict(mu0=-np.inf), r"mu0 must be a finite real \(got -inf\)"),
    ("discrete", dict(M=10**12), r"M must be an integer in \[1, 16777216\]"),
    ("discrete", dict(M=10**9, method="samples"), r"M must be an integer in \[1, 16777216\]"),
    ("discrete", dict(beta=np.inf), r"beta must be a finite real >= 0"),
    ("poisson", dict(M=10**12, lam0=1e-10), r"M must be an integer in \[1, 2147483647\]"),
    ("poisson", dict(M=10**9, lam0=1e-5, method="samples"),
     r"M=1000000000 with method='samples' .*: one batch of 128 chains needs about [\d.]+ TiB.*"
     r"use method='sufficient'"),
    ("poisson", dict(lam0=1e300), r"M \* lam0 must be <= 262144"),
]

CASES = ([(f, kw, m) for f in FAMILIES for kw, m in COMMON]
         + [(f, kw, m) for f, kw, m in SPECIFIC])


@pytest.mark.filterwarnings("ignore:'sigma0' is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:chains \\* K = .* extinction_generation:UserWarning")
@pytest.mark.parametrize(("family", "kw", "match"), CASES,
                         ids=[f"{f}-{next(iter(kw))}={kw[next(iter(kw))]!r}"[:60]
                              for f, kw, _ in CASES])
def test_bad_arguments_are_refused_by_name(family, kw, match):
    fn, base = FAMILIES[family]
    with pytest.raises(ValueError, match=match):
        fn(KEY, **{**base, **kw})


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("key", [0, None, "abc", [0, 0], np.zeros(2, np.int64)],
                         ids=["0", "None", "str", "list", "int64 data"])
def test_keys_must_be_jax_keys(family, key):
    fn, base = FAMILIES[family]
    with pytest.raises(ValueError, match=r"key must be a jax\.random\.key, e\.g\. "
                       r"jax\.random\.key\(0\), .*integer seeds are not accepted"):
        fn(key, **base)


def test_legacy_key_data_still_works():
    assert driver.as_key(jax.random.PRNGKey(3)).dtype == jax.random.key(3).dtype
    with pytest.raises(ValueError, match=r"got uint32 data of shape \(3,\)"):
        driver.as_key(np.zeros(3, np.uint32))


def _gof_pvalue(x: np.ndarray, pmf: np.ndarray) -> float:
    """Chi-square p-value of integers ``x`` against ``pmf`` on 0..len(pmf) - 1, cells pooled
    from the left until each expects >= 5 (the remainder joins the last cell)."""
    obs = np.bincount(x, minlength=pmf.size).astype(float)
    exp = pmf * x.size
    po, pe, acc = [], [], np.zeros(2)
    for o, e in zip(obs, exp, strict=True):
        acc += (o, e)
        if acc[1] >= 5:
            po.append(acc[0])
            pe.append(acc[1])
            acc[:] = 0
    po[-1] += acc[0]
    pe[-1] += acc[1]
    po, pe = np.asarray(po), np.asarray(pe)
    return float(stats.chi2.sf(np.sum((po - pe) ** 2 / pe), po.size - 1))


M_EDGE, CHAINS_EDGE = 20, 4000
P0_EDGE = [0.9, 0.1]


@pytest.mark.parametrize(("method", "beta"), [("sufficient", 1e39), ("samples", 1e300)])
def test_huge_smoothing_is_the_uniform_model(method, beta):
    # beta = 1e39 used to hang (infinite float32 weights: the multinomial never accepted) and
    # beta = 1e300 to give NaN heterozygosity. q_i = (c_i + beta) / (M + K beta) is uniform to
    # within 1e-38: heterozygosity 1 - 1/K = 0.5 exactly in float32, and the counts of
    # generation 2 ~ Binomial(M, 1/2) whatever generation 1 drew. Generation 1 draws from p0:
    # Binomial(M, 0.9). Two chi-square tests at ALPHA / 2.
    r = discrete.simulate(jax.random.key(7), p0=P0_EDGE, M=M_EDGE, generations=2,
                          chains=CHAINS_EDGE, method=method, beta=beta, record_counts=True)
    assert np.all(r.heterozygosity[1:] == 0.5) and np.all(np.isfinite(r.entropy))
    ks = np.arange(M_EDGE + 1)
    assert _gof_pvalue(r.counts[1, :, 0], stats.binom.pmf(ks, M_EDGE, 0.9)) > ALPHA / 2
    assert _gof_pvalue(r.counts[2, :, 0], stats.binom.pmf(ks, M_EDGE, 0.5)) > ALPHA / 2


def test_temperature_to_zero_samples_the_argmax():
    # q^(1/T) with T = 1e-300 (1/T beyond float32): all the mass on the most frequent symbol of
    # the previous generation (used to give NaN weights). Deterministic where the argmax is
    # unique; ties split the tokens between the tied symbols.
    r = discrete.simulate(jax.random.key(8), p0=[0.5, 0.3, 0.2], M=M_EDGE, generations=2,
                          chains=500, method="samples", temperature=1e-300,
                          record_counts=True)
    c1, c2 = r.counts[1], r.counts[2]
    top = np.sort(c1, axis=1)
    unique = top[:, -1] > top[:, -2]
    assert unique.mean() > 0.5
    assert np.all(c2[unique, np.argmax(c1[unique], axis=1)] == M_EDGE)
    tied = c1 == top[:, -1:]
    assert np.all((c2 > 0) <= tied)


def test_temperature_to_infinity_is_uniform_on_the_support():
    # T = 1e300: q^(1/T) -> the indicator of the support of the previous generation (used to
    # give NaN, 0 * inf, for lost symbols). Lost symbols stay lost; where both symbols survive
    # generation 1, the counts of generation 2 ~ Binomial(M, 1/2): one chi-square test at ALPHA.
    r = discrete.simulate(jax.random.key(9), p0=P0_EDGE, M=M_EDGE, generations=2,
                          chains=CHAINS_EDGE, method="samples", temperature=1e300,
                          record_counts=True)
    c1, c2 = r.counts[1], r.counts[2]
    assert np.all((c1 == 0) <= (c2 == 0))
    both = np.all(c1 > 0, axis=1)
    pmf = stats.binom.pmf(np.arange(M_EDGE + 1), M_EDGE, 0.5)
    assert _gof_pvalue(c2[both, 0], pmf) > ALPHA


def test_gaussian_large_scales_are_exact_affine_maps():
    # mu0 = 1e30, sigma2 = 1e30 in float32: the chains run for N(0, 1) and are mapped back in
    # float64, so the run is exactly mu0 + sigma0 x (and log sigma2 + l) of the N(0, 1) run
    # with the same key (they used to overflow to inf: exp(lv / 2) of lv = 69 is fine, but
    # the generation-0 mean 1e30 plus sigma draws were not).
    kw = dict(M=10, generations=4, chains=300, record=[1, 4])
    ref = gaussian.simulate(KEY, **kw)
    big = gaussian.simulate(KEY, mu0=1e30, sigma2=1e30, **kw)
    assert np.all(np.isfinite(big.mean)) and np.all(np.isfinite(big.log_variance))
    want = (1e30 + 1e15 * ref.mean.astype(np.float64)).astype(np.float32)
    assert np.array_equal(big.mean, want)
    lv = (np.log(1e30) + ref.log_variance.astype(np.float64)).astype(np.float32)
    assert np.array_equal(big.log_variance, lv)
    assert big.mean[0, 0] == np.float32(1e30) and big.sigma2 == 1e30
    # the largest values the float32 results can hold are accepted
    top = gaussian.simulate(KEY, mu0=-1.7e38, sigma2=3.4e38, **kw)
    assert np.all(np.isfinite(top.mean)) and np.all(np.isfinite(top.log_variance))
