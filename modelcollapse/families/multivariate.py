"""The multivariate Gaussian family's front end: verification rows and ``simulate multivariate``.

Theory: :mod:`modelcollapse.theory.multivariate`; simulator: :mod:`modelcollapse.sims.multivariate`
(which never sees the theory). The verification rows are written on
:mod:`modelcollapse.verify.workflow_rows`: one workflow value goes to the theory (``workflow=``)
and to the simulator, and at generation ``n`` the chain statistics must lie within the report's
bound of the exact values:

- replace (Bartlett: ``log det Sigma_n`` is a sum of ``n d`` independent ``log chi2`` terms):
  ``E log det Sigma_n = log det Sigma0 + n sum_{i=1..d} [psi((M - i)/2) + log(2/(M - ddof))]``,
  ``Var log det Sigma_n = n sum_i psi'((M - i)/2)``, ``E tr Sigma_n = ((M-1)/(M-ddof))^n tr
  Sigma0`` and ``E ||mu_n - mu0||^2 = (tr Sigma0 / M) sum_{j<n} ((M-1)/(M-ddof))^j``;
- the other workflows (mix, accumulate, accumulate-subsample, weighted): ``E tr Sigma_n`` and
  ``E ||mu_n - mu0||^2``, exact by the projection reduction (every 1-D projection ``v^T x`` of
  the chain is the 1-D Gaussian chain, :mod:`modelcollapse.theory.multivariate`); under
  accumulate also ``E det Sigma_n`` (exact: Chan's pooled update factorises).

Conventions: generation 0 is ``N(mu0, Sigma0)``; the first fit sees ``M`` real points;
``ddof = 1`` unbiased, ``0`` maximum likelihood. ``Sigma0`` is given by its eigenvalues (every
compared quantity is rotation invariant).

References: Shumailov et al., Nature 631 (2024), Thm 3.1; Kazdan et al., "Collapse or Thrive?"
(2024); Bartlett (1933); Muirhead (1982), Thm 3.2.14-3.2.15.
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

__all__ = ["ROWS", "MOMENT_ROWS", "ACCUMULATE_ROWS", "REPLACE_CASES", "ACCUMULATE_CASES",
           "WORKFLOW_CASES", "cases", "summary", "FAMILY"]

NAME = "multivariate"
#: The simulator paths: ``bartlett`` draws the fit's exact law (Bartlett factors), ``samples``
#: draws and fits the M points.
METHODS = ("bartlett", "samples")

_SIMULATOR = lazy("modelcollapse.sims.multivariate", "simulate")
_THEORY = lazy("modelcollapse.theory.multivariate")


def _eig(p: dict[str, Any]) -> np.ndarray:
    """The case's eigenvalues of Sigma0 (``"I"``: the identity of dimension ``p["d"]``)."""
    if isinstance(p["Sigma0"], str):
        return np.ones(p["d"])
    return np.asarray(p["Sigma0"], dtype=np.float64)


def _run(simulate: Callable[..., Any], key: Any, n: int, chains: int, wf: W.Workflow,
         p: dict[str, Any]) -> Any:
    return simulate(key, M=p["M"], Sigma0=_eig(p), generations=n, chains=chains,
                    ddof=p["ddof"], method=p["method"], workflow=wf, record=[n])


def _row(name: str) -> Callable[[Any, int, dict[str, Any]], np.ndarray]:
    return lambda run, row, p: np.asarray(getattr(run, name), dtype=np.float64)[row]


def _log_det0(p: dict[str, Any]) -> float:
    return float(np.sum(np.log(_eig(p))))


_TRACE = Quantity("E tr Sigma_n", "mean",
                  lambda run, row, p: np.exp(_row("log_trace")(run, row, p)),
                  lambda th, n, wf, p: th.expected_trace(n, p["M"], _eig(p), ddof=p["ddof"],
                                                         workflow=wf))
_MEAN = Quantity("E ||mu_n - mu0||^2", "mean", _row("mean_sq"),
                 lambda th, n, wf, p: th.mean_drift_mse(n, p["M"], _eig(p), ddof=p["ddof"],
                                                        workflow=wf))

#: Rows of the replace workflow: log det mean and variance (exact, Bartlett), trace, mean drift.
ROWS = WorkflowRows(NAME, (
    Quantity("E log det Sigma_n", "mean", _row("log_det"),
             lambda th, n, wf, p: th.expected_log_determinant(
                 n, p["M"], _eig(p).size, ddof=p["ddof"], det0=np.exp(_log_det0(p)),
                 workflow=wf)),
    Quantity("Var log det Sigma_n", "variance", _row("log_det"),
             lambda th, n, wf, p: th.log_determinant_variance(n, p["M"], _eig(p).size,
                                                              ddof=p["ddof"], workflow=wf)),
    _TRACE,
    _MEAN,
), _run, _SIMULATOR, _THEORY)

#: Rows of the workflows beyond replace: trace and mean drift (exact by projection).
MOMENT_ROWS = WorkflowRows(NAME, (_TRACE, _MEAN), _run, _SIMULATOR, _THEORY)

#: Rows of accumulate: trace, mean drift and ``E det Sigma_n`` (exact: Chan's pooled update
#: factorises, :func:`modelcollapse.theory.multivariate.expected_determinant`).
ACCUMULATE_ROWS = WorkflowRows(NAME, (_TRACE, _MEAN, Quantity(
    "E det Sigma_n", "mean", lambda run, row, p: np.exp(_row("log_det")(run, row, p)),
    lambda th, n, wf, p: th.expected_determinant(n, p["M"], _eig(p).size, ddof=p["ddof"],
                                                 det0=np.exp(_log_det0(p)), workflow=wf))),
    _run, _SIMULATOR, _THEORY)


def _case(wf: W.Workflow, eig: tuple[float, ...] | int, M: int, n: int, ddof: int,
          method: str) -> RowCase:
    """A case; ``eig`` the eigenvalues of Sigma0, or the dimension ``d`` of Sigma0 = I_d."""
    dim = eig if isinstance(eig, int) else len(eig)
    sigma0: Any = "I" if isinstance(eig, int) else eig
    return RowCase(wf, n, (("d", dim), ("Sigma0", sigma0), ("M", M), ("ddof", ddof),
                           ("method", method)))


_ISO3 = 3
_ANISO = (0.5, 1.0, 2.0, 4.0)

#: Replace cases: both paths, isotropic and anisotropic starts, d = 3, 4, 10 and 100.
REPLACE_CASES: tuple[RowCase, ...] = (
    _case(W.replace(), _ISO3, 10, 20, 1, "bartlett"),
    _case(W.replace(), _ANISO, 8, 10, 0, "samples"),
    _case(W.replace(), 10, 50, 30, 1, "bartlett"),
    _case(W.replace(), 100, 200, 5, 1, "bartlett"),
)

#: Accumulate cases (trace, mean drift and determinant).
ACCUMULATE_CASES: tuple[RowCase, ...] = (
    _case(W.accumulate(), _ANISO, 10, 20, 0, "bartlett"),
    _case(W.accumulate(), _ISO3, 6, 8, 1, "samples"),
)

#: Cases of the other workflows (trace and mean drift).
WORKFLOW_CASES: tuple[RowCase, ...] = (
    _case(W.mix(real_fraction=0.5), _ISO3, 10, 15, 1, "bartlett"),
    _case(W.mix(n_real=6, fixed_real=True), _ANISO, 12, 10, 0, "samples"),
    _case(W.weighted(0.6, n_real=10), _ISO3, 10, 10, 1, "bartlett"),
    _case(W.accumulate_subsample(), _ISO3, 10, 8, 0, "samples"),
    _case(W.replace(bias=W.SamplingBias(variance_scale=0.9)), _ISO3, 20, 10, 1, "bartlett"),
)


def cases() -> list[Case]:
    """The registered verification cases: :data:`REPLACE_CASES` (4 checks each),
    :data:`ACCUMULATE_CASES` (3 checks each) and :data:`WORKFLOW_CASES` (2 checks each).

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.multivariate import cases
    >>> cases()[0].id
    "multivariate/Workflow(name='replace') d=3 Sigma0=I M=10 ddof=1 method=bartlett n=20"
    """
    return (workflow_cases(ROWS, REPLACE_CASES[:-1])
            + workflow_cases(ROWS, REPLACE_CASES[-1:], max_chains=20_000)
            + workflow_cases(ACCUMULATE_ROWS, ACCUMULATE_CASES, max_chains=50_000)
            + workflow_cases(MOMENT_ROWS, WORKFLOW_CASES, max_chains=50_000))


# --------------------------------------------------------------------------------------------
# modelcollapse simulate multivariate
# --------------------------------------------------------------------------------------------
def summary(run: Any, M: int, Sigma0: Any, ddof: float, workflow: Any) -> str:
    """Table of a run: simulated chain statistics (+- 2 standard errors) beside the theory of
    the same workflow value (``n/a`` with the theory's reason where it has none).

    Columns: the chain mean and variance of ``log det Sigma_n``
    (:func:`~modelcollapse.theory.multivariate.expected_log_determinant`,
    ``log_determinant_variance``), the mean of ``tr Sigma_n`` (``expected_trace``) and of
    ``||mu_n - mu0||^2`` (``mean_drift_mse``).

    Parameters
    ----------
    run : MultivariateRun
        A run of :func:`modelcollapse.sims.multivariate.simulate` with a constant ``M``.
    M : int
        Its samples per generation.
    Sigma0 : array_like
        Its original covariance's eigenvalues.
    ddof : float
        Its variance estimator's delta degrees of freedom.
    workflow : Workflow
        Its workflow.

    Returns
    -------
    str

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.families.multivariate import summary
    >>> from modelcollapse.sims.multivariate import simulate
    >>> run = simulate(jax.random.key(0), M=10, Sigma0=[1.0, 2.0], generations=3, chains=500,
    ...                record=[0, 3])
    >>> summary(run, 10, [1.0, 2.0], 1, "replace").splitlines()[0].split()[:4]
    ['n', 'logdet', 'sim', '+-2se']
    """
    from modelcollapse.theory import multivariate as th

    eig = np.asarray(Sigma0, dtype=np.float64)
    d, det0 = eig.size, float(np.exp(np.sum(np.log(eig))))
    kw = {"ddof": ddof, "workflow": workflow}
    log_det = np.asarray(run.log_det, np.float64)
    cols = [
        Column("logdet", log_det, "mean",
               lambda n: th.expected_log_determinant(n, M, d, det0=det0, **kw)),
        Column("Var logdet", log_det, "variance",
               lambda n: th.log_determinant_variance(n, M, d, **kw)),
        Column("tr", np.exp(np.asarray(run.log_trace, np.float64)), "mean",
               lambda n: th.expected_trace(n, M, eig, **kw)),
        Column("|mu-mu0|^2", np.asarray(run.mean_sq, np.float64), "mean",
               lambda n: th.mean_drift_mse(n, M, eig, **kw)),
    ]
    return theory_table(np.asarray(run.generations), cols)


def _eigenvalues(args: argparse.Namespace) -> np.ndarray:
    """Sigma0's eigenvalues from ``--eigenvalues`` (else ``--d`` ones)."""
    if args.eigenvalues is None:
        if args.d is None:
            raise ValueError("give --d (Sigma0 = I_d) or --eigenvalues")
        return np.ones(args.d)
    eig = np.asarray(args.eigenvalues, dtype=np.float64)
    if args.d is not None and args.d != eig.size:
        raise ValueError(f"--d {args.d} disagrees with the {eig.size} values of --eigenvalues")
    if not np.all(np.isfinite(eig) & (eig > 0)):
        raise ValueError(f"--eigenvalues must be finite reals > 0 (got {eig.tolist()})")
    return eig


def _cmd_simulate(args: argparse.Namespace) -> int:
    from modelcollapse.sims.multivariate import simulate

    wf = workflow_from_args(args)
    eig = _eigenvalues(args)
    out = output_file(args.out) if args.out else None  # checked before the run
    g = args.generations
    run, elapsed = timed(simulate, key=as_key(args.seed), M=args.M, Sigma0=eig,
                         generations=g, chains=args.chains, ddof=args.ddof, method=args.method,
                         record=summary_record(g), progress=want_progress(args.progress),
                         devices=args.devices, workflow=wf)
    dev = f", {args.devices} devices" if args.devices > 1 else ""
    shown = ",".join(f"{v:g}" for v in eig[:6]) + (",..." if eig.size > 6 else "")
    print(f"Multivariate Gaussian refit ({wf!r}): d={eig.size}, Sigma0 eigenvalues [{shown}], "
          f"M={args.M}, ddof={args.ddof:g}, method={args.method}, {args.chains} chains{dev}, "
          f"{g} generations, seed {args.seed} ({elapsed:.2f} s)")
    print("simulated chain statistics (+- 2 standard errors) beside the exact theory\n")
    print(summary(run, args.M, eig, args.ddof, wf))
    if out is not None:
        run.save(out)
        print(f"\nsaved {out}")
    return 0


def add_simulate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``multivariate`` to the ``simulate`` command's sub-parsers; return the new parser.

    Options: ``--d`` or ``--eigenvalues`` (Sigma0's eigenvalues; default ``I_d``), ``--M``,
    ``--ddof``, ``--method`` (``bartlett`` or ``samples``), the workflow options (bias
    ``--variance-scale``) and the common run options.
    """
    p = subparsers.add_parser(
        "multivariate", help="d-dimensional Gaussian refit (Wishart products)",
        description="Refit a d-dimensional Gaussian (sample mean, covariance S / (M - ddof)) "
                    "on M samples of itself, generation after generation.")
    p.add_argument("--d", type=P.d.arg, default=None,
                   help=f"dimension: {P.d.domain} (default: the number of --eigenvalues; give "
                        "one of the two)")
    p.add_argument("--eigenvalues", type=float, nargs="+", default=None, metavar="L",
                   help="eigenvalues of Sigma0 (default: d ones, Sigma0 = I_d)")
    p.add_argument("--M", type=P.GAUSSIAN_M.arg, required=True,
                   help=f"samples per generation: {P.GAUSSIAN_M.domain}, > d + ddof")
    p.add_argument("--ddof", type=P.ddof.arg, default=1.0,
                   help="delta degrees of freedom: 1 unbiased (default), 0 maximum likelihood")
    p.add_argument("--method", choices=METHODS, default="bartlett",
                   help="simulator path: bartlett (exact law of the fit, fast) or samples "
                        "(draws and fits the M points)")
    add_run_arguments(p, chains=10_000)
    add_workflow_arguments(p, biases=("variance_scale",))
    p.set_defaults(func=_cmd_simulate)
    return p


FAMILY = FamilyEntry(NAME, "multivariate Gaussian refit: Wishart products, Bures-W2 "
                           "(Shumailov et al. 2024, Thm 3.1)", cases, add_simulate_command,
                     order=30)
