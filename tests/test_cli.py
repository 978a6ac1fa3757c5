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
    assert "M" in capsys.readouterr().err


def test_verify_exit_status(monkeypatch, capsys):
    """verify exits 0 when every check passes and 1 when one fails."""
    import modelcollapse.verify as verify
    import modelcollapse.verify_discrete as vd

    small = [(10, 10, 1, "sufficient")]
    real = verify.run_verification
    monkeypatch.setattr(verify, "run_verification",
                        lambda **kw: real(**{**kw, "cases": small}))
    real_d = vd.run_discrete_verification
    small_d = [vd.DiscreteCase(K=2, exponent=0.0, M=7, n=3, method="counts")]
    monkeypatch.setattr(vd, "run_discrete_verification",
                        lambda **kw: real_d(**{**kw, "cases": small_d, "absorption_cases": ()}))
    assert main(["verify", "--chains", "4000"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out and "gaussian" in out and "discrete" in out

    def broken(**kw):
        checks = real(**{**kw, "cases": small})
        c = checks[0]
        return [verify.Check(c.family, c.quantity, c.params, c.theory + 1.0, c.estimate,
                             c.stderr, c.z_bound)] + checks[1:]

    monkeypatch.setattr(verify, "run_verification", broken)
    assert main(["verify", "--chains", "4000", "--gaussian-only"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_module_entry_point_help():
    res = subprocess.run([sys.executable, "-m", "modelcollapse", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert "figures" in res.stdout and "verify" in res.stdout and "simulate" in res.stdout
