"""Finding the activation and weight layers, and their names, in scratch and torch models."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from mlp_course import scratch
from mlp_course.diagnostics import layer_names, weight_layer_names
from mlp_course.diagnostics.layers import activation_layers, grad_array, weight_array, weight_layers

ACTIVATIONS = ["2 Tanh", "4 ReLU", "7 Sigmoid", "9 LeakyReLU"]
WEIGHTS = ["0 Linear", "3 Linear", "6 Linear", "8 Linear", "10 Linear"]


def test_names_are_the_position_in_the_sequential_and_the_type(model):
    assert layer_names(model) == ACTIVATIONS
    assert weight_layer_names(model) == WEIGHTS


def test_a_torch_copy_has_the_same_names_and_the_same_layers(model):
    twin = scratch.to_torch(model)
    assert layer_names(twin) == ACTIVATIONS
    assert weight_layer_names(twin) == WEIGHTS
    assert [type(layer.module) for layer in activation_layers(twin)] == [
        torch.nn.Tanh, torch.nn.ReLU, torch.nn.Sigmoid, torch.nn.LeakyReLU]
    for ours, theirs in zip(weight_layers(model), weight_layers(twin)):
        np.testing.assert_array_equal(weight_array(ours), weight_array(theirs))


def test_nested_sequentials_get_dotted_paths_like_named_modules():
    model = scratch.Sequential(scratch.Linear(2, 3), scratch.Sequential(scratch.ReLU(), scratch.Linear(3, 3)),
                               scratch.Sequential(scratch.Sequential(scratch.Tanh())))
    assert layer_names(model) == ["1.0 ReLU", "2.0.0 Tanh"]
    assert weight_layer_names(model) == ["0 Linear", "1.1 Linear"]
    assert layer_names(scratch.to_torch(model)) == ["1.0 ReLU", "2.0.0 Tanh"]


def test_a_custom_torch_module_is_named_by_its_attributes():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(2, 4)
            self.act = torch.nn.ReLU()
            self.out = torch.nn.Linear(4, 1)

        def forward(self, x):
            return self.out(self.act(self.hidden(x)))

    assert layer_names(Net()) == ["act ReLU"]
    assert weight_layer_names(Net()) == ["hidden Linear", "out Linear"]


def test_a_single_layer_is_named_by_its_type_and_a_shared_layer_counts_once():
    relu = scratch.ReLU()
    assert layer_names(relu) == ["ReLU"]
    assert layer_names(scratch.Sequential(scratch.Linear(2, 2), relu, scratch.Linear(2, 2), relu)) == ["1 ReLU"]


def test_softmax_batchnorm_and_dropout_are_neither_activation_nor_weight_layers():
    model = scratch.Sequential(scratch.BatchNorm1d(2), scratch.Dropout(0.1), scratch.Softmax())
    assert layer_names(model) == [] and weight_layer_names(model) == []
    assert layer_names(scratch.to_torch(model)) == []


def test_weights_come_in_the_course_layout_for_both_libraries(model):
    twin = scratch.to_torch(model)
    ours, theirs = weight_layers(model)[0], weight_layers(twin)[0]
    assert weight_array(ours).shape == weight_array(theirs).shape == (5, 8)
    assert weight_array(ours) is model[0].weight.data
    model[0].weight.grad[...] = np.arange(40.0).reshape(5, 8)
    twin[0].weight.grad = torch.from_numpy(np.arange(40.0).reshape(5, 8).T.copy())
    np.testing.assert_array_equal(grad_array(ours, "f"), grad_array(theirs, "f"))


def test_a_torch_layer_without_gradient_gets_a_clear_error(model):
    layer = weight_layers(scratch.to_torch(model))[0]
    with pytest.raises(RuntimeError, match=re.escape("f: layer '0 Linear' has no gradient yet (weight.grad is "
                                                     "None): call it after loss.backward()")):
        grad_array(layer, "f")


@pytest.mark.parametrize("function", [layer_names, weight_layer_names])
@pytest.mark.parametrize("bad, kind", [([scratch.ReLU()], "list"), (np.ones(3), "ndarray")])
def test_what_is_not_a_model_is_refused(function, bad, kind):
    with pytest.raises(TypeError, match=re.escape(f"{function.__name__}: model must be a scratch Module (e.g. "
                                                  f"scratch.Sequential) or a torch.nn.Module, got {kind}")):
        function(bad)
