"""symnet training/predict benchmark vs hand-written JAX, PyTorch, MXNet 1.9.1 and Keras 3.

Single entry point (run with the symnet venv):

    .venv/bin/python benchmarks/bench.py --quick     # 1 repetition, small epochs
    .venv/bin/python benchmarks/bench.py             # 3 repetitions (--reps N)
    python3 benchmarks/bench.py --device gpu --batch 1000   # a CUDA machine (see README)

Every measurement is a fresh subprocess of one helper (run_<system>.py) in that system's venv;
systems are alternated round-robin within each repetition (A B C D E, A B C D E, ...). Results
(median and min-max over repetitions) go to benchmarks/RESULTS.md and raw JSON lines to
benchmarks/results.jsonl.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)  # symnet and graphs from this checkout, installed or not

import common  # noqa: E402

PYTHON = {
    "symnet": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-spe1": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-noopt": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-nomicro": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-spe10": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-cond": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-nocb": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-prev": os.environ.get("SYMNET_PY", sys.executable),
    "symnet-ynn": os.environ.get("SYMNET_PY", sys.executable),
    "jax": os.environ.get("SYMNET_PY", sys.executable),
    "jax-xlaconv": os.environ.get("SYMNET_PY", sys.executable),
    "jax-tuned-xlaconv": os.environ.get("SYMNET_PY", sys.executable),
    "jax-tuned": os.environ.get("SYMNET_PY", sys.executable),
    "jax-shuffle": os.environ.get("SYMNET_PY", sys.executable),
    "torch": os.environ.get("TORCH_PY", "/work/torchvenv/bin/python"),
    "torch-1t": os.environ.get("TORCH_PY", "/work/torchvenv/bin/python"),
    "mxnet": os.environ.get("MXNET_PY", "/work/mxvenv/bin/python"),
    "keras": os.environ.get("KERAS_PY", "/work/kerasvenv/bin/python"),
}
SCRIPT = {"symnet": "run_symnet.py", "symnet-spe1": "run_symnet.py",
          "symnet-noopt": "run_symnet.py", "symnet-nomicro": "run_symnet.py",
          "symnet-spe10": "run_symnet.py", "symnet-cond": "run_symnet.py",
          "symnet-nocb": "run_symnet.py", "symnet-prev": "run_symnet.py",
          "symnet-ynn": "run_symnet.py",
          "jax": "run_jax.py", "jax-tuned": "run_jax.py", "jax-xlaconv": "run_jax.py",
          "jax-tuned-xlaconv": "run_jax.py",
          "jax-shuffle": "run_jax.py",
          "torch": "run_torch.py", "torch-1t": "run_torch.py",
          "mxnet": "run_mxnet.py", "keras": "run_keras.py"}
VARIANT = {"jax-tuned": "tuned", "jax-shuffle": "shuffle", "symnet-spe1": "spe1",
           "symnet-nomicro": "nomicro", "symnet-spe10": "spe10",
           "symnet-cond": "cond", "symnet-nocb": "nocb", "symnet-prev": "prev",
           "jax-xlaconv": "xlaconv", "jax-tuned-xlaconv": "tuned+xlaconv"}
# The persistent compilation cache is off for every JAX-based process, so "first step" always
# includes a full compile (the cache's effect is measured separately, see RESULTS.md).
_NOCACHE = {"SYMNET_COMPILATION_CACHE": "0"}
ENV = {"symnet": _NOCACHE, "symnet-spe1": _NOCACHE, "symnet-nomicro": _NOCACHE,
       "symnet-spe10": _NOCACHE, "symnet-cond": _NOCACHE, "symnet-nocb": _NOCACHE,
       "symnet-prev": _NOCACHE, "symnet-ynn": dict(_NOCACHE, SYMNET_CPU_CONV="ynn"),
       "symnet-noopt": dict(_NOCACHE, SYMNET_OPTIMIZE="none"),
       "jax": _NOCACHE, "jax-tuned": _NOCACHE, "jax-shuffle": _NOCACHE,
       "jax-xlaconv": _NOCACHE, "jax-tuned-xlaconv": _NOCACHE,
       "torch-1t": {"BENCH_TORCH_THREADS": "1"}, "mxnet": {"MXNET_SUBGRAPH_BACKEND": "NONE"},
       "keras": {"KERAS_BACKEND": "jax"}}
ALL = ["symnet", "symnet-spe1", "symnet-nomicro", "symnet-noopt", "symnet-cond", "symnet-ynn",
       "jax", "jax-shuffle", "jax-tuned", "jax-tuned-xlaconv", "jax-xlaconv", "torch",
       "torch-1t", "mxnet", "keras"]
#: Systems run per model (symnet-spe1, one plain step per dispatch as MXNet's numbers need,
#: and symnet-nomicro, the scanned im2col step without micro-batches, only differ from the
#: default on LeNet, whose default is the scanned im2col step in 2 micro-batches; jax-tuned
#: differs from jax on LeNet only; jax-shuffle, the loop reshuffling every epoch as symnet's,
#: MXNet's and Keras's iterators do, matters on the MLP only, where a step is 0.25 ms;
#: symnet-cond, steps past an epoch's end skipped by ``lax.cond`` instead of the select the
#: CPU now uses for graphs without convolutions, also only there). For the convolution graphs:
#: symnet-ynn compiles with XLA's default YNNPACK convolutions (``SYMNET_CPU_CONV=ynn``), and
#: jax-xlaconv / jax-tuned-xlaconv are the loops compiled with symnet's XLA options
#: (``symnet.xla_options``), so that choice shows apart from the rest of the framework.
MODEL_SYSTEMS = {
    "mlp": ["symnet", "symnet-cond", "jax", "jax-shuffle", "torch", "torch-1t", "mxnet",
            "keras"],
    "lenet": [s for s in ALL if s not in ("jax-shuffle", "symnet-cond", "jax-xlaconv")],
    "resnet20": ["symnet", "symnet-ynn", "jax", "jax-xlaconv", "torch", "mxnet"],
}
#: On a GPU (``--device gpu``): no CPU-only variants (torch threads, the CPU compiler passes,
#: micro-batches) and no MXNet (its CUDA builds predate this CUDA; see RESULTS.md). Opt-in
#: (``--systems``) controls of symnet's GPU choices: symnet-spe1 (one step per dispatch),
#: symnet-cond (``lax.cond`` instead of a select past an epoch's end), symnet-nocb (no batch
#: callback, so no per-step metric snapshots), symnet-prev (the epoch-boundary changes off);
#: symnet-spe10 is the default there since.
GPU_SYSTEMS = ["symnet", "jax", "jax-shuffle", "torch", "keras"]
GPU_MODEL_SYSTEMS = {
    "mlp": ["symnet", "symnet-cond", "jax", "jax-shuffle", "torch", "keras"],
    "lenet": ["symnet", "symnet-prev", "symnet-spe10", "symnet-cond", "symnet-nocb",
              "symnet-spe1", "jax", "torch", "keras"],
    "resnet20": ["symnet", "symnet-spe10", "symnet-nocb", "symnet-spe1", "jax", "torch"],
}
#: Targets of the "Speed" issue: (model, peer) -> minimum symnet / peer train ratio.
TARGETS = {("mlp", "jax"): 1.15, ("lenet", "jax"): 1.0, ("resnet20", "jax"): 1.0,
           ("lenet", "torch"): 1.5, ("mlp", "mxnet"): 5.0}
#: On a GPU: >= 0.95x the hand-written loop and ahead of PyTorch eager, on every network.
GPU_TARGETS = {(m, p): t for m in ("mlp", "lenet", "resnet20")
               for p, t in (("jax", 0.95), ("torch", 1.0))}


def make_data(path: str) -> None:
    """Embedded MNIST (10k) scaled to [0, 1], shuffled once, plus shared initial params."""
    import numpy as np
    from symnet.datasets.mnist import load_mnist
    m = load_mnist()
    x = m["train_images"].astype(np.float32)[:, None] / 255.0
    y = m["train_labels"].astype(np.float32)
    perm = np.random.RandomState(1).permutation(len(x))
    arrays = {"x": x[perm], "y": y[perm]}
    for model in ("mlp", "lenet"):
        for k, v in common.make_params(model).items():
            arrays[f"{model}/{k}"] = v
    sys.path.insert(0, ROOT)
    import graphs
    # MXNet loads symnet's JSON of the zoo net (torch rebuilds it by hand).
    arrays["resnet20/json"] = np.array(graphs.build("resnet-20-cifar").tojson())
    np.savez(path, **arrays)


def run_one(system: str, model: str, data: str, n: int, epochs: int, npred: int,
            timeout: float) -> Dict:
    cmd = [PYTHON[system], os.path.join(HERE, SCRIPT[system]), "--model", model, "--data", data,
           "--n", str(n), "--epochs", str(epochs), "--npred", str(npred),
           "--variant", VARIANT.get(system, "")]
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path, **ENV.get(system, {}))
    env.pop("JAX_PLATFORMS", None)  # bench.py's own (CPU) setting, not the helpers'
    env.update(BENCH_BATCH=str(common.BATCH), BENCH_DEVICE=common.DEVICE)
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"system": system, "model": model, "error": f"timeout after {timeout}s"}
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            rec = json.loads(line[len("BENCH_JSON "):])
            rec["system"] = system
            rec["wall_s"] = time.perf_counter() - t
            return rec
    return {"system": system, "model": model,
            "error": f"rc={proc.returncode}: {proc.stderr.strip()[-400:]}"}


def machine() -> Dict[str, str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import jax
    import jaxlib
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    gpu = ""
    if common.DEVICE == "gpu":  # never initialise CUDA here: the helpers need the memory
        try:
            gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                                  "--format=csv,noheader"], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            gpu = "?"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "python": platform.python_version(),
            "load": "%.1f %.1f %.1f" % load, "gpu": gpu}


def stat(values: List[float]) -> str:
    vals = [v for v in values if v is not None and v == v]
    if not vals:
        return "-"
    med = statistics.median(vals)
    fmt = (lambda v: f"{v:,.0f}") if med >= 100 else (lambda v: f"{v:.2f}")
    if len(vals) == 1:
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(vals))}-{fmt(max(vals))})"


def med(values: List[float]):
    vals = [v for v in values if v is not None and v == v]
    return statistics.median(vals) if vals else None


def paired(by: Dict[str, List[Dict]], a: str, b: str) -> str:
    """Median (min-max) over repetitions of a's train samples/s over b's in the same one.

    The host drifts between faster and slower phases lasting minutes; both systems of a
    repetition ran within a minute of each other, so these ratios are steadier than the ratio
    of the two medians."""
    ra = {r["rep"]: r["train_sps"] for r in by.get(a, []) if "rep" in r}
    rb = {r["rep"]: r["train_sps"] for r in by.get(b, []) if "rep" in r}
    return stat([ra[k] / rb[k] for k in ra if k in rb and rb[k]])


def report(records: List[Dict], info: Dict, cfg: Dict, path: str) -> str:
    gpu = f"GPU {info['gpu']}; " if info.get("gpu") else ""
    lines = [f"# symnet benchmark results ({cfg['mode']} mode, {common.DEVICE}, batch "
             f"{common.BATCH})", "",
             f"Date: {info['date']}. Machine: {gpu}{info['nproc']} CPUs, {info['cpu']}; "
             f"Python {info['python']}, jax {info['jax']}, jaxlib {info['jaxlib']}. "
             f"Load average at start / end: {info['load']} / {info['load_end']}.", "",
             f"Config: batch {common.BATCH}, SGD lr {common.LR}, real MNIST (embedded 10k "
             f"subset; ResNet-20 gets it repeated to 3x28x28), {cfg['reps']} repetition(s) "
             f"alternating systems, fresh process each. Train samples/s excludes the first "
             f"{common.WARM_EPOCHS} epoch(s) (compile). Cells: median (min-max) over "
             f"repetitions.", ""]
    for model in cfg["models"]:
        n, ep = cfg["n"][model], cfg["epochs"][model]
        systems = [s for s in cfg["systems"] if s in cfg["model_systems"][model]]
        lines += [f"### {model} ({n} samples/epoch, {ep} epochs, predict {cfg['npred'][model]})",
                  "", "| system | train samples/s | first step s (compile incl.) | "
                  "epoch 1 s | predict samples/s | peak RSS MB | errors |",
                  "|---|---|---|---|---|---|---|"]
        by = {}
        for s in systems:
            rs = [r for r in records if r["system"] == s and r.get("model") == model]
            ok = [r for r in rs if "error" not in r]
            errs = [r["error"] for r in rs if "error" in r]
            by[s] = ok
            lines.append(f"| {s} | {stat([r['train_sps'] for r in ok])} | "
                         f"{stat([r['first_step_s'] for r in ok])} | "
                         f"{stat([r['epoch_times'][0] for r in ok if r['epoch_times']])}"
                         f" | {stat([r.get('predict_sps') for r in ok])} | "
                         f"{stat([r.get('peak_rss_mb') for r in ok])} | "
                         f"{'; '.join(errs)[:200] if errs else ''} |")
        lines += ["", "| ratio (medians) | train | train, paired by repetition | first step "
                  "(lower is better) | predict |", "|---|---|---|---|---|"]
        for sym in [s for s in systems if s.startswith("symnet")]:
            st = med([r["train_sps"] for r in by.get(sym, [])])
            sf = med([r["first_step_s"] for r in by.get(sym, [])])
            sp = med([r.get("predict_sps") for r in by.get(sym, [])])
            for s in systems:
                if s.startswith("symnet"):
                    continue
                o = med([r["train_sps"] for r in by.get(s, [])])
                of = med([r["first_step_s"] for r in by.get(s, [])])
                op = med([r.get("predict_sps") for r in by.get(s, [])])
                tr = f"{st / o:.2f}" if st and o else "-"
                fr = f"{sf / of:.2f}" if sf and of else "-"
                pr = f"{sp / op:.2f}" if sp and op else "-"
                tgt = cfg["targets"].get((model, s)) if sym == "symnet" else None
                if tgt and st and o:
                    tr += f" (target >= {tgt}: {'met' if st / o >= tgt else 'NOT met'})"
                lines.append(f"| {sym} / {s} | {tr} | {paired(by, sym, s)} | {fr} | {pr} |")
        lines.append("")
    text = "\n".join(lines) + "\n"
    with open(path, "w") as fh:
        fh.write(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 repetition, small epochs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                    help="where the helpers train (gpu: CUDA; longer epochs, GPU systems)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--budget", type=float, default=0.0,
                    help="seconds: no repetition starts unless one more, as long as the longest "
                         "so far, ends within them (0: no limit)")
    ap.add_argument("--jsonl", default=os.path.join(HERE, "results.jsonl"),
                    help="where the raw JSON lines are appended")
    ap.add_argument("--systems", default="")
    ap.add_argument("--models", default="mlp,lenet,resnet20")
    ap.add_argument("--out", default=os.path.join(HERE, "bench_table.md"),
                    help="where the generated tables go (RESULTS.md quotes them)")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--report", metavar="JSONL",
                    help="only write the tables from the records of one earlier run (a file of "
                         "its JSON lines, as appended to results.jsonl)")
    args = ap.parse_args()
    # The helpers read these; this process never touches the accelerator.
    common.BATCH, common.DEVICE = args.batch, args.device
    os.environ["JAX_PLATFORMS"] = "cpu"
    gpu = args.device == "gpu"
    reps = 1 if args.quick else args.reps
    systems = [s for s in (args.systems or ",".join(GPU_SYSTEMS if gpu else ALL)).split(",")
               if s]
    skipped = [s for s in systems if not os.path.exists(PYTHON[s])]
    systems = [s for s in systems if s not in skipped]
    for s in skipped:
        print(f"skipping {s}: no interpreter at {PYTHON[s]} (see benchmarks/README.md)")
    models = args.models.split(",")
    cfg = {"mode": "quick" if args.quick else "full", "reps": reps, "systems": systems,
           "model_systems": GPU_MODEL_SYSTEMS if gpu else MODEL_SYSTEMS,
           "targets": GPU_TARGETS if gpu else TARGETS,
           # The MLP's epochs are ~25 ms: the whole embedded set and 5 timed epochs keep its
           # timed window long enough to rank systems (5000 x 3 was ~50 ms, too noisy).
           # LeNet: 5000 x 3 (2 timed epochs of 50 batches); 1000-sample epochs were a single
           # 10-step dispatch each, so per-epoch costs weighed on every system.
           "models": models,
           "epochs": {"mlp": 3 if args.quick else 6, "lenet": 2 if args.quick else 3,
                      "resnet20": 3},
           "n": {"mlp": 3000 if args.quick else 10000, "lenet": 1000 if args.quick else 5000,
                 "resnet20": 200 if args.quick else 500},
           "npred": {"mlp": 5000, "lenet": 1000, "resnet20": 500}}
    if gpu:  # ~100x the CPU's speed: the embedded 10k images repeated to longer epochs
        cfg["n"] = ({"mlp": 10000, "lenet": 10000, "resnet20": 2000} if args.quick else
                    {"mlp": 100000, "lenet": 50000, "resnet20": 10000})
        cfg["epochs"] = {"mlp": 3 if args.quick else 6, "lenet": 2 if args.quick else 4,
                         "resnet20": 2 if args.quick else 4}
        cfg["npred"] = {"mlp": 10000, "lenet": 10000, "resnet20": 5000}
    bad = [f"{m} n={cfg[k][m]}" for m in models for k in ("n", "npred")
           if cfg[k][m] % args.batch]
    if bad:
        raise SystemExit(f"--batch {args.batch} must divide every epoch and predict set: {bad}")
    info = machine()
    info["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    if args.report:
        with open(args.report) as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        start = min(r["time"] for r in records if "time" in r)
        info["date"] = datetime.datetime.fromtimestamp(start).strftime("%Y-%m-%d %H:%M")
        info["load"] = info["load_end"] = "(not recorded)"
        kinds = {r["device_kind"] for r in records if r.get("device_kind") and gpu}
        info["gpu"] = ", ".join(sorted(kinds))
        cfg["reps"] = 1 + max(r.get("rep", 0) for r in records)
        print(report(records, info, cfg, args.out))
        return
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        make_data(data)
        started, longest = time.perf_counter(), 0.0
        with open(args.jsonl, "a") as log:
            for rep in range(reps):
                now = time.perf_counter()
                if args.budget and now + longest - started > args.budget:
                    print(f"budget: stopping after {rep} repetition(s)", flush=True)
                    cfg["reps"] = rep
                    break
                for model in models:
                    mine = [s for s in systems if s in cfg["model_systems"][model]]
                    order = mine if rep % 2 == 0 else mine[::-1]
                    for s in order:
                        rec = run_one(s, model, data, cfg["n"][model], cfg["epochs"][model],
                                      cfg["npred"][model], args.timeout)
                        rec["rep"] = rep
                        records.append(rec)
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                        msg = rec.get("error") or (f"train {rec['train_sps']:,.0f}/s first "
                                                   f"{rec['first_step_s']:.2f}s predict "
                                                   f"{(rec.get('predict_sps') or 0):,.0f}/s")
                        print(f"[rep {rep}] {model:5s} {s:12s} {msg}", flush=True)
                longest = max(longest, time.perf_counter() - now)
    try:
        info["load_end"] = "%.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        info["load_end"] = "?"
    print(report(records, info, cfg, args.out))


if __name__ == "__main__":
    main()
