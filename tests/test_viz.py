"""symnet.viz against MXNet 1.9.1 goldens (tests/fixtures/viz, tools/gen_viz_fixtures.py).

plot_network's dot text is parsed into structure (graph name, declared nodes with attributes,
edges with attributes, in order) and compared with MXNet's exactly; print_summary's text is
compared character for character. Rendering goes through Graphviz's ``dot`` where installed.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import symnet as mx
from symnet import viz
from symnet.base import ParamError, ShapeError, SymnetError

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "viz")
REPO = os.path.dirname(HERE)
sys.path.insert(0, FIX)
import nets  # noqa: E402

with open(os.path.join(FIX, "viz.json")) as _f:
    GOLD = json.load(_f)

HAS_DOT = shutil.which("dot") is not None
HAS_GRAPHVIZ = importlib.util.find_spec("graphviz") is not None
HAS_MPL = importlib.util.find_spec("matplotlib") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' program not installed")
needs_mpl = pytest.mark.skipif(not HAS_MPL, reason="matplotlib not installed")

_SYMS: dict = {}


def net(name):
    if name not in _SYMS:
        _SYMS[name] = nets.NETS[name](mx)
    return _SYMS[name]


# ---- a small dot parser -------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(->)|("(?:[^"\\]|\\.)*")|([\[\]{};=,])|([^\s\[\]{};=,"]+))', re.S)


def _tokens(text):
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"cannot tokenise dot text at {text[pos:pos + 40]!r}"
        arrow, quoted, punct, word = m.groups()
        if quoted is not None:
            out.append(("id", quoted[1:-1].replace('\\"', '"')))
        elif word is not None:
            out.append(("id", word))
        else:
            out.append(("p", arrow or punct))
        pos = m.end()
    return out


def parse_dot(text):
    """-> (graph name, [(node, attrs)], [(tail, head, attrs)], graph attrs)."""
    toks = _tokens(text)
    assert toks[0] == ("id", "digraph"), toks[:3]
    name = toks[1][1]
    assert toks[2] == ("p", "{") and toks[-1] == ("p", "}")
    body = toks[3:-1]
    nodes, edges, graph_attrs = [], [], {}
    i = 0

    def attrs_at(j):
        attrs = {}
        if j < len(body) and body[j] == ("p", "["):
            j += 1
            while body[j] != ("p", "]"):
                key = body[j][1]
                assert body[j + 1] == ("p", "=")
                assert key not in attrs, f"duplicate attribute {key}"
                attrs[key] = body[j + 2][1]
                j += 3
                if body[j] in (("p", ","), ("p", ";")):
                    j += 1
            j += 1
        return attrs, j

    while i < len(body):
        if body[i] == ("p", ";"):
            i += 1
            continue
        first = body[i][1]
        if i + 1 < len(body) and body[i + 1] == ("p", "->"):
            head = body[i + 2][1]
            attrs, i = attrs_at(i + 3)
            edges.append((first, head, attrs))
        elif first == "graph" and body[i][0] == "id" and i + 1 < len(body) \
                and body[i + 1] == ("p", "["):
            attrs, i = attrs_at(i + 1)
            graph_attrs.update(attrs)
        else:
            attrs, i = attrs_at(i + 1)
            nodes.append((first, attrs))
    return name, nodes, edges, graph_attrs


def test_parse_dot_reads_quoting_and_multiline_labels():
    name, nodes, edges, gattrs = parse_dot(
        'digraph "my net" {\n\tconv1 [label="Convolution\n5x5/1, 20" shape=box]\n'
        '\t"a b" [label="x\\"y"]\n\tconv1 -> "node" [label=800 dir=back]\n'
        '\tgraph [label=tot]\n}\n')
    assert name == "my net"
    assert nodes == [("conv1", {"label": "Convolution\n5x5/1, 20", "shape": "box"}),
                     ("a b", {"label": 'x"y'})]
    assert edges == [("conv1", "node", {"label": "800", "dir": "back"})]
    assert gattrs == {"label": "tot"}


# ---- plot_network vs MXNet ----------------------------------------------------------------------

def _kwargs(case):
    kw = dict(case["kwargs"])
    if "shape" in kw:
        kw["shape"] = {k: tuple(v) for k, v in kw["shape"].items()}
    if "dtype" in kw:
        kw["dtype"] = {k: np.dtype(v).type for k, v in kw["dtype"].items()}
    return kw


def _case_id(case):
    return case["net"] + "-" + "-".join(sorted(case["kwargs"])) if case["kwargs"] else \
        case["net"] + "-default"


@pytest.mark.parametrize("case", GOLD["plots"], ids=[_case_id(c) for c in GOLD["plots"]])
def test_plot_network_matches_mxnet(case):
    dot = mx.viz.plot_network(net(case["net"]), **_kwargs(case))
    assert dot.name == case["name"]
    assert dot.format == case["format"]
    assert parse_dot(dot.source) == parse_dot(case["source"])


def test_plot_network_fallback_source_matches_mxnet(monkeypatch):
    """The dependency-free writer (no graphviz/dot) produces the same structure."""
    monkeypatch.setattr(viz, "_graphviz_status", lambda: (False, None))
    for case in GOLD["plots"]:
        dot = mx.viz.plot_network(net(case["net"]), **_kwargs(case))
        assert isinstance(dot, viz.DotGraph)
        assert (dot.name, dot.format) == (case["name"], case["format"])
        assert parse_dot(dot.source) == parse_dot(case["source"]), _case_id(case)


def test_lenet_edge_labels_and_hidden_weights():
    dot = mx.viz.plot_network(net("lenet"), shape={"data": (1, 1, 28, 28)})
    if HAS_GRAPHVIZ and HAS_DOT:
        import graphviz
        assert isinstance(dot, graphviz.Digraph)
    _, nodes, edges, _ = parse_dot(dot.source)
    labels = {(t, h): a["label"] for t, h, a in edges}
    assert labels[("conv1", "data")] == "1x28x28"
    assert labels[("fc1", "flatten")] == "800"
    assert labels[("softmax", "softmax_label")] == ""
    names = [n for n, _ in nodes]
    assert not any(n.endswith(("_weight", "_bias")) for n in names)
    assert all(not h.endswith(("_weight", "_bias")) for _, h, _ in edges)


def test_plot_network_accepts_json_text_and_path(tmp_path):
    want = parse_dot(mx.viz.plot_network(net("lenet"), shape={"data": (1, 1, 28, 28)}).source)
    text = GOLD["symbols"]["lenet"]  # MXNet's own tojson()
    path = tmp_path / "lenet-symbol.json"
    path.write_text(text)
    for source in (text, str(path), path):
        got = mx.viz.plot_network(source, shape={"data": (1, 1, 28, 28)})
        assert parse_dot(got.source) == want


def test_plot_network_bad_inputs():
    with pytest.raises(SymnetError, match="neither an existing"):
        mx.viz.plot_network("no-such-symbol.json")
    with pytest.raises(TypeError, match="received int"):
        mx.viz.plot_network(3)
    with pytest.raises(ShapeError, match="incomplete"):
        mx.viz.plot_network(net("lenet"), shape={"softmax_label": (1,)})
    with pytest.raises(ShapeError, match="show_stats"):
        mx.viz.plot_network(net("lenet"), show_stats=True)


def test_show_stats_params_flops_and_multi_output_edges():
    sym = net("lenet")
    dot = mx.viz.plot_network(sym, shape={"data": (4, 1, 28, 28)}, show_stats=True)
    _, nodes, _, gattrs = parse_dot(dot.source)
    labels = dict((n, a["label"]) for n, a in nodes)
    # conv1: 20 filters 1x5x5 + 20 bias = 520 params; 20*24*24 outputs x (2*25 + 1) FLOPs.
    assert labels["conv1"] == "Convolution\n5x5/1, 20\n520 params\n587.5K FLOPs"
    assert labels["fc1"].split("\n")[2] == "400,500 params"
    assert labels["fc1"].split("\n")[3] == f"{viz._human(2 * 800 * 500 + 500)} FLOPs"
    assert labels["tanh1"] == "Activation\ntanh\n11.5K FLOPs"  # no line for 0 params
    assert "431,080 trainable parameters" in gattrs["label"]  # MXNet's LeNet total
    assert "fixedsize" in nodes[0][1] and nodes[1][1]["fixedsize"] == "false"
    # BatchNorm's moving stats are not trainable: 2 * C; edges out of split use the used output.
    stats = mx.viz.plot_network(net("bnnet"), shape={"data": (2, 3, 12, 12)}, show_stats=True,
                                hide_weights=False)
    _, nodes, edges, _ = parse_dot(stats.source)
    labels = dict((n, a["label"]) for n, a in nodes)
    assert labels["bn1"].split("\n")[1] == "16 params"
    assert labels["prelu3"].split("\n")[2] == "6 params"
    edge = {(t, h): a["label"] for t, h, a in edges}
    assert edge[("conv3", "split")] == "6x12x12"


def test_human_numbers():
    assert [viz._human(v) for v in (0, 999, 1000, 431080, 2293000, 1.5e9)] == \
        ["0", "999", "1K", "431.1K", "2.29M", "1.5G"]


# ---- print_summary vs MXNet ---------------------------------------------------------------------

@pytest.mark.parametrize("case", GOLD["summaries"], ids=[_case_id(c) for c in GOLD["summaries"]])
def test_print_summary_matches_mxnet(case):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert mx.viz.print_summary(net(case["net"]), **_kwargs(case)) is None
    assert buf.getvalue() == case["text"]


@pytest.mark.parametrize("case", GOLD["zoo"], ids=[c["file"] for c in GOLD["zoo"]])
def test_zoo_checkpoints_match_mxnet(case):
    """MXNet-written -symbol.json files (residual adds, depthwise convs, BatchNorm) by path."""
    path = os.path.join(HERE, "fixtures", "zoo", case["file"])
    shape = {"data": tuple(case["shape"])}
    dot = mx.viz.plot_network(path, shape=shape)
    assert parse_dot(dot.source) == parse_dot(case["source"])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mx.viz.print_summary(path, shape=shape)
    assert buf.getvalue() == case["summary"]


def test_print_summary_lenet_total():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mx.viz.print_summary(GOLD["symbols"]["lenet"], shape={"data": (1, 1, 28, 28)})
    assert "Total params: 431080\n" in buf.getvalue()


# ---- rendering through Graphviz -----------------------------------------------------------------

def _png_info(data: bytes):
    """(width, height, fraction of pixels differing from the top-left background pixel)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    if HAS_MPL:
        from matplotlib import image as mpimg
        pixels = mpimg.imread(io.BytesIO(data), format="png")
        pixels = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)[..., :3]
        busy = np.any(pixels != pixels[0, 0], axis=-1).mean()
        return pixels.shape[1], pixels.shape[0], float(busy)
    return _png_info_pure(data)


def _png_info_pure(data: bytes):
    """The same for an 8-bit non-interlaced PNG, decoded in pure Python (no matplotlib)."""
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0, header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    pixels = np.frombuffer(b"".join(rows), np.uint8).reshape(height, width, channels)
    color_px = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    background = color_px[0, 0]
    busy = np.any(color_px != background, axis=-1).mean()
    return width, height, float(busy)


@needs_dot
def test_render_svg_holds_every_label(tmp_path):
    dot = mx.viz.plot_network(net("bnnet"), shape={"data": (2, 3, 12, 12)})
    out = dot.render(str(tmp_path / "bnnet"), format="svg")
    svg = open(out, encoding="utf-8").read()
    _, nodes, edges, _ = parse_dot(dot.source)
    texts = {html_unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    for _, attrs in nodes:
        for line in attrs["label"].split("\n"):
            assert line in texts, line
    for _, _, attrs in edges:
        if attrs["label"]:
            assert attrs["label"] in texts


def html_unescape(text):
    import html
    return html.unescape(text)


@needs_dot
def test_render_png_is_non_blank(tmp_path):
    dot = mx.viz.plot_network(net("lenet"), shape={"data": (1, 1, 28, 28)}, save_format="png")
    out = dot.render(str(tmp_path / "lenet"))
    width, height, busy = _png_info(open(out, "rb").read())
    assert 50 < width < 2000 and 300 < height < 5000
    assert busy > 0.02


@needs_dot
def test_dotgraph_renders_without_python_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(viz, "_graphviz_status", lambda: (False, shutil.which("dot")))
    dot = mx.viz.plot_network(net("mlp"), shape={"data": (1, 784)})
    assert isinstance(dot, viz.DotGraph)
    svg = dot.pipe("svg").decode()
    assert "FullyConnected" in svg and "<svg" in svg
    assert dot._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    out = dot.render(str(tmp_path / "mlp"), format="png")
    assert out.endswith(".png") and _png_info(open(out, "rb").read())[2] > 0.02


_NO_DOT_SCRIPT = r"""
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "block":
    import importlib.abc
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "graphviz" or name.startswith("graphviz."):
                raise ImportError("blocked for the test")
    sys.meta_path.insert(0, Block())
import symnet as mx
import nets
dot = mx.viz.plot_network(nets.lenet(mx), shape={"data": (1, 1, 28, 28)})
result = {"type": type(dot).__name__, "source": dot.source,
          "bundle": dot._repr_mimebundle_(), "svg": dot._repr_svg_()}
try:
    dot.render("x")
    result["error"] = None
except ImportError as err:
    result["error"] = [type(err).__name__, str(err)]
dot.save(sys.argv[3])
print(json.dumps(result))
"""


@pytest.mark.parametrize("block_graphviz", [False, True], ids=["no-dot", "no-dot-no-graphviz"])
def test_no_dot_fallback_in_subprocess(tmp_path, block_graphviz):
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir if shutil.which("dot", path=bindir) is None else str(tmp_path)
    env["PYTHONPATH"] = REPO
    saved = tmp_path / "lenet.gv"
    proc = subprocess.run([sys.executable, "-c", _NO_DOT_SCRIPT, FIX,
                           "block" if block_graphviz else "keep", str(saved)],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["type"] == "DotGraph"
    gold = next(c for c in GOLD["plots"] if c["net"] == "lenet" and c["kwargs"] == {
        "shape": {"data": [1, 1, 28, 28]}})
    assert parse_dot(result["source"]) == parse_dot(gold["source"])
    assert result["bundle"] == {"text/plain": result["source"]}
    assert result["svg"].startswith("<svg") and "Convolution" in result["svg"]
    kind, message = result["error"]
    assert kind == "MissingDependencyError"
    assert "'dot' program is not on PATH" in message
    assert ("'graphviz' Python package is not installed" in message) == (
        block_graphviz or not HAS_GRAPHVIZ)
    assert saved.read_text() == result["source"]


# ---- filters and history ------------------------------------------------------------------------

def _check_png(path, min_w=100, min_h=100):
    width, height, busy = _png_info(open(path, "rb").read())
    assert min_w <= width <= 4000 and min_h <= height <= 4000, (width, height)
    assert busy > 0.05, busy
    return width, height


@needs_mpl
def test_plot_filters_first_layer_gray_and_rgb(tmp_path):
    rng = np.random.RandomState(0)
    out = viz.plot_filters(mx.nd.array(rng.randn(20, 1, 5, 5)), "conv1", str(tmp_path / "c1.png"))
    assert out == str(tmp_path / "c1.png")
    _check_png(out)
    out = viz.plot_filters(rng.randn(8, 3, 3, 3), "rgb", str(tmp_path / "rgb.png"))
    _check_png(out)


@needs_mpl
def test_plot_filters_deeper_layer_grid_from_checkpoint(tmp_path):
    rng = np.random.RandomState(1)
    params = {"arg:conv2_weight": mx.nd.array(rng.randn(6, 4, 3, 3)),
              "arg:conv2_bias": mx.nd.zeros((6,)), "aux:bn_moving_mean": mx.nd.zeros((6,))}
    mx.nd.save(str(tmp_path / "net-0003.params"), params)
    out = viz.plot_filters(str(tmp_path / "net"), "conv2", str(tmp_path / "c2.png"), epoch=3)
    _check_png(out)
    fig = viz.plot_filters({"conv2_weight": rng.randn(6, 4, 3, 3)}, "conv2")
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (4 * 4 + 1, 6 * 4 + 1)  # 4 channel rows x 6 filter columns, 1px pad
    with pytest.raises(ParamError, match="conv9"):
        viz.plot_filters(str(tmp_path / "net"), "conv9", epoch=3)
    with pytest.raises(ParamError, match="epoch"):
        viz.plot_filters(str(tmp_path / "net"), "conv2")
    with pytest.raises(ShapeError, match="expected a 2-D convolution"):
        viz.plot_filters(np.zeros((2, 3, 4)), "x")


HISTORY = [{"epoch": e, "train": {"accuracy": 0.8 + 0.05 * e, "cross-entropy": 0.6 - 0.1 * e},
            "eval": {"accuracy": 0.82 + 0.04 * e}, "time": 1.2,
            "samples_per_sec": 5000.0 + 100 * e} for e in range(4)]


@needs_mpl
def test_plot_history_png(tmp_path):
    out = viz.plot_history(HISTORY, str(tmp_path / "h.png"))
    width, height = _check_png(out, min_w=400)
    assert width > height  # one panel per metric plus throughput, side by side
    fig = viz.plot_history(HISTORY)
    assert [ax.get_title() for ax in fig.axes] == ["accuracy", "cross-entropy", "samples/sec"]
    acc = fig.axes[0].get_lines()
    assert [line.get_label() for line in acc] == ["train", "eval"]
    np.testing.assert_allclose(acc[1].get_ydata(), [0.82, 0.86, 0.90, 0.94])

    class Model:
        history = HISTORY[:1]
    assert viz.plot_history(Model(), metrics=["accuracy"]).axes[0].get_title() == "accuracy"
    with pytest.raises(ParamError, match="per-epoch dicts"):
        viz.plot_history([])
    with pytest.raises(ParamError, match="entry 1"):
        viz.plot_history([HISTORY[0], 3])
    with pytest.raises(ParamError, match="top5"):
        viz.plot_history(HISTORY, metrics=["top5"])


def test_matplotlib_missing_is_clear(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(viz.MissingDependencyError, match="pip install matplotlib"):
        viz.plot_history(HISTORY, "x.png")
    with pytest.raises(ImportError, match="needs matplotlib"):
        viz.plot_filters(np.zeros((2, 1, 3, 3)), "c", "x.png")


# ---- command-line helpers -----------------------------------------------------------------------

def _cli(adder, argv):
    parser = argparse.ArgumentParser()
    adder(parser)
    return parser.parse_args(argv)


def test_cli_summary_json_path(tmp_path, capsys):
    path = tmp_path / "lenet-symbol.json"
    path.write_text(GOLD["symbols"]["lenet"])
    args = _cli(viz.add_summary_arguments, [str(path), "--shape", "1,28,28"])
    assert viz.cli_summary(args) == 0
    want = next(c for c in GOLD["summaries"] if c["net"] == "lenet"
                and c["kwargs"] == {"shape": {"data": [1, 1, 28, 28]}})["text"]
    assert capsys.readouterr().out == want


def test_cli_plot_dot_and_graph_module(tmp_path, capsys, monkeypatch):
    path = tmp_path / "mlp-symbol.json"
    path.write_text(GOLD["symbols"]["mlp"])
    out = tmp_path / "mlp.dot"
    assert viz.cli_plot(_cli(viz.add_plot_arguments, [str(path), "-o", str(out),
                                                      "--shape", "data=784"])) == 0
    gold = next(c for c in GOLD["plots"] if c["net"] == "mlp" and c["kwargs"] == {
        "shape": {"data": [100, 784]}})
    name, nodes, edges, _ = parse_dot(out.read_text())
    assert (nodes, edges) == parse_dot(gold["source"])[1:3] and name == "mlp"
    # a graphs/<name>.py module resolved with importlib
    pkg = tmp_path / "pkgroot" / "graphs"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tinynet.py").write_text(
        "import symnet as mx\n"
        "def get_symbol(num_classes=10):\n"
        "    d = mx.sym.Variable('data')\n"
        "    f = mx.sym.FullyConnected(d, num_hidden=num_classes, name='fc')\n"
        "    return mx.sym.SoftmaxOutput(f, name='softmax')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgroot"))
    for mod in [m for m in sys.modules if m == "graphs" or m.startswith("graphs.")]:
        monkeypatch.delitem(sys.modules, mod)
    out = tmp_path / "tiny.gv"
    assert viz.cli_plot(_cli(viz.add_plot_arguments, ["tinynet", "-o", str(out), "--shape", "7",
                                                      "--stats"])) == 0
    _, nodes, edges, _ = parse_dot(out.read_text())
    assert dict(nodes)["fc"]["label"].startswith("FullyConnected\n10\n80 params")
    assert ("fc", "data", {"label": "7", "arrowtail": "open", "dir": "back"}) in edges
    with pytest.raises(SymnetError, match="no graph named 'nosuchnet'"):
        viz.cli_plot(_cli(viz.add_plot_arguments, ["nosuchnet", "-o", str(out)]))
    with pytest.raises(ParamError, match="format of 'x.jpg'"):
        viz.cli_plot(_cli(viz.add_plot_arguments, ["tinynet", "-o", "x.jpg"]))
    with pytest.raises(ShapeError, match="--shape '1,a'"):
        viz.cli_plot(_cli(viz.add_plot_arguments, ["tinynet", "-o", str(out), "--shape", "1,a"]))


def test_cli_with_the_graph_zoo(tmp_path, capsys):
    """`symnet summary lenet` uses graphs.build and the recipe's input shape (1, 28, 28)."""
    pytest.importorskip("graphs")
    from symnet import cli
    assert cli.main(["summary", "lenet"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 431080\n" in out and "1x28x28" in out
    dot_path = tmp_path / "lenet.dot"
    assert cli.main(["plot", "lenet", "-o", str(dot_path)]) == 0
    _, nodes, edges, _ = parse_dot(dot_path.read_text())
    assert ("conv1", "data", {"label": "1x28x28", "arrowtail": "open", "dir": "back"}) in edges \
        or any(h == "data" and a["label"] == "1x28x28" for _, h, a in edges)


@needs_dot
def test_cli_plot_svg(tmp_path):
    path = tmp_path / "lenet-symbol.json"
    path.write_text(GOLD["symbols"]["lenet"])
    out = tmp_path / "sub" / "lenet.svg"
    assert viz.cli_plot(_cli(viz.add_plot_arguments, [str(path), "-o", str(out),
                                                      "--shape", "1,28,28"])) == 0
    svg = out.read_text()
    assert "1x28x28" in svg and "Pooling" in svg


def test_png_decoders_agree(tmp_path):
    """The pure-Python PNG reader used without matplotlib agrees with matplotlib's."""
    if not HAS_MPL:
        pytest.skip("matplotlib not installed")
    rng = np.random.RandomState(2)
    out = viz.plot_filters(rng.randn(4, 1, 3, 3), "c", str(tmp_path / "small.png"))
    data = open(out, "rb").read()
    assert _png_info_pure(data) == pytest.approx(_png_info(data))
