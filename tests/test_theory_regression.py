"""Tests of modelcollapse.theory.regression (OLS refit on its own labels).

References, all independent of the code under test:

* a plain NumPy Monte Carlo written here (``_simulate``): each generation draws a Gaussian design
  (or reuses the one drawn at the start), labels it with the previous fit plus fresh noise (real
  rows with ``beta_0``), stacks every row the workflow keeps and solves the normal equations of
  the stacked data -- no recursion, no inverse Wishart; fixed seeds; tolerance = Z * standard
  error with Z = 4.5 (two-sided P(|N(0,1)| > 4.5) = 6.8e-6 per comparison, Bonferroni over the
  few hundred comparisons of the file);
* exact values worked out by hand in the comments (fractions), and mpmath for the digamma limit.

Each statistical check is also fed a perturbed formula (``d/(T-d)`` for ``d/(T-d-1)``, ``sum
1/g`` for ``sum 1/g^2``, the fixed-design accumulate formula for the fresh design, ...) and must
reject it.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from modelcollapse.spec import workflows as W
from modelcollapse.theory import regression as rg

Z = 4.5  # z-bound of every Monte Carlo comparison in this file


# --------------------------------------------------------------------------------------------
# plain NumPy Monte Carlo: draw, label, stack, refit
# --------------------------------------------------------------------------------------------


def _fit(Z_, y, ridge=0.0):
    """Least squares (ridge) fit per chain: Z_ (c, rows, d), y (c, rows)."""
    G = np.einsum("cri,crj->cij", Z_, Z_) + ridge * np.eye(Z_.shape[-1])
    return np.linalg.solve(G, np.einsum("cri,cr->ci", Z_, y)[..., None])[..., 0]


def _simulate(n, T, d, chains, *, design="fixed", workflow="replace", r=0, noise2=1.0,
              seed=0, X=None, ridge=0.0, beta0=None, weight=None, n_real=None):
    """``||beta_g - beta_0||^2`` per generation g = 0..n and chain: array (n + 1, chains).

    ``X`` (T x d) given: that fixed design for every chain (then only the noise is random).
    """
    rng = np.random.default_rng(seed)
    sd = np.sqrt(noise2)
    b0 = rng.standard_normal(d) if beta0 is None else np.asarray(beta0, dtype=float)
    if X is not None:
        Xfix = np.broadcast_to(np.asarray(X, dtype=float), (chains, T, d))
    else:
        Xfix = rng.standard_normal((chains, T, d))
    if workflow == "weighted":
        nr = T if n_real is None else n_real
        Xr_fix = rng.standard_normal((chains, nr, d))
    beta = np.broadcast_to(b0, (chains, d)).copy()
    rows, labels = [], []
    out = np.zeros((n + 1, chains))
    for g in range(1, n + 1):
        Xg = Xfix if design == "fixed" else rng.standard_normal((chains, T, d))
        y = np.einsum("cti,ci->ct", Xg, beta) + sd * rng.standard_normal((chains, T))
        if workflow == "mix":
            y[:, :r] = Xg[:, :r] @ b0 + sd * rng.standard_normal((chains, r))
        if workflow == "accumulate":
            rows.append(Xg)
            labels.append(y)
            beta = _fit(np.concatenate(rows, axis=1), np.concatenate(labels, axis=1), ridge)
        elif workflow == "weighted":
            Xr = Xr_fix if design == "fixed" else rng.standard_normal(Xr_fix.shape)
            yr = Xr @ b0 + sd * rng.standard_normal(Xr.shape[:2])
            beta = weight * _fit(Xr, yr) + (1.0 - weight) * _fit(Xg, y)
        else:
            beta = _fit(Xg, y, ridge)
        out[g] = np.sum((beta - b0) ** 2, axis=1)
    return out


def _within(samples, expected, z=Z):
    """Whether every generation's Monte Carlo mean is within z standard errors of ``expected``."""
    m = samples.mean(axis=-1)
    se = samples.std(axis=-1, ddof=1) / np.sqrt(samples.shape[-1])
    expected = np.broadcast_to(np.asarray(expected, dtype=float), m.shape)
    ok = np.abs(m - expected) <= z * se + 1e-12 * np.abs(expected)
    return bool(np.all(ok)), (m, se)


def _check(samples, expected):
    ok, (m, se) = _within(samples, expected)
    assert ok, f"mean {m} +- {se} vs theory {expected}"


def _rejects(samples, wrong):
    ok, _ = _within(samples, wrong)
    assert not ok, "the Monte Carlo check accepted a wrong formula"


def _h(n, p):
    return np.array([sum(1.0 / g**p for g in range(1, k + 1)) for k in range(n + 1)])


N_GEN = 6
GENS = np.arange(N_GEN + 1)


# --------------------------------------------------------------------------------------------
# replace: n noise2 d/(T - d - 1) in both designs
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replace_runs():
    T, d = 14, 3
    return T, d, {des: _simulate(N_GEN, T, d, 4000, design=des, noise2=0.5, seed=1 + i)
                  for i, des in enumerate(("fixed", "fresh"))}


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_replace_matches_monte_carlo(replace_runs, design):
    T, d, runs = replace_runs
    th = rg.expected_test_error(GENS, T, d, noise2=0.5, design=design)
    np.testing.assert_allclose(th, GENS * 0.5 * 3 / 10, rtol=1e-14)  # n s d/(T-d-1) by hand
    _check(runs[design], th)


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_replace_check_rejects_wrong_formulas(replace_runs, design):
    T, d, runs = replace_runs
    _rejects(runs[design], GENS * 0.5 * d / (T - d))          # d/(T-d) for d/(T-d-1)
    _rejects(runs[design], GENS * 0.5 * d / (T - d - 1) * 1.15)


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_replace_variance_matches_monte_carlo(replace_runs, design):
    """Var of one chain's error: z-bound with the delta-method standard error of the sample
    variance, sqrt((m4 - v^2)/N)."""
    T, d, runs = replace_runs
    x = runs[design][1:]
    v = x.var(axis=1, ddof=1)
    se = np.sqrt(np.mean((x - x.mean(axis=1, keepdims=True)) ** 4, axis=1) - v**2) / np.sqrt(
        x.shape[1])
    th = rg.variance_of_test_error(GENS[1:], T, d, noise2=0.5, design=design)
    assert np.all(np.abs(v - th) <= Z * se), (v, se, th)
    other = "fresh" if design == "fixed" else "fixed"
    wrong = rg.variance_of_test_error(GENS[1:], T, d, noise2=0.5, design=other)
    assert not np.all(np.abs(v - wrong) <= Z * se)  # the other design's variance is rejected


def _variance_within(x, th):
    v = x.var(axis=1, ddof=1)
    se = np.sqrt(np.mean((x - x.mean(axis=1, keepdims=True)) ** 4, axis=1) - v**2) / np.sqrt(
        x.shape[1])
    return bool(np.all(np.abs(v - th) <= Z * se)), (v, se)


def test_accumulate_variance_matches_monte_carlo(accumulate_runs):
    T, d, runs = accumulate_runs
    x = runs["fixed"][1:]
    th = rg.variance_of_test_error(GENS[1:], T, d, workflow="accumulate")
    ok, info = _variance_within(x, th)
    assert ok, (info, th)
    h1 = _h(N_GEN, 1)[1:]  # H1(n)^2 for H2(n)^2 is rejected
    assert not _variance_within(x, th * (h1 / _h(N_GEN, 2)[1:]) ** 2)[0]


def test_fresh_design_variance_is_smaller_means_equal():
    n = np.arange(2, 30)
    for T, d in [(6, 1), (12, 3), (40, 10)]:
        assert np.all(rg.variance_of_test_error(n, T, d, design="fresh")
                      < rg.variance_of_test_error(n, T, d, design="fixed"))
        assert np.array_equal(rg.expected_test_error(n, T, d, design="fresh"),
                              rg.expected_test_error(n, T, d, design="fixed"))
    assert rg.variance_of_test_error(1, 12, 3, design="fresh") == pytest.approx(
        rg.variance_of_test_error(1, 12, 3, design="fixed"), rel=1e-14)


def test_variance_d1_by_hand():
    # d = 1: K = 1/chi2_T, E K = 1/(T-2), E K^2 = 1/((T-2)(T-4)); error = s n K z^2 (fixed)
    T = 9
    ek, ek2 = 1 / 7, 1 / 35
    assert float(rg.variance_of_test_error(3, T, 1)) == pytest.approx(9 * (3 * ek2 - ek**2),
                                                                       rel=1e-13)
    h2 = 1 + 1 / 4 + 1 / 9
    assert float(rg.variance_of_test_error(3, T, 1, workflow="accumulate")) == pytest.approx(
        h2**2 * (3 * ek2 - ek**2), rel=1e-13)


# --------------------------------------------------------------------------------------------
# accumulate: fixed H2(n) d/(T-d-1); fresh sum 1/(g (gT - d - 1))
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def accumulate_runs():
    T, d = 10, 2
    return T, d, {"fixed": _simulate(N_GEN, T, d, 6000, workflow="accumulate", seed=11),
                  "fresh": _simulate(N_GEN, T, d, 20000, design="fresh",
                                     workflow="accumulate", seed=12)}


def test_accumulate_fixed_matches_monte_carlo(accumulate_runs):
    T, d, runs = accumulate_runs
    th = rg.expected_test_error(GENS, T, d, workflow="accumulate")
    np.testing.assert_allclose(th, 2 / 7 * _h(N_GEN, 2), rtol=1e-14)
    _check(runs["fixed"], th)
    _rejects(runs["fixed"], 2 / 7 * _h(N_GEN, 1))                 # sum 1/g for sum 1/g^2
    _rejects(runs["fixed"], 2 / 7 * np.minimum(GENS, 1) * 1.0)    # no growth after gen 1


def test_accumulate_fresh_matches_monte_carlo(accumulate_runs):
    T, d, runs = accumulate_runs
    th = rg.expected_test_error(GENS, T, d, design="fresh", workflow="accumulate")
    by_hand = np.concatenate([[0.0], np.cumsum([2 / (g * (10 * g - 3)) for g in GENS[1:]])])
    np.testing.assert_allclose(th, by_hand, rtol=1e-14)
    _check(runs["fresh"], th)
    fixed = rg.expected_test_error(GENS, T, d, design="fixed", workflow="accumulate")
    _rejects(runs["fresh"], fixed)            # the fixed design's formula is too large
    _rejects(runs["fresh"], 2 / 7 * _h(N_GEN, 1))


def test_accumulate_fresh_is_smaller_and_bounded():
    n = np.array([1, 2, 5, 50, 10**4, 10**9])
    for T, d in [(3, 1), (10, 2), (200, 50)]:
        fixed = rg.expected_test_error(n, T, d, workflow="accumulate")
        fresh = rg.expected_test_error(n, T, d, design="fresh", workflow="accumulate")
        assert fresh[0] == pytest.approx(fixed[0], rel=1e-14)
        assert np.all(fresh[1:] < fixed[1:])
        assert np.all(np.diff(fresh) > 0) and np.all(np.diff(fixed) >= 0)
        assert np.all(fixed < rg.accumulate_bound(T, d))
        assert np.all(fresh < rg.accumulate_bound(T, d, design="fresh"))
        assert fresh[-1] == pytest.approx(float(rg.accumulate_bound(T, d, design="fresh")),
                                          rel=1e-8)


def test_accumulate_bounds_exact_values():
    mp.mp.dps = 30
    assert float(rg.accumulate_bound(10, 2, noise2=3.0)) == pytest.approx(
        3 * 2 * float(mp.pi**2) / (6 * 7), rel=1e-14)
    for T, d in [(3, 1), (10, 2), (1000, 7), (10**9, 3)]:  # digamma and power-series branches
        c = mp.mpf(d + 1)
        exact = d * mp.nsum(lambda g, T=T, c=c: 1 / (g * (g * T - c)), [1, mp.inf])
        assert float(rg.accumulate_bound(T, d, design="fresh")) == pytest.approx(float(exact),
                                                                                 rel=1e-13)
    # large n: the zeta / digamma branches against mpmath partial sums
    for n in (65, 1000):
        exact = mp.fsum(1 / mp.mpf(g) ** 2 for g in range(1, n + 1)) * mp.mpf(2) / 7
        assert float(rg.expected_test_error(n, 10, 2, workflow="accumulate")) == pytest.approx(
            float(exact), rel=1e-13)
        for T in (4, 10, 10**7):
            exact = mp.fsum(2 / (mp.mpf(g) * (T * g - 3)) for g in range(1, n + 1))
            got = rg.expected_test_error(n, T, 2, design="fresh", workflow="accumulate")
            assert float(got) == pytest.approx(float(exact), rel=1e-13)


# --------------------------------------------------------------------------------------------
# mix (fresh design: exact geometric law) and weighted
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mix_runs():
    T, d, r = 12, 3, 4
    return T, d, r, _simulate(N_GEN, T, d, 8000, design="fresh", workflow="mix", r=r, seed=21)


def test_mix_fresh_matches_monte_carlo(mix_runs):
    T, d, r, run = mix_runs
    wf = W.mix(n_real=r)
    th = rg.expected_test_error(GENS, T, d, design="fresh", workflow=wf)
    _check(run, th)
    c = float(rg.mix_contraction(T, d, workflow=wf))
    k = d / (T - d - 1)
    np.testing.assert_allclose(th, k * (1 - c**GENS) / (1 - c), rtol=1e-13)
    # wrong contractions: the naive (1 - r/T)^2, and replace (c = 1)
    _rejects(run, k * (1 - (1 - r / T) ** (2 * GENS)) / (1 - (1 - r / T) ** 2))
    _rejects(run, k * GENS)


def test_mix_contraction_limits():
    assert float(rg.mix_contraction(12, 3, workflow=W.mix(n_real=0))) == 1.0
    assert float(rg.mix_contraction(12, 3, workflow=W.mix(n_real=12))) == pytest.approx(
        0.0, abs=1e-15)
    # d = 1, r = T - 1: P = x_T^2/sum x^2 ~ Beta(1/2, (T-1)/2): E P^2 = 3/(T (T+2))
    T = 9
    assert float(rg.mix_contraction(T, 1, workflow=W.mix(n_real=T - 1))) == pytest.approx(
        3 / (T * (T + 2)), rel=1e-13)
    # large T: (1 - f)^2
    T = np.array([10**4, 10**6])
    c = rg.mix_contraction(T, 5, workflow=W.mix(real_fraction=0.25))
    assert np.all(np.abs(c / 0.75**2 - 1) < 30 / T)
    assert float(rg.stationary_test_error(12, 3, workflow=W.mix(n_real=0))) == np.inf


def test_mix_contraction_monte_carlo():
    """c = E tr(P^T P)/d against a direct Monte Carlo of P = (X^T X)^{-1} X_s^T X_s."""
    rng = np.random.default_rng(5)
    T, d, r = 10, 3, 4
    X = rng.standard_normal((20000, T, d))
    P_ = np.linalg.solve(np.einsum("cti,ctj->cij", X, X),
                         np.einsum("cti,ctj->cij", X[:, r:], X[:, r:]))
    v = np.einsum("cij,cij->c", P_, P_) / d
    c = float(rg.mix_contraction(T, d, workflow=W.mix(n_real=r)))
    assert abs(v.mean() - c) <= Z * v.std() / np.sqrt(v.size)
    assert abs(v.mean() - 13 / 27) <= Z * v.std() / np.sqrt(v.size)   # by hand: 13/27
    assert not abs(v.mean() - (1 - r / T) ** 2) <= Z * v.std() / np.sqrt(v.size)


def test_mix_fixed_d1_matches_monte_carlo():
    """d = 1: E_n = s/(T-2) sum_{j<n} E U^{2j}, U ~ Beta((T-r)/2, r/2); the fresh design's
    geometric law (c^j for E U^{2j}) is rejected by the same samples."""
    T, r, n = 12, 4, 10
    gens = np.arange(n + 1)
    run = _simulate(n, T, 1, 20000, workflow="mix", r=r, seed=81)
    wf = W.mix(n_real=r)
    th = rg.expected_test_error(gens, T, 1, workflow=wf)
    a, b = (T - r) / 2, r / 2
    mom = [1.0]
    for i in range(2 * n):  # E U^k = prod_{i<k} (a + i)/(a + b + i)
        mom.append(mom[-1] * (a + i) / (a + b + i))
    by_hand = np.concatenate([[0.0], np.cumsum(mom[0::2][:n])]) / (T - 2)
    np.testing.assert_allclose(th, by_hand, rtol=1e-12)
    _check(run, th)
    _rejects(run, rg.expected_test_error(gens, T, 1, design="fresh", workflow=wf))


def test_mix_fixed_two_generations_matches_monte_carlo():
    """d >= 2, n <= 2: E_2 = s/(T-d-1) (d + E tr P^2); the fresh design's E_2 is larger."""
    T, d, r = 12, 3, 4
    run = _simulate(2, T, d, 20000, workflow="mix", r=r, seed=82)
    wf = W.mix(n_real=r)
    th = rg.expected_test_error([0, 1, 2], T, d, workflow=wf)
    hii, hij = d * (d + 2) / (T * (T + 2)), d * (T - d) / (T * (T - 1) * (T + 2))
    trp2 = d - 2 * r * d / T + r * hii + r * (r - 1) * hij
    np.testing.assert_allclose(th, [0.0, d / (T - d - 1), (d + trp2) / (T - d - 1)], rtol=1e-13)
    _check(run, th)
    fresh = rg.expected_test_error([0, 1, 2], T, d, design="fresh", workflow=wf)
    assert fresh[2] > th[2]  # by 1.4 % here: too close for this Monte Carlo to tell apart
    _rejects(run, [0.0, d / (T - d - 1), (d + d * (1 - r / T) ** 2) / (T - d - 1)])  # Jensen
    _rejects(run, [0.0, d / (T - d - 1), 2 * d / (T - d - 1)])  # replace: no real rows
    for T_, d_, r_ in [(6, 2, 1), (20, 5, 10), (40, 3, 39)]:
        w_ = W.mix(n_real=r_)
        assert (rg.expected_test_error(2, T_, d_, design="fresh", workflow=w_)
                >= rg.expected_test_error(2, T_, d_, workflow=w_))


def test_mix_fixed_d1_is_larger_than_fresh():
    """d = 1: E P^{2j} >= (E P^2)^j (Jensen), so the fixed design's error is at least the
    fresh one's, with equality for n <= 2."""
    n = np.arange(0, 40)
    for T, r in [(5, 1), (12, 4), (30, 29), (50, 5)]:
        wf = W.mix(n_real=r)
        fixed = rg.expected_test_error(n, T, 1, workflow=wf)
        fresh = rg.expected_test_error(n, T, 1, design="fresh", workflow=wf)
        np.testing.assert_allclose(fixed[:3], fresh[:3], rtol=1e-13)
        assert np.all(fixed[3:] > fresh[3:])


def test_mix_fixed_d1_stationary_error():
    """lim E_n = s/(T-2) E 1/(1 - U^2), U ~ Beta((T-r)/2, r/2), against mpmath quadrature and
    the partial sums; infinite for r <= 2."""
    mp.mp.dps = 30
    for T, r in [(12, 4), (8, 7), (40, 6)]:
        a, b = mp.mpf(T - r) / 2, mp.mpf(r) / 2
        quad = mp.quad(lambda u, a=a, b=b: u ** (a - 1) * (1 - u) ** (b - 1) / mp.beta(a, b)
                       / (1 - u**2), [0, 1]) / (T - 2)
        wf = W.mix(n_real=r)
        got = float(rg.stationary_test_error(T, 1, design="fixed", workflow=wf, noise2=2.0))
        assert got == pytest.approx(2.0 * float(quad), rel=1e-12)
        assert float(rg.expected_test_error(2**16, T, 1, workflow=wf, noise2=2.0)) < got
    assert float(rg.stationary_test_error(9, 1, design="fixed", workflow=W.mix(n_real=2))) == np.inf


def test_mix_fixed_expectation_refused():
    with pytest.raises(ValueError, match="n must be <= 2.*conditional_test_error"):
        rg.expected_test_error(3, 12, 3, workflow="mix")
    with pytest.raises(ValueError, match="design='fixed'.*d >= 2.*conditional_test_error"):
        rg.stationary_test_error(12, 3, design="fixed")
    with pytest.raises(ValueError, match="fixed_real"):
        rg.expected_test_error(2, 12, 3, design="fresh", workflow=W.mix(n_real=2,
                                                                         fixed_real=True))


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_weighted_matches_monte_carlo(design):
    T, d, w, nr = 12, 2, 0.4, 8
    run = _simulate(N_GEN, T, d, 4000, design=design, workflow="weighted", weight=w,
                    n_real=nr, seed=31)
    th = rg.expected_test_error(GENS, T, d, design=design,
                                workflow=W.weighted(w, n_real=nr))
    b = w**2 * d / (nr - d - 1) + (1 - w) ** 2 * d / (T - d - 1)
    a = (1 - w) ** 2
    np.testing.assert_allclose(th, b * (1 - a**GENS) / (1 - a), rtol=1e-13)
    _check(run, th)
    _rejects(run, (w * d / (nr - d - 1) + (1 - w) * d / (T - d - 1)) * (1 - a**GENS) / (1 - a))
    assert float(rg.stationary_test_error(T, d, design=design,
                                          workflow=W.weighted(w, n_real=nr))) == pytest.approx(
        b / (1 - a), rel=1e-14)


# --------------------------------------------------------------------------------------------
# conditional on one fixed design, with ridge and a bias
# --------------------------------------------------------------------------------------------

_XCOND = np.random.default_rng(41).standard_normal((9, 3))


@pytest.mark.parametrize("workflow,ridge", [("replace", 0.0), ("replace", 2.0),
                                            ("accumulate", 0.0), ("accumulate", 2.0),
                                            ("mix", 0.0), ("mix", 2.0)])
def test_conditional_matches_monte_carlo_over_noise(workflow, ridge):
    T, d = _XCOND.shape
    b0 = np.array([1.0, -0.5, 2.0])
    r = 3
    run = _simulate(N_GEN, T, d, 3000, workflow=workflow, r=r, X=_XCOND, ridge=ridge,
                    beta0=b0, noise2=0.7, seed=51)
    wf = W.mix(n_real=r) if workflow == "mix" else workflow
    th = rg.conditional_test_error(GENS, _XCOND, noise2=0.7, workflow=wf, ridge=ridge,
                                   beta0=b0)
    _check(run[1:], th[1:])
    assert th[0] == 0.0
    if ridge == 0.0 and workflow != "mix":
        trk = np.trace(np.linalg.inv(_XCOND.T @ _XCOND))
        v = GENS if workflow == "replace" else _h(N_GEN, 2)
        np.testing.assert_allclose(th, 0.7 * v * trk, rtol=1e-12)
        _rejects(run[1:], (0.7 * (GENS if workflow == "accumulate" else _h(N_GEN, 2))
                           * trk)[1:])
    if ridge > 0.0:  # leaving out the bias term is rejected
        zero = rg.conditional_test_error(GENS, _XCOND, noise2=0.7, workflow=wf, ridge=ridge)
        _rejects(run[1:], zero[1:])


def test_conditional_averages_to_expected():
    """The mean over Gaussian designs of the conditional error is the expected error."""
    rng = np.random.default_rng(61)
    T, d = 10, 2
    vals = np.array([[rg.conditional_test_error([1, 4], rng.standard_normal((T, d)),
                                                workflow=wf) for wf in ("replace", "accumulate")]
                     for _ in range(3000)])
    for j, wf in enumerate(("replace", "accumulate")):
        _check(vals[:, j].T, rg.expected_test_error([1, 4], T, d, workflow=wf))


def test_conditional_mix_limits():
    X = _XCOND
    trk = np.trace(np.linalg.inv(X.T @ X))
    n = np.arange(5)
    np.testing.assert_allclose(rg.conditional_test_error(n, X, workflow=W.mix(n_real=0)),
                               n * trk, rtol=1e-12)          # no real rows: replace
    np.testing.assert_allclose(rg.conditional_test_error(n, X, workflow=W.mix(n_real=9)),
                               np.minimum(n, 1) * trk, rtol=1e-12)  # all real
    # ridge with n = 1: bias lam^2 b^T R^2 b + s tr(R A R), R = (A + lam I)^{-1}
    A, lam, b = X.T @ X, 1.5, np.array([0.3, 0.0, -1.0])
    R = np.linalg.inv(A + lam * np.eye(3))
    one = lam**2 * b @ R @ R @ b + np.trace(R @ A @ R)
    for wf in ("replace", "accumulate", W.mix(n_real=4)):
        assert float(rg.conditional_test_error(1, X, workflow=wf, ridge=lam,
                                               beta0=b)) == pytest.approx(one, rel=1e-12)


# --------------------------------------------------------------------------------------------
# validation and broadcasting
# --------------------------------------------------------------------------------------------


def test_T_must_exceed_d_plus_one():
    for T in (3, 4):
        with pytest.raises(ValueError, match=r"T must be > d \+ 1 .*d=3"):
            rg.expected_test_error(1, T, 3)
    with pytest.raises(ValueError, match=r"T must be > d \+ 1"):
        rg.accumulate_bound([10, 2], 1)
    with pytest.raises(ValueError, match=r"T must be > d \+ 3"):
        rg.variance_of_test_error(1, 6, 3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=-1), "n must be"), (dict(n=1.5), "n must be"), (dict(T=0), "T must be"),
    (dict(T=12.5), "T must be"), (dict(d=0), "d must be"), (dict(noise2=0.0), "noise2"),
    (dict(noise2=np.nan), "noise2"), (dict(design="random"), "design"),
    (dict(workflow="accumulate_subsample"), "accumulate_subsample"),
    (dict(workflow="shuffle"), "workflow"), (dict(n=[1, 2], T=[12, 13, 14]), "broadcast"),
])
def test_validation(kwargs, match):
    args = dict(n=1, T=12, d=3) | kwargs
    n, T, d = args.pop("n"), args.pop("T"), args.pop("d")
    with pytest.raises(ValueError, match=match):
        rg.expected_test_error(n, T, d, **args)


def test_conditional_validation():
    with pytest.raises(ValueError, match="full column rank"):
        rg.conditional_test_error(1, np.ones((5, 2)))
    with pytest.raises(ValueError, match="full column rank"):
        rg.conditional_test_error(1, np.ones((1, 2)))
    assert np.isfinite(rg.conditional_test_error(1, np.ones((1, 2)), ridge=0.1))
    with pytest.raises(ValueError, match="X must be"):
        rg.conditional_test_error(1, np.ones(3))
    with pytest.raises(ValueError, match="X must be"):
        rg.conditional_test_error(1, [[1.0, np.nan]])
    with pytest.raises(ValueError, match="ridge"):
        rg.conditional_test_error(1, _XCOND, ridge=-1.0)
    with pytest.raises(ValueError, match="beta0"):
        rg.conditional_test_error(1, _XCOND, ridge=1.0, beta0=[1.0, 2.0])
    with pytest.raises(ValueError, match="weighted"):
        rg.conditional_test_error(1, _XCOND, workflow="weighted")
    with pytest.raises(ValueError, match="n_real must be"):
        rg.expected_test_error(1, 12, 3, workflow=W.weighted(0.5, n_real=4))
    with pytest.raises(ValueError, match="fresh"):
        rg.variance_of_test_error(1, 12, 3, design="fresh", workflow="accumulate")


def test_broadcasting_and_dtype():
    out = rg.expected_test_error(np.arange(4)[:, None], [10, 20], 2, noise2=[[1.0], [2.0],
                                                                             [1.0], [2.0]])
    assert out.shape == (4, 2) and out.dtype == np.float64
    assert np.isscalar(rg.expected_test_error(1, 10, 2)) or rg.expected_test_error(
        1, 10, 2).shape == ()
    mixed = rg.expected_test_error([1, 3], [12, 40], 3, design="fresh",
                                   workflow=W.mix(real_fraction=0.25))
    assert mixed.shape == (2,)
    wf = W.mix(n_real=3)
    grid = rg.expected_test_error(np.arange(6)[:, None], [8, 12, 30], 1, workflow=wf)
    assert grid.shape == (6, 3)
    for i in range(6):
        for j, T in enumerate((8, 12, 30)):
            assert grid[i, j] == float(rg.expected_test_error(i, T, 1, workflow=wf))
    assert float(rg.expected_test_error(2**40, 12, 3, design="fresh",
                                        workflow="mix")) == pytest.approx(
        float(rg.stationary_test_error(12, 3)), rel=1e-12)


# --------------------------------------------------------------------------------------------
# symbolic == numeric at random points
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sym():
    from modelcollapse.theory.symbolic import regression as srg

    return srg.lambdified()


def test_symbolic_equals_numeric_at_random_points(sym):
    rng = np.random.default_rng(71)
    for _ in range(12):
        d = int(rng.integers(1, 8))
        T = int(rng.integers(d + 4, 60))
        n = int(rng.integers(1, 40))
        s = float(rng.uniform(0.1, 3.0))
        r = int(rng.integers(1, T))
        w = float(rng.uniform(0.05, 1.0))
        nr = int(rng.integers(d + 2, 60))
        pairs = [
            (sym["replace"](n, T, d, s), rg.expected_test_error(n, T, d, noise2=s)),
            (sym["accumulate_fixed"](n, T, d, s),
             rg.expected_test_error(n, T, d, noise2=s, workflow="accumulate")),
            (sym["accumulate_fresh_limit"](T, d, s),
             rg.accumulate_bound(T, d, noise2=s, design="fresh")),
            (sym["mix_contraction"](T, d, r), rg.mix_contraction(T, d, workflow=W.mix(n_real=r))),
            (sym["mix"](n, T, d, r, s), rg.expected_test_error(n, T, d, noise2=s, design="fresh",
                                                              workflow=W.mix(n_real=r))),
            (sym["weighted"](n, T, d, w, nr, s),
             rg.expected_test_error(n, T, d, noise2=s, workflow=W.weighted(w, n_real=nr))),
            (sym["variance_replace_fixed"](n, T, d, s),
             rg.variance_of_test_error(n, T, d, noise2=s)),
            (sym["variance_replace_fresh"](n, T, d, s),
             rg.variance_of_test_error(n, T, d, noise2=s, design="fresh")),
            (sym["variance_accumulate_fixed"](n, T, d, s),
             rg.variance_of_test_error(n, T, d, noise2=s, workflow="accumulate")),
        ]
        wf = W.mix(n_real=r)
        pairs.append((sym["mix_fixed_2"](T, d, r, s),
                      rg.expected_test_error(2, T, d, noise2=s, workflow=wf)))
        if _ < 4:  # the d = 1 Beta sum, evaluated by sympy term by term (slower)
            nn = min(n, 8)
            pairs.append((sym["mix_fixed_d1"](nn, T, r, s),
                          rg.expected_test_error(nn, T, 1, noise2=s, workflow=wf)))
        for a, b in pairs:
            assert float(a) == pytest.approx(float(b), rel=1e-11, abs=1e-15)


def test_symbolic_ridge_coordinate_equals_conditional():
    """Ridge, replace: the sum over eigen-coordinates of the symbolic one-coordinate error."""
    import sympy as sp

    from modelcollapse.theory.symbolic import regression as srg

    f = sp.lambdify((srg.n, srg.mu, srg.lam, srg.b0, srg.noise2), srg.ridge_coordinate_expr())
    X = _XCOND
    mu, V = np.linalg.eigh(X.T @ X)
    beta0 = np.array([1.0, -2.0, 0.5])
    b = V.T @ beta0
    for nv in (1, 3, 7):
        want = sum(f(nv, mu[i], 0.8, b[i], 1.3) for i in range(3))
        got = rg.conditional_test_error(nv, X, noise2=1.3, ridge=0.8, beta0=beta0)
        assert float(got) == pytest.approx(want, rel=1e-11)


# --------------------------------------------------------------------------------------------
# the proof's step checks reject perturbed formulas
# --------------------------------------------------------------------------------------------


def test_proof_steps_reject_perturbed_formulas():
    import sympy as sp

    from modelcollapse import proofs
    from modelcollapse.proofs import check_regression as chk
    from modelcollapse.theory.symbolic import regression as srg

    assert [label for label, _, _ in chk.STEPS] == proofs.proof_steps("regression")
    T, d, s, kap, n, g = srg.T, srg.d, srg.noise2, srg.kappa, srg.n, srg.g
    bad = [
        (chk.step2_inverse_wishart, d / (T - d)),                       # d/(T-d)
        (chk.step3_replace, n * s * kap + s * kap),                     # off by one generation
        (chk.step4_accumulate_fixed, s * kap * sp.harmonic(n)),         # sum 1/g
        (chk.step5_accumulate_fresh, s * d / (g**2 * (T - d - 1))),     # the fixed increment
        (chk.step6_mix, s * kap * (1 - srg.c ** (n + 1)) / (1 - srg.c)),
        (chk.step7_mix_contraction, (1 - srg.r / T) ** 2),              # the naive contraction
        (chk.step8_weighted, srg.weighted_expr().subs(srg.w, srg.w / 2)),
        (chk.step10_ridge, srg.ridge_coordinate_expr() + srg.lam * srg.b0**2 / 10**6),
        (chk.step11_mix_fixed, srg.mix_contraction_expr() * d),          # tr P^T P for tr P^2
    ]
    for step, formula in bad:
        with pytest.raises(proofs.StepFailure):
            step(formula)
    v = dict(srg.variance_exprs())
    v["replace_fresh"] = v["replace_fixed"]
    with pytest.raises(proofs.StepFailure):
        chk.step9_variance(v)
    with pytest.raises(proofs.StepFailure):
        chk.step1_one_step(sp.eye(2))


# --------------------------------------------------------------------------------------------
# slow sweeps (run with --runslow)
# --------------------------------------------------------------------------------------------

SWEEP = [(1, 9), (2, 12), (5, 16), (8, 24)]  # (d, T): T - d >= 8, finite fourth moments of K


@pytest.mark.slow
@pytest.mark.parametrize("d,T", SWEEP)
@pytest.mark.parametrize("design", ["fixed", "fresh"])
@pytest.mark.parametrize("workflow", ["replace", "accumulate", "mix", "weighted"])
def test_sweep_theory_vs_monte_carlo(d, T, design, workflow):
    n = 12 if workflow != "mix" or design == "fresh" or d == 1 else 2
    gens = np.arange(n + 1)
    r = T // 3
    kwargs = {}
    if workflow == "mix":
        wf = W.mix(n_real=r)
    elif workflow == "weighted":
        wf = W.weighted(0.3, n_real=T + 4)
        kwargs = dict(weight=0.3, n_real=T + 4)
    else:
        wf = workflow
    run = _simulate(n, T, d, 6000, design=design, workflow=workflow, r=r, noise2=0.8,
                    seed=1000 + 7 * d + T, **kwargs)
    th = rg.expected_test_error(gens, T, d, noise2=0.8, design=design, workflow=wf)
    _check(run[1:], th[1:])
    if workflow in ("replace", "accumulate") and not (workflow == "accumulate"
                                                     and design == "fresh"):
        tv = rg.variance_of_test_error(gens[1:], T, d, noise2=0.8, design=design, workflow=wf)
        ok, info = _variance_within(run[1:], tv)
        assert ok, (info, tv)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_sweep_conditional_random_designs(seed):
    rng = np.random.default_rng(2000 + seed)
    d = int(rng.integers(1, 6))
    T = int(rng.integers(d, d + 10))
    X = rng.standard_normal((T, d)) * rng.uniform(0.3, 2.0, size=d)
    ridge = float(rng.choice([0.0, rng.uniform(0.1, 5.0)])) if T > d else 1.0
    beta0 = rng.standard_normal(d)
    for workflow in ("replace", "accumulate", "mix"):
        r = int(rng.integers(0, T + 1))
        run = _simulate(10, T, d, 8000, workflow=workflow, r=r, X=X, ridge=ridge, beta0=beta0,
                        noise2=1.7, seed=3000 + seed)
        wf = W.mix(n_real=r) if workflow == "mix" else workflow
        th = rg.conditional_test_error(np.arange(11), X, noise2=1.7, workflow=wf, ridge=ridge,
                                       beta0=beta0)
        _check(run[1:], th[1:])
