"""Consent engine (issue 4)."""
