"""Small batched linear algebra in plain JAX operations for the simulators' generation loops."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from modelcollapse.sims._reduce import tree_sum_last

__all__ = ["cholesky"]


def cholesky(A: jax.Array) -> jax.Array:
    """Lower Cholesky factor of each symmetric positive definite ``(d, d)`` matrix of ``A``
    ``(n, d, d)``, column by column in plain JAX operations, sums in a fixed pairwise order.

    Used inside the simulators' generation loops instead of ``jnp.linalg.cholesky``: LAPACK's
    factorisation (a custom call) inside the loop was seen to stall XLA:CPU's runtime for
    minutes on this machine (jax 0.10.2), at random.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims._linalg import cholesky
    >>> cholesky(jnp.array([[[4.0, 2.0], [2.0, 5.0]]])).tolist()
    [[[2.0, 0.0], [1.0, 2.0]]]
    """
    d = A.shape[-1]
    idx = jnp.arange(d)

    def column(j: jax.Array, L: jax.Array) -> jax.Array:
        lj = lax.dynamic_index_in_dim(L, j, axis=1, keepdims=False)  # (n, d): row j of L
        aj = lax.dynamic_index_in_dim(A, j, axis=2, keepdims=False)  # (n, d): column j of A
        s = aj - tree_sum_last(L * lj[:, None, :])  # A_ij - sum_k L_ik L_jk
        piv = jnp.sqrt(lax.dynamic_index_in_dim(s, j, axis=1, keepdims=False))  # (n,)
        col = jnp.where(idx > j, s / piv[:, None], jnp.where(idx == j, piv[:, None], 0.0))
        return lax.dynamic_update_index_in_dim(L, col[:, :, None], j, axis=2)

    return lax.fori_loop(0, d, column, jnp.zeros_like(A))
