"""Monte Carlo simulator of the linear-regression refit chain (model collapse), in JAX.

Model and conventions (the regression theory uses the same ones):

- linear model ``y = x^T beta + eps``, covariates ``x ~ N(0, I_d)``, label noise
  ``eps ~ N(0, noise2)`` (the same ``noise2`` for real and synthetic labels);
- generation 0 is the true coefficient ``beta_0`` (argument ``beta0``, default zeros: for
  ordinary least squares the test error does not depend on it);
- generation 1 is the fit on ``T`` real samples (labels ``y = X beta_0 + eps``); generation
  ``n >= 2`` is the fit on labels ``y = X beta_{n-1} + eps`` made by the previous model with
  fresh noise (Dohmatob, Feng and Kempe 2024; Gerstgrasser et al. 2024);
- the fit is ridge regression ``beta = (X^T X + ridge I)^-1 X^T y`` (``ridge = 0``: ordinary
  least squares, which needs ``T > d`` rows; the expectation of the test error is finite only
  for ``T > d + 1``);
- recorded observable ``test_error = ||beta_n - beta_0||^2``, the excess risk of ``beta_n`` for
  isotropic covariates (no noise floor); optionally ``beta`` itself.

Design conventions (``design``, :data:`modelcollapse.spec.params.design`):

- ``"fixed"``: each chain draws one design ``X`` (``T x d``) at generation 1, from a child
  stream of its own (:data:`DESIGN_TAG`), and reuses it in every generation (KoyejoLab's code);
- ``"fresh"``: a new Gaussian design is drawn in every generation (Dohmatob et al. 2024).

Workflows (values of :mod:`modelcollapse.spec.workflows`; a fit always sees ``T`` rows):

- ``replace``: the ``T`` rows are labelled by generation ``n - 1`` (generation 1: by
  ``beta_0``);
- ``accumulate``: the fit uses all rows of all generations so far, through the exact
  sufficient statistics pooled in the state, ``sum X^T X`` and ``sum X^T y`` (fixed design:
  the same ``X`` repeated, so the pooled Gram matrix is ``n X^T X``); the ridge penalty is
  applied once to the pooled fit;
- ``mix``: ``r = workflow.real_count(T)`` rows with real labels (``beta_0``, fresh noise) and
  ``T - r`` rows labelled by generation ``n - 1``; with the fixed design the first ``r`` rows of
  ``X`` are the real ones, with the fresh design both blocks are fresh (``fixed_real`` is not
  implemented);
- ``weighted``: ``w`` times the fit on ``r = workflow.real_count(T)`` real rows plus ``1 - w``
  times the fit on ``T`` rows labelled by generation ``n - 1`` (fixed design: the real rows
  are the first ``r`` rows of ``X``, the synthetic fit uses all ``T``).

Two paths that share everything but how a block of ``k`` rows is drawn:

- ``method="samples"`` (the reference): draws the rows ``X`` (fresh design) and the noise
  ``eps`` and forms ``X^T X`` and ``X^T y``, ``y = X beta + sqrt(noise2) eps``;
- ``method="sufficient"`` (fast, the default): the pair ``(X^T X, X^T y)`` only through its exact
  law. Given ``G = X^T X``, ``X^T eps ~ N(0, noise2 G)``, so
  ``X^T y = G beta + sqrt(noise2) S z`` with any square root ``S S^T = G`` and ``z ~ N(0, I)``.

  * Fixed design: ``S`` is ``X^T`` itself (``k <= 2 d`` rows: at most ``2 d^2`` numbers) or the
    Cholesky factor of ``G`` (``k > 2 d``), computed once, with the Cholesky factor of the fit's
    matrix ``G + ridge I`` (constant except under accumulate); a generation then costs
    ``O(d^2)`` (accumulate: plus one ``d x d`` Cholesky factorisation of the pooled matrix) --
    no ``T x d`` work.
  * Fresh design, ``k >= d``: ``G ~ Wishart_d(k, I)`` by Bartlett's decomposition
    ``G = L L^T``, ``L`` lower triangular with ``L_ii^2 ~ chi^2_{k - i + 1}`` (``i = 1..d``, from
    the exact Gamma sampler :func:`~modelcollapse.sims.rng.gamma.log_gamma_core`) and
    ``N(0, 1)`` entries below the diagonal, and ``S = L``; ``k < d``: the ``k`` rows are drawn
    (at most ``d^2`` numbers).

Randomness. Chain ``i`` uses the key words of ``fold_in(fold_in(key, i), 0)``; generation ``g``
draws its blocks from child streams of its Threefry stream (the design from
:data:`DESIGN_TAG` at ``g = 1``, real rows from :data:`~modelcollapse.sims.workflows.REAL_TAG`,
synthetic rows from :data:`~modelcollapse.sims.workflows.SYNTH_TAG`, replace and accumulate from
:data:`MAIN_TAG`), so every draw is a pure function of (chain, generation, use).
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
from jax.scipy.linalg import cho_solve

from modelcollapse.sims import driver
from modelcollapse.sims._linalg import cholesky
from modelcollapse.sims.driver import Observable
from modelcollapse.sims.rng.gamma import log_gamma_core
from modelcollapse.sims.rng.threefry import Stream, resolve_dtype
from modelcollapse.sims.workflows import REAL_TAG, SYNTH_TAG
from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = [
    "simulate",
    "RegressionRun",
    "RegressionKernel",
    "RegressionState",
    "RegressionParams",
    "load",
    "WORKFLOWS",
    "DESIGN_TAG",
    "MAIN_TAG",
]

#: The workflows this simulator runs.
WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "weighted")
#: Counter word of the child stream of generation 1 that draws the fixed design.
DESIGN_TAG = 0xDE510001
#: Counter word of the child stream of the one block of replace and accumulate.
MAIN_TAG = 0x3A110003
#: Sub-streams of a block: its rows, its noise, its Bartlett diagonal (Gamma) and off-diagonal.
_ROWS, _NOISE, _DIAG, _LOWER = 0x11, 0x12, 0x13, 0x14
#: beta0 of the simulator: finite coefficients.
BETA0 = P.Param("beta0", "true coefficient vector beta_0 of the linear model (generation 0), "
                "d finite reals")


class RegressionParams(NamedTuple):
    """Run-time parameters (traced): ``beta0`` ``(d,)``, ``noise2`` and ``ridge`` (scalars).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.regression import RegressionParams
    >>> RegressionParams(jnp.zeros(3), jnp.float32(1), jnp.float32(0)).beta0.shape
    (3,)
    """

    beta0: jax.Array
    noise2: jax.Array
    ridge: jax.Array


class RegressionState(NamedTuple):
    """State of a batch of ``n`` chains (leaves with the chain axis first).

    Attributes
    ----------
    beta : jax.Array
        ``(n, d)`` the fit of the current generation.
    design : jax.Array
        Fixed design, sample path: ``(n, T, d)`` the design ``X``; else ``(n, 0, d)``.
    gram_real, gram_synth : jax.Array
        Fixed design, sufficient path: ``(n, d, d)`` Gram matrices of the real and synthetic
        row blocks (see the module docstring); else ``(n, 0, 0)``.
    root_real, root_synth : jax.Array
        Their square roots ``S`` (``S S^T = G``), ``(n, d, k)`` for a block of ``k <= 2 d``
        rows, else ``(n, d, d)``; else ``(n, 0, 0)``.
    pool_gram, pool_xty : jax.Array
        accumulate: ``(n, d, d)`` and ``(n, d)``, the pooled ``sum X^T X`` and ``sum X^T y``;
        else ``(n, 0, 0)`` and ``(n, 0)``.
    fit_real, fit_synth : jax.Array
        Fixed design, sufficient path, replace, mix and weighted: ``(n, d, d)`` lower Cholesky
        factors of the fit's constant matrices ``G + ridge I`` (replace: all rows; mix: in
        ``fit_synth``, real plus synthetic rows; weighted: the real and the synthetic fit);
        else ``(n, 0, 0)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.regression import RegressionState
    >>> z = jnp.zeros((2, 0, 0))
    >>> RegressionState(jnp.zeros((2, 3)), z, z, z, z, z, z, jnp.zeros((2, 0)), z, z).beta.shape
    (2, 3)
    """

    beta: jax.Array
    design: jax.Array
    gram_real: jax.Array
    gram_synth: jax.Array
    root_real: jax.Array
    root_synth: jax.Array
    pool_gram: jax.Array
    pool_xty: jax.Array
    fit_real: jax.Array
    fit_synth: jax.Array


def _rows_stream(stream: Stream, k: int, d: int, dt: Any) -> jax.Array:
    """``(n, k, d)`` standard normal rows from the stream."""
    n = stream.k0.shape[0]
    if k == 0:
        return jnp.zeros((n, 0, d), dt)
    z = stream.normals(k * d, dt)  # (k d, n)
    return jnp.transpose(z.reshape(k, d, n), (2, 0, 1))


def _normals(stream: Stream, m: int, dt: Any) -> jax.Array:
    """``(n, m)`` standard normals."""
    n = stream.k0.shape[0]
    if m == 0:
        return jnp.zeros((n, 0), dt)
    return stream.normals(m, dt).T


def _gram(x: jax.Array) -> jax.Array:
    """``X^T X`` of ``(n, k, d)`` rows, ``(n, d, d)``."""
    return jnp.einsum("nki,nkj->nij", x, x)


def _root(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(G, S)`` of rows ``(n, k, d)``: ``G = X^T X`` and a square root ``S S^T = G``: ``X^T``
    itself (width ``k``) for ``k <= 2 d``, else the Cholesky factor of ``G`` (width ``d``; with
    more than ``2 d`` rows ``G`` is well conditioned, typically ``cond < 34``, so the factor
    is accurate in float32; a QR decomposition would avoid the squared condition number but is
    about 100 times slower than the Cholesky factor on XLA:CPU)."""
    g = _gram(x)
    k, d = x.shape[1], x.shape[2]
    if k > 2 * d:
        return g, cholesky(g)
    return g, jnp.swapaxes(x, 1, 2)


def _width(k: int, d: int) -> int:
    """Columns of the fixed design's square root of a block of ``k`` rows (see :func:`_root`)."""
    return d if k > 2 * d else k


def _bartlett(stream: Stream, k: int, d: int, dt: Any) -> tuple[jax.Array, jax.Array]:
    """``(G, L)``: ``G = L L^T ~ Wishart_d(k, I)`` by Bartlett's decomposition (``k >= d``);
    ``L_ii = sqrt(2 Gamma((k - i)/2))`` (0-based ``i``: ``chi^2_{k - i}``), ``N(0, 1)`` below."""
    n = stream.k0.shape[0]
    gs = stream.child(_DIAG)
    idx = jnp.arange(d, dtype=jnp.uint32)
    k0 = jnp.repeat(gs.k0, d)
    k1 = jnp.repeat(gs.k1, d)
    c0 = jnp.tile(idx, n)
    a = jnp.tile(0.5 * (k - jnp.arange(d, dtype=dt)), n)
    log_g, _ = log_gamma_core(k0, k1, c0, a, dt)
    diag = jnp.exp(0.5 * (log_g + jnp.asarray(math.log(2.0), dt))).reshape(n, d)
    low = _rows_stream(stream.child(_LOWER), d, d, dt)
    lower = jnp.tril(low, -1) + diag[:, :, None] * jnp.eye(d, dtype=dt)
    return jnp.einsum("nij,nkj->nik", lower, lower), lower


def _factor(gram: jax.Array, ridge: jax.Array, loop: bool = False) -> jax.Array:
    """Lower Cholesky factor of ``G + ridge I``, batched ``(n, d, d)`` (``loop``: by
    :func:`modelcollapse.sims._linalg.cholesky`, plain JAX: used inside the generation-1
    branch of the fixed design, where LAPACK's factorisation was seen to stall XLA:CPU)."""
    a = gram + ridge * jnp.eye(gram.shape[-1], dtype=gram.dtype)
    return cholesky(a) if loop else jnp.linalg.cholesky(a)


def _cho(factor: jax.Array, xty: jax.Array) -> jax.Array:
    """``(L L^T)^-1 X^T y`` for the lower factor ``L``: ``(n, d, d)``, ``(n, d)`` -> ``(n, d)``."""
    return cho_solve((factor, True), xty[..., None])[..., 0]


def _solve(gram: jax.Array, xty: jax.Array, ridge: jax.Array) -> jax.Array:
    """``(G + ridge I)^-1 X^T y`` by Cholesky, batched: ``(n, d, d)``, ``(n, d)`` -> ``(n, d)``."""
    return _cho(_factor(gram, ridge), xty)


@dataclass(frozen=True)
class RegressionKernel:
    """The regression refit under one workflow: a kernel of :func:`modelcollapse.sims.driver.run`.

    Static configuration (hashable). See the module docstring for the model, the designs, the
    workflows and the two paths.

    Attributes
    ----------
    T, d : int
        Rows per fit and dimension.
    design : {"fixed", "fresh"}
        Design convention.
    method : {"sufficient", "samples"}
        Simulator path.
    workflow : str
        One of :data:`WORKFLOWS`.
    real : int
        Real rows per fit (mix, weighted; else 0).
    weight : float
        weighted: the real weight ``w``.
    dtype : str
        ``"float32"`` or ``"float64"``.

    Examples
    --------
    >>> from modelcollapse.sims.regression import RegressionKernel
    >>> k = RegressionKernel(T=20, d=3, design="fixed", method="sufficient", workflow="replace")
    >>> k.name, k.blocks()
    ('regression[fixed, sufficient, replace]', (20, 20))
    """

    T: int
    d: int
    design: str
    method: str
    workflow: str
    real: int = 0
    weight: float = 1.0
    dtype: str = "float32"

    @property
    def name(self) -> str:
        return f"regression[{self.design}, {self.method}, {self.workflow}]"

    def blocks(self) -> tuple[int, int]:
        """Rows of the real block and of the synthetic block of one fit.

        replace and accumulate: one block of ``T`` rows (labelled by ``beta_0`` at generation 1,
        then by the previous fit); mix: ``r`` and ``T - r``; weighted: ``r`` and ``T``.
        """
        if self.workflow == "mix":
            return self.real, self.T - self.real
        if self.workflow == "weighted":
            return self.real, self.T
        return self.T, self.T

    def _keep_design(self) -> bool:
        return self.design == "fixed" and self.method == "samples"

    def _keep_grams(self) -> bool:
        return self.design == "fixed" and self.method == "sufficient"

    def _keep_factors(self) -> bool:
        return self._keep_grams() and self.workflow != "accumulate"

    def observables(self) -> Mapping[str, Observable]:
        return {"test_error": Observable((), self.dtype),
                "beta": Observable((self.d,), self.dtype)}

    def init(self, params: RegressionParams, n: int) -> RegressionState:
        dt = jnp.dtype(self.dtype)
        d = self.d
        kr, ks = self.blocks()
        beta = jnp.broadcast_to(params.beta0.astype(dt), (n, d))
        design = jnp.zeros((n, self.T if self._keep_design() else 0, d), dt)
        if self._keep_grams():
            g0 = jnp.zeros((n, d, d), dt)
            grams = (g0, g0, jnp.zeros((n, d, _width(kr, d)), dt),
                     jnp.zeros((n, d, _width(ks, d)), dt))
        else:
            e = jnp.zeros((n, 0, 0), dt)
            grams = (e, e, e, e)
        acc = self.workflow == "accumulate"
        pool = (jnp.zeros((n, d, d) if acc else (n, 0, 0), dt),
                jnp.zeros((n, d) if acc else (n, 0), dt))
        fac = jnp.zeros((n, d, d) if self._keep_factors() else (n, 0, 0), dt)
        fac_r = fac if self.workflow == "weighted" else jnp.zeros((n, 0, 0), dt)
        return RegressionState(beta, design, *grams, *pool, fac_r, fac)

    # ------------------------------------------------------------------ the fixed design
    def _with_design(self, stream: Stream, state: RegressionState,
                     ridge: jax.Array) -> RegressionState:
        """The state with the chain's fixed design drawn (generation 1, :data:`DESIGN_TAG`) and,
        on the sufficient path, its Gram matrices, their square roots and the Cholesky factors
        of the fit's matrices."""
        dt = jnp.dtype(self.dtype)
        x = _rows_stream(stream.child(DESIGN_TAG), self.T, self.d, dt)
        if self._keep_design():
            return state._replace(design=x)
        kr, ks = self.blocks()
        x_real = x[:, :kr]
        x_synth = x[:, kr:] if self.workflow == "mix" else x
        g_r, s_r = _root(x_real)
        g_s, s_s = _root(x_synth)
        state = state._replace(gram_real=g_r, gram_synth=g_s, root_real=s_r, root_synth=s_s)
        if self.workflow == "replace":
            return state._replace(fit_synth=_factor(g_s, ridge, loop=True))
        if self.workflow == "mix":
            return state._replace(fit_synth=_factor(g_r + g_s, ridge, loop=True))
        if self.workflow == "weighted":
            return state._replace(fit_real=_factor(g_r, ridge, loop=True),
                                  fit_synth=_factor(g_s, ridge, loop=True))
        return state

    # ------------------------------------------------------------------ one block of rows
    def _block(self, stream: Stream, which: str, state: RegressionState, beta: jax.Array,
               params: RegressionParams) -> tuple[jax.Array, jax.Array]:
        """``(X^T X, X^T y)`` of one block (``which``: "real" or "synth"), labels
        ``y = X beta + sqrt(noise2) eps``, ``beta`` ``(n, d)``."""
        dt = jnp.dtype(self.dtype)
        d = self.d
        kr, ks = self.blocks()
        k = kr if which == "real" else ks
        sd = jnp.sqrt(params.noise2).astype(dt)
        if self.method == "samples":
            if self.design == "fixed":
                lo = kr if (which == "synth" and self.workflow == "mix") else 0
                x = state.design[:, lo:lo + k]
            else:
                x = _rows_stream(stream.child(_ROWS), k, d, dt)
            eps = _normals(stream.child(_NOISE), k, dt)
            y = jnp.einsum("nkj,nj->nk", x, beta) + sd * eps
            return _gram(x), jnp.einsum("nki,nk->ni", x, y)
        if self.design == "fixed":
            g = state.gram_real if which == "real" else state.gram_synth
            s = state.root_real if which == "real" else state.root_synth
        elif k >= d:
            g, s = _bartlett(stream, k, d, dt)
        else:
            g, s = _root(_rows_stream(stream.child(_ROWS), k, d, dt))
        z = _normals(stream.child(_NOISE), s.shape[-1], dt)
        xty = jnp.einsum("nij,nj->ni", g, beta) + sd * jnp.einsum("nij,nj->ni", s, z)
        return g, xty

    def step(self, g: jax.Array, state: RegressionState, stream: Stream,
             params: RegressionParams) -> RegressionState:
        dt = jnp.dtype(self.dtype)
        first = g == 1
        ridge = params.ridge.astype(dt)
        if self.design == "fixed":
            state = lax.cond(first, lambda s: self._with_design(stream, s, ridge), lambda s: s,
                             state)
        beta0 = jnp.broadcast_to(params.beta0.astype(dt), state.beta.shape)
        src = jnp.where(first, beta0, state.beta)  # the first fit sees real labels only
        cached = self._keep_factors()  # constant fit matrices: their factors are in the state
        wf = self.workflow
        if wf in ("replace", "accumulate"):
            gram, xty = self._block(stream.child(MAIN_TAG), "synth", state, src, params)
            if wf == "replace":
                beta = _cho(state.fit_synth, xty) if cached else _solve(gram, xty, ridge)
                return state._replace(beta=beta)
            pg, pb = state.pool_gram + gram, state.pool_xty + xty
            return state._replace(beta=_solve(pg, pb, ridge), pool_gram=pg, pool_xty=pb)
        g_r, b_r = self._block(stream.child(REAL_TAG), "real", state, beta0, params)
        g_s, b_s = self._block(stream.child(SYNTH_TAG), "synth", state, src, params)
        if wf == "mix":
            beta = (_cho(state.fit_synth, b_r + b_s) if cached
                    else _solve(g_r + g_s, b_r + b_s, ridge))
            return state._replace(beta=beta)
        w = self.weight
        if cached:
            beta = w * _cho(state.fit_real, b_r) + (1.0 - w) * _cho(state.fit_synth, b_s)
        else:
            beta = w * _solve(g_r, b_r, ridge) + (1.0 - w) * _solve(g_s, b_s, ridge)
        return state._replace(beta=beta)

    def observe(self, state: RegressionState, params: RegressionParams) -> dict[str, jax.Array]:
        diff = state.beta - params.beta0.astype(state.beta.dtype)
        return {"test_error": jnp.sum(jnp.square(diff), axis=-1), "beta": state.beta}

    def finals(self, state: RegressionState) -> dict[str, jax.Array]:
        return {}

    def _floats_per_chain(self) -> int:
        d, T = self.d, self.T
        kr, ks = self.blocks()
        per = 10 * d * d + 4 * d
        if self.method == "samples":
            per += 3 * (kr + ks) * d + (T * d if self.design == "fixed" else 0)
        elif self.design == "fresh":
            per += 2 * (min(kr, d) + min(ks, d)) * d
        else:
            per += (_width(kr, d) + _width(ks, d)) * d
        return per

    def chunk_hint(self, rows: int, names: tuple[str, ...]) -> int:
        # at most 2^14 chains per batch: one batch of 25 000 chains or more of the weighted
        # fresh-design run (T = 20, d = 3) never finished on XLA:CPU (JAX 0.10.2) while 20 000
        # took 2.7 s; results do not depend on the batch size
        return max(1, min(2**14, 2**22 // self._floats_per_chain()))

    def batch_bytes(self, chains: int) -> int:
        """Estimated memory of one batch of ``chains`` chains (bytes)."""
        return chains * self._floats_per_chain() * jnp.dtype(self.dtype).itemsize

    def memory_hint(self) -> tuple[str, str]:
        """The cause and the remedy when a batch does not fit."""
        return (f"T={self.T}, d={self.d} with method={self.method!r}",
                "use method='sufficient' or smaller T and d")


# ----------------------------------------------------------------------------- result object
@dataclass(frozen=True, eq=False)
class RegressionRun:
    """Recorded output of :func:`simulate` (save with :meth:`save`, read with :func:`load`).

    Attributes
    ----------
    generations : numpy.ndarray
        int64 ``(R,)`` recorded generations (always contains 0).
    test_error : numpy.ndarray
        ``(R, chains)`` ``||beta_n - beta_0||^2`` (generation 0: 0).
    beta : numpy.ndarray or None
        ``(R, chains, d)`` the fitted coefficients, when ``record_beta=True``.
    T, d, noise2, ridge, design, method, workflow, chains, n_generations, dtype
        The run's parameters (``workflow`` is the workflow's name).
    beta0 : numpy.ndarray
        ``(d,)`` the true coefficients.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.regression import simulate
    >>> run = simulate(jax.random.key(0), T=20, d=3, generations=4, chains=10, record=[2, 4])
    >>> run.generations.tolist(), run.test_error.shape, run.at(4)
    ([0, 2, 4], (3, 10), 2)
    """

    generations: np.ndarray
    test_error: np.ndarray
    beta: np.ndarray | None
    T: int
    d: int
    noise2: float
    ridge: float
    design: str
    method: str
    workflow: str
    chains: int
    n_generations: int
    dtype: str
    beta0: np.ndarray

    def at(self, generation: int) -> int:
        """Row index of a recorded generation (``ValueError`` if it was not recorded).

        Parameters
        ----------
        generation : int
            A recorded generation.

        Returns
        -------
        int
            Its row in ``test_error``.
        """
        hit = np.nonzero(self.generations == generation)[0]
        if hit.size == 0:
            raise ValueError(f"generation must be a recorded generation "
                             f"{self.generations.tolist()} (got {generation!r})")
        return int(hit[0])

    def save(self, path: Any) -> None:
        """Write the run to a NumPy ``.npz`` file (read back with :func:`load`)."""
        fields: dict[str, Any] = dict(
            generations=self.generations, test_error=self.test_error, T=self.T, d=self.d,
            noise2=self.noise2, ridge=self.ridge, design=self.design, method=self.method,
            workflow=self.workflow, chains=self.chains, n_generations=self.n_generations,
            dtype=self.dtype, beta0=self.beta0)
        if self.beta is not None:
            fields["beta"] = self.beta
        np.savez(path, **fields)

    @classmethod
    def load(cls, path: Any) -> RegressionRun:
        """Read a run written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            return cls(generations=f["generations"], test_error=f["test_error"],
                       beta=f["beta"] if "beta" in f.files else None, T=int(f["T"]),
                       d=int(f["d"]), noise2=float(f["noise2"]), ridge=float(f["ridge"]),
                       design=str(f["design"]), method=str(f["method"]),
                       workflow=str(f["workflow"]), chains=int(f["chains"]),
                       n_generations=int(f["n_generations"]), dtype=str(f["dtype"]),
                       beta0=f["beta0"])


def load(path: Any) -> RegressionRun:
    """Read a :class:`RegressionRun` saved with :meth:`RegressionRun.save`.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.

    Returns
    -------
    RegressionRun
        The run, with the saved arrays and parameters.

    Examples
    --------
    >>> import os, tempfile, jax
    >>> import numpy as np
    >>> from modelcollapse.sims.regression import load, simulate
    >>> run = simulate(jax.random.key(0), T=10, d=2, generations=3, chains=8, record=[3],
    ...                record_beta=True)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run.save(os.path.join(tmp, "run.npz"))
    ...     back = load(os.path.join(tmp, "run.npz"))
    >>> bool(np.array_equal(back.test_error, run.test_error)), back.beta.shape, back.design
    (True, (2, 8, 2), 'fixed')
    """
    return RegressionRun.load(path)


# ----------------------------------------------------------------------------- entry point
def _beta0(value: Any, d: int) -> np.ndarray:
    """``beta0`` as a float64 ``(d,)`` array (None: zeros), else ``ValueError``."""
    if value is None:
        return np.zeros(d)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"beta0 must be None or {d} finite reals (got {P.show(value)})"
                         ) from None
    if arr.shape != (d,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"beta0 must be None or {d} finite reals (a vector of length d = "
                         f"{d}) (got {P.show(value)})")
    return arr


def simulate(key: Any, *, T: int, d: int, generations: int, chains: int, noise2: float = 1.0,
             beta0: Any = None, design: str = "fixed", ridge: float = 0.0,
             workflow: W.WorkflowLike = "replace", method: str = "sufficient",
             record: Sequence[int] | None = None, record_beta: bool = False,
             chunk_size: int | None = None, progress: bool = False, devices: Any = None,
             dtype: Any = None) -> RegressionRun:
    """Simulate ``chains`` independent linear-regression refit chains.

    Generation 1: ``beta_1 = (X^T X + ridge I)^-1 X^T y`` with ``T`` real rows,
    ``y = X beta_0 + eps``, ``x ~ N(0, I_d)``, ``eps ~ N(0, noise2)``; generation ``n >= 2``: the
    same fit with labels ``y = X beta_{n-1} + eps`` (replace; other workflows in the module
    docstring). Recorded: ``test_error = ||beta_n - beta_0||^2``. Under replace (either design)
    and OLS, ``E test_error(n) = n noise2 d / (T - d - 1)``; under accumulate with the fixed
    design, ``noise2 d / (T - d - 1) sum_{g<=n} 1/g^2`` (Dohmatob et al. 2024; Gerstgrasser et
    al. 2024).

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key``. Chain i draws from ``fold_in(key, i)``.
    T : int
        Rows per fit, an integer >= 1; ordinary least squares (``ridge = 0``) needs ``T > d``
        (and the real rows of mix and weighted are not constrained, but weighted's real fit
        needs ``r > d``). The expected test error is infinite for ``T = d + 1`` (the simulator
        runs it).
    d : int
        Dimension, an integer >= 1.
    generations : int
        Number of refits, an integer in [0, 2**31 - 2].
    chains : int
        Number of independent chains, an integer >= 1.
    noise2 : float
        Label noise variance, a real > 0.
    beta0 : array_like, optional
        ``(d,)`` true coefficients (default zeros).
    design : {"fixed", "fresh"}
        ``"fixed"``: one design per chain, reused (KoyejoLab); ``"fresh"``: a new design each
        generation (Dohmatob et al. 2024).
    ridge : float
        Ridge penalty ``lambda >= 0`` (0: OLS).
    workflow : Workflow or str
        ``replace`` (default), ``mix``, ``accumulate`` or ``weighted`` (values of
        :mod:`modelcollapse.spec.workflows`); no sampling bias.
    method : {"sufficient", "samples"}
        "sufficient" (exact law of ``(X^T X, X^T y)``, the default) or "samples" (draws the rows
        and the noise, the reference).
    record : sequence of int, optional
        Generations to store (0 always added). Default: 0 and ~50 log-spaced generations.
    record_beta : bool
        Also record the fitted coefficients, ``(R, chains, d)``.
    chunk_size : int, optional
        Chains per batch. Results do not depend on it.
    progress : bool
        Print a progress bar on stderr.
    devices : None, int or sequence of devices
        Shard the chain axis over these local devices.
    dtype : float32 or float64, optional
        Default: JAX's default float (float64 needs x64 mode).

    Returns
    -------
    RegressionRun
        ``generations`` (R,), ``test_error`` (R, chains), ``beta`` (R, chains, d) or None.

    Notes
    -----
    The sufficient path draws ``X^T eps`` as ``sqrt(noise2) S z`` with ``S S^T = X^T X`` (exact
    in law given ``X^T X``); with the fixed design ``S`` and the Cholesky factor of
    ``X^T X + ridge I`` are computed once per chain, so a generation costs ``O(d^2)`` (plus a
    ``d x d`` factorisation under accumulate); with the fresh design
    ``X^T X`` is a Wishart matrix drawn by Bartlett's decomposition. In float32 the solve
    loses about ``cond(X^T X) 1e-7`` relative accuracy (``cond`` is about
    ``((1 + sqrt(d/T)) / (1 - sqrt(d/T)))^2``); use float64 for ``T`` close to ``d``.

    References
    ----------
    E. Dohmatob, Y. Feng and J. Kempe, "Model collapse demystified: the case of regression",
    NeurIPS 2024. M. Gerstgrasser et al., "Is model collapse inevitable? Breaking the curse of
    recursion by accumulating real and synthetic data", 2024. M. S. Bartlett, "On the theory of
    statistical regression", Proc. R. Soc. Edinburgh 53 (1933).

    Examples
    --------
    Replace, OLS: ``E test_error(n) = n noise2 d / (T - d - 1)``, here ``5 * 4 / 15 = 1.333``
    (standard error of the mean about 0.02):

    >>> import jax, numpy as np
    >>> from modelcollapse.sims.regression import simulate
    >>> run = simulate(jax.random.key(0), T=20, d=4, generations=5, chains=4000, record=[5])
    >>> bool(abs(run.test_error[-1].mean() - 4 * 5 / 15) < 0.1)
    True

    Accumulate, fixed design: ``(4 / 15) (1 + 1/4 + 1/9 + 1/16 + 1/25) = 0.3901``:

    >>> from modelcollapse.spec.workflows import accumulate
    >>> run = simulate(jax.random.key(1), T=20, d=4, generations=5, chains=4000,
    ...                workflow=accumulate(), record=[5])
    >>> bool(abs(run.test_error[-1].mean() - 0.3901) < 0.03)
    True
    """
    generations = driver.GENERATIONS.scalar(generations)
    chains = P.chains.scalar(chains)
    T = P.T.scalar(T)
    d = P.d.scalar(d)
    noise2 = float(P.noise2.scalar(noise2))
    ridge = float(P.ridge.scalar(ridge))
    design = P.design.check(design)
    method = P.method.check(method)
    if not isinstance(record_beta, bool):
        raise ValueError(f"record_beta must be True or False (got {P.show(record_beta)})")
    wf = W.require(workflow, "the regression simulator", names=WORKFLOWS, biases=())
    if ridge == 0.0 and T <= d:
        raise ValueError(f"T must be > d for ordinary least squares (ridge = 0): X^T X is "
                         f"singular (got T={T}, d={d}); use ridge > 0 or more rows")
    real = wf.real_count(T) if wf.name in ("mix", "weighted") else 0
    if wf.name == "mix" and wf.fixed_real:
        raise ValueError("mix with fixed_real=True is not available for the regression "
                         "simulator (its real rows are fresh each generation)")
    if wf.name == "weighted" and ridge == 0.0 and real <= d:
        raise ValueError(f"n_real must be > d = {d} for the weighted workflow with ridge = 0 "
                         f"(the real fit is ordinary least squares; got {real})")
    b0 = _beta0(beta0, d)
    dt = resolve_dtype(dtype)
    rec = driver.log_record(generations) if record is None else P.record(record, generations)
    kern = RegressionKernel(T=T, d=d, design=design, method=method, workflow=wf.name,
                            real=real, weight=wf.effective_weight if wf.name == "weighted"
                            else 1.0, dtype=jnp.dtype(dt).name)
    params = RegressionParams(jnp.asarray(b0, dt), jnp.asarray(noise2, dt),
                              jnp.asarray(ridge, dt))
    names = ("test_error", "beta") if record_beta else ("test_error",)
    out = driver.run(kern, key, params, generations=generations, chains=chains, record=rec,
                     observe=names, chunk_size=chunk_size, progress=progress, devices=devices,
                     desc=kern.name)
    return RegressionRun(generations=out.generations, test_error=out.observed["test_error"],
                         beta=out.observed.get("beta"), T=T, d=d, noise2=noise2, ridge=ridge,
                         design=design, method=method, workflow=wf.name, chains=chains,
                         n_generations=generations, dtype=jnp.dtype(dt).name, beta0=b0)
