"""The categorical (Wright-Fisher) family's front end: verification cases and
``modelcollapse simulate discrete``.

Each check compares an exact formula of :mod:`modelcollapse.theory.discrete` with a Monte Carlo
estimate from :mod:`modelcollapse.sims.discrete` (which never sees the formula), using the
:class:`~modelcollapse.verify.checks.Check` machinery: a check passes when
``|estimate - theory| <= z_bound * se``.

Convention: generation 0 is ``p0``; generation ``n`` is the model after ``n`` rounds of "draw M
samples from the current model, refit by empirical frequencies" (neutral haploid Wright-Fisher with
population size ``M``). A symbol is *lost by n* when its count at generation ``n`` is 0 (state 0 is
absorbing, so this is also "lost at some generation <= n"); the run is *absorbed by n* when a single
symbol is left.

Quantities per case (:func:`discrete_checks`, at one generation ``n``):

- ``E H_n``: mean heterozygosity (Gini-Simpson), exact ``(1 - 1/M)^n (1 - sum p0^2)``;
- ``E S_n``: mean number of surviving symbols, exact ``sum_i (1 - P(lost_i by n))``;
- ``P(lost by n) #1/#2``: two symbols' loss probabilities (exact chain), from the simulator's
  per-symbol first-extinction generations;
- ``P(absorbed by n)``: ``sum_i P(symbol i fixed by n) = sum_i P(lost by n | p = 1 - p0_i)`` (a
  symbol's complement is again a binomial chain, started at ``1 - p0_i``; fixations of different
  symbols are disjoint events);
- ``P(1 <= c_n <= m)`` and ``Var c_n``: the count ``c_n`` of the most probable symbol against its
  exact pmf (:func:`~modelcollapse.theory.discrete.count_distribution`), ``m`` the median of the
  pmf restricted to ``1..M-1`` (so the event differs from loss and fixation); needs the counts,
  so only for ``K <= MAX_K_COUNTS``.

Probability checks are included only where ``chains * P (1 - P) >= MIN_EVENTS`` (the normal
approximation behind ``se = sqrt(P (1 - P) / N)`` is poor for a handful of expected events); which
checks run depends only on the theory values, never on the simulation. When every simulated value
of a bounded quantity is equal (sample se = 0), the se falls back to the Bhatia-Davis bound
(:func:`~modelcollapse.verify.checks.bounded_mean_check`).

:func:`absorption_checks` runs a two-symbol vocabulary until every chain is absorbed (asserted)
and checks the mean absorption time, the mean times conditional on loss and on fixation (exact
fundamental-matrix values) and the fixation probability ``p`` (martingale).

References: Ewens, *Mathematical Population Genetics* (2004), ch. 1-5; Shumailov et al., Nature
631 (2024), sec. 3.1; Kemeny & Snell, *Finite Markov Chains* (1960).
"""

from __future__ import annotations

import argparse
import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from modelcollapse._cliutil import (
    add_run_arguments,
    as_key,
    output_file,
    se_mean,
    se_probability,
    summary_record,
    timed,
    want_progress,
)
from modelcollapse._cliworkflow import add_workflow_arguments
from modelcollapse.spec import params as P
from modelcollapse.verify.checks import (
    DEFAULT_ALPHA,
    MIN_EVENTS,
    Check,
    bonferroni_z,
    bounded_mean_check,
    enough_events,
    mean_check,
    probability_check,
    variance_check,
)
from modelcollapse.verify.registry import Case, FamilyEntry

__all__ = [
    "DISCRETE_QUANTITIES",
    "ABSORPTION_QUANTITIES",
    "DiscreteCase",
    "AbsorptionCase",
    "DISCRETE_CASES",
    "ABSORPTION_CASES",
    "cases",
    "FAMILY",
    "parse_p0",
    "discrete_summary",
    "MAX_K_COUNTS",
    "MIN_EVENTS",
    "zipf_p0",
    "discrete_checks",
    "absorption_checks",
    "max_discrete_checks",
    "run_discrete_verification",
]

#: Upper bound on the checks one :func:`discrete_checks` call returns (for Bonferroni).
DISCRETE_QUANTITIES = (
    "E H_n",
    "E S_n",
    "P(lost by n) #1",
    "P(lost by n) #2",
    "P(absorbed by n)",
    "P(1 <= c_n <= m)",
    "Var c_n",
)

#: The checks of :func:`absorption_checks`.
ABSORPTION_QUANTITIES = ("E T_abs", "E[T | loss]", "E[T | fix]", "P(fix)")

#: Largest vocabulary for which the counts are recorded (the count-pmf checks need them).
MAX_K_COUNTS = 256

#: Minimum ``chains * P (1 - P)`` for a probability check to be included.

NAME = "discrete"


def _default_theory() -> Any:
    from modelcollapse.theory import discrete

    return discrete


_EXPONENT = P.Param("exponent", "Zipf exponent s of p_i ~ i^-s (0: uniform)", low=0.0)


def zipf_p0(K: int, exponent: float) -> np.ndarray:
    """Zipf law over ``K`` symbols: ``p_i = i^(-exponent) / sum_j j^(-exponent)``, ``i = 1..K``.

    ``exponent = 0`` gives the uniform distribution. Raises ``ValueError`` for ``K < 1`` or a
    negative / non-finite exponent.

    Parameters
    ----------
    K : int
        Number of symbols, an integer >= 1.
    exponent : float
        Zipf exponent s, a finite real >= 0.

    Returns
    -------
    numpy.ndarray
        float64 ``(K,)`` probabilities, decreasing (constant for ``exponent = 0``).

    Examples
    --------
    >>> from modelcollapse.families.discrete import zipf_p0
    >>> [round(float(v), 4) for v in zipf_p0(3, 1.0)]        # (1, 1/2, 1/3) / (11/6)
    [0.5455, 0.2727, 0.1818]
    >>> zipf_p0(4, 0.0).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> zipf_p0(3, -1.0)
    Traceback (most recent call last):
    ...
    ValueError: exponent must be a finite real >= 0 (got -1.0)
    """
    K = P.K.scalar(K)
    s = _EXPONENT.scalar(exponent)
    w = np.arange(1, K + 1, dtype=np.float64) ** (-s)
    return w / w.sum()


def _bounded_mean_check(
    quantity: str, x: np.ndarray, theory: float, z: float, lo: float, hi: float, **params: Any
) -> Check:
    return bounded_mean_check(NAME, quantity, x, theory, z, lo, hi, **params)


def _pick_symbols(loss: np.ndarray, chains: int, k: int = 2) -> list[int]:
    """Up to ``k`` symbols whose loss probability is informative: the one closest to 1/2 and the
    rarest eligible one (chosen from the theory values only)."""
    eligible = [i for i in range(loss.size) if enough_events(float(loss[i]), chains)]
    if not eligible:
        return []
    first = min(eligible, key=lambda i: abs(float(loss[i]) - 0.5))
    out = [first]
    rest = [i for i in eligible if i != first]
    if rest and k > 1:
        out.append(max(rest, key=lambda i: float(loss[i])))
    return out


def discrete_checks(
    seed: Any,
    *,
    p0: ArrayLike,
    M: int,
    n: int,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
    generations: int | None = None,
) -> list[Check]:
    """Compare the exact categorical formulas with one simulation, at generation ``n``.

    Simulates ``chains`` chains from ``p0`` with ``M`` samples per generation (``seed``: an int
    for ``jax.random.key(seed)`` or a key; simulator path ``method``) and returns the checks
    listed in the module docstring (at most ``len(DISCRETE_QUANTITIES)``). ``generations``
    (default ``n``) may exceed ``n``: the simulation then runs longer (reusing a compiled
    simulator of that length) and every check still refers to generation ``n``.

    ``theory`` may replace :mod:`modelcollapse.theory.discrete` by any object with the same
    function names (e.g. :func:`modelcollapse.verify.checks.perturbed`): the tests feed wrong
    formulas this way and assert rejection. ``z_bound`` defaults to the Bonferroni bound over
    ``len(DISCRETE_QUANTITIES)`` checks at family-wise ``alpha = 1e-3``.

    Raises ``ValueError`` for ``n < 1`` or ``generations < n``.

    Parameters
    ----------
    seed : int or jax.Array
        An integer seed (``jax.random.key(seed)``) or a key.
    p0 : array_like
        The original distribution (K,), a probability vector.
    M : int
        Samples per generation (see :func:`modelcollapse.sims.discrete.simulate`).
    n : int
        The checked generation, an integer >= 1.
    chains : int
        Number of simulated chains.
    method : {"sufficient", "samples"}
        Simulator path.
    z_bound : float, optional
        The bound on |z|; default Bonferroni over ``len(DISCRETE_QUANTITIES)`` at 1e-3.
    theory : module-like, optional
        Replaces :mod:`modelcollapse.theory.discrete`.
    simulate : callable, optional
        Replaces the simulator.
    generations : int, optional
        Generations to simulate, >= ``n`` (default ``n``).

    Returns
    -------
    list of Check
        At most ``len(DISCRETE_QUANTITIES)``; a probability check is left out when
        ``chains * P (1 - P) < MIN_EVENTS``, the count checks when ``K > MAX_K_COUNTS``.

    Examples
    --------
    >>> from modelcollapse.families.discrete import discrete_checks
    >>> checks = discrete_checks(0, p0=[0.5, 0.3, 0.2], M=10, n=5, chains=1000)
    >>> [c.quantity for c in checks]          # doctest: +NORMALIZE_WHITESPACE
    ['E H_n', 'E S_n', 'P(lost by n) #1', 'P(lost by n) #2', 'P(absorbed by n)',
     'P(1 <= c_n <= m)', 'Var c_n']
    >>> all(c.passed for c in checks)         # fails with probability <= 1e-3
    True
    >>> discrete_checks(0, p0=[0.5, 0.5], M=10, n=0)
    Traceback (most recent call last):
    ...
    ValueError: n must be an integer >= 1 (got 0)
    """
    if simulate is None:
        from modelcollapse.sims.discrete import simulate
    th = _default_theory() if theory is None else theory
    n = P.n.restrict(low=1).scalar(n)
    G = n if generations is None else int(generations)
    if G < n:
        raise ValueError(f"generations must be >= n = {n} (got {generations!r})")
    p = np.asarray(p0, dtype=np.float64)
    K = int(p.size)
    want_counts = K <= MAX_K_COUNTS
    run = simulate(
        as_key(seed), p0=p, M=M, generations=G, chains=chains, method=method,
        record=[n], record_counts=want_counts,
    )
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    z = bonferroni_z(len(DISCRETE_QUANTITIES)) if z_bound is None else float(z_bound)
    params = {"M": M, "n": n, "K": K, "method": method, "chains": chains}
    support = int(np.sum(p > 0))

    het = np.asarray(run.heterozygosity, dtype=np.float64)[row]
    surv = np.asarray(run.survivors, dtype=np.float64)[row]
    h_max = 1.0 - 1.0 / max(support, 1)
    checks = [
        _bounded_mean_check(
            "E H_n", het, float(th.expected_heterozygosity(n, p, M)), z, 0.0, h_max, **params
        ),
        _bounded_mean_check(
            "E S_n", surv, float(th.expected_survivors(n, p, M)), z, 1.0, float(support),
            **params,
        ),
    ]

    loss = np.asarray(th.extinction_probability(n, p, M), dtype=np.float64)
    ext = run.extinction_generation
    if ext is not None:
        ext = np.asarray(ext)
        for j, i in enumerate(_pick_symbols(loss, chains)):
            lost = (ext[:, i] >= 0) & (ext[:, i] <= n)
            checks.append(
                probability_check(
                    NAME, f"P(lost by n) #{j + 1}", lost, float(loss[i]), z, p_i=float(p[i]),
                    **params,
                )
            )

    p_abs = float(np.sum(th.extinction_probability(n, 1.0 - p[p > 0], M)))
    if support > 1 and enough_events(min(p_abs, 1.0), chains):
        absg = np.asarray(run.absorption_generation)
        absorbed = (absg >= 0) & (absg <= n)
        checks.append(probability_check(NAME, "P(absorbed by n)", absorbed, p_abs, z, **params))

    if want_counts and run.counts is not None:
        i = int(np.argmax(p))
        c = np.asarray(run.counts)[row, :, i].astype(np.float64)
        pmf = np.asarray(th.count_distribution(n, p[i], M), dtype=np.float64)
        # interior event 1 <= c_n <= m (distinct from loss and fixation), m the median of the
        # pmf restricted to the transient states 1..M-1
        inner = np.cumsum(pmf[1:M]) if M >= 2 else np.zeros(0)
        if inner.size and inner[-1] > 0:
            m = 1 + int(np.searchsorted(inner, 0.5 * inner[-1]))
            p_in = float(inner[m - 1])
            if enough_events(p_in, chains):
                checks.append(
                    probability_check(
                        NAME, "P(1 <= c_n <= m)", (c >= 1) & (c <= m), p_in, z,
                        p_i=float(p[i]), m=m, **params,
                    )
                )
        k = np.arange(M + 1, dtype=np.float64)
        mean_c = float(pmf @ k)
        var_c = float(pmf @ (k - mean_c) ** 2)
        if var_c > 0:
            checks.append(
                variance_check(NAME, "Var c_n", c, var_c, z, p_i=float(p[i]), **params)
            )
    return checks


def _absorption_horizon(M: int, chains: int) -> int:
    """Generations after which no chain is left unabsorbed, except with tiny probability.

    The two-symbol chain's transient mass decays like ``lambda^t`` with ``lambda = 1 - 1/M`` (the
    second eigenvalue of the Wright-Fisher matrix) and a prefactor below 2, so
    ``t = M (ln(chains) + 30)`` leaves each chain unabsorbed with probability below
    ``2 e^{-30} / chains``.
    """
    return int(math.ceil(max(M, 1) * (math.log(max(chains, 1)) + 30.0))) + 5


def absorption_checks(
    seed: Any,
    *,
    p: float,
    M: int,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Absorption of a two-symbol vocabulary ``p0 = (p, 1 - p)``: mean times and fixation.

    Runs ``M (ln(chains) + 30)`` generations (rounded up, plus 5), so that every chain is
    absorbed; raises ``RuntimeError`` if one is not (that would mean the run was too short, not
    a failed check).
    Checks (time = first generation with a single symbol left; generation 0 is ``p0``):

    - ``E T_abs`` against ``expected_absorption_time(p, M)``;
    - ``E[T | loss]``: the chains where symbol 1 (probability ``p``) is lost, against
      ``expected_time_to_loss(p, M)``;
    - ``E[T | fix]``: the chains where it takes over, against ``expected_time_to_fixation``;
    - ``P(fix)``: the fraction where it takes over, against ``fixation_probability(p) = p``.

    ``theory`` and ``z_bound`` as in :func:`discrete_checks` (default Bonferroni over these 4).

    Parameters
    ----------
    seed : int or jax.Array
        An integer seed or a key.
    p : float
        Probability of symbol 1, in (0, 1).
    M : int
        Samples per generation.
    chains : int
        Number of simulated chains.
    method : {"sufficient", "samples"}
        Simulator path.
    z_bound : float, optional
        The bound on |z|; default Bonferroni over ``len(ABSORPTION_QUANTITIES)`` at 1e-3.
    theory : module-like, optional
        Replaces :mod:`modelcollapse.theory.discrete`.
    simulate : callable, optional
        Replaces the simulator.

    Returns
    -------
    list of Check
        In the order ``E T_abs``, ``P(fix)``, ``E[T | loss]``, ``E[T | fix]`` (a conditional
        mean only when at least 2 chains end that way).

    Raises
    ------
    ValueError
        For ``p`` outside (0, 1).
    RuntimeError
        If a chain is not absorbed within the horizon.

    Examples
    --------
    >>> from modelcollapse.families.discrete import absorption_checks
    >>> checks = absorption_checks(0, p=0.5, M=4, chains=1000)
    >>> [c.quantity for c in checks]
    ['E T_abs', 'P(fix)', 'E[T | loss]', 'E[T | fix]']
    >>> checks[0].params["n"]                 # ceil(4 (ln(1000) + 30)) + 5 generations
    153
    >>> all(c.passed for c in checks)         # fails with probability <= 1e-3
    True
    """
    if simulate is None:
        from modelcollapse.sims.discrete import simulate
    th = _default_theory() if theory is None else theory
    pf = float(p)
    if not 0.0 < pf < 1.0:
        raise ValueError(f"p must lie in (0, 1) for the absorption checks (got {p!r})")
    G = _absorption_horizon(M, chains)
    run = simulate(
        as_key(seed), p0=[pf, 1.0 - pf], M=M, generations=G, chains=chains,
        method=method, record=[G],
    )
    absg = np.asarray(run.absorption_generation)
    if np.any(absg < 0):
        raise RuntimeError(
            f"{int(np.sum(absg < 0))} of {chains} chains not absorbed after {G} generations "
            f"(M={M}, p={pf}); the horizon is too short"
        )
    ext = np.asarray(run.extinction_generation)
    lost = ext[:, 0] >= 0
    fixed = ~lost
    t = absg.astype(np.float64)
    z = bonferroni_z(len(ABSORPTION_QUANTITIES)) if z_bound is None else float(z_bound)
    params = {"M": M, "n": G, "p": pf, "K": 2, "method": method, "chains": chains}
    checks = [
        mean_check(NAME, "E T_abs", t, float(th.expected_absorption_time(pf, M)), z, **params),
        probability_check(NAME, "P(fix)", fixed, float(th.fixation_probability(pf)), z,
                          **params),
    ]
    if lost.sum() >= 2:
        checks.append(
            mean_check(NAME, "E[T | loss]", t[lost], float(th.expected_time_to_loss(pf, M)), z,
                       **params)
        )
    if fixed.sum() >= 2:
        checks.append(
            mean_check(NAME, "E[T | fix]", t[fixed],
                       float(th.expected_time_to_fixation(pf, M)), z, **params)
        )
    return checks


class DiscreteCase(NamedTuple):
    """One verification case: ``p0 = zipf_p0(K, exponent)`` (exponent 0: uniform); at most
    ``max_chains`` chains (None: as many as the report asks for).

    Attributes
    ----------
    K : int
        Number of symbols.
    exponent : float
        Zipf exponent of p0 (0: uniform).
    M : int
        Samples per generation.
    n : int
        The checked generation.
    method : {"sufficient", "samples"}
        Simulator path.
    max_chains : int or None
        Cap on the chains of the case.

    Examples
    --------
    >>> from modelcollapse.families.discrete import DiscreteCase
    >>> case = DiscreteCase(3, 1.0, 10, 5, "sufficient")
    >>> case.label, case.p0.shape
    ('K=3 zipf=1 M=10 n=5 sufficient', (3,))
    """

    K: int
    exponent: float
    M: int
    n: int
    method: str
    max_chains: int | None = None

    @property
    def p0(self) -> np.ndarray:
        """The case's original distribution, ``zipf_p0(K, exponent)``."""
        return zipf_p0(self.K, self.exponent)

    @property
    def label(self) -> str:
        """The case in words, unique within the family."""
        return f"K={self.K} zipf={self.exponent:g} M={self.M} n={self.n} {self.method}"


class AbsorptionCase(NamedTuple):
    """One absorption case: a two-symbol vocabulary ``(p, 1 - p)`` run until absorbed.

    Attributes
    ----------
    p : float
        Probability of symbol 1, in (0, 1).
    M : int
        Samples per generation.
    method : {"sufficient", "samples"}
        Simulator path.

    Examples
    --------
    >>> from modelcollapse.families.discrete import AbsorptionCase
    >>> AbsorptionCase(0.2, 30, "sufficient").label
    'absorption p=0.2 M=30 sufficient'
    """

    p: float
    M: int
    method: str

    @property
    def label(self) -> str:
        """The case in words, unique within the family."""
        return f"absorption p={self.p:g} M={self.M} {self.method}"


#: Cases of the verification report: K from 2 to 1000 (uniform and Zipf), M from 2 to 5000,
#: n below and above M, both simulator paths. Sizes are chosen for the measured simulator cost
#: on 2 CPU cores (the count path costs ~K per chain and generation and compiles slowly for
#: large K; the sample path costs ~M); the K = 1000 case is capped at 50000 chains so that the
#: simulator still tracks per-symbol extinction (it stops above chains * K = 2**26).
DISCRETE_CASES: tuple[DiscreteCase, ...] = (
    DiscreteCase(2, 1.0, 2, 3, "samples"),
    DiscreteCase(2, 3.0, 50, 40, "sufficient"),
    DiscreteCase(5, 0.0, 10, 10, "samples"),
    DiscreteCase(10, 1.0, 100, 150, "sufficient"),
    DiscreteCase(100, 1.1, 200, 50, "samples"),
    DiscreteCase(1000, 1.1, 500, 10, "samples", 50_000),
    DiscreteCase(3, 1.0, 5000, 30, "sufficient"),
)

#: Cases of the absorption-time checks.
ABSORPTION_CASES: tuple[AbsorptionCase, ...] = (
    AbsorptionCase(0.5, 4, "samples"),
    AbsorptionCase(0.2, 30, "sufficient"),
    AbsorptionCase(0.05, 50, "sufficient"),
)


def max_discrete_checks(
    cases: Iterable[DiscreteCase] = DISCRETE_CASES,
    absorption_cases: Iterable[AbsorptionCase] = ABSORPTION_CASES,
) -> int:
    """Upper bound on the number of checks of these cases (fixed before any result is seen).

    ``len(cases) * len(DISCRETE_QUANTITIES) + len(absorption_cases) *
    len(ABSORPTION_QUANTITIES)``.

    Parameters
    ----------
    cases : iterable of DiscreteCase
        Default :data:`DISCRETE_CASES`.
    absorption_cases : iterable of AbsorptionCase
        Default :data:`ABSORPTION_CASES`.

    Returns
    -------
    int

    Examples
    --------
    >>> from modelcollapse.families.discrete import max_discrete_checks
    >>> max_discrete_checks()                 # 7 cases x 7 + 3 absorption cases x 4
    61
    >>> max_discrete_checks([], [])
    0
    """
    return len(list(cases)) * len(DISCRETE_QUANTITIES) + len(list(absorption_cases)) * len(
        ABSORPTION_QUANTITIES
    )


def cases(
    discrete_cases: Iterable[DiscreteCase] = DISCRETE_CASES,
    absorption_cases: Iterable[AbsorptionCase] = ABSORPTION_CASES,
    drift_cases: Iterable[Any] | None = None,
    workflows: bool = True,
) -> list[Case]:
    """The registered verification cases of the family (see
    :mod:`modelcollapse.verify.registry`).

    Discrete cases declare ``len(DISCRETE_QUANTITIES)`` checks (and keep their
    ``max_chains``), absorption cases ``len(ABSORPTION_QUANTITIES)``, drift cases (mean drift,
    variance decay, W1, TV, W2, Cramer, missing mass, memoriser error:
    :mod:`modelcollapse.families.discrete_drift`) ``len(DRIFT_QUANTITIES)``.

    Parameters
    ----------
    discrete_cases : iterable of DiscreteCase or tuple
        Default :data:`DISCRETE_CASES`.
    absorption_cases : iterable of AbsorptionCase or tuple
        Default :data:`ABSORPTION_CASES`.
    drift_cases : iterable of DriftCase or tuple, optional
        Default (None) :data:`modelcollapse.families.discrete_drift.DRIFT_CASES`.
    workflows : bool
        Also the workflow and sampling-bias cases of
        :mod:`modelcollapse.families.discrete_workflows` (default True).

    Returns
    -------
    list of Case
        The discrete cases first, then the absorption cases, the drift cases and the workflow
        cases.

    Examples
    --------
    >>> from modelcollapse.families.discrete import cases
    >>> out = cases(workflows=False)
    >>> len(out), out[0].id, out[9].id
    (14, 'discrete/K=2 zipf=1 M=2 n=3 samples', 'discrete/absorption p=0.05 M=50 sufficient')
    >>> out[-1].id
    'discrete/drift K=200 zipf=1.1 M=1000 n=20 T=2000 sufficient'
    >>> len(cases()) - len(out)              # the workflow cases
    7
    >>> [c.max_chains for c in out if c.max_chains is not None]
    [50000]
    """

    def run_case(c: DiscreteCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: discrete_checks(key, p0=c.p0, M=c.M, n=c.n, chains=chains,
                                                      method=c.method, z_bound=z)

    def run_absorption(c: AbsorptionCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: absorption_checks(key, p=c.p, M=c.M, chains=chains,
                                                        method=c.method, z_bound=z)

    out = [Case(NAME, c.label, len(DISCRETE_QUANTITIES), run_case(DiscreteCase(*c)),
                c.max_chains) for c in discrete_cases]
    out += [Case(NAME, c.label, len(ABSORPTION_QUANTITIES),
                 run_absorption(AbsorptionCase(*c))) for c in absorption_cases]
    if drift_cases is None:
        from modelcollapse.families.discrete_drift import DRIFT_CASES as drift_cases
    from modelcollapse.families.discrete_drift import cases as drift_case_list

    out += drift_case_list(drift_cases)
    if workflows:
        from modelcollapse.families.discrete_workflows import cases as workflow_case_list

        out += workflow_case_list()
    return out


def run_discrete_verification(
    *,
    chains: int = 100_000,
    seed: int = 2024,
    z_bound: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    cases: Iterable[DiscreteCase] = DISCRETE_CASES,
    absorption_cases: Iterable[AbsorptionCase] = ABSORPTION_CASES,
    progress: Callable[[str], None] | None = None,
) -> list[Check]:
    """Deprecated: run the family's cases alone; use :func:`modelcollapse.verify.registry.
    run_report` (``modelcollapse verify --family discrete``).

    Equivalent to ``run_report(cases(cases, absorption_cases), chains=chains, seed=seed,
    alpha=alpha, progress=progress)``, with a ``DeprecationWarning``.

    Parameters
    ----------
    chains : int
        Chains per case (capped by a case's ``max_chains``).
    seed : int
        The report's seed.
    z_bound : None
        Must be None: the bound is set by ``run_report`` (a value raises ``ValueError``).
    alpha : float
        Family-wise error of the report.
    cases : iterable of DiscreteCase
        Default :data:`DISCRETE_CASES`.
    absorption_cases : iterable of AbsorptionCase
        Default :data:`ABSORPTION_CASES`.
    progress : callable, optional
        Called with one line per case.

    Returns
    -------
    list of Check

    Examples
    --------
    >>> import warnings
    >>> from modelcollapse.families.discrete import DiscreteCase, run_discrete_verification
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     out = run_discrete_verification(
    ...         chains=1000, cases=[DiscreteCase(3, 1.0, 10, 5, "sufficient")],
    ...         absorption_cases=[])
    >>> len(out), caught[0].category.__name__
    (7, 'DeprecationWarning')
    """
    from modelcollapse.verify.registry import run_report

    warnings.warn("run_discrete_verification is deprecated; use modelcollapse.verify.registry."
                  "run_report(cases(...))", DeprecationWarning, stacklevel=2)
    if z_bound is not None:
        raise ValueError("z_bound is set by run_report (one Bonferroni bound per report)")
    return run_report(globals()["cases"](cases, absorption_cases, (), workflows=False),
                      chains=chains, seed=seed,
                      alpha=alpha, progress=progress)


# --------------------------------------------------------------------------------------------
# modelcollapse simulate discrete
# --------------------------------------------------------------------------------------------
#: Exact-theory columns are skipped above this M (the exact chain gets slow; theory.discrete
#: accepts M <= MAX_EXACT_M = 20000).
MAX_THEORY_M = 5000


def parse_p0(text: str) -> np.ndarray:
    """A comma-separated probability vector, e.g. ``"0.5,0.3,0.2"`` (validated as ``p0``).

    Parameters
    ----------
    text : str
        Comma-separated numbers (empty items are skipped).

    Returns
    -------
    numpy.ndarray
        float64 ``(K,)``, summing to 1 within 1e-9.

    Raises
    ------
    ValueError
        With the message of ``p0`` for text that is not numbers or not a probability vector.

    Examples
    --------
    >>> from modelcollapse.families.discrete import parse_p0
    >>> parse_p0("0.5,0.3,0.2").tolist()
    [0.5, 0.3, 0.2]
    >>> parse_p0("0.5,0.4")
    Traceback (most recent call last):
    ...
    ValueError: p0 must be a probability vector (entries >= 0 summing to 1 within 1e-09 along
    the last axis) (got sum 0.9)
    """
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(P.p0.message(repr(text))) from None
    return P.p0.check(np.asarray(vals, dtype=np.float64), ndim=1)


def _parse_support(text: str | None, K: int) -> np.ndarray | None:
    """``--support``: comma-separated increasing numbers, one per symbol (None: 0..K-1)."""
    if text is None:
        return None
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"support must be comma-separated numbers (got {text!r})") from None
    return P.support_points(np.asarray(vals, dtype=np.float64), K)


def _resolve_p0(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    if args.p0 is not None:
        if args.K is not None or args.zipf is not None:
            raise ValueError("give either --p0 or --K [--zipf EXPONENT], not both")
        p = parse_p0(args.p0)
        return p, f"p0=({', '.join(f'{x:g}' for x in p[:6])}{', ...' if p.size > 6 else ''})"
    if args.K is None:
        raise ValueError("give --K (with --zipf EXPONENT, default uniform) or --p0")
    s = 0.0 if args.zipf is None else args.zipf
    return zipf_p0(args.K, s), f"K={args.K}, Zipf exponent {s:g}" + (" (uniform)" if s == 0 else "")


def discrete_summary(run, p0: np.ndarray, M: int) -> str:
    """Table: per recorded generation, simulated means (+- 2 standard errors) beside the exact
    theory.

    Columns: ``n``; the chain mean of the heterozygosity ``H_n``, twice its standard error
    (``sd / sqrt(chains)``) and the exact ``E H_n``; the same for the survivors ``S_n``; the
    fraction of chains absorbed by ``n``, twice its standard error (``sqrt(p (1 - p) /
    chains)`` at the exact ``p``; at the simulated fraction where the exact value is skipped)
    and its exact probability. The exact ``E S_n`` and ``P(abs)`` are left out above
    ``M = MAX_THEORY_M``.

    Parameters
    ----------
    run : DiscreteRun
        A run of :func:`modelcollapse.sims.discrete.simulate`.
    p0 : numpy.ndarray
        Its original distribution.
    M : int
        Its samples per generation.

    Returns
    -------
    str
        A header line and one line per recorded generation.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from modelcollapse.families.discrete import discrete_summary
    >>> from modelcollapse.sims.discrete import simulate
    >>> p0 = np.array([0.5, 0.3, 0.2])
    >>> run = simulate(jax.random.key(0), p0=p0, M=10, generations=5, chains=1000,
    ...                record=[1, 5])
    >>> table = discrete_summary(run, p0, 10).splitlines()
    >>> len(table)
    4
    >>> print(table[1])                       # generation 0: p0 itself
    0  0.62  0  0.62  3  0  3  0  0  0
    """
    from modelcollapse.theory import discrete as th

    gens = np.asarray(run.generations)
    het = np.asarray(run.heterozygosity, dtype=np.float64)
    surv = np.asarray(run.survivors, dtype=np.float64)
    absg = np.asarray(run.absorption_generation)
    chains = het.shape[1]
    exact = M <= MAX_THEORY_M
    rows = [
        f"{'n':>7} {'E H_n sim':>11} {'+-2se':>9} {'theory':>10} {'E S_n sim':>11} {'+-2se':>9} "
        f"{'theory':>10} {'P(abs) sim':>10} {'+-2se':>9} {'theory':>10}"
    ]
    p_pos = p0[p0 > 0]
    for i, n in enumerate(gens):
        n = int(n)
        h_th = float(th.expected_heterozygosity(n, p0, M))
        absorbed = float(np.mean((absg >= 0) & (absg <= n)))
        if exact:
            s_th = f"{float(th.expected_survivors(n, p0, M)):>10.5g}"
            a_th = float(np.sum(th.extinction_probability(n, 1.0 - p_pos, M))) if n > 0 \
                else float(p_pos.size == 1)
            a_th = min(a_th, 1.0)
            a_th_s = f"{a_th:>10.4g}"
            a_se = se_probability(a_th, chains)
        else:
            s_th = a_th_s = f"{'(M>' + str(MAX_THEORY_M) + ')':>10}"
            a_se = se_probability(absorbed, chains)
        rows.append(
            f"{n:>7d} {het[i].mean():>11.5g} {2 * se_mean(het[i]):>9.2g} {h_th:>10.5g} "
            f"{surv[i].mean():>11.5g} {2 * se_mean(surv[i]):>9.2g} {s_th} "
            f"{absorbed:>10.4g} {2 * a_se:>9.2g} {a_th_s}"
        )
    return "\n".join(rows)


def discrete_workflow_summary(run: Any, p0: ArrayLike, M: int, workflow: Any) -> str:
    """Table of a run under a workflow or a sampling bias: simulated statistics (+- 2 standard
    errors) beside the theory of the same workflow value.

    Columns: ``E H_n`` (:func:`modelcollapse.theory.discrete.expected_heterozygosity`),
    ``E S_n`` (``expected_survivors``), each called with ``workflow=``; ``n/a`` where the theory
    has no value for the workflow (its reason is printed below the table).

    Parameters
    ----------
    run : DiscreteRun
        A run of :func:`modelcollapse.sims.discrete.simulate`.
    p0 : array_like
        Its original distribution.
    M : int
        Its samples per generation.
    workflow : Workflow
        Its workflow.

    Returns
    -------
    str

    Examples
    --------
    >>> import jax, numpy as np
    >>> from modelcollapse.families.discrete import discrete_workflow_summary
    >>> from modelcollapse.sims.discrete import simulate
    >>> p0 = np.array([0.5, 0.3, 0.2])
    >>> run = simulate(jax.random.key(0), p0=p0, M=10, generations=3, chains=500,
    ...                record=[0, 3])
    >>> discrete_workflow_summary(run, p0, 10, "replace").splitlines()[0].split()[:4]
    ['n', 'E', 'H', 'sim']
    """
    from modelcollapse._cliworkflow import Column, theory_table
    from modelcollapse.theory import discrete as th

    p = np.asarray(p0, dtype=np.float64)
    cols = [
        Column("E H", np.asarray(run.heterozygosity, np.float64), "mean",
               lambda n: th.expected_heterozygosity(n, p, M, workflow=workflow)),
        Column("E S", np.asarray(run.survivors, np.float64), "mean",
               lambda n: th.expected_survivors(n, p, M, workflow=workflow)),
    ]
    return theory_table(np.asarray(run.generations), cols)


def _cmd_simulate_discrete(args: argparse.Namespace) -> int:
    from modelcollapse._cliworkflow import workflow_from_args
    from modelcollapse.sims.discrete import simulate
    from modelcollapse.spec.workflows import replace

    wf = workflow_from_args(args)
    plain = wf == replace()
    p0, label = _resolve_p0(args)
    out = output_file(args.out) if args.out else None  # checked before the run
    g = args.generations
    support = _parse_support(args.support, p0.size)
    run, elapsed = timed(
        simulate, key=as_key(args.seed), p0=p0, M=args.M, generations=g,
        chains=args.chains, method=args.method, record=summary_record(g),
        progress=want_progress(args.progress), devices=args.devices,
        drift=bool(args.drift), support=support, workflow=wf,
    )
    dev = f", {args.devices} devices" if args.devices > 1 else ""
    print(
        f"categorical refit (Wright-Fisher{'' if plain else ', ' + repr(wf)}): {label}, "
        f"M={args.M}, method={args.method}, "
        f"{args.chains} chains{dev}, {g} generations, seed {args.seed} ({elapsed:.2f} s)"
    )
    print("H = heterozygosity 1 - sum p^2, S = surviving symbols, P(abs) = one symbol left;")
    print("simulated chain averages (+- 2 standard errors) beside the exact theory\n")
    print(discrete_summary(run, p0, args.M) if plain
          else discrete_workflow_summary(run, p0, args.M, wf))
    if args.drift:
        from modelcollapse.families.discrete_drift import drift_summary

        where = "0..K-1" if args.support is None else "the given support"
        print(f"\ndrift from p0 on {where}: W1, total variation, mean drift (m_n - m_0)^2, "
              "missing mass sum_i p0_i 1{c_i = 0}\n")
        print(drift_summary(run, p0, args.M, support))
    if out is not None:
        run.save(out)
        print(f"\nsaved {out}")
    return 0


def add_simulate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``discrete`` to the ``simulate`` command's sub-parsers; return the new parser.

    Options: ``--M``, ``--K`` with ``--zipf EXPONENT`` or ``--p0``, ``--method`` and the
    common run options (chains, generations, seed, ...). ``--p0`` is kept as text and parsed
    by the handler (:func:`parse_p0`), so a bad vector raises the ``ValueError`` of ``p0``
    (``modelcollapse.cli.main`` also accepts ``--p0 -0.5,0.5``).
    """
    from modelcollapse.sims.discrete import SIM_M

    d = subparsers.add_parser("discrete", help="categorical distribution refit on its own samples",
                              description="Refit a categorical distribution by the empirical "
                                          "frequencies of M samples of itself (Wright-Fisher).")
    d.add_argument("--M", type=SIM_M.arg, required=True,
                   help=f"samples per generation: {SIM_M.domain}")
    d.add_argument("--K", type=P.K.arg, default=None,
                   help=f"vocabulary size, {P.K.domain}, for a Zipf or uniform p0 (default: "
                        "none; give --K or --p0)")
    d.add_argument("--zipf", type=_EXPONENT.arg, default=None, metavar="EXPONENT",
                   help="Zipf exponent s of p_i ~ i^-s, with --K (default 0: uniform)")
    d.add_argument("--p0", default=None,
                   help="explicit probabilities, comma-separated, e.g. 0.5,0.3,0.2 (default: "
                        "none; give --p0 or --K)")
    d.add_argument("--method", type=P.method.arg, default="sufficient",
                   help=f"simulator path, {P.method.domain}")
    d.add_argument("--drift", action="store_true",
                   help="also record the drift from p0 (W1, TV, W2^2, mean, variance, missing "
                        "mass) and print it beside the exact theory (default: off)")
    d.add_argument("--support", default=None,
                   help="numeric values of the symbols, comma-separated and increasing, for "
                        "--drift (default: 0,1,...,K-1)")
    add_run_arguments(d, chains=2000)
    add_workflow_arguments(d, biases=("temperature", "top_k", "top_p"))
    d.set_defaults(func=_cmd_simulate_discrete)
    return d


add_simulate_parser = add_simulate_command  # the name of version 0.1

FAMILY = FamilyEntry(NAME, "categorical refit = Wright-Fisher (Shumailov et al. 2024)",
                     cases, add_simulate_command, order=10)
