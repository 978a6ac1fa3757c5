"""One verification registry: every family registers its cases, one Bonferroni level per report.

A family front-end (a module of :mod:`modelcollapse.families` that defines ``FAMILY``, a
:class:`FamilyEntry`) is found automatically: adding a family means adding a module, not editing
this one. Each entry gives

- its verification :class:`Case` s -- a label, the most checks the case can return (fixed before
  any simulation, so the report's bound is set in advance) and a function
  ``run(key, chains, z_bound) -> list[Check]``;
- its ``modelcollapse simulate <family>`` subcommand.

:func:`run_report` runs the selected cases with one Bonferroni bound over all of them (the
report's family-wise level is ``alpha``) and derives each case's random key from one seed and the
case's id, ``fold_in(key(seed), crc32(id))``: adding, removing or reordering cases never changes
another case's random numbers.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from modelcollapse.verify.checks import DEFAULT_ALPHA, Check, bonferroni_z

__all__ = ["Case", "FamilyEntry", "families", "cases", "case_key", "run_report", "describe"]


@dataclass(frozen=True)
class Case:
    """One verification case of a family.

    Parameters
    ----------
    family : str
        The family's name (``"gaussian"``, ``"discrete"``, ...).
    label : str
        The case's parameters in words (unique within the family), e.g. ``"M=100 n=1000"``.
    max_checks : int
        Upper bound on the number of checks :attr:`run` returns.
    run : callable
        ``run(key, chains, z_bound) -> list[Check]``: simulate with ``key`` and compare.
    max_chains : int, optional
        Cap on the chains of this case (memory); None for as many as the report asks.
    """

    family: str
    label: str
    max_checks: int
    run: Callable[[Any, int, float], list[Check]]
    max_chains: int | None = None

    @property
    def id(self) -> str:
        """``"<family>/<label>"``: the case's name in reports and in its random key."""
        return f"{self.family}/{self.label}"


@dataclass(frozen=True)
class FamilyEntry:
    """What a family registers: its name, a one-line summary, its verification cases and its
    ``simulate`` subcommand (``add_simulate_command(subparsers)`` adds it to an argparse
    sub-parsers object and sets ``func`` to the handler). ``order`` sorts the families."""

    name: str
    summary: str
    cases: Callable[[], Sequence[Case]]
    add_simulate_command: Callable[[Any], Any]
    order: int = 100


def families() -> dict[str, FamilyEntry]:
    """Every registered family, by name, in report order (discovered in
    :mod:`modelcollapse.families`: each public module defining ``FAMILY``)."""
    import modelcollapse.families as pkg

    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        entry = getattr(module, "FAMILY", None)
        if isinstance(entry, FamilyEntry):
            found.append(entry)
    found.sort(key=lambda e: (e.order, e.name))
    return {e.name: e for e in found}


def cases(names: Iterable[str] | None = None) -> list[Case]:
    """The cases of the named families (all families when ``names`` is None), in report order.

    Raises ``ValueError`` naming ``family`` for an unknown family name.
    """
    known = families()
    chosen = list(known) if names is None else list(names)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ValueError(f"family must be one of {tuple(known)} (got {unknown})")
    return [c for name in known if name in chosen for c in known[name].cases()]


def case_key(seed: int, case: Case) -> Any:
    """The random key of a case: ``fold_in(jax.random.key(seed), crc32(case.id))``."""
    import jax

    return jax.random.fold_in(jax.random.key(seed), zlib.crc32(case.id.encode()))


def run_report(selected: Sequence[Case], *, chains: int = 100_000, seed: int = 2024,
               alpha: float = DEFAULT_ALPHA,
               progress: Callable[[str], None] | None = None) -> list[Check]:
    """Run ``selected`` cases; one Bonferroni bound over the whole report at level ``alpha``.

    Parameters
    ----------
    selected : sequence of Case
        The cases to run (see :func:`cases`).
    chains : int
        Chains per case (capped by a case's ``max_chains``).
    seed : int
        The report's seed; each case's key comes from it and the case's id.
    alpha : float
        Family-wise error of the whole report.
    progress : callable, optional
        Called with one line per case.

    Returns
    -------
    list of Check
    """
    selected = list(selected)
    if not selected:
        return []
    z = bonferroni_z(sum(c.max_checks for c in selected), alpha)
    out: list[Check] = []
    for i, case in enumerate(selected):
        if progress is not None:
            progress(f"[{i + 1}/{len(selected)}] {case.id}")
        n = chains if case.max_chains is None else min(chains, case.max_chains)
        got = case.run(case_key(seed, case), n, z)
        if len(got) > case.max_checks:
            raise RuntimeError(f"case {case.id} returned {len(got)} checks, more than its "
                               f"declared max_checks={case.max_checks}")
        out += got
    return out


def describe(selected: Sequence[Case]) -> str:
    """One line per case: its id and the most checks it returns (``modelcollapse verify
    --list``)."""
    width = max((len(c.id) for c in selected), default=0)
    lines = [f"{c.id:<{width}}  up to {c.max_checks} checks" for c in selected]
    lines.append(f"{len(selected)} cases, up to {sum(c.max_checks for c in selected)} checks")
    return "\n".join(lines)
