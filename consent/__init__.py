"""Consent engine: default non-disclosure, technician-plus-employer approval, site-scoped roster
access, and an append-only, hash-chained record of every consent event and disclosure.

Imports nothing from idp, wallet or connectors; what it needs from them comes through the
Protocols in :mod:`consent.ports`.
"""
