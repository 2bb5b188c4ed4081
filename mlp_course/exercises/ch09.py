"""The checks of chapter 9's coding exercises, keyed by exercise label.

* ``ch09-ex-from-numpy``: ``mlp_from_params(params, activation)`` builds a PyTorch network
  (an ``nn.Module``) from a NumPy network's flat parameter list ``[W1, b1, W2, b2, ...]``, with
  the weights in the course's ``(d_in, d_out)`` layout, the named activation after every hidden
  layer and none after the last (the network outputs logits). The check inspects the module
  (one ``nn.Linear`` per layer; the registered parameters, their shapes, dtype and values, and
  that they are copies, not views of the arrays passed in) and compares its forward pass with a
  NumPy referee on networks of several depths, one without a hidden layer.
* ``ch09-ex-f1``: ``precision_recall_f1(scores, y, threshold)`` in NumPy: precision, recall and
  F1 of the predictions ``scores >= threshold``, each defined as 0 where its denominator is 0
  (scikit-learn's ``zero_division=0``), against scikit-learn. A known mistake is named only when
  it reproduces the answer on every case, and its hint comes first in the message.

Every case is built here, deterministically; the answers run under the checks' watch (a call
into the course's library or into this module fails them), the first with PyTorch allowed,
the second in NumPy only (PyTorch and scikit-learn would do it for the learner).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised,
    WrongAnswer,
    answer_running,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = [
    "NetworkCase", "network_cases", "numpy_forward", "mlp_from_params_check",
    "metric_cases", "metrics_by_sklearn", "METRIC_MISTAKES", "precision_recall_f1_check",
]

# --------------------------------------------------------------------------
# ch09-ex-from-numpy
# --------------------------------------------------------------------------

_NUMPY_ACTIVATIONS = {"relu": lambda Z: np.maximum(Z, 0.0), "tanh": np.tanh}


@dataclass(frozen=True)
class NetworkCase:
    """One network of the check: its layer sizes, activation, parameters and a batch of inputs."""

    sizes: tuple[int, ...]
    activation: str
    params: list = field(repr=False)
    X: np.ndarray = field(repr=False)

    @property
    def name(self) -> str:
        hidden = "no hidden layer" if len(self.sizes) == 2 else f"{len(self.sizes) - 2} hidden"
        return f"{'-'.join(map(str, self.sizes))}, {self.activation}, {hidden}"


#: (layer sizes, activation). The square 4-4 layer shows a weight copied without its transpose
#: (no shape error there); 6-3 has no hidden layer, so an activation after the last layer shows;
#: the depths differ, so hidden sizes written into the answer show; the last is the chapter's.
_NETWORKS = [((3, 5, 4, 2), "relu"), ((4, 4, 1), "tanh"), ((6, 3), "relu"),
             ((2, 8, 8, 8, 3), "tanh"), ((10, 64, 32, 1), "relu")]


def network_cases() -> list[NetworkCase]:
    """The networks of the check, drawn from a seeded generator: weights of the size of PyTorch's
    initialisation, biases large enough that a forgotten bias shows, and inputs (7, d)."""
    rng = np.random.default_rng(9)
    cases = []
    for sizes, activation in _NETWORKS:
        params = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            params += [rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(d_in, d_out)),
                       rng.normal(0.0, 0.5, size=d_out)]
        cases.append(NetworkCase(sizes, activation, params, rng.normal(size=(7, sizes[0]))))
    return cases


@referee
def numpy_forward(params, activation, X):
    """The network's logits in NumPy, float64: Z = A W + b per layer, the activation between."""
    f = _NUMPY_ACTIVATIONS[activation]
    A = X
    for l in range(len(params) // 2):
        A = A @ params[2 * l] + params[2 * l + 1]
        if l < len(params) // 2 - 1:
            A = f(A)
    return A


def _forward_with(params, activation, X, *, last=False, hidden=True, other=False):
    """Forward passes that make one mistake: an activation after the last layer too (last), none
    anywhere (hidden=False), or the other activation (other)."""
    name = {"relu": "tanh", "tanh": "relu"}[activation] if other else activation
    f = _NUMPY_ACTIVATIONS[name]
    A = X
    D = len(params) // 2
    for l in range(D):
        A = A @ params[2 * l] + params[2 * l + 1]
        if (l < D - 1 and hidden) or (l == D - 1 and last):
            A = f(A)
    return A


_FORWARD_MISTAKES = [
    (dict(last=True),
     "the activation is applied after the last layer too. The network must output logits: "
     "leave the last nn.Linear without an activation (the loss, BCEWithLogitsLoss, takes it from there)."),
    (dict(hidden=False),
     "no activation between the layers: the network is one linear map. Put the activation after "
     "every hidden nn.Linear, i.e. after every layer but the last."),
    (dict(other=True),
     "the hidden layers use the other activation: use the one named by `activation` "
     "(\"relu\" -> nn.ReLU(), \"tanh\" -> nn.Tanh())."),
]


def _plain_lists(module, torch) -> list[str]:
    """Attributes of ``module`` or of its submodules that are plain lists, tuples or dicts holding
    modules or parameters: PyTorch does not register what they hold."""
    found = []
    for prefix, sub in module.named_modules():
        for key, value in vars(sub).items():
            if key.startswith("_"):
                continue
            items = list(value.values()) if isinstance(value, dict) else value
            if isinstance(items, (list, tuple)) and any(
                    isinstance(v, (torch.nn.Module, torch.nn.Parameter)) for v in items):
                found.append(f"{prefix + '.' if prefix else ''}{key}")
    return found


#: (type, fragment of PyTorch's message, hint) for the errors a learner's code typically raises
#: while it builds the network; the hint is added to the note that says where the error came from.
_BUILD_ERRORS = [
    (RuntimeError, "leaf Variable that requires grad is being used in an in-place operation",
     "copy_ into a parameter outside torch.no_grad(). Copying values in is no computation to "
     "record: do it inside `with torch.no_grad():` (chapter 8)."),
    (RuntimeError, "must match the size of tensor",
     "a copy between tensors of different shapes. nn.Linear stores its weight as (d_out, d_in), "
     "the transpose of W: copy W.T."),
    (TypeError, "as parameter",
     "a plain tensor assigned to a parameter's attribute. Keep the layer's own nn.Parameter and copy "
     "the values into it (layer.weight.copy_(...) inside torch.no_grad()), or assign "
     "nn.Parameter(torch.tensor(...))."),
]


def _run_watched(function, args, where, *, building=True):
    """Run the learner's code under the watch, PyTorch allowed: (True, result), or (False, the
    "not answered yet" result) while it still raises NotImplementedError. An error of the learner's
    code is re-raised as theirs, with a hint where PyTorch's message is a known one."""
    try:
        with answer_running(("torch",)):
            return True, function(*args)
    except NotImplementedError:
        return False, not_answered("mlp_from_params",
                                   "replace `raise NotImplementedError` in the cell above with your code")
    except WrongAnswer:
        raise
    except Exception as error:
        for kind, fragment, hint in (_BUILD_ERRORS if building else []):
            if isinstance(error, kind) and fragment in str(error):
                where = f"{where}. Likely cause: {hint}"
                break
        raise AnswerRaised(error, where) from error


def _shared_with(tensor, arrays) -> int | None:
    """The index of the array of ``arrays`` whose memory ``tensor`` shares, or None."""
    if tensor.device.type != "cpu":
        return None
    value = tensor.detach().numpy()
    for index, array in enumerate(arrays):
        if np.may_share_memory(value, array) and np.shares_memory(value, array):
            return index
    return None


def _check_parameters(model, case: NetworkCase, where: str, torch, given=None) -> None:
    """Registered parameters: their number, one nn.Linear per layer, shapes, dtype, trainability,
    that they are copies (not views of ``given``, the arrays the answer received) and values."""
    got = list(model.parameters())
    D = len(case.params) // 2
    expected_shapes = [p.T.shape if p.ndim == 2 else p.shape for p in case.params]
    n_expected = sum(p.size for p in case.params)
    n_got = sum(p.numel() for p in got)
    if len(got) != len(case.params) or n_got != n_expected:
        lists = _plain_lists(model, torch)
        hint = ""
        if lists:
            hint = (f" Likely mistake: the layers sit in a plain Python list ({', '.join(lists)}), whose "
                    f"contents nn.Module does not register: model.parameters() cannot see them, so no "
                    f"optimiser would train them and .to(device) would not move them. Use "
                    f"nn.Sequential(*layers) or nn.ModuleList(layers).")
        elif n_got == 0:
            hint = " The model holds no parameters at all: it needs one nn.Linear per weight matrix."
        elif len(got) == D and all(p.ndim == 2 for p in got):
            hint = " There is one tensor per layer: are the layers built with bias=False? Each needs its bias."
        else:
            hint = (" Likely mistake: the network's depth or sizes are written into the code. Take the number "
                    "of layers from len(params) // 2 and each layer's sizes from the shape of its W.")
        raise WrongAnswer(
            f"{where}: the model registers {len(got)} parameter tensors with {n_got} numbers in all; "
            f"expected {len(case.params)} tensors (a weight and a bias for each of the {D} layers) with "
            f"{n_expected} numbers, the sum of d_in * d_out + d_out over the layers.{hint}")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if len(linears) != D:
        found = "no nn.Linear" if not linears else f"{len(linears)} nn.Linear layers"
        raise WrongAnswer(
            f"{where}: the model holds {found}, expected {D}: the exercise asks for one nn.Linear per "
            f"layer (nn.Linear(d_in, d_out, dtype=torch.float64)), each holding its weight and bias and "
            f"computing X @ weight.T + bias.")
    order = ("The check reads model.parameters() in the order one nn.Linear per layer registers them: "
             "the weight of layer 1, its bias, the weight of layer 2, its bias, ...")
    for index, (p, shape, source) in enumerate(zip(got, expected_shapes, case.params)):
        layer, what = index // 2 + 1, ("weight" if index % 2 == 0 else "bias")
        if tuple(p.shape) != tuple(shape):
            hint = f" {order}"
            if tuple(p.shape) == source.shape and source.ndim == 2:
                hint = (" It has the NumPy layout (d_in, d_out); nn.Linear stores its weight as "
                        "(d_out, d_in) and computes X @ weight.T + bias: copy W.T.")
            raise WrongAnswer(f"{where}: the {what} of layer {layer} has shape {tuple(p.shape)}, "
                              f"expected {tuple(shape)}.{hint}")
    low = [i for i, p in enumerate(got) if p.dtype != torch.float64]
    if low:
        raise WrongAnswer(
            f"{where}: the parameters are {got[low[0]].dtype}, expected torch.float64, the dtype of the "
            f"NumPy arrays. nn.Linear creates float32 parameters unless told otherwise, and copying "
            f"float64 values into them rounds them to about 7 digits: build the layers with "
            f"dtype=torch.float64, or call .double() on each layer before copying the values in "
            f"(converting afterwards keeps the rounded values).")
    frozen = [i for i, p in enumerate(got) if not p.requires_grad]
    if frozen:
        raise WrongAnswer(
            f"{where}: parameter {frozen[0]} does not require gradients, so the network could not be "
            f"trained. Keep nn.Linear's own parameters and copy the values into them inside "
            f"torch.no_grad() (chapter 8), e.g. layer.weight.copy_(torch.from_numpy(W.T)).")
    if given is not None:
        for index, p in enumerate(got):
            shared = _shared_with(p, given)
            if shared is not None:
                layer, what = index // 2 + 1, ("weight" if index % 2 == 0 else "bias")
                name = f"{'W' if shared % 2 == 0 else 'b'}{shared // 2 + 1}"
                raise WrongAnswer(
                    f"{where}: the {what} of layer {layer} shares its memory with the NumPy array {name} "
                    f"that was passed in, so it is no copy: torch.from_numpy (and torch.as_tensor) make a "
                    f"tensor that views the array, and training the PyTorch network would change the "
                    f"arrays in `params` too. Copy the values into the layer's own parameter with "
                    f"layer.weight.copy_(...) inside torch.no_grad(), or build the tensor with "
                    f"torch.tensor(...), which copies.")
    for index, (p, source) in enumerate(zip(got, case.params)):
        layer, what = index // 2 + 1, ("weight" if index % 2 == 0 else "bias")
        value = p.detach().cpu().numpy()
        expected = source.T if source.ndim == 2 else source
        if np.allclose(value, expected, rtol=1e-12, atol=1e-14):
            continue
        if np.array_equal(value, expected.astype(np.float32).astype(np.float64)):
            raise WrongAnswer(
                f"{where}: the {what} of layer {layer} holds the values of "
                f"{'W' if what == 'weight' else 'b'}{layer} rounded to float32 (about 7 significant "
                f"digits) on the way in, though the parameter itself is float64. Create the layers in "
                f"float64 (dtype=torch.float64, or .double() on each layer) before copying the values "
                f"in, and copy from a float64 tensor: torch.from_numpy(W.T), not a float32 one.")
        if source.ndim == 2 and value.shape == source.shape and np.allclose(value, source, rtol=1e-12, atol=1e-14):
            raise WrongAnswer(
                f"{where}: the weight of layer {layer} holds W itself, not its transpose. The layer is "
                f"square, so the copy fitted, but nn.Linear computes X @ weight.T + bias: copy W.T.")
        hint = (" It still holds nn.Linear's own random initial values: copy b into layer.bias too."
                if what == "bias" else " Copy W.T into layer.weight (inside torch.no_grad()).")
        raise WrongAnswer(f"{where}: the {what} of layer {layer} does not hold the values of the NumPy "
                          f"network's {'W' if what == 'weight' else 'b'}{layer}.{hint}")


def _check_forward(model, case: NetworkCase, where: str, torch) -> None:
    expected = numpy_forward(case.params, case.activation, case.X)
    X = torch.from_numpy(case.X.copy())
    call = f"{where}, model(X) for X of shape {case.X.shape}"
    answered, out = _run_watched(model, (X,), call, building=False)
    if not answered:  # a forward that raises NotImplementedError
        return out
    if not isinstance(out, torch.Tensor):
        raise WrongAnswer(f"{call}: the model returned {type(out).__name__}, expected a tensor.")
    got = out.detach().cpu().numpy()
    if got.shape != expected.shape:
        raise WrongAnswer(f"{call}: the output has shape {got.shape}, expected {expected.shape}: one row "
                          f"per example, one column per output unit (d_out of the last layer).")
    if np.allclose(got, expected, rtol=1e-10, atol=1e-12):
        return None
    for options, hint in _FORWARD_MISTAKES:
        if np.allclose(got, _forward_with(case.params, case.activation, case.X, **options),
                       rtol=1e-10, atol=1e-12):
            raise WrongAnswer(f"{call}: the output differs from the NumPy network's. Likely mistake: {hint}")
    worst = np.unravel_index(int(np.argmax(np.abs(got - expected))), got.shape)
    raise WrongAnswer(f"{call}: the output differs from the NumPy network's, by up to "
                      f"{np.abs(got - expected).max():.3g} (at index {tuple(int(i) for i in worst)}). "
                      f"Check the order of the layers and the activation between them.")


def mlp_from_params_check(mlp_from_params):
    """Build every case's network with the answer and inspect it; return the check's result."""
    import torch

    if mlp_from_params is None or mlp_from_params is Ellipsis:
        return not_answered("mlp_from_params")
    if not callable(mlp_from_params):
        raise WrongAnswer(f"mlp_from_params should be a function, got {type(mlp_from_params).__name__}.")
    cases = network_cases()
    for number, case in enumerate(cases, start=1):
        where = f"Case {number} of {len(cases)} (a {case.name} network)"
        call = f"{where}, mlp_from_params(params, {case.activation!r})"
        args = copy.deepcopy((case.params, case.activation))   # kept: the parameters must not share them
        answered, model = _run_watched(mlp_from_params, args, call)
        if not answered:
            return model
        if model is None:
            raise WrongAnswer(f"{call} returned None. Did you forget a `return`?")
        if not isinstance(model, torch.nn.Module):
            hint = ""
            if isinstance(model, (list, tuple)):
                hint = (" A list of layers is not a module: it has no forward and registers no "
                        "parameters. Wrap the layers in nn.Sequential(*layers).")
            raise WrongAnswer(f"{call} returned {type(model).__name__}, expected a torch.nn.Module "
                              f"(an nn.Sequential, for example).{hint}")
        _check_parameters(model, case, where, torch, given=args[0])
        not_yet = _check_forward(model, case, where, torch)
        if not_yet is not None:
            return not_yet
    return passed(f"mlp_from_params passes all {len(cases)} test cases.")


@exercise("ch09-ex-from-numpy", answers=("mlp_from_params",), points=3)
def _check_from_numpy(mlp_from_params):
    return mlp_from_params_check(mlp_from_params)


# --------------------------------------------------------------------------
# ch09-ex-f1
# --------------------------------------------------------------------------


def metric_cases() -> list[tuple[tuple, str]]:
    """((scores, y, threshold), name) pairs: scores with ties exactly at the threshold, a
    threshold above every score (nothing predicted positive), no positive example at all, logits
    with the threshold 0, and a larger random set; in every case but the degenerate ones
    precision and recall differ, so swapping them shows. In the first case, swapping them and
    flagging every example (scores run through a sigmoid first) give different results too."""
    rng = np.random.default_rng(90)
    p = rng.random(40).round(1)                                # ties: many scores are exactly 0.5
    y1 = (rng.random(40) < p).astype(np.int64)
    logits = rng.normal(0.0, 2.0, 30).round(0)                 # whole numbers: several exactly 0
    y4 = (rng.random(30) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    p5 = rng.random(200)
    y5 = (rng.random(200) < p5 ** 2).astype(np.int64)
    return [
        ((np.array([0.1, 0.4, 0.35, 0.8, 0.6]), np.array([0, 0, 1, 1, 1]), 0.5),
         "five examples, two true positives"),
        ((p, y1, 0.5), "scores rounded to 0.1, several exactly at the threshold 0.5"),
        ((p, y1, 1.5), "a threshold above every score: nothing is predicted positive"),
        ((np.array([0.2, 0.9, 0.6, 0.3, 0.7]), np.zeros(5, dtype=np.int64), 0.5),
         "no positive example at all"),
        ((logits, y4, 0.0), "logits (any real number) with the threshold 0, some exactly 0"),
        ((p5, y5, 0.3), "200 examples, threshold 0.3"),
    ]


@referee
def metrics_by_sklearn(scores, y, threshold):
    """Precision, recall and F1 from scikit-learn, each 0 where its denominator is 0."""
    from sklearn.metrics import f1_score, precision_score, recall_score

    predicted = (np.asarray(scores) >= threshold).astype(np.int64)
    return tuple(float(metric(y, predicted, zero_division=0))
                 for metric in (precision_score, recall_score, f1_score))


def _metrics(scores, y, threshold, *, strict=False, nan=False, mean=False, swap=False, labels=False,
             sigmoid=False, zero_precision=0.0, zero_recall=0.0, recall_over_tn=False):
    """Precision, recall and F1 with one mistake (the referee's formula otherwise)."""
    scores = np.asarray(y if labels else scores, dtype=np.float64)
    if sigmoid:
        scores = 1 / (1 + np.exp(-scores))
    y = np.asarray(y)
    predicted = scores > threshold if strict else scores >= threshold
    tp = np.sum(predicted & (y == 1))
    fp = np.sum(predicted & (y == 0))
    fn = np.sum(~predicted & (y == 1))
    tn = np.sum(~predicted & (y == 0))

    def ratio(a, b, zero=0.0):
        if b == 0:
            return np.nan if nan else zero
        return a / b

    precision = ratio(tp, tp + fp, zero_precision)
    recall = ratio(tp, tp + tn, zero_recall) if recall_over_tn else ratio(tp, tp + fn, zero_recall)
    if mean:
        f1 = (precision + recall) / 2
    elif nan:
        f1 = np.nan if not np.isfinite(precision + recall) or precision + recall == 0 else \
            2 * precision * recall / (precision + recall)
    else:
        f1 = ratio(2 * precision * recall, precision + recall)
    return (recall, precision, f1) if swap else (precision, recall, f1)


_ZERO_AS_ONE = ("a 0/0 is defined as 1 here (scikit-learn's other convention, zero_division=1). The "
                "chapter defines a precision, recall or F1 whose denominator is 0 as 0, as "
                "zero_division=0 does: nothing flagged means a precision of 0, no positive example a "
                "recall of 0.")

METRIC_MISTAKES = [
    (lambda s, y, t: _metrics(s, y, t, swap=True),
     "precision and recall are swapped. Precision divides the true positives by everything "
     "predicted positive (TP + FP); recall divides them by every actual positive (TP + FN)."),
    (lambda s, y, t: _metrics(s, y, t, strict=True),
     "a score exactly at the threshold is counted as negative (scores > threshold). The chapter "
     "predicts positive when the score is at least the threshold: scores >= threshold."),
    (lambda s, y, t: _metrics(s, y, t, nan=True),
     "0/0 gives NaN. Where a denominator is 0 (nothing predicted positive, or no positive example, "
     "or precision + recall = 0), the chapter defines the value as 0, as scikit-learn's "
     "zero_division=0 does."),
    (lambda s, y, t: _metrics(s, y, t, zero_precision=1.0, zero_recall=1.0), _ZERO_AS_ONE),
    (lambda s, y, t: _metrics(s, y, t, zero_precision=1.0), _ZERO_AS_ONE),
    (lambda s, y, t: _metrics(s, y, t, zero_recall=1.0), _ZERO_AS_ONE),
    (lambda s, y, t: _metrics(s, y, t, mean=True),
     "F1 is the arithmetic mean of precision and recall; it is their harmonic mean, "
     "2 * precision * recall / (precision + recall), which stays low when either one is low."),
    (lambda s, y, t: _metrics(s, y, t, labels=True),
     "the predictions come from the labels y, not from the scores: compare `scores` with the threshold."),
    (lambda s, y, t: _metrics(s, y, t, sigmoid=True),
     "the scores are run through a sigmoid before they are compared with the threshold. The scores "
     "and the threshold are on the same scale already (probabilities with a threshold like 0.5, or "
     "logits with a threshold like 0): compare `scores` with the threshold as they are."),
    (lambda s, y, t: _metrics(s, y, t, recall_over_tn=True),
     "recall divides the true positives by TP + TN. Its denominator is every actual positive, "
     "the churners found and the churners missed: TP + FN."),
]

_METRIC_NAMES = ("precision", "recall", "f1")


def _number_text(value: float) -> str:
    return "NaN" if np.isnan(value) else f"{value:.6g}"


def _pair_text(value: float, target: float) -> tuple[str, str]:
    """Both numbers with enough digits to tell them apart (at most 17)."""
    for digits in (6, 9, 12, 17):
        a, b = f"{value:.{digits}g}", f"{target:.{digits}g}"
        if a != b:
            break
    return ("NaN" if np.isnan(value) else a), b


def _as_metrics(result) -> tuple[tuple[float, ...] | None, str | None]:
    """The answer's result as three floats, or None and a message saying what is wrong with it."""
    if result is None:
        return None, "returned None. Did you forget a `return`?"
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        got = (f"a {type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list))
               else type(result).__name__)
        return None, f"the result should be a tuple of 3 values (precision, recall, f1), got {got}."
    values = []
    for index, (name, value) in enumerate(zip(_METRIC_NAMES, result)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None, f"{name} (result[{index}]) should be a number, got {type(value).__name__}: {value!r:.60}"
        if array.size != 1:
            return None, (f"{name} (result[{index}]) should be a single number, got an array of shape "
                          f"{array.shape}. Did you compute it per example instead of summing the counts first?")
        values.append(float(array.reshape(())))
    return tuple(values), None


def _same_metrics(a, b, rtol: float, atol: float) -> bool:
    return bool(np.all(np.isclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                  rtol=rtol, atol=atol, equal_nan=True)))


def _triple_text(values) -> str:
    return ", ".join(f"{name} {_number_text(v)}" for name, v in zip(_METRIC_NAMES, values))


def _counts_text(scores, y, threshold) -> str:
    predicted = np.asarray(scores) >= threshold
    y = np.asarray(y)
    counts = [np.sum(predicted & (y == 1)), np.sum(predicted & (y == 0)),
              np.sum(~predicted & (y == 1)), np.sum(~predicted & (y == 0))]
    return ("With scores >= threshold, this case has TP = {}, FP = {}, FN = {} and TN = {}: compare "
            "them with your counts.".format(*(int(c) for c in counts)))


def precision_recall_f1_check(precision_recall_f1, *, rtol: float = 1e-9, atol: float = 1e-12):
    """Run the answer on every case (under the watch, scikit-learn refused too) and compare it with
    scikit-learn. On the first wrong case, a known mistake that reproduces the answer on every case
    is named first; otherwise the message says which value is off and gives the case's counts."""
    name = "precision_recall_f1"
    if precision_recall_f1 is None or precision_recall_f1 is Ellipsis:
        return not_answered(name)
    if not callable(precision_recall_f1):
        raise WrongAnswer(f"{name} should be a function, got {type(precision_recall_f1).__name__}.")
    cases = metric_cases()
    outcomes = []                                # per case: (where, result) or (where, error)
    for number, (args, label) in enumerate(cases, start=1):
        where = (f"Case {number} of {len(cases)} ({label}), {name}("
                 f"{', '.join(_describe(a) for a in args)})")
        try:
            with answer_running((), ("sklearn",)):
                outcomes.append((where, precision_recall_f1(*copy.deepcopy(args)), None))
        except NotImplementedError:
            return not_answered(name, "replace `raise NotImplementedError` in the cell above with your code")
        except WrongAnswer:
            raise
        except Exception as error:
            outcomes.append((where, None, error))
    expected = [metrics_by_sklearn(*args) for args, _ in cases]
    answers = [_as_metrics(result)[0] if error is None else None for _, result, error in outcomes]
    for (where, result, error), want, (args, _) in zip(outcomes, expected, cases):
        if error is not None:
            raise AnswerRaised(error, where) from error
        values, problem = _as_metrics(result)
        if problem:
            raise WrongAnswer(f"{where}: {problem}")
        if _same_metrics(values, want, rtol, atol):
            continue
        for mistake, hint in METRIC_MISTAKES:
            if all(got is not None and _same_metrics(got, mistake(*copy.deepcopy(a)), rtol, atol)
                   for got, (a, _) in zip(answers, cases)):
                raise WrongAnswer(f"{where}: Likely mistake: {hint} Your answer gives {_triple_text(values)}; "
                                  f"expected {_triple_text(want)}.")
        index = next(i for i in range(3) if not _same_metrics(values[i], want[i], rtol, atol))
        shown, wanted = _pair_text(values[index], want[index])
        message = f"{_METRIC_NAMES[index]} (result[{index}]) is {shown}, expected {wanted}"
        if np.isnan(values[index]):
            message += (". NaN comes from 0/0: where a denominator is 0, the chapter defines the value "
                        "as 0 (scikit-learn's zero_division=0).")
        else:
            off = abs(values[index] - want[index])
            message += f" (off by {off:.3g})."
            if off <= 1e-6 * abs(want[index]):
                message += (" A difference this small comes from a small constant added to a denominator "
                            "(an epsilon): the check expects the exact ratios, so test each denominator "
                            "for 0 instead.")
        raise WrongAnswer(f"{where}: {message} {_counts_text(*args)}")
    return passed(f"{name} passes all {len(cases)} test cases.")


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ").replace("\n", "")
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else repr(value)


@exercise("ch09-ex-f1", answers=("precision_recall_f1",), points=2)
def _check_f1(precision_recall_f1):
    return precision_recall_f1_check(precision_recall_f1)
