"""Theory against simulation: z-checks with stated standard errors.

Each :class:`Check` compares a closed form from :mod:`modelcollapse.theory` with a Monte Carlo
estimate from :mod:`modelcollapse.sims` (which never sees the formula). The estimate's standard
error comes from the simulated sample itself:

- a mean ``E X``:          se = sd(X) / sqrt(N)
- a variance ``Var X``:    se = sqrt((m4 - s^4) / N), m4 the sample's fourth central moment
- a probability ``P(A)``:  se = sqrt(p (1 - p) / N), p the theory value (the null hypothesis)

and a check passes when ``|estimate - theory| <= z_bound * se``. Across a family of ``m`` checks the
bound is Bonferroni's ``z = Phi^{-1}(1 - alpha / (2 m))`` for a family-wise error ``alpha``
(default 1e-3), so a correct formula fails a whole report with probability at most ``alpha``.

Only quantities whose Monte Carlo error is controlled are checked (DESIGN.md, "Heavy tails"):
moments of ``log sigma_n^2``, probabilities, and plain moments (``E sigma_n``,
``E (mu_n - mu_0)^2``, ``E W2^2``) only while ``n <= M``, before rare paths carry the mean.

The same machinery drives ``modelcollapse verify`` (a printed report, exit status 1 on failure, in
the spirit of msprime's ``verification.py``) and the statistical tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "Check",
    "bonferroni_z",
    "mean_check",
    "variance_check",
    "probability_check",
    "gaussian_checks",
    "GAUSSIAN_CASES",
    "run_verification",
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


# --------------------------------------------------------------------------------------------
# 1-D Gaussian replace workflow (Shumailov et al. 2024, Thm 3.1)
# --------------------------------------------------------------------------------------------

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


def _default_gaussian_theory() -> Any:
    from modelcollapse.theory import gaussian

    return gaussian


def gaussian_checks(
    seed: int,
    *,
    M: int,
    n: int,
    ddof: int = 1,
    chains: int = 20_000,
    method: str = "sufficient",
    z_bound: float | None = None,
    eps_z: Sequence[float] = (-1.0, 1.0),
    theory: Any = None,
    simulate: Callable[..., Any] | None = None,
) -> list[Check]:
    """Compare the 1-D Gaussian closed forms with one simulation at generation ``n``.

    The simulation starts from N(0, 1) (sigma_0 = 1, so every quantity is a ratio to sigma_0) and
    runs ``n`` generations of "draw M points, refit" with ``chains`` independent chains, seeded by
    ``jax.random.key(seed)``. The collapse thresholds are ``eps = exp(E log sigma_n^2 + z sd)`` for
    ``z`` in ``eps_z``, so the checked probabilities are neither 0 nor 1.

    ``theory`` may replace :mod:`modelcollapse.theory.gaussian` by any object with the same
    function names: the tests feed a deliberately wrong formula this way and assert rejection.
    ``z_bound`` defaults to the Bonferroni bound over this case's checks at alpha = 1e-3.
    """
    import jax

    if simulate is None:
        from modelcollapse.sims.gaussian import simulate
    th = _default_gaussian_theory() if theory is None else theory

    run = simulate(
        jax.random.key(seed),
        M=M,
        generations=n,
        chains=chains,
        ddof=ddof,
        method=method,
        record=[0, n] if n > 0 else [0],
    )
    row = int(np.flatnonzero(np.asarray(run.generations) == n)[0])
    log_var = np.asarray(run.log_variance, dtype=np.float64)[row]
    mean = np.asarray(run.mean, dtype=np.float64)[row]
    std = np.exp(0.5 * log_var)

    params = {"M": M, "n": n, "ddof": ddof, "method": method, "chains": chains, "seed": seed}
    moments = ("E s", "E (", "E W")
    quantities = [q for q in GAUSSIAN_QUANTITIES if n <= M or not q.startswith(moments)]
    z = bonferroni_z(len(quantities)) if z_bound is None else z_bound

    m_log = float(th.expected_log_variance(n, M, ddof=ddof))
    v_log = float(th.log_variance_variance(n, M, ddof=ddof))
    checks = [
        mean_check("gaussian", "E log sigma_n^2", log_var, m_log, z, **params),
        variance_check("gaussian", "Var log sigma_n^2", log_var, v_log, z, **params),
    ]
    for label, ez in zip(("eps_lo", "eps_hi"), eps_z, strict=True):
        log_eps = m_log + ez * math.sqrt(v_log)
        eps = math.exp(log_eps)
        p = float(th.collapse_probability(n, M, eps, ddof=ddof))
        checks.append(
            probability_check(
                "gaussian", f"P(sigma_n^2 <= {label})", log_var <= log_eps, p, z, eps=eps, **params
            )
        )
    if n <= M:
        w2 = mean**2 + (std - 1.0) ** 2
        checks += [
            mean_check("gaussian", "E sigma_n", std, th.expected_std(n, M, ddof=ddof), z, **params),
            mean_check(
                "gaussian", "E (mu_n - mu_0)^2", mean**2, th.mean_drift_mse(n, M, ddof=ddof), z,
                **params,
            ),
            mean_check(
                "gaussian", "E W2^2", w2, th.expected_w2_squared(n, M, ddof=ddof), z, **params
            ),
        ]
    return checks


def perturbed(theory: Any, name: str, factor: float) -> Any:
    """A copy of a theory namespace whose function ``name`` is multiplied by ``factor``.

    Used to show that a check rejects a wrong formula.
    """
    fn = getattr(theory, name)
    attrs = {k: getattr(theory, k) for k in dir(theory) if not k.startswith("__")}
    attrs[name] = lambda *a, **kw: factor * np.asarray(fn(*a, **kw))
    return SimpleNamespace(**attrs)


#: (M, n, ddof, method) cases of the verification report: small and large M, n below and far
#: above M, both estimators, both simulator paths.
GAUSSIAN_CASES: tuple[tuple[int, int, int, str], ...] = (
    (2, 5, 1, "samples"),
    (10, 10, 1, "samples"),
    (10, 10, 0, "sufficient"),
    (100, 100, 1, "samples"),
    (100, 100, 0, "samples"),
    (100, 1000, 1, "sufficient"),
    (100, 1000, 0, "sufficient"),
    (1000, 500, 1, "sufficient"),
    (10_000, 5000, 1, "sufficient"),
)


def run_verification(
    *,
    chains: int = 100_000,
    seed: int = 2024,
    alpha: float = DEFAULT_ALPHA,
    cases: Iterable[tuple[int, int, int, str]] = GAUSSIAN_CASES,
    progress: Callable[[str], None] | None = None,
) -> list[Check]:
    """Run every verification case; the z bound is Bonferroni over all checks of the report."""
    cases = list(cases)
    # Upper bound on the number of checks, so the bound is fixed before any result is seen.
    n_checks = len(cases) * len(GAUSSIAN_QUANTITIES)
    z = bonferroni_z(n_checks, alpha)
    out: list[Check] = []
    for i, (M, n, ddof, method) in enumerate(cases):
        if progress is not None:
            progress(f"[{i + 1}/{len(cases)}] gaussian M={M} n={n} ddof={ddof} {method}")
        out += gaussian_checks(
            seed + i, M=M, n=n, ddof=ddof, chains=chains, method=method, z_bound=z
        )
    return out


def format_table(checks: Sequence[Check]) -> str:
    """A plain-text table: one line a check, then a summary line ``N passed, N failed``."""
    head = (
        f"{'family':<9} {'quantity':<24} {'M':>6} {'n':>6} {'ddof':>4} {'K':>5} {'method':<10} "
        f"{'theory':>13} {'simulated':>13} {'se':>10} {'z':>7} {'bound':>6}  result"
    )
    lines = [head, "-" * len(head)]
    for c in checks:
        p = c.params
        lines.append(
            f"{c.family:<9} {c.quantity:<24} {p.get('M', ''):>6} {p.get('n', ''):>6} "
            f"{p.get('ddof', ''):>4} {p.get('K', ''):>5} {p.get('method', ''):<10} "
            f"{c.theory:>13.6g} "
            f"{c.estimate:>13.6g} {c.stderr:>10.3g} {c.z:>7.2f} {c.z_bound:>6.2f}  "
            f"{'pass' if c.passed else 'FAIL'}"
        )
    n_pass = sum(c.passed for c in checks)
    lines.append("")
    lines.append(f"verification: {n_pass} passed, {len(checks) - n_pass} failed")
    return "\n".join(lines)
