"""Figure (h): heterozygosity (Gini-Simpson diversity) decay for several sample sizes M.

A distribution ``p0`` over ``K`` symbols (Zipf, exponent 1) is refit on ``M`` samples per
generation by empirical frequencies (neutral Wright-Fisher; generation 0 = ``p0``, generation
``n`` = after ``n`` rounds of "draw M samples, refit"). Drawn against the generation (linear on
[0, 1], logarithmic beyond, so that generation 0 is drawn where it is):

- the exact mean heterozygosity ``E[1 - sum_i p_{n,i}^2] = (1 - 1/M)^n (1 - sum_i p0_i^2)``
  (lines, from ``n = 0``, drawn over the points; ``expected_heterozygosity``);
- the simulated mean with +-2 standard errors (open points).

Right panel: the exact curves against ``n / M`` (M = 5 solid, larger M with shorter dashes) over
the diffusion limit ``exp(-n/M) H_0`` (wide grey): the curves collapse onto it as ``M`` grows (the
exact factor ``(1 - 1/M)^n`` differs at small ``M``).

References: Wright (1931); Ewens, *Mathematical Population Genetics* (2004), eq. 1.47;
Shumailov et al., Nature 631 (2024).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import generation_axis, new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import discrete as th

STEM = "h_discrete_heterozygosity"
SEED = 53


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    Ms = (5, 50) if quick else (5, 50, 500)
    K = 10
    chains = 500 if quick else 4000
    w = 1.0 / np.arange(1, K + 1)
    p0 = w / w.sum()
    H0 = float(th.expected_heterozygosity(0, p0, 10))
    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax, ax_s = axes[0, 0], axes[0, 1]
    data: dict[str, np.ndarray] = {"p0": p0}
    key = jax.random.key(SEED)
    u = np.linspace(0.0, 4.0, 200)
    ax_s.plot(u, H0 * np.exp(-u), color="0.75", lw=4.0, solid_capstyle="butt",
              label=r"diffusion limit $H_0\,e^{-n/M}$")
    dashes = ("-", (0, (5, 2)), (0, (2, 1.5)))
    for j, M in enumerate(Ms):
        generations = 4 * M
        gens = np.unique(np.concatenate(
            [[0], np.round(np.geomspace(1, generations, 14 if quick else 20)).astype(int)]))
        method = "samples" if M <= 50 else "sufficient"  # both exact; cost of samples ~ M
        run = simulate(jax.random.fold_in(key, j), p0=p0, M=M, generations=generations,
                       chains=chains, record=gens, track_extinction=False, method=method)
        het = np.asarray(run.heterozygosity, dtype=float)
        mean, se = het.mean(axis=1), het.std(axis=1, ddof=1) / np.sqrt(chains)
        n_line = np.unique(np.round(np.concatenate([[0], np.geomspace(1, generations, 200)])))
        n_line = n_line.astype(int)
        exact = th.expected_heterozygosity(n_line, p0, M)
        col = f"C{j}"
        ax.errorbar(gens, mean, yerr=2.0 * se, fmt="o", ms=3.5, color=col, mfc="white",
                    elinewidth=0.7, zorder=2)
        ax.plot(n_line, exact, color=col, lw=1.1, label=f"$M = {M}$", zorder=3)
        ax_s.plot(n_line / M, exact, color=col, lw=1.2, ls=dashes[j % len(dashes)],
                  label=f"$M = {M}$, exact")
        data |= {f"M{M}_generations": gens, f"M{M}_sim_mean": mean, f"M{M}_sim_se": se,
                 f"M{M}_n_line": n_line, f"M{M}_exact": exact}
    ax.plot([], [], "k-", lw=1.1, label="exact")
    ax.plot([], [], "ko", ms=3.5, mfc="white",
            label=rf"simulated mean $\pm 2\,$se ({chains} chains)")
    generation_axis(ax, top=4 * max(Ms) * 1.2)
    ax.set_xlabel("generation $n$")
    ax.set_ylabel(r"mean heterozygosity $\mathbb{E}\,H_n$")
    ax.set_title(f"Zipf(1), $K = {K}$: " r"$H_n = 1 - p_{n,1}^2 - \cdots - p_{n,K}^2$")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=len(Ms) + 2)
    ax_s.set_xlabel("$n / M$")
    ax_s.set_ylabel(r"$\mathbb{E}\,H_n$")
    ax_s.set_title("rescaled time")
    ax_s.legend(loc="upper right", fontsize=7)
    fig.suptitle(r"Heterozygosity decays exactly like $(1 - 1/M)^n$: exact vs simulation")
    meta = {"M": list(Ms), "K": K, "chains": chains, "generations": "4 M", "seed": SEED,
            "quick": quick, "H0": H0, "simulator": "samples for M <= 50, else sufficient",
            "generation_axis": "symlog: linear on [0, 1], logarithmic beyond",
            "reference": "Wright (1931); Ewens (2004) eq. 1.47; Shumailov et al. (2024)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
