"""The scalar reverse-mode autograd engine of chapter 7, in the style of micrograd.

* :class:`Value` (``engine.py``): a number that records the operations applied to it;
  ``backward()`` fills in the gradient of every Value it depends on.
* :class:`Neuron`, :class:`Layer`, :class:`MLP` (``nn.py``): a small network built from Values.
* :func:`draw_graph` (``draw.py``): the computation graph as a ``graphviz.Digraph``; display it
  with ``mlp_course.graphs.show(draw_graph(c))``.

    >>> from mlp_course.autograd import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = (a * b + a ** 2).tanh()
    >>> c.backward()
"""

from mlp_course.autograd.draw import draw_graph
from mlp_course.autograd.engine import Value, topological_order
from mlp_course.autograd.nn import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value", "draw_graph", "topological_order"]
