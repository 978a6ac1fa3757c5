"""Figure (f): when is a symbol seen c times forgotten?

A symbol with original probability ``p = c / M`` (seen ``c`` times among ``M`` samples) is refit on
``M`` samples per generation (neutral Wright-Fisher; generation 0 = ``p0``, generation ``t`` =
after ``t`` rounds of "draw M samples, refit"). Left: ``P(forgotten by t) = P(count 0 at t)`` for
several ``c``:

- exact (solid): the binomial chain on ``{0..M}`` (``extinction_probability(method="exact")``);
- Kimura (dashed): the diffusion series (``method="kimura"``); its error against the exact chain
  decays like ``1/t`` (about ``0.6 / t`` at the worst ``p``; ~0.03 at t = 20), so it is poor in the
  first generations and for rare symbols;
- Suresh et al. (dotted): ``exp(-c g_t)`` with ``g_t`` the t-fold iterate of ``1 - e^{-x}``
  (exact for a Poisson refit, an upper bound on the multinomial loss probability);
- simulation (points, +-2 binomial se): one simulation with all the ``c`` as symbols of one
  vocabulary (each symbol's count is the same binomial chain whatever the others), from the
  simulator's first-extinction generations.

Right: the median forgetting time against ``c`` (exact chain, simulated) and the line
``2 c / ln 2`` (from ``exp(-c g_t) = 1/2`` with ``g_t ~ 2/t``): forgetting time grows linearly in
the number of times a symbol was seen.

References: Kimura, Genetics 40 (1955); Suresh, Thangaraj & Khandavally, "Rate of model collapse
in recursive training" (AISTATS 2025); Shumailov et al., Nature 631 (2024).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.discrete import simulate
from modelcollapse.theory import discrete as th

STEM = "f_discrete_forgetting"
SEED = 43


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    M = 200 if quick else 1000
    T = 60 if quick else 120
    chains = 2000 if quick else 20_000
    cs = np.array([1, 2, 5, 10, 20])
    c_med = np.arange(1, 16 if quick else 31)
    T_med = int(np.ceil(2.0 * c_med.max() / np.log(2.0) * 1.5)) + 10

    # one vocabulary: the symbols seen c times (both panels), plus the rest of the mass
    cs_all = np.union1d(cs, c_med)
    p_sym = cs_all / M
    p0 = np.concatenate([p_sym, [1.0 - p_sym.sum()]])
    G = max(T, T_med)
    method = "samples" if quick else "sufficient"  # both exact; samples compiles faster
    run = simulate(jax.random.key(SEED), p0=p0, M=M, generations=G, chains=chains, record=[G],
                   method=method)
    ext = np.asarray(run.extinction_generation)[:, :-1]  # (chains, symbols)

    t = np.arange(1, T + 1)
    t_pts = np.unique(np.round(np.geomspace(1, T, 14)).astype(int))
    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax, ax_m = axes[0, 0], axes[0, 1]
    data: dict[str, np.ndarray] = {"t": t, "c": cs, "t_sim": t_pts}
    for k, c in enumerate(cs):
        col = f"C{k}"
        p = c / M
        exact = th.extinction_probability(t, p, M)
        kim = th.extinction_probability(t, p, M, method="kimura")
        sur = th.extinction_probability(t, p, M, method="suresh")
        i = int(np.flatnonzero(cs_all == c)[0])
        e = ext[:, i]
        sim = np.array([np.mean((e >= 0) & (e <= s)) for s in t_pts])
        se = np.sqrt(exact[t_pts - 1] * (1.0 - exact[t_pts - 1]) / chains)
        ax.plot(t, exact, color=col, lw=1.3, label=f"c = {c}")
        ax.plot(t, kim, color=col, lw=0.9, ls="--")
        ax.plot(t, sur, color=col, lw=0.9, ls=":")
        ax.errorbar(t_pts, sim, yerr=2.0 * se, fmt="o", ms=2.5, color=col, elinewidth=0.7)
        data |= {f"c{c}_exact": exact, f"c{c}_kimura": kim, f"c{c}_suresh": sur,
                 f"c{c}_sim": sim}
    ax.plot([], [], "k-", label="exact chain")
    ax.plot([], [], "k--", label="Kimura diffusion (error ~0.6/t)")
    ax.plot([], [], "k:", label="Suresh et al. exp(-c g_t)")
    ax.plot([], [], "ko", ms=2.5, label=f"simulated ({chains} chains) +-2 se")
    ax.set_xscale("log")
    ax.set_xlabel("generation t")
    ax.set_ylabel("P(symbol seen c times is forgotten by t)")
    ax.set_title(f"M = {M}, p = c / M")
    ax.legend(loc="upper left", fontsize=6)

    # median forgetting time: smallest t with P(lost by t) >= 1/2
    tt = np.arange(1, T_med + 1)
    loss = th.extinction_probability(tt[:, None], c_med[None, :] / M, M)  # (T_med, C)
    med_exact = tt[np.argmax(loss >= 0.5, axis=0)]
    idx = np.searchsorted(cs_all, c_med)
    e_med = ext[:, idx].astype(float)
    e_med[e_med < 0] = np.inf  # not lost within the run
    med_sim = np.median(e_med, axis=0)
    ax_m.plot(c_med, med_exact, "k-", drawstyle="steps-mid", lw=1.2, label="median, exact chain")
    ax_m.plot(c_med, med_sim, "o", ms=3, color="tab:red", label=f"median, simulated ({chains})")
    ax_m.plot(c_med, 2.0 * c_med / np.log(2.0), "--", color="0.4", lw=1, label="2c / ln 2")
    ax_m.set_xlabel("times seen c = M p")
    ax_m.set_ylabel("median forgetting generation")
    ax_m.set_title("forgetting time is linear in c")
    ax_m.legend(loc="upper left", fontsize=7)
    data |= {"c_median": c_med, "median_exact": med_exact, "median_sim": med_sim}
    fig.suptitle("Forgetting a symbol seen c times (Wright-Fisher refit): exact vs approximations "
                 "vs simulation")
    meta = {
        "M": M, "T": T, "chains": chains, "simulator": method, "c": cs, "seed": SEED,
        "quick": quick,
        "kimura_accuracy": "abs error vs exact ~0.6/t (0.03 at t=20-40, 0.01 at t=80-160); "
                           "poor (0.1-0.2) for t < 20",
        "reference": "Kimura (1955); Suresh, Thangaraj & Khandavally (AISTATS 2025); "
                     "Shumailov et al. (2024)",
    }
    return save(fig, out_dir, STEM, data=data, meta=meta)
