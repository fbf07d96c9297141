"""Issue 14 (userinfo with CCUS claims under consent, "how many statements per request"): once the
provider has checked the token (grant, client and account read), a third party's userinfo under a
two-party consent (docs/domain.md rule 1) reads and writes the database in six statements — the
technician, his record details, affiliations and the client's owner in one
(``register/disclosure.py::stored_record_of_account``), the decision in two (relationship facts and
consents), and the disclosure record (rule 6, APPI art. 29) in three: head locked and read, the
entry inserted, head moved (``consent/records.py::append_batch``). What is released is unchanged:
the same claims the endpoint answers with, recorded once. Counted with ``before_cursor_execute``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, select

from consent import records
from idp.models import Account, OAuthClient, OAuthGrant
from idp.oauth.public import AccessTokenClaims
from register.claims import ccus_userinfo
from tests.integration.register.test_ccus_id_token_claims import (
    QUALIFICATIONS,
    _approve_as_employer,
    _code_flow,
    _set_record,
)
from tests.integration.register.test_consent_oauth_flow import EMPLOYER, _world
from tests.support.web import runtime, sign_in

DETAILS = [
    {
        "type": "genba_technician_data",
        "groups": ["identity", "current_affiliation", "qualifications"],
        "purpose": "入退場管理のための資格確認",
    }
]


def test_userinfo_under_consent_takes_six_statements_and_releases_the_same_claims(
    app: FastAPI, client: TestClient
) -> None:
    """Issue 14 and rules 1/6: one statement for the technician's record and the client's owner, two
    for the decision, three for the record; the claims are those the userinfo endpoint releases."""
    (person, staff), rp = _world(app)
    _set_record(app, person.username)
    sign_in(client, app, person)
    details = json.dumps(DETAILS, ensure_ascii=False)
    tokens = _code_flow(client, rp, scope="openid profile", authorization_details=details)
    _approve_as_employer(app, staff, tokens["authorization_details"][0]["consent_id"])
    answered = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert answered["ccus"]["qualifications"] == QUALIFICATIONS and answered["name"] == "鈴木 一郎"
    assert answered["ccus"]["current_employer"]["employer_id"] == EMPLOYER

    engine = runtime(app).engine
    hook = ccus_userinfo(app.state.consent, runtime(app).clock)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    with Session(engine, expire_on_commit=False) as db:
        grant = db.exec(select(OAuthGrant).where(col(OAuthGrant.client_id) == rp.client_id)).one()
        held = db.get(OAuthClient, rp.client_id), db.get(Account, grant.account_id)  # the route holds them
        assert all(held)
        claims = AccessTokenClaims({"client_id": rp.client_id, "gid": grant.grant_id, "scope": "openid profile"}, grant)
        event.listen(engine, "before_cursor_execute", count)
        try:
            released = hook(db, claims)
        finally:
            event.remove(engine, "before_cursor_execute", count)

    assert len(statements) == 6, "\n".join(s[:160] for s in statements)
    assert {k: v for k, v in answered.items() if k != "sub"} == released
    with Session(engine) as db:
        assert records.verify(db)[0]
        disclosures = [e for e in records.for_technician(db, person.username) if e["kind"] == "disclosure"]
    assert [e["actor"] for e in disclosures] == ["userinfo", "userinfo"]  # the endpoint's and the hook's
