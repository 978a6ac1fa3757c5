"""Values shared by every layer: the parameter vocabulary and the workflows (no math, no JAX).

- :mod:`~modelcollapse.spec.params` -- each parameter declared once (meaning, domain, one error
  message), validating scalars (simulators), arrays (closed forms) and command-line strings;
- :mod:`~modelcollapse.spec.workflows` -- workflow values (``replace``, ...) and sampling biases,
  passed unchanged to theory functions and simulators.

``modelcollapse.theory`` and ``modelcollapse.sims`` may both import this package and nothing
else of each other (``tests/test_import_rules.py``).
"""

from modelcollapse.spec import params, workflows
from modelcollapse.spec.workflows import SamplingBias, Workflow, as_workflow, replace

__all__ = ["params", "workflows", "Workflow", "SamplingBias", "as_workflow", "replace"]
