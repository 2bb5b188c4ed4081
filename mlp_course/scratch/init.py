"""Weight initialisation schemes for a layer computing ``X @ W + b``.

``W`` has shape ``(fan_in, fan_out)``. Glorot (Xavier) keeps the variance of
activations and gradients roughly constant for tanh/sigmoid-like units; He
(Kaiming) doubles it to make up for ReLU zeroing half of its inputs.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Initialiser = Callable[[int, int, np.random.Generator, np.dtype], np.ndarray]


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype)


def glorot_normal(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / (fan_in + fan_out))."""
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


def he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in)."""
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype)


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / fan_in)."""
    std = np.sqrt(2.0 / fan_in)
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


def pytorch_default(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the distribution of ``torch.nn.Linear``'s weights."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype)


INITIALISERS: dict[str, Initialiser] = {
    "pytorch": pytorch_default,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
}


def get_initialiser(name: str) -> Initialiser:
    """Look an initialiser up by name (see ``INITIALISERS``)."""
    try:
        return INITIALISERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown init {name!r}; expected one of {sorted(INITIALISERS)}"
        ) from None
