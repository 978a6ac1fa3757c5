"""JAX Monte Carlo simulators of recursive refitting; they never import :mod:`modelcollapse.theory`.

One house for every family:

- :mod:`~modelcollapse.sims.driver` -- the one driver: chunking, padding, recording of named
  observables, sharding over devices and ``jax.distributed`` processes, compile cache, progress;
- :mod:`~modelcollapse.sims.workflows` -- workflows (the values of
  :mod:`modelcollapse.spec.workflows`) as steps over any family's draw and fit;
- :mod:`~modelcollapse.sims.rng` -- all random numbers: Threefry counter streams, exact Gamma,
  binomial, multinomial, Poisson and categorical (token) samplers.

Families (each a kernel on the driver, with a ``simulate`` function and a result object):

- :mod:`~modelcollapse.sims.gaussian` -- 1-D Gaussian refit: sample-level and
  sufficient-statistic paths, log-variance state, schedules;
- :mod:`~modelcollapse.sims.discrete` -- categorical refit (Wright-Fisher): token-level and
  count-level paths;
- :mod:`~modelcollapse.sims.poisson` -- Poisson refit (critical Galton-Watson): point-level and
  total-level paths;
- :mod:`~modelcollapse.sims.multivariate` -- d-dimensional Gaussian refit: sample-level and
  Bartlett paths, Cholesky state in log space (log det exact for any number of generations);
- :mod:`~modelcollapse.sims.regression` -- linear regression refit on its own labels: fixed and
  fresh designs, sample-level and sufficient-statistic paths.

Every simulator takes an explicit ``jax.random.key`` (integer seeds are refused); chain i draws
from ``fold_in(key, i)``, so results do not depend on the chunk size, the number of devices or
of processes. Every argument is validated before anything is compiled or allocated: a bad value
raises ``ValueError`` naming it and its allowed range (int32 limits on generations, chains and
sample sizes; results that must fit in memory; sample paths whose batches must fit in the
device's memory).
"""
