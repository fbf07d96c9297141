"""Consent receipts with the fields of the Kantara Initiative Consent Receipt Specification v1.1."""

from __future__ import annotations

from consent.groups import LABELS
from consent.ports import ConsentView

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
