"""The source protocol: a channel that yields raw messages and acknowledges them after commit.

A source does I/O only: it lists what waits, fetches bytes, and moves what poguard has committed. It never
touches the database; `poguard.channels` keeps the ledger and decides what to fetch and acknowledge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["Disposition", "MessageKey", "RawMessage", "Source"]


@dataclass(frozen=True, slots=True, order=True)
class MessageKey:
    """Where a message sits: IMAP folder, UIDVALIDITY and UID; for a drop, the folder and the file name (uidvalidity 0)."""

    folder: str
    uidvalidity: int
    uid: str


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message or file as it arrived, with what the channel knows of its sender."""

    key: MessageKey
    name: str
    content: bytes
    sender: str | None = None
    message_id: str | None = None


class Disposition(StrEnum):
    """Where an acknowledged message goes."""

    PROCESSED = "processed"
    QUARANTINED = "quarantined"


class Source(Protocol):
    """A mailbox or an EDI drop. Transient failures raise `SourceUnavailable`, permanent ones `SourceRejected`."""

    name: str
    """The channel name from the configuration; unique."""

    def waiting(self) -> list[MessageKey]:
        """Every message or complete file now waiting, oldest first; cheap (no bodies fetched, nothing marked seen)."""
        ...

    def fetch(self, key: MessageKey) -> RawMessage:
        """The bytes of one waiting message, without marking it seen or moving it."""
        ...

    def acknowledge(self, key: MessageKey, disposition: Disposition, reason: str | None) -> None:
        """Move a committed message to the processed or quarantine folder (a drop writes `reason` into a
        `.error.txt` beside a quarantined file). A message already gone is not an error: acknowledging twice is safe."""
        ...

    def wait_for_arrival(self, seconds: float) -> bool:
        """Block until something may have arrived (IMAP IDLE where offered) or `seconds` passed; True when
        the server signalled news. Sources without push simply sleep and return False."""
        ...

    def interrupt(self) -> None:
        """Make a running `wait_for_arrival` (and any retry wait) return at once: the agent is stopping."""
        ...

    def close(self) -> None:
        """Release connections; the source may be used again afterwards (it reconnects)."""
        ...
