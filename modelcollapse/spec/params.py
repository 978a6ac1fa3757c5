"""The parameter vocabulary: every parameter declared once, with its meaning and its domain.

Theory functions, simulators, the command line and the symbolic wrappers all validate through the
declarations below, so a parameter has one rule and one error message in every layer::

    >>> from modelcollapse.spec import params as P
    >>> P.M.scalar(100)
    100
    >>> P.M.scalar(0)
    Traceback (most recent call last):
    ...
    ValueError: M must be an integer >= 1 (got 0)
    >>> P.GAUSSIAN_M.scalar(1)
    Traceback (most recent call last):
    ...
    ValueError: M must be an integer >= 2 (got 1)

A :class:`Param` validates a Python scalar (:meth:`Param.scalar`, used by simulators), a
broadcasting NumPy array (:meth:`Param.array`, used by the closed forms) and a command-line string
(:meth:`Param.arg`, an ``argparse`` type). Relations between parameters (``M > ddof``) and
structured values (probability vectors, sample-size schedules, recorded generations, choices)
have one function each. Nothing here computes a formula and nothing imports JAX: theory and
sims both import this module (the layer rule in ``tests/test_import_rules.py``).

Deprecated spellings (old keyword names, old method names) go through
:func:`renamed_keywords` and :class:`Choice` aliases, which warn with ``DeprecationWarning`` and
keep working for one version.
"""

from __future__ import annotations

import argparse
import functools
import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Param",
    "Choice",
    "Simplex",
    "describe",
    "show",
    "require_greater",
    "probability_vector",
    "schedule",
    "sample_sizes",
    "record",
    "renamed_keywords",
    "warn_renamed",
    "VOCABULARY",
    # the declarations
    "n",
    "generations",
    "M",
    "GAUSSIAN_M",
    "ddof",
    "mu0",
    "sigma2",
    "p0",
    "p",
    "beta",
    "temperature",
    "exponent",
    "support",
    "support_points",
    "lam0",
    "chains",
    "chunk_size",
    "K",
    "k",
    "eps",
    "q",
    "x",
    "t",
    "d",
    "Sigma0",
    "det0",
    "T",
    "noise2",
    "ridge",
    "design",
    "DESIGNS",
    "method",
    "METHODS",
    "P0_ATOL",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Tolerance on the sum of a probability vector.
P0_ATOL = 1e-9


def show(x: Any) -> str:
    """A short rendering of an offending value for an error message (first 6 entries).

    Strings, bytes, ``None`` and bools are shown by ``repr``; a one-element array or a NumPy
    scalar as the plain Python value; longer arrays by their first 6 entries, with ``...``
    when there are more.

    Parameters
    ----------
    x : object
        The value to show.

    Returns
    -------
    str
        The rendering.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.spec.params import show
    >>> show(np.float64(2.5)), show("x"), show(None)
    ('2.5', "'x'", 'None')
    >>> show(range(10))
    '[0, 1, 2, 3, 4, 5] ...'
    """
    if isinstance(x, str | bytes) or x is None or isinstance(x, bool):
        return repr(x)
    try:
        flat = np.ravel(np.asarray(x))
    except Exception:  # noqa: BLE001 - anything unprintable is shown by repr
        return repr(x)
    if flat.size == 1:
        v = flat[0]
        return repr(v.item() if isinstance(v, np.generic) else v)
    return np.array2string(flat[:6], separator=", ") + (" ..." if flat.size > 6 else "")


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return str(int(v)) if float(v).is_integer() else repr(float(v))


@dataclass(frozen=True)
class Param:
    """One parameter: its name, meaning and domain.

    Parameters
    ----------
    name : str
        The name used in every layer (keyword argument, CLI flag ``--name``, error messages).
    meaning : str
        One sentence: what the value means, with its convention.
    integer : bool
        Whether the value must be integral (``3.0`` counts as the integer 3; ``True`` does not).
    low, high : float
        Bounds of the domain (``-inf``/``inf`` for none); values must be finite.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    finite : bool
        Whether infinite values are refused (NaN always is).

    Notes
    -----
    The declarations of this module (``P.M``, ``P.ddof``, ...) are ``Param`` values; a layer
    that needs a narrower domain derives one with :meth:`restrict` (``GAUSSIAN_M``: M >= 2).

    Examples
    --------
    >>> from modelcollapse.spec.params import Param
    >>> rate = Param("rate", "a rate", low=0.0, low_open=True)
    >>> rate.domain
    'a finite real > 0'
    >>> rate.array([1.0, -2.0])
    Traceback (most recent call last):
    ...
    ValueError: rate must be a finite real > 0 (got -2.0)
    """

    name: str
    meaning: str
    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    finite: bool = True

    # ----------------------------------------------------------------- description
    @property
    def domain(self) -> str:
        """The allowed values in words, e.g. ``'an integer >= 2'`` or ``'a real in (0, 1)'``."""
        bounded = not (math.isinf(self.low) or math.isinf(self.high))
        kind = "an integer" if self.integer else (
            "a real" if bounded or not self.finite else "a finite real")
        has_lo, has_hi = not math.isinf(self.low), not math.isinf(self.high)
        if has_lo and has_hi:
            lb = "(" if self.low_open else "["
            rb = ")" if self.high_open else "]"
            return f"{kind} in {lb}{_fmt(self.low)}, {_fmt(self.high)}{rb}"
        if has_lo:
            return f"{kind} {'>' if self.low_open else '>='} {_fmt(self.low)}"
        if has_hi:
            return f"{kind} {'<' if self.high_open else '<='} {_fmt(self.high)}"
        return kind

    def message(self, got: Any) -> str:
        """The one error message of this parameter: ``'<name> must be <domain> (got <value>)'``."""
        return f"{self.name} must be {self.domain} (got {show(got)})"

    def restrict(self, **changes: Any) -> Param:
        """The same parameter with a narrower domain (``M`` of the Gaussian refit: ``>= 2``)."""
        return replace(self, **changes)

    # ----------------------------------------------------------------- checks
    def _bad(self, arr: NDArray[np.float64]) -> NDArray[np.bool_]:
        bad = np.isnan(arr) | (~np.isfinite(arr) if self.finite else False)
        bad |= (arr <= self.low) if self.low_open else (arr < self.low)
        bad |= (arr >= self.high) if self.high_open else (arr > self.high)
        if self.integer:
            with np.errstate(invalid="ignore"):
                bad |= arr != np.floor(arr)
        return bad

    def scalar(self, value: Any) -> Any:
        """``value`` as a Python ``int`` (integer parameters) or ``float``, or ``ValueError``.

        Accepts Python and NumPy numbers (and 0-d arrays); rejects bools, strings, ``None``,
        NaN, infinities and values outside the domain, with :meth:`message`.

        Parameters
        ----------
        value : number
            The value to validate.

        Returns
        -------
        int or float
            The validated value (``3.0`` becomes ``3`` for an integer parameter).

        Examples
        --------
        >>> import numpy as np
        >>> from modelcollapse.spec import params as P
        >>> P.M.scalar(np.float64(3.0)), P.ddof.scalar(1)
        (3, 1.0)
        >>> P.M.scalar(True)
        Traceback (most recent call last):
        ...
        ValueError: M must be an integer >= 1 (got True)
        """
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ValueError(self.message(value))
        v = float(value)
        if self._bad(np.asarray(v)):
            raise ValueError(self.message(value))
        if self.integer:
            return int(value) if isinstance(value, numbers.Integral) else int(v)
        return v

    def array(self, value: ArrayLike) -> NDArray[np.float64]:
        """``value`` as a float64 array (broadcasting callers), every entry in the domain.

        Raises ``ValueError`` with :meth:`message`, showing the offending entries.

        Parameters
        ----------
        value : array_like
            Numbers (bool and non-numeric arrays are refused).

        Returns
        -------
        numpy.ndarray
            float64, the shape of ``value``.

        Examples
        --------
        >>> from modelcollapse.spec import params as P
        >>> P.n.array([0, 1, 10]).tolist()
        [0.0, 1.0, 10.0]
        >>> P.n.array([1, -1, 2.5])
        Traceback (most recent call last):
        ...
        ValueError: n must be an integer >= 0 (got [-1. ,  2.5])
        """
        try:
            raw = np.asarray(value)
        except Exception:  # noqa: BLE001 - ragged or exotic input
            raise ValueError(self.message(value)) from None
        if raw.dtype == np.bool_ or raw.dtype.kind not in "iuf":
            raise ValueError(self.message(value))
        arr = raw.astype(np.float64)
        bad = self._bad(arr)
        if bad.any():
            raise ValueError(self.message(arr[bad] if arr.ndim else arr))
        return arr

    def arg(self, text: str) -> Any:
        """An ``argparse`` type: parse ``text`` (``'100'``, ``'1e3'``) and validate it.

        Parameters
        ----------
        text : str
            The command-line text.

        Returns
        -------
        int or float
            As :meth:`scalar`; invalid text raises ``argparse.ArgumentTypeError`` with
            :meth:`message`.

        Examples
        --------
        >>> from modelcollapse.spec import params as P
        >>> P.M.arg("1e3")
        1000
        """
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(self.message(text)) from None
        try:
            return self.scalar(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(self.message(text)) from exc

    def __call__(self, value: Any) -> Any:  # a Param is also a plain validator
        return self.scalar(value)


@dataclass(frozen=True)
class Choice:
    """A parameter taking one of a few names (``method``, ``workflow``, ...).

    ``aliases`` maps a deprecated spelling to its current name; using it warns with
    ``DeprecationWarning`` and returns the current name.

    Parameters
    ----------
    name : str
        The name used in every layer.
    meaning : str
        One sentence: what the choice selects.
    choices : tuple of str
        The current names.
    aliases : mapping of str to str
        Deprecated spelling -> current name (default none).

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.method.check("sufficient")
    'sufficient'
    >>> P.method.check("exact")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of ('samples', 'sufficient') (got 'exact')
    """

    name: str
    meaning: str
    choices: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return f"one of {self.choices}"

    def message(self, got: Any) -> str:
        return f"{self.name} must be {self.domain} (got {show(got)})"

    def check(self, value: Any, *, stacklevel: int = 3) -> str:
        """The validated name (aliases warn and map to the current name).

        Parameters
        ----------
        value : str
            A name or a deprecated alias.
        stacklevel : int
            ``stacklevel`` of the ``DeprecationWarning`` of an alias.

        Returns
        -------
        str
            One of ``choices``.

        Examples
        --------
        >>> import warnings
        >>> from modelcollapse.spec import params as P
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     P.method.check("counts")
        'sufficient'
        >>> str(caught[0].message)
        "method='counts' is deprecated; use method='sufficient'"
        """
        if isinstance(value, str) and value in self.aliases:
            new = self.aliases[value]
            warnings.warn(f"{self.name}={value!r} is deprecated; use {self.name}={new!r}",
                          DeprecationWarning, stacklevel=stacklevel)
            return new
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(self.message(value))
        return value

    def arg(self, text: str) -> str:
        """An ``argparse`` type."""
        try:
            return self.check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None


# --------------------------------------------------------------------------------------------
# Relations and structured values
# --------------------------------------------------------------------------------------------


def require_greater(a: Param, a_value: ArrayLike, b: Param, b_value: ArrayLike) -> None:
    """``ValueError`` unless ``a_value > b_value`` everywhere (broadcast): ``'M must be > ddof
    (got M=3.0, ddof=3.0)'``.

    The message shows the offending pairs only (as float64).

    Parameters
    ----------
    a : Param
        The parameter that must be larger (its name is used in the message).
    a_value : array_like
        Its value(s).
    b : Param
        The parameter that must be smaller.
    b_value : array_like
        Its value(s), broadcast against ``a_value``.

    Raises
    ------
    ValueError
        Unless ``a_value > b_value`` at every broadcast position.

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.require_greater(P.M, 10, P.ddof, 1)           # fine: returns None
    >>> P.require_greater(P.M, [3, 4, 5], P.ddof, [1, 4, 6])
    Traceback (most recent call last):
    ...
    ValueError: M must be > ddof (got M=[4., 5.], ddof=[4., 6.])
    """
    av = np.asarray(a_value, dtype=np.float64)
    bv = np.asarray(b_value, dtype=np.float64)
    shape = np.broadcast_shapes(av.shape, bv.shape)
    ab, bb = np.broadcast_to(av, shape), np.broadcast_to(bv, shape)
    bad = ~(ab > bb)
    if bad.any():
        raise ValueError(f"{a.name} must be > {b.name} (got {a.name}={show(ab[bad])}, "
                         f"{b.name}={show(bb[bad])})")


@dataclass(frozen=True)
class Simplex:
    """A probability-vector parameter (``p0``): finite entries ``>= 0`` summing to 1 along the
    last axis, within ``atol``.

    Parameters
    ----------
    name : str
        The name used in every layer.
    meaning : str
        One sentence: what the vector is.
    atol : float
        Tolerance on ``|sum - 1|`` (default ``P0_ATOL`` = 1e-9).

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.p0.check([0.5, 0.5]).tolist()
    [0.5, 0.5]
    >>> P.p0.check([0.5, 0.4])
    Traceback (most recent call last):
    ...
    ValueError: p0 must be a probability vector (entries >= 0 summing to 1 within 1e-09 along the last axis) (got sum 0.9)
    """  # noqa: E501

    name: str
    meaning: str
    atol: float = P0_ATOL

    @property
    def domain(self) -> str:
        return (f"a probability vector (entries >= 0 summing to 1 within {self.atol:g} along "
                "the last axis)")

    def message(self, got: str) -> str:
        return f"{self.name} must be {self.domain} (got {got})"

    def restrict(self, **changes: Any) -> Simplex:
        return replace(self, **changes)

    def check(self, value: ArrayLike, *, ndim: int | None = None) -> NDArray[np.float64]:
        """``value`` as a float64 array; ``ndim=1`` also requires a single vector (simulators);
        theory functions accept stacks of vectors (leading axes broadcast).

        Parameters
        ----------
        value : array_like
            Probabilities, shape (..., K) with K >= 1.
        ndim : int, optional
            Required number of dimensions.

        Returns
        -------
        numpy.ndarray
            float64, the shape of ``value`` (not renormalised).
        """
        try:
            raw = np.asarray(value)
        except Exception:  # noqa: BLE001
            raise ValueError(self.message(show(value))) from None
        if raw.dtype == np.bool_ or raw.dtype.kind not in "iuf" or raw.ndim == 0 or raw.size == 0:
            raise ValueError(self.message(show(value)))
        if ndim is not None and raw.ndim != ndim:
            raise ValueError(self.message(f"an array of shape {raw.shape}"))
        arr = raw.astype(np.float64)
        ok = np.isfinite(arr) & (arr >= 0)
        if not np.all(ok):
            raise ValueError(self.message(show(arr[~ok])))
        total = arr.sum(axis=-1)
        if np.any(np.abs(total - 1.0) > self.atol):
            raise ValueError(self.message(f"sum {show(total)}"))
        return arr

    def arg(self, text: str) -> NDArray[np.float64]:
        """An ``argparse`` type: comma-separated probabilities, e.g. ``'0.5,0.3,0.2'``."""
        try:
            vals = [float(v) for v in str(text).split(",") if v.strip()]
            return self.check(np.asarray(vals, dtype=np.float64), ndim=1)
        except ValueError:
            raise argparse.ArgumentTypeError(self.message(repr(text))) from None


def probability_vector(value: ArrayLike, name: str = "p0", *, ndim: int | None = None,
                       atol: float = P0_ATOL) -> NDArray[np.float64]:
    """Validate a probability vector named ``name`` (see :class:`Simplex`).

    Entries must be finite and ``>= 0`` and sum to 1 along the last axis within ``atol``.

    Parameters
    ----------
    value : array_like
        Probabilities, shape (..., K).
    name : str
        The name used in the error message.
    ndim : int, optional
        Required number of dimensions (``1``: a single vector).
    atol : float
        Tolerance on ``|sum - 1|`` (default 1e-9).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``value`` (not renormalised).

    Examples
    --------
    >>> from modelcollapse.spec.params import probability_vector
    >>> probability_vector([0.2, 0.8], "p").tolist()
    [0.2, 0.8]
    >>> probability_vector([[0.2, 0.8]], "p", ndim=1)
    Traceback (most recent call last):
    ...
    ValueError: p must be a probability vector (entries >= 0 summing to 1 within 1e-09 along
    the last axis) (got an array of shape (1, 2))
    """
    return p0.restrict(name=name, atol=atol).check(value, ndim=ndim)


def schedule(value: Any, param: Param, *, length: int | None = None) -> tuple[int, ...]:
    """A sample-size schedule ``M_1, ..., M_n``: a 1-D sequence whose entries satisfy ``param``.

    Entry ``i`` is validated as ``param`` and reported as ``M[i]``; ``length`` (if given) is the
    number of generations the schedule must cover.

    Parameters
    ----------
    value : sequence of int
        The schedule (1-D; ``M_i`` is the sample size of the fit producing generation i).
    param : Param
        The rule of each entry (e.g. ``M`` or ``GAUSSIAN_M``).
    length : int, optional
        Required number of entries.

    Returns
    -------
    tuple of int
        The validated entries.

    Raises
    ------
    ValueError
        For a string, an array that is not 1-D, a wrong length, or an invalid entry.

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.schedule([10, 20.0, 30], P.M, length=3)
    (10, 20, 30)
    >>> P.schedule([10, 0, 30], P.M)
    Traceback (most recent call last):
    ...
    ValueError: M[1] must be an integer >= 1 (got 0)
    """
    if isinstance(value, str | bytes):
        raise ValueError(f"{param.name} must be {param.domain} or a 1-D schedule of them "
                         f"(got {value!r})")
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{param.name} as a schedule must be 1-D (got shape {arr.shape})")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{param.name} as a schedule must have one entry per generation: length "
                         f"generations={length} (got length {arr.shape[0]})")
    out = []
    for i, v in enumerate(arr.tolist()):
        try:
            out.append(param.scalar(v))
        except ValueError:
            raise ValueError(param.restrict(name=f"{param.name}[{i}]").message(v)) from None
    return tuple(out)


def sample_sizes(value: Any, param: Param, generations_value: int
                 ) -> tuple[int | None, tuple[int, ...]]:
    """A constant sample size or a schedule ``M_1, ..., M_n``, validated as ``param``.

    Parameters
    ----------
    value : int or sequence of int
        ``M``: one sample size for every generation, or one per generation.
    param : Param
        The declaration each size must satisfy (e.g. :data:`GAUSSIAN_M`).
    generations_value : int
        The number of generations a schedule must cover.

    Returns
    -------
    tuple
        ``(M, (M,))`` for a constant, ``(None, schedule)`` for a schedule.

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.sample_sizes(10, P.M, 3), P.sample_sizes([3, 4, 5], P.M, 3)
    ((10, (10,)), (None, (3, 4, 5)))
    """
    if np.ndim(value) == 0 and not isinstance(value, str | bytes):
        m = param.scalar(value)
        return m, (m,)
    return None, schedule(value, param, length=generations_value)


def record(value: Any, generations_value: int) -> NDArray[np.int64]:
    """Generations to record: integers in ``[0, generations]``; sorted, deduplicated, 0 added.

    Parameters
    ----------
    value : sequence of int
        A non-empty 1-D sequence (or a scalar) of generation indices.
    generations_value : int
        The run's number of generations (the largest allowed index).

    Returns
    -------
    numpy.ndarray
        int64 indices, increasing, starting with 0.

    Raises
    ------
    ValueError
        For an empty, 2-D or string value, or an index outside ``[0, generations]``.

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.record([5, 2, 5], 10).tolist()
    [0, 2, 5]
    >>> P.record([11], 10)
    Traceback (most recent call last):
    ...
    ValueError: record must be an integer in [0, 10] (got 11)
    """
    rec = generations.restrict(name="record", high=float(generations_value))
    arr = np.asarray(value) if not isinstance(value, str | bytes) else None
    if arr is None or arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"record must be a 1-D sequence of generation indices, each "
                         f"{rec.domain} (got {show(value)})")
    vals = [rec.scalar(v) for v in arr.reshape(-1).tolist()]
    return np.unique(np.asarray([0, *vals], dtype=np.int64))


# --------------------------------------------------------------------------------------------
# Deprecated spellings
# --------------------------------------------------------------------------------------------


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that keyword/field ``old`` is deprecated in favour of ``new``.

    Parameters
    ----------
    old : str
        The deprecated name.
    new : str
        The name to use instead (may carry a hint, e.g. ``"sigma2 (= sigma0**2)"``).
    stacklevel : int
        Passed to :func:`warnings.warn` (3: the caller of the function that warns).

    Examples
    --------
    >>> import warnings
    >>> from modelcollapse.spec.params import warn_renamed
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("Ms", "M")
    >>> caught[0].category.__name__, str(caught[0].message)
    ('DeprecationWarning', "'Ms' is deprecated and will be removed in the next version; use 'M'")
    """
    warnings.warn(f"{old!r} is deprecated and will be removed in the next version; use {new!r}",
                  DeprecationWarning, stacklevel=stacklevel)


def renamed_keywords(**old_to_new: str) -> Callable[[F], F]:
    """Decorator: accept deprecated keyword names for one version (with ``DeprecationWarning``).

    ``@renamed_keywords(Ms="M")`` lets ``f(Ms=...)`` keep working as ``f(M=...)``; giving both
    raises ``TypeError``.

    Parameters
    ----------
    **old_to_new : str
        Deprecated keyword name -> current name.

    Returns
    -------
    callable
        The decorator (it keeps the wrapped function's name and docstring).

    Examples
    --------
    >>> import warnings
    >>> from modelcollapse.spec.params import renamed_keywords
    >>> @renamed_keywords(Ms="M")
    ... def f(*, M):
    ...     return M
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f(Ms=3)
    3
    >>> caught[0].category.__name__
    'DeprecationWarning'
    >>> f(Ms=3, M=4)
    Traceback (most recent call last):
    ...
    TypeError: f() got both 'Ms' (deprecated) and 'M'
    """

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old!r} (deprecated) and "
                                        f"{new!r}")
                    warn_renamed(old, new)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


# --------------------------------------------------------------------------------------------
# The vocabulary
# --------------------------------------------------------------------------------------------

n = Param("n", "generation index: 0 is the original distribution, n the model after n refits",
          integer=True, low=0)
generations = Param("generations", "number of refits simulated (generations 0..generations)",
                    integer=True, low=0)
M = Param("M", "samples drawn per generation (M_i is the sample size of the fit that produces "
          "generation i)", integer=True, low=1)
GAUSSIAN_M = M.restrict(low=2)
ddof = Param("ddof", "delta degrees of freedom of the variance estimator sum (x - xbar)^2 / "
             "(M - ddof): 1 unbiased (the theorem), 0 maximum likelihood", low=0.0)
mu0 = Param("mu0", "mean of the original Gaussian (generation 0)")
sigma2 = Param("sigma2", "variance sigma_0^2 of the original Gaussian (generation 0)", low=0.0,
               low_open=True)
p0 = Simplex("p0", "original distribution p0 over K symbols (a probability vector)")
p = Param("p", "original probability p0_i of one symbol", low=0.0, high=1.0)
beta = Param("beta", "add-beta smoothing pseudo-count of the categorical refit "
             "q_i = (c_i + beta) / (M + K beta)", low=0.0)
temperature = Param("temperature", "sampling temperature T of synthetic categorical data "
                    "(drawn from q^(1/T), normalised; T < 1 sharpens)", low=0.0, low_open=True)
exponent = Param("exponent", "Zipf exponent of the original distribution p0_i proportional to "
                "i^(-exponent), i = 1..K (the tail exponent beta of Dohmatob et al. 2024)",
                low=0.0, low_open=True)
support = Param("support", "numeric values x_1 < ... < x_K of the K categorical symbols "
                "(default 0, 1, ..., K - 1)")
lam0 = Param("lam0", "rate lambda_0 of the original Poisson distribution (generation 0)",
             low=0.0, low_open=True)
chains = Param("chains", "number of independent simulated chains", integer=True, low=1)
chunk_size = Param("chunk_size", "chains simulated per batch (results do not depend on it)",
                   integer=True, low=1)
K = Param("K", "number of symbols of the categorical distribution", integer=True, low=1)
k = Param("k", "moment order (real)")
eps = Param("eps", "collapse threshold, a ratio of variances sigma_n^2 / sigma_0^2", low=0.0,
            low_open=True)
q = Param("q", "probability level of a quantile", low=0.0, high=1.0, low_open=True,
          high_open=True)
x = Param("x", "a point of the log-variance axis log(sigma_n^2 / sigma_0^2)", finite=False)
t = Param("t", "generation index of an iterate (t = 0 is the starting value)", integer=True,
          low=0)
d = Param("d", "dimension of the multivariate Gaussian", integer=True, low=1)
Sigma0 = Param("Sigma0", "covariance of the original multivariate Gaussian (generation 0): a "
               "symmetric positive definite d x d matrix, or its d eigenvalues")
det0 = Param("det0", "determinant det Sigma_0 of the original covariance (generation 0)",
             low=0.0, low_open=True)

T = Param("T", "samples per generation of the regression fit (rows of the design X, T x d)",
          integer=True, low=1)
noise2 = Param("noise2", "label noise variance sigma^2 of the linear model y = x^T beta + eps, "
               "eps ~ N(0, sigma^2), used for real and synthetic labels alike", low=0.0,
               low_open=True)
ridge = Param("ridge", "ridge penalty lambda of the refit beta = (X^T X + lambda I)^-1 X^T y "
              "(0: ordinary least squares)", low=0.0)

METHODS = ("samples", "sufficient")
method = Choice("method", "simulator path: 'samples' draws and fits the M points (the "
                "reference), 'sufficient' draws the fitted statistics' exact law (fast)",
                METHODS, aliases={"counts": "sufficient"})
DESIGNS = ("fixed", "fresh")
design = Choice("design", "regression design convention: 'fixed' draws the design X once and "
                "reuses it every generation (KoyejoLab's code), 'fresh' draws a new X each "
                "generation (Dohmatob et al. 2024)", DESIGNS)

#: Every declaration by name.
VOCABULARY: dict[str, Param | Choice | Simplex] = {
    v.name: v
    for v in (n, generations, M, ddof, mu0, sigma2, p0, p, beta, temperature, exponent, lam0,
              chains, chunk_size, K, k, eps, q, x, t, method, support, d, Sigma0, det0, T,
              noise2, ridge, design)
}


def support_points(value: ArrayLike | None, K_value: int) -> NDArray[np.float64]:
    """The numeric support ``x_1 < ... < x_K`` of K symbols: ``0, 1, ..., K - 1`` for None.

    Parameters
    ----------
    value : array_like or None
        Finite reals, 1-D of length ``K``, strictly increasing (validated as :data:`support`).
    K_value : int
        The number of symbols.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(K,)``.

    Examples
    --------
    >>> from modelcollapse.spec import params as P
    >>> P.support_points(None, 3).tolist(), P.support_points([-1, 0.5, 2], 3).tolist()
    ([0.0, 1.0, 2.0], [-1.0, 0.5, 2.0])
    >>> P.support_points([0, 2, 1], 3)
    Traceback (most recent call last):
    ...
    ValueError: support must be strictly increasing finite reals of length K=3 (got [0, 2, 1])
    """
    if value is None:
        return np.arange(K_value, dtype=np.float64)
    arr = support.array(value)
    if arr.shape != (K_value,) or np.any(np.diff(arr) <= 0):
        raise ValueError(f"support must be strictly increasing finite reals of length "
                         f"K={K_value} (got {show(value)})")
    return arr


def describe() -> str:
    """The vocabulary as a table: name, domain, meaning (``modelcollapse params``).

    One line per declaration of :data:`VOCABULARY`, in declaration order, in aligned columns.

    Returns
    -------
    str
        The table (no header).

    Examples
    --------
    >>> from modelcollapse.spec.params import describe
    >>> print(describe().splitlines()[2])
    M  an integer >= 1  samples drawn per generation (M_i is the sample size of the fit that
    produces generation i)
    """
    rows = []
    for name, v in VOCABULARY.items():
        rows.append((name, v.domain, v.meaning))
    width = max(len(r[0]) for r in rows)
    dom = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:<{dom}}  {c}" for a, b, c in rows)

