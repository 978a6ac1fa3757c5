"""Tiny argument checks for the simulators (sims never imports modelcollapse.theory).

Every check raises ValueError naming the argument, its value and the allowed range.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as an int: integral (bools rejected) and within [minimum, maximum]."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok and isinstance(value, numbers.Real) and not isinstance(value, bool):
        ok = math.isfinite(float(value)) and float(value).is_integer()
    if not ok:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    lo = "-inf" if minimum is None else str(minimum)
    hi = "inf" if maximum is None else str(maximum)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return v


def check_real(name: str, value: Any, positive: bool = False) -> float:
    """Return ``value`` as a finite float (strictly positive when ``positive``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v) or (positive and v <= 0):
        rng = "(0, inf)" if positive else "(-inf, inf)"
        raise ValueError(f"{name} must be finite and in {rng}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_record(record: Any, generations: int) -> np.ndarray:
    """Generations to record: integers in [0, generations], sorted, deduplicated, 0 included."""
    arr = np.asarray(record).reshape(-1) if np.ndim(record) <= 1 else None
    if arr is None or arr.size == 0:
        raise ValueError(f"record must be a 1-D sequence of generation indices, got {record!r}")
    vals = [check_int("record", v, 0, generations) for v in arr.tolist()]
    return np.unique(np.asarray([0, *vals], dtype=np.int64))
