"""The checks of chapter 8's coding exercises: the reference answers pass, the untouched stubs are
"not answered yet", plausible mistakes are rejected with a message that names them, every correct
form the chapter teaches passes, and an answer that calls a referee fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from mlp_course.exercises import CheckResult, RefereeCalled, WrongAnswer, check, get, keys
from mlp_course.exercises import ch08

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def notes(raised) -> str:
    return " ".join(getattr(raised.value, "__notes__", []))


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch08") == ["ch08-ex-accumulate", "ch08-ex-jacobian", "ch08-ex-train-loop"]
    assert get("ch08-ex-jacobian").points == 3 and get("ch08-ex-accumulate").points == 3
    assert get("ch08-ex-train-loop").points == 2
    assert get("ch08-ex-train-loop").answers == ("gradient_descent",)
    assert get("ch08-ex-jacobian").answers == ("jacobian_by_vjps",)
    assert get("ch08-ex-accumulate").answers == ("accumulate_gradients",)


# --------------------------------------------------------------------------
# ch08-ex-train-loop
# --------------------------------------------------------------------------


def gradient_descent(params, loss_fn, lr, steps):
    """The reference answer: clear, loss, backward, update in place under no_grad."""
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None                  # before the backward pass: also drops a .grad from earlier work
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return losses


def descent_stub(params, loss_fn, lr, steps):
    """Run `steps` steps of gradient descent on params, in place; return the losses."""
    raise NotImplementedError("replace this line with your code")


def gd_optimizer(params, loss_fn, lr, steps):
    optimizer = torch.optim.SGD(params, lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses


def gd_zero_guarded(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            if p.grad is not None:
                p.grad.zero_()
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(lr * p.grad)
        losses.append(loss.item())
    return losses


def gd_cleared_first_and_after(params, loss_fn, lr, steps):
    """The chapter's loop (clear after each update), with one clearing before the first step."""
    for p in params:
        p.grad = None
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        losses.append(loss.item())
    return losses


def gd_data(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
    return losses


def gd_detached_tensors(params, loss_fn, lr, steps):
    """Detached 0-d tensors in place of Python numbers hold no graph: accepted."""
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = loss_fn()
        losses.append(loss.detach())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.copy_(p - lr * p.grad)
    return losses


def test_descent_reference_passes(capsys):
    assert check("ch08-ex-train-loop", gradient_descent)
    assert capsys.readouterr().out == f"{TICK} gradient_descent passes all 3 test cases.\n"


@pytest.mark.parametrize("stub", [descent_stub, None], ids=["raises", "None"])
def test_descent_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch08-ex-train-loop", stub))
    assert "gradient_descent is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("correct", [gd_optimizer, gd_zero_guarded, gd_cleared_first_and_after, gd_data,
                                     gd_detached_tensors],
                         ids=["optimizer", "guarded-zero_", "cleared-first-and-after", "p.data", "detached"])
def test_descent_every_correct_form_passes(correct, capsys):
    assert check("ch08-ex-train-loop", correct)
    assert TICK in capsys.readouterr().out


def gd_with_the_three_bugs(params, loss_fn, lr, steps):
    """The loop of the exercise's statement."""
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        loss.backward()
        for p in params:
            p = p - lr * p.grad
        losses.append(loss.item())
    return losses


def gd_rebinding_under_no_grad(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p = p - lr * p.grad
    return losses


def gd_never_cleared(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return losses


def gd_cleared_once(params, loss_fn, lr, steps):
    for p in params:
        p.grad = None
    return gd_never_cleared(params, loss_fn, lr, steps)


def gd_cleared_after_the_update(params, loss_fn, lr, steps):
    """The loop of the chapter's train(), which assumes parameters without a .grad."""
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        losses.append(loss.item())
    return losses


def gd_uphill(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in params:
                p += lr * p.grad
    return losses


def gd_losses_after_the_update(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss_fn().backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
            losses.append(loss_fn().item())
    return losses


def gd_loss_tensors(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = loss_fn()
        losses.append(loss)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return losses


def gd_no_return(params, loss_fn, lr, steps):
    gradient_descent(params, loss_fn, lr, steps)


def gd_last_loss_only(params, loss_fn, lr, steps):
    return gradient_descent(params, loss_fn, lr, steps)[-1:]


@pytest.mark.parametrize("wrong, fragment", [
    (gd_with_the_three_bugs, "the parameters never changed"),
    (gd_rebinding_under_no_grad, "binds the name p"),
    (gd_never_cleared, "never cleared"),
    (gd_cleared_once, "cleared once, before the first step"),
    (gd_cleared_after_the_update, "Case 1 of 3.*Clearing after each update is not enough"),
    (gd_uphill, "moved uphill"),
    (gd_losses_after_the_update, "measured after its step's update"),
    (gd_loss_tensors, "keeps the whole graph of its step in memory"),
    (gd_no_return, "returned None"),
    (gd_last_loss_only, "returned 1 losses for 25 steps"),
], ids=["the-three-bugs", "rebinding", "never-cleared", "cleared-once", "cleared-after", "uphill",
        "losses-after", "loss-tensors", "no-return", "last-loss-only"])
def test_descent_mistakes_are_named(wrong, fragment):
    with pytest.raises(WrongAnswer, match=fragment):
        check("ch08-ex-train-loop", wrong)


def gd_update_recorded(params, loss_fn, lr, steps):
    """In place but outside no_grad: PyTorch refuses."""
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = loss_fn()
        loss.backward()
        for p in params:
            p -= lr * p.grad
        losses.append(loss.item())
    return losses


def gd_unguarded_zero_(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad.zero_()
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


def gd_reassigned_names(params, loss_fn, lr, steps):
    """params[i] = params[i] - lr * params[i].grad outside no_grad: a non-leaf from the next step on."""
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        loss.backward()
        for i in range(len(params)):
            params[i] = params[i] - lr * params[i].grad
        losses.append(loss.item())
    return losses


def gd_loss_under_no_grad(params, loss_fn, lr, steps):
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        with torch.no_grad():
            loss = loss_fn()
            loss.backward()
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


def gd_loss_fn_of_params(params, loss_fn, lr, steps):
    return [loss_fn(params).item()]


@pytest.mark.parametrize("wrong, error, fragment, hint", [
    (gd_update_recorded, RuntimeError, "in-place operation", "put it inside with torch.no_grad()"),
    (gd_unguarded_zero_, AttributeError, "zero_", "guard p.grad.zero_() with if p.grad is not None"),
    (gd_reassigned_names, TypeError, "NoneType", "no longer a leaf"),
    (gd_loss_under_no_grad, RuntimeError, "does not require grad", "compute the loss with recording on"),
    (gd_loss_fn_of_params, TypeError, "positional argument", "loss_fn takes no arguments"),
], ids=["update-recorded", "unguarded-zero_", "reassigned-non-leaf", "loss-under-no_grad", "loss_fn-args"])
def test_descent_errors_of_the_learners_code_get_a_hint(wrong, error, fragment, hint):
    with pytest.raises(error, match=fragment) as raised:
        check("ch08-ex-train-loop", wrong)
    assert hint in notes(raised)


def test_descent_unguarded_zero_fails_on_the_parameter_without_a_grad():
    """Case 1's parameters all hold a .grad; case 2's bias has none, as on a fresh model."""
    with pytest.raises(AttributeError) as raised:
        check("ch08-ex-train-loop", gd_unguarded_zero_)
    assert "Case 2 of 3" in notes(raised)


def test_descent_answer_calling_the_referee_fails():
    def by_referee(params, loss_fn, lr, steps):
        return list(ch08._descent_by_sgd(ch08.descent_cases()[0])[0])

    with pytest.raises(RefereeCalled, match="reference"):
        check("ch08-ex-train-loop", by_referee)


def test_descent_answer_calling_the_checks_code_fails():
    def by_helper(params, loss_fn, lr, steps):
        return list(ch08._descent(ch08.descent_cases()[0])[0])

    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch08"):
        check("ch08-ex-train-loop", by_helper)


def test_descent_printing_loss_fn_is_allowed(capsys):
    def printing(params, loss_fn, lr, steps):
        print(loss_fn)
        return gradient_descent(params, loss_fn, lr, steps)

    assert check("ch08-ex-train-loop", printing)
    assert "<loss_fn: line>" in capsys.readouterr().out


def test_descent_cases_are_deterministic_and_the_referee_is_right():
    first, second = ch08.descent_cases(), ch08.descent_cases()
    for a, b in zip(first, second):
        assert all(torch.equal(s, t) for s, t in zip(a.start, b.start))
        assert all(torch.equal(s, t) for s, t in zip(a.data, b.data))
    # Old gradients and missing ones: both occur, and a fresh model has none at all.
    assert all(g is not None for g in first[0].stale)
    assert first[1].stale[0] is not None and first[1].stale[1] is None
    assert all(g is None for g in first[2].stale)
    # The line by hand, in NumPy: dL/dw = mean(2 (w x + b - y) x), dL/db = mean(2 (w x + b - y)).
    line = first[0]
    x, y = (t.numpy() for t in line.data)
    w = b = 0.0
    losses = []
    for _ in range(line.steps):
        r = w * x + b - y
        losses.append(np.mean(r ** 2))
        w, b = w - line.lr * np.mean(2 * r * x), b - line.lr * np.mean(2 * r)
    expected = ch08._descent_by_sgd(line)
    np.testing.assert_allclose(expected[0], losses, rtol=1e-12)
    np.testing.assert_allclose([expected[1].item(), expected[2].item()], [w, b], rtol=1e-12)
    for case in first:      # every problem trains: the loss falls
        outcome = ch08._descent_by_sgd(case)
        assert outcome[0][-1] < 0.9 * outcome[0][0]


def test_descent_every_mistake_differs_from_the_right_answer_on_some_case():
    cases = ch08.descent_cases()
    right = [ch08._descent_by_sgd(case) for case in cases]
    for mistake, hint in ch08.DESCENT_MISTAKES:
        differs = False
        for case, expected in zip(cases, right):
            wrong = mistake(case)
            differs |= not all(np.allclose(np.asarray(a), np.asarray(e), rtol=1e-10, atol=1e-12)
                               for a, e in zip(wrong, expected))
        assert differs, hint


# --------------------------------------------------------------------------
# ch08-ex-jacobian
# --------------------------------------------------------------------------


def jacobian_by_vjps(fn, x):
    """The reference answer: one forward pass, one backward pass per row with v = e_k."""
    x = x.detach().requires_grad_(True)
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        e_k = torch.zeros_like(u)
        e_k[k] = 1.0
        u.backward(gradient=e_k, retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jacobian_stub(fn, x):
    """Rows of the Jacobian of fn at x, one backward pass each."""
    raise NotImplementedError("replace this line with your code")


def _e(u, k):
    e_k = torch.zeros_like(u)
    e_k[k] = 1.0
    return e_k


def jac_autograd_grad(fn, x):
    x = x.detach().requires_grad_()
    u = fn(x)
    return torch.stack([torch.autograd.grad(u, x, _e(u, k), retain_graph=True)[0] for k in range(len(u))])


def jac_zero_(fn, x):
    x = x.detach().clone().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(u.shape[0]):
        if x.grad is not None:
            x.grad.zero_()
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.detach().clone())
    return torch.stack(rows)


def jac_scalar_entry(fn, x):
    """u[k] is a scalar: its backward pass is the product with e_k."""
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u[k].backward(retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_weighted_sum(fn, x):
    x = x.detach().requires_grad_()
    u = fn(x)
    eye = torch.eye(len(u), dtype=u.dtype)
    rows = []
    for k in range(len(u)):
        x.grad = None
        (u * eye[k]).sum().backward(retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_preallocated(fn, x):
    """J made first, in x's dtype, and filled row by row; the graph kept only until the last pass."""
    x = x.detach().requires_grad_()
    u = fn(x)
    n_out = u.shape[0]
    J = torch.zeros(n_out, x.shape[0], dtype=x.dtype)
    for k in range(n_out):
        x.grad = None
        u.backward(_e(u, k), retain_graph=k < n_out - 1)
        J[k] = x.grad
    return J


def jac_copy_constructed(fn, x):
    """torch.tensor(x, requires_grad=True) copies x (PyTorch warns that detach().clone() is preferred)."""
    x = torch.tensor(x, requires_grad=True)
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(gradient=_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def test_jacobian_reference_passes(capsys):
    assert check("ch08-ex-jacobian", jacobian_by_vjps)
    assert capsys.readouterr().out == f"{TICK} jacobian_by_vjps passes all 4 test cases.\n"


@pytest.mark.parametrize("stub", [jacobian_stub, None], ids=["raises", "None"])
def test_jacobian_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch08-ex-jacobian", stub))
    assert "jacobian_by_vjps is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("correct", [
    jac_autograd_grad, jac_zero_, jac_scalar_entry, jac_weighted_sum, jac_preallocated, jac_copy_constructed,
], ids=["autograd.grad", "grad.zero_", "u[k].backward", "weighted-sum", "preallocated-float64",
        "copy-constructed"])
def test_jacobian_every_correct_form_passes(correct, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)    # the copy construction's own warning
        assert check("ch08-ex-jacobian", correct)
    assert TICK in capsys.readouterr().out


def test_jacobian_a_warning_of_the_learners_code_still_shows():
    with pytest.warns(UserWarning, match="copy construct"):
        check("ch08-ex-jacobian", jac_copy_constructed)


def jac_transposed(fn, x):
    return jacobian_by_vjps(fn, x).T


def jac_not_cleared(fn, x):
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_ones(fn, x):
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(torch.ones_like(u), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_summed(fn, x):
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.sum().backward(retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_stale_in_row_0(fn, x):
    """Uses the given x when it already requires grad, and clears only after reading each row."""
    if not x.requires_grad:
        x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
        x.grad = None
    return torch.stack(rows)


def jac_columns_stacked(fn, x):
    """The rows stacked as columns (dim=1): J transposed, on the square case too."""
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows, dim=1)


def jac_aliased_rows(fn, x):
    """Cleared with zero_() in place and appended without clone(): every row is the one tensor x.grad."""
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(u)):
        if x.grad is not None:
            x.grad.zero_()
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad)
    return torch.stack(rows)


def jac_float32(fn, x):
    """torch.zeros(n_out, n_in) is float32: the float64 rows are rounded on the way in."""
    x = x.detach().requires_grad_()
    u = fn(x)
    J = torch.zeros(len(u), len(x))
    for k in range(len(u)):
        x.grad = None
        u.backward(_e(u, k), retain_graph=True)
        J[k] = x.grad
    return J


def jac_over_the_inputs(fn, x):
    """One row per entry of x instead of one per output."""
    x = x.detach().requires_grad_()
    u = fn(x)
    rows = []
    for k in range(len(x)):
        x.grad = None
        u.backward(_e(u, k % len(u)), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_numpy(fn, x):
    return jacobian_by_vjps(fn, x).numpy()


def jac_forward_per_row(fn, x):
    """A fresh leaf and a fresh graph for every row: fn is called n_out + 1 times."""
    rows = []
    for k in range(fn(x.detach()).shape[0]):
        leaf = x.detach().requires_grad_()
        u = fn(leaf)
        u.backward(gradient=_e(u, k))
        rows.append(leaf.grad)
    return torch.stack(rows)


def jac_in_place_leaf(fn, x):
    """requires_grad_ on the x it is given, and its .grad wiped: the caller's x changes."""
    x.requires_grad_(True)
    u = fn(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(gradient=_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_cleared_after_reading(fn, x):
    """Uses the x it is given, clearing .grad only after reading each row."""
    x.requires_grad_(True)
    u = fn(x)
    rows = []
    for k in range(len(u)):
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
        x.grad = None
    return torch.stack(rows)


@pytest.mark.parametrize("wrong, fragment", [
    (jac_transposed, "transposed"),
    (jac_columns_stacked, "transpose of J"),
    (jac_not_cleared, "row k holds the sum of rows 0 to k"),
    (jac_ones, "vector of ones"),
    (jac_summed, "sum of the outputs"),
    (jac_stale_in_row_0, "Case 3 of 4.*row 0 includes it"),
    (jac_aliased_rows, "every row is the last one.*x.grad.clone()"),
    (jac_float32, "returned a float32 tensor.*dtype=x.dtype"),
    (jac_over_the_inputs, "5 rows, one per entry of x.*one row per output: n_out = 3 rows"),
    (jac_numpy, "returned a NumPy array"),
    (jac_forward_per_row, "called fn 4 times"),
    (jac_in_place_leaf, "changed the x it was given: it now requires grad"),
    (jac_cleared_after_reading, "changed the x it was given"),
], ids=["transposed", "stacked-as-columns", "not-cleared", "ones", "summed", "old-grad-in-row-0",
        "aliased-rows", "float32", "over-the-inputs", "numpy", "forward-per-row", "in-place-leaf",
        "cleared-after-reading"])
def test_jacobian_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch08-ex-jacobian", wrong)


def test_jacobian_transposed_is_named_on_the_square_case():
    """On the square case the shapes agree, so only the mistake's hint can say what is wrong."""
    def transposed_if_square(fn, x):
        J = jacobian_by_vjps(fn, x)
        return J.T if J.shape[0] == J.shape[1] else J

    with pytest.raises(AssertionError, match=r"Case 2 of 4.*Likely mistake: this is the transpose of J"):
        check("ch08-ex-jacobian", transposed_if_square)


def test_jacobian_wiping_the_callers_old_grad_is_named():
    """Case 3's x holds the caller's gradient: an answer that clears it has destroyed it."""
    def wipes_the_old_grad(fn, x):
        J = jacobian_by_vjps(fn, x)
        if x.requires_grad:
            x.grad = None
        return J

    with pytest.raises(WrongAnswer, match=r"its \.grad from earlier work was cleared"):
        check("ch08-ex-jacobian", wipes_the_old_grad)


def test_jacobian_of_a_non_leaf_gets_a_hint():
    """x.clone() of a tensor that requires grad is not a leaf: its .grad stays None."""
    def non_leaf(fn, x):
        x = x.clone().requires_grad_(True) * 1.0
        u = fn(x)
        rows = []
        for k in range(len(u)):
            u.backward(_e(u, k), retain_graph=True)
            rows.append(x.grad)
        return torch.stack(rows)

    with pytest.raises(TypeError) as raised:
        check("ch08-ex-jacobian", non_leaf)
    assert "not a leaf" in notes(raised)


def test_jacobian_rows_of_none_get_a_hint():
    def rows_of_non_leaf(fn, x):
        x = x.detach().requires_grad_() + 0.0
        u = fn(x)
        rows = []
        for k in range(len(u)):
            u.backward(_e(u, k), retain_graph=True)
            rows.append(x.grad)
        return rows

    with pytest.raises(WrongAnswer, match="not a leaf"):
        check("ch08-ex-jacobian", rows_of_non_leaf)


def test_jacobian_without_retain_graph_gets_a_hint():
    def no_retain(fn, x):
        x = x.detach().requires_grad_()
        u = fn(x)
        rows = []
        for k in range(len(u)):
            x.grad = None
            u.backward(_e(u, k))
            rows.append(x.grad.clone())
        return torch.stack(rows)

    with pytest.raises(RuntimeError, match="second time") as raised:
        check("ch08-ex-jacobian", no_retain)
    assert "retain_graph=True" in notes(raised)


def test_jacobian_of_an_x_that_does_not_require_grad_gets_a_hint():
    def no_requires_grad(fn, x):
        u = fn(x)
        rows = []
        for k in range(len(u)):
            u.backward(_e(u, k), retain_graph=True)
            rows.append(x.grad.clone())
        return torch.stack(rows)

    with pytest.raises(RuntimeError, match="does not require grad") as raised:
        check("ch08-ex-jacobian", no_requires_grad)
    assert "requires_grad_()" in notes(raised)


def test_jacobian_backward_without_a_vector_gets_a_hint():
    def no_gradient(fn, x):
        x = x.detach().requires_grad_()
        u = fn(x)
        rows = []
        for k in range(len(u)):
            x.grad = None
            u.backward(retain_graph=True)
            rows.append(x.grad.clone())
        return torch.stack(rows)

    with pytest.raises(RuntimeError, match="scalar outputs") as raised:
        check("ch08-ex-jacobian", no_gradient)
    assert "u.backward(gradient=v)" in notes(raised)


def test_jacobian_list_of_rows_is_refused_with_a_hint():
    def as_list(fn, x):
        return list(jacobian_by_vjps(fn, x))

    with pytest.raises(WrongAnswer, match="torch.stack"):
        check("ch08-ex-jacobian", as_list)


def _wrapped(fn):
    def g(z):
        return fn(z)
    return g


def _rows_by_func_vjp(fn, x):
    u, vjp = torch.func.vjp(fn, x.detach())
    return torch.stack([vjp(e)[0] for e in torch.eye(len(u), dtype=u.dtype)])


def _rows_by_functional_vjp(fn, x):
    u = fn(x.detach())
    eye = torch.eye(len(u), dtype=u.dtype)
    return torch.stack([torch.autograd.functional.vjp(fn, x.detach(), eye[k])[1] for k in range(len(u))])


@pytest.mark.parametrize("builder, fragment", [
    (lambda fn, x: torch.autograd.functional.jacobian(fn, x), "torch.autograd.functional"),
    (lambda fn, x: torch.func.jacrev(fn)(x), "torch.func"),
    (lambda fn, x: torch.autograd.functional.jacobian(lambda z: fn(z), x), "torch.autograd.functional"),
    (lambda fn, x: torch.func.jacrev(lambda z: fn(z))(x), "torch.func"),
    (lambda fn, x: torch.autograd.functional.jacobian(_wrapped(fn), x), "torch.autograd.functional"),
    (lambda fn, x: torch.func.jacfwd(_wrapped(fn))(x), "torch.func"),
    (lambda fn, x: torch.autograd.functional.jacobian(fn, x, vectorize=True), "torch.autograd.functional"),
    (_rows_by_func_vjp, "torch.func"),
    (_rows_by_functional_vjp, "torch.autograd.functional"),
], ids=["functional.jacobian", "func.jacrev", "jacobian-of-a-lambda", "jacrev-of-a-lambda",
        "jacobian-of-a-def", "jacfwd-of-a-def", "jacobian-vectorized", "func.vjp", "functional.vjp"])
def test_jacobian_by_pytorchs_own_tools_fails_even_through_a_wrapper(builder, fragment):
    with pytest.raises(WrongAnswer, match=f"fn was called by {fragment}.*build it yourself"):
        check("ch08-ex-jacobian", builder)


def test_jacobian_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch08-ex-jacobian", lambda fn, x: ch08._jacobian_by_torch(fn, x))


def test_jacobian_answer_calling_the_checks_code_fails():
    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch08"):
        check("ch08-ex-jacobian", lambda fn, x: ch08._jac(fn, x))


def test_jacobian_printing_fn_is_allowed(capsys):
    def printing(fn, x):
        print(fn)
        return jacobian_by_vjps(fn, x)

    assert check("ch08-ex-jacobian", printing)
    assert "<fn: R^5 -> R^3, tanh(M x + c)>" in capsys.readouterr().out


def test_jacobian_cases_are_deterministic_and_the_referee_is_right():
    first, second = ch08.jacobian_cases(), ch08.jacobian_cases()
    for ((fn, x), J), ((_, x2), J2) in zip(first, second):
        assert torch.equal(x, x2) and torch.equal(J, J2)
        assert J.shape == (fn.n_out, fn.n_in) and J.dtype == torch.float64
        # A column of J by central differences.
        h = 1e-6
        for j in range(fn.n_in):
            step = torch.zeros_like(x)
            step[j] = h
            column = (fn(x.detach() + step) - fn(x.detach() - step)) / (2 * h)
            np.testing.assert_allclose(column.numpy(), J[:, j].numpy(), rtol=1e-6, atol=1e-8)
    shapes = [J.shape for _, J in first]
    assert shapes[0][0] != shapes[0][1] and shapes[1][0] == shapes[1][1]
    square = first[1][1]
    assert not torch.allclose(square, square.T), "the square case must tell J from its transpose"
    (_, x3), _ = first[2]
    assert x3.requires_grad and x3.grad is not None


@pytest.mark.parametrize("key, answer", [("ch08-ex-train-loop", gradient_descent),
                                         ("ch08-ex-jacobian", jacobian_by_vjps),
                                         ("ch08-ex-accumulate", lambda *args: accumulate_gradients(*args))],
                         ids=["train-loop", "jacobian", "accumulate"])
def test_a_check_leaves_the_learners_random_state_alone(key, answer, capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert check(key, answer)
    assert torch.equal(torch.rand(3), expected)


def test_jacobian_a_changed_input_is_named_and_cannot_spoil_later_checks(capsys):
    def correct_then_vandal(fn, x):
        J = jacobian_by_vjps(fn, x)
        with torch.no_grad():
            x.mul_(0.0)
        return J

    with pytest.raises(WrongAnswer, match="its values were changed"):
        check("ch08-ex-jacobian", correct_then_vandal)
    assert check("ch08-ex-jacobian", jacobian_by_vjps)


# --------------------------------------------------------------------------
# ch08-ex-accumulate
# --------------------------------------------------------------------------


def accumulate_gradients(model, loss_fn, batches):
    """The reference answer: zero once, then each batch's loss weighted by its share of the examples."""
    model.zero_grad()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        loss = loss_fn(model(X), y)
        (loss * len(X) / N).backward()


def accumulate_stub(model, loss_fn, batches):
    """Leave in every parameter's .grad the gradient of the mean loss over all the batches."""
    raise NotImplementedError("replace this line with your code")


def acc_set_to_none(model, loss_fn, batches):
    for p in model.parameters():
        p.grad = None
    N = sum(X.shape[0] for X, _ in batches)
    for X, y in batches:
        (loss_fn(model(X), y) * (X.shape[0] / N)).backward()


def acc_optimizer(model, loss_fn, batches):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        (len(X) / N * loss_fn(model(X), y)).backward()


def acc_grad_zero_(model, loss_fn, batches):
    for p in model.parameters():
        if p.grad is not None:
            p.grad.zero_()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        (loss_fn(model(X), y) * len(X) / N).backward()


def acc_zeros_kept(model, loss_fn, batches):
    model.zero_grad(set_to_none=False)
    sizes = [len(X) for X, _ in batches]
    for (X, y), n in zip(batches, sizes):
        (n / sum(sizes) * loss_fn(model(X), y)).backward()


def acc_divide_at_the_end(model, loss_fn, batches):
    """Each batch's mean times its size is its summed loss; divide the total by N at the end."""
    model.zero_grad()
    N = 0
    for X, y in batches:
        (loss_fn(model(X), y) * len(X)).backward()
        N += len(X)
    with torch.no_grad():
        for p in model.parameters():
            p.grad /= N


def acc_autograd_grad(model, loss_fn, batches):
    params = list(model.parameters())
    totals = [torch.zeros_like(p) for p in params]
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        grads = torch.autograd.grad(loss_fn(model(X), y), params)
        for total, g in zip(totals, grads):
            total += g * len(X) / N
    for p, total in zip(params, totals):
        p.grad = total


def acc_returns_the_gradients_too(model, loss_fn, batches):
    """'Return nothing': returning the gradients as well harms no caller, and passes."""
    accumulate_gradients(model, loss_fn, batches)
    return [p.grad for p in model.parameters()]


def test_accumulate_reference_passes(capsys):
    assert check("ch08-ex-accumulate", accumulate_gradients)
    assert capsys.readouterr().out == f"{TICK} accumulate_gradients passes all 4 test cases.\n"


@pytest.mark.parametrize("stub", [accumulate_stub, None], ids=["raises", "None"])
def test_accumulate_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch08-ex-accumulate", stub))
    assert "accumulate_gradients is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("correct", [
    acc_set_to_none, acc_optimizer, acc_grad_zero_, acc_zeros_kept, acc_divide_at_the_end, acc_autograd_grad,
    acc_returns_the_gradients_too,
], ids=["grad-None", "optimizer.zero_grad", "grad.zero_", "zeros-kept", "divide-at-the-end", "autograd.grad",
        "returns-the-gradients"])
def test_accumulate_every_correct_form_passes(correct, capsys):
    assert check("ch08-ex-accumulate", correct)
    assert TICK in capsys.readouterr().out


def acc_not_zeroed(model, loss_fn, batches):
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        (loss_fn(model(X), y) * len(X) / N).backward()


def acc_not_scaled(model, loss_fn, batches):
    model.zero_grad()
    for X, y in batches:
        loss_fn(model(X), y).backward()


def acc_zeroed_in_the_loop(model, loss_fn, batches):
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        model.zero_grad()
        (loss_fn(model(X), y) * len(X) / N).backward()


def acc_zeroed_in_the_loop_unscaled(model, loss_fn, batches):
    for X, y in batches:
        model.zero_grad()
        loss_fn(model(X), y).backward()


def acc_equal_weights(model, loss_fn, batches):
    model.zero_grad()
    for X, y in batches:
        (loss_fn(model(X), y) / len(batches)).backward()


def acc_divided_by_N(model, loss_fn, batches):
    model.zero_grad()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        (loss_fn(model(X), y) / N).backward()


def acc_weights_upside_down(model, loss_fn, batches):
    model.zero_grad()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        (loss_fn(model(X), y) * N / len(X)).backward()


def acc_times_len_only(model, loss_fn, batches):
    model.zero_grad()
    for X, y in batches:
        (loss_fn(model(X), y) * len(X)).backward()


def acc_nothing_right(model, loss_fn, batches):
    for X, y in batches:
        loss_fn(model(X), y).backward()


def acc_all_at_once(model, loss_fn, batches):
    model.zero_grad()
    X = torch.cat([X for X, _ in batches])
    y = torch.cat([y for _, y in batches])
    loss_fn(model(X), y).backward()


def acc_all_at_once_layer_by_layer(model, loss_fn, batches):
    """All the examples at once, through the Sequential's layers one by one."""
    model.zero_grad()
    out = torch.cat([X for X, _ in batches])
    for layer in model:
        out = layer(out)
    loss_fn(out, torch.cat([y for _, y in batches])).backward()


def acc_all_at_once_functional_call(model, loss_fn, batches):
    model.zero_grad()
    out = torch.func.functional_call(model, dict(model.named_parameters()), (torch.cat([X for X, _ in batches]),))
    loss_fn(out, torch.cat([y for _, y in batches])).backward()


def acc_one_backward_for_all(model, loss_fn, batches):
    """The right weights, but the batches' losses added up first: one backward pass, every graph kept."""
    model.zero_grad()
    N = sum(len(X) for X, _ in batches)
    total = sum(loss_fn(model(X), y) * len(X) / N for X, y in batches)
    total.backward()


def acc_and_a_step(model, loss_fn, batches):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    accumulate_gradients(model, loss_fn, batches)
    optimizer.step()


def acc_cleared_at_the_end(model, loss_fn, batches):
    accumulate_gradients(model, loss_fn, batches)
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("wrong, fragment", [
    (acc_not_zeroed, "before your function ran is still in it"),
    (acc_not_scaled, "sum of the gradients of the batches' mean losses"),
    (acc_zeroed_in_the_loop, "only the last batch's \\(scaled\\) gradient is left"),
    (acc_zeroed_in_the_loop_unscaled, "only the last batch's gradient is left"),
    (acc_equal_weights, "Case 2 of 4.*every batch got the same weight"),
    (acc_divided_by_N, "divided by N"),
    (acc_weights_upside_down, "the other way up"),
    (acc_times_len_only, "multiplied by len\\(X\\) but not divided by N"),
    (acc_nothing_right, "two things"),
    (acc_all_at_once, "on 12 examples at once"),
    (acc_all_at_once_layer_by_layer, "on 12 examples at once"),
    (acc_all_at_once_functional_call, "on 12 examples at once"),
    (acc_one_backward_for_all, "ran 1 backward pass\\(es\\) for 3 batches"),
    (acc_and_a_step, "changed the parameters"),
    (acc_cleared_at_the_end, "0.weight.grad is None"),
], ids=["not-zeroed", "not-scaled", "zeroed-in-loop", "zeroed-in-loop-unscaled", "equal-weights",
        "divided-by-N", "upside-down", "times-len-only", "neither", "all-at-once", "all-at-once-by-layers",
        "all-at-once-functional-call", "one-backward", "and-a-step", "cleared-at-the-end"])
def test_accumulate_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch08-ex-accumulate", wrong)


def acc_unguarded_zero_(model, loss_fn, batches):
    for p in model.parameters():
        p.grad.zero_()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        (loss_fn(model(X), y) * len(X) / N).backward()


def acc_scaled_under_no_grad(model, loss_fn, batches):
    model.zero_grad()
    N = sum(len(X) for X, _ in batches)
    for X, y in batches:
        loss = loss_fn(model(X), y)
        with torch.no_grad():
            scaled = loss * len(X) / N
        scaled.backward()


def test_accumulate_an_unguarded_zero_fails_on_the_fresh_model_with_a_hint():
    with pytest.raises(AttributeError, match="zero_") as raised:
        check("ch08-ex-accumulate", acc_unguarded_zero_)
    assert "every .grad is None" in notes(raised) and "Case 4 of 4" in notes(raised)


def test_accumulate_a_loss_scaled_under_no_grad_gets_a_hint():
    with pytest.raises(RuntimeError, match="does not require grad") as raised:
        check("ch08-ex-accumulate", acc_scaled_under_no_grad)
    assert "computed under torch.no_grad()" in notes(raised)


def test_accumulate_answer_calling_the_referee_fails():
    def by_referee(model, loss_fn, batches):
        ch08._gradients_of_all_batches_at_once(ch08.accumulation_cases()[0])

    with pytest.raises(RefereeCalled, match="reference"):
        check("ch08-ex-accumulate", by_referee)


def test_accumulate_answer_calling_the_checks_code_fails():
    def by_helper(model, loss_fn, batches):
        ch08._batch_gradients(ch08.accumulation_cases()[0])

    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch08"):
        check("ch08-ex-accumulate", by_helper)


def test_accumulate_cases_and_the_referee_is_right():
    cases = ch08.accumulation_cases()
    assert [c.sizes for c in cases] == [[4, 4, 4], [5, 2, 3], [6, 1], [3, 5]]
    for case in cases:
        expected = ch08._gradients_of_all_batches_at_once(case)
        # The same gradient, by finite differences of the mean loss over all the examples, on a few weights.
        X = torch.cat([X for X, _ in case.batches])
        y = torch.cat([y for _, y in case.batches])
        weight = case.model[0].weight
        for index in [(0, 0), (1, 1)]:
            with torch.no_grad():
                original = weight[index].item()
                weight[index] = original + 1e-6
                up = case.loss_fn(case.model(X), y).item()
                weight[index] = original - 1e-6
                down = case.loss_fn(case.model(X), y).item()
                weight[index] = original
            assert abs((up - down) / 2e-6 - expected[0][index].item()) < 1e-7
    # Three models hold an old gradient; the last is fresh, with none.
    assert all(s is not None and s.abs().sum() > 0 for case in cases[:3] for s in case.stale)
    assert all(s is None for s in cases[3].stale)


def test_accumulate_the_model_reaches_the_answer_as_the_case_says():
    seen = []

    def spy(model, loss_fn, batches):
        seen.append([p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.parameters()])
        accumulate_gradients(model, loss_fn, batches)

    assert check("ch08-ex-accumulate", spy)
    assert len(seen) == 4
    assert all(all(flags) for flags in seen[:3]) and not any(seen[3])


def test_accumulate_one_backward_pass_per_example_is_allowed(capsys):
    """More backward passes than batches keep no more in memory: allowed."""
    def per_example(model, loss_fn, batches):
        model.zero_grad()
        N = sum(len(X) for X, _ in batches)
        for X, y in batches:
            for i in range(len(X)):
                (loss_fn(model(X[i:i + 1]), y[i:i + 1]) / N).backward()

    assert check("ch08-ex-accumulate", per_example)


def test_accumulate_a_changed_batch_cannot_spoil_the_check(capsys):
    def correct_then_vandal(model, loss_fn, batches):
        accumulate_gradients(model, loss_fn, batches)
        with torch.no_grad():
            for X, _ in batches:
                X.mul_(0.0)
        batches.clear()

    assert check("ch08-ex-accumulate", correct_then_vandal)
    assert check("ch08-ex-accumulate", accumulate_gradients)
