"""MobileNet v1 (Howard et al., 2017) with a width multiplier, MXNet's zoo layout.

Reproduces ``example/image-classification/symbols/mobilenet.py`` of MXNet 1.9.1: ``conv_1``
(3x3/2) then 13 depthwise-separable pairs ``conv_{k}_dw`` (3x3 depthwise, ``num_group`` =
channels) + ``conv_{k}`` (1x1 pointwise), each ``<name>_conv2d`` -> ``<name>_batchnorm``
(``fix_gamma=True``, MXNet's definition) -> ``<name>_relu``; then ``global_pool`` (7x7 average),
``flatten``, ``fc``, ``softmax``. Every layer is named. Channel counts are
``int(base * multiplier)`` (multiplier 1.0 and 0.25 match MXNet's ``mobilenet-1.0`` /
``mobilenet-0.25``). Input: (batch, 3, 224, 224).
"""
from __future__ import annotations

import symnet as mx
from symnet.base import ParamError

from ._common import check_dtype

# (input channels of the depthwise conv, output channels of the pointwise conv, stride)
_SEPARABLE = ((32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
              (256, 512, 2)) + ((512, 512, 1),) * 5 + ((512, 1024, 2), (1024, 1024, 1))


def conv_block(data: mx.sym.Symbol, num_filter: int, kernel: int, stride: int, pad: int,
               num_group: int, name: str) -> mx.sym.Symbol:
    """``<name>_conv2d`` (no bias) -> ``<name>_batchnorm`` -> ``<name>_relu``."""
    net = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(kernel, kernel),
                             num_group=num_group, stride=(stride, stride), pad=(pad, pad),
                             no_bias=True, name=f"{name}_conv2d")
    net = mx.sym.BatchNorm(data=net, name=f"{name}_batchnorm", fix_gamma=True)
    return mx.sym.Activation(data=net, name=f"{name}_relu", act_type="relu")


def get_symbol(num_classes: int = 1000, multiplier: float = 1.0, dtype: str = "float32",
               **kwargs) -> mx.sym.Symbol:
    """MobileNet. data: (batch, 3, 224, 224) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        multiplier: width multiplier alpha (e.g. 1.0, 0.75, 0.5, 0.25).
        dtype: only 'float32' is supported.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).

    Raises:
        ParamError: a multiplier that leaves a layer with no channels.
    """
    check_dtype("mobilenet", dtype)
    if int(32 * multiplier) < 1:
        raise ParamError(f"mobilenet: multiplier={multiplier!r} is too small; every layer "
                         "needs at least one channel (use >= 1/32)")

    def width(channels: int) -> int:
        return int(channels * multiplier)

    net = mx.sym.Variable(name="data")
    net = conv_block(net, width(32), 3, 2, 1, 1, "conv_1")
    for k, (c_in, c_out, stride) in enumerate(_SEPARABLE, start=2):
        net = conv_block(net, width(c_in), 3, stride, 1, width(c_in), f"conv_{k}_dw")
        net = conv_block(net, width(c_out), 1, 1, 0, 1, f"conv_{k}")
    net = mx.sym.Pooling(data=net, kernel=(7, 7), stride=(1, 1), pool_type="avg",
                         name="global_pool")
    net = mx.sym.Flatten(data=net, name="flatten")
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes, name="fc")
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
