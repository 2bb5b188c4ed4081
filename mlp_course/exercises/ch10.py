"""The checks of chapter 10's exercises, keyed by exercise label.

* ``ch10-ex-dead-share``: ``dead_unit_share(batches)`` in NumPy: the share of a ReLU layer's
  units that output exactly 0 on EVERY example of a data set served in batches (``batches``: a
  list of arrays ``(B_i, d)``, the layer's outputs on each batch; the last batch may be smaller).
  The cases hold units that are silent on whole batches but fire on another one, units that fire
  on a single example, tiny positive outputs, batches of unequal size, float32 arrays, a layer
  with no dead unit and one with no living unit. A known mistake is named only when it
  reproduces the answer on every case.
* ``ch10-ex-hooks``: ``record_mean_std(model, X)`` with PyTorch forward hooks: for every
  activation layer of an ``nn.Sequential`` (nested ones included), the mean and the standard
  deviation (without Bessel's correction) of its output on ``X``, keyed ``"<path> <type>"`` as
  ``diagnostics.layer_names`` writes them. Besides the numbers, the check watches how the answer
  gets them: hooks on the activation layers while the model runs, a forward pass under
  ``torch.no_grad()``, every hook removed afterwards (global ones too), the model's parameters
  and its train/eval mode left alone.
* ``ch10-ex-diagnose``: ``diagnosis``, a dict run name -> label, for the four training runs that
  :func:`broken_runs` builds. A wrong label gets a hint that names the diagnostic to look at,
  not the answer.

Every case is built here, deterministically. The answers run under the checks' watch: the
course's library (``mlp_course.diagnostics`` included, which would do the work) and this module
are refused; the hooks exercise may use PyTorch.
"""

from __future__ import annotations

import copy
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised,
    WrongAnswer,
    answer_running,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = [
    "dead_share_cases", "dead_share_by_stacking", "DEAD_SHARE_MISTAKES", "dead_share_check",
    "HookCase", "hook_cases", "stats_by_slicing", "record_mean_std_check",
    "BrokenRun", "broken_runs", "LABELS", "diagnosis_check",
]

#: The chapter's toolkit would do these exercises by itself: answers may not call it (the checks'
#: watch refuses it already; named here too, so that the refusal says so).
_DIAGNOSTICS = ("mlp_course.diagnostics",)


# --------------------------------------------------------------------------
# ch10-ex-dead-share
# --------------------------------------------------------------------------


def _split(A: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return np.split(A, np.cumsum(sizes)[:-1])


def _relu_layer_outputs(rng: np.random.Generator, sizes: list[int], d_in: int, d: int,
                        shift: float, dtype=np.float64) -> list[np.ndarray]:
    """The outputs, batch by batch, of a random ReLU layer whose biases are pushed down by
    ``shift``: the larger the shift, the more units are silent on whole batches."""
    X = rng.normal(size=(sum(sizes), d_in))
    W = rng.normal(size=(d_in, d)) / np.sqrt(d_in)
    b = rng.normal(0.0, 0.5, size=d) - shift
    return _split(np.maximum(X @ W + b, 0.0).astype(dtype), sizes)


def dead_share_cases() -> list[tuple[tuple, str]]:
    """((batches,), name) pairs. The first is small enough to read: of 6 units, units 1 and 4 are 0
    everywhere (dead); units 0 and 2 fire in one batch only, unit 3 in two, unit 5 in all three;
    one example of each batch has every unit at 0. Its share is 1/3. In the third, every unit
    that fires fires in every batch, and unit 3 outputs only tiny positive values (3e-9, one per
    batch): only the "close to 0" mistakes differ from the right share there. The last has no
    living unit at all (share 1), where a share rounded down by integer division is still right
    and a test that finds no dead unit is not."""
    rng = np.random.default_rng(10)
    first = [
        np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.9],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [1.4, 0.0, 0.0, 1.5, 0.0, 0.0]]),
        np.array([[0.0, 0.0, 1.5, 0.0, 0.0, 0.2],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 1.3, 0.0, 0.0]]),
        np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 1.9],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]),
    ]
    tiny = _relu_layer_outputs(rng, [40, 40, 40], 6, 12, shift=1.5)
    alive = np.any(np.concatenate(tiny) > 0, axis=0)
    for k, batch in enumerate(tiny):
        batch[k, alive] = np.maximum(batch[k, alive], 0.25)   # every unit that fires, fires in every batch
        batch[:, 3] = 0.0
        batch[k + 5, 3] = 3e-9                                # a tiny output: unit 3 is alive (it passes gradient)
        batch[:, 5] = 0.0                                     # unit 5 is dead
    all_alive = _relu_layer_outputs(rng, [32, 32], 4, 6, shift=-3.0)
    for batch in all_alive:
        batch[0, :] = np.maximum(batch[0, :], 0.5)            # every unit fires at least once
    all_dead = [np.zeros((20, 8)), np.zeros((20, 8)), np.zeros((7, 8))]
    return [
        ((first,), "6 units in 3 batches (3, 3 and 2 examples)"),
        ((_relu_layer_outputs(rng, [64, 64, 64, 8], 10, 64, shift=1.8),),
         "64 units, batches of 64, 64, 64 and a last one of 8"),
        ((tiny,), "12 units; unit 3 outputs only tiny positive values, 3e-9"),
        ((_relu_layer_outputs(rng, [50, 50, 13], 8, 7, shift=1.2, dtype=np.float32),),
         "7 units, float32, batches of 50, 50 and 13"),
        ((_relu_layer_outputs(rng, [200], 5, 16, shift=2.5),), "one batch of 200 examples"),
        ((all_alive,), "6 units, every one fires at least once"),
        ((all_dead,), "8 units, all of them dead"),
    ]


@referee
def dead_share_by_stacking(batches):
    """All batches stacked into one array (N, d); a unit is dead when its column is all 0."""
    A = np.concatenate([np.asarray(b, dtype=np.float64) for b in batches], axis=0)
    return float(np.mean(np.all(A == 0, axis=0)))


def _stacked(batches) -> np.ndarray:
    return np.concatenate([np.asarray(b, dtype=np.float64) for b in batches], axis=0)


def _silent_per_batch(batches) -> np.ndarray:
    """(number of batches, d): whether each unit is 0 on every example of each batch."""
    return np.array([np.all(np.asarray(b) == 0, axis=0) for b in batches])


_PER_BATCH = ("this is the dead share of each batch, averaged over the batches. A unit that is silent on one "
              "batch may fire on another: it is dead only if it outputs 0 on every example of every batch. "
              "Per batch overstates the share; combine the batches first (stack them, or keep a running "
              "'zero so far' mask per unit).")
_TINY = ("tiny positive outputs are counted as 0 (np.isclose, or a threshold such as 1e-6). A unit with a "
         "positive output, however small, has a ReLU slope of 1 there and still learns; dead means exactly 0.")

DEAD_SHARE_MISTAKES = [
    (lambda batches: float(np.mean([np.mean(np.all(np.asarray(b) == 0, axis=0)) for b in batches])), _PER_BATCH),
    (lambda batches: float(sum(len(b) * np.mean(np.all(np.asarray(b) == 0, axis=0)) for b in batches)
                           / sum(len(b) for b in batches)),
     _PER_BATCH.replace("averaged over the batches", "averaged over the batches (weighted by their sizes)")),
    (lambda batches: float(np.mean(_stacked(batches) == 0)),
     "this is the share of entries that are 0, not of units. A unit is one column of the outputs; "
     "count the columns that are 0 in every row."),
    (lambda batches: float(np.mean(np.any(_stacked(batches) == 0, axis=0))),
     "this counts the units that output 0 on at least one example (np.any, or the minimum == 0). A dead "
     "unit outputs 0 on every example: use np.all, not np.any."),
    (lambda batches: float(np.mean(np.all(_stacked(batches) == 0, axis=1))),
     "the reduction runs over the wrong axis: this is the share of examples on which every unit "
     "is 0. The rows are examples and the columns units; a unit is dead when its column is all 0 "
     "(reduce over axis 0)."),
    (lambda batches: float(np.mean(np.all(_stacked(batches) < 0, axis=0))),
     "the test is `< 0`. A ReLU never outputs a negative number, so this finds no dead unit at all; "
     "a silent ReLU outputs exactly 0: test `== 0` (or `<= 0`)."),
    (lambda batches: float(np.mean(np.all(np.isclose(_stacked(batches), 0.0), axis=0))), _TINY),
    (lambda batches: float(np.mean(np.all(_stacked(batches) < 1e-6, axis=0))), _TINY),
    (lambda batches: float(np.mean(_stacked(batches).mean(axis=0) < 1e-3)),
     "a unit whose outputs are small on average is counted as dead. A unit that outputs a positive "
     "number on some example still learns from it; dead means exactly 0 on every example."),
    (lambda batches: 1.0 - float(np.mean(np.all(_stacked(batches) == 0, axis=0))),
     "this is the share of units that are alive: the dead share is one minus it."),
    (lambda batches: float(np.sum(np.all(_stacked(batches) == 0, axis=0))),
     "this is the number of dead units, not their share: divide by the number of units (the width "
     "of the layer)."),
    (lambda batches: 100.0 * float(np.mean(np.all(_stacked(batches) == 0, axis=0))),
     "this is a percentage: return the share itself, a number between 0 and 1 (no factor 100)."),
    (lambda batches: int(np.sum(np.all(_stacked(batches) == 0, axis=0))) // np.asarray(batches[0]).shape[1],
     "`//` is integer division: it rounds the share down to 0 unless every unit is dead. Divide with "
     "`/`, or take np.mean of the boolean mask."),
    (lambda batches: float(np.mean(np.any(_silent_per_batch(batches), axis=0))),
     "a unit is counted dead as soon as it is silent on one whole batch (per-batch masks combined with "
     "OR, `|`, or np.any). It is dead only if it is silent on every batch: combine the per-batch masks "
     "with AND (`&`, starting from all True), or stack the batches first."),
    (lambda batches: float(np.mean(np.mean(_silent_per_batch(batches), axis=0) > 0.5)),
     "a unit is counted dead when it is silent on most batches. It is dead only if it is silent on "
     "every batch: a single example on which it fires keeps it alive."),
    (lambda batches: float(np.mean(np.all(np.asarray(batches[-1]) == 0, axis=0))),
     "only the last batch is used (a variable overwritten in the loop?). A unit is dead only if it "
     "outputs 0 on every batch."),
    (lambda batches: float(np.mean(np.all(np.asarray(batches[0]) == 0, axis=0))),
     "only the first batch is used. A unit is dead only if it outputs 0 on every batch."),
    (lambda batches: float(np.mean(np.all(_stacked(batches[:-1]) == 0, axis=0))) if len(batches) > 1
     else float(np.mean(np.all(_stacked(batches) == 0, axis=0))),
     "the last batch is left out (batches[:-1], or a loop that stops one batch early). It is often "
     "smaller than the others, but its examples count too."),
]


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ").replace("\n", "")
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return f"<list of {len(value)} arrays of shapes {', '.join(str(v.shape) for v in value)}>"
    return repr(value)


def _share_of(result) -> tuple[float | None, str | None]:
    """The answer's result as one float, or None and what is wrong with it."""
    if result is None:
        return None, "returned None. Did you forget a `return`?"
    if hasattr(result, "detach"):
        return None, "returned a tensor: write the computation in NumPy and return a float."
    try:
        array = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"returned {type(result).__name__}, expected a float (the share of dead units)."
    if array.size != 1:
        hint = (" It looks like a boolean per unit (the mask): its mean is the share." if array.ndim == 1
                else " Reduce it to one number: the share of the units that are dead.")
        return None, f"returned an array of shape {array.shape}, expected one float.{hint}"
    return float(array.reshape(())), None


def dead_share_check(dead_unit_share, *, rtol: float = 1e-12, atol: float = 1e-12):
    """Run the answer on every case (under the watch, the toolkit refused) and compare with the
    share over all the examples at once. On the first wrong case, a known mistake is named only
    if it reproduces the answer on every case (every case on which the answer returned a number)."""
    name = "dead_unit_share"
    if dead_unit_share is None or dead_unit_share is Ellipsis:
        return not_answered(name)
    if not callable(dead_unit_share):
        raise WrongAnswer(f"{name} should be a function, got {type(dead_unit_share).__name__}.")
    cases = dead_share_cases()
    outcomes = []                                            # per case: (where, result, error)
    for number, (args, label) in enumerate(cases, start=1):
        where = f"Case {number} of {len(cases)} ({label}), {name}({', '.join(_describe(a) for a in args)})"
        try:
            with answer_running((), _DIAGNOSTICS):
                outcomes.append((where, dead_unit_share(*copy.deepcopy(args)), None))
        except NotImplementedError:
            return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
        except WrongAnswer:
            raise
        except Exception as error:
            outcomes.append((where, None, error))
    shares = [_share_of(result)[0] if error is None else None for _, result, error in outcomes]
    for (where, result, error), (args, _) in zip(outcomes, cases):
        if error is not None:
            raise AnswerRaised(error, where) from error
        value, problem = _share_of(result)
        if problem:
            raise WrongAnswer(f"{where}: {problem}")
        want = dead_share_by_stacking(*args)
        if np.isclose(value, want, rtol=rtol, atol=atol):
            continue
        message = f"{where}: your share is {value:.6g}, expected {want:.6g}."
        for mistake, hint in DEAD_SHARE_MISTAKES:
            if all(got is None or np.isclose(got, mistake(*copy.deepcopy(a)), rtol=rtol, atol=atol)
                   for got, (a, _) in zip(shares, cases)):   # every case the answer returned a number on
                raise WrongAnswer(f"{message} Likely mistake: {hint}")
        if not 0.0 <= value <= 1.0:
            message += " A share lies between 0 and 1: the number of dead units divided by the number of units."
        else:
            message += (" A unit (a column) is dead when it outputs exactly 0 on every example of every batch; "
                        "the share is the number of such units divided by the number of units d.")
        raise WrongAnswer(message)
    return passed(f"{name} passes all {len(cases)} test cases.")


@exercise("ch10-ex-dead-share", answers=("dead_unit_share",), points=2)
def _check_dead_share(dead_unit_share):
    return dead_share_check(dead_unit_share)


# --------------------------------------------------------------------------
# ch10-ex-hooks
# --------------------------------------------------------------------------

_ACTIVATION_NAMES = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")


@dataclass
class HookCase:
    """One network of the check: how to build it (a fresh copy each time), its input and a name."""

    name: str
    layers: list = field(repr=False)   # ("linear", W (d_out, d_in), b), ("act", type name, kwargs),
    #                                    ("dropout", p) or ("sequential", [more layers])
    X: np.ndarray = field(repr=False)
    training: bool = True

    def build(self):
        """A fresh float64 ``nn.Sequential`` with the case's weights, in the case's mode."""
        model = _build(self.layers)
        model.train(self.training)
        return model

    def inputs(self):
        import torch

        return torch.from_numpy(self.X.copy())


def _build(layers):
    import torch
    from torch import nn

    modules = []
    for spec in layers:
        if spec[0] == "linear":
            _, W, b = spec
            linear = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            modules.append(linear)
        elif spec[0] == "dropout":
            modules.append(nn.Dropout(spec[1]))
        elif spec[0] == "sequential":
            modules.append(_build(spec[1]))
        else:
            _, kind, kwargs = spec
            modules.append(getattr(nn, kind)(**kwargs))
    return nn.Sequential(*modules)


def _dense(rng, d_in, d_out, bias_shift=0.0):
    W = rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(d_out, d_in))
    b = rng.normal(0.0, 0.5, size=d_out) - bias_shift
    return ("linear", W, b)


def hook_cases() -> list[HookCase]:
    """Networks of several shapes and activations: ReLU in evaluation mode, tanh in training mode
    (its mean and standard deviation differ enough that swapping them shows), sigmoid and
    LeakyReLU mixed with a layer of 1 unit, one without any activation layer (the answer is an
    empty dict), one like the chapter's 10-64-32-1 network with a dropout layer, which is no
    activation, in evaluation mode, and one with two nested ``Sequential`` blocks, whose
    activation layers are named by their dotted path (``"0.1 ReLU"``). The tanh network's input
    has a large mean, so that its first layer's input and output differ clearly."""
    rng = np.random.default_rng(1010)
    relu = [_dense(rng, 3, 5), ("act", "ReLU", {}), _dense(rng, 5, 4, 0.3), ("act", "ReLU", {}),
            _dense(rng, 4, 2)]
    tanh = [_dense(rng, 4, 8), ("act", "Tanh", {}), _dense(rng, 8, 8), ("act", "Tanh", {}),
            _dense(rng, 8, 1)]
    mixed = [_dense(rng, 5, 6), ("act", "Sigmoid", {}), _dense(rng, 6, 6), ("act", "LeakyReLU", {"negative_slope": 0.1}),
             _dense(rng, 6, 1), ("act", "Tanh", {}), _dense(rng, 1, 2)]
    linear_only = [_dense(rng, 3, 4), _dense(rng, 4, 2)]
    chapter = [_dense(rng, 10, 64, 0.5), ("act", "ReLU", {}), ("dropout", 0.5), _dense(rng, 64, 32, 0.5),
               ("act", "ReLU", {}), _dense(rng, 32, 1)]
    nested = [("sequential", [_dense(rng, 4, 6), ("act", "ReLU", {})]),
              ("sequential", [_dense(rng, 6, 6), ("act", "Tanh", {})]),
              _dense(rng, 6, 3), ("act", "Sigmoid", {}), _dense(rng, 3, 1)]
    return [
        HookCase("3-5-4-2, ReLU, evaluation mode", relu, rng.normal(size=(9, 3)), training=False),
        HookCase("4-8-8-1, tanh, training mode", tanh, rng.normal(1.0, 1.5, size=(12, 4)), training=True),
        HookCase("5-6-6-1-2, sigmoid, LeakyReLU(0.1) and tanh", mixed, rng.normal(size=(20, 5))),
        HookCase("3-4-2 without an activation layer", linear_only, rng.normal(size=(6, 3))),
        HookCase("10-64-32-1, ReLU, with dropout, evaluation mode", chapter, rng.normal(size=(200, 10)),
                 training=False),
        HookCase("4-6-6-3-1 with two nested Sequential blocks", nested, rng.normal(size=(15, 4))),
    ]


def _is_activation(module) -> bool:
    return type(module).__name__ in _ACTIVATION_NAMES


def _walk(module, x, record, prefix: str = ""):
    """Run ``module`` on ``x`` child by child (into nested Sequentials), calling
    ``record(name, layer, input, output)`` for every activation layer; returns the output."""
    from torch import nn

    for key, child in module.named_children():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, nn.Sequential):
            x = _walk(child, x, record, path)
            continue
        before, x = x, child(x)
        if _is_activation(child):
            record(f"{path} {type(child).__name__}", child, before, x)
    return x


@referee
def stats_layer_by_layer(model, X):
    """The reference: the layers run one by one (no hook), the outputs of the activation layers
    summarised as (mean, standard deviation with correction 0), in float64."""
    import torch

    stats = {}

    def record(name, layer, before, after):
        stats[name] = (after.mean().item(), after.std(correction=0).item())

    with torch.no_grad():
        _walk(model, X, record)
    return stats


def _stats_with(model, X, *, inputs=False, ddof=0, per_unit=False, swap=False):
    """The statistics with one mistake: of the layers' inputs, with Bessel's correction, as the
    mean over units of the per-unit standard deviations, or as (std, mean)."""
    import torch

    stats = {}

    def record(name, layer, before, after):
        a = before if inputs else after
        std = a.std(dim=0, correction=ddof).mean() if per_unit else a.std(correction=ddof)
        pair = (a.mean().item(), std.item())
        stats[name] = pair[::-1] if swap else pair

    with torch.no_grad():
        _walk(model, X, record)
    return stats


_HOOK_MISTAKES = [
    (dict(inputs=True),
     "these are the statistics of each activation layer's INPUT (the pre-activation), not of its "
     "output. A forward hook is called as hook(module, inputs, output): `inputs` is the tuple of "
     "what went in, `output` what came out; record the output."),
    (dict(ddof=1),
     "the standard deviation has Bessel's correction (division by n - 1): torch's `.std()` does "
     "that by default. The exercise asks for the population standard deviation, `.std(correction=0)` "
     "(as np.std computes it)."),
    (dict(per_unit=True),
     "the standard deviation is taken per unit (over the examples) and then averaged. The exercise "
     "asks for one standard deviation over all the entries of the layer's output."),
    (dict(per_unit=True, ddof=1),
     "the standard deviation is taken per unit (over the examples, with Bessel's correction) and "
     "then averaged. The exercise asks for one standard deviation over all the entries of the "
     "layer's output, with correction=0."),
    (dict(swap=True),
     "the pair is (std, mean): return (mean, std), in that order."),
]


def _count_hooks(model) -> list[str]:
    """The modules that still hold a forward hook or forward pre-hook, named as in named_modules."""
    return [name or "the model itself" for name, module in model.named_modules()
            if len(module._forward_hooks) or len(module._forward_pre_hooks)]


def _global_hooks() -> dict[str, Any]:
    """PyTorch's global forward hooks and pre-hooks (register_module_forward_hook and
    register_module_forward_pre_hook), which run on every module of every model."""
    from torch.nn.modules import module

    return {"forward hook": module._global_forward_hooks, "forward pre-hook": module._global_forward_pre_hooks}


def _as_pair(value, name: str, where: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list)) \
            else type(value).__name__
        raise WrongAnswer(f"{where}: the value for {name!r} should be a pair (mean, std), got {got}.")
    pair = []
    for part, item in zip(("mean", "std"), value):
        if hasattr(item, "detach"):
            if item.numel() != 1:
                raise WrongAnswer(f"{where}: the {part} of {name!r} should be one number, got a tensor of shape "
                                  f"{tuple(item.shape)}: reduce over all the entries of the output.")
            item = item.detach().cpu().item()
        try:
            array = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError):
            raise WrongAnswer(f"{where}: the {part} of {name!r} should be a number, got "
                              f"{type(item).__name__}.") from None
        if array.size != 1:
            raise WrongAnswer(f"{where}: the {part} of {name!r} should be one number, got an array of shape "
                              f"{array.shape}: reduce over all the entries of the output.")
        pair.append(float(array.reshape(())))
    return pair[0], pair[1]


def _same_stats(got: dict, want: dict, rtol: float, atol: float) -> bool:
    if set(got) != set(want):
        return False
    return all(np.allclose(got[k], want[k], rtol=rtol, atol=atol) for k in want)


_KEY = re.compile(r"^(\d+(?:\.\d+)*) (\w+)$")


def _keys_hint(keys: list, expected: dict) -> str:
    """Why the answer's keys differ from the expected names, as far as the keys tell."""
    wanted = list(expected)
    text = [k for k in keys if isinstance(k, str)]
    if any(isinstance(k, numbers.Integral) for k in keys) or (text and all(k.strip().isdigit() for k in text)):
        return (" The keys are names like '1 ReLU': the layer's name in model.named_modules() (its position, "
                "'1'), a space, and its class name, type(layer).__name__.")
    if any(k.endswith(("Linear", "Dropout", "Sequential")) for k in text):
        return (" Only the activation layers count (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh): not nn.Linear, "
                "not nn.Dropout, not a Sequential.")
    if len(text) == len(keys) and sorted(k.lower() for k in text) == sorted(w.lower() for w in wanted):
        return (" The class name is written as type(layer).__name__ gives it, with its capitals: 'ReLU', "
                "'LeakyReLU', 'Sigmoid', 'Tanh'.")
    parsed = [_KEY.match(k) for k in text]
    if keys and len(parsed) == len(keys) and all(parsed) and all("." not in w.split()[0] for w in wanted):
        shifted = sorted(f"{int(m.group(1).split('.')[0]) - 1} {m.group(2)}" for m in parsed)
        if shifted == sorted(wanted):
            return (" The positions are one too high: model.modules() lists the model itself first. Take the "
                    "names that model.named_modules() gives (or enumerate(model) for a flat Sequential).")
    if not keys and wanted:
        return (" No layer was recorded: which types does your test accept? The activation layers are nn.ReLU, "
                "nn.LeakyReLU, nn.Sigmoid and nn.Tanh; and do the hooks write into the dict you return?")
    missing = [w for w in wanted if w not in keys]
    if set(keys) < set(wanted):
        if all("." in w.split()[0] for w in missing):
            return (f" Missing: {', '.join(map(repr, missing))}, inside a nested Sequential. Iterating over "
                    f"the model (or named_children()) sees only its direct children; model.named_modules() "
                    f"walks into the nested blocks and gives their dotted names.")
        if len(keys) == 1 and keys[0] == wanted[-1]:
            return (" Only the last layer was recorded: does each hook write under its own layer's name? A hook "
                    "defined in a loop must not read the loop variable when it runs (it would see its last "
                    "value); pass the name in, e.g. as a default argument.")
        types = sorted({w.split()[1] for w in missing})
        return (f" Missing: {', '.join(map(repr, missing))}. Does your test accept every activation type "
                f"({', '.join('nn.' + t for t in types)} here)?")
    return ""


def record_mean_std_check(record_mean_std, *, rtol: float = 1e-7, atol: float = 1e-10):
    """Run the answer on every network (PyTorch allowed, the toolkit refused), watching the forward
    passes it makes (gradient mode, and whether the activation layers carry a hook of the answer
    while they run), the hooks it leaves (on the model and global ones), the mode and the
    parameters; then compare its statistics with the referee's, naming a known mistake when one
    reproduces them."""
    import torch

    name = "record_mean_std"
    if record_mean_std is None or record_mean_std is Ellipsis:
        return not_answered(name)
    if not callable(record_mean_std):
        raise WrongAnswer(f"{name} should be a function, got {type(record_mean_std).__name__}.")
    cases = hook_cases()
    for number, case in enumerate(cases, start=1):
        where = f"Case {number} of {len(cases)} (a {case.name} network), {name}(model, X)"
        model, X = case.build(), case.inputs()
        reference_model = case.build()
        before = [p.detach().clone() for p in model.parameters()]
        modes = [(m, m.training) for m in model.modules()]
        grad_modes: list[bool] = []
        hooked: list[bool] = []                    # per call of an activation layer: an answer's hook on it?
        global_before = {kind: set(hooks) for kind, hooks in _global_hooks().items()}

        def watch(module, inputs, output, seen=grad_modes, hooked=hooked, global_before=global_before):
            seen.append(torch.is_grad_enabled())
            if _is_activation(module):
                added = any(set(hooks) - global_before[kind] for kind, hooks in _global_hooks().items())
                hooked.append(len(module._forward_hooks) > 1 or len(module._forward_pre_hooks) > 0 or added)

        ours = [m.register_forward_hook(watch) for m in model.modules()]
        try:
            with answer_running(("torch",), _DIAGNOSTICS):
                result = record_mean_std(model, X)
        except NotImplementedError:
            return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
        except WrongAnswer:
            raise
        except Exception as error:
            raise AnswerRaised(error, where) from error
        finally:
            for handle in ours:
                handle.remove()
            left_global = []
            for kind, hooks in _global_hooks().items():    # the answer's global hooks would run everywhere
                for key in set(hooks) - global_before[kind]:
                    del hooks[key]
                    left_global.append(kind)
        if left_global:
            raise WrongAnswer(
                f"{where}: after your function returned, a global {left_global[0]} was still registered "
                f"(register_module_forward_hook): it runs on every forward pass of every module, in every "
                f"model. The check has removed it. Register the hooks on the activation layers "
                f"(layer.register_forward_hook), keep the handles, and call handle.remove() on each before "
                f"you return."
            )
        left = _count_hooks(model)
        if left:
            raise WrongAnswer(
                f"{where}: after your function returned, hooks are still registered on {', '.join(left)}. "
                f"Every later forward pass would run them again (and keep recording). Keep the handle that "
                f"register_forward_hook returns, and call handle.remove() on each before you return."
            )
        changed = [m for m, mode in modes if m.training != mode]
        if changed:
            state = "evaluation" if case.training else "training"
            raise WrongAnswer(
                f"{where}: your function left the model in {state} mode. Run the model in the mode it is "
                f"in (do not call model.eval() or model.train()), or put the mode back before returning."
            )
        if any(not torch.equal(p.detach(), q) for p, q in zip(model.parameters(), before)):
            raise WrongAnswer(f"{where}: your function changed the model's parameters; it should only "
                              f"record the outputs of its activation layers.")
        if not grad_modes:
            raise WrongAnswer(
                f"{where}: no forward pass went through the model's layers. Register the hooks, then run "
                f"the model on X, model(X), so that every layer is called and its hooks fire."
            )
        if any(grad_modes):
            raise WrongAnswer(
                f"{where}: the forward pass ran with gradients enabled, so PyTorch built a graph for "
                f"nothing. Run it inside `with torch.no_grad():`."
            )
        if result is None:
            raise WrongAnswer(f"{where}: returned None. Did you forget a `return`?")
        if not isinstance(result, dict):
            raise WrongAnswer(f"{where}: returned {type(result).__name__}, expected a dict "
                              f"layer name -> (mean, std).")
        expected = stats_layer_by_layer(reference_model, case.inputs())
        keys = list(result)
        if set(keys) != set(expected):
            raise WrongAnswer(f"{where}: the keys are {sorted(map(str, keys))}, expected {sorted(expected)}."
                              + _keys_hint(keys, expected))
        if hooked and not any(hooked):
            raise WrongAnswer(
                f"{where}: the statistics must come from forward hooks, but no activation layer had a hook "
                f"of yours when it ran. Register one on each activation layer, "
                f"layer.register_forward_hook(hook), before you call model(X)."
            )
        got = {k: _as_pair(v, k, where) for k, v in result.items()}
        if _same_stats(got, expected, rtol, atol):
            continue
        for options, text in _HOOK_MISTAKES:
            if _same_stats(got, _stats_with(case.build(), case.inputs(), **options), rtol, atol):
                raise WrongAnswer(f"{where}: Likely mistake: {text}")
        bad = next(k for k in expected if not np.allclose(got[k], expected[k], rtol=rtol, atol=atol))
        relative = [abs(g - e) / max(abs(e), atol) for g, e in zip(got[bad], expected[bad])]
        message = (f"{where}: for layer {bad!r} your (mean, std) is ({got[bad][0]:.10g}, {got[bad][1]:.10g}), "
                   f"expected ({expected[bad][0]:.10g}, {expected[bad][1]:.10g}): relative differences "
                   f"{relative[0]:.1e} and {relative[1]:.1e}.")
        if max(relative) < 1e-5:
            message += (" Differences this small come from rounding: is something computed in float32 "
                        "(.float(), np.float32)? The networks are float64: summarise the output as it is.")
        else:
            message += " Summarise the layer's output over all its entries (every example and every unit)."
        raise WrongAnswer(message)
    return passed(f"{name} passes all {len(cases)} test cases.")


@exercise("ch10-ex-hooks", answers=("record_mean_std",), points=3)
def _check_hooks(record_mean_std):
    return record_mean_std_check(record_mean_std)


# --------------------------------------------------------------------------
# ch10-ex-diagnose
# --------------------------------------------------------------------------

#: The four ways the runs go wrong, with the spellings accepted for each.
LABELS = {
    "vanishing": ("vanishing", "vanishing gradient", "vanishing gradients", "gradients vanish",
                  "vanishing gradient problem"),
    "exploding": ("exploding", "exploding gradient", "exploding gradients", "gradients explode",
                  "exploding activations", "exploding gradient problem"),
    "dead relu": ("dead relu", "dead relus", "dead", "dead units", "dead relu units", "dying relu",
                  "dying relus", "dead neurons"),
    "lr too small": ("lr too small", "learning rate too small", "too small lr", "too small learning rate",
                     "small lr", "small learning rate", "lr too low", "learning rate too low", "too low lr",
                     "too low learning rate", "low lr", "low learning rate", "learning rate is too small",
                     "learning rate is too low", "lr is too small", "lr is too low"),
}

#: What goes wrong in each run. The four networks have the same layers; they differ in how they
#: start and in the learning rate, which the statement does not give.
_TRUTH = {"A": "lr too small", "B": "dead relu", "C": "exploding", "D": "vanishing"}

#: For a wrong label: the diagnostic that tells the run apart, without naming the answer.
_HINTS = {
    "vanishing": ("compare the gradient norms of its weight layers from the output back to the input "
                  "(diagnostics.layer_grad_norms after run.backward()): by how much do they change from "
                  "layer to layer? Then look at the size of the weights of each layer (their standard "
                  "deviation, or diagnostics.plot_histograms) and at the update-to-data ratios of a Monitor, "
                  "layer by layer."),
    "exploding": ("look at the std column of activation_stats(run.model, run.X) from layer to layer, and "
                  "at the losses of a few steps of run.train(...)."),
    "dead relu": ("look at how much of each layer's output is exactly 0, per unit and per entry (two "
                  "columns of activation_stats(run.model, run.X)), and at the gradient norms after "
                  "run.backward()."),
    "lr too small": ("compare, layer by layer, how much each step changes the weights with the weights "
                     "themselves (the update-to-data ratios of a Monitor over a few steps of "
                     "run.train(steps, monitor)), and put them beside the gradient norms of layer_grad_norms "
                     "after run.backward()."),
}


def _normalise(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label.strip().lower()).replace("'", "")


def _label_of(answer: str) -> str | None:
    text = _normalise(answer)
    for label, spellings in LABELS.items():
        if text in spellings:
            return label
    return None


class BrokenRun:
    """A training run that goes wrong in one way: a scratch network on churn data.

    ``model``: the ``scratch.Sequential`` (float64); ``X``, ``y``: 1,000 customers, their ten
    standardised features and their 0/1 labels (a column); ``loss_fn``: ``BCEWithLogitsLoss``.

    * ``backward()``: one forward and backward pass on the first 256 customers, without a step:
      the gradients are then in the parameters' ``.grad`` (for ``layer_grad_norms``); returns the
      loss.
    * ``train(steps, monitor=None)``: ``steps`` steps of SGD on batches of 64 in a fixed order,
      which change ``model`` in place, calling ``monitor.before_step(step)`` before and
      ``monitor.after_step()`` after each step when a ``Monitor`` is given; returns the loss of
      every step (a NumPy array). It stops at the first loss that is not finite (and returns it
      as the last one), so it may return fewer losses than ``steps``.

    :func:`broken_runs` builds fresh runs, the same every time.
    """

    def __init__(self, name: str, model, X: np.ndarray, y: np.ndarray, lr: float) -> None:
        from mlp_course import scratch

        self.name = name
        self.model = model
        self.X, self.y = X, y
        self.loss_fn = scratch.BCEWithLogitsLoss()
        self._optimizer = scratch.SGD(model.parameters(), lr=lr)
        self._next = 0

    def _loss_and_backward(self, X: np.ndarray, y: np.ndarray) -> float:
        from mlp_course.scratch.module import call_backward

        with np.errstate(over="ignore", invalid="ignore"):
            loss = self.loss_fn(self.model(X), y)
            if np.isfinite(loss):
                self.model.zero_grad()
                call_backward(self.model, self.loss_fn.backward(), input_grad=False)
        return float(loss)

    def backward(self) -> float:
        return self._loss_and_backward(self.X[:256], self.y[:256])

    def train(self, steps: int, monitor: Any = None) -> np.ndarray:
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ValueError(f"BrokenRun.train: steps must be a positive integer, got {steps!r}")
        losses = []
        for step in range(int(steps)):
            start = (self._next * 64) % len(self.X)
            self._next += 1
            loss = self._loss_and_backward(self.X[start:start + 64], self.y[start:start + 64])
            losses.append(loss)
            if not np.isfinite(loss):
                break
            with np.errstate(over="ignore", invalid="ignore"):   # huge weights: no warnings
                if monitor is not None:
                    monitor.before_step(step)
                self._optimizer.step()
                if monitor is not None:
                    monitor.after_step()
        return np.array(losses)

    def __repr__(self) -> str:
        sizes = [self.model[0].in_features] + [layer.out_features for layer in self.model
                                               if hasattr(layer, "out_features")]
        return (f"BrokenRun {self.name}: a {'-'.join(map(str, sizes))} scratch network, "
                f"{len(self.X):,} examples (print(run.model) shows its layers)")


def _churn_for_runs() -> tuple[np.ndarray, np.ndarray]:
    from mlp_course.data import make_churn

    data = make_churn(1000, seed=10)
    X = data.X.astype(np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, data.y.astype(np.float64).reshape(-1, 1)


def _deep(rng: np.random.Generator, weight_scale: float, bias: float, depth: int = 6, width: int = 32):
    """A 10-(width x depth)-1 scratch ReLU network: hidden weights N(0, s^2) with s =
    weight_scale * sqrt(2 / d_in) (He's standard deviation times weight_scale), hidden biases
    ``bias``; the output layer N(0, 1/width), bias 0."""
    from mlp_course import scratch

    model = scratch.mlp([10] + [width] * depth + [1], activation="relu", dtype=np.float64, rng=rng)
    linears = [layer for layer in model if isinstance(layer, scratch.Linear)]
    for layer in linears[:-1]:
        layer.weight.data[...] = rng.normal(0.0, weight_scale * np.sqrt(2.0 / layer.in_features),
                                            size=layer.weight.shape)
        layer.bias.data[...] = bias
    linears[-1].weight.data[...] = rng.normal(0.0, 1.0 / np.sqrt(width), size=linears[-1].weight.shape)
    linears[-1].bias.data[...] = 0.0
    return model


#: How each run starts (He's scale times a factor, the hidden biases) and its learning rate.
_SETTINGS = {
    "dead relu": (1.0, -3.0, 0.1),
    "lr too small": (1.0, 0.0, 1e-6),
    "vanishing": (0.1, 0.1, 0.1),
    "exploding": (3.0, 0.0, 0.01),
}


def broken_runs() -> dict[str, BrokenRun]:
    """Four runs, ``"A"`` to ``"D"``, each of a 10-32-32-32-32-32-32-1 ReLU network on the same
    1,000 customers, each going wrong in a different one of four ways. Built afresh, the same
    every time."""
    X, y = _churn_for_runs()
    rng = np.random.default_rng(2010)
    runs = {}
    for name in sorted(_TRUTH):
        scale, bias, lr = _SETTINGS[_TRUTH[name]]
        runs[name] = BrokenRun(name, _deep(rng, scale, bias), X, y, lr)
    return runs


def diagnosis_check(diagnosis):
    """Compare the labels with the truth; every wrong run gets the hint of its own diagnostic."""
    if diagnosis is None or diagnosis is Ellipsis:
        return not_answered("diagnosis", "set it to a dict such as {\"A\": \"...\", ...} in the cell above")
    if not isinstance(diagnosis, dict):
        raise WrongAnswer(f"diagnosis should be a dict run name -> label, such as {{'A': 'vanishing', ...}}; "
                          f"got {type(diagnosis).__name__}.")
    keys = {str(k).strip().upper(): v for k, v in diagnosis.items()}
    if set(keys) != set(_TRUTH):
        raise WrongAnswer(f"diagnosis should have one entry per run, {sorted(_TRUTH)}; got "
                          f"{sorted(map(str, diagnosis))}.")
    known = ", ".join(repr(label) for label in LABELS)
    labels = {}
    for run, value in sorted(keys.items()):
        if value is None or value is Ellipsis:
            return not_answered("diagnosis", f"give run {run} a label ({known})")
        if not isinstance(value, str) or _label_of(value) is None:
            raise WrongAnswer(f"the label of run {run} is {value!r}; use one of {known}.")
        labels[run] = _label_of(value)
    wrong = [run for run in sorted(_TRUTH) if labels[run] != _TRUTH[run]]
    if wrong:
        lines = [f"run {run}: {keys[run]!r} is not what goes wrong there; {_HINTS[_TRUTH[run]]}" for run in wrong]
        right = len(_TRUTH) - len(wrong)
        twice = ("" if len(set(labels.values())) == len(labels)
                 else " Each of the four ways occurs in exactly one run, and you used one label twice.")
        raise WrongAnswer(f"{right} of {len(_TRUTH)} runs are labelled right.{twice} " + " ".join(
            line[0].upper() + line[1:] for line in lines))
    return passed("diagnosis: all four runs are labelled right.")


@exercise("ch10-ex-diagnose", answers=("diagnosis",), points=2)
def _check_diagnose(diagnosis):
    return diagnosis_check(diagnosis)
