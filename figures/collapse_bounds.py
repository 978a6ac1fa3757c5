"""Figure (c): the probability of collapse P(sigma_n <= 0.1 sigma_0), exact, against bounds.

Left: the exact probability over a (M, n) grid (``collapse_probability``, a numerical inversion
of the characteristic function of log sigma_n^2, a sum of n i.i.d. log-gamma variables). Right:
the survival probability P(sigma_n > 0.1 sigma_0) against n for a few M, exact, with three upper
bounds: Markov on E sigma_n (Bertrand et al. 2023), the exponential bound of Suresh et al. (2024),
and the optimised fractional-moment (Chernoff) bound min_s eps^{-s} E[(sigma_n^2/sigma_0^2)^s].
Points: the sufficient-statistic simulator (+-2 binomial standard errors).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
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

    fig, axes = new_figure(1, 2, width=5.0, height=4.0)
    ax = axes[0, 0]
    mesh = ax.pcolormesh(n_grid, M_grid, P, shading="nearest", cmap="viridis", vmin=0, vmax=1)
    ax.contour(n_grid, M_grid, P, levels=[0.05, 0.5, 0.95], colors="w", linewidths=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("generation n")
    ax.set_ylabel("samples per generation M")
    ax.set_title(r"exact $P(\sigma_n \leq 0.1\,\sigma_0)$ (contours 5, 50, 95 %)")
    fig.colorbar(mesh, ax=ax)

    ax = axes[0, 1]
    chains = 4000 if quick else 40_000
    data: dict[str, np.ndarray] = {"M_grid": M_grid, "n_grid": n_grid, "collapse_probability": P}
    for i, (M, color) in enumerate(((10, "C0"), (100, "C1"), (1000, "C2"))):
        n = np.unique(np.round(np.geomspace(1, 40 * M, 60)))
        exact = th.survival_probability(n, M, EPS, ddof=ddof)
        bounds = {
            "Markov (Bertrand)": th.markov_survival_bound(n, M, EPS, ddof=ddof),
            "Suresh et al.": th.suresh_survival_bound(n, M, EPS),
            "Chernoff": th.chernoff_survival_bound(n, M, EPS, ddof=ddof),
        }
        ax.plot(n, exact, color=color, lw=1.6, label=f"M={M}: exact")
        for (label, b), ls in zip(bounds.items(), ("--", ":", "-."), strict=True):
            ax.plot(n, np.minimum(b, 1.0), color=color, lw=0.9, ls=ls,
                    label=label if i == 0 else None)
        rec = np.unique(np.round(np.geomspace(1, 40 * M, 8)).astype(int))
        run = simulate(jax.random.fold_in(jax.random.key(SEED), i), M=M, generations=int(rec[-1]),
                       chains=chains, ddof=ddof, method="sufficient", record=rec)
        g = np.asarray(run.generations)
        surv = (np.asarray(run.log_variance, dtype=float) > np.log(EPS)).mean(axis=1)
        se = np.sqrt(surv * (1 - surv) / chains)
        keep = g >= 1
        ax.errorbar(g[keep], surv[keep], yerr=2 * se[keep], fmt="o", ms=3, color=color, capsize=2)
        data |= {f"M{M}_n": n, f"M{M}_exact_survival": exact, f"M{M}_sim_generations": g[keep],
                 f"M{M}_sim_survival": surv[keep], f"M{M}_sim_se": se[keep]}
        data |= {f"M{M}_bound_{k.split()[0].lower()}": v for k, v in bounds.items()}
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1.5)
    ax.set_xlabel("generation n")
    ax.set_ylabel(r"$P(\sigma_n > 0.1\,\sigma_0)$")
    ax.set_title("survival: exact (solid), bounds (clipped at 1), simulation (points)")
    ax.legend(loc="lower left", ncol=2)
    fig.suptitle("Collapse of the fitted standard deviation, ddof=1")
    meta = {"eps_variance_ratio": EPS, "ddof": ddof, "grid_size": size, "chains": chains,
            "seed": SEED, "quick": quick,
            "reference": "Shumailov et al. 2024; Bertrand et al. 2023; Suresh et al. 2024"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
