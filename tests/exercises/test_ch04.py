"""The checks of chapter 4 (mlp_course/exercises/ch04.py), key by key.

For every key: the reference answer passes; the untouched stub is "not
answered yet"; plausible wrong answers fail with a message that points at the
mistake; every correct form the chapter teaches passes; an answer that calls
the check's referee fails. The reference answers are written here, not taken
from the notebook.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlp_course.exercises import RefereeCalled, check, grade, keys
from mlp_course.exercises import ch04
from mlp_course.exercises.checks import CheckResult
from mlp_course.scratch import functional as F

SMOOTHING = "ch04-ex-smoothing"
POS_LOSS = "ch04-ex-pos-weight/loss"
POS_GRAD = "ch04-ex-pos-weight/grad"


def test_the_chapter_has_these_keys():
    assert keys("ch04") == sorted([SMOOTHING, POS_LOSS, POS_GRAD])


def _quietly(key, answer):
    """check(key, answer) with NumPy's overflow warnings silenced (the wrong answers cause them)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return check(key, answer)


# --------------------------------------------------------------------------
# ch04-ex-smoothing
# --------------------------------------------------------------------------


def _log_softmax(logits, axis=1):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _targets(logits, labels, smoothing):
    n_examples, n_classes = logits.shape
    targets = np.full((n_examples, n_classes), smoothing / n_classes)
    targets[np.arange(n_examples), labels] += 1 - smoothing
    return targets


def smoothed_cross_entropy(logits, labels, smoothing):
    """The reference: the smoothed target rows weight the stable log-softmax."""
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * _log_softmax(logits), axis=1))


def smoothing_stub(logits, labels, smoothing):
    """Mean cross-entropy of logits (N, K) against labels (N,) smoothed by smoothing; stable."""
    raise NotImplementedError("replace this line with your code")


def smoothing_by_lse(logits, labels, smoothing):
    """LSE(z) - q.z per row, the identity of the section on the gradient, LSE with the max shift."""
    c = logits.max(axis=1, keepdims=True)
    lse = c[:, 0] + np.log(np.sum(np.exp(logits - c), axis=1))
    return np.mean(lse - np.sum(_targets(logits, labels, smoothing) * logits, axis=1))


def smoothing_by_blend(logits, labels, smoothing):
    """(1 - eps) CE + eps * mean over the classes of -log P, with the library's log_softmax."""
    log_p = F.log_softmax(logits, axis=1)
    ce = -np.mean(log_p[np.arange(len(labels)), labels])
    return (1 - smoothing) * ce + smoothing * np.mean(-log_p)


def smoothing_with_one_hot(logits, labels, smoothing):
    """One-hot rows from F.one_hot, then smoothed, and F.logsumexp."""
    n_classes = logits.shape[1]
    targets = (1 - smoothing) * F.one_hot(labels, n_classes) + smoothing / n_classes
    log_p = logits - F.logsumexp(logits, axis=1, keepdims=True)
    return float(-np.sum(targets * log_p) / len(logits))


@pytest.mark.parametrize("answer", [smoothed_cross_entropy, smoothing_by_lse, smoothing_by_blend,
                                    smoothing_with_one_hot])
def test_smoothing_accepts_every_correct_form(answer, capsys):
    result = check(SMOOTHING, answer)
    assert result == True and isinstance(result, CheckResult)  # noqa: E712
    assert "\u2713 smoothed_cross_entropy passes all 6 test cases." in capsys.readouterr().out


def test_smoothing_stub_is_not_answered(capsys):
    result = check(SMOOTHING, smoothing_stub)
    assert result == False and isinstance(result, CheckResult)  # noqa: E712
    assert "not answered yet" in capsys.readouterr().out
    assert check(SMOOTHING, None) == False  # noqa: E712


def smoothing_naive_softmax(logits, labels, smoothing):
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * np.log(probabilities), axis=1))


def smoothing_log_of_stable_softmax(logits, labels, smoothing):
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * np.log(F.softmax(logits, axis=1)), axis=1))


def smoothing_lse_without_shift(logits, labels, smoothing):
    lse = np.log(np.sum(np.exp(logits), axis=1))
    return np.mean(lse - np.sum(_targets(logits, labels, smoothing) * logits, axis=1))


def smoothing_over_other_classes(logits, labels, smoothing):
    n_classes = logits.shape[1]
    one_hot = np.eye(n_classes)[labels]
    targets = (1 - smoothing) * one_hot + smoothing / (n_classes - 1) * (1 - one_hot)
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_label_without_share(logits, labels, smoothing):
    n_classes = logits.shape[1]
    one_hot = np.eye(n_classes)[labels]
    targets = (1 - smoothing) * one_hot + smoothing / n_classes * (1 - one_hot)
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_swapped(logits, labels, smoothing):
    n_classes = logits.shape[1]
    targets = smoothing * np.eye(n_classes)[labels] + (1 - smoothing) / n_classes
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_summed(logits, labels, smoothing):
    return -np.sum(_targets(logits, labels, smoothing) * _log_softmax(logits))


def smoothing_mean_over_everything(logits, labels, smoothing):
    return -np.mean(_targets(logits, labels, smoothing) * _log_softmax(logits))


def smoothing_softmax_over_examples(logits, labels, smoothing):
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * _log_softmax(logits, axis=0), axis=1))


def smoothing_one_hot_transposed(logits, labels, smoothing):
    n_classes = logits.shape[1]
    targets = (1 - smoothing) * np.eye(n_classes)[labels].T + smoothing / n_classes
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_labels_as_targets(logits, labels, smoothing):
    targets = (1 - smoothing) * labels[:, None] + smoothing / logits.shape[1]
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_ten_classes(logits, labels, smoothing):
    targets = (1 - smoothing) * np.eye(logits.shape[1])[labels] + smoothing / 10
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_wrong_sign(logits, labels, smoothing):
    return -smoothed_cross_entropy(logits, labels, smoothing)


@pytest.mark.parametrize("answer, fragment", [
    (smoothing_naive_softmax, r"the result is nan\. A float overflowed.*log-sum-exp with the max shift"),
    (smoothing_log_of_stable_softmax,
     r"the result is inf\. .*underflowed to 0 before its log.*nor the log of a softmax"),
    (smoothing_lse_without_shift, r"the result is (inf|nan)\. .*above about 709\.78 is inf"),
    (smoothing_over_other_classes, r"Likely mistake: epsilon is spread over the K - 1 other classes"),
    (smoothing_label_without_share, r"Likely mistake: the label's class gets only 1 - epsilon"),
    (smoothing_swapped, r"Likely mistake: epsilon and 1 - epsilon are swapped"),
    (smoothing_summed, r"Likely mistake: the loss is summed over the N examples"),
    (smoothing_mean_over_everything, r"Likely mistake: the loss is averaged over the K classes as well"),
    (smoothing_softmax_over_examples,
     r"Likely mistake: the softmax \(or the log-sum-exp\) runs over the wrong axis"),
    (smoothing_one_hot_transposed, r"Case 1 of 6.*Likely mistake: the one-hot matrix is transposed"),
    (smoothing_labels_as_targets, r"Likely mistake: `labels` holds class numbers"),
    (smoothing_ten_classes, r"Likely mistake: K is hard-coded as 10"),
    (smoothing_wrong_sign, r"The sign is wrong"),
])
def test_smoothing_rejects_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        _quietly(SMOOTHING, answer)


def test_smoothing_reports_an_error_in_the_answer_as_the_learners_own():
    """A transposed one-hot matrix on a non-square case: NumPy's broadcasting error, raised as theirs."""
    def transposed_then_broadcast(logits, labels, smoothing):
        if logits.shape[0] == logits.shape[1]:
            return smoothed_cross_entropy(logits, labels, smoothing)   # get past the square case
        return smoothing_one_hot_transposed(logits, labels, smoothing)

    with pytest.raises(ValueError, match="broadcast"):
        check(SMOOTHING, transposed_then_broadcast)


def test_smoothing_rejects_an_answer_that_calls_the_referee():
    def cheat(logits, labels, smoothing):
        return ch04._smoothed_cross_entropy_by_torch(logits, labels, smoothing)

    with pytest.raises(RefereeCalled, match="reference"):
        check(SMOOTHING, cheat)


def test_smoothing_grade_fails_the_stub_and_passes_the_reference():
    with pytest.raises(AssertionError, match="not answered"):
        grade(SMOOTHING, smoothing_stub)
    grade(SMOOTHING, smoothed_cross_entropy)


# --------------------------------------------------------------------------
# ch04-ex-pos-weight/loss
# --------------------------------------------------------------------------


def weighted_bce_with_logits(z, y, pos_weight):
    """The reference: both logs written with the logit, by np.logaddexp."""
    return np.mean(pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))


def loss_stub(z, y, pos_weight):
    """Mean BCE of logits z against targets y, the positive term weighted; stable."""
    raise NotImplementedError("replace this line with your code")


def loss_library_form(z, y, pos_weight):
    """log(1 + e^t) = max(t, 0) + log(1 + e^-|t|), the library's form, for both terms."""
    tail = np.log1p(np.exp(-np.abs(z)))
    return np.mean(pos_weight * y * (np.maximum(-z, 0) + tail) + (1 - y) * (np.maximum(z, 0) + tail))


def loss_torch_form(z, y, pos_weight):
    """PyTorch's form: (1 - y) z - (1 + (w - 1) y) log sigmoid(z), with a stable log sigmoid."""
    log_sigmoid = -np.logaddexp(0, -z)
    return np.mean((1 - y) * z - (1 + (pos_weight - 1) * y) * log_sigmoid)


@pytest.mark.parametrize("answer", [weighted_bce_with_logits, loss_library_form, loss_torch_form])
def test_pos_weight_loss_accepts_every_correct_form(answer, capsys):
    result = check(POS_LOSS, answer)
    assert result == True and isinstance(result, CheckResult)  # noqa: E712
    assert "\u2713 weighted_bce_with_logits passes all 4 test cases." in capsys.readouterr().out


def test_pos_weight_loss_stub_is_not_answered(capsys):
    result = check(POS_LOSS, loss_stub)
    assert result == False and isinstance(result, CheckResult)  # noqa: E712
    assert "not answered yet" in capsys.readouterr().out


def loss_through_probabilities(z, y, pos_weight):
    p = 1 / (1 + np.exp(-z))
    return -np.mean(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))


def loss_weight_on_negatives(z, y, pos_weight):
    return np.mean(y * np.logaddexp(0, -z) + pos_weight * (1 - y) * np.logaddexp(0, z))


def loss_weight_on_both(z, y, pos_weight):
    return pos_weight * np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))


def loss_unweighted(z, y, pos_weight):
    return np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))


def loss_summed(z, y, pos_weight):
    return np.sum(pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))


def loss_over_rows(z, y, pos_weight):
    return np.sum(pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)) / len(z)


def loss_wrong_sign(z, y, pos_weight):
    return -weighted_bce_with_logits(z, y, pos_weight)


@pytest.mark.parametrize("answer, fragment", [
    (loss_through_probabilities, r"Case 2 of 4.*the result is (nan|inf)\. A probability rounded to 0 or 1 "
                                 r"before its log.*np\.logaddexp"),
    (loss_weight_on_negatives, r"Likely mistake: the weight multiplies the negative term"),
    (loss_weight_on_both, r"Likely mistake: the weight multiplies both terms"),
    (loss_unweighted, r"Likely mistake: pos_weight has no effect"),
    (loss_summed, r"Likely mistake: a sum over the entries, not their mean"),
    (loss_over_rows, r"Likely mistake: divided by len\(z\), the number of rows"),
    (loss_wrong_sign, r"The sign is wrong"),
])
def test_pos_weight_loss_rejects_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        _quietly(POS_LOSS, answer)


def test_pos_weight_loss_rejects_an_answer_that_calls_the_referee():
    def cheat(z, y, pos_weight):
        return ch04._weighted_bce_by_torch(z, y, pos_weight)

    with pytest.raises(RefereeCalled, match="reference"):
        check(POS_LOSS, cheat)


# --------------------------------------------------------------------------
# ch04-ex-pos-weight/grad
# --------------------------------------------------------------------------


def weighted_bce_with_logits_grad(z, y, pos_weight):
    """The reference: (w y (sigmoid(z) - 1) + (1 - y) sigmoid(z)) / z.size, with a stable sigmoid."""
    p = F.sigmoid(z)
    return (pos_weight * y * (p - 1) + (1 - y) * p) / z.size


def grad_stub(z, y, pos_weight):
    """dL/dz of weighted_bce_with_logits(z, y, pos_weight): an array of the shape of z."""
    raise NotImplementedError("replace this line with your code")


def grad_collected(z, y, pos_weight):
    """The same gradient, collected: ((1 + (w - 1) y) sigmoid(z) - w y) / n."""
    p = F.sigmoid(z)
    return ((1 + (pos_weight - 1) * y) * p - pos_weight * y) / z.size


def grad_one_over_one_plus_exp(z, y, pos_weight):
    """sigmoid as 1 / (1 + e^-z): e^-z overflows to inf for z = -1000, but 1 / inf is 0, the right value."""
    with np.errstate(over="ignore"):
        p = 1 / (1 + np.exp(-z))
    return (pos_weight * y * (p - 1) + (1 - y) * p) / z.size


def grad_from_log_sigmoid(z, y, pos_weight):
    """sigmoid(z) - 1 = -sigmoid(-z), each sigmoid as exp(-logaddexp(0, -t))."""
    p, q = np.exp(-np.logaddexp(0, -z)), np.exp(-np.logaddexp(0, z))    # sigmoid(z), sigmoid(-z)
    return (-pos_weight * y * q + (1 - y) * p) / z.size


@pytest.mark.parametrize("answer", [weighted_bce_with_logits_grad, grad_collected, grad_one_over_one_plus_exp,
                                    grad_from_log_sigmoid])
def test_pos_weight_grad_accepts_every_correct_form(answer, capsys):
    result = check(POS_GRAD, answer)
    assert result == True and isinstance(result, CheckResult)  # noqa: E712
    assert "\u2713 weighted_bce_with_logits_grad passes all 4 test cases." in capsys.readouterr().out


def test_pos_weight_grad_stub_is_not_answered(capsys):
    result = check(POS_GRAD, grad_stub)
    assert result == False and isinstance(result, CheckResult)  # noqa: E712
    assert "not answered yet" in capsys.readouterr().out


def grad_naive_sigmoid(z, y, pos_weight):
    p = np.exp(z) / (1 + np.exp(z))
    return (pos_weight * y * (p - 1) + (1 - y) * p) / z.size


def grad_sign_flipped(z, y, pos_weight):
    return -weighted_bce_with_logits_grad(z, y, pos_weight)


def grad_weight_on_negatives(z, y, pos_weight):
    p = F.sigmoid(z)
    return (y * (p - 1) + pos_weight * (1 - y) * p) / z.size


def grad_weight_on_both(z, y, pos_weight):
    return pos_weight * (F.sigmoid(z) - y) / z.size


def grad_unweighted(z, y, pos_weight):
    return (F.sigmoid(z) - y) / z.size


def grad_not_divided(z, y, pos_weight):
    return weighted_bce_with_logits_grad(z, y, pos_weight) * z.size


def grad_over_rows(z, y, pos_weight):
    return weighted_bce_with_logits_grad(z, y, pos_weight) * z.size / len(z)


@pytest.mark.parametrize("answer, fragment", [
    (grad_naive_sigmoid, r"Case 2 of 4.*an array with 2 inf or nan entries out of 7\. A float overflowed.*"
                         r"stable sigmoid"),
    (grad_sign_flipped, r"Likely mistake: the sign is flipped"),
    (grad_weight_on_negatives, r"Likely mistake: the weight multiplies the negative term"),
    (grad_weight_on_both, r"Likely mistake: the weight multiplies both terms"),
    (grad_unweighted, r"Likely mistake: pos_weight has no effect"),
    (grad_not_divided, r"Likely mistake: the 1/n of the mean is missing"),
    (grad_over_rows, r"Likely mistake: divided by len\(z\), the number of rows"),
])
def test_pos_weight_grad_rejects_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        _quietly(POS_GRAD, answer)


def test_pos_weight_grad_rejects_a_gradient_of_the_wrong_shape():
    def summed_gradient(z, y, pos_weight):
        return np.sum(weighted_bce_with_logits_grad(z, y, pos_weight))

    with pytest.raises(AssertionError, match="wrong shape"):
        check(POS_GRAD, summed_gradient)


def test_pos_weight_grad_rejects_an_answer_that_calls_the_referee():
    def cheat(z, y, pos_weight):
        return ch04._weighted_bce_grad_by_torch(z, y, pos_weight)

    with pytest.raises(RefereeCalled, match="reference"):
        check(POS_GRAD, cheat)


@pytest.mark.parametrize("key, reference, stub", [
    (POS_LOSS, weighted_bce_with_logits, loss_stub),
    (POS_GRAD, weighted_bce_with_logits_grad, grad_stub),
])
def test_pos_weight_grade_fails_the_stub_and_passes_the_reference(key, reference, stub):
    with pytest.raises(AssertionError, match="not answered"):
        grade(key, stub)
    grade(key, reference)
