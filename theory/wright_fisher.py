"""The single-symbol Wright-Fisher chain: the categorical law engine (exact, banded, fast).

One symbol's count under the categorical refit is a Markov chain on ``{0, ..., M}``: the first
step is ``Binomial(M, p)`` from the original probability ``p``, every later step
``Binomial(M, j/M)`` from the current count ``j`` (the neutral haploid Wright-Fisher chain;
states 0 and ``M`` absorb). This module holds the machinery that computes its laws exactly:

- :func:`transition` -- the transition matrix ``P[j, k] = C(M, k) (j/M)^k (1 - j/M)^(M-k)`` as a
  banded sparse matrix (entries below ~1e-20 dropped, rows renormalised);
- :func:`binomial_pmf_rows` -- ``Binomial(M, p)`` pmfs on their bands;
- :func:`propagate` -- ``X P^s`` (forward) or ``P^s X`` (backward) for many horizons ``s``, by
  sparse stepping or dense repeated squaring, whichever its cost model says is cheaper, stopping
  once the transient mass is below 1e-15;
- :func:`loss_probability` -- ``P(count 0 at generation n)``;
- :func:`fundamental_solutions`, :func:`absorption_expectation` -- absorption times from the
  fundamental matrix ``(I - Q)^{-1}`` (banded LU solve).

The public formulas built on it are in :mod:`~modelcollapse.theory.discrete`. References:
Ewens, *Mathematical Population Genetics* (2004), ch. 1-3; Kemeny & Snell, *Finite Markov
Chains* (1960). NumPy/SciPy only.
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
#: ``20 M^1.5`` non-zeros: ~0.35 GB at ``M = 20000``). Use ``method="kimura"``/``"suresh"`` or
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
    """Index range ``[lo, hi]`` outside which ``Binomial(M, p)`` has mass below ~1e-20."""
    mean = M * p
    sd = np.sqrt(M * p * (1.0 - p))
    w = 10.0 * sd + 15.0
    lo = np.clip(np.floor(mean - w), 0, M).astype(np.int64)
    hi = np.clip(np.ceil(mean + w), 0, M).astype(np.int64)
    return lo, hi


def binomial_pmf_rows(p: NDArray[np.float64], M: int) -> NDArray[np.float64]:
    """Dense ``(len(p), M+1)`` array of ``Binomial(M, p_b)`` pmfs, evaluated (scipy/boost,
    relative accuracy ~1e-15) only on each row's band and zero outside it."""
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
    """Wright-Fisher transition matrix ``P[j, k] = Binomial(M, j/M).pmf(k)`` on ``{0..M}`` as a
    banded CSR matrix (entries below ~1e-20 dropped, rows renormalised to sum to one), and its
    transpose (CSR)."""
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
    """Apply powers of the Wright-Fisher matrix.

    ``mode="forward"``: ``X`` has shape ``(B, M+1)`` (row distributions); returns
    ``{s: X @ P^s}``. ``mode="backward"``: ``X`` has shape ``(B, M+1)`` whose rows are
    functions of the state (rows bounded by 1 in absolute value); returns
    ``{s: (P^s @ X.T).T}``. ``steps`` are integers ``>= 0``. Chooses sparse stepping or dense
    repeated squaring by estimated cost; stops early once the transient mass is below
    ``_ABSORBED_TOL`` (for long backward horizons the sparse path propagates one extra row,
    the transient indicator, to measure it).
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
    big = M > MAX_EXACT_M
    if np.any(big):
        raise ValueError(
            f"M must be <= {MAX_EXACT_M} for the exact chain in {what} (got "
            f"{show(M[big])}); use an approximate method for larger M"
        )


@lru_cache(maxsize=4)
def fundamental_solutions(M: int) -> NDArray[np.float64]:
    """Columns ``(N 1, N h, N (1-h))`` on states ``0..M`` (zero at the absorbing states), where
    ``N = (I - Q)^{-1}`` is the fundamental matrix of the transient states ``1..M-1`` and
    ``h(j) = j/M``."""
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
    """``E[W_which(Binomial(M, p))]`` for broadcast ``p, M``."""
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
    """Exact P(count 0 at generation n): ``E f_{n-1}(Binomial(M, p))`` with ``f_s = P^s e_0``."""
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
