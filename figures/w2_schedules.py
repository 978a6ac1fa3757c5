"""Figure (b): E W2^2 between generation n and the original, for growing sample-size schedules.

W2^2(N(mu_n, sigma_n^2), N(mu_0, sigma_0^2)) = (mu_n - mu_0)^2 + (sigma_n - sigma_0)^2. With a
schedule M_1, M_2, ... (M_i samples for the fit that produces generation i) and ddof=1, the exact
expectation (``expected_w2_squared_schedule``) stays bounded in n iff sum 1/M_i < infinity
(Shumailov et al. 2024, Thm 3.1 and SI): constant M diverges linearly, M_i = M_1 i grows like
log n, M_i = M_1 i^2 converges (leading order (3/2)(pi^2/6) sigma_0^2 / M_1).

Top: exact theory (solid), the large-M leading order (3/2) sigma_0^2 sum 1/M_i (dashed), and the
sufficient-statistic simulator (points: mean over chains, +-2 standard errors). Bottom: the same
relative to the exact value, (simulated - exact) / exact with its +-2 se bars (too short to see
on the log axis above) and (leading order - exact) / exact (dashed); the y-range is that of the
simulation, and a dashed curve that leaves it is labelled with its value at the last generation.

For constant M the points stop at n = M (marked): beyond it the mean drift is carried by rare
high-variance paths and the Monte Carlo mean and standard error are no longer reliable (under
ddof=1, E sigma_n^2 is constant while the typical sigma_n^2 goes to 0: the mean is carried by
rare paths).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.theory import gaussian as th

STEM = "b_w2_schedules"
SEED = 7


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    M1, ddof = 100, 1
    generations = 200 if quick else 1000
    chains = 2000 if quick else 20_000
    record = np.unique(np.round(np.geomspace(1, generations, 12 if quick else 20)).astype(int))
    fig, axes = new_figure(2, 1, width=6.4, height=2.9, sharex=True,
                           gridspec_kw={"height_ratios": [2.4, 1.0]})
    ax, ax_r = axes[0, 0], axes[1, 0]
    data: dict[str, np.ndarray] = {"record": record}
    key = jax.random.key(SEED)
    n_all = np.arange(generations + 1)
    schedules = ((0, "constant", r"$M_i = 100$", "C0"),
                 (1, "linear", r"$M_i = 100\,i$", "C1"),
                 (2, "quadratic", r"$M_i = 100\,i^2$", "C2"))
    extent = 0.0  # of the simulated points and their bars, relative to exact
    for k, (power, name, label, color) in enumerate(schedules):
        Ms = th.polynomial_schedule(M1, generations, power)
        exact = th.expected_w2_squared_schedule(Ms, ddof=ddof)
        lead = np.concatenate([[0.0], th.w2_leading_order_schedule(Ms)])
        run = simulate(
            jax.random.fold_in(key, power), M=Ms, generations=generations, chains=chains,
            ddof=ddof, method="sufficient", record=record,
        )
        g = np.asarray(run.generations)
        mu = np.asarray(run.mean, dtype=float)
        sd = np.exp(0.5 * np.asarray(run.log_variance, dtype=float))
        w2 = mu**2 + (sd - 1.0) ** 2
        est, se = w2.mean(axis=1), w2.std(axis=1, ddof=1) / np.sqrt(chains)
        keep = (g >= 1) & ((power > 0) | (g <= M1))
        gk = g[keep]
        ax.plot(n_all[1:], exact[1:], color=color, lw=1.4, label=f"{name} {label}: exact")
        ax.plot(n_all[1:], lead[1:], color=color, lw=0.9, ls="--")
        ax.errorbar(gk, est[keep], yerr=2 * se[keep], fmt="o", ms=3, color=color, capsize=2)
        rel, rel_se = est[keep] / exact[gk] - 1.0, se[keep] / exact[gk]
        ax_r.plot(n_all[1:], lead[1:] / exact[1:] - 1.0, color=color, lw=0.9, ls="--")
        dodge = 1.07 ** (k - 1)  # side by side at the same generations
        ax_r.errorbar(gk * dodge, rel, yerr=2 * rel_se, fmt="o", ms=3, color=color, capsize=2)
        extent = max(extent, float(np.max(np.abs(rel) + 2 * rel_se)))
        data |= {
            f"{name}_Ms": Ms, f"{name}_exact": exact, f"{name}_leading_order": lead,
            f"{name}_sim_generations": gk, f"{name}_sim_mean": est[keep],
            f"{name}_sim_se": se[keep], f"{name}_sim_relative_error": rel,
        }
    limit = 1.5 * (np.pi**2 / 6) / M1
    ax.axhline(limit, color="C2", lw=0.6, ls=":",
               label=r"limit $\frac{3}{2}\frac{\pi^2}{6}\sigma_0^2/M_1$ (quadratic)")
    for a in (ax, ax_r):
        a.axvline(M1, color="C0", lw=0.8, ls=(0, (1, 3)),
                  label=rf"constant $M$: points stop at $n = M = {M1}$ (beyond, the mean is "
                        "carried by rare paths)" if a is ax else None)
    ax.plot([], [], "k--", lw=0.9,
            label=r"leading order $\frac{3}{2}\sigma_0^2\,(1/M_1 + \cdots + 1/M_n)$")
    ax.plot([], [], "ko", ms=3, label=rf"simulated mean $\pm 2\,$se ({chains} chains)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel(r"$\mathbb{E}\,W_2^2$ to the original ($\sigma_0 = 1$)")
    ax.set_title(rf"$\mathbb{{E}}\,W_2^2$ for $M_i = {M1}\,i^p$ (ddof$\,=1$): "
                 r"bounded iff $\sum\, 1/M_i < \infty$")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2)
    ax_r.axhline(0.0, color="k", lw=0.7)
    top = 1.4 * extent
    ax_r.set_ylim(-top, top)  # the scale of the simulation; mark what leaves it
    lead_end = data["constant_leading_order"][-1] / data["constant_exact"][-1] - 1.0
    if abs(lead_end) > top:
        ax_r.text(0.99, 0.04, f"constant-$M$ leading order leaves the panel: {lead_end:+.0%} "
                  f"at $n = {generations}$", transform=ax_r.transAxes, ha="right", va="bottom",
                  fontsize=7, color="C0")
    ax_r.set_xlabel("generation $n$")
    ax_r.set_ylabel("relative to exact")
    ax_r.set_title(r"points: (simulated $-$ exact) / exact, $\pm 2\,$se; "
                   r"dashed: (leading order $-$ exact) / exact")
    meta = {
        "M1": M1, "powers": [0, 1, 2], "generations": generations, "chains": chains,
        "ddof": ddof, "seed": SEED, "quick": quick, "quadratic_leading_order_limit": limit,
        "constant_sim_shown_up_to": M1,
        "reference": "Shumailov et al., Nature 631 (2024), Thm 3.1 and SI",
    }
    return save(fig, out_dir, STEM, data=data, meta=meta)
