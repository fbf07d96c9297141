"""The demo's certificate source: ``genba demo`` runs the reference source (tools/reference_source) as its
own process on its own port, trusts the bodies it publishes and connects Genba ID to it, so the printed
walkthrough's 「マイナポータルから資格を取り込む」 works (issue 15, Broken 2: it ended on
ERR_CONNECTION_REFUSED because nothing of this was started or configured).

The listening socket is bound here and handed to the child (``--fd``, as tests/support/server.py does):
the port is known and taken before the child starts, and the first request waits in the socket's
backlog instead of failing, so nothing polls. The child is stopped when the demo stops.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlmodel import Session

from common import outbound
from connectors import trust
from connectors.models import TrustedKey
from idp.runtime import Clock
from tools.reference_source.keys import CLIENT_ID, load_or_create_client_secret

#: Seconds the first answer of the started source may take (it imports and signs its records first).
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
SOURCE_HOST = "127.0.0.1"


@dataclass
class DemoSource:
    """The running source: its URL (also its issuer), its data dir and the client's secret."""

    base_url: str
    data_dir: Path
    client_secret: str = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    client_id: str = CLIENT_ID

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_source(*, port: int, data_dir: Path, log_path: Path) -> DemoSource:
    """``python -m tools.reference_source --fd N`` on ``127.0.0.1:port`` (another site than Genba ID's
    ``localhost``, as the real source is), its keys and client secret in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = load_or_create_client_secret(data_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn's --fd treats the descriptor as AF_UNIX and never sets TCP_NODELAY on accepted
        # connections; Linux copies it from the listening socket (as tests/support/server.py does)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((SOURCE_HOST, port))
        except OSError as exc:
            raise RuntimeError(f"the demo's certificate source cannot listen on {SOURCE_HOST}:{port} ({exc})") from None
        sock.listen(128)
        base_url = f"http://{SOURCE_HOST}:{sock.getsockname()[1]}"
        command = [sys.executable, "-m", "tools.reference_source", "--data-dir", str(data_dir.resolve())]
        command += ["--fd", str(sock.fileno()), "--issuer", base_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENBA_")} | {"PYTHONUNBUFFERED": "1"}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
    finally:
        sock.close()
    return DemoSource(base_url, data_dir, secret, process)


def trust_source(
    source: DemoSource, *, session: Session, policy: outbound.OutboundPolicy, clock: Clock
) -> list[TrustedKey]:
    """What ``genba trust import-source URL`` does: every body the source publishes, with its courses
    and keys (the first answer waits in the socket's backlog while the source starts)."""
    ready = outbound.OutboundPolicy(
        allow_private=policy.allow_private,
        timeout=READY_TIMEOUT_SECONDS,
        deadline=READY_TIMEOUT_SECONDS,
        max_bytes=policy.max_bytes,
    )
    try:
        with outbound.client(ready) as http:
            bodies = http.get(source.base_url + "/api/v1/bodies").raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        code = source.process.poll()
        raise RuntimeError(
            f"the demo's certificate source at {source.base_url} did not answer ({type(exc).__name__}); "
            f"exit code {code}"
        ) from None
    added, _skipped = trust.add_published(session=session, bodies=bodies, actor="demo", now=clock())
    return added


def connect_settings(source: DemoSource) -> dict[str, str]:
    """The environment that connects Genba ID to the source (app/settings.py: ``GENBA_MYNAPORTAL_*``)."""
    return {"GENBA_MYNAPORTAL_URL": source.base_url, "GENBA_MYNAPORTAL_CLIENT_SECRET": source.client_secret}
