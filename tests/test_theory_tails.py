"""Tests for modelcollapse.theory.tails (missing mass, tail cut-off, memoriser's test error).

References are computed here, independently of the module: the full multinomial chain of the
K-symbol refit enumerated state by state in exact rational arithmetic (fractions.Fraction), with
the memoriser's T training samples enumerated too; plain-NumPy sums for the Zipf law; and, for
the asymptotic laws, the exact functions themselves in the limit where the law should hold
(the tolerances say why). No statistical test here: every reference is deterministic.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import cache

import numpy as np
import pytest
from scipy.special import zeta

from modelcollapse.theory import discrete
from modelcollapse.theory import tails as tl
from modelcollapse.theory.branching import poisson_refit_g

# --------------------------------------------------------------------------------------------
# exact reference: the full K-symbol chain, enumerated
# --------------------------------------------------------------------------------------------


def _compositions(total: int, K: int):
    """All count vectors of K non-negative integers summing to total."""
    for cuts in itertools.combinations(range(total + K - 1), K - 1):
        prev, out = -1, []
        for c in cuts:
            out.append(c - prev - 1)
            prev = c
        out.append(total + K - 1 - prev - 1)
        yield tuple(out)


def _multinomial(counts: tuple[int, ...], probs: tuple[Fraction, ...]) -> Fraction:
    coef = math.factorial(sum(counts))
    val = Fraction(1)
    for c, q in zip(counts, probs, strict=True):
        coef //= math.factorial(c)
        val *= q**c
    return coef * val


@cache
def _chain_law(n: int, p0: tuple[Fraction, ...], M: int) -> dict[tuple[int, ...], Fraction]:
    """Exact law of the count vector of generation n >= 1 (first draw from p0)."""
    K = len(p0)
    states = list(_compositions(M, K))
    law = {c: _multinomial(c, p0) for c in states}
    for _ in range(n - 1):
        new = dict.fromkeys(states, Fraction(0))
        for c, w in law.items():
            if w == 0:
                continue
            q = tuple(Fraction(ci, M) for ci in c)
            for d in states:
                new[d] += w * _multinomial(d, q)
        law = new
    return law


def _ref_missing_mass(n: int, p0: tuple[Fraction, ...], M: int) -> Fraction:
    if n == 0:
        return sum((p for p in p0 if p == 0), Fraction(0))
    return sum(
        (w * sum((p for p, ci in zip(p0, c, strict=True) if ci == 0), Fraction(0))
         for c, w in _chain_law(n, p0, M).items()),
        Fraction(0),
    )


def _ref_memoriser(T: int, n: int, p0: tuple[Fraction, ...], M: int) -> Fraction:
    """Error of the memoriser with its T training samples enumerated: for each model q of
    generation n and each training count vector (Multinomial(T, q)), the test symbol i ~ p0 is
    answered wrongly iff its training count is 0."""
    K = len(p0)
    models = ({tuple(p0): Fraction(1)} if n == 0 else
              {tuple(Fraction(ci, M) for ci in c): w for c, w in _chain_law(n, p0, M).items()})
    err = Fraction(0)
    for q, w in models.items():
        for d in _compositions(T, K):
            pd = _multinomial(d, q)
            if pd:
                err += w * pd * sum((p for p, di in zip(p0, d, strict=True) if di == 0),
                                    Fraction(0))
    return err


P0_EXACT = (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4))  # binary fractions: floats are exact
P0_SKEW = (Fraction(5, 8), Fraction(1, 4), Fraction(1, 8))


def _f(p0):
    return np.array([float(p) for p in p0])


# --------------------------------------------------------------------------------------------
# exact small cases
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p0", [P0_EXACT, P0_SKEW])
@pytest.mark.parametrize("M", [1, 2, 3, 5, 6])
def test_missing_mass_against_enumeration(p0, M):
    ns = [0, 1, 2, 3, 4]
    got = tl.expected_missing_mass(ns, _f(p0), M)
    ref = [float(_ref_missing_mass(n, p0, M)) for n in ns]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("p0", [P0_EXACT, P0_SKEW])
@pytest.mark.parametrize("M", [1, 2, 4, 6])
def test_memoriser_against_enumeration(p0, M):
    Ts = [0, 1, 2, 4]
    ns = [0, 1, 2, 4]
    Tg, ng = np.meshgrid(Ts, ns, indexing="ij")
    got = tl.memoriser_test_error(Tg, ng, _f(p0), M)
    ref = np.array([[float(_ref_memoriser(T, n, p0, M)) for n in ns] for T in Ts])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14)


def test_perturbed_formula_rejected():
    """The enumeration tells the memoriser's error from nearby wrong formulas: the error of a
    learner trained on p0 itself (generation 0 in place of n), and (1 - E p_n)^T in place of
    E (1 - p_n)^T (Jensen: the same number at n = 0 only)."""
    p0, M, n, T = P0_SKEW, 4, 2, 3
    ref = float(_ref_memoriser(T, n, p0, M))
    assert abs(float(tl.memoriser_test_error(T, n, _f(p0), M)) - ref) < 1e-14
    wrong_gen = float(tl.memoriser_test_error(T, 0, _f(p0), M))
    wrong_jensen = float(np.sum(_f(p0) * (1 - _f(p0)) ** T))
    assert abs(wrong_gen - ref) > 1e-3 and abs(wrong_jensen - ref) > 1e-3
    # and the missing mass from survival instead of loss probabilities is rejected
    mm = float(_ref_missing_mass(n, p0, M))
    surv = float(np.sum(_f(p0) * discrete.survival_probability(n, _f(p0), M)))
    assert abs(float(tl.expected_missing_mass(n, _f(p0), M)) - mm) < 1e-14
    assert abs(surv - mm) > 1e-3


# --------------------------------------------------------------------------------------------
# identities, limits and monotonicity
# --------------------------------------------------------------------------------------------


def test_generation_zero_identities():
    p0 = tl.zipf_probabilities(50, 1.3)
    T = np.array([0, 1, 7, 1000, 10**9])
    want = np.array([np.sum(p0 * (1 - p0) ** int(t)) for t in T])
    np.testing.assert_allclose(tl.memoriser_test_error(T, 0, p0, 100), want, rtol=1e-13)
    assert float(tl.expected_missing_mass(0, p0, 100)) == 0.0
    assert float(tl.effective_cutoff(0, p0, 100)) == 50.0
    # T = 0: the learner knows nothing
    np.testing.assert_allclose(tl.memoriser_test_error(0, [0, 1, 5], p0, 30), 1.0, rtol=1e-14)


def test_plateau_is_the_missing_mass_and_long_run_limits():
    p0 = tl.zipf_probabilities(40, 1.5)
    M, ns = 60, np.array([1, 3, 10])
    plateau = tl.memoriser_test_error(10**9, ns, p0, M)
    np.testing.assert_allclose(plateau, tl.expected_missing_mass(ns, p0, M), rtol=0, atol=1e-14)
    # absorbed: one symbol survives, drawn from p0
    gini = float(np.sum(p0 * (1 - p0)))
    np.testing.assert_allclose(tl.expected_missing_mass(10**7, p0, M), gini, atol=1e-14)
    np.testing.assert_allclose(tl.memoriser_test_error(5, 10**7, p0, M), gini, atol=1e-14)


def test_monotone_in_n_and_T():
    p0 = tl.zipf_probabilities(200, 2.0)
    M = 300
    ns = np.arange(0, 40)
    mm = tl.expected_missing_mass(ns, p0, M)
    assert np.all(np.diff(mm) > 0)
    k = tl.effective_cutoff(ns, p0, M)
    assert np.all(np.diff(k) < 0)
    T = np.unique(np.logspace(0, 7, 30).astype(int))
    for n in (0, 1, 5):
        err = tl.memoriser_test_error(T, n, p0, M)
        # strictly decreasing while T <= 10 M; beyond, the plateau (n >= 1) to rounding
        assert np.all(np.diff(err)[T[1:] <= 10 * M] < 0), n
        assert np.all(np.diff(err) <= 1e-15), n
    # more generations never help the learner
    err_n = tl.memoriser_test_error(100, ns, p0, M)
    assert np.all(np.diff(err_n) > 0)


def test_effective_cutoff_definition():
    p0 = np.array([0.1, 0.4, 0.2, 0.3])  # unsorted: ranks by decreasing probability
    M, n = 8, 3
    m = float(tl.expected_missing_mass(n, p0, M))
    k = float(tl.effective_cutoff(n, p0, M))
    ps = np.sort(p0)[::-1]
    tail = np.concatenate([[1.0], 1.0 - np.cumsum(ps)])  # R(0..K)
    j = int(np.floor(k))
    R_k = tail[j] - (k - j) * ps[j] if j < 4 else 0.0
    assert abs(R_k - m) < 1e-14


def test_zipf_probabilities():
    for K, s in [(1, 2.0), (10, 0.5), (1000, 1.0), (10**5, 2.0)]:
        i = np.arange(1, K + 1, dtype=np.float64)
        want = i**-s / np.sum(i**-s)
        np.testing.assert_allclose(tl.zipf_probabilities(K, s), want, rtol=1e-13)
    assert tl.zipf_probabilities(3, 1e300).tolist() == [1.0, 0.0, 0.0]


def test_suresh_method_close_for_rare_symbols():
    """The Poisson-refit approximation against the exact chain, Zipf(2) at M = 2000, n <= 10,
    T >= 100: measured within 0.5% (its errors: O(n/M) per rare symbol, and e^(-T p) for
    (1 - p)^T on the common ones, 3% at T = 10). A wrong iterate (g_n for phi_n, i.e. the
    plateau for every T) is far off."""
    p0 = tl.zipf_probabilities(5000, 2.0)
    M = 2000
    T = np.array([100, 1000, 10**5])
    for n in (1, 3, 10):
        ex = tl.memoriser_test_error(T, n, p0, M)
        su = tl.memoriser_test_error(T, n, p0, M, method="suresh")
        np.testing.assert_allclose(su, ex, rtol=0.01)
        plateau = tl.expected_missing_mass(n, p0, M, method="suresh")
        assert abs(float(plateau) - float(ex[0])) / float(ex[0]) > 0.5
    # T -> inf: suresh memoriser equals the suresh missing mass
    np.testing.assert_allclose(tl.memoriser_test_error(10**12, [1, 7], p0, M, method="suresh"),
                               tl.expected_missing_mass([1, 7], p0, M, method="suresh"),
                               rtol=1e-12)
    # the continuation of the iterate beyond 2000 steps: against plain iteration
    big = np.array([2500, 10**4])
    ref = []
    for nb in big:
        x = -math.expm1(-3.0 / M)
        for _ in range(int(nb) - 1):
            x = -math.expm1(-x)
        ref.append(x)
    q = 1e-4
    got = tl.memoriser_test_error(3, big, [q, 1 - q], M, method="suresh")
    want = q * np.exp(-M * q * np.array(ref)) + (1 - q) * np.exp(-M * (1 - q) * np.array(ref))
    np.testing.assert_allclose(got, want, rtol=1e-11)


# --------------------------------------------------------------------------------------------
# asymptotic laws
# --------------------------------------------------------------------------------------------


def test_clean_scaling_law():
    """n = 0: sum_i p_i (1 - p_i)^T -> C T^-c with C = Gamma(1 - 1/beta) / (beta H^(1/beta)).
    The law integrates over ranks 1..inf; the exact finite sum stops at K, so the tail beyond K
    (zeta(beta, K + 1) / H, all of it unseen since T p_K << 1) is added back. Measured: the
    corrected ratio is 1 - 0.0375 * (1000 / T) roughly (0.9654, 0.99626, 0.999625, 0.9999625,
    0.99999625 for T = 10..10^5, K = 10^6): it must approach 1 monotonically and be within 1e-4
    at T = 10^5 (a wrong constant moves it by 25%)."""
    K, s = 10**6, 2.0
    p0 = tl.zipf_probabilities(K, s)
    H = float(np.sum(np.arange(1, K + 1, dtype=np.float64) ** -s))
    beyond = float(zeta(s, K + 1.0)) / H
    T = np.array([10, 10**2, 10**3, 10**4, 10**5])
    exact = tl.memoriser_test_error(T, 0, p0, 1000)
    ratio = (exact + beyond) / tl.memoriser_test_error_asymptotic(T, 0, 1000, s, K=K)
    dev = np.abs(ratio - 1)
    assert np.all(np.diff(dev) < 0), ratio
    assert dev[-1] < 1e-4 and dev[2] < 1e-3, ratio
    # the same with form="effective" (identical at n = 0)
    np.testing.assert_allclose(
        tl.memoriser_test_error_asymptotic(T, 0, 1000, s, K=K, form="effective"),
        tl.memoriser_test_error_asymptotic(T, 0, 1000, s, K=K), rtol=1e-14)
    # a wrong constant (the clean law without the H^(1/beta) factor) is rejected
    wrong = math.gamma(1 - 1 / s) / (s * H) * 1e5 ** -(1 - 1 / s)
    assert abs((float(exact[-1]) + beyond) / wrong - 1) > 0.1


def test_synthetic_scaling_law_and_cutoff():
    """Generation n >= 1, Zipf(2), K = 10^5, M = 5000 (k_n ~ 50-85 >> 1, K >> k_n; n/M small).
    Measured ratios exact / asymptotic for T = 10, 10^2, ..., 10^8:
    form="effective": 0.965, 0.996, 0.9993, then 0.9993-0.9994 (n = 1 and 3): within the
    clean law's own sum-to-integral error at small T (3.5% at T = 10, 0.4% at T = 100) and
    within 0.2% from T = 1000 (the Poisson-refit error, O(n/M)); form="sum": 0.92-0.99 at
    the ends, 0.63 near the crossover T ~ M g_n (the two terms double-count): required
    within 1% at T = 10^8 >> M g_n (plateau limit) and the crossover visibly off (the law
    is a two-sided '~', not uniform).
    The cut-off: asymptotic / exact 1.008 (n = 1), 1.012 (n = 3), required within 2%; the
    unscaled k* = (M g_n / H)^(1/beta) is off by 1/Gamma(3/2) = 1.128 and rejected."""
    K, s, M = 10**5, 2.0, 5000
    p0 = tl.zipf_probabilities(K, s)
    T = np.array([10, 10**2, 10**3, 10**4, 10**5, 10**6, 10**7, 10**8])
    for n in (1, 3):
        exact = tl.memoriser_test_error(T, n, p0, M)
        eff = exact / tl.memoriser_test_error_asymptotic(T, n, M, s, K=K, form="effective")
        assert abs(eff[0] - 1) < 0.04 and abs(eff[1] - 1) < 0.005, eff
        assert np.all(np.abs(eff[2:] - 1) < 0.002), eff
        two = exact / tl.memoriser_test_error_asymptotic(T, n, M, s, K=K)
        assert abs(two[-1] - 1) < 0.01 and np.min(two) < 0.8, two
        k = float(tl.effective_cutoff(n, p0, M))
        ka = float(tl.effective_cutoff_asymptotic(n, M, s, K=K))
        assert abs(ka / k - 1) < 0.02, (ka, k)
        H = float(np.sum(np.arange(1, K + 1, dtype=np.float64) ** -s))
        kstar = math.sqrt(M * float(poisson_refit_g(n)) / H)
        assert abs(kstar / k - 1) > 0.08
    # the plateau term is the tail mass beyond the asymptotic cut-off
    ka = tl.effective_cutoff_asymptotic([1, 3], M, s, K=K)
    H = float(np.sum(np.arange(1, K + 1, dtype=np.float64) ** -s))
    plateau = (tl.memoriser_test_error_asymptotic(10**300 * 1.0, [1, 3], M, s, K=K)
               - tl.memoriser_test_error_asymptotic(10**300 * 1.0, 0, M, s, K=K))
    np.testing.assert_allclose(plateau, 1.0 / (ka * (s - 1.0) * H), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# validation and shapes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: tl.zipf_probabilities(0, 2.0), "K"),
        (lambda: tl.zipf_probabilities(10, 0.0), "exponent"),
        (lambda: tl.zipf_probabilities(10**9, 2.0), "K"),
        (lambda: tl.expected_missing_mass(-1, [0.5, 0.5], 10), "n"),
        (lambda: tl.expected_missing_mass(1, [0.5, 0.4], 10), "p0"),
        (lambda: tl.expected_missing_mass(1, [0.5, 0.5], 0), "M"),
        (lambda: tl.expected_missing_mass(1, [0.5, 0.5], 30000), "M"),
        (lambda: tl.expected_missing_mass(1, [0.5, 0.5], 10, method="bogus"), "method"),
        (lambda: tl.expected_missing_mass(1, [0.5, 0.5], 10, workflow="accumulate"), "workflow"),
        (lambda: tl.effective_cutoff(1.5, [0.5, 0.5], 10), "n"),
        (lambda: tl.effective_cutoff_asymptotic(1, 10, 1.0), "exponent"),
        (lambda: tl.effective_cutoff_asymptotic(1, 10, 2.0, K=0), "K"),
        (lambda: tl.memoriser_test_error(-1, 1, [0.5, 0.5], 10), "T"),
        (lambda: tl.memoriser_test_error(True, 1, [0.5, 0.5], 10), "T"),
        (lambda: tl.memoriser_test_error(1, 1, [0.5, 0.5], 30000), "M"),
        (lambda: tl.memoriser_test_error(1, 1, [0.5, 0.5], 10, method="kimura"), "method"),
        (lambda: tl.memoriser_test_error(1, 1, [0.5, 0.5], 10, workflow="mix"), "workflow"),
        (lambda: tl.memoriser_test_error(10, 2000, [0.5, 0.5], 20000), "MEMORISER_BUDGET_S"),
        (lambda: tl.memoriser_test_error([1, 2], [1, 2, 3], [0.5, 0.5], 10), "T and n"),
        (lambda: tl.memoriser_test_error_asymptotic(0, 1, 10, 2.0), "T"),
        (lambda: tl.memoriser_test_error_asymptotic(1, 1, 10, 0.5), "exponent"),
        (lambda: tl.memoriser_test_error_asymptotic(1, 1, 10, 2.0, form="exact"), "form"),
    ],
)
def test_validation_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_shapes_and_scalars():
    p0 = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    out = tl.memoriser_test_error([[1], [5]], [0, 2], p0, 6)
    assert out.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            want = tl.memoriser_test_error([1, 5][i], [0, 2][j], p0[j], 6)
            assert abs(out[i, j] - want) < 1e-15
    assert isinstance(tl.expected_missing_mass(1, [0.5, 0.5], 4), np.floating)
    assert isinstance(tl.memoriser_test_error(3, 1, [0.5, 0.5], 4), np.floating)
    assert tl.effective_cutoff([1, 2], p0, 6).shape == (2,)
    assert tl.memoriser_test_error_asymptotic([10, 100], [[0], [1]], 1000, 2.0).shape == (2, 2)
    # M up to 1e9 and T up to 1e9 stay finite with the approximate methods and the laws
    big = tl.memoriser_test_error(10**9, 3, tl.zipf_probabilities(10**5, 1.5), 10**9,
                                  method="suresh")
    assert 0.0 < float(big) < 1e-3


def test_backward_route_against_forward_law():
    """The memoriser's backward propagation (P^(n-1) h_T at the first count) against the
    forward pmf of the count (discrete.count_distribution, a different route through the
    chain), M = 200, short and long horizons (the long one crosses to the absorbed limit)."""
    M = 200
    x = np.arange(M + 1) / M
    for n in (1, 7, 60, 5000):
        for p in (0.003, 0.2, 0.5):
            law = discrete.count_distribution(n, p, M)
            Ts = np.array([1, 30, 10**6])
            want = [p * np.sum(law * (1 - x) ** T) + (1 - p) * np.sum(law * x**T) for T in Ts]
            got = tl.memoriser_test_error(Ts, n, [p, 1 - p], M)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
