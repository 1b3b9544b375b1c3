"""Write notebooks/mnist.ipynb and notebooks/mxnet_checkpoint.ipynb (outputs cleared).

The notebooks are generated so that their code stays reviewable here, as plain Python strings.
Both read their knobs from the environment in the first code cell:

    SYMNET_NB_EPOCHS   training epochs (default 10; the tests pass 1)
    SYMNET_NB_LIMIT    use only the first N training and test images (default 0 = all)
    SYMNET_NB_OUT      directory for the PNGs they write (default ``out``, i.e. notebooks/out)
    SYMNET_NB_ZOO      (checkpoint notebook) directory with the MXNet-written checkpoints
                       (default ../tests/fixtures/zoo)

Usage (from the repository root; needs nbformat, i.e. ``pip install -e '.[notebooks]'``):

    .venv/bin/python tools/make_notebooks.py            # rewrite both notebooks
    .venv/bin/python tools/make_notebooks.py --check    # exit 1 if they are out of date
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Tuple

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB_DIR = os.path.join(ROOT, "notebooks")

Cell = Tuple[str, str]  # ("md" | "code", source)

SETUP = '''\
import os
import logging
import shutil

import numpy as np
import matplotlib.pyplot as plt
import symnet as mx

EPOCHS = int(os.environ.get("SYMNET_NB_EPOCHS", "10"))   # the tests pass 1
LIMIT = int(os.environ.get("SYMNET_NB_LIMIT", "0")) or None  # first N images only (0 = all)
OUT = os.environ.get("SYMNET_NB_OUT", "out")               # PNGs go here (gitignored)
os.makedirs(OUT, exist_ok=True)

# Speedometer and fit log through `logging`, as in MXNet.
logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
logging.getLogger("jax").setLevel(logging.WARNING)
mx.random.seed(42)
np.random.seed(42)
print(f"symnet {mx.__version__}: EPOCHS={EPOCHS} LIMIT={LIMIT} OUT={OUT!r}")'''

RENDER_HELPER = '''\
def save_graph(graph, name):
    """Render a plot_network graph to OUT/<name>.png (needs Graphviz's `dot`), else save dot."""
    if shutil.which("dot") is None:
        path = os.path.join(OUT, name + ".dot")
        with open(path, "w") as f:
            f.write(graph.source)
        print("Graphviz `dot` not found: wrote", path)
        return path
    path = os.path.join(OUT, name + ".png")
    with open(path, "wb") as f:
        f.write(graph.pipe(format="png"))
    print("wrote", path)
    return path'''


def mnist_cells() -> List[Cell]:
    """The MXNet "Handwritten Digit Recognition" tutorial, run by symnet."""
    return [
        ("md", """\
# Handwritten digit recognition with symnet

This is MXNet 1.9.1's *Handwritten Digit Recognition* tutorial, run unchanged except for the
import: `import symnet as mx`. We load MNIST, look at some digits, train a multilayer perceptron
and then LeNet, a convolutional network, and look at what LeNet learned.

The first cell reads three environment variables: `SYMNET_NB_EPOCHS` (default 10),
`SYMNET_NB_LIMIT` (use only the first N images; default all) and `SYMNET_NB_OUT` (where the
pictures are saved; default `notebooks/out`). The tests run this notebook headless with one
epoch on a small subset:

```bash
SYMNET_NB_EPOCHS=1 SYMNET_NB_LIMIT=1000 MPLBACKEND=Agg \\
    .venv/bin/jupyter nbconvert --to notebook --execute notebooks/mnist.ipynb --output /tmp/x
```"""),
        ("code", SETUP),
        ("code", RENDER_HELPER),
        ("md", """\
## Loading the data

`mx.test_utils.get_mnist()` returns the images as float32 arrays of shape (N, 1, 28, 28) scaled
to [0, 1], and the labels. symnet ships 10,000 MNIST training images, so this needs no network;
the canonical 10,000-image test set is used when it is found (`SYMNET_MNIST_DIR`), otherwise the
last 2,000 shipped images are held out as the test set."""),
        ("code", '''\
mnist = mx.test_utils.get_mnist()
if LIMIT:
    mnist = {k: v[:LIMIT] for k, v in mnist.items()}
for k, v in mnist.items():
    print(f"{k:12s} {str(v.shape):18s} {v.dtype}")'''),
        ("md", "Ten of the training digits, with their labels:"),
        ("code", '''\
fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
for i, ax in enumerate(axes):
    ax.imshow(mnist["train_data"][i, 0], cmap="gray")
    ax.set_title(str(int(mnist["train_label"][i])))
    ax.axis("off")
fig.savefig(os.path.join(OUT, "mnist-digits.png"), dpi=100, bbox_inches="tight")
plt.show()'''),
        ("md", """\
Data iterators feed the network mini-batches; the training iterator shuffles its samples every
epoch."""),
        ("code", '''\
batch_size = 100
train_iter = mx.io.NDArrayIter(mnist["train_data"], mnist["train_label"], batch_size,
                               shuffle=True)
val_iter = mx.io.NDArrayIter(mnist["test_data"], mnist["test_label"], batch_size)
# Speedometer logs every `log_every` batches (MXNet's tutorial: 100).
log_every = max(1, min(100, len(mnist["train_label"]) // batch_size // 4))
print(train_iter.provide_data, train_iter.provide_label)'''),
        ("md", """\
## Multilayer perceptron

Two fully connected hidden layers with ReLU, then a 10-way softmax. `SoftmaxOutput` computes
the cross-entropy loss gradient in the backward pass."""),
        ("code", '''\
data = mx.sym.var("data")
# Flatten the data from 4-D shape into 2-D (batch_size, num_channel*width*height)
data = mx.sym.flatten(data=data)

fc1 = mx.sym.FullyConnected(data=data, num_hidden=128)
act1 = mx.sym.Activation(data=fc1, act_type="relu")

fc2 = mx.sym.FullyConnected(data=act1, num_hidden=64)
act2 = mx.sym.Activation(data=fc2, act_type="relu")

fc3 = mx.sym.FullyConnected(data=act2, num_hidden=10)
mlp = mx.sym.SoftmaxOutput(data=fc3, name="softmax")
print(mlp.list_arguments())'''),
        ("code", '''\
mlp_graph = mx.viz.plot_network(mlp, title="mlp", shape={"data": (1, 1, 28, 28)})
save_graph(mlp_graph, "mlp-graph")
mlp_graph'''),
        ("md", """\
### Training

`Module.fit` binds the network, initialises the weights (`Uniform(0.01)` by default), and runs
SGD; `Speedometer` logs the throughput and the running training accuracy."""),
        ("code", '''\
mlp_model = mx.mod.Module(symbol=mlp, context=mx.cpu())
mlp_model.fit(train_iter,                 # train data
              eval_data=val_iter,         # validation data
              optimizer="sgd",            # use SGD to train
              optimizer_params={"learning_rate": 0.1},
              eval_metric="acc",          # report accuracy during training
              batch_end_callback=mx.callback.Speedometer(batch_size, log_every),
              num_epoch=EPOCHS)'''),
        ("md", "### Prediction\n\n`predict` returns the class probabilities of every test image:"),
        ("code", '''\
test_iter = mx.io.NDArrayIter(mnist["test_data"], None, batch_size)
prob = mlp_model.predict(test_iter)
assert prob.shape == (len(mnist["test_data"]), 10)
prob = prob.asnumpy()
assert np.allclose(prob.sum(axis=1), 1, atol=1e-4)

i = 0
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7, 2.8))
ax0.imshow(mnist["test_data"][i, 0], cmap="gray")
ax0.set_title(f"label {int(mnist['test_label'][i])}")
ax0.axis("off")
ax1.bar(range(10), prob[i])
ax1.set_xticks(range(10))
ax1.set_title(f"predicted {int(prob[i].argmax())} (p={prob[i].max():.2f})")
fig.savefig(os.path.join(OUT, "mlp-predict.png"), dpi=100, bbox_inches="tight")
plt.show()'''),
        ("md", "`score` runs the test set through the network and evaluates a metric:"),
        ("code", '''\
test_iter = mx.io.NDArrayIter(mnist["test_data"], mnist["test_label"], batch_size)
acc = mx.metric.Accuracy()
mlp_model.score(test_iter, acc)
print(acc)
mlp_acc = acc.get()[1]
if EPOCHS >= 10 and LIMIT is None:
    assert mlp_acc > 0.9, mlp_acc   # the tutorial's bar is 0.96 with 60,000 training images'''),
        ("md", """\
## Convolutional network: LeNet

Two convolution + tanh + max-pooling stages, then two fully connected layers. It has more
parameters than the MLP, almost all in the first fully connected layer:"""),
        ("code", '''\
data = mx.sym.var("data")
# first conv layer
conv1 = mx.sym.Convolution(data=data, kernel=(5, 5), num_filter=20)
tanh1 = mx.sym.Activation(data=conv1, act_type="tanh")
pool1 = mx.sym.Pooling(data=tanh1, pool_type="max", kernel=(2, 2), stride=(2, 2))
# second conv layer
conv2 = mx.sym.Convolution(data=pool1, kernel=(5, 5), num_filter=50)
tanh2 = mx.sym.Activation(data=conv2, act_type="tanh")
pool2 = mx.sym.Pooling(data=tanh2, pool_type="max", kernel=(2, 2), stride=(2, 2))
# first fullc layer
flatten = mx.sym.flatten(data=pool2)
fc1 = mx.sym.FullyConnected(data=flatten, num_hidden=500)
tanh3 = mx.sym.Activation(data=fc1, act_type="tanh")
# second fullc
fc2 = mx.sym.FullyConnected(data=tanh3, num_hidden=10)
# softmax loss
lenet = mx.sym.SoftmaxOutput(data=fc2, name="softmax")

mx.viz.print_summary(lenet, shape={"data": (1, 1, 28, 28)})'''),
        ("code", '''\
lenet_graph = mx.viz.plot_network(lenet, title="lenet", shape={"data": (1, 1, 28, 28)})
save_graph(lenet_graph, "lenet-graph")
lenet_graph'''),
        ("md", """\
This time we train with the older `mx.model.FeedForward` API, which also records a per-epoch
`history` (training and validation accuracy, time and throughput)."""),
        ("code", '''\
lenet_model = mx.model.FeedForward(symbol=lenet, num_epoch=EPOCHS, optimizer="sgd",
                                   learning_rate=0.1)
lenet_model.fit(X=train_iter, eval_data=val_iter,
                batch_end_callback=mx.callback.Speedometer(batch_size, log_every))
lenet_acc = lenet_model.score(mx.io.NDArrayIter(mnist["test_data"], mnist["test_label"],
                                                batch_size))
print(f"LeNet test accuracy: {lenet_acc:.4f}")
if EPOCHS >= 10 and LIMIT is None:
    assert lenet_acc > 0.85, lenet_acc'''),
        ("md", "The 20 first-layer filters LeNet learned (5x5 each):"),
        ("code", '''\
from IPython.display import Image, display

filters_png = mx.viz.plot_filters(lenet_model.arg_params, "convolution0",
                                  os.path.join(OUT, "lenet-filters.png"))
display(Image(filename=filters_png))'''),
        ("md", "And the training curves from `lenet_model.history`:"),
        ("code", '''\
for record in lenet_model.history:
    print(record)
curves_png = mx.viz.plot_history(lenet_model.history, os.path.join(OUT, "lenet-curves.png"),
                                 title="LeNet on MNIST")
display(Image(filename=curves_png))'''),
        ("md", """\
Finally, the model is saved as an MXNet checkpoint (`lenet-symbol.json` + `lenet-NNNN.params`),
which MXNet 1.9.1 itself can load, and loaded back:"""),
        ("code", '''\
prefix = os.path.join(OUT, "lenet")
lenet_model.save(prefix, EPOCHS)
sym, arg_params, aux_params = mx.model.load_checkpoint(prefix, EPOCHS)
assert sym.tojson() == lenet.tojson()
for name, value in lenet_model.arg_params.items():
    np.testing.assert_array_equal(arg_params[name].asnumpy(), value.asnumpy())
print(sorted(os.listdir(OUT)))'''),
    ]


def checkpoint_cells() -> List[Cell]:
    """Load, draw, summarise and run an MXNet-written checkpoint."""
    return [
        ("md", """\
# Running a checkpoint written by MXNet

MXNet saved models as two files: `<prefix>-symbol.json` (the graph) and
`<prefix>-<epoch>.params` (the weights, in MXNet's binary NDArray format). symnet reads both
without MXNet and runs the graph with JAX.

The checkpoints used here were written by real MXNet 1.9.1 (`mx.model.save_checkpoint`, see
`tools/gen_zoo_fixtures.py`) and live in `tests/fixtures/zoo/`. Their weights are not trained:
they follow a fixed pseudo-random recipe (`tests/zoo_params.py`), and MXNet's own outputs for a
fixed input are stored next to them (`outputs.npz`), so we can check that symnet computes the
same numbers. Then we fine-tune the loaded network on MNIST.

Environment: `SYMNET_NB_EPOCHS` (default 10), `SYMNET_NB_LIMIT` (first N images; default all),
`SYMNET_NB_OUT` (default `notebooks/out`), `SYMNET_NB_ZOO` (default `../tests/fixtures/zoo`) and
`SYMNET_NB_CHECKPOINT` (default `lenet`; `mlp` works too)."""),
        ("code", SETUP + '''

ZOO = os.environ.get("SYMNET_NB_ZOO", os.path.join("..", "tests", "fixtures", "zoo"))
NAME = os.environ.get("SYMNET_NB_CHECKPOINT", "lenet")
print(sorted(f for f in os.listdir(ZOO) if f.endswith((".json", ".params"))))'''),
        ("code", RENDER_HELPER),
        ("md", "## Loading\n\n`load_checkpoint` returns the symbol and two dicts of NDArrays:"),
        ("code", '''\
prefix = os.path.join(ZOO, NAME)
sym, arg_params, aux_params = mx.model.load_checkpoint(prefix, 0)
print("arguments:", sym.list_arguments())
print("outputs:  ", sym.list_outputs())
for name, value in sorted(arg_params.items()):
    print(f"  {name:28s} {str(value.shape):16s} {value.dtype.__name__}")
print("auxiliary states:", sorted(aux_params))'''),
        ("md", "## Drawing and summarising the graph"),
        ("code", '''\
shape = {"data": (1, 1, 28, 28)}
graph = mx.viz.plot_network(sym, title=NAME, shape=shape)
save_graph(graph, NAME + "-checkpoint-graph")
graph'''),
        ("code", "mx.viz.print_summary(sym, shape=shape)"),
        ("md", """\
## Running it: the same numbers as MXNet

`outputs.npz` holds what MXNet 1.9.1 computed for this checkpoint on a fixed input: two
N(0, 1) images from `np.random.RandomState(0)` (`tests/zoo_params.make_input`). We bind the
graph with `simple_bind`, copy the loaded weights in and run forward."""),
        ("code", '''\
x = np.random.RandomState(0).randn(2, 1, 28, 28).astype(np.float32)
exe = sym.simple_bind(mx.cpu(), grad_req="null", data=x.shape)
exe.copy_params_from(arg_params, aux_params)
out = exe.forward(is_train=False, data=x)[0].asnumpy()
with np.load(os.path.join(ZOO, "outputs.npz"), allow_pickle=False) as ref:
    expected = ref[NAME + "/out/0"]
print("symnet:", np.round(out[0], 5))
print("MXNet: ", np.round(expected[0], 5))
print("largest difference:", float(np.abs(out - expected).max()))
np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)'''),
        ("md", """\
## Fine-tuning on MNIST

The checkpoint's weights are a starting point like any other: `FeedForward` takes them as
`arg_params`/`aux_params` and trains from there."""),
        ("code", '''\
mnist = mx.test_utils.get_mnist()
if LIMIT:
    mnist = {k: v[:LIMIT] for k, v in mnist.items()}
batch_size = 100
train_iter = mx.io.NDArrayIter(mnist["train_data"], mnist["train_label"], batch_size,
                               shuffle=True)
val_iter = mx.io.NDArrayIter(mnist["test_data"], mnist["test_label"], batch_size)
log_every = max(1, min(100, len(mnist["train_label"]) // batch_size // 4))

before = mx.model.FeedForward(sym, arg_params=arg_params, aux_params=aux_params)
print(f"accuracy of the untrained checkpoint: {before.score(val_iter):.4f}")

model = mx.model.FeedForward(sym, num_epoch=EPOCHS, optimizer="sgd", learning_rate=0.05,
                             arg_params=arg_params, aux_params=aux_params)
model.fit(X=train_iter, eval_data=val_iter,
          batch_end_callback=mx.callback.Speedometer(batch_size, log_every))
acc = model.score(val_iter)
print(f"accuracy after {EPOCHS} epoch(s): {acc:.4f}")
if EPOCHS >= 10 and LIMIT is None:
    assert acc > 0.9, acc'''),
        ("code", '''\
from IPython.display import Image, display

curves = mx.viz.plot_history(model.history, os.path.join(OUT, NAME + "-finetune-curves.png"),
                             title=f"{NAME}: fine-tuning the MXNet checkpoint")
display(Image(filename=curves))'''),
        ("md", "Predictions for ten test digits:"),
        ("code", '''\
prob = model.predict(mnist["test_data"][:10])
fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
for i, ax in enumerate(axes):
    ax.imshow(mnist["test_data"][i, 0], cmap="gray")
    ax.set_title(f"{int(prob[i].argmax())} ({int(mnist['test_label'][i])})", fontsize=9)
    ax.axis("off")
fig.suptitle("predicted (label)", fontsize=10)
fig.savefig(os.path.join(OUT, NAME + "-finetune-predict.png"), dpi=100, bbox_inches="tight")
plt.show()'''),
        ("md", """\
The fine-tuned model is saved in MXNet's format again: MXNet 1.9.1 loads these files with
`mx.model.load_checkpoint`."""),
        ("code", '''\
out_prefix = os.path.join(OUT, NAME + "-finetuned")
model.save(out_prefix, EPOCHS)
sym2, arg2, aux2 = mx.model.load_checkpoint(out_prefix, EPOCHS)
assert sym2.tojson() == sym.tojson()
assert sorted(arg2) == sorted(arg_params)
print(sorted(f for f in os.listdir(OUT) if f.startswith(NAME + "-finetuned")))'''),
    ]


def build(cells: List[Cell]) -> nbformat.NotebookNode:
    """A v4 notebook with python3 kernel metadata and no outputs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, src) in enumerate(cells):
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        cell["id"] = f"cell-{i:02d}"  # stable ids keep regenerated files diff-free
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


NOTEBOOKS = {"mnist.ipynb": mnist_cells, "mxnet_checkpoint.ipynb": checkpoint_cells}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a notebook is out of date")
    args = ap.parse_args(argv)
    os.makedirs(NB_DIR, exist_ok=True)
    stale = []
    for fname, cells in NOTEBOOKS.items():
        path = os.path.join(NB_DIR, fname)
        text = nbformat.writes(build(cells())) + "\n"
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(path)
            if not args.check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
        print(("stale " if args.check and old != text else "ok    ") + path)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
