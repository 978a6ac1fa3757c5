"""Figure (g): how many symbols of a Zipf vocabulary survive recursive refitting?

A Zipf law ``p_i ~ i^{-1.1}`` over ``K`` symbols is refit on ``M`` samples per generation by
empirical frequencies (neutral Wright-Fisher; generation 0 = ``p0``, generation ``n`` = after ``n``
rounds of "draw M samples, refit"). Drawn against the generation (log axes):

- exact expected support size ``E S_n = sum_i (1 - P(symbol i lost by n))`` (solid;
  ``expected_survivors``, exact by linearity over the single-symbol binomial chains);
- the Poisson-refit approximation ``sum_i (1 - exp(-M p_i g_n))`` of Suresh et al. (dashed), a
  lower bound on ``E S_n``;
- the simulated mean number of surviving symbols with +-2 standard errors (points).

Right panel: the same, as the simulated-minus-exact difference in units of the standard error
(should scatter within +-2 mostly).

References: Shumailov et al., Nature 631 (2024); Suresh, Thangaraj & Khandavally (AISTATS 2025);
Dohmatob et al., "A Tale of Tails" (ICML 2024).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import discrete as th

STEM = "g_discrete_survivors"
SEED = 47


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    K, M, s = (200, 200, 1.1) if quick else (1000, 1000, 1.1)
    generations = 100 if quick else 1000
    chains = 100 if quick else 400
    w = np.arange(1, K + 1, dtype=float) ** (-s)
    p0 = w / w.sum()
    gens = np.unique(np.concatenate(
        [[0], np.round(np.geomspace(1, generations, 16 if quick else 24)).astype(int)]))

    run = simulate(jax.random.key(SEED), p0=p0, M=M, generations=generations, chains=chains,
                   record=gens, track_extinction=False, method="samples")
    surv = np.asarray(run.survivors, dtype=float)
    sim_mean = surv.mean(axis=1)
    sim_se = surv.std(axis=1, ddof=1) / np.sqrt(chains)
    exact = th.expected_survivors(gens, p0, M)
    suresh = np.sum(1.0 - th.extinction_probability(gens[:, None], p0, M, method="suresh"),
                    axis=1)

    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax, ax_z = axes[0, 0], axes[0, 1]
    x = np.maximum(gens, 0.7)  # generation 0 drawn at 0.7 on the log axis
    ax.plot(x, exact, "k-", lw=1.3, label="exact E S_n")
    ax.plot(x, suresh, "--", color="tab:green", lw=1.0, label="Suresh et al. (Poisson refit)")
    ax.errorbar(x, sim_mean, yerr=2.0 * sim_se, fmt="o", ms=3, color="tab:red",
                elinewidth=0.8, label=f"simulated mean ({chains} chains) +-2 se")
    ax.axhline(np.sum(M * p0 >= 1.0), color="0.6", ls=":", lw=0.8,
               label="symbols with M p >= 1")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("generation n (0 drawn at 0.7)")
    ax.set_ylabel("surviving symbols")
    ax.set_title(f"Zipf({s}), K = {K}, M = {M}")
    ax.legend(loc="lower left", fontsize=7)
    with np.errstate(divide="ignore", invalid="ignore"):
        zsc = np.where(sim_se > 0, (sim_mean - exact) / sim_se, 0.0)
    ax_z.axhspan(-2, 2, color="0.9")
    ax_z.plot(x[1:], zsc[1:], "o", ms=3, color="tab:red")
    ax_z.axhline(0.0, color="k", lw=0.8)
    ax_z.set_xscale("log")
    ax_z.set_xlabel("generation n")
    ax_z.set_ylabel("(simulated - exact) / se")
    ax_z.set_title("standardised difference")
    fig.suptitle("Expected surviving vocabulary under recursive refitting: exact vs simulation")
    data = {"generations": gens, "exact": exact, "suresh": suresh, "sim_mean": sim_mean,
            "sim_se": sim_se, "p0": p0}
    meta = {"K": K, "M": M, "zipf_exponent": s, "generations": generations, "chains": chains,
            "seed": SEED, "quick": quick, "simulator": "samples",
            "reference": "Shumailov et al. (2024); Suresh et al. (AISTATS 2025)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
