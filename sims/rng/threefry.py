"""Counter-based random streams: Threefry-2x32 blocks keyed by chain and generation.

Every random number of the simulators is a pure function of (key, chain index, generation,
counter), never of the batch it was computed in, so results are bit-identical whatever the chunk
size, the number of devices or the number of processes:

- chain ``i`` owns two 32-bit key words ``w_i``, the key data of
  ``jax.random.fold_in(jax.random.fold_in(key, i), 0)`` (:func:`chain_words`; for Threefry keys
  computed here with the block function, which compiles much faster than a vmapped ``fold_in``);
- generation ``g`` of chain ``i`` reads the blocks ``Threefry2x32(w_i; (g, j))``, ``j = 0, 1, ...``
  (:class:`Stream`). Samplers that own a 64-bit seed take ``Stream.seeds(tag)``, the block
  ``(g, tag)``; independent sub-streams (real and synthetic data of one generation) are
  ``Stream.child(tag)``.

Threefry-2x32 with 20 rounds is the block cipher of Salmon, Moraes, Dror & Shaw, "Parallel
random numbers: as easy as 1, 2, 3" (SC 2011), the generator behind ``jax.random``; the
implementation here is bit-identical to JAX's (checked against Random123's known-answer vectors
in the tests).

Also here: the conversions of random words to floats (normals by inversion, uniforms), and
:func:`materialize`, which makes XLA compute a value exactly once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = [
    "threefry2x32",
    "chain_words",
    "Stream",
    "seed_from_key",
    "materialize",
    "resolve_dtype",
    "key_words",
    "normal_from_bits",
    "log_uniform_from_bits",
    "open_unit_from_bits",
]

_PARITY = 0x1BD11BDA
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_U32 = jnp.uint32


def _rotl(x: jax.Array, r: int) -> jax.Array:
    return (x << jnp.uint32(r)) | (x >> jnp.uint32(32 - r))


def threefry2x32(k0: Any, k1: Any, c0: Any, c1: Any) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 block cipher with 20 rounds (Salmon et al., SC 2011), elementwise.

    Maps the key words ``(k0, k1)`` and the counter words ``(c0, c1)`` (uint32, broadcast) to two
    pseudo-random uint32 words. Bit-identical to JAX's ``threefry_2x32``.

    Algorithm: with the key schedule ``ks = (k0, k1, k0 ^ k1 ^ 0x1BD11BDA)``, start from
    ``x = (c0 + k0, c1 + k1)`` and run 5 groups of 4 rounds; a round is
    ``x0 <- x0 + x1, x1 <- rotl(x1, r) ^ x0`` with the rotations ``r`` = (13, 15, 26, 6) in even
    groups and (17, 29, 16, 24) in odd ones; after group ``i`` (0-based) the key is injected:
    ``x0 += ks[(i + 1) % 3]``, ``x1 += ks[(i + 2) % 3] + i + 1``. All arithmetic is modulo
    2^32.

    Parameters
    ----------
    k0, k1 : array_like of uint32
        Key words.
    c0, c1 : array_like of uint32
        Counter words.

    Returns
    -------
    tuple of jax.Array
        The two output words (uint32), broadcast shape of the inputs.

    References
    ----------
    J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, "Parallel random numbers: as easy as
    1, 2, 3", SC 2011 (the Random123 known-answer vectors: key 0, counter 0 gives
    ``0x6b200159 0x99ba4efe``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import threefry2x32
    >>> [hex(int(w)) for w in threefry2x32(*(jnp.uint32(0),) * 4)]
    ['0x6b200159', '0x99ba4efe']

    Inputs broadcast (here one key, eight counters):

    >>> y0, y1 = threefry2x32(jnp.uint32(1), jnp.uint32(2), jnp.uint32(0), jnp.arange(8))
    >>> y0.shape, y0.dtype
    ((8,), dtype('uint32'))
    """
    k0 = jnp.asarray(k0, jnp.uint32)
    k1 = jnp.asarray(k1, jnp.uint32)
    x0 = jnp.asarray(c0, jnp.uint32) + k0
    x1 = jnp.asarray(c1, jnp.uint32) + k1
    ks = (k0, k1, k0 ^ k1 ^ jnp.uint32(_PARITY))
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x0, x1


def chain_words(key: jax.Array, idx: jax.Array) -> jax.Array:
    """Key words of ``fold_in(fold_in(key, i), 0)`` for each global chain index ``i``.

    For Threefry keys this evaluates JAX's ``fold_in`` (the data of ``fold_in(k, d)`` is
    ``threefry2x32(k; 0, d)``) with :func:`threefry2x32`; other key implementations go through
    ``jax.random`` directly.

    Parameters
    ----------
    key : jax.Array
        A typed PRNG key (``jax.random.key``).
    idx : jax.Array
        uint32 global chain indices, shape ``(n,)``.

    Returns
    -------
    jax.Array
        uint32 array ``(n, 2)``: row ``i`` holds the two key words of chain ``idx[i]``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import chain_words
    >>> key = jax.random.key(0)
    >>> w = chain_words(key, jnp.arange(3, dtype=jnp.uint32))
    >>> w.shape, w.dtype
    ((3, 2), dtype('uint32'))

    The same words as two ``fold_in`` calls:

    >>> ref = jax.random.key_data(jax.random.fold_in(jax.random.fold_in(key, 2), 0))
    >>> bool((w[2] == ref).all())
    True
    """
    if "threefry" in str(jax.random.key_impl(key)):
        kd = jax.random.key_data(key)
        zero = jnp.zeros_like(idx)
        c0, c1 = threefry2x32(kd[0], kd[1], zero, idx)
        w0, w1 = threefry2x32(c0, c1, zero, zero)
        return jnp.stack([w0, w1], axis=1)

    def one(i: jax.Array) -> jax.Array:
        return jax.random.key_data(jax.random.fold_in(jax.random.fold_in(key, i), 0))

    return jax.vmap(one)(idx)


class Stream(NamedTuple):
    """The random stream of one generation for a batch of chains (a pytree; use inside jit).

    Block ``j`` is ``Threefry2x32(k; (g, j))``: a pure function of the chain's key words, the
    generation and ``j``.

    Attributes
    ----------
    k0, k1 : jax.Array
        uint32 ``(n,)``: the chains' key words (the columns of :func:`chain_words`).
    g : jax.Array
        uint32 scalar: the generation, the first counter word of every block.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import Stream, chain_words
    >>> w = chain_words(jax.random.key(0), jnp.arange(3, dtype=jnp.uint32))
    >>> s = Stream(w[:, 0], w[:, 1], jnp.uint32(1))
    >>> s.normals(5, jnp.float32).shape       # 5 points for each of 3 chains
    (5, 3)
    >>> s.seeds(7).shape, s.seeds(7).dtype
    ((3, 2), dtype('uint32'))
    >>> bool((s.child(7).k0 == s.seeds(7)[:, 0]).all())
    True
    """

    k0: jax.Array
    k1: jax.Array
    g: jax.Array

    def block(self, j: Any) -> tuple[jax.Array, jax.Array]:
        """Words of block ``(g, j)`` (``j`` broadcasts against the chains, e.g. ``(m, 1)``).

        Parameters
        ----------
        j : array_like of uint32
            Second counter word(s), broadcast against ``(n,)``.

        Returns
        -------
        tuple of jax.Array
            The two uint32 output words of :func:`threefry2x32`.
        """
        return threefry2x32(self.k0, self.k1, self.g, jnp.asarray(j, _U32))

    def normals(self, m: int, dtype: Any) -> jax.Array:
        """``m`` standard normals per chain, shape ``(m, n)``, from blocks ``(g, j)``.

        float32: block ``j`` gives points ``2j`` and ``2j + 1``; float64: block ``j`` gives
        point ``j`` (53 random bits). Conversion by :func:`normal_from_bits`.

        Parameters
        ----------
        m : int
            Points per chain (static).
        dtype : float32 or float64
            Output dtype (float64 needs x64 mode).

        Returns
        -------
        jax.Array
            ``(m, n)`` standard normals.
        """
        per = 1 if jnp.dtype(dtype) == jnp.float64 else 2
        nblk = -(-m // per)
        j = jnp.arange(nblk, dtype=_U32)[:, None]
        w0, w1 = threefry2x32(self.k0[None, :], self.k1[None, :], self.g, j)
        if per == 2:
            w = jnp.stack([w0, w1], axis=1).reshape(2 * nblk, -1)  # rows 2j, 2j+1 from block j
            z = normal_from_bits(w, dtype)
        else:
            z = normal_from_bits((w0, w1), dtype)
        return z[:m]

    def seeds(self, tag: int) -> jax.Array:
        """A 64-bit seed per chain, ``(n, 2)`` uint32: the words of block ``(g, tag)``.

        Parameters
        ----------
        tag : int
            Second counter word (a uint32 constant naming the use).

        Returns
        -------
        jax.Array
            uint32 ``(n, 2)``.
        """
        y0, y1 = threefry2x32(self.k0, self.k1, self.g, _U32(tag))
        return jnp.stack([y0, y1], axis=1)

    def child(self, tag: int) -> Stream:
        """An independent stream of the same generation: key words = block ``(g, tag)``.

        Parameters
        ----------
        tag : int
            Second counter word of the block that keys the child.

        Returns
        -------
        Stream
            Same ``g``, new key words.
        """
        y0, y1 = threefry2x32(self.k0, self.k1, self.g, _U32(tag))
        return Stream(y0, y1, self.g)

    def keys(self, tag: int) -> jax.Array:
        """One ``jax.random`` Threefry key per chain (for ``jax.random`` samplers).

        Parameters
        ----------
        tag : int
            Second counter word of the block whose words become the key data.

        Returns
        -------
        jax.Array
            ``(n,)`` typed keys (implementation ``threefry2x32``) with data :meth:`seeds`.
        """
        return jax.random.wrap_key_data(self.seeds(tag), impl="threefry2x32")


def seed_from_key(key: jax.Array) -> jax.Array:
    """The 64-bit seed (two uint32 words, shape ``key.shape + (2,)``) of a JAX PRNG key.

    The seed is ``jax.random.bits(key, (2,), uint32)``, so it works for every key
    implementation; key arrays are mapped element by element.

    Parameters
    ----------
    key : jax.Array
        A typed PRNG key or key array (``jax.random.key``, ``jax.random.split``), or raw uint32
        key data of the legacy ``jax.random.PRNGKey`` (shape ``(2,)``, taken as one key).

    Returns
    -------
    jax.Array
        uint32, shape ``key.shape + (2,)`` (``(2,)`` for legacy key data).

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.rng.threefry import seed_from_key
    >>> seed_from_key(jax.random.key(0)).shape
    (2,)
    >>> seed_from_key(jax.random.split(jax.random.key(0), 3)).shape
    (3, 2)
    >>> bool((seed_from_key(jax.random.PRNGKey(0)) == seed_from_key(jax.random.key(0))).all())
    True
    """
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.bits(key, (2,), _U32) if key.ndim == 0 else jax.vmap(seed_from_key)(key)
    # raw uint32 key data (legacy jax.random.PRNGKey)
    return seed_from_key(jax.random.wrap_key_data(jnp.asarray(key, _U32)))


def key_words(key: Any) -> tuple[jax.Array, jax.Array]:
    """Two uint32 words drawn from a single PRNG key (or legacy uint32 key data).

    The words are ``jax.random.bits(key, (2,), uint32)``: the same as :func:`seed_from_key`
    for a single key, returned as a pair.

    Parameters
    ----------
    key : jax.Array
        One typed PRNG key (shape ``()``), or legacy uint32 key data (``jax.random.PRNGKey``).

    Returns
    -------
    tuple of jax.Array
        Two uint32 scalars.

    Raises
    ------
    ValueError
        For a typed key array of any shape other than ``()``.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse.sims.rng.threefry import key_words, seed_from_key
    >>> k0, k1 = key_words(jax.random.key(0))
    >>> k0.dtype, k0.shape
    (dtype('uint32'), ())
    >>> bool(k1 == seed_from_key(jax.random.key(0))[1])
    True
    >>> key_words(jax.random.split(jax.random.key(0), 2))
    Traceback (most recent call last):
    ...
    ValueError: key must be a single PRNG key, got key array of shape (2,)
    """
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key must be a single PRNG key, got key array of shape {key.shape}")
    else:
        key = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))
    w = jax.random.bits(key, (2,), jnp.uint32)
    return w[0], w[1]


def materialize(x: Any, token: Any) -> Any:
    """Return ``x`` computed exactly once (a buffer), whatever XLA's fusion decisions.

    XLA CPU may duplicate cheap elementwise producers into several fusions, and two copies of
    the same arithmetic can round differently (``a*b + c`` contracted into an FMA in one loop
    body and not in another, depending on shapes). ``optimization_barrier`` is expanded away
    before fusion on CPU, so this routes ``x`` through a ``lax.cond`` whose (always true)
    predicate XLA cannot prove: ``(token | 1) != 0`` for a traced uint32 scalar ``token``.

    Parameters
    ----------
    x : pytree of jax.Array
        The value to compute once.
    token : array_like
        A traced integer scalar (any value; converted to uint32); a constant would let XLA
        fold the predicate away.

    Returns
    -------
    pytree of jax.Array
        ``x`` itself (the false branch, which negates, is never taken).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import materialize
    >>> f = jax.jit(lambda v, t: materialize(v * 2.0, t) + 1.0)
    >>> f(jnp.arange(3.0), jnp.uint32(5)).tolist()
    [1.0, 3.0, 5.0]
    """
    pred = (jnp.asarray(token, jnp.uint32) | jnp.uint32(1)) != jnp.uint32(0)
    return lax.cond(pred, lambda v: v, lambda v: jax.tree.map(jnp.negative, v), x)


def resolve_dtype(dtype: Any) -> Any:
    """float32 or float64 (default: JAX's default float); float64 needs x64 mode.

    Parameters
    ----------
    dtype : dtype-like or None
        ``None`` (float64 when ``jax_enable_x64`` is set, else float32), float32 or float64.

    Returns
    -------
    numpy.dtype
        float32 or float64.

    Raises
    ------
    ValueError
        For any other dtype, and for float64 outside x64 mode.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import resolve_dtype
    >>> resolve_dtype(jnp.float32)
    dtype('float32')
    >>> with jax.enable_x64(True):
    ...     resolve_dtype(None)
    dtype('float64')
    >>> resolve_dtype("int32")
    Traceback (most recent call last):
    ...
    ValueError: dtype must be float32 or float64 (got int32)
    >>> resolve_dtype("abc")
    Traceback (most recent call last):
    ...
    ValueError: dtype must be float32 or float64 (got 'abc')
    """
    if dtype is None:
        return jnp.dtype(jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32)
    try:
        dt = jnp.dtype(dtype)
    except (TypeError, ValueError):  # not a dtype at all ("abc", 3.5, an object)
        raise ValueError(f"dtype must be float32 or float64 (got {dtype!r})") from None
    if dt not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise ValueError(f"dtype must be float32 or float64 (got {dt})")
    if dt == jnp.float64 and not jax.config.read("jax_enable_x64"):
        raise ValueError(
            "dtype must be float32 or float64, and float64 needs x64 mode: call "
            "jax.config.update('jax_enable_x64', True) (got float64 without it)")
    return dt


# ----------------------------------------------------------------------------- words -> floats
def _is64(dtype: Any) -> bool:
    return jnp.dtype(dtype) == jnp.float64


def _u32_to_f64(w: jax.Array) -> jax.Array:
    """Exact float64 value of uint32 words, using only signed conversions (fast on x86)."""
    return ((w >> jnp.uint32(16)).astype(jnp.int32).astype(jnp.float64) * 65536.0
            + (w & jnp.uint32(0xFFFF)).astype(jnp.int32).astype(jnp.float64))


def normal_from_bits(w: Any, dtype: Any) -> jax.Array:
    """Standard normal from raw words by inversion: ``sqrt(2) erfinv(v)``, v symmetric in (-1, 1).

    float32: one word, ``v`` on a symmetric 2^-23 grid (``|x| <= 5.4``, the resolution of
    ``jax.random.normal``): ``v = k 2^-23 + 2^-24 - 1`` with ``k`` the top 24 bits of the word.
    float64: a pair of words ``(hi, lo)``, 53 random bits (the top 21 of ``hi`` and all of
    ``lo``) on the symmetric grid ``v = k 2^-52 + 2^-53 - 1`` (``|x| <= 8.3``).

    Parameters
    ----------
    w : jax.Array or pair of jax.Array
        uint32 words: one array for float32, a pair ``(hi, lo)`` of equal shape for float64.
    dtype : float32 or float64
        Output dtype (float64 needs x64 mode).

    Returns
    -------
    jax.Array
        Standard normals, the shape of the word array(s).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import normal_from_bits
    >>> w = jnp.array([0, 2**31, 2**32 - 1], dtype=jnp.uint32)
    >>> [round(float(z), 2) for z in normal_from_bits(w, jnp.float32)]   # the extremes: +-5.42
    [-5.42, 0.0, 5.42]
    >>> with jax.enable_x64(True):
    ...     z = normal_from_bits((w, w), jnp.float64)
    >>> z.dtype, round(float(z[-1]), 2)
    (dtype('float64'), 8.29)
    """
    if _is64(dtype):
        hi, lo = w
        k = (hi >> jnp.uint32(11)).astype(jnp.int32).astype(jnp.float64) * 2.0**32
        v = (k + _u32_to_f64(lo)) * 2.0**-52 + (2.0**-53 - 1.0)
    else:
        k = (w >> jnp.uint32(8)).astype(jnp.int32).astype(jnp.float32)
        v = k * jnp.float32(2.0**-23) + jnp.float32(2.0**-24 - 1.0)
    dt = jnp.dtype(dtype)
    return jnp.asarray(np.sqrt(2.0), dt) * lax.erf_inv(v.astype(dt))


def log_uniform_from_bits(w: Any, dtype: Any) -> jax.Array:
    """``log U`` for U uniform on (0, 1] (float32: 31 random bits, U >= 2^-32; float64: 52).

    float32: ``U = k 2^-31 + 2^-32`` with ``k`` the top 31 bits of the word (the largest value
    rounds to 1 in float32, so ``log U = 0`` is possible); float64: a pair of words ``(hi, lo)``,
    ``U = (k + 1/2) 2^-52`` with ``k`` the top 20 bits of ``hi`` and all of ``lo`` (U < 1).

    Parameters
    ----------
    w : jax.Array or pair of jax.Array
        uint32 words: one array for float32, a pair ``(hi, lo)`` for float64.
    dtype : float32 or float64
        Output dtype (float64 needs x64 mode).

    Returns
    -------
    jax.Array
        ``log U`` (<= 0), the shape of the word array(s).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import log_uniform_from_bits
    >>> w = jnp.array([0, 2**32 - 1], dtype=jnp.uint32)
    >>> [round(float(v), 2) for v in log_uniform_from_bits(w, jnp.float32)]   # log 2^-32, 0
    [-22.18, 0.0]
    """
    if _is64(dtype):
        hi, lo = w
        k = (hi >> jnp.uint32(12)).astype(jnp.int32).astype(jnp.float64) * 2.0**32
        u = (k + _u32_to_f64(lo) + 0.5) * 2.0**-52
    else:
        # (w >> 1) has 31 bits: a signed conversion; the 2^-32 offset keeps U > 0.
        k = (w >> jnp.uint32(1)).astype(jnp.int32).astype(jnp.float32)
        u = k * jnp.float32(2.0**-31) + jnp.float32(2.0**-32)
    return jnp.log(u)


def open_unit_from_bits(bits: jax.Array) -> jax.Array:
    """float32 uniform on the open interval (0, 1): ``(2 m + 1) 2^-24``, m the top 23 bits.

    The values are the midpoints of a 2^-23 grid, from 2^-24 to 1 - 2^-24: never 0 or 1.

    Parameters
    ----------
    bits : jax.Array
        uint32 words.

    Returns
    -------
    jax.Array
        float32 uniforms, the shape of ``bits``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from modelcollapse.sims.rng.threefry import open_unit_from_bits
    >>> u = open_unit_from_bits(jnp.array([0, 2**32 - 1], dtype=jnp.uint32))
    >>> float(u[0]) == 2.0**-24, float(u[1]) == 1.0 - 2.0**-24
    (True, True)
    """
    m = (bits >> _U32(9)).astype(jnp.int32)
    return (2 * m + 1).astype(jnp.float32) * jnp.float32(2.0**-24)
