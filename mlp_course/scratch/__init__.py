"""A from-scratch neural-network library in NumPy whose names mirror PyTorch.

>>> from mlp_course import scratch
>>> model = scratch.Sequential(scratch.Linear(4, 8), scratch.ReLU(), scratch.Linear(8, 3))

Every module has ``forward`` (also ``__call__``) and ``backward(grad_output)``,
which returns the gradient with respect to the module's input and *adds* the
parameter gradients to ``p.grad``. Arrays are ``(batch, features)``; a layer
computes ``X @ W + b`` with ``W`` of shape ``(in_features, out_features)``.
``save(model, "model.npz")`` and ``model.load_state_dict(load("model.npz"))``
store and restore the weights with NumPy alone.
"""

from mlp_course.scratch import functional, init, lr_scheduler
from mlp_course.scratch.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from mlp_course.scratch.builders import mlp
from mlp_course.scratch.convert import from_torch, loss_to_torch, to_torch
from mlp_course.scratch.layers import Linear
from mlp_course.scratch.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from mlp_course.scratch.module import Module, Parameter, Sequential
from mlp_course.scratch.optim import (
    SGD,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    clip_grad_norm_,
    clip_grad_value_,
    grad_norm,
    param_groups_without_decay,
)
from mlp_course.scratch.regularization import BatchNorm1d, Dropout
from mlp_course.scratch.serialization import load, save

__all__ = [
    "Module", "Parameter", "Sequential", "Linear",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Dropout", "BatchNorm1d",
    "Loss", "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW",
    "clip_grad_norm_", "clip_grad_value_", "grad_norm", "param_groups_without_decay", "lr_scheduler",
    "to_torch", "from_torch", "loss_to_torch", "mlp", "functional", "init", "save", "load",
]
