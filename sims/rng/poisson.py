"""Exact, vectorised Poisson sampler (JAX), built on the exact Gamma and binomial samplers.

``X ~ Poisson(mu)`` is the number of arrivals in ``[0, mu]`` of a unit-rate Poisson process.
The sampler counts them (the gamma-binomial method, Knuth, *The Art of Computer Programming*
vol. 2, sec. 3.4.1; Ahrens & Dieter, Computing 12, 1974):

1. while the remaining interval ``r`` (initially ``mu``) is at least 16: with
   ``n = floor(7 r / 8)``, draw the ``n``-th arrival time ``G ~ Gamma(n, 1)``
   (:mod:`~modelcollapse.sims.rng.gamma`). If ``G < r`` the ``n`` arrivals all fall inside:
   count them and continue on the rest ``r - G``. Otherwise the arrivals inside ``[0, r]`` are
   ``Binomial(n - 1, r / G)`` (given the ``n``-th arrival time, the first ``n - 1`` are uniform
   on ``[0, G]``; :mod:`~modelcollapse.sims.rng.binomial`), and the draw is finished;
2. the remaining ``r < 16`` is covered by exponential spacings: arrivals ``-log U_1``,
   ``-log U_1 - log U_2``, ... are counted while they stay below ``r``.

Each step of (1) shrinks ``r`` about eightfold, so ``mu = 10^6`` needs about six rounds; (2)
needs ``r + 1 <= 17`` uniforms on average. Every step is exact in law; float32 rounding perturbs
the pmf by a relative amount of order 1e-6 (as for the binomial sampler). ``mu`` must be at most
``2**24`` (exactly representable in float32).

Randomness: element ``e`` of a row with seed ``s`` reads round ``r`` of (1) from the key words
``Threefry(s; (e, 2^28 + r))`` and the spacings of (2) from the blocks
``Threefry(s; (e, 2^29 + i))``: a draw is a pure function of (seed, element), never of the batch.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from modelcollapse.sims.rng.binomial import _binomial_core
from modelcollapse.sims.rng.gamma import log_gamma_core
from modelcollapse.sims.rng.threefry import open_unit_from_bits, seed_from_key, threefry2x32
from modelcollapse.spec import params as P

__all__ = ["poisson", "poisson_rows", "MAX_MEAN"]

#: Largest mean (exactly representable in float32).
MAX_MEAN = float(2**24)

_SMALL = 16.0  # below this remainder: exponential spacings
_F32 = jnp.float32
_U32 = jnp.uint32
_TAG_JUMP = 1 << 28  # round r of the gamma jumps: key words of block (e, 2^28 + r)
_TAG_SPACING = 1 << 29  # spacing i: block (e, 2^29 + i)
_TAG_BINOMIAL = 3 << 28  # the finishing binomial, under the round's key words

_MEAN = P.Param("lam", "Poisson mean", low=0.0, high=MAX_MEAN)


def _poisson_core(s0: jax.Array, s1: jax.Array, x0: jax.Array, mu: jax.Array) -> jax.Array:
    """Poisson(mu) for flat arrays: uint32 seeds ``s0, s1`` and element counters ``x0``,
    float32 ``mu >= 0``. Returns int32."""
    mu = mu.astype(_F32)
    zeros = jnp.zeros(mu.shape, jnp.int32)
    zero_u = jnp.zeros(mu.shape, _U32)

    def jumps_left(c: tuple) -> jax.Array:
        _, _, rem, done = c
        return jnp.any(~done & (rem >= _SMALL))

    def jump(c: tuple) -> tuple:
        r, X, rem, done = c
        active = ~done & (rem >= _SMALL)
        n = jnp.where(active, jnp.floor(0.875 * rem), 1.0)
        y0, y1 = threefry2x32(s0, s1, x0, _U32(_TAG_JUMP) + r)
        log_g, _ = log_gamma_core(y0, y1, zero_u, n, _F32)
        g = jnp.exp(log_g)
        over = active & (g >= rem)
        b = _binomial_core(y0, y1, x0, _U32(_TAG_BINOMIAL), jnp.where(over, n - 1.0, 0.0),
                           jnp.where(over, jnp.minimum(rem / g, 1.0), 0.0))
        X = X + jnp.where(active & ~over, n.astype(jnp.int32), 0) + jnp.where(over, b, 0)
        rem = jnp.where(active & ~over, rem - g, rem)
        return r + _U32(1), X, rem, done | over

    _, X, rem, done = lax.while_loop(jumps_left, jump, (_U32(0), zeros, mu, mu <= 0.0))

    def spacings_left(c: tuple) -> jax.Array:
        return jnp.any(c[3])

    def spacing(c: tuple) -> tuple:
        i, X, t, live = c
        w, _ = threefry2x32(s0, s1, x0, _U32(_TAG_SPACING) + i)
        t = t - jnp.log(open_unit_from_bits(w))
        hit = live & (t <= rem)
        return i + _U32(1), X + hit.astype(jnp.int32), t, hit

    live = ~done & (rem > 0.0)
    X = lax.while_loop(spacings_left, spacing,
                       (_U32(0), X, jnp.zeros(mu.shape, _F32), live))[1]
    return X


def poisson_rows(seeds: jax.Array, lam: jax.Array) -> jax.Array:
    """Poisson draws for a batch of rows, row ``b`` drawing with its own 64-bit seed.

    Parameters
    ----------
    seeds : jax.Array
        uint32 ``(B, 2)``, one seed per row.
    lam : jax.Array
        Means ``(B, L)``, ``0 <= lam <= 2**24`` (not validated: internal/jit use).

    Returns
    -------
    jax.Array
        int32 ``(B, L)``; element ``(b, j)`` depends only on ``(seeds[b], j)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.poisson import poisson_rows
    >>> seeds = jnp.asarray([[1, 2], [3, 4]], jnp.uint32)
    >>> x = poisson_rows(seeds, jnp.asarray([[0.0, 2.0, 50.0], [1e3, 0.5, 0.0]]))
    >>> x.shape, x.dtype, int(x[0, 0]), int(x[1, 2])
    ((2, 3), dtype('int32'), 0, 0)
    """
    lam = jnp.asarray(lam, _F32)
    rows, width = lam.shape
    s0 = jnp.broadcast_to(seeds[:, 0:1], (rows, width)).reshape(-1)
    s1 = jnp.broadcast_to(seeds[:, 1:2], (rows, width)).reshape(-1)
    idx = jnp.broadcast_to(jnp.arange(width, dtype=_U32)[None, :], (rows, width)).reshape(-1)
    return _poisson_core(s0, s1, idx, lam.reshape(-1)).reshape(rows, width)


_poisson_rows_jit = jax.jit(poisson_rows)


def poisson(key: jax.Array, lam: Any, shape: tuple[int, ...] | None = None) -> jax.Array:
    """Exact Poisson(lam) draws: ``P(X = k) = e^(-lam) lam^k / k!``, ``k = 0, 1, ...``.

    Parameters
    ----------
    key : jax.Array
        A JAX PRNG key (any implementation).
    lam : float or array_like
        Means, ``0 <= lam <= 2**24``, broadcast against ``shape``. Concrete values are
        validated (``ValueError`` naming ``lam``); traced values are not.
    shape : tuple of int, optional
        Output shape (default: the shape of ``lam``).

    Returns
    -------
    jax.Array
        int32 draws of the given shape; element ``e`` of the flattened output is a pure
        function of ``(key, e)``.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.rng.poisson import poisson
    >>> x = poisson(jax.random.key(0), 4.0, (100_000,))
    >>> bool(abs(float(x.mean()) - 4.0) < 0.03), bool(abs(float(x.var()) - 4.0) < 0.1)
    (True, True)
    """
    if not isinstance(lam, jax.core.Tracer):
        _MEAN.array(lam)
    lam = jnp.asarray(lam, _F32)
    shape = lam.shape if shape is None else tuple(int(s) for s in shape)
    size = math.prod(shape)
    if size == 0:
        return jnp.zeros(shape, jnp.int32)
    flat = jnp.broadcast_to(lam, shape).reshape(1, size)
    seed = seed_from_key(key).reshape(1, 2)
    return _poisson_rows_jit(seed, flat).reshape(shape)

