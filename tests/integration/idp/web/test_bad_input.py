"""Bad input on pages gets a clear 4xx and stores nothing (issue 2, "Bad input")."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from idp.models import WebSession
from tests.support.web import csrf_of, make_technician, sign_in


def test_invalid_utf8_form_is_refused(app: FastAPI, client: TestClient, db: Session) -> None:
    token = csrf_of(client.get("/login").text)
    body = b"username=%FF%FE&password=x&csrf_token=" + token.encode()
    response = client.post("/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and "UTF-8" in response.text
    assert db.exec(select(WebSession)).all() == []


def test_duplicated_form_fields_are_refused(app: FastAPI, client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    body = f"username=a&username=b&password=x&csrf_token={token}".encode()
    response = client.post("/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and "重複" in response.text


def test_oversize_body_is_refused_before_parsing(app: FastAPI, client: TestClient) -> None:
    response = client.post(
        "/login", content=b"a=" + b"x" * 2_000_000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


def test_over_long_field_is_refused(app: FastAPI, client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "1" * 5000, "password": "x", "csrf_token": token})
    assert response.status_code == 400


def test_wrong_content_type_is_refused(app: FastAPI, client: TestClient) -> None:
    response = client.post("/login", json={"username": "x"})
    assert response.status_code == 415


def test_expired_session_leads_back_to_sign_in(app: FastAPI, client: TestClient) -> None:
    client.cookies.set("genba_session", "not-a-real-session")
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_open_redirect_through_next_is_impossible(app: FastAPI, client: TestClient) -> None:
    """RFC 9700 §4.11: never redirect to an attacker-chosen location after sign-in."""
    person = make_technician(app)
    page = client.get("/login?next=//evil.example/")
    assert 'value="/account"' in page.text
    sign_in(client, app, person)
    assert client.get("/account").status_code == 200


def test_unknown_page_is_a_readable_404_without_stack_trace(app: FastAPI, client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "ページが見つかりません" in response.text
    assert "Traceback" not in response.text


def test_security_headers_on_pages(app: FastAPI, client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_language_switch_keeps_the_page_and_next(app: FastAPI, client: TestClient) -> None:
    """Japanese first, English on request, without losing where sign-in returns to."""
    page = client.get("/login?next=/authorize%3Fx%3D1")
    assert '<html lang="ja">' in page.text
    assert 'href="/login?next=%2Fauthorize%3Fx%3D1&amp;lang=en"' in page.text
    english = client.get("/login?next=/authorize%3Fx%3D1&lang=en")
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert client.get("/login").text.count('<html lang="en">') == 1  # the choice is remembered by cookie
