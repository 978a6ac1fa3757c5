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
        W.as_workflow("shuffle")
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


def test_workflow_parameters():
    """Each workflow takes its own parameters, validated; others are refused by name."""
    assert W.as_workflow("mix") == W.mix(real_fraction=0.1)
    assert W.mix(real_fraction=0.25).real_count(10) == 2  # round(2.5) = 2 (to even)
    assert W.mix(n_real=3).real_count(10) == 3
    with pytest.raises(ValueError, match="n_real must be <= M = 2"):
        W.mix(n_real=3).real_count(2)
    with pytest.raises(ValueError, match="mix needs exactly one of n_real"):
        W.Workflow("mix")
    with pytest.raises(ValueError, match="real_fraction must be a real in \\[0, 1\\]"):
        W.mix(real_fraction=1.5)
    with pytest.raises(ValueError, match="n_real must be an integer >= 0"):
        W.mix(n_real=True)
    with pytest.raises(ValueError, match="fixed_real must be True or False"):
        W.mix(n_real=1, fixed_real=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="subsample is not a parameter of the 'mix' workflow"):
        W.Workflow("mix", real_fraction=0.1, subsample=3)
    assert W.accumulate_subsample().subsample is None
    with pytest.raises(ValueError, match="subsample must be an integer >= 1"):
        W.accumulate_subsample(0)
    assert W.weighted().effective_weight == pytest.approx(0.6180339887498949)
    assert W.weighted(0.3, n_real=7).real_count(100) == 7
    assert W.weighted(0.3).real_count(100) == 100
    with pytest.raises(ValueError, match="weight must be a real in \\[0, 1\\]"):
        W.weighted(2.0)
    assert hash(W.accumulate()) == hash(W.Workflow("accumulate"))
    assert repr(W.replace()) == "Workflow(name='replace')"


def test_sampling_biases():
    b = W.SamplingBias(variance_scale=0.5, truncation=2.0, top_k=5, top_p=0.9)
    assert b.active == ("variance_scale", "truncation", "top_k", "top_p")
    assert W.SamplingBias().active == ()
    assert W.SamplingBias(truncation=math.inf).active == ()
    for kw, msg in [({"variance_scale": 0}, "variance_scale must be a finite real > 0"),
                    ({"truncation": 0}, "truncation must be a real > 0"),
                    ({"top_k": -1}, "top_k must be an integer >= 0"),
                    ({"top_p": 0}, "top_p must be a real in \\(0, 1\\]")]:
        with pytest.raises(ValueError, match=msg):
            W.SamplingBias(**kw)


@pytest.mark.parametrize("name", ["mix", "accumulate", "accumulate_subsample", "weighted"])
def test_new_workflows_are_refused_where_not_implemented(name):
    """Until a layer implements a workflow it refuses it by name (never a silent replace)."""
    from modelcollapse.theory import discrete, gaussian

    if name in ("accumulate_subsample", "weighted"):  # moments, extinction: mix, accumulate
        if name == "weighted":  # the moments also take accumulate_subsample
            with pytest.raises(ValueError, match=f"workflow '{name}' is not available"):
                discrete.expected_heterozygosity(3, [0.5, 0.5], 10, workflow=name)
        with pytest.raises(ValueError, match=f"workflow '{name}' is not available"):
            discrete.extinction_probability(3, 0.5, 10, workflow=name)
    with pytest.raises(ValueError, match=f"workflow '{name}' is not available"):
        gaussian.collapse_probability(3, 10, 0.5, workflow=name)


@pytest.mark.parametrize("name", ["mix", "accumulate", "accumulate_subsample", "weighted"])
def test_new_workflows_are_refused_by_the_simulators(name):
    import jax

    from modelcollapse.sims import discrete
    from modelcollapse.sims.workflows import family_workflows

    # the categorical simulator runs every workflow (issue 10): none is refused any more
    assert name in family_workflows(discrete.CategoricalFamily("sufficient", K=2))
    with pytest.raises(ValueError, match=r"sampling bias \['variance_scale'\] is not available "
                                         "for the discrete simulator"):
        discrete.simulate(jax.random.key(0), p0=[0.5, 0.5], M=4, generations=1, chains=2,
                          workflow=W.Workflow(name, bias=W.SamplingBias(variance_scale=2.0),
                                              **({"real_fraction": 0.5} if name == "mix"
                                                 else {})))
