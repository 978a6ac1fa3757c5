"""Closed forms of model collapse (NumPy/SciPy, float64, vectorised, validated).

- :mod:`~modelcollapse.theory.gaussian` -- 1-D Gaussian refit on its own samples (Shumailov et al.,
  Nature 2024, Thm 3.1): variance moments, exact collapse probability and quantiles, bounds, mean
  drift, Wasserstein-2, sample-size schedules.
- :mod:`~modelcollapse.theory.discrete` -- categorical refit = neutral haploid Wright-Fisher:
  heterozygosity, exact count law, extinction (exact / Kimura / Suresh et al.), survivors,
  absorption times, smoothing and mixing.
- :mod:`~modelcollapse.theory.discrete_workflows` -- the categorical refit under the mix and
  accumulate workflows: exact heterozygosity and squared distance, the accumulate product.
- :mod:`~modelcollapse.theory.discrete_drift` -- drift of the categorical refit on a numeric
  support: mean drift, variance decay, exact E W1, E TV, E W2^2 (or bounds), Cramer distance,
  limits.
- :mod:`~modelcollapse.theory.tails` -- Zipf tails under refitting ("A Tale of Tails"): missing
  mass, effective cut-off, a memoriser's test error, scaling laws.
- :mod:`~modelcollapse.theory.poisson` -- Poisson refit = critical Galton-Watson.
- :mod:`~modelcollapse.theory.multivariate` -- d-dimensional Gaussian refit (Wishart products):
  exact log-determinant law, Lyapunov spectrum, trace and mean drift under every workflow (the
  projection reduction), determinant bounds, Bures-Wasserstein drift.
- :mod:`~modelcollapse.theory.regression` -- linear regression refit on its own labels: exact
  test error under replace, accumulate, mix and weighted, fixed and fresh designs.
- :mod:`~modelcollapse.theory.symbolic` -- sympy derivations of the same formulas.

This package never imports JAX or :mod:`modelcollapse.sims`.
"""
