"""The command line's workflow options: one workflow value to simulator and theory alike."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from modelcollapse._cliutil import Parser
from modelcollapse._cliworkflow import (
    Column,
    add_workflow_arguments,
    theory_table,
    workflow_from_args,
)
from modelcollapse.cli import build_parser, main
from modelcollapse.spec import workflows as W


def _parse(argv: list[str], biases: tuple[str, ...] = ("temperature", "top_k", "top_p")):
    p = Parser(prog="t")
    add_workflow_arguments(p, biases=biases)
    return workflow_from_args(p.parse_args(argv))


@pytest.mark.parametrize(("argv", "expected"), [
    ([], W.replace()),
    (["--workflow", "mix"], W.mix(real_fraction=0.1)),
    (["--workflow", "mix", "--n-real", "3", "--fixed-real"], W.mix(n_real=3, fixed_real=True)),
    (["--workflow", "mix", "--real-fraction", "0.5"], W.mix(real_fraction=0.5)),
    (["--workflow", "accumulate"], W.accumulate()),
    (["--workflow", "accumulate_subsample", "--subsample", "7"], W.accumulate_subsample(7)),
    (["--workflow", "weighted", "--weight", "0.25", "--n-real", "4"],
     W.weighted(0.25, n_real=4)),
    (["--temperature", "0.5", "--top-k", "3"],
     W.replace(bias=W.SamplingBias(temperature=0.5, top_k=3))),
    (["--workflow", "mix", "--top-p", "0.9"],
     W.mix(real_fraction=0.1, bias=W.SamplingBias(top_p=0.9))),
])
def test_options_give_the_workflow_value(argv, expected):
    assert _parse(argv) == expected


def test_an_option_of_another_workflow_is_refused_by_name():
    with pytest.raises(ValueError, match="--subsample is not an option of --workflow mix"):
        _parse(["--workflow", "mix", "--subsample", "3"])
    with pytest.raises(ValueError, match="--fixed-real is not an option of --workflow accumulate"):
        _parse(["--workflow", "accumulate", "--fixed-real"])
    with pytest.raises(ValueError, match="exactly one of n_real"):
        _parse(["--workflow", "mix", "--n-real", "2", "--real-fraction", "0.5"])


def test_bias_options_are_those_of_the_family():
    parser = build_parser()
    args = parser.parse_args(["simulate", "gaussian", "--M", "10", "--generations", "2",
                              "--variance-scale", "0.9"])
    assert workflow_from_args(args) == W.replace(bias=W.SamplingBias(variance_scale=0.9))
    with pytest.raises(SystemExit):  # --temperature is a categorical bias only
        parser.parse_args(["simulate", "gaussian", "--M", "10", "--generations", "2",
                           "--temperature", "0.5"])
    with pytest.raises(SystemExit):  # out of its domain: argparse names the option
        parser.parse_args(["simulate", "discrete", "--M", "10", "--K", "3", "--generations",
                           "2", "--top-p", "1.5"])
    assert isinstance(args, argparse.Namespace)


def test_theory_table_prints_simulation_beside_theory_and_the_refusals():
    vals = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])

    def refuse(n: int) -> float:
        raise ValueError("no closed form here")

    table = theory_table([0, 4], [Column("E x", vals, "mean", lambda n: 1.0 + n),
                                  Column("V x", vals, "variance", refuse),
                                  Column("P", vals > 0.5, "fraction", lambda n: 0.5)])
    lines = table.splitlines()
    assert lines[2].split()[:3] == ["4", "1", "1.2"]          # mean 1, 2 se = 2 * sd / sqrt(3)
    assert lines[2].split()[3] == "5"                          # theory 1 + n
    assert "n/a" in lines[1] and lines[-1] == "n/a: V x: no closed form here"
    with pytest.raises(ValueError, match="statistic must be"):
        theory_table([0], [Column("bad", vals, "median", lambda n: 0.0)])


def test_simulate_gaussian_accumulate_prints_its_own_theory(capsys):
    """The run and the theory printed are those of the same workflow: the accumulate
    E sigma^2 column agrees with the simulation within 4 printed standard errors (z = 4 at 2
    se per column -> |sim - theory| <= 2 * (2 se)), and is not the replace value."""
    assert main(["simulate", "gaussian", "--M", "10", "--generations", "8", "--chains",
                 "20000", "--workflow", "accumulate", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "Workflow(name='accumulate')" in out
    row = next(line for line in out.splitlines() if line.split()[:1] == ["8"]).split()
    sim, two_se, theory = map(float, row[1:4])
    assert abs(sim - theory) <= 2 * two_se
    from modelcollapse.theory import gaussian as th
    replace_value = float(th.expected_variance(8, 10))
    assert abs(sim - replace_value) > 4 * two_se                 # the replace theory is rejected


def test_zero_valued_parameters_count_as_given():
    """0 and 0.0 are values, not 'not given' (0.0 in (None, False) is True in Python)."""
    assert _parse(["--workflow", "weighted", "--weight", "0"]) == W.weighted(0.0)
    assert repr(W.weighted(0.0)) == "Workflow(name='weighted', weight=0.0)"
    with pytest.raises(ValueError, match="--n-real is not an option of --workflow accumulate"):
        _parse(["--workflow", "accumulate", "--n-real", "0"])
    with pytest.raises(ValueError, match="weight is not a parameter of the 'replace' workflow"):
        W.Workflow("replace", weight=0.0)
