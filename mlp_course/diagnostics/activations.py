"""What the activation layers output on some data: the outputs themselves,
their summary statistics (mean, spread, saturation, dead units) and which ReLU
units are dead."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlp_course.diagnostics.layers import ACTIVATION_KINDS, Layer, activation_layers, check_model
from mlp_course.diagnostics.probe import check_fraction, probe_forward


def to_numpy(output: Any) -> np.ndarray:
    """A NumPy array of a layer output (a tensor is detached and moved to the CPU)."""
    if isinstance(output, np.ndarray):
        return output
    return output.detach().cpu().numpy()


def _activation_layers(function: str, model: Any) -> list[Layer]:
    check_model(function, model)
    layers = activation_layers(model)
    if not layers:
        raise ValueError(
            f"{function}: the model has no activation layer ({', '.join(ACTIVATION_KINDS)} of "
            f"mlp_course.scratch or torch.nn); its layers are found by type"
        )
    return layers


def _record(function: str, model: Any, X: Any, layers: list[Layer]) -> dict[str, np.ndarray]:
    outputs: dict[str, np.ndarray] = {}

    def keep(layer: Layer, output: Any) -> None:
        outputs[layer.name] = np.array(to_numpy(output), copy=True)

    probe_forward(function, model, X, layers, keep)
    return {layer.name: outputs[layer.name] for layer in layers}


def record_activations(model: Any, X: Any) -> dict[str, np.ndarray]:
    """The output of every activation layer on ``X``: layer name -> array of
    shape ``(N, d_l)``.

    The forward pass runs in the mode the model is in and changes nothing
    (no BatchNorm statistics, no gradients, no mode change; torch under
    ``no_grad``). ``X``: shape ``(N, d)``, a NumPy array (or a tensor for torch).
    """
    function = "record_activations"
    return _record(function, model, X, _activation_layers(function, model))


def _units(a: np.ndarray) -> np.ndarray:
    return a.reshape(len(a), -1)


def saturated_share(kind: str, a: np.ndarray, saturation: float) -> float:
    """Share of entries beyond the saturation threshold (strictly): |a| > s for
    Tanh, a < 1 - s or a > s for Sigmoid; NaN for other kinds."""
    if kind == "Tanh":
        return float(np.mean(np.abs(a) > saturation))
    if kind == "Sigmoid":
        return float(np.mean((a < 1 - saturation) | (a > saturation)))
    return float("nan")


def dead_mask(a: np.ndarray) -> np.ndarray:
    """Per unit (column): ``True`` where the output is 0 for every example."""
    return np.all(_units(a) == 0, axis=0)


def activation_stats(model: Any, X: Any, saturation: float = 0.99):
    """One row per activation layer (index: the layer name) with columns

    * ``mean``, ``std``: over all entries of the layer's output on ``X``;
    * ``saturated``: share of entries with |a| > ``saturation`` (Tanh), or
      a < 1 - ``saturation`` or a > ``saturation`` (Sigmoid); NaN for others;
    * ``dead``: share of units whose output is 0 for EVERY example of ``X``
      (ReLU; NaN for others); pass the whole data set to find dead units;
    * ``zero``: share of entries exactly 0.

    Returns a ``pandas.DataFrame``.
    """
    import pandas as pd

    function = "activation_stats"
    saturation = check_fraction(function, "saturation", saturation)
    layers = _activation_layers(function, model)
    outputs = _record(function, model, X, layers)
    rows = []
    for layer in layers:
        a = outputs[layer.name]
        rows.append({
            "mean": float(np.mean(a, dtype=np.float64)),
            "std": float(np.std(a, dtype=np.float64)),
            "saturated": saturated_share(layer.kind, a, saturation),
            "dead": float(np.mean(dead_mask(a))) if layer.kind == "ReLU" else float("nan"),
            "zero": float(np.mean(a == 0)),
        })
    frame = pd.DataFrame(rows, index=pd.Index([layer.name for layer in layers], name="layer"),
                         columns=["mean", "std", "saturated", "dead", "zero"])
    return frame


def dead_units(model: Any, X: Any) -> dict[str, np.ndarray]:
    """Per ReLU layer, a boolean array with one entry per unit: ``True`` where
    the unit outputs 0 for every example of ``X`` (pass the whole data set)."""
    function = "dead_units"
    layers = [layer for layer in _activation_layers(function, model) if layer.kind == "ReLU"]
    if not layers:
        kinds = sorted({layer.kind for layer in activation_layers(model)})
        raise ValueError(f"dead_units: the model has no ReLU layer (its activation layers are {kinds})")
    outputs = _record(function, model, X, layers)
    return {name: dead_mask(a) for name, a in outputs.items()}
