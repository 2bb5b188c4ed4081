"""Helpers shared by the tests: PyTorch references, tolerances and state snapshots.

Imported by test modules as ``import torch_reference`` (pytest puts ``tests/``
on ``sys.path`` because ``tests/conftest.py`` lives there).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from hypothesis import settings
from hypothesis import strategies as st

from mlp_course.scratch import BatchNorm1d, Linear, Module, Parameter

# float64 results must agree with PyTorch to rounding error; float32 ones to float32 precision.
TOL64 = dict(rtol=1e-10, atol=1e-12)
TOL32 = dict(rtol=2e-5, atol=2e-6)

EXAMPLE_SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else 1

sizes = st.integers(min_value=1, max_value=12)
batch_sizes = st.integers(min_value=1, max_value=16)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def examples(n: int):
    """Hypothesis settings with ``n`` examples (ten times more under the ``explore`` profile)."""
    return settings(max_examples=n * EXAMPLE_SCALE)


def tolerance(dtype) -> dict[str, float]:
    return TOL64 if np.dtype(dtype) == np.float64 else TOL32


def assert_close(actual, expected, dtype=np.float64, err_msg: str = "") -> None:
    """``assert_allclose`` with the tolerance for ``dtype`` (tight for float64)."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), err_msg=err_msg, **tolerance(dtype))


def tensor(array: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """A PyTorch copy of ``array`` (same dtype)."""
    return torch.from_numpy(np.array(array, copy=True)).requires_grad_(requires_grad)


def torch_linear(layer: Linear) -> torch.nn.Linear:
    """A ``torch.nn.Linear`` with ``layer``'s weights, built without ``to_torch``."""
    dtype = torch.float64 if layer.weight.data.dtype == np.float64 else torch.float32
    out = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None, dtype=dtype)
    with torch.no_grad():
        out.weight.copy_(tensor(layer.weight.data.T))
        if layer.bias is not None:
            out.bias.copy_(tensor(layer.bias.data))
    return out


def torch_batchnorm(layer: BatchNorm1d) -> torch.nn.BatchNorm1d:
    """A ``torch.nn.BatchNorm1d`` with ``layer``'s parameters and buffers, built without ``to_torch``."""
    dtype = torch.float64 if layer.running_mean.dtype == np.float64 else torch.float32
    out = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum,
                               affine=layer.affine, dtype=dtype)
    with torch.no_grad():
        if layer.affine:
            out.weight.copy_(tensor(layer.weight.data))
            out.bias.copy_(tensor(layer.bias.data))
        out.running_mean.copy_(tensor(layer.running_mean))
        out.running_var.copy_(tensor(layer.running_var))
    out.train(layer.training)
    return out


def scratch_layout(name: str, value: torch.Tensor) -> np.ndarray:
    """A PyTorch parameter (or its gradient) in the scratch layout: 2-D weights transposed."""
    array = value.detach().numpy()
    return array.T if array.ndim == 2 else array


def assert_parameters_match(model: Module, torch_model: torch.nn.Module, dtype=np.float64,
                            grads: bool = False, context: str = "") -> None:
    """Every parameter (or its gradient) of ``model`` equals its PyTorch counterpart."""
    torch_params = dict(torch_model.named_parameters())
    names = [name for name, _ in model.named_parameters()]
    assert names == [n for n in torch_params], (names, list(torch_params))
    for name, p in model.named_parameters():
        reference = torch_params[name].grad if grads else torch_params[name]
        what = "grad of " if grads else ""
        assert_close(p.grad if grads else p.data, scratch_layout(name, reference), dtype,
                     err_msg=f"{what}{name} {context}")


# -- state snapshots ---------------------------------------------------------


def _flatten(value: Any, path: str, out: dict[str, Any], seen: set[int]) -> None:
    if isinstance(value, np.ndarray):
        out[path] = ("array", value.dtype.str, value.shape, value.tobytes())
    elif isinstance(value, np.random.Generator):
        out[path] = ("rng", repr(value.bit_generator.state))
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}[{key!r}]", out, seen)
        out[path] = ("dict", tuple(sorted(map(repr, value))))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", out, seen)
        out[path] = (type(value).__name__, len(value))
    elif isinstance(value, float):
        out[path] = ("float", repr(value))
    elif value is None or isinstance(value, (bool, int, str, np.generic)):
        out[path] = repr(value)
    elif hasattr(value, "__dict__"):
        if id(value) in seen:
            out[path] = ("seen", type(value).__name__)
            return
        seen.add(id(value))
        out[path] = ("object", type(value).__name__)
        for key, item in vars(value).items():
            _flatten(item, f"{path}.{key}", out, seen)
    else:
        out[path] = repr(value)


def snapshot(*objects: Any) -> dict[str, Any]:
    """Every array (bit for bit), number and flag reachable from ``objects``:
    parameters and their gradients, buffers, caches, optimiser state, counters."""
    out: dict[str, Any] = {}
    seen: set[int] = set()
    for index, obj in enumerate(objects):
        _flatten(obj, f"obj{index}", out, seen)
    return out


def assert_unchanged(before: dict[str, Any], *objects: Any) -> None:
    """Nothing reachable from ``objects`` differs from the ``before`` snapshot."""
    after = snapshot(*objects)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"state changed: {changed[:10]}"


def make_parameter(rng: np.random.Generator, shape, dtype=np.float64, grad_scale: float = 1.0) -> Parameter:
    p = Parameter(rng.standard_normal(shape).astype(dtype))
    p.grad[...] = grad_scale * rng.standard_normal(shape)
    return p
