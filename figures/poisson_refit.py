"""Figure (j): the Poisson refit (Suresh et al.) -- extinction and the law of the fitted rate.

A Poisson(lam0) model is refit by the mean of ``M`` draws of the previous generation
(generation 0 = Poisson(lam0); generation ``n`` = after ``n`` rounds of "draw M samples, refit").
``S_n = M Lam_n`` is a critical Galton-Watson process with Poisson(1) offspring started from
``Poisson(c)``, ``c = M lam0``.

Left: the survival probability ``P(Lam_n > 0) = 1 - exp(-c g_n)`` (exact, lines;
``theory.poisson.survival_probability``) against ``n`` for several ``c``, the simulated fraction
of surviving chains with +-2 standard errors (points), and Kolmogorov's estimate ``2c/n``
(dashed): the rate dies out almost surely although ``E Lam_n = lam0`` for every ``n``.

Right: the exact law of ``Lam_n / lam0`` for ``c = 20`` at a few generations (FFT inversion of
the probability generating function; ``theory.poisson.count_distribution``, lines) beside the
simulated histogram (points): the atom at 0 grows while the surviving mass spreads out.

References: Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive training"
(AISTATS 2025); Athreya & Ney, *Branching Processes* (1972), ch. I.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.poisson import simulate
from modelcollapse.theory import poisson as th

STEM = "j_poisson_refit"
SEED = 71


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    lam0, M = 1.0, (5, 20, 100)
    chains = 2000 if quick else 20_000
    G = 300 if quick else 2000
    gens = np.unique(np.round(np.geomspace(1, G, 14 if quick else 24)).astype(int))
    fig, axes = new_figure(1, 2, width=4.4, height=3.5)
    ax, ax_law = axes[0, 0], axes[0, 1]
    data: dict[str, np.ndarray] = {"generations": gens}
    key = jax.random.key(SEED)
    n_line = np.unique(np.round(np.geomspace(1, G, 200)).astype(int))
    for j, m in enumerate(M):
        c = m * lam0
        run = simulate(jax.random.fold_in(key, j), lam0=lam0, M=m, generations=G, chains=chains,
                       record=gens)
        alive = (np.asarray(run.total)[1:] > 0).astype(float)
        p_sim = alive.mean(axis=1)
        se = np.sqrt(p_sim * (1.0 - p_sim) / chains)
        exact = th.survival_probability(n_line, lam0, m)
        col = f"C{j}"
        ax.plot(n_line, exact, color=col, lw=1.2, label=f"c = M lam0 = {c:g}, exact")
        ax.errorbar(gens, p_sim, yerr=2.0 * se, fmt="o", ms=2.6, color=col, elinewidth=0.7,
                    label=f"c = {c:g}, simulated +-2 se")
        ax.plot(n_line, np.minimum(2.0 * c / n_line, 1.0), "--", color=col, lw=0.8)
        data |= {f"c{c:g}_survival_sim": p_sim, f"c{c:g}_survival_se": se,
                 f"c{c:g}_n_line": n_line, f"c{c:g}_survival_exact": exact}
    ax.plot([], [], "k--", lw=0.8, label="2c / n (Kolmogorov)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3 if quick else 1e-4, 1.5)
    ax.set_xlabel("generation n")
    ax.set_ylabel("P(rate > 0)")
    ax.set_title(f"survival of the fitted rate, lam0 = {lam0:g}, {chains} chains")
    ax.legend(loc="lower left", fontsize=6)

    m_law = 20
    shown = (1, 10, 50) if quick else (1, 10, 50, 200)
    law_run = simulate(jax.random.fold_in(key, 99), lam0=lam0, M=m_law, generations=shown[-1],
                       chains=chains, record=list(shown))
    for j, n in enumerate(shown):
        pmf = th.count_distribution(n, lam0, m_law)
        k = np.arange(pmf.size)
        row = law_run.generations.tolist().index(n)
        counts = np.bincount(np.asarray(law_run.total)[row], minlength=pmf.size)[:pmf.size]
        col = f"C{j + 3}"
        keep = pmf > 1e-5
        ax_law.plot(k[keep] / (m_law * lam0), pmf[keep], color=col, lw=1.0,
                    label=f"n = {n}: exact (P(0) = {pmf[0]:.3f})")
        # simulated frequencies per count, averaged over bins of ~sd/6 counts beyond the atom
        width = max(1, int(round(float(np.sqrt(th.rate_variance(n, lam0, m_law))) * m_law / 6)))
        edges = np.concatenate([[0, 1], np.arange(1 + width, pmf.size + width, width)])
        sums = np.add.reduceat(counts, edges[:-1]) / chains / np.diff(edges)
        mids = 0.5 * (edges[:-1] + edges[1:] - 1)
        ax_law.plot(mids / (m_law * lam0), np.where(sums > 0, sums, np.nan), "o", ms=2.0,
                    color=col)
        data |= {f"law_n{n}_pmf": pmf, f"law_n{n}_sim_counts": counts}
    ax_law.plot([], [], "ko", ms=2, label="simulated frequency")
    ax_law.set_yscale("log")
    ax_law.set_xlim(-0.5, 20.0)
    ax_law.set_ylim(1e-4, 1.0)
    ax_law.set_xlabel("Lam_n / lam0")
    ax_law.set_ylabel("probability")
    ax_law.set_title(f"law of the fitted rate, M lam0 = {m_law * lam0:g}")
    ax_law.legend(loc="upper right", fontsize=6)
    fig.suptitle("Poisson refit: E Lam_n = lam0 for all n, yet Lam_n -> 0 almost surely")
    meta = {"lam0": lam0, "M": list(M), "M_law": m_law, "chains": chains, "generations": G,
            "law_generations": list(shown), "seed": SEED, "quick": quick,
            "simulator": "sufficient statistic (exact Poisson totals)",
            "reference": "Suresh, Thangaraj & Khandavally (AISTATS 2025)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
