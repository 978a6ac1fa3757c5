"""The sympy-derived categorical moment recursions agree with modelcollapse.theory.discrete, and
the Wright-Fisher proof checker accepts the right formulas and rejects wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from modelcollapse.proofs import STEP_OK, proof_steps
from modelcollapse.proofs import check_wright_fisher as cwf
from modelcollapse.theory import discrete as d
from modelcollapse.theory.symbolic import discrete as sd


@st.composite
def prob_vectors(draw, min_k=2, max_k=6):
    k = draw(st.integers(min_k, max_k))
    w = draw(st.lists(st.floats(0.01, 10.0), min_size=k, max_size=k))
    p = np.array(w) / np.sum(w)
    return p / p.sum()


gens = st.integers(0, 25)
sizes = st.integers(1, 500)


def _H(p):
    return 1.0 - float(np.sum(p**2))


@given(n=gens, p0=prob_vectors(), M=sizes)
def test_collision_heterozygosity_distance(n, p0, M):
    H0 = _H(p0)
    assert sd.lambdified("heterozygosity")(n, H0, M) == pytest.approx(
        float(d.expected_heterozygosity(n, p0, M)), rel=1e-12, abs=1e-15
    )
    assert sd.lambdified("collision")(n, 1 - H0, M) == pytest.approx(
        float(d.expected_collision(n, p0, M)), rel=1e-12, abs=1e-15
    )
    assert sd.lambdified("sq_distance")(n, H0, M) == pytest.approx(
        float(d.expected_sq_distance(n, p0, M)), rel=1e-10, abs=1e-15
    )


@given(n=gens, p0=prob_vectors(), M=st.integers(1, 60), beta=st.floats(0.0, 5.0))
def test_smoothed(n, p0, M, beta):
    K = len(p0)
    H0 = _H(p0)
    assert sd.lambdified("smoothed_heterozygosity")(n, H0, M, K, beta) == pytest.approx(
        float(d.smoothed_expected_heterozygosity(n, p0, M, beta)), rel=1e-9, abs=1e-12
    )
    assert sd.lambdified("smoothed_collision")(n, 1 - H0, M, K, beta) == pytest.approx(
        float(d.smoothed_expected_collision(n, p0, M, beta)), rel=1e-9, abs=1e-12
    )
    assert sd.lambdified("smoothed_stationary_heterozygosity")(K, M, beta) == pytest.approx(
        float(d.smoothed_stationary_heterozygosity(K, M, beta)), rel=1e-12, abs=1e-15
    )


@given(n=gens, p=prob_vectors(), N=st.integers(0, 200), m=st.integers(1, 200))
def test_mixed(n, p, N, m):
    H = _H(p)
    assert sd.lambdified("mixed_sq_distance")(n, H, N, m) == pytest.approx(
        float(d.mixed_expected_sq_distance(n, p, N, m)), rel=1e-9, abs=1e-15
    )
    assert sd.lambdified("mixed_sq_distance_limit")(H, N, m) == pytest.approx(
        float(d.mixed_sq_distance_limit(p, N, m)), rel=1e-12
    )


def test_recursions_are_the_expected_ones():
    rec = sd.recursions()
    S, M = sd.S, sd.M
    assert sp.simplify(rec["first_moment"].rhs - sd.p) == 0
    assert sp.simplify(rec["collision"].rhs - ((1 - 1 / M) * S + 1 / M)) == 0
    m1, m2 = sd.binomial_moments()
    assert sp.simplify(m2 - (M * sd.p * (1 - sd.p) + M**2 * sd.p**2)) == 0


def test_lambdified_rejects_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        sd.lambdified("nope")


def test_proof_checker_passes(capsys):
    assert cwf.main() == 0
    out = capsys.readouterr().out
    reported = set(STEP_OK.findall(out))
    assert reported == set(proof_steps("wright_fisher")) == {str(k) for k, _, _ in cwf.STEPS}


@pytest.mark.parametrize(
    "call",
    [
        lambda: cwf.step1_moments(sd.M * sd.p * (1 - sd.p) + sd.M * sd.p**2),
        lambda: cwf.step4_martingale(sd.p * (1 - 1 / sd.M)),
        lambda: cwf.step5_fixation(max_M=4, fixation=lambda x: x**2),
        lambda: cwf.step6_collision_recursion((1 - 1 / sd.M) * sd.S),
        lambda: cwf.step7_heterozygosity((1 - 1 / sd.M) ** (sd.n + 1) * sd.H0),
        lambda: cwf.step8_sq_distance(sd.H0 * (1 - (1 - 1 / sd.M) ** (sd.n + 1))),
        lambda: cwf.step9_smoothing(
            (sd.K - 1)
            * sd.beta
            * (2 * sd.M + sd.K * sd.beta)
            / (sd.K * sd.beta * (2 * sd.M + sd.K * sd.beta) + 2 * sd.M)
        ),
    ],
)
def test_proof_checker_rejects_wrong_formulas(call):
    with pytest.raises(cwf.ProofCheckError):
        call()


def test_lambdified_validates_like_the_numeric_module():
    """The symbolic wrappers validate through the parameter vocabulary: same rule, same message
    as modelcollapse.theory.discrete."""
    f = sd.lambdified("heterozygosity")
    for bad, numeric in (((-1, 0.5, 2), lambda: d.expected_heterozygosity(-1, [0.5, 0.5], 2)),
                         ((1, 0.5, 0), lambda: d.expected_heterozygosity(1, [0.5, 0.5], 0))):
        with pytest.raises(ValueError) as sym_err:
            f(*bad)
        with pytest.raises(ValueError) as num_err:
            numeric()
        assert str(sym_err.value) == str(num_err.value)
    with pytest.raises(ValueError, match=r"H0 must be a real in \[0, 1\]"):
        f(1, 1.5, 2)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        f(1, 0.5)
