"""The three-layer sigmoid network of "Deep Learning from Scratch": 784 -> 50 -> 100 -> 10.

Origin: Koki Saito, "Deep Learning from Scratch" (O'Reilly Japan, 2016), chapter 3
(``neuralnet_mnist.py``: ``W1`` 784x50, ``W2`` 50x100, ``W3`` 100x10, sigmoid hidden
activations, softmax output), trained the book's way (chapters 4-5, ``train_neuralnet.py``).

RECIPE: plain SGD, learning rate 0.1, mini-batch 100 (the book's ``learning_rate = 0.1``,
``batch_size = 100``); the book runs ``iters_num = 10000`` iterations over 60,000 images,
about 17 epochs. Initializer: Xavier, as the book's chapter 6 recommends for sigmoid nets (the
book's ``N(0, 1/fan_in)`` is MXNet's ``Xavier(rnd_type='gaussian', factor_type='in',
magnitude=1)``; MXNet's default Glorot-uniform has the same variance for square layers);
chapter 4's ``weight_init_std = 0.01`` barely moves a three-layer sigmoid net.
"""
from __future__ import annotations

import symnet as mx

RECIPE = {
    "optimizer": "sgd",
    "optimizer_params": {"learning_rate": 0.1},
    "lr_schedule": None,
    "num_epoch": 17,
    "batch_size": 100,
    "initializer": "xavier",
    "input_shape": (784,),
}


def get_symbol(num_classes: int = 10, **kwargs) -> mx.sym.Symbol:
    """data: (batch, 784) or (batch, 1, 28, 28) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        **kwargs: accepted and ignored.
    """
    net = mx.sym.Flatten(data=mx.sym.Variable("data"), name="flatten")
    for i, num_hidden in enumerate((50, 100), start=1):
        net = mx.sym.FullyConnected(data=net, name=f"fc{i}", num_hidden=num_hidden)
        net = mx.sym.Activation(data=net, name=f"sigmoid{i}", act_type="sigmoid")
    net = mx.sym.FullyConnected(data=net, name="fc3", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
