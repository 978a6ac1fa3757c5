"""Verification of the categorical family's drift: exact theory against simulation.

Part of the categorical (Wright-Fisher) family's front end (:mod:`modelcollapse.families.discrete`
registers these cases with its own). Each check compares an exact formula of
:mod:`modelcollapse.theory.discrete_drift` or :mod:`modelcollapse.theory.tails` with the chain
mean (or variance) of an observable recorded by :func:`modelcollapse.sims.discrete.simulate`,
which never sees the formula; a check passes when ``|estimate - theory| <= z_bound * se``.

A distribution ``p0`` on a numeric support ``x_1 < ... < x_K`` is refit on ``M`` samples per
generation (generation 0 is ``p0``; generation ``n`` the fit after ``n`` refits). Quantities per
case (:func:`drift_checks`, at one generation ``n``; ``q_n`` the fitted frequencies, ``m`` and
``Var`` the mean and variance of the support under them, ``F`` the cdf):

- ``E (m_n - m_0)^2`` (mean drift) and ``E Var_n`` (variance decay), closed forms;
- ``Var Var_n``: the variance of the support variance across chains (exact, a small linear
  system of power-sum moments);
- ``E W1``, ``E TV``: Wasserstein-1 and total variation to ``p0``, exact from the two-allele
  chains of the cumulative counts and of each symbol's count;
- ``E W2^2`` on the line, where exact (two symbols, or few states of the full chain);
- ``E Cramer^2``: ``sum_j dx_j (F_n(j) - F_0(j))^2``, a closed form;
- ``E missing mass``: ``sum_i p0_i 1{count_{n,i} = 0}``, exact through the loss probabilities;
- ``memoriser error``: the test error on ``p0`` of a learner memorising ``T`` samples of
  generation ``n``, estimated per chain by its conditional value ``sum_i p0_i (1 - q_{n,i})^T``
  given the chain (an unbiased estimate of the exact ``sum_i p0_i E (1 - p_{n,i})^T``).

References: Shumailov et al., Nature 631 (2024); Ewens, *Mathematical Population Genetics*
(2004), ch. 1 and 3; Dohmatob et al., "A Tale of Tails", ICML 2024.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from modelcollapse._cliutil import as_key, se_mean
from modelcollapse.spec import params as P
from modelcollapse.verify.checks import Check, bonferroni_z, mean_check, variance_check
from modelcollapse.verify.registry import Case

__all__ = ["DRIFT_QUANTITIES", "DriftCase", "DRIFT_CASES", "drift_checks", "cases",
           "drift_summary"]

NAME = "discrete"

#: The checks one :func:`drift_checks` call can return (for Bonferroni).
DRIFT_QUANTITIES = (
    "E (m_n - m_0)^2",
    "E Var_n",
    "Var Var_n",
    "E W1",
    "E TV",
    "E W2^2",
    "E Cramer^2",
    "E missing mass",
    "memoriser error",
)


def _default(name: str) -> Any:
    import importlib

    return importlib.import_module(f"modelcollapse.theory.{name}")


def _memoriser_error(counts: np.ndarray, M: int, p0: np.ndarray, T: int) -> np.ndarray:
    """Per chain ``sum_i p0_i (1 - counts_i / M)^T`` (float64; 0 where a symbol has all M)."""
    q = np.asarray(counts, dtype=np.float64) / M
    with np.errstate(divide="ignore"):
        log1m = np.log1p(-np.minimum(q, 1.0))
    return np.exp(T * log1m) @ p0


def drift_checks(
    seed: Any,
    *,
    p0: ArrayLike,
    M: int,
    n: int,
    support: ArrayLike | None = None,
    T: int | None = None,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    theory: Any = None,
    tails: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Compare the exact drift formulas of the categorical refit with one simulation.

    Simulates ``chains`` chains from ``p0`` on ``support`` with ``M`` samples per generation
    and returns the checks listed in the module docstring, at generation ``n``. ``E W2^2`` is
    left out where the theory refuses its exact value (too many states of the full chain);
    ``memoriser error`` where ``T`` is None.

    Parameters
    ----------
    seed : int or jax.Array
        An integer seed (``jax.random.key(seed)``) or a key.
    p0 : array_like
        The original distribution (K,), a probability vector.
    M : int
        Samples per generation.
    n : int
        The checked generation, an integer >= 1.
    support : array_like, optional
        The numeric support (K,), strictly increasing; default ``0..K-1``.
    T : int, optional
        Training samples of the memoriser (``memoriser error``); None leaves the check out.
    chains : int
        Number of simulated chains.
    method : {"sufficient", "samples"}
        Simulator path.
    z_bound : float, optional
        The bound on |z|; default Bonferroni over ``len(DRIFT_QUANTITIES)`` at 1e-3.
    theory : module-like, optional
        Replaces :mod:`modelcollapse.theory.discrete_drift` (e.g. by
        :func:`modelcollapse.verify.checks.perturbed`, to see a wrong formula rejected).
    tails : module-like, optional
        Replaces :mod:`modelcollapse.theory.tails`.
    simulate : callable, optional
        Replaces the simulator.

    Returns
    -------
    list of Check
        At most ``len(DRIFT_QUANTITIES)``.

    Examples
    --------
    >>> from modelcollapse.families.discrete_drift import drift_checks
    >>> checks = drift_checks(0, p0=[0.5, 0.3, 0.2], M=5, n=3, T=4, chains=2000)
    >>> [c.quantity for c in checks]          # doctest: +NORMALIZE_WHITESPACE
    ['E (m_n - m_0)^2', 'E Var_n', 'Var Var_n', 'E W1', 'E TV', 'E W2^2', 'E Cramer^2',
     'E missing mass', 'memoriser error']
    >>> all(c.passed for c in checks)         # fails with probability <= 1e-3
    True
    """
    if simulate is None:
        from modelcollapse.sims.discrete import simulate
    th = _default("discrete_drift") if theory is None else theory
    tl = _default("tails") if tails is None else tails
    n = P.n.restrict(low=1).scalar(n)
    p = np.asarray(p0, dtype=np.float64)
    K = int(p.size)
    x = np.arange(K, dtype=np.float64) if support is None else np.asarray(support, np.float64)
    run = simulate(as_key(seed), p0=p, M=M, generations=n, chains=chains, method=method,
                   record=[n], record_counts=T is not None, track_extinction=False, support=x,
                   drift=True)
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    z = bonferroni_z(len(DRIFT_QUANTITIES)) if z_bound is None else float(z_bound)
    params: dict[str, Any] = {"M": M, "n": n, "K": K, "method": method, "chains": chains}

    def obs(name: str) -> np.ndarray:
        return np.asarray(getattr(run, name), dtype=np.float64)[row]

    m0 = float(p @ x)
    checks = [
        mean_check(NAME, "E (m_n - m_0)^2", (obs("mean") - m0) ** 2,
                   float(th.expected_mean_drift(n, p, M, x)), z, **params),
        mean_check(NAME, "E Var_n", obs("variance"),
                   float(th.expected_support_variance(n, p, M, x)), z, **params),
        variance_check(NAME, "Var Var_n", obs("variance"),
                       float(th.support_variance_variance(n, p, M, x)), z, **params),
        mean_check(NAME, "E W1", obs("w1"), float(th.expected_w1(n, p, M, x)), z, **params),
        mean_check(NAME, "E TV", obs("tv"), float(th.expected_total_variation(n, p, M)), z,
                   **params),
    ]
    try:
        w2 = float(th.expected_w2_squared(n, p, M, x))
    except ValueError:
        w2 = None  # no exact value here (the theory says why); the check is left out
    if w2 is not None:
        checks.append(mean_check(NAME, "E W2^2", obs("w2_squared"), w2, z, **params))
    checks += [
        mean_check(NAME, "E Cramer^2", obs("cramer_squared"),
                   float(th.expected_cramer_squared(n, p, M, x)), z, **params),
        mean_check(NAME, "E missing mass", obs("missing_mass"),
                   float(tl.expected_missing_mass(n, p, M)), z, **params),
    ]
    if T is not None:
        counts = np.asarray(run.counts)[row]
        checks.append(mean_check(NAME, "memoriser error", _memoriser_error(counts, M, p, T),
                                 float(tl.memoriser_test_error(T, n, p, M)), z, T=T, **params))
    return checks


class DriftCase(NamedTuple):
    """One drift case: ``p0`` (Zipf over ``K`` symbols, or explicit), ``M``, ``n``, path.

    Attributes
    ----------
    K : int
        Number of symbols.
    exponent : float
        Zipf exponent of ``p0`` (0: uniform).
    M : int
        Samples per generation.
    n : int
        The checked generation.
    method : {"sufficient", "samples"}
        Simulator path.
    T : int or None
        Training samples of the memoriser check.
    spacing : float
        The support is ``0, s, 2s, ...`` with gaps growing like ``1 + spacing * i`` (0: even).

    Examples
    --------
    >>> from modelcollapse.families.discrete_drift import DriftCase
    >>> c = DriftCase(3, 1.0, 5, 4, "samples", 5, 0.5)
    >>> c.label
    'drift K=3 zipf=1 M=5 n=4 T=5 uneven samples'
    >>> c.support.tolist()                    # gaps 1, 1.5
    [0.0, 1.0, 2.5]
    """

    K: int
    exponent: float
    M: int
    n: int
    method: str
    T: int | None = None
    spacing: float = 0.0

    @property
    def p0(self) -> np.ndarray:
        """The case's original distribution: Zipf(``exponent``) over ``K`` symbols."""
        w = np.arange(1, self.K + 1, dtype=np.float64) ** (-float(self.exponent))
        return w / w.sum()

    @property
    def support(self) -> np.ndarray:
        """``x_1 = 0``, gaps ``1 + spacing * i``."""
        gaps = 1.0 + self.spacing * np.arange(self.K - 1, dtype=np.float64)
        return np.concatenate([[0.0], np.cumsum(gaps)])

    @property
    def label(self) -> str:
        """The case in words, unique within the family."""
        t = "" if self.T is None else f" T={self.T}"
        s = " uneven" if self.spacing else ""
        return f"drift K={self.K} zipf={self.exponent:g} M={self.M} n={self.n}{t}{s} {self.method}"


#: Drift cases of the verification report: a three-symbol uneven support at tiny M (the full
#: chain gives W2^2), two symbols (W2^2 from the two-allele chain), ten and two hundred Zipf
#: symbols at n below and above M, both simulator paths.
DRIFT_CASES: tuple[DriftCase, ...] = (
    DriftCase(3, 1.0, 5, 4, "samples", 5, 0.5),
    DriftCase(2, 1.0, 50, 30, "sufficient", 50),
    DriftCase(10, 1.0, 100, 150, "sufficient", 100, 0.2),
    DriftCase(200, 1.1, 1000, 20, "sufficient", 2000),
)


def cases(drift_cases: Iterable[DriftCase] = DRIFT_CASES) -> list[Case]:
    """The registered drift cases (each declares ``len(DRIFT_QUANTITIES)`` checks).

    Parameters
    ----------
    drift_cases : iterable of DriftCase or tuple
        Default :data:`DRIFT_CASES`.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.families.discrete_drift import cases
    >>> [c.id for c in cases()][:1]
    ['discrete/drift K=3 zipf=1 M=5 n=4 T=5 uneven samples']
    """

    def run_case(c: DriftCase) -> Callable[[Any, int, float], list[Check]]:
        return lambda key, chains, z: drift_checks(
            key, p0=c.p0, M=c.M, n=c.n, support=c.support, T=c.T, chains=chains,
            method=c.method, z_bound=z)

    return [Case(NAME, c.label, len(DRIFT_QUANTITIES), run_case(DriftCase(*c)))
            for c in drift_cases]


def _theory_column(fn: Callable[[Any], Any], gens: np.ndarray) -> list[float | None]:
    """The exact values at every recorded generation from one vectorised call (the exact engines
    propagate all generations at once); where the theory refuses (too costly, or ``M`` too
    large for the exact chain), generation by generation, None where it still refuses."""
    try:
        return [float(v) for v in np.atleast_1d(fn(gens))]
    except ValueError:
        pass
    out: list[float | None] = []
    for n in gens:
        try:
            out.append(float(fn(int(n))))
        except ValueError:
            out.append(None)
    return out


def drift_summary(run: Any, p0: ArrayLike, M: int, support: ArrayLike | None = None) -> str:
    """Table of the drift: per recorded generation, simulated means (+- 2 standard errors)
    beside the exact theory.

    Columns: ``n``; ``E W1(q_n, p0)``, ``E TV(q_n, p0)``, the mean drift ``E (m_n - m_0)^2``
    and the missing mass ``E sum_i p0_i 1{c_{n,i} = 0}``, each as the chain mean, twice its
    standard error and the exact value (``n/a`` where the exact method refuses: ``M`` above
    20000 or a run estimated above its time budget).

    Parameters
    ----------
    run : DiscreteRun
        A run of :func:`modelcollapse.sims.discrete.simulate` with ``drift=True``.
    p0 : array_like
        Its original distribution.
    M : int
        Its samples per generation.
    support : array_like, optional
        Its numeric support (default ``0..K-1``).

    Returns
    -------
    str
        A header line and one line per recorded generation.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from modelcollapse.families.discrete_drift import drift_summary
    >>> from modelcollapse.sims.discrete import simulate
    >>> p0 = np.array([0.5, 0.3, 0.2])
    >>> run = simulate(jax.random.key(0), p0=p0, M=10, generations=5, chains=1000,
    ...                record=[1, 5], drift=True)
    >>> table = drift_summary(run, p0, 10).splitlines()
    >>> len(table), table[1].split()             # generation 0: p0 itself
    (4, ['0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0'])
    """
    from modelcollapse.theory import discrete_drift as th
    from modelcollapse.theory import tails as tl

    p = np.asarray(p0, dtype=np.float64)
    x = np.arange(p.size, dtype=np.float64) if support is None else np.asarray(support, float)
    gens = np.asarray(run.generations)
    m0 = float(p @ x)
    cols = (
        ("E W1", np.asarray(run.w1, float), lambda n: th.expected_w1(n, p, M, x)),
        ("E TV", np.asarray(run.tv, float), lambda n: th.expected_total_variation(n, p, M)),
        ("E dm^2", (np.asarray(run.mean, float) - m0) ** 2,
         lambda n: th.expected_mean_drift(n, p, M, x)),
        ("E missing", np.asarray(run.missing_mass, float),
         lambda n: tl.expected_missing_mass(n, p, M)),
    )
    exact = [_theory_column(theory, gens.astype(np.int64)) for _, _, theory in cols]
    head = f"{'n':>7}" + "".join(f" {name + ' sim':>13} {'+-2se':>9} {'theory':>10}"
                                  for name, _, _ in cols)
    rows = [head]
    for i, n in enumerate(gens):
        line = f"{int(n):>7d}"
        for (_, sim, _), column in zip(cols, exact, strict=True):
            t = column[i]
            t_s = f"{t:>10.5g}" if t is not None else f"{'n/a':>10}"
            line += f" {sim[i].mean():>13.5g} {2 * se_mean(sim[i]):>9.2g} {t_s}"
        rows.append(line)
    return "\n".join(rows)
