"""Theory against simulation: the check framework and the registry of every family's cases.

- :mod:`~modelcollapse.verify.checks` -- :class:`Check`, z-bounds (Bonferroni), mean / variance /
  probability checks with their standard errors, :func:`perturbed`, :func:`format_table`
  (family-free);
- :mod:`~modelcollapse.verify.registry` -- the families' verification cases (each family
  registers its own, in :mod:`modelcollapse.families`), one Bonferroni level over a whole
  report, per-case keys from one seed and the case id.

``modelcollapse verify`` runs the report (``--list``, ``--family NAME``).

Deprecated names of version 0.1 (``gaussian_checks``, ``GAUSSIAN_CASES``,
``GAUSSIAN_QUANTITIES``, ``run_verification``) still resolve here, with a
``DeprecationWarning``; they live in :mod:`modelcollapse.families.gaussian`.
"""

from __future__ import annotations

import warnings
from typing import Any

from modelcollapse.verify.checks import (
    DEFAULT_ALPHA,
    Check,
    bonferroni_z,
    bounded_mean_check,
    format_table,
    mean_check,
    perturbed,
    probability_check,
    variance_check,
)

__all__ = ["Check", "DEFAULT_ALPHA", "bonferroni_z", "mean_check", "variance_check",
           "probability_check", "bounded_mean_check", "perturbed", "format_table"]

_MOVED = {"gaussian_checks", "GAUSSIAN_CASES", "GAUSSIAN_QUANTITIES"}


def run_verification(*, chains: int = 100_000, seed: int = 2024, alpha: float = DEFAULT_ALPHA,
                     cases: Any = None, progress: Any = None) -> list[Check]:
    """Deprecated: the Gaussian cases alone; use ``registry.run_report(registry.cases(
    ["gaussian"]))`` (``modelcollapse verify --family gaussian``)."""
    from modelcollapse.families import gaussian
    from modelcollapse.verify import registry

    warnings.warn("run_verification is deprecated; use modelcollapse.verify.registry.run_report",
                  DeprecationWarning, stacklevel=2)
    selected = gaussian.cases() if cases is None else gaussian.cases_of(cases)
    return registry.run_report(selected, chains=chains, seed=seed, alpha=alpha,
                               progress=progress)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from modelcollapse.families import gaussian

        warnings.warn(f"modelcollapse.verify.{name} is deprecated; use "
                      f"modelcollapse.families.gaussian.{name}", DeprecationWarning, stacklevel=2)
        return getattr(gaussian, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
