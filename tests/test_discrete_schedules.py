"""Growing sample-size schedules M_1, ..., M_n for the categorical family under every workflow.

Theory (:func:`modelcollapse.theory.discrete_workflows.expected_heterozygosity_schedule`,
:func:`~modelcollapse.theory.discrete_workflows.expected_sq_distance_schedule`) is held against

- a brute-force enumeration, in exact rationals, of every multinomial path of the refit under
  tiny schedules (replace, mix with fresh and with one fixed real set, accumulate), written here
  from the definition of each workflow and nothing else;
- the constant-M closed forms of :mod:`modelcollapse.theory.discrete` for a constant schedule;
- the simulator (:func:`modelcollapse.sims.discrete.simulate` with ``M=`` a schedule), both paths.

The natural mistake -- the constant-M formula applied generation by generation with ``M_t`` (for
accumulate ``prod (1 - 1/(M_j j^2))``; for a fixed real set the fresh-data recursion) -- is shown
to be rejected by the same checks.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from fractions import Fraction

import jax
import numpy as np
import pytest

from modelcollapse.sims.discrete import DiscreteRun, simulate
from modelcollapse.spec.workflows import (
    SamplingBias,
    accumulate,
    accumulate_subsample,
    mix,
    replace,
    weighted,
)
from modelcollapse.theory.discrete import expected_heterozygosity, expected_sq_distance
from modelcollapse.theory.discrete_workflows import (
    expected_heterozygosity_schedule,
    expected_sq_distance_schedule,
)

# --------------------------------------------------------------------------------------------
# brute force: every path of the refit, exact rationals
# --------------------------------------------------------------------------------------------


def _multinomial(m: int, q: tuple[Fraction, ...]):
    """Every outcome ``c`` of Multinomial(m, q) with its probability (exact)."""
    K = len(q)
    for c in itertools.product(range(m + 1), repeat=K):
        if sum(c) != m:
            continue
        coef = Fraction(1)
        rest = m
        for ci, qi in zip(c, q, strict=True):
            coef *= Fraction(_binom(rest, ci)) * qi**ci
            rest -= ci
        if coef:
            yield c, coef


def _binom(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _enumerate(p0: tuple[Fraction, ...], sched: list[int], wf) -> tuple[list, list]:
    """Exact ``(E H_t, E ||p_t - p0||^2)``, ``t = 0..n``, by enumerating every path.

    A path's state is the fitted frequencies, the pool (accumulate) and the fixed real set's
    counts (mix, fixed real set). Generation 1 sees real data only: for mix its ``M_1 - r``
    "synthetic" points are drawn from the model of generation 0, which is ``p0``.
    """
    K = len(p0)
    zero = (0,) * K
    # state -> probability; state = (q, pool, fixed)
    states = {(p0, zero, None): Fraction(1)}
    H = [1 - sum(x * x for x in p0)]
    D = [Fraction(0)]
    name = wf.name
    for t, m in enumerate(sched, start=1):
        new: dict = {}
        r = wf.real_count(m) if name in ("mix", "weighted") else 0
        for (q, pool, fixed), pr in states.items():
            if name == "weighted":  # q' = w X/r + (1 - w) Y/m, two fits
                w = Fraction(wf.effective_weight)  # the float's exact binary value
                for x, wx in _multinomial(r, p0):
                    for y, wy in _multinomial(m, q):
                        q2 = tuple(w * Fraction(a, r) + (1 - w) * Fraction(b, m)
                                   for a, b in zip(x, y, strict=True))
                        key = (q2, zero, None)
                        new[key] = new.get(key, Fraction(0)) + pr * wx * wy
                continue
            if name in ("replace", "accumulate"):
                outs = [((c, pool), w) for c, w in _multinomial(m, q)]
            else:  # mix: real part (fresh, or the fixed set), synthetic part from q
                reals = ([(fixed, Fraction(1))] if wf.fixed_real and t > 1
                         else list(_multinomial(r, p0)))
                outs = []
                for x, wx in reals:
                    for y, wy in _multinomial(m - r, q):
                        c = tuple(a + b for a, b in zip(x, y, strict=True))
                        outs.append(((c, x), wx * wy))
            for (c, extra), w in outs:
                if name == "accumulate":
                    pool2 = tuple(a + b for a, b in zip(pool, c, strict=True))
                    q2 = tuple(Fraction(v, sum(pool2)) for v in pool2)
                    key = (q2, pool2, None)
                else:
                    q2 = tuple(Fraction(v, m) for v in c)
                    key = (q2, zero, extra if name == "mix" and wf.fixed_real else None)
                new[key] = new.get(key, Fraction(0)) + pr * w
        states = new
        H.append(sum(pr * (1 - sum(x * x for x in st[0])) for st, pr in states.items()))
        D.append(sum(pr * sum((a - b) ** 2 for a, b in zip(st[0], p0, strict=True))
                     for st, pr in states.items()))
    return H, D


P0 = (Fraction(1, 2), Fraction(1, 3), Fraction(1, 6))
P0F = [float(x) for x in P0]

BRUTE = [
    ("replace", replace(), [2, 3, 1, 4]),
    ("accumulate", accumulate(), [2, 1, 3, 2]),
    ("mix_fresh", mix(n_real=1), [2, 3, 1, 3]),
    ("mix_fixed", mix(n_real=1, fixed_real=True), [2, 3, 1, 3]),
    ("mix_fraction", mix(real_fraction=0.5), [2, 4, 1, 3]),
    ("weighted", weighted(0.25, n_real=2), [2, 3, 1, 3]),
    ("weighted_default", weighted(0.5), [1, 3, 2]),
]


@pytest.mark.parametrize("case", BRUTE, ids=[c[0] for c in BRUTE])
def test_schedule_theory_equals_enumeration(case):
    """Every workflow's schedule formula is the exact expectation over every path (K = 3,
    schedules with shrinking and growing sizes, M_t = 1 included): agreement to 1e-14."""
    _, wf, sched = case
    H, D = _enumerate(P0, sched, wf)
    h = expected_heterozygosity_schedule(P0F, sched, workflow=wf)
    d = expected_sq_distance_schedule(P0F, sched, workflow=wf)
    np.testing.assert_allclose(h, [float(x) for x in H], rtol=0, atol=1e-14)
    np.testing.assert_allclose(d, [float(x) for x in D], rtol=0, atol=1e-14)


def _wrong_accumulate(p0, sched):
    """The constant-M accumulate product applied with M_t: H* prod (1 - 1/(M_j j^2)) (wrong)."""
    Hs = 1.0 - float(np.sum(np.square(p0)))
    j = np.arange(1, len(sched) + 1)
    return Hs * np.concatenate([[1.0], np.cumprod(1.0 - 1.0 / (np.asarray(sched) * j * j))])


def _wrong_fixed(p0, sched, n_real):
    """The fresh-data mix recursion used for a fixed real set (wrong)."""
    return expected_sq_distance_schedule(p0, sched, workflow=mix(n_real=n_real))


def test_enumeration_rejects_constant_M_formulas():
    """The brute force tells the schedule formulas from the constant-M ones applied with M_t:
    accumulate's prod (1 - 1/(M_j j^2)) and the fresh-data recursion for a fixed real set both
    miss the exact values by more than 1e-3."""
    sched = [2, 1, 3, 2]
    H, _ = _enumerate(P0, sched, accumulate())
    assert np.max(np.abs(_wrong_accumulate(P0F, sched) - [float(x) for x in H])) > 1e-3
    sched = [2, 3, 1, 3]
    _, D = _enumerate(P0, sched, mix(n_real=1, fixed_real=True))
    assert np.max(np.abs(_wrong_fixed(P0F, sched, 1) - [float(x) for x in D])) > 1e-3


@pytest.mark.parametrize("wf", [replace(), accumulate(), mix(n_real=3),
                                mix(n_real=3, fixed_real=True), mix(real_fraction=0.3),
                                accumulate_subsample(4), accumulate_subsample()],
                         ids=["replace", "accumulate", "mix", "mix_fixed", "mix_fraction",
                              "subsample4", "subsample"])
@pytest.mark.parametrize("M", [5, 12, 1000])
def test_constant_schedule_equals_closed_forms(wf, M):
    """A constant schedule gives the constant-M closed forms of theory.discrete (the mix forms
    with rho^n, accumulate's zeta-series product, accumulate-subsample's recursion) to 1e-15."""
    n = 40
    g = np.arange(n + 1)
    p0 = [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]
    np.testing.assert_allclose(expected_sq_distance_schedule(p0, [M] * n, workflow=wf),
                               expected_sq_distance(g, np.asarray(p0)[:, None, :], M,
                                                    workflow=wf), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(expected_heterozygosity_schedule(p0, [M] * n, workflow=wf),
                               expected_heterozygosity(g, np.asarray(p0)[:, None, :], M,
                                                       workflow=wf), rtol=1e-13, atol=1e-15)


def test_accumulate_schedule_product_and_extremes():
    """Accumulate: H_t = H* prod (1 - M_j/N_j^2); a doubling schedule M_j = 2^j keeps
    N_j = 2^(j+1) - 2 and the values finite for n = 60 and M up to 1e9 and beyond."""
    sched = [2**j for j in range(1, 61)]
    pool = np.cumsum(np.asarray(sched, dtype=np.float64))
    want = np.concatenate([[1.0], np.cumprod(1.0 - np.asarray(sched) / pool**2)]) * 0.5
    got = expected_heterozygosity_schedule([0.5, 0.5], sched, workflow=accumulate())
    np.testing.assert_allclose(got, want, rtol=1e-14)
    big = expected_sq_distance_schedule([0.5, 0.5], [10**9, 10**12, 10**15],
                                        workflow=accumulate())
    np.testing.assert_allclose(big[1], 0.5e-9, rtol=1e-12)
    assert np.all(np.isfinite(big)) and np.all(np.diff(big) > 0)
    rep = expected_sq_distance_schedule([0.5, 0.5], [10**9] * 3)
    np.testing.assert_allclose(rep, 0.5 * -np.expm1(np.arange(4) * np.log1p(-1e-9)),
                               rtol=1e-14)


def test_shapes_and_empty_schedule():
    """Leading axes of p0 lead the result; an empty schedule gives generation 0 only."""
    p0 = np.full((2, 3, 4), 0.25)
    assert expected_heterozygosity_schedule(p0, [3, 4]).shape == (2, 3, 3)
    np.testing.assert_array_equal(expected_heterozygosity_schedule([0.5, 0.5], []), [0.5])
    np.testing.assert_array_equal(expected_sq_distance_schedule([0.5, 0.5], [],
                                                                workflow=accumulate()), [0.0])


@pytest.mark.parametrize("fn", [expected_heterozygosity_schedule, expected_sq_distance_schedule])
def test_schedule_validation(fn):
    """Bad schedules and workflows are refused by name."""
    with pytest.raises(ValueError, match=r"M\[1\] must be an integer >= 1"):
        fn([0.5, 0.5], [3, 0, 2])
    with pytest.raises(ValueError, match="M must be a 1-D schedule"):
        fn([0.5, 0.5], 5)
    with pytest.raises(ValueError, match="M must be a 1-D schedule"):
        fn([0.5, 0.5], [[3, 4]])
    with pytest.raises(ValueError, match="M must be a 1-D schedule"):
        fn([0.5, 0.5], "34")
    with pytest.raises(ValueError, match=r"M\[0\]"):
        fn([0.5, 0.5], [True, 3])
    with pytest.raises(ValueError, match="p0"):
        fn([0.5, 0.6], [3])
    with pytest.raises(ValueError, match="M must give the same real count"):
        fn([0.5, 0.5], [4, 8], workflow=mix(real_fraction=0.5, fixed_real=True))
    with pytest.raises(ValueError, match="M must be a constant schedule"):
        fn([0.5, 0.5], [4, 8], workflow=accumulate_subsample(2))
    with pytest.raises(ValueError, match="n_real must be <= M = 2"):
        fn([0.5, 0.5], [4, 2], workflow=mix(n_real=3))
    with pytest.raises(ValueError, match="sampling bias"):
        fn([0.5, 0.5], [4, 8], workflow=weighted(0.5, bias=SamplingBias(temperature=0.5)))
    with pytest.raises(ValueError, match="n_real must be >= 1"):
        fn([0.5, 0.5], [4, 8], workflow=weighted(0.5, n_real=0))
    with pytest.raises(ValueError, match="temperature"):
        fn([0.5, 0.5], [4, 8], workflow=replace(bias=SamplingBias(temperature=0.5)))


# --------------------------------------------------------------------------------------------
# theory vs the simulator
# --------------------------------------------------------------------------------------------

SCHED = [4, 8, 16, 32, 64]
P0S = [0.5, 0.3, 0.2]
CHAINS = 8000
#: The numeric support of the drift observable ``mean`` (recorded by the fast runs).
SUPPORT = np.array([0.0, 1.0, 5.0])
#: z-bound of every comparison: |mean - theory| <= Z * standard error. Each check compares two
#: observables at 5 generations (10 comparisons), over 7 fast and 5 slow runs, 120 in all; at
#: Z = 4.5 a correct formula fails a given comparison with probability 6.8e-6 (normal
#: approximation of the mean of 8000 i.i.d. bounded chains), so the whole file with
#: probability below 1e-3 (Bonferroni), with fixed seeds (deterministic in CI).
Z = 4.5


def _sq_distance(run: DiscreteRun) -> np.ndarray:
    """``||q_t - p0||^2`` per recorded generation and chain, from the recorded counts."""
    c = run.counts[1:].astype(np.float64)
    q = c / c.sum(axis=-1, keepdims=True)
    return np.sum((q - run.p0) ** 2, axis=-1)


def _z(x: np.ndarray, want: np.ndarray) -> np.ndarray:
    """``(mean - want)/se`` per generation (rows of ``x`` are generations, columns chains)."""
    se = x.std(axis=1, ddof=1) / np.sqrt(x.shape[1])
    return (x.mean(axis=1) - want) / se


def _check(run: DiscreteRun, h: np.ndarray, d: np.ndarray) -> float:
    """Largest |z| of the heterozygosity and squared distance against ``(h, d)``."""
    zh = _z(run.heterozygosity[1:], h[1:])
    zd = _z(_sq_distance(run), d[1:])
    return float(max(np.max(np.abs(zh)), np.max(np.abs(zd))))


def _run(wf, method, seed, sched=SCHED, **kw):
    return simulate(jax.random.key(seed), p0=P0S, M=sched, generations=len(sched), chains=CHAINS,
                    method=method, workflow=wf, record_counts=True, **kw)


FAST = [
    ("replace", replace(), "sufficient"),
    ("accumulate", accumulate(), "sufficient"),
    ("mix", mix(n_real=2), "sufficient"),
    ("mix_fixed", mix(n_real=2, fixed_real=True), "sufficient"),
    ("mix_fraction", mix(real_fraction=0.25), "samples"),  # a masked draw per schedule entry
]
SLOW = [
    ("replace", replace(), "samples"),
    ("accumulate", accumulate(), "samples"),
    ("mix", mix(n_real=2), "samples"),
    ("mix_fixed", mix(n_real=2, fixed_real=True), "samples"),
    ("mix_fraction", mix(real_fraction=0.25), "sufficient"),
]


@functools.cache
def _fast_run(i: int) -> DiscreteRun:
    """The run of ``FAST[i]`` (shared by the acceptance and the rejection checks)."""
    _, wf, method = FAST[i]
    return _run(wf, method, 100 + i, support=SUPPORT, drift=["mean"])


def _totals(wf, sched=SCHED) -> np.ndarray:
    """Points behind each recorded fit: M_t, the pool M_1 + ... + M_t under accumulate."""
    return np.cumsum(sched) if wf.name == "accumulate" else np.asarray(sched)


def _theory(wf):
    return (expected_heterozygosity_schedule(P0S, SCHED, workflow=wf),
            expected_sq_distance_schedule(P0S, SCHED, workflow=wf))


@pytest.mark.parametrize("case", FAST, ids=[f"{c[0]}-{c[2]}" for c in FAST])
def test_simulator_schedule_matches_theory(case):
    """Heterozygosity and squared distance of the simulated schedule [4, 8, 16, 32, 64]
    against the exact schedule theory, |z| <= 4.5 (see Z)."""
    _, wf, _ = case
    run = _fast_run(FAST.index(case))
    assert run.M == tuple(SCHED)
    assert (run.counts[1:].sum(axis=-1) == _totals(wf)[:, None]).all()
    assert _check(run, *_theory(wf)) <= Z


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW, ids=[f"{c[0]}-{c[2]}" for c in SLOW])
def test_simulator_schedule_matches_theory_slow(case):
    """The other paths of the mix workflows, same check and bound."""
    i = SLOW.index(case)
    _, wf, method = case
    run = _run(wf, method, 200 + i)
    assert (run.counts[1:].sum(axis=-1) == _totals(wf)[:, None]).all()
    assert _check(run, *_theory(wf)) <= Z


def test_simulator_rejects_constant_M_formulas():
    """The check above tells the schedule theory from the wrong ones: the constant-M accumulate
    product with M_t, the fresh-data recursion for a fixed real set, and the replace formula at
    a constant M = M_1 all land far beyond the bound (|z| > 10) on the runs that pass it."""
    run = _fast_run(1)  # accumulate
    wrong_h = _wrong_accumulate(P0S, SCHED)
    H = 1.0 - float(np.sum(np.square(P0S)))
    assert _check(run, wrong_h, H - wrong_h) > 10
    run = _fast_run(3)  # mix with a fixed real set
    wrong_d = _wrong_fixed(P0S, SCHED, 2)
    assert _check(run, H - wrong_d, wrong_d) > 10
    run = _fast_run(0)  # replace
    g = np.arange(len(SCHED) + 1)
    assert _check(run, expected_heterozygosity(g, P0S, SCHED[0]),
                  expected_sq_distance(g, P0S, SCHED[0])) > 10


def test_simulator_drift_mean_under_schedule():
    """The drift observable ``mean`` under a schedule (accumulate): the fitted mean's squared
    shift is the squared distance along the support, E (m_t - m_0)^2 = Var_p0(X) D_t/H*;
    |z| <= 4.5 (see Z)."""
    x = SUPPORT
    run = _fast_run(1)  # accumulate
    m0 = float(np.dot(P0S, x))
    var = float(np.dot(P0S, (x - m0) ** 2))
    d = expected_sq_distance_schedule(P0S, SCHED, workflow=accumulate())
    H = 1.0 - float(np.sum(np.square(P0S)))
    assert np.max(np.abs(_z((run.mean[1:] - m0) ** 2, var * d[1:] / H))) <= Z


def _counts_case(name, wf, method):
    """Every fit of accumulate-subsample sees N points."""
    sched = [3, 5, 2, 6]
    want = {"accumulate_subsample": [2] * 4}[name]
    run = simulate(jax.random.key(1), p0=P0S, M=sched, generations=4, chains=50,
                   method=method, workflow=wf, record_counts=True)
    assert (run.counts[1:].sum(axis=-1) == np.asarray(want)[:, None]).all(), (name, method)


def test_simulator_schedule_counts():
    """accumulate-subsample runs schedules too (sufficient path): N points per fit."""
    _counts_case("accumulate_subsample", accumulate_subsample(2), "sufficient")


@pytest.mark.slow
def test_simulator_schedule_counts_samples():
    """The same on the sample path."""
    _counts_case("accumulate_subsample", accumulate_subsample(2), "samples")


@pytest.mark.parametrize("method", ["sufficient", pytest.param("samples", marks=pytest.mark.slow)])
def test_simulator_weighted_schedule(method):
    """weighted(0.5, n_real=2) under the schedule: both fits see r_t + M_t = 2 + M_t points,
    and the heterozygosity of the blended fit matches the schedule theory (|z| <= 4.5, see Z);
    the replace formula (no real data) is rejected (|z| > 10)."""
    wf = weighted(0.5, n_real=2)
    run = _run(wf, method, 400)
    assert (run.counts[1:].sum(axis=-1) == (np.asarray(SCHED) + 2)[:, None]).all()
    h = expected_heterozygosity_schedule(P0S, SCHED, workflow=wf)
    assert np.max(np.abs(_z(run.heterozygosity[1:], h[1:]))) <= Z
    h_replace = expected_heterozygosity_schedule(P0S, SCHED)
    assert np.max(np.abs(_z(run.heterozygosity[1:], h_replace[1:]))) > 10


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sufficient", "samples"])
def test_constant_schedule_keeps_the_bits(method):
    """A constant schedule [M] * n gives the bits of the constant M (replace); the options of
    the fast runs, so that the schedule's program is the one already compiled for them."""
    kw = dict(p0=P0S, generations=len(SCHED), chains=CHAINS, method=method, record_counts=True,
              support=SUPPORT, drift=["mean"])
    a = simulate(jax.random.key(3), M=7, **kw)
    b = simulate(jax.random.key(3), M=[7] * len(SCHED), **kw)
    np.testing.assert_array_equal(a.heterozygosity, b.heterozygosity)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert a.M == 7 and b.M == (7,) * len(SCHED)


def test_simulator_schedule_save_load(tmp_path):
    """A run's schedule survives save and load (as a tuple; a constant stays an int)."""
    run = _fast_run(0)
    run.save(tmp_path / "r.npz")
    assert DiscreteRun.load(tmp_path / "r.npz").M == tuple(SCHED)
    dataclasses.replace(run, M=3).save(tmp_path / "c.npz")
    assert DiscreteRun.load(tmp_path / "c.npz").M == 3


def test_simulator_schedule_validation():
    """Schedules the simulator cannot run are refused, naming M."""
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="M as a schedule must have one entry per generation"):
        simulate(key, p0=P0S, M=[3, 4], generations=3, chains=2)
    with pytest.raises(ValueError, match=r"M\[1\]"):
        simulate(key, p0=P0S, M=[3, 0], generations=2, chains=2)
    with pytest.raises(ValueError, match="M must give the same real count"):
        simulate(key, p0=P0S, M=[4, 8], generations=2, chains=2,
                 workflow=mix(real_fraction=0.5, fixed_real=True))
    with pytest.raises(ValueError, match="M as a schedule must sum to"):
        simulate(key, p0=P0S, M=[2**24] * 128, generations=128, chains=2,
                 workflow=accumulate())
    with pytest.raises(ValueError, match="n_real must be <= M = 2"):
        simulate(key, p0=P0S, M=[4, 2], generations=2, chains=2, workflow=mix(n_real=3))
    with pytest.raises(ValueError, match="subsample must be an integer in"):
        simulate(key, p0=P0S, M=[2, 8], generations=2, chains=2,
                 workflow=accumulate_subsample(4))


@pytest.mark.slow
@pytest.mark.parametrize("wf", [replace(), mix(n_real=3), accumulate_subsample(4),
                                weighted(0.5, n_real=5)], ids=lambda w: w.name)
def test_simulator_empty_schedule(wf):
    """A schedule of no generation (M=[], generations=0) gives generation 0 only, whatever the
    workflow's real count or subsample size."""
    run = simulate(jax.random.key(0), p0=P0S, M=[], generations=0, chains=3, workflow=wf)
    assert run.M == () and run.generations.tolist() == [0]
    np.testing.assert_allclose(run.heterozygosity, 0.62)
