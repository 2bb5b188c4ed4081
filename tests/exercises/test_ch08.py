"""The checks of chapter 8's coding exercises: the reference answers pass, the untouched stubs are
"not answered yet", plausible mistakes are rejected with a message that names them, every correct
form the chapter teaches passes, and an answer that calls a referee fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlp_course.exercises import CheckResult, RefereeCalled, WrongAnswer, check, get, keys
from mlp_course.exercises import ch08

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch08") == ["ch08-ex-accumulate", "ch08-ex-jacobian"]
    assert get("ch08-ex-jacobian").points == 3 and get("ch08-ex-accumulate").points == 3
    assert get("ch08-ex-jacobian").answers == ("jacobian_by_vjps",)
    assert get("ch08-ex-accumulate").answers == ("accumulate_gradients",)


# --------------------------------------------------------------------------
# ch08-ex-jacobian
# --------------------------------------------------------------------------


def jacobian_by_vjps(f, x):
    """The reference answer: one forward pass, one backward pass per row with v = e_k."""
    x = x.detach().requires_grad_(True)
    u = f(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        e_k = torch.zeros_like(u)
        e_k[k] = 1.0
        u.backward(gradient=e_k, retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jacobian_stub(f, x):
    """Rows of the Jacobian of f at x, one backward pass each."""
    raise NotImplementedError("replace this line with your code")


def _e(u, k):
    e_k = torch.zeros_like(u)
    e_k[k] = 1.0
    return e_k


def jac_autograd_grad(f, x):
    x = x.detach().requires_grad_()
    u = f(x)
    return torch.stack([torch.autograd.grad(u, x, _e(u, k), retain_graph=True)[0] for k in range(len(u))])


def jac_zero_(f, x):
    x = x.detach().clone().requires_grad_()
    u = f(x)
    rows = []
    for k in range(u.shape[0]):
        if x.grad is not None:
            x.grad.zero_()
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.detach().clone())
    return torch.stack(rows)


def jac_scalar_entry(f, x):
    """u[k] is a scalar: its backward pass is the product with e_k."""
    x = x.detach().requires_grad_()
    u = f(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u[k].backward(retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_weighted_sum(f, x):
    x = x.detach().requires_grad_()
    u = f(x)
    eye = torch.eye(len(u), dtype=u.dtype)
    rows = []
    for k in range(len(u)):
        x.grad = None
        (u * eye[k]).sum().backward(retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_forward_per_row(f, x):
    """A fresh leaf and a fresh graph for every row: no retain_graph needed."""
    rows = []
    for k in range(f(x.detach()).shape[0]):
        leaf = x.detach().requires_grad_()
        u = f(leaf)
        u.backward(gradient=_e(u, k))
        rows.append(leaf.grad)
    return torch.stack(rows)


def jac_in_place_leaf(f, x):
    """requires_grad_ on the x it is given, clearing .grad before every pass: also right."""
    x.requires_grad_(True)
    u = f(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(gradient=_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_numpy(f, x):
    return jacobian_by_vjps(f, x).numpy()


def test_jacobian_reference_passes(capsys):
    assert check("ch08-ex-jacobian", jacobian_by_vjps)
    assert capsys.readouterr().out == f"{TICK} jacobian_by_vjps passes all 4 test cases.\n"


@pytest.mark.parametrize("stub", [jacobian_stub, None], ids=["raises", "None"])
def test_jacobian_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch08-ex-jacobian", stub))
    assert "jacobian_by_vjps is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("correct", [
    jac_autograd_grad, jac_zero_, jac_scalar_entry, jac_weighted_sum, jac_forward_per_row,
    jac_in_place_leaf, jac_numpy,
], ids=["autograd.grad", "grad.zero_", "u[k].backward", "weighted-sum", "graph-per-row", "in-place-leaf",
        "numpy"])
def test_jacobian_every_correct_form_passes(correct, capsys):
    assert check("ch08-ex-jacobian", correct)
    assert TICK in capsys.readouterr().out


def jac_transposed(f, x):
    return jacobian_by_vjps(f, x).T


def jac_not_cleared(f, x):
    x = x.detach().requires_grad_()
    u = f(x)
    rows = []
    for k in range(len(u)):
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_ones(f, x):
    x = x.detach().requires_grad_()
    u = f(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(torch.ones_like(u), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_summed(f, x):
    x = x.detach().requires_grad_()
    u = f(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.sum().backward(retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def jac_cleared_after_reading(f, x):
    """Uses the x it is given, clearing .grad only after reading each row: the old .grad leaks into row 0."""
    x.requires_grad_(True)
    u = f(x)
    rows = []
    for k in range(len(u)):
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
        x.grad = None
    return torch.stack(rows)


def jac_columns_stacked(f, x):
    """The rows stacked as columns (dim=1): J transposed, on the square case too."""
    x = x.detach().requires_grad_()
    u = f(x)
    rows = []
    for k in range(len(u)):
        x.grad = None
        u.backward(_e(u, k), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows, dim=1)


@pytest.mark.parametrize("wrong, fragment", [
    (jac_transposed, "transposed"),
    (jac_columns_stacked, "transpose of J"),
    (jac_not_cleared, "row k holds the sum of rows 0 to k"),
    (jac_ones, "vector of ones"),
    (jac_summed, "sum of the outputs"),
    (jac_cleared_after_reading, "row 0 includes it"),
], ids=["transposed", "stacked-as-columns", "not-cleared", "ones", "summed", "old-grad-in-row-0"])
def test_jacobian_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch08-ex-jacobian", wrong)


def test_jacobian_transposed_is_named_on_the_square_case():
    """On the square case the shapes agree, so only the mistake's hint can say what is wrong."""
    def transposed_if_square(f, x):
        J = jacobian_by_vjps(f, x)
        return J.T if J.shape[0] == J.shape[1] else J

    with pytest.raises(AssertionError, match=r"Case 2 of 4.*Likely mistake: this is the transpose of J"):
        check("ch08-ex-jacobian", transposed_if_square)


def test_jacobian_of_a_non_leaf_gets_a_hint():
    """x.clone() of a tensor that requires grad is not a leaf: its .grad stays None."""
    def non_leaf(f, x):
        x = x.clone().requires_grad_(True) * 1.0
        u = f(x)
        rows = []
        for k in range(len(u)):
            u.backward(_e(u, k), retain_graph=True)
            rows.append(x.grad)
        return torch.stack(rows)

    with pytest.raises(TypeError) as raised:
        check("ch08-ex-jacobian", non_leaf)
    assert any("not a leaf" in note for note in raised.value.__notes__)


def test_jacobian_rows_of_none_get_a_hint():
    def rows_of_non_leaf(f, x):
        x = x.detach().requires_grad_() + 0.0
        u = f(x)
        rows = []
        for k in range(len(u)):
            u.backward(_e(u, k), retain_graph=True)
            rows.append(x.grad)
        return rows

    with pytest.raises(WrongAnswer, match="not a leaf"):
        check("ch08-ex-jacobian", rows_of_non_leaf)


def test_jacobian_without_retain_graph_gets_a_hint():
    def no_retain(f, x):
        x = x.detach().requires_grad_()
        u = f(x)
        rows = []
        for k in range(len(u)):
            x.grad = None
            u.backward(_e(u, k))
            rows.append(x.grad.clone())
        return torch.stack(rows)

    with pytest.raises(RuntimeError, match="second time") as raised:
        check("ch08-ex-jacobian", no_retain)
    assert any("retain_graph=True" in note for note in raised.value.__notes__)


def test_jacobian_of_an_x_that_does_not_require_grad_gets_a_hint():
    def no_requires_grad(f, x):
        u = f(x)
        rows = []
        for k in range(len(u)):
            u.backward(_e(u, k), retain_graph=True)
            rows.append(x.grad.clone())
        return torch.stack(rows)

    with pytest.raises(RuntimeError, match="does not require grad") as raised:
        check("ch08-ex-jacobian", no_requires_grad)
    assert any("requires_grad_()" in note for note in raised.value.__notes__)


def test_jacobian_list_of_rows_is_refused_with_a_hint():
    def as_list(f, x):
        return list(jacobian_by_vjps(f, x))

    with pytest.raises(WrongAnswer, match="torch.stack"):
        check("ch08-ex-jacobian", as_list)


@pytest.mark.parametrize("builder", [
    lambda f, x: torch.autograd.functional.jacobian(f, x),
    lambda f, x: torch.func.jacrev(f)(x),
], ids=["autograd.functional.jacobian", "func.jacrev"])
def test_jacobian_by_pytorchs_own_jacobian_fails(builder):
    with pytest.raises(WrongAnswer, match="build it yourself"):
        check("ch08-ex-jacobian", builder)


def test_jacobian_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch08-ex-jacobian", lambda f, x: ch08._jacobian_by_torch(f, x))


def test_jacobian_answer_calling_the_checks_code_fails():
    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch08"):
        check("ch08-ex-jacobian", lambda f, x: ch08._jac(f, x))


def test_jacobian_cases_are_deterministic_and_the_referee_is_right():
    first, second = ch08.jacobian_cases(), ch08.jacobian_cases()
    for ((f, x), J), ((_, x2), J2) in zip(first, second):
        assert torch.equal(x, x2) and torch.equal(J, J2)
        assert J.shape == (f.q, f.n) and J.dtype == torch.float64
        # A column of J by central differences.
        h = 1e-6
        for j in range(f.n):
            step = torch.zeros_like(x)
            step[j] = h
            column = (f(x.detach() + step) - f(x.detach() - step)) / (2 * h)
            np.testing.assert_allclose(column.numpy(), J[:, j].numpy(), rtol=1e-6, atol=1e-8)
    shapes = [J.shape for _, J in first]
    assert shapes[0][0] != shapes[0][1] and shapes[1][0] == shapes[1][1]
    square = first[1][1]
    assert not torch.allclose(square, square.T), "the square case must tell J from its transpose"
    (_, x3), _ = first[2]
    assert x3.requires_grad and x3.grad is not None


@pytest.mark.parametrize("key, answer", [("ch08-ex-jacobian", jacobian_by_vjps),
                                         ("ch08-ex-accumulate", lambda *args: accumulate_gradients(*args))],
                         ids=["jacobian", "accumulate"])
def test_a_check_leaves_the_learners_random_state_alone(key, answer, capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert check(key, answer)
    assert torch.equal(torch.rand(3), expected)


def test_jacobian_a_changed_input_cannot_spoil_later_cases(capsys):
    def correct_then_vandal(f, x):
        J = jacobian_by_vjps(f, x)
        with torch.no_grad():
            x.mul_(0.0)
        return J

    assert check("ch08-ex-jacobian", correct_then_vandal)
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


def test_accumulate_reference_passes(capsys):
    assert check("ch08-ex-accumulate", accumulate_gradients)
    assert capsys.readouterr().out == f"{TICK} accumulate_gradients passes all 3 test cases.\n"


@pytest.mark.parametrize("stub", [accumulate_stub, None], ids=["raises", "None"])
def test_accumulate_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch08-ex-accumulate", stub))
    assert "accumulate_gradients is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("correct", [
    acc_set_to_none, acc_optimizer, acc_grad_zero_, acc_divide_at_the_end, acc_autograd_grad,
], ids=["grad-None", "optimizer.zero_grad", "grad.zero_", "divide-at-the-end", "autograd.grad"])
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


def acc_nothing_right(model, loss_fn, batches):
    for X, y in batches:
        loss_fn(model(X), y).backward()


def acc_all_at_once(model, loss_fn, batches):
    model.zero_grad()
    X = torch.cat([X for X, _ in batches])
    y = torch.cat([y for _, y in batches])
    loss_fn(model(X), y).backward()


def acc_cleared_at_the_end(model, loss_fn, batches):
    accumulate_gradients(model, loss_fn, batches)
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("wrong, fragment", [
    (acc_not_zeroed, "before your function ran is still in it"),
    (acc_not_scaled, "sum of the gradients of the batches' mean losses"),
    (acc_zeroed_in_the_loop, "only the last batch's \\(scaled\\) gradient is left"),
    (acc_zeroed_in_the_loop_unscaled, "only the last batch's gradient is left"),
    (acc_equal_weights, "Case 2 of 3.*every batch got the same weight"),
    (acc_divided_by_N, "divided by N"),
    (acc_nothing_right, "two things"),
    (acc_all_at_once, "on 12 examples at once"),
    (acc_cleared_at_the_end, "0.weight.grad is None"),
], ids=["not-zeroed", "not-scaled", "zeroed-in-loop", "zeroed-in-loop-unscaled", "equal-weights",
        "divided-by-N", "neither", "all-at-once", "cleared-at-the-end"])
def test_accumulate_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch08-ex-accumulate", wrong)


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


def test_accumulate_cases_hold_stale_gradients_and_the_referee_is_right():
    cases = ch08.accumulation_cases()
    assert [c.sizes for c in cases] == [[4, 4, 4], [5, 2, 3], [6, 1]]
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
        assert all(s.abs().sum() > 0 for s in case.stale)


def test_accumulate_the_model_reaches_the_answer_with_its_stale_gradients():
    seen = []

    def spy(model, loss_fn, batches):
        seen.append([p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.parameters()])
        accumulate_gradients(model, loss_fn, batches)

    assert check("ch08-ex-accumulate", spy)
    assert seen and all(all(flags) for flags in seen)


def test_accumulate_a_changed_model_or_batch_cannot_spoil_the_check(capsys):
    def correct_then_vandal(model, loss_fn, batches):
        accumulate_gradients(model, loss_fn, batches)
        with torch.no_grad():
            for X, _ in batches:
                X.mul_(0.0)
            for p in model.parameters():
                p.mul_(0.0)
        batches.clear()

    assert check("ch08-ex-accumulate", correct_then_vandal)
    assert check("ch08-ex-accumulate", accumulate_gradients)
