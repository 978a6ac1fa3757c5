"""The Markdown proofs and their sympy check scripts.

For every proof ``proofs/<name>.md`` (installed as ``modelcollapse.proofs``) the script
``python -m modelcollapse.proofs.check_<name>`` must exist, run from an unrelated directory,
exit 0 and report ``Step k ... ok`` for every ``### Step k`` heading of the Markdown (so a step
cannot be dropped from the check silently). The step checker itself must reject a wrong
identity and a perturbed formula.
"""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import sympy as sp

from modelcollapse import proofs

TIMEOUT_S = 240  # one check script; the Gaussian one takes ~15-25 s on 2 loaded cores


@pytest.mark.parametrize("name", proofs.available())
def test_check_script_passes_every_step(name, tmp_path):
    assert proofs.check_module(name) is not None, f"{name}.md has no check_{name}.py"
    steps = proofs.proof_steps(name)
    assert steps, f"{name}.md declares no '### Step k' headings"
    assert len(set(steps)) == len(steps), f"duplicate step labels in {name}.md: {steps}"
    proc = subprocess.run(
        [sys.executable, "-m", f"modelcollapse.proofs.check_{name}"],
        cwd=tmp_path,  # from any directory: the installed package, not the checkout
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    ok = set(proofs.STEP_OK.findall(proc.stdout))
    missing = [s for s in steps if s not in ok]
    assert not missing, f"steps of {name}.md not reported ok: {missing}\n{proc.stdout}"
    assert "FAILED" not in proc.stdout


def test_gaussian_proof_is_installed_and_lists_its_steps():
    assert "gaussian_collapse" in proofs.available()
    text = proofs.proof_text("gaussian_collapse")
    assert "Theorem 3.1" in text
    assert proofs.proof_steps("gaussian_collapse") == [str(i) for i in range(1, 18)]
    from modelcollapse.proofs import check_gaussian_collapse as chk

    assert [label for label, _, _ in chk.STEPS] == proofs.proof_steps("gaussian_collapse")


def test_helpers_reject_wrong_identities():
    x = sp.Symbol("x", positive=True)
    proofs.assert_equal(sp.gamma(x + 1), x * sp.gamma(x), "Gamma recursion")
    with pytest.raises(proofs.StepFailure):
        proofs.assert_equal(sp.gamma(x + 1), (x + 1) * sp.gamma(x), "wrong Gamma recursion")
    proofs.assert_zero(sp.log(x / 2) + sp.log(2) - sp.log(x))
    with pytest.raises(proofs.StepFailure):
        proofs.assert_zero(sp.log(x / 2) + sp.log(3) - sp.log(x))
    with pytest.raises(proofs.StepFailure):
        proofs.assert_true(x > 1, "undecided relational")
    proofs.assert_positive_at(sp.log(x) - sp.digamma(x), [{x: 1}, {x: sp.Rational(7, 2)}])
    with pytest.raises(proofs.StepFailure):  # psi(x) < log x: the reverse must fail
        proofs.assert_positive_at(sp.digamma(x) - sp.log(x), [{x: 1}])


def test_run_steps_reports_failures():
    def bad() -> None:
        proofs.assert_equal(sp.Integer(1), sp.Integer(2), "1 = 2")

    out = io.StringIO()
    failures = proofs.run_steps([("1", "fine", lambda: None), ("2", "wrong", bad)], stream=out)
    assert failures == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "Step 1: fine ... ok"
    assert lines[1].startswith("Step 2: wrong ... FAILED")
    assert proofs.STEP_OK.findall(out.getvalue()) == ["1"]


def test_perturbed_formula_fails_its_step(monkeypatch):
    """Replace a derived formula by a wrong one: the step that checks it must fail."""
    from modelcollapse.proofs import check_gaussian_collapse as chk
    from modelcollapse.theory.symbolic import gaussian as g

    S = g.symbols()
    q = (S.M - 1) / (S.M - S.ddof)
    steps = {label: fn for label, _, fn in chk.STEPS}
    steps["3"]()  # passes with the real derivation
    monkeypatch.setattr(g, "expected_variance_expr", lambda: S.sigma0**2 * q ** (S.n + 1))
    with pytest.raises(proofs.StepFailure):
        steps["3"]()
    monkeypatch.setattr(
        g, "one_step_log_mean_expr", lambda: sp.polygamma(0, S.a) + sp.log(3 / (S.M - S.ddof))
    )
    with pytest.raises(proofs.StepFailure):
        steps["4"]()
    out = io.StringIO()
    assert proofs.run_steps([(lab, "t", steps[lab]) for lab in ("3", "4")], stream=out) == 2


def test_unknown_proof_name():
    with pytest.raises(ValueError, match="name"):
        proofs.proof_text("no_such_proof")
    with pytest.raises(ValueError, match="name"):
        proofs.proof_text("../etc")


def test_run_all_api(monkeypatch):
    calls = []

    def fake_run_check(name, *, timeout):
        calls.append(name)
        text = "".join(f"Step {s}: x ... ok\n" for s in proofs.proof_steps(name))
        return subprocess.CompletedProcess([], 0, stdout=text, stderr="")

    monkeypatch.setattr(proofs, "run_check", fake_run_check)
    res = proofs.run_all(verbose=False)
    assert set(res) == set(proofs.available())
    for name, passed in res.items():
        assert passed == (proofs.check_module(name) is not None)


def test_accumulate_subsample_proof_rejects_perturbed_formulas():
    """The accumulate-subsample limit: (1 + rho) for (1 + 2 rho), accumulate's H2_t, a wrong
    limit and a wrong variance law each fail their step; the real ones pass."""
    from modelcollapse.proofs import check_accumulate_subsample as chk
    from modelcollapse.theory.symbolic import accumulate_subsample as sas

    assert [label for label, _, _ in chk.STEPS] == proofs.proof_steps("accumulate_subsample")
    k = sp.Symbol("k", positive=True, integer=True)
    h2 = sp.Sum(1 / k**2, (k, 1, sas.t))
    chk.step7_closed_form()
    with pytest.raises(proofs.StepFailure):
        chk.step7_closed_form(1 + (1 + sas.rho) * (h2 - 1))
    with pytest.raises(proofs.StepFailure):
        chk.step7_closed_form(h2)
    with pytest.raises(proofs.StepFailure):
        chk.step8_limit(sp.pi**2 / 6 + 0 * sas.rho)
    with pytest.raises(proofs.StepFailure):
        chk.step9_variance(sas.leading_variance_expr() + sas.ddof)
    with pytest.raises(proofs.StepFailure):
        chk.step2_subsample_moments((sas.A / (sas.N * sas.P), sas.A))
    with pytest.raises(proofs.StepFailure):  # a D_t off by one part in a million
        chk.step5_linear_recursion(lambda T, values=(): tuple(
            (D * (1 + sp.Rational(1, 10**6)), s) for D, s in sas.linear_recursion(T, values)))
