"""Beyond one machine: the driver under ``jax.distributed`` (2 local CPU processes, gloo).

Chains are split over the processes by their global index and the recorded results gathered;
every process must receive exactly what one process computes alone (bit for bit), for both
families, including a process that gets no chain at all. The command line is checked the same
way (``--coordinator``/``--num-processes``/``--process-id``; process 0 saves the run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from modelcollapse.sims import discrete, gaussian

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import jax
    pid, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"localhost:{port}", 2, pid)
    assert jax.process_count() == 2
    from modelcollapse.sims import discrete, gaussian
    g = gaussian.simulate(jax.random.key(5), M=7, generations=6, chains=300, record=[2, 6],
                          method="samples")
    d = discrete.simulate(jax.random.key(6), p0=[0.4, 0.3, 0.2, 0.1], M=30, generations=15,
                          chains=301, record_counts=True)
    one = discrete.simulate(jax.random.key(7), p0=[0.5, 0.5], M=10, generations=4, chains=1)
    np.savez(out, mean=g.mean, lv=g.log_variance, counts=d.counts,
             ext=d.extinction_generation, absg=d.absorption_generation,
             one_het=one.heterozygosity, one_absg=one.absorption_generation)
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def _run_pair(argv_of, timeout: int = 600) -> None:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen(argv_of(i), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=timeout) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]


def test_two_processes_match_one(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    port = _free_port()
    _run_pair(lambda i: [sys.executable, str(script), str(i), str(port),
                         str(tmp_path / f"p{i}.npz")])
    g = gaussian.simulate(jax.random.key(5), M=7, generations=6, chains=300, record=[2, 6],
                          method="samples")
    d = discrete.simulate(jax.random.key(6), p0=[0.4, 0.3, 0.2, 0.1], M=30, generations=15,
                          chains=301, record_counts=True)
    one = discrete.simulate(jax.random.key(7), p0=[0.5, 0.5], M=10, generations=4, chains=1)
    for i in range(2):
        with np.load(tmp_path / f"p{i}.npz") as z:
            assert np.array_equal(z["mean"], g.mean) and np.array_equal(z["lv"], g.log_variance)
            assert np.array_equal(z["counts"], d.counts)
            assert np.array_equal(z["ext"], d.extinction_generation)
            assert np.array_equal(z["absg"], d.absorption_generation)
            assert np.array_equal(z["one_het"], one.heterozygosity)
            assert np.array_equal(z["one_absg"], one.absorption_generation)


def test_command_line_on_two_processes(tmp_path):
    port = _free_port()
    out = tmp_path / "run.npz"
    _run_pair(lambda i: [sys.executable, "-m", "modelcollapse", "simulate", "gaussian", "--M",
                         "12", "--generations", "5", "--chains", "257", "--seed", "3",
                         "--coordinator", f"localhost:{port}", "--num-processes", "2",
                         "--process-id", str(i), "--out", str(out)])
    ref = gaussian.simulate(jax.random.key(3), M=12, generations=5, chains=257,
                            record=[0, 1, 2, 3, 4, 5])
    back = gaussian.load(out)
    assert np.array_equal(back.log_variance, ref.log_variance)
    assert np.array_equal(back.mean, ref.mean)


@pytest.mark.parametrize("flags, match", [
    (["--coordinator", "localhost:1"], "together"),
    (["--coordinator", "localhost:1", "--num-processes", "2", "--process-id", "2"],
     "process-id"),
])
def test_command_line_rejects_incomplete_distributed_flags(flags, match, capsys):
    from modelcollapse.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["simulate", "gaussian", "--M", "5", "--generations", "2", *flags])
    assert exc.value.code == 2 and match in capsys.readouterr().err
