"""A real Genba ID server process for end-to-end tests: ``genba serve --fd N``, the command the
Docker image runs, so the tests meet the shipped limits and logging (app/serving.py, app/logs.py).

The listening socket is bound here, in the test process, on 127.0.0.1 port 0 and handed to
``genba serve --fd``: the port is known before the server starts and a request made while it is
still importing waits in the socket's backlog instead of failing, so nothing sleeps or polls.
Readiness is one HTTP GET with a generous timeout.

The server runs against a fresh SQLite file migrated with the real ``genba db upgrade``, and
accounts are created with the real ``genba admin create-technician`` CLI with the same
environment. The issuer is ``http://localhost:<port>`` because the WebAuthn relying-party id is
the issuer's host name: a browser must use that origin, not ``127.0.0.1``, for passkeys.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine

SECRET_KEY = "e2e-secret-key-0123456789-abcdefghijklmnopqrstuv"  # 32+ characters
READY_TIMEOUT_SECONDS = 60.0
CLI_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0


def _genba_executable() -> str:
    """The ``genba`` console script of the interpreter running the tests (``.venv/bin/genba``)."""
    beside = Path(sys.executable).parent / "genba"
    if beside.exists():
        return str(beside)
    found = shutil.which("genba")
    if found is None:
        raise RuntimeError(f"the genba command was not found next to {sys.executable} or on PATH")
    return found


def server_env(tmp: Path, port: int) -> dict[str, str]:
    """The environment of the server and of the CLI calls: nothing ``GENBA_*`` leaks in from outside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    env.update(
        {
            "GENBA_ENVIRONMENT": "test",
            "GENBA_DATABASE_URL": f"sqlite:///{tmp / 'genba-e2e.sqlite3'}",
            "GENBA_ISSUER": f"http://localhost:{port}",
            "GENBA_SECRET_KEY": SECRET_KEY,
            "GENBA_SECRET_FILE": str(tmp / "secret.key"),
            # Every test client is 127.0.0.1: the per-address limit on anonymous endpoints
            # (app/ratelimit.py) stays on but high enough for whole suites of flows; the
            # test of the limit itself starts its server with a small one.
            "GENBA_ANONYMOUS_REQUESTS_PER_MINUTE": "100000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class LiveServer:
    """A running ``genba serve --fd N`` process and the means to add accounts to it."""

    base_url: str  # http://localhost:<port>, the issuer and the only origin passkeys work on
    port: int
    tmp: Path
    env: dict[str, str] = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    @contextmanager
    def database(self) -> Iterator[Engine]:
        """An engine on the server's own database, for what no CLI shows or makes (the server
        process keeps running on it; SQLite serialises the writers). Disposed afterwards."""
        engine = create_engine(self.env["GENBA_DATABASE_URL"])
        try:
            yield engine
        finally:
            engine.dispose()

    def genba(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real ``genba`` CLI against this server's database; fail with its stderr on error."""
        return run_genba(self.env, self.tmp, *args)

    def create_technician(
        self,
        *,
        technician_id: str,
        name: str,
        kana: str,
        birth_date: str = "1985-04-12",
        gender: str = "male",
        address: str = "東京都江東区東陽4-5-6",
        phone: str = "090-1234-5678",
        password: str | None = None,
        with_totp: bool = True,
        face_photo: Path | None = None,
    ) -> dict[str, Any]:
        """``genba admin create-technician ... --json``; the JSON has username, password (if
        generated) and totp_secret (with ``with_totp``). ``face_photo`` is a JPEG or PNG file."""
        args = [
            "admin",
            "create-technician",
            "--technician-id",
            technician_id,
            "--name",
            name,
            "--kana",
            kana,
            "--birth-date",
            birth_date,
            "--gender",
            gender,
            "--address",
            address,
            "--phone",
            phone,
            "--json",
        ]
        if password is not None:
            args += ["--password", password]
        if with_totp:
            args.append("--with-totp")
        if face_photo is not None:
            args += ["--face-photo", str(face_photo)]
        result = self.genba(*args)
        data: dict[str, Any] = json.loads(result.stdout)
        if password is not None:
            data.setdefault("password", password)
        return data

    def create_client(
        self,
        *,
        name: str,
        redirect_uris: list[str],
        public: bool = False,
        grant_types: list[str] | None = None,
        auth_method: str | None = None,
        scope: str | None = None,
        jwks: str | None = None,
        require_par: bool = False,
        require_dpop: bool = False,
        owner_employer_id: str | None = None,
        wallet: bool = False,
    ) -> dict[str, Any]:
        """``genba admin create-client ... --json``; the JSON has client_id and, for a client that
        authenticates with a secret, client_secret. ``jwks`` is JSON text or ``@path``;
        ``owner_employer_id`` is the 事業者ID of the company the system belongs to and acts for."""
        args = ["admin", "create-client", "--name", name, "--json"]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        for grant in grant_types or []:
            args += ["--grant-type", grant]
        if public:
            args.append("--public")
        if auth_method is not None:
            args += ["--auth-method", auth_method]
        if scope is not None:
            args += ["--scope", scope]
        if jwks is not None:
            args += ["--jwks", jwks]
        if require_par:
            args.append("--require-par")
        if require_dpop:
            args.append("--require-dpop")
        if owner_employer_id is not None:
            args += ["--owner-employer-id", owner_employer_id]
        if wallet:
            args.append("--wallet")
        data: dict[str, Any] = json.loads(self.genba(*args).stdout)
        return data

    def create_employer(
        self,
        *,
        employer_id: str,
        trade_name: str,
        address: str = "東京都江東区東陽1-2-3",
        phone: str = "03-1234-5678",
        sole_proprietor: bool = False,
    ) -> dict[str, Any]:
        """``genba admin create-employer ... --json``; the JSON has employer_id and trade_name."""
        args = ["admin", "create-employer", "--employer-id", employer_id, "--trade-name", trade_name]
        args += ["--address", address, "--phone", phone, "--json"]
        if sole_proprietor:
            args.append("--sole-proprietor")
        data: dict[str, Any] = json.loads(self.genba(*args).stdout)
        return data

    def create_staff(
        self,
        *,
        employer_id: str,
        login: str,
        display_name: str,
        role: str = "staff",
        email: str | None = None,
        password: str | None = None,
        with_totp: bool = True,
    ) -> dict[str, Any]:
        """``genba admin create-staff ... --json``; the JSON has username (``<事業者ID>-<login>``),
        role, password (if generated) and totp_secret (with ``with_totp``)."""
        args = ["admin", "create-staff", "--employer-id", employer_id, "--login", login]
        args += ["--display-name", display_name, "--role", role, "--json"]
        if email is not None:
            args += ["--email", email]
        if password is not None:
            args += ["--password", password]
        if with_totp:
            args.append("--with-totp")
        data: dict[str, Any] = json.loads(self.genba(*args).stdout)
        if password is not None:
            data.setdefault("password", password)
        return data

    def link_affiliation(self, *, technician_id: str, employer_id: str, start: str) -> dict[str, Any]:
        """``genba admin link-affiliation ... --json``: the technician works for the employer from ``start``."""
        args = ["admin", "link-affiliation", "--technician-id", technician_id, "--employer-id", employer_id]
        data: dict[str, Any] = json.loads(self.genba(*args, "--start", start, "--json").stdout)
        return data

    def set_record(self, *, technician_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """``genba admin set-record --values '<JSON>' --json``: level, qualifications, insurance, ..."""
        text = json.dumps(values, ensure_ascii=False)
        args = ["admin", "set-record", "--technician-id", technician_id, "--values", text, "--json"]
        data: dict[str, Any] = json.loads(self.genba(*args).stdout)
        return data


@contextmanager
def unused_loopback_port() -> Iterator[int]:
    """A 127.0.0.1 port that is bound but never listened on, for as long as the block runs.

    Nothing else can take the port meanwhile, and a connection to it is refused at once: a
    redirect URI on it is never served, so a test must catch the browser's request to it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


def run_genba(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [_genba_executable(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"genba {' '.join(args[:2])} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn's own --fd (the reference source uses it) wraps the descriptor as an AF_UNIX socket, so
    # the event loop never sets TCP_NODELAY on accepted connections and each keep-alive response waits
    # ~40 ms for a delayed ACK (Nagle). Linux copies the option from the listening socket to accepted
    # ones. (genba serve --fd keeps the socket's real family, so it needs no help.)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def start_server(tmp: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    """Migrate a fresh SQLite database in ``tmp`` and start a server on it; return once it answers.

    ``tmp`` is also the working directory of every process, so a developer's ``.env`` is not read.
    ``extra_env`` adds settings (e.g. ``GENBA_MYNAPORTAL_URL``) for the server and its CLI calls.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    sock = _listening_socket()
    try:
        port = sock.getsockname()[1]
        env = server_env(tmp, port) | (extra_env or {})
        run_genba(env, tmp, "db", "upgrade")
        log_path = tmp / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                # The shipped command (docker/Dockerfile runs it too): the same uvicorn limits
                # (app/serving.py) and the same redacting JSON logs as production.
                [_genba_executable(), "serve", "--fd", str(sock.fileno())],
                env=env,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
    finally:
        # The child has its own copy; closing ours means a crashed server refuses
        # connections at once instead of leaving them queued forever.
        sock.close()
    server = LiveServer(
        base_url=f"http://localhost:{port}", port=port, tmp=tmp, env=env, process=process, log_path=log_path
    )
    try:
        wait_until_ready(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_until_ready(server: LiveServer, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """One GET of the sign-in page; it waits in the backlog until the application has started."""
    try:
        response = httpx.get(server.url("/login"), timeout=timeout)
    except httpx.HTTPError as exc:
        raise RuntimeError(
            f"the server at {server.base_url} did not answer ({exc!r}); exit code {server.process.poll()}\n"
            f"server log:\n{server.log_tail()}"
        ) from exc
    if response.status_code != 200:
        raise RuntimeError(
            f"GET /login answered {response.status_code}, expected 200\nserver log:\n{server.log_tail()}"
        )


def stop_server(server: LiveServer) -> None:
    """SIGTERM and wait (uvicorn shuts down gracefully); SIGKILL only if it does not stop in time."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def running_server(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """``with running_server(tmp) as server:`` — started, ready, and stopped afterwards."""
    server = start_server(tmp, extra_env)
    try:
        yield server
    finally:
        stop_server(server)


# -- the reference certificate source (tools/reference_source) as its own process ------------


@dataclass
class SourceServer:
    """A running ``python -m tools.reference_source --fd N`` process (a MyNaPortal-style source).

    Its keys and client secret live in ``data_dir``: a second process on the same directory signs
    with the same keys and serves the same records (a restarted or healthy twin of a failing source).
    """

    base_url: str  # http://127.0.0.1:<port>, also the source's issuer
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def client_secret(self) -> str:
        """The secret of the pre-registered client ``genba-id`` (the data dir's ``client_secret`` file)."""
        return (self.data_dir / "client_secret").read_text(encoding="utf-8").strip()

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_source(
    data_dir: Path,
    *,
    bulk: int = 0,
    fail_after: int | None = None,
    seed: int = 7,
    log_dir: Path | None = None,
) -> SourceServer:
    """Start the reference source on a socket bound here (127.0.0.1, port 0); return once it answers.

    ``bulk`` generated records follow the fixed people's; ``fail_after=N`` makes ``/api/v1/records``
    answer 500 once it has answered N pages. The issuer is ``http://127.0.0.1:<port>``: another site
    than Genba ID's ``http://localhost:<port>``, as the real source would be.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    logs = log_dir or data_dir.parent
    sock = _listening_socket()
    try:
        port = sock.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "tools.reference_source", "--data-dir", str(data_dir)]
        command += ["--fd", str(sock.fileno()), "--issuer", base_url, "--bulk", str(bulk), "--seed", str(seed)]
        if fail_after is not None:
            command += ["--fail-after", str(fail_after)]
        env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
        log_path = logs / f"source-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                env=env | {"PYTHONUNBUFFERED": "1"},
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
    finally:
        sock.close()
    source = SourceServer(base_url, port, data_dir, process, log_path)
    try:
        response = httpx.get(source.url("/.well-known/oauth-authorization-server"), timeout=READY_TIMEOUT_SECONDS)
        if response.status_code != 200:
            raise RuntimeError(f"the source answered {response.status_code}\nsource log:\n{source.log_tail()}")
    except httpx.HTTPError as exc:
        stop_source(source)
        raise RuntimeError(
            f"the source at {base_url} did not answer ({exc!r}); exit code {process.poll()}\n{source.log_tail()}"
        ) from exc
    except BaseException:
        stop_source(source)
        raise
    return source


def stop_source(source: SourceServer) -> None:
    if source.process.poll() is None:
        source.process.terminate()
        try:
            source.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            source.process.kill()
            source.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def running_source(data_dir: Path, **options: Any) -> Iterator[SourceServer]:
    """``with running_source(dir, bulk=500) as source:`` — started, ready, and stopped afterwards."""
    source = start_source(data_dir, **options)
    try:
        yield source
    finally:
        stop_source(source)


def cli_env(database_url: str, tmp: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``genba`` CLI process on ``database_url`` (no ``GENBA_*`` leaks in);
    ``settings`` are more ``GENBA_*`` values by setting name, e.g. ``mynaportal_url=...``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    env.update(
        {
            "GENBA_ENVIRONMENT": "test",
            "GENBA_DATABASE_URL": database_url,
            "GENBA_SECRET_KEY": SECRET_KEY,
            "GENBA_SECRET_FILE": str(tmp / "secret.key"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"GENBA_{name.upper()}": value for name, value in settings.items()})
    return env


def spawn_genba(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    """The real ``genba`` CLI as a child whose stdout is read line by line (stderr joins it)."""
    return subprocess.Popen(
        [_genba_executable(), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
