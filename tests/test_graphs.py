"""graphs/: every network builds; MNIST nets run; the zoo reproduces MXNet 1.9.1's own graphs.

References:
* ``tests/fixtures/zoo/zoo.json`` / ``outputs.npz`` (tools/gen_zoo_fixtures.py, real MXNet):
  list_arguments, list_auxiliary_states, infer_shape and forward outputs of MXNet's zoo JSONs.
* ``../shared/data/zoo/*-symbol.json`` (written by MXNet 1.9.1 from its own definitions): the node
  sequence (op, name, attrs, inputs) our ``get_symbol`` must reproduce. Skipped when absent.
* numpy: a reference forward pass of the pure-MLP nets.
ImageNet-size graphs are only shape-inferred, never run.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

import graphs
import symnet as mx
from symnet.base import ParamError

from zoo_params import make_input, make_params

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "zoo"
SHARED_ZOO = REPO.parent / "shared" / "data" / "zoo"
NON_PARAMS = ("data", "softmax_label")

# Zoo JSON name -> the configuration graphs.build uses (zoo README's get_symbol arguments).
ZOO_CONFIGS = ["mlp", "lenet", "lenet-stn", "alexnet", "vgg-11", "vgg-11-bn", "googlenet",
               "inception-bn", "resnet-18", "resnet-50", "resnet-20-cifar", "resnext-50",
               "mobilenet-1.0", "mobilenet-0.25", "mobilenetv2-1.0"]
# Small enough to run forward against MXNet's recorded outputs.
FORWARD_CONFIGS = ["mlp", "lenet", "lenet-stn", "resnet-20-cifar"]
RECIPE_KEYS = {"optimizer", "optimizer_params", "lr_schedule", "num_epoch", "batch_size",
               "initializer", "input_shape"}


@functools.lru_cache(maxsize=None)
def _golden() -> dict:
    with open(FIXTURES / "zoo.json") as f:
        return json.load(f)["graphs"]


@functools.lru_cache(maxsize=None)
def _golden_outputs() -> dict:
    with np.load(FIXTURES / "outputs.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@functools.lru_cache(maxsize=None)
def _built(config: str) -> mx.sym.Symbol:
    return graphs.build(config)


def _forward(sym: mx.sym.Symbol, data: np.ndarray) -> np.ndarray:
    """is_train=False forward with zoo_params parameters; returns output 0 as numpy."""
    arg_shapes, _, aux_shapes = sym.infer_shape(data=data.shape)
    args = make_params(sym.list_arguments(), arg_shapes, skip=NON_PARAMS)
    args["data"] = data
    if "softmax_label" in sym.list_arguments():
        args["softmax_label"] = np.zeros(data.shape[0], np.float32)
    aux = make_params(sym.list_auxiliary_states(), aux_shapes)
    exe = sym.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in args.items()},
                   grad_req="null", aux_states={k: mx.nd.array(v) for k, v in aux.items()})
    return exe.forward(is_train=False)[0].asnumpy()


# ---- registry ----------------------------------------------------------------------------------

def test_registry_lists_every_module_and_maps_dashes():
    assert set(graphs.MNIST_NETS) <= set(graphs.names())
    assert "inception_bn" in graphs.names()
    assert graphs.get("inception-bn") is graphs.get("inception_bn")
    assert graphs.get("resnet-50").__name__ == "graphs.resnet"
    with pytest.raises(ParamError, match="unknown network 'nosuchnet'"):
        graphs.get("nosuchnet")


@pytest.mark.parametrize("name", graphs.names())
def test_every_module_builds(name):
    module = graphs.get(name)
    assert module.__doc__ and "get_symbol" in dir(module)
    sym = module.get_symbol(num_classes=7)
    assert sym.list_outputs() == ["softmax_output"]
    assert sym.list_arguments()[0] == "data" and sym.list_arguments()[-1] == "softmax_label"


def test_build_uses_a_fresh_naming_scope():
    mx.sym.Convolution(mx.sym.Variable("x"), kernel=(3, 3), num_filter=2)  # bumps the counter
    assert graphs.build("lenet").list_arguments()[1] == "convolution0_weight"


# ---- MNIST nets --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", graphs.MNIST_NETS)
def test_mnist_recipe_is_complete(name):
    recipe = graphs.get(name).RECIPE
    assert set(recipe) == RECIPE_KEYS
    assert recipe["optimizer"] in ("sgd", "adam")
    assert recipe["optimizer_params"]["learning_rate"] > 0
    assert isinstance(recipe["num_epoch"], int) and recipe["num_epoch"] > 0
    assert isinstance(recipe["batch_size"], int) and recipe["batch_size"] > 0
    assert recipe["input_shape"] in ((1, 28, 28), (784,))
    schedule = recipe["lr_schedule"]
    assert schedule is None or (schedule["type"] == "factor" and 0 < schedule["factor"] < 1)


def test_recipe_initializer_specs_parse_without_executing_code():
    for name in graphs.MNIST_NETS:
        graphs.initializer(graphs.get(name).RECIPE["initializer"])
    assert graphs.initializer("uniform(0.01)").dumps() == '["uniform", {"scale": 0.01}]'
    spec = graphs.get("torch_mlp").TORCH_DEFAULT_INIT
    assert json.loads(graphs.initializer(spec).dumps()) == [
        "xavier", {"rnd_type": "uniform", "factor_type": "in", "magnitude": 1}]
    with pytest.raises(ParamError, match="cannot read"):
        graphs.initializer("__import__('os').getcwd()")
    with pytest.raises(ParamError, match="cannot read"):
        graphs.initializer("uniform(scale=x)")


@pytest.mark.parametrize("name", graphs.MNIST_NETS)
def test_mnist_net_infers_and_runs(name):
    sym = graphs.build(name)
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(data=(5, 1, 28, 28))
    assert out_shapes == [(5, 10)]
    assert aux_shapes == []
    assert dict(zip(sym.list_arguments(), arg_shapes))["softmax_label"] == (5,)
    probs = _forward(sym, make_input((3, 1, 28, 28), seed=1))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(probs[0], probs[1])  # the input reaches the output


def _np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_NP_ACT = {"relu": lambda x: np.maximum(x, 0), "sigmoid": lambda x: 1 / (1 + np.exp(-x))}


@pytest.mark.parametrize("name, act, hidden", [
    ("mlp", "relu", (128, 64)), ("torch_mlp", "relu", (784,)),
    ("dlfs_mlp", "sigmoid", (50, 100)), ("dropout_mlp", "relu", (512, 512))])
def test_mlp_forward_matches_numpy(name, act, hidden):
    sym = graphs.build(name)
    fcs = [n[:-len("_weight")] for n in sym.list_arguments() if n.endswith("_weight")]
    arg_shapes, _, _ = sym.infer_shape(data=(3, 784))
    params = make_params(sym.list_arguments(), arg_shapes, skip=NON_PARAMS)
    assert [params[f + "_weight"].shape[0] for f in fcs] == list(hidden) + [10]
    x = make_input((3, 1, 28, 28), seed=2)
    h = x.reshape(3, -1).astype(np.float64)
    for i, fc in enumerate(fcs):
        h = h @ params[fc + "_weight"].T + params[fc + "_bias"]
        if i < len(fcs) - 1:
            h = _NP_ACT[act](h)  # dropout is the identity at inference
    np.testing.assert_allclose(_forward(sym, x), _np_softmax(h), rtol=1e-4, atol=1e-6)


# ---- the zoo against MXNet ---------------------------------------------------------------------

@pytest.mark.parametrize("config", ZOO_CONFIGS)
def test_zoo_lists_and_shapes_match_mxnet(config):
    gold = _golden()[config]
    sym = _built(config)
    assert sym.list_arguments() == gold["list_arguments"]
    assert sym.list_auxiliary_states() == gold["list_auxiliary_states"]
    assert sym.list_outputs() == gold["list_outputs"]
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(data=tuple(gold["input_shape"]))
    assert [list(s) for s in arg_shapes] == gold["arg_shapes"]
    assert [list(s) for s in out_shapes] == gold["out_shapes"]
    assert [list(s) for s in aux_shapes] == gold["aux_shapes"]


def _nodes(text: str, drop_var_init: bool) -> list:
    doc = json.loads(text)
    rows = []
    for node in doc["nodes"]:
        attrs = dict(node.get("attrs", {}))
        if drop_var_init and node["op"] == "null":
            attrs.pop("__init__", None)
        rows.append((node["op"], node["name"], attrs, [tuple(i[:2]) for i in node["inputs"]]))
    return rows + [("heads", doc["heads"])]


def _shared_json(config: str) -> str:
    path = SHARED_ZOO / f"{config}-symbol.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the MXNet-written zoo JSONs live in ../shared/data/zoo "
                    "next to the repository (not shipped with it)")
    return path.read_text()


@pytest.mark.parametrize("config", ZOO_CONFIGS)
def test_zoo_nodes_match_mxnet_json(config):
    """Same (op, name, attrs, inputs) node sequence and heads as the JSON MXNet wrote."""
    ours = _nodes(_built(config).tojson(), drop_var_init=True)
    theirs = _nodes(_shared_json(config), drop_var_init=True)
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs):
        assert mine == ref


def test_zoo_variable_init_attrs_match_mxnet_json():
    ours = _nodes(_built("resnet-20-cifar").tojson(), drop_var_init=False)
    theirs = _nodes(_shared_json("resnet-20-cifar"), drop_var_init=False)
    assert ours == theirs


@pytest.mark.parametrize("config", FORWARD_CONFIGS)
def test_small_zoo_forward_matches_mxnet(config):
    gold = _golden()[config]
    data = make_input(tuple(gold["forward_input_shape"]), seed=0)
    out = _forward(_built(config), data)
    np.testing.assert_allclose(out, _golden_outputs()[f"{config}/out/0"], rtol=1e-4, atol=1e-5)


# ---- argument checks ---------------------------------------------------------------------------

def test_vgg_16_and_resnet_cifar_depths():
    arg_shapes, out_shapes, _ = graphs.build("vgg-16").infer_shape(data=(1, 3, 224, 224))
    assert out_shapes == [(1, 1000)]
    convs = [n for n in graphs.build("vgg-16").list_arguments() if n.startswith("conv")]
    assert len(convs) == 2 * 13
    sym = graphs.get("resnet").get_symbol(10, num_layers=56, image_shape="3,28,28")
    assert "stage3_unit9_conv2_weight" in sym.list_arguments()


@pytest.mark.parametrize("module, kwargs, match", [
    ("vgg", {"num_layers": 12}, "num_layers=12"),
    ("resnet", {"num_layers": 21, "image_shape": "3,28,28"}, "not a CIFAR depth"),
    ("resnet", {"num_layers": 42}, "not an ImageNet depth"),
    ("resnet", {"image_shape": "3,224"}, "image_shape"),
    ("resnext", {"num_layers": 42}, "not an ImageNet depth"),
    ("alexnet", {"dtype": "float16"}, "dtype='float16'"),
    ("mobilenet", {"multiplier": 0.01}, "multiplier"),
])
def test_bad_arguments_raise_param_error(module, kwargs, match):
    with pytest.raises(ParamError, match=match):
        graphs.get(module).get_symbol(num_classes=10, **kwargs)


@pytest.mark.parametrize("config", ZOO_CONFIGS)
def test_zoo_tojson_is_byte_identical_to_mxnet(config):
    """symnet's definition writes exactly the bytes MXNet 1.9.1 wrote (checkpoints interoperate)."""
    text = _shared_json(config)
    assert graphs.build(config).tojson() == text
    assert mx.sym.load_json(text).tojson() == text
