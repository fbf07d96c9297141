"""Helpers for the site-gate tests (issue 7): a site with a prime contractor, a subcontractor and an
assigned technician who holds a CCUS card and 技能講習 certificates received through the real
OpenID4VCI flow; the gate's staff; presentations built the way a wallet builds them (only the
disclosures a DCQL credential query names, KB-JWT with the gate's audience and nonce); challenges,
offline QR frames, and credentials signed under a self-made root the gate does not trust.

Nothing here decides what is correct: the tests assert what the gate answers.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from joserfc.jwk import ECKey
from sqlmodel import Session

from tests.support.certificates import add_imported
from tests.support.web import Person, runtime
from tests.support.world import world_of
from tools.holder import HeldCredential, receive
from wallet import sdjwt
from wallet.gate.codec import Challenge, encode_challenge, encode_presentation
from wallet.gate.requirements import revealed_claims
from wallet.offers import create_offer

PRIME = "31000000000034"  # 元請 of SITE: its staff run the gate
SUB = "31000000000018"  # 一次 on SITE: the technician's employer
PAST = "31000000000026"  # a former employer of the technician (never disclosed to the site)
OTHER_PRIME = "31000000000042"  # 元請 of OTHER_SITE, which the gate staff do not run
SITE = "GENBA-T-0001"
OTHER_SITE = "GENBA-T-0002"
GATE = "north"
TECHNICIAN = "10000000000019"
NAME = "鈴木 一郎"
ADDRESS = "東京都江東区東陽4-5-6"  # make_technician's; must never reach a gate
PHONE = "090-1234-5678"
PAST_EMPLOYER_NAME = "株式会社 旧所属建設"
#: (course code, course name) of the certificates the technician holds by default.
TAMAKAKE = ("tamakake", "玉掛け技能講習")
KOGATA = ("kogata-idoshiki-crane", "小型移動式クレーン運転技能講習")


@dataclass
class GateWorld:
    app: FastAPI
    technician: Person
    staff: Person
    card: HeldCredential
    #: course code -> the held certificate credential
    certificates: dict[str, HeldCredential] = field(default_factory=dict)

    def credential_for(self, query: dict[str, Any]) -> HeldCredential:
        """The held credential a wallet would pick for a DCQL credential query of the default requirements."""
        for claim in query.get("claims", []):
            if claim.get("path") == ["course_code"] and claim.get("values"):
                return self.certificates[claim["values"][0]]
        return self.card


def unverified_claims(credential: str) -> dict[str, Any]:
    """The claims of an SD-JWT with every disclosure resolved, without checking anything."""
    parsed = sdjwt.parse(credential)
    payload = json.loads(sdjwt.b64url_decode(parsed.issuer_jwt.split(".")[1]))
    claims: dict[str, Any] = sdjwt.resolve(payload, parsed.disclosures)
    return claims


def build_world(
    app: FastAPI,
    http: httpx.Client,
    *,
    insurance: tuple[str, str, str] = ("enrolled", "enrolled", "exempt"),
    certificates: tuple[tuple[str, str, str], ...] = ((*TAMAKAKE, NAME), (*KOGATA, NAME)),
    with_staff: bool = True,
) -> GateWorld:
    """The site, its companies, the technician (assigned today, a past employer on record), the
    gate's staff (password + TOTP), and the technician's wallet: a card and one credential per
    ``certificates`` entry ``(course code, course name, holder name)``."""
    rt = runtime(app)
    today = rt.clock().date()
    health, pension, employment = insurance
    with Session(rt.engine, expire_on_commit=False) as s:
        world = world_of(app, s).technician(TECHNICIAN, NAME)
        for eid, name in (
            (PRIME, "株式会社 東京ゼネコン"),
            (SUB, "株式会社 山田工務店"),
            (PAST, PAST_EMPLOYER_NAME),
            (OTHER_PRIME, "株式会社 大阪ゼネコン"),
        ):
            world.employer(eid, name)
        (
            world.affiliation(TECHNICIAN, PAST, date(2015, 4, 1))
            .affiliation(TECHNICIAN, SUB, date(2020, 4, 1))
            .record(
                TECHNICIAN,
                level=3,
                occupations=["鉄筋"],
                health_insurance=health,
                pension_insurance=pension,
                employment_insurance=employment,
            )
            .site(SITE, f"{SITE} 新築工事", prime=PRIME, starts_on=today - timedelta(days=10))
            .site(OTHER_SITE, f"{OTHER_SITE} 新築工事", prime=OTHER_PRIME, starts_on=today - timedelta(days=10))
            .tier(SITE, SUB, parent=PRIME)
            .assignment(SITE, TECHNICIAN, employer=SUB, start=today - timedelta(days=5), role="職長")
        )
        for i, (code, course, holder) in enumerate(certificates):
            add_imported(
                s,
                technician_id=TECHNICIAN,
                issuer_id="training-body-01",
                number=f"G-{i:03d}",
                course_code=code,
                course_name=course,
                training_body="東京技能講習センター",
                completed_on=date(2021, 5, 10 + i),
                holder_name=holder,
                holder_birth_date=date(1985, 4, 12),
                now=rt.clock(),
            )
        staff_person = Person("", "", None, 0)
        if with_staff:
            staff_person = world.staff(PRIME, "gate", "門番 太郎").logins[f"{PRIME}-gate"]
        s.commit()
    person = world.logins[TECHNICIAN]
    held = receive_all(
        app, http, configurations=["ccus_card", *(["skill_training_certificate"] if certificates else [])]
    )
    card = next(h for h in held if "course_code" not in h.claims)
    certs = {str(h.claims["course_code"]): h for h in held if "course_code" in h.claims}
    return GateWorld(app, person, staff_person, card, certs)


def receive_all(
    app: FastAPI, http: httpx.Client, *, configurations: list[str], technician_id: str = TECHNICIAN
) -> list[HeldCredential]:
    """The technician's wallet receives ``configurations`` through OpenID4VCI (pre-authorized code)."""
    wallet = app.state.wallet
    with Session(wallet.engine) as s:
        offer = create_offer(s, wallet, technician_id=technician_id, configuration_ids=configurations)
        s.commit()
    held = receive(http, offer.link, tx_code=offer.tx_code, now=int(wallet.clock().timestamp()))
    for item in held:
        item.claims = unverified_claims(item.sd_jwt)
    return held


def another_technician(
    app: FastAPI,
    http: httpx.Client,
    *,
    technician_id: str,
    name: str = NAME,
    courses: tuple[tuple[str, str], ...] = (),
) -> GateWorld:
    """Someone else (by default with the same name as the world's technician), employed by SUB but not
    assigned to any site, holding a card and a certificate per ``courses`` in their own name; only
    ``card`` and ``certificates`` of the answer are theirs."""
    rt = runtime(app)
    clock = rt.clock
    with Session(rt.engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .technician(technician_id, name, employer=SUB, since=date(2021, 4, 1))
            .record(
                technician_id,
                level=2,
                occupations=["型枠大工"],
                health_insurance="enrolled",
                pension_insurance="enrolled",
                employment_insurance="enrolled",
            )
        )
        person = world.logins[technician_id]
        for i, (code, course) in enumerate(courses):
            add_imported(
                s,
                technician_id=technician_id,
                issuer_id="training-body-03",
                number=f"B-{technician_id[-4:]}-{i:03d}",
                course_code=code,
                course_name=course,
                training_body="東京技能講習センター",
                completed_on=date(2020, 7, 1 + i),
                holder_name=name,
                holder_birth_date=date(1985, 4, 12),
                now=clock(),
            )
        s.commit()
    configurations = ["ccus_card", *(["skill_training_certificate"] if courses else [])]
    held = receive_all(app, http, configurations=configurations, technician_id=technician_id)
    card = next(h for h in held if "course_code" not in h.claims)
    certs = {str(h.claims["course_code"]): h for h in held if "course_code" in h.claims}
    return GateWorld(app, person, Person("", "", None, 0), card, certs)


# -- presentations ---------------------------------------------------------------------------------


def present(held: HeldCredential, query: dict[str, Any], *, aud: str, nonce: str, iat: int) -> str:
    """SD-JWT+KB keeping only the disclosures ``query`` names (as the web wallet does)."""
    return held.present(reveal=revealed_claims(query), aud=aud, nonce=nonce, iat=iat)


def vp_token(
    world: GateWorld,
    dcql: dict[str, Any],
    *,
    aud: str,
    nonce: str,
    iat: int,
    swap: dict[str, HeldCredential | None] | None = None,
) -> dict[str, list[str]]:
    """A DCQL ``vp_token`` answering every credential query; ``swap`` replaces (or, with None, leaves
    out) the credential presented for a query id."""
    swap = swap or {}
    token: dict[str, list[str]] = {}
    for query in dcql["credentials"]:
        held = swap[query["id"]] if query["id"] in swap else world.credential_for(query)
        if held is not None:
            token[query["id"]] = [present(held, query, aud=aud, nonce=nonce, iat=iat)]
    return token


def challenge(
    now: datetime, *, site_id: str = SITE, gate_id: str = GATE, work_kind: str = "general", nonce: str | None = None
) -> Challenge:
    return Challenge(
        site_id=site_id,
        gate_id=gate_id,
        work_kind=work_kind,
        nonce=nonce or secrets.token_urlsafe(16),
        time=int(now.timestamp()),
        audience=f"genba-gate:{site_id}:{gate_id}",
    )


def challenge_text(c: Challenge) -> str:
    return encode_challenge(c)


def offline_frames(
    world: GateWorld, bundle: dict[str, Any], c: Challenge, *, iat: int, max_frame: int | None = None, **options: Any
) -> list[str]:
    """The wallet's answer to a challenge as QR frames (``GP1:``/``GP1/i/n:``)."""
    dcql = bundle["requirements"].get(c.work_kind) or bundle["requirements"]["general"]
    token = vp_token(world, dcql, aud=c.audience, nonce=c.nonce, iat=iat, **options)
    return encode_presentation(c.nonce, token, **({"max_frame": max_frame} if max_frame else {}))


# -- a credential from an issuer the gate does not trust -------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, common)])


def untrusted_copy(held: HeldCredential, now: datetime) -> HeldCredential:
    """The same claims, bound to the same holder key, signed by an issuer key certified by a self-made
    root with the same subject name as Genba ID's (so only the signature chain can tell)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Genba ID Credential Root")
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Genba ID Credential Issuer"))
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    parsed = sdjwt.parse(held.sd_jwt)
    payload = json.loads(sdjwt.b64url_decode(parsed.issuer_jwt.split(".")[1]))
    selective = {k: v for k, v in held.claims.items() if k not in payload}
    kept = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg")}
    key = ECKey.import_key(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    x5c = [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()]
    issued = sdjwt.issue(payload=kept, selective=selective, key=key, header={"kid": "forged", "x5c": x5c}, decoys=2)
    return HeldCredential(issued.sd_jwt, held.key, dict(held.claims))


# -- the gate's staff over a real HTTP connection --------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in_http(http: httpx.Client, username: str, password: str, totp_secret: str) -> None:
    """Password + TOTP through the sign-in pages, as a browser would (cookies stay in ``http``)."""
    page = http.get("/login")
    token = _CSRF.search(page.text)
    assert token, page.text[:500]
    answer = http.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login/otp", answer.text[:500]
    page = http.get("/login/otp")
    token = _CSRF.search(page.text)
    assert token, page.text[:500]
    answer = http.post("/login/otp", data={"otp": pyotp.TOTP(totp_secret).now(), "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.text[:500]


def request_link_parts(link: str) -> tuple[str, str]:
    """(client_id, request_uri) of an ``openid4vp://`` link."""
    query = parse_qs(urlsplit(link).query)
    return query["client_id"][0], query["request_uri"][0]


def add_certificate(app: FastAPI, *, code: str, course: str, holder: str, number: str) -> None:
    """One more imported certificate of the technician (e.g. one in someone else's name)."""
    rt = runtime(app)
    now = rt.clock()
    with Session(rt.engine) as s:
        add_imported(
            s,
            technician_id=TECHNICIAN,
            issuer_id="training-body-02",
            number=number,
            course_code=code,
            course_name=course,
            training_body="大阪技能講習センター",
            completed_on=date(2022, 6, 1),
            holder_name=holder,
            holder_birth_date=date(1990, 1, 1),
            now=now,
            signer_kid="kid-2",
        )
        s.commit()


def set_credential_status(app: FastAPI, held: HeldCredential, value: int, *, reason: str = "test") -> None:
    """Revoke (status.INVALID) or suspend (status.SUSPENDED) the issued credential behind ``held``
    with ``wallet.status.set_status``, found by its status list entry."""
    from sqlmodel import col, select

    from wallet import status
    from wallet.models import IssuedCredential

    reference = held.claims["status"]["status_list"]
    rt = runtime(app)
    with Session(rt.engine) as s:
        row = s.exec(
            select(IssuedCredential)
            .where(col(IssuedCredential.status_list_id) == str(reference["uri"]).rsplit("/", 1)[-1])
            .where(col(IssuedCredential.status_index) == int(reference["idx"]))
        ).one()
        assert status.set_status(s, [row.id], value, reason=reason, now=rt.clock()) == 1
        s.commit()
