"""The consent engine behind :class:`consent.ports.ConsentPort`: requests, two-party approval,
decisions (Cedar), disclosure records. Each operation is one transaction: it changes nothing
when it refuses, and records what it did in the hash chain.

One class, :class:`ConsentService`, assembled from one module per part of the engine:
``decisions`` (what a party may receive now), ``transitions`` (a request's life: asked, approved
or refused by each side, narrowed, revoked), ``queries`` (requests and receipts as their readers
see them) and ``recording`` (disclosure records and the hash chain); ``base`` holds what they share.
"""

from __future__ import annotations

from consent.service.decisions import Decisions
from consent.service.queries import Queries
from consent.service.recording import Recording
from consent.service.transitions import Transitions


class ConsentService(Decisions, Transitions, Queries, Recording):
    """The consent engine (``consent.ports.ConsentPort``): ``ConsentService(engine, directory, policy)``."""


__all__ = ["ConsentService"]
