"""Workflows as values: the data policy of each generation, written once, read by every layer.

A workflow says where the data of each fit come from (the original distribution, the current
model, a pool of earlier data) and how synthetic data are drawn (a sampling bias). The *same*
value is passed to a theory function and to a simulator::

    >>> from modelcollapse.spec import workflows as W
    >>> wf = W.replace()
    >>> wf
    Workflow(name='replace')
    >>> W.as_workflow("replace") == wf
    True

and each layer implements it once for every family: ``modelcollapse.sims.workflows`` turns it
into a simulation step over a family's draw and fit, the theory modules dispatch on
``workflow.name``. This module holds no formula and imports neither JAX nor the theory.

Workflows (``M`` is the sample size of each fit, a constant or a schedule, as everywhere):

- ``replace`` -- each generation is fit on ``M`` samples drawn from the previous generation's
  model; the first fit sees ``M`` real samples (Shumailov et al., Nature 631, 2024);
- ``mix`` -- each fit sees ``n_real`` fresh draws from the original distribution (or the same
  real set every generation, ``fixed_real=True``) plus ``M - n_real`` synthetic draws; given as
  a count or as a real fraction of the budget ``M`` (Shumailov et al. kept 10 %);
- ``accumulate`` -- each fit sees all data so far: the first batch of ``M`` real samples, then
  ``M`` synthetic samples added per generation (Gerstgrasser et al., 2024);
- ``accumulate_subsample`` -- the pool grows as in ``accumulate``; each fit uses a uniform
  subsample of ``N`` points drawn without replacement (Kazdan et al., "Collapse or Thrive",
  2024);
- ``weighted`` -- the new estimate is ``w`` times the estimate from ``n_real`` fresh real
  samples plus ``1 - w`` times the estimate from ``M`` synthetic samples (He, Xu & Cheng,
  JRSS-B 2025).

A :class:`SamplingBias` changes how synthetic (model) data are drawn, never the real data:
``temperature`` T draws categorical data from ``q^(1/T)`` normalised (T < 1 sharpens, as a
language model sampled at low temperature; Alemohammad et al., "Self-consuming generative
models go MAD", 2023); ``top_k`` and ``top_p`` keep the k most probable symbols or the smallest
set of mass >= p (nucleus sampling) and renormalise; ``variance_scale`` draws Gaussian data from
``N(mu, lambda sigma^2)``; ``truncation`` from the normal truncated at ``mu +- tau sigma``.

This module only declares and validates the values: which layer implements which workflow and
bias is checked where it is used (:func:`require`), so a value a layer does not implement is a
clear ``ValueError`` there, never a silent fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from modelcollapse.spec import params as P

__all__ = [
    "SamplingBias",
    "Workflow",
    "WorkflowLike",
    "replace",
    "mix",
    "accumulate",
    "accumulate_subsample",
    "weighted",
    "as_workflow",
    "require",
    "WORKFLOWS",
    "workflow",
    "OPTIONS",
]

#: Names of the workflows every layer knows.
WORKFLOWS: tuple[str, ...] = ("replace", "mix", "accumulate", "accumulate_subsample",
                               "weighted")

#: The parameters of each workflow (the others must keep their neutral values).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "replace": (),
    "mix": ("n_real", "real_fraction", "fixed_real"),
    "accumulate": (),
    "accumulate_subsample": ("subsample",),
    "weighted": ("weight", "n_real"),
}

#: The golden-ratio weight ``1/phi = (sqrt 5 - 1)/2``: the optimal real weight of the weighted
#: workflow for equal real and synthetic batch sizes (He, Xu & Cheng, JRSS-B 2025).
GOLDEN_WEIGHT = (5.0**0.5 - 1.0) / 2.0

_N_REAL = P.Param("n_real", "fresh real samples per fit (mix, weighted)", integer=True, low=0)
_REAL_FRACTION = P.Param("real_fraction", "fraction of each fit's M samples that are fresh real "
                         "data (mix)", low=0.0, high=1.0)
_SUBSAMPLE = P.Param("subsample", "points per fit drawn without replacement from the pool "
                     "(accumulate_subsample)", integer=True, low=1)
_WEIGHT = P.Param("weight", "weight w of the real-data estimate (weighted)", low=0.0, high=1.0)
_VARIANCE_SCALE = P.Param("variance_scale", "lambda: synthetic Gaussian data drawn from "
                          "N(mu, lambda sigma^2)", low=0.0, low_open=True)
_TRUNCATION = P.Param("truncation", "tau: synthetic Gaussian data truncated at mu +- tau sigma",
                      low=0.0, low_open=True, finite=False)
_TOP_K = P.Param("top_k", "keep the k most probable symbols when sampling (0: all)",
                 integer=True, low=0)
_TOP_P = P.Param("top_p", "keep the smallest set of most probable symbols of mass >= p "
                 "(nucleus sampling; 1: all)", low=0.0, high=1.0, low_open=True)

#: The parameters of the workflows and of the sampling biases, by name (the vocabulary the
#: command line's workflow options use; each validates as the workflow values do).
OPTIONS: dict[str, P.Param] = {p.name: p for p in (_N_REAL, _REAL_FRACTION, _SUBSAMPLE, _WEIGHT,
                                                    P.temperature, _VARIANCE_SCALE, _TRUNCATION,
                                                    _TOP_K, _TOP_P)}

workflow = P.Choice("workflow", "data policy of each generation (see modelcollapse.spec."
                    "workflows)", WORKFLOWS)


@dataclass(frozen=True)
class SamplingBias:
    """How synthetic data are drawn from the fitted model; the default is no bias.

    Parameters
    ----------
    temperature : float
        Categorical families: synthetic symbols are drawn from ``q^(1/T) / sum q^(1/T)`` with
        ``q`` the fitted model (``T > 0``; ``T = 1`` no bias, ``T < 1`` sharpens).
    variance_scale : float
        Gaussian families: synthetic data from ``N(mu, lambda sigma^2)`` (``lambda > 0``; 1 no
        bias; Alemohammad et al.'s sampling bias).
    truncation : float
        Gaussian families: synthetic data from the normal truncated at ``mu +- tau sigma``
        (``tau > 0``; ``inf`` no truncation: the tails are cut).
    top_k : int
        Categorical families: sample only the ``k`` most probable symbols, renormalised (0: all).
    top_p : float
        Categorical families: sample only the smallest set of most probable symbols whose mass
        is ``>= p``, renormalised (nucleus sampling; 1: all).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias
    >>> SamplingBias(temperature=0.7).active
    ('temperature',)
    >>> SamplingBias(temperature=0)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite real > 0 (got 0)
    """

    temperature: float = 1.0
    variance_scale: float = 1.0
    truncation: float = float("inf")
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", P.temperature.scalar(self.temperature))
        object.__setattr__(self, "variance_scale", _VARIANCE_SCALE.scalar(self.variance_scale))
        object.__setattr__(self, "truncation", _TRUNCATION.scalar(self.truncation))
        object.__setattr__(self, "top_k", _TOP_K.scalar(self.top_k))
        object.__setattr__(self, "top_p", _TOP_P.scalar(self.top_p))

    def __repr__(self) -> str:
        return f"SamplingBias({', '.join(f'{k}={getattr(self, k)!r}' for k in self.active)})"

    @property
    def active(self) -> tuple[str, ...]:
        """Names of the biases that differ from "no bias" (``()`` for the default)."""
        neutral = {"temperature": 1.0, "variance_scale": 1.0, "truncation": float("inf"),
                   "top_k": 0, "top_p": 1.0}
        return tuple(f.name for f in fields(self) if getattr(self, f.name) != neutral[f.name])


def _given(value: Any) -> bool:
    """Whether a workflow parameter was given: not None and not False (``0`` and ``0.0`` are
    values; ``0.0 in (None, False)`` would wrongly say no)."""
    return value is not None and value is not False


@dataclass(frozen=True)
class Workflow:
    """A data policy: its name, its parameters and the sampling bias of synthetic data.

    Build one with the constructor functions of this module (:func:`replace`); compare and hash
    by value. Theory functions and simulators accept a ``Workflow``, a workflow name (its
    defaults) or ``None`` (``replace``).

    Parameters
    ----------
    name : str
        One of :data:`WORKFLOWS`.
    bias : SamplingBias
        How synthetic data are drawn (default: no bias).
    n_real : int or None
        ``mix``: fresh real samples per fit (the other ``M - n_real`` are synthetic);
        ``weighted``: real samples behind the real estimate (None: ``M``).
    real_fraction : float or None
        ``mix``: the real samples as a fraction of each fit's ``M`` (``round(f M)``).
    fixed_real : bool
        ``mix``: reuse one real set (drawn once) in every generation.
    subsample : int or None
        ``accumulate_subsample``: points per fit, drawn without replacement from the pool
        (None: ``M``).
    weight : float or None
        ``weighted``: the weight ``w`` of the real estimate (None: :data:`GOLDEN_WEIGHT`).

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias, Workflow, replace
    >>> Workflow() == replace()
    True
    >>> Workflow("shuffle")
    Traceback (most recent call last):
    ...
    ValueError: workflow must be one of ('replace', 'mix', 'accumulate', 'accumulate_subsample',
    'weighted') (got 'shuffle')
    >>> Workflow("replace", weight=0.5)
    Traceback (most recent call last):
    ...
    ValueError: weight is not a parameter of the 'replace' workflow (its parameters: none)
    >>> Workflow(bias=0.5)
    Traceback (most recent call last):
    ...
    ValueError: bias must be a SamplingBias (got 0.5)
    """

    name: str = "replace"
    bias: SamplingBias = field(default_factory=SamplingBias)
    n_real: int | None = None
    real_fraction: float | None = None
    fixed_real: bool = False
    subsample: int | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        workflow.check(self.name)
        if not isinstance(self.bias, SamplingBias):
            raise ValueError(f"bias must be a SamplingBias (got {P.show(self.bias)})")
        own = PARAMETERS[self.name]
        for f in ("n_real", "real_fraction", "fixed_real", "subsample", "weight"):
            value = getattr(self, f)
            if f not in own and _given(value):
                raise ValueError(f"{f} is not a parameter of the {self.name!r} workflow (its "
                                 f"parameters: {', '.join(own) or 'none'})")
        checks = {"n_real": _N_REAL, "real_fraction": _REAL_FRACTION, "subsample": _SUBSAMPLE,
                  "weight": _WEIGHT}
        for f, param in checks.items():
            if getattr(self, f) is not None:
                object.__setattr__(self, f, param.scalar(getattr(self, f)))
        if not isinstance(self.fixed_real, bool):
            raise ValueError(f"fixed_real must be True or False (got {P.show(self.fixed_real)})")
        if self.name == "mix" and (self.n_real is None) == (self.real_fraction is None):
            raise ValueError("mix needs exactly one of n_real (a count) and real_fraction (a "
                             f"fraction of M) (got n_real={self.n_real!r}, real_fraction="
                             f"{self.real_fraction!r})")

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}"]
        if self.bias.active:
            parts.append(f"bias={self.bias!r}")
        parts += [f"{f}={getattr(self, f)!r}" for f in PARAMETERS[self.name]
                  if _given(getattr(self, f))]
        return f"Workflow({', '.join(parts)})"

    @property
    def effective_weight(self) -> float:
        """``weighted``: the real weight ``w`` (:data:`GOLDEN_WEIGHT` when not given)."""
        return GOLDEN_WEIGHT if self.weight is None else float(self.weight)

    def real_count(self, M: int) -> int:
        """Real samples per fit of size ``M``: ``n_real`` (checked ``<= M``), ``round(f M)``
        for a real fraction, ``M`` for ``weighted`` without ``n_real``, else 0.

        Examples
        --------
        >>> from modelcollapse.spec.workflows import mix
        >>> mix(real_fraction=0.1).real_count(100), mix(n_real=5).real_count(100)
        (10, 5)
        """
        if self.name == "mix":
            if self.real_fraction is not None:
                return int(round(self.real_fraction * M))
            if self.n_real is not None and self.n_real > M:
                raise ValueError(f"n_real must be <= M = {M} for the mix workflow (got "
                                 f"{self.n_real})")
            return int(self.n_real or 0)
        if self.name == "weighted":
            return int(M if self.n_real is None else self.n_real)
        return 0


WorkflowLike = Workflow | str | None


def replace(*, bias: SamplingBias | None = None) -> Workflow:
    """The replace workflow: generation t is fit on M samples of generation t - 1 only.

    Parameters
    ----------
    bias : SamplingBias, optional
        How synthetic samples are drawn (default: from the fitted model itself).

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias, replace
    >>> replace(bias=SamplingBias(temperature=0.5)).bias.temperature
    0.5
    """
    return Workflow("replace", SamplingBias() if bias is None else bias)


def mix(*, n_real: int | None = None, real_fraction: float | None = None,
        fixed_real: bool = False, bias: SamplingBias | None = None) -> Workflow:
    """The mix workflow: each fit sees fresh real data beside the synthetic data.

    Each generation is fit on ``n_real`` draws from the original distribution plus
    ``M - n_real`` draws from the previous generation's model (give ``n_real``, or
    ``real_fraction`` for ``round(real_fraction * M)``); ``fixed_real=True`` draws the real set
    once and reuses it in every generation.

    Parameters
    ----------
    n_real : int, optional
        Real samples per fit, an integer >= 0 (at most ``M``).
    real_fraction : float, optional
        Real samples as a fraction of ``M``, in [0, 1].
    fixed_real : bool
        Reuse one real set in every generation.
    bias : SamplingBias, optional
        How the synthetic samples are drawn.

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import mix
    >>> mix(real_fraction=0.1)
    Workflow(name='mix', real_fraction=0.1)
    >>> mix(n_real=10, real_fraction=0.1)
    Traceback (most recent call last):
    ...
    ValueError: mix needs exactly one of n_real (a count) and real_fraction (a fraction of M) (got
    n_real=10, real_fraction=0.1)
    """
    return Workflow("mix", SamplingBias() if bias is None else bias, n_real=n_real,
                    real_fraction=real_fraction, fixed_real=fixed_real)


def accumulate(*, bias: SamplingBias | None = None) -> Workflow:
    """The accumulate workflow: each fit sees all data so far (the first batch real).

    Parameters
    ----------
    bias : SamplingBias, optional
        How the synthetic samples are drawn.

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate
    >>> accumulate().name
    'accumulate'
    """
    return Workflow("accumulate", SamplingBias() if bias is None else bias)


def accumulate_subsample(subsample: int | None = None, *,
                         bias: SamplingBias | None = None) -> Workflow:
    """The accumulate-subsample workflow: the pool grows as in accumulate, each fit uses a
    uniform subsample of ``subsample`` points drawn without replacement (None: ``M``).

    Parameters
    ----------
    subsample : int, optional
        Points per fit, an integer >= 1 (None: ``M``, KoyejoLab's setting).
    bias : SamplingBias, optional
        How the synthetic samples are drawn.

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import accumulate_subsample
    >>> accumulate_subsample(100).subsample
    100
    """
    return Workflow("accumulate_subsample", SamplingBias() if bias is None else bias,
                    subsample=subsample)


def weighted(weight: float | None = None, *, n_real: int | None = None,
             bias: SamplingBias | None = None) -> Workflow:
    """The weighted workflow: ``w`` times a fresh real-data estimate plus ``1 - w`` times the
    estimate from ``M`` synthetic samples (He, Xu & Cheng, JRSS-B 2025).

    Parameters
    ----------
    weight : float, optional
        The real weight ``w`` in [0, 1] (None: :data:`GOLDEN_WEIGHT` ``= 0.618...``, the
        optimum for equal batch sizes).
    n_real : int, optional
        Real samples behind the real estimate (None: ``M``).
    bias : SamplingBias, optional
        How the synthetic samples are drawn.

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import weighted
    >>> round(weighted().effective_weight, 6)
    0.618034
    """
    return Workflow("weighted", SamplingBias() if bias is None else bias, weight=weight,
                    n_real=n_real)


#: What a bare workflow name means: ``"mix"`` keeps 10 % fresh real data (Shumailov et al.'s
#: language-model runs); the others' parameters default to ``M``-based values.
_NAME_DEFAULTS: dict[str, dict[str, Any]] = {"mix": {"real_fraction": 0.1}}


def as_workflow(value: Any) -> Workflow:
    """A :class:`Workflow` from a workflow, a workflow name, or ``None`` (replace).

    Raises ``ValueError`` naming ``workflow`` for anything else.

    Parameters
    ----------
    value : Workflow, str or None
        A workflow (returned as is), a name of :data:`WORKFLOWS` (that workflow with its
        defaults: ``"mix"`` is ``mix(real_fraction=0.1)``), or ``None`` (``replace``).

    Returns
    -------
    Workflow

    Examples
    --------
    >>> from modelcollapse.spec.workflows import as_workflow
    >>> as_workflow(None)
    Workflow(name='replace')
    >>> as_workflow("mix")                   # a name gives the workflow's defaults
    Workflow(name='mix', real_fraction=0.1)
    >>> as_workflow("shuffle")
    Traceback (most recent call last):
    ...
    ValueError: workflow must be one of ('replace', 'mix', 'accumulate', 'accumulate_subsample',
    'weighted') (got 'shuffle')
    >>> as_workflow(3)
    Traceback (most recent call last):
    ...
    ValueError: workflow must be a Workflow or one of ('replace', 'mix', 'accumulate',
    'accumulate_subsample', 'weighted') (got 3)
    """
    if value is None:
        return Workflow()
    if isinstance(value, Workflow):
        return value
    if isinstance(value, str):
        name = workflow.check(value)
        return Workflow(name, **_NAME_DEFAULTS.get(name, {}))
    raise ValueError(f"workflow must be a Workflow or one of {WORKFLOWS} (got {P.show(value)})")


def require(value: Any, where: str, *, names: tuple[str, ...] = ("replace",),
            biases: tuple[str, ...] = ()) -> Workflow:
    """``value`` as a workflow that ``where`` implements, else ``ValueError``.

    ``names`` are the workflows implemented there and ``biases`` the sampling biases it
    supports; anything else is refused with a message naming both.

    Parameters
    ----------
    value : Workflow, str or None
        As for :func:`as_workflow`.
    where : str
        The implementing function or module, in words (used in the message).
    names : tuple of str
        Workflows implemented there.
    biases : tuple of str
        Sampling biases supported there (names of :class:`SamplingBias` fields).

    Returns
    -------
    Workflow
        ``as_workflow(value)``.

    Raises
    ------
    ValueError
        For a workflow or an active sampling bias that ``where`` does not implement.

    Examples
    --------
    >>> from modelcollapse.spec.workflows import SamplingBias, replace, require
    >>> require("replace", "the Gaussian theory").name
    'replace'
    >>> require(replace(bias=SamplingBias(temperature=0.5)), "the Gaussian theory")
    Traceback (most recent call last):
    ...
    ValueError: sampling bias ['temperature'] is not available for the Gaussian theory
    (available: none)
    """
    wf = as_workflow(value)
    if wf.name not in names:
        raise ValueError(f"workflow {wf.name!r} is not available for {where} (available: "
                         f"{names})")
    extra = [b for b in wf.bias.active if b not in biases]
    if extra:
        raise ValueError(f"sampling bias {extra} is not available for {where} (available: "
                         f"{biases or 'none'})")
    return wf
