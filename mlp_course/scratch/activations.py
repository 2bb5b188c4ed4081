"""Element-wise activation functions and softmax."""

from __future__ import annotations

import numpy as np

from mlp_course.scratch import functional as F
from mlp_course.scratch._validation import check_float_array, check_number
from mlp_course.scratch.module import Module, _check_grad_shape, _require_forward


class _Elementwise(Module):
    """An activation applied to every entry; caches what its derivative needs."""

    def __init__(self) -> None:
        self._cache: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_array(type(self).__name__, "input", x)
        out, self._cache = self._forward(x)
        return out

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        _require_forward(self, self._cache)
        _check_grad_shape(self, grad_output, self._cache.shape)
        return self._backward(grad_output, self._cache) if input_grad else None

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _backward(self, grad_output: np.ndarray, cache: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReLU(_Elementwise):
    """max(0, x); its derivative is 1 where x > 0 and 0 elsewhere (0 at x = 0, as in PyTorch)."""

    def _forward(self, x):
        mask = x > 0
        return np.maximum(x, 0), mask

    def _backward(self, grad_output, mask):
        return grad_output * mask


class LeakyReLU(_Elementwise):
    """x for x > 0, ``negative_slope * x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_number("LeakyReLU", "negative_slope", negative_slope)

    def _forward(self, x):
        slope = np.where(x > 0, 1, self.negative_slope).astype(x.dtype)
        return x * slope, slope

    def _backward(self, grad_output, slope):
        return grad_output * slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-x)); derivative s(1 - s), written in terms of the *output* s."""

    def _forward(self, x):
        out = F.sigmoid(x)
        return out, out

    def _backward(self, grad_output, out):
        return grad_output * out * (1 - out)


class Tanh(_Elementwise):
    """tanh(x); derivative 1 - t^2, written in terms of the output t."""

    def _forward(self, x):
        out = np.tanh(x)
        return out, out

    def _backward(self, grad_output, out):
        return grad_output * (1 - out * out)


class Softmax(_Elementwise):
    """Softmax over the last axis: each row becomes a probability vector."""

    def _forward(self, x):
        out = F.softmax(x, axis=-1)
        return out, out

    def _backward(self, grad_output, out):
        # The Jacobian diag(s) - s s^T applied to each row without building it.
        return out * (grad_output - np.sum(grad_output * out, axis=-1, keepdims=True))
