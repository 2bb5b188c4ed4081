"""The checks of chapter 4 (mlp_course/exercises/ch04.py), key by key.

For every key: the reference answer passes; the untouched stub is "not
answered yet"; plausible wrong answers fail with a message that points at the
mistake; every correct form the chapter teaches passes; an answer that calls
the check's referee fails. The reference answers are written here, not taken
from the notebook.
"""
from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from mlp_course import scratch
from mlp_course.exercises import RefereeCalled, check, grade, keys
from mlp_course.exercises import ch04
from mlp_course.exercises.checks import CheckResult
from mlp_course.gradcheck import numerical_gradient
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


def _in_notebook(source, name):
    """The function ``name`` defined by ``source`` in a namespace like the chapter's: np, F and the
    globals N = 8 and K = 5 that the chapter's cells leave behind."""
    namespace = {"np": np, "F": F, "N": 8, "m": 3, "K": 5}
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


def test_no_case_has_the_sizes_of_the_notebooks_globals():
    """N = 8 and K = 5 are left by the chapter's cells; an answer that reads them must fail."""
    for logits, labels, smoothing in ch04._smoothing_inputs():
        assert logits.shape[0] != 8 and logits.shape[1] != 5
    for z, y, pos_weight in ch04._pos_weight_inputs():
        assert z.size != 8 and len(z) != 8


@pytest.mark.parametrize("result", [None, "text", [None, 1.0]])
def test_a_result_that_is_not_numbers_is_not_called_an_overflow(result):
    assert ch04._non_finite(result) is None


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


def smoothing_by_rows_shifted_in_place(logits, labels, smoothing):
    """A loop over the rows, each shifted in place (the check passes copies)."""
    n_examples, n_classes = logits.shape
    total = 0.0
    for i in range(n_examples):
        row = logits[i]
        row -= row.max()
        q = np.full(n_classes, smoothing / n_classes)
        q[labels[i]] += 1 - smoothing
        total -= q @ (row - np.log(np.sum(np.exp(row))))
    return total / n_examples


def smoothing_lse_first(logits, labels, smoothing):
    """log P = z - LSE(z), the LSE computed with the shift first."""
    c = logits.max(axis=1, keepdims=True)
    log_p = logits - (c + np.log(np.sum(np.exp(logits - c), axis=1, keepdims=True)))
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * log_p, axis=1))


def smoothing_with_scipy(logits, labels, smoothing):
    from scipy.special import logsumexp

    log_p = logits - logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * log_p, axis=1))


@pytest.mark.parametrize("answer", [smoothed_cross_entropy, smoothing_by_lse, smoothing_by_blend,
                                    smoothing_with_one_hot, smoothing_by_rows_shifted_in_place,
                                    smoothing_lse_first, smoothing_with_scipy])
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


def smoothing_not_divided_by_k(logits, labels, smoothing):
    targets = (1 - smoothing) * np.eye(logits.shape[1])[labels] + smoothing
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_blend_with_a_sum(logits, labels, smoothing):
    log_p = _log_softmax(logits)
    ce = -np.mean(log_p[np.arange(len(labels)), labels])
    return (1 - smoothing) * ce + smoothing * -np.mean(np.sum(log_p, axis=1))


def smoothing_max_without_keepdims(logits, labels, smoothing):
    shifted = logits - logits.max(axis=1)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * log_p, axis=1))


def smoothing_lse_not_broadcast(logits, labels, smoothing):
    c = logits.max(axis=1, keepdims=True)
    log_p = logits - (c[:, 0] + np.log(np.sum(np.exp(logits - c), axis=1)))     # (N,) from (N, K)
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * log_p, axis=1))


def smoothing_lse_over_the_whole_matrix(logits, labels, smoothing):
    c = logits.max()
    log_p = logits - (c + np.log(np.sum(np.exp(logits - c))))
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * log_p, axis=1))


def smoothing_sum_over_the_whole_matrix(logits, labels, smoothing):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted)))                              # no axis=1
    return -np.mean(np.sum(_targets(logits, labels, smoothing) * log_p, axis=1))


def smoothing_picked_with_a_colon(logits, labels, smoothing):
    log_p = _log_softmax(logits)
    return (1 - smoothing) * -np.mean(log_p[:, labels]) + smoothing * -np.mean(log_p)


def smoothing_in_float32(logits, labels, smoothing):
    logits = logits.astype(np.float32)
    targets = _targets(logits, labels, smoothing).astype(np.float32)
    return -np.mean(np.sum(targets * _log_softmax(logits), axis=1))


def smoothing_without_return(logits, labels, smoothing):
    loss = smoothed_cross_entropy(logits, labels, smoothing)  # noqa: F841


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
    (smoothing_not_divided_by_k, r"Likely mistake: epsilon is added to every class in full"),
    (smoothing_blend_with_a_sum, r"Likely mistake: epsilon is added to every class in full.*a sum of -log P_ik"),
    (smoothing_max_without_keepdims, r"Case 1 of 6.*Likely mistake: the max of each row is subtracted without "
                                     r"keepdims=True.*logits\.max\(axis=1, keepdims=True\)"),
    (smoothing_lse_over_the_whole_matrix, r"Likely mistake: the log-sum-exp runs over the whole matrix"),
    (smoothing_sum_over_the_whole_matrix, r"Likely mistake: the log-sum-exp runs over the whole matrix"),
    (smoothing_picked_with_a_colon, r"Likely mistake: log_P\[:, labels\] picks.*log_P\[np\.arange\(N\), labels\]"),
    (smoothing_in_float32, r"result is 0\.7602173\d*, expected 0\.7602173\d* .*agrees with the expected one "
                           r"to about 7 significant digits.*Float32 arithmetic"),
])
def test_smoothing_rejects_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        _quietly(SMOOTHING, answer)


def test_smoothing_a_log_sum_exp_without_its_axis_fails_with_numpys_own_error():
    """On the square cases (labels a permutation) it gives the right loss; the next case raises."""
    with pytest.raises(ValueError, match="broadcast") as raised:
        check(SMOOTHING, smoothing_lse_not_broadcast)
    assert "Case 2 of 6" in " ".join(getattr(raised.value, "__notes__", []))


def test_smoothing_a_missing_return_is_not_called_an_overflow():
    with pytest.raises(AssertionError, match=r"result is None\. Did you forget a `return`") as raised:
        check(SMOOTHING, smoothing_without_return)
    assert "overflow" not in str(raised.value)


def test_smoothing_an_answer_that_reads_the_notebooks_k_is_told_so():
    answer = _in_notebook("""
        def smoothed_cross_entropy(logits, labels, smoothing):
            targets = (1 - smoothing) * F.one_hot(labels, logits.shape[1]) + smoothing / K
            return -np.mean(np.sum(targets * F.log_softmax(logits, axis=1), axis=1))
        """, "smoothed_cross_entropy")
    with pytest.raises(AssertionError, match=r"reads a global of the notebook, `K` \(= 5\).*logits\.shape"):
        check(SMOOTHING, answer)


def test_smoothing_an_answer_whose_globals_make_it_raise_gets_the_note_too():
    answer = _in_notebook("""
        def smoothed_cross_entropy(logits, labels, smoothing):
            targets = np.full((N, K), smoothing / K)
            targets[np.arange(N), labels] += 1 - smoothing
            return -np.mean(np.sum(targets * F.log_softmax(logits, axis=1), axis=1))
        """, "smoothed_cross_entropy")
    with pytest.raises(IndexError) as raised:
        check(SMOOTHING, answer)
    assert "`N` (= 8), `K` (= 5)" in " ".join(getattr(raised.value, "__notes__", []))


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


def smoothing_by_torch(logits, labels, smoothing):
    return TF.cross_entropy(torch.tensor(logits), torch.tensor(labels), label_smoothing=smoothing).item()


def smoothing_by_the_librarys_loss(logits, labels, smoothing):
    ce = scratch.CrossEntropyLoss()(logits, labels)
    return (1 - smoothing) * ce + smoothing * -np.mean(F.log_softmax(logits, axis=1))


def smoothing_by_the_referees_wrapped_function(logits, labels, smoothing):
    return ch04._smoothed_cross_entropy_by_torch.__wrapped__(logits, labels, smoothing)


def smoothing_by_a_private_helper(logits, labels, smoothing):
    return ch04._smoothed_cross_entropy_by_numpy(logits, labels, smoothing)


@pytest.mark.parametrize("answer, fragment", [
    (smoothing_by_torch, r"your answer calls torch\..*in NumPy"),
    (smoothing_by_the_librarys_loss, r"your answer calls mlp_course\.scratch\.losses"),
    (smoothing_by_the_referees_wrapped_function, r"your answer calls mlp_course\.exercises\.ch04\."
                                                 r"_smoothed_cross_entropy_by_torch"),
    (smoothing_by_a_private_helper, r"your answer calls mlp_course\.exercises\.ch04\."
                                    r"_smoothed_cross_entropy_by_numpy"),
])
def test_smoothing_rejects_an_answer_that_lets_pytorch_the_library_or_the_check_do_it(answer, fragment):
    with pytest.raises(RefereeCalled, match=fragment):
        check(SMOOTHING, answer)


def test_smoothing_a_changed_pytorch_fails_the_check_instead_of_grading_against_it(monkeypatch):
    monkeypatch.setattr(TF, "cross_entropy", lambda *args, **kwargs: torch.tensor(0.0, dtype=torch.float64))
    for run in (check, grade):
        with pytest.raises(AssertionError, match=r"two references .* disagree.*Restart the kernel"):
            run(SMOOTHING, lambda logits, labels, smoothing: 0.0)


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


def loss_exp_unguarded(z, y, pos_weight):
    return np.mean(pos_weight * y * np.log(1 + np.exp(-z)) + (1 - y) * np.log(1 + np.exp(z)))


def loss_where_label_is_one(z, y, pos_weight):
    return np.mean(np.where(y == 1, pos_weight * np.logaddexp(0, -z), np.logaddexp(0, z)))


def loss_weight_per_example(z, y, pos_weight):
    bce = y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)
    return np.mean((pos_weight * y + 1 - y) * bce)


def loss_weighted_average(z, y, pos_weight):
    terms = pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)
    return np.sum(terms) / np.sum(pos_weight * y + 1 - y)


def loss_weight_on_zy_only(z, y, pos_weight):
    return np.mean(np.maximum(z, 0) - pos_weight * z * y + np.log1p(np.exp(-np.abs(z))))


def loss_logs_swapped(z, y, pos_weight):
    return np.mean(pos_weight * y * np.logaddexp(0, z) + (1 - y) * np.logaddexp(0, -z))


def loss_log_plus_epsilon(z, y, pos_weight):
    p = F.sigmoid(z)
    return -np.mean(pos_weight * y * np.log(p + 1e-8) + (1 - y) * np.log(1 - p + 1e-8))


def loss_clipped(z, y, pos_weight):
    p = np.clip(F.sigmoid(z), 1e-12, 1 - 1e-12)
    return -np.mean(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))


def loss_clamped_at_100(z, y, pos_weight):
    p = F.sigmoid(z)
    return -np.mean(pos_weight * y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100))


def loss_in_float32(z, y, pos_weight):
    return weighted_bce_with_logits(z.astype(np.float32), y.astype(np.float32), np.float32(pos_weight))


def loss_without_return(z, y, pos_weight):
    loss = weighted_bce_with_logits(z, y, pos_weight)  # noqa: F841


@pytest.mark.parametrize("answer, fragment", [
    (loss_through_probabilities, r"Case 2 of 4.*the result is (nan|inf)\. Two routes lead there\. Through "
                                 r"probabilities: sigmoid\(-1000\) rounds to 0.*np\.logaddexp"),
    (loss_exp_unguarded, r"the result is (nan|inf)\. .*Through e\^z: np\.exp of a number above about 709\.78 "
                         r"is inf, so log\(1 \+ np\.exp\(-z\)\) is inf"),
    (loss_where_label_is_one, r"Case 3 of 4.*Likely mistake: the weight is chosen by the label.*soft targets"),
    (loss_weight_per_example, r"Case 3 of 4.*Likely mistake: the weight is chosen by the label"),
    (loss_weighted_average, r"Likely mistake: divided by the sum of the weights"),
    (loss_weight_on_zy_only, r"Likely mistake: only the -z y term of max\(z, 0\) - z y .* is weighted"),
    (loss_logs_swapped, r"Likely mistake: the two logs are swapped"),
    (loss_log_plus_epsilon, r"Case 1 of 4.*result is 3\.71539\d+, expected 3\.71539\d+ .*Likely mistake: an "
                            r"epsilon inside the logs, log\(p \+ 1e-8\).*A clamp is not a fix"),
    (loss_clipped, r"Case 2 of 4.*Likely mistake: p is clipped to \[1e-12, 1 - 1e-12\].*A clamp is not a fix"),
    (loss_clamped_at_100, r"Case 2 of 4.*Likely mistake: each log is clamped at -100"),
    (loss_in_float32, r"agrees with the expected one to about \d significant digits.*Float32 arithmetic"),
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


def test_pos_weight_loss_a_missing_return_is_not_called_an_overflow():
    with pytest.raises(AssertionError, match=r"result is None\. Did you forget a `return`") as raised:
        check(POS_LOSS, loss_without_return)
    assert "rounded" not in str(raised.value)


def test_pos_weight_loss_an_answer_that_reads_the_notebooks_n_is_told_so():
    answer = _in_notebook("""
        def weighted_bce_with_logits(z, y, pos_weight):
            return np.sum(pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)) / N
        """, "weighted_bce_with_logits")
    with pytest.raises(AssertionError, match=r"reads a global of the notebook, `N` \(= 8\).*z\.size"):
        check(POS_LOSS, answer)


def loss_by_torch(z, y, pos_weight):
    return TF.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y),
                                               pos_weight=torch.tensor(pos_weight)).item()


def loss_by_the_referees_wrapped_function(z, y, pos_weight):
    return ch04._weighted_bce_by_torch.__wrapped__(z, y, pos_weight)


def loss_by_a_private_helper(z, y, pos_weight):
    return ch04._weighted_bce_by_numpy(z, y, pos_weight)


@pytest.mark.parametrize("answer, fragment", [
    (loss_by_torch, r"your answer calls torch\..*in NumPy"),
    (loss_by_the_referees_wrapped_function, r"your answer calls mlp_course\.exercises\.ch04\._weighted_bce_by_torch"),
    (loss_by_a_private_helper, r"your answer calls mlp_course\.exercises\.ch04\._weighted_bce_by_numpy"),
])
def test_pos_weight_loss_rejects_an_answer_that_lets_pytorch_or_the_check_do_it(answer, fragment):
    with pytest.raises(RefereeCalled, match=fragment):
        check(POS_LOSS, answer)


def test_pos_weight_loss_a_changed_pytorch_fails_the_check(monkeypatch):
    monkeypatch.setattr(TF, "binary_cross_entropy_with_logits",
                        lambda *args, **kwargs: torch.tensor(0.0, dtype=torch.float64))
    with pytest.raises(AssertionError, match=r"two references .* disagree"):
        grade(POS_LOSS, lambda z, y, pos_weight: 0.0)


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
    """The same gradient, collected: ((1 + (w - 1) y) sigmoid(z) - w y) / z.size."""
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


def grad_through_p(z, y, pos_weight):
    """The chain through the probability: dl/dp times dp/dz = p (1 - p)."""
    p = F.sigmoid(z)
    dl_dp = -(pos_weight * y / p - (1 - y) / (1 - p)) / z.size
    return dl_dp * p * (1 - p)


def grad_weight_per_example(z, y, pos_weight):
    return (F.sigmoid(z) - y) * (pos_weight * y + 1 - y) / z.size


def grad_where_label_is_one(z, y, pos_weight):
    p = F.sigmoid(z)
    return np.where(y == 1, pos_weight * (p - 1), p) / z.size


def grad_positive_term_sign(z, y, pos_weight):
    return (pos_weight * y * F.sigmoid(-z) + (1 - y) * F.sigmoid(z)) / z.size


def grad_negative_term_sign(z, y, pos_weight):
    p = F.sigmoid(z)
    return (pos_weight * y * (p - 1) - (1 - y) * p) / z.size


def grad_extra_sigmoid_slope(z, y, pos_weight):
    p = F.sigmoid(z)
    return weighted_bce_with_logits_grad(z, y, pos_weight) * p * (1 - p)


def grad_weighted_average(z, y, pos_weight):
    p = F.sigmoid(z)
    return (pos_weight * y * (p - 1) + (1 - y) * p) / np.sum(pos_weight * y + 1 - y)


def grad_by_own_finite_differences(z, y, pos_weight):
    """Central differences of the loss, written by hand (h = 1e-6): close, not exact."""
    h, gradient = 1e-6, np.zeros_like(z)
    for index in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[index] += h
        down[index] -= h
        gradient[index] = (weighted_bce_with_logits(up, y, pos_weight)
                           - weighted_bce_with_logits(down, y, pos_weight)) / (2 * h)
    return gradient


def grad_without_return(z, y, pos_weight):
    gradient = weighted_bce_with_logits_grad(z, y, pos_weight)  # noqa: F841


@pytest.mark.parametrize("answer, fragment", [
    (grad_naive_sigmoid, r"Case 2 of 4.*an array with 2 inf or nan entries out of 7\. A float overflowed.*"
                         r"stable sigmoid"),
    (grad_sign_flipped, r"Likely mistake: the sign is flipped"),
    (grad_weight_on_negatives, r"Likely mistake: the weight multiplies the negative term"),
    (grad_weight_on_both, r"Likely mistake: the weight multiplies both terms"),
    (grad_unweighted, r"Likely mistake: pos_weight has no effect"),
    (grad_not_divided, r"Likely mistake: the division of the mean is missing.*z\.size"),
    (grad_over_rows, r"Likely mistake: divided by len\(z\), the number of rows"),
    (grad_through_p, r"Case 2 of 4.*4 inf or nan entries out of 7\. 2 of them lie at negative logits.*through "
                     r"p = sigmoid\(z\), dividing by p.*divides by nothing"),
    (grad_weight_per_example, r"Case 3 of 4.*Likely mistake: the weight is chosen by the label.*soft targets"),
    (grad_where_label_is_one, r"Case 3 of 4.*Likely mistake: the weight is chosen by the label"),
    (grad_positive_term_sign, r"Likely mistake: the positive term has the wrong sign"),
    (grad_negative_term_sign, r"Likely mistake: the negative term has the wrong sign"),
    (grad_extra_sigmoid_slope, r"Likely mistake: the gradient is multiplied by sigmoid'\(z\) = p \(1 - p\) once "
                               r"too often"),
    (grad_weighted_average, r"Likely mistake: divided by the sum of the weights"),
])
def test_pos_weight_grad_rejects_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        _quietly(POS_GRAD, answer)


def test_pos_weight_grad_the_naive_sigmoid_is_not_told_that_it_divided_by_p():
    with pytest.raises(AssertionError) as raised:
        _quietly(POS_GRAD, grad_naive_sigmoid)
    assert "negative logits" not in str(raised.value)


def test_pos_weight_grad_finite_differences_are_told_they_are_close_not_exact():
    with pytest.raises(AssertionError, match=r"agrees with the expected one to about \d significant digits.*finite "
                                             r"differences") as raised:
        check(POS_GRAD, grad_by_own_finite_differences)
    message = str(raised.value)
    assert "times the expected value" not in message and "off by the same amount" not in message


def test_pos_weight_grad_a_missing_return_is_not_called_an_overflow():
    with pytest.raises(AssertionError, match=r"result is None\. Did you forget a `return`") as raised:
        check(POS_GRAD, grad_without_return)
    assert "overflow" not in str(raised.value)


def test_pos_weight_grad_an_answer_that_reads_the_notebooks_n_is_told_so():
    answer = _in_notebook("""
        def weighted_bce_with_logits_grad(z, y, pos_weight):
            p = F.sigmoid(z)
            return (pos_weight * y * (p - 1) + (1 - y) * p) / N
        """, "weighted_bce_with_logits_grad")
    with pytest.raises(AssertionError, match=r"reads a global of the notebook, `N` \(= 8\)"):
        check(POS_GRAD, answer)


def grad_by_autograd(z, y, pos_weight):
    z_t = torch.tensor(z, requires_grad=True)
    TF.binary_cross_entropy_with_logits(z_t, torch.tensor(y), pos_weight=torch.tensor(pos_weight)).backward()
    return z_t.grad.numpy()


def grad_by_numerical_gradient(z, y, pos_weight):
    return numerical_gradient(lambda: weighted_bce_with_logits(z, y, pos_weight), z)


def grad_by_the_referees_wrapped_function(z, y, pos_weight):
    return ch04._weighted_bce_grad_by_torch.__wrapped__(z, y, pos_weight)


def grad_by_a_private_helper(z, y, pos_weight):
    return ch04._grad_right(z, y, pos_weight)


@pytest.mark.parametrize("answer, fragment", [
    (grad_by_autograd, r"your answer calls torch\..*in NumPy"),
    (grad_by_numerical_gradient, r"your answer calls mlp_course\.gradcheck\.numerical_gradient"),
    (grad_by_the_referees_wrapped_function, r"your answer calls mlp_course\.exercises\.ch04\."
                                            r"_weighted_bce_grad_by_torch"),
    (grad_by_a_private_helper, r"your answer calls mlp_course\.exercises\.ch04\._grad_right"),
])
def test_pos_weight_grad_rejects_an_answer_that_lets_pytorch_the_library_or_the_check_do_it(answer, fragment):
    with pytest.raises(RefereeCalled, match=fragment):
        check(POS_GRAD, answer)


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
