"""Exact categorical token draws in integer arithmetic (uint32 pairs standing for 64-bit words).

A token of a categorical law with cumulative masses ``0 = C_0 <= C_1 <= ... <= C_K = C`` is the
symbol ``k`` with ``C_k <= V < C_{k+1}``, where ``V`` is uniform on ``[0, C)``. Done in float32
(a uniform on a 2^-23 grid, rounded cumulative sums) this loses every symbol whose probability is
below float32 resolution: with ``p0 = (1e-9, ...)`` the first symbol was drawn with probability
2^-23 instead of 1e-9, and many small symbols not at all. Here everything is an integer:

- the cumulative masses are 64-bit fixed-point integers, held as two uint32 words
  (``hi, lo``), since JAX has no uint64 outside x64 mode: for a float64 probability vector
  they are computed on the host in NumPy uint64, ``floor(p_i 2^62)`` summed exactly
  (:func:`cdf_thresholds`); for float32 weights in the traced program, each weight is read
  exactly from its bits and shifted to a common fixed point with a total in
  ``[2^59, 2^62)`` (:func:`weight_thresholds`); integer counts are their own masses
  (:func:`count_thresholds`);
- a token reads one Threefry-2x32 block, 64 uniform bits ``U``, and ``V = floor(U C / 2^64)``
  (:func:`mulhi64`, the high word of a 64 x 64-bit product from 16-bit limbs), so that
  ``P(C_k <= V < C_{k+1}) = (C_{k+1} - C_k) / C`` up to 2^-64;
- the symbol is the number of thresholds ``C_1 .. C_{K-1}`` that are ``<= V``, found by a
  branch-free binary search comparing the word pairs lexicographically (:func:`token_counts`).

Accuracy: the law of a token is the normalised input up to an absolute error per symbol below
2^-59 (host thresholds: 2^-62; float32 weights: each weight truncated to a unit of at most
2^-59 of the total; integer counts: exact), plus 2^-64 from ``V``. Everything is integer
arithmetic, so results do not depend on the batch shape, the device or the process.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from numpy.typing import ArrayLike, NDArray

from modelcollapse.sims.rng.threefry import materialize, threefry2x32
from modelcollapse.spec import params as P

__all__ = [
    "cdf_thresholds",
    "split_words",
    "weight_thresholds",
    "count_thresholds",
    "mulhi64",
    "token_counts",
    "token_symbols",
    "symbol_counts",
    "host_thresholds",
]

_U32 = jnp.uint32
_MASK16 = 0xFFFF


# ----------------------------------------------------------------------------- host side
def cdf_thresholds(p: ArrayLike) -> tuple[NDArray[np.uint64], int]:
    """Exact 64-bit fixed-point cumulative masses of a float64 probability vector.

    Each probability becomes ``W_i = floor(p_i 2^62)`` (exact: scaling a float64 by a power of
    two is exact, and so is the floor), and the thresholds are the integer prefix sums
    ``C_k = W_0 + ... + W_{k-1}``, ``k = 1 .. K-1``, with the total ``C = C_K`` (about 2^62).
    A token drawn as "the number of ``C_k <= V``", ``V`` uniform on ``[0, C)``, has the law
    ``p / sum(p)`` up to 2^-62 per symbol (the truncation of ``W_i``): ``p_i = 1e-9`` is drawn
    at its rate, only ``p_i < 2^-62 = 2.2e-19`` may be lost. Zero probabilities get empty
    intervals. Vectorised: instant for any K.

    Parameters
    ----------
    p : array_like
        Probabilities (K,), finite and ``>= 0``, summing to 1 within 1e-9.

    Returns
    -------
    thresholds : numpy.ndarray
        uint64 ``(K - 1,)``, non-decreasing.
    total : int
        ``C_K``, below 2^63.

    Examples
    --------
    >>> from modelcollapse.sims.rng.categorical import cdf_thresholds
    >>> thr, total = cdf_thresholds([0.25, 0.5, 0.25])
    >>> [int(t) for t in thr] == [2**60, 3 * 2**60], total == 2**62
    (True, True)
    >>> int(cdf_thresholds([1e-9, 1 - 1e-9])[0][0])       # floor(1e-9 2^62), exactly
    4611686018
    """
    arr = P.probability_vector(p, "p", ndim=1)
    w = np.floor(np.ldexp(arr, 62)).astype(np.uint64)
    cum = np.cumsum(w, dtype=np.uint64)
    return cum[:-1], int(cum[-1])


def split_words(x: NDArray[np.uint64]) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """The high and low uint32 words of uint64 values.

    Parameters
    ----------
    x : numpy.ndarray
        uint64 values.

    Returns
    -------
    tuple of numpy.ndarray
        ``(hi, lo)``, uint32, the shape of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.sims.rng.categorical import split_words
    >>> [w.tolist() for w in split_words(np.asarray([2**32 + 5], np.uint64))]
    [[1], [5]]
    """
    x = np.asarray(x, dtype=np.uint64)
    return (x >> np.uint64(32)).astype(np.uint32), (x & np.uint64(0xFFFFFFFF)).astype(np.uint32)


# ----------------------------------------------------------------------------- 64-bit words
def _add64(a: tuple[jax.Array, jax.Array], b: tuple[jax.Array, jax.Array]
           ) -> tuple[jax.Array, jax.Array]:
    """(a_hi, a_lo) + (b_hi, b_lo) modulo 2^64."""
    lo = a[1] + b[1]
    return a[0] + b[0] + (lo < a[1]).astype(_U32), lo


def _mul32(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The full 64-bit product of uint32 words, as (hi, lo), from 16-bit limbs."""
    a0, a1 = a & _U32(_MASK16), a >> _U32(16)
    b0, b1 = b & _U32(_MASK16), b >> _U32(16)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _U32(16)) + (p01 & _U32(_MASK16)) + (p10 & _U32(_MASK16))
    lo = (mid << _U32(16)) | (p00 & _U32(_MASK16))
    hi = p11 + (p01 >> _U32(16)) + (p10 >> _U32(16)) + (mid >> _U32(16))
    return hi, lo


def mulhi64(a_hi: Any, a_lo: Any, b_hi: Any, b_lo: Any) -> tuple[jax.Array, jax.Array]:
    """``floor(a b / 2^64)`` of 64-bit words given as uint32 pairs (broadcast), exactly.

    Parameters
    ----------
    a_hi, a_lo, b_hi, b_lo : array_like of uint32
        The high and low words of ``a`` and ``b``.

    Returns
    -------
    tuple of jax.Array
        ``(hi, lo)`` uint32 words of the high half of the 128-bit product.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.categorical import mulhi64
    >>> a, b = 2**64 - 1, 3 * 2**62 + 12345
    >>> w = [jnp.uint32(v) for v in (a >> 32, a & 0xFFFFFFFF, b >> 32, b & 0xFFFFFFFF)]
    >>> hi, lo = mulhi64(*w)
    >>> (int(hi) << 32 | int(lo)) == (a * b) >> 64
    True
    """
    a_hi, a_lo, b_hi, b_lo = (jnp.asarray(v, _U32) for v in (a_hi, a_lo, b_hi, b_lo))
    h0, _ = _mul32(a_lo, b_lo)
    h1, l1 = _mul32(a_lo, b_hi)
    h2, l2 = _mul32(a_hi, b_lo)
    h3, l3 = _mul32(a_hi, b_hi)
    w1 = h0 + l1
    c1 = (w1 < h0).astype(_U32)
    w1b = w1 + l2
    c1 = c1 + (w1b < w1).astype(_U32)
    w2 = l3 + h1
    c2 = (w2 < l3).astype(_U32)
    w2b = w2 + h2
    c2 = c2 + (w2b < w2).astype(_U32)
    w2c = w2b + c1
    c2 = c2 + (w2c < w2b).astype(_U32)
    return h3 + c2, w2c


def _prefix64(hi: jax.Array, lo: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Inclusive prefix sums of 64-bit words along the last axis (exact, modulo 2^64)."""
    if hi.shape[-1] <= 1:
        return hi, lo
    return lax.associative_scan(_add64, (hi, lo), axis=hi.ndim - 1)


def _halving_sum(x: jax.Array) -> jax.Array:
    """Sum over the last axis by halving (zero-padded to a power of two): a fixed order of
    float additions, so the value never depends on the batch shape."""
    width = x.shape[-1]
    full = 1 << max(0, (width - 1).bit_length())
    x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, full - width)])
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        x = x[..., :half] + x[..., half:]
    return x[..., 0]


def _thresholds(hi: jax.Array, lo: jax.Array
                ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    chi, clo = _prefix64(hi, lo)
    return chi[..., :-1], clo[..., :-1], chi[..., -1], clo[..., -1]


def weight_thresholds(w: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Exact fixed-point cumulative thresholds of float32 weights, row by row.

    Each weight ``w_i = m_i 2^(e_i)`` is read from its bits (24-bit integer ``m_i``) and
    shifted to a fixed point common to its row, ``W_i = floor(m_i 2^(e_i + s))``, with ``s``
    chosen from the row's largest exponent and a float32 estimate of the sum so that the row
    total lies in ``[2^59, 2^62)``. A draw is then exact in the weights up to one unit of
    ``W`` (at most 2^-59 of the total) per symbol; weights ``0`` get empty intervals.

    Parameters
    ----------
    w : jax.Array
        float32 ``(..., K)``: finite weights ``>= 0``, at least one ``> 0`` per row (not
        validated: traced use).

    Returns
    -------
    tuple of jax.Array
        ``(thr_hi, thr_lo)`` uint32 ``(..., K - 1)``, the cumulative sums ``C_1 .. C_{K-1}``,
        and ``(tot_hi, tot_lo)`` uint32 ``(...)``, the total ``C_K``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.categorical import weight_thresholds
    >>> th, tl, ch, cl = weight_thresholds(jnp.asarray([[1.0, 2.0**-40, 0.0, 3.0]]))
    >>> words = list(zip(th[0].tolist(), tl[0].tolist())) + [(int(ch[0]), int(cl[0]))]
    >>> c = [h << 32 | lo for h, lo in words]
    >>> c[0] == 2**58, c[1] - c[0] == 2**18, c[2] == c[1], c[3] - c[2] == 3 * 2**58
    (True, True, True, True)
    """
    w = jnp.asarray(w, jnp.float32)
    bits = lax.bitcast_convert_type(w, _U32)
    e = ((bits >> _U32(23)) & _U32(0xFF)).astype(jnp.int32)
    mant = (bits & _U32(0x7FFFFF)) | jnp.where(e > 0, _U32(0x800000), _U32(0))
    ee = jnp.maximum(e, 1)  # w = mant 2^(ee - 150), subnormals included
    pos = mant > 0
    emax = jnp.max(jnp.where(pos, ee, 1), axis=-1, keepdims=True)
    rel = ee - emax  # <= 0 where pos
    # float32 estimate of the row sum in units of 2^(emax - 150): exact powers of two from bits
    pow2 = lax.bitcast_convert_type(
        (jnp.clip(rel + 127, 0, 254).astype(_U32) << _U32(23)), jnp.float32)
    pow2 = jnp.where(rel >= -126, pow2, 0.0)
    approx = _halving_sum(jnp.where(pos, mant.astype(jnp.float32) * pow2, 0.0))
    es = (((lax.bitcast_convert_type(approx, _U32) >> _U32(23)) & _U32(0xFF)).astype(
        jnp.int32) - 127)[..., None]
    # W = mant 2^t, t = rel + 60 - es: every term < 2^(es + 1) units, so the total < 2^62
    # (the pairwise float sum is within log2(K) 2^-24 of the exact one) and >= ~2^60
    t = rel + 60 - es
    mant = jnp.where(pos, mant, _U32(0))
    up = jnp.clip(t, 0, 31).astype(_U32)
    down = jnp.clip(-t, 0, 31).astype(_U32)
    hi_up = jnp.clip(t - 32, 0, 31).astype(_U32)
    hi = jnp.where(t >= 32, mant << hi_up,
                   jnp.where(t > 0, mant >> jnp.clip(32 - t, 1, 31).astype(_U32), _U32(0)))
    lo = jnp.where(t >= 32, _U32(0),
                   jnp.where(t >= 0, mant << up, jnp.where(t > -32, mant >> down, _U32(0))))
    if w.size:  # one buffer: fused into the prefix sum's many slices, it is recomputed (4x)
        hi, lo = materialize((hi, lo), bits.reshape(-1)[0])
    return _thresholds(hi, lo)


def count_thresholds(counts: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Cumulative thresholds of integer counts (resampling the tokens uniformly), exactly.

    Parameters
    ----------
    counts : jax.Array
        int32 ``(..., K)``, ``>= 0``, row totals below 2^31.

    Returns
    -------
    tuple of jax.Array
        As :func:`weight_thresholds`: ``(thr_hi, thr_lo, tot_hi, tot_lo)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.categorical import count_thresholds
    >>> th, tl, ch, cl = count_thresholds(jnp.asarray([[3, 0, 2]]))
    >>> tl.tolist(), int(cl[0]), int(ch[0])
    ([[3, 3]], 5, 0)
    """
    c = jnp.cumsum(counts.astype(jnp.int32), axis=-1).astype(_U32)
    zero = jnp.zeros_like(c)
    return zero[..., :-1], c[..., :-1], zero[..., -1], c[..., -1]


# ----------------------------------------------------------------------------- draws
def _search(thr_hi: jax.Array, thr_lo: jax.Array, v_hi: jax.Array, v_lo: jax.Array
            ) -> jax.Array:
    """Number of thresholds ``<= v`` (rows: ``thr`` (n, T), ``v`` (n, m)): a branch-free binary
    search, one level per loop iteration (a rolled loop: unrolled, XLA:CPU fuses and repeats
    the gathers), reading the flattened tables with in-bounds gathers (indices are clamped to
    ``[0, T - 1]``; the "fill" mode's masking costs more than the search)."""
    n_rows, n_t = thr_hi.shape
    pos = jnp.zeros(v_hi.shape, jnp.int32)
    if n_t == 0:
        return pos
    levels = n_t.bit_length()
    flat_hi, flat_lo = thr_hi.reshape(-1), thr_lo.reshape(-1)
    base = (jnp.arange(n_rows, dtype=jnp.int32) * n_t - 1)[:, None]

    def level(i: jax.Array, pos: jax.Array) -> jax.Array:
        cand = pos + (jnp.int32(1) << (levels - 1 - i))
        idx = jnp.minimum(cand, n_t) + base
        th = flat_hi.at[idx].get(mode="promise_in_bounds")
        tl = flat_lo.at[idx].get(mode="promise_in_bounds")
        le = (th < v_hi) | ((th == v_hi) & (tl <= v_lo))
        return jnp.where((cand <= n_t) & le, cand, pos)

    return lax.fori_loop(0, levels, level, pos)


def token_counts(k0: jax.Array, k1: jax.Array, g: Any, m: int,
                 thresholds: tuple[jax.Array, jax.Array, jax.Array, jax.Array]) -> jax.Array:
    """Counts of ``m`` tokens per row drawn from cumulative thresholds, exactly.

    Token ``j`` of row ``i`` reads the Threefry-2x32 block ``(g, j)`` under the row's key words
    ``(k0[i], k1[i])``: 64 uniform bits ``U``; ``V = floor(U C / 2^64)`` with ``C`` the row
    total, and the symbol is the number of thresholds ``<= V``.

    Parameters
    ----------
    k0, k1 : jax.Array
        uint32 ``(n,)``: key words of the rows.
    g : array_like
        uint32 scalar: first counter word of every block (the generation).
    m : int
        Tokens per row (static).
    thresholds : tuple of jax.Array
        ``(thr_hi, thr_lo, tot_hi, tot_lo)`` of :func:`weight_thresholds`,
        :func:`count_thresholds` or :func:`cdf_thresholds` (broadcast to ``(n, K - 1)`` and
        ``(n,)``).

    Returns
    -------
    jax.Array
        int32 ``(n, K)`` counts; each row sums to ``m``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.categorical import token_counts, weight_thresholds
    >>> from modelcollapse.sims.rng.threefry import chain_words
    >>> w = chain_words(jax.random.key(0), jnp.arange(2, dtype=jnp.uint32))
    >>> thr = weight_thresholds(jnp.asarray([[1.0, 0.0, 1.0], [0.0, 0.0, 5.0]]))
    >>> c = token_counts(w[:, 0], w[:, 1], jnp.uint32(1), 1000, thr)
    >>> c.sum(axis=1).tolist(), int(c[0, 1]), c[1].tolist()
    ([1000, 1000], 0, [0, 0, 1000])
    """
    K = thresholds[0].shape[-1] + 1
    return symbol_counts(token_symbols(k0, k1, g, m, thresholds), K)


def token_symbols(k0: jax.Array, k1: jax.Array, g: Any, m: int,
                  thresholds: tuple[jax.Array, jax.Array, jax.Array, jax.Array]) -> jax.Array:
    """The symbols of ``m`` tokens per row drawn from cumulative thresholds, exactly.

    The draws of :func:`token_counts` before they are counted: token ``j`` of row ``i`` reads
    the Threefry-2x32 block ``(g, j)`` under ``(k0[i], k1[i])``, so the first ``m'`` tokens of
    a draw of ``m >= m'`` are those of a draw of ``m'`` (a draw of fewer points is a prefix).

    Parameters
    ----------
    k0, k1 : jax.Array
        uint32 ``(n,)``: key words of the rows.
    g : array_like
        uint32 scalar: first counter word of every block (the generation).
    m : int
        Tokens per row (static).
    thresholds : tuple of jax.Array
        As for :func:`token_counts`.

    Returns
    -------
    jax.Array
        int32 ``(n, m)`` symbol indices in ``[0, K)``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.categorical import token_symbols, weight_thresholds
    >>> from modelcollapse.sims.rng.threefry import chain_words
    >>> w = chain_words(jax.random.key(0), jnp.arange(2, dtype=jnp.uint32))
    >>> thr = weight_thresholds(jnp.asarray([[0.0, 1.0, 0.0], [0.0, 0.0, 5.0]]))
    >>> token_symbols(w[:, 0], w[:, 1], jnp.uint32(1), 4, thr).tolist()
    [[1, 1, 1, 1], [2, 2, 2, 2]]
    """
    thr_hi, thr_lo, tot_hi, tot_lo = thresholds
    n = k0.shape[0]
    K = thr_hi.shape[-1] + 1
    thr_hi = jnp.broadcast_to(thr_hi, (n, K - 1))
    thr_lo = jnp.broadcast_to(thr_lo, (n, K - 1))
    tot_hi = jnp.broadcast_to(tot_hi, (n,))[:, None]
    tot_lo = jnp.broadcast_to(tot_lo, (n,))[:, None]
    j = jnp.arange(m, dtype=_U32)[None, :]
    u_hi, u_lo = threefry2x32(k0[:, None], k1[:, None], jnp.asarray(g, _U32), j)
    v_hi, v_lo = mulhi64(u_hi, u_lo, tot_hi, tot_lo)
    return _search(thr_hi, thr_lo, v_hi, v_lo)


def symbol_counts(symbols: jax.Array, K: int, mask: jax.Array | None = None) -> jax.Array:
    """Counts per row of the symbols ``symbols`` (n, m) in ``[0, K)`` where ``mask`` is true.

    Parameters
    ----------
    symbols : jax.Array
        int32 ``(n, m)`` symbol indices in ``[0, K)`` (not validated: traced use).
    K : int
        Number of symbols (static).
    mask : jax.Array, optional
        bool, broadcastable to ``symbols``: which entries count (default all).

    Returns
    -------
    jax.Array
        int32 ``(n, K)``: row ``i`` counts the symbols of its kept entries.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.categorical import symbol_counts
    >>> s = jnp.asarray([[0, 2, 2, 1], [1, 1, 0, 0]])
    >>> symbol_counts(s, 3).tolist(), symbol_counts(s, 3, s < 2).tolist()
    ([[1, 1, 2], [2, 2, 0]], [[1, 1, 0], [2, 2, 0]])
    """
    n = symbols.shape[0]
    sym = symbols + (jnp.arange(n, dtype=jnp.int32) * K)[:, None]
    one = jnp.int32(1) if mask is None else jnp.broadcast_to(mask, symbols.shape).astype(
        jnp.int32).reshape(-1)
    return jnp.zeros((n * K,), jnp.int32).at[sym.reshape(-1)].add(
        one, mode="promise_in_bounds").reshape(n, K)


def host_thresholds(p: ArrayLike) -> tuple[NDArray[np.uint32], ...]:
    """:func:`cdf_thresholds` as the uint32 words ``(thr_hi, thr_lo, tot_hi, tot_lo)``.

    Parameters
    ----------
    p : array_like
        Probabilities (K,), as for :func:`cdf_thresholds`.

    Returns
    -------
    tuple of numpy.ndarray
        ``thr_hi, thr_lo`` uint32 ``(K - 1,)`` and the total as ``tot_hi, tot_lo`` (uint32
        0-d arrays): the arguments of :func:`token_counts` (broadcast to the rows).

    Examples
    --------
    >>> from modelcollapse.sims.rng.categorical import host_thresholds
    >>> th, tl, ch, cl = host_thresholds([0.5, 0.5])
    >>> th.tolist(), tl.tolist(), int(ch), int(cl)
    ([536870912], [0], 1073741824, 0)
    """
    thr, total = cdf_thresholds(p)
    hi, lo = split_words(thr)
    tot_hi, tot_lo = split_words(np.asarray(total, np.uint64))
    return hi, lo, tot_hi, tot_lo
