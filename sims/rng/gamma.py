"""Exact, fast Gamma and chi-square samplers (JAX, CPU-friendly).

``jax.random.gamma`` is exact but slow on CPU (about 2 M draws/s measured here). This module
provides an exact Gamma sampler built on counter-based random bits:

- random words come from Threefry-2x32 (20 rounds, :mod:`~modelcollapse.sims.rng.threefry`)
  evaluated directly on (key words, counter),
  so every variate is a pure function of (key, element index, round) and the result does not
  depend on batch size, chunking or device count;
- shape ``a >= 1``: Marsaglia & Tsang (2000), "A simple method for generating gamma variables",
  ACM TOMS 26(3): with d = a - 1/3, c = 1/sqrt(9 d), x ~ N(0,1), u ~ U(0,1), y = c x,
  accept when y > -1 and log u < 3 d h(y), where
  h(y) = log(1 + y) - y + y^2/2 - y^3/3
  (algebraically identical to the usual test log u < x^2/2 + d - d v + d log v with
  v = (1 + y)^3, but free of the O(d) cancellation that breaks float32 at large a), and return
  G = d v, i.e. log G = log d + 3 log(1 + y);
- shape ``a < 1``: the boost G(a) = G(a + 1) U^(1/a), evaluated in log space,
  log G(a) = log G(a + 1) + log(U) / a, so tiny shapes do not underflow;
- rejections: one vectorised round for every element, then the rare leftovers are compacted and
  retried round after round (``lax.while_loop``) until every element has been accepted. Nothing is
  truncated: each element returns its first accepted proposal, exactly as the scalar algorithm.

Precision notes. In float32 a normal variate is sqrt(2) erfinv(v) with v on a symmetric 2^-23
grid of (-1, 1) (|x| <= 5.4; the same resolution as ``jax.random.normal``) and uniforms use 31
random bits (U >= 2^-32). In float64 normals and uniforms use 53 / 52 random bits. Only float32
and float64 are supported.

Public: :func:`gamma`, :func:`log_gamma`, :func:`chisquare`; all jit-compatible, with ``a``
(``df``) allowed to be a traced array broadcast against ``shape``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from modelcollapse.sims.rng.threefry import (
    key_words,
    log_uniform_from_bits,
    materialize,
    normal_from_bits,
    resolve_dtype,
    threefry2x32,
)
from modelcollapse.spec import params as P

__all__ = ["gamma", "log_gamma", "chisquare", "log_gamma_core"]


def _is64(dtype: Any) -> bool:
    return jnp.dtype(dtype) == jnp.float64


def _blocks_per_value(dtype: Any) -> int:
    """Threefry blocks that produce two values (float32: one block; float64: two blocks)."""
    return 2 if _is64(dtype) else 1


def _two_raw(k0, k1, c0, c1, dtype):
    """Raw words for two values from counter block(s) starting at (c0, c1)."""
    c1 = jnp.asarray(c1, jnp.uint32)
    if _is64(dtype):
        a = threefry2x32(k0, k1, c0, c1)
        b = threefry2x32(k0, k1, c0, c1 + jnp.uint32(1))
        return a, b
    w0, w1 = threefry2x32(k0, k1, c0, c1)
    return w0, w1


_normal = normal_from_bits
_log_unit = log_uniform_from_bits


# ----------------------------------------------------------------------------- Marsaglia-Tsang
def _h(y: jax.Array, dtype) -> jax.Array:
    """h(y) = log(1+y) - y + y^2/2 - y^3/3, accurate also for |y| << 1 (series there)."""
    nterms = 26 if _is64(dtype) else 12
    small = jnp.abs(y) < 0.25
    ys = jnp.where(small, y, 0.0)
    # h(y) = y^4 * sum_k (-1)^(k+1) y^k / (k + 4) for |y| < 1
    p = jnp.zeros_like(ys)
    for k in range(nterms - 1, -1, -1):
        p = p * ys + (1.0 if k % 2 else -1.0) / (k + 4)
    series = ys**4 * p
    yl = jnp.where(small, 0.5, y)
    direct = jnp.log1p(yl) - yl * (1.0 - yl * (0.5 - yl / 3.0))
    return jnp.where(small, series, direct)


def _mt_round(a1, x, log_u, dtype):
    """One Marsaglia-Tsang proposal for shape a1 >= 1: returns (log(G / d) proposal, accepted).

    G = d (1 + c x)^3 with d = a1 - 1/3, so the proposal is 3 log1p(c x); the constant log d is
    added by the caller (which may supply it more accurately than ``log(d)`` in the working dtype).
    """
    d = a1 - 1.0 / 3.0
    c = lax.rsqrt(9.0 * d)
    y = c * x
    ok_dom = y > -1.0
    ys = jnp.where(ok_dom, y, 0.0)
    accept = ok_dom & (log_u < 3.0 * d * _h(ys, dtype))
    l1 = jnp.log1p(ys)
    return l1 + l1 + l1, accept


_BLOCK = 32


def _retry_leftovers(logg, k0, k1, c0, a1, bpv, dt):
    """Replace every NaN entry of ``logg`` by the first accepted retry proposal of its element.

    The n elements are cut into rows of ``_BLOCK`` = 32 whose pending elements are kept as a
    32-bit mask. An outer loop compacts (``jnp.nonzero``) up to ``cap`` rows that still have
    pending elements; an inner loop then proposes, for each compacted row, one value for its
    lowest pending element until all of them are accepted. A row's lowest pending element stays
    the same until it is accepted, so one retry counter per row suffices, and element e's r-th
    retry always reads the counter blocks (c0[e], B (r + 1) ...): values do not depend on the
    batch layout. Nothing is truncated: the loops end only when every element is accepted.
    """
    n = logg.shape[0]
    rows = -(-n // _BLOCK)
    pad = rows * _BLOCK - n
    lg = jnp.concatenate([logg, jnp.zeros((pad,), logg.dtype)]) if pad else logg
    lane = jnp.arange(_BLOCK, dtype=jnp.uint32)
    # Bit j of pend[r] is set while element r * _BLOCK + j is still pending.
    pend = jnp.sum(jnp.isnan(lg.reshape(rows, _BLOCK)).astype(jnp.uint32) << lane, axis=1,
                   dtype=jnp.uint32)

    cap = rows if rows <= 256 else rows // 8 + 128

    def inner_cond(s):
        return jnp.any(s[1] != 0)

    def inner_body(s):
        lg, p, t, ridx = s
        low = p & (~p + jnp.uint32(1))  # lowest set bit (0 for finished / filler rows)
        first = (31 - lax.clz(low)).astype(jnp.int32)
        idx = jnp.where(p != 0, ridx * _BLOCK + first, rows * _BLOCK)
        t = t + 1
        c1 = (t + 1).astype(jnp.uint32) * jnp.uint32(bpv)
        rx, ru = _two_raw(jnp.take(k0, idx, mode="clip"), jnp.take(k1, idx, mode="clip"),
                          jnp.take(c0, idx, mode="clip"), c1, dt)
        prop, ok = _mt_round(jnp.take(a1, idx, mode="clip"), _normal(rx, dt),
                             _log_unit(ru, dt), dt)
        lg = lg.at[idx].set(prop, mode="drop")
        p = jnp.where(ok, p & ~low, p)
        t = jnp.where(ok, 0, t)
        return lg, p, t, ridx

    def cond(s):
        return jnp.any(s[1] != 0)

    def body(s):
        lg, pend = s
        # Compact up to `cap` pending rows once, then finish all of their elements.
        (ridx,) = jnp.nonzero(pend != 0, size=cap, fill_value=rows)
        p = jnp.take(pend, ridx, mode="fill", fill_value=0)
        t = jnp.zeros((cap,), jnp.int32)
        lg = lax.while_loop(inner_cond, inner_body, (lg, p, t, ridx))[0]
        pend = pend.at[ridx].set(0, mode="drop")
        return lg, pend

    state = (lg, pend)
    lg = lax.while_loop(cond, body, state)[0]
    return lg[:n] if pad else lg


def log_gamma_core(k0, k1, c0, a, dtype, log_d=None):
    """Exact log Gamma(a, 1) variates for 1-D arrays (k0, k1, c0, a) of one length n.

    Element e uses the counter blocks (c0[e], j): round 0 takes j in [0, 2B) (normal, uniform,
    boost uniform, spare normal) and retry round r >= 1 takes j in [B (r + 1), B (r + 2)), with B
    blocks per value pair (1 in float32, 2 in float64). Returns (log G, spare standard normal).
    The spare normal is independent of log G; the Gaussian simulator uses it for the mean.

    ``log_d`` optionally replaces the Marsaglia-Tsang constant log d (d = a' - 1/3, a' = a or
    a + 1 for a < 1) by any other offset: passing log(d s) returns log(s G). The Gaussian
    simulator passes log(2 d / (M - ddof)) = log1p(small), so the per-generation increment of the
    log-variance carries no rounding of two large logarithms (in float32 that rounding was a
    fixed bias of ~1e-6 per generation, visible after 10^4 generations at large M).

    The algorithm is that of the module docstring (Marsaglia-Tsang for a' >= 1, the boost
    log G(a) = log G(a + 1) + log(U) / a for a < 1, leftovers retried until accepted). Called
    inside jit by the simulators; no argument validation.

    Parameters
    ----------
    k0, k1 : jax.Array
        uint32 ``(n,)``: key words of each element (e.g. a :class:`~modelcollapse.sims.rng.
        threefry.Stream`'s ``k0``, ``k1``).
    c0 : jax.Array
        uint32 ``(n,)``: first counter word of each element's blocks (element index, or the
        generation).
    a : jax.Array
        ``(n,)`` shape parameters; entries that are not finite and > 0 give NaN.
    dtype : float32 or float64
        Working and output dtype.
    log_d : jax.Array, optional
        ``(n,)`` offset replacing log d (default ``log(a' - 1/3)``).

    Returns
    -------
    log_g : jax.Array
        ``(n,)`` log G, G ~ Gamma(a, 1) (shifted by ``log_d - log d`` when ``log_d`` is given).
    z : jax.Array
        ``(n,)`` standard normals independent of ``log_g``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.gamma import log_gamma_core
    >>> from modelcollapse.sims.rng.threefry import chain_words
    >>> w = chain_words(jax.random.key(0), jnp.arange(4, dtype=jnp.uint32))
    >>> c0 = jnp.zeros(4, jnp.uint32)
    >>> a = jnp.array([0.5, 1.0, 3.0, -1.0])
    >>> lg, z = log_gamma_core(w[:, 0], w[:, 1], c0, a, jnp.float32)
    >>> lg.shape, z.shape, bool(jnp.isnan(lg[3]))
    ((4,), (4,), True)

    Passing ``log_d = log(2 d)`` doubles every variate (the same draws, shifted by log 2):

    >>> d = jnp.where(a < 1, a + 1, a) - 1 / 3
    >>> lg2, z2 = log_gamma_core(w[:, 0], w[:, 1], c0, a, jnp.float32, log_d=jnp.log(2 * d))
    >>> [round(float(v), 4) for v in (lg2 - lg)[:3]], bool((z2 == z).all())
    ([0.6931, 0.6931, 0.6931], True)
    """
    dt = jnp.dtype(dtype)
    bpv = _blocks_per_value(dt)
    n = a.shape[0]
    a = a.astype(dt)
    bad = ~(jnp.isfinite(a) & (a > 0))
    a_safe = jnp.where(bad, 1.0, a)
    boost = a_safe < 1.0
    a1 = jnp.where(boost, a_safe + 1.0, a_safe)

    wx, wu = _two_raw(k0, k1, c0, 0, dt)
    prop, acc = _mt_round(a1, _normal(wx, dt), _log_unit(wu, dt), dt)
    # One array (NaN = not yet accepted), computed once: XLA would otherwise recompute the
    # round-0 fusion for each consumer (slower, and copies may round differently).
    logg = materialize(jnp.where(acc | bad, prop, jnp.nan), k0[0] if n else 1)
    if n > 0:
        logg = _retry_leftovers(logg, k0, k1, c0, a1, bpv, dt)
    wb, wz = _two_raw(k0, k1, c0, bpv, dt)
    logg = logg + (jnp.log(a1 - 1.0 / 3.0) if log_d is None else log_d)
    logg = logg + jnp.where(boost, _log_unit(wb, dt) / a_safe, 0.0)
    logg = jnp.where(bad, jnp.nan, logg)
    return logg, _normal(wz, dt)


# ----------------------------------------------------------------------------- public API
_SHAPE = P.Param("a", "shape of a Gamma(a, 1) law", low=0.0, low_open=True)


def _check_shape_param(name: str, a) -> None:
    """Validate a concrete shape parameter (traced values are checked by the NaN guard)."""
    if isinstance(a, jax.core.Tracer):
        return
    _SHAPE.restrict(name=name).array(a)


def log_gamma(key, a, shape: Sequence[int] | None = None, dtype=None) -> jax.Array:
    """Log of Gamma(a, 1) variates, exact and accurate for tiny shapes.

    Returns log G with G ~ Gamma(a, 1) (density x^(a-1) e^(-x) / Gamma(a), x > 0), computed as
    log d + 3 log(1 + c x) from an accepted Marsaglia-Tsang proposal (d = a' - 1/3,
    c = 1/sqrt(9 d), a' = a if a >= 1 else a + 1) plus log(U)/a when a < 1. Stays finite where
    G itself underflows (e.g. a = 1e-3 gives log G around -1000: E log G = digamma(a)).

    Element e of the flattened output is a deterministic function of (key, e): the draw does not
    depend on how it is batched.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key`` (or legacy uint32 key data).
    a : float or array_like
        Shape parameter(s), finite and > 0, broadcast against ``shape``; may be a traced array
        (invalid traced values give NaN instead of an error).
    shape : sequence of int, optional
        Output shape (default: the shape of ``a``); fewer than 2**32 elements.
    dtype : float32 or float64, optional
        Default: JAX's default float dtype (float64 needs x64 mode).

    Returns
    -------
    jax.Array
        log G, of shape ``shape`` and dtype ``dtype``.

    Raises
    ------
    ValueError
        For a concrete ``a`` not finite and > 0, an ``a`` that does not broadcast to ``shape``,
        2**32 elements or more, or an unsupported dtype.

    References
    ----------
    G. Marsaglia and W. W. Tsang, "A simple method for generating gamma variables", ACM TOMS
    26(3) (2000) 363-372.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.gamma import log_gamma
    >>> lg = log_gamma(jax.random.key(0), 1e-3, (1000,))
    >>> lg.shape, lg.dtype, bool(jnp.isfinite(lg).all())
    ((1000,), dtype('float32'), True)

    Most of these G underflow in float32 (G < 1e-45 has probability about 0.9 at a = 1e-3):

    >>> bool(jnp.mean(jnp.exp(lg) == 0.0) > 0.5)
    True

    The draws do not depend on the batch: the first 10 of 1000 are the 10 of a shorter call.

    >>> bool((log_gamma(jax.random.key(0), 1e-3, (10,)) == lg[:10]).all())
    True
    """
    dt = resolve_dtype(dtype)
    _check_shape_param("a", a)
    a = jnp.asarray(a, dt)
    shape = a.shape if shape is None else tuple(int(s) for s in shape)
    try:
        a = jnp.broadcast_to(a, shape)
    except ValueError as err:
        raise ValueError(f"a of shape {a.shape} does not broadcast to shape {shape}") from err
    size = int(np.prod(shape, dtype=np.int64))
    if size >= 2**32:
        raise ValueError(f"shape must have fewer than 2**32 elements, got {size}")
    k0, k1 = key_words(key)
    return _log_gamma_flat(k0, k1, a.reshape(-1), dt.name).reshape(shape)


@functools.partial(jax.jit, static_argnums=(3,))
def _log_gamma_flat(k0, k1, flat, dt_name):
    size = flat.shape[0]
    c0 = jnp.arange(size, dtype=jnp.uint32)
    lg, _ = log_gamma_core(jnp.broadcast_to(k0, (size,)), jnp.broadcast_to(k1, (size,)), c0,
                            flat, jnp.dtype(dt_name))
    return lg


def gamma(key, a, shape: Sequence[int] | None = None, dtype=None) -> jax.Array:
    """Gamma(a, 1) variates (density x^(a-1) e^(-x) / Gamma(a)), exact; exp of :func:`log_gamma`.

    Mean a, variance a. For very small ``a`` the variates underflow to 0 in floating point:
    use :func:`log_gamma` there.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key`` (or legacy uint32 key data).
    a : float or array_like
        Shape parameter(s), finite and > 0, broadcast against ``shape`` (may be traced).
    shape : sequence of int, optional
        Output shape (default: the shape of ``a``).
    dtype : float32 or float64, optional
        Default: JAX's default float dtype.

    Returns
    -------
    jax.Array
        G >= 0, of shape ``shape``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.gamma import gamma
    >>> g = gamma(jax.random.key(0), jnp.array([0.5, 2.5, 50.0]))
    >>> g.shape, g.dtype
    ((3,), dtype('float32'))
    >>> g = gamma(jax.random.key(1), 2.5, (1000,))
    >>> bool(abs(g.mean() - 2.5) < 0.2), bool(abs(g.var() - 2.5) < 0.8)   # mean a, variance a
    (True, True)
    """
    return jnp.exp(log_gamma(key, a, shape, dtype))


def chisquare(key, df, shape: Sequence[int] | None = None, dtype=None) -> jax.Array:
    """Chi-square(df) variates, exact: C = 2 G with G ~ Gamma(df/2, 1). Mean df, variance 2 df.

    Parameters
    ----------
    key : jax.Array
        A ``jax.random.key`` (or legacy uint32 key data).
    df : float or array_like
        Degrees of freedom, real, finite and > 0, broadcast against ``shape`` (may be traced).
    shape : sequence of int, optional
        Output shape (default: the shape of ``df``).
    dtype : float32 or float64, optional
        Default: JAX's default float dtype.

    Returns
    -------
    jax.Array
        C >= 0, of shape ``shape``.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.rng.gamma import chisquare
    >>> c = chisquare(jax.random.key(0), 99, (1000,))
    >>> c.shape
    (1000,)
    >>> bool(abs(c.mean() - 99) < 2.0)        # mean df (standard error 0.45 here)
    True
    >>> chisquare(jax.random.key(0), 0, (3,))
    Traceback (most recent call last):
    ...
    ValueError: df must be a finite real > 0 (got 0.0)
    """
    _check_shape_param("df", df)
    half: Any
    if isinstance(df, jax.core.Tracer):
        half = df / 2
    else:
        half = np.asarray(df, dtype=float) / 2
    return 2.0 * gamma(key, half, shape, dtype)
