"""Tests for mlp_course.exercises: one success line, one "not answered yet" line
for an untouched stub, or an AssertionError with a message that helps."""
from __future__ import annotations

import numpy as np
import pytest

from mlp_course.exercises import (
    CheckResult, check_array, check_function, check_scalar, not_answered, passed,
)

EXPECTED = np.arange(6.0).reshape(2, 3)

def is_true(result) -> bool:
    """A check's result that says "right"."""
    return isinstance(result, CheckResult) and bool(result) is True


def is_false(result) -> bool:
    """A check's result that says "not answered yet" (never None: that would be a missing return)."""
    return isinstance(result, CheckResult) and bool(result) is False


NOT_ANSWERED = "{} is not answered yet: write your answer in the cell above and run this cell again.\n"
NOT_WRITTEN = (
    "{} is not answered yet: replace `raise NotImplementedError` in the cell above with your code "
    "and run this cell again.\n"
)


def test_passed_prints_one_tick_line(capsys):
    assert is_true(passed("all good"))
    assert capsys.readouterr().out == "\u2713 all good\n"


def test_check_result_is_a_quiet_bool():
    yes, no = passed("x"), not_answered("y")
    assert isinstance(yes, CheckResult) and isinstance(no, CheckResult)
    assert bool(yes) is True and bool(no) is False
    assert yes == True and no == False  # noqa: E712 - equality with the bools is the point
    assert (repr(yes), repr(no), str(yes)) == ("True", "False", "True")
    assert sum([yes, yes, no]) == 2
    # Ending a notebook cell, it shows nothing: IPython formats it to no data at all.
    from IPython.core.formatters import DisplayFormatter

    assert DisplayFormatter().format(yes) == ({}, {})


def test_not_answered_prints_one_line_and_returns_false(capsys):
    assert is_false(not_answered("w"))
    assert capsys.readouterr().out == NOT_ANSWERED.format("w")


def test_check_array_success_line(capsys):
    assert is_true(check_array(EXPECTED + 1e-12, EXPECTED, name="Z"))
    assert capsys.readouterr().out == "\u2713 Z is correct (shape (2, 3)).\n"


@pytest.mark.parametrize("placeholder", [None, ...])
def test_check_array_placeholder_is_not_answered_yet_and_does_not_raise(placeholder, capsys):
    assert is_false(check_array(placeholder, EXPECTED, name="Z"))
    assert capsys.readouterr().out == NOT_ANSWERED.format("Z")


def test_check_array_accepts_lists():
    check_array([[0, 1, 2], [3, 4, 5]], EXPECTED)


@pytest.mark.parametrize(
    "answer, fragments",
    [
        (EXPECTED.T, ["expected (2, 3), got (3, 2)", "transposed"]),
        (EXPECTED.ravel(), ["expected (2, 3), got (6,)", "reshape"]),
        (EXPECTED[:, :, None], ["expected (2, 3), got (2, 3, 1)", "axes of length 1"]),
        (EXPECTED[0], ["expected (2, 3), got (3,)", "axis is missing"]),
    ],
)
def test_check_array_shape_mismatch_says_expected_and_given(answer, fragments):
    with pytest.raises(AssertionError) as info:
        check_array(answer, EXPECTED, name="Z")
    message = str(info.value)
    assert message.startswith("Z has the wrong shape")
    for fragment in fragments:
        assert fragment in message


def test_check_array_reports_the_largest_error_and_where():
    answer = EXPECTED.copy()
    answer[0, 1] += 0.5
    answer[1, 2] += 3.0
    with pytest.raises(AssertionError) as info:
        check_array(answer, EXPECTED, name="Z")
    message = str(info.value)
    assert "wrong values at 2 of 6 entries" in message
    assert "largest error is 3 at index (1, 2)" in message
    assert "got 8, expected 5" in message


@pytest.mark.parametrize(
    "answer, fragment",
    [(-EXPECTED, "wrong sign"), (2 * EXPECTED, "2 times the expected value"),
     (EXPECTED + 0.25, "off by the same amount, 0.25")],
)
def test_check_array_names_simple_patterns(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check_array(answer, EXPECTED)


@pytest.mark.parametrize(
    "answer, fragment",
    [("text", "array of numbers"), ([[1, 2], [3]], "array of numbers"),
     ([None, None], "array of numbers")],
)
def test_check_array_refuses_non_arrays(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check_array(answer, EXPECTED)


def test_check_array_reports_nan():
    answer = EXPECTED.copy()
    answer[1, 0] = np.nan
    with pytest.raises(AssertionError, match=r"NaN at 1 of 6 entries \(first at index \(1, 0\)\)"):
        check_array(answer, EXPECTED)


def test_check_array_rejects_bad_tolerance():
    with pytest.raises(ValueError, match="rtol"):
        check_array(EXPECTED, EXPECTED, rtol=-1)


def test_check_array_shows_small_arrays_in_full():
    with pytest.raises(AssertionError) as info:
        check_array(np.array([1.0, 0.0, 0.0, 1.0]), np.array([0.0, 0.0, 0.0, 1.0]), name="AND neuron")
    message = str(info.value)
    assert message.startswith("AND neuron has the right shape (4,) but wrong values at 1 of 4 entries.")
    assert message.endswith("In full: got [1, 0, 0, 1], expected [0, 0, 0, 1].")
    big = np.arange(11.0)
    wrong = big.copy()
    wrong[3] = -1
    with pytest.raises(AssertionError) as info:
        check_array(wrong, big)
    assert "In full" not in str(info.value)


def test_check_scalar(capsys):
    assert is_true(check_scalar(np.float64(0.5) + 1e-12, 0.5, name="loss"))
    assert is_true(check_scalar(np.array([0.5]), 0.5, name="loss"))
    assert capsys.readouterr().out == "\u2713 loss is correct.\n" * 2
    with pytest.raises(AssertionError, match=r"loss is 0.4, expected 0.5 \(off by 0.1\)\.$"):
        check_scalar(0.4, 0.5, name="loss")
    with pytest.raises(AssertionError, match="sign is wrong"):
        check_scalar(-0.5, 0.5)
    with pytest.raises(AssertionError, match=r"single number, got an array of shape \(3,\)"):
        check_scalar(np.ones(3), 1.0)
    assert is_false(check_scalar(None, 1.0, name="loss"))
    assert capsys.readouterr().out == NOT_ANSWERED.format("loss")


def gradient(X, w):
    return X.T @ (X @ w), float(np.sum(w))


CASES = [((np.eye(2), np.array([1.0, 2.0])), (np.array([1.0, 2.0]), 3.0)),
         ((np.ones((3, 2)), np.array([0.5, -1.0])), (np.array([-1.5, -1.5]), -0.5))]


def test_check_function_success_line(capsys):
    assert is_true(check_function(gradient, CASES))
    assert capsys.readouterr().out == "\u2713 gradient passes all 2 test cases.\n"
    assert is_true(check_function(np.sum, [((np.ones(3),), 3.0)], name="total"))
    assert capsys.readouterr().out == "\u2713 total passes the test case.\n"


def test_check_function_reports_the_failing_case_with_its_inputs():
    def wrong(X, w):
        dw, db = gradient(X, w)
        return dw, db + (X.shape[0] == 3)  # wrong only in the second case

    with pytest.raises(AssertionError) as info:
        check_function(wrong, CASES, name="gradient")
    message = str(info.value)
    assert message.startswith("Case 2 of 2, gradient([[1., 1.], [1., 1.], [1., 1.]], [ 0.5, -1. ])")
    assert "result[1] is 0.5, expected -0.5" in message


def test_check_function_untouched_stub_is_not_answered_yet(capsys):
    def stub(X, w):
        raise NotImplementedError("replace this line with your code")

    assert is_false(check_function(stub, CASES))
    assert capsys.readouterr().out == NOT_WRITTEN.format("stub")
    assert is_false(check_function(None, CASES, name="grad"))
    assert capsys.readouterr().out == NOT_ANSWERED.format("grad")


def test_check_function_half_written_stub_is_not_answered_yet(capsys):
    def half_written(X, w):
        if X.shape[0] == 3:
            raise NotImplementedError
        return gradient(X, w)

    assert is_false(check_function(half_written, CASES))
    assert capsys.readouterr().out == NOT_WRITTEN.format("half_written")


def test_check_function_missing_return_is_a_wrong_answer():
    def forgot_return(X, w):
        X @ w

    with pytest.raises(AssertionError, match="result is None. Did you forget a `return`"):
        check_function(forgot_return, CASES)
    with pytest.raises(AssertionError, match=r"result\[1\] is None"):
        check_function(lambda X, w: (gradient(X, w)[0], None), CASES, name="f")


def test_check_function_wrong_structure_and_errors():
    with pytest.raises(AssertionError, match="tuple of 2 values, got ndarray"):
        check_function(lambda X, w: X @ w, CASES, name="f")
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        check_function(lambda X, w: 1 / 0, CASES, name="f")
    with pytest.raises(AssertionError, match="grad should be a function, got int"):
        check_function(3, CASES, name="grad")


def test_check_function_inputs_are_protected_from_the_answer():
    X = np.ones((2, 2))

    def destroys_input(A):
        total = A.sum()
        A[...] = 0
        return total

    check_function(destroys_input, [((X,), 4.0), ((X,), 4.0)])
    assert np.all(X == 1)


def test_check_function_rejects_malformed_cases():
    with pytest.raises(ValueError, match="cases is empty"):
        check_function(np.sum, [])
    with pytest.raises(ValueError, match="pair"):
        check_function(np.sum, [(1, 2, 3)])
    # even for an answer not given yet: the check itself is broken
    with pytest.raises(ValueError, match="case 2 must be a pair"):
        check_function(None, [((1,), 1), "oops"])


# --- properties -------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import array_shapes, arrays  # noqa: E402

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=4), elements=finite), st.data())
def test_check_array_passes_itself_and_locates_any_single_wrong_entry(expected, data):
    check_array(expected.copy(), expected)
    index = data.draw(st.tuples(*(st.integers(0, n - 1) for n in expected.shape)))
    answer = expected.copy()
    answer[index] += 1.0 + abs(expected[index])  # far outside the tolerance
    with pytest.raises(AssertionError) as info:
        check_array(answer, expected)
    assert "wrong values at 1 of" in str(info.value)
    assert f"at index {index}" in str(info.value)


# --- what this module adds for the chapter checks -----------------------------------

from mlp_course.exercises.checks import (  # noqa: E402
    AnswerRaised, RefereeCalled, WrongAnswer, answer_running, referee,
)


@pytest.mark.parametrize("value, fragment", [(2.0, "It is 2 times"), (0.25, "It is 1/4 times"),
                                            (50.0, "It is 100 times")])
def test_check_scalar_names_a_simple_factor(value, fragment):
    with pytest.raises(WrongAnswer, match=fragment):
        check_scalar(value, 1.0 if value != 50.0 else 0.5)


def test_check_scalar_says_nothing_of_a_factor_that_is_not_simple():
    with pytest.raises(WrongAnswer) as info:
        check_scalar(1.37, 1.0)
    assert "times" not in str(info.value)


def test_rows_that_should_be_probabilities_are_named():
    expected = np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])
    by_columns = expected / expected.sum(axis=0)   # normalised over the wrong axis
    with pytest.raises(WrongAnswer) as info:
        check_array(by_columns, expected, name="P")
    message = str(info.value)
    assert "probabilities that sum to 1" in message and "wrong axis" in message


def test_a_symmetric_answer_that_is_not_is_named():
    expected = np.array([[2.0, 1.0], [1.0, 3.0]])
    with pytest.raises(WrongAnswer, match="symmetric"):
        check_array(np.array([[2.0, 1.0], [0.0, 3.0]]), expected)


def test_the_wrong_columns_and_rows_are_named():
    expected = np.arange(12.0).reshape(3, 4)
    answer = expected.copy()
    answer[:, 2] += 1
    with pytest.raises(WrongAnswer, match=r"Only column\(s\) 2 are wrong, in every row"):
        check_array(answer, expected)
    answer = expected.copy()
    answer[1, :] *= -1
    answer[1, 0] = 0.0 + 7   # still wrong: row 1 is wrong everywhere
    with pytest.raises(WrongAnswer, match=r"Only row\(s\) 1 are wrong"):
        check_array(answer, expected)


def test_known_mistakes_add_their_hint():
    expected = np.array([1.0, 2.0, 4.0])
    with pytest.raises(WrongAnswer, match="Likely mistake: forgot the bias"):
        check_array(expected - 1, expected, mistakes=[(expected + 5, "no"), (expected - 1, "forgot the bias")])
    with pytest.raises(WrongAnswer, match="Likely mistake: a sum"):
        check_scalar(3.0, 1.5, mistakes=[(3.0, "a sum, not a mean")])

    def halved(x):
        return x / 2

    with pytest.raises(WrongAnswer, match=r"Case 1 of 1 \(small\).*Likely mistake: halved"):
        check_function(halved, [((np.ones(2),), np.ones(2))], case_names=["small"],
                       mistakes=[(lambda x: x * 3, "tripled"), (halved, "halved")])


def test_a_broken_mistake_function_is_ignored():
    def broken(x):
        raise RuntimeError("the mistake itself fails on this case")

    with pytest.raises(WrongAnswer) as info:
        check_function(lambda x: x + 1, [((np.ones(2),), np.ones(2))], mistakes=[(broken, "never")])
    assert "Likely mistake" not in str(info.value)


def test_an_error_in_the_answer_is_reported_as_the_answers_own():
    def answer(x):
        return x @ np.ones((3, 3))

    with pytest.raises(AnswerRaised) as info:
        check_function(answer, [((np.ones(2),), np.ones(3))], name="f")
    assert isinstance(info.value.original, ValueError)
    assert info.value.where.startswith("Case 1 of 1, f(")


def test_a_referee_works_for_the_check_and_refuses_the_answer():
    @referee
    def double(x):
        return 2 * x

    assert double(3) == 6
    with pytest.raises(RefereeCalled, match="calls the check's own reference `double`"):
        with answer_running():
            double(3)
    assert double(4) == 8   # the guard is lifted after the answer ran
    with pytest.raises(RefereeCalled):
        check_function(lambda x: double(x), [((1.0,), 2.0)], name="f")


def test_check_function_rejects_mismatched_case_names():
    with pytest.raises(ValueError, match="2 case names for 1 cases"):
        check_function(np.sum, [((np.ones(2),), 2.0)], case_names=["a", "b"])


def test_ipython_shows_a_wrong_answer_as_its_message_alone():
    lines = WrongAnswer("result is 3, expected 2.")._render_traceback_()
    assert len(lines) == 1 and lines[0].endswith("WrongAnswer\x1b[0m: result is 3, expected 2.")


def test_a_list_of_arrays_is_described_by_its_shapes():
    weights = [np.ones((4, 3)), np.ones((3, 2))]
    with pytest.raises(WrongAnswer, match=r"f\(<list of 2 arrays of shapes \(4, 3\), \(3, 2\)>\)"):
        check_function(lambda ws: 1.0, [((weights,), 2.0)], name="f")


def test_an_answer_may_not_use_torch_the_library_or_the_checks_code():
    import torch

    from mlp_course import gradcheck, scratch
    from mlp_course.exercises import checks

    cases = [((np.array([0.5, -1.0]),), np.array([1.0, -2.0]))]
    def by_autograd(x):
        t = torch.tensor(x, requires_grad=True)
        (t ** 2).sum().backward()
        return t.grad.numpy()

    def by_finite_differences(x):
        return gradcheck.numerical_gradient(lambda: float(np.sum(x ** 2)), x)

    def by_the_library(x):
        return 2 * scratch.Linear(2, 2).forward(x[None, :].astype(np.float32))[0] * 0 + 2 * x

    def by_a_private_helper(x):
        return checks._simple_ratio(2.0) and 2 * x

    for answer, fragment in [(by_autograd, "torch"), (by_finite_differences, "mlp_course.gradcheck"),
                             (by_the_library, "mlp_course.scratch"), (by_a_private_helper, "mlp_course.exercises.checks._simple_ratio")]:
        with pytest.raises(RefereeCalled, match=f"your answer calls {fragment}"):
            check_function(answer, cases, name="f")
    # numpy, plain Python and the elementary functions of chapters 1-2 are fine
    from mlp_course.scratch import functional as F

    assert check_function(lambda x: 2 * x + 0 * F.sigmoid(x) * 0, cases, name="f")
    # ... and an exercise may allow a module
    assert check_function(by_finite_differences, cases, name="f", allowed_modules=("mlp_course.gradcheck",),
                          rtol=1e-6)


def test_a_watched_function_of_the_checks_may_be_called_when_marked():
    from mlp_course.exercises.checks import answer_may_call

    namespace = {"__name__": "mlp_course.exercises.ch99", "np": np}
    exec("def watched(x):\n    return np.exp(x)", namespace)
    cases = [((np.zeros(2),), np.ones(2))]
    with pytest.raises(RefereeCalled):
        check_function(lambda x: namespace["watched"](x), cases, name="f")
    answer_may_call(namespace["watched"])
    assert check_function(lambda x: namespace["watched"](x), cases, name="f")


def test_the_watch_restores_an_earlier_profiler():
    import sys

    def profiler(frame, event, arg):
        return None

    sys.setprofile(profiler)
    try:
        with answer_running():
            pass
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)


def test_tuple_entries_are_named():
    with pytest.raises(WrongAnswer, match=r"db \(result\[1\]\) is 3, expected 1"):
        check_function(lambda x: (x, 3.0), [((np.ones(2),), (np.ones(2), 1.0))], output_names=("dw", "db"))


def test_equal_looking_numbers_are_shown_with_more_digits():
    with pytest.raises(WrongAnswer, match=r"is 1.0000001, expected 1 \(off by"):
        check_scalar(1.0000001, 1.0, rtol=1e-9, atol=0)
    with pytest.raises(WrongAnswer) as info:
        check_array(np.array([1.0, 2.0]) * (1 + 1e-7), np.array([1.0, 2.0]), rtol=1e-9, atol=0)
    assert "1 times" not in str(info.value)


def test_rounding_noise_is_not_called_a_constant_offset():
    expected = np.array([1.0, 2.0, 3.0])
    noise = np.array([1e-10, -3e-10, 2e-10])
    with pytest.raises(WrongAnswer) as info:
        check_array(expected + noise, expected, rtol=0, atol=1e-12)
    assert "same amount" not in str(info.value)


def test_a_missing_return_names_its_case():
    with pytest.raises(WrongAnswer, match=r"^Case 1 of 1, f\(.*\): result is None. Did you forget a `return`"):
        check_function(lambda x: None, [((np.ones(2),), np.ones(2))], name="f")


def test_forbidden_modules_refuses_a_module_the_exercise_names_and_says_which():
    import json

    def learner(x):
        return float(json.loads(json.dumps(x)))

    assert check_function(learner, [((2.0,), 2.0)])  # json is fine elsewhere
    with pytest.raises(RefereeCalled, match=r"calls json\.\w+: .* may not use json, PyTorch"):
        check_function(learner, [((2.0,), 2.0)], forbidden_modules=("json",))


def test_with_torch_allowed_the_refusal_does_not_say_numpy():
    from mlp_course import data

    def learner(x):
        return data.make_churn(n_samples=10).X.shape[0] * 0 + x

    with pytest.raises(RefereeCalled, match="yourself, so an answer may not use the course's library") as info:
        check_function(learner, [((2.0,), 2.0)], allowed_modules=("torch",))
    assert "NumPy" not in str(info.value) and "PyTorch" not in str(info.value)


def test_a_mistake_that_gives_nan_neither_crashes_the_check_nor_matches():
    def learner(x):
        return x + 1.0

    def nan_mistake(x):
        return float("nan")

    with pytest.raises(WrongAnswer) as info:
        check_function(learner, [((2.0,), 2.0)], mistakes=[(nan_mistake, "never this")])
    assert "never this" not in str(info.value)
    with pytest.raises(WrongAnswer, match="answer"):
        check_scalar(1.0, float("nan"), name="answer")
