"""Shared models for the diagnostics tests (a scratch network with every kind
of layer the diagnostics know), and snapshots of a model's state."""

import numpy as np
import pytest
import torch

from mlp_course import scratch


@pytest.fixture(autouse=True)
def _seed_everything(seeded):
    yield


def every_kind_of_layer(dtype=np.float64) -> scratch.Sequential:
    """0 Linear, 1 BatchNorm1d, 2 Tanh, 3 Linear, 4 ReLU, 5 Dropout, 6 Linear, 7 Sigmoid,
    8 Linear, 9 LeakyReLU, 10 Linear; the Dropout in eval mode (so both libraries agree)."""
    model = scratch.Sequential(
        scratch.Linear(5, 8, dtype=dtype), scratch.BatchNorm1d(8, dtype=dtype), scratch.Tanh(),
        scratch.Linear(8, 7, dtype=dtype), scratch.ReLU(), scratch.Dropout(0.3),
        scratch.Linear(7, 6, dtype=dtype), scratch.Sigmoid(),
        scratch.Linear(6, 6, dtype=dtype), scratch.LeakyReLU(0.1),
        scratch.Linear(6, 3, dtype=dtype),
    )
    model[5].eval()
    return model


@pytest.fixture
def model():
    return every_kind_of_layer()


@pytest.fixture
def X():
    return np.random.default_rng(7).standard_normal((40, 5))


def scratch_state(model):
    """Everything a probe pass must leave alone, as plain copies."""
    state = {}
    for i, module in enumerate(model.modules()):
        state[f"{i} training"] = module.training
        state[f"{i} hooks"] = len(vars(module).get("_forward_hooks", {}))
        for name, p in module.named_parameters():
            if "." not in name:
                state[f"{i} {name}"] = p.data.copy()
                state[f"{i} {name}.grad"] = p.grad.copy()
        if isinstance(module, scratch.BatchNorm1d):
            state[f"{i} running"] = (module.running_mean.copy(), module.running_var.copy(),
                                     module.num_batches_tracked)
    return state


def torch_state(model):
    state = {f"{k} value": v.detach().clone() for k, v in model.state_dict().items()}
    for name, p in model.named_parameters():
        state[f"{name} grad"] = None if p.grad is None else p.grad.clone()
    for name, module in model.named_modules():
        state[f"{name} training"] = module.training
        state[f"{name} hooks"] = len(module._forward_hooks)
    return state


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key in before:
        a, b = before[key], after[key]
        if isinstance(a, tuple):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y, err_msg=key)
        elif isinstance(a, torch.Tensor):
            assert torch.equal(a, b), key
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=key)
        else:
            assert a == b, key
