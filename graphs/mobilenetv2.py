"""MobileNet v2 (Sandler et al., 2018) with a width multiplier, MXNet's zoo layout.

Reproduces ``example/image-classification/symbols/mobilenetv2.py`` of MXNet 1.9.1:
``first-3x3-conv`` (3x3/2, 32) -> seven sequences ``seq-{i}`` of inverted-residual blocks
``seq-{i}-block{j}`` (``-exp`` 1x1 expansion + ReLU6, ``-depthwise`` 3x3 + ReLU6, ``-linear``
1x1 without activation, and an ``elemwise_add`` ``-shortcut`` for every block after the first)
-> ``last-1x1-conv`` (1280) -> ``global_pool`` -> ``flatten`` -> ``fc`` -> ``softmax``. Each
conv is ``<name>-conv2d`` -> ``<name>-batchnorm`` (eps 1e-5) [-> ``<name>-relu6``, a ``clip``
to [0, 6]]. Every layer is named. Input: (batch, 3, 224, 224).
"""
from __future__ import annotations

import symnet as mx
from symnet.base import ParamError

from ._common import check_dtype

# (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
_SEQUENCES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))


def conv_block(data: mx.sym.Symbol, num_filter: int, name: str, kernel: int = 1,
               stride: int = 1, pad: int = 0, num_group: int = 1,
               relu6: bool = True) -> mx.sym.Symbol:
    """``<name>-conv2d`` -> ``<name>-batchnorm`` [-> ``<name>-relu6``]."""
    net = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(kernel, kernel),
                             num_group=num_group, stride=(stride, stride), pad=(pad, pad),
                             no_bias=True, name=f"{name}-conv2d")
    net = mx.sym.BatchNorm(data=net, name=f"{name}-batchnorm", fix_gamma=False,
                           use_global_stats=False, eps=1e-5)
    if relu6:
        net = mx.sym.clip(net, a_min=0, a_max=6, name=f"{name}-relu6")
    return net


def inverted_residual(data: mx.sym.Symbol, in_channels: int, out_channels: int, t: int,
                      stride: int, name: str, shortcut: bool) -> mx.sym.Symbol:
    """1x1 expand (x t) -> 3x3 depthwise -> 1x1 linear [+ data]; (N, out, H/s, W/s)."""
    hidden = in_channels * t
    net = conv_block(data, hidden, f"{name}-exp")
    net = conv_block(net, hidden, f"{name}-depthwise", kernel=3, stride=stride, pad=1,
                     num_group=hidden)
    net = conv_block(net, out_channels, f"{name}-linear", relu6=False)
    if shortcut:
        net = mx.sym.elemwise_add(data, net, name=f"{name}-shortcut")
    return net


def get_symbol(num_classes: int = 1000, multiplier: float = 1.0, dtype: str = "float32",
               **kwargs) -> mx.sym.Symbol:
    """MobileNet v2. data: (batch, 3, 224, 224) -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        multiplier: width multiplier; channels are ``int(c * multiplier)``, and the last 1x1
            convolution keeps 1280 channels unless multiplier > 1.
        dtype: only 'float32' is supported.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).

    Raises:
        ParamError: a multiplier that leaves a layer with no channels.
    """
    check_dtype("mobilenetv2", dtype)
    if int(16 * multiplier) < 1:
        raise ParamError(f"mobilenetv2: multiplier={multiplier!r} is too small; every layer "
                         "needs at least one channel (use >= 1/16)")
    channels = int(32 * multiplier)
    net = mx.sym.Variable(name="data")
    net = conv_block(net, channels, "first-3x3-conv", kernel=3, stride=2, pad=1)
    for i, (t, c, n, s) in enumerate(_SEQUENCES):
        out = int(c * multiplier)
        for j in range(n):
            net = inverted_residual(net, channels, out, t, s if j == 0 else 1,
                                    f"seq-{i}-block{j}", shortcut=j > 0)
            channels = out
    last = int(1280 * multiplier) if multiplier > 1.0 else 1280
    net = conv_block(net, last, "last-1x1-conv")
    net = mx.sym.Pooling(data=net, kernel=(7, 7), stride=(1, 1), global_pool=True,
                         pool_type="avg", name="global_pool")
    net = mx.sym.Flatten(data=net, name="flatten")
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes, name="fc")
    return mx.sym.SoftmaxOutput(data=net, name="softmax")
