"""The certificate connectors (issue 5) against the reference source running as its own process.

One source per test session (per xdist worker) on loopback, ``python -m tools.reference_source
--fd N --bulk BULK``: the fixed people's records (鈴木 一郎 TR-000001..13, 髙橋　勇 TR-000101..103)
followed by ``BULK`` generated records. Every test runs on SQLite and on PostgreSQL through the
``db_url``/``engine``/``db`` fixtures of ``tests/conftest.py`` (the ``db`` fixture empties the tables
afterwards). Nothing sleeps: the source answers from a socket bound before it started.

The technician's side of the code flow is played by httpx: it opens the authorization URL made by
``MyNaPortalClient``, signs in with login and PIN, approves, and reads the code from the ``Location``
of the redirect to Genba ID's callback (which nothing serves here: it is never followed).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import Engine, delete, insert
from sqlmodel import Session, col, select

import connectors.models  # noqa: F401  (the tables must be known to truncate_all)
from connectors import trust
from connectors.models import Certificate, ImportRun, Quarantine
from connectors.sources.mynaportal.client import MyNaPortalClient, pkce_pair
from connectors.verify import ExpectedHolder
from idp.models import Account, AccountKind, Technician
from idp.passwords import Passwords
from idp.runtime import SystemRandomness, token_urlsafe
from tests.support.server import SourceServer, running_source
from tests.support.world import World
from tools.reference_source.catalog import COURSES
from tools.reference_source.seed import bulk_records, fixed_records

SEED = 7
BULK = 400  # generated records after the 16 fixed ones
REDIRECT_URI = "http://localhost:9/certificates/import/callback"  # never served: the code is read, not followed
PASSWORD = "correct horse battery staple"
CLIENT_ID = "genba-id"
HTTP_TIMEOUT = 30.0

SUZUKI = {"technician_id": "10000000000019", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth": "1985-04-12"}
TAKAHASHI = {"technician_id": "10000000000027", "name": "高橋 勇", "kana": "タカハシ イサム", "birth": "1990-07-07"}

#: 鈴木 一郎's list at the source: what a technician-started import does with each record.
SUZUKI_IMPORTED = ["TR-000001", "TR-000002", "TR-000003", "TR-000004", "TR-000005", "TR-000006", "TR-000012"]
SUZUKI_IMPORTED += ["TR-000013"]
SUZUKI_REJECTED = {
    "TR-000007": "bad_signature",  # payload altered after signing
    "TR-000008": "unknown_signer",  # a body on no trust list
    "TR-000009": "identity_mismatch",  # 鈴木 一朗, another birth date
    "TR-000010": "signer_key_not_valid",  # the crane school's old key, used after it expired
    "TR-000011": "revoked",
}
TAKAHASHI_IMPORTED = ["TR-000101", "TR-000102", "TR-000103"]


# -- the source -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceServer]:
    with running_source(tmp_path_factory.mktemp("reference-source") / "data", bulk=BULK, seed=SEED) as server:
        yield server


@pytest.fixture
def mynaportal(source: SourceServer) -> Iterator[MyNaPortalClient]:
    http = httpx.Client(timeout=HTTP_TIMEOUT)
    try:
        yield MyNaPortalClient(source.base_url, CLIENT_ID, source.client_secret, http=http)
    finally:
        http.close()


#: what the bodies made in tests may certify: every course of the reference catalogue, and the
#: ``ashiba`` code the signed-file tests use (the course scope itself is tested on its own)
TEST_COURSES = (*COURSES, "ashiba")


def trust_source(engine: Engine, source: SourceServer, *, actor: str, now: datetime) -> list[str]:
    """What ``genba trust import-source URL`` does, in-process: every published body and key; the kids."""
    bodies = httpx.get(source.url("/api/v1/bodies"), timeout=HTTP_TIMEOUT).raise_for_status().json()
    kids = []
    with Session(engine) as session:
        for body in bodies:
            for key in body["keys"]:
                row = trust.add(
                    session=session,
                    issuer_id=body["body_id"],
                    name=body["name"],
                    jwk=key["jwk"],
                    valid_from=key["valid_from"] and datetime.fromisoformat(key["valid_from"]),
                    valid_until=key["valid_until"] and datetime.fromisoformat(key["valid_until"]),
                    courses=body["courses"],
                    actor=actor,
                    now=now,
                )
                kids.append(row.kid)
        session.commit()
    return kids


@pytest.fixture
def trusted(engine: Engine, db: Session, source: SourceServer, clock: Any) -> list[str]:
    """The source's bodies in the trust list of this test's database (emptied afterwards by ``db``)."""
    return trust_source(engine, source, actor="test", now=clock())


# -- the technician's side of the code flow ---------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    code: str
    state: str
    verifier: str
    redirect_uri: str
    iss: str


def authorize_at_source(client: MyNaPortalClient, *, login: str, pin: str, decision: str = "approve") -> Authorization:
    """Open the authorization URL, sign in with login + PIN, decide; the redirect back is read, not followed."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    url = client.authorization_url(redirect_uri=REDIRECT_URI, state=state, code_challenge=challenge)
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as browser:
        login_page = browser.get(url)
        assert login_page.status_code == 200, login_page.text
        assert 'name="login"' in login_page.text and 'name="pin"' in login_page.text
        signed_in = browser.post(client.base_url + "/authorize/login", data={"login": login, "pin": pin})
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(client.base_url + signed_in.headers["location"])
        assert consent.status_code == 200 and 'value="approve"' in consent.text, consent.text
        back = browser.post(client.base_url + "/authorize/consent", data={"decision": decision})
        assert back.status_code == 303, back.text
    location = back.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    assert query.get("state") == state, query
    return Authorization(query.get("code", ""), state, verifier, REDIRECT_URI, query.get("iss", ""))


def records_of(client: MyNaPortalClient, *, login: str, pin: str) -> list[str]:
    """The whole technician-started fetch: consent at the source, code exchange (PKCE), /me/certificates."""
    grant = authorize_at_source(client, login=login, pin=pin)
    assert grant.iss == client.base_url
    token = client.exchange(code=grant.code, verifier=grant.verifier, redirect_uri=grant.redirect_uri)
    return client.my_records(token)


# -- technicians registered in Genba ID -------------------------------------------------------------


def register(
    engine: Engine, passwords: Passwords, person: dict[str, str], *, now: datetime, **changes: str
) -> ExpectedHolder:
    """A technician registered through ``idp.accounts``; the holder the import matches records against."""
    values = person | changes
    with Session(engine) as session:
        world = World(session, clock=lambda: now, passwords=passwords).technician(
            values["technician_id"],
            values["name"],
            kana=values["kana"],
            birth_date=date.fromisoformat(values["birth"]),
            password=PASSWORD,
        )
        session.commit()
        technician = world.technicians[values["technician_id"]]
        return ExpectedHolder(technician.technician_id, technician.name, technician.birth_date)


def insert_technicians(engine: Engine, people: Iterable[dict[str, Any]], *, password_hash: str, now: datetime) -> int:
    """Technicians and their accounts by bulk insert (one shared password hash): fast for many."""
    rng = SystemRandomness()
    people = list(people)
    account_rows = [
        {
            "kind": AccountKind.technician.value,
            "username": p["technician_id"],
            "email": None,
            "display_name": p["name"],
            "password_hash": password_hash,
            "password_changed_at": now,
            "totp_secret_enc": None,
            "totp_last_step": None,
            "webauthn_user_handle": rng.token_bytes(32),
            "subject": token_urlsafe(rng, 16),
            "disabled": False,
            "created_at": now,
        }
        for p in people
    ]
    with engine.begin() as conn:
        rows = conn.execute(insert(Account).returning(col(Account.id), col(Account.username)), account_rows)
        ids = {username: pk for pk, username in rows}
        conn.execute(
            insert(Technician),
            [
                {
                    "technician_id": p["technician_id"],
                    "account_id": ids[p["technician_id"]],
                    "name": p["name"],
                    "name_kana": p["name_kana"],
                    "birth_date": date.fromisoformat(p["birth_date"]),
                    "gender": "unspecified",
                    "address": "東京都千代田区1-1",
                    "phone": "03-0000-0000",
                    "face_photo": None,
                    "face_photo_type": None,
                    "created_at": now,
                }
                for p in people
            ],
        )
    return len(people)


@pytest.fixture(scope="session")
def password_hash(passwords: Passwords) -> str:
    return passwords.hash(PASSWORD)


# -- signing our own records (a test body, trusted with a key made here) -----------------------------


@dataclass(frozen=True)
class SigningBody:
    issuer_id: str
    name: str
    key: ECKey

    @property
    def kid(self) -> str:
        return self.key.thumbprint()

    def trust(
        self, engine: Engine, *, now: datetime, courses: Iterable[str] = TEST_COURSES, **validity: datetime | None
    ) -> None:
        with Session(engine) as session:
            trust.add(
                session=session,
                issuer_id=self.issuer_id,
                name=self.name,
                jwk=self.key.as_dict(private=False),
                valid_from=validity.get("valid_from"),
                valid_until=validity.get("valid_until"),
                courses=list(courses),
                actor="test",
                now=now,
            )
            session.commit()

    def sign_record(self, **claims: Any) -> str:
        """A MyNaPortal-style record (compact JWS, ES256, ``kid``) with sensible defaults."""
        payload = {
            "iss": self.issuer_id,
            "iat": int(datetime(2024, 4, 1, 10, tzinfo=UTC).timestamp()),
            "record_id": f"X-{secrets.token_hex(4)}",
            "certificate_number": "第01-0001号",
            "course_kind": "技能講習",
            "course_code": "tamakake",
            "course_name": "玉掛け技能講習",
            "training_body": self.name,
            "completed_on": "2024-03-22",
            "holder": {
                "name": SUZUKI["name"],
                "name_kana": SUZUKI["kana"],
                "birth_date": SUZUKI["birth"],
                "technician_id": SUZUKI["technician_id"],
            },
            "status": "valid",
            "supersedes": None,
        } | claims
        body = json.dumps(payload, ensure_ascii=False).encode()
        return jws.serialize_compact({"alg": "ES256", "kid": self.kid}, body, self.key, algorithms=["ES256"])


def new_body(issuer_id: str, name: str) -> SigningBody:
    return SigningBody(issuer_id, name, ECKey.generate_key("P-256", private=True))


def payload_of(compact: str) -> dict[str, Any]:
    segment = compact.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


# -- the end state of an import ---------------------------------------------------------------------


@dataclass(frozen=True)
class EndState:
    """What an import leaves behind, free of row ids, run ids and times (comparable across runs)."""

    certificates: tuple[tuple[str, ...], ...]  # issuer, number, technician, record id, status, superseded by
    quarantine: tuple[tuple[str, ...], ...]  # reason code, record id, number, technician (sorted, with repeats)
    run_counts: tuple[tuple[str, int], ...]  # of the last finished run

    @property
    def reasons(self) -> Counter[str]:
        return Counter(row[0] for row in self.quarantine)


def end_state(engine: Engine) -> EndState:
    with Session(engine) as session:
        certs = session.exec(select(Certificate)).all()
        number_of = {c.id: c.certificate_number for c in certs}
        certificates = sorted(
            (
                c.issuer_id,
                c.certificate_number,
                c.technician_id,
                c.record_id,
                c.status,
                number_of.get(c.superseded_by, "") if c.superseded_by else "",
            )
            for c in certs
        )
        quarantine = sorted(
            (q.reason_code, q.record_id or "", q.certificate_number or "", q.technician_id or "")
            for q in session.exec(select(Quarantine)).all()
        )
        runs = session.exec(select(ImportRun).where(col(ImportRun.status) == "finished")).all()
        counts = sorted(runs[-1].counts.items()) if runs else []
    return EndState(tuple(certificates), tuple(quarantine), tuple(counts))


def forget_imports(engine: Engine) -> None:
    """Empty the import tables (certificates, quarantine, runs), keeping trust list and technicians."""
    with engine.begin() as conn:
        for table in (Certificate, Quarantine, ImportRun):
            conn.execute(delete(table))


def expected_bulk_state() -> tuple[set[str], Counter[str]]:
    """From the seed: the record ids a bulk import stores, and the quarantine reasons it records,
    when 鈴木 一郎, 髙橋 勇 and every generated holder are registered."""
    rejected_in_bulk = SUZUKI_REJECTED | {"TR-000009": "unknown_holder"}  # no technician id on that record
    specs = fixed_records() + bulk_records(SEED, BULK)
    stored = {spec.record_id for spec in specs if spec.record_id not in rejected_in_bulk}
    return stored, Counter(rejected_in_bulk.values())


def certificate_rows(engine: Engine) -> dict[str, Certificate]:
    with Session(engine) as session:
        return {c.record_id: c for c in session.exec(select(Certificate)).all()}


def quarantine_rows(engine: Engine) -> list[Quarantine]:
    with Session(engine) as session:
        return list(session.exec(select(Quarantine).order_by(col(Quarantine.id))).all())
