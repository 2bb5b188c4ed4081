"""The checks of chapter 8's coding exercises, keyed by exercise label.

* ``ch08-ex-train-loop``: ``gradient_descent(params, loss_fn, lr, steps)`` runs ``steps`` steps of
  gradient descent on a list of leaf tensors, in place, and returns the loss of every step, each
  measured before its step's update. ``loss_fn()`` takes no argument. The referee is
  ``torch.optim.SGD``.
* ``ch08-ex-jacobian``: ``jacobian_by_vjps(fn, x)`` returns the Jacobian of ``fn`` at ``x``, a
  tensor of shape ``(n_out, n_in)`` for ``x`` of ``n_in`` entries and ``fn(x)`` of ``n_out``, built
  row by row from backward passes (vector-Jacobian products) through the graph of one call of
  ``fn``. The referee is ``torch.autograd.functional.jacobian``.
* ``ch08-ex-accumulate``: ``accumulate_gradients(model, loss_fn, batches)`` leaves in every
  parameter's ``.grad`` the gradient of the mean loss over all the examples of ``batches``,
  running one batch at a time, with one backward pass per batch. The referee runs the model once
  on all the batches put together.

Every answer uses PyTorch (``allowed_modules=("torch",)``). The functions ``fn`` and ``loss_fn``
that the checks pass are the checks' own: the answer may call them, but ``fn`` not through a
PyTorch function that builds the Jacobian or runs the products for it. Parameters arrive with a
``.grad`` left over from earlier work in some cases and with none in others, as on the first step
of a training loop. Every case is built anew, in float64, from ``torch.manual_seed`` inside the
case builder, and ``check_function`` copies it before each call, so an answer that changes the
model, ``x`` or the batches cannot spoil the comparison.

Each check first compares the values. Where they are right, it then looks at what the
exercise also asks: ``fn`` called once and the given ``x`` left as it came; one backward pass per
batch and the parameters left as they were.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from mlp_course.exercises.checks import (
    CheckResult,
    WrongAnswer,
    _compare,
    _in,
    answer_is_running,
    answer_may_call,
    check_function,
    not_answered,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = [
    "descent_cases", "DESCENT_MISTAKES",
    "jacobian_cases", "JACOBIAN_MISTAKES", "accumulation_cases", "ACCUMULATION_MISTAKES",
]

ALLOWED = ("torch",)
RTOL, ATOL = 1e-10, 1e-12


def _is_placeholder(answer) -> bool:
    return answer is None or answer is Ellipsis


def _add_note(error: BaseException, note: str) -> None:
    if hasattr(error, "add_note"):    # Python 3.11 and later
        error.add_note(note)


def _right(result, expected) -> bool:
    """Whether ``result`` has the values of ``expected`` to the check's tolerance."""
    try:
        return _compare(result, expected, "result", RTOL, ATOL) is None
    except Exception:    # not numbers at all: the comparison of check_function will say so
        return False


def _run_with_notes(call, notes: dict, non_leaf_note: str | None = None):
    """``call()``, recording warnings; an error it raises gets the notes whose text it contains.

    Returns the result and whether PyTorch warned about reading the .grad of a non-leaf. The
    other warnings are shown again afterwards: they are the learner's to see.
    """
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            # The filters stay as they are, except that the non-leaf warning is always recorded.
            warnings.filterwarnings("always", message=".*not a leaf Tensor")
            try:
                result = call()
            except Exception as error:
                non_leaf = any(_is_non_leaf_warning(w) for w in caught)
                hints = [non_leaf_note] if non_leaf and non_leaf_note else []
                hints += [note for text, note in notes.items() if text in str(error) and note not in hints]
                for hint in hints:
                    _add_note(error, f"Hint: {hint}")
                raise
    finally:
        for w in caught:
            if not _is_non_leaf_warning(w):     # that one turns into a hint instead
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, any(_is_non_leaf_warning(w) for w in caught)


def _is_non_leaf_warning(w) -> bool:
    return "not a leaf Tensor" in str(w.message)


# --------------------------------------------------------------------------
# ch08-ex-train-loop
# --------------------------------------------------------------------------


@dataclass
class DescentCase:
    """A problem for gradient descent: the parameters' starting values and the .grad each
    arrives with (None for none), the data of the loss, the learning rate and the steps."""

    name: str
    kind: str                                   # "line", "logistic" or "network"
    start: list = field(repr=False)
    stale: list = field(repr=False)
    data: tuple = field(repr=False)
    lr: float = 0.1
    steps: int = 10

    def __repr__(self) -> str:   # what a message shows of the call
        return f"<params, loss_fn, lr={self.lr}, steps={self.steps}>"


class _Loss:
    """The ``loss_fn`` the answer receives: called without arguments, it computes the loss from the
    current values of the parameters it holds (the very tensors of ``params``)."""

    def __init__(self, kind: str, params: list, data: tuple) -> None:
        self.kind, self._params, self._data = kind, params, data

    @answer_may_call
    def __repr__(self) -> str:
        return f"<loss_fn: {self.kind}>"

    @answer_may_call
    def __call__(self):
        import torch

        X, y = self._data
        if self.kind == "line":
            w, b = self._params
            return ((w * X + b - y) ** 2).mean()
        if self.kind == "logistic":
            w, b = self._params
            return torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, y)
        W1, b1, W2, b2 = self._params
        return ((torch.tanh(X @ W1 + b1) @ W2 + b2 - y) ** 2).mean()


def descent_cases() -> list[DescentCase]:
    """Three problems, float64, from torch.manual_seed: a line whose two parameters hold an old
    .grad, a logistic regression whose weights hold one and whose bias has none, and a 2-4-1
    tanh network fresh from its initialisation (every .grad None)."""
    import torch

    with torch.random.fork_rng(devices=[]):     # the learner's own random state is left as it was
        torch.manual_seed(81)
        return _descent_cases_from_seed(torch)


def _descent_cases_from_seed(torch) -> list[DescentCase]:
    f64 = torch.float64
    x = torch.linspace(-1, 1, 20, dtype=f64)
    line = DescentCase("a line, w and b of shape (), both holding an old .grad", "line",
                       [torch.zeros((), dtype=f64), torch.zeros((), dtype=f64)],
                       [torch.tensor(2.0, dtype=f64), torch.tensor(-1.5, dtype=f64)],
                       (x, 3 * x + 1 + 0.1 * torch.randn(20, dtype=f64)), lr=0.1, steps=25)
    X = torch.randn(30, 3, dtype=f64)
    y = (X @ torch.tensor([1.0, -2.0, 0.5], dtype=f64) + 0.3 * torch.randn(30, dtype=f64) > 0).to(f64)
    logistic = DescentCase("a logistic regression, w of shape (3,) holding an old .grad and b of shape () "
                           "with none", "logistic",
                           [0.1 * torch.randn(3, dtype=f64), torch.zeros((), dtype=f64)],
                           [torch.randn(3, dtype=f64), None], (X, y), lr=0.5, steps=20)
    X2 = torch.randn(16, 2, dtype=f64)
    y2 = torch.sin(X2[:, :1]) + 0.5 * X2[:, 1:]
    network = DescentCase("a fresh 2-4-1 tanh network, every .grad None", "network",
                          [0.7 * torch.randn(2, 4, dtype=f64), torch.zeros(4, dtype=f64),
                           0.5 * torch.randn(4, 1, dtype=f64), torch.zeros(1, dtype=f64)],
                          [None, None, None, None], (X2, y2), lr=0.2, steps=15)
    return [line, logistic, network]


def _leaves(case: DescentCase):
    """The case's parameters as fresh leaves that hold the case's .grad, and their loss_fn."""
    params = [value.clone().requires_grad_(True) for value in case.start]
    for p, stale in zip(params, case.stale):
        p.grad = None if stale is None else stale.clone()
    return params, _Loss(case.kind, params, case.data)


def _outcome(losses, params) -> tuple:
    """What the check compares: the losses of the steps, then every parameter at the end."""
    return (np.asarray(losses, dtype=np.float64), *[p.detach().clone() for p in params])


@referee
def _descent_by_sgd(case: DescentCase):
    """The same steps by torch.optim.SGD: gradients cleared before every backward pass."""
    import torch

    params, loss_fn = _leaves(case)
    optimizer = torch.optim.SGD(params, lr=case.lr)
    losses = []
    for _ in range(case.steps):
        optimizer.zero_grad()
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return _outcome(losses, params)


def _descent(case, clear_before=True, clear_after=False, clear_first_only=False, sign=1.0,
             record_after=False, update=True):
    """Gradient descent with one plausible mistake switched on (the defaults are right)."""
    import torch

    params, loss_fn = _leaves(case)
    losses = []
    for step in range(case.steps):
        if clear_before or (clear_first_only and step == 0):
            for p in params:
                p.grad = None
        loss = loss_fn()
        if not record_after:
            losses.append(loss.item())
        loss.backward()
        if update:
            with torch.no_grad():
                for p in params:
                    p -= sign * case.lr * p.grad
        if clear_after:
            for p in params:
                p.grad = None
        if record_after:
            with torch.no_grad():
                losses.append(loss_fn().item())
    return _outcome(losses, params)


def _never_cleared(case):
    return _descent(case, clear_before=False)


def _cleared_once(case):
    return _descent(case, clear_before=False, clear_first_only=True)


def _cleared_after_the_update(case):
    return _descent(case, clear_before=False, clear_after=True)


def _never_updated(case):
    return _descent(case, update=False)


def _uphill(case):
    return _descent(case, sign=-1.0)


def _losses_after_the_update(case):
    return _descent(case, record_after=True)


DESCENT_MISTAKES = [
    (_never_updated,
     "the parameters never changed. `p = p - lr * p.grad` makes a new tensor and binds the name p (or a list "
     "entry) to it; the tensors in params stay as they were. Update each one in place, p -= lr * p.grad, "
     "inside with torch.no_grad():."),
    (_never_cleared,
     "the gradients are never cleared, so every backward pass adds to the .grad of all the steps before it "
     "(and to the .grad the parameters arrived with): each step moves by the whole history, like momentum "
     "with mu = 1. Clear them before each backward pass (p.grad = None, or optimizer.zero_grad())."),
    (_cleared_once,
     "the gradients were cleared once, before the first step, and then never again: from the second step on, "
     "each backward pass adds to the gradients of all the steps before it. Clear them before every backward "
     "pass."),
    (_cleared_after_the_update,
     "the first step used the .grad the parameters arrived with, plus the first gradient: backward adds to "
     "it. Clearing after each update is not enough: clear the gradients before each backward pass (or at "
     "least before the first one too)."),
    (_uphill,
     "the parameters moved uphill, along the gradient: the update subtracts it, theta <- theta - lr * grad."),
    (_losses_after_the_update,
     "each loss in your list is measured after its step's update. Record the loss of each step before the "
     "update, the loss whose gradient the step uses (loss.item() of the tensor you call backward on)."),
]

_DESCENT_NOTES = {
    "a leaf Variable that requires grad is being used in an in-place operation":
        "the update ran while PyTorch records: put it inside with torch.no_grad():, so that it is not "
        "recorded.",
    "'NoneType' object has no attribute":
        "a parameter's .grad is None (on a fresh model, or for a parameter that has had no backward pass "
        "yet): clear with p.grad = None or optimizer.zero_grad(), or guard p.grad.zero_() with "
        "if p.grad is not None.",
    "does not require grad":
        "the loss was computed under torch.no_grad() (or from detached tensors), so nothing was recorded: "
        "compute the loss with recording on, and put only the update under no_grad.",
    "backward through the graph a second time":
        "each step needs a fresh loss and a fresh graph: call loss_fn() once per step, inside the loop.",
    "__call__() takes 1 positional argument":
        "loss_fn takes no arguments: call loss_fn(). It reads the current values of the tensors in params.",
}
_DESCENT_NON_LEAF = ("a parameter is no longer a leaf: an assignment such as p = p - lr * p.grad outside "
                     "torch.no_grad() made it the result of a subtraction, whose .grad is None (PyTorch "
                     "warned about it). Update the parameters in place, p -= lr * p.grad, inside "
                     "with torch.no_grad():.")


def _descending_by(gradient_descent):
    """The answer, called on fresh leaves; returns the losses it returned and the parameters' ends."""

    def run(case: DescentCase):
        params, loss_fn = _leaves(case)                       # before the answer runs
        result, _ = _run_with_notes(lambda: gradient_descent(list(params), loss_fn, case.lr, case.steps),
                                    _DESCENT_NOTES, _DESCENT_NON_LEAF)
        where = f"In the case of {case.name}"
        if result is None:
            raise WrongAnswer(f"{where}: gradient_descent returned None. Return the list of the {case.steps} "
                              f"losses, one Python number per step (loss.item()).")
        if hasattr(result, "detach") and getattr(result, "ndim", 0) == 0:
            raise WrongAnswer(f"{where}: gradient_descent returned one tensor, {result.item():.6g}. Return the "
                              f"list of the losses of all {case.steps} steps.")
        if isinstance(result, (list, tuple)) and any(getattr(value, "requires_grad", False) for value in result):
            raise WrongAnswer(f"{where}: gradient_descent returned a list of loss tensors that require grad: "
                              f"each one keeps the whole graph of its step in memory, as long as the list "
                              f"lives. Append loss.item(), a Python number, instead.")
        try:
            losses = [float(value) for value in result]
        except (TypeError, ValueError):
            raise WrongAnswer(f"{where}: gradient_descent returned {type(result).__name__}, which is not a "
                              f"list of numbers. Return the list of the {case.steps} losses (loss.item() of "
                              f"each step).") from None
        if len(losses) != case.steps:
            raise WrongAnswer(f"{where}: gradient_descent returned {len(losses)} losses for {case.steps} steps. "
                              f"Return one loss per step, measured before the step's update.")
        return _outcome(losses, params)

    run.__name__ = getattr(gradient_descent, "__name__", "gradient_descent")
    return run


@exercise("ch08-ex-train-loop", answers=("gradient_descent",), points=2)
def _check_train_loop(gradient_descent) -> CheckResult:
    name = "gradient_descent"
    if _is_placeholder(gradient_descent):
        return not_answered(name)
    if not callable(gradient_descent):
        raise WrongAnswer(f"{name} should be a function, got {type(gradient_descent).__name__}.")
    cases = descent_cases()
    expected = [_descent_by_sgd(case) for case in cases]
    names = ["the losses"] + [f"params[{i}] after the last step" for i in range(4)]
    return check_function(_descending_by(gradient_descent), [((c,), e) for c, e in zip(cases, expected)],
                          name=name, rtol=RTOL, atol=ATOL, mistakes=DESCENT_MISTAKES,
                          case_names=[c.name for c in cases], output_names=names, allowed_modules=ALLOWED)


# --------------------------------------------------------------------------
# ch08-ex-jacobian
# --------------------------------------------------------------------------


class _Function:
    """A function from R^n_in to R^n_out, made of tensor operations: the ``fn`` the answer receives."""

    def __init__(self, description: str, n_in: int, n_out: int, compute) -> None:
        self.description, self.n_in, self.n_out, self._compute = description, n_in, n_out, compute
        self.calls = 0      # how often the answer called it, counted while an answer runs

    @answer_may_call
    def __repr__(self) -> str:   # what a message shows of the case (and what printing fn shows)
        return f"<fn: {self.description}>"

    @answer_may_call
    def __call__(self, x):
        if answer_is_running():
            self.calls += 1
            caller = _pytorch_caller(sys._getframe(1))
            if caller == "torch.autograd.functional":
                raise WrongAnswer(
                    "fn was called by torch.autograd.functional, not by your code: "
                    "torch.autograd.functional.jacobian builds the Jacobian for you (and its vjp runs the "
                    "backward pass for you), even with fn wrapped in a lambda or a function of your own. "
                    "This exercise asks you to build it yourself: call fn once, then run one backward pass "
                    "per row, u.backward(gradient=...) or torch.autograd.grad."
                )
            if caller == "torch.func":
                raise WrongAnswer(
                    "fn was called by torch.func, not by your code: its transforms (jacrev, jacfwd, vjp, "
                    "vmap, ...) run the backward passes, or build the whole Jacobian, for you, even with fn "
                    "wrapped in a lambda or a function of your own. This exercise asks you to build it "
                    "yourself: call fn once, then run one backward pass per row, u.backward(gradient=...) or "
                    "torch.autograd.grad."
                )
        return self._compute(x)


def _pytorch_caller(frame) -> str | None:
    """Whether PyTorch's Jacobian tools stand anywhere between the check and this call of fn:
    "torch.autograd.functional", "torch.func", or None. The whole stack up to the check counts,
    so wrapping fn in a lambda or a function of one's own changes nothing."""
    found = None
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if _in(module, ("mlp_course.exercises",)):
            break                                   # the check itself: the answer started below it
        if _in(module, ("torch.autograd.functional",)):
            found = "torch.autograd.functional"
        elif _in(module, ("torch._functorch", "torch.func")) and found is None:
            found = "torch.func"
        frame = frame.f_back
    return found


def _functions():
    """The functions of the cases: tall, wide, square (not symmetric) and one output."""
    import torch

    with torch.random.fork_rng(devices=[]):     # the learner's own random state is left as it was
        torch.manual_seed(8)
        return _functions_from_seed(torch)


def _functions_from_seed(torch):
    M = torch.randn(3, 5, dtype=torch.float64)
    c = torch.randn(3, dtype=torch.float64)
    B1 = torch.randn(4, 4, dtype=torch.float64)
    B2 = torch.randn(4, 4, dtype=torch.float64)
    C = torch.randn(6, 2, dtype=torch.float64)
    w = torch.randn(4, dtype=torch.float64)
    return [
        _Function("R^5 -> R^3, tanh(M x + c)", 5, 3, lambda x: torch.tanh(M @ x + c)),
        _Function("R^4 -> R^4, (B1 x) * (B2 x)", 4, 4, lambda x: (B1 @ x) * (B2 @ x)),
        _Function("R^2 -> R^6, softmax(C x)", 2, 6, lambda x: torch.softmax(C @ x, dim=0)),
        _Function("R^4 -> R^1, [sum(w x^2)]", 4, 1, lambda x: (w * x ** 2).sum().reshape(1)),
    ]


JACOBIAN_CASE_NAMES = [
    "x does not require grad; J of shape (3, 5)",
    "x does not require grad; a square J that is not symmetric",
    "x is a leaf that requires grad and already holds a .grad; J of shape (6, 2)",
    "one output; J of shape (1, 4)",
]


@referee
def _jacobian_by_torch(f, x):
    """The Jacobian of f at x, (n_out, n_in), by ``torch.autograd.functional.jacobian``."""
    import torch

    return torch.autograd.functional.jacobian(f, x.detach()).reshape(f.n_out, f.n_in)


def jacobian_cases():
    """((f, x), J) for each function; the third x requires grad and holds an earlier .grad."""
    import torch

    functions = _functions()
    with torch.random.fork_rng(devices=[]):     # the learner's own random state is left as it was
        torch.manual_seed(9)
        xs = [torch.randn(f.n_in, dtype=torch.float64) for f in functions]
        stale = torch.randn(functions[2].n_in, dtype=torch.float64)
    xs[2].requires_grad_(True)
    xs[2].grad = stale                          # left over from earlier work
    return [((f, x), _jacobian_by_torch(f, x)) for f, x in zip(functions, xs)]


def _stale(x):
    """The .grad that x arrived with (zeros when it had none)."""
    import torch

    return x.grad.detach().clone() if x.grad is not None else torch.zeros_like(x)


def _jac(f, x):
    return _jacobian_by_torch.__wrapped__(f, x)


def _transposed(f, x):
    return _jac(f, x).T


def _rows_accumulated(f, x):
    return _jac(f, x).cumsum(dim=0)


def _ones_instead_of_e_k(f, x):
    return _jac(f, x).sum(dim=0).expand(f.n_out, f.n_in)


def _stale_in_first_row(f, x):
    J = _jac(f, x).clone()
    J[0] += _stale(x)
    return J


def _every_row_the_last(f, x):
    return _jac(f, x)[-1].expand(f.n_out, f.n_in)


JACOBIAN_MISTAKES = [
    (_transposed,
     "this is the transpose of J. Row k of J holds the derivatives of output k, J[k, j] = du_k/dx_j, so J "
     "has one row per output (n_out rows) and one column per entry of x (n_in columns)."),
    (_rows_accumulated,
     "row k holds the sum of rows 0 to k: x.grad accumulates over the backward passes. Clear it (x.grad = "
     "None, or x.grad.zero_()) before each backward pass, or read each row from torch.autograd.grad."),
    (_every_row_the_last,
     "every row is the last one: the rows are one tensor, x.grad, zeroed and refilled in place by each "
     "backward pass. Append x.grad.clone(), or clear with x.grad = None, which makes the next pass create a "
     "new tensor."),
    (_ones_instead_of_e_k,
     "every row is the sum of the rows of J, 1^T J: each backward pass got a vector of ones (torch.ones_like, "
     "or a sum of the outputs) where the one-hot vector e_k of output k belongs."),
    (_stale_in_first_row,
     "x arrived with a .grad from earlier work, and the first backward pass added to it: row 0 includes it. "
     "Work on a fresh leaf, x.detach().requires_grad_(), or clear x.grad before the first backward pass too."),
]

_NON_LEAF = ("your code read the .grad of a tensor that is not a leaf (PyTorch warned about it), and that "
             ".grad is None: backward fills .grad only for leaves. Make a leaf that requires grad, "
             "x = x.detach().requires_grad_(), and call fn on that x.")
_NOTES = {
    "does not require grad": "the x the check passes may not require grad: make a leaf that does, "
                             "x = x.detach().requires_grad_(), before calling fn.",
    "backward through the graph a second time": "each backward pass frees the graph it ran through; to run "
                                                "one backward pass per row through the same graph, pass "
                                                "retain_graph=True (to every pass but the last, or to all).",
    "grad can be implicitly created only for scalar outputs": "fn(x) has n_out entries: backward needs the "
                                                              "vector v of the product v^T J, "
                                                              "u.backward(gradient=v).",
}


def _state(x):
    """What the caller's x is: whether it requires grad, its .grad, its values."""
    return (x.requires_grad, None if x.grad is None else x.grad.detach().clone(), x.detach().clone())


def _changed(before, after) -> str | None:
    """How x changed while the answer ran, in words, or None."""
    import torch

    (requires, grad, values), (requires_now, grad_now, values_now) = before, after
    if requires != requires_now:
        return "it now requires grad" if requires_now else "it no longer requires grad"
    if (grad is None) != (grad_now is None):
        return ("its .grad from earlier work was cleared" if grad_now is None
                else "it has a .grad now, where it had none")
    if grad is not None and not torch.equal(grad, grad_now):
        return "its .grad from earlier work was changed"
    if not torch.equal(values, values_now):
        return "its values were changed"
    return None


def _jacobian_by(jacobian_by_vjps, expected: dict):
    """The answer, called so that an error or a None gets a note that names the likely cause, and
    so that, where its values are right, calling fn more than once or changing x are refused."""

    def run(f, x):
        before = _state(x)
        f.calls = 0
        result, non_leaf = _run_with_notes(lambda: jacobian_by_vjps(f, x), _NOTES, _NON_LEAF)
        if non_leaf and _has_none(result):
            raise WrongAnswer(f"jacobian_by_vjps returned None in place of a row: {_NON_LEAF}")
        if isinstance(result, (list, tuple)) and result and all(hasattr(r, "detach") for r in result):
            raise WrongAnswer(
                f"jacobian_by_vjps returned a {type(result).__name__} of {len(result)} tensors; return one "
                f"tensor of shape ({f.n_out}, {f.n_in}): put the rows together with torch.stack."
            )
        dtype = str(getattr(result, "dtype", "")).replace("torch.", "")
        if dtype in ("float32", "float16", "bfloat16"):
            raise WrongAnswer(
                f"jacobian_by_vjps returned a {dtype} {'array' if isinstance(result, np.ndarray) else 'tensor'}, "
                f"but x and fn(x) are float64: its entries are rounded to {dtype}, about 7 digits or fewer, so "
                f"the values are off. torch.zeros(n_out, n_in) makes float32 unless told otherwise: make J with "
                f"dtype=x.dtype, or torch.stack the rows."
            )
        shape = tuple(getattr(result, "shape", ()))
        if len(shape) == 2 and shape[0] == f.n_in != f.n_out and shape[1] == f.n_in:
            raise WrongAnswer(
                f"For {f!r}: jacobian_by_vjps returned shape {shape}, {shape[0]} rows, one per entry of x. "
                f"J has one row per output: n_out = {f.n_out} rows, one backward pass for each entry of u = fn(x)."
            )
        if _right(result, expected[f.description]):
            change = _changed(before, _state(x))
            if change:
                raise WrongAnswer(
                    f"For {f!r}: your values are right, but your function changed the x it was given: "
                    f"{change}. The caller's x is theirs (its .grad may hold their gradient): make a fresh "
                    f"leaf, x = x.detach().requires_grad_(), and leave the given x as it came."
                )
            if f.calls > 1:
                raise WrongAnswer(
                    f"For {f!r}: your values are right, but your function called fn {f.calls} times. Call it "
                    f"once, and run every backward pass through the graph of that one call "
                    f"(retain_graph=True keeps it for the next pass): one forward pass, n_out backward passes."
                )
            if isinstance(result, np.ndarray):
                raise WrongAnswer(
                    f"For {f!r}: your values are right, but jacobian_by_vjps returned a NumPy array. Return "
                    f"a tensor: torch.stack the rows (x.grad.clone(), not x.grad.numpy())."
                )
        return result

    run.__name__ = getattr(jacobian_by_vjps, "__name__", "jacobian_by_vjps")
    return run


def _has_none(result) -> bool:
    if result is None:
        return True
    return isinstance(result, (list, tuple)) and any(_has_none(r) for r in result)


@exercise("ch08-ex-jacobian", answers=("jacobian_by_vjps",), points=3)
def _check_jacobian(jacobian_by_vjps) -> CheckResult:
    name = "jacobian_by_vjps"
    if _is_placeholder(jacobian_by_vjps):
        return not_answered(name)
    if not callable(jacobian_by_vjps):
        raise WrongAnswer(f"{name} should be a function, got {type(jacobian_by_vjps).__name__}.")
    cases = jacobian_cases()
    expected = {f.description: J for (f, _), J in cases}
    return check_function(_jacobian_by(jacobian_by_vjps, expected), cases, name=name, rtol=RTOL,
                          atol=ATOL, mistakes=JACOBIAN_MISTAKES, case_names=JACOBIAN_CASE_NAMES,
                          allowed_modules=ALLOWED)


# --------------------------------------------------------------------------
# ch08-ex-accumulate
# --------------------------------------------------------------------------


@dataclass
class AccumulationCase:
    """A model whose parameters hold an earlier gradient (or none), a mean loss, and the batches."""

    name: str
    model: object = field(repr=False)
    loss_fn: object = field(repr=False)
    batches: list = field(repr=False)
    stale: list = field(repr=False)      # the .grad of each parameter when the answer starts (None: none)

    def __repr__(self) -> str:   # what a message shows of the call
        sizes = ", ".join(str(len(X)) for X, _ in self.batches)
        return f"<model, loss_fn, batches of {sizes}>"

    @property
    def sizes(self) -> list[int]:
        return [len(X) for X, _ in self.batches]


def _batches(X, y, sizes):
    out, start = [], 0
    for size in sizes:
        out.append((X[start:start + size], y[start:start + size]))
        start += size
    return out


def accumulation_cases() -> list[AccumulationCase]:
    """Four cases, float64, from torch.manual_seed: equal batches of a regression network, unequal
    batches of a classifier, a single batch of one example after a batch of six (all three holding
    an earlier gradient), and a fresh model, every .grad None, as on the first step of a loop."""
    import torch

    with torch.random.fork_rng(devices=[]):     # the learner's own random state is left as it was
        torch.manual_seed(80)
        return _accumulation_cases_from_seed(torch)


def _accumulation_cases_from_seed(torch) -> list[AccumulationCase]:
    nn = torch.nn
    cases = []
    specs = [
        ("three batches of 4 examples, MSE loss, a 3-5-2 tanh network",
         nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)), nn.MSELoss(), "regression",
         [4, 4, 4], True),
        ("batches of 5, 2 and 3 examples, cross-entropy, a 4-6-3 ReLU network",
         nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)), nn.CrossEntropyLoss(), "classes",
         [5, 2, 3], True),
        ("batches of 6 and 1 examples, MSE loss, a 2-3-1 tanh network",
         nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)), nn.MSELoss(), "regression",
         [6, 1], True),
        ("a fresh model whose .grad are all None, batches of 3 and 5 examples, cross-entropy, a 3-4-2 tanh "
         "network",
         nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), nn.CrossEntropyLoss(), "classes",
         [3, 5], False),
    ]
    for name, model, loss_fn, kind, sizes, holds_gradient in specs:
        model = model.double()
        N, d = sum(sizes), model[0].in_features
        X = torch.randn(N, d, dtype=torch.float64)
        if kind == "regression":
            y = torch.randn(N, model[-1].out_features, dtype=torch.float64)
        else:
            y = torch.randint(0, model[-1].out_features, (N,))
        stale = [torch.randn_like(p) if holds_gradient else None for p in model.parameters()]
        cases.append(AccumulationCase(name, model, loss_fn, _batches(X, y, sizes), stale))
    return cases


def _fresh(case: AccumulationCase):
    """The case's model, with its stale gradients (or None) in .grad, as the answer receives it."""
    for p, g in zip(case.model.parameters(), case.stale):
        p.grad = None if g is None else g.detach().clone()
    return case.model


@referee
def _gradients_of_all_batches_at_once(case: AccumulationCase):
    """The gradient of the mean loss over every example: one forward pass on the batches put together."""
    import torch

    model = _fresh(case)
    model.zero_grad(set_to_none=True)
    X = torch.cat([X for X, _ in case.batches])
    y = torch.cat([y for _, y in case.batches])
    case.loss_fn(model(X), y).backward()
    return tuple(p.grad.detach().clone() for p in model.parameters())


def _batch_gradients(case: AccumulationCase):
    """The gradient of each batch's own mean loss, one list per batch."""
    model = _fresh(case)
    out = []
    for X, y in case.batches:
        model.zero_grad(set_to_none=True)
        case.loss_fn(model(X), y).backward()
        out.append([p.grad.detach().clone() for p in model.parameters()])
    return out


def _combine(case, weights, stale=False):
    per_batch = _batch_gradients(case)
    total = []
    for index, p_stale in enumerate(case.stale):
        g = sum(w * grads[index] for w, grads in zip(weights, per_batch))
        total.append(g + p_stale if stale and p_stale is not None else g)
    return tuple(total)


def _no_zeroing(case):
    N = sum(case.sizes)
    return _combine(case, [size / N for size in case.sizes], stale=True)


def _no_scaling(case):
    return _combine(case, [1.0] * len(case.batches))


def _no_zeroing_no_scaling(case):
    return _combine(case, [1.0] * len(case.batches), stale=True)


def _equal_weights(case):
    return _combine(case, [1.0 / len(case.batches)] * len(case.batches))


def _last_batch_only(case):
    return _combine(case, [0.0] * (len(case.batches) - 1) + [1.0])


def _last_batch_scaled(case):
    N = sum(case.sizes)
    return _combine(case, [0.0] * (len(case.batches) - 1) + [case.sizes[-1] / N])


def _divided_by_N(case):
    N = sum(case.sizes)
    return _combine(case, [1.0 / N] * len(case.batches))


def _weights_upside_down(case):
    N = sum(case.sizes)
    return _combine(case, [N / size for size in case.sizes])


def _summed_not_averaged(case):
    return _combine(case, [float(size) for size in case.sizes])


ACCUMULATION_MISTAKES = [
    (_no_zeroing,
     "the gradient the parameters held before your function ran is still in it: backward adds to .grad. "
     "Clear the gradients once, before the first batch (model.zero_grad(), or p.grad = None for every "
     "parameter)."),
    (_no_zeroing_no_scaling,
     "two things: the old gradient the parameters held is still in .grad (clear it once, before the first "
     "batch), and the batches' gradients are added without weights (scale each batch's loss by its share "
     "of the examples, len(X) / N)."),
    (_no_scaling,
     "this is the sum of the gradients of the batches' mean losses. Each batch's loss is already a mean over "
     "its own examples, so the sum counts the data once per batch: scale each batch's loss by its share of "
     "the examples, len(X) / N, before its backward pass."),
    (_equal_weights,
     "every batch got the same weight, 1 / (number of batches). That is right only when the batches have "
     "the same size: a batch's mean loss stands for len(X) examples, so weight it by len(X) / N, where N "
     "counts the examples of all the batches."),
    (_last_batch_only,
     "only the last batch's gradient is left: the gradients were cleared inside the loop, before each "
     "batch. Clear them once, before the loop, and let backward add up the batches."),
    (_last_batch_scaled,
     "only the last batch's (scaled) gradient is left: the gradients were cleared inside the loop, before "
     "each batch. Clear them once, before the loop, and let backward add up the batches."),
    (_divided_by_N,
     "each batch's mean loss was divided by N: a mean over a batch already divides by len(X), so the "
     "weight of a batch is len(X) / N, not 1 / N."),
    (_weights_upside_down,
     "each batch's mean loss was multiplied by N / len(X): the weight of a batch is its share of the "
     "examples, len(X) / N, the other way up."),
    (_summed_not_averaged,
     "each batch's mean loss was multiplied by len(X) but not divided by N: that is the gradient of the loss "
     "summed over all the examples, N times the gradient of their mean. Divide by N, the number of examples "
     "of all the batches, as well."),
]

_ACCUMULATION_NOTES = {
    "'NoneType' object has no attribute":
        "on a fresh model, as on the first step of a training loop, every .grad is None: clear with "
        "model.zero_grad() or p.grad = None, or guard p.grad.zero_() with if p.grad is not None.",
    "does not require grad":
        "the tensor you called backward on was computed under torch.no_grad(), or from detached tensors, so "
        "nothing of it was recorded: scale the loss with the recording on, (loss * len(X) / N).backward().",
}


def _rows_seen(seen):
    """A forward hook that records how many examples each call of a module got."""

    def hook(module, inputs, output):
        seen.append(len(inputs[0]) if inputs and hasattr(inputs[0], "__len__") else 0)

    return answer_may_call(hook)


def _backward_counter(count):
    """A tensor hook on one parameter: it fires once per backward pass that reaches it."""

    def hook(grad):
        count[0] += 1

    return answer_may_call(hook)


def _accumulating_by(accumulate_gradients, expected: dict):
    """The answer, called on a model that holds stale gradients (or none); returns what it left in .grad."""

    def run(case: AccumulationCase):
        model, largest, description = _fresh(case), max(case.sizes), case.name   # before the answer runs
        start = [p.detach().clone() for p in model.parameters()]
        seen: list[int] = []
        backward_passes = [0]
        handles = [module.register_forward_hook(_rows_seen(seen)) for module in model.modules()]
        handles.append(next(model.parameters()).register_hook(_backward_counter(backward_passes)))
        try:
            _run_with_notes(lambda: accumulate_gradients(model, case.loss_fn, case.batches),
                            _ACCUMULATION_NOTES)
        finally:
            for handle in handles:
                handle.remove()
        if seen and max(seen) > largest:
            raise WrongAnswer(
                f"In the case with {description}: your function ran the model on {max(seen)} examples at "
                f"once, but the largest batch holds {largest}. Accumulating gradients is for data "
                f"that does not fit in one batch: run the model on one batch at a time."
            )
        grads = []
        for name, p in model.named_parameters():
            if p.grad is None:
                raise WrongAnswer(
                    f"In the case with {description}: after your function, {name}.grad is None. Did the "
                    f"gradients get cleared (p.grad = None) after the last backward pass, or was no "
                    f"backward pass run?"
                )
            grads.append(p.grad.detach().clone())
        grads = tuple(grads)
        if _right(grads, expected[description]):
            if backward_passes[0] < len(case.batches):
                raise WrongAnswer(
                    f"In the case with {description}: your gradients are right, but your function ran "
                    f"{backward_passes[0]} backward pass(es) for {len(case.batches)} batches. Adding the "
                    f"batches' losses up before one backward pass keeps the graphs of all the batches in "
                    f"memory at once, which is what accumulating gradients avoids: run one backward pass "
                    f"per batch, right after its forward pass."
                )
            moved = [name for (name, p), p0 in zip(model.named_parameters(), start) if not p.detach().equal(p0)]
            if moved:
                raise WrongAnswer(
                    f"In the case with {description}: your gradients are right, but your function changed "
                    f"the parameters ({', '.join(moved)}): did it call an optimizer's step()? It should only "
                    f"leave the gradient in .grad and the parameters as they were; the update is the "
                    f"training loop's job."
                )
        return grads

    run.__name__ = getattr(accumulate_gradients, "__name__", "accumulate_gradients")
    return run


@exercise("ch08-ex-accumulate", answers=("accumulate_gradients",), points=3)
def _check_accumulate(accumulate_gradients) -> CheckResult:
    name = "accumulate_gradients"
    if _is_placeholder(accumulate_gradients):
        return not_answered(name)
    if not callable(accumulate_gradients):
        raise WrongAnswer(f"{name} should be a function, got {type(accumulate_gradients).__name__}.")
    cases = accumulation_cases()
    expected = [_gradients_of_all_batches_at_once(case) for case in cases]
    by_name = {case.name: grads for case, grads in zip(cases, expected)}
    names = [f"{n}.grad" for n, _ in cases[0].model.named_parameters()]
    return check_function(_accumulating_by(accumulate_gradients, by_name),
                          [((c,), e) for c, e in zip(cases, expected)],
                          name=name, rtol=RTOL, atol=ATOL, mistakes=ACCUMULATION_MISTAKES,
                          case_names=[c.name for c in cases], output_names=names, allowed_modules=ALLOWED)
