"""Initialisation schemes: each one's bound or standard deviation, checked
statistically on a large matrix, its shape of distribution compared with
``torch.nn.init`` (Kolmogorov-Smirnov), zero biases, and PyTorch's default."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from scipy import stats

from mlp_course.scratch import Linear, init

FAN_IN, FAN_OUT = 300, 500  # 150,000 weights: std estimates are good to about 0.2%
STD_TOLERANCE = 0.01  # relative; more than five standard errors

SCHEMES = {
    # name: (kind, bound or std, the torch.nn.init function that draws the same distribution)
    "glorot_uniform": ("uniform", np.sqrt(6 / (FAN_IN + FAN_OUT)), torch.nn.init.xavier_uniform_),
    "glorot_normal": ("normal", np.sqrt(2 / (FAN_IN + FAN_OUT)), torch.nn.init.xavier_normal_),
    "he_uniform": ("uniform", np.sqrt(6 / FAN_IN), lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")),
    "he_normal": ("normal", np.sqrt(2 / FAN_IN), lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")),
    "pytorch": ("uniform", 1 / np.sqrt(FAN_IN), lambda w: torch.nn.init.kaiming_uniform_(w, a=np.sqrt(5))),
}
ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
           "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}


def draw(name: str, seed: int = 0, dtype=np.float64) -> np.ndarray:
    return init.get_initialiser(name)(FAN_IN, FAN_OUT, np.random.default_rng(seed), dtype)


def torch_draw(name: str) -> np.ndarray:
    torch.manual_seed(0)
    weight = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64)  # PyTorch's (out, in) layout
    SCHEMES[name][2](weight)
    return weight.numpy().T


@pytest.mark.parametrize("name", SCHEMES)
def test_scheme_has_the_documented_spread(name):
    kind, scale, _ = SCHEMES[name]
    w = draw(name)
    assert w.shape == (FAN_IN, FAN_OUT)
    expected_std = scale / np.sqrt(3) if kind == "uniform" else scale
    assert w.std() == pytest.approx(expected_std, rel=STD_TOLERANCE)
    assert abs(w.mean()) < 5 * expected_std / np.sqrt(w.size)
    if kind == "uniform":
        assert np.abs(w).max() <= scale
        assert np.abs(w).max() > 0.999 * scale
        assert stats.kstest(w.ravel() / scale, "uniform", args=(-1, 2)).pvalue > 1e-3
    else:
        # A normal puts 68.3% of its mass within one standard deviation (a uniform 57.7%).
        assert np.mean(np.abs(w) < scale) == pytest.approx(0.6827, abs=0.005)
        assert stats.kstest(w.ravel() / scale, "norm").pvalue > 1e-3


@pytest.mark.parametrize("name", SCHEMES)
def test_scheme_draws_the_same_distribution_as_torch_nn_init(name):
    w, w_torch = draw(name), torch_draw(name)
    assert w.std() == pytest.approx(w_torch.std(), rel=2 * STD_TOLERANCE)
    assert stats.ks_2samp(w.ravel(), w_torch.ravel()).pvalue > 1e-3


@pytest.mark.parametrize("alias, name", ALIASES.items())
def test_aliases_name_the_same_scheme(alias, name):
    assert init.get_initialiser(alias) is init.get_initialiser(name)
    np.testing.assert_array_equal(draw(alias), draw(name))


@pytest.mark.parametrize("name", list(SCHEMES) + list(ALIASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scheme_returns_the_requested_dtype_reproducibly(name, dtype):
    a, b = draw(name, seed=3, dtype=dtype), draw(name, seed=3, dtype=dtype)
    assert a.dtype == dtype
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draw(name, seed=4, dtype=dtype))


@pytest.mark.parametrize("name", [n for n in list(SCHEMES) + list(ALIASES) if n != "pytorch"])
def test_linear_with_a_named_init_starts_with_zero_biases(name):
    layer = Linear(FAN_IN, FAN_OUT, init=name, rng=np.random.default_rng(5))
    assert layer.bias.data.dtype == np.float32
    assert not layer.bias.data.any()
    assert layer.weight.data.std() == pytest.approx(draw(ALIASES.get(name, name)).std(), rel=2 * STD_TOLERANCE)


def test_linear_default_init_is_pytorchs_for_weights_and_biases():
    fan_in, fan_out = 50, 20_000
    bound = 1 / np.sqrt(fan_in)
    layer = Linear(fan_in, fan_out, rng=np.random.default_rng(6))
    torch.manual_seed(0)
    reference = torch.nn.Linear(fan_in, fan_out)
    for ours, theirs in [(layer.weight.data, reference.weight.detach().numpy()),
                         (layer.bias.data, reference.bias.detach().numpy())]:
        assert np.abs(ours).max() <= bound and np.abs(ours).max() > 0.99 * bound
        assert ours.std() == pytest.approx(bound / np.sqrt(3), rel=STD_TOLERANCE)
        assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3


def test_linear_default_init_bounds_depend_on_fan_in_only():
    narrow = Linear(400, 10, rng=np.random.default_rng(7))
    assert np.abs(narrow.weight.data).max() <= 1 / 20
    assert np.abs(narrow.bias.data).max() <= 1 / 20


@pytest.mark.parametrize("name", ["glorot", "He_normal", "", None, 3])
def test_unknown_init_is_refused_with_the_valid_names(name):
    with pytest.raises(ValueError, match=re.escape(f"unknown init {name!r}; expected one of [")) as info:
        init.get_initialiser(name)
    for valid in list(SCHEMES) + list(ALIASES):
        assert repr(valid) in str(info.value)
