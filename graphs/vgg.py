"""VGG (Simonyan & Zisserman, 2014), 11/13/16/19 layers, with or without batch normalisation.

Reproduces ``example/image-classification/symbols/vgg.py`` of MXNet 1.9.1: stage ``i`` has
``conv{i}_{j}`` (3x3, pad 1) [+ ``bn{i}_{j}``] + ``relu{i}_{j}`` layers and ends in a 2x2
max-pool ``pool{i}``; the head is ``flatten``, ``fc6``/``fc7`` (4096, ReLU, dropout 0.5
``drop6``/``drop7``) and ``fc8``. All layers are named, so parameter names match MXNet's
``vgg-11`` / ``vgg-11-bn`` checkpoints. Input: (batch, 3, 224, 224).
"""
from __future__ import annotations

from typing import Sequence

import symnet as mx
from symnet.base import ParamError

from ._common import check_dtype

# num_layers -> convolutions per stage; filters per stage.
VGG_SPEC = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
FILTERS = (64, 128, 256, 512, 512)


def _features(data: mx.sym.Symbol, layers: Sequence[int], filters: Sequence[int],
              batch_norm: bool) -> mx.sym.Symbol:
    net = data
    for i, (num, num_filter) in enumerate(zip(layers, filters), start=1):
        for j in range(1, num + 1):
            net = mx.sym.Convolution(data=net, kernel=(3, 3), pad=(1, 1), num_filter=num_filter,
                                     name=f"conv{i}_{j}")
            if batch_norm:
                net = mx.sym.BatchNorm(data=net, name=f"bn{i}_{j}")
            net = mx.sym.Activation(data=net, act_type="relu", name=f"relu{i}_{j}")
        net = mx.sym.Pooling(data=net, pool_type="max", kernel=(2, 2), stride=(2, 2),
                             name=f"pool{i}")
    return net


def _classifier(data: mx.sym.Symbol, num_classes: int) -> mx.sym.Symbol:
    net = mx.sym.Flatten(data=data, name="flatten")
    for k in (6, 7):
        net = mx.sym.FullyConnected(data=net, num_hidden=4096, name=f"fc{k}")
        net = mx.sym.Activation(data=net, act_type="relu", name=f"relu{k}")
        net = mx.sym.Dropout(data=net, p=0.5, name=f"drop{k}")
    return mx.sym.FullyConnected(data=net, num_hidden=num_classes, name="fc8")


def get_symbol(num_classes: int = 1000, num_layers: int = 11, batch_norm: bool = False,
               dtype: str = "float32", **kwargs) -> mx.sym.Symbol:
    """VGG. data: (batch, 3, 224, 224) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        num_layers: 11, 13, 16 or 19.
        batch_norm: insert BatchNorm (MXNet defaults) after every convolution.
        dtype: only 'float32' is supported.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).

    Raises:
        ParamError: unsupported ``num_layers`` or ``dtype``.
    """
    check_dtype("vgg", dtype)
    if num_layers not in VGG_SPEC:
        raise ParamError(f"vgg: num_layers={num_layers!r} is not supported; expected one of "
                         f"{sorted(VGG_SPEC)}")
    data = mx.sym.Variable(name="data")
    net = _features(data, VGG_SPEC[num_layers], FILTERS, batch_norm)
    net = _classifier(net, num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
