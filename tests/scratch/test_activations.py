"""Activations (ReLU, LeakyReLU, Sigmoid, Tanh, Softmax): values and gradients
equal PyTorch's for any shape, at the kinks and at extreme inputs."""

from __future__ import annotations

import re

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import assert_close, assert_unchanged, examples, seeds, snapshot, tensor

from mlp_course.gradcheck import gradient_check
from mlp_course.scratch import LeakyReLU, Linear, MSELoss, ReLU, Sequential, Sigmoid, Softmax, Tanh

TORCH_FUNCTIONS = {
    "relu": (ReLU, torch.relu),
    "sigmoid": (Sigmoid, torch.sigmoid),
    "tanh": (Tanh, torch.tanh),
    "softmax": (Softmax, lambda t: torch.softmax(t, dim=-1)),
}


def make(name: str, slope: float = 0.01):
    if name == "leaky_relu":
        return LeakyReLU(slope), lambda t: torch.nn.functional.leaky_relu(t, slope)
    module_type, function = TORCH_FUNCTIONS[name]
    return module_type(), function


def run_both(module, function, x: np.ndarray, grad_output: np.ndarray):
    x_t = tensor(x, requires_grad=True)
    out_t = function(x_t)
    out_t.backward(tensor(grad_output))
    out = module(x)
    return out, module.backward(grad_output), out_t, x_t.grad


ALL = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"]

# Arrays of any shape whose entries include exact zeros and values up to |30|.
arrays64 = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=8),
    elements=st.floats(-30, 30, allow_subnormal=False),
)


@pytest.mark.parametrize("name", ALL)
@examples(30)
@given(x=arrays64, slope=st.floats(-2, 2), seed=seeds)
def test_activation_matches_pytorch_in_float64(name, x, slope, seed):
    module, function = make(name, slope)
    grad_output = np.random.default_rng(seed).standard_normal(x.shape)
    out, grad_x, out_t, grad_x_t = run_both(module, function, x, grad_output)
    assert out.dtype == grad_x.dtype == np.float64
    assert out.shape == grad_x.shape == x.shape
    assert_close(out, out_t)
    assert_close(grad_x, grad_x_t)


@pytest.mark.parametrize("name", ALL)
@examples(15)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=8), seed=seeds)
def test_activation_keeps_float32_and_matches_pytorch(name, shape, seed):
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    grad_output = rng.standard_normal(shape).astype(np.float32)
    module, function = make(name, 0.2)
    out, grad_x, out_t, grad_x_t = run_both(module, function, x, grad_output)
    assert out.dtype == grad_x.dtype == np.float32
    assert_close(out, out_t, np.float32)
    assert_close(grad_x, grad_x_t, np.float32)


def test_relu_derivative_at_zero_is_zero_like_pytorch():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, -0.0, 1e-300]])
    g = np.full_like(x, 3.0)
    out, grad_x, out_t, grad_x_t = run_both(ReLU(), torch.relu, x, g)
    np.testing.assert_array_equal(out, [[0, 0, 2], [0, 0, 1e-300]])
    np.testing.assert_array_equal(grad_x, [[0, 0, 3], [0, 0, 3]])
    np.testing.assert_array_equal(grad_x, grad_x_t.numpy())


@pytest.mark.parametrize("slope", [0.01, 0.3, -0.5, 2.0])
def test_leaky_relu_uses_the_slope_at_and_below_zero_like_pytorch(slope):
    x = np.array([[-2.0, 0.0, 5.0]])
    g = np.array([[1.0, 2.0, 3.0]])
    module, function = make("leaky_relu", slope)
    out, grad_x, out_t, grad_x_t = run_both(module, function, x, g)
    np.testing.assert_allclose(out, [[-2 * slope, 0, 5]], rtol=1e-15)
    np.testing.assert_allclose(grad_x, [[slope, 2 * slope, 3]], rtol=1e-15)
    np.testing.assert_array_equal(grad_x, grad_x_t.numpy())


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_activations_stay_finite_at_extreme_inputs(name, dtype):
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0], [-1e30, 1e30, 1.0, -1.0, 1e5]], dtype=dtype)
    g = np.ones_like(x)
    module, function = make(name)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, grad_x, out_t, grad_x_t = run_both(module, function, x, g)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad_x))
    assert out.dtype == grad_x.dtype == dtype
    assert_close(out, out_t, dtype)
    assert_close(grad_x, grad_x_t, dtype)


def test_sigmoid_values_and_derivative():
    module = Sigmoid()
    out = module(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(out, [0.5, 0.75], rtol=1e-15)
    np.testing.assert_allclose(module.backward(np.ones(2)), [0.25, 0.75 * 0.25], rtol=1e-15)


def test_tanh_derivative_is_one_minus_tanh_squared():
    x = np.linspace(-3, 3, 13)
    module = Tanh()
    module(x)
    np.testing.assert_allclose(module.backward(np.ones_like(x)), 1 - np.tanh(x) ** 2, rtol=1e-14)


def test_softmax_rows_are_probabilities_and_shift_invariant():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    out = Softmax()(x)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-15)
    assert np.all(out > 0)
    np.testing.assert_allclose(Softmax()(x + 123.0), out, rtol=1e-12)


def test_softmax_gradient_of_a_uniform_upstream_gradient_is_zero():
    module = Softmax()
    module(np.random.default_rng(1).standard_normal((3, 5)))
    np.testing.assert_allclose(module.backward(np.full((3, 5), 7.0)), 0, atol=1e-14)


@pytest.mark.parametrize("name", ALL)
def test_activation_gradient_check(name):
    rng = np.random.default_rng(3)
    module, _ = make(name, 0.1)
    model = Sequential(Linear(4, 5, dtype=np.float64, rng=rng), module, Linear(5, 2, dtype=np.float64, rng=rng))
    X, y = rng.standard_normal((7, 4)), rng.standard_normal((7, 2))
    errors = gradient_check(model, MSELoss(), X, y)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("name", ALL)
def test_activation_has_no_parameters(name):
    module, _ = make(name)
    assert list(module.parameters()) == [] and module.num_parameters() == 0


def test_activation_reprs():
    assert repr(ReLU()) == "ReLU()"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(Softmax()) == "Softmax()"


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_activation_rejects_integer_and_non_array_input(name):
    module, _ = make(name)
    with pytest.raises(TypeError, match=re.escape("input must have dtype float32 or float64, got int64")):
        module(np.arange(6).reshape(2, 3))
    with pytest.raises(TypeError, match="input must be a NumPy array, got list"):
        module([1.0, 2.0])


@pytest.mark.parametrize("name", ALL)
def test_activation_backward_before_forward_is_an_error(name):
    module, _ = make(name)
    type_name = type(module).__name__
    with pytest.raises(RuntimeError, match=f"{type_name}.backward was called before forward"):
        module.backward(np.ones((2, 3)))


@pytest.mark.parametrize("name", ALL)
def test_activation_backward_rejects_wrong_shape_without_changing_state(name):
    module, _ = make(name)
    module(np.ones((2, 3)))
    before = snapshot(module)
    with pytest.raises(ValueError, match=re.escape("grad_output must have the shape of the last forward output (2, 3), got (3, 2)")):
        module.backward(np.ones((3, 2)))
    assert_unchanged(before, module)


@pytest.mark.parametrize("name", ALL)
def test_activation_forward_error_keeps_the_previous_cache(name):
    module, _ = make(name)
    module(np.ones((2, 3)))
    before = snapshot(module)
    with pytest.raises(TypeError):
        module(np.ones((2, 3), dtype=np.int8))
    assert_unchanged(before, module)


@pytest.mark.parametrize("slope, shown", [(float("nan"), "float nan"), ("0.1", "str '0.1'"), (float("inf"), "float inf")])
def test_leaky_relu_rejects_a_non_finite_slope(slope, shown):
    with pytest.raises(ValueError, match=re.escape(f"LeakyReLU: negative_slope must be a finite number, got {shown}")):
        LeakyReLU(slope)
