"""Hand-written JAX + optax loop: one jitted step (params/opt state donated), data on device.

Runs in the symnet venv. Variants: ``""`` lowers like symnet (NCHW ``conv_general_dilated``,
``reduce_window`` max pooling), so symnet / this loop isolates framework overhead;
``tuned`` uses the CPU-friendly lowering of shared/notes/cpu-conv.md (NHWC, reshape+max pooling,
pool before tanh) to show the remaining compiler headroom; ``shuffle`` (MLP, LeNet) does the
same work as ``NDArrayIter(shuffle=True)``: a new order each epoch, each batch gathered inside
the jitted step from the data set on the device (the default loop reuses pre-split batches).

``resnet20`` is not written out by hand: the loop calls symnet's lowering of
``graphs.build('resnet-20-cifar')`` (``symnet.compiler.compile_symbol``, i.e. the same
optimized graph symnet trains; ``--variant plain`` uses ``optimize='none'``) inside this file's
own jitted optax step, so symnet / jax there measures the framework around the graph only.
BatchNorm statistics are carried as a second state.

A ``+xlaconv`` suffix (``xlaconv``, ``tuned+xlaconv``) compiles the loop's programs with the XLA
options symnet uses for convolution graphs on the CPU (``symnet.xla_options``: XLA's own
convolution kernels instead of YNNPACK's), so the effect of that choice can be told apart
from the rest of the framework.
"""
from __future__ import annotations

import functools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main() -> None:
    args = common.parser("jax").parse_args()
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax import lax

    x, y, params = common.load(args.data, args.model, args.n)
    tokens = set(args.variant.split("+")) - {""}
    tuned = "tuned" in tokens
    shuffle = "shuffle" in tokens
    plain = "plain" in tokens
    aux = {}
    if args.model == "resnet20":
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import graphs
        from symnet.compiler import compile_symbol
        sym = graphs.build("resnet-20-cifar")
        graph = compile_symbol(sym, "none" if plain else "auto")
        shapes, _, aux_shapes = sym.infer_shape(data=(common.BATCH,) + x.shape[1:])
        rng = np.random.RandomState(0)
        for name, shp in zip(sym.list_arguments(), shapes):
            if name in ("data", "softmax_label"):
                continue
            if name.endswith("gamma"):
                params[name] = np.ones(shp, np.float32)
            elif name.endswith("weight"):
                fan_in = int(np.prod(shp[1:]))
                params[name] = rng.normal(0, np.sqrt(2.0 / fan_in), shp).astype(np.float32)
            else:
                params[name] = np.zeros(shp, np.float32)
        for name, shp in zip(sym.list_auxiliary_states(), aux_shapes):
            aux[name] = np.ones(shp, np.float32) if "var" in name else np.zeros(shp, np.float32)

    jit_opts = None
    if "xlaconv" in tokens:
        from symnet.xla_options import conv_graph_options
        jit_opts = conv_graph_options(jax.default_backend()) or None

    def conv(h, w, b):
        if tuned:  # NHWC activations, OIHW weights transposed inside the step
            out = lax.conv_general_dilated(h, jnp.transpose(w, (2, 3, 1, 0)), (1, 1), "VALID",
                                           dimension_numbers=("NHWC", "HWIO", "NHWC"))
            return out, b
        out = lax.conv_general_dilated(h, w, (1, 1), "VALID")
        return out + b.reshape(1, -1, 1, 1), None

    def pool_tanh(h, b):
        if tuned:
            n, hh, ww, c = h.shape
            h = h.reshape(n, hh // 2, 2, ww // 2, 2, c).max(axis=(2, 4))
            return jnp.tanh(h + b)
        h = jnp.tanh(h)
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def forward(p, xb):
        if args.model == "mlp":
            h = xb.reshape(xb.shape[0], -1)
            h = jax.nn.relu(h @ p["fc1_weight"].T + p["fc1_bias"])
            h = jax.nn.relu(h @ p["fc2_weight"].T + p["fc2_bias"])
            return h @ p["fc3_weight"].T + p["fc3_bias"]
        h = jnp.transpose(xb, (0, 2, 3, 1)) if tuned else xb
        h = pool_tanh(*conv(h, p["conv1_weight"], p["conv1_bias"]))
        h = pool_tanh(*conv(h, p["conv2_weight"], p["conv2_bias"]))
        if tuned:  # back to MXNet's (C, H, W) flatten order
            h = jnp.transpose(h, (0, 3, 1, 2))
        h = h.reshape(h.shape[0], -1)
        h = jnp.tanh(h @ p["fc1_weight"].T + p["fc1_bias"])
        return h @ p["fc2_weight"].T + p["fc2_bias"]

    tx = optax.sgd(common.LR)

    if args.model == "resnet20":
        # SoftmaxOutput: its backward (softmax - onehot) / 1 is what a ones head-gradient gives;
        # optax.sgd applies it (MXNet's rescale_grad = 1 / batch is folded in here).
        def graph_step(p, opt, a, xb, yb):
            def f(pp):
                outs, new_a = graph.apply({**pp, "data": xb, "softmax_label": yb}, a, None,
                                          True)
                return outs, new_a
            outs, vjp, new_a = jax.vjp(f, p, has_aux=True)
            (g,) = vjp(tuple(jnp.ones_like(o) for o in outs))
            g = jax.tree.map(lambda v: v / xb.shape[0], g)
            upd, opt = tx.update(g, opt, p)
            return optax.apply_updates(p, upd), opt, new_a, outs[0]

        graph_step = jax.jit(graph_step, donate_argnums=(0, 1, 2), compiler_options=jit_opts)

        @functools.partial(jax.jit, compiler_options=jit_opts)
        def graph_predict(p, a, xb):
            outs, _ = graph.apply({**p, "data": xb,
                                   "softmax_label": jnp.zeros(xb.shape[0])}, a, None, False)
            return outs[0]

    def loss_fn(p, xb, yb):
        logits = forward(p, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @functools.partial(jax.jit, compiler_options=jit_opts)
    def predict(p, xb):
        return jax.nn.softmax(forward(p, xb))

    def step(p, opt, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, yb)
        upd, opt = tx.update(g, opt, p)
        return optax.apply_updates(p, upd), opt, loss

    step_fn = step
    step = jax.jit(step, donate_argnums=(0, 1), compiler_options=jit_opts)
    nb = args.n // common.BATCH
    # The first-step clock starts with the runtime up (CUDA's start-up is no step's cost) and
    # the data and parameters on the host, as symnet's starts at ``fit``: both clocks include
    # putting them on the device.
    jax.devices()
    t0 = time.perf_counter()
    xs = [jax.device_put(x[i * common.BATCH:(i + 1) * common.BATCH]) for i in range(nb)]
    ytype = np.float32 if args.model == "resnet20" else np.int32
    ys = [jax.device_put(y[i * common.BATCH:(i + 1) * common.BATCH].astype(ytype))
          for i in range(nb)]
    # Plain transfers of the host arrays (``jnp.asarray`` would compile a small program per
    # parameter shape, ~10-25 ms each, inside the clock).
    p = jax.device_put(dict(params))
    opt = jax.device_put(tx.init(p))
    a = jax.device_put(dict(aux))
    jax.block_until_ready((p, opt, a, xs, ys))
    if args.model == "resnet20":
        def step(p, opt, xb, yb, _s=graph_step):
            nonlocal a
            p, opt, a, out = _s(p, opt, a, xb, yb)
            return p, opt, out

        def predict(p, xb):
            return graph_predict(p, a, xb)

    if shuffle:
        # The same work as the MXNet tutorial's NDArrayIter(shuffle=True): a fresh order every
        # epoch (host permutation), each batch gathered inside the jitted step from the whole
        # data set on the device.
        if args.model == "resnet20":
            raise SystemExit("--variant shuffle: mlp and lenet only")
        x_all, y_all = jax.device_put(x), jax.device_put(y.astype(ytype))
        gathered = jax.jit(lambda p, opt, xa, ya, idx: step_fn(
            p, opt, jnp.take(xa, idx, axis=0), jnp.take(ya, idx, axis=0)),
            donate_argnums=(0, 1), compiler_options=jit_opts)

        def step(p, opt, idx):
            return gathered(p, opt, x_all, y_all, idx)

        order = np.random.RandomState(0)

    epoch_times, first = [], None
    for epoch in range(args.epochs):
        if args.trace and epoch == common.TRACE_EPOCH:
            jax.profiler.start_trace(args.trace)
        te = time.perf_counter()
        if shuffle:
            perm = order.permutation(args.n).astype(np.int32).reshape(nb, -1)
            batches = [(b,) for b in jax.device_put(list(perm))]
        else:
            batches = [(xs[i], ys[i]) for i in range(nb)]
        for i in range(nb):
            p, opt, loss = step(p, opt, *batches[i])
            if first is None:
                jax.block_until_ready(loss)
                first = time.perf_counter() - t0
        jax.block_until_ready((p, loss))
        epoch_times.append(time.perf_counter() - te)
        if args.trace and epoch == common.TRACE_EPOCH:
            jax.profiler.stop_trace()

    pred_sps = None
    if args.npred:
        npb = args.npred // common.BATCH
        xp = [xs[i % nb] for i in range(npb)]
        jax.block_until_ready(predict(p, xp[0]))
        times = []
        for _ in range(3):
            t = time.perf_counter()
            outs = [predict(p, xb) for xb in xp]
            jax.block_until_ready(outs)
            times.append(time.perf_counter() - t)
        pred_sps = args.npred / min(times)
    common.emit("jax", args, epoch_times=epoch_times, first_step_s=first,
                predict_sps=pred_sps, final_loss=float(jnp.mean(loss)), jax=jax.__version__,
                platform=jax.default_backend())


if __name__ == "__main__":
    main()
