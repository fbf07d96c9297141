"""``genba serve`` and ``genba demo``: the service, and the service with demo data (the README's
first command)."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from typing import Annotated

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


def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the service after loading")] = True,
    otp: Annotated[bool, typer.Option("--otp", help="Only print the demo accounts' current TOTP codes")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    as_json: JsonOpt = False,
) -> None:
    """Migrate, load demo data (idempotent), print how to sign in, and serve."""
    # Demo data is not the service (tools/, built with the tests' world builder): loaded only by this
    # command, inside it (the import contract's named exception, pyproject.toml).
    from tools import demo as demo_data

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
