"""The checks of chapter 12's coding exercises, keyed by exercise label.

* ``ch12-ex-adam``: ``adam_step(theta, g, state, *, lr, betas, eps, weight_decay, decoupled,
  amsgrad)``, one step of Adam (L2 with ``decoupled=False``) or AdamW (``decoupled=True``), with or
  without AMSGrad, that returns ``(new_theta, new_state)`` with PyTorch's state keys. The check runs
  it from an empty state on every case, feeding each call the state the previous one returned, and
  compares the parameters and the state after every step with ``torch.optim.Adam`` /
  ``torch.optim.AdamW`` in float64.
* ``ch12-ex-warmup-cosine``: ``warmup_cosine_lr(t, lr_max, warmup_steps, total_steps, start_factor,
  eta_min)``, the learning rate at scheduler step ``t`` of ``SequentialLR(LinearLR,
  CosineAnnealingLR)``, compared with PyTorch's scheduler at every step of several schedules.

In both, the answer runs on every case first (under the checks' watch: PyTorch and the course's
library are refused); on the first wrong value, a known mistake that reproduces the answer on every
case (else on the failing case) is named first in the message. For ``adam_step`` a mistake is named
only where it explains the failure: it reproduces the answer's parameters and state (under
PyTorch's keys), it is itself wrong at the failing step, and where the answer's state lacks keys,
it lacks them too (so the chapter's keys t, v, s get the message about the keys alone).
"""

from __future__ import annotations

import copy
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised,
    WrongAnswer,
    _compare,
    answer_running,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = [
    "AdamCase", "adam_cases", "adam_by_torch", "adam_variant", "ADAM_MISTAKES", "adam_step_check",
    "schedule_cases", "warmup_cosine_by_torch", "WARMUP_COSINE_MISTAKES", "warmup_cosine_check",
]

# --------------------------------------------------------------------------
# ch12-ex-adam
# --------------------------------------------------------------------------

_OPTION_NAMES = ("lr", "betas", "eps", "weight_decay", "decoupled", "amsgrad")


@dataclass(frozen=True)
class AdamCase:
    """One run of the check: the start, one gradient per step, and the options of every call."""

    name: str
    theta: np.ndarray = field(repr=False)
    grads: tuple = field(repr=False)
    options: dict = field(repr=False)

    def call(self) -> str:
        options = ", ".join(f"{key}={self.options[key]!r}" for key in _OPTION_NAMES)
        return f"adam_step(theta of shape {self.theta.shape}, g, state, {options})"


def adam_cases() -> list[AdamCase]:
    """The runs of the check, from a seeded generator. Case 1 has gradients from 10 down to 1e-6 in
    one vector (epsilon inside the root shows there); the decays are large enough that L2 and
    decoupled decay differ clearly; the AMSGrad cases have gradients that shrink, so that the
    running maximum differs from the average; betas other than the defaults show a swap or a
    hard-coded value, matrices a hard-coded shape; the last is AdamW with weight_decay=0, which
    must not decay at all (not fall back to AdamW's default 0.01)."""
    rng = np.random.default_rng(12)

    def gradients(shape, scale, steps, shrink=1.0):
        return tuple(rng.normal(size=shape) * scale * shrink**t for t in range(steps))

    def options(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False):
        return dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                    amsgrad=amsgrad)

    scales = np.array([10.0, 1.0, 1e-2, 1e-4, 1e-5, 1e-6])
    return [
        AdamCase("Adam with the default betas, gradients from 10 down to 1e-6", rng.normal(size=6),
                 gradients(6, scales, 8), options(0.01)),
        AdamCase("Adam with L2 (weight_decay=0.1), betas (0.8, 0.99), a 3 x 4 matrix",
                 rng.normal(size=(3, 4)), gradients((3, 4), 1.0, 8),
                 options(0.05, betas=(0.8, 0.99), weight_decay=0.1)),
        AdamCase("AdamW (decoupled, weight_decay=0.1), a 3 x 4 matrix", rng.normal(size=(3, 4)),
                 gradients((3, 4), 1.0, 8), options(0.05, weight_decay=0.1, decoupled=True)),
        AdamCase("AdamW with amsgrad, gradients that shrink", rng.normal(size=5),
                 gradients(5, 2.0, 10, shrink=0.6),
                 options(0.02, betas=(0.9, 0.99), weight_decay=0.01, decoupled=True, amsgrad=True)),
        AdamCase("Adam with amsgrad and L2 (weight_decay=0.05), betas (0.5, 0.9), gradients that shrink",
                 rng.normal(size=4), gradients(4, 1.0, 8, shrink=0.5),
                 options(0.03, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True)),
        AdamCase("Adam with a large eps=0.1, a 2 x 3 matrix", rng.normal(size=(2, 3)),
                 gradients((2, 3), 0.3, 6), options(0.1, eps=0.1)),
        AdamCase("AdamW with weight_decay=0 (no decay at all), betas (0.85, 0.95)", rng.normal(size=5),
                 gradients(5, 1.0, 6), options(0.05, betas=(0.85, 0.95), weight_decay=0.0, decoupled=True)),
    ]


def _state_values(state) -> dict[str, Any]:
    return {key: (float(value) if key == "step" else value.detach().cpu().numpy().copy())
            for key, value in state.items()}


@referee
def adam_by_torch(case: AdamCase) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """The parameters and the state after every step of torch.optim.Adam or AdamW, float64."""
    import torch

    o = case.options
    p = torch.tensor(case.theta.copy(), dtype=torch.float64, requires_grad=True)
    optimizer_class = torch.optim.AdamW if o["decoupled"] else torch.optim.Adam
    optimizer = optimizer_class([p], lr=o["lr"], betas=o["betas"], eps=o["eps"],
                                weight_decay=o["weight_decay"], amsgrad=o["amsgrad"])
    out = []
    for g in case.grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        out.append((p.detach().numpy().copy(), _state_values(optimizer.state[p])))
    return out


def adam_variant(theta, g, state, *, lr, betas, eps, weight_decay, decoupled, amsgrad,
                 correct_v=True, correct_s=True, eps_inside=False, t_from_zero=False, step_frozen=False,
                 swap_betas=False, g_not_squared=False, decay="as asked", decay_after=False,
                 decay_without_lr=False, default_decay=False, l2_first_moment_only=False,
                 amsgrad_ignored=False, amsgrad_corrected=False, amsgrad_uncorrected=False,
                 amsgrad_overwrites=False, store_corrected=False, kingma_order=False):
    """Adam's step with one mistake switched on (every flag at its default: the right step).

    ``decay="both"`` adds the L2 term and, with ``decoupled=True``, also shrinks theta;
    ``kingma_order`` is Kingma and Ba's "efficient" order, eps added to the uncorrected root."""
    beta1, beta2 = betas[::-1] if swap_betas else betas
    if default_decay and decoupled and not weight_decay:
        weight_decay = 0.01                          # the chapter's adamw default, kept for 0
    as_l2 = {"as asked": not decoupled, "L2": True, "decoupled": False, "both": True}[decay]
    shrink = (decoupled if decay == "both" else not as_l2) and not decay_after
    factor = 1 - (weight_decay if decay_without_lr else lr * weight_decay)
    g_raw = g
    if as_l2:
        g = g + weight_decay * theta
    if shrink:
        theta = factor * theta
    zeros = np.zeros_like(theta)
    t = 1 if step_frozen else state.get("step", 0) + 1
    t_correction = t - 1 if t_from_zero else t
    v = beta1 * state.get("exp_avg", zeros) + (1 - beta1) * g
    g_s = g_raw if l2_first_moment_only else g
    s = beta2 * state.get("exp_avg_sq", zeros) + (1 - beta2) * (g_s if g_not_squared else g_s * g_s)
    c1 = 1 - beta1**t_correction if correct_v else 1.0
    c2 = 1 - beta2**t_correction if correct_s else 1.0
    v_hat, s_hat = v / c1, s / c2
    new_state = {"step": t, "exp_avg": v_hat if store_corrected else v,
                 "exp_avg_sq": s_hat if store_corrected else s}
    s_raw = s
    if amsgrad and not amsgrad_ignored:
        if amsgrad_corrected:
            s_hat = new_state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", zeros), s_hat)
        elif amsgrad_overwrites:                     # the maximum written over exp_avg_sq
            m = np.maximum(state.get("exp_avg_sq", zeros), s)
            new_state["exp_avg_sq"] = new_state["max_exp_avg_sq"] = s_raw = m
            s_hat = m / c2
        else:
            m = new_state["max_exp_avg_sq"] = s_raw = np.maximum(state.get("max_exp_avg_sq", zeros), s)
            s_hat = m if amsgrad_uncorrected else m / c2
    if kingma_order:
        step = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * v / (np.sqrt(s_raw) + eps)
    else:
        denominator = np.sqrt(s_hat + eps) if eps_inside else np.sqrt(s_hat) + eps
        step = lr * v_hat / denominator
    theta = theta - step
    if decay_after and not as_l2:
        theta = factor * theta
    return theta, new_state


_BIAS = ("divide the running means by 1 - beta1**t and 1 - beta2**t, with t = 1 at the first step "
         "(the bias correction; PyTorch stores the averages uncorrected and corrects them for the step).")

#: (flags of adam_variant, hint); the first that reproduces the answer is named.
ADAM_MISTAKES: list[tuple[dict, str]] = [
    (dict(t_from_zero=True),
     "the bias correction uses t = 0 at the first step: 1 - beta**0 = 0, so the first step divides by "
     "zero and gives NaN. Count the step first (t = state's step + 1, so t = 1 at the first step), "
     "then correct with 1 - beta**t."),
    (dict(correct_v=False, correct_s=False),
     "there is no bias correction: " + _BIAS + " Without it the first steps are several times too "
     "large, since the average of the squares starts further below its value than the average of "
     "the gradients."),
    (dict(correct_v=False),
     "the first moment is not bias-corrected: divide exp_avg by 1 - beta1**t for the step, as the "
     "second moment by 1 - beta2**t."),
    (dict(amsgrad_uncorrected=True),
     "with amsgrad=True the running maximum is not bias-corrected: divide max_exp_avg_sq by "
     "1 - beta2**t for the step, sqrt(max_exp_avg_sq / (1 - beta2**t)) + eps. (Reddi and others' "
     "paper leaves the correction out; PyTorch keeps it, as for exp_avg_sq without amsgrad.)"),
    (dict(correct_s=False),
     "the second moment is not bias-corrected: divide exp_avg_sq by 1 - beta2**t for the step, as the "
     "first moment by 1 - beta1**t."),
    (dict(eps_inside=True),
     "epsilon is inside the square root, sqrt(s_hat + eps). PyTorch adds it after the root, "
     "sqrt(s_hat) + eps; the two differ where the gradients are small (here the coordinates whose "
     "gradients are 1e-4 and below)."),
    (dict(kingma_order=True),
     "the step is Kingma and Ba's 'efficient' order, lr * sqrt(1 - beta2**t) / (1 - beta1**t) * "
     "exp_avg / (sqrt(exp_avg_sq) + eps). It adds eps to the uncorrected root, which is the same as "
     "a larger eps, eps / sqrt(1 - beta2**t), in the corrected form. PyTorch adds eps after the "
     "correction: (exp_avg / (1 - beta1**t)) / (sqrt(exp_avg_sq / (1 - beta2**t)) + eps). The two "
     "differ where the gradients are small or eps is large."),
    (dict(step_frozen=True),
     "the step counter does not grow: the bias correction must use t = 1, 2, 3, ... from one call to "
     "the next. Store the new count in new_state['step'] and start from state.get('step', 0)."),
    (dict(swap_betas=True),
     "beta1 and beta2 are swapped: betas = (beta1, beta2), beta1 for the running mean of the gradients, "
     "beta2 for the running mean of their squares."),
    (dict(g_not_squared=True),
     "the second running mean averages the gradients, not their squares: "
     "exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2."),
    (dict(store_corrected=True),
     "the state holds the bias-corrected averages. Store the running means themselves (v_t and s_t, "
     "what PyTorch keeps) and correct only the values used for the step."),
    (dict(decay="L2"),
     "with decoupled=True the decay goes into the gradient (L2, as in Adam). AdamW's decay is "
     "decoupled: multiply theta by 1 - lr * weight_decay, then take Adam's step from the gradient alone."),
    (dict(decay="both"),
     "with decoupled=True the decay is applied twice: as L2 in the gradient and as the factor "
     "1 - lr * weight_decay on theta. AdamW uses only the factor (Adam's step then comes from the "
     "gradient alone); Adam, with decoupled=False, only the L2 term."),
    (dict(decay="decoupled"),
     "with decoupled=False the decay shrinks theta directly (AdamW's rule). torch.optim.Adam's "
     "weight_decay is L2: add weight_decay * theta to the gradient before the running means."),
    (dict(decay_without_lr=True),
     "the decoupled decay multiplies theta by 1 - weight_decay. AdamW's factor is 1 - lr * weight_decay."),
    (dict(default_decay=True),
     "with decoupled=True and weight_decay=0 your answer still decays theta (by AdamW's default "
     "0.01?). Use the weight_decay it is given: 0 means no decay at all."),
    (dict(l2_first_moment_only=True),
     "the L2 term reaches only the running mean of the gradients. Add weight_decay * theta to the "
     "gradient once, before both running means: exp_avg_sq averages the squares of that sum."),
    (dict(decay_after=True),
     "the decoupled decay is applied after Adam's step. PyTorch shrinks the old parameters first, "
     "theta * (1 - lr * weight_decay), then subtracts the step."),
    (dict(amsgrad_ignored=True),
     "amsgrad=True changes nothing in the step: keep the running maximum of exp_avg_sq in "
     "new_state['max_exp_avg_sq'] and divide by sqrt(max_exp_avg_sq / (1 - beta2**t)) + eps, "
     "not by the root of exp_avg_sq."),
    (dict(amsgrad_corrected=True),
     "the maximum is taken over the bias-corrected s_hat. PyTorch keeps the maximum of the raw "
     "exp_avg_sq and divides it by 1 - beta2**t of the current step."),
    (dict(amsgrad_overwrites=True),
     "with amsgrad=True exp_avg_sq holds the running maximum. Keep both: exp_avg_sq stays the "
     "running mean of g**2 (as without amsgrad), and the maximum of it goes into "
     "new_state['max_exp_avg_sq']."),
]

_STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")
_ARRAY_KEYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def _mistake_path(case: AdamCase, flags: dict) -> list[tuple[np.ndarray, dict]] | None:
    """The parameters and the state after every step of the variant with ``flags``."""
    theta, state, path = case.theta.copy(), {}, []
    try:
        with np.errstate(all="ignore"):
            for g in case.grads:
                theta, state = adam_variant(theta, g, state, **case.options, **flags)
                path.append((theta, state))
    except Exception:  # a mistake that cannot run on this case
        return None
    return path


def _agrees(got, expected, rtol: float, atol: float) -> bool:
    try:
        return _compare(got, expected, "value", rtol, atol) is None
    except Exception:
        return False


def _same_path(thetas: list, states: list, wrong: list | None, rtol: float, atol: float) -> bool:
    """Whether the answer's parameters, and the arrays of its state kept under PyTorch's keys,
    equal those of a variant at every step the answer ran."""
    if wrong is None or len(thetas) > len(wrong):
        return False
    for got, got_state, (want, want_state) in zip(thetas, states, wrong):
        if not _agrees(got, want, rtol, atol):
            return False
        for key in _ARRAY_KEYS:
            if key in got_state and key in want_state and not _agrees(got_state[key], want_state[key], rtol, atol):
                return False
    return True


def _wrong_at(wrong: list | None, expected: list, step: int, rtol: float, atol: float) -> bool:
    """Whether a variant's parameters or state differ from PyTorch's at ``step`` (1, 2, ...):
    only then can it explain a failure there."""
    if wrong is None or len(wrong) < step:
        return False
    (theta, state), (want, want_state) = wrong[step - 1], expected[step - 1]
    return not _agrees(theta, want, rtol, atol) or any(
        key in want_state and (key not in state or not _agrees(state[key], want_state[key], rtol, atol))
        for key in _ARRAY_KEYS)


#: An optimiser's step is taken entry by entry, so which rows or columns of a matrix are wrong
#: says nothing about the mistake; the generic comparison's sentence about it is left out.
_WHERE_SENTENCE = re.compile(
    r" (?:Only (?:column|row)\(s\) [\d, .]*? are wrong, in every (?:row|column)\."
    r"|The wrong entries all lie in (?:column|row)\(s\) [\d, ]*(?:\.\.\.)?\.)")


def _compare_entrywise(got, expected, name: str, rtol: float, atol: float) -> str | None:
    message = _compare(got, expected, name, rtol, atol)
    return None if message is None else _WHERE_SENTENCE.sub("", message)


def _unpack(result, where: str) -> tuple[np.ndarray, dict]:
    """The answer's (new_theta, new_state), or a WrongAnswer saying what is wrong with it."""
    if result is None:
        raise WrongAnswer(f"{where}: adam_step returned None. Did you forget a `return`?")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = (f"a {type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list))
               else type(result).__name__)
        raise WrongAnswer(f"{where}: adam_step should return the pair (new_theta, new_state), got {got}.")
    new_theta, new_state = result
    if not isinstance(new_state, dict):
        raise WrongAnswer(f"{where}: new_state (result[1]) should be a dict, got {type(new_state).__name__}.")
    return new_theta, new_state


def adam_step_check(adam_step: Callable, *, rtol: float = 1e-9, atol: float = 1e-12):
    """Run the answer on every case (from an empty state, each call getting the state the previous
    one returned), then compare every step with PyTorch, naming a known mistake where one fits."""
    name = "adam_step"
    if adam_step is None or adam_step is Ellipsis:
        return not_answered(name)
    if not callable(adam_step):
        raise WrongAnswer(f"{name} should be a function, got {type(adam_step).__name__}.")
    cases = adam_cases()
    runs = []                                    # per case: (thetas, states, error, where of the error)
    for number, case in enumerate(cases, start=1):
        theta, state, thetas, states, error, failed_at = case.theta.copy(), {}, [], [], None, None
        for step, g in enumerate(case.grads, start=1):
            where = f"Case {number} of {len(cases)} ({case.name}), step {step}: {case.call()}"
            try:
                with answer_running():
                    result = adam_step(theta.copy(), g.copy(), copy.deepcopy(state), **case.options)
            except NotImplementedError:
                return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
            except WrongAnswer:
                raise
            except Exception as raised:
                error, failed_at = raised, where
                break
            try:
                new_theta, new_state = _unpack(result, where)
            except WrongAnswer as wrong:
                error, failed_at = wrong, where
                break
            thetas.append(new_theta)
            states.append(new_state)
            try:
                theta = np.array(new_theta, dtype=np.float64)
            except Exception:
                theta = case.theta.copy()
            state = new_state
        runs.append((thetas, states, error, failed_at))

    for number, (case, (thetas, states, error, failed_at)) in enumerate(zip(cases, runs), start=1):
        expected = adam_by_torch(case)
        for step, (got, got_state, (want, want_state)) in enumerate(zip(thetas, states, expected), start=1):
            where = f"Case {number} of {len(cases)} ({case.name}), step {step}: {case.call()}"
            message, missing = _compare_entrywise(got, want, "new_theta", rtol, atol), ()
            if message is None:
                message, missing = _state_message(got_state, want_state, case, rtol, atol)
            if message is None:
                continue
            hint = _adam_hint(cases, runs, expected, number - 1, step, missing, rtol, atol)
            if step > 1 and "new_theta" in message:
                message += f" (Steps 1 to {step - 1} were right.)"
            raise WrongAnswer(f"{where}: {hint}{message}")
        if error is not None:
            if isinstance(error, WrongAnswer):
                raise error
            raise AnswerRaised(error, failed_at) from error
    return passed(f"{name} passes all {len(cases)} test cases, "
                  f"{sum(len(case.grads) for case in cases)} steps in all.")


def _adam_hint(cases, runs, expected, index, step, missing, rtol, atol) -> str:
    """The hint of the first mistake that reproduces the answer on every case, else on case
    ``index``; in both, only a mistake that is itself wrong at the failing step of that case and
    whose state there lacks the keys ``missing`` that the answer's lacks."""
    paths = {}

    def path(number, i):
        if (number, i) not in paths:
            paths[number, i] = _mistake_path(cases[number], ADAM_MISTAKES[i][0])
        return paths[number, i]

    relevant = [i for i in range(len(ADAM_MISTAKES))
                if _wrong_at(path(index, i), expected, step, rtol, atol)
                and not any(key in path(index, i)[step - 1][1] for key in missing)]
    for i in relevant:
        if all(_same_path(thetas, states, path(number, i), rtol, atol)
               for number, (thetas, states, _, _) in enumerate(runs)):
            return f"Likely mistake: {ADAM_MISTAKES[i][1]} "
    thetas, states = runs[index][0], runs[index][1]
    for i in relevant:
        if _same_path(thetas, states, path(index, i), rtol, atol):
            return f"Likely mistake: {ADAM_MISTAKES[i][1]} "
    return ""


def _state_message(got: dict, want: dict, case: AdamCase, rtol: float,
                   atol: float) -> tuple[str | None, tuple[str, ...]]:
    """What is wrong with the answer's state (None: nothing), and the keys it lacks."""
    keys = _STATE_KEYS + (("max_exp_avg_sq",) if case.options["amsgrad"] else ())
    missing = [key for key in keys if key not in got]
    if missing:
        return (f"new_state has no key {', '.join(map(repr, missing))} (it has {sorted(map(str, got))}). "
                f"Keep PyTorch's names: 'step' (the count t), 'exp_avg' (the running mean of g, the "
                f"chapter's v), 'exp_avg_sq' (of g**2, the chapter's s)"
                + (", and 'max_exp_avg_sq' for amsgrad." if case.options["amsgrad"] else "."), tuple(missing))
    step = got["step"]
    if isinstance(step, bool) or not isinstance(step, (numbers.Number, np.ndarray)) or np.size(step) != 1:
        return f"new_state['step'] should be the number of steps taken, got {step!r:.60}.", ()
    if float(np.asarray(step).reshape(())) != want["step"]:
        return (f"new_state['step'] is {float(np.asarray(step).reshape(())):g}, expected {want['step']:g}: "
                f"it counts the steps taken, 1 after the first step."), ()
    beta1, beta2 = case.options["betas"]
    for key in keys[1:]:
        message = _compare_entrywise(got[key], want[key], f"new_state[{key!r}]", rtol, atol)
        if message:
            correction = 1 - (beta1 if key == "exp_avg" else beta2) ** want["step"]
            if _agrees(got[key], np.asarray(want[key]) / correction, rtol, atol):
                message += (" It is PyTorch's value divided by 1 - beta**t: PyTorch stores the running means "
                            "before the bias correction"
                            + (" and keeps the maximum of the raw exp_avg_sq." if key == "max_exp_avg_sq" else "."))
            return message, ()
    return None, ()


@exercise("ch12-ex-adam", answers=("adam_step",), points=3)
def _check_adam(adam_step):
    return adam_step_check(adam_step)


# --------------------------------------------------------------------------
# ch12-ex-warmup-cosine
# --------------------------------------------------------------------------

#: (lr_max, warmup_steps, total_steps, start_factor, eta_min). The third has a small lr_max and
#: eta_min (a tolerance relative to the values), the fourth a warm-up of one step, the fifth a
#: cosine of one step.
_SCHEDULES = [(0.1, 5, 20, 0.1, 0.001), (1.0, 3, 10, 0.25, 0.0), (3e-3, 10, 60, 0.01, 1e-5),
              (0.5, 1, 8, 0.5, 0.05), (2.0, 4, 5, 0.2, 0.1)]


def schedule_cases() -> list[tuple[float, int, int, float, float]]:
    return list(_SCHEDULES)


@referee
def warmup_cosine_by_torch(lr_max, warmup_steps, total_steps, start_factor, eta_min) -> np.ndarray:
    """PyTorch's SequentialLR(LinearLR, CosineAnnealingLR) at scheduler steps 0, 1, ..., total_steps."""
    import torch

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr_max)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [
        torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=start_factor, total_iters=warmup_steps),
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps,
                                                   eta_min=eta_min)], milestones=[warmup_steps])
    values = [scheduler.get_last_lr()[0]]
    for _ in range(total_steps):
        optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return np.array(values)


def _schedule(t, lr_max, w, T, f, eta_min, *, warmup_divisor=None, warmup_from_one=False,
              warmup_from_zero=False, warmup_unscaled=False, warmup_added=False, cosine_shift=0,
              cosine_period=None, cosine_unshifted=False, no_eta_min=False, eta_min_added=False):
    """The schedule with one mistake switched on (every flag at its default: the right value)."""
    if t < w:
        k = t + 1 if warmup_from_one else t
        ramp = k / (w - 1 if warmup_divisor == "w - 1" else w)
        if warmup_from_zero:
            return lr_max * ramp
        if warmup_added:
            return lr_max * (f + ramp)
        factor = f + (1 - f) * ramp
        return factor if warmup_unscaled else lr_max * factor
    start = 0 if cosine_unshifted else w
    period = {None: T - w, "T": T, "T - w + 1": T - w + 1, "T - w - 1": T - w - 1}[cosine_period]
    cosine = 0.5 * (1 + math.cos(math.pi * (t - start + cosine_shift) / period))
    if no_eta_min:
        return lr_max * cosine
    if eta_min_added:
        return eta_min + lr_max * cosine
    return eta_min + (lr_max - eta_min) * cosine


_OFF_BY_ONE = ("off by one at the switch: ")
WARMUP_COSINE_MISTAKES: list[tuple[dict, str]] = [
    (dict(cosine_period="T", cosine_unshifted=True),
     "the cosine runs over all total_steps steps, from t = 0. It starts after the warm-up, from its "
     "own step 0: use (t - warmup_steps) / (total_steps - warmup_steps)."),
    (dict(cosine_period="T"),
     "the cosine spans total_steps steps. After the warm-up only total_steps - warmup_steps remain "
     "(CosineAnnealingLR's T_max): use (t - warmup_steps) / (total_steps - warmup_steps), so that it "
     "reaches eta_min at t = total_steps."),
    (dict(cosine_unshifted=True),
     "the cosine is not shifted by the warm-up: SequentialLR starts CosineAnnealingLR from its own step "
     "0 at the milestone, so it sees t - warmup_steps, not t."),
    (dict(no_eta_min=True),
     "eta_min is ignored: the cosine goes from lr_max down to eta_min, "
     "eta_min + (lr_max - eta_min) * (1 + cos(pi * progress)) / 2."),
    (dict(eta_min_added=True),
     "eta_min is added to the whole cosine of lr_max, so the schedule starts at lr_max + eta_min: the "
     "cosine spans lr_max - eta_min, eta_min + (lr_max - eta_min) * (1 + cos(pi * progress)) / 2."),
    (dict(warmup_divisor="w - 1"),
     _OFF_BY_ONE + "the warm-up reaches lr_max at t = warmup_steps - 1, one step early. LinearLR's "
     "factor is start_factor + (1 - start_factor) * t / warmup_steps, which would reach 1 at "
     "t = warmup_steps, where the cosine takes over."),
    (dict(warmup_from_one=True),
     _OFF_BY_ONE + "the warm-up counts from 1, so step 0 is already above start_factor * lr_max. At "
     "t = 0 the rate is start_factor * lr_max: use t / warmup_steps."),
    (dict(cosine_shift=1),
     _OFF_BY_ONE + "the cosine starts decaying one step early: at t = warmup_steps the rate is still "
     "lr_max (the cosine's own step 0), so use (t - warmup_steps), not (t - warmup_steps + 1)."),
    (dict(cosine_shift=-1),
     _OFF_BY_ONE + "the cosine starts one step late: at t = warmup_steps it is at its own step 0, so "
     "use (t - warmup_steps), not (t - warmup_steps - 1)."),
    (dict(cosine_period="T - w + 1"),
     "the cosine spans total_steps - warmup_steps + 1 steps, so it has not reached eta_min at "
     "t = total_steps: CosineAnnealingLR's T_max is total_steps - warmup_steps."),
    (dict(cosine_period="T - w - 1"),
     "the cosine spans total_steps - warmup_steps - 1 steps and reaches eta_min one step early: "
     "CosineAnnealingLR's T_max is total_steps - warmup_steps."),
    (dict(warmup_from_zero=True),
     "the warm-up starts from 0, lr_max * t / warmup_steps. LinearLR starts from "
     "start_factor * lr_max: lr_max * (start_factor + (1 - start_factor) * t / warmup_steps)."),
    (dict(warmup_added=True),
     "the warm-up adds t / warmup_steps to start_factor, which overshoots 1. The factor goes from "
     "start_factor to 1: start_factor + (1 - start_factor) * t / warmup_steps."),
    (dict(warmup_unscaled=True),
     "the warm-up returns the factor alone: multiply it by lr_max."),
]


def _as_number(value) -> float | None:
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array.reshape(())) if array.size == 1 else None


def _phase(t: int, w: int, T: int) -> str:
    if t < w:
        return "in the warm-up"
    if t == w:
        return "at the switch to the cosine, t = warmup_steps"
    if t == T:
        return "at the end, t = total_steps"
    return "in the cosine"


def _curve_text(values) -> str:
    return "[" + ", ".join("?" if v is None else f"{v:.6g}" for v in values) + "]"


def warmup_cosine_check(warmup_cosine_lr: Callable, *, rtol: float = 1e-9, atol: float = 1e-15):
    """Run the answer at every step of every schedule, compare with PyTorch's SequentialLR."""
    name = "warmup_cosine_lr"
    if warmup_cosine_lr is None or warmup_cosine_lr is Ellipsis:
        return not_answered(name)
    if not callable(warmup_cosine_lr):
        raise WrongAnswer(f"{name} should be a function, got {type(warmup_cosine_lr).__name__}.")
    cases = schedule_cases()
    answers = []                                 # per schedule: values (None where not a number), error
    for lr_max, w, T, f, eta_min in cases:
        values, error = [], None
        for t in range(T + 1):
            where = f"{name}({t}, {lr_max!r}, {w}, {T}, {f!r}, {eta_min!r})"
            try:
                with answer_running():
                    result = warmup_cosine_lr(t, lr_max, w, T, f, eta_min)
            except NotImplementedError:
                return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
            except WrongAnswer:
                raise
            except Exception as raised:
                error = (raised, where)
                break
            if result is None:
                error = (WrongAnswer(f"{where} returned None. Did you forget a `return`?"), where)
                break
            value = _as_number(result)
            if value is None:
                error = (WrongAnswer(f"{where} should return one number (the learning rate), got "
                                     f"{type(result).__name__}: {result!r:.60}"), where)
                break
            values.append(value)
        answers.append((values, error))

    for number, ((lr_max, w, T, f, eta_min), (values, error)) in enumerate(zip(cases, answers), start=1):
        expected = warmup_cosine_by_torch(lr_max, w, T, f, eta_min)
        label = (f"Schedule {number} of {len(cases)} (lr_max={lr_max!r}, warmup_steps={w}, total_steps={T}, "
                 f"start_factor={f!r}, eta_min={eta_min!r})")
        for t, value in enumerate(values):
            if np.isclose(value, expected[t], rtol=rtol, atol=atol):
                continue
            hint = _schedule_hint(cases, answers, number - 1, rtol, atol, warmup=t < w)
            curve = (f" Your values at t = 0, ..., {T}: {_curve_text(values)}; PyTorch's: "
                     f"{_curve_text(expected)}." if T <= 20 else "")
            raise WrongAnswer(
                f"{label}: {hint}At t = {t} ({_phase(t, w, T)}) {name} returned {value:.9g}, expected "
                f"{expected[t]:.9g}.{curve}")
        if error is not None:
            raised, where = error
            if isinstance(raised, WrongAnswer):
                raise WrongAnswer(f"{label}: {raised}")
            raise AnswerRaised(raised, f"{label}, {where}") from raised
    return passed(f"{name} passes all {len(cases)} schedules, "
                  f"{sum(T + 1 for _, _, T, _, _ in cases)} steps in all.")


def _mistake_curve(case, flags) -> list[float] | None:
    lr_max, w, T, f, eta_min = case
    try:
        return [_schedule(t, lr_max, w, T, f, eta_min, **flags) for t in range(T + 1)]
    except Exception:  # e.g. a division by w - 1 = 0
        return None


def _same_curve(values, wrong, rtol, atol) -> bool:
    return wrong is not None and len(values) <= len(wrong) and all(
        np.isclose(v, e, rtol=rtol, atol=atol) for v, e in zip(values, wrong))


def _in_phase(values, case, warmup: bool) -> list:
    """The values of the warm-up (t < w) or of the cosine (t >= w), None elsewhere."""
    w = case[1]
    return [v if (t < w) == warmup else None for t, v in enumerate(values)]


def _same_in_phase(values, wrong, case, warmup, rtol, atol) -> bool:
    return wrong is not None and len(values) <= len(wrong) and all(
        np.isclose(v, e, rtol=rtol, atol=atol)
        for v, e in zip(_in_phase(values, case, warmup), wrong) if v is not None)


def _schedule_hint(cases, answers, index, rtol, atol, warmup: bool) -> str:
    """The hint of the first mistake that reproduces the answer on every schedule, else on the
    failing schedule, else on the phase (warm-up or cosine) of the first wrong value in every
    schedule: an answer may make one mistake in each phase."""
    ran = [(case, values) for case, (values, error) in zip(cases, answers) if values]
    for flags, hint in WARMUP_COSINE_MISTAKES:
        if all(_same_curve(values, _mistake_curve(case, flags), rtol, atol) for case, values in ran):
            return f"Likely mistake: {hint} "
    for flags, hint in WARMUP_COSINE_MISTAKES:
        if _same_curve(answers[index][0], _mistake_curve(cases[index], flags), rtol, atol):
            return f"Likely mistake: {hint} "
    for flags, hint in WARMUP_COSINE_MISTAKES:
        if all(_same_in_phase(values, _mistake_curve(case, flags), case, warmup, rtol, atol)
               for case, values in ran):
            return f"Likely mistake {'in the warm-up' if warmup else 'in the cosine'}: {hint} "
    return ""


@exercise("ch12-ex-warmup-cosine", answers=("warmup_cosine_lr",), points=2)
def _check_warmup_cosine(warmup_cosine_lr):
    return warmup_cosine_check(warmup_cosine_lr)
