"""Monte Carlo simulator of the multivariate Gaussian refit chain (model collapse), in JAX.

Convention. Generation 0 is the original distribution N(mu0, Sigma0) in ``d`` dimensions.
Generation n is the model after n rounds of "draw M points from the current model, refit"; the
first fit (generation 1) sees M real points. The refit is the sample mean and the covariance
``Sigma' = S / (M - ddof)``, ``S = sum_j (x_j - xbar)(x_j - xbar)^T`` the centred scatter
matrix: ddof=1 unbiased, ddof=0 maximum likelihood. With a schedule, M_i is the sample size of
the fit that produces generation i. Every fit needs a full-rank scatter matrix: ``M > d`` (at
least d + 1 points) and ``M > ddof``.

State in log space. The covariance of chain c is kept as its Cholesky factor
``L = U diag(exp(l))`` with ``U`` unit lower triangular and ``l`` the log of ``L``'s diagonal,
so ``log det Sigma = 2 sum_i l_i`` exactly, and nothing underflows however far the covariance
collapses (10^5 generations at M = d + 2 stay finite). One replace step maps a standardised
sample (``z_j ~ N(0, I_d)``, mean ``zbar``, ``chol(S_z / M) = V diag(exp(beta))``) through the
current model, ``x_j = mu + L z_j`` (the same M points, affinely mapped: the sample mean and
scatter are affine-equivariant), so that

    mu' = mu + L zbar,
    chol(S_x / M) = L V diag(exp(beta)) = U C diag(exp(l + beta)),
    C = diag(exp(l)) V diag(exp(-l)),  C_ij = exp(l_i - l_j) V_ij  (unit lower triangular),

hence ``l' = l + beta + log(M / (M - ddof)) / 2`` and ``U' = U C``: a product of unit lower
triangular matrices, no Cholesky. The entries of ``C`` stay bounded: the chain is simulated in
Sigma0's eigenbasis with the eigenvalues in descending order, and the log-diagonal fans out
(the Lyapunov exponents ``psi((M - i)/2) + log(2/(M - ddof))`` decrease with i), so
``l_i - l_j`` drifts to -inf for i > j. Two paths share everything but the standardised
sample:

- ``method="samples"`` (the reference): draws the M points ``z_j`` and fits them (mean,
  scatter, its Cholesky factor);
- ``method="bartlett"`` (fast, the default): draws the fitted statistics' exact law by the
  Bartlett decomposition ``S_z = B B^T``, B lower triangular, ``B_ii = sqrt(chi^2_{M-i})``
  (i = 1..d), ``B_ij ~ N(0, 1)`` (i > j), independent, and ``zbar = z / sqrt(M)`` with
  ``z ~ N(0, I_d)`` independent of B; so ``V_ij = B_ij / B_jj`` and
  ``beta_i = log(B_ii^2 / M) / 2``. The chi-square draws come from the repository's exact
  log-space Gamma sampler (:mod:`modelcollapse.sims.rng.gamma`; its spare normals give z).

Frame. The chains run in Sigma0's eigenbasis, scaled by its largest eigenvalue ``s`` and
centred at mu0: generation 0 is ``N(0, diag(lambda_i / s))`` with ``lambda_1 >= ... >=
lambda_d``. Every recorded observable (log det, log trace, ``||mu - mu0||^2``, the eigenvalues,
the Bures-Wasserstein distance to N(mu0, Sigma0)) is invariant under the rotation and the
translation and scales with ``s`` in a known way, so results are mapped back in float64
(``log det += d log s``, ``log trace += log s``, ``mean_sq *= s``, ...): the same chains.

Workflows (:mod:`modelcollapse.sims.workflows`, the values of
:mod:`modelcollapse.spec.workflows`): replace, mix (fresh or fixed real data), accumulate (the
pooled count, mean and scatter combined exactly,
``S = S_a + S_b + (n_a n_b / n)(m_a - m_b)(m_a - m_b)^T``, then one Cholesky per generation of
the pooled matrix on a common log scale), accumulate_subsample (a point pool of d-vectors) and
weighted (the blend ``w Sigma_a + (1 - w) Sigma_b`` of the real and synthetic fits, and of
their means), with the sampling bias ``variance_scale`` (synthetic points from
``N(mu, lambda Sigma)``). Every part of a pooled fit must itself be full rank: a mix's real and
synthetic counts are each 0 or > d, a weighted fit's real count is > d and > ddof, and a
subsample is > d and > ddof. Under replace the state never leaves log space; the pooled
workflows factor a matrix on a common scale, which needs the pooled covariance's condition
number to fit the dtype (it does: pooling with real data keeps the covariance bounded).

Randomness. Chain i uses the key words of ``fold_in(fold_in(key, i), 0)``; generation g reads
Threefry blocks ``(g, j)`` of that chain's stream and blocks ``(i, j)`` of a child stream
(dimension i's chi-square draw), so results are bit-identical whatever ``chunk_size`` or the
number of devices (sums over the M points use a fixed pairwise order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims import driver
from modelcollapse.sims._linalg import cholesky
from modelcollapse.sims._reduce import tree_sum_last, tree_sum_rows
from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.gamma import log_gamma_core
from modelcollapse.sims.rng.threefry import (
    Stream,
    materialize,
    normal_from_bits,
    resolve_dtype,
    threefry2x32,
)
from modelcollapse.sims.workflows import kernel
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = [
    "simulate",
    "MultivariateRun",
    "MultivariateFamily",
    "MultivariateState",
    "MultivariateStats",
    "MultivariateParams",
    "load",
    "METHODS",
    "WORKFLOWS",
]

#: The two paths: "samples" draws and fits the M points, "bartlett" draws the fit's exact law.
METHODS: tuple[str, ...] = ("samples", "bartlett")
_METHOD = P.Choice("method", "multivariate simulator path: 'samples' draws and fits the M points "
                   "(the reference), 'bartlett' draws the fit's exact law by the Bartlett "
                   "decomposition (fast)", METHODS, aliases={"sufficient": "bartlett"})
#: The workflows this simulator runs (see :mod:`modelcollapse.sims.workflows`).
WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "accumulate_subsample",
                              "weighted")
#: Sampling biases (both paths): synthetic points from N(mu, lambda Sigma).
BIASES: tuple[str, ...] = ("variance_scale",)
#: Counter word of the child stream of the chi-square draws (dimension i: its blocks (i, j)).
CHI2_TAG = 0xB4E70001
#: Largest dimension accepted (the recorded eigenvalues and the d x d state of every chain).
MAX_D = 4096
_D = P.d.restrict(high=float(MAX_D))
_SIM_M = P.GAUSSIAN_M.restrict(high=float(driver.MAX_INT32))
#: Relative asymmetry ``max|A - A^T| / max|A|`` accepted in a ``Sigma0`` matrix.
SYMMETRY_RTOL = 1e-10


class MultivariateState(NamedTuple):
    """The fitted model of each chain, in the frame of the module docstring.

    Attributes
    ----------
    mean : jax.Array
        ``(n, d)`` fitted means (``mu_g - mu0`` in the frame).
    U : jax.Array
        ``(n, d, d)`` unit lower triangular factor.
    l : jax.Array
        ``(n, d)`` log of the Cholesky factor's diagonal: ``Sigma = U diag(e^{2l}) U^T``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.multivariate import MultivariateState
    >>> st = MultivariateState(jnp.zeros((2, 3)), jnp.broadcast_to(jnp.eye(3), (2, 3, 3)),
    ...                        jnp.zeros((2, 3)))
    >>> st.U.shape
    (2, 3, 3)
    """

    mean: jax.Array
    U: jax.Array
    l: jax.Array


class MultivariateStats(NamedTuple):
    """Statistics of a sample of ``size`` points: ``S / size = U diag(e^{2l}) U^T``.

    Attributes
    ----------
    size : jax.Array
        ``(n,)`` number of points (0: the statistics of no point).
    mean : jax.Array
        ``(n, d)`` sample means.
    U : jax.Array
        ``(n, d, d)`` unit lower triangular factor of the mean scatter ``S / size``.
    l : jax.Array
        ``(n, d)`` log of the diagonal of ``chol(S / size)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.multivariate import MultivariateStats
    >>> MultivariateStats(jnp.full(1, 4.0, jnp.float32), jnp.zeros((1, 2)), jnp.eye(2)[None],
    ...                   jnp.zeros((1, 2))).size
    Array([4.], dtype=float32)
    """

    size: jax.Array
    mean: jax.Array
    U: jax.Array
    l: jax.Array


class MultivariateParams(NamedTuple):
    """Run-time parameters: the schedule ``[M]`` or ``M_1..M_n``, ddof, the original log-diagonal.

    Attributes
    ----------
    sched : jax.Array
        int32 ``[M]`` or the schedule.
    ddof : jax.Array
        Scalar delta degrees of freedom.
    l0 : jax.Array
        ``(d,)`` ``log(lambda_i / s) / 2``: generation 0 in the frame is
        ``N(0, diag(e^{2 l0}))``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.multivariate import MultivariateParams
    >>> MultivariateParams(jnp.array([10]), jnp.float32(1), jnp.zeros(3)).l0.shape
    (3,)
    """

    sched: jax.Array
    ddof: jax.Array
    l0: jax.Array


def _strict_lower(d: int) -> np.ndarray:
    return np.tril(np.ones((d, d), bool), -1)


def _unit_factor(K: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(U, log diag)`` of a lower triangular ``K = U diag(diag K)`` with a positive diagonal."""
    diag = jnp.diagonal(K, axis1=-2, axis2=-1)
    return K / diag[..., None, :], jnp.log(diag)


def _block_normals(stream: Stream, count: int, dtype: Any, d: int) -> jax.Array:
    """``(n, d, d)`` matrices whose strictly lower entries (row-major order) are ``count =
    d (d - 1) / 2`` standard normals (zeros elsewhere): normal ``j`` of a chain from block
    ``(g, j)`` of its stream by :func:`~modelcollapse.sims.rng.threefry.normal_from_bits`
    (float32: the block's first word; float64: both words, as ``Stream.normals``). One block
    per normal costs a second Threefry word in float32 but keeps the draw one fused loop with
    the chain axis innermost (several times faster here than two normals per block); the rows
    are then placed (a static row gather) and transposed to the chain-first layout."""
    j = jnp.arange(count, dtype=jnp.uint32)[:, None]
    w0, w1 = threefry2x32(stream.k0[None, :], stream.k1[None, :], stream.g, j)
    z = normal_from_bits((w0, w1) if jnp.dtype(dtype) == jnp.float64 else w0, dtype)
    z = materialize(z, stream.g)  # (count, n), computed once
    idx = np.full(d * d, count)
    r, c = np.nonzero(_strict_lower(d))
    idx[r * d + c] = np.arange(count)
    rows = jnp.concatenate([z, jnp.zeros((1, z.shape[1]), z.dtype)])[idx]  # (d d, n)
    return rows.T.reshape(-1, d, d)


def _scatter_factor(dev: jax.Array, count: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(V, beta)`` with ``chol(S / count) = V diag(e^beta)``, ``S = dev^T dev`` the scatter of
    the centred points ``dev`` ``(k, n, d)`` (points first; zero rows for masked points), from
    the QR decomposition ``dev = Q R``: ``S = R^T R``, so ``chol(S) = R^T`` up to the signs of
    R's diagonal. Never forms S: the factor is accurate to the condition number of the points,
    not its square (in float32 a nearly flat sample of d + 1 points still factors)."""
    R = _householder_r(dev)  # (n, d, d) upper triangular
    rd = jnp.diagonal(R, axis1=-2, axis2=-1)
    diag = jnp.abs(rd)
    sign = jnp.where(rd < 0, -1.0, 1.0).astype(R.dtype)
    K = jnp.swapaxes(R * sign[..., :, None], -1, -2)  # lower, positive diagonal
    return K / diag[..., None, :], jnp.log(diag) - 0.5 * jnp.log(count)[..., None]


def _householder_r(X: jax.Array) -> jax.Array:
    """The ``R`` factor ``(n, d, d)`` of the QR decomposition of each chain's ``(k, d)`` matrix
    (``X`` is ``(k, n, d)``, ``k >= d``), by d Householder reflections written in plain JAX
    operations (no LAPACK call inside the simulation loop: XLA:CPU stalled on one here). The
    sums over the k rows are batched dots (chunk-size invariance tested)."""
    k, _, d = X.shape
    rows = jnp.arange(k)[:, None]

    def reflect(j: jax.Array, X: jax.Array) -> jax.Array:
        col = lax.dynamic_index_in_dim(X, j, axis=2, keepdims=False)  # (k, n)
        x = jnp.where(rows >= j, col, 0.0)
        alpha = lax.dynamic_index_in_dim(x, j, axis=0, keepdims=False)  # (n,)
        norm = jnp.sqrt(jnp.einsum("kn,kn->n", x, x))
        v = x + jnp.where(rows == j, jnp.where(alpha < 0, -norm, norm)[None, :], 0.0)
        vv = jnp.einsum("kn,kn->n", v, v)
        tau = jnp.where(vv > 0, 2.0 / jnp.where(vv > 0, vv, 1.0), 0.0)
        w = jnp.einsum("kn,knd->nd", v, X)  # (n, d): v^T X
        return X - v[:, :, None] * (tau[:, None] * w)[None, :, :]

    X = lax.fori_loop(0, d, reflect, X)
    R = jnp.moveaxis(X[:d], 0, 1)  # (n, d, d)
    return jnp.where(jnp.triu(jnp.ones((d, d), bool)), R, 0.0)


def _pooled_factor(factors: Sequence[tuple[jax.Array, jax.Array, jax.Array]],
                   rank_one: Sequence[tuple[jax.Array, jax.Array]]
                   ) -> tuple[jax.Array, jax.Array]:
    """``(U, l)`` with ``U diag(e^{2l}) U^T = sum_k w_k U_k diag(e^{2 l_k}) U_k^T
    + sum_r w_r v_r v_r^T`` (weights ``w >= 0`` of shape ``(n,)``): the matrix is formed on the
    common log scale ``c`` (the largest log-diagonal or ``log max|v|``), factored once, and the
    scale restored in the log-diagonal."""
    dt = factors[0][2].dtype
    parts = [jnp.max(jnp.where(w[:, None] > 0, l, -jnp.inf), axis=1) for w, _, l in factors]
    parts += [jnp.where(w > 0, jnp.log(jnp.max(jnp.abs(v), axis=1)), -jnp.inf)
              for w, v in rank_one]
    c = jnp.max(jnp.stack(parts), axis=0)
    c = jnp.where(jnp.isfinite(c), c, 0.0).astype(dt)
    n, d = factors[0][2].shape
    A = jnp.zeros((n, d, d), dt)
    for w, U, l in factors:
        F = U * (jnp.sqrt(w)[:, None, None] * jnp.exp(l - c[:, None])[:, None, :])
        A = A + F @ jnp.swapaxes(F, 1, 2)
    for w, v in rank_one:
        u = v * (jnp.sqrt(w)[:, None] * jnp.exp(-c)[:, None])
        A = A + u[:, :, None] * u[:, None, :]
    U, lk = _unit_factor(cholesky(A))
    return U, lk + c[:, None]


@dataclass(frozen=True)
class MultivariateFamily:
    """The multivariate Gaussian refit as a family of the workflow seam (static configuration).

    The fit of n points is ``mu' = mean(x)``, ``Sigma' = S / (n - ddof)``, i.e. (in the log
    factor form of :class:`MultivariateStats`) ``l' = l + log(n / (n - ddof)) / 2`` with the
    same ``U`` (:meth:`fit`); pooled samples combine by
    ``S = S_a + S_b + (n_a n_b / n)(m_a - m_b)(m_a - m_b)^T`` (:meth:`combine`, exact, one
    Cholesky of the pooled matrix on a common log scale).

    Attributes
    ----------
    method : {"bartlett", "samples"}
        Simulator path (see the module docstring).
    d : int
        Dimension.
    dtype : str
        ``"float32"`` or ``"float64"``.
    m_max : int
        Points drawn per generation on the sample path (0 on the Bartlett path).
    masked : bool
        Whether the sample path masks the points beyond the generation's M.
    name : str
        ``"multivariate"``.
    biases : tuple of str
        ``("variance_scale",)``: synthetic points from N(mu, lambda Sigma), both paths.
    workflows : tuple of str
        :data:`WORKFLOWS`.
    guard : bool
        Draws may have 0 points (mix): they give the statistics of no point.

    Examples
    --------
    Pooling two samples of three points by :meth:`combine` gives the statistics of the four
    points at once (Chan's parallel formula is exact):

    >>> import jax.numpy as jnp, numpy as np
    >>> from modelcollapse.sims.multivariate import MultivariateFamily
    >>> fam = MultivariateFamily("bartlett", 2, "float32")
    >>> pts = jnp.array([[[0.0, 1.0], [1.0, -1.0], [2.0, 0.5], [1.0, 1.0], [3.0, -1.0],
    ...                   [2.0, 2.0]]])
    >>> whole = fam.point_stats(pts, jnp.ones((1, 6), bool))
    >>> a = fam.point_stats(pts[:, :3], jnp.ones((1, 3), bool))
    >>> b = fam.point_stats(pts[:, 3:], jnp.ones((1, 3), bool))
    >>> c = fam.combine(a, b)
    >>> bool(np.allclose(c.l, whole.l, atol=1e-6)), bool(np.allclose(c.U, whole.U, atol=1e-6))
    (True, True)
    """

    method: str
    d: int
    dtype: str
    m_max: int = 0
    masked: bool = False
    name: str = "multivariate"
    biases: tuple[str, ...] = BIASES
    workflows: tuple[str, ...] = WORKFLOWS
    guard: bool = False

    # ------------------------------------------------------------------ state
    def init(self, params: MultivariateParams, n: int) -> MultivariateState:
        dt = jnp.dtype(self.dtype)
        d = self.d
        return MultivariateState(jnp.zeros((n, d), dt),
                                 jnp.broadcast_to(jnp.eye(d, dtype=dt), (n, d, d)),
                                 jnp.broadcast_to(params.l0.astype(dt), (n, d)))

    @property
    def point_size(self) -> int:
        """Values per point (the seam's point pool sizes its memory by it): ``d``."""
        return self.d

    def observables(self) -> Mapping[str, Observable]:
        return {"log_det": Observable((), self.dtype), "log_trace": Observable((), self.dtype),
                "mean_sq": Observable((), self.dtype),
                "log_eigenvalues": Observable((self.d,), self.dtype),
                "log_diagonal": Observable((self.d,), self.dtype),
                "w2_squared": Observable((), self.dtype)}

    def observe(self, state: MultivariateState, params: MultivariateParams
                ) -> dict[str, jax.Array]:
        # sums in a fixed pairwise order (tree_sum_last): bits independent of the batch shape
        U, l = state.U, state.l
        dt = l.dtype
        n = l.shape[0]
        log_det = 2.0 * tree_sum_last(l)
        # tr Sigma = sum_ij U_ij^2 e^{2 l_j} = e^{2b} sum_ij (U_ij e^{l_j - b})^2, b = max l
        b = jnp.max(l, axis=1)
        F = U * jnp.exp(l - b[:, None])[:, None, :]
        log_trace = jnp.log(tree_sum_last(jnp.square(F).reshape(n, -1))) + 2.0 * b
        mean_sq = tree_sum_last(jnp.square(state.mean))
        sv = jnp.linalg.svd(F, compute_uv=False)  # descending
        log_eig = 2.0 * (jnp.log(sv) + b[:, None])
        # W2^2 = ||mu - mu0||^2 + tr Sigma + tr Sigma0 - 2 ||Sigma0^{1/2} L||_* (nuclear norm:
        # the trace of (Sigma0^{1/2} Sigma Sigma0^{1/2})^{1/2}); Sigma0^{1/2} = diag(e^{l0})
        G = jnp.exp(params.l0.astype(dt))[None, :, None] * F
        nuc = tree_sum_last(jnp.linalg.svd(G, compute_uv=False)) * jnp.exp(b)
        tr0 = tree_sum_last(jnp.exp(2.0 * params.l0.astype(dt)))
        w2 = mean_sq + jnp.exp(log_trace) + tr0 - 2.0 * nuc
        return {"log_det": log_det, "log_trace": log_trace, "mean_sq": mean_sq,
                "log_eigenvalues": log_eig, "w2_squared": w2, "log_diagonal": 2.0 * l}

    def finals(self, state: MultivariateState) -> dict[str, jax.Array]:
        return {}

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        per = self.d * (self.m_max + self.d) if self.method == "samples" else self.d * self.d
        return max(1, min(2**16, 2**22 // max(per, 1)))

    def batch_bytes(self, chains: int) -> int:
        """Estimated memory of one batch of ``chains`` chains (bytes): the sample path holds the
        ``m_max`` d-vectors of every chain (about 16 bytes per coordinate in float32), both
        paths a few d x d matrices per chain."""
        item = jnp.dtype(self.dtype).itemsize
        per = 4 * self.d * self.m_max * item + 8 * self.d * self.d * item + 64
        return chains * per

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit (see :meth:`batch_bytes`)."""
        if self.method == "samples":
            return (f"M={self.m_max}, d={self.d} with method='samples' (the M points of every "
                    "chain are drawn at once)", "use method='bartlett' or a smaller M")
        return (f"d={self.d} (d x d factors per chain)", "use fewer chains or a smaller d")

    # ------------------------------------------------------------------ draw and fit
    def _source(self, state: MultivariateState, real: jax.Array, params: MultivariateParams,
                bias: W.SamplingBias) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(mean, U, l)`` of the law a draw comes from: the original (``real``) or the model
        through the sampling bias (``variance_scale`` lambda: ``l + log(lambda) / 2``)."""
        dt = state.l.dtype
        l_model = state.l
        if bias.variance_scale != 1.0:
            l_model = l_model + jnp.asarray(0.5 * math.log(bias.variance_scale), dt)
        eye = jnp.eye(self.d, dtype=dt)
        mu = jnp.where(real, jnp.zeros_like(state.mean), state.mean)
        U = jnp.where(real, eye, state.U)
        l = jnp.where(real, params.l0.astype(dt)[None, :], l_model)
        return mu, U, l

    def _standard_samples(self, stream: Stream, m: jax.Array
                          ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        """Sample path: ``(zbar, V, 0, beta)`` of ``m`` standard normal d-vectors per chain:
        ``chol(S_z / m) = V diag(e^beta)`` (only ``V``'s strictly lower part is used)."""
        dt = jnp.dtype(self.dtype)
        d, k = self.d, self.m_max
        z = materialize(stream.normals(k * d, dt), stream.g)  # (k d, n): point j = rows jd..
        z = z.reshape(k, d, -1)
        mf = m.astype(dt)
        mask = (jnp.arange(k) < m)[:, None, None] if self.masked else None
        if mask is not None:
            z = jnp.where(mask, z, 0.0)
        zbar = tree_sum_rows(z) / mf  # (d, n)
        dev = z - zbar[None]
        if mask is not None:
            dev = jnp.where(mask, dev, 0.0)
        V, beta = _scatter_factor(jnp.moveaxis(dev, 2, 1), mf)  # (k, n, d)
        return zbar.T, V, jnp.zeros((), dt), beta

    def _standard_bartlett(self, stream: Stream, m: jax.Array
                           ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        """Bartlett path: ``(zbar, N, s, beta)`` of the exact law (module docstring):
        ``beta_i = log(chi^2_{m-i} / m) / 2``, ``V_ik = N_ik / B_kk = N_ik e^{s_k}``,
        ``s_k = -beta_k - log(m) / 2``, ``zbar = z / sqrt(m)``. The chi-square of dimension i
        uses the blocks ``(i, j)`` of the child stream :data:`CHI2_TAG`; ``N_ik`` (i > k) the
        block ``(g, i d + k)`` of the chain's stream (the upper entries are drawn and unused:
        one elementwise loop over ``(n, d, d)``, no gather)."""
        dt = jnp.dtype(self.dtype)
        d = self.d
        n = stream.k0.shape[0]
        i = np.arange(1, d + 1)
        chi = stream.child(CHI2_TAG)
        k0 = jnp.repeat(chi.k0, d)  # element e = chain e // d, dimension e % d
        k1 = jnp.repeat(chi.k1, d)
        c0 = jnp.tile(jnp.arange(d, dtype=jnp.uint32), n)
        mf = m.astype(dt)
        df = mf - jnp.asarray(i, dt)  # chi^2_{m - i}
        # log(2 G / m) exactly as log(2 d_MT / m) + log(G / d_MT): the constant
        # log1p((2 d_MT - m) / m), 2 d_MT - m = -i - 2/3 (a >= 1) or -i + 4/3 (a < 1, boosted)
        off = jnp.where(df < 2.0, 4.0 / 3.0, -2.0 / 3.0) - jnp.asarray(i, dt)
        lg, zs = log_gamma_core(k0, k1, c0, jnp.tile(0.5 * df, n), dt,
                                jnp.tile(jnp.log1p(off / mf), n))
        beta = 0.5 * lg.reshape(n, d)
        zbar = zs.reshape(n, d) * lax.rsqrt(mf)
        if d == 1:
            return zbar, jnp.zeros((n, 1, 1), dt), jnp.zeros((), dt), beta
        N = _block_normals(stream, d * (d - 1) // 2, dt, d)
        return zbar, N, (-beta - 0.5 * jnp.log(mf))[:, None, :], beta

    def _empty_like(self, n: int) -> MultivariateStats:
        return self.empty(None, n)  # type: ignore[arg-type]

    def _mapped(self, zbar: jax.Array, V: jax.Array, s_log: jax.Array, beta: jax.Array,
                mf: jax.Array, mu: jax.Array, U: jax.Array, l: jax.Array) -> MultivariateStats:
        """The statistics of the standardised sample mapped through ``x = mu + U e^l z``:
        ``U C`` with ``C_ik = exp(l_i - l_k) V_ik e^{s_ik}`` below the diagonal, 1 on it."""
        d = self.d
        n = mu.shape[0]
        low = jnp.asarray(_strict_lower(d))
        expo = jnp.where(low, l[:, :, None] - l[:, None, :] + s_log, 0.0)
        C = jnp.where(low, V * jnp.exp(expo), jnp.eye(d, dtype=l.dtype))
        mean = mu + jnp.einsum("nij,nj->ni", U, jnp.exp(l) * zbar)
        return MultivariateStats(jnp.broadcast_to(mf, (n,)), mean, U @ C, l + beta)

    def draw(self, stream: Stream, m: jax.Array, state: MultivariateState, real: jax.Array,
             params: MultivariateParams, bias: W.SamplingBias) -> MultivariateStats:
        """Statistics of ``m`` points from N(mu0, Sigma0) (``real``) or from the fitted model
        through the sampling ``bias``."""
        mu, U, l = self._source(state, real, params, bias)
        dt = jnp.dtype(self.dtype)
        mf = jnp.asarray(m).astype(dt)
        if self.method == "samples":
            parts = self._standard_samples(stream, m)
        else:
            parts = self._standard_bartlett(stream, m)
        st = self._mapped(*parts, mf, mu, U, l)
        if self.guard:  # a draw of no point (mix with r = 0 or r = M): dropped by combine
            empty = self._empty_like(mu.shape[0])
            st = jax.tree.map(lambda e, x: jnp.where(mf < 1.0, e, x), empty, st)
        return st

    def draw_points(self, stream: Stream, m_max: int, m: jax.Array, state: MultivariateState,
                    real: jax.Array, params: MultivariateParams, bias: W.SamplingBias
                    ) -> jax.Array:
        """``(chains, m_max, d)`` points ``mu + U e^l z`` of the original (``real``) or the
        model through ``bias`` (the point pool of accumulate_subsample; entries at index
        ``>= m`` are ignored). Both paths draw points here: a subsample of a pool is not a
        function of the pool's statistics."""
        mu, U, l = self._source(state, real, params, bias)
        dt = jnp.dtype(self.dtype)
        z = stream.normals(m_max * self.d, dt).reshape(m_max, self.d, -1)  # (k, d, n)
        L = U * jnp.exp(l)[:, None, :]
        return mu[:, None, :] + jnp.einsum("nij,kjn->nki", L, z)

    def point_stats(self, points: jax.Array, mask: jax.Array) -> MultivariateStats:
        """Statistics of the points ``(chains, k, d)`` where ``mask`` ``(chains, k)`` is true:
        count, mean and the log factor of ``S / count`` (sums in a fixed pairwise order)."""
        dt = points.dtype
        x = jnp.moveaxis(points, 1, 0)  # (k, n, d)
        mk = mask.T[:, :, None]
        count = jnp.sum(mask, axis=1).astype(dt)
        x = jnp.where(mk, x, 0.0)
        xbar = tree_sum_rows(x) / count[:, None]
        dev = jnp.where(mk, x - xbar[None], 0.0)
        U, l = _scatter_factor(dev, count)
        return MultivariateStats(count, xbar, U, l)

    def fit(self, g: jax.Array, stats: MultivariateStats, state: MultivariateState,
            params: MultivariateParams) -> MultivariateState:
        """Sample mean and ``chol(S / (n - ddof))``: ``l + log1p(ddof / (n - ddof)) / 2``."""
        c = stats.size
        step = 0.5 * jnp.log1p(params.ddof / (c - params.ddof))
        return MultivariateState(stats.mean, stats.U, stats.l + step[:, None])

    def combine(self, a: MultivariateStats, b: MultivariateStats) -> MultivariateStats:
        """Pooled statistics: ``S = S_a + S_b + (n_a n_b / n)(m_a - m_b)(m_a - m_b)^T``
        (exact), in the form ``S / n = (n_a/n) S_a/n_a + (n_b/n) S_b/n_b + (n_a n_b/n^2) dd^T``
        factored once on a common log scale; a sample of no point leaves the other unchanged."""
        n = a.size + b.size
        safe = jnp.where(n > 0, n, 1.0)
        wa, wb = a.size / safe, b.size / safe
        mean = wa[:, None] * a.mean + wb[:, None] * b.mean
        U, l = _pooled_factor([(wa, a.U, a.l), (wb, b.U, b.l)],
                              [(wa * wb, a.mean - b.mean)])
        pooled = MultivariateStats(n, mean, U, l)
        return jax.tree.map(lambda x, y, z: _pick(a.size == 0, y, _pick(b.size == 0, x, z)),
                            a, b, pooled)

    def empty(self, params: MultivariateParams, n: int) -> MultivariateStats:
        """Statistics of no point (size 0): the start of a pool."""
        dt = jnp.dtype(self.dtype)
        d = self.d
        return MultivariateStats(jnp.zeros((n,), dt), jnp.zeros((n, d), dt),
                                 jnp.broadcast_to(jnp.eye(d, dtype=dt), (n, d, d)),
                                 jnp.full((n, d), -jnp.inf, dt))

    def blend(self, w: float, a: MultivariateState, b: MultivariateState) -> MultivariateState:
        """The weighted estimate: mean ``w mu_a + (1 - w) mu_b``, covariance
        ``w Sigma_a + (1 - w) Sigma_b`` (one Cholesky on a common log scale)."""
        dt = a.mean.dtype
        n = a.mean.shape[0]
        wa = jnp.full((n,), w, dt)
        wb = jnp.full((n,), 1.0 - w, dt)
        U, l = _pooled_factor([(wa, a.U, a.l), (wb, b.U, b.l)], [])
        return MultivariateState(w * a.mean + (1.0 - w) * b.mean, U, l)


def _pick(cond: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """``where(cond, x, y)`` with ``cond`` ``(n,)`` broadcast over trailing axes."""
    c = cond.reshape(cond.shape + (1,) * (x.ndim - cond.ndim))
    return jnp.where(c, x, y)


# ----------------------------------------------------------------------------- result object
@dataclass(frozen=True, eq=False)
class MultivariateRun:
    """Recorded output of :func:`simulate` (every observable is rotation invariant).

    Attributes
    ----------
    generations : numpy.ndarray
        int64 ``(R,)`` recorded generations (always contains 0).
    log_det : numpy.ndarray
        ``(R, chains)`` ``log det Sigma_g`` (exact sum of the log-diagonal: never underflows).
    log_trace : numpy.ndarray
        ``(R, chains)`` ``log tr Sigma_g`` (a log-sum-exp: never underflows).
    mean_sq : numpy.ndarray
        ``(R, chains)`` ``||mu_g - mu0||^2``.
    log_eigenvalues : numpy.ndarray or None
        ``(R, chains, d)`` log eigenvalues of Sigma_g, descending (``eigenvalues=True``), from
        the singular values of the Cholesky factor: accurate while the condition number of the
        factor, ``sqrt(lambda_max / lambda_min)``, is well below ``1 / eps`` of the dtype
        (about 8e6 in float32, 4.5e15 in float64); smaller eigenvalues are rounding noise.
    w2_squared : numpy.ndarray or None
        ``(R, chains)`` Bures-Wasserstein ``W2^2(N(mu_g, Sigma_g), N(mu0, Sigma0))``
        (``w2=True``); absolute rounding about ``eps * (tr Sigma_g + tr Sigma0)``, so it may be
        slightly negative when the distance is below that.
    log_diagonal : numpy.ndarray or None
        ``(R, chains, d)`` log of the squared diagonal of Sigma_g's Cholesky factor in Sigma0's
        eigenbasis (``diagonal=True``; see :func:`simulate`).
    M : int or tuple of int
        The sample size or the schedule.
    ddof, method, workflow, d, chains, n_generations, dtype
        The run's parameters.
    eigenvalues0 : numpy.ndarray
        ``(d,)`` eigenvalues of Sigma0, descending.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.multivariate import simulate
    >>> run = simulate(jax.random.key(0), M=10, generations=4, chains=64, d=3, record=[4])
    >>> run.generations.tolist(), run.log_det.shape, float(run.trace[0, 0])
    ([0, 4], (2, 64), 3.0)
    >>> run.at(4)
    1
    """

    generations: np.ndarray
    log_det: np.ndarray
    log_trace: np.ndarray
    mean_sq: np.ndarray
    M: int | tuple[int, ...]
    ddof: float
    method: str
    workflow: str
    d: int
    chains: int
    n_generations: int
    dtype: str
    eigenvalues0: np.ndarray
    log_eigenvalues: np.ndarray | None = None
    w2_squared: np.ndarray | None = None
    log_diagonal: np.ndarray | None = None

    @property
    def trace(self) -> np.ndarray:
        """``tr Sigma_g = exp(log_trace)`` (may underflow for long runs: prefer log_trace)."""
        return np.exp(self.log_trace)

    @property
    def det(self) -> np.ndarray:
        """``det Sigma_g = exp(log_det)`` (may underflow for long runs: prefer log_det)."""
        return np.exp(self.log_det)

    def at(self, generation: int) -> int:
        """Row index of a recorded generation (ValueError if it was not recorded).

        Parameters
        ----------
        generation : int
            A recorded generation.

        Returns
        -------
        int
            Its row in the recorded arrays.
        """
        hit = np.nonzero(self.generations == generation)[0]
        if hit.size == 0:
            raise ValueError(f"generation must be a recorded generation "
                             f"{self.generations.tolist()} (got {generation!r})")
        return int(hit[0])

    def save(self, path: Any) -> None:
        """Write the run to a NumPy ``.npz`` file (read back with :func:`load`)."""
        opt: dict[str, Any] = {k: v for k, v in (("log_eigenvalues", self.log_eigenvalues),
                                 ("w2_squared", self.w2_squared),
                                 ("log_diagonal", self.log_diagonal)) if v is not None}
        np.savez(path, generations=self.generations, log_det=self.log_det,
                 log_trace=self.log_trace, mean_sq=self.mean_sq,
                 M=np.asarray(self.M, dtype=np.int64), M_is_schedule=not isinstance(self.M, int),
                 ddof=self.ddof, method=self.method, workflow=self.workflow, d=self.d,
                 chains=self.chains, n_generations=self.n_generations, dtype=self.dtype,
                 eigenvalues0=self.eigenvalues0, **opt)

    @classmethod
    def load(cls, path: Any) -> MultivariateRun:
        """Read a run written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            M = f["M"]
            return cls(generations=f["generations"], log_det=f["log_det"],
                       log_trace=f["log_trace"], mean_sq=f["mean_sq"],
                       M=tuple(int(m) for m in M) if bool(f["M_is_schedule"]) else int(M),
                       ddof=_number(float(f["ddof"])), method=str(f["method"]),
                       workflow=str(f["workflow"]), d=int(f["d"]), chains=int(f["chains"]),
                       n_generations=int(f["n_generations"]), dtype=str(f["dtype"]),
                       eigenvalues0=f["eigenvalues0"],
                       log_eigenvalues=(f["log_eigenvalues"] if "log_eigenvalues" in f.files
                                        else None),
                       w2_squared=f["w2_squared"] if "w2_squared" in f.files else None,
                       log_diagonal=(f["log_diagonal"] if "log_diagonal" in f.files
                                     else None))


def _number(v: float) -> Any:
    """An integral float as int (ddof=1 stays 1), else the float."""
    return int(v) if float(v).is_integer() else v


def load(path: Any) -> MultivariateRun:
    """Read a :class:`MultivariateRun` saved with :meth:`MultivariateRun.save`.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.

    Returns
    -------
    MultivariateRun
        The run, with the saved arrays and parameters.

    Examples
    --------
    >>> import os, tempfile, jax
    >>> import numpy as np
    >>> from modelcollapse.sims.multivariate import load, simulate
    >>> run = simulate(jax.random.key(0), M=10, generations=3, chains=16, d=2, w2=True)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run.save(os.path.join(tmp, "run.npz"))
    ...     back = load(os.path.join(tmp, "run.npz"))
    >>> bool(np.array_equal(back.w2_squared, run.w2_squared)), back.M, back.d
    (True, 10, 2)
    """
    return MultivariateRun.load(path)


# ----------------------------------------------------------------------------- entry point
def _sigma0(Sigma0: Any, d: Any) -> tuple[int, np.ndarray]:
    """``(d, eigenvalues descending)`` of the validated ``Sigma0`` (default ``I_d``)."""
    if Sigma0 is None:
        if d is None:
            raise ValueError("give d or Sigma0 (the dimension, or the original covariance)")
        d_ = int(_D.scalar(d))
        return d_, np.ones(d_)
    arr = P.Sigma0.array(Sigma0)
    if arr.ndim == 1 and arr.size >= 1:
        if not np.all(arr > 0.0):
            raise ValueError(f"Sigma0 must be a vector of d eigenvalues > 0 (got "
                             f"{P.show(arr)})")
        eig = arr
    elif arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.size >= 1:
        scale = float(np.max(np.abs(arr)))
        asym = float(np.max(np.abs(arr - arr.T)))
        if asym > SYMMETRY_RTOL * scale:
            raise ValueError(f"Sigma0 must be symmetric (max |Sigma0 - Sigma0^T| = {asym:.3g})")
        eig = np.linalg.eigvalsh(0.5 * (arr + arr.T))
        if not np.all(eig > 0.0):
            raise ValueError(f"Sigma0 must be positive definite (smallest eigenvalue "
                             f"{eig.min():.6g})")
    else:
        raise ValueError(f"Sigma0 must be a d x d matrix or a vector of d eigenvalues, d >= 1 "
                         f"(got shape {arr.shape})")
    d_ = int(_D.scalar(eig.size))
    if d is not None and int(_D.scalar(d)) != d_:
        raise ValueError(f"d must equal the dimension of Sigma0 ({d_}; got {P.show(d)})")
    return d_, np.sort(eig)[::-1].copy()


def simulate(key: Any, *, M: int | Sequence[int], generations: int, chains: int,
             d: int | None = None, Sigma0: Any = None, mu0: Any = None, ddof: float = 1,
             method: str = "bartlett", workflow: W.WorkflowLike = "replace",
             record: Sequence[int] | None = None, chunk_size: int | None = None,
             progress: bool = False, devices: Any = None, dtype: Any = None,
             eigenvalues: bool = False, w2: bool = False, diagonal: bool = False
             ) -> MultivariateRun:
    """Simulate ``chains`` independent d-dimensional Gaussian refit chains.

    One generation (replace): from the current fit N(mu, Sigma) draw M points, refit
    ``mu' = mean(x)``, ``Sigma' = S / (M - ddof)``, ``S`` the centred scatter matrix;
    equivalently (Bartlett) ``mu' = mu + L z / sqrt(M)``, ``L' = L B / sqrt(M - ddof)``,
    ``L L^T = Sigma``, B lower triangular with ``B_ii = sqrt(chi^2_{M-i})``, ``B_ij ~ N(0,1)``
    (i > j), z ~ N(0, I_d), all independent. Generation 0 is N(mu0, Sigma0); the first fit sees
    M real points. ddof=1 unbiased, ddof=0 maximum likelihood. The state is kept in log space
    (module docstring), so ``log_det`` is exact and finite for any number of generations.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key``. Chain i draws from ``fold_in(key, i)``.
    M : int or sequence of int
        Points per generation, an integer > d (a full-rank fit) and > ddof, or a schedule of
        length ``generations``.
    generations : int
        Number of refits, an integer in [0, 2**31 - 2].
    chains : int
        Number of independent chains.
    d : int, optional
        Dimension (an integer in [1, 4096]); inferred from ``Sigma0`` (else required, and
        ``Sigma0 = I_d``).
    Sigma0 : array_like, optional
        The original covariance: a symmetric positive definite ``d x d`` matrix or its ``d``
        eigenvalues (every recorded observable depends on Sigma0 through its eigenvalues only).
    mu0 : array_like, optional
        The original mean, ``d`` finite reals (default zeros). Every observable is
        translation invariant, so it is only validated and kept.
    ddof : float
        Delta degrees of freedom, a real >= 0 with M > ddof.
    method : {"bartlett", "samples"}
        "bartlett" (the exact law of the fit; fast, the default) or "samples" (draws and fits
        the M points; the reference).
    workflow : Workflow or str
        :mod:`modelcollapse.spec.workflows`: replace, mix (real count 0 or > d, synthetic count
        0 or > d), accumulate, accumulate_subsample (subsample > d and > ddof; a point pool of
        d-vectors, memory growing with the generations), weighted (``n_real > d`` and
        ``> ddof``); sampling bias ``variance_scale`` (synthetic points from
        N(mu, lambda Sigma)). The first fit sees real points only.
    record : sequence of int, optional
        Generations to store (0 always added). Default: 0 plus ~50 log-spaced generations.
    chunk_size : int, optional
        Chains per batch; results do not depend on it.
    progress : bool
        Print a text progress bar on stderr.
    devices : None, int or sequence of devices
        Shard the chain axis over these local devices; results are identical for any number.
    dtype : float32 or float64, optional
        Default: JAX's default float (float64 needs x64 mode).
    eigenvalues : bool
        Also record the log eigenvalues ``(R, chains, d)`` (an SVD per chain and record).
    w2 : bool
        Also record the Bures-Wasserstein ``W2^2`` to N(mu0, Sigma0) (two SVDs per chain and
        record).
    diagonal : bool
        Also record ``log_diagonal`` ``(R, chains, d)``: ``log L_ii^2``, the squared diagonal of
        the Cholesky factor of Sigma_g in Sigma0's eigenbasis (eigenvalues descending), exact in
        log space for any number of generations. Under replace it is a random walk with
        independent increments ``log(chi^2_{M-i} / (M - ddof))``, so
        ``E log_diagonal_i = log lambda_i + n gamma_i``, ``gamma_i = psi((M-i)/2) +
        log(2/(M-ddof))``, the Lyapunov exponents (not rotation invariant: a property of this
        basis and ordering).

    Returns
    -------
    MultivariateRun
        ``generations``, ``log_det``, ``log_trace``, ``mean_sq`` (and the optional arrays).

    Notes
    -----
    The chains run in Sigma0's eigenbasis, centred at mu0 and scaled by its largest eigenvalue
    (module docstring); results are mapped back in float64. W2^2 uses
    ``tr (Sigma0^{1/2} Sigma Sigma0^{1/2})^{1/2} = ||Sigma0^{1/2} L||_*`` (the nuclear norm of
    the factor: its singular values are the square roots of that matrix's eigenvalues), which
    needs no matrix square root.

    References
    ----------
    M. S. Bartlett, "On the theory of statistical regression", Proc. Roy. Soc. Edinburgh 53
    (1933) 260-283 (the decomposition of the Wishart law). I. Shumailov et al., "AI models
    collapse when trained on recursively generated data", Nature 631 (2024) 755-759.

    Examples
    --------
    ``E log det Sigma_n - log det Sigma0 = n sum_{i=1..d} [psi((M-i)/2) + log(2/(M-ddof))]``:
    -1.677 at d = 3, M = 20, n = 5 (standard deviation ``sqrt(n sum psi'((M-i)/2))`` = 1.33,
    so the standard error of the mean of 2000 chains is 0.030):

    >>> import jax, numpy as np
    >>> from modelcollapse.sims.multivariate import simulate
    >>> run = simulate(jax.random.key(0), M=20, generations=5, chains=2000, d=3, record=[5])
    >>> bool(abs(np.mean(run.log_det[-1]) + 1.677) < 0.15)    # 5 standard errors
    True

    The sample path draws and fits the points; generation 0 is N(mu0, Sigma0) exactly:

    >>> run = simulate(jax.random.key(1), M=8, generations=2, chains=100, method="samples",
    ...                Sigma0=[[2.0, 0.5], [0.5, 1.0]], w2=True)
    >>> round(float(run.trace[0, 0]), 5), float(run.mean_sq[0, 0]), run.method
    (3.0, 0.0, 'samples')
    """
    generations = driver.GENERATIONS.scalar(generations)
    chains = driver.CHAINS.scalar(chains)
    ddof = P.ddof.scalar(ddof)
    method = _METHOD.check(method)
    wf = W.as_workflow(workflow)
    dt = resolve_dtype(dtype)
    d_, eig = _sigma0(Sigma0, d)
    if mu0 is not None:
        m0 = P.mu0.array(mu0)
        if m0.shape != (d_,):
            raise ValueError(f"mu0 must be a vector of d = {d_} finite reals (got shape "
                             f"{m0.shape})")
    for flag, name in ((eigenvalues, "eigenvalues"), (w2, "w2"), (diagonal, "diagonal")):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"{name} must be True or False (got {P.show(flag)})")
    m_const, sched = driver.sample_sizes(M, _SIM_M, generations)
    if sched:
        P.require_greater(_SIM_M, min(sched), P.ddof, ddof)
        P.require_greater(_SIM_M, min(sched), P.d, d_)
    rec = driver.log_record(generations) if record is None else P.record(record, generations)
    split = wf.name in ("mix", "weighted")
    sizes = tuple(sched) if sched else (d_ + 2,)
    counts = tuple(wf.real_count(m) for m in sizes) if split else ()
    if wf.name == "mix":
        for m, r in zip(sizes, counts, strict=True):
            if 0 < r <= d_ or 0 < m - r <= d_:
                raise ValueError(f"mix needs a real count and a synthetic count each 0 or > d = "
                                 f"{d_} (a full-rank fit of each part; got n_real={r}, "
                                 f"synthetic={m - r} at M={m})")
    if wf.name == "weighted" and counts and (min(counts) <= d_ or min(counts) <= ddof):
        raise ValueError(f"n_real must be > d = {d_} and > ddof = {P.show(ddof)} for the "
                         f"weighted workflow (got {min(counts)})")
    if wf.name == "accumulate_subsample" and wf.subsample is not None and (
            wf.subsample <= d_ or wf.subsample <= ddof):
        raise ValueError(f"subsample must be > d = {d_} and > ddof = {P.show(ddof)} (got "
                         f"{wf.subsample})")
    m_max = max(sizes + counts)
    fam = MultivariateFamily(
        method=method, d=d_, dtype=jnp.dtype(dt).name,
        m_max=m_max if method == "samples" else 0,
        masked=method == "samples" and (split or len(set(sizes)) > 1), guard=split)
    s = float(eig[0])
    l0 = 0.5 * np.log(eig / s)
    params = MultivariateParams(sched=jnp.asarray(sizes, jnp.int32),
                                ddof=jnp.asarray(ddof, dt), l0=jnp.asarray(l0, dt))
    names = ("log_det", "log_trace", "mean_sq") + (("log_eigenvalues",) if eigenvalues else ()) \
        + (("w2_squared",) if w2 else ()) + (("log_diagonal",) if diagonal else ())
    out = driver.run(kernel(fam, wf, sizes, generations=generations), key, params,
                     generations=generations, chains=chains, record=rec, observe=names,
                     chunk_size=chunk_size, progress=progress, devices=devices,
                     desc=f"multivariate[{method}]")
    obs = {k: v.astype(np.float64) for k, v in out.observed.items()}
    log_s = math.log(s)

    def back(x: np.ndarray) -> np.ndarray:
        return x.astype(dt)

    return MultivariateRun(
        generations=out.generations, log_det=back(obs["log_det"] + d_ * log_s),
        log_trace=back(obs["log_trace"] + log_s), mean_sq=back(obs["mean_sq"] * s),
        M=m_const if m_const is not None else sched, ddof=_number(ddof), method=method,
        workflow=wf.name, d=d_, chains=chains, n_generations=generations,
        dtype=jnp.dtype(dt).name, eigenvalues0=eig,
        log_eigenvalues=back(obs["log_eigenvalues"] + log_s) if eigenvalues else None,
        w2_squared=back(obs["w2_squared"] * s) if w2 else None,
        log_diagonal=back(obs["log_diagonal"] + log_s) if diagonal else None)
