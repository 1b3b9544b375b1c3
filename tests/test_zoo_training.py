"""The small zoo networks train: a few steps on one small random batch lower the loss."""
from __future__ import annotations

import numpy as np
import pytest

import graphs
import symnet as mx

# (graph configuration, input shape (C, H, W), classes, batch). MXNet's MobileNet ends in a
# fixed 7x7 average pooling (not a global one), so it cannot run at 64x64; at 224x224 its
# training compile costs the suite ~25 s, so it is forward-checked in test_zoo.py instead.
SMALL = [("mlp", (1, 28, 28), 10, 4), ("lenet", (1, 28, 28), 10, 4),
         ("resnet-20-cifar", (3, 28, 28), 10, 4)]


@pytest.mark.parametrize("config, shape, classes, batch", SMALL, ids=[c[0] for c in SMALL])
def test_small_zoo_network_loss_decreases(config, shape, classes, batch):
    net = graphs.build(config)
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (batch,) + shape).astype(np.float32)
    y = rng.randint(0, classes, batch).astype(np.float32)
    mx.random.seed(0)
    model = mx.model.FeedForward(net, num_epoch=6, learning_rate=0.05, momentum=0.9,
                                 initializer=mx.init.Xavier(magnitude=2.0))
    model.fit(mx.io.NDArrayIter(x, y, batch), eval_metric="ce")
    losses = [epoch["train"]["cross-entropy"] for epoch in model.history]
    assert np.isfinite(losses).all(), losses
    assert losses[-1] < losses[0], losses
