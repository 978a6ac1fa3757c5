"""Theory against simulation for categorical distributions (the Wright-Fisher model).

Each check compares an exact formula of :mod:`modelcollapse.theory.discrete` with a Monte Carlo
estimate from :mod:`modelcollapse.sims.discrete` (which never sees the formula), using the
:class:`~modelcollapse.verify.Check` machinery of :mod:`modelcollapse.verify`: a check passes when
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
``sqrt((hi - mu)(mu - lo) / N)`` evaluated at the theory mean ``mu``.

:func:`absorption_checks` runs a two-symbol vocabulary until every chain is absorbed (asserted)
and checks the mean absorption time, the mean times conditional on loss and on fixation (exact
fundamental-matrix values) and the fixation probability ``p`` (martingale).

References: Ewens, *Mathematical Population Genetics* (2004), ch. 1-5; Shumailov et al., Nature
631 (2024), sec. 3.1; Kemeny & Snell, *Finite Markov Chains* (1960).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from modelcollapse.verify import (
    DEFAULT_ALPHA,
    Check,
    bonferroni_z,
    mean_check,
    probability_check,
    variance_check,
)

__all__ = [
    "DISCRETE_QUANTITIES",
    "ABSORPTION_QUANTITIES",
    "DiscreteCase",
    "DISCRETE_CASES",
    "ABSORPTION_CASES",
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
MIN_EVENTS = 50.0

FAMILY = "discrete"


def _default_theory() -> Any:
    from modelcollapse.theory import discrete

    return discrete


def zipf_p0(K: int, exponent: float) -> np.ndarray:
    """Zipf law over ``K`` symbols: ``p_i = i^(-exponent) / sum_j j^(-exponent)``, ``i = 1..K``.

    ``exponent = 0`` gives the uniform distribution. Raises ``ValueError`` for ``K < 1`` or a
    negative / non-finite exponent.
    """
    if not isinstance(K, (int, np.integer)) or isinstance(K, bool) or K < 1:
        raise ValueError(f"K must be an integer >= 1 (got {K!r})")
    s = float(exponent)
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"exponent must be a finite real >= 0 (got {exponent!r})")
    w = np.arange(1, int(K) + 1, dtype=np.float64) ** (-s)
    return w / w.sum()


def _bounded_mean_check(
    quantity: str, x: np.ndarray, theory: float, z: float, lo: float, hi: float, **params: Any
) -> Check:
    """:func:`mean_check`, with the Bhatia-Davis se when all simulated values are equal."""
    c = mean_check(FAMILY, quantity, x, theory, z, **params)
    if c.stderr > 0:
        return c
    var_bound = max((hi - theory) * (theory - lo), 0.0)
    return dataclasses.replace(
        c,
        stderr=math.sqrt(var_bound / x.size),
        notes="all simulated values equal: se from the Bhatia-Davis bound at the theory mean",
    )


def _enough_events(p: float, chains: int) -> bool:
    return chains * p * (1.0 - p) >= MIN_EVENTS


def _pick_symbols(loss: np.ndarray, chains: int, k: int = 2) -> list[int]:
    """Up to ``k`` symbols whose loss probability is informative: the one closest to 1/2 and the
    rarest eligible one (chosen from the theory values only)."""
    eligible = [i for i in range(loss.size) if _enough_events(float(loss[i]), chains)]
    if not eligible:
        return []
    first = min(eligible, key=lambda i: abs(float(loss[i]) - 0.5))
    out = [first]
    rest = [i for i in eligible if i != first]
    if rest and k > 1:
        out.append(max(rest, key=lambda i: float(loss[i])))
    return out


def discrete_checks(
    seed: int,
    *,
    p0: ArrayLike,
    M: int,
    n: int,
    chains: int = 20_000,
    method: str = "counts",
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
    generations: int | None = None,
) -> list[Check]:
    """Compare the exact categorical formulas with one simulation, at generation ``n``.

    Simulates ``chains`` chains from ``p0`` with ``M`` samples per generation (seed
    ``jax.random.key(seed)``, simulator path ``method``) and returns the checks listed in the
    module docstring (at most ``len(DISCRETE_QUANTITIES)``). ``generations`` (default ``n``) may
    exceed ``n``: the simulation then runs longer (reusing a compiled simulator of that length)
    and every check still refers to generation ``n``.

    ``theory`` may replace :mod:`modelcollapse.theory.discrete` by any object with the same
    function names (e.g. :func:`modelcollapse.verify.perturbed`): the tests feed wrong formulas
    this way and assert rejection. ``z_bound`` defaults to the Bonferroni bound over
    ``len(DISCRETE_QUANTITIES)`` checks at family-wise ``alpha = 1e-3``.

    Raises ``ValueError`` for ``n < 1`` or ``generations < n``.
    """
    import jax

    if simulate is None:
        from modelcollapse.sims.discrete import simulate
    th = _default_theory() if theory is None else theory
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1 (got {n!r})")
    G = n if generations is None else int(generations)
    if G < n:
        raise ValueError(f"generations must be >= n = {n} (got {generations!r})")
    p = np.asarray(p0, dtype=np.float64)
    K = int(p.size)
    want_counts = K <= MAX_K_COUNTS
    run = simulate(
        jax.random.key(seed), p0=p, M=M, generations=G, chains=chains, method=method,
        record=[n], record_counts=want_counts,
    )
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    z = bonferroni_z(len(DISCRETE_QUANTITIES)) if z_bound is None else float(z_bound)
    params = {"M": M, "n": n, "K": K, "method": method, "chains": chains, "seed": seed}
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
                    FAMILY, f"P(lost by n) #{j + 1}", lost, float(loss[i]), z, p_i=float(p[i]),
                    **params,
                )
            )

    p_abs = float(np.sum(th.extinction_probability(n, 1.0 - p[p > 0], M)))
    if support > 1 and _enough_events(min(p_abs, 1.0), chains):
        absg = np.asarray(run.absorption_generation)
        absorbed = (absg >= 0) & (absg <= n)
        checks.append(probability_check(FAMILY, "P(absorbed by n)", absorbed, p_abs, z, **params))

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
            if _enough_events(p_in, chains):
                checks.append(
                    probability_check(
                        FAMILY, "P(1 <= c_n <= m)", (c >= 1) & (c <= m), p_in, z,
                        p_i=float(p[i]), m=m, **params,
                    )
                )
        k = np.arange(M + 1, dtype=np.float64)
        mean_c = float(pmf @ k)
        var_c = float(pmf @ (k - mean_c) ** 2)
        if var_c > 0:
            checks.append(
                variance_check(FAMILY, "Var c_n", c, var_c, z, p_i=float(p[i]), **params)
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
    seed: int,
    *,
    p: float,
    M: int,
    chains: int = 20_000,
    method: str = "counts",
    z_bound: float | None = None,
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Absorption of a two-symbol vocabulary ``p0 = (p, 1 - p)``: mean times and fixation.

    Runs ``M (ln(chains) + 30)`` generations, so that every chain is absorbed; raises
    ``RuntimeError`` if one is not (that would mean the run was too short, not a failed check).
    Checks (time = first generation with a single symbol left; generation 0 is ``p0``):

    - ``E T_abs`` against ``expected_absorption_time(p, M)``;
    - ``E[T | loss]``: the chains where symbol 1 (probability ``p``) is lost, against
      ``expected_time_to_loss(p, M)``;
    - ``E[T | fix]``: the chains where it takes over, against ``expected_time_to_fixation``;
    - ``P(fix)``: the fraction where it takes over, against ``fixation_probability(p) = p``.

    ``theory`` and ``z_bound`` as in :func:`discrete_checks` (default Bonferroni over these 4).
    """
    import jax

    if simulate is None:
        from modelcollapse.sims.discrete import simulate
    th = _default_theory() if theory is None else theory
    pf = float(p)
    if not 0.0 < pf < 1.0:
        raise ValueError(f"p must lie in (0, 1) for the absorption checks (got {p!r})")
    G = _absorption_horizon(M, chains)
    run = simulate(
        jax.random.key(seed), p0=[pf, 1.0 - pf], M=M, generations=G, chains=chains,
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
    params = {"M": M, "n": G, "p": pf, "K": 2, "method": method, "chains": chains, "seed": seed}
    checks = [
        mean_check(FAMILY, "E T_abs", t, float(th.expected_absorption_time(pf, M)), z, **params),
        probability_check(FAMILY, "P(fix)", fixed, float(th.fixation_probability(pf)), z,
                          **params),
    ]
    if lost.sum() >= 2:
        checks.append(
            mean_check(FAMILY, "E[T | loss]", t[lost], float(th.expected_time_to_loss(pf, M)), z,
                       **params)
        )
    if fixed.sum() >= 2:
        checks.append(
            mean_check(FAMILY, "E[T | fix]", t[fixed],
                       float(th.expected_time_to_fixation(pf, M)), z, **params)
        )
    return checks


class DiscreteCase(NamedTuple):
    """One verification case: ``p0 = zipf_p0(K, exponent)`` (exponent 0: uniform); at most
    ``max_chains`` chains (None: as many as the report asks for)."""

    K: int
    exponent: float
    M: int
    n: int
    method: str
    max_chains: int | None = None

    @property
    def p0(self) -> np.ndarray:
        return zipf_p0(self.K, self.exponent)


#: Cases of the verification report: K from 2 to 1000 (uniform and Zipf), M from 2 to 5000,
#: n below and above M, both simulator paths. Sizes are chosen for the measured simulator cost
#: on 2 CPU cores (the count path costs ~K per chain and generation and compiles slowly for
#: large K; the sample path costs ~M); the K = 1000 case is capped at 50000 chains so that the
#: simulator still tracks per-symbol extinction (it stops above chains * K = 2**26).
DISCRETE_CASES: tuple[DiscreteCase, ...] = (
    DiscreteCase(2, 1.0, 2, 3, "samples"),
    DiscreteCase(2, 3.0, 50, 40, "counts"),
    DiscreteCase(5, 0.0, 10, 10, "samples"),
    DiscreteCase(10, 1.0, 100, 150, "counts"),
    DiscreteCase(100, 1.1, 200, 50, "samples"),
    DiscreteCase(1000, 1.1, 500, 10, "samples", 50_000),
    DiscreteCase(3, 1.0, 5000, 30, "counts"),
)

#: (p, M, method) cases of the absorption-time checks.
ABSORPTION_CASES: tuple[tuple[float, int, str], ...] = (
    (0.5, 4, "samples"),
    (0.2, 30, "counts"),
    (0.05, 50, "counts"),
)


def max_discrete_checks(
    cases: Iterable[DiscreteCase] = DISCRETE_CASES,
    absorption_cases: Iterable[tuple[float, int, str]] = ABSORPTION_CASES,
) -> int:
    """Upper bound on the number of checks :func:`run_discrete_verification` returns (fixed
    before any result is seen; use it in a Bonferroni bound shared with other families)."""
    return len(list(cases)) * len(DISCRETE_QUANTITIES) + len(list(absorption_cases)) * len(
        ABSORPTION_QUANTITIES
    )


def run_discrete_verification(
    *,
    chains: int = 100_000,
    seed: int = 2024,
    z_bound: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    cases: Iterable[DiscreteCase] = DISCRETE_CASES,
    absorption_cases: Iterable[tuple[float, int, str]] = ABSORPTION_CASES,
    progress: Callable[[str], None] | None = None,
) -> list[Check]:
    """Run every discrete case and absorption case; return the checks.

    ``z_bound`` defaults to the Bonferroni bound over :func:`max_discrete_checks` at family-wise
    level ``alpha``; pass a common bound to merge these rows into a larger report. Case ``i``
    uses seed ``seed + 1000 + i`` (absorption case ``j``: ``seed + 2000 + j``), so the rows do
    not share random streams with the Gaussian report.
    """
    cases = [DiscreteCase(*c) for c in cases]
    absorption_cases = list(absorption_cases)
    z = bonferroni_z(max_discrete_checks(cases, absorption_cases), alpha) if z_bound is None \
        else float(z_bound)
    total = len(cases) + len(absorption_cases)
    out: list[Check] = []
    for i, c in enumerate(cases):
        if progress is not None:
            progress(f"[{i + 1}/{total}] discrete K={c.K} zipf={c.exponent} M={c.M} n={c.n} "
                     f"{c.method}")
        n_chains = chains if c.max_chains is None else min(chains, c.max_chains)
        out += discrete_checks(seed + 1000 + i, p0=c.p0, M=c.M, n=c.n, chains=n_chains,
                               method=c.method, z_bound=z)
    for j, (p, M, method) in enumerate(absorption_cases):
        if progress is not None:
            progress(f"[{len(cases) + j + 1}/{total}] absorption p={p} M={M} {method}")
        out += absorption_checks(seed + 2000 + j, p=p, M=M, chains=chains, method=method,
                                 z_bound=z)
    return out
