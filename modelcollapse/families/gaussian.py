"""The 1-D Gaussian family's front end: verification cases and ``modelcollapse simulate gaussian``.

Theory: :mod:`modelcollapse.theory.gaussian`; simulator: :mod:`modelcollapse.sims.gaussian`
(which never sees the theory). :func:`gaussian_checks` compares them at one generation; the
cases in :data:`GAUSSIAN_CASES` are registered with :mod:`modelcollapse.verify.registry`.

Only quantities whose Monte Carlo error is controlled are checked: moments of
``log sigma_n^2``, probabilities, and plain moments (``E sigma_n``, ``E (mu_n - mu_0)^2``,
``E W2^2``) only while ``n <= M``, before rare paths carry the mean (under the unbiased
estimator ``E sigma_n^2`` is constant while the typical ``sigma_n^2`` goes to 0).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from modelcollapse._cliutil import (
    add_run_arguments,
    as_key,
    output_file,
    se_mean,
    se_median,
    se_probability,
    summary_record,
    timed,
    want_progress,
)
from modelcollapse._cliworkflow import add_workflow_arguments
from modelcollapse.spec import params as P
from modelcollapse.verify.checks import (
    Check,
    bonferroni_z,
    mean_check,
    probability_check,
    variance_check,
)
from modelcollapse.verify.registry import Case, FamilyEntry

__all__ = ["GAUSSIAN_QUANTITIES", "GaussianCase", "GAUSSIAN_CASES", "gaussian_checks",
           "cases", "cases_of", "FAMILY"]

NAME = "gaussian"

#: Quantities checked per Gaussian case; moments of sigma_n and of the drift only while n <= M.
GAUSSIAN_QUANTITIES = (
    "E log sigma_n^2",
    "Var log sigma_n^2",
    "P(sigma_n^2 <= eps_lo)",
    "P(sigma_n^2 <= eps_hi)",
    "E sigma_n",
    "E (mu_n - mu_0)^2",
    "E W2^2",
)


def _default_theory() -> Any:
    from modelcollapse.theory import gaussian

    return gaussian


def gaussian_checks(
    seed: Any,
    *,
    M: int,
    n: int,
    ddof: float = 1,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    eps_z: Sequence[float] = (-1.0, 1.0),
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Compare the 1-D Gaussian closed forms with one simulation at generation ``n``.

    The simulation starts from N(0, 1) (sigma_0 = 1, so every quantity is a ratio to sigma_0)
    and runs ``n`` generations of "draw M points, refit" with ``chains`` independent chains.
    The collapse thresholds are ``eps = exp(E log sigma_n^2 + z sd)`` for ``z`` in ``eps_z``,
    so the checked probabilities are neither 0 nor 1.

    Parameters
    ----------
    seed : int or jax.Array
        An integer seed (``jax.random.key(seed)``) or a key.
    M, n, ddof, chains, method
        The simulation (see :func:`modelcollapse.sims.gaussian.simulate`).
    z_bound : float, optional
        The bound on |z|; default Bonferroni over this case's checks at alpha = 1e-3.
    eps_z : pair of float
        Positions of the two collapse thresholds, in standard deviations of log sigma_n^2.
    theory : module-like, optional
        Replaces :mod:`modelcollapse.theory.gaussian` (any object with the same function
        names): the tests feed a deliberately wrong formula this way and assert rejection.
    simulate : callable, optional
        Replaces the simulator.

    Returns
    -------
    list of Check
        At most ``len(GAUSSIAN_QUANTITIES)`` checks: the first four always, the three plain
        moments only while ``n <= M``.

    Notes
    -----
    The theory functions used are ``expected_log_variance``, ``log_variance_variance``,
    ``collapse_probability``, ``expected_std``, ``mean_drift_mse`` and
    ``expected_w2_squared`` (``W2^2 = (mu_n - mu_0)^2 + (sigma_n - sigma_0)^2``, the squared
    2-Wasserstein distance between N(mu_n, sigma_n^2) and N(mu_0, sigma_0^2)).

    Examples
    --------
    >>> from modelcollapse.families.gaussian import gaussian_checks
    >>> checks = gaussian_checks(0, M=10, n=5, chains=1000)
    >>> [c.quantity for c in checks]          # doctest: +NORMALIZE_WHITESPACE
    ['E log sigma_n^2', 'Var log sigma_n^2', 'P(sigma_n^2 <= eps_lo)',
     'P(sigma_n^2 <= eps_hi)', 'E sigma_n', 'E (mu_n - mu_0)^2', 'E W2^2']
    >>> all(c.passed for c in checks)         # fails with probability <= 1e-3
    True

    A formula off by a factor 1.5 is rejected:

    >>> from modelcollapse.theory import gaussian as th
    >>> from modelcollapse.verify.checks import perturbed
    >>> bad = perturbed(th, "expected_log_variance", 1.5)
    >>> gaussian_checks(0, M=10, n=5, chains=1000, theory=bad)[0].passed
    False
    """
    if simulate is None:
        from modelcollapse.sims.gaussian import simulate
    th = _default_theory() if theory is None else theory

    run = simulate(as_key(seed), M=M, generations=n, chains=chains, ddof=ddof, method=method,
                   record=[0, n] if n > 0 else [0])
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    log_var = np.asarray(run.log_variance, dtype=np.float64)[row]
    mean = np.asarray(run.mean, dtype=np.float64)[row]
    std = np.exp(0.5 * log_var)

    params = {"M": M, "n": n, "ddof": ddof, "method": method, "chains": chains}
    moments = ("E s", "E (", "E W")
    quantities = [q for q in GAUSSIAN_QUANTITIES if n <= M or not q.startswith(moments)]
    z = bonferroni_z(len(quantities)) if z_bound is None else z_bound

    m_log = float(th.expected_log_variance(n, M, ddof=ddof))
    v_log = float(th.log_variance_variance(n, M, ddof=ddof))
    checks = [
        mean_check(NAME, "E log sigma_n^2", log_var, m_log, z, **params),
        variance_check(NAME, "Var log sigma_n^2", log_var, v_log, z, **params),
    ]
    for label, ez in zip(("eps_lo", "eps_hi"), eps_z, strict=True):
        log_eps = m_log + ez * math.sqrt(v_log)
        eps = math.exp(log_eps)
        p = float(th.collapse_probability(n, M, eps, ddof=ddof))
        checks.append(probability_check(NAME, f"P(sigma_n^2 <= {label})", log_var <= log_eps,
                                        p, z, eps=eps, **params))
    if n <= M:
        w2 = mean**2 + (std - 1.0) ** 2
        checks += [
            mean_check(NAME, "E sigma_n", std, th.expected_std(n, M, ddof=ddof), z, **params),
            mean_check(NAME, "E (mu_n - mu_0)^2", mean**2, th.mean_drift_mse(n, M, ddof=ddof),
                       z, **params),
            mean_check(NAME, "E W2^2", w2, th.expected_w2_squared(n, M, ddof=ddof), z,
                       **params),
        ]
    return checks


class GaussianCase(NamedTuple):
    """One verification case: M samples per generation, generation n, the estimator, the path.

    Attributes
    ----------
    M : int
        Samples per generation (an integer >= 2, > ddof).
    n : int
        The checked generation.
    ddof : float
        Delta degrees of freedom of the variance estimator (1 unbiased, 0 maximum likelihood).
    method : {"sufficient", "samples"}
        Simulator path.

    Examples
    --------
    >>> from modelcollapse.families.gaussian import GaussianCase
    >>> GaussianCase(100, 1000, 1, "sufficient").label
    'M=100 n=1000 ddof=1 sufficient'
    """

    M: int
    n: int
    ddof: float
    method: str

    @property
    def label(self) -> str:
        """The case in words, unique within the family (the id of its registry case)."""
        return f"M={self.M} n={self.n} ddof={self.ddof:g} {self.method}"


#: Cases of the verification report: small and large M, n below and far above M, both
#: estimators, both simulator paths.
GAUSSIAN_CASES: tuple[GaussianCase, ...] = (
    GaussianCase(2, 5, 1, "samples"),
    GaussianCase(10, 10, 1, "samples"),
    GaussianCase(10, 10, 0, "sufficient"),
    GaussianCase(100, 100, 1, "samples"),
    GaussianCase(100, 100, 0, "samples"),
    GaussianCase(100, 1000, 1, "sufficient"),
    GaussianCase(100, 1000, 0, "sufficient"),
    GaussianCase(1000, 500, 1, "sufficient"),
    GaussianCase(10_000, 5000, 1, "sufficient"),
)


def cases_of(selected: Sequence[Any]) -> list[Case]:
    """Registry cases of the given :class:`GaussianCase` s (or ``(M, n, ddof, method)`` tuples).

    Each case runs :func:`gaussian_checks` with the report's key, chains and z bound and
    declares ``len(GAUSSIAN_QUANTITIES)`` checks.

    Parameters
    ----------
    selected : sequence of GaussianCase or tuple
        The cases.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.gaussian import cases_of
    >>> case = cases_of([(10, 5, 1, "samples")])[0]
    >>> case.id, case.max_checks
    ('gaussian/M=10 n=5 ddof=1 samples', 7)
    >>> checks = case.run(0, 1000, 3.8)    # key (or int seed), chains, z bound
    >>> len(checks), checks[0].z_bound
    (7, 3.8)
    """

    def runner(c: GaussianCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: gaussian_checks(key, M=c.M, n=c.n, ddof=c.ddof,
                                                      chains=chains, method=c.method, z_bound=z)

    out = []
    for c in selected:
        c = GaussianCase(*c)
        out.append(Case(NAME, c.label, len(GAUSSIAN_QUANTITIES), runner(c)))
    return out


def cases() -> list[Case]:
    """The registered verification cases: those of :data:`GAUSSIAN_CASES`, then the workflow
    cases (:data:`modelcollapse.families.gaussian_workflows.WORKFLOW_CASES`).

    Returns
    -------
    list of Case
        One registry case per entry of :data:`GAUSSIAN_CASES`, in order, then the workflow
        cases.

    Examples
    --------
    >>> from modelcollapse.families.gaussian import GAUSSIAN_CASES, cases
    >>> from modelcollapse.families.gaussian_workflows import WORKFLOW_CASES
    >>> len(cases()) == len(GAUSSIAN_CASES) + len(WORKFLOW_CASES), cases()[0].id
    (True, 'gaussian/M=2 n=5 ddof=1 samples')
    """
    from modelcollapse.families.gaussian_workflows import cases as workflow_cases

    return cases_of(GAUSSIAN_CASES) + workflow_cases()


# --------------------------------------------------------------------------------------------
# modelcollapse simulate gaussian
# --------------------------------------------------------------------------------------------
def summary(run: Any, M: int, ddof: float) -> str:
    """Table: per recorded generation, simulated chain statistics (+- 2 standard errors)
    beside the exact theory.

    Columns: ``n``; the chain mean of ``log sigma_n^2``; the median of ``sigma_n``; the
    fraction of chains with ``sigma_n^2 <= 0.01`` (``sigma_n <= 0.1``); the mean of
    ``(mu_n - mu_0)^2``. Each simulated column is followed by twice its standard error
    (``sd / sqrt(chains)`` for a mean, ``sqrt(p (1 - p) / chains)`` at the theory ``p`` for the
    fraction, order statistics for the median: see :mod:`modelcollapse._cliutil`) and the
    exact value (``sigma_0 = 1``).

    Parameters
    ----------
    run : GaussianRun
        A run of :func:`modelcollapse.sims.gaussian.simulate` from N(0, 1).
    M : int
        Its samples per generation.
    ddof : float
        Its variance estimator's ddof.

    Returns
    -------
    str
        A header line and one line per recorded generation.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.families.gaussian import summary
    >>> from modelcollapse.sims.gaussian import simulate
    >>> run = simulate(jax.random.key(0), M=10, generations=5, chains=1000, record=[1, 5])
    >>> table = summary(run, 10, 1).splitlines()
    >>> table[0].split()[:5]
    ['n', 'E', 'log', 's2', 'sim']
    >>> print(table[1])                 # generation 0: N(0, 1) itself, no uncertainty
    0  0  0  0  1  0  1  0  0  0  0  0  0
    """
    from modelcollapse.theory import gaussian as th

    gens = np.asarray(run.generations)
    lv = np.asarray(run.log_variance, dtype=np.float64)
    mu = np.asarray(run.mean, dtype=np.float64)
    chains = lv.shape[1]
    eps = 0.01
    se2 = f"{'+-2se':>8}"
    rows = [
        f"{'n':>7} {'E log s2 sim':>12} {se2} {'theory':>10} {'med sigma sim':>13} {se2} "
        f"{'theory':>10} {'P(s<=.1) sim':>12} {se2} {'theory':>10} {'E dmu^2 sim':>12} {se2} "
        f"{'theory':>10}"
    ]
    for i, n in enumerate(gens):
        n = int(n)
        sigma = np.exp(0.5 * lv[i])
        med = float(np.sqrt(th.variance_quantile(n, M, 0.5, ddof=ddof))) if n > 0 else 1.0
        p_th = float(th.collapse_probability(n, M, eps, ddof=ddof))
        rows.append(
            f"{n:>7d} {lv[i].mean():>12.5g} {2 * se_mean(lv[i]):>8.2g}"
            f" {float(th.expected_log_variance(n, M, ddof=ddof)):>10.5g}"
            f" {np.median(sigma):>13.5g} {2 * se_median(sigma):>8.2g} {med:>10.5g}"
            f" {np.mean(lv[i] <= np.log(eps)):>12.4g} {2 * se_probability(p_th, chains):>8.2g}"
            f" {p_th:>10.4g}"
            f" {np.mean(mu[i] ** 2):>12.5g} {2 * se_mean(mu[i] ** 2):>8.2g}"
            f" {float(th.mean_drift_mse(n, M, ddof=ddof)):>10.5g}"
        )
    return "\n".join(rows)


def workflow_summary(run: Any, M: int, ddof: float, workflow: Any) -> str:
    """Table of a run under a workflow: simulated statistics (+- 2 standard errors) beside the
    theory of the same workflow value.

    Columns: ``E sigma_n^2`` (:func:`modelcollapse.theory.gaussian.expected_variance`),
    ``E (mu_n - mu_0)^2`` (``mean_drift_mse``), ``E W2^2`` (``expected_w2_squared``) and
    ``E log sigma_n^2`` (``expected_log_variance``), each called with ``workflow=``; ``n/a``
    where the theory has no value for the workflow (its reason is printed below the table).

    Parameters
    ----------
    run : GaussianRun
        A run of :func:`modelcollapse.sims.gaussian.simulate` from N(0, 1).
    M : int
        Its samples per generation.
    ddof : float
        Its variance estimator's ddof.
    workflow : Workflow
        Its workflow.

    Returns
    -------
    str

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.families.gaussian import workflow_summary
    >>> from modelcollapse.sims.gaussian import simulate
    >>> from modelcollapse.spec.workflows import accumulate
    >>> run = simulate(jax.random.key(0), M=10, generations=5, chains=1000, record=[0, 5],
    ...                workflow=accumulate())
    >>> table = workflow_summary(run, 10, 1, accumulate()).splitlines()
    >>> table[0].split()[:4]
    ['n', 'E', 's2', 'sim']
    """
    from modelcollapse._cliworkflow import Column, theory_table
    from modelcollapse.theory import gaussian as th

    lv = np.asarray(run.log_variance, dtype=np.float64)
    mu = np.asarray(run.mean, dtype=np.float64)
    kw = {"ddof": ddof, "workflow": workflow}
    cols = [
        Column("E s2", np.exp(lv), "mean", lambda n: th.expected_variance(n, M, **kw)),
        Column("E dmu^2", mu**2, "mean", lambda n: th.mean_drift_mse(n, M, **kw)),
        Column("E W2^2", mu**2 + (np.exp(0.5 * lv) - 1.0) ** 2, "mean",
               lambda n: th.expected_w2_squared(n, M, **kw)),
        Column("E log s2", lv, "mean", lambda n: th.expected_log_variance(n, M, **kw)),
    ]
    return theory_table(np.asarray(run.generations), cols)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from modelcollapse._cliworkflow import workflow_from_args
    from modelcollapse.sims.gaussian import simulate
    from modelcollapse.spec.workflows import replace

    wf = workflow_from_args(args)
    out = output_file(args.out) if args.out else None  # checked before the run
    g = args.generations
    run, elapsed = timed(
        simulate, key=as_key(args.seed), M=args.M, generations=g, chains=args.chains,
        ddof=args.ddof, method=args.method, record=summary_record(g),
        progress=want_progress(args.progress), devices=args.devices, workflow=wf,
    )
    dev = f", {args.devices} devices" if args.devices > 1 else ""
    plain = wf == replace()
    print(f"1-D Gaussian, {'replace workflow' if plain else repr(wf)}: M={args.M}, "
          f"ddof={args.ddof:g}, method={args.method}, {args.chains} chains{dev}, {g} "
          f"generations, seed {args.seed} ({elapsed:.2f} s)")
    print("sigma_0 = 1; simulated chain statistics (+- 2 standard errors) beside the exact "
          "theory\n")
    print(summary(run, args.M, args.ddof) if plain
          else workflow_summary(run, args.M, args.ddof, wf))
    if out is not None:
        run.save(out)
        print(f"\nsaved {out}")
    return 0


def add_simulate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``gaussian`` to the ``simulate`` command's sub-parsers; return the new parser.

    Options: ``--M`` (validated as :data:`modelcollapse.spec.params.GAUSSIAN_M`, >= 2),
    ``--ddof``, ``--method`` and the common run options
    (:func:`modelcollapse._cliutil.add_run_arguments`).
    """
    g = subparsers.add_parser("gaussian", help="1-D Gaussian refit on its own samples",
                              description="Refit N(mu, sigma^2) on M samples of itself, "
                                          "generation after generation, from N(0, 1).")
    g.add_argument("--M", type=P.GAUSSIAN_M.arg, required=True,
                   help=f"samples per generation: {P.GAUSSIAN_M.domain}, > ddof")
    g.add_argument("--ddof", type=P.ddof.arg, default=1,
                   help=f"variance estimator's ddof: {P.ddof.domain} (1 unbiased, 0 MLE)")
    g.add_argument("--method", type=P.method.arg, default="sufficient",
                   help=f"simulator path, {P.method.domain}")
    add_run_arguments(g, chains=10_000)
    add_workflow_arguments(g, biases=("variance_scale", "truncation"))
    g.set_defaults(func=_cmd_simulate)
    return g


FAMILY = FamilyEntry(NAME, "1-D Gaussian refit (Shumailov et al. 2024, Thm 3.1)", cases,
                     add_simulate_command, order=0)
