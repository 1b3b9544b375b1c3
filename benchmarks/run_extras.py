"""Side measurements quoted in RESULTS.md: compilation cache, bfloat16, big-graph compile time.

Runs in the symnet venv; each part prints a markdown table (and one ``EXTRAS_JSON`` line).

    .venv/bin/python benchmarks/run_extras.py cache  [--pairs 2]   # 2 fresh `symnet train lenet`
    .venv/bin/python benchmarks/run_extras.py bf16   [--seeds 2]   # MLP f32 vs bf16 on MNIST
    .venv/bin/python benchmarks/run_extras.py compile               # Inception-v4 / -ResNet-v2
    .venv/bin/python benchmarks/run_extras.py steps  [--reps 2]    # plain vs scanned conv steps
    .venv/bin/python benchmarks/run_extras.py micro  [--reps 4]    # micro-batches in the scan
    .venv/bin/python benchmarks/run_extras.py dots   [--reps 4]    # CPU matmul libraries
    .venv/bin/python benchmarks/run_extras.py blas   [--reps 12]   # XLA's vs OpenBLAS matmuls

- ``cache``: per pair, a fresh empty ``SYMNET_CACHE_DIR``; ``symnet train lenet --epochs 1
  --limit 1000`` runs twice in fresh processes (cold cache, then warm); wall time of each.
- ``bf16``: the tutorial MLP (784-128-64-10 relu), 10 epochs on the embedded 10k MNIST subset,
  batch 100, SGD lr 0.1, the shared Xavier init; test accuracy on the 10k MNIST test set
  (``../shared/data/mnist``); ``compute_dtype=None`` vs ``'bfloat16'`` alternating per seed.
- ``compile``: ``/work/shared/data/zoo/<net>-symbol.json`` at (1, 3, 299, 299): ``mx.sym.load``
  (graph build), ``infer_shape``, symnet's passes (``compile_symbol``), JAX trace+lower and XLA
  compile of the inference forward (abstract inputs: nothing is allocated). The persistent
  compilation cache is off (``SYMNET_COMPILATION_CACHE=0``) so XLA compiles every time.
- ``steps``: the conv nets of ``graphs/`` on MNIST-shaped data (ResNet-20: 3x28x28), batch 100,
  SGD lr 0.1, Xavier init: ``FeedForward.fit`` train samples/s (epochs 2-3) with
  ``steps_per_execution=1`` (plain NHWC step) and ``10`` (scanned im2col step), alternating,
  next to each graph's largest im2col patch per sample and ``auto_steps``' choice.
- ``micro``: the MNIST conv nets of ``graphs/`` (2,000 samples, batch 100, and LeNet also at
  batch 200): the default scanned im2col step, whose batch ``micro_batches`` may split, vs the
  same step on the whole batch (``IM2COL_MICRO_BYTES`` raised), alternating; ``FeedForward.fit``
  train samples/s over epochs 2-3.
- ``dots`` (CPU): the matmuls of the MLP's and LeNet's training steps (batch 100; LeNet's
  im2col dots per micro-batch of 50), each timed inside a 50-step ``lax.scan`` (best of 9),
  under XLA:CPU's three matmul paths: YNNPACK (XLA's default), XLA's own (Eigen) and oneDNN
  (``xla_cpu_use_onednn`` with oneDNN dot fusions); then LeNet's ``FeedForward.fit`` (5,000
  samples, 3 epochs) with symnet's XLA options as they are and with oneDNN's dot fusions
  instead of YNNPACK's, alternating, train samples/s over epochs 2-3.
- ``blas`` (CPU): the MLP's first-layer matmuls (forward and weight gradient, batch 100),
  XLA's jitted dot (50 dispatches, then one wait) against numpy's ``matmul`` (OpenBLAS in the
  wheel) on the same arrays, alternating; median us per matmul and the median paired ratio.
  Run it as is (2 cores) and under ``OPENBLAS_NUM_THREADS=1 taskset -c 0`` (one core).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

ZOO = os.environ.get("SYMNET_ZOO_DIR", os.path.join(os.path.dirname(ROOT), "shared", "data",
                                                     "zoo"))


def _rng(vals):
    vals = sorted(vals)
    if len(vals) == 1:
        return f"{vals[0]:.2f}"
    return f"{statistics.median(vals):.2f} ({vals[0]:.2f}-{vals[-1]:.2f})"


def cache(pairs: int) -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "symnet")
    cold, warm = [], []
    for _ in range(pairs):
        with tempfile.TemporaryDirectory() as cdir, tempfile.TemporaryDirectory() as out:
            env = dict(os.environ, SYMNET_CACHE_DIR=cdir, SYMNET_COMPILATION_CACHE="1")
            env.pop("JAX_COMPILATION_CACHE_DIR", None)
            for store in (cold, warm):
                t = time.perf_counter()
                subprocess.run([exe, "train", "lenet", "--epochs", "1", "--limit", "1000",
                                "--seed", "0", "--out", out, "--log-every", "1000"],
                               check=True, capture_output=True, env=env, cwd=ROOT)
                store.append(time.perf_counter() - t)
            files = sum(len(f) for _, _, f in os.walk(cdir))
    saved = [c - w for c, w in zip(cold, warm)]
    print("| process | wall s |\n|---|---|")
    print(f"| 1st (empty SYMNET_CACHE_DIR) | {_rng(cold)} |")
    print(f"| 2nd (same cache dir) | {_rng(warm)} |")
    print(f"| saved | {_rng(saved)} ({100 * statistics.median(saved) / statistics.median(cold):.0f}"
          f"% of the first) |")
    print("EXTRAS_JSON " + json.dumps({"part": "cache", "cold": cold, "warm": warm,
                                       "cache_files": files}))


def bf16(seeds: int) -> None:
    import logging
    import numpy as np
    import symnet as mx
    from symnet.datasets.mnist import load_mnist
    import common
    from run_symnet import mlp
    logging.disable(logging.INFO)
    m = load_mnist()
    if m["test_images"] is None:
        raise SystemExit("no MNIST test set found (../shared/data/mnist)")
    x = m["train_images"].astype(np.float32)[:, None] / 255.0
    y = m["train_labels"].astype(np.float32)
    tx = m["test_images"].astype(np.float32)[:, None] / 255.0
    ty = m["test_labels"].astype(np.int64)
    params = common.make_params("mlp")
    res = {"float32": [], "bfloat16": []}
    for seed in range(seeds):
        for dt in ("float32", "bfloat16"):
            np.random.seed(seed)
            mx.random.seed(seed)
            it = mx.io.NDArrayIter(x, y, 100, shuffle=True)
            model = mx.model.FeedForward(
                mlp(mx), num_epoch=10, optimizer="sgd", learning_rate=0.1,
                numpy_batch_size=100, arg_params={k: mx.nd.array(v) for k, v in params.items()},
                compute_dtype=None if dt == "float32" else dt)
            t = time.perf_counter()
            model.fit(it)
            fit_s = time.perf_counter() - t
            times = [h["time"] for h in model.history]
            sps = len(x) * (len(times) - 1) / sum(times[1:])
            pred = model.predict(mx.io.NDArrayIter(tx, batch_size=100))
            acc = float((np.asarray(pred).argmax(1) == ty).mean())
            res[dt].append({"seed": seed, "test_acc": acc, "fit_s": fit_s, "train_sps": sps})
    print("| compute | test acc % (per seed) | fit s (10 epochs, compile incl.) | "
          "train samples/s (epochs 2-10) |\n|---|---|---|---|")
    for dt, rs in res.items():
        accs = ", ".join(f"{100 * r['test_acc']:.2f}" for r in rs)
        print(f"| {dt} | {accs} | {_rng([r['fit_s'] for r in rs])} | "
              f"{statistics.median([r['train_sps'] for r in rs]):,.0f} "
              f"({min(r['train_sps'] for r in rs):,.0f}-{max(r['train_sps'] for r in rs):,.0f})"
              f" |")
    diffs = [100 * (a["test_acc"] - b["test_acc"]) for a, b in zip(res["bfloat16"],
                                                                  res["float32"])]
    print(f"\nbf16 - f32 test accuracy, points per seed: "
          f"{', '.join(f'{d:+.2f}' for d in diffs)}")
    print("EXTRAS_JSON " + json.dumps({"part": "bf16", **res}))


def compile_times(nets) -> None:
    import jax
    import numpy as np
    import symnet as mx
    from symnet.compiler import compile_symbol
    rows = []
    for net in nets:
        path = os.path.join(ZOO, f"{net}-symbol.json")
        t = time.perf_counter()
        sym = mx.sym.load(path)
        t_load = time.perf_counter() - t
        shape = (1, 3, 299, 299)
        t = time.perf_counter()
        arg_shapes, out_shapes, aux_shapes = sym.infer_shape(data=shape)
        t_infer = time.perf_counter() - t
        t = time.perf_counter()
        graph = compile_symbol(sym)
        t_pass = time.perf_counter() - t
        names, auxn = sym.list_arguments(), sym.list_auxiliary_states()
        args = {n: jax.ShapeDtypeStruct(s, np.float32) for n, s in zip(names, arg_shapes)}
        aux = {n: jax.ShapeDtypeStruct(s, np.float32) for n, s in zip(auxn, aux_shapes)}

        def fwd(a, x):
            return graph.apply(a, x, None, False)[0]

        t = time.perf_counter()
        lowered = jax.jit(fwd).lower(args, aux)
        t_lower = time.perf_counter() - t
        t = time.perf_counter()
        lowered.compile()
        t_xla = time.perf_counter() - t
        nodes = len(json.loads(sym.tojson())["nodes"])
        rows.append({"net": net, "nodes": nodes, "load_s": t_load, "infer_s": t_infer,
                     "passes_s": t_pass, "lower_s": t_lower, "xla_s": t_xla,
                     "mode": getattr(graph, "mode", "?"), "out": list(out_shapes[0])})
    print("| graph | JSON nodes | load (build) s | infer_shape s | passes s | trace+lower s | "
          "XLA compile s | total s |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        tot = r["load_s"] + r["infer_s"] + r["passes_s"] + r["lower_s"] + r["xla_s"]
        print(f"| {r['net']} | {r['nodes']} | {r['load_s']:.2f} | {r['infer_s']:.2f} | "
              f"{r['passes_s']:.2f} | {r['lower_s']:.2f} | {r['xla_s']:.1f} | {tot:.1f} |")
    print("EXTRAS_JSON " + json.dumps({"part": "compile", "rows": rows}))


STEP_NETS = ("lenet", "torch_cnn", "torch_lenet5", "puzzlelib_lenet5", "resnet-20-cifar")


def _max_patch(sym, shapes) -> int:
    from symnet.passes import node_shapes
    known = node_shapes(sym, shapes)
    best = 0
    for n in sym._topo():
        if n.op is not None and n.op.name == "Convolution":
            src, i = n.inputs[0]
            d, o = known[(id(src), i)], known[(id(n), 0)]
            kh, kw = n.params.kernel
            best = max(best, o[2] * o[3] * d[1] // max(1, n.params.num_group) * kh * kw)
    return best


def steps(reps: int) -> None:
    import logging

    import numpy as np

    import graphs
    import symnet as mx
    from symnet.datasets.mnist import load_mnist
    from symnet.trainer import auto_steps
    logging.disable(logging.INFO)
    m = load_mnist()
    rows = []
    for net_name in STEP_NETS:
        chans, n = (3, 500) if net_name.startswith("resnet") else (1, 1000)
        x = np.repeat(m["train_images"][:n, None].astype(np.float32) / 255.0, chans, axis=1)
        y = m["train_labels"][:n].astype(np.float32)
        sym = graphs.build(net_name)
        shapes = {"data": (100,) + x.shape[1:], "softmax_label": (100,)}
        sps = {1: [], 10: []}
        for rep in range(reps):
            for k in ((1, 10) if rep % 2 == 0 else (10, 1)):
                mx.random.seed(rep)
                model = mx.model.FeedForward(sym, num_epoch=3, optimizer="sgd",
                                             learning_rate=0.1, steps_per_execution=k,
                                             initializer=mx.init.Xavier())
                model.fit(mx.io.NDArrayIter(x, y, 100, shuffle=True))
                t = sum(h["time"] for h in model.history[1:])
                sps[k].append(n * 2 / t)
        rows.append({"net": net_name, "patch": _max_patch(sym, shapes),
                     "auto": auto_steps(sym, shapes), "spe1": sps[1], "spe10": sps[10]})
    print("| graph | largest im2col patch / sample | plain step (spe 1) samples/s | "
          "scanned im2col (spe 10) samples/s | spe10 / spe1 | auto_steps |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        a, b = statistics.median(r["spe1"]), statistics.median(r["spe10"])
        span = lambda v: f"{min(v):,.0f}-{max(v):,.0f}"  # noqa: E731
        print(f"| {r['net']} | {r['patch']:,} | {a:,.0f} ({span(r['spe1'])}) | "
              f"{b:,.0f} ({span(r['spe10'])}) | {b / a:.2f} | {r['auto']} |")
    print("EXTRAS_JSON " + json.dumps({"part": "steps", "rows": rows}))


def micro(reps: int) -> None:
    import logging

    import numpy as np

    import graphs
    import symnet as mx
    import symnet.trainer as trainer
    from symnet.datasets.mnist import load_mnist
    logging.disable(logging.INFO)
    m = load_mnist()
    n = 2000
    x = m["train_images"][:n, None].astype(np.float32) / 255.0
    y = m["train_labels"][:n].astype(np.float32)
    default = trainer.IM2COL_MICRO_BYTES
    rows = []
    for net_name, batch in (("lenet", 100), ("lenet", 200), ("puzzlelib_lenet5", 100),
                            ("torch_lenet5", 100), ("torch_cnn", 100)):
        sym = graphs.build(net_name)
        shapes = {"data": (batch,) + x.shape[1:], "softmax_label": (batch,)}
        sps = {"split": [], "whole": []}
        for rep in range(reps):
            for mode in (("split", "whole") if rep % 2 == 0 else ("whole", "split")):
                trainer.IM2COL_MICRO_BYTES = default if mode == "split" else 1 << 62
                mx.random.seed(rep)
                model = mx.model.FeedForward(sym, num_epoch=3, optimizer="sgd",
                                             learning_rate=0.1, initializer=mx.init.Xavier())
                model.fit(mx.io.NDArrayIter(x, y, batch, shuffle=True))
                sps[mode].append(n * 2 / sum(h["time"] for h in model.history[1:]))
        trainer.IM2COL_MICRO_BYTES = default
        rows.append({"net": net_name, "batch": batch, "patch": _max_patch(sym, shapes),
                     "micro": trainer.micro_batches(sym, shapes), **sps})
    print("| graph | batch | largest im2col patch / sample | micro-batches | whole batch "
          "samples/s | micro-batched samples/s | paired ratio |\n|---|---|---|---|---|---|---|")
    for r in rows:
        a, b = statistics.median(r["whole"]), statistics.median(r["split"])
        span = lambda v: f"{min(v):,.0f}-{max(v):,.0f}"  # noqa: E731
        ratio = statistics.median(p / q for p, q in zip(r["split"], r["whole"]))
        print(f"| {r['net']} | {r['batch']} | {r['patch']:,} | {r['micro']} | {a:,.0f} "
              f"({span(r['whole'])}) | {b:,.0f} ({span(r['split'])}) | {ratio:.2f} |")
    print("EXTRAS_JSON " + json.dumps({"part": "micro", "rows": rows}))


#: (name, lhs shape, rhs shape, lhs contracting dim, rhs contracting dim)
DOT_SHAPES = [
    ("MLP fc1 forward x @ W.T", (100, 784), (128, 784), 1, 1),
    ("MLP fc1 weight gradient g.T @ x", (100, 128), (100, 784), 0, 0),
    ("LeNet conv1 forward (K=25)", (28800, 25), (25, 20), 1, 0),
    ("LeNet conv1 weight gradient", (28800, 25), (28800, 20), 0, 0),
    ("LeNet conv2 forward (K=500)", (3200, 500), (500, 50), 1, 0),
    ("LeNet conv2 weight gradient", (3200, 500), (3200, 50), 0, 0),
    ("LeNet conv2 input gradient", (3200, 50), (500, 50), 1, 1),
    ("LeNet fc1 forward", (100, 800), (500, 800), 1, 1),
]
ONEDNN_DOTS = {"xla_cpu_use_onednn": True,
               "xla_cpu_experimental_onednn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
               "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}


def dots(reps: int) -> None:
    import logging

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    import graphs
    import symnet as mx
    import symnet.xla_options as xo
    from symnet.datasets.mnist import load_mnist
    logging.disable(logging.INFO)
    paths = {"YNNPACK (default)": {},
             "XLA (Eigen)": {"xla_cpu_experimental_ynn_fusion_type": ""},
             "oneDNN": dict(ONEDNN_DOTS)}
    rng = np.random.RandomState(0)
    out = []
    print("| matmul | " + " | ".join(f"{p} us (GFLOP/s)" for p in paths) + " |\n"
          + "|---" * (len(paths) + 1) + "|")
    for name, ls, rs, lc, rc in DOT_SHAPES:
        a = jnp.asarray(rng.rand(*ls).astype(np.float32))
        b = jnp.asarray(rng.rand(*rs).astype(np.float32))
        flops = 2 * ls[0] * ls[1] * rs[1 - rc]
        cells = []
        for opts in paths.values():
            def loop(a, b):
                def body(s, _):  # the carry feeds each dot, so none is hoisted out
                    r = lax.dot_general(a, b + s * 1e-30, (((lc,), (rc,)), ((), ())))
                    return s + r[0, 0], None
                return lax.scan(body, jnp.float32(0), None, length=50)[0]
            fn = jax.jit(loop, compiler_options=opts or None)
            try:
                fn(a, b).block_until_ready()
            except Exception:  # noqa: BLE001 -- a jaxlib without this library or option
                cells.append(None)
                continue
            best = min(_timed(lambda: fn(a, b).block_until_ready()) for _ in range(9)) / 50
            cells.append(best)
        out.append({"dot": name, "us": [c and c * 1e6 for c in cells]})
        print(f"| {name} | " + " | ".join("n/a" if c is None else
                                         f"{c * 1e6:,.0f} ({flops / c / 1e9:.0f})"
                                         for c in cells) + " |")
    m = load_mnist()
    n = 5000
    x = m["train_images"][:n, None].astype(np.float32) / 255.0
    y = m["train_labels"][:n].astype(np.float32)
    base = dict(xo._CPU_CONV_BY_XLA)
    sps = {"symnet": [], "oneDNN dots": []}
    for rep in range(max(1, reps)):
        for mode in (("symnet", "oneDNN dots") if rep % 2 == 0 else ("oneDNN dots", "symnet")):
            xo._CPU_CONV_BY_XLA.clear()
            xo._CPU_CONV_BY_XLA.update(base if mode == "symnet" else ONEDNN_DOTS)
            mx.random.seed(rep)
            model = mx.model.FeedForward(graphs.build("lenet"), num_epoch=3, optimizer="sgd",
                                         learning_rate=0.1, initializer=mx.init.Xavier())
            model.fit(mx.io.NDArrayIter(x, y, 100, shuffle=True))
            sps[mode].append(n * 2 / sum(h["time"] for h in model.history[1:]))
    xo._CPU_CONV_BY_XLA.clear()
    xo._CPU_CONV_BY_XLA.update(base)
    ratio = statistics.median(p / q for p, q in zip(sps["oneDNN dots"], sps["symnet"]))
    print("\n| LeNet fit (CPU) | samples/s |\n|---|---|")
    for k, v in sps.items():
        print(f"| {k} | {statistics.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f}) |")
    print(f"| oneDNN / symnet, paired | {ratio:.2f} |")
    print("EXTRAS_JSON " + json.dumps({"part": "dots", "dots": out, "lenet": sps}))


def blas(reps: int) -> None:
    import jax
    import numpy as np
    from jax import lax
    rng = np.random.RandomState(0)
    x = rng.rand(100, 784).astype(np.float32)
    w = rng.rand(128, 784).astype(np.float32)
    g = rng.rand(100, 128).astype(np.float32)
    inner = 50
    rows = []
    print("| matmul | XLA us (GFLOP/s) | OpenBLAS us (GFLOP/s) | XLA / OpenBLAS |\n|---|---|---|---|")
    for name, a, b, lc, rc in (("fc1 forward x @ W.T", x, w, 1, 1),
                               ("fc1 weight gradient g.T @ x", g, x, 0, 0)):
        dot = jax.jit(lambda a, b, lc=lc, rc=rc: lax.dot_general(a, b, (((lc,), (rc,)),
                                                                        ((), ()))))
        ja, jb = jax.device_put(a), jax.device_put(b)
        dot(ja, jb).block_until_ready()
        an = np.ascontiguousarray(a.T if lc == 0 else a)
        bn = np.ascontiguousarray(b.T if rc == 1 else b)
        out = np.empty((an.shape[0], bn.shape[1]), np.float32)
        flops = 2 * an.shape[0] * an.shape[1] * bn.shape[1]
        xla, ref = [], []
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(inner):
                r = dot(ja, jb)
            r.block_until_ready()
            xla.append((time.perf_counter() - t) / inner)
            t = time.perf_counter()
            for _ in range(inner):
                np.matmul(an, bn, out=out)
            ref.append((time.perf_counter() - t) / inner)
        mx_, mr = statistics.median(xla), statistics.median(ref)
        ratio = statistics.median(a / b for a, b in zip(xla, ref))
        print(f"| {name} | {mx_ * 1e6:.0f} ({flops / mx_ / 1e9:.0f}) | {mr * 1e6:.0f} "
              f"({flops / mr / 1e9:.0f}) | {ratio:.2f} |")
        rows.append({"matmul": name, "xla_us": mx_ * 1e6, "openblas_us": mr * 1e6,
                     "ratio": ratio})
    print("EXTRAS_JSON " + json.dumps({"part": "blas", "rows": rows,
                                       "openblas_threads": os.environ.get(
                                           "OPENBLAS_NUM_THREADS", "default")}))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["cache", "bf16", "compile", "steps", "micro", "dots",
                                     "blas"])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--nets", default="inception-v4,inception-resnet-v2")
    args = ap.parse_args()
    if args.part == "cache":
        cache(args.pairs)
    elif args.part == "bf16":
        bf16(args.seeds)
    elif args.part == "steps":
        steps(args.reps)
    elif args.part == "micro":
        micro(args.reps)
    elif args.part == "dots":
        dots(args.reps)
    elif args.part == "blas":
        blas(args.reps)
    else:
        if os.environ.get("SYMNET_COMPILATION_CACHE") != "0":
            raise SystemExit("run with SYMNET_COMPILATION_CACHE=0 (time a real XLA compile)")
        compile_times(args.nets.split(","))


if __name__ == "__main__":
    main()
