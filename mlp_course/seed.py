"""Seeding: one call makes every random draw of a notebook repeatable."""

from __future__ import annotations

import importlib.util
import os
import random

import numpy as np

_rng: np.random.Generator = np.random.default_rng(0)


def get_rng() -> np.random.Generator:
    """Return the course-wide NumPy generator that :func:`seed_everything` resets.

    Layers, dropout masks and the training loop draw from it when no generator
    is passed to them explicitly.
    """
    return _rng


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python's ``random``, NumPy (legacy and course generator) and PyTorch.

    PyTorch is seeded only when it is installed; it is imported here so that a
    later ``import torch`` cannot escape the seed.

    Returns the freshly seeded course generator.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        # NumPy's legacy seed must fit in 32 bits: check before seeding anything.
        raise ValueError(f"seed must be a non-negative integer below 2**32, got {seed!r}")
    global _rng
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    _rng = np.random.default_rng(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)
    return _rng
