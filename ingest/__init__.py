"""ingest/: the channels suppliers send through: IMAP mailboxes and EDI drops (local folders, SFTP).

Each is a `Source` (ingest/base.py); `open_sources` builds them from the configuration.
"""

from __future__ import annotations

from collections import Counter

from ingest.base import Disposition, MessageKey, RawMessage, Source
from ingest.drops import open_drop
from ingest.imap import ImapMailbox
from poguard.config import Config
from poguard.errors import ConfigError

__all__ = ["Disposition", "MessageKey", "RawMessage", "Source", "open_sources"]


def open_sources(config: Config) -> list[Source]:
    """Every mailbox and drop of the configuration (connections open lazily, on first use)."""
    names = Counter(channel.name for channel in [*config.mailboxes, *config.drops])
    duplicated = sorted(name for name, count in names.items() if count > 1)
    if duplicated:
        raise ConfigError(f"channel names must be unique; used twice: {', '.join(duplicated)}",
                          location="mailboxes / drops")
    return [*(ImapMailbox(mailbox) for mailbox in config.mailboxes), *(open_drop(drop) for drop in config.drops)]
