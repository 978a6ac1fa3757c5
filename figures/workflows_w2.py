"""Figure (n): E W2^2 over 1000 generations under the data policies, theory beside simulation.

The 1-D Gaussian ``N(0, 1)`` refit by maximum likelihood (``ddof = 0``) on ``M = 20`` points per
generation under: replace; mix with 10 % and 50 % fresh real data; accumulate (all data so
far); accumulate-subsample (a uniform subsample of ``M`` points from the growing pool,
KoyejoLab's policy); and weighted at the real weight ``w = 1/phi`` (He, Xu & Cheng 2025). The
drift from the data is ``W2^2(N(mu_n, sigma_n^2), N(0, 1)) = (mu_n - mu_0)^2 + (sigma_n -
sigma_0)^2``.

Theory (:func:`modelcollapse.theory.gaussian.expected_w2_squared`; for the workflows
:func:`modelcollapse.theory.gaussian_workflows.expected_w2_squared`): exact for
replace (solid line). For the other policies ``E (mu_n - mu_0)^2`` and the first two moments of
``sigma_n^2`` are exact but ``E sigma_n`` is not a moment of the recursions: the shaded band is
the proven pair of bounds (Jensen and Hoelder) and the dashed line the log-normal moment closure
inside it (heuristic; its measured error is in the function's docstring). A policy without a
theory value is drawn by its simulation only and says so in the legend. Points: simulated
chain means +-2 standard errors. (MLE rather than ``ddof = 1``: under replace with ``ddof = 1``
``E sigma_n^2 = 1`` is carried by ever rarer chains, so a few thousand chains under-estimate
``E W2^2`` far beyond their standard error; with the MLE the same effect, much weaker, leaves
the late replace points a few percent below the exact line.)

References: Shumailov et al., Nature 631 (2024); Gerstgrasser et al. (2024); Kazdan et al.
(2024); He, Xu & Cheng, JRSS-B (2025).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import generation_axis, new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.spec import workflows as W
from modelcollapse.theory import gaussian as th
from modelcollapse.theory import gaussian_workflows as gw

STEM = "n_workflows_w2"
SEED = 79
M = 20
DDOF = 0
POLICIES = (
    ("replace", W.replace()),
    ("mix, 10 % real", W.mix(real_fraction=0.1)),
    ("mix, 50 % real", W.mix(real_fraction=0.5)),
    ("accumulate", W.accumulate()),
    ("accumulate-subsample", W.accumulate_subsample()),
    (r"weighted, $w = 1/\varphi$", W.weighted()),
)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    generations = 100 if quick else 1000
    chains = 300 if quick else 3000
    rec = np.unique(np.concatenate(
        [[0], np.round(np.geomspace(1, generations, 12 if quick else 30)).astype(int)]))
    n_line = np.unique(np.round(np.concatenate(
        [[0], np.geomspace(1, generations, 60 if quick else 200)])).astype(int))
    fig, axes = new_figure(1, 1, width=7.0, height=4.2)
    ax = axes[0, 0]
    data: dict[str, np.ndarray] = {"recorded": rec, "n_line": n_line}
    notes: dict[str, str] = {}
    key = jax.random.key(SEED)
    for j, (label, wf) in enumerate(POLICIES):
        col = f"C{j}"
        pool = wf.name == "accumulate_subsample"
        c = max(chains // 4, 100) if pool else chains  # the pool is kept point by point
        run = simulate(jax.random.fold_in(key, j), M=M, generations=generations, chains=c,
                       ddof=DDOF, record=rec, workflow=wf,
                       method="samples" if pool else "sufficient")
        mu = np.asarray(run.mean, dtype=np.float64)
        sd = np.exp(0.5 * np.asarray(run.log_variance, dtype=np.float64))
        w2 = mu**2 + (sd - 1.0) ** 2
        mean, se = w2.mean(axis=1), w2.std(axis=1, ddof=1) / np.sqrt(c)
        ax.errorbar(rec[1:], mean[1:], yerr=2.0 * se[1:], fmt="o", ms=3.0, color=col,
                    mfc="white", elinewidth=0.7, zorder=2)
        data |= {f"policy{j}_sim_mean": mean, f"policy{j}_sim_se": se,
                 f"policy{j}_chains": np.array(c)}
        try:
            if wf.name == "replace":
                line = np.asarray(th.expected_w2_squared(n_line, M, ddof=DDOF),
                                  dtype=np.float64)
                kind = "exact"
            else:
                line = np.asarray(gw.expected_w2_squared(n_line, M, ddof=DDOF, workflow=wf,
                                                         method="lognormal"), dtype=np.float64)
                lo, hi = gw.expected_w2_squared(n_line, M, ddof=DDOF, workflow=wf,
                                                method="bounds")
                ax.fill_between(n_line[1:], np.asarray(lo)[1:], np.asarray(hi)[1:], color=col,
                                alpha=0.15, lw=0, zorder=1)
                data |= {f"policy{j}_lower_bound": np.asarray(lo),
                         f"policy{j}_upper_bound": np.asarray(hi)}
                kind = "closure"
        except ValueError as exc:
            notes[label] = str(exc)
            ax.plot(rec[1:], mean[1:], color=col, lw=0.9, ls=":",
                    label=f"{label} (simulation only)", zorder=3)
            continue
        ax.plot(n_line[1:], line[1:], color=col, lw=1.2, ls="-" if kind == "exact" else "--",
                label=f"{label} ({kind})", zorder=3)
        data[f"policy{j}_theory"] = line
    ax.errorbar([], [], yerr=[], fmt="o", ms=3.0, color="0.3", mfc="white",
                label=r"simulated $\pm 2\,$se")
    ax.set_yscale("log")
    generation_axis(ax, top=generations * 1.2)
    ax.set_xlabel("generation $n$")
    ax.set_ylabel(r"$\mathbb{E}\,W_2^2$(generation $n$, data)")
    ax.set_title(rf"1-D Gaussian, $M = {M}$, MLE (ddof = {DDOF}); shaded: proven bounds")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=7)
    fig.suptitle("Which data policy stops the drift? Expected squared Wasserstein distance")
    meta = {"M": M, "ddof": DDOF, "generations": generations, "chains": chains,
            "seed": SEED, "quick": quick, "policies": [repr(wf) for _, wf in POLICIES],
            "labels": [label for label, _ in POLICIES],
            "theory": "replace: exact (theory.gaussian.expected_w2_squared); other policies: "
                      "log-normal moment closure for E sigma_n from the exact first two "
                      "moments of sigma_n^2 (dashed; heuristic) inside the proven bounds "
                      "(shaded), theory.gaussian.expected_w2_squared(..., workflow=, method=)",
            "simulation_only": notes,
            "reference": "Shumailov et al. (2024); Gerstgrasser et al. (2024); Kazdan et al. "
                         "(2024); He, Xu & Cheng (2025)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
