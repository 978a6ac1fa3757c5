"""Shared plumbing for the figure modules: deterministic output of PNG + data + metadata.

Every figure writes three files into the output folder:

- ``<stem>.png``  -- the picture (Agg backend, PNG metadata stripped of the software stamp, so
  the bytes depend only on the data);
- ``<stem>.npz``  -- every array drawn, under the names listed in the metadata;
- ``<stem>.json`` -- parameters, seeds, conventions and the package version (no timestamps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import modelcollapse  # noqa: E402

CONVENTIONS = (
    "Generation 0 is the original distribution; generation n is the model after n rounds of "
    "'draw M samples from the current model, refit'. ddof=1: unbiased variance estimator "
    "(Shumailov et al. 2024, Thm 3.1); ddof=0: maximum likelihood."
)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 4.2, height: float = 3.4):
    """A figure with a grid of axes, sized per panel."""
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "legend.fontsize": 7})
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained"
    )
    return fig, axes


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
