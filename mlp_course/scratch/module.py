"""``Parameter``, the ``Module`` base class and ``Sequential``."""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any, Callable, Iterator

import numpy as np

from mlp_course.scratch._validation import FLOAT_DTYPES, check_float_array


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    ``grad`` has the shape and dtype of ``data``. Backward passes *add* to it,
    as in PyTorch, so call ``zero_grad()`` before each backward pass.
    """

    def __init__(self, data: np.ndarray, name: str = "") -> None:
        check_float_array("Parameter", "data", data)
        self.data = data
        self.grad = np.zeros_like(data)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.data.shape}, dtype={self.data.dtype})"


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``remove()`` unregisters the hook
    (calling it again does nothing), as ``torch.utils.hooks.RemovableHandle``."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Callable]) -> None:
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()


class Module:
    """Base class: ``forward`` computes the output, ``backward`` the input gradient.

    Sub-classes store what ``backward`` needs during ``forward``. Parameters are
    attributes of type :class:`Parameter`; sub-modules are attributes of type
    :class:`Module` (or items of ``self._modules``).
    """

    training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Add parameter gradients to ``p.grad``; return dL/d(input).

        With ``input_grad=False`` the input gradient is skipped and ``None``
        returned, as PyTorch does for inputs that do not require a gradient
        (the first layer's input, the data, never needs one during training).
        """
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = self.forward(x)
        hooks = self.__dict__.get("_forward_hooks")
        if hooks:
            for hook in list(hooks.values()):
                result = hook(self, (x,), out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, input, output)`` after every forward pass run
        through ``module(x)``, as PyTorch does: ``input`` is the tuple ``(x,)``;
        a hook that returns something other than ``None`` replaces the output.

        Returns a handle whose ``remove()`` unregisters the hook (also usable as
        a ``with`` block). Hooks are kept in ``module._forward_hooks``.
        """
        if not callable(hook):
            raise TypeError(
                f"{type(self).__name__}.register_forward_hook: hook must be a function "
                f"hook(module, input, output), got {type(hook).__name__}"
            )
        hooks = self.__dict__.setdefault("_forward_hooks", {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    # -- structure ---------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` pairs of the direct sub-modules, in definition order."""
        for key, value in vars(self).items():
            if isinstance(value, Module):
                yield key, value

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in definition order."""
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs of this module and its sub-modules."""
        for key, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + key, value
        for name, child in self.named_children():
            yield from child.named_parameters(f"{prefix}{name}.")

    def parameters(self) -> Iterator[Parameter]:
        """Every trainable parameter, each once."""
        for _, parameter in self.named_parameters():
            yield parameter

    def num_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    # -- modes and gradients -------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics); returns ``self``."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, running statistics); returns ``self``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter gradient to zero."""
        for parameter in self.parameters():
            parameter.zero_grad()

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the parameters, else of the buffers (batch norm without
        ``affine``); ``None`` for a module without either."""
        for parameter in self.parameters():
            return parameter.data.dtype
        for module in self.modules():
            for key in getattr(module, "_buffers", ()):
                return getattr(module, key).dtype
        return None

    def to(self, dtype: Any) -> Module:
        """Convert parameters and buffers to ``float32`` or ``float64`` in place."""
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"{type(self).__name__}.to: dtype must be float32 or float64, got {dtype}")
        for module in self.modules():
            for key, value in vars(module).items():
                if isinstance(value, Parameter):
                    value.data = value.data.astype(dtype)
                    value.grad = value.grad.astype(dtype)
                elif key in getattr(module, "_buffers", ()):
                    setattr(module, key, value.astype(dtype))
        return self

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants."""
        yield self
        for child in self.children():
            yield from child.modules()

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


@lru_cache(maxsize=None)
def _takes_input_grad(module_type: type) -> bool:
    return "input_grad" in inspect.signature(module_type.backward).parameters


def call_backward(module: Module, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
    """``module.backward(grad_output)``, asking it to skip the input gradient when
    that is not needed. A module written with the plain ``backward(self,
    grad_output)`` of the course still works: it just computes the gradient anyway."""
    if input_grad or not _takes_input_grad(type(module)):
        return module.backward(grad_output)
    return module.backward(grad_output, input_grad=False)


def _require_forward(module: Module, cached: Any) -> None:
    if cached is None:
        raise RuntimeError(
            f"{type(module).__name__}.backward was called before forward: run a forward pass first"
        )


def _check_grad_shape(module: Module, grad_output: Any, expected: tuple[int, ...]) -> None:
    check_float_array(f"{type(module).__name__}.backward", "grad_output", grad_output)
    if grad_output.shape != expected:
        raise ValueError(
            f"{type(module).__name__}.backward: grad_output must have the shape of the last "
            f"forward output {expected}, got {grad_output.shape}"
        )


class Sequential(Module):
    """Modules applied one after another; ``backward`` runs them in reverse."""

    def __init__(self, *modules: Module) -> None:
        for position, module in enumerate(modules, start=1):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential expects Module instances; argument {position} is "
                    f"{type(module).__name__} {module!r}"[:200]
                )
        self.layers: list[Module] = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, layer in enumerate(self.layers):
            yield str(index), layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        for index in range(len(self.layers) - 1, -1, -1):
            grad_output = call_backward(self.layers[index], grad_output, input_grad=index > 0 or input_grad)
        return grad_output

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        if not self.layers:
            return "Sequential()"
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
