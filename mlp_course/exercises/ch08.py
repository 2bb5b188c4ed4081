"""The checks of chapter 8's coding exercises, keyed by exercise label.

* ``ch08-ex-jacobian``: ``jacobian_by_vjps(f, x)`` returns the Jacobian of ``f`` at ``x``, a
  tensor of shape ``(q, n)`` for ``x`` of ``n`` entries and ``f(x)`` of ``q``, built row by row
  from backward passes (vector-Jacobian products). The referee is
  ``torch.autograd.functional.jacobian``.
* ``ch08-ex-accumulate``: ``accumulate_gradients(model, loss_fn, batches)`` leaves in every
  parameter's ``.grad`` the gradient of the mean loss over all the examples of ``batches``,
  running one batch at a time. The referee runs the model once on all the batches put together.

Both answers use PyTorch (``allowed_modules=("torch",)``). The functions ``f`` that the Jacobian
check passes are the check's own: the answer may call them, but not through a PyTorch function
that builds the Jacobian for it. The gradient check hands the answer a model whose ``.grad``
already holds an earlier gradient, as a training loop's last step would leave it, and watches that
the answer runs the model one batch at a time. Every case is built anew, in float64, from
``torch.manual_seed`` inside the case builder, and ``check_function`` copies it before each call,
so an answer that changes the model, ``x`` or the batches cannot spoil the comparison.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

from mlp_course.exercises.checks import (
    answer_is_running,
    CheckResult,
    WrongAnswer,
    answer_may_call,
    check_function,
    not_answered,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = ["jacobian_cases", "JACOBIAN_MISTAKES", "accumulation_cases", "ACCUMULATION_MISTAKES"]

ALLOWED = ("torch",)


def _is_placeholder(answer) -> bool:
    return answer is None or answer is Ellipsis


def _add_note(error: BaseException, note: str) -> None:
    if hasattr(error, "add_note"):    # Python 3.11 and later
        error.add_note(note)


# --------------------------------------------------------------------------
# ch08-ex-jacobian
# --------------------------------------------------------------------------


class _Function:
    """A function from R^n to R^q, made of tensor operations: the ``f`` the answer receives."""

    def __init__(self, description: str, n: int, q: int, compute) -> None:
        self.description, self.n, self.q, self._compute = description, n, q, compute

    def __repr__(self) -> str:   # what a message shows of the case
        return f"<f: {self.description}>"

    @answer_may_call
    def __call__(self, x):
        if answer_is_running():
            caller = sys._getframe(1).f_globals.get("__name__") or ""
            if caller == "torch" or caller.startswith("torch."):
                raise WrongAnswer(
                    f"f was called by PyTorch ({caller}), not by your code: a function such as "
                    f"torch.autograd.functional.jacobian or torch.func.jacrev builds the Jacobian for "
                    f"you. This exercise asks you to build it yourself: call f once, then run one "
                    f"backward pass per row."
                )
        return self._compute(x)


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
    """The Jacobian of f at x, (q, n), by ``torch.autograd.functional.jacobian``."""
    import torch

    return torch.autograd.functional.jacobian(f, x.detach()).reshape(f.q, f.n)


def jacobian_cases():
    """((f, x), J) for each function; the third x requires grad and holds an earlier .grad."""
    import torch

    functions = _functions()
    with torch.random.fork_rng(devices=[]):     # the learner's own random state is left as it was
        torch.manual_seed(9)
        xs = [torch.randn(f.n, dtype=torch.float64) for f in functions]
        stale = torch.randn(functions[2].n, dtype=torch.float64)
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
    return _jac(f, x).sum(dim=0).expand(f.q, f.n)


def _stale_in_first_row(f, x):
    J = _jac(f, x).clone()
    J[0] += _stale(x)
    return J


JACOBIAN_MISTAKES = [
    (_transposed,
     "this is the transpose of J. Row k of J holds the derivatives of output k, J[k, j] = du_k/dx_j, so J "
     "has one row per output (q rows) and one column per entry of x (n columns)."),
    (_rows_accumulated,
     "row k holds the sum of rows 0 to k: x.grad accumulates over the backward passes. Clear it (x.grad = "
     "None, or x.grad.zero_()) before each backward pass, or read each row from torch.autograd.grad."),
    (_ones_instead_of_e_k,
     "every row is the sum of the rows of J, 1^T J: each backward pass got a vector of ones (torch.ones_like, "
     "or a sum of the outputs) where the one-hot vector e_k of output k belongs."),
    (_stale_in_first_row,
     "x arrived with a .grad from earlier work, and the first backward pass added to it: row 0 includes it. "
     "Work on a fresh leaf, x.detach().requires_grad_(), or clear x.grad before the first backward pass too."),
]

_NON_LEAF = ("your code read the .grad of a tensor that is not a leaf (PyTorch warned about it), and that "
             ".grad is None: backward fills .grad only for leaves. Make a leaf that requires grad, "
             "x = x.detach().requires_grad_(), and call f on that x.")
_NOTES = {
    "does not require grad": "the x the check passes may not require grad: make a leaf that does, "
                             "x = x.detach().requires_grad_(), before calling f.",
    "backward through the graph a second time": "each backward pass frees the graph it ran through; to run "
                                                "one backward pass per row through the same graph, pass "
                                                "retain_graph=True (to every pass but the last, or to all).",
    "grad can be implicitly created only for scalar outputs": "f(x) has q entries: backward needs the vector "
                                                              "v of the product v^T J, "
                                                              "u.backward(gradient=v).",
}


def _jacobian_by(jacobian_by_vjps):
    """The answer, called so that an error or a None gets a note that names the likely cause."""

    def run(f, x):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = jacobian_by_vjps(f, x)
            except Exception as error:
                non_leaf = any("not a leaf Tensor" in str(w.message) for w in caught)
                notes = [_NON_LEAF] if non_leaf else []
                notes += [note for text, note in _NOTES.items() if text in str(error)]
                for note in notes:
                    _add_note(error, f"Hint: {note}")
                raise
        non_leaf = any("not a leaf Tensor" in str(w.message) for w in caught)
        if non_leaf and _has_none(result):
            raise WrongAnswer(f"jacobian_by_vjps returned None in place of a row: {_NON_LEAF}")
        if isinstance(result, (list, tuple)) and result and all(hasattr(r, "detach") for r in result):
            raise WrongAnswer(
                f"jacobian_by_vjps returned a {type(result).__name__} of {len(result)} tensors; return one "
                f"tensor of shape ({f.q}, {f.n}): put the rows together with torch.stack."
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
    return check_function(_jacobian_by(jacobian_by_vjps), jacobian_cases(), name=name, rtol=1e-10,
                          atol=1e-12, mistakes=JACOBIAN_MISTAKES, case_names=JACOBIAN_CASE_NAMES,
                          allowed_modules=ALLOWED)


# --------------------------------------------------------------------------
# ch08-ex-accumulate
# --------------------------------------------------------------------------


@dataclass
class AccumulationCase:
    """A model whose parameters hold an earlier gradient, a mean loss, and the batches."""

    name: str
    model: object = field(repr=False)
    loss_fn: object = field(repr=False)
    batches: list = field(repr=False)
    stale: list = field(repr=False)      # the .grad of each parameter when the answer starts

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
    """Three cases, float64, from torch.manual_seed: equal batches of a regression network, unequal
    batches of a classifier, and a single batch of one example after a batch of six."""
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
         [4, 4, 4]),
        ("batches of 5, 2 and 3 examples, cross-entropy, a 4-6-3 ReLU network",
         nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)), nn.CrossEntropyLoss(), "classes",
         [5, 2, 3]),
        ("batches of 6 and 1 examples, MSE loss, a 2-3-1 tanh network",
         nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)), nn.MSELoss(), "regression",
         [6, 1]),
    ]
    for name, model, loss_fn, kind, sizes in specs:
        model = model.double()
        N, d = sum(sizes), model[0].in_features
        X = torch.randn(N, d, dtype=torch.float64)
        if kind == "regression":
            y = torch.randn(N, model[-1].out_features, dtype=torch.float64)
        else:
            y = torch.randint(0, model[-1].out_features, (N,))
        stale = [torch.randn_like(p) for p in model.parameters()]   # an earlier step's gradient
        cases.append(AccumulationCase(name, model, loss_fn, _batches(X, y, sizes), stale))
    return cases


def _fresh(case: AccumulationCase):
    """The case's model, with its stale gradients in .grad, as the answer receives it."""
    for p, g in zip(case.model.parameters(), case.stale):
        p.grad = g.detach().clone()
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
        total.append(g + p_stale if stale else g)
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
]


def _rows_seen(seen):
    """A forward hook that records how many examples each call of the model got."""

    def hook(module, inputs, output):
        seen.append(len(inputs[0]) if inputs and hasattr(inputs[0], "__len__") else 0)

    return answer_may_call(hook)


def _accumulating_by(accumulate_gradients):
    """The answer, called on a model that holds stale gradients; returns what it left in .grad."""

    def run(case: AccumulationCase):
        model, largest, description = _fresh(case), max(case.sizes), case.name   # before the answer runs
        seen: list[int] = []
        handle = model.register_forward_hook(_rows_seen(seen))
        try:
            accumulate_gradients(model, case.loss_fn, case.batches)
        finally:
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
        return tuple(grads)

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
    names = [f"{n}.grad" for n, _ in cases[0].model.named_parameters()]
    return check_function(_accumulating_by(accumulate_gradients), [((c,), e) for c, e in zip(cases, expected)],
                          name=name, rtol=1e-10, atol=1e-12, mistakes=ACCUMULATION_MISTAKES,
                          case_names=[c.name for c in cases], output_names=names, allowed_modules=ALLOWED)
