"""``genba admin``: the operator creates employers, technicians, staff and operators and links
affiliations (the orderer, site and client commands join this group from their own modules)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.cli.common import JsonOpt, emit, fail, out, parse_day, passwords_for, settings_or_fail, transaction
from app.settings import Settings
from common.messages import message
from idp.public import (
    AuditEvents,
    FieldProblem,
    SecretBox,
    SystemRandomness,
    enrol_totp_directly,
    find_technician,
    normalise_14_digit_id,
    record_audit_event,
    system_clock,
)
from idp.public import create_employer as new_employer
from idp.public import create_operator as new_operator
from idp.public import create_staff as new_staff
from idp.public import create_technician as new_technician
from idp.public import end_affiliation as close_affiliation
from idp.public import link_affiliation as new_affiliation

admin_cli = typer.Typer(help="Create accounts and affiliations", no_args_is_help=True)


@admin_cli.command("create-employer")
def create_employer(
    employer_id: Annotated[str, typer.Option(help="事業者ID (14 digits)")],
    trade_name: Annotated[str, typer.Option(help="商号")],
    address: Annotated[str, typer.Option()],
    phone: Annotated[str, typer.Option()],
    sole_proprietor: Annotated[bool, typer.Option("--sole-proprietor", help="一人親方")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    with transaction(settings) as session:
        employer = new_employer(
            session=session,
            employer_id=employer_id,
            trade_name=trade_name,
            address=address,
            phone=phone,
            sole_proprietor=sole_proprietor,
            now=system_clock(),
        )
        data = {
            "employer_id": employer.employer_id,
            "trade_name": employer.trade_name,
            "sole_proprietor": employer.sole_proprietor,
        }
    emit(as_json, data, lambda: out.print(f"created employer {data['employer_id']} {data['trade_name']}"))


def _account_extras(session: Session, settings: Settings, account: Any, *, with_totp: bool) -> dict[str, str]:
    rng = SystemRandomness()
    extra: dict[str, str] = {}
    if with_totp:
        box = SecretBox(settings.resolved_secret(), "totp", rng)
        extra["totp_secret"] = enrol_totp_directly(session=session, account=account, box=box, rng=rng)
    record_audit_event(
        session=session,
        event=AuditEvents.ACCOUNT_CREATED,
        outcome="success",
        now=system_clock(),
        account_id=account.id,
        subject=account.username,
        detail={"via": "cli", "kind": account.kind},
    )
    return extra


def _password(given: str | None) -> tuple[str, bool]:
    return (given, False) if given else (secrets.token_urlsafe(12), True)


@admin_cli.command("create-technician")
def create_technician(
    technician_id: Annotated[str, typer.Option(help="技能者ID (14 digits; full-width digits accepted)")],
    name: Annotated[str, typer.Option(help="氏名")],
    kana: Annotated[str, typer.Option(help="フリガナ")],
    birth_date: Annotated[str, typer.Option(help="生年月日 YYYY-MM-DD")],
    gender: Annotated[str, typer.Option(help="male|female|other|unspecified")],
    address: Annotated[str, typer.Option()],
    phone: Annotated[str, typer.Option()],
    face_photo: Annotated[Path | None, typer.Option(help="JPEG or PNG, at most 2 MB")] = None,
    password: Annotated[str | None, typer.Option(help="Initial password (generated if omitted)")] = None,
    with_totp: Annotated[bool, typer.Option("--with-totp", help="Enrol TOTP and print its secret")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    photo = None
    if face_photo is not None:
        try:
            photo = face_photo.read_bytes()
        except OSError as exc:
            fail(f"face_photo: cannot read {face_photo}: {exc.strerror}")
    pw, generated = _password(password)
    born = parse_day(birth_date, "birth_date")
    with transaction(settings) as session:
        account, technician = new_technician(
            session=session,
            technician_id=technician_id,
            name=name,
            name_kana=kana,
            birth_date=born,
            gender=gender,
            address=address,
            phone=phone,
            password=pw,
            face_photo=photo,
            passwords=passwords_for(settings),
            rng=SystemRandomness(),
            now=system_clock(),
        )
        data: dict[str, Any] = {
            "technician_id": technician.technician_id,
            "username": account.username,
            "name": technician.name,
        }
        if generated:
            data["password"] = pw
        data.update(_account_extras(session, settings, account, with_totp=with_totp))
    emit(as_json, data, lambda: out.print("created technician " + ", ".join(f"{k}={v}" for k, v in data.items())))


@admin_cli.command("create-staff")
def create_staff(
    employer_id: Annotated[str, typer.Option(help="事業者ID of the employer")],
    login: Annotated[str, typer.Option(help="Login name; signs in as <事業者ID>-<login>")],
    display_name: Annotated[str, typer.Option(help="氏名")],
    role: Annotated[str, typer.Option(help="admin|staff")] = "staff",
    email: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="Initial password (generated if omitted)")] = None,
    with_totp: Annotated[bool, typer.Option("--with-totp")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    pw, generated = _password(password)
    with transaction(settings) as session:
        account, staff = new_staff(
            session=session,
            employer_id=employer_id,
            login=login,
            display_name=display_name,
            role=role,
            email=email,
            password=pw,
            passwords=passwords_for(settings),
            rng=SystemRandomness(),
            now=system_clock(),
        )
        data: dict[str, Any] = {"username": account.username, "role": staff.role, "email": account.email}
        if generated:
            data["password"] = pw
        data.update(_account_extras(session, settings, account, with_totp=with_totp))
    emit(as_json, data, lambda: out.print("created staff " + ", ".join(f"{k}={v}" for k, v in data.items())))


@admin_cli.command("create-operator")
def create_operator(
    login: Annotated[str, typer.Option(help="Operator login name")],
    display_name: Annotated[str, typer.Option()],
    email: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option()] = None,
    with_totp: Annotated[bool, typer.Option("--with-totp")] = False,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    pw, generated = _password(password)
    with transaction(settings) as session:
        account = new_operator(
            session=session,
            login=login,
            display_name=display_name,
            email=email,
            password=pw,
            passwords=passwords_for(settings),
            rng=SystemRandomness(),
            now=system_clock(),
        )
        data: dict[str, Any] = {"username": account.username}
        if generated:
            data["password"] = pw
        data.update(_account_extras(session, settings, account, with_totp=with_totp))
    emit(as_json, data, lambda: out.print("created operator " + ", ".join(f"{k}={v}" for k, v in data.items())))


@admin_cli.command("link-affiliation")
def link_affiliation(
    technician_id: Annotated[str, typer.Option()],
    employer_id: Annotated[str, typer.Option()],
    start: Annotated[str, typer.Option(help="First day YYYY-MM-DD")],
    as_json: JsonOpt = False,
) -> None:
    """Affiliate a technician with an employer; the current affiliation (if any) ends the day before."""
    settings = settings_or_fail()
    start_date = parse_day(start, "start")
    with transaction(settings) as session:
        affiliation = new_affiliation(
            session=session,
            technician_id=technician_id,
            employer_id=employer_id,
            start_date=start_date,
            now=system_clock(),
        )
        data = {
            "technician_id": normalise_14_digit_id(technician_id, field="technician_id"),
            "employer_id": normalise_14_digit_id(employer_id, field="employer_id"),
            "start_date": affiliation.start_date.isoformat(),
        }
    emit(
        as_json,
        data,
        lambda: out.print(f"linked {data['technician_id']} to {data['employer_id']} from {data['start_date']}"),
    )


@admin_cli.command("end-affiliation")
def end_affiliation_cmd(
    technician_id: Annotated[str, typer.Option()],
    end: Annotated[str, typer.Option(help="Last day YYYY-MM-DD")],
    as_json: JsonOpt = False,
) -> None:
    """End a technician's current affiliation: from the next day the employer's relationship rules no
    longer apply (docs/domain.md), at the very next request to any worker."""
    settings = settings_or_fail()
    end_date = parse_day(end, "end")
    technician_id = normalise_14_digit_id(technician_id, field="technician_id")
    with transaction(settings) as session:
        technician = find_technician(session=session, technician_id=technician_id)
        if technician is None or technician.id is None:
            fail(FieldProblem("technician_id", message("field.unknown_technician")))
        ended = close_affiliation(session=session, technician_pk=technician.id, end_date=end_date)
        data = {"technician_id": technician_id, "end_date": end_date.isoformat(), "employer_pk": ended.employer_pk}
    emit(as_json, data, lambda: out.print(f"ended the affiliation of {technician_id} on {data['end_date']}"))
