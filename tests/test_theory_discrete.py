"""Tests for modelcollapse.theory.discrete (Wright-Fisher closed forms and the exact chain).

References used here are computed by the tests themselves: exact rational arithmetic
(fractions.Fraction) for tiny M, mpmath at 40 digits for moderate M, and plain NumPy Monte Carlo
(fixed seeds, tolerances z * standard error with z stated) for the smoothing and mixing
recursions. The theory module is never used to produce its own reference.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from modelcollapse.theory import discrete as d
from modelcollapse.theory import wright_fisher as wf_chain

# --------------------------------------------------------------------------------------------
# exact references
# --------------------------------------------------------------------------------------------


def _frac_binom_row(M: int, q: Fraction) -> list[Fraction]:
    return [math.comb(M, k) * q**k * (1 - q) ** (M - k) for k in range(M + 1)]


def _frac_count_law(n: int, p: float, M: int) -> list[Fraction]:
    """Exact law of the count at generation n >= 1 (Fractions; p taken exactly as a binary
    float)."""
    row = _frac_binom_row(M, Fraction(p))
    P = [_frac_binom_row(M, Fraction(j, M)) for j in range(M + 1)]
    for _ in range(n - 1):
        row = [sum(row[j] * P[j][k] for j in range(M + 1)) for k in range(M + 1)]
    return row


def _mp_extinction(n: int, p: float, M: int) -> mpmath.mpf:
    """P(count 0 at generation n) at 40 digits by backward propagation in mpmath."""
    with mpmath.workdps(40):
        P = [
            [
                mpmath.binomial(M, k)
                * mpmath.mpf(j) ** k
                * mpmath.mpf(M - j) ** (M - k)
                / mpmath.mpf(M) ** M
                for k in range(M + 1)
            ]
            for j in range(M + 1)
        ]
        f = [mpmath.mpf(1)] + [mpmath.mpf(0)] * M
        for _ in range(n - 1):
            f = [mpmath.fsum(P[j][k] * f[k] for k in range(M + 1)) for j in range(M + 1)]
        pp = mpmath.mpf(p)
        return mpmath.fsum(
            mpmath.binomial(M, j) * pp**j * (1 - pp) ** (M - j) * f[j] for j in range(M + 1)
        )


# --------------------------------------------------------------------------------------------
# validation and broadcasting
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: d.expected_heterozygosity(1, [0.5, 0.5], 0), "M must be an integer >= 1"),
        (lambda: d.expected_heterozygosity(1, [0.5, 0.5], 2.5), "M must be an integer"),
        (lambda: d.expected_heterozygosity(-1, [0.5, 0.5], 3), "n must be an integer >= 0"),
        (lambda: d.expected_heterozygosity(1, [0.5, 0.6], 3),
         r"p0 must be a probability vector .*\(got sum"),
        (lambda: d.expected_heterozygosity(1, [1.5, -0.5], 3), "p0 must be a probability vector"),
        (lambda: d.expected_heterozygosity(1, 0.5, 3), "p0 must be a probability vector"),
        (lambda: d.extinction_probability(1, 1.2, 3), r"p must be a real in \[0, 1\]"),
        (lambda: d.extinction_probability(1, 0.2, 3, method="foo"), "method must be one of"),
        (lambda: d.count_distribution(0, 0.3, 4), "M\\*p an integer"),
        (lambda: d.count_distribution(1, 0.3, [4, 5]), "single integer"),
        (lambda: d.expected_time_to_fixation(0.0, 10), r"p must be a real in \(0, 1\]"),
        (lambda: d.expected_time_to_loss(1.0, 10), r"p must be a real in \[0, 1\)"),
        (lambda: d.expected_absorption_time(0.5, 10, method="x"), "method must be one of"),
        (lambda: d.smoothed_stationary_heterozygosity(3, 10, -1.0), "beta must be a finite"),
        (lambda: d.smoothed_stationary_heterozygosity(0, 10, 1.0), "K must be an integer >= 1"),
        (lambda: d.mixed_sq_distance_limit([0.5, 0.5], 0, 0), "N \\+ n_synth must be >= 1"),
        (lambda: d.mixed_sq_distance_limit([0.5, 0.5], -1, 3), "N must be an integer >= 0"),
        (lambda: d.poisson_refit_g(-2), "t must be an integer >= 0"),
        (lambda: d.extinction_probability(3, 0.1, 10**6), "M must be <= 20000"),
        (lambda: d.expected_absorption_time(0.1, 10**6), "M must be <= 20000"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_validation_accepts_sum_within_tolerance():
    p0 = np.array([0.3, 0.7 + 5e-10])
    assert np.isfinite(d.expected_heterozygosity(3, p0, 10))


def test_broadcasting_shapes():
    p0 = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    n = np.arange(4)[:, None]
    assert d.expected_heterozygosity(n, p0, 7).shape == (4, 2)
    assert d.expected_sq_distance(n, p0, np.array([5, 9])).shape == (4, 2)
    assert d.expected_survivors(n, p0, 20).shape == (4, 2)
    assert d.extinction_probability(n, [0.1, 0.5, 0.9], 20).shape == (4, 3)
    assert d.extinction_probability(n, [0.1, 0.5], [[20], [30], [40], [50]]).shape == (4, 2)
    assert d.extinction_probability(n, 0.1, 20, method="kimura").shape == (4, 1)
    assert d.count_distribution(n + 1, [0.1, 0.5], 6).shape == (4, 2, 7)
    assert d.expected_absorption_time([0.1, 0.5], [[10], [20]]).shape == (2, 2)
    lo, mid, hi = d.survival_bounds(n, [0.1, 0.5], 30)
    assert lo.shape == mid.shape == hi.shape == (4, 2)
    assert d.smoothed_expected_heterozygosity(n, p0, 7, [[0.0], [1.0]][0]).shape == (4, 2)


# --------------------------------------------------------------------------------------------
# moments
# --------------------------------------------------------------------------------------------


def test_heterozygosity_formulas_and_generation_convention():
    p0 = np.array([0.2, 0.3, 0.5])
    H0 = 1 - np.sum(p0**2)
    M = 4
    assert d.expected_heterozygosity(0, p0, M) == pytest.approx(H0, rel=1e-15)
    # generation 1 is ONE multinomial draw from p0: factor (1 - 1/M) exactly once
    assert d.expected_heterozygosity(1, p0, M) == pytest.approx(H0 * 0.75, rel=1e-14)
    n = np.arange(0, 50)
    assert np.allclose(d.expected_collision(n, p0, M), 1 - d.expected_heterozygosity(n, p0, M))
    assert np.allclose(d.expected_sq_distance(n, p0, M), H0 - d.expected_heterozygosity(n, p0, M))
    assert d.expected_sq_distance(5, p0, 1) == pytest.approx(H0)
    assert d.expected_sq_distance(0, p0, 1) == 0.0


def test_heterozygosity_matches_exact_enumeration_K3():
    """Enumerate every multinomial outcome for two generations (K=3, M=3) in Fractions."""
    M = 3
    p0 = [Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)]
    states = [c for c in itertools.product(range(M + 1), repeat=3) if sum(c) == M]

    def pmf(c, q):
        coef = math.factorial(M) // math.prod(math.factorial(x) for x in c)
        return coef * math.prod(qi**ci for qi, ci in zip(q, c, strict=True))

    law = {tuple(p0): Fraction(1)}
    for gen in (1, 2):
        new: dict = {}
        for q, w in law.items():
            for c in states:
                key = tuple(Fraction(x, M) for x in c)
                new[key] = new.get(key, 0) + w * pmf(c, q)
        law = new
        H = sum(w * (1 - sum(x * x for x in q)) for q, w in law.items())
        dist = sum(
            w * sum((x - y) ** 2 for x, y in zip(q, p0, strict=True)) for q, w in law.items()
        )
        pf = np.array([float(x) for x in p0])
        assert d.expected_heterozygosity(gen, pf, M) == pytest.approx(float(H), abs=1e-15)
        assert d.expected_sq_distance(gen, pf, M) == pytest.approx(float(dist), abs=1e-15)


def test_heterozygosity_matches_chain_K2():
    """For K = 2 the heterozygosity is 2 (X/M)(1 - X/M) averaged over the exact count law."""
    M, p = 40, 0.3
    n = np.array([1, 2, 5, 30, 200])
    law = d.count_distribution(n, p, M)
    x = np.arange(M + 1) / M
    H = law @ (2 * x * (1 - x))
    assert np.allclose(H, d.expected_heterozygosity(n, [p, 1 - p], M), atol=1e-13)


# --------------------------------------------------------------------------------------------
# the exact chain
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("M", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("p", [0.0, 0.1, 1 / 3, 0.77, 1.0])
def test_count_distribution_matches_rational_matrix_power(M, p):
    for n in (1, 2, 3, 7):
        exact = np.array([float(x) for x in _frac_count_law(n, p, M)])
        got = d.count_distribution(n, p, M)
        assert np.max(np.abs(got - exact)) <= 1e-14
        assert got.sum() == pytest.approx(1.0, abs=1e-14)


def test_count_distribution_matches_brute_force_sampling_enumeration():
    """M = 3: enumerate every sequence of 3 draws per generation, 3 generations."""
    M, p = 3, 0.4
    law = {None: 1.0}
    for _ in range(3):
        new: dict = {}
        for count, w in law.items():
            q = p if count is None else count / M
            for draws in itertools.product((0, 1), repeat=M):
                prob = math.prod(q if x else 1 - q for x in draws)
                new[sum(draws)] = new.get(sum(draws), 0.0) + w * prob
        law = new
    ref = np.array([law.get(k, 0.0) for k in range(M + 1)])
    assert np.allclose(d.count_distribution(3, p, M), ref, atol=1e-15)


def test_count_distribution_generation_zero():
    assert d.count_distribution(0, 0.25, 8).tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert d.count_distribution(0, 1.0, 3)[3] == 1.0


def test_martingale_and_normalisation_moderate_M():
    M = 300
    p = np.array([0.003, 0.05, 0.5, 0.9])
    n = np.array([1, 10, 100, 1000, 5000])[:, None]
    law = d.count_distribution(n, p, M)
    assert np.max(np.abs(law.sum(-1) - 1)) < 1e-12
    mean = law @ np.arange(M + 1)
    assert np.max(np.abs(mean / M - p)) < 1e-12  # E p_n = p (martingale)
    assert np.all(law >= 0)


def test_extinction_exact_equals_count_distribution_zero():
    M = 120
    n = np.array([1, 3, 17, 90, 400])[:, None]
    p = np.array([0.0, 0.005, 0.04, 0.5, 1.0])
    ext = d.extinction_probability(n, p, M)
    assert np.allclose(ext, d.count_distribution(n, p, M)[..., 0], atol=1e-14)
    assert np.all(d.extinction_probability(0, p, M) == (p == 0))


def test_extinction_exact_matches_mpmath_reference():
    """40-digit mpmath backward propagation at M = 40."""
    M = 40
    for n, p in [(1, 0.05), (7, 0.05), (25, 0.2), (60, 0.61)]:
        ref = float(_mp_extinction(n, p, M))
        assert abs(float(d.extinction_probability(n, p, M)) - ref) <= 1e-14


def _force(monkeypatch, mode):
    """Force propagate's sparse stepping or dense squaring (the forward engine)."""
    if mode == "sparse":
        monkeypatch.setattr(wf_chain, "_COST_DENSE_FLOP", 1e9)
    else:
        monkeypatch.setattr(wf_chain, "_COST_SPARSE_NNZ", 1e9)


def test_sparse_stepping_equals_dense_squaring(monkeypatch):
    """Two independent propagation algorithms agree (M = 600, long horizons included), and the
    loss model of extinction_probability (a third algorithm) agrees with both."""
    M = 600
    n = np.array([1, 2, 37, 600, 1500])[:, None]
    p = np.array([1 / M, 5 / M, 0.3])
    res = {}
    for mode in ("sparse", "dense"):
        with monkeypatch.context() as m:
            _force(m, mode)
            res[mode] = d.count_distribution(n, p, M)
    assert np.max(np.abs(res["sparse"] - res["dense"])) <= 1e-12
    ext = d.extinction_probability(n, p, M)
    assert np.max(np.abs(ext - res["sparse"][..., 0])) <= 1e-12
    fix = d.extinction_probability(n, 1.0 - p, M)  # fixation = loss of the complement
    assert np.max(np.abs(fix - res["dense"][..., -1])) <= 1e-12


@pytest.mark.slow
def test_exact_chain_M5000(monkeypatch):
    """M = 5000: sparse vs dense forward agree to 1e-11, the loss model agrees with both, the
    martingale holds; absorption limit at M = 2000. (About 2-4 minutes on 2 cores: dense
    squaring of a 5001 x 5001 matrix costs ~10 s.)"""
    M = 5000
    n = np.array([1, 50, 400])[:, None]
    p = np.array([1 / M, 20 / M, 0.5])
    res = {}
    for mode in ("sparse", "dense"):
        with monkeypatch.context() as m:
            _force(m, mode)
            m.setattr(d, "COUNT_BUDGET_S", 1e9)
            res[mode] = d.count_distribution(n, p, M)
    assert np.max(np.abs(res["sparse"] - res["dense"])) <= 1e-11
    assert np.max(np.abs(d.extinction_probability(n, p, M) - res["sparse"][..., 0])) <= 1e-11
    law = d.count_distribution([1, 300], 0.01, M)
    assert np.max(np.abs(law @ np.arange(M + 1) / M - 0.01)) < 1e-11
    far = d.extinction_probability(10**6, [0.01, 0.5], 2000)
    assert np.allclose(far, [0.99, 0.5], atol=1e-12)


@pytest.mark.parametrize("mode", ["sparse", "dense"])
def test_extinction_long_horizon_limit(monkeypatch, mode):
    """Horizons far past absorption, including n - 1 = 2^k (a single high bit), in both the
    sparse-stepping and the dense-squaring paths of the forward engine (both stop early once
    absorbed), and in the loss model."""
    M = 30
    _force(monkeypatch, mode)
    n = np.array([10**7, 2**20 + 1, 2**12 + 1])[:, None]
    far = d.extinction_probability(n, [0.0, 0.1, 0.5, 1.0], M)
    assert np.allclose(far, [1.0, 0.9, 0.5, 0.0], atol=1e-13)
    law = d.count_distribution(2**16 + 1, 0.2, M)
    assert law[0] == pytest.approx(0.8, abs=1e-13) and law[-1] == pytest.approx(0.2, abs=1e-13)
    law = d.count_distribution(2**11 + 1, 0.2, M)  # not absorbed to 1e-17: stepped or squared
    assert law[0] == pytest.approx(0.8, abs=1e-13) and law[-1] == pytest.approx(0.2, abs=1e-13)


# --------------------------------------------------------------------------------------------
# the loss model (wright_fisher: stepped f_s, then the invariant polynomial subspace)
# --------------------------------------------------------------------------------------------

LD = np.longdouble


def _ld_transition(M: int) -> np.ndarray:
    """Wright-Fisher matrix in long double: each row by the ratio recurrence from its mode
    (pmf(k+1)/pmf(k) = (M-k)/(k+1) * x/(1-x)), then normalised; independent of scipy."""
    P = np.zeros((M + 1, M + 1), dtype=LD)
    P[0, 0] = P[M, M] = 1
    for j in range(1, M):
        r = LD(j) / LD(M - j)
        row = np.zeros(M + 1, dtype=LD)
        row[j] = 1
        for k in range(j, M):
            row[k + 1] = row[k] * LD(M - k) / LD(k + 1) * r
        for k in range(j, 0, -1):
            row[k - 1] = row[k] * LD(k) / LD(M - k + 1) / r
        P[j] = row / row.sum()
    return P


def _ld_binomial(p: float, M: int) -> np.ndarray:
    q = [Fraction(math.comb(M, k)) * Fraction(p) ** k * (1 - Fraction(p)) ** (M - k)
         for k in range(M + 1)]
    return np.array([LD(x.numerator) / LD(x.denominator) for x in q], dtype=LD)


def test_loss_model_against_long_double_chain():
    """M = 150 (Chebyshev subspace model): the loss probability beyond the stepped horizon S,
    against backward propagation of a long-double transition matrix; measured error <= 1.1e-15,
    tolerance 3e-15. The model's residual bound delta is below 1e-15 here."""
    M = 150
    model = wf_chain._loss_model(M)
    assert model.d > 0 and model.delta < 1e-15
    ns = [model.S, model.S + 2, 2 * model.S, 5 * model.S, 20 * model.S]
    ps = [1 / M, 0.01, 0.2, 0.5, 0.93]
    Pld = _ld_transition(M)
    B = np.stack([_ld_binomial(p, M) for p in ps])
    f = np.zeros(M + 1, dtype=LD)
    f[0] = 1
    s = 0
    for n in ns:
        while s < n - 1:
            f = Pld @ f
            s += 1
        ref = (B @ f).astype(np.float64)
        got = d.extinction_probability(n, ps, M)
        assert np.max(np.abs(got - ref)) <= 3e-15, (n, got - ref)


def test_loss_model_generator_has_the_closed_form_spectrum():
    """The collocated generator (P - I on the Chebyshev subspace) is upper triangular with the
    eigenvalues lambda_k - 1 = M!/((M-k)! M^k) - 1 before they are set: checked on the raw
    least-squares matrix; and the closed form matches a dense eigen-solve at M = 12."""
    M, d_ = 400, 20
    nodes = wf_chain._chebyshev_nodes(M, 3 * d_)
    x = nodes / M
    raw = np.empty((nodes.size, d_))
    rows = wf_chain.binomial_pmf_rows(x, M)
    grid = wf_chain._chebyshev_basis(np.arange(M + 1) / M, d_)
    raw = np.linalg.lstsq(wf_chain._chebyshev_basis(x, d_), rows @ grid, rcond=None)[0]
    lam = np.array([math.prod(1 - Fraction(i, M) for i in range(k)) for k in range(2, d_ + 2)],
                   dtype=float)
    assert np.allclose(np.diag(raw), lam, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(np.tril(raw, -1))) < 1e-12
    P12 = wf_chain.transition(12)[0].toarray()
    ev = np.sort(np.linalg.eigvals(P12).real)[::-1]
    assert np.allclose(ev, wf_chain.eigenvalues(12), atol=1e-13)


def test_fundamental_solutions_against_mpmath():
    """N 1 and N h at M = 70 (Chebyshev model) against a 30-digit mpmath LU solve of (I - Q);
    measured relative error <= 3e-15, tolerance 1e-14. M = 40 (stepped exactly, dense solve)
    likewise."""
    for M in (40, 70):
        with mpmath.workdps(30):
            A = mpmath.matrix(M - 1, M - 1)
            for j in range(1, M):
                x = mpmath.mpf(j) / M
                for k in range(1, M):
                    A[j - 1, k - 1] = (j == k) - mpmath.binomial(M, k) * x**k * (1 - x) ** (M - k)
            tau = mpmath.lu_solve(A, mpmath.matrix([1] * (M - 1)))
            nh = mpmath.lu_solve(A, mpmath.matrix([mpmath.mpf(j) / M for j in range(1, M)]))
        W = wf_chain.fundamental_solutions(M)
        ref_tau = np.array([float(v) for v in tau])
        ref_nh = np.array([float(v) for v in nh])
        assert np.max(np.abs(W[1:M, 0] / ref_tau - 1)) < 1e-14
        assert np.max(np.abs(W[1:M, 1] / ref_nh - 1)) < 1e-14
        assert W[0].tolist() == W[M].tolist() == [0.0, 0.0, 0.0]


# --------------------------------------------------------------------------------------------
# approximations and bounds
# --------------------------------------------------------------------------------------------


def test_kimura_accuracy_measured():
    """Kimura's series vs the exact chain. Measured max abs errors over p in [0.01, 0.99] (see
    the docstring): ~0.6 / t for t >= 20, independent of M; 0.0045 at M=800, t in [200, 3200].
    Here: error below 0.04 for t in [20, 40] and below 0.012 for t in [80, 160] at M = 200, and
    far below the t < 20 error (which is > 0.05)."""
    p = np.linspace(0.01, 0.99, 30)
    M = 200
    errs = {}
    for lo, hi in [(5, 19), (20, 40), (80, 160)]:
        t = np.unique(np.geomspace(lo, hi, 6).astype(int))[:, None]
        errs[lo] = np.max(
            np.abs(
                d.extinction_probability(t, p, M)
                - d.extinction_probability(t, p, M, method="kimura")
            )
        )
    assert errs[20] < 0.04 and errs[80] < 0.012 and errs[5] > 0.05
    assert d.extinction_probability(0, [0.0, 0.3], M, method="kimura").tolist() == [1.0, 0.0]
    # the series converges to the absorbing limit
    assert np.allclose(d.extinction_probability(40 * M, p, M, method="kimura"), 1 - p, atol=1e-12)


def _mp_kimura(t: float, p: float, M: float, nterms: int) -> float:
    """Kimura's series at 30 digits, F_i by its own recurrence (i+1) F_i = (2i-1) z F_{i-1} -
    (i-2) F_{i-2} (F_1 = 1, F_2 = z = 1 - 2p), the terms (2i+1) p (1-p) F_i e^{-i(i+1) t/(2M)}
    summed to nterms (the tail is below 1e-30 for the cases used)."""
    with mpmath.workdps(30):
        z = 1 - 2 * mpmath.mpf(p)
        r = mpmath.mpf(t) / (2 * mpmath.mpf(M))
        total, f2, f1 = mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0)
        for i in range(1, nterms + 1):
            f = 1 if i == 1 else (z if i == 2 else ((2 * i - 1) * z * f1 - (i - 2) * f2) / (i + 1))
            total += (2 * i + 1) * f * mpmath.exp(-i * (i + 1) * r)
            f2, f1 = f1, f
        pp = mpmath.mpf(p)
        return float((1 - pp) - pp * (1 - pp) * total)


@pytest.mark.parametrize(("t", "M"), [(1, 20_000), (10, 10**6), (3, 2_000), (40, 100)])
def test_kimura_series_summed_accurately(t, M):
    """The series against its 30-digit evaluation, p from rare to common (including the two
    cases of the issue that returned NaN: t/(2M) = 2.5e-5 and 5e-6, 1400-3200 terms). Measured
    absolute error <= 1.3e-15 for t/(2M) >= 5e-5 and <= 5e-13 at 5e-6; tolerance 1e-12."""
    rate = t / (2 * M)
    nterms = int(3 * math.sqrt(70 / rate)) + 10
    for p in (1e-4, 0.01, 0.3, 0.5, 0.97):
        got = float(d.extinction_probability(t, p, M, method="kimura"))
        assert math.isfinite(got)
        assert abs(got - _mp_kimura(t, p, M, nterms)) <= 1e-12, p


def test_kimura_finite_to_M_1e9_or_refuses():
    """Finite in [0, 1] for every M up to 1e9 at n >= 1 (n/(2M) >= 5e-10, 3.4e5 terms); for
    smaller n/(2M) a ValueError names n and M and points to method='suresh'. Rare symbols at
    tiny times follow Feller's branching diffusion, P(lost by tau) = exp(-2 x / tau), an
    independent check of the long sums (x = p, tau = n/M)."""
    for n, p, M in [(1, 0.5, 10**9), (1, 1e-9, 10**9), (7, 0.2, 10**8), (1e300, 0.3, 10**9)]:
        v = float(d.extinction_probability(n, p, M, method="kimura"))
        assert 0.0 <= v <= 1.0
    assert float(d.extinction_probability(1, 1e-9, 10**9, method="kimura")) == pytest.approx(
        math.exp(-2.0), rel=1e-6)
    assert float(d.extinction_probability(1e300, 0.3, 10**9, method="kimura")) == 0.7
    with pytest.raises(ValueError, match=r"n/\(2M\) = 5e-13 \(n=1.0, M=1000000000000.0\).*suresh"):
        d.extinction_probability(1, 0.5, 10**12, method="kimura")
    with pytest.raises(ValueError, match="too small for Kimura"):
        d.extinction_probability(3, 0.1, 1e300, method="kimura")


def test_poisson_g_iterate():
    g = d.poisson_refit_g(np.arange(6))
    assert np.isinf(g[0]) and g[1] == 1.0
    assert g[2] == pytest.approx(1 - math.exp(-1), rel=1e-15)
    assert g[3] == pytest.approx(1 - math.exp(-(1 - math.exp(-1))), rel=1e-15)
    # asymptotic continuation beyond the exact table is continuous (t = 10^6 boundary)
    a, b = d.poisson_refit_g([10**6, 10**6 + 1])
    c = -math.expm1(-a)
    assert b == pytest.approx(c, rel=1e-11)
    assert 1.0 / d.poisson_refit_g(4 * 10**6) == pytest.approx(2 * 10**6, rel=1e-5)


def test_suresh_is_exact_for_poisson_refit_and_bounds_multinomial():
    # Poisson refit, c = 2, t = 2: count_1 ~ Poisson(2); P(count_2 = 0) = E exp(-count_1)
    c = 2.0
    ref = math.exp(c * (math.exp(-1) - 1))
    assert d.extinction_probability(2, c / 50, 50, method="suresh") == pytest.approx(ref, rel=1e-14)
    M = 200
    n = np.array([1, 2, 5, 20, 100, 1000])[:, None]
    p = np.array([1, 2, 5, 20, 100]) / M
    exact_alive = d.survival_probability(n, p, M)
    suresh_alive = d.survival_probability(n, p, M, method="suresh")
    s_lower, lower, upper = d.survival_bounds(n, p, M)
    tol = 1e-13
    assert np.all(suresh_alive <= exact_alive + tol)
    assert np.all(lower >= suresh_alive - tol)
    assert np.all(s_lower <= suresh_alive + tol)
    assert np.all(lower <= exact_alive + tol) and np.all(exact_alive <= upper + tol)
    assert np.allclose(lower[0], exact_alive[0], atol=1e-14)  # tight at n = 1


def test_bounds_catch_a_wrong_formula():
    """The sandwich check rejects a perturbed survival probability (1% too small): the lower
    bound is exact at n = 1 and within 1% of the exact value for rare symbols at small n."""
    M = 200
    n = np.array([1, 2, 3])[:, None]
    p = np.array([1, 2, 5]) / M
    wrong = 0.99 * d.survival_probability(n, p, M)
    _, lower, _ = d.survival_bounds(n, p, M)
    assert np.any(wrong < lower - 1e-13)


def _g_by_hand(n: int) -> float:
    """g_1 = 1, g_{t+1} = 1 - exp(-g_t), iterated here (not with the module's table)."""
    g = 1.0
    for _ in range(n - 1):
        g = -math.expm1(-g)
    return g


@pytest.mark.parametrize(("n", "p", "M"), [(1, 0.05, 100), (10, 0.05, 100), (500, 0.05, 100),
                                           (3, 0.3, 7), (40, 0.5, 10)])
def test_survival_bounds_pinned_values(n, p, M):
    """Each bound's value, computed here independently: suresh_lower = 1 - exp(-M p / n), lower
    = 1 - (1 - p g_n)^M, upper = min(1, M p, p + M p (1 - p) (1 - 1/M)^(n-1)) with the power in
    exact rationals. A bound computed with (1 - 1/M)^n, or g_{n+1}, or M p/(n+1), fails."""
    s_lower, lower, upper = d.survival_bounds(n, p, M)
    assert float(s_lower) == pytest.approx(-math.expm1(-M * p / n), rel=1e-14)
    assert float(lower) == pytest.approx(1 - (1 - p * _g_by_hand(n)) ** M, rel=1e-13)
    pf = Fraction(p)
    third = pf + M * pf * (1 - pf) * Fraction(M - 1, M) ** (n - 1)
    assert float(upper) == pytest.approx(float(min(Fraction(1), M * pf, third)), rel=1e-14)


def test_survival_upper_bound_pins_the_heterozygosity_term():
    """At (n, p, M) = (500, 0.05, 100) the third term of the upper bound is the minimum:
    0.05 + 100 * 0.05 * 0.95 * 0.99^499 (= 0.0816...), which (1 - 1/M)^n would move by 3e-4."""
    _, _, upper = d.survival_bounds(500, 0.05, 100)
    exact = Fraction(1, 20) + 100 * Fraction(1, 20) * Fraction(19, 20) * Fraction(99, 100) ** 499
    assert float(upper) == pytest.approx(float(exact), rel=1e-14)
    assert abs(float(upper) - float(exact)) < 1e-15 and float(exact) < 0.09


def test_expected_survivors():
    M = 50
    p0 = np.array([0.5, 0.3, 0.1, 0.06, 0.03, 0.01, 0.0])
    n = np.array([0, 1, 4, 30, 300])
    direct = np.array([np.sum(1 - d.extinction_probability(k, p0, M)) for k in n])
    got = d.expected_survivors(n, p0, M)
    assert np.allclose(got, direct, atol=1e-13)
    assert got[0] == 6.0
    assert np.all(np.diff(got) <= 1e-14)
    assert d.expected_survivors(10**6, p0, M) == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------------------------
# absorption times
# --------------------------------------------------------------------------------------------


def _frac_absorption(M: int, p: Fraction):
    """E T, E[T 1_fix] by exact rational fundamental matrix (tiny M)."""
    import sympy as sp

    P = sp.Matrix(
        M + 1, M + 1, lambda j, k: sp.Rational(math.comb(M, k) * j**k * (M - j) ** (M - k), M**M)
    )
    Q = P[1:M, 1:M]
    Nm = (sp.eye(M - 1) - Q).inv()
    tau = Nm * sp.ones(M - 1, 1)
    h = sp.Matrix([sp.Rational(j, M) for j in range(1, M)])
    w = Nm * h
    row = [
        sp.Rational(math.comb(M, j)) * sp.Rational(p) ** j * (1 - sp.Rational(p)) ** (M - j)
        for j in range(M + 1)
    ]
    ET = 1 + sum(row[j] * tau[j - 1] for j in range(1, M))
    ETfix = 1 + sum(row[j] * w[j - 1] for j in range(1, M)) / sp.Rational(p)
    return float(ET), float(ETfix)


@pytest.mark.parametrize("M", [2, 3, 5])
def test_absorption_times_match_rational_fundamental_matrix(M):
    p = 0.375
    ET, ETfix = _frac_absorption(M, Fraction(p))
    assert float(d.expected_absorption_time(p, M)) == pytest.approx(ET, rel=1e-13)
    assert float(d.expected_time_to_fixation(p, M)) == pytest.approx(ETfix, rel=1e-13)


def test_absorption_time_conventions():
    assert d.expected_absorption_time([0.0, 1.0], 10).tolist() == [0.0, 0.0]
    assert float(d.expected_absorption_time(0.3, 1)) == 1.0  # M = 1: absorbed at generation 1
    assert float(d.expected_time_to_fixation(1.0, 10)) == 0.0
    assert float(d.expected_time_to_loss(0.0, 10)) == 0.0
    # law of total expectation: p E[T|fix] + (1-p) E[T|loss] = E T
    p = np.array([0.01, 0.2, 0.5, 0.93])
    M = 300
    total = p * d.expected_time_to_fixation(p, M) + (1 - p) * d.expected_time_to_loss(p, M)
    assert np.allclose(total, d.expected_absorption_time(p, M), rtol=1e-12)


def test_absorption_times_exact_vs_diffusion_error_shrinks_with_M():
    p = np.array([0.1, 0.3, 0.5, 0.8])
    errs = []
    for M in (25, 100, 400):
        rel = []
        for f in (d.expected_absorption_time, d.expected_time_to_fixation, d.expected_time_to_loss):
            ex, di = f(p, M), f(p, M, method="diffusion")
            rel.append(np.max(np.abs(ex - di) / di))
        errs.append(max(rel))
    # measured: relative error roughly halves-to-quarters per 4x in M
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.01


def test_time_to_monomorphism_two_symbols_matches_absorption_diffusion():
    p = 0.3
    assert d.expected_time_to_monomorphism([p, 1 - p], 100) == pytest.approx(
        float(d.expected_absorption_time(p, 100, method="diffusion")), rel=1e-14
    )
    assert d.expected_time_to_monomorphism([1.0, 0.0], 100) == 0.0
    assert d.fixation_probability([0.2, 0.7]).tolist() == [0.2, 0.7]


# --------------------------------------------------------------------------------------------
# smoothing and mixing
# --------------------------------------------------------------------------------------------


def test_smoothed_reduces_to_plain_and_has_positive_fixed_point():
    p0 = np.array([0.6, 0.3, 0.1])
    n = np.arange(0, 40)
    assert np.allclose(
        d.smoothed_expected_heterozygosity(n, p0, 12, 0.0), d.expected_heterozygosity(n, p0, 12)
    )
    Hs = d.smoothed_stationary_heterozygosity(3, 12, [0.1, 1.0, 100.0])
    assert np.all(Hs > 0) and np.all(np.diff(Hs) > 0) and Hs[-1] < 2 / 3
    far = d.smoothed_expected_heterozygosity(10**5, p0, 12, [0.1, 1.0, 100.0])
    assert np.allclose(far, Hs, rtol=1e-12)
    assert d.smoothed_stationary_heterozygosity(3, 12, 0.0) == 0.0


def _mc_smoothed(p0, M, beta, n, chains, seed):
    rng = np.random.default_rng(seed)
    K = len(p0)
    q = np.tile(p0, (chains, 1))
    for _ in range(n):
        c = rng.multinomial(M, q)
        q = (c + beta) / (M + K * beta)
    return 1 - np.sum(q**2, axis=1), np.sum((q - p0) ** 2, axis=1)


def test_smoothed_recursions_vs_monte_carlo():
    """NumPy Monte Carlo, 40000 chains, seed fixed. Two checks -> z = 3.3 (Bonferroni for a
    two-sided 0.1% family-wise level). Also shows a perturbed recursion coefficient is rejected."""
    p0 = np.array([0.7, 0.2, 0.1])
    M, beta, n, chains = 8, 0.5, 6, 40_000
    H, D = _mc_smoothed(p0, M, beta, n, chains, seed=1234)
    z = 3.3
    for sample, theory in (
        (H, d.smoothed_expected_heterozygosity(n, p0, M, beta)),
        (D, d.smoothed_expected_sq_distance(n, p0, M, beta)),
    ):
        se = sample.std(ddof=1) / math.sqrt(chains)
        assert abs(sample.mean() - theory) < z * se
    # a wrong formula (the unsmoothed 'a' with a smoothed fixed point) is rejected
    K = 3
    a_wrong = 1 - 1 / M
    Hs = d.smoothed_stationary_heterozygosity(K, M, beta)
    H0 = 1 - np.sum(p0**2)
    wrong = a_wrong**n * H0 + Hs * (1 - a_wrong**n)
    se = H.std(ddof=1) / math.sqrt(chains)
    assert abs(H.mean() - wrong) > z * se


def test_mixed_workflow_vs_monte_carlo():
    """N real + n_synth synthetic per generation; 40000 chains; z = 3.3 (two checks)."""
    p_star = np.array([0.5, 0.3, 0.2])
    N, m, chains = 6, 10, 40_000
    rng = np.random.default_rng(99)
    q = np.tile(p_star, (chains, 1))
    gens = 12
    for _ in range(gens):
        x = rng.multinomial(N, p_star, size=chains)
        y = rng.multinomial(m, q)
        q = (x + y) / (N + m)
    dist = np.sum((q - p_star) ** 2, axis=1)
    se = dist.std(ddof=1) / math.sqrt(chains)
    theory = d.mixed_expected_sq_distance(gens, p_star, N, m)
    assert abs(dist.mean() - theory) < 3.3 * se
    limit = d.mixed_sq_distance_limit(p_star, N, m)
    assert d.mixed_expected_sq_distance(10**4, p_star, N, m) == pytest.approx(limit, rel=1e-12)
    # a perturbed limit (N instead of N(1+a)) is rejected at 12 generations (near stationarity)
    H = 1 - np.sum(p_star**2)
    a = m / (N + m)
    assert abs(dist.mean() - H / (N + a)) > 3.3 * se
    # N = 0 is the plain refit with M = n_synth
    assert d.mixed_expected_sq_distance(7, p_star, 0, m) == pytest.approx(
        float(d.expected_sq_distance(7, p_star, m)), rel=1e-13
    )


def test_scalar_input_gives_numpy_scalars():
    """Like scipy.stats: scalar arguments give NumPy scalars (never 0-d arrays), every method."""
    calls = [
        lambda: d.expected_absorption_time(0.3, 10),
        lambda: d.expected_time_to_loss(0.3, 10),
        lambda: d.expected_time_to_fixation(0.3, 10),
        lambda: d.expected_absorption_time(0.3, 10, method="diffusion"),
        lambda: d.extinction_probability(3, 0.1, 10, method="suresh"),
        lambda: d.extinction_probability(3, 0.1, 10, method="kimura"),
        lambda: d.extinction_probability(3, 0.1, 10),
        *[lambda i=i: d.survival_bounds(3, 0.1, 10)[i] for i in range(3)],
    ]
    for call in calls:
        assert isinstance(call(), np.float64)
