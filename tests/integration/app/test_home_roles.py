"""The home after sign-in (``/account``) per role (issue 15 item 4): each role sees exactly its own
actions (idp/web/home.py, app/home_sections.py), every link on the page answers that role with 200
(directly or through redirects, never ending at the sign-in page), and every page reached carries the
shared header with the way home and サインアウト (idp/web/templates/base.html)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.support.clock import FrozenClock
from tests.support.web import build_app, sign_in
from tests.support.world import Login, world_of

EMPLOYER = "31000000000018"
PRIME = "31000000000034"
TECHNICIAN = "10000000000019"
SITE = "GENBA-TEST-0001"

TECHNICIAN_ACTIONS = {"/certificates", "/wallet/add", "/wallet/app", "/history", "/consent"}
EMPLOYER_ACTIONS = {"/consent/employer", "/employer/technicians"}
GATE_ACTIONS = {"/gate/app", f"/sites/{SITE}/today"}


@dataclass(frozen=True)
class Role:
    username: str
    sections: dict[str, set[str]]  # section id -> the hrefs of its actions


ROLES = {
    "technician": Role(TECHNICIAN, {"home-technician": TECHNICIAN_ACTIONS}),
    "employer_admin": Role(f"{EMPLOYER}-admin", {"home-employer": EMPLOYER_ACTIONS}),
    "employer_staff": Role(f"{EMPLOYER}-clerk", {"home-employer": EMPLOYER_ACTIONS}),
    # gate staff are staff of the prime contractor: two roles, both sections
    "gate_staff": Role(f"{PRIME}-gate", {"home-employer": EMPLOYER_ACTIONS, "home-gate": GATE_ACTIONS}),
    "operator": Role("ops", {"home-operator": set()}),
}


class _Links(HTMLParser):
    """Every ``<a href>`` of a page, the home sections' own by section id, and the element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.sections: dict[str, set[str]] = {}
        self.ids: set[str] = set()
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "section" and "home-section" in (found.get("class") or ""):
            self._section = str(found["id"])
            self.sections[self._section] = set()
        elif tag == "section":
            self._section = None
        if tag == "a" and found.get("href"):
            href = str(found["href"])
            self.hrefs.append(href)
            if self._section is not None:
                self.sections[self._section].add(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None


def _parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


@pytest.fixture
def world(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> Iterator[tuple[FastAPI, dict[str, Login]]]:
    app = build_app(tmp_path, db_url, engine, clock)
    today = clock().date()
    with Session(engine, expire_on_commit=False) as s:
        built = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店")
            .employer(PRIME, "株式会社 東京ゼネコン")
            .technician(TECHNICIAN, "鈴木 一郎", totp=True, employer=EMPLOYER, since=date(2019, 4, 1))
            .staff(EMPLOYER, "admin", "山田 花子", role="admin")
            .staff(EMPLOYER, "clerk", "佐藤 次郎", role="staff")
            .staff(PRIME, "gate", "高橋 誠", role="staff")
            .operator("ops", "運営 太郎")
            .site(SITE, "新砂三丁目新築工事", prime=PRIME, starts_on=today)
            .tier(SITE, EMPLOYER, parent=PRIME)
        )
        s.commit()
        yield app, built.logins


@pytest.mark.parametrize("role", sorted(ROLES))
def test_home_shows_exactly_the_roles_actions_and_every_link_answers(
    role: str, world: tuple[FastAPI, dict[str, Login]]
) -> None:
    """Issue 15 item 4: /account shows each role exactly its actions (a person with two roles both
    sections); every link on it answers that role 200 (through redirects, never the sign-in page), and
    each page reached that the service renders has the shared header (home link and サインアウト)."""
    app, logins = world
    expected = ROLES[role]
    with TestClient(app, base_url="http://localhost") as browser:
        sign_in(browser, app, logins[expected.username])
        home = browser.get("/account")
        assert home.status_code == 200, home.text
        page = _parse(home.text)
        assert page.sections == expected.sections
        assert {"nav-home", "nav-signout"} <= page.ids
        if role == "operator":
            assert "genba" in home.text  # says plainly where the operator's work is done
        for href in sorted(set(page.hrefs)):
            answer = browser.get(href)
            assert answer.status_code == 200, (role, href, answer.status_code, answer.text[:300])
            assert answer.url.path != "/login", (role, href)
            if answer.url.path not in ("/wallet/app", "/gate/app"):  # the PWAs have their own header
                reached = _parse(answer.text)
                assert {"nav-home", "nav-signout"} <= reached.ids, (role, href)
                assert "/account" in reached.hrefs, (role, href)


def test_header_is_absent_once_signed_out(world: tuple[FastAPI, dict[str, Login]]) -> None:
    """Issue 15 item 4: the header's サインアウト posts to /logout with the CSRF token and the page after
    it no longer offers the signed-in header."""
    app, logins = world
    with TestClient(app, base_url="http://localhost") as browser:
        sign_in(browser, app, logins[TECHNICIAN])
        home = browser.get("/account")
        token = home.text.split('id="nav-signout-form"')[1].split('name="csrf_token" value="')[1].split('"')[0]
        done = browser.post("/logout", data={"csrf_token": token})
        assert done.status_code == 200
        assert "nav-signout" not in done.text
        assert browser.get("/account", follow_redirects=False).status_code == 303
