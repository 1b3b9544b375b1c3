"""GoogLeNet / Inception v1 (Szegedy et al., 2014), as MXNet's model zoo defines it.

Reproduces ``example/image-classification/symbols/googlenet.py`` of MXNet 1.9.1: a conv stem
(``conv1`` 7x7/2, ``conv2`` 1x1, ``conv3`` 3x3), nine inception blocks ``in3a``..``in5b`` (each
a concat of 1x1, 1x1->3x3, 1x1->5x5 and 3x3-max-pool->1x1 branches), global average pooling and
one FC layer. Every convolution is ``conv_<name>`` followed by ReLU ``relu_<name>``; the stem and
inter-stage max-pools, flatten and FC are auto-named (``pooling0``, ``fullyconnected0``), so
build it in a fresh ``mx.name.NameManager`` (``graphs.build('googlenet')``).
Input: (batch, 3, 224, 224). No auxiliary classifiers (as in MXNet's definition).
"""
from __future__ import annotations

import symnet as mx

from ._common import check_dtype

# name -> (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection)
_BLOCKS = (
    ("in3a", (64, 96, 128, 16, 32, 32)),
    ("in3b", (128, 128, 192, 32, 96, 64)),
    "pool",
    ("in4a", (192, 96, 208, 16, 48, 64)),
    ("in4b", (160, 112, 224, 24, 64, 64)),
    ("in4c", (128, 128, 256, 24, 64, 64)),
    ("in4d", (112, 144, 288, 32, 64, 64)),
    ("in4e", (256, 160, 320, 32, 128, 128)),
    "pool",
    ("in5a", (256, 160, 320, 32, 128, 128)),
    ("in5b", (384, 192, 384, 48, 128, 128)),
)


def conv_relu(data: mx.sym.Symbol, num_filter: int, kernel: int, name: str, stride: int = 1,
              pad: int = 0) -> mx.sym.Symbol:
    """Convolution ``conv_<name>`` + ReLU ``relu_<name>`` (MXNet's ConvFactory)."""
    conv = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(kernel, kernel),
                              stride=(stride, stride), pad=(pad, pad), name=f"conv_{name}")
    return mx.sym.Activation(data=conv, act_type="relu", name=f"relu_{name}")


def inception(data: mx.sym.Symbol, name: str, num_1x1: int, num_3x3red: int, num_3x3: int,
              num_5x5red: int, num_5x5: int, proj: int) -> mx.sym.Symbol:
    """One inception block: four branches concatenated on channels."""
    c1x1 = conv_relu(data, num_1x1, 1, f"{name}_1x1")
    c3x3 = conv_relu(data, num_3x3red, 1, f"{name}_3x3_reduce")
    c3x3 = conv_relu(c3x3, num_3x3, 3, f"{name}_3x3", pad=1)
    c5x5 = conv_relu(data, num_5x5red, 1, f"{name}_5x5_reduce")
    c5x5 = conv_relu(c5x5, num_5x5, 5, f"{name}_5x5", pad=2)
    pool = mx.sym.Pooling(data=data, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="max",
                          name=f"max_pool_{name}_pool")
    cproj = conv_relu(pool, proj, 1, f"{name}_proj")
    return mx.sym.Concat(c1x1, c3x3, c5x5, cproj, name=f"ch_concat_{name}_chconcat")


def _max_pool(data: mx.sym.Symbol) -> mx.sym.Symbol:
    return mx.sym.Pooling(data=data, kernel=(3, 3), stride=(2, 2), pool_type="max")


def get_symbol(num_classes: int = 1000, dtype: str = "float32", **kwargs) -> mx.sym.Symbol:
    """GoogLeNet. data: (batch, 3, 224, 224) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        dtype: only 'float32' is supported.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).
    """
    check_dtype("googlenet", dtype)
    net = mx.sym.Variable("data")
    net = conv_relu(net, 64, 7, "conv1", stride=2, pad=3)
    net = _max_pool(net)
    net = conv_relu(net, 64, 1, "conv2")
    net = conv_relu(net, 192, 3, "conv3", pad=1)
    net = _max_pool(net)
    for block in _BLOCKS:
        if block == "pool":
            net = _max_pool(net)
        else:
            name, filters = block
            net = inception(net, name, *filters)
    net = mx.sym.Pooling(data=net, kernel=(7, 7), stride=(1, 1), global_pool=True,
                         pool_type="avg")
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
