"""``mlp``: the layers it builds, the options it passes on, the errors it raises."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mlp_course import seed_everything
from mlp_course.scratch import LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh, mlp

ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}


def test_mlp_784_512_10_is_linear_relu_linear_with_407050_parameters():
    model = mlp([784, 512, 10])
    assert isinstance(model, Sequential)
    assert [type(m) for m in model] == [Linear, ReLU, Linear]
    assert (model[0].in_features, model[0].out_features) == (784, 512)
    assert (model[2].in_features, model[2].out_features) == (512, 10)
    assert model.num_parameters() == 407_050


@pytest.mark.parametrize("name, activation", ACTIVATIONS.items())
def test_mlp_puts_the_activation_between_layers_only(name, activation):
    model = mlp([3, 5, 4, 2], activation=name)
    assert [type(m) for m in model] == [Linear, activation, Linear, activation, Linear]
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, Linear)] == [(3, 5), (5, 4), (4, 2)]


@pytest.mark.parametrize("name, activation", [*ACTIVATIONS.items(), ("softmax", Softmax)])
def test_mlp_output_activation_comes_last(name, activation):
    model = mlp([3, 4, 1], activation="tanh", output_activation=name)
    assert [type(m) for m in model] == [Linear, Tanh, Linear, activation]


def test_mlp_without_hidden_layers_is_one_linear_layer():
    model = mlp([6, 2])
    assert [type(m) for m in model] == [Linear]
    assert [type(m) for m in mlp([6, 2], output_activation="sigmoid")] == [Linear, Sigmoid]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_passes_dtype_and_init_on(dtype):
    model = mlp([20, 30, 10], init="he_normal", dtype=dtype, rng=np.random.default_rng(0))
    assert model.dtype == dtype
    assert all(p.data.dtype == dtype for p in model.parameters())
    assert all(m.init == "he_normal" for m in model if isinstance(m, Linear))
    assert not model[0].bias.data.any() and not model[2].bias.data.any()
    out = model(np.ones((2, 20), dtype=dtype))
    assert out.shape == (2, 10) and out.dtype == dtype


def test_mlp_default_dtype_is_float32():
    assert mlp([2, 3, 1]).dtype == np.float32


def test_mlp_is_reproducible_from_an_rng_or_the_course_seed():
    a = mlp([4, 8, 3], rng=np.random.default_rng(1))
    b = mlp([4, 8, 3], rng=np.random.default_rng(1))
    seed_everything(2)
    c = mlp([4, 8, 3])
    seed_everything(2)
    d = mlp([4, 8, 3])
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    for p, q in zip(c.parameters(), d.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


@pytest.mark.parametrize("sizes", [[], [5], (3,)])
def test_mlp_needs_at_least_two_sizes(sizes):
    with pytest.raises(ValueError, match=re.escape(f"mlp: sizes needs at least an input and an output size, got {list(sizes)}")):
        mlp(sizes)


@pytest.mark.parametrize("kwargs, bad", [(dict(activation="gelu"), "'gelu'"), (dict(activation="softmax"), "'softmax'"),
                                         (dict(activation="ReLU"), "'ReLU'")])
def test_mlp_refuses_unknown_activations_and_lists_the_known_ones(kwargs, bad):
    with pytest.raises(ValueError, match=re.escape(f"mlp: unknown activation {bad}; expected one of "
                                                   "['leaky_relu', 'relu', 'sigmoid', 'tanh']")):
        mlp([2, 3, 1], **kwargs)


def test_mlp_refuses_an_unknown_output_activation_and_lists_the_known_ones():
    with pytest.raises(ValueError, match=re.escape("mlp: unknown output_activation 'gelu'; expected None or one of "
                                                   "['leaky_relu', 'relu', 'sigmoid', 'softmax', 'tanh']")):
        mlp([2, 3, 1], output_activation="gelu")


@pytest.mark.parametrize("sizes, message", [([2, 0, 1], "out_features must be a positive integer, got int 0"),
                                            ([-1, 3], "in_features must be a positive integer, got int -1"),
                                            ([2, 3.5], "out_features must be a positive integer, got float 3.5")])
def test_mlp_refuses_non_positive_sizes(sizes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        mlp(sizes)


def test_mlp_refuses_an_unknown_init():
    with pytest.raises(ValueError, match="unknown init 'uniform'"):
        mlp([2, 3], init="uniform")
