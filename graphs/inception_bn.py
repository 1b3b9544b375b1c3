"""Inception with batch normalisation (Ioffe & Szegedy, 2015), as MXNet's model zoo defines it.

Reproduces the ImageNet branch of ``example/image-classification/symbols/inception-bn.py`` of
MXNet 1.9.1: every convolution is ``conv_<name>`` + BatchNorm ``bn_<name>`` + ReLU
``relu_<name>``. Stem ``1`` (7x7/2), ``pool_1``, ``2_red`` (1x1), ``2`` (3x3), ``pool_2``; then
"A" blocks (1x1 | 1x1->3x3 | 1x1->3x3->3x3 | pool->1x1 projection) and two stride-2 "B"
reduction blocks ``3c``/``4e`` (1x1->3x3/2 | 1x1->3x3->3x3/2 | 3x3/2 max-pool); ``global_pool``
(7x7 average), flatten and FC (auto-named ``flatten0`` / ``fullyconnected0``: build in a fresh
``mx.name.NameManager``, e.g. ``graphs.build('inception-bn')``). Input: (batch, 3, 224, 224).
"""
from __future__ import annotations

import symnet as mx
from symnet.base import ParamError

from ._common import check_dtype, parse_image_shape

# MXNet compat: MXNet's definition uses eps = 1e-10 + 1e-5 (stored as '1.0000100000000001e-05').
BN_EPS = 1e-10 + 1e-5
BN_MOMENTUM = 0.9

# ("A", name, 1x1, 3x3 reduce, 3x3, double-3x3 reduce, double-3x3, pool type, projection)
# ("B", name, 3x3 reduce, 3x3, double-3x3 reduce, double-3x3)
_BLOCKS = (
    ("A", "3a", 64, 64, 64, 64, 96, "avg", 32),
    ("A", "3b", 64, 64, 96, 64, 96, "avg", 64),
    ("B", "3c", 128, 160, 64, 96),
    ("A", "4a", 224, 64, 96, 96, 128, "avg", 128),
    ("A", "4b", 192, 96, 128, 96, 128, "avg", 128),
    ("A", "4c", 160, 128, 160, 128, 160, "avg", 128),
    ("A", "4d", 96, 128, 192, 160, 192, "avg", 128),
    ("B", "4e", 128, 192, 192, 256),
    ("A", "5a", 352, 192, 320, 160, 224, "avg", 128),
    ("A", "5b", 352, 192, 320, 192, 224, "max", 128),
)


def conv_bn_relu(data: mx.sym.Symbol, num_filter: int, kernel: int, name: str, stride: int = 1,
                 pad: int = 0) -> mx.sym.Symbol:
    """``conv_<name>`` -> ``bn_<name>`` -> ``relu_<name>`` (MXNet's ConvFactory)."""
    net = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(kernel, kernel),
                             stride=(stride, stride), pad=(pad, pad), name=f"conv_{name}")
    net = mx.sym.BatchNorm(data=net, fix_gamma=False, eps=BN_EPS, momentum=BN_MOMENTUM,
                           name=f"bn_{name}")
    return mx.sym.Activation(data=net, act_type="relu", name=f"relu_{name}")


def _double_3x3(data: mx.sym.Symbol, name: str, num_red: int, num: int,
                stride: int) -> mx.sym.Symbol:
    net = conv_bn_relu(data, num_red, 1, f"{name}_double_3x3_reduce")
    net = conv_bn_relu(net, num, 3, f"{name}_double_3x3_0", pad=1)
    return conv_bn_relu(net, num, 3, f"{name}_double_3x3_1", stride=stride, pad=1)


def inception_a(data: mx.sym.Symbol, name: str, num_1x1: int, num_3x3red: int, num_3x3: int,
                num_d3x3red: int, num_d3x3: int, pool: str, proj: int) -> mx.sym.Symbol:
    """Stride-1 block: 1x1 | 1x1->3x3 | 1x1->3x3->3x3 | pool->1x1, concatenated."""
    c1x1 = conv_bn_relu(data, num_1x1, 1, f"{name}_1x1")
    c3x3 = conv_bn_relu(data, num_3x3red, 1, f"{name}_3x3_reduce")
    c3x3 = conv_bn_relu(c3x3, num_3x3, 3, f"{name}_3x3", pad=1)
    cd3x3 = _double_3x3(data, name, num_d3x3red, num_d3x3, stride=1)
    pooled = mx.sym.Pooling(data=data, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type=pool,
                            name=f"{pool}_pool_{name}_pool")
    cproj = conv_bn_relu(pooled, proj, 1, f"{name}_proj")
    return mx.sym.Concat(c1x1, c3x3, cd3x3, cproj, name=f"ch_concat_{name}_chconcat")


def inception_b(data: mx.sym.Symbol, name: str, num_3x3red: int, num_3x3: int,
                num_d3x3red: int, num_d3x3: int) -> mx.sym.Symbol:
    """Stride-2 reduction block: 1x1->3x3/2 | 1x1->3x3->3x3/2 | 3x3/2 max-pool."""
    c3x3 = conv_bn_relu(data, num_3x3red, 1, f"{name}_3x3_reduce")
    c3x3 = conv_bn_relu(c3x3, num_3x3, 3, f"{name}_3x3", stride=2, pad=1)
    cd3x3 = _double_3x3(data, name, num_d3x3red, num_d3x3, stride=2)
    pooled = mx.sym.Pooling(data=data, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                            pool_type="max", name=f"max_pool_{name}_pool")
    return mx.sym.Concat(c3x3, cd3x3, pooled, name=f"ch_concat_{name}_chconcat")


def get_symbol(num_classes: int = 1000, image_shape="3,224,224", dtype: str = "float32",
               **kwargs) -> mx.sym.Symbol:
    """Inception-BN. data: (batch, 3, 224, 224) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        image_shape: 'C,H,W'; only the ImageNet layout (H, W >= 224) is built.
        dtype: only 'float32' is supported.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).

    Raises:
        ParamError: a small (CIFAR-size) image_shape or another dtype.
    """
    check_dtype("inception_bn", dtype)
    _, height, _ = parse_image_shape("inception_bn", image_shape)
    if height < 224:
        raise ParamError(f"inception_bn: image_shape={image_shape!r}: only the ImageNet "
                         "variant (224x224 inputs) is built; MXNet's 28x28 variant is not")
    net = mx.sym.Variable("data")
    net = conv_bn_relu(net, 64, 7, "1", stride=2, pad=3)
    net = mx.sym.Pooling(data=net, kernel=(3, 3), stride=(2, 2), pool_type="max", name="pool_1")
    net = conv_bn_relu(net, 64, 1, "2_red")
    net = conv_bn_relu(net, 192, 3, "2", pad=1)
    net = mx.sym.Pooling(data=net, kernel=(3, 3), stride=(2, 2), pool_type="max", name="pool_2")
    for kind, name, *filters in _BLOCKS:
        block = inception_a if kind == "A" else inception_b
        net = block(net, name, *filters)
    net = mx.sym.Pooling(data=net, kernel=(7, 7), stride=(1, 1), pool_type="avg",
                         name="global_pool")
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
