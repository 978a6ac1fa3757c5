"""Shared plumbing for the figure modules: deterministic output of PNG + data + metadata.

Every figure writes three files into the output folder:

- ``<stem>.png``  -- the picture (Agg backend, PNG metadata stripped of the software stamp, so
  the bytes depend only on the data);
- ``<stem>.npz``  -- every array drawn, under the names listed in the metadata;
- ``<stem>.json`` -- parameters, seeds, conventions and the package version (no timestamps).

Helpers shared by the figures: :func:`binomial_interval` (exact Clopper-Pearson intervals for
simulated proportions), :func:`generation_axis` (a generation axis that shows ``n = 0``), and,
for tests, :func:`capture` (keep the figures that :func:`save` writes) and :func:`review` (what
a reviewer would object to in a drawn figure: legend entries with nothing drawn, duplicated
legend labels, plain-text mathematics).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import Collection, PathCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.container import Container  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter  # noqa: E402
from scipy.stats import beta  # noqa: E402

import modelcollapse  # noqa: E402

CONVENTIONS = (
    "Generation 0 is the original distribution; generation n is the model after n rounds of "
    "'draw M samples from the current model, refit'. ddof=1: unbiased variance estimator "
    "(Shumailov et al. 2024, Thm 3.1); ddof=0: maximum likelihood."
)

#: Called as ``hook(fig, stem)`` by :func:`save` once the PNG is written and before the figure
#: is closed (see :func:`capture`).
SAVE_HOOKS: list[Callable[[Any, str], None]] = []


def new_figure(
    nrows: int = 1, ncols: int = 1, *, width: float = 4.2, height: float = 3.4, **subplots: Any
):
    """A figure with a grid of axes, sized per panel (``subplots``: e.g. ``sharey="row"``)."""
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "legend.fontsize": 7})
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
        layout="constrained", **subplots,
    )
    return fig, axes


def binomial_interval(k: Any, n: int, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) two-sided interval for a proportion: ``k`` successes of ``n``.

    The bounds are beta quantiles; the lower bound is 0 at ``k = 0`` and the upper bound 1 at
    ``k = n``. For ``k = 0`` the one-sided upper limit at the same level is
    ``1 - (1 - level) ** (1 / n)`` (about ``3 / n`` at 95 %).

    >>> from modelcollapse.figures._common import binomial_interval
    >>> lo, hi = binomial_interval([0, 5, 10], 10)
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.1871, 0.6915], [0.3085, 0.8129, 1.0])
    """
    k = np.asarray(k, dtype=float)
    a = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, beta.ppf(a, k, n - k + 1.0), 0.0)
        hi = np.where(k < n, beta.ppf(1.0 - a, k + 1.0, n - k), 1.0)
    return lo, hi


def zero_count_upper_limit(n: int, level: float = 0.95) -> float:
    """One-sided upper limit on a proportion when none of ``n`` trials succeeded.

    >>> from modelcollapse.figures._common import zero_count_upper_limit
    >>> round(zero_count_upper_limit(1000), 6)
    0.002991
    """
    return float(1.0 - (1.0 - level) ** (1.0 / n))


def generation_axis(ax: Any, *, top: float | None = None) -> None:
    """A logarithmic generation axis that still shows generation 0.

    ``symlog`` with a linear stretch on ``[0, 1]``: ``n = 0`` sits at its own place, one short
    linear step before the decades 1, 10, 100, ...
    """
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.6)
    ax.set_xlim(left=0.0, right=top)
    right = ax.get_xlim()[1]
    decades = 10.0 ** np.arange(0, int(np.floor(np.log10(max(right, 1.0)))) + 1)
    ax.xaxis.set_major_locator(FixedLocator([0.0, *decades]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    minor = [m * d for d in decades for m in range(2, 10) if m * d <= right]
    ax.xaxis.set_minor_locator(FixedLocator(minor))


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def save(
    fig: Any,
    out_dir: str | Path,
    stem: str,
    *,
    data: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> list[Path]:
    """Write ``stem``.png/.npz/.json into ``out_dir`` and close the figure; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, npz, js = out / f"{stem}.png", out / f"{stem}.npz", out / f"{stem}.json"
    fig.savefig(png, dpi=130, metadata={"Software": None})
    for hook in list(SAVE_HOOKS):
        hook(fig, stem)
    plt.close(fig)
    arrays = {k: np.asarray(v) for k, v in data.items()}
    np.savez_compressed(npz, **arrays)
    record = {
        "figure": stem,
        "modelcollapse_version": modelcollapse.__version__,
        "conventions": CONVENTIONS,
        "arrays": sorted(arrays),
        **_jsonable(dict(meta)),
    }
    js.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return [png, npz, js]


@contextmanager
def capture() -> Iterator[dict[str, Any]]:
    """Keep every figure that :func:`save` writes inside the block, by stem, after it is drawn.

    The figures are closed (pyplot forgets them) but stay whole: their artists, layout and
    transforms are those of the written PNG.
    """
    kept: dict[str, Any] = {}

    def keep(fig: Any, stem: str) -> None:
        kept[stem] = fig

    SAVE_HOOKS.append(keep)
    try:
        yield kept
    finally:
        SAVE_HOOKS.remove(keep)


# -- review: what a reader of the drawn figure would object to ---------------------------------

#: Plain-text mathematics, outside ``$...$``: write these with mathtext.
PLAIN_MATH = re.compile(r"\+-|>=|<=|->|\^|\b(sigma|lambda|lam0|mu|Lam_n)\b|\b[A-Za-z]_[A-Za-z0-9]")


def _display_points(artist: Any) -> np.ndarray:
    """The points an artist draws, in display (pixel) coordinates, shape ``(k, 2)``."""
    if isinstance(artist, Container):
        parts = [_display_points(a) for a in artist.get_children() if a is not None]
        return np.concatenate(parts) if parts else np.empty((0, 2))
    if isinstance(artist, Line2D):
        xy = np.asarray(artist.get_xydata(), dtype=float).reshape(-1, 2)
        return artist.get_transform().transform(xy) if xy.size else np.empty((0, 2))
    if isinstance(artist, PathCollection) and len(artist.get_offsets()):
        offsets = np.asarray(artist.get_offsets(), dtype=float).reshape(-1, 2)
        return artist.get_offset_transform().transform(offsets)
    if isinstance(artist, Collection):
        tr = artist.get_transform()
        parts = [tr.transform(p.vertices) for p in artist.get_paths() if len(p.vertices)]
        return np.concatenate(parts) if parts else np.empty((0, 2))
    if isinstance(artist, Patch):
        return artist.get_transform().transform(artist.get_path().vertices)
    return np.empty((0, 2))


def _drawn_inside(artist: Any, ax: Any) -> bool:
    """Whether ``artist`` has a finite point inside the axes (its limits, in pixels)."""
    pts = _display_points(artist)
    if not pts.size:
        return False
    box = ax.bbox
    ok = np.isfinite(pts).all(axis=1)
    ok &= (pts[:, 0] >= box.x0 - 0.5) & (pts[:, 0] <= box.x1 + 0.5)
    ok &= (pts[:, 1] >= box.y0 - 0.5) & (pts[:, 1] <= box.y1 + 0.5)
    return bool(ok.any())


def _style(artist: Any) -> tuple[str, str, tuple[float, ...]] | None:
    """(linestyle, marker, colour) of a line, or of an error-bar container's data line."""
    if isinstance(artist, Container):
        lines = [a for a in artist.get_children() if isinstance(a, Line2D)]
        artist = lines[0] if lines else None
    if not isinstance(artist, Line2D):
        return None
    ls = artist.get_linestyle()
    return ("None" if ls in ("", " ", "none") else ls, str(artist.get_marker()),
            to_rgba(artist.get_color()))


def _neutral(rgba: tuple[float, ...]) -> bool:
    return max(rgba[:3]) - min(rgba[:3]) < 0.02  # black or grey: a key for every colour


def _labelled(ax: Any) -> list[Any]:
    return [a for a in (*ax.get_children(), *ax.containers)
            if not str(a.get_label()).startswith("_")]


def review(fig: Any) -> list[str]:
    """What a reviewer would object to in a drawn figure; an empty list when nothing.

    - every label in a legend (of an axes or of the figure) is carried by an artist that has
      finite data within its axes' limits, or, for a style key (an artist without data: a
      linestyle or marker explained once, in black or grey for every colour, or in one colour),
      by a drawn line of that style in the legend's axes (any axes, for a figure legend);
    - no legend repeats a label, and no axes' legend covers more than a tenth of a line's points;
    - no text of the figure writes mathematics in plain text (``+-``, ``>=``, ``x^2``, ``S_n``,
      ``sigma`` ... outside ``$...$``).
    """
    problems: list[str] = []
    legends = [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    legends += [(None, leg) for leg in fig.legends]
    for ax, leg in legends:
        where = f"legend of {ax.get_title()!r}" if ax is not None else "figure legend"
        labels = [t.get_text() for t in leg.get_texts()]
        for dup in sorted({lab for lab in labels if labels.count(lab) > 1}):
            problems.append(f"{where}: label {dup!r} appears {labels.count(dup)} times")
        scope = [ax] if ax is not None else list(fig.axes)
        for lab in labels:
            owners = [(a, x) for x in scope for a in _labelled(x) if a.get_label() == lab]
            if not owners:
                problems.append(f"{where}: no artist carries the label {lab!r}")
                continue
            if any(_drawn_inside(a, x) for a, x in owners):
                continue
            keys = [(s, x) for a, x in owners if (s := _style(a)) is not None]
            if not keys or not any(_key_matches(s, x) for s, x in keys):
                problems.append(f"{where}: {lab!r} names nothing drawn within the axes")
        if ax is not None:
            problems += _covered(ax, leg, where)
    for t in fig.findobj(Text):
        if not t.get_visible():
            continue
        plain = re.sub(r"\$[^$]*\$", "", t.get_text())
        if m := PLAIN_MATH.search(plain):
            problems.append(f"plain-text mathematics {m.group(0)!r} in {t.get_text()!r}")
    return list(dict.fromkeys(problems))


def _covered(ax: Any, leg: Any, where: str, most: float = 0.1) -> list[str]:
    """Lines of ``ax`` with more than ``most`` of their points (inside the axes) under ``leg``."""
    box, frame = ax.bbox, leg.get_window_extent()
    out = []
    for line in ax.lines:
        pts = _display_points(line)
        pts = pts[np.isfinite(pts).all(axis=1)]
        inside = ((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1)
                  & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1))
        pts = pts[inside]
        if len(pts) < 2:
            continue
        under = np.mean((pts[:, 0] > frame.x0) & (pts[:, 0] < frame.x1)
                        & (pts[:, 1] > frame.y0) & (pts[:, 1] < frame.y1))
        if under > most:
            out.append(f"{where} covers {under:.0%} of the line {line.get_label()!r}")
    return out


def _key_matches(key: tuple[str, str, tuple[float, ...]], ax: Any) -> bool:
    """Whether a style key's linestyle and marker (and colour, unless neutral) are drawn."""
    ls, marker, colour = key
    for a in (*ax.lines, *ax.containers):
        s = _style(a)
        if s is None or not _drawn_inside(a, ax):
            continue
        if s[0] == ls and s[1] == marker and (_neutral(colour) or s[2] == colour):
            return True
    return False
