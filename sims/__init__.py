"""JAX Monte Carlo simulators of recursive refitting; they never import :mod:`modelcollapse.theory`.

- :mod:`~modelcollapse.sims.gaussian` -- 1-D Gaussian refit: sample-level (draws the M points) and
  sufficient-statistic (exact law of the fit) paths, log-variance state, schedules, sharding.
- :mod:`~modelcollapse.sims.samplers` -- exact fast Gamma / chi-square sampler.
- :mod:`~modelcollapse.sims.discrete` -- categorical refit (Wright-Fisher): token-level and
  count-level paths.
- :mod:`~modelcollapse.sims.discrete_samplers` -- exact fast binomial and multinomial samplers.

Every simulator takes an explicit ``jax.random.key``; chain i draws from ``fold_in(key, i)``, so
results do not depend on the chunk size or the number of devices.
"""
