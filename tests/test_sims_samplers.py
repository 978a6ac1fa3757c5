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


# ---------------------------------------------------------------------------------------------
# Exact categorical token draws (modelcollapse.sims.rng.categorical)
# ---------------------------------------------------------------------------------------------
from fractions import Fraction  # noqa: E402

from modelcollapse.sims.rng import categorical as cat  # noqa: E402


def _words(hi, lo) -> list[int]:
    return [(int(h) << 32) | int(lo_) for h, lo_ in zip(np.ravel(hi), np.ravel(lo), strict=True)]


def test_cdf_thresholds_are_exact():
    # C_k = sum_{i<k} floor(p_i 2^62) in exact rational arithmetic, for probabilities spanning
    # 1e-300..1: each symbol's mass is exact to one unit, 2^-62 of the total
    rng = np.random.default_rng(5)
    p = np.concatenate([[1e-300, 0.0, 1e-9, 2.0**-60], rng.random(20), [0.0]])
    p = p / p.sum()
    thr, total = cat.cdf_thresholds(p)
    fr = [Fraction(float(x)) for x in p]
    w = [int(x * 2**62) for x in fr]
    assert [int(t) for t in thr] == [sum(w[:k]) for k in range(1, p.size)]
    assert total == sum(w) and abs(total - 2**62) < 2**62 * 1e-12
    assert int(thr[0]) == 0 and thr[0] == thr[1] and thr[-1] == total  # 1e-300 and zeros: empty


def test_mulhi64_is_exact():
    rng = np.random.default_rng(6)
    a = [int(x) for x in rng.integers(0, 2**63, 1000, dtype=np.uint64)] + [2**64 - 1, 0]
    b = [int(x) for x in rng.integers(0, 2**63, 1000, dtype=np.uint64)] + [2**64 - 1, 5]
    words = [jnp.asarray([x >> 32 for x in v], jnp.uint32) for v in (a, b)]
    hi, lo = cat.mulhi64(words[0], jnp.asarray([x & 0xFFFFFFFF for x in a], jnp.uint32),
                         words[1], jnp.asarray([x & 0xFFFFFFFF for x in b], jnp.uint32))
    assert _words(hi, lo) == [(x * y) >> 64 for x, y in zip(a, b, strict=True)]


WEIGHT_ROWS = np.array([
    [1.0, 2.0**-20, 0.0, 0.5, 1e-30],  # 2^-20 resolved next to 1; 1e-30 below 2^-59
    [2.0**-149, 2.0**-148, 0.0, 0.0, 0.0],  # subnormals: 1 : 2
    [3e38, 1e38, 0.0, 0.0, 0.0],  # near the float32 maximum
    [0.0, 0.0, 0.0, 0.0, 7.0],
    [0.1, 0.2, 0.3, 0.4, 0.0],
], np.float32)


def test_weight_thresholds_are_one_fixed_point_per_row():
    # every weight is floor(w 2^S) for one S per row (the weights read exactly from their
    # bits), and the row total lies in [2^59, 2^62)
    th, tl, ch, cl = cat.weight_thresholds(jnp.asarray(WEIGHT_ROWS))
    for r, w in enumerate(WEIGHT_ROWS):
        cum = [0] + _words(th[r], tl[r]) + _words(ch[r], cl[r])
        W = np.diff(cum).tolist()
        assert 2**59 <= cum[-1] < 2**62
        i = int(np.argmax(w))
        scale = Fraction(W[i]) / Fraction(float(w[i]))  # a power of two, maybe below 1
        assert 1 in (scale.numerator, scale.denominator)
        assert all(v & (v - 1) == 0 for v in (scale.numerator, scale.denominator))
        assert W == [int(Fraction(float(x)) * scale) for x in w], r


@pytest.fixture(scope="module")
def token_totals() -> np.ndarray:
    """16 rows of each weight vector, 2^16 tokens per row: per vector and symbol, the total
    count of N = 2^20 tokens."""
    reps, m = 16, 2**16
    w = np.repeat(WEIGHT_ROWS, reps, axis=0)
    k = jnp.arange(w.shape[0], dtype=jnp.uint32)
    counts = np.asarray(jax.jit(cat.token_counts, static_argnums=3)(
        k, k * 7 + 1, jnp.uint32(3), m, cat.weight_thresholds(jnp.asarray(w))))
    assert np.all(counts.sum(axis=1) == m)
    return counts.reshape(len(WEIGHT_ROWS), reps, -1).sum(axis=1)


TOKENS = 2**20
_EXACT = [np.asarray([Fraction(float(x)) for x in row], object) for row in WEIGHT_ROWS]
PROBS = [np.asarray([float(x / sum(row)) for x in row]) for row in _EXACT]


def binomial_failures(tot: np.ndarray, probs: list[np.ndarray], alpha: float) -> list:
    """Checker: each symbol's total ~ Binomial(TOKENS, p_i) by the exact two-sided binomial
    test, Bonferroni over the symbols with p_i > 1e-20; those below (weight 0, and 1e-30 with
    6e-25 expected tokens) must never be drawn. Returns the failures."""
    checks = sum(int(np.sum(p > 1e-20)) for p in probs)
    fails = []
    for r, p in enumerate(probs):
        if np.any(tot[r][p < 1e-20] != 0):
            fails.append((r, "drawn with probability 0"))
        for i in np.nonzero(p > 1e-20)[0]:
            if stats.binomtest(int(tot[r, i]), TOKENS, p[i]).pvalue <= alpha / checks:
                fails.append((r, i, int(tot[r, i]), p[i] * TOKENS))
    return fails


def test_token_counts_follow_the_weights_exactly(token_totals):
    # alpha = ALPHA over every symbol of every vector (Bonferroni inside the checker)
    assert binomial_failures(token_totals, PROBS, ALPHA) == []


def test_token_checker_rejects_a_wrong_law(token_totals):
    # the same checker on the same draws must reject weights off by 2 % (the largest symbol
    # of each vector 2 % heavier, renormalised)
    wrong = []
    for p in PROBS:
        q = p.copy()
        q[np.argmax(q)] *= 1.02
        wrong.append(q / q.sum())
    assert binomial_failures(token_totals, wrong, ALPHA) != []


def test_count_and_host_thresholds():
    # resampling counts (3, 0, 7): Multinomial(m, (0.3, 0, 0.7)); host thresholds of
    # p = (0.25, 0, 0.75): the same law per token. Exact binomial tests at ALPHA / 2.
    m, n = 2**14, 32
    k = jnp.arange(n, dtype=jnp.uint32)
    draw = jax.jit(cat.token_counts, static_argnums=3)
    c = np.asarray(draw(k, k + 1, jnp.uint32(1), m,
                        cat.count_thresholds(jnp.tile(jnp.asarray([3, 0, 7]), (n, 1)))))
    assert np.all(c[:, 1] == 0) and np.all(c.sum(axis=1) == m)
    assert stats.binomtest(int(c[:, 0].sum()), n * m, 0.3).pvalue > ALPHA / 2
    c = np.asarray(draw(k, k + 1, jnp.uint32(2), m,
                        tuple(jnp.asarray(v) for v in cat.host_thresholds([0.25, 0.0, 0.75]))))
    assert np.all(c[:, 1] == 0)
    assert stats.binomtest(int(c[:, 0].sum()), n * m, 0.25).pvalue > ALPHA / 2
