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
    BatchNorm1d,
    CrossEntropyLoss,
    Linear,
    RMSprop,
    Sequential,
    Tanh,
    clip_grad_norm_,
    clip_grad_value_,
    grad_norm,
    param_groups_without_decay,
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
    """The optimiser's buffers (momentum, running averages, step) equal PyTorch's, key for key,
    and every group holds PyTorch's hyper-parameters."""
    torch_params = list(torch_model.parameters())
    names = [name for name, _ in torch_model.named_parameters()]
    position = {id(tp): i for i, tp in enumerate(torch_params)}
    assert len(optimizer.param_groups) == len(torch_optimizer.param_groups)
    for group, torch_group in zip(optimizer.param_groups, torch_optimizer.param_groups):
        for key, value in group.items():
            if key != "params":
                assert key in torch_group, f"{key} is not a PyTorch group key"
                assert value == torch_group[key], f"group {key}: {value} != {torch_group[key]} {context}"
        for p, tp in zip(group["params"], torch_group["params"], strict=True):
            name = names[position[id(tp)]]
            state, torch_state = optimizer.state.get(p, {}), torch_optimizer.state[tp]
            assert set(state) == set(torch_state), f"state keys of {name}: {set(state)} != {set(torch_state)} {context}"
            for key, value in state.items():
                if key == "step":
                    assert value == int(torch_state["step"]), context
                else:
                    assert_close(value, scratch_layout(name, torch_state[key]), err_msg=f"{key} of {name} {context}")


def one_step(model, optimizer, batch):
    X, y = batch
    loss_fn = CrossEntropyLoss()
    loss = loss_fn(model(X), y)
    model.zero_grad()
    model.backward(loss_fn.backward())
    optimizer.step()
    return loss


def one_torch_step(torch_model, torch_optimizer, batch):
    X, y = batch
    torch_optimizer.zero_grad()
    loss = torch.nn.CrossEntropyLoss()(torch_model(tensor(X)), torch.from_numpy(y))
    loss.backward()
    torch_optimizer.step()
    return loss.item()


@pytest.mark.parametrize("optimizer_type, kwargs", CASES)
def test_optimiser_follows_torch_optim_step_for_step(optimizer_type, kwargs):
    model, torch_model, batches = make_problem()
    optimizer = optimizer_type(model.parameters(), **kwargs)
    torch_optimizer = getattr(torch.optim, optimizer_type.__name__)(torch_model.parameters(), **kwargs)
    initial = [p.data.copy() for p in model.parameters()]
    for step in range(STEPS):
        batch = batches[step % len(batches)]
        loss = one_step(model, optimizer, batch)
        torch_loss = one_torch_step(torch_model, torch_optimizer, batch)
        context = f"after step {step + 1} of {optimizer_type.__name__}({kwargs})"
        assert_close(loss, torch_loss, err_msg=f"loss before step {step + 1}")
        assert_parameters_match(model, torch_model, grads=True, context=context)
        assert_parameters_match(model, torch_model, context=context)
        assert_state_matches(optimizer, torch_optimizer, torch_model, context)
    assert all(not np.array_equal(a, p.data) for a, p in zip(initial, model.parameters()))


@pytest.mark.parametrize("optimizer_type", [SGD, RMSprop, Adam, AdamW])
def test_optimiser_keeps_float32_parameters_float32(optimizer_type):
    model, torch_model, batches = make_problem(dtype=np.float32)
    kwargs = dict(lr=0.01, weight_decay=0.01, momentum=0.9) if optimizer_type in (SGD, RMSprop) else dict(lr=0.01, amsgrad=True)
    optimizer = optimizer_type(model.parameters(), **kwargs)
    torch_optimizer = getattr(torch.optim, optimizer_type.__name__)(torch_model.parameters(), **kwargs)
    for step in range(5):
        one_step(model, optimizer, batches[step % len(batches)])
        one_torch_step(torch_model, torch_optimizer, batches[step % len(batches)])
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float32
        for value in optimizer.state[p].values():
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


def test_optimiser_repr_lists_every_group():
    p, q = (make_parameter(np.random.default_rng(0), (2,)) for _ in range(2))
    assert repr(SGD([p], lr=0.5)) == (
        "SGD(\n  group 0 (1 parameters): lr=0.5, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False\n)")
    text = repr(AdamW([{"params": [p]}, {"params": [q], "lr": 0.1}]))
    assert "group 0 (1 parameters): lr=0.001, betas=(0.9, 0.999)" in text and "group 1 (1 parameters): lr=0.1" in text


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


# -- parameter groups, checkpoints ----------------------------------------------

# (positions in model.parameters(): 0/1 first layer weight/bias, 2/3 second, 4/5 output layer)
GROUP_CASES = [
    (SGD, dict(lr=0.1, momentum=0.9), [([0, 2, 4], dict(weight_decay=0.1)), ([1, 3, 5], dict(lr=0.02))]),
    (SGD, dict(lr=0.05), [([0, 1], dict(momentum=0.9, nesterov=True)), ([2, 3, 4, 5], dict(lr=0.2, dampening=0.5, momentum=0.5))]),
    (RMSprop, dict(lr=0.01), [([0, 2, 4], dict(weight_decay=0.05, centered=True)), ([1, 3, 5], dict(lr=0.003, momentum=0.7))]),
    (Adam, dict(lr=0.01), [([0, 2, 4], dict(weight_decay=0.1, amsgrad=True)), ([1, 3, 5], dict(lr=0.03, betas=(0.8, 0.9)))]),
    (AdamW, dict(lr=0.01, weight_decay=0.2), [([0, 2, 4], dict()), ([5, 3, 1], dict(lr=0.002, weight_decay=0.0, eps=1e-4))]),
]
GROUP_IDS = [f"{opt.__name__}-{i}" for i, (opt, _, _) in enumerate(GROUP_CASES)]


def groups_for(model, spec):
    """The same parameter groups for a scratch model and its PyTorch copy (by position)."""
    params = list(model.parameters())
    return [{"params": [params[i] for i in indices], **options} for indices, options in spec]


def train_both(optimizer_type, kwargs, spec, steps=STEPS, change=None):
    """Train a scratch model and its PyTorch copy side by side with the same groups,
    calling ``change(step, optimizer, torch_optimizer)`` before every step."""
    model, torch_model, batches = make_problem()
    optimizer = optimizer_type(groups_for(model, spec), **kwargs)
    torch_optimizer = getattr(torch.optim, optimizer_type.__name__)(groups_for(torch_model, spec), **kwargs)
    for step in range(steps):
        if change is not None:
            change(step, optimizer, torch_optimizer, model, torch_model)
        one_step(model, optimizer, batches[step % len(batches)])
        one_torch_step(torch_model, torch_optimizer, batches[step % len(batches)])
        context = f"after step {step + 1}"
        assert_parameters_match(model, torch_model, context=context)
        assert_state_matches(optimizer, torch_optimizer, torch_model, context)
    return model, optimizer


@pytest.mark.parametrize("optimizer_type, kwargs, spec", GROUP_CASES, ids=GROUP_IDS)
def test_parameter_groups_follow_torch_step_for_step(optimizer_type, kwargs, spec):
    model, optimizer = train_both(optimizer_type, kwargs, spec)
    # each group got its own options, the rest the constructor's
    for group, (_, options) in zip(optimizer.param_groups, spec):
        for key, value in {**kwargs, **options}.items():
            assert group[key] == (tuple(value) if key == "betas" else value)
        assert set(group) == {"params", *optimizer.defaults}


@pytest.mark.parametrize("optimizer_type, kwargs, spec", GROUP_CASES, ids=GROUP_IDS)
def test_a_group_changed_mid_training_takes_effect_at_the_next_step_like_torch(optimizer_type, kwargs, spec):
    def change(step, optimizer, torch_optimizer, model, torch_model):
        if step in (6, 15):
            for groups in (optimizer.param_groups, torch_optimizer.param_groups):
                groups[0]["lr"] *= 0.3
                groups[1]["weight_decay"] = 0.05 * step
    train_both(optimizer_type, kwargs, spec, change=change)


def test_changing_the_lr_of_a_group_changes_the_next_step():
    runs = []
    for scale in (1.0, 0.0):
        model, _, batches = make_problem()
        optimizer = SGD(model.parameters(), lr=0.1)
        one_step(model, optimizer, batches[0])
        optimizer.param_groups[0]["lr"] *= scale
        before = [p.data.copy() for p in model.parameters()]
        one_step(model, optimizer, batches[1])
        runs.append(all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters())))
    assert runs == [False, True]  # lr 0 leaves every weight where it was


@pytest.mark.parametrize("optimizer_type, kwargs, spec", GROUP_CASES[::2], ids=GROUP_IDS[::2])
def test_add_param_group_mid_training_follows_torch(optimizer_type, kwargs, spec):
    first, second = spec

    def change(step, optimizer, torch_optimizer, model, torch_model):
        if step == 8:
            optimizer.add_param_group(groups_for(model, [second])[0])
            torch_optimizer.add_param_group(groups_for(torch_model, [second])[0])

    model, optimizer = train_both(optimizer_type, kwargs, [first], change=change)
    assert [len(g["params"]) for g in optimizer.param_groups] == [len(first[0]), len(second[0])]


@pytest.mark.parametrize("optimizer_type, kwargs, spec", GROUP_CASES, ids=GROUP_IDS)
def test_state_dict_round_trip_resumes_identically(optimizer_type, kwargs, spec):
    model, _, batches = make_problem()
    optimizer = optimizer_type(groups_for(model, spec), **kwargs)
    for step in range(7):
        one_step(model, optimizer, batches[step % 4])
    optimizer.param_groups[1]["lr"] *= 0.5  # a changed group is saved too
    saved, weights = optimizer.state_dict(), [p.data.copy() for p in model.parameters()]
    frozen = snapshot(saved)
    for step in range(7, 15):
        one_step(model, optimizer, batches[step % 4])
    expected = [p.data.copy() for p in model.parameters()]
    assert_unchanged(frozen, saved)  # a deep copy: training on did not change it

    resumed, _, _ = make_problem()
    for p, w in zip(resumed.parameters(), weights):
        p.data[...] = w
    other = optimizer_type(groups_for(resumed, spec), **kwargs)
    other.load_state_dict(saved)
    for step in range(7, 15):
        one_step(resumed, other, batches[step % 4])
    for p, w in zip(resumed.parameters(), expected):
        np.testing.assert_array_equal(p.data, w)
    assert_unchanged(frozen, saved)  # loading copied it as well


def test_state_dict_has_the_layout_of_torch():
    model, torch_model, batches = make_problem()
    spec = GROUP_CASES[0][2]
    optimizer = SGD(groups_for(model, spec), lr=0.1, momentum=0.9)
    torch_optimizer = torch.optim.SGD(groups_for(torch_model, spec), lr=0.1, momentum=0.9)
    one_step(model, optimizer, batches[0])
    one_torch_step(torch_model, torch_optimizer, batches[0])
    ours, theirs = optimizer.state_dict(), torch_optimizer.state_dict()
    assert set(ours) == set(theirs) == {"state", "param_groups"}
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]]
    assert sorted(ours["state"]) == sorted(theirs["state"])
    names = [name for name, _ in torch_model.named_parameters()]
    for index, state in ours["state"].items():
        position = [i for g in spec for i in g[0]][index]
        assert_close(state["momentum_buffer"], scratch_layout(names[position], theirs["state"][index]["momentum_buffer"]))


def test_load_state_dict_keeps_float32_state_float32():
    model, _, batches = make_problem(dtype=np.float32)
    optimizer = Adam(model.parameters(), lr=0.01)
    one_step(model, optimizer, batches[0])
    saved = optimizer.state_dict()
    for state in saved["state"].values():
        state["exp_avg"] = state["exp_avg"].astype(np.float64)
    optimizer.load_state_dict(saved)
    assert all(s["exp_avg"].dtype == np.float32 for s in optimizer.state.values())


def model_with_batchnorm(dtype=np.float64):
    rng = np.random.default_rng(3)
    return Sequential(Linear(4, 6, dtype=dtype, rng=rng), BatchNorm1d(6, dtype=dtype), Tanh(),
                      Linear(6, 2, dtype=dtype, rng=rng), Linear(2, 2, bias=False, dtype=dtype, rng=rng))


def test_param_groups_without_decay_splits_weights_from_biases_and_norm_parameters():
    model = model_with_batchnorm()
    groups = param_groups_without_decay(model, 0.01)
    names = {id(p): name for name, p in model.named_parameters()}
    assert [[names[id(p)] for p in g["params"]] for g in groups] == [
        ["0.weight", "3.weight", "4.weight"], ["0.bias", "1.weight", "1.bias", "3.bias"]]
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0]
    optimizer = SGD(groups, lr=0.1)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.0]


def test_param_groups_without_decay_gives_the_same_split_for_the_torch_copy():
    model = model_with_batchnorm()
    torch_model = to_torch(model)
    ours = param_groups_without_decay(model, 0.05)
    theirs = param_groups_without_decay(torch_model, 0.05)
    scratch_names = {id(p): name for name, p in model.named_parameters()}
    torch_names = {id(p): name for name, p in torch_model.named_parameters()}
    assert [[scratch_names[id(p)] for p in g["params"]] for g in ours] == [
        [torch_names[id(p)] for p in g["params"]] for g in theirs]
    assert [g["weight_decay"] for g in theirs] == [0.05, 0.0]
    torch.optim.AdamW(theirs, lr=1e-3)  # usable as it is


def test_param_groups_without_decay_leaves_out_an_empty_group():
    model = Sequential(Linear(3, 2, bias=False, dtype=np.float64))
    assert [len(g["params"]) for g in param_groups_without_decay(model, 0.1)] == [1]


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ((make_problem()[0], -0.1), ValueError, "param_groups_without_decay: weight_decay must be in [0, inf], got -0.1"),
        (([1, 2], 0.1), TypeError, "param_groups_without_decay: model must be a scratch Module or a torch.nn.Module, got list"),
    ],
)
def test_param_groups_without_decay_refuses_bad_input(arguments, error, message):
    with pytest.raises(error, match=re.escape(message)):
        param_groups_without_decay(*arguments)


def test_hyper_parameters_live_in_the_groups_only():
    model, _, _ = make_problem()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    assert optimizer.defaults == dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)
    hint = "each parameter group has its own, optimizer.param_groups[0]['lr']"
    with pytest.raises(AttributeError, match=re.escape("SGD has no attribute 'lr': " + hint)):
        optimizer.lr
    before = snapshot(optimizer)
    with pytest.raises(AttributeError, match=re.escape("for group in optimizer.param_groups: group['momentum'] = value")):
        optimizer.momentum = 0.5
    assert_unchanged(before, optimizer)
    with pytest.raises(AttributeError, match="'SGD' object has no attribute 'lrr'"):
        optimizer.lrr


def test_state_is_per_parameter_and_filled_by_the_first_step():
    model, _, batches = make_problem()
    optimizer = Adam(model.parameters())
    assert optimizer.state == {}
    one_step(model, optimizer, batches[0])
    assert list(optimizer.state) == list(model.parameters())
    assert all(set(s) == {"step", "exp_avg", "exp_avg_sq"} and s["step"] == 1 for s in optimizer.state.values())


def group_errors():
    model, _, _ = make_problem()
    ps = list(model.parameters())
    return ps, [
        (lambda: SGD([{"params": ps[:2], "lr": 0.1, "weight_decy": 0.1}], lr=0.1), ValueError,
         "SGD: param group 0 has unknown key(s) 'weight_decy'; the known keys are 'params', 'lr', 'momentum', "
         "'dampening', 'weight_decay', 'nesterov'"),
        (lambda: Adam([{"params": ps[:2]}, {"params": ps[1:3]}]), ValueError,
         "Adam: some parameters of param group 1 are already in param group 0; each parameter may be in one group only"),
        (lambda: Adam([{"params": ps[:2]}, {"params": []}]), ValueError, "Adam: param group 1 has an empty 'params' list"),
        (lambda: Adam([{"params": ps[:2]}, {"lr": 0.1}]), ValueError, "Adam: param group 1 has no 'params' key"),
        (lambda: SGD([{"params": ps[:2], "lr": -0.5}], lr=0.1), ValueError, "SGD: param_groups[0]['lr'] must be in [0, inf], got -0.5"),
        (lambda: Adam([{"params": ps[:2]}, {"params": ps[2:], "betas": (0.9, 1.0)}]), ValueError,
         "Adam: param_groups[1]['betas'][1] must be in [0, 1), got 1.0"),
        (lambda: RMSprop([{"params": ps, "alpha": 2.0}]), ValueError, "RMSprop: param_groups[0]['alpha'] must be in [0, 1], got 2.0"),
        (lambda: SGD([{"params": ps, "nesterov": True}], lr=0.1), ValueError,
         "SGD: nesterov=True needs momentum > 0 and dampening = 0 (param group 0)"),
        (lambda: SGD([{"params": set(ps)}], lr=0.1), TypeError, "SGD: the 'params' of param group 0 must be an ordered collection"),
        (lambda: SGD([{"params": [ps[0], "w"]}], lr=0.1), TypeError, "SGD: param group 0 params[1] is str 'w', expected a Parameter"),
        (lambda: SGD([{"params": [ps[0], ps[0]]}], lr=0.1), ValueError, "SGD: some parameters appear more than once in param group 0"),
        (lambda: SGD({"params": ps}, lr=0.1), TypeError, "SGD: params must be an iterable of Parameters"),
    ]


@pytest.mark.parametrize("case", range(len(group_errors()[1])))
def test_invalid_parameter_groups_are_refused_and_change_nothing(case):
    params, cases = group_errors()
    make, error, message = cases[case]
    before = snapshot(params)
    with pytest.raises(error, match=re.escape(message)):
        make()
    assert_unchanged(before, params)


@pytest.mark.parametrize(
    "group, error, message",
    [
        ({"params": "LAST"}, ValueError, "SGD: some parameters of param group 1 are already in param group 0"),
        ({"params": "NEW", "lr": -1.0}, ValueError, "SGD: param_groups[1]['lr'] must be in [0, inf], got -1.0"),
        ({"params": "NEW", "momentun": 0.9}, ValueError, "SGD: param group 1 has unknown key(s) 'momentun'"),
        (["NEW"], TypeError, "SGD: a parameter group must be a dict with a 'params' key, got list"),
    ],
)
def test_add_param_group_refuses_a_bad_group_and_changes_nothing(group, error, message):
    model, _, _ = make_problem()
    params = list(model.parameters())
    optimizer = SGD(params[:4], lr=0.1, momentum=0.9)
    fill = {"LAST": [params[3]], "NEW": params[4:]}
    group = {k: fill.get(v, v) if k == "params" else v for k, v in group.items()} if isinstance(group, dict) else group
    before = snapshot(optimizer)
    with pytest.raises(error, match=re.escape(message)):
        optimizer.add_param_group(group)
    assert_unchanged(before, optimizer)


def test_load_state_dict_refuses_a_state_that_does_not_fit_and_changes_nothing():
    model, _, batches = make_problem()
    params = list(model.parameters())
    optimizer = SGD([{"params": params[:3]}, {"params": params[3:]}], lr=0.1, momentum=0.9)
    one_step(model, optimizer, batches[0])
    good = optimizer.state_dict()
    other = SGD(params, lr=0.1, momentum=0.9)
    one_step(model, other, batches[1])
    before = snapshot(other)
    with pytest.raises(ValueError, match=re.escape("the saved state has groups of [3, 3] parameters, this optimiser groups of [6]")):
        other.load_state_dict(good)
    with pytest.raises(ValueError, match=re.escape("expected a dict with keys 'state' and 'param_groups'")):
        other.load_state_dict({"state": {}})
    swapped = other.state_dict()
    swapped["state"][0]["momentum_buffer"] = swapped["state"][1]["momentum_buffer"]
    with pytest.raises(ValueError, match=re.escape("momentum_buffer of parameter 0 has shape (8,), but the parameter has shape (5, 8)")):
        other.load_state_dict(swapped)
    beyond = other.state_dict()
    beyond["state"][6] = beyond["state"][0]
    with pytest.raises(ValueError, match=re.escape("the saved state refers to parameter 6, but there are 6 parameters")):
        other.load_state_dict(beyond)
    assert_unchanged(before, other)
