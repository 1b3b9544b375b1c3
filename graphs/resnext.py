"""ResNeXt (Xie et al., "Aggregated Residual Transformations", 2017), MXNet's zoo layout.

Reproduces ``example/image-classification/symbols/resnext.py`` of MXNet 1.9.1 (post-activation
bottleneck units with grouped 3x3 convolutions): ``id`` -> ``bn_data`` -> ``conv0`` [-> ``bn0``
-> ``relu0`` -> 3x3/2 max-pool, ImageNet only] -> stages of units ``stage{i}_unit{j}``
(``conv1`` 1x1 -> ``bn1`` -> ``relu1`` -> ``conv2`` 3x3 grouped -> ``bn2`` -> ``relu2`` ->
``conv3`` 1x1 -> ``bn3``, plus shortcut [``sc`` 1x1 conv -> ``sc_bn``], summed, ``relu``) ->
``pool1`` (global average) -> flatten -> ``fc1`` -> ``softmax``. The residual sums
(``_plus0``...), stem pool and flatten are auto-named: build it in a fresh
``mx.name.NameManager`` (``graphs.build('resnext-50')``). Default: 32 groups, bottleneck width
= half the unit's output channels (the "32x4d" model at 50 layers).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import symnet as mx
from symnet.base import ParamError

from ._common import check_dtype, parse_image_shape
from .resnet import IMAGENET_UNITS

BN_EPS = 2e-5
BN_MOMENTUM = 0.9


def _bn(data: mx.sym.Symbol, name: str, fix_gamma: bool = False) -> mx.sym.Symbol:
    return mx.sym.BatchNorm(data=data, fix_gamma=fix_gamma, eps=BN_EPS, momentum=BN_MOMENTUM,
                            name=name)


def _relu(data: mx.sym.Symbol, name: str) -> mx.sym.Symbol:
    return mx.sym.Activation(data=data, act_type="relu", name=name)


def residual_unit(data: mx.sym.Symbol, num_filter: int, stride: int, dim_match: bool,
                  name: str, bottle_neck: bool = True, num_group: int = 32,
                  workspace: int = 256, memonger: bool = False) -> mx.sym.Symbol:
    """One post-activation ResNeXt unit; output (N, num_filter, H/stride, W/stride).

    Args:
        data: (N, C, H, W) input.
        num_filter: output channels; the grouped 3x3 runs at num_filter / 2 (bottleneck).
        stride: stride of the 3x3 convolution (and of the projection shortcut).
        dim_match: identity shortcut if True, else 1x1 conv ``<name>_sc`` + ``<name>_sc_bn``.
        name: prefix, e.g. ``stage2_unit1``.
        bottle_neck: 1x1-3x3(grouped)-1x1; False gives two plain 3x3 convolutions.
        num_group: groups of the 3x3 convolution.
    """
    common = {"no_bias": True, "workspace": workspace}
    if bottle_neck:
        width = int(num_filter * 0.5)
        net = mx.sym.Convolution(data=data, num_filter=width, kernel=(1, 1), stride=(1, 1),
                                 pad=(0, 0), name=f"{name}_conv1", **common)
        net = _relu(_bn(net, f"{name}_bn1"), f"{name}_relu1")
        net = mx.sym.Convolution(data=net, num_filter=width, num_group=num_group, kernel=(3, 3),
                                 stride=(stride, stride), pad=(1, 1), name=f"{name}_conv2",
                                 **common)
        net = _relu(_bn(net, f"{name}_bn2"), f"{name}_relu2")
        net = mx.sym.Convolution(data=net, num_filter=num_filter, kernel=(1, 1), stride=(1, 1),
                                 pad=(0, 0), name=f"{name}_conv3", **common)
        net = _bn(net, f"{name}_bn3")
    else:
        net = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(3, 3),
                                 stride=(stride, stride), pad=(1, 1), name=f"{name}_conv1",
                                 **common)
        net = _relu(_bn(net, f"{name}_bn1"), f"{name}_relu1")
        net = mx.sym.Convolution(data=net, num_filter=num_filter, kernel=(3, 3), stride=(1, 1),
                                 pad=(1, 1), name=f"{name}_conv2", **common)
        net = _bn(net, f"{name}_bn2")
    if dim_match:
        shortcut = data
    else:
        shortcut = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(1, 1),
                                      stride=(stride, stride), name=f"{name}_sc", **common)
        shortcut = _bn(shortcut, f"{name}_sc_bn")
    if memonger:
        shortcut._set_attr(mirror_stage="True")
    return _relu(net + shortcut, f"{name}_relu")


def resnext(units: Sequence[int], num_stages: int, filter_list: Sequence[int],
            num_classes: int, num_group: int, image_shape: Tuple[int, int, int],
            bottle_neck: bool = True, workspace: int = 256,
            memonger: bool = False) -> mx.sym.Symbol:
    """The ResNeXt body for explicit per-stage unit counts and widths (MXNet's ``resnext()``)."""
    if len(units) != num_stages:
        raise ParamError(f"resnext: {len(units)} unit counts given for {num_stages} stages")
    data = mx.sym.Variable(name="data")
    net = mx.sym.identity(data=data, name="id")
    net = _bn(net, "bn_data", fix_gamma=True)
    common = {"no_bias": True, "workspace": workspace}
    if image_shape[1] <= 32:
        net = mx.sym.Convolution(data=net, num_filter=filter_list[0], kernel=(3, 3),
                                 stride=(1, 1), pad=(1, 1), name="conv0", **common)
    else:
        net = mx.sym.Convolution(data=net, num_filter=filter_list[0], kernel=(7, 7),
                                 stride=(2, 2), pad=(3, 3), name="conv0", **common)
        net = _relu(_bn(net, "bn0"), "relu0")
        net = mx.sym.Pooling(data=net, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                             pool_type="max")
    for i in range(num_stages):
        stride = 1 if i == 0 else 2
        net = residual_unit(net, filter_list[i + 1], stride, False, f"stage{i + 1}_unit1",
                            bottle_neck, num_group, workspace, memonger)
        for j in range(2, units[i] + 1):
            net = residual_unit(net, filter_list[i + 1], 1, True, f"stage{i + 1}_unit{j}",
                                bottle_neck, num_group, workspace, memonger)
    net = mx.sym.Pooling(data=net, global_pool=True, kernel=(7, 7), pool_type="avg",
                         name="pool1")
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes, name="fc1")
    return mx.sym.SoftmaxOutput(data=net, name="softmax")


def get_symbol(num_classes: int = 1000, num_layers: int = 50, image_shape="3,224,224",
               num_group: int = 32, conv_workspace: int = 256, dtype: str = "float32",
               memonger: bool = False, **kwargs) -> mx.sym.Symbol:
    """ResNeXt. data: (batch, C, H, W) per ``image_shape`` -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        num_layers: ImageNet: 18, 34, 50, 101, 152, 200, 269; CIFAR (height <= 28): 9n+2
            (bottleneck, >= 29) or 6n+2 (basic).
        image_shape: 'C,H,W' string or tuple.
        num_group: cardinality (groups of the 3x3 convolutions).
        conv_workspace: the convolutions' ``workspace`` attribute.
        dtype: only 'float32' is supported.
        memonger: set MXNet's ``mirror_stage`` attribute on shortcuts.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).

    Raises:
        ParamError: a depth MXNet's resnext.py does not define.
    """
    check_dtype("resnext", dtype)
    shape = parse_image_shape("resnext", image_shape)
    num_layers = int(num_layers)
    if shape[1] <= 28:
        if (num_layers - 2) % 9 == 0 and num_layers >= 29:
            units, filter_list, bottle_neck = [(num_layers - 2) // 9] * 3, [16, 64, 128, 256], True
        elif (num_layers - 2) % 6 == 0 and num_layers < 29:
            units, filter_list, bottle_neck = [(num_layers - 2) // 6] * 3, [16, 16, 32, 64], False
        else:
            raise ParamError(f"resnext: num_layers={num_layers} is not a CIFAR depth; expected "
                             "9n+2 (>= 29) or 6n+2 (< 29)")
    elif num_layers in IMAGENET_UNITS:
        units = IMAGENET_UNITS[num_layers]
        bottle_neck = num_layers >= 50
        filter_list = [64, 256, 512, 1024, 2048] if bottle_neck else [64, 64, 128, 256, 512]
    else:
        raise ParamError(f"resnext: num_layers={num_layers} is not an ImageNet depth; "
                         f"expected one of {sorted(IMAGENET_UNITS)}")
    return resnext(units, len(units), filter_list, num_classes, num_group, shape, bottle_neck,
                   conv_workspace, memonger)
