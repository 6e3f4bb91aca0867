"""ImapMailbox against a real IMAP server (pymap, or Dovecot with POGUARD_TEST_IMAP=dovecot)."""

from __future__ import annotations

import email
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import imapclient.exceptions
import pytest

import ingest.imap
from ingest.base import Disposition, MessageKey
from ingest.imap import FOREIGN_ERRORS, KEYWORDS, ImapMailbox
from poguard.config import MailboxConfig
from poguard.errors import ConfigError, SourceRejected, SourceUnavailable
from tests.imap_servers import ImapTestServer, MessageBuilder

SEEN = b"\\Seen"

MakeMailbox = Callable[..., ImapMailbox]


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "imap-password"
    path.write_text(ImapTestServer.password + "\n")
    return path


def mailbox_config(server: ImapTestServer, password_file: Path | None, **settings: object) -> MailboxConfig:
    """Channel "acme" on `server`, plain IMAP, with `settings` over that."""
    values: dict[str, object] = {
        "name": "acme", "host": server.host, "port": server.port, "security": "plain", "user": server.user,
        "password_file": password_file,
    }
    return MailboxConfig.model_validate(values | settings)


@pytest.fixture
def make_mailbox(imap_server: ImapTestServer, password_file: Path) -> Iterator[MakeMailbox]:
    """`make_mailbox(max_wait=..., **settings)`: an ImapMailbox on the test server, closed after the test."""
    made: list[ImapMailbox] = []

    def make(max_wait: float = 5.0, **settings: object) -> ImapMailbox:
        settings = {"password_file": password_file} | settings
        mailbox = ImapMailbox(mailbox_config(imap_server, **settings), max_wait=max_wait)
        made.append(mailbox)
        return mailbox

    yield make
    for mailbox in made:
        mailbox.close()


@pytest.fixture
def mailbox(make_mailbox: MakeMailbox) -> ImapMailbox:
    return make_mailbox()


def seed(server: ImapTestServer, count: int, folder: str = "INBOX") -> list[int]:
    return [server.append(folder, MessageBuilder(subject=f"Confirmation {n}").build()) for n in range(count)]


def later(seconds: float, action: Callable[[], object]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_waiting_lists_new_uids_oldest_first_without_setting_seen(imap_server: ImapTestServer, mailbox: ImapMailbox) -> None:
    """GIVEN three mails in INBOX
    WHEN the mailbox lists what is waiting
    THEN it returns their keys oldest first, and none of them is marked \\Seen."""
    uids = seed(imap_server, 3)

    keys = mailbox.waiting()

    assert [key.uid for key in keys] == [str(uid) for uid in uids]
    assert {key.folder for key in keys} == {"INBOX"} and len({key.uidvalidity for key in keys}) == 1
    assert not any(SEEN in flags for flags in imap_server.flags("INBOX").values())


def test_fetch_returns_bytes_sender_and_message_id_without_setting_seen(imap_server: ImapTestServer, mailbox: ImapMailbox) -> None:
    """GIVEN a mail with a PDF attachment from "Orders <ORDERS@Supplier.example>"
    WHEN the mailbox fetches it
    THEN it returns the exact bytes, the lower-cased sender, the Message-ID and the subject, and leaves it unseen."""
    builder = MessageBuilder(sender="Orders <ORDERS@Supplier.example>").attach("po.pdf", "application/pdf", b"%PDF-1.4")
    raw = builder.build()
    imap_server.append("INBOX", raw)
    [key] = mailbox.waiting()

    message = mailbox.fetch(key)

    assert message.content.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert (message.key, message.name, message.sender, message.message_id) == (
        key, "Order confirmation PO-1001", "orders@supplier.example", builder.message_id,
    )
    assert email.message_from_bytes(message.content).get_payload()[1].get_filename() == "po.pdf"
    assert not any(SEEN in flags for flags in imap_server.flags("INBOX").values())


@pytest.mark.parametrize(
    ("subject", "name"),
    [("=?utf-8?q?Auftragsbest=C3=A4tigung_PO-7?=", "Auftragsbestätigung PO-7"), (None, "message {uid}")],
    ids=["encoded-subject", "no-subject"],
)
def test_fetched_name_is_the_decoded_subject_or_the_uid(
    imap_server: ImapTestServer, mailbox: ImapMailbox, subject: str | None, name: str
) -> None:
    """GIVEN a mail whose subject is RFC 2047 encoded, or missing
    WHEN the mailbox fetches it
    THEN its name is the decoded subject, or "message <uid>"."""
    raw = MessageBuilder(subject=None).build()
    if subject is not None:
        raw = f"Subject: {subject}\r\n".encode() + raw
    uid = imap_server.append("INBOX", raw)

    message = mailbox.fetch(mailbox.waiting()[0])

    assert message.name == name.format(uid=uid)


def test_acknowledge_processed_moves_the_message_into_a_created_processed_folder(
    imap_server: ImapTestServer, mailbox: ImapMailbox
) -> None:
    """GIVEN a mail in INBOX and no folder poguard/processed yet
    WHEN the mailbox acknowledges it as processed
    THEN the folder exists (in the server's own hierarchy), holds the mail, and INBOX lists nothing."""
    seed(imap_server, 1)
    [key] = mailbox.waiting()

    mailbox.acknowledge(key, Disposition.PROCESSED, None)

    assert len(imap_server.messages("poguard/processed")) == 1
    assert imap_server.uids("INBOX") == [] and mailbox.waiting() == []


def test_acknowledge_quarantined_moves_the_message_and_leaves_a_note_with_the_reason(
    imap_server: ImapTestServer, mailbox: ImapMailbox
) -> None:
    """GIVEN a mail "Invoice 77" in INBOX
    WHEN the mailbox acknowledges it as quarantined because its PO is unknown
    THEN the quarantine folder holds the mail and a text note naming the subject and the reason."""
    imap_server.append("INBOX", MessageBuilder(subject="Invoice 77").build())
    [key] = mailbox.waiting()

    mailbox.acknowledge(key, Disposition.QUARANTINED, "no open PO matches PO-9999")

    held = [email.message_from_bytes(raw) for raw in imap_server.messages("poguard/quarantine")]
    assert sorted(message["Subject"] for message in held) == ["Invoice 77", "poguard quarantined Invoice 77"]
    [note] = [message for message in held if message["Subject"].startswith("poguard")]
    assert note.get_content_type() == "text/plain"
    assert "poguard quarantined Invoice 77: no open PO matches PO-9999" in note.get_payload()
    assert imap_server.uids("INBOX") == []


def test_acknowledging_twice_is_safe(imap_server: ImapTestServer, mailbox: ImapMailbox) -> None:
    """GIVEN a mail already acknowledged as processed
    WHEN it is acknowledged again
    THEN nothing is raised and the processed folder still holds exactly one copy."""
    seed(imap_server, 1)
    [key] = mailbox.waiting()
    mailbox.acknowledge(key, Disposition.PROCESSED, None)

    mailbox.acknowledge(key, Disposition.PROCESSED, None)

    assert len(imap_server.messages("poguard/processed")) == 1


def recreate_folder(server: ImapTestServer, folder: str) -> None:
    """Delete and recreate `folder` with a new mail: the server gives it a new UIDVALIDITY."""
    server.delete_folder(folder)
    seed(server, 1, folder)


def test_fetch_with_a_key_from_before_a_uidvalidity_change_is_rejected(
    imap_server: ImapTestServer, make_mailbox: MakeMailbox
) -> None:
    """GIVEN a key listed from folder Suppliers, which is then deleted and recreated (new UIDVALIDITY)
    WHEN the mailbox fetches with the old key
    THEN SourceRejected imap-uidvalidity-changed is raised, and the new listing carries the new UIDVALIDITY."""
    seed(imap_server, 1, "Suppliers")
    mailbox = make_mailbox(folder="Suppliers")
    [old] = mailbox.waiting()
    recreate_folder(imap_server, "Suppliers")

    with pytest.raises(SourceRejected) as raised:
        mailbox.fetch(old)

    assert raised.value.code == "imap-uidvalidity-changed"
    assert [key.uidvalidity for key in mailbox.waiting()] != [old.uidvalidity]


def test_acknowledge_after_a_uidvalidity_change_leaves_the_folder_alone(
    imap_server: ImapTestServer, make_mailbox: MakeMailbox
) -> None:
    """GIVEN a key listed from folder Suppliers, which is then deleted and recreated
    WHEN the mailbox acknowledges with the old key
    THEN nothing is raised and nothing is moved: the new mail may carry the old UID."""
    seed(imap_server, 1, "Suppliers")
    mailbox = make_mailbox(folder="Suppliers")
    [old] = mailbox.waiting()
    recreate_folder(imap_server, "Suppliers")

    mailbox.acknowledge(old, Disposition.PROCESSED, None)

    assert len(imap_server.uids("Suppliers")) == 1
    assert imap_server.messages("poguard/processed") == []


def test_fetch_of_a_uid_that_is_gone_is_rejected_as_message_gone(imap_server: ImapTestServer, mailbox: ImapMailbox) -> None:
    """GIVEN a listed key whose mail was then moved away by someone else
    WHEN the mailbox fetches it
    THEN SourceRejected imap-message-gone is raised."""
    seed(imap_server, 1)
    [key] = mailbox.waiting()
    gone = MessageKey(key.folder, key.uidvalidity, str(int(key.uid) + 50))

    with pytest.raises(SourceRejected) as raised:
        mailbox.fetch(gone)

    assert raised.value.code == "imap-message-gone"


def test_wrong_password_is_rejected_as_login_failed(password_file: Path, mailbox: ImapMailbox) -> None:
    """GIVEN a mailbox whose password file holds a wrong password
    WHEN it lists what is waiting
    THEN SourceRejected imap-login-failed is raised at once (no retrying) and the password is not in the text."""
    password_file.write_text("wrong-password\n")
    started = time.monotonic()

    with pytest.raises(SourceRejected) as raised:
        mailbox.waiting()

    assert raised.value.code == "imap-login-failed"
    assert "wrong-password" not in str(raised.value)
    assert time.monotonic() - started < 3


def test_mailbox_without_a_password_is_a_config_error(make_mailbox: MakeMailbox) -> None:
    """GIVEN a mailbox configured with neither password_env nor password_file
    WHEN it lists what is waiting
    THEN a ConfigError names the mailbox, before any retrying."""
    mailbox = make_mailbox(password_file=None)

    with pytest.raises(ConfigError, match="no password configured") as raised:
        mailbox.waiting()

    assert raised.value.location == "mailboxes.acme"


def test_server_down_is_reported_unavailable_after_max_wait(imap_server: ImapTestServer, make_mailbox: MakeMailbox) -> None:
    """GIVEN a mailbox with max_wait=1 s whose server is down
    WHEN it lists what is waiting
    THEN SourceUnavailable is raised within a few seconds."""
    imap_server.stop()
    mailbox = make_mailbox(max_wait=1.0)
    started = time.monotonic()

    with pytest.raises(SourceUnavailable):
        mailbox.waiting()

    assert time.monotonic() - started < 3


def test_a_call_after_a_failure_reconnects(imap_server: ImapTestServer, make_mailbox: MakeMailbox) -> None:
    """GIVEN a connected mailbox whose server went down for longer than max_wait, and was reported unavailable
    WHEN the server is back and the next poll lists what is waiting
    THEN the same mailbox object reconnects and lists the mail."""
    mailbox = make_mailbox(max_wait=0.5)
    assert mailbox.waiting() == []
    imap_server.stop()
    with pytest.raises(SourceUnavailable):
        mailbox.waiting()
    imap_server.start()
    seed(imap_server, 1)

    assert len(mailbox.waiting()) == 1


def test_outage_shorter_than_max_wait_is_ridden_out(imap_server: ImapTestServer, make_mailbox: MakeMailbox) -> None:
    """GIVEN a connected mailbox with max_wait=10 s and a mail waiting
    WHEN the server stops and comes back 1.5 s later, while the mailbox lists what is waiting
    THEN the listing succeeds with the mail, on the same mailbox object."""
    seed(imap_server, 1)
    mailbox = make_mailbox(max_wait=10.0)
    assert len(mailbox.waiting()) == 1
    imap_server.stop()
    timer = later(1.5, imap_server.start)

    keys = mailbox.waiting()

    timer.join()
    assert len(keys) == 1


def test_wait_for_arrival_returns_true_soon_after_another_connection_appends(
    imap_server: ImapTestServer, mailbox: ImapMailbox
) -> None:
    """GIVEN a mailbox waiting with IDLE for up to 5 s
    WHEN another connection appends a mail 0.5 s later
    THEN wait_for_arrival returns True within about 2 s."""
    timer = later(0.5, lambda: seed(imap_server, 1))
    started = time.monotonic()

    arrived = mailbox.wait_for_arrival(5)

    timer.join()
    assert arrived is True
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "sleep"])
def test_interrupt_makes_wait_for_arrival_return_early(make_mailbox: MakeMailbox, idle: bool) -> None:
    """GIVEN a mailbox waiting up to 30 s for news (with IDLE, or sleeping)
    WHEN interrupt() is called from another thread 0.3 s later
    THEN wait_for_arrival returns False within about 1.5 s."""
    mailbox = make_mailbox(idle=idle)
    timer = later(0.3, mailbox.interrupt)
    started = time.monotonic()

    arrived = mailbox.wait_for_arrival(30)

    timer.join()
    assert arrived is False
    assert time.monotonic() - started < 1.5


def test_wait_for_arrival_without_idle_sleeps_and_returns_false(imap_server: ImapTestServer, make_mailbox: MakeMailbox) -> None:
    """GIVEN a mailbox configured with idle=false
    WHEN it waits 0.3 s while a mail arrives
    THEN it returns False after about 0.3 s (the next poll finds the mail)."""
    mailbox = make_mailbox(idle=False)
    seed(imap_server, 1)
    started = time.monotonic()

    assert mailbox.wait_for_arrival(0.3) is False
    assert 0.25 < time.monotonic() - started < 1.5


@pytest.mark.needs_dovecot
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_encrypted_connection_with_a_self_signed_certificate_works_without_verification(
    imap_server: ImapTestServer, make_mailbox: MakeMailbox, security: str
) -> None:
    """GIVEN Dovecot with a self-signed certificate and a mailbox with verify_certificate=false
    WHEN the mailbox connects with STARTTLS or TLS and lists what is waiting
    THEN it lists the mail."""
    seed(imap_server, 1)
    port = imap_server.port if security == "starttls" else imap_server.tls_port
    mailbox = make_mailbox(security=security, port=port, verify_certificate=False)

    assert len(mailbox.waiting()) == 1


@pytest.mark.needs_dovecot
def test_self_signed_certificate_with_verification_is_unavailable(imap_server: ImapTestServer, make_mailbox: MakeMailbox) -> None:
    """GIVEN Dovecot with a self-signed certificate and a mailbox that verifies certificates
    WHEN the mailbox connects with TLS
    THEN SourceUnavailable names the certificate failure."""
    mailbox = make_mailbox(security="tls", port=imap_server.tls_port, max_wait=0.5)

    with pytest.raises(SourceUnavailable, match="certificate"):
        mailbox.waiting()


@pytest.mark.needs_dovecot
def test_message_is_flagged_and_no_longer_waiting_when_the_processed_folder_is_refused(
    imap_server: ImapTestServer, make_mailbox: MakeMailbox
) -> None:
    """GIVEN a processed folder name Dovecot refuses to create ("~refused")
    WHEN a mail is acknowledged as processed
    THEN it stays in INBOX with the keyword $poguard-processed, and waiting() no longer lists it."""
    [uid] = seed(imap_server, 1)
    mailbox = make_mailbox(processed_folder="~refused")
    [key] = mailbox.waiting()

    mailbox.acknowledge(key, Disposition.PROCESSED, None)

    assert KEYWORDS[Disposition.PROCESSED].encode() in imap_server.flags("INBOX")[uid]
    assert mailbox.waiting() == []


@pytest.mark.needs_dovecot
@pytest.mark.parametrize("capability", ["IMAP4rev1 IDLE UIDPLUS", "IMAP4rev1 IDLE"], ids=["uid-expunge", "expunge"])
def test_acknowledge_copies_and_expunges_where_the_server_lacks_move(
    make_dovecot: Callable[[str], ImapTestServer], password_file: Path, capability: str
) -> None:
    """GIVEN Dovecot advertising neither MOVE (and, in one case, nor UIDPLUS) and two mails in INBOX
    WHEN the first is acknowledged as processed
    THEN it is copied to the processed folder and expunged from INBOX, and the second stays."""
    server = make_dovecot(f"imap_capability = {capability}")
    _, second = seed(server, 2)
    mailbox = ImapMailbox(mailbox_config(server, password_file))
    [key, _] = mailbox.waiting()

    mailbox.acknowledge(key, Disposition.PROCESSED, None)
    mailbox.close()

    assert server.uids("INBOX") == [second] and len(server.uids("poguard/processed")) == 1


def foreign_error(cls: type[BaseException]) -> BaseException:
    return cls(104, "simulated") if issubclass(cls, OSError) else cls("simulated")


@pytest.mark.parametrize("cls", FOREIGN_ERRORS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_foreign_error_becomes_a_source_error(mailbox: ImapMailbox, cls: type[BaseException]) -> None:
    """GIVEN any exception class imapclient, imaplib, socket or ssl may raise
    WHEN it escapes an IMAP call
    THEN the mailbox turns it into SourceRejected imap-login-failed (bad login) or SourceUnavailable (all else)."""
    expected = SourceRejected if cls is imapclient.exceptions.LoginError else SourceUnavailable

    with pytest.raises(expected) as raised, mailbox._translated():
        raise foreign_error(cls)

    assert type(raised.value) is expected and "simulated" in str(raised.value)


def test_every_imapclient_exception_class_is_mapped() -> None:
    """GIVEN every exception class imapclient defines
    WHEN compared with the mailbox's list of foreign errors
    THEN none is missing."""
    defined = [cls for cls in vars(imapclient.exceptions).values() if inspect.isclass(cls) and issubclass(cls, Exception)]

    assert [cls for cls in defined if cls not in FOREIGN_ERRORS] == []


def test_module_exports_only_its_public_names() -> None:
    """GIVEN ingest.imap
    WHEN its __all__ is read
    THEN it names the mailbox, the keywords and the foreign error list."""
    assert set(ingest.imap.__all__) == {"FOREIGN_ERRORS", "ImapMailbox", "KEYWORDS"}
