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

    Examples
    --------
    >>> from modelcollapse.verify.checks import mean_check
    >>> from modelcollapse.verify.registry import Case
    >>> run = lambda key, chains, z: [mean_check("demo", "E X", [1.0, 3.0], 2.0, z)]
    >>> case = Case("demo", "constant", 1, run)
    >>> case.id
    'demo/constant'
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
    sub-parsers object and sets ``func`` to the handler). ``order`` sorts the families.

    Parameters
    ----------
    name : str
        The family's name (``modelcollapse verify --family NAME``, ``simulate NAME``).
    summary : str
        One line describing the family.
    cases : callable
        ``cases() -> sequence of Case``: the family's verification cases.
    add_simulate_command : callable
        ``add_simulate_command(subparsers)``: adds the ``simulate`` subcommand.
    order : int
        Sort key of the family in reports (then the name).

    Examples
    --------
    >>> from modelcollapse.verify.registry import families
    >>> entry = families()["gaussian"]
    >>> entry.name, entry.order, len(entry.cases()) > 0
    ('gaussian', 0, True)
    """

    name: str
    summary: str
    cases: Callable[[], Sequence[Case]]
    add_simulate_command: Callable[[Any], Any]
    order: int = 100


def families() -> dict[str, FamilyEntry]:
    """Every registered family, by name, in report order (discovered in
    :mod:`modelcollapse.families`: each public module defining ``FAMILY``).

    Report order sorts by :attr:`FamilyEntry.order`, then by name.

    Returns
    -------
    dict of str to FamilyEntry

    Examples
    --------
    >>> from modelcollapse.verify.registry import families
    >>> fams = families()
    >>> list(fams)[0], "discrete" in fams
    ('gaussian', True)
    """
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

    Parameters
    ----------
    names : iterable of str, optional
        Family names (see :func:`families`); the order given does not matter.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> from modelcollapse.verify.registry import cases
    >>> chosen = cases(["gaussian"])
    >>> chosen[0].id, chosen[0].max_checks
    ('gaussian/M=2 n=5 ddof=1 samples', 7)
    >>> cases(["nope"])
    Traceback (most recent call last):
    ...
    ValueError: family must be one of (...) (got ['nope'])
    """
    known = families()
    chosen = list(known) if names is None else list(names)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ValueError(f"family must be one of {tuple(known)} (got {unknown})")
    return [c for name in known if name in chosen for c in known[name].cases()]


def case_key(seed: int, case: Case) -> Any:
    """The random key of a case: ``fold_in(jax.random.key(seed), crc32(case.id))``.

    The key depends only on the seed and the case's id, so adding, removing or reordering
    cases leaves every other case's random numbers unchanged.

    Parameters
    ----------
    seed : int
        The report's seed.
    case : Case
        The case.

    Returns
    -------
    jax.Array
        A typed PRNG key.

    Examples
    --------
    >>> import jax, zlib
    >>> from modelcollapse.verify.registry import Case, case_key
    >>> case = Case("demo", "constant", 1, lambda key, chains, z: [])
    >>> ref = jax.random.fold_in(jax.random.key(7), zlib.crc32(b"demo/constant"))
    >>> bool((jax.random.key_data(case_key(7, case)) == jax.random.key_data(ref)).all())
    True
    """
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
        The checks of every case, in order, each with the report's bound
        ``bonferroni_z(sum of max_checks, alpha)``.

    Raises
    ------
    RuntimeError
        If a case returns more checks than its declared ``max_checks``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.verify.checks import mean_check
    >>> from modelcollapse.verify.registry import Case, run_report
    >>> def run(key, chains, z):
    ...     x = np.arange(chains) % 2               # E X = 1/2 exactly here
    ...     return [mean_check("demo", "E X", x, 0.5, z, chains=chains)]
    >>> out = run_report([Case("demo", "coin", 1, run)], chains=100, progress=print)
    [1/1] demo/coin
    >>> out[0].estimate, out[0].passed, round(out[0].z_bound, 4)     # one check: alpha = 1e-3
    (0.5, True, 3.2905)
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
    --list``).

    A final line gives the number of cases and the total of their ``max_checks``.

    Parameters
    ----------
    selected : sequence of Case
        The cases.

    Returns
    -------
    str
        The listing.

    Examples
    --------
    >>> from modelcollapse.verify.registry import cases, describe
    >>> print(describe(cases(["gaussian"])[:2]))
    gaussian/M=2 n=5 ddof=1 samples    up to 7 checks
    gaussian/M=10 n=10 ddof=1 samples  up to 7 checks
    2 cases, up to 14 checks
    """
    width = max((len(c.id) for c in selected), default=0)
    lines = [f"{c.id:<{width}}  up to {c.max_checks} checks" for c in selected]
    lines.append(f"{len(selected)} cases, up to {sum(c.max_checks for c in selected)} checks")
    return "\n".join(lines)
