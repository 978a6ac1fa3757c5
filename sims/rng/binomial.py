"""Exact, vectorised binomial and multinomial samplers in JAX (float32 arithmetic, int32 counts).

Why our own samplers: ``jax.random.binomial`` draws about 1-3 M variates/s on this CPU, too slow
for Wright-Fisher runs with K up to 1e5 symbols and M up to 1e6 tokens per generation. The
samplers here are exact in law (up to float32 rounding, see below) and vectorised:

* ``binomial(key, n, p, shape=None)``: X ~ Binomial(n, p), P(X = k) = C(n, k) p^k (1 - p)^(n - k).
  With q = min(p, 1 - p) and lam = n q (a draw for p > 1/2 is n - Binomial(n, 1 - p)):

  - lam < 12: inversion, k = #{j : F(j) <= u} with F the cdf built by the recursion
    f(j + 1) = f(j) (n - j) / (j + 1) * q / (1 - q), f(0) = (1 - q)^n. The first 32 terms are
    unrolled in one fused kernel (P(X >= 32) < 1e-6 here); the rare element with u >= F(31)
    continues the walk in lock-step (finished elements frozen), so no truncation is ever made.
    If rounding leaves F(n) <= u (or f underflows) the element takes a fresh u (the law is
    then the float cdf renormalised).
  - lam >= 12: Hormann's transformed rejection with squeeze, BTRS (W. Hormann, "The generation of
    binomial random variates", J. Statist. Comput. Simul. 46 (1993) 101-110). The per-element
    constants are computed once, then attempts 0 and 1 run on every element in one fused
    kernel (squeeze and full acceptance test; 71-88% of attempts are accepted, so 1.5-8% of
    the elements are left); only those are compacted (prefix sum by a triangular matmul:
    ``jnp.nonzero``/``cumsum`` are slow on XLA:CPU) and run further attempts, in chunks,
    until all are accepted. The acceptance test log v <= log f(k)/f(m) uses a
    cancellation-free form of the pmf ratio (linear parts of log1p taken out analytically,
    log1p(x) - x by an atanh series) so that float32 gives about 1e-6 absolute accuracy on the
    log ratio even at n = 1e6; reciprocals are taken by Newton steps (a divide would split the
    XLA:CPU fusion).

  The whole binomial is one small program (one copy of each path), so callers that reuse it
  (the multinomial below, the simulator) compile in seconds.

* ``multinomial(key, n, p)``: counts (X_1..X_K) ~ Multinomial(n, p) by conditional binomials,
  X_j ~ Binomial(n - X_1 - ... - X_{j-1}, p_j / (p_j + ... + p_K)), the last symbol taking the
  rest: K - 1 binomials in one ``lax.scan`` over the symbols, each vectorised over the rows.
  For K > 16 the symbols are cut into ~sqrt(K) blocks of ~sqrt(K): block totals first, then
  every block split over its symbols (vectorised over rows x blocks), so the number of
  sequential steps is ~2 sqrt(K) and the second stage runs at sqrt(K) times the width. The
  tail masses p_j + ... + p_K are summed from the right
  (relative accuracy kept for tiny probabilities).

Randomness: each row of a batch owns a 64-bit seed (``seed_from_key`` turns a JAX key of any
implementation into one). Element j of a row, on attempt a of stream s, uses the 64 bits
Threefry-2x32-20(seed; counter = (j, s * 2^24 + a)) -- the counter-based block function of
:mod:`modelcollapse.sims.rng.threefry` (Random123 specification, Salmon et al., SC'11), fused by XLA
with the sampler (measured
2-3x the throughput of ``jax.random.bits`` on this CPU). A draw therefore depends only on its own
(seed, j, stream), never on the batch it was computed in: results are bit-identical whatever
the batching, chunking or device count.

Accuracy: internal arithmetic is float32 (also under ``jax_enable_x64``); n must be an integer
<= 2**24 (exactly representable). The algorithms are exact; rounding perturbs the pmf by a
relative amount of order 1e-6 to 1e-5 (inversion: the float cdf over up to ~40 terms; BTRS:
proposal quantisation of 2^-24 and the log ratio), far below what any feasible goodness-of-fit
test resolves.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims.rng.threefry import open_unit_from_bits as _open_unit
from modelcollapse.sims.rng.threefry import seed_from_key, threefry2x32
from modelcollapse.spec import params as P

__all__ = [
    "binomial",
    "multinomial",
    "seed_from_key",
    "binomial_rows",
    "multinomial_rows",
    "INVERSION_THRESHOLD",
    "MAX_N",
]

INVERSION_THRESHOLD = 12.0
"""Below this value of lam = n min(p, 1 - p) the inversion path is used, BTRS above (BTRS is
valid for lam >= 10; measured on this CPU, 12 gave the fastest Wright-Fisher generations: a
lock-step cdf walk costs the largest lam of the batch, a BTRS attempt has a weak squeeze near
lam = 10)."""

MAX_N = 2**24
"""Largest supported number of trials (exactly representable in float32)."""

_F32 = jnp.float32
_U32 = jnp.uint32

# ---------------------------------------------------------------------------------------------
# Binomial: per-element constants, BTRS attempt, inversion steps.
# ---------------------------------------------------------------------------------------------
_FC_TABLE = np.array(
    [math.lgamma(k + 1.0)
     - ((k + 0.5) * math.log(k + 1.0) - (k + 1.0) + 0.5 * math.log(2 * math.pi))
     for k in range(3)],
    dtype=np.float32,
)
"""fc(0), fc(1), fc(2) exactly; from k = 3 on the three-term Stirling series is within 4e-8."""


def _floor(x: jax.Array) -> jax.Array:
    """floor for |x| < 2^31 via truncation (vectorises on CPU, unlike the libm call)."""
    t = x.astype(jnp.int32).astype(x.dtype)
    return t - jnp.where(t > x, 1.0, 0.0).astype(x.dtype)


def _stirling_series(r: jax.Array) -> jax.Array:
    """1/(12 x) - 1/(360 x^3) + 1/(1260 x^5) given r = 1/x (error < 1/(1680 x^7): 4e-8 at x = 4).

    With x = k + 1 this is fc(k) = lgamma(k+1) - [(k+1/2) log(k+1) - (k+1) + log(2 pi)/2]
    (Stirling's series).
    """
    r2 = r * r
    return (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 / 1260.0)) * r


def _stirling_fc(k: jax.Array, r: jax.Array) -> jax.Array:
    """fc(k) for integer-valued k >= 0, given r = 1/(k + 1): the series, a table below 3."""
    out = _stirling_series(r)
    for i in range(len(_FC_TABLE) - 1, -1, -1):  # selects vectorise, a table gather does not
        out = jnp.where(k == i, float(_FC_TABLE[i]), out)
    return out


def _recip(x: jax.Array) -> jax.Array:
    """1/x for positive normal float32 x, by three Newton steps r <- r (2 - x r) from the
    bit-pattern estimate 0x7EF311C3 - bits(x) (relative error < 0.13, squared by each step:
    within 2 ulp at the end). Only multiplies and adds: XLA:CPU fuses it freely, whereas a
    divide with several consumers ends a fusion (each fusion re-reads its inputs and is a
    separate, possibly thread-split, kernel inside the sampling loops)."""
    r = lax.bitcast_convert_type(_U32(0x7EF311C3) - lax.bitcast_convert_type(x, _U32), _F32)
    for _ in range(3):
        r = r * (2.0 - x * r)
    return r


def _log1p_minus_x(x: jax.Array) -> jax.Array:
    """log(1 + x) - x without cancellation.

    |x| < 1/2: -t x + 2 t^3 (1/3 + t^2/5 + t^4/7 + t^6/9 + t^8/11), t = x / (2 + x) (the atanh
    series of log(1 + x) = 2 atanh(t); |t| <= 1/3, relative error < 1e-7); elsewhere
    log(1 + x) - x.
    """
    small = jnp.abs(x) < 0.5
    t = x * _recip(2.0 + jnp.where(small, x, 0.0))
    t2 = t * t
    poly = 1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0 + t2 * (1.0 / 11.0))))
    return jnp.where(small, -t * x + 2.0 * t * t2 * poly,
                     jnp.log(1.0 + jnp.where(small, 0.0, x)) - x)


def _btrs_consts(n, q):
    """Per-element constants of BTRS for Binomial(n, q), q <= 1/2, n q >= 10 (Hormann 1993):
    (n, a, b, c_int, c - c_int, alpha, v_r, m, fc(m) + fc(n - m), q (n + 2), 1/(1 - q))."""
    spq = jnp.sqrt(n * q * (1.0 - q))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * q
    c = n * q + 0.5
    c_int = _floor(c)
    m = _floor((n + 1.0) * q)
    alpha = (2.83 + 5.1 * _recip(b)) * spq
    vr = 0.92 - 4.2 * _recip(b)
    # m >= 10 and n - m >= m here (n q >= 10, q <= 1/2): the series alone is exact enough
    fcm = _stirling_series(_recip(m + 1.0)) + _stirling_series(_recip(n - m + 1.0))
    return n, a, b, c_int, c - c_int, alpha, vr, m, fcm, q * (n + 2.0), _recip(1.0 - q)


def _btrs_attempt(consts, u01, v):
    """One BTRS attempt from the uniforms (u01, v): the candidate k (float32) if accepted, else -1.

    Candidate k = floor((2 a / us + b) u + c), u = u01 - 1/2, us = 1/2 - |u|. Accepted by the
    squeeze us >= 0.07 and v <= v_r, or by the full test v alpha / (a / us^2 + b) <= f(k)/f(m)
    with h = log f(k)/f(m) written without cancellation:
      h = lin + (m + 1/2) g(-d/(k+1)) + (n - m + 1/2) g(d/(n-k+1)) + d (y + g(y))
          + fc(m) + fc(n - m) - fc(k) - fc(n - k),
    d = k - m, g(x) = log(1 + x) - x, y = (q (n+2) - (k+1)) / ((1 - q)(k+1)) and lin the linear
    parts of the two g terms, so float32 keeps about 1e-6 absolute accuracy on h at n = 1e6.
    Reciprocals are Newton's (``_recip``: a divide would split the XLA:CPU fusion), 1/(k+1) and
    1/(n-k+1) shared; the test is taken as v alpha us^2 <= (a + b us^2) e^h.
    """
    n, a, b, c_int, cfr, alpha, vr, m, fcm, qn2, inv1mq = consts
    u = u01 - 0.5
    us = 0.5 - jnp.abs(u)
    kf = c_int + _floor((2.0 * a * _recip(us) + b) * u + cfr)
    in_range = (kf >= 0.0) & (kf <= n)
    quick = (us >= 0.07) & (v <= vr)
    k = jnp.clip(kf, 0.0, n)
    d = k - m
    kp1 = k + 1.0
    r1 = _recip(kp1)
    r2 = _recip(n - k + 1.0)
    lin = d * ((n + 2.0) * (d + 0.5) - kp1) * (r1 * r2)
    y = (qn2 - kp1) * r1 * inv1mq
    curv = (m + 0.5) * _log1p_minus_x(-d * r1) + (n - m + 0.5) * _log1p_minus_x(d * r2)
    drift = d * (y + _log1p_minus_x(y))
    h = lin + curv + drift + fcm - _stirling_fc(k, r1) - _stirling_fc(n - k, r2)
    us2 = us * us
    accepted = in_range & (quick | (v * alpha * us2 <= (a + b * us2) * jnp.exp(h)))
    return jnp.where(accepted, k, -1.0)


_SCAN_B = 32
_TRI = np.triu(np.ones((_SCAN_B, _SCAN_B), np.float32))


def _inclusive_cumsum(x: jax.Array) -> jax.Array:
    """Inclusive prefix sum of a 1-d int32 array of small non-negative values (total < 2^24).

    Rows of 32 are summed by a matmul with a triangular matrix of ones (exact in float32 for
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


# ---------------------------------------------------------------------------------------------
# Binomial core: one program, reused by every caller.
# ---------------------------------------------------------------------------------------------
_BTRS_FUSED = 2  # BTRS attempts evaluated per pass (one fused kernel)
_RETRY_FRACTION = 16  # elements left after the first pass are served width / 16 at a time
_MIN_QUEUE = 64  # ... but at least this many at a time (narrower batches: at full width)


def _bits_u(s0, s1, x0, x1):
    y0, y1 = threefry2x32(s0, s1, x0, x1)
    return _open_unit(y0), _open_unit(y1)


def _with_spare(x: jax.Array) -> jax.Array:
    """x with one spare element appended: a loop carry that the loop body overwrites by a
    dynamic_update_slice at offset 0. XLA:CPU runs such an in-place update as one kernel on
    one thread; a plain elementwise result of this size may be split across the intra-op
    threads, and each split waits for a thread to wake up (measured 20-60 us per kernel on
    our 2-core CI machine, more than the kernel's work at these widths)."""
    return jnp.concatenate([x, x[:1]])


def _btrs_pass(s0, s1, x0, x1, a0, consts, res):
    """BTRS attempts a0, a0 + 1, ... (_BTRS_FUSED of them) for the elements with res < 0.

    Attempt a of element i uses the random words Threefry(seed_i; x0_i, x1 + a): a draw does
    not depend on the batch it is computed in. Accepted elements keep their value.
    """
    for i in range(_BTRS_FUSED):
        u, v = _bits_u(s0, s1, x0, x1 + a0 + _U32(i))
        res = jnp.where(res < 0.0, _btrs_attempt(consts, u, v), res)
    return res


def _btrs_solve(s0, s1, x0, x1, n, q, mask):
    """BTRS draws for the elements in ``mask`` (0 elsewhere), float32.

    The first pass runs attempts 0 and 1 on every element in one fused kernel (per-element
    constants computed once); about 1.5% (large n q) to 8% (n q near 12) of the elements are
    then still rejected. Those are compacted (in order) and served in chunks of width / 16:
    each element of a chunk runs attempts 2, 3, ... until one is accepted. Rejection sampling
    is exact whatever the schedule of attempts, as each element takes its first accepted one.
    """
    width = n.shape[0]
    nn = jnp.where(mask, n, 40.0)
    qq = jnp.where(mask, q, 0.5)
    consts = lax.optimization_barrier(_btrs_consts(nn, qq))  # once, not once per attempt
    res = _btrs_pass(s0, s1, x0, x1, _U32(0), consts, jnp.where(mask, -1.0, 0.0))
    cap = max(_MIN_QUEUE, width // _RETRY_FRACTION)

    def until_accepted(s0, s1, x0, consts, res):
        size = res.shape[0]

        def attempt(c):
            a, buf = c
            r = _btrs_pass(s0, s1, x0, x1, a, consts, buf[:size])
            return a + _U32(_BTRS_FUSED), lax.dynamic_update_slice(buf, r, (0,))

        return lax.while_loop(lambda c: jnp.any(c[1][:size] < 0.0), attempt,
                              (_U32(_BTRS_FUSED), _with_spare(res)))[1][:size]

    def serve(res):
        pend = res < 0.0
        total = jnp.sum(pend.astype(jnp.int32))
        order = _compact(pend, width)  # pending indices first, padded with `width`
        order = jnp.concatenate([order, jnp.full((cap,), width, jnp.int32)])

        def chunk(c):
            res, start = c
            idx = lax.dynamic_slice(order, (start,), (cap,))
            live = idx < width
            gi = jnp.minimum(idx, width - 1)
            cc = _btrs_consts(jnp.where(live, nn[gi], 40.0), jnp.where(live, qq[gi], 0.5))
            r = until_accepted(s0[gi], s1[gi], x0[gi], cc, jnp.where(live, -1.0, 0.0))
            return res.at[jnp.where(live, idx, width)].set(r, mode="drop"), start + cap

        return lax.while_loop(lambda c: c[1] < total, chunk, (res, jnp.int32(0)))[0]

    if cap >= width:  # narrow batches: no compaction
        return lax.cond(jnp.any(res < 0.0), lambda r: until_accepted(s0, s1, x0, consts, r),
                        lambda r: r, res)
    return lax.cond(jnp.any(res < 0.0), serve, lambda r: r, res)


_INV_TERMS = 32  # cdf terms of the inversion's first pass (one fused kernel)
_INV_BLOCK = 4  # cdf terms per iteration of the inversion's continued walk


def _inv_solve(s0, s1, x0, x1, n, q, mask):
    """Inversion draws for the elements in ``mask`` (0 elsewhere), float32.

    With f(0) = (1 - q)^n, f(j) = f(j - 1) (n - j + 1)/j q/(1 - q) and F(j) = f(0) + ... + f(j),
    the draw is k = #{j : F(j) <= u}. The first pass evaluates the first 32 terms for every
    element in one fused kernel (P(X >= 32) < 1e-6 for n q < 12); an element with u >= F(31)
    continues the same walk, 4 terms per iteration, in lock-step until its u is passed. An
    element whose float cdf runs out (F(n) <= u by rounding, or f underflowing) takes attempt
    a + 1, a fresh u from Threefry(seed; x0, x1 + a + 1).
    """
    qq = jnp.where(mask, q, 0.0)
    ratio = qq / (1.0 - qq)
    f0 = jnp.exp(n * jnp.log1p(-qq))

    def walk_from(u, j, f, cum, k):
        """Continue the walk (state after term j - 1) until every live u is passed."""
        def live(w):
            j, f, cum, _ = w
            return (u >= cum) & (j < n) & (f > 0.0)

        def body(w):
            for _ in range(_INV_BLOCK):
                j, f, cum, k = w
                act = live(w)
                fn = f * ((n - j) * ratio) * (1.0 / (j + 1.0))
                w = (j + 1.0, jnp.where(act, fn, f), jnp.where(act, cum + fn, cum),
                     jnp.where(act, j + 1.0, k))
            return w

        return lax.while_loop(lambda w: jnp.any(live(w)), body, (j, f, cum, k))[2:]

    def attempt(c):  # attempts >= 1: fresh u, walk from j = 0
        a, res = c
        pend = res < 0.0
        u = jnp.where(pend, _bits_u(s0, s1, x0, x1 + a)[0], -1.0)
        cum, k = walk_from(u, jnp.float32(0.0), f0, f0, jnp.zeros_like(n))
        return a + _U32(1), jnp.where(pend & (u < cum), k, res)

    # attempt 0: the first _INV_TERMS terms unrolled (k counts the passed F(j))
    u = jnp.where(mask, _bits_u(s0, s1, x0, x1)[0], -1.0)
    f, cum, k = f0, f0, jnp.zeros_like(n)
    for j in range(_INV_TERMS - 1):
        k = k + jnp.where(u >= cum, 1.0, 0.0)
        f = f * ((n - j) * ratio) * (1.0 / (j + 1))
        cum = cum + f
    res = jnp.where(mask, jnp.where(u < cum, k, -1.0), 0.0)

    def rest(res):
        # elements with u >= F(_INV_TERMS - 1) continue attempt 0's walk, then retry if need be
        j0 = jnp.float32(_INV_TERMS - 1)
        uu = jnp.where(res < 0.0, u, -1.0)
        cum2, k2 = walk_from(uu, j0, f, cum, jnp.full_like(n, j0))
        res = jnp.where((res < 0.0) & (uu < cum2), k2, res)
        return lax.while_loop(lambda c: jnp.any(c[1] < 0.0), attempt, (_U32(1), res))[1]

    return lax.cond(jnp.any(res < 0.0), rest, lambda r: r, res)


def _binomial_core(s0, s1, x0, x1, n, p):
    """Binomial(n, p) for flat float32 arrays n, p; uint32 s0, s1, x0 per element, x1 scalar.

    q = min(p, 1 - p); inversion where n q < INVERSION_THRESHOLD, BTRS elsewhere; a draw for
    p > 1/2 is n - Binomial(n, 1 - p). Returns int32.
    """
    q = jnp.minimum(p, 1.0 - p)
    trivial = (n <= 0.0) | (q <= 0.0)
    use_btrs = ~trivial & (n * q >= INVERSION_THRESHOLD)
    use_inv = ~trivial & ~use_btrs
    x1 = jnp.asarray(x1, _U32)
    zero = jnp.zeros_like(n)
    rb = lax.cond(jnp.any(use_btrs), lambda _: _btrs_solve(s0, s1, x0, x1, n, q, use_btrs),
                  lambda _: zero, None)
    ri = lax.cond(jnp.any(use_inv), lambda _: _inv_solve(s0, s1, x0, x1, n, q, use_inv),
                  lambda _: zero, None)
    res = jnp.where(use_btrs, rb, ri)
    res = jnp.where(p > 0.5, n - res, res)
    return res.astype(jnp.int32)


def binomial_rows(seeds: jax.Array, n: jax.Array, p: jax.Array, stream=0) -> jax.Array:
    """Binomial draws for a batch of rows, row b drawing with its own 64-bit seed ``seeds[b]``.

    ``seeds``: uint32 (B, 2); ``n``, ``p``: (B, L) (n integer-valued, 0 <= p <= 1). Element
    (b, j) uses the counters (j, stream * 2^24 + attempt) under seed b, so a row's draws do not
    depend on the other rows. Returns int32 (B, L). No argument validation (internal/jit use).

    The law and the algorithms (inversion for n min(p, 1 - p) < ``INVERSION_THRESHOLD``, BTRS
    above) are those of :func:`binomial` and the module docstring.

    Parameters
    ----------
    seeds : jax.Array
        uint32 ``(B, 2)``: one 64-bit seed per row (e.g. from :func:`seed_from_key`).
    n : jax.Array
        ``(B, L)`` numbers of trials, integer-valued, in ``[0, MAX_N]`` (taken as float32).
    p : jax.Array
        ``(B, L)`` success probabilities in ``[0, 1]``.
    stream : int
        Index of an independent stream under the same seeds (counter word
        ``stream * 2^24 + attempt``); static under ``jax.jit``.

    Returns
    -------
    jax.Array
        int32 ``(B, L)`` draws.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.binomial import binomial_rows, seed_from_key
    >>> seeds = seed_from_key(jax.random.split(jax.random.key(0), 3))
    >>> rows = jax.jit(binomial_rows)
    >>> x = rows(seeds, jnp.full((3, 4), 100.0), jnp.full((3, 4), 0.5))
    >>> x.shape, x.dtype
    ((3, 4), dtype('int32'))

    Row 1 drawn alone gives the same numbers as in the batch of three:

    >>> y = rows(seeds[1:2], jnp.full((1, 4), 100.0), jnp.full((1, 4), 0.5))
    >>> bool((y[0] == x[1]).all())
    True
    """
    n = jnp.asarray(n, _F32)
    p = jnp.asarray(p, _F32)
    rows, width = n.shape
    s0 = jnp.broadcast_to(seeds[:, 0:1], (rows, width)).reshape(-1)
    s1 = jnp.broadcast_to(seeds[:, 1:2], (rows, width)).reshape(-1)
    idx = jnp.broadcast_to(jnp.arange(width, dtype=_U32)[None, :], (rows, width)).reshape(-1)
    x1 = jnp.asarray(stream, _U32) << _U32(_STREAM_SHIFT)
    out = _binomial_core(s0, s1, idx, x1, n.reshape(-1), p.reshape(-1))
    return out.reshape(rows, width)


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


_TRIALS = P.Param("n", "number of trials", integer=True, low=0, high=float(MAX_N))
_WEIGHTS = P.p0.restrict(name="p", atol=1e-6)


def _check_n(n) -> None:
    if _is_concrete(n):
        _TRIALS.array(n)


def _check_p(p) -> None:
    if _is_concrete(p):
        P.p.array(p)


def binomial(key: jax.Array, n, p, shape: tuple[int, ...] | None = None) -> jax.Array:
    """Exact Binomial(n, p) draws: P(X = k) = C(n, k) p^k (1 - p)^(n - k), k = 0..n.

    Inversion for n min(p, 1-p) < 12, Hormann's BTRS above (W. Hormann, J. Statist. Comput.
    Simul. 46 (1993) 101-110); see the module docstring. Mean n p, variance n p (1 - p).

    Parameters
    ----------
    key : jax.Array
        A JAX PRNG key (any implementation).
    n : int or array_like
        Number of trials, integer-valued, 0 <= n <= 2**24 (``MAX_N``); broadcast with ``p``.
    p : float or array_like
        Success probability in [0, 1] (p = 0 gives 0, p = 1 gives n).
    shape : tuple of int, optional
        Output shape (``n`` and ``p`` broadcast to it); default their broadcast shape.

    Returns
    -------
    jax.Array
        int32 draws of the given shape.

    Raises
    ------
    ValueError
        Concrete (non-traced) arguments are validated and raise ``ValueError`` naming the
        argument, the value and the range; traced ``n``, ``p`` are allowed (jit/vmap) and are
        not checked.

    References
    ----------
    W. Hormann, "The generation of binomial random variates", J. Statist. Comput. Simul. 46
    (1993) 101-110.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.binomial import binomial
    >>> x = binomial(jax.random.key(0), 1000, 0.3, (1000,))     # BTRS: n p = 300
    >>> x.shape, x.dtype
    ((1000,), dtype('int32'))
    >>> bool(abs(x.mean() - 300.0) < 2.0)    # mean n p (standard error 0.46 here)
    True

    The trivial cases are exact:

    >>> binomial(jax.random.key(0), jnp.array([0, 10, 10]), jnp.array([0.5, 0.0, 1.0])).tolist()
    [0, 0, 10]
    >>> binomial(jax.random.key(0), 2.5, 0.3)
    Traceback (most recent call last):
    ...
    ValueError: n must be an integer in [0, 16777216] (got 2.5)
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
# Multinomial by conditional binomials.
# ---------------------------------------------------------------------------------------------
_STREAM_SHIFT = 24  # counter word x1 = stream * 2^24 + attempt
_SINGLE_STAGE_K = 16  # up to this K one sequential pass over the symbols, else two stages


def _reverse_cumsum(w: jax.Array) -> jax.Array:
    """rem[..., j] = sum_{i >= j} w[..., i], summed from the right in a fixed order (a scan:
    bit-identical whatever the batch shape, and accurate for the small tail masses)."""
    wt = jnp.moveaxis(w, -1, 0)

    def step(acc, x):
        acc = acc + x
        return acc, acc

    _, rem = lax.scan(step, jnp.zeros_like(wt[0]), wt, reverse=True)
    return jnp.moveaxis(rem, 0, -1)


def _sequential(s0, s1, base, x1, n, w, rem):
    """Conditional binomials along the symbols: X_j ~ Binomial(N - X_0 - ... - X_{j-1},
    w_j / rem_j), the last symbol taking the rest. Lanes (first axis) are independent; symbol
    j of lane l uses the counters (base_l + j, x1 + attempt) under the lane's seed (s0, s1).
    ``w``, ``rem``: (L, J) float32; ``n``: (L,) int32. Returns int32 (L, J)."""
    J = w.shape[1]
    if J == 1:
        return n[:, None]
    p = jnp.where(rem > 0.0, jnp.minimum(w / jnp.where(rem > 0.0, rem, 1.0), 1.0), 0.0)

    def step(nrem, xs):
        pj, j = xs
        x = _binomial_core(s0, s1, base + j, x1, nrem.astype(_F32), pj)
        return nrem - x, x

    js = jnp.arange(J - 1, dtype=_U32)
    last, xs = lax.scan(step, n, (p[:, :-1].T, js))
    return jnp.concatenate([xs.T, last[:, None]], axis=1)


def multinomial_rows(seeds: jax.Array, n: jax.Array, weights: jax.Array, stream0: int = 0):
    """Multinomial counts for a batch of rows, row b with its own seed ``seeds[b]``.

    ``seeds``: uint32 (B, 2); ``n``: (B,) integer-valued totals; ``weights``: (B, K) non-negative
    (need not be normalised; a row with n > 0 needs a positive total). Returns int32 (B, K)
    with each row summing exactly to n.

    Conditional binomials: X_1 ~ Binomial(n, w_1 / W_1), X_j ~ Binomial(n - X_1 - ... -
    X_{j-1}, w_j / W_j) with W_j = w_j + ... + w_K, the last symbol taking the rest: K - 1
    binomial draws, exact in law. For K > 16 the symbols are cut into B blocks of S ~ sqrt(K)
    (zero-padded): the block totals are drawn first (B - 1 conditional binomials per row),
    then every block is split over its symbols (S - 1 conditional binomials, vectorised over
    rows x blocks). One binomial program per stage whatever K, M. Randomness: stage s uses
    the counter word x1 = (4 stream0 + s) 2^24 + attempt, symbol (or block) index as x0
    (s = 1 for the single stage or the block totals, s = 2 for the split within blocks). No
    argument validation (internal/jit use).

    Parameters
    ----------
    seeds : jax.Array
        uint32 ``(B, 2)``: one 64-bit seed per row.
    n : jax.Array
        ``(B,)`` totals, integers in ``[0, MAX_N]``.
    weights : jax.Array
        ``(B, K)`` non-negative relative weights (taken as float32).
    stream0 : int
        Index of an independent stream under the same seeds; static under ``jax.jit``.

    Returns
    -------
    jax.Array
        int32 ``(B, K)`` counts, row b summing to ``n[b]``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.binomial import multinomial_rows, seed_from_key
    >>> seeds = seed_from_key(jax.random.split(jax.random.key(0), 3))
    >>> w = jnp.array([[1.0, 1.0, 2.0]] * 3)          # p = (1/4, 1/4, 1/2), unnormalised
    >>> c = jax.jit(multinomial_rows)(seeds, jnp.array([10, 100, 1000]), w)
    >>> c.shape, c.dtype, c.sum(axis=1).tolist()
    ((3, 3), dtype('int32'), [10, 100, 1000])
    """
    weights = jnp.asarray(weights, _F32)
    rows, K = weights.shape
    n = jnp.asarray(n, jnp.int32).reshape(rows)
    s0, s1 = seeds[:, 0], seeds[:, 1]
    tag = 4 * int(stream0)
    if K <= _SINGLE_STAGE_K:
        x1 = _U32((tag + 1) << _STREAM_SHIFT)
        base = jnp.zeros((rows,), _U32)
        return _sequential(s0, s1, base, x1, n, weights, _reverse_cumsum(weights))
    S = math.isqrt(K - 1) + 1
    B = -(-K // S)
    w = jnp.pad(weights, ((0, 0), (0, B * S - K))).reshape(rows, B, S)
    rem2 = _reverse_cumsum(w)  # within blocks; rem2[..., 0] is the block mass
    wb = rem2[..., 0]
    x1a = _U32((tag + 1) << _STREAM_SHIFT)
    nb = _sequential(s0, s1, jnp.zeros((rows,), _U32), x1a, n, wb, _reverse_cumsum(wb))
    x1b = _U32((tag + 2) << _STREAM_SHIFT)
    base = jnp.broadcast_to(jnp.arange(B, dtype=_U32)[None, :] * _U32(S), (rows, B)).reshape(-1)
    rep = lambda a: jnp.broadcast_to(a[:, None], (rows, B)).reshape(-1)  # noqa: E731
    out = _sequential(rep(s0), rep(s1), base, x1b, nb.reshape(-1), w.reshape(rows * B, S),
                      rem2.reshape(rows * B, S))
    return out.reshape(rows, B * S)[:, :K]


def multinomial(key: jax.Array, n, p) -> jax.Array:
    """Exact Multinomial(n, p) counts: P(x) = n! / prod(x_i!) prod(p_i^x_i), sum x_i = n.

    Batch row b uses the seed of ``jax.random.fold_in(key, b)`` (row-major over the batch
    dimensions). K - 1 binomial draws per row (conditional binomials, see
    :func:`multinomial_rows`).

    Parameters
    ----------
    key : jax.Array
        A JAX PRNG key.
    n : int or array_like
        Number of draws (integer, 0 <= n <= 2**24), scalar or broadcast to ``p.shape[:-1]``.
    p : array_like
        Probabilities, shape (..., K), non-negative, each row summing to 1 (within 1e-6;
        the row is used as relative weights, so the exact normalisation does not matter).

    Returns
    -------
    jax.Array
        int32 counts of shape ``p.shape`` whose rows sum exactly to n.

    Raises
    ------
    ValueError
        For an invalid ``n``, a ``p`` without a last axis of length >= 1, negative entries or
        rows not summing to 1 within 1e-6 (concrete arguments only).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.binomial import multinomial
    >>> c = multinomial(jax.random.key(0), 1000, jnp.full((4, 3), 1 / 3))   # 4 rows
    >>> c.shape, c.dtype, c.sum(axis=-1).tolist()
    ((4, 3), dtype('int32'), [1000, 1000, 1000, 1000])
    >>> multinomial(jax.random.key(0), 10, jnp.array([0.5, 0.4]))
    Traceback (most recent call last):
    ...
    ValueError: p must be a probability vector (...) (got sum 0.9...)
    """
    _check_n(n)
    if _is_concrete(p):
        _WEIGHTS.check(p)
    p = jnp.asarray(p, _F32)
    if p.ndim < 1 or p.shape[-1] < 1:
        raise ValueError(f"p must have a last axis of length K >= 1 (got shape {p.shape})")
    batch = p.shape[:-1]
    K = p.shape[-1]
    rows = math.prod(batch)
    nb = jnp.broadcast_to(jnp.asarray(n, jnp.int32), batch).reshape(rows)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(rows, dtype=jnp.uint32))
    seeds = seed_from_key(keys)
    out = _multinomial_rows_jit(seeds, nb, p.reshape(rows, K))
    return out.reshape(p.shape)


_multinomial_rows_jit = jax.jit(multinomial_rows, static_argnames=("stream0",))
