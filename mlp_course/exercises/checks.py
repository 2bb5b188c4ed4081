"""Checks for the exercises. Each check has three outcomes:

* a right answer prints one "✓" line and returns true;
* an answer not given yet (a placeholder ``None`` or ``...``, or a function
  that still raises ``NotImplementedError``) prints one line saying so and
  returns false, without raising: a chapter stores the check's output on
  the untouched stub, and a learner sees a friendly reminder, not a traceback;
* a wrong answer raises :class:`WrongAnswer` (an ``AssertionError``) with a
  message that says what is wrong and where; an error raised inside the
  learner's own code is reported as theirs (:class:`AnswerRaised`).

The true or false is a :class:`CheckResult`, which equals ``True`` or
``False`` but which Jupyter does not echo below the cell: the printed line
already says everything.

The printed lines are stored in the notebook and compared when the notebook is
re-run, so they never contain timings, addresses or noisy digits.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import numbers
import os
import sys
import sysconfig
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CheckResult", "WrongAnswer", "AnswerRaised", "RefereeCalled", "passed", "not_answered",
    "check_array", "check_scalar", "check_function", "referee", "answer_running", "answer_may_call",
    "FORBIDDEN_IN_ANSWERS", "ALLOWED_IN_ANSWERS", "answer_is_running",
]


class WrongAnswer(AssertionError):
    """A wrong answer: the message says what is wrong and, where it can, why."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows: the message alone; the check's own frames would only distract."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class RefereeCalled(WrongAnswer):
    """The answer called one of the check's own reference functions."""


class AnswerRaised(AssertionError):
    """The learner's own code raised ``original``; the check reports it as theirs.

    ``where`` says which test case was running. :func:`mlp_course.exercises.check`
    re-raises ``original`` itself, with the check's frames cut from its
    traceback, so the learner sees their own line and one line from the check.
    """

    def __init__(self, original: BaseException, where: str) -> None:
        super().__init__(f"{where} raised {type(original).__name__}: {original}")
        self.original = original
        self.where = where


# --------------------------------------------------------------------------
# Referees: reference code that the answer must not call
# --------------------------------------------------------------------------

_ANSWER_RUNNING: contextvars.ContextVar[bool] = contextvars.ContextVar("answer_running", default=False)

#: While an answer runs, a call from the learner's code into these modules fails it: the checks'
#: own code (referees, case builders, helpers), and the tools that would do the exercise for the
#: learner (PyTorch, the course's layers, losses, trainer and gradient checks). An exercise whose
#: answer may use some of them names them in ``allowed``.
FORBIDDEN_IN_ANSWERS: tuple[str, ...] = (
    "mlp_course.exercises", "mlp_course.gradcheck", "mlp_course.training", "mlp_course.scratch",
    "mlp_course.data", "mlp_course.autograd", "mlp_course.torch_training", "mlp_course.diagnostics",
    "torch",
)
#: Elementary functions that chapters 1 and 2 teach (a stable sigmoid, softmax, log-sum-exp,
#: one-hot): an answer may always use them.
ALLOWED_IN_ANSWERS: tuple[str, ...] = ("mlp_course.scratch.functional",)

_MAY_CALL: set = set()


def answer_is_running() -> bool:
    """Whether a learner's answer is running now, inside :class:`answer_running`."""
    return _ANSWER_RUNNING.get()


def answer_may_call(function: Callable) -> Callable:
    """Let answers call ``function`` although it lives in the checks (e.g. a watched ``np.exp``)."""
    _MAY_CALL.add(function.__code__)
    return function


def _in(module: str, prefixes: Sequence[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


_LIBRARY_PATHS = tuple(
    {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _called_by_learner(frame, allowed: Sequence[str]) -> bool:
    """Whether the nearest caller that is not the standard library or a third-party library
    (numpy, contextlib, ...) is the learner's code rather than the package's."""
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if _in(module, FORBIDDEN_IN_ANSWERS) or _in(module, allowed):
            return False
        filename = frame.f_code.co_filename
        if not (filename.startswith("<frozen") or os.path.realpath(filename).startswith(_LIBRARY_PATHS)):
            return True
        frame = frame.f_back
    return False


class answer_running:
    """A context in which the learner's code runs.

    Inside it a :func:`referee` refuses to be called, and every call from outside the package
    (the learner's code) into a module of :data:`FORBIDDEN_IN_ANSWERS` not in ``allowed`` is
    recorded; leaving the context then raises :class:`RefereeCalled`, naming the call.
    A class rather than a generator, so that no frame of the checks is entered while it watches.
    """

    def __init__(self, allowed: Sequence[str] = (), forbidden: Sequence[str] = ()) -> None:
        self.allowed = tuple(ALLOWED_IN_ANSWERS) + tuple(allowed)
        self.forbidden = tuple(forbidden)  # more modules this exercise forbids (e.g. sklearn's metrics)
        self.forbidden_call: str | None = None

    def _watch(self, frame, event: str, arg: Any) -> None:
        if self.forbidden_call is not None:
            return
        if event == "call":
            if frame.f_code in _MAY_CALL:
                return
            module = frame.f_globals.get("__name__") or ""
            what = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)  # Parameter.__init__ (3.11+)
            if what == "<module>":
                what = f"{module} (importing it)"
        elif event == "c_call":
            module = getattr(arg, "__module__", None)
            if module is None:  # a method of a builtin type: its type's module (torch.Tensor.sum)
                module = type(getattr(arg, "__self__", None)).__module__
            module = module or ""
            what = getattr(arg, "__name__", None) or getattr(arg, "__qualname__", "?")
        else:
            return
        # Only a call made by the learner's code counts: the package's own modules call each other
        # freely (an allowed function may use a private helper), through the standard library too.
        if (_in(module, FORBIDDEN_IN_ANSWERS) or _in(module, self.forbidden)) and not _in(module, self.allowed):
            start = frame.f_back if event == "call" else frame
            if _called_by_learner(start, self.allowed):
                self.forbidden_call = what if what.startswith(module) else f"{module}.{what}"

    def _refusal(self) -> str:
        """Why the call is refused, naming what this exercise forbids."""
        torch_allowed = _in("torch", self.allowed)
        library = [m for m in self.allowed if m.startswith("mlp_course") and not _in(m, ("mlp_course.exercises",))]
        readable = {"sklearn": "scikit-learn", "scipy": "SciPy"}
        what = "".join(f"{readable.get(module, module)}, " for module in self.forbidden)
        what += "" if torch_allowed else "PyTorch, "
        what += f"the course's library (other than {', '.join(library)})" if library else "the course's library"
        if _in("mlp_course.autograd", self.allowed):
            how = "yourself, with the engine's operations"
        else:
            how = "yourself" if torch_allowed else "yourself, in NumPy"
        return (f"your answer calls {self.forbidden_call}: this exercise asks you to write the computation {how}, "
                f"so an answer may not use {what} or the checks' own code")

    def __enter__(self) -> "answer_running":
        self._token = _ANSWER_RUNNING.set(True)
        self._previous = sys.getprofile()
        sys.setprofile(self._watch)
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        sys.setprofile(self._previous)
        _ANSWER_RUNNING.reset(self._token)
        if self.forbidden_call is not None and not isinstance(value, RefereeCalled):
            raise RefereeCalled(self._refusal()) from None
        return False


_MAY_CALL.add(answer_running.__exit__.__code__)


def referee(function: Callable) -> Callable:
    """Mark ``function`` as reference code of a check.

    Called by the check, it works as usual. Called from inside an answer while
    the check runs it (see :func:`answer_running`), it raises
    :class:`RefereeCalled`: an answer that returns the referee's result has
    solved nothing.
    """

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _ANSWER_RUNNING.get():
            raise RefereeCalled(
                f"your answer calls the check's own reference `{function.__name__}`: "
                f"write the computation yourself"
            )
        return function(*args, **kwargs)

    guarded.is_referee = True  # type: ignore[attr-defined]
    return guarded


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
        raise WrongAnswer(message)
    if hasattr(answer, "detach") and hasattr(answer, "numpy"):  # a PyTorch tensor
        answer = answer.detach().cpu().numpy()
    try:
        array = np.asarray(answer)
    except Exception:  # ragged lists and the like
        array = None
    if array is None or array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise WrongAnswer(
            f"{name} should be an array of numbers (a NumPy array, or a list of numbers), "
            f"got {type(answer).__name__}: {_short_repr(answer)}"
        )
    return array


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _fmt_pair(value: float, target: float) -> tuple[str, str]:
    """Both numbers with enough digits to tell them apart (at most 17)."""
    for digits in (6, 9, 12, 17):
        a, b = f"{value:.{digits}g}", f"{target:.{digits}g}"
        if a != b:
            return a, b
    return a, b


# --------------------------------------------------------------------------
# Comparisons: each returns None when the answer is right, else a message
# --------------------------------------------------------------------------


def _shape_hint(given: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(given) == 2 and given[::-1] == expected:
        return (" It looks transposed: check the order of the factors in a matrix product, a stack along "
                "the wrong axis, or a missing .T.")
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


def _simple_ratio(ratio: float) -> str | None:
    """``ratio`` as "k" or "1/k" for a whole k from 2 to 10,000 (the usual culprits: 2, N, 1/N)."""
    if not np.isfinite(ratio):
        return None
    for value, text in ((ratio, "{k}"), (1.0 / ratio if ratio else 0.0, "1/{k}")):
        k = round(value)
        if 2 <= k <= 10_000 and abs(value - k) <= 1e-6 * k:
            return text.format(k=k)
    return None


def _value_hint(answer: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """A generic pattern in the error: a flipped sign, a constant factor or offset."""
    if expected.size == 0 or not np.all(np.isfinite(answer)) or not np.all(np.isfinite(expected)):
        return ""
    if np.allclose(answer, -expected, rtol=rtol, atol=atol):
        return " Every entry has the wrong sign." if answer.size > 1 else " The sign is wrong."
    if answer.size == 1:
        # One number: any error is "a factor", so name only a simple one.
        value, target = float(answer.flat[0]), float(expected.flat[0])
        if target != 0 and value != 0:
            simple = _simple_ratio(value / target)
            if simple:
                return (
                    f" It is {simple} times the expected value: look for a missing or extra constant "
                    f"factor (a sum instead of a mean, a factor 2, 1/N, ...)."
                )
        return ""
    nonzero = np.abs(expected) > atol
    if np.any(nonzero) and np.allclose(answer[~nonzero], 0, atol=atol):
        ratios = answer[nonzero] / expected[nonzero]
        if (np.allclose(ratios, ratios[0], rtol=1e-6, atol=0) and ratios[0] != 0
                and _fmt(ratios[0]) != "1"):
            return (
                f" Every entry is {_fmt(ratios[0])} times the expected value: look for a missing or "
                f"extra constant factor (a sum instead of a mean, a factor 2, ...)."
            )
    offset = answer - expected
    # A constant offset, not rounding noise: the offsets agree to 0.1% of their own size.
    if offset.flat[0] != 0 and np.ptp(offset) <= 1e-3 * abs(offset.flat[0]):
        return f" Every entry is off by the same amount, {_fmt(offset.flat[0])}: a constant term is wrong."
    return ""


def _index_list(indices: np.ndarray, limit: int = 6) -> str:
    items = [str(int(i)) for i in indices[:limit]]
    return ", ".join(items) + (", ..." if len(indices) > limit else "")


def _where_hint(close: np.ndarray) -> str:
    """For a matrix, which rows or columns hold the wrong entries, when that is telling."""
    if close.ndim != 2 or min(close.shape) < 2:
        return ""
    wrong = ~close
    rows = np.flatnonzero(wrong.any(axis=1))
    columns = np.flatnonzero(wrong.any(axis=0))
    if len(columns) < close.shape[1] and np.all(wrong[:, columns]):
        return f" Only column(s) {_index_list(columns)} are wrong, in every row."
    if len(rows) < close.shape[0] and np.all(wrong[rows, :]):
        return f" Only row(s) {_index_list(rows)} are wrong, in every column."
    if len(columns) < close.shape[1]:
        return f" The wrong entries all lie in column(s) {_index_list(columns)}."
    if len(rows) < close.shape[0]:
        return f" The wrong entries all lie in row(s) {_index_list(rows)}."
    return ""


def _structure_hint(answer: np.ndarray, expected: np.ndarray) -> str:
    """What the expected array is (probabilities, symmetric) and the answer is not."""
    if answer.ndim == 2 and answer.shape[0] >= 2 and np.all(np.isfinite(answer)):
        rows_are_distributions = np.all(expected >= 0) and np.allclose(expected.sum(axis=1), 1.0)
        if rows_are_distributions and not np.allclose(answer.sum(axis=1), 1.0, atol=1e-6):
            sums = answer.sum(axis=1)
            bad = int(np.argmax(np.abs(sums - 1.0)))
            hint = (
                f" Each row of the expected result holds probabilities that sum to 1, but row "
                f"{bad} of yours sums to {_fmt(sums[bad])}."
            )
            if np.allclose(answer.sum(axis=0), 1.0, atol=1e-6):
                hint += " Your columns sum to 1: is the softmax (or the normalisation) over the wrong axis?"
            return hint
        square = answer.shape[0] == answer.shape[1]
        if square and np.allclose(expected, expected.T) and not np.allclose(answer, answer.T):
            return " The expected result is symmetric and yours is not."
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
            f"(first at index {where}). NaN usually comes from 0/0, log(0) * 0, inf - inf or inf / inf."
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
        f"got {_fmt_pair(a[worst], e[worst])[0]}, expected {_fmt_pair(a[worst], e[worst])[1]}."
        + _value_hint(a, e, rtol, atol)
        + _structure_hint(a, e)
        + _where_hint(close)
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
    shown, wanted = _fmt_pair(value, target)
    return (
        f"{name} is {shown}, expected {wanted} (off by {_fmt(abs(value - target))})."
        + _value_hint(np.array([value]), np.array([target]), rtol, atol)
    )


def _compare(
    answer: Any, expected: Any, name: str, rtol: float, atol: float,
    output_names: Sequence[str] | None = None,
) -> str | None:
    """Compare numbers, arrays or tuples of them (e.g. a function returning ``(dw, db)``).

    ``output_names`` names a tuple's entries in the message ("dw (result[0])").
    """
    if isinstance(expected, tuple):
        message = _placeholder_message(answer, name)
        if message:
            return message
        if not isinstance(answer, (tuple, list)) or len(answer) != len(expected):
            got = f"a {type(answer).__name__} of length {len(answer)}" if isinstance(
                answer, (tuple, list)) else type(answer).__name__
            what = f" ({', '.join(output_names)})" if output_names else ""
            return f"{name} should be a tuple of {len(expected)} values{what}, got {got}."
        for i, (a, e) in enumerate(zip(answer, expected)):
            part = f"{name}[{i}]"
            if output_names and i < len(output_names):
                part = f"{output_names[i]} ({part})"
            message = _compare(a, e, part, rtol, atol)
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


Mistakes = Sequence[tuple[Any, str]]


def _mistake_hint(answer: Any, mistakes: Mistakes, rtol: float, atol: float) -> str:
    """The hint of the first known mistake whose result the answer matches, else ""."""
    for wrong, hint in mistakes:
        try:
            if _compare(answer, wrong, "answer", rtol, atol) is None:
                return f" Likely mistake: {hint}"
        except Exception:  # an answer of another structure than the mistake's: no match
            continue
    return ""


def check_array(
    answer: Any,
    expected: Any,
    name: str = "answer",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    mistakes: Mistakes = (),
) -> CheckResult:
    """Check an array answer: that it is an array of numbers, then its shape, then its values.

    ``expected`` must be computed independently (from the package or from
    reference code in the check), never copied from an output. ``mistakes``
    pairs the result of a known mistake with a hint that names it; a wrong
    answer equal to one of them gets that hint. Returns true when the answer is
    right and false when it is still a placeholder (``None`` or ``...``);
    raises :class:`WrongAnswer` when it is wrong.
    """
    _check_tolerances("check_array", rtol, atol)
    if _is_placeholder(answer):
        return not_answered(name)
    message = _compare_arrays(answer, expected, name, rtol, atol)
    if message:
        raise WrongAnswer(message + _mistake_hint(answer, mistakes, rtol, atol))
    return passed(f"{name} is correct (shape {np.shape(expected)}).")


def check_scalar(
    answer: Any,
    expected: float,
    name: str = "answer",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    mistakes: Mistakes = (),
) -> CheckResult:
    """Check a single number (a Python number, a NumPy scalar or a 0-d or one-entry array).

    Returns true or false and raises like :func:`check_array`.
    """
    _check_tolerances("check_scalar", rtol, atol)
    if _is_placeholder(answer):
        return not_answered(name)
    array = _as_numeric_array(answer, name)
    if array.size != 1:
        raise WrongAnswer(
            f"{name} should be a single number, got an array of shape {array.shape}. "
            f"Did you forget to sum or average (np.sum, np.mean), or to take .item()?"
        )
    value, target = float(array.reshape(())), float(np.asarray(expected, dtype=np.float64).reshape(()))
    if not np.isclose(value, target, rtol=rtol, atol=atol, equal_nan=True):
        raise WrongAnswer(
            _scalar_message(value, target, name, rtol, atol) + _mistake_hint(value, mistakes, rtol, atol)
        )
    return passed(f"{name} is correct.")


def _describe_argument(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ").replace("\n", "")
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        shapes = ", ".join(str(v.shape) for v in value)
        return f"<{type(value).__name__} of {len(value)} arrays of shapes {shapes}>"
    if isinstance(value, (float, np.floating)):
        return _fmt(float(value))
    return _short_repr(value, 40)


_HERE = os.path.dirname(os.path.abspath(__file__))


def learner_traceback(error: BaseException):
    """``error``'s traceback without the frames of the checks: what the learner's code did."""
    tb = error.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_HERE):
        tb = tb.tb_next
    return tb


def check_function(
    fn: Callable,
    cases: Sequence[tuple[Any, Any]],
    name: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    mistakes: Sequence[tuple[Callable, str]] = (),
    case_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    allowed_modules: Sequence[str] = (),
    forbidden_modules: Sequence[str] = (),
) -> CheckResult:
    """Call ``fn(*args)`` for every ``(args, expected)`` in ``cases`` and compare.

    ``args`` is a tuple of positional arguments (a single non-tuple value is one
    argument); ``expected`` is a number, an array or a tuple of them. Arrays are
    copied before the call, so an answer that modifies its inputs cannot spoil
    the next case. The first failing case is reported with its inputs (and its
    name from ``case_names``, if given).

    ``mistakes`` pairs a function that makes a known mistake with a hint that
    names it: when the answer fails a case and agrees with such a function on
    it, the message adds the hint. ``output_names`` names the entries of a
    tuple result in messages (``("dw", "db")``).

    While ``fn`` runs it is watched (:class:`answer_running`): a call to a
    :func:`referee`, to the checks' code or to a tool that would do the
    exercise (PyTorch, the course's library, and the ``forbidden_modules``
    of this exercise, e.g. ``("sklearn",)``) fails the answer, except for
    the modules in ``allowed_modules``. Returns true when
    every case passes, and false when the function is not written yet (``fn``
    is a placeholder, or it raises ``NotImplementedError``); raises
    :class:`WrongAnswer` when a case fails and :class:`AnswerRaised` when
    ``fn`` itself raises.
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
    if case_names is not None and len(case_names) != len(cases):
        raise ValueError(f"check_function: {len(case_names)} case names for {len(cases)} cases")
    if _is_placeholder(fn):
        return not_answered(name)
    if not callable(fn):
        raise WrongAnswer(f"{name} should be a function, got {type(fn).__name__}.")
    for number, (args, expected) in enumerate(cases, start=1):
        args = args if isinstance(args, tuple) else (args,)
        call = f"{name}({', '.join(_describe_argument(a) for a in args)})"
        label = f" ({case_names[number - 1]})" if case_names else ""
        where = f"Case {number} of {len(cases)}{label}, {call}"
        try:
            with answer_running(allowed_modules, forbidden_modules):
                result = fn(*copy.deepcopy(args))
        except NotImplementedError:
            return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
        except WrongAnswer:
            raise
        except Exception as error:
            raise AnswerRaised(error, where) from error
        try:
            message = _compare(result, expected, "result", rtol, atol, output_names)
        except WrongAnswer as wrong:  # not numbers at all (None, a string): say which case
            raise WrongAnswer(f"{where}: {wrong}") from None
        if message:
            hint = ""
            for mistake, text in mistakes:
                try:
                    wrong = mistake(*copy.deepcopy(args))
                    matches = _compare(result, wrong, "result", rtol, atol) is None
                except Exception:  # a mistake that cannot run on this case, or of another structure
                    continue
                if matches:
                    hint = f" Likely mistake: {text}"
                    break
            raise WrongAnswer(f"{where}: {message}{hint}")
    return passed(
        f"{name} passes all {len(cases)} test cases." if len(cases) > 1 else f"{name} passes the test case."
    )
