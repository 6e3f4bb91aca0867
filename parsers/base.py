"""The parser protocol: bytes in, parsed documents out.

A parser is pure: it never opens a database session, a file or a socket.
"""

from __future__ import annotations

from typing import Protocol

from poguard.domain import ParsedDocument

__all__ = ["Parser"]


class Parser(Protocol):
    """Something that reads one family of supplier files."""

    name: str
    """Stable identifier recorded on every document this parser reads (e.g. `edifact`)."""

    def sniff(self, raw: bytes) -> float:
        """How sure (0.0 to 1.0) this parser is that it can read `raw`; it must not raise and must be cheap."""
        ...

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        """Every document in `raw` (an interchange may carry several).

        Raises `poguard.errors.ParseError` with a location when `raw` cannot be read at all; what can be
        read despite local damage is returned with `Problem`s recorded on the document.
        """
        ...
