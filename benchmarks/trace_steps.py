"""Where a training step's time goes: symnet against the hand-written loop, kernel by kernel.

    python3 benchmarks/trace_steps.py --device gpu --batch 1000 --model lenet
    .venv/bin/python benchmarks/trace_steps.py --model mlp --systems symnet,jax-shuffle

Runs each system's helper (as ``bench.py`` does, same data, epochs and environment) with
``--trace``: a ``jax.profiler`` trace of its third epoch (``common.TRACE_EPOCH``), and with
``JAX_LOG_COMPILES=1``, whose log lines say what each process compiled and how long it took.
Prints, per system, those compile lines, the wall time per step of the traced epoch and the
device time per step of the busiest ops (the "XLA Ops" line of a GPU's trace; on a CPU, the
thunks on XLA's threads). The traces stay under ``--out`` for TensorBoard or Perfetto.
"""
from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
import common  # noqa: E402


def _covering(events, t: int, limit: int = 4) -> str:
    """The innermost host (Python) events running at time ``t``."""
    hits = sorted((e for e in events if e.start_ns <= t <= e.end_ns),
                  key=lambda e: e.duration_ns)
    return " < ".join(e.name[:60] for e in hits[:limit]) or "-"


def summarize(path: str, steps: int, top: int) -> str:
    """Per-step device time of the busiest kernels in one ``*.xplane.pb`` trace, and where the
    device idles (the gaps between kernels, with what the host's Python was doing then)."""
    import jax
    data = jax.profiler.ProfileData.from_file(path)
    gpu = [p for p in data.planes if p.name.startswith("/device:GPU")]
    host = [p for p in data.planes if p.name.startswith("/host:CPU")]
    python = [e for p in host for line in p.lines if line.name in ("python", "python3")
              for e in line.events]
    totals, counts = collections.Counter(), collections.Counter()
    lines = collections.Counter()
    kernels = []
    for plane in gpu or host:
        for line in plane.lines:
            if gpu and not line.name.startswith("Stream"):
                continue
            if not gpu and not line.name.startswith("tf_XLA"):
                continue
            for ev in line.events:
                lines[line.name] += ev.duration_ns
                if ev.name.startswith("ThunkExecutor"):
                    continue
                totals[ev.name] += ev.duration_ns
                counts[ev.name] += 1
                kernels.append((ev.start_ns, ev.end_ns, ev.name))
    out = ["  busy per line (us/step): " + ", ".join(
        f"{name} {ns / 1e3 / steps:.1f}" for name, ns in lines.most_common(6))]
    out.append(f"  kernels, us/step (of {sum(totals.values()) / 1e3 / steps:.1f}):")
    for name, ns in totals.most_common(top):
        out.append(f"    {ns / 1e3 / steps:9.2f}  x{counts[name] / steps:5.2f}  {name[:120]}")
    if not kernels:
        return "\n".join(out)
    kernels.sort()
    gaps, end, prev = [], kernels[0][1], kernels[0][2]
    for start, stop, name in kernels[1:]:
        if start > end:
            gaps.append((start - end, end, prev, name))
        if stop > end:
            end, prev = stop, name
    span = end - kernels[0][0]
    idle = sum(g[0] for g in gaps)
    out.append(f"  device span {span / 1e3 / steps:.1f} us/step, idle {idle / 1e3 / steps:.1f} "
               f"us/step in {len(gaps)} gaps; by size (count, us/step):")
    for lo, hi in ((0, 5e3), (5e3, 20e3), (20e3, 100e3), (100e3, 1e6), (1e6, 1e12)):
        sel = [g[0] for g in gaps if lo <= g[0] < hi]
        out.append(f"    {lo / 1e3:>6.0f}-{hi / 1e3:<7.0f} us: {len(sel):5d}  "
                   f"{sum(sel) / 1e3 / steps:8.1f}")
    for size, at, before, after in sorted(gaps, reverse=True)[:top // 2]:
        out.append(f"    gap {size / 1e3:8.1f} us at +{(at - kernels[0][0]) / 1e6:7.2f} ms "
                   f"after {before[:40]} before {after[:40]}; host: "
                   f"{_covering(python, at + size // 2)}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--model", choices=["mlp", "lenet", "resnet20"], default="lenet")
    ap.add_argument("--systems", default="symnet,jax")
    ap.add_argument("--n", type=int, default=0, help="samples per epoch (default: bench.py's)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--keep", default="", metavar="DIR",
                    help="also copy each trace's .xplane.pb here")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "symnet-traces"))
    args = ap.parse_args()
    common.BATCH, common.DEVICE = args.batch, args.device
    gpu = args.device == "gpu"
    default_n = ({"mlp": 100000, "lenet": 50000, "resnet20": 10000} if gpu else
                 {"mlp": 10000, "lenet": 5000, "resnet20": 500})
    n = args.n or default_n[args.model]
    steps = n // args.batch
    os.makedirs(args.out, exist_ok=True)
    data = os.path.join(args.out, "data.npz")
    if not os.path.exists(data):
        bench.make_data(data)
    for system in args.systems.split(","):
        trace = os.path.join(args.out, f"{args.model}_b{args.batch}_{system}")
        cmd = [bench.PYTHON[system], os.path.join(HERE, bench.SCRIPT[system]), "--model",
               args.model, "--data", data, "--n", str(n), "--epochs", "5", "--trace", trace,
               "--variant", bench.VARIANT.get(system, "")]
        path = os.pathsep.join(p for p in (bench.ROOT, os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONPATH=path, JAX_LOG_COMPILES="1",
                   BENCH_BATCH=str(args.batch), BENCH_DEVICE=args.device,
                   **bench.ENV.get(system, {}))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=bench.ROOT)
        print(f"## {args.model} batch {args.batch}: {system}")
        rec = next((json.loads(line[len("BENCH_JSON "):]) for line in proc.stdout.splitlines()
                    if line.startswith("BENCH_JSON ")), None)
        if rec is None:
            print(f"  failed (rc={proc.returncode}): {proc.stderr[-1500:]}")
            continue
        epoch = rec["epoch_times"][common.TRACE_EPOCH]
        print(f"  first step {rec['first_step_s']:.2f} s; epoch times "
              f"{', '.join(f'{t:.3f}' for t in rec['epoch_times'])} s; traced epoch "
              f"{epoch / steps * 1e6:.1f} us/step (under the profiler)")
        for line in proc.stderr.splitlines():
            if "Finished XLA compilation" in line or "Finished tracing" in line:
                print("  " + line.split("] ", 1)[-1][:150])
        files = glob.glob(os.path.join(trace, "**", "*.xplane.pb"), recursive=True)
        if files:
            print(summarize(sorted(files)[-1], steps, args.top))
            if args.keep:
                shutil.copy(sorted(files)[-1], os.path.join(
                    args.keep, f"{args.model}_b{args.batch}_{system}.xplane.pb"))


if __name__ == "__main__":
    main()
