"""The ``modelcollapse`` command.

    modelcollapse [--version]
    modelcollapse figures [--quick] [--out DIR] [--only NAME ...]
    modelcollapse verify [--list] [--family NAME ...] [--quick] [--chains N] [--seed S]
                         [--out FILE]
    modelcollapse simulate <family> --M ... --generations ... [--chains N] [--seed S]
                                    [--out run.npz] [--progress | --no-progress] [--devices N]
                                    [--coordinator HOST:PORT --num-processes P --process-id I]
    modelcollapse params

``verify`` prints a theory-vs-simulation table (z-scores, one Bonferroni bound over the whole
report, pass/fail) and exits with status 1 when any check fails; ``--out FILE`` also writes it,
after a header recording the seed, the package version, the date, the chains, alpha and the
bound, the command line and what each column means. ``simulate`` prints a summary of a run
beside the exact theory (each simulated column with +- 2 standard errors); its families
(``gaussian``, ``discrete``, ...) and the verification cases come from one registry
(:mod:`modelcollapse.verify.registry`). ``params`` prints the parameter vocabulary. With
``--coordinator`` the same command runs on every host under ``jax.distributed``; process 0
prints and saves.

Every option's help states its default. Output paths (``--out``) and ``--devices`` are checked
before any computation; ``simulate --out run`` writes ``run.npz`` (and says so) and refuses an
existing directory. ``figures --only`` takes the figure modules' names or their files' stems
(``ddof_comparison`` or ``d_ddof_comparison``). Errors exit with status 2 and one line on
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import io
import shlex
import sys
import textwrap
import time
import warnings
from collections.abc import Sequence
from typing import Any

from modelcollapse import __version__
from modelcollapse._cliutil import (
    Parser,
    add_distributed_arguments,
    attach_dash_values,
    output_dir,
    output_file,
    start_distributed,
)
from modelcollapse.spec import params as P

__all__ = ["main", "build_parser", "figure_names", "DASH_VALUE_OPTIONS"]

#: Options whose value may start with '-' (a comma-separated list such as ``--p0 -0.5,1.5``
#: is no negative number to argparse): ``main`` joins them as ``--p0=-0.5,1.5`` before parsing.
DASH_VALUE_OPTIONS: tuple[str, ...] = ("--p0", "--support")

#: Chains per verification case without ``--chains`` (and with ``--quick``).
VERIFY_CHAINS, VERIFY_QUICK_CHAINS = 100_000, 20_000


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def figure_names() -> dict[str, str]:
    """Every name ``figures --only`` accepts, mapped to its figure module.

    A figure is named by its module (``ddof_comparison``) or by the stem of the files it writes
    (``d_ddof_comparison``, the module's ``STEM``). The figure modules are imported to read
    their stems.

    Returns
    -------
    dict of str to str
        Accepted name -> module name, in drawing order (each module, then its stem).

    Examples
    --------
    >>> from modelcollapse.cli import figure_names
    >>> names = figure_names()
    >>> names["d_ddof_comparison"], names["ddof_comparison"]
    ('ddof_comparison', 'ddof_comparison')
    """
    from modelcollapse.figures import FIGURES

    out: dict[str, str] = {}
    for name in FIGURES:
        out[name] = name
        stem = getattr(importlib.import_module(f"modelcollapse.figures.{name}"), "STEM", None)
        if isinstance(stem, str) and stem:
            out.setdefault(stem, name)
    return out


def _figure_choices() -> str:
    by_module: dict[str, list[str]] = {}
    for alias, module in figure_names().items():
        by_module.setdefault(module, [])
        if alias != module:
            by_module[module].append(alias)
    return ", ".join(f"{m} ({', '.join(a)})" if a else m for m, a in by_module.items())


class _FigureNames(argparse.Action):
    """``--only NAME ...``: maps module names and file stems to modules (order kept, repeats
    dropped); an unknown name is an argparse error listing the valid ones. Its help lists them
    too, computed only when the help is shown (the figure modules import matplotlib)."""

    @property
    def help(self) -> str:
        return ("draw only these figures (default: every figure); NAME is a figure module or "
                f"the stem of its files: {_figure_choices()}")

    @help.setter
    def help(self, value: Any) -> None:
        pass

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        names = figure_names()
        given = [values] if isinstance(values, str) else list(values)
        unknown = [v for v in given if v not in names]
        if unknown:
            raise argparse.ArgumentError(
                self, f"unknown figure{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; choose among (module, or file stem in "
                f"parentheses): {_figure_choices()}")
        previous = getattr(namespace, self.dest, None) or []
        setattr(namespace, self.dest, list(dict.fromkeys([*previous, *(names[v] for v in given)])))


def _cmd_figures(args: argparse.Namespace) -> int:
    from modelcollapse.figures import make_all

    out = output_dir(args.out)
    t0 = time.perf_counter()
    paths = make_all(out, quick=args.quick, only=args.only, progress=_log)
    for p in paths:
        print(p)
    _log(f"wrote {len(paths)} files in {time.perf_counter() - t0:.1f} s")
    return 0


# --------------------------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------------------------
#: Notes on the symbols of the quantities, written into a report that shows them.
_QUANTITY_NOTES: tuple[tuple[str, str], ...] = (
    ("eps_lo", "eps_lo, eps_hi (gaussian): the collapse thresholds exp(E log sigma_n^2 - 1 sd) "
               "and exp(E log sigma_n^2 + 1 sd), sd the exact standard deviation of "
               "log sigma_n^2 (ratios to sigma_0^2; each value is shown as eps= in the case)"),
    ("c_n", "c_n, m (discrete): the count of the most probable symbol at generation n; m the "
            "median of its exact law restricted to 1..M-1 (shown as m= in the case)"),
    ("#1", "#1, #2 (discrete): the two symbols whose loss is checked (p_i= in the case)"),
    ("E T_abs", "T (discrete absorption): the first generation with one symbol left; loss / fix:"
                " symbol 1 (probability p) lost / taken over"),
    ("median", "median (poisson): the median of the exact law of Lam_n (median= in the case)"),
    ("P(T <=", "T (poisson): the extinction generation, the first with Lam = 0"),
)


def _report_header(args: argparse.Namespace, selected: Sequence[Any], checks: Sequence[Any],
                   chains: int, alpha: float, started: datetime.datetime,
                   seconds: float) -> str:
    from modelcollapse.verify.checks import bonferroni_z

    total = sum(c.max_checks for c in selected)
    bound = checks[0].z_bound if checks else (bonferroni_z(total, alpha) if total else None)
    capped = [f"{c.id}: {c.max_chains}" for c in selected
              if c.max_chains is not None and c.max_chains < chains]
    lines = [
        "modelcollapse verification report",
        "",
        f"package version : modelcollapse {__version__}",
        f"date (UTC)      : {started.isoformat(timespec='seconds')} ({seconds:.1f} s)",
        f"command line    : {getattr(args, 'command_line', 'modelcollapse verify')}",
        f"seed            : {args.seed} (case key = fold_in(jax.random.key(seed), "
        "crc32(case id)))",
        f"chains per case : {chains}" + (f" (capped: {'; '.join(capped)})" if capped else ""),
        f"cases           : {len(selected)}, declaring at most {total} checks "
        f"({len(checks)} checks run)",
        f"alpha           : {alpha:g}, the report-wise error (correct formulas fail the "
        "report with probability <= alpha)",
        "bound           : "
        + (f"|z| <= {bound:.4f}, the Bonferroni z bound Phi^-1(1 - alpha / (2 x {total})) "
           "shared by every check" if bound is not None else "(no checks)"),
        "",
    ]
    notes = [text for token, text in _QUANTITY_NOTES
             if any(token in c.quantity for c in checks)]
    if notes:
        lines.append("symbols in the quantities:")
        lines += [f"  {t}" for t in notes]
        lines.append("")
    out = []
    for ln in lines:  # wrap long values under their start (": " of a field, or the note's text)
        indent = ln.index(": ") + 2 if " : " in ln else (len(ln) - len(ln.lstrip()) + 2)
        out += textwrap.wrap(ln, 96, subsequent_indent=" " * indent, break_long_words=False,
                             break_on_hyphens=False) or [""]
    return "\n".join(f"# {ln}".rstrip() for ln in out)


def _cmd_verify(args: argparse.Namespace) -> int:
    from modelcollapse.verify import registry
    from modelcollapse.verify.checks import DEFAULT_ALPHA, format_table

    names = args.family
    if args.gaussian_only:
        warnings.warn("--gaussian-only is deprecated; use --family gaussian", DeprecationWarning,
                      stacklevel=2)
        names = ["gaussian"]
    selected = registry.cases(names)
    if args.list:
        print(registry.describe(selected))
        return 0
    start_distributed(args)
    main_process = _is_main_process()
    out = output_file(args.out, suffix=None) if args.out and main_process else None
    chains = args.chains or (VERIFY_QUICK_CHAINS if args.quick else VERIFY_CHAINS)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    checks = registry.run_report(selected, chains=chains, seed=args.seed, alpha=DEFAULT_ALPHA,
                                 progress=_log)
    seconds = time.perf_counter() - t0
    table = format_table(checks)
    if main_process:
        print(table)
        if out is not None:
            header = _report_header(args, selected, checks, chains, DEFAULT_ALPHA, started,
                                    seconds)
            out.write_text(f"{header}\n{format_table(checks, legend=True)}\n")
            _log(f"wrote {out}")
    _log(f"verification took {seconds:.1f} s with {chains} chains per case")
    return 0 if all(c.passed for c in checks) else 1


def _is_main_process() -> bool:
    if "jax" not in sys.modules:
        return True
    import jax

    return jax.process_index() == 0


def _cmd_params(args: argparse.Namespace) -> int:
    print(P.describe())
    return 0


def _simulate(handler):  # noqa: ANN001, ANN202 - wraps a family's handler
    def run(args: argparse.Namespace) -> int:
        start_distributed(args)
        if _is_main_process():
            return int(handler(args))
        args.out = None  # process 0 saves
        args.progress = False  # and shows the progress
        with contextlib.redirect_stdout(io.StringIO()):
            return int(handler(args))

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``modelcollapse`` command (families from the registry).

    Every parser and sub-parser is a :class:`modelcollapse._cliutil.Parser`: each option's help
    states its default (or that it is required).

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from modelcollapse.cli import build_parser
    >>> args = build_parser().parse_args(["simulate", "gaussian", "--M", "10",
    ...                                   "--generations", "5"])
    >>> args.M, args.generations, args.chains, args.progress
    (10, 5, 10000, None)
    """
    from modelcollapse.verify import registry

    parser = Parser(
        prog="modelcollapse",
        description="The mathematics of model collapse: theory and simulation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the package version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("figures", help="regenerate every figure (PNG + data + metadata)",
                       description="Draw the figures: a PNG, its data (.npz) and its parameters "
                                   "(.json) per figure, into --out.")
    p.add_argument("--out", default="figures", metavar="DIR",
                   help="output folder, created when missing")
    p.add_argument("--quick", action="store_true", help="small, fast versions (smoke run)")
    p.add_argument("--only", nargs="+", metavar="NAME", action=_FigureNames, default=None)
    p.set_defaults(func=_cmd_figures)

    fams = registry.families()
    p = sub.add_parser("verify", help="theory-vs-simulation report; exit 1 on failure",
                       description="Run every registered case, compare theory and simulation "
                                   "(z-scores, one Bonferroni bound over the report); exit "
                                   "status 1 when a check fails.")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--family", action="append", choices=tuple(fams), default=None,
                   help="only this family (repeatable; default: every family)")
    p.add_argument("--chains", type=P.chains.arg, default=None,
                   help=f"chains per case (default: {VERIFY_CHAINS}, {VERIFY_QUICK_CHAINS} with "
                        "--quick; a case may cap them)")
    p.add_argument("--quick", action="store_true",
                   help=f"fewer chains ({VERIFY_QUICK_CHAINS} per case)")
    p.add_argument("--seed", type=int, default=2024,
                   help="the report's seed (each case's key derives from it and the case id)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="also write the table to FILE, after a header with the seed, version, "
                        "date, chains, alpha, bound, command line and the columns' meaning "
                        "(default: print only)")
    p.add_argument("--gaussian-only", action="store_true", help=argparse.SUPPRESS)
    add_distributed_arguments(p)
    p.set_defaults(func=_cmd_verify, devices=1)

    p = sub.add_parser("simulate", help="run a simulator and compare it with the theory",
                       description="Simulate one family and print the run beside the exact "
                                   "theory (+- 2 standard errors).")
    fam = p.add_subparsers(dest="family", required=True)
    for entry in fams.values():
        q = entry.add_simulate_command(fam)
        q.set_defaults(func=_simulate(q.get_default("func")))

    p = sub.add_parser("params", help="the parameter vocabulary: names, domains, meanings")
    p.set_defaults(func=_cmd_params)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``modelcollapse`` command.

    ``--p0 -0.5,1.5`` (a value starting with '-', see :data:`DASH_VALUE_OPTIONS`) is joined into
    ``--p0=-0.5,1.5`` before parsing. A ``ValueError`` of a handler (a bad parameter, an
    unwritable ``--out``, too many ``--devices``) exits with status 2 and one line on stderr.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (``verify``: 1 when a check fails).

    Examples
    --------
    >>> from modelcollapse.cli import main
    >>> main(["params"])                     # doctest: +ELLIPSIS
    n ...
    0
    """
    given = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(attach_dash_values(given, DASH_VALUE_OPTIONS))
    args.command_line = shlex.join(["modelcollapse", *given])
    try:
        return int(args.func(args))
    except ValueError as exc:
        parser.exit(2, f"modelcollapse: error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
