"""Small helpers shared by the command line and the family front ends.

- the parser and its help (:class:`Parser`, :class:`HelpFormatter`: every option's help ends
  with its default, or says that it is required);
- the run options every ``simulate <family>`` shares (:func:`add_run_arguments`) and their
  checks before any computation: the output file (:func:`output_file`, :func:`output_dir`),
  the devices (:func:`check_devices`), the progress bar (:func:`want_progress`);
- ``argv`` preprocessing (:func:`attach_dash_values`: ``--p0 -0.5,1.5``);
- standard errors of the ``simulate`` summaries (:func:`se_mean`, :func:`se_variance`,
  :func:`se_probability`, :func:`se_median`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelcollapse.spec import params as P

__all__ = ["summary_record", "timed", "request_cpu_devices", "as_key", "add_run_arguments",
           "add_distributed_arguments", "start_distributed", "HelpFormatter", "Parser",
           "GENERATIONS", "attach_dash_values", "output_file", "output_dir", "want_progress",
           "usable_cores", "check_devices", "se_mean", "se_variance", "se_probability",
           "se_median"]

_SEED = P.Param("seed", "seed of jax.random.key", integer=True, low=0, high=2**63 - 1)
_DEVICES = P.Param("devices", "local devices to shard the chains over", integer=True, low=1)
_PROCESSES = P.Param("num_processes", "number of processes under jax.distributed", integer=True,
                     low=1)
_PROCESS_ID = P.Param("process_id", "this process's index under jax.distributed", integer=True,
                      low=0)

#: ``--generations`` on the command line: at least one refit (a run of 0 generations only
#: repeats the original distribution; the library still accepts ``generations=0``).
GENERATIONS = P.generations.restrict(low=1)


# --------------------------------------------------------------------------------------------
# Parser and help
# --------------------------------------------------------------------------------------------
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that states every option's default.

    Like :class:`argparse.ArgumentDefaultsHelpFormatter`, but a required option says
    ``(required)``, a flag says ``(default: off)``, and a help text that already speaks of its
    default (or an option whose default is ``None``, which must say it in words) is left as it
    is.

    Examples
    --------
    >>> from modelcollapse._cliutil import Parser
    >>> p = Parser(prog="demo")
    >>> _ = p.add_argument("--n", type=int, default=3, help="how many")
    >>> _ = p.add_argument("--x", required=True, help="the x")
    >>> _ = p.add_argument("--quick", action="store_true", help="small run")
    >>> print(p.format_help())              # doctest: +NORMALIZE_WHITESPACE
    usage: demo [-h] [--n N] --x X [--quick]
    <BLANKLINE>
    options:
      -h, --help  show this help message and exit
      --n N       how many (default: 3)
      --x X       the x (required)
      --quick     small run (default: off)
    <BLANKLINE>
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (not action.option_strings or action.help is argparse.SUPPRESS
                or action.default is argparse.SUPPRESS or "default" in text):
            return action.help
        if action.required:
            return f"{text} (required)"
        if action.default is None:
            return action.help
        if action.nargs == 0 and isinstance(action.default, bool):
            return f"{text} (default: {'on' if action.default else 'off'})"
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose help is :class:`HelpFormatter`'s; its
    sub-parsers (``add_subparsers().add_parser``) are ``Parser`` s too.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`argparse.ArgumentParser` (``formatter_class`` defaults to
        :class:`HelpFormatter`).

    Examples
    --------
    >>> from modelcollapse._cliutil import HelpFormatter, Parser
    >>> sub = Parser(prog="demo").add_subparsers().add_parser("run")
    >>> type(sub).__name__, sub.formatter_class is HelpFormatter
    ('Parser', True)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def attach_dash_values(argv: Sequence[str], options: Iterable[str]) -> list[str]:
    """Join ``OPTION VALUE`` into ``OPTION=VALUE`` when ``VALUE`` starts with a single ``-``.

    ``argparse`` takes ``--p0 -0.5,1.5`` for an option followed by another option (the value
    is not a plain negative number) and stops with "expected one argument"; joined, the value
    reaches the option's own validation and its error message. ``-h`` and tokens starting with
    ``--`` are left alone, and so is everything after a bare ``--``.

    Parameters
    ----------
    argv : sequence of str
        The command-line arguments (without the program name).
    options : iterable of str
        The options whose values may start with ``-`` (e.g. ``("--p0",)``).

    Returns
    -------
    list of str
        ``argv`` with those pairs joined.

    Examples
    --------
    >>> from modelcollapse._cliutil import attach_dash_values
    >>> attach_dash_values(["--p0", "-0.5,1.5", "--M", "5"], ["--p0"])
    ['--p0=-0.5,1.5', '--M', '5']
    >>> attach_dash_values(["--p0", "0.5,0.5", "--K", "-3"], ["--p0"])
    ['--p0', '0.5,0.5', '--K', '-3']
    """
    wanted = set(options)
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--":
            out += args[i:]
            break
        nxt = args[i + 1] if i + 1 < len(args) else None
        if (tok in wanted and nxt is not None and nxt.startswith("-")
                and not nxt.startswith("--") and nxt != "-h" and len(nxt) > 1):
            out.append(f"{tok}={nxt}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


# --------------------------------------------------------------------------------------------
# Output paths, checked before any computation
# --------------------------------------------------------------------------------------------
def _writable_dir(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, so read-only mounts count too)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def output_file(path: str | os.PathLike[str], *, option: str = "--out",
                suffix: str | None = ".npz") -> Path:
    """The file an output option will write, checked before any computation.

    ``suffix`` is appended when the name does not end with it (NumPy's ``savez`` does the same,
    so the name returned is the name written). An existing directory is refused (name a file
    inside it instead); so is a file whose folder does not exist or is not writable, and an
    existing file that cannot be overwritten.

    Parameters
    ----------
    path : str or path-like
        The option's value.
    option : str
        The option's name, for the error messages.
    suffix : str, optional
        The extension the writer adds (``".npz"``); ``None``: none.

    Returns
    -------
    pathlib.Path
        The path that will be written.

    Raises
    ------
    ValueError
        Naming ``option``, when the file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from modelcollapse._cliutil import output_file
    >>> folder = Path(tempfile.mkdtemp())
    >>> output_file(folder / "run").name, output_file(folder / "run.npz").name
    ('run.npz', 'run.npz')
    >>> output_file(folder)
    Traceback (most recent call last):
    ...
    ValueError: --out must name a file, not the existing directory ...
    >>> output_file(folder / "missing" / "run.npz")
    Traceback (most recent call last):
    ...
    ValueError: --out: the directory ... does not exist
    """
    raw = Path(path)
    if raw.is_dir():
        raise ValueError(f"{option} must name a file, not the existing directory '{raw}' "
                         f"(e.g. {option} {raw / ('run' + (suffix or '.txt'))})")
    out = raw if suffix is None or raw.name.endswith(suffix) else raw.with_name(raw.name + suffix)
    if out.is_dir():
        raise ValueError(f"{option} must name a file, not the existing directory '{out}'")
    folder = out.parent
    if not folder.is_dir():
        raise ValueError(f"{option}: the directory '{folder}' of '{out}' does not exist")
    if not _writable_dir(folder):
        raise ValueError(f"{option}: cannot write '{out}': the directory '{folder}' is not "
                         "writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise ValueError(f"{option}: cannot overwrite '{out}': the file is not writable")
    return out


def output_dir(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """An output folder, checked before any computation: an existing, writable directory, or
    one that can be created (its nearest existing ancestor is a writable directory).

    Parameters
    ----------
    path : str or path-like
        The option's value.
    option : str
        The option's name, for the error messages.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ValueError
        Naming ``option``, when nothing can be written there.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from modelcollapse._cliutil import output_dir
    >>> folder = Path(tempfile.mkdtemp())
    >>> output_dir(folder / "new" / "figures") == folder / "new" / "figures"
    True
    >>> (folder / "file").write_text("x")
    1
    >>> output_dir(folder / "file")
    Traceback (most recent call last):
    ...
    ValueError: --out must be a directory: '...file' is a file
    """
    out = Path(path)
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = f"'{out}' is a file" if probe == out else f"'{probe}' (in its path) is a file"
        raise ValueError(f"{option} must be a directory: {what}")
    if not _writable_dir(probe):
        raise ValueError(f"{option}: cannot write into '{out}': '{probe}' is not writable")
    return out


# --------------------------------------------------------------------------------------------
# Run options
# --------------------------------------------------------------------------------------------
def want_progress(flag: bool | None, stream: Any = None) -> bool:
    """Whether to draw the progress bar: ``flag`` when given, else whether ``stream``
    (default ``sys.stderr``) is a terminal.

    Parameters
    ----------
    flag : bool or None
        ``--progress`` (True), ``--no-progress`` (False) or neither (None).
    stream : file-like, optional
        Where the bar goes (default ``sys.stderr``).

    Returns
    -------
    bool

    Examples
    --------
    >>> import io
    >>> from modelcollapse._cliutil import want_progress
    >>> want_progress(None, io.StringIO()), want_progress(True, io.StringIO())
    (False, True)
    """
    if flag is not None:
        return bool(flag)
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def summary_record(generations: int, points: int = 8) -> np.ndarray:
    """Generations shown in a ``simulate`` summary: 0 plus ~``points`` log-spaced ones."""
    g = max(int(generations), 1)
    record = np.unique(np.concatenate([[0], np.round(np.geomspace(1, g, points))]).astype(int))
    return record[record <= generations]


def timed(fn: Callable[..., Any], /, **kwargs: Any) -> tuple[Any, float]:
    """``fn(**kwargs)`` and the wall-clock seconds it took."""
    t0 = time.perf_counter()
    out = fn(**kwargs)
    return out, time.perf_counter() - t0


def as_key(seed: Any) -> Any:
    """``jax.random.key(seed)`` for an integer seed; a key is returned as it is."""
    import jax

    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return jax.random.key(int(seed))
    return seed


def request_cpu_devices(n: int) -> None:
    """Ask JAX for ``n`` CPU devices (one per core to use) before its backends start.

    Only the CPU client is affected (GPUs are unchanged). Once JAX has started its backends the
    setting can no longer change; then the devices that exist are used as they are.
    """
    import jax

    if n > 1:
        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError:  # backends already initialised in this process
            pass


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the system has one).

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> from modelcollapse._cliutil import usable_cores
    >>> usable_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


def check_devices(n: int) -> None:
    """``ValueError`` unless JAX can give ``n`` local devices to shard the chains over.

    On an accelerator (GPU, TPU) the limit is the number of local devices. On a CPU-only
    backend JAX creates as many CPU devices as it is asked for, one per core being the point,
    so the limit is the number of usable cores (and the CPU devices that exist, when JAX had
    started before the request). Call it after :func:`request_cpu_devices`.

    Parameters
    ----------
    n : int
        ``--devices``.

    Raises
    ------
    ValueError
        Naming ``--devices`` and saying what is available.

    Examples
    --------
    >>> import jax
    >>> from modelcollapse._cliutil import check_devices
    >>> check_devices(1)
    >>> check_devices(len(jax.local_devices()) + 4096)
    Traceback (most recent call last):
    ...
    ValueError: --devices must be an integer in [1, ...] (got ...): ...available...
    """
    if n <= 1:
        return
    import jax

    local = jax.local_devices()
    platform = local[0].platform if local else "cpu"
    if platform == "cpu":
        cores = usable_cores()
        limit = min(cores, len(local))
        why = (f"JAX runs on the CPU here, one device per core, and {cores} CPU "
               f"core{'s are' if cores != 1 else ' is'} available")
        if len(local) < min(n, cores):
            why += (f" (JAX had already started with {len(local)} CPU "
                    f"device{'s' if len(local) != 1 else ''} in this process)")
    else:
        limit = len(local)
        why = f"{limit} local {platform} device{'s are' if limit != 1 else ' is'} available"
    if n > limit:
        raise ValueError(f"--devices must be an integer in [1, {limit}] (got {n}): {why}")


def add_run_arguments(parser: argparse.ArgumentParser, *, chains: int) -> None:
    """The arguments every ``simulate <family>`` shares (generations, chains, seed, output,
    progress, devices, and the ``jax.distributed`` flags)."""
    parser.add_argument("--generations", type=GENERATIONS.arg, required=True,
                        help=f"number of refits simulated: {GENERATIONS.domain}")
    parser.add_argument("--chains", type=P.chains.arg, default=chains,
                        help=f"independent chains: {P.chains.domain}")
    parser.add_argument("--seed", type=_SEED.arg, default=0,
                        help="seed of jax.random.key; chain i draws from fold_in(key, i)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="save the run as a NumPy archive; '.npz' is appended when missing, "
                             "the folder must exist, a directory is refused (default: not saved)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: on when stderr is a terminal)")
    parser.add_argument("--devices", type=_DEVICES.arg, default=1,
                        help="shard the chains over N local devices (CPU: one per core, at most "
                             "the cores available)")
    add_distributed_arguments(parser)


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--coordinator HOST:PORT --num-processes N --process-id I``: run under
    ``jax.distributed`` (the same command on every host; chains are split over the processes)."""
    single = " (default: a single process)"
    parser.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                        help="jax.distributed coordinator address (process 0's host)" + single)
    parser.add_argument("--num-processes", type=_PROCESSES.arg, default=None,
                        help="number of processes under jax.distributed" + single)
    parser.add_argument("--process-id", type=_PROCESS_ID.arg, default=None,
                        help="this process's index in [0, num-processes)" + single)


def start_distributed(args: argparse.Namespace) -> None:
    """Initialise ``jax.distributed`` from the flags of :func:`add_distributed_arguments` (CPU:
    gloo collectives), ask for ``--devices`` CPU devices (at most one per usable core) before
    JAX's backends start, and check that ``--devices`` devices exist (:func:`check_devices`)."""
    n = getattr(args, "devices", 1) or 1
    request_cpu_devices(min(n, usable_cores()))
    flags = (args.coordinator, args.num_processes, args.process_id)
    if any(f is not None for f in flags):
        if any(f is None for f in flags):
            raise ValueError("give --coordinator, --num-processes and --process-id together "
                             f"(got {flags})")
        if args.process_id >= args.num_processes:
            raise ValueError(f"process-id must be an integer in [0, {args.num_processes - 1}] "
                             f"(got {args.process_id})")
        import jax

        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    check_devices(n)


# --------------------------------------------------------------------------------------------
# Standard errors of the simulate summaries
# --------------------------------------------------------------------------------------------
def se_mean(x: Any) -> float:
    """Standard error of the mean of i.i.d. values: ``sd / sqrt(N)`` (``sd`` with ddof = 1);
    NaN for fewer than 2 values.

    Parameters
    ----------
    x : array_like
        The simulated values (flattened).

    Returns
    -------
    float

    Examples
    --------
    >>> from modelcollapse._cliutil import se_mean
    >>> round(se_mean([1.0, 2.0, 3.0, 4.0]), 4), se_mean([1.0])
    (0.6455, nan)
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size < 2:
        return math.nan
    return float(a.std(ddof=1) / math.sqrt(a.size))


def se_variance(x: Any) -> float:
    """Standard error of the sample variance: ``sqrt((m4 - s^4) / N)`` (``m4`` the fourth
    central moment), as in :func:`modelcollapse.verify.checks.variance_check`; NaN for fewer
    than 2 values.

    Parameters
    ----------
    x : array_like
        The simulated values (flattened).

    Returns
    -------
    float

    Examples
    --------
    >>> from modelcollapse._cliutil import se_variance
    >>> round(se_variance([0.0, 0.0, 0.0, 4.0]), 4)
    1.118
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size < 2:
        return math.nan
    d = a - a.mean()
    s2 = float(d @ d / (a.size - 1))
    m4 = float(np.mean(d**4))
    return math.sqrt(max(m4 - s2 * s2, 0.0) / a.size)


def se_probability(p: float, n: int) -> float:
    """Standard error of a fraction of ``n`` i.i.d. indicators at probability ``p``:
    ``sqrt(p (1 - p) / n)`` (``p`` the theory value, as the verification report does, so a
    rare event that no chain shows still gets its se).

    Parameters
    ----------
    p : float
        The probability (the theory value).
    n : int
        Number of indicators (chains).

    Returns
    -------
    float

    Examples
    --------
    >>> from modelcollapse._cliutil import se_probability
    >>> se_probability(0.5, 100)
    0.05
    """
    p = min(max(float(p), 0.0), 1.0)
    return math.sqrt(p * (1.0 - p) / max(int(n), 1))


def se_median(x: Any) -> float:
    """Standard error of the sample median, distribution-free: ``1 / (2 f sqrt(N))`` with the
    density ``f`` at the median estimated from order statistics, ``f = (j - i) / (N (x_(j) -
    x_(i)))`` over the ranks ``i, j = N/2 -+ N^0.8 / 2`` (a window that shrinks relative to
    ``N`` but holds many values).

    Parameters
    ----------
    x : array_like
        The simulated values (flattened).

    Returns
    -------
    float
        NaN for fewer than 2 values; 0 when the window holds a single value.

    Examples
    --------
    >>> import numpy as np
    >>> from modelcollapse._cliutil import se_median
    >>> x = np.random.default_rng(0).normal(size=100_000)
    >>> se = se_median(x)                   # asymptotically sqrt(pi / (2 N)) for N(0, 1)
    >>> bool(abs(se * np.sqrt(x.size) - np.sqrt(np.pi / 2)) < 0.05)
    True
    """
    a = np.sort(np.asarray(x, dtype=np.float64).ravel())
    n = a.size
    if n < 2:
        return math.nan
    mid, k = (n - 1) / 2, max(1.0, 0.5 * n**0.8)
    lo = int(max(math.floor(mid - k), 0))
    hi = int(min(math.ceil(mid + k), n - 1))
    width = float(a[hi] - a[lo])
    return width * n / (2.0 * (hi - lo) * math.sqrt(n))
