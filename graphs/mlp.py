"""MXNet's MNIST multilayer perceptron: 784 -> 128 relu -> 64 relu -> 10.

Origin: the MXNet "Handwritten Digit Recognition" tutorial (``docs/tutorials/python/mnist.md``)
and ``example/image-classification/symbols/mlp.py``, the first network symnet trained. Layer
names (``fc1``, ``relu1``, ``fc2``, ``relu2``, ``fc3``, ``softmax``) are MXNet's, so this graph
equals MXNet's ``mlp-symbol.json`` and its checkpoints load unchanged.

RECIPE: the tutorial's ``mod.fit(..., optimizer='sgd', optimizer_params={'learning_rate': 0.1},
num_epoch=10)`` with ``batch_size = 100``; fit's default initializer is ``Uniform(0.01)``.
"""
from __future__ import annotations

import symnet as mx

RECIPE = {
    "optimizer": "sgd",
    "optimizer_params": {"learning_rate": 0.1},
    "lr_schedule": None,
    "num_epoch": 10,
    "batch_size": 100,
    "initializer": "uniform(0.01)",
    "input_shape": (1, 28, 28),
}


def get_symbol(num_classes: int = 10, **kwargs) -> mx.sym.Symbol:
    """The MLP. data: (batch, 1, 28, 28) or (batch, 784) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).
    """
    data = mx.sym.Variable("data")
    net = mx.sym.Flatten(data=data)
    net = mx.sym.FullyConnected(data=net, name="fc1", num_hidden=128)
    net = mx.sym.Activation(data=net, name="relu1", act_type="relu")
    net = mx.sym.FullyConnected(data=net, name="fc2", num_hidden=64)
    net = mx.sym.Activation(data=net, name="relu2", act_type="relu")
    net = mx.sym.FullyConnected(data=net, name="fc3", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
