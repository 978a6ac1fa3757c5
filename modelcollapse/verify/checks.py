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
    "perturbed",
    "format_table",
]

DEFAULT_ALPHA = 1e-3


@dataclass(frozen=True)
class Check:
    """One theory-vs-simulation comparison."""

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
        return bool(abs(self.z) <= self.z_bound)


def bonferroni_z(n_checks: int, alpha: float = DEFAULT_ALPHA) -> float:
    """Two-sided z bound for ``n_checks`` simultaneous checks at family-wise level ``alpha``."""
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
    """Check ``E X == theory`` from i.i.d. draws of X; se = sd / sqrt(N)."""
    x = _as_samples(samples)
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    return Check(family, quantity, params, float(theory), float(x.mean()), se, z_bound, x.size)


def variance_check(
    family: str, quantity: str, samples: ArrayLike, theory: float, z_bound: float, **params: Any
) -> Check:
    """Check ``Var X == theory``; se of the sample variance = sqrt((m4 - s^4) / N)."""
    x = _as_samples(samples)
    d = x - x.mean()
    s2 = float(d @ d / (x.size - 1))
    m4 = float(np.mean(d**4))
    se = math.sqrt(max(m4 - s2 * s2, 0.0) / x.size)
    return Check(family, quantity, params, float(theory), s2, se, z_bound, x.size)


def probability_check(
    family: str, quantity: str, events: ArrayLike, theory: float, z_bound: float, **params: Any
) -> Check:
    """Check ``P(A) == theory`` from i.i.d. indicators; se = sqrt(p (1 - p) / N) under the null."""
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
    ``sqrt((hi - mu)(mu - lo) / N)`` at the theory mean ``mu``."""
    c = mean_check(family, quantity, samples, theory, z_bound, **params)
    if c.stderr > 0:
        return c
    var_bound = max((hi - c.theory) * (c.theory - lo), 0.0)
    return Check(c.family, c.quantity, c.params, c.theory, c.estimate,
                 math.sqrt(var_bound / c.n_samples), c.z_bound, c.n_samples,
                 "all simulated values equal: se from the Bhatia-Davis bound at the theory mean")


def perturbed(theory: Any, name: str, factor: float) -> Any:
    """A copy of a theory namespace whose function ``name`` is multiplied by ``factor``.

    Used to show that a check rejects a wrong formula.
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


def format_table(checks: Sequence[Check]) -> str:
    """A plain-text table: one line a check, then a summary line ``N passed, N failed``.

    Examples
    --------
    >>> print(format_table([Check("gaussian", "E X", {"M": 10}, 1.0, 1.1, 0.1, 3.0)]))
    ... # doctest: +NORMALIZE_WHITESPACE
    family quantity ... result
    ...
    gaussian E X ... M=10 ... 1 1.1 0.1 1.00 3.00 pass
    <BLANKLINE>
    verification: 1 passed, 0 failed
    """
    cases = [_case_text(c.params) for c in checks]
    wq = max([len("quantity")] + [len(c.quantity) for c in checks])
    wc = max([len("case")] + [len(t) for t in cases])
    head = (f"{'family':<9} {'quantity':<{wq}} {'case':<{wc}} {'theory':>13} {'simulated':>13} "
            f"{'se':>10} {'z':>7} {'bound':>6}  result")
    lines = [head, "-" * len(head)]
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
