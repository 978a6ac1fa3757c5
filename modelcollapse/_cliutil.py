"""Small helpers shared by the ``simulate`` subcommands."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def summary_record(generations: int, points: int = 8) -> np.ndarray:
    """Generations shown in a ``simulate`` summary: 0 plus ~``points`` log-spaced ones."""
    g = max(int(generations), 1)
    record = np.unique(np.concatenate([[0], np.round(np.geomspace(1, g, points))]).astype(int))
    return record[record <= generations]


def timed(fn: Callable[..., Any], /, **kwargs: Any) -> tuple[Any, float]:
    """``fn(**kwargs)`` and the wall-clock seconds it took."""
    t0 = time.perf_counter()
    out = fn(**kwargs)
    return out, time.perf_counter() - t0


def request_cpu_devices(n: int) -> None:
    """Ask JAX for ``n`` CPU devices (one per core to use) before its backends start.

    Only the CPU client is affected (GPUs are unchanged). Once JAX has started its backends the
    setting can no longer change; then the devices that exist are used as they are.
    """
    import jax

    if n > 1:
        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError:  # backends already initialised in this process
            pass
