"""Checks for the exercises. Each check has three outcomes:

* a right answer prints one "✓" line and returns true;
* an answer not given yet (a placeholder ``None`` or ``...``, or a function
  that still raises ``NotImplementedError``) prints one line saying so and
  returns false, without raising: a chapter stores the check's output on
  the untouched stub, and a learner sees a friendly reminder, not a traceback;
* a wrong answer raises ``AssertionError`` with a message that says what is
  wrong and where.

The true or false is a :class:`CheckResult`, which equals ``True`` or
``False`` but which Jupyter does not echo below the cell: the printed line
already says everything.

The printed lines are stored in the notebook and compared when the notebook is
re-run, so they never contain timings, addresses or noisy digits.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["CheckResult", "passed", "not_answered", "check_array", "check_scalar", "check_function"]


class CheckResult(int):
    """What a check returns: 1 (equal to ``True``) when the answer is right, 0
    (equal to ``False``) when it is not given yet.

    It is an ``int`` like ``bool`` itself, so ``if check(...)``, ``== True`` and
    ``sum(...)`` work as for a bool. Unlike a bool, it shows nothing when it
    ends a notebook cell: the check has already printed its one line.
    """

    def __repr__(self) -> str:
        return repr(bool(self))

    __str__ = __repr__

    def _ipython_display_(self) -> None:
        """Show nothing in IPython and Jupyter."""


def passed(message: str) -> CheckResult:
    """Print the single success line ``✓ message`` and return a true result."""
    print(f"\u2713 {message}")
    return CheckResult(True)


def not_answered(name: str, how: str = "write your answer in the cell above") -> CheckResult:
    """Print the single line that says ``name`` is not answered yet, and return a false result."""
    print(f"{name} is not answered yet: {how} and run this cell again.")
    return CheckResult(False)


def _is_placeholder(answer: Any) -> bool:
    """True for the placeholders a stub leaves in place of an answer: ``None`` and ``...``."""
    return answer is None or answer is Ellipsis


# --------------------------------------------------------------------------
# Turning an answer into an array, with a message when that is not possible
# --------------------------------------------------------------------------


def _placeholder_message(answer: Any, name: str) -> str | None:
    if answer is None:
        return (
            f"{name} is None. Did you forget a `return` (a function without one returns None), "
            f"or leave a placeholder in place?"
        )
    if answer is Ellipsis:
        return f"{name} is still the placeholder `...`: replace it with your code."
    return None


def _as_numeric_array(answer: Any, name: str) -> np.ndarray:
    message = _placeholder_message(answer, name)
    if message:
        raise AssertionError(message)
    if hasattr(answer, "detach") and hasattr(answer, "numpy"):  # a PyTorch tensor
        answer = answer.detach().cpu().numpy()
    try:
        array = np.asarray(answer)
    except Exception:  # ragged lists and the like
        array = None
    if array is None or array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise AssertionError(
            f"{name} should be an array of numbers (a NumPy array, or a list of numbers), "
            f"got {type(answer).__name__}: {_short_repr(answer)}"
        )
    return array


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt(value: float) -> str:
    return f"{value:.6g}"


# --------------------------------------------------------------------------
# Comparisons: each returns None when the answer is right, else a message
# --------------------------------------------------------------------------


def _shape_hint(given: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(given) == 2 and given[::-1] == expected:
        return " It looks transposed: check the order of the factors in your matrix product, or use .T."
    squeezed_given = tuple(d for d in given if d != 1)
    squeezed_expected = tuple(d for d in expected if d != 1)
    if squeezed_given == squeezed_expected:
        return (
            " The shapes differ only by axes of length 1: use .reshape, np.squeeze or "
            "keepdims=... to match them."
        )
    if int(np.prod(given)) == int(np.prod(expected)):
        return " The number of entries is right: a reshape or a transpose may be missing."
    if len(given) < len(expected):
        return " An axis is missing: did you sum or average over an axis you should keep?"
    if len(given) > len(expected):
        return " There is an extra axis: did you forget to sum or average over one?"
    return ""


def _value_hint(answer: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """A generic pattern in the error: a flipped sign, a constant factor or offset."""
    if expected.size == 0 or not np.all(np.isfinite(answer)):
        return ""
    if np.allclose(answer, -expected, rtol=rtol, atol=atol):
        return " Every entry has the wrong sign." if answer.size > 1 else " The sign is wrong."
    if answer.size == 1:
        return ""  # one number: any error is "a factor" and "an offset", so say nothing more
    nonzero = np.abs(expected) > atol
    if np.any(nonzero) and np.allclose(answer[~nonzero], 0, atol=atol):
        ratios = answer[nonzero] / expected[nonzero]
        if np.allclose(ratios, ratios[0], rtol=1e-6, atol=0) and ratios[0] != 0:
            return (
                f" Every entry is {_fmt(ratios[0])} times the expected value: look for a missing or "
                f"extra constant factor (a sum instead of a mean, a factor 2, ...)."
            )
    offset = answer - expected
    if np.allclose(offset, offset.flat[0], rtol=0, atol=max(atol, 1e-9)):
        return f" Every entry is off by the same amount, {_fmt(offset.flat[0])}: a constant term is wrong."
    return ""


def _compare_arrays(answer: Any, expected: Any, name: str, rtol: float, atol: float) -> str | None:
    answer = _as_numeric_array(answer, name)
    expected = np.asarray(expected)
    if answer.shape != expected.shape:
        return (
            f"{name} has the wrong shape: expected {expected.shape}, got {answer.shape}."
            + _shape_hint(answer.shape, expected.shape)
        )
    a = answer.astype(np.float64)
    e = expected.astype(np.float64)
    if a.ndim == 0:
        if np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
            return None
        return _scalar_message(float(a), float(e), name, rtol, atol)
    bad_nan = np.isnan(a) & ~np.isnan(e)
    if np.any(bad_nan):
        where = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        return (
            f"{name} contains NaN at {np.count_nonzero(bad_nan)} of {a.size} entries "
            f"(first at index {where}). NaN usually comes from 0/0, log(0) * 0 or inf - inf."
        )
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if np.all(close):
        return None
    with np.errstate(invalid="ignore"):
        excess = np.where(close, 0.0, np.abs(a - e) - (atol + rtol * np.abs(e)))
    excess = np.nan_to_num(excess, nan=np.inf, posinf=np.inf)
    # Scalars returned above, so a has at least one axis here.
    worst = np.unravel_index(int(np.argmax(excess)), a.shape)
    return (
        f"{name} has the right shape {a.shape} but wrong values at {np.count_nonzero(~close)} of "
        f"{a.size} entries. The largest error is {_fmt(abs(a[worst] - e[worst]))} "
        f"at index {tuple(int(i) for i in worst)}: "
        f"got {_fmt(a[worst])}, expected {_fmt(e[worst])}."
        + _value_hint(a, e, rtol, atol)
        + _in_full(a, e)
    )


#: Arrays with at most this many entries are shown in full when they are wrong.
SHOW_IN_FULL = 10


def _array_text(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", formatter={"float_kind": _fmt}).replace("\n", "")


def _in_full(answer: np.ndarray, expected: np.ndarray) -> str:
    """For small arrays, both arrays in full: easier to read than an index."""
    if answer.size > SHOW_IN_FULL:
        return ""
    return f" In full: got {_array_text(answer)}, expected {_array_text(expected)}."


def _scalar_message(value: float, target: float, name: str, rtol: float, atol: float) -> str:
    if np.isnan(value):
        return f"{name} is NaN, expected {_fmt(target)}. NaN usually comes from 0/0 or log(0)."
    return (
        f"{name} is {_fmt(value)}, expected {_fmt(target)} (off by {_fmt(abs(value - target))})."
        + _value_hint(np.array([value]), np.array([target]), rtol, atol)
    )


def _compare(answer: Any, expected: Any, name: str, rtol: float, atol: float) -> str | None:
    """Compare numbers, arrays or tuples of them (e.g. a function returning ``(dw, db)``)."""
    if isinstance(expected, tuple):
        message = _placeholder_message(answer, name)
        if message:
            return message
        if not isinstance(answer, (tuple, list)) or len(answer) != len(expected):
            got = f"a {type(answer).__name__} of length {len(answer)}" if isinstance(
                answer, (tuple, list)) else type(answer).__name__
            return f"{name} should be a tuple of {len(expected)} values, got {got}."
        for i, (a, e) in enumerate(zip(answer, expected)):
            message = _compare(a, e, f"{name}[{i}]", rtol, atol)
            if message:
                return message
        return None
    return _compare_arrays(answer, expected, name, rtol, atol)


def _check_tolerances(function: str, rtol: float, atol: float) -> None:
    for label, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
            raise ValueError(f"{function}: {label} must be a non-negative number, got {value!r}")


# --------------------------------------------------------------------------
# The public checks
# --------------------------------------------------------------------------


def check_array(
    answer: Any, expected: Any, name: str = "answer", rtol: float = 1e-6, atol: float = 1e-8
) -> CheckResult:
    """Check an array answer: that it is an array of numbers, then its shape, then its values.

    ``expected`` must be computed independently (from the package or from
    reference code in the check), never copied from an output. Returns true
    when the answer is right and false when it is still a placeholder
    (``None`` or ``...``); raises ``AssertionError`` when it is wrong.
    """
    _check_tolerances("check_array", rtol, atol)
    if _is_placeholder(answer):
        return not_answered(name)
    message = _compare_arrays(answer, expected, name, rtol, atol)
    if message:
        raise AssertionError(message)
    return passed(f"{name} is correct (shape {np.shape(expected)}).")


def check_scalar(
    answer: Any, expected: float, name: str = "answer", rtol: float = 1e-6, atol: float = 1e-8
) -> CheckResult:
    """Check a single number (a Python number, a NumPy scalar or a 0-d or one-entry array).

    Returns true or false and raises like :func:`check_array`.
    """
    _check_tolerances("check_scalar", rtol, atol)
    if _is_placeholder(answer):
        return not_answered(name)
    array = _as_numeric_array(answer, name)
    if array.size != 1:
        raise AssertionError(
            f"{name} should be a single number, got an array of shape {array.shape}. "
            f"Did you forget to sum or average (np.sum, np.mean), or to take .item()?"
        )
    value, target = float(array.reshape(())), float(np.asarray(expected, dtype=np.float64).reshape(()))
    if not np.isclose(value, target, rtol=rtol, atol=atol, equal_nan=True):
        raise AssertionError(_scalar_message(value, target, name, rtol, atol))
    return passed(f"{name} is correct.")


def _describe_argument(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ").replace("\n", "")
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    return _short_repr(value, 40)


def check_function(
    fn: Callable,
    cases: Sequence[tuple[Any, Any]],
    name: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> CheckResult:
    """Call ``fn(*args)`` for every ``(args, expected)`` in ``cases`` and compare.

    ``args`` is a tuple of positional arguments (a single non-tuple value is one
    argument); ``expected`` is a number, an array or a tuple of them. Arrays are
    copied before the call, so an answer that modifies its inputs cannot spoil
    the next case. The first failing case is reported with its inputs.

    Returns true when every case passes, and false when the function is
    not written yet (``fn`` is a placeholder, or it raises
    ``NotImplementedError``); raises ``AssertionError`` when a case fails.
    """
    name = name or getattr(fn, "__name__", "your function")
    _check_tolerances("check_function", rtol, atol)
    # Malformed cases are a mistake of the check, not of the answer: report them first.
    cases = list(cases)
    if not cases:
        raise ValueError("check_function: cases is empty; give at least one (args, expected) pair")
    for number, case in enumerate(cases, start=1):
        if not isinstance(case, tuple) or len(case) != 2:
            raise ValueError(f"check_function: case {number} must be a pair (args, expected), got {case!r}")
    if _is_placeholder(fn):
        return not_answered(name)
    if not callable(fn):
        raise AssertionError(f"{name} should be a function, got {type(fn).__name__}.")
    for number, (args, expected) in enumerate(cases, start=1):
        args = args if isinstance(args, tuple) else (args,)
        call = f"{name}({', '.join(_describe_argument(a) for a in args)})"
        where = f"Case {number} of {len(cases)}, {call}"
        try:
            result = fn(*copy.deepcopy(args))
        except NotImplementedError:
            return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
        except Exception as error:
            raise AssertionError(f"{where} raised {type(error).__name__}: {error}") from error
        message = _compare(result, expected, "result", rtol, atol)
        if message:
            raise AssertionError(f"{where}: {message}")
    return passed(
        f"{name} passes all {len(cases)} test cases." if len(cases) > 1 else f"{name} passes the test case."
    )
