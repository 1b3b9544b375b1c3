"""LeNet-5 as PyTorch tutorials write it: tanh convolutions, average pooling, FC 84, FC 10.

Origin: the PyTorch LeNet-5 tutorial among symnet's seed tutorials (LeCun et al., 1998, as in
Eryk Lewinson's "Implementing Yann LeCun's LeNet-5 in PyTorch"), with ``nn.Conv2d(1, 6, 5,
padding=2)`` instead of resizing MNIST to 32x32: ``Tanh``, ``nn.AvgPool2d(2)``,
``nn.Conv2d(6, 16, 5)``, ``Tanh``, ``nn.AvgPool2d(2)``, ``nn.Conv2d(16, 120, 5)``, ``Tanh``,
``nn.Linear(120, 84)``, ``Tanh``, ``nn.Linear(84, 10)``. Shapes: 28 -> 28 -> 14 -> 10 -> 5 -> 1.

RECIPE: Adam, learning rate 1e-3, batch size 32, 15 epochs (Lewinson's ``LEARNING_RATE =
0.001``, ``BATCH_SIZE = 32``, ``N_EPOCHS = 15``). Initializer: Xavier (see
``torch_mlp``).
"""
from __future__ import annotations

import symnet as mx

RECIPE = {
    "optimizer": "adam",
    "optimizer_params": {"learning_rate": 0.001},
    "lr_schedule": None,
    "num_epoch": 15,
    "batch_size": 32,
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
    stages = ((6, (2, 2)), (16, (0, 0)), (120, (0, 0)))
    for i, (num_filter, pad) in enumerate(stages, start=1):
        net = mx.sym.Convolution(data=net, name=f"conv{i}", num_filter=num_filter,
                                 kernel=(5, 5), pad=pad)
        net = mx.sym.Activation(data=net, name=f"tanh{i}", act_type="tanh")
        if i < len(stages):
            net = mx.sym.Pooling(data=net, name=f"pool{i}", pool_type="avg", kernel=(2, 2),
                                 stride=(2, 2))
    net = mx.sym.Flatten(data=net, name="flatten")
    net = mx.sym.FullyConnected(data=net, name="fc1", num_hidden=84)
    net = mx.sym.Activation(data=net, name="tanh4", act_type="tanh")
    net = mx.sym.FullyConnected(data=net, name="fc2", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
