"""The notice the authorization page shows a technician before approving (ISO/IEC 29184 §5.3:
recipient, purpose, data, period): the page's model, and the port through which the application
lets the register fill it (``register.consent_screen``), so the identity provider never computes a
disclosure itself and imports nothing of the register (docs/architecture.md, contracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from idp.models import OAuthClient, Technician


@dataclass(frozen=True)
class Waiting:
    """Groups of one entry that leave once the employer also approves."""

    purpose: str
    period_end: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Withheld:
    group: str
    ja: str
    en: str


@dataclass(frozen=True)
class Credential:
    configuration_id: str
    name: tuple[str, str]
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Preview:
    now: tuple[str, ...]
    #: the purposes (ja, en) under which the ``now`` groups leave: the entries', or the system's service
    now_purposes: tuple[tuple[str, str], ...]
    waiting: tuple[Waiting, ...]
    withheld: tuple[Withheld, ...]
    credentials: tuple[Credential, ...]
    #: the trade name, when the requesting system belongs to the technician's current employer
    own_employer: str | None


#: what the page shows when no engine is wired: nothing about a technician leaves
NOTHING = Preview((), (), (), (), (), None)


class ReleasePreviewer(Protocol):
    """Decides, as the token's release will, what this request discloses now, what waits for the
    employer and what is withheld (wired by the application; ``register.consent_screen.preview``)."""

    def __call__(
        self,
        db: Session,
        *,
        client: OAuthClient,
        technician: Technician,
        scopes: list[str],
        claims_param: dict[str, Any] | None,
        details: list[dict[str, Any]],
        now: datetime,
    ) -> Preview: ...
