"""Figure (p): KoyejoLab's sweep in one dimension, with the exact curves beside the simulation.

The 1-D Gaussian ``N(0, 1)`` refit by maximum likelihood (``ddof = 0``) for 100 generations at
``M in {10, 32, 100, 316, 1000}`` points per generation, under the three data policies compared
by Kazdan et al. ("Collapse or Thrive", 2024):

- ``replace``: each fit sees ``M`` fresh points of the previous model:
  ``E sigma_n^2 = (1 - 1/M)^n``, ``M E (mu_n - mu_0)^2 = sum_{j<n} (1 - 1/M)^j`` (exact);
- ``accumulate``: each fit sees all ``n M`` points so far:
  ``E sigma_n^2 = prod_{j<=n} (1 - 1/(M j^2))`` (-> ``sqrt(M) sin(pi/sqrt(M)) / pi``) and
  ``M E (mu_n - mu_0)^2 <= sum 1/j^2 <= pi^2/6`` (exact);
- ``accumulate_subsample``: the pool grows as in accumulate, each fit uses a uniform subsample of
  ``M`` points without replacement (KoyejoLab's definition): the mean's error ratio
  ``M E (mu_n - mu_0)^2 -> 3 sum_{j<=n} 1/j^2 - 2`` (-> ``pi^2/2 - 2``) for large ``M``
  (:mod:`modelcollapse.theory.accumulate_subsample`; lines are the theory module's values,
  exact or large-N as its docstring says; its runs use fewer chains at large ``M``: the pool is
  kept point by point).

Top row ``E sigma_n^2 / sigma_0^2``, bottom row ``M E (mu_n - mu_0)^2 / sigma_0^2`` (the mean
error in units of one real sample's). Lines: theory; points: simulation (+-2 standard errors).

References: Kazdan et al., "Collapse or Thrive? Perils and promises of synthetic data in a
self-generating world" (2024); Gerstgrasser et al. (2024); Shumailov et al., Nature 631 (2024).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.spec.workflows import accumulate, accumulate_subsample, replace
from modelcollapse.theory import gaussian as th

STEM = "p_koyejo_sweep"
SEED = 83
DDOF = 0
WORKFLOWS = (("replace", replace()), ("accumulate", accumulate()),
             ("accumulate-subsample", accumulate_subsample()))


def _chains(name: str, M: int, quick: bool) -> int:
    """Chains per run. The subsample pool is kept point by point (work and memory grow with
    ``n M`` per chain), so its runs use at most ``2e5 / M`` chains."""
    base = 300 if quick else 4000
    if name == "accumulate-subsample":
        return int(min(base, 2e5 // M))
    return base


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    Ms = (10, 100) if quick else (10, 32, 100, 316, 1000)
    generations = 30 if quick else 100
    n_line = np.arange(generations + 1)
    rec = np.array([0, 1, 2, 5, 10, 20, 30, 50, 100])
    rec = rec[rec <= generations]
    fig, axes = new_figure(2, 3, width=3.6, height=3.0, sharey="row")
    data: dict[str, np.ndarray] = {"n_line": n_line, "recorded": rec}
    key = jax.random.key(SEED)
    for c, (name, wf) in enumerate(WORKFLOWS):
        ax_v, ax_m = axes[0, c], axes[1, c]
        for j, M in enumerate(Ms):
            col = f"C{j}"
            ev = np.asarray(th.expected_variance(n_line, M, ddof=DDOF, workflow=wf))
            em = M * np.asarray(th.mean_drift_mse(n_line, M, ddof=DDOF, workflow=wf))
            chains = _chains(name, M, quick)
            for ax, line in ((ax_v, ev), (ax_m, em)):
                ax.plot(n_line, line, color=col, lw=1.1, label=f"$M = {M}$", zorder=3)
            data |= {f"{name}_M{M}_variance_theory": ev, f"{name}_M{M}_mean_theory": em}
            run = simulate(jax.random.fold_in(key, 10 * c + j), M=M, generations=generations,
                           chains=chains, ddof=DDOF, record=rec, workflow=wf,
                           method="samples" if name == "accumulate-subsample" else "sufficient")
            var = np.exp(np.asarray(run.log_variance, dtype=np.float64))
            d2 = M * np.asarray(run.mean, dtype=np.float64) ** 2
            for ax, sim in ((ax_v, var), (ax_m, d2)):
                mean, se = sim.mean(axis=1), sim.std(axis=1, ddof=1) / np.sqrt(chains)
                ax.errorbar(rec, mean, yerr=2.0 * se, fmt="o", ms=3.0, color=col, mfc="white",
                            elinewidth=0.7, zorder=2)
            data |= {f"{name}_M{M}_variance_sim": var.mean(axis=1),
                     f"{name}_M{M}_variance_se": var.std(axis=1, ddof=1) / np.sqrt(chains),
                     f"{name}_M{M}_mean_sim": d2.mean(axis=1),
                     f"{name}_M{M}_mean_se": d2.std(axis=1, ddof=1) / np.sqrt(chains),
                     f"{name}_M{M}_chains": np.array(chains)}
        ax_v.set_title(name)
        ax_m.set_xlabel("generation $n$")
        ax_m.set_yscale("log")
    limits = ((1, r"accumulate bound $\pi^2/6$", np.pi**2 / 6),
              (2, r"large-$M$ limit $\pi^2/2 - 2$", np.pi**2 / 2 - 2))
    for c, label, value in limits:
        ref = axes[1, c].axhline(value, color="0.3", ls="--", lw=0.9, label=label, zorder=1)
        axes[1, c].legend(handles=[ref], loc="lower right", fontsize=6)
    axes[0, 0].set_ylabel(r"$\mathbb{E}\,\sigma_n^2 / \sigma_0^2$")
    axes[1, 0].set_ylabel(r"$M\,\mathbb{E}\,(\mu_n - \mu_0)^2 / \sigma_0^2$")
    axes[0, 0].plot([], [], "ko", ms=3.0, mfc="white", label=r"simulated $\pm 2\,$se")
    axes[0, 0].plot([], [], "k-", lw=1.1, label="theory")
    axes[0, 0].legend(loc="lower left", fontsize=6)
    fig.suptitle(f"KoyejoLab's sweep, 1-D Gaussian (MLE, {generations} generations): exact "
                 "curves and simulation")
    meta = {"M": list(Ms), "generations": generations, "ddof": DDOF, "seed": SEED,
            "quick": quick, "recorded": rec.tolist(),
            "chains": {name: {str(M): _chains(name, M, quick) for M in Ms}
                       for name, _ in WORKFLOWS},
            "theory": "theory.gaussian.expected_variance / mean_drift_mse with workflow=",
            "reference": "Kazdan et al. (2024); Gerstgrasser et al. (2024)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
