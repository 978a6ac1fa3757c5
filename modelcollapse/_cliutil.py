"""Small helpers shared by the command line and the family front ends."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from modelcollapse.spec import params as P

__all__ = ["summary_record", "timed", "request_cpu_devices", "as_key", "add_run_arguments",
           "add_distributed_arguments", "start_distributed"]

_SEED = P.Param("seed", "seed of jax.random.key", integer=True, low=0, high=2**63 - 1)
_DEVICES = P.Param("devices", "local devices to shard the chains over", integer=True, low=1)
_PROCESSES = P.Param("num_processes", "number of processes under jax.distributed", integer=True,
                     low=1)
_PROCESS_ID = P.Param("process_id", "this process's index under jax.distributed", integer=True,
                      low=0)


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


def add_run_arguments(parser: argparse.ArgumentParser, *, chains: int) -> None:
    """The arguments every ``simulate <family>`` shares (generations, chains, seed, output,
    progress, devices, and the ``jax.distributed`` flags)."""
    parser.add_argument("--generations", type=P.generations.arg, required=True,
                        help=f"number of refits: {P.generations.domain}")
    parser.add_argument("--chains", type=P.chains.arg, default=chains,
                        help=f"independent chains: {P.chains.domain} (default {chains})")
    parser.add_argument("--seed", type=_SEED.arg, default=0, help="seed of jax.random.key")
    parser.add_argument("--out", default=None, help="save the run (.npz)")
    parser.add_argument("--progress", action="store_true", help="progress bar on stderr")
    parser.add_argument("--devices", type=_DEVICES.arg, default=1,
                        help="shard the chains over N local devices (CPU: N cores; default 1)")
    add_distributed_arguments(parser)


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--coordinator HOST:PORT --num-processes N --process-id I``: run under
    ``jax.distributed`` (the same command on every host; chains are split over the processes)."""
    parser.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                        help="jax.distributed coordinator address (process 0's host)")
    parser.add_argument("--num-processes", type=_PROCESSES.arg, default=None,
                        help="number of processes under jax.distributed")
    parser.add_argument("--process-id", type=_PROCESS_ID.arg, default=None,
                        help="this process's index in [0, num-processes)")


def start_distributed(args: argparse.Namespace) -> None:
    """Initialise ``jax.distributed`` from the flags of :func:`add_distributed_arguments` (CPU:
    gloo collectives), and ask for ``--devices`` CPU devices, before JAX's backends start."""
    request_cpu_devices(getattr(args, "devices", 1) or 1)
    flags = (args.coordinator, args.num_processes, args.process_id)
    if all(f is None for f in flags):
        return
    if any(f is None for f in flags):
        raise ValueError("give --coordinator, --num-processes and --process-id together (got "
                         f"{flags})")
    if args.process_id >= args.num_processes:
        raise ValueError(f"process-id must be an integer in [0, {args.num_processes - 1}] "
                         f"(got {args.process_id})")
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
