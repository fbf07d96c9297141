"""Consent receipts with the fields of the Kantara Initiative Consent Receipt Specification v1.1,
and who may read one (issue 12 item 9: a former employer still read its technicians' receipts).

- The technician: every receipt about him, always.
- The employer the consent was asked of, while the technician works for it: the full receipt.
- That employer after the affiliation ended: only the receipt of a consent on which it recorded its
  own decision (approved or refused) - the record of its own act, which it may have to show (APPI
  art. 29/30 keep such records for years) - and only its own part of it: the terms it decided on and
  its decision. Nothing that happened afterwards (the live state, the technician's decisions) and no
  receipt of a consent it never decided. Its consent inbox no longer lists the technician at all.
- Anyone else: none (the same "not found" as an unknown id, so nothing is confirmed).
"""

from __future__ import annotations

from consent.groups import LABELS
from consent.ports import ConsentView, Party

#: what a former employer's copy leaves out: everything that is not its own act
NOT_FOR_FORMER_EMPLOYER = ("state", "technicianDecision")


def readable_receipt(view: ConsentView, reader: Party, current_employer: str | None) -> dict[str, object] | None:
    """The receipt ``reader`` may have, or ``None`` (see the module docstring)."""
    if reader.kind == "technician" and reader.id == view.technician_id:
        return kantara_receipt(view)
    if reader.kind != "company" or view.employer_id is None or reader.id != view.employer_id:
        return None
    if current_employer == view.employer_id:
        return kantara_receipt(view)
    if view.employer_decision is None:
        return None
    receipt = {k: v for k, v in kantara_receipt(view).items() if k not in NOT_FOR_FORMER_EMPLOYER}
    receipt["readerRelationship"] = "former_employer"
    return receipt


JURISDICTION = "JP"
CONTROLLER = "Genba ID 運営主体 (operator)"


def kantara_receipt(view: ConsentView) -> dict[str, object]:
    """Kantara CR v1.1 §4: version, jurisdiction, consentTimestamp, collectionMethod, consentReceiptID,
    language, piiPrincipalId, piiControllers, policyUrl, services/purposes, sensitive, spiCat."""
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": JURISDICTION,
        "consentTimestamp": int(view.created_at.timestamp()),
        "collectionMethod": "Genba ID consent request (technician and employer approval)",
        "consentReceiptID": view.id,
        "language": "ja",
        "piiPrincipalId": view.technician_id,
        "piiControllers": [
            {
                "piiController": CONTROLLER,
                "contact": "Genba ID operator",
                "address": "Japan",
                "email": "privacy@genba-id.example",
                "phone": "+81-3-0000-0000",
            }
        ],
        "policyUrl": "https://genba-id.example/privacy",
        "services": [
            {
                "service": view.requester_name,
                "purposes": [
                    {
                        "purpose": view.purpose,
                        "purposeCategory": ["third-party provision (APPI art. 27)"],
                        "consentType": "EXPLICIT",
                        "piiCategory": [f"{LABELS[g][0]} / {LABELS[g][1]}" for g in view.groups],
                        "primaryPurpose": True,
                        "termination": f"{view.period_start} to {view.period_end}, or on revocation",
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": view.requester_name,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "state": view.state,
        "technicianDecision": view.technician_decision,
        "employerDecision": view.employer_decision,
    }
