"""Deprecated location of the binomial and multinomial samplers: use
:mod:`modelcollapse.sims.rng.binomial`.

Kept for one version; importing it warns with ``DeprecationWarning``.
"""

import warnings

from modelcollapse.sims.rng.binomial import (  # noqa: F401
    INVERSION_THRESHOLD,
    MAX_N,
    binomial,
    binomial_rows,
    multinomial,
    multinomial_rows,
)
from modelcollapse.sims.rng.threefry import seed_from_key, threefry2x32  # noqa: F401

warnings.warn("modelcollapse.sims.discrete_samplers is deprecated; use "
              "modelcollapse.sims.rng.binomial", DeprecationWarning, stacklevel=2)

__all__ = ["binomial", "multinomial", "seed_from_key", "threefry2x32", "binomial_rows",
           "multinomial_rows", "INVERSION_THRESHOLD", "MAX_N"]
