"""Figure (m): the tale of tails -- a memoriser's learning curve on data of generation n.

A Zipf vocabulary ``p0_i ~ i^-2`` over ``K`` symbols is refit on ``M`` samples per generation
(neutral Wright-Fisher; generation 0 = ``p0``). A learner that memorises ``T`` samples drawn from
generation ``n`` answers a test symbol drawn from ``p0`` correctly iff it has seen it; its test
error is ``sum_i p0_i E (1 - p_{n,i})^T`` (exact, :func:`modelcollapse.theory.tails.
memoriser_test_error`; lines). Points: the same error estimated from simulated chains (for each
chain the conditional error ``sum_i p0_i (1 - q_i)^T`` given its generation-``n`` frequencies
``q``; mean +-2 standard errors). Dashed: the asymptotic scaling law (:func:`modelcollapse.
theory.tails.memoriser_test_error_asymptotic`): ``T^{-(1 - 1/beta)}`` on clean data (``n = 0``),
and for ``n >= 1`` the plateau left by the tail that the refits cut off (the paper's two-term
law ``C (T^{-(1 - 1/beta)} + (M g_n)^{-(1 - 1/beta)})``, asymptotic far from the crossover
``T ~ M g_n``; near it the two terms count the same missing symbols and the law overshoots the
exact error by up to ~1.5x). With ``K`` finite, the clean curve drops below the law once ``T``
reaches ``K^beta``, when every symbol has been seen.

References: E. Dohmatob, Y. Feng, P. Yang, F. Charton, J. Kempe, "A Tale of Tails: Model
Collapse as a Change of Scaling Laws", ICML 2024; Shumailov et al., Nature 631 (2024).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import tails as th

STEM = "m_tale_of_tails"
SEED = 79


def conditional_error(q: np.ndarray, p0: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``sum_i p0_i (1 - q_i)^T`` for each row of ``q`` (chains, K) and each ``T``: (T, chains)."""
    with np.errstate(divide="ignore"):
        log1m = np.log1p(-np.minimum(q, 1.0))  # -inf where q = 1
    out = np.empty((T.size, q.shape[0]))
    for k, t in enumerate(T):
        out[k] = np.exp(t * log1m) @ p0
    return out


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    exponent = 2.0
    K = 2000 if quick else 10_000
    M = 1000
    gens = (0, 1, 5, 20)
    chains = 200 if quick else 1000
    p0 = th.zipf_probabilities(K, exponent)
    T_line = np.unique(np.round(np.geomspace(1, 1e6, 60)).astype(np.int64))
    T_pts = np.unique(np.round(np.geomspace(1, 1e6, 10 if quick else 13)).astype(np.int64))
    fig, axes = new_figure(1, 1, width=6.0, height=4.2)
    ax = axes[0, 0]
    data: dict[str, np.ndarray] = {"p0": p0, "T_line": T_line, "T_points": T_pts}
    run = simulate(jax.random.key(SEED), p0=p0, M=M, generations=max(gens), chains=chains,
                   record=list(gens), record_counts=True, track_extinction=False)
    counts = np.asarray(run.counts, dtype=np.float64)
    for j, n in enumerate(gens):
        col = f"C{j}"
        exact = th.memoriser_test_error(T_line, n, p0, M)
        asym = th.memoriser_test_error_asymptotic(T_line, n, M, exponent, K=K)
        q = p0[None, :] if n == 0 else counts[list(run.generations).index(n)] / M
        sim = conditional_error(q, p0, T_pts.astype(np.float64))
        mean = sim.mean(axis=1)
        se = sim.std(axis=1, ddof=1) / np.sqrt(sim.shape[1]) if n > 0 else np.zeros_like(mean)
        ax.plot(T_line, exact, color=col, lw=1.2, label=f"$n = {n}$", zorder=3)
        ax.plot(T_line, asym, color=col, lw=1.0, ls="--", zorder=2)
        if n > 0:
            ax.errorbar(T_pts, mean, yerr=2.0 * se, fmt="o", ms=3.5, color=col, mfc="white",
                        elinewidth=0.7, zorder=4)
        data |= {f"n{n}_exact": exact, f"n{n}_asymptotic": asym, f"n{n}_sim_mean": mean,
                 f"n{n}_sim_se": se}
    ax.plot([], [], "k-", lw=1.2, label="exact")
    ax.plot([], [], "k--", lw=1.0, label="asymptotic scaling law")
    ax.plot([], [], "ko", ms=3.5, mfc="white",
            label=rf"simulated mean $\pm 2\,$se ({chains} chains)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples $T$ (drawn from generation $n$)")
    ax.set_ylabel("memoriser test error on $p_0$")
    ax.set_title(rf"Zipf $p_i \propto i^{{-{exponent:g}}}$, $K = {K}$, $M = {M}$ samples per "
                 "generation")
    ax.legend(loc="lower left", fontsize=7)
    fig.suptitle(r"A tale of tails: refits cut the tail, and the learning curve plateaus")
    meta = {"exponent": exponent, "K": K, "M": M, "generations": list(gens), "chains": chains,
            "seed": SEED, "quick": quick,
            "exact": "theory.tails.memoriser_test_error",
            "asymptotic": "theory.tails.memoriser_test_error_asymptotic",
            "simulated": "per chain sum_i p0_i (1 - q_i)^T given the generation-n frequencies",
            "reference": "Dohmatob et al., ICML 2024"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
