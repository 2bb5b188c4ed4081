"""A small PyTorch training loop with history, for the chapters that use PyTorch.

``pick_device`` chooses where to compute, ``tensor_loader`` wraps arrays in a
seeded ``DataLoader``, ``train_one_epoch`` and ``evaluate`` are one pass each,
``fit`` repeats them (optionally with a learning-rate scheduler and early
stopping) and records a :class:`TrainHistory`, and ``predict`` returns a
model's outputs on the CPU. Chapter 9 writes the same loop by hand
first; these helpers are that loop, with checks that explain bad input.
"""

from __future__ import annotations

import copy
import math
import numbers
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from mlp_course._torch_checks import (
    _check_clip_norm,
    _check_dtype,
    _check_early_stopping,
    _check_iterable,
    _check_loss_fn,
    _check_metrics,
    _check_model,
    _check_optimizer,
    _check_scheduler,
    _check_scheduler_interval,
    _is_int,
)

__all__ = ["TrainHistory", "evaluate", "fit", "pick_device", "predict", "tensor_loader", "train_one_epoch"]

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


# -- devices ------------------------------------------------------------------------------------------------------


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _available_devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if _mps_available() else [])


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """The ``torch.device`` to compute on.

    ``"auto"`` (the default) picks ``cuda`` when an NVIDIA GPU is usable, else
    ``mps`` (Apple silicon) when usable, else ``cpu``. An explicit ``"cpu"``,
    ``"cuda"`` (or ``"cuda:1"``) or ``"mps"`` is returned as a device when it
    is available; otherwise a ``ValueError`` says which devices are.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"pick_device: device must be one of {DEVICE_NAMES} (a string) or a torch.device, "
                        f"got {type(device).__name__} {device!r}")
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind, _, index = name.partition(":")
    if kind not in DEVICE_NAMES[1:] or (index and not (kind == "cuda" and index.isdigit())):
        raise ValueError(f"pick_device: unknown device {device!r}; expected one of {DEVICE_NAMES} "
                         f"(or 'cuda:N' for the N-th GPU)")
    available = _available_devices()
    if kind not in available:
        raise ValueError(f"pick_device: device {device!r} is not available on this machine; "
                         f"available: {', '.join(available)} (or pass 'auto')")
    if index and int(index) >= torch.cuda.device_count():
        raise ValueError(f"pick_device: device {device!r} does not exist; this machine has "
                         f"{torch.cuda.device_count()} GPU(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return torch.device(name)


# -- data ---------------------------------------------------------------------------------------------------------


def _as_tensor(function: str, name: str, values: Any, dtype: torch.dtype | None) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        tensor = values.detach()
    elif isinstance(values, np.ndarray):
        if values.dtype == object:
            raise TypeError(f"{function}: {name} must be a numeric NumPy array or tensor, got an object array")
        tensor = torch.from_numpy(np.array(values))  # a copy: later edits of the array do not leak in
    else:
        raise TypeError(f"{function}: {name} must be a NumPy array or a torch.Tensor, got {type(values).__name__}")
    if tensor.ndim == 0:
        raise ValueError(f"{function}: {name} must have one row per example, got a 0-d value")
    return tensor if dtype is None else tensor.to(dtype)


def tensor_loader(
    X: Any,
    y: Any,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int | None = 0,
    *,
    dtype: torch.dtype = torch.float32,
    y_dtype: torch.dtype | None = None,
) -> DataLoader:
    """A ``DataLoader`` over ``TensorDataset(X, y)`` that yields ``(X_batch, y_batch)``.

    ``X`` and ``y`` are NumPy arrays or tensors with one row per example.
    ``X`` is converted to ``dtype`` (float32 by default); ``y`` keeps its
    type unless ``y_dtype`` is given (``torch.float32`` for the 0/1 targets
    of ``BCEWithLogitsLoss``). The last batch is smaller when ``batch_size``
    does not divide the number of examples. With ``shuffle=True`` the order
    is drawn from a ``torch.Generator`` seeded with ``seed``: a new order
    every epoch, the same sequence of orders for the same seed (``seed=None``
    draws from PyTorch's global generator instead).
    """
    _check_dtype("tensor_loader", "dtype", dtype, allow_none=False)
    _check_dtype("tensor_loader", "y_dtype", y_dtype, allow_none=True)
    X_t = _as_tensor("tensor_loader", "X", X, dtype)
    y_t = _as_tensor("tensor_loader", "y", y, y_dtype)
    if len(X_t) != len(y_t):
        raise ValueError(f"tensor_loader: X and y must have the same number of rows, got {len(X_t)} and {len(y_t)}")
    if len(X_t) == 0:
        raise ValueError("tensor_loader: X and y are empty; a loader needs at least one example")
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"tensor_loader: batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(shuffle, bool):
        raise TypeError(f"tensor_loader: shuffle must be True or False, got {shuffle!r}")
    if seed is not None and not _is_int(seed):
        raise TypeError(f"tensor_loader: seed must be an integer or None, got {seed!r}")
    generator = None
    if seed is not None:
        generator = torch.Generator()
        generator.manual_seed(int(seed))
    return DataLoader(TensorDataset(X_t, y_t), batch_size=int(batch_size), shuffle=shuffle, generator=generator)


# -- checks shared by the loops --------------------------------------------------------------------------------------


def _split_batch(function: str, name: str, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = f"a {type(batch).__name__}" + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        raise TypeError(f"{function}: each batch of {name} must be a pair (inputs, targets), got {got}")
    inputs, targets = batch
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(f"{function}: each batch of {name} must hold two tensors (inputs, targets), got "
                        f"({type(inputs).__name__}, {type(targets).__name__})")
    if inputs.ndim == 0 or targets.ndim == 0 or len(inputs) != len(targets):
        raise ValueError(f"{function}: a batch of {name} has inputs of shape {tuple(inputs.shape)} and targets of "
                         f"shape {tuple(targets.shape)}; they need the same number of rows")
    return inputs, targets


def _check_loss_value(function: str, loss: Any) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"{function}: loss_fn must return one number (a 0-d tensor) per batch, got {shape}")
    return loss


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _resolve_device(function: str, model: nn.Module, device: Any) -> torch.device:
    """``device=None``: where the model's parameters are; otherwise the model must be there already."""
    here = _model_device(model)
    if device is None:
        return here
    wanted = pick_device(device)
    if wanted.type != here.type or (wanted.index is not None and here.index is not None and wanted.index != here.index):
        raise ValueError(f"{function}: the model's parameters are on {here} but device={str(device)!r}; move the "
                         f"model first with model.to(device), before creating the optimizer")
    return here if wanted.index is None else wanted


def _record_modes(model: nn.Module) -> list[tuple[nn.Module, bool]]:
    return [(module, module.training) for module in model.modules()]


def _restore_modes(modes: list[tuple[nn.Module, bool]]) -> None:
    for module, training in modes:
        module.training = training


def _grad_norm(parameters: list[torch.Tensor]) -> torch.Tensor:
    """The global L2 norm of all gradients, as ``torch.nn.utils.clip_grad_norm_`` computes it."""
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, 2.0) for g in grads]), 2.0)


def _weight_norm(model: nn.Module) -> float:
    """The global L2 norm of all the model's parameters (every entry of every parameter once)."""
    # float64 on the CPU: exact for float64 models, and MPS has no float64.
    norms = [torch.linalg.vector_norm(p.detach(), 2.0).cpu().double() for p in model.parameters()]
    return float(torch.linalg.vector_norm(torch.stack(norms), 2.0)) if norms else 0.0


# -- one pass -----------------------------------------------------------------------------------------------------


def _train_epoch(function: str, model: nn.Module, loader: Iterable, loss_fn: Callable,
                 optimizer: torch.optim.Optimizer, device: torch.device,
                 clip_norm: float | None, after_step: Callable[[], Any] | None = None) -> tuple[float, float]:
    model.train()
    parameters = [p for p in model.parameters() if p.requires_grad]
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    total_norm = torch.zeros((), dtype=torch.float64, device=device)
    n_samples = n_steps = 0
    for batch in loader:
        inputs, targets = _split_batch(function, "the loader", batch)
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = _check_loss_value(function, loss_fn(model(inputs), targets))
        loss.backward()
        if clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(parameters, clip_norm)  # the norm before clipping
        else:
            norm = _grad_norm(parameters)
        optimizer.step()
        if after_step is not None:
            after_step()  # a scheduler stepped after every batch
        total_loss += loss.detach().to(torch.float64) * len(inputs)
        total_norm += norm.detach().to(device=device, dtype=torch.float64)
        n_samples += len(inputs)
        n_steps += 1
    if n_steps == 0:
        raise ValueError(f"{function}: the loader yielded no batches")
    return float(total_loss) / n_samples, float(total_norm) / n_steps


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    device: str | torch.device | None = None,
    clip_norm: float | None = None,
) -> tuple[float, float]:
    """One pass of training over ``loader``: ``(mean loss, mean gradient norm)``.

    The model is put in training mode; for each batch: ``optimizer.zero_grad()``,
    forward, loss, ``backward()``, optionally ``clip_grad_norm_(..., clip_norm)``,
    ``optimizer.step()``. The mean loss is over examples (each batch's mean loss
    weighted by its size, so a smaller last batch counts less); the gradient
    norm is the global L2 norm of all parameter gradients before clipping,
    averaged over the steps. ``device=None`` uses the device of the model's
    parameters; batches are moved there.
    """
    _check_model("train_one_epoch", model)
    _check_iterable("train_one_epoch", "loader", loader)
    _check_loss_fn("train_one_epoch", loss_fn)
    _check_optimizer("train_one_epoch", optimizer, model)
    clip_norm = _check_clip_norm("train_one_epoch", clip_norm)
    device = _resolve_device("train_one_epoch", model, device)
    return _train_epoch("train_one_epoch", model, loader, loss_fn, optimizer, device, clip_norm)


def _evaluate(function: str, model: nn.Module, loader: Iterable, loss_fn: Callable, device: torch.device,
              metrics: dict[str, Callable], name: str = "the loader") -> dict[str, float]:
    modes = _record_modes(model)
    model.eval()
    total_loss, n_samples = torch.zeros((), dtype=torch.float64, device=device), 0
    outputs, targets_seen = [], []
    try:
        with torch.no_grad():
            for batch in loader:
                inputs, targets = _split_batch(function, name, batch)
                inputs, targets = inputs.to(device), targets.to(device)
                output = model(inputs)
                loss = _check_loss_value(function, loss_fn(output, targets))
                total_loss += loss.to(torch.float64) * len(inputs)
                n_samples += len(inputs)
                if metrics:
                    outputs.append(output.cpu())
                    targets_seen.append(targets.cpu())
    finally:
        _restore_modes(modes)
    if n_samples == 0:
        raise ValueError(f"{function}: {name} yielded no batches")
    result = {"loss": float(total_loss) / n_samples}
    if metrics:
        all_outputs, all_targets = torch.cat(outputs), torch.cat(targets_seen)
        for metric_name, metric in metrics.items():
            result[metric_name] = _metric_value(function, metric_name, metric(all_outputs, all_targets))
    return result


def _metric_value(function: str, name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    if isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{function}: metric {name!r} must return one number, got {type(value).__name__}")


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    device: str | torch.device | None = None,
    metrics: Mapping[str, Callable] | None = None,
) -> dict[str, float]:
    """The mean loss over ``loader`` and each metric: ``{"loss": ..., name: ...}``.

    Runs in evaluation mode (dropout off, batch norm uses its running
    statistics) under ``torch.no_grad()``, and restores the mode each module
    had. The loss is each batch's mean weighted by its size. Each metric is
    called once as ``fn(outputs, targets)`` on all outputs and targets
    concatenated, as CPU tensors, and must return one number.
    """
    _check_model("evaluate", model)
    _check_iterable("evaluate", "loader", loader)
    _check_loss_fn("evaluate", loss_fn)
    metrics = _check_metrics("evaluate", metrics)
    device = _resolve_device("evaluate", model, device)
    return _evaluate("evaluate", model, loader, loss_fn, device, metrics)


# -- fit ----------------------------------------------------------------------------------------------------------


@dataclass
class TrainHistory:
    """Per-epoch records of :func:`fit`.

    ``loss`` and ``grad_norm``: the training loss and mean gradient norm of
    each epoch (measured during the epoch, as ``train_one_epoch`` returns
    them); ``val_loss``: the loss on the validation loader after each epoch
    (empty without one); ``metrics``: name -> one value per epoch, on the
    validation loader, or on the training loader when there is none
    (``metrics_on`` says which); ``seconds``: the duration of each epoch;
    ``lr``: the learning rate of the optimizer's first parameter group used in
    each epoch (read when the epoch starts: with ``scheduler_interval="step"``
    the lr of the epoch's first batch); ``weight_norm``: the global L2 norm of
    all parameters at the end of each epoch.

    ``best_epoch``: the epoch (1, 2, ...) with the lowest validation loss, the
    first one on a tie (``None`` without a validation loader); with early
    stopping the model holds the weights of that epoch. ``stopped_epoch``: the
    epoch after which early stopping ended training, ``None`` when all epochs
    ran.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    metrics_on: str = "validation"
    lr: list[float] = field(default_factory=list)
    weight_norm: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    @property
    def epochs(self) -> list[int]:
        """The epoch numbers 1, 2, ..., one per recorded epoch (for plotting)."""
        return list(range(1, len(self.loss) + 1))

    def as_dict(self) -> dict[str, list[float]]:
        """The curves as a dict of lists, for ``mlp_course.plotting.plot_history``:
        validation metrics under ``val_<name>``, training ones under ``<name>``."""
        prefix = "val_" if self.metrics_on == "validation" else ""
        out = {"loss": list(self.loss), "grad_norm": list(self.grad_norm), "val_loss": list(self.val_loss),
               "lr": list(self.lr), "weight_norm": list(self.weight_norm)}
        out.update({prefix + name: list(values) for name, values in self.metrics.items()})
        return out

    def __repr__(self) -> str:
        parts = [f"epochs={len(self.loss)}"]
        if self.loss:
            parts.append(f"loss={self.loss[-1]:.4f}")
        if self.val_loss:
            parts.append(f"val_loss={self.val_loss[-1]:.4f}")
        prefix = "val_" if self.metrics_on == "validation" else ""
        parts += [f"{prefix}{name}={values[-1]:.4f}" for name, values in self.metrics.items() if values]
        if self.stopped_epoch is not None:
            parts.append(f"stopped_epoch={self.stopped_epoch}")
        if self.best_epoch is not None:
            parts.append(f"best_epoch={self.best_epoch}")
        if self.seconds:
            parts.append(f"seconds={sum(self.seconds):.1f}")
        return "TrainHistory(" + ", ".join(parts) + ")"


def _notebook_display() -> Callable | None:
    """IPython's ``display`` when running in a Jupyter kernel, else ``None``."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    return display


class _Progress:
    """One line that updates in place and is removed at the end (a notebook keeps no trace of it)."""

    def __init__(self, enabled: bool, min_interval: float = 0.1):
        self.handle = None
        self.tty = False
        self.width = 0
        self.min_interval = min_interval
        self.last = -math.inf
        if not enabled:
            return
        display = _notebook_display()
        if display is not None:
            # Start empty: the stored output of the cell is then empty from start to end.
            self.handle = display({}, raw=True, display_id=True)
        else:
            isatty = getattr(sys.stderr, "isatty", None)
            self.tty = bool(isatty and isatty())

    def update(self, line: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.min_interval:
            return
        self.last = now
        if self.handle is not None:
            self.handle.update({"text/plain": line}, raw=True)
        elif self.tty:
            sys.stderr.write("\r" + line.ljust(self.width))
            sys.stderr.flush()
            self.width = max(self.width, len(line))

    def close(self) -> None:
        if self.handle is not None:
            self.handle.update({}, raw=True)
        elif self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _first_batch(function: str, name: str, loader: Any) -> Any:
    """The first batch of ``loader`` without disturbing it (a DataLoader's shuffling generator is not used)."""
    _check_iterable(function, name, loader)
    if isinstance(loader, DataLoader) and not isinstance(loader.dataset, IterableDataset):
        dataset = loader.dataset
        if len(dataset) == 0:
            raise ValueError(f"{function}: {name} is empty")
        size = min(loader.batch_size or 1, len(dataset))
        return loader.collate_fn([dataset[i] for i in range(size)])
    if iter(loader) is loader:
        raise TypeError(f"{function}: {name} is a one-shot iterator ({type(loader).__name__}), exhausted after one "
                        f"epoch; pass a DataLoader (e.g. from tensor_loader) or a list of (inputs, targets) batches")
    for batch in loader:
        return batch
    raise ValueError(f"{function}: {name} yielded no batches")


def _trial_run(function: str, name: str, model: nn.Module, loader: Any, loss_fn: Callable,
               device: torch.device, metrics: dict[str, Callable]) -> None:
    """Run the model, the loss and the metrics once on the first batch, changing nothing, so that bad input
    fails before any training (evaluation mode and no_grad: no parameter, buffer or random state moves)."""
    inputs, targets = _split_batch(function, name, _first_batch(function, name, loader))
    modes = _record_modes(model)
    model.eval()
    try:
        with torch.no_grad():
            try:
                output = model(inputs.to(device))
                loss = loss_fn(output, targets.to(device))
            except Exception as error:
                raise ValueError(f"{function}: the model or loss_fn failed on the first batch of {name} "
                                 f"(inputs {tuple(inputs.shape)} {inputs.dtype}, targets {tuple(targets.shape)} "
                                 f"{targets.dtype}): {type(error).__name__}: {error}") from error
            _check_loss_value(function, loss)
            for metric_name, metric in metrics.items():
                _metric_value(function, metric_name, metric(output.cpu(), targets.cpu()))
    finally:
        _restore_modes(modes)


def _evaluation_view(loader: Any) -> Any:
    """The same examples as ``loader`` in a fixed order, without touching its shuffling generator
    or PyTorch's global one (a DataLoader without a generator draws a seed from it on every pass)."""
    if isinstance(loader, DataLoader) and not isinstance(loader.dataset, IterableDataset):
        return DataLoader(loader.dataset, batch_size=loader.batch_size or 1, shuffle=False,
                          collate_fn=loader.collate_fn, generator=torch.Generator().manual_seed(0))
    return loader


def _progress_line(epoch: int, epochs: int, history: TrainHistory) -> str:
    line = f"epoch {epoch}/{epochs}  loss {history.loss[-1]:.4f}"
    if history.val_loss:
        line += f"  val loss {history.val_loss[-1]:.4f}"
    prefix = "val " if history.metrics_on == "validation" else ""
    for name, values in history.metrics.items():
        line += f"  {prefix}{name} {values[-1]:.4f}"
    return line


def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int = 20,
    val_loader: Iterable | None = None,
    device: str | torch.device | None = None,
    clip_norm: float | None = None,
    metrics: Mapping[str, Callable] | None = None,
    progress: bool = False,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    early_stopping: int | None = None,
) -> TrainHistory:
    """Train for ``epochs`` passes over ``train_loader``; returns a :class:`TrainHistory`.

    Each epoch is one :func:`train_one_epoch`, then (with ``val_loader``) one
    :func:`evaluate` on the validation loader. ``metrics`` (name ->
    ``fn(outputs, targets)``) are measured after each epoch on the validation
    loader, or on the training loader (in a fixed order, in evaluation mode)
    when there is none. ``device=None`` uses the device of the model's
    parameters; the model must already be on ``device`` when one is given.

    ``scheduler``: a ``torch.optim.lr_scheduler`` scheduler created for
    ``optimizer``, stepped once after each epoch (``scheduler_interval="epoch"``,
    the default) or after every batch (``"step"``, e.g. for ``OneCycleLR``);
    ``history.lr`` records the lr of group 0 in each epoch. A
    ``ReduceLROnPlateau`` is stepped after each epoch with the validation loss
    (it needs ``val_loader``).

    ``early_stopping=k`` (the patience, a positive integer; needs
    ``val_loader``): training stops after the epoch at which the validation
    loss has not gone below its lowest value for ``k`` epochs, and the model
    is then given back the ``state_dict`` (parameters and buffers, such as
    batch norm's running statistics) it had after its best epoch, copied at the
    time. The optimizer's and the scheduler's state are not rewound.
    ``history.best_epoch`` and ``history.stopped_epoch`` say what happened.

    Before training starts, the arguments are checked and the model, the loss
    and the metrics are run once on the first batch of each loader (in
    evaluation mode, without gradients: nothing changes), so bad input fails
    with a clear message before any parameter moves.

    ``progress=True`` shows one line (epoch, loss, validation loss) that is
    updated in place and removed when training ends: in a notebook nothing of
    it remains in the cell's output; in a terminal it is drawn on stderr when
    stderr is a terminal, otherwise nothing is printed.
    """
    _check_model("fit", model)
    _check_loss_fn("fit", loss_fn)
    _check_optimizer("fit", optimizer, model)
    if not _is_int(epochs) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
    clip_norm = _check_clip_norm("fit", clip_norm)
    metrics = _check_metrics("fit", metrics)
    if not isinstance(progress, bool):
        raise TypeError(f"fit: progress must be True or False, got {progress!r}")
    scheduler_interval = _check_scheduler_interval("fit", scheduler_interval)
    plateau = _check_scheduler("fit", scheduler, optimizer, scheduler_interval, val_loader, int(epochs), train_loader)
    early_stopping = _check_early_stopping("fit", early_stopping, val_loader)
    device = _resolve_device("fit", model, device)
    _trial_run("fit", "train_loader", model, train_loader, loss_fn, device, {} if val_loader is not None else metrics)
    if val_loader is not None:
        _trial_run("fit", "val_loader", model, val_loader, loss_fn, device, metrics)

    history = TrainHistory(metrics={name: [] for name in metrics},
                           metrics_on="validation" if val_loader is not None else "training")
    metrics_loader = val_loader if val_loader is not None else (_evaluation_view(train_loader) if metrics else None)
    after_step = scheduler.step if scheduler is not None and scheduler_interval == "step" else None
    best_loss, best_state = math.inf, None
    bar = _Progress(progress)
    try:
        for epoch in range(1, int(epochs) + 1):
            start = time.perf_counter()
            history.lr.append(float(optimizer.param_groups[0]["lr"]))
            loss, norm = _train_epoch("fit", model, train_loader, loss_fn, optimizer, device, clip_norm, after_step)
            history.loss.append(loss)
            history.grad_norm.append(norm)
            history.weight_norm.append(_weight_norm(model))
            if metrics_loader is not None:
                name = "val_loader" if val_loader is not None else "train_loader"
                result = _evaluate("fit", model, metrics_loader, loss_fn, device, metrics, name)
                if val_loader is not None:
                    history.val_loss.append(result["loss"])
                for metric_name in metrics:
                    history.metrics[metric_name].append(result[metric_name])
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(history.val_loss[-1])
                else:
                    scheduler.step()
            if val_loader is not None and history.val_loss[-1] < best_loss:  # NaN never counts as better
                best_loss, history.best_epoch = history.val_loss[-1], epoch
                if early_stopping is not None:
                    best_state = copy.deepcopy(model.state_dict())  # a copy: training goes on changing the model
            waited = epoch - (history.best_epoch or 0)  # epochs since the best one
            stop = early_stopping is not None and waited >= early_stopping and epoch < epochs
            if stop:
                history.stopped_epoch = epoch
            history.seconds.append(time.perf_counter() - start)
            bar.update(_progress_line(epoch, int(epochs), history), force=epoch == epochs or stop)
            if stop:
                break
    finally:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


# -- predict ------------------------------------------------------------------------------------------------------


def _model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def predict(model: nn.Module, X: Any, device: str | torch.device | None = None) -> torch.Tensor:
    """The model's outputs for ``X`` as a CPU tensor, in evaluation mode and without gradients.

    ``X`` is a NumPy array or a tensor (floating NumPy arrays take the model's
    dtype), or a loader whose batches are ``(inputs, targets)`` pairs or bare
    input tensors (outputs concatenated in the loader's order). The mode of
    each module is restored afterwards.
    """
    _check_model("predict", model)
    device = _resolve_device("predict", model, device)
    if isinstance(X, np.ndarray):
        if not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"predict: X must be a numeric array, got dtype {X.dtype}")
        tensor = torch.from_numpy(np.array(X))
        batches: Iterable = [tensor.to(_model_dtype(model)) if tensor.is_floating_point() else tensor]
    elif isinstance(X, torch.Tensor):
        batches = [X.detach()]
    else:
        _check_iterable("predict", "X", X)
        batches = X
    modes = _record_modes(model)
    model.eval()
    outputs = []
    try:
        with torch.no_grad():
            for batch in batches:
                if isinstance(batch, (tuple, list)) and len(batch) >= 1:
                    batch = batch[0]
                if not isinstance(batch, torch.Tensor):
                    raise TypeError(f"predict: each batch must be a tensor or an (inputs, targets) pair, "
                                    f"got {type(batch).__name__}")
                outputs.append(model(batch.to(device)).cpu())
    finally:
        _restore_modes(modes)
    if not outputs:
        raise ValueError("predict: X yielded no batches")
    return torch.cat(outputs)
