"""Smoke tests of the command line (argument handling, output shape, exit codes)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from modelcollapse.cli import main


def test_simulate_gaussian_prints_table_and_saves(tmp_path, capsys):
    out = tmp_path / "run.npz"
    rc = main(["simulate", "gaussian", "--M", "20", "--generations", "30", "--chains", "500",
               "--seed", "3", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "M=20" in text and "theory" in text
    assert out.exists()
    with np.load(out) as data:
        assert len(data.files) > 0


def test_simulate_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "gaussian", "--M", "1", "--generations", "5"])
    assert exc.value.code == 2
    assert "M must be an integer >= 2 (got '1')" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # a relation between two parameters: the library's
        main(["simulate", "gaussian", "--M", "3", "--ddof", "3", "--generations", "5"])
    assert exc.value.code == 2
    assert "M must be > ddof" in capsys.readouterr().err


def test_simulate_gaussian_accepts_any_valid_ddof(capsys):
    """The CLI validates through the same vocabulary as the library: ddof = 2 is allowed."""
    assert main(["simulate", "gaussian", "--M", "10", "--ddof", "2", "--generations", "3",
                 "--chains", "200"]) == 0
    assert "ddof=2" in capsys.readouterr().out


def test_params_command(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "sigma2" in out and "an integer >= 1" in out


def test_verify_exit_status(monkeypatch, capsys):
    """verify exits 0 when every check passes and 1 when one fails; --list and --family."""
    from modelcollapse.families import discrete, gaussian
    from modelcollapse.verify import registry
    from modelcollapse.verify.checks import Check

    small = gaussian.cases_of([(10, 10, 1, "sufficient")]) + discrete.cases(
        [discrete.DiscreteCase(K=2, exponent=0.0, M=7, n=3, method="sufficient")], [])
    real_cases = registry.cases
    monkeypatch.setattr(registry, "cases", lambda names=None: [
        c for c in small if names is None or c.family in names])
    assert main(["verify", "--chains", "4000"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out and "gaussian" in out and "discrete" in out

    def broken(case):
        def run(key, chains, z):
            c, *rest = case.run(key, chains, z)
            return [Check(c.family, c.quantity, c.params, c.theory + 1.0, c.estimate, c.stderr,
                          c.z_bound)] + rest
        return registry.Case(case.family, case.label, case.max_checks, run)

    monkeypatch.setattr(registry, "cases", lambda names=None: [
        broken(c) for c in small if names is None or c.family in names])
    assert main(["verify", "--chains", "4000", "--family", "gaussian"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "discrete" not in out

    monkeypatch.setattr(registry, "cases", real_cases)
    assert main(["verify", "--list", "--family", "discrete"]) == 0
    listing = capsys.readouterr().out
    assert "discrete/" in listing and "gaussian/" not in listing and "cases, up to" in listing


def test_verify_case_keys_depend_only_on_the_case():
    """Per-case keys: fold_in(key(seed), crc32(id)); the order of the cases does not matter."""
    import jax

    from modelcollapse.verify import registry

    cs = registry.cases()
    ids = [c.id for c in cs]
    assert len(set(ids)) == len(ids)
    k1 = registry.case_key(2024, cs[3])
    k2 = registry.case_key(2024, registry.cases(["discrete"])[0])
    assert not (jax.random.key_data(k1) == jax.random.key_data(k2)).all()
    same = [c for c in registry.cases(["gaussian"]) if c.id == cs[3].id][0]
    assert (jax.random.key_data(registry.case_key(2024, same))
            == jax.random.key_data(k1)).all()


def test_module_entry_point_help():
    res = subprocess.run([sys.executable, "-m", "modelcollapse", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert "figures" in res.stdout and "verify" in res.stdout and "simulate" in res.stdout
    assert "--version" in res.stdout
    res = subprocess.run([sys.executable, "-m", "modelcollapse", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("modelcollapse ")
