"""The layers' import rules (DESIGN.md): the three witnesses stay independent.

- theory never imports jax or modelcollapse.sims (closed forms are NumPy/SciPy only);
- sims never imports modelcollapse.theory (a simulator that used the formula would confirm nothing);
- proofs import only theory.symbolic (and their own runner) from the package.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("." * node.level + (node.module or ""))
    return names


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("theory"), ids=lambda p: str(p.relative_to(ROOT)))
def test_theory_imports_neither_jax_nor_sims(path):
    bad = {m for m in _imports(path) if m.split(".")[0] == "jax" or "sims" in m.split(".")}
    assert not bad, bad


@pytest.mark.parametrize("path", _files("sims"), ids=lambda p: str(p.relative_to(ROOT)))
def test_sims_never_import_theory(path):
    bad = {m for m in _imports(path) if "theory" in m.split(".")}
    assert not bad, bad


@pytest.mark.parametrize("path", _files("proofs"), ids=lambda p: str(p.relative_to(ROOT)))
def test_proofs_import_only_symbolic_theory(path):
    ours = {m for m in _imports(path) if m.startswith("modelcollapse")}
    allowed = ("modelcollapse.proofs", "modelcollapse.theory.symbolic")
    assert all(m.startswith(allowed) for m in ours), ours
