"""The checks of chapter 10's exercises: the reference answers pass, the untouched stubs are
"not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee (or the toolkit that
would do the work) fails. The broken runs of the diagnosis exercise really show their failures,
and the layer types do not give them away.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.modules import module as torch_module

from mlp_course import diagnostics, scratch
from mlp_course.diagnostics import Monitor
from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch10

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch10") == ["ch10-ex-dead-share", "ch10-ex-diagnose", "ch10-ex-hooks"]
    assert get("ch10-ex-dead-share").points == 2
    assert get("ch10-ex-hooks").points == 3
    assert get("ch10-ex-diagnose").points == 2


# --------------------------------------------------------------------------
# ch10-ex-dead-share
# --------------------------------------------------------------------------


def dead_unit_share(batches):
    """The reference answer: stack the batches, a unit is dead when its column is all 0."""
    A = np.concatenate(batches, axis=0)
    return float(np.mean(np.all(A == 0, axis=0)))


def dead_share_stub(batches):
    raise NotImplementedError("replace this line with your code")


def test_dead_share_reference_passes(capsys):
    assert check("ch10-ex-dead-share", dead_unit_share)
    assert capsys.readouterr().out == f"{TICK} dead_unit_share passes all 7 test cases.\n"


@pytest.mark.parametrize("stub", [dead_share_stub, None], ids=["raises", "None"])
def test_dead_share_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch10-ex-dead-share", stub))
    assert "dead_unit_share is not answered yet" in capsys.readouterr().out


def _running_mask(batches):
    zero_so_far = None
    for batch in batches:
        silent = np.all(batch == 0, axis=0)
        zero_so_far = silent if zero_so_far is None else zero_so_far & silent
    return zero_so_far.mean()


def _max_over_batches(batches):
    largest = np.max([b.max(axis=0) for b in batches], axis=0)
    return np.sum(largest == 0) / largest.size


def _pure_python(batches):
    d = len(batches[0][0])
    alive = [False] * d
    for batch in batches:
        for row in batch:
            for k in range(d):
                if row[k] != 0:
                    alive[k] = True
    return alive.count(False) / d


@pytest.mark.parametrize("correct", [
    _running_mask,                                                                # a running AND mask
    _max_over_batches,                                                            # max over examples == 0
    _pure_python,                                                                 # loops, no NumPy
    lambda batches: np.mean(np.all(np.concatenate(batches) <= 0, axis=0)),        # <= 0 is the same here
    lambda batches: np.mean(np.sum(np.concatenate(batches) > 0, axis=0) == 0),    # no positive output
    lambda batches: np.array(np.mean(~np.any(np.vstack(batches), axis=0))),       # a 0-d array
    lambda batches: np.count_nonzero(np.all(np.concatenate(batches) == 0, 0)) / batches[0].shape[1],
    lambda batches: np.mean(sum(np.count_nonzero(b, axis=0) for b in batches) == 0),
    lambda batches: float(np.mean(np.concatenate(batches).astype(np.float32).sum(axis=0) == 0)),
], ids=["running-mask", "max", "pure-python", "le-zero", "no-positive", "0-d-array", "count-over-width",
        "count-nonzero", "float32-sum"])
def test_dead_share_every_correct_form_passes(correct, capsys):
    assert check("ch10-ex-dead-share", correct)
    assert TICK in capsys.readouterr().out


def _stacked(batches):
    return np.concatenate(batches, axis=0)


def _or_mask(batches):
    dead = np.zeros(batches[0].shape[1], dtype=bool)
    for b in batches:
        dead |= np.all(b == 0, axis=0)
    return float(dead.mean())


def _loop_overwrites(batches):
    for b in batches:
        dead = np.all(b == 0, axis=0)
    return float(dead.mean())


def _integer_division(batches):
    dead = np.all(_stacked(batches) == 0, axis=0)
    return dead.sum() // len(dead)


def _most_batches(batches):
    per = np.array([np.all(b == 0, axis=0) for b in batches])
    return float(np.mean(per.mean(axis=0) > 0.5))


def _weighted_per_batch(batches):
    n = sum(len(b) for b in batches)
    return float(sum(len(b) * np.mean(np.all(b == 0, axis=0)) for b in batches) / n)


DEAD_MISTAKES = [
    (lambda b: float(np.mean([np.mean(np.all(x == 0, axis=0)) for x in b])), "averaged over the batches"),
    (_weighted_per_batch, "weighted by their sizes"),
    (lambda b: float(np.mean(_stacked(b) == 0)), "share of entries that are 0, not of units"),
    (lambda b: float((np.vstack(b) <= 0).sum() / np.vstack(b).size), "share of entries that are 0, not of units"),
    (lambda b: float(np.mean(np.any(_stacked(b) == 0, axis=0))), "at least one example (np.any"),
    (lambda b: float(np.mean(_stacked(b).min(axis=0) == 0)), "at least one example (np.any"),
    (lambda b: float(np.mean(np.all(_stacked(b) == 0, axis=1))), "wrong axis"),
    (lambda b: float(np.mean(np.all(_stacked(b) < 0, axis=0))), "the test is `< 0`"),
    (lambda b: float(np.mean(np.all(np.isclose(_stacked(b), 0), axis=0))), "tiny positive outputs"),
    (lambda b: float(np.mean(np.all(_stacked(b) < 1e-6, axis=0))), "tiny positive outputs"),
    (lambda b: float(np.mean(_stacked(b).mean(axis=0) < 1e-3)), "small on average"),
    (lambda b: 1 - float(np.mean(np.all(_stacked(b) == 0, axis=0))), "share of units that are alive"),
    (lambda b: int(np.sum(np.all(_stacked(b) == 0, axis=0))), "number of dead units"),
    (lambda b: 100 * float(np.mean(np.all(_stacked(b) == 0, axis=0))), "percentage"),
    (_integer_division, "integer division"),
    (_or_mask, "combined with OR"),
    (_most_batches, "silent on most batches"),
    (_loop_overwrites, "only the last batch"),
    (lambda b: float(np.mean(np.all(b[0] == 0, axis=0))), "only the first batch"),
    (lambda b: float(np.mean(np.all(np.concatenate(b[:-1]) == 0, axis=0))), "the last batch is left out"),
]


@pytest.mark.parametrize("wrong, fragment", DEAD_MISTAKES,
                         ids=["per-batch", "per-batch-weighted", "per-entry", "per-entry-le", "any", "min",
                              "axis-1", "lt-zero", "isclose", "threshold", "mean-small", "alive", "count",
                              "percent", "integer-division", "or-mask", "most-batches", "last-batch",
                              "first-batch", "drops-last"])
def test_dead_share_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=re.escape(fragment)) as raised:
        check("ch10-ex-dead-share", wrong)
    assert "times the expected value" not in str(raised.value)         # no generic factor beside the hint


def test_dead_share_each_mistake_fails_a_case_and_each_hint_is_unambiguous():
    cases = [args for args, _ in ch10.dead_share_cases()]
    truth = [ch10.dead_share_by_stacking(*args) for args in cases]
    values = [[mistake(*args) for args in cases] for mistake, _ in ch10.DEAD_SHARE_MISTAKES]
    for (_, hint), got in zip(ch10.DEAD_SHARE_MISTAKES, values):
        assert not np.allclose(got, truth), hint
    for i, (_, hint_i) in enumerate(ch10.DEAD_SHARE_MISTAKES):
        for j, (_, hint_j) in enumerate(ch10.DEAD_SHARE_MISTAKES[:i]):
            if hint_i != hint_j:                   # two mistakes with different hints never agree on every case
                assert not np.allclose(values[i], values[j]), (hint_i, hint_j)


def test_dead_share_unknown_mistake_gets_the_definition():
    with pytest.raises(AssertionError, match=r"Case 1 .*your share is 0.5, expected 0.333333\. A unit \(a column\)"):
        check("ch10-ex-dead-share", lambda batches: 0.5)
    with pytest.raises(AssertionError, match="A share lies between 0 and 1"):
        check("ch10-ex-dead-share", lambda batches: 3 * dead_unit_share(batches) + 1)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda batches: np.all(_stacked(batches) == 0, axis=0), "the mask"),
    (lambda batches: None, "forget a `return`"),
    (lambda batches: "a third", "expected a float"),
], ids=["mask", "none", "string"])
def test_dead_share_results_that_are_no_share_are_explained(wrong, fragment):
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        check("ch10-ex-dead-share", wrong)


def test_dead_share_cases_are_deterministic_and_varied():
    first, second = ch10.dead_share_cases(), ch10.dead_share_cases()
    for (a, _), (b, _) in zip(first, second):
        assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0]))
    dtypes = {batch.dtype for (batches,), _ in first for batch in batches}
    assert dtypes == {np.dtype(np.float32), np.dtype(np.float64)}
    sizes = [[len(b) for b in batches] for (batches,), _ in first]
    assert any(len(set(s)) > 1 for s in sizes)                       # unequal batches
    shares = [ch10.dead_share_by_stacking(*args) for args, _ in first]
    assert 0.0 in shares and 1.0 in shares and any(0 < s < 1 for s in shares)


def test_dead_share_error_in_the_answer_is_the_learners():
    def broken(batches):
        return batches.shape                                          # a list has no shape

    with pytest.raises(AttributeError, match="shape"):
        check("ch10-ex-dead-share", broken)

    with pytest.raises(ValueError):                                   # batches of unequal size: the learner's error
        check("ch10-ex-dead-share", lambda batches: float(np.mean(np.all(np.stack(batches) == 0, axis=(0, 1)))))


def test_dead_share_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="dead_share_by_stacking"):
        check("ch10-ex-dead-share", lambda batches: ch10.dead_share_by_stacking(batches))
    with pytest.raises(RefereeCalled, match="dead_share_by_stacking"):
        check("ch10-ex-dead-share", ch10.dead_share_by_stacking)


def test_dead_share_answer_using_the_toolkit_fails():
    from mlp_course.diagnostics.activations import dead_mask

    with pytest.raises(RefereeCalled, match="dead_mask"):
        check("ch10-ex-dead-share", lambda batches: float(np.mean(dead_mask(np.concatenate(batches)))))


def test_dead_share_answer_using_torch_fails():
    def with_torch(batches):
        A = torch.from_numpy(np.concatenate(batches))
        return float((A == 0).all(dim=0).double().mean())

    with pytest.raises(RefereeCalled, match="torch"):
        check("ch10-ex-dead-share", with_torch)


# --------------------------------------------------------------------------
# ch10-ex-hooks
# --------------------------------------------------------------------------

ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh)


def record_mean_std(model, X):
    """The reference answer: one hook per activation layer, found with named_modules (nested
    Sequentials included), the name as a default argument, the hooks removed in a finally."""
    stats, handles = {}, []
    for path, layer in model.named_modules():
        if isinstance(layer, ACTIVATION_TYPES):
            name = f"{path} {type(layer).__name__}"

            def hook(module, inputs, output, name=name):
                stats[name] = (output.mean().item(), output.std(correction=0).item())

            handles.append(layer.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(X)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def hooks_stub(model, X):
    raise NotImplementedError("replace this line with your code")


def test_hooks_reference_passes(capsys):
    assert check("ch10-ex-hooks", record_mean_std)
    assert capsys.readouterr().out == f"{TICK} record_mean_std passes all 6 test cases.\n"


@pytest.mark.parametrize("stub", [hooks_stub, None], ids=["raises", "None"])
def test_hooks_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch10-ex-hooks", stub))
    assert "record_mean_std is not answered yet" in capsys.readouterr().out


def _keep_outputs_then_summarise(model, X):
    """Correct: the hooks keep the outputs; the statistics come after, in NumPy."""
    outputs, handles = {}, []
    for name, layer in model.named_modules():
        if isinstance(layer, ACTIVATION_TYPES):
            key = f"{name} {type(layer).__name__}"
            handles.append(layer.register_forward_hook(
                lambda module, inputs, output, key=key: outputs.__setitem__(key, output.detach().numpy())))
    with torch.no_grad():
        model(X)
    for handle in handles:
        handle.remove()
    return {key: (a.mean(), a.std()) for key, a in outputs.items()}


def _factory_and_inference_mode(model, X):
    """Correct: a function that makes each hook; torch.inference_mode; unbiased=False; a list pair."""
    stats = {}

    def make_hook(key):
        def hook(module, inputs, output):
            stats[key] = [torch.mean(output), torch.std(output, unbiased=False)]
        return hook

    handles = [layer.register_forward_hook(make_hook(f"{path} {type(layer).__name__}"))
               for path, layer in model.named_modules() if isinstance(layer, ACTIVATION_TYPES)]
    with torch.inference_mode():
        model(X)
    for handle in handles:
        handle.remove()
    return stats


def _mode_saved_and_restored(model, X):
    """Correct: switches to evaluation mode, but puts the mode back; the modes of every module."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    stats = {}
    hooks = []
    for path, layer in model.named_modules():
        if isinstance(layer, ACTIVATION_TYPES):
            hooks.append(layer.register_forward_hook(
                lambda m, inp, out, k=f"{path} {type(layer).__name__}": stats.update(
                    {k: (out.mean().item(), out.var(correction=0).sqrt().item())})))
    with torch.no_grad():
        model(X)
    for h in hooks:
        h.remove()
    for m, mode in modes.items():
        m.train(mode)
    return stats


def _recursive_children(model, X):
    """Correct: walks named_children recursively, builds the dotted names itself; std_mean;
    a hook that returns its output (harmless); @torch.no_grad() as a decorator."""
    stats, handles = {}, []

    def visit(module, prefix):
        for key, child in module.named_children():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(child, nn.Sequential):
                visit(child, path)
            elif type(child) in ACTIVATION_TYPES:
                def hook(m, i, o, name=f"{path} {type(child).__name__}"):
                    std, mean = torch.std_mean(o, correction=0)
                    stats[name] = (mean.item(), std.item())
                    return o
                handles.append(child.register_forward_hook(hook))

    @torch.no_grad()
    def run():
        model(X)

    visit(model, "")
    run()
    for handle in handles:
        handle.remove()
    return stats


@pytest.mark.parametrize("correct", [_keep_outputs_then_summarise, _factory_and_inference_mode,
                                     _mode_saved_and_restored, _recursive_children],
                         ids=["numpy-after", "factory", "mode-restored", "recursive"])
def test_hooks_every_correct_form_passes(correct, capsys):
    assert check("ch10-ex-hooks", correct)
    assert TICK in capsys.readouterr().out


def _with(**mistake):
    """record_mean_std with one mistake."""
    def answer(model, X):
        stats, handles = {}, []
        layers = enumerate(model.modules()) if mistake.get("modules") else (
            enumerate(model) if mistake.get("flat") else model.named_modules())
        types = mistake.get("types", ACTIVATION_TYPES)
        for index, layer in layers:
            wanted = types + ((nn.Linear,) if mistake.get("linear") else ())
            if not isinstance(layer, wanted):
                continue
            kind = type(layer).__name__.lower() if mistake.get("lower") else type(layer).__name__
            key = int(index) if mistake.get("int_keys") else (
                str(index) if mistake.get("str_keys") else f"{index} {kind}")

            def hook(module, inputs, output, key=key):
                a = inputs[0] if mistake.get("inputs") else output
                a = a.float() if mistake.get("float32") else a
                std = a.std() if mistake.get("ddof1") else a.std(correction=0)
                if mistake.get("per_unit"):
                    std = a.std(dim=0, correction=0).mean()
                pair = (a.mean().item(), std.item())
                stats[key if not mistake.get("late") else late_key[0]] = pair[::-1] if mistake.get("swap") else pair

            if mistake.get("pre"):
                handles.append(layer.register_forward_pre_hook(
                    lambda module, inputs, key=key: stats.__setitem__(
                        key, (inputs[0].mean().item(), inputs[0].std(correction=0).item()))))
            else:
                handles.append(layer.register_forward_hook(hook))
            late_key = [key]
        if mistake.get("eval"):
            model.eval()
        if mistake.get("grad"):
            model(X)
        else:
            with torch.no_grad():
                model(X)
        if mistake.get("keep_last"):
            handles = handles[:-1]
        if not mistake.get("keep_hooks"):
            for handle in handles:
                handle.remove()
        return stats
    return answer


@pytest.mark.parametrize("wrong, fragment", [
    (_with(keep_hooks=True), "hooks are still registered"),
    (_with(keep_last=True), "hooks are still registered on 3"),
    (_with(inputs=True), "INPUT"),
    (_with(pre=True), "INPUT"),
    (_with(ddof1=True), "Bessel"),
    (_with(per_unit=True), "per unit"),
    (_with(swap=True), r"\(std, mean\)"),
    (_with(grad=True), "torch.no_grad"),
    (_with(eval=True), "evaluation mode"),
    (_with(linear=True), "Only the activation layers"),
    (_with(int_keys=True), "names like '1 ReLU'"),
    (_with(str_keys=True), "names like '1 ReLU'"),
    (_with(lower=True), "with its capitals"),
    (_with(modules=True), "one too high"),
    (_with(late=True), "loop variable"),
    (_with(types=(nn.ReLU,)), "No layer was recorded: which types"),
    (_with(types=(nn.ReLU, nn.Sigmoid, nn.Tanh)), re.escape("Missing: '3 LeakyReLU'. Does your test accept "
                                                           "every activation type (nn.LeakyReLU here)")),
    (_with(flat=True), "Missing: '0.1 ReLU', '1.1 Tanh', inside a nested Sequential"),
    (_with(float32=True), "float32"),
], ids=["hooks-left", "last-hook-left", "inputs", "pre-hook", "ddof1", "per-unit", "swap", "no-no-grad",
        "mode", "linear", "int-keys", "str-keys", "lower-case", "modules-off-by-one", "late-binding",
        "only-relu", "no-leaky", "flat-enumerate", "float32"])
def test_hooks_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch10-ex-hooks", wrong)


def test_hooks_float32_message_shows_the_digits_that_differ():
    with pytest.raises(AssertionError) as raised:
        check("ch10-ex-hooks", _with(float32=True))
    message = str(raised.value)
    got, expected = re.search(r"is \(([^)]*)\), expected \(([^)]*)\)", message).groups()
    assert got != expected and "relative differences" in message


def test_hooks_without_a_forward_pass_fails():
    def by_hand(model, X):
        return {}

    with pytest.raises(AssertionError, match="no forward pass"):
        check("ch10-ex-hooks", by_hand)


def test_hooks_without_any_hook_fails():
    def layer_by_layer(model, X):
        stats = {}
        with torch.no_grad():
            x = X
            for i, layer in enumerate(model):
                x = layer(x)
                if isinstance(layer, ACTIVATION_TYPES):
                    stats[f"{i} {type(layer).__name__}"] = (x.mean().item(), x.std(correction=0).item())
        return stats

    with pytest.raises(AssertionError, match="must come from forward hooks"):
        check("ch10-ex-hooks", layer_by_layer)


def test_hooks_a_global_hook_left_behind_fails_and_is_removed():
    before = len(torch_module._global_forward_hooks)

    def global_hook(model, X):
        stats = {}
        names = {id(m): f"{p} {type(m).__name__}" for p, m in model.named_modules()
                 if isinstance(m, ACTIVATION_TYPES)}

        def hook(m, i, o):
            if id(m) in names:
                stats[names[id(m)]] = (o.mean().item(), o.std(correction=0).item())

        torch_module.register_module_forward_hook(hook)
        with torch.no_grad():
            model(X)
        return stats

    with pytest.raises(AssertionError, match="global forward hook was still registered"):
        check("ch10-ex-hooks", global_hook)
    assert len(torch_module._global_forward_hooks) == before


def test_hooks_a_global_hook_removed_again_passes(capsys):
    def global_hook_removed(model, X):
        stats = {}
        names = {id(m): f"{p} {type(m).__name__}" for p, m in model.named_modules()
                 if isinstance(m, ACTIVATION_TYPES)}

        def hook(m, i, o):
            if id(m) in names:
                stats[names[id(m)]] = (o.mean().item(), o.std(correction=0).item())

        handle = torch_module.register_module_forward_hook(hook)
        try:
            with torch.no_grad():
                model(X)
        finally:
            handle.remove()
        return stats

    assert check("ch10-ex-hooks", global_hook_removed)
    assert TICK in capsys.readouterr().out


def test_hooks_returning_none_fails():
    def forgot_return(model, X):
        handles = [m.register_forward_hook(lambda *a: None) for m in model.modules()
                   if isinstance(m, ACTIVATION_TYPES)]
        with torch.no_grad():
            model(X)
        for h in handles:
            h.remove()

    with pytest.raises(AssertionError, match="return"):
        check("ch10-ex-hooks", forgot_return)


def test_hooks_per_unit_mean_is_explained():
    def per_unit_mean(model, X):
        stats, handles = {}, []
        for path, layer in model.named_modules():
            if isinstance(layer, ACTIVATION_TYPES):
                def hook(m, i, o, name=f"{path} {type(layer).__name__}"):
                    stats[name] = (o.mean(dim=0), o.std(correction=0))
                handles.append(layer.register_forward_hook(hook))
        with torch.no_grad():
            model(X)
        for h in handles:
            h.remove()
        return stats

    with pytest.raises(AssertionError, match="should be one number, got a tensor of shape"):
        check("ch10-ex-hooks", per_unit_mean)


def test_hooks_changing_the_parameters_fails():
    def trains(model, X):
        stats = record_mean_std(model, X)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        return stats

    with pytest.raises(AssertionError, match="changed the model's parameters"):
        check("ch10-ex-hooks", trains)


def test_hooks_error_in_the_answer_is_the_learners():
    def broken(model, X):
        return model.layers                                            # nn.Sequential has no .layers

    with pytest.raises(AttributeError, match="layers"):
        check("ch10-ex-hooks", broken)


def test_hooks_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="stats_layer_by_layer"):
        check("ch10-ex-hooks", lambda model, X: ch10.stats_layer_by_layer(model, X))


def test_hooks_answer_using_the_toolkit_fails():
    def by_toolkit(model, X):
        table = diagnostics.activation_stats(model, X)
        return {name: (row["mean"], row["std"]) for name, row in table.iterrows()}

    with pytest.raises(RefereeCalled, match="activation_stats|mlp_course.diagnostics"):
        check("ch10-ex-hooks", by_toolkit)


def test_hooks_the_toolkit_itself_as_the_answer_fails():
    with pytest.raises(RefereeCalled, match="mlp_course.diagnostics"):
        check("ch10-ex-hooks", diagnostics.activation_stats)


def test_hooks_cases_are_varied():
    cases = ch10.hook_cases()
    kinds = {type(m).__name__ for case in cases for m in case.build().modules()}
    assert {"ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Dropout", "Linear"} <= kinds
    assert any(isinstance(m, nn.Sequential) for case in cases for m in list(case.build().modules())[1:])
    assert {case.training for case in cases} == {True, False}
    assert any(ch10.stats_layer_by_layer(case.build(), case.inputs()) == {} for case in cases)
    for case in cases:                                 # the referee agrees with the toolkit, names included
        want = ch10.stats_layer_by_layer(case.build(), case.inputs())
        assert list(want) == diagnostics.layer_names(case.build())
        if want:                                       # (dropout is only in a case in evaluation mode)
            table = diagnostics.activation_stats(case.build(), case.inputs())
            np.testing.assert_allclose(table[["mean", "std"]].to_numpy(), np.array(list(want.values())),
                                       rtol=1e-12)


# --------------------------------------------------------------------------
# ch10-ex-diagnose
# --------------------------------------------------------------------------

RIGHT = {"A": "lr too small", "B": "dead relu", "C": "exploding", "D": "vanishing"}


def test_diagnose_reference_passes(capsys):
    assert check("ch10-ex-diagnose", RIGHT)
    assert capsys.readouterr().out == f"{TICK} diagnosis: all four runs are labelled right.\n"


def test_diagnose_stub_is_not_answered_yet(capsys):
    assert is_false(check("ch10-ex-diagnose", None))
    assert "diagnosis is not answered yet" in capsys.readouterr().out
    assert is_false(check("ch10-ex-diagnose", {"A": "lr too small", "B": None, "C": None, "D": None}))
    assert "give run B a label" in capsys.readouterr().out


@pytest.mark.parametrize("spelling", [
    {"a": "learning_rate_too_small", "b": "Dead ReLUs", "c": "EXPLODING", "d": "Vanishing gradients"},
    {"A": "small lr", "B": "dead", "C": "exploding gradients", "D": "vanishing-gradient"},
    {"A": "lr-too-low", "B": " dying ReLU ", "C": "gradients explode", "D": "gradients vanish"},
    {"A": "too low learning rate", "B": "dead neurons", "C": "exploding activations",
     "D": "vanishing gradient problem"},
    {"A": "learning rate is too small", "B": "dead relu units", "C": "exploding gradient", "D": "vanishing"},
], ids=["mixed-case", "short", "hyphens", "phrases", "sentences"])
def test_diagnose_every_spelling_passes(spelling, capsys):
    assert check("ch10-ex-diagnose", spelling)
    assert TICK in capsys.readouterr().out


@pytest.mark.parametrize("wrong, fragments", [
    ({**RIGHT, "B": "vanishing", "D": "dead relu"},
     ["2 of 4", "Run B", "exactly 0, per unit and per entry", "Run D", "from the output back to the input"]),
    ({**RIGHT, "A": "exploding", "C": "lr too small"},
     ["Run A", "update-to-data ratios", "Run C", "std column"]),
    ({**RIGHT, "A": "vanishing", "D": "lr too small"}, ["Run A", "beside the gradient norms", "Run D",
                                                        "size of the weights"]),
    ({**RIGHT, "C": "dead relu", "B": "exploding"}, ["Run B", "exactly 0", "Run C", "run.train"]),
], ids=["dead-vanishing", "small-exploding", "small-vanishing", "dead-exploding"])
def test_diagnose_wrong_labels_get_the_diagnostic_that_tells(wrong, fragments):
    with pytest.raises(AssertionError) as raised:
        check("ch10-ex-diagnose", wrong)
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message
    assert "exactly one run" not in message


def test_diagnose_a_label_used_twice_is_pointed_out():
    with pytest.raises(AssertionError, match="3 of 4 runs are labelled right. Each of the four ways occurs in "
                                             "exactly one run"):
        check("ch10-ex-diagnose", {**RIGHT, "A": "vanishing"})


def test_diagnose_hints_name_no_label():
    for hint in ch10._HINTS.values():
        for spellings in ch10.LABELS.values():
            for spelling in spellings:
                assert not re.search(rf"\b{re.escape(spelling)}\b", hint.lower()), (spelling, hint)
        assert "healthy" not in hint and "too small" not in hint and "too large" not in hint


@pytest.mark.parametrize("wrong, fragment", [
    ({**RIGHT, "A": "overfitting"}, "use one of"),
    ({"A": "lr too small", "B": "dead relu", "C": "exploding"}, "one entry per run"),
    ([("A", "lr too small")], "should be a dict"),
    ({**RIGHT, "A": 3}, "use one of"),
], ids=["unknown-label", "missing-run", "not-a-dict", "not-a-string"])
def test_diagnose_malformed_answers_are_explained(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch10-ex-diagnose", wrong)


def test_broken_runs_are_deterministic_and_fresh():
    first, second = ch10.broken_runs(), ch10.broken_runs()
    assert list(first) == ["A", "B", "C", "D"]
    losses = first["A"].train(5)
    for name in first:
        for p, q in zip(first[name].model.parameters(), second[name].model.parameters()):
            if name != "A":
                assert np.array_equal(p.data, q.data)
    np.testing.assert_array_equal(losses, second["A"].train(5))
    third = ch10.broken_runs()                                     # a new call: the runs start afresh
    for p, q in zip(third["A"].model.parameters(), ch10.broken_runs()["A"].model.parameters()):
        assert np.array_equal(p.data, q.data)


def test_broken_runs_have_the_same_layers_and_hide_their_settings():
    """The layer types tell nothing: every run is the same ReLU network; the learning rate is not
    an attribute of the run, and no docstring a learner reads maps a run to its failure."""
    runs = ch10.broken_runs()
    layouts = {name: [type(m).__name__ for m in run.model] for name, run in runs.items()}
    assert len({tuple(layout) for layout in layouts.values()}) == 1
    assert set(layouts["A"]) == {"Linear", "ReLU"}
    shapes = {name: [p.data.shape for p in run.model.parameters()] for name, run in runs.items()}
    assert len({tuple(s) for s in shapes.values()}) == 1
    for run in runs.values():
        assert not [key for key in vars(run) if "optim" in key and not key.startswith("_")]
        assert "lr" not in repr(run)
    texts = [ch10.__doc__, ch10.BrokenRun.__doc__, ch10.broken_runs.__doc__, ch10.diagnosis_check.__doc__]
    for text in texts:
        for label in ch10.LABELS:
            for run in "ABCD":
                assert not re.search(rf"\b{run}\b[^.]*\b{label}", text or ""), (run, label)
        assert "sigmoid" not in (text or "").lower() and "tanh" not in (text or "").lower()


def test_broken_runs_show_their_failures():
    """Each run shows the failure its label names, in the diagnostics the hints point to."""
    runs = ch10.broken_runs()
    truth = dict(ch10._TRUTH)
    assert sorted(truth.values()) == sorted(ch10.LABELS)
    for name, run in runs.items():
        stats = diagnostics.activation_stats(run.model, run.X)
        run.backward()
        norms = np.array(list(diagnostics.layer_grad_norms(run.model).values()))
        weight_std = np.array([layer.weight.data.std() for layer in run.model if isinstance(layer, scratch.Linear)])
        monitor = Monitor(run.model)
        losses = run.train(20, monitor)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = np.array([np.nanmedian(r) for r in monitor.update_to_data.values()])
        label = truth[name]
        if label == "dead relu":
            assert np.all(stats["dead"].to_numpy()[1:] > 0.9) and np.all(norms == 0) and len(losses) == 20
        elif label == "lr too small":
            assert np.all(stats["dead"] < 0.1) and np.all(stats["std"] > 0.5)
            assert norms.max() / norms.min() < 20 and np.all(ratios < 1e-6) and len(losses) == 20
            assert np.all(np.abs(np.log(weight_std[1:-1] / np.sqrt(2 / 32))) < 0.1)    # He's scale
        elif label == "vanishing":
            assert np.all(stats["dead"] == 0) and norms[0] / norms[-1] < 1e-3
            assert np.all(np.diff(np.log(norms[:-1])) > np.log(4))       # x4 or more per hidden layer
            assert ratios[-1] > 1e-3 and ratios[0] < 1e-5 and len(losses) == 20
            assert np.all(weight_std[:-1] < 0.05)
        else:
            assert np.all(np.diff(stats["std"].to_numpy()) > 0) and stats["std"].iloc[-1] > 100
            assert not np.isfinite(losses[-1]) and len(losses) < 20


def test_broken_run_train_rejects_bad_steps_and_runs_quietly(recwarn):
    run = ch10.broken_runs()["C"]
    with pytest.raises(ValueError, match="positive integer"):
        run.train(0)
    run.train(20, Monitor(run.model))                               # the exploding run: no NumPy warning
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert "10-32-32-32-32-32-32-1" in repr(run)


def test_a_scratch_network_of_the_runs_converts_to_torch():
    """The runs are scratch networks; the chapter's toolkit gives the same numbers for their PyTorch copies."""
    run = ch10.broken_runs()["D"]
    twin = scratch.to_torch(run.model)
    ours = diagnostics.activation_stats(run.model, run.X)
    theirs = diagnostics.activation_stats(twin, run.X)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-10, equal_nan=True)
