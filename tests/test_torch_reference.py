"""The test helpers themselves: a snapshot notices every kind of change the
"nothing changed after an error" assertions rely on."""

from __future__ import annotations

import numpy as np
import pytest
from torch_reference import assert_unchanged, snapshot

from mlp_course.scratch import SGD, BatchNorm1d, CrossEntropyLoss, Dropout, Linear, Sequential


def model_and_optimizer():
    model = Sequential(Linear(3, 4, dtype=np.float64), BatchNorm1d(4, dtype=np.float64), Dropout(0.5, rng=np.random.default_rng(0)))
    return model, SGD(model.parameters(), lr=0.1, momentum=0.9)


@pytest.mark.parametrize(
    "change",
    [
        lambda model, opt, loss: model[0].weight.data.__setitem__((0, 0), 1e-300),
        lambda model, opt, loss: model[0].bias.grad.__iadd__(1.0),
        lambda model, opt, loss: setattr(model[1], "running_var", model[1].running_var * 1.0000001),
        lambda model, opt, loss: setattr(model[1], "num_batches_tracked", 1),
        lambda model, opt, loss: model.eval(),
        lambda model, opt, loss: opt.step(),
        lambda model, opt, loss: model[2]._rng.random(),
        lambda model, opt, loss: loss(np.zeros((2, 3)), np.array([0, 1])),
    ],
    ids=["weight", "grad", "buffer", "counter", "mode", "optimiser", "generator", "loss-cache"],
)
def test_snapshot_notices_every_change(change):
    model, optimizer = model_and_optimizer()
    loss = CrossEntropyLoss()
    before = snapshot(model, optimizer, loss)
    change(model, optimizer, loss)
    with pytest.raises(AssertionError, match="state changed"):
        assert_unchanged(before, model, optimizer, loss)


def test_snapshot_of_an_untouched_model_is_unchanged():
    model, optimizer = model_and_optimizer()
    before = snapshot(model, optimizer)
    model.parameters()
    assert_unchanged(before, model, optimizer)
