"""Unit tests of the z-check machinery itself (modelcollapse.verify), independent of any formula."""

import math

import numpy as np
import pytest

from modelcollapse.verify.checks import (
    Check,
    bonferroni_z,
    format_table,
    mean_check,
    probability_check,
    variance_check,
)


def test_bonferroni_bound():
    assert bonferroni_z(1, 0.05) == pytest.approx(1.959964, abs=1e-6)
    assert bonferroni_z(100, 1e-3) > bonferroni_z(10, 1e-3) > bonferroni_z(1, 1e-3)
    with pytest.raises(ValueError, match="n_checks"):
        bonferroni_z(0)
    with pytest.raises(ValueError, match="alpha"):
        bonferroni_z(3, 1.5)


def test_standard_errors_are_calibrated():
    """Over many independent replicates the z-scores of a correct null are ~N(0, 1)."""
    rng = np.random.default_rng(0)
    zs = {"mean": [], "var": [], "prob": []}
    for _ in range(400):
        x = rng.exponential(size=2000)
        zs["mean"].append(mean_check("t", "m", x, 1.0, 4).z)
        zs["var"].append(variance_check("t", "v", x, 1.0, 4).z)
        zs["prob"].append(probability_check("t", "p", x <= 1.0, 1 - math.exp(-1), 4).z)
    for name, z in zs.items():
        z = np.asarray(z)
        # mean of 400 N(0,1): se 0.05 -> |mean| < 0.25 is a 5-sigma bound; sd within 15 %
        assert abs(z.mean()) < 0.25, name
        assert 0.85 < z.std() < 1.15, name


def test_check_detects_a_wrong_value_and_formats():
    rng = np.random.default_rng(1)
    x = rng.normal(size=10_000)
    good = mean_check("t", "E X", x, 0.0, 4.0, M=3)
    bad = mean_check("t", "E X", x, 0.1, 4.0, M=3)  # 10 se away
    assert good.passed and not bad.passed
    text = format_table([good, bad])
    assert text.splitlines()[-1] == "verification: 1 passed, 1 failed"


def test_zero_standard_error():
    c = Check("t", "q", {}, 1.0, 1.0, 0.0, 3.0)
    assert c.passed and c.z == 0
    assert not Check("t", "q", {}, 1.0, 2.0, 0.0, 3.0).passed
