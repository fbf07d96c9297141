"""The one course catalogue (common/courses.py, issue 15 Broken 1): the gate's default requirements can be
met by the certificates the reference source issues, carried through the connector and the wallet
unchanged, and the browser's copy of the catalogue is the catalogue."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from common import courses
from connectors.sources.mynaportal.mapper import to_record
from tools.reference_source.catalog import BODIES
from tools.reference_source.seed import FIXED_PEOPLE, fixed_records
from wallet.credentials import certificate_claims
from wallet.gate import requirements
from wallet.ports import CertificateData

ISSUER = "https://issuer.genba.example"
CERTIFICATE_VCT = requirements.TYPES[requirements.CERTIFICATE].vct(ISSUER)


def _wallet_claims(payload: dict[str, object], technician_id: str) -> dict[str, object]:
    """A good source record as the gate sees it: mapped by the MyNaPortal connector, signed by the wallet."""
    record = to_record(
        payload, source="mynaportal", issuer_id="x", signer_kid="k", issued_at=datetime(2025, 1, 1), original=""
    )
    data = CertificateData(
        ref=f"{record.issuer_id}/{record.certificate_number}",
        technician_id=technician_id,
        course_kind=record.course_kind,
        course_code=record.course_code,
        course_name=record.course_name,
        training_body=record.training_body,
        issuer_id=record.issuer_id,
        certificate_number=record.certificate_number,
        completed_on=record.completed_on,
        holder_name=record.holder.name,
        holder_birth_date=date.fromisoformat(str(record.holder.birth_date)),
        status=record.status,
    )
    return certificate_claims(data)


@pytest.mark.parametrize("work_kind", sorted(requirements.WORK_KINDS))
def test_every_default_requirement_is_met_by_a_certificate_the_reference_source_issues(work_kind: str) -> None:
    """Issue 15 Broken 1 (docs/domain.md "What a gate asks for"): for each kind of work, one technician of
    the reference source holds a good certificate (no defect) answering every course query of the gate's
    default DCQL (OpenID4VP 1.0 §6); before, crane work asked for ``kogata-crane``, which no source issues."""
    course_queries = [q for q in requirements.default_dcql(ISSUER, work_kind)["credentials"] if q["id"] != "ccus_card"]
    assert len(course_queries) == len(courses.WORK_KINDS[work_kind].requires)
    good = [spec for spec in fixed_records() if spec.defect is None]
    answered_by_someone = False
    for person in FIXED_PEOPLE.values():
        mine = [spec.payload for spec in good if spec.login == person.login]
        held = [_wallet_claims(payload, str(person.holder.technician_id)) for payload in mine]
        if all(any(requirements.satisfies(q, CERTIFICATE_VCT, c) is None for c in held) for q in course_queries):
            answered_by_someone = True
    assert answered_by_someone, work_kind


def test_every_required_course_is_taught_by_a_published_body() -> None:
    """Issue 12 item 9 with issue 15 Broken 1: a body is trusted per course, so each course a gate requires
    is taught by a body the source publishes (else no trusted certificate could ever answer it)."""
    taught = {code for body in BODIES.values() if body.published for code in body.courses}
    for kind in courses.WORK_KINDS.values():
        assert set(kind.requires) <= taught, kind.code


def test_the_source_issues_only_catalogue_courses() -> None:
    """Issue 15 Broken 1: every course a body of the reference source teaches, and every record it signs, is a
    catalogue course with the catalogue's kind and name (講習の種類 as printed)."""
    for body in BODIES.values():
        assert set(body.courses) <= set(courses.COURSES), body.body_id
    for spec in fixed_records():
        signed = {**spec.payload, **spec.tamper}
        course = courses.COURSES[str(signed["course_code"])]
        assert (signed["course_kind"], signed["course_name"]) == (course.kind, course.ja), spec.record_id


def test_the_gate_and_the_connectors_read_the_catalogue() -> None:
    """Issue 15 Broken 1: one catalogue — the gate's course names and kinds of work, and the connectors'
    course kinds, are the catalogue's (a course added to common/courses.json reaches all of them)."""
    assert {code: (c.ja, c.en) for code, c in courses.COURSES.items()} == requirements.COURSES
    assert {k: v[2] for k, v in requirements.WORK_KINDS.items()} == {
        k: list(w.requires) for k, w in courses.WORK_KINDS.items()
    }
    from connectors.records import COURSE_KINDS

    assert set(COURSE_KINDS) == set(courses.COURSE_KINDS) == {"技能講習", "特別教育"}
    assert all(c.work_ja and c.work_en and c.en for c in courses.COURSES.values())


def test_the_browsers_copy_is_generated_from_the_catalogue() -> None:
    """Issue 15 Broken 1: wallet/static/common/courses.js is ``python -m common.courses``'s output for the
    current common/courses.json (edit the JSON, then regenerate; a stale copy fails here)."""
    assert courses.BROWSER_COPY.read_text(encoding="utf-8") == courses.browser_module()
