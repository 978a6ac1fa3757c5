"""Figures: each module draws in --quick mode, writing PNG + data + metadata deterministically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelcollapse.figures import FIGURES, make_all


@pytest.mark.parametrize("name", FIGURES)
def test_figure_quick(tmp_path, name):
    paths = make_all(tmp_path, quick=True, only=[name])
    suffixes = sorted(p.suffix for p in paths)
    assert suffixes == [".json", ".npz", ".png"]
    png = next(p for p in paths if p.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    meta = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    with np.load(next(p for p in paths if p.suffix == ".npz")) as data:
        assert sorted(data.files) == meta["arrays"]
        for k in data.files:
            if data[k].dtype.kind == "f":
                assert np.isfinite(data[k]).any(), k


def test_unknown_figure_rejected(tmp_path):
    with pytest.raises(ValueError, match="only"):
        make_all(tmp_path, only=["nope"])


def test_metadata_is_deterministic(tmp_path):
    a = make_all(tmp_path / "a", quick=True, only=["ddof_comparison"])
    b = make_all(tmp_path / "b", quick=True, only=["ddof_comparison"])
    for pa, pb in zip(a, b, strict=True):
        if pa.suffix in (".json", ".png"):
            assert pa.read_bytes() == pb.read_bytes(), pa.name
