"""MXNet 1.9.1 ``Module.fit`` on the tutorial nets (default threaded engine, CPU).

Runs in /work/mxvenv. NDArrayIter(shuffle=True) and eval_metric='acc' as in the tutorial.
"""
from __future__ import annotations

import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main() -> None:
    args = common.parser("mxnet").parse_args()
    logging.disable(logging.INFO)
    import mxnet as mx
    import numpy as np
    from run_symnet import lenet, mlp

    x, y, params = common.load(args.data, args.model, args.n)
    if args.model == "resnet20":  # symnet's JSON of graphs.build('resnet-20-cifar')
        net = mx.sym.load_json(common.load_json(args.data, args.model))
    else:
        net = mlp(mx) if args.model == "mlp" else lenet(mx)
    np.random.seed(0)
    train = mx.io.NDArrayIter(x, y, common.BATCH, shuffle=True)
    mod = mx.mod.Module(net, context=mx.cpu())
    stamps, first = [], {}
    t0 = time.perf_counter()

    def on_batch(param):
        if not first:
            mx.nd.waitall()
            first["t"] = time.perf_counter()

    def on_epoch(*_):
        mx.nd.waitall()
        stamps.append(time.perf_counter())

    init = {"arg_params": {k: mx.nd.array(v) for k, v in params.items()}} if params else {
        "initializer": mx.init.Xavier(magnitude=2.0)}
    mod.fit(train, num_epoch=args.epochs, optimizer="sgd",
            optimizer_params={"learning_rate": common.LR}, **init,
            batch_end_callback=on_batch, epoch_end_callback=on_epoch)
    # Epoch k spans the previous epoch-end stamp to this one (includes the iterator reset).
    epoch_times = [b - a for a, b in zip([t0] + stamps[:-1], stamps)]

    pred_sps = None
    if args.npred:
        xp = np.resize(x, (args.npred,) + x.shape[1:])
        it = mx.io.NDArrayIter(xp, batch_size=common.BATCH)
        mod.predict(it).wait_to_read()
        times = []
        for _ in range(3):
            t = time.perf_counter()
            mod.predict(it).wait_to_read()
            times.append(time.perf_counter() - t)
        pred_sps = args.npred / min(times)
    acc = dict(mod.score(mx.io.NDArrayIter(x, y, common.BATCH), "acc"))["accuracy"]
    common.emit("mxnet", args, epoch_times=epoch_times, first_step_s=first["t"] - t0,
                predict_sps=pred_sps, train_acc=acc, mxnet=mx.__version__)


if __name__ == "__main__":
    main()
