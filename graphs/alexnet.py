"""AlexNet (Krizhevsky, Sutskever, Hinton, 2012), single-tower, as MXNet's model zoo defines it.

Reproduces ``example/image-classification/symbols/alexnet.py`` of MXNet 1.9.1 node for node:
five convolutions (``conv1``..``conv5``) with ReLU, local response normalisation after the first
two, three max-pools, then ``fc1``/``fc2`` (4096, ReLU, dropout 0.5) and ``fc3``. Activation,
LRN, pooling, flatten and dropout layers are auto-named (``activation0``, ``lrn0``...), so build
it in a fresh ``mx.name.NameManager`` (``graphs.build('alexnet')``) to get MXNet's names.
Input: (batch, 3, 224, 224).
"""
from __future__ import annotations

import symnet as mx

from ._common import check_dtype

# (name, num_filter, kernel, stride, pad, lrn_and_pool_after)
_CONVS = (
    ("conv1", 96, 11, 4, 0, "lrn_pool"),
    ("conv2", 256, 5, 1, 2, "lrn_pool"),
    ("conv3", 384, 3, 1, 1, ""),
    ("conv4", 384, 3, 1, 1, ""),
    ("conv5", 256, 3, 1, 1, "pool"),
)


def _conv(data: mx.sym.Symbol, name: str, num_filter: int, kernel: int, stride: int,
          pad: int) -> mx.sym.Symbol:
    kwargs = {"kernel": (kernel, kernel), "num_filter": num_filter}
    # MXNet compat: attrs record only the arguments MXNet's definition passed.
    if stride != 1:
        kwargs["stride"] = (stride, stride)
    if pad:
        kwargs["pad"] = (pad, pad)
    return mx.sym.Convolution(data=data, name=name, **kwargs)


def get_symbol(num_classes: int = 1000, dtype: str = "float32", **kwargs) -> mx.sym.Symbol:
    """AlexNet. data: (batch, 3, 224, 224) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        dtype: only 'float32' is supported.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).
    """
    check_dtype("alexnet", dtype)
    net = mx.sym.Variable("data")
    for name, num_filter, kernel, stride, pad, after in _CONVS:
        net = _conv(net, name, num_filter, kernel, stride, pad)
        net = mx.sym.Activation(data=net, act_type="relu")
        if after == "lrn_pool":
            net = mx.sym.LRN(data=net, alpha=0.0001, beta=0.75, knorm=2, nsize=5)
        if after:
            net = mx.sym.Pooling(data=net, pool_type="max", kernel=(3, 3), stride=(2, 2))
    net = mx.sym.Flatten(data=net)
    for name in ("fc1", "fc2"):
        net = mx.sym.FullyConnected(data=net, name=name, num_hidden=4096)
        net = mx.sym.Activation(data=net, act_type="relu")
        net = mx.sym.Dropout(data=net, p=0.5)
    net = mx.sym.FullyConnected(data=net, name="fc3", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
