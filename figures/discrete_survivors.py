"""Figure (g): how many symbols of a Zipf vocabulary survive recursive refitting?

A Zipf law ``p_i ~ i^{-1.1}`` over ``K`` symbols is refit on ``M`` samples per generation by
empirical frequencies (neutral Wright-Fisher; generation 0 = ``p0``, generation ``n`` = after ``n``
rounds of "draw M samples, refit"). Drawn against the generation (linear on [0, 1], logarithmic
beyond, so that generation 0 is drawn where it is):

- exact expected support size ``E S_n = sum_i (1 - P(symbol i lost by n))`` (solid;
  ``expected_survivors``, exact by linearity over the single-symbol binomial chains), on every
  generation of a fine grid from ``n = 0``, over the points;
- the Poisson-refit approximation ``sum_i (1 - exp(-M p_i g_n))`` of Suresh et al. (dashed), a
  lower bound on ``E S_n``;
- the simulated mean number of surviving symbols with +-2 standard errors (open points).

Right panel: both relative to the exact value, ``(simulated - exact) / exact`` with +-2 se bars
(points) and ``(Suresh - exact) / exact`` (dashed): the approximation drifts below once only the
few most frequent symbols are left.

References: Shumailov et al., Nature 631 (2024); Suresh, Thangaraj & Khandavally (AISTATS 2025);
Dohmatob et al., "A Tale of Tails" (ICML 2024).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import generation_axis, new_figure, save
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

    n_line = np.unique(np.round(np.concatenate([[0], np.geomspace(1, generations, 200)])))
    exact_line = th.expected_survivors(n_line.astype(int), p0, M)
    suresh_line = np.sum(
        1.0 - th.extinction_probability(n_line.astype(int)[:, None], p0, M, method="suresh"),
        axis=1)

    fig, axes = new_figure(1, 2, width=4.6, height=3.6, sharex=True)
    ax, ax_r = axes[0, 0], axes[0, 1]
    ax.errorbar(gens, sim_mean, yerr=2.0 * sim_se, fmt="o", ms=4, color="tab:red", mfc="white",
                elinewidth=0.8, label=rf"simulated mean $\pm 2\,$se ({chains} chains)", zorder=2)
    ax.plot(n_line, suresh_line, "--", color="tab:green", lw=1.1,
            label="Suresh et al. (Poisson refit), a lower bound", zorder=3)
    ax.plot(n_line, exact_line, "k-", lw=1.0, label=r"exact $\mathbb{E}\,S_n$", zorder=4)
    ax.axhline(np.sum(M * p0 >= 1.0), color="0.6", ls=":", lw=0.8,
               label=r"number of symbols with $M p_i \geq 1$")
    ax.set_yscale("log")
    ax.set_ylabel(r"surviving symbols $S_n$")
    ax.set_title(f"Zipf({s}), $K = {K}$, $M = {M}$")
    ax.legend(loc="lower left", fontsize=7)
    rel, rel_se = sim_mean / exact - 1.0, sim_se / exact
    ax_r.axhline(0.0, color="k", lw=0.8)
    ax_r.plot(n_line, suresh_line / exact_line - 1.0, "--", color="tab:green", lw=1.1,
              label="(Suresh et al. $-$ exact) / exact")
    ax_r.errorbar(gens[1:], rel[1:], yerr=2.0 * rel_se[1:], fmt="o", ms=4, color="tab:red",
                  mfc="white", elinewidth=0.8,
                  label=r"(simulated $-$ exact) / exact, $\pm 2\,$se")
    ax_r.set_ylabel("relative to exact")
    ax_r.set_title("relative differences")
    ax_r.legend(loc="lower left", fontsize=7)
    for a in (ax, ax_r):
        generation_axis(a, top=generations * 1.2)
        a.set_xlabel("generation $n$")
    fig.suptitle("Expected surviving vocabulary under recursive refitting: exact vs simulation")
    data = {"generations": gens, "exact": exact, "suresh": suresh, "sim_mean": sim_mean,
            "sim_se": sim_se, "p0": p0, "n_line": n_line, "exact_line": exact_line,
            "suresh_line": suresh_line}
    meta = {"K": K, "M": M, "zipf_exponent": s, "generations": generations, "chains": chains,
            "seed": SEED, "quick": quick, "simulator": "samples",
            "reference": "Shumailov et al. (2024); Suresh et al. (AISTATS 2025)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
