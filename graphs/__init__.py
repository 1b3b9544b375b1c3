"""The network zoo: one module per network, each with ``get_symbol(num_classes, **kwargs)``.

The seed MNIST nets (``mlp``, ``lenet``, ``puzzlelib_lenet5``, ``torch_mlp``, ``torch_cnn``,
``torch_lenet5``, ``dlfs_mlp``, ``dropout_mlp``) also carry a ``RECIPE`` dict (optimizer, schedule,
epochs, batch size, initializer, input shape) that ``symnet train`` uses. The ImageNet/CIFAR zoo
(``alexnet``, ``vgg``, ``googlenet``, ``inception_bn``, ``resnet``, ``resnext``, ``mobilenet``,
``mobilenetv2``) reproduces MXNet's ``example/image-classification/symbols`` graphs node for node,
so parameter names match MXNet checkpoints.

Example:
    >>> import graphs
    >>> net = graphs.build("resnet-20-cifar")   # same as MXNet's resnet-20 CIFAR symbol
    >>> graphs.get("lenet").RECIPE["optimizer"]
    'sgd'
"""
from __future__ import annotations

import ast
import importlib
from types import ModuleType
from typing import Any, Dict, List, Tuple

import symnet as mx
from symnet.base import ParamError

MNIST_NETS: Tuple[str, ...] = ("mlp", "lenet", "puzzlelib_lenet5", "torch_mlp", "torch_cnn",
                               "torch_lenet5", "dlfs_mlp", "dropout_mlp")
ZOO_NETS: Tuple[str, ...] = ("alexnet", "vgg", "googlenet", "inception_bn", "resnet", "resnext",
                             "mobilenet", "mobilenetv2")

# Named configurations, as MXNet's model files are named (``resnet-50-symbol.json``...):
# name -> (module, get_symbol keyword arguments).
CONFIGS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "vgg-11": ("vgg", {"num_classes": 1000, "num_layers": 11}),
    "vgg-11-bn": ("vgg", {"num_classes": 1000, "num_layers": 11, "batch_norm": True}),
    "vgg-16": ("vgg", {"num_classes": 1000, "num_layers": 16}),
    "vgg-16-bn": ("vgg", {"num_classes": 1000, "num_layers": 16, "batch_norm": True}),
    "resnet-18": ("resnet", {"num_classes": 1000, "num_layers": 18,
                             "image_shape": "3,224,224"}),
    "resnet-50": ("resnet", {"num_classes": 1000, "num_layers": 50,
                             "image_shape": "3,224,224"}),
    "resnet-20-cifar": ("resnet", {"num_classes": 10, "num_layers": 20,
                                   "image_shape": "3,28,28"}),
    "resnext-50": ("resnext", {"num_classes": 1000, "num_layers": 50,
                               "image_shape": "3,224,224"}),
    "mobilenet-1.0": ("mobilenet", {"num_classes": 1000, "multiplier": 1.0}),
    "mobilenet-0.25": ("mobilenet", {"num_classes": 1000, "multiplier": 0.25}),
    "mobilenetv2-1.0": ("mobilenetv2", {"num_classes": 1000, "multiplier": 1.0}),
    "lenet-stn": ("lenet", {"num_classes": 10, "add_stn": True}),
    "alexnet": ("alexnet", {"num_classes": 1000}),
    "googlenet": ("googlenet", {"num_classes": 1000}),
    "inception-bn": ("inception_bn", {"num_classes": 1000}),
}


def names() -> List[str]:
    """Every network module in ``graphs/`` (module names, MNIST nets first)."""
    return list(MNIST_NETS + ZOO_NETS)


def configs() -> List[str]:
    """Every named configuration ``build`` accepts besides the module names."""
    return sorted(CONFIGS)


def _module_name(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    if key in CONFIGS:
        return CONFIGS[key][0]
    mod = str(key).replace("-", "_")
    if mod not in MNIST_NETS + ZOO_NETS:
        raise ParamError(f"graphs: unknown network {name!r}; expected one of {names()} "
                         f"(dashes and underscores are interchangeable), or a configuration "
                         f"for graphs.build: {configs()}")
    return mod


def get(name: str) -> ModuleType:
    """The module of network ``name`` (``'inception-bn'`` and ``'inception_bn'`` both work).

    Args:
        name: a module name from ``names()`` or a configuration from ``configs()``
            (``'resnet-50'`` gives the ``resnet`` module).

    Returns:
        The module; call its ``get_symbol(num_classes, ...)``.

    Raises:
        ParamError: unknown name.
    """
    return importlib.import_module(f"{__name__}.{_module_name(name)}")


def build(name: str, **kwargs: Any) -> "mx.sym.Symbol":
    """Build network ``name`` inside a fresh ``mx.name.NameManager``.

    MXNet's definitions leave some layers auto-named (``convolution0``, ``_plus3``); a fresh naming
    scope makes those names the ones MXNet's saved models carry, whatever was built before.

    Args:
        name: a module name (``'lenet'``) or a named configuration (``'resnet-50'``).
        **kwargs: passed to ``get_symbol``, overriding the configuration's defaults.

    Returns:
        The network's Symbol (its head is ``SoftmaxOutput 'softmax'``).
    """
    key = name.strip().lower()
    if key in CONFIGS:
        module, defaults = CONFIGS[key]
        kwargs = {**defaults, **kwargs}
    else:
        module = _module_name(key)
    with mx.name.NameManager():
        return get(module).get_symbol(**kwargs)


def initializer(spec: str) -> Any:
    """An ``mx.init`` initializer from a RECIPE spec such as ``"uniform(0.01)"`` or
    ``"xavier(rnd_type='gaussian', factor_type='in', magnitude=1)"``.

    The spec is parsed, never executed: a name, optionally called with literal arguments.

    Raises:
        ParamError: a spec that is not ``name`` or ``name(literal, key=literal, ...)``.
    """
    try:
        tree = ast.parse(spec.strip(), mode="eval").body
        if isinstance(tree, ast.Name):
            return mx.init.create(tree.id)
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)):
            raise ValueError("not a call")
        args = [ast.literal_eval(a) for a in tree.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in tree.keywords}
    except (SyntaxError, ValueError, AttributeError) as err:
        raise ParamError(f"graphs.initializer: cannot read {spec!r} ({err}); expected a name "
                         "or name(literal, key=literal, ...), e.g. \"uniform(0.01)\"") from None
    return mx.init.create(tree.func.id, *args, **kwargs)
