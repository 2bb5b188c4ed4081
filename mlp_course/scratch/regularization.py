"""Dropout and batch normalisation."""

from __future__ import annotations

import numpy as np

from mlp_course.scratch._validation import (
    FLOAT_DTYPES,
    check_dtype_matches,
    check_float_array,
    check_number,
    check_positive_int,
)
from mlp_course.scratch.module import Module, Parameter, _check_grad_shape, _require_forward
from mlp_course.seed import get_rng


class Dropout(Module):
    """Inverted dropout: in training, zero each entry with probability ``p`` and
    scale the survivors by 1/(1-p) so the expected output equals the input; in
    evaluation, the identity."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        self.p = check_number("Dropout", "p", p, low=0.0, high=1.0, high_open=True)
        self._rng = rng
        self._mask: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_array("Dropout", "input", x)
        self._shape = x.shape
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        rng = get_rng() if self._rng is None else self._rng
        keep = rng.random(x.shape) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        _require_forward(self, self._shape)
        _check_grad_shape(self, grad_output, self._shape)
        if not input_grad:
            return None
        return grad_output if self._mask is None else grad_output * self._mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Normalise each feature over the batch, then scale by ``weight`` (gamma) and
    shift by ``bias`` (beta).

    Training uses the batch mean and the *biased* batch variance and updates
    running estimates with the *unbiased* variance:
    ``running = (1 - momentum) * running + momentum * batch``. Evaluation uses the
    running estimates. These are PyTorch's conventions.
    """

    _buffers = ("running_mean", "running_var")
    # Saved by state_dict() like PyTorch's buffer of that name, but a plain int
    # that to() leaves alone.
    _int_buffers = ("num_batches_tracked",)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        dtype=np.float32,
    ) -> None:
        self.num_features = check_positive_int("BatchNorm1d", "num_features", num_features)
        self.eps = check_number("BatchNorm1d", "eps", eps, low=0.0, low_open=True)
        self.momentum = check_number("BatchNorm1d", "momentum", momentum, low=0.0, high=1.0)
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"BatchNorm1d: dtype must be float32 or float64, got {dtype}")
        self.affine = bool(affine)
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None
        if self.affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype), "weight")
            self.bias = Parameter(np.zeros(num_features, dtype=dtype), "bias")
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.num_batches_tracked = 0
        self._cache: tuple[np.ndarray, np.ndarray, bool] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_array("BatchNorm1d", "input", x, ndim=2)
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: expected input of shape (batch, {self.num_features}), got {x.shape}"
            )
        check_dtype_matches("BatchNorm1d", "input", x, self.running_mean.dtype)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    "BatchNorm1d: training needs a batch of at least 2 samples to estimate a "
                    f"variance, got input of shape {x.shape}; use eval() for single samples"
                )
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            m = self.momentum
            self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(x.dtype)
            self.running_var = ((1 - m) * self.running_var + m * var * (n / (n - 1))).astype(x.dtype)
            self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self._cache = (x_hat, inv_std.astype(x.dtype), self.training)
        if self.affine:
            return x_hat * self.weight.data + self.bias.data
        return x_hat

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        _require_forward(self, self._cache)
        x_hat, inv_std, used_batch_stats = self._cache
        _check_grad_shape(self, grad_output, x_hat.shape)
        if self.affine:
            self.weight.grad += np.sum(grad_output * x_hat, axis=0)
            self.bias.grad += np.sum(grad_output, axis=0)
            grad_x_hat = grad_output * self.weight.data
        else:
            grad_x_hat = grad_output
        if not input_grad:
            return None
        if not used_batch_stats:
            return grad_x_hat * inv_std
        # The batch mean and variance depend on every sample, hence the two
        # correction terms that couple the rows.
        n = x_hat.shape[0]
        return (inv_std / n) * (
            n * grad_x_hat
            - np.sum(grad_x_hat, axis=0)
            - x_hat * np.sum(grad_x_hat * x_hat, axis=0)
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
