"""Figures: each module draws in --quick mode, writing PNG + data + metadata deterministically,
and passes a reviewer's reading: every curve a legend names is drawn, no legend repeats a label,
no text writes mathematics in plain text (``modelcollapse.figures._common.review``)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from modelcollapse.figures import FIGURES, make_all
from modelcollapse.figures._common import capture, new_figure, review


@pytest.fixture(scope="module", params=FIGURES)
def drawn(request, tmp_path_factory):
    """(written paths, the drawn figure) of one quick figure, made once for the tests below."""
    out = tmp_path_factory.mktemp(request.param)
    with capture() as figs:
        paths = make_all(out, quick=True, only=[request.param])
    assert len(figs) == 1, sorted(figs)
    return paths, next(iter(figs.values()))


def test_figure_quick(drawn):
    paths, _ = drawn
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


def test_figure_passes_review(drawn):
    _, fig = drawn
    assert fig.legends or any(ax.get_legend() for ax in fig.axes), "no legend at all"
    assert review(fig) == []


def _reviewed(draw) -> list[str]:
    fig, axes = new_figure(1, 1)
    draw(axes[0, 0])
    fig.canvas.draw()
    try:
        return review(fig)
    finally:
        plt.close(fig)


def test_review_accepts_a_good_figure():
    def draw(ax):
        n = np.arange(1, 11)
        for c in ("C0", "C1"):
            ax.plot(n, n, color=c, label=rf"exact, $c = {c[-1]}$")
            ax.plot(n, 2 * n, color=c, ls="--")
        ax.plot([], [], "k--", label=r"$2n$")  # a style key, drawn in both colours
        ax.set_title(r"$\sigma_n^2 \geq 0$, $\pm 2\,$se")
        ax.legend()

    assert _reviewed(draw) == []


@pytest.mark.parametrize("case, expected", [
    ("outside", "names nothing drawn"),
    ("nan", "names nothing drawn"),
    ("key", "names nothing drawn"),
    ("duplicate", "appears 2 times"),
    ("plain", "plain-text mathematics"),
])
def test_review_rejects(case, expected):
    def draw(ax):
        n = np.arange(1, 11)
        ax.plot(n, n, "C0-", label="exact")
        if case == "outside":
            ax.plot(n, n + 100.0, "C1-", label="off the axes")
            ax.set_ylim(0, 20)
        if case == "nan":
            ax.plot(n, np.full(10, np.nan), "C1-", label="all NaN")
        if case == "key":
            ax.plot([], [], "k:", label="a dotted key with no dotted line")
        if case == "duplicate":
            ax.plot(n, 2 * n, "C1o", label="simulated")
            ax.plot(n, 3 * n, "C2o", label="simulated")
        if case == "plain":
            ax.set_xlabel("n >= 1")
        ax.legend()

    problems = _reviewed(draw)
    assert problems and all(expected in p for p in problems), problems


def test_unknown_figure_rejected(tmp_path):
    with pytest.raises(ValueError, match="only"):
        make_all(tmp_path, only=["nope"])


def test_metadata_is_deterministic(tmp_path):
    a = make_all(tmp_path / "a", quick=True, only=["ddof_comparison"])
    b = make_all(tmp_path / "b", quick=True, only=["ddof_comparison"])
    for pa, pb in zip(a, b, strict=True):
        if pa.suffix in (".json", ".png"):
            assert pa.read_bytes() == pb.read_bytes(), pa.name
