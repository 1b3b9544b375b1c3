"""The PyTorch-tutorial simple CNN for MNIST: conv 5x5x10 relu, max-pool, dropout, FC 128, FC 10.

Origin: the PyTorch tutorial CNN among symnet's seed tutorials, a port of the "simple
convolutional neural network" of Jason Brownlee's MNIST tutorial: ``nn.Conv2d(1, 10, 5,
padding=2)``, ``ReLU``, ``nn.MaxPool2d(2, stride=1)``, ``nn.Dropout(0.2)``, ``Flatten``,
``nn.Linear(10*27*27, 128)``, ``ReLU``, ``nn.Linear(128, 10)``. Shapes: 28 -conv(pad 2)-> 28
-pool(2, stride 1)-> 27, so 7290 features reach the first dense layer.

RECIPE: Adam with PyTorch's default learning rate 1e-3 (``optim.Adam(model.parameters())``), 10
epochs, batch size 200 (Brownlee's ``epochs=10, batch_size=200``). Initializer: Xavier
(see ``torch_mlp``).
"""
from __future__ import annotations

import symnet as mx

RECIPE = {
    "optimizer": "adam",
    "optimizer_params": {"learning_rate": 0.001},
    "lr_schedule": None,
    "num_epoch": 10,
    "batch_size": 200,
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
    net = mx.sym.Convolution(data=net, name="conv1", num_filter=10, kernel=(5, 5), pad=(2, 2))
    net = mx.sym.Activation(data=net, name="relu1", act_type="relu")
    net = mx.sym.Pooling(data=net, name="pool1", pool_type="max", kernel=(2, 2), stride=(1, 1))
    net = mx.sym.Dropout(data=net, name="drop1", p=0.2)
    net = mx.sym.Flatten(data=net, name="flatten")
    net = mx.sym.FullyConnected(data=net, name="fc1", num_hidden=128)
    net = mx.sym.Activation(data=net, name="relu2", act_type="relu")
    net = mx.sym.FullyConnected(data=net, name="fc2", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
