"""Theorems of model collapse as Markdown proofs whose algebra sympy checks.

Each proof is a pair installed with the package:

- ``<name>.md``: the statement and the proof, its algebraic steps labelled with headings
  ``### Step k: title``;
- ``check_<name>.py``: a script, run as ``python -m modelcollapse.proofs.check_<name>``, that
  verifies each step with sympy (identities reduced to zero, limits, series, inequalities at
  exact rational points next to a stated analytic argument) and prints one line
  ``Step k: title ... ok`` per step; it exits non-zero if any step fails.

Proofs available: ``gaussian_collapse`` (1-D Gaussian refit, Shumailov et al., Nature 2024,
Theorem 3.1); further ones (e.g. ``wright_fisher``) are picked up automatically.

Runner API (small on purpose):

- :func:`available` -- names of the proofs (``.md`` files) shipped with the package;
- :func:`proof_text`, :func:`proof_steps` -- the Markdown and the step labels it declares;
- :func:`run_check` -- run one check script in a subprocess;
- :func:`run_all` -- run every check script, return ``{name: passed}``;
- :func:`run_steps` and the assertion helpers (:func:`assert_zero`, :func:`assert_equal`,
  :func:`assert_true`, :func:`assert_positive_at`) used by the check scripts;
  :class:`StepFailure` is what a failed assertion raises.

This package imports :mod:`modelcollapse.theory.symbolic` (in the check scripts) and nothing
from ``sims``; sympy is imported lazily.
"""

from __future__ import annotations

import re
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from importlib.util import find_spec
from typing import Any, TextIO

__all__ = [
    "StepFailure",
    "available",
    "proof_text",
    "proof_steps",
    "check_module",
    "run_check",
    "run_all",
    "run_steps",
    "assert_zero",
    "assert_equal",
    "assert_true",
    "assert_positive_at",
    "STEP_HEADING",
    "STEP_OK",
]

#: A step heading in a proof: ``### Step 3: title`` (any heading level).
STEP_HEADING = re.compile(r"^#{1,6}\s*Step\s+(\d+)\b", re.MULTILINE)
#: A passed step in a check script's output: ``Step 3: title ... ok``.
STEP_OK = re.compile(r"^Step\s+(\d+)\b.*\.\.\.\s*ok\s*$", re.MULTILINE)


class StepFailure(AssertionError):
    """Raised by the assertion helpers when a proof step does not check."""


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------
def available() -> list[str]:
    """Names of the proofs shipped with the package (stems of the ``.md`` files), sorted."""
    root = resources.files(__name__)
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".md"))


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name must be a proof name like 'gaussian_collapse' (got {name!r})")
    return name


def proof_text(name: str) -> str:
    """The Markdown text of proof ``name`` (``ValueError`` if there is no such proof)."""
    _check_name(name)
    path = resources.files(__name__) / f"{name}.md"
    if not path.is_file():
        raise ValueError(f"name must be one of {available()} (got {name!r})")
    return path.read_text(encoding="utf-8")


def proof_steps(name: str) -> list[str]:
    """Step labels declared by the headings of proof ``name``, in order (``['1', '2', ...]``)."""
    return STEP_HEADING.findall(proof_text(name))


def check_module(name: str) -> str | None:
    """Dotted module name of the check script of proof ``name``, or None if it has none."""
    mod = f"{__name__}.check_{_check_name(name)}"
    return mod if find_spec(mod) is not None else None


def run_check(name: str, *, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m modelcollapse.proofs.check_<name>`` in a subprocess and return the
    completed process (``stdout`` holds the ``Step k ... ok`` lines)."""
    mod = check_module(name)
    if mod is None:
        raise ValueError(f"proof {name!r} has no check script check_{name}.py")
    return subprocess.run(
        [sys.executable, "-m", mod], capture_output=True, text=True, timeout=timeout, check=False
    )


def run_all(*, timeout: float = 300.0, verbose: bool = True) -> dict[str, bool]:
    """Run every check script; a proof passes when the script exits 0 and every step its
    Markdown declares is reported ``ok``. Returns ``{name: passed}``."""
    results: dict[str, bool] = {}
    for name in available():
        if check_module(name) is None:
            results[name] = False
            if verbose:
                print(f"{name}: no check script")
            continue
        proc = run_check(name, timeout=timeout)
        ok_steps = set(STEP_OK.findall(proc.stdout))
        missing = [s for s in proof_steps(name) if s not in ok_steps]
        results[name] = proc.returncode == 0 and not missing
        if verbose:
            status = "ok" if results[name] else f"FAILED (rc={proc.returncode}, missing={missing})"
            print(f"{name}: {status}")
    return results


# ---------------------------------------------------------------------------------------------
# Step runner and assertion helpers
# ---------------------------------------------------------------------------------------------
def run_steps(
    steps: Iterable[tuple[str, str, Callable[[], Any]]], *, stream: TextIO | None = None
) -> int:
    """Run ``(label, title, check)`` triples in order; print ``Step label: title ... ok`` or
    ``... FAILED: reason`` for each. Returns the number of failed steps (use it as exit code:
    ``sys.exit(min(failures, 1))``)."""
    out = stream if stream is not None else sys.stdout
    failures = 0
    for label, title, check in steps:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - report every kind of failure per step
            failures += 1
            reason = f"{type(exc).__name__}: {exc}"
            print(f"Step {label}: {title} ... FAILED: {reason}", file=out)
            if not isinstance(exc, StepFailure):
                traceback.print_exc(file=out)
        else:
            print(f"Step {label}: {title} ... ok", file=out)
        out.flush()
    return failures


def _factor_logs(x: Any) -> Any:
    import sympy as sp

    return x.replace(lambda z: isinstance(z, sp.log), lambda z: sp.log(sp.factor(z.args[0])))


def _simplify_zero(expr: Any) -> bool:
    """Try cheap exact rewrites first, ``simplify`` last; True iff one gives exactly 0."""
    import sympy as sp

    e = sp.sympify(expr)
    if e == 0:
        return True
    if isinstance(e, sp.Basic) and e.has(sp.Piecewise):
        e = sp.piecewise_fold(e)
        if isinstance(e, sp.Piecewise):
            return all(_simplify_zero(branch) for branch, _ in e.args)
    attempts = (
        sp.expand,
        lambda x: sp.cancel(sp.together(x)),
        lambda x: sp.expand(sp.expand_log(_factor_logs(sp.expand(x)), force=True)),
        lambda x: sp.cancel(sp.expand_func(sp.gammasimp(x))),
        lambda x: sp.expand(sp.powsimp(sp.powdenest(x, force=True), force=True)),
        sp.simplify,
        lambda x: sp.simplify(sp.expand_func(sp.gammasimp(x))),
        lambda x: sp.simplify(sp.expand_log(_factor_logs(x), force=True)),
    )
    return any(f(e) == 0 for f in attempts)


def assert_zero(expr: Any, what: str = "expression") -> None:
    """``sympy`` must reduce ``expr`` to exactly 0 (``StepFailure`` otherwise)."""
    if not _simplify_zero(expr):
        raise StepFailure(f"{what}: does not simplify to 0 (got {expr})")


def assert_equal(lhs: Any, rhs: Any, what: str = "identity") -> None:
    """``simplify(lhs - rhs) == 0`` (``StepFailure`` otherwise)."""
    if not _simplify_zero(lhs - rhs):
        raise StepFailure(f"{what}: {lhs} != {rhs}")


def assert_true(cond: Any, what: str = "condition") -> None:
    """``cond`` must be exactly true: Python ``True``, sympy's ``S.true`` or a NumPy true bool
    (an unevaluated sympy relational fails)."""
    import sympy as sp

    ok = cond is True or cond is sp.S.true
    ok = ok or (type(cond).__module__ == "numpy" and type(cond).__name__ == "bool" and bool(cond))
    ok = ok or (type(cond).__module__ == "numpy" and type(cond).__name__ == "bool_" and bool(cond))
    if not ok:
        raise StepFailure(f"{what}: not true ({cond})")


def assert_positive_at(
    expr: Any,
    points: Sequence[dict[Any, Any]],
    what: str = "expression",
    *,
    digits: int = 40,
) -> None:
    """``expr > 0`` at each exact point (a dict of substitutions, rationals preferred),
    evaluated with ``digits`` significant digits and required to exceed ``10**(5-digits)``
    times its magnitude bound so that rounding cannot decide the sign."""
    import sympy as sp

    for pt in points:
        val = sp.sympify(expr).subs(pt)
        num = sp.N(val, digits)
        if not num.is_real or not num.is_finite:
            raise StepFailure(f"{what}: not a finite real at {pt} (got {num})")
        if not num > sp.Float(10) ** (5 - digits) * max(1, abs(num)):
            raise StepFailure(f"{what}: not > 0 at {pt} (got {num})")
