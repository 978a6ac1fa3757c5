"""Exact categorical chains under the workflows and the sampling biases
(theory.discrete_workflow_chains, and the mix/accumulate routes of theory.discrete and
theory.discrete_drift).

Three independent witnesses are held against each other:

1. a brute-force enumeration written here (every multinomial outcome of every generation, from
   ``math.comb`` and exact rationals where no temperature is involved, with its own plain-Python
   sampling bias: sort by (-probability, index), cumulative mass compared exactly);
2. the full multinomial chain (:func:`chain_expectation`);
3. the single-symbol (lumped) chains of the mix workflow, and the closed forms of
   theory.discrete / theory.discrete_workflows (heterozygosity, squared distance);

plus a NumPy Monte Carlo (fixed seeds, z-bounds from the standard error) for sizes beyond the
enumeration, and the categorical simulator's sampling biases (temperature, top-k, top-p, fixed
real set) against the full chain. Perturbed versions (temperature q^T for q^(1/T), nucleus
mass > p for >= p, ties by the higher index, the replace chain for mix, a lost real set) are
rejected by the same checks.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as D
from modelcollapse.theory import discrete_drift as DD
from modelcollapse.theory import discrete_workflow_chains as C

# --------------------------------------------------------------------------------------------
# brute force (independent of the module: its own compositions, pmfs and bias)
# --------------------------------------------------------------------------------------------


def _comps(total, K):
    if K == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _comps(total - first, K - 1):
            yield (first,) + rest


def _mult(total, q):
    """``{counts: probability}`` of Multinomial(total, q) (Fractions or floats)."""
    out = {}
    for c in _comps(total, len(q)):
        coef = math.factorial(total)
        for ci in c:
            coef //= math.factorial(ci)
        pr = coef
        for ci, qi in zip(c, q, strict=True):
            pr = pr * qi**ci
        if pr != 0:
            out[c] = pr
    return out


def _bias_ref(q, temperature=1.0, top_k=0, top_p=1, *, inverse=False, strict=False,
              high_first=False):
    """Plain-Python sampling bias: temperature, then top-k, then top-p, renormalised.
    The perturbations: ``inverse`` uses q^T, ``strict`` a nucleus of mass > p, ``high_first``
    breaks ties by the higher index."""
    K = len(q)
    if temperature != 1.0:
        e = temperature if inverse else 1.0 / temperature
        w = [float(x) ** e if x > 0 else 0.0 for x in q]
        tot = sum(w)
        q = [x / tot for x in w]
    sign = -1 if high_first else 1
    order = sorted(range(K), key=lambda i: (-q[i], sign * i))
    keep = [i for i in order if q[i] > 0]
    if 0 < top_k < K:
        keep = keep[:top_k]
        tot = sum(q[i] for i in keep)
        q = [q[i] / tot if i in keep else 0 * q[i] for i in range(K)]
    if top_p < 1:
        kept, mass = [], 0
        for i in keep:
            kept.append(i)
            mass += q[i]
            if (mass > top_p) if strict else (mass >= top_p):
                break
        tot = sum(q[i] for i in kept)
        q = [q[i] / tot if i in kept else 0 * q[i] for i in range(K)]
    return tuple(q)


def _brute(n, p0, M, r, fixed, f, **bias):
    """``E f(counts_n / M)``: generation 1 is Mult(M, p0); then r real (fresh, or the real
    part of generation 1 kept) plus M - r synthetic draws from the biased model."""
    s = M - r

    def run(start, real_part):
        law = start
        for _ in range(n - 1):
            nxt = {}
            for c, pc in law.items():
                b = _bias_ref(tuple(F(ci, M) for ci in c) if isinstance(pc, F)
                              else tuple(ci / M for ci in c), **bias)
                syn = _mult(s, b)
                for y, py in syn.items():
                    for x, px in real_part.items():
                        key = tuple(a + z for a, z in zip(x, y, strict=True))
                        nxt[key] = nxt.get(key, 0) + pc * py * px
            law = nxt
        return sum(pc * f(tuple(ci / M for ci in c)) for c, pc in law.items())

    if n == 0:
        return f(tuple(float(x) for x in p0))
    if not fixed or r == 0:
        return run(_mult(M, p0), _mult(r, p0))
    total = 0
    for x, px in _mult(r, p0).items():
        first = {tuple(a + z for a, z in zip(x, y, strict=True)): py
                 for y, py in _mult(s, p0).items()}
        total += px * run(first, {x: 1})
    return total


def _het(f):
    return 1.0 - sum(x * x for x in f)


def _surv(f):
    return float(sum(x > 0 for x in f))


def _tv(p0):
    return lambda f: 0.5 * sum(abs(x - float(q)) for x, q in zip(f, p0, strict=True))


def _workflow(r, fixed, **bias):
    b = W.SamplingBias(**bias)
    return W.replace(bias=b) if r == 0 else W.mix(n_real=r, fixed_real=fixed, bias=b)


# --------------------------------------------------------------------------------------------
# the full chain against the brute force (exact)
# --------------------------------------------------------------------------------------------

P3 = (F(1, 2), F(1, 4), F(1, 4))
P3b = (F(3, 5), F(3, 10), F(1, 10))

CASES = [
    # (p0, M, r, fixed, bias)
    (P3b, 4, 0, False, {}),
    (P3b, 4, 1, False, {}),
    (P3b, 4, 2, True, {}),
    (P3b, 4, 0, False, {"top_k": 2}),
    (P3, 4, 1, False, {"top_p": F(1, 2)}),
    (P3, 4, 0, False, {"top_p": F(1, 2)}),
    (P3, 4, 1, True, {"top_p": F(3, 4)}),
    (P3b, 3, 1, False, {"temperature": 0.5}),
    (P3b, 4, 0, False, {"temperature": 2.0, "top_k": 2}),
    (P3b, 4, 1, False, {"temperature": 0.7, "top_p": 0.8}),
]


@pytest.mark.parametrize("p0, M, r, fixed, bias", CASES)
def test_full_chain_equals_brute_force(p0, M, r, fixed, bias):
    wf = _workflow(r, fixed, **{k: float(v) for k, v in bias.items()})
    ns = [0, 1, 2, 3]
    pf = [float(x) for x in p0]
    for name, f in (("heterozygosity", _het), ("survivors", _surv), ("tv", _tv(p0))):
        got = C.chain_expectation(ns, pf, M, workflow=wf, observable=name)
        want = [float(_brute(n, p0, M, r, fixed, f, **bias)) for n in ns]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14, err_msg=name)


def _differs(p0, M, r, fixed, bias, perturbed, observable="heterozygosity", n=3):
    """The largest gap between chain_expectation and a perturbed brute force."""
    wf = _workflow(r, fixed, **{k: float(v) for k, v in bias.items()})
    f = {"heterozygosity": _het, "survivors": _surv, "tv": _tv(p0)}[observable]
    got = C.chain_expectation(range(n + 1), [float(x) for x in p0], M, workflow=wf,
                              observable=observable)
    want = [float(_brute(t, p0, M, r, fixed, f, **bias, **perturbed)) for t in range(n + 1)]
    return float(np.max(np.abs(np.asarray(got) - want)))


def test_inverted_temperature_is_rejected():
    # q^T in place of q^(1/T): far outside the 1e-14 agreement of the exact checks
    assert _differs(P3b, 4, 0, False, {"temperature": 0.5}, {"inverse": True}) > 1e-3
    assert _differs(P3b, 3, 1, False, {"temperature": 0.5}, {"inverse": True}) > 1e-3


def test_nucleus_mass_strictly_above_p_is_rejected():
    # p0 = (1/2, 1/4, 1/4), state (2, 1, 1): the top symbol alone has mass exactly 1/2 = p,
    # so the nucleus is {0} (mass >= p), not {0, 1} (mass > p)
    assert _differs(P3, 4, 0, False, {"top_p": F(1, 2)}, {"strict": True}) > 1e-3
    assert _differs(P3, 4, 1, False, {"top_p": F(1, 2)}, {"strict": True}) > 1e-3


def test_ties_are_broken_by_the_lower_index():
    # top_k = 2 in the state (1, 1, 2): the tie between symbols 0 and 1 decides which one is
    # kept; p0 is asymmetric in them, so the TV distance to p0 tells the rules apart
    p0 = (F(3, 10), F(1, 5), F(1, 2))
    assert _differs(p0, 4, 0, False, {"top_k": 2}, {"high_first": True}, observable="tv") > 1e-3
    got = C.chain_expectation([0, 1, 2, 3], [0.3, 0.2, 0.5], 4,
                              workflow=_workflow(0, False, top_k=2), observable="tv")
    want = [_brute(n, p0, 4, 0, False, _tv(p0), top_k=2) for n in range(4)]
    np.testing.assert_allclose(got, [float(w) for w in want], atol=1e-14)


def test_low_temperature_and_nucleus_accelerate_tail_loss():
    # THEORY.md section 3: sampling at T < 1 accelerates the loss of the tail (and T > 1 slows
    # it); a nucleus below 1 as well; the first generation is unbiased (real data)
    p0 = [0.55, 0.25, 0.12, 0.08]

    def surv(bias, real=0):
        wf = _workflow(real, False, **bias)
        return C.chain_expectation([1, 2, 5, 20], p0, 12, workflow=wf, observable="survivors")

    cold, plain, warm = surv({"temperature": 0.5}), surv({}), surv({"temperature": 1.5})
    assert cold[0] == plain[0] == warm[0]
    assert np.all(cold[1:] < plain[1:] - 0.1) and np.all(warm[1:] > plain[1:] + 0.1)
    nucleus, full = surv({"top_p": 0.8}, real=1), surv({}, real=1)
    assert nucleus[0] == full[0] and np.all(nucleus[1:] < full[1:] - 0.1)


def test_bias_distribution_rules():
    b = C.bias_distribution
    assert b([0.5, 0.25, 0.25], W.SamplingBias(top_p=0.5)).tolist() == [1.0, 0.0, 0.0]
    assert b([0.25, 0.5, 0.25], W.SamplingBias(top_k=2)).tolist() == [1 / 3, 2 / 3, 0.0]
    np.testing.assert_allclose(b([0.8, 0.2], W.SamplingBias(temperature=0.5)),
                               [0.64 / 0.68, 0.04 / 0.68], rtol=1e-15)
    # tiny temperature: no overflow, all mass on the most probable symbol
    np.testing.assert_array_equal(b([0.3, 0.7], W.SamplingBias(temperature=1e-6)), [0.0, 1.0])
    # order: temperature first, then top-k, then top-p on the renormalised distribution
    q = np.array([0.4, 0.3, 0.2, 0.1])
    t = q**2 / np.sum(q**2)
    k = np.where(np.arange(4) < 3, t, 0.0) / t[:3].sum()
    want = np.where(np.arange(4) < 2, k, 0.0) / k[:2].sum()  # k[0] < 0.7 <= k[0] + k[1]
    np.testing.assert_allclose(b(q, W.SamplingBias(temperature=0.5, top_k=3, top_p=0.7)), want,
                               rtol=1e-14)
    with pytest.raises(ValueError, match="not categorical"):
        b(q, W.SamplingBias(variance_scale=2.0))


# --------------------------------------------------------------------------------------------
# engines against each other
# --------------------------------------------------------------------------------------------

MIXES = [W.mix(n_real=2), W.mix(n_real=3, fixed_real=True), W.mix(real_fraction=0.5),
         W.mix(n_real=12), W.mix(n_real=12, fixed_real=True)]


@pytest.mark.parametrize("wf", MIXES, ids=repr)
def test_full_chain_equals_closed_forms(wf):
    p0 = [0.5, 0.3, 0.15, 0.05]
    ns = np.array([0, 1, 2, 5, 40])
    for obs, fn in (("heterozygosity", D.expected_heterozygosity),
                    ("sq_distance", D.expected_sq_distance)):
        got = C.chain_expectation(ns, p0, 12, workflow=wf, observable=obs)
        np.testing.assert_allclose(got, fn(ns, p0, 12, workflow=wf), rtol=0, atol=1e-12)
    got = C.chain_expectation(ns, p0, 12, observable="heterozygosity")
    np.testing.assert_allclose(got, D.expected_heterozygosity(ns, p0, 12), atol=1e-12)


@pytest.mark.parametrize("wf", MIXES, ids=repr)
def test_single_symbol_chain_equals_full_chain(wf):
    p0 = np.array([0.5, 0.3, 0.15, 0.05])
    x = np.array([0.0, 1.0, 2.5, 7.0])
    M = 12
    ns = np.array([0, 1, 2, 3, 10, 60, 400])
    full = {o: C.chain_expectation(ns, p0, M, workflow=wf, observable=o, support=x)
            for o in ("survivors", "tv", "w1")}
    np.testing.assert_allclose(D.expected_survivors(ns, p0, M, workflow=wf), full["survivors"],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(DD.expected_total_variation(ns, p0, M, workflow=wf), full["tv"],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(DD.expected_w1(ns, p0, M, x, workflow=wf), full["w1"], rtol=0,
                               atol=1e-12)
    pmf = C.mix_count_distribution(ns[1:], p0, M, workflow=wf)
    np.testing.assert_allclose(np.sum(1.0 - pmf[..., 0], axis=-1), full["survivors"][1:],
                               atol=1e-12)
    np.testing.assert_allclose(pmf.sum(axis=-1), 1.0, atol=1e-13)


def test_single_symbol_chain_equals_brute_force():
    # one symbol of probability 3/10 among two (K = 2): P(count_n = 0), exact rationals
    p0 = (F(3, 10), F(7, 10))
    for r, fixed in ((1, False), (2, False), (2, True), (5, False), (5, True)):
        wf = W.mix(n_real=r, fixed_real=fixed)
        for n in (1, 2, 3):
            want = float(_brute(n, p0, 5, r, fixed, lambda f: float(f[0] == 0)))
            got = D.extinction_probability(n, 0.3, 5, workflow=wf)
            assert abs(float(got) - want) < 1e-15, (r, fixed, n, got, want)
            pmf = C.mix_count_distribution(n, [0.3, 0.7], 5, workflow=wf)[0]
            for j in range(6):
                w = float(_brute(n, p0, 5, r, fixed, lambda f, j=j: float(round(f[0] * 5) == j)))
                assert abs(pmf[j] - w) < 1e-15


def test_count_distribution_route():
    wf = W.mix(n_real=3, fixed_real=True)
    got = D.count_distribution([1, 4], 0.3, 10, workflow=wf)
    np.testing.assert_array_equal(got, C.mix_count_distribution([1, 4], [0.3, 0.7], 10,
                                                                workflow=wf)[:, 0])
    p0 = (F(3, 10), F(7, 10))
    for n in (1, 2, 3):
        want = [float(_brute(n, p0, 10, 3, True, lambda f, j=j: float(round(f[0] * 10) == j)))
                for j in range(11)]
        np.testing.assert_allclose(got[0] if n == 1 else
                                   D.count_distribution(n, 0.3, 10, workflow=wf), want,
                                   atol=1e-15)


def test_mix_without_real_data_is_the_replace_chain():
    wf = W.mix(n_real=0)
    np.testing.assert_allclose(C.mix_count_distribution([1, 4], [0.3, 0.7], 10, workflow=wf)[:, 0],
                               D.count_distribution([1, 4], 0.3, 10), atol=1e-15)
    np.testing.assert_allclose(D.extinction_probability([1, 5, 50], 0.05, 100, workflow=wf),
                               D.extinction_probability([1, 5, 50], 0.05, 100), atol=1e-15)


def test_replace_chain_is_rejected_for_mix():
    # the checks above are sharp: the replace chain's survivors miss the mix value by far
    p0 = [0.5, 0.3, 0.15, 0.05]
    full = C.chain_expectation(30, p0, 12, workflow=W.mix(n_real=2), observable="survivors")
    assert abs(float(D.expected_survivors(30, p0, 12)) - float(full)) > 0.5
    # and the fresh-data chain is not the fixed-set one
    fixed = C.chain_expectation(30, p0, 12, workflow=W.mix(n_real=3, fixed_real=True),
                                observable="tv")
    fresh = DD.expected_total_variation(30, p0, 12, workflow=W.mix(n_real=3))
    assert abs(float(fixed) - float(fresh)) > 1e-2


def test_stationary_stop_is_within_tolerance():
    # the single-symbol chain stops at t_stop (coupling bound); the full chain steps every
    # generation: equal at n = 400 >> t_stop
    wf = W.mix(n_real=6)
    assert C._stop_step(12, 6) < 80
    p0 = [0.5, 0.3, 0.2]
    np.testing.assert_allclose(D.expected_survivors([79, 400, 10**6, 1e300], p0, 12, workflow=wf),
                               C.chain_expectation([79, 400, 400, 400], p0, 12, workflow=wf,
                                                   observable="survivors"), atol=1e-13)


# --------------------------------------------------------------------------------------------
# accumulate
# --------------------------------------------------------------------------------------------


def _pool_absent_brute(t, p, M):
    """P(symbol absent from the pool after t generations), enumerating the pooled counts of a
    two-symbol pool (the symbol and the rest): C_1 ~ Bin(M, p), C_j = C_{j-1} +
    Bin(M, C_{j-1}/((j-1) M))."""
    law = {c: pr for (c, _), pr in _mult(M, (p, 1 - p)).items()}
    for j in range(2, t + 1):
        nxt = {}
        for c, pc in law.items():
            q = F(c, (j - 1) * M)
            for (y, _), py in _mult(M, (q, 1 - q)).items():
                nxt[c + y] = nxt.get(c + y, 0) + pc * py
        law = nxt
    return law.get(0, 0)


def test_accumulate_absence_is_the_first_batch():
    for p, M in ((F(1, 5), 3), (F(1, 2), 2)):
        for t in (1, 2, 3, 4):
            want = float(_pool_absent_brute(t, p, M))
            assert want == float((1 - p) ** M)
            got = D.extinction_probability(t, float(p), M, workflow=W.accumulate())
            assert abs(float(got) - want) < 1e-15
    # any categorical bias: the pool never loses a point
    wf = W.accumulate(bias=W.SamplingBias(temperature=0.3, top_p=0.5))
    p0 = np.array([0.6, 0.3, 0.09, 0.01])
    np.testing.assert_allclose(D.expected_survivors([0, 1, 7, 1e300], p0, 20, workflow=wf),
                               [4.0] + [float(np.sum(1 - (1 - p0) ** 20))] * 3, rtol=1e-15)
    # M up to 1e9, p down to 1e-12: finite and accurate ((1 - p)^M = exp(M log1p(-p)))
    v = D.extinction_probability(5, 1e-12, 1e9, workflow="accumulate")
    assert abs(float(v) - math.exp(-1e-3)) < 1e-15


def _pool_brute(t, p0, M, f):
    """``E f(pooled frequencies after t generations)`` under accumulate, enumerating the pooled
    count vectors (exact rationals): the first M real, then M drawn from the pool."""
    law = _mult(M, p0)
    for j in range(2, t + 1):
        nxt = {}
        for c, pc in law.items():
            q = tuple(F(ci, (j - 1) * M) for ci in c)
            for y, py in _mult(M, q).items():
                key = tuple(a + b for a, b in zip(c, y, strict=True))
                nxt[key] = nxt.get(key, 0) + pc * py
        law = nxt
    if t == 0:
        return f(tuple(float(x) for x in p0))
    return sum(float(pc) * f(tuple(ci / (t * M) for ci in c)) for c, pc in law.items())


def _drift_functionals(p0, x):
    p = [float(v) for v in p0]
    F0 = np.cumsum(p)[:-1]
    m0 = float(np.dot(p, x))

    def cdf(f):
        return np.cumsum(f)[:-1]

    return {
        "tv": lambda f: 0.5 * sum(abs(a - b) for a, b in zip(f, p, strict=True)),
        "w1": lambda f: float(np.sum(np.diff(x) * np.abs(cdf(f) - F0))),
        "cramer": lambda f: float(np.sum(np.diff(x) * (cdf(f) - F0) ** 2)),
        "mean": lambda f: (float(np.dot(f, x)) - m0) ** 2,
        "var": lambda f: float(np.dot(f, np.asarray(x) ** 2)) - float(np.dot(f, x)) ** 2,
    }


def _drift_theory(n, p0, M, x, wf):
    p = [float(v) for v in p0]
    return {
        "tv": DD.expected_total_variation(n, p, M, workflow=wf),
        "w1": DD.expected_w1(n, p, M, x, workflow=wf),
        "cramer": DD.expected_cramer_squared(n, p, M, x, workflow=wf),
        "mean": DD.expected_mean_drift(n, p, M, x, workflow=wf),
        "var": DD.expected_support_variance(n, p, M, x, workflow=wf),
    }


@pytest.mark.parametrize("M", [2, 3])
def test_accumulate_drift_measures_equal_brute_force(M):
    p0 = (F(1, 2), F(3, 10), F(1, 5))
    x = [0.0, 1.0, 4.0]
    fns = _drift_functionals(p0, x)
    for t in (0, 1, 2, 3):
        got = _drift_theory(t, p0, M, x, W.accumulate())
        for name, f in fns.items():
            want = _pool_brute(t, p0, M, f)
            assert abs(float(got[name]) - want) < 1e-14, (name, t, got[name], want)
    # the replace formulas are not the accumulate ones
    rep = _drift_theory(3, p0, M, x, None)
    for name, f in fns.items():
        assert abs(float(rep[name]) - _pool_brute(3, p0, M, f)) > 1e-3, name


@pytest.mark.parametrize("wf", [W.mix(n_real=1), W.mix(n_real=2, fixed_real=True)], ids=repr)
def test_mix_drift_measures_equal_brute_force(wf):
    p0 = (F(1, 2), F(3, 10), F(1, 5))
    x = [0.0, 1.0, 4.0]
    r = wf.n_real
    for t in (0, 1, 2, 3):
        got = _drift_theory(t, p0, 3, x, wf)
        for name, f in _drift_functionals(p0, x).items():
            want = float(_brute(t, p0, 3, r, wf.fixed_real, f))
            assert abs(float(got[name]) - want) < 1e-14, (name, t, got[name], want)


def test_covariance_factor_follows_the_symbolic_recursions():
    # Cov(p_n) = c_n Sigma0: the recursions derived by sympy from the one-step laws, iterated
    # here from c_0 = e_0 = 0, against the factor the numeric module reads off the closed forms
    import sympy as sp

    from modelcollapse.theory.symbolic import discrete_workflow_chains as S

    rec = S.covariance_recursions()
    M, ns = 10, np.arange(0, 13)
    for wf in (W.mix(n_real=3), W.mix(n_real=0), W.mix(n_real=4, fixed_real=True),
               W.accumulate()):
        r = wf.real_count(M)
        cs, c, e = [0.0], 0.0, 0.0
        for step in range(1, ns[-1] + 1):
            if wf.name == "accumulate":
                c = float(rec["accumulate"].subs({S.c: c, S.M: M, S.t: step}))
            elif wf.fixed_real:
                cn, en = rec["fixed_mix"]
                vals = {S.c: c, S.e: e, S.r: r, S.s: M - r}
                c, e = float(cn.subs(vals)), float(en.subs(vals))
            else:
                c = float(rec["mix"].subs({S.c: c, S.r: r, S.s: M - r}))
            cs.append(c)
        got = C._covariance_factor(ns.astype(float), np.full(ns.size, float(M)), wf)
        np.testing.assert_allclose(got, cs, rtol=1e-13, atol=1e-16, err_msg=repr(wf))
        assert abs(cs[1] - 1 / M) < 1e-15  # generation 1: M real samples
    # the replace recursion is not the mix one
    wrong = float(rec["mix"].subs({S.c: 1 / M, S.r: 0, S.s: M}))
    right = float(rec["mix"].subs({S.c: 1 / M, S.r: 3, S.s: M - 3}))
    assert abs(wrong - right) > 1e-2
    assert isinstance(rec["mix"], sp.Expr)


# --------------------------------------------------------------------------------------------
# Monte Carlo (NumPy, fixed seeds) beyond the enumeration
# --------------------------------------------------------------------------------------------


def _simulate(p0, M, r, n, chains, seed, fixed=False, **bias):
    """Counts of generation n for ``chains`` independent chains (NumPy multinomials)."""
    rng = np.random.default_rng(seed)
    p0 = np.asarray(p0, dtype=np.float64)
    K = p0.size
    real = rng.multinomial(r, p0, size=chains)
    counts = real + rng.multinomial(M - r, p0, size=chains)
    for _ in range(n - 1):
        q = np.array([_bias_ref(tuple(c / M), **bias) for c in counts]) if bias else counts / M
        syn = np.array([rng.multinomial(M - r, qi) for qi in q]) if bias else \
            rng.multinomial(M - r, q)
        if not fixed:
            real = rng.multinomial(r, p0, size=chains)
        counts = real + syn
    assert counts.shape == (chains, K)
    return counts


def test_mix_survivors_and_tv_against_monte_carlo():
    # K = 30 Zipf symbols, M = 60, 10 % fresh real data, n = 25: beyond the full chain
    K, M, n = 30, 60, 25
    p0 = 1.0 / np.arange(1, K + 1)
    p0 /= p0.sum()
    wf = W.mix(real_fraction=0.1)
    counts = _simulate(p0, M, 6, n, chains=4000, seed=20261202)
    surv = np.sum(counts > 0, axis=1)
    tv = 0.5 * np.sum(np.abs(counts / M - p0), axis=1)
    z = 4.0  # two checks here, each at z = 4 (two-sided 6e-5 each)
    for sample, theory in ((surv, D.expected_survivors(n, p0, M, workflow=wf)),
                           (tv, DD.expected_total_variation(n, p0, M, workflow=wf))):
        se = sample.std(ddof=1) / math.sqrt(sample.size)
        assert abs(sample.mean() - float(theory)) < z * se, (sample.mean(), theory, se)
    # the replace chain's survivors are rejected by the same check
    se = surv.std(ddof=1) / math.sqrt(surv.size)
    assert abs(surv.mean() - float(D.expected_survivors(n, p0, M))) > z * se


def test_accumulate_tv_against_monte_carlo():
    # K = 5, M = 20, n = 15: the pooled chain, beyond the enumeration
    p0 = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    M, n, chains = 20, 15, 4000
    rng = np.random.default_rng(11)
    pool = rng.multinomial(M, p0, size=chains)
    for t in range(2, n + 1):
        pool = pool + rng.multinomial(M, pool / ((t - 1) * M))
    f = pool / (n * M)
    tv = 0.5 * np.sum(np.abs(f - p0), axis=1)
    z = 4.0  # one check at z = 4
    se = tv.std(ddof=1) / math.sqrt(chains)
    theory = float(DD.expected_total_variation(n, p0, M, workflow="accumulate"))
    assert abs(tv.mean() - theory) < z * se, (tv.mean(), theory, se)
    assert abs(tv.mean() - float(DD.expected_total_variation(n, p0, M))) > z * se


def test_biased_chain_against_monte_carlo():
    # K = 4, M = 12 (455 states), 25 % real data, nucleus 0.8 at temperature 0.8
    p0 = [0.4, 0.3, 0.2, 0.1]
    bias = {"temperature": 0.8, "top_p": 0.8}
    wf = W.mix(n_real=3, bias=W.SamplingBias(**bias))
    n = 6
    counts = _simulate(p0, 12, 3, n, chains=3000, seed=7, **bias)
    het = 1.0 - np.sum((counts / 12) ** 2, axis=1)
    surv = np.sum(counts > 0, axis=1).astype(float)
    z = 4.0
    for sample, obs in ((het, "heterozygosity"), (surv, "survivors")):
        theory = float(C.chain_expectation(n, p0, 12, workflow=wf, observable=obs))
        se = sample.std(ddof=1) / math.sqrt(sample.size)
        assert abs(sample.mean() - theory) < z * se, (obs, sample.mean(), theory, se)
        # the inverted temperature (q^T) is rejected at the same z
        wrong = W.mix(n_real=3, bias=W.SamplingBias(temperature=1 / 0.8, top_p=0.8))
        bad = float(C.chain_expectation(n, p0, 12, workflow=wrong, observable=obs))
        assert abs(sample.mean() - bad) > z * se, (obs, bad)


def _against_simulator(wf, wrong, seed):
    """The categorical simulator (sufficient path) against the full chain at generation 6:
    heterozygosity and survivors, z = 4 each (two checks); the chain of the perturbed
    workflow ``wrong`` is rejected at the same z."""
    jax = pytest.importorskip("jax")
    from modelcollapse.sims import discrete as S

    p0 = np.array([0.4, 0.3, 0.2, 0.1])
    run = S.simulate(jax.random.key(seed), p0=p0, M=12, generations=6, chains=20000,
                     workflow=wf, record=[6])
    z = 4.0
    for name, x in (("heterozygosity", np.asarray(run.heterozygosity, np.float64)[-1]),
                    ("survivors", np.asarray(run.survivors, np.float64)[-1])):
        se = x.std(ddof=1) / math.sqrt(x.size)
        theory = float(C.chain_expectation(6, p0, 12, workflow=wf, observable=name))
        assert abs(x.mean() - theory) < z * se, (name, x.mean(), theory, se)
        bad = float(C.chain_expectation(6, p0, 12, workflow=wrong, observable=name))
        assert abs(x.mean() - bad) > z * se, (name, x.mean(), bad, se)


def test_simulator_nucleus_at_low_temperature_against_full_chain():
    # measured z: +0.18 (heterozygosity), +0.32 (survivors); q^T for q^(1/T) rejected
    bias = W.SamplingBias(temperature=0.8, top_p=0.8)
    wrong = W.SamplingBias(temperature=1 / 0.8, top_p=0.8)
    _against_simulator(W.mix(n_real=3, bias=bias), W.mix(n_real=3, bias=wrong), seed=5)


@pytest.mark.slow
def test_simulator_top_k_and_fixed_real_nucleus_against_full_chain():
    # measured z: +0.26, -0.53 (top-k at T = 1.3); -0.44, +0.06 (fixed real set, nucleus 0.7)
    _against_simulator(W.replace(bias=W.SamplingBias(temperature=1.3, top_k=3)),
                       W.replace(bias=W.SamplingBias(temperature=1 / 1.3, top_k=3)), seed=5)
    _against_simulator(W.mix(n_real=3, fixed_real=True, bias=W.SamplingBias(top_p=0.7)),
                       W.mix(n_real=3, bias=W.SamplingBias(top_p=0.7)), seed=5)


# --------------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------------


def test_refusals_name_the_argument_and_the_cost():
    with pytest.raises(ValueError, match="states C\\(M \\+ K - 1, K - 1\\)"):
        C.chain_expectation(3, np.full(10, 0.1), 20)
    with pytest.raises(ValueError, match="observable must be one of"):
        C.chain_expectation(3, [0.5, 0.5], 4, observable="entropy")
    with pytest.raises(ValueError, match="accumulate"):
        C.chain_expectation(3, [0.5, 0.5], 4, workflow="accumulate")
    with pytest.raises(ValueError, match="would take about"):
        C.chain_expectation(10**6, np.full(4, 0.25), 15, workflow=W.mix(n_real=1))
    with pytest.raises(ValueError, match="sampling bias \\['temperature'\\]"):
        D.extinction_probability(3, 0.1, 10,
                                 workflow=W.mix(n_real=1, bias=W.SamplingBias(temperature=0.5)))
    with pytest.raises(ValueError, match="method must be"):
        D.extinction_probability(3, 0.1, 10, method="kimura", workflow=W.mix(n_real=1))
    with pytest.raises(ValueError, match="method must be 'exact'"):
        DD.expected_w1(3, [0.5, 0.5], 10, method="normal", workflow=W.mix(n_real=1))
    with pytest.raises(ValueError, match="M must be <= 20000"):
        D.expected_survivors(3, [0.5, 0.5], 10**9, workflow="mix")
    with pytest.raises(ValueError, match="would take about"):
        D.expected_survivors(10**4, np.full(2000, 1 / 2000), 20000, workflow=W.mix(n_real=1))
    for wf in ("accumulate_subsample", "weighted"):
        with pytest.raises(ValueError, match=wf):
            D.expected_survivors(3, [0.5, 0.5], 10, workflow=wf)
    with pytest.raises(ValueError, match="exact accumulate chain would take about"):
        DD.expected_total_variation(300, [0.5, 0.5], 1000, workflow="accumulate")
    with pytest.raises(ValueError, match="sampling bias"):
        DD.expected_mean_drift(3, [0.5, 0.5], 10,
                               workflow=W.accumulate(bias=W.SamplingBias(top_k=1)))
    with pytest.raises(ValueError, match="weighted"):
        DD.expected_w1(3, [0.5, 0.5], 10, workflow="weighted")
    with pytest.raises(ValueError, match="^n must be"):
        C.chain_expectation(True, [0.5, 0.5], 4)
    with pytest.raises(ValueError, match="^n must be"):
        C.mix_count_distribution(-1, [0.5, 0.5], 4)
    with pytest.raises(ValueError, match="^p0 must"):
        C.mix_count_distribution(1, [0.5, 0.6], 4)
    with pytest.raises(ValueError, match="^M must be a single"):
        C.mix_count_distribution(1, [0.5, 0.5], [4, 5])
    with pytest.raises(ValueError, match="M\\*p0_i an integer"):
        C.mix_count_distribution(0, [0.33, 0.67], 10)


def test_shapes_and_scalars():
    assert isinstance(D.expected_survivors(3, [0.5, 0.5], 10, workflow="mix"), np.floating)
    assert isinstance(D.extinction_probability(3, 0.5, 10, workflow="mix"), np.floating)
    assert isinstance(C.chain_expectation(3, [0.5, 0.5], 4), np.floating)
    out = D.extinction_probability([[1], [2]], [0.1, 0.2, 0.3], 10, workflow="mix")
    assert out.shape == (2, 3)
    pmf = C.mix_count_distribution([[1], [5]], [[0.5, 0.5], [0.2, 0.8]], 10)
    assert pmf.shape == (2, 2, 2, 11)
    np.testing.assert_allclose(pmf[1, 1], C.mix_count_distribution(5, [0.2, 0.8], 10))
    w1 = DD.expected_w1([1, 2], [[0.5, 0.5], [0.2, 0.8]], 10, workflow="mix")
    assert w1.shape == (2,)
