"""Figure (l): parametric against nonparametric collapse, at equal sample size M.

The data are ``N(0, 1)``. Two models are refit, generation after generation, on ``M`` samples of
their previous generation (generation 0 = the data's law):

- **Gaussian refit** (parametric): ``mu_{n+1}``, ``sigma^2_{n+1}`` the sample mean and the
  maximum-likelihood variance (``ddof = 0``) of ``M`` draws from ``N(mu_n, sigma_n^2)``. Its
  drift is ``W1(N(mu_n, sigma_n^2), N(0, 1)) = E_Z |mu_n + (sigma_n - 1) Z|`` (the quantile
  coupling of two normals), a folded-normal mean computed exactly for every simulated chain.
  Given the path of variances, ``mu_n`` is normal with mean 0, so ``E W1 = sqrt(2/pi) E sqrt(
  S)`` with ``E S = E W2^2 = E mu_n^2 + E (sigma_n - 1)^2``; Jensen's inequality gives the upper
  bound ``sqrt(2/pi) sqrt(E W2^2)`` (dashed), ``E W2^2`` exact from
  :func:`modelcollapse.theory.gaussian.expected_w2_squared`.
- **Histogram refit** (nonparametric): the data binned on a fine grid (``K`` bins of width
  ``h`` on ``[-L, L]``, the two outer bins absorbing the tails), refit by empirical bin
  frequencies: a categorical refit on the bin centres, whose ``E W1(p_n, p_0)`` to the binned
  data is exact (:func:`modelcollapse.theory.discrete_drift.expected_w1`, lines; simulated
  points beside it). Its limit is ``sum_{i,j} p_i p_j |x_i - x_j|`` (about ``2/sqrt(pi)``, the
  mean distance of two independent data points: the histogram ends on one point).

Simulated means carry +-2 standard errors. The binned data themselves are within ``h / 4`` of
``N(0, 1)`` in W1, far below the drifts drawn.

References: Shumailov et al., Nature 631 (2024), Thm 3.1 (Gaussian) and sec. 3.1 (discrete);
Bertrand et al. (2023).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from scipy.stats import norm

from modelcollapse.figures._common import generation_axis, new_figure, save
from modelcollapse.sims import discrete as sim_discrete
from modelcollapse.sims import gaussian as sim_gaussian
from modelcollapse.theory import discrete_drift as th_drift
from modelcollapse.theory import gaussian as th_gauss

STEM = "l_parametric_vs_histogram"
SEED = 73


def binned_normal(K: int, L: float) -> tuple[np.ndarray, np.ndarray]:
    """``N(0, 1)`` on ``K`` bins of ``[-L, L]``: (centres, masses; the tails in the end bins)."""
    edges = np.linspace(-L, L, K + 1)
    cdf = norm.cdf(edges)
    cdf[0], cdf[-1] = 0.0, 1.0
    return 0.5 * (edges[:-1] + edges[1:]), np.diff(cdf)


def folded_normal_mean(mu: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``E |mu + s Z|`` for ``Z ~ N(0, 1)``, ``s >= 0``: ``s sqrt(2/pi) e^{-mu^2/2s^2} +
    mu (1 - 2 Phi(-mu/s))`` (``|mu|`` at ``s = 0``)."""
    mu, s = np.asarray(mu, dtype=np.float64), np.abs(np.asarray(s, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(s > 0, mu / s, 0.0)
        val = s * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * r * r) + mu * (1.0 - 2.0 * norm.cdf(-r))
    return np.where(s > 0, val, np.abs(mu))


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    K, L = (40, 4.0) if quick else (80, 4.0)
    Ms = (20, 200) if quick else (20, 200, 1000)
    chains = 400 if quick else 4000
    support, p0 = binned_normal(K, L)
    fig, axes = new_figure(1, 1, width=6.6, height=4.0)
    ax = axes[0, 0]
    data: dict[str, np.ndarray] = {"support": support, "p0": p0}
    key = jax.random.key(SEED)
    top = 0.0
    for j, M in enumerate(Ms):
        generations = 4 * M
        top = max(top, generations)
        gens = np.unique(np.concatenate(
            [[0], np.round(np.geomspace(1, generations, 10 if quick else 14)).astype(int)]))
        col = f"C{j}"
        # Gaussian refit: exact W1 per chain from the simulated (mu_n, sigma_n)
        g = sim_gaussian.simulate(jax.random.fold_in(key, 2 * j), M=M, generations=generations,
                                  chains=chains, ddof=0, record=gens)
        mu = np.asarray(g.mean, dtype=np.float64)
        sd = np.exp(0.5 * np.asarray(g.log_variance, dtype=np.float64))
        w1_g = folded_normal_mean(mu, sd - 1.0)
        # histogram refit on the bin centres
        h = sim_discrete.simulate(jax.random.fold_in(key, 2 * j + 1), p0=p0, M=M,
                                  generations=generations, chains=chains, record=gens,
                                  track_extinction=False, support=support,
                                  drift=True)
        w1_h = np.asarray(h.w1, dtype=np.float64)
        n_line = np.unique(np.round(np.concatenate(
            [[0], np.geomspace(1, generations, 30 if quick else 60)])).astype(int))
        exact_h = th_drift.expected_w1(n_line, p0, M, support)
        bound_g = np.sqrt(2.0 / np.pi) * np.sqrt(th_gauss.expected_w2_squared(n_line, M, ddof=0))
        for sim, fmt in ((w1_g, "s"), (w1_h, "o")):
            mean, se = sim.mean(axis=1), sim.std(axis=1, ddof=1) / np.sqrt(chains)
            ax.errorbar(gens, mean, yerr=2.0 * se, fmt=fmt, ms=3.5, color=col, mfc="white",
                        elinewidth=0.7, zorder=2)
        ax.plot(n_line, exact_h, color=col, lw=1.2, label=f"$M = {M}$", zorder=3)
        ax.plot(n_line, bound_g, color=col, lw=1.0, ls="--", zorder=3)
        data |= {f"M{M}_generations": gens,
                 f"M{M}_gauss_sim_mean": w1_g.mean(axis=1),
                 f"M{M}_gauss_sim_se": w1_g.std(axis=1, ddof=1) / np.sqrt(chains),
                 f"M{M}_hist_sim_mean": w1_h.mean(axis=1),
                 f"M{M}_hist_sim_se": w1_h.std(axis=1, ddof=1) / np.sqrt(chains),
                 f"M{M}_n_line": n_line, f"M{M}_hist_exact": exact_h,
                 f"M{M}_gauss_jensen_bound": bound_g}
    w1_inf = float(th_drift.w1_limit(p0, support))
    ax.axhline(w1_inf, color="0.3", ls=":", lw=1.0,
               label=r"histogram limit $\sum_{i,j} p_i p_j |x_i - x_j|$", zorder=1)
    ax.plot([], [], "k-", lw=1.2, label=r"histogram refit: exact $\mathbb{E}\,W_1$")
    ax.plot([], [], "ko", ms=3.5, mfc="white", label=r"histogram refit: simulated $\pm 2\,$se")
    ax.plot([], [], "k--", lw=1.0,
            label=r"Gaussian refit: bound $\sqrt{2/\pi}\,(\mathbb{E}\,W_2^2)^{1/2}$")
    ax.plot([], [], "ks", ms=3.5, mfc="white", label=r"Gaussian refit: simulated $\pm 2\,$se")
    generation_axis(ax, top=top * 1.2)
    ax.set_xlabel("generation $n$")
    ax.set_ylabel(r"$\mathbb{E}\,W_1$(generation $n$, data)")
    ax.set_title(rf"data $N(0, 1)$; $K = {K}$ bins on $[-{L:g}, {L:g}]$; Gaussian "
                 r"$\mathrm{ddof} = 0$")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=7)
    fig.suptitle("Parametric against nonparametric collapse at equal sample size")
    data["hist_w1_limit"] = np.array(w1_inf)
    meta = {"M": list(Ms), "K": K, "L": L, "chains": chains, "generations": "4 M",
            "seed": SEED, "quick": quick, "ddof": 0,
            "gaussian_w1": "exact per chain: E_Z |mu_n + (sigma_n - 1) Z| (folded normal)",
            "gaussian_line": "Jensen upper bound sqrt(2/pi) sqrt(E W2^2), exact E W2^2",
            "histogram_line": "exact E W1 (theory.discrete_drift.expected_w1)",
            "generation_axis": "symlog: linear on [0, 1], logarithmic beyond",
            "reference": "Shumailov et al. (2024); Bertrand et al. (2023)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
