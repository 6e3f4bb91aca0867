"""RFC 822 / MIME messages: the body and every attachment become documents.

Vocabulary
- *body*: the text the sender wrote (text/plain preferred, else text/html), read by `EmailTextParser`
  when it names a PO, or handed on like an attachment when it is itself EDI.
- *attachment*: a part with a file name (PDF, EDI, CSV, XLSX...), handed to the `attachment_parser`,
  which chooses the parser from the content; its failure is a problem of the message, not its end.
- *damage*: what the MIME layer found wrong (CPython's defects, a boundary on a leaf, an empty multipart).
  It is a problem on every document read; when nothing could be read it is the `email-malformed` error.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage, Message

from parsers.certificates import certificates_named
from parsers.email_text import EmailTextParser
from poguard.domain import DocumentKind, ParsedDocument, Problem, Provenance
from poguard.errors import ParseError

__all__ = ["EmailMessageParser"]

NAME = "email"
SNIFF_SCORE = 0.9
SNIFF_HEADER_LINES = 30
_UK_STYLE_DOMAINS = (".uk", ".ie", ".au", ".nz", ".in", ".za")

_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_KEY_HEADERS = re.compile(rb"^(?:From|Received|Message-ID|MIME-Version|Return-Path|Delivered-To|Date|Subject|To|"
                          rb"Content-Type):",
                          re.IGNORECASE)
_EDI_START = re.compile(r"^\s*(?:UNA|UNB\+|ISA[^\w\s])")
_SKIPPED_TYPES = ("image/", "audio/", "video/", "message/", "multipart/", "application/pgp-signature",
                  "application/pkcs7-signature", "application/x-pkcs7-signature")
# Header access that trips over a malformed value raises one of these inside the stdlib's parser.
_HEADER_ERRORS = (ValueError, IndexError, TypeError, AttributeError, LookupError)

UNRECOGNISED = "format-unrecognised"
"""The registry's code for content no parser claims: an attachment that is no supplier document."""

AttachmentParser = Callable[[bytes], list[ParsedDocument]]


@dataclass(slots=True)
class _Envelope:
    """What the message says about itself: who sent it, when, under which id and subject."""

    sender: str | None
    message_id: str
    sent: date | None
    subject: str
    problems: list[Problem] = field(default_factory=list)


def _looks_like_headers(raw: bytes) -> bool:
    """True when the bytes open with a run of header lines that holds at least one mail header."""
    lines = raw.lstrip().splitlines()[:SNIFF_HEADER_LINES]
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    run = []
    for line in lines:
        if not (_HEADER_LINE.match(line) or (run and line[:1] in (b" ", b"\t"))):
            break
        run.append(line)
    return any(_KEY_HEADERS.match(line) for line in run)


def _header(message: Message, name: str, problems: list[Problem]) -> object | None:
    try:
        return message[name]
    except _HEADER_ERRORS as error:
        problems.append(Problem("email-bad-header", f"header {name} cannot be read: {error}", f"header {name}"))
        return None


def _envelope(message: Message) -> _Envelope:
    problems: list[Problem] = []
    sender_header = _header(message, "from", problems)
    addresses = getattr(sender_header, "addresses", ())
    sender = addresses[0].addr_spec.lower() if addresses and addresses[0].addr_spec else None
    sent_at = getattr(_header(message, "date", problems), "datetime", None)
    message_id = str(_header(message, "message-id", problems) or "").strip() or "<no message-id>"
    return _Envelope(sender, message_id, sent_at.date() if sent_at else None,
                     str(_header(message, "subject", problems) or ""), problems)


def _part_path(message: Message) -> Iterator[tuple[str, Message]]:
    """Every part with its position ("1.2" = second child of the first), the message itself being "0"."""
    def walk(part: Message, path: str) -> Iterator[tuple[str, Message]]:
        yield path, part
        if part.is_multipart():
            for index, child in enumerate(part.get_payload(), start=1):
                if isinstance(child, Message):
                    yield from walk(child, f"{path}.{index}" if path != "0" else str(index))
    return walk(message, "0")


def _damage(message: Message) -> list[Problem]:
    """Everything the MIME layer found wrong, each with the part it was found in."""
    problems = []
    for path, part in _part_path(message):
        location = f"MIME part {path}"
        problems.extend(Problem("email-mime-defect", type(defect).__name__, location) for defect in part.defects)
        if _content_type_unread(part):
            problems.append(Problem("email-mime-defect", "Content-Type header cannot be read", location))
        if not part.is_multipart() and part.get_param("boundary") is not None:
            problems.append(Problem("email-mime-defect", "boundary declared on a part that is not multipart",
                                    location))
        if part.is_multipart() and _empty_parts(part):
            problems.append(Problem("email-mime-defect", "multipart with empty parts", location))
    return problems


def _content_type_unread(part: Message) -> bool:
    """True when the Content-Type written could not be read and the default type stands in for it."""
    written = str(part.get("content-type", "")).split(";")[0].strip().lower()
    return bool(written) and written != part.get_content_type()


def _empty_parts(part: Message) -> bool:
    children = part.get_payload()
    return not children or any(not child.keys() and not str(child.get_payload()).strip() for child in children)


def _is_attachment(part: Message) -> bool:
    if part.is_multipart() or part.get_content_type().startswith(_SKIPPED_TYPES):
        return False
    return part.get_filename() is not None or part.get_content_disposition() == "attachment"


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _text_of(part: Message) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        return _payload(part).decode(charset, errors="replace")
    except LookupError:
        return _payload(part).decode("utf-8", errors="replace")


def _body_part(message: Message) -> Message | None:
    """The part the sender wrote in: plain text preferred over HTML, attachments never."""
    if isinstance(message, EmailMessage):
        try:
            return message.get_body(preferencelist=("plain", "html"))
        except (KeyError, AttributeError, TypeError):
            return None
    return None


def _attachment_name(part: Message, path: str) -> str:
    try:
        name = part.get_filename()
    except _HEADER_ERRORS:
        name = None
    return name or f"part {path}"


def _origin(envelope: _Envelope, what: str) -> Provenance:
    return Provenance(f"message {envelope.message_id} {what}")


class EmailMessageParser:
    """Reads an .eml: the body through the text parser, attachments through `attachment_parser`."""

    name = NAME

    def __init__(self, attachment_parser: AttachmentParser, text_parser: EmailTextParser):
        self.attachment_parser = attachment_parser
        self.text_parser = text_parser

    def sniff(self, raw: bytes) -> float:
        """0.9 when the bytes start with RFC 822 headers (From:, Received:, Message-ID:...), else 0.0."""
        try:
            return SNIFF_SCORE if _looks_like_headers(raw[:8192]) else 0.0
        except (ValueError, TypeError):
            return 0.0

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        """One document per attachment that holds one, plus the body's when it says something of its own."""
        if not _looks_like_headers(raw):
            raise ParseError("the bytes do not start with mail headers", code="email-malformed", location="line 1")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        envelope = _envelope(message)
        damage = _damage(message)
        attachments, failures = self._attachments(message, envelope)
        body = self._body(message, envelope)
        documents = _merge(body, attachments)
        if not documents:
            _raise_unreadable(damage + envelope.problems, failures)
        certificates = _certificates_attached(message)
        for document in documents:
            document.sender = envelope.sender
            document.problems.extend(damage + envelope.problems + failures)
            document.certificates = tuple(dict.fromkeys((*document.certificates, *certificates)))
        return documents

    def _attachments(self, message: Message, envelope: _Envelope) -> tuple[list[ParsedDocument], list[Problem]]:
        documents: list[ParsedDocument] = []
        failures: list[Problem] = []
        for path, part in _part_path(message):
            if not _is_attachment(part):
                continue
            name = _attachment_name(part, path)
            try:
                read = self.attachment_parser(_payload(part))
            except ParseError as error:
                failures.append(_failure(error, name))
                continue
            documents.extend(_stamped(read, _origin(envelope, f"attachment {name}")))
        return documents, failures

    def _body(self, message: Message, envelope: _Envelope) -> list[ParsedDocument]:
        part = _body_part(message)
        if part is None or _is_attachment(part):
            return []
        text = _text_of(part)
        if _EDI_START.match(text):
            return _stamped(self.attachment_parser(text.encode("utf-8")), _origin(envelope, "body"))
        day_first = True if (envelope.sender or "").endswith(_UK_STYLE_DOMAINS) else None
        read = self.text_parser.parse_text(text, subject=envelope.subject, sent=envelope.sent, day_first=day_first)
        return _stamped(read, _origin(envelope, "body"))


def _certificates_attached(message: Message) -> tuple[str, ...]:
    """Certificates the message carries, by the file names of its parts, images included (a scanned CoC has no
    text to read)."""
    names = [_attachment_name(part, path) for path, part in _part_path(message) if not part.is_multipart()]
    return tuple(dict.fromkeys(code for name in names for code in certificates_named(name)))


def _stamped(documents: list[ParsedDocument], origin: Provenance) -> list[ParsedDocument]:
    for document in documents:
        document.origin = origin.source
        document.provenance["origin"] = origin
    return documents


def _failure(error: ParseError, name: str) -> Problem:
    where = f"attachment {name}" + (f", {error.location}" if error.location else "")
    return Problem(error.code, f"attachment {name}: {error.message}", where)


def _raise_unreadable(damage: list[Problem], failures: list[Problem]) -> None:
    """Nothing was read: damage or a broken attachment is the reason. A mail that carries no supplier
    document (attachments no parser claims, no PO named) is no error."""
    if damage:
        raise ParseError(f"the message is malformed: {damage[0].message}", code="email-malformed",
                         location=damage[0].location)
    broken = [failure for failure in failures if failure.code != UNRECOGNISED]
    if broken:
        raise ParseError(broken[0].message, code=broken[0].code, location=broken[0].location)


def _merge(body: list[ParsedDocument], attachments: list[ParsedDocument]) -> list[ParsedDocument]:
    """A body that only introduces an attachment of the same PO ("please find our confirmation attached")
    lends it its kind and intent and is not kept as a document of its own."""
    kept = []
    for document in body:
        covered = [a for a in attachments if a.po_number in (document.po_number, None)]
        if document.lines or not covered:
            kept.append(document)
            continue
        for attachment in covered:
            _adopt_intent(attachment, document)
    return kept + attachments


def _adopt_intent(attachment: ParsedDocument, body: ParsedDocument) -> None:
    if attachment.kind != DocumentKind.UNKNOWN or body.kind == DocumentKind.UNKNOWN:
        return
    attachment.kind = body.kind
    attachment.status = body.status
    attachment.po_number = attachment.po_number or body.po_number
    attachment.issue_date = attachment.issue_date or body.issue_date
    if "intent" in body.provenance:
        attachment.provenance["intent"] = body.provenance["intent"]
