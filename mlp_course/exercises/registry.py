"""The exercises of the book, by key, and the two calls a notebook makes.

A chapter's module (``mlp_course.exercises.ch05`` for chapter 5) registers
each of its checks with :func:`exercise`. Its test cases, expected values and
referees live there, in the package, so nothing a learner writes in the
notebook (a redefined variable, a call to a referee) turns a wrong answer
into a pass.

* :func:`check` is what a learner runs below an answer: one "✓" line, one
  "not answered yet" line, or an error that says what is wrong.
* :func:`grade` is what an nbgrader test cell runs: it reloads the chapter's
  checks from the package and raises unless the answer is right, so an
  unanswered exercise scores zero.
"""

from __future__ import annotations

import difflib
import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

import functools

from mlp_course.exercises.checks import (
    ALLOWED_IN_ANSWERS,
    FORBIDDEN_IN_ANSWERS,
    AnswerRaised,
    CheckResult,
    RefereeCalled,
    WrongAnswer,
    _in,
    learner_traceback,
)

__all__ = ["Exercise", "exercise", "check", "grade", "get", "keys", "NotAnswered", "CheckUsageError"]

#: A key is a chapter's exercise label, optionally with a part: "ch05-ex-tanh", "ch04-ex-pos-weight/grad".
KEY_PATTERN = re.compile(r"^(ch\d\d)-ex-[a-z0-9-]+(/[a-z0-9-]+)?$")


@dataclass(frozen=True)
class Exercise:
    """One check: its key, the names of the answers it takes, its points, and the function that checks."""

    key: str
    answers: tuple[str, ...]
    points: int
    run: Callable[..., CheckResult]

    @property
    def label(self) -> str:
        """The exercise's label in the book (the key without its part)."""
        return self.key.split("/")[0]


_REGISTRY: dict[str, Exercise] = {}


class NotAnswered(AssertionError):
    """Raised by :func:`grade` for an exercise that is not answered yet."""


class CheckUsageError(TypeError):
    """``check`` called with the wrong number of answers."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows: the message alone, not the registry's frames."""
        return [f"\x1b[0;31mTypeError\x1b[0m: {self}"]


def exercise(key: str, answers: tuple[str, ...] | list[str], points: int = 1) -> Callable:
    """Register the decorated function as the check of ``key``.

    ``answers`` names what the learner passes, in order (for messages and
    for the nbgrader assignment); ``points`` is what the check is worth there.
    Registering a key again (a reloaded module) replaces the old check.
    """
    if not KEY_PATTERN.match(key):
        raise ValueError(f"exercise key {key!r} should look like 'ch05-ex-tanh' or 'ch04-ex-pos-weight/grad'")
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(f"points of {key!r} must be a positive whole number, got {points!r}")

    def register(run: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        _REGISTRY[key] = Exercise(key, tuple(answers), points, run)
        return run

    return register


def _chapter_module(key: str) -> str:
    match = KEY_PATTERN.match(key) if isinstance(key, str) else None
    if not match:
        raise ValueError(
            f"unknown exercise {key!r}: a key looks like 'ch05-ex-tanh', the label of the exercise"
        )
    return f"mlp_course.exercises.{match.group(1)}"


def _load(key: str, fresh: bool = False) -> None:
    name = _chapter_module(key)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        raise ValueError(f"unknown exercise {key!r}: no chapter module {name}") from None
    if fresh:
        importlib.reload(module)


def get(key: str, fresh: bool = False) -> Exercise:
    """The registered exercise ``key`` (its chapter's module is imported on first use)."""
    _load(key, fresh)
    if key not in _REGISTRY:
        chapter = key[:4]
        known = sorted(k for k in _REGISTRY if k.startswith(chapter))
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown exercise {key!r}.{hint} The exercises of {chapter} are: {', '.join(known)}")
    return _REGISTRY[key]


def keys(chapter: str | None = None) -> list[str]:
    """Every registered key of ``chapter`` ("ch05"), importing its module; None: those imported so far."""
    if chapter is not None:
        _load(f"{chapter}-ex-x")
        return sorted(k for k in _REGISTRY if k.startswith(chapter + "-"))
    return sorted(_REGISTRY)


def _refuse_package_code(key: str, answers: tuple) -> None:
    """An answer that *is* the package's code (a referee's ``__wrapped__``, a helper, a partial of
    one) makes no call the watch could see while it runs: refuse it before it runs."""
    for answer in answers:
        target = answer
        while isinstance(target, functools.partial):
            target = target.func
        target = getattr(target, "__func__", target)  # a bound method: its function
        if not callable(target) or getattr(target, "is_referee", False):
            continue  # a referee passed as it is refuses by itself, with its own message
        module = getattr(target, "__module__", None)
        module = module if isinstance(module, str) else ""
        if _in(module, FORBIDDEN_IN_ANSWERS) and not _in(module, ALLOWED_IN_ANSWERS):
            name = getattr(target, "__qualname__", type(target).__qualname__)
            raise RefereeCalled(
                f"your answer is {module}.{name}, the course's own code, not code you wrote: "
                f"write the computation of {key} yourself"
            )


def _run(exercise_: Exercise, answers: tuple) -> CheckResult:
    """Run the check; report a wrong answer in one message and the learner's own error as theirs."""
    __tracebackhide__ = True  # IPython and pytest leave this frame out of tracebacks
    if len(answers) != len(exercise_.answers):
        names = ", ".join(exercise_.answers)
        raise CheckUsageError(
            f"check({exercise_.key!r}, ...) takes {len(exercise_.answers)} answer(s), {names}; "
            f"got {len(answers)}"
        )
    try:
        _refuse_package_code(exercise_.key, answers)
        return exercise_.run(*answers)
    except WrongAnswer as wrong:
        # Raised again from here, so the traceback is this one frame, not the check's internals.
        raise type(wrong)(str(wrong)) from None
    except AnswerRaised as raised:
        error = raised.original
        if sys.version_info >= (3, 11):
            error.add_note(f"(check {exercise_.key!r}: your code raised this in {raised.where})")
        raise error.with_traceback(learner_traceback(error)) from None


def check(key: str, *answers: object) -> CheckResult:
    """Check the answer(s) to exercise ``key`` and print one line.

    Returns true when right, false (printing "not answered yet") when the
    answer is still the stub's; raises :class:`~mlp_course.exercises.checks.WrongAnswer`
    with a message when it is wrong, and re-raises an error of the learner's
    own code as theirs.
    """
    __tracebackhide__ = True
    return _run(get(key), answers)


def grade(key: str, *answers: object) -> None:
    """For an autograded cell: check ``key`` with its checks freshly loaded; raise unless right.

    Reloading the chapter's module undoes anything the notebook did to it, and
    an answer not given yet raises :class:`NotAnswered`, so it scores zero.
    """
    __tracebackhide__ = True
    if not _run(get(key, fresh=True), answers):
        raise NotAnswered(f"{key} is not answered")
