"""The checks of chapter 7's coding exercises, keyed by exercise label.

* ``ch07-ex-sin``: ``sin(x)`` adds an operation to the engine: for a Value ``x`` it returns
  ``out = Value(math.sin(x.data), (x,), "sin")`` with ``out._backward`` set.
* ``ch07-ex-depth``: ``depth(root)`` is the number of operations on the longest path from a
  leaf up to ``root`` (a leaf alone has depth 0), computed without recursion. The profiler
  watches how deeply the answer's functions nest in themselves, so a recursion that raised
  ``sys.setrecursionlimit`` fails too, and the limit is restored after every run.
* ``ch07-ex-cross-entropy``: ``cross_entropy(logits, labels)`` is the softmax cross-entropy,
  averaged over the examples, built from the engine's operations (no node with a ``_backward``
  of the answer's own) in chapter 4's stable form: logits of 800 and of 1e20 must work, and so
  must a row far below the others.

Every check builds its inputs with the package's :class:`mlp_course.autograd.Value`, so the
learner's answer receives package Values. The expected values come from referees that share
no code with an answer: PyTorch's autograd in float64 (with central finite differences or NumPy
where PyTorch is missing) and a walk over the graph written here. Each list of known mistakes
pairs a function that makes one plausible mistake with a hint that names it.

The answers of ``sin`` and ``cross_entropy`` must create Values, so they may call
``mlp_course.autograd``; so may ``depth``, which may build on a topological order. PyTorch and
the checks' own code stay forbidden.
"""

from __future__ import annotations

import math
import re
import sys
from collections import deque
from collections.abc import Callable

import numpy as np

from mlp_course.autograd import Value
from mlp_course.exercises.checks import RefereeCalled, WrongAnswer, answer_running, check_function, referee
from mlp_course.exercises.registry import exercise

__all__ = [
    "SinCase", "sin_cases", "sin_by_torch", "sin_by_finite_differences", "SIN_MISTAKES",
    "DepthCase", "depth_cases", "depth_by_walk", "DEPTH_MISTAKES",
    "cross_entropy_by_torch", "cross_entropy_by_numpy", "cross_entropy_cases", "CROSS_ENTROPY_MISTAKES",
]

#: The answers of this chapter build Values: they may call the engine.
ENGINE = ("mlp_course.autograd",)


class _Case:
    """A test case that check_function passes on as it is: deep-copying a graph of 50,000
    Values would recurse too deep, and every check builds its cases afresh."""

    def __deepcopy__(self, memo):
        return self


def _returned_value(result, function: str, where: str) -> Value:
    """``result`` if it is a package Value, else a WrongAnswer that says what came back."""
    if isinstance(result, Value):
        return result
    if result is None:
        raise WrongAnswer(f"{where}: {function} returned None. Did you forget the `return out` at the end?")
    kind = type(result)
    if hasattr(result, "data") and hasattr(result, "_backward"):
        raise WrongAnswer(
            f"{where}: {function} returned a {kind.__module__}.{kind.__qualname__}, not the package's Value. "
            f"Build it with mlp_course.autograd.Value (`from mlp_course.autograd import Value`), as the "
            f"exercises of this chapter do; the chapter's own teaching version is another class."
        )
    raise WrongAnswer(
        f"{where}: {function} should return a Value (mlp_course.autograd.Value), got {kind.__name__}: "
        f"{result!r:.60}. A plain number has no _prev and no _backward, so no gradient can flow through it."
    )


# --------------------------------------------------------------------------
# ch07-ex-sin: a new operation
# --------------------------------------------------------------------------


class SinCase(_Case):
    """One case: an expression ``y`` of the leaves ``x`` and ``w`` that uses ``sin``."""

    def __init__(self, text: str, build: Callable, x: float, w: float, why: str) -> None:
        self.text, self.build, self.x, self.w, self.why = text, build, x, w, why

    def __repr__(self) -> str:
        return f"<{self.text}, x = {self.x:g}, w = {self.w:g}>"


#: (text, expression of (sin, x, w), x, w, what the case catches). The expressions use only
#: operations that PyTorch tensors and the engine's Values share.
SIN_EXPRESSIONS = (
    ("y = sin(x)", lambda sin, x, w: sin(x), 0.5, 1.0, "sin alone"),
    ("y = 3 sin(x)", lambda sin, x, w: 3 * sin(x), 1.2, 1.0, "an upstream gradient of 3, not 1"),
    ("y = w sin(x)", lambda sin, x, w: w * sin(x), 2.0, -1.5, "a negative upstream gradient"),
    ("y = sin(x) x", lambda sin, x, w: sin(x) * x, 0.7, 1.0, "x used twice: through sin and directly"),
    ("y = sin(x) + sin(x)", lambda sin, x, w: sin(x) + sin(x), -1.1, 1.0, "two sin nodes of the same x"),
    ("y = sin(w sin(x))", lambda sin, x, w: sin(w * sin(x)), 2.5, -1.5, "sin of sin, upstream not 1"),
)

SIN_OUTPUTS = ("y.data", "x.grad", "w.grad")


@referee
def sin_by_torch(case: SinCase) -> tuple[float, float, float]:
    """(y, dy/dx, dy/dw) of the case by PyTorch's autograd in float64."""
    import torch

    x = torch.tensor(case.x, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(case.w, dtype=torch.float64, requires_grad=True)
    y = case.build(torch.sin, x, w)
    y.backward()
    return (y.item(), x.grad.item(), 0.0 if w.grad is None else w.grad.item())


@referee
def sin_by_finite_differences(case: SinCase, h: float = 1e-6) -> tuple[float, float, float]:
    """The same by central differences of the expression evaluated on plain floats."""

    def y(x, w):
        return case.build(math.sin, x, w)

    return (y(case.x, case.w),
            (y(case.x + h, case.w) - y(case.x - h, case.w)) / (2 * h),
            (y(case.x, case.w + h) - y(case.x, case.w - h)) / (2 * h))


def sin_cases() -> tuple[list, list[str]]:
    """The test cases ((case,), expected) and their names."""
    cases, names = [], []
    for text, build, x, w, why in SIN_EXPRESSIONS:
        case = SinCase(text, build, x, w, why)
        try:
            expected = sin_by_torch(case)
        except ImportError:  # no PyTorch: finite differences referee every case
            expected = sin_by_finite_differences(case)
        cases.append(((case,), expected))
        names.append(why)
    return cases, names


def _evaluate_sin(sin: Callable, case: SinCase) -> tuple[float, float, float]:
    """Build the case's expression with ``sin``, run backward, return (y, x.grad, w.grad)."""
    x, w = Value(case.x, label="x"), Value(case.w, label="w")
    where = f"In {case.text} at x = {case.x:g}"

    def checked_sin(argument):
        out = _returned_value(sin(argument), "sin", where)
        if not callable(out._backward):
            raise WrongAnswer(
                f"{where}: out._backward is {out._backward!r:.40}, not a function. out._backward must be the "
                f"function itself: `out._backward = _backward`, without parentheses (with them, _backward runs "
                f"at once, while out.grad is still 0, and what it returns, None, is stored)."
            )
        return out

    y = case.build(checked_sin, x, w)
    y.backward()
    return (y.data, x.grad, w.grad)


def _sin_with(forward=math.sin, local=math.cos, at_output=False, overwrite=False, upstream=True,
              sign=1.0, connected=True):
    """A sin with one step done wrong: the model of one known mistake."""

    def sin(x):
        out = Value(forward(x.data), (x,) if connected else (), "sin")

        def _backward():
            derivative = sign * local(out.data if at_output else x.data) * (out.grad if upstream else 1.0)
            if overwrite:
                x.grad = derivative
            else:
                x.grad += derivative

        if connected:
            out._backward = _backward
        return out

    return sin


def _mistake(sin: Callable) -> Callable:
    return lambda case: _evaluate_sin(sin, case)


_SIN_OVERWRITES = ("x.grad = ... overwrites what the other uses of x have already put there: in "
                   "_backward, add into the child's gradient, x.grad += math.cos(x.data) * out.grad.")
_SIN_NO_UPSTREAM = ("the local derivative is not multiplied by out.grad, the gradient arriving from above "
                    "(the chain rule: upstream times local): x.grad += math.cos(x.data) * out.grad.")
_SIN_NOTHING = ("no gradient reaches x through sin. out must list x as its child, Value(math.sin(x.data), "
                "(x,), \"sin\"); out._backward (with the underscore) must add into x.grad; and it must read "
                "out.grad when it runs, during backward(), not copy it when sin is called (it is 0 then).")

#: (mistake, hint) pairs for ch07-ex-sin.
SIN_MISTAKES = (
    (_mistake(_sin_with(overwrite=True)), _SIN_OVERWRITES),
    (_mistake(_sin_with(upstream=False)), _SIN_NO_UPSTREAM),
    (_mistake(_sin_with(sign=-1.0)), "the sign of the derivative is flipped: d/dx sin(x) = +cos(x)."),
    (_mistake(_sin_with(local=math.sin)), "the local derivative of sin(x) is cos(x), not sin(x)."),
    (_mistake(_sin_with(local=lambda t: -math.sin(t))),
     "-sin(x) is the derivative of cos(x); the derivative of sin(x) is cos(x)."),
    (_mistake(_sin_with(at_output=True)),
     "cos is evaluated at the output, out.data = sin(x): evaluate it at the input, math.cos(x.data)."),
    (_mistake(_sin_with(connected=False)), _SIN_NOTHING),
    (_mistake(_sin_with(forward=math.cos)), "out.data should be math.sin(x.data), not math.cos(x.data)."),
)


@exercise("ch07-ex-sin", answers=("sin",), points=2)
def _check_sin(sin):
    if sin is None or sin is Ellipsis or not callable(sin):
        return check_function(sin, [((None,), 0.0)], name="sin")
    cases, names = sin_cases()
    return check_function(lambda case: _evaluate_sin(sin, case), cases, name="sin", mistakes=SIN_MISTAKES,
                          case_names=names, output_names=SIN_OUTPUTS, rtol=1e-9, atol=1e-12,
                          allowed_modules=ENGINE)


# --------------------------------------------------------------------------
# ch07-ex-depth: the longest path, without recursion
# --------------------------------------------------------------------------


class DepthCase(_Case):
    """One case: a graph, built once outside the answer, and its name."""

    def __init__(self, name: str, root: Value) -> None:
        self.name, self.root = name, root

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _graph_cases() -> list[DepthCase]:
    """The graphs, each with the mistake it is there to catch."""
    cases = [DepthCase("a single leaf", Value(2.0, label="a"))]

    a, w, c, t = (Value(v, label=n) for v, n in ((3.0, "a"), (-2.0, "w"), (8.5, "c"), (-0.5, "t")))
    cases.append(DepthCase("chapter 5's q = (a w + c) sigmoid(t)", (a * w + c) * t.sigmoid()))
    a, w, c, t = (Value(v, label=n) for v, n in ((3.0, "a"), (-2.0, "w"), (8.5, "c"), (-0.5, "t")))
    cases.append(DepthCase("q = sigmoid(t) (c + a w): the longest path is not the first child's",
                           t.sigmoid() * (c + a * w)))

    u, v = Value(2.0, label="u"), Value(-0.5, label="v")
    cases.append(DepthCase("g = (u v)(u + v): u and v used twice", (u * v) * (u + v)))

    x = Value(0.5, label="x")
    shortcut = (x.exp() + 1).tanh().log() * x    # x feeds the root directly and four levels down
    cases.append(DepthCase("y = log(tanh(exp(x) + 1)) x: x reaches y in 1 and in 5 steps", shortcut))

    y = Value(1.01, label="x")
    for _ in range(16):            # every level uses the one below twice: 2^16 paths to x
        y = y * y + 0.001
    cases.append(DepthCase("16 levels of y = y y + 0.001: 65,536 paths through 49 Values", y))

    weights = [Value(0.001 * (i % 7 - 3), label=f"w{i}") for i in range(1_500)]
    total = sum(weights[i] * (i % 5) for i in range(1_500))
    cases.append(DepthCase("a sum of 1,500 products, like a loss summed over 1,500 examples", total))

    y = Value(1.0, label="x")
    for _ in range(3_000):
        y = y * 1.0001
    cases.append(DepthCase("a chain of 3,000 multiplications", y))
    return cases


def _nodes(root: Value) -> list[Value]:
    """Every Value that root depends on, each once, children before parents (an explicit stack)."""
    order, placed, stack = [], set(), [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            if id(node) not in placed:
                placed.add(id(node))
                order.append(node)
        elif id(node) not in placed:
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in placed)
    return order


def _depths(root: Value, combine=max, step: int = 1, leaf: int = 0, children=lambda node: node._prev) -> int:
    """A depth-like number of root, combined over ``children`` in topological order."""
    value: dict[int, int] = {}
    for node in _nodes(root):
        kids = children(node)
        value[id(node)] = combine(value[id(child)] for child in kids) + step if kids else leaf
    return value[id(root)]


@referee
def depth_by_walk(root: Value) -> int:
    """The number of operations on the longest path from a leaf to root."""
    return _depths(root)


def depth_cases() -> tuple[list, list[str]]:
    """The test cases ((case,), expected) and their names."""
    cases = _graph_cases()
    for case in cases:
        case.depth = depth_by_walk(case.root)
    return [((case,), case.depth) for case in cases], [case.name for case in cases]


#: More nested calls of one function than this, while the answer runs, is recursion: an answer that
#: works through the nodes in an order it keeps itself never nests a function in itself, and the
#: graphs of the check are either at most 32 operations deep (cases 1 to 6) or far deeper than this
#: (1,501 and 3,000), so a recursive answer shows up, whatever the recursion limit.
NESTING_LIMIT = 200

_RECURSION = ("your depth {what}. The exercise asks for depth without recursion: a recursive function makes "
              "one nested call per level of the graph, Python allows only about {limit:,} nested calls "
              "(sys.getrecursionlimit(), 1,000 unless raised), and raising that limit only moves the failure further down: deep "
              "enough, the interpreter's own stack overflows and the kernel crashes. The graph here is "
              "{depth:,} operations deep, and a loss summed over N examples grows deeper with N. Work through "
              "the nodes without recursion, in an order you keep yourself (for example the chapter's "
              "topological_order, children before parents, or an explicit stack), storing each node's depth "
              "in a dictionary.")


class _RecursionWatch:
    """While the answer runs: how deeply each function is nested in itself, by the profiler.

    It chains to the profiler already in place (the watch of :class:`answer_running`), and on the
    way out restores the profiler and the recursion limit, which an answer may have raised.
    """

    def __init__(self) -> None:
        self.active: dict = {}      # code object -> how many of its frames are running now
        self.deepest, self.function = 0, ""

    def _profile(self, frame, event: str, arg) -> None:
        if self.previous is not None:
            self.previous(frame, event, arg)
        if event == "call":
            code = frame.f_code
            nested = self.active.get(code, 0) + 1
            self.active[code] = nested
            if nested > self.deepest:
                self.deepest, self.function = nested, code.co_name
        elif event == "return":
            code = frame.f_code
            if self.active.get(code):
                self.active[code] -= 1

    @property
    def recursed(self) -> bool:
        return self.deepest > NESTING_LIMIT

    def __enter__(self) -> "_RecursionWatch":
        self.previous, self.limit = sys.getprofile(), sys.getrecursionlimit()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        sys.setprofile(self.previous)
        if sys.getrecursionlimit() != self.limit:
            sys.setrecursionlimit(self.limit)
        return False


def _evaluate_depth(depth: Callable, case: DepthCase):
    try:
        with _RecursionWatch() as watch:
            result = depth(case.root)
    except RecursionError as error:
        what = f"hit Python's recursion limit (RecursionError: {error})"
        raise WrongAnswer(f"In {case.name}: " + _RECURSION.format(
            what=what, depth=case.depth, limit=sys.getrecursionlimit())) from None
    if watch.recursed:
        what = (f"is recursive: {watch.function}() ran {watch.deepest:,} calls deep, each call inside the one "
                f"before")
        raise WrongAnswer(f"In {case.name}: " + _RECURSION.format(
            what=what, depth=case.depth, limit=sys.getrecursionlimit()))
    return result


def _depth_mistake(**options) -> Callable:
    return lambda case: _depths(case.root, **options)


def _deepest_first_visit(root: Value) -> int:
    """The largest, over the graph's Values, of the number of steps from root down to each on the
    shortest path (a breadth-first walk): the least that recording a node's depth "the first time the
    walk reaches it" can give."""
    level, queue = {id(root): 0}, deque([root])
    while queue:
        node = queue.popleft()
        for child in node._prev:
            if id(child) not in level:
                level[id(child)] = level[id(node)] + 1
                queue.append(child)
    return max(level.values())


#: (mistake, hint) pairs for ch07-ex-depth; a hint is given when the answer agrees with the mistake on
#: every small case (see _depth_hint).
DEPTH_MISTAKES = (
    (_depth_mistake(leaf=1), "counts the Values on the longest path instead of the operations: a leaf alone "
                             "has depth 0, and each operation adds 1."),
    (_depth_mistake(combine=min), "takes the shortest path (min over the children): the depth follows the "
                                  "longest one, 1 + max over the children."),
    (_depth_mistake(combine=sum), "adds up the depths of the children: the depth is the length of the single "
                                  "longest path, 1 + max over the children."),
    (_depth_mistake(children=lambda node: node._prev[:1]),
     "follows only the first child of each node: the longest path may go through any child, so take the "
     "max over all of node._prev."),
    (_depth_mistake(children=lambda node: node._prev[-1:]),
     "follows only the last child of each node: take the max over all of node._prev."),
    (lambda case: len(_nodes(case.root)), "this is the number of Values in the graph, not the length of its "
                                          "longest path."),
    (lambda case: len(_nodes(case.root)) - 1, "this is the number of Values in the graph minus 1, not the "
                                              "length of its longest path."),
    (lambda case: 1 if case.root._prev else 0,
     "every node that is not a leaf gets depth 1, as if its children's depths were not known yet when its "
     "turn came: the nodes are visited parents first (the topological order reversed, as backward() walks "
     "it). A node's depth needs its children's, so walk the order as it is, children before parents."),
)

_FIRST_VISIT = ("the depth of each node is recorded the first time the walk reaches it, which is the length "
                "of one path to it, not always the longest (in y = log(tanh(exp(x) + 1)) x, x lies 1 step "
                "below y directly and 5 steps below it through log, tanh, + and exp). The depth needs the "
                "longest path: take the "
                "max over all the children once all their depths are known (children before parents), or "
                "keep updating a node's distance from the root to the max over all its parents.")

_GENERIC_FACTOR = re.compile(r" It is \S+ times the expected value: look for a missing or extra constant factor "
                             r"\(a sum instead of a mean, a factor 2, 1/N, \.\.\.\)\.")


def _depth_hint(depth: Callable, cases: list) -> str:
    """The hint of the first known mistake that gives the answer's result on every small case.

    On a single case several mistakes often agree (on a leaf alone, counting Values and counting
    the graph's nodes both give 1), so the mistake is named only when it explains all of them."""
    small = [case for (case,), _ in cases if len(_nodes(case.root)) <= 100]
    try:
        with answer_running(ENGINE), _RecursionWatch():
            results = [depth(case.root) for case in small]
    except Exception:  # the answer fails elsewhere: no hint rather than a wrong one
        return ""
    for mistake, hint in DEPTH_MISTAKES:
        if all(mistake(case) == result for case, result in zip(small, results)):
            return f" Likely mistake: {hint}"
    try:
        between = all(_deepest_first_visit(case.root) <= result <= case.depth for case, result in zip(small, results))
    except TypeError:  # not numbers
        return ""
    if between and any(result != case.depth for case, result in zip(small, results)):
        return f" Likely mistake: {_FIRST_VISIT}"
    return ""


@exercise("ch07-ex-depth", answers=("depth",), points=2)
def _check_depth(depth):
    if depth is None or depth is Ellipsis or not callable(depth):
        return check_function(depth, [((None,), 0)], name="depth")
    cases, names = depth_cases()
    try:
        return check_function(lambda case: _evaluate_depth(depth, case), cases, name="depth",
                              case_names=names, rtol=0, atol=0, allowed_modules=ENGINE)
    except RefereeCalled:
        raise
    except WrongAnswer as wrong:
        # A depth is a whole number: the generic "k times the expected value" of a mean or a sum is noise here.
        message = _GENERIC_FACTOR.sub("", str(wrong))
        if "without recursion" not in message:
            message += _depth_hint(depth, cases)
        raise WrongAnswer(message) from None


# --------------------------------------------------------------------------
# ch07-ex-cross-entropy: softmax cross-entropy in the engine, stable
# --------------------------------------------------------------------------

CROSS_ENTROPY_OUTPUTS = ("loss.data", "the logits' gradients")


class CrossEntropyCase(_Case):
    """Logits of shape (N, K) and N labels."""

    def __init__(self, name: str, logits, labels, extreme: bool = False) -> None:
        self.name, self.extreme = name, extreme
        self.logits = np.asarray(logits, dtype=np.float64)
        self.labels = [int(k) for k in labels]

    def __repr__(self) -> str:
        N, K = self.logits.shape
        return f"<N = {N}, K = {K}, labels {self.labels}>"


@referee
def cross_entropy_by_torch(case: CrossEntropyCase) -> tuple[float, np.ndarray]:
    """The mean softmax cross-entropy and its gradient, by PyTorch in float64."""
    import torch

    logits = torch.tensor(case.logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(case.labels))
    loss.backward()
    return loss.item(), logits.grad.numpy()


@referee
def cross_entropy_by_numpy(case: CrossEntropyCase) -> tuple[float, np.ndarray]:
    """The same with NumPy, as chapter 4 computes it: -log P = (c - z_label) + log(sum_k exp(z_k - c)),
    with c the row's largest logit; the gradient (P - Y) / N."""
    Z, N = case.logits, len(case.labels)
    c = Z.max(axis=1, keepdims=True)
    sums = np.exp(Z - c).sum(axis=1)
    loss = np.mean((c[:, 0] - Z[np.arange(N), case.labels]) + np.log(sums))
    P = np.exp(Z - c) / sums[:, None]
    Y = np.zeros_like(Z)
    Y[np.arange(N), case.labels] = 1.0
    return float(loss), (P - Y) / N


#: The rows of the case with logits of 800: exp(800) overflows, a probability of exp(-1600) rounds to
#: 0, and the last row lies so far below the others that one shift c for the whole batch underflows it.
EXTREME_LOGITS = ([800.0, 0.0, -800.0], [-800.0, 0.0, 800.0], [5.0, 800.0, 1.0], [-800.0, -805.0, -810.0])
EXTREME_LABELS = (2, 1, 1, 0)


def _ce_cases() -> list[CrossEntropyCase]:
    rng = np.random.default_rng(7)
    return [
        CrossEntropyCase("one example, three classes", [[2.0, -1.0, 0.5]], [0]),
        CrossEntropyCase("four examples, three classes", 2 * rng.normal(size=(4, 3)), [2, 0, 1, 2]),
        CrossEntropyCase("three examples, five classes", 3 * rng.normal(size=(3, 5)), [4, 1, 0]),
        CrossEntropyCase("two examples, two classes", [[0.3, -0.4], [1.5, 2.5]], [1, 0]),
        CrossEntropyCase("equal logits: the loss is log K", [[1.0, 1.0, 1.0, 1.0]], [3]),
        CrossEntropyCase("logits of 800 and -800, and a row far below 800: exp(800) overflows a float",
                         EXTREME_LOGITS, EXTREME_LABELS, extreme=True),
        CrossEntropyCase("logits of 1e20 and 1e17 (chapter 4): near 1e20, c + log 3 rounds to c",
                         [[1e20, 1e20, 1e20], [1e17, 1e17 - 64, 1e17]], [0, 1]),
    ]


def cross_entropy_cases() -> tuple[list, list[str]]:
    """The test cases ((case,), (loss, gradient)) and their names."""
    cases = []
    for case in _ce_cases():
        try:
            expected = cross_entropy_by_torch(case)
        except ImportError:  # no PyTorch: NumPy referees every case
            expected = cross_entropy_by_numpy(case)
        cases.append(((case,), expected))
    return cases, [case.name for case in _ce_cases()]


_STABLE_FORM = ("Chapter 4's log-softmax avoids this: with c the largest logit of the example, its loss is "
                "-log P = (c - z_label) + log(sum_k exp(z_k - c)), where every exp(z_k - c) is at most 1 and "
                "the sum is at least 1, so nothing overflows and no probability is computed at all.")
_UNSTABLE = ("In the case with logits of 800 and -800, your cross_entropy raised {kind}: {error}. {why} "
             + _STABLE_FORM)
_WHY_OVERFLOW = ("exp overflows as soon as its argument passes about 709.78: a large raw logit does, and so does a "
                 "logit minus anything less than the largest logit of its row.")
_WHY_LOG_ZERO = ("A probability as small as exp(-1600) rounds to 0, and log(0) does not exist: taking the log of "
                 "a softmax probability fails when the network is confidently wrong.")
_ONE_SHIFT = ("In the case with logits of 800 and -800, your cross_entropy raised {kind}: {error}, although it "
              "works on each of the case's rows alone. Likely mistake: one c for the whole batch, the largest "
              "logit of all N rows. A row whose logits all lie far below it, such as (-800, -805, -810) next "
              "to a row with 800, then gets exp(z_k - c) = 0 for every k, and log(0) fails. Take c per "
              "example, the largest logit of that example's own row: "
              "-log P = (c - z_label) + log(sum_k exp(z_k - c)).")

#: The operations of the engine, by the ``_op`` they give their result.
ENGINE_OPERATIONS = ("+", "-", "*", "/", "neg", "exp", "log", "tanh", "relu", "sigmoid", "**k")


def _works_row_by_row(cross_entropy: Callable, case: CrossEntropyCase) -> bool:
    """Whether the answer runs without an error on each row of the case alone."""
    for row, label in zip(case.logits, case.labels):
        try:
            cross_entropy([[Value(float(z)) for z in row]], [label])
        except Exception:
            return False
    return True


def _own_node(loss: Value) -> Value | None:
    """A node of the loss's graph whose _backward is not the engine's, if there is one."""
    for node in loss.topological_order():
        if getattr(node._backward, "__module__", None) != Value.__module__:
            return node
    return None


def _evaluate_cross_entropy(cross_entropy: Callable, case: CrossEntropyCase):
    logits = [[Value(float(z), label=f"z[{i},{k}]") for k, z in enumerate(row)] for i, row in enumerate(case.logits)]
    try:
        loss = cross_entropy(logits, list(case.labels))
    except (OverflowError, ValueError, ZeroDivisionError) as error:
        if not case.extreme:
            raise
        if not isinstance(error, OverflowError) and _works_row_by_row(cross_entropy, case):
            raise WrongAnswer(_ONE_SHIFT.format(kind=type(error).__name__, error=error)) from None
        why = _WHY_OVERFLOW if isinstance(error, OverflowError) else _WHY_LOG_ZERO
        raise WrongAnswer(_UNSTABLE.format(kind=type(error).__name__, error=error, why=why)) from None
    loss = _returned_value(loss, "cross_entropy", f"For {case!r}")
    own = _own_node(loss)
    if own is not None:
        raise WrongAnswer(
            f"For {case!r}: the loss's graph holds a node of your own (_op {own._op!r}) whose _backward you "
            f"wrote, so it computes its gradient by hand. Build the loss from the engine's operations "
            f"({', '.join(ENGINE_OPERATIONS)}) and let backward() find the gradient."
        )
    loss.backward()
    return loss.data, np.array([[z.grad for z in row] for row in logits])


def _ce_with(reduce="mean", sign=1.0, add_max_back=True, target="label", lse_first=False):
    """A cross-entropy with one step done wrong, in NumPy: the model of one known mistake."""

    def mistake(case: CrossEntropyCase):
        Z, labels = case.logits, np.array(case.labels)
        N, K = Z.shape
        c = Z.max(axis=1, keepdims=True)
        sums = np.exp(Z - c).sum(axis=1)
        P = np.exp(Z - c) / sums[:, None]
        k = labels if target == "label" else Z.argmax(axis=1)
        shift = c[:, 0] if add_max_back else 0.0
        if lse_first:   # c + log(sum) first, the label's logit subtracted after
            per_example = (shift + np.log(sums)) - Z[np.arange(N), k]
        else:
            per_example = (shift - Z[np.arange(N), k]) + np.log(sums)
        Y = np.zeros_like(Z)
        Y[np.arange(N), k] = 1.0
        scale = {"mean": 1 / N, "sum": 1.0, "all": 1 / (N * K)}[reduce]
        return float(sign * per_example.sum() * scale), sign * (P - Y) * scale

    return mistake


_LSE_FIRST = ("the log-sum-exp is computed first, c + log(sum_k exp(z_k - c)), and the label's logit is "
              "subtracted after. Near 1e20 the floats are 16,384 apart, so adding log(sum ...), at most log K, "
              "to c changes nothing, and the loss of a row of 1e20s comes out as 0 instead of log 3. Subtract "
              "first, as chapter 4 does: (c - z_label) + log(sum_k exp(z_k - c)).")

#: (mistake, hint) pairs for ch07-ex-cross-entropy.
CROSS_ENTROPY_MISTAKES = (
    (_ce_with(reduce="sum"), "the losses of the examples are summed: the loss is their mean, so divide the "
                             "sum by N, the number of examples."),
    (_ce_with(reduce="all"), "the sum is divided by N K, the number of logits: the mean runs over the N "
                             "examples only."),
    (_ce_with(sign=-1.0), "the sign is flipped: the loss of an example is -log P = (c - z_label) + "
                          "log(sum_k exp(z_k - c)), a positive number."),
    (_ce_with(add_max_back=False), "the largest logit c was taken out and not put back: the loss of an "
                                   "example is (c - z_label) + log(sum_k exp(z_k - c)). (The gradients do "
                                   "not see the constant, the value does.)"),
    (_ce_with(target="argmax"), "the logit subtracted is the largest one, that of the predicted class, not "
                                "that of the example's label."),
    (_ce_with(lse_first=True), _LSE_FIRST),
)


@exercise("ch07-ex-cross-entropy", answers=("cross_entropy",), points=3)
def _check_cross_entropy(cross_entropy):
    if cross_entropy is None or cross_entropy is Ellipsis or not callable(cross_entropy):
        return check_function(cross_entropy, [((None,), 0.0)], name="cross_entropy")
    cases, names = cross_entropy_cases()
    return check_function(lambda case: _evaluate_cross_entropy(cross_entropy, case), cases,
                          name="cross_entropy", mistakes=CROSS_ENTROPY_MISTAKES, case_names=names,
                          output_names=CROSS_ENTROPY_OUTPUTS, rtol=1e-9, atol=1e-12, allowed_modules=ENGINE)
