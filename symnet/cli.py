"""The ``symnet`` command: train / predict / score / plot / summary.

``symnet train lenet`` trains a graph from ``graphs/`` on the MNIST that ships with symnet, with
MXNet-style logs, reports accuracy on the canonical test set when it is at hand (else on the last
2,000 embedded images, held out), and writes the checkpoint, the graph's dot file, an SVG of the
graph (when Graphviz's ``dot`` exists) and the training curves next to it.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["main"]

log = logging.getLogger("symnet")


def _initializer(spec: Any):
    """``"uniform(0.01)"``, ``"xavier"``, ``"normal(0.01)"`` -> an Initializer."""
    import symnet as mx
    if spec is None:
        return mx.init.Uniform(0.01)
    if not isinstance(spec, str):
        return spec
    m = re.fullmatch(r"\s*(\w+)\s*(?:\(\s*([^)]*)\))?\s*", spec)
    if not m:
        raise ValueError(f"cannot parse initializer {spec!r}")
    name, arg = m.group(1).lower(), m.group(2)
    args = [float(a) for a in arg.split(",")] if arg else []
    return mx.init.create(name, *args)


def _load_data(data_dir: Optional[str], input_shape: Sequence[int]):
    """(train_x, train_y, val_x, val_y, note) as float32 in [0, 1] shaped for the graph."""
    from .datasets import mnist
    loaded = mnist.load_mnist(data_dir)
    x, y = loaded["train_images"], loaded["train_labels"]
    if loaded["test_images"] is not None:
        vx, vy = loaded["test_images"], loaded["test_labels"]
        note = f"evaluating on the canonical MNIST test set ({len(vy)} images)"
    else:
        x, vx = x[:-2000], x[-2000:]
        y, vy = y[:-2000], y[-2000:]
        note = ("no MNIST test set found (set SYMNET_MNIST_DIR or pass --data): validating on "
                "the last 2,000 embedded training images, held out from training")

    def prep(images):
        images = np.asarray(images, np.float32)
        if images.max() > 1.5:
            images = images / 255.0
        return images.reshape((-1,) + tuple(input_shape))

    return prep(x), np.asarray(y, np.float32), prep(vx), np.asarray(vy, np.float32), note


def train(args: argparse.Namespace) -> Dict[str, Any]:
    """Train ``args.graph`` by its recipe; returns a summary dict (also printed as JSON)."""
    import symnet as mx
    import graphs
    from .parallel import is_primary, part
    # first, before any array exists: dist_sync joins the jax.distributed cluster
    kv = mx.kv.create(args.kvstore)
    ctx = _contexts(args.gpus)
    module = graphs.get(args.graph)
    recipe = dict(getattr(module, "RECIPE", {}))
    num_epoch = args.epochs or recipe.get("num_epoch", 10)
    batch = args.batch_size or recipe.get("batch_size", 100)
    input_shape = tuple(recipe.get("input_shape", (1, 28, 28)))
    if args.seed is not None:
        mx.random.seed(args.seed)
        np.random.seed(args.seed)
    x, y, vx, vy, note = _load_data(args.data, input_shape)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    if kv.num_workers > 1:  # each process trains on its own part (MXNet's num_parts/part_index)
        x, y = part([x, y], kv.num_workers, kv.rank)
    log.info("%s", note)
    train_iter = mx.io.NDArrayIter(x, y, batch, shuffle=True)
    val_iter = mx.io.NDArrayIter(vx, vy, batch)
    net = module.get_symbol(num_classes=10)
    opt_params = dict(recipe.get("optimizer_params", {"learning_rate": 0.1}))
    if args.lr is not None:
        opt_params["learning_rate"] = args.lr
    schedule = recipe.get("lr_schedule")
    if schedule and schedule.get("type") == "factor":
        steps = max(1, int(schedule.get("step_epochs", 1)) * (len(y) // batch))
        opt_params["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
            step=steps, factor=schedule["factor"],
            base_lr=opt_params.get("learning_rate", 0.01))
    os.makedirs(args.out, exist_ok=True)
    prefix = os.path.join(args.out, args.graph)
    model = mx.model.FeedForward(symbol=net, ctx=ctx, num_epoch=num_epoch,
                                 optimizer=recipe.get("optimizer", "sgd"),
                                 initializer=_initializer(recipe.get("initializer")),
                                 **opt_params)
    callbacks = [mx.callback.Speedometer(batch, args.log_every)]
    if args.progress or (args.progress is None and sys.stderr.isatty()):
        callbacks.append(_progress(-(-len(y) // batch), num_epoch))
    model.fit(X=train_iter, eval_data=val_iter, batch_end_callback=callbacks,
              epoch_end_callback=mx.callback.do_checkpoint(prefix, period=num_epoch),
              kvstore=kv)
    acc = model.score(val_iter)
    written = [f"{prefix}-symbol.json", f"{prefix}-{num_epoch:04d}.params"]
    if not is_primary():  # only the first process writes files and the summary
        return {"graph": args.graph, "validation_accuracy": round(float(acc), 4)}
    written += _write_pictures(net, model, prefix, input_shape)
    with open(f"{prefix}-history.json", "w") as f:
        json.dump(model.history, f, indent=1, default=float)
    written.append(f"{prefix}-history.json")
    summary = {"graph": args.graph, "epochs": num_epoch, "batch_size": batch,
               "validation_accuracy": round(float(acc), 4), "validation": note,
               "files": written}
    print(json.dumps(summary, indent=2))
    return summary


def _contexts(gpus: str) -> List[Any]:
    """MXNet's example-script convention: ``--gpus 0,2`` trains on those GPUs (data-parallel
    when several), empty on the CPU."""
    import symnet as mx
    from .base import ParamError
    ids = [g.strip() for g in (gpus or "").split(",") if g.strip()]
    if not all(g.isdigit() for g in ids):
        raise ParamError(f"--gpus {gpus!r}: expected GPU numbers such as 0 or 0,1")
    ctx = [mx.gpu(int(g)) for g in ids] or [mx.cpu()]
    for c in ctx:
        c.jax_device()  # fail now, before the data loads, if JAX does not see that GPU
    return ctx


def _progress(batches: int, epochs: int):
    """A per-epoch progress bar: tqdm's when installed (``symnet[progress]``), else MXNet's."""
    try:
        from tqdm import tqdm
    except ImportError:
        import symnet as mx
        return mx.callback.ProgressBar(total=batches)
    bars = {}

    def update(param) -> None:
        bar = bars.get(param.epoch)
        if bar is None:
            bar = bars[param.epoch] = tqdm(total=batches, desc=f"epoch {param.epoch + 1}/{epochs}",
                                           unit="batch", leave=False)
        bar.update(1)
        if bar.n >= batches:
            bar.close()

    return update


def _write_pictures(net, model, prefix: str, input_shape) -> List[str]:
    """The dot file always; SVG, filters and curves when the optional extras are present."""
    import symnet as mx
    written = []
    plot = mx.viz.plot_network(net, title=os.path.basename(prefix),
                               shape={"data": (1,) + tuple(input_shape)})
    with open(f"{prefix}.dot", "w") as f:
        f.write(plot.source)
    written.append(f"{prefix}.dot")
    for label, fn in (("svg", lambda: _render(plot, prefix)),
                      ("filters", lambda: _filters(model, prefix)),
                      ("curves", lambda: _curves(model, prefix))):
        try:
            out = fn()
        except Exception as err:  # optional extras: say what is missing, keep going
            log.warning("skipped the %s picture: %s", label, err)
            continue
        if out:
            written.append(out)
    return written


def _render(plot, prefix: str) -> Optional[str]:
    import shutil
    if shutil.which("dot") is None:
        log.info("Graphviz 'dot' not found: wrote %s.dot only", prefix)
        return None
    import subprocess
    # MXNet's fixed node sizes make dot warn about long labels; the SVG is still right.
    subprocess.run(["dot", "-Tsvg", f"{prefix}.dot", "-o", f"{prefix}.svg"], check=True,
                   stderr=subprocess.DEVNULL)
    return f"{prefix}.svg"


def _filters(model, prefix: str) -> Optional[str]:
    import symnet as mx
    conv = [n for n in model.arg_params if n.endswith("_weight") and
            model.arg_params[n].ndim == 4]
    if not conv:
        return None
    fname = f"{prefix}-filters.png"
    mx.viz.plot_filters(model.arg_params, conv[0][:-len("_weight")], fname)
    return fname


def _curves(model, prefix: str) -> str:
    import symnet as mx
    fname = f"{prefix}-curves.png"
    mx.viz.plot_history(model.history, fname)
    return fname


def _checkpoint_model(args):
    import symnet as mx
    return mx.model.FeedForward.load(args.prefix, args.epoch)


def predict(args: argparse.Namespace) -> None:
    """Print the predicted class of the first ``--count`` validation images."""
    model = _checkpoint_model(args)
    shape = _data_shape(model)
    _, _, vx, vy, note = _load_data(args.data, shape)
    probs = model.predict(vx[:args.count])
    for i, p in enumerate(probs):
        print(f"{i}\tpredicted={int(np.argmax(p))}\tlabel={int(vy[i])}\tp={float(np.max(p)):.4f}")


def score(args: argparse.Namespace) -> None:
    """Print the accuracy of a checkpoint on the validation data."""
    import symnet as mx
    model = _checkpoint_model(args)
    _, _, vx, vy, note = _load_data(args.data, _data_shape(model))
    acc = model.score(mx.io.NDArrayIter(vx, vy, 100))
    print(json.dumps({"accuracy": round(float(acc), 4), "validation": note}))


def _data_shape(model) -> Tuple[int, ...]:
    attrs = model.symbol.list_arguments()
    for name, arr in model.arg_params.items():
        if name.endswith("_weight") and arr.ndim == 4 and "data" in attrs:
            return (int(arr.shape[1]), 28, 28)
    return (784,) if any(a.ndim == 2 for a in model.arg_params.values()) else (1, 28, 28)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symnet", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a graph from graphs/ on MNIST")
    t.add_argument("graph", help="graph name, e.g. lenet, mlp (see graphs/)")
    t.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--lr", type=float, default=None, help="override the learning rate")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    t.add_argument("--data", default=None, help="directory with MNIST IDX files (optional)")
    t.add_argument("--out", default="runs", help="output directory (default: runs/)")
    t.add_argument("--log-every", type=int, default=20, help="Speedometer period in batches")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: when the terminal is interactive)")
    t.add_argument("--gpus", default="",
                   help="GPUs to train on, e.g. 0 or 0,1 (MXNet's convention; default: the CPU)")
    t.add_argument("--kvstore", default="local",
                   help="local (default) or dist_sync (under `symnet launch` or jax.distributed)")
    t.set_defaults(func=train)
    for name, fn in (("predict", predict), ("score", score)):
        q = sub.add_parser(name, help=f"{name} with a checkpoint")
        q.add_argument("prefix")
        q.add_argument("epoch", type=int)
        q.add_argument("--data", default=None)
        q.add_argument("--count", type=int, default=10)
        q.set_defaults(func=fn)
    v = sub.add_parser("plot", help="draw a graph (name or -symbol.json) with Graphviz")
    v.add_argument("graph")
    v.add_argument("-o", "--output", required=True, help="out.svg|png|pdf|dot")
    v.add_argument("--shape", default=None, help="input shape without batch, e.g. 1,28,28")
    v.set_defaults(func=lambda a: __import__("symnet.viz", fromlist=["cli_plot"]).cli_plot(a))
    s = sub.add_parser("summary", help="print a graph's layer table")
    s.add_argument("graph")
    s.add_argument("--shape", default=None, help="input shape without batch, e.g. 1,28,28")
    s.set_defaults(func=lambda a: __import__("symnet.viz",
                                             fromlist=["cli_summary"]).cli_summary(a))
    from .launch import add_parser as _launch_parser
    _launch_parser(sub)  # symnet launch -n N -- <command>
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``symnet`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("jax").setLevel(logging.WARNING)  # backend probing is not news
    args = _parser().parse_args(argv)
    from .base import SymnetError
    try:
        rc = args.func(args)
    except SymnetError as err:
        print(f"symnet: error: {err}", file=sys.stderr)
        return 2
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
