"""The checks of chapter 9's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee (or the library
that would do the work) fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import re

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


def _shares_memory(how):
    """mlp_from_params whose parameters view the NumPy arrays instead of copying them."""

    def build(params, activation):
        layers = []
        for l, (W, b) in enumerate(zip(params[0::2], params[1::2])):
            linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
            if how == "parameter":
                linear.weight = nn.Parameter(torch.from_numpy(W.T))
                linear.bias = nn.Parameter(torch.from_numpy(b))
            elif how == "data":
                linear.weight.data = torch.from_numpy(W.T)
                linear.bias.data = torch.from_numpy(b)
            else:                                   # torch.as_tensor, the bias only
                with torch.no_grad():
                    linear.weight.copy_(torch.from_numpy(W.T))
                linear.bias = nn.Parameter(torch.as_tensor(b))
            layers += [linear] + ([ACTIVATIONS[activation]()] if l < len(params) // 2 - 1 else [])
        return nn.Sequential(*layers)

    return build


def float32_then_double(params, activation):
    """float32 layers, the values copied in (rounded), then the model made float64."""
    return _with(dtype=torch.float32)(params, activation).double()


def float32_tensors_into_float64_layers(params, activation):
    """float64 layers, but the values copied from float32 tensors."""
    model = mlp_from_params(params, activation)
    with torch.no_grad():
        for linear, W, b in zip(model[0::2], params[0::2], params[1::2]):
            linear.weight.copy_(torch.tensor(W.T, dtype=torch.float32))
            linear.bias.copy_(torch.tensor(b, dtype=torch.float32))
    return model


class ParameterListMLP(nn.Module):
    """No nn.Linear: the parameters in an nn.ParameterList, interleaved (W1.T, b1, W2.T, ...) or
    in two lists (all weights, then all biases), and X @ W.T + b in forward."""

    def __init__(self, params, activation, interleaved):
        super().__init__()
        self.f = {"relu": torch.relu, "tanh": torch.tanh}[activation]
        tensors = [torch.tensor(p.T if p.ndim == 2 else p) for p in params]
        if interleaved:
            self.ps = nn.ParameterList(tensors)
        else:
            self.ps = nn.ParameterList(tensors[0::2] + tensors[1::2])
        self.interleaved = interleaved

    def forward(self, x):
        D = len(self.ps) // 2
        pairs = ([(self.ps[2 * l], self.ps[2 * l + 1]) for l in range(D)] if self.interleaved
                 else [(self.ps[l], self.ps[D + l]) for l in range(D)])
        for l, (W, b) in enumerate(pairs):
            x = x @ W.T + b
            if l < D - 1:
                x = self.f(x)
        return x


class ReversedRegistration(nn.Module):
    """nn.Linear layers registered last layer first (forward runs them in the right order)."""

    def __init__(self, params, activation):
        super().__init__()
        self.inner = list(mlp_from_params(params, activation))
        self.layers = nn.ModuleList(self.inner[::-1])
        del self.inner

    def forward(self, x):
        for layer in list(self.layers)[::-1]:
            x = layer(x)
        return x


def swaps_only_the_first_case(scores, y, threshold):
    """Precision and recall swapped on the five-example case only: the check names no mistake."""
    p, r, f = precision_recall_f1(scores, y, threshold)
    return (r, p, f) if len(scores) == 5 and y.sum() else (p, r, f)


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
    (_with(dtype=torch.float32), "dtype=torch.float64, or call .double\\(\\) on each layer before copying"),
    (float32_then_double, "rounded to float32"),
    (float32_tensors_into_float64_layers, "W1 rounded to float32"),
    (_shares_memory("parameter"), "weight of layer 1 shares its memory with the NumPy array W1"),
    (_shares_memory("data"), "shares its memory.*torch.from_numpy"),
    (_shares_memory("as_tensor"), "bias of layer 1 shares its memory with the NumPy array b1"),
    (lambda params, activation: ParameterListMLP(params, activation, interleaved=True),
     "holds no nn.Linear, expected 3: the exercise asks for one nn.Linear per layer"),
    (lambda params, activation: ParameterListMLP(params, activation, interleaved=False), "holds no nn.Linear"),
    (ReversedRegistration, "in the order one nn.Linear per layer registers them"),
    (_with(bias=False), "copy b into layer.bias"),
    (_with(plain_list=True), "plain Python list \\(layers\\)"),
    (_with(frozen=True), "does not require gradients"),
    (hard_coded, "a weight and a bias for each of the 4 layers.*Take the number of layers from len\\(params\\)"),
    (drops_the_last_layer, "Take the number of layers"),
    (_with(bias=False, no_bias=True), "bias=False"),
    (lambda params, activation: list(mlp_from_params(params, activation)), "A list of layers is not a module"),
    (lambda params, activation: None, "forget a `return`"),
], ids=["activation-last", "no-activation", "wrong-activation", "not-transposed", "square-not-transposed",
        "float32", "float32-then-double", "float32-tensors", "shares-parameter", "shares-data",
        "shares-as-tensor", "parameter-list", "two-parameter-lists", "reversed-registration", "bias-not-copied", "plain-list", "frozen", "hard-coded-depth", "last-layer-dropped",
        "no-bias-at-all", "list", "none"])
def test_from_numpy_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch09-ex-from-numpy", wrong)


def test_from_numpy_error_in_the_answer_is_the_learners():
    def raises(params, activation):
        return nn.Linear(params[0].shape[0], params[0].shape[1]).weight.copy_(torch.from_numpy(params[0]))

    with pytest.raises(RuntimeError):
        check("ch09-ex-from-numpy", raises)


def copy_without_no_grad(params, activation):
    linear = nn.Linear(*params[0].shape, dtype=torch.float64)
    linear.weight.copy_(torch.from_numpy(params[0].T))
    return linear


def copy_without_transpose(params, activation):
    linear = nn.Linear(*params[0].shape, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(params[0]))
    return linear


def plain_tensor_assigned(params, activation):
    linear = nn.Linear(*params[0].shape, dtype=torch.float64)
    linear.weight = torch.tensor(params[0].T)
    return linear


@pytest.mark.parametrize("wrong, error, fragment", [
    (copy_without_no_grad, RuntimeError, "inside `with torch.no_grad\\(\\):`"),
    (copy_without_transpose, RuntimeError, "the transpose of W: copy W.T"),
    (plain_tensor_assigned, TypeError, "Keep the layer's own nn.Parameter"),
], ids=["no-grad-missing", "copy-not-transposed", "plain-tensor"])
def test_from_numpy_pytorch_errors_get_a_hint(wrong, error, fragment):
    """PyTorch's own error is re-raised as the learner's; the note names the likely cause."""
    with pytest.raises(error) as raised:
        check("ch09-ex-from-numpy", wrong)
    notes = " ".join(getattr(raised.value, "__notes__", []))
    assert "your code raised this in Case 1 of 5" in notes
    assert re.search(fragment, notes), notes


def test_from_numpy_copies_leave_the_callers_arrays_alone():
    """The reason for the memory check: training a network that shares memory changes `params`."""
    params = [np.ones((2, 3)), np.zeros(3)]
    for build, changes in [(_shares_memory("parameter"), True), (mlp_from_params, False)]:
        given = [p.copy() for p in params]
        net = build(given, "relu")
        net(torch.ones(4, 2, dtype=torch.float64)).sum().backward()
        torch.optim.SGD(net.parameters(), lr=0.1).step()
        assert (not np.array_equal(given[0], params[0])) is changes


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


def with_tiny_epsilon(scores, y, threshold):
    """A correct form: an epsilon of 1e-12 in every denominator (within the check's tolerance)."""
    eps = 1e-12
    predicted = scores >= threshold
    tp = np.sum(predicted & (y == 1))
    precision = tp / (np.sum(predicted) + eps)
    recall = tp / (np.sum(y == 1) + eps)
    return precision, recall, 2 * precision * recall / (precision + recall + eps)


def as_python_floats_in_a_list(scores, y, threshold):
    """A correct form: a list of Python floats, from np.mean over masks."""
    flagged, positive = scores >= threshold, y == 1
    precision = float(np.mean(positive[flagged])) if flagged.any() else 0.0
    recall = float(np.mean(flagged[positive])) if positive.any() else 0.0
    return [precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0]


@pytest.mark.parametrize("correct", [by_confusion_counts, by_np_divide, with_tiny_epsilon,
                                     as_python_floats_in_a_list],
                         ids=["bincount", "np-divide", "epsilon-1e-12", "list-of-floats"])
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


def _zero_as(precision_zero, recall_zero):
    """0/0 defined as 1 for precision, recall or both (scikit-learn's zero_division=1)."""

    def answer(scores, y, threshold):
        predicted = scores >= threshold
        tp, fp, fn = (np.sum(predicted & (y == 1)), np.sum(predicted & (y == 0)),
                      np.sum(~predicted & (y == 1)))
        precision = tp / (tp + fp) if tp + fp > 0 else precision_zero
        recall = tp / (tp + fn) if tp + fn > 0 else recall_zero
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return precision, recall, f1

    return answer


def through_a_sigmoid(scores, y, threshold):
    return precision_recall_f1(1 / (1 + np.exp(-scores)), y, threshold)


def recall_over_tp_tn(scores, y, threshold):
    predicted = scores >= threshold
    tp, tn = np.sum(predicted & (y == 1)), np.sum(~predicted & (y == 0))
    precision = precision_recall_f1(scores, y, threshold)[0]
    recall = tp / (tp + tn) if tp + tn > 0 else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def epsilon_too_large(scores, y, threshold):
    eps = 1e-8
    predicted = scores >= threshold
    tp = np.sum(predicted & (y == 1))
    precision = tp / (np.sum(predicted) + eps)
    recall = tp / (np.sum(y == 1) + eps)
    return precision, recall, 2 * precision * recall / (precision + recall + eps)


def f1_unguarded(scores, y, threshold):
    precision, recall, _ = precision_recall_f1(scores, y, threshold)
    with np.errstate(invalid="ignore"):
        return precision, recall, np.float64(2 * precision * recall) / (precision + recall)


def nearest_sorted_point(scores, y, threshold):
    """The chapter's precision_recall_by_sorting, at the distinct score nearest the threshold."""
    order = np.argsort(-scores, kind="stable")
    s, labels = scores[order], y[order]
    tp, fp = np.cumsum(labels == 1), np.cumsum(labels == 0)
    last = np.r_[s[1:] != s[:-1], True]
    with np.errstate(invalid="ignore"):
        precisions, recalls = tp[last] / (tp[last] + fp[last]), tp[last] / tp[-1]
    k = np.argmin(np.abs(s[last] - threshold))
    p, r = precisions[k], recalls[k]
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda s, y, t: precision_recall_f1(s, y, t)[1::-1] + precision_recall_f1(s, y, t)[2:],
     "^Case 1 of 6 .*: Likely mistake: precision and recall are swapped"),
    (through_a_sigmoid, "Case 1 of 6 .*Likely mistake: the scores are run through a sigmoid"),
    (_zero_as(1.0, 1.0), "Case 3 of 6 .*Likely mistake: a 0/0 is defined as 1 .*zero_division=1"),
    (_zero_as(0.0, 1.0), "Case 4 of 6 .*Likely mistake: a 0/0 is defined as 1"),
    (_zero_as(1.0, 0.0), "Likely mistake: a 0/0 is defined as 1"),
    (recall_over_tp_tn, "Likely mistake: recall divides the true positives by TP \\+ TN"),
    (epsilon_too_large, "precision \\(result\\[0\\]\\) is 0.999999995, expected 1 .*an epsilon"),
    (f1_unguarded, "f1 \\(result\\[2\\]\\) is NaN, expected 0. NaN comes from 0/0"),
    (nearest_sorted_point, "TP = 0, FP = 0, FN = 20 and TN = 20: compare them with your counts"),
    (lambda s, y, t: np.array(precision_recall_f1(s, y, t)), "tuple of 3 values .*got ndarray"),
    (lambda s, y, t: precision_recall_f1(s, y, t)[2], "tuple of 3 values .*got float"),
    (lambda s, y, t: None, "forget a `return`"),
    (lambda s, y, t: precision_recall_f1(np.where(s == t, s - 1, s), y, t), "exactly at the threshold"),
    (_nan_version, "0/0 gives NaN"),
    (lambda s, y, t: (*precision_recall_f1(s, y, t)[:2], sum(precision_recall_f1(s, y, t)[:2]) / 2),
     "harmonic mean"),
    (lambda s, y, t: precision_recall_f1(y.astype(float), y, t), "come from the labels"),
], ids=["swapped", "sigmoid", "zero-as-one", "recall-zero-as-one", "precision-zero-as-one", "recall-over-tn",
        "epsilon-1e-8", "f1-unguarded", "nearest-sorted-point", "array", "f1-only", "none",
        "strict-threshold", "nan", "arithmetic-mean", "labels-as-scores"])
def test_f1_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment) as raised:
        check("ch09-ex-f1", wrong)
    assert "times the expected value" not in str(raised.value)   # no generic factor hint for a ratio


def test_f1_a_mistake_is_named_only_when_it_explains_every_case():
    """Swapped on the first case only: 'swapped' would explain that case, not the others."""
    with pytest.raises(AssertionError, match="^Case 1 of 6 .*precision \\(result\\[0\\]\\) is 0.666667, "
                                             "expected 1.*compare them with your counts") as raised:
        check("ch09-ex-f1", swaps_only_the_first_case)
    assert "Likely mistake" not in str(raised.value)


def test_f1_sigmoid_is_not_taken_for_swapped():
    with pytest.raises(AssertionError) as raised:
        check("ch09-ex-f1", through_a_sigmoid)
    assert "swapped" not in str(raised.value)


def test_f1_error_in_the_answer_is_the_learners():
    def python_and(scores, y, threshold):
        predicted = scores >= threshold
        return np.sum(predicted and (y == 1)), 0.0, 0.0

    with pytest.raises(ValueError, match="truth value") as raised:
        check("ch09-ex-f1", python_and)
    assert "your code raised this in Case 1 of 6" in " ".join(raised.value.__notes__)


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
    # In the first case, the mistakes all give different results: no hint is taken for another there.
    first = cases[0][0]
    results = [tuple(np.round(mistake(*first), 12)) for mistake, hint in ch09.METRIC_MISTAKES
               if "zero_division=1" not in hint and "0/0 gives NaN" not in hint]
    assert len(set(results)) == len(results)
    assert any(np.any(args[0] == args[2]) for args, _ in cases)             # a score at the threshold
    assert any(np.all(args[0] < args[2]) for args, _ in cases)              # nothing predicted positive
    assert any(np.all(args[1] == 0) for args, _ in cases)                   # no positive example
