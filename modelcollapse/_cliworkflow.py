"""The command line's workflow options and the table that sets a run beside the theory.

Every ``modelcollapse simulate <family>`` takes the same workflow options
(:func:`add_workflow_arguments`): ``--workflow`` (a name of
:data:`modelcollapse.spec.workflows.WORKFLOWS`), the workflow's parameters (``--n-real``,
``--real-fraction``, ``--fixed-real``, ``--subsample``, ``--weight``) and the sampling biases
the family implements (``--temperature``, ``--top-k``, ``--top-p`` for the categorical
family; ``--variance-scale``, ``--truncation`` for the Gaussian). :func:`workflow_from_args`
turns them into the one :class:`~modelcollapse.spec.workflows.Workflow` value that the
simulator and the theory both take, so the printed theory is the theory of the simulated
workflow. An option that is not a parameter of the chosen workflow is refused, never ignored.

:func:`theory_table` prints, per recorded generation, simulated statistics with twice their
standard errors beside the theory's value (``n/a`` where the theory has no value for this
workflow, with the reason below the table).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelcollapse._cliutil import se_mean, se_probability, se_variance
from modelcollapse.spec import workflows as W

__all__ = ["add_workflow_arguments", "workflow_from_args", "Column", "theory_table"]

#: Workflow parameters as command-line options (the flag is ``--`` + the name with dashes).
_WORKFLOW_OPTIONS: tuple[str, ...] = ("n_real", "real_fraction", "subsample", "weight")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_workflow_arguments(parser: argparse.ArgumentParser, *, biases: Sequence[str]) -> None:
    """Add ``--workflow``, its parameters and the family's sampling-bias options to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        A ``simulate <family>`` parser.
    biases : sequence of str
        The sampling biases the family's simulator implements (fields of
        :class:`~modelcollapse.spec.workflows.SamplingBias`).

    Examples
    --------
    >>> from modelcollapse._cliutil import Parser
    >>> from modelcollapse._cliworkflow import add_workflow_arguments, workflow_from_args
    >>> p = Parser(prog="demo")
    >>> add_workflow_arguments(p, biases=("temperature",))
    >>> workflow_from_args(p.parse_args(["--workflow", "mix", "--n-real", "5"]))
    Workflow(name='mix', n_real=5)
    """
    g = parser.add_argument_group("workflow (the data policy; see modelcollapse.spec.workflows)")
    g.add_argument("--workflow", type=W.workflow.arg, default="replace",
                   help=f"data policy of each generation: one of {', '.join(W.WORKFLOWS)}")
    for name in _WORKFLOW_OPTIONS:
        param = W.OPTIONS[name]
        g.add_argument(_flag(name), dest=name, type=param.arg, default=None,
                       help=f"{param.meaning}: {param.domain} (default: the workflow's own)")
    g.add_argument("--fixed-real", dest="fixed_real", action="store_true",
                   help="mix: reuse one real set, drawn once, in every generation")
    for name in biases:
        param = W.OPTIONS[name]
        g.add_argument(_flag(name), dest=name, type=param.arg, default=None,
                       help=f"sampling bias of synthetic draws, {param.meaning}: "
                            f"{param.domain} (default: no bias)")


def workflow_from_args(args: argparse.Namespace) -> W.Workflow:
    """The workflow value of the parsed options of :func:`add_workflow_arguments`.

    ``--workflow mix`` without ``--n-real`` or ``--real-fraction`` keeps 10 % real data (the
    name's default, :func:`modelcollapse.spec.workflows.as_workflow`).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    Workflow

    Raises
    ------
    ValueError
        Naming the option when it is not a parameter of the chosen workflow (or a value is
        out of its domain).

    Examples
    --------
    >>> import argparse
    >>> from modelcollapse._cliworkflow import workflow_from_args
    >>> workflow_from_args(argparse.Namespace(workflow="weighted", weight=0.5))
    Workflow(name='weighted', weight=0.5)
    >>> workflow_from_args(argparse.Namespace(workflow="replace", weight=0.5))
    Traceback (most recent call last):
    ...
    ValueError: --weight is not an option of --workflow replace (its options: none)
    """
    name = W.workflow.check(getattr(args, "workflow", None) or "replace")
    own = W.PARAMETERS[name]
    given = {k: getattr(args, k, None) for k in (*_WORKFLOW_OPTIONS, "fixed_real")}
    given = {k: v for k, v in given.items() if v is not None and v is not False}
    for k in given:
        if k not in own:
            flags = ", ".join(_flag(o) for o in own) or "none"
            raise ValueError(f"{_flag(k)} is not an option of --workflow {name} (its options: "
                             f"{flags})")
    bias_names = [f for f in W.OPTIONS if f not in _WORKFLOW_OPTIONS]
    bias = W.SamplingBias(**{k: v for k in bias_names
                             if (v := getattr(args, k, None)) is not None})
    if name == "mix" and "n_real" not in given and "real_fraction" not in given:
        given["real_fraction"] = 0.1
    return W.Workflow(name, bias, **given)


@dataclass(frozen=True)
class Column:
    """One statistic of a run beside its theory.

    Attributes
    ----------
    label : str
        Its name in the header (short).
    values : numpy.ndarray
        The simulated per-chain values, shape (recorded generations, chains).
    statistic : str
        ``"mean"`` (the chain mean, se ``sd/sqrt(N)``), ``"variance"`` (the variance over the
        chains, se ``sqrt((m4 - s^4)/N)``) or ``"fraction"`` (the fraction of true values, se
        ``sqrt(p(1 - p)/N)`` at the theory's ``p``).
    theory : callable
        ``theory(n)``: the theory's value at generation ``n``; a ``ValueError`` it raises
        prints ``n/a`` and its message below the table.
    """

    label: str
    values: Any
    statistic: str
    theory: Callable[[int], float]


def _stat(col: Column, i: int, th: float | None) -> tuple[float, float]:
    v = np.asarray(col.values[i], dtype=np.float64).ravel()
    if col.statistic == "mean":
        return float(v.mean()), se_mean(v)
    if col.statistic == "variance":
        return float(v.var(ddof=1)), se_variance(v)
    if col.statistic == "fraction":
        p = float(v.mean())
        return p, se_probability(p if th is None or not np.isfinite(th) else th, v.size)
    raise ValueError(f"statistic must be 'mean', 'variance' or 'fraction' (got "
                     f"{col.statistic!r})")


def theory_table(generations: Sequence[int], columns: Sequence[Column]) -> str:
    """Per recorded generation: each column's simulated statistic, twice its standard error
    and the theory.

    Parameters
    ----------
    generations : sequence of int
        The recorded generations (rows).
    columns : sequence of Column
        The statistics.

    Returns
    -------
    str
        A header line, one line per generation, then one line per theory refusal
        (``n/a: <label>: <reason>``).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse._cliworkflow import Column, theory_table
    >>> vals = np.array([[1.0, 1.0], [0.5, 1.5]])
    >>> print(theory_table([0, 1], [Column("E x", vals, "mean", lambda n: 1.0)]))
          n     E x sim    +-2se     theory
          0           1        0          1
          1           1        1          1
    """
    head = f"{'n':>7}" + "".join(f" {c.label + ' sim':>11} {'+-2se':>8} {'theory':>10}"
                                 for c in columns)
    rows, refusals = [head], {}
    for i, n in enumerate(generations):
        line = f"{int(n):>7d}"
        for c in columns:
            th: float | None
            try:
                th = float(c.theory(int(n)))
            except ValueError as exc:
                th, refusals[c.label] = None, str(exc)
            sim, se = _stat(c, i, th)
            th_s = f"{th:>10.5g}" if th is not None else f"{'n/a':>10}"
            line += f" {sim:>11.5g} {2 * se:>8.2g} {th_s}"
        rows.append(line)
    rows += [f"n/a: {label}: {why}" for label, why in refusals.items()]
    return "\n".join(rows)
