"""Optimisers follow ``torch.optim`` step for step, for every option, on a real
model trained by both libraries side by side; gradient clipping matches
``torch.nn.utils``; invalid hyper-parameters are refused."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import (
    assert_close,
    assert_parameters_match,
    assert_unchanged,
    examples,
    make_parameter,
    scratch_layout,
    seeds,
    snapshot,
    tensor,
)

from mlp_course.scratch import (
    SGD,
    Adam,
    AdamW,
    CrossEntropyLoss,
    Linear,
    RMSprop,
    Sequential,
    Tanh,
    clip_grad_norm_,
    clip_grad_value_,
    grad_norm,
    to_torch,
)

STEPS = 25

CONFIGS = {
    SGD: [
        dict(lr=0.1),
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.1, momentum=0.9, dampening=0.5),
        dict(lr=0.05, momentum=0.9, nesterov=True),
        dict(lr=0.1, weight_decay=0.1),
        dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True),
        dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01),
    ],
    RMSprop: [
        dict(),
        dict(lr=0.01, alpha=0.9),
        dict(lr=0.01, eps=1e-3),
        dict(lr=0.005, momentum=0.8),
        dict(lr=0.01, centered=True),
        dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.005, alpha=0.95, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.05),
    ],
    Adam: [
        dict(),
        dict(lr=0.01, betas=(0.8, 0.95)),
        dict(lr=0.01, eps=1e-3),
        dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.01, betas=(0.9, 0.9), amsgrad=True),
        dict(lr=0.02, betas=(0.5, 0.8), eps=1e-6, weight_decay=0.05, amsgrad=True),
    ],
    AdamW: [
        dict(),
        dict(lr=0.01, weight_decay=0.3),
        dict(lr=0.01, betas=(0.9, 0.9), amsgrad=True),
        dict(lr=0.02, betas=(0.7, 0.9), eps=1e-4, weight_decay=0.1, amsgrad=True),
        dict(lr=0.01, weight_decay=0.0),
    ],
}
CASES = [pytest.param(opt, kwargs, id=f"{opt.__name__}-{kwargs}") for opt, configs in CONFIGS.items() for kwargs in configs]


def make_problem(seed: int = 0, dtype=np.float64):
    """A small tanh network, its PyTorch copy, and four mini-batches of a 3-class problem."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        Linear(5, 8, dtype=dtype, rng=rng), Tanh(),
        Linear(8, 6, dtype=dtype, rng=rng), Tanh(),
        Linear(6, 3, dtype=dtype, rng=rng),
    )
    X = rng.standard_normal((40, 5)).astype(dtype)
    y = rng.integers(0, 3, size=40)
    batches = [(X[i::4], y[i::4]) for i in range(4)]
    return model, to_torch(model), batches


def assert_state_matches(optimizer, torch_optimizer, torch_model, context):
    """The optimiser's buffers (momentum, running averages, step) equal PyTorch's."""
    for p, (name, tp) in zip(optimizer.params, torch_model.named_parameters()):
        state, torch_state = optimizer.state[id(p)], torch_optimizer.state[tp]
        for key, value in state.items():
            assert key in torch_state, f"{key} is not a PyTorch state entry"
            if key == "step":
                assert value == int(torch_state["step"]), context
            else:
                assert_close(value, scratch_layout(name, torch_state[key]), err_msg=f"{key} of {name} {context}")


@pytest.mark.parametrize("optimizer_type, kwargs", CASES)
def test_optimiser_follows_torch_optim_step_for_step(optimizer_type, kwargs):
    model, torch_model, batches = make_problem()
    optimizer = optimizer_type(model.parameters(), **kwargs)
    torch_optimizer = getattr(torch.optim, optimizer_type.__name__)(torch_model.parameters(), **kwargs)
    loss_fn, torch_loss_fn = CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    initial = [p.data.copy() for p in model.parameters()]
    for step in range(STEPS):
        X, y = batches[step % len(batches)]
        loss = loss_fn(model(X), y)
        model.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()

        torch_optimizer.zero_grad()
        torch_loss = torch_loss_fn(torch_model(tensor(X)), torch.from_numpy(y))
        torch_loss.backward()
        torch_optimizer.step()

        context = f"after step {step + 1} of {optimizer_type.__name__}({kwargs})"
        assert_close(loss, torch_loss.item(), err_msg=f"loss before step {step + 1}")
        assert_parameters_match(model, torch_model, grads=True, context=context)
        assert_parameters_match(model, torch_model, context=context)
        assert_state_matches(optimizer, torch_optimizer, torch_model, context)
    assert optimizer.step_count == STEPS
    assert all(not np.array_equal(a, p.data) for a, p in zip(initial, model.parameters()))


@pytest.mark.parametrize("optimizer_type", [SGD, RMSprop, Adam, AdamW])
def test_optimiser_keeps_float32_parameters_float32(optimizer_type):
    model, torch_model, batches = make_problem(dtype=np.float32)
    kwargs = dict(lr=0.01, weight_decay=0.01, momentum=0.9) if optimizer_type in (SGD, RMSprop) else dict(lr=0.01, amsgrad=True)
    optimizer = optimizer_type(model.parameters(), **kwargs)
    torch_optimizer = getattr(torch.optim, optimizer_type.__name__)(torch_model.parameters(), **kwargs)
    loss_fn, torch_loss_fn = CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for step in range(5):
        X, y = batches[step % len(batches)]
        loss_fn(model(X), y)
        model.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        torch_optimizer.zero_grad()
        torch_loss_fn(torch_model(tensor(X)), torch.from_numpy(y)).backward()
        torch_optimizer.step()
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float32
        for value in optimizer.state[id(p)].values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    assert_parameters_match(model, torch_model, dtype=np.float32)


def test_sgd_update_by_hand():
    p = make_parameter(np.random.default_rng(0), (3,))
    p.data[...] = [1.0, 2.0, 3.0]
    p.grad[...] = [1.0, -1.0, 0.5]
    optimizer = SGD([p], lr=0.1, momentum=0.5)
    optimizer.step()  # the buffer starts as the gradient itself
    np.testing.assert_allclose(p.data, [0.9, 2.1, 2.95])
    optimizer.step()  # buffer = 0.5 * g + g
    np.testing.assert_allclose(p.data, [0.75, 2.25, 2.875])


def test_adam_first_step_moves_each_weight_by_lr():
    p = make_parameter(np.random.default_rng(1), (4,))
    start = p.data.copy()
    Adam([p], lr=0.01).step()
    # With bias correction, the first step is lr * g / (|g| + eps): almost exactly lr per weight.
    np.testing.assert_allclose(np.abs(p.data - start), 0.01, rtol=1e-6)


def test_zero_grad_clears_every_parameter():
    model, _, _ = make_problem()
    for p in model.parameters():
        p.grad[...] = 1.0
    SGD(model.parameters(), lr=0.1).zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_optimiser_repr():
    p = make_parameter(np.random.default_rng(0), (2,))
    assert repr(SGD([p], lr=0.5)) == "SGD(lr=0.5)"
    assert repr(AdamW([p])) == "AdamW(lr=0.001)"


# -- invalid hyper-parameters --------------------------------------------------


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda ps: SGD(ps, lr=-0.1), ValueError, "SGD: lr must be in [0, inf], got -0.1"),
        (lambda ps: Adam(ps, lr=-1e-3), ValueError, "Adam: lr must be in [0, inf], got -0.001"),
        (lambda ps: RMSprop(ps, lr=float("nan")), ValueError, "RMSprop: lr must be a finite number, got float nan"),
        (lambda ps: SGD(ps, lr="0.1"), ValueError, "SGD: lr must be a finite number, got str '0.1'"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), ValueError, "SGD: momentum must be in [0, inf], got -0.5"),
        (lambda ps: SGD(ps, lr=0.1, dampening=1.5), ValueError, "SGD: dampening must be in [0, 1], got 1.5"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-0.01), ValueError, "SGD: weight_decay must be in [0, inf], got -0.01"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), ValueError, "SGD: nesterov=True needs momentum > 0 and dampening = 0"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
         "SGD: nesterov=True needs momentum > 0 and dampening = 0"),
        (lambda ps: RMSprop(ps, alpha=1.5), ValueError, "RMSprop: alpha must be in [0, 1], got 1.5"),
        (lambda ps: RMSprop(ps, eps=-1e-8), ValueError, "RMSprop: eps must be in [0, inf], got -1e-08"),
        (lambda ps: RMSprop(ps, momentum=-0.9), ValueError, "RMSprop: momentum must be in [0, inf], got -0.9"),
        (lambda ps: RMSprop(ps, weight_decay=-1), ValueError, "RMSprop: weight_decay must be in [0, inf], got -1"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), ValueError, "Adam: betas[0] must be in [0, 1), got 1.0"),
        (lambda ps: Adam(ps, betas=(0.9, -0.1)), ValueError, "Adam: betas[1] must be in [0, 1), got -0.1"),
        (lambda ps: AdamW(ps, betas=(0.9, 1.0)), ValueError, "AdamW: betas[1] must be in [0, 1), got 1.0"),
        (lambda ps: Adam(ps, betas=(0.9,)), ValueError, "Adam: betas must be a pair (beta1, beta2), got (0.9,)"),
        (lambda ps: Adam(ps, betas=0.9), ValueError, "Adam: betas must be a pair (beta1, beta2), got 0.9"),
        (lambda ps: Adam(ps, eps=-1.0), ValueError, "Adam: eps must be in [0, inf], got -1.0"),
        (lambda ps: Adam(ps, weight_decay=-0.1), ValueError, "Adam: weight_decay must be in [0, inf], got -0.1"),
        (lambda ps: AdamW(ps, weight_decay=-0.1), ValueError, "AdamW: weight_decay must be in [0, inf], got -0.1"),
        (lambda ps: SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
        (lambda ps: SGD(ps[0], lr=0.1), TypeError, "SGD: params must be an iterable of Parameters, such as model.parameters()"),
        (lambda ps: Adam([ps[0], np.zeros(3)]), TypeError, "Adam: params[1] is an array of shape (3,) and dtype float64, expected a Parameter"),
        (lambda ps: SGD([ps[0], ps[1], ps[0]], lr=0.1), ValueError, "SGD: some parameters appear more than once"),
    ],
)
def test_invalid_optimiser_arguments_are_refused_and_change_nothing(make, error, message):
    model, _, _ = make_problem()
    params = list(model.parameters())
    before = snapshot(model)
    with pytest.raises(error, match=re.escape(message)):
        make(params)
    assert_unchanged(before, model)


def test_optimiser_accepts_boundary_values_like_pytorch():
    params = list(make_problem()[0].parameters())
    SGD(params, lr=0.0, momentum=0.0, dampening=1.0, weight_decay=0.0)
    Adam(params, betas=(0.0, 0.0), eps=0.0)
    RMSprop(params, alpha=0.0, eps=0.0)


# -- clipping -----------------------------------------------------------------


def make_gradients(seed, dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (3, 2), (2,)]
    params = [make_parameter(rng, shape, dtype, grad_scale=scale) for shape in shapes]
    tensors = [torch.nn.Parameter(tensor(p.data)) for p in params]
    for p, t in zip(params, tensors):
        t.grad = tensor(p.grad)
    return params, tensors


@examples(30)
@given(seed=seeds, max_norm=st.floats(0.01, 20.0), scale=st.sampled_from([0.01, 1.0, 10.0]))
def test_clip_grad_norm_matches_pytorch(seed, max_norm, scale):
    params, tensors = make_gradients(seed, scale=scale)
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm_(params, max_norm)
    torch_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    assert type(total) is float
    assert_close(total, torch_total.item())
    for p, t in zip(params, tensors):
        assert_close(p.grad, t.grad)
    if max_norm >= total + 1e-6:
        for p, g in zip(params, before):
            np.testing.assert_array_equal(p.grad, g)
    else:
        assert grad_norm(params) == pytest.approx(max_norm * total / (total + 1e-6), rel=1e-12)


def test_clip_grad_norm_scales_every_gradient_by_the_same_factor():
    params, _ = make_gradients(2, scale=10.0)
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm_(params, 1.0)
    factor = 1.0 / (total + 1e-6)
    for p, g in zip(params, before):
        np.testing.assert_allclose(p.grad, g * factor, rtol=1e-14)


def test_clip_grad_norm_keeps_float32_and_matches_pytorch():
    params, tensors = make_gradients(3, dtype=np.float32, scale=5.0)
    total = clip_grad_norm_(params, 0.5)
    torch_total = torch.nn.utils.clip_grad_norm_(tensors, 0.5)
    assert_close(total, torch_total.item(), np.float32)
    for p, t in zip(params, tensors):
        assert p.grad.dtype == np.float32
        assert_close(p.grad, t.grad, np.float32)


@examples(20)
@given(seed=seeds, clip=st.floats(0.01, 3.0))
def test_clip_grad_value_matches_pytorch(seed, clip):
    params, tensors = make_gradients(seed, scale=2.0)
    assert clip_grad_value_(params, clip) is None
    torch.nn.utils.clip_grad_value_(tensors, clip)
    for p, t in zip(params, tensors):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert np.abs(p.grad).max() <= clip


def test_grad_norm_is_the_global_l2_norm():
    params, _ = make_gradients(4)
    everything = np.concatenate([p.grad.ravel() for p in params])
    assert grad_norm(params) == pytest.approx(np.linalg.norm(everything), rel=1e-14)


@pytest.mark.parametrize(
    "clip, value, message",
    [
        (clip_grad_norm_, 0.0, "clip_grad_norm_: max_norm must be in (0, inf], got 0.0"),
        (clip_grad_norm_, -1.0, "clip_grad_norm_: max_norm must be in (0, inf], got -1.0"),
        (clip_grad_norm_, float("nan"), "clip_grad_norm_: max_norm must be a finite number, got float nan"),
        (clip_grad_value_, 0.0, "clip_grad_value_: clip_value must be in (0, inf], got 0.0"),
        (clip_grad_value_, -2.0, "clip_grad_value_: clip_value must be in (0, inf], got -2.0"),
    ],
)
def test_clipping_refuses_non_positive_limits_and_changes_nothing(clip, value, message):
    params, _ = make_gradients(5, scale=10.0)
    before = snapshot(params)
    with pytest.raises(ValueError, match=re.escape(message)):
        clip(params, value)
    assert_unchanged(before, params)
