"""The ``symnet`` command: train / predict / score / plot / summary, files and exit codes.

One short ``symnet train mlp`` run (subprocess, 1 epoch on 500 images) is shared by the checkpoint
tests; plot and summary run in-process through ``symnet.cli.main``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symnet as mx
from symnet import cli

ROOT = Path(__file__).resolve().parent.parent
HAVE_DOT = shutil.which("dot") is not None


def assert_png(path, min_bytes: int = 2000) -> np.ndarray:
    """``path`` is a PNG of a real picture: big enough and not a single flat colour."""
    image = pytest.importorskip("matplotlib.image")
    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert path.stat().st_size > min_bytes, f"{path}: only {path.stat().st_size} bytes"
    pixels = np.asarray(image.imread(str(path)), dtype=np.float64)
    assert pixels.ndim in (2, 3) and min(pixels.shape[:2]) >= 50, pixels.shape
    assert pixels.var() > 1e-4, f"{path} is blank (pixel variance {pixels.var():.2e})"
    flat = pixels.reshape(-1, pixels.shape[-1]) if pixels.ndim == 3 else pixels.reshape(-1, 1)
    background = np.all(np.isclose(flat, np.median(flat, axis=0), atol=0.02), axis=1)
    assert background.mean() < 0.995, f"{path}: {background.mean():.1%} background pixels"
    return pixels


def _run(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "symnet", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _summary(stdout: str) -> dict:
    """The JSON object ``symnet train`` prints last (after the log lines)."""
    start = stdout.rfind("\n{\n")
    assert start >= 0, f"no JSON summary in:\n{stdout[-2000:]}"
    return json.loads(stdout[start:])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``symnet train mlp --epochs 1 --limit 500 --out tmp`` run in a fresh directory."""
    work = tmp_path_factory.mktemp("cli")
    proc = _run("train", "mlp", "--epochs", "1", "--limit", "500", "--log-every", "2",
                "--out", "tmp", cwd=work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work, proc, _summary(proc.stdout)


def test_train_summary_and_log(trained):
    work, proc, summary = trained
    assert summary["graph"] == "mlp"
    assert summary["epochs"] == 1 and summary["batch_size"] == 100
    assert 0.0 <= summary["validation_accuracy"] <= 1.0
    assert summary["validation"]
    # MXNet's log lines: Speedometer every 2 of the 5 batches, then the validation accuracy.
    assert re.search(r"Epoch\[0\] Batch \[0-2\]\tSpeed: [\d.]+ samples/sec\taccuracy=[\d.]+",
                     proc.stdout), proc.stdout
    assert f"Epoch[0] Validation-accuracy={summary['validation_accuracy']:.4f}" in proc.stdout
    expected = ["tmp/mlp-symbol.json", "tmp/mlp-0001.params", "tmp/mlp.dot"]
    assert summary["files"][:3] == expected
    for f in summary["files"]:
        assert (work / f).is_file(), f
    assert ("tmp/mlp.svg" in summary["files"]) == HAVE_DOT


def test_train_checkpoint_loads(trained):
    work, _, _ = trained
    import graphs
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(work / "tmp" / "mlp"), 1)
    ref = graphs.get("mlp").get_symbol(num_classes=10)
    assert json.loads(sym.tojson()) == json.loads(ref.tojson())
    arg_shapes, _, _ = ref.infer_shape(data=(100, 1, 28, 28))
    want = {n: tuple(s) for n, s in zip(ref.list_arguments(), arg_shapes)
            if n not in ("data", "softmax_label")}
    assert {n: tuple(v.shape) for n, v in arg_params.items()} == want
    assert aux_params == {}
    # Trained, not the Uniform(0.01) initial values any more.
    assert float(np.abs(arg_params["fc3_bias"].asnumpy()).max()) > 0.0
    history = json.loads((work / "tmp" / "mlp-history.json").read_text().replace("NaN", "null"))
    assert len(history) == 1 and history[0]["epoch"] == 0


def test_train_pictures(trained):
    work, _, _ = trained
    dot = (work / "tmp" / "mlp.dot").read_text()
    assert dot.lstrip().startswith("digraph")
    for name in ("fc1", "fc2", "fc3", "relu1", "softmax"):
        assert re.search(rf"^\s*{name} \[label=", dot, re.M), name
    assert '"FullyConnected\n128"' in dot and '"Activation\nrelu"' in dot
    assert "fc1 -> flatten0 [label=784" in dot
    if HAVE_DOT:
        svg = (work / "tmp" / "mlp.svg").read_text()
        assert "<svg" in svg
        for label in ("FullyConnected", "128", "64", "relu", "softmax", "1x28x28"):
            assert f">{label}<" in svg, label
    pytest.importorskip("matplotlib")
    assert_png(work / "tmp" / "mlp-curves.png", min_bytes=5000)


def test_predict_and_score(trained, capsys):
    work, _, summary = trained
    prefix = str(work / "tmp" / "mlp")
    assert cli.main(["predict", prefix, "1", "--count", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [ln for ln in lines if ln.split("\t")[0].isdigit()]
    assert len(rows) == 5, lines
    for i, row in enumerate(rows):
        m = re.fullmatch(rf"{i}\tpredicted=(\d)\tlabel=(\d)\tp=([\d.]+)", row)
        assert m, row
        assert 0.1 <= float(m.group(3)) <= 1.0  # the top class of 10 has p >= 1/10
    assert cli.main(["score", prefix, "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    scored = json.loads(out[-1])
    # Same checkpoint, same validation images: the accuracy train reported.
    assert scored["accuracy"] == pytest.approx(summary["validation_accuracy"], abs=1e-4)
    assert scored["validation"] == summary["validation"]


def test_plot_dot(tmp_path, capsys):
    out = tmp_path / "sub" / "lenet.dot"
    assert cli.main(["plot", "lenet", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    dot = out.read_text()
    assert dot.lstrip().startswith("digraph")
    assert '"Convolution\n5x5/1, 20"' in dot and '"Convolution\n5x5/1, 50"' in dot
    assert '"FullyConnected\n500"' in dot and '"Pooling\nmax, 2x2/2x2"' in dot
    assert "50x4x4" in dot  # edge labels carry shapes (recipe input shape 1x28x28)


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz 'dot' program not installed")
def test_plot_svg_png(tmp_path):
    svg, png = tmp_path / "lenet.svg", tmp_path / "lenet.png"
    assert cli.main(["plot", "lenet", "-o", str(svg)]) == 0
    assert cli.main(["plot", "lenet", "-o", str(png)]) == 0
    text = svg.read_text()
    assert "<svg" in text
    for label in ("Convolution", "5x5/1, 20", "Pooling", "max, 2x2/2x2", "FullyConnected",
                  "500", "tanh", "softmax", "20x24x24"):
        assert f">{label}<" in text, label
    pytest.importorskip("matplotlib")
    assert_png(png, min_bytes=10000)


def test_plot_checkpoint_file(tmp_path):
    """A -symbol.json written by MXNet plots like a graph name."""
    out = tmp_path / "mlp.dot"
    src = ROOT / "tests" / "fixtures" / "zoo" / "mlp-symbol.json"
    assert cli.main(["plot", str(src), "-o", str(out), "--shape", "1,28,28"]) == 0
    dot = out.read_text()
    assert '"FullyConnected\n128"' in dot and "softmax -> fc3 [label=10" in dot


def test_summary_lenet(capsys):
    assert cli.main(["summary", "lenet"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 431080" in out
    assert re.search(r"^fullyconnected0\(FullyConnected\)\s+500\s+400500\s+flatten0", out,
                     re.M), out
    assert re.search(r"^convolution0\(Convolution\)\s+20x24x24\s+520\s+data", out, re.M), out


def test_bad_graph_name_exit_code():
    proc = _run("plot", "no_such_net", "-o", "x.svg")
    assert proc.returncode == 2
    assert proc.stderr.startswith("symnet: error:"), proc.stderr
    assert "unknown network 'no_such_net'" in proc.stderr and "lenet" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_errors_in_process(tmp_path, capsys):
    assert cli.main(["summary", "no_such_net"]) == 2
    assert "unknown network 'no_such_net'" in capsys.readouterr().err
    assert cli.main(["plot", "lenet", "-o", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert "x.txt" in err and ".svg" in err
    assert cli.main(["predict", str(tmp_path / "missing"), "1"]) == 2
    assert "missing-symbol.json" in capsys.readouterr().err


def test_train_gpus_option(tmp_path, capsys):
    """``--gpus`` is MXNet's example-script flag: GPU numbers, empty for the CPU."""
    import jax
    assert cli._contexts("") == [mx.cpu()]
    assert cli.main(["train", "mlp", "--gpus", "a,b", "--out", str(tmp_path)]) == 2
    assert "--gpus 'a,b'" in capsys.readouterr().err
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus:  # no GPU here: a clear error before any data loads, no traceback
        assert cli.main(["train", "mlp", "--gpus", "0", "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "gpu(0)" in err and "0 GPU(s)" in err
        assert not list(tmp_path.iterdir())
    else:
        assert cli._contexts("0") == [mx.gpu(0)]
