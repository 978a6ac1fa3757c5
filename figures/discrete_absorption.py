"""Figure (i): mean absorption time of a two-symbol vocabulary against the initial probability p.

Two symbols with probabilities ``(p, 1 - p)`` are refit on ``M`` samples per generation (neutral
Wright-Fisher; generation 0 = ``p0``, generation ``n`` = after ``n`` rounds of "draw M samples,
refit"); the absorption time ``T`` is the first generation with a single symbol left. Left, in
units of ``M`` (so that every ``M`` has the same scale):

- exact ``E T / M`` from the chain's fundamental matrix (solid; ``expected_absorption_time``);
- the diffusion approximation ``-2 [p ln p + (1-p) ln(1-p)]`` (dashed, Kimura & Ohta 1969), the
  same curve for every ``M`` in these units;
- simulated means with +-2 standard errors (points), every chain run until absorbed (asserted).

Right: the relative error of the diffusion formula, ``diffusion / exact - 1``, for several ``M``,
against ``p`` on a logit axis (which spreads out both boundaries) and over its whole range; it is
``O(1/M)`` in the bulk and largest near the boundaries (rare symbols, ``p < 1/M``), where the
first binomial draw already absorbs with appreciable probability.

References: Kemeny & Snell, *Finite Markov Chains* (1960); Kimura & Ohta, Genetics 61 (1969);
Ewens, *Mathematical Population Genetics* (2004), sec. 4.4.
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy.special import expit, logit

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import discrete as th

STEM = "i_discrete_absorption"
SEED = 59


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    Ms = (20,) if quick else (10, 100)
    chains = 500 if quick else 4000
    p_sim = np.array([0.02, 0.1, 0.3, 0.5, 0.8, 0.95]) if not quick else np.array([0.1, 0.5])
    p_line = np.linspace(0.001, 0.999, 400)
    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax, ax_r = axes[0, 0], axes[0, 1]
    data: dict[str, np.ndarray] = {"p_line": p_line, "p_sim": p_sim}
    key = jax.random.key(SEED)
    for j, M in enumerate(Ms):
        col = f"C{j}"
        exact = th.expected_absorption_time(p_line, M)
        diff = th.expected_absorption_time(p_line, M, method="diffusion")
        # every chain absorbed with overwhelming probability: transient mass ~ (1 - 1/M)^t
        G = int(math.ceil(M * (math.log(chains) + 30.0))) + 5
        method = "samples" if M * chains <= 50_000 else "sufficient"  # both exact
        means, ses = [], []
        for k, p in enumerate(p_sim):
            run = simulate(jax.random.fold_in(key, 100 * j + k), p0=[p, 1.0 - p], M=M,
                           generations=G, chains=chains, record=[G], track_extinction=False,
                           method=method)
            t = np.asarray(run.absorption_generation, dtype=float)
            if np.any(t < 0):
                raise RuntimeError(f"{int(np.sum(t < 0))} chains not absorbed after {G} "
                                   f"generations (M={M}, p={p})")
            means.append(t.mean())
            ses.append(t.std(ddof=1) / np.sqrt(chains))
        means, ses = np.array(means), np.array(ses)
        ax.plot(p_line, exact / M, color=col, lw=1.3, label=f"$M = {M}$")
        ax.errorbar(p_sim, means / M, yerr=2.0 * ses / M, fmt="o", ms=4, color=col, mfc="white",
                    elinewidth=0.8, zorder=3)
        data |= {f"M{M}_exact": exact, f"M{M}_diffusion": diff, f"M{M}_sim_mean": means,
                 f"M{M}_sim_se": ses}
    limit = -2.0 * (p_line * np.log(p_line) + (1.0 - p_line) * np.log1p(-p_line))
    ax.plot(p_line, limit, "k--", lw=1.0,
            label=r"diffusion, $-2\,[p\ln p + (1-p)\ln(1-p)]$")
    ax.plot([], [], "ko", ms=4, mfc="white", label=rf"simulated ({chains} chains), $\pm 2\,$se")
    data["diffusion_T_over_M"] = limit
    p_rel = expit(np.linspace(logit(1e-3), logit(1.0 - 1e-3), 400))
    data["p_rel_error"] = p_rel
    lowest = 0.0
    for j, M in enumerate((5, 10, 50, 200, 1000)):
        rel = (th.expected_absorption_time(p_line, M, method="diffusion")
               / th.expected_absorption_time(p_line, M) - 1.0)
        rel_logit = (th.expected_absorption_time(p_rel, M, method="diffusion")
                     / th.expected_absorption_time(p_rel, M) - 1.0)
        ax_r.plot(p_rel, rel_logit, color=f"C{j}", lw=1.1, label=f"$M = {M}$")
        lowest = min(lowest, float(rel_logit.min()))
        data[f"M{M}_diffusion_rel_error"] = rel
        data[f"M{M}_diffusion_rel_error_on_p_rel"] = rel_logit
    ax.set_xlabel("initial probability $p$")
    ax.set_ylabel(r"mean absorption generation / $M$, $\mathbb{E}\,T / M$")
    ax.set_title("two symbols $(p, 1 - p)$")
    ax.set_ylim(0.0, None)
    ax.legend(loc="lower center", fontsize=7)
    ax_r.axhline(0.0, color="k", lw=0.7)
    ax_r.set_xscale("logit")
    ax_r.xaxis.set_major_locator(FixedLocator([1e-3, 1e-2, 0.1, 0.5, 0.9, 0.99, 0.999]))
    ax_r.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_r.xaxis.set_minor_locator(NullLocator())
    ax_r.set_ylim(lowest - 0.05, 0.3)
    ax_r.set_xlabel("initial probability $p$ (logit axis)")
    ax_r.set_ylabel(r"diffusion / exact $- 1$")
    ax_r.set_title(r"diffusion error: $O(1/M)$, largest near the boundaries")
    ax_r.legend(loc="lower center", fontsize=7)
    fig.suptitle("Mean time until one symbol is left: exact chain vs diffusion vs simulation")
    meta = {"M": list(Ms), "chains": chains, "seed": SEED,
            "simulator": "samples where M * chains <= 50000, else sufficient", "quick": quick,
            "left_panel_units": "E T / M",
            "reference": "Kemeny & Snell (1960); Kimura & Ohta (1969); Ewens (2004) sec. 4.4"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
