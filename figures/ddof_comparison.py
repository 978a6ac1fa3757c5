"""Figure (d): unbiased (ddof=1) against maximum-likelihood (ddof=0) refitting.

Three summaries of sigma_n / sigma_0 against n: the mean of the variance E sigma_n^2 (constant for
ddof=1, (1 - 1/M)^n for ddof=0), the median of sigma_n (from the exact quantile of sigma_n^2:
about exp(-n/(2M)) and exp(-n/M)) and the mean E sigma_n = c^n. Under ddof=1 the mean variance
never moves while the typical path collapses: the mean is carried by rare paths. Under ddof=0 two
curves nearly coincide: median sigma_n ~ exp(-n/M) and E sigma_n^2 = (1 - 1/M)^n ~ exp(-n/M).
Points: medians of the sufficient-statistic simulator.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.theory import gaussian as th

STEM = "d_ddof_comparison"
SEED = 5


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    M = 100
    generations = 300 if quick else 2000
    chains = 2000 if quick else 20_000
    n = np.unique(np.round(np.geomspace(1, generations, 80)))
    rec = np.unique(np.round(np.geomspace(1, generations, 12)).astype(int))
    fig, axes = new_figure(1, 1, width=6.0, height=4.2)
    ax = axes[0, 0]
    data: dict[str, np.ndarray] = {"n": n}
    for ddof, color in ((1, "C0"), (0, "C3")):
        ev = th.expected_variance(n, M, ddof=ddof)
        med = np.sqrt(th.variance_quantile(n, M, 0.5, ddof=ddof))
        es = th.expected_std(n, M, ddof=ddof)
        ax.plot(n, ev, color=color, lw=1.5, label=rf"$E\sigma_n^2$, ddof={ddof}")
        ax.plot(n, med, color=color, lw=1.2, ls="--", label=rf"median $\sigma_n$, ddof={ddof}")
        ax.plot(n, es, color=color, lw=1.2, ls=":", label=rf"$E\sigma_n$, ddof={ddof}")
        run = simulate(jax.random.fold_in(jax.random.key(SEED), ddof), M=M,
                       generations=generations, chains=chains, ddof=ddof, method="sufficient",
                       record=rec)
        g = np.asarray(run.generations)
        sim_med = np.exp(0.5 * np.median(np.asarray(run.log_variance, dtype=float), axis=1))
        ax.plot(g[g >= 1], sim_med[g >= 1], "o", ms=3.5, color=color)
        data |= {f"ddof{ddof}_expected_variance": ev, f"ddof{ddof}_median_std": med,
                 f"ddof{ddof}_expected_std": es, f"ddof{ddof}_sim_generations": g,
                 f"ddof{ddof}_sim_median_std": sim_med}
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("generation n")
    ax.set_ylabel(r"relative to $\sigma_0$ ($\sigma_0^2$ for the variance)")
    ax.set_title(f"ddof=1 (unbiased) vs ddof=0 (MLE), M={M}: lines exact, points simulated medians")
    ax.legend(loc="lower left", ncol=2)
    meta = {"M": M, "generations": generations, "chains": chains, "seed": SEED, "quick": quick,
            "reference": "Shumailov et al., Nature 631 (2024), Thm 3.1"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
