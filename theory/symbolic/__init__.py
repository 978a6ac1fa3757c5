"""Symbolic derivations (sympy) of the closed forms in :mod:`modelcollapse.theory`.

The first of the three witnesses of every claim (symbolic, numeric, simulated): each module
derives its formulas from the one-step law of the refit recursion -- by integrating against the
sampling distribution, solving the moment recursions with ``sympy.rsolve``, differentiating
moment generating functions, expanding in ``1/M`` -- instead of typing the answers in, and
offers ``lambdified(name)`` to evaluate a derived expression with the signature of the matching
numeric function.

Submodules (imported on demand, so that importing this package stays cheap):

- :mod:`~modelcollapse.theory.symbolic.gaussian` -- 1-D Gaussian refit (Shumailov et al.,
  Nature 2024, Theorem 3.1): variance moments, log-variance random walk, mean drift,
  Wasserstein-2, marginal variance, large-``M`` expansions, schedules;
- :mod:`~modelcollapse.theory.symbolic.discrete` -- categorical refit (Wright-Fisher);
- :mod:`~modelcollapse.theory.symbolic.discrete_drift` -- its drift on a numeric support
  (mean drift, variance decay and its variance, Cramer distance, the two-allele reduction of
  W1 and TV, the absorbed limits);
- :mod:`~modelcollapse.theory.symbolic.poisson` -- Poisson refit (critical Galton-Watson).

Convention everywhere: generation 0 is the original distribution; generation ``n`` follows
``n`` rounds of "draw ``M`` samples from the current model, refit"; ``ddof=1`` unbiased
variance, ``ddof=0`` maximum likelihood. The proofs in :mod:`modelcollapse.proofs` import
these modules; they never import JAX or :mod:`modelcollapse.sims`.
"""
