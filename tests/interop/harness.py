"""Driving certified Node.js relying-party libraries against a real Genba ID server.

- :func:`ensure_node_modules` installs the pinned npm packages with ``npm ci`` (from the committed
  ``package-lock.json``) when ``node_modules`` is missing or does not match the lock file
  (:mod:`tests.support.npm_dir`); afterwards everything runs offline.
- :class:`NodeRP` runs one relying-party step per ``node rp/main.mjs <library> <operation>`` process:
  JSON in on stdin, one JSON line out on stdout, with a timeout. The RP state between steps (PKCE
  verifier, state, nonce) is returned by one step and handed to the next; private keys stay in
  files the Node scripts write.
- :func:`authorize_in_browser` is the user's browser: it follows the authorization URL with httpx,
  signs in with password + TOTP, approves the consent page and stops at the redirect to the RP's
  ``redirect_uri``, whose URL the Node RP then processes.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pyotp

from tests.support import npm_dir
from tests.support.server import LiveServer

INTEROP_DIR = Path(__file__).resolve().parent
RP_MAIN = INTEROP_DIR / "rp" / "main.mjs"
NODE_STEP_TIMEOUT_SECONDS = 60.0  # rp/main.mjs gives up by itself after 45 s
HTTP_TIMEOUT_SECONDS = 30.0
MAX_BROWSER_STEPS = 12


class ToolchainError(RuntimeError):
    """node or npm is missing, too old, or the npm packages could not be installed."""


@dataclass(frozen=True)
class NodeToolchain:
    node: str
    node_version: str
    versions: dict[str, str]  # npm package -> installed version


# -- installation ---------------------------------------------------------------------------------


def ensure_node_modules() -> NodeToolchain:
    """Check node and npm, and ``npm ci`` the pinned packages if node_modules is missing or stale
    (tests.support.npm_dir, shared with the wallet and gate interop packages)."""
    try:
        packages = npm_dir.ensure_packages(INTEROP_DIR)
    except npm_dir.ToolchainError as exc:
        raise ToolchainError(str(exc)) from exc
    return NodeToolchain(node=packages.node, node_version=packages.node_version, versions=packages.versions)


# -- the Node relying party -----------------------------------------------------------------------


class RPRefused(AssertionError):
    """The library (or the provider through it) refused a step that should have succeeded."""

    def __init__(self, library: str, operation: str, error: dict[str, Any]) -> None:
        super().__init__(f"{library} {operation} failed: {json.dumps(error, ensure_ascii=False, indent=2)}")
        self.error = error


def run_node_step(toolchain: NodeToolchain, library: str, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run one step; return the parsed ``{"ok": ..., "result"|"error": ...}`` line."""
    try:
        completed = subprocess.run(
            # ipv4first: the server listens on 127.0.0.1 only, the issuer's host is "localhost".
            [toolchain.node, "--dns-result-order=ipv4first", str(RP_MAIN), library, operation],
            input=json.dumps(payload),
            cwd=INTEROP_DIR,
            capture_output=True,
            text=True,
            timeout=NODE_STEP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"node {library} {operation} did not finish within {NODE_STEP_TIMEOUT_SECONDS} s") from exc
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode not in (0, 1) or not lines:
        raise AssertionError(
            f"node {library} {operation} crashed (exit {completed.returncode})\n"
            f"stdout:\n{completed.stdout[-4000:]}\nstderr:\n{completed.stderr[-4000:]}"
        )
    answer: dict[str, Any] = json.loads(lines[-1])
    if answer["ok"] != (completed.returncode == 0):
        raise AssertionError(f"node {library} {operation}: exit {completed.returncode} but {answer}")
    return answer


@dataclass
class NodeRP:
    """A relying party registered at the provider, played by ``library`` in Node."""

    toolchain: NodeToolchain
    library: str
    issuer: str
    client_id: str
    client_auth: dict[str, Any]
    redirect_uri: str
    dpop_key_file: Path | None = None

    @property
    def version(self) -> str:
        return self.toolchain.versions.get(self.library, "?")

    def _payload(self, values: dict[str, Any]) -> dict[str, Any]:
        payload = {"issuer": self.issuer, "client_id": self.client_id, "client_auth": self.client_auth}
        if self.dpop_key_file is not None:
            payload["dpop_key_file"] = str(self.dpop_key_file)
        payload.update(values)
        return payload

    def call(self, operation: str, **values: Any) -> dict[str, Any]:
        """Run a step that must succeed; its ``result``."""
        answer = run_node_step(self.toolchain, self.library, operation, self._payload(values))
        if not answer["ok"]:
            raise RPRefused(self.library, operation, answer["error"])
        result: dict[str, Any] = answer["result"]
        return result

    def refused(self, operation: str, **values: Any) -> dict[str, Any]:
        """Run a step that must fail; the library's error (name, code, status, error, cause...)."""
        answer = run_node_step(self.toolchain, self.library, operation, self._payload(values))
        if answer["ok"]:
            raise AssertionError(f"{self.library} {operation} was expected to fail but returned {answer['result']}")
        error: dict[str, Any] = answer["error"]
        return error


def generate_key_files(toolchain: NodeToolchain, *, private_path: Path, jwks_path: Path | None = None) -> str:
    """An ES256 key pair made in Node (WebCrypto): private JWK file, optional public JWKS file; the thumbprint."""
    payload: dict[str, Any] = {"private_path": str(private_path)}
    if jwks_path is not None:
        payload.update(jwks_path=str(jwks_path), use="sig")
    answer = run_node_step(toolchain, "-", "keygen", payload)
    if not answer["ok"]:
        raise AssertionError(f"keygen failed: {answer['error']}")
    thumbprint: str = answer["result"]["thumbprint"]
    return thumbprint


# -- the user's browser ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Technician:
    technician_id: str
    name: str
    kana: str
    password: str
    totp_secret: str


@dataclass
class Authorized:
    """Where the browser was sent back to the RP, and the provider pages it went through."""

    callback_url: str
    pages: list[str] = field(default_factory=list)
    consent_scopes: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.callback_url).query).items()}


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', page)
    if match is None:
        raise AssertionError(f"no hidden field {name!r} on the page:\n{page[:3000]}")
    return html.unescape(match.group(1))


def authorize_in_browser(
    server: LiveServer, authorization_url: str, *, redirect_uri: str, person: Technician, decision: str = "approve"
) -> Authorized:
    """Follow ``authorization_url`` like a browser: sign in (password, then TOTP), answer the consent
    page with ``decision``, and stop at the redirect to ``redirect_uri`` (never fetched)."""
    if not authorization_url.startswith(server.base_url + "/"):
        raise AssertionError(f"the authorization URL is not on the provider: {authorization_url}")
    pages: list[str] = []
    consent_scopes: list[str] = []
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False) as browser:
        response = browser.get(authorization_url)
        for _ in range(MAX_BROWSER_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.split("?")[0] == redirect_uri:
                    return Authorized(location, pages, consent_scopes)
                if not location.startswith(server.base_url + "/"):
                    raise AssertionError(f"redirected off the provider to {location} (pages: {pages})")
                response = browser.get(location)
                continue
            page = response.text
            if response.status_code != 200:
                raise AssertionError(f"{response.url} answered {response.status_code} (pages: {pages}):\n{page[:3000]}")
            if 'action="/login"' in page:
                pages.append("login")
                form = {
                    "csrf_token": _hidden(page, "csrf_token"),
                    "next": _hidden(page, "next"),
                    "username": person.technician_id,
                    "password": person.password,
                }
                response = browser.post(server.url("/login"), data=form)
            elif 'action="/login/otp"' in page:
                pages.append("otp")
                form = {"csrf_token": _hidden(page, "csrf_token"), "otp": pyotp.TOTP(person.totp_secret).now()}
                response = browser.post(server.url("/login/otp"), data=form)
            elif 'action="/authorize/consent"' in page:
                pages.append("consent")
                consent_scopes = re.findall(r'data-scope="([^"]+)"', page)
                form = {
                    "csrf_token": _hidden(page, "csrf_token"),
                    "interaction": _hidden(page, "interaction"),
                    "decision": decision,
                }
                response = browser.post(server.url("/authorize/consent"), data=form)
            else:
                raise AssertionError(f"unexpected page at {response.url} (pages: {pages}):\n{page[:3000]}")
    raise AssertionError(f"no redirect to {redirect_uri} after {MAX_BROWSER_STEPS} steps (pages: {pages})")
