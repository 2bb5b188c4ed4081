"""The fully connected layer."""

from __future__ import annotations

import numpy as np

from mlp_course.scratch._validation import (
    FLOAT_DTYPES,
    check_dtype_matches,
    check_float_array,
    check_positive_int,
)
from mlp_course.scratch.init import get_initialiser
from mlp_course.scratch.module import Module, Parameter, _check_grad_shape, _require_forward
from mlp_course.seed import get_rng


class Linear(Module):
    """``Y = X @ W + b`` with ``W`` of shape ``(in_features, out_features)``.

    PyTorch stores the transpose, ``(out_features, in_features)``;
    :func:`~mlp_course.scratch.to_torch` transposes when it copies.

    ``init`` picks the weight distribution: ``"pytorch"`` (the default, also
    used for the bias), ``"glorot_uniform"``, ``"glorot_normal"``,
    ``"he_uniform"`` or ``"he_normal"`` (biases start at zero for these four).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "pytorch",
        dtype=np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.in_features = check_positive_int("Linear", "in_features", in_features)
        self.out_features = check_positive_int("Linear", "out_features", out_features)
        initialiser = get_initialiser(init)
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"Linear: dtype must be float32 or float64, got {dtype}")
        rng = get_rng() if rng is None else rng
        self.init = init
        self.weight = Parameter(initialiser(self.in_features, self.out_features, rng, dtype), "weight")
        self.bias: Parameter | None = None
        if bias:
            if init == "pytorch":
                bound = 1.0 / np.sqrt(self.in_features)
                values = rng.uniform(-bound, bound, size=self.out_features).astype(dtype)
            else:
                values = np.zeros(self.out_features, dtype=dtype)
            self.bias = Parameter(values, "bias")
        self._input: np.ndarray | None = None
        self._weight_grad_work: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_array("Linear", "input", x, ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear: expected input of shape (batch, {self.in_features}), got {x.shape}"
            )
        check_dtype_matches("Linear", "input", x, self.weight.data.dtype)
        self._input = x
        out = x @ self.weight.data
        if self.bias is not None:
            out += self.bias.data
        return out

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        _require_forward(self, self._input)
        _check_grad_shape(self, grad_output, (self._input.shape[0], self.out_features))
        check_dtype_matches("Linear.backward", "grad_output", grad_output, self.weight.data.dtype)
        # The product goes into a preallocated array, then is added: the same
        # numbers as grad += X.T @ dY without a fresh (in, out) temporary per batch.
        work = self._weight_grad_work
        if work is None or work.shape != self.weight.data.shape or work.dtype != self.weight.data.dtype:
            work = self._weight_grad_work = np.empty_like(self.weight.data)
        np.matmul(self._input.T, grad_output, out=work)
        self.weight.grad += work
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T if input_grad else None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
