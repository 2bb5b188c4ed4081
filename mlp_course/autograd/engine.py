"""A scalar reverse-mode autograd engine, in the style of micrograd.

Every :class:`Value` remembers the Values it was computed from (``_prev``), the
operation that made it (``_op``) and a function ``_backward`` that *adds* its own
gradient times the local derivatives into its children's ``grad``.
:meth:`Value.backward` runs those functions from the output back to the inputs,
in reverse topological order.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b + a ** 2
    >>> c.backward()
    >>> a.grad, b.grad   # dc/da = b + 2a, dc/db = a
    (1.0, 2.0)
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable, Union

Number = Union[int, float]


def _is_real(x: object) -> bool:
    """An int, float or NumPy real scalar; not a bool, a complex number, a string or an array."""
    if type(x) is float or type(x) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _kind(x: object) -> str:
    """The type of ``x`` for an error message; a class named Value but not this one says where it is from."""
    kind = type(x)
    if kind.__name__ == "Value" and kind is not Value:
        return (f"a Value of another class ({kind.__module__}.{kind.__qualname__}); do not mix it with "
                f"{__name__}.Value: build the expression again from the package's Values")
    return kind.__name__


def _format(x: float) -> str:
    """``x`` with 4 significant digits, always looking like a float (``0.0``, ``2.0``, ``0.7616``)."""
    text = f"{x:.4g}"
    return text if any(c in text for c in ".ena") else text + ".0"


class Value:
    """A real number that remembers how it was computed, so gradients can flow back through it."""

    __array_ufunc__ = None  # NumPy scalars and arrays defer to Value's reflected operators

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        if not _is_real(data):
            raise TypeError(f"Value needs a real number (an int or a float), got {type(data).__name__}: {data!r}")
        children = tuple(_children)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value: every child must be a Value, got {_kind(child)}")
        if not isinstance(_op, str) or not isinstance(label, str):
            raise TypeError(f"Value: _op and label must be strings, got {_op!r} and {label!r}")
        self.data: float = float(data)
        self.grad: float = 0.0
        self._prev: tuple[Value, ...] = children
        self._op: str = _op
        self.label: str = label
        self._backward: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"Value(data={_format(self.data)}, grad={_format(self.grad)})"

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _wrap(other: object, symbol: str) -> Value:
        """``other`` as a Value (a number becomes a constant leaf); TypeError for anything else."""
        if isinstance(other, Value):
            return other
        if _is_real(other):
            return Value(other)
        raise TypeError(f"Value supports {symbol} with a Value or a real number, got {_kind(other)}")

    # -- arithmetic ------------------------------------------------------------------

    def __add__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "+")
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "*")
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __sub__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "-")
        out = Value(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "/")
        if other.data == 0:
            raise ZeroDivisionError(f"Value division by zero: {self.data!r} / {other.data!r}")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data**2

        out._backward = _backward
        return out

    def __pow__(self, k: Number) -> Value:
        if isinstance(k, Value) or not _is_real(k):
            raise TypeError(
                f"Value supports ** only with a number exponent (an int or a float), got {type(k).__name__}; "
                "for a Value exponent write (y * x.log()).exp()"
            )
        k = float(k) if not isinstance(k, numbers.Integral) else int(k)
        x = self.data
        if not math.isfinite(k):
            raise ValueError(f"Value ** needs a finite exponent, got {k!r}")
        if x == 0 and k < 0:
            raise ZeroDivisionError(f"Value ** : 0.0 cannot be raised to a negative power ({k!r})")
        if x < 0 and k != int(k):
            raise ValueError(f"Value ** : ({x!r}) ** {k!r} is not a real number (a negative base needs an integer exponent)")
        try:
            result = x**k
        except OverflowError:
            raise OverflowError(f"Value ** : ({x!r}) ** {k!r} is too large for a float") from None
        out = Value(result, (self,), f"**{k:g}")

        def _backward() -> None:
            # d/dx x**k = k x**(k-1); where that is too large for a float (at x = 0 with
            # 0 < k < 1, say) it is +-inf, as in PyTorch.
            if k == 0:
                local = 0.0
            elif x == 0 and k < 1:
                local = math.inf
            else:
                try:
                    local = k * x ** (k - 1)
                except OverflowError:
                    negative = (k < 0) != (x < 0 and int(k - 1) % 2 == 1)
                    local = -math.inf if negative else math.inf
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base: object) -> Value:
        raise TypeError(
            f"Value supports ** only with a number exponent, got a Value exponent (base {type(base).__name__}); "
            "for c ** x with a number c > 0 write (x * math.log(c)).exp()"
        )

    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")

        def _backward() -> None:
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __radd__(self, other: Number) -> Value:  # other + self
        return self._wrap(other, "+") + self

    def __rsub__(self, other: Number) -> Value:  # other - self
        return self._wrap(other, "-") - self

    def __rmul__(self, other: Number) -> Value:  # other * self
        return self._wrap(other, "*") * self

    def __rtruediv__(self, other: Number) -> Value:  # other / self
        return self._wrap(other, "/") / self

    # -- functions -------------------------------------------------------------------

    def exp(self) -> Value:
        """e ** x; OverflowError above about 709.78, where the result is too large for a float."""
        try:
            result = math.exp(self.data)
        except OverflowError:
            raise OverflowError(
                f"exp({self.data!r}) is too large for a float (exp overflows above about 709.78)"
            ) from None
        out = Value(result, (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        """The natural logarithm; ValueError unless x > 0."""
        if not self.data > 0:
            raise ValueError(f"log needs a positive number, got log({self.data!r})")
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken as 0, as in PyTorch."""
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward() -> None:
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """1 / (1 + e ** -x), computed without overflow for any x."""
        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            z = math.exp(self.data)
            s = z / (1.0 + z)
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    # -- backpropagation -------------------------------------------------------------

    def topological_order(self) -> list[Value]:
        """Every Value this one depends on (itself included), children before parents, each once.

        An explicit stack instead of recursion, so a chain of any length works.
        """
        order: list[Value] = []
        visited: set[Value] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if node in visited:
                continue
            visited.add(node)
            stack.append((node, True))
            for child in reversed(node._prev):
                if child not in visited:
                    stack.append((child, False))
        return order

    def backward(self) -> None:
        """Fill in ``grad`` of every Value this one depends on: d(self)/d(node).

        Intermediate Values (those with children, ``self`` included) start each pass
        from 0, so they hold this pass's gradient; leaves accumulate across passes,
        as in PyTorch. Zero them with ``p.grad = 0.0`` (or ``Module.zero_grad()``).
        """
        order = self.topological_order()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(order):
            node._backward()


def topological_order(root: Value) -> list[Value]:
    """``root.topological_order()``: the Values ``root`` depends on, children before parents."""
    if not isinstance(root, Value):
        raise TypeError(f"topological_order needs a Value, got {type(root).__name__}")
    return root.topological_order()
