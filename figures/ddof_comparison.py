"""Figure (d): unbiased (ddof=1) against maximum-likelihood (ddof=0) refitting.

Left, the variance: its mean E sigma_n^2 / sigma_0^2, constant for ddof=1 and (1 - 1/M)^n for
ddof=0. Right, the standard deviation sigma_n / sigma_0: its median (the square root of the exact
quantile of sigma_n^2: about exp(-n/(2M)) for ddof=1 and exp(-n/M) for ddof=0) and its mean
E sigma_n = c^n. Under ddof=1 the mean variance never moves while the typical path collapses: the
mean is carried by rare paths.

One unit per panel: on a shared axis the ddof=0 median of sigma_n (~ exp(-n/M)) would lie on
E sigma_n^2 = (1 - 1/M)^n, and the ddof=1 median of sigma_n^2 (~ exp(-n/M)) likewise, so the
medians are drawn for sigma_n only. Points: medians of the sufficient-statistic simulator.
Generation 0 is drawn: the generation axis is linear on [0, 1] and logarithmic beyond.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import generation_axis, new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.theory import gaussian as th

STEM = "d_ddof_comparison"
SEED = 5


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    M = 100
    generations = 300 if quick else 2000
    chains = 2000 if quick else 20_000
    n = np.unique(np.round(np.concatenate([[0], np.geomspace(1, generations, 80)])))
    rec = np.unique(np.round(np.geomspace(1, generations, 12)).astype(int))
    fig, axes = new_figure(1, 2, width=4.4, height=3.8, sharex=True,
                           gridspec_kw={"width_ratios": [1.0, 1.5]})
    ax_v, ax_s = axes[0, 0], axes[0, 1]
    data: dict[str, np.ndarray] = {"n": n}
    for ddof, color in ((1, "C0"), (0, "C3")):
        ev = th.expected_variance(n, M, ddof=ddof)
        med = np.sqrt(th.variance_quantile(n, M, 0.5, ddof=ddof))
        es = th.expected_std(n, M, ddof=ddof)
        name = "unbiased" if ddof else "maximum likelihood"
        ax_v.plot(n, ev, color=color, lw=1.5,
                  label=rf"$\mathbb{{E}}\,\sigma_n^2$, ddof$\,={ddof}$ ({name})")
        ax_s.plot(n, es, color=color, lw=1.2, ls=":",
                  label=rf"$\mathbb{{E}}\,\sigma_n$, ddof$\,={ddof}$")
        ax_s.plot(n, med, color=color, lw=1.2, ls="--",
                  label=rf"median $\sigma_n$, ddof$\,={ddof}$")
        run = simulate(jax.random.fold_in(jax.random.key(SEED), ddof), M=M,
                       generations=generations, chains=chains, ddof=ddof, method="sufficient",
                       record=rec)
        g = np.asarray(run.generations)
        sim_med = np.exp(0.5 * np.median(np.asarray(run.log_variance, dtype=float), axis=1))
        ax_s.plot(g, sim_med, "o", ms=3.5, color=color, mfc="none", zorder=3)
        data |= {f"ddof{ddof}_expected_variance": ev, f"ddof{ddof}_median_std": med,
                 f"ddof{ddof}_expected_std": es, f"ddof{ddof}_sim_generations": g,
                 f"ddof{ddof}_sim_median_std": sim_med}
    ax_s.plot([], [], "ko", ms=3.5, mfc="none", label=f"simulated median ({chains} chains)")
    for ax in (ax_v, ax_s):
        generation_axis(ax, top=generations * 1.15)
        ax.set_yscale("log")
        ax.set_xlabel("generation $n$")
        ax.legend(loc="lower left")
    ax_v.set_ylabel(r"$\mathbb{E}\,\sigma_n^2 / \sigma_0^2$")
    ax_v.set_title("the mean of the variance")
    ax_s.set_ylabel(r"standard deviation $\sigma_n / \sigma_0$")
    ax_s.set_title("the standard deviation: its mean and its median")
    fig.suptitle(rf"ddof$\,=1$ (unbiased) vs ddof$\,=0$ (maximum likelihood), $M = {M}$: "
                 "lines exact, points simulated")
    meta = {"M": M, "generations": generations, "chains": chains, "seed": SEED, "quick": quick,
            "generation_axis": "symlog: linear on [0, 1], logarithmic beyond",
            "reference": "Shumailov et al., Nature 631 (2024), Thm 3.1"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
