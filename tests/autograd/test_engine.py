"""Value: every operator against PyTorch in float64 and against finite differences,
random graphs with shared sub-expressions, long chains, repeated backward passes,
and the errors of bad input."""

from __future__ import annotations

import math
import re
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import examples

from mlp_course.autograd import Value, topological_order
from mlp_course.gradcheck import numerical_gradient


def t64(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


def close(actual: float, expected, rtol: float = 1e-12, atol: float = 1e-14) -> None:
    if isinstance(expected, torch.Tensor):
        expected = expected.item()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def state(*values: Value) -> list:
    return [(v.data, v.grad, v._prev, v._op, v.label) for v in values]


# Each operation: the engine's version, PyTorch's, and where to test it (away from kinks and poles).
away_from_zero = st.floats(0.2, 3) | st.floats(-3, -0.2)
UNARY = {
    "neg": (lambda v: -v, lambda t: -t, st.floats(-3, 3)),
    "exp": (lambda v: v.exp(), torch.exp, st.floats(-5, 5)),
    "log": (lambda v: v.log(), torch.log, st.floats(0.05, 20)),
    "tanh": (lambda v: v.tanh(), torch.tanh, st.floats(-4, 4)),
    "relu": (lambda v: v.relu(), torch.relu, away_from_zero),
    "sigmoid": (lambda v: v.sigmoid(), torch.sigmoid, st.floats(-10, 10)),
    "**2": (lambda v: v**2, lambda t: t**2, st.floats(-3, 3)),
    "**3": (lambda v: v**3, lambda t: t**3, st.floats(-3, 3)),
    "**0": (lambda v: v**0, lambda t: t**0, st.floats(-3, 3)),
    "**1": (lambda v: v**1, lambda t: t**1, st.floats(-3, 3)),
    "**-1": (lambda v: v**-1, lambda t: t**-1, away_from_zero),
    "**-2": (lambda v: v**-2, lambda t: t**-2, away_from_zero),
    "**0.5": (lambda v: v**0.5, lambda t: t**0.5, st.floats(0.05, 9)),
    "**-1.5": (lambda v: v**-1.5, lambda t: t**-1.5, st.floats(0.2, 9)),
    "**2.0": (lambda v: v**2.0, lambda t: t**2.0, st.floats(-3, 3)),
    "**np.float64(3)": (lambda v: v ** np.float64(3), lambda t: t**3.0, st.floats(-3, 3)),
}
BINARY = {
    "+": (lambda a, b: a + b, st.floats(-3, 3)),
    "-": (lambda a, b: a - b, st.floats(-3, 3)),
    "*": (lambda a, b: a * b, st.floats(-3, 3)),
    "/": (lambda a, b: a / b, away_from_zero),
}


# -- the example of the API --------------------------------------------------------------


def test_the_example_of_the_api_by_hand():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + a**2).tanh()
    c.backward()
    t = math.tanh(2.0 * -3.0 + 4.0)
    assert c.data == pytest.approx(t, rel=1e-15)
    assert a.grad == pytest.approx((1 - t**2) * (-3.0 + 2 * 2.0), rel=1e-14)
    assert b.grad == pytest.approx((1 - t**2) * 2.0, rel=1e-14)
    assert isinstance(a.grad, float) and isinstance(c.data, float)
    assert c.grad == 1.0


def test_attributes_follow_micrograds_protocol():
    a, b = Value(2.0), Value(3, label="b")
    assert (a.data, a.grad, a._prev, a._op, a.label) == (2.0, 0.0, (), "", "")
    assert type(b.data) is float and b.label == "b"
    assert a._backward() is None and a.grad == 0.0  # a leaf's _backward does nothing
    c = a * b
    assert c._prev == (a, b) and c._op == "*"
    assert [(a**2)._op, (a**-1)._op, (a**0.5)._op, (a + b)._op, (a - b)._op, (a / b)._op, (-a)._op] == [
        "**2", "**-1", "**0.5", "+", "-", "/", "neg"]
    assert [a.exp()._op, a.log()._op, a.tanh()._op, a.relu()._op, a.sigmoid()._op] == [
        "exp", "log", "tanh", "relu", "sigmoid"]
    assert (a * a)._prev == (a, a)


def test_a_new_operation_written_as_the_chapter_teaches_works_with_backward():
    def sin(x: Value) -> Value:
        out = Value(math.sin(x.data), (x,), "sin")

        def _backward():
            x.grad += math.cos(x.data) * out.grad

        out._backward = _backward
        return out

    a = Value(0.7)
    y = sin(a * a) + sin(a)
    y.backward()
    assert a.grad == pytest.approx(math.cos(0.49) * 1.4 + math.cos(0.7), rel=1e-14)


def test_repr():
    assert repr(Value(0.7615941559557649)) == "Value(data=0.7616, grad=0.0)"
    v = Value(2)
    v.grad = -1.25
    assert repr(v) == "Value(data=2.0, grad=-1.25)"
    assert repr(Value(1.5e-7)) == "Value(data=1.5e-07, grad=0.0)"


@pytest.mark.parametrize("data", [3, -2.5, np.float64(1.5), np.float32(0.25), np.int64(-4), np.int8(7)])
def test_data_is_stored_as_a_python_float(data):
    v = Value(data)
    assert type(v.data) is float and v.data == float(data)


# -- each operation against PyTorch and finite differences --------------------------------


@pytest.mark.parametrize("name", list(UNARY))
@examples(12)
@given(data=st.data())
def test_unary_operation_matches_pytorch_and_finite_differences(name, data):
    ours, theirs, domain = UNARY[name]
    x = data.draw(domain, label="x")
    a = Value(x)
    out = ours(a)
    out.backward()
    t = t64(x)
    (grad,) = torch.autograd.grad(theirs(t), t)
    close(out.data, theirs(t).detach())
    close(a.grad, grad)
    point = np.array([x])
    numeric = numerical_gradient(lambda: ours(Value(point[0])).data, point)
    np.testing.assert_allclose(a.grad, numeric[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(BINARY))
@examples(15)
@given(x=st.floats(-3, 3), data=st.data())
def test_binary_operation_matches_pytorch_and_finite_differences(name, x, data):
    ours, domain = BINARY[name]
    y = data.draw(domain, label="y")
    a, b = Value(x), Value(y)
    out = ours(a, b)
    out.backward()
    ta, tb = t64(x), t64(y)
    tout = ours(ta, tb)
    grads = torch.autograd.grad(tout, (ta, tb))
    close(out.data, tout.detach())
    close(a.grad, grads[0])
    close(b.grad, grads[1])
    point = np.array([x, y])
    numeric = numerical_gradient(lambda: ours(Value(point[0]), Value(point[1])).data, point)
    np.testing.assert_allclose([a.grad, b.grad], numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("number", [2, -0.5, np.float64(3.0), np.int64(-2)])
@pytest.mark.parametrize("x", [1.7, -0.6])
def test_a_number_on_either_side_matches_pytorch(name, number, x):
    ours = BINARY[name][0]
    plain = float(number)
    for engine, reference in [(lambda v: ours(v, number), lambda t: ours(t, plain)),
                              (lambda v: ours(number, v), lambda t: ours(plain, t))]:
        a = Value(x)
        out = engine(a)
        assert isinstance(out, Value)
        out.backward()
        t = t64(x)
        tout = reference(t)
        (grad,) = torch.autograd.grad(tout, t)
        close(out.data, tout.detach())
        close(a.grad, grad)


def test_reflected_operations_keep_the_order():
    a = Value(4.0)
    assert (2 - a).data == -2.0 and (a - 2).data == 2.0
    assert (2 / a).data == 0.5 and (a / 2).data == 2.0
    assert (np.float64(2) - a).data == -2.0 and (np.float64(2) / a).data == 0.5
    out = 2 / a
    out.backward()
    assert a.grad == -2 / 16


def test_python_sum_of_values():
    xs = [Value(1.5), Value(-2.0), Value(4.0)]
    total = sum(x * x for x in xs)  # starts from the int 0
    total.backward()
    assert isinstance(total, Value) and total.data == 1.5**2 + 4.0 + 16.0
    assert [x.grad for x in xs] == [3.0, -4.0, 8.0]


def test_numpy_scalars_defer_to_value():
    a = Value(3.0)
    for out in (np.float64(2) * a, np.float64(2) + a, np.float32(2) * a, np.int64(2) * a):
        assert isinstance(out, Value)
    out = np.float64(2) * a
    out.backward()
    assert a.grad == 2.0


def test_relu_derivative_at_zero_is_zero_like_pytorch():
    for x in (0.0, -0.0):
        a = Value(x)
        out = a.relu()
        out.backward()
        t = t64(x)
        (grad,) = torch.autograd.grad(torch.relu(t), t)
        assert out.data == 0.0 and a.grad == 0.0 == grad.item()
    a = Value(1e-300)
    a.relu().backward()
    assert a.grad == 1.0


@pytest.mark.parametrize("x", [-1000.0, -745.0, -40.0, 40.0, 745.0, 1000.0])
def test_sigmoid_is_stable_at_extreme_inputs(x):
    a = Value(x)
    out = a.sigmoid()
    out.backward()
    t = t64(x)
    (grad,) = torch.autograd.grad(torch.sigmoid(t), t)
    assert math.isfinite(out.data) and math.isfinite(a.grad)
    close(out.data, torch.sigmoid(t).detach(), atol=1e-300)
    close(a.grad, grad, atol=1e-300)


def test_exp_just_below_overflow_works():
    out = Value(709.0).exp()
    assert out.data == math.exp(709.0)


def test_square_root_at_zero_has_an_infinite_derivative_like_pytorch():
    a = Value(0.0)
    out = a**0.5
    out.backward()
    t = t64(0.0)
    (grad,) = torch.autograd.grad(t**0.5, t)
    assert out.data == 0.0 and a.grad == grad.item() == math.inf


@pytest.mark.parametrize("x, k", [(2.2e-313, 0), (-1e-300, 0), (1e-200, -1), (-1e-200, -1), (-1e-105, -2),
                                  (1e-105, -2), (1e-320, 0.5), (-1e-80, -3), (-1e-62, -4)])
def test_power_derivatives_too_large_for_a_float_are_infinite_like_pytorch(x, k):
    a = Value(x)
    out = a**k
    out.backward()
    t = t64(x)
    (grad,) = torch.autograd.grad(t**k, t)
    assert out.data == (t**k).item()
    assert a.grad == grad.item()


# -- random graphs with shared sub-expressions ----------------------------------------------


OPS = ["+", "-", "*", "/", "neg", "exp", "log", "tanh", "relu", "sigmoid", "**2", "**3", "**-1", "**0.5", "**1.5"]
steps = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50),
              st.sampled_from(["node", "number-right", "number-left"]), st.floats(-2, 2).filter(lambda c: abs(c) > 0.1)),
    min_size=1, max_size=14,
)


def resolve(program, leaves):
    """The program with every step kept off a bad domain (log of x < 0.05, a pole, a kink,
    huge values): log and fractional powers take a node in their domain where there is one,
    and a step that would still leave it becomes tanh of its first operand. Operands are
    indices into the nodes made so far, so nodes are reused (diamonds)."""
    values = list(leaves)
    resolved = []
    for op, i, j, kind, number in program:
        positive = [k for k, v in enumerate(values) if v > 0.05]
        if op in ("log", "**0.5", "**1.5") and positive:
            i = positive[i % len(positive)]  # keep the operation: take a node in its domain
        i, j = i % len(values), j % len(values)
        x, y = values[i], (values[j] if kind == "node" else number)
        if kind == "number-left":
            x, y = y, x
        try:
            result = {
                "+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
                "/": lambda: x / y if abs(y) > 0.1 else None,
                "neg": lambda: -values[i], "exp": lambda: math.exp(values[i]) if values[i] < 4 else None,
                "log": lambda: math.log(values[i]) if values[i] > 0.05 else None,
                "tanh": lambda: math.tanh(values[i]),
                "relu": lambda: max(values[i], 0.0) if abs(values[i]) > 1e-6 else None,
                "sigmoid": lambda: 1 / (1 + math.exp(-values[i])),
                "**2": lambda: values[i] ** 2, "**3": lambda: values[i] ** 3,
                "**-1": lambda: values[i] ** -1 if abs(values[i]) > 0.1 else None,
                "**0.5": lambda: values[i] ** 0.5 if values[i] > 0.05 else None,
                "**1.5": lambda: values[i] ** 1.5 if values[i] > 0.05 else None,
            }[op]()
        except OverflowError:
            result = None
        if result is None or abs(result) > 1e3:
            op, kind, result = "tanh", "node", math.tanh(values[i])
        resolved.append((op, i, j, kind, number))
        values.append(result)
    return resolved


def build(resolved, leaves):
    """Run the resolved program on ``leaves`` (Values or tensors); returns every node."""
    nodes = list(leaves)
    for op, i, j, kind, number in resolved:
        x = nodes[i]
        if op in "+-*/":
            y = nodes[j] if kind == "node" else number
            a, b = (y, x) if kind == "number-left" else (x, y)
            out = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[op]()
        elif op == "neg":
            out = -x
        elif op.startswith("**"):
            out = x ** float(op[2:]) if "." in op else x ** int(op[2:])
        elif isinstance(x, Value):
            out = getattr(x, op)()
        else:
            out = getattr(torch, op)(x)
        nodes.append(out)
    return nodes


@examples(80)
@given(leaves=st.lists(st.floats(-2, 2), min_size=1, max_size=4), program=steps, n_outputs=st.integers(1, 3))
def test_random_graphs_with_shared_nodes_match_pytorch(leaves, program, n_outputs):
    resolved = resolve(program, leaves)
    values = [Value(x) for x in leaves]
    nodes = build(resolved, values)
    out = sum(nodes[-n_outputs:], Value(0.0)) if n_outputs > 1 else nodes[-1]
    tensors = [t64(x) for x in leaves]
    tnodes = build(resolved, tensors)
    for t in tnodes[len(leaves):]:
        t.retain_grad()
    tout = sum(tnodes[-n_outputs:], torch.tensor(0.0, dtype=torch.float64)) if n_outputs > 1 else tnodes[-1]
    tout.backward(retain_graph=True)

    out.backward()
    data = [n.data for n in nodes]
    np.testing.assert_allclose(data, [t.item() for t in tnodes], rtol=1e-10, atol=1e-12)
    grads = np.array([n.grad for n in nodes])
    expected = np.array([0.0 if t.grad is None else t.grad.item() for t in tnodes])
    tol = dict(rtol=1e-9, atol=1e-10 * (1 + np.max(np.abs(expected))))
    np.testing.assert_allclose(grads, expected, **tol)  # leaves and intermediates alike

    # A second pass: leaves accumulate (as PyTorch's leaves do), intermediates hold one pass's gradient.
    out.backward()
    tout.backward()
    n = len(leaves)
    np.testing.assert_allclose([v.grad for v in values], [0.0 if t.grad is None else t.grad.item() for t in tensors], **tol)
    np.testing.assert_allclose(grads[:n] * 2, [v.grad for v in values], **tol)
    np.testing.assert_allclose([v.grad for v in nodes[n:]], expected[n:], **tol)


def test_a_node_used_twice_gets_the_sum_of_its_gradients():
    a = Value(3.0)
    for f, da in [(lambda a: a * a, 6.0), (lambda a: a + a, 2.0), (lambda a: a - a, 0.0), (lambda a: a / a, 0.0),
                  (lambda a: a * a * a, 27.0), (lambda a: (a + 1) * (a + 1), 8.0)]:
        a.grad = 0.0
        f(a).backward()
        assert a.grad == pytest.approx(da, abs=1e-15)


def test_diamond_shared_intermediate():
    a, b = Value(0.5), Value(-1.5)
    h = a * b  # used by three parents
    out = h.tanh() * h + h.exp() - h
    out.backward()
    ta, tb = t64(0.5), t64(-1.5)
    th = ta * tb
    th.retain_grad()
    tout = th.tanh() * th + th.exp() - th
    tout.backward()
    close(out.data, tout.detach())
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)
    close(h.grad, th.grad)


def test_backward_twice_doubles_leaves_like_pytorch_retain_graph_and_does_not_leak():
    a, b = Value(0.3), Value(-0.8)
    h = a * b + a  # a reused intermediate
    out = (h * h).tanh() + h.sigmoid() * b
    ta, tb = t64(0.3), t64(-0.8)
    th = ta * tb + ta
    tout = (th * th).tanh() + th.sigmoid() * tb
    out.backward()
    once = (a.grad, b.grad, h.grad, out.grad)
    (tga, tgb, tgh) = torch.autograd.grad(tout, (ta, tb, th), retain_graph=True)
    close(a.grad, tga)
    close(b.grad, tgb)
    close(h.grad, tgh)
    tout.backward(retain_graph=True)
    tout.backward()
    out.backward()
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)
    close(a.grad, 2 * once[0])
    close(b.grad, 2 * once[1])
    assert (h.grad, out.grad) == (once[2], 1.0)  # intermediates hold this pass's gradient only
    out.backward()
    close(a.grad, 3 * once[0])


def test_zeroing_the_leaves_restarts_accumulation():
    a, b = Value(1.2), Value(0.4)
    out = (a * b).tanh() + a
    out.backward()
    once = (a.grad, b.grad)
    out.backward()
    for p in (a, b):
        p.grad = 0.0
    out.backward()
    assert (a.grad, b.grad) == once


def test_backward_of_a_leaf_accumulates_like_pytorch():
    a = Value(5.0)
    a.backward()
    assert a.grad == 1.0
    a.backward()
    assert a.grad == 2.0


def test_backward_of_an_intermediate_node():
    a = Value(2.0)
    h = a * 3
    out = h * h
    out.backward()
    assert (a.grad, h.grad) == (36.0, 12.0)
    h.backward()  # h is an intermediate of this call: reset to 1, then its children
    assert (a.grad, h.grad) == (39.0, 1.0)


def test_a_chain_of_50000_nodes_needs_no_recursion_and_is_fast():
    a = Value(1.0)
    y = a
    start = time.perf_counter()
    for _ in range(50_000):
        y = y * 1.00001
    y.backward()
    elapsed = time.perf_counter() - start
    assert len(y.topological_order()) == 100_001  # the chain and the constants
    assert a.grad == pytest.approx(1.00001**50_000, rel=1e-9)
    assert y.data == pytest.approx(1.00001**50_000, rel=1e-9)
    assert sys.getrecursionlimit() < 50_000
    assert elapsed < 5.0, f"50,000 multiplications and one backward took {elapsed:.1f}s"


def test_topological_order_children_first_each_once():
    a, b = Value(1.0), Value(2.0)
    h = a * b
    out = (h + a) * (h - b)
    order = topological_order(out)
    assert order == out.topological_order()
    assert len(order) == len(set(order)) == 6
    position = {node: index for index, node in enumerate(order)}
    for node in order:
        for child in node._prev:
            assert position[child] < position[node]
    assert order[-1] is out
    assert Value(3.0).topological_order()[0].data == 3.0


def test_topological_order_is_deterministic():
    def graph():
        a, b = Value(1.0, label="a"), Value(2.0, label="b")
        h = a * b
        return (h + a).tanh() * (h - b) + a.exp()

    orders = [[(n.data, n._op, n.label) for n in graph().topological_order()] for _ in range(2)]
    assert orders[0] == orders[1]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, name", [("1.0", "str"), (True, "bool"), (np.bool_(False), "bool"), (1j, "complex"),
                                       (np.array(1.0), "ndarray"), (np.array([1.0]), "ndarray"), ([1.0], "list"),
                                       (None, "NoneType"), (Value(1.0), "Value")])
def test_value_rejects_what_is_not_a_real_number(bad, name):
    with pytest.raises(TypeError, match=re.escape(f"Value needs a real number (an int or a float), got {name}")):
        Value(bad)


def test_value_rejects_bad_children_and_labels():
    with pytest.raises(TypeError, match="Value: every child must be a Value, got float"):
        Value(1.0, (Value(2.0), 3.0))
    with pytest.raises(TypeError, match="_op and label must be strings"):
        Value(1.0, label=3)


OPERATORS = {
    "+": [lambda a, o: a + o, lambda a, o: o + a],
    "-": [lambda a, o: a - o, lambda a, o: o - a],
    "*": [lambda a, o: a * o, lambda a, o: o * a],
    "/": [lambda a, o: a / o, lambda a, o: o / a],
}


@pytest.mark.parametrize("symbol", list(OPERATORS))
@pytest.mark.parametrize("bad, name", [("x", "str"), ([1.0], "list"), (np.array([1.0, 2.0]), "ndarray"),
                                       (np.array(2.0), "ndarray"), (None, "NoneType"), (1j, "complex"), (True, "bool")])
def test_operators_reject_what_is_not_a_value_or_a_real_number(symbol, bad, name):
    a = Value(2.0)
    a.grad = 0.5
    before = state(a)
    for operator in OPERATORS[symbol]:
        with pytest.raises(TypeError, match=re.escape(f"Value supports {symbol} with a Value or a real number, got {name}")):
            operator(a, bad)
    assert state(a) == before


@pytest.mark.parametrize("exponent", [Value(2.0), "2", None, True])
def test_power_accepts_only_number_exponents(exponent):
    a = Value(2.0)
    with pytest.raises(TypeError, match="Value supports \\*\\* only with a number exponent"):
        a**exponent
    assert state(a) == [(2.0, 0.0, (), "", "")]


def test_a_number_raised_to_a_value_is_a_clear_error():
    with pytest.raises(TypeError, match="only with a number exponent, got a Value exponent"):
        2**Value(3.0)


@pytest.mark.parametrize("exponent", [-1, -0.5, -2.0])
def test_zero_to_a_negative_power(exponent):
    with pytest.raises(ZeroDivisionError, match=re.escape(f"0.0 cannot be raised to a negative power ({exponent!r})")):
        Value(0.0) ** exponent


def test_negative_base_with_a_fractional_exponent():
    with pytest.raises(ValueError, match=re.escape("(-8.0) ** 0.5 is not a real number")):
        Value(-8.0) ** 0.5
    assert (Value(-2.0) ** 2.0).data == 4.0 and (Value(-2.0) ** 3).data == -8.0


@pytest.mark.parametrize("exponent", [math.inf, -math.inf, math.nan])
def test_power_needs_a_finite_exponent(exponent):
    with pytest.raises(ValueError, match="needs a finite exponent"):
        Value(2.0) ** exponent


def test_power_overflow():
    with pytest.raises(OverflowError, match=re.escape("(10.0) ** 400 is too large for a float")):
        Value(10.0) ** 400


@pytest.mark.parametrize("x", [0.0, -0.0, -1.0, -1e-300])
def test_log_needs_a_positive_number(x):
    a = Value(x)
    with pytest.raises(ValueError, match=re.escape(f"log needs a positive number, got log({x!r})")):
        a.log()
    assert state(a) == [(x, 0.0, (), "", "")]


@pytest.mark.parametrize("x", [710.0, 1e5])
def test_exp_overflow_is_an_error(x):
    with pytest.raises(OverflowError, match=re.escape(f"exp({x!r}) is too large for a float")):
        Value(x).exp()


def test_division_by_zero():
    for make in (lambda: Value(1.0) / 0, lambda: 1 / Value(0.0), lambda: Value(1.0) / Value(-0.0)):
        with pytest.raises(ZeroDivisionError, match="Value division by zero"):
            make()


def test_topological_order_needs_a_value():
    with pytest.raises(TypeError, match="topological_order needs a Value, got float"):
        topological_order(1.0)


def test_a_value_of_another_class_is_named_as_such():
    class Value:  # a learner's own engine, as a chapter builds one
        def __init__(self, data):
            self.data = data

    from mlp_course.autograd import engine

    foreign = Value(1.0)
    with pytest.raises(TypeError, match=r"got a Value of another class \(.*Value\); do not mix it with mlp_course"):
        engine.Value(2.0, (foreign,), "sin")
    with pytest.raises(TypeError, match="a Value of another class"):
        engine.Value(2.0) + foreign
