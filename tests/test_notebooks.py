"""notebooks/*.ipynb run headless (nbclient) with 1 epoch on a small subset, without cell errors.

The kernel is this interpreter (``sys.executable``): the test writes a kernelspec into a temporary
``JUPYTER_PATH`` directory, so a fresh clone needs no ``ipykernel install``. The notebooks read
SYMNET_NB_EPOCHS / SYMNET_NB_LIMIT / SYMNET_NB_OUT from the environment, which the kernel
inherits. Each picture they write is checked for size and non-blank content.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
KERNEL = "symnet-test-python"
HAVE_DOT = shutil.which("dot") is not None


def assert_png(path, min_bytes: int = 2000) -> np.ndarray:
    """``path`` is a PNG of a real picture: big enough and not a single flat colour."""
    import matplotlib.image
    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert path.stat().st_size > min_bytes, f"{path}: only {path.stat().st_size} bytes"
    pixels = np.asarray(matplotlib.image.imread(str(path)), dtype=np.float64)
    assert pixels.ndim in (2, 3) and min(pixels.shape[:2]) >= 50, pixels.shape
    assert pixels.var() > 1e-4, f"{path} is blank (pixel variance {pixels.var():.2e})"
    flat = pixels.reshape(-1, pixels.shape[-1]) if pixels.ndim == 3 else pixels.reshape(-1, 1)
    background = np.all(np.isclose(flat, np.median(flat, axis=0), atol=0.02), axis=1)
    assert background.mean() < 0.995, f"{path}: {background.mean():.1%} background pixels"
    return pixels


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernelspec for this interpreter and the notebooks' environment (1 epoch, 500 images)."""
    base = tmp_path_factory.mktemp("jupyter")
    spec_dir = base / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "symnet tests", "language": "python"}))
    cache = os.environ.get("SYMNET_TEST_JAX_CACHE", str(ROOT / ".jax_cache"))
    env = {"JUPYTER_PATH": str(base), "MPLBACKEND": "Agg",
           "SYMNET_NB_EPOCHS": "1", "SYMNET_NB_LIMIT": "500",
           "JAX_COMPILATION_CACHE_DIR": os.path.abspath(cache),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.2",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    return env


def _execute(name: str, out: Path, kernel_env: dict, monkeypatch) -> "nbformat.NotebookNode":
    for k, v in kernel_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SYMNET_NB_OUT", str(out))
    nb = nbformat.read(str(NB_DIR / name), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    return nb


def _text(nb) -> str:
    """All stream and text/plain output of the executed notebook."""
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                parts.append(o["text"])
            elif "data" in o and "text/plain" in o["data"]:
                parts.append(o["data"]["text/plain"])
    return "\n".join(parts)


def _graph_picture(out: Path, stem: str) -> None:
    if HAVE_DOT:
        assert_png(out / f"{stem}.png", min_bytes=10000)
    else:
        assert (out / f"{stem}.dot").read_text().lstrip().startswith("digraph")


def test_committed_notebooks_match_generator():
    """notebooks/*.ipynb are what tools/make_notebooks.py writes, with outputs cleared."""
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  ROOT / "tools" / "make_notebooks.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for fname, cells in gen.NOTEBOOKS.items():
        committed = (NB_DIR / fname).read_text(encoding="utf-8")
        assert committed == nbformat.writes(gen.build(cells())) + "\n", \
            f"{fname} is stale: run .venv/bin/python tools/make_notebooks.py"
        nb = nbformat.reads(committed, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


def test_mnist_notebook(tmp_path, kernel_env, monkeypatch):
    out = tmp_path / "out"
    nb = _execute("mnist.ipynb", out, kernel_env, monkeypatch)
    text = _text(nb)
    assert "EPOCHS=1 LIMIT=500" in text
    assert "train_data   (500, 1, 28, 28)" in text
    assert "Total params: 431080" in text
    assert "Speed:" in text and "Validation-accuracy=" in text
    assert "LeNet test accuracy:" in text
    assert_png(out / "mnist-digits.png", min_bytes=5000)
    assert_png(out / "mlp-predict.png", min_bytes=5000)
    assert_png(out / "lenet-filters.png", min_bytes=3000)
    assert_png(out / "lenet-curves.png", min_bytes=5000)
    _graph_picture(out, "mlp-graph")
    _graph_picture(out, "lenet-graph")
    assert (out / "lenet-symbol.json").is_file() and (out / "lenet-0001.params").is_file()


def test_mxnet_checkpoint_notebook(tmp_path, kernel_env, monkeypatch):
    out = tmp_path / "out"
    nb = _execute("mxnet_checkpoint.ipynb", out, kernel_env, monkeypatch)
    text = _text(nb)
    assert "Total params: 431080" in text
    assert "largest difference:" in text  # the cell asserts allclose to MXNet's outputs
    assert "accuracy after 1 epoch(s):" in text
    assert_png(out / "lenet-finetune-curves.png", min_bytes=5000)
    assert_png(out / "lenet-finetune-predict.png", min_bytes=5000)
    _graph_picture(out, "lenet-checkpoint-graph")
    assert (out / "lenet-finetuned-symbol.json").is_file()
    assert (out / "lenet-finetuned-0001.params").is_file()
