"""Powers ``a^n`` of a factor given by its logarithm, shared by the categorical formulas.

``a^n`` and ``1 - a^n`` for ``0 <= a <= 1`` given ``log a`` (``-inf`` for ``a = 0``), with the
convention ``a^0 = 1`` (also for ``a = 0``) and ``1 - a^n`` computed without cancellation
(``-expm1(n log a)``) for ``a`` near 1 and ``n`` up to 1e300.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def pow_decay(log_a: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a^n`` from ``log a <= 0`` (``-inf`` allowed) with ``a^0 = 1``."""
    with np.errstate(invalid="ignore", under="ignore"):
        return np.where(n == 0, 1.0, np.exp(n * log_a))


def one_minus_pow(log_a: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - a^n`` without cancellation for ``a`` near 1 (``-expm1(n log a)``)."""
    with np.errstate(invalid="ignore", under="ignore"):
        return np.where(n == 0, 0.0, -np.expm1(n * log_a))
