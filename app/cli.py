"""The ``genba`` command line (typer).

Every command prints one clear line on stderr and exits with 2 on bad input; each
``admin`` command runs in one transaction, so nothing is half-created.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlmodel import Session

from app import database
from app.settings import Settings, SettingsError, load_settings
from idp import accounts, audit, enrolment
from idp.audit import AuditEvents
from idp.passwords import Passwords
from idp.runtime import SystemRandomness, system_clock
from idp.secretbox import SecretBox
from idp.validation import FieldProblem, normalise_14_digit_id, parse_date

cli = typer.Typer(help="Genba ID (現場ID) command line", no_args_is_help=True, pretty_exceptions_enable=False)
db_cli = typer.Typer(help="Database migrations", no_args_is_help=True)
admin_cli = typer.Typer(help="Create accounts and affiliations", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(admin_cli, name="admin")
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was created as JSON")]


def fail(message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def settings_or_fail() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One transaction: committed on success, rolled back (nothing stored) on any error."""
    engine = database.make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            try:
                yield session
                session.commit()
            except FieldProblem as problem:
                session.rollback()
                fail(f"{problem.field}: {problem.en} / {problem.ja}")
            except Exception:
                session.rollback()
                raise
    finally:
        engine.dispose()


def passwords_for(settings: Settings) -> Passwords:
    return Passwords(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )


def emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    else:
        human()


def _date(value: str, field: str) -> date:
    try:
        return parse_date(value, field=field)
    except FieldProblem as problem:
        fail(f"{problem.field}: {problem.en} / {problem.ja}")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (safe to run again)."""
    settings = settings_or_fail()
    database.upgrade(settings.database_url)
    out.print(f"database at revision {database.current_revision(settings.database_url)}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    proxy_headers: Annotated[bool, typer.Option(help="Trust X-Forwarded-* from --forwarded-allow-ips")] = False,
    fd: Annotated[
        int | None, typer.Option(help="Serve on this inherited listening socket (one worker; tests, socket activation)")
    ] = None,
) -> None:
    """Run the web service (limits on request heads, connections and timeouts: app/serving.py)."""
    import uvicorn

    from app.serving import uvicorn_options
    from app.workers import GRACEFUL_SHUTDOWN_SECONDS, run_server, server_config, supervise_workers

    settings_or_fail()  # fail fast with one line, before workers start
    from app.logs import configure

    log_config = configure()
    if fd is not None and workers != 1:
        fail("--fd serves one inherited socket with one worker; leave out --workers")
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # one merged /metrics across workers (prometheus_client multiprocess mode)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="genba-metrics-")
    if fd is not None:
        # socket.socket(fileno=) learns the family (uvicorn's own --fd assumes AF_UNIX): client
        # addresses reach the throttles and logs, and accepted connections get TCP_NODELAY
        run_server(server_config(host, port, proxy_headers, log_config), [socket.socket(fileno=fd)])
    elif workers == 1:
        run_server(server_config(host, port, proxy_headers, log_config))
    elif hasattr(socket, "SO_REUSEPORT"):
        raise typer.Exit(supervise_workers(host, port, workers, proxy_headers, log_config))
    else:  # no SO_REUSEPORT on this platform: uvicorn's workers on one shared socket
        uvicorn.run(
            "app.asgi:create",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=proxy_headers,
            log_config=log_config,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            **uvicorn_options(),
        )


@cli.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the service after loading")] = True,
    otp: Annotated[bool, typer.Option("--otp", help="Only print the demo accounts' current TOTP codes")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    as_json: JsonOpt = False,
) -> None:
    """Migrate, load demo data (idempotent), print how to sign in, and serve."""
    from app import demo as demo_data

    settings = settings_or_fail()
    if settings.environment == "production":
        fail("demo data is never loaded in production (GENBA_ENVIRONMENT=production)")
    database.upgrade(settings.database_url)
    rng = SystemRandomness()
    box = SecretBox(settings.resolved_secret(), "totp", rng)
    with transaction(settings) as session:
        demo_accounts = demo_data.load_demo(
            session=session, settings=settings, passwords=passwords_for(settings), box=box, rng=rng, clock=system_clock
        )
    if otp:
        for username, code in demo_data.current_codes(demo_accounts, clock=system_clock).items():
            out.print(f"{username}: {code}")
        return
    if as_json:
        sys.stdout.write(json.dumps(demo_data.as_json(demo_accounts), ensure_ascii=False) + "\n")
    else:
        url = settings.issuer.rstrip("/")
        out.print(
            f"\n[bold]Genba ID demo[/bold] — open [link={url}/login]{url}/login[/link] "
            f"(passkeys need this host name; the service also answers on http://{host}:{port})\n"
        )
        for d in demo_accounts:
            out.print(
                f"[bold]{d.role}[/bold] {d.display_name}\n  username: {d.username}\n"
                f"  password: {d.password}\n  TOTP secret (add to an authenticator app): {d.totp_secret}"
            )
        out.print(
            "\nNo authenticator app at hand? `.venv/bin/genba demo --otp` prints the current codes.\n"
            "Try: sign in as the technician → 確認コード → マイアカウント (my data, sessions) → add a passkey →\n"
            "  情報提供の同意 (a system asks for qualifications: approve it) → sign out;\n"
            "  sign in as the employer admin →\n"
            "  /consent/employer (approve the technician's request) → the system may now read those fields.\n"
            "Wallet and gate: as the technician open /wallet/add (the CCUS card offer) → /wallet/app accepts it;\n"
            "  in another browser sign in as the gate staff → /gate/app → 新砂物流センター新築工事 → 同期 →\n"
            "  一般作業: the wallet presents (online, or offline as an animated QR) and the gate turns green.\n"
            "OpenID Connect: /.well-known/openid-configuration; register a client with\n"
            "  .venv/bin/genba admin create-client --name 'My app' --redirect-uri https://app.example/cb --json\n"
            "English: add ?lang=en to any page.\n"
        )
    if serve_after:
        # The demo's certificate source is the stand-in on 127.0.0.1 (`genba source serve`), which the
        # outbound policy refuses by default (docs/security.md, "Outbound requests"); the demo never
        # runs in production (checked above), so it allows loopback and private addresses for itself.
        os.environ.setdefault("GENBA_OUTBOUND_ALLOW_PRIVATE", "true")
        serve(host=host, port=port, workers=1, proxy_headers=False)


@admin_cli.command("create-employer")
def create_employer(
    employer_id: Annotated[str, typer.Option(help="事業者ID (14 digits)")],
    trade_name: Annotated[str, typer.Option(help="商号")],
    address: Annotated[str, typer.Option()],
    phone: Annotated[str, typer.Option()],
    sole_proprietor: Annotated[bool, typer.Option("--sole-proprietor", help="一人親方")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    with transaction(settings) as session:
        employer = accounts.create_employer(
            session=session,
            employer_id=employer_id,
            trade_name=trade_name,
            address=address,
            phone=phone,
            sole_proprietor=sole_proprietor,
            now=system_clock(),
        )
        data = {
            "employer_id": employer.employer_id,
            "trade_name": employer.trade_name,
            "sole_proprietor": employer.sole_proprietor,
        }
    emit(as_json, data, lambda: out.print(f"created employer {data['employer_id']} {data['trade_name']}"))


def _account_extras(session: Session, settings: Settings, account: Any, *, with_totp: bool) -> dict[str, str]:
    rng = SystemRandomness()
    extra: dict[str, str] = {}
    if with_totp:
        box = SecretBox(settings.resolved_secret(), "totp", rng)
        extra["totp_secret"] = enrolment.enrol_totp_directly(session=session, account=account, box=box, rng=rng)
    audit.record(
        session=session,
        event=AuditEvents.ACCOUNT_CREATED,
        outcome="success",
        now=system_clock(),
        account_id=account.id,
        subject=account.username,
        detail={"via": "cli", "kind": account.kind},
    )
    return extra


def _password(given: str | None) -> tuple[str, bool]:
    return (given, False) if given else (secrets.token_urlsafe(12), True)


@admin_cli.command("create-technician")
def create_technician(
    technician_id: Annotated[str, typer.Option(help="技能者ID (14 digits; full-width digits accepted)")],
    name: Annotated[str, typer.Option(help="氏名")],
    kana: Annotated[str, typer.Option(help="フリガナ")],
    birth_date: Annotated[str, typer.Option(help="生年月日 YYYY-MM-DD")],
    gender: Annotated[str, typer.Option(help="male|female|other|unspecified")],
    address: Annotated[str, typer.Option()],
    phone: Annotated[str, typer.Option()],
    face_photo: Annotated[Path | None, typer.Option(help="JPEG or PNG, at most 2 MB")] = None,
    password: Annotated[str | None, typer.Option(help="Initial password (generated if omitted)")] = None,
    with_totp: Annotated[bool, typer.Option("--with-totp", help="Enrol TOTP and print its secret")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    photo = None
    if face_photo is not None:
        try:
            photo = face_photo.read_bytes()
        except OSError as exc:
            fail(f"face_photo: cannot read {face_photo}: {exc.strerror}")
    pw, generated = _password(password)
    born = _date(birth_date, "birth_date")
    with transaction(settings) as session:
        account, technician = accounts.create_technician(
            session=session,
            technician_id=technician_id,
            name=name,
            name_kana=kana,
            birth_date=born,
            gender=gender,
            address=address,
            phone=phone,
            password=pw,
            face_photo=photo,
            passwords=passwords_for(settings),
            rng=SystemRandomness(),
            now=system_clock(),
        )
        data: dict[str, Any] = {
            "technician_id": technician.technician_id,
            "username": account.username,
            "name": technician.name,
        }
        if generated:
            data["password"] = pw
        data.update(_account_extras(session, settings, account, with_totp=with_totp))
    emit(as_json, data, lambda: out.print("created technician " + ", ".join(f"{k}={v}" for k, v in data.items())))


@admin_cli.command("create-staff")
def create_staff(
    employer_id: Annotated[str, typer.Option(help="事業者ID of the employer")],
    login: Annotated[str, typer.Option(help="Login name; signs in as <事業者ID>-<login>")],
    display_name: Annotated[str, typer.Option(help="氏名")],
    role: Annotated[str, typer.Option(help="admin|staff")] = "staff",
    email: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="Initial password (generated if omitted)")] = None,
    with_totp: Annotated[bool, typer.Option("--with-totp")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    pw, generated = _password(password)
    with transaction(settings) as session:
        account, staff = accounts.create_staff(
            session=session,
            employer_id=employer_id,
            login=login,
            display_name=display_name,
            role=role,
            email=email,
            password=pw,
            passwords=passwords_for(settings),
            rng=SystemRandomness(),
            now=system_clock(),
        )
        data: dict[str, Any] = {"username": account.username, "role": staff.role, "email": account.email}
        if generated:
            data["password"] = pw
        data.update(_account_extras(session, settings, account, with_totp=with_totp))
    emit(as_json, data, lambda: out.print("created staff " + ", ".join(f"{k}={v}" for k, v in data.items())))


@admin_cli.command("create-operator")
def create_operator(
    login: Annotated[str, typer.Option(help="Operator login name")],
    display_name: Annotated[str, typer.Option()],
    email: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option()] = None,
    with_totp: Annotated[bool, typer.Option("--with-totp")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    pw, generated = _password(password)
    with transaction(settings) as session:
        account = accounts.create_operator(
            session=session,
            login=login,
            display_name=display_name,
            email=email,
            password=pw,
            passwords=passwords_for(settings),
            rng=SystemRandomness(),
            now=system_clock(),
        )
        data: dict[str, Any] = {"username": account.username}
        if generated:
            data["password"] = pw
        data.update(_account_extras(session, settings, account, with_totp=with_totp))
    emit(as_json, data, lambda: out.print("created operator " + ", ".join(f"{k}={v}" for k, v in data.items())))


@admin_cli.command("link-affiliation")
def link_affiliation(
    technician_id: Annotated[str, typer.Option()],
    employer_id: Annotated[str, typer.Option()],
    start: Annotated[str, typer.Option(help="First day YYYY-MM-DD")],
    as_json: JsonOpt = False,
) -> None:
    """Affiliate a technician with an employer; the current affiliation (if any) ends the day before."""
    settings = settings_or_fail()
    start_date = _date(start, "start")
    with transaction(settings) as session:
        affiliation = accounts.link_affiliation(
            session=session,
            technician_id=technician_id,
            employer_id=employer_id,
            start_date=start_date,
            now=system_clock(),
        )
        data = {
            "technician_id": normalise_14_digit_id(technician_id, field="technician_id"),
            "employer_id": normalise_14_digit_id(employer_id, field="employer_id"),
            "start_date": affiliation.start_date.isoformat(),
        }
    emit(
        as_json,
        data,
        lambda: out.print(f"linked {data['technician_id']} to {data['employer_id']} from {data['start_date']}"),
    )


def main() -> None:
    import app.cli_connectors
    import app.cli_db
    import app.cli_gate
    import app.cli_oauth
    import app.cli_register
    import app.cli_wallet  # noqa: F401  (credentials commands)

    try:
        cli()
    except SettingsError as exc:
        err.print(f"error: {exc}", markup=False)
        raise SystemExit(2) from None
