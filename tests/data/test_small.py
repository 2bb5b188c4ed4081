"""Tests for mlp_course.data.small: the XOR points, moons equal to scikit-learn's, the bundled MNIST
subset is real, complete and well typed; the generated churn table is deterministic, realistic,
imbalanced and learnable but not perfectly."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlp_course.data import (
    CHURN_FEATURES,
    MNIST_PIXELS,
    TabularData,
    load_mnist_subset,
    make_churn,
    make_moons,
    make_xor,
)


# -- make_xor and make_moons -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_xor_points_and_labels(dtype):
    X, y = make_xor(dtype) if dtype is np.float32 else make_xor()
    assert X.dtype == dtype and X.shape == (4, 2)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1, 0]
    assert np.array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))
    X[0, 0] = 5.0
    assert make_xor()[0][0, 0] == 0.0, "each call returns new arrays"


def test_xor_refuses_other_dtypes():
    with pytest.raises(TypeError, match="make_xor: dtype must be np.float32 or np.float64, got <class 'numpy.int64'>"):
        make_xor(np.int64)


@pytest.mark.parametrize("n_samples, noise, seed", [(100, 0.0, 0), (60, 0.15, 0), (500, 0.15, 1),
                                                    (200, 0.2, 0), (7, 0.3, 12345), (2, 0.0, 2**32 - 1)])
def test_moons_equal_scikit_learn(n_samples, noise, seed):
    from sklearn.datasets import make_moons as sklearn_make_moons

    X, y = make_moons(n_samples, noise=noise, seed=seed)
    X_ref, y_ref = sklearn_make_moons(n_samples, noise=noise, random_state=seed)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert np.bincount(y).tolist() == [n_samples // 2, n_samples - n_samples // 2]


def test_moons_defaults_and_seeds():
    X, y = make_moons()
    assert X.shape == (100, 2)
    assert np.array_equal(X, make_moons(100, noise=0.0, seed=0)[0])
    # Without noise the points lie on the two unit half-circles, centred at (0, 0) and (1, 0.5).
    centre = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(X - centre, axis=1), 1.0, rtol=1e-12)
    noisy = [make_moons(50, noise=0.1, seed=seed)[0] for seed in (0, 0, 1)]
    assert np.array_equal(noisy[0], noisy[1]) and not np.array_equal(noisy[0], noisy[2])
    assert np.array_equal(make_moons(50, noise=0.1, seed=np.int64(1))[0], noisy[2])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"n_samples": 1}, ValueError, "n_samples must be an integer >= 2 \\(one point per moon\\), got 1"),
    ({"n_samples": 10.0}, ValueError, "n_samples must be an integer >= 2"),
    ({"n_samples": True}, ValueError, "n_samples must be an integer >= 2"),
    ({"n_samples": (5, 5)}, ValueError, "n_samples must be an integer >= 2"),
    ({"noise": -0.1}, ValueError, "noise must be a finite number >= 0 \\(a standard deviation\\), got -0.1"),
    ({"noise": float("nan")}, ValueError, "noise must be a finite number >= 0"),
    ({"noise": float("inf")}, ValueError, "noise must be a finite number >= 0"),
    ({"noise": "0.1"}, ValueError, "noise must be a finite number >= 0"),
    ({"seed": None}, TypeError, "make_moons: seed must be an integer, got None"),
    ({"seed": 1.0}, TypeError, "seed must be an integer, got 1.0"),
    ({"seed": -1}, ValueError, "seed must lie in \\[0, 2\\*\\*32 - 1\\], got -1"),
    ({"seed": 2**32}, ValueError, "seed must lie in"),
])
def test_moons_refuse_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_moons(**kwargs)


# -- load_mnist_subset -----------------------------------------------------------------------------------------------


def test_mnist_subset_shapes_classes_and_scale():
    X, y = load_mnist_subset()
    assert X.shape == (5000, MNIST_PIXELS) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.all(np.diff(y) >= 0), "the docstring says the rows are sorted by label"
    # Real digits: the border of a centred 28x28 digit is (nearly) blank, the middle is not.
    images = X.reshape(-1, 28, 28)
    assert images[:, :, 0].mean() < 0.01 < images[:, 10:18, 10:18].mean()


def test_mnist_subset_unscaled_float64_keeps_raw_pixels():
    X, _ = load_mnist_subset(scale=False, dtype=np.float64)
    assert X.dtype == np.float64 and X.max() == 255.0
    assert np.all(X == np.round(X))


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": np.int32}, "dtype must be np.float32 or np.float64"),
    ({"scale": 1}, "scale must be True or False"),
])
def test_mnist_subset_refuses_bad_arguments(kwargs, message):
    with pytest.raises(TypeError, match=message):
        load_mnist_subset(**kwargs)


# -- make_churn ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def churn():
    return make_churn(5000, seed=0)


def column(data, name):
    return data.X[:, data.feature_names.index(name)]


def test_churn_shapes_dtypes_and_names(churn):
    assert isinstance(churn, TabularData)
    assert churn.X.shape == (5000, 10) and churn.X.dtype == np.float32
    assert churn.y.shape == (5000,) and churn.y.dtype == np.int64
    assert set(np.unique(churn.y)) == {0, 1}
    assert churn.feature_names == CHURN_FEATURES and len(set(CHURN_FEATURES)) == 10
    assert len(churn.units) == 10 and churn.target_name == "churned"
    assert churn.positive_rate == pytest.approx(churn.y.mean())
    assert np.all(np.isfinite(churn.X))
    assert repr(churn).startswith("TabularData(n_samples=5000, n_features=10, positive_rate=0.")
    small = make_churn(10, seed=1)
    assert small.X.shape == (10, 10) and small.y.shape == (10,)


def test_churn_is_deterministic_for_a_seed_and_differs_across_seeds():
    a, b, c = make_churn(400, seed=3), make_churn(400, seed=3), make_churn(400, seed=4)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    for name in CHURN_FEATURES:  # every feature is drawn from the seed, not only some
        assert np.array_equal(column(a, name), column(b, name)), name
        assert not np.array_equal(column(a, name), column(c, name)), name
    assert not np.array_equal(a.y, c.y)
    assert make_churn(400, seed=np.int64(3)).X.tobytes() == a.X.tobytes()


def test_churn_positive_rate_is_about_20_percent_over_seeds():
    rates = np.array([make_churn(5000, seed=seed).positive_rate for seed in range(5)])
    assert np.all((rates > 0.17) & (rates < 0.23)), rates
    assert 0.185 < rates.mean() < 0.215, rates
    assert rates.std() > 0, "the labels are drawn, not fixed"


def test_churn_features_have_realistic_ranges_and_dependencies(churn):
    tenure, monthly, total = (column(churn, n) for n in ("tenure_months", "monthly_charges_usd", "total_charges_usd"))
    counts = ["tenure_months", "support_calls_per_year", "age_years", "num_products", "late_payments_per_year"]
    for name in counts:
        values = column(churn, name)
        assert np.all(values == np.round(values)) and values.min() >= 0, name
    for name in ("month_to_month_contract", "paperless_billing"):
        assert set(np.unique(column(churn, name))) == {0.0, 1.0}, name
    assert tenure.min() == 0 and tenure.max() == 72 and 15 < tenure.mean() < 40
    assert monthly.min() >= 20 and monthly.max() <= 120 and 40 < monthly.mean() < 80
    assert np.all(total >= 0.89 * tenure * monthly - 0.01) and np.all(total <= 1.051 * tenure * monthly + 0.01)
    assert np.corrcoef(tenure, total)[0, 1] > 0.7
    age, products = column(churn, "age_years"), column(churn, "num_products")
    assert age.min() >= 18 and age.max() <= 85 and 40 < age.mean() < 50
    assert products.min() >= 1 and products.max() <= 5
    assert 0 < column(churn, "support_calls_per_year").mean() < 5
    usage = column(churn, "avg_daily_usage_minutes")
    assert usage.min() > 0 and 30 < np.median(usage) < 120
    # Dependencies: new customers are more often on a month-to-month contract; more products cost more.
    m2m = column(churn, "month_to_month_contract")
    assert m2m[tenure < 12].mean() > m2m[tenure > 36].mean() + 0.2
    assert np.corrcoef(products, monthly)[0, 1] > 0.4


def test_churn_frame_and_describe(churn):
    frame = churn.frame()
    assert list(frame.columns) == [*CHURN_FEATURES, "churned"] and len(frame) == 5000
    assert np.array_equal(frame["churned"].to_numpy(), churn.y)
    assert np.array_equal(frame[list(CHURN_FEATURES)].to_numpy(), churn.X)
    text = churn.describe()
    lines = text.splitlines()
    assert len(lines) == 12  # header, ten features, summary
    for name, unit, line in zip(CHURN_FEATURES, churn.units, lines[1:11]):
        assert line.split()[:2] == [name, unit]
        low, mean, high = map(float, line.split()[2:])
        values = column(churn, name)
        assert (low, high) == (pytest.approx(values.min(), abs=0.01), pytest.approx(values.max(), abs=0.01))
        assert mean == pytest.approx(values.mean(), abs=0.01)
    assert f"{churn.positive_rate:.1%} with churned = 1" in lines[-1]


def _split_aucs(seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    data = make_churn(4000, seed=seed)
    scaler = StandardScaler().fit(data.X[:3000])
    X_train, X_test = scaler.transform(data.X[:3000]), scaler.transform(data.X[3000:])
    y_train, y_test = data.y[:3000], data.y[3000:]
    linear = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning at max_iter does not matter here
        mlp = MLPClassifier((16,), solver="lbfgs", alpha=3.0, max_iter=100, random_state=0).fit(X_train, y_train)
    return (roc_auc_score(y_test, linear.decision_function(X_test)),
            roc_auc_score(y_test, mlp.predict_proba(X_test)[:, 1]))


def test_churn_is_learnable_not_perfect_and_not_linear():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small matrices: one BLAS thread is much faster on a busy machine
        aucs = np.array([_split_aucs(seed) for seed in range(3)])
    linear, mlp = aucs[:, 0], aucs[:, 1]
    assert np.all((linear > 0.7) & (linear < 0.9)), linear
    assert np.all(mlp < 0.95), mlp
    # The label model has interactions and thresholds: a small network does a little better.
    assert np.all(mlp > linear + 0.01) and (mlp - linear).mean() > 0.02, aucs


@pytest.mark.parametrize("kwargs, error, message", [
    ({"n_samples": 9}, ValueError, "n_samples must be an integer >= 10, got 9"),
    ({"n_samples": 100.0}, ValueError, "n_samples must be an integer >= 10, got 100.0"),
    ({"n_samples": True}, ValueError, "n_samples must be an integer >= 10, got True"),
    ({"n_samples": "500"}, ValueError, "n_samples must be an integer >= 10"),
    ({"seed": 1.5}, TypeError, "seed must be an integer, got 1.5"),
    ({"seed": None}, TypeError, "seed must be an integer, got None"),
    ({"seed": "0"}, TypeError, "seed must be an integer"),
])
def test_churn_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_churn(**kwargs)
