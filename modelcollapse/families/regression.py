"""The linear-regression family's front end: verification rows and ``simulate regression``.

Theory: :mod:`modelcollapse.theory.regression`; simulator: :mod:`modelcollapse.sims.regression`
(which never sees the theory). Model: ``y = x^T beta + eps``, ``x ~ N(0, I_d)``,
``eps ~ N(0, noise2)``; generation 1 is the least-squares fit on ``T`` real samples, generation
``n`` the fit on ``T`` labels drawn from generation ``n - 1`` (with fresh noise). The test error
is the excess risk ``||beta_n - beta_0||^2``. Two design conventions: ``fixed`` (one design
``X``, reused every generation, as in KoyejoLab's code) and ``fresh`` (a new design each
generation, Dohmatob et al. 2024).

The verification rows (:mod:`modelcollapse.verify.workflow_rows`) compare the chain mean of the
test error at generation ``n`` with the exact expectation of the same workflow and design:
``n noise2 d / (T - d - 1)`` under replace (either design) and
``noise2 d / (T - d - 1) sum_{g<=n} 1/g^2`` under accumulate with the fixed design (bounded by
the ``pi^2/6`` limit), ``noise2 d sum_{g<=n} 1/(g (g T - d - 1))`` with the fresh design, and
the mix and weighted expectations of :func:`modelcollapse.theory.regression.expected_test_error`.

References: Dohmatob, Feng & Kempe, "Model collapse demystified: the case of regression"
(2024); Gerstgrasser et al., "Is model collapse inevitable?" (2024); Kazdan et al.,
"Collapse or Thrive?" (2024).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from modelcollapse._cliutil import (
    add_run_arguments,
    as_key,
    output_file,
    summary_record,
    timed,
    want_progress,
)
from modelcollapse._cliworkflow import (
    Column,
    add_workflow_arguments,
    theory_table,
    workflow_from_args,
)
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W
from modelcollapse.verify.registry import Case, FamilyEntry
from modelcollapse.verify.workflow_rows import (
    Quantity,
    RowCase,
    WorkflowRows,
    lazy,
    workflow_cases,
)

__all__ = ["ROWS", "CASES", "cases", "summary", "FAMILY"]

NAME = "regression"
#: The simulator paths: ``sufficient`` draws the fit's exact law given the design, ``samples``
#: draws the rows and the noise and solves.
METHODS = ("sufficient", "samples")

_SIMULATOR = lazy("modelcollapse.sims.regression", "simulate")
_THEORY = lazy("modelcollapse.theory.regression")


def _run(simulate: Callable[..., Any], key: Any, n: int, chains: int, wf: W.Workflow,
         p: dict[str, Any]) -> Any:
    return simulate(key, T=p["T"], d=p["d"], generations=n, chains=chains, design=p["design"],
                    method=p["method"], workflow=wf, record=[n])


#: The regression rows: the chain mean of the test error ``||beta_n - beta_0||^2``.
ROWS = WorkflowRows(NAME, (
    Quantity("E test error", "mean",
             lambda run, row, p: np.asarray(run.test_error, dtype=np.float64)[row],
             lambda th, n, wf, p: th.expected_test_error(n, p["T"], p["d"],
                                                         design=p["design"], workflow=wf)),
), _run, _SIMULATOR, _THEORY)


def _case(wf: W.Workflow, T: int, d: int, n: int, design: str, method: str) -> RowCase:
    return RowCase(wf, n, (("T", T), ("d", d), ("design", design), ("method", method)))


#: Cases: replace and accumulate in both designs and both paths; mix (fresh design, and the
#: fixed design at d = 1, where its expectation is exact for every n); weighted.
CASES: tuple[RowCase, ...] = (
    _case(W.replace(), 20, 5, 10, "fixed", "sufficient"),
    _case(W.replace(), 30, 10, 5, "fresh", "samples"),
    _case(W.replace(), 50, 3, 20, "fresh", "sufficient"),
    _case(W.accumulate(), 20, 5, 30, "fixed", "sufficient"),
    _case(W.accumulate(), 15, 3, 10, "fixed", "samples"),
    _case(W.accumulate(), 12, 4, 20, "fresh", "sufficient"),
    _case(W.mix(real_fraction=0.25), 20, 3, 15, "fresh", "sufficient"),
    _case(W.mix(real_fraction=0.5), 10, 1, 12, "fixed", "samples"),
    _case(W.weighted(0.5, n_real=20), 20, 3, 10, "fresh", "sufficient"),
)


def cases() -> list[Case]:
    """The registered verification cases (one check each).

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.regression import cases
    >>> cases()[0].id
    "regression/Workflow(name='replace') T=20 d=5 design=fixed method=sufficient n=10"
    """
    return workflow_cases(ROWS, CASES, max_chains=50_000)


# --------------------------------------------------------------------------------------------
# modelcollapse simulate regression
# --------------------------------------------------------------------------------------------
def summary(run: Any, T: int, d: int, noise2: float, design: str, workflow: Any) -> str:
    """Table of a run: the chain mean of the test error (+- 2 standard errors) beside
    :func:`modelcollapse.theory.regression.expected_test_error` of the same workflow and design
    (``n/a`` with the theory's reason where it has no exact value).

    Parameters
    ----------
    run : RegressionRun
        A run of :func:`modelcollapse.sims.regression.simulate`.
    T, d : int
        Its samples per generation and dimension.
    noise2 : float
        Its label noise variance.
    design : {"fixed", "fresh"}
        Its design convention.
    workflow : Workflow
        Its workflow.

    Returns
    -------
    str

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.families.regression import summary
    >>> from modelcollapse.sims.regression import simulate
    >>> run = simulate(jax.random.key(0), T=20, d=3, generations=3, chains=500, record=[0, 3])
    >>> summary(run, 20, 3, 1.0, "fixed", "replace").splitlines()[0].split()[:4]
    ['n', 'test', 'error', 'sim']
    """
    from modelcollapse.theory import regression as th

    err = np.asarray(run.test_error, np.float64)
    col = Column("test error", err, "mean",
                 lambda n: th.expected_test_error(n, T, d, noise2=noise2, design=design,
                                                  workflow=workflow))
    return theory_table(np.asarray(run.generations), [col])


def _cmd_simulate(args: argparse.Namespace) -> int:
    from modelcollapse.sims.regression import simulate

    wf = workflow_from_args(args)
    out = output_file(args.out) if args.out else None  # checked before the run
    g = args.generations
    run, elapsed = timed(simulate, key=as_key(args.seed), T=args.T, d=args.d, generations=g,
                         chains=args.chains, noise2=args.noise2, design=args.design,
                         ridge=args.ridge, method=args.method, record=summary_record(g),
                         progress=want_progress(args.progress), devices=args.devices,
                         workflow=wf)
    dev = f", {args.devices} devices" if args.devices > 1 else ""
    fit = "OLS" if args.ridge == 0 else f"ridge {args.ridge:g}"
    print(f"Linear regression refit ({wf!r}, {fit}): T={args.T}, d={args.d}, "
          f"noise2={args.noise2:g}, design={args.design}, method={args.method}, "
          f"{args.chains} chains{dev}, {g} generations, seed {args.seed} ({elapsed:.2f} s)")
    print("test error ||beta_n - beta_0||^2 (+- 2 standard errors) beside the exact theory\n")
    if args.ridge == 0:
        print(summary(run, args.T, args.d, args.noise2, args.design, wf))
    else:
        err = np.asarray(run.test_error, np.float64)
        print(theory_table(np.asarray(run.generations),
                           [Column("test error", err, "mean", _no_ridge_theory)]))
    if out is not None:
        run.save(out)
        print(f"\nsaved {out}")
    return 0


def _no_ridge_theory(n: int) -> float:
    raise ValueError("the expectation over a Gaussian design is given for least squares "
                     "(ridge 0); theory.regression.conditional_test_error gives ridge for a "
                     "given design")


def add_simulate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``regression`` to the ``simulate`` command's sub-parsers; return the new parser.

    Options: ``--T``, ``--d``, ``--noise2``, ``--design`` (``fixed`` or ``fresh``),
    ``--ridge``, ``--method``, the workflow options and the common run options.
    """
    p = subparsers.add_parser(
        "regression", help="linear regression refit on its own labels (OLS or ridge)",
        description="Refit a linear model y = x^T beta + eps (x ~ N(0, I_d)) on T labels "
                    "generated by the previous fit, generation after generation.")
    p.add_argument("--T", type=P.T.arg, required=True,
                   help=f"samples per generation: {P.T.domain}, > d")
    p.add_argument("--d", type=P.d.arg, required=True, help=f"dimension: {P.d.domain}")
    p.add_argument("--noise2", type=P.noise2.arg, default=1.0,
                   help=f"label noise variance: {P.noise2.domain} (default 1)")
    p.add_argument("--design", type=P.design.arg, default="fixed",
                   help=f"design convention, {P.design.domain} (default fixed)")
    p.add_argument("--ridge", type=P.ridge.arg, default=0.0,
                   help=f"ridge penalty: {P.ridge.domain} (default 0, least squares)")
    p.add_argument("--method", choices=METHODS, default="sufficient",
                   help="simulator path: sufficient (exact law given the design, fast) or "
                        "samples (draws the rows and the noise, solves)")
    add_run_arguments(p, chains=10_000)
    add_workflow_arguments(p, biases=())
    p.set_defaults(func=_cmd_simulate)
    return p


FAMILY = FamilyEntry(NAME, "linear regression refit on its own labels: test error "
                           "(Dohmatob et al. 2024; Gerstgrasser et al. 2024)", cases,
                     add_simulate_command, order=40)
