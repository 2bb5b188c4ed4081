"""Every planted bug of the mutation check (``tests/mutation``) still matches the
current source exactly once and still compiles, so the check cannot rot
silently. The mutation run itself is ``python tests/mutation/run_mutants.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_mutants():
    spec = importlib.util.spec_from_file_location("_planted_mutants", ROOT / "tests" / "mutation" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.MUTANTS


MUTANTS = load_mutants()


def test_mutant_names_are_unique():
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutation_pattern_matches_once_and_the_mutant_compiles(mutant):
    path = ROOT / "mlp_course" / mutant.file
    source = path.read_text()
    mutated = mutant.apply(source)  # raises if a pattern does not occur exactly once
    assert mutated != source
    compile(mutated, str(path), "exec")
    for test in mutant.tests:
        assert (ROOT / test).is_file(), test
