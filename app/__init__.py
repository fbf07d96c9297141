"""Genba ID application wiring: settings, database, web app factory and CLI.

Only this package picks concrete implementations; domain packages (idp, consent,
wallet, connectors) never import it (docs/architecture.md, enforced by import-linter).
"""
