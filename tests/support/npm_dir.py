"""An npm package directory the tests install and then use offline, the approach of
tests/interop/harness.py for any directory: ``npm ci`` from the committed ``package-lock.json``
when ``node_modules`` is missing or does not match it (a stamp with the hash of package.json and
the lock file), under a file lock so pytest-xdist workers install once; and one-JSON-in, one-JSON-out
runs of a script in that directory.

Node.js 20+ and npm are required: without them the tests fail, they are not skipped.
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
STEP_TIMEOUT_SECONDS = 60.0
STAMP_NAME = ".genba-installed"


class ToolchainError(RuntimeError):
    """node or npm is missing or too old, or ``npm ci`` failed."""


@dataclass(frozen=True)
class NodePackages:
    directory: Path
    node: str
    node_version: str
    versions: dict[str, str]  # direct dependency -> installed version

    def run(self, script: str, *args: str, payload: dict[str, Any], timeout: float = STEP_TIMEOUT_SECONDS) -> Any:
        """``node <script> <args>`` with ``payload`` as JSON on stdin; the parsed last stdout line
        (``{"ok": ..., "result"|"error": ...}``). A crash or a hang is an AssertionError with stderr."""
        try:
            completed = subprocess.run(
                # ipv4first: the servers listen on 127.0.0.1 while the issuer's host is "localhost".
                [self.node, "--dns-result-order=ipv4first", str(self.directory / script), *args],
                input=json.dumps(payload),
                cwd=self.directory,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"node {script} {' '.join(args)} did not finish within {timeout} s") from exc
        lines = [line for line in completed.stdout.splitlines() if line.strip()]
        if completed.returncode not in (0, 1) or not lines:
            raise AssertionError(
                f"node {script} {' '.join(args)} crashed (exit {completed.returncode})\n"
                f"stdout:\n{completed.stdout[-4000:]}\nstderr:\n{completed.stderr[-4000:]}"
            )
        answer = json.loads(lines[-1])
        if answer["ok"] != (completed.returncode == 0):
            raise AssertionError(f"node {script}: exit {completed.returncode} but {answer}")
        return answer


def _files(directory: Path) -> tuple[Path, Path]:
    return directory / "package.json", directory / "package-lock.json"


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in _files(directory):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _direct(directory: Path) -> list[str]:
    return sorted(json.loads(_files(directory)[0].read_text())["dependencies"])


def _installed(directory: Path) -> dict[str, str]:
    versions = {}
    for name in _direct(directory):
        manifest = directory / "node_modules" / name / "package.json"
        if manifest.exists():
            versions[name] = json.loads(manifest.read_text())["version"]
    return versions


def _locked(directory: Path) -> dict[str, str]:
    packages = json.loads(_files(directory)[1].read_text())["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in _direct(directory)}


def _is_current(directory: Path) -> bool:
    try:
        stamp = (directory / "node_modules" / STAMP_NAME).read_text().strip()
    except OSError:
        return False
    return stamp == _digest(directory) and _installed(directory) == _locked(directory)


@contextmanager
def _install_lock(directory: Path) -> Iterator[None]:
    key = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
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
        raise ToolchainError(f"the interoperability tests need {name} (Node.js {MIN_NODE_MAJOR}+ with npm) on PATH")
    return found


def ensure_packages(directory: Path) -> NodePackages:
    """Check node and npm; ``npm ci`` the pinned packages of ``directory`` if needed (once)."""
    node, npm = _tool("node"), _tool("npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        raise ToolchainError(f"Node.js {MIN_NODE_MAJOR}+ is needed; found {version}")
    if not _is_current(directory):
        with _install_lock(directory):
            if not _is_current(directory):
                _npm_ci(npm, directory)
    return NodePackages(directory, node, version, _installed(directory))


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
        raise ToolchainError(f"npm ci did not finish within {NPM_CI_TIMEOUT_SECONDS:.0f} s in {directory}") from exc
    if result.returncode != 0:
        raise ToolchainError(
            f"npm ci failed in {directory} (exit {result.returncode})\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    if _installed(directory) != _locked(directory):
        raise ToolchainError(f"npm ci installed {_installed(directory)}, the lock file pins {_locked(directory)}")
    (directory / "node_modules" / STAMP_NAME).write_text(_digest(directory) + "\n")
