"""The checks of chapter 9's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee (or the library
that would do the work) fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch09

TICK = "\u2713"
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch09") == ["ch09-ex-f1", "ch09-ex-from-numpy"]
    assert get("ch09-ex-from-numpy").points == 3 and get("ch09-ex-f1").points == 2


# --------------------------------------------------------------------------
# ch09-ex-from-numpy
# --------------------------------------------------------------------------


def mlp_from_params(params, activation):
    """The reference answer: nn.Linear layers in float64, the weights copied transposed."""
    layers = []
    n_layers = len(params) // 2
    for l in range(n_layers):
        W, b = params[2 * l], params[2 * l + 1]
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if l < n_layers - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def from_numpy_stub(params, activation):
    raise NotImplementedError("replace this line with your code")


def test_from_numpy_reference_passes(capsys):
    assert check("ch09-ex-from-numpy", mlp_from_params)
    assert capsys.readouterr().out == f"{TICK} mlp_from_params passes all 5 test cases.\n"


@pytest.mark.parametrize("stub", [from_numpy_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_from_numpy_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch09-ex-from-numpy", stub))
    assert "mlp_from_params is not answered yet" in capsys.readouterr().out


class ModuleListMLP(nn.Module):
    """A correct form: nn.ModuleList, and the activation as a function in forward."""

    def __init__(self, params, activation):
        super().__init__()
        self.f = {"relu": torch.relu, "tanh": torch.tanh}[activation]
        self.layers = nn.ModuleList()
        for W, b in zip(params[0::2], params[1::2]):
            linear = nn.Linear(*W.shape).double()
            with torch.no_grad():
                linear.weight.copy_(torch.tensor(W).T)
                linear.bias.copy_(torch.tensor(b))
            self.layers.append(linear)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.f(layer(x))
        return self.layers[-1](x)


def parameter_assignment(params, activation):
    """A correct form: new nn.Parameters assigned to each layer."""
    layers = []
    for l, (W, b) in enumerate(zip(params[0::2], params[1::2])):
        linear = nn.Linear(W.shape[0], W.shape[1])
        linear.weight = nn.Parameter(torch.tensor(W.T.copy()))
        linear.bias = nn.Parameter(torch.tensor(b))
        layers += [linear] + ([ACTIVATIONS[activation]()] if l < len(params) // 2 - 1 else [])
    return nn.Sequential(*layers)


def data_assignment_then_double(params, activation):
    """A correct form: .data assigned, the model made float64 at the end, one shared activation."""
    f = ACTIVATIONS[activation]()
    layers = []
    for W, b in zip(params[0::2], params[1::2]):
        linear = nn.Linear(W.shape[0], W.shape[1])
        linear.weight.data = torch.from_numpy(W.T.copy()).float()
        linear.bias.data = torch.from_numpy(b).float()
        layers += [linear, f]
    model = nn.Sequential(*layers[:-1]).double()
    with torch.no_grad():                       # the float64 values again, after the rounding above
        for linear, W, b in zip(model[0::2], params[0::2], params[1::2]):
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
    return model


class ChapterMLP(nn.Module):
    """The chapter's configurable MLP (layers in an nn.Sequential attribute), trimmed."""

    def __init__(self, sizes, activation):
        super().__init__()
        layers = []
        for d_in, d_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(d_in, d_out), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


def from_the_chapters_mlp(params, activation):
    """A correct form: the chapter's MLP class, made float64, the values copied in afterwards."""
    sizes = [params[0].shape[0]] + [W.shape[1] for W in params[0::2]]
    model = ChapterMLP(sizes, activation).to(torch.float64)
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(value.T if value.ndim == 2 else value))
    return model


@pytest.mark.parametrize("correct", [
    ModuleListMLP, parameter_assignment, data_assignment_then_double, from_the_chapters_mlp,
], ids=["module-list", "parameter-assignment", "data-then-double", "chapter-mlp"])
def test_from_numpy_every_correct_form_passes(correct, capsys):
    assert check("ch09-ex-from-numpy", correct)
    assert TICK in capsys.readouterr().out


def _with(*, transpose=True, last=False, hidden=True, dtype=torch.float64, bias=True, act=None,
          plain_list=False, frozen=False, no_bias=False):
    """mlp_from_params with one mistake."""

    def build(params, activation):
        name = act or activation
        modules = []
        n_layers = len(params) // 2
        for l in range(n_layers):
            W, b = params[2 * l], params[2 * l + 1]
            linear = nn.Linear(W.shape[0], W.shape[1], bias=not no_bias, dtype=dtype)
            with torch.no_grad():
                if transpose:
                    linear.weight.copy_(torch.from_numpy(W.T))
                else:
                    linear.weight = nn.Parameter(torch.from_numpy(W))
                if bias:
                    linear.bias.copy_(torch.from_numpy(b))
            if frozen:
                linear.requires_grad_(False)
            modules.append(linear)
            if (l < n_layers - 1 and hidden) or (l == n_layers - 1 and last):
                modules.append(ACTIVATIONS[name]())
        if plain_list:
            class ListMLP(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.layers = modules

                def forward(self, x):
                    for module in self.layers:
                        x = module(x)
                    return x
            return ListMLP()
        return nn.Sequential(*modules)

    return build


def hard_coded(params, activation):
    """Three layers, whatever params holds."""
    return mlp_from_params(params[:6], activation)


def drops_the_last_layer(params, activation):
    """A loop that stops one layer short (range(n_layers - 1))."""
    return nn.Sequential(*list(mlp_from_params(params, activation))[:-2])


def square_not_transposed(params, activation):
    """The weights copied as they are where the layer is square (no error there), transposed elsewhere."""
    model = mlp_from_params(params, activation)
    with torch.no_grad():
        for linear, W in zip([m for m in model if isinstance(m, nn.Linear)], params[0::2]):
            if W.shape[0] == W.shape[1]:
                linear.weight.copy_(torch.from_numpy(W))
    return model


@pytest.mark.parametrize("wrong, fragment", [
    (_with(last=True), "after the last layer too"),
    (_with(hidden=False), "one linear map"),
    (_with(act="relu"), "other activation"),
    (_with(transpose=False), "NumPy layout \\(d_in, d_out\\)"),
    (square_not_transposed, "holds W itself, not its transpose"),
    (_with(dtype=torch.float32), "dtype=torch.float64"),
    (_with(bias=False), "copy b into layer.bias"),
    (_with(plain_list=True), "plain Python list \\(layers\\)"),
    (_with(frozen=True), "does not require gradients"),
    (hard_coded, "a weight and a bias for each of the 4 layers.*Take the number of layers from len\\(params\\)"),
    (drops_the_last_layer, "Take the number of layers"),
    (_with(bias=False, no_bias=True), "bias=False"),
    (lambda params, activation: list(mlp_from_params(params, activation)), "A list of layers is not a module"),
    (lambda params, activation: None, "forget a `return`"),
], ids=["activation-last", "no-activation", "wrong-activation", "not-transposed", "square-not-transposed",
        "float32", "bias-not-copied", "plain-list", "frozen", "hard-coded-depth", "last-layer-dropped",
        "no-bias-at-all", "list", "none"])
def test_from_numpy_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch09-ex-from-numpy", wrong)


def test_from_numpy_error_in_the_answer_is_the_learners():
    def raises(params, activation):
        return nn.Linear(params[0].shape[0], params[0].shape[1]).weight.copy_(torch.from_numpy(params[0]))

    with pytest.raises(RuntimeError):
        check("ch09-ex-from-numpy", raises)


def test_from_numpy_answer_using_the_course_library_fails():
    from mlp_course import scratch

    def by_scratch(params, activation):
        net = scratch.mlp([params[0].shape[0]] + [W.shape[1] for W in params[0::2]], activation=activation,
                          dtype=np.float64, rng=np.random.default_rng(0))
        for p, value in zip(net.parameters(), params):
            p.data[...] = value
        return scratch.to_torch(net)

    with pytest.raises(RefereeCalled, match="mlp_course.scratch"):
        check("ch09-ex-from-numpy", by_scratch)


def test_from_numpy_forward_calling_the_referee_fails():
    class ByReferee(nn.Module):
        def __init__(self, params, activation):
            super().__init__()
            self.inner = mlp_from_params(params, activation)
            self.params, self.activation = params, activation

        def forward(self, x):
            return torch.from_numpy(ch09.numpy_forward(self.params, self.activation, x.numpy()))

    with pytest.raises(RefereeCalled, match="reference"):
        check("ch09-ex-from-numpy", ByReferee)


def test_from_numpy_referee_is_scratch_to_torch():
    """The NumPy referee computes what the course's converter and PyTorch compute."""
    from mlp_course import scratch

    for case in ch09.network_cases():
        net = scratch.mlp(list(case.sizes), activation=case.activation, dtype=np.float64,
                          rng=np.random.default_rng(0))
        for p, value in zip(net.parameters(), case.params):
            p.data[...] = value
        expected = scratch.to_torch(net)(torch.from_numpy(case.X)).detach().numpy()
        np.testing.assert_allclose(ch09.numpy_forward(case.params, case.activation, case.X), expected,
                                   rtol=1e-12, atol=1e-14)


def test_from_numpy_cases_are_deterministic_and_varied():
    first, second = ch09.network_cases(), ch09.network_cases()
    for a, b in zip(first, second):
        assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params)) and np.array_equal(a.X, b.X)
    depths = {len(c.sizes) for c in first}
    assert 2 in depths and len(depths) >= 3                     # no hidden layer, and several depths
    assert any(W.shape[0] == W.shape[1] for c in first for W in c.params[0::2])   # a square layer


# --------------------------------------------------------------------------
# ch09-ex-f1
# --------------------------------------------------------------------------


def precision_recall_f1(scores, y, threshold):
    """The reference answer."""
    predicted = scores >= threshold
    tp = np.sum(predicted & (y == 1))
    fp = np.sum(predicted & (y == 0))
    fn = np.sum(~predicted & (y == 1))
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def f1_stub(scores, y, threshold):
    raise NotImplementedError("replace this line with your code")


def test_f1_reference_passes(capsys):
    assert check("ch09-ex-f1", precision_recall_f1)
    assert capsys.readouterr().out == f"{TICK} precision_recall_f1 passes all 6 test cases.\n"


@pytest.mark.parametrize("stub", [f1_stub, None], ids=["raises", "None"])
def test_f1_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch09-ex-f1", stub))
    assert "precision_recall_f1 is not answered yet" in capsys.readouterr().out


def by_confusion_counts(scores, y, threshold):
    """A correct form: the confusion counts from bincount, F1 from the counts."""
    predicted = (scores >= threshold).astype(int)
    tn, fp, fn, tp = np.bincount(2 * np.asarray(y) + predicted, minlength=4)
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
    return float(precision), float(recall), float(f1)


def by_np_divide(scores, y, threshold):
    """A correct form: np.divide with `where`, so that 0/0 leaves the 0 of `out`."""
    predicted = scores >= threshold
    positive = y == 1
    tp = np.count_nonzero(predicted & positive)
    counts = np.array([tp, tp], dtype=float)
    totals = np.array([np.count_nonzero(predicted), np.count_nonzero(positive)], dtype=float)
    precision, recall = np.divide(counts, totals, out=np.zeros(2), where=totals > 0)
    total = precision + recall
    return precision, recall, np.divide(2 * precision * recall, total, out=np.zeros(()), where=total > 0)


@pytest.mark.parametrize("correct", [by_confusion_counts, by_np_divide], ids=["bincount", "np-divide"])
def test_f1_every_correct_form_passes(correct, capsys):
    assert check("ch09-ex-f1", correct)
    assert TICK in capsys.readouterr().out


def _nan_version(scores, y, threshold):
    predicted = scores >= threshold
    tp = np.sum(predicted & (y == 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / np.sum(predicted)
        recall = tp / np.sum(y == 1)
        return precision, recall, 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda s, y, t: precision_recall_f1(s, y, t)[1::-1] + precision_recall_f1(s, y, t)[2:], "swapped"),
    (lambda s, y, t: precision_recall_f1(np.where(s == t, s - 1, s), y, t), "exactly at the threshold"),
    (_nan_version, "0/0 gives NaN"),
    (lambda s, y, t: (*precision_recall_f1(s, y, t)[:2], sum(precision_recall_f1(s, y, t)[:2]) / 2),
     "harmonic mean"),
    (lambda s, y, t: precision_recall_f1(y.astype(float), y, t), "come from the labels"),
], ids=["swapped", "strict-threshold", "nan", "arithmetic-mean", "labels-as-scores"])
def test_f1_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch09-ex-f1", wrong)


def test_f1_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch09-ex-f1", lambda s, y, t: ch09.metrics_by_sklearn(s, y, t))


def test_f1_answer_using_scikit_learn_fails():
    from sklearn.metrics import f1_score, precision_score, recall_score

    def by_sklearn(scores, y, threshold):
        predicted = scores >= threshold
        return tuple(m(y, predicted, zero_division=0) for m in (precision_score, recall_score, f1_score))

    with pytest.raises(RefereeCalled, match="scikit-learn"):
        check("ch09-ex-f1", by_sklearn)


def test_f1_answer_using_torch_fails():
    def by_torch(scores, y, threshold):
        return precision_recall_f1(torch.from_numpy(scores).numpy(), y, threshold)

    with pytest.raises(RefereeCalled, match="torch"):
        check("ch09-ex-f1", by_torch)


def test_f1_cases_catch_each_mistake():
    """Every known mistake differs from the referee on at least one case, and the ties, the
    empty predictions and the missing positives are all there."""
    cases = ch09.metric_cases()
    for mistake, _ in ch09.METRIC_MISTAKES:
        assert any(not np.allclose(mistake(*args), ch09.metrics_by_sklearn(*args), equal_nan=False)
                   for args, _ in cases)
    assert any(np.any(args[0] == args[2]) for args, _ in cases)             # a score at the threshold
    assert any(np.all(args[0] < args[2]) for args, _ in cases)              # nothing predicted positive
    assert any(np.all(args[1] == 0) for args, _ in cases)                   # no positive example
