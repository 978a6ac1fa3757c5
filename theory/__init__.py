"""Closed forms of model collapse (NumPy/SciPy, float64, vectorised).

Submodules: :mod:`~modelcollapse.theory.gaussian` (1-D Gaussian refit, Shumailov et al. 2024,
Thm 3.1), :mod:`~modelcollapse.theory.symbolic` (sympy derivations of the same formulas).
This package never imports JAX or :mod:`modelcollapse.sims`.
"""
