"""The checks of chapter 14's coding exercises, keyed by exercise label.

* ``ch14-ex-confusion``: ``count_confusions(y_true, y_pred, n_classes)`` in NumPy: the
  ``(n_classes, n_classes)`` matrix whose entry ``[i, j]`` counts the examples of true class ``i``
  predicted as class ``j``, against scikit-learn's ``confusion_matrix``; a label outside
  ``0 .. n_classes - 1`` or arrays of different lengths must raise a ``ValueError``. The named
  mistakes: the matrix transposed, normalised, sized by the largest label seen, binned by
  ``np.histogram2d`` with the wrong bins, labels counted from 1, and a repeated pair counted once
  (``C[y_true, y_pred] += 1``). Among the bad inputs are two on which NumPy raises nothing by itself
  (a label 3 whose flat index ``3 * 0 + 3`` lies inside the matrix, and a predicted -1).
* ``ch14-ex-standardise``: ``standardise(X_train, X_other)`` returns both sets standardised per
  column with the mean and the standard deviation (``ddof=0``) of the training set only; a column
  constant in the training set is divided by 1 (only centred), as scikit-learn's
  ``StandardScaler`` does; the dtype is kept and the inputs are not changed in place. The named
  mistakes: statistics leaked from the other set (its own, or of both together, for one set or
  both), the variance for the standard deviation, per-example
  statistics, one mean and standard deviation for every column, ``ddof=1``, a division by a zero
  standard deviation or by a tiny epsilon, constant columns set to 0, the results swapped.
* ``ch14-ex-wilson``: ``wilson_interval(correct, n, z=1.96)`` returns ``(low, high)``, the Wilson
  score interval of an accuracy of ``correct`` right answers out of ``n``, against the roots of
  the quadratic that defines it; a count outside ``0 .. n`` or ``n < 1`` must raise a
  ``ValueError``. The named mistakes: the normal approximation (clipped or not), the interval
  centred at ``correct / n``, a missing ``z**2 / (4 n**2)`` term or ``z**2 / n**2`` in its place, ``z``
  for ``z**2`` in the centre, a fixed 1.96, ``n - 1``, the two ends swapped, and ``(centre, half-width)``
  returned instead of the two ends. A NumPy array of the two ends counts as the pair. Two bad counts come
  at ``z = 2.576``, where ``math.sqrt`` raises nothing by itself.

Every case is built here, deterministically; the answers run under the checks' watch, in NumPy
only (scikit-learn, SciPy's statistics, PyTorch and the course's library would do the work).
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised,
    WrongAnswer,
    _compare,
    _describe_argument,
    answer_running,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = [
    "confusion_cases", "confusion_bad_inputs", "confusion_by_sklearn", "CONFUSION_MISTAKES", "confusion_matrix_check",
    "standardise_cases", "standardise_by_sklearn", "STANDARDISE_MISTAKES", "standardise_check",
    "wilson_cases", "wilson_bad_inputs", "wilson_by_quadratic", "WILSON_MISTAKES", "wilson_interval_check",
]

_STUB = "replace `raise NotImplementedError` in the cell above with your code"


class _NotYet(Exception):
    """The learner's code still raises NotImplementedError."""


def _call(function: Callable, args: tuple, where: str, forbidden: Sequence[str]) -> Any:
    """The learner's ``function(*args)`` on copies of ``args``, under the watch; _NotYet while it is a stub;
    an error of the learner's own code is re-raised as theirs."""
    try:
        with answer_running((), forbidden):
            return function(*copy.deepcopy(args))
    except NotImplementedError:
        raise _NotYet() from None
    except WrongAnswer:
        raise
    except Exception as error:
        raise AnswerRaised(error, where) from error


@contextlib.contextmanager
def _quiet_numpy():
    """NumPy's floating-point warnings off, for the check's own arithmetic on an answer."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _quietly(mistake: Callable, args: tuple) -> Any:
    """A mistake's result on ``args``, without the NumPy warnings its own division by zero raises."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mistake(*copy.deepcopy(args))


def _value_cases(function: Callable, name: str, cases: Sequence[tuple[tuple, Any, str]],
                 mistakes: Sequence[tuple[Callable, str]], rtol: float, atol: float,
                 forbidden: Sequence[str], output_names: Sequence[str] | None = None,
                 tolerances: Callable[[tuple], tuple[float, float]] | None = None) -> list:
    """Run ``function`` on every ``(args, expected, label)`` and compare; the first wrong case raises a
    WrongAnswer with its inputs and the hint of a known mistake: first one that reproduces the answer on
    every case, else one that does on this case. Returns the results."""
    if not cases:
        raise WrongAnswer(f"the check of {name} has no test cases: was mlp_course.exercises.ch14 changed? "
                          "Restart the kernel and run the notebook from the top.")
    outcomes = []                                       # per case: (where, result, error)
    for number, (args, expected, label) in enumerate(cases, start=1):
        call = f"{name}({', '.join(_describe_argument(a) for a in args)})"
        where = f"Case {number} of {len(cases)} ({label}), {call}"
        try:
            outcomes.append((where, _call(function, args, where, forbidden), None))
        except AnswerRaised as error:
            outcomes.append((where, None, error))

    def same(result, wanted, args) -> bool:
        case_rtol, case_atol = tolerances(args) if tolerances else (rtol, atol)
        try:
            with _quiet_numpy():
                return _compare(result, wanted, "result", case_rtol, case_atol, output_names) is None
        except Exception:                               # of another structure: not the same
            return False

    def explains(mistake, pairs) -> bool:
        try:
            return all(error is None and same(result, _quietly(mistake, args), args)
                       for (_, result, error), (args, _, _) in pairs)
        except Exception:                               # a mistake that cannot run on a case
            return False

    for (where, result, error), (args, expected, _) in zip(outcomes, cases):
        if error is not None:
            raise error
        case_rtol, case_atol = tolerances(args) if tolerances else (rtol, atol)
        try:
            with _quiet_numpy():                        # an answer's inf or NaN must not make the comparison warn
                message = _compare(result, expected, "result", case_rtol, case_atol, output_names)
        except WrongAnswer as wrong:                      # not numbers at all (None, a string)
            raise WrongAnswer(f"{where}: {wrong}") from None
        if message:
            hint = ""
            for pairs in (list(zip(outcomes, cases)), [((where, result, None), (args, expected, None))]):
                text = next((text for mistake, text in mistakes if explains(mistake, pairs)), None)
                if text:
                    hint = f" Likely mistake: {text}"
                    break
            raise WrongAnswer(f"{where}: {message}{hint}")
    return [result for _, result, _ in outcomes]


def _must_raise_value_error(function: Callable, name: str, bad: Sequence[tuple[tuple, str, str]],
                            forbidden: Sequence[str]) -> None:
    """Each ``(args, what is wrong, hint)`` must make ``function`` raise a ValueError."""
    for number, (args, problem, hint) in enumerate(bad, start=1):
        call = f"{name}({', '.join(_describe_argument(a) for a in args)})"
        where = f"Bad input {number} of {len(bad)} ({problem}), {call}"
        try:
            with answer_running((), forbidden):
                function(*copy.deepcopy(args))
        except NotImplementedError:
            raise _NotYet() from None
        except WrongAnswer:
            raise
        except ValueError:
            continue
        except Exception as error:
            raise WrongAnswer(f"{where} raised {type(error).__name__}: {error}. Check the input first and "
                              f"raise a ValueError that says what was expected and what was given.") from None
        raise WrongAnswer(f"{where} returned a result instead of raising a ValueError. {hint}")


# --------------------------------------------------------------------------
# ch14-ex-confusion
# --------------------------------------------------------------------------


def confusion_cases() -> list[tuple[tuple, str]]:
    """((y_true, y_pred, n_classes), name) pairs. The first is small and lopsided, so that a transposed
    matrix shows; in the second the highest class occurs nowhere, so that a matrix sized by the largest
    label, or np.histogram2d's bins spread over the labels seen, show; in the third class 0 occurs
    nowhere; one case is Python lists; one has n_classes well above every label; many pairs repeat, so
    that counting a repeated pair once shows everywhere."""
    rng = np.random.default_rng(1414)
    cases = [((np.array([0, 0, 1, 2, 2, 2, 1, 0]), np.array([0, 1, 1, 2, 0, 2, 1, 1]), 3),
              "8 examples, 3 classes")]
    y_true = rng.integers(0, 9, size=500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 9, size=500))
    cases.append(((y_true, y_pred, 10), "500 examples, 10 classes, class 9 occurs nowhere"))
    y_true = rng.integers(1, 4, size=60)
    y_pred = np.where(rng.random(60) < 0.6, y_true, rng.integers(1, 4, size=60))
    cases.append(((y_true, y_pred, 4), "60 examples, 4 classes, class 0 occurs nowhere"))
    cases.append((([2, 0, 1, 1, 0, 2, 2], [2, 0, 0, 1, 0, 1, 2], 3), "Python lists"))
    y_true = rng.integers(0, 3, size=40)
    cases.append(((y_true, y_true.copy(), 6), "every prediction right, 6 classes, labels 0 to 2 only"))
    y_true = rng.integers(0, 10, size=20_000)
    confused = rng.random(20_000) < 0.12
    y_pred = np.where(confused, (y_true + rng.integers(1, 3, size=20_000)) % 10, y_true)
    cases.append(((y_true, y_pred, 10), "20,000 examples, 10 classes"))
    return cases


def confusion_bad_inputs() -> list[tuple[tuple, str, str]]:
    """(args, what is wrong, hint) of the inputs that must raise a ValueError."""
    return [
        ((np.array([0, 1, 2, 1]), np.array([0, 1, 3, 1]), 3), "y_pred holds the label 3, with n_classes = 3",
         "A label must lie in 0 .. n_classes - 1; with a larger one np.bincount silently grows the matrix."),
        ((np.array([0, -1, 2, 1]), np.array([0, 1, 2, 1]), 3), "y_true holds the label -1",
         "A negative label is no class: NumPy reads the index -1 as the last row, so it would be counted as "
         "class n_classes - 1 without a word."),
        ((np.array([0, 1, 2, 1, 0]), np.array([0, 1, 2, 1]), 3), "5 true labels but 4 predictions",
         "zip or a loop would silently stop at the shorter array: check that the lengths agree."),
        ((np.array([0]), np.array([3]), 3), "y_pred holds the label 3, with n_classes = 3, in one example",
         "A label must lie in 0 .. n_classes - 1. Here NumPy raises nothing by itself: the flat index "
         "n_classes * 0 + 3 = 3 is a valid entry of the matrix, row 1, column 0, so the example would be "
         "counted in the wrong place. Check both arrays against 0 and n_classes - 1 yourself."),
        ((np.array([1]), np.array([-1]), 3), "y_pred holds the label -1",
         "A negative label is no class. Here NumPy raises nothing by itself: np.add.at reads -1 as the last "
         "column, and the flat index 3 * 1 - 1 = 2 of np.bincount is row 0, column 2. Check both arrays "
         "against 0 and n_classes - 1 yourself."),
        ((np.array([0]), np.array([0, 1, 2, 1]), 3), "1 true label but 4 predictions",
         "NumPy's broadcasting stretches a single label against any number of predictions, so nothing "
         "raises by itself: check that the lengths agree."),
        ((np.array([3]), np.array([0]), 3), "y_true holds the label 3, with n_classes = 3",
         "A label must lie in 0 .. n_classes - 1: check y_true's largest label too, not only y_pred's."),
    ]


@referee
def confusion_by_sklearn(y_true, y_pred, n_classes):
    """scikit-learn's confusion matrix with the classes 0 .. n_classes - 1: rows true, columns predicted."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=np.arange(n_classes))


def _counts(y_true, y_pred, n_classes):
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return C


def _confusion(y_true, y_pred, n_classes, *, transposed=False, normalise=None, size_from_data=False,
               histogram_bins=None, from_one=False, once=False):
    """The confusion matrix with one mistake."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if size_from_data:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
    if histogram_bins == "count":
        return np.histogram2d(y_true, y_pred, bins=n_classes)[0]
    if histogram_bins == "range":
        return np.histogram2d(y_true, y_pred, bins=[np.arange(n_classes)] * 2)[0]
    if from_one:
        C = np.zeros((n_classes, n_classes), dtype=np.int64)
        np.add.at(C, ((y_true - 1) % n_classes, (y_pred - 1) % n_classes), 1)
    elif once:
        C = np.zeros((n_classes, n_classes), dtype=np.int64)
        C[y_true, y_pred] += 1
    else:
        C = _counts(y_true, y_pred, n_classes)
    if normalise == "rows":
        C = C / C.sum(axis=1, keepdims=True)
    elif normalise == "columns":
        C = C / C.sum(axis=0, keepdims=True)
    elif normalise == "all":
        C = C / C.sum()
    return C.T if transposed else C


def _confusion_mistake(**options):
    return lambda y_true, y_pred, n_classes: _confusion(y_true, y_pred, n_classes, **options)


CONFUSION_MISTAKES = [
    (_confusion_mistake(transposed=True),
     "the matrix is transposed: row i must be the TRUE class i and column j the PREDICTED class j, so that "
     "C[i, j] counts the examples of class i predicted as j (scikit-learn's convention, and the chapter's)."),
    (_confusion_mistake(once=True),
     "C[y_true, y_pred] += 1 counts a repeated (true, predicted) pair only once: NumPy's fancy indexing "
     "reads and writes every entry once, however often its index occurs. Use np.add.at(C, (y_true, y_pred), "
     "1), which adds once per example, or np.bincount(n_classes * y_true + y_pred, minlength=n_classes**2)."),
    (_confusion_mistake(normalise="rows"),
     "the rows are normalised (each row divided by its sum). The exercise asks for counts: how many examples "
     "of class i were predicted as j."),
    (_confusion_mistake(normalise="columns"),
     "the columns are normalised (each column divided by its sum). The exercise asks for counts."),
    (_confusion_mistake(normalise="all"),
     "the matrix is divided by the number of examples. The exercise asks for counts."),
    (_confusion_mistake(size_from_data=True),
     "the size of the matrix comes from the largest label in the data (as np.bincount without minlength "
     "does). A class that occurs nowhere still has its row and column: the matrix is n_classes x n_classes."),
    (_confusion_mistake(histogram_bins="count"),
     "np.histogram2d with bins=n_classes spreads its bins evenly between the smallest and the largest label "
     "it sees, so a class missing at either end shifts every bin. Give the bin edges yourself, "
     "np.arange(n_classes + 1) - 0.5, or count with np.add.at or np.bincount."),
    (_confusion_mistake(histogram_bins="range"),
     "np.histogram2d with bins=np.arange(n_classes) has only n_classes - 1 bins (n_classes edges), and its "
     "last bin holds two classes. n_classes bins need n_classes + 1 edges, e.g. np.arange(n_classes + 1) - 0.5."),
    (_confusion_mistake(from_one=True),
     "the labels are counted from 1 (C[y_true - 1, y_pred - 1]): the classes are 0 .. n_classes - 1, so "
     "label k belongs in row and column k."),
]


def confusion_matrix_check(count_confusions):
    """Run the answer on every case against scikit-learn, then on the bad inputs (see the module docstring)."""
    name = "count_confusions"
    if count_confusions is None or count_confusions is Ellipsis:
        return not_answered(name)
    if not callable(count_confusions):
        raise WrongAnswer(f"{name} should be a function, got {type(count_confusions).__name__}.")
    cases = [(args, confusion_by_sklearn(*args), label) for args, label in confusion_cases()]
    try:
        results = _value_cases(count_confusions, name, cases, CONFUSION_MISTAKES, rtol=0.0, atol=1e-9,
                               forbidden=("sklearn",))
        _must_raise_value_error(count_confusions, name, confusion_bad_inputs(), ("sklearn",))
    except _NotYet:
        return not_answered(name, _STUB)
    for (args, _, label), result in zip(cases, results):
        array = np.asarray(result)
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
            raise WrongAnswer(f"{name} on the case '{label}' returned an array of dtype {array.dtype}; it should "
                              f"hold counts, integers (or floats with whole values).")
    return passed(f"{name} passes all {len(cases)} test cases and refuses all "
                  f"{len(confusion_bad_inputs())} bad inputs.")


@exercise("ch14-ex-confusion", answers=("count_confusions",), points=3)
def _check_confusion(count_confusions):
    return confusion_matrix_check(count_confusions)


# --------------------------------------------------------------------------
# ch14-ex-standardise
# --------------------------------------------------------------------------


def standardise_cases() -> list[tuple[tuple, str]]:
    """((X_train, X_other), name) pairs. The other set is drawn from another distribution than the
    training set (shifted and scaled), so that its own statistics, or those of both sets together,
    give other numbers; the columns have very different means and scales, so that one mean and one
    standard deviation for all of them show; the training sets are small, so that ddof=1 shows. One
    column is constant in a training set but not in the other set, another is 0 everywhere; one case is
    float32 images of 8 x 8 pixels with a border that is 0 in every training image; one other set is
    a single example."""
    rng = np.random.default_rng(1415)
    cases = []
    mean, scale = np.array([0.0, 5.0, -3.0, 100.0, 0.5, 2.0]), np.array([1.0, 0.1, 4.0, 20.0, 0.01, 3.0])
    X_train = mean + scale * rng.normal(size=(40, 6))
    X_other = mean + 0.5 + 1.5 * scale * rng.normal(size=(15, 6))
    cases.append(((X_train, X_other), "40 training examples, 15 others, 6 columns of different scales"))
    X_train = rng.normal(2.0, 3.0, size=(25, 5))
    X_other = rng.normal(3.0, 2.0, size=(10, 5))
    X_train[:, 1] = 7.0                               # constant in training, not in the other set
    X_train[:, 3], X_other[:, 3] = 0.0, 0.0           # 0 everywhere
    cases.append(((X_train, X_other), "column 1 constant in the training set, column 3 zero everywhere"))
    images = rng.uniform(0.0, 1.0, size=(300, 8, 8)) ** 2
    images[:, 0, :] = images[:, -1, :] = 0.0          # a border that is 0 in every training image
    others = rng.uniform(0.0, 1.0, size=(50, 8, 8)) ** 3
    others[:3, 0, :] = 0.2                            # ... but not in every other image
    cases.append(((images.reshape(300, 64).astype(np.float32), others.reshape(50, 64).astype(np.float32)),
                  "float32 images of 8 x 8 pixels, a border that is 0 in every training image"))
    X_train = rng.normal(-1.0, 0.5, size=(30, 4))
    cases.append(((X_train, rng.normal(0.0, 1.0, size=(1, 4))), "the other set is a single example"))
    return cases


@referee
def standardise_by_sklearn(X_train, X_other):
    """scikit-learn's StandardScaler fitted on X_train (in float64), applied to both, in the inputs' dtype."""
    from sklearn.preprocessing import StandardScaler

    dtype = np.asarray(X_train).dtype
    scaler = StandardScaler().fit(np.asarray(X_train, dtype=np.float64))
    return (scaler.transform(np.asarray(X_train, dtype=np.float64)).astype(dtype),
            scaler.transform(np.asarray(X_other, dtype=np.float64)).astype(dtype))


def _standardise(X_train, X_other, *, other_stats="train", axis=0, ddof=0, zero="one", swap=False,
                 centre_only=False, scale_only=False, variance=False):
    """Standardisation with one mistake (the referee's rule otherwise)."""
    X_train, X_other = np.asarray(X_train, dtype=np.float64), np.asarray(X_other, dtype=np.float64)

    def stats(X):
        if axis is None:
            return X.mean(), X.std(ddof=ddof)
        return X.mean(axis=axis, keepdims=True), X.std(axis=axis, ddof=ddof, keepdims=True)

    def apply(X, mean, std):
        if zero == "one":
            std = np.where(std == 0, 1.0, std)
        elif zero == "epsilon":
            std = std + 1e-8
        elif zero == "maximum":
            std = np.maximum(std, 1e-8)
        if centre_only:
            out = X - mean
        elif scale_only:
            out = X / std
        else:
            out = (X - mean) / std
        if zero == "zeros":
            out = np.where(np.broadcast_to(std == 0, out.shape), 0.0, out)
        return out

    if variance:                                      # divided by the variance, not its square root
        mean, std = stats(X_train)
        return apply(X_train, mean, std ** 2), apply(X_other, mean, std ** 2)
    if other_stats == "both for both":
        both = stats(np.concatenate([X_train, X_other]))
        return apply(X_train, *both), apply(X_other, *both)
    train_stats = stats(X_train)
    if axis == 1:                                     # per example: each set by its own rows
        results = apply(X_train, *train_stats), apply(X_other, *stats(X_other))
    else:
        other = {"train": train_stats, "own": stats(X_other),
                 "both": stats(np.concatenate([X_train, X_other]))}[other_stats]
        results = apply(X_train, *train_stats), apply(X_other, *other)
    return results[::-1] if swap else results


def _standardise_mistake(**options):
    return lambda X_train, X_other: _standardise(X_train, X_other, **options)


_ZERO_STD = ("a column that is constant in the training set has a standard deviation of 0, and dividing by it "
             "gives NaN (0/0) or infinity. Divide such a column by 1 instead, "
             "np.where(std == 0, 1, std): it is then only centred, as scikit-learn's StandardScaler does.")

STANDARDISE_MISTAKES = [
    (_standardise_mistake(other_stats="own"),
     "the other set is standardised with its OWN mean and standard deviation. That leaks information from "
     "data the model must not see, and moves its pixels by other amounts than the training pixels: use the "
     "statistics of X_train for both sets."),
    (_standardise_mistake(other_stats="both"),
     "the statistics come from both sets together (e.g. np.concatenate([X_train, X_other])): the other set "
     "leaks into them. Compute the mean and the standard deviation on X_train alone."),
    (_standardise_mistake(other_stats="both for both"),
     "both sets are standardised with the statistics of both together (e.g. np.concatenate([X_train, "
     "X_other])): the other set leaks into them. Compute the mean and the standard deviation on X_train "
     "alone, and apply them to both sets."),
    (_standardise_mistake(variance=True),
     "the columns are divided by their variance (X.var(axis=0)), not by their standard deviation, its "
     "square root (X.std(axis=0))."),
    (_standardise_mistake(axis=1),
     "each example (row) is standardised with its own mean and standard deviation (axis=1). The exercise "
     "standardises each column (pixel) over the training examples: axis=0."),
    (_standardise_mistake(axis=None),
     "one mean and one standard deviation for every column, as the chapter's normalisation does. The "
     "exercise standardises each column (pixel) with its own statistics: X_train.mean(axis=0), "
     "X_train.std(axis=0)."),
    (_standardise_mistake(ddof=1),
     "the standard deviation is the unbiased one (ddof=1, dividing by N - 1). The exercise asks for np.std's "
     "default, ddof=0, dividing by N, as scikit-learn's StandardScaler uses."),
    (_standardise_mistake(zero=None), _ZERO_STD),
    (_standardise_mistake(zero="epsilon"),
     "a tiny epsilon is added to the standard deviation. For a column that is constant in the training set "
     "that divides by 1e-8 or so: any other value in the other set becomes enormous. Divide such a column by "
     "1 instead, np.where(std == 0, 1, std), and leave the other columns' standard deviations as they are."),
    (_standardise_mistake(zero="maximum"),
     "the standard deviation is clamped to a tiny minimum (np.maximum(std, eps)). For a column that is "
     "constant in the training set that divides by eps: any other value in the other set becomes enormous. "
     "Divide such a column by 1 instead: np.where(std == 0, 1, std)."),
    (_standardise_mistake(zero="zeros"),
     "a column that is constant in the training set is set to 0 in both sets. The exercise divides such a "
     "column by 1, so that the other set keeps its difference from the training mean (X - mean)."),
    (_standardise_mistake(swap=True),
     "the two results are swapped: return (X_train standardised, X_other standardised), in that order."),
    (_standardise_mistake(centre_only=True),
     "the columns are centred but not divided by their standard deviation."),
    (_standardise_mistake(scale_only=True),
     "the columns are divided by their standard deviation but not centred: subtract the training mean first."),
]


def _standardise_tolerances(args: tuple) -> tuple[float, float]:
    """float32 results are compared to about float32's precision, float64 ones tightly."""
    if np.asarray(args[0]).dtype == np.float32:
        return 2e-5, 2e-5
    return 1e-9, 1e-9


def _standardise_in_place(standardise, cases) -> None:
    """A WrongAnswer when the answer changes its arguments in place (X_train -= mean)."""
    for number, ((X_train, X_other), label) in enumerate(cases, start=1):
        given = [X_train.copy(), X_other.copy()]
        try:
            with answer_running((), ("sklearn",)), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                standardise(*given)
        except Exception:
            return                                    # reported by the value cases, as usual
        changed = [name for name, before, after in zip(("X_train", "X_other"), (X_train, X_other), given)
                   if not np.array_equal(before, after, equal_nan=True)]
        if changed:
            raise WrongAnswer(
                f"Case {number} of {len(cases)} ({label}): standardise changed {' and '.join(changed)} in place "
                f"(e.g. X_train -= mean). The caller's arrays must stay as they were: compute new arrays, "
                f"(X_train - mean) / std, and return those.")


def standardise_check(standardise):
    """Run the answer on every case against StandardScaler; check the dtype and that nothing changes in place."""
    name = "standardise"
    if standardise is None or standardise is Ellipsis:
        return not_answered(name)
    if not callable(standardise):
        raise WrongAnswer(f"{name} should be a function, got {type(standardise).__name__}.")
    named = standardise_cases()
    cases = [(args, standardise_by_sklearn(*args), label) for args, label in named]
    try:
        results = _value_cases(standardise, name, cases, STANDARDISE_MISTAKES, rtol=1e-9, atol=1e-9,
                               forbidden=("sklearn",), output_names=("X_train standardised", "X_other standardised"),
                               tolerances=_standardise_tolerances)
    except _NotYet:
        return not_answered(name, _STUB)
    for (args, _, label), result in zip(cases, results):
        dtype = np.asarray(args[0]).dtype
        got = [np.asarray(part).dtype for part in result]
        if any(d != dtype for d in got):
            raise WrongAnswer(f"On the case '{label}' the inputs are {dtype} but {name} returned "
                              f"{' and '.join(str(d) for d in got)}. Keep the dtype of the inputs: float32 "
                              f"images stay float32, half the memory of float64 (compute the statistics as you "
                              f"like, then .astype(X_train.dtype)).")
    _standardise_in_place(standardise, named)
    return passed(f"{name} passes all {len(cases)} test cases.")


@exercise("ch14-ex-standardise", answers=("standardise",), points=3)
def _check_standardise(standardise):
    return standardise_check(standardise)


# --------------------------------------------------------------------------
# ch14-ex-wilson
# --------------------------------------------------------------------------


def wilson_cases() -> list[tuple[tuple, str]]:
    """((correct, n, z), name) pairs: an accuracy near the chapter's, one of 1 and one of 0 (where the normal
    approximation has no width), a small sample, NumPy integers, and another z."""
    return [
        ((912, 1000, 1.96), "912 of 1,000"),
        ((8_912, 10_000, 1.96), "8,912 of 10,000"),
        ((1000, 1000, 1.96), "1,000 of 1,000, no mistake"),
        ((0, 20, 1.96), "0 of 20"),
        ((3, 10, 1.96), "3 of 10"),
        ((np.int64(45), np.int64(50), 2.576), "45 of 50 as NumPy integers, z = 2.576 (99%)"),
        ((7, 8, 1.0), "7 of 8, z = 1"),
        ((912, 1000), "912 of 1,000 with z left at its default, which must be 1.96"),
    ]


def wilson_bad_inputs() -> list[tuple[tuple, str, str]]:
    """(args, what is wrong, hint) of the inputs that must raise a ValueError."""
    return [
        ((11, 10, 1.96), "11 right answers out of 10", "The number of right answers lies between 0 and n."),
        ((-1, 10, 1.96), "-1 right answers", "The number of right answers lies between 0 and n."),
        ((0, 0, 1.96), "n = 0", "An accuracy needs at least one example: with n = 0 the formula divides by 0."),
        ((11, 10, 2.576), "11 right answers out of 10, at z = 2.576",
         "The number of right answers lies between 0 and n. Check it yourself: at z = 2.576 the square root "
         "of the formula stays real for 11 out of 10, so math.sqrt raises nothing and an interval comes out."),
        ((-1, 10, 2.576), "-1 right answers, at z = 2.576",
         "The number of right answers lies between 0 and n. Check it yourself: at z = 2.576 the square root "
         "of the formula stays real for -1 out of 10, so math.sqrt raises nothing and an interval comes out."),
    ]


@referee
def wilson_by_quadratic(correct, n, z=1.96):
    """The two accuracies pi whose distance from correct / n is z standard errors sqrt(pi (1 - pi) / n): the
    roots of (1 + z^2/n) pi^2 - (2 p + z^2/n) pi + p^2 = 0, in increasing order."""
    p, n, z = float(correct) / float(n), float(n), float(z)
    roots = np.roots([1 + z * z / n, -(2 * p + z * z / n), p * p])
    low, high = sorted(float(np.real(r)) for r in roots)
    return max(low, 0.0), min(high, 1.0)      # the roots lie in [0, 1]; rounding may step out by 1e-17


def _wilson(correct, n, z=1.96, *, normal=False, clip=False, no_shift=False, no_term=False, fixed_z=False,
            n_minus_1=False, centre_half=False, swapped=False, term_without_4=False, z_not_squared=False,
            z_in_numerator=False):
    """The interval with one mistake."""
    correct, n, z = float(correct), float(n), 1.96 if fixed_z else float(z)
    p = correct / n
    m = n - 1 if n_minus_1 else n
    if normal:
        half = z * math.sqrt(p * (1 - p) / m)
        low, high = p - half, p + half
        return (max(low, 0.0), min(high, 1.0)) if clip else (low, high)
    z2 = z if z_not_squared else z * z
    centre = p if no_shift else (p + (z if z_in_numerator else z2) / (2 * m)) / (1 + z2 / m)
    spread = p * (1 - p) / m + (0.0 if no_term else z * z / ((1 if term_without_4 else 4) * m * m))
    half = z / (1 + z * z / m) * math.sqrt(spread)
    if centre_half:
        return centre, half
    return (centre + half, centre - half) if swapped else (centre - half, centre + half)


def _wilson_mistake(**options):
    return lambda correct, n, z=1.96: _wilson(correct, n, z, **options)


WILSON_MISTAKES = [
    (_wilson_mistake(normal=True),
     "this is the normal approximation, p ± z sqrt(p (1 - p) / n), the chapter's interval, not Wilson's. Wilson's "
     "is centred at (p + z²/(2n)) / (1 + z²/n), and its half-width is z / (1 + z²/n) * sqrt(p (1 - p) / n + "
     "z²/(4 n²))."),
    (_wilson_mistake(normal=True, clip=True),
     "this is the normal approximation clipped to [0, 1]. Clipping keeps it inside [0, 1] but leaves it with "
     "no width at an accuracy of 0 or 1; Wilson's interval is centred at (p + z²/(2n)) / (1 + z²/n)."),
    (_wilson_mistake(no_shift=True),
     "the interval is centred at p = correct / n. Wilson's centre is pulled towards 1/2: (p + z²/(2n)) / "
     "(1 + z²/n)."),
    (_wilson_mistake(no_term=True),
     "the term z²/(4 n²) under the square root is missing: the half-width is z / (1 + z²/n) * "
     "sqrt(p (1 - p) / n + z²/(4 n²)). Without it, the interval has no width at p = 0 or 1."),
    (_wilson_mistake(fixed_z=True),
     "z is fixed at 1.96: use the argument z (2.576 for 99%, 1 for about 68%)."),
    (_wilson_mistake(n_minus_1=True),
     "n - 1 appears where the formula has n: the variance of an accuracy measured on n examples is "
     "p (1 - p) / n."),
    (_wilson_mistake(centre_half=True),
     "the result is (centre, half-width); return the two ends of the interval, (low, high) = "
     "(centre - half-width, centre + half-width)."),
    (_wilson_mistake(swapped=True),
     "the two ends are swapped: return (low, high), the smaller end first."),
    (_wilson_mistake(term_without_4=True),
     "the term under the square root is z²/n² instead of z²/(4 n²): the half-width is z / (1 + z²/n) * "
     "sqrt(p (1 - p) / n + z²/(4 n²))."),
    (_wilson_mistake(z_not_squared=True),
     "the centre uses z where the formula has z²: it is (p + z²/(2n)) / (1 + z²/n)."),
    (_wilson_mistake(z_in_numerator=True),
     "the centre's numerator has z/(2n) where the formula has z²/(2n): it is (p + z²/(2n)) / (1 + z²/n)."),
]


def _as_pair(wilson_interval: Callable) -> Callable:
    """The answer, with a NumPy array of two numbers read as the pair (low, high) it stands for."""
    def answer(*args):
        result = wilson_interval(*args)
        if isinstance(result, np.ndarray) and result.shape == (2,):
            return tuple(result)
        return result
    return answer


def wilson_interval_check(wilson_interval):
    """Run the answer on every case against the roots of Wilson's quadratic, then on the bad inputs."""
    name = "wilson_interval"
    if wilson_interval is None or wilson_interval is Ellipsis:
        return not_answered(name)
    if not callable(wilson_interval):
        raise WrongAnswer(f"{name} should be a function, got {type(wilson_interval).__name__}.")
    cases = [(args, wilson_by_quadratic(*args), label) for args, label in wilson_cases()]
    forbidden = ("sklearn", "scipy.stats", "statsmodels")
    try:
        results = _value_cases(_as_pair(wilson_interval), name, cases, WILSON_MISTAKES, rtol=1e-9, atol=1e-12,
                               forbidden=forbidden, output_names=("low", "high"))
        _must_raise_value_error(wilson_interval, name, wilson_bad_inputs(), forbidden)
    except _NotYet:
        return not_answered(name, _STUB)
    for (args, _, label), result in zip(cases, results):
        for part, value in zip(("low", "high"), result):
            if isinstance(value, np.ndarray) and value.ndim > 0 or not isinstance(value, (numbers.Real, np.ndarray)):
                raise WrongAnswer(f"On the case '{label}', {part} should be a single number, got "
                                  f"{type(value).__name__} {value!r:.40}.")
    return passed(f"{name} passes all {len(cases)} test cases and refuses all {len(wilson_bad_inputs())} bad inputs.")


@exercise("ch14-ex-wilson", answers=("wilson_interval",), points=2)
def _check_wilson(wilson_interval):
    return wilson_interval_check(wilson_interval)
