"""``Parameter``, the ``Module`` base class and ``Sequential``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Callable, Iterator, NamedTuple

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


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys it did not find and those it
    did not expect (both empty unless ``strict=False``), as in PyTorch."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"


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

    # -- saving and loading ------------------------------------------------------
    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Module, str]]:
        """``(key, module, attribute)`` of every saved value in PyTorch's order:
        a module's parameters, then its buffers, then its sub-modules'."""
        for key, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + key, self, key
        for key in (*getattr(self, "_buffers", ()), *getattr(self, "_int_buffers", ())):
            yield prefix + key, self, key
        for name, child in self.named_children():
            yield from child._state_entries(f"{prefix}{name}.")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed as in the ``state_dict()``
        of ``to_torch(self)``.

        The values keep the scratch layout: a ``Linear`` weight is
        ``(in_features, out_features)``, the transpose of PyTorch's. Integer
        buffers (batch norm's ``num_batches_tracked``) are 0-d int64 arrays.
        """
        state = {}
        for key, module, attribute in self._state_entries():
            value = getattr(module, attribute)
            if isinstance(value, Parameter):
                state[key] = value.data.copy()
            elif attribute in getattr(module, "_int_buffers", ()):
                state[key] = np.array(value, dtype=np.int64)
            else:
                state[key] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy the values of ``state_dict`` (as made by :meth:`state_dict`) into
        this module, in place: the ``Parameter`` objects stay the same, so an
        optimizer built earlier keeps updating them.

        Every key, shape and dtype is checked before anything changes, so a
        failed load leaves the module as it was. Integer and float values are
        cast to the dtype of the parameter or buffer they replace (float64
        values loaded into a float32 model are rounded to float32); integer
        buffers need integer values. With ``strict=False`` missing and
        unexpected keys are skipped and returned instead of refused.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(strict, bool):
            raise TypeError(f"{owner}: strict must be True or False, got {type(strict).__name__} {strict!r}")
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{owner}: expected a dict of name -> array, got {type(state_dict).__name__}")
        bad_keys = [key for key in state_dict if not isinstance(key, str)]
        if bad_keys:
            raise TypeError(f"{owner}: keys must be strings, got {bad_keys[0]!r} ({type(bad_keys[0]).__name__})")
        entries = {key: (module, attribute) for key, module, attribute in self._state_entries()}
        missing = [key for key in entries if key not in state_dict]
        unexpected = [key for key in state_dict if key not in entries]
        if strict and (missing or unexpected):
            raise ValueError(f"{owner}: the keys do not match this model; missing keys: {missing or 'none'}; "
                             f"unexpected keys: {unexpected or 'none'} (strict=False skips them)")
        updates = [(module, attribute, _checked_value(owner, key, state_dict[key], getattr(module, attribute),
                                                      attribute in getattr(module, "_int_buffers", ())))
                   for key, (module, attribute) in entries.items() if key in state_dict]
        for module, attribute, value in updates:
            current = getattr(module, attribute)
            if isinstance(current, Parameter):
                current.data[...] = value
            else:
                setattr(module, attribute, value)
        return IncompatibleKeys(missing, unexpected)

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants."""
        yield self
        for child in self.children():
            yield from child.modules()

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _checked_value(owner: str, key: str, given: Any, current: Any, integer: bool) -> Any:
    """``given`` checked against the value it replaces and cast to its dtype."""
    try:
        value = np.asarray(given)
    except Exception as error:  # e.g. a tensor that still requires grad
        raise TypeError(f"{owner}: {key!r} must be an array, got {type(given).__name__} ({error})") from None
    if integer:
        expected_shape, accepted, kinds = (), "an integer", "iu"
    else:
        data = current.data if isinstance(current, Parameter) else current
        expected_shape, accepted, kinds = data.shape, "a number", "iuf"
    if value.dtype.kind not in kinds:
        raise TypeError(f"{owner}: {key!r} must hold {accepted} dtype, got {value.dtype}")
    if value.shape != expected_shape:
        hint = ""
        if len(expected_shape) == 2 and value.shape == expected_shape[::-1]:
            hint = "; PyTorch stores Linear weights transposed: pass weight.T, or convert the model with from_torch"
        raise ValueError(f"{owner}: {key!r} must have shape {expected_shape}, got {value.shape}{hint}")
    if integer:
        if value < 0:
            raise ValueError(f"{owner}: {key!r} is a count and cannot be negative, got {value}")
        return int(value)
    return value.astype(data.dtype)  # a copy: the model never shares memory with the dict


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
