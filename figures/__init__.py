"""One module per figure; ``make_all`` regenerates them (``modelcollapse figures``).

Each module exposes ``STEM`` and ``make(out_dir, *, quick=False) -> list[Path]``, writing a PNG,
the arrays behind it (``.npz``) and its parameters (``.json``) into ``out_dir``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

#: Figure modules in the order they are drawn.
FIGURES: tuple[str, ...] = (
    "paper_gaussian",
    "w2_schedules",
    "collapse_bounds",
    "ddof_comparison",
    "discrete_tail_cutoff",
    "discrete_forgetting",
    "discrete_survivors",
    "discrete_heterozygosity",
    "discrete_absorption",
    "poisson_refit",
    "discrete_drift",
    "parametric_vs_histogram",
    "tale_of_tails",
    "workflows_w2",
    "mix_phase",
    "koyejo_sweep",
    "zipf_protocol",
    "multivariate_sweep",
    "multivariate_spectrum",
    "regression_error",
)


def make_all(
    out_dir: str | Path = "figures",
    *,
    quick: bool = False,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Draw every figure (or those named in ``only``) into ``out_dir``; return written paths."""
    names = list(FIGURES) if not only else list(only)
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise ValueError(f"only must name figures among {list(FIGURES)} (got {unknown})")
    written: list[Path] = []
    for i, name in enumerate(names):
        if progress is not None:
            progress(f"[{i + 1}/{len(names)}] figure {name}")
        module = importlib.import_module(f"modelcollapse.figures.{name}")
        written += module.make(out_dir, quick=quick)
    return written
