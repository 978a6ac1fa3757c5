"""Tests of modelcollapse.theory.multivariate (the d-dimensional Gaussian replace recursion).

Three kinds of reference, all independent of the code under test:

* a plain NumPy Monte Carlo written here (``_simulate``): each generation draws M points in d
  dimensions from the current fit and refits the sample mean and S / (M - ddof) -- no Bartlett,
  no Wishart; fixed seeds; tolerance = Z * standard error with Z = 4.5 (Bonferroni over the
  few dozen comparisons of the file: two-sided P(|N(0,1)| > 4.5) = 6.8e-6 each);
* a QR (Benettin) estimate of the Lyapunov exponents of the simulated Cholesky factors;
* exact values from mpmath / scipy written out here, and the d = 1 formulas of
  :mod:`modelcollapse.theory.gaussian` (relative tolerance 1e-12 unless stated).

Each statistical check is also fed a perturbed formula and must reject it.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy import special

from modelcollapse.theory import gaussian as g
from modelcollapse.theory import multivariate as mv

Z = 4.5  # z-bound of every Monte Carlo comparison in this file


# --------------------------------------------------------------------------------------------
# plain NumPy Monte Carlo of the sample-level recursion
# --------------------------------------------------------------------------------------------


def _sqrtm_psd(A):
    w, V = np.linalg.eigh(A)
    return (V * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(V, -1, -2)


def _simulate(Sigma0, M, n, chains, *, ddof=1, seed=0):
    """Per generation t = 0..n, per chain: log det, trace, ||mu_t - mu_0||^2 and W2^2 to gen 0."""
    rng = np.random.default_rng(seed)
    Sigma0 = np.asarray(Sigma0, dtype=float)
    d = Sigma0.shape[0]
    mu = np.zeros((chains, d))
    L = np.broadcast_to(np.linalg.cholesky(Sigma0), (chains, d, d)).copy()
    root0 = _sqrtm_psd(Sigma0)
    tr0 = np.trace(Sigma0)
    out = {k: np.zeros((n + 1, chains)) for k in ("logdet", "trace", "drift", "w2")}
    out["logdet"][0] = np.linalg.slogdet(Sigma0)[1]
    out["trace"][0] = tr0
    sizes = [M] * n if np.ndim(M) == 0 else list(M)
    for t in range(1, n + 1):
        M = sizes[t - 1]
        x = mu[:, None, :] + rng.standard_normal((chains, M, d)) @ np.swapaxes(L, -1, -2)
        mu = x.mean(axis=1)
        c = x - mu[:, None, :]
        Sigma = np.swapaxes(c, -1, -2) @ c / (M - ddof)
        L = np.linalg.cholesky(Sigma)
        out["logdet"][t] = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
        out["trace"][t] = np.trace(Sigma, axis1=-2, axis2=-1)
        out["drift"][t] = np.sum(mu**2, axis=-1)
        fid = np.trace(_sqrtm_psd(root0 @ Sigma @ root0), axis1=-2, axis2=-1)
        out["w2"][t] = out["drift"][t] + tr0 + out["trace"][t] - 2.0 * fid
    return out


def _z(samples, theory):
    """|sample mean - theory| / standard error."""
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    return abs(samples.mean() - theory) / se


def _z_var(samples, theory):
    """|sample variance - theory| / its standard error sqrt((m4 - s^4) / R)."""
    c = samples - samples.mean()
    s2 = np.mean(c**2)
    se = np.sqrt((np.mean(c**4) - s2**2) / samples.size)
    return abs(samples.var(ddof=1) - theory) / se


SIGMA0 = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])


@pytest.fixture(scope="module")
def sim():
    """d = 3, M = 8 (ddof = 1), 5 generations, 20000 chains (~2 s)."""
    return _simulate(SIGMA0, 8, 5, 20000, seed=11)


@pytest.fixture(scope="module")
def sim_mle():
    """d = 3, M = 8, ddof = 0, 4 generations, 20000 chains."""
    return _simulate(SIGMA0, 8, 4, 20000, ddof=0, seed=12)


# --------------------------------------------------------------------------------------------
# theory vs simulation
# --------------------------------------------------------------------------------------------


def _bartlett_wrong_logdet(n, M, d, ddof, det0):
    """Perturbed: every dimension given the 1-D rate (chi2_{M-1} for every k)."""
    return np.log(det0) + n * d * float(g.expected_log_variance(1, M, ddof=ddof))


@pytest.mark.parametrize("fixture, ddof", [("sim", 1), ("sim_mle", 0)])
def test_log_determinant_mean_and_variance(request, fixture, ddof):
    out = request.getfixturevalue(fixture)
    det0 = np.linalg.det(SIGMA0)
    for t in range(1, out["logdet"].shape[0]):
        x = out["logdet"][t]
        assert _z(x, mv.expected_log_determinant(t, 8, 3, ddof=ddof, det0=det0)) < Z
        assert _z_var(x, mv.log_determinant_variance(t, 8, 3, ddof=ddof)) < Z
        # perturbed formulas rejected: the 1-D rate in every dimension; trigamma of (M-1)/2 only
        assert _z(x, _bartlett_wrong_logdet(t, 8, 3, ddof, det0)) > Z
        assert _z_var(x, 3 * t * special.polygamma(1, 3.5)) > Z


@pytest.mark.parametrize("fixture, ddof", [("sim", 1), ("sim_mle", 0)])
def test_trace_determinant_and_mean_drift(request, fixture, ddof):
    out = request.getfixturevalue(fixture)
    det0 = np.linalg.det(SIGMA0)
    for t in range(1, out["trace"].shape[0]):
        assert _z(out["trace"][t], mv.expected_trace(t, 8, SIGMA0, ddof=ddof)) < Z
        assert _z(out["drift"][t], mv.mean_drift_mse(t, 8, SIGMA0, ddof=ddof)) < Z
        if t <= 2:  # det has heavy right tails; its sample mean is checked where its SE is sane
            dets = np.exp(out["logdet"][t])
            assert _z(dets, mv.expected_determinant(t, 8, 3, ddof=ddof, det0=det0)) < Z
            # perturbed: E det W = (M-1)^d (no Bartlett shrinkage) rejected
            wrong = det0 * ((7.0 / (8 - ddof)) ** 3) ** t
            assert _z(dets, wrong) > Z
    # the mean drift perturbed (trace of the *current* covariance left out: n tr0 / M even for
    # ddof = 0) is rejected at the last generation for ddof = 0
    if ddof == 0:
        t = out["drift"].shape[0] - 1
        assert _z(out["drift"][t], t * np.trace(SIGMA0) / 8) > Z


def test_expected_covariance_matrix_against_simulation():
    rng = np.random.default_rng(5)
    M, d, chains, ddof = 6, 2, 40000, 0
    S0 = np.array([[1.0, 0.8], [0.8, 2.0]])
    L = np.linalg.cholesky(S0)
    x = rng.standard_normal((chains, M, d)) @ L.T
    c = x - x.mean(1, keepdims=True)
    S1 = np.swapaxes(c, -1, -2) @ c / (M - ddof)
    L1 = np.linalg.cholesky(S1)
    x = rng.standard_normal((chains, M, d)) @ np.swapaxes(L1, -1, -2)
    c = x - x.mean(1, keepdims=True)
    S2 = np.swapaxes(c, -1, -2) @ c / (M - ddof)
    E = mv.expected_covariance(2, M, S0, ddof=ddof)
    for i in range(d):
        for j in range(d):
            assert _z(S2[:, i, j], E[i, j]) < Z
    # perturbed: Sigma0 unchanged (the ddof=1 answer) rejected on the diagonal
    assert _z(S2[:, 1, 1], S0[1, 1]) > Z


def test_w2_bounds_and_small_t_against_simulation():
    S0 = np.diag([1.0, 2.0, 4.0])
    M, n = 400, 2
    out = _simulate(S0, M, n, 6000, seed=3)
    for t in (1, 2):
        w = out["w2"][t]
        se = w.std(ddof=1) / np.sqrt(w.size)
        lo, hi = mv.w2_squared_bounds(t, M, S0)
        assert lo - Z * se < w.mean() < hi + Z * se
        # the small-t expansion: relative error O((n + d)/M) (next order, stated in its Notes),
        # allowed as 1.0 (t + 3)/M of the value on top of the Monte Carlo error
        approx = float(mv.w2_squared_small_t(t, M, S0))
        assert abs(w.mean() - approx) < Z * se + (t + 3) / M * approx
        # perturbed: the 1-D formula eigenvalue by eigenvalue (no cross term) rejected
        wrong = 1.5 * t * 7.0 / M
        assert abs(w.mean() - wrong) > Z * se + (t + 3) / M * wrong
    assert np.allclose(mv.expected_w2_squared(2, M, S0, method="bounds"),
                       mv.w2_squared_bounds(2, M, S0))
    assert mv.expected_w2_squared(2, M, S0, method="small_t") == mv.w2_squared_small_t(2, M, S0)


def _qr_lyapunov(M, d, ddof, T, chains, burn, seed):
    """Benettin/QR estimate of the exponents of log eig(Sigma_t), from sample-level fits."""
    rng = np.random.default_rng(seed)
    Q = np.broadcast_to(np.eye(d), (chains, d, d)).copy()
    acc = np.zeros((chains, d))
    for t in range(T):
        z = rng.standard_normal((chains, M, d))
        c = z - z.mean(1, keepdims=True)
        T_t = np.linalg.cholesky(np.swapaxes(c, -1, -2) @ c / (M - ddof))
        # chol(Sigma_t) = L0 T_1 ... T_t; its transpose is built by left products of T_t^T
        Q, R = np.linalg.qr(np.swapaxes(T_t, -1, -2) @ Q)
        if t >= burn:
            acc += np.log(np.abs(np.diagonal(R, axis1=-2, axis2=-1)))
    return 2.0 * acc / (T - burn)  # eigenvalues of Sigma: twice the singular-value exponents


def test_lyapunov_spectrum_against_qr_simulation():
    M, d, ddof = 10, 3, 1
    est = _qr_lyapunov(M, d, ddof, T=1500, chains=48, burn=50, seed=21)
    est = np.sort(est, axis=1)[:, ::-1]
    theory = mv.lyapunov_spectrum(M, d, ddof=ddof)
    se = est.std(axis=0, ddof=1) / np.sqrt(est.shape[0])
    assert np.all(np.abs(est.mean(0) - theory) < Z * se), (est.mean(0), theory, se)
    # perturbed: isotropic decay (every eigenvalue at the mean rate) rejected
    iso = np.full(d, theory.mean())
    assert np.any(np.abs(est.mean(0) - iso) > Z * se)
    assert np.all(np.diff(theory) < 0)
    assert np.isclose(theory.sum(), mv.expected_log_determinant(1, M, d, ddof=ddof), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# exact identities
# --------------------------------------------------------------------------------------------


def test_exact_values_against_mpmath():
    with mp.workdps(40):
        for M, d, ddof in [(5, 4, 1), (12, 3, 0), (10**9, 100, 1), (50, 7, 2.5)]:
            rate = mp.fsum(mp.digamma(mp.mpf(M - k) / 2) + mp.log(2 / (mp.mpf(M) - mp.mpf(ddof)))
                           for k in range(1, d + 1))
            tri = mp.fsum(mp.psi(1, mp.mpf(M - k) / 2) for k in range(1, d + 1))
            edet = mp.fprod((mp.mpf(M) - k) / (mp.mpf(M) - mp.mpf(ddof)) for k in range(1, d + 1))
            for n in (1, 7, 10**6):
                assert float(mv.expected_log_determinant(n, M, d, ddof=ddof)) == pytest.approx(
                    float(n * rate), rel=1e-12)
                assert float(mv.log_determinant_variance(n, M, d, ddof=ddof)) == pytest.approx(
                    float(n * tri), rel=1e-12)
                assert float(mv.expected_determinant(n, M, d, ddof=ddof)) == pytest.approx(
                    float(edet**n), rel=1e-9, abs=1e-300)


def test_d1_agrees_with_gaussian_module():
    for n, M, ddof in [(1, 3, 1), (10, 100, 0), (1000, 7, 1.5)]:
        assert mv.expected_log_determinant(n, M, 1, ddof=ddof, det0=2.0) == pytest.approx(
            g.expected_log_variance(n, M, ddof=ddof, sigma2=2.0), rel=1e-14)
        assert mv.log_determinant_variance(n, M, 1, ddof=ddof) == pytest.approx(
            g.log_variance_variance(n, M), rel=1e-14)
        assert mv.expected_determinant(n, M, 1, ddof=ddof, det0=2.0) == pytest.approx(
            g.expected_variance(n, M, ddof=ddof, sigma2=2.0), rel=1e-12)
        exact = g.expected_w2_squared(n, M, ddof=ddof, sigma2=2.0)
        assert mv.expected_w2_squared(n, M, [2.0], ddof=ddof) == exact
        lo, hi = mv.w2_squared_bounds(n, M, [2.0], ddof=ddof)
        assert lo <= exact * (1 + 1e-12) and hi == pytest.approx(exact, rel=1e-9)
    # small_t against the exact 1-D value: 3 n / (2M) to first order
    exact = float(g.expected_w2_squared(1, 1000))
    assert abs(float(mv.w2_squared_small_t(1, 1000, [1.0])) / exact - 1) < 3e-3


def test_matrix_and_eigenvalue_input_agree_and_rotation_invariance():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    eig = np.array([0.5, 1.0, 2.0, 3.0])
    S = (Q * eig) @ Q.T
    S = 0.5 * (S + S.T)
    for f in (mv.expected_trace, mv.mean_drift_mse, mv.w2_squared_small_t, mv.w2_squared_bounds):
        assert np.allclose(f(3, 20, S), f(3, 20, eig), rtol=1e-12)
    assert np.allclose(mv.expected_covariance(3, 20, S, ddof=0), (19 / 20) ** 3 * S)
    assert np.allclose(mv.expected_covariance(3, 20, eig, ddof=0), (19 / 20) ** 3 * eig)


def test_broadcasting_shapes():
    n = np.arange(4)[:, None]
    M = np.array([5, 10, 100])
    assert mv.expected_log_determinant(n, M, 3).shape == (4, 3)
    assert mv.lyapunov_spectrum(M, 3).shape == (3, 3)
    assert mv.expected_covariance(n, M, SIGMA0).shape == (4, 3, 3, 3)
    assert mv.w2_squared_bounds(n, M, SIGMA0).shape == (4, 3, 2)
    assert isinstance(mv.expected_determinant(2, 5, 3), np.float64)
    assert float(mv.expected_log_determinant(0, 5, 3, det0=3.0)) == pytest.approx(np.log(3.0))


def test_large_arguments_are_finite_and_accurate():
    n, M, d = 10**6, 10**9, 100
    v = float(mv.expected_log_determinant(n, M, d))
    # ddof = 1: sum_k E log(chi2_{M-k}/(M-1)) = -d(d+1)/(2M) + O(d^3/M^2)
    assert v == pytest.approx(-n * d * (d + 1) / (2 * M), rel=1e-5)
    assert np.all(np.isfinite(mv.lyapunov_spectrum(M, d)))
    assert np.isfinite(mv.log_determinant_variance(n, M, d))
    b = mv.w2_squared_bounds(n, M, np.ones(d))
    assert np.all(np.isfinite(b)) and b[0] <= b[1]
    assert float(mv.expected_determinant(10**9, 3, 2)) == 0.0  # underflow of a true tiny value
    assert np.isfinite(mv.expected_trace(10**9, 10**9, SIGMA0, ddof=0))


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def test_rank_deficient_fit_is_refused_naming_M_and_d():
    for f in (mv.expected_determinant, mv.expected_log_determinant, mv.log_determinant_variance):
        with pytest.raises(ValueError, match=r"M must be > d"):
            f(1, 3, 3)
    with pytest.raises(ValueError, match=r"M must be > d"):
        mv.lyapunov_spectrum(4, 5)
    with pytest.raises(ValueError, match=r"M must be > d"):
        mv.w2_squared_bounds(1, 3, np.ones(3))
    # the trace, covariance and mean are exact for any M >= 2
    assert float(mv.expected_trace(4, 2, np.ones(5))) == 5.0


@pytest.mark.parametrize("bad, match", [
    ([[1.0, 0.5], [0.4, 1.0]], "symmetric"),
    ([[1.0, 2.0], [2.0, 1.0]], "positive definite"),
    ([1.0, -1.0], "Sigma0"),
    ([[True, False], [False, True]], "Sigma0"),
    ("1", "Sigma0"),
    (np.ones((2, 3)), "Sigma0"),
    ([[1.0, np.nan], [np.nan, 1.0]], "Sigma0"),
    (np.ones((2, 2, 2)), "Sigma0"),
])
def test_bad_Sigma0_is_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        mv.expected_trace(1, 10, bad)


def test_other_arguments_validated():
    with pytest.raises(ValueError, match="^d must be"):
        mv.expected_log_determinant(1, 10, 0)
    with pytest.raises(ValueError, match="^d must be"):
        mv.expected_log_determinant(1, 10, True)
    with pytest.raises(ValueError, match="^det0 must be"):
        mv.expected_determinant(1, 10, 2, det0=-1.0)
    with pytest.raises(ValueError, match="^M must be > ddof"):
        mv.expected_trace(1, 3, [1.0], ddof=3)
    with pytest.raises(ValueError, match="^method must be"):
        mv.expected_w2_squared(1, 10, [1.0], method="mc")
    with pytest.raises(ValueError, match="d = 1"):
        mv.expected_w2_squared(1, 10, [1.0, 2.0])
    with pytest.raises(ValueError, match="workflow|accumulate"):
        mv.expected_log_determinant(1, 10, 1, workflow="accumulate")


# --------------------------------------------------------------------------------------------
# symbolic == numeric
# --------------------------------------------------------------------------------------------


def test_symbolic_derivations_match_numeric():
    from modelcollapse.theory.symbolic import multivariate as smv

    rng = np.random.default_rng(7)
    for d in (1, 2, 4):
        f = smv.lambdified(d)
        for _ in range(5):
            M = int(rng.integers(d + 1, 60))
            t = int(rng.integers(0, 50))
            ddof = float(rng.choice([0.0, 1.0, rng.uniform(0, min(M - 0.5, 3))]))
            det0 = float(rng.uniform(0.1, 5))
            assert f["expected_log_determinant"](t, M, ddof, det0) == pytest.approx(
                float(mv.expected_log_determinant(t, M, d, ddof=ddof, det0=det0)), rel=1e-11,
                abs=1e-12)
            assert f["log_determinant_variance"](t, M) == pytest.approx(
                float(mv.log_determinant_variance(t, M, d)), rel=1e-12, abs=1e-300)
            assert f["expected_determinant"](t, M, ddof, det0) == pytest.approx(
                float(mv.expected_determinant(t, M, d, ddof=ddof, det0=det0)), rel=1e-10)
            eig = rng.uniform(0.5, 2.0, d)
            assert f["mean_drift_mse"](t, M, ddof, eig.sum()) == pytest.approx(
                float(mv.mean_drift_mse(t, M, eig, ddof=ddof)), rel=1e-10, abs=1e-300)
    # the small-t coefficient is the derived Bures second-order term with E X_ij^2 = (1 + [i=j])
    coef = smv.bures_second_order()
    l1, l2 = 1.5, 0.5
    # E X_ij^2 = (1 + [i = j]) l_i l_j per unit n/M: average the quadratic form over X
    e = coef.subs({smv.x11**2: 2 * l1**2, smv.x22**2: 2 * l2**2, smv.x12**2: l1 * l2})
    bures = float(e.subs({smv.l1: l1, smv.l2: l2}))
    small = float(mv.w2_squared_small_t(1, 10**6, [l1, l2])) * 10**6 - (l1 + l2)
    assert bures == pytest.approx(small, rel=1e-12)


def test_proof_steps_reject_perturbed_formulas():
    import sympy as sp

    from modelcollapse.proofs import StepFailure
    from modelcollapse.proofs import check_multivariate_gaussian as chk
    from modelcollapse.theory.symbolic import multivariate as smv

    M, t, c, det0 = smv.M, smv.t, chk.c, smv.det0
    with pytest.raises(StepFailure):  # E det W = (M-1)^2 (no Bartlett shrinkage)
        chk.step3_wishart_det((M - 1) ** 2)
    with pytest.raises(StepFailure):  # the 1-D factor to the power d
        chk.step4_expected_det(det0 * ((M - 1) / c) ** (3 * t))
    with pytest.raises(StepFailure):  # every dimension at the 1-D rate
        chk.step5_log_det(sp.log(det0) + 3 * t * (sp.log(2) + sp.polygamma(0, (M - 1) / 2)
                                                  - sp.log(M - smv.ddof)))
    with pytest.raises(StepFailure):  # isotropic rates
        chk.step6_rates((smv.ddof - 2) / M)
    with pytest.raises(StepFailure):  # drift with the current covariance left out
        chk.step7_mean_and_drift(t * smv.tr0 / M)
    with pytest.raises(StepFailure):  # Bures coefficient without the cross term
        chk.step8_bures(smv.x11**2 / (4 * smv.l1) + smv.x22**2 / (4 * smv.l2))


# --------------------------------------------------------------------------------------------
# schedules M_1, ..., M_n
# --------------------------------------------------------------------------------------------


def test_schedules_equal_constant_formulas():
    for ddof in (0.0, 1.0, 2.5):
        n = np.arange(6)
        sched = [12] * 5
        assert np.allclose(mv.expected_log_determinant_schedule(sched, 4, ddof=ddof, det0=2.0),
                           mv.expected_log_determinant(n, 12, 4, ddof=ddof, det0=2.0),
                           rtol=1e-13)
        assert np.allclose(mv.log_determinant_variance_schedule(sched, 4, ddof=ddof),
                           mv.log_determinant_variance(n, 12, 4), rtol=1e-13)
        assert np.allclose(mv.expected_determinant_schedule(sched, 4, ddof=ddof, det0=2.0),
                           mv.expected_determinant(n, 12, 4, ddof=ddof, det0=2.0), rtol=1e-13)
        assert np.allclose(mv.expected_trace_schedule(sched, SIGMA0, ddof=ddof),
                           mv.expected_trace(n, 12, SIGMA0, ddof=ddof), rtol=1e-13)
        assert np.allclose(mv.mean_drift_mse_schedule(sched, SIGMA0, ddof=ddof),
                           mv.mean_drift_mse(n, 12, SIGMA0, ddof=ddof), rtol=1e-13)
    assert mv.expected_log_determinant_schedule([5, 6], 3, ddof=[0, 1]).shape == (2, 3)
    with pytest.raises(ValueError, match="M must be > d"):
        mv.expected_log_determinant_schedule([5, 3], 3)


def test_schedule_against_simulation():
    sched = [5, 12, 30]
    out = _simulate(SIGMA0, sched, 3, 20000, ddof=0, seed=31)
    det0 = np.linalg.det(SIGMA0)
    mean = mv.expected_log_determinant_schedule(sched, 3, ddof=0, det0=det0)
    var = mv.log_determinant_variance_schedule(sched, 3, ddof=0)
    edet = mv.expected_determinant_schedule(sched, 3, ddof=0, det0=det0)
    tr = mv.expected_trace_schedule(sched, SIGMA0, ddof=0)
    drift = mv.mean_drift_mse_schedule(sched, SIGMA0, ddof=0)
    for t in (1, 2, 3):
        x = out["logdet"][t]
        assert _z(x, mean[t]) < Z and _z_var(x, var[t]) < Z
        assert _z(np.exp(x), edet[t]) < Z
        assert _z(out["trace"][t], tr[t]) < Z and _z(out["drift"][t], drift[t]) < Z
    # perturbed: the constant formula at the last sample size M_n = 30 rejected
    assert _z(out["logdet"][3], mv.expected_log_determinant(3, 30, 3, ddof=0, det0=det0)) > Z


def test_w2_upper_bound_vanishes_at_zero_and_beats_amgm_on_det():
    S0 = np.diag([1.0, 2.0, 4.0])
    assert np.allclose(mv.w2_squared_bounds(0, 50, S0), 0.0, atol=1e-15)
    # the AM-GM-on-determinants variant (d det0^{1/d} in place of tr Sigma0) is weaker
    lo, hi = mv.w2_squared_bounds(3, 50, S0)
    g3 = (hi - mv.mean_drift_mse(3, 50, S0) - 7.0 * (1 + 1.0)) / (-2 * 7.0)  # g^n (ddof=1: r=1)
    amgm = mv.mean_drift_mse(3, 50, S0) + 7.0 * 2 - 2 * 3 * 2.0 * g3
    assert hi < amgm


# --------------------------------------------------------------------------------------------
# every workflow: the projection reduction, det bounds, numerical E W2^2
# --------------------------------------------------------------------------------------------
#
# Reference: a plain NumPy sample-level simulator of every workflow written here (draws the
# points; pools them by running sums, or keeps the pool of points for accumulate_subsample). It
# knows nothing of the one-dimensional theory or of Bartlett.

from modelcollapse.spec import workflows as W  # noqa: E402
from modelcollapse.theory import gaussian_workflows as gw  # noqa: E402

V = np.array([0.6, -0.8, 0.0])  # a fixed unit vector for the projected chain


def _fit(x):
    """(mean, scatter) of points x (chains, k, d)."""
    mu = x.mean(axis=1)
    c = x - mu[:, None, :]
    return mu, np.swapaxes(c, -1, -2) @ c


def _simulate_workflow(Sigma0, M, n, chains, workflow, *, ddof=1, seed=0):
    """Per generation t = 0..n, per chain: trace, ||mu_t - mu0||^2, det(Sigma_t)^(1/d),
    log det, v^T Sigma_t v and the matrix Sigma_t (mu0 = 0)."""
    wf = W.as_workflow(workflow)
    lam = wf.bias.variance_scale
    rng = np.random.default_rng(seed)
    Sigma0 = np.asarray(Sigma0, dtype=float)
    d = Sigma0.shape[0]
    v = np.zeros(d)
    v[:2] = V[:2]
    L0 = np.linalg.cholesky(Sigma0)
    mu = np.zeros((chains, d))
    L = np.broadcast_to(L0, (chains, d, d)).copy()

    def draw(k, mu, L, scale):
        z = rng.standard_normal((chains, k, d))
        return mu[:, None, :] + np.sqrt(scale) * z @ np.swapaxes(L, -1, -2)

    def real(k):
        return rng.standard_normal((chains, k, d)) @ L0.T

    keys = ("trace", "drift", "root", "logdet", "proj")
    out = {k: np.zeros((n + 1, chains)) for k in keys}
    out["Sigma"] = np.zeros((n + 1, chains, d, d))
    out["Sigma"][0] = Sigma0
    out["trace"][0] = np.trace(Sigma0)
    out["root"][0] = np.linalg.det(Sigma0) ** (1 / d)
    out["logdet"][0] = np.log(np.linalg.det(Sigma0))
    out["proj"][0] = v @ Sigma0 @ v
    pool, s1, s2, count = None, 0.0, 0.0, 0
    for t in range(1, n + 1):
        b = 1.0 if t == 1 else lam
        new = real(M) if t == 1 else draw(M, mu, L, b)
        if wf.name == "replace":
            mu, S = _fit(new)
            Sigma = S / (M - ddof)
        elif wf.name == "mix":
            nr = wf.real_count(M)
            x = new if t == 1 else np.concatenate([real(nr), draw(M - nr, mu, L, b)], axis=1)
            mu, S = _fit(x)
            Sigma = S / (M - ddof)
        elif wf.name == "weighted":
            w, nr = wf.effective_weight, wf.real_count(M)
            mr, Sr = _fit(real(nr))
            ms, Ss = _fit(new)
            mu = w * mr + (1 - w) * ms
            Sigma = w * Sr / (nr - ddof) + (1 - w) * Ss / (M - ddof)
        elif wf.name == "accumulate":
            count += M
            s1 = s1 + new.sum(axis=1)
            s2 = s2 + np.swapaxes(new, -1, -2) @ new
            mu = s1 / count
            Sigma = (s2 - count * mu[:, :, None] * mu[:, None, :]) / (count - ddof)
        else:  # accumulate_subsample: N of the pool's points, without replacement
            N = M if wf.subsample is None else wf.subsample
            pool = new if pool is None else np.concatenate([pool, new], axis=1)
            pick = np.argsort(rng.random((chains, pool.shape[1])), axis=1)[:, :N]
            mu, S = _fit(np.take_along_axis(pool, pick[:, :, None], axis=1))
            Sigma = S / (N - ddof)
        L = np.linalg.cholesky(Sigma)
        out["Sigma"][t] = Sigma
        out["trace"][t] = np.trace(Sigma, axis1=-2, axis2=-1)
        out["drift"][t] = np.sum(mu**2, axis=-1)
        logdet = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
        out["logdet"][t] = logdet
        out["root"][t] = np.exp(logdet / d)
        out["proj"][t] = np.einsum("i,cij,j->c", v, Sigma, v)
    return out


WORKFLOW_CASES = [
    ("replace_bias", W.replace(bias=W.SamplingBias(variance_scale=0.8)), 0),
    ("mix", W.mix(n_real=5), 0),
    ("accumulate", W.accumulate(), 0),
    ("accumulate_subsample", W.accumulate_subsample(8), 1),
    ("weighted", W.weighted(0.4, n_real=6), 0),
]


@pytest.fixture(scope="module")
def wf_sims():
    """d = 3, M = 10, 4 generations, 6000 chains per workflow (~2 s in all)."""
    return {name: _simulate_workflow(SIGMA0, 10, 4, 6000, wf, ddof=ddof, seed=40 + i)
            for i, (name, wf, ddof) in enumerate(WORKFLOW_CASES)}


@pytest.mark.parametrize("name, wf, ddof", WORKFLOW_CASES, ids=[c[0] for c in WORKFLOW_CASES])
def test_projection_reduction_against_simulation(wf_sims, name, wf, ddof):
    out = wf_sims[name]
    tr0 = np.trace(SIGMA0)
    v2 = V @ SIGMA0 @ V
    for t in range(1, 5):
        assert _z(out["trace"][t], mv.expected_trace(t, 10, SIGMA0, ddof=ddof, workflow=wf)) < Z
        assert _z(out["drift"][t], mv.mean_drift_mse(t, 10, SIGMA0, ddof=ddof, workflow=wf)) < Z
        E = mv.expected_covariance(t, 10, SIGMA0, ddof=ddof, workflow=wf)
        for i, j in [(0, 0), (0, 1), (1, 2), (2, 2)]:
            assert _z(out["Sigma"][t][:, i, j], E[i, j]) < Z
        # the law of v^T Sigma_t v is the 1-D law with sigma0^2 = v^T Sigma0 v: mean, variance
        proj = out["proj"][t]
        assert _z(proj, gw.expected_variance(t, 10, ddof=ddof, sigma2=v2, workflow=wf)) < Z
        if name != "accumulate_subsample":  # (no 1-D variance there)
            assert _z_var(proj, gw.variance_variance(t, 10, ddof=ddof, sigma2=v2,
                                                     workflow=wf)) < Z
    # perturbed formulas rejected at the last generation: the replace formulas (no workflow),
    # and the variance of v^T Sigma v computed with tr Sigma0 in place of v^T Sigma0 v
    t = 4
    z_tr = _z(out["trace"][t], mv.expected_trace(t, 10, SIGMA0, ddof=ddof))
    z_dr = _z(out["drift"][t], mv.mean_drift_mse(t, 10, SIGMA0, ddof=ddof))
    assert max(z_tr, z_dr) > Z
    if name != "accumulate_subsample":
        wrong_var = gw.variance_variance(t, 10, ddof=ddof, sigma2=tr0, workflow=wf) * v2 / tr0
        assert _z_var(out["proj"][t], wrong_var) > Z


def test_workflow_functions_equal_one_dimensional_theory():
    eig = np.array([0.5, 1.0, 2.5])
    for wf in ["mix", "accumulate", "accumulate_subsample", "weighted",
               W.replace(bias=W.SamplingBias(variance_scale=1.3)),
               W.mix(n_real=2, fixed_real=True)]:
        for ddof in (0, 1):
            s = gw.expected_variance(np.arange(6), 12, ddof=ddof, workflow=wf)
            m = gw.mean_drift_mse(np.arange(6), 12, ddof=ddof, workflow=wf)
            n = np.arange(6)
            assert np.allclose(mv.expected_trace(n, 12, eig, ddof=ddof, workflow=wf),
                               s * eig.sum(), rtol=1e-13)
            assert np.allclose(mv.mean_drift_mse(n, 12, eig, ddof=ddof, workflow=wf),
                               m * eig.sum(), rtol=1e-13)
            assert np.allclose(mv.expected_covariance(n, 12, SIGMA0, ddof=ddof, workflow=wf),
                               s[:, None, None] * SIGMA0, rtol=1e-13)
            if not (isinstance(wf, W.Workflow) and wf.fixed_real):
                ss, ms = gw.schedule_moments([5, 9, 12], ddof=ddof, workflow=wf)
                assert np.allclose(mv.expected_trace_schedule([5, 9, 12], eig, ddof=ddof,
                                                              workflow=wf), ss * eig.sum())
                assert np.allclose(mv.mean_drift_mse_schedule([5, 9, 12], eig, ddof=ddof,
                                                              workflow=wf), ms * eig.sum())
    # truncation is refused by name; replace-only functions still refuse other workflows
    trunc = W.replace(bias=W.SamplingBias(truncation=2.0))
    for f in (mv.expected_trace, mv.mean_drift_mse, mv.log_determinant_upper_bound):
        with pytest.raises(ValueError, match="truncation"):
            f(1, 10, eig, workflow=trunc)
    with pytest.raises(ValueError, match="truncation"):
        mv.determinant_root_bounds(1, 10, eig, workflow=trunc)
    with pytest.raises(ValueError, match="accumulate"):
        mv.expected_log_determinant(1, 10, 3, workflow="accumulate")
    with pytest.raises(ValueError, match="mix"):
        mv.w2_squared_numeric(1, 10, eig, workflow="mix")


@pytest.mark.parametrize("name, wf, ddof", WORKFLOW_CASES, ids=[c[0] for c in WORKFLOW_CASES])
def test_determinant_bounds_against_simulation(wf_sims, name, wf, ddof):
    out = wf_sims[name]
    n = np.arange(5)
    b = mv.determinant_root_bounds(n, 10, SIGMA0, ddof=ddof, workflow=wf)
    upper_log = mv.log_determinant_upper_bound(n, 10, SIGMA0, ddof=ddof, workflow=wf)
    for t in range(1, 5):
        x = out["root"][t]
        se = x.std(ddof=1) / np.sqrt(x.size)
        assert b[t, 0] - Z * se < x.mean() < b[t, 1] + Z * se
        y = out["logdet"][t]
        assert y.mean() < upper_log[t] + Z * y.std(ddof=1) / np.sqrt(y.size)
    # the bounds have teeth: the upper bound taken as a lower bound, and the lower bound taken
    # as an upper bound, are rejected at the last generation (unless the bound is exact there)
    x = out["root"][4]
    se = x.std(ddof=1) / np.sqrt(x.size)
    if name != "replace_bias":
        assert x.mean() < b[4, 1] - Z * se
        assert x.mean() > b[4, 0] + Z * se
    else:  # replace: exact; a perturbed exact value (the 1-D factor w(M) -> M - 1) rejected
        assert _z(x, b[4, 0]) < Z
        wrong = np.linalg.det(SIGMA0) ** (1 / 3) * (9 / 10) * (0.8 * 9 / 10) ** 3
        assert _z(x, wrong) > Z


def test_determinant_bounds_exact_cases_and_order():
    eig = np.array([1.0, 2.0, 3.0])
    root0 = 6.0 ** (1 / 3)
    # replace: the exact E det^(1/d) = det0^(1/d) prod_k E (chi2_{M-k}/c)^(1/d) per generation
    per = np.prod([2 ** (1 / 3) * np.exp(special.gammaln((12 - k) / 2 + 1 / 3)
                                         - special.gammaln((12 - k) / 2)) / 11 ** (1 / 3)
                   for k in (1, 2, 3)])
    b = mv.determinant_root_bounds([0, 1, 4], 12, eig)
    assert np.allclose(b[:, 0], root0 * per ** np.array([0, 1, 4]), rtol=1e-12)
    assert np.all(b[:, 0] == b[:, 1])
    for wf in ("accumulate", "accumulate_subsample", "mix", "weighted"):
        b = mv.determinant_root_bounds(np.arange(30), 12, eig, workflow=wf)
        assert np.all(b[:, 0] <= b[:, 1] * (1 + 1e-12)) and np.all(b[:, 0] >= 0)
        assert b[0, 0] == pytest.approx(root0, rel=1e-14)
        assert root0 * (1 - 1e-14) <= b[0, 1] <= 2.0 * (1 + 1e-14)
    # the first fit is all real for accumulate / mix / accumulate_subsample: the replace value
    for wf in ("accumulate", "mix", "accumulate_subsample"):
        assert mv.determinant_root_bounds(1, 12, eig, workflow=wf)[0] == pytest.approx(
            root0 * per, rel=1e-12)
    # Jensen bound: d log s_n + log det0; equality at n = 0; above the exact replace value
    assert float(mv.log_determinant_upper_bound(0, 12, eig)) == pytest.approx(np.log(6.0))
    assert mv.log_determinant_upper_bound(3, 12, eig) > mv.expected_log_determinant(
        3, 12, 3, det0=6.0)
    with pytest.raises(ValueError, match="M must be > d"):
        mv.determinant_root_bounds(1, 3, eig)


# --------------------------------------------------------------------------------------------
# numerical E W2^2
# --------------------------------------------------------------------------------------------


def test_w2_numeric_d1_matches_exact_and_se_is_honest():
    exact = float(g.expected_w2_squared(6, 30, ddof=1, sigma2=2.0))
    vals, ses = [], []
    for seed in range(20):
        v, se = mv.w2_squared_numeric(6, 30, [2.0], rtol=1e-9, max_draws=2000, seed=seed)
        vals.append(v)
        ses.append(se)
    vals, ses = np.array(vals), np.array(ses)
    assert np.all(np.abs(vals - exact) < Z * ses)
    # honesty of the standard error: the spread of 20 seeds against the mean reported SE;
    # sd / se ~ sqrt(chi2_19 / 19): [0.53, 1.52] holds with probability 0.998
    ratio = vals.std(ddof=1) / ses.mean()
    assert 0.53 < ratio < 1.52
    # perturbed: an SE three times too small is rejected by the same check
    assert not 0.53 < vals.std(ddof=1) / (ses.mean() / 3) < 1.52
    # and the mean of the 20 (SE / sqrt 20) is within Z of the exact value, not of 1.01 x it
    se20 = ses.mean() / np.sqrt(20)
    assert abs(vals.mean() - exact) < Z * se20 < abs(vals.mean() - 1.01 * exact)
    # deterministic for a seed
    assert mv.w2_squared_numeric(6, 30, [2.0], seed=3) == mv.w2_squared_numeric(6, 30, [2.0],
                                                                               seed=3)


def test_w2_numeric_d3_against_sample_simulation_bounds_and_small_t():
    S0 = np.diag([1.0, 2.0, 4.0])
    M, n = 20, 3
    v, se = mv.w2_squared_numeric(n, M, S0, rtol=2e-3)
    assert se <= 2e-3 * v
    out = _simulate(S0, M, n, 8000, seed=17)
    w = out["w2"][n]
    se_mc = w.std(ddof=1) / np.sqrt(w.size)
    assert abs(w.mean() - v) < Z * np.hypot(se_mc, se)
    lo, hi = mv.w2_squared_bounds(n, M, S0)
    assert lo < v < hi
    # the small-t expansion is off by O((n + d)/M) here: the numeric value tells them apart
    small = float(mv.w2_squared_small_t(n, M, S0))
    assert abs(small - v) > Z * se
    assert abs(small - v) < (n + 3) / M * v
    assert mv.expected_w2_squared(n, M, S0, method="numeric", rtol=2e-3) == v


def test_w2_numeric_rejects_a_wrong_control_variate_mean(monkeypatch):
    # perturbed: the control variate's exact mean E Q replaced by its leading order
    # (n / (2M)) (tr Sigma0 + sum_{i != j} l_i l_j / (l_i + l_j)); the estimate then disagrees
    # with the sample-level simulation
    S0 = np.diag([1.0, 2.0, 4.0])
    M, n = 20, 3
    out = _simulate(S0, M, n, 8000, seed=17)
    w = out["w2"][n]
    se_mc = w.std(ddof=1) / np.sqrt(w.size)
    lead = float(mv.w2_squared_small_t(n, M, S0)) - n * 7.0 / M
    monkeypatch.setattr(mv, "_bures_quadratic_mean", lambda *a: lead)
    v, se = mv.w2_squared_numeric(n, M, S0, rtol=2e-3)
    assert abs(w.mean() - v) > Z * np.hypot(se_mc, se)


def _acc_det_wrong(n, M, d, ddof, det0):
    """Perturbed: the accumulate step without the new batch's mean offset (rho = 0)."""
    out = det0 * np.prod([(M - k) / (M - ddof) for k in range(1, d + 1)])
    for t in range(2, n + 1):
        c = (t - 1) * M - ddof
        nu = M - 1
        e = sum(special.comb(d, k) * c ** (d - k) * special.poch(nu - k + 1, k)
                for k in range(d + 1))
        out *= e / (t * M - ddof) ** d
    return out


def test_accumulate_expected_determinant_against_simulation():
    det0 = np.linalg.det(SIGMA0)
    for ddof, lam, seed in [(0, 1.0, 61), (1, 0.7, 62)]:
        wf = W.accumulate(bias=W.SamplingBias(variance_scale=lam))
        out = _simulate_workflow(SIGMA0, 6, 4, 30000, wf, ddof=ddof, seed=seed)
        e = mv.expected_determinant(np.arange(5), 6, 3, ddof=ddof, det0=det0, workflow=wf)
        for t in range(1, 5):
            assert _z(np.exp(out["logdet"][t]), e[t]) < Z
        if lam == 1.0:  # perturbed: the batch's mean offset left out, rejected at t = 4
            assert _z(np.exp(out["logdet"][4]), _acc_det_wrong(4, 6, 3, ddof, det0)) > Z
    # d = 1 is the 1-D accumulate theory; t = 1 is the replace value
    for ddof in (0, 1):
        assert np.allclose(mv.expected_determinant(np.arange(8), 9, 1, ddof=ddof,
                                                   workflow="accumulate"),
                           g.expected_variance(np.arange(8), 9, ddof=ddof,
                                               workflow="accumulate"), rtol=1e-12)
    assert mv.expected_determinant(1, 9, 3, workflow="accumulate") == pytest.approx(
        mv.expected_determinant(1, 9, 3), rel=1e-14)
    rep = W.replace(bias=W.SamplingBias(variance_scale=0.5))
    assert mv.expected_determinant(3, 9, 2, workflow=rep) == pytest.approx(
        mv.expected_determinant(3, 9, 2) * 0.25**2, rel=1e-13)
    with pytest.raises(ValueError, match="mix"):
        mv.expected_determinant(1, 9, 2, workflow="mix")


@pytest.mark.parametrize("name, wf, ddof", [c for c in WORKFLOW_CASES
                                             if c[0] != "accumulate_subsample"],
                         ids=[c[0] for c in WORKFLOW_CASES if c[0] != "accumulate_subsample"])
def test_log_determinant_lower_bound_against_simulation(wf_sims, name, wf, ddof):
    out = wf_sims[name]
    lo = mv.log_determinant_lower_bound(np.arange(5), 10, SIGMA0, ddof=ddof, workflow=wf)
    hi = mv.log_determinant_upper_bound(np.arange(5), 10, SIGMA0, ddof=ddof, workflow=wf)
    for t in range(1, 5):
        y = out["logdet"][t]
        se = y.std(ddof=1) / np.sqrt(y.size)
        assert lo[t] - Z * se < y.mean() < hi[t] + Z * se
    y = out["logdet"][4]
    se = y.std(ddof=1) / np.sqrt(y.size)
    if name == "replace_bias":  # exact: a perturbed value (no bias on later fits) rejected
        assert _z(y, lo[4]) < Z
        assert _z(y, lo[4] - 3 * 3 * np.log(0.8)) > Z
    else:  # teeth: the upper bound taken as a lower bound is rejected
        assert y.mean() < hi[4] - Z * se
    with pytest.raises(ValueError, match="accumulate_subsample"):
        mv.log_determinant_lower_bound(1, 10, SIGMA0, workflow="accumulate_subsample")


@pytest.mark.slow
def test_determinant_bounds_gap_d10_accumulate():
    """The figure's case: d = 10, M = 100, n = 100, ddof = 1 (~10 s)."""
    d, M, n = 10, 100, 100
    S0 = np.eye(d)
    out = _simulate_workflow(S0, M, n, 400, "accumulate", ddof=1, seed=77)
    x = out["root"][n]
    se = x.std(ddof=1) / np.sqrt(x.size)
    lo, hi = mv.determinant_root_bounds(n, M, S0, workflow="accumulate")
    assert lo - Z * se < x.mean() < hi + Z * se
    assert (x.mean() - lo) / x.mean() < 0.02 and (hi - x.mean()) / x.mean() < 0.04
    y = out["logdet"][n]
    sy = y.std(ddof=1) / np.sqrt(y.size)
    assert (mv.log_determinant_lower_bound(n, M, S0, workflow="accumulate")[()] - Z * sy
            < y.mean() < mv.log_determinant_upper_bound(n, M, S0, workflow="accumulate") + Z * sy)
    # replace at the same point: exact
    out = _simulate_workflow(S0, M, n, 200, "replace", ddof=1, seed=78)
    assert _z(out["root"][n], mv.determinant_root_bounds(n, M, S0)[0]) < Z


@pytest.mark.slow
def test_w2_numeric_d10_cost_and_se_honesty():
    import time

    S0 = np.diag(np.linspace(0.5, 2.0, 10))
    t0 = time.perf_counter()
    v, se = mv.w2_squared_numeric(100, 100, S0, rtol=1e-3)
    elapsed = time.perf_counter() - t0
    assert se <= 1e-3 * v and elapsed < 30
    lo, hi = mv.w2_squared_bounds(100, 100, S0)
    assert lo < v < hi
    vals, ses = [], []
    for seed in range(20):
        a, b = mv.w2_squared_numeric(20, 100, S0, rtol=1e-9, max_draws=2000, seed=seed)
        vals.append(a)
        ses.append(b)
    ratio = np.std(vals, ddof=1) / np.mean(ses)
    assert 0.53 < ratio < 1.52


def test_new_symbolic_derivations_match_numeric_and_proof_steps_reject_perturbations():
    import sympy as sp

    from modelcollapse.proofs import StepFailure
    from modelcollapse.proofs import check_multivariate_gaussian as chk
    from modelcollapse.theory.symbolic import multivariate as smv

    # the accumulate determinant step (general-d sum) == the numeric path, d = 3
    c, lam, rho = sp.symbols("c lam rho", positive=True)
    f = sp.lambdify((c, lam, rho, smv.M), smv.accumulate_det_step_formula(3), "math")
    M, ddof, lv = 7, 1.0, 0.6
    path = mv._acc_log_det_path(5, float(M), ddof, 3, lv)
    for t in range(2, 6):
        step = f((t - 1) * M - ddof, lv, (t - 1) / t, M) / (t * M - ddof) ** 3
        assert np.exp(path[t] - path[t - 1]) == pytest.approx(step, rel=1e-12)
    # the control variate's mean: the symbolic one-step map K, iterated, == the numeric E Q
    nu, cc = M - 1, M - ddof
    K = np.array([[nu**2 + nu, nu], [2 * nu, nu**2]]) / cc**2
    l1, l2 = 0.7, 1.9
    for n in (1, 2, 5):
        a = np.linalg.matrix_power(K, n) @ [0.0, l1 * l2]
        q, r = (nu**2 + 2 * nu) / cc**2, nu / cc
        ex = [li**2 * (q**n - 2 * r**n + 1) for li in (l1, l2)]
        eq = 0.5 * (ex[0] / (2 * l1) + ex[1] / (2 * l2) + 2 * a[0] / (l1 + l2))
        assert mv._bures_quadratic_mean(n, M, ddof, np.array([l1, l2])) == pytest.approx(
            eq, rel=1e-13)
    # the accumulate step's second moments (symbolic alpha + 2 beta, alpha, beta) drive the
    # numeric E Q: two generations of accumulate, d = 2, from the symbolic moments
    h = {key: sp.lambdify((c, lam, rho, smv.M), e, "math")
         for key, e in smv.accumulate_step_second_moments().items()}
    cv, lv2, rv, N2 = M - ddof, 0.8, 0.5, 2 * M - ddof
    q1, r1 = (nu**2 + 2 * nu) / cc**2, nu / cc
    a1, b1 = nu * l1 * l2 / cc**2, nu**2 * l1 * l2 / cc**2          # after the replace step
    al, be = h["11,22"](cv, lv2, rv, M), h["12,12"](cv, lv2, rv, M)
    assert h["11,11"](cv, lv2, rv, M) == pytest.approx(al + 2 * be, rel=1e-13)
    a2 = ((al + be) * a1 + be * b1) / N2**2
    mu2 = cv + lv2 * (nu + rv)
    ex = [li**2 * (q1 * (al + 2 * be) / N2**2 - 2 * r1 * mu2 / N2 + 1) for li in (l1, l2)]
    eq = 0.5 * (ex[0] / (2 * l1) + ex[1] / (2 * l2) + 2 * a2 / (l1 + l2))
    wf = W.accumulate(bias=W.SamplingBias(variance_scale=lv2))
    assert mv._bures_quadratic_mean(2, M, ddof, np.array([l1, l2]), wf) == pytest.approx(
        eq, rel=1e-12)
    # perturbed formulas rejected by the proof steps
    x11 = sp.Symbol("x01", real=True)
    with pytest.raises(StepFailure):  # a projected scatter off by one point's square
        chk.step10_projection(x11**2)
    a11, b22 = sp.symbols("a11 b22", real=True)
    with pytest.raises(StepFailure):  # det(A+B) - det A - det B without the cross term
        chk.step11_minkowski(a11 * b22)
    with pytest.raises(StepFailure):  # the accumulate step without the mean offset (rho = 0)
        chk.step12_accumulate_det(smv.accumulate_det_step_formula(2).subs(rho, 0))
    x0 = sp.Symbol("x0", positive=True)
    with pytest.raises(StepFailure):  # the naive curvature 1/(2 (1 + x0)^2) as kappa
        chk.step13_tangent(1 / (2 * (1 + x0) ** 2))
    with pytest.raises(StepFailure):  # E S'12^2 with the nu^2 + 2 nu diagonal coefficient
        chk.step14_control_variate((smv.M, 0, 0))


def _bures_from(Sigma, S0):
    root0 = _sqrtm_psd(S0)
    fid = np.trace(_sqrtm_psd(root0 @ Sigma @ root0), axis1=-2, axis2=-1)
    return np.trace(S0) + np.trace(Sigma, axis1=-2, axis2=-1) - 2.0 * fid


@pytest.mark.parametrize("name", ["accumulate", "replace_bias"])
def test_w2_numeric_workflows_against_sample_simulation(wf_sims, name):
    wf, ddof = {c[0]: (c[1], c[2]) for c in WORKFLOW_CASES}[name]
    out = wf_sims[name]
    t = 4
    w = out["drift"][t] + _bures_from(out["Sigma"][t], SIGMA0)
    se_mc = w.std(ddof=1) / np.sqrt(w.size)
    v, se = mv.w2_squared_numeric(t, 10, SIGMA0, ddof=ddof, rtol=2e-3, workflow=wf)
    assert abs(w.mean() - v) < Z * np.hypot(se_mc, se)
    # perturbed: the plain replace value (no workflow) rejected
    v0, se0 = mv.w2_squared_numeric(t, 10, SIGMA0, ddof=ddof, rtol=2e-3)
    assert abs(w.mean() - v0) > Z * np.hypot(se_mc, se0)
    # the exact control-variate mean against the simulated Q
    eig, vec = np.linalg.eigh(SIGMA0)
    X = np.swapaxes(vec, 0, 1) @ out["Sigma"][t] @ vec - np.diag(eig)
    Q = 0.5 * np.sum(X * X / (eig[:, None] + eig[None, :]), axis=(1, 2))
    assert _z(Q, mv._bures_quadratic_mean(t, 10, ddof, eig, wf)) < Z
    assert _z(Q, mv._bures_quadratic_mean(t, 10, ddof, eig)) > Z  # replace's, rejected


def test_w2_numeric_accumulate_d1_within_one_dimensional_bounds():
    v, se = mv.w2_squared_numeric(6, 12, [1.5], ddof=0, rtol=1e-3, workflow="accumulate")
    lo, hi = gw.expected_w2_squared(6, 12, ddof=0, sigma2=1.5, workflow="accumulate",
                                    method="bounds")
    assert lo - Z * se < v < hi + Z * se
    assert mv.expected_w2_squared(6, 12, [1.5], ddof=0, method="numeric",
                                  workflow="accumulate") == v


def test_projected_quadratic_form_has_the_one_dimensional_law():
    """Replace with variance_scale 0.8 (ddof 0, M = 10): log(v^T Sigma_t v / v^T Sigma0 v) is
    the 1-D log-variance walk shifted by (t - 1) log 0.8; Kolmogorov-Smirnov at level 1e-5
    (critical value sqrt(log(2/alpha)/(2R)) of the DKW inequality)."""
    out = _simulate_workflow(SIGMA0, 10, 3, 6000, W.replace(bias=W.SamplingBias(
        variance_scale=0.8)), ddof=0, seed=91)
    v2 = V @ SIGMA0 @ V
    R = 6000
    crit = np.sqrt(np.log(2 / 1e-5) / (2 * R))
    for t in (1, 3):
        x = np.sort(np.log(out["proj"][t] / v2) - (t - 1) * np.log(0.8))
        ecdf_hi = np.arange(1, R + 1) / R
        ecdf_lo = np.arange(0, R) / R
        F = g.log_variance_cdf(t, 10, x, ddof=0)
        assert max(np.max(ecdf_hi - F), np.max(F - ecdf_lo)) < crit
        # perturbed: chi2 with 3 (M - 1) degrees of freedom per step (M' = 28, the law of
        # tr Sigma_t / tr Sigma0 for a white Sigma0 in d = 3) rejected
        Fw = g.log_variance_cdf(t, 28, x, ddof=0)
        assert max(np.max(ecdf_hi - Fw), np.max(Fw - ecdf_lo)) > crit
