"""The checks of chapter 11's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee, the checks' own
code, PyTorch or the course's library fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch11

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch11") == ["ch11-ex-init-scale", "ch11-ex-layer-stds"]
    assert get("ch11-ex-init-scale").answers == ("init_scale",)
    assert get("ch11-ex-layer-stds").answers == ("layer_stds",)


# --------------------------------------------------------------------------
# ch11-ex-init-scale
# --------------------------------------------------------------------------


def init_scale(weight_shape, gain, mode, distribution):
    """The reference answer."""
    d_out, d_in = weight_shape
    fan = {"fan_in": d_in, "fan_out": d_out, "fan_avg": (d_in + d_out) / 2}[mode]
    std = gain / math.sqrt(fan)
    return std if distribution == "normal" else math.sqrt(3) * std


def init_scale_stub(weight_shape, gain, mode, distribution):
    raise NotImplementedError("replace this line with your code")


def test_init_scale_reference_passes(capsys):
    assert check("ch11-ex-init-scale", init_scale)
    assert capsys.readouterr().out == f"{TICK} init_scale passes all 9 test cases.\n"


def test_init_scale_stub_is_not_answered_yet(capsys):
    assert is_false(check("ch11-ex-init-scale", init_scale_stub))
    assert "init_scale is not answered yet" in capsys.readouterr().out


def _by_variance(weight_shape, gain, mode, distribution):
    """Through the variance, as the chapter's table gives it, then s or rho from it."""
    fan_out, fan_in = weight_shape
    variance = {"fan_in": gain ** 2 / fan_in, "fan_out": gain ** 2 / fan_out,
                "fan_avg": 2 * gain ** 2 / (fan_in + fan_out)}[mode]
    return np.sqrt(variance) if distribution == "normal" else np.sqrt(3 * variance)


def _with_ifs(weight_shape, gain, mode, distribution):
    """Branch by branch, with the formulas of He and Glorot written out."""
    fan_in, fan_out = weight_shape[1], weight_shape[0]
    if mode == "fan_avg":
        if distribution == "uniform":
            return gain * math.sqrt(6 / (fan_in + fan_out))
        return gain * math.sqrt(2 / (fan_in + fan_out))
    fan = fan_in if mode == "fan_in" else fan_out
    return gain * math.sqrt(3 / fan) if distribution == "uniform" else gain * fan ** -0.5


def _float32(weight_shape, gain, mode, distribution):
    """In float32: about 3e-8 off, which the check accepts."""
    return np.float32(init_scale(weight_shape, gain, mode, distribution))


def _last_and_first_axis(weight_shape, gain, mode, distribution):
    """The fan-in read as the last axis (as PyTorch does for any weight), numbers as numpy floats."""
    fans = {"fan_in": weight_shape[-1], "fan_out": weight_shape[0],
            "fan_avg": np.mean([weight_shape[-1], weight_shape[0]])}
    return gain * np.sqrt((3.0 if distribution == "uniform" else 1.0) / fans[mode])


@pytest.mark.parametrize("correct", [_by_variance, _with_ifs, _float32, _last_and_first_axis],
                         ids=["through-the-variance", "formulas-written-out", "float32", "axes-by-index"])
def test_init_scale_every_correct_form_passes(correct, capsys):
    assert check("ch11-ex-init-scale", correct)
    assert TICK in capsys.readouterr().out


def _fan_avg_floor_division(weight_shape, gain, mode, distribution):
    """Glorot's mean fan by integer division: right when d_in + d_out is even, wrong when it is odd."""
    d_out, d_in = weight_shape
    fan = {"fan_in": d_in, "fan_out": d_out, "fan_avg": (d_in + d_out) // 2}[mode]
    std = gain / math.sqrt(fan)
    return std if distribution == "normal" else math.sqrt(3) * std


def _mean_of_the_variances(weight_shape, gain, mode, distribution):
    """For fan_avg, the mean of the fan-in and the fan-out variances instead of the mean fan."""
    d_out, d_in = weight_shape
    variance = {"fan_in": gain ** 2 / d_in, "fan_out": gain ** 2 / d_out,
                "fan_avg": (gain ** 2 / d_in + gain ** 2 / d_out) / 2}[mode]
    return math.sqrt(variance) if distribution == "normal" else math.sqrt(3 * variance)


INIT_SCALE_WRONG = [
    (lambda s, g, m, d: init_scale(tuple(reversed(s)), g, m, d), "fan-in and the fan-out are swapped"),
    (lambda s, g, m, d: init_scale(s, g, {"fan_in": "fan_out", "fan_out": "fan_in"}.get(m, m), d),
     "fan-in and the fan-out are swapped"),
    (lambda s, g, m, d: init_scale(s, g, "fan_in", d), "does not follow mode"),
    (lambda s, g, m, d: init_scale(s, g, m, d) ** 2, "this is the variance"),
    (lambda s, g, m, d: init_scale(s, 1.0, m, d), "the gain is missing"),
    (lambda s, g, m, d: init_scale(s, math.sqrt(g), m, d), "enters the variance squared"),
    (lambda s, g, m, d: init_scale(s, g, m, "uniform"), "this is the bound"),
    (lambda s, g, m, d: init_scale(s, g, m, "normal"), "rho = sqrt\\(3\\) \\* s, not s"),
    (lambda s, g, m, d: init_scale(s, g, m, d) * (math.sqrt(2) if d == "uniform" else 1.0),
     "uses 6 where it needs 3"),
    (lambda s, g, m, d: init_scale(s, g, m, d) / (math.sqrt(2) if m == "fan_avg" else 1.0),
     "not their sum"),
    (lambda s, g, m, d: init_scale(s, g * math.sqrt(2), m, d), "the gain already carries ReLU's factor"),
    (_fan_avg_floor_division, "integer division, \\(d_in \\+ d_out\\) // 2, rounds it down"),
    (_mean_of_the_variances, "averages the two fans, not the two variances"),
]
INIT_SCALE_WRONG_IDS = ["layout-swapped", "modes-swapped", "mode-ignored", "variance", "no-gain",
                        "gain-not-squared", "bound-for-normal", "std-for-uniform", "six-for-three",
                        "fan-sum", "relu-factor-on-the-gain", "fan-avg-floor-division",
                        "mean-of-the-variances"]


@pytest.mark.parametrize("wrong, fragment", INIT_SCALE_WRONG, ids=INIT_SCALE_WRONG_IDS)
def test_init_scale_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch11-ex-init-scale", wrong)


@pytest.mark.parametrize("wrong, fragment", INIT_SCALE_WRONG, ids=INIT_SCALE_WRONG_IDS)
def test_init_scale_named_mistakes_get_no_generic_factor_hint(wrong, fragment):
    """No named mistake is off by a whole factor on the case it fails first, so its message does
    not also say "look for a missing or extra constant factor", which would point elsewhere."""
    with pytest.raises(AssertionError) as failure:
        check("ch11-ex-init-scale", wrong)
    assert "times the expected value" not in str(failure.value)


def test_init_scale_floor_division_is_right_on_even_sums_only():
    """(d_in + d_out) // 2 agrees with the mean on every fan_avg case but one: that case catches it."""
    wrong_on = [case for case in ch11.INIT_SCALE_CASES
                if not math.isclose(_fan_avg_floor_division(*case), init_scale(*case), rel_tol=1e-9)]
    assert [case[0] for case in wrong_on] == [(5, 10)]


def test_init_scale_wrong_without_a_known_mistake_still_fails():
    with pytest.raises(AssertionError, match="Case 1 of 9"):
        check("ch11-ex-init-scale", lambda s, g, m, d: 0.01)


def test_init_scale_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch11-ex-init-scale", lambda s, g, m, d: ch11._init_scale_by_torch(s, g, m, d))


@pytest.mark.parametrize("answer", [
    lambda s, g, m, d: ch11._init_scale_by_torch.__wrapped__(s, g, m, d),
    lambda s, g, m, d: ch11._scale(g, ch11._fan(s, m), d),
], ids=["referee-wrapped", "private-helper"])
def test_init_scale_answer_calling_the_checks_code_fails(answer):
    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch11"):
        check("ch11-ex-init-scale", answer)


def test_init_scale_answer_using_pytorch_fails():
    """Reading the fans with PyTorch's own helper would do the exercise: an answer may not."""
    import torch

    def by_torch(weight_shape, gain, mode, distribution):
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*weight_shape))
        return init_scale((fan_out, fan_in), gain, mode, distribution)

    with pytest.raises(RefereeCalled, match="torch"):
        check("ch11-ex-init-scale", by_torch)


@pytest.mark.parametrize("case", ch11.INIT_SCALE_CASES, ids=lambda case: f"{case}")
def test_init_scale_referee_is_what_pytorch_draws(case):
    """The referee equals the documented formulas, and a large draw has that spread."""
    import torch

    expected = init_scale(*case)
    assert math.isclose(ch11._init_scale_by_torch(*case), expected, rel_tol=1e-12)
    (d_out, d_in), gain, mode, distribution = case
    w = torch.empty(4 * d_out, 4 * d_in, dtype=torch.float64)      # a larger layer: a tighter estimate
    g = torch.Generator().manual_seed(1)
    if mode == "fan_avg":
        fill = torch.nn.init.xavier_normal_ if distribution == "normal" else torch.nn.init.xavier_uniform_
        fill(w, gain=gain, generator=g)
    else:
        fill = torch.nn.init.kaiming_normal_ if distribution == "normal" else torch.nn.init.kaiming_uniform_
        fill(w, mode=mode, nonlinearity="linear", generator=g)
        w *= gain
    scale = init_scale((4 * d_out, 4 * d_in), gain, mode, distribution)
    std = scale if distribution == "normal" else scale / math.sqrt(3)
    kurtosis = 3.0 if distribution == "normal" else 1.8
    tolerance = 5 * math.sqrt((kurtosis - 1) / w.numel())           # five standard errors of the variance
    assert abs(float(w.var(correction=0)) / std ** 2 - 1) < tolerance
    if distribution == "uniform":
        assert float(w.abs().max()) <= scale


# --------------------------------------------------------------------------
# ch11-ex-layer-stds
# --------------------------------------------------------------------------


def layer_stds(X, weights, biases, f):
    """The reference answer."""
    stds = []
    A = X
    for W, b in zip(weights, biases):
        A = f(A @ W + b)
        stds.append(A.std())
    return np.array(stds)


def layer_stds_stub(X, weights, biases, f):
    raise NotImplementedError("replace this line with your code")


def test_layer_stds_reference_passes(capsys):
    assert check("ch11-ex-layer-stds", layer_stds)
    assert capsys.readouterr().out == f"{TICK} layer_stds passes all 6 test cases.\n"


def test_layer_stds_stub_is_not_answered_yet(capsys):
    assert is_false(check("ch11-ex-layer-stds", layer_stds_stub))
    assert "layer_stds is not answered yet" in capsys.readouterr().out


def _list_of_floats(X, weights, biases, f):
    A, out = X, []
    for l in range(len(weights)):
        A = f(A @ weights[l] + biases[l])
        out.append(float(np.std(A)))
    return out


def _by_the_definition(X, weights, biases, f):
    A, out = X, []
    for W, b in zip(weights, biases):
        A = f(np.dot(A, W) + b)
        out.append(np.sqrt(np.mean((A - A.mean()) ** 2)))
    return np.array(out)


def _square_root_of_var(X, weights, biases, f):
    A, out = X, []
    for W, b in zip(weights, biases):
        A = f(A @ W + b)
        out.append(np.sqrt(A.var()))
    return np.array(out)


def _in_float32(X, weights, biases, f):
    """In float32, as the chapter computes its deep stacks: about 1e-7 off, which the check accepts."""
    A, out = X.astype(np.float32), []
    for W, b in zip(weights, biases):
        A = f(A @ W.astype(np.float32) + b.astype(np.float32))
        out.append(A.std(dtype=np.float64))
    return np.array(out)


@pytest.mark.parametrize("correct", [_list_of_floats, _by_the_definition, _square_root_of_var, _in_float32],
                         ids=["list-of-floats", "definition", "sqrt-of-var", "float32"])
def test_layer_stds_every_correct_form_passes(correct, capsys):
    assert check("ch11-ex-layer-stds", correct)
    assert TICK in capsys.readouterr().out


def test_layer_stds_does_not_change_the_arrays_passed_in_for_the_next_case():
    """An answer that works in place (A += b) still passes: each case gets fresh copies."""
    def in_place(X, weights, biases, f):
        A, out = X, []
        for W, b in zip(weights, biases):
            Z = A @ W
            Z += b
            A = f(Z)
            out.append(A.std())
        return np.array(out)

    assert check("ch11-ex-layer-stds", in_place)


def _std_of(kind):
    def answer(X, weights, biases, f):
        A, out = X, []
        for l, (W, b) in enumerate(zip(weights, biases)):
            Z = A @ W + (0 if kind == "no-bias" else b)
            A = Z if (kind == "last-linear" and l == len(weights) - 1) else f(Z)
            if kind == "shifted":       # the std taken before the layer: X, A^[1], ..., A^[D-1]
                out.append((X if l == 0 else previous).std())
                previous = A
                continue
            value = {"ddof": lambda: A.std(ddof=1), "axis0": lambda: A.std(axis=0).mean(),
                     "axis1": lambda: A.std(axis=1).mean(), "Z": lambda: Z.std(),
                     "rms": lambda: np.sqrt(np.mean(A ** 2)), "var": lambda: A.var()}.get(kind, A.std)()
            out.append(value)
        return np.array(([X.std()] if kind == "with-input" else []) + out)
    return answer


@pytest.mark.parametrize("kind, fragment", [
    ("ddof", "ddof=1"),
    ("axis0", "not one per unit \\(axis=0\\)"),
    ("axis1", "not one per example \\(axis=1\\)"),
    ("Z", "pre-activations Z"),
    ("no-bias", "biases are missing"),
    ("with-input", "standard deviation of the input X"),
    ("last-linear", "the last one included, is followed by f"),
    ("shifted", "shifted by one layer"),
    ("rms", "root mean square"),
    ("var", "these are variances"),
])
def test_layer_stds_mistakes_are_named(kind, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch11-ex-layer-stds", _std_of(kind))


def test_layer_stds_hard_coded_size_fails():
    def three_layers(X, weights, biases, f):
        return layer_stds(X, weights[:3], biases[:3], f)

    with pytest.raises(AssertionError, match="wrong shape"):
        check("ch11-ex-layer-stds", three_layers)


def test_layer_stds_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch11-ex-layer-stds", lambda X, W, b, f: ch11._layer_stds_reference(X, W, b, f))


def test_layer_stds_answer_calling_the_checks_helpers_fails():
    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch11"):
        check("ch11-ex-layer-stds", lambda X, W, b, f: np.array([A.std() for _, A in ch11._forward(X, W, b, f)]))


def test_layer_stds_answer_using_pytorch_fails():
    import torch

    def by_torch(X, weights, biases, f):
        A, out = torch.from_numpy(X), []
        for W, b in zip(weights, biases):
            A = torch.from_numpy(f((A @ torch.from_numpy(W) + torch.from_numpy(b)).numpy()))
            out.append(float(A.std(correction=0)))
        return np.array(out)

    with pytest.raises(RefereeCalled, match="torch"):
        check("ch11-ex-layer-stds", by_torch)


def test_layer_stds_cases_catch_ddof_and_every_mistake_on_the_first_case():
    """The first case tells the correct answer from every mistake (each differs by > 1e-4)."""
    (args, expected), *_ = ch11.layer_stds_cases()
    for mistake, _ in ch11.LAYER_STDS_MISTAKES:
        wrong = np.asarray(mistake(*args))
        assert wrong.shape != expected.shape or np.max(np.abs(wrong - expected)) > 1e-4, mistake.__name__


@pytest.mark.parametrize("mistake", [m for m, _ in ch11.INIT_SCALE_MISTAKES], ids=lambda m: m.__name__)
def test_init_scale_every_mistake_is_wrong_on_some_case(mistake):
    """Each mistake of the list gives a wrong value on at least one case (so it can be named)."""
    assert any(not math.isclose(mistake(*case), init_scale(*case), rel_tol=1e-6)
               for case in ch11.INIT_SCALE_CASES)
