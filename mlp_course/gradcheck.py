"""Gradient checking: finite differences, and agreement with PyTorch autograd.

Finite differences need float64: with float32 the rounding error of the loss
(about 1e-7 relative) divided by a step of 1e-6 swamps the derivative.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

from mlp_course.scratch import Loss, Module
from mlp_course.scratch.convert import loss_to_torch, to_torch
from mlp_course.scratch.regularization import Dropout


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + h e_i) - f(x - h e_i)) / (2 h) for every entry of ``x``.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place and
    restored exactly.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}")
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        plus = f()
        flat_x[i] = original - h
        minus = f()
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    """max|a - b| / max(max|a| + max|b|, floor): 0 means identical, 1 means unrelated.

    Scaling by the largest entries (not entry by entry) keeps tiny entries,
    where finite differences are mostly rounding noise, from dominating. A
    gradient that is exactly zero (a bias just before batch norm) still reads
    as about 1 against that noise: look at the absolute values there.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))) + float(np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b))) / scale


def _check_model(model: Module, X: np.ndarray) -> None:
    if model.dtype != np.float64 or X.dtype != np.float64:
        raise TypeError(
            f"gradient checks need float64; got model {model.dtype} and X {X.dtype}: "
            "use model.to(np.float64) and X.astype(np.float64)"
        )
    if any(isinstance(m, Dropout) and m.training and m.p > 0 for m in model.modules()):
        raise ValueError("gradient checks need a deterministic model: call model.eval() to switch dropout off")


def analytic_gradients(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The backward pass's gradients: ``{"input": dL/dX, "<param name>": dL/dp, ...}``."""
    return _loss_and_gradients(model, loss_fn, X, y)[1]


def _loss_and_gradients(model, loss_fn, X, y) -> tuple[float, dict[str, np.ndarray]]:
    loss = loss_fn(model(X), y)
    model.zero_grad()
    grads = {"input": model.backward(loss_fn.backward()).copy()}
    grads.update({name: p.grad.copy() for name, p in model.named_parameters()})
    return loss, grads


def gradient_check(
    model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray, h: float = 1e-6
) -> dict[str, float]:
    """Relative error between backprop and finite differences, per parameter and for the input.

    Values around 1e-7 or below mean the backward pass is right; a bug gives 1e-2 or more.
    (Batch norm in training mode is fine: the loss is a deterministic function of X.)
    """
    _check_model(model, X)
    X = X.copy()
    state = _buffers(model)
    try:
        grads = analytic_gradients(model, loss_fn, X, y)

        def loss() -> float:
            return loss_fn(model(X), y)

        errors = {"input": relative_error(grads["input"], numerical_gradient(loss, X, h))}
        for name, p in model.named_parameters():
            errors[name] = relative_error(grads[name], numerical_gradient(loss, p.data, h))
    finally:
        _restore_buffers(model, state)
    return errors


def _buffers(model: Module) -> list[tuple[Module, dict]]:
    # Forward passes in training mode move batch norm's running statistics and
    # its batch count: keep them.
    state = []
    for m in model.modules():
        names = list(getattr(m, "_buffers", ()))
        if hasattr(m, "num_batches_tracked"):
            names.append("num_batches_tracked")
        state.append((m, {k: copy.copy(getattr(m, k)) for k in names}))
    return state


def _restore_buffers(model: Module, state) -> None:
    for module, values in state:
        for key, value in values.items():
            setattr(module, key, value)


@dataclass
class TorchComparison:
    """Largest absolute differences between the scratch model and PyTorch autograd."""

    loss: float
    torch_loss: float
    max_abs_diff: dict[str, float]

    def assert_close(self, atol: float = 1e-10) -> None:
        """Raise ``AssertionError`` naming every quantity that differs by more than ``atol``."""
        bad = {k: v for k, v in self.max_abs_diff.items() if not v <= atol}
        if abs(self.loss - self.torch_loss) > atol:
            bad["loss"] = abs(self.loss - self.torch_loss)
        if bad:
            details = ", ".join(f"{k}: {v:.3g}" for k, v in bad.items())
            raise AssertionError(f"scratch and PyTorch differ by more than {atol:g}: {details}")


def compare_with_torch(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray) -> TorchComparison:
    """Run the same model, loss and batch through PyTorch autograd and compare
    the loss, dL/dX and every parameter gradient (PyTorch's weights transposed
    back to the scratch layout)."""
    import torch

    torch_model = to_torch(model)
    torch_loss_fn = loss_to_torch(loss_fn)
    state = _buffers(model)
    loss, grads = _loss_and_gradients(model, loss_fn, X, y)
    _restore_buffers(model, state)
    X_torch = torch.tensor(X, requires_grad=True)
    y_torch = torch.from_numpy(np.asarray(y))
    if y_torch.is_floating_point():
        y_torch = y_torch.to(X_torch.dtype)
    else:
        y_torch = y_torch.long()  # PyTorch wants int64 class labels; scratch accepts any integer type
    torch_loss = torch_loss_fn(torch_model(X_torch), y_torch)
    torch_loss.backward()
    diffs = {"input": float(np.max(np.abs(grads["input"] - X_torch.grad.numpy())))}
    torch_params = dict(torch_model.named_parameters())
    for name, _ in model.named_parameters():
        # to_torch wraps a lone module in a Sequential, which prefixes "0.".
        name_in_torch = name if name in torch_params else f"0.{name}"
        torch_grad = torch_params[name_in_torch].grad.numpy()
        if torch_grad.ndim == 2:
            torch_grad = torch_grad.T
        diffs[name] = float(np.max(np.abs(grads[name] - torch_grad)))
    return TorchComparison(loss=loss, torch_loss=float(torch_loss.item()), max_abs_diff=diffs)
