"""The checks of chapter 11's coding exercises, keyed by exercise label.

* ``ch11-ex-init-scale``: ``init_scale(weight_shape, gain, mode, distribution)``, the parameter
  PyTorch's initialisers draw an ``nn.Linear`` weight of shape ``weight_shape = (d_out, d_in)``
  with: the standard deviation ``s`` of ``N(0, s^2)`` or the bound ``rho`` of ``U(-rho, rho)``,
  for ``Var(w) = gain^2 / fan`` with the fan of ``mode`` (``"fan_in"``, ``"fan_out"``, or
  ``"fan_avg"``, Glorot's mean of the two). The referee reads the number off what
  ``torch.nn.init.kaiming_*_`` and ``xavier_*_`` actually draw: a draw divided by the draw of the
  unit distribution from a generator in the same state.
* ``ch11-ex-layer-stds``: ``layer_stds(X, weights, biases, f)``, the standard deviation of every
  layer's activation ``A^[l] = f(A^[l-1] W^[l] + b^[l])`` of a stack in which every layer is
  followed by ``f``, over all entries of ``A^[l]`` (``ddof=0``), against a NumPy referee.

Every case is built here, deterministically. The answers run under the checks' watch: PyTorch
and the course's library would do the first for the learner, and the second is NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from mlp_course.exercises.checks import answer_may_call, check_function, referee
from mlp_course.exercises.registry import exercise

__all__ = [
    "INIT_SCALE_CASES", "init_scale_cases", "INIT_SCALE_MISTAKES",
    "Activation", "layer_stds_cases", "LAYER_STDS_MISTAKES",
]

# --------------------------------------------------------------------------
# ch11-ex-init-scale
# --------------------------------------------------------------------------

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "uniform")


@referee
def _init_scale_by_torch(weight_shape, gain, mode, distribution):
    """What PyTorch draws with: a weight of ``weight_shape`` filled by ``kaiming_*_`` (gain 1, the
    "linear" non-linearity, times ``gain``: the scale is proportional to the gain) or, for
    ``fan_avg``, by ``xavier_*_(gain=gain)``, divided entry by entry by the unit distribution
    (``N(0, 1)`` or ``U(-1, 1)``) drawn from a generator in the same state. The ratio is the
    same for every entry; the entry with the largest unit draw gives it most precisely."""
    import torch

    def fill(initialise):
        tensor = torch.empty(*weight_shape, dtype=torch.float64)
        initialise(tensor, torch.Generator().manual_seed(0))
        return tensor

    if mode == "fan_avg":
        xavier = torch.nn.init.xavier_normal_ if distribution == "normal" else torch.nn.init.xavier_uniform_
        drawn = fill(lambda t, g: xavier(t, gain=gain, generator=g))
        factor = 1.0
    else:
        kaiming = torch.nn.init.kaiming_normal_ if distribution == "normal" else torch.nn.init.kaiming_uniform_
        drawn = fill(lambda t, g: kaiming(t, mode=mode, nonlinearity="linear", generator=g))
        factor = gain
    if distribution == "normal":
        unit = fill(lambda t, g: t.normal_(0.0, 1.0, generator=g))
    else:
        unit = fill(lambda t, g: t.uniform_(-1.0, 1.0, generator=g))
    where = int(unit.abs().argmax())
    return factor * float(drawn.flatten()[where] / unit.flatten()[where])


#: (weight_shape in PyTorch's layout (d_out, d_in), gain, mode, distribution). d_out differs from
#: d_in in every case, so that a swapped layout shows, and no ratio of the two is a perfect square,
#: so that no mistake below is off by a whole factor (2, 1/2, ...) on the first case it fails: the
#: message then names the mistake, not "a missing constant factor". The last case has an odd
#: d_in + d_out, where (d_in + d_out) // 2 is not the mean.
INIT_SCALE_CASES = [
    ((128, 320), math.sqrt(2.0), "fan_in", "normal"),
    ((128, 320), math.sqrt(2.0), "fan_out", "normal"),
    ((64, 784), 1.0, "fan_avg", "uniform"),
    ((300, 100), 5.0 / 3.0, "fan_avg", "normal"),
    ((10, 50), 1.0, "fan_in", "uniform"),
    ((256, 32), math.sqrt(2.0), "fan_out", "uniform"),
    ((3, 7), 0.5, "fan_in", "normal"),
    ((1000, 20), 5.0 / 3.0, "fan_in", "uniform"),
    ((5, 10), 1.0, "fan_avg", "normal"),
]


def init_scale_cases():
    return [(case, _init_scale_by_torch(*case)) for case in INIT_SCALE_CASES]


def _fans(weight_shape):
    d_out, d_in = weight_shape
    return d_in, d_out


def _fan(weight_shape, mode):
    fan_in, fan_out = _fans(weight_shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _scale(gain, fan, distribution):
    std = gain / math.sqrt(fan)
    return std if distribution == "normal" else math.sqrt(3.0) * std


def _mode_ignored(weight_shape, gain, mode, distribution):
    return _scale(gain, _fans(weight_shape)[0], distribution)


def _layout_swapped(weight_shape, gain, mode, distribution):
    return _scale(gain, _fan(tuple(reversed(weight_shape)), mode), distribution)


def _variance(weight_shape, gain, mode, distribution):
    return _scale(gain, _fan(weight_shape, mode), distribution) ** 2


def _no_gain(weight_shape, gain, mode, distribution):
    return _scale(1.0, _fan(weight_shape, mode), distribution)


def _gain_not_squared(weight_shape, gain, mode, distribution):
    return _scale(math.sqrt(gain), _fan(weight_shape, mode), distribution)


def _bound_for_normal(weight_shape, gain, mode, distribution):
    return _scale(gain, _fan(weight_shape, mode), "uniform")


def _std_for_uniform(weight_shape, gain, mode, distribution):
    return _scale(gain, _fan(weight_shape, mode), "normal")


def _uniform_with_six(weight_shape, gain, mode, distribution):
    fan = _fan(weight_shape, mode)
    return gain * math.sqrt(6.0 / fan) if distribution == "uniform" else gain / math.sqrt(fan)


def _fan_sum(weight_shape, gain, mode, distribution):
    fan_in, fan_out = _fans(weight_shape)
    fan = fan_in + fan_out if mode == "fan_avg" else _fan(weight_shape, mode)
    return _scale(gain, fan, distribution)


def _fan_floor_division(weight_shape, gain, mode, distribution):
    fan_in, fan_out = _fans(weight_shape)
    fan = (fan_in + fan_out) // 2 if mode == "fan_avg" else _fan(weight_shape, mode)
    return _scale(gain, fan, distribution)


def _mean_of_variances(weight_shape, gain, mode, distribution):
    if mode != "fan_avg":
        return _scale(gain, _fan(weight_shape, mode), distribution)
    fan_in, fan_out = _fans(weight_shape)
    variance = (gain ** 2 / fan_in + gain ** 2 / fan_out) / 2
    return _scale(1.0, 1.0 / variance, distribution)


def _relu_factor_on_the_gain(weight_shape, gain, mode, distribution):
    return _scale(gain * math.sqrt(2.0), _fan(weight_shape, mode), distribution)


#: In this order: a mistake that agrees with another on some case comes after the one whose
#: hint is right there (ignoring mode gives d_in on a fan_out case, as a swapped layout does; a
#: swapped layout already fails the first case, a fan_in one, where ignoring mode is right; on a
#: uniform case, ReLU's 2 on top of the gain gives the 6 of sqrt(6 / fan), whose hint says both).
INIT_SCALE_MISTAKES = [
    (_mode_ignored,
     "the answer does not follow mode: it divides by d_in whatever mode says. mode='fan_in' uses "
     "d_in, mode='fan_out' d_out (the backward pass sums over the d_out outputs), and "
     "mode='fan_avg' their mean, (d_in + d_out) / 2."),
    (_layout_swapped,
     "the fan-in and the fan-out are swapped. weight_shape is the shape of an nn.Linear weight, "
     "(d_out, d_in): the fan-in, d_in, is weight_shape[1], and the fan-out weight_shape[0]."),
    (_variance,
     "this is the variance (or the square of the bound), not the standard deviation or the bound "
     "itself: take the square root, s = gain / sqrt(fan)."),
    (_no_gain,
     "the gain is missing: Var(w) = gain^2 / fan, so s = gain / sqrt(fan)."),
    (_gain_not_squared,
     "the gain multiplies the standard deviation, so it enters the variance squared: "
     "Var(w) = gain^2 / fan, s = gain / sqrt(fan), not sqrt(gain / fan)."),
    (_bound_for_normal,
     "for distribution='normal' the answer is the standard deviation s, but this is the bound "
     "sqrt(3) * s of the uniform distribution with the same variance."),
    (_std_for_uniform,
     "for distribution='uniform' the answer is the bound rho of U(-rho, rho), whose variance is "
     "rho^2 / 3: rho = sqrt(3) * s, not s."),
    (_uniform_with_six,
     "the bound uses 6 where it needs 3: rho = sqrt(3 Var(w)) = gain * sqrt(3 / fan). The 6 of "
     "He's sqrt(6 / d_in) is 3 times the gain^2 = 2 of ReLU, which the gain argument already brings."),
    (_fan_sum,
     "for mode='fan_avg' the fan is the mean of the two, (d_in + d_out) / 2, not their sum: "
     "Glorot's variance is 2 gain^2 / (d_in + d_out)."),
    (_relu_factor_on_the_gain,
     "the variance has an extra factor 2, as in He's 2 / d_in: the gain already carries ReLU's "
     "factor (calculate_gain('relu') = sqrt(2)), so Var(w) = gain^2 / fan and s = gain / sqrt(fan), "
     "with no 2 on top."),
    (_fan_floor_division,
     "for mode='fan_avg' the fan is the mean (d_in + d_out) / 2, which need not be a whole number: "
     "integer division, (d_in + d_out) // 2, rounds it down when d_in + d_out is odd."),
    (_mean_of_variances,
     "for mode='fan_avg' Glorot averages the two fans, not the two variances: "
     "Var(w) = gain^2 / ((d_in + d_out) / 2), not the mean of gain^2 / d_in and gain^2 / d_out."),
]


@exercise("ch11-ex-init-scale", answers=("init_scale",), points=2)
def _check_init_scale(init_scale):
    return check_function(init_scale, init_scale_cases(), name="init_scale", rtol=1e-7, atol=0.0,
                          mistakes=INIT_SCALE_MISTAKES)


# --------------------------------------------------------------------------
# ch11-ex-layer-stds
# --------------------------------------------------------------------------


class Activation:
    """An activation function that shows its name in messages ("tanh", not a function address)."""

    def __init__(self, name, function):
        self.name = name
        self.function = function

    def __call__(self, Z):
        return self.function(Z)

    def __repr__(self):
        return self.name


# The learner's code calls f: that call into this module is theirs to make.
answer_may_call(Activation.__call__)


def _sigmoid(Z):
    return 0.5 * (1.0 + np.tanh(0.5 * Z))    # = 1 / (1 + exp(-Z)), without overflow


TANH = Activation("tanh", np.tanh)
RELU = Activation("relu", lambda Z: np.maximum(Z, 0.0))
SIGMOID = Activation("sigmoid", _sigmoid)


def _stack(rng, sizes, N, weight_std, bias_std):
    X = rng.standard_normal((N, sizes[0]))
    weights = [weight_std * rng.standard_normal((a, b)) / math.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [bias_std * rng.standard_normal(b) for b in sizes[1:]]
    return X, weights, biases


def layer_stds_cases():
    """(X, weights, biases, f): small stacks (few entries per layer, so that ddof=1 shows),
    widths that change from layer to layer (a hard-coded size fails), biases that are not zero,
    one layer alone, and one deeper, wider stack; tanh, ReLU and the sigmoid."""
    rng = np.random.default_rng(11)
    specs = [
        ((3, 4, 2, 5), 4, 1.5, 0.5, TANH),
        ((5, 3, 6), 3, 2.0, 1.0, RELU),
        ((2, 4), 6, 1.0, 0.8, SIGMOID),
        ((6, 6, 6, 6, 6), 5, 1.7, 0.3, TANH),
        ((10, 32, 32, 32, 16), 20, math.sqrt(2.0), 0.2, RELU),
        ((4, 8, 3), 7, 1.0, 0.5, SIGMOID),
    ]
    cases = []
    for sizes, N, weight_std, bias_std, f in specs:
        X, weights, biases = _stack(rng, sizes, N, weight_std, bias_std)
        args = (X, weights, biases, f)
        cases.append((args, _layer_stds_reference(*args)))
    return cases


@referee
def _layer_stds_reference(X, weights, biases, f):
    """The forward pass, layer by layer, and the standard deviation of every A over all its
    entries, written out: the root of the mean squared deviation from the mean."""
    stds = []
    A = np.asarray(X, dtype=np.float64)
    for W, b in zip(weights, biases):
        A = f(np.einsum("ij,jk->ik", A, W) + b[None, :])
        stds.append(math.sqrt(float(np.sum((A - np.sum(A) / A.size) ** 2)) / A.size))
    return np.array(stds)


def _forward(X, weights, biases, f, bias=True, last=True):
    """Every layer's Z and A (f after every layer; after all but the last when ``last`` is False)."""
    A, out = X, []
    for l, (W, b) in enumerate(zip(weights, biases)):
        Z = A @ W + (b if bias else 0.0)
        A = f(Z) if (last or l < len(weights) - 1) else Z
        out.append((Z, A))
    return out


def _ddof_1(X, weights, biases, f):
    return np.array([A.std(ddof=1) for _, A in _forward(X, weights, biases, f)])


def _per_unit(X, weights, biases, f):
    return np.array([A.std(axis=0).mean() for _, A in _forward(X, weights, biases, f)])


def _per_example(X, weights, biases, f):
    return np.array([A.std(axis=1).mean() for _, A in _forward(X, weights, biases, f)])


def _of_Z(X, weights, biases, f):
    return np.array([Z.std() for Z, _ in _forward(X, weights, biases, f)])


def _no_bias(X, weights, biases, f):
    return np.array([A.std() for _, A in _forward(X, weights, biases, f, bias=False)])


def _with_input(X, weights, biases, f):
    return np.array([X.std()] + [A.std() for _, A in _forward(X, weights, biases, f)])


def _shifted_by_one(X, weights, biases, f):
    """The standard deviation taken before each layer instead of after it: X, A^[1], ..., A^[D-1]."""
    return np.array([X.std()] + [A.std() for _, A in _forward(X, weights, biases, f)][:-1])


def _last_linear(X, weights, biases, f):
    return np.array([A.std() for _, A in _forward(X, weights, biases, f, last=False)])


def _root_mean_square(X, weights, biases, f):
    return np.array([np.sqrt(np.mean(A ** 2)) for _, A in _forward(X, weights, biases, f)])


def _variance_not_std(X, weights, biases, f):
    return np.array([A.var() for _, A in _forward(X, weights, biases, f)])


_PER_AXIS = ("the standard deviation is over all entries of A^[l], examples and units together "
             "(np.std(A) with no axis), not one per {} averaged afterwards.")

LAYER_STDS_MISTAKES = [
    (_ddof_1,
     "it divides by the number of entries minus 1 (ddof=1). The exercise asks for np.std's default, "
     "ddof=0: the mean of the squared deviations. (On a batch of 500 x 256 entries the two differ "
     "by a factor of 1.000004; on the small layers of the check they do not.)"),
    (_per_unit, _PER_AXIS.format("unit (axis=0)")),
    (_per_example, _PER_AXIS.format("example (axis=1)")),
    (_of_Z,
     "these are the standard deviations of the pre-activations Z^[l] = A^[l-1] W^[l] + b^[l]; the "
     "exercise asks for those of the activations A^[l] = f(Z^[l])."),
    (_no_bias,
     "the biases are missing: Z^[l] = A^[l-1] W^[l] + b^[l]."),
    (_with_input,
     "the first value is the standard deviation of the input X; the exercise asks for one value per "
     "layer with weights, A^[1] to A^[D]."),
    (_shifted_by_one,
     "the values are shifted by one layer: the first is the standard deviation of the input X, and "
     "the last layer's A^[D] is missing. Take each standard deviation after computing A^[l]."),
    (_last_linear,
     "the last layer has no activation here; in the exercise's stack every layer, the last one "
     "included, is followed by f."),
    (_root_mean_square,
     "this is the root mean square sqrt(mean(A^2)), not the standard deviation: subtract the mean "
     "first. The two differ wherever the mean of A is not 0, as for ReLU and the sigmoid."),
    (_variance_not_std,
     "these are variances; take their square roots."),
]


@exercise("ch11-ex-layer-stds", answers=("layer_stds",), points=2)
def _check_layer_stds(layer_stds):
    return check_function(layer_stds, layer_stds_cases(), name="layer_stds", rtol=1e-5, atol=1e-10,
                          mistakes=LAYER_STDS_MISTAKES)
