"""The checks of chapter 2's coding exercises, keyed by exercise label.

* ``ch02-ex-elu``: ``elu(z, alpha)`` returns ``(a, da_dz)`` and never lets a
  floating-point number overflow, whatever ``np.errstate`` or ``np.seterr`` it
  sets and however it computes its exponential (``np.exp``, ``**``, ...).
* ``ch02-ex-xor-tanh``: hand-chosen weights of a 2-2-1 tanh network that
  computes XOR on the four inputs, each output at least ``XOR_MARGIN`` from 0.
* ``ch02-ex-softmax-two``: ``two_class_softmax(Z)``, the softmax of pairs of
  logits written with the sigmoid, again without any overflow.

The expected values come from the referees below, written in NumPy (the tests
compare them with PyTorch), so a check needs nothing but NumPy.

While an answer of ``elu`` or ``two_class_softmax`` runs, floating-point
overflow raises: the check enters ``np.errstate(over="raise")``, and replaces
``np.errstate`` and ``np.seterr`` (in NumPy and in the answer's globals, and,
on NumPy 2, where both make their error mode) by versions that keep
``over="raise"``, so the answer can change every other error mode but not that
one. ``np.exp`` and its relatives are replaced by watched versions that name
the function and the argument that overflowed.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mlp_course.exercises.checks import (
    WrongAnswer,
    answer_may_call,
    check_function,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

try:  # NumPy 2: where np.errstate and np.seterr make their error mode
    from numpy._core import _ufunc_config as _UFUNC_CONFIG
except ImportError:  # pragma: no cover - NumPy 1
    _UFUNC_CONFIG = None

__all__ = ["XOR_MARGIN", "XOR_INPUTS", "XOR_TARGETS"]


def _is_placeholder(value: Any) -> bool:
    return value is None or value is Ellipsis


def _array_text(a: Any) -> str:
    """A small array in one line, each number with at most 4 significant digits."""
    return np.array2string(np.asarray(a), separator=", ", formatter={"float_kind": lambda v: f"{v:.4g}"},
                           threshold=12).replace("\n", "")


# --------------------------------------------------------------------------
# Overflow, caught whatever the answer does to NumPy's error mode
# --------------------------------------------------------------------------

#: exp overflows float64 above log(largest float64), about 709.78.
EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))

#: NumPy functions that compute an exponential and can overflow; the check watches them.
_EXP_LIKE = ("exp", "expm1", "exp2", "power", "float_power")
#: Of each, the argument whose large values overflow: the exponent.
_EXPONENT_ARGUMENT = {"exp": 0, "expm1": 0, "exp2": 0, "power": 1, "float_power": 1}

_REAL_ERRSTATE = np.errstate
_REAL_SETERR = np.seterr
_REAL_MAKE_EXTOBJ = getattr(_UFUNC_CONFIG, "_make_extobj", None)


@answer_may_call
def _errstate_keeping_overflow(*args: Any, **kwargs: Any) -> Any:
    """np.errstate for the answer: every error mode as asked, except that overflow still raises."""
    kwargs["over"] = "raise"
    return _REAL_ERRSTATE(*args, **kwargs)


@answer_may_call
def _seterr_keeping_overflow(*args: Any, **kwargs: Any) -> Any:
    """np.seterr for the answer: every error mode as asked, except that overflow still raises."""
    kwargs["over"] = "raise"
    return _REAL_SETERR(*args, **kwargs)


@answer_may_call
def _make_extobj_keeping_overflow(*args: Any, **kwargs: Any) -> Any:
    """NumPy 2's maker of error modes, for errstate objects made before the check (a decorator)."""
    kwargs["over"] = "raise"
    return _REAL_MAKE_EXTOBJ(*args, **kwargs)


class _OverflowWatch:
    """Wraps NumPy's exponentials while an answer runs, and records every overflow."""

    def __init__(self) -> None:
        self.overflows: list[tuple[str, float | None]] = []   # (function, largest exponent)

    def _record(self, name: str, args: tuple) -> None:
        position = _EXPONENT_ARGUMENT[name]
        largest = None
        if len(args) > position:
            exponent = np.asarray(args[position])
            if exponent.size and exponent.dtype.kind in "iufb":
                largest = float(np.max(exponent))
        self.overflows.append((f"np.{name}", largest))

    def wrap(self, name: str, real: Callable) -> Callable:
        def watched(*args: Any, **kwargs: Any) -> Any:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = real(*args, **kwargs)
                except FloatingPointError as error:
                    if "overflow" in str(error):
                        self._record(name, args)
                    raise
            for warning in caught:   # NumPy's warnings, shown at the learner's line, not this one
                warnings.warn(warning.message, warning.category, stacklevel=2)
            # Where an errstate made before the check lets an overflow through (NumPy 1): an inf from
            # finite inputs, among the entries computed (``where=`` leaves the others unset).
            values = np.asarray(result)
            computed = np.asarray(kwargs.get("where", True), dtype=bool)
            if values.dtype.kind in "fc" and np.any(np.isinf(values) & computed):
                inputs = [np.asarray(a) for a in args[: real.nin]]
                if all(x.dtype.kind not in "fc" or np.all(np.isfinite(x) | ~computed) for x in inputs):
                    self._record(name, args)
            return result

        watched.__name__ = name
        watched.__wrapped__ = real
        return answer_may_call(watched)   # the learner's own np.exp, watched: theirs to call


@contextlib.contextmanager
def _overflow_raises(answer: Callable, watch: _OverflowWatch) -> Iterator[None]:
    """While the answer runs: overflow raises, whatever errstate or seterr it sets, and NumPy's
    exponentials are watched. Replaces names in numpy and in the answer's globals, and restores them."""
    real = {name: getattr(np, name) for name in _EXP_LIKE}
    real["errstate"], real["seterr"] = _REAL_ERRSTATE, _REAL_SETERR
    replacement = {name: watch.wrap(name, getattr(np, name)) for name in _EXP_LIKE}
    replacement["errstate"], replacement["seterr"] = _errstate_keeping_overflow, _seterr_keeping_overflow
    namespace = getattr(answer, "__globals__", None)
    replaced: dict[str, Any] = {}
    pinned = _REAL_MAKE_EXTOBJ is not None and getattr(_UFUNC_CONFIG, "_make_extobj", None) is _REAL_MAKE_EXTOBJ
    try:
        with _REAL_ERRSTATE(over="raise"):
            for name, function in replacement.items():
                setattr(np, name, function)
            if isinstance(namespace, dict):   # e.g. `from numpy import exp, errstate` in the notebook
                for key, value in list(namespace.items()):
                    for name, function in real.items():
                        if value is function:
                            replaced[key] = value
                            namespace[key] = replacement[name]
            if pinned:
                _UFUNC_CONFIG._make_extobj = _make_extobj_keeping_overflow
            yield
    finally:
        if pinned:
            _UFUNC_CONFIG._make_extobj = _REAL_MAKE_EXTOBJ
        for name, function in real.items():
            setattr(np, name, function)
        if isinstance(namespace, dict):
            for key, value in replaced.items():
                namespace[key] = value


def _run_without_overflow(answer: Callable, args: tuple, overflow_message: Callable[[str], str]) -> Any:
    """``answer(*args)``, failed with ``overflow_message(how)`` if any float overflowed inside it."""
    watch = _OverflowWatch()
    try:
        with _overflow_raises(answer, watch):
            result = answer(*args)
    except (FloatingPointError, OverflowError) as error:
        if not watch.overflows:
            if isinstance(error, FloatingPointError) and "overflow" not in str(error):
                raise   # another error mode the answer set to "raise" itself: its own error
            raise WrongAnswer(overflow_message(f"overflowed ({type(error).__name__}: {error})")) from None
    if watch.overflows:   # also when the answer caught the error itself
        function, largest = watch.overflows[0]
        given = f" of {largest:g}" if largest is not None else ""
        raise WrongAnswer(overflow_message(
            f"computed {function}{given}, which is inf in float64 (exp overflows above {EXP_OVERFLOW:.2f})"))
    return result


# --------------------------------------------------------------------------
# ch02-ex-elu
# --------------------------------------------------------------------------


@referee
def _elu_reference(z, alpha):
    """ELU and its derivative in float64, exp taken only of min(z, 0); at z = 0 the z <= 0 branch."""
    z = np.asarray(z, dtype=np.float64)
    negative = np.minimum(z, 0.0)
    a = np.where(z > 0, z, alpha * np.expm1(negative))
    da_dz = np.where(z > 0, 1.0, alpha * np.exp(negative))
    return a, da_dz


def _elu_cases() -> list[tuple[tuple, tuple]]:
    # ELU is element-wise: the cases are 1-D, and one 3-D, so that no message speaks of rows or columns.
    rng = np.random.default_rng(2)
    inputs = [
        (rng.uniform(-5, 5, size=(2, 3, 4)), 1.0),
        (rng.uniform(-5, 5, size=15), 0.5),                                  # alpha is used
        (np.array([-2.0, 0.0, 2.0, 0.0, -0.5, 0.5]), 0.5),                   # z = 0 exactly
        (np.array([-3, -1, 0, 1, 3]), 1.0),                                  # integers in, floats out
        (np.array([-800.0, -30.0, -1e-3, 1e-3, 30.0, 800.0]), 1.0),          # far out on both sides
    ]
    return [(args, _elu_reference(*args)) for args in inputs]


_ELU_CASE_NAMES = ["random z of shape (2, 3, 4), alpha = 1", "random z, alpha = 0.5",
                   "z = 0 exactly, alpha = 0.5", "an integer array", "z far from 0 on both sides"]


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


def _elu_slope_at_the_output(z, alpha):
    a, _ = _elu_reference.__wrapped__(z, alpha)
    return a, np.where(np.asarray(z) > 0, 1.0, alpha * np.exp(np.minimum(a, 0.0)))


def _elu_output_slope_with_one(z, alpha):
    a, _ = _elu_reference.__wrapped__(z, alpha)
    return a, np.where(np.asarray(z) > 0, 1.0, a + 1.0)


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
    (_elu_slope_at_the_output,
     "your slope is alpha * exp(a), the derivative taken at the output a instead of at z: for z <= 0 it is "
     "alpha * exp(z), which written with the output is a + alpha."),
    (_elu_output_slope_with_one,
     "written with the output, the slope for z <= 0 is a + alpha, not a + 1 (the two agree only for "
     "alpha = 1)."),
]


def _elu_overflow_message(z: Any) -> Callable[[str], str]:
    def message(how: str) -> str:
        return (
            f"On z = {_array_text(z)}, your elu {how}. ELU itself never overflows: its z > 0 branch is z, "
            f"and the exponential is needed only where z <= 0. np.where computes both branches everywhere "
            f"before choosing, so take exp only of values that are never large, for example of "
            f"np.minimum(z, 0), whatever np.errstate says."
        )

    return message


def _guarded_elu(elu: Callable) -> Callable:
    """The learner's elu, watched for overflows, changes to its input, and integer results."""

    def run(z, alpha):
        z_before = np.array(z, copy=True)
        result = _run_without_overflow(elu, (z, alpha), _elu_overflow_message(z_before))
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
                          case_names=_ELU_CASE_NAMES, output_names=("a", "da_dz"))


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
            hint = " Write it as a column, np.array([[w1], [w2]]), so that A1 @ W2 has shape (4, 1)."
        elif array.shape == ():
            hint = f" A single number has shape (); write it as an array of shape {expected}, np.array([...])."
        elif len(array.shape) == 2 and array.shape[::-1] == expected:
            hint = " It looks transposed: rows are inputs of the layer, columns its units."
        elif int(np.prod(array.shape)) == int(np.prod(expected)):
            hint = " The number of entries is right; the chapter's layer Z = X @ W + b needs exactly this shape."
        raise WrongAnswer(f"{name} should have shape {expected} ({meaning}), got {array.shape}.{hint}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise WrongAnswer(f"{name} contains inf or NaN: {_array_text(array)}. Choose finite weights.")
    return array


def _xor_message(Z: np.ndarray, A1: np.ndarray, W1: np.ndarray, b1: np.ndarray) -> str | None:
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
        elif np.min(np.abs(A1)) < 0.9:
            message += (
                f" The hidden values A1 = tanh(X @ W1_tanh + b1_tanh) are {_array_text(A1)}, some far from"
                f" -1 and +1:"
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
    A1 = np.tanh(XOR_INPUTS @ W1 + b1)       # (4, 2): the hidden layer
    Z = (A1 @ W2 + b2)[:, 0]                 # (4, 1) -> one output per input
    message = _xor_message(Z, A1, W1, b1)
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
        np.array([[1000.0, -1000.0], [-800.0, 800.0], [0.0, 0.0], [710.0, 700.0], [3.0, 3.0],
                  [-800.0, -801.0]]),                                  # large, equal, and very negative logits
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


def _sigmoid_of_the_sum(Z):
    Z = np.asarray(Z, dtype=np.float64)
    p = _sigmoid(Z[:, 0] + Z[:, 1])
    return np.column_stack([p, 1.0 - p])


def _normalised_sigmoids(Z):
    S = _sigmoid(np.asarray(Z, dtype=np.float64))
    return S / S.sum(axis=1, keepdims=True)


_SOFTMAX_TWO_MISTAKES = [
    (_columns_swapped, "the two columns are swapped: column 0 is class 1, sigmoid(z_1 - z_2)."),
    (_class_one_only, "you returned only the probability of class 1; return both columns, shape (N, 2)."),
    (_each_logit_alone, "each column is the sigmoid of its own logit alone; the probability of class 1 "
                        "depends on the difference z_1 - z_2."),
    (_same_in_both_columns, "both columns hold sigmoid(z_1 - z_2); class 2 gets 1 minus that, "
                            "sigmoid(z_2 - z_1)."),
    (_sigmoid_of_the_sum, "the probability of class 1 is the sigmoid of the difference z_1 - z_2, not of the "
                          "sum z_1 + z_2."),
    (_normalised_sigmoids, "you normalised the sigmoids of the two logits; softmax normalises their "
                           "exponentials, and that gives sigmoid(z_1 - z_2) for class 1."),
]


def _softmax_overflow_message(Z: Any) -> Callable[[str], str]:
    def message(how: str) -> str:
        return (
            f"On Z = {_array_text(Z)}, your two_class_softmax {how}. The probabilities never overflow: "
            f"write them with this chapter's sigmoid, as part 1 suggests. It takes exp only of -|z|, "
            f"which is never above 0, so sigmoid(z_1 - z_2) is safe for any logits; exp of a logit, or "
            f"chapter 1's 1 / (1 + np.exp(-z)), is not."
        )

    return message


def _guarded_softmax_two(two_class_softmax: Callable) -> Callable:
    """The learner's two_class_softmax, watched for overflows, changes to Z, and classes in rows."""

    def run(Z):
        Z_before = np.array(Z, copy=True)
        result = _run_without_overflow(two_class_softmax, (Z,), _softmax_overflow_message(Z_before))
        if np.shape(Z) != Z_before.shape or not np.array_equal(Z, Z_before):
            raise WrongAnswer(
                f"On Z = {_array_text(Z_before)}, your two_class_softmax changed its input Z in place (it is "
                f"now {_array_text(Z)}). A caller still needs its logits: compute Z[:, 0] - Z[:, 1] into a "
                f"new array instead of assigning into Z."
            )
        try:
            shape = np.shape(result)
        except Exception:   # ragged: the comparison says what it is
            shape = None
        N = Z_before.shape[0]
        if N != 2 and shape == (2, N):
            raise WrongAnswer(
                f"On Z of shape {Z_before.shape}, your two_class_softmax returned shape (2, {N}), one row per "
                f"class; P has one row per example and one column per class, shape ({N}, 2). "
                f"np.stack([p, 1 - p]) and a list [p, 1 - p] put the classes in rows: use "
                f"np.column_stack([p, 1 - p]) or np.stack([p, 1 - p], axis=1)."
            )
        return result

    return run


@exercise("ch02-ex-softmax-two", answers=("two_class_softmax",), points=1)
def _check_softmax_two(two_class_softmax):
    if _is_placeholder(two_class_softmax):
        return not_answered("two_class_softmax")
    if not callable(two_class_softmax):
        raise WrongAnswer(f"two_class_softmax should be a function, got {type(two_class_softmax).__name__}.")
    return check_function(_guarded_softmax_two(two_class_softmax), _softmax_two_cases(),
                          name="two_class_softmax", mistakes=_SOFTMAX_TWO_MISTAKES)
