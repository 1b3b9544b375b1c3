"""ResNet v2 (He et al., "Identity Mappings in Deep Residual Networks", 2016), MXNet's zoo layout.

Reproduces ``example/image-classification/symbols/resnet.py`` of MXNet 1.9.1 (pre-activation
units): ``id`` (identity) -> ``bn_data`` (fixed gamma) -> ``conv0`` [-> ``bn0`` -> ``relu0`` ->
3x3/2 max-pool, ImageNet only] -> stages ``stage{i}_unit{j}`` -> ``bn1`` -> ``relu1`` ->
``pool1`` (global average) -> flatten -> ``fc1`` -> ``softmax``. A unit is
``bn1 relu1 conv1 bn2 relu2 conv2`` (basic) or ``bn1 relu1 conv1(1x1) bn2 relu2 conv2(3x3)
bn3 relu3 conv3(1x1)`` (bottleneck); the first unit of every stage adds a 1x1 projection
``_sc`` fed from ``relu1``. Residual sums (``_plus0``...), the stem max-pool and flatten are
auto-named, so build it in a fresh ``mx.name.NameManager`` (``graphs.build('resnet-50')``).

ImageNet (image height > 28): num_layers 18, 34, 50, 101, 152, 200, 269 (bottleneck from 50).
CIFAR (height <= 28, e.g. ``image_shape='3,28,28'``): 3 stages; num_layers = 6n+2 (basic,
< 164) or 9n+2 (bottleneck, >= 164).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import symnet as mx
from symnet.base import ParamError

from ._common import check_dtype, parse_image_shape

BN_EPS = 2e-5
BN_MOMENTUM = 0.9
IMAGENET_UNITS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
                  152: [3, 8, 36, 3], 200: [3, 24, 36, 3], 269: [3, 30, 48, 8]}


def _bn(data: mx.sym.Symbol, name: str, fix_gamma: bool = False) -> mx.sym.Symbol:
    return mx.sym.BatchNorm(data=data, fix_gamma=fix_gamma, eps=BN_EPS, momentum=BN_MOMENTUM,
                            name=name)


def _conv(data: mx.sym.Symbol, num_filter: int, kernel: int, stride: int, pad, name: str,
          workspace: int) -> mx.sym.Symbol:
    kwargs = {} if pad is None else {"pad": (pad, pad)}  # MXNet's shortcut conv passes no pad
    return mx.sym.Convolution(data=data, num_filter=num_filter, kernel=(kernel, kernel),
                              stride=(stride, stride), no_bias=True, workspace=workspace,
                              name=name, **kwargs)


def residual_unit(data: mx.sym.Symbol, num_filter: int, stride: int, dim_match: bool,
                  name: str, bottle_neck: bool, workspace: int = 256,
                  memonger: bool = False) -> mx.sym.Symbol:
    """One pre-activation residual unit; output (N, num_filter, H/stride, W/stride).

    Args:
        data: (N, C, H, W) input.
        num_filter: output channels (a bottleneck's inner width is num_filter / 4).
        stride: stride of the 3x3 convolution (and of the projection shortcut).
        dim_match: True for an identity shortcut, False for a 1x1 projection ``<name>_sc``.
        name: prefix, e.g. ``stage2_unit1``.
        bottle_neck: 1x1-3x3-1x1 instead of 3x3-3x3.
        workspace: the convolutions' ``workspace`` attribute (MXNet's conv_workspace).
        memonger: mark the shortcut ``mirror_stage='True'`` as MXNet does for memonger.
    """
    act1 = mx.sym.Activation(data=_bn(data, f"{name}_bn1"), act_type="relu",
                             name=f"{name}_relu1")
    if bottle_neck:
        inner = int(num_filter * 0.25)
        specs = [(inner, 1, 1, 0), (inner, 3, stride, 1), (num_filter, 1, 1, 0)]
    else:
        specs = [(num_filter, 3, stride, 1), (num_filter, 3, 1, 1)]
    net = act1
    for k, (filters, kernel, conv_stride, pad) in enumerate(specs, start=1):
        if k > 1:
            net = mx.sym.Activation(data=_bn(net, f"{name}_bn{k}"), act_type="relu",
                                    name=f"{name}_relu{k}")
        net = _conv(net, filters, kernel, conv_stride, pad, f"{name}_conv{k}", workspace)
    if dim_match:
        shortcut = data
    else:
        shortcut = _conv(act1, num_filter, 1, stride, None, f"{name}_sc", workspace)
    if memonger:
        shortcut._set_attr(mirror_stage="True")
    return net + shortcut


def resnet(units: Sequence[int], num_stages: int, filter_list: Sequence[int],
           num_classes: int, image_shape: Tuple[int, int, int], bottle_neck: bool = True,
           workspace: int = 256, memonger: bool = False) -> mx.sym.Symbol:
    """The ResNet body for explicit per-stage unit counts and widths (MXNet's ``resnet()``).

    Args:
        units: residual units per stage.
        num_stages: number of stages (len(units)).
        filter_list: stem width followed by each stage's width.
        num_classes: output classes.
        image_shape: (C, H, W); H <= 32 selects the CIFAR stem (3x3 conv, no pooling).
    """
    if len(units) != num_stages:
        raise ParamError(f"resnet: {len(units)} unit counts given for {num_stages} stages")
    data = mx.sym.Variable(name="data")
    net = mx.sym.identity(data=data, name="id")
    net = _bn(net, "bn_data", fix_gamma=True)
    if image_shape[1] <= 32:
        net = _conv(net, filter_list[0], 3, 1, 1, "conv0", workspace)
    else:
        net = _conv(net, filter_list[0], 7, 2, 3, "conv0", workspace)
        net = mx.sym.Activation(data=_bn(net, "bn0"), act_type="relu", name="relu0")
        net = mx.sym.Pooling(data=net, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                             pool_type="max")
    for i in range(num_stages):
        stride = 1 if i == 0 else 2
        net = residual_unit(net, filter_list[i + 1], stride, False, f"stage{i + 1}_unit1",
                            bottle_neck, workspace, memonger)
        for j in range(2, units[i] + 1):
            net = residual_unit(net, filter_list[i + 1], 1, True, f"stage{i + 1}_unit{j}",
                                bottle_neck, workspace, memonger)
    net = mx.sym.Activation(data=_bn(net, "bn1"), act_type="relu", name="relu1")
    net = mx.sym.Pooling(data=net, global_pool=True, kernel=(7, 7), pool_type="avg",
                         name="pool1")
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes, name="fc1")
    return mx.sym.SoftmaxOutput(data=net, name="softmax")


def config(num_layers: int, height: int) -> Tuple[List[int], List[int], bool]:
    """(units per stage, filter list, bottle_neck) for ``num_layers`` at input ``height``.

    Raises:
        ParamError: a depth MXNet's resnet.py does not define.
    """
    if height <= 28:
        if (num_layers - 2) % 9 == 0 and num_layers >= 164:
            return [(num_layers - 2) // 9] * 3, [16, 64, 128, 256], True
        if (num_layers - 2) % 6 == 0 and num_layers < 164:
            return [(num_layers - 2) // 6] * 3, [16, 16, 32, 64], False
        raise ParamError(f"resnet: num_layers={num_layers} is not a CIFAR depth; expected "
                         "6n+2 (< 164, e.g. 20, 56, 110) or 9n+2 (>= 164, e.g. 164, 1001)")
    if num_layers not in IMAGENET_UNITS:
        raise ParamError(f"resnet: num_layers={num_layers} is not an ImageNet depth; expected "
                         f"one of {sorted(IMAGENET_UNITS)}")
    if num_layers >= 50:
        return IMAGENET_UNITS[num_layers], [64, 256, 512, 1024, 2048], True
    return IMAGENET_UNITS[num_layers], [64, 64, 128, 256, 512], False


def get_symbol(num_classes: int = 1000, num_layers: int = 50, image_shape="3,224,224",
               conv_workspace: int = 256, dtype: str = "float32", memonger: bool = False,
               **kwargs) -> mx.sym.Symbol:
    """ResNet. data: (batch, C, H, W) per ``image_shape`` -> softmax (batch, num_classes).

    Args:
        num_classes: output classes.
        num_layers: depth (see the module docstring).
        image_shape: 'C,H,W' string or tuple; height <= 28 builds the CIFAR variant.
        conv_workspace: the convolutions' ``workspace`` attribute.
        dtype: only 'float32' is supported.
        memonger: set MXNet's ``mirror_stage`` attribute on shortcuts.
        **kwargs: accepted and ignored (MXNet's ``get_symbol`` signature).

    Example:
        >>> net = get_symbol(10, num_layers=20, image_shape='3,28,28')   # resnet-20-cifar
    """
    check_dtype("resnet", dtype)
    shape = parse_image_shape("resnet", image_shape)
    units, filter_list, bottle_neck = config(int(num_layers), shape[1])
    return resnet(units, len(units), filter_list, num_classes, shape, bottle_neck,
                  conv_workspace, memonger)
