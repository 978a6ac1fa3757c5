"""The categorical simulator under the data workflows and the top-k / top-p sampling biases
(issue 10, points 1, 4 and 5).

Every expected value here is computed in this file, in NumPy, from the one-step law of the
workflow or the bias -- never from another path of the simulator -- or taken from
:mod:`modelcollapse.theory` (mix and accumulate, whose closed forms the simulator does not
import). Conventions: generation 0 is p0; the first fit (generation 1) sees M real samples
whatever the workflow and the bias; a bias acts on synthetic draws only, in the order
temperature, top-k, top-p. Tolerances are ``Z`` standard errors of the Monte Carlo mean (the
standard error estimated from the same chains); seeds are fixed. Each statistical check is
also fed a perturbed formula and must reject it (``|z| > Z`` for at least one coordinate).

Weighted workflow (derived here; beta = 0, no bias). With ``r`` fresh real points, ``M``
synthetic ones and real weight ``w``, ``p_t = w X_t / r + (1 - w) Y_t / M`` with
``X_t ~ Mult(r, p0)`` and, given ``p_{t-1}``, ``Y_t ~ Mult(M, p_{t-1})`` (generation 1:
``p_0 = p0``). Then ``E p_t = w p0 + (1 - w) E p_{t-1} = p0``, and for one coordinate, with
``h_i = p0_i (1 - p0_i)`` and ``v_t = Var p_{t,i}`` (``v_0 = 0``), the real and synthetic
parts being independent given ``p_{t-1}``::

    Var(Y_i / M) = E[p_{t-1,i} (1 - p_{t-1,i})] / M + v_{t-1} = (h_i - v_{t-1}) / M + v_{t-1}
    v_t = w^2 h_i / r + (1 - w)^2 [h_i / M + (1 - 1/M) v_{t-1}]

Summed over ``i``: ``D_t = E||p_t - p0||^2 = (w^2/r + (1 - w)^2/M) H* + (1 - w)^2 (1 - 1/M)
D_{t-1}`` and ``E H_t = H* - D_t`` (``H* = 1 - sum p0^2``), a linear recursion like mix's.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from modelcollapse.sims import discrete as sd
from modelcollapse.sims import driver
from modelcollapse.sims import workflows as sw
from modelcollapse.sims.rng.hypergeometric import subsample_counts
from modelcollapse.sims.rng.threefry import Stream, chain_words
from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as td
from modelcollapse.theory import discrete_drift as dd

#: z-bound of every mean comparison: two-sided 6.3e-5 per comparison, a Bonferroni level
#: below 1e-2 over the < 150 comparisons of this file (a per-symbol mean counts as one each).
Z = 4.0
SLOW = pytest.mark.slow  # CI skips these unless --runslow (each compiles a simulator)
BOTH_SLOW = [pytest.param("sufficient", marks=SLOW), pytest.param("samples", marks=SLOW)]
P0 = np.array([0.5, 0.3, 0.2])
H_STAR = 1.0 - float(np.sum(P0**2))
SUBSAMPLE = "accumulate_subsample" in sw.IMPLEMENTED  # the seam runs the workflow
_RUNS: dict[tuple, sd.DiscreteRun] = {}


def _z(x: np.ndarray, target: np.ndarray | float = 0.0) -> np.ndarray:
    """z-scores of the mean over axis 0 of ``x`` against ``target`` (per remaining entry); an
    entry with no spread counts as exact (z = 0 if equal, inf if not)."""
    x = np.asarray(x, np.float64)
    se = x.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    diff = x.mean(axis=0) - target
    return np.where(se > 0, diff / np.where(se > 0, se, 1.0),
                    np.where(np.abs(diff) < 1e-12, 0.0, np.inf))


def _accepts(x: np.ndarray, target: np.ndarray | float = 0.0) -> bool:
    return bool(np.all(np.abs(_z(x, target)) <= Z))


def _two_sample_z(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float((a.mean() - b.mean()) / se)


def _run(wf: W.Workflow, method: str, *, M: int = 10, generations: int = 5,
         chains: int = 20_000, p0: tuple[float, ...] = tuple(P0), beta: float = 0.0,
         key: int = 0) -> sd.DiscreteRun:
    """One simulator run, cached for the file (every generation recorded, with counts)."""
    args = (wf, method, M, generations, chains, p0, beta, key)
    if args not in _RUNS:
        _RUNS[args] = sd.simulate(jax.random.key(key), p0=list(p0), M=M,
                                  generations=generations, chains=chains, method=method,
                                  workflow=wf, beta=beta,
                                  record=list(range(1, generations + 1)), record_counts=True,
                                  track_extinction=False)
    return _RUNS[args]


def _fitted(wf: W.Workflow, method: str, *, M: int, p0: tuple[float, ...], generations: int,
            chains: int, key: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fitted probabilities q (R, chains, K) and heterozygosity (R, chains) at generations
    0..generations, from the family's kernel on the driver (the ``q`` observable)."""
    K = len(p0)
    r = wf.real_count(M)
    m_max = max(M, r)
    fam = sd.CategoricalFamily(method=method, K=K, track=False,
                               M=m_max if method == "samples" else 0,
                               masked=method == "samples", weighted=wf.name == "weighted")
    p = np.asarray(p0, np.float64)
    cdf = tuple(jnp.asarray(v) for v in sd.host_thresholds(p)) if method == "samples" else None
    params = sd.CategoricalParams(sched=jnp.asarray([M], jnp.int32),
                                  p0w=jnp.asarray(p, jnp.float32), cdf=cdf)
    out = driver.run(sw.kernel(fam, wf, [M]), jax.random.key(key), params,
                     generations=generations, chains=chains,
                     record=np.arange(generations + 1), observe=("q", "heterozygosity"))
    return (out.observed["q"].astype(np.float64),
            out.observed["heterozygosity"].astype(np.float64))


# ----------------------------------------------------------------------------- weighted law
def weighted_coordinate_variance(n: int, M: int, r: int, w: float, h: np.ndarray,
                                 square: bool = True) -> np.ndarray:
    """v_1..v_n (n, K) of the weighted workflow (module docstring), in NumPy; ``square=False``
    is a perturbed formula (the weights not squared) that the tests must reject."""
    a, b = (w * w, (1 - w) ** 2) if square else (w, 1 - w)
    out, v = [], np.zeros_like(h)
    for _ in range(n):
        v = a * h / r + b * (h / M + (1 - 1 / M) * v)
        out.append(v)
    return np.asarray(out)


# ----------------------------------------------------------------------------- workflows
WORKFLOWS = {
    "mix_fresh": W.mix(real_fraction=0.3),
    "mix_fixed": W.mix(n_real=3, fixed_real=True),
    "accumulate": W.accumulate(),
}
#: with the accumulate-subsample workflow (N = 6 of the pool), whose E H_t and E||p_t - p0||^2
#: theory.discrete gives exactly (the simulator draws the subsample from the pooled counts)
THEORY_WORKFLOWS = {**WORKFLOWS,
                    "acc_subsample": W.Workflow("accumulate_subsample", subsample=6)}
#: the fast tier runs accumulate (sufficient path) and accumulate-subsample (sample path); the
#: rest compiles in the slow tier
FAST = {("accumulate", "sufficient"), ("acc_subsample", "samples")}
CASES = [pytest.param(n, m, marks=() if (n, m) in FAST else SLOW, id=f"{n}-{m}")
         for n in THEORY_WORKFLOWS for m in ("sufficient", "samples")]


@pytest.mark.parametrize("name, method", CASES)
def test_heterozygosity_and_sq_distance_match_theory(name, method):
    """E H_t and E||p_t - p0||^2 at t = 1..5 against theory.discrete (mix fresh, mix with a
    fixed real set, accumulate, accumulate-subsample), z-bounded per generation; the replace
    formula is rejected (and, for accumulate-subsample, accumulate's)."""
    if name == "acc_subsample" and not SUBSAMPLE:
        pytest.skip("the seam does not run accumulate_subsample yet")
    wf = THEORY_WORKFLOWS[name]
    run = _run(wf, method)
    t = np.arange(1, 6)
    c = run.counts[1:].astype(np.float64)
    p = c / c.sum(axis=-1, keepdims=True)
    het = run.heterozygosity[1:].T  # (chains, 5)
    dist = np.sum((p - P0) ** 2, axis=-1).T
    np.testing.assert_allclose(het, 1.0 - np.sum(p * p, axis=-1).T, rtol=0, atol=1e-6)
    assert _accepts(het, td.expected_heterozygosity(t, P0, 10, workflow=wf))
    assert _accepts(dist, td.expected_sq_distance(t, P0, 10, workflow=wf))
    # the replace formula (no real data after the first fit) is rejected
    assert not _accepts(het, td.expected_heterozygosity(t, P0, 10))
    assert not _accepts(dist, td.expected_sq_distance(t, P0, 10))
    if name == "acc_subsample":
        assert not _accepts(het, td.expected_heterozygosity(t, P0, 10, workflow="accumulate"))


@pytest.mark.parametrize("method", ["samples", pytest.param("sufficient", marks=SLOW)])
def test_weighted_mean_and_coordinate_variance(method):
    """Weighted (w = 0.4, r = 6 real, M = 10 synthetic): E q_t = p0 and Var q_{t,i} = v_t per
    symbol, E H_t = H* - sum_i v_t, at t = 1..5 (the recursion of the module docstring);
    the weights not squared, and the replace formula, are rejected."""
    w, r, M = 0.4, 6, 10
    wf = W.weighted(w, n_real=r)
    q, het = _fitted(wf, method, M=M, p0=tuple(P0), generations=5, chains=20_000)
    h = P0 * (1 - P0)
    v = weighted_coordinate_variance(5, M, r, w, h)
    np.testing.assert_allclose(q[0], np.broadcast_to(P0, q[0].shape), atol=1e-7)
    for t in range(1, 6):
        assert _accepts(q[t], P0)
        assert _accepts((q[t] - P0) ** 2, v[t - 1])
    het_t = het[1:].T
    assert _accepts(het_t, H_STAR - v.sum(axis=-1))
    wrong = weighted_coordinate_variance(5, M, r, w, h, square=False)
    assert not _accepts(het_t, H_STAR - wrong.sum(axis=-1))
    assert not all(_accepts((q[t] - P0) ** 2, wrong[t - 1]) for t in range(1, 6))
    assert not _accepts(het_t, td.expected_heterozygosity(np.arange(1, 6), P0, M))


def test_weighted_simulate_matches_the_kernel():
    """simulate(workflow=weighted) runs the same kernel: its heterozygosity equals the
    recursion too (and its survivors count the symbols of the data behind the blend)."""
    w, r, M = 0.4, 6, 10
    run = _run(W.weighted(w, n_real=r), "sufficient")
    v = weighted_coordinate_variance(5, M, r, w, P0 * (1 - P0))
    assert _accepts(run.heterozygosity[1:].T, H_STAR - v.sum(axis=-1))
    assert run.workflow == "weighted"
    assert np.array_equal(run.survivors[1:], np.sum(run.counts[1:] > 0, axis=-1))


test_weighted_simulate_matches_the_kernel = SLOW(test_weighted_simulate_matches_the_kernel)


def _subsample_wf(n: int | None = 6) -> W.Workflow:
    return W.Workflow("accumulate_subsample", subsample=n)


@pytest.mark.parametrize("name", ["mix_fresh", "mix_fixed", "accumulate", "weighted",
                                  "accumulate_subsample"])
@SLOW
def test_paths_agree_in_law(name):
    """Sample path vs sufficient path: two-sample z on the heterozygosity at t = 2 and 5."""
    if name == "accumulate_subsample" and not SUBSAMPLE:
        pytest.skip("the seam does not run accumulate_subsample yet")
    wf = {**WORKFLOWS, "weighted": W.weighted(0.4, n_real=6),
          "accumulate_subsample": _subsample_wf()}.get(name)
    a, b = _run(wf, "sufficient"), _run(wf, "samples")
    for g in (2, 5):
        assert abs(_two_sample_z(a.heterozygosity[g], b.heterozygosity[g])) <= Z


# ----------------------------------------------------------------------------- accumulate_subsample
@pytest.mark.skipif(not SUBSAMPLE, reason="the seam does not run accumulate_subsample yet")
@SLOW
def test_accumulate_subsample_first_fit_and_point_pool():
    """Generation 1 fits an N-subsample of M real points, i.e. N iid draws of p0:
    E H_1 = H* (1 - 1/N) (the replace value 1 - 1/M is rejected); and the family's exact
    pooled-counts subsample (multivariate hypergeometric) agrees in law, at t = 2..5, with the
    seam's point pool (the family without ``subsample_stats``)."""
    wf, N, M = _subsample_wf(), 6, 10
    run = _run(wf, "sufficient")
    assert _accepts(run.heterozygosity[1], H_STAR * (1 - 1 / N))
    assert not _accepts(run.heterozygosity[1], H_STAR * (1 - 1 / M))

    @dataclasses.dataclass(frozen=True)
    class PointsOnly:  # the family without subsample_stats: the seam keeps the points
        fam: sd.CategoricalFamily

        def __getattr__(self, name):
            if name == "subsample_stats":
                raise AttributeError(name)
            return getattr(self.fam, name)

    fam = PointsOnly(sd.CategoricalFamily(method="sufficient", K=3, track=False))
    params = sd.CategoricalParams(sched=jnp.asarray([M], jnp.int32),
                                  p0w=jnp.asarray(P0, jnp.float32))
    out = driver.run(sw.kernel(fam, wf, [M], generations=5), jax.random.key(1), params,
                     generations=5, chains=20_000, record=np.arange(6),
                     observe=("heterozygosity",))
    het = out.observed["heterozygosity"]
    for g in range(2, 6):
        assert abs(_two_sample_z(het[g], run.heterozygosity[g])) <= Z


def test_subsample_counts_is_multivariate_hypergeometric():
    """subsample_counts against scipy's multivariate hypergeometric pmf: chi-square over the
    joint cells of (x_0, x_1) with expected count >= 5 (the rest pooled), p-value > 1e-4, and
    one symbol's count against scipy.stats.hypergeom; each row sums to N and stays within the
    pool; drawing with replacement (the multinomial pmf) is rejected (p-value < 1e-4)."""
    rows, pool, N = 100_000, np.array([7, 12, 21]), 15
    w = chain_words(jax.random.key(3), jnp.arange(rows, dtype=jnp.uint32))
    x = np.asarray(jax.jit(subsample_counts)(
        w[:, 0], w[:, 1], jnp.uint32(1), jnp.broadcast_to(jnp.asarray(pool, jnp.int32),
                                                          (rows, 3)), jnp.int32(N)))
    assert (x.sum(axis=1) == N).all() and (x <= pool).all() and (x >= 0).all()
    cells = [(a, b) for a in range(8) for b in range(13) if a + b <= N and N - a - b <= 21]
    obs = np.array([np.sum((x[:, 0] == a) & (x[:, 1] == b)) for a, b in cells], np.float64)

    def chi2_p(pmf: np.ndarray) -> float:
        exp = pmf * rows
        big = exp >= 5
        o = np.append(obs[big], obs[~big].sum() + (rows - obs.sum()))
        e = np.append(exp[big], rows - exp[big].sum())
        return float(stats.chi2.sf(np.sum((o - e) ** 2 / e), o.size - 1))

    mvh = stats.multivariate_hypergeom(m=pool, n=N)
    pmf = np.array([mvh.pmf([a, b, N - a - b]) for a, b in cells])
    assert chi2_p(pmf) > 1e-4
    mult = stats.multinomial(N, pool / pool.sum())
    assert chi2_p(np.array([mult.pmf([a, b, N - a - b]) for a, b in cells])) < 1e-4
    # one symbol's count is hypergeometric (scipy.stats.hypergeom; tail cells pooled)
    k = np.arange(0, pool[0] + 1)  # the support of x_0, every cell expected >= 30 here
    e = stats.hypergeom(pool.sum(), pool[0], N).pmf(k) * rows
    o = np.bincount(x[:, 0], minlength=k.size).astype(np.float64)
    assert e.min() >= 5 and o.sum() == rows
    assert stats.chi2.sf(np.sum((o - e) ** 2 / e), k.size - 1) > 1e-4
    # n = 0 and n = T: the empty subsample and the whole pool
    w2 = chain_words(jax.random.key(4), jnp.arange(2, dtype=jnp.uint32))
    both = np.asarray(subsample_counts(w2[:, 0], w2[:, 1], jnp.uint32(1),
                                       jnp.asarray([pool, pool], jnp.int32),
                                       jnp.asarray([0, 40])))
    assert both.tolist() == [[0, 0, 0], pool.tolist()]


def test_draw_points_and_point_stats():
    """The seam's point hooks: a draw of m points is the prefix of a draw of m_max; counting
    the first m with point_stats is the sample path's draw; real points follow p0 (chi-square
    p-value > 1e-4; a swapped p0 is rejected)."""
    K, n, m, m_max = 3, 20_000, 5, 8
    fam = sd.CategoricalFamily(method="samples", K=K, M=m_max, masked=True)
    params = sd.CategoricalParams(
        sched=jnp.asarray([m], jnp.int32), p0w=jnp.asarray(P0, jnp.float32),
        cdf=tuple(jnp.asarray(v) for v in sd.host_thresholds(P0)))
    words = chain_words(jax.random.key(5), jnp.arange(n, dtype=jnp.uint32))
    stream = Stream(words[:, 0], words[:, 1], jnp.uint32(2))
    bias = W.SamplingBias()

    @jax.jit
    def hooks(stream, params):
        state, real, mm = fam.init(params, n), jnp.asarray(True), jnp.int32(m)
        full = fam.draw_points(stream, m_max, mm, state, real, params, bias)
        short = fam.draw_points(stream, m, mm, state, real, params, bias)
        mask = jnp.broadcast_to(jnp.arange(m_max) < m, full.shape)
        return (full, short, fam.point_stats(full, mask),
                fam.draw(stream, mm, state, real, params, bias))

    full, short, counts, drawn = hooks(stream, params)
    assert full.shape == (n, m_max) and full.dtype == jnp.int32
    assert np.array_equal(np.asarray(full[:, :m]), np.asarray(short))
    assert np.array_equal(np.asarray(counts), np.asarray(drawn))
    obs = np.bincount(np.asarray(full).ravel(), minlength=K)
    assert stats.chisquare(obs, P0 * obs.sum()).pvalue > 1e-4
    assert stats.chisquare(obs, P0[::-1] * obs.sum()).pvalue < 1e-4


# ----------------------------------------------------------------------------- sampling biases
def _rank(q: np.ndarray, ties_low_index: bool = True) -> np.ndarray:
    """Per row, the symbols by decreasing q, ties by the smaller (or the larger) index."""
    K = q.shape[-1]
    idx = np.broadcast_to(np.arange(K), q.shape)
    second = idx if ties_low_index else -idx
    return np.lexsort((second, -q), axis=-1)


def top_k_ref(q: np.ndarray, k: int, ties_low_index: bool = True) -> np.ndarray:
    """The top-k truncated, renormalised q (NumPy, independent of the simulator)."""
    order = _rank(q, ties_low_index)
    keep = np.zeros(q.shape, bool)
    np.put_along_axis(keep, order[:, :k], True, axis=-1)
    r = np.where(keep, q, 0.0)
    return r / r.sum(axis=-1, keepdims=True)


def top_p_ref(q: np.ndarray, p: float, ties_low_index: bool = True,
              strict: bool = False) -> np.ndarray:
    """The nucleus: the smallest prefix of the ranking with mass >= p (``strict``: > p, a
    perturbed cut), renormalised."""
    order = _rank(q, ties_low_index)
    ranked = np.take_along_axis(q, order, axis=-1)
    total = ranked.sum(axis=-1, keepdims=True)
    before = np.cumsum(ranked, axis=-1) - ranked
    keep_ranked = before <= p * total if strict else before < p * total
    keep_ranked &= ranked > 0
    keep = np.zeros(q.shape, bool)
    np.put_along_axis(keep, order, keep_ranked, axis=-1)
    r = np.where(keep, q, 0.0)
    return r / r.sum(axis=-1, keepdims=True)


def tempered(q: np.ndarray, T: float) -> np.ndarray:
    u = q ** (1.0 / T)
    return u / u.sum(axis=-1, keepdims=True)


def _one_step(bias: W.SamplingBias, method: str, p0: tuple[float, ...], M: int,
              beta: float = 0.0, chains: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    """Counts of generations 1 (real) and 2 (synthetic through the bias), float64."""
    run = _run(W.replace(bias=bias), method, M=M, generations=2, chains=chains, p0=p0,
               beta=beta, key=7)
    return run.counts[1].astype(np.float64), run.counts[2].astype(np.float64)


def _accepts_conditional_mean(c1: np.ndarray, c2: np.ndarray, M: int, law) -> bool:
    """E[p_2 | p_1] = law(c1): the per-symbol mean over chains of p_2 - law(c1) is 0."""
    return _accepts(c2 / M - law(c1))


def test_smoothing_then_temperature_one_compile():
    """Fast tier, one run (sample path): beta = 1.5 and T = 0.5 together, E[p_2 | p_1] =
    normalise(((c_1 + beta)/(M + K beta))^(1/T)); the inverted temperature (^T) and the doubled
    smoothing (2 beta) are each rejected."""
    M, T, beta = 8, 0.5, 1.5
    K = len(P0)
    run = _run(W.replace(bias=W.SamplingBias(temperature=T)), "samples", M=M, generations=2,
               chains=40_000, beta=beta, key=9)
    c1, c2 = run.counts[1].astype(np.float64), run.counts[2].astype(np.float64)

    def law(c, b=beta, t=T):
        return tempered((c + b) / (M + K * b), t)

    assert _accepts_conditional_mean(c1, c2, M, law)
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: law(c, t=1 / T))
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: law(c, b=2 * beta))


@pytest.mark.parametrize("method", BOTH_SLOW)
def test_temperature_is_q_to_the_one_over_T(method):
    """E[p_2 | p_1] = normalise(p_1^(1/T)) (T = 0.5); the inverted p_1^T is rejected."""
    M, T = 10, 0.5
    c1, c2 = _one_step(W.SamplingBias(temperature=T), method, tuple(P0), M)
    assert _accepts_conditional_mean(c1, c2, M, lambda c: tempered(c / M, T))
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: tempered(c / M, 1 / T))


@pytest.mark.parametrize("method", BOTH_SLOW)
def test_smoothing_is_add_beta(method):
    """The simulator's smoothing: q = (counts + beta) / (M + K beta), so E[p_2 | p_1] = q
    (beta = 1.5, K = 3, M = 6); the doubled 2 beta is rejected."""
    M, beta = 6, 1.5
    K = len(P0)
    run = _run(W.replace(), method, M=M, generations=2, chains=40_000, beta=beta, key=8)
    c1, c2 = run.counts[1].astype(np.float64), run.counts[2].astype(np.float64)
    assert _accepts_conditional_mean(c1, c2, M, lambda c: (c + beta) / (M + K * beta))
    assert not _accepts_conditional_mean(c1, c2, M,
                                         lambda c: (c + 2 * beta) / (M + 2 * K * beta))


TIES = (0.3, 0.3, 0.2, 0.2)  # small M: ties at the cut are frequent


@pytest.mark.parametrize("method", BOTH_SLOW)
def test_top_k_truncates_and_breaks_ties_by_index(method):
    """E[p_2 | p_1] = the top-2 of p_1 renormalised, ties to the smaller index (M = 6); the
    tie rule reversed is rejected, and so is no truncation."""
    M, k = 6, 2
    c1, c2 = _one_step(W.SamplingBias(top_k=k), method, TIES, M)
    assert _accepts_conditional_mean(c1, c2, M, lambda c: top_k_ref(c / M, k))
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: top_k_ref(c / M, k, False))
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: c / M)


@pytest.mark.parametrize("method", ["samples", pytest.param("sufficient", marks=SLOW)])
def test_top_p_is_the_smallest_set_of_mass_at_least_p(method):
    """E[p_2 | p_1] = the nucleus of p_1 (mass >= 0.6, ties to the smaller index), M = 5: a
    prefix of mass exactly 3/5 is complete. The cut "mass > p" and the reversed tie rule are
    both rejected."""
    M, p = 5, 0.6
    c1, c2 = _one_step(W.SamplingBias(top_p=p), method, TIES, M)
    assert _accepts_conditional_mean(c1, c2, M, lambda c: top_p_ref(c / M, p))
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: top_p_ref(c / M, p, strict=True))
    assert not _accepts_conditional_mean(c1, c2, M, lambda c: top_p_ref(c / M, p, False))


@pytest.mark.parametrize("method", BOTH_SLOW)
def test_temperature_then_top_k_then_top_p(method):
    """All three (T = 2, k = 3, p = 0.5, K = 4, M = 8): E[p_2 | p_1] = top_p(top_k(p_1^(1/T)))
    renormalised at each step; applying top-p to the untempered p_1 (the wrong order) is
    rejected."""
    M, T, k, p = 8, 2.0, 3, 0.5
    c1, c2 = _one_step(W.SamplingBias(temperature=T, top_k=k, top_p=p), method,
                       (0.4, 0.3, 0.2, 0.1), M)

    def right(c):
        return top_p_ref(top_k_ref(tempered(c / M, T), k), p)

    def wrong(c):  # nucleus chosen on the untempered p_1, then tempered
        keep = top_p_ref(top_k_ref(c / M, k), p) > 0
        return tempered(np.where(keep, c / M, 0.0), T)

    assert _accepts_conditional_mean(c1, c2, M, right)
    assert not _accepts_conditional_mean(c1, c2, M, wrong)


def test_biased_weights_reference_cases():
    """biased_weights on hand-made rows: ties, an exact-p prefix, k = K, all-zero tails."""
    w = jnp.asarray([[3.0, 5.0, 3.0, 1.0], [0.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    assert sd.biased_weights(w, top_k=2).tolist() == [[3, 5, 0, 0], [0, 2, 2, 0],
                                                      [1, 1, 0, 0]]
    assert sd.biased_weights(w, top_k=4).tolist() == w.tolist()
    assert sd.biased_weights(w, top_p=0.5).tolist() == [[3, 5, 0, 0], [0, 2, 0, 0],
                                                        [1, 1, 0, 0]]
    assert sd.biased_weights(w, top_p=0.51).tolist() == [[3, 5, 0, 0], [0, 2, 2, 0],
                                                         [1, 1, 1, 0]]
    assert sd.biased_weights(w, top_p=0.7).tolist() == [[3, 5, 3, 0], [0, 2, 2, 0],
                                                        [1, 1, 1, 0]]
    q = np.asarray(w, np.float64) / np.asarray(w, np.float64).sum(axis=1, keepdims=True)
    for k in (1, 2, 3):
        got = np.asarray(sd.biased_weights(w, top_k=k), np.float64)
        np.testing.assert_allclose(got / got.sum(1, keepdims=True), top_k_ref(q, k), rtol=1e-6)
    for p in (0.1, 0.5, 0.51, 0.75, 0.99, 1.0):
        got = np.asarray(sd.biased_weights(w, top_p=p), np.float64)
        np.testing.assert_allclose(got / got.sum(1, keepdims=True), top_p_ref(q, p), rtol=1e-6)


# ----------------------------------------------------------------------------- validation
def test_invalid_workflow_arguments_are_refused():
    key = jax.random.key(0)
    kw = dict(p0=[0.5, 0.3, 0.2], M=10, generations=2, chains=4)
    with pytest.raises(ValueError, match=r"top_k must be an integer in \[0, K\] = \[0, 3\]"):
        sd.simulate(key, workflow=W.replace(bias=W.SamplingBias(top_k=4)), **kw)
    with pytest.raises(ValueError, match="drift observables are not available with the "
                                         "weighted workflow"):
        sd.simulate(key, workflow=W.weighted(0.5), drift=True, **kw)
    with pytest.raises(ValueError, match="generations must be <= 214748364 for the accumulate"):
        sd.simulate(key, p0=[0.5, 0.5], M=10, generations=2**28, chains=1,
                    workflow="accumulate", record=[1])
    with pytest.raises(ValueError, match="n_real must be <= 16777216"):
        sd.simulate(key, workflow=W.weighted(0.5, n_real=2**24 + 1), **kw)
    with pytest.raises(ValueError, match=r"sampling bias \['variance_scale'\] is not available"
                                         " for the discrete simulator"):
        sd.simulate(key, workflow=W.mix(real_fraction=0.5,
                                        bias=W.SamplingBias(variance_scale=2.0)), **kw)
    with pytest.raises(ValueError, match="give the sampling temperature either"):
        sd.simulate(key, workflow=W.replace(bias=W.SamplingBias(temperature=0.5)),
                    temperature=0.7, **kw)
    with pytest.raises(ValueError, match="n_real must be >= 1 for the weighted workflow"):
        sd.simulate(key, workflow=W.weighted(0.5, n_real=0), **kw)


# ----------------------------------------------------------------------------- drift, extinction
def _first(hit: np.ndarray) -> np.ndarray:
    """First generation (axis 0 indexes generations 1..R) where ``hit`` holds, else -1."""
    any_hit = hit.any(axis=0)
    return np.where(any_hit, np.argmax(hit, axis=0) + 1, -1)


DRIFT_CASES = [pytest.param(n, marks=SLOW) for n in WORKFLOWS]


@pytest.mark.parametrize("name", DRIFT_CASES)
def test_drift_and_survivors_match_theory(name):
    """Under mix (fresh, fixed real set) and accumulate, on the support (0, 1, 3): the
    simulator's drift observables (mean drift, support variance, Cramer, W1, TV; computed from
    counts whose total is not M under accumulate) and expected survivors against
    theory.discrete_drift / theory.discrete at t = 1..5, z-bounded; the replace formulas are
    rejected (survivors, or the mean drift); first-extinction and absorption generations are
    the first recorded generations with a zero count / a single symbol."""
    wf, x = WORKFLOWS[name], [0.0, 1.0, 3.0]
    run = sd.simulate(jax.random.key(11), p0=P0, M=10, generations=5, chains=20_000,
                      workflow=wf, support=x, drift=True, record=list(range(1, 6)),
                      record_counts=True)
    t = np.arange(1, 6)
    m0 = float(np.dot(P0, x))
    checks = {
        "mean": ((run.mean[1:] - m0) ** 2, dd.expected_mean_drift),
        "variance": (run.variance[1:], dd.expected_support_variance),
        "cramer_squared": (run.cramer_squared[1:], dd.expected_cramer_squared),
        "w1": (run.w1[1:], dd.expected_w1),
    }
    for key, (obs, fn) in checks.items():
        assert _accepts(obs.T, fn(t, P0, 10, x, workflow=wf)), key
    assert _accepts(run.tv[1:].T, dd.expected_total_variation(t, P0, 10, workflow=wf))
    assert _accepts(run.survivors[1:].T, td.expected_survivors(t, P0, 10, workflow=wf))
    assert not (_accepts(run.survivors[1:].T, td.expected_survivors(t, P0, 10))
                and _accepts(((run.mean[1:] - m0) ** 2).T, dd.expected_mean_drift(t, P0, 10, x)))
    counts = run.counts[1:]
    assert np.array_equal(run.extinction_generation, _first(counts == 0))
    assert np.array_equal(run.absorption_generation, _first(np.sum(counts > 0, axis=-1) == 1))


@SLOW
def test_weighted_extinction_and_absorption_marks():
    """Weighted (w = 0.5, r = 2, M = 4, p0 with a rare symbol): extinction and absorption are
    decided on the counts behind the blend, the first generation each happens."""
    run = sd.simulate(jax.random.key(12), p0=[0.8, 0.15, 0.05], M=4, generations=8,
                      chains=5000, workflow=W.weighted(0.5, n_real=2),
                      record=list(range(1, 9)), record_counts=True)
    counts = run.counts[1:]
    assert (run.extinction_generation > 0).any() and (run.absorption_generation > 0).any()
    assert np.array_equal(run.extinction_generation, _first(counts == 0))
    assert np.array_equal(run.absorption_generation, _first(np.sum(counts > 0, axis=-1) == 1))


def test_pooled_state_is_independent_of_the_generations():
    """accumulate and accumulate_subsample keep the pooled counts: the kernel's state has the
    same shapes whatever the number of generations (no point pool: subsample_stats)."""
    fam = sd.CategoricalFamily(method="sufficient", K=3, track=False)
    params = sd.CategoricalParams(sched=jnp.asarray([10], jnp.int32),
                                  p0w=jnp.asarray(P0, jnp.float32))
    for wf in (W.accumulate(), _subsample_wf()):
        if wf.name == "accumulate_subsample" and not SUBSAMPLE:
            continue
        shapes = set()
        for gens in (5, 5000):
            kw = {"generations": gens} if wf.name == "accumulate_subsample" else {}
            k = sw.kernel(fam, wf, [10], **kw)
            st = jax.eval_shape(lambda k=k: k.init(params, 7))
            shapes.add(tuple(leaf.shape for leaf in jax.tree.leaves(st)))
        assert shapes == {((7, 3), (7, 0), (7,), (7, 0), (7, 3))}, (wf, shapes)


@pytest.mark.parametrize("name", [pytest.param("weighted", marks=SLOW),
                                  pytest.param("mix_fixed", marks=SLOW)])
def test_bits_do_not_depend_on_the_chunk_size(name):
    """A chain's path is the same whatever the batch (sample path, masked draws; weighted's
    float state)."""
    wf = {"weighted": W.weighted(0.4, n_real=6), "mix_fixed": WORKFLOWS["mix_fixed"]}[name]
    kw = dict(p0=P0, M=10, generations=6, chains=40, workflow=wf, method="samples",
              record=[3, 6])
    a = sd.simulate(jax.random.key(2), **kw)
    b = sd.simulate(jax.random.key(2), chunk_size=7, **kw)
    assert np.array_equal(a.heterozygosity, b.heterozygosity)
    assert np.array_equal(a.survivors, b.survivors)
