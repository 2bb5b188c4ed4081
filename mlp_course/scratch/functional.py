"""Stateless, numerically stable functions used by layers and losses."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow: exp is only ever taken of -|x|.

    Keeps a float array's dtype; numbers, lists and integer arrays give float64.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def _shift(x: np.ndarray, axis: int) -> np.ndarray:
    """The maximum along ``axis`` (kept as an axis of size 1), or 0 where it is infinite."""
    shift = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


def logsumexp(x: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``, shifting by the maximum so exp cannot overflow."""
    shift = _shift(x, axis)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - logsumexp(x): log-probabilities that never take log(0).

    Computed as (x - m) - log(sum(exp(x - m))) with m the maximum, as PyTorch
    does: adding m back first and subtracting it again would round away the
    small term when the logits are large (all logits -1e30 would give 0, not
    -log C).
    """
    shifted = x - _shift(x, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) computed from the shifted logits."""
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def one_hot(labels: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """Rows of the identity matrix picked by integer ``labels``."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes - 1}], "
            f"got values from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((labels.size, num_classes), dtype=dtype)
    out[np.arange(labels.size), labels.ravel()] = 1
    return out.reshape(*labels.shape, num_classes)
