"""The scratch schedulers give ``torch.optim.lr_scheduler``'s learning rates step for
step (and momenta, for OneCycleLR), for two parameter groups with different base
lrs; they drive a scratch optimiser as torch's drive torch's; bad arguments are
refused before anything changes; a checkpoint resumes the schedule exactly."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from torch_reference import assert_parameters_match, assert_unchanged, snapshot, tensor

from mlp_course import scratch
from mlp_course.scratch import SGD, Adam, AdamW, CrossEntropyLoss, Linear, Parameter, RMSprop, Sequential, Tanh
from mlp_course.scratch import lr_scheduler as S

T = torch.optim.lr_scheduler
STEPS = 60
RTOL = 1e-12

# name -> (build(module, optimizer), optimizer type, optimizer options)
CASES = {
    "StepLR": (lambda M, o: M.StepLR(o, step_size=7, gamma=0.5), SGD, {}),
    "StepLR-grows": (lambda M, o: M.StepLR(o, step_size=1, gamma=1.05), Adam, {}),
    "MultiStepLR": (lambda M, o: M.MultiStepLR(o, milestones=[10, 25, 40]), SGD, {}),
    "MultiStepLR-repeated-unsorted": (lambda M, o: M.MultiStepLR(o, milestones=[30, 10, 10, 45, 30, 30], gamma=0.5), SGD, {}),
    "MultiStepLR-milestone-0": (lambda M, o: M.MultiStepLR(o, milestones=[0, 3], gamma=0.5), SGD, {}),
    "ExponentialLR": (lambda M, o: M.ExponentialLR(o, gamma=0.93), RMSprop, {}),
    "CosineAnnealingLR": (lambda M, o: M.CosineAnnealingLR(o, T_max=STEPS), SGD, {}),
    "CosineAnnealingLR-past-T_max": (lambda M, o: M.CosineAnnealingLR(o, T_max=17, eta_min=0.001), SGD, {}),
    "CosineAnnealingLR-short": (lambda M, o: M.CosineAnnealingLR(o, T_max=4, eta_min=0.002), AdamW, {}),
    "LinearLR": (lambda M, o: M.LinearLR(o), SGD, {}),
    "LinearLR-warm-up": (lambda M, o: M.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=12), Adam, {}),
    "LinearLR-decay": (lambda M, o: M.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=40), SGD, {}),
    "SequentialLR-warm-up-cosine": (
        lambda M, o: M.SequentialLR(o, [M.LinearLR(o, start_factor=0.1, total_iters=5),
                                        M.CosineAnnealingLR(o, T_max=STEPS - 5, eta_min=1e-4)], milestones=[5]),
        SGD, dict(momentum=0.9)),
    "SequentialLR-three": (
        lambda M, o: M.SequentialLR(o, [M.LinearLR(o, start_factor=0.2, total_iters=4), M.StepLR(o, 5, 0.5),
                                        M.ExponentialLR(o, 0.9)], milestones=[8, 30]),
        Adam, {}),
    "SequentialLR-restarts-from-base-lr": (
        lambda M, o: M.SequentialLR(o, [M.ExponentialLR(o, 0.8), M.StepLR(o, step_size=1, gamma=0.95),
                                        M.CosineAnnealingLR(o, T_max=20, eta_min=0.01)], milestones=[10, 30]),
        SGD, {}),
    "OneCycleLR-cos-SGD": (lambda M, o: M.OneCycleLR(o, max_lr=1.0, total_steps=STEPS), SGD, dict(momentum=0.9)),
    "OneCycleLR-linear-three-phase-SGD": (
        lambda M, o: M.OneCycleLR(o, max_lr=[1.0, 0.4], total_steps=STEPS, anneal_strategy="linear", three_phase=True,
                                  base_momentum=0.8, max_momentum=0.9), SGD, dict(momentum=0.5, nesterov=True)),
    "OneCycleLR-cos-three-phase-Adam": (
        lambda M, o: M.OneCycleLR(o, max_lr=0.01, epochs=6, steps_per_epoch=10, pct_start=0.25, three_phase=True), Adam, {}),
    "OneCycleLR-linear-AdamW": (
        lambda M, o: M.OneCycleLR(o, max_lr=[0.02, 0.005], total_steps=STEPS, anneal_strategy="linear",
                                  div_factor=10.0, final_div_factor=100.0, base_momentum=[0.8, 0.7]), AdamW, {}),
    "OneCycleLR-RMSprop": (lambda M, o: M.OneCycleLR(o, max_lr=0.01, total_steps=STEPS, pct_start=0.5), RMSprop,
                           dict(momentum=0.5)),
    "OneCycleLR-no-momentum-cycle": (
        lambda M, o: M.OneCycleLR(o, max_lr=0.1, total_steps=STEPS + 10, cycle_momentum=False), Adam, {}),
}
BASE_LRS = (0.1, 0.03)
WITH_ETA_MIN = ("CosineAnnealingLR-past-T_max", "CosineAnnealingLR-short", "SequentialLR-warm-up-cosine",
                "SequentialLR-restarts-from-base-lr")


def two_groups(module, optimizer_type, options, dtype=np.float64):
    """An optimiser (scratch, or torch's) with two groups of different base lrs."""
    if module is S:
        params = [Parameter(np.zeros(3, dtype)), Parameter(np.zeros(2, dtype))]
        optimizer = optimizer_type
    else:
        params = [torch.nn.Parameter(torch.zeros(3, dtype=torch.float64)), torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))]
        optimizer = getattr(torch.optim, optimizer_type.__name__)
    groups = [{"params": [params[0]], "lr": BASE_LRS[0]}, {"params": [params[1]], "lr": BASE_LRS[1]}]
    return optimizer(groups, **options)


def assert_same_schedule_values(optimizer, torch_optimizer, scheduler, torch_scheduler, context):
    np.testing.assert_allclose(scheduler.get_last_lr(), torch_scheduler.get_last_lr(), rtol=RTOL, atol=0, err_msg=context)
    assert scheduler.last_epoch == torch_scheduler.last_epoch, context
    for group, torch_group in zip(optimizer.param_groups, torch_optimizer.param_groups, strict=True):
        for key in ("lr", "momentum", "betas", "initial_lr", "max_lr", "min_lr"):
            if key in group or key in torch_group:
                np.testing.assert_allclose(group[key], torch_group[key], rtol=RTOL, atol=0, err_msg=f"{key} {context}")


@pytest.fixture(autouse=True)
def _quiet_torch():
    with warnings.catch_warnings():  # torch warns about scheduler.step() before optimizer.step()
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("name", CASES)
def test_schedule_equals_torch_step_for_step(name):
    build, optimizer_type, options = CASES[name]
    optimizer, torch_optimizer = two_groups(S, optimizer_type, options), two_groups(T, optimizer_type, options)
    scheduler, torch_scheduler = build(S, optimizer), build(T, torch_optimizer)
    lrs = []
    for step in range(STEPS + 1):
        assert_same_schedule_values(optimizer, torch_optimizer, scheduler, torch_scheduler, f"{name} at step {step}")
        lrs.append(scheduler.get_last_lr())
        if step < STEPS:
            scheduler.step()
            torch_scheduler.step()
    lrs = np.array(lrs)
    assert len(np.unique(lrs[:, 0])) >= 2  # the schedule does change the lr
    if not name.startswith("OneCycleLR") and name not in WITH_ETA_MIN:
        # each group's lr is its base lr times the same factor
        np.testing.assert_allclose(lrs[:, 1] * BASE_LRS[0], lrs[:, 0] * BASE_LRS[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR-past-T_max", "LinearLR-warm-up",
                                  "SequentialLR-warm-up-cosine"])
def test_a_change_made_by_hand_carries_on_as_in_torch(name):
    build, optimizer_type, options = CASES[name]
    optimizer, torch_optimizer = two_groups(S, optimizer_type, options), two_groups(T, optimizer_type, options)
    scheduler, torch_scheduler = build(S, optimizer), build(T, torch_optimizer)
    for step in range(STEPS):
        if step in (3, 20):
            for groups in (optimizer.param_groups, torch_optimizer.param_groups):
                groups[0]["lr"] *= 0.5
        scheduler.step()
        torch_scheduler.step()
        assert_same_schedule_values(optimizer, torch_optimizer, scheduler, torch_scheduler, f"{name} at step {step + 1}")


def test_construction_sets_initial_lr_base_lrs_and_step_zero():
    optimizer = two_groups(S, SGD, {})
    scheduler = S.LinearLR(optimizer, start_factor=0.5, total_iters=4)
    assert [g["initial_lr"] for g in optimizer.param_groups] == list(BASE_LRS)
    assert scheduler.base_lrs == list(BASE_LRS)
    assert scheduler.last_epoch == 0
    assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups] == [0.05, 0.015]
    scheduler.get_last_lr()[0] = 99.0  # a copy: changing it changes nothing
    assert scheduler.get_last_lr() == [0.05, 0.015]
    scheduler.step()
    assert scheduler.last_epoch == 1


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(4, 6, dtype=np.float64, rng=rng), Tanh(), Linear(6, 3, dtype=np.float64, rng=rng))
    X = rng.standard_normal((24, 4))
    y = rng.integers(0, 3, size=24)
    return model, scratch.to_torch(model), [(X[i::3], y[i::3]) for i in range(3)]


@pytest.mark.parametrize("name", ["OneCycleLR-cos-SGD", "OneCycleLR-linear-AdamW", "SequentialLR-warm-up-cosine",
                                  "MultiStepLR-repeated-unsorted"])
def test_scheduled_training_follows_torch(name):
    build, optimizer_type, options = CASES[name]
    model, torch_model, batches = make_problem()
    params, torch_params = list(model.parameters()), list(torch_model.parameters())
    optimizer = optimizer_type([{"params": params[:2], "lr": BASE_LRS[0]}, {"params": params[2:], "lr": BASE_LRS[1]}], **options)
    torch_optimizer = getattr(torch.optim, optimizer_type.__name__)(
        [{"params": torch_params[:2], "lr": BASE_LRS[0]}, {"params": torch_params[2:], "lr": BASE_LRS[1]}], **options)
    scheduler, torch_scheduler = build(S, optimizer), build(T, torch_optimizer)
    loss_fn, torch_loss_fn = CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for step in range(STEPS):
        X, y = batches[step % len(batches)]
        loss_fn(model(X), y)
        model.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        scheduler.step()
        torch_optimizer.zero_grad()
        torch_loss_fn(torch_model(tensor(X)), torch.from_numpy(y)).backward()
        torch_optimizer.step()
        torch_scheduler.step()
        assert_parameters_match(model, torch_model, context=f"{name} after step {step + 1}")


def test_a_torch_optimizer_can_be_driven_too():
    torch_optimizer = two_groups(T, SGD, {})
    scheduler = S.CosineAnnealingLR(torch_optimizer, T_max=10)
    reference = T.CosineAnnealingLR(two_groups(T, SGD, {}), T_max=10)
    for _ in range(15):
        scheduler.step()
        reference.step()
    np.testing.assert_allclose(scheduler.get_last_lr(), reference.get_last_lr(), rtol=RTOL)


def test_one_cycle_refuses_to_step_past_total_steps_like_torch():
    optimizer, torch_optimizer = two_groups(S, SGD, dict(momentum=0.9)), two_groups(T, SGD, dict(momentum=0.9))
    scheduler = S.OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    torch_scheduler = T.OneCycleLR(torch_optimizer, max_lr=1.0, total_steps=10)
    for _ in range(10):
        scheduler.step()
        torch_scheduler.step()
    before = snapshot(optimizer, scheduler)
    with pytest.raises(ValueError, match=re.escape("OneCycleLR: tried to step 11 times, but the cycle has total_steps=10")):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        torch_scheduler.step()
    assert_unchanged(before, optimizer, scheduler)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR-repeated-unsorted", "CosineAnnealingLR-past-T_max",
                                  "SequentialLR-three", "OneCycleLR-cos-three-phase-Adam", "OneCycleLR-cos-SGD"])
def test_state_dict_resumes_the_schedule_exactly(name):
    build, optimizer_type, options = CASES[name]
    optimizer = two_groups(S, optimizer_type, options)
    scheduler = build(S, optimizer)
    for _ in range(23):
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    frozen = snapshot(saved_optimizer, saved_scheduler)
    expected = []
    for _ in range(30):
        scheduler.step()
        expected.append(scheduler.get_last_lr() + [g.get("momentum", g.get("betas", (0,))[0]) for g in optimizer.param_groups])
    assert_unchanged(frozen, saved_optimizer, saved_scheduler)

    other = two_groups(S, optimizer_type, options)
    resumed = build(S, other)  # as in torch: build the scheduler, then load the states
    other.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    assert resumed.last_epoch == 23
    for row in expected:
        resumed.step()
        assert resumed.get_last_lr() + [g.get("momentum", g.get("betas", (0,))[0]) for g in other.param_groups] == row


def test_load_state_dict_refuses_another_kind_of_scheduler():
    optimizer = two_groups(S, SGD, {})
    scheduler = S.StepLR(optimizer, 5)
    other = S.ExponentialLR(two_groups(S, SGD, {}), 0.9)
    before = snapshot(scheduler)
    with pytest.raises(ValueError, match=re.escape("StepLR.load_state_dict: expected the state_dict() of a StepLR")):
        scheduler.load_state_dict(other.state_dict())
    assert_unchanged(before, scheduler)


def test_lr_scheduler_is_a_sub_module_of_scratch():
    from mlp_course.scratch import lr_scheduler

    assert scratch.lr_scheduler is lr_scheduler is S
    assert {"LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
            "SequentialLR", "OneCycleLR"} <= set(dir(scratch.lr_scheduler))
    assert all(issubclass(getattr(S, name), S.LRScheduler) for name in S.__all__)


# -- bad input ------------------------------------------------------------------------------

NOT_AN_OPTIMIZER = "optimizer must be a scratch optimiser such as scratch.SGD(model.parameters(), lr=0.1)"


def bad_cases():
    return [
        (lambda o: S.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be a positive integer, got int 0"),
        (lambda o: S.StepLR(o, step_size=-3), ValueError, "StepLR: step_size must be a positive integer, got int -3"),
        (lambda o: S.StepLR(o, step_size=2.5), ValueError, "StepLR: step_size must be a positive integer, got float 2.5"),
        (lambda o: S.StepLR(o, step_size=5, gamma=0.0), ValueError, "StepLR: gamma must be in (0, inf], got 0.0"),
        (lambda o: S.StepLR(o, step_size=5, gamma=-0.5), ValueError, "StepLR: gamma must be in (0, inf], got -0.5"),
        (lambda o: S.StepLR(scratch.mlp([2, 2]), 5), TypeError, "StepLR: " + NOT_AN_OPTIMIZER),
        (lambda o: S.StepLR(SGD, 5), TypeError, "StepLR: " + NOT_AN_OPTIMIZER),
        (lambda o: S.ExponentialLR([{"lr": 0.1}], 0.9), TypeError, "ExponentialLR: " + NOT_AN_OPTIMIZER),
        (lambda o: S.MultiStepLR(o, milestones=10), TypeError, "MultiStepLR: milestones must be a list of step numbers"),
        (lambda o: S.MultiStepLR(o, milestones=[5, -1]), ValueError, "MultiStepLR: milestones[1] must be a non-negative integer, got int -1"),
        (lambda o: S.MultiStepLR(o, milestones=[5, 7.5]), ValueError, "MultiStepLR: milestones[1] must be a non-negative integer, got float 7.5"),
        (lambda o: S.MultiStepLR(o, milestones=[5], gamma=float("nan")), ValueError, "MultiStepLR: gamma must be a finite number"),
        (lambda o: S.ExponentialLR(o, gamma=0), ValueError, "ExponentialLR: gamma must be in (0, inf], got 0"),
        (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "CosineAnnealingLR: T_max must be a positive integer, got int 0"),
        (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=-0.1), ValueError, "CosineAnnealingLR: eta_min must be in [0, inf], got -0.1"),
        (lambda o: S.LinearLR(o, start_factor=0.0), ValueError, "LinearLR: start_factor must be in (0, 1], got 0.0"),
        (lambda o: S.LinearLR(o, start_factor=1.5), ValueError, "LinearLR: start_factor must be in (0, 1], got 1.5"),
        (lambda o: S.LinearLR(o, end_factor=1.2), ValueError, "LinearLR: end_factor must be in [0, 1], got 1.2"),
        (lambda o: S.LinearLR(o, total_iters=0), ValueError, "LinearLR: total_iters must be a positive integer, got int 0"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError, "OneCycleLR: give total_steps, or both epochs and steps_per_epoch"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, epochs=5), ValueError, "OneCycleLR: give total_steps, or both epochs and steps_per_epoch"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError, "OneCycleLR: total_steps must be a positive integer, got int 0"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=0), ValueError,
         "OneCycleLR: steps_per_epoch must be a positive integer, got int 0"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="cosine"), ValueError,
         "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'cosine'"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError, "OneCycleLR: pct_start must be in [0, 1], got 1.5"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=0.1), ValueError,
         "OneCycleLR: with pct_start=0.1 and total_steps=10 a phase of the cycle has no steps"),
        (lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10), ValueError,
         "OneCycleLR: max_lr has 3 values but the optimizer has 2 parameter groups"),
        (lambda o: S.OneCycleLR(o, max_lr=-0.1, total_steps=10), ValueError, "OneCycleLR: max_lr must be in (0, inf], got -0.1"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, max_momentum=1.0), ValueError,
         "OneCycleLR: max_momentum must be in [0, 1), got 1.0"),
        (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, div_factor=0), ValueError, "OneCycleLR: div_factor must be in (0, inf], got 0"),
        (lambda o: S.OneCycleLR(_LrOnly(o), max_lr=0.1, total_steps=10), ValueError,
         "OneCycleLR: cycle_momentum=True needs an optimizer with momentum (SGD, RMSprop) or betas (Adam, AdamW)"),
    ]


class _LrOnly:
    """An optimiser-like object whose groups hold only lr (no momentum to cycle)."""

    def __init__(self, optimizer):
        self.param_groups = [{"params": g["params"], "lr": g["lr"]} for g in optimizer.param_groups]


@pytest.mark.parametrize("case", range(len(bad_cases())))
def test_bad_arguments_are_refused_before_anything_changes(case):
    make, error, message = bad_cases()[case]
    optimizer = two_groups(S, SGD, dict(momentum=0.9))
    before = snapshot(optimizer)
    with pytest.raises(error, match=re.escape(message)):
        make(optimizer)
    assert_unchanged(before, optimizer)


SEQUENTIAL_CASES = [
    (lambda o, a, b, c: S.SequentialLR(o, [], []), ValueError, "SequentialLR: schedulers must be a non-empty list of schedulers"),
    (lambda o, a, b, c: S.SequentialLR(o, [a, "cosine"], [3]), TypeError, "SequentialLR: schedulers[1] must be a scheduler"),
    (lambda o, a, b, c: S.SequentialLR(o, [a, c], [3]), ValueError, "SequentialLR: schedulers[1] (StepLR) belongs to another optimizer"),
    (lambda o, a, b, c: S.SequentialLR(o, [a, b], [3, 6]), ValueError,
     "SequentialLR: expected 1 milestone(s), one fewer than the 2 schedulers, got [3, 6]"),
    (lambda o, a, b, c: S.SequentialLR(o, [a, b, a], [6, 3]), ValueError, "SequentialLR: milestones must be increasing, got [6, 3]"),
    (lambda o, a, b, c: S.SequentialLR(o, [a, b], [0]), ValueError, "SequentialLR: milestones[0] must be a positive integer, got int 0"),
    (lambda o, a, b, c: S.SequentialLR(o, [a, b], 3), ValueError, "SequentialLR: expected 1 milestone(s)"),
]


@pytest.mark.parametrize("make, error, message", SEQUENTIAL_CASES)
def test_bad_sequential_arguments_are_refused_before_anything_changes(make, error, message):
    optimizer = two_groups(S, SGD, {})
    first, second = S.LinearLR(optimizer, 0.5, total_iters=3), S.StepLR(optimizer, 3)
    stranger = S.StepLR(two_groups(S, SGD, {}), 3)
    before = snapshot(optimizer, first, second)
    with pytest.raises(error, match=re.escape(message)):
        make(optimizer, first, second, stranger)
    assert_unchanged(before, optimizer, first, second)


def test_torch_accepts_what_we_mirror():
    """The cases where we follow torch rather than refuse: unsorted and repeated milestones,
    gamma above 1, and pct_start=0.1 failing (torch divides by zero)."""
    torch_optimizer = two_groups(T, SGD, dict(momentum=0.9))
    T.MultiStepLR(torch_optimizer, milestones=[30, 10, 10])
    T.StepLR(two_groups(T, SGD, {}), step_size=2, gamma=1.5)
    with pytest.raises(ZeroDivisionError):
        T.OneCycleLR(two_groups(T, SGD, dict(momentum=0.9)), max_lr=0.1, total_steps=10, pct_start=0.1)
