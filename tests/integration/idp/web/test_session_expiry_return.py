"""After a session ends by itself, a button press leads to the sign-in page, which says why, and signing in
again returns to the page the form was on — a GET, never the form's POST (issue 15, Broken 3: it used to
land on a silent sign-in page and then on an English 「Method Not Allowed」)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.clock import FrozenClock
from tests.support.web import code_now, csrf_of, make_technician, sign_in

ENDED_JA = "一定時間操作がなかったため、もう一度サインインしてください"
ENDED_EN = "You were signed out after a period of inactivity. Please sign in again"
NEXT_RE = re.compile(r'name="next" value="([^"]*)"')


def _signed_in_then_idle(app: FastAPI, client: TestClient, clock: FrozenClock) -> str:
    """Signed in, on the account page, then idle for 31 minutes (> the 30-minute idle limit): the page's
    form token, still in the browser's page."""
    person = make_technician(app)
    sign_in(client, app, person)
    token = csrf_of(client.get("/account").text)
    clock.advance(minutes=31)
    return token


@pytest.mark.parametrize(
    ("action", "form", "page"),
    [
        ("/account/recovery-codes", {}, "/account"),
        ("/account/password", {"current_password": "x", "new_password": "y"}, "/account"),
        ("/account/totp", {"otp": "000000"}, "/account/totp"),
        ("/consent/c-1/approve", {}, "/consent"),
        ("/consent/c-1/revoke", {"page": "/consent/employer"}, "/consent/employer"),
        ("/consent/c-1/revoke", {"page": "//evil.example/"}, "/consent"),  # not a form page: never followed
        ("/consent/c-1/revoke", {"page": "https://evil.example/consent"}, "/consent"),
        ("/consent/employer/grant", {}, "/consent/employer"),
        ("/consent/employer/bulk", {"decision": "approve", "id_c-1": "1"}, "/consent/employer"),
    ],
)
def test_a_form_posted_after_the_session_ended_returns_to_its_page(
    app: FastAPI, client: TestClient, clock: FrozenClock, action: str, form: dict[str, str], page: str
) -> None:
    """Issue 15 Broken 3: the sign-in page's return target for a form's POST is the GET page the form is on
    (a local path from a fixed list, never the POST and never a path the form supplies that is not one
    of them: RFC 9700 §4.11, no open redirect)."""
    token = _signed_in_then_idle(app, client, clock)
    response = client.post(action, data={"csrf_token": token, **form}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/login?next=" + page


def test_a_page_opened_after_the_session_ended_returns_to_itself_with_its_query(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    """Issue 15 Broken 3: a GET comes back to the same page, query included."""
    _signed_in_then_idle(app, client, clock)
    response = client.get("/consent/employer?notice=consent.done_grant", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/consent/employer%3Fnotice%3Dconsent.done_grant"


def test_the_sign_in_page_says_why_and_signing_in_returns_to_the_page(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    """Issue 15 Broken 3: the sign-in page reached with the cookie of a session that ended by itself says
    so (Japanese, English with ?lang=en), once; signing in again (password, then TOTP) lands on the
    account page with GET, 200 — not on the POST's path."""
    person = make_technician(app)
    sign_in(client, app, person)
    token = csrf_of(client.get("/account").text)
    clock.advance(minutes=31)
    location = client.post("/account/recovery-codes", data={"csrf_token": token}, follow_redirects=False)
    location_url = location.headers["location"]

    english = client.get(location_url + "&lang=en")
    assert ENDED_EN in english.text and ENDED_JA not in english.text
    login = client.get(location_url)
    assert ENDED_JA not in login.text and ENDED_EN not in login.text  # once: the first page cleared the cookie
    hidden_next = NEXT_RE.search(login.text)
    assert hidden_next is not None and hidden_next.group(1) == "/account"

    clock.advance(seconds=30)  # a new TOTP step
    response = client.post(
        "/login",
        data={
            "username": person.username,
            "password": person.password,
            "csrf_token": csrf_of(login.text),
            "next": "/account",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/login/otp"
    otp_page = client.get("/login/otp")
    done = client.post(
        "/login/otp", data={"otp": code_now(app, person), "csrf_token": csrf_of(otp_page.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert client.get("/account").status_code == 200


def test_the_japanese_sign_in_page_says_why(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """Issue 15 Broken 3: in Japanese, the default language: 「一定時間操作がなかったため…」 as a notice."""
    _signed_in_then_idle(app, client, clock)
    page = client.get("/login?next=/account")
    assert f'<p class="notice" role="status">{ENDED_JA}</p>' in page.text


def test_no_reason_is_given_without_an_ended_session(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """Issue 15 Broken 3: a first visit, or a browser signed out on purpose (here: sign out everywhere from
    this browser), is not told that it was idle."""
    assert ENDED_JA not in client.get("/login").text
    person = make_technician(app)
    sign_in(client, app, person)
    stale = dict(client.cookies)
    page = client.get("/account")
    client.post("/logout", data={"csrf_token": csrf_of(page.text), "everywhere": "1"}, follow_redirects=False)
    for name, value in stale.items():  # the revoked session's cookie, as another tab still had it
        client.cookies.set(name, value)
    assert ENDED_JA not in client.get("/login").text


def test_a_forms_address_opened_with_get_is_explained_in_the_readers_language(client: TestClient) -> None:
    """Issue 15 Broken 3: a form's address opened with GET (an old bookmark or return target) gets the error
    page in Japanese (English with ?lang=en) and RFC 9110 §15.5.6's Allow header, not 「Method Not Allowed」."""
    japanese = client.get("/account/recovery-codes")
    assert japanese.status_code == 405 and japanese.headers["allow"] == "POST"
    assert "このアドレスは直接開けません" in japanese.text and "Method Not Allowed" not in japanese.text
    english = client.get("/account/recovery-codes?lang=en")
    assert "this address cannot be opened directly" in english.text
