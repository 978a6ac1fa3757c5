"""Figure (b): E W2^2 between generation n and the original, for growing sample-size schedules.

W2^2(N(mu_n, sigma_n^2), N(mu_0, sigma_0^2)) = (mu_n - mu_0)^2 + (sigma_n - sigma_0)^2. With a
schedule M_1, M_2, ... (M_i samples for the fit that produces generation i) and ddof=1, the exact
expectation (``expected_w2_squared_schedule``) stays bounded in n iff sum 1/M_i < infinity
(Shumailov et al. 2024, Thm 3.1 and SI): constant M diverges linearly, M_i = M_1 i grows like
log n, M_i = M_1 i^2 converges (leading order (3/2)(pi^2/6) sigma_0^2 / M_1).

Lines: exact theory; dashed: the large-M leading order (3/2) sigma_0^2 sum 1/M_i. Points: the
sufficient-statistic simulator, mean over chains with +-2 standard errors. For constant M the
points stop at n = M: beyond it the mean drift is carried by rare high-variance paths and the
Monte Carlo standard error is no longer reliable (under ddof=1, E sigma_n^2 is constant while the
typical sigma_n^2 goes to 0: the mean is carried by rare paths).
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
    fig, axes = new_figure(1, 1, width=6.0, height=4.2)
    ax = axes[0, 0]
    data: dict[str, np.ndarray] = {"record": record}
    key = jax.random.key(SEED)
    n_all = np.arange(generations + 1)
    for power, name, color in ((0, "constant", "C0"), (1, "linear", "C1"), (2, "quadratic", "C2")):
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
        ax.plot(n_all[1:], exact[1:], color=color, lw=1.4, label=f"{name} $M_i$: exact")
        ax.plot(n_all[1:], lead[1:], color=color, lw=0.9, ls="--")
        ax.errorbar(g[keep], est[keep], yerr=2 * se[keep], fmt="o", ms=3, color=color, capsize=2)
        data |= {
            f"{name}_Ms": Ms, f"{name}_exact": exact, f"{name}_leading_order": lead,
            f"{name}_sim_generations": g[keep], f"{name}_sim_mean": est[keep],
            f"{name}_sim_se": se[keep],
        }
    limit = 1.5 * (np.pi**2 / 6) / M1
    label = r"$\frac{3}{2}\frac{\pi^2}{6}\sigma_0^2/M_1$"
    ax.axhline(limit, color="C2", lw=0.6, ls=":", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("generation n")
    ax.set_ylabel(r"$E\,W_2^2$ to the original ($\sigma_0 = 1$)")
    ax.set_title(
        f"$E\\,W_2^2$ for $M_i = {M1}\\,i^p$ (ddof=1): lines exact, dashed leading order,\n"
        f"points simulated (±2 se, {chains} chains)"
    )
    ax.legend(loc="upper left")
    meta = {
        "M1": M1, "powers": [0, 1, 2], "generations": generations, "chains": chains,
        "ddof": ddof, "seed": SEED, "quick": quick, "quadratic_leading_order_limit": limit,
        "reference": "Shumailov et al., Nature 631 (2024), Thm 3.1 and SI",
    }
    return save(fig, out_dir, STEM, data=data, meta=meta)
