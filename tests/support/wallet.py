"""Helpers for the credential issuer tests: seeding a technician with an employer, a record and
imported certificates; driving OpenID4VCI's pre-authorized code flow step by step through any
httpx client (the ASGI ``TestClient`` or a real server); building key proofs; and reading the parts
of an SD-JWT VC without trusting them (the tests check them).

Nothing here decides what is correct: every helper returns the raw response so the test asserts
the status code and error name the specification gives.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlmodel import Session

from idp import accounts
from tests.support.certificates import add_imported
from tests.support.world import World
from wallet.offers import PRE_AUTH_GRANT, NewOffer, create_offer
from wallet.runtime import WalletRuntime

EMPLOYER_ID = "31000000000018"
EMPLOYER_NAME = "株式会社 山田工務店"
OTHER_EMPLOYER_ID = "31000000000026"
PROOF_TYP = "openid4vci-proof+jwt"
#: Claims of the CCUS card that are personal data and must be selectively disclosable.
CARD_PERSONAL = (
    "technician_id",
    "name",
    "name_kana",
    "level",
    "level_colour",
    "occupations",
    "employer",
    "social_insurance",
    "kentaikyo",
)
#: Claims every SD-JWT VC must carry in the clear (SD-JWT VC §3.2.2.2; Token Status List §6.2).
ALWAYS_VISIBLE = ("iss", "iat", "exp", "vct", "cnf", "status")


def runtime(app: FastAPI) -> WalletRuntime:
    value: WalletRuntime = app.state.wallet
    return value


def b64json(part: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS, unverified."""
    header, payload, _ = token.split(".")
    return b64json(header), b64json(payload)


def decode_disclosure(disclosure: str) -> list[Any]:
    value: list[Any] = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
    return value


def split_sd_jwt(value: str) -> tuple[str, list[str], str]:
    """(issuer-signed JWT, disclosures, key binding JWT or '') of ``<jwt>~<d>~...~[<kb>]``."""
    parts = value.split("~")
    return parts[0], parts[1:-1], parts[-1]


# -- seeding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededCertificate:
    issuer_id: str
    number: str

    @property
    def ref(self) -> str:
        return f"{self.issuer_id}/{self.number}"


def seed_technician_data(
    app: FastAPI,
    *,
    technician_id: str,
    employer_id: str | None = EMPLOYER_ID,
    certificates: int = 2,
    level: int = 3,
) -> list[SeededCertificate]:
    """An employer the technician works for, a record (level, occupations, insurance) and
    ``certificates`` imported 技能講習 certificates (rows of connectors' Certificate table)."""
    rt = runtime(app)
    now = rt.clock()
    seeded: list[SeededCertificate] = []
    with Session(rt.engine) as session:
        world = World(session, clock=rt.clock)
        if employer_id is not None:
            if accounts.find_employer(session=session, employer_id=employer_id) is None:
                world.employer(employer_id, EMPLOYER_NAME, address="東京都江東区新砂1-2-3")
            world.affiliation(technician_id, employer_id, date(2020, 4, 1))
        world.record(
            technician_id,
            level=level,
            occupations=["とび", "鉄筋"],
            health_insurance="enrolled",
            pension_insurance="enrolled",
            employment_insurance="exempt",
            kentaikyo=True,
        )
        for i in range(certificates):
            cert = SeededCertificate("training-body-01", f"A-{technician_id[-4:]}-{i:03d}")
            add_imported(
                session,
                technician_id=technician_id,
                issuer_id=cert.issuer_id,
                number=cert.number,
                course_code=f"C{i:02d}",
                course_name=["玉掛け技能講習", "足場の組立て等作業主任者技能講習"][i % 2],
                training_body="東京技能講習センター",
                completed_on=date(2021, 5, 10 + i),
                holder_name="鈴木 一郎",
                holder_birth_date=date(1985, 4, 12),
                now=now,
            )
            seeded.append(cert)
        session.commit()
    return seeded


def new_offer(
    app: FastAPI, technician_id: str, configurations: list[str] | None = None, *, with_tx_code: bool = True
) -> NewOffer:
    rt = runtime(app)
    with Session(rt.engine) as session:
        offer = create_offer(
            session,
            rt,
            technician_id=technician_id,
            configuration_ids=configurations or ["ccus_card", "skill_training_certificate"],
            with_tx_code=with_tx_code,
        )
        session.commit()
    return offer


# -- the wallet's side of OpenID4VCI, one request at a time ----------------------------------------


def proof_jwt(
    key: ECKey,
    *,
    aud: str,
    nonce: str | None,
    iat: int,
    typ: str = PROOF_TYP,
    jwk: dict[str, Any] | None = None,
    extra_header: dict[str, Any] | None = None,
) -> str:
    """A ``jwt`` key proof (OpenID4VCI 1.0 Appendix F.1)."""
    header = {"typ": typ, "alg": "ES256", "jwk": jwk if jwk is not None else key.as_dict(private=False)}
    header.update(extra_header or {})
    claims: dict[str, Any] = {"aud": aud, "iat": iat}
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(header, claims, key, algorithms=["ES256"])


@dataclass
class Wallet:
    """A holder that speaks OpenID4VCI step by step over ``http`` (TestClient or httpx.Client)."""

    http: httpx.Client
    issuer: str
    now: int
    keys: list[ECKey] = field(default_factory=list)

    def fetch_offer(self, link_or_uri: str) -> dict[str, Any]:
        uri = link_or_uri
        if link_or_uri.startswith("openid-credential-offer://"):
            uri = parse_qs(urlsplit(link_or_uri).query)["credential_offer_uri"][0]
        response = self.http.get(uri)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    @staticmethod
    def code_of(document: dict[str, Any]) -> str:
        code: str = document["grants"][PRE_AUTH_GRANT]["pre-authorized_code"]
        return code

    def token(self, code: str, tx_code: str | None, **extra: str) -> httpx.Response:
        form = {"grant_type": PRE_AUTH_GRANT, "pre-authorized_code": code, **extra}
        if tx_code is not None:
            form["tx_code"] = tx_code
        return self.http.post(f"{self.issuer}/token", data=form)

    def access_token(self, offer: NewOffer) -> dict[str, Any]:
        response = self.token(self.code_of(self.fetch_offer(offer.link)), offer.tx_code)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def nonce(self) -> str:
        response = self.http.post(f"{self.issuer}/wallet/nonce")
        assert response.status_code == 200, response.text
        assert "no-store" in response.headers.get("cache-control", "")
        value: str = response.json()["c_nonce"]
        return value

    def proofs(self, count: int, nonce: str | None, **options: Any) -> tuple[list[ECKey], list[str]]:
        keys = [ECKey.generate_key("P-256") for _ in range(count)]
        self.keys += keys
        return keys, [proof_jwt(k, aud=self.issuer, nonce=nonce, iat=self.now, **options) for k in keys]

    def credential(self, access_token: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            f"{self.issuer}/wallet/credential", json=body, headers={"Authorization": f"Bearer {access_token}"}
        )

    def notify(self, access_token: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            f"{self.issuer}/wallet/notification", json=body, headers={"Authorization": f"Bearer {access_token}"}
        )

    def issue(self, access_token: str, identifier: str, *, batch: int = 1) -> tuple[list[ECKey], dict[str, Any]]:
        """One credential request for ``identifier`` with ``batch`` proofs (fresh keys, one c_nonce)."""
        keys, proofs = self.proofs(batch, self.nonce())
        response = self.credential(access_token, {"credential_identifier": identifier, "proofs": {"jwt": proofs}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return keys, body


def error_of(response: httpx.Response) -> str | None:
    try:
        value = response.json().get("error")
    except ValueError:
        return None
    return str(value) if value is not None else None


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())
