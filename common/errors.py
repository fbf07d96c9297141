"""One way to fail (issue 13 item 2): every error Genba ID raises on purpose is a :class:`GenbaError`.

An error carries what every surface needs to answer with it, and nothing about how it is shown:

- ``code``: the wire code, e.g. ``invalid_token`` (RFC 6750 §3.1), ``invalid_request``
  (RFC 6749 §5.2) or a stable code of our own (``not_found``, a consent refusal's code);
- ``message``: the plain-language reason in Japanese and English (:class:`common.messages.Message`,
  normally taken from the catalogue in :mod:`common.messages`);
- ``status``: the HTTP status an HTTP surface answers with;
- ``headers``: headers that go with it, e.g. ``WWW-Authenticate`` (RFC 6750 §3);
- ``field``: the input field at fault, when there is one.

Errors are raised, never returned; each surface renders them in one place (the web application's
exception handlers in ``app/error_handlers.py``, the CLI's ``app/cli/common.py``). Subclasses keep
their historical constructors and attribute names (``error``, ``description``, ``ja``, ``en``) as
views of these fields. ``common`` imports no other project package, so every package may use this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.messages import Message, message


class GenbaError(Exception):
    """The base of Genba ID's errors: wire ``code``, bilingual ``message``, HTTP ``status``,
    ``headers`` and optionally the ``field`` at fault."""

    #: the wire code when a subclass or the raiser names none (RFC 6749 §5.2 ``server_error`` family)
    code: str = "server_error"
    #: the HTTP status when a subclass or the raiser names none
    status: int = 500

    def __init__(
        self,
        text: Message | str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        field: str | None = None,
        args: tuple[Any, ...] | None = None,
    ) -> None:
        """``text``: a catalogue message, or English text not (yet) in the catalogue (then the
        Japanese side repeats it). ``args`` keeps a subclass's historical ``Exception.args``."""
        self.message = text if isinstance(text, Message) else Message.untranslated(text)
        super().__init__(*(args if args is not None else (self.message.en,)))
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = dict(headers or {})
        self.field = field

    @property
    def ja(self) -> str:
        return self.message.ja

    @property
    def en(self) -> str:
        return self.message.en

    @property
    def error(self) -> str:
        """The wire code under its RFC 6749 §5.2 name (``error``), as protocol errors call it."""
        return self.code

    @property
    def description(self) -> str:
        """The English text under its RFC 6749 §5.2 name (``error_description``)."""
        return self.en

    def bilingual(self) -> str:
        """``ja / en``: the one line the data API and the CLI show (field first when there is one)."""
        return self.message.bilingual()


def bilingual(ja: Message | str, en: str | None = None) -> Message:
    """The message of an error built either from the catalogue (``ja`` is a :class:`Message`, ``en``
    None) or, as historical callers do, from two literals."""
    if isinstance(ja, Message):
        return ja
    return Message(ja, ja if en is None else en)


__all__ = ["GenbaError", "Message", "bilingual", "message"]
