"""The mechanism behind issue 12 hole 6: every request the server makes goes through
common/outbound.py. This test reads the product code and fails when a module makes an HTTP client
or request of its own (httpx, urllib, http.client, requests, aiohttp), so the next feature that
calls out cannot skip the outbound policy."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("app", "idp", "register", "consent", "wallet", "connectors", "common")
#: the policy itself (the test wallet library, tools/holder.py, is not product code)
ALLOWED = {Path("common/outbound.py")}
CALLS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "Client", "AsyncClient"}
CALLS |= {"HTTPTransport", "AsyncHTTPTransport"}
MODULES = {"urllib.request", "http.client", "requests", "aiohttp", "urllib3", "httpcore"}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "httpx":
            found += [f"from httpx import {a.name}" for a in node.names if a.name in CALLS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "httpx" and node.func.attr in CALLS:
                found.append(f"httpx.{node.func.attr}(...) at line {node.lineno}")
    return found


def test_only_the_outbound_module_makes_http_requests() -> None:
    offences = {
        str(path.relative_to(ROOT)): found
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) not in ALLOWED and "migrations" not in path.parts and (found := _offences(path))
    }
    assert offences == {}, f"use common.outbound.client(policy) instead: {offences}"
