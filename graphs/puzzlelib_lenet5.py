"""PuzzleLib's "lenet-5-like" MNIST network: two conv / max-pool / relu stages, FC 1024, FC 10.

Origin: PuzzleLib's MNIST example (``Sequential(name="lenet-5-like")``: ``Conv2D(1, 16, 3)``,
``MaxPool2D()``, ``relu``, ``Conv2D(16, 32, 4)``, ``MaxPool2D()``, ``relu``, ``Flatten``,
``Linear(800, 1024)``, ``relu``, ``Linear(1024, 10)``, loss ``CrossEntropy``). Shapes:
28 -conv3-> 26 -pool-> 13 -conv4-> 10 -pool-> 5, so the flattened features are 32*5*5 = 800.
Note PuzzleLib pools *before* the relu (equivalent for max-pooling; kept in that order).

RECIPE (from that example): ``MomentumSGD`` with ``learnRate = 0.1`` and ``momRate = 0.9``,
``learnRate *= 0.9`` after every epoch (an MXNet FactorScheduler with step = one epoch),
15 epochs, ``Trainer`` default ``batchsize=128``. Initializer: Xavier (symnet's choice for this
port; PuzzleLib's own init schemes are not reproduced).
"""
from __future__ import annotations

import symnet as mx

RECIPE = {
    "optimizer": "sgd",
    "optimizer_params": {"learning_rate": 0.1, "momentum": 0.9},
    "lr_schedule": {"type": "factor", "step_epochs": 1, "factor": 0.9},
    "num_epoch": 15,
    "batch_size": 128,
    "initializer": "xavier",
    "input_shape": (1, 28, 28),
}


def get_symbol(num_classes: int = 10, **kwargs) -> mx.sym.Symbol:
    """data: (batch, 1, 28, 28) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        **kwargs: accepted and ignored.
    """
    net = mx.sym.Variable("data")
    for i, (num_filter, kernel) in enumerate(((16, 3), (32, 4)), start=1):
        net = mx.sym.Convolution(data=net, name=f"conv{i}", num_filter=num_filter,
                                 kernel=(kernel, kernel))
        net = mx.sym.Pooling(data=net, name=f"pool{i}", pool_type="max", kernel=(2, 2),
                             stride=(2, 2))
        net = mx.sym.Activation(data=net, name=f"relu{i}", act_type="relu")
    net = mx.sym.Flatten(data=net, name="flatten")
    net = mx.sym.FullyConnected(data=net, name="fc1", num_hidden=1024)
    net = mx.sym.Activation(data=net, name="relu3", act_type="relu")
    net = mx.sym.FullyConnected(data=net, name="fc2", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
