"""Finding the activation and weight layers of a scratch or PyTorch model, and
their names: ``"<position> <type>"``, e.g. ``"1 Tanh"`` or ``"4.1 ReLU"`` in a
nested ``Sequential`` (the dotted path of ``named_modules``, as in PyTorch).

A scratch model and ``scratch.to_torch(model)`` give the same names, so the
numbers of the two can be compared layer by layer.

PyTorch is imported only when it is already loaded (a torch model exists),
so the scratch side works without it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from mlp_course.scratch.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from mlp_course.scratch.layers import Linear
from mlp_course.scratch.module import Module

#: Activation kinds, by the type names both libraries use.
ACTIVATION_KINDS = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")
_SCRATCH_ACTIVATIONS = {ReLU: "ReLU", LeakyReLU: "LeakyReLU", Sigmoid: "Sigmoid", Tanh: "Tanh"}


@dataclass(frozen=True)
class Layer:
    """A layer found in a model: its ``name``, its ``kind`` (``"ReLU"``, ...,
    ``"Linear"``) and the module itself."""

    name: str
    kind: str
    module: Any


def _torch():
    return sys.modules.get("torch")


def is_torch_model(model: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(model, torch.nn.Module)


def check_model(function: str, model: Any) -> bool:
    """``True`` for a torch model, ``False`` for a scratch one; ``TypeError`` otherwise."""
    if isinstance(model, Module):
        return False
    if is_torch_model(model):
        return True
    raise TypeError(
        f"{function}: model must be a scratch Module (e.g. scratch.Sequential) or a torch.nn.Module, "
        f"got {type(model).__name__}"
    )


def _scratch_named_modules(
    module: Module, prefix: str = "", seen: set[int] | None = None
) -> Iterator[tuple[str, Module]]:
    seen = set() if seen is None else seen
    if id(module) in seen:
        return
    seen.add(id(module))
    yield prefix, module
    for name, child in module.named_children():
        yield from _scratch_named_modules(child, f"{prefix}.{name}" if prefix else name, seen)


def named_modules(model: Any) -> Iterator[tuple[str, Any]]:
    """``(path, module)`` for the model and every sub-module, each once, as
    ``torch.nn.Module.named_modules`` (the model itself has the path ``""``)."""
    if isinstance(model, Module):
        yield from _scratch_named_modules(model)
    else:
        yield from model.named_modules()


def _kind(module: Any) -> str | None:
    if isinstance(module, Module):
        if isinstance(module, Linear):
            return "Linear"
        for cls, kind in _SCRATCH_ACTIVATIONS.items():
            if isinstance(module, cls):
                return kind
        return None
    torch = _torch()
    if torch is None:
        return None
    nn = torch.nn
    for cls, kind in ((nn.Linear, "Linear"), (nn.LeakyReLU, "LeakyReLU"), (nn.ReLU, "ReLU"),
                      (nn.Sigmoid, "Sigmoid"), (nn.Tanh, "Tanh")):
        if isinstance(module, cls):
            return kind
    return None


def _layers(model: Any, kinds: tuple[str, ...]) -> list[Layer]:
    found = []
    for path, module in named_modules(model):
        kind = _kind(module)
        if kind in kinds:
            found.append(Layer(f"{path} {kind}" if path else kind, kind, module))
    return found


def activation_layers(model: Any) -> list[Layer]:
    """The ReLU, LeakyReLU, Sigmoid and Tanh layers, in module order."""
    check_model("activation_layers", model)
    return _layers(model, ACTIVATION_KINDS)


def weight_layers(model: Any) -> list[Layer]:
    """The Linear layers, in module order."""
    check_model("weight_layers", model)
    return _layers(model, ("Linear",))


def layer_names(model: Any) -> list[str]:
    """Names of the activation layers, e.g. ``["1 Tanh", "3 Tanh"]``: the
    position in the ``Sequential`` and the type."""
    check_model("layer_names", model)
    return [layer.name for layer in _layers(model, ACTIVATION_KINDS)]


def weight_layer_names(model: Any) -> list[str]:
    """Names of the weight (Linear) layers, e.g. ``["0 Linear", "2 Linear"]``."""
    check_model("weight_layer_names", model)
    return [layer.name for layer in _layers(model, ("Linear",))]


def weight_array(layer: Layer) -> np.ndarray:
    """The layer's weights in the course's layout ``(d_in, d_out)``: a view, not a
    copy, for scratch and for a torch model on the CPU (torch stores the transpose)."""
    if isinstance(layer.module, Module):
        return layer.module.weight.data
    return layer.module.weight.detach().cpu().numpy().T


def grad_array(layer: Layer, function: str) -> np.ndarray:
    """The gradient of the layer's weights, in the course's layout ``(d_in, d_out)``."""
    if isinstance(layer.module, Module):
        return layer.module.weight.grad
    grad = layer.module.weight.grad
    if grad is None:
        raise RuntimeError(
            f"{function}: layer {layer.name!r} has no gradient yet (weight.grad is None): "
            f"call it after loss.backward()"
        )
    return grad.detach().cpu().numpy().T
