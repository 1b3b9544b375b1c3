"""The PyTorch-tutorial baseline MLP for MNIST: 784 -> 784 relu -> 10.

Origin: the PyTorch tutorial baseline among symnet's seed tutorials (``nn.Linear(784, 784)``,
``ReLU``, ``nn.Linear(784, 10)``, ``CrossEntropyLoss``, ``optim.SGD(lr=0.01)``). The layout is
the "baseline model with multilayer perceptrons" of Jason Brownlee's MNIST tutorial (one hidden
layer as wide as the input, ``num_pixels = 784``).

RECIPE: SGD, learning rate 0.01, no momentum (the PyTorch tutorial); 10 epochs with batch size
200 (Brownlee's ``epochs=10, batch_size=200``).
Initializer: Xavier (Glorot uniform, MXNet's ``Xavier()`` defaults), a stand-in for PyTorch's
layer default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, which is MXNet's
``Xavier(rnd_type='uniform', factor_type='in', magnitude=1)``; that exact form is the spec
``TORCH_DEFAULT_INIT`` (``graphs.initializer`` reads it).
"""
from __future__ import annotations

import symnet as mx

TORCH_DEFAULT_INIT = "xavier(rnd_type='uniform', factor_type='in', magnitude=1)"

RECIPE = {
    "optimizer": "sgd",
    "optimizer_params": {"learning_rate": 0.01},
    "lr_schedule": None,
    "num_epoch": 10,
    "batch_size": 200,
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
    net = mx.sym.FullyConnected(data=net, name="fc1", num_hidden=784)
    net = mx.sym.Activation(data=net, name="relu1", act_type="relu")
    net = mx.sym.FullyConnected(data=net, name="fc2", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
