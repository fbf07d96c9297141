"""Fixtures of the OpenID4VP interoperability test: the pinned npm packages of this directory (installed
by the test run with ``npm ci``), and on the live server of tests/interop/conftest.py (one per xdist
worker) a site whose gate is run by a signed-in staff user, and a technician whose Python wallet holds a
CCUS card and the 技能講習 certificates crane work needs.

Node.js and npm are required: without them the tests fail, they are not skipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from idp import accounts
from idp.passwords import Passwords
from idp.runtime import SystemRandomness
from register import repository as register
from tests.support.certificates import add_imported
from tests.support.gate_world import KOGATA, TAMAKAKE, sign_in_http, unverified_claims
from tests.support.npm_dir import NodePackages, ToolchainError, ensure_packages
from tests.support.server import LiveServer
from tools.holder import HeldCredential, receive

PACKAGE_DIR = Path(__file__).resolve().parent
PRIME = "32000000000011"
SUB = "32000000000029"
SITE = "GENBA-VP-0001"
TECHNICIAN = "50000000000016"
NAME = "高橋 健二"
HTTP_TIMEOUT_SECONDS = 30.0


@pytest.fixture(scope="session")
def openid4vp_js() -> NodePackages:
    try:
        return ensure_packages(PACKAGE_DIR)
    except ToolchainError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@dataclass
class GateSite:
    server: LiveServer
    staff: httpx.Client  # the gate page's browser, signed in
    holder: httpx.Client  # the technician's phone
    root_pem: str
    card: HeldCredential
    certificates: dict[str, HeldCredential]

    @property
    def credentials(self) -> list[HeldCredential]:
        return [self.card, *self.certificates.values()]


def _seed(server: LiveServer) -> None:
    """Companies, the site, the technician (record and certificates) straight into the server's database."""
    now = datetime.now(UTC)
    passwords = Passwords(memory_kib=19 * 1024, time_cost=2, parallelism=1)
    with server.database() as engine, Session(engine) as s:
        for eid, name in ((PRIME, "株式会社 相互接続建設"), (SUB, "株式会社 試験工務店")):
            accounts.create_employer(
                session=s, employer_id=eid, trade_name=name, address="東京都", phone="03-1234-5678", now=now
            )
        accounts.create_technician(
            session=s,
            technician_id=TECHNICIAN,
            name=NAME,
            name_kana="タカハシ ケンジ",
            birth_date=date(1988, 8, 8),
            gender="male",
            address="東京都江東区新砂1-1-1",
            phone="090-0000-1111",
            password="interop password 1",
            passwords=passwords,
            rng=SystemRandomness(),
            now=now,
        )
        accounts.link_affiliation(
            session=s, technician_id=TECHNICIAN, employer_id=SUB, start_date=date(2020, 4, 1), now=now
        )
        register.set_record(
            session=s,
            technician_id=TECHNICIAN,
            now=now,
            level=2,
            occupations=["とび"],
            health_insurance="enrolled",
            pension_insurance="enrolled",
            employment_insurance="enrolled",
        )
        register.create_site(
            session=s,
            site_id=SITE,
            name="相互接続試験現場",
            prime_employer_id=PRIME,
            starts_on=now.date() - timedelta(days=30),
            now=now,
        )
        register.add_site_company(session=s, site_id=SITE, employer_id=SUB, parent_employer_id=PRIME)
        register.assign(
            session=s,
            site_id=SITE,
            technician_id=TECHNICIAN,
            employer_id=SUB,
            start_date=now.date() - timedelta(days=1),
        )
        for i, (code, course) in enumerate((TAMAKAKE, KOGATA, ("forklift", "フォークリフト運転技能講習"))):
            add_imported(
                s,
                technician_id=TECHNICIAN,
                issuer_id="training-body-vp",
                number=f"VP-{i:03d}",
                course_code=code,
                course_name=course,
                training_body="相互接続技能講習センター",
                completed_on=date(2022, 4, 1 + i),
                holder_name=NAME,
                holder_birth_date=date(1988, 8, 8),
                now=now,
                signer_kid="kid-vp",
            )
        s.commit()


@pytest.fixture(scope="session")
def gate_site(live_server: LiveServer) -> Iterator[GateSite]:
    _seed(live_server)
    staff_data = json.loads(
        live_server.genba(
            "admin", "create-staff", "--employer-id", PRIME, "--login", "vpgate", "--display-name", "門番 花子",
            "--with-totp", "--json",
        ).stdout
    )  # fmt: skip
    offer = json.loads(
        live_server.genba(
            "credentials", "offer", "--technician-id", TECHNICIAN,
            "--configuration", "ccus_card", "--configuration", "skill_training_certificate", "--json",
        ).stdout
    )  # fmt: skip
    staff = httpx.Client(base_url=live_server.base_url, timeout=HTTP_TIMEOUT_SECONDS)
    holder = httpx.Client(base_url=live_server.base_url, timeout=HTTP_TIMEOUT_SECONDS)
    try:
        held = receive(holder, offer["link"], tx_code=offer["tx_code"], now=int(time.time()))
        for item in held:
            item.claims = unverified_claims(item.sd_jwt)
        card = next(h for h in held if "course_code" not in h.claims)
        certificates = {str(h.claims["course_code"]): h for h in held if "course_code" in h.claims}
        sign_in_http(staff, staff_data["username"], staff_data["password"], staff_data["totp_secret"])
        root_pem = holder.get("/wallet/root.pem").raise_for_status().text
        yield GateSite(live_server, staff, holder, root_pem, card, certificates)
    finally:
        staff.close()
        holder.close()
