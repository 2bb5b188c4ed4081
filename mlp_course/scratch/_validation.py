"""Input checks shared by the scratch library.

Every check raises before any state changes, with a message that says what was
expected and what was given.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def check_float_array(owner: str, name: str, value: Any, ndim: int | None = None) -> np.ndarray:
    """Check that ``value`` is a float32/float64 NumPy array (of ``ndim`` dimensions)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{owner}: {name} must be a NumPy array, got {describe(value)}")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{owner}: {name} must have dtype float32 or float64, got {value.dtype}; "
            f"convert it first, e.g. {name}.astype(np.float32)"
        )
    if ndim is not None and value.ndim != ndim:
        raise ValueError(
            f"{owner}: {name} must be {ndim}-D, got shape {value.shape} ({value.ndim}-D)"
        )
    return value


def check_dtype_matches(owner: str, name: str, value: np.ndarray, dtype: np.dtype) -> None:
    """Refuse to mix float32 and float64 silently, as PyTorch does."""
    if value.dtype != dtype:
        raise TypeError(
            f"{owner}: {name} has dtype {value.dtype} but the module's parameters are {dtype}; "
            f"convert the input with .astype(np.{dtype}) or the model with .to(np.{value.dtype})"
        )


def check_positive_int(owner: str, name: str, value: Any) -> int:
    """Check that ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {describe(value)}")
    return int(value)


def check_number(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check that ``value`` is a real number in the given interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {describe(value)}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ValueError(
            f"{owner}: {name} must be in {left}{low_text}, {high_text}{right}, got {value!r}"
        )
    return float(value)


def check_same_shape(owner: str, input: np.ndarray, target: np.ndarray) -> None:
    """Predictions and targets must have identical shapes: no silent broadcasting."""
    if input.shape != target.shape:
        hint = ""
        if input.ndim == 2 and input.shape[1] == 1 and target.shape == (input.shape[0],):
            hint = "; reshape the target with target.reshape(-1, 1)"
        elif input.ndim == 1 and target.ndim == 2 and target.shape == (input.shape[0], 1):
            hint = "; reshape the target with target.reshape(-1)"
        elif input.shape[:1] != target.shape[:1]:
            hint = f" (batch sizes {input.shape[0] if input.ndim else '-'} and {target.shape[0] if target.ndim else '-'} differ)"
        raise ValueError(
            f"{owner}: input has shape {input.shape} but target has shape {target.shape}; "
            f"they must be equal, because broadcasting them would compare every "
            f"prediction with every target{hint}"
        )
