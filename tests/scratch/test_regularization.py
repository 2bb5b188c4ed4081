"""Dropout (inverted, mask shared by forward and backward) and BatchNorm1d
(train and eval, running statistics) against PyTorch and their definitions."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import (
    assert_close,
    assert_unchanged,
    examples,
    seeds,
    snapshot,
    tensor,
    torch_batchnorm,
)

from mlp_course import seed_everything
from mlp_course.gradcheck import gradient_check
from mlp_course.scratch import BatchNorm1d, Dropout, Linear, MSELoss, Sequential, Tanh

# -- Dropout -----------------------------------------------------------------


@examples(30)
@given(p=st.floats(0.05, 0.95), n=st.integers(1, 20), d=st.integers(1, 20), seed=seeds)
def test_dropout_backward_uses_the_forward_mask(p, n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, size=(n, d)) * rng.choice([-1.0, 1.0], size=(n, d))  # no zeros
    layer = Dropout(p, rng=np.random.default_rng(seed + 1))
    out = layer(x)
    grad_x = layer.backward(np.ones_like(x))
    kept = out != 0
    np.testing.assert_array_equal(grad_x != 0, kept)
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)
    np.testing.assert_allclose(grad_x[kept], 1 / (1 - p), rtol=1e-15)
    g = rng.standard_normal((n, d))
    np.testing.assert_array_equal(layer.backward(g), g * grad_x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_matches_pytorch_given_the_same_mask(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6)).astype(dtype)
    g = rng.standard_normal((8, 6)).astype(dtype)
    layer = Dropout(0.3, rng=rng)
    out = layer(x)
    grad_x = layer.backward(g)
    assert out.dtype == grad_x.dtype == dtype
    # PyTorch's dropout is x * mask / (1 - p); rebuild it from the scratch mask.
    keep = tensor((out != 0).astype(dtype))
    x_t = tensor(x, requires_grad=True)
    out_t = x_t * keep / (1 - 0.3)
    out_t.backward(tensor(g))
    assert_close(out, out_t, dtype)
    assert_close(grad_x, x_t.grad, dtype)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expectation_and_drops_a_fraction_p(p):
    x = np.ones((1000, 1000))
    out = Dropout(p, rng=np.random.default_rng(1))(x)
    # The mean of 10^6 scaled Bernoulli(1 - p) draws has standard deviation sqrt(p / (1 - p)) / 1000.
    tolerance = 6 * np.sqrt(p / (1 - p)) / 1000
    assert abs(out.mean() - 1.0) < tolerance
    assert abs(np.mean(out == 0) - p) < 6 * np.sqrt(p * (1 - p)) / 1000


def test_dropout_is_the_identity_in_eval_mode():
    x = np.random.default_rng(2).standard_normal((5, 4))
    layer = Dropout(0.9).eval()
    np.testing.assert_array_equal(layer(x), x)
    g = np.arange(20.0).reshape(5, 4)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_with_p_zero_is_the_identity_in_training():
    x = np.random.default_rng(3).standard_normal((5, 4))
    layer = Dropout(0.0)
    assert layer.training
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_dropout_draws_a_new_mask_every_forward_pass():
    layer = Dropout(0.5, rng=np.random.default_rng(4))
    x = np.ones((50, 50))
    assert not np.array_equal(layer(x), layer(x))


def test_dropout_uses_the_course_generator_by_default():
    x = np.ones((20, 20), dtype=np.float32)
    seed_everything(7)
    first = Dropout(0.5)(x)
    seed_everything(7)
    np.testing.assert_array_equal(Dropout(0.5)(x), first)
    assert first.dtype == np.float32


def test_dropout_gradient_check_in_eval_mode():
    rng = np.random.default_rng(5)
    model = Sequential(Linear(4, 6, dtype=np.float64, rng=rng), Tanh(), Dropout(0.5), Linear(6, 2, dtype=np.float64, rng=rng))
    model.eval()
    errors = gradient_check(model, MSELoss(), rng.standard_normal((5, 4)), rng.standard_normal((5, 2)))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("p, shown", [(-0.1, "-0.1"), (1.0, "1.0"), (1.5, "1.5")])
def test_dropout_rejects_p_outside_zero_one(p, shown):
    with pytest.raises(ValueError, match=re.escape(f"Dropout: p must be in [0, 1), got {shown}")):
        Dropout(p)


@pytest.mark.parametrize("p", [float("nan"), "0.5", None])
def test_dropout_rejects_p_that_is_not_a_number(p):
    with pytest.raises(ValueError, match="Dropout: p must be a finite number, got"):
        Dropout(p)


def test_dropout_backward_errors():
    layer = Dropout(0.5)
    with pytest.raises(RuntimeError, match="Dropout.backward was called before forward"):
        layer.backward(np.ones((2, 2)))
    layer(np.ones((2, 3)))
    before = snapshot(layer)
    with pytest.raises(ValueError, match=re.escape("last forward output (2, 3), got (3, 2)")):
        layer.backward(np.ones((3, 2)))
    assert_unchanged(before, layer)
    with pytest.raises(TypeError, match="input must have dtype float32 or float64, got int64"):
        layer(np.ones((2, 3), dtype=np.int64))
    assert_unchanged(before, layer)


def test_dropout_repr():
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"


# -- BatchNorm1d -------------------------------------------------------------


def make_batchnorm(d, rng, dtype=np.float64, **kwargs) -> BatchNorm1d:
    layer = BatchNorm1d(d, dtype=dtype, **kwargs)
    if layer.affine:
        layer.weight.data[...] = rng.uniform(0.5, 2.0, d)
        layer.bias.data[...] = rng.standard_normal(d)
    return layer


def compare_passes(layer, reference, batches, dtype=np.float64):
    """Forward and backward on each batch in turn; outputs, gradients and buffers agree."""
    for step, (x, g) in enumerate(batches):
        x_t = tensor(x, requires_grad=True)
        out_t = reference(x_t)
        out_t.backward(tensor(g))
        layer.zero_grad()
        out = layer(x)
        grad_x = layer.backward(g)
        context = f"(pass {step}, training={layer.training})"
        assert out.dtype == grad_x.dtype == dtype
        assert_close(out, out_t, dtype, err_msg=f"output {context}")
        assert_close(grad_x, x_t.grad, dtype, err_msg=f"input gradient {context}")
        if layer.affine:
            assert_close(layer.weight.grad, reference.weight.grad, dtype, err_msg=f"weight grad {context}")
            assert_close(layer.bias.grad, reference.bias.grad, dtype, err_msg=f"bias grad {context}")
            reference.zero_grad()
        assert_close(layer.running_mean, reference.running_mean, dtype, err_msg=f"running_mean {context}")
        assert_close(layer.running_var, reference.running_var, dtype, err_msg=f"running_var {context}")
        assert layer.running_mean.dtype == layer.running_var.dtype == dtype
        assert layer.num_batches_tracked == int(reference.num_batches_tracked)


@examples(30)
@given(
    n=st.integers(2, 16), d=st.integers(1, 8), passes=st.integers(1, 4), affine=st.booleans(),
    momentum=st.floats(0.0, 1.0), eps=st.sampled_from([1e-5, 1e-3, 0.5]), seed=seeds,
)
def test_batchnorm_training_matches_pytorch_over_several_passes(n, d, passes, affine, momentum, eps, seed):
    rng = np.random.default_rng(seed)
    layer = make_batchnorm(d, rng, affine=affine, momentum=momentum, eps=eps)
    reference = torch_batchnorm(layer)
    batches = [(3 * rng.standard_normal((n, d)) + rng.standard_normal(d), rng.standard_normal((n, d)))
               for _ in range(passes)]
    compare_passes(layer, reference, batches)
    # Then evaluation uses the running statistics both sides agree on.
    layer.eval()
    reference.eval()
    compare_passes(layer, reference, [(rng.standard_normal((n, d)), rng.standard_normal((n, d)))])


@examples(25)
@given(n=st.integers(1, 16), d=st.integers(1, 8), affine=st.booleans(), seed=seeds)
def test_batchnorm_eval_matches_pytorch_with_given_running_statistics(n, d, affine, seed):
    rng = np.random.default_rng(seed)
    layer = make_batchnorm(d, rng, affine=affine)
    layer.running_mean = rng.standard_normal(d)
    layer.running_var = rng.uniform(0.1, 3.0, d)
    layer.eval()
    reference = torch_batchnorm(layer)
    before = snapshot(layer.running_mean, layer.running_var, layer.num_batches_tracked)
    compare_passes(layer, reference, [(rng.standard_normal((n, d)), rng.standard_normal((n, d)))] * 2)
    assert_unchanged(before, layer.running_mean, layer.running_var, layer.num_batches_tracked)


@examples(15)
@given(n=st.integers(4, 16), d=st.integers(1, 8), seed=seeds)
def test_batchnorm_float32_keeps_dtype_and_matches_pytorch(n, d, seed):
    # From 4 samples up: with 2 or 3 the input gradient is a difference of nearly
    # equal terms, and float32 keeps only a few of its digits (float64 is tested above).
    rng = np.random.default_rng(seed)
    layer = make_batchnorm(d, rng, dtype=np.float32)
    reference = torch_batchnorm(layer)
    batches = [(rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal((n, d)).astype(np.float32))
               for _ in range(3)]
    compare_passes(layer, reference, batches, np.float32)
    assert layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32
    layer.eval()
    reference.eval()
    compare_passes(layer, reference, batches[:1], np.float32)


def test_batchnorm_normalises_each_feature_in_training():
    x = np.random.default_rng(6).standard_normal((64, 3)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 0.0]
    out = BatchNorm1d(3, dtype=np.float64)(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1, rtol=1e-3)


def test_batchnorm_running_variance_is_unbiased():
    x = np.array([[0.0], [2.0]])  # biased variance 1, unbiased 2
    layer = BatchNorm1d(1, momentum=1.0, dtype=np.float64)
    layer(x)
    np.testing.assert_allclose(layer.running_mean, [1.0])
    np.testing.assert_allclose(layer.running_var, [2.0])
    assert layer.num_batches_tracked == 1


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradient_check(training):
    rng = np.random.default_rng(8)
    # The Linear before batch norm has no bias: batch norm would cancel it (zero gradient).
    model = Sequential(
        Linear(3, 5, bias=False, dtype=np.float64, rng=rng), make_batchnorm(5, rng), Tanh(),
        Linear(5, 2, dtype=np.float64, rng=rng),
    )
    model[1].running_mean = rng.standard_normal(5)
    model[1].running_var = rng.uniform(0.5, 2.0, 5)
    model.train(training)
    before = snapshot(model[1].running_mean, model[1].running_var)
    errors = gradient_check(model, MSELoss(), rng.standard_normal((6, 3)), rng.standard_normal((6, 2)))
    assert max(errors.values()) < 1e-6, errors
    assert_unchanged(before, model[1].running_mean, model[1].running_var)


def test_batchnorm_without_affine_has_no_parameters():
    layer = BatchNorm1d(4, affine=False)
    assert list(layer.named_parameters()) == []
    assert layer.weight is None and layer.bias is None


def test_batchnorm_defaults_and_repr():
    layer = BatchNorm1d(4)
    assert layer.running_mean.dtype == np.float32
    np.testing.assert_array_equal(layer.running_mean, np.zeros(4))
    np.testing.assert_array_equal(layer.running_var, np.ones(4))
    np.testing.assert_array_equal(layer.weight.data, np.ones(4))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(4))
    assert repr(layer) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True)"


# -- BatchNorm1d: bad input --------------------------------------------------


@pytest.fixture
def used_batchnorm():
    rng = np.random.default_rng(9)
    layer = make_batchnorm(3, rng)
    layer(rng.standard_normal((5, 3)))
    layer.backward(rng.standard_normal((5, 3)))
    return layer


def test_batchnorm_training_refuses_a_single_sample_without_changing_state(used_batchnorm):
    before = snapshot(used_batchnorm)
    with pytest.raises(ValueError, match=re.escape("training needs a batch of at least 2 samples to estimate a variance, got input of shape (1, 3)")):
        used_batchnorm(np.ones((1, 3)))
    assert_unchanged(before, used_batchnorm)
    used_batchnorm.eval()
    assert used_batchnorm(np.ones((1, 3))).shape == (1, 3)


@pytest.mark.parametrize(
    "x, error, message",
    [
        (np.zeros((4, 2)), ValueError, "BatchNorm1d: expected input of shape (batch, 3), got (4, 2)"),
        (np.zeros(3), ValueError, "input must be 2-D, got shape (3,)"),
        (np.zeros((4, 3), dtype=np.float32), TypeError, "input has dtype float32 but the module's parameters are float64"),
        (np.zeros((4, 3), dtype=np.int64), TypeError, "input must have dtype float32 or float64, got int64"),
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_rejects_bad_input_without_changing_state(used_batchnorm, x, error, message, training):
    used_batchnorm.train(training)
    before = snapshot(used_batchnorm)
    with pytest.raises(error, match=re.escape(message)):
        used_batchnorm(x)
    assert_unchanged(before, used_batchnorm)


def test_batchnorm_backward_errors_change_nothing(used_batchnorm):
    before = snapshot(used_batchnorm)
    with pytest.raises(ValueError, match=re.escape("grad_output must have the shape of the last forward output (5, 3), got (3, 5)")):
        used_batchnorm.backward(np.ones((3, 5)))
    assert_unchanged(before, used_batchnorm)
    with pytest.raises(RuntimeError, match="BatchNorm1d.backward was called before forward"):
        BatchNorm1d(3).backward(np.ones((2, 3), dtype=np.float32))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_features=0), "num_features must be a positive integer, got int 0"),
        (dict(num_features=-3), "num_features must be a positive integer, got int -3"),
        (dict(num_features=3, eps=0.0), "eps must be in (0, inf], got 0.0"),
        (dict(num_features=3, eps=-1e-5), "eps must be in (0, inf], got -1e-05"),
        (dict(num_features=3, momentum=-0.1), "momentum must be in [0, 1], got -0.1"),
        (dict(num_features=3, momentum=1.5), "momentum must be in [0, 1], got 1.5"),
    ],
)
def test_batchnorm_rejects_invalid_hyper_parameters(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(f"BatchNorm1d: {message}")):
        BatchNorm1d(**kwargs)


def test_batchnorm_rejects_integer_dtype():
    with pytest.raises(TypeError, match="BatchNorm1d: dtype must be float32 or float64, got int64"):
        BatchNorm1d(3, dtype=np.int64)


def test_batchnorm_float64_reference_really_is_float64():
    reference = torch_batchnorm(BatchNorm1d(2, dtype=np.float64))
    assert reference.running_var.dtype == torch.float64
