"""Galton-Watson iterates of the Poisson refit: an engine shared by the count families.

Refitting a Poisson rate by the mean of ``M`` draws is a critical Galton-Watson process with
Poisson(1) offspring (``M lambda_{t+1} ~ Poisson(M lambda_t)``); a rare categorical symbol's
count behaves like one. Its extinction probabilities are iterates of the offspring generating
function: seeded with ``Poisson(c)`` individuals, ``P(extinct by t) = exp(-c g_t)`` with
``g_t = 1 - f^{(t-1)}(0)``, ``f(s) = exp(s - 1)``, i.e. ``g_1 = 1``, ``g_{t+1} = 1 - e^{-g_t}``
(:func:`poisson_refit_g`). Reference: Suresh, Thangaraj & Khandavally, "Rate of model collapse
in recursive training" (AISTATS 2025); Athreya & Ney, *Branching Processes* (1972), ch. I.

NumPy only.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from modelcollapse.spec import params as P

__all__ = ["poisson_refit_g"]


@lru_cache(maxsize=8)
def _poisson_g_table(tmax: int) -> NDArray[np.float64]:
    """``G[t]`` for ``t = 0..tmax`` with ``G[0] = inf``, ``G[t] = 1 - exp(-G[t-1])``."""
    G = np.empty(tmax + 1)
    G[0] = np.inf
    x = 1.0
    for t in range(1, tmax + 1):
        G[t] = x
        x = -math.expm1(-x)
    return G


_G_EXACT_MAX = 1_000_000


def poisson_refit_g(t: ArrayLike) -> NDArray[np.float64]:
    """``g_t``: the ``t``-fold iterate of ``g(x) = 1 - exp(-x)`` started from ``+inf``.

    ``g_0 = inf``, ``g_1 = 1``, ``g_2 = 1 - 1/e``, ...; ``g_t ~ 2 / (t + ln(t)/3 + C)``. For a
    Galton-Watson process with Poisson(1) offspring seeded with ``Poisson(c)`` individuals,
    ``P(extinct at t) = exp(-c g_t)`` exactly. Iterated exactly for ``t <= 10^6`` and continued
    with ``1/g_t = 1/g_T + (t - T)/2 + ln(t/T)/6`` beyond (relative error < 1e-12).
    Reference: Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive training"
    (AISTATS 2025).
    """
    ti = np.asarray(P.t.array(t), dtype=np.int64)
    tmax = int(min(ti.max(initial=0), _G_EXACT_MAX))
    G = _poisson_g_table(max(tmax, 1))
    out = G[np.minimum(ti, tmax)]
    far = ti > _G_EXACT_MAX
    if far.any():
        T = _G_EXACT_MAX
        GT = _poisson_g_table(T)[T]
        tf = ti[far].astype(np.float64)
        out = np.array(out, dtype=np.float64)
        out[far] = 1.0 / (1.0 / GT + (tf - T) / 2.0 + np.log(tf / T) / 6.0)
    return out
