"""What the connectors need from the rest of Genba ID (wired by ``app``) and what a source provides."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from common.errors import GenbaError
from connectors.verify import ExpectedHolder


class HolderDirectory(Protocol):
    def holder(self, technician_id: str) -> ExpectedHolder | None:
        """The registered identity of a technician, to match record holders against."""
        ...

    def holders(self, technician_ids: Collection[str]) -> dict[str, ExpectedHolder]:
        """:meth:`holder` for a batch at once (a page of a bulk import): the registered ones, by id."""
        ...


@dataclass(frozen=True)
class Page:
    records: list[str]
    next_cursor: str | None


class SourceError(GenbaError, RuntimeError):
    """The source did not answer usefully (timeout, 5xx, malformed page): 502, not our fault."""

    code = "source_unavailable"
    status = 502


class PagedSource(Protocol):
    """A source that can list every record for bulk import, page by page, from a cursor."""

    name: str

    def fetch(self, cursor: str | None) -> Page: ...
