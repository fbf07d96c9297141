"""Hole 7 (issue 12): ``genba gate verify`` accepted a replayed presentation for the same challenge
(exit 0, green) while silently not recording it.

Mechanism: a challenge is answered once (wallet/gate/service.py ``nonce_used`` and the unique nonce of
an entry; wallet/gate/nonce_log.py for ``--bundle``): the same presentation read again is red, exit 1,
with a one-line bilingual message on stderr, and — against the server — recorded as a refusal.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.security.conftest import DEMO_PRIME, DEMO_SITE, DEMO_TECHNICIAN
from tests.support import gate_http
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer
from wallet.gate.codec import encode_challenge


def _reader_input(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser], gate_id: str
) -> tuple[str, str, dict[str, object]]:
    gate = users(server, staff(employer_id=DEMO_PRIME, role="staff")).sign_in()
    held = gate_http.wallet_of(server, DEMO_TECHNICIAN)
    bundle = gate_http.sync(gate, DEMO_SITE, gate_id)
    c = gate_http.challenge(DEMO_SITE, gate_id)
    return encode_challenge(c), "\n".join(gate_http.frames(held, bundle, c)), bundle


def _assert_replay_refused(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] is False and [r["code"] for r in result["reasons"]] == ["replayed"], result
    [line] = [x for x in done.stderr.splitlines() if x.strip()]
    assert "再提示" in line and "replay" in line, line


def test_a_presentation_read_again_for_the_same_challenge_is_refused_and_recorded(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """Issue 12 hole 7, against the server's data (card-reader integration): single use of the challenge."""
    challenge, frames, _ = _reader_input(server, staff, users, "h7-reader")
    first = gate_http.gate_verify(server, "--challenge", challenge, stdin=frames)
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1])["technician_id"] == DEMO_TECHNICIAN
    _assert_replay_refused(gate_http.gate_verify(server, "--challenge", challenge, stdin=frames))
    _assert_replay_refused(gate_http.gate_verify(server, "--challenge", challenge, "--direction", "out", stdin=frames))
    events, refusals = gate_http.gate_rows(server, DEMO_SITE, "h7-reader")
    assert [(e.technician_id, e.direction, e.mode) for e in events] == [(DEMO_TECHNICIAN, "in", "reader")]
    assert [r.reason_code for r in refusals] == ["replayed", "replayed"]


def test_a_replay_against_a_bundle_is_refused_too(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser], tmp_path: Path
) -> None:
    """Issue 12 hole 7 with ``--bundle`` (no database): the answered challenges are kept beside the bundle."""
    challenge, frames, bundle = _reader_input(server, staff, users, "h7-bundle")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    first = gate_http.gate_verify(server, "--challenge", challenge, "--bundle", str(path), stdin=frames)
    assert first.returncode == 0, first.stdout + first.stderr
    _assert_replay_refused(gate_http.gate_verify(server, "--challenge", challenge, "--bundle", str(path), stdin=frames))
