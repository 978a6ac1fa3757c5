"""Distribution tests of the exact Gamma sampler (modelcollapse.sims.samplers) against scipy.

Alpha: each test function uses a family-wise alpha of 1e-3, split by Bonferroni over its checks
(stated per test). Seeds are fixed. float64 checks run inside ``jax.enable_x64(True)`` (a
context manager, so the global JAX config of other test modules is untouched).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from modelcollapse.sims.rng import gamma as samplers
from modelcollapse.sims.rng.threefry import threefry2x32

SHAPES = np.array([1e-3, 0.05, 0.5, 1.0, 2.5, 49.5, 5e5])
N = 300_000  # draws per shape
ALPHA = 1e-3


def log_gamma_cdf(l: np.ndarray, a: float) -> np.ndarray:
    """P(log G <= l), G ~ Gamma(a): regularized gammainc(a, e^l); for e^l < 1e-30 its leading
    term e^(a l) / Gamma(a + 1) (relative error < 1e-30)."""
    l = np.asarray(l, dtype=np.float64)
    tiny = l < -69.0
    out = np.empty_like(l)
    out[~tiny] = special.gammainc(a, np.exp(l[~tiny]))
    out[tiny] = np.exp(a * l[tiny] - special.gammaln(a + 1.0))
    return out


@pytest.fixture(scope="module")
def draws() -> np.ndarray:
    a = jnp.asarray(SHAPES, jnp.float32)[:, None]
    lg = samplers.log_gamma(jax.random.key(20240601), a, (SHAPES.size, N))
    return np.asarray(lg, dtype=np.float64)


def check_law(lg: np.ndarray, a: float, alpha: float) -> list[str]:
    """Checker: KS of log G against the Gamma(a) law, plus z-tests of E log G = psi(a) and
    Var log G = psi'(a). Returns the failed checks (empty = accepted). alpha split over 3."""
    fails = []
    z = stats.norm.isf(alpha / 3 / 2)
    p = stats.kstest(lg, lambda x: log_gamma_cdf(x, a)).pvalue
    if p < alpha / 3:
        fails.append(f"KS p={p:.2e}")
    n = lg.size
    m1 = special.digamma(a)
    v1 = special.polygamma(1, a)
    zm = (lg.mean() - m1) / np.sqrt(v1 / n)
    if abs(zm) > z:
        fails.append(f"E log G z={zm:.2f}")
    # Var of the sample variance of log G: (mu4 - v^2)/n, mu4 = psi''' + 3 psi'^2
    mu4 = special.polygamma(3, a) + 3 * v1**2
    zv = (lg.var() - v1) / np.sqrt((mu4 - v1**2) / n)
    if abs(zv) > z:
        fails.append(f"Var log G z={zv:.2f}")
    return fails


def test_threefry_matches_jax():
    from jax.extend.random import threefry_2x32

    kd = jax.random.key_data(jax.random.key(3))
    c = jnp.arange(10, dtype=jnp.uint32)
    ref = np.asarray(threefry_2x32(kd, c))
    w0, w1 = threefry2x32(kd[0], kd[1], c[:5], c[5:])
    assert np.array_equal(ref, np.concatenate([np.asarray(w0), np.asarray(w1)]))


def test_log_gamma_law_all_shapes(draws):
    # Bonferroni: alpha 1e-3 over 7 shapes (x 3 checks inside check_law).
    for a, lg in zip(SHAPES, draws, strict=True):
        assert np.all(np.isfinite(lg)), a
        assert check_law(lg, float(a), ALPHA / SHAPES.size) == [], a


def test_checker_rejects_wrong_shape(draws):
    # The same checker, fed Gamma(1.01 a) as the claimed law, must reject at every shape.
    for a, lg in zip(SHAPES, draws, strict=True):
        assert check_law(lg, 1.01 * float(a), ALPHA / SHAPES.size) != [], a


def test_gamma_moments(draws):
    # z-tests of E G = a and Var G = a for the shapes where G is representable in float32
    # (a >= 0.5); z from alpha 1e-3 over 5 shapes x 2 moments.
    z = stats.norm.isf(ALPHA / 10 / 2)
    for a, lg in zip(SHAPES, draws, strict=True):
        if a < 0.5:
            continue
        g = np.exp(lg)
        zm = (g.mean() - a) / np.sqrt(a / N)
        mu4 = 3 * a**2 + 6 * a  # central 4th moment of Gamma(a)
        zv = (g.var() - a) / np.sqrt((mu4 - a**2) / N)
        assert abs(zm) < z and abs(zv) < z, (a, zm, zv)


def test_tiny_shape_stays_in_log_space(draws):
    lg = draws[0]  # a = 1e-3: log G is typically around -1000, far below float32 underflow
    assert np.all(np.isfinite(lg)) and np.median(lg) < -200
    assert np.all(np.asarray(samplers.gamma(jax.random.key(1), 1e-3, (10_000,))) >= 0)


def test_chisquare_and_batch_invariance():
    key = jax.random.key(5)
    c = np.asarray(samplers.chisquare(key, 99, (40_000,)), dtype=np.float64)
    # alpha 1e-3 for this single KS test
    assert stats.kstest(c, stats.chi2(99).cdf).pvalue > ALPHA
    # element e depends only on (key, e): a prefix of a longer draw is the shorter draw
    short = np.asarray(samplers.chisquare(key, jnp.full((10_000,), 99.0)), dtype=np.float64)
    assert np.array_equal(short, c[:10_000])


def test_traced_shape_and_jit():
    f = jax.jit(lambda k, a: samplers.log_gamma(k, a))
    a = jnp.array([0.3, 3.0, -1.0, jnp.nan])
    out = np.asarray(f(jax.random.key(0), a))
    assert np.all(np.isfinite(out[:2])) and np.all(np.isnan(out[2:]))


def test_float64():
    with jax.enable_x64(True):
        lg = samplers.log_gamma(jax.random.key(9), jnp.asarray([[0.5], [49.5]]), (2, 50_000),
                                dtype=jnp.float64)
        assert lg.dtype == jnp.float64
        lg = np.asarray(lg)
    # alpha 1e-3 over 2 shapes
    for a, row in zip([0.5, 49.5], lg, strict=True):
        assert check_law(row, a, ALPHA / 2) == [], a


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan, [1.0, 0.0]])
def test_invalid_shape_raises(bad):
    with pytest.raises(ValueError, match="a must be a finite real > 0"):
        samplers.gamma(jax.random.key(0), bad)


def test_invalid_args_raise():
    with pytest.raises(ValueError, match="df"):
        samplers.chisquare(jax.random.key(0), -2.0)
    with pytest.raises(ValueError, match="dtype"):
        samplers.gamma(jax.random.key(0), 1.0, (3,), dtype=jnp.float16)
    with pytest.raises(ValueError, match="broadcast"):
        samplers.gamma(jax.random.key(0), jnp.ones(3), (4,))
