"""Shared test configuration.

* Hypothesis runs *derandomized* by default, so the suite (and the mutation
  check in ``tests/mutation``) is deterministic. ``HYPOTHESIS_PROFILE=explore``
  draws fresh random examples, ten times as many (see ``torch_reference.examples``),
  for a deeper search; ``HYPOTHESIS_PROFILE=mutation`` (used by the mutation
  check) skips shrinking.
* ``seeded`` resets every random generator (Python, NumPy, PyTorch and the
  course generator) before a test, so a test gives the same result alone or
  in the whole suite.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

# The mutation runner lives here; it is a script, not a test module.
collect_ignore = ["mutation"]

settings.register_profile(
    "deterministic",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The mutation check only needs to know that a test fails: no shrinking.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("deterministic"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.register_profile(
    "explore",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def seeded():
    """Seed Python, NumPy, PyTorch and the course generator with 0."""
    from mlp_course import seed_everything

    seed_everything(0)
    yield
