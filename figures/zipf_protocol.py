"""Figure (q): the paper's language-model protocol in miniature, on a Zipf vocabulary.

Shumailov et al. (2024) fine-tune a language model generation after generation on text sampled
from the previous generation, either replacing all data or keeping 10 % of the original data,
and sample with or without truncation. Here the "model" is the categorical distribution of the
tokens, refit on ``M`` tokens per generation by empirical frequencies, from a Zipf law
``p_i ~ i^-s`` on ``K`` tokens. Three protocols:

- replace (all data synthetic);
- mix, 10 % real: each fit sees ``round(0.1 M)`` fresh real tokens and ``M - round(0.1 M)``
  synthetic ones;
- top-p: replace, with synthetic tokens drawn by nucleus sampling at ``p = 0.9`` (the smallest
  set of most probable tokens of mass ``>= 0.9``, renormalised).

Left: expected surviving tokens (present in generation ``n``'s fit); right: expected
heterozygosity ``1 - sum_i p_{n,i}^2`` (the chance that two draws differ).

- top row, ``K = 5`` tokens, ``M = 12``: every line is exact, by the full multinomial chain
  on the 1820 count vectors (:func:`modelcollapse.theory.discrete_workflow_chains.
  chain_expectation`), including the nucleus truncation;
- bottom row, ``K = 1000`` tokens (``s = 1.1``), ``M = 1000``: replace and mix are exact at this
  size (:func:`modelcollapse.theory.discrete.expected_survivors` and
  ``expected_heterozygosity`` with ``workflow=``: single-symbol chains and closed-form
  moments); top-p has no exact theory at this size and is drawn by its simulation only.

Points: simulated chain means +-2 standard errors (:func:`modelcollapse.sims.discrete.
simulate` with the same workflow values).

References: Shumailov et al., Nature 631 (2024) (10 % real data; sec. 3 and Fig. 4);
Holtzman et al., "The curious case of neural text degeneration", ICLR 2020 (nucleus sampling).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import generation_axis, new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.spec import workflows as W
from modelcollapse.theory import discrete as th
from modelcollapse.theory import discrete_workflow_chains as chains_th

STEM = "q_zipf_protocol"
SEED = 89
TOP_P = 0.9
PROTOCOLS = (
    ("replace", W.replace()),
    ("mix, 10 % real", W.mix(real_fraction=0.1)),
    (rf"top-$p$ sampling, $p = {TOP_P:g}$", W.replace(bias=W.SamplingBias(top_p=TOP_P))),
)


def zipf(K: int, s: float) -> np.ndarray:
    """``p_i ~ i^-s`` on ``K`` tokens."""
    w = np.arange(1, K + 1, dtype=np.float64) ** -s
    return w / w.sum()


def _exact(n: np.ndarray, p0: np.ndarray, M: int, wf: W.Workflow, full: bool
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """(E survivors, E heterozygosity) at ``n``, or None where no exact theory is available."""
    if full:
        return (chains_th.chain_expectation(n, p0, M, workflow=wf, observable="survivors"),
                chains_th.chain_expectation(n, p0, M, workflow=wf, observable="heterozygosity"))
    if wf.bias.active:
        return None
    return (th.expected_survivors(n, p0, M, workflow=wf),
            th.expected_heterozygosity(n, p0, M, workflow=wf))


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    rows = ((5, 1.0, 12, 60, True), (100 if quick else 1000, 1.1, 100 if quick else 1000,
                                     40 if quick else 200, False))
    n_chains = 400 if quick else 2000
    fig, axes = new_figure(2, 2, width=4.2, height=3.2)
    data: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    key = jax.random.key(SEED)
    for r, (K, s, M, generations, full) in enumerate(rows):
        p0 = zipf(K, s)
        rec = np.unique(np.concatenate(
            [[0], np.round(np.geomspace(1, generations, 10 if quick else 14)).astype(int)]))
        n_line = np.unique(np.round(np.concatenate(
            [[0], np.geomspace(1, generations, 40 if quick else 80)])).astype(int))
        ax_s, ax_h = axes[r, 0], axes[r, 1]
        for j, (label, wf) in enumerate(PROTOCOLS):
            col = f"C{j}"
            run = simulate(jax.random.fold_in(key, 10 * r + j), p0=p0, M=M,
                           generations=generations, chains=n_chains, record=rec,
                           track_extinction=False, workflow=wf)
            exact = _exact(n_line, p0, M, wf, full)
            tag = f"K{K}_M{M}_protocol{j}"
            for ax, name, sim in ((ax_s, "survivors", run.survivors),
                                  (ax_h, "heterozygosity", run.heterozygosity)):
                v = np.asarray(sim, dtype=np.float64)
                mean, se = v.mean(axis=1), v.std(axis=1, ddof=1) / np.sqrt(n_chains)
                ax.errorbar(rec, mean, yerr=2.0 * se, fmt="o", ms=3.0, color=col, mfc="white",
                            elinewidth=0.7, zorder=2)
                data |= {f"{tag}_{name}_sim_mean": mean, f"{tag}_{name}_sim_se": se}
            if exact is None:
                notes[f"K={K}: {label}"] = "no exact theory at this size: simulation only"
                for ax, name in ((ax_s, "survivors"), (ax_h, "heterozygosity")):
                    ax.plot(rec, data[f"{tag}_{name}_sim_mean"], color=col, lw=0.9, ls=":",
                            label=f"{label} (simulation only)", zorder=3)
            else:
                for ax, name, line in ((ax_s, "survivors", exact[0]),
                                       (ax_h, "heterozygosity", exact[1])):
                    ax.plot(n_line, line, color=col, lw=1.1, label=f"{label} (exact)",
                            zorder=3)
                    data[f"{tag}_{name}_exact"] = np.asarray(line)
            data |= {f"K{K}_M{M}_recorded": rec, f"K{K}_M{M}_n_line": n_line}
        for ax in (ax_s, ax_h):
            generation_axis(ax, top=generations * 1.2)
        ax_s.set_ylabel("expected surviving tokens")
        ax_h.set_ylabel(r"expected heterozygosity $1 - \sum_i p_{n,i}^2$")
        ax_s.set_title(rf"$K = {K}$ tokens, Zipf $s = {s:g}$, $M = {M}$")
        ax_h.set_title("full multinomial chain: all exact" if full
                       else "replace and mix exact; top-p simulated")
        ax_s.legend(loc="lower left" if full else "upper right", fontsize=6)
    for ax in axes[1]:
        ax.set_xlabel("generation $n$")
    axes[0, 1].errorbar([], [], yerr=[], fmt="o", ms=3.0, color="0.3", mfc="white",
                        label=r"simulated $\pm 2\,$se")
    axes[0, 1].legend(loc="lower left", fontsize=6)
    fig.suptitle("The language-model protocol in miniature: replace, 10 % real data, top-p")
    meta = {"rows": [{"K": K, "zipf_exponent": s, "M": M, "generations": g,
                      "theory": "full multinomial chain" if full else "single-symbol chains"}
                     for K, s, M, g, full in rows],
            "protocols": [repr(wf) for _, wf in PROTOCOLS], "chains": n_chains,
            "seed": SEED, "quick": quick, "simulation_only": notes,
            "reference": "Shumailov et al. (2024); Holtzman et al. (ICLR 2020)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
