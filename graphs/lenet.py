"""MXNet's MNIST LeNet: two 5x5 tanh conv + max-pool stages, FC 500 tanh, FC 10.

Origin: the MXNet "Handwritten Digit Recognition" tutorial (``docs/tutorials/python/mnist.md``)
and ``example/image-classification/symbols/lenet.py`` (which adds the optional spatial
transformer front end, ``add_stn=True``). As in MXNet, only ``softmax`` (and ``stn_loc``) are
named explicitly; the other layers take MXNet's auto names (``convolution0``, ``activation0``,
``pooling0``, ..., ``fullyconnected1``). Built inside a fresh ``mx.name.NameManager`` (as
``graphs.build('lenet')`` does) the graph equals MXNet's ``lenet-symbol.json`` /
``lenet-stn-symbol.json``, so parameter names match MXNet checkpoints.

RECIPE: the tutorial's ``optimizer='sgd'``, ``learning_rate=0.1``, ``num_epoch=10``,
``batch_size=100``; fit's default initializer ``Uniform(0.01)``.
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


def _spatial_transformer(data: mx.sym.Symbol) -> mx.sym.Symbol:
    """Localisation net + affine SpatialTransformer, output (batch, 1, 28, 28)."""
    loc = mx.sym.Convolution(data=data, num_filter=30, kernel=(5, 5), stride=(2, 2))
    loc = mx.sym.Activation(data=loc, act_type="relu")
    loc = mx.sym.Pooling(data=loc, kernel=(2, 2), stride=(2, 2), pool_type="max")
    loc = mx.sym.Convolution(data=loc, num_filter=60, kernel=(3, 3), stride=(1, 1), pad=(1, 1))
    loc = mx.sym.Activation(data=loc, act_type="relu")
    loc = mx.sym.Pooling(data=loc, global_pool=True, kernel=(2, 2), pool_type="avg")
    loc = mx.sym.Flatten(data=loc)
    # MXNet compat: the localisation layer learns 100x slower (attr lr_mult), as in MXNet's lenet.
    loc = mx.sym.FullyConnected(data=loc, num_hidden=6, name="stn_loc", attr={"lr_mult": "0.01"})
    return mx.sym.SpatialTransformer(data=data, loc=loc, target_shape=(28, 28),
                                     transform_type="affine", sampler_type="bilinear")


def get_symbol(num_classes: int = 10, add_stn: bool = False, **kwargs) -> mx.sym.Symbol:
    """LeNet. data: (batch, 1, 28, 28) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        add_stn: prepend MXNet's spatial-transformer front end (28x28 inputs only).
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).
    """
    data = mx.sym.Variable("data")
    if add_stn:
        data = _spatial_transformer(data)
    net = data
    for num_filter in (20, 50):
        net = mx.sym.Convolution(data=net, kernel=(5, 5), num_filter=num_filter)
        net = mx.sym.Activation(data=net, act_type="tanh")
        net = mx.sym.Pooling(data=net, pool_type="max", kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=500)
    net = mx.sym.Activation(data=net, act_type="tanh")
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
