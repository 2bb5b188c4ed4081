"""Optimisers with the update rules of ``torch.optim`` (same arguments, same
order of operations, parameter groups), and gradient clipping."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Callable, Iterable

import numpy as np

from mlp_course.scratch._validation import check_number, describe
from mlp_course.scratch.module import Parameter


def _non_negative(owner: str, name: str, value: Any) -> float:
    return check_number(owner, name, value, low=0.0)


def _learning_rate(owner: str, name: str, value: Any) -> float:
    return _non_negative(owner, name, value)


def _unit_interval(owner: str, name: str, value: Any) -> float:
    return check_number(owner, name, value, low=0.0, high=1.0)


def _flag(owner: str, name: str, value: Any) -> bool:
    return bool(value)


def _betas(owner: str, name: str, betas: Any) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: {name} must be a pair (beta1, beta2), got {betas!r}")
    return tuple(
        check_number(owner, f"{name}[{i}]", b, low=0.0, high=1.0, high_open=True)
        for i, b in enumerate(betas)
    )


# Elements per chunk of an in-place update: small enough that the chunks of the
# five or six arrays an update reads and writes all stay in the CPU cache.
_CHUNK_SIZE = 32768


def _chunks(arrays: list[np.ndarray]) -> Iterable[tuple[np.ndarray, ...]]:
    """Matching flat chunks (views) of arrays of one shape, or the whole arrays
    when one is not C-contiguous (a flat view of it would be a copy)."""
    if not all(a.flags.c_contiguous for a in arrays):
        yield tuple(arrays)
        return
    flat = [a.reshape(-1) for a in arrays]
    for start in range(0, flat[0].size, _CHUNK_SIZE):
        yield tuple(a[start:start + _CHUNK_SIZE] for a in flat)


class Optimizer:
    """Parameter groups, per-parameter state and the update loop, as in ``torch.optim``.

    ``param_groups`` is a list of dicts, each with ``"params"`` (a list of
    Parameters) and every hyper-parameter of the optimiser; ``step()`` reads them
    from the group at every step, so changing ``group["lr"]`` takes effect at
    the next step. ``state[p]`` holds the buffers of parameter ``p``.
    Sub-classes list their hyper-parameters with a check for each in
    ``_checks`` and update one parameter in ``_update(p, state, group)``.
    """

    _checks: dict[str, Callable[[str, str, Any], Any]] = {"lr": _learning_rate}

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Parameter, dict)):
            raise TypeError(
                f"{name}: params must be an iterable of Parameters, such as model.parameters(), "
                f"or a list of parameter-group dicts, got {describe(params)}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        if all(isinstance(g, dict) for g in params):
            groups = params
        else:  # one group of all the parameters
            for index, p in enumerate(params):
                if not isinstance(p, Parameter):
                    raise TypeError(f"{name}: params[{index}] is {describe(p)}, expected a Parameter "
                                    f"(or pass a list of parameter-group dicts)")
            if len({id(p) for p in params}) != len(params):
                raise ValueError(f"{name}: some parameters appear more than once")
            groups = [{"params": params}]
        defaults = {key: check(name, key, defaults[key]) for key, check in self._checks.items()}
        self._check_combination(defaults, "")
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Parameter, dict[str, Any]] = {}
        # Scratch space for the updates, one array per parameter: not state (never saved).
        self._workspaces: dict[Parameter, np.ndarray] = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group (its missing hyper-parameters come from ``defaults``),
        after checking it: nothing changes when it is refused."""
        name, index = type(self).__name__, len(self.param_groups)
        where = f"param group {index}"
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' key, got {describe(param_group)}")
        known = ("params", *self._checks)
        unknown = [key for key in param_group if key not in known]
        if unknown:
            raise ValueError(
                f"{name}: {where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"the known keys are {', '.join(map(repr, known))}"
            )
        if "params" not in param_group:
            raise ValueError(f"{name}: {where} has no 'params' key (the list of its Parameters)")
        params = param_group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: the 'params' of {where} must be an ordered collection such as a list, "
                            f"not a set (a set's order changes from run to run)")
        params = [params] if isinstance(params, Parameter) else list(params)
        if not params:
            raise ValueError(f"{name}: {where} has an empty 'params' list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{name}: {where} params[{i}] is {describe(p)}, expected a Parameter")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: some parameters appear more than once in {where}")
        for other_index, other in enumerate(self.param_groups):
            if {id(p) for p in other["params"]} & {id(p) for p in params}:
                raise ValueError(f"{name}: some parameters of {where} are already in param group {other_index}; "
                                 f"each parameter may be in one group only")
        group = {"params": params}
        for key, check in self._checks.items():
            given = key in param_group
            group[key] = check(name, f"param_groups[{index}][{key!r}]", param_group[key]) if given else self.defaults[key]
        self._check_combination(group, f" ({where})")
        self.param_groups.append(group)

    def _check_combination(self, group: dict[str, Any], where: str) -> None:
        """Checks that involve several hyper-parameters of a group."""

    def _workspace(self, p: Parameter) -> np.ndarray:
        """A preallocated array shaped like ``p.data`` that an update may overwrite
        (instead of allocating a temporary array for every operation)."""
        work = self._workspaces.get(p)
        if work is None or work.shape != p.data.shape or work.dtype != p.data.dtype:
            work = self._workspaces[p] = np.empty_like(p.data)
        return work

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                self._update(p, self.state.setdefault(p, {}), group)

    def _update(self, p: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- checkpoints ----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A deep copy of the groups' hyper-parameters and of the state, with the
        parameters referred to by position (0, 1, ... over all groups), as torch."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (for an optimiser over the same
        parameters, in the same groups); nothing changes when it does not fit."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}: expected a dict with keys 'state' and 'param_groups' "
                             f"(what state_dict() returns), got {describe(state_dict)}")
        saved = state_dict["param_groups"]
        if not isinstance(saved, list) or not all(isinstance(g, dict) and "params" in g for g in saved):
            raise ValueError(f"{name}: 'param_groups' must be a list of group dicts, each with 'params'")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved]
        if saved_sizes != sizes:
            raise ValueError(f"{name}: the saved state has groups of {saved_sizes} parameters, "
                             f"this optimiser groups of {sizes}")
        params = [p for group in self.param_groups for p in group["params"]]
        for key, value in state_dict["state"].items():
            if not (isinstance(key, numbers.Integral) and 0 <= key < len(params)):
                raise ValueError(f"{name}: the saved state refers to parameter {key!r}, "
                                 f"but there are {len(params)} parameters")
            for entry, array in value.items():
                if isinstance(array, np.ndarray) and array.shape != params[key].shape:
                    raise ValueError(f"{name}: {entry} of parameter {key} has shape {array.shape}, "
                                     f"but the parameter has shape {params[key].shape}")
        self.param_groups = [
            {**copy.deepcopy({k: v for k, v in g.items() if k != "params"}), "params": group["params"]}
            for g, group in zip(saved, self.param_groups)
        ]
        self.state = {
            params[key]: {entry: (np.array(v, dtype=params[key].data.dtype) if isinstance(v, np.ndarray)
                                  else copy.deepcopy(v)) for entry, v in value.items()}
            for key, value in state_dict["state"].items()
        }

    # -- the hyper-parameters live in the groups ---------------------------------
    def _moved(self, key: str) -> AttributeError:
        return AttributeError(
            f"{type(self).__name__} has no attribute {key!r}: each parameter group has its own, "
            f"optimizer.param_groups[0][{key!r}] for the first group "
            f"(set it in every group with: for group in optimizer.param_groups: group[{key!r}] = value)"
        )

    def __getattr__(self, key: str) -> Any:
        if key in type(self)._checks:
            raise self._moved(key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key in type(self)._checks:
            raise self._moved(key)
        super().__setattr__(key, value)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for index, group in enumerate(self.param_groups):
            options = ", ".join(f"{key}={value!r}" for key, value in group.items() if key != "params")
            lines.append(f"  group {index} ({len(group['params'])} parameters): {options}")
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    """g = grad + weight_decay * p; with momentum, b = momentum * b + (1 - dampening) * g
    (b = g on the first step) and g = b, or g + momentum * b for Nesterov; p -= lr * g."""

    _checks = {"lr": _learning_rate, "momentum": _non_negative, "dampening": _unit_interval,
               "weight_decay": _non_negative, "nesterov": _flag}

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_combination(self, group, where):
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0{where}")

    def _update(self, p, state, group):
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            buf = state["momentum_buffer"]
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g


class RMSprop(Optimizer):
    """s = alpha * s + (1 - alpha) * g^2; p -= lr * g / (sqrt(s) + eps), with optional
    momentum on that step and optional centring by the running mean of g."""

    _checks = {"lr": _learning_rate, "alpha": _unit_interval, "eps": _non_negative,
               "weight_decay": _non_negative, "momentum": _non_negative, "centered": _flag}

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, p, state, group):
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", np.zeros_like(p.data))
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = np.sqrt(square_avg) + group["eps"]
        if group["momentum"]:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p.data))
            buf *= group["momentum"]
            buf += g / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * (g / avg)


class Adam(Optimizer):
    """m and v are running means of g and g^2, bias-corrected by 1 - beta^t;
    p -= lr * m_hat / (sqrt(v_hat) + eps). ``weight_decay`` adds an L2 term to g."""

    _checks = {"lr": _learning_rate, "betas": _betas, "eps": _non_negative,
               "weight_decay": _non_negative, "amsgrad": _flag}

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _gradient(self, p: Parameter, group: dict[str, Any]) -> np.ndarray:
        if group["weight_decay"]:
            return p.grad + group["weight_decay"] * p.data
        return p.grad

    def _update(self, p, state, group):
        g = self._gradient(p, group)
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        arrays = [p.data, g, state["exp_avg"], state["exp_avg_sq"], self._workspace(p)]
        if group["amsgrad"]:
            arrays.append(state.setdefault("max_exp_avg_sq", np.zeros_like(p.data)))
        bias_correction1 = 1 - beta1**t
        sqrt_bias_correction2 = math.sqrt(1 - beta2**t)
        step_size, eps = group["lr"] / bias_correction1, group["eps"]
        # The same operations in the same order as m = beta1 m + (1 - beta1) g,
        # v = beta2 v + (1 - beta2) g g and p -= (lr / bc1) (m / denom), done in
        # place (one scratch array, no temporaries) and chunk by chunk, so that
        # each chunk stays in the CPU cache through all of them.
        for data, grad, m, v, work, *max_v in _chunks(arrays):
            m *= beta1
            np.multiply(grad, 1 - beta1, out=work)
            m += work
            v *= beta2
            np.multiply(grad, 1 - beta2, out=work)
            work *= grad
            v += work
            if max_v:
                np.maximum(max_v[0], v, out=max_v[0])
                v = max_v[0]
            denom = np.sqrt(v, out=work)
            denom /= sqrt_bias_correction2
            denom += eps
            step = np.divide(m, denom, out=work)
            step *= step_size
            data -= step


class AdamW(Adam):
    """Adam with *decoupled* weight decay: p -= lr * weight_decay * p before the Adam
    step, instead of adding weight_decay * p to the gradient."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _gradient(self, p: Parameter, group: dict[str, Any]) -> np.ndarray:
        return p.grad

    def _update(self, p, state, group):
        if group["weight_decay"]:
            p.data *= 1 - group["lr"] * group["weight_decay"]
        super()._update(p, state, group)


def param_groups_without_decay(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Two parameter groups: the weights (parameters with 2 or more dimensions)
    with ``weight_decay``, and the 1-D parameters (biases, batch-norm scale and
    shift) without. Works for a scratch model and for a ``torch.nn.Module``
    (in ``model.parameters()`` order); a group left with no parameters is left out.

    >>> optimizer = SGD(param_groups_without_decay(model, 1e-4), lr=0.1)
    """
    weight_decay = check_number("param_groups_without_decay", "weight_decay", weight_decay, low=0.0)
    if not callable(getattr(model, "parameters", None)):
        raise TypeError(f"param_groups_without_decay: model must be a scratch Module or a torch.nn.Module, "
                        f"got {describe(model)}")
    decay, no_decay = [], []
    for p in model.parameters():
        ndim = p.data.ndim if isinstance(p, Parameter) else p.ndim
        (decay if ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]


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
