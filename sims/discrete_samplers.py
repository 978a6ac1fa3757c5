"""Exact, vectorised binomial and multinomial samplers in JAX (float32 arithmetic, int32 counts).

Why our own samplers: ``jax.random.binomial`` draws about 1-3 M variates/s on this CPU, too slow
for Wright-Fisher runs with K up to 1e5 symbols and M up to 1e6 tokens per generation. The
samplers here are exact in law (up to float32 rounding, see below) and vectorised:

* ``binomial(key, n, p, shape=None)``: X ~ Binomial(n, p), P(X = k) = C(n, k) p^k (1 - p)^(n - k).
  With q = min(p, 1 - p) and lam = n q (a draw for p > 1/2 is n - Binomial(n, 1 - p)):

  - lam < 10: sequential inversion, k = #{j : F(j) <= u} with F the cdf built by the recursion
    f(j + 1) = f(j) (n - j) / (j + 1) * q / (1 - q), f(0) = (1 - q)^n. All elements take the
    first 8 terms in lock-step; the unfinished ones are gathered and walk on (again from j = 0
    with the same u, 4 terms per round) in a compacted loop, so no truncation is ever made. If
    rounding leaves F(n) <= u (or f underflows) the walk restarts with a fresh u (the law is
    then the float cdf renormalised).
  - lam >= 10: Hormann's transformed rejection with squeeze, BTRS (W. Hormann, "The generation of
    binomial random variates", J. Statist. Comput. Simul. 46 (1993) 101-110). One vectorised
    attempt for every element, then the rejected elements are gathered into a batch of static
    size (prefix sum by a triangular matmul: ``jnp.nonzero``/``cumsum`` are slow on XLA:CPU)
    and retried there, compacting once more, until all are accepted. The
    acceptance test log v <= log f(k)/f(m) uses a cancellation-free form of the pmf ratio (linear
    parts of log1p taken out analytically, log1p(x) - x by an atanh series) so that float32 gives
    about 1e-6 absolute accuracy on the log ratio even at n = 1e6.

* ``multinomial(key, n, p)``: counts (X_1..X_K) ~ Multinomial(n, p) by a balanced binary
  splitting tree: a node holding N draws over the symbol range [a, b) with mass P = P_left +
  P_right sends Binomial(N, P_left / P) to its left half and the rest to the right half. Each of
  the ceil(log2 K) levels is one vectorised binomial call over all the nodes of the level; the
  binomial is always drawn for the lighter half (probability <= 1/2, no 1 - p rounding), and
  the subtree masses are pairwise sums (relative accuracy kept for tiny probabilities).

Randomness: each row of a batch owns a 64-bit seed (``seed_from_key`` turns a JAX key of any
implementation into one). Element j of a row, on attempt a of stream s, uses the 64 bits
Threefry-2x32-20(seed; counter = (j, s * 2^16 + a)) -- a counter-based generator written here
from the Random123 specification (Salmon et al., SC'11), fused by XLA with the sampler (measured
2-3x the throughput of ``jax.random.bits`` on this CPU). A draw therefore depends only on its own
(seed, j, stream), never on the batch it was computed in: results are bit-identical whatever
the batching, chunking or device count.

Accuracy: internal arithmetic is float32 (also under ``jax_enable_x64``); n must be an integer
<= 2**24 (exactly representable). The algorithms are exact; rounding perturbs the pmf by a
relative amount of order 1e-6 (inversion: the float cdf; BTRS: proposal quantisation of 2^-24
and the log ratio), far below what any feasible goodness-of-fit test resolves.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = [
    "binomial",
    "multinomial",
    "seed_from_key",
    "threefry2x32",
    "binomial_rows",
    "multinomial_rows",
    "SplitTree",
    "split_tree",
    "INVERSION_THRESHOLD",
    "MAX_N",
]

INVERSION_THRESHOLD = 10.0
"""Below this value of lam = n min(p, 1 - p) the inversion path is used, BTRS above."""

MAX_N = 2**24
"""Largest supported number of trials (exactly representable in float32)."""

_F32 = jnp.float32
_U32 = jnp.uint32

# ---------------------------------------------------------------------------------------------
# Counter-based random bits: Threefry-2x32 with 20 rounds (Random123 specification).
# ---------------------------------------------------------------------------------------------
_ROT = (13, 15, 26, 6, 17, 29, 16, 24)
_PARITY = 0x1BD11BDA


def _rotl(x: jax.Array, r: int) -> jax.Array:
    return (x << _U32(r)) | (x >> _U32(32 - r))


def threefry2x32(k0, k1, x0, x1) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32-20 block cipher: 64 random bits from key (k0, k1) and counter (x0, x1).

    All arguments are uint32 arrays (broadcast together). Five groups of four add-rotate-xor
    rounds with rotation constants (13, 15, 26, 6) / (17, 29, 16, 24) and a key injection after
    each group (key schedule k2 = k0 ^ k1 ^ 0x1BD11BDA). Reference: J. Salmon, M. Moraes,
    R. Dror, D. Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11.
    """
    k0 = jnp.asarray(k0, _U32)
    k1 = jnp.asarray(k1, _U32)
    ks = (k0, k1, k0 ^ k1 ^ _U32(_PARITY))
    y0 = jnp.asarray(x0, _U32) + k0
    y1 = jnp.asarray(x1, _U32) + k1
    for group in range(5):
        for j in range(4):
            y0 = y0 + y1
            y1 = _rotl(y1, _ROT[(group % 2) * 4 + j]) ^ y0
        y0 = y0 + ks[(group + 1) % 3]
        y1 = y1 + ks[(group + 2) % 3] + _U32(group + 1)
    return y0, y1


def seed_from_key(key: jax.Array) -> jax.Array:
    """The 64-bit seed (two uint32 words, shape ``key.shape + (2,)``) of a JAX PRNG key."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.bits(key, (2,), _U32) if key.ndim == 0 else jax.vmap(seed_from_key)(key)
    # raw uint32 key data (legacy jax.random.PRNGKey)
    return seed_from_key(jax.random.wrap_key_data(jnp.asarray(key, _U32)))


def _open_unit(bits: jax.Array) -> jax.Array:
    """Uniform on the open interval (0, 1): (2 m + 1) 2^-24 with m the top 23 bits (exact)."""
    m = (bits >> _U32(9)).astype(jnp.int32)
    return (2 * m + 1).astype(_F32) * _F32(2.0**-24)


def _uniform_pair(s0, s1, j, stream):
    y0, y1 = threefry2x32(s0, s1, j, stream)
    return _open_unit(y0), _open_unit(y1)


# ---------------------------------------------------------------------------------------------
# Binomial: per-element constants, BTRS attempt, inversion steps.
# ---------------------------------------------------------------------------------------------
_FC_TABLE = np.array(
    [math.lgamma(k + 1.0)
     - ((k + 0.5) * math.log(k + 1.0) - (k + 1.0) + 0.5 * math.log(2 * math.pi))
     for k in range(10)],
    dtype=np.float32,
)


def _floor(x: jax.Array) -> jax.Array:
    """floor for |x| < 2^31 via truncation (vectorises on CPU, unlike the libm call)."""
    t = x.astype(jnp.int32).astype(x.dtype)
    return t - jnp.where(t > x, 1.0, 0.0).astype(x.dtype)


def _stirling_series(k: jax.Array) -> jax.Array:
    """1/(12 x) - 1/(360 x^3) + 1/(1260 x^5), x = k + 1 (error < 1/(1680 x^7): 1e-10 at k = 10)."""
    k1 = k + 1.0
    r2 = 1.0 / (k1 * k1)
    return (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 / 1260.0)) / k1


def _stirling_fc(k: jax.Array) -> jax.Array:
    """fc(k) = lgamma(k+1) - [(k+1/2) log(k+1) - (k+1) + log(2 pi)/2], k >= 0 integer-valued."""
    out = _stirling_series(k)
    for i in range(len(_FC_TABLE) - 1, -1, -1):  # selects vectorise, a table gather does not
        out = jnp.where(k == i, float(_FC_TABLE[i]), out)
    return out


def _log1p_minus_x(x: jax.Array) -> jax.Array:
    """log(1 + x) - x without cancellation: -t x + 2 t^3 (1/3 + t^2/5 + ...), t = x/(2 + x)."""
    t = x / (2.0 + x)
    t2 = t * t
    poly = 1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0 + t2 * (
        1.0 / 11.0 + t2 * (1.0 / 13.0 + t2 * (1.0 / 15.0))))))
    small = -t * x + 2.0 * t * t2 * poly
    safe = jnp.where(jnp.abs(x) < 0.5, 0.0, x)
    return jnp.where(jnp.abs(x) < 0.5, small, jnp.log1p(safe) - safe)


def _btrs_attempt(n, q, u01, v):
    """One BTRS candidate for Binomial(n, q), q <= 1/2, n q >= 10.

    Returns the candidate k (float32) if accepted, -1 if rejected. A single output on purpose:
    XLA:CPU materialises every output of a fusion, so constants are recomputed here, not passed.
    """
    spq = jnp.sqrt(n * q * (1.0 - q))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * q
    c = n * q + 0.5
    c_int = _floor(c)
    alpha = (2.83 + 5.1 / b) * spq
    vr = 0.92 - 4.2 / b
    m = _floor((n + 1.0) * q)
    u = u01 - 0.5
    us = 0.5 - jnp.abs(u)
    kf = c_int + _floor((2.0 * a / us + b) * u + (c - c_int))
    in_range = (kf >= 0.0) & (kf <= n)
    quick = (us >= 0.07) & (v <= vr)
    k = jnp.clip(kf, 0.0, n)
    d = k - m
    lv = jnp.log(v * alpha / (a / (us * us) + b))
    kp1 = k + 1.0
    nk1 = n - k + 1.0
    # log f(k)/f(m) = lin + (m+1/2) g(-d/(k+1)) + (n-m+1/2) g(d/(n-k+1)) + drift + fc terms,
    # g(x) = log1p(x) - x, lin = the linear parts of the two log1p, drift = d log(q(n-k+1)/(p(k+1)))
    lin = d * ((n + 2.0) * (d + 0.5) - kp1) / (kp1 * nk1)
    curv = (m + 0.5) * _log1p_minus_x(-d / kp1) + (n - m + 0.5) * _log1p_minus_x(d / nk1)
    drift = d * jnp.log1p((q * (n + 2.0) - kp1) / ((1.0 - q) * kp1))
    # m >= 10 and n - m >= m here (n q >= 10, q <= 1/2): the series alone is exact enough
    fcs = _stirling_series(m) + _stirling_series(n - m) - _stirling_fc(k) - _stirling_fc(n - k)
    h = lin + curv + drift + fcs
    accepted = in_range & (quick | (lv <= h))
    return jnp.where(accepted, k, -1.0)


def _inv_step(j, f, cum, n, ratio):
    """Extend the cdf walk by one term: f(j) = f(j-1) (n - j + 1)/j * q/(1-q); cum += f(j)."""
    f_new = f * ((n - j + 1.0) * ratio / j)
    return f_new, cum + f_new


_INV_BLOCK = 4  # inversion steps per loop iteration


def _inv_block(j, f, cum, u, n, ratio):
    """_INV_BLOCK steps of the cdf walk for elements with u >= cum (the others are frozen)."""
    for _ in range(_INV_BLOCK):
        go = u >= cum
        jn = j + 1.0
        f_new, cum_new = _inv_step(jn, f, cum, n, ratio)
        j = jnp.where(go, jn, j)
        f = jnp.where(go, f_new, f)
        cum = jnp.where(go, cum_new, cum)
    return j, f, cum


def _capacity(size: int, frac: int) -> int:
    return max(1, min(size, max(64, -(-size // frac))))


_SCAN_B = 128
_TRI = np.triu(np.ones((_SCAN_B, _SCAN_B), np.float32))


def _inclusive_cumsum(x: jax.Array) -> jax.Array:
    """Inclusive prefix sum of a 1-d int32 array of small non-negative values (total < 2^24).

    Rows of 128 are summed by a matmul with a triangular matrix of ones (exact in float32 for
    these magnitudes), the row totals recursively: far faster than jnp.cumsum on XLA:CPU.
    """
    size = x.shape[0]
    if size <= _SCAN_B:
        return jnp.cumsum(x)
    pad = (-size) % _SCAN_B
    rows = jnp.pad(x, (0, pad)).reshape(-1, _SCAN_B).astype(_F32)
    within = jnp.dot(rows, jnp.asarray(_TRI), precision=lax.Precision.HIGHEST)
    tot = within[:, -1].astype(jnp.int32)
    off = _inclusive_cumsum(tot) - tot
    out = within.astype(jnp.int32) + off[:, None]
    return out.reshape(-1)[:size]


def _compact(mask: jax.Array, cap: int) -> jax.Array:
    """Indices of the first ``cap`` True entries of ``mask`` (in order), padded with mask.size."""
    size = mask.shape[0]
    pos = _inclusive_cumsum(mask.astype(jnp.int32)) - 1
    target = jnp.where(mask & (pos < cap), pos, cap)
    return jnp.full((cap,), size, jnp.int32).at[target].set(
        jnp.arange(size, dtype=jnp.int32), mode="drop")


# Per-element state of the binomial sampler (tuple layout):
# n, q (<= 1/2), is_btrs, seed0, seed1, index, result (-1 while pending), attempts,
# inversion walk: j, f(j), F(j), u.
_RES = 6


def _advance(st, stream_base):
    """One more attempt for every pending element: a BTRS candidate, or 4 inversion steps."""
    n, q, ub, s0, s1, idx, res, att, j, f, cum, u = st
    pend = res < 0.0
    pb = pend & ub
    pi = pend & ~ub
    a_u, a_v = _uniform_pair(s0, s1, idx, stream_base + att)

    def btrs(_):
        return _btrs_attempt(jnp.where(ub, n, 40.0), jnp.where(ub, q, 0.5), a_u, a_v)

    kb = lax.cond(jnp.any(pb), btrs, lambda _: res, None)

    def inv(c):
        j, f, cum, u = c
        qi = jnp.where(ub, 0.0, q)
        ratio = qi / (1.0 - qi)
        f0 = jnp.exp(n * jnp.log1p(-qi))
        # fresh start (first visit) or the float cdf ran out: restart with a fresh u
        exhausted = pi & (u >= cum) & ((j >= n) | (f <= 0.0))
        u = jnp.where(exhausted, a_u, u)
        j = jnp.where(exhausted, 0.0, j)
        f = jnp.where(exhausted, f0, f)
        cum = jnp.where(exhausted, f0, cum)
        j, f, cum = _inv_block(j, f, cum, u, n, ratio)
        return j, f, cum, u, exhausted

    j, f, cum, u, exh = lax.cond(
        jnp.any(pi), inv, lambda c: (*c, jnp.zeros_like(pi)), (j, f, cum, u))
    val = jnp.where(ub, kb, jnp.where(u < cum, j, -1.0))
    res = jnp.where(pend, val, res)
    att = att + jnp.where(pb | exh, 1, 0).astype(_U32)
    return n, q, ub, s0, s1, idx, res, att, j, f, cum, u


_BASE_WIDTH = 512  # below this width the stragglers are finished without compaction
_CAP_FRACTION = 8  # each compaction keeps width / 8 slots
_MAX_LEVELS = 1  # compaction levels (each level is one more copy of the sampler in the program)


def _solve(st, stream_base, level=0):
    """Advance until every element is done, compacting the stragglers level by level.

    At each level: attempts over the whole width until at most width/8 elements are pending,
    then those are gathered into a batch of width/8 and finished recursively (a draw depends
    only on its own counter, so the result does not depend on how elements are batched).
    """
    width = st[0].shape[0]
    npend = lambda s: jnp.sum(s[_RES] < 0.0)  # noqa: E731
    if width <= _BASE_WIDTH or level >= _MAX_LEVELS:
        return lax.while_loop(lambda s: npend(s) > 0,
                              lambda s: _advance(s, stream_base), st)[_RES]
    cap = max(_BASE_WIDTH // 2, width // _CAP_FRACTION)

    # do-while: at least one attempt, continue while more than `cap` are pending
    def body(c):
        s, _ = c
        s = _advance(s, stream_base)
        return s, npend(s) > cap

    st, _ = lax.while_loop(lambda c: c[1], body, (st, jnp.bool_(True)))
    res = st[_RES]

    def finish(res):
        sel = _compact(res < 0.0, cap)
        live = sel < width
        g = jnp.minimum(sel, width - 1)
        child = [a[g] for a in st]
        child[_RES] = jnp.where(live, res[g], 0.0)
        done = _solve(tuple(child), stream_base, level + 1)
        return res.at[jnp.where(live, sel, width)].set(done, mode="drop")

    return lax.cond(npend(st) > 0, finish, lambda r: r, res)


_STAGE0_INV_STEPS = 8  # lock-step inversion terms in the first full-width pass


def _stage0(n, q, use_btrs, use_inv, s0, s1, idx, stream_base):
    """First full-width pass, one output (-1 = not finished): BTRS attempt 0 for the BTRS
    elements; for the inversion elements the count #{j < 8 : F(j) <= u} with u from attempt 0.
    """
    u01, v = _uniform_pair(s0, s1, idx, stream_base)

    def btrs(_):
        return _btrs_attempt(jnp.where(use_btrs, n, 40.0), jnp.where(use_btrs, q, 0.5), u01, v)

    def inv(_):
        qi = jnp.where(use_inv, q, 0.0)
        ratio = qi / (1.0 - qi)
        f = jnp.exp(n * jnp.log1p(-qi))
        cum = f
        k = jnp.zeros_like(n)
        for s in range(1, _STAGE0_INV_STEPS + 1):
            k = k + jnp.where(u01 >= cum, 1.0, 0.0)
            if s < _STAGE0_INV_STEPS:
                f, cum = _inv_step(jnp.float32(s), f, cum, n, ratio)
        return jnp.where(k < _STAGE0_INV_STEPS, k, -1.0)

    zero = jnp.zeros_like(n)
    rb = lax.cond(jnp.any(use_btrs), btrs, lambda _: zero, None)
    ri = lax.cond(jnp.any(use_inv), inv, lambda _: zero, None)
    return jnp.where(use_btrs, rb, jnp.where(use_inv, ri, 0.0))


def _binomial_flat(s0, s1, idx, stream, n, p):
    """Binomial(n, p) for flat float32 arrays; element randomness from (s0, s1, idx, stream).

    A full-width first pass (one BTRS attempt / eight inversion terms), then the unfinished
    elements are gathered (at most a quarter of the width at a time) and finished by
    ``_solve``; a draw depends only on its own (seed, index, stream, attempt) counters.
    """
    size = n.shape[0]
    stream_base = jnp.asarray(stream, _U32) << _U32(16)
    q = jnp.minimum(p, 1.0 - p)
    trivial = (n <= 0.0) | (q <= 0.0)
    use_btrs = ~trivial & (n * q >= INVERSION_THRESHOLD)
    use_inv = ~trivial & ~use_btrs
    res = _stage0(n, q, use_btrs, use_inv, s0, s1, idx, stream_base)
    if size > _BASE_WIDTH:
        cap = max(_BASE_WIDTH // 2, size // 4)

        def outer(res):
            sel = _compact(res < 0.0, cap)
            live = sel < size
            g = jnp.minimum(sel, size - 1)
            ng = n[g]
            zero = jnp.zeros_like(ng)
            ubg = use_btrs[g]
            # BTRS: attempt 0 is used up; inversion: restart the walk from j = 0 with the same
            # u (attempt 0), which the "exhausted" rule of _advance does on the first visit
            child = (ng, q[g], ubg, s0[g], s1[g], idx[g], jnp.where(live, -1.0, 0.0),
                     jnp.where(ubg, 1, 0).astype(_U32), ng, zero, zero, jnp.full_like(ng, 2.0))
            done = _solve(child, stream_base)
            return res.at[jnp.where(live, sel, size)].set(done, mode="drop")

        res = lax.while_loop(lambda r: jnp.any(r < 0.0), outer, res)
    else:
        zero = jnp.zeros_like(n)
        st = (n, q, use_btrs, s0, s1, idx, res, jnp.where(use_btrs, 1, 0).astype(_U32),
              jnp.where(res < 0.0, n, zero), zero, zero, jnp.full_like(n, 2.0))
        res = _solve(st, stream_base)
    res = jnp.where(p > 0.5, n - res, res)
    return res.astype(jnp.int32)


def binomial_rows(seeds: jax.Array, n: jax.Array, p: jax.Array, stream=0) -> jax.Array:
    """Binomial draws for a batch of rows, row b drawing with its own 64-bit seed ``seeds[b]``.

    ``seeds``: uint32 (B, 2); ``n``, ``p``: (B, L) (n integer-valued, 0 <= p <= 1). Element
    (b, j) uses the counter (j, stream * 2^16 + attempt) under seed b, so a row's draws do not
    depend on the other rows. Returns int32 (B, L). No argument validation (internal/jit use).
    """
    n = jnp.asarray(n, _F32)
    p = jnp.asarray(p, _F32)
    rows, width = n.shape
    s0 = jnp.broadcast_to(seeds[:, 0:1], (rows, width)).reshape(-1)
    s1 = jnp.broadcast_to(seeds[:, 1:2], (rows, width)).reshape(-1)
    idx = jnp.broadcast_to(jnp.arange(width, dtype=_U32)[None, :], (rows, width)).reshape(-1)
    out = _binomial_flat(s0, s1, idx, stream, n.reshape(-1), p.reshape(-1))
    return out.reshape(rows, width)


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _show(x) -> str:
    flat = np.ravel(np.asarray(x))
    if flat.size == 1:
        return repr(flat[0].item())
    return np.array2string(flat[:6], separator=", ") + (" ..." if flat.size > 6 else "")


def _check_n(n) -> None:
    if not _is_concrete(n):
        return
    arr = np.asarray(n, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.floor(arr)) | (arr > MAX_N)
    if bad.any():
        raise ValueError(f"n must be an integer in [0, {MAX_N}] (got {_show(arr[bad])})")


def _check_p(p) -> None:
    if not _is_concrete(p):
        return
    arr = np.asarray(p, dtype=np.float64)
    bad = ~(arr >= 0) | ~(arr <= 1)
    if bad.any():
        raise ValueError(f"p must lie in [0, 1] (got {_show(arr[bad])})")


def binomial(key: jax.Array, n, p, shape: tuple[int, ...] | None = None) -> jax.Array:
    """Exact Binomial(n, p) draws: P(X = k) = C(n, k) p^k (1 - p)^(n - k), k = 0..n.

    Args:
      key: a JAX PRNG key (any implementation).
      n: number of trials, integer-valued, 0 <= n <= 2**24; array, broadcast with ``p``.
      p: success probability in [0, 1] (p = 0 gives 0, p = 1 gives n).
      shape: output shape (``n`` and ``p`` broadcast to it); default their broadcast shape.

    Returns int32 draws of the given shape. Concrete (non-traced) arguments are validated and
    raise ``ValueError`` naming the argument, the value and the range; traced ``n``, ``p`` are
    allowed (jit/vmap) and are not checked. Inversion for n min(p, 1-p) < 10, Hormann's BTRS
    above (W. Hormann, J. Statist. Comput. Simul. 46 (1993) 101-110); see the module docstring.

    Example::

        >>> x = binomial(jax.random.key(0), 1000, 0.3, (5,))
    """
    _check_n(n)
    _check_p(p)
    n = jnp.asarray(n, _F32)
    p = jnp.asarray(p, _F32)
    if shape is None:
        shape = jnp.broadcast_shapes(n.shape, p.shape)
    shape = tuple(int(s) for s in shape)
    size = math.prod(shape)
    if size == 0:
        return jnp.zeros(shape, jnp.int32)
    nb = jnp.broadcast_to(n, shape).reshape(1, size)
    pb = jnp.broadcast_to(p, shape).reshape(1, size)
    seed = seed_from_key(key).reshape(1, 2)
    return _binomial_rows_jit(seed, nb, pb).reshape(shape)


_binomial_rows_jit = jax.jit(binomial_rows, static_argnames=("stream",))


# ---------------------------------------------------------------------------------------------
# Multinomial by a balanced binary splitting tree.
# ---------------------------------------------------------------------------------------------
class SplitTree:
    """Static structure of the balanced splitting tree over K symbols.

    Level l holds segments (contiguous symbol ranges); a segment of length >= 2 splits into
    halves [a, a + ceil(len/2)) and the rest, a segment of length 1 passes through. For each
    transition l -> l+1: ``split[l]`` (indices of splitting segments at level l), ``parent[l]``
    (parent of each segment at level l+1), ``left[l]`` / ``right[l]`` (their children at
    level l+1). The last level is the K symbols in order.
    """

    def __init__(self, K: int):
        self.K = int(K)
        segs = [(0, self.K)]
        self.sizes = [1]
        self.split, self.parent, self.left, self.right = [], [], [], []
        while any(b - a >= 2 for a, b in segs):
            new, parent, split, left, right = [], [], [], [], []
            for i, (a, b) in enumerate(segs):
                if b - a >= 2:
                    mid = a + (b - a + 1) // 2
                    split.append(i)
                    left.append(len(new))
                    new.append((a, mid))
                    parent.append(i)
                    right.append(len(new))
                    new.append((mid, b))
                    parent.append(i)
                else:
                    new.append((a, b))
                    parent.append(i)
            self.split.append(np.asarray(split, np.int32))
            self.parent.append(np.asarray(parent, np.int32))
            self.left.append(np.asarray(left, np.int32))
            self.right.append(np.asarray(right, np.int32))
            segs = new
            self.sizes.append(len(segs))
        self.depth = len(self.split)


_TREES: dict[int, SplitTree] = {}


def split_tree(K: int) -> SplitTree:
    """The (cached) splitting tree over K symbols."""
    if K not in _TREES:
        _TREES[K] = SplitTree(K)
    return _TREES[K]


def multinomial_rows(seeds: jax.Array, n: jax.Array, weights: jax.Array, stream0: int = 0):
    """Multinomial counts for a batch of rows, row b with its own seed ``seeds[b]``.

    ``seeds``: uint32 (B, 2); ``n``: (B,) integer-valued totals; ``weights``: (B, K) non-negative
    (need not be normalised; a row with n > 0 needs a positive total). Level l of the tree draws
    with stream ``stream0 + l``. Returns int32 (B, K) with each row summing exactly to n.
    """
    weights = jnp.asarray(weights, _F32)
    rows, K = weights.shape
    tree = split_tree(K)
    # bottom-up pairwise masses
    sums = [weights]
    for lvl in range(tree.depth - 1, -1, -1):
        child = sums[0]
        parent = jnp.zeros((rows, tree.sizes[lvl]), _F32).at[:, tree.parent[lvl]].add(child)
        sums.insert(0, parent)
    counts = jnp.asarray(n, jnp.int32).reshape(rows, 1)
    for lvl in range(tree.depth):
        sp = tree.split[lvl]
        wl = sums[lvl + 1][:, tree.left[lvl]]
        wr = sums[lvl + 1][:, tree.right[lvl]]
        tot = wl + wr
        light = jnp.minimum(wl, wr)
        prob = jnp.where(tot > 0, light / jnp.where(tot > 0, tot, 1.0), 0.0)
        ntot = counts[:, sp]
        x = binomial_rows(seeds, ntot.astype(_F32), prob, stream=stream0 + lvl)
        left_is_light = wl <= wr
        xl = jnp.where(left_is_light, x, ntot - x)
        new = counts[:, tree.parent[lvl]]
        new = new.at[:, tree.left[lvl]].set(xl).at[:, tree.right[lvl]].set(ntot - xl)
        counts = new
    return counts


def multinomial(key: jax.Array, n, p) -> jax.Array:
    """Exact Multinomial(n, p) counts: P(x) = n! / prod(x_i!) prod(p_i^x_i), sum x_i = n.

    Args:
      key: a JAX PRNG key.
      n: number of draws (integer, 0 <= n <= 2**24), scalar or broadcast to ``p.shape[:-1]``.
      p: probabilities, shape (..., K), non-negative, each row summing to 1 (within 1e-6;
        the row is used as relative weights, so the exact normalisation does not matter).

    Returns int32 counts of shape ``p.shape`` whose rows sum exactly to n. Batch row b uses
    the seed of ``jax.random.fold_in(key, b)`` (row-major over the batch dimensions). K - 1
    binomial draws per row in ceil(log2 K) vectorised levels (see ``SplitTree``).
    """
    _check_n(n)
    p = jnp.asarray(p, _F32)
    if p.ndim < 1 or p.shape[-1] < 1:
        raise ValueError(f"p must have a last axis of length K >= 1 (got shape {p.shape})")
    if _is_concrete(p):
        arr = np.asarray(p, np.float64)
        if not np.all(arr >= 0):
            raise ValueError(f"p must be non-negative (got {_show(arr[~(arr >= 0)])})")
        tot = arr.sum(axis=-1)
        if np.any(np.abs(tot - 1.0) > 1e-6):
            raise ValueError("p must sum to 1 along the last axis within 1e-6 "
                             f"(got sums {_show(tot)})")
    batch = p.shape[:-1]
    K = p.shape[-1]
    rows = math.prod(batch)
    nb = jnp.broadcast_to(jnp.asarray(n, jnp.int32), batch).reshape(rows)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(rows, dtype=jnp.uint32))
    seeds = seed_from_key(keys)
    out = _multinomial_rows_jit(seeds, nb, p.reshape(rows, K))
    return out.reshape(p.shape)


_multinomial_rows_jit = jax.jit(multinomial_rows, static_argnames=("stream0",))
