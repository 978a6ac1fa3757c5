"""Figure (a): the paper's 1-D Gaussian experiment, with exact theory behind the sample paths.

Shumailov et al. (Nature 2024, Fig. 1-D Gaussian / SI) start from N(0, 1), refit mean and variance
on M samples per generation for 1000 generations and plot |mu_n - mu_0| and |sigma_n - sigma_0|
against the generation on a log axis. Here each panel shows a few simulated sample paths over:

- |sigma_n - sigma_0|: its EXACT median and 5-95 % band. With F the cdf of sigma_n^2
  (``collapse_probability``), P(|sigma_n - 1| <= x) = F((1 + x)^2) - F((1 - x)^2) (second term 0
  for x >= 1), inverted in x by vectorised bisection.
- |mu_n - mu_0|: the exact root-mean-square sqrt(E (mu_n - mu_0)^2) (``mean_drift_mse``), and
  the 5-95 % band of a 2000-chain simulation (the law of mu_n is a variance mixture of normals
  with no closed-form quantiles, so this band is labelled simulated).

Each row shares one y-range across M, so the panels compare directly; the sample paths (one
colour per chain) dip below the band where they cross zero (|.| -> 0 on the log axis).

Unbiased estimator (ddof=1, the theorem's); the authors' notebook used ddof=0.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.gaussian import simulate
from modelcollapse.theory import gaussian as th

STEM = "a_paper_gaussian"
SEED = 31


def std_error_quantile(n, M, q, *, ddof: int = 1, iterations: int = 40) -> np.ndarray:
    """Quantile ``q`` of |sigma_n - sigma_0| / sigma_0, by bisection on the exact cdf.

    P(|sigma_n/sigma_0 - 1| <= x) = F((1 + x)^2) - F((1 - x)^2), F(v) = P(sigma_n^2 <= v sigma_0^2).
    The cdf is increasing in x; bisection keeps the bracket [lo, hi] with G(lo) < q <= G(hi).
    """
    n, M, q = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (n, M, q)))

    def G(x):
        upper = th.collapse_probability(n, M, (1.0 + x) ** 2, ddof=ddof)
        below = np.where(x < 1.0, np.clip(1.0 - x, 1e-300, None) ** 2, 1e-300)
        lower = np.where(x < 1.0, th.collapse_probability(n, M, below, ddof=ddof), 0.0)
        return upper - lower

    lo = np.zeros_like(q)
    hi = np.ones_like(q)
    while np.any(G(hi) < q):  # grow the bracket where needed
        hi = np.where(G(hi) < q, 2.0 * hi, hi)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        below_q = G(mid) < q
        lo, hi = np.where(below_q, mid, lo), np.where(below_q, hi, mid)
    return 0.5 * (lo + hi)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    Ms = (100, 1000) if quick else (100, 500, 1000, 10_000)
    generations = 200 if quick else 1000
    n_paths, band_chains = (3, 500) if quick else (5, 2000)
    ddof = 1
    gens = np.unique(np.round(np.geomspace(1, generations, 40 if quick else 60)).astype(int))
    all_gens = np.arange(generations + 1)

    fig, axes = new_figure(2, len(Ms), width=3.3, height=2.8, sharey="row")
    data: dict[str, np.ndarray] = {"theory_generations": gens}
    key = jax.random.key(SEED)
    for j, M in enumerate(Ms):
        paths = simulate(
            jax.random.fold_in(key, 2 * j), M=M, generations=generations, chains=n_paths,
            ddof=ddof, method="samples", record=all_gens,
        )
        band = simulate(
            jax.random.fold_in(key, 2 * j + 1), M=M, generations=generations,
            chains=band_chains, ddof=ddof, method="sufficient", record=gens,
        )
        mu_err = np.abs(np.asarray(paths.mean, dtype=float))
        sd_err = np.abs(np.exp(0.5 * np.asarray(paths.log_variance, dtype=float)) - 1.0)
        rows = np.isin(np.asarray(band.generations), gens)  # drop generation 0 (always recorded)
        band_mu = np.abs(np.asarray(band.mean, dtype=float))[rows]
        mu_lo, mu_med, mu_hi = np.quantile(band_mu, [0.05, 0.5, 0.95], axis=1)
        rms_mu = np.sqrt(th.mean_drift_mse(gens, M, ddof=ddof))
        q_sd = std_error_quantile(gens[:, None], M, np.array([0.05, 0.5, 0.95]), ddof=ddof)

        ax_mu, ax_sd = axes[0, j], axes[1, j]
        x = np.asarray(paths.generations)
        for c in range(n_paths):
            label = f"sample paths ({n_paths} chains, a colour each)" if c == 0 else None
            ax_mu.plot(x[1:], mu_err[1:, c], lw=0.6, alpha=0.8, label=label)
            ax_sd.plot(x[1:], sd_err[1:, c], lw=0.6, alpha=0.8)
        ax_mu.fill_between(gens, mu_lo, mu_hi, color="0.8",
                           label=rf"$|\mu_n-\mu_0|$: 5$-$95 % (simulated, {band_chains} chains)")
        ax_mu.plot(gens, mu_med, "k:", lw=1, label=r"$|\mu_n-\mu_0|$: median (simulated)")
        ax_mu.plot(gens, rms_mu, "k-", lw=1.2,
                   label=r"$|\mu_n-\mu_0|$: RMS $\sqrt{\mathbb{E}(\mu_n-\mu_0)^2}$, exact")
        ax_sd.fill_between(gens, q_sd[:, 0], q_sd[:, 2], color="0.8",
                           label=r"$|\sigma_n-\sigma_0|$: 5$-$95 %, exact")
        ax_sd.plot(gens, q_sd[:, 1], "k-", lw=1.2, label=r"$|\sigma_n-\sigma_0|$: median, exact")
        for ax, lab in ((ax_mu, r"$|\mu_n-\mu_0|$"), (ax_sd, r"$|\sigma_n-\sigma_0|$")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("generation $n$")
            ax.set_title(f"$M = {M}$")
            if j == 0:
                ax.set_ylabel(lab + r" ($\sigma_0 = 1$)")
        data |= {
            f"M{M}_path_generations": x,
            f"M{M}_path_abs_mu": mu_err,
            f"M{M}_path_abs_sigma": sd_err,
            f"M{M}_rms_mu": rms_mu, f"M{M}_sim_mu_q05_q50_q95": np.stack([mu_lo, mu_med, mu_hi]),
            f"M{M}_exact_abs_sigma_q05_q50_q95": q_sd.T,
        }
    # one y-range per row, shared by every M; set by the bands (a path's dips below the band
    # are its zero crossings, |.| -> 0 on a log axis)
    bands = [(data[f"M{M}_sim_mu_q05_q50_q95"], data[f"M{M}_path_abs_mu"]) for M in Ms]
    axes[0, 0].set_ylim(0.3 * min(b[0].min() for b, _ in bands),
                        2.0 * max(max(b[2].max(), p.max()) for b, p in bands))
    bands = [(data[f"M{M}_exact_abs_sigma_q05_q50_q95"], data[f"M{M}_path_abs_sigma"])
             for M in Ms]
    axes[1, 0].set_ylim(0.3 * min(b[0].min() for b, _ in bands),
                        2.0 * max(max(b[2].max(), p.max()) for b, p in bands))
    handles, labels = [], []
    for ax in axes[:, 0]:
        h, lab = ax.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    fig.suptitle(
        r"Gaussian refit on its own samples, $\mathcal{N}(0,1)$, ddof$\,=1$: sample paths over "
        "the theory\n(each row shares one $y$-range across $M$)"
    )
    meta = {
        "M": list(Ms), "generations": generations, "ddof": ddof, "seed": SEED,
        "paths": n_paths, "band_chains": band_chains, "quick": quick,
        "shared_y_range": "per row, across M",
        "reference": "Shumailov et al., Nature 631 (2024), Thm 3.1 and the 1-D Gaussian figure",
    }
    return save(fig, out_dir, STEM, data=data, meta=meta)
