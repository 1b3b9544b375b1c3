"""PyTorch eager loop, same nets, init and data: CPU (``torch.set_num_threads(2)``) or CUDA.

Runs in /work/torchvenv. Batches are pre-made tensors (no DataLoader), fixed order, already on
the device (``BENCH_DEVICE=gpu``: CUDA, synchronised before every clock read).
``resnet20``: MXNet's pre-activation ResNet-20 (CIFAR stem, graphs/resnet.py) written in torch
(data BatchNorm, 3 stages x 3 basic units 16/32/64, projection shortcut on each stage's first
unit), torch's default init.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def resnet20(nn):
    """graphs.build('resnet-20-cifar') in torch: same layers, shapes and order."""
    import torch

    def bn(c):
        return nn.BatchNorm2d(c, eps=2e-5, momentum=0.1)

    class Unit(nn.Module):
        def __init__(self, cin, cout, stride, dim_match):
            super().__init__()
            self.bn1, self.conv1 = bn(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn2, self.conv2 = bn(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.sc = None if dim_match else nn.Conv2d(cin, cout, 1, stride, bias=False)

        def forward(self, x):
            a1 = torch.relu(self.bn1(x))
            h = self.conv2(torch.relu(self.bn2(self.conv1(a1))))
            return h + (x if self.sc is None else self.sc(a1))

    layers = [bn(3), nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    cin = 16
    for stage, cout in enumerate((16, 32, 64)):
        for u in range(3):
            layers.append(Unit(cin, cout, 2 if (stage and not u) else 1, u > 0))
            cin = cout
    layers += [bn(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def main() -> None:
    args = common.parser("torch").parse_args()
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "2")))
    dev = torch.device("cuda" if common.DEVICE == "gpu" else "cpu")

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    x, y, params = common.load(args.data, args.model, args.n)
    if args.model == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                            nn.ReLU(), nn.Linear(64, 10))
        layers = [net[1], net[3], net[5]]
        names = ["fc1", "fc2", "fc3"]
    elif args.model == "resnet20":
        net, layers, names = resnet20(nn), [], []
    else:
        net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
                            nn.Conv2d(20, 50, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Flatten(),
                            nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
        layers = [net[0], net[3], net[7], net[9]]
        names = ["conv1", "conv2", "fc1", "fc2"]
    with torch.no_grad():  # MXNet layouts are torch's layouts
        for layer, name in zip(layers, names):
            layer.weight.copy_(torch.from_numpy(params[name + "_weight"]))
            layer.bias.copy_(torch.from_numpy(params[name + "_bias"]))
    net.to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=common.LR)
    loss_fn = nn.CrossEntropyLoss()
    nb = args.n // common.BATCH
    xs = [torch.from_numpy(x[i * common.BATCH:(i + 1) * common.BATCH]).to(dev)
          for i in range(nb)]
    ys = [torch.from_numpy(y[i * common.BATCH:(i + 1) * common.BATCH].astype(np.int64)).to(dev)
          for i in range(nb)]
    sync()

    t0 = time.perf_counter()
    epoch_times, first = [], None
    for _ in range(args.epochs):
        te = time.perf_counter()
        for i in range(nb):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[i]), ys[i])
            loss.backward()
            opt.step()
            if first is None:
                sync()
                first = time.perf_counter() - t0
        sync()
        epoch_times.append(time.perf_counter() - te)

    pred_sps = None
    if args.npred:
        npb = args.npred // common.BATCH
        times = []
        with torch.inference_mode():
            net(xs[0])
            sync()
            for _ in range(3):
                t = time.perf_counter()
                for i in range(npb):
                    torch.softmax(net(xs[i % nb]), dim=1)
                sync()
                times.append(time.perf_counter() - t)
        pred_sps = args.npred / min(times)
    common.emit("torch", args, epoch_times=epoch_times, first_step_s=first,
                predict_sps=pred_sps, final_loss=float(loss.detach()), torch=torch.__version__,
                threads=torch.get_num_threads(), torch_device=str(dev),
                device_kind=torch.cuda.get_device_name() if dev.type == "cuda" else "cpu")


if __name__ == "__main__":
    main()
