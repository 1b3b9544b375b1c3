"""symnet helper: the MXNet tutorial nets trained with ``mx.model.FeedForward.fit``.

Runs in the symnet venv (``.venv/bin/python benchmarks/run_symnet.py --model mlp ...``).
Variants: ``""`` (NDArrayIter shuffle=True, as in the MXNet tutorial, symnet's defaults),
``noshuffle``, ``nocb`` (no batch_end_callback), ``spe<K>`` (``steps_per_execution=K``, e.g.
``spe1``: one plain step per dispatch, which reproduces MXNet's numbers; small conv graphs
such as LeNet default to 10 scanned im2col steps on the CPU), ``prev`` (the next epoch not sent
ahead, no early reads, the past-end select kept in whole dispatches: the code before
2026-11-23 08:10), ``bf16``
(``compute_dtype='bfloat16'``). ``SYMNET_OPTIMIZE=none`` in the environment turns the CPU
compiler passes off (bench.py's ``symnet-noopt``); ``SYMNET_CPU_CONV=ynn`` keeps XLA's
YNNPACK convolutions (``symnet-ynn``, see ``symnet.xla_options``). ``resnet20`` is
``graphs.build('resnet-20-cifar')`` (3x28x28) with Xavier init.
``--profile FILE`` additionally runs one more epoch under cProfile and writes its stats.
"""
from __future__ import annotations

import cProfile
import logging
import os

import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

def mlp(mx):
    """The MXNet tutorial MLP: 784-128-64-10 relu, SoftmaxOutput."""
    data = mx.sym.flatten(mx.sym.Variable("data"))
    fc1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=128)
    act1 = mx.sym.Activation(data=fc1, name="relu1", act_type="relu")
    fc2 = mx.sym.FullyConnected(data=act1, name="fc2", num_hidden=64)
    act2 = mx.sym.Activation(data=fc2, name="relu2", act_type="relu")
    fc3 = mx.sym.FullyConnected(data=act2, name="fc3", num_hidden=10)
    return mx.sym.SoftmaxOutput(data=fc3, name="softmax")

def lenet(mx):
    """The MXNet tutorial LeNet."""
    data = mx.sym.Variable("data")
    conv1 = mx.sym.Convolution(data=data, kernel=(5, 5), num_filter=20, name="conv1")
    tanh1 = mx.sym.Activation(data=conv1, act_type="tanh")
    pool1 = mx.sym.Pooling(data=tanh1, pool_type="max", kernel=(2, 2), stride=(2, 2))
    conv2 = mx.sym.Convolution(data=pool1, kernel=(5, 5), num_filter=50, name="conv2")
    tanh2 = mx.sym.Activation(data=conv2, act_type="tanh")
    pool2 = mx.sym.Pooling(data=tanh2, pool_type="max", kernel=(2, 2), stride=(2, 2))
    flat = mx.sym.flatten(data=pool2)
    fc1 = mx.sym.FullyConnected(data=flat, num_hidden=500, name="fc1")
    tanh3 = mx.sym.Activation(data=fc1, act_type="tanh")
    fc2 = mx.sym.FullyConnected(data=tanh3, num_hidden=10, name="fc2")
    return mx.sym.SoftmaxOutput(data=fc2, name="softmax")

def main() -> None:
    p = common.parser("symnet")
    p.add_argument("--profile", default="", help="write cProfile stats of one extra epoch")
    args = p.parse_args()
    logging.disable(logging.INFO)
    import jax
    import numpy as np
    import symnet as mx
    # Imports stay outside the first-step clock for every system (the JAX loop imports optax
    # before its clock starts); symnet loads its optimizers (and optax) lazily, in ``fit``.
    import symnet.optimizer  # noqa: F401

    x, y, params = common.load(args.data, args.model, args.n)
    if args.model == "resnet20":
        import graphs
        net = graphs.build("resnet-20-cifar")
    else:
        net = mlp(mx) if args.model == "mlp" else lenet(mx)
    np.random.seed(0)
    shuffle = args.variant != "noshuffle"
    train = mx.io.NDArrayIter(x, y, common.BATCH, shuffle=shuffle)
    extra = {}
    if args.variant.startswith("spe"):
        extra["steps_per_execution"] = int(args.variant[3:])
    if args.variant == "nomicro":  # the scanned im2col step without micro-batches
        import symnet.trainer
        symnet.trainer.IM2COL_MICRO_BYTES = 1 << 62
    if args.variant == "cond":  # skip steps past the epoch's end by lax.cond, not a select
        import symnet.trainer
        symnet.trainer.SKIP_BY_SELECT = False
    if args.variant == "prev":  # the epoch-boundary changes of 2026-11-23 08:10 off
        import symnet.trainer
        session_init = symnet.trainer.Session.__init__

        def init(self, *a, **k):
            session_init(self, *a, **k)
            self._whole = False  # past-end steps skipped by select even in whole dispatches

        symnet.trainer.Session.__init__ = init
        symnet.trainer.Session.prefetch_epoch = lambda *a, **k: None
        symnet.trainer.Session._read_ahead = lambda *a, **k: None
    if args.variant == "bf16":
        extra["compute_dtype"] = "bfloat16"
    if params:
        extra["arg_params"] = {k: mx.nd.array(v) for k, v in params.items()}
    else:
        extra["initializer"] = mx.init.Xavier(magnitude=2.0)
    ctx = mx.gpu(0) if common.DEVICE == "gpu" else mx.cpu()  # MXNet's default is mx.cpu()
    model = mx.model.FeedForward(
        net, ctx=ctx, num_epoch=args.epochs, optimizer="sgd", learning_rate=common.LR,
        numpy_batch_size=common.BATCH, **extra)
    first = {}

    def on_batch(param):
        if args.trace:
            trace_window(param)
        # Only the first batch syncs; later batches return at once.
        if not first:
            # symnet's sync contract (see symnet/callback.py), then the fallbacks.
            loc = param.locals
            if callable(loc.get("block_until_ready")):
                loc["block_until_ready"]()
            elif hasattr(param.eval_metric, "block_until_ready"):
                param.eval_metric.block_until_ready()
            if model._session is not None:
                jax.block_until_ready(model._session.state)
            first["t"] = time.perf_counter()

    traced = []

    def trace_window(param):
        # --trace: from the first batch callback of epoch TRACE_EPOCH to the first of the next
        # (one epoch's steps and one epoch boundary, as the benchmark runs them: no
        # epoch_end_callback, which would copy the parameters back every epoch).
        if param.epoch == common.TRACE_EPOCH and not traced:
            jax.profiler.start_trace(args.trace)
            traced.append(True)
        elif param.epoch == common.TRACE_EPOCH + 1 and len(traced) == 1:
            jax.profiler.stop_trace()
            traced.append(True)

    # The runtime starts (CUDA's start-up: ~1.3 s on the H100) before the first-step clock,
    # as in the JAX loop; the clock includes putting the data and parameters on the device.
    ctx.jax_device()
    t0 = time.perf_counter()
    # Variant "nocb": no batch_end_callback at all (no per-step metric snapshots, no timing of
    # the first step), to show what the callback costs.
    model.fit(train, batch_end_callback=None if args.variant == "nocb" else on_batch)
    if args.variant == "nocb":
        first["t"] = float("nan")
    steps = model._session.steps  # predict below replaces the session
    xla_options = model._session.trainer.compiler_options
    epoch_times = [h["time"] for h in model.history]
    acc = model.history[-1]["train"].get("accuracy")

    prof_top = None
    if args.profile:
        model.num_epoch = args.epochs + 1
        prof = cProfile.Profile()
        prof.enable()
        model.fit(train, batch_end_callback=on_batch)  # new Trainer: includes a recompile
        prof.disable()
        prof.dump_stats(args.profile)
        prof_top = args.profile

    pred_sps = None
    if args.npred:
        xp = np.asarray(np.resize(x, (args.npred,) + x.shape[1:]))
        it = mx.io.NDArrayIter(xp, batch_size=common.BATCH)
        model.predict(it)  # compile
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = model.predict(it)
            times.append(time.perf_counter() - t)
        assert out.shape == (args.npred, 10)
        pred_sps = args.npred / min(times)
    from symnet.config import compilation_cache_dir
    common.emit("symnet", args, epoch_times=epoch_times, first_step_s=first["t"] - t0,
                predict_sps=pred_sps, train_acc=acc, profile=prof_top,
                jax=jax.__version__, steps=steps, platform=ctx.jax_device().platform,
                device_kind=ctx.jax_device().device_kind,
                optimize=os.environ.get("SYMNET_OPTIMIZE", "default"),
                xla_options=xla_options, cache=compilation_cache_dir())

if __name__ == "__main__":
    main()
