"""Diagnostics for training: what the layers of a network do, for scratch
(:mod:`mlp_course.scratch`) and PyTorch models alike.

* :func:`layer_names`, :func:`weight_layer_names`: the activation layers (ReLU,
  LeakyReLU, Sigmoid, Tanh) and weight layers (Linear) of a model, found by
  type, named ``"<position> <type>"`` (``"1 Tanh"``, ``"0 Linear"``).
* :func:`record_activations`, :func:`activation_stats`, :func:`dead_units`:
  activation layer outputs on some data, their statistics, dead ReLU units.
* :func:`layer_grad_norms`: each weight layer's gradient norm after a backward pass.
* :class:`Monitor`: gradient, weight and update statistics and activation
  histograms recorded over training steps.
* Plots: :func:`plot_activation_histograms`, :func:`plot_ratios`,
  :func:`plot_layer_grad_norms`, :func:`plot_dashboard`, :func:`plot_histograms`,
  :func:`plot_heatmaps`.

None of these calls changes the model: probe passes leave parameters,
gradients, BatchNorm statistics and the train/eval mode as they were.
"""

from mlp_course.diagnostics.activations import activation_stats, dead_units, record_activations
from mlp_course.diagnostics.layers import layer_names, weight_layer_names
from mlp_course.diagnostics.monitor import Monitor, layer_grad_norms
from mlp_course.diagnostics.plots import (
    plot_activation_histograms,
    plot_dashboard,
    plot_heatmaps,
    plot_histograms,
    plot_layer_grad_norms,
    plot_ratios,
)

__all__ = [
    "layer_names", "weight_layer_names",
    "record_activations", "activation_stats", "dead_units",
    "layer_grad_norms", "Monitor",
    "plot_activation_histograms", "plot_ratios", "plot_layer_grad_norms",
    "plot_dashboard", "plot_histograms", "plot_heatmaps",
]
