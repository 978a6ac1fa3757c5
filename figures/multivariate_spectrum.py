"""Figure (s): the eigenvalue spectrum fans out from an isotropic start.

``N(0, I_d)``, ``d = 5``, refit on ``M = 20`` points per generation (``ddof = 1``, unbiased:
``E Sigma_n = Sigma_0`` for every ``n``). Every eigenvalue collapses, each at its own rate: the
Cholesky factor of ``Sigma_n`` is a product of i.i.d. lower-triangular Bartlett factors, so
``(1/n) log lambda_(k)(Sigma_n) -> psi((M - k)/2) + log(2/(M - ddof))``, ``k = 1..d`` (the
Lyapunov spectrum, :func:`modelcollapse.theory.multivariate.lyapunov_spectrum`); the smallest
eigenvalue falls fastest, ``lambda_d - lambda_1 ~ -(d - 1)/M``. An isotropic start becomes
anisotropic although the expected covariance stays ``I_d``.

Left: the chain mean of the sorted log eigenvalues ``E log lambda_(k)(Sigma_n)`` (points,
+- 2 standard errors; their sum is ``E log det Sigma_n``, exact, drawn as the black line divided
by ``d``) beside the Lyapunov slopes ``n lambda_k`` (dashed). Right: ``(1/n) E log
lambda_(k)`` converging to the exponents (dashed), on a logarithmic generation axis.
The sorted eigenvalues approach the exponents like ``n^(-1/2)`` (each is a random walk; the
sorting adds a bias that fades as the exponents separate, after ``n >> 2 M / (d M gap)^2``, a
few dozen generations here). Simulation: Bartlett path in float64 (run under
``jax.enable_x64``), eigenvalues from the log-space Cholesky state: resolved while the condition
number stays below about 4.5e15, ``exp(n (lambda_1 - lambda_d))`` = 1.6e15 at ``n = 140``.
"""

from __future__ import annotations

from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.multivariate import simulate
from modelcollapse.theory import multivariate as mv

STEM = "s_multivariate_spectrum"
SEED = 89
DDOF = 1


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    d, M = 5, 20
    generations = 40 if quick else 140
    chains = 300 if quick else 4000
    rec = np.unique(np.round(np.geomspace(1, generations, 16)).astype(int))
    kappa = np.asarray(mv.lyapunov_spectrum(M, d, ddof=DDOF))
    with jax.enable_x64(True):
        run = simulate(jax.random.key(SEED), M=M, d=d, generations=generations, chains=chains,
                       ddof=DDOF, record=rec, eigenvalues=True, dtype="float64")
    rows = np.isin(run.generations, rec)
    gens = np.asarray(run.generations)[rows]
    log_eig = np.asarray(run.log_eigenvalues, np.float64)[rows]  # (R, chains, d), descending
    mean = log_eig.mean(axis=1)
    se = log_eig.std(axis=1, ddof=1) / np.sqrt(chains)
    n_line = np.arange(generations + 1)
    exact_ld = np.asarray(mv.expected_log_determinant(n_line, M, d, ddof=DDOF))
    fig, axes = new_figure(1, 2, width=4.4, height=3.6)
    ax_l, ax_r = axes[0]
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, d))
    for k in range(d):
        ax_l.errorbar(gens, mean[:, k], yerr=2 * se[:, k], fmt="o", ms=2.5, color=colors[k],
                      mfc="white", elinewidth=0.6, zorder=2)
        ax_l.plot(n_line, n_line * kappa[k], color=colors[k], ls="--", lw=0.8, zorder=3)
        ax_r.errorbar(gens, mean[:, k] / gens, yerr=2 * se[:, k] / gens, fmt="o", ms=2.5,
                      color=colors[k], mfc="white", elinewidth=0.6, zorder=2)
        ax_r.axhline(kappa[k], color=colors[k], ls="--", lw=0.8, zorder=3)
    ax_l.plot(n_line, exact_ld / d, color="k", lw=1.1, zorder=4,
              label=r"$\frac{1}{d}\,\mathbb{E}\log\det\Sigma_n$ (exact)")
    ax_l.plot([], [], "o", ms=2.5, color="0.4", mfc="white",
              label=r"$\mathbb{E}\log\lambda_{(k)}(\Sigma_n)$, simulated")
    ax_l.plot([], [], "--", color="0.4", lw=0.8, label=r"Lyapunov slope $n\,\lambda_k$")
    ax_l.legend(loc="lower left", fontsize=6)
    ax_l.set_xlabel("generation $n$")
    ax_l.set_ylabel(r"$\log$ eigenvalue")
    ax_r.set_xscale("log")
    ax_r.set_xlabel("generation $n$")
    ax_r.set_ylabel(r"$\frac{1}{n}\,\mathbb{E}\log\lambda_{(k)}(\Sigma_n)$")
    ax_r.plot([], [], "--", color="0.4", lw=0.8, label=r"exponents $\lambda_1 > \dots > "
                                                        r"\lambda_d$ (exact)")
    ax_r.legend(loc="lower right", fontsize=6)
    fig.suptitle(f"The spectrum fans out from $\\Sigma_0 = I_{{{d}}}$ ($M = {M}$, unbiased "
                 f"refit: $\\mathbb{{E}}\\,\\Sigma_n = I$)")
    data = {"recorded": gens, "mean_log_eigenvalues": mean, "se_log_eigenvalues": se,
            "lyapunov": kappa, "n_line": n_line, "expected_log_det": exact_ld}
    meta = {"d": d, "M": M, "ddof": DDOF, "generations": generations, "chains": chains,
            "seed": SEED, "quick": quick,
            "theory": "theory.multivariate.lyapunov_spectrum, expected_log_determinant",
            "reference": "Shumailov et al. (2024), Thm 3.1; Key (1990)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
