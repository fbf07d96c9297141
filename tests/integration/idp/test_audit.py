"""Audit events for sign-in, enrolment and password change, with no secret anywhere (issue 2, item 9)."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from idp import audit
from idp.models import AuditEvent
from tests.support.web import code_now, csrf_of, make_technician, password_step, sign_in


def test_sign_in_events_are_recorded_without_secrets(
    app: FastAPI, client: TestClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = make_technician(app)
    password_step(client, person.username, "a wrong password")
    code = code_now(app, person)
    sign_in(client, app, person)
    page = client.get("/account")
    client.post(
        "/account/password",
        data={
            "current_password": person.password,
            "new_password": "a new password 42",
            "csrf_token": csrf_of(page.text),
        },
    )
    rows = db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
    seen = [(r.event, r.outcome) for r in rows]
    assert ("signin.password", "failure") in seen
    assert ("signin.password", "success") in seen
    assert ("signin.second_factor", "success") in seen
    assert ("password.changed", "success") in seen
    dumped = " ".join(f"{r.event} {r.subject} {r.detail}" for r in rows) + caplog.text
    for secret in (person.password, "a wrong password", "a new password 42", code, person.totp_secret or "-"):
        assert secret not in dumped
    for cookie in client.cookies.values():
        assert cookie not in dumped


def test_audit_refuses_secret_looking_detail(db: Session) -> None:
    from tests.support.clock import FrozenClock

    with pytest.raises(ValueError, match="could carry a secret"):
        audit.record(session=db, event="x", outcome="success", now=FrozenClock()(), detail={"password": "x"})


def test_totp_enrolment_is_audited(app: FastAPI, client: TestClient, db: Session) -> None:
    from idp import totp
    from tests.support.web import runtime

    person = make_technician(app, with_totp=False)
    password_step(client, person.username, person.password)
    page = client.get("/login/enrol")
    secret = page.text.split('id="totp-secret">')[1].split("<")[0]
    client.post(
        "/login/enrol",
        data={"otp": totp.current_code(secret, now=runtime(app).clock()), "csrf_token": csrf_of(page.text)},
    )
    events = [e.event for e in db.exec(select(AuditEvent)).all()]
    assert "enrol.totp" in events
