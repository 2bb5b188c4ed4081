"""The checks of chapter 1's coding exercises, keyed by exercise label.

* ``ch01-ex-gates``: weights and a bias, chosen by hand, for a logistic neuron
  that computes AND of two bits and one that computes OR.
* ``ch01-ex-mse``: the gradient of the mean squared error of a sigmoid neuron,
  ``mse_neuron_gradient(X, y, w, b) -> (dw, db)``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlp_course.exercises.checks import WrongAnswer, check_function, not_answered, passed, referee
from mlp_course.exercises.registry import exercise
from mlp_course.scratch import functional as F

# ==========================================================================
# ch01-ex-gates: AND and OR neurons
# ==========================================================================

#: The four inputs of two bits, in the order of every truth table below.
BITS: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1))
_BITS_TEXT = ", ".join(f"({a}, {b})" for a, b in BITS)

#: Every function of two bits a neuron can compute, as its answers on BITS.
#: (XOR and XNOR are missing: no line separates their classes.)
TRUTH_TABLES: dict[str, tuple[int, ...]] = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "x1 alone": (0, 0, 1, 1),
    "x2 alone": (0, 1, 0, 1),
    "NOT x1": (1, 1, 0, 0),
    "NOT x2": (1, 0, 1, 0),
    "x1 AND NOT x2": (0, 0, 1, 0),
    "x2 AND NOT x1": (0, 1, 0, 0),
    "x1 OR NOT x2": (1, 0, 1, 1),
    "x2 OR NOT x1": (1, 1, 0, 1),
    "always 0": (0, 0, 0, 0),
    "always 1": (1, 1, 1, 1),
}


def _numbers(value: Any, name: str, what: str) -> np.ndarray:
    """``value`` as a finite real array, or a WrongAnswer that says what was expected."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception:  # ragged lists and the like
        array = None
    if array is None or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
                             or array.dtype == bool):
        text = repr(value)
        text = text if len(text) <= 60 else text[:57] + "..."
        raise WrongAnswer(f"{name} should be {what}, got {type(value).__name__}: {text}")
    if not np.all(np.isfinite(array)):
        raise WrongAnswer(f"{name} should be {what} with finite values, got {array.tolist()}")
    return array


def _weights(value: Any, name: str) -> np.ndarray:
    array = _numbers(value, name, "two weights (a list or an array of two numbers)")
    if array.size != 2:
        shown = array.tolist()
        raise WrongAnswer(
            f"{name} should hold two weights, one per input bit: expected 2 weights, got {array.size}"
            + (f" ({shown})." if array.size <= 6 else f" (an array of shape {array.shape}).")
        )
    return array.reshape(-1).astype(np.float64)


def _bias(value: Any, name: str) -> float:
    array = _numbers(value, name, "a single number (the bias)")
    if array.size != 1:
        raise WrongAnswer(
            f"{name} should be a single number (the bias), got {array.size} numbers "
            f"(an array of shape {array.shape})."
        )
    return float(array.reshape(-1)[0])


def weighted_sums(w: np.ndarray, b: float) -> np.ndarray:
    """z = X_bits @ w + b on the four inputs, in float64, as the chapter's ``predict_proba`` computes it."""
    return np.array(BITS, dtype=np.float64) @ w + b


def classes(z: np.ndarray) -> tuple[int, ...]:
    """The chapter's rule: class 1 when p = sigmoid(z) >= 1/2, that is when z >= 0 (z = 0 included)."""
    return tuple(int(value >= 0) for value in z)


def _numbers_text(values: Sequence[Any]) -> str:
    return ", ".join(f"{float(v):.6g}" for v in values)


def _gate_hint(gate: str, other: str, bias_name: str, z: np.ndarray, got: tuple[int, ...]) -> str:
    """Why a neuron that should compute ``gate`` answers ``got`` instead."""
    want = TRUTH_TABLES[gate]
    on_boundary = [i for i, value in enumerate(z) if value == 0]
    if on_boundary and all(got[i] == 1 and want[i] == 0 for i in on_boundary) and all(
            got[i] == want[i] for i in range(len(BITS)) if i not in on_boundary):
        points = " and ".join(f"({BITS[i][0]}, {BITS[i][1]})" for i in on_boundary)
        return (
            f" The boundary passes exactly through {points}: z = 0 there, and z = 0 counts as class 1 "
            f"(p = sigmoid(0) = 1/2, and the neuron predicts class 1 when p >= 1/2). "
            f"Move the boundary off {'them' if len(on_boundary) > 1 else 'it'}: a slightly different bias does it."
        )
    name = next((n for n, table in TRUTH_TABLES.items() if table == got), None)
    if name == other:
        if gate == "AND":
            return (f" That is OR, the other gate: are the AND and OR answers swapped? If not, {bias_name} "
                    f"is too large: a single 1 already reaches z >= 0.")
        return (f" That is AND, the other gate: are the AND and OR answers swapped? If not, {bias_name} "
                f"is too negative: a single 1 does not reach z >= 0.")
    if name == {"AND": "NAND", "OR": "NOR"}[gate]:
        return (f" That is {name}, the exact opposite of {gate}: flip the signs of the weights and of "
                f"the bias.")
    if tuple(int(value <= 0) for value in z) == want:
        return (f" This neuron would compute {gate} if class 1 meant z <= 0. But class 1 is z >= 0 "
                f"(p = sigmoid(z) >= 1/2), the side that w points to: flip the signs of the weights and of "
                f"the bias.")
    if name == "always 1":
        return (f" It answers 1 for every input, even (0, 0), where z = b: {bias_name} is too large "
                f"(z = 0 counts as class 1).")
    if name == "always 0":
        return (" It answers 0 for every input, even (1, 1): the bias is too negative for the weights, "
                "or a weight is negative.")
    what = f"It computes {name}." if name else ""
    return (f" {what} Which inputs must reach z >= 0 (class 1), and which must stay below 0?").replace("  ", " ")


def _check_gate(gate: str, other: str, w: Any, b: Any, w_name: str, b_name: str) -> None:
    weights, bias = _weights(w, w_name), _bias(b, b_name)
    z = weighted_sums(weights, bias)
    got = classes(z)
    want = TRUTH_TABLES[gate]
    if got != want:
        raise WrongAnswer(
            f"The {gate} neuron ({w_name}, {b_name}) answers {', '.join(map(str, got))} on the inputs "
            f"{_BITS_TEXT}; {gate} is {', '.join(map(str, want))}. Its weighted sums "
            f"z = w1 x1 + w2 x2 + b there are {_numbers_text(z)}."
            + _gate_hint(gate, other, b_name, z, got)
        )


def _is_placeholder(value: Any) -> bool:
    return value is None or value is Ellipsis


@exercise("ch01-ex-gates", answers=("w_and", "b_and", "w_or", "b_or"), points=2)
def _check_gates(w_and: Any, b_and: Any, w_or: Any, b_or: Any):
    """Both neurons must give the gate's answer on the four inputs of two bits.

    The check builds the four inputs itself and applies the chapter's rule:
    z = X_bits @ w + b, in float64 as the chapter's code computes it, and
    class 1 when z >= 0, so z = 0 counts as class 1 (p = sigmoid(0) = 1/2 >= 1/2).
    The weights may be a list, a tuple or an array; the bias any number.
    """
    neurons = [("AND", "OR", w_and, b_and, "w_and", "b_and"), ("OR", "AND", w_or, b_or, "w_or", "b_or")]
    missing = []
    for gate, other, w, b, w_name, b_name in neurons:
        if _is_placeholder(w) or _is_placeholder(b):
            missing.append((gate, w_name, b_name))
            continue
        _check_gate(gate, other, w, b, w_name, b_name)
    if len(missing) == 2:
        return not_answered("The gates exercise (w_and, b_and, w_or, b_or)", "replace each None in the cell above")
    if missing:
        gate, w_name, b_name = missing[0]
        done = "OR" if gate == "AND" else "AND"
        return not_answered(
            f"The {gate} neuron ({w_name}, {b_name})",
            f"your {done} neuron is right; now replace the None of {w_name} or {b_name} in the cell above",
        )
    return passed(f"The AND and the OR neuron give the right answer on all four inputs {_BITS_TEXT}.")


# ==========================================================================
# ch01-ex-mse: the gradient of the squared error of a sigmoid neuron
# ==========================================================================


@functools.lru_cache(maxsize=1)
def _iris_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    iris = load_iris()
    keep = iris.target > 0                       # versicolor (1) and virginica (2)
    X_cm = iris.data[keep][:, 2:4]               # petal length and width, in cm
    y = (iris.target[keep] == 2).astype(np.float64)
    X = (X_cm - X_cm.mean(axis=0)) / X_cm.std(axis=0)
    return X, y


def iris_two_species() -> tuple[np.ndarray, np.ndarray]:
    """The chapter's data: standardised petal length and width (N = 100, d = 2) and y = 1 for virginica."""
    X, y = _iris_arrays()
    return X.copy(), y.copy()


def _mse_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    return float(np.mean((F.sigmoid(X @ w + b) - y) ** 2))


@referee
def mse_gradient_by_scratch(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """mlp_course.scratch: Linear(d, 1), Sigmoid and MSELoss, then their backward pass."""
    from mlp_course import scratch

    layer = scratch.Linear(len(w), 1, dtype=np.float64, rng=np.random.default_rng(0))
    model = scratch.Sequential(layer, scratch.Sigmoid())
    layer.weight.data[:, 0] = w
    layer.bias.data[0] = b
    loss = scratch.MSELoss()
    loss(model(np.asarray(X, dtype=np.float64)), np.asarray(y, dtype=np.float64).reshape(-1, 1))
    model.zero_grad()
    model.backward(loss.backward())
    return layer.weight.grad[:, 0].copy(), float(layer.bias.grad[0])


@referee
def mse_gradient_by_finite_differences(
        X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """Central differences of the loss, one parameter at a time (step h = 1e-6, float64)."""
    from mlp_course.gradcheck import numerical_gradient

    w = np.array(w, dtype=np.float64)
    b_array = np.array([b], dtype=np.float64)   # in an array, so that it can be nudged in place

    def loss() -> float:
        return _mse_loss(X, y, w, b_array[0])

    return numerical_gradient(loss, w), float(numerical_gradient(loss, b_array)[0])


@referee
def mse_gradient_by_pytorch(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """PyTorch's autograd, in float64."""
    import torch

    w_t = torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    b_t = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    p_t = torch.sigmoid(torch.tensor(np.asarray(X, dtype=np.float64)) @ w_t + b_t)
    torch.mean((p_t - torch.tensor(np.asarray(y, dtype=np.float64))) ** 2).backward()
    return w_t.grad.numpy().copy(), float(b_t.grad.item())


def mse_inputs() -> list[tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]]]:
    """The test inputs (name, (X, y, w, b)), built deterministically.

    The first has as many examples as features, so that ``X @ dz`` in place of
    ``X.T @ dz`` runs and can be named; two have 3 features, so that no answer
    can assume 2; two are the chapter's iris data, at the hand-picked neuron
    and at a random point with b != 0 and weights of a few units.
    """
    rng = np.random.default_rng(2026)
    X_square = rng.normal(size=(3, 3))
    y_square = np.array([1.0, 0.0, 1.0])
    w_square, b_square = rng.normal(scale=1.5, size=3), float(rng.normal())
    X_iris, y_iris = iris_two_species()
    w_iris, b_iris = rng.uniform(-3, 3, size=2), float(rng.uniform(-2, 2))
    X_random = rng.normal(size=(12, 3))
    y_random = (X_random[:, 0] + 0.5 * rng.normal(size=12) > 0).astype(np.float64)
    w_random, b_random = rng.normal(scale=2.0, size=3), float(rng.normal())
    return [
        ("3 examples with 3 features", (X_square, y_square, w_square, b_square)),
        ("iris, the hand-picked neuron w = (1, 1), b = 0", (X_iris, y_iris, np.array([1.0, 1.0]), 0.0)),
        ("iris, a random w and b", (X_iris.copy(), y_iris.copy(), w_iris, b_iris)),
        ("12 examples with 3 features", (X_random, y_random, w_random, b_random)),
    ]


#: Which referee computes the expected gradient of each input of :func:`mse_inputs`.
MSE_REFEREES = (mse_gradient_by_pytorch, mse_gradient_by_scratch,
                mse_gradient_by_finite_differences, mse_gradient_by_pytorch)


def _mse_cases() -> tuple[list, list[str]]:
    inputs = mse_inputs()
    cases = [(args, ref(*args)) for (_, args), ref in zip(inputs, MSE_REFEREES)]
    return cases, [name for name, _ in inputs]


# The plausible mistakes, each as code that makes it. They run only to name a
# wrong answer's mistake; the expected values come from the referees above.

def _pair(X: np.ndarray, dz: np.ndarray) -> tuple[np.ndarray, float]:
    return X.T @ dz, float(np.sum(dz))


def _forward(X: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    z = X @ w + b
    return z, F.sigmoid(z)


def _sigma_prime_at_p(X, y, w, b):
    _, p = _forward(X, w, b)
    s = F.sigmoid(p)
    return _pair(X, 2 * (p - y) * s * (1 - s) / len(y))


def _output_form_at_z(X, y, w, b):
    z, p = _forward(X, w, b)
    return _pair(X, 2 * (p - y) * z * (1 - z) / len(y))


def _no_mean(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, 2 * (p - y) * p * (1 - p))


def _no_two(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, (p - y) * p * (1 - p) / len(y))


def _cross_entropy(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, (p - y) / len(y))


def _no_sigma_prime(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, 2 * (p - y) / len(y))


def _wrong_sign(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, 2 * (y - p) * p * (1 - p) / len(y))


def _dz(X, y, w, b):
    _, p = _forward(X, w, b)
    return 2 * (p - y) * p * (1 - p) / len(y)


def _not_transposed(X, y, w, b):
    dz = _dz(X, y, w, b)
    return X @ dz, float(np.sum(dz))


def _entry_by_entry(X, y, w, b):
    dz = _dz(X, y, w, b)
    return X.T * dz, float(np.sum(dz))


def _swapped(X, y, w, b):
    dw, db = _pair(X, _dz(X, y, w, b))
    return db, dw


def _no_bias(X, y, w, b):
    p = F.sigmoid(X @ w)
    return _pair(X, 2 * (p - y) * p * (1 - p) / len(y))


def _n_hard_coded(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, 2 * (p - y) * p * (1 - p) / 100)


def _divided_by_d(X, y, w, b):
    _, p = _forward(X, w, b)
    return _pair(X, 2 * (p - y) * p * (1 - p) / X.shape[1])


def _mean_over_features(X, y, w, b):
    _, p = _forward(X, w, b)
    signal = 2 * (p - y) * p * (1 - p)
    return np.mean(X * signal[:, None], axis=1), float(np.mean(signal))


def _p_changed_in_place(X, y, w, b):
    """``dz = p; dz -= y; dz *= 2 * p * (1 - p) / N``: dz is p, so p * (1 - p) is computed from p - y."""
    _, p = _forward(X, w, b)
    p = p - y
    return _pair(X, p * 2 * p * (1 - p) / len(y))


def _two_features_in_z(X, y, w, b):
    p = F.sigmoid(X[:, 0] * w[0] + X[:, 1] * w[1] + b)
    return _pair(X, 2 * (p - y) * p * (1 - p) / len(y))


def _two_features_in_dw(X, y, w, b):
    dz = _dz(X, y, w, b)
    return X[:, :2].T @ dz, float(np.sum(dz))


def _two_features_everywhere(X, y, w, b):
    p = F.sigmoid(X[:, 0] * w[0] + X[:, 1] * w[1] + b)
    dz = 2 * (p - y) * p * (1 - p) / len(y)
    return X[:, :2].T @ dz, float(np.sum(dz))


_TWO_FEATURES = ("two features are hard-coded (w[0], w[1], X[:, 0], X[:, 1] or X[:, :2]), but this case "
                 "has 3. Write X @ w + b and X.T @ dz, which work for any number d of features.")

MSE_MISTAKES = [
    (_sigma_prime_at_p, "sigma' taken at p instead of at z: sigmoid(p) * (1 - sigmoid(p)) applies the "
                        "sigmoid twice. Use p * (1 - p), or sigmoid(z) * (1 - sigmoid(z))."),
    (_output_form_at_z, "sigma' in its output form fed with z: z * (1 - z) is right only with the output, "
                        "p * (1 - p)."),
    (_no_mean, "the 1/N of the mean is missing: L averages the N per-example losses, so divide by N = len(y)."),
    (_no_two, "the factor 2 is missing: the derivative of (p - y)^2 with respect to p is 2 (p - y)."),
    (_cross_entropy, "this is the gradient of the cross-entropy, (p - y) / N, not of the squared error: "
                     "redo the chain link by link for l = (p - y)^2."),
    (_no_sigma_prime, "the link dp/dz = sigma'(z) is missing from the chain."),
    (_wrong_sign, "the sign is flipped: the derivative of (p - y)^2 is 2 (p - y), prediction minus target."),
    (_not_transposed, "X @ dz in place of X.T @ dz: dL/dw_j sums x_ij dL/dz_i over the examples i, which is "
                      "X.T @ dz, of shape (d,). (X @ dz runs here only because this case has as many examples "
                      "as features.)"),
    (_entry_by_entry, "X.T * dz multiplies entry by entry and keeps one column per example; the sum over the "
                      "examples is the matrix product X.T @ dz."),
    (_swapped, "the pair is in the wrong order: return (dw, db)."),
    (_no_bias, "the bias b is missing from the forward pass: p = sigmoid(X @ w + b)."),
    (_n_hard_coded, "N is hard-coded as 100, the size of the iris data, but this case has a different number "
                    "of examples: divide by N = len(y)."),
    (_divided_by_d, "divided by the number of features d = X.shape[1] instead of the number of examples "
                    "N = len(y): L is a mean over the examples."),
    (_mean_over_features, "the mean runs over axis 1, the features, and gives one number per example; dL/dw_j "
                          "averages x_ij times the signal over the examples i, axis 0 (or write X.T @ dz / N). "
                          "(It has the right shape here only because this case has as many examples as "
                          "features.)"),
    (_p_changed_in_place, "p was changed in place: after `dz = p`, dz and p are the same array, so `dz -= y` "
                          "also changes p, and p * (1 - p) is then computed from p - y. Write dz = p - y, which "
                          "makes a new array."),
    (_two_features_in_z, _TWO_FEATURES),
    (_two_features_in_dw, _TWO_FEATURES),
    (_two_features_everywhere, _TWO_FEATURES),
]


_MSE_ARGUMENTS = ("X", "y", "w", "b")


def _reading_only(fn: Any, name: str, case_names: Sequence[str]) -> Any:
    """``fn``, made to fail when it changes an array it is given.

    ``check_function`` hands every case a fresh copy of its inputs, so an answer
    that changes them (``w -= ...``) would go unnoticed there; in a training loop
    it would change the caller's weights behind its back. Values are compared, so
    an operation that leaves them as they were (``X -= 0``) passes.
    """
    if _is_placeholder(fn) or not callable(fn):
        return fn
    calls = iter(range(1, len(case_names) + 1))

    def answer(*args: Any) -> Any:
        number = next(calls, len(case_names))
        before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
        result = fn(*args)
        for argument, old, new in zip(_MSE_ARGUMENTS, before, args):
            if old is not None and not np.array_equal(old, new, equal_nan=True):
                raise WrongAnswer(
                    f"Case {number} of {len(case_names)} ({case_names[number - 1]}): {name} changed its "
                    f"argument {argument} in place (with `{argument} -= ...`, `{argument} *= ...` or "
                    f"`{argument}[...] = ...`). A gradient function should only read its arguments: a training "
                    f"loop that calls it would see its {argument} change. Compute new arrays instead "
                    f"(`{argument}_new = {argument} - ...`), or work on a copy ({argument}.copy())."
                )
        return result

    return answer


@exercise("ch01-ex-mse", answers=("mse_neuron_gradient",), points=3)
def _check_mse(mse_neuron_gradient: Any):
    """``mse_neuron_gradient(X, y, w, b)`` must return (dL/dw, dL/db) of mean((sigmoid(X @ w + b) - y)^2).

    Expected values come from three referees: the scratch library's backward
    pass, finite differences and PyTorch's autograd in float64. The answer must
    be NumPy code of the learner's own: PyTorch, the course's library (but for
    ``mlp_course.scratch.functional``) and this module are refused while it runs,
    and so is an answer that changes its inputs.
    """
    cases, names = _mse_cases()
    return check_function(_reading_only(mse_neuron_gradient, "mse_neuron_gradient", names), cases,
                          name="mse_neuron_gradient", mistakes=MSE_MISTAKES, case_names=names,
                          output_names=("dw", "db"))
