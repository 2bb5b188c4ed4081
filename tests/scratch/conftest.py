"""Every scratch test starts from the same seeds (see ``tests/conftest.py``)."""

import pytest


@pytest.fixture(autouse=True)
def _seed_everything(seeded):
    yield
