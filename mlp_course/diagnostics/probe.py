"""A forward pass that changes nothing: the probe pass behind
:func:`~mlp_course.diagnostics.record_activations` and the Monitor.

It runs the model in the mode it is in (train or eval), calls a function on
the output of each chosen layer (through forward hooks), and afterwards leaves
the model exactly as it found it: parameters, gradients, BatchNorm running
statistics and ``num_batches_tracked``, train/eval mode, the random generators
that dropout draws from, the caches a scratch module keeps for ``backward``
(so a probe between a forward and a backward pass does not disturb the
backward pass), and no hook left behind, also when the forward pass raises.
PyTorch models run under ``torch.no_grad()``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from mlp_course.diagnostics.layers import Layer, check_model, named_modules, weight_layers
from mlp_course.scratch.module import Module, Sequential
from mlp_course.scratch.regularization import Dropout
from mlp_course.seed import get_rng

OnOutput = Callable[[Layer, Any], None]


def _check_input(function: str, model: Any, X: Any, torch_model: bool) -> Any:
    """X as the model needs it: a 2-D float array (scratch) or tensor (torch),
    with as many columns as the first Linear layer of a ``Sequential`` takes."""
    if torch_model:
        import torch

        if isinstance(X, np.ndarray):
            if not np.issubdtype(X.dtype, np.number):
                raise TypeError(f"{function}: X must hold numbers, got dtype {X.dtype}")
            parameter = next(model.parameters(), None)
            dtype = parameter.dtype if parameter is not None else torch.get_default_dtype()
            device = parameter.device if parameter is not None else None
            X = torch.as_tensor(X, dtype=dtype, device=device)
        elif not isinstance(X, torch.Tensor):
            raise TypeError(f"{function}: X must be a NumPy array or a torch.Tensor, got {type(X).__name__}")
        shape = tuple(X.shape)
    else:
        if not isinstance(X, np.ndarray):
            raise TypeError(f"{function}: X must be a NumPy array of shape (N, d), got {type(X).__name__}")
        if X.dtype not in (np.float32, np.float64):
            raise TypeError(f"{function}: X must have dtype float32 or float64, got {X.dtype}")
        shape = X.shape
    if len(shape) != 2:
        raise ValueError(f"{function}: X must be 2-D, shape (N examples, d features), got shape {shape}")
    if shape[0] == 0:
        raise ValueError(f"{function}: X holds no example (shape {shape})")
    sequential = isinstance(model, Sequential) or (torch_model and isinstance(model, torch.nn.Sequential))
    linears = weight_layers(model) if sequential else []
    if linears:
        width = linears[0].module.in_features
        if shape[1] != width:
            raise ValueError(
                f"{function}: X must have {width} columns, the input width of the first layer "
                f"{linears[0].name!r}, got shape {shape}"
            )
    return X


def _scratch_forward(model: Module, X: np.ndarray, layers: list[Layer], on_output: OnOutput) -> None:
    saved = []
    generators: dict[int, tuple[np.random.Generator, Any]] = {}
    for _, module in named_modules(model):
        attributes = dict(vars(module))
        buffers = {key: np.copy(attributes[key]) for key in getattr(module, "_buffers", ()) if key in attributes}
        saved.append((module, attributes, buffers))
        if isinstance(module, Dropout):
            rng = get_rng() if module._rng is None else module._rng
            generators.setdefault(id(rng), (rng, rng.bit_generator.state))
    handles = []
    try:
        for layer in layers:
            handles.append(layer.module.register_forward_hook(
                lambda module, inputs, output, layer=layer: on_output(layer, output)))
        model(X)
    finally:
        for handle in handles:
            handle.remove()
        for module, attributes, buffers in saved:
            vars(module).clear()
            vars(module).update(attributes)
            for key, value in buffers.items():
                np.copyto(attributes[key], value)
        for rng, state in generators.values():
            rng.bit_generator.state = state


def _torch_forward(model: Any, X: Any, layers: list[Layer], on_output: OnOutput) -> None:
    import torch

    with torch.no_grad():
        buffers = [(b, b.clone()) for m in model.modules() if m.training for b in m.buffers(recurse=False)]
        dropout = any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.training for m in model.modules())
        cuda = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
        modes = [(m, m.training) for m in model.modules()]
        handles = []
        with torch.random.fork_rng(devices=cuda, enabled=dropout):
            try:
                for layer in layers:
                    handles.append(layer.module.register_forward_hook(
                        lambda module, inputs, output, layer=layer: on_output(layer, output)))
                model(X)
            finally:
                for handle in handles:
                    handle.remove()
                for buffer, copy in buffers:
                    buffer.copy_(copy)
                for module, mode in modes:
                    module.training = mode


def probe_forward(function: str, model: Any, X: Any, layers: list[Layer], on_output: OnOutput,
                  check_input: bool = True) -> None:
    """Run ``model`` on ``X`` and call ``on_output(layer, output)`` for each of
    ``layers`` (output: a NumPy array for scratch, a tensor for torch), leaving
    the model unchanged. ``RuntimeError`` if a layer was not called.
    ``check_input=False`` skips the checks of ``X`` (already checked)."""
    torch_model = check_model(function, model)
    if check_input:
        X = _check_input(function, model, X, torch_model)
    called: set[str] = set()

    def record(layer: Layer, output: Any) -> None:
        called.add(layer.name)
        on_output(layer, output)

    (_torch_forward if torch_model else _scratch_forward)(model, X, layers, record)
    missing = [layer.name for layer in layers if layer.name not in called]
    if missing:
        raise RuntimeError(
            f"{function}: the forward pass did not call layer(s) {missing}; a module must call its "
            f"sub-modules as layer(x), not layer.forward(x), for their outputs to be seen"
        )


def check_fraction(function: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{function}: {name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)
