"""Deprecated location of ``modelcollapse simulate discrete``: use
:mod:`modelcollapse.families.discrete`.

Kept for one version; importing it warns with ``DeprecationWarning``.
"""

import warnings

from modelcollapse._cliutil import request_cpu_devices  # noqa: F401
from modelcollapse.families.discrete import (  # noqa: F401
    add_simulate_parser,
    discrete_summary,
    parse_p0,
)

warnings.warn("modelcollapse.cli_discrete is deprecated; use modelcollapse.families.discrete",
              DeprecationWarning, stacklevel=2)

__all__ = ["add_simulate_parser", "parse_p0", "discrete_summary", "request_cpu_devices"]
