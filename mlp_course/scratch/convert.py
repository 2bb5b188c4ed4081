"""Conversion to and from PyTorch: the same network, the same numbers.

PyTorch is imported only inside these functions, so the rest of the library
works without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlp_course.scratch.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from mlp_course.scratch.layers import Linear
from mlp_course.scratch.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from mlp_course.scratch.module import Module, Sequential
from mlp_course.scratch.regularization import BatchNorm1d, Dropout

_TORCH_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def _torch_dtype(torch, dtype: np.dtype):
    return getattr(torch, _TORCH_DTYPES[np.dtype(dtype)])


def _tensor(torch, array: np.ndarray):
    return torch.from_numpy(np.array(array, copy=True))


def _module_to_torch(module: Module, torch, dtype):
    out = _convert_to_torch(module, torch, dtype)
    # Each module keeps its own mode (dropout off while batch norm still trains).
    out.training = module.training
    return out


def _convert_to_torch(module: Module, torch, dtype):
    nn = torch.nn
    if isinstance(module, Linear):
        out = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype)
        with torch.no_grad():
            out.weight.copy_(_tensor(torch, module.weight.data.T))
            if module.bias is not None:
                out.bias.copy_(_tensor(torch, module.bias.data))
        return out
    if isinstance(module, ReLU):
        return nn.ReLU()
    if isinstance(module, LeakyReLU):
        return nn.LeakyReLU(module.negative_slope)
    if isinstance(module, Sigmoid):
        return nn.Sigmoid()
    if isinstance(module, Tanh):
        return nn.Tanh()
    if isinstance(module, Softmax):
        return nn.Softmax(dim=-1)
    if isinstance(module, Dropout):
        return nn.Dropout(module.p)
    if isinstance(module, BatchNorm1d):
        out = nn.BatchNorm1d(module.num_features, eps=module.eps, momentum=module.momentum,
                             affine=module.affine, dtype=dtype)
        with torch.no_grad():
            if module.affine:
                out.weight.copy_(_tensor(torch, module.weight.data))
                out.bias.copy_(_tensor(torch, module.bias.data))
            out.running_mean.copy_(_tensor(torch, module.running_mean))
            out.running_var.copy_(_tensor(torch, module.running_var))
            out.num_batches_tracked.fill_(module.num_batches_tracked)
        return out
    if isinstance(module, Sequential):
        return nn.Sequential(*(_module_to_torch(m, torch, dtype) for m in module))
    raise TypeError(f"to_torch: no PyTorch equivalent known for {type(module).__name__}")


def to_torch(model: Module):
    """An equivalent ``torch.nn.Sequential`` with copies of the same weights.

    The dtype and the train/eval mode of every module are preserved. A single
    module is wrapped in a one-element ``Sequential``.
    """
    import torch

    if not isinstance(model, Module):
        raise TypeError(f"to_torch expects a scratch Module, got {type(model).__name__}")
    dtype = _torch_dtype(torch, model.dtype or np.float32)
    layers = model if isinstance(model, Sequential) else Sequential(model)
    out = _module_to_torch(layers, torch, dtype)
    out.training = model.training
    return out


def _module_from_torch(module, torch) -> Module:
    out = _convert_from_torch(module, torch)
    out.training = module.training
    return out


def _convert_from_torch(module, torch) -> Module:
    nn = torch.nn
    if isinstance(module, nn.Linear):
        dtype = module.weight.dtype
        out = Linear(module.in_features, module.out_features, bias=module.bias is not None,
                     dtype=np.float64 if dtype == torch.float64 else np.float32)
        out.weight.data[...] = module.weight.detach().cpu().numpy().T
        if module.bias is not None:
            out.bias.data[...] = module.bias.detach().cpu().numpy()
        return out
    if isinstance(module, nn.ReLU):
        return ReLU()
    if isinstance(module, nn.LeakyReLU):
        return LeakyReLU(module.negative_slope)
    if isinstance(module, nn.Sigmoid):
        return Sigmoid()
    if isinstance(module, nn.Tanh):
        return Tanh()
    if isinstance(module, nn.Softmax) and module.dim in (-1, 1, None):
        return Softmax()
    if isinstance(module, nn.Dropout):
        return Dropout(module.p)
    if isinstance(module, nn.BatchNorm1d):
        if module.momentum is None or not module.track_running_stats:
            raise TypeError("from_torch: BatchNorm1d needs a numeric momentum and running statistics")
        dtype = np.float64 if module.running_mean.dtype == torch.float64 else np.float32
        out = BatchNorm1d(module.num_features, eps=module.eps, momentum=module.momentum,
                          affine=module.affine, dtype=dtype)
        if module.affine:
            out.weight.data[...] = module.weight.detach().cpu().numpy()
            out.bias.data[...] = module.bias.detach().cpu().numpy()
        out.running_mean = module.running_mean.detach().cpu().numpy().copy()
        out.running_var = module.running_var.detach().cpu().numpy().copy()
        out.num_batches_tracked = int(module.num_batches_tracked)
        return out
    if isinstance(module, nn.Sequential):
        return Sequential(*(_module_from_torch(m, torch) for m in module))
    raise TypeError(f"from_torch: no scratch equivalent known for {type(module).__name__}")


def from_torch(torch_model: Any) -> Sequential:
    """A scratch :class:`Sequential` with copies of a PyTorch model's weights.

    Accepts ``nn.Sequential`` or a single supported layer; the dtype and every
    module's mode are preserved.
    """
    import torch

    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(f"from_torch expects a torch.nn.Module, got {type(torch_model).__name__}")
    out = _module_from_torch(torch_model, torch)
    if not isinstance(out, Sequential):
        out = Sequential(out)
    out.training = torch_model.training
    return out


def loss_to_torch(loss: Loss):
    """The ``torch.nn`` loss that computes the same quantity as a scratch loss."""
    import torch

    table = {
        MSELoss: torch.nn.MSELoss,
        BCELoss: torch.nn.BCELoss,
        BCEWithLogitsLoss: torch.nn.BCEWithLogitsLoss,
        CrossEntropyLoss: torch.nn.CrossEntropyLoss,
    }
    for scratch_type, torch_type in table.items():
        if type(loss) is scratch_type:
            return torch_type()
    raise TypeError(f"loss_to_torch: no PyTorch equivalent known for {type(loss).__name__}")
