"""The world of ``bench.peer``'s userinfo scenario: a third party reads technicians' CCUS claims under
two-party consent (docs/domain.md rule 1), the way issue 14's goal row names it.

``seed_third_party`` adds, beside the technicians ``bench.signin.seed`` made (all employed by the
bench's employer): the third party (another company, which owns the reading client and has no
relationship with any technician) and each technician's record details (qualifications), so the
answer carries a real ``ccus`` object. The sign-in of the scenario asks for ``CCUS_DETAILS``
(RFC 9396 ``genba_technician_data``): the technician approves on the consent screen, which creates the
consent request with his approval (``register/details.py``); ``approve_as_employer`` then gives the
employer's approval through the consent engine's own service, as an employer admin does on
``/consent/employer``. Userinfo then releases the name (``profile`` scope, identity group) and
``ccus`` (identity, current affiliation, qualifications) under that consent, and records each release.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import col

from app.database import make_engine
from consent.groups import FIELD_GROUP
from consent.policy import PolicyEngine
from consent.ports import Party
from consent.service import ConsentService
from idp.models import Employer, Technician
from register.directory import RegisterDirectory
from register.models import TechnicianRecord

THIRD_PARTY = "39000000000002"  # 勤怠ソフト: no relationship with the technicians
GROUPS = ["identity", "current_affiliation", "qualifications"]
#: the members of ``ccus`` userinfo must release under that consent: every field of those groups
CCUS_FIELDS = tuple(field for field, group in FIELD_GROUP.items() if group in GROUPS)
CCUS_DETAILS = json.dumps(
    [{"type": "genba_technician_data", "groups": GROUPS, "purpose": "入退場管理のための資格確認"}],
    ensure_ascii=False,
)
QUALIFICATIONS = [{"name": "玉掛け技能講習", "number": "T-123"}, {"name": "足場の組立て等作業主任者", "number": "A-9"}]


def seed_third_party(url: str, technician_ids: list[str]) -> None:
    """The third-party company and the technicians' record details (qualifications)."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            company: dict[str, Any] = {"employer_id": THIRD_PARTY, "trade_name": "勤怠ソフト株式会社"}
            company |= {"address": "大阪府大阪市1-1", "phone": "06-0000-0000", "sole_proprietor": False}
            conn.execute(insert(Employer).values(**company, contact_substitution=False, created_at=now))
            pks = conn.execute(select(col(Technician.id)).where(col(Technician.technician_id).in_(technician_ids)))
            record: dict[str, Any] = {"qualifications": QUALIFICATIONS, "occupations": ["とび"], "level": 2}
            record |= {"education": [], "training": [], "awards": [], "kentaikyo": True, "updated_at": now}
            record |= {f"{kind}_insurance": "enrolled" for kind in ("health", "pension", "employment")}
            conn.execute(insert(TechnicianRecord), [record | {"technician_pk": pk} for (pk,) in pks])
    finally:
        engine.dispose()


def approve_as_employer(url: str, employer_id: str, consent_id: str) -> None:
    """The employer admin's approval of ``consent_id`` (the technician approved at sign-in): the
    consent becomes active, as ``/consent/employer`` makes it."""
    engine = make_engine(url)
    try:
        service = ConsentService(engine, RegisterDirectory(engine), PolicyEngine())
        view = service.approve(consent_id, Party("company", employer_id, role="admin"), now=datetime.now(UTC))
        if view.state != "active":
            raise RuntimeError(f"consent {consent_id} is {view.state} after both approvals")
    finally:
        engine.dispose()
