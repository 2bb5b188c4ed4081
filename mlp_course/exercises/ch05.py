"""The checks of chapter 5's coding exercises, keyed by exercise label.

* ``ch05-ex-tanh``: ``tanh_layer_backward(A_prev, W, b, dA)`` returns
  ``(dA_prev, dW, db)`` for ``A = tanh(A_prev @ W + b)``, given the upstream
  gradient ``dA``.
* ``ch05-ex-regression``: ``mse_head_backward(A_prev, W, b, Y)`` returns
  ``(dA_prev, dW, db)`` for the loss ``mean((A_prev @ W + b - Y) ** 2)``, the
  mean over all ``N * m`` entries (``torch.nn.MSELoss``, ``scratch.MSELoss``).

The expected values come from referees that share no code with an answer:
PyTorch's autograd in float64, central finite differences, and the course's
library ``mlp_course.scratch``. Each list of known mistakes pairs a function
that makes one plausible mistake, and only that one, with a hint naming it.

Besides the watch of :func:`~mlp_course.exercises.checks.check_function` (a call from the answer into
PyTorch, the course's library or this module fails it), both checks refuse an answer that *is* the
package's own code, passed as it is (a referee's ``__wrapped__``, a mistake helper such as
``_tanh_with()``), and say so when a wrong answer was computed in float32.
"""

from __future__ import annotations

import itertools

import numpy as np

from mlp_course.exercises.checks import CheckResult, RefereeCalled, WrongAnswer, check_function, referee
from mlp_course.exercises.registry import exercise
from mlp_course.gradcheck import numerical_gradient

__all__ = [
    "tanh_layer_by_torch", "tanh_layer_by_finite_differences", "tanh_cases", "TANH_MISTAKES",
    "mse_head_by_scratch", "mse_head_by_finite_differences", "mse_cases", "MSE_MISTAKES",
]


def _float64(*arrays):
    return tuple(np.array(array, dtype=np.float64) for array in arrays)


GRADIENTS = ("dA_prev", "dW", "db")


def _is_low_precision(value) -> bool:
    dtype = getattr(value, "dtype", None)
    try:
        dtype = np.dtype(dtype) if dtype is not None else None
    except TypeError:   # a PyTorch dtype
        return "float16" in str(dtype) or "float32" in str(dtype) or "bfloat16" in str(dtype)
    return dtype is not None and dtype.kind == "f" and dtype.itemsize < 8


_FLOAT32 = (" Note: your function returned float32 numbers (in {which}). float32 keeps about 7 significant "
            "digits, too few for this check (relative tolerance 1e-6): compute in float64, the dtype of the "
            "inputs, without np.float32 or .astype(np.float32).")


def _check_backward(answer, cases, names, name, mistakes) -> CheckResult:
    """check_function for a backward pass returning (dA_prev, dW, db), with the two refusals above."""
    if answer is None or answer is Ellipsis or not callable(answer):
        return check_function(answer, cases, name=name, mistakes=mistakes, case_names=names,
                              output_names=GRADIENTS)
    last_result = []

    def watched(*args):
        result = answer(*args)
        last_result[:] = [result]
        return result

    try:
        return check_function(watched, cases, name=name, mistakes=mistakes, case_names=names,
                              output_names=GRADIENTS)
    except RefereeCalled:
        raise
    except WrongAnswer as wrong:
        result = last_result[0] if last_result else None
        parts = result if isinstance(result, (tuple, list)) else (result,)
        low = [GRADIENTS[i] if i < len(GRADIENTS) and isinstance(result, (tuple, list)) else "the result"
               for i, part in enumerate(parts) if _is_low_precision(part)]
        if not low:
            raise
        raise WrongAnswer(str(wrong) + _FLOAT32.format(which=", ".join(low))) from None


def _reordered(backward, order):
    """backward with its three results returned in ``order`` (indices into (dA_prev, dW, db))."""

    def reordered(*args):
        result = backward(*args)
        return tuple(result[i] for i in order)

    return reordered


def _order_mistakes(backward):
    """A (mistake, hint) pair for every other order of the tuple (dA_prev, dW, db)."""
    return tuple(
        (_reordered(backward, order),
         f"the gradients are in the order ({', '.join(GRADIENTS[i] for i in order)}): return them as "
         f"(dA_prev, dW, db), in this order.")
        for order in itertools.permutations(range(3)) if order != (0, 1, 2)
    )


# --------------------------------------------------------------------------
# ch05-ex-tanh: the backward pass of a tanh layer
# --------------------------------------------------------------------------


@referee
def tanh_layer_by_torch(A_prev, W, b, dA):
    """(dA_prev, dW, db) for A = tanh(A_prev @ W + b), by PyTorch's autograd in float64."""
    import torch

    A_prev_t, W_t, b_t = (torch.tensor(array, requires_grad=True) for array in _float64(A_prev, W, b))
    torch.tanh(A_prev_t @ W_t + b_t).backward(torch.tensor(np.asarray(dA, dtype=np.float64)))
    return A_prev_t.grad.numpy(), W_t.grad.numpy(), b_t.grad.numpy()


@referee
def tanh_layer_by_finite_differences(A_prev, W, b, dA):
    """The same gradients by central differences of L = sum(tanh(A_prev @ W + b) * dA), whose dL/dA is dA."""
    A_prev, W, b = _float64(A_prev, W, b)   # nudged in place below

    def loss():
        return float(np.sum(np.tanh(A_prev @ W + b) * dA))

    return tuple(numerical_gradient(loss, array) for array in (A_prev, W, b))


#: (name, (N, d_in, d_out), referee name) of every case. The square W comes first: there a
#: missing transpose raises no shape error, so it is caught by its values, with a hint.
TANH_SHAPES = (
    ("square W: a missing transpose changes no shape", (8, 3, 3), "torch"),
    ("N = 6 examples, 4 inputs, 3 outputs", (6, 4, 3), "torch"),
    ("a single example, more outputs than inputs", (1, 2, 5), "torch"),
    ("N = 5 examples, 6 inputs, 2 outputs", (5, 6, 2), "finite differences"),
)


def tanh_cases(seed: int = 5) -> tuple[list, list[str]]:
    """The test cases ((A_prev, W, b, dA), expected) and their names, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    cases, names = [], []
    for name, (n_examples, d_in, d_out), by in TANH_SHAPES:
        args = (rng.normal(size=(n_examples, d_in)), rng.normal(size=(d_in, d_out)),
                rng.normal(size=d_out), rng.normal(size=(n_examples, d_out)))
        try:
            expected = (tanh_layer_by_torch if by == "torch" else tanh_layer_by_finite_differences)(*args)
        except ImportError:  # no PyTorch installed: finite differences referee every case
            expected = tanh_layer_by_finite_differences(*args)
        cases.append((args, expected))
        names.append(name)
    return cases, names


def _tanh_with(Z_of=None, dZ_of=None, dA_prev_of=None, dW_of=None, db_of=None, divide_by_N=()):
    """A tanh backward pass with one step replaced: the model of one known mistake."""

    def backward(A_prev, W, b, dA):
        Z = Z_of(A_prev, W, b) if Z_of else A_prev @ W + b
        A = np.tanh(Z)
        dZ = dZ_of(A_prev, Z, A, dA) if dZ_of else dA * (1 - A**2)
        grads = {
            "dA_prev": dA_prev_of(dZ, W) if dA_prev_of else dZ @ W.T,
            "dW": dW_of(A_prev, A, dZ) if dW_of else A_prev.T @ dZ,
            "db": db_of(dZ) if db_of else dZ.sum(axis=0),
        }
        for name in divide_by_N:
            grads[name] = grads[name] / len(A_prev)
        return grads["dA_prev"], grads["dW"], grads["db"]

    return backward


def _sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


_TANH_AT_A = ("tanh' is evaluated at A = tanh(Z) instead of at Z (tanh applied twice): "
              "tanh'(Z) = 1 - tanh(Z)**2, which you may also write 1 - A**2.")
_TANH_AT_A_PREV = ("tanh' is evaluated at the layer's input A_prev: it belongs at this layer's "
                   "pre-activation Z = A_prev @ W + b, so dZ = dA * (1 - tanh(Z)**2).")
_ONE_OVER_N_TWICE = ("divided by N again: the upstream gradient dA already carries the 1/N of the mean "
                     "loss, and no layer divides a second time.")

#: (mistake, hint) pairs for ch05-ex-tanh: each function makes one mistake.
TANH_MISTAKES = (
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * (1 - np.tanh(A) ** 2)), _TANH_AT_A),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * (1 - A_prev**2)), _TANH_AT_A_PREV),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * (1 - np.tanh(A_prev) ** 2)), _TANH_AT_A_PREV),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * (1 - Z**2)),
     "1 - Z**2 is not tanh'(Z): the derivative is 1 - tanh(Z)**2, that is 1 - A**2."),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * (1 - A)),
     "the square is missing in tanh'(Z) = 1 - tanh(Z)**2 (that is 1 - A**2, not 1 - A)."),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA),
     "dZ = dA leaves out the activation: dZ = dA * tanh'(Z), with tanh'(Z) = 1 - A**2."),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * (A**2 - 1)),
     "the sign of tanh'(Z) is flipped: it is 1 - A**2, positive everywhere."),
    (_tanh_with(dZ_of=lambda A_prev, Z, A, dA: dA * _sigmoid(Z) * (1 - _sigmoid(Z))),
     "dZ uses the sigmoid's derivative, sigma(Z) * (1 - sigma(Z)): for a tanh layer the derivative is "
     "tanh'(Z) = 1 - tanh(Z)**2, that is 1 - A**2."),
    (_tanh_with(Z_of=lambda A_prev, W, b: A_prev @ W),
     "Z is recomputed without the bias: Z = A_prev @ W + b, and tanh'(Z) depends on b."),
    (_tanh_with(dA_prev_of=lambda dZ, W: dZ @ W),
     "dA_prev = dZ @ W is missing the transpose: dA_prev = dZ @ W.T (the shapes fit without it "
     "only because W is square here)."),
    (_tanh_with(dW_of=lambda A_prev, A, dZ: dZ.T @ A_prev),
     "dW is transposed: dW = A_prev.T @ dZ, of shape (d_in, d_out) like W."),
    (_tanh_with(dW_of=lambda A_prev, A, dZ: A.T @ dZ),
     "dW is made from the layer's output A: it is A_prev.T @ dZ, the layer's input times dZ."),
    (_tanh_with(db_of=lambda dZ: dZ.sum(axis=1)),
     "db is summed over the wrong axis: add up the rows of dZ (the examples), dZ.sum(axis=0), "
     "one entry per output neuron."),
    (_tanh_with(db_of=lambda dZ: dZ),
     "db is not summed over the batch: every example adds its row of dZ, so db = dZ.sum(axis=0)."),
    (_tanh_with(db_of=lambda dZ: dZ.mean(axis=0)),
     "db is a mean over the batch, which divides by N again: the upstream dA already carries the "
     "1/N of the mean loss, so db = dZ.sum(axis=0)."),
    (_tanh_with(divide_by_N=("dW", "db")), _ONE_OVER_N_TWICE),
    (_tanh_with(divide_by_N=("dA_prev", "dW", "db")), _ONE_OVER_N_TWICE),
    (_tanh_with(divide_by_N=("dW",)), _ONE_OVER_N_TWICE),
) + _order_mistakes(_tanh_with())


@exercise("ch05-ex-tanh", answers=("tanh_layer_backward",), points=3)
def check_tanh(tanh_layer_backward) -> CheckResult:
    """Check tanh_layer_backward on four cases against PyTorch's autograd and finite differences."""
    cases, names = tanh_cases()
    return _check_backward(tanh_layer_backward, cases, names, "tanh_layer_backward", TANH_MISTAKES)


# --------------------------------------------------------------------------
# ch05-ex-regression: a linear output layer with mean squared error
# --------------------------------------------------------------------------


@referee
def mse_head_by_scratch(A_prev, W, b, Y):
    """(dA_prev, dW, db) by the course's library: scratch.Linear and scratch.MSELoss, in float64."""
    from mlp_course import scratch

    A_prev, W, b, Y = _float64(A_prev, W, b, Y)
    layer = scratch.Linear(W.shape[0], W.shape[1], dtype=np.float64)
    layer.weight.data[...], layer.bias.data[...] = W, b
    loss = scratch.MSELoss()
    loss(layer(A_prev), Y)
    layer.zero_grad()
    dA_prev = layer.backward(loss.backward())
    return dA_prev, layer.weight.grad.copy(), layer.bias.grad.copy()


@referee
def mse_head_by_finite_differences(A_prev, W, b, Y):
    """The same gradients by central differences of mean((A_prev @ W + b - Y) ** 2)."""
    A_prev, W, b, Y = _float64(A_prev, W, b, Y)   # nudged in place below

    def loss():
        return float(np.mean((A_prev @ W + b - Y) ** 2))

    return tuple(numerical_gradient(loss, array) for array in (A_prev, W, b))


#: (name, (N, d_in, m), referee name). First a square W (d_in = m = 3), where a missing
#: transpose changes no shape. Its m = 3 and N = 5 make every constant factor of the known
#: mistakes different (2/(N m), 1/(N m), 2/N, 2/m, 2, 1/N, 1), so the first case names each
#: one: with m = 2, 2 (Y_hat - Y) / m would equal Y_hat - Y. Then m = 2, which the exercise
#: promises, and m = 1.
MSE_SHAPES = (
    ("m = 3 outputs, square W", (5, 3, 3), "scratch"),
    ("m = 2 outputs", (6, 4, 2), "finite differences"),
    ("m = 1 output", (4, 3, 1), "scratch"),
    ("m = 2 outputs, 2 inputs", (7, 2, 2), "scratch"),
)


def mse_cases(seed: int = 7) -> tuple[list, list[str]]:
    """The test cases ((A_prev, W, b, Y), expected) and their names, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    referees = {"scratch": mse_head_by_scratch, "finite differences": mse_head_by_finite_differences}
    cases, names = [], []
    for name, (n_examples, d_in, m), by in MSE_SHAPES:
        args = (rng.normal(size=(n_examples, d_in)), rng.normal(size=(d_in, m)),
                rng.normal(size=m), rng.normal(size=(n_examples, m)))
        cases.append((args, referees[by](*args)))
        names.append(name)
    return cases, names


def _mse_with(Y_hat_of=None, dY_hat_of=None, dA_prev_of=None, dW_of=None, db_of=None, divide_by_N=()):
    """An MSE head's backward pass with one step replaced: the model of one known mistake."""

    def backward(A_prev, W, b, Y):
        Y_hat = Y_hat_of(A_prev, W, b) if Y_hat_of else A_prev @ W + b
        N, m = Y.shape
        dZ = dY_hat_of(Y_hat, Y, N, m) if dY_hat_of else 2 * (Y_hat - Y) / (N * m)
        grads = {"dA_prev": dA_prev_of(dZ, W) if dA_prev_of else dZ @ W.T,
                 "dW": dW_of(A_prev, dZ) if dW_of else A_prev.T @ dZ,
                 "db": db_of(dZ) if db_of else dZ.sum(axis=0)}
        for name in divide_by_N:
            grads[name] = grads[name] / N
        return grads["dA_prev"], grads["dW"], grads["db"]

    return backward


_MSE_ONE_OVER_N_TWICE = ("divided by N again: dY_hat = 2 * (Y_hat - Y) / (N * m) already carries the "
                         "1/(N * m) of the mean, and dW, db and dA_prev are made from it without dividing again.")
_WHOLE_MEAN = "the loss is a mean over all N * m entries of Y, so dY_hat = 2 * (Y_hat - Y) / (N * m), that is / Y.size."

#: (mistake, hint) pairs for ch05-ex-regression: each function makes one mistake.
MSE_MISTAKES = (
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: Y_hat - Y),
     "dY_hat = Y_hat - Y has neither the factor 2 of the square nor the 1/(N * m) of the mean: "
     + _WHOLE_MEAN),
    # (Y_hat - Y) / N: m hard-coded as 2 in 2 (Y_hat - Y) / (N m), or half the squared error
    # averaged over the examples only. It is right when m = 2, so the case with m = 3 names it.
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: (Y_hat - Y) / N),
     "(Y_hat - Y) / N equals 2 * (Y_hat - Y) / (N * m) only when m = 2. Either the number of outputs "
     "is hard-coded (take it from Y.shape[1], or divide by Y.size, which is N * m), or this is the "
     "gradient of another loss, half the squared error averaged over the examples only."),
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: (Y_hat - Y) / (N * m)),
     "the factor 2 is missing: the derivative of (Y_hat - Y)**2 is 2 * (Y_hat - Y)."),
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: 2 * (Y_hat - Y) / N),
     "divided by N only: " + _WHOLE_MEAN),
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: 2 * (Y_hat - Y) / m),
     "divided by m only: " + _WHOLE_MEAN),
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: 2 * (Y_hat - Y)),
     "the 1/(N * m) of the mean is missing: " + _WHOLE_MEAN),
    (_mse_with(dY_hat_of=lambda Y_hat, Y, N, m: 2 * (Y - Y_hat) / (N * m)),
     "the sign is flipped: dY_hat is prediction minus target, 2 * (Y_hat - Y) / (N * m)."),
    (_mse_with(dA_prev_of=lambda dZ, W: dZ @ W),
     "dA_prev = dZ @ W is missing the transpose: dA_prev = dZ @ W.T (the shapes fit without it "
     "only because W is square here)."),
    (_mse_with(dW_of=lambda A_prev, dZ: dZ.T @ A_prev),
     "dW is transposed: dW = A_prev.T @ dZ, of shape (d_in, m) like W."),
    (_mse_with(db_of=lambda dZ: dZ.sum(axis=1)),
     "db is summed over the wrong axis: add up the rows of dZ (the examples), dZ.sum(axis=0), "
     "one entry per output."),
    (_mse_with(db_of=lambda dZ: dZ),
     "db is not summed over the batch: every example adds its row of dZ, so db = dZ.sum(axis=0)."),
    (_mse_with(db_of=lambda dZ: dZ.mean(axis=0)),
     "db is a mean over the batch, which divides by N a second time: dZ already carries the "
     "1/(N * m) of the loss, so db = dZ.sum(axis=0)."),
    (_mse_with(divide_by_N=("dW", "db")), _MSE_ONE_OVER_N_TWICE),
    (_mse_with(divide_by_N=("dA_prev", "dW", "db")), _MSE_ONE_OVER_N_TWICE),
    (_mse_with(divide_by_N=("dW",)), _MSE_ONE_OVER_N_TWICE),
    (_mse_with(Y_hat_of=lambda A_prev, W, b: A_prev @ W),
     "Y_hat is recomputed without the bias: Y_hat = A_prev @ W + b."),
) + _order_mistakes(_mse_with())


@exercise("ch05-ex-regression", answers=("mse_head_backward",), points=2)
def check_regression(mse_head_backward) -> CheckResult:
    """Check mse_head_backward on four cases against scratch.MSELoss and finite differences."""
    cases, names = mse_cases()
    return _check_backward(mse_head_backward, cases, names, "mse_head_backward", MSE_MISTAKES)
