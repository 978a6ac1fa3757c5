"""Figure (e): the tail cut-off of a discretised two-mode distribution (Shumailov et al. 2024).

A mixture ``0.5 N(-4, 1) + 0.5 N(4, 1)`` is discretised into equal bins on ``[-10, 10]`` (bin
probabilities ``p_i`` from the normal cdf, renormalised to the range) and refit on ``M`` samples
per generation by empirical frequencies (neutral Wright-Fisher, generation 0 = ``p0``, generation
``n`` = after ``n`` rounds of "draw M samples, refit").

Top row (one column per ``M``): the original ``p_i`` (grey) and the fitted frequencies of one
simulated chain after 1 and after ``n_late`` generations, on a log axis, with the line ``1/M``
(``log p = -log M``): bins whose expected count ``M p_i`` is below 1 are mostly gone after one
refit, and the cut moves inwards with the generations. Empty bins are not drawn (log 0).

Bottom row: the exact probability that a bin is still alive, ``1 - extinction_probability(n, p_i,
M)`` (the single-symbol binomial chain, :mod:`modelcollapse.theory.discrete`), as lines for
``n = 1`` and ``n = n_late``, with the simulated fraction of chains in which the bin is alive as
points with +-2 binomial standard errors (of the exact probability), one legend entry per ``n``.

References: Shumailov et al., Nature 631 (2024), discrete tail cut-off figure; Dohmatob et al., "A
Tale of Tails" (ICML 2024); Ewens, *Mathematical Population Genetics* (2004).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from scipy.stats import norm

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import discrete as th

STEM = "e_discrete_tail_cutoff"
SEED = 41


def bimodal_bins(n_bins: int, lo: float = -10.0, hi: float = 10.0):
    """Bin edges, centres and probabilities of ``0.5 N(-4,1) + 0.5 N(4,1)`` on ``[lo, hi]``."""
    edges = np.linspace(lo, hi, n_bins + 1)
    cdf = 0.5 * norm.cdf(edges, -4.0, 1.0) + 0.5 * norm.cdf(edges, 4.0, 1.0)
    p = np.diff(cdf)
    return edges, 0.5 * (edges[1:] + edges[:-1]), p / p.sum()


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    Ms = (100, 1000) if quick else (100, 1000, 10_000)
    n_late = 5 if quick else 10
    chains = 300 if quick else 2000
    n_bins = 80
    edges, centres, p0 = bimodal_bins(n_bins)
    gens = (1, n_late)

    fig, axes = new_figure(2, len(Ms), width=3.4, height=2.8)
    data: dict[str, np.ndarray] = {"bin_edges": edges, "bin_centres": centres, "p0": p0}
    key = jax.random.key(SEED)
    colors = {1: "tab:blue", n_late: "tab:red"}
    for j, M in enumerate(Ms):
        run = simulate(jax.random.fold_in(key, j), p0=p0, M=M, generations=n_late,
                       chains=chains, record=list(gens), record_counts=True, method="samples")
        rows = {int(g): int(np.flatnonzero(run.generations == g)[0]) for g in gens}
        ext = np.asarray(run.extinction_generation)
        ax_h, ax_a = axes[0, j], axes[1, j]
        ax_h.stairs(p0, edges, fill=True, color="0.82", label=r"original $p_i$ (generation 0)")
        ax_h.stairs(p0, edges, color="0.35", lw=0.6)
        for g in gens:
            q = np.asarray(run.counts[rows[g], 0], dtype=float) / M
            ax_h.stairs(np.where(q > 0, q, np.nan), edges, color=colors[g],
                        lw=1.6 if g == 1 else 0.9, label=f"one chain, generation $n = {g}$")
            alive_th = 1.0 - th.extinction_probability(g, p0, M)
            lost = (ext >= 0) & (ext <= g)
            alive_sim = 1.0 - lost.mean(axis=0)
            se = np.sqrt(np.clip(alive_th * (1.0 - alive_th), 0.0, None) / chains)
            ax_a.plot(centres, alive_th, color=colors[g], lw=1.2, label=f"exact, $n = {g}$")
            ax_a.errorbar(centres, alive_sim, yerr=2.0 * se, fmt="o", ms=2.2, color=colors[g],
                          elinewidth=0.6,
                          label=rf"simulated, $n = {g}$ ({chains} chains, $\pm 2\,$se)")
            data |= {f"M{M}_n{g}_one_chain_freq": q, f"M{M}_n{g}_alive_exact": alive_th,
                     f"M{M}_n{g}_alive_sim": alive_sim}
        ax_h.axhline(1.0 / M, color="0.4", ls="--", lw=0.9, label=r"$1/M$ (expected count 1)")
        ax_h.set_yscale("log")
        ax_h.set_ylim(1e-9, 1.0)
        ax_h.set_xlabel("bin centre $x$")
        ax_h.set_ylabel(r"probability of the bin, $p_i$")
        ax_h.set_title(f"$M = {M}$")
        cut = centres[M * p0 >= 1.0]
        for x in (cut.min(), cut.max()) if cut.size else ():
            ax_a.axvline(x, color="0.6", ls=":", lw=0.8)
        ax_a.set_xlabel(r"bin centre $x$ (dotted: outermost $M p_i \geq 1$)")
        ax_a.set_ylabel("$P$(bin still alive at $n$)")
        ax_a.set_ylim(-0.03, 1.03)
    h0, l0 = axes[0, 0].get_legend_handles_labels()
    h1, l1 = axes[1, 0].get_legend_handles_labels()
    fig.legend(h0 + h1, l0 + l1, loc="outside lower center", ncol=4, fontsize=6)
    fig.suptitle(r"Tail cut-off: $\frac{1}{2}\mathcal{N}(-4,1) + \frac{1}{2}\mathcal{N}(4,1)$ "
                 f"in {n_bins} bins, refit on $M$ samples per generation")
    meta = {
        "M": list(Ms), "generations": list(gens), "chains": chains, "bins": n_bins,
        "range": [-10.0, 10.0], "mixture": "0.5 N(-4,1) + 0.5 N(4,1)", "seed": SEED,
        "quick": quick, "simulator": "samples (draw M tokens, count)",
        "reference": "Shumailov et al., Nature 631 (2024), discrete tail cut-off; exact chain "
                     "from modelcollapse.theory.discrete.extinction_probability",
    }
    return save(fig, out_dir, STEM, data=data, meta=meta)
