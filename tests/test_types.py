"""theory/, sims/ and spec/ are clean under the type checker (configuration in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy is in the [test] extra")
def test_mypy_clean():
    res = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], capture_output=True,
                         text=True, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert "Success" in res.stdout
