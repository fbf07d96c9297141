"""Settings validation: production refuses a default or missing secret with one line (issue 2, item 3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings


@pytest.mark.parametrize("secret", [None, "", "change-me", "short-secret"])
def test_production_refuses_default_or_missing_secret(secret: str | None) -> None:
    over: dict[str, object] = {"environment": "production", "issuer": "https://id.genba.example"}
    if secret is not None:
        over["secret_key"] = secret
    with pytest.raises(SettingsError) as info:
        load_settings(**over)
    message = str(info.value)
    assert "GENBA_SECRET_KEY" in message and "\n" not in message


def test_production_requires_https_issuer() -> None:
    with pytest.raises(SettingsError, match="https"):
        load_settings(environment="production", issuer="http://id.genba.example", secret_key="x" * 40)


def test_production_with_a_real_secret_starts() -> None:
    settings = load_settings(environment="production", issuer="https://id.genba.example", secret_key="k" * 40)
    assert settings.secure_cookies


def test_development_creates_a_secret_file_outside_the_repo(tmp_path: Path) -> None:
    settings = load_settings(secret_file=tmp_path / "var" / "secret.key")
    first = settings.resolved_secret()
    assert len(first) >= 48 and settings.resolved_secret() == first
    assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o077 == 0


def test_cookies_are_secure_outside_localhost() -> None:
    assert not load_settings(issuer="http://localhost:8000").secure_cookies
    assert load_settings(issuer="http://genba.example").secure_cookies


def test_issuer_must_be_absolute_without_query() -> None:
    with pytest.raises(SettingsError):
        load_settings(issuer="id.genba.example")
    with pytest.raises(SettingsError, match="query"):
        load_settings(issuer="https://id.genba.example/?x=1")


def test_cli_refuses_to_start_in_production_with_one_line(tmp_path: Path) -> None:
    env = {"GENBA_ENVIRONMENT": "production", "GENBA_ISSUER": "https://id.genba.example", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "GENBA_SECRET_KEY" in lines[0], proc.stderr


def test_the_outbound_development_setting_is_refused_in_production() -> None:
    """Issue 12 hole 6: GENBA_OUTBOUND_ALLOW_PRIVATE lets the server call internal addresses; a
    production process refuses to start with it."""
    secret = "a-production-secret-key-0123456789-abcdef"
    good = load_settings(environment="production", issuer="https://id.example.jp", secret_key=secret)
    assert good.outbound_policy().allow_private is False
    with pytest.raises(SettingsError, match="OUTBOUND_ALLOW_PRIVATE"):
        load_settings(
            environment="production", issuer="https://id.example.jp", secret_key=secret, outbound_allow_private=True
        )
