"""Deprecated location of the Gamma sampler: use :mod:`modelcollapse.sims.rng.gamma`.

Kept for one version; importing it warns with ``DeprecationWarning``.
"""

import warnings

from modelcollapse.sims.rng.gamma import chisquare, gamma, log_gamma  # noqa: F401
from modelcollapse.sims.rng.threefry import threefry2x32  # noqa: F401

warnings.warn("modelcollapse.sims.samplers is deprecated; use modelcollapse.sims.rng.gamma "
              "(and modelcollapse.sims.rng.threefry)", DeprecationWarning, stacklevel=2)

__all__ = ["gamma", "log_gamma", "chisquare", "threefry2x32"]
