"""Figure (k): Wasserstein and total-variation drift of the categorical refit, exact at finite n.

A distribution ``p0`` on the numeric support ``0, 1, ..., K - 1`` (a discretised bell,
``p_i ~ exp(-(i - (K-1)/2)^2 / 8)``) is refit on ``M`` samples per generation by empirical
frequencies (neutral Wright-Fisher; generation 0 = ``p0``, generation ``n`` = after ``n`` rounds
of "draw M samples, refit"). Drawn against the generation (linear on [0, 1], logarithmic beyond):

- left: the exact ``E W1(p_n, p0)`` (lines; ``expected_w1``: each cut point's cumulative count
  is a two-allele Wright-Fisher chain, whose exact law gives ``E |F_n(j) - F_0(j)|``), the
  simulated mean with +-2 standard errors (open points), and the limit ``sum_{i,j} p_i p_j
  |x_i - x_j|`` (dashed: the chain ends at a point mass on a symbol drawn from ``p0``);
- right: the same for the total variation ``E TV(p_n, p0) = 1/2 sum_i E |p_{n,i} - p0_i|``
  (``expected_total_variation``), whose limit is ``1 - sum_i p0_i^2``.

References: Shumailov et al., Nature 631 (2024); Ewens, *Mathematical Population Genetics*
(2004), ch. 1 and 3 (the two-allele chain and its absorption).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import generation_axis, new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import discrete_drift as th

STEM = "k_discrete_drift"
SEED = 71


def bell(K: int) -> np.ndarray:
    """The figure's ``p0``: ``p_i ~ exp(-(i - (K-1)/2)^2 / 8)`` on ``0..K-1``."""
    i = np.arange(K, dtype=np.float64)
    w = np.exp(-((i - (K - 1) / 2.0) ** 2) / 8.0)
    return w / w.sum()


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    K = 12
    Ms = (10, 100) if quick else (10, 100, 1000)
    chains = 400 if quick else 4000
    p0 = bell(K)
    support = np.arange(K, dtype=np.float64)
    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax_w, ax_t = axes[0, 0], axes[0, 1]
    data: dict[str, np.ndarray] = {"p0": p0, "support": support}
    key = jax.random.key(SEED)
    w1_inf = float(th.w1_limit(p0, support))
    tv_inf = float(th.total_variation_limit(p0))
    top = 0.0
    for j, M in enumerate(Ms):
        generations = 8 * M
        top = max(top, generations)
        gens = np.unique(np.concatenate(
            [[0], np.round(np.geomspace(1, generations, 10 if quick else 16)).astype(int)]))
        run = simulate(jax.random.fold_in(key, j), p0=p0, M=M, generations=generations,
                       chains=chains, record=gens, track_extinction=False, support=support,
                       drift=True)
        n_line = np.unique(np.round(np.concatenate(
            [[0], np.geomspace(1, generations, 40 if quick else 80)])).astype(int))
        col = f"C{j}"
        for ax, name, exact in (
            (ax_w, "w1", th.expected_w1(n_line, p0, M, support)),
            (ax_t, "tv", th.expected_total_variation(n_line, p0, M)),
        ):
            sim = np.asarray(getattr(run, name), dtype=np.float64)
            mean, se = sim.mean(axis=1), sim.std(axis=1, ddof=1) / np.sqrt(chains)
            ax.errorbar(gens, mean, yerr=2.0 * se, fmt="o", ms=3.5, color=col, mfc="white",
                        elinewidth=0.7, zorder=2)
            ax.plot(n_line, exact, color=col, lw=1.1, label=f"$M = {M}$", zorder=3)
            data |= {f"M{M}_{name}_generations": gens, f"M{M}_{name}_sim_mean": mean,
                     f"M{M}_{name}_sim_se": se, f"M{M}_{name}_n_line": n_line,
                     f"M{M}_{name}_exact": exact}
    for ax, limit, label in ((ax_w, w1_inf, r"limit $\sum_{i,j} p_i p_j |x_i - x_j|$"),
                             (ax_t, tv_inf, r"limit $1 - \sum_i p_i^2$")):
        ax.axhline(limit, color="0.3", ls="--", lw=1.0, label=label, zorder=1)
        generation_axis(ax, top=top * 1.2)
        ax.set_xlabel("generation $n$")
        ax.set_ylim(0.0, 1.08 * limit)
    ax_w.plot([], [], "k-", lw=1.1, label="exact")
    ax_w.plot([], [], "ko", ms=3.5, mfc="white",
              label=rf"simulated mean $\pm 2\,$se ({chains} chains)")
    ax_w.set_ylabel(r"$\mathbb{E}\,W_1(p_n, p_0)$")
    ax_t.set_ylabel(r"$\mathbb{E}\,\mathrm{TV}(p_n, p_0)$")
    ax_w.set_title(r"Wasserstein-1 on the support $0, \ldots, K-1$")
    ax_t.set_title("total variation")
    handles, labels = ax_w.get_legend_handles_labels()
    keep = [i for i, lab in enumerate(labels) if not lab.startswith("limit")]
    fig.legend([handles[i] for i in keep], [labels[i] for i in keep],
               loc="outside lower center", ncol=len(keep))
    ax_w.legend(handles=[h for h, lab in zip(handles, labels, strict=True)
                         if lab.startswith("limit")], loc="lower right", fontsize=7)
    ax_t.legend(handles=[h for h, lab in zip(*ax_t.get_legend_handles_labels(), strict=True)
                         if lab.startswith("limit")], loc="lower right", fontsize=7)
    fig.suptitle(rf"Drift of the categorical refit ($K = {K}$, discretised bell): exact vs "
                 "simulation")
    data |= {"w1_limit": np.array(w1_inf), "tv_limit": np.array(tv_inf)}
    meta = {"M": list(Ms), "K": K, "chains": chains, "generations": "8 M", "seed": SEED,
            "quick": quick, "p0": "p_i ~ exp(-(i - (K-1)/2)^2 / 8) on 0..K-1",
            "simulator": "sufficient (exact multinomial counts)",
            "generation_axis": "symlog: linear on [0, 1], logarithmic beyond",
            "reference": "Shumailov et al. (2024); Ewens (2004) ch. 1, 3"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
