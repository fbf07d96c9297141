"""Seeding PostgreSQL fast with ``COPY … FROM STDIN`` (psycopg's ``cursor.copy``), for ``bench.scale``.

Rows are written as COPY text (tab-separated, ``\\N`` for NULL, bytea as ``\\\\x<hex>``) in chunks of
``CHUNK`` rows, one transaction per table, into the migrated schema with its indexes in place (what a
real table of that size has to maintain). Every account shares one precomputed argon2id hash;
every ``totp_every``-th technician has its own TOTP secret, sealed with the server's master key as
``idp.enrolment`` does. Ids are given explicitly and the sequences moved past them afterwards.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.signin import Person
from idp import totp
from idp.runtime import SystemRandomness
from idp.secretbox import SecretBox

CHUNK = 20_000
FIRST_TECHNICIAN = 10_000_000_000_000
FIRST_EMPLOYER = 20_000_000_000_000
REDIRECT_URI = "https://rp.example.jp/cb"


@dataclass(frozen=True)
class Seeded:
    people: list[Person]  # technicians with TOTP (their username and secret)
    clients: list[tuple[str, str]]  # (client_id, secret) of every client
    seconds: dict[str, float]  # per table, and "vacuum analyze"
    rows: dict[str, int]


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _copy(conn: psycopg.Connection[Any], table: str, columns: str, lines: Iterator[str]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == CHUNK:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def _timed(seconds: dict[str, float], name: str, conn: psycopg.Connection[Any], *copy_args: Any) -> None:
    started = time.perf_counter()
    _copy(conn, *copy_args)
    conn.commit()
    seconds[name] = time.perf_counter() - started


def seed(
    url: str, *, technicians: int, employers: int, clients: int, totp_every: int, master: bytes, password_hash: str
) -> Seeded:
    """Accounts + technicians, employers and confidential clients (SHA-256 secret hashes, as
    ``idp.oauth.clients`` stores them), then ``VACUUM ANALYZE``."""
    box = SecretBox(master, "totp", SystemRandomness())
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    people: list[Person] = []
    client_secrets = [(secrets.token_urlsafe(18), secrets.token_urlsafe(32)) for _ in range(clients)]
    seconds: dict[str, float] = {}

    def accounts() -> Iterator[str]:
        for i in range(technicians):
            username = str(FIRST_TECHNICIAN + i)
            sealed = r"\N"
            if i % totp_every == 0:
                person = Person(username, totp.new_secret(SystemRandomness()))
                people.append(person)
                sealed = box.seal(person.totp_secret.encode())
            handle = os.urandom(32).hex()
            yield (
                f"{i + 1}\ttechnician\t{username}\t\\N\t試験 太郎\t{password_hash}\t{now}\t{sealed}\t\\N\t"
                f"\\\\x{handle}\tf\t{now}\t{secrets.token_urlsafe(16)}\n"
            )

    def profiles() -> Iterator[str]:
        for i in range(technicians):
            yield (
                f"{i + 1}\t{i + 1}\t{FIRST_TECHNICIAN + i}\t試験 太郎\tシケン タロウ\t1990-01-01\tunspecified\t"
                f"東京都千代田区1-1\t03-0000-0000\t\\N\t\\N\t{now}\n"
            )

    def companies() -> Iterator[str]:
        for i in range(employers):
            yield f"{i + 1}\t{FIRST_EMPLOYER + i}\t試験建設株式会社\t東京都港区芝公園1-2-3\t03-1234-5678\tf\tf\t{now}\n"

    def registered() -> Iterator[str]:
        uris, grants = f'["{REDIRECT_URI}"]', '["authorization_code", "client_credentials"]'
        for n, (client_id, secret) in enumerate(client_secrets):
            digest = hashlib.sha256(secret.encode()).hexdigest()
            owner = n % employers + 1 if employers else r"\N"
            yield (
                f"{client_id}\t{digest}\tconfidential\t勤怠管理システム {n}\t{uris}\t[]\t{grants}\topenid profile\t"
                f"client_secret_basic\t\\N\tpublic\t\\N\tf\tf\t\\N\tf\t\\N\t\\N\tf\t{now}\t{owner}\t\\N\n"
            )

    account_columns = "id, kind, username, email, display_name, password_hash, password_changed_at, totp_secret_enc"
    account_columns += ", totp_last_step, webauthn_user_handle, disabled, created_at, subject"
    technician_columns = "id, account_id, technician_id, name, name_kana, birth_date, gender, address, phone"
    technician_columns += ", face_photo, face_photo_type, created_at"
    employer_columns = "id, employer_id, trade_name, address, phone, sole_proprietor, contact_substitution, created_at"
    client_columns = "client_id, client_secret_hash, client_type, client_name, redirect_uris, post_logout_redirect_uris"
    client_columns += ", grant_types, scope, token_endpoint_auth_method, jwks, subject_type, sector_identifier"
    client_columns += ", require_par, require_dpop, backchannel_logout_uri, backchannel_logout_session_required"
    client_columns += ", request_object_signing_alg, registration_token_hash, disabled, created_at, owner_employer_pk"
    client_columns += ", id_token_signed_response_alg"
    with psycopg.connect(plain_url(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        _timed(seconds, "account", conn, "account", account_columns, accounts())
        _timed(seconds, "technician", conn, "technician", technician_columns, profiles())
        _timed(seconds, "employer", conn, "employer", employer_columns, companies())
        _timed(seconds, "oauthclient", conn, "oauthclient", client_columns, registered())
        for table in ("account", "technician", "employer"):
            conn.execute(f"SELECT setval('{table}_id_seq', (SELECT coalesce(max(id), 1) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        seconds["vacuum analyze"] = time.perf_counter() - started
    rows = {"account": technicians, "technician": technicians, "employer": employers, "oauthclient": clients}
    return Seeded(people, client_secrets, seconds, rows)
