"""The employer page's revoking actions (register/employer_affiliation.py, register/employer_systems.py;
issue 14, each revoking action has a page): 「所属を終了」 and 「シークレットを再発行」 change nothing until
they are confirmed, are for an administrator of the owning employer only, show the new secret once
(not stored by the browser) and are audited without it. Who is refused on each route, for every kind
of caller, is the access matrix's (tests/security/access_matrix.py); that the very next request to
every worker is refused afterwards is tests/integration/app/test_worker_caches.py's.
"""

from __future__ import annotations

import re
from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from idp.models import Affiliation, AuditEvent
from tests.support.oidc import Client
from tests.support.web import csrf_of, runtime, sign_in
from tests.support.workers import ADMIN, EMPLOYER, SYSTEM, TECHNICIAN
from tests.support.world import World, world_of

OTHER = "31000000000026"
ROTATE, END = "/employer/systems/rotate-secret", "/employer/technicians/end-affiliation"


def _world(app: FastAPI) -> World:
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店")
            .employer(OTHER, "佐藤鉄筋")
            .technician(TECHNICIAN, employer=EMPLOYER, since=date(2020, 4, 1))
            .staff(EMPLOYER, "admin", "山田 花子", role="admin")
            .staff(EMPLOYER, "clerk", "田中 一子")
            .staff(OTHER, "admin", "佐藤 次郎", role="admin")
            .client(SYSTEM, ["https://rp.example.jp/cb"], owner_employer=EMPLOYER, grant_types=["client_credentials"])
        )
        s.commit()
    return world


def _post(browser: TestClient, action: str, form: dict[str, str]) -> tuple[int, str]:
    """``form`` posted with the form token of the employer page (from its ``<meta>``: a page without forms
    for staff who are not administrators has one too)."""
    page = browser.get("/employer/technicians")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None, page.text
    answer = browser.post(action, data={"csrf_token": token.group(1), **form}, follow_redirects=False)
    return answer.status_code, answer.text


def _open_affiliation(app: FastAPI) -> bool:
    with Session(runtime(app).engine) as s:
        return s.exec(select(Affiliation).where(col(Affiliation.end_date).is_(None))).first() is not None


def test_nothing_changes_until_confirmed_and_only_the_owning_admin_may(app: FastAPI, client: TestClient) -> None:
    """Deny by default (docs/security.md): the first POST answers the confirmation page and changes
    nothing; staff who are not administrators get 403; another company's administrator is told the
    system is not theirs (404) and the technician is not theirs (400)."""
    world = _world(app)
    system = world.clients[SYSTEM]
    rp = Client(system.client.client_id, system.client_secret)
    sign_in(client, app, world.logins[ADMIN])
    page = client.get("/employer/technicians").text
    assert f'data-client="{rp.client_id}"' in page and 'action="/employer/technicians/end-affiliation"' in page

    status, text = _post(client, ROTATE, {"client_id": rp.client_id})
    assert status == 200 and 'name="confirm" value="yes"' in text
    status, text = _post(client, END, {"technician_id": TECHNICIAN, "end_date": "2026-03-31"})
    assert status == 200 and 'name="confirm" value="yes"' in text
    token = client.post("/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, rp.client_secret))
    assert token.status_code == 200 and _open_affiliation(app)

    for login, rotate, end in ((f"{EMPLOYER}-clerk", 403, 403), (f"{OTHER}-admin", 404, 400)):
        with TestClient(app, base_url="http://localhost") as other:
            sign_in(other, app, world.logins[login])
            confirmed = {"confirm": "yes"}
            assert _post(other, ROTATE, {"client_id": rp.client_id, **confirmed})[0] == rotate
            assert _post(other, END, {"technician_id": TECHNICIAN, "end_date": "2026-03-31", **confirmed})[0] == end
    assert _open_affiliation(app)


def test_the_new_secret_is_shown_once_not_stored_and_audited_without_it(app: FastAPI, client: TestClient) -> None:
    """RFC 6749 §2.3.1 and docs/security.md (secrets never logged): the secret page is ``no-store``,
    the new secret works and the old one does not, and the audit event names the client, not the secret."""
    world = _world(app)
    system = world.clients[SYSTEM]
    sign_in(client, app, world.logins[ADMIN])
    status, text = _post(client, ROTATE, {"client_id": system.client.client_id})
    assert status == 200
    form = {"csrf_token": csrf_of(text), "client_id": system.client.client_id, "confirm": "yes"}
    shown = client.post(ROTATE, data=form)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    secret = shown.text.split('id="client-secret">')[1].split("<")[0]
    assert len(secret) >= 32 and secret not in client.get("/employer/technicians").text
    old = (system.client.client_id, system.client_secret)
    assert client.post("/token", data={"grant_type": "client_credentials"}, auth=old).status_code == 401
    new = (system.client.client_id, secret)
    assert client.post("/token", data={"grant_type": "client_credentials"}, auth=new).status_code == 200
    with Session(runtime(app).engine) as s:
        events = s.exec(select(AuditEvent).where(col(AuditEvent.event) == "client.secret_rotated")).all()
    assert [e.detail for e in events] == [{"client_id": system.client.client_id, "employer_id": EMPLOYER}]
    assert secret not in repr(events[0])
