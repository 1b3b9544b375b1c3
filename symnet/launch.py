"""``symnet launch -n N -- <command>``: N local training processes under jax.distributed.

For trying multi-process training on one machine. Each process gets ``JAX_COORDINATOR_ADDRESS``
(127.0.0.1 and a free port), ``JAX_NUM_PROCESSES=N`` and ``JAX_PROCESS_ID=i``; its output lines
are forwarded prefixed with ``[i]``. When a process fails, the others are stopped and the
launcher exits non-zero naming the process. On several machines, start the same command on
each with those three variables set by hand (see the README); no launcher is needed.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import List, Optional, Sequence

__all__ = ["launch", "main", "add_parser"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _forward(stream, prefix: str, out) -> None:
    for line in iter(stream.readline, b""):
        out.write(prefix + line.decode("utf-8", "replace"))
        out.flush()
    stream.close()


def _stop(procs: List[subprocess.Popen], grace: float) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + grace
    for p in procs:
        if p.poll() is None:
            try:
                p.wait(timeout=max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def launch(command: Sequence[str], num_processes: int, port: Optional[int] = None,
           env: Optional[dict] = None, grace: float = 5.0, out=None) -> int:
    """Run ``command`` as ``num_processes`` ranks on 127.0.0.1; return the exit code.

    0 when every process exits 0; otherwise the first failing process's code (or 1), after
    stopping the others (SIGTERM, then SIGKILL after ``grace`` seconds).
    """
    if num_processes < 1:
        raise ValueError(f"symnet launch: -n must be at least 1, got {num_processes}")
    if not command:
        raise ValueError("symnet launch: no command given (symnet launch -n 2 -- python x.py)")
    out = out or sys.stdout
    port = port or _free_port()
    base = dict(os.environ if env is None else env)
    for stale in ("DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_WORKER", "DMLC_WORKER_ID"):
        base.pop(stale, None)
    base.update(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
                JAX_NUM_PROCESSES=str(num_processes), PYTHONUNBUFFERED="1")
    procs: List[subprocess.Popen] = []
    threads = []
    for rank in range(num_processes):
        penv = dict(base, JAX_PROCESS_ID=str(rank))
        p = subprocess.Popen(list(command), env=penv, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        procs.append(p)
        t = threading.Thread(target=_forward, args=(p.stdout, f"[{rank}] ", out), daemon=True)
        t.start()
        threads.append(t)
    failed = None
    try:
        while True:
            codes = [p.poll() for p in procs]
            bad = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if bad:
                failed = bad[0]
                break
            if all(c == 0 for c in codes):
                break
            time.sleep(0.1)
    except KeyboardInterrupt:
        _stop(procs, grace)
        for t in threads:
            t.join(timeout=1)
        print("symnet launch: interrupted; stopped all processes", file=sys.stderr, flush=True)
        return 130
    if failed is not None:
        _stop(procs, grace)
    for t in threads:
        t.join(timeout=2)
    if failed is None:
        return 0
    rank, code = failed
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    print(f"symnet launch: process {rank} of {num_processes} {how}; stopped the other "
          f"processes. See the [{rank}] lines above for its error.", file=sys.stderr, flush=True)
    return code if code > 0 else 1


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``launch`` on the ``symnet`` command's subparsers."""
    p = sub.add_parser("launch", help="run a command as N local jax.distributed processes",
                       description=__doc__.splitlines()[0])
    p.add_argument("-n", "--num-processes", type=int, required=True)
    p.add_argument("--port", type=int, default=None, help="coordinator port (default: free)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command and its arguments")
    p.set_defaults(func=run_args)
    return p


def run_args(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    return launch(cmd, args.num_processes, port=args.port)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m symnet.launch -n N -- cmd ...``."""
    parser = argparse.ArgumentParser(prog="symnet launch")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["launch"] + list(sys.argv[1:] if argv is None else argv))
    try:
        return run_args(args)
    except ValueError as err:
        print(f"symnet launch: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
