"""Neuron, Layer, MLP: parameter counts, Glorot initialisation, determinism, shapes,
the weights()/gradients() layout, errors, and forward and gradients equal to
MLP.to_torch() in float64."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import examples

from mlp_course import seed_everything
from mlp_course.autograd import MLP, Layer, Module, Neuron, Value

ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear"]
NUMPY_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
                     "linear": lambda z: z}
layer_sizes = st.lists(st.integers(1, 4), min_size=1, max_size=3)


def n_parameters(n_inputs: int, sizes: list[int]) -> int:
    fans = [n_inputs, *sizes]
    return sum((fans[i] + 1) * fans[i + 1] for i in range(len(sizes)))


def numpy_forward(mlp: MLP, X: np.ndarray, activation: str) -> np.ndarray:
    """The MLP on a batch, from weights() alone: X @ W + b, the hidden activation, a linear last layer."""
    A = X
    weights = mlp.weights()
    for index, (W, b) in enumerate(weights):
        Z = A @ W + b
        A = NUMPY_ACTIVATIONS[activation](Z) if index < len(weights) - 1 else Z
    return A


def as_list(out) -> list[Value]:
    return [out] if isinstance(out, Value) else out


# -- sizes and parameters ----------------------------------------------------------------------


@examples(20)
@given(n_inputs=st.integers(1, 5), sizes=layer_sizes, activation=st.sampled_from(ACTIVATIONS))
def test_parameter_counts_and_shapes(n_inputs, sizes, activation):
    mlp = MLP(n_inputs, sizes, activation, rng=0)
    params = mlp.parameters()
    assert len(params) == n_parameters(n_inputs, sizes)
    assert len(set(params)) == len(params) and all(isinstance(p, Value) and not p._prev for p in params)
    assert f"{len(params)} parameters" in repr(mlp)
    assert len(mlp.layers) == len(sizes)
    fans = [n_inputs, *sizes]
    for index, ((W, b), (gW, gb)) in enumerate(zip(mlp.weights(), mlp.gradients())):
        assert W.shape == gW.shape == (fans[index], fans[index + 1])
        assert b.shape == gb.shape == (fans[index + 1],)
        assert W.dtype == b.dtype == gW.dtype == gb.dtype == np.float64
    out = mlp([0.5] * n_inputs)
    if sizes[-1] == 1:
        assert isinstance(out, Value)
    else:
        assert isinstance(out, list) and len(out) == sizes[-1] and all(isinstance(v, Value) for v in out)


def test_neuron_and_layer_counts_and_outputs():
    neuron = Neuron(3, rng=0)
    assert len(neuron.parameters()) == 4 and neuron.parameters()[-1] is neuron.b and len(neuron.w) == 3
    assert isinstance(neuron([1.0, 2.0, 3.0]), Value)
    layer = Layer(3, 4, rng=0)
    assert len(layer.parameters()) == 16 and len(layer.neurons) == 4
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 4
    assert isinstance(Layer(3, 1, rng=0)([1.0, 2.0, 3.0]), Value)
    assert repr(neuron) == "Neuron(3, activation='tanh')"
    assert repr(layer) == "Layer(3, 4, activation='tanh')"
    assert repr(MLP(2, [4, 1], "relu", rng=0)) == "MLP(2 -> 4 relu -> 1 linear; 17 parameters)"
    assert isinstance(neuron, Module) and isinstance(layer, Module)


def test_parameters_come_layer_by_layer_neuron_by_neuron_weights_then_bias():
    mlp = MLP(2, [3, 2], rng=1)
    expected = [p for layer in mlp.layers for neuron in layer.neurons for p in [*neuron.w, neuron.b]]
    assert all(a is b for a, b in zip(mlp.parameters(), expected)) and len(expected) == len(mlp.parameters())


def test_weights_layout_is_x_at_w_plus_b():
    mlp = MLP(3, [4, 2], rng=2)
    for layer, (W, b) in zip(mlp.layers, mlp.weights()):
        for j, neuron in enumerate(layer.neurons):
            assert b[j] == neuron.b.data
            for i, w in enumerate(neuron.w):
                assert W[i, j] == w.data
    for p in mlp.parameters():
        p.grad = p.data * 10 + 1
    for (W, b), (gW, gb) in zip(mlp.weights(), mlp.gradients()):
        np.testing.assert_array_equal(gW, W * 10 + 1)
        np.testing.assert_array_equal(gb, b * 10 + 1)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_equals_numpy_from_weights_with_a_linear_last_layer(activation):
    rng = np.random.default_rng(5)
    mlp = MLP(3, [5, 4, 2], activation, rng=3)
    for p in mlp.parameters():  # non-zero biases too
        p.data = float(rng.uniform(-1, 1))
    X = rng.standard_normal((6, 3)) * 2
    expected = numpy_forward(mlp, X, activation)
    got = np.array([[v.data for v in mlp(list(x))] for x in X])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert mlp.layers[-1].activation == "linear"
    assert all(layer.activation == activation for layer in mlp.layers[:-1])


def test_input_forms():
    mlp = MLP(2, [3, 1], rng=0)
    reference = mlp([0.5, -1.0]).data
    for x in ([0.5, -1.0], (0.5, -1.0), np.array([0.5, -1.0]), [Value(0.5), Value(-1.0)],
              [np.float64(0.5), np.int64(-1)]):
        assert mlp(x).data == reference
    single = MLP(1, [2, 1], rng=0)
    assert single(0.5).data == single([0.5]).data == single(Value(0.5)).data
    narrow = MLP(2, [1, 3], rng=0)  # a hidden layer of one neuron feeds the next layer
    assert len(narrow([0.5, -1.0])) == 3


def test_gradient_flows_into_input_values():
    mlp = MLP(2, [3, 1], rng=0)
    x = [Value(0.5), Value(-1.0)]
    out = mlp(x)
    out.backward()
    h = 1e-6
    for i in range(2):
        plus, minus = [v.data for v in x], [v.data for v in x]
        plus[i] += h
        minus[i] -= h
        assert x[i].grad == pytest.approx((mlp(plus).data - mlp(minus).data) / (2 * h), rel=1e-6, abs=1e-9)


# -- initialisation -----------------------------------------------------------------------------


def test_glorot_uniform_draws_exactly_as_documented():
    mlp = MLP(3, [4, 2], rng=11)
    rng = np.random.default_rng(11)
    for (W, b), (fan_in, fan_out) in zip(mlp.weights(), [(3, 4), (4, 2)]):
        limit = math.sqrt(6 / (fan_in + fan_out))
        expected = np.stack([rng.uniform(-limit, limit, size=fan_in) for _ in range(fan_out)], axis=1)
        np.testing.assert_array_equal(W, expected)
        np.testing.assert_array_equal(b, 0.0)


def test_glorot_limit_uses_fan_in_plus_fan_out():
    layer = Layer(40, 60, rng=0)
    limit = math.sqrt(6 / 100)
    w = np.array([p.data for neuron in layer.neurons for p in neuron.w])
    assert np.all(np.abs(w) <= limit)
    assert np.abs(w).max() > 0.98 * limit  # 2400 draws fill the interval
    assert abs(w.std() - limit / math.sqrt(3)) < 0.05 * limit
    lone = np.array([p.data for p in Neuron(5000, rng=0).w])
    assert np.abs(lone).max() <= math.sqrt(6 / 5001) and np.abs(lone).max() > 0.98 * math.sqrt(6 / 5001)


def test_deterministic_for_a_seed_and_different_across_seeds():
    def flat(mlp):
        return np.concatenate([np.concatenate([W.ravel(), b]) for W, b in mlp.weights()])

    a, b, c = MLP(3, [4, 4, 1], rng=7), MLP(3, [4, 4, 1], rng=7), MLP(3, [4, 4, 1], rng=8)
    np.testing.assert_array_equal(flat(a), flat(b))
    assert not np.array_equal(flat(a), flat(c))
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(flat(MLP(3, [4, 4, 1], rng=g1)), flat(a))
    np.testing.assert_array_equal(flat(MLP(3, [4, 4, 1], rng=g2)), flat(a))
    assert g1.bit_generator.state == g2.bit_generator.state != np.random.default_rng(7).bit_generator.state
    seed_everything(3)
    d = MLP(3, [4, 4, 1])
    seed_everything(3)
    e = MLP(3, [4, 4, 1])
    np.testing.assert_array_equal(flat(d), flat(e))


def test_layers_of_the_same_shape_get_different_weights():
    mlp = MLP(3, [3, 3, 3], rng=0)
    (W1, _), (W2, _), (W3, _) = mlp.weights()
    assert not np.array_equal(W2, W3) and not np.array_equal(W1, W2)


# -- agreement with PyTorch -----------------------------------------------------------------------


def engine_loss(mlp: MLP, X: np.ndarray, y: np.ndarray, loss: str) -> Value:
    total = Value(0.0)
    for x, targets in zip(X, y):
        for z, t in zip(as_list(mlp(list(x))), targets):
            if loss == "mse":
                total = total + (z - float(t)) ** 2
            else:  # binary cross-entropy on the logit z: log(1 + e^z) - t z
                total = total + (1 + z.exp()).log() - float(t) * z
    return total / y.size


@pytest.mark.parametrize("loss", ["mse", "bce-with-logits"])
@examples(12)
@given(n_inputs=st.integers(1, 4), sizes=layer_sizes, activation=st.sampled_from(ACTIVATIONS),
       n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_forward_and_every_gradient_equal_to_torch(loss, n_inputs, sizes, activation, n, seed):
    rng = np.random.default_rng(seed)
    mlp = MLP(n_inputs, sizes, activation, rng=rng)
    for neuron in (neuron for layer in mlp.layers for neuron in layer.neurons):
        neuron.b.data = float(rng.uniform(-0.5, 0.5))  # exercise the biases too
    X = rng.standard_normal((n, n_inputs))
    y = rng.standard_normal((n, sizes[-1])) if loss == "mse" else (rng.random((n, sizes[-1])) < 0.5).astype(float)

    model = mlp.to_torch()
    assert all(p.dtype == torch.float64 for p in model.parameters())
    out_t = model(torch.from_numpy(X))
    target = torch.from_numpy(y)
    loss_t = torch.nn.functional.mse_loss(out_t, target) if loss == "mse" else \
        torch.nn.functional.binary_cross_entropy_with_logits(out_t, target)
    loss_t.backward()

    out = np.array([[v.data for v in as_list(mlp(list(x)))] for x in X])
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    total = engine_loss(mlp, X, y, loss)
    mlp.zero_grad()
    total.backward()
    np.testing.assert_allclose(total.data, loss_t.item(), rtol=1e-12, atol=1e-13)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert len(linears) == len(sizes)
    for (gW, gb), linear in zip(mlp.gradients(), linears):
        np.testing.assert_allclose(gW, linear.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gb, linear.bias.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation, module", [("tanh", torch.nn.Tanh), ("relu", torch.nn.ReLU),
                                                ("sigmoid", torch.nn.Sigmoid), ("linear", None)])
def test_to_torch_structure_and_copied_weights(activation, module):
    mlp = MLP(3, [4, 2, 5], activation, rng=4)
    model = mlp.to_torch()
    kinds = [type(m) for m in model]
    hidden = [torch.nn.Linear] + ([module] if module else [])
    assert kinds == hidden * 2 + [torch.nn.Linear]
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for (W, b), linear in zip(mlp.weights(), linears):
        assert (linear.in_features, linear.out_features) == W.shape
        np.testing.assert_array_equal(linear.weight.detach().numpy(), W.T)
        np.testing.assert_array_equal(linear.bias.detach().numpy(), b)
    with torch.no_grad():
        linears[0].weight.add_(1.0)  # a copy: the engine's weights do not move
    np.testing.assert_array_equal(mlp.weights()[0][0], MLP(3, [4, 2, 5], activation, rng=4).weights()[0][0])


def test_square_layers_are_not_transposed_in_to_torch():
    rng = np.random.default_rng(0)
    mlp = MLP(3, [3, 3], rng=1)
    X = rng.standard_normal((4, 3))
    expected = np.array([[v.data for v in mlp(list(x))] for x in X])
    np.testing.assert_allclose(mlp.to_torch()(torch.from_numpy(X)).detach().numpy(), expected, rtol=1e-12)


def test_zero_grad():
    mlp = MLP(2, [3, 1], rng=0)
    out = mlp([1.0, -2.0])
    out.backward()
    assert any(p.grad != 0 for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())
    neuron = Neuron(2, rng=0)
    neuron([1.0, 2.0]).backward()
    neuron.zero_grad()
    assert all(p.grad == 0.0 for p in neuron.parameters())
    assert Module().parameters() == []


def test_training_steps_lower_the_loss():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    mlp = MLP(2, [4, 1], rng=0)
    losses = []
    for _ in range(30):
        loss = engine_loss(mlp, X, y, "mse")
        mlp.zero_grad()
        loss.backward()
        for p in mlp.parameters():
            p.data -= 0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.5 * losses[0]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, error, message", [
    (lambda: Neuron(0, rng=0), ValueError, "Neuron: n_inputs must be a positive integer, got 0"),
    (lambda: Neuron(2.5, rng=0), ValueError, "Neuron: n_inputs must be a positive integer, got 2.5"),
    (lambda: Neuron(True, rng=0), ValueError, "Neuron: n_inputs must be a positive integer, got True"),
    (lambda: Neuron(2, "softmax", rng=0), ValueError,
     "Neuron: activation must be one of 'tanh', 'relu', 'sigmoid', 'linear', got 'softmax'"),
    (lambda: Neuron(2, fan_out=0, rng=0), ValueError, "Neuron: fan_out must be a positive integer, got 0"),
    (lambda: Layer(2, 0, rng=0), ValueError, "Layer: n_outputs must be a positive integer, got 0"),
    (lambda: Layer(2, 3, "Tanh", rng=0), ValueError, "Layer: activation must be one of"),
    (lambda: MLP(0, [2], rng=0), ValueError, "MLP: n_inputs must be a positive integer, got 0"),
    (lambda: MLP(2, [], rng=0), ValueError, "MLP: layer_sizes must be a non-empty list of positive integers, got []"),
    (lambda: MLP(2, 3, rng=0), ValueError, "MLP: layer_sizes must be a non-empty list of positive integers, got 3"),
    (lambda: MLP(2, "3", rng=0), ValueError, "layer_sizes must be a non-empty list of positive integers, got '3'"),
    (lambda: MLP(2, [3, 0], rng=0), ValueError, "MLP: every layer size must be a positive integer, got 0"),
    (lambda: MLP(2, [3, 2.0], rng=0), ValueError, "MLP: every layer size must be a positive integer, got 2.0"),
    (lambda: MLP(2, [3], None, rng=0), ValueError, "MLP: activation must be one of"),
    (lambda: MLP(2, [3], rng="seed"), TypeError,
     "MLP: rng must be None, a non-negative integer seed or a np.random.Generator, got 'seed'"),
    (lambda: MLP(2, [3], rng=-1), TypeError, "MLP: rng must be None, a non-negative integer seed"),
    (lambda: Layer(2, 3, rng=1.5), TypeError, "Layer: rng must be None"),
])
def test_constructor_errors(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


@pytest.mark.parametrize("make", [lambda g: MLP(2, [3, 0], rng=g), lambda g: MLP(2, [3, 2], "gelu", rng=g),
                                  lambda g: Layer(2, 3, "gelu", rng=g), lambda g: Neuron(0, rng=g)])
def test_a_failed_constructor_draws_nothing(make):
    g = np.random.default_rng(0)
    before = g.bit_generator.state
    with pytest.raises(ValueError):
        make(g)
    assert g.bit_generator.state == before


@pytest.mark.parametrize("x, error, message", [
    ([1.0, 2.0], ValueError, "MLP expects 3 inputs, got 2"),
    ([1.0, 2.0, 3.0, 4.0], ValueError, "MLP expects 3 inputs, got 4"),
    (np.ones((1, 3)), ValueError, "MLP expects a 1-D sequence of 3 inputs, got an array of shape (1, 3)"),
    (1.0, ValueError, "MLP expects 3 inputs, got 1"),
    ("abc", TypeError, "MLP expects a sequence of 3 numbers or Values, got str"),
    ({1, 2, 3}, TypeError, "MLP expects a sequence of 3 numbers or Values, got set"),
    ([1.0, "2", 3.0], TypeError, "MLP: every input must be a number or a Value, got str"),
    ([1.0, None, 3.0], TypeError, "MLP: every input must be a number or a Value, got NoneType"),
])
def test_call_errors_leave_the_weights_alone(x, error, message):
    mlp = MLP(3, [2, 1], rng=0)
    before = [(p.data, p.grad) for p in mlp.parameters()]
    with pytest.raises(error, match=re.escape(message)):
        mlp(x)
    assert [(p.data, p.grad) for p in mlp.parameters()] == before


def test_neuron_and_layer_name_the_lengths():
    with pytest.raises(ValueError, match=re.escape("Neuron expects 3 inputs, got 2")):
        Neuron(3, rng=0)([1.0, 2.0])
    with pytest.raises(ValueError, match=re.escape("Layer expects 2 inputs, got 3")):
        Layer(2, 4, rng=0)([1.0, 2.0, 3.0])
