"""Exact test error of a linear regression refit on its own labels, generation after generation.

Model. ``y = x^T beta + eps`` with ``x ~ N(0, I_d)`` (isotropic Gaussian features) and
``eps ~ N(0, noise2)`` (``noise2`` is the label noise variance sigma^2, the same for real and
synthetic labels). Generation 0 is the truth ``beta_0``. Generation 1 is the ordinary least
squares (OLS) fit on ``T`` real samples (labels from ``beta_0``). Generation ``n >= 2`` relabels a
design with the previous fit, ``y = X beta_{n-1} + fresh noise``, and refits. The first fit sees
real data only (for every workflow).

Test error. The excess risk ``E_x (x^T beta_n - x^T beta_0)^2 = ||beta_n - beta_0||^2`` (this
identity uses the isotropic features ``E x x^T = I``); the irreducible label-noise floor
``noise2`` of a test label is *not* included. ``expected_test_error`` averages it over the
label noise and over the Gaussian designs.

Designs (``design``): ``"fixed"`` draws one ``T x d`` design ``X`` once and reuses it in every
generation (KoyejoLab's code); ``"fresh"`` draws a new Gaussian ``X`` each generation (Dohmatob,
Feng & Kempe 2024).

Workflows (values of :mod:`modelcollapse.spec.workflows`, or their names):

- ``replace``: fit on the ``T`` newest samples only;
- ``accumulate``: fit on all data so far (with the fixed design ``X`` repeated, with the fresh
  design the pooled rows of every generation);
- ``mix``: ``r = workflow.real_count(T)`` rows carry real labels (``beta_0`` plus fresh noise),
  ``T - r`` synthetic labels; with the fixed design the first ``r`` rows of ``X`` are the real
  ones (``fixed_real=True``, reusing the real noise, is refused);
- ``weighted``: ``beta_n = w beta_real + (1 - w) beta_syn``, ``beta_real`` an OLS fit on
  ``n_real`` (default ``T``) real samples, ``beta_syn`` on ``T`` synthetic ones (in expectation;
  the same in both designs, and whether or not the real rows are rows of ``X``: the real and
  synthetic noises are independent, so only ``E tr K`` of each fit enters).

Write ``K = (X^T X)^{-1}``, ``e_g = K_g X_g^T eps_g`` and ``delta_n = beta_n - beta_0``. Then:

- replace: ``delta_n = delta_{n-1} + e_n``, so ``E||delta_n||^2 = n noise2 d/(T - d - 1)`` in
  both designs (``E tr K = d/(T - d - 1)``, the mean of an inverse Wishart; needs ``T > d + 1``);
- accumulate, fixed: ``delta_n = delta_{n-1} + e_n/n``, so ``E||delta_n||^2 = noise2 d/(T - d -
  1) H2(n)``, ``H2(n) = sum_{g<=n} 1/g^2 < pi^2/6`` (Gerstgrasser et al. 2024);
- accumulate, fresh: ``delta_n = delta_{n-1} + A_n^{-1} X_n^T eps_n`` with ``A_n`` the pooled
  Gram matrix (Wishart with ``n T`` degrees of freedom), and by exchangeability of the ``n``
  blocks ``E||delta_n||^2 = noise2 d sum_{g<=n} 1/(g (g T - d - 1))`` (exact), whose limit is
  ``noise2 d/(d+1) [psi(1) - psi(1 - (d+1)/T)]``;
- mix, fresh: ``E||delta_n||^2 = c E||delta_{n-1}||^2 + noise2 d/(T - d - 1)`` with the exact
  contraction ``c = E tr(P^T P)/d``, ``P = K X_s^T X_s`` (see :func:`mix_contraction`);
- mix, fixed: exact given ``X`` (:func:`conditional_test_error`); in expectation over ``X``,
  ``E||delta_n||^2 = noise2/(T-d-1) sum_{j<n} E tr P^{2j}`` (``P^j K P^{jT}`` has the trace of
  ``K`` times ``P^{2j}``'s, and the two factors are independent), computed exactly for
  ``d = 1`` (``P ~ Beta((T-r)/2, r/2)``) and for ``n <= 2`` (``E tr P^2`` from the moments of a
  random projection); other ``(n, d)`` are refused by name. At ``n = 2`` the fresh design's
  error is the *larger* one (``tr P^T P >= tr P^2``), for ``d = 1`` and ``n >= 3`` the
  smaller one (Jensen);
- the test error of one chain is random: :func:`variance_of_test_error` gives its variance
  (replace in both designs, accumulate fixed), from the second moments of the inverse Wishart.

References
----------
.. [1] E. Dohmatob, Y. Feng and J. Kempe, "Model collapse demystified: the case of regression",
   NeurIPS 2024 (fresh design, replace).
.. [2] M. Gerstgrasser, R. Schaeffer, A. Dey et al., "Is model collapse inevitable? Breaking the
   curse of recursion by accumulating real and synthetic data", 2024 (fixed design,
   accumulate: the pi^2/6 bound).
.. [3] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Sec. 3.2 (Wishart
   and inverse Wishart moments); D. von Rosen, "Moments for the inverted Wishart
   distribution", Scand. J. Statist. 15 (1988), 97-109.

Examples
--------
>>> from modelcollapse.theory import regression as rg
>>> float(rg.expected_test_error(3, 10, 2))          # 3 * 2/(10 - 2 - 1)
0.8571428571428571
>>> round(float(rg.accumulate_bound(10, 2)), 12)     # (pi^2/6) * 2/7
0.469981161957
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from modelcollapse.spec import params as P
from modelcollapse.spec import workflows as W

__all__ = [
    "expected_test_error",
    "accumulate_bound",
    "stationary_test_error",
    "variance_of_test_error",
    "mix_contraction",
    "conditional_test_error",
]

Float = np.float64 | NDArray[np.float64]

_MAX_INT = float(2**53)
_T = P.T.restrict(high=_MAX_INT)
_D = P.d.restrict(high=1e6)
_N = P.n.restrict(high=_MAX_INT)
_NAMES = ("replace", "mix", "accumulate", "weighted")
_COND_NAMES = ("replace", "mix", "accumulate")
_DIRECT = 64  # sums over g <= n are added term by term up to this n
_MAX_TERMS = 2**22  # the fixed-design mix sum (d = 1) is added term by term


# --------------------------------------------------------------------------------------------
# validation (private)
# --------------------------------------------------------------------------------------------


def _out(x: ArrayLike) -> Float:
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _broadcast(**arrays: NDArray[np.float64]) -> tuple[int, ...]:
    shapes = {name: np.shape(v) for name, v in arrays.items()}
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        shown = {k: v for k, v in shapes.items() if v != ()}
        raise ValueError(f"{' and '.join(shown)} do not broadcast: shapes "
                         f"{' and '.join(str(v) for v in shown.values())}") from None


def _T_d(T: ArrayLike, d: ArrayLike, *, extra: int = 1) -> tuple[NDArray[np.float64], int]:
    """Validated ``(T, d)`` with ``T > d + extra`` everywhere (``extra`` 1: the mean of the
    inverse Wishart exists; 3: its second moments)."""
    T_ = _T.array(T)
    d_ = int(_D.scalar(d))
    bad = ~(T_ > d_ + extra)
    if np.any(bad):
        got = T_[bad] if T_.ndim else T_
        raise ValueError(f"T must be > d + {extra} (got T={P.show(got)}, d={d_}): "
                         + ("the OLS test error is finite only for T > d + 1" if extra == 1
                            else "the variance needs the inverse Wishart's second moments, "
                                 "T > d + 3"))
    return T_, d_


def _design(design: str) -> str:
    return P.design.check(design)


def _workflow(workflow: W.WorkflowLike, where: str, names: tuple[str, ...] = _NAMES) -> W.Workflow:
    wf = W.require(workflow, f"theory.regression.{where}", names=names)
    if wf.name == "mix" and wf.fixed_real:
        raise ValueError(f"workflow mix(fixed_real=True) is not available for theory.regression."
                         f"{where}: the real rows get fresh label noise every generation "
                         f"(fixed_real=False)")
    return wf


def _real_counts(wf: W.Workflow, T_: NDArray[np.float64]) -> NDArray[np.float64]:
    """``workflow.real_count(T)`` for every entry of ``T``."""
    values, inv = np.unique(np.ravel(T_), return_inverse=True)
    counts = np.array([float(wf.real_count(int(t))) for t in values], dtype=np.float64)
    return counts[np.ravel(inv)].reshape(np.shape(T_))


def _inv_wishart_trace(T_: NDArray[np.float64], d: int) -> NDArray[np.float64]:
    """``E tr (X^T X)^{-1} = d/(T - d - 1)`` for a ``T x d`` standard Gaussian ``X``."""
    return d / (T_ - d - 1.0)


def _h2(n_: NDArray[np.float64]) -> NDArray[np.float64]:
    """``H2(n) = sum_{g<=n} 1/g^2``: summed directly for ``n <= 64``, else ``pi^2/6 -
    zeta(2, n + 1)`` (Hurwitz zeta; ``0`` at ``n = 0``)."""
    n_ = np.asarray(n_, dtype=np.float64)
    table = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, _DIRECT + 1.0) ** 2)])
    small = n_ <= _DIRECT
    direct = table[np.where(small, n_, 0.0).astype(np.int64)]
    return np.where(small, direct, np.pi**2 / 6.0 - special.zeta(2.0, np.maximum(n_, 1.0) + 1.0))


def _fresh_accumulate_sum(n_: NDArray[np.float64], T_: NDArray[np.float64],
                          d: int) -> NDArray[np.float64]:
    """``sum_{g<=n} 1/(g (g T - d - 1))`` by partial fractions: with ``x = (d + 1)/T < 1``,
    ``1/(g (g T - d - 1)) = (1/(d + 1)) [1/(g - x) - 1/g]``, so the sum is
    ``[psi(n + 1 - x) - psi(1 - x) - psi(n + 1) + psi(1)]/(d + 1)`` (``n = inf``: the first and
    third terms cancel). For ``x <= 1/2`` the same as the power series
    ``sum_{j>=1} [zeta(j+1) - zeta(j+1, n+1)] x^j/(d + 1)`` (no cancellation at large T);
    term by term for ``n <= 64``."""
    c = d + 1.0
    n_, T_ = np.broadcast_arrays(np.asarray(n_, dtype=np.float64), T_)
    x = c / T_
    finite = np.isfinite(n_)
    nn = np.where(finite, n_, 1.0)
    head = special.digamma(1.0) - special.digamma(1.0 - x)
    tail = np.where(finite, special.digamma(nn + 1.0 - x) - special.digamma(nn + 1.0), 0.0)
    by_psi = (head + tail) / c
    # the power series in x (60 terms: x^60 <= 2^-60 for x <= 1/2)
    j = np.arange(1.0, 61.0)
    hz = special.zeta(j + 1.0) - np.where(finite[..., None],
                                          special.zeta(j + 1.0, nn[..., None] + 1.0), 0.0)
    xs = np.minimum(x, 0.5)[..., None]
    by_series = np.sum(hz * xs**j, axis=-1) / c
    # direct sum where n is small
    g = np.arange(1.0, _DIRECT + 1.0)
    terms = 1.0 / (g * (g * T_[..., None] - c))
    direct = np.sum(np.where(g <= n_[..., None], terms, 0.0), axis=-1)
    return np.where(n_ <= _DIRECT, direct, np.where(x <= 0.5, by_series, by_psi))


def _inv_wishart_second(T_: NDArray[np.float64], d: int
                        ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(E tr K^2, Var tr K)`` for ``K = (X^T X)^{-1}``, ``X`` a ``T x d`` standard Gaussian
    (``a = T - d > 3``, ``D = a (a-1)^2 (a-3)``): ``E tr K^2 = [2 a d + d (d-1)(a-1)]/D +
    d/(a-1)^2`` and ``Var tr K = 2 d (d + a - 1)/D`` (from ``Cov(K_ij, K_kl) = [2 d_ij d_kl +
    (a-1)(d_ik d_jl + d_il d_jk)]/D``)."""
    a = T_ - d
    D = a * (a - 1.0) ** 2 * (a - 3.0)
    etr2 = (2.0 * a * d + d * (d - 1.0) * (a - 1.0)) / D + d / (a - 1.0) ** 2
    vtr = 2.0 * d * (d + a - 1.0) / D
    return etr2, vtr


# --------------------------------------------------------------------------------------------
# the mix contraction
# --------------------------------------------------------------------------------------------


def _mix_c(T_: NDArray[np.float64], d: int, r: NDArray[np.float64]) -> NDArray[np.float64]:
    alpha = d * (d + 2.0) * (T_ - 2.0) / (T_ * (T_ + 2.0) * (T_ - d - 1.0))
    beta = (d - T_ * alpha) / (T_ * (T_ - 1.0))
    return (d - 2.0 * r * d / T_ + r * alpha + r * (r - 1.0) * beta) / d


def mix_contraction(T: ArrayLike, d: int, *, workflow: W.WorkflowLike = "mix") -> Float:
    """The exact contraction ``c`` of the mix workflow's test error with a fresh design.

    Formula: with ``P = (X^T X)^{-1} X_s^T X_s`` (``X_s`` the ``T - r`` synthetic rows of a fresh
    ``T x d`` Gaussian design, ``r = workflow.real_count(T)`` real rows),
    c = E tr(P^T P)/d = [d - 2 r d/T + r alpha + r (r - 1) beta]/d,
    alpha = d (d+2)(T-2)/(T (T+2)(T-d-1)),  beta = (d - T alpha)/(T (T-1)),
    where alpha = E ||x_i||^2 x_i^T K^2 x_i and beta = E (x_i^T x_j)(x_j^T K^2 x_i), i != j
    (``K = (X^T X)^{-1}``). Then ``E||delta_n||^2 = c E||delta_{n-1}||^2 + noise2 d/(T-d-1)``.
    ``c = 1`` for ``r = 0`` (replace), ``c = 0`` for ``r = T``, ``c ~ (1 - r/T)^2`` for large T.

    Parameters
    ----------
    T : int or array_like
        Rows per fit (samples per generation), integer > d + 1.
    d : int
        Dimension of ``beta``, integer >= 1.
    workflow : Workflow or str, optional
        A ``mix`` workflow (default ``"mix"``: 10 % real rows, ``round(0.1 T)``).

    Returns
    -------
    float or ndarray
        ``c`` in [0, 1], float64 of the shape of ``T``.

    Notes
    -----
    Exact. ``E tr(A_r K) = r d/T`` by exchangeability of the rows; ``alpha`` from ``X = U
    A^{1/2}`` (``U`` uniform on the Stiefel manifold, independent of ``A = X^T X``),
    ``||u_i||^2 ~ Beta(d/2, (T-d)/2)`` and ``E A_11 K_11 = (T-2)/(T-d-1)`` (Schur complement);
    ``beta`` from ``E tr(K^2 A^2) = d``.

    References
    ----------
    .. [1] R. J. Muirhead, *Aspects of Multivariate Statistical Theory* (1982), Sec. 3.2.

    Examples
    --------
    >>> from modelcollapse.spec.workflows import mix
    >>> from modelcollapse.theory import regression as rg
    >>> round(float(rg.mix_contraction(10, 3, workflow=mix(n_real=4))), 12)   # 13/27
    0.481481481481
    >>> float(rg.mix_contraction(10, 3, workflow=mix(n_real=0)))
    1.0
    """
    wf = _workflow(workflow, "mix_contraction", ("mix",))
    T_, d_ = _T_d(T, d)
    return _out(_mix_c(T_, d_, _real_counts(wf, T_)))


def _mix_trace_p2(T_: NDArray[np.float64], d: int, r: NDArray[np.float64]) -> NDArray[np.float64]:
    """``E tr P^2`` for ``P = K A_s`` (one Gaussian design, ``r`` real rows): with the
    projection ``H = X K X^T``, ``tr P^2 = d - 2 tr H_rr + tr H_rr^2``, ``E H_ii^2 = d (d+2)/
    (T (T+2))`` and ``E H_ij^2 = d (T-d)/(T (T-1)(T+2))`` (``i != j``)."""
    hii = d * (d + 2.0) / (T_ * (T_ + 2.0))
    hij = d * (T_ - d) / (T_ * (T_ - 1.0) * (T_ + 2.0))
    return d - 2.0 * r * d / T_ + r * hii + r * (r - 1.0) * hij


def _mix_fixed_sum(n_: NDArray[np.float64], T_: NDArray[np.float64], d: int,
                   r: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_{j<n} E tr P^{2j}`` (``tr P^0 = d``) for the fixed-design mix: every ``n`` when
    ``d = 1`` (``P ~ Beta((T-r)/2, r/2)``), ``n <= 2`` otherwise (``ValueError`` beyond)."""
    if d >= 2:
        if np.any(n_ > 2):
            raise ValueError(f"n must be <= 2 for workflow 'mix' with design='fixed' and d >= 2 "
                             f"(got n={P.show(n_[n_ > 2])}, d={d}): E tr P^(2j) of the shared "
                             f"P = (X^T X)^-1 X_s^T X_s has no closed form here for j >= 2; use "
                             f"conditional_test_error, or design='fresh'")
        return np.where(n_ == 0, 0.0, np.where(n_ == 1, float(d), d + _mix_trace_p2(T_, d, r)))
    N = int(n_.max()) if n_.size else 0
    n_, T_, r = np.broadcast_arrays(n_, T_, r)
    pairs, inv = np.unique(np.stack([np.ravel(T_), np.ravel(r)], axis=1), axis=0,
                           return_inverse=True)
    if N > _MAX_TERMS or pairs.shape[0] * (N + 1) > _MAX_TERMS:
        raise ValueError(f"n must be <= {_MAX_TERMS // max(pairs.shape[0], 1) - 1} for workflow "
                         f"'mix' with design='fixed' and {pairs.shape[0]} distinct (T, r) (got "
                         f"n={N}): the sum is evaluated term by term")
    Tu, ru = pairs[:, 0:1], pairs[:, 1:2]
    j2 = 2.0 * np.arange(max(N, 1), dtype=np.float64)
    inner = (ru > 0) & (ru < Tu)
    aa = np.where(inner, (Tu - ru) / 2.0, 1.0)
    bb = np.where(inner, ru / 2.0, 1.0)
    # E P^{2j} = B(a + 2j, b)/B(a, b) = Gamma(a+2j) Gamma(a+b)/(Gamma(a) Gamma(a+b+2j))
    logm = (special.gammaln(aa + j2) - special.gammaln(aa) + special.gammaln(aa + bb)
            - special.gammaln(aa + bb + j2))
    terms = np.where(inner, np.exp(logm), np.where((ru == 0) | (j2 == 0.0), 1.0, 0.0))
    cums = np.concatenate([np.zeros((pairs.shape[0], 1)), np.cumsum(terms, axis=-1)], axis=-1)
    out = cums[np.ravel(inv), np.ravel(n_).astype(np.int64)]
    return out.reshape(np.shape(n_))


# --------------------------------------------------------------------------------------------
# expectations over the label noise and the Gaussian designs
# --------------------------------------------------------------------------------------------


def _weighted_terms(wf: W.Workflow, T_: NDArray[np.float64], d: int, s: NDArray[np.float64]):
    w = wf.effective_weight
    nr = T_ if wf.n_real is None else np.full_like(T_, float(wf.n_real))
    if np.any(~(nr > d + 1)):
        raise ValueError(f"n_real must be > d + 1 for the weighted regression (got n_real="
                         f"{P.show(nr[~(nr > d + 1)])}, d={d})")
    real = w**2 * s * d / (nr - d - 1.0)
    a = (1.0 - w) ** 2
    return real, a, a * s * _inv_wishart_trace(T_, d)


def expected_test_error(n: ArrayLike, T: ArrayLike, d: int, *, noise2: ArrayLike = 1.0,
                        design: str = "fixed", workflow: W.WorkflowLike = "replace") -> Float:
    """The expected excess test error ``E||beta_n - beta_0||^2`` of generation ``n``.

    Formulas (``s = noise2``, ``k = d/(T - d - 1)``, ``H2(n) = sum_{g<=n} 1/g^2``):

    - replace (either design): ``n s k``;
    - accumulate, fixed: ``s k H2(n)``;
    - accumulate, fresh: ``s d sum_{g<=n} 1/(g (g T - d - 1))`` (smaller than fixed for n >= 2);
    - mix, fresh: ``s k (1 - c^n)/(1 - c)``, ``c`` = :func:`mix_contraction` (``n s k`` at c = 1);
    - mix, fixed: ``s/(T-d-1) sum_{j<n} E tr P^{2j}``, ``P = (X^T X)^{-1} X_s^T X_s``: for
      ``d = 1`` ``E P^{2j} = B(a + 2j, b)/B(a, b)``, ``a = (T-r)/2``, ``b = r/2``; for ``d >= 2``
      only ``n <= 2``, ``E tr P^2 = d - 2 r d/T + r d (d+2)/(T (T+2)) + r (r-1) d (T-d)/(T (T-1)
      (T+2))``;
    - weighted (either design): ``E_n = w^2 s d/(n_r - d - 1) + (1-w)^2 (E_{n-1} + s k)``,
      ``E_0 = 0``.

    Convention: generation 0 is ``beta_0`` (error 0); generation 1 is the OLS fit on ``T`` real
    samples; features ``x ~ N(0, I_d)``, so the excess risk is ``||beta_n - beta_0||^2``; the
    noise floor ``noise2`` of a test label is not included.

    Parameters
    ----------
    n : int or array_like
        Generation, integer >= 0.
    T : int or array_like
        Samples per generation (rows of each design), integer > d + 1.
    d : int
        Number of features, integer >= 1.
    noise2 : float or array_like, optional
        Label noise variance sigma^2 > 0 (real and synthetic labels).
    design : {"fixed", "fresh"}, optional
        ``"fixed"``: one design reused every generation; ``"fresh"``: a new one each generation.
    workflow : Workflow or str, optional
        ``replace`` (default), ``accumulate``, ``mix`` (with the fixed design: ``d = 1``, or
        ``n <= 2``; otherwise see :func:`conditional_test_error`) or ``weighted``;
        ``accumulate_subsample`` raises ``ValueError``.

    Returns
    -------
    float or ndarray
        float64 of shape ``broadcast(n, T, noise2)``.

    Notes
    -----
    Exact (expectation over designs and noise). The replace formula is the same for both designs
    (so the two designs differ only in the spread, :func:`variance_of_test_error`); with accumulate
    the fresh design's error is smaller, ``g T - d - 1 >= g (T - d - 1)``; with mix neither is
    smaller in general: at ``n = 2`` the fresh one is larger (``E tr P^T P >= E tr P^2``), and
    for ``d = 1`` the fixed one is larger from ``n = 3`` on (``E P^{2j} >= (E P^2)^j``).

    References
    ----------
    .. [1] E. Dohmatob, Y. Feng and J. Kempe, "Model collapse demystified: the case of
       regression", NeurIPS 2024.
    .. [2] M. Gerstgrasser et al., "Is model collapse inevitable?", 2024.

    Examples
    --------
    >>> from modelcollapse.theory import regression as rg
    >>> rg.expected_test_error([0, 1, 2], 12, 3).tolist()           # n * 3/8
    [0.0, 0.375, 0.75]
    >>> float(rg.expected_test_error(2, 12, 3, workflow="accumulate"))  # (3/8)(1 + 1/4)
    0.46875
    >>> round(float(rg.expected_test_error(2, 12, 3, design="fresh", workflow="accumulate")), 12)
    0.45
    >>> rg.expected_test_error(1, 4, 3)
    Traceback (most recent call last):
    ...
    ValueError: T must be > d + 1 (got T=4.0, d=3): the OLS test error is finite only for T > d + 1
    """
    wf = _workflow(workflow, "expected_test_error")
    des = _design(design)
    n_ = _N.array(n)
    T_, d_ = _T_d(T, d)
    s = P.noise2.array(noise2)
    shape = _broadcast(n=n_, T=T_, noise2=s)
    n_, T_, s = (np.broadcast_to(v, shape) for v in (n_, T_, s))
    k = _inv_wishart_trace(T_, d_)
    if wf.name == "replace":
        return _out(n_ * s * k)
    if wf.name == "accumulate":
        if des == "fixed":
            return _out(s * k * _h2(n_))
        return _out(s * d_ * _fresh_accumulate_sum(n_, T_, d_))
    if wf.name == "mix":
        if des == "fixed":
            return _out(s / (T_ - d_ - 1.0) * _mix_fixed_sum(n_, T_, d_, _real_counts(wf, T_)))
        c = _mix_c(T_, d_, _real_counts(wf, T_))
        with np.errstate(divide="ignore", invalid="ignore"):
            geo = np.where(c < 1.0, -np.expm1(n_ * np.log(np.maximum(c, 1e-300)))
                           / np.where(c < 1.0, 1.0 - c, 1.0), n_)
        geo = np.where(c == 0.0, np.minimum(n_, 1.0), geo)
        return _out(s * k * geo)
    # weighted: E_n = b + a E_{n-1}, E_0 = 0
    real, a, syn = _weighted_terms(wf, T_, d_, s)
    b = real + syn
    geo = n_ if a == 1.0 else (-np.expm1(n_ * math.log(a)) / (1.0 - a) if a > 0.0
                               else np.minimum(n_, 1.0))
    return _out(b * geo)


def accumulate_bound(T: ArrayLike, d: int, *, noise2: ArrayLike = 1.0,
                     design: str = "fixed") -> Float:
    """The limit ``lim_n E||beta_n - beta_0||^2`` of the accumulate workflow (an upper bound for
    every generation).

    Formulas: fixed design ``noise2 d pi^2 / (6 (T - d - 1))`` (Gerstgrasser et al. 2024);
    fresh design ``noise2 d/(d + 1) [psi(1) - psi(1 - (d + 1)/T)]`` (the sum
    ``sum_g 1/(g (g T - d - 1))`` by partial fractions; ``psi`` the digamma function), which is
    smaller and ``~ noise2 d pi^2/(6 T)`` for large T.

    Parameters
    ----------
    T : int or array_like
        Samples per generation, integer > d + 1.
    d : int
        Number of features, integer >= 1.
    noise2 : float or array_like, optional
        Label noise variance > 0.
    design : {"fixed", "fresh"}, optional
        Design convention (module docstring).

    Returns
    -------
    float or ndarray
        float64 of shape ``broadcast(T, noise2)``.

    Notes
    -----
    Exact. The expected error increases with ``n`` to this limit. The fresh-design limit is
    evaluated as the power series ``sum_j zeta(j+1) x^j/(d+1)``, ``x = (d+1)/T``, when
    ``x <= 1/2`` (relative error about 1e-15 at any large T) and by the digamma difference
    otherwise.

    References
    ----------
    .. [1] M. Gerstgrasser et al., "Is model collapse inevitable?", 2024.

    Examples
    --------
    >>> from modelcollapse.theory import regression as rg
    >>> round(float(rg.accumulate_bound(8, 1)), 12)        # pi^2/36
    0.274155677808
    >>> round(float(rg.accumulate_bound(8, 1, design="fresh")), 12)   # (3 log 2 - pi/2)/2
    0.254322607442
    """
    des = _design(design)
    T_, d_ = _T_d(T, d)
    s = P.noise2.array(noise2)
    _broadcast(T=T_, noise2=s)
    if des == "fixed":
        return _out(s * _inv_wishart_trace(T_, d_) * np.pi**2 / 6.0)
    return _out(s * d_ * _fresh_accumulate_sum(np.asarray(np.inf), T_, d_))


def stationary_test_error(T: ArrayLike, d: int, *, noise2: ArrayLike = 1.0,
                          design: str = "fresh", workflow: W.WorkflowLike = "mix") -> Float:
    """The limit ``lim_n E||beta_n - beta_0||^2`` of a workflow (``inf`` when it diverges).

    Formulas (``s = noise2``, ``k = d/(T-d-1)``): replace ``inf``; accumulate
    :func:`accumulate_bound`; mix (fresh design) ``s k/(1 - c)``, ``c`` =
    :func:`mix_contraction` (``inf`` when ``c = 1``, no real rows); mix (fixed design,
    ``d = 1`` only) ``s/(T-2) E 1/(1 - U^2)``, ``U ~ Beta(a, b)``, ``a = (T-r)/2``, ``b = r/2``,
    ``= s/(2 (T-2)) [(a+b-1)/(b-1) + 2F1(1, a; a+b; -1)]`` (``inf`` for ``r <= 2``); weighted
    ``[w^2 s d/(n_r - d - 1) + (1-w)^2 s k]/(1 - (1-w)^2)`` (``inf`` at ``w = 0``).

    Parameters
    ----------
    T : int or array_like
        Samples per generation, integer > d + 1.
    d : int
        Number of features, integer >= 1.
    noise2 : float or array_like, optional
        Label noise variance > 0.
    design : {"fixed", "fresh"}, optional
        Design convention (default ``"fresh"``); mix with ``"fixed"`` needs ``d = 1``.
    workflow : Workflow or str, optional
        ``mix`` (default, 10 % real rows), ``replace``, ``accumulate`` or ``weighted``.

    Returns
    -------
    float or ndarray
        float64 of shape ``broadcast(T, noise2)``.

    Notes
    -----
    Exact (the limit of :func:`expected_test_error`).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import mix
    >>> from modelcollapse.theory import regression as rg
    >>> round(float(rg.stationary_test_error(10, 3, workflow=mix(n_real=4))), 12)  # (1/2)/(14/27)
    0.964285714286
    """
    wf = _workflow(workflow, "stationary_test_error")
    des = _design(design)
    T_, d_ = _T_d(T, d)
    s = P.noise2.array(noise2)
    shape = _broadcast(T=T_, noise2=s)
    T_, s = np.broadcast_to(T_, shape), np.broadcast_to(s, shape)
    k = _inv_wishart_trace(T_, d_)
    if wf.name == "replace":
        return _out(np.full(shape, np.inf))
    if wf.name == "accumulate":
        return accumulate_bound(T_, d_, noise2=s, design=des)
    if wf.name == "mix":
        if des == "fixed":
            if d_ >= 2:
                raise ValueError("design='fixed' with workflow 'mix' and d >= 2 has no closed "
                                 "form in expectation over X in theory.regression."
                                 "stationary_test_error: use conditional_test_error with the "
                                 "design matrix, or design='fresh'")
            # d = 1: s/(T-2) E 1/(1 - U^2) = s/(T-2) (E 1/(1-U) + E 1/(1+U))/2, U ~ Beta(a, b)
            r = _real_counts(wf, T_)
            a_, b_ = (T_ - r) / 2.0, r / 2.0
            ok = b_ > 1.0
            bb = np.where(ok, b_, 2.0)
            inv1m = (a_ + bb - 1.0) / (bb - 1.0)
            inv1p = special.hyp2f1(1.0, a_, a_ + bb, -1.0)
            return _out(np.where(ok, s * k * 0.5 * (inv1m + inv1p), np.inf))
        c = _mix_c(T_, d_, _real_counts(wf, T_))
        with np.errstate(divide="ignore"):
            return _out(np.where(c < 1.0, s * k / np.where(c < 1.0, 1.0 - c, 1.0), np.inf))
    real, a, syn = _weighted_terms(wf, T_, d_, s)
    return _out((real + syn) / (1.0 - a) if a < 1.0 else np.full(shape, np.inf))


def variance_of_test_error(n: ArrayLike, T: ArrayLike, d: int, *, noise2: ArrayLike = 1.0,
                        design: str = "fixed", workflow: W.WorkflowLike = "replace") -> Float:
    """The variance ``Var ||beta_n - beta_0||^2`` of one chain's test error (over X and noise).

    Formulas (``s = noise2``, ``a = T - d``, ``D = a (a-1)^2 (a-3)``,
    ``q = 2 E tr K^2 + Var tr K``, ``E tr K^2 = [2 a d + d (d-1)(a-1)]/D + d/(a-1)^2``,
    ``Var tr K = 2 d (d + a - 1)/D``):

    - replace, fixed: ``n^2 s^2 q`` (one ``K`` shared by the ``n`` noise terms);
    - replace, fresh: ``n s^2 q + 2 n (n-1) s^2 d/(a-1)^2`` (independent ``K_g``);
    - accumulate, fixed: ``H2(n)^2 s^2 q``.

    Given ``X`` the error is a Gaussian quadratic form ``delta^T delta``, ``delta ~ N(0, v s K)``
    (``v = n`` or ``H2(n)``): mean ``v s tr K``, variance ``2 v^2 s^2 tr K^2``; the law of total
    variance adds ``v^2 s^2 Var tr K``. The fresh design's variance is the smaller one for
    ``n >= 2`` (``E tr K^2 >= d/(a-1)^2``); the means are equal.

    Parameters
    ----------
    n : int or array_like
        Generation, integer >= 0.
    T : int or array_like
        Samples per generation, integer > d + 3 (the inverse Wishart's second moments).
    d : int
        Number of features, integer >= 1.
    noise2 : float or array_like, optional
        Label noise variance > 0.
    design : {"fixed", "fresh"}, optional
        Design convention.
    workflow : Workflow or str, optional
        ``replace`` or ``accumulate`` (fixed design only; the fresh-design accumulate variance
        is refused).

    Returns
    -------
    float or ndarray
        float64 of shape ``broadcast(n, T, noise2)``.

    Notes
    -----
    Exact. Inverse Wishart covariances: von Rosen (1988); Muirhead (1982), Sec. 3.2.

    References
    ----------
    .. [1] D. von Rosen, "Moments for the inverted Wishart distribution", Scand. J. Statist. 15
       (1988), 97-109.

    Examples
    --------
    >>> from modelcollapse.theory import regression as rg
    >>> float(rg.variance_of_test_error(1, 12, 1))   # d = 1: 3 E K^2 - (E K)^2 = 3/80 - 1/100
    0.0275
    """
    wf = _workflow(workflow, "variance_of_test_error", ("replace", "accumulate"))
    des = _design(design)
    if wf.name == "accumulate" and des == "fresh":
        raise ValueError("design='fresh' with workflow 'accumulate' has no variance formula in "
                         "theory.regression.variance_of_test_error (only its mean, "
                         "expected_test_error)")
    n_ = _N.array(n)
    T_, d_ = _T_d(T, d, extra=3)
    s = P.noise2.array(noise2)
    shape = _broadcast(n=n_, T=T_, noise2=s)
    n_, T_, s = (np.broadcast_to(v, shape) for v in (n_, T_, s))
    etr2, vtr = _inv_wishart_second(T_, d_)
    q = 2.0 * etr2 + vtr
    if wf.name == "accumulate":
        return _out(_h2(n_) ** 2 * s**2 * q)
    if des == "fixed":
        return _out(n_**2 * s**2 * q)
    return _out(n_ * s**2 * q + 2.0 * n_ * (n_ - 1.0) * s**2 * d_ / (T_ - d_ - 1.0) ** 2)


# --------------------------------------------------------------------------------------------
# conditional on a given fixed design
# --------------------------------------------------------------------------------------------


def _design_matrix(X: ArrayLike, ridge: float) -> NDArray[np.float64]:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"X must be a T x d matrix of finite reals (got {P.show(X)})") from None
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"X must be a T x d matrix of finite reals, T, d >= 1 (got shape "
                         f"{arr.shape})")
    if np.asarray(X).dtype == np.bool_:
        raise ValueError("X must be a T x d matrix of finite reals (got booleans)")
    if not np.all(np.isfinite(arr)):
        raise ValueError("X must be a T x d matrix of finite reals (got a NaN or infinity)")
    if ridge == 0.0:
        T, d = arr.shape
        if T < d or np.linalg.matrix_rank(arr) < d:
            raise ValueError(f"X must have full column rank d = {d} for OLS (ridge = 0) (got "
                             f"T = {T} rows of rank {np.linalg.matrix_rank(arr)}); use ridge > 0")
    return arr


def conditional_test_error(n: ArrayLike, X: ArrayLike, *, noise2: float = 1.0,
                           workflow: W.WorkflowLike = "replace", ridge: float = 0.0,
                           beta0: ArrayLike | None = None) -> Float:
    """The exact test error ``E[||beta_n - beta_0||^2 | X]`` for one given fixed design ``X``.

    Every fit of generation ``n`` is linear in ``beta_0`` and the noise terms
    ``xi_g = X^T eps_g ~ N(0, noise2 A)``, ``A = X^T X``: ``beta_n = M_n beta_0 + sum_g L_{n,g}
    xi_g``, so the error is ``||(M_n - I) beta_0||^2 + noise2 sum_g tr(L_{n,g} A L_{n,g}^T)``
    (bias + variance). With ``R = (A + lambda I)^{-1}`` (``lambda = ridge``):

    - replace: ``beta_n = R A beta_{n-1} + R xi_n``; in the eigenbasis of ``A`` (eigenvalues
      ``mu``, ``f = mu/(mu + lambda)``) the error is ``sum_i (1 - f_i^n)^2 b_i^2 + noise2 mu_i
      (1 - f_i^{2n})/((1 - f_i^2)(mu_i + lambda)^2)`` (``n noise2/mu_i`` when lambda = 0:
      ``n noise2 tr A^{-1}``);
    - accumulate (``X`` repeated, the penalty ``lambda`` not scaled with the pool):
      ``beta_n = (n A + lambda I)^{-1} [A sum_{g<n} beta_g + sum_{g<=n} xi_g]``
      (``noise2 H2(n) tr A^{-1}`` when lambda = 0);
    - mix (the first ``r`` rows real, ``A = A_r + A_s``): ``beta_n = R A_r beta_0 + R A_s
      beta_{n-1} + R xi_n``: mean and covariance by their linear recursions.

    Convention: generation 0 is ``beta_0``; generation 1 is the fit on real labels; isotropic
    test features (excess risk ``||beta_n - beta_0||^2``, label-noise floor not included).

    Parameters
    ----------
    n : int or array_like
        Generation, integer >= 0.
    X : array_like
        The fixed ``T x d`` design, finite; full column rank when ``ridge = 0``.
    noise2 : float, optional
        Label noise variance > 0.
    workflow : Workflow or str, optional
        ``replace`` (default), ``accumulate`` or ``mix`` (``fixed_real=False``).
    ridge : float, optional
        Ridge penalty ``lambda >= 0`` of every fit ``(X^T X + lambda I)^{-1} X^T y``
        (0: OLS).
    beta0 : array_like, optional
        The truth ``beta_0`` (length ``d``). It matters only when ``ridge > 0`` (the shrinkage
        toward 0 gives a bias term); ``None`` means ``0`` (no bias term).

    Returns
    -------
    float or ndarray
        float64 of the shape of ``n``.

    Notes
    -----
    Exact (expectation over the label noise only). Cost: O(d^3 + n d) for replace, O(d^3 +
    n d) for accumulate, O(n d^3) for mix (a Python loop up to ``max(n)`` for the last two).

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse.theory import regression as rg
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])     # A = [[2, 1], [1, 5]]
    >>> rg.conditional_test_error([1, 2], X).tolist()           # n tr A^{-1} = n 7/9
    [0.7777777777777778, 1.5555555555555556]
    >>> round(float(rg.conditional_test_error(2, X, workflow="accumulate")), 12)  # (5/4)(7/9)
    0.972222222222
    """
    wf = _workflow(workflow, "conditional_test_error", _COND_NAMES)
    lam = float(P.ridge.scalar(ridge))
    s = float(P.noise2.scalar(noise2))
    Xa = _design_matrix(X, lam)
    T, d = Xa.shape
    n_ = _N.array(n)
    if beta0 is None:
        b0 = np.zeros(d)
    else:
        try:
            b0 = np.asarray(beta0, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"beta0 must be a vector of {d} finite reals (d = columns of X) "
                             f"(got {P.show(beta0)})") from None
        if b0.shape != (d,) or not np.all(np.isfinite(b0)):
            raise ValueError(f"beta0 must be a vector of {d} finite reals (d = columns of X) "
                             f"(got shape {b0.shape})")
    N = int(n_.max()) if n_.size else 0
    A = Xa.T @ Xa
    if wf.name in ("replace", "accumulate"):
        mu, V = np.linalg.eigh(A)
        mu = np.maximum(mu, 0.0)
        b = V.T @ b0
        if wf.name == "replace":
            curve = _replace_curve(N, mu, b, s, lam)
        else:
            curve = _accumulate_curve(N, mu, b, s, lam)
    else:
        r = wf.real_count(T)
        Ar = Xa[:r].T @ Xa[:r]
        curve = _mix_curve(N, A, Ar, b0, s, lam)
    return _out(curve[n_.astype(np.int64)])


def _replace_curve(N: int, mu, b, s: float, lam: float) -> NDArray[np.float64]:
    g = np.arange(N + 1, dtype=np.float64)[:, None]
    f = mu / (mu + lam)
    noise = s * mu / (mu + lam) ** 2
    if lam == 0.0:
        var = g * noise
    else:
        f2 = f**2
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.where(f2 < 1.0, noise * -np.expm1(g * np.log(np.maximum(f2, 1e-300)))
                           / np.where(f2 < 1.0, 1.0 - f2, 1.0), g * noise)
        var = np.where(f2 == 0.0, 0.0, var)
    bias = (-np.expm1(g * np.log(np.maximum(f, 1e-300)))) ** 2 * b**2
    bias = np.where(f == 0.0, np.where(g > 0, b**2, 0.0), bias)
    return np.sum(bias + var, axis=1)


def _accumulate_curve(N: int, mu, b, s: float, lam: float) -> NDArray[np.float64]:
    """Per eigen-coordinate: ``b_g = (mu S_{g-1} + Xi_g)/(g mu + lambda)`` with ``S_{g-1} =
    sum_{h<g} b_h`` (``b_0`` the truth) and ``Xi_g = sum_{h<=g} xi_h``, ``xi_h ~ N(0, s mu)``:
    the mean of ``S`` and the 2 x 2 covariance of ``(S, Xi)`` follow linear maps (O(N d))."""
    mS = b.astype(np.float64).copy()     # E S_{g-1}; E Xi = 0
    vSS = np.zeros_like(mu)
    cSX = np.zeros_like(mu)
    vXX = np.zeros_like(mu)
    out = np.zeros(N + 1)
    for g in range(1, N + 1):
        vXX = vXX + s * mu               # Xi_g = Xi_{g-1} + xi_g
        den = g * mu + lam
        u, v = mu / den, 1.0 / den
        mb = u * mS                      # b_g = u S_{g-1} + v Xi_g
        var_b = u * u * vSS + 2.0 * u * v * cSX + v * v * vXX
        out[g] = float(np.sum((mb - b) ** 2 + var_b))
        # S_g = (1 + u) S_{g-1} + v Xi_g
        vSS, cSX = ((1.0 + u) ** 2 * vSS + 2.0 * (1.0 + u) * v * cSX + v * v * vXX,
                    (1.0 + u) * cSX + v * vXX)
        mS = mS + mb
    return out


def _mix_curve(N: int, A, Ar, b0, s: float, lam: float) -> NDArray[np.float64]:
    d = A.shape[0]
    R = np.linalg.inv(A + lam * np.eye(d))
    Pm = R @ (A - Ar)
    drift = R @ Ar @ b0
    noise = s * R @ A @ R
    mean = b0.copy()
    cov = np.zeros((d, d))
    out = np.zeros(N + 1)
    for g in range(1, N + 1):
        mean = drift + Pm @ mean
        cov = Pm @ cov @ Pm.T + noise
        out[g] = float(np.sum((mean - b0) ** 2) + np.trace(cov))
    return out
