"""The single-symbol Wright-Fisher chain: the categorical law engine (exact, banded, fast).

One symbol's count under the categorical refit is a Markov chain on ``{0, ..., M}``: the first
step is ``Binomial(M, p)`` from the original probability ``p``, every later step
``Binomial(M, j/M)`` from the current count ``j`` (the neutral haploid Wright-Fisher chain;
states 0 and ``M`` absorb). This module holds the machinery that computes its laws exactly:

- :func:`transition` -- the transition matrix ``P[j, k] = C(M, k) (j/M)^k (1 - j/M)^(M-k)`` as a
  banded sparse matrix (entries below ~1e-20 dropped, rows renormalised);
- :func:`eigenvalues` -- its eigenvalues ``lambda_k = M! / ((M - k)! M^k)`` (Feller 1951);
- :func:`binomial_band`, :func:`binomial_pmf_rows` -- ``Binomial(M, p)`` pmfs on their bands;
- :func:`propagate` -- ``X P^s`` (forward) or ``P^s X`` (backward) for many horizons ``s``, by
  sparse stepping of the occupied band or dense repeated squaring, whichever its cost model says
  is cheaper, stopping once the transient mass is below 1e-15; :func:`forward_cost` estimates
  its run time;
- :func:`loss_probability` -- ``P(count 0 at generation n)`` for any ``n``, from the *loss
  model* below;
- :func:`fundamental_solutions`, :func:`absorption_expectation` -- absorption times, from the
  same model;
- :func:`check_exact_M` -- the size limit :data:`MAX_EXACT_M` of the exact methods
  (:data:`MAX_DENSE_M` bounds dense matrix powers).

The loss model
--------------
Let ``f_s = P^s e_0`` (``f_s(j)``: probability that a count started at ``j`` is 0 after ``s``
steps) and ``g_s(j) = f_s(j) - (1 - j/M)`` (``1 - j/M`` is the eventual loss probability, a fixed
point of ``P``); ``g_s`` vanishes at 0 and ``M``. ``P`` maps a polynomial of degree ``k`` in ``j``
to a polynomial of degree ``k`` (``E[X^k | j]`` is one), so the polynomials of degree ``<= K``
vanishing at both ends form a ``(K - 1)``-dimensional invariant subspace, on which ``P`` has the
eigenvalues ``lambda_2, ..., lambda_K``. The model (:func:`loss_probability`,
:func:`fundamental_solutions`, :func:`absorption_expectation`; built once per ``M`` and cached):

1. steps ``f_s`` exactly for ``s = 0..S`` on its occupied band ``[0, J_s]`` (entries below 1e-30
   trimmed; ``J_s`` grows like ``30 s``, so a step costs ``O(J_s^1.5)``, not ``O(M^1.5)``);
2. fits ``g_S`` by ``sum_m c_m psi_m`` with ``psi_m(x) = T_{m+2}(2x - 1) - T_m(2x - 1)``
   (Chebyshev, ``m < K - 1``, ``K = min(200, 1.5 sqrt(M))``) and measures the sup-norm residual
   ``delta`` on all ``M + 1`` states (``S`` starts at ``70 M / K^2`` and doubles until ``delta <=
   5e-14``);
3. evolves the fit exactly in the subspace with the generator ``(P - I) psi = psi B``: ``B`` is
   upper triangular (degrees are kept) with the closed-form diagonal ``lambda_{m+2} - 1``; its
   other entries are collocated at ~``2K`` states from second-order differences (no
   cancellation, so the slow modes ``1 - lambda ~ 1/M`` keep full relative accuracy, which an
   ``O(1)`` matrix for ``P`` itself would lose ``M``-fold over ``M`` generations), and its
   eigenvectors follow by back substitution with the exact eigenvalue gaps.

Since ``P`` is stochastic, ``|P^b (g_S - psi c)| <= delta`` for every ``b``: every ``f_s``,
``s > S``, and every loss probability is within ``delta`` of the model, and the absorption times
within ``delta * tau`` (relative error ``delta``). For ``M <= 64`` it steps until absorbed
(``M^2 (1 - 1/M)^S / (4 (M - 1)) <= 1e-17``) and takes the times from a dense solve of
``I - Q``. Measured: ``delta`` below 5e-15 for ``M <= 1000`` and 2.5e-14 at ``M = 20000`` (a
rounding floor), ``S`` = 32-37 for ``M`` from 65 to 20000; errors <= 1.1e-15 against a
long-double chain at ``M = 150``, relative errors of the times <= 1.2e-14 against 30-digit mpmath
(``M <= 300``); built in 0.15 s at ``M = 1000``, 0.6 s at ``M = 6000`` and 0.8-1.8 s at
``M = 20000`` on 2 shared cores, then ``O(K)`` per ``(n, p)``.

The public formulas built on it are in :mod:`~modelcollapse.theory.discrete`. NumPy/SciPy only.

References
----------
Ewens, *Mathematical Population Genetics* (2004), ch. 1-3; Kemeny & Snell, *Finite Markov
Chains* (1960); Feller, "Diffusion processes in genetics", Proc. 2nd Berkeley Symp. (1951) (the
eigenvalues); Cannings, Adv. Appl. Prob. 6 (1974).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from numpy.polynomial.chebyshev import chebval
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import qr, solve_triangular
from scipy.stats import binom

from modelcollapse.spec import params as _P
from modelcollapse.spec.params import show

__all__ = [
    "MAX_DENSE_M",
    "MAX_EXACT_M",
    "binomial_band",
    "binomial_pmf_rows",
    "transition",
    "eigenvalues",
    "propagate",
    "forward_cost",
    "check_exact_M",
    "loss_probability",
    "fundamental_solutions",
    "absorption_expectation",
]

#: Largest ``M`` for which the exact chain may form dense ``(M+1) x (M+1)`` matrix powers
#: (three such matrices are held at once: about 600 MB at ``M = 5000``). Above it
#: :func:`propagate` steps the banded sparse matrix generation by generation.
MAX_DENSE_M = 6000

#: Largest ``M`` accepted by the exact chain methods (the banded transition matrix has about
#: ``9 M^1.5`` non-zeros, measured: ~0.3 GB for it and as much for its transpose at
#: ``M = 20000``). Use ``method="kimura"``/``"suresh"`` or
#: ``"diffusion"`` beyond.
MAX_EXACT_M = 20000

#: Transient mass below which the chain is treated as absorbed (later generations change the
#: returned probabilities by at most this much).
_ABSORBED_TOL = 1e-15

# Rough per-operation costs (seconds) used to choose between sparse stepping and dense
# repeated squaring and to estimate run times (forward_cost); measured on a 2-core CPU.
_COST_SPARSE_NNZ = 2.0e-9
_COST_DENSE_FLOP = 1.0e-10
_COST_PMF = 1.5e-7

# Validation of the engine's own arguments (the vocabulary's rules, and the chain's sizes).
_PM = _P.M
_Pp = _P.p
_PSTEPS = _P.n.restrict(name="s", meaning="number of generations stepped")
_PB = _P.Param("B", "number of rows propagated together", integer=True, low=1)
_PSTEPS_ARRAY = _PSTEPS.restrict(name="steps", high=float(2**53))
_MODE = _P.Choice("mode", "direction of propagate", ("forward", "backward"))
#: Largest M of eigenvalues (it returns M + 1 values).
_MAX_EIGEN_M = 10**7


def _chain_M(M: object, what: str) -> int:
    """``M`` as an ``int`` in ``[1, MAX_EXACT_M]``, or ``ValueError`` naming it."""
    Mi = int(_PM.scalar(M))
    check_exact_M(np.asarray([float(Mi)]), what)
    return Mi


# The loss model (see the module docstring).
_SMALL_M = 64  # up to this M: step until absorbed (no basis)
_K_MAX = 200  # largest polynomial degree of the Chebyshev basis
_FIT_TOL = 5e-14  # accepted sup-norm residual of the fit
_TRIM = 1e-30  # entries of f_s below this are dropped (f_s decreases in j)


def binomial_band(p: NDArray[np.float64], M: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Index range ``[lo, hi]`` outside which ``Binomial(M, p)`` has mass below ~1e-20.

    Formula: ``lo = clip(floor(M p - w), 0, M)``, ``hi = clip(ceil(M p + w), 0, M)`` with the
    half-width ``w = 10 sqrt(M p (1 - p)) + 15`` (ten standard deviations plus a margin for small
    variances).

    Parameters
    ----------
    p : array_like
        Success probabilities, reals in ``[0, 1]`` (the bounds are computed elementwise).
    M : int
        Number of trials, integer in ``[1, MAX_EXACT_M]``.

    Returns
    -------
    lo, hi : ndarray of int64
        First and last count of each band, of the shape of ``p``, with ``0 <= lo <= hi <= M``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import binomial_band
    >>> lo, hi = binomial_band(np.array([0.0, 0.5, 1.0]), 10000)
    >>> lo.tolist(), hi.tolist()
    ([0, 4485, 9985], [15, 5515, 10000])
    """
    M = _chain_M(M, "binomial_band")
    p = _Pp.array(p)
    mean = M * p
    sd = np.sqrt(M * p * (1.0 - p))
    w = 10.0 * sd + 15.0
    lo = np.clip(np.floor(mean - w), 0, M).astype(np.int64)
    hi = np.clip(np.ceil(mean + w), 0, M).astype(np.int64)
    return lo, hi


def _band_rows(p: NDArray[np.float64], M: int, jmax: int | None = None) -> sp.csr_matrix:
    """``Binomial(M, p_b)`` pmfs on their bands as a CSR ``(len(p), M + 1)``; with ``jmax``, only
    the counts ``0..jmax`` (shape ``(len(p), jmax + 1)``)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    lo, hi = binomial_band(p, M)
    if jmax is not None:
        hi = np.minimum(hi, jmax)
        lo = np.minimum(lo, jmax + 1)
    width = np.maximum(hi - lo + 1, 0)
    indptr = np.concatenate([[0], np.cumsum(width)])
    rows = np.repeat(np.arange(p.size), width)
    cols = np.repeat(lo, width) + (np.arange(rows.size) - indptr[rows])
    vals = binom.pmf(cols, M, p[rows])
    ncols = M + 1 if jmax is None else jmax + 1
    return sp.csr_matrix((vals, cols, indptr), shape=(p.size, ncols))


def binomial_pmf_rows(p: ArrayLike, M: int) -> NDArray[np.float64]:
    """Dense ``(len(p), M + 1)`` array of the ``Binomial(M, p_b)`` pmfs, one row per ``p_b``.

    Formula: row ``b`` holds ``C(M, k) p_b^k (1 - p_b)^(M-k)`` for ``k`` in the band of
    :func:`binomial_band` and 0 outside it (the omitted mass is below ~1e-20).

    Parameters
    ----------
    p : array_like
        Success probabilities, reals in ``[0, 1]`` (flattened).
    M : int
        Number of trials, integer in ``[1, MAX_EXACT_M]``.

    Returns
    -------
    ndarray, shape (p.size, M + 1)
        Row ``b`` is the pmf of ``Binomial(M, p_b)`` over the counts ``0..M``.

    Notes
    -----
    The pmf is evaluated by scipy (boost), relative accuracy ~1e-15, only on each row's band, so the
    cost is ``O(sum of band widths)`` = ``O(len(p) sqrt(M))`` evaluations.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import binomial_pmf_rows
    >>> np.round(binomial_pmf_rows([0.0, 0.5], 4), 12).tolist()
    [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0625, 0.25, 0.375, 0.25, 0.0625]]
    """
    M = _chain_M(M, "binomial_pmf_rows")
    p = np.ravel(_Pp.array(p))
    if p.size == 0:
        return np.zeros((0, M + 1))
    return np.asarray(_band_rows(p, M).toarray())


def _broadcast(**named: ArrayLike) -> tuple[int, ...]:
    """The broadcast shape of the named arrays, or ``ValueError`` naming two that do not
    broadcast: ``'n and M do not broadcast: shapes (2,) and (3,)'``."""
    shapes = {k: np.shape(v) for k, v in named.items()}
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        pass
    names = list(shapes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            try:
                np.broadcast_shapes(shapes[a], shapes[b])
            except ValueError:
                raise ValueError(
                    f"{a} and {b} do not broadcast: shapes {shapes[a]} and {shapes[b]}"
                ) from None
    listed = ", ".join(f"{k} {v}" for k, v in shapes.items())
    raise ValueError(f"{', '.join(names)} do not broadcast together: shapes {listed}")


def _row_normalised(R: sp.csr_matrix) -> sp.csr_matrix:
    rs = np.asarray(R.sum(axis=1)).ravel()
    rs[rs == 0] = 1.0
    out = sp.csr_matrix(sp.diags(1.0 / rs) @ R)
    out.sort_indices()
    return out


def transition(M: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Wright-Fisher transition matrix on ``{0..M}`` as a banded CSR matrix, and its transpose.

    Formula: ``P[j, k] = Binomial(M, j/M).pmf(k) = C(M, k) (j/M)^k (1 - j/M)^(M-k)``. Entries below
    ~1e-20 (outside :func:`binomial_band`) are dropped and the rows renormalised to sum to one.

    Parameters
    ----------
    M : int
        Samples per generation (population size), integer in ``[1, MAX_EXACT_M]``.

    Returns
    -------
    P, PT : scipy.sparse.csr_matrix
        ``P`` of shape ``(M + 1, M + 1)`` and its transpose ``P.T`` (both CSR, sorted indices).

    Notes
    -----
    The band holds ``O(M^1.5)`` non-zeros (measured: ``8.8 M^1.5`` at ``M = 500``, ``8.2 M^1.5``
    at ``M = 8000``); building it costs about 0.15 us per non-zero (3-4 s at ``M = 20000``).
    The four most recent ``M`` are cached (``functools.lru_cache``): do not modify the returned
    matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import transition
    >>> P, PT = transition(2)
    >>> np.round(P.toarray(), 12).tolist()
    [[1.0, 0.0, 0.0], [0.25, 0.5, 0.25], [0.0, 0.0, 1.0]]
    >>> (PT != P.T).nnz
    0
    """
    return _transition(_chain_M(M, "transition"))


@lru_cache(maxsize=4)
def _transition(M: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    P = _row_normalised(_band_rows(np.arange(M + 1, dtype=np.float64) / M, M))
    PT = sp.csr_matrix(P.T)
    PT.sort_indices()
    return P, PT


def _log_eigenvalues(M: int) -> NDArray[np.float64]:
    """``log lambda_k`` for ``k = 0..M``: ``sum_{i=1}^{k-1} log1p(-i/M)``."""
    out = np.zeros(M + 1)
    if M >= 2:
        with np.errstate(divide="ignore"):
            out[2:] = np.cumsum(np.log1p(-np.arange(1, M, dtype=np.float64) / M))
    return out


def eigenvalues(M: int) -> NDArray[np.float64]:
    """Eigenvalues of the Wright-Fisher transition matrix on ``{0..M}``.

    Formula: ``lambda_k = M! / ((M - k)! M^k) = prod_{i<k} (1 - i/M)``, ``k = 0..M``
    (``lambda_0 = lambda_1 = 1`` for the two absorbing states, ``lambda_2 = 1 - 1/M`` the decay
    rate of the heterozygosity). ``P`` maps the polynomials of degree ``<= k`` in the count to
    themselves, with leading coefficient ``lambda_k`` (``E[(X)_k | j] = lambda_k j^k`` for the
    falling factorial ``(X)_k``), hence the triangular structure and the eigenvalues.

    Parameters
    ----------
    M : int
        Samples per generation, integer in ``[1, 10^7]``.

    Returns
    -------
    ndarray, shape (M + 1,)
        ``lambda_0, ..., lambda_M`` (decreasing from ``lambda_1``).

    References
    ----------
    Feller (1951); Cannings, Adv. Appl. Prob. 6 (1974); Ewens (2004), sec. 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import eigenvalues, transition
    >>> np.round(eigenvalues(3), 12).tolist()       # 1, 1, 1 - 1/3, (1 - 1/3)(1 - 2/3)
    [1.0, 1.0, 0.666666666667, 0.222222222222]
    >>> bool(np.allclose(np.sort(np.linalg.eigvals(transition(3)[0].toarray()).real)[::-1],
    ...                  eigenvalues(3), atol=1e-14))
    True
    """
    Mi = int(_PM.restrict(high=float(_MAX_EIGEN_M)).scalar(M))
    return np.exp(_log_eigenvalues(Mi))


class _LazyRows:
    """Rows ``lo..hi`` of :func:`transition` ``(M)``, built on demand; a request beyond them
    rebuilds a range twice as wide (so the total cost is at most twice the final range's)."""

    def __init__(self, M: int) -> None:
        self.M = M
        self.lo, self.hi = 0, -1
        self.P = sp.csr_matrix((0, M + 1))

    def block(self, a: int, b: int) -> sp.csr_matrix:
        """Rows ``a..b`` as a CSR view (no copy of the band)."""
        if a < self.lo or b > self.hi:
            width = max(b - a + 1, 2 * (self.hi - self.lo + 1), 64)
            lo = max(0, min(a, self.lo if self.hi >= self.lo else a) - width // 2)
            hi = min(self.M, max(b, self.hi) + width // 2)
            x = np.arange(lo, hi + 1, dtype=np.float64) / self.M
            self.P, self.lo, self.hi = _row_normalised(_band_rows(x, self.M)), lo, hi
        P, a0, b0 = self.P, a - self.lo, b - self.lo
        s0, s1 = P.indptr[a0], P.indptr[b0 + 1]
        return sp.csr_matrix(
            (P.data[s0:s1], P.indices[s0:s1], P.indptr[a0 : b0 + 2] - s0),
            shape=(b - a + 1, self.M + 1),
        )


@lru_cache(maxsize=4)
def _lazy_rows(M: int) -> _LazyRows:
    """The row builder of ``M``, kept for the next forward run (four most recent ``M``)."""
    return _LazyRows(M)


def _forward_steps(
    Y: NDArray[np.float64], steps: NDArray[np.int64], out: dict[int, NDArray[np.float64]], M: int
) -> None:
    """Sparse forward stepping of the row distributions ``Y`` over their occupied band (the
    rows of ``P`` in the band are built as needed)."""
    lo_rows, hi_rows = binomial_band(np.arange(M + 1, dtype=np.float64) / M, M)
    rows = _lazy_rows(M)
    occ = np.flatnonzero(np.any(Y != 0.0, axis=0))
    a, b = (int(occ[0]), int(occ[-1])) if occ.size else (0, M)
    cur, done = 0, False
    for s in steps:
        s = int(s)
        while cur < s and not done:
            block = rows.block(a, b)
            blockT = block.T  # CSC view: a column-oriented product, no copy
            na, nb = int(lo_rows[a]), int(hi_rows[b])
            new = np.zeros_like(Y)
            for r in range(Y.shape[0]):
                new[r, na : nb + 1] = (blockT @ Y[r, a : b + 1])[na : nb + 1]
            Y = new
            # trim the ends of the band (entries below _TRIM in every row)
            big = np.flatnonzero(np.any(np.abs(Y[:, na : nb + 1]) > _TRIM, axis=0))
            if big.size:
                a, b = na + int(big[0]), na + int(big[-1])
                Y[:, :a] = 0.0
                Y[:, b + 1 :] = 0.0
            cur += 1
            if cur % 16 == 0 and M >= 2:
                if float(np.max(np.sum(Y[:, 1:-1], axis=1))) < _ABSORBED_TOL:
                    done = True
        out[s] = Y.copy()


def propagate(M: int, X: NDArray[np.float64], steps: ArrayLike, mode: str) -> dict:
    """Apply powers of the Wright-Fisher matrix to a block of rows, for several horizons at once.

    Formula: ``mode="forward"``: ``{s: X @ P^s}`` (the rows of ``X`` are distributions over the
    counts ``0..M``); ``mode="backward"``: ``{s: (P^s @ X.T).T}`` (the rows of ``X`` are functions
    of the state, e.g. ``e_0`` for the probability of being lost after ``s`` steps).

    Parameters
    ----------
    M : int
        Samples per generation, integer in ``[1, MAX_EXACT_M]`` (``P`` is :func:`transition`
        ``(M)``).
    X : ndarray, shape (B, M + 1)
        Row distributions (forward) or row functions of the state bounded by 1 in absolute value
        (backward).
    steps : array_like of int
        Horizons ``s``, integers in ``[0, 2^53]`` (duplicates are merged).
    mode : {"forward", "backward"}
        Whether to propagate distributions (``X P^s``) or functions (``P^s X``).

    Returns
    -------
    dict of int to ndarray
        For every distinct ``s`` in ``steps``, an array of shape ``(B, M + 1)``.

    Notes
    -----
    Chooses sparse stepping (cost ``~ min(s, 60 M) * nnz(P) * B``) or dense repeated squaring
    (``~ log2(s) (M + 1)^3``, only for ``M <= MAX_DENSE_M``) by an estimated cost
    (:func:`forward_cost`). Forward stepping works on the occupied band of the distributions
    only (entries below 1e-30 at its ends are dropped), so early generations of a narrow start
    are cheap. Stops early once the transient mass is below 1e-15 (later steps then change the
    results by at most that much); for long backward horizons the sparse path propagates one
    extra row, the transient indicator, to measure it.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import propagate
    >>> out = propagate(2, np.array([[0.0, 1.0, 0.0]]), [1, 2], "forward")
    >>> np.round(out[2], 12).tolist()
    [[0.375, 0.25, 0.375]]
    >>> back = propagate(2, np.array([[1.0, 0.0, 0.0]]), [3], "backward")
    >>> np.round(back[3], 12).tolist()
    [[1.0, 0.4375, 0.0]]
    """
    M = _chain_M(M, "propagate")
    mode = _MODE.check(mode)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != M + 1 or not np.all(np.isfinite(X)):
        raise ValueError(
            f"X must be a finite array of shape (B, M + 1) = (B, {M + 1}) (got shape {X.shape})"
        )
    steps = np.unique(_PSTEPS_ARRAY.array(steps).astype(np.int64))
    out: dict[int, NDArray[np.float64]] = {}
    if steps.size == 0:
        return out
    B = X.shape[0]
    cost_sparse, cost_dense = _costs(M, int(steps[-1]), B, steps)
    use_dense = M <= MAX_DENSE_M and cost_dense < cost_sparse
    Y = np.array(X, dtype=np.float64)
    if not use_dense and mode == "forward":
        _forward_steps(Y, steps, out, M)
        return out
    P, PT = transition(M)
    # operator acting on row blocks: Y -> Y @ A
    A = P if mode == "forward" else PT  # backward: (P @ Y.T).T = Y @ P.T
    smax = int(steps[-1])
    cur = 0
    if not use_dense:
        AT = P  # backward: (Y @ PT).T = P @ Y.T
        track = smax > 8 * M + 100  # early stop worth measuring
        if track:
            indicator = np.ones((1, M + 1))
            indicator[0, 0] = indicator[0, -1] = 0.0
            Y = np.concatenate([Y, indicator])
        done = False
        for s in steps:
            s = int(s)
            while cur < s and not done:
                # one sparse mat-vec per row: faster than scipy's multi-vector kernel
                Y = np.stack([AT @ y for y in Y])
                cur += 1
                if track and cur % 32 == 0 and float(np.max(Y[-1])) < _ABSORBED_TOL:
                    done = True
            out[s] = Y[:B].copy()
        return out

    # dense repeated squaring: powers[k] = A^(2^k) (as a dense array, acting on the right)
    powers = [A.toarray()]
    converged_at: int | None = None  # k such that A^(2^k) is absorbed to tolerance

    def power(k: int) -> NDArray[np.float64]:
        nonlocal converged_at
        while len(powers) <= k:
            if converged_at is not None:
                powers.append(powers[converged_at])
                continue
            nxt = powers[-1] @ powers[-1]
            powers.append(nxt)
            # transient mass of P^m (m = 2^k): forward A = P^m, backward A = (P^m)^T.
            if M >= 2:
                interior = nxt[:, 1:-1].sum(axis=1) if mode == "forward" else nxt[1:-1].sum(0)
                if np.max(interior) < _ABSORBED_TOL:
                    converged_at = len(powers) - 1
        return powers[k]

    for s in steps:
        s = int(s)
        gap = s - cur
        k = 0
        while gap > 0:
            if converged_at is not None and k > converged_at:
                # A^(2^k) equals the absorbed limit A^inf (to tolerance) for every k beyond
                # converged_at, and A^m A^inf = A^inf: one product finishes the gap.
                Y = Y @ powers[converged_at]
                break
            if gap & 1:
                Y = Y @ power(k)
            gap >>= 1
            k += 1
        cur = s
        out[s] = Y.copy()
    return out


def _nnz_estimate(M: int) -> float:
    return float(min((M + 1) ** 2, 9.0 * M**1.5 + 30.0 * (M + 1)))


def _costs(
    M: int, smax: int, B: int, steps: NDArray[np.int64] | None = None
) -> tuple[float, float]:
    """Estimated seconds of sparse stepping and of dense squaring up to horizon ``smax``."""
    smax = s_eff = min(smax, 60 * M + 100)  # beyond, the chain is absorbed (early stop)
    nnz = _nnz_estimate(M)
    cost_sparse = s_eff * nnz * B * _COST_SPARSE_NNZ
    nsq = max(1, int(math.ceil(math.log2(max(s_eff, 2)))))
    if steps is None:
        steps = np.asarray([smax], dtype=np.int64)
    gaps = np.diff(np.concatenate([[0], np.minimum(np.minimum(steps, 2**62), s_eff)]))
    pops = sum(bin(int(g)).count("1") for g in gaps)
    cost_dense = (nsq * (M + 1) ** 3 + pops * B * (M + 1) ** 2) * _COST_DENSE_FLOP
    if M > MAX_DENSE_M:
        cost_dense = math.inf
    return cost_sparse, cost_dense


def _band_nnz_steps(M: int, s: int, p: NDArray[np.float64]) -> tuple[float, float]:
    """Estimated non-zeros touched by :func:`_forward_steps` over ``s`` steps from
    ``Binomial(M, p_b)`` rows: the occupied band (the union over the rows, 12 standard
    deviations of the count, ``Var X_k = M^2 p (1 - p) (1 - (1 - 1/M)^k)``, plus ``35 k`` states
    at step ``k`` for the tail of a start near 0 or M) times the row widths,
    until the transient mass bound ``M p (1 - p) (1 - 1/M)^k`` is below 1e-15; and the widest
    band's non-zeros (the rows built)."""
    j = np.arange(M + 1, dtype=np.float64)
    width = 20.0 * np.sqrt(j * (1.0 - j / M)) + 31.0
    cum = np.concatenate([[0.0], np.cumsum(width)])
    q = p * (1.0 - p)
    with np.errstate(divide="ignore"):
        lg = math.log1p(-1.0 / M) if M > 1 else -math.inf
        # last step before the transient mass of every row is below 1e-15
        qmax = float(np.max(q))
        s_stop = (
            s
            if qmax == 0 or lg == -math.inf
            else min(s, int(math.ceil(math.log(1e-15 / (M * qmax)) / lg)) + 16)
        )
    k = np.arange(1, max(s_stop, 0) + 1, dtype=np.float64)
    decay = -np.expm1(k * lg) if M > 1 else np.ones_like(k)
    picks = np.unique([np.argmin(p), np.argmax(p), np.argmin(np.abs(p - 0.5))])
    lo = np.full(k.size, float(M))
    hi = np.zeros(k.size)
    for i in picks:
        sd = M * np.sqrt(q[i] * decay)
        # + 35 k: the long tail of a count started near an absorbing end (a Feller diffusion
        # started at c has a tail ~ exp(-2c/k), below 1e-30 only from c ~ 35 k); without it a
        # rare start (p = 1/400, M = 20000, 3000 steps) was estimated at 15 s and ran 81 s
        lo = np.minimum(lo, M * p[i] - 12.0 * sd - 35.0 * k - 20.0)
        hi = np.maximum(hi, M * p[i] + 12.0 * sd + 35.0 * k + 20.0)
    lo = np.clip(np.floor(lo), 0, M).astype(np.int64)
    hi = np.clip(np.ceil(hi), 0, M).astype(np.int64)
    per_step = cum[hi + 1] - cum[lo]
    return float(np.sum(per_step)), float(np.max(per_step, initial=0.0))


def forward_cost(M: int, s: int, B: int = 1, p: ArrayLike | None = None) -> float:
    """Estimated run time (seconds, 2-core CPU) of :func:`propagate` ``(M, X, [s], "forward")``.

    Formula: ``min(sparse, dense) + build``: ``sparse = (non-zeros touched) * B * 2e-9`` (one
    product per row and step), with ``min(s, 60 M) * nnz`` non-zeros (``nnz ~ 9 M^1.5``, the
    whole :func:`transition`), or, when the starting rows are ``Binomial(M, p_b)`` (``p`` given),
    the rows of the occupied band only (12 standard deviations of the count) until the
    transient mass is below 1e-15; ``dense = ceil(log2 s) (M + 1)^3 * 1e-10`` (repeated squaring,
    ``M <= MAX_DENSE_M`` only); plus ``1.5e-7`` s per non-zero of the rows built (the whole
    matrix, or twice the widest band; counted even when cached).

    Parameters
    ----------
    M : int
        Samples per generation, integer in ``[1, MAX_EXACT_M]``.
    s : int
        Number of generations to step, integer ``>= 0``.
    B : int
        Number of rows propagated together (default 1).
    p : array_like, optional
        Probabilities of the ``Binomial(M, p_b)`` starting rows (reals in ``[0, 1]``).

    Returns
    -------
    float
        Seconds.

    Examples
    --------
    >>> from modelcollapse.theory.wright_fisher import forward_cost
    >>> forward_cost(100, 10) < 0.01
    True
    >>> forward_cost(20000, 10**4, p=[0.5]) > 60, forward_cost(20000, 100, p=[1e-4]) < 10
    (True, True)
    """
    Mi = _chain_M(M, "forward_cost")
    si = min(int(_PSTEPS.scalar(s)), 60 * Mi + 100)  # later steps: absorbed (early stop)
    Bi = int(_PB.scalar(B))
    sparse_s, dense_s = _costs(Mi, si, Bi)
    build_sparse = build_dense = _nnz_estimate(Mi) * _COST_PMF
    if p is not None and Mi >= 2:
        pa = np.ravel(_Pp.array(p))
        if pa.size:
            touched, widest = _band_nnz_steps(Mi, si, pa)
            band_s = touched * Bi * _COST_SPARSE_NNZ
            if band_s < sparse_s:
                sparse_s, build_sparse = band_s, min(build_sparse, 2.0 * widest * _COST_PMF)
    return min(sparse_s + build_sparse, dense_s + build_dense)


def check_exact_M(M: NDArray[np.float64], what: str) -> None:
    """Raise ``ValueError`` if any ``M`` exceeds :data:`MAX_EXACT_M`, the limit of the exact chain.

    Parameters
    ----------
    M : ndarray
        Samples per generation (already validated as integers ``>= 1``).
    what : str
        Name of the calling function, quoted in the error message.

    Returns
    -------
    None
        Returns nothing when every entry is ``<= MAX_EXACT_M``.

    Raises
    ------
    ValueError
        If an entry of ``M`` is larger than ``MAX_EXACT_M`` (the message shows the entries and
        suggests an approximate method).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import check_exact_M
    >>> check_exact_M(np.array([100.0]), "my_function")
    >>> check_exact_M(np.array([100.0, 30000.0]), "my_function")
    Traceback (most recent call last):
    ...
    ValueError: M must be <= 20000 for the exact chain in my_function (got 30000.0); use an ...
    """
    big = M > MAX_EXACT_M
    if np.any(big):
        raise ValueError(
            f"M must be <= {MAX_EXACT_M} for the exact chain in {what} (got "
            f"{show(M[big])}); use an approximate method for larger M"
        )


# --------------------------------------------------------------------------------------------
# the loss model (module docstring, "The loss model")
# --------------------------------------------------------------------------------------------


def _chebyshev_basis(x: NDArray[np.float64], d: int) -> NDArray[np.float64]:
    """``psi_m(x) = T_{m+2}(2x - 1) - T_m(2x - 1)``, ``m = 0..d-1``, as ``(len(x), d)``; each
    vanishes at ``x = 0`` and ``x = 1``. Evaluated as ``cos(m theta)`` (no recurrence)."""
    theta = np.arccos(np.clip(2.0 * np.asarray(x, dtype=np.float64) - 1.0, -1.0, 1.0))
    T = np.cos(np.outer(theta, np.arange(d + 2, dtype=np.float64)))
    return T[:, 2:] - T[:, :-2]


def _psi_combination(x: NDArray[np.float64], coef: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_m coef_m psi_m(x)`` by Clenshaw's recurrence (no ``(len(x), d)`` matrix)."""
    a = np.zeros(coef.size + 2)
    a[2:] += coef
    a[:-2] -= coef
    return np.asarray(chebval(2.0 * np.asarray(x, dtype=np.float64) - 1.0, a))


def _chebyshev_nodes(M: int, count: int) -> NDArray[np.int64]:
    """About ``count`` distinct interior states ``1..M-1`` placed like Chebyshev points."""
    t = (1.0 - np.cos(np.pi * (np.arange(count) + 0.5) / count)) / 2.0
    nodes = np.unique(np.clip(np.rint(M * t), 1, M - 1).astype(np.int64))
    return nodes


def _generator(
    M: int, d: int, nodes: NDArray[np.int64], q: NDArray[np.float64], r: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The upper-triangular ``d x d`` matrix ``B`` with ``(P - I) psi_m = sum_l psi_l B[l, m]``.

    ``(P - I) psi_m`` is a polynomial of degree ``m + 2`` vanishing at both ends, so ``B`` is
    upper triangular with diagonal ``lambda_{m+2} - 1`` (set to the closed form). It is evaluated
    at the Chebyshev-distributed states ``nodes`` (``q r`` is the QR factorisation of the basis
    there) without cancellation: with ``y = 2j/M - 1`` and
    ``h = 2(k - j)/M`` (exact), ``T_n(y + h) - T_n(y) = h T_n'(y) + R_n`` where the remainder
    obeys ``R_{n+1} = 2(y + h) R_n - R_{n-1} + 2 h^2 T_n'(y)`` (``R_0 = R_1 = 0``); the first-order
    term averages to 0 under ``Binomial(M, j/M)`` (mean ``j``), so ``((P - I) T_n)(j) = E R_n``,
    a sum of terms of its own size. Relative accuracy ~1e-15: the slow modes
    (``1 - lambda ~ 1/M``) are resolved, which a matrix for ``P`` itself (``O(1)`` entries with
    absolute errors ~1e-16, amplified ``~M`` times over ``M`` generations) would not do.
    """
    R = _band_rows(nodes.astype(np.float64) / M, M)
    counts = np.diff(R.indptr)
    owner = np.repeat(np.arange(nodes.size), counts)
    y_node = 2.0 * nodes / M - 1.0
    h = 2.0 * (R.indices - nodes[owner]) / M
    two_yh = 2.0 * (y_node[owner] + h)
    two_h2 = 2.0 * h * h
    w = R.data
    starts = R.indptr[:-1]
    D = np.zeros((nodes.size, d + 2))
    U_prev, U_cur = np.zeros(nodes.size), np.ones(nodes.size)  # U_{n-2}, U_{n-1} at the nodes
    R_prev, R_cur = np.zeros(w.size), np.zeros(w.size)  # R_{n-1}, R_n
    for n in range(1, d + 1):
        R_next = two_yh * R_cur - R_prev + two_h2 * (n * U_cur)[owner]  # T_n' = n U_{n-1}
        D[:, n + 1] = np.add.reduceat(w * R_next, starts)
        R_prev, R_cur = R_cur, R_next
        U_prev, U_cur = U_cur, (2.0 * y_node * U_cur - U_prev) if n > 1 else 2.0 * y_node
    Dpsi = D[:, 2:] - D[:, :-2]
    B = np.triu(solve_triangular(r, q.T @ Dpsi))
    B[np.diag_indices(d)] = np.expm1(_log_eigenvalues(M)[2 : d + 2])
    return B


def _triangular_eigenvectors(
    B: NDArray[np.float64], loglam: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Unit upper-triangular ``V`` with ``B V = V diag(lambda - 1)`` (back substitution; the
    differences ``lambda_l - lambda_m`` from the closed form, without cancellation)."""
    d = B.shape[0]
    V = np.eye(d)
    for l in range(d - 2, -1, -1):
        gap = np.exp(loglam[l + 1 :]) * np.expm1(loglam[l] - loglam[l + 1 :])  # lam_l - lam_m
        V[l, l + 1 :] = -(B[l, l + 1 :] @ V[l + 1 :, l + 1 :]) / gap
    return V


@dataclass(frozen=True)
class _LossModel:
    """``f_s = P^s e_0`` for ``s <= S`` (exact) and the subspace model for ``s >= S``."""

    M: int
    S: int
    f: tuple[NDArray[np.float64], ...]  # f[s] on its band [0, len(f[s])), s = 0..S
    gsum: NDArray[np.float64]  # sum_{s<S} g_s on the states 0..M
    B: NDArray[np.float64]  # (P - I) on the Chebyshev basis psi, (d, d), upper triangular
    c: NDArray[np.float64]  # g_S ~ psi @ c
    V: NDArray[np.float64]  # eigenvectors of B (unit upper triangular), eigenvalues lambda - 1
    loglam: NDArray[np.float64]  # log lambda_2 .. log lambda_{d+1} (closed form)
    u: NDArray[np.float64]  # V^{-1} c
    y: NDArray[np.float64]  # (I - A)^{-1} c = -B^{-1} c: the late part of sum_s g_s
    delta: float  # sup-norm residual of the fit (the error bound)

    @property
    def d(self) -> int:
        return int(self.c.size)

    def basis_expectation(self, p: NDArray[np.float64]) -> NDArray[np.float64]:
        """``E psi_m(Binomial(M, p)/M) = (P psi_m)(p)``, ``(len(p), d)``."""
        psi = _chebyshev_basis(p, self.d)
        return psi + psi @ self.B

    def on_grid(self, coef: NDArray[np.float64]) -> NDArray[np.float64]:
        """``sum_m coef_m psi_m(j/M)`` on the states ``j = 0..M``."""
        if self.d == 0:
            return np.zeros(self.M + 1)
        return _psi_combination(np.arange(self.M + 1, dtype=np.float64) / self.M, coef)


def _expect_band(p: NDArray[np.float64], M: int, V: NDArray[np.float64]) -> NDArray[np.float64]:
    """``E V[Binomial(M, p_b), :]`` for ``V`` supported on ``[0, len(V))``: ``(len(p), ncols)``."""
    out = np.zeros((p.size, V.shape[1]))
    if p.size == 0 or V.shape[0] == 0:
        return out
    jmax = V.shape[0] - 1
    lo, _ = binomial_band(p, M)
    sel = np.flatnonzero(lo <= jmax)  # other rows put no mass on the support
    chunk = max(1, 2_000_000 // (int(10 * math.sqrt(M)) + 40))
    for a in range(0, sel.size, chunk):
        idx = sel[a : a + chunk]
        out[idx] = _band_rows(p[idx], M, jmax) @ V
    return out


@lru_cache(maxsize=8)
def _loss_model(M: int) -> _LossModel:
    x = np.arange(M + 1, dtype=np.float64) / M
    # heterozygosity bound on the transient mass: |g_s| <= M^2 (1 - 1/M)^s / (4 (M - 1)) <= 1e-17
    if M >= 2:
        s_abs = int(math.ceil(math.log(4.0 * (M - 1) * 1e-17 / M**2) / math.log1p(-1.0 / M)))
    else:
        s_abs = 0
    if M <= _SMALL_M:
        d = 0  # step until absorbed: exact, no basis
        target = s_abs
    else:
        K = min(_K_MAX, int(1.5 * math.sqrt(M)))
        d = K - 1
        # least squares at ~2d Chebyshev-distributed states (the generator and the fit of g_S;
        # the fit's residual is measured on all states)
        fit_nodes = _chebyshev_nodes(M, 2 * d)
        q, r = qr(_chebyshev_basis(fit_nodes / M, d), mode="economic")
        B = _generator(M, d, fit_nodes, q, r)
        target = int(math.ceil(70.0 * M / K**2))
    lo_rows, _ = binomial_band(x, M)
    rows = sp.csr_matrix((0, M + 1))
    f = np.zeros(M + 1)
    f[0] = 1.0
    J = 0  # f_s vanishes beyond J
    fl: list[NDArray[np.float64]] = [f[:1].copy()]
    S = 0
    first = target
    best: tuple[float, NDArray[np.float64], int] | None = None
    while True:
        while S < target:
            need = int(np.searchsorted(lo_rows, J, side="right")) - 1  # rows reaching [0, J]
            if rows.shape[0] <= need:
                top = min(M, max(2 * need, need + 64))
                rows = _row_normalised(_band_rows(x[: top + 1], M))
            new = np.zeros(M + 1)
            new[: need + 1] = rows[: need + 1] @ f
            big = np.flatnonzero(new > _TRIM)
            J = int(big[-1]) if big.size else 0
            new[J + 1 :] = 0.0
            f = new
            S += 1
            fl.append(f[: J + 1].copy())
        if d == 0:
            c, delta = np.zeros(0), 0.0
            break
        g = f - (1.0 - x)
        c = solve_triangular(r, q.T @ g[fit_nodes])
        delta = float(np.max(np.abs(_psi_combination(x, c) - g)))
        if best is None or delta < best[0]:
            best = (delta, c, S)
        if delta <= _FIT_TOL:
            break
        if S >= s_abs:  # absorbed: |g_S| is below 1e-17 everywhere
            c, delta = np.zeros(d), float(np.max(np.abs(g)))
            break
        if S >= 8 * first:
            # a rounding floor above _FIT_TOL: keep the best fit (its residual is the bound)
            delta, c, S = best
            fl = fl[: S + 1]
            break
        target *= 2
    fs = tuple(fl)
    if d == 0:
        # S = s_abs: sum_s g_s = -(I - Q)^{-1} (1 - h) on the transient states (dense solve:
        # summing ~40 M small terms would lose two digits)
        gsum = np.zeros(M + 1)
        if M >= 2:
            Q = transition(M)[0][1:M, 1:M].toarray()
            gsum[1:M] = -np.linalg.solve(np.eye(M - 1) - Q, 1.0 - x[1:M])
        return _LossModel(
            M=M,
            S=S,
            f=fs,
            gsum=gsum,
            B=np.zeros((0, 0)),
            c=np.zeros(0),
            V=np.zeros((0, 0)),
            loglam=np.zeros(0),
            u=np.zeros(0),
            y=np.zeros(0),
            delta=0.0,
        )
    # sum_{s<S} g_s on all states, summing the small g_s (no cancellation against S (1 - x)):
    # beyond the band of f_s, g_s = -(1 - x)
    gsum = np.zeros(M + 1)
    for v in fs[:S]:
        gsum[: v.size] += v - (1.0 - x[: v.size])
    sizes = np.sort(np.asarray([v.size for v in fs[:S]], dtype=np.int64))
    gsum -= np.searchsorted(sizes, np.arange(M + 1), side="right") * (1.0 - x)
    loglam = _log_eigenvalues(M)[2 : d + 2]
    V = _triangular_eigenvectors(B, loglam)
    u = solve_triangular(V, c, unit_diagonal=True)
    y = -solve_triangular(B, c)
    return _LossModel(
        M=M, S=S, f=fs, gsum=gsum, B=B, c=c, V=V, loglam=loglam, u=u, y=y, delta=delta
    )


def loss_probability(n: ArrayLike, p: ArrayLike, M: ArrayLike) -> NDArray[np.float64]:
    """Exact probability that a symbol's count is 0 at generation ``n``.

    Formula: ``P(count_n = 0) = E f_{n-1}(Binomial(M, p)) = sum_j Binomial(M, p).pmf(j) f_{n-1}(j)``
    with ``f_s = P^s e_0`` (one loss model per ``M`` serves every ``p`` and ``n``); at ``n = 0``
    it is ``1[p = 0]``.

    Parameters
    ----------
    n : array_like
        Generations, integers ``>= 0``.
    p : array_like
        Original probabilities of the symbol, in ``[0, 1]``.
    M : array_like
        Samples per generation, integers in ``[1, MAX_EXACT_M]``.

    Returns
    -------
    ndarray
        The loss probabilities, of the broadcast shape of ``n, p, M``, clipped to ``[0, 1]``.

    Notes
    -----
    For ``n - 1 <= S`` (the stepped horizon of the loss model, 35 to 150 generations for large
    ``M``) ``f_{n-1}`` is the stepped vector; beyond, ``(1 - p) + E[psi](p) A^(n-1-S) c`` with the
    closed-form eigenvalues, within the model's residual ``delta`` (see the module docstring).
    Cost: building the model (cached per ``M``; about 0.5-1 s at ``M = 20000``, milliseconds at
    ``M <= 1000``), then ``O(K)`` per ``(n, p)`` pair and ``O(sqrt(M))`` per ``p`` with ``n - 1 <=
    S``. :func:`modelcollapse.theory.discrete.extinction_probability` is the public entry point
    (with the approximate methods beside).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import loss_probability
    >>> q = loss_probability(np.array([0.0, 1.0, 2.0]), np.full(3, 0.5), np.full(3, 2.0))
    >>> np.round(q, 12).tolist()
    [0.0, 0.25, 0.375]
    """
    n, p, M = _P.n.array(n), _Pp.array(p), _PM.array(M)
    check_exact_M(M, "loss_probability")
    _broadcast(n=n, p=p, M=M)
    n, p, M = np.broadcast_arrays(n, p, M)
    out = np.empty(n.shape)
    nf, pf, Mf = n.ravel(), p.ravel(), M.ravel()
    res = out.reshape(-1)
    zero = nf == 0
    res[zero] = (pf[zero] == 0).astype(np.float64)
    for Mv in np.unique(Mf[~zero]):
        Mi = int(Mv)
        model = _loss_model(Mi)
        sel = np.flatnonzero((Mf == Mv) & ~zero)
        s = nf[sel] - 1.0  # steps after the first draw
        early = s <= model.S
        if early.any():
            ie = sel[early]
            su, sinv = np.unique(_as_int(s[early]), return_inverse=True)
            width = max(model.f[int(v)].size for v in su)
            F = np.zeros((width, su.size))
            for col, v in enumerate(su):
                fv = model.f[int(v)]
                F[: fv.size, col] = fv
            pu, pinv = np.unique(pf[ie], return_inverse=True)
            V = _expect_band(pu, Mi, F)
            res[ie] = V[pinv, sinv]
        if (~early).any():
            il = sel[~early]
            pu, pinv = np.unique(pf[il], return_inverse=True)
            G = (model.basis_expectation(pu) @ model.V) * model.u  # (P_u, d)
            bu, binv = np.unique(s[~early] - model.S, return_inverse=True)
            with np.errstate(under="ignore"):
                Lb = np.exp(bu[:, None] * model.loglam[None, :])  # (B_u, d)
            late = np.empty(il.size)
            step = max(1, 4_000_000 // max(model.d, 1))
            for a in range(0, il.size, step):
                pi, bi = pinv[a : a + step], binv[a : a + step]
                late[a : a + step] = np.einsum("ij,ij->i", G[pi], Lb[bi])
            res[il] = (1.0 - pu[pinv]) + late
    return np.clip(out, 0.0, 1.0)


def _expected_g_sum(p: NDArray[np.float64], model: _LossModel) -> NDArray[np.float64]:
    """``E sum_{s >= 0} g_s(Binomial(M, p))`` (``<= 0``): ``-E[(N (1 - h))(X_1)]``."""
    early = _expect_band(p, model.M, model.gsum[:, None])[:, 0]
    late = model.basis_expectation(p) @ model.y if model.d else np.zeros(p.size)
    return np.asarray(early + late)


def fundamental_solutions(M: int) -> NDArray[np.float64]:
    """Columns ``(N 1, N h, N (1 - h))`` of the chain's fundamental matrix, on the states ``0..M``.

    Formula: ``N = (I - Q)^{-1} = sum_{s>=0} Q^s`` with ``Q`` the restriction of the transition
    matrix to the transient states ``1..M-1`` and ``h(j) = j/M``; the columns are ``tau = N 1``
    (expected number of steps to absorption), ``N h`` and ``N (1 - h)`` (the Doob h-transform
    numerators of the conditional times to fixation and to loss). They are zero at the absorbing
    states 0 and ``M``. Computed as ``N (1 - h) = -sum_{s>=0} g_s`` with ``g_s = P^s e_0 - (1 -
    h)`` (``Q^s (1 - h) = (1 - h) - P^s e_0`` on the transient states), ``N h`` its mirror image
    ``j -> M - j``, and ``N 1`` their sum.

    Parameters
    ----------
    M : int
        Samples per generation, integer in ``[1, MAX_EXACT_M]`` (all zeros for ``M = 1``).

    Returns
    -------
    ndarray, shape (M + 1, 3)
        Column 0: ``N 1``; column 1: ``N h``; column 2: ``N (1 - h)``.

    Notes
    -----
    From the loss model of this module: the first ``S`` terms are summed exactly, the rest is
    ``psi (I - A)^{-1} c``, within ``delta * tau(j)`` (relative error ``delta``, below 5e-14).
    Exact (dense ``(I - Q)^{-1} 1``) for ``M <= 64``. About 1 s at ``M = 20000`` (the loss
    model, cached). Cached for the four most recent ``M``.

    References
    ----------
    Kemeny & Snell, *Finite Markov Chains* (1960), ch. III; Ewens (2004), sec. 4.4.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import fundamental_solutions
    >>> np.round(fundamental_solutions(2), 12).tolist()
    [[0.0, 0.0, 0.0], [2.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    >>> np.round(fundamental_solutions(3)[1], 10).tolist()
    [3.0, 1.2857142857, 1.7142857143]
    """
    return _fundamental_solutions(_chain_M(M, "fundamental_solutions")).copy()


@lru_cache(maxsize=4)
def _fundamental_solutions(M: int) -> NDArray[np.float64]:
    W = np.zeros((M + 1, 3))
    if M < 2:
        return W
    model = _loss_model(M)
    gsum = model.gsum + model.on_grid(model.y)
    gsum[0] = gsum[M] = 0.0
    W[:, 2] = 0.0 - gsum  # (no -0.0 at the absorbing states)
    W[:, 1] = W[::-1, 2]
    W[:, 0] = W[:, 1] + W[:, 2]
    return W


def absorption_expectation(p: ArrayLike, M: ArrayLike, which: int) -> NDArray[np.float64]:
    """Expectation of one fundamental solution at the first count: ``E[W_which(Binomial(M, p))]``.

    Formula: ``sum_j Binomial(M, p).pmf(j) W[j, which]`` with ``W`` from
    :func:`fundamental_solutions` ``(M)``: ``which = 0`` gives the expected number of steps after
    generation 1 until absorption, ``1`` and ``2`` the h-transform numerators for fixation and loss.

    Parameters
    ----------
    p : float or array_like
        Original probabilities of the symbol, in ``[0, 1]``.
    M : int or array_like
        Samples per generation, integers in ``[1, MAX_EXACT_M]``; broadcast against ``p``.
    which : {0, 1, 2}
        Column of :func:`fundamental_solutions`.

    Returns
    -------
    ndarray
        The expectations, of the broadcast shape of ``p`` and ``M`` (0-d for scalars).

    Notes
    -----
    Computed from the loss model without forming ``W``: with ``G(p) = E sum_s g_s(Binomial(M,
    p))``, the three expectations are ``-G(p) - G(1 - p)``, ``-G(1 - p)`` and ``-G(p)``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import absorption_expectation
    >>> np.round(absorption_expectation(np.array([0.0, 0.5]), 2, 0), 12).tolist()
    [0.0, 1.0]
    """
    if isinstance(which, bool) or which not in (0, 1, 2):
        raise ValueError(f"which must be one of (0, 1, 2) (got {show(which)})")
    pa, Ma = _Pp.array(p), _PM.array(M)
    check_exact_M(Ma, "absorption_expectation")
    _broadcast(p=pa, M=Ma)
    pb, Mb = np.broadcast_arrays(pa, Ma)
    out = np.empty(pb.shape)
    res = out.reshape(-1)
    pf, Mf = pb.ravel(), Mb.ravel()
    for Mv in np.unique(Mf):
        Mi = int(Mv)
        sel = np.flatnonzero(Mf == Mv)
        if Mi < 2:
            res[sel] = 0.0
            continue
        model = _loss_model(Mi)
        pu, pinv = np.unique(pf[sel], return_inverse=True)
        vals = np.zeros(pu.size)
        if which in (0, 2):
            vals -= _expected_g_sum(pu, model)
        if which in (0, 1):
            vals -= _expected_g_sum(1.0 - pu, model)
        res[sel] = vals[pinv]
    return out


def _as_int(x: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.asarray(x, dtype=np.int64)
