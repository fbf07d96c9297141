"""The container image installs every product package (docs/operations.md, deployment): a package
that ``pyproject.toml`` installs but the Dockerfile does not copy makes the image fail at start-up
with an ImportError — which is what happened when the register left ``idp/`` for ``register/``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: installed for ``make demo`` and the tests only; the server never imports them (import contract)
NOT_IN_IMAGE = {"tools"}


def test_every_installed_product_package_is_copied_into_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in patterns} - NOT_IN_IMAGE
    copied = set(re.findall(r"^COPY (\w+)/ \1/", (ROOT / "docker" / "Dockerfile").read_text(), re.M))
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
