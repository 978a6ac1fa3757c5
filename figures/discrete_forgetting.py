"""Figure (f): when is a symbol seen c times forgotten?

A symbol with original probability ``p = c / M`` (seen ``c`` times among ``M`` samples) is refit on
``M`` samples per generation (neutral Wright-Fisher; generation 0 = ``p0``, generation ``n`` =
after ``n`` rounds of "draw M samples, refit"). Left: ``P(forgotten by n) = P(count 0 at n)`` for
several ``c``:

- exact (solid): the binomial chain on ``{0..M}`` (``extinction_probability(method="exact")``);
- Kimura (dashed): the diffusion series (``method="kimura"``); its error against the exact chain
  decays like ``1/n`` (about ``0.6 / n`` at the worst ``p``; ~0.03 at n = 20), so it is poor in the
  first generations and for rare symbols;
- simulation (points, +-2 binomial se): one simulation with all the ``c`` as symbols of one
  vocabulary (each symbol's count is the same binomial chain whatever the others), from the
  simulator's first-extinction generations.

Middle: the distance of the two approximations from the exact chain, ``|approximation - exact|``
on a log axis: Kimura (dashed) and Suresh et al.'s ``exp(-c g_n)`` (dotted; ``g_n`` the n-fold
iterate of ``1 - e^{-x}``, exact for a Poisson refit, an upper bound on the multinomial loss
probability). Suresh et al.'s curves lie close to the exact ones (the Poisson limit of the
binomial draws), so close that on the left they would be hidden under them; grey, for scale: the
simulation's 2 se at P = 1/2.

Right: the median forgetting time against ``c`` (exact chain, simulated) and the line
``2 c / ln 2`` (from ``exp(-c g_n) = 1/2`` with ``g_n ~ 2/n``): forgetting time grows linearly in
the number of times a symbol was seen.

The data keys ``t`` and ``t_sim`` hold generations ``n`` (names kept from version 0.1).

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
    fig, axes = new_figure(1, 3, width=3.9, height=3.5)
    ax, ax_d, ax_m = axes[0, 0], axes[0, 1], axes[0, 2]
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
        ax.plot(t, kim, color=col, lw=0.9, ls="--")
        ax.errorbar(t_pts, sim, yerr=2.0 * se, fmt="o", ms=3, color=col, mfc="white",
                    elinewidth=0.7, zorder=2)
        ax.plot(t, exact, color=col, lw=1.2, label=f"$c = {c}$", zorder=3)
        ax_d.plot(t, np.abs(kim - exact), color=col, lw=1.0, ls="--")
        ax_d.plot(t, np.abs(sur - exact), color=col, lw=1.2, ls=":")
        data |= {f"c{c}_exact": exact, f"c{c}_kimura": kim, f"c{c}_suresh": sur,
                 f"c{c}_sim": sim}
    ax.plot([], [], "k-", label="exact chain")
    ax.plot([], [], "k--", label=r"Kimura diffusion (error $\approx 0.6/n$)")
    ax.plot([], [], "ko", ms=3, mfc="white", label=rf"simulated ({chains} chains), $\pm 2\,$se")
    ax.set_xscale("log")
    ax.set_xlabel("generation $n$")
    ax.set_ylabel(r"$P$(symbol seen $c$ times is forgotten by $n$)")
    ax.set_title(f"$M = {M}$, $p = c/M$")

    floor = 2.0 * np.sqrt(0.25 / chains)
    ax_d.axhline(floor, color="0.6", lw=1.0,
                 label=rf"simulation: 2 se at $P = 1/2$ ({chains} chains)")
    ax_d.plot([], [], "k:", lw=1.2, label=r"Suresh et al. $e^{-c\,g_n}$")
    ax_d.set_xscale("log")
    ax_d.set_yscale("log")
    ax_d.set_ylim(1e-6, 1.0)
    ax_d.set_xlabel("generation $n$")
    ax_d.set_ylabel(r"$|$approximation $-$ exact$|$")
    ax_d.set_title("distance of the approximations from the exact chain")
    handles, labels = [], []
    for a in (ax, ax_d):
        h, lab = a.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    fig.legend(handles, labels, loc="outside lower center", ncol=5)
    data["sim_two_se_at_half"] = np.asarray(floor)

    # median forgetting time: smallest t with P(lost by t) >= 1/2
    tt = np.arange(1, T_med + 1)
    loss = th.extinction_probability(tt[:, None], c_med[None, :] / M, M)  # (T_med, C)
    med_exact = tt[np.argmax(loss >= 0.5, axis=0)]
    idx = np.searchsorted(cs_all, c_med)
    e_med = ext[:, idx].astype(float)
    e_med[e_med < 0] = np.inf  # not lost within the run
    med_sim = np.median(e_med, axis=0)
    ax_m.plot(c_med, med_exact, "k-", drawstyle="steps-mid", lw=1.2, label="median, exact chain")
    ax_m.plot(c_med, med_sim, "o", ms=3, color="tab:red",
              label=f"median, simulated ({chains} chains)")
    ax_m.plot(c_med, 2.0 * c_med / np.log(2.0), "--", color="0.4", lw=1, label=r"$2c/\ln 2$")
    ax_m.set_xlabel("times seen, $c = Mp$")
    ax_m.set_ylabel("median forgetting generation")
    ax_m.set_title("forgetting time is linear in $c$")
    ax_m.legend(loc="upper left", fontsize=7)
    data |= {"c_median": c_med, "median_exact": med_exact, "median_sim": med_sim}
    fig.suptitle("Forgetting a symbol seen $c$ times (Wright-Fisher refit): exact vs "
                 "approximations vs simulation")
    meta = {
        "M": M, "T": T, "chains": chains, "simulator": method, "c": cs, "seed": SEED,
        "quick": quick,
        "kimura_accuracy": "abs error vs exact ~0.6/n (0.03 at n=20-40, 0.01 at n=80-160); "
                           "poor (0.1-0.2) for n < 20",
        "data_keys_t": "the keys t and t_sim hold generations n",
        "reference": "Kimura (1955); Suresh, Thangaraj & Khandavally (AISTATS 2025); "
                     "Shumailov et al. (2024)",
    }
    return save(fig, out_dir, STEM, data=data, meta=meta)
