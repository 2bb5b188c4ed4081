"""Neurons, layers and an MLP made of :class:`~mlp_course.autograd.engine.Value` objects.

Each weight is its own Value, so ``loss.backward()`` fills in every weight's
``grad``. Weights start Glorot (Xavier) uniform, as in chapter 6: uniform on
``[-a, a]`` with ``a = sqrt(6 / (fan_in + fan_out))``; biases start at 0.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence, Union

import numpy as np

from mlp_course.autograd.engine import Value, _is_real

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")

Input = Union[Value, int, float]
RngLike = Union[None, int, np.random.Generator]


def _generator(rng: RngLike, where: str) -> np.random.Generator:
    """``rng`` as a generator: None is the course generator (``mlp_course.get_rng()``), an int a seed."""
    if rng is None:
        from mlp_course.seed import get_rng

        return get_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"{where}: rng must be None, a non-negative integer seed or a np.random.Generator, got {rng!r}")


def _count(value: object, what: str, where: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _activation(name: object, where: str) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        choices = ", ".join(repr(a) for a in ACTIVATIONS)
        raise ValueError(f"{where}: activation must be one of {choices}, got {name!r}")
    return name


def _inputs(x: object, n_inputs: int, where: str) -> list[Input]:
    """``x`` as a list of ``n_inputs`` numbers or Values (a lone one is accepted when n_inputs is 1)."""
    if isinstance(x, Value) or _is_real(x):
        x = [x]
    elif isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"{where} expects a 1-D sequence of {n_inputs} inputs, got an array of shape {x.shape}")
        x = list(x)
    elif isinstance(x, (list, tuple)):
        x = list(x)
    else:
        raise TypeError(f"{where} expects a sequence of {n_inputs} numbers or Values, got {type(x).__name__}")
    if len(x) != n_inputs:
        raise ValueError(f"{where} expects {n_inputs} inputs, got {len(x)}")
    for item in x:
        if not (isinstance(item, Value) or _is_real(item)):
            raise TypeError(f"{where}: every input must be a number or a Value, got {type(item).__name__}")
    return x


class Module:
    """Anything with parameters: ``parameters()`` lists them, ``zero_grad()`` sets their grads to 0."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """``activation(w . x + b)`` for ``n_inputs`` inputs.

    ``fan_out`` (the number of neurons of its layer; 1 for a lone neuron) sets the
    Glorot limit ``sqrt(6 / (n_inputs + fan_out))``.
    """

    def __init__(self, n_inputs: int, activation: str = "tanh", *, rng: RngLike = None, fan_out: int = 1) -> None:
        n_inputs = _count(n_inputs, "n_inputs", "Neuron")
        fan_out = _count(fan_out, "fan_out", "Neuron")
        self.activation = _activation(activation, "Neuron")
        generator = _generator(rng, "Neuron")
        limit = math.sqrt(6.0 / (n_inputs + fan_out))
        self.w = [Value(float(w)) for w in generator.uniform(-limit, limit, size=n_inputs)]
        self.b = Value(0.0)
        self.n_inputs = n_inputs

    def __call__(self, x: Sequence[Input]) -> Value:
        x = _inputs(x, self.n_inputs, "Neuron")
        z = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.activation == "tanh":
            return z.tanh()
        if self.activation == "relu":
            return z.relu()
        if self.activation == "sigmoid":
            return z.sigmoid()
        return z

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({self.n_inputs}, activation={self.activation!r})"


class Layer(Module):
    """``n_outputs`` neurons reading the same ``n_inputs`` inputs."""

    def __init__(self, n_inputs: int, n_outputs: int, activation: str = "tanh", *, rng: RngLike = None) -> None:
        n_inputs = _count(n_inputs, "n_inputs", "Layer")
        n_outputs = _count(n_outputs, "n_outputs", "Layer")
        activation = _activation(activation, "Layer")
        generator = _generator(rng, "Layer")
        self.neurons = [Neuron(n_inputs, activation, rng=generator, fan_out=n_outputs) for _ in range(n_outputs)]
        self.n_inputs, self.n_outputs, self.activation = n_inputs, n_outputs, activation

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """A list of ``n_outputs`` Values; a single Value when ``n_outputs`` is 1."""
        x = _inputs(x, self.n_inputs, "Layer")
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        return f"Layer({self.n_inputs}, {self.n_outputs}, activation={self.activation!r})"


class MLP(Module):
    """Layers of sizes ``layer_sizes``: the hidden ones use ``activation``, the last is linear.

    ``rng``: a seed, a ``np.random.Generator``, or None for the course generator
    (``mlp_course.get_rng()``, reset by ``seed_everything``).
    """

    def __init__(self, n_inputs: int, layer_sizes: Sequence[int], activation: str = "tanh", *,
                 rng: RngLike = None) -> None:
        n_inputs = _count(n_inputs, "n_inputs", "MLP")
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence) or not layer_sizes:
            raise ValueError(f"MLP: layer_sizes must be a non-empty list of positive integers, got {layer_sizes!r}")
        sizes = [n_inputs] + [_count(size, "every layer size", "MLP") for size in layer_sizes]
        activation = _activation(activation, "MLP")
        generator = _generator(rng, "MLP")
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(sizes) - 2 else "linear", rng=generator)
            for i in range(len(sizes) - 1)
        ]
        self.n_inputs, self.activation = n_inputs, activation

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The outputs for one example ``x``: a single Value when the last layer has one neuron."""
        x = _inputs(x, self.n_inputs, "MLP")
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer ``(W, b)``: ``W`` of shape (n_inputs, n_outputs) so that the layer is ``X @ W + b``."""
        return self._arrays("data")

    def gradients(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The ``grad`` of every weight, laid out as :meth:`weights`."""
        return self._arrays("grad")

    def _arrays(self, attribute: str) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for layer in self.layers:
            W = np.array([[getattr(w, attribute) for w in neuron.w] for neuron in layer.neurons], dtype=np.float64).T
            b = np.array([getattr(neuron.b, attribute) for neuron in layer.neurons], dtype=np.float64)
            out.append((np.ascontiguousarray(W), b))
        return out

    def to_torch(self):
        """An equivalent float64 ``torch.nn.Sequential`` (Linear and Tanh/ReLU/Sigmoid) with the same weights."""
        import torch

        modules = []
        for index, (layer, (W, b)) in enumerate(zip(self.layers, self.weights())):
            linear = torch.nn.Linear(layer.n_inputs, layer.n_outputs, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            modules.append(linear)
            if layer.activation != "linear":
                modules.append({"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[layer.activation]())
        return torch.nn.Sequential(*modules)

    def __repr__(self) -> str:
        parts = [str(self.n_inputs)] + [f"{layer.n_outputs} {layer.activation}" for layer in self.layers]
        return f"MLP({' -> '.join(parts)}; {len(self.parameters())} parameters)"
