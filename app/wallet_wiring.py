"""Wiring the wallet to idp and connectors through the interfaces the wallet declares
(``wallet.ports``): the technician's data, access-token checks and minting, RFC 9396
``openid_credential`` authorization details, and the pre-authorized code grant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from common.japan_time import local_date
from common.messages import message
from connectors import store as certificate_store
from connectors.models import Certificate
from idp.models import Account, OAuthGrant
from idp.oauth.public import (
    DetailsError,
    OAuthServices,
    RegisteredClient,
    Resource,
    TokenKind,
    TokenRefused,
    mint_access_token,
    verify_token,
)
from idp.public import find_technician, technician_for_account
from register.disclosure import full_record
from wallet import credentials
from wallet.models import CredentialOffer
from wallet.ports import AccessError, AccessInfo, CardData, CertificateData

#: The longest a Bearer (not DPoP-bound) credential access token lives.
UNBOUND_CREDENTIAL_TOKEN = timedelta(minutes=5)
#: ``client_id`` of pre-authorized tokens: no registered client (ids are generated, never this)
ANONYMOUS_HOLDER = "urn:genba:anonymous-holder"


def _ref(row: Certificate) -> str:
    return f"{row.issuer_id}/{row.certificate_number}"


class RegisterHolderData:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def card(self, technician_id: str, *, now: datetime) -> CardData | None:
        with Session(self._engine) as session:
            technician = find_technician(session=session, technician_id=technician_id)
            if technician is None:
                return None
            record = full_record(session, technician, today=local_date(now))
            employer = record.current_affiliation.employer
            insurance = record.social_insurance
            return CardData(
                technician_id=technician.technician_id,
                name=technician.name,
                name_kana=technician.name_kana,
                birth_date=technician.birth_date,
                level=record.level_occupation.level,
                occupations=record.level_occupation.occupations,
                employer_id=employer.employer_id if employer else None,
                employer_name=employer.trade_name if employer else None,
                health_insurance=insurance.health_insurance,
                pension_insurance=insurance.pension_insurance,
                employment_insurance=insurance.employment_insurance,
                kentaikyo=insurance.kentaikyo,
                face_photo=record.face_photo.data_uri,
            )

    def certificates(self, technician_id: str) -> list[CertificateData]:
        with Session(self._engine) as session:
            return [
                CertificateData(
                    ref=_ref(c),
                    technician_id=c.technician_id,
                    course_kind=c.course_kind,
                    course_code=c.course_code,
                    course_name=c.course_name,
                    training_body=c.training_body,
                    issuer_id=c.issuer_id,
                    certificate_number=c.certificate_number,
                    completed_on=c.completed_on,
                    holder_name=c.holder_name,
                    holder_birth_date=c.holder_birth_date,
                    status=c.status,
                )
                for c in certificate_store.for_technician(session, technician_id)
            ]

    def certificate_statuses(self, refs: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with Session(self._engine) as session:
            for ref in refs:
                issuer_id, _, number = ref.partition("/")
                row = certificate_store.find(session, issuer_id, number)
                out[ref] = row.status if row else "missing"
        return out

    def current_employer(self, technician_id: str, *, now: datetime) -> str | None:
        from register.directory import RegisterDirectory

        return RegisterDirectory(self._engine).current_employer(technician_id, on=local_date(now))


class ProviderTokens:
    """Access tokens of the Genba ID OpenID provider, as the credential endpoint sees them."""

    def __init__(self, services: OAuthServices) -> None:
        self._services = services

    def check(self, *, authorization: str | None, dpop: list[str], method: str, url: str) -> AccessInfo:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not value.strip():
            raise AccessError(
                401, "invalid_token", message("token.required"), {"WWW-Authenticate": 'DPoP algs="ES256", Bearer'}
            )
        svc = self._services
        with Session(svc.engine, expire_on_commit=False) as db:
            try:
                claims = verify_token(
                    svc,
                    db,
                    method=method,
                    path=url.removeprefix(svc.config.issuer),
                    dpop=dpop,
                    value=value.strip(),
                    scheme=scheme.lower(),
                    resource=Resource.credential,
                    # the holder of an offer, or a person through a client registered as a holder wallet
                    # (only those tokens name the credential endpoint: idp.oauth.issuance.audience_for)
                    kinds=(TokenKind.wallet, TokenKind.user),
                )
            except TokenRefused as refused:
                # the wallet's port speaks invalid_token; the challenge (and any nonce) goes through
                raise AccessError(refused.status, "invalid_token", message("token.invalid"), refused.headers) from None
            data = claims.claims
            technician_id = self._technician(db, data)
        if technician_id is None:
            raise AccessError(401, "invalid_token", message("token.not_for_technician"))
        authorized: dict[str, tuple[str, ...]] = {}
        for entry in data.get("authorization_details") or []:
            if isinstance(entry, dict) and entry.get("type") == "openid_credential":
                config = str(entry.get("credential_configuration_id"))
                authorized[config] = tuple(str(i) for i in entry.get("credential_identifiers") or [config])
        cnf = data.get("cnf")
        return AccessInfo(
            technician_id=technician_id,
            client_id=str(data.get("client_id")),
            jkt=cnf.get("jkt") if isinstance(cnf, dict) else None,
            authorized=authorized,
        )

    def _technician(self, db: Session, data: dict[str, Any]) -> str | None:
        if data.get("offer_ref"):
            offer = db.get(CredentialOffer, str(data["offer_ref"]))
            return offer.technician_id if offer else None
        grant = db.get(OAuthGrant, str(data.get("gid"))) if data.get("gid") else None
        account = db.get(Account, grant.account_id) if grant else None
        technician = technician_for_account(session=db, account_id=account.id) if account and account.id else None
        return technician.technician_id if technician else None

    def mint(self, *, reference: str, authorization_details: list[dict[str, Any]], jkt: str | None) -> tuple[str, int]:
        """A JWT access token of the provider whose subject is the redeemed offer (no personal data in
        it), for the credential endpoint only, naming no client (issue 12, hole 1)."""
        return mint_access_token(
            self._services,
            client_id=ANONYMOUS_HOLDER,
            subject=f"offer:{reference}",
            scope="openid_credential",
            grant=None,
            jkt=jkt,
            kind=TokenKind.wallet,
            audience={Resource.credential},
            extra={"authorization_details": authorization_details, "offer_ref": reference},
            # A Bearer token that can fetch credentials lives at most 5 minutes; a DPoP-bound one
            # may live as configured (OpenID4VCI 1.0 §13, sender-constrained tokens; RFC 9700 §2.2).
            at_most=None if jkt else UNBOUND_CREDENTIAL_TOKEN,
        )


class CredentialDetails:
    """RFC 9396 ``openid_credential`` entries in authorization requests (OpenID4VCI §5.1.1)."""

    def __init__(self, holders: RegisterHolderData, engine: Engine) -> None:
        self._holders = holders
        self._engine = engine

    def validate(
        self, entries: list[dict[str, Any]], client: RegisteredClient, scopes: list[str]
    ) -> list[dict[str, Any]]:
        out = []
        for entry in entries:
            config = entry.get("credential_configuration_id")
            if not isinstance(config, str) or config not in credentials.TYPES:
                raise DetailsError("unknown credential_configuration_id")
            out.append({"type": "openid_credential", "credential_configuration_id": config})
        out += [
            {"type": "openid_credential", "credential_configuration_id": s}
            for s in scopes
            if s in credentials.TYPES and not any(e["credential_configuration_id"] == s for e in out)
        ]
        if out and not client.acts_as_wallet:
            # a credential in a relying party's hands is a disclosure of everything in it, and lets
            # that party present it at the gate as the technician: only a holder's wallet app gets
            # one (issue 12, hole 3): registered as one, or attested by a trusted wallet provider at
            # /par (HAIP 1.0 §4.3); the RP asks for data through genba_technician_data instead
            raise DetailsError(
                "only a holder wallet (registered, or attested by a trusted wallet provider at /par) "
                "may request credentials"
            )
        return out

    def grant(self, entries: list[dict[str, Any]], client: RegisteredClient, account: Account) -> list[dict[str, Any]]:
        with Session(self._engine) as db:
            technician = technician_for_account(session=db, account_id=account.id or 0)
        if technician is None:
            raise DetailsError("only technicians hold credentials")
        refs = [c.ref for c in self._holders.certificates(technician.technician_id) if c.status == "valid"]
        return [
            {
                **e,
                "credential_identifiers": refs
                if e["credential_configuration_id"] == credentials.CERTIFICATE
                else [e["credential_configuration_id"]],
            }
            for e in entries
        ]

    def still_valid(self, entries: list[dict[str, Any]]) -> bool:
        return True


class CompositeDetails:
    """Dispatch RFC 9396 entries by type to the consent engine or the credential issuer."""

    def __init__(self, consent: Any, wallet: CredentialDetails) -> None:
        self._consent, self._wallet = consent, wallet

    @staticmethod
    def _split(entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        wallet = [e for e in entries if e.get("type") == "openid_credential"]
        return [e for e in entries if e.get("type") != "openid_credential"], wallet

    def validate(
        self, entries: list[dict[str, Any]], client: RegisteredClient, scopes: list[str]
    ) -> list[dict[str, Any]]:
        other, wallet = self._split(entries)
        return self._consent.validate(other, client, scopes) + self._wallet.validate(wallet, client, scopes)  # type: ignore[no-any-return]

    def grant(self, entries: list[dict[str, Any]], client: RegisteredClient, account: Account) -> list[dict[str, Any]]:
        other, wallet = self._split(entries)
        return (self._consent.grant(other, client, account) if other else []) + (
            self._wallet.grant(wallet, client, account) if wallet else []
        )

    def still_valid(self, entries: list[dict[str, Any]]) -> bool:
        other, _ = self._split(entries)
        return bool(self._consent.still_valid(other))
