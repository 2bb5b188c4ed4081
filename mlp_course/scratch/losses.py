"""Loss functions with mean reduction.

Calling a loss returns a Python float and remembers what ``backward()`` needs;
``backward()`` returns dL/d(input) with the shape and dtype of the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlp_course.scratch import functional as F
from mlp_course.scratch._validation import check_float_array, check_same_shape, describe


class Loss:
    """Base class: ``loss(input, target) -> float`` then ``loss.backward()``."""

    def __init__(self) -> None:
        self._grad: np.ndarray | None = None

    def __call__(self, input: np.ndarray, target: np.ndarray) -> float:
        return self.forward(input, target)

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        value, self._grad = self._compute(input, target)
        return float(value)

    def backward(self) -> np.ndarray:
        """dL/d(input) for the last call."""
        if self._grad is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before the loss was computed"
            )
        return self._grad

    def _compute(self, input: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _checked_pair(owner: str, input: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    check_float_array(owner, "input", input)
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{owner}: target must be a NumPy array, got {describe(target)}")
    check_same_shape(owner, input, target)
    if input.size == 0:
        raise ValueError(f"{owner}: input is empty (shape {input.shape})")
    return input, target.astype(input.dtype, copy=False)


def _check_probabilities(owner: str, name: str, values: np.ndarray) -> None:
    if not np.all((values >= 0) & (values <= 1)):
        bad = values[~((values >= 0) & (values <= 1))]
        raise ValueError(
            f"{owner}: {name} must lie in [0, 1], found {bad.size} value(s) outside, e.g. {float(bad.flat[0])!r}"
            + ("; pass raw scores (logits) to BCEWithLogitsLoss instead" if name == "input" else "")
        )


class MSELoss(Loss):
    """mean((input - target)^2) over every entry."""

    def _compute(self, input, target):
        input, target = _checked_pair("MSELoss", input, target)
        diff = input - target
        return np.mean(diff * diff), (2.0 / diff.size) * diff


class BCELoss(Loss):
    """Binary cross-entropy of probabilities:
    -mean(t log p + (1 - t) log(1 - p)).

    As in PyTorch, each log is clamped at -100 so that p = 0 or 1 gives a large,
    finite loss, and the gradient's denominator p(1 - p) is kept >= 1e-12.
    """

    def _compute(self, input, target):
        input, target = _checked_pair("BCELoss", input, target)
        _check_probabilities("BCELoss", "input", input)
        _check_probabilities("BCELoss", "target", target)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(input), -100)
            log_1mp = np.maximum(np.log1p(-input), -100)
        value = -np.mean(target * log_p + (1 - target) * log_1mp)
        grad = (input - target) / np.maximum(input * (1 - input), 1e-12) / input.size
        return value, grad.astype(input.dtype, copy=False)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy of *logits* z, with the sigmoid folded in:
    mean(max(z, 0) - z t + log(1 + exp(-|z|))), stable for any z.
    Its gradient is simply (sigmoid(z) - t) / N."""

    def _compute(self, input, target):
        input, target = _checked_pair("BCEWithLogitsLoss", input, target)
        _check_probabilities("BCEWithLogitsLoss", "target", target)
        value = np.mean(np.maximum(input, 0) - input * target + np.log1p(np.exp(-np.abs(input))))
        grad = (F.sigmoid(input) - target) / input.size
        return value, grad.astype(input.dtype, copy=False)


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy of logits ``(N, C)`` against integer labels ``(N,)``:
    -mean(log softmax(z)[i, y_i]). Its gradient is (softmax(z) - onehot(y)) / N."""

    def _compute(self, input, target):
        owner = "CrossEntropyLoss"
        check_float_array(owner, "input", input, ndim=2)
        if not isinstance(target, np.ndarray):
            raise TypeError(f"{owner}: target must be a NumPy array of integer labels, got {describe(target)}")
        if target.dtype.kind not in "iu":
            hint = ""
            if target.dtype.kind == "f" and np.all(np.mod(target, 1) == 0):
                hint = "; they look like whole numbers: use target.astype(np.int64)"
            raise TypeError(f"{owner}: target must hold integer class labels, got dtype {target.dtype}{hint}")
        n, num_classes = input.shape
        if target.ndim != 1 or target.shape[0] != n:
            raise ValueError(
                f"{owner}: expected target of shape ({n},) for input of shape {input.shape}, got {target.shape}"
            )
        if n == 0:
            raise ValueError(f"{owner}: input is empty (shape {input.shape})")
        if target.min() < 0 or target.max() >= num_classes:
            raise ValueError(
                f"{owner}: labels must lie in [0, {num_classes - 1}] for {num_classes} classes, "
                f"got values from {target.min()} to {target.max()}"
            )
        log_probs = F.log_softmax(input, axis=1)
        rows = np.arange(n)
        value = -np.mean(log_probs[rows, target])
        grad = np.exp(log_probs)
        grad[rows, target] -= 1
        grad /= n
        return value, grad
