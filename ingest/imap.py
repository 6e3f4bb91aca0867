"""A supplier mailbox read over IMAP: the `Source` for `[[mailboxes]]`.

Words
- *folder*: the configured folder name; "/" in it means hierarchy and is written with the server's own
  separator ("poguard/processed" is "poguard.processed" on a Maildir++ Dovecot).
- *filing*: moving an acknowledged message into the processed or quarantine folder. Where the server
  refuses that, the message keeps its place and gets a keyword that `waiting()` skips.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import make_msgid
from typing import TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import (
    CapabilityError,
    IllegalStateError,
    InvalidCriteriaError,
    LoginError,
    ProtocolError,
)
from tenacity import Retrying, retry_if_exception_type, stop_any, stop_before_delay, wait_exponential_jitter

from ingest.base import Disposition, MessageKey, RawMessage
from poguard.config import MailboxConfig
from poguard.errors import ConfigError, SourceRejected, SourceUnavailable

__all__ = ["FOREIGN_ERRORS", "KEYWORDS", "ImapMailbox"]

log = logging.getLogger(__name__)

T = TypeVar("T")

KEYWORDS = {Disposition.PROCESSED: "$poguard-processed", Disposition.QUARANTINED: "$poguard-quarantined"}
"""Flags set instead of filing where the server cannot move or copy."""

FOREIGN_ERRORS: tuple[type[BaseException], ...] = (
    LoginError,
    IMAPClient.AbortError,
    IMAPClient.ReadOnlyError,
    CapabilityError,
    IllegalStateError,
    InvalidCriteriaError,
    ProtocolError,
    IMAPClient.Error,
    ConnectionRefusedError,
    ConnectionResetError,
    BrokenPipeError,
    TimeoutError,
    socket.gaierror,
    ssl.SSLCertVerificationError,
    ssl.SSLEOFError,
    ssl.SSLError,
    OSError,
)
"""Every exception class imapclient, imaplib, socket or ssl may raise here; `_translated` maps each one."""

IDLE_SLICE = 1.0
"""Seconds per IDLE check, so that `interrupt()` is seen promptly."""


def _readable(sock: socket.socket, seconds: float) -> bool:
    """True when the server has sent something (TLS may hold decrypted bytes that select cannot see)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    return bool(select.select([sock], [], [], seconds)[0])


def _ssl_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _headers(raw: bytes) -> EmailMessage:
    return BytesHeaderParser(policy=default_policy).parsebytes(raw)  # type: ignore[return-value]


def _subject(headers: EmailMessage, uid: str) -> str:
    return str(headers.get("Subject") or "").strip() or f"message {uid}"


def _sender(headers: EmailMessage) -> str | None:
    addresses = getattr(headers.get("From"), "addresses", ())
    return (addresses[0].addr_spec.lower() or None) if addresses else None


def _message_id(headers: EmailMessage) -> str | None:
    return str(headers.get("Message-ID") or "").strip() or None


def _quarantine_note(subject: str, reason: str | None, key: MessageKey, channel: str) -> bytes:
    """A short mail telling a human why poguard set a message aside."""
    note = EmailMessage()
    note["From"] = "poguard <poguard@localhost>"
    note["Subject"] = f"poguard quarantined {subject}"
    note["Message-ID"] = make_msgid(domain="poguard.localhost")
    note.set_content(
        f"poguard quarantined {subject}: {reason or 'no reason given'}\n\n"
        f"channel={channel} folder={key.folder} uidvalidity={key.uidvalidity} uid={key.uid}\n"
    )
    return note.as_bytes()


class ImapMailbox:
    """One mailbox: lists, fetches (never marking \\Seen) and files messages; reconnects by itself.

    `waiting()` and `fetch()` ride out an outage of up to `max_wait` seconds, retrying with exponential
    backoff; a longer one raises `SourceUnavailable` and the next poll tries again.
    """

    def __init__(self, config: MailboxConfig, *, max_wait: float = 60.0, timeout: float = 30.0) -> None:
        self.name = config.name
        self._config = config
        self._max_wait = max_wait
        self._timeout = timeout
        self._client: IMAPClient | None = None
        self._delimiter = "/"
        self._fileable: set[str] = set()
        self._interrupted = threading.Event()

    def waiting(self) -> list[MessageKey]:
        return self._retrying(self._list_waiting)

    def fetch(self, key: MessageKey) -> RawMessage:
        return self._retrying(lambda client: self._fetch(client, key))

    def acknowledge(self, key: MessageKey, disposition: Disposition, reason: str | None) -> None:
        with self._translated():
            self._acknowledge(self._connection(), key, disposition, reason)

    def wait_for_arrival(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        if self._config.idle:
            try:
                with self._translated():
                    client = self._connection()
                    if client.has_capability("IDLE"):
                        return self._idle(client, deadline)
            except (SourceUnavailable, SourceRejected) as error:
                log.warning("imap idle failed channel=%s error=%s", self.name, error)
        self._interrupted.wait(max(0.0, deadline - time.monotonic()))
        self._interrupted.clear()
        return False

    def interrupt(self) -> None:
        """Make a running or the next `wait_for_arrival` return at once, and stop retrying (on SIGTERM)."""
        self._interrupted.set()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with suppress(*FOREIGN_ERRORS):
                client.logout()

    def _retrying(self, operation: Callable[[IMAPClient], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type(SourceUnavailable),
            wait=wait_exponential_jitter(multiplier=0.5, max=30, jitter=0.5),
            stop=stop_any(stop_before_delay(self._max_wait), lambda _state: self._interrupted.is_set()),
            sleep=self._interrupted.wait,
            before_sleep=lambda state: log.warning(
                "imap retrying channel=%s attempt=%s error=%s", self.name, state.attempt_number, state.outcome.exception()
            ),
            reraise=True,
        )
        return retrying(self._attempt, operation)

    def _attempt(self, operation: Callable[[IMAPClient], T]) -> T:
        with self._translated():
            return operation(self._connection())

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Foreign errors become poguard's; the connection is dropped so the next call reconnects."""
        try:
            yield
        except LoginError as error:
            self._drop()
            raise SourceRejected(
                f"login refused for {self._config.user}: {error}", location=self._where(), code="imap-login-failed",
                hint="check user and password of this mailbox",
            ) from None
        except FOREIGN_ERRORS as error:
            self._drop()
            raise SourceUnavailable(
                f"{type(error).__name__}: {error}", location=self._where(), code="imap-unavailable"
            ) from None

    def _where(self) -> str:
        return f"mailboxes.{self.name} ({self._config.host}:{self._port()})"

    def _port(self) -> int:
        return self._config.port or (993 if self._config.security == "tls" else 143)

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with suppress(*FOREIGN_ERRORS):
                client.shutdown()

    def _connection(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> IMAPClient:
        config = self._config
        password = config.password(f"mailboxes.{config.name}")
        if password is None:
            raise ConfigError("no password configured", location=f"mailboxes.{config.name}", hint="set password_env or password_file")
        context = _ssl_context(config.verify_certificate)
        tls = config.security == "tls"
        client = IMAPClient(config.host, port=self._port(), ssl=tls, ssl_context=context if tls else None, timeout=self._timeout)
        try:
            if config.security == "starttls":
                client.starttls(context)
            client.login(config.user, password)
            self._prepare(client)
        except BaseException:
            with suppress(*FOREIGN_ERRORS):
                client.shutdown()
            raise
        log.info("imap connected channel=%s host=%s port=%s security=%s", self.name, config.host, self._port(), config.security)
        return client

    def _prepare(self, client: IMAPClient) -> None:
        """Learn the hierarchy separator and create the filing folders that are missing."""
        listing = client.list_folders("", "")
        delimiter = listing[0][1] if listing else None
        self._delimiter = delimiter.decode() if isinstance(delimiter, bytes) else delimiter or "/"
        self._fileable = set()
        for folder in (self._config.processed_folder, self._config.quarantine_folder):
            if self._ensure_folder(client, folder):
                self._fileable.add(folder)

    def _ensure_folder(self, client: IMAPClient, folder: str) -> bool:
        name = self._server_name(folder)
        if client.folder_exists(name):
            return True
        try:
            client.create_folder(name)
        except IMAPClient.AbortError:
            raise
        except IMAPClient.Error as error:
            log.warning("imap cannot create folder channel=%s folder=%s error=%s; flagging instead", self.name, folder, error)
            return False
        log.info("imap created folder channel=%s folder=%s", self.name, folder)
        return True

    def _server_name(self, folder: str) -> str:
        return folder.replace("/", self._delimiter)

    def _select(self, client: IMAPClient) -> dict[bytes, object]:
        return client.select_folder(self._server_name(self._config.folder))

    def _list_waiting(self, client: IMAPClient) -> list[MessageKey]:
        uidvalidity = int(self._select(client)[b"UIDVALIDITY"])
        criteria: list[str] = ["NOT", "DELETED"]
        for keyword in KEYWORDS.values():
            criteria += ["NOT", "KEYWORD", keyword]
        uids = sorted(client.search(criteria))
        log.debug("imap waiting channel=%s folder=%s count=%d", self.name, self._config.folder, len(uids))
        return [MessageKey(self._config.folder, uidvalidity, str(uid)) for uid in uids]

    def _fetch(self, client: IMAPClient, key: MessageKey) -> RawMessage:
        self._require_uidvalidity(client, key)
        fetched = client.fetch([int(key.uid)], ["BODY.PEEK[]"]).get(int(key.uid))
        if not fetched or b"BODY[]" not in fetched:
            raise SourceRejected(
                f"message uid {key.uid} is no longer in {key.folder}", location=self._where(), code="imap-message-gone"
            )
        content = fetched[b"BODY[]"]
        headers = _headers(content)
        log.info("imap fetched channel=%s folder=%s uid=%s bytes=%d", self.name, key.folder, key.uid, len(content))
        return RawMessage(key, _subject(headers, key.uid), content, _sender(headers), _message_id(headers))

    def _require_uidvalidity(self, client: IMAPClient, key: MessageKey) -> None:
        current = int(self._select(client)[b"UIDVALIDITY"])
        if current != key.uidvalidity:
            raise SourceRejected(
                f"UIDVALIDITY of {key.folder} is now {current}, not {key.uidvalidity}: uid {key.uid} may be another message",
                location=self._where(), code="imap-uidvalidity-changed",
            )

    def _acknowledge(self, client: IMAPClient, key: MessageKey, disposition: Disposition, reason: str | None) -> None:
        current = int(self._select(client)[b"UIDVALIDITY"])
        if current != key.uidvalidity:
            log.warning("imap uidvalidity changed channel=%s folder=%s uid=%s; not filing", self.name, key.folder, key.uid)
            return
        uid = int(key.uid)
        header = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid)
        if not header or b"BODY[HEADER]" not in header:
            log.info("imap already gone channel=%s folder=%s uid=%s", self.name, key.folder, key.uid)
            return
        target = self._config.processed_folder if disposition is Disposition.PROCESSED else self._config.quarantine_folder
        if disposition is Disposition.QUARANTINED:
            self._note(client, key, _subject(_headers(header[b"BODY[HEADER]"]), key.uid), reason)
        self._file(client, uid, target, KEYWORDS[disposition])
        log.info(
            "imap acknowledged channel=%s folder=%s uid=%s disposition=%s reason=%s",
            self.name, key.folder, key.uid, disposition, reason,
        )

    def _note(self, client: IMAPClient, key: MessageKey, subject: str, reason: str | None) -> None:
        folder = self._config.quarantine_folder
        if folder not in self._fileable:
            log.warning("imap no quarantine folder channel=%s uid=%s subject=%s reason=%s", self.name, key.uid, subject, reason)
            return
        client.append(self._server_name(folder), _quarantine_note(subject, reason, key, self.name))

    def _file(self, client: IMAPClient, uid: int, target: str, keyword: str) -> None:
        """Move `uid` into `target`; where the server refuses, flag it with `keyword` instead."""
        if target in self._fileable:
            try:
                self._move(client, uid, self._server_name(target))
                return
            except IMAPClient.AbortError:
                raise
            except IMAPClient.Error as error:
                log.warning("imap cannot move channel=%s uid=%s folder=%s error=%s; flagging instead", self.name, uid, target, error)
        client.add_flags([uid], [keyword], silent=True)

    @staticmethod
    def _move(client: IMAPClient, uid: int, target: str) -> None:
        if client.has_capability("MOVE"):
            client.move([uid], target)
            return
        client.copy([uid], target)
        client.delete_messages([uid], silent=True)
        client.expunge([uid] if client.has_capability("UIDPLUS") else None)

    def _idle(self, client: IMAPClient, deadline: float) -> bool:
        """IDLE on the folder until the server says anything, the deadline or `interrupt()`; True on news.

        Not `idle_check()`: it reads a non-blocking socket and can lose half a line (imapclient issue
        #519). Here the socket is only polled; `idle_done()` then reads the responses, blocking.
        """
        self._select(client)
        client.idle()
        try:
            while not self._interrupted.is_set() and (left := deadline - time.monotonic()) > 0:
                if _readable(client.socket(), min(IDLE_SLICE, left)):
                    break
        finally:
            self._interrupted.clear()
        _text, responses = client.idle_done()
        arrived = any(len(response) > 1 and response[1] in (b"EXISTS", b"RECENT") for response in responses)
        log.debug("imap idle ended channel=%s folder=%s arrived=%s", self.name, self._config.folder, arrived)
        return arrived
