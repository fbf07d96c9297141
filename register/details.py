"""``genba_technician_data`` authorization details (RFC 9396) backed by the consent engine.

An entry asks for field groups of the signed-in technician, for a purpose, until a date:
``{"type": "genba_technician_data", "groups": ["qualifications"], "purpose": "...",
"period_end": "2027-03-31"}``. When the technician approves on the consent screen, a consent
request is created with the technician's approval; the employer still has to approve before
anything is disclosed. Granted entries carry the ``consent_id`` the token then relies on.
The scopes ``ccus.qualifications``, ``ccus.affiliation``, ``ccus.work_history`` and ``ccus.attendance`` are shorthand
for such an entry with the client's name as purpose and a one-year period.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from common.japan_time import add_years, local_date
from consent.groups import ALL_GROUPS
from consent.ports import ConsentError, ConsentPort, Party
from idp.models import Account
from idp.oauth.public import DetailsError, RegisteredClient
from idp.public import Clock, technician_for_account
from register.owners import owner_party

TYPE = "genba_technician_data"
DEFAULT_PERIOD = timedelta(days=365)
CCUS_SCOPES = {
    "ccus.qualifications": ["qualifications"],
    "ccus.affiliation": ["current_affiliation"],
    "ccus.work_history": ["work_history"],
    "ccus.attendance": ["attendance"],
}


class ConsentDetails:
    def __init__(self, consent: ConsentPort, engine: Any, clock: Clock) -> None:
        self._consent = consent
        self._engine = engine
        self._clock = clock

    def _party(self, client: RegisteredClient) -> Party:
        """The client acting for its owner, company or orderer (:mod:`register.owners`)."""
        if client.row.owner_employer_pk is None and client.row.owner_orderer_pk is None:
            return Party("client", client.client_id)
        with Session(self._engine) as db:
            return Party("client", client.client_id, acting_for=owner_party(db, client.row))

    def validate(
        self, entries: list[dict[str, Any]], client: RegisteredClient, scopes: list[str]
    ) -> list[dict[str, Any]]:
        out = self.from_scopes(scopes, client)
        today = local_date(self._clock())
        for entry in entries:
            if entry.get("type") != TYPE:
                raise DetailsError(f"unsupported authorization_details type {str(entry.get('type'))[:40]}")
            groups = entry.get("groups")
            if not isinstance(groups, list) or not groups or any(g not in ALL_GROUPS for g in groups):
                raise DetailsError("groups must be a non-empty list of known field groups")
            purpose = entry.get("purpose")
            if not isinstance(purpose, str) or not purpose.strip() or len(purpose) > 500:
                raise DetailsError("purpose is required (at most 500 characters)")
            try:
                end = date.fromisoformat(entry["period_end"]) if "period_end" in entry else today + DEFAULT_PERIOD
            except (TypeError, ValueError):
                raise DetailsError("period_end must be a date YYYY-MM-DD") from None
            if end < today or end > add_years(today, 2):
                raise DetailsError("period_end must be within two years from today")
            out.append(
                {
                    "type": TYPE,
                    "groups": list(dict.fromkeys(groups)),
                    "purpose": purpose.strip(),
                    "period_end": end.isoformat(),
                }
            )
        return out

    def from_scopes(self, scopes: list[str], client: RegisteredClient) -> list[dict[str, Any]]:
        groups = [g for s in scopes for g in CCUS_SCOPES.get(s, [])]
        if not groups:
            return []
        end = local_date(self._clock()) + DEFAULT_PERIOD
        return [
            {
                "type": TYPE,
                "groups": groups,
                "purpose": f"{client.row.client_name} のサービス提供",
                "period_end": end.isoformat(),
            }
        ]

    def grant(self, entries: list[dict[str, Any]], client: RegisteredClient, account: Account) -> list[dict[str, Any]]:
        """Create the consent request(s) for this technician and record the technician's approval."""
        now = self._clock()
        with Session(self._engine) as db:
            technician = technician_for_account(session=db, account_id=account.id or 0)
        if technician is None:
            raise DetailsError("only technicians can approve technician data")
        granted = []
        party = self._party(client)
        for entry in entries:
            try:
                view = self._consent.request(
                    party,
                    [technician.technician_id],
                    entry["groups"],
                    entry["purpose"],
                    local_date(now),
                    date.fromisoformat(entry["period_end"]),
                    now=now,
                )[0]
                self._consent.approve(view.id, Party("technician", technician.technician_id), now=now)
            except ConsentError as exc:
                raise DetailsError(exc.en) from None
            granted.append({**entry, "consent_id": view.id})
        return granted

    def still_valid(self, entries: list[dict[str, Any]]) -> bool:
        ids = tuple(str(e["consent_id"]) for e in entries if isinstance(e, dict) and e.get("consent_id"))
        return self._consent.active(ids, now=self._clock())
