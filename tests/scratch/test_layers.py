"""``Linear``: forward and backward equal PyTorch's, dtypes are kept, bad input is refused."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import (
    assert_close,
    assert_unchanged,
    batch_sizes,
    examples,
    seeds,
    sizes,
    snapshot,
    tensor,
    torch_linear,
)

from mlp_course.gradcheck import gradient_check
from mlp_course.scratch import Linear, MSELoss, Sequential


def run_both(layer: Linear, x: np.ndarray, grad_output: np.ndarray):
    """Forward and backward through ``layer`` and through its PyTorch twin."""
    reference = torch_linear(layer)
    x_t = tensor(x, requires_grad=True)
    out_t = reference(x_t)
    out_t.backward(tensor(grad_output))
    layer.zero_grad()
    out = layer(x)
    grad_x = layer.backward(grad_output)
    return (out, grad_x), (out_t, x_t.grad, reference)


@examples(40)
@given(n=batch_sizes, fan_in=sizes, fan_out=sizes, bias=st.booleans(), seed=seeds)
def test_linear_matches_pytorch_in_float64(n, fan_in, fan_out, bias, seed):
    rng = np.random.default_rng(seed)
    layer = Linear(fan_in, fan_out, bias=bias, dtype=np.float64, rng=rng)
    x = rng.standard_normal((n, fan_in))
    grad_output = rng.standard_normal((n, fan_out))
    (out, grad_x), (out_t, grad_x_t, reference) = run_both(layer, x, grad_output)
    assert_close(out, out_t)
    assert_close(grad_x, grad_x_t)
    assert_close(layer.weight.grad, reference.weight.grad.T)
    if bias:
        assert_close(layer.bias.grad, reference.bias.grad)
    else:
        assert layer.bias is None


@examples(25)
@given(n=batch_sizes, fan_in=sizes, fan_out=sizes, seed=seeds)
def test_linear_float32_keeps_dtype_and_matches_pytorch(n, fan_in, fan_out, seed):
    rng = np.random.default_rng(seed)
    layer = Linear(fan_in, fan_out, dtype=np.float32, rng=rng)
    x = rng.standard_normal((n, fan_in)).astype(np.float32)
    grad_output = rng.standard_normal((n, fan_out)).astype(np.float32)
    (out, grad_x), (out_t, grad_x_t, reference) = run_both(layer, x, grad_output)
    for array in (out, grad_x, layer.weight.data, layer.weight.grad, layer.bias.data, layer.bias.grad):
        assert array.dtype == np.float32
    assert_close(out, out_t, np.float32)
    assert_close(grad_x, grad_x_t, np.float32)
    assert_close(layer.weight.grad, reference.weight.grad.T, np.float32)
    assert_close(layer.bias.grad, reference.bias.grad, np.float32)


@pytest.mark.parametrize("size", [1, 3, 7])
def test_linear_square_layer_input_gradient_uses_transposed_weight(size):
    rng = np.random.default_rng(size)
    layer = Linear(size, size, dtype=np.float64, rng=rng)
    x = rng.standard_normal((5, size))
    grad_output = rng.standard_normal((5, size))
    layer(x)
    np.testing.assert_allclose(layer.backward(grad_output), grad_output @ layer.weight.data.T, rtol=1e-12)


def test_linear_forward_is_x_times_w_plus_b():
    layer = Linear(2, 3, dtype=np.float64)
    layer.weight.data[...] = [[1, 2, 3], [4, 5, 6]]
    layer.bias.data[...] = [10, 20, 30]
    out = layer(np.array([[1.0, 1.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(out, [[15, 27, 39], [18, 30, 42]])


def test_linear_parameter_shapes_follow_x_times_w_layout():
    layer = Linear(4, 7)
    assert layer.weight.shape == (4, 7)
    assert layer.bias.shape == (7,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.num_parameters() == 4 * 7 + 7
    assert [name for name, _ in Linear(4, 7, bias=False).named_parameters()] == ["weight"]


def test_linear_gradients_accumulate_like_pytorch_until_zero_grad():
    rng = np.random.default_rng(0)
    layer = Linear(3, 2, dtype=np.float64, rng=rng)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    once_w, once_b = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once_w, rtol=1e-14)
    np.testing.assert_allclose(layer.bias.grad, 2 * once_b, rtol=1e-14)
    grad_array = layer.weight.grad
    layer.zero_grad()
    assert layer.weight.grad is grad_array, "zero_grad must reset the gradient in place"
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_linear_backward_uses_the_last_forward_input():
    rng = np.random.default_rng(1)
    layer = Linear(3, 2, dtype=np.float64, rng=rng)
    layer(rng.standard_normal((5, 3)))
    x = rng.standard_normal((2, 3))
    layer(x)
    g = rng.standard_normal((2, 2))
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, x.T @ g, rtol=1e-12)


def test_linear_same_rng_seed_gives_same_weights():
    a = Linear(5, 4, rng=np.random.default_rng(3))
    b = Linear(5, 4, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


def test_linear_gradient_check():
    rng = np.random.default_rng(2)
    model = Sequential(Linear(4, 3, dtype=np.float64, rng=rng))
    X, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    errors = gradient_check(model, MSELoss(), X, y)
    assert max(errors.values()) < 1e-7, errors


def test_linear_repr():
    assert repr(Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)"
    assert repr(Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"


# -- bad input ---------------------------------------------------------------


@pytest.fixture
def used_layer():
    """A float64 layer after one forward and backward pass (so it has state to protect)."""
    rng = np.random.default_rng(5)
    layer = Linear(3, 2, dtype=np.float64, rng=rng)
    layer(rng.standard_normal((4, 3)))
    layer.backward(rng.standard_normal((4, 2)))
    return layer


@pytest.mark.parametrize(
    "x, error, message",
    [
        (np.zeros((4, 5)), ValueError, "expected input of shape (batch, 3), got (4, 5)"),
        (np.zeros(3), ValueError, "input must be 2-D, got shape (3,) (1-D)"),
        (np.zeros((2, 3, 1)), ValueError, "input must be 2-D, got shape (2, 3, 1) (3-D)"),
        (np.zeros((4, 3), dtype=np.int64), TypeError, "must have dtype float32 or float64, got int64"),
        (np.zeros((4, 3), dtype=np.float32), TypeError,
         "input has dtype float32 but the module's parameters are float64"),
        ([[0.0, 0.0, 0.0]], TypeError, "input must be a NumPy array, got list"),
    ],
)
def test_linear_forward_rejects_bad_input_without_changing_state(used_layer, x, error, message):
    before = snapshot(used_layer)
    with pytest.raises(error, match=re.escape(message)):
        used_layer(x)
    assert_unchanged(before, used_layer)


@pytest.mark.parametrize(
    "grad_output, error, message",
    [
        (np.zeros((4, 3)), ValueError, "grad_output must have the shape of the last forward output (4, 2), got (4, 3)"),
        (np.zeros((2,)), ValueError, "(4, 2), got (2,)"),
        (np.zeros((4, 2), dtype=np.int32), TypeError, "grad_output must have dtype float32 or float64, got int32"),
        (np.zeros((4, 2), dtype=np.float32), TypeError, "grad_output has dtype float32 but the module's parameters are float64"),
    ],
)
def test_linear_backward_rejects_bad_gradient_without_changing_state(used_layer, grad_output, error, message):
    before = snapshot(used_layer)
    with pytest.raises(error, match=re.escape(message)):
        used_layer.backward(grad_output)
    assert_unchanged(before, used_layer)


def test_linear_backward_before_forward_is_an_error():
    layer = Linear(3, 2)
    before = snapshot(layer)
    with pytest.raises(RuntimeError, match="Linear.backward was called before forward"):
        layer.backward(np.zeros((1, 2), dtype=np.float32))
    assert_unchanged(before, layer)


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 3), "in_features must be a positive integer, got int 0"),
        ((-2, 3), "in_features must be a positive integer, got int -2"),
        ((3, 0), "out_features must be a positive integer, got int 0"),
        ((2.5, 3), "in_features must be a positive integer, got float 2.5"),
        ((True, 3), "in_features must be a positive integer, got bool True"),
        (("3", 3), "in_features must be a positive integer, got str '3'"),
    ],
)
def test_linear_rejects_non_positive_sizes(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Linear(*args)


def test_linear_rejects_unknown_init_and_dtype():
    with pytest.raises(ValueError, match=r"unknown init 'glorot'; expected one of \[.*'he_normal'.*\]"):
        Linear(2, 3, init="glorot")
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int32"):
        Linear(2, 3, dtype=np.int32)

