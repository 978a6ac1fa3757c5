"""Random numbers of the simulators, all in one place (JAX, counter-based, exact).

- :mod:`~modelcollapse.sims.rng.threefry` -- Threefry-2x32 blocks, per-chain key words and the
  per-generation :class:`~modelcollapse.sims.rng.threefry.Stream`, bits-to-float conversions;
- :mod:`~modelcollapse.sims.rng.gamma` -- exact Gamma / chi-square (Marsaglia-Tsang, log space);
- :mod:`~modelcollapse.sims.rng.binomial` -- exact binomial (inversion + BTRS) and multinomial
  (conditional binomials);
- :mod:`~modelcollapse.sims.rng.poisson` -- exact Poisson counts;
- :mod:`~modelcollapse.sims.rng.categorical` -- exact categorical token draws in integer
  arithmetic (64-bit fixed-point thresholds as uint32 pairs).

Every draw is a pure function of (seed, element, counter): results never depend on batching.
Import the samplers from their modules (``from modelcollapse.sims.rng.binomial import
binomial``): the package does not re-export them, so that ``modelcollapse.sims.rng.gamma`` stays
the module.
"""
