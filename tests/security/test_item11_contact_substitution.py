"""Item 11, first half (issue 12): rule 3 had no way in — an employer could not have the company's
address and phone published instead of a technician's (``contact_substitution`` existed, nothing set
it). Now the employer's administrator sets it on the employer page (per technician, and a default for
all), through the data API, and the operator through ``genba admin set-contact-substitution``; only
an administrator of *that* employer can. Each test drives the real server over HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.security.oidc_rp import (
    COMPANY_ADDRESS,
    COMPANY_PHONE,
    PERSONAL_ADDRESS,
    PERSONAL_PHONE,
    both_approve,
    code_flow,
    new_employer,
    userinfo,
)
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
PAGE = "/employer/technicians"
ACTION = "/employer/technicians/contact-substitution"


def _api(server: LiveServer, token: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        return httpx.get(server.url(path), headers=headers, timeout=30)
    return httpx.put(server.url(path), headers=headers, json=body, timeout=30)


def _record(server: LiveServer, token: str) -> dict[str, Any]:
    """What the data API gives the client about the technician (``/api/v1/technicians/me``)."""
    response = httpx.get(server.url("/api/v1/technicians/me"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["technician"]
    return data


def test_the_employer_page_switches_a_third_party_to_the_company_contact(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """Rule 3 end to end: a third party holding a consent of both for ``contact`` reads the technician's
    own address and phone; after the employer's administrator switches this technician to the company's
    contact on 所属技能者の連絡先, the data API and userinfo give the company's; back to the default,
    the own contact again; the default for all switches him too."""
    employer_id = new_employer(server)
    credentials = technician(employer_id=employer_id)
    person = users(server, credentials).sign_in()
    admin = users(server, staff(employer_id=employer_id)).sign_in()
    client = client_app()
    tokens = both_approve(person, client, admin, ["contact"])
    token, tid = tokens["access_token"], credentials.username
    assert (_record(server, token)["address"], _record(server, token)["phone"]) == (
        PERSONAL_ADDRESS,
        PERSONAL_PHONE,
    )

    page = admin.get(PAGE)
    assert page.status_code == 200 and f'data-technician="{tid}"' in page.text
    assert admin.form(PAGE, ACTION, {"target": tid, "value": "on"}).status_code == 303

    data = _record(server, token)
    assert (data["address"], data["phone"], data["contact_is_company"]) == (COMPANY_ADDRESS, COMPANY_PHONE, True)
    info = userinfo(server, token)
    assert info["address"]["formatted"] == COMPANY_ADDRESS and info["phone_number"] == COMPANY_PHONE

    assert admin.form(PAGE, ACTION, {"target": tid, "value": "default"}).status_code == 303
    assert _record(server, token)["address"] == PERSONAL_ADDRESS
    assert admin.form(PAGE, ACTION, {"target": "default", "value": "on"}).status_code == 303
    assert _record(server, token)["address"] == COMPANY_ADDRESS
    assert 'id="default" data-on="true"' in admin.get(PAGE).text


def test_only_an_administrator_of_that_employer_changes_it_on_the_page(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
) -> None:
    """Rule 3 belongs to the technician's employer: its plain staff, another employer's administrator
    (naming this technician) and a form without its CSRF token change nothing."""
    employer_id, other_id = new_employer(server), new_employer(server)
    tid = technician(employer_id=employer_id).username
    plain = users(server, staff(employer_id=employer_id, role="staff")).sign_in()
    page = plain.get(PAGE)
    assert page.status_code == 200 and ACTION not in page.text  # shown, without the forms
    token = META_CSRF.search(page.text)
    assert token is not None
    for target in (tid, "default"):
        refused = plain.post(ACTION, data={"target": target, "value": "on", "csrf_token": token.group(1)})
        assert refused.status_code == 403, refused.text[:300]
    other = users(server, staff(employer_id=other_id)).sign_in()
    assert other.form(PAGE, ACTION, {"target": tid, "value": "on"}).status_code == 400
    admin = users(server, staff(employer_id=employer_id)).sign_in()
    assert admin.post(ACTION, data={"target": tid, "value": "on"}).status_code == 403  # no CSRF token
    anonymous = users(server)
    assert anonymous.post(ACTION, data={"target": tid, "value": "on"}).status_code == 403  # no session, no token

    unchanged = admin.get(PAGE).text
    assert f'data-technician="{tid}" data-effective="false"' in unchanged
    assert 'id="default" data-on="false"' in unchanged


def test_the_data_api_accepts_only_that_employers_administrator_through_its_own_system(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """``PUT /api/v1/employers/{id}/technicians/{tid}/contact-substitution`` and the default: an access token
    of an administrator of that employer, delegated to that employer's own system, changes the setting;
    a third party holding the same administrator's token, plain staff and another employer's administrator
    are refused (403, RFC 6750 §3.1 insufficient privileges); a client-credentials token of the employer's
    own system is not a user-delegated token at all, so it is ``invalid_token`` here (401; RFC 6750 §3.1,
    docs/security.md "every token says what it is for")."""
    employer_id, other_id = new_employer(server), new_employer(server)
    tid = technician(employer_id=employer_id).username
    own = client_app(owner_employer_id=employer_id)
    path = f"/api/v1/employers/{employer_id}/technicians/{tid}/contact-substitution"
    default_path = f"/api/v1/employers/{employer_id}/contact-substitution"

    admin = users(server, staff(employer_id=employer_id)).sign_in()
    third = code_flow(admin, client_app(), scope="openid")["access_token"]
    assert _api(server, third, path, {"enabled": True}).status_code == 403
    plain = users(server, staff(employer_id=employer_id, role="staff")).sign_in()
    assert (
        _api(server, code_flow(plain, own, scope="openid")["access_token"], path, {"enabled": True}).status_code == 403
    )
    other_admin = users(server, staff(employer_id=other_id)).sign_in()
    other_own = client_app(owner_employer_id=other_id)
    other_token = code_flow(other_admin, other_own, scope="openid")["access_token"]
    assert _api(server, other_token, path, {"enabled": True}).status_code == 403
    assert _api(server, other_token, default_path).status_code == 403
    machine = client_app(owner_employer_id=employer_id, grant_types=["client_credentials"])
    issued = httpx.post(
        server.url("/token"),
        data={"grant_type": "client_credentials"},
        auth=(machine["client_id"], machine["client_secret"]),
        timeout=30,
    )
    assert issued.status_code == 200, issued.text
    assert _api(server, issued.json()["access_token"], path, {"enabled": True}).status_code == 401
    unchanged = _api(server, code_flow(admin, own, scope="openid")["access_token"], default_path)
    assert unchanged.status_code == 200 and unchanged.json()["technicians"] == [
        {"technician_id": tid, "override": None, "effective": False}
    ]

    token = code_flow(admin, own, scope="openid")["access_token"]
    changed = _api(server, token, path, {"enabled": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["technicians"] == [{"technician_id": tid, "override": True, "effective": True}]
    assert _api(server, token, default_path, {"enabled": True}).json()["default"] is True
    assert (
        _api(
            server,
            token,
            f"/api/v1/employers/{employer_id}/technicians/{'4' * 14}/contact-substitution",
            {"enabled": True},
        ).status_code
        == 400
    )


def test_the_operator_cli_sets_the_default_and_one_technician(
    server: LiveServer, technician: Callable[..., Credentials]
) -> None:
    """``genba admin set-contact-substitution``: the default for all, one technician's override, and a
    technician who does not work for the employer refused (exit 2, nothing changed)."""
    employer_id = new_employer(server)
    tid = technician(employer_id=employer_id).username
    done = json.loads(
        server.genba("admin", "set-contact-substitution", "--employer-id", employer_id, "--on", "--json").stdout
    )
    assert done == {"employer_id": employer_id, "default": True}
    one = json.loads(
        server.genba(
            "admin", "set-contact-substitution", "--employer-id", employer_id, "--technician-id", tid, "--off", "--json"
        ).stdout
    )
    assert one == {"employer_id": employer_id, "technician_id": tid, "override": False, "effective": False}
    stranger = technician(employer_id=new_employer(server)).username
    with pytest.raises(RuntimeError, match=r"exited with 2(.|\n)*not a current technician of this employer"):
        server.genba(
            "admin", "set-contact-substitution", "--employer-id", employer_id, "--technician-id", stranger, "--on"
        )
