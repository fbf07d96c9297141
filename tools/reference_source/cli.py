"""Running the reference source as its own process.

``serve()`` is what ``genba source serve`` calls; ``python -m tools.reference_source`` runs the
same without the project's CLI (``--fd`` serves on an already bound socket, as the e2e tests do).
``from_env`` is a factory for ``uvicorn --factory tools.reference_source.cli:from_env``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from tools.reference_source.app import Source, create_source_app
from tools.reference_source.keys import CLIENT_ID
from tools.reference_source.seed import FIXED_PEOPLE


def default_issuer(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host  # noqa: S104  (display only)
    return f"http://{shown}:{port}"


def describe(source: Source, data_dir: Path) -> list[str]:
    """What an operator needs to connect Genba ID to this source (the secret included)."""
    lines = [
        f"reference source at {source.issuer} (data dir {data_dir})",
        f"  client_id: {CLIENT_ID}",
        f"  client_secret: {source.client_secret}",
        f"  trust list material: {source.issuer}/api/v1/bodies",
        f"  records: {len(source.store)} (fixed people first, then bulk)",
    ]
    lines += [f"  sign in as {p.login} / PIN {p.pin} ({p.holder.name})" for p in FIXED_PEOPLE.values()]
    if source.fail_after is not None:
        lines.append(f"  /api/v1/records fails with HTTP 500 after {source.fail_after} successful calls")
    return lines


def serve(
    data_dir: Path,
    host: str,
    port: int,
    issuer: str | None,
    fail_after: int | None,
    bulk: int,
    *,
    seed: int = 7,
    fd: int | None = None,
) -> None:
    """Create the data dir's keys if needed, print the connection details and run uvicorn (no reload)."""
    import uvicorn

    app = create_source_app(
        data_dir, issuer=issuer or default_issuer(host, port), fail_after=fail_after, seed=seed, bulk=bulk
    )
    source: Source = app.state.source
    for line in describe(source, data_dir):
        print(line, flush=True)
    if fd is not None:
        uvicorn.run(app, fd=fd, server_header=False, log_level="info")
    else:
        uvicorn.run(app, host=host, port=port, server_header=False, log_level="info")


def from_env() -> FastAPI:
    """``GENBA_SOURCE_DATA_DIR`` (required), ``GENBA_SOURCE_ISSUER`` (required), and optional
    ``GENBA_SOURCE_FAIL_AFTER``, ``GENBA_SOURCE_BULK``, ``GENBA_SOURCE_SEED``."""
    env = os.environ
    fail_after = env.get("GENBA_SOURCE_FAIL_AFTER")
    return create_source_app(
        Path(env["GENBA_SOURCE_DATA_DIR"]),
        issuer=env["GENBA_SOURCE_ISSUER"],
        fail_after=int(fail_after) if fail_after else None,
        bulk=int(env.get("GENBA_SOURCE_BULK", "0")),
        seed=int(env.get("GENBA_SOURCE_SEED", "7")),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.reference_source", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("var/reference-source"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--issuer", default=None, help="default http://localhost:<port>")
    parser.add_argument("--fail-after", type=int, default=None)
    parser.add_argument("--bulk", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fd", type=int, default=None, help="serve on this already bound socket")
    args = parser.parse_args(argv)
    if args.bulk < 0 or (args.fail_after is not None and args.fail_after < 0):
        parser.error("--bulk and --fail-after must not be negative")
    serve(args.data_dir, args.host, args.port, args.issuer, args.fail_after, args.bulk, seed=args.seed, fd=args.fd)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
