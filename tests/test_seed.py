"""``seed_everything``: Python, NumPy (legacy and the course generator) and
PyTorch all repeat after the same seed; bad seeds are refused before anything
is seeded."""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pytest
import torch

from mlp_course import get_rng, seed_everything
from mlp_course.scratch import Dropout, Linear


def draws():
    """One draw from every generator the course touches."""
    return (
        random.random(),
        float(np.random.rand()),
        float(torch.rand(1)),
        float(get_rng().random()),
        Linear(3, 2).weight.data.copy(),
        Dropout(0.5)(np.ones((4, 4))).copy(),
    )


def assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_the_same_seed_repeats_every_generator():
    seed_everything(123)
    first = draws()
    seed_everything(123)
    assert_same(first, draws())


def test_reseeding_repeats_the_draws_whatever_was_drawn_before():
    seed_everything(5)
    first = draws()
    draws()
    np.random.default_rng().random()  # an unrelated generator does not matter either
    seed_everything(5)
    assert_same(first, draws())


def test_different_seeds_give_different_draws():
    seed_everything(1)
    first = draws()
    seed_everything(2)
    second = draws()
    assert all(not np.array_equal(x, y) for x, y in zip(first, second))


def test_seed_everything_returns_the_fresh_course_generator():
    rng = seed_everything(7)
    assert rng is get_rng()
    assert rng.random() == np.random.default_rng(7).random()


def test_seed_everything_seeds_torch_like_manual_seed():
    seed_everything(42)
    ours = torch.rand(3)
    torch.manual_seed(42)
    torch.testing.assert_close(ours, torch.rand(3), rtol=0, atol=0)


def test_seed_everything_sets_pythonhashseed_and_accepts_numpy_integers_and_the_largest_seed():
    seed_everything(np.int64(42))
    assert os.environ["PYTHONHASHSEED"] == "42"
    seed_everything(2**32 - 1)
    assert os.environ["PYTHONHASHSEED"] == str(2**32 - 1)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, None, 2**32, 2**40])
def test_bad_seeds_are_refused_before_anything_is_seeded(seed):
    seed_everything(11)
    expected = draws()
    seed_everything(11)
    with pytest.raises(ValueError, match=re.escape(f"seed must be a non-negative integer below 2**32, got {seed!r}")):
        seed_everything(seed)
    assert_same(draws(), expected)
