"""Exact categorical moments under the mix and accumulate workflows.

Every closed form is held against a brute-force enumeration of the full chain (every multinomial
outcome of every generation, exact rationals: K = 2 or 3 symbols, M <= 4, t <= 3), so no expected
number comes from the code under test. The checks are exact (relative 1e-12), so a perturbed
formula (a wrong exponent, a dropped term) is rejected: tests below feed such perturbations to the
same checker and assert that it fails.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest

from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as D
from modelcollapse.theory import discrete_workflows as DW

# --------------------------------------------------------------------------------------------
# brute-force enumeration (exact rationals)
# --------------------------------------------------------------------------------------------


def _compositions(total, K):
    if K == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, K - 1):
            yield (first,) + rest


def _multinomial(total, q):
    """``{counts: probability}`` of ``Multinomial(total, q)`` (q: tuple of Fractions)."""
    out = {}
    for c in _compositions(total, len(q)):
        pr = F(math.factorial(total))
        for ci, qi in zip(c, q, strict=True):
            pr *= qi**ci / math.factorial(ci)
        if pr:
            out[c] = out.get(c, 0) + pr
    return out


def _add(u, v):
    return tuple(a + b for a, b in zip(u, v, strict=True))


def _moments(states, p0):
    """``(E[1 - sum p^2], E||p - p0||^2)`` over ``{(key, p): prob}``."""
    H = sum(pr * (1 - sum(x * x for x in p)) for (_, p), pr in states.items())
    Dd = sum(pr * sum((x - y) ** 2 for x, y in zip(p, p0, strict=True))
             for (_, p), pr in states.items())
    return H, Dd


def enumerate_mix(p0, N, s, t_max, fixed=False):
    """Exact (H_t, D_t), t = 0..t_max: each fit sees N real (fresh, or one fixed set) plus s
    synthetic samples from the current model."""
    T = N + s
    K = len(p0)
    zero = (0,) * K
    if fixed:
        states = {(X, p0): pr for X, pr in _multinomial(N, p0).items()}
    else:
        states = {(zero, p0): F(1)}
    out = [_moments(states, p0)]
    for _ in range(t_max):
        new = {}
        for (X, p), pr in states.items():
            reals = {X: F(1)} if fixed else _multinomial(N, p0)
            for x, px in reals.items():
                for y, py in _multinomial(s, p).items():
                    q = tuple(F(c, T) for c in _add(x, y))
                    key = (X if fixed else zero, q)
                    new[key] = new.get(key, 0) + pr * px * py
        states = new
        out.append(_moments(states, p0))
    return out


def enumerate_accumulate(p0, M, t_max):
    """Exact (H_t, D_t): pool of all batches, the first M real, then M per generation drawn
    from the current pooled frequencies."""
    K = len(p0)
    states = {((0,) * K, p0): F(1)}
    out = [_moments(states, p0)]
    for t in range(1, t_max + 1):
        new = {}
        for (pool, p), pr in states.items():
            for c, pc in _multinomial(M, p).items():
                tot = _add(pool, c)
                key = (tot, tuple(F(x, t * M) for x in tot))
                new[key] = new.get(key, 0) + pr * pc
        states = new
        out.append(_moments(states, p0))
    return out


P0S = [(F(1, 2), F(1, 2)), (F(1, 3), F(2, 3)), (F(1, 2), F(1, 3), F(1, 6)),
       (F(1, 5), F(3, 10), F(1, 2))]
T_MAX = 3


def _close(a, b):
    return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))


def _check(fn_H, fn_D, exact):
    """All generations of (H, D) from the formulas equal the enumeration."""
    ts = np.arange(len(exact))
    H, Dd = fn_H(ts), fn_D(ts)
    return all(_close(h, e[0]) and _close(d, e[1]) for h, d, e in zip(H, Dd, exact, strict=True))


# --------------------------------------------------------------------------------------------
# mix (fresh and fixed real data) against the full chain
# --------------------------------------------------------------------------------------------

MIX_CASES = [(p0, N, M) for p0 in P0S for M in (1, 2, 3, 4) for N in range(M + 1)]


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("p0, N, M", MIX_CASES)
def test_mix_equals_enumeration(p0, N, M, fixed):
    exact = enumerate_mix(p0, N, M - N, T_MAX, fixed=fixed)
    wf = W.mix(n_real=N, fixed_real=fixed)
    pf = [float(x) for x in p0]
    assert _check(lambda t: D.expected_heterozygosity(t, pf, M, workflow=wf),
                  lambda t: D.expected_sq_distance(t, pf, M, workflow=wf), exact)
    col = D.expected_collision(np.arange(T_MAX + 1), pf, M, workflow=wf)
    assert np.allclose(col, [1 - float(e[0]) for e in exact], rtol=1e-12, atol=1e-15)


def test_real_fraction_uses_real_count():
    """real_fraction f means round(f M) real samples per fit (spec's rule)."""
    p0 = (F(1, 2), F(1, 3), F(1, 6))
    wf = W.mix(real_fraction=0.5)  # M = 3 -> round(1.5) = 2 (half to even), M = 2 -> 1
    pf = [float(x) for x in p0]
    for M in (2, 3):
        N = wf.real_count(M)
        exact = enumerate_mix(p0, N, M - N, T_MAX)
        assert _check(lambda t, M=M: D.expected_heterozygosity(t, pf, M, workflow=wf),
                      lambda t, M=M: D.expected_sq_distance(t, pf, M, workflow=wf), exact)
    # array M: each entry its own real count
    got = D.expected_sq_distance(2, pf, [2, 3], workflow=wf)
    want = [float(enumerate_mix(p0, wf.real_count(M), M - wf.real_count(M), 2)[2][1])
            for M in (2, 3)]
    assert np.allclose(got, want, rtol=1e-12)


def test_mixed_wrappers_equal_workflow_route():
    p0 = [0.5, 0.3, 0.2]
    n = np.array([0, 1, 5, 40, 10**6])
    for N, s in [(0, 7), (3, 0), (10, 90), (1, 1), (250, 3)]:
        wf = W.mix(n_real=N)
        a = D.mixed_expected_sq_distance(n, p0, N, s)
        b = D.expected_sq_distance(n, p0, N + s, workflow=wf)
        assert np.array_equal(a, b)
        assert D.mixed_sq_distance_limit(p0, N, s) == DW.sq_distance_limit(p0, N + s, workflow=wf)
    # and the old keyword spelling still works
    with pytest.warns(DeprecationWarning):
        D.mixed_expected_sq_distance(1, p_star=p0, N=1, n_synth=2)


def test_mix_limits():
    p0 = [0.5, 0.3, 0.2]
    H = 0.62
    for N, M in [(1, 5), (10, 100), (4, 4), (0, 9)]:
        for fixed in (False, True):
            wf = W.mix(n_real=N, fixed_real=fixed)
            lim = DW.sq_distance_limit(p0, M, workflow=wf)
            assert np.isclose(D.expected_sq_distance(10**7, p0, M, workflow=wf), lim, rtol=1e-12)
            assert np.isclose(DW.heterozygosity_limit(p0, M, workflow=wf), H - lim, rtol=1e-12)
        s = M - N
        if N:  # independent spelling of the two limits (fresh; fixed)
            assert np.isclose(DW.sq_distance_limit(p0, M, workflow=W.mix(n_real=N)),
                              H * M / (N * (M + s) + s), rtol=1e-13)
            assert np.isclose(DW.sq_distance_limit(p0, M, workflow=W.mix(n_real=N,
                                                                         fixed_real=True)),
                              H * (N + 3 * s) / (N * (M + s) + s), rtol=1e-13)


# --------------------------------------------------------------------------------------------
# accumulate against the full chain
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("M", [1, 2, 3, 4])
@pytest.mark.parametrize("p0", P0S)
def test_accumulate_equals_enumeration(p0, M):
    exact = enumerate_accumulate(p0, M, T_MAX)
    pf = [float(x) for x in p0]
    wf = W.accumulate()
    assert _check(lambda t: D.expected_heterozygosity(t, pf, M, workflow=wf),
                  lambda t: D.expected_sq_distance(t, pf, M, workflow=wf), exact)
    # the product itself, in exact rationals
    prod = [math.prod((1 - F(1, M * j * j) for j in range(1, t + 1)), start=F(1))
            for t in range(T_MAX + 1)]
    assert np.allclose(DW.accumulate_factor(np.arange(T_MAX + 1), M), [float(x) for x in prod],
                       rtol=1e-14, atol=0)


def test_accumulate_factor_large_n_and_M():
    """Head + zeta-tail evaluation against a direct log1p sum (n <= 2e5) and the sine limit."""
    for M in (1, 2, 7, 1000, 10**9):
        js = np.arange(1, 200001, dtype=np.float64)
        with np.errstate(divide="ignore"):
            direct = np.cumsum(np.log1p(-1.0 / (M * js * js)))
        ns = np.array([1, 63, 64, 65, 100, 1000, 200000])
        got = DW.accumulate_factor(ns, M)
        want = np.exp(direct[ns - 1])
        assert np.allclose(got, want, rtol=1e-12, atol=0), M
        lim = DW.accumulate_factor_limit(M)
        # tail of the product beyond n: 1 - 1/(M n) to first order
        assert abs(DW.accumulate_factor(10**15, M) - lim) <= 1e-12 * max(lim, 1e-300) + 1e-300
    assert DW.accumulate_factor_limit(1) == 0.0
    assert np.isclose(DW.accumulate_factor_limit(4), 2 / np.pi, rtol=1e-15)
    assert np.isfinite(DW.accumulate_factor(1e300, 10**9))
    big = D.expected_sq_distance(10**6, [0.5, 0.5], 10**9, workflow="accumulate")
    assert np.isclose(big, 0.5 * (np.pi**2 / 6 - 1e-6) / 1e9, rtol=1e-6)  # ~ H* sum 1/(M j^2)


# --------------------------------------------------------------------------------------------
# perturbed formulas are rejected by the same checker
# --------------------------------------------------------------------------------------------


def test_perturbed_accumulate_formulas_rejected():
    p0 = (F(1, 2), F(1, 3), F(1, 6))
    pf = [float(x) for x in p0]
    M = 2
    exact = enumerate_accumulate(p0, M, T_MAX)
    H = 1 - sum(x * x for x in pf)

    def prod(t, f):
        return np.array([np.prod([f(j) for j in range(1, k + 1)]) for k in np.atleast_1d(t)])

    wrong = [lambda j: 1 - 1 / (M * j),            # 1/j instead of 1/j^2
             lambda j: 1 - 1 / M,                   # the replace factor
             lambda j: 1 - 1 / (M * (j + 1) ** 2)]  # generation shifted by one
    for f in wrong:
        assert not _check(lambda t, f=f: H * prod(t, f), lambda t, f=f: H * (1 - prod(t, f)),
                          exact)
    assert _check(lambda t: H * prod(t, lambda j: 1 - 1 / (M * j * j)),
                  lambda t: H * (1 - prod(t, lambda j: 1 - 1 / (M * j * j))), exact)


def test_perturbed_mix_formulas_rejected():
    p0 = (F(1, 2), F(1, 3), F(1, 6))
    pf = [float(x) for x in p0]
    N, s = 1, 2
    H = 1 - sum(x * x for x in pf)
    T = N + s
    a, rho = s / T, s * (s - 1) / T**2
    fresh = enumerate_mix(p0, N, s, T_MAX)
    fixed = enumerate_mix(p0, N, s, T_MAX, fixed=True)

    def d_fresh(t, rr=rho):
        return H / T * (1 - rr**t) / (1 - rho)

    def d_fixed(t, c=3.0):
        lim = H * (N + c * s) / (N * (T + s) + s)
        return lim * (1 - rho**t) - 2 * H / (N + 1) * (a**t - rho**t)

    assert _check(lambda t: H - d_fresh(t), d_fresh, fresh)
    assert not _check(lambda t: H - d_fresh(t, a**2), lambda t: d_fresh(t, a**2), fresh)
    assert _check(lambda t: H - d_fixed(t), d_fixed, fixed)
    assert not _check(lambda t: H - d_fixed(t, 1.0), lambda t: d_fixed(t, 1.0), fixed)
    # fresh and fixed real data differ from generation 2 on (the check sees the difference)
    assert not _check(lambda t: H - d_fresh(t), d_fresh, fixed)


# --------------------------------------------------------------------------------------------
# validation and refusals
# --------------------------------------------------------------------------------------------


def test_other_workflows_and_biases_refused():
    p0 = [0.5, 0.5]
    biased = W.mix(n_real=1, bias=W.SamplingBias(temperature=0.5))
    for wf in ("accumulate_subsample", "weighted", W.weighted(0.5), biased,
               W.accumulate(bias=W.SamplingBias(top_k=1))):
        if wf != "accumulate_subsample":  # its moments: test_theory_discrete_subsample
            for fn in (D.expected_heterozygosity, D.expected_collision, D.expected_sq_distance):
                with pytest.raises(ValueError, match="not available"):
                    fn(2, p0, 10, workflow=wf)
        with pytest.raises(ValueError, match="not available"):
            DW.sq_distance_limit(p0, 10, workflow=wf)
    # (extinction and survivors take mix and accumulate, the count's law mix:
    # test_theory_discrete_workflow_chains)
    with pytest.raises(ValueError, match="workflow 'accumulate' is not available"):
        D.count_distribution(2, 0.3, 10, workflow="accumulate")
    for fn, args in [(D.smoothed_expected_heterozygosity, (2, p0, 10, 1.0))]:
        for wf in ("mix", "accumulate"):
            with pytest.raises(ValueError, match=f"workflow '{wf}' is not available"):
                fn(*args, workflow=wf)


def test_validation():
    p0 = [0.5, 0.5]
    with pytest.raises(ValueError, match="n_real must be <= M"):
        D.expected_sq_distance(2, p0, 3, workflow=W.mix(n_real=5))
    with pytest.raises(ValueError, match="^M "):
        D.expected_heterozygosity(2, p0, 0, workflow="accumulate")
    with pytest.raises(ValueError, match="^n "):
        D.expected_sq_distance(-1, p0, 3, workflow="accumulate")
    with pytest.raises(ValueError, match="^p0 "):
        DW.heterozygosity_limit([0.5, 0.6], 3, workflow="accumulate")
    with pytest.raises(ValueError, match="^workflow "):
        DW.sq_distance_limit(p0, 3, workflow="shuffle")
    with pytest.raises(ValueError, match="n and M do not broadcast"):
        DW.accumulate_factor([1, 2], [3, 4, 5])
    for junk in (True, "3", None, np.nan):
        with pytest.raises(ValueError, match="^M"):
            DW.accumulate_factor_limit(junk)


def test_broadcast_and_scalars():
    p0 = np.array([[0.5, 0.5], [0.2, 0.8]])
    out = D.expected_heterozygosity([[1], [2], [3]], p0, 4, workflow="accumulate")
    assert out.shape == (3, 2)
    x = D.expected_sq_distance(2, [0.5, 0.5], 4, workflow="mix")
    assert isinstance(x, np.float64)
    assert isinstance(DW.accumulate_factor(2, 3), np.float64)
    # extreme sizes stay finite
    for wf in (W.mix(real_fraction=0.1), W.mix(real_fraction=0.1, fixed_real=True),
               W.accumulate()):
        v = D.expected_sq_distance([1, 10**6, 1e300], [0.5, 0.3, 0.2], 10**9, workflow=wf)
        assert np.all(np.isfinite(v)) and np.all(v >= 0) and np.all(v <= 0.62)


def test_replace_route_unchanged():
    p0 = [0.5, 0.3, 0.2]
    n = np.array([0, 1, 10])
    assert np.array_equal(D.expected_sq_distance(n, p0, 10, workflow="replace"),
                          D.expected_sq_distance(n, p0, 10))
    assert np.allclose(D.expected_heterozygosity(n, p0, 10, workflow=W.mix(n_real=0)),
                       D.expected_heterozygosity(n, p0, 10), rtol=1e-14, atol=0)
    assert np.isclose(DW.sq_distance_limit(p0, 10, workflow=None), 0.62, rtol=1e-15)
    assert DW.heterozygosity_limit(p0, 10, workflow="replace") == 0.0


def test_enumerator_matches_replace():
    """The enumerator itself: N = 0 is the replace chain, whose moments are the textbook ones."""
    p0 = (F(1, 2), F(1, 3), F(1, 6))
    H0 = 1 - sum(x * x for x in p0)
    for M in (1, 2, 3):
        ex = enumerate_mix(p0, 0, M, T_MAX)
        for t, (h, _) in enumerate(ex):
            assert h == H0 * (1 - F(1, M)) ** t
    assert list(itertools.islice(_compositions(2, 2), 3)) == [(0, 2), (1, 1), (2, 0)]


# --------------------------------------------------------------------------------------------
# symbolic derivation (theory.symbolic.discrete_workflows)
# --------------------------------------------------------------------------------------------


def test_symbolic_closed_forms_equal_enumeration_exactly():
    """The sympy closed forms, evaluated in exact rationals, equal the full-chain enumeration."""
    import sympy as sp

    from modelcollapse.theory.symbolic import discrete_workflows as SW
    from modelcollapse.theory.symbolic.discrete import Hstar, M, N, m, n

    sol = SW.solutions()
    p0 = (F(1, 2), F(1, 3), F(1, 6))
    H = 1 - sum(x * x for x in p0)
    for Mv in (1, 2, 3):
        exact = enumerate_accumulate(p0, Mv, T_MAX)
        for t, (h, d) in enumerate(exact):
            vals = {n: t, M: Mv, Hstar: sp.Rational(H.numerator, H.denominator)}
            assert sp.nsimplify(sp.simplify(sol["accumulate_heterozygosity"].subs(vals))) == \
                sp.Rational(h.numerator, h.denominator)
            assert sp.simplify(sol["accumulate_sq_distance"].subs(vals)) == \
                sp.Rational(d.numerator, d.denominator)
    for Nv, sv in [(1, 1), (1, 2), (2, 1), (1, 3)]:
        exact = enumerate_mix(p0, Nv, sv, T_MAX, fixed=True)
        for t, (_, d) in enumerate(exact):
            vals = {n: t, N: Nv, m: sv, Hstar: sp.Rational(H.numerator, H.denominator)}
            assert sp.simplify(sol["fixed_mix_sq_distance"].subs(vals)) == \
                sp.Rational(d.numerator, d.denominator)


def test_symbolic_equals_numeric():
    from modelcollapse.theory.symbolic import discrete_workflows as SW

    rng = np.random.default_rng(7)
    for _ in range(20):
        K = int(rng.integers(2, 6))
        p0 = rng.dirichlet(np.ones(K))
        H = 1 - np.sum(p0**2)
        Mv = int(rng.integers(1, 60))
        Nv = int(rng.integers(1, Mv + 1))
        ns = np.arange(0, 30)
        wf_acc, wf_fix = W.accumulate(), W.mix(n_real=Nv, fixed_real=True)
        assert np.allclose(SW.lambdified("accumulate_heterozygosity")(ns, H, Mv),
                           D.expected_heterozygosity(ns, p0, Mv, workflow=wf_acc), rtol=1e-11)
        assert np.allclose(SW.lambdified("fixed_mix_sq_distance")(ns, H, Nv, Mv - Nv),
                           D.expected_sq_distance(ns, p0, Mv, workflow=wf_fix), rtol=1e-10,
                           atol=1e-15)
        assert np.isclose(SW.lambdified("fixed_mix_sq_distance_limit")(H, Nv, Mv - Nv),
                          DW.sq_distance_limit(p0, Mv, workflow=wf_fix), rtol=1e-12)
        assert np.isclose(SW.lambdified("accumulate_factor_limit")(Mv),
                          DW.accumulate_factor_limit(Mv), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="^name"):
        SW.lambdified("nope")
    with pytest.raises(ValueError, match="^M"):
        SW.lambdified("accumulate_factor_limit")(0)
