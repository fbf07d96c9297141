"""Pinned npm packages for interoperability tests, installed by the test run itself.

:func:`ensure_packages` runs ``npm ci`` (from the committed ``package-lock.json``) in a package
directory when its ``node_modules`` is missing or does not match the lock file, under a file lock so
concurrent pytest-xdist workers install once; a stamp in ``node_modules`` records what was installed.
Afterwards everything runs offline. Node.js and npm are required: without them the tests fail, they
are not skipped. :func:`run_node` runs one script step: JSON in on stdin, one JSON line out.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_NODE_MAJOR = 20
NPM_CI_TIMEOUT_SECONDS = 600.0
STAMP_NAME = ".genba-installed"


class ToolchainError(RuntimeError):
    """node or npm is missing, too old, or the npm packages could not be installed."""


@dataclass(frozen=True)
class NodePackages:
    directory: Path
    node: str
    node_version: str
    versions: dict[str, str]  # npm package -> installed version


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _locked(directory: Path) -> dict[str, str]:
    manifest = json.loads((directory / "package.json").read_text())
    packages = json.loads((directory / "package-lock.json").read_text())["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in manifest.get("dependencies", {})}


def _installed(directory: Path, names: list[str]) -> dict[str, str]:
    versions = {}
    for name in names:
        manifest = directory / "node_modules" / name / "package.json"
        if manifest.exists():
            versions[name] = json.loads(manifest.read_text())["version"]
    return versions


def _is_current(directory: Path) -> bool:
    try:
        stamp = (directory / "node_modules" / STAMP_NAME).read_text().strip()
    except OSError:
        return False
    locked = _locked(directory)
    return stamp == _digest(directory) and _installed(directory, list(locked)) == locked


@contextmanager
def _install_lock(directory: Path) -> Iterator[None]:
    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"genba-npm-{key}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolchainError(f"these tests need {name} (Node.js {MIN_NODE_MAJOR}+ with npm) on PATH; it was not found")
    return found


def ensure_packages(directory: Path) -> NodePackages:
    """Check node and npm, and ``npm ci`` in ``directory`` if its node_modules is missing or stale."""
    node, npm = _tool("node"), _tool("npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        raise ToolchainError(f"Node.js {MIN_NODE_MAJOR}+ is needed; found {version}")
    if not _is_current(directory):
        with _install_lock(directory):
            if not _is_current(directory):  # another worker may have installed while we waited
                _npm_ci(npm, directory)
    locked = _locked(directory)
    return NodePackages(directory, node, version, _installed(directory, list(locked)))


def _npm_ci(npm: str, directory: Path) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"npm ci did not finish within {NPM_CI_TIMEOUT_SECONDS:.0f} s") from exc
    if result.returncode != 0:
        raise ToolchainError(
            f"npm ci failed in {directory} (exit {result.returncode})\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    locked = _locked(directory)
    if _installed(directory, list(locked)) != locked:
        raise ToolchainError(f"npm ci installed {_installed(directory, list(locked))}, the lock file pins {locked}")
    (directory / "node_modules" / STAMP_NAME).write_text(_digest(directory) + "\n")


def run_node(
    packages: NodePackages, script: str, operation: str, payload: dict[str, Any], *, timeout: float = 60.0
) -> dict[str, Any]:
    """``node <script> <operation>`` in the package directory; the parsed ``{"ok": ..., ...}`` line.
    The script prints exactly one JSON line and exits 0 (ok) or 1 (refused); anything else is a crash."""
    try:
        completed = subprocess.run(
            # ipv4first: test servers listen on 127.0.0.1 only, their host name is "localhost".
            [packages.node, "--dns-result-order=ipv4first", str(packages.directory / script), operation],
            input=json.dumps(payload),
            cwd=packages.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"node {script} {operation} did not finish within {timeout} s") from exc
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode not in (0, 1) or not lines:
        raise AssertionError(
            f"node {script} {operation} crashed (exit {completed.returncode})\n"
            f"stdout:\n{completed.stdout[-4000:]}\nstderr:\n{completed.stderr[-4000:]}"
        )
    answer: dict[str, Any] = json.loads(lines[-1])
    if answer.get("ok") != (completed.returncode == 0):
        raise AssertionError(f"node {script} {operation}: exit {completed.returncode} but {answer}")
    return answer
