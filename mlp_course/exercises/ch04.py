"""The checks of chapter 4's coding exercises, keyed by exercise label.

* ``ch04-ex-smoothing``: ``smoothed_cross_entropy(logits, labels, smoothing)``,
  refereed by PyTorch's ``cross_entropy(..., label_smoothing=...)``;
* ``ch04-ex-pos-weight/loss`` and ``ch04-ex-pos-weight/grad``:
  ``weighted_bce_with_logits(z, y, pos_weight)`` and its gradient with respect
  to ``z``, refereed by PyTorch's ``BCEWithLogitsLoss(pos_weight=...)`` and its
  autograd.

The cases include logits of ±1000 and more, where a loss that takes ``exp`` of
a raw logit, or the log of a probability, overflows. The logits stay at most
1e4 in size, where every correct stable form the chapter teaches passes (near
1e20, LSE(z) - q.z would lose the loss to rounding); a result that is ``inf``
or ``nan`` gets a message that says it overflowed and what to do instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from mlp_course.exercises.checks import CheckResult, WrongAnswer, check_function, referee
from mlp_course.exercises.registry import exercise

# --------------------------------------------------------------------------
# A result that is inf or nan: say that it overflowed, and why
# --------------------------------------------------------------------------


def _non_finite(result: Any) -> str | None:
    """"inf", "nan", "-inf" (or "an array with k inf or nan entries") when ``result`` is one; else None."""
    if hasattr(result, "detach") and hasattr(result, "numpy"):  # a PyTorch tensor
        result = result.detach().cpu().numpy()
    try:
        array = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        return None  # not numbers: the ordinary comparison says so
    finite = np.isfinite(array)
    if np.all(finite):
        return None
    if array.size == 1:
        return str(float(array.reshape(())))
    return f"an array with {np.count_nonzero(~finite)} inf or nan entries out of {array.size}"


def _flag_overflow(fn: Any, name: str, n_cases: int, advice: str) -> Any:
    """``fn``, wrapped so that an inf or nan result fails with ``advice`` (why it overflowed).

    check_function calls the answer once per case, in order, so the wrapper
    counts the calls to name the case. A placeholder or a non-function is
    returned as it is, for check_function to report.
    """
    if fn is None or fn is Ellipsis or not callable(fn):
        return fn
    calls = [0]

    @functools.wraps(fn)
    def guarded(*args: Any) -> Any:
        calls[0] += 1
        result = fn(*args)
        bad = _non_finite(result)
        if bad is not None:
            largest = max(float(np.max(np.abs(a))) for a in args[:1])
            raise WrongAnswer(
                f"Case {calls[0]} of {n_cases}, {name}(...) with logits up to {largest:g} in size: "
                f"the result is {bad}. {advice}"
            )
        return result

    return guarded


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
]

SMOOTHING_OVERFLOW = (
    "A float overflowed, or a probability underflowed to 0 before its log: np.exp of a logit "
    "above about 709.78 is inf, and inf / inf is nan; e^(-1000) rounds to 0, and log(0) is -inf. "
    "So never take exp of the raw logits, nor the log of a softmax: take the log-sum-exp with the "
    "max shift, log P_ik = (z_ik - c_i) - log(sum_j exp(z_ij - c_i)) with c_i the largest logit "
    "of row i."
)


@exercise("ch04-ex-smoothing", answers=("smoothed_cross_entropy",), points=3)
def _check_smoothing(smoothed_cross_entropy) -> CheckResult:
    inputs = _smoothing_inputs()
    cases = [(args, _smoothed_cross_entropy_by_torch(*args)) for args in inputs]
    name = "smoothed_cross_entropy"
    answer = _flag_overflow(smoothed_cross_entropy, name, len(cases), SMOOTHING_OVERFLOW)
    return check_function(answer, cases, name=name, rtol=1e-9, atol=1e-12, mistakes=SMOOTHING_MISTAKES)


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

POS_WEIGHT_LOSS_MISTAKES: list[tuple[Callable, str]] = [
    (_bce_weight_on_negatives, _WRONG_TERM_HINT),
    (_bce_weight_on_both, _BOTH_TERMS_HINT),
    (_bce_unweighted, _UNWEIGHTED_HINT),
    (_bce_summed, _SUM_HINT),
    (_bce_over_rows, _ROWS_HINT),
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


POS_WEIGHT_GRAD_MISTAKES: list[tuple[Callable, str]] = [
    (_grad_sign_flipped,
     "the sign is flipped: d/dz log(1 + e^(-z)) = sigmoid(z) - 1 and d/dz log(1 + e^z) = sigmoid(z), "
     "so a positive example (y = 1) gets a negative gradient."),
    (_grad_weight_on_negatives, _WRONG_TERM_HINT),
    (_grad_weight_on_both, _BOTH_TERMS_HINT),
    (_grad_unweighted, _UNWEIGHTED_HINT),
    (_grad_not_divided,
     "the 1/n of the mean is missing: the loss is a mean over the n entries of z, so its gradient "
     "is divided by n = z.size."),
    (_grad_over_rows, _ROWS_HINT),
]

POS_WEIGHT_LOSS_OVERFLOW = (
    "A probability rounded to 0 or 1 before its log: sigmoid(-1000) rounds to 0 and sigmoid(1000) "
    "to 1, so log(sigmoid(z)) or log(1 - sigmoid(z)) is log(0) = -inf (and 0 * -inf is nan). "
    "Write both logs with the logit: -log sigmoid(z) = log(1 + e^(-z)) and "
    "-log(1 - sigmoid(z)) = log(1 + e^z), each computed by np.logaddexp(0, ...)."
)
POS_WEIGHT_GRAD_OVERFLOW = (
    "A float overflowed: computed as e^z / (1 + e^z), sigmoid(z) overflows for z above about "
    "709.78, where e^z is inf and inf / inf is nan (and a route through log(sigmoid(z)) meets "
    "log(0)). Use a stable sigmoid: 1 / (1 + e^(-z)) for z >= 0 and e^z / (1 + e^z) for z < 0, "
    "as F.sigmoid does."
)


@exercise("ch04-ex-pos-weight/loss", answers=("weighted_bce_with_logits",), points=2)
def _check_pos_weight_loss(weighted_bce_with_logits) -> CheckResult:
    inputs = _pos_weight_inputs()
    cases = [(args, _weighted_bce_by_torch(*args)) for args in inputs]
    name = "weighted_bce_with_logits"
    answer = _flag_overflow(weighted_bce_with_logits, name, len(cases), POS_WEIGHT_LOSS_OVERFLOW)
    return check_function(answer, cases, name=name, rtol=1e-9, atol=1e-12, mistakes=POS_WEIGHT_LOSS_MISTAKES)


@exercise("ch04-ex-pos-weight/grad", answers=("weighted_bce_with_logits_grad",), points=2)
def _check_pos_weight_grad(weighted_bce_with_logits_grad) -> CheckResult:
    inputs = _pos_weight_inputs()
    cases = [(args, _weighted_bce_grad_by_torch(*args)) for args in inputs]
    name = "weighted_bce_with_logits_grad"
    answer = _flag_overflow(weighted_bce_with_logits_grad, name, len(cases), POS_WEIGHT_GRAD_OVERFLOW)
    return check_function(answer, cases, name=name, rtol=1e-7, atol=1e-12, mistakes=POS_WEIGHT_GRAD_MISTAKES)
