"""idp's public face (issue 13 item 3, "idp has a public face": the register and the application reach
idp only through it; docs/architecture.md, "Dependency direction and the import contracts"). The
import-linter contract in pyproject.toml names idp's internal modules one by one; these tests fail when
a new idp module is neither in the face nor named there, when a face's run-time table and the imports
mypy reads drift apart, and when importing the face starts to load the provider."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import idp.oauth.public
import idp.public

ROOT = Path(__file__).resolve().parents[3]
FACES: dict[str, ModuleType] = {"idp.public": idp.public, "idp.oauth.public": idp.oauth.public}
#: public as modules: the packages themselves (empty ``__init__``), the faces, and the tables
PUBLIC = {"idp", "idp.oauth", "idp.models", *FACES}
CONTRACT = "app and register reach idp only through its public face (idp.public, idp.oauth.public, idp.models)"


def _contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == CONTRACT]
    return dict(contract)


def _idp_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "idp").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _is_public(module: str) -> bool:
    return module in PUBLIC or module.startswith("idp.models.")


def test_every_idp_module_is_in_the_face_or_internal_by_the_contract() -> None:
    """A new idp module is internal unless it is made part of the face: the contract must name it."""
    contract = _contract()
    forbidden = list(contract["forbidden_modules"])  # type: ignore[call-overload]
    assert contract["source_modules"] == ["app", "register"]
    assert contract["allow_indirect_imports"] is True
    uncovered = [
        m for m in _idp_modules() if not _is_public(m) and not any(m == f or m.startswith(f + ".") for f in forbidden)
    ]
    assert uncovered == [], f"add these to the contract's forbidden_modules, or to the face: {uncovered}"
    assert [f for f in forbidden if _is_public(f)] == []


@pytest.mark.parametrize("face_name", FACES)
def test_each_name_of_the_face_is_the_object_of_its_home(face_name: str) -> None:
    face = FACES[face_name]
    homes: dict[str, str] = face._HOMES
    defined_here = {n for n in face.__all__ if n not in homes}
    assert all(getattr(face.__dict__.get(n), "__module__", None) == face_name for n in defined_here)
    for name, home in homes.items():
        module, _, attr = home.partition(":")
        assert getattr(face, name) is getattr(importlib.import_module(module), attr or name), name
        assert not _is_public(module), f"{name}: {module} is already public"
    assert sorted(homes) == sorted(set(face.__all__) - defined_here)


@pytest.mark.parametrize("face_name", FACES)
def test_the_imports_mypy_reads_are_the_run_time_table(face_name: str) -> None:
    """The ``TYPE_CHECKING`` imports (for mypy and import-linter) and ``_HOMES`` (used at run time)
    list the same names from the same homes."""
    face = FACES[face_name]
    tree = ast.parse(Path(face.__file__ or "").read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    declared = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            declared[alias.asname or alias.name] = node.module + (f":{alias.name}" if alias.asname else "")
    exported = {name: home for name, home in declared.items() if name in face.__all__}
    assert exported == face._HOMES


@pytest.mark.parametrize("face_name", FACES)
def test_a_name_outside_the_face_is_not_found(face_name: str) -> None:
    """Only what the face lists is reachable through it (the token service stays behind ``mint_access_token``)."""
    assert not hasattr(FACES[face_name], "TokenService")


def test_importing_the_faces_loads_nothing_of_the_provider() -> None:
    """The faces are lazy: ``genba gate verify``, which needs the clock, does not pay for the pages,
    authlib and the tables (idp/public.py docstring)."""
    script = (
        "import sys, idp.public, idp.oauth.public\n"
        "from idp.public import system_clock\n"
        "print(sorted(m for m in sys.modules if m.startswith(('idp.', 'authlib', 'fastapi', 'sqlmodel'))))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == str(["idp.lazy_face", "idp.oauth", "idp.oauth.public", "idp.public", "idp.runtime"])
