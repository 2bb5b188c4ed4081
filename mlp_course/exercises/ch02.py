"""The checks of chapter 2's coding exercises, keyed by exercise label.

* ``ch02-ex-elu``: ``elu(z, alpha)`` returns ``(a, da_dz)`` and never takes
  ``exp`` of a large positive number, whatever ``np.errstate`` it sets.
* ``ch02-ex-xor-tanh``: hand-chosen weights of a 2-2-1 tanh network that
  computes XOR on the four inputs, each output at least ``XOR_MARGIN`` from 0.
* ``ch02-ex-softmax-two``: ``two_class_softmax(Z)``, the softmax of pairs of
  logits written with the sigmoid.

The expected values come from the referees below, written in NumPy (the tests
compare them with PyTorch), so a check needs nothing but NumPy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mlp_course.exercises.checks import (
    WrongAnswer,
    check_function,
    not_answered,
    passed,
    answer_may_call,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = ["XOR_MARGIN", "XOR_INPUTS", "XOR_TARGETS"]


def _is_placeholder(value: Any) -> bool:
    return value is None or value is Ellipsis


def _array_text(a: Any) -> str:
    """A small array in one line, each number with at most 4 significant digits."""
    return np.array2string(np.asarray(a), separator=", ", formatter={"float_kind": lambda v: f"{v:.4g}"},
                           threshold=12).replace("\n", "")


# --------------------------------------------------------------------------
# ch02-ex-elu
# --------------------------------------------------------------------------

#: exp overflows float64 above log(largest float64), about 709.78.
EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))

#: NumPy functions that compute an exponential and can overflow; the check watches them.
_EXP_LIKE = ("exp", "expm1", "exp2", "power", "float_power")


@referee
def _elu_reference(z, alpha):
    """ELU and its derivative in float64, exp taken only of min(z, 0); at z = 0 the z <= 0 branch."""
    z = np.asarray(z, dtype=np.float64)
    negative = np.minimum(z, 0.0)
    a = np.where(z > 0, z, alpha * np.expm1(negative))
    da_dz = np.where(z > 0, 1.0, alpha * np.exp(negative))
    return a, da_dz


def _elu_cases() -> list[tuple[tuple, tuple]]:
    rng = np.random.default_rng(2)
    inputs = [
        (rng.uniform(-5, 5, size=(4, 6)), 1.0),
        (rng.uniform(-5, 5, size=(3, 5)), 0.5),                              # alpha is used
        (np.array([[-2.0, 0.0, 2.0], [0.0, -0.5, 0.5]]), 0.5),               # z = 0 exactly
        (np.array([-3, -1, 0, 1, 3]), 1.0),                                  # integers in, floats out
        (np.array([-800.0, -30.0, -1e-3, 1e-3, 30.0, 800.0]), 1.0),          # far out on both sides
    ]
    return [(args, _elu_reference(*args)) for args in inputs]


_ELU_CASE_NAMES = ["random z, alpha = 1", "random z, alpha = 0.5", "z = 0 exactly, alpha = 0.5",
                   "an integer array", "z far from 0 on both sides"]


def _elu_without_minus_one(z, alpha):
    z = np.asarray(z, dtype=np.float64)
    negative = np.exp(np.minimum(z, 0.0))
    return np.where(z > 0, z, alpha * negative), np.where(z > 0, 1.0, alpha * negative)


def _elu_slope_one_at_zero(z, alpha):
    a, da_dz = _elu_reference.__wrapped__(z, alpha)
    return a, np.where(np.asarray(z) >= 0, 1.0, da_dz)


def _elu_alpha_ignored(z, alpha):
    return _elu_reference.__wrapped__(z, 1.0)


def _elu_pair_swapped(z, alpha):
    a, da_dz = _elu_reference.__wrapped__(z, alpha)
    return da_dz, a


def _elu_output_slope_everywhere(z, alpha):
    a, _ = _elu_reference.__wrapped__(z, alpha)
    return a, a + alpha


def _elu_slope_without_alpha(z, alpha):
    a, _ = _elu_reference.__wrapped__(z, alpha)
    z = np.asarray(z, dtype=np.float64)
    return a, np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))


def _elu_slope_one_everywhere_negative_missing(z, alpha):
    a, _ = _elu_reference.__wrapped__(z, alpha)
    return a, np.ones_like(a)


_ELU_MISTAKES = [
    (_elu_without_minus_one,
     "the negative side of ELU is alpha * (exp(z) - 1); the - 1 is missing (so ELU(0) would be alpha, not 0)."),
    (_elu_slope_one_at_zero,
     "at z = 0 the derivative belongs to the z <= 0 branch of the definition, alpha * exp(0) = alpha; "
     "yours uses the z > 0 branch there (z >= 0 where the definition says z > 0?)."),
    (_elu_alpha_ignored,
     "your result is what alpha = 1 gives: use the argument alpha instead of a fixed 1."),
    (_elu_pair_swapped,
     "the pair is in the wrong order: return (a, da_dz), the value first and the slope second."),
    (_elu_output_slope_everywhere,
     "the slope a + alpha holds only for z <= 0; for z > 0 the slope is 1."),
    (_elu_slope_without_alpha,
     "the slope of the negative side is alpha * exp(z): the factor alpha is missing."),
    (_elu_slope_one_everywhere_negative_missing,
     "the slope is 1 only for z > 0; for z <= 0 it is alpha * exp(z)."),
]


class _OverflowWatch:
    """Wraps NumPy's exponentials while an answer runs, and records every overflow to inf."""

    def __init__(self) -> None:
        self.overflows: list[tuple[str, float | None]] = []   # (function, largest argument)

    def wrap(self, name: str, real: Callable) -> Callable:
        def watched(*args: Any, **kwargs: Any) -> Any:
            with np.errstate(over="ignore"):
                result = real(*args, **kwargs)
            values = np.asarray(result)
            if values.dtype.kind in "fc" and np.any(np.isinf(values)):
                inputs = [np.asarray(a) for a in args[: real.nin]]
                if all(x.dtype.kind not in "fc" or np.all(np.isfinite(x)) for x in inputs):
                    largest = float(np.max(inputs[0])) if inputs and inputs[0].size else None
                    self.overflows.append((f"np.{name}", largest))
            return result

        watched.__name__ = name
        watched.__wrapped__ = real
        return answer_may_call(watched)   # the learner's own np.exp, watched: theirs to call


@contextlib.contextmanager
def _watching_exponentials(answer: Callable, watch: _OverflowWatch) -> Iterator[None]:
    """Replace np.exp and its relatives (in numpy and in the answer's globals) by watched versions."""
    real = {name: getattr(np, name) for name in _EXP_LIKE}
    wrapped = {name: watch.wrap(name, function) for name, function in real.items()}
    namespace = getattr(answer, "__globals__", None)
    replaced: dict[str, Any] = {}
    try:
        for name in _EXP_LIKE:
            setattr(np, name, wrapped[name])
        if isinstance(namespace, dict):   # e.g. `from numpy import exp` in the notebook
            for key, value in list(namespace.items()):
                for name, function in real.items():
                    if value is function:
                        replaced[key] = value
                        namespace[key] = wrapped[name]
        yield
    finally:
        for name, function in real.items():
            setattr(np, name, function)
        if isinstance(namespace, dict):
            for key, value in replaced.items():
                namespace[key] = value


def _overflow_message(z: Any, how: str) -> str:
    return (
        f"On z = {_array_text(z)}, your elu {how}. ELU itself never overflows: its z > 0 branch is z, "
        f"and the exponential is needed only where z <= 0. np.where computes both branches everywhere "
        f"before choosing, so take exp only of values that are never large, for example of "
        f"np.minimum(z, 0), whatever np.errstate says."
    )


def _guarded_elu(elu: Callable) -> Callable:
    """The learner's elu, watched for overflows, changes to its input, and integer results."""

    def run(z, alpha):
        z_before = np.array(z, copy=True)
        watch = _OverflowWatch()
        try:
            with _watching_exponentials(elu, watch), np.errstate(over="raise"):
                result = elu(z, alpha)
        except (FloatingPointError, OverflowError) as error:
            if isinstance(error, FloatingPointError) and "overflow" not in str(error):
                raise
            raise WrongAnswer(_overflow_message(z_before, f"overflowed ({type(error).__name__}: {error})")) from None
        if watch.overflows:
            function, largest = watch.overflows[0]
            given = f" of {largest:g}" if largest is not None else ""
            raise WrongAnswer(_overflow_message(
                z_before, f"computed {function}{given}, which is inf in float64 (exp overflows above "
                          f"{EXP_OVERFLOW:.2f})"))
        if np.shape(z) != z_before.shape or not np.array_equal(z, z_before):
            raise WrongAnswer(
                f"On z = {_array_text(z_before)}, your elu changed its input z in place (it is now "
                f"{_array_text(z)}). A caller still needs z: work on a copy (z.astype(float) or np.where) "
                f"instead of assigning into z."
            )
        if isinstance(result, (tuple, list)):
            for part, value in zip(("a", "da_dz"), result):
                kind = np.asarray(value).dtype.kind if not _is_placeholder(value) else "f"
                if kind in "iub":
                    raise WrongAnswer(
                        f"On z = {_array_text(z_before)} (dtype {z_before.dtype}), your {part} has dtype "
                        f"{np.asarray(value).dtype}: ELU's values and slopes are not whole numbers, and "
                        f"assigning floats into an integer array truncates them. Convert first, for "
                        f"example with np.asarray(z, dtype=float)."
                    )
        return result

    return run


@exercise("ch02-ex-elu", answers=("elu",), points=3)
def _check_elu(elu):
    if _is_placeholder(elu):
        return not_answered("elu")
    if not callable(elu):
        raise WrongAnswer(f"elu should be a function, got {type(elu).__name__}.")
    return check_function(_guarded_elu(elu), _elu_cases(), name="elu", mistakes=_ELU_MISTAKES,
                          case_names=_ELU_CASE_NAMES)


# --------------------------------------------------------------------------
# ch02-ex-xor-tanh
# --------------------------------------------------------------------------

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_TARGETS = np.array([0, 1, 1, 0])
#: Each output must be on the right side of 0 by at least this much.
XOR_MARGIN = 0.5

_XOR_SHAPES = {
    "W1_tanh": ((2, 2), "2 inputs by 2 hidden units"),
    "b1_tanh": ((2,), "one bias per hidden unit"),
    "W2_tanh": ((2, 1), "2 hidden units by 1 output, a column"),
    "b2_tanh": ((1,), "one bias for the one output"),
}


def _as_weight(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "numpy"):   # a PyTorch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception:
        array = None
    if array is None or array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise WrongAnswer(f"{name} should be a NumPy array of numbers, got {type(value).__name__}: {value!r:.60}")
    expected, meaning = _XOR_SHAPES[name]
    if array.shape != expected:
        hint = ""
        if name == "W2_tanh" and array.shape == (2,):
            hint = " Write it as a column, np.array([[w1], [w2]]), so that H @ W2 has shape (4, 1)."
        elif array.shape == ():
            hint = f" A single number has shape (); write it as an array of shape {expected}, np.array([...])."
        elif len(array.shape) == 2 and array.shape[::-1] == expected:
            hint = " It looks transposed: rows are inputs of the layer, columns its units."
        elif int(np.prod(array.shape)) == int(np.prod(expected)):
            hint = " The number of entries is right; the chapter's layer $Z = XW + b$ needs exactly this shape."
        raise WrongAnswer(f"{name} should have shape {expected} ({meaning}), got {array.shape}.{hint}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise WrongAnswer(f"{name} contains inf or NaN: {_array_text(array)}. Choose finite weights.")
    return array


def _xor_message(Z: np.ndarray, H: np.ndarray, W1: np.ndarray, b1: np.ndarray) -> str | None:
    """None when every output is on its side of 0 by XOR_MARGIN, else what is wrong."""
    wants_one = XOR_TARGETS == 1
    right = np.where(wants_one, Z >= XOR_MARGIN, Z <= -XOR_MARGIN)
    if np.all(right):
        return None
    shown = ", ".join(f"({x[0]:.0f}, {x[1]:.0f}): {z:.4g}" for x, z in zip(XOR_INPUTS, Z))
    predictions = (Z >= 0).astype(int)
    wrong_side = predictions != XOR_TARGETS
    if np.any(wrong_side):
        inputs = ", ".join(f"({x[0]:.0f}, {x[1]:.0f})" for x in XOR_INPUTS[wrong_side])
        message = (
            f"The network gets {int(wrong_side.sum())} of the 4 inputs wrong: {inputs}. Its outputs Z are "
            f"{shown}; XOR needs Z >= {XOR_MARGIN} on (0, 1) and (1, 0), and Z <= -{XOR_MARGIN} on (0, 0) "
            f"and (1, 1)."
        )
        if np.all(wrong_side):
            message += " It computes the opposite of XOR: flip the signs of W2_tanh and b2_tanh."
        elif np.all(predictions == predictions[0]):
            message += f" It gives the same answer, {predictions[0]}, on all four inputs."
        if np.allclose(W1, [[1, 1], [1, 1]]) and np.allclose(b1, [0, -1]):
            message += (
                " These are the hidden weights of the chapter's ReLU network, but tanh is not ReLU: "
                "tanh(0) = 0 and tanh is negative for negative inputs, so the hidden values differ."
            )
        elif np.min(np.abs(H)) < 0.9:
            message += (
                f" The hidden values H = tanh(X @ W1 + b1) are {_array_text(H)}, some far from -1 and +1:"
                f" if your output weights assume values of +-1, make the hidden units saturate by"
                f" scaling W1_tanh and b1_tanh up."
            )
        return message
    close = [f"({x[0]:.0f}, {x[1]:.0f})" for x, ok in zip(XOR_INPUTS, right) if not ok]
    return (
        f"Every input is on the right side of 0, but the output on {', '.join(close)} is closer to 0 than "
        f"the margin {XOR_MARGIN} the exercise asks for: Z = {shown}. Scale W2_tanh and b2_tanh up, or make "
        f"the hidden units saturate more by scaling W1_tanh and b1_tanh up."
    )


@exercise("ch02-ex-xor-tanh", answers=("W1_tanh", "b1_tanh", "W2_tanh", "b2_tanh"), points=2)
def _check_xor_tanh(W1_tanh, b1_tanh, W2_tanh, b2_tanh):
    given = {"W1_tanh": W1_tanh, "b1_tanh": b1_tanh, "W2_tanh": W2_tanh, "b2_tanh": b2_tanh}
    if any(_is_placeholder(value) for value in given.values()):
        return not_answered("the tanh XOR network (W1_tanh, b1_tanh, W2_tanh, b2_tanh)",
                            "replace each None in the cell above")
    W1, b1, W2, b2 = (_as_weight(value, name) for name, value in given.items())
    H = np.tanh(XOR_INPUTS @ W1 + b1)        # (4, 2)
    Z = (H @ W2 + b2)[:, 0]                  # (4, 1) -> one output per input
    message = _xor_message(Z, H, W1, b1)
    if message:
        raise WrongAnswer(message)
    return passed(f"the tanh network computes XOR on all four inputs, each output at least {XOR_MARGIN} from 0.")


# --------------------------------------------------------------------------
# ch02-ex-softmax-two
# --------------------------------------------------------------------------


def _sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    u = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + u), u / (1.0 + u))


@referee
def _softmax_reference(Z):
    """Softmax of every row, from logits shifted by the row maximum (float64)."""
    Z = np.asarray(Z, dtype=np.float64)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_two_cases() -> list[tuple[Any, np.ndarray]]:
    rng = np.random.default_rng(5)
    inputs = [
        rng.normal(scale=4.0, size=(6, 2)),
        np.array([[1000.0, -1000.0], [-800.0, 800.0], [0.0, 0.0], [710.0, 700.0], [3.0, 3.0]]),
        rng.normal(size=(1, 2)),
    ]
    return [(Z, _softmax_reference(Z)) for Z in inputs]


def _columns_swapped(Z):
    return _softmax_reference.__wrapped__(Z)[:, ::-1]


def _class_one_only(Z):
    Z = np.asarray(Z, dtype=np.float64)
    return _sigmoid(Z[:, 0] - Z[:, 1])


def _each_logit_alone(Z):
    return _sigmoid(np.asarray(Z, dtype=np.float64))


def _same_in_both_columns(Z):
    p = _class_one_only(Z)
    return np.column_stack([p, p])


def _direct_formula(Z):
    with np.errstate(over="ignore", invalid="ignore"):
        E = np.exp(np.asarray(Z, dtype=np.float64))
        return E / E.sum(axis=1, keepdims=True)


_SOFTMAX_TWO_MISTAKES = [
    (_columns_swapped, "the two columns are swapped: column 0 is class 1, sigmoid(z_1 - z_2)."),
    (_class_one_only, "you returned only the probability of class 1; return both columns, shape (N, 2)."),
    (_each_logit_alone, "each column is the sigmoid of its own logit alone; the probability of class 1 "
                        "depends on the difference z_1 - z_2."),
    (_same_in_both_columns, "both columns hold sigmoid(z_1 - z_2); class 2 gets 1 minus that, "
                            "sigmoid(z_2 - z_1)."),
    (_direct_formula, "exp of a large logit overflows to inf and inf / inf is NaN: write it with the "
                      "sigmoid of part 1, which never overflows."),
]


@exercise("ch02-ex-softmax-two", answers=("two_class_softmax",), points=1)
def _check_softmax_two(two_class_softmax):
    return check_function(two_class_softmax, _softmax_two_cases(), name="two_class_softmax",
                          mistakes=_SOFTMAX_TWO_MISTAKES)
