"""Deprecated location of the categorical verification: use :mod:`modelcollapse.families.discrete`.

Kept for one version; importing it warns with ``DeprecationWarning``.
"""

import warnings

from modelcollapse.families.discrete import *  # noqa: F403
from modelcollapse.families.discrete import (  # noqa: F401
    ABSORPTION_CASES,
    ABSORPTION_QUANTITIES,
    DISCRETE_CASES,
    DISCRETE_QUANTITIES,
    MAX_K_COUNTS,
    MIN_EVENTS,
    DiscreteCase,
    absorption_checks,
    discrete_checks,
    max_discrete_checks,
    run_discrete_verification,
    zipf_p0,
)

warnings.warn("modelcollapse.verify_discrete is deprecated; use modelcollapse.families.discrete",
              DeprecationWarning, stacklevel=2)
