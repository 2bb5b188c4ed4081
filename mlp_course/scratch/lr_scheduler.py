"""Learning-rate schedulers for the scratch optimisers, with the names, the
arguments and the arithmetic of ``torch.optim.lr_scheduler``.

>>> optimizer = scratch.SGD(model.parameters(), lr=0.1)
>>> scheduler = lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
>>> for epoch in range(epochs):
...     train_one_epoch(...)      # optimizer.step() after every batch
...     scheduler.step()          # then the scheduler, once per epoch

A scheduler writes the new learning rate into ``group["lr"]`` of every
parameter group (the optimiser reads it at its next step). Constructing one
stores each group's starting lr in ``group["initial_lr"]`` (``base_lrs``) and
sets the lr of step 0. Like PyTorch, most schedulers compute the next lr from
the current one (a recursive form), so a change made to ``group["lr"]`` by hand
carries on; ``SequentialLR`` starts each new scheduler from its closed form.
In the formulas, ``e`` is ``last_epoch``, the number of ``step()`` calls so far.
"""

from __future__ import annotations

import copy
import math
import numbers
from bisect import bisect_right
from collections import Counter
from typing import Any, Iterable

from mlp_course.scratch._validation import check_number, check_positive_int, describe

__all__ = [
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
    "SequentialLR", "OneCycleLR",
]


def _param_groups(owner: str, optimizer: Any) -> list[dict[str, Any]]:
    """The optimizer's groups, after checking that it is an optimiser."""
    groups = getattr(optimizer, "param_groups", None)
    if (isinstance(optimizer, type) or not isinstance(groups, list) or not groups
            or not all(isinstance(g, dict) and isinstance(g.get("lr"), numbers.Real) for g in groups)):
        raise TypeError(
            f"{owner}: optimizer must be a scratch optimiser such as scratch.SGD(model.parameters(), lr=0.1) "
            f"(an object whose param_groups is a list of dicts with an 'lr'), got {describe(optimizer)}"
        )
    return groups


def _positive(owner: str, name: str, value: Any) -> float:
    return check_number(owner, name, value, low=0.0, low_open=True)


def _per_group(owner: str, name: str, value: Any, groups: list, check) -> list[float]:
    """One value per parameter group: a number for all, or a list with one each."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"{owner}: {name} has {len(value)} values but the optimizer has "
                             f"{len(groups)} parameter groups; give one number, or one per group")
        return [check(owner, f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [check(owner, name, value)] * len(groups)


def _momentum(owner: str, name: str, value: Any) -> float:
    return check_number(owner, name, value, low=0.0, high=1.0, high_open=True)


class LRScheduler:
    """Base class: ``step()`` adds one to ``last_epoch`` and writes ``get_lr()``
    into every group's ``"lr"``; sub-classes define ``get_lr`` (and the closed
    form ``_get_closed_form_lr`` where torch has one)."""

    def __init__(self, optimizer: Any) -> None:
        groups = _param_groups(type(self).__name__, optimizer)
        self.optimizer = optimizer
        for group in groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [group["initial_lr"] for group in groups]
        self.last_epoch = -1
        self._initial_step()

    def _initial_step(self) -> None:
        """Set the lr of step 0 (called by the constructor)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self) -> None:
        """Advance by one step (or epoch): call it after ``optimizer.step()``."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # a jump (SequentialLR at a milestone): the closed form, where there is one
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the scheduler set last, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of everything but the optimizer (as torch)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for a scheduler of the same kind)."""
        expected = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else describe(state_dict)
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected the state_dict() of a "
                             f"{type(self).__name__}, with keys {sorted(expected)}, got {got}")
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """lr_e = base_lr * gamma ** (e // step_size): multiply by gamma every step_size steps."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        _param_groups("StepLR", optimizer)
        self.step_size = check_positive_int("StepLR", "step_size", step_size)
        self.gamma = _positive("StepLR", "gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr_e = base_lr * gamma ** (number of milestones <= e); a milestone listed
    twice counts twice, and the order of the list does not matter (as torch)."""

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1) -> None:
        _param_groups("MultiStepLR", optimizer)
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise TypeError(f"MultiStepLR: milestones must be a list of step numbers, e.g. [30, 80], "
                            f"got {describe(milestones)}")
        milestones = list(milestones)
        for i, m in enumerate(milestones):
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 0:
                raise ValueError(f"MultiStepLR: milestones[{i}] must be a non-negative integer, got {describe(m)}")
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = _positive("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr_e = base_lr * gamma ** e: multiply by gamma at every step."""

    def __init__(self, optimizer: Any, gamma: float) -> None:
        _param_groups("ExponentialLR", optimizer)
        self.gamma = _positive("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr_e = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2, computed
    recursively from the previous lr as torch does; past T_max it rises again
    (a cosine of period 2 * T_max), with no restart."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        _param_groups("CosineAnnealingLR", optimizer)
        self.T_max = check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer)

    def get_lr(self):
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return self._current()
        if (e - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio below would be 0 / 0
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """lr_e = base_lr * (start_factor + (end_factor - start_factor) * min(e, total_iters) / total_iters):
    a linear ramp of the factor over total_iters steps, then constant (warm-up)."""

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        _param_groups("LinearLR", optimizer)
        self.start_factor = check_number("LinearLR", "start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        self.end_factor = check_number("LinearLR", "end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = check_positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor + (self.last_epoch - 1) * change)
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        change = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor + change * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """schedulers[i] runs from milestones[i - 1] to milestones[i]: at a milestone
    the next scheduler starts from its own step 0 (its closed form at e = 0),
    e.g. a LinearLR warm-up for 5 steps, then CosineAnnealingLR."""

    def __init__(self, optimizer: Any, schedulers: list[LRScheduler], milestones: list[int]) -> None:
        groups = _param_groups("SequentialLR", optimizer)
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError(f"SequentialLR: schedulers must be a non-empty list of schedulers, got {describe(schedulers)}")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"SequentialLR: schedulers[{i}] must be a scheduler of mlp_course.scratch.lr_scheduler, "
                                f"got {describe(scheduler)}")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] ({type(scheduler).__name__}) belongs to another "
                                 f"optimizer; every scheduler must be built on the optimizer given to SequentialLR")
        if not isinstance(milestones, (list, tuple)) or len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestone(s), one fewer than the "
                             f"{len(schedulers)} schedulers, got {milestones!r}")
        for i, m in enumerate(milestones):
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
                raise ValueError(f"SequentialLR: milestones[{i}] must be a positive integer, got {describe(m)}")
        if any(a >= b for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"SequentialLR: milestones must be increasing, got {list(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = 0
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in groups]
        for group in groups:  # undo the step 0 that each scheduler set when it was built
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            self._undo(scheduler)
        self._schedulers[0]._initial_step()
        self._last_lr = self._schedulers[0].get_last_lr()

    @staticmethod
    def _undo(scheduler: LRScheduler) -> None:
        if isinstance(scheduler, SequentialLR):
            for inner in scheduler._schedulers:
                SequentialLR._undo(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        expected = set(self.state_dict())
        if (not isinstance(state_dict, dict) or set(state_dict) != expected
                or len(state_dict["_schedulers"]) != len(self._schedulers)):
            raise ValueError(f"SequentialLR.load_state_dict: expected the state_dict() of a SequentialLR of "
                             f"{len(self._schedulers)} schedulers, with keys {sorted(expected)}")
        inner = state_dict["_schedulers"]
        for scheduler, state in zip(self._schedulers, inner):  # check them all before changing any
            if not isinstance(state, dict) or set(state) != set(scheduler.state_dict()):
                raise ValueError(f"SequentialLR.load_state_dict: a saved scheduler does not fit "
                                 f"{type(scheduler).__name__}")
        self.__dict__.update({key: copy.deepcopy(value) for key, value in state_dict.items() if key != "_schedulers"})
        for scheduler, state in zip(self._schedulers, inner):
            scheduler.load_state_dict(state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped after every batch: the lr goes from max_lr / div_factor
    up to max_lr over the first pct_start of total_steps, then down to
    initial_lr / final_div_factor (three_phase: back to initial_lr first, then down),
    along a half cosine ('cos') or a straight line ('linear'); with cycle_momentum
    the momentum (Adam: beta1) goes the opposite way, between max_momentum and base_momentum."""

    def __init__(self, optimizer: Any, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        name = "OneCycleLR"
        groups = _param_groups(name, optimizer)
        if total_steps is not None:
            self.total_steps = check_positive_int(name, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (check_positive_int(name, "epochs", epochs)
                                * check_positive_int(name, "steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch "
                             f"(total_steps = epochs * steps_per_epoch)")
        pct_start = check_number(name, "pct_start", pct_start, low=0.0, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        max_lrs = _per_group(name, "max_lr", max_lr, groups, _positive)
        div_factor = _positive(name, "div_factor", div_factor)
        final_div_factor = _positive(name, "final_div_factor", final_div_factor)
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if not all("momentum" in g or "betas" in g for g in groups):
                raise ValueError(f"{name}: cycle_momentum=True needs an optimizer with momentum (SGD, RMSprop) or "
                                 f"betas (Adam, AdamW); pass cycle_momentum=False")
            self.use_beta1 = "betas" in groups[0]
            max_momentums = _per_group(name, "max_momentum", max_momentum, groups, _momentum)
            base_momentums = _per_group(name, "base_momentum", base_momentum, groups, _momentum)
        total = self.total_steps
        ends = ([float(pct_start * total) - 1, float(2 * pct_start * total) - 2, total - 1] if three_phase
                else [float(pct_start * total) - 1, total - 1])
        if any(end == start for start, end in zip([0.0, *ends], ends)):
            # torch divides by zero when it reaches such a phase
            raise ValueError(f"{name}: with pct_start={pct_start} and total_steps={total} a phase of the cycle "
                             f"has no steps; choose another pct_start")
        # Everything is checked: only now change the groups.
        lrs = (["initial_lr", "max_lr", "initial_lr", "min_lr"] if three_phase else ["initial_lr", "max_lr", "min_lr"])
        momenta = (["max_momentum", "base_momentum", "max_momentum", "max_momentum"] if three_phase
                   else ["max_momentum", "base_momentum", "max_momentum"])
        self._schedule_phases = [
            {"end_step": end, "start_lr": lrs[i], "end_lr": lrs[i + 1],
             "start_momentum": momenta[i], "end_momentum": momenta[i + 1]}
            for i, end in enumerate(ends)
        ]
        self._anneal_func_type = anneal_strategy
        for i, group in enumerate(groups):
            group["initial_lr"] = max_lrs[i] / div_factor
            group["max_lr"] = max_lrs[i]
            group["min_lr"] = group["initial_lr"] / final_div_factor
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (max_momentums[i], *group["betas"][1:])
                else:
                    group["momentum"] = max_momentums[i]
                group["max_momentum"] = max_momentums[i]
                group["base_momentum"] = base_momentums[i]
        super().__init__(optimizer)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def step(self) -> None:
        if self.last_epoch + 1 > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {self.last_epoch + 1} times, but the cycle has "
                             f"total_steps={self.total_steps}; build the scheduler with total_steps (or "
                             f"epochs * steps_per_epoch) equal to the number of optimizer steps")
        super().step()

    def get_lr(self):
        step = self.last_epoch
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs
