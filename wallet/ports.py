"""What the wallet needs from the rest of Genba ID, declared here and wired by ``app``:
secrets at rest, the technician's data, and access-token checks and minting (docs/architecture.md:
wallet asks idp for token checks only through an interface it declares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from common.errors import GenbaError, Message


class Sealer(Protocol):
    def seal(self, plaintext: bytes) -> str: ...

    def open(self, sealed: str) -> bytes: ...


@dataclass(frozen=True)
class CardData:
    technician_id: str
    name: str
    name_kana: str
    birth_date: date
    level: int
    occupations: tuple[str, ...]
    employer_id: str | None
    employer_name: str | None
    health_insurance: str
    pension_insurance: str
    employment_insurance: str
    kentaikyo: bool
    face_photo: str | None  # data: URL


@dataclass(frozen=True)
class CertificateData:
    ref: str  # "<issuer id>/<certificate number>"
    technician_id: str
    course_kind: str
    course_code: str
    course_name: str
    training_body: str
    issuer_id: str
    certificate_number: str
    completed_on: date
    holder_name: str
    holder_birth_date: date
    status: str  # valid | revoked | superseded


class HolderData(Protocol):
    def card(self, technician_id: str, *, now: datetime) -> CardData | None: ...

    def certificates(self, technician_id: str) -> list[CertificateData]: ...

    def certificate_statuses(self, refs: list[str]) -> dict[str, str]: ...

    def current_employer(self, technician_id: str, *, now: datetime) -> str | None: ...


@dataclass(frozen=True)
class AccessInfo:
    """A verified access token, as the credential endpoint needs it."""

    technician_id: str
    client_id: str
    jkt: str | None
    #: configuration id -> credential identifiers the token may obtain (RFC 9396 openid_credential)
    authorized: dict[str, tuple[str, ...]] = field(default_factory=dict)


class AccessError(GenbaError):
    """The credential endpoint's access token is refused (RFC 6750 §3.1, RFC 9449 §7.1): ``error``
    is the wire code, ``description`` the English text, ``headers`` the challenge to send."""

    def __init__(
        self, status: int, error: str, description: Message | str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description, code=error, status=status, headers=headers)


class AccessTokens(Protocol):
    def check(self, *, authorization: str | None, dpop: list[str], method: str, url: str) -> AccessInfo:
        """Raises :class:`AccessError` (401 invalid_token, DPoP errors) when the token is not usable."""
        ...

    def mint(self, *, reference: str, authorization_details: list[dict[str, Any]], jkt: str | None) -> tuple[str, int]:
        """An access token for the pre-authorized code flow (OpenID4VCI §4.1.1). The code authenticates
        the holder and no client (§3.5, anonymous access): the token names no registered client and
        works at the credential endpoint only."""
        ...
