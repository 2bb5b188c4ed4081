"""The probe forward pass changes nothing in the model: parameters, gradients,
BatchNorm statistics, modes, random generators, backward caches, hooks; also
when the forward pass raises. And it checks X before it runs."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from mlp_course import get_rng, scratch
from mlp_course.diagnostics import record_activations
from mlp_course.diagnostics.layers import activation_layers
from mlp_course.diagnostics.probe import probe_forward

from .conftest import assert_same_state, every_kind_of_layer, scratch_state, torch_state


def trained_a_little(model, X):
    """Gradients that are not zero and batch-norm statistics that are not the initial ones."""
    loss_fn = scratch.MSELoss()
    loss_fn(model(X), np.ones((len(X), 3)))
    model.backward(loss_fn.backward())
    return model


@pytest.mark.parametrize("bn_training", [True, False])
def test_a_scratch_probe_changes_nothing(X, bn_training):
    model = trained_a_little(every_kind_of_layer(), X)
    model[1].train(bn_training)
    model[3].eval()  # a mix of modes, kept as it is
    before = scratch_state(model)
    record_activations(model, X[:10] * 3)
    assert_same_state(before, scratch_state(model))
    assert all(not vars(m).get("_forward_hooks") for m in model.modules())


def test_a_scratch_probe_keeps_the_hooks_of_the_user_and_only_those(X):
    model, calls = every_kind_of_layer(), []
    for layer in model:
        layer.register_forward_hook(lambda module, inputs, output: calls.append(type(module).__name__))
    record_activations(model, X)
    assert all(len(layer._forward_hooks) == 1 for layer in model)
    assert calls == [type(layer).__name__ for layer in model]


@pytest.mark.parametrize("bn_training", [True, False])
def test_a_torch_probe_changes_nothing(X, bn_training):
    twin = scratch.to_torch(trained_a_little(every_kind_of_layer(), X))
    twin(torch.from_numpy(X)).square().sum().backward()
    twin[1].train(bn_training)
    twin[3].eval()
    before = torch_state(twin)
    out = record_activations(twin, X[:10] * 3)
    assert_same_state(before, torch_state(twin))
    assert all(not m._forward_hooks for m in twin.modules())
    assert not twin[1].num_batches_tracked.requires_grad and out["2 Tanh"].dtype == np.float64


class Explodes(scratch.Module):
    def forward(self, x):
        raise RuntimeError("boom")


class TorchExplodes(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_a_scratch_forward_that_raises_leaves_no_hook_and_no_statistic_behind(X):
    model = every_kind_of_layer()
    model.layers.insert(5, Explodes())  # after batch norm and the first two activations have run
    before = scratch_state(model)
    with pytest.raises(RuntimeError, match="boom"):
        record_activations(model, X)
    assert_same_state(before, scratch_state(model))


def test_a_torch_forward_that_raises_leaves_no_hook_and_no_statistic_behind(X):
    twin = scratch.to_torch(every_kind_of_layer())
    twin = torch.nn.Sequential(*list(twin)[:5], TorchExplodes(), *list(twin)[5:])
    before = torch_state(twin)
    with pytest.raises(RuntimeError, match="boom"):
        record_activations(twin, X)
    assert_same_state(before, torch_state(twin))


def test_a_probe_between_forward_and_backward_does_not_change_the_gradients(X):
    def gradients(probe: bool):
        model = every_kind_of_layer()  # the same weights and masks each time: the seed is reset
        model.layers.insert(6, scratch.Dropout(0.5))  # a dropout that trains: its mask must survive
        loss_fn = scratch.MSELoss()
        loss_fn(model(X), np.ones((len(X), 3)))
        if probe:
            record_activations(model, X[:7] + 1)
        model.backward(loss_fn.backward())
        return [p.grad.copy() for p in model.parameters()]

    from mlp_course import seed_everything

    seed_everything(3)
    plain = gradients(False)
    seed_everything(3)
    probed = gradients(True)
    for a, b in zip(plain, probed):
        np.testing.assert_array_equal(a, b)


def test_dropout_in_training_mode_draws_no_random_number_for_good(X):
    model = every_kind_of_layer()
    model[5].train()
    own = scratch.Dropout(0.5, rng=np.random.default_rng(1))
    model.layers.insert(8, own)
    course_state, own_state = get_rng().bit_generator.state, own._rng.bit_generator.state
    first = record_activations(model, X)
    assert get_rng().bit_generator.state == course_state and own._rng.bit_generator.state == own_state
    second = record_activations(model, X)
    np.testing.assert_array_equal(first["7 Sigmoid"], second["7 Sigmoid"])

    twin = scratch.to_torch(model)
    torch_state_before = torch.random.get_rng_state()
    first, second = record_activations(twin, X), record_activations(twin, X)
    assert torch.equal(torch.random.get_rng_state(), torch_state_before)
    np.testing.assert_array_equal(first["7 Sigmoid"], second["7 Sigmoid"])


def test_a_numpy_probe_for_torch_takes_the_dtype_of_the_model(X):
    twin = scratch.to_torch(every_kind_of_layer(np.float32))
    out = record_activations(twin, X)  # float64 data, float32 model
    assert out["2 Tanh"].dtype == np.float32
    from_tensor = record_activations(twin, torch.from_numpy(X.astype(np.float32)))
    np.testing.assert_array_equal(out["2 Tanh"], from_tensor["2 Tanh"])


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.ones(5), ValueError, "record_activations: X must be 2-D, shape (N examples, d features), got shape (5,)"),
        (np.ones((2, 2, 5)), ValueError, "X must be 2-D, shape (N examples, d features), got shape (2, 2, 5)"),
        (np.ones((4, 6)), ValueError, "record_activations: X must have 5 columns, the input width of the first "
                                      "layer '0 Linear', got shape (4, 6)"),
        (np.ones((0, 5)), ValueError, "record_activations: X holds no example (shape (0, 5))"),
        ([[1.0] * 5], TypeError, "record_activations: X must be a NumPy array of shape (N, d), got list"),
        (np.ones((3, 5), dtype=int), TypeError, "record_activations: X must have dtype float32 or float64, got int64"),
    ],
)
def test_bad_input_gets_a_clear_error(model, bad, error, message):
    with pytest.raises(error, match=re.escape(message)):
        record_activations(model, bad)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.ones(5), ValueError, "X must be 2-D, shape (N examples, d features), got shape (5,)"),
        (torch.ones(3, 4), ValueError, "X must have 5 columns, the input width of the first layer '0 Linear', "
                                       "got shape (3, 4)"),
        ([[1.0] * 5], TypeError, "X must be a NumPy array or a torch.Tensor, got list"),
    ],
)
def test_bad_input_for_a_torch_model_gets_a_clear_error(model, bad, error, message):
    with pytest.raises(error, match=re.escape(message)):
        record_activations(scratch.to_torch(model), bad)


def test_a_layer_called_through_forward_is_reported():
    class Direct(scratch.Module):
        def __init__(self):
            self.layer = scratch.Linear(2, 2)
            self.act = scratch.ReLU()

        def forward(self, x):
            return self.act.forward(self.layer(x))

    model = Direct()
    with pytest.raises(RuntimeError, match=re.escape("the forward pass did not call layer(s) ['act ReLU']; a module "
                                                     "must call its sub-modules as layer(x), not layer.forward(x)")):
        probe_forward("f", model, np.ones((1, 2), dtype=np.float32), activation_layers(model), lambda *a: None)


def test_a_torch_probe_runs_without_autograd(model, X):
    twin, seen = scratch.to_torch(model), []
    handle = twin[2].register_forward_hook(lambda *args: seen.append(torch.is_grad_enabled()))
    record_activations(twin, X)
    twin(torch.from_numpy(X))
    handle.remove()
    assert seen == [False, True]  # a user's hook is kept and still runs
