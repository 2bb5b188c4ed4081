"""Helper package for the course *MLP from First Principles*.

Sub-modules:

* :mod:`mlp_course.scratch` - a from-scratch NumPy neural-network library whose
  names mirror ``torch.nn`` and ``torch.optim``.
* :mod:`mlp_course.training` - a small training loop (``fit``) with history.
* :mod:`mlp_course.autograd` - the scalar reverse-mode autograd engine of chapter 7 (``Value``, ``MLP``).
* :mod:`mlp_course.torch_training` - PyTorch helpers of chapter 9: device choice, loaders, ``fit``.
* :mod:`mlp_course.graphs` - Graphviz graphs drawn as PNG, side by side (chapters 7-8).
* :mod:`mlp_course.gradcheck` - finite differences and comparisons with PyTorch.
* :mod:`mlp_course.seed` - one call that seeds Python, NumPy and PyTorch.
* :mod:`mlp_course.notebook` - ``setup_notebook``, the first call of every chapter.
* :mod:`mlp_course.plotting` - network diagrams, decision boundaries, training curves, image grids.
* :mod:`mlp_course.data` - the data sets: XOR and two moons, the MNIST subset shipped with the
  dependencies, generated tabular data (``make_churn``, chapter 9), and the verified Fashion-MNIST
  and MNIST loaders (``load_fashion_mnist``, ``load_mnist``, chapter 14).
* :mod:`mlp_course.exercises` - checks for exercises that explain what is wrong.
"""

from mlp_course.notebook import setup_notebook
from mlp_course.seed import get_rng, seed_everything

#: The release the book is built from. Each chapter's set-up cell installs the
#: package at the git tag ``v`` + this version (tests/test_chapter_anatomy.py
#: keeps them in line); CONTRIBUTING.md says how a release is tagged.
__version__ = "0.5.0"

__all__ = ["__version__", "get_rng", "seed_everything", "setup_notebook"]
