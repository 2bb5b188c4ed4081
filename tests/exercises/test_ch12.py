"""The checks of chapter 12's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee (or the library that
would do the work) fails.

The reference answers and the wrong answers are written here, not taken from the notebook or
from the checks' own helpers (an answer may not call those).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch12

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch12") == ["ch12-ex-adam", "ch12-ex-warmup-cosine"]
    assert get("ch12-ex-adam").points == 3 and get("ch12-ex-warmup-cosine").points == 2


# --------------------------------------------------------------------------
# ch12-ex-adam
# --------------------------------------------------------------------------


def adam_step(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled=False, amsgrad=False):
    """The reference answer."""
    beta1, beta2 = betas
    if decoupled:
        theta = (1 - lr * weight_decay) * theta
    else:
        g = g + weight_decay * theta
    zeros = np.zeros_like(theta)
    t = state.get("step", 0) + 1
    exp_avg = beta1 * state.get("exp_avg", zeros) + (1 - beta1) * g
    exp_avg_sq = beta2 * state.get("exp_avg_sq", zeros) + (1 - beta2) * g**2
    new_state = {"step": t, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    s = exp_avg_sq
    if amsgrad:
        s = new_state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", zeros), exp_avg_sq)
    v_hat = exp_avg / (1 - beta1**t)
    s_hat = s / (1 - beta2**t)
    return theta - lr * v_hat / (np.sqrt(s_hat) + eps), new_state


def adam_stub(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled=False, amsgrad=False):
    raise NotImplementedError("replace this line with your code")


def test_adam_reference_passes(capsys):
    assert check("ch12-ex-adam", adam_step)
    assert capsys.readouterr().out == f"{TICK} adam_step passes all 7 test cases, 54 steps in all.\n"


@pytest.mark.parametrize("stub", [adam_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_adam_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch12-ex-adam", stub))
    assert "adam_step is not answered yet" in capsys.readouterr().out


def wrong_adam(**mistake):
    """An answer with one mistake, written independently of the checks' own variants."""

    @np.errstate(all="ignore")
    def answer(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               decoupled=False, amsgrad=False):
        beta1, beta2 = betas[::-1] if mistake.get("swap") else betas
        if mistake.get("default_decay") and decoupled and weight_decay == 0:
            weight_decay = 0.01                  # the chapter's adamw default, kept for 0
        l2 = (not decoupled) if "l2" not in mistake else mistake["l2"]
        g_plain = g
        if l2 or mistake.get("both"):
            g = g + weight_decay * theta
        if (not l2 or (mistake.get("both") and decoupled)) and not mistake.get("decay_after"):
            theta = theta * (1 - (weight_decay if mistake.get("no_lr") else lr * weight_decay))
        t = 1 if mistake.get("frozen") else state.get("step", 0) + 1
        tc = t - 1 if mistake.get("t0") else t
        g2 = g_plain if mistake.get("l2_in_m_only") else g
        m = beta1 * state.get("exp_avg", 0 * theta) + (1 - beta1) * g
        v = beta2 * state.get("exp_avg_sq", 0 * theta) + (1 - beta2) * (g2 if mistake.get("g") else g2 * g2)
        m_hat = m if mistake.get("no_v") else m / (1 - beta1**tc)
        v_hat = v if mistake.get("no_s") else v / (1 - beta2**tc)
        new = {"step": t, "exp_avg": m_hat if mistake.get("corrected") else m,
               "exp_avg_sq": v_hat if mistake.get("corrected") else v}
        v_raw = v
        if amsgrad and not mistake.get("ams_off"):
            if mistake.get("ams_hat"):
                v_hat = new["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", 0 * theta), v_hat)
            elif mistake.get("ams_in_exp_avg_sq"):      # one array for the mean and the maximum
                v_raw = np.maximum(v, state.get("exp_avg_sq", 0 * theta))
                new["exp_avg_sq"] = new["max_exp_avg_sq"] = v_raw
                v_hat = v_raw / (1 - beta2**tc)
            else:
                v_raw = new["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", 0 * theta), v)
                v_hat = v_raw if mistake.get("ams_uncorrected") else v_raw / (1 - beta2**tc)
        if mistake.get("kingma"):                      # Kingma and Ba's alpha_t, eps not rescaled
            alpha_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            theta = theta - alpha_t * m / (np.sqrt(v_raw) + eps)
        else:
            denominator = np.sqrt(v_hat + eps) if mistake.get("eps_inside") else np.sqrt(v_hat) + eps
            theta = theta - lr * m_hat / denominator
        if not l2 and mistake.get("decay_after"):
            theta = theta * (1 - lr * weight_decay)
        return theta, new

    return answer


@pytest.mark.parametrize("mistake, fragment", [
    (dict(t0=True), "uses t = 0 at the first step"),
    (dict(no_v=True, no_s=True), "there is no bias correction"),
    (dict(no_v=True), "the first moment is not bias-corrected"),
    (dict(no_s=True), "the second moment is not bias-corrected"),
    (dict(eps_inside=True), "epsilon is inside the square root"),
    (dict(frozen=True), "the step counter does not grow"),
    (dict(swap=True), "beta1 and beta2 are swapped"),
    (dict(g=True), "averages the gradients, not their squares"),
    (dict(corrected=True), "the state holds the bias-corrected averages"),
    (dict(l2=True), "with decoupled=True the decay goes into the gradient"),
    (dict(l2=False), "with decoupled=False the decay shrinks theta directly"),
    (dict(no_lr=True), "multiplies theta by 1 - weight_decay"),
    (dict(decay_after=True), "the decoupled decay is applied after Adam's step"),
    (dict(ams_off=True), "amsgrad=True changes nothing"),
    (dict(ams_hat=True), "the maximum is taken over the bias-corrected s_hat"),
    (dict(ams_uncorrected=True), "the running maximum is not bias-corrected: divide max_exp_avg_sq"),
    (dict(ams_in_exp_avg_sq=True), "exp_avg_sq holds the running maximum. Keep both"),
    (dict(kingma=True), "Kingma and Ba's 'efficient' order"),
    (dict(l2_in_m_only=True), "the L2 term reaches only the running mean of the gradients"),
    (dict(both=True), "with decoupled=True the decay is applied twice"),
    (dict(default_decay=True), "with decoupled=True and weight_decay=0 your answer still decays theta"),
], ids=lambda value: "-".join(value) if isinstance(value, dict) else None)
def test_adam_plausible_mistakes_are_named(mistake, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch12-ex-adam", wrong_adam(**mistake))


def test_adam_message_says_which_case_and_step():
    with pytest.raises(AssertionError, match=r"Case 3 of 7 \(AdamW .*\), step 1: .*Likely mistake"):
        check("ch12-ex-adam", wrong_adam(l2=True))


def test_adam_the_default_decay_is_caught_on_the_case_without_decay():
    with pytest.raises(AssertionError, match=r"Case 7 of 7 \(AdamW with weight_decay=0"):
        check("ch12-ex-adam", wrong_adam(default_decay=True))


def chapter_adam(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False, amsgrad=False):
    """The chapter's adam and adamw merged, with their state keys t, v, s, and amsgrad forgotten."""
    beta1, beta2 = betas
    if decoupled:
        theta = (1 - lr * weight_decay) * theta
    else:
        g = g + weight_decay * theta
    t = state["t"] = state.get("t", 0) + 1
    state["v"] = beta1 * state.get("v", 0.0) + (1 - beta1) * g
    state["s"] = beta2 * state.get("s", 0.0) + (1 - beta2) * g**2
    v_hat, s_hat = state["v"] / (1 - beta1**t), state["s"] / (1 - beta2**t)
    return theta - lr * v_hat / (np.sqrt(s_hat) + eps), state


def test_adam_the_chapters_keys_get_the_keys_message_alone():
    with pytest.raises(AssertionError) as raised:
        check("ch12-ex-adam", chapter_adam)
    message = str(raised.value)
    assert "Case 1 of 7" in message and "amsgrad=False" in message
    assert "new_state has no key 'step', 'exp_avg', 'exp_avg_sq' (it has ['s', 't', 'v'])" in message
    assert "the chapter's v" in message and "Likely mistake" not in message and "amsgrad=True" not in message


def test_adam_the_bias_correction_note_only_where_it_fits():
    with pytest.raises(AssertionError) as raised:                  # swapped betas: no note
        check("ch12-ex-adam", wrong_adam(swap=True))
    assert "beta1 and beta2 are swapped" in str(raised.value)
    assert "before the bias correction" not in str(raised.value)
    with pytest.raises(AssertionError) as raised:                  # corrected averages stored: the note
        check("ch12-ex-adam", wrong_adam(corrected=True))
    assert "It is PyTorch's value divided by 1 - beta**t" in str(raised.value)
    with pytest.raises(AssertionError) as raised:                  # the maximum over exp_avg_sq: no note
        check("ch12-ex-adam", wrong_adam(ams_in_exp_avg_sq=True))
    assert "before the bias correction" not in str(raised.value)


def test_adam_no_row_or_column_pattern_for_an_entrywise_step():
    with pytest.raises(AssertionError) as raised:
        check("ch12-ex-adam", wrong_adam(both=True))
    assert "Case 3 of 7" in str(raised.value) and "column(s)" not in str(raised.value)
    assert "row(s)" not in str(raised.value)


def adam_theta_only(theta, g, state, **options):
    return adam_step(theta, g, state, **options)[0]


def adam_other_keys(theta, g, state, **options):
    new_theta, new_state = adam_step(theta, g, {"step": state.get("t", 0), "exp_avg": state.get("v", 0.0),
                                                "exp_avg_sq": state.get("s", 0.0)}, **options)
    return new_theta, {"t": new_state["step"], "v": new_state["exp_avg"], "s": new_state["exp_avg_sq"]}


def adam_without_max_key(theta, g, state, **options):
    new_theta, new_state = adam_step(theta, g, state, **options)
    new_state.pop("max_exp_avg_sq", None)
    state_keeps = dict(new_state)
    return new_theta, state_keeps


@pytest.mark.parametrize("answer, fragment", [
    (adam_theta_only, "should return the pair"),
    (adam_other_keys, "new_state has no key 'step', 'exp_avg', 'exp_avg_sq'"),
    (adam_without_max_key, "no key 'max_exp_avg_sq'"),
    (lambda theta, g, state, **o: None, "returned None"),
])
def test_adam_malformed_results_are_explained(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch12-ex-adam", answer)


def adam_in_place(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                  decoupled=False, amsgrad=False):
    """A correct form: PyTorch's own order of operations, updating the state dict and theta in place."""
    beta1, beta2 = betas
    if not state:
        state.update(step=0, exp_avg=np.zeros_like(theta), exp_avg_sq=np.zeros_like(theta))
        if amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(theta)
    if decoupled:
        theta *= 1 - lr * weight_decay
    elif weight_decay:
        g = g + weight_decay * theta
    state["step"] += 1
    t = state["step"]
    state["exp_avg"] *= beta1
    state["exp_avg"] += (1 - beta1) * g
    state["exp_avg_sq"] *= beta2
    state["exp_avg_sq"] += (1 - beta2) * g * g
    s = state["exp_avg_sq"]
    if amsgrad:
        np.maximum(state["max_exp_avg_sq"], s, out=state["max_exp_avg_sq"])
        s = state["max_exp_avg_sq"]
    denominator = np.sqrt(s) / math.sqrt(1 - beta2**t) + eps
    theta -= (lr / (1 - beta1**t)) * state["exp_avg"] / denominator
    return theta, state


def adam_with_extras(theta, g, state, **options):
    """A correct form: a float step count and an extra key of its own in the state."""
    new_theta, new_state = adam_step(theta, g, {k: v for k, v in state.items() if k != "note"}, **options)
    new_state["step"] = float(new_state["step"])
    new_state["note"] = "mine"
    return list(new_theta.ravel()) if new_theta.ndim == 1 else new_theta, new_state


def adam_loop_form(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   decoupled=False, amsgrad=False):
    """A correct form: the decoupled step written as in the paper, theta - lr * (update + lambda * theta)."""
    beta1, beta2 = betas
    grad = g if decoupled else g + weight_decay * theta
    t = state.get("step", 0) + 1
    v = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * grad
    s = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * grad**2
    new_state = {"step": t, "exp_avg": v, "exp_avg_sq": s}
    if amsgrad:
        new_state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", 0.0), s)
        s = new_state["max_exp_avg_sq"]
    update = (v / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps)
    decay = weight_decay * theta if decoupled else 0.0
    return theta - lr * (update + decay), new_state


def adam_max_from_first_average(theta, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                                decoupled=False, amsgrad=False):
    """A correct form: the running maximum starts at the first average s_1 rather than at 0 (the
    same, as s_1 >= 0), the state kept as float steps, np.fmax for the maximum."""
    beta1, beta2 = betas
    theta = theta - lr * weight_decay * theta if decoupled else theta
    grad = g if decoupled else g + weight_decay * theta
    t = state.get("step", 0.0) + 1.0
    v = beta1 * state.get("exp_avg", np.zeros_like(theta)) + (1 - beta1) * grad
    s = beta2 * state.get("exp_avg_sq", np.zeros_like(theta)) + (1 - beta2) * np.square(grad)
    new_state = dict(step=t, exp_avg=v, exp_avg_sq=s)
    if amsgrad:
        s = new_state["max_exp_avg_sq"] = np.fmax(state.get("max_exp_avg_sq", s), s)
    return theta - lr * (v / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps), new_state


@pytest.mark.parametrize("correct", [adam_in_place, adam_with_extras, adam_loop_form, adam_max_from_first_average],
                         ids=["in-place-torch-order", "extras-and-a-list", "paper-form", "max-from-s1"])
def test_adam_every_correct_form_passes(correct, capsys):
    assert check("ch12-ex-adam", correct)
    assert TICK in capsys.readouterr().out


def test_adam_calling_the_referee_fails():
    def cheat(theta, g, state, **options):
        case = ch12.AdamCase("mine", np.asarray(theta), (g,), options)
        return ch12.adam_by_torch(case)[0][0], {}

    with pytest.raises(RefereeCalled, match="adam_by_torch"):
        check("ch12-ex-adam", cheat)


def test_adam_with_torch_or_the_library_fails():
    import torch

    def with_torch(theta, g, state, **options):
        p = torch.tensor(theta, requires_grad=True)
        p.grad = torch.tensor(g)
        optimizer = torch.optim.Adam([p], lr=options["lr"])
        optimizer.step()
        return p.detach().numpy(), state

    def with_scratch(theta, g, state, **options):
        from mlp_course import scratch

        p = scratch.Parameter(np.array(theta))
        p.grad[...] = g
        scratch.Adam([p], lr=options["lr"]).step()
        return p.data, state

    for answer in (with_torch, with_scratch):
        with pytest.raises(RefereeCalled, match="your answer calls"):
            check("ch12-ex-adam", answer)
    with pytest.raises(RefereeCalled, match="the course's own code"):
        check("ch12-ex-adam", ch12.adam_variant)


def test_adam_an_error_of_the_answer_is_reraised_as_its_own():
    def broken(theta, g, state, **options):
        return theta - options["lr"] * state["exp_avg"], state     # KeyError on the first call

    with pytest.raises(KeyError):
        check("ch12-ex-adam", broken)


# --------------------------------------------------------------------------
# ch12-ex-warmup-cosine
# --------------------------------------------------------------------------


def warmup_cosine_lr(t, lr_max, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    """The reference answer."""
    if t < warmup_steps:
        return lr_max * (start_factor + (1 - start_factor) * t / warmup_steps)
    progress = (t - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + 0.5 * (lr_max - eta_min) * (1 + math.cos(math.pi * progress))


def warmup_stub(t, lr_max, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    raise NotImplementedError("replace this line with your code")


def test_warmup_reference_passes(capsys):
    assert check("ch12-ex-warmup-cosine", warmup_cosine_lr)
    assert capsys.readouterr().out == f"{TICK} warmup_cosine_lr passes all 5 schedules, 108 steps in all.\n"


@pytest.mark.parametrize("stub", [warmup_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_warmup_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch12-ex-warmup-cosine", stub))
    assert "warmup_cosine_lr is not answered yet" in capsys.readouterr().out


def wrong_schedule(warmup=None, progress=None, tail=None):
    """An answer with the warm-up, the cosine's progress or its last line replaced."""

    def answer(t, lr_max, w, T, f=0.1, eta_min=0.0):
        if t < w:
            return warmup(t, lr_max, w, f) if warmup else lr_max * (f + (1 - f) * t / w)
        x = progress(t, w, T) if progress else (t - w) / (T - w)
        cosine = 0.5 * (1 + math.cos(math.pi * x))
        return tail(lr_max, eta_min, cosine) if tail else eta_min + (lr_max - eta_min) * cosine

    return answer


@pytest.mark.parametrize("answer, fragment", [
    (wrong_schedule(progress=lambda t, w, T: t / T), "the cosine runs over all total_steps steps, from t = 0"),
    (wrong_schedule(progress=lambda t, w, T: (t - w) / T), "the cosine spans total_steps steps"),
    (wrong_schedule(progress=lambda t, w, T: t / (T - w)), "the cosine is not shifted by the warm-up"),
    (wrong_schedule(tail=lambda lr_max, eta_min, c: lr_max * c), "eta_min is ignored"),
    (wrong_schedule(tail=lambda lr_max, eta_min, c: eta_min + lr_max * c), "eta_min is added to the whole cosine"),
    (wrong_schedule(warmup=lambda t, lr_max, w, f: lr_max * (f + (1 - f) * t / (w - 1))),
     "off by one at the switch: the warm-up reaches lr_max at t = warmup_steps - 1"),
    (wrong_schedule(warmup=lambda t, lr_max, w, f: lr_max * (f + (1 - f) * (t + 1) / w)),
     "off by one at the switch: the warm-up counts from 1"),
    (wrong_schedule(progress=lambda t, w, T: (t - w + 1) / (T - w)),
     "off by one at the switch: the cosine starts decaying one step early"),
    (wrong_schedule(progress=lambda t, w, T: (t - w - 1) / (T - w)),
     "off by one at the switch: the cosine starts one step late"),
    (wrong_schedule(progress=lambda t, w, T: (t - w) / (T - w + 1)), "spans total_steps - warmup_steps \\+ 1"),
    (wrong_schedule(warmup=lambda t, lr_max, w, f: lr_max * t / w), "the warm-up starts from 0"),
    (wrong_schedule(warmup=lambda t, lr_max, w, f: lr_max * (f + t / w)), "which overshoots 1"),
    (wrong_schedule(warmup=lambda t, lr_max, w, f: f + (1 - f) * t / w), "multiply it by lr_max"),
], ids=lambda value: None)
def test_warmup_plausible_mistakes_are_named(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch12-ex-warmup-cosine", answer)


def test_warmup_message_shows_the_step_and_the_curve():
    with pytest.raises(AssertionError, match=r"Schedule 1 of 5 .*At t = 6 \(in the cosine\).*Your values at t = 0"):
        check("ch12-ex-warmup-cosine", wrong_schedule(tail=lambda lr_max, eta_min, c: lr_max * c))


@pytest.mark.parametrize("answer, fragment", [
    (lambda t, lr_max, w, T, f=0.1, eta_min=0.0: "0.1", "should return one number"),
    (lambda t, lr_max, w, T, f=0.1, eta_min=0.0: [lr_max, lr_max], "should return one number"),
    (lambda t, lr_max, w, T, f=0.1, eta_min=0.0: None, "returned None"),
])
def test_warmup_malformed_results_are_explained(answer, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch12-ex-warmup-cosine", answer)


def warmup_numpy(t, lr_max, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    """A correct form: NumPy, the phases chosen with np.where (a 0-d array comes back)."""
    warm = lr_max * (start_factor + (1 - start_factor) * np.minimum(t, warmup_steps) / warmup_steps)
    cosine = eta_min + (lr_max - eta_min) * (1 + np.cos(np.pi * (t - warmup_steps) / (total_steps - warmup_steps))) / 2
    return np.where(t < warmup_steps, warm, cosine)


def warmup_recursive(t, lr_max, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    """A correct form: LinearLR's closed form with min(t, w), and the cosine as eta_min plus half its span."""
    if t <= warmup_steps:
        return lr_max * (start_factor + (1 - start_factor) * min(t, warmup_steps) / warmup_steps)
    span = lr_max - eta_min
    return eta_min + span / 2 + span / 2 * math.cos(math.pi * (t - warmup_steps) / (total_steps - warmup_steps))


@pytest.mark.parametrize("correct", [warmup_numpy, warmup_recursive], ids=["numpy-where", "min-form"])
def test_warmup_every_correct_form_passes(correct, capsys):
    assert check("ch12-ex-warmup-cosine", correct)
    assert TICK in capsys.readouterr().out


def test_warmup_calling_the_referee_or_a_scheduler_fails():
    def cheat(t, lr_max, w, T, f=0.1, eta_min=0.0):
        return float(ch12.warmup_cosine_by_torch(lr_max, w, T, f, eta_min)[t])

    with pytest.raises(RefereeCalled, match="warmup_cosine_by_torch"):
        check("ch12-ex-warmup-cosine", cheat)

    def with_the_package(t, lr_max, w, T, f=0.1, eta_min=0.0):
        from mlp_course import scratch
        from mlp_course.scratch import lr_scheduler

        optimizer = scratch.SGD([scratch.Parameter(np.zeros(1))], lr=lr_max)
        scheduler = lr_scheduler.SequentialLR(optimizer, [
            lr_scheduler.LinearLR(optimizer, start_factor=f, total_iters=w),
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=T - w, eta_min=eta_min)], milestones=[w])
        for _ in range(t):
            optimizer.step()
            scheduler.step()
        return scheduler.get_last_lr()[0]

    with pytest.raises(RefereeCalled, match="your answer calls"):
        check("ch12-ex-warmup-cosine", with_the_package)


def test_warmup_an_error_of_the_answer_is_reraised_as_its_own():
    def broken(t, lr_max, w, T, f=0.1, eta_min=0.0):
        return lr_max * (f + (1 - f) * t / (w - 1)) if t < w else lr_max    # w = 1 in schedule 4

    with pytest.raises((AssertionError, ZeroDivisionError)):
        check("ch12-ex-warmup-cosine", broken)
