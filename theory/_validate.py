"""Argument validation shared by the closed-form modules.

Every public function of :mod:`modelcollapse.theory` checks its arguments at the boundary and
raises :class:`ValueError` naming the argument, the offending value and the allowed range, e.g.
``ValueError: M must be an integer >= 2 (got 1)``. The helpers return float64 NumPy arrays so
callers can broadcast freely afterwards.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_float",
    "check_integer",
    "check_sample_size",
    "check_generations",
    "check_ddof",
    "check_positive",
    "check_open_unit",
    "check_closed_unit",
    "check_probability_vector",
]


def _show(x: NDArray) -> str:
    """A short rendering of the offending value(s) for an error message."""
    flat = np.ravel(x)
    if flat.size == 1:
        return repr(flat[0].item())
    return np.array2string(flat[:6], separator=", ") + (" ..." if flat.size > 6 else "")


def as_float(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """``x`` as a float64 array; NaN or a non-numeric value raises ``ValueError``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (got {x!r})") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN (got {_show(arr)})")
    return arr


def check_integer(x: ArrayLike, name: str, *, minimum: float) -> NDArray[np.float64]:
    """``x`` must hold integer values ``>= minimum`` (finite)."""
    arr = as_float(x, name)
    bad = ~np.isfinite(arr) | (arr < minimum) | (arr != np.floor(arr))
    if bad.any():
        raise ValueError(f"{name} must be an integer >= {minimum:g} (got {_show(arr[bad])})")
    return arr


def check_sample_size(M: ArrayLike, ddof: ArrayLike = 0.0, name: str = "M") -> NDArray[np.float64]:
    """Sample size per generation: integer ``M >= 2`` and ``M > ddof``."""
    arr = check_integer(M, name, minimum=2)
    d = np.asarray(ddof, dtype=np.float64)
    bad = np.broadcast_to(arr <= d, np.broadcast_shapes(arr.shape, d.shape))
    if bad.any():
        raise ValueError(
            f"{name} must be > ddof (got {name}={_show(np.broadcast_to(arr, bad.shape)[bad])}, "
            f"ddof={_show(np.broadcast_to(d, bad.shape)[bad])})"
        )
    return arr


def check_generations(n: ArrayLike, name: str = "n") -> NDArray[np.float64]:
    """Generation index: integer ``n >= 0`` (generation 0 is the original distribution)."""
    return check_integer(n, name, minimum=0)


def check_ddof(ddof: ArrayLike, name: str = "ddof") -> NDArray[np.float64]:
    """Delta degrees of freedom of the variance estimator: a finite real ``ddof >= 0``
    (``0`` maximum likelihood, ``1`` unbiased)."""
    arr = as_float(ddof, name)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"{name} must be a finite real >= 0 (got {_show(arr[bad])})")
    return arr


def check_positive(x: ArrayLike, name: str, *, allow_inf: bool = False) -> NDArray[np.float64]:
    """``x > 0`` (and finite unless ``allow_inf``)."""
    arr = as_float(x, name)
    bad = arr <= 0
    if not allow_inf:
        bad |= ~np.isfinite(arr)
    if bad.any():
        rng = "(0, inf]" if allow_inf else "(0, inf)"
        raise ValueError(f"{name} must lie in {rng} (got {_show(arr[bad])})")
    return arr


def check_open_unit(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """``0 < x < 1``."""
    arr = as_float(x, name)
    bad = (arr <= 0) | (arr >= 1)
    if bad.any():
        raise ValueError(f"{name} must lie in (0, 1) (got {_show(arr[bad])})")
    return arr


def check_closed_unit(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """``0 <= x <= 1``."""
    arr = as_float(x, name)
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise ValueError(f"{name} must lie in [0, 1] (got {_show(arr[bad])})")
    return arr


def check_probability_vector(
    p: ArrayLike, name: str = "p0", *, atol: float = 1e-9
) -> NDArray[np.float64]:
    """A probability vector along the last axis: entries ``>= 0`` summing to 1 within ``atol``."""
    arr = as_float(p, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a probability vector (got the scalar {_show(arr)})")
    if (arr < 0).any() or not np.isfinite(arr).all():
        raise ValueError(f"{name} must have finite entries >= 0 (got {_show(arr)})")
    total = arr.sum(axis=-1)
    if np.any(np.abs(total - 1.0) > atol):
        raise ValueError(f"{name} must sum to 1 within {atol:g} (sums: {_show(total)})")
    return arr
