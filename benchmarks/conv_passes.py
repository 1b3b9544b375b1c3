"""Micro-benchmark of symnet.optimize modes: LeNet train-step throughput on this machine.

For each mode ("none" = the graph as written, "nhwc", "nhwc+im2col") it times a plain jitted SGD
step (one dispatch per step) and a 20-step ``lax.scan`` (one dispatch per 20 steps). Variants run
round-robin (A B C ... A B C ...), ``--reps`` times; the table shows the median (min-max)
samples/s. The host may be shared and noisy: compare rows of one run only.

Usage: ``.venv/bin/python benchmarks/conv_passes.py [--reps 5] [--steps 20] [--batch 100]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import symnet as mx  # noqa: E402
from symnet.compiler import Graph  # noqa: E402
from symnet.optimize import MODES, optimize  # noqa: E402
from graphs import lenet  # noqa: E402

LR = 0.1


def _setup(batch: int, seed: int = 0):
    with mx.name.NameManager():
        sym = lenet.get_symbol()
    arg_shapes, _, _ = sym.infer_shape(data=(batch, 1, 28, 28))
    rng = np.random.default_rng(seed)
    params = {n: jnp.asarray(rng.uniform(-0.07, 0.07, s), jnp.float32)
              for n, s in zip(sym.list_arguments(), arg_shapes)
              if n not in ("data", "softmax_label")}
    x = jnp.asarray(rng.uniform(0, 1, (batch, 1, 28, 28)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, batch), jnp.float32)
    return sym, params, x, y


def _sgd_step(graph: Graph):
    def step(params, x, y):
        def f(p):
            outs, _ = graph.apply({**p, "data": x, "softmax_label": y}, {}, None, True)
            return outs

        outs, vjp = jax.vjp(f, params)
        (grads,) = vjp(tuple(jnp.ones_like(o) for o in outs))
        new = jax.tree.map(lambda w, g: w - LR * g, params, grads)
        return new, outs[0]

    return step


def _variants(sym, steps: int):
    """name -> (compiled fn(params, x, y) -> params, steps per call)."""
    out = {}
    for mode in MODES:
        step = _sgd_step(Graph(optimize(sym, "cpu", mode)))
        out[f"{mode} / jit step"] = (jax.jit(lambda p, x, y, s=step: s(p, x, y)[0],
                                             donate_argnums=0), 1)

        def scanned(p, x, y, s=step):
            def body(c, _):
                return s(c, x, y)[0], None

            return jax.lax.scan(body, p, None, length=steps)[0]

        out[f"{mode} / scan {steps}"] = (jax.jit(scanned, donate_argnums=0), steps)
    return out


def _time(fn, per_call: int, params, x, y, min_steps: int):
    calls = max(1, -(-min_steps // per_call))
    params = jax.block_until_ready(fn(params, x, y))  # warm-up (compiled already)
    t0 = time.perf_counter()
    for _ in range(calls):
        params = fn(params, x, y)
    jax.block_until_ready(params)
    return calls * per_call / (time.perf_counter() - t0), params


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20, help="steps per scan and per timing")
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args(argv)
    sym, params0, x, y = _setup(args.batch)
    variants = _variants(sym, args.steps)
    state = {}
    for name, (fn, _) in variants.items():  # compile everything first
        t0 = time.perf_counter()
        state[name] = jax.block_until_ready(fn(jax.tree.map(jnp.copy, params0), x, y))
        print(f"compiled {name:28s} {time.perf_counter() - t0:6.1f} s", flush=True)
    rates = {name: [] for name in variants}
    for rep in range(args.reps):
        for name, (fn, per_call) in variants.items():
            sps, state[name] = _time(fn, per_call, state[name], x, y, args.steps)
            rates[name].append(sps * args.batch)
        print(f"rep {rep + 1}/{args.reps} done", flush=True)
    base = {kind: statistics.median(rates[f"none / {kind}"])
            for kind in ("jit step", f"scan {args.steps}")}
    print(f"\nLeNet, batch {args.batch}, {jax.default_backend()} "
          f"({jax.devices()[0].device_kind}), median (min-max) of {args.reps}, samples/s\n")
    print("| mode | step | samples/s | ms/step | x none |")
    print("|---|---|---|---|---|")
    for name, vals in rates.items():
        mode, kind = name.split(" / ")
        med = statistics.median(vals)
        print(f"| {mode} | {kind} | {med:.0f} ({min(vals):.0f}-{max(vals):.0f}) | "
              f"{1000 * args.batch / med:.1f} | {med / base[kind]:.2f} |")


if __name__ == "__main__":
    main()
