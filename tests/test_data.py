"""Tests for mlp_course.data: the bundled MNIST subset is real, complete and well typed."""
from __future__ import annotations

import numpy as np
import pytest

from mlp_course.data import MNIST_PIXELS, load_mnist_subset


def test_mnist_subset_shapes_classes_and_scale():
    X, y = load_mnist_subset()
    assert X.shape == (5000, MNIST_PIXELS) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.all(np.diff(y) >= 0), "the docstring says the rows are sorted by label"
    # Real digits: the border of a centred 28x28 digit is (nearly) blank, the middle is not.
    images = X.reshape(-1, 28, 28)
    assert images[:, :, 0].mean() < 0.01 < images[:, 10:18, 10:18].mean()


def test_mnist_subset_unscaled_float64_keeps_raw_pixels():
    X, _ = load_mnist_subset(scale=False, dtype=np.float64)
    assert X.dtype == np.float64 and X.max() == 255.0
    assert np.all(X == np.round(X))


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": np.int32}, "dtype must be np.float32 or np.float64"),
    ({"scale": 1}, "scale must be True or False"),
])
def test_mnist_subset_refuses_bad_arguments(kwargs, message):
    with pytest.raises(TypeError, match=message):
        load_mnist_subset(**kwargs)
