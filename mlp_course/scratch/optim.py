"""Optimisers with the update rules of ``torch.optim`` (same arguments, same
order of operations), and gradient clipping."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from mlp_course.scratch._validation import check_number, describe
from mlp_course.scratch.module import Parameter


class Optimizer:
    """Holds the parameters, the learning rate ``lr`` and per-parameter state."""

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        name = type(self).__name__
        if isinstance(params, Parameter):
            raise TypeError(f"{name}: params must be an iterable of Parameters, such as model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        for index, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{name}: params[{index}] is {describe(p)}, expected a Parameter")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: some parameters appear more than once")
        self.params = params
        self.lr = check_number(name, "lr", lr, low=0.0)
        self.state: dict[int, dict[str, np.ndarray]] = {id(p): {} for p in params}
        self.step_count = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        self.step_count += 1
        for p in self.params:
            self._update(p, self.state[id(p)])

    def _update(self, p: Parameter, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"


def _check_betas(name: str, betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(
        check_number(name, f"betas[{i}]", b, low=0.0, high=1.0, high_open=True)
        for i, b in enumerate(betas)
    )


class SGD(Optimizer):
    """g = grad + weight_decay * p; with momentum, b = momentum * b + (1 - dampening) * g
    (b = g on the first step) and g = b, or g + momentum * b for Nesterov; p -= lr * g."""

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        self.momentum = check_number("SGD", "momentum", momentum, low=0.0)
        self.dampening = check_number("SGD", "dampening", dampening, low=0.0, high=1.0)
        self.weight_decay = check_number("SGD", "weight_decay", weight_decay, low=0.0)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        self.nesterov = bool(nesterov)
        super().__init__(params, lr)

    def _update(self, p, state):
        g = p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            buf = state["momentum_buffer"]
            g = g + self.momentum * buf if self.nesterov else buf
        p.data -= self.lr * g


class RMSprop(Optimizer):
    """s = alpha * s + (1 - alpha) * g^2; p -= lr * g / (sqrt(s) + eps), with optional
    momentum on that step and optional centring by the running mean of g."""

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        self.alpha = check_number("RMSprop", "alpha", alpha, low=0.0, high=1.0)
        self.eps = check_number("RMSprop", "eps", eps, low=0.0)
        self.weight_decay = check_number("RMSprop", "weight_decay", weight_decay, low=0.0)
        self.momentum = check_number("RMSprop", "momentum", momentum, low=0.0)
        self.centered = bool(centered)
        super().__init__(params, lr)

    def _update(self, p, state):
        g = p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if not state:
            state["square_avg"] = np.zeros_like(p.data)
            if self.centered:
                state["grad_avg"] = np.zeros_like(p.data)
            if self.momentum:
                state["momentum_buffer"] = np.zeros_like(p.data)
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * g * g
        if self.centered:
            grad_avg = state["grad_avg"]
            grad_avg *= self.alpha
            grad_avg += (1 - self.alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            avg = np.sqrt(square_avg) + self.eps
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += g / avg
            p.data -= self.lr * buf
        else:
            p.data -= self.lr * (g / avg)


class Adam(Optimizer):
    """m and v are running means of g and g^2, bias-corrected by 1 - beta^t;
    p -= lr * m_hat / (sqrt(v_hat) + eps). ``weight_decay`` adds an L2 term to g."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        name = type(self).__name__
        self.betas = _check_betas(name, betas)
        self.eps = check_number(name, "eps", eps, low=0.0)
        self.weight_decay = check_number(name, "weight_decay", weight_decay, low=0.0)
        self.amsgrad = bool(amsgrad)
        super().__init__(params, lr)

    def _gradient(self, p: Parameter) -> np.ndarray:
        if self.weight_decay:
            return p.grad + self.weight_decay * p.data
        return p.grad

    def _update(self, p, state):
        g = self._gradient(p)
        beta1, beta2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if self.amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = np.sqrt(v) / math.sqrt(bias_correction2) + self.eps
        p.data -= (self.lr / bias_correction1) * (m / denom)


class AdamW(Adam):
    """Adam with *decoupled* weight decay: p -= lr * weight_decay * p before the Adam
    step, instead of adding weight_decay * p to the gradient."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _gradient(self, p: Parameter) -> np.ndarray:
        return p.grad

    def _update(self, p, state):
        if self.weight_decay:
            p.data *= 1 - self.lr * self.weight_decay
        super()._update(p, state)


def clip_grad_norm_(parameters: Iterable[Parameter], max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the norm *before* clipping. Like ``torch.nn.utils.clip_grad_norm_``,
    the scale is max_norm / (norm + 1e-6), capped at 1.
    """
    max_norm = check_number("clip_grad_norm_", "max_norm", max_norm, low=0.0, low_open=True)
    parameters = list(parameters)
    total = grad_norm(parameters)
    scale = min(max_norm / (total + 1e-6), 1.0)
    if scale < 1.0:
        for p in parameters:
            p.grad *= p.grad.dtype.type(scale)
    return total


def clip_grad_value_(parameters: Iterable[Parameter], clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value]."""
    clip_value = check_number("clip_grad_value_", "clip_value", clip_value, low=0.0, low_open=True)
    for p in parameters:
        np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def grad_norm(parameters: Iterable[Parameter]) -> float:
    """The global L2 norm of all gradients (what ``clip_grad_norm_`` measures)."""
    # vdot is a BLAS dot product: no temporary array, unlike np.sum(g ** 2).
    return float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in parameters)))
