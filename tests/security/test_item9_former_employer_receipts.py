"""Item 9 (issue 12), "a former employer still reading consent receipts": confirmed and fixed.

Before the fix ``/consent/{id}/receipt.json`` answered any staff member of the company the consent
was asked of, for ever: after the technician left, the former employer still read the live state of
his consents (revocations, the technician's decisions, what he agreed to since), and its consent
inbox kept listing him. Now the former employer keeps only the receipt of a consent it decided itself
(its own act, limited to the terms and its decision) and loses the rest (``consent.receipt``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.security.oidc_rp import both_approve, code_flow, new_employer
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer


def _receipt(user: HttpUser, consent_id: str) -> dict[str, Any] | None:
    response = user.get(f"/consent/{consent_id}/receipt.json")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text[:300]
    body: dict[str, Any] = response.json()
    return body


def test_a_former_employer_keeps_only_its_own_decision(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """docs/domain.md rule 1 and the APPI record duties: once the affiliation ends, the former employer gets
    the receipt only of a consent it approved or refused itself, without what happened since (state,
    the technician's decisions), no receipt of a consent it never decided, and no inbox entries about
    him; the technician keeps every receipt, and an unrelated company never had any."""
    employer_id, next_employer_id = new_employer(server), new_employer(server)
    credentials = technician(employer_id=employer_id)
    person = users(server, credentials).sign_in()
    admin = users(server, staff(employer_id=employer_id)).sign_in()
    client = client_app()
    decided = both_approve(person, client, admin, ["qualifications"])["authorization_details"][0]["consent_id"]
    details = [{"type": "genba_technician_data", "groups": ["work_history"], "purpose": "勤怠管理"}]
    undecided = code_flow(person, client, scope="openid", details=details)["authorization_details"][0]["consent_id"]
    while_employed = _receipt(admin, decided)
    assert while_employed is not None and while_employed["state"] == "active"
    assert _receipt(admin, undecided) is not None

    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    server.link_affiliation(technician_id=credentials.username, employer_id=next_employer_id, start=today)

    assert _receipt(admin, undecided) is None
    own = _receipt(admin, decided)
    assert own is not None and "state" not in own and "technicianDecision" not in own
    assert own["employerDecision"] == "approved" and own["readerRelationship"] == "former_employer"
    assert own["services"] == while_employed["services"]  # the terms it decided on
    inbox = admin.get("/consent/employer").text
    assert decided not in inbox and undecided not in inbox
    for consent_id in (decided, undecided):
        mine = _receipt(person, consent_id)
        assert mine is not None and "state" in mine
    stranger = users(server, staff(employer_id=next_employer_id)).sign_in()
    assert _receipt(stranger, decided) is None and _receipt(stranger, undecided) is None
