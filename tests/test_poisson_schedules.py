"""The Poisson refit with a sample-size schedule M_1, ..., M_n under every workflow.

Witnesses for ``Var Lam_i`` and ``P(Lam_i = 0)`` of
:func:`modelcollapse.theory.poisson.rate_variance_schedule`,
:func:`~modelcollapse.theory.poisson.extinction_probability_schedule` and
:func:`~modelcollapse.theory.poisson.survival_probability_schedule`:

- an exact propagation, written here from the one-step law with scipy.stats pmfs (no formula of
  the module), of the law of the integer statistic of each fit (the total ``S_i = M_i Lam_i``;
  for mix with one real set, conditioned on the real total; for accumulate the pool's total;
  for weighted the pair of real and synthetic totals) for tiny sizes: to 1e-10 on fixed
  schedules, 1e-9 on random ones (Hypothesis);
- accumulate_subsample (variance only): an enumeration of every pool value (truncated at 20,
  mass lost below 1e-8) and every subsample, to 1e-6;
- the constant-M closed forms of :mod:`modelcollapse.theory.poisson_workflows` and
  :mod:`modelcollapse.theory.accumulate_subsample` for a constant schedule (to 1e-13);
- the JAX simulator :func:`modelcollapse.sims.poisson.simulate` run with the schedule on both
  paths, which never sees the theory: each simulated ``E Lam_i``, ``Var Lam_i`` and
  ``P(Lam_i = 0)`` against theory with tolerance ``Z = 4.5`` standard errors (two-sided
  6.8e-6 per check; at most 18 checks per run, 16 runs: family-wise level below 2e-3 by
  Bonferroni). Standard errors from the same sample: ``sd/sqrt(C)`` (mean),
  ``sqrt((m4 - var^2)/C)`` (variance), ``sqrt(p (1 - p)/C)`` with the theory's ``p``.

Each checker is shown to reject wrong formulas: the constant-M formulas with ``M = M_1`` applied
to the schedule, the replace schedule's, another workflow's, and recursions with a deliberate
slip (an index shifted, the pool size lagged, the batches' covariances dropped). Fixed seeds.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import jax
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from modelcollapse.spec import workflows as W
from modelcollapse.theory import poisson as po

Z = 4.5
LAM0 = 0.4
#: a schedule far from constant (growing with dips): the constant-M formulas are wrong on it
SCHED = [4, 12, 3, 16, 2, 24]
CHAINS = 20_000


# --------------------------------------------------------------------------------------------
# exact propagation of the integer statistic (independent of the module's formulas)
# --------------------------------------------------------------------------------------------

K = 160  # support of the totals; the mass beyond is checked below 1e-13


def _pois(mean: np.ndarray, size: int = K) -> np.ndarray:
    """T[j, k] = Poisson(mean[j]) pmf at k = 0..size."""
    return stats.poisson.pmf(np.arange(size + 1)[None, :], np.asarray(mean)[:, None])


def _moments(p: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    assert 1.0 - p.sum() < 1e-13
    e = float(p @ x)
    return e, float(p @ x**2 - e * e), float(p[x == 0].sum())


def exact_schedule(wf: W.Workflow, Ms: list[int], lam0: float = LAM0) -> np.ndarray:
    """Rows ``(E, Var, P0)`` of ``Lam_i``, ``i = 1..n``, by propagating the law of the fit's
    integer data under ``wf`` with the schedule ``Ms``."""
    j = np.arange(K + 1, dtype=float)
    out = []
    if wf.name in ("replace", "mix") and not wf.fixed_real:
        r = [wf.real_count(m) for m in Ms]
        p = stats.poisson.pmf(j, Ms[0] * lam0)  # generation 1: all real
        out.append(_moments(p, j / Ms[0]))
        for t in range(1, len(Ms)):  # S_t = Poisson(r_t lam0) + Poisson((M_t - r_t) Lam_{t-1})
            p = p @ _pois(r[t] * lam0 + (Ms[t] - r[t]) * j / Ms[t - 1])
            out.append(_moments(p, j / Ms[t]))
        return np.array(out)
    if wf.name == "mix":  # one reused real set of r points: condition on its total R = rho
        r1 = wf.real_count(Ms[0])
        rows = np.zeros((len(Ms), 3))
        second = np.zeros(len(Ms))
        for rho in range(40):
            w_rho = stats.poisson.pmf(rho, r1 * lam0)
            p = stats.poisson.pmf(j - rho, (Ms[0] - r1) * lam0)
            for t in range(len(Ms)):
                if t:
                    T = _pois((Ms[t] - r1) * j / Ms[t - 1])
                    shifted = np.zeros_like(T)
                    shifted[:, rho:] = T[:, :K + 1 - rho]
                    p = p @ shifted
                x = j / Ms[t]
                rows[t, 0] += w_rho * (p @ x)
                second[t] += w_rho * (p @ x**2)
                rows[t, 2] += w_rho * p[0]
        rows[:, 1] = second - rows[:, 0] ** 2
        return rows
    if wf.name == "accumulate":  # pool total P_t = P_{t-1} + Poisson(M_t P_{t-1} / N_{t-1})
        size = 400
        jj = np.arange(size + 1, dtype=float)
        N = np.cumsum(Ms)
        p = stats.poisson.pmf(jj, Ms[0] * lam0)
        out.append(_moments(p, jj / N[0]))
        for t in range(1, len(Ms)):
            T = np.zeros((size + 1, size + 1))
            for a in range(size + 1):
                T[a, a:] = stats.poisson.pmf(np.arange(size + 1 - a), Ms[t] * a / N[t - 1])
            p = p @ T
            out.append(_moments(p, jj / N[t]))
        return np.array(out)
    # weighted: Lam_t = w A_t / r_t + (1 - w) B_t / M_t, A_t ~ Poisson(r_t lam0) fresh,
    # B_t ~ Poisson(M_t Lam_{t-1}); the law of Lam_t is that of the pair (A_t, B_t)
    w = wf.effective_weight
    rw = [wf.real_count(m) for m in Ms]
    KA = 60
    av = np.arange(KA + 1, dtype=float)
    pb = stats.poisson.pmf(j, Ms[0] * lam0)  # B_1: real
    pa = np.ones(1)  # A_0: none (set at t = 0, used from t = 1)
    for t in range(len(Ms)):
        if t:
            lam_prev = (w * av[:, None] / rw[t - 1] + (1 - w) * j[None, :] / Ms[t - 1]).ravel()
            joint = np.outer(pa, pb).ravel()
            pb = joint @ _pois(Ms[t] * lam_prev)
        pa = stats.poisson.pmf(av, rw[t] * lam0)
        lam = (w * av[:, None] / rw[t] + (1 - w) * j[None, :] / Ms[t]).ravel()
        out.append(_moments(np.outer(pa, pb).ravel(), lam))
    return np.array(out)


#: every workflow with a schedule; the real counts vary with M_i where the workflow allows it
WORKFLOWS = {
    "replace": W.replace(),
    "mix_fraction": W.mix(real_fraction=0.25),  # r_i = round(M_i / 4): 1, 3, 1, 4, 0, 6
    "mix_count": W.mix(n_real=2),
    "mix_fixed": W.mix(n_real=2, fixed_real=True),
    "accumulate": W.accumulate(),
    "weighted": W.weighted(0.3, n_real=3),
    "weighted_golden": W.weighted(),  # r_i = M_i
}


def _theory(wf: W.Workflow, Ms: list[int], lam0: float = LAM0):
    return (po.rate_variance_schedule(lam0, Ms, workflow=wf),
            po.extinction_probability_schedule(lam0, Ms, workflow=wf))


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_matches_exact_propagation(name):
    wf = WORKFLOWS[name]
    Ms = [3, 5, 2, 6, 4] if name != "weighted_golden" else [3, 5, 2, 4]
    ex = exact_schedule(wf, Ms)
    var, ext = _theory(wf, Ms)
    np.testing.assert_allclose(ex[:, 0], LAM0, rtol=1e-12)  # E Lam_i = lam0
    np.testing.assert_allclose(var[1:], ex[:, 1], rtol=1e-10)
    np.testing.assert_allclose(ext[1:], ex[:, 2], rtol=1e-10)
    assert var[0] == 0.0 and ext[0] == 0.0
    np.testing.assert_allclose(po.survival_probability_schedule(LAM0, Ms, workflow=wf)[1:],
                               1.0 - ex[:, 2], rtol=1e-10)


@settings(max_examples=20)
@given(lam0=st.floats(0.05, 0.8), Ms=st.lists(st.integers(1, 6), min_size=1, max_size=4),
       kind=st.sampled_from(["mix", "fraction", "fixed", "accumulate", "weighted"]),
       share=st.floats(0.0, 1.0), w=st.floats(0.0, 1.0))
def test_random_schedules_match_exact_propagation(lam0, Ms, kind, share, w):
    """Random schedules, real counts and weights (Hypothesis) against the exact propagation
    (schedules that at most double per generation, so that the support K holds the totals)."""
    assume(all(b <= 2 * a for a, b in zip(Ms[:-1], Ms[1:], strict=True)))
    r = int(share * min(Ms))
    wf = {"mix": W.mix(n_real=r), "fraction": W.mix(real_fraction=share),
          "fixed": W.mix(n_real=r, fixed_real=True), "accumulate": W.accumulate(),
          "weighted": W.weighted(w, n_real=max(r, 1))}[kind]
    ex = exact_schedule(wf, Ms, lam0)
    var, ext = _theory(wf, Ms, lam0)
    np.testing.assert_allclose(var[1:], ex[:, 1], rtol=1e-9)
    np.testing.assert_allclose(ext[1:], ex[:, 2], rtol=1e-9)


def _slipped_mix_variance(Ms, wf, lam0=LAM0):
    """A wrong mix recursion: a_i taken from the previous fit's size (an index slip)."""
    r = [wf.real_count(m) for m in Ms]
    v, out = 0.0, [0.0]
    for i, m in enumerate(Ms):
        mp = Ms[i - 1] if i else m
        a = (mp - r[i]) / mp
        v = lam0 / m + a * a * v
        out.append(v)
    return np.array(out)


def test_exact_propagation_rejects_wrong_formulas():
    """The exact check is sharp: the constant-M formulas with M = M_1, the replace schedule,
    the fresh/fixed formulas swapped, a slipped index, and accumulate with N_{i-1} for N_i all
    fail it by far more than its tolerance."""
    Ms = [3, 5, 2, 6, 4]
    n = np.arange(len(Ms) + 1)
    for name in ("mix_fraction", "mix_fixed", "accumulate", "weighted"):
        wf = WORKFLOWS[name]
        ex = exact_schedule(wf, Ms)
        const_v = po.rate_variance(n, LAM0, Ms[0], workflow=wf)
        assert not np.allclose(const_v[1:], ex[:, 1], rtol=1e-3), name
        rep_v, rep_p = _theory(W.replace(), Ms)
        assert not np.allclose(rep_v[1:], ex[:, 1], rtol=1e-3), name
        if name != "accumulate":
            const_p = po.extinction_probability(n, LAM0, Ms[0], workflow=wf)
            assert not np.allclose(const_p[1:], ex[:, 2], rtol=1e-3), name
            assert not np.allclose(rep_p[1:], ex[:, 2], rtol=1e-3), name
    ex = exact_schedule(WORKFLOWS["mix_count"], Ms)
    v, p = _theory(WORKFLOWS["mix_fixed"], Ms)
    assert not np.allclose(v[1:], ex[:, 1], rtol=1e-3)
    assert not np.allclose(p[1:], ex[:, 2], rtol=1e-3)
    assert not np.allclose(_slipped_mix_variance(Ms, WORKFLOWS["mix_count"])[1:], ex[:, 1],
                           rtol=1e-3)
    ex = exact_schedule(W.accumulate(), Ms)
    N = np.cumsum(Ms)
    wrong = LAM0 * np.cumsum(Ms / (np.r_[N[0], N[:-1]] * N))
    assert not np.allclose(wrong, ex[:, 1], rtol=1e-3)


def enumerate_subsample(Ms: list[int], sub: int | None, lam0: float, K: int = 20):
    """Rows ``(mass, E, Var)`` of ``Lam_t`` under accumulate_subsample by enumerating every pool
    value (Poisson draws truncated at ``K``) and every subsample (the fit's ``N_t = sub`` or
    ``M_t`` pooled points, all subsets equally likely)."""
    states: dict[tuple[tuple[int, ...], float], float] = {((), lam0): 1.0}
    out = []
    for m in Ms:
        n_fit = sub if sub is not None else m
        new: dict[tuple[tuple[int, ...], float], float] = defaultdict(float)
        for (pool, lam), pr in states.items():
            pmf = stats.poisson.pmf(np.arange(K + 1), lam)
            for batch in itertools.product(range(K + 1), repeat=m):
                pb = pr * math.prod(pmf[b] for b in batch)
                if pb < 1e-300:
                    continue
                full = pool + batch
                subsets = list(itertools.combinations(range(len(full)), n_fit))
                key = tuple(sorted(full))
                for idx in subsets:
                    new[(key, sum(full[i] for i in idx) / n_fit)] += pb / len(subsets)
        states = new
        mass = sum(states.values())
        e = sum(p * lam for (_, lam), p in states.items())
        out.append((mass, e, sum(p * lam * lam for (_, lam), p in states.items()) - e * e))
    return np.array(out)


def _subsample_without_cross(Ms, sub, lam0):
    """A wrong accumulate_subsample recursion: the batches' sums taken as uncorrelated."""
    d, A, BA, pool, out = 0.0, 0.0, 0.0, 0, [0.0]
    for m in Ms:
        pool += m
        A += m * (lam0 + d)
        BA += (m * m - m) * d
        nf = sub if sub is not None else m
        pi2 = nf * (nf - 1) / (pool * (pool - 1)) if pool > 1 else 0.0
        d = (nf / pool * A + pi2 * BA) / nf**2
        out.append(d)
    return np.array(out)


@pytest.mark.parametrize("Ms, sub", [([2, 1, 1], 2), ([1, 2, 1], None)])
def test_accumulate_subsample_matches_enumeration(Ms, sub):
    """Exact to the truncation at 20 (mass lost below 1e-9): rtol 1e-6; the recursion without
    the batches' covariances fails it."""
    ex = enumerate_subsample(Ms, sub, 0.3)
    assert np.all(1.0 - ex[:, 0] < 1e-8)
    wf = W.accumulate_subsample(sub)
    var = po.rate_variance_schedule(0.3, Ms, workflow=wf)
    np.testing.assert_allclose(var[1:], ex[:, 2], rtol=1e-6)
    np.testing.assert_allclose(ex[:, 1], 0.3, rtol=1e-6)
    assert not np.allclose(_subsample_without_cross(Ms, sub, 0.3)[1:], ex[:, 2], rtol=1e-3)
    assert not np.allclose(po.rate_variance_schedule(0.3, Ms, workflow="accumulate")[1:],
                           ex[:, 2], rtol=1e-3)


def test_constant_schedule_reduces_to_closed_forms():
    n = np.arange(201)
    for wf in list(WORKFLOWS.values()) + [W.mix(n_real=0), W.mix(n_real=9), W.weighted(0.0),
                                          W.weighted(1.0, n_real=2)]:
        var, ext = _theory(wf, [9] * 200, 0.3)
        np.testing.assert_allclose(var, po.rate_variance(n, 0.3, 9, workflow=wf), rtol=1e-13)
        np.testing.assert_allclose(ext, po.extinction_probability(n, 0.3, 9, workflow=wf),
                                   rtol=1e-13)
    # accumulate_subsample: the Gaussian mean's recursion (theory.accumulate_subsample), an
    # independent implementation for a constant M
    for sub in (None, 1, 4, 9):
        wf = W.accumulate_subsample(sub)
        np.testing.assert_allclose(po.rate_variance_schedule(0.3, [9] * 200, workflow=wf)[1:],
                                   po.rate_variance(n[1:], 0.3, 9, workflow=wf), rtol=1e-13)


def test_schedules_help_or_not():
    """What a schedule changes: accumulate's P(Lam = 0) is exp(-M_1 lam0) whatever follows;
    a growing schedule lowers mix's variance below the constant M_1 value."""
    Ms = [5] + [50] * 20
    ext = po.extinction_probability_schedule(0.2, Ms, workflow="accumulate")
    np.testing.assert_allclose(ext[1:], math.exp(-1.0), rtol=1e-15)
    wf = W.mix(n_real=1)
    grow = po.rate_variance_schedule(0.2, Ms, workflow=wf)
    const = po.rate_variance(np.arange(len(Ms) + 1), 0.2, 5, workflow=wf)
    assert np.all(grow[2:] < const[2:])
    # accumulate with M_i = M i: V_i = lam0 sum_j M j / (M j (j + 1) / 2)^2 (pool M i (i+1)/2)
    Ms = [3 * i for i in range(1, 30)]
    v = po.rate_variance_schedule(1.0, Ms, workflow=W.accumulate())
    ref = np.cumsum([4.0 / (3 * i * (i + 1) ** 2) for i in range(1, 30)])
    np.testing.assert_allclose(v[1:], ref, rtol=1e-14)


def test_extremes_and_validation():
    big = [10**9, 10**3, 10**9, 3, 10**9]
    for sub in (None, 3):
        v = po.rate_variance_schedule(1e-3, big, workflow=W.accumulate_subsample(sub))
        assert np.all(np.isfinite(v)) and np.all(v[1:] > 0)
    for wf in WORKFLOWS.values():
        Ms = big
        var, ext = _theory(wf, Ms, 1e-9)
        assert np.all(np.isfinite(var)) and np.all(var >= 0)
        assert np.all((ext >= 0) & (ext <= 1)) and np.all(ext[1:] > 0)
        surv = po.survival_probability_schedule(1e-9, Ms, workflow=wf)
        np.testing.assert_allclose(surv + ext, 1.0, rtol=1e-15)
    # a long schedule (2000 fits, all targets at once): the last target against the same
    # backward recursion for that one target summed with math.fsum (rounding of the sum)
    Ms = (np.arange(1, 2001) % 17 + 1).tolist()
    lg = np.log(po.extinction_probability_schedule(0.5, Ms, workflow=W.mix(n_real=1))[1:])
    s, terms = math.inf, []
    for m in reversed(Ms):
        u = 1.0 if s == math.inf else -math.expm1(-s / m)
        terms.append(1.0 * u)
        s = (m - 1) * u
    assert lg[-1] == pytest.approx(-0.5 * math.fsum(terms + [s]), rel=1e-13)
    with pytest.raises(ValueError, match="accumulate_subsample.*law of the subsample"):
        po.extinction_probability_schedule(1.0, [3, 4], workflow="accumulate_subsample")
    with pytest.raises(ValueError, match="accumulate_subsample"):
        po.survival_probability_schedule(1.0, [3, 4], workflow=W.accumulate_subsample(2))
    with pytest.raises(ValueError, match=r"subsample must be an integer in \[1, 3\]"):
        po.rate_variance_schedule(1.0, [3, 4], workflow=W.accumulate_subsample(4))
    with pytest.raises(ValueError, match="same real count"):
        po.rate_variance_schedule(1.0, [4, 8], workflow=W.mix(real_fraction=0.5,
                                                               fixed_real=True))
    with pytest.raises(ValueError, match="n_real must be <= M"):
        po.rate_variance_schedule(1.0, [4, 2], workflow=W.mix(n_real=3))
    with pytest.raises(ValueError, match="n_real must be >= 1"):
        po.survival_probability_schedule(1.0, [4, 2], workflow=W.weighted(0.5, n_real=0))
    with pytest.raises(ValueError, match="sampling bias"):
        po.rate_variance_schedule(1.0, [4, 2], workflow=W.mix(n_real=1,
                                                               bias=W.SamplingBias(0.5)))
    with pytest.raises(ValueError, match="MAX_SCHEDULE_LENGTH"):
        po.extinction_probability_schedule(1.0, np.ones(po.MAX_SCHEDULE_LENGTH + 1, int),
                                           workflow="accumulate")
    with pytest.raises(ValueError, match=r"M\[1\]"):
        po.rate_variance_schedule(1.0, [3, 0], workflow="weighted")
    with pytest.raises(ValueError, match="lam0"):
        po.rate_variance_schedule(True, [3, 2], workflow="mix")
    out = po.extinction_probability_schedule([[0.1], [0.2]], [3, 4], workflow="weighted")
    assert out.shape == (2, 1, 3)
    for wf in list(WORKFLOWS.values()) + [W.accumulate_subsample()]:  # no fit: generation 0
        assert po.rate_variance_schedule(0.5, [], workflow=wf).tolist() == [0.0]
        if wf.name != "accumulate_subsample":
            assert po.extinction_probability_schedule(0.5, [], workflow=wf).tolist() == [0.0]
            assert po.survival_probability_schedule(0.5, [], workflow=wf).tolist() == [1.0]


# --------------------------------------------------------------------------------------------
# simulation against theory
# --------------------------------------------------------------------------------------------


def _stats(rate: np.ndarray):
    C = rate.shape[1]
    mu = rate.mean(1)
    d = rate - mu[:, None]
    var = (d**2).mean(1) * C / (C - 1)
    m4 = (d**4).mean(1)
    return mu, np.sqrt(var / C), var, np.sqrt(np.maximum(m4 - var**2, 0.0) / C), \
        (rate == 0).mean(1)


def check(run, var, p0, lam0: float = LAM0) -> list[str]:
    """Failed checks (empty when the run agrees with the formulas to Z standard errors);
    ``p0`` None: mean and variance only."""
    mu, se_mu, v, se_v, p = _stats(run.rate)
    C = run.rate.shape[1]
    bad = []
    for i in range(1, run.generations.size):
        sp = 0.0 if p0 is None else math.sqrt(max(p0[i] * (1.0 - p0[i]), 1e-300) / C)
        if abs(mu[i] - lam0) > Z * se_mu[i]:
            bad.append(f"mean g={i}")
        if abs(v[i] - var[i]) > Z * se_v[i]:
            bad.append(f"var g={i}")
        if p0 is not None and abs(p[i] - p0[i]) > Z * sp:
            bad.append(f"P0 g={i}")
    return bad


#: a wrong policy's formulas per workflow, which the checker must reject on the same run
WRONG = {
    "mix_fraction": W.mix(n_real=2),
    "mix_count": W.mix(n_real=2, fixed_real=True),
    "mix_fixed": W.mix(n_real=2),
    "accumulate": W.replace(),
    "weighted": W.weighted(0.3, n_real=6),
    "weighted_golden": W.mix(real_fraction=1.0),
}
#: accumulate_subsample (Var Lam_i only; P(Lam_i = 0) is refused) and the wrong formulas
SUBSAMPLE = {"subsample_3": W.accumulate_subsample(3), "subsample_M": W.accumulate_subsample()}
FAST = [("mix_fraction", "sufficient"), ("accumulate", "sufficient"),
        ("subsample_3", "sufficient")]
SLOW = [(name, method) for name in list(WRONG) + list(SUBSAMPLE)
        for method in ("sufficient", "samples") if (name, method) not in FAST]


def _simulate(wf, method, seed):
    from modelcollapse.sims.poisson import simulate

    return simulate(jax.random.key(seed), lam0=LAM0, M=SCHED, generations=len(SCHED),
                    chains=CHAINS, workflow=wf, method=method)


def _sim_check(name: str, method: str, seed: int) -> None:
    wf = WORKFLOWS.get(name) or SUBSAMPLE[name]
    run = _simulate(wf, method, seed)
    assert run.workflow == wf.name and run.M == tuple(SCHED)
    n = run.generations
    if name in SUBSAMPLE:
        assert not check(run, po.rate_variance_schedule(LAM0, SCHED, workflow=wf), None)
        for wrong in (po.rate_variance(n, LAM0, SCHED[0], workflow=wf),
                      _subsample_without_cross(SCHED, wf.subsample, LAM0),
                      po.rate_variance_schedule(LAM0, SCHED, workflow="accumulate")):
            assert check(run, wrong, None)
        return
    assert not check(run, *_theory(wf, SCHED))
    # rejected on the same run: the constant-M formulas with M = M_1 (the schedule ignored),
    # the replace schedule, and another policy's schedule formulas
    assert check(run, po.rate_variance(n, LAM0, SCHED[0], workflow=wf),
                 po.extinction_probability(n, LAM0, SCHED[0], workflow=wf))
    assert check(run, *_theory(W.replace(), SCHED))
    assert check(run, *_theory(WRONG[name], SCHED))


@pytest.mark.parametrize("name, method", FAST)
def test_simulation_matches_theory(name, method):
    _sim_check(name, method, seed=11 + len(name))


@pytest.mark.slow
@pytest.mark.parametrize("name, method", SLOW)
def test_simulation_matches_theory_slow(name, method):
    _sim_check(name, method, seed=23 + len(name) + len(method))
