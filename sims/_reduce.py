"""Sums in a fixed pairwise order, so that a chain's value never depends on the batch shape.

XLA's reduction order may depend on the shape of the reduced array (vector width, remainder
loops, thread partitioning); these helpers add halves elementwise instead, which keeps every
chain bit-identical across chunk sizes and device counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["tree_sum_rows", "tree_sum_last"]


def tree_sum_rows(x: jax.Array) -> jax.Array:
    """Sum over axis 0 in a fixed pairwise order (rows: the summed items, e.g. the M points;
    columns: the chains, the long vectorised axis)."""
    while x.shape[0] > 1:
        k = x.shape[0]
        h = k // 2
        head = x[:h] + x[h:2 * h]
        x = jnp.concatenate([head, x[2 * h:]], axis=0) if k % 2 else head
    return x[0]


def tree_sum_last(x: jax.Array) -> jax.Array:
    """Sum over the last axis in a fixed pairwise order (zero-padded to a power of two)."""
    width = x.shape[-1]
    full = 1 << max(0, (width - 1).bit_length())
    if full != width:
        x = jnp.concatenate([x, jnp.zeros(x.shape[:-1] + (full - width,), x.dtype)], axis=-1)
    while full > 1:
        full //= 2
        x = x[..., :full] + x[..., full:]
    return x[..., 0]
