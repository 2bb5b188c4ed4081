"""Tests for mlp_course.exercises.registry: check() and grade() by key."""
from __future__ import annotations

import sys
import traceback
import types

import numpy as np
import pytest

from mlp_course.exercises import registry
from mlp_course.exercises.checks import WrongAnswer, check_function, referee

MODULE = "mlp_course.exercises.ch98"


def _make_chapter(factor: float = 2.0) -> types.ModuleType:
    """A throwaway chapter module with one check, registered as importing it would."""
    module = types.ModuleType(MODULE)

    @referee
    def _double(x):
        return factor * x

    @registry.exercise("ch98-ex-double", answers=("double",), points=2)
    def _check(double):
        cases = [((np.arange(3.0),), _double(np.arange(3.0)))]
        return check_function(double, cases, name="double", mistakes=[(lambda x: x, "returned x itself")])

    module._double = _double
    return module


@pytest.fixture
def chapter(monkeypatch):
    module = _make_chapter()
    module.__spec__ = None
    monkeypatch.setitem(sys.modules, MODULE, module)
    # reload() needs a real module spec; grade() reloads, so stand in for it.
    monkeypatch.setattr(registry.importlib, "reload", lambda m: _make_chapter() and m)
    yield module
    registry._REGISTRY.pop("ch98-ex-double", None)


def test_check_by_key(chapter, capsys):
    assert registry.check("ch98-ex-double", lambda x: 2 * x)
    assert capsys.readouterr().out == "\u2713 double passes the test case.\n"
    assert registry.get("ch98-ex-double").points == 2
    assert registry.get("ch98-ex-double").label == "ch98-ex-double"
    assert "ch98-ex-double" in registry.keys()


def test_untouched_stub_is_not_answered(chapter, capsys):
    def double(x):
        raise NotImplementedError("replace this line with your code")

    assert not registry.check("ch98-ex-double", double)
    assert "not answered yet" in capsys.readouterr().out
    with pytest.raises(registry.NotAnswered, match="ch98-ex-double is not answered"):
        registry.grade("ch98-ex-double", double)


def test_wrong_answer_is_one_message_with_the_hint(chapter):
    with pytest.raises(WrongAnswer, match="Likely mistake: returned x itself") as info:
        registry.check("ch98-ex-double", lambda x: x)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(WrongAnswer):
        registry.grade("ch98-ex-double", lambda x: x)


def test_calling_the_referee_fails(chapter):
    with pytest.raises(WrongAnswer, match="calls the check's own reference"):
        registry.check("ch98-ex-double", lambda x: chapter._double(x))


def test_an_error_in_the_answer_is_raised_as_the_learners_own(chapter):
    def double(x):
        return x @ np.ones((2, 2))   # the learner's bug: a shape mismatch

    with pytest.raises(ValueError) as info:
        registry.check("ch98-ex-double", double)
    error = info.value
    assert error.__cause__ is None and error.__suppress_context__
    frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    assert frames[-1] == "double"            # the learner's line is where it ends
    assert "check_function" not in frames    # the check's internals are cut
    if sys.version_info >= (3, 11):
        assert any("your code raised this in Case 1 of 1" in note for note in error.__notes__)


def test_wrong_number_of_answers(chapter):
    with pytest.raises(TypeError, match=r"takes 1 answer\(s\), double; got 2"):
        registry.check("ch98-ex-double", lambda x: x, lambda x: x)


@pytest.mark.parametrize("key, fragment", [
    ("ch98-ex-dubble", "Did you mean 'ch98-ex-double'"),
    ("nonsense", "a key looks like 'ch05-ex-tanh'"),
    ("ch97-ex-anything", "no chapter module mlp_course.exercises.ch97"),
    (42, "unknown exercise 42"),
])
def test_unknown_keys_are_named(chapter, key, fragment):
    with pytest.raises(ValueError, match=fragment):
        registry.check(key, None)


@pytest.mark.parametrize("key, points, fragment", [
    ("ch05_ex_tanh", 1, "should look like"), ("ch05-ex-tanh", 0, "positive whole number"),
    ("ch05-ex-tanh", True, "positive whole number"),
])
def test_bad_registrations_are_refused(key, points, fragment):
    with pytest.raises(ValueError, match=fragment):
        registry.exercise(key, answers=("f",), points=points)


def test_grade_reloads_the_chapter_so_tampering_is_undone(chapter, monkeypatch):
    # A learner replaces the registered check by one that accepts anything ...
    monkeypatch.setitem(registry._REGISTRY, "ch98-ex-double",
                        registry.Exercise("ch98-ex-double", ("double",), 2, lambda d: True))
    assert registry.check("ch98-ex-double", lambda x: x)
    # ... but grade() registers the chapter's checks afresh before it runs them.
    with pytest.raises(WrongAnswer):
        registry.grade("ch98-ex-double", lambda x: x)


def test_an_answer_that_is_the_packages_own_code_is_refused(chapter):
    import functools

    from mlp_course.exercises import checks
    from mlp_course.scratch import functional as F

    guarded = checks.referee(checks._simple_ratio)
    for answer in (guarded.__wrapped__, functools.partial(checks._simple_ratio), checks._fmt):
        with pytest.raises(WrongAnswer, match="the course's own code"):
            registry.check("ch98-ex-double", answer)
    # the elementary functions are not refused up front (this one is simply wrong)
    with pytest.raises(WrongAnswer, match="wrong values"):
        registry.check("ch98-ex-double", F.sigmoid)
