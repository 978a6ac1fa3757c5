"""The check framework (family-free): z-checks of theory against simulation, with stated
standard errors.

Each :class:`Check` compares a closed form from :mod:`modelcollapse.theory` with a Monte Carlo
estimate from :mod:`modelcollapse.sims` (which never sees the formula). The estimate's standard
error comes from the simulated sample itself:

- a mean ``E X``:          se = sd(X) / sqrt(N)
- a variance ``Var X``:    se = sqrt((m4 - s^4) / N), m4 the sample's fourth central moment
- a probability ``P(A)``:  se = sqrt(p (1 - p) / N), p the theory value (the null hypothesis)

and a check passes when ``|estimate - theory| <= z_bound * se``. Across ``m`` checks the bound is
Bonferroni's ``z = Phi^{-1}(1 - alpha / (2 m))`` for a report-wise error ``alpha`` (default
1e-3), so correct formulas fail a whole report with probability at most ``alpha``.

The families register their cases in :mod:`modelcollapse.verify.registry`; the same machinery
drives ``modelcollapse verify`` (a printed report, exit status 1 on failure, in the spirit of
msprime's ``verification.py``) and the statistical tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "Check",
    "DEFAULT_ALPHA",
    "bonferroni_z",
    "mean_check",
    "variance_check",
    "probability_check",
    "bounded_mean_check",
    "enough_events",
    "MIN_EVENTS",
    "perturbed",
    "format_table",
]

#: Default family-wise error of a report: correct formulas fail it with probability <= 1e-3.
DEFAULT_ALPHA = 1e-3


@dataclass(frozen=True)
class Check:
    """One theory-vs-simulation comparison.

    The check passes when ``|z| <= z_bound`` with ``z = (estimate - theory) / stderr``; a zero
    standard error gives ``z = 0`` when the estimate equals the theory and ``+-inf``
    otherwise.

    Parameters
    ----------
    family : str
        The family's name (``"gaussian"``, ``"discrete"``, ...).
    quantity : str
        The checked quantity in words, e.g. ``"E log sigma_n^2"``.
    params : dict
        The case's parameters (shown in reports; ``chains`` and ``seed`` are hidden there).
    theory : float
        The exact value.
    estimate : float
        The Monte Carlo estimate.
    stderr : float
        Its standard error (>= 0).
    z_bound : float
        The bound on ``|z|``.
    n_samples : int
        Number of simulated values behind the estimate.
    notes : str
        Remarks shown with the check (e.g. how the se was obtained).

    Examples
    --------
    >>> from modelcollapse.verify.checks import Check
    >>> c = Check("gaussian", "E X", {"M": 10}, theory=1.0, estimate=1.1, stderr=0.05,
    ...           z_bound=3.0)
    >>> round(c.z, 6), c.passed
    (2.0, True)
    """

    family: str
    quantity: str
    params: dict[str, Any]
    theory: float
    estimate: float
    stderr: float
    z_bound: float
    n_samples: int = 0
    notes: str = field(default="")

    @property
    def z(self) -> float:
        """Standardised discrepancy (estimate - theory) / se."""
        diff = self.estimate - self.theory
        if self.stderr > 0:
            return diff / self.stderr
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)

    @property
    def passed(self) -> bool:
        """Whether ``|z| <= z_bound``."""
        return bool(abs(self.z) <= self.z_bound)


def bonferroni_z(n_checks: int, alpha: float = DEFAULT_ALPHA) -> float:
    """Two-sided z bound for ``n_checks`` simultaneous checks at family-wise level ``alpha``.

    ``z = Phi^{-1}(1 - alpha / (2 n_checks))`` (Bonferroni): if every check's z were standard
    normal, all of them would pass with probability at least ``1 - alpha``.

    Parameters
    ----------
    n_checks : int
        Number of checks, >= 1 (the most a report can return, fixed in advance).
    alpha : float
        Family-wise error, in (0, 1); default :data:`DEFAULT_ALPHA` = 1e-3.

    Returns
    -------
    float
        The bound on ``|z|``.

    Raises
    ------
    ValueError
        For ``n_checks < 1`` or ``alpha`` outside (0, 1).

    Examples
    --------
    >>> from modelcollapse.verify.checks import bonferroni_z
    >>> round(bonferroni_z(1), 4), round(bonferroni_z(7), 4), round(bonferroni_z(7, 0.05), 4)
    (3.2905, 3.8032, 2.6901)
    """
    if n_checks < 1:
        raise ValueError(f"n_checks must be >= 1 (got {n_checks})")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1) (got {alpha})")
    return float(stats.norm.isf(alpha / (2 * n_checks)))


def _as_samples(x: ArrayLike) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size < 2:
        raise ValueError(f"need at least 2 simulated values (got {arr.size})")
    return arr


def mean_check(
    family: str, quantity: str, samples: ArrayLike, theory: float, z_bound: float, **params: Any
) -> Check:
    """Check ``E X == theory`` from i.i.d. draws of X; se = sd / sqrt(N).

    The estimate is the sample mean, ``sd`` the sample standard deviation (ddof = 1).

    Parameters
    ----------
    family : str
        The family's name (``"gaussian"``, ``"discrete"``, ...).
    quantity : str
        The checked quantity in words, e.g. ``"E log sigma_n^2"``.
    samples : array_like
        At least 2 i.i.d. draws of X (flattened).
    theory : float
        The exact ``E X``.
    z_bound : float
        The bound on ``|z|``.
    **params
        The case's parameters, stored in :attr:`Check.params`.

    Returns
    -------
    Check

    Examples
    --------
    >>> from modelcollapse.verify.checks import mean_check
    >>> c = mean_check("demo", "E X", [1.0, 2.0, 3.0, 4.0], 2.0, 3.0, M=10)
    >>> c.estimate, round(c.stderr, 4), round(c.z, 4), c.passed, c.params
    (2.5, 0.6455, 0.7746, True, {'M': 10})
    """
    x = _as_samples(samples)
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    return Check(family, quantity, params, float(theory), float(x.mean()), se, z_bound, x.size)


def variance_check(
    family: str, quantity: str, samples: ArrayLike, theory: float, z_bound: float, **params: Any
) -> Check:
    """Check ``Var X == theory``; se of the sample variance = sqrt((m4 - s^4) / N).

    The estimate is ``s^2`` (ddof = 1) and ``m4`` the sample's fourth central moment (ddof = 0);
    a negative ``m4 - s^4`` (tiny samples) counts as 0.

    Parameters
    ----------
    family : str
        The family's name (``"gaussian"``, ``"discrete"``, ...).
    quantity : str
        The checked quantity in words, e.g. ``"E log sigma_n^2"``.
    samples : array_like
        At least 2 i.i.d. draws of X (flattened).
    theory : float
        The exact ``Var X``.
    z_bound : float
        The bound on ``|z|``.
    **params
        The case's parameters.

    Returns
    -------
    Check

    Examples
    --------
    >>> from modelcollapse.verify.checks import variance_check
    >>> c = variance_check("demo", "Var X", [0.0, 0.0, 0.0, 4.0], 3.0, 3.0)
    >>> c.estimate, round(c.stderr, 4)          # s^2 = 12/3; m4 = 21, se = sqrt(5/4)
    (4.0, 1.118)
    """
    x = _as_samples(samples)
    d = x - x.mean()
    s2 = float(d @ d / (x.size - 1))
    m4 = float(np.mean(d**4))
    se = math.sqrt(max(m4 - s2 * s2, 0.0) / x.size)
    return Check(family, quantity, params, float(theory), s2, se, z_bound, x.size)


def probability_check(
    family: str, quantity: str, events: ArrayLike, theory: float, z_bound: float, **params: Any
) -> Check:
    """Check ``P(A) == theory`` from i.i.d. indicators; se = sqrt(p (1 - p) / N) under the null.

    ``p`` is the theory value, so the se does not depend on the simulation.

    Parameters
    ----------
    family : str
        The family's name (``"gaussian"``, ``"discrete"``, ...).
    quantity : str
        The checked quantity in words, e.g. ``"E log sigma_n^2"``.
    events : array_like of bool
        I.i.d. indicators of the event A (flattened).
    theory : float
        The exact ``P(A)``.
    z_bound : float
        The bound on ``|z|``.
    **params
        The case's parameters.

    Returns
    -------
    Check

    Examples
    --------
    >>> from modelcollapse.verify.checks import probability_check
    >>> c = probability_check("demo", "P(A)", [True] * 10 + [False] * 90, 0.5, 3.0)
    >>> c.estimate, c.stderr, round(c.z, 6), c.passed
    (0.1, 0.05, -8.0, False)
    """
    e = np.asarray(events, dtype=bool).ravel()
    p = float(theory)
    se = math.sqrt(max(p * (1.0 - p), 0.0) / e.size)
    return Check(family, quantity, params, p, float(e.mean()), se, z_bound, e.size)


def bounded_mean_check(
    family: str, quantity: str, samples: ArrayLike, theory: float, z_bound: float, lo: float,
    hi: float, **params: Any
) -> Check:
    """:func:`mean_check` of a quantity bounded in ``[lo, hi]``; when every simulated value is
    equal (sample se = 0) the se falls back to the Bhatia-Davis bound
    ``sqrt((hi - mu)(mu - lo) / N)`` at the theory mean ``mu``.

    The Bhatia-Davis inequality ``Var X <= (hi - E X)(E X - lo)`` bounds the variance of any
    variable in ``[lo, hi]``; the fallback is noted in :attr:`Check.notes`.

    Parameters
    ----------
    family : str
        The family's name (``"gaussian"``, ``"discrete"``, ...).
    quantity : str
        The checked quantity in words, e.g. ``"E log sigma_n^2"``.
    samples : array_like
        At least 2 i.i.d. draws of X, each in ``[lo, hi]``.
    theory : float
        The exact ``E X``.
    z_bound : float
        The bound on ``|z|``.
    lo, hi : float
        Bounds of X.
    **params
        The case's parameters.

    Returns
    -------
    Check

    References
    ----------
    R. Bhatia and C. Davis, "A better bound on the variance", Amer. Math. Monthly 107(4) (2000)
    353-357.

    Examples
    --------
    All 100 values at the upper bound 3, theory 2.9: se = sqrt(0.1 * 1.9 / 100).

    >>> from modelcollapse.verify.checks import bounded_mean_check
    >>> c = bounded_mean_check("demo", "E S", [3.0] * 100, 2.9, 3.0, 1.0, 3.0)
    >>> round(c.stderr, 4), round(c.z, 4), c.passed
    (0.0436, 2.2942, True)
    """
    c = mean_check(family, quantity, samples, theory, z_bound, **params)
    if c.stderr > 0:
        return c
    var_bound = max((hi - c.theory) * (c.theory - lo), 0.0)
    return Check(c.family, c.quantity, c.params, c.theory, c.estimate,
                 math.sqrt(var_bound / c.n_samples), c.z_bound, c.n_samples,
                 "all simulated values equal: se from the Bhatia-Davis bound at the theory mean")


#: Minimum expected number of events (``chains P (1 - P)``) for a probability check: the normal
#: approximation behind ``se = sqrt(P (1 - P) / N)`` is poor for a handful of events.
MIN_EVENTS = 50.0


def enough_events(p: float, chains: int, minimum: float = MIN_EVENTS) -> bool:
    """Whether a probability ``p`` is checkable from ``chains`` draws: ``chains p (1 - p) >=
    minimum``. Decided from the theory value alone, never from the simulation.

    Parameters
    ----------
    p : float
        The theory probability.
    chains : int
        Number of simulated draws.
    minimum : float
        Expected events required (default :data:`MIN_EVENTS`).

    Returns
    -------
    bool

    Examples
    --------
    >>> from modelcollapse.verify.checks import enough_events
    >>> enough_events(0.5, 1000), enough_events(1e-4, 1000)
    (True, False)
    """
    return chains * p * (1.0 - p) >= minimum


def perturbed(theory: Any, name: str, factor: float) -> Any:
    """A copy of a theory namespace whose function ``name`` is multiplied by ``factor``.

    Used to show that a check rejects a wrong formula.

    Parameters
    ----------
    theory : module or object
        A theory namespace (e.g. :mod:`modelcollapse.theory.gaussian`); its public attributes
        are copied, the original is left untouched.
    name : str
        The function to perturb.
    factor : float
        The perturbed function returns ``factor * numpy.asarray(original(...))``.

    Returns
    -------
    types.SimpleNamespace
        The copy.

    Examples
    --------
    >>> import types
    >>> from modelcollapse.verify.checks import perturbed
    >>> th = types.SimpleNamespace(square=lambda x: x * x, name="demo")
    >>> bad = perturbed(th, "square", 1.5)
    >>> float(bad.square(2.0)), th.square(2.0), bad.name
    (6.0, 4.0, 'demo')
    """
    fn = getattr(theory, name)
    attrs = {k: getattr(theory, k) for k in dir(theory) if not k.startswith("__")}
    attrs[name] = lambda *a, **kw: factor * np.asarray(fn(*a, **kw))
    return SimpleNamespace(**attrs)


_HIDDEN_PARAMS = ("chains", "seed")


def _case_text(params: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return " ".join(f"{k}={fmt(v)}" for k, v in params.items() if k not in _HIDDEN_PARAMS)


def format_table(checks: Sequence[Check], *, legend: bool = False) -> str:
    """A plain-text table: one line a check, then a summary line ``N passed, N failed``.

    Columns: family, quantity, case (the parameters but ``chains`` and ``seed``), theory,
    simulated, se, z, bound and the result (``pass`` or ``FAIL``).

    Parameters
    ----------
    checks : sequence of Check
        The checks, in report order.
    legend : bool
        Also explain each column, in lines starting with ``#`` before the table (the file of
        ``modelcollapse verify --out``).

    Returns
    -------
    str
        The table (used by ``modelcollapse verify``).

    Examples
    --------
    >>> from modelcollapse.verify.checks import Check, format_table
    >>> print(format_table([Check("gaussian", "E X", {"M": 10}, 1.0, 1.1, 0.1, 3.0)]))
    family    quantity case        theory     simulated         se       z  bound  result
    ---...
    gaussian  E X      M=10             1           1.1        0.1    1.00   3.00  pass
    <BLANKLINE>
    verification: 1 passed, 0 failed
    >>> print(format_table([], legend=True).splitlines()[0])
    # columns:
    """
    cases = [_case_text(c.params) for c in checks]
    wq = max([len("quantity")] + [len(c.quantity) for c in checks])
    wc = max([len("case")] + [len(t) for t in cases])
    head = (f"{'family':<9} {'quantity':<{wq}} {'case':<{wc}} {'theory':>13} {'simulated':>13} "
            f"{'se':>10} {'z':>7} {'bound':>6}  result")
    lines = []
    if legend:
        lines += [
            "# columns:",
            "#   family     the model family",
            "#   quantity   the checked quantity at generation n (the model after n refits)",
            "#   case       the case's parameters (chains and seed not shown)",
            "#   theory     the exact value (closed form, float64)",
            "#   simulated  the Monte Carlo estimate over the case's independent chains",
            "#   se         standard error of the estimate, N the number of simulated values:",
            "#              sd / sqrt(N) for a mean (a bounded quantity whose values are all",
            "#              equal: the Bhatia-Davis bound sqrt((hi - mu)(mu - lo) / N) at the",
            "#              theory mu); sqrt((m4 - s^4) / N) for a variance (s^2 the sample",
            "#              variance, m4 the fourth central moment); sqrt(p (1 - p) / N) at the",
            "#              theory value p for a probability",
            "#   z          (simulated - theory) / se",
            "#   bound      the Bonferroni z bound of the report; a check passes when |z| <= bound",
            "#   result     pass, or FAIL",
            "",
        ]
    lines += [head, "-" * len(head)]
    for c, text in zip(checks, cases, strict=True):
        lines.append(
            f"{c.family:<9} {c.quantity:<{wq}} {text:<{wc}} {c.theory:>13.6g} "
            f"{c.estimate:>13.6g} {c.stderr:>10.3g} {c.z:>7.2f} {c.z_bound:>6.2f}  "
            f"{'pass' if c.passed else 'FAIL'}"
        )
    n_pass = sum(c.passed for c in checks)
    lines.append("")
    lines.append(f"verification: {n_pass} passed, {len(checks) - n_pass} failed")
    return "\n".join(lines)
