"""Exercise checks.

A notebook checks an answer with ``check("ch05-ex-tanh", tanh_layer_backward)``:
the key is the exercise's label, and the test cases, expected values and
referees live in the chapter's module here (``ch05``), not in the notebook.
nbgrader test cells call :func:`grade` instead. The building blocks
(``check_array``, ``check_scalar``, ``check_function``) are in :mod:`.checks`.
"""

from mlp_course.exercises.checks import (
    AnswerRaised,
    CheckResult,
    RefereeCalled,
    WrongAnswer,
    answer_running,
    check_array,
    check_function,
    check_scalar,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import Exercise, NotAnswered, check, exercise, get, grade, keys

__all__ = [
    "AnswerRaised", "CheckResult", "Exercise", "NotAnswered", "RefereeCalled", "WrongAnswer",
    "answer_running", "check", "check_array", "check_function", "check_scalar", "exercise", "get",
    "grade", "keys", "not_answered", "passed", "referee",
]
