"""record_activations, activation_stats and dead_units against NumPy hand
computations on the same arrays, and scratch against PyTorch."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mlp_course import scratch
from mlp_course.diagnostics import activation_stats, dead_units, layer_names, record_activations

from .conftest import every_kind_of_layer


def by_hand(model, X):
    """The activation outputs computed layer by layer with NumPy (eval-mode batch norm)."""
    outputs, a = {}, X
    for index, layer in enumerate(model):
        if isinstance(layer, scratch.Linear):
            a = a @ layer.weight.data + layer.bias.data
        elif isinstance(layer, scratch.BatchNorm1d):
            a = (a - layer.running_mean) / np.sqrt(layer.running_var + layer.eps) * layer.weight.data + layer.bias.data
        elif isinstance(layer, scratch.Tanh):
            a = outputs[f"{index} Tanh"] = np.tanh(a)
        elif isinstance(layer, scratch.ReLU):
            a = outputs[f"{index} ReLU"] = np.maximum(a, 0)
        elif isinstance(layer, scratch.Sigmoid):
            a = outputs[f"{index} Sigmoid"] = 1 / (1 + np.exp(-a))
        elif isinstance(layer, scratch.LeakyReLU):
            a = outputs[f"{index} LeakyReLU"] = np.where(a > 0, a, layer.negative_slope * a)
    return outputs


def test_recorded_activations_are_the_layer_outputs(model, X):
    model.eval()
    got = record_activations(model, X)
    expected = by_hand(model, X)
    assert list(got) == layer_names(model) == list(expected)
    for name in expected:
        assert got[name].shape == expected[name].shape
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_scratch_and_torch_record_the_same_activations_and_statistics(model, X, training):
    model.train(training)
    model[5].eval()
    twin = scratch.to_torch(model)
    ours, theirs = record_activations(model, X), record_activations(twin, X)
    assert list(ours) == list(theirs)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(activation_stats(model, X), activation_stats(twin, X), rtol=1e-10)
    for (a, x), (b, y) in zip(dead_units(model, X).items(), dead_units(twin, X).items()):
        assert a == b
        np.testing.assert_array_equal(x, y)


def test_statistics_match_numpy_on_the_same_arrays(model, X):
    outputs = record_activations(model, X)
    stats = activation_stats(model, X, saturation=0.9)
    assert list(stats.columns) == ["mean", "std", "saturated", "dead", "zero"]
    assert list(stats.index) == list(outputs) and stats.index.name == "layer"
    for name, a in outputs.items():
        row = stats.loc[name]
        assert row["mean"] == pytest.approx(a.mean(), rel=1e-12)
        assert row["std"] == pytest.approx(a.std(), rel=1e-12)
        assert row["zero"] == pytest.approx(np.mean(a == 0))
    t, s = outputs["2 Tanh"], outputs["7 Sigmoid"]
    assert stats.loc["2 Tanh", "saturated"] == pytest.approx(np.mean(np.abs(t) > 0.9))
    assert 0 < stats.loc["2 Tanh", "saturated"] < 1
    assert stats.loc["7 Sigmoid", "saturated"] == pytest.approx(np.mean((s < 0.1) | (s > 0.9)))
    assert stats.loc["4 ReLU", "dead"] == pytest.approx(np.mean(np.all(outputs["4 ReLU"] == 0, axis=0)))
    assert np.isnan(stats.loc["4 ReLU", "saturated"]) and np.isnan(stats.loc["9 LeakyReLU", "saturated"])
    assert np.isnan(stats.loc["2 Tanh", "dead"]) and np.isnan(stats.loc["9 LeakyReLU", "dead"])


def one_layer(activation, values):
    """A model whose activation layer outputs activation(values): identity weights."""
    d = values.shape[1]
    linear = scratch.Linear(d, d, dtype=np.float64)
    linear.weight.data[...] = np.eye(d)
    linear.bias.data[...] = 0
    return scratch.Sequential(linear, activation)


def test_saturation_is_strictly_beyond_the_threshold():
    # tanh(atanh(0.5)) is 0.5 up to rounding: use a threshold the values reach exactly.
    values = np.array([[0.5, -0.5, 0.25, 0.75]])
    model = one_layer(scratch.Tanh(), np.arctanh(values))
    a = record_activations(model, np.arctanh(values))["1 Tanh"]
    threshold = float(np.abs(a[0, 0]))  # |a| exactly at the threshold for two of the entries
    assert np.sum(np.abs(a) == threshold) == 2
    assert activation_stats(model, np.arctanh(values), saturation=threshold)["saturated"].iloc[0] == 0.25

    sig = one_layer(scratch.Sigmoid(), values)
    s = record_activations(sig, values)["1 Sigmoid"]
    threshold = float(s[0, 3])  # the largest entry, exactly at the threshold: not saturated
    expected = np.mean((s < 1 - threshold) | (s > threshold))
    got = activation_stats(sig, values, saturation=threshold)["saturated"].iloc[0]
    assert got == expected == 0 and s[0, 3] == threshold


def test_a_sigmoid_counts_both_ends_and_a_tanh_both_signs():
    values = np.array([[-10.0, -0.1, 0.1, 10.0], [-10.0, 0.0, 10.0, 10.0]])
    assert activation_stats(one_layer(scratch.Sigmoid(), values), values)["saturated"].iloc[0] == 5 / 8
    assert activation_stats(one_layer(scratch.Tanh(), values), values)["saturated"].iloc[0] == 5 / 8


def test_a_unit_is_dead_only_if_it_is_zero_for_every_example():
    values = np.array([[-1.0, 2.0, -3.0, 0.0],
                       [-2.0, -1.0, -1.0, 0.0],
                       [-0.5, -4.0, 5.0, -1.0]])
    model = one_layer(scratch.ReLU(), values)
    # column 0 and 3: never positive (dead); columns 1 and 2 are active on one example only
    np.testing.assert_array_equal(dead_units(model, values)["1 ReLU"], [True, False, False, True])
    row = activation_stats(model, values).iloc[0]
    assert row["dead"] == 0.5
    assert row["zero"] == 10 / 12
    assert row["mean"] == pytest.approx(np.maximum(values, 0).mean())
    assert row["std"] == pytest.approx(np.maximum(values, 0).std())
    # on part of the data more units look dead
    np.testing.assert_array_equal(dead_units(model, values[1:2])["1 ReLU"], [True, True, True, True])


def test_float32_models_give_float32_activations_and_float_statistics():
    model = every_kind_of_layer(np.float32)
    X = np.random.default_rng(0).standard_normal((30, 5)).astype(np.float32)
    out = record_activations(model, X)
    assert all(a.dtype == np.float32 for a in out.values())
    stats = activation_stats(model, X)
    assert stats.dtypes.tolist() == [np.float64] * 5
    assert stats.loc["2 Tanh", "mean"] == pytest.approx(float(np.mean(out["2 Tanh"], dtype=np.float64)))


def test_recorded_arrays_are_copies(model, X):
    first = record_activations(model, X)
    first["2 Tanh"][...] = 7
    assert not np.any(record_activations(model, X)["2 Tanh"] == 7)


@pytest.mark.parametrize("saturation", [0, 1, -0.5, 1.5, True, "0.9", None])
def test_saturation_must_be_strictly_between_0_and_1(model, X, saturation):
    with pytest.raises(ValueError, match=re.escape(f"activation_stats: saturation must be a number strictly "
                                                   f"between 0 and 1, got {saturation!r}")):
        activation_stats(model, X, saturation=saturation)


@pytest.mark.parametrize("function", [record_activations, activation_stats, dead_units])
@pytest.mark.parametrize("torch_model", [False, True])
def test_a_model_without_activation_layer_gets_a_clear_error(function, torch_model):
    model = scratch.Sequential(scratch.Linear(3, 2), scratch.Softmax())
    model = scratch.to_torch(model) if torch_model else model
    message = (f"{function.__name__}: the model has no activation layer (ReLU, LeakyReLU, Sigmoid, Tanh of "
               f"mlp_course.scratch or torch.nn)")
    with pytest.raises(ValueError, match=re.escape(message)):
        function(model, np.ones((2, 3), dtype=np.float32))


def test_dead_units_needs_a_relu_layer():
    model = scratch.Sequential(scratch.Linear(3, 2), scratch.Tanh(), scratch.Sigmoid())
    with pytest.raises(ValueError, match=re.escape("dead_units: the model has no ReLU layer (its activation "
                                                   "layers are ['Sigmoid', 'Tanh'])")):
        dead_units(model, np.ones((2, 3), dtype=np.float32))


def test_dead_units_has_one_entry_per_unit_of_each_relu_layer(X):
    model = every_kind_of_layer()
    model.layers.insert(8, scratch.ReLU())
    dead = dead_units(model, X)
    assert list(dead) == ["4 ReLU", "8 ReLU"]
    assert dead["4 ReLU"].shape == (7,) and dead["8 ReLU"].shape == (6,) and dead["4 ReLU"].dtype == bool
