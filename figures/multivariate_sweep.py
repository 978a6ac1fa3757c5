"""Figure (r): KoyejoLab's multivariate sweep with the exact theory: trace and determinant.

A ``d``-dimensional Gaussian ``N(0, I_d)``, ``d in {1, 3, 10, 31, 100}``, refit by maximum
likelihood (``ddof = 0``, as figure p) on ``M = 316`` points per generation for 100 generations,
under the three data policies of Kazdan et al. ("Collapse or Thrive?", 2024): replace,
accumulate and accumulate-subsample (a uniform subsample of ``M`` points of the growing pool).

- Top row, ``E tr Sigma_n / tr Sigma_0``: exact for every workflow and the same for every ``d``
  (every 1-D projection ``v^T x`` of the chain is the 1-D Gaussian chain, so
  ``E Sigma_n = s_n Sigma_0`` with ``s_n`` the 1-D ``E sigma_n^2 / sigma_0^2``; one line, the
  simulated points of each ``d`` on it).
- Bottom row, ``(1/d) E log(det Sigma_n / det Sigma_0)`` (the log of the geometric-mean
  eigenvalue ratio, KoyejoLab's determinant ratio on a per-dimension log scale): under replace
  exact by Bartlett's decomposition, ``(n/d) sum_{i=1..d} [psi((M - i)/2) + log(2/M)]``; under
  accumulate and accumulate-subsample there is no closed form: dashed lines are proven upper
  bounds (:func:`~modelcollapse.theory.multivariate.log_determinant_upper_bound`: Jensen,
  ``log det E Sigma_n = d log s_n``, tightened for accumulate by the exact pooling step) and
  dotted lines the proven lower bound of accumulate
  (:func:`~modelcollapse.theory.multivariate.log_determinant_lower_bound`).

Lines: theory; bands: simulation, chain mean +- 2 standard errors (Bartlett path for replace
and accumulate, the sample-level point pool for accumulate-subsample, with fewer chains at large
``d``: the pool keeps every point).

References: Kazdan et al. (2024); Shumailov et al., Nature 631 (2024), Thm 3.1; Bartlett (1933).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.multivariate import simulate
from modelcollapse.spec.workflows import accumulate, accumulate_subsample, replace
from modelcollapse.theory import multivariate as mv

STEM = "r_multivariate_sweep"
SEED = 97
DDOF = 0
WORKFLOWS = (("replace", replace()), ("accumulate", accumulate()),
             ("accumulate-subsample", accumulate_subsample()))


def _chains(name: str, d: int, quick: bool) -> int:
    """Chains per run: fewer at large ``d`` (work ``d^3`` per generation), and for the
    subsample's point pool (memory ``n M d`` per chain)."""
    if quick:
        return 64
    if name == "accumulate-subsample":
        return max(16, int(4000 // d))
    return max(200, int(20000 // d))


def _band(ax, x, values, color, label=None) -> tuple[np.ndarray, np.ndarray]:
    mean = values.mean(axis=1)
    se = values.std(axis=1, ddof=1) / np.sqrt(values.shape[1])
    ax.fill_between(x, mean - 2 * se, mean + 2 * se, color=color, alpha=0.3, lw=0, zorder=2,
                    label=label)
    return mean, se


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    dims = (1, 3) if quick else (1, 3, 10, 31, 100)
    M = 16 if quick else 316
    generations = 8 if quick else 100
    n_line = np.arange(generations + 1)
    rec = np.unique(np.linspace(0, generations, 11).astype(int))
    fig, axes = new_figure(2, 3, width=3.6, height=3.0)
    for ax in axes[0, 1:]:  # the trace ratios share a scale; each log det panel has its own
        ax.sharey(axes[0, 0])
    data: dict[str, np.ndarray] = {"n_line": n_line, "recorded": rec}
    key = jax.random.key(SEED)
    for c, (name, wf) in enumerate(WORKFLOWS):
        ax_t, ax_d = axes[0, c], axes[1, c]
        s_n = np.asarray(mv.expected_trace(n_line, M, [1.0], ddof=DDOF, workflow=wf))
        ax_t.plot(n_line, s_n, color="k", lw=1.1, zorder=3)
        data[f"{name}_trace_theory"] = s_n
        for j, d in enumerate(dims):
            col = f"C{j}"
            chains = _chains(name, d, quick)
            eye = np.ones(d)
            if name == "replace":
                ld = np.asarray(mv.expected_log_determinant(n_line, M, d, ddof=DDOF)) / d
                ax_d.plot(n_line, ld, color=col, lw=1.1, zorder=3)
                data[f"{name}_d{d}_logdet_theory"] = ld
            else:
                up = np.asarray(mv.log_determinant_upper_bound(n_line, M, eye, ddof=DDOF,
                                                               workflow=wf)) / d
                ax_d.plot(n_line, up, color=col, ls="--", lw=1.0, zorder=3)
                data[f"{name}_d{d}_logdet_upper"] = up
                if name == "accumulate":
                    lo = np.asarray(mv.log_determinant_lower_bound(n_line, M, eye, ddof=DDOF,
                                                                   workflow=wf)) / d
                    ax_d.plot(n_line, lo, color=col, ls=":", lw=1.0, zorder=3)
                    data[f"{name}_d{d}_logdet_lower"] = lo
            run = simulate(jax.random.fold_in(key, 10 * c + j), M=M, d=d, generations=generations,
                           chains=chains, ddof=DDOF, record=rec, workflow=wf,
                           method="samples" if name == "accumulate-subsample" else "bartlett")
            tr = np.exp(np.asarray(run.log_trace, np.float64)) / d
            ld_sim = np.asarray(run.log_det, np.float64) / d
            m_t, se_t = _band(ax_t, rec, tr, col)
            m_d, se_d = _band(ax_d, rec, ld_sim, col, f"$d = {d}$" if c == 0 else None)
            data |= {f"{name}_d{d}_trace_sim": m_t, f"{name}_d{d}_trace_se": se_t,
                     f"{name}_d{d}_logdet_sim": m_d, f"{name}_d{d}_logdet_se": se_d,
                     f"{name}_d{d}_chains": np.array(chains)}
        ax_t.set_title(name)
        ax_d.set_xlabel("generation $n$")
    axes[1, 0].plot([], [], "k-", lw=1.1, label="exact")
    axes[1, 0].legend(loc="lower left", fontsize=6)
    axes[1, 1].plot([], [], "k--", lw=1.0, label="upper bound")
    axes[1, 1].plot([], [], "k:", lw=1.0, label="lower bound")
    axes[1, 1].legend(loc="best", fontsize=6)
    axes[0, 0].plot([], [], "k-", lw=1.1, label=r"exact, every $d$")
    axes[0, 0].legend(loc="lower left", fontsize=6)
    axes[0, 0].set_ylabel(r"$\mathbb{E}\,\mathrm{tr}\,\Sigma_n / \mathrm{tr}\,\Sigma_0$")
    axes[1, 0].set_ylabel(r"$\frac{1}{d}\,\mathbb{E}\,\log(\det\Sigma_n / \det\Sigma_0)$")
    fig.suptitle(f"KoyejoLab's multivariate sweep (MLE, $M = {M}$, {generations} generations): "
                 "exact theory and simulation bands ($\\pm 2$ se)")
    meta = {"d": list(dims), "M": M, "generations": generations, "ddof": DDOF, "seed": SEED,
            "quick": quick, "recorded": rec.tolist(),
            "chains": {name: {str(d): _chains(name, d, quick) for d in dims}
                       for name, _ in WORKFLOWS},
            "theory": "theory.multivariate.expected_trace (workflow=), "
                      "expected_log_determinant (replace); log_determinant_upper_bound and "
                      "log_determinant_lower_bound (accumulate) otherwise",
            "reference": "Kazdan et al. (2024)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
