"""Figure (j): the Poisson refit (Suresh et al.) -- extinction and the law of the fitted rate.

A Poisson(lam0) model is refit by the mean of ``M`` draws of the previous generation
(generation 0 = Poisson(lam0); generation ``n`` = after ``n`` rounds of "draw M samples, refit").
``S_n = M Lam_n`` is a critical Galton-Watson process with Poisson(1) offspring started from
``Poisson(c)``, ``c = M lam0``.

Left: the survival probability ``P(Lam_n > 0) = 1 - exp(-c g_n)`` (exact, lines;
``theory.poisson.survival_probability``) against ``n`` for several ``c`` (colours), the simulated
fraction of surviving chains with exact 95 % (Clopper-Pearson) intervals (points; a zero count as
its one-sided upper limit), and Kolmogorov's estimate ``2c/n`` (dashed, drawn where it is below
1): the rate dies out almost surely although ``E Lam_n = lam0`` for every ``n``.

Right: the exact law of ``Lam_n / lam0`` for ``c = 20`` at a few generations (FFT inversion of
the probability generating function; ``theory.poisson.count_distribution``): the atom
``P(Lam_n = 0)`` as a bar at 0, the rest of the lattice ``k / M``, ``k >= 1``, as a
line; the simulated frequencies beside them (open points; beyond the atom, averaged over bins of
about a sixth of a standard deviation). The atom grows while the surviving mass spreads out.

References: Suresh, Thangaraj & Khandavally, "Rate of model collapse in recursive training"
(AISTATS 2025); Athreya & Ney, *Branching Processes* (1972), ch. I.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import (
    binomial_interval,
    new_figure,
    save,
    zero_count_upper_limit,
)
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
    upper = zero_count_upper_limit(chains)
    m_law = 20
    shown = (1, 10, 50) if quick else (1, 10, 50, 200)
    runs = {}
    record = np.union1d(gens, shown)  # one record for every run: one compilation
    for j, m in enumerate(M):
        c = m * lam0
        runs[m] = run = simulate(jax.random.fold_in(key, j), lam0=lam0, M=m, generations=G,
                                 chains=chains, record=record)
        rows = np.isin(np.asarray(run.generations), gens)
        alive_chains = (np.asarray(run.total)[rows] > 0).sum(axis=1)
        p_sim = alive_chains / chains
        se = np.sqrt(p_sim * (1.0 - p_sim) / chains)
        lo, hi = binomial_interval(alive_chains, chains)
        exact = th.survival_probability(n_line, lam0, m)
        col = f"C{j}"
        ax.plot(n_line, exact, color=col, lw=1.2, label=rf"$c = M\lambda_0 = {c:g}$")
        some, none = alive_chains > 0, alive_chains == 0
        ax.errorbar(gens[some], p_sim[some], yerr=[p_sim[some] - lo[some], hi[some] - p_sim[some]],
                    fmt="o", ms=3, color=col, mfc="white", elinewidth=0.7, zorder=3)
        ax.plot(gens[none], np.full(none.sum(), upper), "v", ms=5, color=col)
        kolmogorov = 2.0 * c / n_line
        ax.plot(n_line[kolmogorov < 1.0], kolmogorov[kolmogorov < 1.0], "--", color=col, lw=0.8)
        data |= {f"c{c:g}_survival_sim": p_sim, f"c{c:g}_survival_se": se,
                 f"c{c:g}_n_line": n_line, f"c{c:g}_survival_exact": exact,
                 f"c{c:g}_alive_chains": alive_chains, f"c{c:g}_survival_ci95_low": lo,
                 f"c{c:g}_survival_ci95_high": hi}
    ax.plot([], [], "k-", lw=1.2, label=r"exact $1 - e^{-c\,g_n}$")
    ax.plot([], [], "k--", lw=0.8, label="$2c/n$ (Kolmogorov)")
    ax.plot([], [], "ko", ms=3, mfc="white", label=f"simulated ({chains} chains), 95 % interval")
    if any(np.any(data[f"c{m * lam0:g}_alive_chains"] == 0) for m in M):
        ax.plot([], [], "kv", ms=5, label="no chain survives: 95 % upper limit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lowest = min(data[f"c{m * lam0:g}_survival_ci95_low"].min() for m in M)
    ax.set_ylim(0.5 * max(lowest, 0.5 * upper), 1.5)
    ax.set_xlabel("generation $n$")
    ax.set_ylabel(r"$P(\Lambda_n > 0)$")
    ax.set_title(rf"survival of the fitted rate, $\lambda_0 = {lam0:g}$")
    ax.legend(loc="lower left", fontsize=6)

    law_run = runs[m_law]  # the survival run with M = m_law serves the right panel too
    for j, n in enumerate(shown):
        pmf = th.count_distribution(n, lam0, m_law)
        k = np.arange(pmf.size)
        row = law_run.generations.tolist().index(n)
        counts = np.bincount(np.asarray(law_run.total)[row], minlength=pmf.size)[:pmf.size]
        col = f"C{j + 3}"
        keep = (pmf > 1e-5) & (k >= 1)
        ax_law.plot(k[keep] / (m_law * lam0), pmf[keep], color=col, lw=1.0,
                    label=rf"$n = {n}$, $P(\Lambda_n = 0) = {pmf[0]:.3f}$")
        ax_law.plot(0.0, pmf[0], "_", ms=14, mew=2.0, color=col, zorder=3)
        # simulated frequencies per count, averaged over bins of ~sd/6 counts beyond the atom
        width = max(1, int(round(float(np.sqrt(th.rate_variance(n, lam0, m_law))) * m_law / 6)))
        edges = np.concatenate([[0, 1], np.arange(1 + width, pmf.size + width, width)])
        sums = np.add.reduceat(counts, edges[:-1]) / chains / np.diff(edges)
        mids = 0.5 * (edges[:-1] + edges[1:] - 1)
        ax_law.plot(mids / (m_law * lam0), np.where(sums > 0, sums, np.nan), "o", ms=3.0,
                    color=col, mfc="white", zorder=4)
        data |= {f"law_n{n}_pmf": pmf, f"law_n{n}_sim_counts": counts}
    ax_law.plot([], [], "k-", lw=1.0, label=r"exact, $\Lambda_n = k/M$, $k \geq 1$")
    ax_law.plot([], [], "k_", ms=14, mew=2.0, label=r"exact atom $P(\Lambda_n = 0)$")
    ax_law.plot([], [], "ko", ms=3, mfc="white", label=f"simulated frequency ({chains} chains)")
    ax_law.set_yscale("log")
    ax_law.set_xlim(-0.5, 20.0)
    ax_law.set_ylim(0.3 / chains, 1.0)
    ax_law.set_xlabel(r"$\Lambda_n / \lambda_0$")
    ax_law.set_ylabel(r"$P(\Lambda_n = k/M)$")
    ax_law.set_title(rf"law of the fitted rate, $M\lambda_0 = {m_law * lam0:g}$")
    ax_law.legend(loc="upper right", fontsize=6)
    fig.suptitle(r"Poisson refit: $\mathbb{E}\,\Lambda_n = \lambda_0$ for all $n$, yet "
                 r"$\Lambda_n \to 0$ almost surely")
    meta = {"lam0": lam0, "M": list(M), "M_law": m_law, "chains": chains, "generations": G,
            "law_from": f"the survival run with M = {m_law}",
            "law_generations": list(shown), "seed": SEED, "quick": quick,
            "simulator": "sufficient statistic (exact Poisson totals)",
            "interval": "Clopper-Pearson 95 %",
            "reference": "Suresh, Thangaraj & Khandavally (AISTATS 2025)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
