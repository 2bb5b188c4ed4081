"""The checks of chapter 7 (mlp_course.exercises.ch07): the reference answers pass, the untouched
stubs wait for an answer, the plausible mistakes are rejected with a hint that names them, every
correct form the chapter teaches passes, and an answer that calls a referee or PyTorch fails.

The reference answers are written here, as the chapter's solutions write them, not taken from the
notebook; the depth exercise builds on the chapter's topological order, copied here too.
"""
from __future__ import annotations

import math
import sys
from collections import deque

import numpy as np
import pytest

from mlp_course.autograd import Value
from mlp_course.exercises import CheckResult, NotAnswered, RefereeCalled, WrongAnswer, check, get, grade, keys
from mlp_course.exercises import ch07

SIN, DEPTH, CE = "ch07-ex-sin", "ch07-ex-depth", "ch07-ex-cross-entropy"
TICK = "\u2713"
NOT_WRITTEN = ("{} is not answered yet: replace `raise NotImplementedError` in the cell above with your code "
               "and run this cell again.\n")


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch07") == [CE, DEPTH, SIN]
    assert [get(key).points for key in (SIN, DEPTH, CE)] == [2, 2, 3]


# --------------------------------------------------------------------------
# Reference answers (as in the notebook's solutions) and stubs
# --------------------------------------------------------------------------


def sin(x):
    """sin(x) for a Value x: a new Value whose _backward passes the gradient on to x."""
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():
        x.grad += math.cos(x.data) * out.grad

    out._backward = _backward
    return out


def topological_order(root):
    """The chapter's topological order: children before parents, with an explicit stack."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_placed = stack.pop()
        if children_placed:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    return order


def depth(root):
    """The number of operations on the longest path from a leaf to root (a leaf alone: 0)."""
    depths = {}
    for node in topological_order(root):
        depths[node] = 1 + max(depths[child] for child in node._prev) if node._prev else 0
    return depths[root]


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy of N rows of K logits (Values) against N class indices: a Value."""
    losses = []
    for row, label in zip(logits, labels):
        c = max(z.data for z in row)                     # a constant: it changes no gradient
        losses.append((c - row[label]) + sum((z - c).exp() for z in row).log())
    return sum(losses) / len(losses)


def sin_stub(x):
    """sin(x) for a Value x: a new Value whose _backward passes the gradient on to x."""
    raise NotImplementedError("replace this line with your code")


def depth_stub(root):
    """The number of operations on the longest path from a leaf to root (a leaf alone: 0)."""
    raise NotImplementedError("replace this line with your code")


def cross_entropy_stub(logits, labels):
    """Mean softmax cross-entropy of N rows of K logits (Values) against N class indices: a Value."""
    raise NotImplementedError("replace this line with your code")


REFERENCES = {SIN: (sin, "sin", 6), DEPTH: (depth, "depth", 8), CE: (cross_entropy, "cross_entropy", 7)}
STUBS = {SIN: sin_stub, DEPTH: depth_stub, CE: cross_entropy_stub}


@pytest.mark.parametrize("key", [SIN, DEPTH, CE])
def test_the_reference_answer_passes(key, capsys):
    answer, name, n_cases = REFERENCES[key]
    result = check(key, answer)
    assert isinstance(result, CheckResult) and bool(result) is True
    assert capsys.readouterr().out == f"{TICK} {name} passes all {n_cases} test cases.\n"


@pytest.mark.parametrize("key", [SIN, DEPTH, CE])
def test_the_untouched_stub_is_not_answered_yet(key, capsys):
    result = check(key, STUBS[key])
    assert isinstance(result, CheckResult) and bool(result) is False
    assert capsys.readouterr().out == NOT_WRITTEN.format(REFERENCES[key][1])


@pytest.mark.parametrize("key", [SIN, DEPTH, CE])
def test_a_placeholder_none_is_not_answered_yet(key, capsys):
    result = check(key, None)
    assert isinstance(result, CheckResult) and bool(result) is False
    assert "is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("key", [SIN, DEPTH, CE])
def test_an_answer_that_is_not_a_function_is_wrong(key):
    with pytest.raises(WrongAnswer, match="should be a function"):
        check(key, 3.0)


@pytest.mark.parametrize("key", [SIN, DEPTH, CE])
def test_grade_passes_the_reference_and_fails_the_stub(key, capsys):
    grade(key, REFERENCES[key][0])
    with pytest.raises(NotAnswered):
        grade(key, STUBS[key])


def test_check_wants_exactly_one_answer():
    with pytest.raises(TypeError, match="takes 1 answer"):
        check(SIN, sin, sin)


# --------------------------------------------------------------------------
# The referees agree with each other and the cases are what the chapter promises
# --------------------------------------------------------------------------


def test_the_sin_referees_agree():
    for (case,), expected in ch07.sin_cases()[0]:
        np.testing.assert_allclose(expected, ch07.sin_by_finite_differences(case), rtol=1e-6, atol=1e-8)


def test_the_cross_entropy_referees_agree():
    for (case,), (loss, gradient) in ch07.cross_entropy_cases()[0]:
        by_numpy = ch07.cross_entropy_by_numpy(case)
        np.testing.assert_allclose(loss, by_numpy[0], rtol=1e-12)
        np.testing.assert_allclose(gradient, by_numpy[1], rtol=1e-9, atol=1e-15)


def test_the_depth_referee_agrees_with_a_walk_over_the_packages_order():
    for (case,), expected in ch07.depth_cases()[0]:
        assert expected == depth(case.root)
        depths = {}
        for node in case.root.topological_order():
            depths[node] = 1 + max(depths[c] for c in node._prev) if node._prev else 0
        assert depths[case.root] == expected


def test_the_cases_catch_what_they_are_for():
    texts = [case.text for (case,), _ in ch07.sin_cases()[0]]
    assert "y = sin(x) x" in texts and "y = 3 sin(x)" in texts           # x used twice; upstream not 1
    depths = [expected for _, expected in ch07.depth_cases()[0]]
    assert depths[0] == 0 and max(depths) > 2_000                          # a leaf; deeper than any default limit
    extreme = [case for (case,), _ in ch07.cross_entropy_cases()[0] if case.extreme]
    assert extreme and extreme[0].logits.max() == 800 and extreme[0].logits.min() <= -800
    assert any(row.max() <= -800 for row in extreme[0].logits)             # a row far below the batch's max
    huge = [case for (case,), _ in ch07.cross_entropy_cases()[0] if case.logits.max() >= 1e20]
    assert huge and 1e20 + math.log(3) == 1e20                             # chapter 4's row: c + log 3 is c


def test_the_huge_logits_are_where_the_order_matters():
    (case,), (loss, _) = [pair for pair in ch07.cross_entropy_cases()[0] if pair[0][0].logits.max() >= 1e20][0]
    np.testing.assert_allclose(loss, (math.log(3) + 64 + math.log(2 + math.exp(-64))) / 2, rtol=1e-12)
    assert ce_variant(lse_first=True)([[Value(z) for z in row] for row in case.logits], case.labels).data == 32


def test_the_cases_are_deterministic():
    for make in (ch07.sin_cases, ch07.cross_entropy_cases, ch07.depth_cases):
        (first, names), (again, names_again) = make(), make()
        assert names == names_again
        for (_, expected), (_, expected_again) in zip(first, again):
            parts = expected if isinstance(expected, tuple) else (expected,)
            parts_again = expected_again if isinstance(expected_again, tuple) else (expected_again,)
            for part, part_again in zip(parts, parts_again, strict=True):
                np.testing.assert_array_equal(part, part_again)


# --------------------------------------------------------------------------
# ch07-ex-sin
# --------------------------------------------------------------------------


def sin_variant(forward=math.sin, grad=None, connected=True, set_backward=True, attribute="_backward"):
    """A sin whose _backward runs grad(x, out) in place of the right update (right or wrong)."""
    grad = grad or (lambda x, out: setattr(x, "grad", x.grad + math.cos(x.data) * out.grad))

    def answer(x):
        out = Value(forward(x.data), (x,) if connected else (), "sin")
        if set_backward:
            setattr(out, attribute, lambda: grad(x, out))
        return out

    return answer


def _captured_upstream(x):
    out = Value(math.sin(x.data), (x,), "sin")
    upstream = out.grad                                   # 0.0 now: read too early

    def _backward():
        x.grad += math.cos(x.data) * upstream

    out._backward = _backward
    return out


def _backward_called(x):
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():
        x.grad += math.cos(x.data) * out.grad

    out._backward = _backward()                          # called: None is stored
    return out


SIN_WRONG = {
    "= instead of +=": (sin_variant(grad=lambda x, out: setattr(x, "grad", math.cos(x.data) * out.grad)),
                        "overwrites what the other uses of x"),
    "no upstream gradient": (sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad + math.cos(x.data))),
                             "not multiplied by out.grad"),
    "wrong sign": (sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad - math.cos(x.data) * out.grad)),
                   "sign of the derivative is flipped"),
    "derivative sin": (sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad + math.sin(x.data) * out.grad)),
                       "is cos\\(x\\), not sin\\(x\\)"),
    "derivative -sin": (sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad - math.sin(x.data) * out.grad)),
                        "derivative of cos\\(x\\)"),
    "cos at the output": (sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad + math.cos(out.data) * out.grad)),
                          "evaluated at the output"),
    "no children": (sin_variant(connected=False), "no gradient reaches x through sin"),
    "no _backward": (sin_variant(set_backward=False), "no gradient reaches x through sin"),
    "out.backward instead of out._backward": (sin_variant(attribute="backward"), "with the underscore"),
    "out.grad read when sin is called": (_captured_upstream, "not copy it when sin is called"),
    "into out.grad": (sin_variant(grad=lambda x, out: setattr(out, "grad", out.grad + math.cos(x.data))),
                      "no gradient reaches x through sin"),
    "cos forward": (sin_variant(forward=math.cos), "should be math.sin\\(x.data\\)"),
    "out._backward = _backward()": (_backward_called, "is None, not a function.*without parentheses"),
}


@pytest.mark.parametrize("name", SIN_WRONG)
def test_sin_mistakes_are_rejected_with_their_hint(name):
    answer, hint = SIN_WRONG[name]
    with pytest.raises(WrongAnswer, match=hint):
        check(SIN, answer)


def test_sin_must_return_a_package_value():
    with pytest.raises(WrongAnswer, match="should return a Value .* got float"):
        check(SIN, lambda x: math.sin(x.data))
    with pytest.raises(WrongAnswer, match="forget the `return out`"):
        check(SIN, lambda x: None)

    class OtherValue:                                    # like the chapter's teaching class
        def __init__(self, data, _children=(), _op=""):
            self.data, self.grad, self._prev, self._op = data, 0.0, _children, _op
            self._backward = lambda: None

    with pytest.raises(WrongAnswer, match="not the package's Value"):
        check(SIN, lambda x: OtherValue(math.sin(x.data), (x,), "sin"))


@pytest.mark.parametrize("correct", [
    sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad + np.cos(x.data) * out.grad)),
    sin_variant(grad=lambda x, out: setattr(x, "grad", x.grad + out.grad * math.cos(x.data))),
    sin_variant(forward=np.sin),
])
def test_sin_correct_forms_pass(correct, capsys):
    assert check(SIN, correct)


def test_sin_with_the_derivative_computed_when_sin_is_called_passes():
    def sin_early(x):
        local = math.cos(x.data)                       # fine: x.data does not change
        out = Value(math.sin(x.data), (x,), "sin")

        def _backward():
            x.grad += local * out.grad

        out._backward = _backward
        return out

    assert check(SIN, sin_early)


def test_sin_calling_pytorch_or_a_referee_fails():
    import torch

    def by_torch(x):
        t = torch.tensor(x.data, requires_grad=True)
        out = Value(torch.sin(t).item(), (x,), "sin")
        out._backward = lambda: setattr(x, "grad", x.grad + math.cos(x.data) * out.grad)
        return out

    with pytest.raises(RefereeCalled, match="calls torch.* with the engine's operations"):
        check(SIN, by_torch)

    case = ch07.sin_cases()[0][0][0][0]

    def by_referee(x):
        ch07.sin_by_finite_differences(case)
        return sin(x)

    with pytest.raises(RefereeCalled, match="reference `sin_by_finite_differences`"):
        check(SIN, by_referee)


def test_sin_that_is_the_packages_own_code_is_refused():
    with pytest.raises(RefereeCalled, match="course's own code"):
        check(SIN, ch07._sin_with())


def test_an_error_in_the_learners_sin_is_theirs():
    def broken(x):
        return Value(math.sin(x.data), [x, None], "sin")     # a child that is not a Value

    with pytest.raises(TypeError, match="every child must be a Value"):
        check(SIN, broken)


# --------------------------------------------------------------------------
# ch07-ex-depth
# --------------------------------------------------------------------------


def depth_variant(leaf=0, combine=max, children=lambda node: node._prev):
    def answer(root):
        depths = {}
        for node in topological_order(root):
            kids = children(node)
            depths[node] = 1 + combine(depths[c] for c in kids) if kids else leaf
        return depths[root]

    return answer


def depth_recursive(root):
    return 1 + max(depth_recursive(child) for child in root._prev) if root._prev else 0


def depth_recursive_raised_limit(root):
    """Recursion after raising the limit, which it leaves raised."""
    sys.setrecursionlimit(20_000)
    return depth_recursive(root)


def depth_memoised_recursion(root):
    memo = {}

    def visit(node):
        if node not in memo:
            memo[node] = 1 + max(visit(child) for child in node._prev) if node._prev else 0
        return memo[node]

    return visit(root)


def depth_memoised_raised_limit(root):
    sys.setrecursionlimit(20_000)
    return depth_memoised_recursion(root)


def depth_recursive_raised_and_restored(root):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    try:
        return depth_memoised_recursion(root)
    finally:
        sys.setrecursionlimit(old)


def depth_breadth_first(root):
    """The level at which a breadth-first walk from the root first sees each node: shortest paths."""
    level, queue = {root: 0}, deque([root])
    while queue:
        node = queue.popleft()
        for child in node._prev:
            if child not in level:
                level[child] = level[node] + 1
                queue.append(child)
    return max(level.values())


def depth_at_first_visit(root):
    """A depth-first walk with a visited set that records a node's depth when it first sees it."""
    best, seen, stack = 0, set(), [(root, 0)]
    while stack:
        node, k = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        best = max(best, k)
        stack.extend((child, k + 1) for child in node._prev)
    return best


def depth_first_assignment_wins(root):
    """Distance from the root, parents first, but the first distance found is kept."""
    distance = {root: 0}
    for node in reversed(topological_order(root)):
        for child in node._prev:
            distance.setdefault(child, distance[node] + 1)
    return max(distance.values())


def depth_parents_first(root):
    """The chapter's recipe, but walking the order backwards: children are not done yet."""
    depths = {}
    for node in reversed(topological_order(root)):
        depths[node] = 1 + max((depths.get(child, 0) for child in node._prev), default=-1)
    return depths[root]


DEPTH_WRONG = {
    "counts Values": (depth_variant(leaf=1), "counts the Values on the longest path"),
    "min": (depth_variant(combine=min), "shortest path"),
    "sum": (depth_variant(combine=sum), "adds up the depths of the children"),
    "first child only": (depth_variant(children=lambda node: node._prev[:1]), "only the first child"),
    "last child only": (lambda root: depth_variant(children=lambda node: node._prev[-1:])(root),
                        "only the last child"),
    "number of Values": (lambda root: len(topological_order(root)), "number of Values in the graph"),
    "recursive, limit raised": (depth_recursive_raised_limit, "is recursive: depth_recursive\\(\\) ran .* calls deep"
                                ".*without recursion"),
    "recursive, limit raised and restored": (depth_recursive_raised_and_restored, "is recursive.*without recursion"),
    "memoised recursion": (depth_memoised_recursion, "without recursion"),
    "memoised recursion, limit raised": (depth_memoised_raised_limit, "is recursive: visit\\(\\) ran .* calls deep"),
    "breadth-first levels": (depth_breadth_first, "recorded the first time the walk reaches it"),
    "depth at the first visit": (depth_at_first_visit, "recorded the first time the walk reaches it"),
    "first assignment wins": (depth_first_assignment_wins, "recorded the first time the walk reaches it"),
    "parents first": (depth_parents_first, "visited parents first"),
}


@pytest.mark.parametrize("name", DEPTH_WRONG)
def test_depth_mistakes_are_rejected_with_their_hint(name):
    answer, hint = DEPTH_WRONG[name]
    with pytest.raises(WrongAnswer, match=hint):
        check(DEPTH, answer)


def test_the_recursion_message_says_why():
    with pytest.raises(WrongAnswer, match="RecursionError.*without recursion.*nested calls.*explicit stack"):
        check(DEPTH, depth_recursive)


@pytest.mark.parametrize("answer", [depth_memoised_raised_limit, depth_recursive_raised_and_restored])
def test_a_raised_recursion_limit_is_restored_and_fails_again(answer):
    limit = sys.getrecursionlimit()
    for _ in range(2):                                   # the second run finds the limit as it was
        with pytest.raises(WrongAnswer, match="without recursion"):
            check(DEPTH, answer)
        assert sys.getrecursionlimit() == limit
    with pytest.raises(WrongAnswer, match="without recursion"):
        check(DEPTH, depth_memoised_recursion)           # after them, plain recursion still fails


def test_the_check_leaves_the_profiler_as_it_found_it():
    before = sys.getprofile()
    check(DEPTH, depth)
    with pytest.raises(WrongAnswer):
        check(DEPTH, depth_memoised_raised_limit)
    assert sys.getprofile() is before


def test_a_whole_number_gets_no_generic_factor_hint():
    with pytest.raises(WrongAnswer) as wrong:
        check(DEPTH, depth_parents_first)                 # result 1, expected 3
    assert "times the expected value" not in str(wrong.value)
    assert "result is 1, expected 3" in str(wrong.value)


def depth_with_own_stack(root):
    """Longest path with an explicit stack of its own, without any topological order."""
    depths, stack = {}, [root]
    while stack:
        node = stack[-1]
        if node in depths:
            stack.pop()
            continue
        waiting = [child for child in node._prev if child not in depths]
        if waiting:
            stack.extend(waiting)
        else:
            depths[node] = 1 + max(depths[c] for c in node._prev) if node._prev else 0
            stack.pop()
    return depths[root]


def depth_with_the_packages_order(root):
    depths = {}
    for node in root.topological_order():
        depths[id(node)] = max((depths[id(c)] + 1 for c in node._prev), default=0)
    return depths[id(root)]


def depth_longest_from_the_root(root):
    """The longest distance from the root down to each node, parents first, then the largest."""
    distance = {root: 0}
    for node in reversed(topological_order(root)):
        for child in node._prev:
            distance[child] = max(distance.get(child, 0), distance[node] + 1)
    return max(distance.values())


def depth_with_a_shallow_helper(root):
    """A helper function called once per node, not nested: no recursion."""
    depths = {}

    def place(node):
        depths[node] = 1 + max(depths[c] for c in node._prev) if node._prev else 0

    for node in topological_order(root):
        place(node)
    return depths[root]


@pytest.mark.parametrize("correct", [depth_with_own_stack, depth_with_the_packages_order, depth_longest_from_the_root,
                                     depth_with_a_shallow_helper])
def test_depth_correct_forms_pass(correct, capsys):
    assert check(DEPTH, correct)


def test_depth_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference `depth_by_walk`"):
        check(DEPTH, lambda root: ch07.depth_by_walk(root))


def test_depth_that_is_the_packages_own_code_is_refused():
    with pytest.raises(RefereeCalled, match="course's own code"):
        check(DEPTH, ch07.depth_by_walk.__wrapped__)


# --------------------------------------------------------------------------
# ch07-ex-cross-entropy
# --------------------------------------------------------------------------


def ce_variant(shift=True, add_back=True, reduce="mean", sign=1.0, target=None, lse_first=False, batch_max=False):
    """A cross_entropy with one piece written another way (right or wrong)."""

    def answer(logits, labels):
        losses = []
        batch_c = max(z.data for row in logits for z in row)
        for row, label in zip(logits, labels):
            c = batch_c if batch_max else max(z.data for z in row) if shift else 0.0
            log_sum = sum((z - c).exp() for z in row).log()
            k = label if target is None else target(row, label)
            put_back = c if add_back else 0.0
            if lse_first:                                  # the log-sum-exp first, minus the label's logit after
                losses.append(sign * ((put_back + log_sum) - row[k]))
            else:
                losses.append(sign * ((put_back - row[k]) + log_sum))
        total = sum(losses)
        return {"mean": total / len(losses), "sum": total, "all": total / (len(losses) * len(logits[0]))}[reduce]

    return answer


def ce_lse_first_max_as_a_value(logits, labels):
    total = 0
    for row, label in zip(logits, labels):
        c = max(row, key=lambda z: z.data)
        total = total + (c + sum((z - c).exp() for z in row).log() - row[label])
    return total * (1 / len(labels))


def ce_lse_first_loops(logits, labels):
    out = Value(0.0)
    for row, label in zip(logits, labels):
        c = max(z.data for z in row)
        s = Value(0.0)
        for z in row:
            s = s + (z - c).exp()
        out = out + (s.log() + c - row[label]) / len(logits)
    return out


def ce_shift_by_label(logits, labels):
    losses = []
    for row, label in zip(logits, labels):
        c = row[label].data
        losses.append((c - row[label]) + sum((z - c).exp() for z in row).log())
    return sum(losses) / len(losses)


def ce_own_node(logits, labels):
    """The loss and (P - Y) / N in NumPy, in one hand-made node: not the engine's operations."""
    Z = np.array([[z.data for z in row] for row in logits])
    N = len(labels)
    c = Z.max(axis=1, keepdims=True)
    log_P = (Z - c) - np.log(np.exp(Z - c).sum(axis=1, keepdims=True))
    Y = np.zeros_like(Z)
    Y[np.arange(N), labels] = 1.0
    G = (np.exp(log_P) - Y) / N
    flat = [z for row in logits for z in row]
    out = Value(float(-log_P[np.arange(N), labels].mean()), flat, "ce")

    def _backward():
        for z, g in zip(flat, G.ravel()):
            z.grad += g * out.grad

    out._backward = _backward
    return out


def ce_log_of_probability(logits, labels):
    losses = []
    for row, label in zip(logits, labels):
        m = max(z.data for z in row)
        e = [(z - m).exp() for z in row]
        losses.append(-(e[label] / sum(e)).log())
    return sum(losses) / len(losses)


CE_WRONG = {
    "sum": (ce_variant(reduce="sum"), "summed: the loss is their mean"),
    "divided by N K": (ce_variant(reduce="all"), "divided by N K"),
    "sign": (ce_variant(sign=-1.0), "the sign is flipped"),
    "max not added back": (ce_variant(add_back=False), "not put back"),
    "predicted class": (ce_variant(target=lambda row, label: max(range(len(row)), key=lambda k: row[k].data)),
                        "the predicted class"),
    "no max subtracted": (ce_variant(shift=False), "raised OverflowError.*log-softmax"),
    "log of a probability": (ce_log_of_probability, "raised ValueError.*rounds to 0"),
    "a float": (lambda logits, labels: ce_variant()(logits, labels).data, "should return a Value"),
    "log-sum-exp first (the old reference)": (ce_variant(lse_first=True), "log-sum-exp is computed first.*16,384"),
    "log-sum-exp first, c a Value, times 1/N": (ce_lse_first_max_as_a_value, "log-sum-exp is computed first"),
    "log-sum-exp first, each term divided by N": (ce_lse_first_loops, "log-sum-exp is computed first"),
    "one c for the whole batch": (ce_variant(batch_max=True), "works on each of the case's rows alone.*one c for "
                                                             "the whole batch"),
    "shift by the label's logit": (ce_shift_by_label, "raised OverflowError.*log-softmax"),
    "a node of its own with (P - Y) / N": (ce_own_node, "a node of your own \\(_op 'ce'\\).*engine's operations"),
}


@pytest.mark.parametrize("name", CE_WRONG)
def test_cross_entropy_mistakes_are_rejected_with_their_hint(name):
    answer, hint = CE_WRONG[name]
    with pytest.raises(WrongAnswer, match=hint):
        check(CE, answer)


def ce_max_as_a_value(logits, labels):
    """The largest logit kept as a Value: its gradients cancel, so the result is the same."""
    losses = []
    for row, label in zip(logits, labels):
        c = max(row, key=lambda z: z.data)
        losses.append((c - row[label]) + sum((z - c).exp() for z in row).log())
    return sum(losses) * (1 / len(losses))


def ce_log_softmax(logits, labels):
    """-log P as -((z_y - c) - log sum exp(z - c)), the log-softmax written out."""
    total = 0
    for row, label in zip(logits, labels):
        c = max(z.data for z in row)
        total = total - ((row[label] - c) - sum((z - c).exp() for z in row).log())
    return total / len(labels)


def ce_shifted_list(logits, labels):
    """The row shifted once, as chapter 4's log_softmax does: log P = shifted[y] - log sum exp(shifted)."""
    losses = []
    for row, label in zip(logits, labels):
        c = max(z.data for z in row)
        shifted = [z - c for z in row]
        losses.append(-(shifted[label] - sum(s.exp() for s in shifted).log()))
    return sum(losses) / len(losses)


def ce_loops_each_term_divided(logits, labels):
    """Explicit loops, each example's term divided by N, in chapter 4's order."""
    out = Value(0.0)
    for i, row in enumerate(logits):
        c = max(z.data for z in row)
        s = Value(0.0)
        for z in row:
            s = s + (z - c).exp()
        out = out + ((c - row[labels[i]]) + s.log()) / len(logits)
    return out


@pytest.mark.parametrize("correct", [ce_variant(), ce_max_as_a_value, ce_log_softmax, ce_shifted_list,
                                     ce_loops_each_term_divided])
def test_cross_entropy_correct_forms_pass(correct, capsys):
    assert check(CE, correct)


def test_cross_entropy_calling_pytorch_or_a_referee_fails():
    import torch

    def by_torch(logits, labels):
        torch.tensor([[z.data for z in row] for row in logits])
        return cross_entropy(logits, labels)

    with pytest.raises(RefereeCalled, match="torch"):
        check(CE, by_torch)

    case = ch07.cross_entropy_cases()[0][0][0][0]

    def by_referee(logits, labels):
        ch07.cross_entropy_by_numpy(case)
        return cross_entropy(logits, labels)

    with pytest.raises(RefereeCalled, match="reference `cross_entropy_by_numpy`"):
        check(CE, by_referee)


def test_an_error_in_an_ordinary_case_is_the_learners():
    def broken(logits, labels):
        return cross_entropy(logits, labels) + {}["missing"]

    with pytest.raises(KeyError, match="missing"):
        check(CE, broken)
