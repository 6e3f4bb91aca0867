"""Channels: a source polled into the store exactly once.

For each waiting message: skip it when the ledger knows it; else fetch it, store it raw with its ledger row
(one commit), process it (another commit), and only then acknowledge it at the source (move it to the
processed or quarantine folder) and mark the ledger row acknowledged. A crash anywhere in between is
repaired by the next poll: a stored message waiting for processing is processed, a processed one not yet
moved is moved. A lease row makes sure one agent polls a channel at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ingest.base import Disposition, MessageKey, RawMessage, Source
from poguard.config import Config
from poguard.domain import InboundStatus
from poguard.errors import SourceError, SourceRejected
from poguard.pipeline import Arrival, process_inbound, receive
from poguard.store import Store
from poguard.tables import ChannelRow, InboundFile, LedgerEntry, utcnow

__all__ = ["PollReport", "acquire_lease", "channel_status", "poll_channel", "release_lease"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PollReport:
    """What one poll of one channel did."""

    channel: str
    received: int = 0
    acknowledged: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)


def acquire_lease(store: Store, channel: str, owner: str, seconds: int, holder_is_gone: Callable[[str], bool]) -> bool:
    """Claim (or renew) `channel` for `owner` until `seconds` from now; False while another live owner holds it."""
    now = utcnow()
    try:
        with store.transaction() as session:
            row = session.get(ChannelRow, channel, with_for_update=True)
            if row is None:
                session.add(ChannelRow(name=channel, lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))
                return True
            held = row.lease_owner not in (None, owner) and row.lease_until is not None and row.lease_until > now
            if held and not holder_is_gone(row.lease_owner or ""):
                return False
            row.lease_owner, row.lease_until = owner, now + timedelta(seconds=seconds)
            return True
    except IntegrityError:
        return False  # another agent created the row first


def release_lease(store: Store, channel: str, owner: str) -> None:
    with store.transaction() as session:
        row = session.get(ChannelRow, channel, with_for_update=True)
        if row is not None and row.lease_owner == owner:
            row.lease_owner, row.lease_until = None, None


def _unseen(store: Store, channel: str, keys: list[MessageKey]) -> list[MessageKey]:
    """The keys the ledger does not know yet, in the source's order."""
    if not keys:
        return []
    with store.transaction() as session:
        known = {
            MessageKey(folder, uidvalidity, uid)
            for folder, uidvalidity, uid in session.execute(
                select(LedgerEntry.folder, LedgerEntry.uidvalidity, LedgerEntry.uid).where(
                    LedgerEntry.channel == channel, LedgerEntry.folder.in_({k.folder for k in keys})
                )
            )
        }
    return [key for key in keys if key not in known]


def _store_arrival(store: Store, channel: str, message: RawMessage) -> int | None:
    """Store the message raw with its ledger row, in one commit; the ledger id, or None if another agent did."""
    arrival = Arrival(message.name, message.content, channel, message.sender, message.message_id)
    try:
        with store.transaction() as session:
            inbound = receive(session, arrival)
            entry = LedgerEntry(
                channel=channel, folder=message.key.folder, uidvalidity=message.key.uidvalidity, uid=message.key.uid,
                message_id=message.message_id, sha256=arrival.sha256, inbound_id=inbound.id,
            )
            session.add(entry)
            session.flush()
            return entry.id
    except IntegrityError:
        log.info("message stored by another agent channel=%s uid=%s", channel, message.key.uid)
        return None


def _settle(store: Store, config: Config, source: Source, ledger_id: int, today: date, actor: str) -> Disposition | None:
    """Process the entry's arrival if it still waits, then acknowledge it at the source and in the ledger; where
    it went (None while another worker still holds it)."""
    with store.transaction() as session:
        entry = session.get_one(LedgerEntry, ledger_id)
        inbound_id, key = entry.inbound_id, MessageKey(entry.folder, entry.uidvalidity, entry.uid)
    process_inbound(store, config, inbound_id, today=today, actor=actor)
    with store.transaction() as session:
        inbound = session.get_one(InboundFile, inbound_id)
        if inbound.status == InboundStatus.RECEIVED:
            return None  # another worker holds it; the next poll acknowledges it
        disposition = Disposition.PROCESSED if inbound.status == InboundStatus.PROCESSED else Disposition.QUARANTINED
        reason = inbound.error
    source.acknowledge(key, disposition, reason)
    with store.transaction() as session:
        session.get_one(LedgerEntry, ledger_id).acknowledged_at = utcnow()
    log.info("message acknowledged channel=%s uid=%s disposition=%s", source.name, key.uid, disposition)
    return disposition


def _pending(store: Store, channel: str) -> list[int]:
    with store.transaction() as session:
        return list(session.scalars(
            select(LedgerEntry.id).where(LedgerEntry.channel == channel, LedgerEntry.acknowledged_at.is_(None))
            .order_by(LedgerEntry.id)
        ))


def _record(store: Store, report: PollReport) -> None:
    now = utcnow()
    with store.transaction() as session:
        row = session.get(ChannelRow, report.channel) or ChannelRow(name=report.channel, received=0)
        session.add(row)
        row.last_poll_at = now
        row.received = (row.received or 0) + report.received
        if report.errors:
            row.last_error, row.last_error_at = report.errors[-1], now
        else:
            row.last_success_at = now


def _take_in(store: Store, config: Config, source: Source, key: MessageKey, today: date, actor: str) -> int | None:
    """Fetch and store one new message; its ledger id, or None when it was skipped (gone, or stored by another agent)."""
    try:
        message = source.fetch(key)
    except SourceRejected as error:
        log.warning("message skipped channel=%s uid=%s reason=%s", source.name, key.uid, error)
        return None
    return _store_arrival(store, source.name, message)


def _count(report: PollReport, disposition: Disposition | None) -> None:
    report.acknowledged += disposition is not None
    report.quarantined += disposition is Disposition.QUARANTINED


def poll_channel(store: Store, config: Config, source: Source, *, today: date, actor: str, stop: threading.Event) -> PollReport:
    """One pass over one channel: settle what an earlier pass left, then take in what is new, one at a time."""
    report = PollReport(source.name)
    try:
        for ledger_id in _pending(store, source.name):
            if stop.is_set():
                break
            _count(report, _settle(store, config, source, ledger_id, today, actor))
        for key in _unseen(store, source.name, source.waiting()):
            if stop.is_set():
                break
            ledger_id = _take_in(store, config, source, key, today, actor)
            if ledger_id is not None:
                report.received += 1
                _count(report, _settle(store, config, source, ledger_id, today, actor))
    except SourceError as error:
        log.warning("channel poll failed channel=%s error=%s", source.name, error)
        report.errors.append(str(error))
    _record(store, report)
    return report


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def channel_status(store: Store, configured: list[str]) -> tuple[list[list[str]], int]:
    """A row per channel (configured, or seen before): last poll, last success, received, backlog (stored but
    not yet settled at the source), lease holder, last error; and the arrivals waiting for a worker."""
    with store.transaction() as session:
        rows = {row.name: row for row in session.scalars(select(ChannelRow))}
        backlog = dict(session.execute(
            select(LedgerEntry.channel, func.count()).where(LedgerEntry.acknowledged_at.is_(None)).group_by(LedgerEntry.channel)
        ).all())
        waiting = session.scalar(select(func.count()).select_from(InboundFile).where(
            InboundFile.status == InboundStatus.RECEIVED.value)) or 0
    names = [*configured, *sorted(name for name in rows if name not in configured and not name.startswith("__"))]
    table = []
    for name in names:
        row = rows.get(name)
        error = f"{row.last_error} ({_when(row.last_error_at)})" if row and row.last_error else ""
        holder = row.lease_owner if row and row.lease_owner else ""
        table.append([name, _when(row.last_poll_at if row else None), _when(row.last_success_at if row else None),
                      str(row.received if row else 0), str(backlog.get(name, 0)), holder, error])
    return table, waiting
