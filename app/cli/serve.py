"""``genba serve`` and ``genba demo``: the service, and the service with demo data (the README's
first command)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
from typing import Annotated, Any

import typer

from app import database
from app.cli.common import JsonOpt, fail, out, passwords_for, settings_or_fail, transaction
from idp.public import SecretBox, SystemRandomness, system_clock


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


def _demo_issuer(host: str, port: int) -> str:
    """The issuer the demo serves as when none is configured: this host and ``--port`` (a host name a
    browser accepts for passkeys, so ``localhost`` for loopback and wildcard addresses)."""
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost") else host  # noqa: S104
    return f"http://{shown}:{port}"


def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the service after loading")] = True,
    otp: Annotated[bool, typer.Option("--otp", help="Only print the demo accounts' current TOTP codes")] = False,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; the issuer follows it unless GENBA_ISSUER is set")] = 8000,
    source_port: Annotated[
        int | None, typer.Option(help="Port of the demo's certificate source (default: --port + 100)")
    ] = None,
    fd: Annotated[int | None, typer.Option(help="Serve on this inherited listening socket bound to --port")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Migrate, load demo data (idempotent), start the demo certificate source, print how to sign in, and serve."""
    # Demo data is not the service (tools/, built with the tests' world builder): loaded only by this
    # command, inside it (the import contract's named exception, pyproject.toml).
    from tools import demo as demo_data

    settings = settings_or_fail()
    if settings.environment == "production":
        fail("demo data is never loaded in production (GENBA_ENVIRONMENT=production)")
    if "issuer" not in settings.model_fields_set:
        # issue 15 Broken 2: `--port 8603` served on 8603 but issued for, and printed, :8000
        os.environ["GENBA_ISSUER"] = _demo_issuer(host, port)
    # The demo's certificate source is the stand-in on 127.0.0.1, which the outbound policy refuses by
    # default (docs/security.md, "Outbound requests"); the demo never runs in production (checked
    # above), so it allows loopback and private addresses for itself.
    os.environ.setdefault("GENBA_OUTBOUND_ALLOW_PRIVATE", "true")
    settings = settings_or_fail()
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
    source = None
    if serve_after:
        try:
            source = demo_data.start_certificate_source(
                settings=settings, port=port + 100 if source_port is None else source_port, clock=system_clock
            )
        except RuntimeError as exc:
            fail(str(exc))
    try:
        if as_json:
            sys.stdout.write(json.dumps(demo_data.as_json(demo_accounts), ensure_ascii=False) + "\n")
        else:
            _print_walkthrough(settings.issuer.rstrip("/"), host, port, demo_accounts, source)
        if serve_after:
            # uvicorn re-raises the SIGTERM it shut down on once it has restored the handlers it found:
            # this one turns it into SystemExit, so the source below is stopped too, not orphaned
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
            serve(host=host, port=port, workers=1, proxy_headers=False, fd=fd)
    finally:
        if source is not None:
            source.stop()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _print_walkthrough(url: str, host: str, port: int, demo_accounts: list[Any], source: Any) -> None:
    out.print(
        f"\n[bold]Genba ID demo[/bold] — open [link={url}/login]{url}/login[/link] "
        f"(passkeys need this host name; the service also answers on http://{host}:{port})\n"
    )
    for d in demo_accounts:
        out.print(
            f"[bold]{d.role}[/bold] {d.display_name}\n  username: {d.username}\n"
            f"  password: {d.password}\n  TOTP secret (add to an authenticator app): {d.totp_secret}"
        )
    if source is not None:
        out.print(
            f"\nCertificate source (a MyNaPortal-style stand-in, trusted and connected): {source.base_url}\n"
            "  as the technician: 保有資格 /certificates → 「マイナポータルから資格を取り込む」 →\n"
            "  at the source sign in as suzuki / PIN 1234 → 提供する: the certificates are imported;\n"
            "  then /wallet/app receives them and the gate's クレーン作業 asks for 玉掛け and 小型移動式クレーン."
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
