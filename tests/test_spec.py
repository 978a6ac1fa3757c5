"""The parameter vocabulary and the workflow values (modelcollapse.spec): one rule and one message
per parameter, whatever the layer (theory arrays, simulator scalars, command-line strings)."""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np
import pytest

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

BAD_SCALARS = [True, False, "3", None, math.nan, math.inf, -math.inf, [3], 2.5]


@pytest.mark.parametrize("value", BAD_SCALARS)
def test_integer_parameter_refuses_junk_with_its_one_message(value):
    with pytest.raises(ValueError) as exc:
        P.M.scalar(value)
    assert str(exc.value).startswith("M must be an integer >= 1 (got ")


def test_the_same_message_in_every_layer():
    """scalar (simulators), array (theory) and arg (CLI) give the same sentence."""
    with pytest.raises(ValueError) as a:
        P.GAUSSIAN_M.scalar(1)
    with pytest.raises(ValueError) as b:
        P.GAUSSIAN_M.array([5, 1])
    with pytest.raises(argparse.ArgumentTypeError) as c:
        P.GAUSSIAN_M.arg("1")
    assert str(a.value) == "M must be an integer >= 2 (got 1)"
    assert str(b.value) == "M must be an integer >= 2 (got 1.0)"
    assert str(c.value) == "M must be an integer >= 2 (got '1')"


def test_domains_in_words():
    assert P.n.domain == "an integer >= 0"
    assert P.sigma2.domain == "a finite real > 0"
    assert P.q.domain == "a real in (0, 1)"
    assert P.p.domain == "a real in [0, 1]"
    assert P.mu0.domain == "a finite real"
    assert P.x.domain == "a real"  # infinite points of the log-variance axis are allowed
    assert P.method.domain == "one of ('samples', 'sufficient')"


def test_scalar_types_and_values():
    assert P.M.scalar(np.int64(7)) == 7 and isinstance(P.M.scalar(7.0), int)
    assert P.ddof.scalar(np.float32(0.5)) == 0.5
    assert P.M.scalar(np.array(4)) == 4
    assert P.x.array([-math.inf, 0.0, math.inf]).tolist() == [-math.inf, 0.0, math.inf]
    with pytest.raises(ValueError, match="x must be a real"):
        P.x.array(math.nan)
    for bad in (np.array([True]), np.array(["a"]), [[1, 2], [3]]):
        with pytest.raises(ValueError, match="^n must"):
            P.n.array(bad)


def test_relations_schedules_records():
    with pytest.raises(ValueError, match=r"M must be > ddof \(got M=3.0, ddof=3.0\)"):
        P.require_greater(P.GAUSSIAN_M, [3, 4], P.ddof, 3)
    P.require_greater(P.GAUSSIAN_M, [4, 5], P.ddof, [1, 4])
    assert P.schedule([5, 6], P.GAUSSIAN_M, length=2) == (5, 6)
    with pytest.raises(ValueError, match=r"M\[1\] must be an integer >= 2 \(got 1\)"):
        P.schedule([5, 1, 5], P.GAUSSIAN_M)
    with pytest.raises(ValueError, match="one entry per generation"):
        P.schedule([5, 5], P.GAUSSIAN_M, length=3)
    with pytest.raises(ValueError, match="1-D"):
        P.schedule([[5]], P.GAUSSIAN_M)
    assert P.record([5, 2, 5], 10).tolist() == [0, 2, 5]
    with pytest.raises(ValueError, match=r"record must be an integer in \[0, 3\] \(got 4\)"):
        P.record([1, 4], 3)
    with pytest.raises(ValueError, match="record must be a 1-D sequence"):
        P.record([], 3)


def test_probability_vectors():
    assert P.p0.check([[0.5, 0.5], [1.0, 0.0]]).shape == (2, 2)
    for bad, what in (([0.5, 0.4], "got sum 0.9"), ([1.5, -0.5], "got -0.5"),
                      ([0.5, np.nan, 0.5], "got nan"), (0.5, "got 0.5"), ([], "got []"),
                      ([True, False], "got")):
        with pytest.raises(ValueError, match="p0 must be a probability vector") as exc:
            P.p0.check(bad)
        assert what in str(exc.value)
    with pytest.raises(ValueError, match=r"got an array of shape \(1, 2\)"):
        P.p0.check([[0.5, 0.5]], ndim=1)
    assert P.p0.arg("0.25, 0.75").tolist() == [0.25, 0.75]
    with pytest.raises(argparse.ArgumentTypeError, match="p0 must be"):
        P.p0.arg("0.5,x")


def test_choices_and_deprecated_aliases():
    assert P.method.check("samples") == "samples"
    with pytest.warns(DeprecationWarning, match="method='counts' is deprecated"):
        assert P.method.check("counts") == "sufficient"
    with pytest.raises(ValueError, match=r"method must be one of \('samples', 'sufficient'\)"):
        P.method.check("exact")


def test_renamed_keywords():
    @P.renamed_keywords(old="new")
    def f(*, new=0):
        return new

    with pytest.warns(DeprecationWarning, match="'old' is deprecated"):
        assert f(old=3) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(new=4) == 4
    with pytest.raises(TypeError, match="both"):
        f(old=1, new=2)


def test_every_declaration_is_described():
    text = P.describe()
    for name in P.VOCABULARY:
        assert name in text


# ----------------------------------------------------------------------------- workflows
def test_workflow_values():
    assert W.as_workflow(None) == W.replace() == W.as_workflow("replace")
    assert hash(W.replace()) == hash(W.Workflow("replace"))
    biased = W.replace(bias=W.SamplingBias(temperature=0.5))
    assert biased != W.replace() and biased.bias.active == ("temperature",)
    with pytest.raises(ValueError, match="workflow must be one of"):
        W.as_workflow("mix")
    with pytest.raises(ValueError, match="workflow must be a Workflow"):
        W.as_workflow(3)
    with pytest.raises(ValueError, match="temperature must be a finite real > 0"):
        W.SamplingBias(temperature=-1)
    with pytest.raises(ValueError, match="bias must be a SamplingBias"):
        W.Workflow("replace", bias=0.5)  # type: ignore[arg-type]


def test_require_names_the_refused_part():
    wf = W.replace(bias=W.SamplingBias(temperature=0.7))
    assert W.require(wf, "here", biases=("temperature",)) is wf
    with pytest.raises(ValueError, match=r"sampling bias \['temperature'\] is not available "
                                         r"for here"):
        W.require(wf, "here")
    with pytest.raises(ValueError, match="workflow 'replace' is not available for there"):
        W.require("replace", "there", names=("mix",))
