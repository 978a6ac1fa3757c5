"""Figure (o): the mix workflow's phase diagram -- effective sample size over (real fraction,
sampling bias lambda).

Each fit of the 1-D Gaussian sees ``n_r`` fresh real points from ``N(0, 1)`` and ``M - n_r``
synthetic points drawn from ``N(mu, lambda sigma^2)`` (lambda < 1 the "sampling bias" that
sharpens a generative model, lambda > 1 widens it; Alemohammad et al. 2024). The mean error and
the variance follow an exact affine recursion (:func:`modelcollapse.theory.gaussian_workflows.
mix_moments`) with a stationary point ``(s_inf, D_inf)`` (``mix_fixed_point``). The *effective
sample size* is ``n_eff = sigma_0^2 / D_inf``: the number of real points whose sample mean has
the stationary mean error of the mix.

- left: ``n_eff / M`` over the real fraction ``n_r / M`` (x) and lambda (y, logarithmic), from
  the exact fixed point; white contours: the stationary variance ``s_inf / sigma_0^2``
  (collapse below 1, inflation above); hatched: no stable fixed point (the spectral radius
  of the recursion reaches 1: the variance grows without bound);
- right: three horizontal cuts (lambda = 0.8, 1, 1.25), exact lines with simulated points
  (+-2 standard errors of ``1 / mean (mu_n - mu_0)^2``, delta method) at a generation where the
  recursion is stationary to 1e-6.

References: Shumailov et al., Nature 631 (2024) (10 % real data kept); Alemohammad et al.,
"Self-consuming generative models go MAD", ICLR 2024 (sampling bias).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from matplotlib.ticker import NullLocator

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.spec.workflows import SamplingBias, mix
from modelcollapse.theory import gaussian_workflows as gw

STEM = "o_mix_phase"
SEED = 81
M = 20
DDOF = 1


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    chains = 1000 if quick else 8000
    generations = 200
    n_real = np.arange(1, M + 1)
    lam = np.geomspace(0.5, 2.0, 41 if quick else 121)
    s_inf, D_inf = gw.mix_fixed_point(M, n_real[None, :], ddof=DDOF,
                                      variance_scale=lam[:, None])
    neff = np.where(np.isfinite(D_inf), 1.0 / D_inf, np.nan) / M
    fig, axes = new_figure(1, 2, width=4.4, height=3.6)
    ax, ax_c = axes[0, 0], axes[0, 1]
    frac = n_real / M
    mesh = ax.pcolormesh(frac, lam, neff, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=r"$n_{\mathrm{eff}} / M$")
    stable = np.isfinite(s_inf)
    cs = ax.contour(frac, lam, np.where(stable, s_inf, np.nan), levels=[0.5, 0.8, 1.0, 1.25, 2],
                    colors="white", linewidths=0.8)
    ax.clabel(cs, fmt=lambda v: rf"$s_\infty = {v:g}$", fontsize=6)
    ax.contourf(frac, lam, (~stable).astype(float), levels=[0.5, 1.5], colors="none",
                hatches=["////"])
    ax.set_yscale("log")
    ax.set_yticks([0.5, 0.8, 1.0, 1.25, 2.0], ["0.5", "0.8", "1", "1.25", "2"])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(r"real fraction $n_r / M$")
    ax.set_ylabel(r"sampling bias $\lambda$ (synthetic from $N(\mu, \lambda\sigma^2)$)")
    ax.set_title(rf"exact $n_{{\mathrm{{eff}}}} = \sigma_0^2 / D_\infty$, $M = {M}$, ddof = {DDOF}")
    data: dict[str, np.ndarray] = {"real_fraction": frac, "lambda": lam, "neff_over_M": neff,
                                   "s_inf": s_inf, "D_inf": D_inf}
    key = jax.random.key(SEED)
    cuts = (0.8, 1.0, 1.25)
    nr_sim = np.array([2, 10]) if quick else np.array([1, 2, 3, 5, 8, 12, 16, 20])
    for j, lv in enumerate(cuts):
        col = f"C{j}"
        _, D_line = gw.mix_fixed_point(M, n_real, ddof=DDOF, variance_scale=lv)
        ax_c.plot(frac, 1.0 / D_line / M, color=col, lw=1.1, label=rf"$\lambda = {lv:g}$",
                  zorder=3)
        ax.axhline(lv, color=col, lw=0.8, ls="--")
        sim_mean, sim_se = [], []
        for i, nr in enumerate(nr_sim):
            run = simulate(jax.random.fold_in(key, 100 * j + i), M=M, generations=generations,
                           chains=chains, ddof=DDOF, record=[generations],
                           workflow=mix(n_real=int(nr), bias=SamplingBias(variance_scale=lv)))
            d2 = np.asarray(run.mean[-1], dtype=np.float64) ** 2
            D, se = d2.mean(), d2.std(ddof=1) / np.sqrt(chains)
            sim_mean.append(1.0 / D / M)
            sim_se.append(se / D**2 / M)
        ax_c.errorbar(nr_sim / M, sim_mean, yerr=2.0 * np.asarray(sim_se), fmt="o", ms=3.5,
                      color=col, mfc="white", elinewidth=0.7, zorder=2)
        data |= {f"lambda{lv:g}_exact": 1.0 / D_line / M,
                 f"lambda{lv:g}_sim_real_counts": nr_sim,
                 f"lambda{lv:g}_sim_mean": np.asarray(sim_mean),
                 f"lambda{lv:g}_sim_se": np.asarray(sim_se)}
    ax_c.plot([], [], "ko", ms=3.5, mfc="white", label=r"simulated $\pm 2\,$se")
    ax_c.axhline(1.0, color="0.4", ls=":", lw=0.9, label=r"$n_{\mathrm{eff}} = M$ (all real)")
    ax_c.set_xlabel(r"real fraction $n_r / M$")
    ax_c.set_ylabel(r"$n_{\mathrm{eff}} / M$")
    ax_c.set_title(f"cuts: exact lines, simulation at generation {generations}")
    ax_c.legend(loc="upper left", fontsize=7)
    fig.suptitle("Mixing fresh real data: effective sample size over (real fraction, bias)")
    meta = {"M": M, "ddof": DDOF, "chains": chains, "generations_simulated": generations,
            "seed": SEED, "quick": quick, "lambda_cuts": list(cuts),
            "n_eff": "sigma0^2 / D_inf, D_inf the stationary E (mu - mu0)^2 "
                     "(theory.gaussian_workflows.mix_fixed_point, exact)",
            "hatched": "no stable fixed point (variance grows without bound)",
            "reference": "Shumailov et al. (2024); Alemohammad et al. (ICLR 2024)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
