"""The world builder for tests (tools/world.py, shared with bench/ and the demo), and ``world_of``:
a builder on an application's own runtime (its clock, password hasher, randomness and TOTP box)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import Session

from tools.world import PASSWORD, Login, World

__all__ = ["PASSWORD", "Login", "World", "world_of"]


def world_of(app: FastAPI, session: Session) -> World:
    """A builder writing through ``session`` with the application's clock, hasher and TOTP box."""
    rt = app.state.idp
    return World(session, clock=rt.clock, passwords=rt.passwords, rng=rt.rng, box=rt.totp_box)
