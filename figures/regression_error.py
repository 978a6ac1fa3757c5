"""Figure (t): test error of linear regression refit on its own labels, replace vs accumulate.

``y = x^T beta + eps``, ``x ~ N(0, I_d)``, ``eps ~ N(0, noise2)``, ``d = 10``, ``T = 40`` samples
per generation, least squares. Generation 1 is fit on real labels, generation ``n`` on labels
drawn from generation ``n - 1``. Test error: the excess risk ``||beta_n - beta_0||^2`` (the noise
floor ``noise2`` not included), in units of one real fit's error ``noise2 d / (T - d - 1)``.

- replace: ``E err_n = n noise2 d / (T - d - 1)`` for the fixed design (one ``X`` reused every
  generation, KoyejoLab's code) and for the fresh design (a new ``X`` each generation, Dohmatob
  et al. 2024) alike: the error grows linearly (Dohmatob, Feng & Kempe 2024);
- accumulate, fixed design: ``E err_n = noise2 d / (T - d - 1) sum_{g<=n} 1/g^2``, bounded by
  the ``pi^2/6`` line (Gerstgrasser et al. 2024; Dey & Donoho); the fresh design's curve is the
  theory module's value where it has one, else only simulated.

Lines: theory; points: simulation, chain mean +- 2 standard errors.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from modelcollapse.figures._common import new_figure, save
from modelcollapse.sims.regression import simulate
from modelcollapse.spec.workflows import accumulate, replace
from modelcollapse.theory import regression as th

STEM = "t_regression_error"
SEED = 101
DESIGNS = (("fixed", "o"), ("fresh", "s"))


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    T, d = (20, 4) if quick else (40, 10)
    generations = 10 if quick else 50
    chains = 500 if quick else 20000
    n_line = np.arange(generations + 1)
    rec = np.unique(np.linspace(0, generations, 11).astype(int))
    unit = d / (T - d - 1)
    fig, axes = new_figure(1, 2, width=4.2, height=3.4)
    data: dict[str, np.ndarray] = {"n_line": n_line, "recorded": rec}
    key = jax.random.key(SEED)
    for c, (name, wf) in enumerate((("replace", replace()), ("accumulate", accumulate()))):
        ax = axes[0, c]
        for j, (design, marker) in enumerate(DESIGNS):
            col = f"C{j}"
            try:
                line = np.asarray(th.expected_test_error(n_line, T, d, design=design,
                                                         workflow=wf)) / unit
            except ValueError:
                line = None
            if line is not None:
                ax.plot(n_line, line, color=col, lw=1.1, ls="-" if j == 0 else ":",
                        label=f"exact, {design} design", zorder=3)
                data[f"{name}_{design}_theory"] = line
            run = simulate(jax.random.fold_in(key, 10 * c + j), T=T, d=d, generations=generations,
                           chains=chains, design=design, workflow=wf, record=rec)
            err = np.asarray(run.test_error, np.float64) / unit
            mean, se = err.mean(axis=1), err.std(axis=1, ddof=1) / np.sqrt(chains)
            ax.errorbar(rec, mean, yerr=2 * se, fmt=marker, ms=3.5, color=col, mfc="white",
                        elinewidth=0.7, label=f"simulated, {design} design", zorder=2)
            data |= {f"{name}_{design}_sim": mean, f"{name}_{design}_se": se}
        ax.set_title(name)
        ax.set_xlabel("generation $n$")
    bound = float(th.accumulate_bound(T, d)) / unit
    axes[0, 1].axhline(bound, color="0.3", ls="--", lw=0.9, label=r"bound $\pi^2/6$", zorder=1)
    for ax in axes[0]:
        ax.legend(loc="lower right", fontsize=6)
    axes[0, 0].set_ylabel(r"$\mathbb{E}\,\|\beta_n - \beta_0\|^2 \;/\; "
                          r"\frac{\sigma^2 d}{T - d - 1}$")
    fig.suptitle(f"Regression refit on its own labels ($d = {d}$, $T = {T}$, least squares)")
    meta = {"T": T, "d": d, "generations": generations, "chains": chains, "seed": SEED,
            "quick": quick, "recorded": rec.tolist(), "noise2": 1.0,
            "theory": "theory.regression.expected_test_error, accumulate_bound",
            "reference": "Dohmatob, Feng & Kempe (2024); Gerstgrasser et al. (2024)"}
    return save(fig, out_dir, STEM, data=data, meta=meta)
