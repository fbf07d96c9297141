"""Issue 12, item 11 (second half): rule 5 had no way in — no principal could act as an orderer (発注者).

An orderer's system is registered with ``genba admin create-client --owner-orderer-id`` and calls the
data API with client_credentials tokens, acting for the orderer. Everything here goes over HTTP
against a real server; the register is built with the real CLI (orderer, its project site, the
施工体制, assignments, the client). Only attendance (就業履歴) is written straight into the server's
database, because no CLI writes it (it comes from gate presentations).

docs/domain.md rule 5: orderers see only what the purpose of their project needs — policy
``orderer-sees-own-project-roster-and-attendance``: identity, current employer, level and
occupations, and the attendance on their own active projects; never birth date, contact, photo,
social insurance, qualifications or past employers. Rule 6: every disclosure is recorded with the
orderer as recipient.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from common.japan_time import JAPAN
from register import repository as register
from tests.security.conftest import DEMO_EMPLOYER
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

ORDERER_RULE = "orderer-sees-own-project-roster-and-attendance"
ORDERER_GROUPS = ["current_affiliation", "identity", "level_occupation", "work_history"]
#: exactly the fields of those groups (consent.groups.FIELD_GROUP)
ORDERER_FIELDS = {
    "technician_id",
    "name",
    "name_kana",
    "gender",
    "current_employer",
    "level",
    "occupations",
    "work_history",
}
ROSTER_FIELDS = ORDERER_FIELDS - {"work_history"}  # the roster carries no attendance
START = "2020-04-01"


def _today() -> date:
    """The register's calendar is Japan's (common.japan_time.local_date)."""
    return datetime.now(JAPAN).date()


@dataclass
class Project:
    """One orderer with its active project site (and a second one, to be closed), and another
    orderer's project next to it."""

    orderer: str
    site: str
    closing_site: str
    other_site: str
    client_id: str
    client_secret: str
    on_both: Credentials  # on the project and on the other orderer's project
    elsewhere: Credentials  # only on the other orderer's project
    left: Credentials  # was on the project until yesterday
    closing: Credentials  # only on the orderer's second project


def _admin(server: LiveServer, command: str, **options: str) -> dict[str, Any]:
    """``genba admin <command> --option value ... --json`` (``site_id`` becomes ``--site-id``)."""
    args = [part for key, value in options.items() for part in ("--" + key.replace("_", "-"), value)]
    data: dict[str, Any] = json.loads(server.genba("admin", command, *args, "--json").stdout)
    return data


def _record_work(server: LiveServer, technician_id: str, site_id: str, days_ago: int) -> None:
    """One day of attendance, as the gate would record it (no CLI writes 就業履歴)."""
    day = _today() - timedelta(days=days_ago)
    with server.database() as engine, Session(engine) as db:
        register.record_work(
            session=db,
            event_key=f"orderer-test-{secrets.token_hex(8)}",
            technician_id=technician_id,
            site_id=site_id,
            work_date=day,
            entry_at=datetime.combine(day, time(8, 0), tzinfo=JAPAN).astimezone(UTC),
            exit_at=datetime.combine(day, time(17, 0), tzinfo=JAPAN).astimezone(UTC),
            work_content="型枠組立",
            occupation="型枠大工",
            now=datetime.now(UTC),
        )
        db.commit()


@pytest.fixture(scope="module")
def project(server: LiveServer) -> Project:
    """Built once with the real CLI, as an operator would (README, 発注者): two orderers, their sites
    (prime: the technicians' employer), the assignments, and the first orderer's system. Each test
    looks at its own technician or its own channel, so their order does not matter."""
    tag = secrets.token_hex(4).upper()
    orderer, other = f"ORD-A-{tag}", f"ORD-B-{tag}"
    _admin(server, "create-orderer", code=orderer, name=f"国土交通省 関東地方整備局 {tag}")
    _admin(server, "create-orderer", code=other, name=f"江東区 {tag}")
    site, closing_site, other_site = f"SITE-A-{tag}", f"SITE-C-{tag}", f"SITE-B-{tag}"
    for site_id, code in ((site, orderer), (closing_site, orderer), (other_site, other)):
        _admin(
            server,
            "create-site",
            site_id=site_id,
            name=f"工事 {site_id}",
            prime_employer_id=DEMO_EMPLOYER,
            starts_on=START,
            orderer_code=code,
        )
    on_both, elsewhere, left, closing = (_technician(server) for _ in range(4))
    server.set_record(
        technician_id=on_both.username,
        values={
            "level": 3,
            "occupations": ["型枠大工"],
            "health_insurance": "enrolled",
            "pension_insurance": "enrolled",
            "employment_insurance": "enrolled",
            "kentaikyo": True,
            "qualifications": [{"name": "玉掛け技能講習", "number": "第1-2345号"}],
        },
    )
    assignments = (
        (on_both, site),
        (on_both, other_site),
        (elsewhere, other_site),
        (left, site),
        (closing, closing_site),
    )
    for who, site_id in assignments:
        _admin(server, "assign", site_id=site_id, technician_id=who.username, employer_id=DEMO_EMPLOYER, start=START)
        _record_work(server, who.username, site_id, days_ago=2)
    yesterday = (_today() - timedelta(days=1)).isoformat()
    _admin(server, "end-assignment", site_id=site, technician_id=left.username, end=yesterday)
    client = _admin(
        server,
        "create-client",
        name=f"週休2日管理システム {tag}",
        grant_type="client_credentials",
        owner_orderer_id=orderer,
    )
    assert client["acts_for"] == f"orderer:{orderer}"
    return Project(
        orderer=orderer,
        site=site,
        closing_site=closing_site,
        other_site=other_site,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        on_both=on_both,
        elsewhere=elsewhere,
        left=left,
        closing=closing,
    )


def _technician(server: LiveServer) -> Credentials:
    """A technician (with TOTP) of the demo employer, through ``genba admin create-technician``."""
    technician_id = f"46{secrets.randbelow(10**12):012d}"
    data = server.create_technician(technician_id=technician_id, name="渡辺 健", kana="ワタナベ ケン")
    server.link_affiliation(technician_id=technician_id, employer_id=DEMO_EMPLOYER, start=START)
    return Credentials(technician_id, data["password"], data["totp_secret"])


@contextmanager
def _api(server: LiveServer, project: Project) -> Iterator[httpx.Client]:
    """The orderer's system: a client_credentials token, then bearer calls to /api/v1."""
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        token = http.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(project.client_id, project.client_secret)
        )
        assert token.status_code == 200, token.text
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield http


@pytest.fixture(scope="module")
def records(server: LiveServer) -> Iterator[Callable[[Credentials], list[dict[str, Any]]]]:
    """``records(technician)``: the disclosures in the technician's own export of the records of
    provision (APPI art. 33(5)), over HTTP. Each technician signs in once for the module: a TOTP
    code is accepted once (RFC 6238 §5.2), and two tests may run within one 30-second step."""
    signed_in: dict[str, HttpUser] = {}

    def disclosures(who: Credentials) -> list[dict[str, Any]]:
        if who.username not in signed_in:
            signed_in[who.username] = HttpUser(server, who).sign_in()
        page = signed_in[who.username].get("/consent/records.json")
        assert page.status_code == 200
        return [r for r in page.json()["records"] if r["kind"] == "disclosure"]

    yield disclosures
    for user in signed_in.values():
        user.close()


def test_the_orderer_reads_its_project_with_exactly_the_purpose_fields(
    server: LiveServer, project: Project, records: Callable[[Credentials], list[dict[str, Any]]]
) -> None:
    """Rule 5: the orderer's system reads a technician on its project: identity, current employer,
    level and occupations, and the attendance on its own project only (not the other orderer's
    site he also works on); birth date, contact, photo, insurance, qualifications and past
    employers are withheld. Rule 6: the disclosure is recorded with the orderer as recipient."""
    with _api(server, project) as api:
        answer = api.get(f"/api/v1/technicians/{project.on_both.username}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body["technician"]) == ORDERER_FIELDS
    assert body["allowed_groups"] == ORDERER_GROUPS
    assert body["rules"] == [ORDERER_RULE]
    assert {"birth_date", "contact", "face_photo", "social_insurance", "qualifications", "past_affiliations"} <= set(
        body["withheld"]
    )
    assert {w["site_id"] for w in body["technician"]["work_history"]} == {project.site}
    assert project.other_site not in answer.text
    [record] = [r for r in records(project.on_both) if r["actor"] == "api:technicians"]
    assert record["recipient"] == f"client:{project.client_id} for orderer:{project.orderer}"
    assert record["items"] == sorted(ORDERER_FIELDS)
    assert record["detail"]["rules"] == ORDERER_RULE


def test_the_orderer_reads_its_project_roster_with_the_purpose_fields_only(
    server: LiveServer, project: Project, records: Callable[[Credentials], list[dict[str, Any]]]
) -> None:
    """Rule 5 on /api/v1/sites/{site}/roster: the project's technicians of today, each with the
    purpose fields only (JSON and CSV: the roster's other columns stay empty); whoever left the
    project yesterday is not on it. Each row is a disclosure recorded with the orderer as recipient."""
    with _api(server, project) as api:
        answer = api.get(f"/api/v1/sites/{project.site}/roster")
        as_csv = api.get(f"/api/v1/sites/{project.site}/roster", params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["roster"]
    assert [r["technician_id"] for r in rows] == [project.on_both.username]
    assert set(rows[0]) == ROSTER_FIELDS
    [line] = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert line["technician_id"] == project.on_both.username
    for column in ("birth_date", "health_insurance", "pension_insurance", "employment_insurance"):
        assert line[column] == ""
    disclosed = [r for r in records(project.on_both) if r["actor"].startswith("api:roster:")]
    assert len(disclosed) == 2  # the JSON and the CSV answer
    for record in disclosed:
        assert record["recipient"] == f"client:{project.client_id} for orderer:{project.orderer}"
        assert record["items"] == sorted(ROSTER_FIELDS)
        assert record["actor"] == f"api:roster:{project.site}"


def test_another_orderers_project_does_not_exist_for_the_orderer(server: LiveServer, project: Project) -> None:
    """Rule 5 (its own projects only): the roster of another orderer's project answers exactly as a
    site that does not exist — no name, no rows, not even that it exists."""
    with _api(server, project) as api:
        other = api.get(f"/api/v1/sites/{project.other_site}/roster")
        missing = api.get(f"/api/v1/sites/NO-SUCH-{secrets.token_hex(4)}/roster")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert project.other_site not in other.text


def test_the_orderer_is_refused_technicians_not_on_its_project(
    server: LiveServer, project: Project, records: Callable[[Credentials], list[dict[str, Any]]]
) -> None:
    """Rule 5 and rule 1: a technician who works only on another orderer's project, and one who left
    the project yesterday (``genba admin end-assignment``), are refused; nothing of them leaves and
    nothing is recorded as disclosed."""
    with _api(server, project) as api:
        for who in (project.elsewhere, project.left):
            answer = api.get(f"/api/v1/technicians/{who.username}")
            assert answer.status_code == 403, answer.text
            assert "technician" not in answer.json()
            assert who.username not in answer.text
    assert records(project.elsewhere) == []
    assert records(project.left) == []


def test_the_orderer_asks_for_nothing_beyond_its_purpose(server: LiveServer, project: Project) -> None:
    """Rule 5: asking a project technician's birth date, contact, photo, insurance, qualifications or
    past employers by name is refused (403), not answered with what the orderer may see."""
    with _api(server, project) as api:
        for group in ("birth_date", "contact", "face_photo", "social_insurance", "qualifications", "past_affiliations"):
            answer = api.get(f"/api/v1/technicians/{project.on_both.username}", params={"groups": group})
            assert answer.status_code == 403, (group, answer.text)
            assert "technician" not in answer.json()


def test_the_orderer_sees_nothing_after_its_project_closes(server: LiveServer, project: Project) -> None:
    """Rule 5: the relationship lasts while the project is active. After ``genba admin close-site``
    its technician is refused and its roster is empty."""
    with _api(server, project) as api:
        before = api.get(f"/api/v1/sites/{project.closing_site}/roster")
        assert [r["technician_id"] for r in before.json()["roster"]] == [project.closing.username]
        assert api.get(f"/api/v1/technicians/{project.closing.username}").status_code == 200
        _admin(server, "close-site", site_id=project.closing_site)
        answer = api.get(f"/api/v1/technicians/{project.closing.username}")
        assert answer.status_code == 403, answer.text
        roster = api.get(f"/api/v1/sites/{project.closing_site}/roster")
    assert roster.status_code == 200
    assert roster.json()["roster"] == []
