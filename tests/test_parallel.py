"""Data-parallel and multi-process training (symnet.parallel, symnet.launch).

Each JAX run happens in a subprocess (tests/parallel_worker.py) that sets its own XLA_FLAGS
before importing JAX: 4 forced CPU devices for the mesh tests, and 2 processes joined by
jax.distributed on 127.0.0.1 for the multi-process tests. The reference is always symnet's
own single-device run on the same batches.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from symnet import parallel
from symnet.base import SymnetError
from symnet.launch import launch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "parallel_worker.py")
PARAMS = ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias")
CLUSTER_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID",
                "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_WORKER", "DMLC_WORKER_ID",
                "DMLC_ROLE", "XLA_FLAGS")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLUSTER_VARS}
    env.update(PYTHONPATH=ROOT, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1", **extra)
    return env


def _run(*args, timeout=240) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, WORKER, *args], env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _launch(out: str, *args, n: int = 2) -> None:
    log = []

    class Sink:
        def write(self, s):
            log.append(s)

        def flush(self):
            pass

    rc = launch([sys.executable, WORKER, "dist", out, *args], n, env=_env(), out=Sink())
    assert rc == 0, "".join(log)[-4000:]


def _close(a: np.lib.npyio.NpzFile, b: np.lib.npyio.NpzFile, pa: str = "", pb: str = "",
           tol: float = 1e-5) -> None:
    for name in PARAMS:
        np.testing.assert_allclose(a[pa + name], b[pb + name], rtol=tol, atol=tol,
                                   err_msg=f"{pa}{name} vs {pb}{name}")


# ---- many local devices -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def dp(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("dp"))
    _run("dp", out)
    with open(os.path.join(out, "dp-errors.txt")) as f:
        errors = f.read().split("\n")
    return np.load(os.path.join(out, "dp.npz")), errors


def test_data_parallel_feedforward_equals_single_device(dp):
    res, _ = dp
    assert int(res["ff4/num_devices"]) == 4
    assert int(res["ff4/resident"]) == 1  # batches gathered on the devices, split by the mesh
    assert int(res["ff4/split_batch"]) == 1
    _close(res, res, "ff4/", "ff1/")
    assert float(res["ff4/acc"]) == pytest.approx(float(res["ff1/acc"]), abs=1e-9)
    assert float(res["ff4/eval_acc"]) == pytest.approx(float(res["ff1/eval_acc"]), abs=1e-9)
    assert res["ff4/predict"].shape == (90, 10)
    np.testing.assert_allclose(res["ff4/predict"], res["ff1/predict"], rtol=1e-5, atol=1e-6)
    # the run really trained: the biases (initialised to zero) moved
    assert np.abs(res["ff1/fc2_bias"]).max() > 1e-3


def test_data_parallel_module_equals_single_device(dp):
    res, _ = dp
    assert int(res["mod4/resident"]) == 1
    _close(res, res, "mod4/", "mod1/")


def test_sharded_state_equals_single_device(dp):
    res, _ = dp
    assert int(res["shard4/fc1_sharded"]) == 1
    assert int(res["shard4/opt_sharded"]) == 1
    _close(res, res, "shard4/", "ff1/")


def test_uneven_splits_and_dist_async_are_refused(dp):
    _, errors = dp
    uneven, odd_batch, dist_async = errors
    assert "work_load_list" in uneven and "evenly" in uneven
    assert "10 rows" in odd_batch and "multiple of 4" in odd_batch
    assert "dist_sync" in dist_async and "dist_async" in dist_async


# ---- many processes -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("dist"))
    _launch(out)
    _run("single", out)
    return out


def test_two_processes_match_each_other_and_single_process(dist):
    r0, r1, single = (np.load(os.path.join(dist, f"params-{t}.npz"))
                      for t in ("0", "1", "single"))
    _close(r0, r1, tol=0.0)
    _close(r0, single)
    # metrics are combined over both processes' rows: equal to the global-batch metric
    assert float(r0["acc"]) == pytest.approx(float(single["acc"]), abs=1e-9)
    assert float(r1["acc"]) == pytest.approx(float(single["acc"]), abs=1e-9)
    assert not np.allclose(single["fc2_bias"], 0.0)
    # only the first process writes checkpoints (one set of files, all epochs)
    names = sorted(f for f in os.listdir(dist) if f.startswith("ckpt"))
    assert names == ["ckpt-0001.params", "ckpt-0002.params", "ckpt-0003.params",
                     "ckpt-symbol.json"]


def test_killed_process_stops_the_other_and_resume_reproduces(dist, tmp_path):
    out = str(tmp_path)
    port = parallel_port()
    env = _env(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES="2")
    cmd = [sys.executable, WORKER, "dist", out, "--die-at", "2,1"]
    tic = time.time()
    procs = [subprocess.Popen(cmd, env=dict(env, JAX_PROCESS_ID=str(r)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    try:
        outs = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    elapsed = time.time() - tic
    assert procs[1].returncode == -9  # killed mid-epoch (epoch 2, batch 1)
    assert procs[0].returncode == 3, outs[0][1][-3000:]
    assert "another training process stopped" in outs[0][1]
    assert elapsed < 150
    # checkpoints of the finished epochs are intact; the interrupted epoch wrote none
    assert sorted(f for f in os.listdir(out) if f.startswith("ckpt")) == [
        "ckpt-0001.params", "ckpt-0002.params", "ckpt-symbol.json"]
    _launch(out, "--resume", "2")
    resumed = np.load(os.path.join(out, "params-0-resumed.npz"))
    uninterrupted = np.load(os.path.join(dist, "params-0.npz"))
    _close(resumed, uninterrupted)
    _close(resumed, np.load(os.path.join(out, "params-1-resumed.npz")), tol=0.0)


def parallel_port() -> int:
    from symnet.launch import _free_port
    return _free_port()


# ---- launcher and environment (no JAX cluster) -------------------------------------------------
def test_launch_stops_the_others_when_one_fails(capsys):
    code = ("import os, sys, time\n"
            "rank = int(os.environ['JAX_PROCESS_ID'])\n"
            "assert os.environ['JAX_NUM_PROCESSES'] == '3'\n"
            "assert os.environ['JAX_COORDINATOR_ADDRESS'].startswith('127.0.0.1:')\n"
            "print('hello from', rank, flush=True)\n"
            "if rank == 1: sys.exit(5)\n"
            "time.sleep(60)\n")
    tic = time.time()
    rc = launch([sys.executable, "-c", code], 3, env=_env(), grace=2.0)
    assert rc == 5
    assert time.time() - tic < 30
    captured = capsys.readouterr()
    assert "[1] hello from 1" in captured.out
    assert "process 1 of 3 exited with code 5" in captured.err


def test_launch_cli_parses_command():
    from symnet.cli import main
    rc = main(["launch", "-n", "2", "--", sys.executable, "-c",
               "import os; assert os.environ['JAX_NUM_PROCESSES'] == '2'"])
    assert rc == 0


def test_cluster_env_jax_names_and_dmlc_mapping(monkeypatch):
    for name in CLUSTER_VARS:
        monkeypatch.delenv(name, raising=False)
    assert parallel._cluster_from_env() is None
    monkeypatch.setenv("DMLC_PS_ROOT_URI", "10.0.0.5")
    monkeypatch.setenv("DMLC_PS_ROOT_PORT", "9091")
    monkeypatch.setenv("DMLC_NUM_WORKER", "4")
    monkeypatch.setenv("DMLC_WORKER_ID", "3")
    assert parallel._cluster_from_env() == ("10.0.0.5:9091", 4, 3)
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "host:1234")  # JAX's names win
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    assert parallel._cluster_from_env() == ("host:1234", 4, 1)
    monkeypatch.setenv("JAX_PROCESS_ID", "4")
    with pytest.raises(SymnetError, match="outside 0..3"):
        parallel._cluster_from_env()
    monkeypatch.delenv("JAX_PROCESS_ID")
    monkeypatch.delenv("DMLC_WORKER_ID")
    with pytest.raises(SymnetError, match="process id"):
        parallel._cluster_from_env()
    monkeypatch.setenv("DMLC_ROLE", "server")
    with pytest.raises(SymnetError, match="no parameter servers"):
        parallel._cluster_from_env()


def test_dist_async_refused_and_points_to_dist_sync():
    with pytest.raises(SymnetError, match="dist_sync"):
        parallel.init_distributed("dist_async")


def test_part_matches_mxnet_iterator_split():
    x = np.arange(10)
    parts = [parallel.part([x], 3, i)[0] for i in range(3)]
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    with pytest.raises(SymnetError, match="part_index"):
        parallel.part([x], 2, 2)
