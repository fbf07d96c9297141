"""Verifiable credentials, issuance, presentation and gate (issue 6, 7)."""
