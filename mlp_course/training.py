"""A small, friendly training loop for scratch models.

``fit`` does mini-batch training with shuffling, an optional validation split,
optional gradient clipping, an optional learning-rate scheduler and early
stopping, and records per-epoch curves in a :class:`History`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from mlp_course.scratch import (
    SGD,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Loss,
    Module,
    MSELoss,
    Optimizer,
    Parameter,
    clip_grad_norm_,
    grad_norm,
)
from mlp_course.scratch._validation import check_number, check_positive_int, describe
from mlp_course.scratch.lr_scheduler import LRScheduler, OneCycleLR
from mlp_course.scratch.module import call_backward
from mlp_course.scratch.regularization import BatchNorm1d
from mlp_course.seed import get_rng


@dataclass
class History:
    """Per-epoch curves recorded by :func:`fit` (validation lists stay empty
    without validation data; accuracy lists stay empty for regression).

    ``lr``: the learning rate of the optimizer's first parameter group used in
    each epoch (read when the epoch starts). ``best_epoch``: the epoch (1, 2,
    ...) with the lowest validation loss, the first one on a tie (``None``
    without validation data); with early stopping the model holds the weights
    of that epoch. ``stopped_epoch``: the epoch after which early stopping
    ended training, ``None`` when all epochs ran.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    weight_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    @property
    def epochs(self) -> list[int]:
        return list(range(1, len(self.loss) + 1))

    def __repr__(self) -> str:
        parts = [f"epochs={len(self.loss)}"]
        for name in ("loss", "val_loss", "accuracy", "val_accuracy"):
            values = getattr(self, name)
            if values:
                parts.append(f"{name}={values[-1]:.4f}")
        if self.stopped_epoch is not None:  # early stopping ended the run
            parts += [f"stopped_epoch={self.stopped_epoch}", f"best_epoch={self.best_epoch}"]
        return "History(" + ", ".join(parts) + ")"


def accuracy(loss_fn: Loss, output: np.ndarray, y: np.ndarray) -> float | None:
    """Fraction of correct predictions for a classification loss (``None`` for MSE).

    Cross-entropy: arg-max of the logits. BCE: probability >= 0.5. BCE with
    logits: logit >= 0.
    """
    if isinstance(loss_fn, CrossEntropyLoss):
        return float(np.mean(np.argmax(output, axis=1) == y))
    if isinstance(loss_fn, BCELoss):
        return float(np.mean((output >= 0.5) == (y >= 0.5)))
    if isinstance(loss_fn, BCEWithLogitsLoss):
        return float(np.mean((output >= 0) == (y >= 0.5)))
    return None


def train_val_split(
    X: np.ndarray, y: np.ndarray, validation_split: float, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle once, then hold out the last ``validation_split`` fraction."""
    check_number("train_val_split", "validation_split", validation_split, low=0.0, high=1.0, high_open=True)
    _check_pair("train_val_split", X, y)
    rng = get_rng() if rng is None else rng
    n_val = int(round(len(X) * validation_split))
    if validation_split > 0 and (n_val == 0 or n_val == len(X)):
        raise ValueError(
            f"train_val_split: validation_split={validation_split} of {len(X)} samples leaves "
            f"{n_val} for validation and {len(X) - n_val} for training; both need at least one"
        )
    order = rng.permutation(len(X))
    train, val = order[: len(X) - n_val], order[len(X) - n_val:]
    return X[train], y[train], X[val], y[val]


def minibatches(
    X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_batch, y_batch)`` covering every sample once; the last batch may be smaller."""
    batch_size = check_positive_int("minibatches", "batch_size", batch_size)
    _check_pair("minibatches", X, y)
    order = (get_rng() if rng is None else rng).permutation(len(X)) if shuffle else None
    for start in range(0, len(X), batch_size):
        if order is None:
            yield X[start:start + batch_size], y[start:start + batch_size]
        else:
            # Each batch's rows gathered when it is needed, not a shuffled copy
            # of all of X up front: the same batches, and each stays in cache.
            rows = order[start:start + batch_size]
            yield X[rows], y[rows]


def _check_pair(owner: str, X, y) -> None:
    for name, value in (("X", X), ("y", y)):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{owner}: {name} must be a NumPy array, got {describe(value)}")
    if X.ndim != 2:
        raise ValueError(f"{owner}: X must be 2-D (samples, features), got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{owner}: X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{owner}: X is empty")


def _weight_norm(model: Module) -> float:
    return float(np.sqrt(sum(float(np.sum(p.data.astype(np.float64) ** 2)) for p in model.parameters())))


def evaluate(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
    """Loss and accuracy on ``(X, y)`` in evaluation mode (the mode is restored after)."""
    was_training = model.training
    model.eval()
    try:
        output = model(X)
        return loss_fn(output, y), accuracy(loss_fn, output, y)
    finally:
        model.train(was_training)


def fit(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss_fn: Loss | None = None,
    optimizer: Optimizer | None = None,
    *,
    lr: float = 0.1,
    epochs: int = 100,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    clip_norm: float | None = None,
    rng: np.random.Generator | None = None,
    verbose: int = 0,
    scheduler: LRScheduler | None = None,
    early_stopping: int | None = None,
    scheduler_interval: str = "epoch",
) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batches and return its :class:`History`.

    * ``loss_fn`` defaults to :class:`MSELoss`; ``optimizer`` to ``SGD(lr=lr)``.
    * ``X`` is cast to the model's dtype; labels for cross-entropy stay integers.
    * ``validation_split`` holds out a random fraction of ``(X, y)``;
      ``validation_data=(X_val, y_val)`` passes a set explicitly instead.
    * ``clip_norm`` clips the global gradient norm before every step.
    * ``verbose=k`` prints one line every ``k`` epochs (and after the last).
    * ``scheduler``: a scheduler of :mod:`mlp_course.scratch.lr_scheduler` built on
      ``optimizer``, stepped once after each epoch's updates (or after every
      batch with ``scheduler_interval="step"``, e.g. for ``OneCycleLR``);
      ``history.lr`` records the lr of group 0 in each epoch.
    * ``early_stopping=k`` (the patience; needs validation data): training stops
      after the epoch at which the validation loss has not gone below its lowest
      value for ``k`` epochs, and the model gets back the parameters and the
      batch-norm running statistics it had after its best epoch
      (``history.best_epoch``). The optimizer and the scheduler are not rewound.

    Every argument is checked before the model is touched.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a scratch Module, got {describe(model)}")
    loss_fn = MSELoss() if loss_fn is None else loss_fn
    if not isinstance(loss_fn, Loss):
        raise TypeError(f"fit: loss_fn must be a scratch Loss, got {describe(loss_fn)}")
    epochs = check_positive_int("fit", "epochs", epochs)
    batch_size = check_positive_int("fit", "batch_size", batch_size)
    if clip_norm is not None:
        check_number("fit", "clip_norm", clip_norm, low=0.0, low_open=True)
    if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral) or verbose < 0:
        raise ValueError(f"fit: verbose must be a non-negative integer, got {verbose!r}")
    if validation_data is not None and validation_split:
        raise ValueError("fit: pass either validation_split or validation_data, not both")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' (step the scheduler after each epoch) or "
                         f"'step' (after each batch, e.g. for OneCycleLR), got {scheduler_interval!r}")
    if early_stopping is not None:
        if isinstance(early_stopping, bool) or not isinstance(early_stopping, numbers.Integral) or early_stopping < 1:
            raise ValueError(f"fit: early_stopping must be None or a positive integer (the patience: how many "
                             f"epochs without a lower validation loss to wait), got {early_stopping!r}")
        if validation_data is None and not validation_split:
            raise ValueError(f"fit: early_stopping={early_stopping} watches the validation loss, so it needs "
                             f"validation data; pass validation_split=0.2 or validation_data=(X_val, y_val)")
    _check_pair("fit", X, y)
    rng = get_rng() if rng is None else rng
    X_train, y_train, X_val, y_val = _prepare_data(model, loss_fn, X, y, validation_split, validation_data, rng)
    _check_before_training(model, loss_fn, X_train, y_train, X_val, y_val, batch_size)
    if scheduler is not None and optimizer is None:
        raise ValueError("fit: a scheduler needs the optimizer it was built on; pass it too: "
                         "fit(model, X, y, loss_fn, optimizer, scheduler=scheduler)")
    optimizer = SGD(model.parameters(), lr=lr) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: optimizer must be a scratch Optimizer, got {describe(optimizer)}")
    steps_per_epoch = -(-len(X_train) // batch_size)
    _check_scheduler(scheduler, optimizer, epochs * (steps_per_epoch if scheduler_interval == "step" else 1))

    history = History()
    after_step = scheduler.step if scheduler is not None and scheduler_interval == "step" else None
    best_loss, best_state = np.inf, None
    model.train()
    for epoch in range(1, epochs + 1):
        history.lr.append(float(optimizer.param_groups[0]["lr"]))
        _train_one_epoch(model, loss_fn, optimizer, X_train, y_train, batch_size, shuffle, clip_norm, rng, history,
                         after_step)
        if X_val is not None:
            val_loss, val_accuracy = evaluate(model, loss_fn, X_val, y_val)
            history.val_loss.append(val_loss)
            if val_accuracy is not None:
                history.val_accuracy.append(val_accuracy)
            if val_loss < best_loss:  # NaN never counts as better
                best_loss, history.best_epoch = val_loss, epoch
                if early_stopping is not None:
                    best_state = _model_state(model)  # copies: training goes on changing the model
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        if verbose and (epoch % verbose == 0 or epoch == epochs):
            print(_progress_line(history, epoch, epochs))
        waited = epoch - (history.best_epoch or 0)  # epochs since the best one
        if early_stopping is not None and waited >= early_stopping and epoch < epochs:
            history.stopped_epoch = epoch
            if verbose:
                print(f"early stopping after epoch {epoch}: the best validation loss was at epoch {history.best_epoch}")
            break
    if best_state is not None:
        _restore_model_state(best_state)
    return history


def _check_scheduler(scheduler, optimizer: Optimizer, n_steps: int) -> None:
    """A scratch scheduler of this optimizer, with enough steps left (OneCycleLR)."""
    if scheduler is None:
        return
    if not isinstance(scheduler, LRScheduler):
        hint = (" (a torch.optim.lr_scheduler scheduler goes with mlp_course.torch_training.fit)"
                if type(scheduler).__module__.startswith("torch") else "")
        raise TypeError(f"fit: scheduler must be a scheduler of mlp_course.scratch.lr_scheduler, e.g. "
                        f"lr_scheduler.StepLR(optimizer, step_size=10), got {describe(scheduler)}{hint}")
    if scheduler.optimizer is not optimizer:
        raise ValueError(f"fit: the scheduler is bound to another optimizer than the one passed to fit; "
                         f"create it with that optimizer: {type(scheduler).__name__}(optimizer, ...)")
    if isinstance(scheduler, OneCycleLR) and scheduler.last_epoch + n_steps > scheduler.total_steps:
        raise ValueError(f"fit: this run steps the scheduler {n_steps} times, but the OneCycleLR has "
                         f"{scheduler.total_steps - scheduler.last_epoch} steps left (total_steps="
                         f"{scheduler.total_steps}); build it with total_steps={n_steps}")


def _model_state(model: Module) -> list[tuple[object, str, object]]:
    """Copies of every parameter and buffer (batch-norm running statistics and count)."""
    state = []
    for module in model.modules():
        for key, value in vars(module).items():
            if isinstance(value, Parameter):
                state.append((value, "data", value.data.copy()))
            elif key in getattr(module, "_buffers", ()) or key == "num_batches_tracked":
                state.append((module, key, np.copy(value) if isinstance(value, np.ndarray) else value))
    return state


def _restore_model_state(state: list[tuple[object, str, object]]) -> None:
    for owner, key, value in state:
        if isinstance(owner, Parameter):
            owner.data[...] = value  # in place: the optimizer holds these same Parameters
        else:
            setattr(owner, key, value)


def _prepare_data(model, loss_fn, X, y, validation_split, validation_data, rng):
    """Cast to the model's dtype (labels for cross-entropy stay integers) and split."""
    dtype = model.dtype or np.float32
    keep_labels = isinstance(loss_fn, CrossEntropyLoss)
    X = X.astype(dtype, copy=False)
    y = y if keep_labels else y.astype(dtype, copy=False)
    if validation_data is not None:
        X_val, y_val = validation_data
        _check_pair("fit (validation_data)", X_val, y_val)
        X_val = X_val.astype(dtype, copy=False)
        y_val = y_val if keep_labels else y_val.astype(dtype, copy=False)
        return X, y, X_val, y_val
    if validation_split:
        return train_val_split(X, y, validation_split, rng)
    return X, y, None, None


def _check_before_training(model, loss_fn, X_train, y_train, X_val, y_val, batch_size) -> None:
    """Raise now, before any update, for anything that would fail during training."""
    # A forward pass on two samples catches shape and dtype errors, and the loss
    # of a dummy prediction of the same shape (0.5 suits every loss) checks every
    # target: for the training and the validation data.
    was_training = model.training
    model.eval()
    try:
        for X_part, y_part in [(X_train, y_train)] + ([] if X_val is None else [(X_val, y_val)]):
            output = model(X_part[:2])
            loss_fn(output, y_part[:2])
            loss_fn(np.full((len(y_part), *output.shape[1:]), 0.5, dtype=output.dtype), y_part)
    finally:
        model.train(was_training)
    if any(isinstance(m, BatchNorm1d) for m in model.modules()) and (
        batch_size == 1 or len(X_train) % batch_size == 1
    ):
        raise ValueError(
            f"fit: BatchNorm1d needs at least 2 samples in every training batch, but "
            f"{len(X_train)} training samples in batches of {batch_size} leave a batch of 1; "
            f"choose another batch_size"
        )


def _train_one_epoch(model, loss_fn, optimizer, X_train, y_train, batch_size, shuffle, clip_norm, rng,
                     history: History, after_step=None) -> None:
    """One pass over the training data in mini-batches; appends the epoch's metrics to ``history``."""
    parameters = list(model.parameters())
    total_loss, total_correct, norms = 0.0, 0.0, []
    for X_batch, y_batch in minibatches(X_train, y_train, batch_size, shuffle, rng):
        output = model(X_batch)
        batch_loss = loss_fn(output, y_batch)
        model.zero_grad()
        call_backward(model, loss_fn.backward(), input_grad=False)
        norms.append(clip_grad_norm_(parameters, clip_norm) if clip_norm else grad_norm(parameters))
        optimizer.step()
        if after_step is not None:
            after_step()
        total_loss += batch_loss * len(X_batch)
        batch_accuracy = accuracy(loss_fn, output, y_batch)
        if batch_accuracy is not None:
            total_correct += batch_accuracy * len(X_batch)
    history.loss.append(total_loss / len(X_train))
    if accuracy(loss_fn, output, y_batch) is not None:
        history.accuracy.append(total_correct / len(X_train))
    history.grad_norm.append(float(np.mean(norms)))
    history.weight_norm.append(_weight_norm(model))


def _progress_line(history: History, epoch: int, epochs: int) -> str:
    width = len(str(epochs))
    parts = [f"epoch {epoch:>{width}}/{epochs}", f"loss {history.loss[-1]:.4f}"]
    if history.accuracy:
        parts.append(f"acc {history.accuracy[-1]:.3f}")
    if history.val_loss:
        parts.append(f"val_loss {history.val_loss[-1]:.4f}")
    if history.val_accuracy:
        parts.append(f"val_acc {history.val_accuracy[-1]:.3f}")
    return " | ".join(parts)
