"""The single-symbol Wright-Fisher chain: the categorical law engine (exact, banded, fast).

One symbol's count under the categorical refit is a Markov chain on ``{0, ..., M}``: the first
step is ``Binomial(M, p)`` from the original probability ``p``, every later step
``Binomial(M, j/M)`` from the current count ``j`` (the neutral haploid Wright-Fisher chain;
states 0 and ``M`` absorb). This module holds the machinery that computes its laws exactly:

- :func:`transition` -- the transition matrix ``P[j, k] = C(M, k) (j/M)^k (1 - j/M)^(M-k)`` as a
  banded sparse matrix (entries below ~1e-20 dropped, rows renormalised);
- :func:`binomial_band`, :func:`binomial_pmf_rows` -- ``Binomial(M, p)`` pmfs on their bands;
- :func:`propagate` -- ``X P^s`` (forward) or ``P^s X`` (backward) for many horizons ``s``, by
  sparse stepping or dense repeated squaring, whichever its cost model says is cheaper, stopping
  once the transient mass is below 1e-15;
- :func:`loss_probability` -- ``P(count 0 at generation n)``;
- :func:`fundamental_solutions`, :func:`absorption_expectation` -- absorption times from the
  fundamental matrix ``(I - Q)^{-1}`` (banded LU solve);
- :func:`check_exact_M` -- the size limit :data:`MAX_EXACT_M` of the exact methods
  (:data:`MAX_DENSE_M` bounds dense matrix powers).

The public formulas built on it are in :mod:`~modelcollapse.theory.discrete`. NumPy/SciPy only.

References
----------
Ewens, *Mathematical Population Genetics* (2004), ch. 1-3; Kemeny & Snell, *Finite Markov
Chains* (1960).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.linalg import solve_banded
from scipy.stats import binom

from modelcollapse.spec.params import show

__all__ = [
    "MAX_DENSE_M",
    "MAX_EXACT_M",
    "binomial_band",
    "binomial_pmf_rows",
    "transition",
    "propagate",
    "check_exact_M",
    "loss_probability",
    "fundamental_solutions",
    "absorption_expectation",
]

#: Largest ``M`` for which the exact chain may form dense ``(M+1) x (M+1)`` matrix powers
#: (three such matrices are held at once: about 600 MB at ``M = 5000``). Above it the exact
#: methods step the banded sparse matrix generation by generation (slow for ``n >> M``).
MAX_DENSE_M = 6000

#: Largest ``M`` accepted by the exact chain methods (the banded transition matrix has about
#: ``9 M^1.5`` non-zeros, measured: ~0.3 GB for it and as much for its transpose at
#: ``M = 20000``). Use ``method="kimura"``/``"suresh"`` or
#: ``"diffusion"`` beyond.
MAX_EXACT_M = 20000

#: Transient mass below which the chain is treated as absorbed (later generations change the
#: returned probabilities by at most this much).
_ABSORBED_TOL = 1e-15

# Rough per-operation costs (seconds) used only to choose between sparse stepping and dense
# repeated squaring; measured on a 2-core CPU.
_COST_SPARSE_NNZ = 4.0e-9
_COST_DENSE_FLOP = 1.0e-10


def binomial_band(p: NDArray[np.float64], M: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Index range ``[lo, hi]`` outside which ``Binomial(M, p)`` has mass below ~1e-20.

    Formula: ``lo = clip(floor(M p - w), 0, M)``, ``hi = clip(ceil(M p + w), 0, M)`` with the
    half-width ``w = 10 sqrt(M p (1 - p)) + 15`` (ten standard deviations plus a margin for small
    variances).

    Parameters
    ----------
    p : ndarray
        Success probabilities, reals in ``[0, 1]`` (a NumPy array: the bounds are computed
        elementwise; not validated).
    M : int
        Number of trials, integer ``>= 1``.

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
    mean = M * p
    sd = np.sqrt(M * p * (1.0 - p))
    w = 10.0 * sd + 15.0
    lo = np.clip(np.floor(mean - w), 0, M).astype(np.int64)
    hi = np.clip(np.ceil(mean + w), 0, M).astype(np.int64)
    return lo, hi


def binomial_pmf_rows(p: NDArray[np.float64], M: int) -> NDArray[np.float64]:
    """Dense ``(len(p), M + 1)`` array of the ``Binomial(M, p_b)`` pmfs, one row per ``p_b``.

    Formula: row ``b`` holds ``C(M, k) p_b^k (1 - p_b)^(M-k)`` for ``k`` in the band of
    :func:`binomial_band` and 0 outside it (the omitted mass is below ~1e-20).

    Parameters
    ----------
    p : array_like
        Success probabilities, reals in ``[0, 1]`` (flattened; not validated).
    M : int
        Number of trials, integer ``>= 1``.

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
    p = np.asarray(p, dtype=np.float64).ravel()
    out = np.zeros((p.size, M + 1))
    if p.size == 0:
        return out
    lo, hi = binomial_band(p, M)
    width = hi - lo + 1
    rows = np.repeat(np.arange(p.size), width)
    starts = np.repeat(np.cumsum(width) - width, width)
    cols = np.repeat(lo, width) + (np.arange(rows.size) - starts)
    out[rows, cols] = binom.pmf(cols, M, p[rows])
    return out


@lru_cache(maxsize=4)
def transition(M: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Wright-Fisher transition matrix on ``{0..M}`` as a banded CSR matrix, and its transpose.

    Formula: ``P[j, k] = Binomial(M, j/M).pmf(k) = C(M, k) (j/M)^k (1 - j/M)^(M-k)``. Entries below
    ~1e-20 (outside :func:`binomial_band`) are dropped and the rows renormalised to sum to one.

    Parameters
    ----------
    M : int
        Samples per generation (population size), integer ``>= 1``.

    Returns
    -------
    P, PT : scipy.sparse.csr_matrix
        ``P`` of shape ``(M + 1, M + 1)`` and its transpose ``P.T`` (both CSR, sorted indices).

    Notes
    -----
    The band holds ``O(M^1.5)`` non-zeros (measured: ``8.8 M^1.5`` at ``M = 500``, ``8.2 M^1.5``
    at ``M = 8000``). The four most recent ``M`` are
    cached (``functools.lru_cache``): do not modify the returned matrices.

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
    j = np.arange(M + 1, dtype=np.float64)
    p = j / M
    lo, hi = binomial_band(p, M)
    width = hi - lo + 1
    rows = np.repeat(np.arange(M + 1), width)
    starts = np.repeat(np.cumsum(width) - width, width)
    cols = np.repeat(lo, width) + (np.arange(rows.size) - starts)
    vals = binom.pmf(cols, M, p[rows])
    keep = vals > 0
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    P = sp.csr_matrix((vals, (rows, cols)), shape=(M + 1, M + 1))
    rs = np.asarray(P.sum(axis=1)).ravel()
    P = sp.csr_matrix(sp.diags(1.0 / rs) @ P)
    P.sort_indices()
    PT = sp.csr_matrix(P.T)
    PT.sort_indices()
    return P, PT


def _absorbed_rows(Y: NDArray[np.float64], mode: str) -> float:
    """Upper bound on how much the propagated quantity can still change (transient mass)."""
    if mode == "forward":  # rows are distributions over {0..M}
        return float(np.max(np.sum(Y[:, 1:-1], axis=1))) if Y.shape[1] > 2 else 0.0
    # backward: the last row is P^s 1_{1..M-1}, the probability of still being in a transient
    # state (no cancellation, unlike 1 - P(lost) - P(fixed))
    return float(np.max(Y[-1]))


def propagate(M: int, X: NDArray[np.float64], steps: NDArray[np.int64], mode: str) -> dict:
    """Apply powers of the Wright-Fisher matrix to a block of rows, for several horizons at once.

    Formula: ``mode="forward"``: ``{s: X @ P^s}`` (the rows of ``X`` are distributions over the
    counts ``0..M``); ``mode="backward"``: ``{s: (P^s @ X.T).T}`` (the rows of ``X`` are functions
    of the state, e.g. ``e_0`` for the probability of being lost after ``s`` steps).

    Parameters
    ----------
    M : int
        Samples per generation, integer ``>= 1`` (``P`` is :func:`transition` ``(M)``).
    X : ndarray, shape (B, M + 1)
        Row distributions (forward) or row functions of the state bounded by 1 in absolute value
        (backward).
    steps : array_like of int
        Horizons ``s``, integers ``>= 0`` (duplicates are merged).
    mode : {"forward", "backward"}
        Whether to propagate distributions (``X P^s``) or functions (``P^s X``).

    Returns
    -------
    dict of int to ndarray
        For every distinct ``s`` in ``steps``, an array of shape ``(B, M + 1)``.

    Notes
    -----
    Chooses sparse stepping (cost ``~ min(s, 60 M) * nnz(P) * B``, one sparse product per row and
    step) or dense repeated squaring (``~ log2(s) (M + 1)^3``, only for ``M <= MAX_DENSE_M``) by
    an estimated cost. Stops early once the transient mass is below 1e-15 (later steps then change
    the results by at most that much); for long backward horizons the sparse path propagates one
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
    steps = np.unique(np.asarray(steps, dtype=np.int64))
    out: dict[int, NDArray[np.float64]] = {}
    if steps.size == 0:
        return out
    P, PT = transition(M)
    # operator acting on row blocks: Y -> Y @ A
    A = P if mode == "forward" else PT  # backward: (P @ Y.T).T = Y @ P.T
    smax = int(steps[-1])
    B = X.shape[0]
    s_eff = min(smax, 60 * M + 100)
    cost_sparse = s_eff * A.nnz * B * _COST_SPARSE_NNZ
    nsq = max(1, int(math.ceil(math.log2(max(s_eff, 2)))))
    gaps = np.diff(np.concatenate([[0], np.minimum(steps, s_eff)]))
    pops = sum(bin(int(g)).count("1") for g in gaps)
    cost_dense = (nsq * (M + 1) ** 3 + pops * B * (M + 1) ** 2) * _COST_DENSE_FLOP
    use_dense = M <= MAX_DENSE_M and cost_dense < cost_sparse

    Y = np.array(X, dtype=np.float64)
    cur = 0
    if not use_dense:
        AT = P if mode == "backward" else PT  # (Y @ A).T = A.T @ Y.T
        track = mode == "forward" or smax > 8 * M + 100  # early stop worth measuring
        if mode == "backward" and track:
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
                if track and cur % 32 == 0 and _absorbed_rows(Y, mode) < _ABSORBED_TOL:
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


@lru_cache(maxsize=4)
def fundamental_solutions(M: int) -> NDArray[np.float64]:
    """Columns ``(N 1, N h, N (1 - h))`` of the chain's fundamental matrix, on the states ``0..M``.

    Formula: ``N = (I - Q)^{-1}`` with ``Q`` the restriction of the transition matrix to the
    transient states ``1..M-1`` and ``h(j) = j/M``; the columns are ``tau = N 1`` (expected number
    of steps to absorption), ``N h`` and ``N (1 - h)`` (the Doob h-transform numerators of the
    conditional times to fixation and to loss). They are zero at the absorbing states 0 and ``M``.

    Parameters
    ----------
    M : int
        Samples per generation, integer ``>= 1`` (all zeros for ``M = 1``).

    Returns
    -------
    ndarray, shape (M + 1, 3)
        Column 0: ``N 1``; column 1: ``N h``; column 2: ``N (1 - h)``.

    Notes
    -----
    One banded LU solve (``scipy.linalg.solve_banded``) of ``I - Q`` for the three right-hand
    sides; fast for ``M`` in the thousands. Cached for the four most recent ``M``.

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
    W = np.zeros((M + 1, 3))
    if M < 2:
        return W
    P, _ = transition(M)
    Q = P[1:M, 1:M].tocoo()
    m = M - 1
    A = sp.identity(m, format="coo") - Q
    A = A.tocoo()
    lower = int(max(0, np.max(A.row - A.col)))
    upper = int(max(0, np.max(A.col - A.row)))
    ab = np.zeros((lower + upper + 1, m))
    np.add.at(ab, (upper + A.row - A.col, A.col), A.data)
    j = np.arange(1, M, dtype=np.float64)
    rhs = np.stack([np.ones(m), j / M, 1.0 - j / M], axis=1)
    W[1:M] = solve_banded((lower, upper), ab, rhs)
    return W


def absorption_expectation(p, M, which: int) -> NDArray[np.float64]:
    """Expectation of one fundamental solution at the first count: ``E[W_which(Binomial(M, p))]``.

    Formula: ``sum_j Binomial(M, p).pmf(j) W[j, which]`` with ``W`` from
    :func:`fundamental_solutions` ``(M)``: ``which = 0`` gives the expected number of steps after
    generation 1 until absorption, ``1`` and ``2`` the h-transform numerators for fixation and loss.

    Parameters
    ----------
    p : float or array_like
        Original probabilities of the symbol, in ``[0, 1]`` (not validated).
    M : int or array_like
        Samples per generation, integers in ``[1, MAX_EXACT_M]``; broadcast against ``p``.
    which : {0, 1, 2}
        Column of :func:`fundamental_solutions`.

    Returns
    -------
    ndarray
        The expectations, of the broadcast shape of ``p`` and ``M`` (0-d for scalars).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import absorption_expectation
    >>> np.round(absorption_expectation(np.array([0.0, 0.5]), 2, 0), 12).tolist()
    [0.0, 1.0]
    """
    pb, Mb = np.broadcast_arrays(p, M)
    out = np.empty(pb.shape)
    res = out.reshape(-1)
    pf, Mf = pb.ravel(), Mb.ravel()
    for Mv in np.unique(Mf):
        Mi = int(Mv)
        sel = np.flatnonzero(Mf == Mv)
        W = fundamental_solutions(Mi)[:, which]
        pu, pinv = np.unique(pf[sel], return_inverse=True)
        chunk = max(1, 4_000_000 // (Mi + 1))
        vals = np.concatenate(
            [binomial_pmf_rows(pu[a : a + chunk], Mi) @ W for a in range(0, pu.size, chunk)]
        )
        res[sel] = vals[pinv]
    return out


def loss_probability(n: NDArray[np.float64], p: NDArray[np.float64], M: NDArray[np.float64]):
    """Exact probability that a symbol's count is 0 at generation ``n``.

    Formula: ``P(count_n = 0) = E f_{n-1}(Binomial(M, p)) = sum_j Binomial(M, p).pmf(j) f_{n-1}(j)``
    with ``f_s = P^s e_0`` (one backward :func:`propagate` per ``M`` serves every ``p`` and ``n``);
    at ``n = 0`` it is ``1[p = 0]``.

    Parameters
    ----------
    n : ndarray
        Generations, integers ``>= 0`` (float array).
    p : ndarray
        Original probabilities of the symbol, in ``[0, 1]``, of the shape of ``n``.
    M : ndarray
        Samples per generation, integers in ``[1, MAX_EXACT_M]``, of the shape of ``n``.

    Returns
    -------
    float or ndarray
        The loss probabilities, of the shape of ``n``, clipped to ``[0, 1]``.

    Notes
    -----
    The arguments must already be validated and broadcast to one shape (as done by
    :func:`modelcollapse.theory.discrete.extinction_probability`, the public entry point).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory.wright_fisher import loss_probability
    >>> q = loss_probability(np.array([0.0, 1.0, 2.0]), np.full(3, 0.5), np.full(3, 2.0))
    >>> np.round(q, 12).tolist()
    [0.0, 0.25, 0.375]
    """
    out = np.empty(n.shape)
    nf, pf, Mf = n.ravel(), p.ravel(), M.ravel()
    res = out.reshape(-1)
    zero = nf == 0
    res[zero] = (pf[zero] == 0).astype(np.float64)
    for Mv in np.unique(Mf[~zero]):
        Mi = int(Mv)
        sel = np.flatnonzero((Mf == Mv) & ~zero)
        X = np.zeros((1, Mi + 1))
        X[0, 0] = 1.0
        svals = _as_int(nf[sel] - 1)
        su, sinv = np.unique(svals, return_inverse=True)
        res_s = propagate(Mi, X, su, "backward")
        F = np.stack([res_s[int(s)][0] for s in su], axis=1)  # (M+1, S)
        pu, pinv = np.unique(pf[sel], return_inverse=True)
        chunk = max(1, 4_000_000 // (Mi + 1))
        for a in range(0, pu.size, chunk):
            rows = binomial_pmf_rows(pu[a : a + chunk], Mi)
            V = rows @ F  # (chunk, S)
            m = (pinv >= a) & (pinv < a + chunk)
            res[sel[m]] = V[pinv[m] - a, sinv[m]]
    return np.clip(out, 0.0, 1.0)


def _as_int(x: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.asarray(x, dtype=np.int64)
