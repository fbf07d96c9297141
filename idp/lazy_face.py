"""The lazy loading both faces of idp share (``idp.public``, ``idp.oauth.public``): PEP 562 module
``__getattr__``/``__dir__`` that import a face name from its home module on first use and keep it,
so a caller pays only for what it uses (the reasons are in ``idp/public.py``'s docstring)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(
    namespace: dict[str, Any], homes: dict[str, str], exported: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the face module whose globals are ``namespace``: ``homes`` maps
    each name to ``"module"`` or ``"module:attribute"``; an unknown name is an AttributeError."""

    def getattr_(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        module, _, attr = home.partition(":")
        value = getattr(importlib.import_module(module), attr or name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted([*namespace, *exported])

    return getattr_, dir_
