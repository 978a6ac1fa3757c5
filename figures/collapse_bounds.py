"""Figure (c): the probability of collapse P(sigma_n <= 0.1 sigma_0), exact, against bounds.

Left: the exact probability over a (M, n) grid (``collapse_probability``, a numerical inversion
of the characteristic function of log sigma_n^2, a sum of n i.i.d. log-gamma variables). Right:
the survival probability P(sigma_n > 0.1 sigma_0) against n for a few M, exact, with three upper
bounds: Markov on E sigma_n (Bertrand et al. 2023), the exponential bound of Suresh et al. (2024),
and the optimised fractional-moment (Chernoff) bound min_s eps^{-s} E[(sigma_n^2/sigma_0^2)^s].
Colours: M; line styles: exact and the three bounds. Points: the fraction of surviving chains of
the sufficient-statistic simulator, with exact 95 % (Clopper-Pearson) intervals -- symmetric
+-2 se bars run off the log axis when only a chain or two survive. A count of zero is drawn as its
one-sided 95 % upper limit (a downward triangle, about 3 / chains).
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
from modelcollapse.sims.gaussian import simulate
from modelcollapse.theory import gaussian as th

STEM = "c_collapse_bounds"
SEED = 11
EPS = 0.01  # variance ratio: sigma_n <= 0.1 sigma_0


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    ddof = 1
    size = 40 if quick else 100
    M_grid = np.unique(np.round(np.geomspace(2, 1e4, size)))
    n_grid = np.unique(np.round(np.geomspace(1, 1e6, size)))
    P = th.collapse_probability(n_grid[None, :], M_grid[:, None], EPS, ddof=ddof)

    fig, axes = new_figure(1, 2, width=5.2, height=4.0)
    ax = axes[0, 0]
    mesh = ax.pcolormesh(n_grid, M_grid, P, shading="nearest", cmap="viridis", vmin=0, vmax=1)
    contours = ax.contour(n_grid, M_grid, P, levels=[0.05, 0.5, 0.95], colors="w", linewidths=0.7)
    spots = []  # label each contour where it crosses M ~ 1000, 100, 10 (apart from the others)
    for level, m in ((0.05, 1000.0), (0.5, 100.0), (0.95, 10.0)):
        row = int(np.argmin(np.abs(np.log(M_grid / m))))
        spots.append((n_grid[np.argmax(P[row] >= level)], M_grid[row]))
    for (x, y), level in zip(spots, contours.levels, strict=True):
        ax.text(x, y, f"{level:.0%}".replace("%", " %"), fontsize=7, ha="center",
                color="k" if level > 0.5 else "w",
                va="center", bbox={"boxstyle": "round,pad=0.15", "fc": mesh.cmap(level),
                                   "ec": "w", "lw": 0.5})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("generation $n$")
    ax.set_ylabel("samples per generation $M$")
    ax.set_title(r"exact $P(\sigma_n \leq 0.1\,\sigma_0)$")
    fig.colorbar(mesh, ax=ax, label=r"$P(\sigma_n \leq 0.1\,\sigma_0)$")

    ax = axes[0, 1]
    chains = 2000 if quick else 40_000
    upper = zero_count_upper_limit(chains)
    data: dict[str, np.ndarray] = {"M_grid": M_grid, "n_grid": n_grid, "collapse_probability": P}
    for i, (M, color) in enumerate(((10, "C0"), (100, "C1"), (1000, "C2"))):
        n = np.unique(np.round(np.geomspace(1, 40 * M, 60)))
        exact = th.survival_probability(n, M, EPS, ddof=ddof)
        bounds = {
            "Markov (Bertrand)": th.markov_survival_bound(n, M, EPS, ddof=ddof),
            "Suresh et al.": th.suresh_survival_bound(n, M, EPS),
            "Chernoff": th.chernoff_survival_bound(n, M, EPS, ddof=ddof),
        }
        ax.plot(n, exact, color=color, lw=1.6, label=f"$M = {M}$")
        for b, ls in zip(bounds.values(), ("--", ":", "-."), strict=True):
            ax.plot(n, np.minimum(b, 1.0), color=color, lw=0.9, ls=ls)
        rec = np.unique(np.round(np.geomspace(1, 40 * M, 8)).astype(int))
        run = simulate(jax.random.fold_in(jax.random.key(SEED), i), M=M, generations=int(rec[-1]),
                       chains=chains, ddof=ddof, method="sufficient", record=rec)
        g = np.asarray(run.generations)
        alive = (np.asarray(run.log_variance, dtype=float) > np.log(EPS)).sum(axis=1)
        surv = alive / chains
        se = np.sqrt(surv * (1 - surv) / chains)
        lo, hi = binomial_interval(alive, chains)
        keep = g >= 1
        some = keep & (alive > 0)
        none = keep & (alive == 0)
        ax.errorbar(g[some], surv[some], yerr=[surv[some] - lo[some], hi[some] - surv[some]],
                    fmt="o", ms=3, color=color, capsize=2)
        ax.plot(g[none], np.full(none.sum(), upper), "v", ms=5, color=color)
        data |= {f"M{M}_n": n, f"M{M}_exact_survival": exact, f"M{M}_sim_generations": g[keep],
                 f"M{M}_sim_survival": surv[keep], f"M{M}_sim_se": se[keep],
                 f"M{M}_sim_alive_chains": alive[keep], f"M{M}_sim_ci95_low": lo[keep],
                 f"M{M}_sim_ci95_high": hi[keep]}
        data |= {f"M{M}_bound_{k.split()[0].lower()}": v for k, v in bounds.items()}
    ax.plot([], [], "k-", lw=1.6, label="exact")
    for label, ls in zip(bounds, ("--", ":", "-."), strict=True):
        ax.plot([], [], "k", lw=0.9, ls=ls, label=label + " bound")
    ax.plot([], [], "ko", ms=3, label=f"simulated ({chains} chains), 95 % Clopper-Pearson")
    ax.plot([], [], "kv", ms=5, label="no chain survives: 95 % upper limit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lows = [data[f"M{M}_sim_ci95_low"] for M in (10, 100, 1000)]
    lowest = min((float(v[v > 0].min()) for v in lows if np.any(v > 0)), default=1e-6)
    ax.set_ylim(min(1e-6, 0.5 * lowest), 1.5)  # room for the exact intervals of 1-2 chains
    ax.set_xlabel("generation $n$")
    ax.set_ylabel(r"$P(\sigma_n > 0.1\,\sigma_0)$")
    ax.set_title("survival: exact, upper bounds (clipped at 1), simulation")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
    fig.suptitle(r"Collapse of the fitted standard deviation, ddof$\,=1$")
    meta = {"eps_variance_ratio": EPS, "ddof": ddof, "grid_size": size, "chains": chains,
            "seed": SEED, "quick": quick, "interval": "Clopper-Pearson 95 %",
            "zero_count_marker": "one-sided 95 % upper limit 1 - 0.05**(1/chains)",
            "reference": "Shumailov et al. 2024; Bertrand et al. 2023; Suresh et al. 2024"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
