"""The checks of chapter 1 (mlp_course/exercises/ch01.py): every key passes its
reference answer, waits for the untouched stub, names the plausible mistakes,
accepts every correct form the chapter teaches, and refuses a referee's help."""

from __future__ import annotations

import numpy as np
import pytest

from mlp_course.exercises import NotAnswered, RefereeCalled, WrongAnswer, check, grade, keys
from mlp_course.exercises import ch01
from mlp_course.scratch import functional as F

NOT_ANSWERED = "is not answered yet"


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch01") == ["ch01-ex-gates", "ch01-ex-mse"]


# --------------------------------------------------------------------------
# ch01-ex-gates
# --------------------------------------------------------------------------

# The reference answer, as in the chapter's solution.
W_AND, B_AND = np.array([1.0, 1.0]), -1.5
W_OR, B_OR = np.array([1.0, 1.0]), -0.5


def test_gates_reference_passes(capsys):
    assert check("ch01-ex-gates", W_AND, B_AND, W_OR, B_OR)
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1


def test_gates_untouched_stub_is_not_answered_yet(capsys):
    result = check("ch01-ex-gates", None, None, None, None)
    assert not result and result == False  # noqa: E712 (a CheckResult, equal to False)
    out = capsys.readouterr().out
    assert NOT_ANSWERED in out and "\u2713" not in out and out.count("\n") == 1
    with pytest.raises(NotAnswered):
        grade("ch01-ex-gates", None, None, None, None)


def test_gates_half_answered_is_not_answered_yet_but_says_the_other_half_is_right(capsys):
    assert not check("ch01-ex-gates", W_AND, B_AND, None, None)
    out = capsys.readouterr().out
    assert "OR neuron (w_or, b_or) " + NOT_ANSWERED in out and "AND neuron is right" in out
    assert not check("ch01-ex-gates", W_AND, B_AND, W_OR, None)
    assert NOT_ANSWERED in capsys.readouterr().out


def test_gates_half_answered_wrongly_is_wrong_at_once():
    with pytest.raises(AssertionError, match="That is OR"):
        check("ch01-ex-gates", W_OR, B_OR, None, None)


@pytest.mark.parametrize("w_and, b_and, w_or, b_or", [
    ([1, 1], -1.5, [1, 1], -0.5),                                # lists
    ((1, 1), -2, (1, 1), -1),                                    # ints, boundary through (1, 1) and through (0, 1), (1, 0)
    ([2, 2], -3, [2, 2], -1),
    (np.array([0.5, 0.5], dtype=np.float32), np.float32(-0.75), np.array([3, 3]), np.int64(-3)),
    (np.array([[1.0, 1.0]]), np.array([-1.5]), np.array([[1.0], [1.0]]), [-0.5]),  # other shapes of 2 and 1 numbers
    ([1.0, 2.0], -2.5, [2.0, 1.0], -0.25),                       # unequal weights
    ([0.1, 0.2], -(0.1 + 0.2), [1, 1], -0.5),                    # z = 0 at (1, 1) in float64, as the chapter computes it
])
def test_gates_accepts_every_correct_answer(w_and, b_and, w_or, b_or, capsys):
    assert check("ch01-ex-gates", w_and, b_and, w_or, b_or)
    assert "\u2713" in capsys.readouterr().out


def test_gates_judges_z_equal_to_zero_as_the_chapter_does():
    """Class 1 when p >= 1/2, that is z >= 0: a boundary through an input puts it in class 1."""
    z = ch01.weighted_sums(np.array([1.0, 1.0]), -2.0)
    assert z.tolist() == [-2.0, -1.0, -1.0, 0.0]
    assert ch01.classes(z) == (0, 0, 0, 1)
    # The same as the chapter's own rule, sigmoid(z) >= 0.5, on these inputs.
    assert ch01.classes(z) == tuple(int(p >= 0.5) for p in 1 / (1 + np.exp(-z)))


@pytest.mark.parametrize("answer, fragment", [
    ((W_OR, B_OR, W_AND, B_AND), "That is OR, the other gate: are the AND and OR answers swapped"),
    (([1, 1], -0.5, [1, 1], -0.5), "b_and is too large: a single 1 already reaches z >= 0"),
    (([1, 1], -1.5, [1, 1], -1.5), "That is AND, the other gate"),
    (([1, 1], -1, [1, 1], -0.5), r"passes exactly through \(0, 1\) and \(1, 0\): z = 0 there, and z = 0 counts as class 1.*off them"),
    (([1, 1], -1.5, [1, 1], 0), r"passes exactly through \(0, 0\).*Move the boundary off it"),
    (([-1, -1], 1.5, [1, 1], -0.5), "That is NAND, the exact opposite of AND: flip the signs of the weights and of the bias"),
    (([1, 1], -1.5, [-1, -1], 0.5), "That is NOR, the exact opposite of OR"),
    (([1, 1], 1.5, [1, 1], -0.5), r"answers 1 for every input, even \(0, 0\), where z = b: b_and is too large"),
    (([1, 1], -3, [1, 1], -0.5), "answers 0 for every input"),
    (([1, 0], -0.5, [1, 1], -0.5), "It computes x1 alone"),
    # class 1 read as z <= 0: the boundary through (1, 1), on the wrong side
    (([-1, -1], 2, [1, 1], -0.5), r"would compute AND if class 1 meant z <= 0\. But class 1 is z >= 0"),
    (([1, 1], -1.5, [-1, -1], 1), r"would compute OR if class 1 meant z <= 0.*flip the signs"),
])
def test_gates_names_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch01-ex-gates", *answer)


def test_gates_message_shows_what_the_neuron_answers_and_its_weighted_sums():
    with pytest.raises(WrongAnswer) as caught:
        check("ch01-ex-gates", [1, 1], -0.5, [1, 1], -0.5)
    message = str(caught.value)
    assert "answers 0, 1, 1, 1 on the inputs (0, 0), (0, 1), (1, 0), (1, 1); AND is 0, 0, 0, 1" in message
    assert "z = w1 x1 + w2 x2 + b there are -0.5, 0.5, 0.5, 1.5" in message


@pytest.mark.parametrize("answer, fragment", [
    (([1, 1, 1], -1.5, W_OR, B_OR), r"w_and should hold two weights, one per input bit: expected 2 weights, got 3 \(\[1, 1, 1\]\)"),
    ((W_AND, B_AND, [1.0], B_OR), "w_or should hold two weights.*got 1"),
    ((W_AND, B_AND, np.ones((3, 3)), B_OR), r"got 9 \(an array of shape \(3, 3\)\)"),
    ((W_AND, [-1.5, -1.5], W_OR, B_OR), r"b_and should be a single number \(the bias\), got 2 numbers"),
    ((W_AND, B_AND, "1, 1", B_OR), "w_or should be two weights .* got str"),
    ((W_AND, B_AND, W_OR, "-0.5"), "b_or should be a single number"),
    (([1, float("nan")], B_AND, W_OR, B_OR), "finite values"),
    (([1, 1], B_AND, W_OR, float("inf")), "finite values"),
])
def test_gates_malformed_answers_get_a_clear_message(answer, fragment):
    with pytest.raises(WrongAnswer, match=fragment):
        check("ch01-ex-gates", *answer)


def test_gates_takes_four_answers():
    with pytest.raises(TypeError, match="takes 4 answer"):
        check("ch01-ex-gates", W_AND, B_AND)


# --------------------------------------------------------------------------
# ch01-ex-mse
# --------------------------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def predict_proba(X, w, b):
    return sigmoid(X @ w + b)


def mse_neuron_gradient(X, y, w, b):
    """The reference answer, as in the chapter's solution."""
    p = predict_proba(X, w, b)
    dL_dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X.T @ dL_dz, np.sum(dL_dz)


def stub(X, y, w, b):
    """Gradient of mean((sigmoid(X @ w + b) - y) ** 2): the pair (dL/dw, dL/db)."""
    raise NotImplementedError("replace this line with your code")


def test_mse_reference_passes(capsys):
    assert check("ch01-ex-mse", mse_neuron_gradient)
    assert capsys.readouterr().out == "\u2713 mse_neuron_gradient passes all 4 test cases.\n"
    grade("ch01-ex-mse", mse_neuron_gradient)


def test_mse_untouched_stub_is_not_answered_yet(capsys):
    result = check("ch01-ex-mse", stub)
    assert not result and result == False  # noqa: E712
    out = capsys.readouterr().out
    assert "mse_neuron_gradient " + NOT_ANSWERED in out and "\u2713" not in out
    assert not check("ch01-ex-mse", None)
    assert NOT_ANSWERED in capsys.readouterr().out
    with pytest.raises(NotAnswered):
        grade("ch01-ex-mse", stub)


# Every correct form the chapter teaches, or that a learner may reasonably write.

def with_sigmoid_of_z(X, y, w, b):
    z = X @ w + b
    dz = 2 * (sigmoid(z) - y) * sigmoid(z) * (1 - sigmoid(z)) / len(y)
    return X.T @ dz, dz.sum()


def link_by_link(X, y, w, b):
    p = predict_proba(X, w, b)
    dL_dp = 2 * (p - y) / len(y)       # link 1, with the 1/N of the mean
    dp_dz = p * (1 - p)                # link 2
    dL_dz = dL_dp * dp_dz
    return X.T @ dL_dz, np.sum(dL_dz)  # link 3


def with_means(X, y, w, b):
    p = F.sigmoid(X @ w + b)           # the package's stable sigmoid
    signal = 2 * (p - y) * p * (1 - p)
    return np.mean(X * signal[:, None], axis=0), np.mean(signal)


def row_times_matrix(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return dz @ X, float(dz.sum())


def with_loops(X, y, w, b):
    N, d = X.shape
    dw, db = [0.0] * d, 0.0
    for i in range(N):
        z = sum(w[j] * X[i, j] for j in range(d)) + b
        p = 1 / (1 + np.exp(-z))
        signal = 2 * (p - y[i]) * p * (1 - p) / N
        for j in range(d):
            dw[j] += signal * X[i, j]
        db += signal
    return dw, db                      # a list and a number


def as_a_list(X, y, w, b):
    dw, db = mse_neuron_gradient(X, y, w, b)
    return [dw, np.array(db)]          # a list, and db as a 0-d array


def in_place_on_the_inputs(X, y, w, b):
    X -= 0                             # harmless, but it touches the inputs
    w *= 1
    return mse_neuron_gradient(X, y, w, b)


def on_copies(X, y, w, b):
    w = w.copy()                       # changing a copy of an input is fine
    w -= 0.0
    p = predict_proba(X, w, b)
    dz = p - y                         # a new array, not p itself
    dz *= 2 * p * (1 - p) / len(y)
    return X.T @ dz, np.sum(dz)


def in_float32(X, y, w, b):
    X, y, w = X.astype(np.float32), y.astype(np.float32), w.astype(np.float32)
    p = predict_proba(X, w, np.float32(b))
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X.T @ dz, np.sum(dz)


@pytest.mark.parametrize("answer", [
    mse_neuron_gradient, with_sigmoid_of_z, link_by_link, with_means, row_times_matrix, with_loops,
    as_a_list, in_place_on_the_inputs, on_copies, in_float32,
])
def test_mse_accepts_every_correct_form(answer, capsys):
    assert check("ch01-ex-mse", answer)
    assert "\u2713" in capsys.readouterr().out


# The plausible mistakes, written as a learner would write them.

def sigma_prime_at_p(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * sigmoid(p) * (1 - sigmoid(p)) / len(y)
    return X.T @ dz, np.sum(dz)


def output_form_at_z(X, y, w, b):
    z = X @ w + b
    p = sigmoid(z)
    dz = 2 * (p - y) * z * (1 - z) / len(y)
    return X.T @ dz, np.sum(dz)


def missing_mean(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p)
    return X.T @ dz, np.sum(dz)


def missing_two(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = (p - y) * p * (1 - p)
    return X.T @ dz / len(y), np.mean(dz)


def cross_entropy_gradient(X, y, w, b):
    p = predict_proba(X, w, b)
    return X.T @ (p - y) / len(y), np.mean(p - y)


def without_sigma_prime(X, y, w, b):
    p = predict_proba(X, w, b)
    return X.T @ (2 * (p - y)) / len(y), np.mean(2 * (p - y))


def wrong_sign(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (y - p) * p * (1 - p) / len(y)
    return X.T @ dz, np.sum(dz)


def not_transposed(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X @ dz, np.sum(dz)


def entry_by_entry(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X.T * dz, np.sum(dz)


def swapped(X, y, w, b):
    dw, db = mse_neuron_gradient(X, y, w, b)
    return db, dw


def two_features_in_z(X, y, w, b):
    p = sigmoid(w[0] * X[:, 0] + w[1] * X[:, 1] + b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X.T @ dz, np.sum(dz)


def two_features_everywhere(X, y, w, b):
    p = sigmoid(w[0] * X[:, 0] + w[1] * X[:, 1] + b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return np.array([np.sum(dz * X[:, 0]), np.sum(dz * X[:, 1])]), np.sum(dz)


def bias_forgotten(X, y, w, b):
    p = sigmoid(X @ w)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X.T @ dz, np.sum(dz)


def n_hard_coded(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p) / 100    # the size of the iris data
    return X.T @ dz, np.sum(dz)


def divided_by_d(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p) / len(w)
    return X.T @ dz, np.sum(dz)


def mean_over_the_wrong_axis(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p)
    return np.mean(X * dz[:, None], axis=1), np.mean(dz)


def p_changed_in_place(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = p                                  # not a copy: dz and p are one array
    dz -= y
    dz *= 2 * p * (1 - p) / len(y)
    return X.T @ dz, np.sum(dz)


def double_mean_in_db(X, y, w, b):
    p = predict_proba(X, w, b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X.T @ dz, np.mean(dz)


@pytest.mark.parametrize("answer, fragment", [
    (bias_forgotten, r"the bias b is missing from the forward pass"),
    (n_hard_coded, r"N is hard-coded as 100, the size of the iris data"),
    (divided_by_d, r"divided by the number of features d = X.shape\[1\] instead of the number of examples"),
    (mean_over_the_wrong_axis, r"the mean runs over axis 1, the features"),
    (p_changed_in_place, r"p was changed in place: after `dz = p`, dz and p are the same array"),
    (double_mean_in_db, r"db \(result\[1\]\) is .* It is 1/3 times the expected value"),
    (sigma_prime_at_p, r"sigma' taken at p instead of at z: sigmoid\(p\) \* \(1 - sigmoid\(p\)\) applies the sigmoid twice"),
    (output_form_at_z, r"sigma' in its output form fed with z"),
    (missing_mean, "the 1/N of the mean is missing"),
    (missing_two, "the factor 2 is missing"),
    (cross_entropy_gradient, r"this is the gradient of the cross-entropy, \(p - y\) / N, not of the squared error"),
    (without_sigma_prime, r"the link dp/dz = sigma'\(z\) is missing"),
    (wrong_sign, "the sign is flipped"),
    (not_transposed, r"X @ dz in place of X.T @ dz"),
    (entry_by_entry, r"X.T \* dz multiplies entry by entry"),
    (swapped, r"the pair is in the wrong order: return \(dw, db\)"),
    (two_features_in_z, "two features are hard-coded"),
    (two_features_everywhere, "two features are hard-coded"),
])
def test_mse_names_the_plausible_mistakes(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch01-ex-mse", answer)


def test_mse_wrong_answer_reports_the_case_and_the_error():
    with pytest.raises(WrongAnswer) as caught:
        check("ch01-ex-mse", sigma_prime_at_p)
    message = str(caught.value)
    assert message.startswith("Case 1 of 4 (3 examples with 3 features), mse_neuron_gradient(")
    assert "dw (result[0]) has the right shape (3,) but wrong values" in message


def test_mse_hard_coded_two_features_passes_the_iris_cases_and_fails_on_three():
    """The answer is right wherever d = 2, so only the cases with 3 features catch it."""
    for name, args in ch01.mse_inputs():
        if args[0].shape[1] == 2:
            for got, want in zip(two_features_everywhere(*args), mse_neuron_gradient(*args)):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert [args[0].shape[1] for _, args in ch01.mse_inputs()] == [3, 2, 2, 3]


def test_mse_an_error_in_the_answer_is_reported_as_the_learners_own():
    def typo(X, y, w, b):
        p = predict_proba(X, w, b)
        return X.T @ (p - y)[:, None, None], 0.0   # a shape error inside the learner's code

    with pytest.raises(ValueError) as caught:
        check("ch01-ex-mse", typo)
    assert any("ch01-ex-mse" in note for note in getattr(caught.value, "__notes__", []))


@pytest.mark.parametrize("referee", [
    ch01.mse_gradient_by_scratch, ch01.mse_gradient_by_finite_differences, ch01.mse_gradient_by_pytorch])
def test_mse_an_answer_calling_a_referee_fails(referee):
    def calls_the_referee(X, y, w, b):
        return referee(X, y, w, b)

    with pytest.raises(RefereeCalled, match="your answer calls the check's own reference"):
        check("ch01-ex-mse", calls_the_referee)


def test_mse_an_answer_that_changes_its_inputs_fails_even_with_the_right_values():
    """check_function hands every case copies, so only this check sees it; a training loop would."""
    def gradient_step_inside(X, y, w, b):
        dw, db = mse_neuron_gradient(X, y, w, b)
        w -= 0.1 * dw                       # a step smuggled into the gradient function
        return dw, db

    def standardises_X(X, y, w, b):
        X /= X.std(axis=0)                  # changes the caller's data
        return mse_neuron_gradient(X, y, w, b)

    with pytest.raises(WrongAnswer, match=r"^Case 1 of 4 \(3 examples with 3 features\): mse_neuron_gradient "
                                          r"changed its argument w in place"):
        check("ch01-ex-mse", gradient_step_inside)
    with pytest.raises(WrongAnswer, match=r"changed its argument X in place.*should only read its arguments"):
        check("ch01-ex-mse", standardises_X)
    with pytest.raises(WrongAnswer, match=r"changed its argument w in place"):
        grade("ch01-ex-mse", gradient_step_inside)


# The tools the chapter shows (autograd, the scratch library's backward pass,
# finite differences) and the check's own code all compute the gradient; an
# answer that calls them has derived nothing, and fails, under check and grade.

def by_autograd(X, y, w, b):
    import torch

    w_t = torch.tensor(w, requires_grad=True)
    b_t = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    loss = torch.mean((torch.sigmoid(torch.tensor(X) @ w_t + b_t) - torch.tensor(y)) ** 2)
    loss.backward()
    return w_t.grad.numpy(), b_t.grad.item()


def by_the_scratch_library(X, y, w, b):
    from mlp_course import scratch

    neuron = scratch.Sequential(scratch.Linear(len(w), 1, dtype=np.float64), scratch.Sigmoid())
    neuron[0].weight.data[:, 0] = w
    neuron[0].bias.data[0] = b
    loss_fn = scratch.MSELoss()
    loss_fn(neuron(X), y.reshape(-1, 1))
    neuron.zero_grad()
    neuron.backward(loss_fn.backward())
    return neuron[0].weight.grad[:, 0], neuron[0].bias.grad[0]


def by_finite_differences(X, y, w, b):
    from mlp_course.gradcheck import numerical_gradient

    w, b_array = np.array(w, dtype=float), np.array([b], dtype=float)

    def loss():
        return np.mean((predict_proba(X, w, b_array[0]) - y) ** 2)

    return numerical_gradient(loss, w), numerical_gradient(loss, b_array)[0]


def by_the_checks_helpers(X, y, w, b):
    return ch01._pair(X, ch01._dz(X, y, w, b))


def by_a_mistake_helper(X, y, w, b):
    db, dw = ch01._swapped(X, y, w, b)
    return dw, db


def by_a_referees_original(X, y, w, b):
    return ch01.mse_gradient_by_pytorch.__wrapped__(X, y, w, b)


def test_the_shortcuts_do_give_the_right_gradient_outside_the_check():
    """So that the test below shows the guard at work, not a wrong value."""
    for _, args in ch01.mse_inputs():
        want = mse_neuron_gradient(*args)
        for shortcut in (by_autograd, by_the_scratch_library, by_finite_differences, by_the_checks_helpers,
                         by_a_mistake_helper, by_a_referees_original):
            got = shortcut(*args)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("answer, called", [
    (by_autograd, "torch"),
    (by_the_scratch_library, "mlp_course.scratch"),
    (by_finite_differences, "mlp_course.gradcheck.numerical_gradient"),
    (by_the_checks_helpers, "mlp_course.exercises.ch01._"),
    (by_a_mistake_helper, "mlp_course.exercises.ch01._swapped"),
    (by_a_referees_original, "mlp_course.exercises.ch01.mse_gradient_by_pytorch"),
])
def test_mse_an_answer_calling_a_tool_or_the_checks_code_fails(answer, called):
    fragment = r"your answer calls " + called.replace(".", r"\.") + r".*write the computation yourself, in NumPy"
    with pytest.raises(RefereeCalled, match=fragment):
        check("ch01-ex-mse", answer)
    with pytest.raises(RefereeCalled, match=fragment):
        grade("ch01-ex-mse", answer)


def test_mse_the_three_referees_agree_on_every_case():
    """Each case's expected value comes from one referee; all three agree on all cases."""
    for name, args in ch01.mse_inputs():
        exact = ch01.mse_gradient_by_pytorch(*args)
        scratch_answer = ch01.mse_gradient_by_scratch(*args)
        finite = ch01.mse_gradient_by_finite_differences(*args)
        np.testing.assert_allclose(scratch_answer[0], exact[0], rtol=1e-12, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(scratch_answer[1], exact[1], rtol=1e-12, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(finite[0], exact[0], rtol=1e-7, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(finite[1], exact[1], rtol=1e-7, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(mse_neuron_gradient(*args)[0], exact[0], rtol=1e-12, atol=1e-15)


def test_mse_cases_are_deterministic_and_use_the_chapter_data():
    first, second = ch01.mse_inputs(), ch01.mse_inputs()
    for (name_a, args_a), (name_b, args_b) in zip(first, second):
        assert name_a == name_b
        for a, b in zip(args_a, args_b):
            np.testing.assert_array_equal(a, b)
    X, y = ch01.iris_two_species()
    assert X.shape == (100, 2) and y.sum() == 50
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1)
    # Neither iris case sits at a point that hides a mistake: one has b != 0, and no case has w = 0.
    assert any(args[3] != 0 and args[0].shape[1] == 2 for _, args in first)
    assert all(np.linalg.norm(args[2]) > 0.5 for _, args in first)
    # Both classes in every case.
    assert all(0 < args[1].sum() < len(args[1]) for _, args in first)


def test_mse_check_does_not_touch_the_course_generator():
    """The scratch referee builds its layer with its own generator, so running the
    check does not shift the random numbers of the notebook's later cells."""
    from mlp_course import get_rng

    state = get_rng().bit_generator.state
    check("ch01-ex-mse", mse_neuron_gradient)
    assert get_rng().bit_generator.state == state
