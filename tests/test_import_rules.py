"""The layers' import rules: the three witnesses stay independent and imports flow down.

- theory never imports jax or modelcollapse.sims; sims never imports modelcollapse.theory (a
  simulator that used the formula would confirm nothing). Both may import the parameter-only
  ``modelcollapse.spec`` and nothing else of the package outside their own layer.
- spec holds no math and no JAX: it imports neither jax, scipy nor sympy, nor any other layer.
- Inside theory: the special-function kernels import no other theory module; the law engines
  (``logwalk``, ``wright_fisher``) import only the kernels; no module imports a family's
  formulas except the symbolic layer, which may import nothing numeric either.
- Inside sims: ``rng`` imports only ``rng``; the driver only ``rng``, ``_progress``; workflows only
  the driver and ``rng``; no family module imports another family module.
- proofs import only theory.symbolic (and their own runner) from the package.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("gaussian", "discrete", "poisson")


MAPPED = {"theory": ["modelcollapse", "theory"], "sims": ["modelcollapse", "sims"],
          "proofs": ["modelcollapse", "proofs"], "figures": ["modelcollapse", "figures"]}


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved through the
    folder -> package mapping of pyproject.toml)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    pkg = MAPPED.get(parts[0], [parts[0]]) + parts[1:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                up = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _ours(names: set[str]) -> set[str]:
    return {m for m in names if m.startswith("modelcollapse")}


def _ids(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.mark.parametrize("path", _files("theory"), ids=_ids)
def test_theory_imports_neither_jax_nor_sims(path):
    names = _imports(path)
    bad = {m for m in names if m.split(".")[0] == "jax" or m.startswith("modelcollapse.sims")}
    assert not bad, bad
    other = {m for m in _ours(names)
             if not m.startswith(("modelcollapse.theory", "modelcollapse.spec"))}
    assert not other, other


@pytest.mark.parametrize("path", _files("sims"), ids=_ids)
def test_sims_never_import_theory(path):
    ours = _ours(_imports(path))
    bad = {m for m in ours if not m.startswith(("modelcollapse.sims", "modelcollapse.spec"))}
    assert not bad, bad


@pytest.mark.parametrize("path", _files("modelcollapse/spec"), ids=_ids)
def test_spec_holds_no_math_and_no_jax(path):
    names = _imports(path)
    bad = {m for m in names if m.split(".")[0] in ("jax", "scipy", "sympy", "mpmath")}
    bad |= {m for m in _ours(names) if not m.startswith("modelcollapse.spec")}
    assert not bad, bad


THEORY_LAYERS = {
    "special": (),
    "logwalk": ("special",),
    "wright_fisher": (),
    "branching": (),
}


@pytest.mark.parametrize("name", sorted(THEORY_LAYERS))
def test_theory_engines_import_downwards_only(name):
    ours = _ours(_imports(ROOT / "theory" / f"{name}.py"))
    allowed = {f"modelcollapse.theory.{m}" for m in THEORY_LAYERS[name]}
    theory = {m for m in ours if m.startswith("modelcollapse.theory")}
    assert all(any(m == a or m.startswith(a + ".") for a in allowed) for m in theory), theory


@pytest.mark.parametrize("path", _files("theory/symbolic"), ids=_ids)
def test_symbolic_layer_is_independent_of_the_numeric_one(path):
    ours = _ours(_imports(path))
    numeric = {m for m in ours if m.startswith("modelcollapse.theory")
               and not m.startswith("modelcollapse.theory.symbolic")}
    assert not numeric, numeric


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("layer", ["theory", "sims", "modelcollapse/families"])
def test_families_do_not_import_each_other(family, layer):
    path = ROOT / layer / f"{family}.py"
    if not path.exists():
        pytest.skip(f"no {layer}/{family}.py")
    ours = _ours(_imports(path))
    for other in FAMILIES:
        if other == family:
            continue
        hits = {m for m in ours if m.split(".")[-1] == other or f".{other}." in m + "."}
        hits = {m for m in hits if not m.endswith(f"rng.{other}")}  # samplers are shared
        assert not hits, (family, other, hits)


SIMS_LAYERS = {
    "rng": ("rng",),
    "driver": ("rng", "_progress"),
    "workflows": ("driver", "rng"),
    "_reduce": (),
    "_progress": (),
}


@pytest.mark.parametrize("name", sorted(SIMS_LAYERS))
def test_sims_shared_code_imports_downwards_only(name):
    target = ROOT / "sims" / name
    paths = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    allowed = tuple(f"modelcollapse.sims.{m}" for m in SIMS_LAYERS[name])
    for path in paths:
        sims = {m for m in _ours(_imports(path)) if m.startswith("modelcollapse.sims")}
        sims.discard("modelcollapse.sims")
        bad = {m for m in sims if not m.startswith(allowed)}
        assert not bad, (path.name, bad)


@pytest.mark.parametrize("path", _files("proofs"), ids=_ids)
def test_proofs_import_only_symbolic_theory(path):
    ours = _ours(_imports(path))
    allowed = ("modelcollapse.proofs", "modelcollapse.theory.symbolic")
    assert all(m.startswith(allowed) for m in ours), ours


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The rules above must be able to fail: a sims module importing the theory is seen, in
    absolute and in relative form."""
    probe = tmp_path / "sims" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("from modelcollapse.theory import gaussian\nfrom ..theory import discrete\n")
    names = _imports(probe, root=tmp_path)
    assert {"modelcollapse.theory.gaussian", "modelcollapse.theory.discrete"} <= names
