"""The checks of chapter 5 (mlp_course.exercises.ch05): the reference answers pass,
the untouched stubs wait for an answer, the plausible mistakes are rejected with a
hint that names them, every correct form the chapter teaches passes, and an answer
that calls a referee fails."""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest

from mlp_course import scratch
from mlp_course.exercises import CheckResult, NotAnswered, RefereeCalled, WrongAnswer, check, grade, keys
from mlp_course.exercises import ch05, checks
from mlp_course.gradcheck import numerical_gradient

TANH, REGRESSION = "ch05-ex-tanh", "ch05-ex-regression"

NOT_WRITTEN = ("{} is not answered yet: replace `raise NotImplementedError` in the cell above with your code "
               "and run this cell again.\n")


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch05") == [REGRESSION, TANH]


# --------------------------------------------------------------------------
# Reference answers (as in the notebook's solutions) and stubs
# --------------------------------------------------------------------------


def tanh_layer_backward(A_prev, W, b, dA):
    """Backward pass of A = tanh(A_prev @ W + b): returns (dA_prev, dW, db)."""
    A = np.tanh(A_prev @ W + b)
    dZ = dA * (1 - A**2)            # tanh'(Z) = 1 - tanh(Z)^2
    return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)


def mse_head_backward(A_prev, W, b, Y):
    """Gradients of mean((A_prev @ W + b - Y) ** 2) over all entries: returns (dA_prev, dW, db)."""
    Y_hat = A_prev @ W + b
    dZ = 2 * (Y_hat - Y) / Y.size          # Y.size = N m
    return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)


def tanh_stub(A_prev, W, b, dA):
    """Backward pass of A = tanh(A_prev @ W + b): returns (dA_prev, dW, db)."""
    raise NotImplementedError("replace this line with your code")


def mse_stub(A_prev, W, b, Y):
    """Gradients of mean((A_prev @ W + b - Y) ** 2) over all entries: returns (dA_prev, dW, db)."""
    raise NotImplementedError("replace this line with your code")


REFERENCES = {TANH: (tanh_layer_backward, "tanh_layer_backward"), REGRESSION: (mse_head_backward, "mse_head_backward")}
STUBS = {TANH: tanh_stub, REGRESSION: mse_stub}


@pytest.mark.parametrize("key", [TANH, REGRESSION])
def test_the_reference_answer_passes(key, capsys):
    answer, name = REFERENCES[key]
    result = check(key, answer)
    assert isinstance(result, CheckResult) and bool(result) is True
    assert capsys.readouterr().out == f"\u2713 {name} passes all 4 test cases.\n"


@pytest.mark.parametrize("key", [TANH, REGRESSION])
def test_the_untouched_stub_is_not_answered_yet(key, capsys):
    result = check(key, STUBS[key])
    assert isinstance(result, CheckResult) and bool(result) is False
    assert capsys.readouterr().out == NOT_WRITTEN.format(REFERENCES[key][1])


@pytest.mark.parametrize("key", [TANH, REGRESSION])
def test_a_placeholder_none_is_not_answered_yet(key, capsys):
    assert bool(check(key, None)) is False
    assert "is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("key", [TANH, REGRESSION])
def test_grade_passes_the_reference_and_fails_the_stub(key, capsys):
    grade(key, REFERENCES[key][0])
    with pytest.raises(NotAnswered):
        grade(key, STUBS[key])


def test_check_wants_exactly_one_answer():
    with pytest.raises(TypeError, match="takes 1 answer"):
        check(TANH, tanh_layer_backward, tanh_layer_backward)


# --------------------------------------------------------------------------
# The referees agree with each other, and the cases are deterministic
# --------------------------------------------------------------------------


def test_tanh_referees_agree():
    for args, expected in ch05.tanh_cases()[0]:
        for by_torch, by_differences in zip(ch05.tanh_layer_by_torch(*args),
                                            ch05.tanh_layer_by_finite_differences(*args)):
            np.testing.assert_allclose(by_torch, by_differences, rtol=1e-6, atol=1e-9)


def test_mse_referees_agree():
    for args, expected in ch05.mse_cases()[0]:
        for by_scratch, by_differences in zip(ch05.mse_head_by_scratch(*args),
                                              ch05.mse_head_by_finite_differences(*args)):
            np.testing.assert_allclose(by_scratch, by_differences, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("make_cases", [ch05.tanh_cases, ch05.mse_cases])
def test_cases_are_deterministic_and_cover_the_shapes_that_catch_mistakes(make_cases):
    (first, names), (again, _) = make_cases(), make_cases()
    for (args, expected), (args2, expected2) in zip(first, again):
        for a, a2 in zip(args + expected, args2 + expected2):
            np.testing.assert_array_equal(a, a2)
    W_shapes = [args[1].shape for args, _ in first]
    assert W_shapes[0][0] == W_shapes[0][1], "the first case must have a square W"
    assert len({shape[1] for shape in W_shapes}) >= 3, "several output sizes catch a hard-coded size"
    assert len(names) == len(first)


def test_the_regression_cases_have_two_outputs():
    assert any(args[3].shape[1] == 2 for args, _ in ch05.mse_cases()[0])


# --------------------------------------------------------------------------
# ch05-ex-tanh: wrong answers, each with the hint that names it
# --------------------------------------------------------------------------


def tanh_variant(dZ=None, dA_prev=None, dW=None, db=None, after=None):
    """A tanh_layer_backward with one piece written another way (right or wrong)."""

    def answer(A_prev, W, b, dA):
        Z = A_prev @ W + b
        A = np.tanh(Z)
        dZ_ = dZ(A_prev, Z, A, dA) if dZ else dA * (1 - A**2)
        result = (dA_prev(dZ_, W) if dA_prev else dZ_ @ W.T,
                  dW(A_prev, dZ_) if dW else A_prev.T @ dZ_,
                  db(dZ_) if db else dZ_.sum(axis=0))
        return after(result, len(A_prev)) if after else result

    return answer


TANH_WRONG = {
    "tanh' at A (tanh applied twice)": (
        tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - np.tanh(A) ** 2)), "evaluated at A = tanh(Z)"),
    "tanh' at A_prev": (
        tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - A_prev**2)), "evaluated at the layer's input A_prev"),
    "tanh(A_prev) in tanh'": (
        tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - np.tanh(A_prev) ** 2)), "input A_prev"),
    "1 - tanh(Z), the square missing": (
        tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - np.tanh(Z))), "the square is missing"),
    "1 - Z**2": (tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - Z**2)), "1 - Z**2 is not tanh'(Z)"),
    "no activation derivative": (tanh_variant(dZ=lambda A_prev, Z, A, dA: dA), "leaves out the activation"),
    "sign of tanh' flipped": (tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (A**2 - 1)), "the sign of tanh'"),
    "dA_prev without the transpose": (
        tanh_variant(dA_prev=lambda dZ, W: dZ @ W), "dA_prev = dZ @ W is missing the transpose"),
    "dW transposed (dZ.T @ A_prev)": (tanh_variant(dW=lambda A_prev, dZ: dZ.T @ A_prev), "dW is transposed"),
    "db summed over the wrong axis": (tanh_variant(db=lambda dZ: dZ.sum(axis=1)), "summed over the wrong axis"),
    "db not summed": (tanh_variant(db=lambda dZ: dZ), "db is not summed over the batch"),
    "db a mean": (tanh_variant(db=lambda dZ: dZ.mean(axis=0)), "db is a mean over the batch"),
    "1/N twice on dW and db": (
        tanh_variant(after=lambda r, N: (r[0], r[1] / N, r[2] / N)), "divided by N again"),
    "1/N twice everywhere": (
        tanh_variant(after=lambda r, N: tuple(g / N for g in r)), "divided by N again"),
}


@pytest.mark.parametrize("mistake", list(TANH_WRONG))
def test_tanh_wrong_answers_are_rejected_with_their_hint(mistake):
    answer, hint = TANH_WRONG[mistake]
    with pytest.raises(WrongAnswer, match="Likely mistake: .*" + re.escape(hint)):
        check(TANH, answer)


def test_tanh_dW_made_from_A_gets_its_hint():
    def with_A(A_prev, W, b, dA):
        A = np.tanh(A_prev @ W + b)
        dZ = dA * (1 - A**2)
        return dZ @ W.T, A.T @ dZ, dZ.sum(axis=0)

    with pytest.raises(WrongAnswer, match="made from the layer's output A"):
        check(TANH, with_A)


def test_tanh_wrong_tuple_is_reported_by_name_and_position():
    with pytest.raises(WrongAnswer, match=r"result should be a tuple of 3 values \(dA_prev, dW, db\), "
                                          r"got a tuple of length 2"):
        check(TANH, lambda A_prev, W, b, dA: tanh_layer_backward(A_prev, W, b, dA)[:2])
    with pytest.raises(WrongAnswer, match=r"db \(result\[2\]\) has the wrong shape: expected \(3,\), got \(\)"):
        check(TANH, tanh_variant(db=lambda dZ: dZ.sum()))


@pytest.mark.parametrize("order", [(1, 2, 0), (1, 0, 2), (0, 2, 1), (2, 1, 0)])
def test_tanh_a_tuple_in_another_order_is_named(order):
    names = ("dA_prev", "dW", "db")

    def reordered(A_prev, W, b, dA):
        result = tanh_layer_backward(A_prev, W, b, dA)
        return tuple(result[i] for i in order)

    with pytest.raises(WrongAnswer, match=re.escape(
            f"Likely mistake: the gradients are in the order ({', '.join(names[i] for i in order)}): "
            f"return them as (dA_prev, dW, db)")):
        check(TANH, reordered)


def test_tanh_bias_left_out_of_Z_is_named():
    def without_bias(A_prev, W, b, dA):
        A = np.tanh(A_prev @ W)          # "Recompute Z", without + b
        dZ = dA * (1 - A**2)
        return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)

    with pytest.raises(WrongAnswer, match="Likely mistake: Z is recomputed without the bias"):
        check(TANH, without_bias)


def test_tanh_the_sigmoid_derivative_is_named():
    def sigmoid_derivative(Z):           # the chapter's function, used for tanh by mistake
        s = 1 / (1 + np.exp(-Z))
        return s * (1 - s)

    with pytest.raises(WrongAnswer, match="Likely mistake: dZ uses the sigmoid's derivative"):
        check(TANH, tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * sigmoid_derivative(Z)))


def test_tanh_an_answer_computed_in_float32_is_told_so():
    def in_float32(A_prev, W, b, dA):
        A_prev, W, b, dA = (x.astype(np.float32) for x in (A_prev, W, b, dA))
        return tanh_layer_backward(A_prev, W, b, dA)

    with pytest.raises(WrongAnswer, match=r"returned float32 numbers \(in dA_prev, dW, db\).*compute in float64"):
        check(TANH, in_float32)


def test_a_float64_wrong_answer_gets_no_float32_note():
    with pytest.raises(WrongAnswer) as raised:
        check(TANH, tanh_variant(dW=lambda A_prev, dZ: dZ.T @ A_prev))
    assert "float32" not in str(raised.value)


def test_tanh_a_hard_coded_size_fails_on_another_case():
    def hard_coded(A_prev, W, b, dA):
        A = np.tanh(A_prev @ W + b)
        dZ = dA * (1 - A**2)
        return dZ @ W.T, A_prev.T @ dZ, np.ones(8) @ dZ   # N = 8 of the first case, hard-coded

    with pytest.raises(ValueError) as raised:
        check(TANH, hard_coded)
    note = " ".join(getattr(raised.value, "__notes__", []))
    assert "Case 2 of 4" in note and TANH in note


def test_tanh_an_error_of_the_learner_is_raised_as_theirs():
    """A matrix product that does not fit (here in dW) raises the learner's own error,
    with one note line saying which case ran, and a traceback that starts in their code."""
    def broken(A_prev, W, b, dA):
        A = np.tanh(A_prev @ W + b)
        dZ = dA * (1 - A**2)
        return dZ @ W.T, A_prev @ dZ, dZ.sum(axis=0)

    with pytest.raises(ValueError, match="matmul") as raised:
        check(TANH, broken)
    notes = getattr(raised.value, "__notes__", [])
    assert len(notes) == 1 and re.search(r"check 'ch05-ex-tanh': your code raised this in Case 1 of 4", notes[0])
    frames = [tb.tb_frame.f_code.co_name for tb in _frames(raised.value.__traceback__)]
    assert frames[-1] == "broken" and "check_function" not in frames and "check_tanh" not in frames


def _frames(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


# --------------------------------------------------------------------------
# ch05-ex-tanh: every correct form passes; calling the referee fails
# --------------------------------------------------------------------------


def tanh_per_example(A_prev, W, b, dA):
    """A loop over the examples, each a row: the sums over the batch written out."""
    dA_prev, dW, db = np.zeros_like(A_prev), np.zeros_like(W), np.zeros_like(b)
    for i in range(len(A_prev)):
        dz = dA[i] * (1 - np.tanh(A_prev[i] @ W + b) ** 2)
        dA_prev[i] = W @ dz
        dW += np.outer(A_prev[i], dz)
        db += dz
    return dA_prev, dW, db


TANH_RIGHT = {
    "a loop over the examples": tanh_per_example,
    "1 - tanh(Z)**2": tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - np.tanh(Z) ** 2)),
    "1 / cosh(Z)**2": tanh_variant(dZ=lambda A_prev, Z, A, dA: dA / np.cosh(Z) ** 2),
    "1 - A * A": tanh_variant(dZ=lambda A_prev, Z, A, dA: dA * (1 - A * A)),
    "(dZ.T @ A_prev).T and np.sum": tanh_variant(dW=lambda A_prev, dZ: (dZ.T @ A_prev).T,
                                                 db=lambda dZ: np.sum(dZ, axis=0)),
    "einsum": tanh_variant(dA_prev=lambda dZ, W: np.einsum("ik,jk->ij", dZ, W),
                           dW=lambda A_prev, dZ: np.einsum("ij,ik->jk", A_prev, dZ)),
    "a list instead of a tuple": tanh_variant(after=lambda r, N: list(r)),
    "db with keepdims, then reshaped": tanh_variant(db=lambda dZ: dZ.sum(axis=0, keepdims=True).reshape(-1)),
}


@pytest.mark.parametrize("form", list(TANH_RIGHT))
def test_tanh_every_correct_form_passes(form, capsys):
    assert check(TANH, TANH_RIGHT[form])
    assert capsys.readouterr().out.startswith("\u2713")


def test_tanh_an_answer_that_modifies_its_inputs_still_passes():
    def in_place(A_prev, W, b, dA):
        dA *= 1 - np.tanh(A_prev @ W + b) ** 2      # dA becomes dZ, in place
        return dA @ W.T, A_prev.T @ dA, dA.sum(axis=0)

    assert check(TANH, in_place)


def test_tanh_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference `tanh_layer_by_torch`"):
        check(TANH, ch05.tanh_layer_by_torch)
    with pytest.raises(RefereeCalled, match="reference"):
        check(TANH, lambda *args: ch05.tanh_layer_by_finite_differences(*args))


# --------------------------------------------------------------------------
# Both exercises: an answer that lets PyTorch, the course's library or the
# checks' own code do the work fails, whether it calls that code or is it
# --------------------------------------------------------------------------


def tanh_by_autograd(A_prev, W, b, dA):
    """The pattern the chapter shows four times: PyTorch's autograd does the backward pass."""
    import torch

    A_prev_t, W_t, b_t = (torch.tensor(x, requires_grad=True) for x in (A_prev, W, b))
    torch.tanh(A_prev_t @ W_t + b_t).backward(torch.tensor(dA))
    return A_prev_t.grad.numpy(), W_t.grad.numpy(), b_t.grad.numpy()


def tanh_by_numerical_gradient(A_prev, W, b, dA):
    def loss():
        return float(np.sum(np.tanh(A_prev @ W + b) * dA))

    return tuple(numerical_gradient(loss, x) for x in (A_prev, W, b))


def tanh_by_scratch(A_prev, W, b, dA):
    layer, activation = scratch.Linear(*W.shape, dtype=np.float64), scratch.Tanh()
    layer.weight.data[...], layer.bias.data[...] = W, b
    activation(layer(A_prev))
    layer.zero_grad()
    return layer.backward(activation.backward(dA)), layer.weight.grad.copy(), layer.bias.grad.copy()


def mse_by_scratch(A_prev, W, b, Y):
    layer, loss = scratch.Linear(*W.shape, dtype=np.float64), scratch.MSELoss()
    layer.weight.data[...], layer.bias.data[...] = W, b
    loss(layer(A_prev), Y)
    layer.zero_grad()
    return layer.backward(loss.backward()), layer.weight.grad.copy(), layer.bias.grad.copy()


def mse_by_autograd(A_prev, W, b, Y):
    import torch

    A_prev_t, W_t, b_t = (torch.tensor(x, requires_grad=True) for x in (A_prev, W, b))
    torch.nn.functional.mse_loss(A_prev_t @ W_t + b_t, torch.tensor(Y)).backward()
    return A_prev_t.grad.numpy(), W_t.grad.numpy(), b_t.grad.numpy()


def mse_by_numerical_gradient(A_prev, W, b, Y):
    def loss():
        return float(np.mean((A_prev @ W + b - Y) ** 2))

    return tuple(numerical_gradient(loss, x) for x in (A_prev, W, b))


def _switching_the_watch_off_first(referee):
    def answer(*args):
        checks._ANSWER_RUNNING.set(False)     # what a referee looks at: the watch of calls sees through it
        return referee(*args)

    return answer


TOOLS = {
    "tanh: PyTorch's autograd": (TANH, tanh_by_autograd, "your answer calls torch"),
    "tanh: numerical_gradient": (TANH, tanh_by_numerical_gradient,
                                 "your answer calls mlp_course.gradcheck.numerical_gradient"),
    "tanh: scratch.Linear and scratch.Tanh": (TANH, tanh_by_scratch, "your answer calls mlp_course.scratch"),
    "tanh: a mistake helper, called": (TANH, lambda *args: ch05._tanh_with()(*args),
                                       "your answer calls mlp_course.exercises.ch05._tanh_with"),
    "tanh: the referee's __wrapped__, called": (
        TANH, lambda *args: ch05.tanh_layer_by_torch.__wrapped__(*args),
        "your answer calls mlp_course.exercises.ch05.tanh_layer_by_torch"),
    "tanh: the watch switched off, then the referee": (
        TANH, _switching_the_watch_off_first(ch05.tanh_layer_by_torch),
        "your answer calls mlp_course.exercises."),
    "regression: scratch.Linear and scratch.MSELoss": (REGRESSION, mse_by_scratch,
                                                       "your answer calls mlp_course.scratch"),
    "regression: PyTorch's autograd": (REGRESSION, mse_by_autograd, "your answer calls torch"),
    "regression: numerical_gradient": (REGRESSION, mse_by_numerical_gradient,
                                       "your answer calls mlp_course.gradcheck.numerical_gradient"),
    "regression: a mistake helper, called": (REGRESSION, lambda *args: ch05._mse_with()(*args),
                                             "your answer calls mlp_course.exercises.ch05._mse_with"),
    "regression: the referee's __wrapped__, called": (
        REGRESSION, lambda *args: ch05.mse_head_by_finite_differences.__wrapped__(*args),
        "your answer calls mlp_course.exercises.ch05.mse_head_by_finite_differences"),
}


@pytest.mark.parametrize("attempt", list(TOOLS))
def test_an_answer_that_calls_a_tool_or_the_checks_fails(attempt):
    key, answer, message = TOOLS[attempt]
    with pytest.raises(RefereeCalled, match=re.escape(message)):
        check(key, answer)


PACKAGE_CODE = {
    "tanh: _tanh_with(), the mistake factory with no mistake": (TANH, ch05._tanh_with(), "ch05._tanh_with"),
    "tanh: the torch referee's __wrapped__": (TANH, ch05.tanh_layer_by_torch.__wrapped__,
                                              "ch05.tanh_layer_by_torch"),
    "tanh: the finite-difference referee's __wrapped__": (
        TANH, ch05.tanh_layer_by_finite_differences.__wrapped__, "ch05.tanh_layer_by_finite_differences"),
    "tanh: a partial of _tanh_with()": (TANH, functools.partial(ch05._tanh_with()), "ch05._tanh_with"),
    "regression: _mse_with(), the mistake factory with no mistake": (
        REGRESSION, ch05._mse_with(), "ch05._mse_with"),
    "regression: the scratch referee's __wrapped__": (REGRESSION, ch05.mse_head_by_scratch.__wrapped__,
                                                      "ch05.mse_head_by_scratch"),
}


@pytest.mark.parametrize("attempt", list(PACKAGE_CODE))
def test_an_answer_that_is_the_package_s_own_code_fails(attempt):
    """tanh_layer_backward = _ch05._tanh_with() makes no call of its own that the watch could see."""
    key, answer, name = PACKAGE_CODE[attempt]
    with pytest.raises(RefereeCalled, match=re.escape(f"your answer is mlp_course.exercises.{name}")
                       + r".*the course's own code"):
        check(key, answer)


@pytest.mark.parametrize("key, answer", [(TANH, ch05._tanh_with()), (REGRESSION, ch05._mse_with()),
                                         (TANH, tanh_by_autograd), (REGRESSION, mse_by_scratch)])
def test_grade_fails_the_same_answers(key, answer):
    with pytest.raises(RefereeCalled):
        grade(key, answer)


# --------------------------------------------------------------------------
# ch05-ex-regression
# --------------------------------------------------------------------------


def mse_variant(dY_hat=None, dA_prev=None, dW=None, db=None):
    """An mse_head_backward with one piece written another way (right or wrong)."""

    def answer(A_prev, W, b, Y):
        Y_hat = A_prev @ W + b
        dZ = dY_hat(Y_hat, Y) if dY_hat else 2 * (Y_hat - Y) / Y.size
        return (dA_prev(dZ, W) if dA_prev else dZ @ W.T,
                dW(A_prev, dZ) if dW else A_prev.T @ dZ,
                db(dZ) if db else dZ.sum(axis=0))

    return answer


MSE_WRONG = {
    "factor 2 missing": (mse_variant(dY_hat=lambda Y_hat, Y: (Y_hat - Y) / Y.size), "the factor 2 is missing"),
    "divided by N only": (mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y) / len(Y)), "divided by N only"),
    "divided by m only": (
        mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y) / Y.shape[1]), "divided by m only"),
    "no mean at all": (mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y)), "the 1/(N * m) of the mean"),
    "half squared error per example": (
        mse_variant(dY_hat=lambda Y_hat, Y: (Y_hat - Y) / len(Y)), "half the squared error averaged over the examples"),
    "sign flipped": (mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y - Y_hat) / Y.size), "the sign is flipped"),
    "m hard-coded as 2": (
        mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y) / (len(Y) * 2)), "the number of outputs is hard-coded"),
    "dA_prev without the transpose": (
        mse_variant(dA_prev=lambda dZ, W: dZ @ W), "dA_prev = dZ @ W is missing the transpose"),
    "dW transposed": (mse_variant(dW=lambda A_prev, dZ: dZ.T @ A_prev), "dW is transposed"),
    "db over the wrong axis": (mse_variant(db=lambda dZ: dZ.sum(axis=1)), "summed over the wrong axis"),
    "db not summed": (mse_variant(db=lambda dZ: dZ), "db is not summed over the batch"),
    "db a mean": (mse_variant(db=lambda dZ: dZ.mean(axis=0)), "db is a mean over the batch"),
    "no constant at all": (mse_variant(dY_hat=lambda Y_hat, Y: Y_hat - Y), "neither the factor 2"),
    "1/N twice on dW and db": (
        mse_variant(dW=lambda A_prev, dZ: A_prev.T @ dZ / len(dZ), db=lambda dZ: dZ.sum(axis=0) / len(dZ)),
        "divided by N again"),
    "1/N twice on dW only": (mse_variant(dW=lambda A_prev, dZ: A_prev.T @ dZ / len(dZ)), "divided by N again"),
    "tuple as (dW, db, dA_prev)": (
        lambda A_prev, W, b, Y: mse_head_backward(A_prev, W, b, Y)[1:] + mse_head_backward(A_prev, W, b, Y)[:1],
        "the gradients are in the order (dW, db, dA_prev)"),
    "bias left out of Y_hat": (
        lambda A_prev, W, b, Y: mse_head_backward(A_prev, W, np.zeros_like(b), Y), "recomputed without the bias"),
}


@pytest.mark.parametrize("mistake", list(MSE_WRONG))
def test_regression_wrong_answers_are_rejected_with_their_hint(mistake):
    answer, hint = MSE_WRONG[mistake]
    with pytest.raises(WrongAnswer, match="Likely mistake: .*" + re.escape(hint)):
        check(REGRESSION, answer)


def test_regression_a_hard_coded_m_fails_on_the_case_with_three_outputs():
    answer, _ = MSE_WRONG["m hard-coded as 2"]
    with pytest.raises(WrongAnswer, match=r"Case 1 of 4 \(m = 3 outputs, square W\)"):
        check(REGRESSION, answer)


def test_regression_no_constant_at_all_is_not_called_a_division_by_m():
    """With m = 2 in the first case, 2 (Y_hat - Y) / m would equal Y_hat - Y and take its hint."""
    answer, _ = MSE_WRONG["no constant at all"]
    with pytest.raises(WrongAnswer) as raised:
        check(REGRESSION, answer)
    assert "divided by m only" not in str(raised.value)
    assert "Likely mistake: dY_hat = Y_hat - Y has neither the factor 2" in str(raised.value)


def test_regression_the_first_case_tells_every_constant_factor_apart():
    (args, _), = ch05.mse_cases()[0][:1]
    N, m = args[3].shape
    factors = [2 / (N * m), 1 / (N * m), 2 / N, 2 / m, 2, 1 / N, 1]
    assert len({round(f, 12) for f in factors}) == len(factors)
    assert args[1].shape[0] == args[1].shape[1], "the first case must have a square W"


def test_regression_an_answer_computed_in_float32_is_told_so():
    def in_float32(A_prev, W, b, Y):
        return mse_head_backward(*(x.astype(np.float32) for x in (A_prev, W, b, Y)))

    with pytest.raises(WrongAnswer, match=r"returned float32 numbers.*compute in float64"):
        check(REGRESSION, in_float32)


def mse_per_example(A_prev, W, b, Y):
    """A loop over the examples: every example adds its share to dW and db (fan-out)."""
    N, m = Y.shape
    dA_prev, dW, db = np.zeros_like(A_prev), np.zeros_like(W), np.zeros_like(b)
    for i in range(N):
        dz = 2 * (A_prev[i] @ W + b - Y[i]) / (N * m)
        dA_prev[i] = W @ dz
        dW += np.outer(A_prev[i], dz)
        db += dz
    return dA_prev, dW, db


MSE_RIGHT = {
    "Y.size": mse_variant(),
    "a loop over the examples": mse_per_example,
    "1/N moved from dZ into dW and db (and dA_prev)": mse_variant(
        dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y) / Y.shape[1],
        dA_prev=lambda dZ, W: dZ @ W.T / len(dZ), dW=lambda A_prev, dZ: A_prev.T @ dZ / len(dZ),
        db=lambda dZ: dZ.sum(axis=0) / len(dZ)),
    "a list instead of a tuple": lambda *args: list(mse_head_backward(*args)),
    "N * m from the shape": mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y) / (Y.shape[0] * Y.shape[1])),
    "divided by N, then by m": mse_variant(dY_hat=lambda Y_hat, Y: 2 * (Y_hat - Y) / len(Y) / Y.shape[1]),
    "np.prod of the shape": mse_variant(dY_hat=lambda Y_hat, Y: (2 / np.prod(Y.shape)) * (Y_hat - Y)),
    "einsum and np.sum": mse_variant(dW=lambda A_prev, dZ: np.einsum("ij,ik->jk", A_prev, dZ),
                                     db=lambda dZ: np.sum(dZ, axis=0)),
}


@pytest.mark.parametrize("form", list(MSE_RIGHT))
def test_regression_every_correct_form_passes(form, capsys):
    assert check(REGRESSION, MSE_RIGHT[form])
    assert capsys.readouterr().out.startswith("\u2713")


def test_regression_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference `mse_head_by_scratch`"):
        check(REGRESSION, ch05.mse_head_by_scratch)
    with pytest.raises(RefereeCalled, match="reference `mse_head_by_finite_differences`"):
        check(REGRESSION, lambda *args: ch05.mse_head_by_finite_differences(*args))


def test_regression_an_error_of_the_learner_is_raised_as_theirs():
    def broken(A_prev, W, b, Y):
        Y_hat = A_prev @ W + b
        dZ = 2 * (Y_hat - Y) / Y.size
        return dZ @ W.T, A_prev @ dZ, dZ.sum(axis=0)   # (N, d_in) @ (N, m): does not fit

    with pytest.raises(ValueError, match="matmul") as raised:
        check(REGRESSION, broken)
    assert any(REGRESSION in note for note in getattr(raised.value, "__notes__", []))
