"""The Poisson refit family's front end: verification cases and ``modelcollapse simulate poisson``.

Theory: :mod:`modelcollapse.theory.poisson`; simulator: :mod:`modelcollapse.sims.poisson` (which
never sees the theory). :func:`poisson_checks` compares them at one generation ``n``:

- ``E Lam_n = lam0`` (the rate is a martingale) and ``Var Lam_n = n lam0 / M``
  (``lam0 sum_i 1/M_i`` under a schedule);
- ``P(Lam_n = 0) = exp(-M lam0 g_n)`` (extinction; the schedule form under a schedule);
- ``P(Lam_n <= x)`` at the median ``x`` of the exact law of ``Lam_n`` (FFT inversion of the
  probability generating function; constant M only);
- ``E[Lam_n | Lam_n > 0] = lam0 / P(Lam_n > 0)`` over the surviving chains (constant M only);
- ``P(T <= n/2)`` for the extinction time ``T`` (first generation with ``Lam = 0``), from the
  simulator's per-chain extinction generations.

Probability checks are included only where ``chains P (1 - P) >= 50`` (decided from the theory
values alone). Reference: Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive
training" (AISTATS 2025).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from modelcollapse._cliutil import (
    add_run_arguments,
    as_key,
    output_file,
    se_mean,
    se_probability,
    se_variance,
    summary_record,
    timed,
    want_progress,
)
from modelcollapse._cliworkflow import add_workflow_arguments
from modelcollapse.spec import params as P
from modelcollapse.verify.checks import (
    MIN_EVENTS,
    Check,
    bonferroni_z,
    enough_events,
    mean_check,
    probability_check,
    variance_check,
)
from modelcollapse.verify.registry import Case, FamilyEntry

__all__ = ["POISSON_QUANTITIES", "PoissonCase", "POISSON_CASES", "poisson_checks", "cases",
           "cases_of", "FAMILY"]

NAME = "poisson"

#: Upper bound on the checks of one :func:`poisson_checks` call.
POISSON_QUANTITIES = (
    "E Lam_n",
    "Var Lam_n",
    "P(Lam_n = 0)",
    "P(Lam_n <= median)",
    "E[Lam_n | Lam_n > 0]",
    "P(T <= n/2)",
)



def _default_theory() -> Any:
    from modelcollapse.theory import poisson

    return poisson


def poisson_checks(
    seed: Any,
    *,
    lam0: float,
    M: int | Sequence[int],
    n: int,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Compare the Poisson refit's exact theory with one simulation at generation ``n``.

    Parameters
    ----------
    seed : int or jax.Array
        An integer seed (``jax.random.key(seed)``) or a key.
    lam0 : float
        The original rate.
    M : int or sequence of int
        Sample size, or a schedule of length ``n``.
    n : int
        The generation compared (>= 1); the simulation runs ``n`` generations.
    chains : int
        Simulated chains.
    method : {"sufficient", "samples"}
        Simulator path.
    z_bound : float, optional
        Bound on |z|; default Bonferroni over ``len(POISSON_QUANTITIES)`` at alpha = 1e-3.
    theory : module-like, optional
        Replaces :mod:`modelcollapse.theory.poisson` (the tests feed wrong formulas this way).
    simulate : callable, optional
        Replaces :func:`modelcollapse.sims.poisson.simulate`.

    Returns
    -------
    list of Check
        At most ``len(POISSON_QUANTITIES)`` checks (see the module docstring).

    Examples
    --------
    >>> from modelcollapse.families.poisson import poisson_checks
    >>> checks = poisson_checks(0, lam0=2.0, M=10, n=8, chains=4000)
    >>> [c.quantity for c in checks][:3], all(c.passed for c in checks)
    (['E Lam_n', 'Var Lam_n', 'P(Lam_n = 0)'], True)
    """
    if simulate is None:
        from modelcollapse.sims.poisson import simulate
    th = _default_theory() if theory is None else theory
    n = P.n.restrict(low=1).scalar(n)
    scheduled = np.ndim(M) > 0
    half = max(1, n // 2)
    run = simulate(as_key(seed), lam0=lam0, M=M, generations=n, chains=chains, method=method,
                   record=[n])
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    rate = np.asarray(run.rate, np.float64)[row]
    ext = np.asarray(run.extinction_generation)
    z = bonferroni_z(len(POISSON_QUANTITIES)) if z_bound is None else float(z_bound)
    params = {"lam0": lam0, "M": f"{M[0]}..{M[-1]}" if scheduled else M,  # type: ignore[index]
              "n": n, "method": method, "chains": chains}
    if scheduled:
        var = float(th.rate_variance_schedule(lam0, M)[n])
        p_ext = th.extinction_probability_schedule(lam0, M)
        p0, p_half = float(p_ext[n]), float(p_ext[half])
    else:
        var = float(th.rate_variance(n, lam0, M))
        p0 = float(th.extinction_probability(n, lam0, M))
        p_half = float(th.extinction_probability(half, lam0, M))
    checks = [
        mean_check(NAME, "E Lam_n", rate, float(th.expected_rate(n, lam0, M if not scheduled
                                                                 else M[0])), z, **params),
        variance_check(NAME, "Var Lam_n", rate, var, z, **params),
    ]
    if enough_events(p0, chains):
        checks.append(probability_check(NAME, "P(Lam_n = 0)", rate == 0, p0, z, **params))
    if not scheduled:
        med = float(th.rate_quantile(n, lam0, M, 0.5))
        p_med = float(th.rate_cdf(n, lam0, M, med))
        if enough_events(p_med, chains):  # compared on the integer totals S_n = M Lam_n
            below = np.asarray(run.total)[row] <= round(med * M)
            checks.append(probability_check(NAME, "P(Lam_n <= median)", below, p_med, z,
                                            median=med, **params))
        alive = rate[rate > 0]
        if chains * (1.0 - p0) >= MIN_EVENTS and alive.size >= 2:  # expected survivors
            checks.append(mean_check(NAME, "E[Lam_n | Lam_n > 0]", alive,
                                     float(th.conditional_expected_rate(n, lam0, M)), z,
                                     **params))
    if enough_events(p_half, chains):
        died = (ext >= 1) & (ext <= half)
        checks.append(probability_check(NAME, "P(T <= n/2)", died, p_half, z, **params))
    return checks


class PoissonCase(NamedTuple):
    """One verification case: rate lam0, sample size (or schedule) M, generation n, path."""

    lam0: float
    M: int | tuple[int, ...]
    n: int
    method: str

    @property
    def label(self) -> str:
        m = self.M if isinstance(self.M, int) else f"{self.M[0]}..{self.M[-1]}"
        return f"lam0={self.lam0:g} M={m} n={self.n} {self.method}"


#: Cases of the verification report: small and large M lam0, n below and far above M lam0 (most
#: chains extinct), both simulator paths, one growing schedule.
POISSON_CASES: tuple[PoissonCase, ...] = (
    PoissonCase(1.0, 5, 10, "samples"),
    PoissonCase(3.0, 20, 5, "samples"),
    PoissonCase(2.0, 10, 30, "sufficient"),
    PoissonCase(0.5, 100, 200, "sufficient"),
    PoissonCase(1.0, 1000, 1000, "sufficient"),
    PoissonCase(1.0, tuple(range(5, 25)), 20, "samples"),
)


def cases_of(selected: Sequence[Any]) -> list[Case]:
    """Registry cases of the given :class:`PoissonCase` s.

    Parameters
    ----------
    selected : sequence
        :class:`PoissonCase` values or ``(lam0, M, n, method)`` tuples.

    Returns
    -------
    list of Case
        Each runs :func:`poisson_checks` with the report's key, chains and z bound; at most
        ``len(POISSON_QUANTITIES)`` checks each.

    Examples
    --------
    >>> from modelcollapse.families.poisson import cases_of
    >>> [c.id for c in cases_of([(2.0, 10, 30, "sufficient")])]
    ['poisson/lam0=2 M=10 n=30 sufficient']
    """

    def runner(c: PoissonCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: poisson_checks(key, lam0=c.lam0, M=c.M, n=c.n,
                                                     chains=chains, method=c.method, z_bound=z)

    out = []
    for c in selected:
        c = PoissonCase(*c)
        out.append(Case(NAME, c.label, len(POISSON_QUANTITIES), runner(c)))
    return out


def cases() -> list[Case]:
    """The registered verification cases: those of :data:`POISSON_CASES` and the workflow
    cases of :mod:`modelcollapse.families.poisson_workflows`.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.poisson import POISSON_CASES, cases
    >>> from modelcollapse.families.poisson_workflows import cases as workflow_cases
    >>> len(cases()) == len(POISSON_CASES) + len(workflow_cases())
    True
    >>> cases()[len(POISSON_CASES) - 1].label
    'lam0=1 M=5..24 n=20 samples'
    """
    from modelcollapse.families.poisson_workflows import cases as workflow_cases

    return cases_of(POISSON_CASES) + workflow_cases()


# --------------------------------------------------------------------------------------------
# modelcollapse simulate poisson
# --------------------------------------------------------------------------------------------
def summary(run: Any, lam0: float, M: int) -> str:
    """Table: per recorded generation, simulated chain statistics (+- 2 standard errors)
    beside the exact theory.

    Columns: ``n``; the chain mean of the rate ``Lam_n``; its variance over the chains; the
    fraction of extinct chains (``Lam_n = 0``); the mean rate of the surviving chains. Each
    simulated column is followed by twice its standard error (``sd / sqrt(N)`` for a mean,
    ``sqrt((m4 - s^4) / N)`` for the variance, ``sqrt(p (1 - p) / N)`` at the theory ``p`` for
    the fraction; ``N`` the chains, or the surviving chains) and the exact value.

    Parameters
    ----------
    run : PoissonRun
        A run of :func:`modelcollapse.sims.poisson.simulate` with a constant ``M``.
    lam0 : float
        Its original rate.
    M : int
        Its samples per generation.

    Returns
    -------
    str
        A header line and one line per recorded generation.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.families.poisson import summary
    >>> from modelcollapse.sims.poisson import simulate
    >>> run = simulate(jax.random.key(0), lam0=1.0, M=10, generations=5, chains=1000,
    ...                record=[1, 5])
    >>> table = summary(run, 1.0, 10).splitlines()
    >>> len(table), table[0].split()[:5]
    (4, ['n', 'E', 'Lam', 'sim', '+-2se'])
    >>> print(table[1])                 # generation 0: every chain at lam0
    0  1  0  1  0  0  0  0  0  0  1  0  1
    """
    from modelcollapse.theory import poisson as th

    se2 = f"{'+-2se':>8}"
    rows = [f"{'n':>7} {'E Lam sim':>10} {se2} {'theory':>9} {'Var sim':>10} {se2} "
            f"{'theory':>10} {'P(Lam=0) sim':>12} {se2} {'theory':>10} {'E[Lam|>0] sim':>13} "
            f"{se2} {'theory':>10}"]
    rate = np.asarray(run.rate, np.float64)
    chains = rate.shape[1]
    for i, n in enumerate(np.asarray(run.generations)):
        n = int(n)
        r = rate[i]
        alive = r[r > 0]
        cond = float(th.conditional_expected_rate(n, lam0, M))
        p_ext = float(th.extinction_probability(n, lam0, M))
        var_sim = float(r.var(ddof=1)) if r.size > 1 else float("nan")
        rows.append(
            f"{n:>7d} {r.mean():>10.5g} {2 * se_mean(r):>8.2g} "
            f"{float(th.expected_rate(n, lam0, M)):>9.5g} "
            f"{var_sim:>10.5g} {2 * se_variance(r):>8.2g} "
            f"{float(th.rate_variance(n, lam0, M)):>10.5g} "
            f"{np.mean(r == 0):>12.4g} {2 * se_probability(p_ext, chains):>8.2g} {p_ext:>10.4g} "
            f"{(alive.mean() if alive.size else float('nan')):>13.5g} "
            f"{2 * se_mean(alive):>8.2g} {cond:>10.5g}")
    return "\n".join(rows)


def workflow_summary(run: Any, lam0: float, M: int, workflow: Any) -> str:
    """Table of a run under a workflow: simulated statistics (+- 2 standard errors) beside the
    theory of the same workflow value.

    Columns: ``E Lam_n`` (:func:`modelcollapse.theory.poisson.expected_rate`), ``Var Lam_n``
    (``rate_variance``) and ``P(Lam_n = 0)`` (``extinction_probability``), each called with
    ``workflow=``; ``n/a`` where the theory has no value for the workflow.

    Parameters
    ----------
    run : PoissonRun
        A run of :func:`modelcollapse.sims.poisson.simulate` with a constant ``M``.
    lam0 : float
        Its original rate.
    M : int
        Its samples per generation.
    workflow : Workflow
        Its workflow.

    Returns
    -------
    str

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.families.poisson import workflow_summary
    >>> from modelcollapse.sims.poisson import simulate
    >>> run = simulate(jax.random.key(0), lam0=1.0, M=10, generations=3, chains=500,
    ...                record=[0, 3])
    >>> workflow_summary(run, 1.0, 10, "replace").splitlines()[0].split()[:4]
    ['n', 'E', 'Lam', 'sim']
    """
    from modelcollapse._cliworkflow import Column, theory_table
    from modelcollapse.theory import poisson as th

    rate = np.asarray(run.rate, np.float64)
    kw = {"workflow": workflow}
    cols = [
        Column("E Lam", rate, "mean", lambda n: th.expected_rate(n, lam0, M, **kw)),
        Column("Var Lam", rate, "variance", lambda n: th.rate_variance(n, lam0, M, **kw)),
        Column("P(Lam=0)", rate == 0, "fraction",
               lambda n: th.extinction_probability(n, lam0, M, **kw)),
    ]
    return theory_table(np.asarray(run.generations), cols)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from modelcollapse._cliworkflow import workflow_from_args
    from modelcollapse.sims.poisson import simulate
    from modelcollapse.spec.workflows import replace

    wf = workflow_from_args(args)
    plain = wf == replace()

    out = output_file(args.out) if args.out else None  # checked before the run
    g = args.generations
    run, elapsed = timed(simulate, key=as_key(args.seed), lam0=args.lam0, M=args.M,
                         generations=g, chains=args.chains, method=args.method,
                         record=summary_record(g), progress=want_progress(args.progress),
                         devices=args.devices, workflow=wf)
    dev = f", {args.devices} devices" if args.devices > 1 else ""
    print(f"Poisson refit ({'critical Galton-Watson' if plain else repr(wf)}): "
          f"lam0={args.lam0:g}, M={args.M}, "
          f"method={args.method}, {args.chains} chains{dev}, {g} generations, seed {args.seed} "
          f"({elapsed:.2f} s)")
    print("simulated chain statistics (+- 2 standard errors) beside the exact theory\n")
    print(summary(run, args.lam0, args.M) if plain
          else workflow_summary(run, args.lam0, args.M, wf))
    if out is not None:
        run.save(out)
        print(f"\nsaved {out}")
    return 0


def add_simulate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``poisson`` to the ``simulate`` command's sub-parsers; return the new parser.

    Options: ``--lam0``, ``--M`` (validated as :data:`modelcollapse.spec.params.M`),
    ``--method`` and the common run options (:func:`modelcollapse._cliutil.add_run_arguments`).
    """
    p = subparsers.add_parser("poisson", help="Poisson rate refit by the mean of its samples",
                              description="Refit a Poisson rate by the mean of M samples of "
                                          "itself, generation after generation.")
    p.add_argument("--lam0", type=P.lam0.arg, required=True,
                   help=f"original rate: {P.lam0.domain}")
    p.add_argument("--M", type=P.M.arg, required=True,
                   help=f"samples per generation: {P.M.domain}")
    p.add_argument("--method", type=P.method.arg, default="sufficient",
                   help=f"simulator path, {P.method.domain}")
    add_run_arguments(p, chains=10_000)
    add_workflow_arguments(p, biases=())
    p.set_defaults(func=_cmd_simulate)
    return p


FAMILY = FamilyEntry(NAME, "Poisson refit = critical Galton-Watson (Suresh et al. 2025)", cases,
                     add_simulate_command, order=20)
