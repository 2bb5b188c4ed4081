"""The checks of chapter 6's coding exercises, keyed by exercise label.

* ``ch06-ex-kaiming``: ``kaiming_std(fan_in, fan_out, negative_slope)``, the
  standard deviation of He normal weights for a layer followed by a LeakyReLU,
  against PyTorch's gain.
* ``ch06-ex-regression``: ``train_mlp_regression`` and ``predict_regression``,
  run on two regression data sets and compared with the same run written with
  ``mlp_course.scratch``, ``train_val_split`` and ``fit``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised,
    RefereeCalled,
    WrongAnswer,
    answer_running,
    check_function,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

# --------------------------------------------------------------------------
# ch06-ex-kaiming
# --------------------------------------------------------------------------


@referee
def _kaiming_std_by_torch(fan_in, fan_out, negative_slope):
    """What ``torch.nn.init.kaiming_normal_`` draws with (mode="fan_in", nonlinearity="leaky_relu"):
    the gain of ``calculate_gain`` divided by the square root of the fan-in."""
    import torch

    return torch.nn.init.calculate_gain("leaky_relu", negative_slope) / math.sqrt(fan_in)


# (fan_in, fan_out, slope). The first case tells every mistake below apart: the fan-out
# differs from the fan-in, and the slope is large enough that ignoring it shows.
_KAIMING_SIZES = [(3, 7, 0.5), (50, 20, 0.2), (10, 4, 1.0), (100, 300, 0.0), (784, 512, 0.01)]


def _kaiming_cases():
    return [((fan_in, fan_out, slope), _kaiming_std_by_torch(fan_in, fan_out, slope))
            for fan_in, fan_out, slope in _KAIMING_SIZES]


def _kaiming_fan_out(fan_in, fan_out, a):
    return math.sqrt(2 / ((1 + a ** 2) * fan_out))


def _kaiming_variance(fan_in, fan_out, a):
    return 2 / ((1 + a ** 2) * fan_in)


def _kaiming_relu_gain(fan_in, fan_out, a):
    return math.sqrt(2 / fan_in)


def _kaiming_slope_not_squared(fan_in, fan_out, a):
    return math.sqrt(2 / ((1 + a) * fan_in))


def _kaiming_factor_upside_down(fan_in, fan_out, a):
    return math.sqrt((1 + a ** 2) / (2 * fan_in))


def _kaiming_uniform_bound(fan_in, fan_out, a):
    return math.sqrt(6 / ((1 + a ** 2) * fan_in))


def _kaiming_glorot(fan_in, fan_out, a):
    return math.sqrt(2 / (fan_in + fan_out))


KAIMING_MISTAKES = [
    (_kaiming_fan_out,
     "it divides by fan_out. He initialisation keeps the variance of the forward signal, "
     "which sums over the layer's inputs: divide by the fan-in, d_in (PyTorch's default mode='fan_in')."),
    (_kaiming_variance,
     "this is the variance Var(w), not the standard deviation: take its square root."),
    (_kaiming_relu_gain,
     "it ignores the slope: sqrt(2 / fan_in) is He's formula for ReLU (slope 0). A LeakyReLU keeps "
     "(1 + alpha^2) / 2 of E[z^2], not 1/2, so the 2 becomes 2 / (1 + alpha^2)."),
    (_kaiming_slope_not_squared,
     "it uses (1 + alpha) where the formula has (1 + alpha^2): the negative side contributes "
     "E[(alpha z)^2] = alpha^2 E[z^2 for z < 0], so the slope is squared."),
    (_kaiming_factor_upside_down,
     "the factor is upside down: the activation keeps (1 + alpha^2) / 2 of the mean square, so the "
     "weights' variance must be divided by it, Var(w) = 2 / ((1 + alpha^2) d_in)."),
    (_kaiming_uniform_bound,
     "this is the bound rho of the uniform U(-rho, rho), sqrt(3) times the standard deviation; the exercise "
     "asks for the standard deviation of the normal N(0, s^2)."),
    (_kaiming_glorot,
     "this is Glorot's sqrt(2 / (fan_in + fan_out)), the compromise for tanh; He initialisation uses "
     "the fan-in alone and the factor for the activation."),
]


@exercise("ch06-ex-kaiming", answers=("kaiming_std",), points=2)
def _check_kaiming(kaiming_std):
    return check_function(kaiming_std, _kaiming_cases(), name="kaiming_std", mistakes=KAIMING_MISTAKES)


# --------------------------------------------------------------------------
# ch06-ex-regression
# --------------------------------------------------------------------------

_MODEL_KEYS = ("params", "activation", "mean", "std", "val_idx", "y_mean", "y_std")


@dataclass(frozen=True)
class RegressionCase:
    """One run of the check: the data, the hidden layer sizes and the options of the call."""

    name: str
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    layers: tuple[int, ...]
    options: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:  # what a message shows of the case
        return self.name

    def call(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (f"train_mlp_regression(X of shape {self.X.shape}, y of shape {self.y.shape}, "
                f"{list(self.layers)}, {options})")


def regression_cases() -> list[RegressionCase]:
    """The chapter's regression data (one target), and a smaller set with two targets of very
    different sizes, a ReLU network and other options, which catches one mean for all columns
    and a hard-coded option: the two cases differ in every option of train (momentum included),
    case 1 decays the weights only, and case 2 decays the biases too and clips the gradients."""
    from sklearn.datasets import make_regression

    X1, y1 = make_regression(n_samples=1000, n_features=5, n_informative=5, noise=10.0, random_state=0)
    X2, y2 = make_regression(n_samples=400, n_features=3, n_informative=3, n_targets=2, noise=5.0,
                             random_state=1)
    y2 = y2 * np.array([1.0, 0.05]) + np.array([0.0, 40.0])     # the second target in other units
    return [
        RegressionCase("the chapter's regression data, m = 1 target", X1, y1.reshape(-1, 1), (32,),
                       dict(activation="tanh", init="glorot_normal", batch_size=32, epochs=20,
                            validation_split=0.2, lr=0.01, momentum=0.9, weight_decay=1e-3,
                            decay_biases=False, clip_norm=None, seed=3)),
        RegressionCase("a data set with m = 2 targets of different sizes", X2, y2, (16,),
                       dict(activation="relu", init="he_normal", batch_size=16, epochs=10,
                            validation_split=0.25, lr=0.02, momentum=0.5, weight_decay=0.01,
                            decay_biases=True, clip_norm=0.5, seed=5)),
    ]


#: The defaults of the stub's signature: an option that is not passed on takes these values.
_STUB_DEFAULTS = dict(activation="tanh", init="glorot_normal", batch_size=32, epochs=50,
                      validation_split=0.2, lr=0.01, momentum=0.0, weight_decay=0.0,
                      decay_biases=False, clip_norm=None, seed=0)
#: The options of train whose value a wrong answer may drop or hard-code without changing the
#: split or the initial weights (those are checked before the curves).
_TRAIN_OPTIONS = ("activation", "lr", "momentum", "weight_decay", "decay_biases", "clip_norm",
                  "batch_size")


def _decaying_sgd(net, lr, momentum, weight_decay, decay_biases):
    """``scratch.SGD`` with the L2 term on the weights only (a second parameter group
    holds the biases, with ``weight_decay`` 0), or on the biases too: the chapter's
    ``sgd_step``."""
    from mlp_course import scratch

    if decay_biases:
        return scratch.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    named = list(net.named_parameters())
    groups = [{"params": [p for name, p in named if not name.endswith("bias")]},
              {"params": [p for name, p in named if name.endswith("bias")], "weight_decay": 0.0}]
    return scratch.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


@referee
def regression_reference(case: RegressionCase, ddof: int = 0) -> dict[str, Any]:
    """The run the answer must reproduce, written with the package: ``scratch.mlp`` draws the
    same initial weights as the chapter's ``init_params`` from the same generator, and
    ``train_val_split`` the same split as ``prepare``; the targets are standardised by hand with
    the training statistics (standard deviation with ``ddof``), and ``fit`` trains, with
    ``scratch.SGD`` (the L2 term on the biases only with ``decay_biases``) and ``clip_norm``.

    Returns the expected statistics, curves and predictions, and the numbers that the common
    mistakes would give instead."""
    from mlp_course import scratch
    from mlp_course.training import fit, train_val_split

    o = case.options
    X, y = case.X, case.y
    rng = np.random.default_rng(o["seed"])
    net = scratch.mlp([X.shape[1], *case.layers, y.shape[1]], activation=o["activation"],
                      init=o["init"], dtype=np.float64, rng=rng)
    _, train_idx, _, val_idx = train_val_split(X, np.arange(len(X)), o["validation_split"], rng=rng)
    x_mean, x_std = X[train_idx].mean(axis=0), X[train_idx].std(axis=0)
    y_mean, y_std = y[train_idx].mean(axis=0), y[train_idx].std(axis=0, ddof=ddof)
    X_train, X_val = (X[train_idx] - x_mean) / x_std, (X[val_idx] - x_mean) / x_std
    y_train, y_val = (y[train_idx] - y_mean) / y_std, (y[val_idx] - y_mean) / y_std
    optimizer = _decaying_sgd(net, o["lr"], o.get("momentum", 0.0), o.get("weight_decay", 0.0),
                              o.get("decay_biases", False))
    history = fit(net, X_train, y_train, scratch.MSELoss(), optimizer, epochs=o["epochs"],
                  batch_size=o["batch_size"], validation_data=(X_val, y_val), rng=rng,
                  clip_norm=o.get("clip_norm"))
    out_val = net(X_val)
    y_val_raw = y[val_idx]
    own = (y_val_raw - y_val_raw.mean(axis=0)) / y_val_raw.std(axis=0, ddof=ddof)
    return {
        "train_idx": train_idx, "val_idx": val_idx, "y_mean": y_mean, "y_std": y_std,
        "loss": np.array(history.loss), "val_loss": np.array(history.val_loss),
        "predictions": out_val * y_std + y_mean,
        # What the common mistakes give instead:
        "val_loss_raw_y_val": float(np.mean((out_val - y_val_raw) ** 2)),
        "val_loss_own_statistics": float(np.mean((out_val - own) ** 2)),
        "predictions_standardised": out_val,
        "predictions_add_then_multiply": (out_val + y_mean) * y_std,
        "predictions_raw_X": net(X[val_idx]) * y_std + y_mean,
    }


_REFERENCES: dict[tuple, dict[str, Any]] = {}


@referee
def _reference(case: RegressionCase, ddof: int) -> dict[str, Any]:
    """The referee's run, computed once per case, options and ddof (the cases are deterministic)."""
    key = (case.name, tuple(sorted(case.options.items())), ddof)
    if key not in _REFERENCES:
        _REFERENCES[key] = regression_reference(case, ddof)
    return _REFERENCES[key]


def _statistics(y: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    return y.mean(axis=0), y.std(axis=0, ddof=ddof)


def _close(a, b, rtol=1e-7, atol=1e-9) -> bool:
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _per_target(value: Any, m: int, key: str, where: str) -> np.ndarray:
    """The model's ``y_mean`` or ``y_std`` as one number per target column, or a message why not."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{where}: model[{key!r}] should be numbers, one per target, got "
                          f"{type(value).__name__}.") from None
    if array.size == m:
        return array.reshape(m)
    if array.size == 1:
        raise WrongAnswer(
            f"{where}: model[{key!r}] is one number, but y has m = {m} columns, one per target. "
            f"Each target needs its own statistics: compute them over the rows, with axis=0.")
    raise WrongAnswer(f"{where}: model[{key!r}] has shape {array.shape}; it should hold one number "
                      f"per target column of y, m = {m} (shape ({m},) or (1, {m})).")


def _check_statistics(model: dict, case: RegressionCase, ref0: dict, where: str) -> int:
    """The ddof (0 or 1) the answer's statistics of the targets use; a message for anything else."""
    m = case.y.shape[1]
    mean = _per_target(model["y_mean"], m, "y_mean", where)
    std = _per_target(model["y_std"], m, "y_std", where)
    y = case.y
    train_idx, val_idx = ref0["train_idx"], ref0["val_idx"]
    for ddof in (0, 1):
        expected_mean, expected_std = _statistics(y[train_idx], ddof)
        if _close(mean, expected_mean) and _close(std, expected_std):
            return ddof
    for ddof in (0, 1):
        all_mean, all_std = _statistics(y, ddof)
        if _close(mean, all_mean) or _close(std, all_std):
            raise WrongAnswer(
                f"{where}: model['y_mean'] and model['y_std'] are statistics of all {len(y):,} targets, "
                f"training and validation together: the validation targets leak into training. "
                f"Compute them from the training targets only (y_train, from prepare).")
        val_mean, val_std = _statistics(y[val_idx], ddof)
        if _close(mean, val_mean) or _close(std, val_std):
            raise WrongAnswer(
                f"{where}: model['y_mean'] and model['y_std'] are statistics of the validation "
                f"targets. Compute them from the training targets (y_train, from prepare), and "
                f"scale both the training and the validation targets with them.")
    expected_mean, expected_std = _statistics(y[train_idx], 0)
    raise WrongAnswer(
        f"{where}: model['y_mean'] and model['y_std'] should be the mean and the standard deviation "
        f"of the training targets, per column: expected {np.round(expected_mean, 4)} and "
        f"{np.round(expected_std, 4)}, got {np.round(mean, 4)} and {np.round(std, 4)}.")


def _curve(history: Any, key: str, where: str) -> np.ndarray:
    values = getattr(history, key, None)
    if values is None:
        raise WrongAnswer(f"{where}: the second value returned should be the History that train "
                          f"returns, with lists loss and val_loss; got {type(history).__name__}.")
    try:
        return np.asarray(list(values), dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{where}: history.{key} should be a list of numbers.") from None


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    epoch = int(np.argmax(~np.isclose(got, expected, rtol=1e-6, atol=1e-10)))
    digits = next((d for d in range(6, 17) if f"{got[epoch]:.{d}g}" != f"{expected[epoch]:.{d}g}"), 17)
    return f"in epoch {epoch + 1}: got {got[epoch]:.{digits}g}, expected {expected[epoch]:.{digits}g}"


def _dropped_option(loss: np.ndarray, case: RegressionCase, ddof: int) -> str:
    """A hint when the training loss is that of a run with one option of train at another value:
    the stub's default (the option was not passed on) or the other case's value (hard-coded)."""
    others = [c.options for c in regression_cases() if c.name != case.name]
    for option in _TRAIN_OPTIONS:
        given = case.options[option]
        values = [_STUB_DEFAULTS[option]] + [o[option] for o in others]
        for value in dict.fromkeys(values):           # unique, in order
            if value == given:
                continue
            variant = dataclasses.replace(case, options={**case.options, option: value})
            if np.allclose(loss, _reference(variant, ddof)["loss"], rtol=1e-6, atol=1e-10):
                default = " (the default of the signature)" if value == _STUB_DEFAULTS[option] else ""
                return (f" Likely mistake: it is the run with {option}={value!r}{default}, but the "
                        f"check called train_mlp_regression with {option}={given!r}: pass {option} "
                        f"on to train.")
    return ""


def _check_history(history: Any, case: RegressionCase, ref: dict, where: str, ddof: int = 0) -> None:
    epochs = case.options["epochs"]
    loss = _curve(history, "loss", where)
    val_loss = _curve(history, "val_loss", where)
    if loss.shape != (epochs,):
        raise WrongAnswer(f"{where}: history.loss has {loss.size} entries, expected one per epoch, "
                          f"{epochs}: pass epochs on to train.")
    if not np.allclose(loss, ref["loss"], rtol=1e-6, atol=1e-10):
        hint = ""
        if loss[0] > 100 * ref["loss"][0]:
            hint = (" The loss is in the units of the original targets, squared: train on the training "
                    "targets standardised with model['y_mean'] and model['y_std'].")
        else:
            hint = _dropped_option(loss, case, ddof)
        raise WrongAnswer(
            f"{where}: the training loss differs from the reference run {_first_difference(loss, ref['loss'])}."
            + (hint or " Train on the training targets standardised with the statistics stored in the "
                       "model, and pass every option (activation, lr, momentum, batch_size, ...) on "
                       "to train."))
    if val_loss.size == 0:
        raise WrongAnswer(
            f"{where}: history.val_loss is empty, so the network trained without validation data. "
            f"Pass the validation set to train, with its targets standardised like the training "
            f"targets: train(params, X_train, y_train_scaled, X_val, y_val_scaled, ...).")
    if val_loss.shape != (epochs,):
        raise WrongAnswer(f"{where}: history.val_loss has {val_loss.size} entries, expected one per "
                          f"epoch, {epochs}.")
    if not np.allclose(val_loss, ref["val_loss"], rtol=1e-6, atol=1e-10):
        if _close(val_loss[-1], ref["val_loss_raw_y_val"], rtol=1e-6):
            hint = (" The validation targets are not standardised: history.val_loss compares the "
                    "network's standardised outputs with y_val in the original units. Scale y_val "
                    "with the training statistics too.")
        elif _close(val_loss[-1], ref["val_loss_own_statistics"], rtol=1e-6):
            hint = (" The validation targets are scaled with their own mean and standard deviation: "
                    "scale them with the training statistics, as the inputs are.")
        else:
            hint = (" Pass the validation inputs from prepare and the validation targets standardised "
                    "with the training statistics to train.")
        raise WrongAnswer(f"{where}: the validation loss differs from the reference run "
                          f"{_first_difference(val_loss, ref['val_loss'])}.{hint}")


def _check_predictions(predictions: Any, ref: dict, where: str) -> None:
    if predictions is None:
        raise WrongAnswer(f"{where}: predict_regression returned None. Did you forget a `return`?")
    try:
        got = np.asarray(predictions, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{where}: predict_regression should return an array of numbers, got "
                          f"{type(predictions).__name__}.") from None
    expected = ref["predictions"]
    if got.shape != expected.shape:
        raise WrongAnswer(f"{where}: predict_regression returned shape {got.shape}, expected "
                          f"{expected.shape}: one row per example, one column per target.")
    if np.allclose(got, expected, rtol=1e-6, atol=1e-8 * float(np.max(np.abs(expected)))):
        return
    mistakes = [
        ("predictions_standardised",
         "the predictions are still in standardised units: multiply by model['y_std'], then add "
         "model['y_mean']."),
        ("predictions_add_then_multiply",
         "the mean is added before multiplying by the standard deviation: undo the scaling in the "
         "reverse order, prediction * y_std + y_mean."),
        ("predictions_raw_X",
         "the inputs go into the network unscaled: scale X with the model's mean and std first "
         "(predict does it)."),
    ]
    hint = next((f" Likely mistake: {text}" for key, text in mistakes
                 if np.allclose(got, ref[key], rtol=1e-6, atol=1e-8)), "")
    worst = np.unravel_index(int(np.argmax(np.abs(got - expected))), got.shape)
    raise WrongAnswer(
        f"{where}: the predictions on the validation examples differ from the reference run; the "
        f"largest difference is at index {tuple(int(i) for i in worst)}: got {got[worst]:.6g}, "
        f"expected {expected[worst]:.6g}.{hint}")


#: The chapter's own `train` records its curves in a `mlp_course.training.History`, so answers
#: may use that module; the rest of the course's library and PyTorch stay out of bounds.
_REGRESSION_ALLOWED = ("mlp_course.training",)


def _call(function, args, kwargs, name, where):
    """Run the learner's function: (True, its result), or (False, the "not answered yet" result)
    when it is not written yet (it raises NotImplementedError)."""
    try:
        with answer_running(_REGRESSION_ALLOWED):
            return True, function(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except NotImplementedError:
        return False, not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
    except RefereeCalled as error:
        if "check's own reference" in str(error):
            raise
        raise RefereeCalled(
            f"{where}: your answer calls {str(error).split(':')[0].removeprefix('your answer calls ')}: "
            f"this exercise builds on the chapter's own code. Train the network that prepare returns "
            f"with the chapter's train, and predict with the chapter's predict (the cells above); "
            f"scratch.mlp, scratch.SGD and fit are the check's independent run, so an answer may "
            f"not use them (nor PyTorch, nor the checks' code).") from None
    except WrongAnswer:
        raise
    except Exception as error:
        raise AnswerRaised(error, where) from error


@exercise("ch06-ex-regression", answers=("train_mlp_regression", "predict_regression"), points=3)
def _check_regression(train_mlp_regression, predict_regression):
    for name, function in (("train_mlp_regression", train_mlp_regression),
                           ("predict_regression", predict_regression)):
        if function is None or function is Ellipsis:
            return not_answered(name)
        if not callable(function):
            raise WrongAnswer(f"{name} should be a function, got {type(function).__name__}.")
    cases = regression_cases()
    for number, case in enumerate(cases, start=1):
        where = f"Case {number} of {len(cases)} ({case.name})"
        answered, result = _call(train_mlp_regression, (case.X, case.y, list(case.layers)), case.options,
                                 "train_mlp_regression", f"{where}, {case.call()}")
        if not answered:
            return result
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise WrongAnswer(f"{where}: train_mlp_regression should return a pair (model, history), "
                              f"got {type(result).__name__}.")
        model, history = result
        if not isinstance(model, dict):
            raise WrongAnswer(f"{where}: the model should be a dictionary like train_mlp's, got "
                              f"{type(model).__name__}.")
        missing = [key for key in _MODEL_KEYS if key not in model]
        if missing:
            raise WrongAnswer(f"{where}: the model has no {', '.join(repr(k) for k in missing)}: it "
                              f"should hold {', '.join(_MODEL_KEYS)} (train_mlp's entries, with "
                              f"'y_mean' and 'y_std' added).")
        ref0 = _reference(case, 0)
        val_idx = np.asarray(model["val_idx"]).ravel()
        expected_val = ref0["val_idx"]
        if val_idx.size == 0:
            raise WrongAnswer(f"{where}: model['val_idx'] is empty: no validation set was held out. "
                              f"Call prepare with validation_split=validation_split, as the stub does.")
        if val_idx.size != expected_val.size:
            raise WrongAnswer(f"{where}: model['val_idx'] holds {val_idx.size} indices, expected "
                              f"{expected_val.size}, the fraction validation_split="
                              f"{case.options['validation_split']} of {len(case.X)} examples: pass "
                              f"validation_split on to prepare.")
        if not np.array_equal(np.sort(val_idx), np.sort(expected_val)):
            raise WrongAnswer(f"{where}: model['val_idx'] is not the validation split that prepare "
                              f"draws with seed={case.options['seed']}: call prepare as the stub does, "
                              f"with the seed passed on, and keep the indices it returns.")
        ddof = _check_statistics(model, case, ref0, where)
        ref = ref0 if ddof == 0 else _reference(case, ddof)
        _check_history(history, case, ref, where, ddof)
        answered, predictions = _call(predict_regression, (model, case.X[expected_val]), {},
                                      "predict_regression",
                                      f"{where}, predict_regression(model, the {expected_val.size} "
                                      f"validation rows of X)")
        if not answered:
            return predictions
        _check_predictions(predictions, ref, where)
    return passed(f"train_mlp_regression and predict_regression pass all {len(cases)} test cases.")
