"""The daily digest, built and rendered (pure: stored exceptions in, digests and mail messages out).

Words
- *recipient*: a person (an e-mail address) who gets a digest: the owner of open exceptions, and the person
  escalated exceptions went to. Held documents appear as their `unmatched` exception (rule `sender.unverified`).
- *overdue*: due before the recipient's local today.
- *settled*: the exceptions a recipient owns that were auto_resolved or resolved since their previous digest
  (ever, before their first one); counted, not listed.

A person with nothing open or escalated gets no digest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from itertools import groupby
from typing import Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from poguard.config import DigestConfig
from poguard.domain import ExceptionStatus, Severity

__all__ = ["Digest", "DigestGroup", "DigestLine", "StoredException", "build_digests", "digest_message"]

SEVERITIES = list(Severity)
_templates = Environment(
    loader=PackageLoader("outbound", "templates"), autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
)


class StoredException(Protocol):
    """What a digest reads of a stored exception (`poguard.tables.ExceptionRow` is one)."""

    id: int
    po_number: str | None
    line: int | None
    category: str
    severity: str
    status: str
    expected: str
    actual: str
    message: str
    owner: str
    escalated_to: str | None
    due: date
    supplier_id: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One exception as the digest shows it."""

    exception_id: int
    line: int | None
    category: str
    severity: str
    status: str
    expected: str
    actual: str
    message: str
    due: date
    overdue: bool

    @classmethod
    def of(cls, row: StoredException, today: date) -> DigestLine:
        return cls(row.id, row.line, row.category, row.severity, row.status, row.expected, row.actual, row.message,
                   row.due, row.due < today)


@dataclass(frozen=True, slots=True)
class DigestGroup:
    """The lines of one PO, most severe first."""

    po_number: str | None
    supplier_id: str | None
    lines: tuple[DigestLine, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    recipient: str
    day: date
    groups: tuple[DigestGroup, ...]
    auto_resolved: int
    resolved: int
    first: bool
    """True when the recipient never had a digest: `auto_resolved` and `resolved` count everything so far."""

    @property
    def exception_count(self) -> int:
        return sum(len(group.lines) for group in self.groups)

    @property
    def overdue_count(self) -> int:
        return sum(line.overdue for group in self.groups for line in group.lines)

    @property
    def subject(self) -> str:
        """e.g. "poguard: 5 open exceptions, 2 overdue (2026-11-26)"."""
        count = self.exception_count
        overdue = f", {self.overdue_count} overdue" if self.overdue_count else ""
        return f"poguard: {count} open exception{'' if count == 1 else 's'}{overdue} ({self.day.isoformat()})"

    def render(self, template: str) -> str:
        return _templates.get_template(template).render(digest=self)


def _rank(row: StoredException) -> tuple[int, date, int, int]:
    """Most severe first, then the earliest due date, then by line."""
    return (-SEVERITIES.index(Severity(row.severity)), row.due, row.line or 0, row.id)


def _receives(person: str, row: StoredException) -> bool:
    if row.status == ExceptionStatus.OPEN:
        return row.owner == person
    return row.status == ExceptionStatus.ESCALATED and row.escalated_to == person


def _groups(rows: list[StoredException], today: date) -> tuple[DigestGroup, ...]:
    """Grouped by PO; the PO with the most severe (then most urgent) exception first."""
    by_po = sorted(rows, key=lambda row: (row.po_number or "", _rank(row)))
    groups = [list(members) for _, members in groupby(by_po, key=lambda row: row.po_number)]
    groups.sort(key=lambda members: (_rank(members[0]), members[0].po_number or ""))
    return tuple(DigestGroup(members[0].po_number, members[0].supplier_id,
                             tuple(DigestLine.of(row, today) for row in members)) for members in groups)


def _settled(person: str, rows: list[StoredException], status: ExceptionStatus, since: datetime | None) -> int:
    return sum(row.owner == person and row.status == status and (since is None or row.updated_at > since) for row in rows)


def _recipients(rows: list[StoredException]) -> list[str]:
    people = {row.owner for row in rows if row.status == ExceptionStatus.OPEN}
    people |= {row.escalated_to for row in rows if row.status == ExceptionStatus.ESCALATED and row.escalated_to}
    return sorted(people)


def build_digests(exceptions: Iterable[StoredException], now: datetime, config: DigestConfig,
                  previous: Mapping[str, datetime]) -> list[Digest]:
    """One digest per recipient, dated on the recipient's local clock; `previous` maps a person to when their
    last digest was sent."""
    rows = list(exceptions)
    digests = []
    for person in _recipients(rows):
        today = config.local_date(person, now)
        since = previous.get(person)
        digests.append(Digest(
            recipient=person, day=today, groups=_groups([row for row in rows if _receives(person, row)], today),
            auto_resolved=_settled(person, rows, ExceptionStatus.AUTO_RESOLVED, since),
            resolved=_settled(person, rows, ExceptionStatus.RESOLVED, since), first=since is None,
        ))
    return digests


def digest_message(digest: Digest, from_address: str, message_id: str, sent_at: datetime) -> EmailMessage:
    """The digest as a mail: a text part and an HTML alternative."""
    message = EmailMessage()
    message["Date"] = format_datetime(sent_at)
    message["From"] = from_address
    message["To"] = digest.recipient
    message["Subject"] = digest.subject
    message["Message-ID"] = message_id
    message.set_content(digest.render("digest.txt"))
    message.add_alternative(digest.render("digest.html"), subtype="html")
    return message
