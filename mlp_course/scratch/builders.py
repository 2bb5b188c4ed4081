"""Shortcuts for building common networks."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mlp_course.scratch.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from mlp_course.scratch.layers import Linear
from mlp_course.scratch.module import Module, Sequential

ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}
# Softmax mixes the units of a layer, so it only makes sense at the output.
OUTPUT_ACTIVATIONS = {**ACTIVATIONS, "softmax": Softmax}


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str | None = None,
    init: str = "pytorch",
    dtype=np.float32,
    rng: np.random.Generator | None = None,
) -> Sequential:
    """A multi-layer perceptron: ``Linear`` layers of the given ``sizes`` with
    ``activation`` between them and ``output_activation`` (or nothing) at the end.

    ``mlp([784, 512, 10])`` is Linear(784, 512), ReLU, Linear(512, 10).
    ``output_activation`` may also be ``"softmax"``; leave it out when the loss
    takes logits (``CrossEntropyLoss``, ``BCEWithLogitsLoss``).
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs at least an input and an output size, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
    if output_activation is not None and output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"mlp: unknown output_activation {output_activation!r}; "
            f"expected None or one of {sorted(OUTPUT_ACTIVATIONS)}"
        )
    layers: list[Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(fan_in, fan_out, init=init, dtype=dtype, rng=rng))
        if index < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    if output_activation is not None:
        layers.append(OUTPUT_ACTIVATIONS[output_activation]())
    return Sequential(*layers)
