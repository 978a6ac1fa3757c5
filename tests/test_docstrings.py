"""Docstrings: every public function is documented the numpydoc way, and every example runs.

- numpydoc sections: a public function (listed in its module's ``__all__``) has a one-line
  summary, ``Parameters`` (when it takes any), ``Returns`` (when it returns something) and
  ``Examples``;
- doctests: the examples of every module of the package, and the README's tour, are run (with
  ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Modules whose public functions must carry numpydoc sections.
DOCUMENTED = (
    "modelcollapse.spec.params",
    "modelcollapse.spec.workflows",
    "modelcollapse.theory.special",
    "modelcollapse.theory.logwalk",
    "modelcollapse.theory.gaussian",
    "modelcollapse.theory.wright_fisher",
    "modelcollapse.theory.branching",
    "modelcollapse.theory.discrete",
    "modelcollapse.theory.poisson",
    "modelcollapse.theory.symbolic.gaussian",
    "modelcollapse.theory.symbolic.discrete",
    "modelcollapse.theory.symbolic.poisson",
    "modelcollapse.sims.driver",
    "modelcollapse.sims.workflows",
    "modelcollapse.sims.rng.threefry",
    "modelcollapse.sims.rng.gamma",
    "modelcollapse.sims.rng.binomial",
    "modelcollapse.sims.rng.categorical",
    "modelcollapse.sims.rng.poisson",
    "modelcollapse.sims.gaussian",
    "modelcollapse.sims.discrete",
    "modelcollapse.sims.poisson",
    "modelcollapse.verify.checks",
    "modelcollapse.verify.registry",
    "modelcollapse.families.gaussian",
    "modelcollapse.families.discrete",
    "modelcollapse.families.poisson",
)
_OPTIONAL = {"modelcollapse.theory.poisson", "modelcollapse.theory.symbolic.poisson",
             "modelcollapse.sims.rng.poisson", "modelcollapse.sims.poisson",
             "modelcollapse.families.poisson"}
#: Deprecated modules: importing them warns; their docs live in the modules they point to.
_DEPRECATED = {"modelcollapse.sims.samplers", "modelcollapse.sims.discrete_samplers",
               "modelcollapse.verify_discrete", "modelcollapse.cli_discrete"}


def _public_functions(modname: str) -> list[tuple[str, object]]:
    try:
        mod = importlib.import_module(modname)
    except ModuleNotFoundError:
        if modname in _OPTIONAL:
            pytest.skip(f"{modname} does not exist yet")
        raise
    out = []
    for name in getattr(mod, "__all__", ()):
        obj = getattr(mod, name)
        if inspect.isfunction(obj) and obj.__module__ == modname:
            out.append((name, obj))
    return out


def _missing_sections(fn: object) -> list[str]:
    doc = inspect.getdoc(fn) or ""
    missing = []
    if not doc.strip():
        return ["docstring"]
    sig = inspect.signature(fn)  # type: ignore[arg-type]
    takes = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    if takes and "Parameters\n----------" not in doc:
        missing.append("Parameters")
    returns = sig.return_annotation
    if returns not in (None, "None", inspect.Signature.empty) and not (
            "Returns\n-------" in doc or "Yields\n------" in doc):
        missing.append("Returns")
    if "Examples\n--------" not in doc:
        missing.append("Examples")
    return missing


@pytest.mark.parametrize("modname", DOCUMENTED)
def test_public_functions_have_numpydoc_sections(modname):
    bad = {name: m for name, fn in _public_functions(modname) if (m := _missing_sections(fn))}
    assert not bad, f"{modname}: {bad}"


SUBPACKAGES = ("spec", "theory", "sims", "verify", "families", "figures", "proofs")


def _all_modules() -> list[str]:
    """Every module of the package (the subpackages walked one by one: in a source checkout
    ``modelcollapse.__path__`` also holds the repository root)."""
    names = ["modelcollapse", "modelcollapse.cli", "modelcollapse._cliutil"]
    for sub in SUBPACKAGES:
        pkg = importlib.import_module(f"modelcollapse.{sub}")
        names.append(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}."):
            names.append(info.name)
    skip = _DEPRECATED | {n for n in names if n.startswith("modelcollapse.proofs.check_")}
    return sorted(set(names) - skip)


FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("modname", _all_modules())
def test_module_examples_run(modname):
    mod = importlib.import_module(modname)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(mod, modname, globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_readme_tour_runs():
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=FLAGS,
                              verbose=False)
    assert result.attempted > 5 and result.failed == 0, result
