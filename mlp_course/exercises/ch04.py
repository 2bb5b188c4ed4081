"""The checks of chapter 4's coding exercises, keyed by exercise label.

* ``ch04-ex-smoothing``: ``smoothed_cross_entropy(logits, labels, smoothing)``,
  refereed by PyTorch's ``cross_entropy(..., label_smoothing=...)``;
* ``ch04-ex-pos-weight/loss`` and ``ch04-ex-pos-weight/grad``:
  ``weighted_bce_with_logits(z, y, pos_weight)`` and its gradient with respect
  to ``z``, refereed by PyTorch's ``BCEWithLogitsLoss(pos_weight=...)`` and its
  autograd.

Each PyTorch value is compared with the same value computed here in NumPy
before it is used: if the two disagree (PyTorch changed in the kernel), the
check says so instead of grading against it.

The answers are written in NumPy; the functions of
``mlp_course.scratch.functional`` (``F``) are allowed, PyTorch and the rest of
the library are not (check_function's watch fails such an answer).

The cases include logits of +-1000 and more, where a loss that takes ``exp`` of
a raw logit, or the log of a probability, overflows. The logits stay at most
1e4 in size, where every correct stable form the chapter teaches passes (near
1e20, LSE(z) - q.z would lose the loss to rounding); a result that is ``inf``
or ``nan`` gets a message that says it overflowed and what to do instead. No
case has the sizes of the notebook's globals (N = 8, K = 5), so an answer that
reads them fails, with a note that names the global.
"""

from __future__ import annotations

import builtins
import dis
import functools
import numbers
import re
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised, CheckResult, RefereeCalled, WrongAnswer, check_function, referee,
)
from mlp_course.exercises.registry import exercise

# --------------------------------------------------------------------------
# Watching the answer: a result that is inf or nan (say why), a global read
# by the answer, a result that is almost right
# --------------------------------------------------------------------------


def _non_finite(result: Any) -> str | None:
    """"inf", "nan", "-inf" (or "an array with k inf or nan entries") when ``result`` is one; else None.

    Anything that is not numbers (None, a string, a list holding None) is None here: the
    ordinary comparison of check_function reports it ("Did you forget a `return`?").
    """
    if result is None or result is Ellipsis:
        return None
    if hasattr(result, "detach") and hasattr(result, "numpy"):  # a PyTorch tensor
        result = result.detach().cpu().numpy()
    try:
        array = np.asarray(result)
    except (TypeError, ValueError):
        return None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        return None
    finite = np.isfinite(array.astype(np.float64))
    if np.all(finite):
        return None
    if array.size == 1:
        return str(float(array.reshape(())))
    return f"an array with {np.count_nonzero(~finite)} inf or nan entries out of {array.size}"


Advice = Callable[[tuple, Any], str]


class _Watched:
    """The learner's function, wrapped: an inf or nan result fails with ``advice`` (why it
    overflowed), and the last call's arguments and result are kept for the notes added to a
    failure (:func:`_run_check`).

    check_function calls the answer once per case, in order, so the wrapper counts the calls
    to name the case.
    """

    def __init__(self, fn: Callable, name: str, n_cases: int, advice: Advice) -> None:
        self.fn, self.name, self.n_cases, self.advice = fn, name, n_cases, advice
        self.calls = 0
        self.last: tuple[tuple, Any] | None = None

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        self.last = None
        result = self.fn(*args)
        self.last = (args, result)
        bad = _non_finite(result)
        if bad is not None:
            largest = max(float(np.max(np.abs(a))) for a in args[:1])
            raise WrongAnswer(
                f"Case {self.calls} of {self.n_cases}, {self.name}(...) with logits up to {largest:g} in "
                f"size: the result is {bad}. {self.advice(args, result)}"
            )
        return result


def _globals_read(fn: Any) -> dict[str, Any]:
    """The globals that ``fn`` reads (nested functions and comprehensions included) whose value is
    a whole number or an array: in a notebook, sizes like N and K, or data, set by an earlier cell."""
    code, namespace = getattr(fn, "__code__", None), getattr(fn, "__globals__", None)
    if not isinstance(code, types.CodeType) or not isinstance(namespace, dict):
        return {}
    names: list[str] = []
    stack = [code]
    while stack:
        current = stack.pop()
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval not in names:
                names.append(instruction.argval)
        stack.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    found = {}
    for name in names:
        if name not in namespace or hasattr(builtins, name):
            continue
        value = namespace[name]
        if (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or isinstance(value, np.ndarray):
            found[name] = value
    return found


def _globals_note(fn: Any, sizes: str) -> str:
    """A note naming the notebook globals that ``fn`` reads, or ""."""
    read = _globals_read(fn)
    if not read:
        return ""
    shown = ", ".join(
        f"`{name}` (= {value})" if not isinstance(value, np.ndarray)
        else f"`{name}` (an array of shape {value.shape})"
        for name, value in read.items()
    )
    which = "a global" if len(read) == 1 else "globals"
    return (
        f" Note: your function reads {which} of the notebook, {shown}, set by an earlier cell rather than "
        f"taken from its arguments; each test case has its own sizes and data: {sizes}."
    )


def _near_miss_note(watched: _Watched, cases: Sequence[tuple[Any, Any]], rtol: float, causes: str) -> str:
    """When the failing result agrees with the expected one to 4 or more digits, a note saying so."""
    if watched.last is None or not 1 <= watched.calls <= len(cases):
        return ""
    result, expected = watched.last[1], cases[watched.calls - 1][1]
    try:
        a = np.asarray(result, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    if a.shape != e.shape or not np.all(np.isfinite(a)) or e.size == 0:
        return ""
    scale = float(np.max(np.abs(e)))
    if scale == 0:
        return ""
    relative = float(np.max(np.abs(a - e))) / scale
    if not 0 < relative <= 1e-4:
        return ""
    digits = int(np.floor(-np.log10(relative)))
    return (
        f" Your result agrees with the expected one to about {digits} significant digits, but the check "
        f"allows a relative error of only {rtol:g}: the formula may be right and one step of it "
        f"approximate. {causes}"
    )


def _run_check(
    fn: Any, cases: list, name: str, rtol: float, atol: float, mistakes: Sequence[tuple[Callable, str]],
    advice: Advice, near_miss_causes: str, sizes: str,
) -> CheckResult:
    """check_function on the watched answer, with two notes added to a failure where they apply:
    the notebook globals it reads, and how close an almost-right result came."""
    if fn is None or fn is Ellipsis or not callable(fn):
        return check_function(fn, cases, name=name, rtol=rtol, atol=atol, mistakes=mistakes)
    watched = _Watched(fn, name, len(cases), advice)
    try:
        return check_function(watched, cases, name=name, rtol=rtol, atol=atol, mistakes=mistakes)
    except RefereeCalled:
        raise
    except WrongAnswer as wrong:
        message = str(wrong)
        if "Likely mistake:" not in message:
            near_miss = _near_miss_note(watched, cases, rtol, near_miss_causes)
            if near_miss:
                # Errors of rounding size all look "off by the same amount" to the generic hint.
                message = re.sub(r" Every entry is off by the same amount, [^:]*: a constant term is wrong\.",
                                 "", message) + near_miss
        message += _globals_note(fn, sizes)
        if message == str(wrong):
            raise
        raise type(wrong)(message) from None
    except AnswerRaised as raised:
        note = _globals_note(fn, sizes)
        if not note:
            raise
        raise AnswerRaised(raised.original, raised.where + "." + note) from raised.original


def _constant(text: str) -> Advice:
    return lambda args, result: text


def _quiet(function: Callable) -> Callable:
    """A mistake computed without NumPy's overflow warnings (the learner would only see them as noise)."""

    @functools.wraps(function)
    def quiet(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return function(*args)

    return quiet


def _expected_values(inputs: list, by_torch: Callable, by_numpy: Callable, what: str) -> list:
    """The cases (args, PyTorch's value), each value first compared with the same value by NumPy."""
    cases = []
    for number, args in enumerate(inputs, start=1):
        value = by_torch(*args)
        with np.errstate(all="ignore"):
            independent = by_numpy(*args)
        if not np.allclose(value, independent, rtol=1e-10, atol=1e-14):
            raise WrongAnswer(
                f"The check's two references for {what} disagree on case {number} of {len(inputs)}: "
                f"PyTorch and NumPy give different values. Has PyTorch (torch.nn.functional, say) been "
                f"changed in this kernel? Restart the kernel, run the notebook again, and check again."
            )
        cases.append((args, value))
    return cases


# --------------------------------------------------------------------------
# ch04-ex-smoothing: cross-entropy with label smoothing
# --------------------------------------------------------------------------


@referee
def _smoothed_cross_entropy_by_torch(logits, labels, smoothing):
    """PyTorch's cross-entropy with label smoothing, in float64."""
    import torch
    import torch.nn.functional as TF

    logits_t = torch.tensor(np.asarray(logits, dtype=np.float64))
    labels_t = torch.tensor(np.asarray(labels, dtype=np.int64))
    return TF.cross_entropy(logits_t, labels_t, label_smoothing=float(smoothing)).item()


def _smoothing_inputs() -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(404)
    return [
        # Square (N = K = 3), labels a permutation: a transposed one-hot matrix gives another loss.
        (rng.normal(scale=2, size=(3, 3)), np.array([2, 0, 1]), 0.25),
        (rng.normal(scale=2, size=(5, 10)), rng.integers(0, 10, size=5), 0.0),   # plain CE
        (rng.normal(scale=2, size=(6, 4)), rng.integers(0, 4, size=6), 0.1),
        # Huge and tiny logits: exp(1000) overflows, exp(-1000) and exp(-1e4) underflow to 0.
        (np.array([[1000.0, 999.0, 998.0], [0.0, -1000.0, 5.0], [-1e4, -1e4, -1e4 + 1]]),
         np.array([0, 1, 2]), 0.2),
        (np.array([[800.0, -800.0], [-800.0, 800.0]]), np.array([0, 0]), 0.05),   # K = 2
        (np.full((2, 7), 1000.0), np.array([3, 6]), 0.3),                           # loss: log 7
    ]


def _log_softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[labels]


def _loss_with_targets(targets: np.ndarray, logits: np.ndarray, axis: int = 1) -> float:
    return float(-np.mean(np.sum(targets * _log_softmax(logits, axis=axis), axis=1)))


def _smoothed_targets(labels: np.ndarray, n_classes: int, smoothing: float) -> np.ndarray:
    return (1 - smoothing) * _one_hot(labels, n_classes) + smoothing / n_classes


# The plausible mistakes, each a function of the case's arguments.


def _spread_over_the_others(logits, labels, smoothing):
    n_classes = logits.shape[1]
    one_hot = _one_hot(labels, n_classes)
    targets = (1 - smoothing) * one_hot + smoothing / (n_classes - 1) * (1 - one_hot)
    return _loss_with_targets(targets, logits)


def _label_without_its_share(logits, labels, smoothing):
    n_classes = logits.shape[1]
    one_hot = _one_hot(labels, n_classes)
    targets = (1 - smoothing) * one_hot + smoothing / n_classes * (1 - one_hot)
    return _loss_with_targets(targets, logits)


def _smoothing_swapped(logits, labels, smoothing):
    n_classes = logits.shape[1]
    targets = smoothing * _one_hot(labels, n_classes) + (1 - smoothing) / n_classes
    return _loss_with_targets(targets, logits)


def _sum_over_examples(logits, labels, smoothing):
    return len(logits) * _loss_with_targets(_smoothed_targets(labels, logits.shape[1], smoothing), logits)


def _mean_over_classes_too(logits, labels, smoothing):
    targets = _smoothed_targets(labels, logits.shape[1], smoothing)
    return float(-np.mean(targets * _log_softmax(logits)))


def _softmax_over_examples(logits, labels, smoothing):
    targets = _smoothed_targets(labels, logits.shape[1], smoothing)
    return _loss_with_targets(targets, logits, axis=0)


def _one_hot_transposed(logits, labels, smoothing):
    n_classes = logits.shape[1]
    targets = (1 - smoothing) * _one_hot(labels, n_classes).T + smoothing / n_classes
    return _loss_with_targets(targets, logits)


def _labels_as_targets_by_row(logits, labels, smoothing):
    targets = (1 - smoothing) * labels[:, None] + smoothing / logits.shape[1]
    return _loss_with_targets(targets, logits)


def _labels_as_targets_by_column(logits, labels, smoothing):
    targets = (1 - smoothing) * labels[None, :] + smoothing / logits.shape[1]
    return _loss_with_targets(targets, logits)


def _ten_classes_hard_coded(logits, labels, smoothing):
    targets = (1 - smoothing) * _one_hot(labels, logits.shape[1]) + smoothing / 10
    return _loss_with_targets(targets, logits)


def _not_divided_by_classes(logits, labels, smoothing):
    targets = (1 - smoothing) * _one_hot(labels, logits.shape[1]) + smoothing
    return _loss_with_targets(targets, logits)


def _loss_of_log_p(logits, labels, smoothing, log_p):
    return float(-np.mean(np.sum(_smoothed_targets(labels, logits.shape[1], smoothing) * log_p, axis=1)))


# The max of each row without keepdims=True: an (N,) array subtracted from the (N, K) logits
# broadcasts along the rows, so column j loses row j's max. Only a square case (N = K) runs; elsewhere
# NumPy raises, and the learner sees that error as theirs. (A sum or a log-sum-exp without keepdims
# gives the right loss on the square cases, whose labels are a permutation, and raises on the others.)


@_quiet
def _max_without_keepdims(logits, labels, smoothing):
    shifted = logits - logits.max(axis=1)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return _loss_of_log_p(logits, labels, smoothing, log_p)


@_quiet
def _lse_over_the_whole_matrix(logits, labels, smoothing):
    c = logits.max()
    return _loss_of_log_p(logits, labels, smoothing, logits - (c + np.log(np.sum(np.exp(logits - c)))))


@_quiet
def _sum_over_the_whole_matrix(logits, labels, smoothing):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return _loss_of_log_p(logits, labels, smoothing, shifted - np.log(np.sum(np.exp(shifted))))


def _picked_with_a_colon(logits, labels, smoothing):
    """log_P[:, labels], an (N, N) array, where log_P[np.arange(N), labels] was meant."""
    log_p = _log_softmax(logits)
    return float((1 - smoothing) * -np.mean(log_p[:, labels]) + smoothing * -np.mean(log_p))


_KEEPDIMS_HINT = (
    "the max of each row is subtracted without keepdims=True: logits.max(axis=1) has shape (N,), and "
    "subtracted from the (N, K) logits it broadcasts along the rows, so column j loses row j's max. "
    "Keep the axis: logits.max(axis=1, keepdims=True). This case is square (N = K), so no shape error "
    "warned you."
)
_WHOLE_MATRIX_HINT = (
    "the log-sum-exp runs over the whole matrix: a max or a sum without axis=1 mixes the logits of "
    "different examples. Each row (one example) needs its own, with axis=1 and keepdims=True."
)

_NOT_ONE_HOT = (
    "`labels` holds class numbers (0 to K - 1), not target rows: build the one-hot rows from "
    "them first (np.eye(K)[labels], or set a 1 at [np.arange(N), labels]), then smooth those."
)

SMOOTHING_MISTAKES: list[tuple[Callable, str]] = [
    (_spread_over_the_others,
     "epsilon is spread over the K - 1 other classes (epsilon / (K - 1) each). Here, as in PyTorch's "
     "label_smoothing, every class gets epsilon / K, the label's class included: "
     "q = (1 - epsilon) e_y + (epsilon / K) 1."),
    (_label_without_its_share,
     "the label's class gets only 1 - epsilon. It gets its share epsilon / K as well, "
     "1 - epsilon + epsilon / K, so that each target row sums to 1."),
    (_smoothing_swapped,
     "epsilon and 1 - epsilon are swapped: the label keeps 1 - epsilon, and epsilon is spread evenly "
     "over the K classes."),
    (_sum_over_examples,
     "the loss is summed over the N examples; it is their mean (a sum over the K classes, "
     "then a mean over the examples)."),
    (_mean_over_classes_too,
     "the loss is averaged over the K classes as well; sum q_ik log P_ik over the classes, "
     "then average over the N examples only."),
    (_softmax_over_examples,
     "the softmax (or the log-sum-exp) runs over the wrong axis: each row (axis=1) holds the K "
     "logits of one example."),
    (_one_hot_transposed,
     "the one-hot matrix is transposed: row i must hold the 1 in column labels[i]."),
    (_labels_as_targets_by_row, _NOT_ONE_HOT),
    (_labels_as_targets_by_column, _NOT_ONE_HOT),
    (_ten_classes_hard_coded,
     "K is hard-coded as 10: take the number of classes from the logits, logits.shape[1]."),
    (_not_divided_by_classes,
     "epsilon is added to every class in full; each class gets epsilon / K, so that the target row "
     "sums to 1. (A blend (1 - epsilon) CE + epsilon (...) with a sum of -log P_ik over the classes, "
     "instead of their mean, makes the same mistake.)"),
    (_max_without_keepdims, _KEEPDIMS_HINT),
    (_lse_over_the_whole_matrix, _WHOLE_MATRIX_HINT),
    (_sum_over_the_whole_matrix, _WHOLE_MATRIX_HINT),
    (_picked_with_a_colon,
     "log_P[:, labels] picks, for every example, the columns of all N labels (an (N, N) array); "
     "log_P[np.arange(N), labels] picks one entry per row, row i and column labels[i]."),
]

SMOOTHING_OVERFLOW = (
    "A float overflowed, or a probability underflowed to 0 before its log: np.exp of a logit "
    "above about 709.78 is inf, and inf / inf is nan; e^(-1000) rounds to 0, and log(0) is -inf. "
    "So never take exp of the raw logits, nor the log of a softmax: take the log-sum-exp with the "
    "max shift, log P_ik = (z_ik - c_i) - log(sum_j exp(z_ij - c_i)) with c_i the largest logit "
    "of row i."
)


SMOOTHING_NEAR_MISS = (
    "Float32 arithmetic (a float32 copy of the logits, or np.float32 numbers) or a small constant added "
    "inside a log, log(P + 1e-8), would explain a gap this small: compute in float64, and take log P "
    "from the log-sum-exp, not the log of P."
)


def _smoothed_cross_entropy_by_numpy(logits, labels, smoothing):
    return _loss_with_targets(_smoothed_targets(labels, logits.shape[1], smoothing), logits)


@exercise("ch04-ex-smoothing", answers=("smoothed_cross_entropy",), points=3)
def _check_smoothing(smoothed_cross_entropy) -> CheckResult:
    cases = _expected_values(_smoothing_inputs(), _smoothed_cross_entropy_by_torch,
                             _smoothed_cross_entropy_by_numpy, "smoothed_cross_entropy")
    return _run_check(
        smoothed_cross_entropy, cases, "smoothed_cross_entropy", rtol=1e-9, atol=1e-12,
        mistakes=SMOOTHING_MISTAKES, advice=_constant(SMOOTHING_OVERFLOW),
        near_miss_causes=SMOOTHING_NEAR_MISS, sizes="take them from the arguments, N, K = logits.shape",
    )


# --------------------------------------------------------------------------
# ch04-ex-pos-weight: binary cross-entropy with a weight on the positive class
# --------------------------------------------------------------------------


def _torch_weighted_bce(z_t, y, pos_weight):
    import torch
    import torch.nn.functional as TF

    weight_t = torch.tensor(float(pos_weight), dtype=torch.float64)
    y_t = torch.tensor(np.asarray(y, dtype=np.float64))
    return TF.binary_cross_entropy_with_logits(z_t, y_t, pos_weight=weight_t)


@referee
def _weighted_bce_by_torch(z, y, pos_weight):
    """PyTorch's BCE with logits (float64), the positive term weighted by pos_weight."""
    import torch

    return _torch_weighted_bce(torch.tensor(np.asarray(z, dtype=np.float64)), y, pos_weight).item()


@referee
def _weighted_bce_grad_by_torch(z, y, pos_weight):
    """The gradient of that mean loss with respect to z, by PyTorch's autograd."""
    import torch

    z_t = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    _torch_weighted_bce(z_t, y, pos_weight).backward()
    return z_t.grad.numpy()


def _pos_weight_inputs() -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(4042)
    return [
        (rng.normal(scale=3, size=10), rng.integers(0, 2, size=10).astype(float), 3.0),
        # Logits of +-1000: sigmoid(-1000) rounds to 0 and sigmoid(1000) to 1.
        (np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0, 1000.0, -1000.0]),
         np.array([1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), 2.0),
        (rng.normal(size=(4, 3)), rng.uniform(size=(4, 3)), 0.5),          # soft targets, 2-D
        (np.array([-800.0, 800.0, 0.0]), np.array([1.0, 0.0, 1.0]), 1.0),  # w = 1: plain BCE
    ]


def _softplus(t):
    """log(1 + e^t), without overflow."""
    return np.logaddexp(0, t)


def _sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))


def _terms(z, y, w_positive, w_negative):
    return w_positive * y * _softplus(-z) + w_negative * (1 - y) * _softplus(z)


def _bce_weight_on_negatives(z, y, pos_weight):
    return float(np.mean(_terms(z, y, 1.0, pos_weight)))


def _bce_weight_on_both(z, y, pos_weight):
    return float(np.mean(_terms(z, y, pos_weight, pos_weight)))


def _bce_unweighted(z, y, pos_weight):
    return float(np.mean(_terms(z, y, 1.0, 1.0)))


def _bce_summed(z, y, pos_weight):
    return float(np.sum(_terms(z, y, pos_weight, 1.0)))


def _bce_over_rows(z, y, pos_weight):
    return float(np.sum(_terms(z, y, pos_weight, 1.0)) / len(z))


_SUM_HINT = "a sum over the entries, not their mean: divide by the number of entries of z, z.size."
_ROWS_HINT = ("divided by len(z), the number of rows; for a 2-D z the mean runs over all its entries: "
              "divide by z.size.")
_WRONG_TERM_HINT = ("the weight multiplies the negative term (1 - y) log(1 - sigmoid(z)); it belongs on "
                    "the positive term, y log sigmoid(z).")
_BOTH_TERMS_HINT = "the weight multiplies both terms; it weights only the positive term, y log sigmoid(z)."
_UNWEIGHTED_HINT = "pos_weight has no effect: multiply the positive term, y log sigmoid(z), by it."

def _example_weights(y, pos_weight):
    """w_+ for an example of class 1, 1 for one of class 0: right for hard labels only."""
    return pos_weight * y + (1 - y)


def _bce_weight_per_example(z, y, pos_weight):
    return float(np.mean(_example_weights(y, pos_weight) * _terms(z, y, 1.0, 1.0)))


def _bce_where_label_is_one(z, y, pos_weight):
    return float(np.mean(np.where(y == 1, pos_weight * _softplus(-z), _softplus(z))))


def _bce_where_label_is_zero(z, y, pos_weight):
    return float(np.mean(np.where(y == 0, _softplus(z), pos_weight * _softplus(-z))))


def _bce_weighted_average(z, y, pos_weight):
    return float(np.sum(_terms(z, y, pos_weight, 1.0)) / np.sum(_example_weights(y, pos_weight)))


def _bce_weight_on_zy_only(z, y, pos_weight):
    return float(np.mean(np.maximum(z, 0) - pos_weight * z * y + np.log1p(np.exp(-np.abs(z)))))


def _bce_logs_swapped(z, y, pos_weight):
    return float(np.mean(pos_weight * y * _softplus(z) + (1 - y) * _softplus(-z)))


# The clamps of the section "A clamp is not a fix": an epsilon inside the logs, p clipped, or each
# log clamped at -100 as TF.binary_cross_entropy does. Each avoids log(0) and gives a wrong value.
_EPSILONS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15)


def _sigmoid_as_taught(z):
    """The stable sigmoid of chapter 1, as F.sigmoid computes it: a clamp's result depends on the
    rounding of 1 - p near p = 1 (the 30.001 of the chapter), so the mistake must round alike."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_plus_epsilon(epsilon: float) -> Callable:
    @_quiet
    def mistake(z, y, pos_weight):
        p = _sigmoid_as_taught(z)
        return float(-np.mean(pos_weight * y * np.log(p + epsilon) + (1 - y) * np.log(1 - p + epsilon)))

    return mistake


def _clipped(epsilon: float) -> Callable:
    @_quiet
    def mistake(z, y, pos_weight):
        p = np.clip(_sigmoid_as_taught(z), epsilon, 1 - epsilon)
        return float(-np.mean(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p)))

    return mistake


@_quiet
def _logs_clamped_at_100(z, y, pos_weight):
    p = _sigmoid_as_taught(z)
    log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log(1 - p), -100)
    return float(-np.mean(pos_weight * y * log_p + (1 - y) * log_1mp))


_CLAMP_ADVICE = (
    "(the section \"A clamp is not a fix\"). Write both logs with the logit instead, "
    "-log sigmoid(z) = log(1 + e^(-z)) and -log(1 - sigmoid(z)) = log(1 + e^z), each by np.logaddexp(0, ...)."
)
def _power_of_ten(epsilon: float) -> str:
    """1e-08 as "1e-8"."""
    return f"{epsilon:.0e}".replace("e-0", "e-")


_CLAMP_MISTAKES: list[tuple[Callable, str]] = (
    [(_log_plus_epsilon(eps),
      f"an epsilon inside the logs, log(p + {_power_of_ten(eps)}): it avoids log(0), but it changes every loss a "
      f"little and caps the loss of a confident mistake near -log({_power_of_ten(eps)}) = {-np.log(eps):.3g} "
      + _CLAMP_ADVICE) for eps in _EPSILONS]
    + [(_clipped(eps),
        f"p is clipped to [{_power_of_ten(eps)}, 1 - {_power_of_ten(eps)}]: it avoids log(0), but it caps the loss of a confident "
        f"mistake at -log({_power_of_ten(eps)}) = {-np.log(eps):.3g}, far below the true loss " + _CLAMP_ADVICE)
       for eps in _EPSILONS]
    + [(_logs_clamped_at_100,
        "each log is clamped at -100, as TF.binary_cross_entropy does: it avoids log(0), but it caps the "
        "loss of a confident mistake at 100 " + _CLAMP_ADVICE)]
)

_HARD_LABELS_HINT = (
    "the weight is chosen by the label (w_+ where y == 1, 1 elsewhere), which is right only for "
    "labels 0 and 1. The targets here lie between 0 and 1 (soft targets), and the loss weights its "
    "two terms by y and 1 - y: w_+ multiplies the whole term y log sigmoid(z), and nothing else."
)
_WEIGHTED_AVERAGE_HINT = (
    "divided by the sum of the weights (a weighted average); the loss is the plain mean over the "
    "entries of z, as PyTorch's pos_weight takes it: divide by z.size."
)

POS_WEIGHT_LOSS_MISTAKES: list[tuple[Callable, str]] = [
    (_bce_weight_on_negatives, _WRONG_TERM_HINT),
    (_bce_weight_on_both, _BOTH_TERMS_HINT),
    (_bce_unweighted, _UNWEIGHTED_HINT),
    (_bce_summed, _SUM_HINT),
    (_bce_over_rows, _ROWS_HINT),
    (_bce_weight_per_example, _HARD_LABELS_HINT),
    (_bce_where_label_is_one, _HARD_LABELS_HINT),
    (_bce_where_label_is_zero, _HARD_LABELS_HINT),
    (_bce_weighted_average, _WEIGHTED_AVERAGE_HINT),
    (_bce_weight_on_zy_only,
     "only the -z y term of max(z, 0) - z y + log(1 + e^(-|z|)) is weighted. In that form the positive "
     "term y log(1 + e^(-z)) is spread over all three pieces, so weighting one of them does not weight "
     "it: write the two terms apart, y log(1 + e^(-z)) and (1 - y) log(1 + e^z), and weight the first."),
    (_bce_logs_swapped,
     "the two logs are swapped: -log sigmoid(z) = log(1 + e^(-z)), np.logaddexp(0, -z), goes with y, "
     "and -log(1 - sigmoid(z)) = log(1 + e^z), np.logaddexp(0, z), with 1 - y."),
    *_CLAMP_MISTAKES,
]


def _gradient_terms(z, y, w_positive, w_negative):
    p = _sigmoid(z)
    return w_positive * y * (p - 1) + w_negative * (1 - y) * p


def _grad_right(z, y, pos_weight):
    return _gradient_terms(z, y, pos_weight, 1.0) / z.size


def _grad_sign_flipped(z, y, pos_weight):
    return -_grad_right(z, y, pos_weight)


def _grad_weight_on_negatives(z, y, pos_weight):
    return _gradient_terms(z, y, 1.0, pos_weight) / z.size


def _grad_weight_on_both(z, y, pos_weight):
    return _gradient_terms(z, y, pos_weight, pos_weight) / z.size


def _grad_unweighted(z, y, pos_weight):
    return _gradient_terms(z, y, 1.0, 1.0) / z.size


def _grad_not_divided(z, y, pos_weight):
    return _gradient_terms(z, y, pos_weight, 1.0)


def _grad_over_rows(z, y, pos_weight):
    return _gradient_terms(z, y, pos_weight, 1.0) / len(z)


def _grad_weight_per_example(z, y, pos_weight):
    return _example_weights(y, pos_weight) * (_sigmoid(z) - y) / z.size


def _grad_where_label_is_one(z, y, pos_weight):
    p = _sigmoid(z)
    return np.where(y == 1, pos_weight * (p - 1), p) / z.size


def _grad_positive_term_sign(z, y, pos_weight):
    return (pos_weight * y * _sigmoid(-z) + (1 - y) * _sigmoid(z)) / z.size


def _grad_negative_term_sign(z, y, pos_weight):
    return (-pos_weight * y * _sigmoid(-z) - (1 - y) * _sigmoid(z)) / z.size


def _grad_extra_sigmoid_slope(z, y, pos_weight):
    return _grad_right(z, y, pos_weight) * _sigmoid(z) * _sigmoid(-z)


def _grad_weighted_average(z, y, pos_weight):
    return _gradient_terms(z, y, pos_weight, 1.0) / np.sum(_example_weights(y, pos_weight))


POS_WEIGHT_GRAD_MISTAKES: list[tuple[Callable, str]] = [
    (_grad_sign_flipped,
     "the sign is flipped: d/dz log(1 + e^(-z)) = sigmoid(z) - 1 and d/dz log(1 + e^z) = sigmoid(z), "
     "so a positive example (y = 1) gets a negative gradient."),
    (_grad_weight_on_negatives, _WRONG_TERM_HINT),
    (_grad_weight_on_both, _BOTH_TERMS_HINT),
    (_grad_unweighted, _UNWEIGHTED_HINT),
    (_grad_not_divided,
     "the division of the mean is missing: the loss is a mean over all the entries of z, so its "
     "gradient is divided by their number, z.size."),
    (_grad_over_rows, _ROWS_HINT),
    (_grad_weight_per_example, _HARD_LABELS_HINT),
    (_grad_where_label_is_one, _HARD_LABELS_HINT),
    (_grad_positive_term_sign,
     "the positive term has the wrong sign: d/dz log(1 + e^(-z)) = -e^(-z) / (1 + e^(-z)), which is "
     "negative (raising the logit of a positive example lowers its loss)."),
    (_grad_negative_term_sign,
     "the negative term has the wrong sign: d/dz log(1 + e^z) = e^z / (1 + e^z), which is positive "
     "(raising the logit of a negative example raises its loss)."),
    (_grad_extra_sigmoid_slope,
     "the gradient is multiplied by sigmoid'(z) = p (1 - p) once too often. The loss takes the logit: "
     "differentiating log(1 + e^(-z)) and log(1 + e^z) with respect to z already goes through the "
     "sigmoid, so no further factor of the chain rule is left."),
    (_grad_weighted_average, _WEIGHTED_AVERAGE_HINT),
]

POS_WEIGHT_LOSS_OVERFLOW = (
    "Two routes lead there. Through probabilities: sigmoid(-1000) rounds to 0 and sigmoid(1000) to 1, "
    "so log(sigmoid(z)) or log(1 - sigmoid(z)) is log(0) = -inf (and 0 * -inf is nan). Through e^z: "
    "np.exp of a number above about 709.78 is inf, so log(1 + np.exp(-z)) is inf at z = -1000. Write "
    "both logs with the logit, -log sigmoid(z) = log(1 + e^(-z)) and -log(1 - sigmoid(z)) = "
    "log(1 + e^z), and compute each with np.logaddexp(0, ...), which never forms e^z."
)
POS_WEIGHT_GRAD_OVERFLOW = (
    "A float overflowed, or a number was divided by zero. Computed as e^z / (1 + e^z), sigmoid(z) "
    "overflows for z above about 709.78, where e^z is inf and inf / inf is nan; and a gradient taken "
    "through p = sigmoid(z) divides by 1 - p, which is 0 where sigmoid(z) rounds to 1. Use a stable "
    "sigmoid (1 / (1 + e^(-z)) for z >= 0 and e^z / (1 + e^z) for z < 0, as F.sigmoid does), and "
    "differentiate with respect to z directly, without dividing by p or 1 - p."
)
POS_WEIGHT_GRAD_THROUGH_P = (
    "{k} of them lie at negative logits, where e^z / (1 + e^z) cannot overflow (e^(-1000) is 0), so "
    "the gradient was likely taken through p = sigmoid(z), dividing by p or by 1 - p. sigmoid(-1000) "
    "rounds to 0 and sigmoid(1000) to 1, so dl/dp is inf (or 0 / 0 = nan), and times "
    "dp/dz = p (1 - p) = 0 it is nan: the trap shown in the section \"The gradient with respect to the "
    "logits\". Differentiate each log with respect to z directly; the result divides by nothing."
)


def _grad_overflow_advice(args: tuple, result: Any) -> str:
    """Why the gradient is inf or nan: an entry at a negative logit points to a division by p."""
    try:
        z = np.asarray(args[0], dtype=np.float64)
        bad = ~np.isfinite(np.asarray(result, dtype=np.float64))
        at_negative = int(np.count_nonzero(bad & (z < 0))) if bad.shape == z.shape else 0
    except (TypeError, ValueError):
        at_negative = 0
    if at_negative:
        return POS_WEIGHT_GRAD_THROUGH_P.format(k="One" if at_negative == 1 else at_negative)
    return POS_WEIGHT_GRAD_OVERFLOW


POS_WEIGHT_LOSS_NEAR_MISS = (
    "Float32 arithmetic, an epsilon inside a log (log(p + 1e-8)) or a clip of p would explain a gap "
    "this small: compute in float64, and write both logs with the logit."
)
POS_WEIGHT_GRAD_NEAR_MISS = (
    "Float32 arithmetic, finite differences (even good ones agree with the derivative to only about 6 "
    "to 9 digits) or an epsilon would explain a gap this small: write the derivative itself, in float64."
)
_POS_WEIGHT_SIZES = "take them from the arguments (the number of entries of z is z.size)"


def _weighted_bce_by_numpy(z, y, pos_weight):
    return float(np.mean(_terms(z, y, pos_weight, 1.0)))


@exercise("ch04-ex-pos-weight/loss", answers=("weighted_bce_with_logits",), points=2)
def _check_pos_weight_loss(weighted_bce_with_logits) -> CheckResult:
    cases = _expected_values(_pos_weight_inputs(), _weighted_bce_by_torch, _weighted_bce_by_numpy,
                             "weighted_bce_with_logits")
    return _run_check(
        weighted_bce_with_logits, cases, "weighted_bce_with_logits", rtol=1e-9, atol=1e-12,
        mistakes=POS_WEIGHT_LOSS_MISTAKES, advice=_constant(POS_WEIGHT_LOSS_OVERFLOW),
        near_miss_causes=POS_WEIGHT_LOSS_NEAR_MISS, sizes=_POS_WEIGHT_SIZES,
    )


@exercise("ch04-ex-pos-weight/grad", answers=("weighted_bce_with_logits_grad",), points=2)
def _check_pos_weight_grad(weighted_bce_with_logits_grad) -> CheckResult:
    cases = _expected_values(_pos_weight_inputs(), _weighted_bce_grad_by_torch, _grad_right,
                             "weighted_bce_with_logits_grad")
    return _run_check(
        weighted_bce_with_logits_grad, cases, "weighted_bce_with_logits_grad", rtol=1e-7, atol=1e-12,
        mistakes=POS_WEIGHT_GRAD_MISTAKES, advice=_grad_overflow_advice,
        near_miss_causes=POS_WEIGHT_GRAD_NEAR_MISS, sizes=_POS_WEIGHT_SIZES,
    )
