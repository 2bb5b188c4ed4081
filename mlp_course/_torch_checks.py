"""The argument checks of :mod:`mlp_course.torch_training`: each raises a clear error
saying what was expected and what was given, before anything is trained.

Private to the package: ``torch_training`` imports these names and is the public API.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import lr_scheduler

# torch >= 2.0 names the base class LRScheduler (before: _LRScheduler); ReduceLROnPlateau derives from it
# only since torch 2.2, so both are named.
_LR_SCHEDULER = getattr(lr_scheduler, "LRScheduler", None) or lr_scheduler._LRScheduler
SCHEDULER_TYPES = (_LR_SCHEDULER, lr_scheduler.ReduceLROnPlateau)
SCHEDULER_INTERVALS = ("epoch", "step")

def _check_dtype(function: str, name: str, dtype: Any, allow_none: bool) -> None:
    if dtype is None and allow_none:
        return
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{function}: {name} must be a torch dtype such as torch.float32"
                        f"{' or None' if allow_none else ''}, got {dtype!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_model(function: str, model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{function}: model must be a torch.nn.Module, got {type(model).__name__}")


def _check_loss_fn(function: str, loss_fn: Any) -> None:
    if not callable(loss_fn):
        raise TypeError(f"{function}: loss_fn must be callable, e.g. nn.CrossEntropyLoss(), "
                        f"got {type(loss_fn).__name__}")
    if getattr(loss_fn, "reduction", "mean") != "mean":
        raise ValueError(f"{function}: loss_fn must average over the batch (reduction='mean'), "
                         f"got reduction={loss_fn.reduction!r}")


def _check_optimizer(function: str, optimizer: Any, model: nn.Module) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{function}: optimizer must be a torch.optim.Optimizer, e.g. "
                        f"torch.optim.SGD(model.parameters(), lr=0.1), got {type(optimizer).__name__}")
    model_ids = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    if model_ids and not any(id(p) in model_ids for p in held):
        raise ValueError(f"{function}: the optimizer holds none of the model's parameters; was it created "
                         f"for another model? Create it with optimizer(model.parameters(), ...)")


def _check_clip_norm(function: str, clip_norm: Any) -> float | None:
    if clip_norm is None:
        return None
    if (isinstance(clip_norm, bool) or not isinstance(clip_norm, numbers.Real)
            or not math.isfinite(clip_norm) or clip_norm <= 0):
        raise ValueError(f"{function}: clip_norm must be None or a positive number, got {clip_norm!r}")
    return float(clip_norm)


def _check_metrics(function: str, metrics: Any) -> dict[str, Callable]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(f"{function}: metrics must be None or a dict name -> function(outputs, targets), "
                        f"got {type(metrics).__name__}")
    for name, metric in metrics.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"{function}: metric names must be non-empty strings, got {name!r}")
        if name == "loss":
            raise ValueError(f"{function}: 'loss' is always recorded; give the metric another name")
        if not callable(metric):
            raise TypeError(f"{function}: metric {name!r} must be a function(outputs, targets), "
                            f"got {type(metric).__name__}")
    return dict(metrics)


def _check_iterable(function: str, name: str, loader: Any) -> None:
    if isinstance(loader, (torch.Tensor, np.ndarray, str, bytes)) or not isinstance(loader, Iterable):
        raise TypeError(f"{function}: {name} must be a DataLoader (e.g. from tensor_loader) or another iterable "
                        f"of (inputs, targets) batches, got {type(loader).__name__}")


def _check_scheduler_interval(function: str, interval: Any) -> str:
    if not isinstance(interval, str) or interval not in SCHEDULER_INTERVALS:
        raise ValueError(f"{function}: scheduler_interval must be 'epoch' (step the scheduler after each epoch) or "
                         f"'step' (after each batch, e.g. for OneCycleLR), got {interval!r}")
    return interval


def _plateau_hint(function: str) -> str:
    return (f"or leave it out of {function} and step it yourself, once per epoch: for epoch in range(epochs): "
            f"train_one_epoch(model, train_loader, loss_fn, optimizer); "
            f"scheduler.step(evaluate(model, val_loader, loss_fn)['loss'])")


def _check_scheduler(function: str, scheduler: Any, optimizer: torch.optim.Optimizer, interval: str,
                     val_loader: Any, epochs: int, train_loader: Any) -> bool:
    """Check ``scheduler``; ``True`` when it is a ``ReduceLROnPlateau`` (stepped with the validation loss)."""
    if scheduler is None:
        return False
    example = "torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)"
    if isinstance(scheduler, type):
        raise TypeError(f"{function}: scheduler must be a scheduler object, e.g. {example}, "
                        f"got the class {scheduler.__name__} itself")
    if not isinstance(scheduler, SCHEDULER_TYPES):
        scratch = type(scheduler).__module__.startswith("mlp_course")
        raise TypeError(f"{function}: scheduler must be a torch.optim.lr_scheduler scheduler, e.g. {example}, "
                        f"got {type(scheduler).__name__}"
                        + (" (mlp_course.scratch.lr_scheduler is for the scratch optimisers and "
                           "mlp_course.training.fit)" if scratch else ""))
    if getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError(f"{function}: the scheduler is bound to another optimizer than the one passed to "
                         f"{function}; create it with that optimizer: {type(scheduler).__name__}(optimizer, ...)")
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        if interval != "epoch":
            raise ValueError(f"{function}: ReduceLROnPlateau is stepped with the validation loss, once per epoch; "
                             f"use scheduler_interval='epoch' with a val_loader, " + _plateau_hint(function))
        if val_loader is None:
            raise ValueError(f"{function}: ReduceLROnPlateau is stepped with the validation loss, so it needs "
                             f"val_loader; pass one, " + _plateau_hint(function))
        return True
    total = getattr(scheduler, "total_steps", None)
    if isinstance(scheduler, lr_scheduler.OneCycleLR) and _is_int(total):
        per_epoch = 1 if interval == "epoch" else _length(train_loader)
        if per_epoch is not None and scheduler.last_epoch + epochs * per_epoch > total:
            steps = (f"{epochs} epochs" if interval == "epoch"
                     else f"{epochs} epochs x {per_epoch} batches = {epochs * per_epoch}")
            raise ValueError(f"{function}: the OneCycleLR has total_steps={total} and has already taken "
                             f"{scheduler.last_epoch} steps, but {function} would step it {epochs * per_epoch} more "
                             f"times ({steps}, scheduler_interval={interval!r}); create it with "
                             + ("total_steps=epochs (or pass scheduler_interval='step' to step it after every batch)"
                                if interval == "epoch" else "epochs=epochs, steps_per_epoch=len(train_loader)"))
    return False


def _length(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _check_early_stopping(function: str, early_stopping: Any, val_loader: Any) -> int | None:
    if early_stopping is None:
        return None
    if not _is_int(early_stopping) or early_stopping < 1:
        raise ValueError(f"{function}: early_stopping must be None or a positive integer (the patience: how many "
                         f"epochs without a lower validation loss to wait), got {early_stopping!r}")
    if val_loader is None:
        raise ValueError(f"{function}: early_stopping={early_stopping} watches the validation loss, so it needs "
                         f"val_loader; pass one (e.g. tensor_loader(X_val, y_val, shuffle=False))")
    return int(early_stopping)
