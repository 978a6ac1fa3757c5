"""Exact multivariate hypergeometric counts: a uniform subsample, without replacement, of a pool
given by its counts (integer arithmetic, JAX).

A pool of ``T = c_1 + ... + c_K`` points holds ``c_i`` copies of symbol ``i``. A uniform
``N``-subset of its points (every subset of size ``N`` equally likely) has the counts
``X ~ MultivariateHypergeometric(c, N)``::

    P(X = x) = prod_i binom(c_i, x_i) / binom(T, N),      sum_i x_i = N, 0 <= x_i <= c_i.

:func:`subsample_counts` draws it as ``N`` successive draws without replacement: draw ``j``
takes symbol ``i`` with probability ``r_i / R`` (``r`` the counts not yet drawn, ``R`` their
total), the chain rule of the law above. Each draw reads one Threefry-2x32 block, 64 uniform
bits ``U``, and the symbol is the number of cumulative remaining counts ``<= V``,
``V = floor(U R / 2^64)`` (:func:`~modelcollapse.sims.rng.categorical.mulhi64`): exact
integers, the law of each draw off by at most ``2^-64`` per symbol (``V``'s rounding), never
by a float rounding. One symbol's count is hypergeometric,
``X_i ~ Hypergeometric(T, c_i, N)`` (the test compares it with ``scipy.stats.hypergeom``).

Cost: ``N`` sequential steps of ``O(K)`` elementwise work per row (the cumulative remaining
counts are carried and decremented past the drawn symbol: a comparison, a sum and a
subtraction, no scan), vectorised over rows: ``O(N K)`` per row and draw, memory ``O(K)`` per
row, whatever the pool's size ``T`` (the pooled counts replace the points; below ``2^31``).
Measured here (2 shared CPU cores): 2000 rows, ``K = 100``, ``N = 1000`` in about 0.1 s.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from modelcollapse.sims.rng.categorical import mulhi64
from modelcollapse.sims.rng.threefry import threefry2x32

__all__ = ["subsample_counts"]

_U32 = jnp.uint32


def subsample_counts(k0: jax.Array, k1: jax.Array, g: Any, counts: jax.Array,
                     n: Any) -> jax.Array:
    """Counts of a uniform ``n``-subsample, without replacement, of the pools ``counts``.

    ``X ~ MultivariateHypergeometric(counts, n)`` per row, ``P(X = x) = prod_i
    binom(c_i, x_i) / binom(T, n)``, drawn as ``n`` successive draws without replacement
    (draw ``j`` of row ``i`` reads the Threefry block ``(g, j)`` under ``(k0[i], k1[i])``).

    Parameters
    ----------
    k0, k1 : jax.Array
        uint32 ``(rows,)``: key words of the rows.
    g : array_like
        uint32 scalar: the first counter word of every block (the generation).
    counts : jax.Array
        int32 ``(rows, K)``: the pools, entries ``>= 0``, row totals ``T < 2^31`` (not
        validated: traced use).
    n : array_like
        int32 scalar or ``(rows,)``: subsample sizes, ``0 <= n <= T`` (not validated).

    Returns
    -------
    jax.Array
        int32 ``(rows, K)``: ``0 <= X <= counts``, each row summing to its ``n``.

    Notes
    -----
    Exact: integer arithmetic, each draw's law within ``2^-64`` per symbol of ``r_i / R``.
    Cost ``O(n K)`` per row (``max n`` sequential steps over the batch), memory ``O(K)``.
    A row's draws depend only on its key words, ``g`` and its pool: bits do not depend on the
    batch.

    References
    ----------
    N. L. Johnson, S. Kotz and N. Balakrishnan, *Discrete Multivariate Distributions* (1997),
    ch. 39 (the multivariate hypergeometric law).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.hypergeometric import subsample_counts
    >>> from modelcollapse.sims.rng.threefry import chain_words
    >>> w = chain_words(jax.random.key(0), jnp.arange(3, dtype=jnp.uint32))
    >>> pool = jnp.asarray([[5, 0, 3], [1, 1, 1], [2, 7, 0]], jnp.int32)
    >>> x = subsample_counts(w[:, 0], w[:, 1], jnp.uint32(1), pool, jnp.asarray([4, 3, 9]))
    >>> x.sum(axis=1).tolist(), bool((x <= pool).all()), x[1:].tolist()
    ([4, 3, 9], True, [[1, 1, 1], [2, 7, 0]])
    """
    counts = jnp.asarray(counts, jnp.int32)
    rows, K = counts.shape
    n = jnp.broadcast_to(jnp.asarray(n, jnp.int32), (rows,))
    gu = jnp.asarray(g, _U32)
    sym_ids = jnp.arange(K, dtype=jnp.int32)[None, :]

    def draw(j: jax.Array, cum: jax.Array) -> jax.Array:
        # cum: the cumulative counts not yet drawn (exact int32); its last entry is R
        u_hi, u_lo = threefry2x32(k0, k1, gu, j.astype(_U32))
        _, v = mulhi64(u_hi, u_lo, jnp.zeros_like(u_hi), cum[:, -1].astype(_U32))
        sym = jnp.sum(cum <= v.astype(jnp.int32)[:, None], axis=-1)  # V < R < 2^31
        return cum - ((sym_ids >= sym[:, None]) & (j < n)[:, None]).astype(jnp.int32)

    steps = jnp.max(n) if rows else jnp.int32(0)
    cum = lax.fori_loop(jnp.int32(0), steps, draw, jnp.cumsum(counts, axis=-1))
    left = jnp.diff(cum, axis=-1, prepend=jnp.zeros((rows, 1), jnp.int32))
    return counts - left
