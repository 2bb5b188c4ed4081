"""The stable functions (sigmoid, logsumexp, log_softmax, softmax, one_hot)
against PyTorch, at ordinary and extreme inputs."""

from __future__ import annotations

import re

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import assert_close, examples, tensor

from mlp_course.scratch import functional as F

matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=7),
    elements=st.floats(-1e3, 1e3, allow_subnormal=False),
)
EXTREME = np.array([[-1e30, 0.0, 1e30], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [-800.0, 0.5, 800.0]])


@examples(30)
@given(x=matrices)
def test_sigmoid_matches_pytorch(x):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert_close(F.sigmoid(x), torch.sigmoid(tensor(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_dtype_and_saturates_without_overflow(dtype):
    x = np.array([-1e30, -1000.0, -20.0, 0.0, 20.0, 1000.0, 1e30], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = F.sigmoid(x)
    assert out.dtype == dtype
    assert out[0] == 0 and out[-1] == 1 and out[3] == 0.5
    assert_close(out, torch.sigmoid(tensor(x)), dtype)
    np.testing.assert_allclose(F.sigmoid(np.array([-3.0, 3.0])), 1 / (1 + np.exp([3.0, -3.0])), rtol=1e-15)


@examples(30)
@given(x=matrices, data=st.data())
def test_logsumexp_and_log_softmax_match_pytorch_on_every_axis(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_close(F.logsumexp(x, axis=axis), torch.logsumexp(tensor(x), dim=axis))
    assert_close(F.logsumexp(x, axis=axis, keepdims=True), torch.logsumexp(tensor(x), dim=axis, keepdim=True))
    assert_close(F.log_softmax(x, axis=axis), torch.log_softmax(tensor(x), dim=axis))
    assert_close(F.softmax(x, axis=axis), torch.softmax(tensor(x), dim=axis))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_functions_match_pytorch_at_extreme_logits(dtype):
    x = EXTREME.astype(dtype)
    x_t = tensor(x)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        results = [F.logsumexp(x), F.log_softmax(x), F.softmax(x)]
    for result, expected in zip(results, [torch.logsumexp(x_t, -1), torch.log_softmax(x_t, -1), torch.softmax(x_t, -1)]):
        assert np.all(np.isfinite(result)) and result.dtype == dtype
        assert_close(result, expected, dtype)
    # Equal logits give -log 3 whatever their size.
    np.testing.assert_allclose(F.log_softmax(x)[1:3], -np.log(3), rtol=1e-6)


def test_logsumexp_handles_minus_infinity():
    x = np.array([[-np.inf, 0.0], [-np.inf, -np.inf]])
    with np.errstate(divide="ignore"):
        out = F.logsumexp(x)
    np.testing.assert_array_equal(out, [0.0, -np.inf])


def test_softmax_rows_sum_to_one_for_huge_logits():
    out = F.softmax(np.array([[1000.0, 1000.0], [1e300, -1e300]]))
    np.testing.assert_array_equal(out, [[0.5, 0.5], [1.0, 0.0]])


def test_one_hot_picks_rows_of_the_identity():
    out = F.one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert out.dtype == np.float64
    assert F.one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0, 1]), 3), torch.nn.functional.one_hot(torch.tensor([2, 0, 1]), 3).numpy())


def test_one_hot_keeps_the_label_shape():
    labels = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    out = F.one_hot(labels, 2)
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out.argmax(axis=-1), labels)
    assert F.one_hot(np.array([], dtype=np.int64), 4).shape == (0, 4)


def test_one_hot_refuses_bad_labels():
    with pytest.raises(TypeError, match="one_hot: labels must be integers, got dtype float64"):
        F.one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match=re.escape("one_hot: labels must lie in [0, 2], got values from 0 to 3")):
        F.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match=re.escape("got values from -1 to 1")):
        F.one_hot(np.array([-1, 1]), 3)


def test_sigmoid_accepts_numbers_lists_and_integer_arrays_as_float64():
    from mlp_course.scratch.functional import sigmoid

    assert sigmoid(0.0) == 0.5 and sigmoid(0.0).dtype == np.float64
    np.testing.assert_allclose(sigmoid([0, 2]), [0.5, 1 / (1 + np.exp(-2.0))])
    assert sigmoid(np.array([1, -1])).dtype == np.float64
    assert sigmoid(np.zeros(2, dtype=np.float32)).dtype == np.float32
