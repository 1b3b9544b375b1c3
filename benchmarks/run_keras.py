"""Keras 3 on the JAX backend: ``model.fit`` (jit_compile default), same nets, init and data.

Runs in /work/kerasvenv with KERAS_BACKEND=jax. Keras convolutions are channels_last, so the
images are fed NHWC and the MXNet OIHW weights are transposed to HWIO (FC1 rows permuted so the
flatten order matches MXNet's (C, H, W)).
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main() -> None:
    args = common.parser("keras").parse_args()
    import jax
    import keras
    import numpy as np
    from keras import layers

    x, y, params = common.load(args.data, args.model, args.n)
    if args.model == "mlp":
        model = keras.Sequential([keras.Input((1, 28, 28)), layers.Flatten(),
                                  layers.Dense(128, activation="relu"),
                                  layers.Dense(64, activation="relu"), layers.Dense(10)])
        weights = []
        for n in ("fc1", "fc2", "fc3"):
            weights += [params[n + "_weight"].T, params[n + "_bias"]]
    else:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        model = keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(20, 5, activation="tanh"),
            layers.MaxPooling2D(2, 2), layers.Conv2D(50, 5, activation="tanh"),
            layers.MaxPooling2D(2, 2), layers.Flatten(), layers.Dense(500, activation="tanh"),
            layers.Dense(10)])
        # Keras flattens (H, W, C); MXNet (C, H, W): permute fc1's input rows accordingly.
        fc1 = params["fc1_weight"].reshape(500, 50, 4, 4).transpose(2, 3, 1, 0).reshape(800, 500)
        weights = [params["conv1_weight"].transpose(2, 3, 1, 0), params["conv1_bias"],
                   params["conv2_weight"].transpose(2, 3, 1, 0), params["conv2_bias"],
                   fc1, params["fc1_bias"], params["fc2_weight"].T, params["fc2_bias"]]
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(common.LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    yi = y.astype(np.int32)

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.first, self.stamps = None, []

        def on_train_batch_end(self, batch, logs=None):
            if self.first is None:
                jax.block_until_ready(self.model.trainable_variables[0].value)
                self.first = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            jax.block_until_ready(self.model.trainable_variables[0].value)
            self.stamps.append(time.perf_counter() - self.start)

    timer = Timer()
    t0 = time.perf_counter()
    hist = model.fit(x, yi, batch_size=common.BATCH, epochs=args.epochs, shuffle=True,
                     verbose=0, callbacks=[timer])
    pred_sps = None
    if args.npred:
        xp = np.resize(x, (args.npred,) + x.shape[1:])
        model.predict(xp, batch_size=common.BATCH, verbose=0)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            model.predict(xp, batch_size=common.BATCH, verbose=0)
            times.append(time.perf_counter() - t)
        pred_sps = args.npred / min(times)
    common.emit("keras", args, epoch_times=timer.stamps, first_step_s=timer.first - t0,
                predict_sps=pred_sps, final_loss=float(hist.history["loss"][-1]),
                keras=keras.__version__, jax=jax.__version__,
                platform=jax.default_backend())


if __name__ == "__main__":
    main()
