"""The command line at its edges: version, help texts, argument domains, output paths, devices,
progress, the summaries' standard errors and the verification report's header."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modelcollapse
from modelcollapse import _cliutil as U
from modelcollapse.cli import build_parser, figure_names, main
from modelcollapse.spec import params as P

FAST = ["--chains", "200"]


def _fail_if_called(*args, **kwargs):
    raise AssertionError("the computation started before the arguments were checked")


def _parsers(parser: argparse.ArgumentParser, path: str = "modelcollapse"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


# --------------------------------------------------------------------------------------------
# --version and help
# --------------------------------------------------------------------------------------------
def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"modelcollapse {modelcollapse.__version__}"


def test_every_option_states_its_default_and_meaning():
    seen = 0
    for path, parser in _parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.help is argparse.SUPPRESS:
                continue
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            text = formatter._expand_help(action)
            seen += 1
            assert len(text.split()) >= 3, (path, action.option_strings, text)  # a meaning
            assert "default" in text or "(required)" in text, (path, action.option_strings,
                                                               text)
    assert seen > 40


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "gaussian", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 10000)" in text and "(default: sufficient)" in text
    assert "an integer >= 2, > ddof (required)" in text
    assert "--progress, --no-progress" in text and "on when stderr is a terminal" in text


# --------------------------------------------------------------------------------------------
# figures --only
# --------------------------------------------------------------------------------------------
def test_figures_only_help_lists_the_names(capsys):
    with pytest.raises(SystemExit):
        main(["figures", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, module in figure_names().items():
        assert name in text and module in text


def test_figures_only_refuses_unknown_names_and_lists_the_valid_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["figures", "--only", "nope", "--out", "unused"])
    assert exc.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "unknown figure 'nope'" in err
    assert "ddof_comparison (d_ddof_comparison)" in err and "paper_gaussian" in err


def test_figures_only_accepts_file_stems(tmp_path, monkeypatch, capsys):
    import modelcollapse.figures as figs

    names = figure_names()
    assert names["d_ddof_comparison"] == "ddof_comparison"
    for module in figs.FIGURES:  # each module under its own name and under its files' stem
        stem = __import__(f"modelcollapse.figures.{module}", fromlist=["STEM"]).STEM
        assert names[module] == names[stem] == module
    calls = []
    monkeypatch.setattr(figs, "make_all", lambda out, **kw: calls.append((out, kw)) or [])
    assert main(["figures", "--quick", "--out", str(tmp_path / "new"), "--only",
                 "d_ddof_comparison", "ddof_comparison", "a_paper_gaussian"]) == 0
    (out, kw), = calls
    assert kw["only"] == ["ddof_comparison", "paper_gaussian"] and kw["quick"]
    assert Path(out) == tmp_path / "new"


def test_figures_out_checked_before_drawing(tmp_path, monkeypatch, capsys):
    import modelcollapse.figures as figs

    monkeypatch.setattr(figs, "make_all", _fail_if_called)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["figures", "--out", str(tmp_path / "file" / "sub")])
    assert exc.value.code == 2
    assert "--out must be a directory" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# argument domains
# --------------------------------------------------------------------------------------------
def _family_m():
    from modelcollapse.sims.discrete import SIM_M

    return [("gaussian", [], P.GAUSSIAN_M), ("poisson", ["--lam0", "1"], P.M),
            ("discrete", ["--K", "3"], SIM_M)]


@pytest.mark.parametrize("family, extra, decl", _family_m(), ids=["gaussian", "poisson",
                                                                   "discrete"])
def test_each_family_checks_M_with_its_own_declaration(family, extra, decl, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", family, "--M", "-5", "--generations", "3", *extra])
    assert exc.value.code == 2
    assert f"M must be {decl.domain} (got '-5')" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", family, "--help"])
    assert decl.domain in " ".join(capsys.readouterr().out.split())
    if family == "gaussian":
        assert decl.domain == "an integer >= 2"


@pytest.mark.parametrize("family, extra", [("gaussian", ["--M", "5"]),
                                           ("poisson", ["--M", "5", "--lam0", "1"]),
                                           ("discrete", ["--M", "5", "--K", "2"])])
def test_generations_zero_refused(family, extra, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", family, "--generations", "0", *extra])
    assert exc.value.code == 2
    assert "generations must be an integer >= 1 (got '0')" in capsys.readouterr().err


def test_attach_dash_values():
    f = U.attach_dash_values
    assert f(["simulate", "discrete", "--p0", "-0.5,1.5"], ["--p0"]) == [
        "simulate", "discrete", "--p0=-0.5,1.5"]
    assert f(["--p0", "0.5,0.5"], ["--p0"]) == ["--p0", "0.5,0.5"]
    assert f(["--p0", "--M", "5"], ["--p0"]) == ["--p0", "--M", "5"]  # a missing value stays so
    assert f(["--p0", "-h"], ["--p0"]) == ["--p0", "-h"]
    assert f(["--p0"], ["--p0"]) == ["--p0"]
    assert f(["--K", "-3"], ["--p0"]) == ["--K", "-3"]
    assert f(["--", "--p0", "-1"], ["--p0"]) == ["--", "--p0", "-1"]


def test_p0_starting_with_minus_reaches_its_own_check(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "discrete", "--M", "5", "--generations", "3", "--p0", "-0.5,1.5"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "expected one argument" not in err
    assert "p0 must be a probability vector" in err and "-0.5" in err


def test_devices_beyond_what_jax_can_give_is_refused():
    import jax

    jax.local_devices()  # backends started: the CPU device count is fixed in this process
    with pytest.raises(ValueError, match=r"--devices must be an integer in \[1, \d+\] "
                                         r"\(got 100000\): .*available"):
        U.check_devices(100_000)
    U.check_devices(1)


def test_devices_on_the_command_line_says_what_is_available():
    # a fresh process: JAX's CPU devices are fixed once its backends start
    n = U.usable_cores() + 1
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    res = subprocess.run([sys.executable, "-m", "modelcollapse", "simulate", "gaussian", "--M",
                          "5", "--generations", "1", "--devices", str(n)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    assert f"--devices must be an integer in [1, {n - 1}] (got {n})" in res.stderr
    assert f"{n - 1} CPU core" in res.stderr and "available" in res.stderr
    assert "Traceback" not in res.stderr


# --------------------------------------------------------------------------------------------
# --out
# --------------------------------------------------------------------------------------------
def test_out_gets_npz_appended_and_reports_the_real_name(tmp_path, capsys):
    base = tmp_path / "run"
    assert main(["simulate", "gaussian", "--M", "5", "--generations", "2", *FAST,
                 "--out", str(base)]) == 0
    written = tmp_path / "run.npz"
    assert written.exists() and not base.exists()
    assert f"saved {written}" in capsys.readouterr().out
    assert U.output_file(written) == written  # already ending in .npz: unchanged


@pytest.mark.parametrize("family, extra", [("gaussian", ["--M", "5"]),
                                           ("poisson", ["--M", "5", "--lam0", "1"]),
                                           ("discrete", ["--M", "5", "--K", "2"])])
def test_out_problems_found_before_the_run(family, extra, tmp_path, monkeypatch, capsys):
    import importlib

    sims = importlib.import_module(f"modelcollapse.sims.{family}")
    monkeypatch.setattr(sims, "simulate", _fail_if_called)
    cases = [
        (tmp_path, "must name a file, not the existing directory"),
        (tmp_path / "missing" / "run.npz", "does not exist"),
    ]
    for out, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(["simulate", family, "--generations", "3", *extra, "--out", str(out)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "--out" in err and message in err and "Traceback" not in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="chmod does not stop root (see the /proc test)")
def test_out_in_an_unwritable_directory_via_chmod(tmp_path, monkeypatch, capsys):
    from modelcollapse.sims import gaussian

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        monkeypatch.setattr(gaussian, "simulate", _fail_if_called)
        with pytest.raises(SystemExit) as exc:
            main(["simulate", "gaussian", "--M", "5", "--generations", "3", "--out",
                  str(locked / "run.npz")])
        assert exc.value.code == 2
        assert "--out: cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_in_an_unwritable_directory_even_for_root(monkeypatch):
    # nobody, root included, can create a file in /proc: the check tries, it does not guess
    with pytest.raises(ValueError, match="--out: cannot write '/proc/run.npz'.*not writable"):
        U.output_file("/proc/run")
    with pytest.raises(ValueError, match="--out: cannot write into"):
        U.output_dir("/proc/figures")


def test_verify_out_checked_before_the_report(tmp_path, monkeypatch, capsys):
    from modelcollapse.verify import registry

    monkeypatch.setattr(registry, "run_report", _fail_if_called)
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--chains", "100", "--out", str(tmp_path / "no" / "verification.txt")])
    assert exc.value.code == 2
    assert "--out: the directory" in capsys.readouterr().err
    assert U.output_file(tmp_path / "v.txt", suffix=None) == tmp_path / "v.txt"


# --------------------------------------------------------------------------------------------
# summaries: +- 2 standard errors
# --------------------------------------------------------------------------------------------
def _rows(text: str) -> list[list[float]]:
    return [[float(v) for v in ln.split()] for ln in text.splitlines()
            if ln.strip()[:1].isdigit() and not ln.startswith(("sigma", "saved"))]


def test_gaussian_summary_standard_errors():
    import jax

    from modelcollapse.families.gaussian import summary
    from modelcollapse.sims.gaussian import simulate
    from modelcollapse.theory import gaussian as th

    run = simulate(jax.random.key(1), M=10, generations=20, chains=4000, record=[5, 20])
    text = summary(run, 10, 1)
    assert text.splitlines()[0].count("+-2se") == 4
    rows = _rows(text)
    lv = np.asarray(run.log_variance, np.float64)[-1]
    mu = np.asarray(run.mean, np.float64)[-1]
    last = rows[-1]
    assert last[0] == 20 and len(last) == 13
    assert last[2] == pytest.approx(2 * lv.std(ddof=1) / np.sqrt(lv.size), rel=0.05)
    p = float(th.collapse_probability(20, 10, 0.01))
    assert last[8] == pytest.approx(2 * np.sqrt(p * (1 - p) / lv.size), rel=0.05)
    assert last[11] == pytest.approx(2 * (mu**2).std(ddof=1) / np.sqrt(mu.size), rel=0.05)
    for sim, two_se, theory in (last[1:4], last[4:7], last[10:13]):  # z <= 3 (fixed seed)
        assert abs(sim - theory) <= 1.5 * two_se


def test_poisson_summary_standard_errors(capsys):
    assert main(["simulate", "poisson", "--lam0", "2", "--M", "10", "--generations", "8",
                 "--chains", "3000", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert "+- 2 standard errors" in text
    header = [ln for ln in text.splitlines() if ln.strip().startswith("n ")][0]
    assert header.count("+-2se") == 4
    last = _rows(text)[-1]
    assert last[0] == 8 and len(last) == 13
    for i in (1, 4, 7, 10):
        sim, two_se, theory = last[i:i + 3]
        assert two_se > 0 and abs(sim - theory) <= 2.0 * two_se


def test_discrete_summary_absorption_has_standard_errors(capsys):
    assert main(["simulate", "discrete", "--M", "8", "--generations", "10", "--K", "2",
                 "--chains", "500"]) == 0
    text = capsys.readouterr().out
    header = [ln for ln in text.splitlines() if ln.strip().startswith("n ")][0]
    assert header.count("+-2se") == 3
    assert len(_rows(text)[-1]) == 10


def test_summaries_with_one_chain_do_not_warn(recwarn, capsys):
    assert main(["simulate", "gaussian", "--M", "5", "--generations", "2", "--chains", "1"]) == 0
    assert "nan" in capsys.readouterr().out
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_standard_error_helpers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    assert U.se_mean(x) == pytest.approx(1 / np.sqrt(x.size), rel=0.03)
    assert U.se_variance(x) == pytest.approx(np.sqrt(2 / x.size), rel=0.05)
    assert U.se_median(x) == pytest.approx(np.sqrt(np.pi / 2 / x.size), rel=0.1)
    assert U.se_probability(0.5, 100) == 0.05 and U.se_probability(0.0, 100) == 0.0
    assert np.isnan(U.se_mean([1.0])) and np.isnan(U.se_median([1.0]))


# --------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_want_progress():
    assert U.want_progress(None, _Terminal()) is True
    assert U.want_progress(None, io.StringIO()) is False
    assert U.want_progress(False, _Terminal()) is False
    assert U.want_progress(True, io.StringIO()) is True


@pytest.mark.parametrize("flags, shown", [([], True), (["--no-progress"], False),
                                          (["--progress"], True)])
def test_progress_default_follows_the_terminal(flags, shown, monkeypatch, capsys):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["simulate", "gaussian", "--M", "5", "--generations", "3", *FAST, *flags]) == 0
    assert ("100.0%" in term.getvalue()) is shown


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys):
    assert main(["simulate", "gaussian", "--M", "5", "--generations", "3", *FAST]) == 0
    assert "%" not in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# verify --out: a header that records the run and explains the columns
# --------------------------------------------------------------------------------------------
def test_verify_out_header(tmp_path, monkeypatch, capsys):
    from modelcollapse.families import gaussian
    from modelcollapse.verify import registry
    from modelcollapse.verify.checks import DEFAULT_ALPHA, bonferroni_z

    small = gaussian.cases_of([(10, 10, 1, "sufficient")])
    monkeypatch.setattr(registry, "cases", lambda names=None: small)
    out = tmp_path / "verification.txt"
    argv = ["verify", "--chains", "3000", "--seed", "7", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    text = out.read_text()
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    body = "\n".join(header)
    flat = " ".join(ln.lstrip("# ") for ln in header)
    assert f"modelcollapse {modelcollapse.__version__}" in body
    assert re.search(r"date \(UTC\)\s*: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", body)
    assert re.search(r"seed\s*: 7 ", body)
    assert re.search(r"chains per case : 3000\b", body)
    assert "alpha           : 0.001" in body
    bound = bonferroni_z(small[0].max_checks, DEFAULT_ALPHA)
    assert f"|z| <= {bound:.4f}" in body and "Bonferroni" in body
    assert "command line    : modelcollapse verify --chains 3000 --seed 7 --out" in body
    assert str(out) in flat
    assert "eps_lo, eps_hi" in flat and "exp(E log sigma_n^2 - 1 sd)" in flat
    for column in ("family", "quantity", "case", "theory", "simulated", "se", "z", "bound",
                   "result"):
        assert re.search(rf"^#   {column} ", body, re.M), column
    assert "sd / sqrt(N)" in flat and "sqrt(p (1 - p) / N)" in flat
    # the printed table keeps its columns; the file holds the same table after the header
    table = printed.strip()
    assert table.splitlines()[0].split()[:3] == ["family", "quantity", "case"]
    assert text.rstrip().endswith(table)


def test_format_table_legend_names_every_column():
    from modelcollapse.verify.checks import Check, format_table

    checks = [Check("gaussian", "E X", {"M": 10}, 1.0, 1.1, 0.1, 3.0)]
    plain, explained = format_table(checks), format_table(checks, legend=True)
    assert explained.endswith(plain) and not plain.startswith("#")
    legend = [ln for ln in explained.splitlines() if ln.startswith("#")]
    for column in plain.splitlines()[0].split():
        assert any(ln.startswith(f"#   {column} ") for ln in legend), column
