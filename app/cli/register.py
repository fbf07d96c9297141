"""``genba admin`` commands for the CCUS register (sites, tiers, assignments, record details,
orderers), ``genba admin withdraw-consent`` and ``genba audit verify`` for the consent record chain."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app import database
from app.cli.admin import admin_cli
from app.cli.common import JsonOpt, emit, fail, out, parse_day, settings_or_fail, transaction
from common.japan_time import local_date
from common.messages import message
from consent import records
from consent.policy import PolicyEngine
from consent.ports import ConsentError, Party
from consent.service import ConsentService
from idp.models import AccountKind
from idp.public import FieldProblem, find_login_account, system_clock
from register import repository as register
from register import substitution
from register.attendance.store import recompute_employer_month
from register.directory import RegisterDirectory

audit_cli = typer.Typer(help="Consent and disclosure records", no_args_is_help=True)


@admin_cli.command("create-orderer")
def create_orderer(
    code: Annotated[str, typer.Option(help="Orderer code")],
    name: Annotated[str, typer.Option(help="発注者名")],
    as_json: JsonOpt = False,
) -> None:
    """Register an orderer (発注者). Then name it on its sites (create-site --orderer-code) and register
    its system (create-client --owner-orderer-id CODE --grant-type client_credentials)."""
    settings = settings_or_fail()
    with transaction(settings) as session:
        orderer = register.create_orderer(session=session, orderer_code=code, name=name, now=system_clock())
        data = {"orderer_code": orderer.orderer_code, "name": orderer.name}
    emit(as_json, data, lambda: out.print(f"created orderer {data['orderer_code']}"))


@admin_cli.command("create-site")
def create_site(
    site_id: Annotated[str, typer.Option(help="現場ID")],
    name: Annotated[str, typer.Option(help="現場名")],
    prime_employer_id: Annotated[str, typer.Option(help="元請の事業者ID")],
    starts_on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    ends_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    orderer_code: Annotated[str | None, typer.Option()] = None,
    address: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    start, end = parse_day(starts_on, "starts_on"), parse_day(ends_on, "ends_on") if ends_on else None
    with transaction(settings) as session:
        site = register.create_site(
            session=session,
            site_id=site_id,
            name=name,
            prime_employer_id=prime_employer_id,
            starts_on=start,
            ends_on=end,
            orderer_code=orderer_code,
            address=address,
            now=system_clock(),
        )
        data = {"site_id": site.site_id, "name": site.name}
    emit(as_json, data, lambda: out.print(f"created site {data['site_id']}"))


@admin_cli.command("add-site-company")
def add_site_company(
    site_id: Annotated[str, typer.Option()],
    employer_id: Annotated[str, typer.Option()],
    parent_employer_id: Annotated[str, typer.Option(help="The company one tier up")],
    registered_by: Annotated[
        str | None, typer.Option(help="事業者ID that registered it on the other's behalf (代行)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    with transaction(settings) as session:
        row = register.add_site_company(
            session=session,
            site_id=site_id,
            employer_id=employer_id,
            parent_employer_id=parent_employer_id,
            registered_by_employer_id=registered_by,
        )
        data = {"site_id": site_id, "employer_id": employer_id, "tier": row.tier}
    emit(as_json, data, lambda: out.print(f"{employer_id} is tier {data['tier']} on {site_id}"))


@admin_cli.command("assign")
def assign(
    site_id: Annotated[str, typer.Option()],
    technician_id: Annotated[str, typer.Option()],
    employer_id: Annotated[str, typer.Option(help="The company the technician works through on this site")],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    role: Annotated[str, typer.Option(help="職長, 班長, ...")] = "",
    registered_by: Annotated[str | None, typer.Option(help="事業者ID that registered it (代行)")] = None,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    first, last = parse_day(start, "start"), parse_day(end, "end") if end else None
    with transaction(settings) as session:
        register.assign(
            session=session,
            site_id=site_id,
            technician_id=technician_id,
            employer_id=employer_id,
            start_date=first,
            end_date=last,
            role=role,
            registered_by_employer_id=registered_by,
        )
        data = {"site_id": site_id, "technician_id": technician_id, "start": first.isoformat()}
    emit(as_json, data, lambda: out.print(f"assigned {technician_id} to {site_id}"))


@admin_cli.command("end-assignment")
def end_assignment(
    site_id: Annotated[str, typer.Option()],
    technician_id: Annotated[str, typer.Option()],
    end: Annotated[str, typer.Option(help="Last day on the site, YYYY-MM-DD")],
    as_json: JsonOpt = False,
) -> None:
    """The technician leaves the site: the upper tiers and the orderer stop seeing him the next day."""
    settings = settings_or_fail()
    last = parse_day(end, "end")
    with transaction(settings) as session:
        register.end_assignment(session=session, site_id=site_id, technician_id=technician_id, end_date=last)
        data = {"site_id": site_id, "technician_id": technician_id, "end": last.isoformat()}
    emit(as_json, data, lambda: out.print(f"{technician_id} leaves {site_id} after {data['end']}"))


@admin_cli.command("close-site")
def close_site(site_id: Annotated[str, typer.Option()], as_json: JsonOpt = False) -> None:
    """Close a finished site (完成): from now on nobody sees its roster or attendance by relationship."""
    settings = settings_or_fail()
    with transaction(settings) as session:
        site = register.close_site(session=session, site_id=site_id, now=system_clock())
        data = {"site_id": site.site_id, "closed_at": site.closed_at}
    emit(as_json, data, lambda: out.print(f"closed site {site_id}"))


@admin_cli.command("set-record")
def set_record(
    technician_id: Annotated[str, typer.Option()],
    values: Annotated[str, typer.Option(help='JSON object, e.g. {"level": 2, "occupations": ["とび"]}')],
    as_json: JsonOpt = False,
) -> None:
    """Set technician record details: level, occupations, insurance, kentaikyo, qualifications, ..."""
    settings = settings_or_fail()
    try:
        parsed: Any = json.loads(values)
    except ValueError:
        fail("values: not JSON")
    if not isinstance(parsed, dict):
        fail("values: must be a JSON object")
    with transaction(settings) as session:
        register.set_record(session=session, technician_id=technician_id, now=system_clock(), **parsed)
    emit(
        as_json,
        {"technician_id": technician_id, "updated": sorted(parsed)},
        lambda: out.print(f"updated {technician_id}: {', '.join(sorted(parsed))}"),
    )


@admin_cli.command("set-contact-substitution")
def set_contact_substitution(
    employer_id: Annotated[str, typer.Option(help="事業者ID")],
    on: Annotated[
        bool | None, typer.Option("--on/--off", help="Publish the company's address/phone instead (rule 3)")
    ] = None,
    technician_id: Annotated[
        str | None, typer.Option(help="Only this current technician (without it: the default for all)")
    ] = None,
    follow_default: Annotated[
        bool, typer.Option("--follow-default", help="This technician follows the employer's default again")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rule 3: publish the company's address and phone instead of its technicians' (all, or one)."""
    if follow_default and (technician_id is None or on is not None):
        fail("--follow-default needs --technician-id and neither --on nor --off")
    if on is None and not follow_default:
        fail("give --on or --off (or --follow-default with --technician-id)")
    settings = settings_or_fail()
    now = system_clock()
    with transaction(settings) as session:
        employer = substitution.employer_or_fail(session, employer_id)
        if technician_id is None:
            assert on is not None
            substitution.set_default(session=session, employer=employer, on=on, now=now, account_id=None)
            data: dict[str, Any] = {"employer_id": employer.employer_id, "default": on}
        else:
            setting = substitution.set_for_technician(
                session=session,
                employer=employer,
                technician_id=technician_id,
                on=None if follow_default else on,
                today=local_date(now),
                now=now,
                account_id=None,
            )
            data = {
                "employer_id": employer.employer_id,
                "technician_id": setting.technician_id,
                "override": setting.override,
                "effective": setting.effective,
            }
    emit(as_json, data, lambda: out.print(f"contact substitution for {employer_id}: {data}"))


@admin_cli.command("withdraw-consent")
def withdraw_consent(
    consent_id: Annotated[str, typer.Argument(help="the consent request's id (consent_id)")],
    on_request_of: Annotated[str, typer.Option(help="technician|employer: who asked in writing for the withdrawal")],
    operator: Annotated[str, typer.Option(help="Login of the operator doing it (create-operator), recorded")],
    reference: Annotated[str, typer.Option(help="Reference of the written request (受付番号), recorded")],
    as_json: JsonOpt = False,
) -> None:
    """Withdraw a two-party consent on a written request of the technician or of his current employer
    (the CCUS practice: the operator acts on a 申請書, never on its own). Recorded in the hash chain with
    the operator as actor, acting for that side; from now on nothing is disclosed under it, at the very
    next request to any worker (docs/domain.md rule 1; docs/operations.md "Revoking")."""
    settings = settings_or_fail()
    with transaction(settings) as session:
        account = find_login_account(session=session, username=operator)
        if account is None or account.kind != AccountKind.operator:
            fail(FieldProblem("operator", message("field.not_operator")))
        login = account.username
    engine = database.make_engine(settings.database_url)
    try:
        service = ConsentService(engine, RegisterDirectory(engine), PolicyEngine(settings.policies_dir))
        view = service.revoke_on_request(
            consent_id, Party("operator", login), on_request_of, now=system_clock(), reference=reference
        )
    except ConsentError as problem:
        fail(FieldProblem("consent_id", problem.message) if problem.code == "not_found" else problem)
    finally:
        engine.dispose()
    data = {"consent_id": view.id, "state": view.state.value, "on_request_of": on_request_of, "operator": login}
    emit(as_json, data, lambda: out.print(f"withdrew consent {view.id} on request of the {on_request_of}"))


@admin_cli.command("recompute-attendance")
def recompute_attendance(
    employer_id: Annotated[str, typer.Option(help="事業者ID")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    technician_id: Annotated[str | None, typer.Option(help="Only this technician")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue 16: recompute a month of attendance (hours, overtime findings, 建退共 days) from the stored
    gate events, for one technician or every technician of the employer in that month."""
    first = parse_day(f"{month}-01", "month")
    settings = settings_or_fail()
    with transaction(settings) as session:
        rows = recompute_employer_month(session, employer_id, first, now=system_clock(), technician_id=technician_id)
        data = {
            "employer_id": employer_id,
            "month": f"{first:%Y-%m}",
            "technicians": [
                {"technician_id": r.technician_id, "worked_minutes": r.worked_minutes, "kentaikyo": r.kentaikyo_days}
                for r in rows
            ],
        }
    emit(as_json, data, lambda: out.print(f"recomputed {len(rows)} month(s) of {employer_id} for {data['month']}"))


@audit_cli.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Recompute the hash chain of consent and disclosure records; exit 1 if it was tampered with."""
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        ok, count, bad = records.verify(session)
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps({"ok": ok, "records": count, "first_bad_seq": bad}) + "\n")
    elif ok:
        out.print(f"ok: {count} records, chain intact")
    else:
        out.print(f"TAMPERED: the chain breaks at record {bad} (checked {count} before it)")
    if not ok:
        raise typer.Exit(1)
