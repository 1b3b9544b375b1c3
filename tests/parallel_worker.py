"""Worker script that tests/test_parallel.py runs in subprocesses (not a test module).

Usage: ``python tests/parallel_worker.py MODE OUT_DIR [options]``

Modes:
    dp      one process, 4 forced CPU devices: FeedForward and Module trained on ctx=[cpu(0)]
            and on ctx=[cpu(0..3)] (replicated, then sharded state); writes ``dp.npz``.
    dist    one rank of a jax.distributed run (env JAX_* set by the test): MNISTIter with
            num_parts/part_index, kvstore dist_sync; writes ``params-<rank>.npz`` and
            checkpoints ``ckpt-%04d.params`` (rank 0 only). ``--die-at E,B`` kills rank 1 with
            SIGKILL at epoch E, batch B; ``--resume E`` starts from checkpoint E.
    single  the same network trained in one process on the same global batches; writes
            ``params-single.npz``.
"""
from __future__ import annotations

import os
import re
import sys

MODE = sys.argv[1]
# Must be set before JAX starts (the parent's flags are not trusted).
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=" + (
    "4" if MODE == "dp" else "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import signal  # noqa: E402

import numpy as np  # noqa: E402

HIDDEN, CLASSES, FEAT = 16, 10, 784
LOCAL_BATCH, PER_PART, EPOCHS = 16, 64, 3


def mlp():
    import symnet as mx
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=HIDDEN, name="fc1")
    act = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = mx.sym.FullyConnected(act, num_hidden=CLASSES, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


def init_params(feat: int = FEAT):
    rng = np.random.RandomState(0)
    return {"fc1_weight": rng.uniform(-0.1, 0.1, (HIDDEN, feat)).astype(np.float32),
            "fc1_bias": np.zeros(HIDDEN, np.float32),
            "fc2_weight": rng.uniform(-0.1, 0.1, (CLASSES, HIDDEN)).astype(np.float32),
            "fc2_bias": np.zeros(CLASSES, np.float32)}


def as_numpy(params) -> dict:
    return {k: np.asarray(v.asnumpy() if hasattr(v, "asnumpy") else v)
            for k, v in params.items()}


# ---- dp ---------------------------------------------------------------------------------------
def splits_batch(session, x, y) -> bool:
    """Whether the compiled training program splits each gathered batch over the mesh: then
    every device holds 4 of the batch's 16 rows and the gradients are all-reduced."""
    import symnet as mx
    it = mx.io.NDArrayIter(x, y, batch_size=16, shuffle=False)
    arrays = session.resident_arrays(it)
    _, _, (idx, pads) = session._plan(it, arrays, None, multiple=session.steps)
    (key, fn), = [(k, f) for k, f in session.trainer._cache.items() if k[0] == "scan"]
    count = session.placement.replicate(np.int32(1))
    text = fn.lower(session.state, arrays, idx, pads, count, session._key).compile().as_text()
    # the row gathers of the (per-device) program: e.g. "f32[4,1,20]{2,1,0} gather("
    rows = [int(m) for m in re.findall(r"= [a-z0-9]+\[(\d+)[,\]][^=]*? gather\(", text)]
    return "all-reduce" in text and bool(rows) and set(rows) == {4}


def run_dp(out: str) -> None:
    import jax
    import symnet as mx
    from symnet import parallel
    assert len(jax.devices()) == 4, jax.devices()
    rng = np.random.RandomState(1)
    x = rng.rand(96, 20).astype(np.float32)
    y = rng.randint(0, CLASSES, 96).astype(np.float32)
    results = {}

    def feedforward(ctx, tag):
        it = mx.io.NDArrayIter(x, y, batch_size=16, shuffle=False)
        model = mx.model.FeedForward(mlp(), ctx=ctx, num_epoch=2, learning_rate=0.1,
                                     momentum=0.9, wd=1e-4,
                                     arg_params={k: mx.nd.array(v)
                                                 for k, v in init_params(20).items()})
        model.fit(it, eval_data=mx.io.NDArrayIter(x[:40], y[:40], batch_size=16),
                  eval_metric="acc")
        for k, v in as_numpy(model.arg_params).items():
            results[f"{tag}/{k}"] = v
        results[f"{tag}/acc"] = np.float64(model.history[-1]["train"]["accuracy"])
        results[f"{tag}/eval_acc"] = np.float64(model.history[-1]["eval"]["accuracy"])
        session = model._session  # the training session (predict makes its own)
        if tag == "ff4":
            # the whole data set stays on the devices; each step gathers its batch and splits it
            results["ff4/num_devices"] = np.int64(session.placement.num_devices)
            results["ff4/resident"] = np.int64(any(k[0] in ("scan", "resident")
                                                   for k in session.trainer._cache))
            results["ff4/split_batch"] = np.int64(splits_batch(session, x, y))
        # 90 rows: the last batch of 16 is padded
        results[f"{tag}/predict"] = model.predict(mx.io.NDArrayIter(x[:90], batch_size=16))
        return session

    def module(ctx, tag):
        it = mx.io.NDArrayIter(x, y, batch_size=16, shuffle=False)
        mod = mx.mod.Module(mlp(), context=ctx)
        mod.fit(it, num_epoch=2, optimizer="sgd", initializer=None,
                arg_params={k: mx.nd.array(v) for k, v in init_params(20).items()},
                optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
        arg, _ = mod.get_params()
        for k, v in as_numpy(arg).items():
            results[f"{tag}/{k}"] = v
        return mod

    one, four = [mx.cpu(0)], [mx.cpu(i) for i in range(4)]
    feedforward(one, "ff1")
    feedforward(four, "ff4")
    module(one, "mod1")
    mod = module(four, "mod4")
    results["mod4/resident"] = np.int64(any(k[0] in ("scan", "resident")
                                            for k in mod._session.trainer._cache))
    os.environ["SYMNET_SHARD_PARAMS"] = "256"  # bytes: shards fc1_weight (16x20 f32)
    session = feedforward(four, "shard4")
    w = session.state.params["fc1_weight"]
    results["shard4/fc1_sharded"] = np.int64(not w.sharding.is_fully_replicated)
    mom = [leaf for leaf in jax.tree_util.tree_leaves(session.state.opt)
           if getattr(leaf, "shape", ()) == w.shape]
    results["shard4/opt_sharded"] = np.int64(
        bool(mom) and all(not m.sharding.is_fully_replicated for m in mom))
    del os.environ["SYMNET_SHARD_PARAMS"]
    # refusals
    errors = []
    for bad in (dict(ctx=four, work_load_list=[1, 2, 1, 1]),
                dict(ctx=four, batch=10)):
        try:
            it = mx.io.NDArrayIter(x[:40], y[:40], batch_size=bad.get("batch", 16))
            mx.model.FeedForward(mlp(), ctx=bad["ctx"], num_epoch=1).fit(
                it, work_load_list=bad.get("work_load_list"))
            errors.append("no error")
        except mx.base.SymnetError as err:
            errors.append(str(err))
    try:
        mx.kv.create("dist_async")
        errors.append("no error")
    except mx.base.SymnetError as err:
        errors.append(str(err))
    with open(os.path.join(out, "dp-errors.txt"), "w") as f:
        f.write("\n".join(errors))
    np.savez(os.path.join(out, "dp.npz"), **results)
    assert parallel.process_count() == 1


# ---- dist / single ------------------------------------------------------------------------------
def write_idx(directory: str, parts: int) -> tuple:
    """First PER_PART * parts embedded MNIST images as raw IDX files."""
    from symnet.datasets import mnist
    images, labels = mnist._load_embedded()
    n = PER_PART * parts
    images, labels = np.asarray(images[:n], np.uint8), np.asarray(labels[:n], np.uint8)
    img = os.path.join(directory, f"img{parts}.idx")
    lab = os.path.join(directory, f"lab{parts}.idx")
    # Every process writes its own temporary file (several start at once), then renames it.
    tmp = f".{os.getpid()}.tmp"
    with open(img + tmp, "wb") as f:
        f.write(b"\x00\x00\x08\x03" + np.array(images.shape, ">i4").tobytes()
                + images.tobytes())
    os.replace(img + tmp, img)
    with open(lab + tmp, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + np.array([n], ">i4").tobytes() + labels.tobytes())
    os.replace(lab + tmp, lab)
    return img, lab


def run_dist(out: str, args) -> None:
    import symnet as mx
    kv = mx.kv.create("dist_sync")  # first: joins jax.distributed before any array exists
    rank, workers = kv.rank, kv.num_workers
    assert workers == int(os.environ["JAX_NUM_PROCESSES"]), (workers, os.environ)
    img, lab = write_idx(out, workers)
    train = mx.io.MNISTIter(image=img, label=lab, batch_size=LOCAL_BATCH, shuffle=False,
                            flat=True, num_parts=workers, part_index=rank)
    prefix = os.path.join(out, "ckpt")
    die = tuple(int(v) for v in args.die_at.split(",")) if args.die_at else None

    def maybe_die(param):
        if die is not None and rank == 1 and (param.epoch, param.nbatch) == die:
            os.kill(os.getpid(), signal.SIGKILL)

    if args.resume is not None:
        model = mx.model.FeedForward.load(prefix, args.resume, num_epoch=EPOCHS,
                                          learning_rate=0.1)
    else:
        model = mx.model.FeedForward(mlp(), num_epoch=EPOCHS, learning_rate=0.1,
                                     arg_params={k: mx.nd.array(v)
                                                 for k, v in init_params().items()})
    model.fit(train, kvstore=kv, eval_metric="acc", batch_end_callback=maybe_die,
              epoch_end_callback=mx.callback.do_checkpoint(prefix))
    res = as_numpy(model.arg_params)
    res["acc"] = np.float64(model.history[-1]["train"]["accuracy"])
    tag = f"{rank}" + ("-resumed" if args.resume is not None else "")
    np.savez(os.path.join(out, f"params-{tag}.npz"), **res)
    print(f"rank {rank} of {workers} done", flush=True)


def run_single(out: str, parts: int) -> None:
    import symnet as mx
    img, lab = write_idx(out, parts)
    from symnet.datasets.mnist import read_idx
    images = read_idx(img, ndim=3).reshape(-1, FEAT).astype(np.float32) / np.float32(256.0)
    labels = read_idx(lab, ndim=1).astype(np.float32)
    # global batch b = [part 0's batch b, part 1's batch b, ...] (mesh rows by process)
    xs = [images[p * PER_PART:(p + 1) * PER_PART] for p in range(parts)]
    ys = [labels[p * PER_PART:(p + 1) * PER_PART] for p in range(parts)]
    nb = PER_PART // LOCAL_BATCH
    gx = np.concatenate([xs[p][b * LOCAL_BATCH:(b + 1) * LOCAL_BATCH]
                         for b in range(nb) for p in range(parts)])
    gy = np.concatenate([ys[p][b * LOCAL_BATCH:(b + 1) * LOCAL_BATCH]
                         for b in range(nb) for p in range(parts)])
    train = mx.io.NDArrayIter(gx, gy, batch_size=LOCAL_BATCH * parts, shuffle=False)
    model = mx.model.FeedForward(mlp(), num_epoch=EPOCHS, learning_rate=0.1,
                                 arg_params={k: mx.nd.array(v) for k, v in init_params().items()})
    model.fit(train, eval_metric="acc")
    res = as_numpy(model.arg_params)
    res["acc"] = np.float64(model.history[-1]["train"]["accuracy"])
    np.savez(os.path.join(out, "params-single.npz"), **res)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["dp", "dist", "single"])
    parser.add_argument("out")
    parser.add_argument("--die-at", default=None)
    parser.add_argument("--resume", type=int, default=None)
    parser.add_argument("--parts", type=int, default=2)
    args = parser.parse_args()
    if args.mode == "dp":
        run_dp(args.out)
    elif args.mode == "dist":
        run_dist(args.out, args)
    else:
        run_single(args.out, args.parts)


if __name__ == "__main__":
    main()
