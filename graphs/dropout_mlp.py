"""A two-hidden-layer MLP with dropout: 784 -> 512 relu, dropout 0.2 -> 512 relu, dropout 0.2 -> 10.

Origin: the dropout MLP of the MNIST tutorials (the layout of Keras' ``examples/mnist_mlp.py``:
``Dense(512, relu)``, ``Dropout(0.2)``, ``Dense(512, relu)``, ``Dropout(0.2)``, ``Dense(10)``),
trained with plain SGD as in symnet's seed tutorial.

RECIPE: SGD with learning rate 0.05 (the seed tutorial's value; Keras' example uses RMSprop),
batch size 128 and 20 epochs (``mnist_mlp.py``'s ``batch_size = 128``, ``epochs = 20``).
Initializer: Xavier (Keras' default ``glorot_uniform``).
"""
from __future__ import annotations

import symnet as mx

RECIPE = {
    "optimizer": "sgd",
    "optimizer_params": {"learning_rate": 0.05},
    "lr_schedule": None,
    "num_epoch": 20,
    "batch_size": 128,
    "initializer": "xavier",
    "input_shape": (784,),
}


def get_symbol(num_classes: int = 10, dropout: float = 0.2, **kwargs) -> mx.sym.Symbol:
    """data: (batch, 784) or (batch, 1, 28, 28) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        dropout: drop probability after each hidden layer.
        **kwargs: accepted and ignored.
    """
    net = mx.sym.Flatten(data=mx.sym.Variable("data"), name="flatten")
    for i in (1, 2):
        net = mx.sym.FullyConnected(data=net, name=f"fc{i}", num_hidden=512)
        net = mx.sym.Activation(data=net, name=f"relu{i}", act_type="relu")
        net = mx.sym.Dropout(data=net, name=f"drop{i}", p=dropout)
    net = mx.sym.FullyConnected(data=net, name="fc3", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
