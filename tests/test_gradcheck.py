"""Gradient checking: finite differences of known functions, small errors for
correct backward passes and large ones for deliberately broken ones, and the
comparison with PyTorch autograd."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mlp_course.gradcheck import (
    TorchComparison,
    analytic_gradients,
    compare_with_torch,
    gradient_check,
    numerical_gradient,
    relative_error,
)
from mlp_course.scratch import (
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    LeakyReLU,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

pytestmark = pytest.mark.usefixtures("seeded")


# -- numerical_gradient and relative_error ---------------------------------------------


def test_numerical_gradient_of_a_sum_of_squares_is_twice_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda: np.sum(x**2), x), 2 * x, rtol=1e-8)


def test_numerical_gradient_of_sin_is_cos():
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(numerical_gradient(lambda: np.sum(np.sin(x)), x), np.cos(x), atol=1e-9)


def test_numerical_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(numerical_gradient(lambda: x @ A @ x, x), (A + A.T) @ x, rtol=1e-7)


def test_numerical_gradient_uses_central_differences():
    # For x^3 the forward difference is off by about 3 x h, the central one by h^2.
    x = np.array([2.0])
    assert numerical_gradient(lambda: float(x[0] ** 3), x, h=1e-3)[0] == pytest.approx(12.0, abs=2e-6)


def test_numerical_gradient_restores_x_exactly():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    original = x.copy()
    numerical_gradient(lambda: float(np.sum(np.exp(x))), x)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_needs_float64():
    with pytest.raises(TypeError, match="numerical_gradient needs a float64 array, got float32"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))


def test_relative_error_scale():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(a, a + 1e-6) == pytest.approx(1e-6 / 6)
    assert relative_error(np.array([0.0]), np.array([-1e-3])) == pytest.approx(1.0)
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0


def test_relative_error_refuses_different_shapes():
    with pytest.raises(ValueError, match=re.escape("relative_error: shapes differ, (3,) and (3, 1)")):
        relative_error(np.zeros(3), np.zeros((3, 1)))


# -- gradient_check -------------------------------------------------------------------------


def deep_model(seed=0):
    """Every kind of layer, float64 (no bias right before batch norm: its gradient would be 0)."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Linear(4, 6, dtype=np.float64, rng=rng), Tanh(),
        Linear(6, 6, bias=False, dtype=np.float64, rng=rng), BatchNorm1d(6, dtype=np.float64), LeakyReLU(0.1),
        Dropout(0.5), Linear(6, 5, dtype=np.float64, rng=rng), Sigmoid(),
        Linear(5, 5, dtype=np.float64, rng=rng), ReLU(), Linear(5, 3, dtype=np.float64, rng=rng),
    )


def data_for(loss_type, rng, n=8, out=3):
    X = rng.standard_normal((n, 4))
    if loss_type is CrossEntropyLoss:
        return X, rng.integers(0, out, size=n)
    if loss_type is MSELoss:
        return X, rng.standard_normal((n, out))
    return X, rng.uniform(0, 1, size=(n, out))


def model_for(loss_type, seed=0):
    model = deep_model(seed)
    if loss_type is BCELoss:
        model = Sequential(*model.layers, Sigmoid())
    return model


LOSSES = [MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss]


@pytest.mark.parametrize("training", [True, False], ids=["batch-stats", "running-stats"])
@pytest.mark.parametrize("loss_type", LOSSES)
def test_deep_mixed_model_passes_the_gradient_check(loss_type, training):
    rng = np.random.default_rng(2)
    model = model_for(loss_type)
    model.eval()  # dropout off
    model[3].train(training)
    X, y = data_for(loss_type, rng)
    errors = gradient_check(model, loss_type(), X, y)
    assert set(errors) == {"input"} | {name for name, _ in model.named_parameters()}
    assert max(errors.values()) < 1e-6, errors


def test_softmax_passes_the_gradient_check():
    rng = np.random.default_rng(3)
    model = Sequential(Linear(4, 5, dtype=np.float64, rng=rng), Softmax())
    errors = gradient_check(model, MSELoss(), rng.standard_normal((6, 4)), rng.standard_normal((6, 5)))
    assert max(errors.values()) < 1e-7, errors


def test_gradient_check_leaves_weights_and_batchnorm_statistics_unchanged():
    model = deep_model().eval()
    model[3].train()
    weights = [p.data.copy() for p in model.parameters()]
    stats = (model[3].running_mean.copy(), model[3].running_var.copy(), model[3].num_batches_tracked)
    X, y = data_for(MSELoss, np.random.default_rng(4))
    gradient_check(model, MSELoss(), X, y)
    for p, w in zip(model.parameters(), weights):
        np.testing.assert_array_equal(p.data, w)
    np.testing.assert_array_equal(model[3].running_mean, stats[0])
    np.testing.assert_array_equal(model[3].running_var, stats[1])
    assert model[3].num_batches_tracked == stats[2]


@pytest.mark.parametrize(
    "module_type, method, replacement, wrong",
    [
        (Tanh, "_backward", lambda self, g, out: g * (1 - out), "input"),
        (Sigmoid, "_backward", lambda self, g, out: g * out, "input"),
        (LeakyReLU, "_backward", lambda self, g, slope: g * (slope > 0.5), "input"),
        (BatchNorm1d, "backward", lambda self, g, input_grad=True: g * self._cache[1], "input"),
    ],
)
def test_a_broken_activation_or_normalisation_backward_gives_large_errors(module_type, method, replacement, wrong, monkeypatch):
    model = deep_model().eval()
    model[3].train()
    X, y = data_for(MSELoss, np.random.default_rng(5))
    monkeypatch.setattr(module_type, method, replacement)
    errors = gradient_check(model, MSELoss(), X, y)
    assert errors[wrong] > 1e-2, errors


def test_a_linear_backward_without_the_bias_gradient_is_caught(monkeypatch):
    model = deep_model().eval()
    X, y = data_for(MSELoss, np.random.default_rng(6))
    original = Linear.backward

    def without_bias(self, grad_output, input_grad=True):
        saved = None if self.bias is None else self.bias.grad.copy()
        result = original(self, grad_output, input_grad)
        if saved is not None:
            self.bias.grad[...] = saved
        return result

    monkeypatch.setattr(Linear, "backward", without_bias)
    errors = gradient_check(model, MSELoss(), X, y)
    assert errors["0.bias"] > 0.5 and errors["10.bias"] > 0.5
    assert errors["0.weight"] < 1e-6


def test_a_loss_with_a_wrong_gradient_is_caught(monkeypatch):
    model = deep_model().eval()
    X, y = data_for(CrossEntropyLoss, np.random.default_rng(7))
    original = CrossEntropyLoss._compute
    monkeypatch.setattr(CrossEntropyLoss, "_compute", lambda self, i, t: (original(self, i, t)[0], original(self, i, t)[1] * len(i)))
    errors = gradient_check(model, CrossEntropyLoss(), X, y)
    assert min(errors.values()) > 0.5, errors


def test_gradient_check_refuses_float32_and_active_dropout():
    model = deep_model()
    X, y = data_for(MSELoss, np.random.default_rng(8))
    with pytest.raises(ValueError, match=re.escape("gradient checks need a deterministic model: call model.eval()")):
        gradient_check(model, MSELoss(), X, y)
    with pytest.raises(TypeError, match="gradient checks need float64; got model float32 and X float64"):
        gradient_check(Sequential(Linear(4, 3)), MSELoss(), X, y)
    with pytest.raises(TypeError, match="gradient checks need float64; got model float64 and X float32"):
        gradient_check(model.eval(), MSELoss(), X.astype(np.float32), y)


def test_analytic_gradients_are_the_backward_pass():
    rng = np.random.default_rng(9)
    model = Sequential(Linear(3, 2, dtype=np.float64, rng=rng))
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    grads = analytic_gradients(model, MSELoss(), X, y)
    assert set(grads) == {"input", "0.weight", "0.bias"}
    residual = 2 * (model(X) - y) / y.size
    np.testing.assert_allclose(grads["0.weight"], X.T @ residual, rtol=1e-12)
    np.testing.assert_allclose(grads["input"], residual @ model[0].weight.data.T, rtol=1e-12)


# -- compare_with_torch -------------------------------------------------------------------


@pytest.mark.parametrize("loss_type", LOSSES)
def test_a_correct_model_agrees_with_pytorch(loss_type):
    model = model_for(loss_type).eval()
    model[3].train()
    X, y = data_for(loss_type, np.random.default_rng(10))
    stats = (model[3].running_mean.copy(), model[3].num_batches_tracked)
    comparison = compare_with_torch(model, loss_type(), X, y)
    comparison.assert_close(atol=1e-10)
    assert comparison.loss == pytest.approx(comparison.torch_loss, rel=1e-12)
    assert set(comparison.max_abs_diff) == {"input"} | {name for name, _ in model.named_parameters()}
    np.testing.assert_array_equal(model[3].running_mean, stats[0])
    assert model[3].num_batches_tracked == stats[1]


def test_compare_with_torch_accepts_a_single_layer_and_any_integer_labels():
    rng = np.random.default_rng(11)
    layer = Linear(4, 3, dtype=np.float64, rng=rng)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, size=6).astype(np.int32)
    compare_with_torch(layer, CrossEntropyLoss(), X, y).assert_close()


def test_a_broken_backward_disagrees_with_pytorch(monkeypatch):
    model = deep_model().eval()
    X, y = data_for(MSELoss, np.random.default_rng(12))
    monkeypatch.setattr(Sigmoid, "_backward", lambda self, g, out: g * out)
    comparison = compare_with_torch(model, MSELoss(), X, y)
    with pytest.raises(AssertionError, match=r"scratch and PyTorch differ by more than 1e-10: input: .*0\.weight"):
        comparison.assert_close()
    # Layers after the broken one are still right.
    assert comparison.max_abs_diff["10.weight"] < 1e-12


def test_torch_comparison_reports_a_different_loss_and_nan():
    comparison = TorchComparison(loss=1.0, torch_loss=1.5, max_abs_diff={"input": 0.0, "0.weight": float("nan")})
    with pytest.raises(AssertionError, match=r"0\.weight: nan, loss: 0\.5"):
        comparison.assert_close()
    TorchComparison(loss=1.0, torch_loss=1.0 + 1e-12, max_abs_diff={"input": 1e-11}).assert_close()
