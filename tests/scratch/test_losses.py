"""Losses (MSE, BCE, BCE with logits, cross-entropy): values and gradients equal
PyTorch's, including at p = 0 and 1 and for huge logits; bad targets are refused."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import assert_close, assert_unchanged, examples, seeds, snapshot, tensor

from mlp_course.gradcheck import numerical_gradient, relative_error
from mlp_course.scratch import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss

TORCH_LOSSES = {
    MSELoss: torch.nn.MSELoss(),
    BCELoss: torch.nn.BCELoss(),
    BCEWithLogitsLoss: torch.nn.BCEWithLogitsLoss(),
    CrossEntropyLoss: torch.nn.CrossEntropyLoss(),
}


def run_both(loss_type, input: np.ndarray, target: np.ndarray):
    """(scratch value, scratch gradient, torch value, torch gradient)."""
    loss = loss_type()
    value = loss(input, target)
    grad = loss.backward()
    input_t = tensor(input, requires_grad=True)
    target_t = torch.from_numpy(target.astype(np.int64)) if loss_type is CrossEntropyLoss else tensor(target.astype(input.dtype))
    value_t = TORCH_LOSSES[loss_type](input_t, target_t)
    value_t.backward()
    return value, grad, value_t.item(), input_t.grad


def draw_pair(loss_type, shape, rng, dtype=np.float64, hard=True):
    """A prediction and a target of ``shape`` suited to ``loss_type``."""
    if loss_type is CrossEntropyLoss:
        n, c = shape
        return (3 * rng.standard_normal((n, c))).astype(dtype), rng.integers(0, c, size=n)
    if loss_type is MSELoss:
        return rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    target = rng.integers(0, 2, size=shape).astype(dtype) if hard else rng.uniform(0, 1, size=shape).astype(dtype)
    if loss_type is BCELoss:
        return rng.uniform(0.01, 0.99, size=shape).astype(dtype), target
    return (4 * rng.standard_normal(shape)).astype(dtype), target


LOSSES = [MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss]
shapes = st.one_of(
    st.tuples(st.integers(1, 20)),
    st.tuples(st.integers(1, 20), st.integers(1, 6)),
)


def shape_for(loss_type, shape):
    if loss_type is CrossEntropyLoss and len(shape) == 1:
        return (shape[0], 3)
    return shape


@pytest.mark.parametrize("loss_type", LOSSES)
@examples(30)
@given(shape=shapes, hard=st.booleans(), seed=seeds)
def test_loss_matches_pytorch_in_float64(loss_type, shape, hard, seed):
    shape = shape_for(loss_type, shape)
    input, target = draw_pair(loss_type, shape, np.random.default_rng(seed), hard=hard)
    value, grad, value_t, grad_t = run_both(loss_type, input, target)
    assert type(value) is float
    assert grad.shape == input.shape and grad.dtype == np.float64
    assert_close(value, value_t)
    assert_close(grad, grad_t)


@pytest.mark.parametrize("loss_type", LOSSES)
@examples(10)
@given(shape=shapes, seed=seeds)
def test_loss_keeps_float32_and_matches_pytorch(loss_type, shape, seed):
    shape = shape_for(loss_type, shape)
    input, target = draw_pair(loss_type, shape, np.random.default_rng(seed), dtype=np.float32)
    value, grad, value_t, grad_t = run_both(loss_type, input, target)
    assert grad.dtype == np.float32
    assert_close(value, value_t, np.float32)
    assert_close(grad, grad_t, np.float32)


@pytest.mark.parametrize("loss_type", LOSSES)
@pytest.mark.parametrize("shape", [(5,), (4, 3)])
def test_loss_gradient_equals_finite_differences(loss_type, shape):
    rng = np.random.default_rng(11)
    input, target = draw_pair(loss_type, shape_for(loss_type, shape), rng, hard=False)
    loss = loss_type()
    loss(input, target)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda: loss(input, target), input)
    assert relative_error(analytic, numeric) < 1e-8


def test_mse_is_the_mean_of_squared_differences():
    loss = MSELoss()
    assert loss(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 4.0]])) == pytest.approx(13 / 4)
    np.testing.assert_allclose(loss.backward(), [[0, 1], [1.5, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_at_probabilities_zero_and_one_is_clamped_like_pytorch(dtype):
    input = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    target = np.array([0.0, 0.0, 1.0, 1.0, 0.5], dtype=dtype)
    with np.errstate(all="raise"):
        value, grad, value_t, grad_t = run_both(BCELoss, input, target)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(200 / 5 + np.log(2) / 5, rel=1e-6)  # two logs clamped at -100
    assert_close(value, value_t, dtype)
    # PyTorch's floor of 1e-12 is a float32 constant (9.99999996e-13) even in
    # float64, so at the clamp the gradients agree to 4e-9, not to rounding error.
    np.testing.assert_allclose(grad, grad_t.numpy(), rtol=1e-8, atol=0)
    assert grad[2] == pytest.approx(-1e12 / 5, rel=1e-6)  # denominator kept at 1e-12
    assert grad[0] == grad[3] == 0 and grad[4] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [50.0, 1e4, 1e30])
def test_bce_with_logits_handles_huge_logits_like_pytorch(dtype, scale):
    input = np.array([[scale, -scale], [scale, -scale], [0.5, -0.5]], dtype=dtype)
    target = np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 1.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad, value_t, grad_t = run_both(BCEWithLogitsLoss, input, target)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert_close(value, value_t, dtype)
    assert_close(grad, grad_t, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [100.0, 1e4, 1e30])
def test_cross_entropy_handles_huge_logits_like_pytorch(dtype, scale):
    input = np.array([[scale, 0.0, -scale], [0.0, scale, 1.0], [-scale, -scale, -scale], [1.0, 2.0, 3.0]], dtype=dtype)
    target = np.array([2, 1, 0, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad, value_t, grad_t = run_both(CrossEntropyLoss, input, target)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert_close(value, value_t, dtype)
    assert_close(grad, grad_t, dtype)


def test_cross_entropy_of_uniform_logits_is_log_c():
    loss = CrossEntropyLoss()
    assert loss(np.zeros((4, 5)), np.array([0, 1, 2, 4])) == pytest.approx(np.log(5), rel=1e-14)
    grad = loss.backward()
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-15)
    np.testing.assert_allclose(grad[0], np.array([0.2 - 1, 0.2, 0.2, 0.2, 0.2]) / 4, rtol=1e-14)


@pytest.mark.parametrize("label_dtype", [np.int8, np.int32, np.uint8, np.uint64])
def test_cross_entropy_accepts_any_integer_label_dtype(label_dtype):
    rng = np.random.default_rng(12)
    input = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, size=6)
    reference = CrossEntropyLoss()(input, labels)
    assert CrossEntropyLoss()(input, labels.astype(label_dtype)) == reference


@pytest.mark.parametrize("loss_type", LOSSES)
def test_backward_returns_the_gradient_of_the_last_call(loss_type):
    rng = np.random.default_rng(13)
    loss = loss_type()
    first = draw_pair(loss_type, (4, 3), rng)
    second = draw_pair(loss_type, (2, 3), rng)
    loss(*first)
    loss(*second)
    _, expected, _, _ = run_both(loss_type, *second)
    np.testing.assert_array_equal(loss.backward(), expected)


@pytest.mark.parametrize("loss_type", LOSSES)
def test_loss_repr(loss_type):
    assert repr(loss_type()) == f"{loss_type.__name__}()"


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("loss_type", LOSSES)
def test_backward_before_the_loss_is_computed_is_an_error(loss_type):
    with pytest.raises(RuntimeError, match=f"{loss_type.__name__}.backward was called before the loss was computed"):
        loss_type().backward()


def used_loss(loss_type):
    """A loss that has been computed once, so a failed call has a gradient to protect."""
    loss = loss_type()
    loss(*draw_pair(loss_type, (4, 1) if loss_type is not CrossEntropyLoss else (4, 3), np.random.default_rng(0)))
    return loss


def assert_refused(loss, input, target, error, message):
    before = snapshot(loss)
    with pytest.raises(error, match=re.escape(message)):
        loss(input, target)
    assert_unchanged(before, loss)


ELEMENTWISE = [MSELoss, BCELoss, BCEWithLogitsLoss]


@pytest.mark.parametrize("loss_type", ELEMENTWISE)
def test_column_predictions_with_flat_targets_are_refused_not_broadcast(loss_type):
    name = loss_type.__name__
    loss = used_loss(loss_type)
    half = np.full((4, 1), 0.5)
    assert_refused(loss, half, np.ones(4), ValueError,
                   f"{name}: input has shape (4, 1) but target has shape (4,); they must be equal, because "
                   "broadcasting them would compare every prediction with every target; "
                   "reshape the target with target.reshape(-1, 1)")
    assert_refused(loss, np.full(4, 0.5), np.ones((4, 1)), ValueError,
                   "input has shape (4,) but target has shape (4, 1); they must be equal")
    assert_refused(loss, np.full(4, 0.5), np.ones((4, 1)), ValueError, "reshape the target with target.reshape(-1)")


@pytest.mark.parametrize("loss_type", ELEMENTWISE)
def test_batch_size_mismatch_is_refused(loss_type):
    assert_refused(used_loss(loss_type), np.full((4, 1), 0.5), np.ones((5, 1)), ValueError,
                   "input has shape (4, 1) but target has shape (5, 1); they must be equal, because broadcasting "
                   "them would compare every prediction with every target (batch sizes 4 and 5 differ)")


@pytest.mark.parametrize("loss_type", LOSSES)
def test_integer_predictions_are_refused(loss_type):
    assert_refused(used_loss(loss_type), np.ones((4, 3), dtype=np.int64), np.ones((4, 3)), TypeError,
                   f"{loss_type.__name__}: input must have dtype float32 or float64, got int64")


@pytest.mark.parametrize("loss_type", ELEMENTWISE)
def test_non_array_target_and_empty_input_are_refused(loss_type):
    loss = used_loss(loss_type)
    assert_refused(loss, np.full((2, 1), 0.5), [[1.0], [0.0]], TypeError, "target must be a NumPy array, got list")
    assert_refused(loss, np.zeros((0, 1)), np.zeros((0, 1)), ValueError, "input is empty (shape (0, 1))")


@pytest.mark.parametrize("bad", [1.5, -0.25, float("nan")])
def test_bce_refuses_probabilities_outside_zero_one(bad):
    loss = used_loss(BCELoss)
    input = np.array([[0.5], [bad], [0.2]])
    assert_refused(loss, input, np.ones((3, 1)), ValueError,
                   f"BCELoss: input must lie in [0, 1], found 1 value(s) outside, e.g. {bad!r}; "
                   "pass raw scores (logits) to BCEWithLogitsLoss instead")


@pytest.mark.parametrize("loss_type", [BCELoss, BCEWithLogitsLoss])
def test_binary_losses_refuse_targets_outside_zero_one(loss_type):
    assert_refused(used_loss(loss_type), np.full((3, 1), 0.5), np.array([[0.0], [2.0], [-1.0]]), ValueError,
                   f"{loss_type.__name__}: target must lie in [0, 1], found 2 value(s) outside, e.g. 2.0")


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1, 3, 2]), "labels must lie in [0, 2] for 3 classes, got values from 0 to 3"),
        (np.array([0, -1, 1, 2]), "labels must lie in [0, 2] for 3 classes, got values from -1 to 2"),
    ],
)
def test_cross_entropy_refuses_labels_out_of_range(labels, message):
    assert_refused(used_loss(CrossEntropyLoss), np.zeros((4, 3)), labels, ValueError, f"CrossEntropyLoss: {message}")


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0.0, 1.0, 2.0, 1.0]), "target must hold integer class labels, got dtype float64; "
                                         "they look like whole numbers: use target.astype(np.int64)"),
        (np.array([0.5, 1.0, 2.0, 1.0]), "target must hold integer class labels, got dtype float64"),
        (np.array([True, False, True, True]), "target must hold integer class labels, got dtype bool"),
        ([0, 1, 2, 1], "target must be a NumPy array of integer labels, got list"),
    ],
)
def test_cross_entropy_refuses_non_integer_labels(labels, message):
    assert_refused(used_loss(CrossEntropyLoss), np.zeros((4, 3)), labels, TypeError, f"CrossEntropyLoss: {message}")


def test_cross_entropy_does_not_hint_whole_numbers_for_fractional_labels():
    with pytest.raises(TypeError) as info:
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.5, 1.0]))
    assert "whole numbers" not in str(info.value)


@pytest.mark.parametrize(
    "input_shape, labels, message",
    [
        ((4, 3), np.zeros(5, dtype=np.int64), "expected target of shape (4,) for input of shape (4, 3), got (5,)"),
        ((4, 3), np.zeros((4, 3), dtype=np.int64), "expected target of shape (4,) for input of shape (4, 3), got (4, 3)"),
        ((4, 3), np.zeros((4, 1), dtype=np.int64), "expected target of shape (4,) for input of shape (4, 3), got (4, 1)"),
        ((4,), np.zeros(4, dtype=np.int64), "input must be 2-D, got shape (4,) (1-D)"),
        ((0, 3), np.zeros(0, dtype=np.int64), "input is empty (shape (0, 3))"),
    ],
)
def test_cross_entropy_refuses_mismatched_shapes(input_shape, labels, message):
    assert_refused(used_loss(CrossEntropyLoss), np.zeros(input_shape), labels, ValueError, f"CrossEntropyLoss: {message}")
