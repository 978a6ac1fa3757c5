"""modelcollapse: the mathematics of model collapse, derived, computed and simulated.

A generative model refit, generation after generation, on samples of its own previous generation
forgets its tails, loses variance and drifts (Shumailov et al., "AI models collapse when trained on
recursively generated data", Nature 631, 2024). This package gives:

- :mod:`modelcollapse.theory` -- exact closed forms (NumPy/SciPy, float64, vectorised);
- :mod:`modelcollapse.theory.symbolic` -- their sympy derivations;
- :mod:`modelcollapse.sims` -- JAX Monte Carlo simulators that know nothing of the theory;
- :mod:`modelcollapse.proofs` -- Markdown proofs whose algebra sympy checks;
- :mod:`modelcollapse.figures` -- one module per figure.

Conventions: generation 0 is the original distribution; generation n is the model after n rounds
of "draw M samples from the current model, refit". ``ddof=1`` is the unbiased variance estimator
(the theorem), ``ddof=0`` maximum likelihood.
"""

import os as _os

__version__ = "0.2.0"

# In a source checkout the subpackages live in sibling folders (theory/, sims/, proofs/,
# figures/) that pyproject.toml maps into this package on installation. When Python imports this
# package straight from the checkout (e.g. `python` started in the repository root, whose
# `modelcollapse/` folder then shadows the installed copy), look for them there too.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "pyproject.toml")) and _os.path.isfile(
    _os.path.join(_root, "theory", "__init__.py")
):
    __path__.append(_root)  # noqa: F821
