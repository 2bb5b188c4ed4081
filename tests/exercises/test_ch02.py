"""The checks of chapter 2's exercises: the reference answers pass, the untouched
stubs are "not answered yet", the mistakes the chapter warns about fail with a
message that names them, every correct form passes, and an answer that calls a
referee, a helper of the checks, PyTorch or the course's gradient tools fails."""
from __future__ import annotations

import math

import numpy as np
import pytest
from numpy import errstate as imported_errstate   # an answer may call errstate bound like this
from numpy import exp as imported_exp   # an answer may call exp bound like this

from mlp_course.exercises import CheckResult, NotAnswered, RefereeCalled, check, grade, keys
from mlp_course.exercises import ch02
from mlp_course.gradcheck import numerical_gradient
from mlp_course.scratch import functional

STUB = "is not answered yet"


def is_true(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is True


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_these_keys():
    assert keys("ch02") == ["ch02-ex-elu", "ch02-ex-softmax-two", "ch02-ex-xor-tanh"]


# --------------------------------------------------------------------------
# ch02-ex-elu
# --------------------------------------------------------------------------


def elu_reference(z, alpha=1.0):
    """The notebook's reference answer."""
    exp_negative_part = np.exp(np.minimum(z, 0.0))      # never overflows
    a = np.where(z > 0, z, alpha * (exp_negative_part - 1.0))
    da_dz = np.where(z > 0, 1.0, alpha * exp_negative_part)
    return a, da_dz


def elu_stub(z, alpha=1.0):
    """ELU at z and its derivative: the pair (a, da_dz)."""
    raise NotImplementedError("replace this line with your code")


def elu_expm1(z, alpha=1.0):
    negative = np.minimum(z, 0.0)
    return np.where(z > 0, z, alpha * np.expm1(negative)), np.where(z > 0, 1.0, alpha * np.exp(negative))


def elu_mask_into_copy(z, alpha=1.0):
    a = np.array(z, dtype=float)             # a float copy
    da_dz = np.ones_like(a)
    negative = a <= 0
    a[negative] = alpha * np.expm1(a[negative])
    da_dz[negative] = a[negative] + alpha    # the slope written with the output
    return a, da_dz


def elu_ufunc_where(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    e = np.exp(z, where=z <= 0, out=np.zeros_like(z))   # exp only where z <= 0
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_with_harmless_errstate(z, alpha=1.0):
    with np.errstate(all="ignore"):          # sets errstate, but never overflows
        return elu_reference(z, alpha)


@np.errstate(all="ignore")                   # a decorator, made before the check runs: harmless here
def elu_decorated_without_overflow(z, alpha=1.0):
    return elu_reference(z, alpha)


def elu_seterr_restored(z, alpha=1.0):
    old = np.seterr(all="ignore")
    try:
        return elu_reference(z, alpha)
    finally:
        np.seterr(**old)


def elu_clip_list(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    e = np.exp(np.clip(z, None, 0.0))
    return [np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)]   # a list is fine


def elu_math_loop(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    a, da_dz = np.empty_like(z), np.empty_like(z)
    for index, value in np.ndenumerate(z):
        if value > 0:
            a[index], da_dz[index] = value, 1.0
        else:                                 # math.exp only on the negative side
            a[index], da_dz[index] = alpha * (math.exp(value) - 1), alpha * math.exp(value)
    return a, da_dz


def elu_nested_where(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    e = np.exp(np.where(z > 0, 0.0, z))
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, np.where(z <= 0, alpha * e, 1.0))


def elu_vectorize(z, alpha=1.0):
    one = np.vectorize(lambda v: (v, 1.0) if v > 0 else (alpha * math.expm1(v), alpha * math.exp(v)),
                       otypes=[float, float])
    return one(z)


def elu_float32(z, alpha=1.0):
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(np.minimum(z, 0))
    return np.where(z > 0, z, alpha * (e - 1)).astype(np.float64), np.where(z > 0, 1.0, alpha * e)


def elu_piecewise(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    a = np.piecewise(z, [z > 0, z <= 0], [lambda v: v, lambda v: alpha * np.expm1(v)])
    return a, np.piecewise(z, [z > 0, z <= 0], [1.0, lambda v: alpha * np.exp(v)])


ELU_CORRECT_FORMS = [elu_reference, elu_expm1, elu_mask_into_copy, elu_ufunc_where, elu_with_harmless_errstate,
                     elu_decorated_without_overflow, elu_seterr_restored, elu_clip_list, elu_math_loop,
                     elu_nested_where, elu_vectorize, elu_float32, elu_piecewise]


@pytest.mark.parametrize("answer", ELU_CORRECT_FORMS)
def test_elu_correct_forms_pass(answer, capsys):
    assert is_true(check("ch02-ex-elu", answer))
    assert capsys.readouterr().out == "\u2713 elu passes all 5 test cases.\n"


@pytest.mark.parametrize("stub", [elu_stub, None])
def test_elu_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch02-ex-elu", stub))
    assert STUB in capsys.readouterr().out


# Overflows, whatever the answer does to hide them.

def elu_overflow_silenced(z, alpha=1.0):
    with np.errstate(over="ignore"):          # hides the warning, not the overflow
        e = np.exp(z)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_expm1(z, alpha=1.0):
    with np.errstate(all="ignore"):
        return np.where(z > 0, z, alpha * np.expm1(z)), np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0)))


def elu_overflow_imported_exp(z, alpha=1.0):
    with np.errstate(over="ignore"):
        e = imported_exp(z)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_power_operator(z, alpha=1.0):
    with np.errstate(all="ignore"):
        e = np.e ** np.asarray(z, dtype=float)    # the power ufunc, called by the operator itself
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_np_power(z, alpha=1.0):
    with np.errstate(all="ignore"):
        e = np.power(np.e, z)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_default_argument(z, alpha=1.0, exp=np.exp):
    with np.errstate(over="ignore"):
        e = exp(z)                                # np.exp bound before the check ran
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_imported_errstate(z, alpha=1.0):
    with imported_errstate(all="ignore"):
        e = np.e ** np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


@np.errstate(all="ignore")                        # made before the check ran
def elu_overflow_decorated(z, alpha=1.0):
    e = np.e ** np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_seterr(z, alpha=1.0):
    old = np.seterr(all="ignore")
    e = np.e ** np.asarray(z, dtype=float)
    np.seterr(**old)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_caught(z, alpha=1.0):
    try:
        e = np.exp(z)
    except FloatingPointError:                    # swallowing the error does not hide the overflow
        e = np.exp(np.minimum(z, 0))
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


def elu_overflow_math(z, alpha=1.0):
    z = np.asarray(z, dtype=float)
    e = np.array([math.exp(v) for v in z.ravel()]).reshape(z.shape)
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)


ELU_OVERFLOWS = [elu_overflow_silenced, elu_overflow_expm1, elu_overflow_imported_exp, elu_overflow_power_operator,
                 elu_overflow_np_power, elu_overflow_default_argument, elu_overflow_imported_errstate,
                 elu_overflow_decorated, elu_overflow_seterr, elu_overflow_caught, elu_overflow_math]


@pytest.mark.parametrize("answer", ELU_OVERFLOWS)
def test_elu_overflow_is_caught_whatever_the_errstate(answer):
    with pytest.raises(AssertionError, match=r"On z = \[-800, .*overflow.*np\.minimum\(z, 0\)"):
        check("ch02-ex-elu", answer)
    assert isinstance(np.exp, np.ufunc) and imported_exp is np.exp   # restored
    assert np.errstate is imported_errstate


@pytest.mark.parametrize("answer", ELU_OVERFLOWS)
def test_elu_overflow_fails_in_grade_too(answer):
    with pytest.raises(AssertionError, match="overflow"):
        grade("ch02-ex-elu", answer)


@pytest.mark.parametrize("answer, fragment", [
    (elu_overflow_silenced, r"computed np\.exp of 800, which is inf"),
    (elu_overflow_caught, r"computed np\.exp of 800, which is inf"),
    (elu_overflow_np_power, r"computed np\.power of 800, which is inf"),   # the exponent, not the base
    (elu_overflow_power_operator, r"overflowed \(FloatingPointError: overflow encountered in power\)"),
    (elu_overflow_math, r"overflowed \(OverflowError: math range error\)"),
])
def test_elu_overflow_message_names_the_function_and_its_argument(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch02-ex-elu", answer)


def test_elu_watch_leaves_numpy_as_it_was():
    before = {name: getattr(np, name) for name in (*ch02._EXP_LIKE, "errstate", "seterr")}
    modes = np.geterr()
    make_extobj = getattr(ch02._UFUNC_CONFIG, "_make_extobj", None)
    for answer in (elu_overflow_silenced, elu_overflow_seterr, elu_overflow_decorated):
        with pytest.raises(AssertionError):
            check("ch02-ex-elu", answer)
    check("ch02-ex-elu", elu_reference)
    assert {name: getattr(np, name) for name in before} == before
    assert all(isinstance(np.__dict__[name], np.ufunc) for name in ch02._EXP_LIKE)
    assert np.geterr() == modes
    assert getattr(ch02._UFUNC_CONFIG, "_make_extobj", None) is make_extobj
    assert globals()["imported_exp"] is np.exp and globals()["imported_errstate"] is np.errstate


def test_elu_other_floating_point_errors_are_the_learners(capsys):
    def divides_by_zero(z, alpha=1.0):
        with np.errstate(divide="raise"):
            np.ones(1) / np.zeros(1)
        return elu_reference(z, alpha)

    with pytest.raises(FloatingPointError, match="divide by zero"):
        check("ch02-ex-elu", divides_by_zero)


def test_elu_numpy_warnings_point_at_the_learners_line():
    def uninitialised(z, alpha=1.0):
        z = np.asarray(z, dtype=float)
        e = np.exp(z, where=z <= 0)           # NumPy warns: uninitialised memory where z > 0
        return np.where(z > 0, z, alpha * (e - 1)), np.where(z > 0, 1.0, alpha * e)

    with pytest.warns(UserWarning, match="where") as record:
        check("ch02-ex-elu", uninitialised)
    assert {w.filename for w in record} == {__file__}


# The mistakes the chapter warns about.

def elu_without_minus_one(z, alpha=1.0):
    e = np.exp(np.minimum(z, 0.0))
    return np.where(z > 0, z, alpha * e), np.where(z > 0, 1.0, alpha * e)


def elu_slope_one_at_zero(z, alpha=1.0):
    e = np.exp(np.minimum(z, 0.0))
    return np.where(z > 0, z, alpha * (e - 1)), np.where(z >= 0, 1.0, alpha * e)


def elu_in_place(z, alpha=1.0):
    negative = z <= 0
    da_dz = np.where(negative, alpha * np.exp(np.minimum(z, 0.0)), 1.0)
    z[negative] = alpha * np.expm1(z[negative])
    return z, da_dz


def elu_int_copy(z, alpha=1.0):
    a, da_dz = z.copy(), np.ones_like(z)      # integers stay integers
    negative = z <= 0
    a[negative] = alpha * np.expm1(z[negative])
    da_dz[negative] = alpha * np.exp(z[negative])
    return a, da_dz


def elu_fixed_alpha(z, alpha=1.0):
    return elu_reference(z, 1.0)


def elu_swapped(z, alpha=1.0):
    a, da_dz = elu_reference(z, alpha)
    return da_dz, a


def elu_output_slope_everywhere(z, alpha=1.0):
    a, _ = elu_reference(z, alpha)
    return a, a + alpha


def elu_slope_without_alpha(z, alpha=1.0):
    a, _ = elu_reference(z, alpha)
    return a, np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))


def elu_slope_at_the_output(z, alpha=1.0):
    a, _ = elu_reference(z, alpha)
    return a, np.where(z > 0, 1.0, alpha * np.exp(np.minimum(a, 0.0)))   # exp of a, not of z


def elu_output_slope_plus_one(z, alpha=1.0):
    a, _ = elu_reference(z, alpha)
    return a, np.where(z > 0, 1.0, a + 1)


def elu_only_a(z, alpha=1.0):
    return elu_reference(z, alpha)[0]


ELU_MISTAKES = [
    (elu_without_minus_one, r"the - 1 is missing"),
    (elu_slope_one_at_zero, r"at z = 0 the derivative belongs to the z <= 0 branch"),
    (elu_in_place, r"changed its input z in place"),
    (elu_int_copy, r"dtype int64: ELU's values and slopes are not whole numbers"),
    (elu_fixed_alpha, r"what alpha = 1 gives"),
    (elu_swapped, r"the pair is in the wrong order"),
    (elu_output_slope_everywhere, r"for z > 0 the slope is 1"),
    (elu_slope_without_alpha, r"the factor alpha is missing"),
    (elu_slope_at_the_output, r"da_dz \(result\[1\]\).*derivative taken at the output a instead of at z"),
    (elu_output_slope_plus_one, r"da_dz \(result\[1\]\).*a \+ alpha, not a \+ 1"),
    (elu_only_a, r"should be a tuple of 2 values \(a, da_dz\)"),
]


@pytest.mark.parametrize("answer, fragment", ELU_MISTAKES)
def test_elu_mistakes_are_named(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch02-ex-elu", answer)


@pytest.mark.parametrize("answer", [a for a, _ in ELU_MISTAKES])
def test_elu_messages_speak_of_no_rows_or_columns(answer):
    """ELU is element-wise: a hint about columns or rows would suggest an axis bug that is not there."""
    with pytest.raises(AssertionError) as error:
        check("ch02-ex-elu", answer)
    assert "column" not in str(error.value) and "row(s)" not in str(error.value)


def test_elu_wrong_branch_at_zero_is_caught_on_the_zero_case():
    with pytest.raises(AssertionError, match=r"Case 3 of 5 \(z = 0 exactly, alpha = 0.5\)"):
        check("ch02-ex-elu", elu_slope_one_at_zero)


# Answers that call what they should compute.

def elu_by_torch_exp(z, alpha=1.0):
    import torch

    t = torch.as_tensor(np.asarray(z, dtype=float))
    e = torch.exp(t)                              # PyTorch ignores np.errstate
    return torch.where(t > 0, t, alpha * (e - 1)).numpy(), torch.where(t > 0, 1.0, alpha * e).numpy()


def elu_by_autograd(z, alpha=1.0):
    import torch

    t = torch.tensor(np.asarray(z, dtype=float), requires_grad=True)
    a = torch.nn.functional.elu(t, alpha)
    a.sum().backward()
    return a.detach().numpy(), t.grad.numpy()


def elu_by_numerical_gradient(z, alpha=1.0):
    z = np.array(z, dtype=float)
    a = elu_reference(z, alpha)[0]
    return a, numerical_gradient(lambda: float(elu_reference(z, alpha)[0].sum()), z)


@pytest.mark.parametrize("answer, fragment", [
    (lambda z, alpha=1.0: ch02._elu_reference(z, alpha), r"reference `_elu_reference`"),
    (lambda z, alpha=1.0: ch02._elu_reference.__wrapped__(z, alpha), r"calls mlp_course\.exercises\.ch02"),
    (lambda z, alpha=1.0: ch02._elu_slope_at_the_output(z, alpha), r"calls mlp_course\.exercises\.ch02"),
    (elu_by_torch_exp, r"calls torch"),
    (elu_by_autograd, r"calls torch"),
    (elu_by_numerical_gradient, r"calls mlp_course\.gradcheck\.numerical_gradient"),
])
def test_elu_answers_that_call_referees_helpers_or_pytorch_fail(answer, fragment):
    with pytest.raises(RefereeCalled, match=fragment):
        check("ch02-ex-elu", answer)
    with pytest.raises(RefereeCalled):
        grade("ch02-ex-elu", answer)


def test_elu_error_in_the_answer_is_the_learners():
    def broken(z, alpha=1.0):
        return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))), undefined_name  # noqa: F821

    with pytest.raises(NameError, match="undefined_name"):
        check("ch02-ex-elu", broken)


def test_elu_not_a_function():
    with pytest.raises(AssertionError, match="elu should be a function"):
        check("ch02-ex-elu", np.zeros(3))


def test_elu_without_a_default_alpha_passes():
    assert is_true(check("ch02-ex-elu", lambda z, alpha: elu_reference(z, alpha)))


def test_elu_referee_matches_pytorch_including_z_equal_0():
    torch = pytest.importorskip("torch")
    for (z, alpha), (a, da_dz) in ch02._elu_cases():
        z_t = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
        a_t = torch.nn.functional.elu(z_t, alpha=alpha)
        a_t.sum().backward()
        np.testing.assert_allclose(a, a_t.detach().numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(da_dz, z_t.grad.numpy(), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------
# ch02-ex-xor-tanh
# --------------------------------------------------------------------------

GAIN = 4.0
W1_REF, B1_REF = GAIN * np.array([[1.0, 1.0], [1.0, 1.0]]), GAIN * np.array([-0.5, -1.5])
W2_REF, B2_REF = np.array([[1.0], [-1.0]]), np.array([-1.0])


def test_xor_reference_passes(capsys):
    assert is_true(check("ch02-ex-xor-tanh", W1_REF, B1_REF, W2_REF, B2_REF))
    assert capsys.readouterr().out.startswith("\u2713 the tanh network computes XOR on all four inputs")


@pytest.mark.parametrize("missing", range(4))
def test_xor_stub_is_not_answered_yet(missing, capsys):
    answer = [W1_REF, B1_REF, W2_REF, B2_REF]
    answer[missing] = None
    assert is_false(check("ch02-ex-xor-tanh", *answer))
    assert STUB in capsys.readouterr().out
    assert is_false(check("ch02-ex-xor-tanh", None, None, None, None))


@pytest.mark.parametrize("answer", [
    # lists and integers
    ([[4, 4], [4, 4]], [-2, -6], [[1], [-1]], [-1]),
    # another network: OR and NAND, then "both"
    (6 * np.array([[1.0, -1.0], [1.0, -1.0]]), 6 * np.array([-0.5, 1.5]), np.array([[1.0], [1.0]]),
     np.array([-1.0])),
    # larger output weights and a gentler hidden layer
    (2 * W1_REF / GAIN, 2 * B1_REF / GAIN, 3 * W2_REF, 3 * B2_REF),
    # |x1 - x2| from two units, x1 - x2 and x2 - x1
    (5 * np.array([[1.0, -1.0], [-1.0, 1.0]]), 5 * np.array([-0.5, -0.5]), np.array([[1.0], [1.0]]),
     np.array([1.0])),
])
def test_xor_other_correct_networks_pass(answer):
    assert is_true(check("ch02-ex-xor-tanh", *answer))


def test_xor_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    assert is_true(check("ch02-ex-xor-tanh", *(torch.tensor(w) for w in (W1_REF, B1_REF, W2_REF, B2_REF))))


@pytest.mark.parametrize("answer, fragment", [
    ((W1_REF, B1_REF, np.array([1.0, -1.0]), B2_REF),
     r"W2_tanh should have shape \(2, 1\).*got \(2,\).*column.*A1 @ W2"),
    ((W1_REF, B1_REF, W2_REF, -1.0), r"b2_tanh should have shape \(1,\).*got \(\)"),
    ((W1_REF, B1_REF, W2_REF.T, B2_REF), r"W2_tanh should have shape \(2, 1\).*transposed"),
    ((W1_REF, B1_REF[None, :], W2_REF, B2_REF),
     r"b1_tanh should have shape \(2,\).*got \(1, 2\).*layer Z = X @ W \+ b needs"),
    ((W1_REF[:, :1], B1_REF, W2_REF, B2_REF), r"W1_tanh should have shape \(2, 2\)"),
    ((W1_REF, B1_REF, W2_REF, "minus one"), r"b2_tanh should be a NumPy array of numbers"),
    ((W1_REF, B1_REF, W2_REF, np.array([np.nan])), r"b2_tanh contains inf or NaN"),
])
def test_xor_shapes_are_demanded(answer, fragment):
    with pytest.raises(AssertionError, match=fragment) as error:
        check("ch02-ex-xor-tanh", *answer)
    assert "$" not in str(error.value)   # plain text, no LaTeX


@pytest.mark.parametrize("answer, fragment", [
    ((W1_REF, B1_REF, -W2_REF, -B2_REF), r"4 of the 4 inputs wrong.*opposite of XOR"),
    ((W1_REF / 8, B1_REF / 8, W2_REF, B2_REF),
     r"same answer, 0, on all four.*hidden values A1 = tanh.*far from -1 and \+1"),
    ((np.ones((2, 2)), np.array([0.0, -1.0]), 6 * np.array([[1.0], [-2.0]]), np.array([-3.0])),
     r"tanh is not ReLU"),
    ((W1_REF, B1_REF, 0.4 * W2_REF, 0.4 * B2_REF), r"right side of 0, but.*closer to 0 than the margin 0.5"),
    ((W1_REF, B1_REF, W2_REF, np.array([-1.5])), r"closer to 0 than the margin"),
    # chapter 1's third neuron, built for 0/1 inputs, on +-1 hidden values
    ((W1_REF, B1_REF, np.array([[1.0], [-1.0]]), np.array([-0.5])), r"closer to 0 than the margin"),
])
def test_xor_wrong_networks_are_explained(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch02-ex-xor-tanh", *answer)


def test_xor_takes_four_answers():
    with pytest.raises(TypeError, match="takes 4 answer"):
        check("ch02-ex-xor-tanh", W1_REF, B1_REF, W2_REF)


# --------------------------------------------------------------------------
# ch02-ex-softmax-two
# --------------------------------------------------------------------------


def sigmoid(z):
    u = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + u), u / (1.0 + u))


def two_class_softmax_reference(Z):
    """The notebook's reference answer."""
    p = sigmoid(Z[:, 0] - Z[:, 1])             # class 1
    return np.column_stack([p, 1.0 - p])


def two_class_softmax_stub(Z):
    """Softmax probabilities, shape (N, 2), of the pairs of logits in the rows of Z, with the sigmoid."""
    raise NotImplementedError("replace this line with your code")


def two_sigmoids(Z):
    return np.stack([sigmoid(Z[:, 0] - Z[:, 1]), sigmoid(Z[:, 1] - Z[:, 0])], axis=1)


def shifted_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def difference_by_product(Z):
    p = sigmoid(Z @ np.array([1.0, -1.0]))
    return np.column_stack([p, 1 - p])


@pytest.mark.parametrize("answer", [
    two_class_softmax_reference, two_sigmoids, shifted_softmax, difference_by_product,
    lambda Z: functional.softmax(Z, axis=1),                           # chapter 2's own functions are allowed
    lambda Z: np.column_stack([functional.sigmoid(Z[:, 0] - Z[:, 1]), functional.sigmoid(Z[:, 1] - Z[:, 0])]),
])
def test_softmax_two_correct_forms_pass(answer, capsys):
    assert is_true(check("ch02-ex-softmax-two", answer))
    assert capsys.readouterr().out == "\u2713 two_class_softmax passes all 3 test cases.\n"


@pytest.mark.parametrize("stub", [two_class_softmax_stub, None])
def test_softmax_two_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch02-ex-softmax-two", stub))
    assert STUB in capsys.readouterr().out


def direct_softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def direct_softmax_nan_to_num(Z):
    with np.errstate(all="ignore"):
        E = np.exp(Z)
        return np.nan_to_num(E / E.sum(axis=1, keepdims=True))


def chapter_1_sigmoid(Z):
    p = 1 / (1 + np.exp(-(Z[:, 0] - Z[:, 1])))
    return np.column_stack([p, 1 - p])


def in_place(Z):
    Z[:, 0] -= Z[:, 1]                          # changes the caller's logits
    p = sigmoid(Z[:, 0])
    return np.column_stack([p, 1 - p])


@pytest.mark.parametrize("answer, fragment", [
    (lambda Z: two_class_softmax_reference(Z)[:, ::-1], "the two columns are swapped"),
    (lambda Z: sigmoid(Z[:, 0] - Z[:, 1]), r"only the probability of class 1.*shape \(N, 2\)"),
    (lambda Z: sigmoid(Z), "the sigmoid of its own logit alone"),
    (lambda Z: np.column_stack([sigmoid(Z[:, 0] - Z[:, 1])] * 2), "both columns hold sigmoid"),
    (lambda Z: np.column_stack([sigmoid(Z[:, 0] + Z[:, 1]), 1 - sigmoid(Z[:, 0] + Z[:, 1])]),
     "the difference z_1 - z_2, not of the sum"),
    (lambda Z: sigmoid(Z) / sigmoid(Z).sum(axis=1, keepdims=True), "normalised the sigmoids"),
    (lambda Z: np.stack([sigmoid(Z[:, 0] - Z[:, 1]), sigmoid(Z[:, 1] - Z[:, 0])]),
     r"returned shape \(2, 6\), one row per class.*np\.column_stack"),
    (lambda Z: [sigmoid(Z[:, 0] - Z[:, 1]), sigmoid(Z[:, 1] - Z[:, 0])], r"a list \[p, 1 - p\] put the classes"),
    (lambda Z: shifted_softmax(Z.T).T, "over the wrong axis"),
    (in_place, "changed its input Z in place"),
    (direct_softmax, r"computed np\.exp of 1000, which is inf.*this chapter's sigmoid"),
    (direct_softmax_nan_to_num, r"computed np\.exp of 1000, which is inf"),
    (chapter_1_sigmoid, r"computed np\.exp of 1600, which is inf.*chapter 1's 1 / \(1 \+ np\.exp\(-z\)\)"),
    (lambda Z: np.column_stack([sigmoid(Z[:, 1] - Z[:, 0]), sigmoid(Z[:, 1] - Z[:, 0])]), "wrong values"),
])
def test_softmax_two_mistakes_are_named(answer, fragment):
    with pytest.raises(AssertionError, match=fragment) as error:
        check("ch02-ex-softmax-two", answer)
    assert "matrix product" not in str(error.value)


@pytest.mark.parametrize("answer, fragment", [
    (lambda Z: ch02._softmax_reference(Z), "reference `_softmax_reference`"),
    (lambda Z: ch02._softmax_reference.__wrapped__(Z), r"calls mlp_course\.exercises\.ch02"),
    (lambda Z: np.column_stack([ch02._class_one_only(Z), 1 - ch02._class_one_only(Z)]),
     r"calls mlp_course\.exercises\.ch02\._class_one_only"),
    (lambda Z: __import__("torch").softmax(__import__("torch").tensor(Z), dim=1).numpy(), "calls torch"),
])
def test_softmax_two_answers_that_call_referees_helpers_or_pytorch_fail(answer, fragment):
    with pytest.raises(RefereeCalled, match=fragment):
        check("ch02-ex-softmax-two", answer)
    with pytest.raises(RefereeCalled):
        grade("ch02-ex-softmax-two", answer)


def test_softmax_two_not_a_function():
    with pytest.raises(AssertionError, match="two_class_softmax should be a function"):
        check("ch02-ex-softmax-two", np.zeros((3, 2)))


def test_softmax_two_referee_matches_pytorch():
    torch = pytest.importorskip("torch")
    for Z, P in ch02._softmax_two_cases():
        np.testing.assert_allclose(P, torch.softmax(torch.tensor(Z), dim=1).numpy(), rtol=1e-12, atol=1e-300)


# --------------------------------------------------------------------------
# grade(), as an nbgrader test cell runs it
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key, right, stub", [
    ("ch02-ex-elu", (elu_reference,), (elu_stub,)),
    ("ch02-ex-xor-tanh", (W1_REF, B1_REF, W2_REF, B2_REF), (None, None, None, None)),
    ("ch02-ex-softmax-two", (two_class_softmax_reference,), (two_class_softmax_stub,)),
])
def test_grade_passes_the_reference_and_fails_the_stub(key, right, stub):
    grade(key, *right)
    with pytest.raises(NotAnswered):
        grade(key, *stub)
