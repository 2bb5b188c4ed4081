"""The checks of chapter 14's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form passes, bad input must be refused, and an answer that calls a referee (or the
library that would do the work) fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch14

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch14") == ["ch14-ex-confusion", "ch14-ex-standardise", "ch14-ex-wilson"]
    assert get("ch14-ex-confusion").points == 3
    assert get("ch14-ex-standardise").points == 3
    assert get("ch14-ex-wilson").points == 2


# --------------------------------------------------------------------------
# ch14-ex-confusion
# --------------------------------------------------------------------------


def _check_labels(y_true, y_pred, n_classes):
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels, y_pred {len(y_pred)}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if np.any((y < 0) | (y >= n_classes)):
            raise ValueError(f"{name} holds a label outside 0..{n_classes - 1}")


def confusion_matrix(y_true, y_pred, n_classes):
    """The reference answer."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def confusion_stub(y_true, y_pred, n_classes):
    raise NotImplementedError("replace this line with your code")


def test_confusion_reference_passes(capsys):
    assert check("ch14-ex-confusion", confusion_matrix)
    assert capsys.readouterr().out == f"{TICK} count_confusions passes all 6 test cases and refuses all 7 bad inputs.\n"


@pytest.mark.parametrize("stub", [confusion_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_confusion_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch14-ex-confusion", stub))
    assert "count_confusions is not answered yet" in capsys.readouterr().out


def confusion_with(*, transposed=False, normalise=None, from_one=False):
    """The reference answer with one mistake."""
    def wrong(y_true, y_pred, n_classes):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        _check_labels(y_true, y_pred, n_classes)
        counts = np.zeros((n_classes, n_classes), dtype=np.int64)
        if from_one:
            np.add.at(counts, (y_true - 1, y_pred - 1), 1)
        else:
            np.add.at(counts, (y_true, y_pred), 1)
        if normalise == "rows":
            counts = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        elif normalise == "columns":
            counts = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
        elif normalise == "all":
            counts = counts / counts.sum()
        return counts.T if transposed else counts
    return wrong


def fancy_index_once(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    counts[y_true, y_pred] += 1
    return counts


def bincount_without_minlength(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    k = int(max(y_true.max(), y_pred.max())) + 1
    return np.bincount(k * y_true + y_pred).reshape(k, k)


def histogram_with_bins_k(y_true, y_pred, n_classes):
    _check_labels(np.asarray(y_true), np.asarray(y_pred), n_classes)
    return np.histogram2d(y_true, y_pred, bins=n_classes)[0]


def histogram_with_range_edges(y_true, y_pred, n_classes):
    _check_labels(np.asarray(y_true), np.asarray(y_pred), n_classes)
    return np.histogram2d(y_true, y_pred, bins=np.arange(n_classes))[0]


def predicted_by_true(y_true, y_pred, n_classes):
    return confusion_matrix(y_pred, y_true, n_classes)


@pytest.mark.parametrize("wrong, fragment", [
    (predicted_by_true, "the matrix is transposed"),
    (confusion_with(transposed=True), "the matrix is transposed"),
    (fancy_index_once, r"counts a repeated \(true, predicted\) pair only once"),
    (confusion_with(normalise="rows"), "the rows are normalised"),
    (confusion_with(normalise="columns"), "the columns are normalised"),
    (confusion_with(normalise="all"), "divided by the number of examples"),
    (bincount_without_minlength, "comes from the largest label in the data"),
    (histogram_with_bins_k, "np.histogram2d with bins=n_classes spreads its bins"),
    (histogram_with_range_edges, r"has only n_classes - 1 bins"),
    (confusion_with(from_one=True), "the labels are counted from 1"),
], ids=["arguments-swapped", "transposed", "fancy-index-once", "rows-normalised", "columns-normalised",
        "total-normalised", "bincount-without-minlength", "histogram-bins-k", "histogram-k-edges", "from-one"])
def test_confusion_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch14-ex-confusion", wrong)


def confusion_without_range_check(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError("lengths differ")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)                     # -1 wraps around; n_classes: IndexError
    return counts


def confusion_without_any_check(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        counts[t, p] += 1
    return counts


def confusion_without_length_check(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for y in (y_true, y_pred):
        if np.any((y < 0) | (y >= n_classes)):
            raise ValueError("a label outside the classes")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        counts[t, p] += 1
    return counts


@pytest.mark.parametrize("wrong, fragment", [
    (confusion_without_range_check, r"Bad input 1 of 7 \(y_pred holds the label 3.*raised IndexError"),
    (confusion_without_any_check, r"Bad input 1 of 7 .*raised IndexError"),
    (confusion_without_length_check, r"Bad input 3 of 7 .*instead of raising a ValueError.*zip or a loop"),
], ids=["no-range-check", "no-check", "no-length-check"])
def test_confusion_bad_input_must_raise_a_value_error(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch14-ex-confusion", wrong)


def test_a_negative_label_that_wraps_around_is_named():
    def wraps(y_true, y_pred, n_classes):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if len(y_true) != len(y_pred) or max(y_true.max(), y_pred.max()) >= n_classes:
            raise ValueError("bad labels")
        counts = np.zeros((n_classes, n_classes), dtype=np.int64)
        np.add.at(counts, (y_true, y_pred), 1)
        return counts

    with pytest.raises(AssertionError, match=r"Bad input 2 of 7 .*NumPy reads the index -1 as the last row"):
        check("ch14-ex-confusion", wraps)


def by_bincount(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    return np.bincount(n_classes * y_true + y_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def by_one_hot_product(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    eye = np.eye(n_classes, dtype=np.int64)
    return eye[y_true].T @ eye[y_pred]


def by_histogram_edges(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    edges = np.arange(n_classes + 1) - 0.5
    return np.histogram2d(y_true, y_pred, bins=[edges, edges])[0]


def by_comparison(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_labels(y_true, y_pred, n_classes)
    classes = np.arange(n_classes)
    return ((y_true[None, :] == classes[:, None]).astype(int) @ (y_pred[:, None] == classes[None, :]).astype(int))


@pytest.mark.parametrize("correct", [by_bincount, by_one_hot_product, by_histogram_edges, by_comparison],
                         ids=["bincount", "one-hot-product", "histogram-edges", "comparison"])
def test_confusion_every_correct_form_passes(correct, capsys):
    assert check("ch14-ex-confusion", correct)
    assert TICK in capsys.readouterr().out


def test_confusion_a_loop_with_every_check_passes(capsys):
    def loop(y_true, y_pred, n_classes):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        _check_labels(y_true, y_pred, n_classes)
        counts = np.zeros((n_classes, n_classes), dtype=np.int64)
        for t, p in zip(y_true, y_pred):
            counts[t, p] += 1
        return counts

    assert check("ch14-ex-confusion", loop)


def test_confusion_calling_the_referee_or_a_library_fails():
    from sklearn.metrics import confusion_matrix as sklearn_confusion

    def calls_referee(y_true, y_pred, n_classes):
        return ch14.confusion_by_sklearn(y_true, y_pred, n_classes)

    def calls_sklearn(y_true, y_pred, n_classes):
        _check_labels(np.asarray(y_true), np.asarray(y_pred), n_classes)
        return sklearn_confusion(y_true, y_pred, labels=range(n_classes))

    def calls_torch(y_true, y_pred, n_classes):
        _check_labels(np.asarray(y_true), np.asarray(y_pred), n_classes)
        index = torch.as_tensor(np.asarray(y_true) * n_classes + np.asarray(y_pred))
        return torch.bincount(index, minlength=n_classes ** 2).reshape(n_classes, n_classes).numpy()

    for wrong, fragment in [(calls_referee, "reference"), (calls_sklearn, "scikit-learn"), (calls_torch, "torch")]:
        with pytest.raises(RefereeCalled, match=fragment):
            check("ch14-ex-confusion", wrong)


def test_confusion_none_result_is_told():
    def forgets_return(y_true, y_pred, n_classes):
        confusion_matrix(y_true, y_pred, n_classes)

    with pytest.raises(AssertionError, match="Case 1 of 6 .*None"):
        check("ch14-ex-confusion", forgets_return)


def test_confusion_mistakes_differ_from_the_referee_and_the_cases_hold_the_traps():
    cases = ch14.confusion_cases()
    for mistake, hint in ch14.CONFUSION_MISTAKES:
        differs = False
        for args, _ in cases:
            with np.errstate(all="ignore"):
                wrong = np.asarray(mistake(*args), dtype=float)
            right = ch14.confusion_by_sklearn(*args)
            differs = differs or wrong.shape != right.shape or not np.allclose(wrong, right, equal_nan=False)
        assert differs, hint
    assert any(isinstance(args[0], list) for args, _ in cases)
    assert any(max(np.max(args[0]), np.max(args[1])) < args[2] - 1 for args, _ in cases)    # top class absent
    assert any(min(np.min(args[0]), np.min(args[1])) > 0 for args, _ in cases)              # class 0 absent


def test_the_confusion_referee_is_rows_true_columns_predicted():
    C = ch14.confusion_by_sklearn(np.array([0, 0, 1]), np.array([1, 1, 1]), 3)
    np.testing.assert_array_equal(C, [[0, 2, 0], [0, 1, 0], [0, 0, 0]])
    for args, _ in ch14.confusion_cases():
        np.testing.assert_array_equal(ch14.confusion_by_sklearn(*args), confusion_matrix(*args))


# --------------------------------------------------------------------------
# ch14-ex-standardise
# --------------------------------------------------------------------------


def standardise(X_train, X_other):
    """The reference answer."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return ((X_train - mean) / std).astype(X_train.dtype), ((X_other - mean) / std).astype(X_train.dtype)


def standardise_stub(X_train, X_other):
    raise NotImplementedError("replace this line with your code")


def test_standardise_reference_passes(capsys):
    assert check("ch14-ex-standardise", standardise)
    assert capsys.readouterr().out == f"{TICK} standardise passes all 4 test cases.\n"


@pytest.mark.parametrize("stub", [standardise_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_standardise_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch14-ex-standardise", stub))
    assert "standardise is not answered yet" in capsys.readouterr().out


def standardise_with(*, other="train", axis=0, ddof=0, zero="one", swap=False, centre_only=False,
                     scale_only=False):
    """The reference answer with one mistake."""
    def statistics(X):
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
        out = X - mean if centre_only else X / std if scale_only else (X - mean) / std
        if zero == "zeros":
            out = np.where(np.broadcast_to(std == 0, out.shape), 0.0, out)
        return out.astype(X.dtype)

    def wrong(X_train, X_other):
        stats = statistics(X_train)
        if axis == 1 or other == "own":
            other_stats = statistics(X_other)
        elif other == "both":
            other_stats = statistics(np.concatenate([X_train, X_other]))
        else:
            other_stats = stats
        results = apply(X_train, *stats), apply(X_other, *other_stats)
        return results[::-1] if swap else results
    return wrong


def own_statistics(X_train, X_other):
    return standardise(X_train, X_train)[0], standardise(X_other, X_other)[0]


def divides_by_zero(X_train, X_other):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_other - mean) / std


def in_place(X_train, X_other):
    mean = X_train.mean(axis=0)
    std = np.where(X_train.std(axis=0) == 0, 1.0, X_train.std(axis=0))
    X_train -= mean
    X_train /= std
    return X_train, ((X_other - mean) / std).astype(X_other.dtype)


def upcasts(X_train, X_other):
    return tuple(part.astype(np.float64) for part in standardise(X_train, X_other))


def returns_one(X_train, X_other):
    return standardise(X_train, X_other)[1]


@pytest.mark.parametrize("wrong, fragment", [
    (own_statistics, "standardised with its OWN mean"),
    (standardise_with(other="own"), "standardised with its OWN mean"),
    (standardise_with(other="both"), "from both sets together"),
    (standardise_with(axis=1), r"each example \(row\) is standardised"),
    (standardise_with(axis=None), "one mean and one standard deviation for every column"),
    (standardise_with(ddof=1), "ddof=1"),
    (divides_by_zero, "standard deviation of 0"),
    (standardise_with(zero="epsilon"), "a tiny epsilon is added"),
    (standardise_with(zero="maximum"), "clamped to a tiny minimum"),
    (standardise_with(zero="zeros"), "set to 0 in both sets"),
    (standardise_with(swap=True), "the two results are swapped"),
    (standardise_with(centre_only=True), "centred but not divided"),
    (standardise_with(scale_only=True), "not centred"),
    (in_place, "changed X_train in place"),
    (upcasts, "Keep the dtype of the inputs"),
    (returns_one, "should be a tuple of 2 values"),
], ids=["own-statistics", "own-statistics-helper", "both-sets", "per-example", "one-for-all", "ddof-1",
        "zero-division", "epsilon", "maximum", "zeros", "swapped", "centre-only", "scale-only", "in-place",
        "upcast", "one-result"])
def test_standardise_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        with np.errstate(all="ignore"):
            check("ch14-ex-standardise", wrong)


def by_formula(X_train, X_other):
    n = len(X_train)
    mean = X_train.sum(axis=0) / n
    std = np.sqrt(((X_train - mean) ** 2).sum(axis=0) / n)
    std[std == 0] = 1
    return (X_train - mean) / std, (X_other - mean) / std


def in_float64(X_train, X_other):
    A, B = X_train.astype(np.float64), X_other.astype(np.float64)
    mean, std = A.mean(axis=0, keepdims=True), A.std(axis=0, keepdims=True)
    scale = np.where(std > 0, std, 1.0)
    return ((A - mean) / scale).astype(X_train.dtype), ((B - mean) / scale).astype(X_train.dtype)


def by_mean_of_squares(X_train, X_other):
    mean = X_train.mean(axis=0)
    variance = np.maximum((X_train ** 2).mean(axis=0) - mean ** 2, 0.0)
    std = np.sqrt(variance)
    std[X_train.std(axis=0) == 0] = 1
    return (X_train - mean) / std, (X_other - mean) / std


@pytest.mark.parametrize("correct", [by_formula, in_float64, by_mean_of_squares],
                         ids=["by-formula", "in-float64", "mean-of-squares"])
def test_standardise_every_correct_form_passes(correct, capsys):
    assert check("ch14-ex-standardise", correct)
    assert TICK in capsys.readouterr().out


def test_standardise_calling_the_referee_or_scikit_learn_fails():
    from sklearn.preprocessing import StandardScaler

    def calls_referee(X_train, X_other):
        return ch14.standardise_by_sklearn(X_train, X_other)

    def calls_sklearn(X_train, X_other):
        scaler = StandardScaler().fit(X_train)
        return scaler.transform(X_train), scaler.transform(X_other)

    for wrong, fragment in [(calls_referee, "reference"), (calls_sklearn, "scikit-learn")]:
        with pytest.raises(RefereeCalled, match=fragment):
            check("ch14-ex-standardise", wrong)


def test_standardise_mistakes_differ_from_the_referee_and_the_cases_hold_the_traps():
    cases = ch14.standardise_cases()
    for mistake, hint in ch14.STANDARDISE_MISTAKES:
        differs = False
        for args, _ in cases:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wrong = mistake(*args)
            right = ch14.standardise_by_sklearn(*args)
            differs = differs or not all(w.shape == r.shape and np.allclose(w, r, rtol=1e-4, atol=1e-4)
                                         for w, r in zip(wrong, right))
        assert differs, hint
    # a column constant in a training set but not in the other set; a float32 case
    assert any(np.any((args[0].std(axis=0) == 0) & (args[1].std(axis=0) > 0)) for args, _ in cases)
    assert any(args[0].dtype == np.float32 for args, _ in cases)


def test_the_standardise_referee_matches_the_formula():
    for args, _ in ch14.standardise_cases():
        for ours, theirs in zip(in_float64(*args), ch14.standardise_by_sklearn(*args)):
            assert ours.dtype == theirs.dtype
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------
# ch14-ex-wilson
# --------------------------------------------------------------------------


def wilson_interval(correct, n, z=1.96):
    """The reference answer."""
    if n < 1 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n and n >= 1, got correct={correct}, n={n}")
    p = correct / n
    centre = (p + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
    half = z / (1 + z ** 2 / n) * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2))
    return centre - half, centre + half


def wilson_stub(correct, n, z=1.96):
    raise NotImplementedError("replace this line with your code")


def test_wilson_reference_passes(capsys):
    assert check("ch14-ex-wilson", wilson_interval)
    assert capsys.readouterr().out == f"{TICK} wilson_interval passes all 8 test cases and refuses all 5 bad inputs.\n"


@pytest.mark.parametrize("stub", [wilson_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_wilson_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch14-ex-wilson", stub))
    assert "wilson_interval is not answered yet" in capsys.readouterr().out


def wilson_with(*, normal=False, clip=False, no_shift=False, no_term=False, fixed_z=False, n_minus_1=False,
                centre_half=False):
    """The reference answer with one mistake."""
    def wrong(correct, n, z=1.96):
        if n < 1 or not 0 <= correct <= n:
            raise ValueError("bad")
        z = 1.96 if fixed_z else z
        p, m = correct / n, n - 1 if n_minus_1 else n
        if normal:
            half = z * math.sqrt(p * (1 - p) / m)
            return (max(p - half, 0.0), min(p + half, 1.0)) if clip else (p - half, p + half)
        centre = p if no_shift else (p + z * z / (2 * m)) / (1 + z * z / m)
        half = z / (1 + z * z / m) * math.sqrt(p * (1 - p) / m + (0.0 if no_term else z * z / (4 * m * m)))
        return (centre, half) if centre_half else (centre - half, centre + half)
    return wrong


@pytest.mark.parametrize("wrong, fragment", [
    (wilson_with(normal=True), "this is the normal approximation, p ±"),
    (wilson_with(normal=True, clip=True), "normal approximation clipped"),
    (wilson_with(no_shift=True), "centred at p = correct / n"),
    (wilson_with(no_term=True), "under the square root is missing"),
    (wilson_with(fixed_z=True), "z is fixed at 1.96"),
    (wilson_with(n_minus_1=True), "n - 1 appears"),
    (wilson_with(centre_half=True), r"the result is \(centre, half-width\)"),
], ids=["normal", "normal-clipped", "no-shift", "no-term", "fixed-z", "n-minus-1", "centre-half"])
def test_wilson_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch14-ex-wilson", wrong)


def test_wilson_bad_input_must_raise_a_value_error():
    def no_checks(correct, n, z=1.96):
        return wilson_with()(min(max(correct, 0), n), n, z) if n > 0 else (0.0, 1.0)

    def zero_division(correct, n, z=1.96):
        if not 0 <= correct <= n:
            raise ValueError("bad count")
        p = correct / n                             # n = 0: ZeroDivisionError
        return wilson_with()(correct, n, z) if p >= 0 else None

    with pytest.raises(AssertionError, match=r"Bad input 1 of 5 \(11 right answers out of 10\).*instead of raising"):
        check("ch14-ex-wilson", no_checks)
    with pytest.raises(AssertionError, match=r"Bad input 3 of 5 \(n = 0\).*raised ZeroDivisionError"):
        check("ch14-ex-wilson", zero_division)


def wilson_by_math(correct, n, z=1.96):
    if n < 1 or correct < 0 or correct > n:
        raise ValueError("bad input")
    p, z2 = correct / n, z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return (centre - half, centre + half)


def wilson_from_counts(correct, n, z=1.96):
    """The same interval written with counts (Wilson's own form): (k + z²/2 ± z sqrt(k (n - k) / n + z²/4)) / (n + z²)."""
    if n < 1 or not 0 <= correct <= n:
        raise ValueError("bad input")
    k = float(correct)
    centre = k + z * z / 2
    half = z * np.sqrt(k * (n - k) / n + z * z / 4)
    return [(centre - half) / (n + z * z), (centre + half) / (n + z * z)]


@pytest.mark.parametrize("correct", [wilson_by_math, wilson_from_counts], ids=["math", "counts"])
def test_wilson_every_correct_form_passes(correct, capsys):
    assert check("ch14-ex-wilson", correct)
    assert TICK in capsys.readouterr().out


def test_wilson_calling_the_referee_or_scipy_fails():
    from scipy.stats import binomtest, norm

    def calls_referee(correct, n, z=1.96):
        return ch14.wilson_by_quadratic(correct, n, z)

    def calls_scipy(correct, n, z=1.96):
        if n < 1 or not 0 <= correct <= n:
            raise ValueError("bad input")
        interval = binomtest(int(correct), int(n)).proportion_ci(2 * norm.cdf(z) - 1, method="wilson")
        return interval.low, interval.high

    for wrong, fragment in [(calls_referee, "reference"), (calls_scipy, "scipy.stats")]:
        with pytest.raises(RefereeCalled, match=fragment):
            check("ch14-ex-wilson", wrong)


def test_the_wilson_referee_agrees_with_scipy():
    from scipy.stats import binomtest, norm

    for args, _ in ch14.wilson_cases():
        correct, n, z = (*args, 1.96)[:3]
        interval = binomtest(int(correct), int(n)).proportion_ci(2 * norm.cdf(z) - 1, method="wilson")
        np.testing.assert_allclose(ch14.wilson_by_quadratic(correct, n, z), (interval.low, interval.high),
                                   rtol=1e-12, atol=1e-15)


def test_wilson_mistakes_differ_from_the_referee():
    cases = ch14.wilson_cases()
    for mistake, hint in ch14.WILSON_MISTAKES:
        assert any(not np.allclose(mistake(*args), ch14.wilson_by_quadratic(*args), rtol=1e-9, atol=1e-12)
                   for args, _ in cases), hint
    assert any(args[0] == args[1] for args, _ in cases) and any(args[0] == 0 for args, _ in cases)


# -- answers that NumPy's or math's own errors would let through -------------------------------------------------


def test_a_bincount_without_any_check_is_refused():
    """NumPy raises by accident on the first bad inputs; one label 3 with a flat index inside the matrix does not."""
    def unchecked(y_true, y_pred, n_classes):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        return np.bincount(n_classes * y_true + y_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)

    with pytest.raises(AssertionError, match=r"Bad input 4 of 7 .*instead of raising a ValueError.*row 1, column 0"):
        check("ch14-ex-confusion", unchecked)


def test_an_upper_bound_check_only_is_refused():
    def upper_only(y_true, y_pred, n_classes):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if len(y_true) != len(y_pred) or max(y_true.max(), y_pred.max()) >= n_classes or y_true.min() < 0:
            raise ValueError("bad labels")
        return np.bincount(n_classes * y_true + y_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)

    with pytest.raises(AssertionError, match=r"Bad input 5 of 7 \(y_pred holds the label -1\).*instead of raising"):
        check("ch14-ex-confusion", upper_only)


def test_a_wilson_that_relies_on_math_sqrt_is_refused():
    def n_only(correct, n, z=1.96):
        if n < 1:
            raise ValueError("n must be at least 1")
        p = correct / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half, centre + half

    with pytest.raises(AssertionError, match=r"Bad input 4 of 5 \(11 right answers out of 10, at z = 2.576\)"):
        check("ch14-ex-wilson", n_only)


def test_a_wilson_pair_as_a_numpy_array_is_accepted(capsys):
    def as_array(correct, n, z=1.96):
        return np.array(wilson_interval(correct, n, z))

    assert check("ch14-ex-wilson", as_array)
    assert "passes all 8 test cases" in capsys.readouterr().out


@pytest.mark.parametrize("options, fragment", [
    (dict(swapped=True), "the two ends are swapped"),
    (dict(term_without_4=True), r"z²/n² instead of z²/\(4 n²\)"),
    (dict(z_not_squared=True), "the centre uses z where the formula has z²"),
])
def test_more_wilson_mistakes_are_named(options, fragment):
    def wrong(correct, n, z=1.96):
        if n < 1 or not 0 <= correct <= n:
            raise ValueError("bad input")
        p = correct / n
        z2 = z if options.get("z_not_squared") else z * z
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        term = z * z / ((1 if options.get("term_without_4") else 4) * n * n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + term)
        return (centre + half, centre - half) if options.get("swapped") else (centre - half, centre + half)

    with pytest.raises(AssertionError, match=fragment):
        check("ch14-ex-wilson", wrong)


@pytest.mark.parametrize("which, fragment", [
    ("both", r"statistics of both together.*apply them to both sets"),
    ("variance", "divided by their variance"),
])
def test_more_standardise_mistakes_are_named(which, fragment):
    def wrong(X_train, X_other):
        if which == "both":
            X_all = np.concatenate([X_train, X_other])
            mean, std = X_all.mean(axis=0), X_all.std(axis=0)
        else:
            mean, std = X_train.mean(axis=0), X_train.var(axis=0)
        std = np.where(std == 0, 1, std).astype(X_train.dtype)
        return ((X_train - mean) / std).astype(X_train.dtype), ((X_other - mean) / std).astype(X_train.dtype)

    with pytest.raises(AssertionError, match=fragment):
        check("ch14-ex-standardise", wrong)


def test_an_answer_with_infinities_makes_the_check_print_no_numpy_warning(recwarn, capsys):
    def divides_by_zero(X_train, X_other):
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        with np.errstate(all="ignore"):
            return (X_train - mean) / std, (X_other - mean) / std

    with pytest.raises(AssertionError):
        check("ch14-ex-standardise", divides_by_zero)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_confusion_without_a_length_check_is_refused():
    def no_length_check(y_true, y_pred, n_classes):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n_classes:
            raise ValueError("a label outside 0 .. n_classes - 1")
        return np.bincount(n_classes * y_true + y_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)

    with pytest.raises(AssertionError, match=r"Bad input 6 of 7 \(1 true label but 4 predictions\).*lengths agree"):
        check("ch14-ex-confusion", no_length_check)


@pytest.mark.parametrize("default", [1.645, None])
def test_a_wilson_without_the_default_z_is_refused(default):
    def reference(correct, n, z):
        return wilson_interval(correct, n, z)

    answer = reference if default is None else (lambda correct, n, z=default: wilson_interval(correct, n, z))
    # without a default the learner's own TypeError comes back, naming the case; a wrong default is a wrong value
    error = TypeError if default is None else AssertionError
    with pytest.raises(error, match=r"Case 8 of 8 \(912 of 1,000 with z left at its default"):
        check("ch14-ex-wilson", answer)


def test_z_only_in_the_numerator_of_the_centre_is_named():
    def wrong(correct, n, z=1.96):
        if n < 1 or not 0 <= correct <= n:
            raise ValueError("bad input")
        p = correct / n
        centre = (p + z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half, centre + half

    with pytest.raises(AssertionError, match=r"numerator has z/\(2n\)"):
        check("ch14-ex-wilson", wrong)
