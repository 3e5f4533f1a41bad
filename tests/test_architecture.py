"""The engine's shape, checked: no import cycle, small classes and modules, a thin package root,
and a numpydoc docstring on every public function and class (see tests/support/docstrings.py).
The import direction between layers is import-linter's job (``lint-imports``, run by
``make test``; contracts in pyproject.toml)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import grimp
import pytest

import nanomorph
from tests.support.docstrings import problems, public_api

PACKAGE_ROOT = Path(nanomorph.__file__).parent
MAX_PUBLIC_MEMBERS = 20  # methods, properties and class attributes
MAX_DATACLASS_FIELDS = 25  # a settings record may hold more fields than a class has methods
MAX_MODULE_LINES = 600
MAX_ROOT_MODULES = 6


def _modules():
    for info in pkgutil.walk_packages(nanomorph.__path__, "nanomorph."):
        yield importlib.import_module(info.name)


def test_there_is_no_import_cycle_inside_the_engine():
    graph = grimp.build_graph("nanomorph")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_classes_stay_small():
    too_big = []
    for module in _modules():
        for name, cls in vars(module).items():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(
                cls) else set()
            members = [k for k in vars(cls) if not k.startswith("_") and k not in fields]
            if len(members) > MAX_PUBLIC_MEMBERS or len(fields) > MAX_DATACLASS_FIELDS:
                too_big.append(f"{module.__name__}.{name}: {len(members)} members, "
                               f"{len(fields)} fields")
    assert not too_big, too_big


def test_modules_stay_short_and_the_root_thin():
    long = [f"{p.relative_to(PACKAGE_ROOT)}: {n} lines" for p in PACKAGE_ROOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, long
    root = sorted(p.name for p in PACKAGE_ROOT.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


@pytest.mark.parametrize("name,obj", list(public_api()), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_public_api_has_numpydoc_docstrings(name, obj):
    assert not problems(obj), f"{name}: {'; '.join(problems(obj))}"
