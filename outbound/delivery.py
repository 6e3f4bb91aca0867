"""Delivering the daily digests: at most once a day per recipient, retried when sending failed transiently.

Each digest goes through three steps, each in its own transaction or none:
1. *claim*: insert the `digests` row (recipient, the recipient's local date, a fresh Message-ID). The unique
   (recipient, digest_date) lets exactly one run win, whether the other is a second agent on the same
   PostgreSQL database or this agent restarted after a crash; the loser skips the digest.
2. *send* the mail, carrying the claimed Message-ID.
3. *mark* the claim with `sent_at`.
A transient failure (`OutboundUnavailable`: server down, 4xx) deletes the claim, so a later run retries. A
permanent one (`OutboundRejected`: 5xx, bad login) keeps it: the same mail would be refused again; it is
reported, and `poguard digest --force` sends it by hand. A crash between send and mark leaves a claim without
`sent_at`: the digest is never sent twice, at the price of possibly not at all that day.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from sqlalchemy import ColumnElement, delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from outbound.digest import Digest, build_digests, digest_message
from poguard.config import Config
from poguard.errors import OutboundError, OutboundUnavailable
from poguard.store import Store
from poguard.tables import DigestRow, ExceptionRow, utcnow

__all__ = ["DigestOutcome", "Sender", "deliver", "release_claims", "send_due_digests", "todays_digests"]

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Something that delivers a mail (`outbound.smtp.SmtpSender`); raises `OutboundUnavailable` or `OutboundRejected`."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """One digest this run claimed: sent, or the error that stopped it."""

    recipient: str
    digest_date: date
    exception_count: int
    message_id: str
    error: OutboundError | None = None

    @property
    def sent(self) -> bool:
        return self.error is None


def todays_digests(store: Store, config: Config, now: datetime) -> list[Digest]:
    """Every recipient's digest for their local date, whether or not it is due or already sent."""
    with store.transaction() as session:
        rows = list(session.scalars(select(ExceptionRow).order_by(ExceptionRow.id)))
        last_sent = select(DigestRow.recipient, func.max(DigestRow.sent_at)).where(
            DigestRow.sent_at.is_not(None)).group_by(DigestRow.recipient)
        previous = {recipient: sent_at for recipient, sent_at in session.execute(last_sent)}
    return build_digests(rows, now, config.digest, previous)


def send_due_digests(store: Store, config: Config, now: datetime, sender: Sender) -> list[DigestOutcome]:
    """The digests of everyone whose local clock has passed `send_at`, unless already claimed today."""
    return deliver(store, config, [d for d in todays_digests(store, config, now) if config.digest.is_due(d.recipient, now)], sender)


def deliver(store: Store, config: Config, digests: Sequence[Digest], sender: Sender) -> list[DigestOutcome]:
    """Claim, send and mark each digest not yet claimed for its day; one outcome per digest this run claimed."""
    outcomes = [_deliver(store, config, digest, sender) for digest in _unclaimed(store, digests)]
    return [outcome for outcome in outcomes if outcome is not None]


def release_claims(store: Store, digests: Sequence[Digest]) -> None:
    """Forget that these digests were sent today, so that `deliver` sends them again (`poguard digest --force`)."""
    with store.transaction() as session:
        session.execute(delete(DigestRow).where(_keys_in(digests)))


def _keys_in(digests: Sequence[Digest]) -> ColumnElement[bool]:
    return tuple_(DigestRow.recipient, DigestRow.digest_date).in_([(d.recipient, d.day) for d in digests])


def _unclaimed(store: Store, digests: Sequence[Digest]) -> list[Digest]:
    if not digests:
        return []
    with store.transaction() as session:
        claimed = {(row.recipient, row.digest_date) for row in session.execute(
            select(DigestRow.recipient, DigestRow.digest_date).where(_keys_in(digests)))}
    return [d for d in digests if (d.recipient, d.day) not in claimed]


def _deliver(store: Store, config: Config, digest: Digest, sender: Sender) -> DigestOutcome | None:
    message_id = make_msgid(domain=config.smtp.from_address.rpartition("@")[2] or None)
    claim = _claim(store, digest, message_id)
    if claim is None:
        log.info("digest claimed by another run recipient=%s date=%s", digest.recipient, digest.day)
        return None
    outcome = DigestOutcome(digest.recipient, digest.day, digest.exception_count, message_id)
    try:
        sender.send(digest_message(digest, config.smtp.from_address, message_id, utcnow()))
    except OutboundUnavailable as error:
        _release(store, claim)
        log.warning("digest not sent, will retry recipient=%s date=%s error=%s", digest.recipient, digest.day, error)
        return replace(outcome, error=error)
    except OutboundError as error:
        log.error("digest refused, not retried today recipient=%s date=%s error=%s", digest.recipient, digest.day, error)
        return replace(outcome, error=error)
    _mark_sent(store, claim)
    log.info("digest sent recipient=%s date=%s exceptions=%d message_id=%s", digest.recipient, digest.day,
             digest.exception_count, message_id)
    return outcome


def _claim(store: Store, digest: Digest, message_id: str) -> int | None:
    """The id of a new claim row, or None when another run holds (recipient, day)."""
    row = DigestRow(recipient=digest.recipient, digest_date=digest.day, message_id=message_id,
                    exception_count=digest.exception_count)
    try:
        with store.transaction() as session:
            session.add(row)
    except IntegrityError:
        return None
    return row.id


def _release(store: Store, claim: int) -> None:
    with store.transaction() as session:
        session.execute(delete(DigestRow).where(DigestRow.id == claim))


def _mark_sent(store: Store, claim: int) -> None:
    with store.transaction() as session:
        session.execute(update(DigestRow).where(DigestRow.id == claim).values(sent_at=utcnow()))
