"""The buyers' daily digest: built from the stored exceptions, sent over real SMTP (aiosmtpd) at each person's
local `send_at`, at most once a day per person on each database, retried after an outage."""

from __future__ import annotations

import inspect
import smtplib
import socket
import ssl
import threading
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import outbound.delivery
import outbound.digest
import outbound.smtp
from outbound.delivery import DigestOutcome, send_due_digests
from outbound.digest import build_digests
from outbound.smtp import FOREIGN_ERRORS, SmtpSender, translate_foreign_errors
from poguard import lifecycle
from poguard.agent import Agent
from poguard.cli import app
from poguard.config import Config, DigestConfig, parse_config
from poguard.errors import ConfigError, OutboundError, OutboundRejected, OutboundUnavailable
from poguard.pipeline import Arrival, process_file
from poguard.store import Store, open_store
from poguard.tables import DigestRow, ExceptionRow
from tests.smtp_fixtures import PASSWORD, USER, SmtpTestServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROCESSED_ON = date(2026, 11, 25)
ANNA, RECEIVING, WAREHOUSE = "anna.buyer@example-mfg.com", "receiving@example.com", "warehouse.manager@example.com"
MORNING = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _process(store: Store, *names: str) -> None:
    for name in names:
        raw = (FIXTURES / "edifact" / name).read_bytes()
        process_file(store, Config(), Arrival(name, raw), today=PROCESSED_ON, actor="test")


def _config(server: SmtpTestServer, **digest: object) -> Config:
    return parse_config({"smtp": {"host": "127.0.0.1", "port": server.port, "security": "plain"}, "digest": digest}, "test")


def _send(store: Store, server: SmtpTestServer, now: datetime = MORNING, **digest: object) -> list[DigestOutcome]:
    config = _config(server, **digest)
    return send_due_digests(store, config, now, SmtpSender(config.smtp))


def _claims(store: Store) -> list[tuple[str, date, bool]]:
    with store.transaction() as session:
        rows = session.scalars(select(DigestRow).order_by(DigestRow.recipient, DigestRow.digest_date))
        return [(row.recipient, row.digest_date, row.sent_at is not None) for row in rows]


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def glf(loaded: Store) -> Store:
    """GLF's confirmations of POs 4500017001 and 4500017004, processed on 2026-11-25: a price variance for anna
    (due 11-27) and two quantity mismatches for receiving (due 11-26, one of them critical)."""
    _process(loaded, "ordrsp_glf_4500017001.edi", "ordrsp_glf_4500017004.edi")
    return loaded


# --- building (pure) ---

def _row(id: int, po: str, severity: str, due: date, status: str = "open", owner: str = ANNA) -> ExceptionRow:
    return ExceptionRow(id=id, po_number=po, line=id, category="price_variance", severity=severity, status=status,
                        expected="0.12 USD", actual="0.13 USD", message=f"exception {id}", owner=owner,
                        escalated_to=WAREHOUSE, due=due, supplier_id="GLF", updated_at=MORNING)


def test_lines_are_grouped_by_po_most_severe_first_with_overdue_marked() -> None:
    """GIVEN three open exceptions on two POs WHEN the digest is built THEN the PO with the critical one comes first,
    each PO's lines most severe first, and a line due before today is overdue."""
    rows = [_row(1, "A", "low", date(2026, 11, 20)), _row(2, "B", "critical", date(2026, 11, 30)),
            _row(3, "A", "high", date(2026, 11, 30))]
    [digest] = build_digests(rows, MORNING, DigestConfig(), {})
    assert [(g.po_number, [(l.exception_id, l.overdue) for l in g.lines]) for g in digest.groups] == [
        ("B", [(2, False)]), ("A", [(3, False), (1, True)])]
    assert digest.subject == "poguard: 3 open exceptions, 1 overdue (2026-11-26)"


def test_escalated_exceptions_go_to_the_escalation_person_and_nobody_idle_gets_one() -> None:
    """GIVEN one escalated and one resolved exception of anna's WHEN built THEN only the warehouse manager gets a
    digest, with the escalated one."""
    rows = [_row(1, "A", "high", date(2026, 11, 20), "escalated"), _row(2, "A", "low", date(2026, 11, 30), "resolved")]
    [digest] = build_digests(rows, MORNING, DigestConfig(), {})
    assert (digest.recipient, digest.exception_count, digest.subject) == (
        WAREHOUSE, 1, "poguard: 1 open exception, 1 overdue (2026-11-26)")


def test_settled_exceptions_are_counted_since_the_previous_digest() -> None:
    """GIVEN auto-resolved and resolved exceptions before and after anna's previous digest WHEN built
    THEN only those settled after it are counted."""
    rows = [_row(1, "A", "high", date(2026, 11, 30)), _row(2, "A", "low", date(2026, 11, 30), "auto_resolved"),
            _row(3, "A", "low", date(2026, 11, 30), "resolved"), _row(4, "A", "low", date(2026, 11, 30), "resolved")]
    rows[3].updated_at = datetime(2026, 11, 24, tzinfo=UTC)
    [digest] = build_digests(rows, MORNING, DigestConfig(), {ANNA: datetime(2026, 11, 25, tzinfo=UTC)})
    assert (digest.auto_resolved, digest.resolved, digest.first) == (1, 1, False)
    assert "Since your previous digest: 1 auto-resolved, 1 resolved." in digest.render("digest.txt")


def test_html_part_escapes_what_suppliers_wrote() -> None:
    """GIVEN an exception whose text holds markup WHEN rendered as HTML THEN it is escaped."""
    row = _row(1, "A", "high", date(2026, 11, 30))
    row.actual = "<script>x</script>"
    [digest] = build_digests([row], MORNING, DigestConfig(), {})
    assert "&lt;script&gt;x&lt;/script&gt;" in digest.render("digest.html") and "<script>" not in digest.render("digest.html")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc+2"])
def test_unknown_time_zone_is_a_config_error(zone: str) -> None:
    """GIVEN a digest time zone that is not an IANA name WHEN the config is validated THEN it names the key."""
    with pytest.raises(ConfigError, match=r"digest.time_zones.anna@example.com: value error, unknown iana time zone"):
        parse_config({"digest": {"time_zones": {"anna@example.com": zone}}}, "poguard.toml")


# --- sending (real SMTP, both databases) ---

def test_each_owner_receives_their_digest_with_counts_subject_and_both_parts(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN processed GLF confirmations WHEN digests are due THEN anna and receiving each get one mail with
    their counts in the subject, a text and an HTML part, and the claim is marked sent."""
    outcomes = _send(glf, smtp_server)
    assert sorted((o.recipient, o.exception_count, o.sent) for o in outcomes) == [(ANNA, 1, True), (RECEIVING, 2, True)]
    [anna] = smtp_server.to(ANNA)
    [receiving] = smtp_server.to(RECEIVING)
    assert anna["Subject"] == "poguard: 1 open exception (2026-11-26)"
    assert receiving["Subject"] == "poguard: 2 open exceptions (2026-11-26)"
    assert [part.get_content_type() for part in receiving.iter_parts()] == ["text/plain", "text/html"]
    text = _text(receiving)
    assert text.index("PO 4500017004") < text.index("PO 4500017001") and "[critical] quantity_mismatch" in text
    assert "PO 4500017001" in receiving.get_body(("html",)).get_content()
    assert {str(r.message["Message-ID"]) for r in smtp_server.received} == {o.message_id for o in outcomes}
    assert _claims(glf) == [(ANNA, date(2026, 11, 26), True), (RECEIVING, date(2026, 11, 26), True)]


def test_overdue_exceptions_are_counted_in_the_subject(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN receiving's exceptions due 2026-11-26 WHEN the digest goes out on 11-27 THEN both are marked overdue."""
    _send(glf, smtp_server, datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    [receiving] = smtp_server.to(RECEIVING)
    assert receiving["Subject"] == "poguard: 2 open exceptions, 2 overdue (2026-11-27)"
    assert _text(receiving).count("(OVERDUE)") == 2


def test_a_buyer_in_chicago_gets_it_only_after_seven_chicago_time(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN anna in America/Chicago WHEN digests run at 12:00 UTC (06:00 there) and at 13:00 UTC (07:00 there)
    THEN receiving (UTC) gets one at the first run, anna only at the second, dated on her local day."""
    zones = {"time_zones": {ANNA: "America/Chicago"}}
    first = _send(glf, smtp_server, datetime(2026, 11, 26, 12, 0, tzinfo=UTC), **zones)
    second = _send(glf, smtp_server, datetime(2026, 11, 26, 13, 0, tzinfo=UTC), **zones)
    assert [o.recipient for o in first] == [RECEIVING] and [o.recipient for o in second] == [ANNA]
    assert smtp_server.to(ANNA)[0]["Subject"] == "poguard: 1 open exception (2026-11-26)"


def test_nothing_is_sent_before_send_at(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN send_at 07:00 WHEN digests run at 06:59 UTC THEN nothing is sent or claimed."""
    assert _send(glf, smtp_server, datetime(2026, 11, 26, 6, 59, tzinfo=UTC)) == []
    assert smtp_server.received == [] and _claims(glf) == []


def test_running_twice_sends_once(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN digests sent this morning WHEN the job runs again an hour later THEN nothing more is sent."""
    _send(glf, smtp_server)
    assert _send(glf, smtp_server, datetime(2026, 11, 26, 9, 0, tzinfo=UTC)) == []
    assert len(smtp_server.received) == 2


def test_two_agents_at_once_send_once(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN two agents with their own connections to one database WHEN both send due digests at the same moment
    THEN the unique claim lets each digest out once."""
    url = glf.engine.url.render_as_string(hide_password=False)
    stores = [open_store(url), open_store(url)]
    start = threading.Barrier(2)
    results: list[list[DigestOutcome]] = []

    def agent(store: Store) -> None:
        start.wait()
        results.append(_send(store, smtp_server))

    threads = [threading.Thread(target=agent, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for store in stores:
        store.dispose()
    assert sorted(o.recipient for outcomes in results for o in outcomes) == [ANNA, RECEIVING]
    assert sorted(address for r in smtp_server.received for address in r.rcpt_tos) == [ANNA, RECEIVING]


def test_an_outage_sends_nothing_leaves_no_claim_and_the_next_run_sends(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN the SMTP server down WHEN digests are due THEN each fails as unavailable and no claim is left;
    WHEN the server is back THEN the next run sends them."""
    smtp_server.stop()
    failed = _send(glf, smtp_server)
    assert [type(o.error) for o in failed] == [OutboundUnavailable, OutboundUnavailable]
    assert _claims(glf) == []
    smtp_server.start()
    assert [o.sent for o in _send(glf, smtp_server)] == [True, True]
    assert len(smtp_server.received) == 2


def test_a_550_rejection_is_reported_and_not_retried_today(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN the server refuses anna's address with 550 WHEN digests run twice THEN her refusal is reported once
    as OutboundRejected, its claim is kept unsent, and receiving's digest still goes out."""
    smtp_server.refused.add(ANNA)
    outcomes = {o.recipient: o for o in _send(glf, smtp_server)}
    assert isinstance(outcomes[ANNA].error, OutboundRejected) and outcomes[ANNA].error.code == "smtp-recipient-refused"
    assert "550" in str(outcomes[ANNA].error) and outcomes[RECEIVING].sent
    assert _send(glf, smtp_server, datetime(2026, 11, 26, 9, 0, tzinfo=UTC)) == []
    assert _claims(glf) == [(ANNA, date(2026, 11, 26), False), (RECEIVING, date(2026, 11, 26), True)]


def test_resolved_since_the_previous_digest_is_counted_next_day(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN yesterday's digest WHEN receiving resolves one exception THEN today's digest lists the other and
    counts one resolved since the previous digest."""
    _send(glf, smtp_server)
    with glf.transaction() as session:
        row = session.scalars(select(ExceptionRow).where(ExceptionRow.po_number == "4500017001",
                                                         ExceptionRow.owner == RECEIVING)).one()
        lifecycle.resolve(session, row.id, "person:receiving", "counted again")
    _send(glf, smtp_server, datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    today = smtp_server.to(RECEIVING)[-1]
    assert today["Subject"] == "poguard: 1 open exception, 1 overdue (2026-11-27)"
    assert "Since your previous digest: 0 auto-resolved, 1 resolved." in _text(today)


def test_starttls_and_login_deliver(glf: Store, smtp_tls_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a server requiring STARTTLS and a login WHEN digests are sent with the right password THEN they arrive."""
    monkeypatch.setenv("POGUARD_SMTP_PASSWORD", PASSWORD)
    config = _tls_config(smtp_tls_server)
    assert [o.sent for o in send_due_digests(glf, config, MORNING, SmtpSender(config.smtp))] == [True, True]
    assert len(smtp_tls_server.received) == 2


def test_a_bad_password_is_rejected(smtp_tls_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a wrong password WHEN a mail is sent THEN OutboundRejected smtp-login-failed, with the 535 reply."""
    monkeypatch.setenv("POGUARD_SMTP_PASSWORD", "wrong")
    sender = SmtpSender(_tls_config(smtp_tls_server).smtp)
    with pytest.raises(OutboundRejected) as caught:
        sender.send(_mail())
    assert caught.value.code == "smtp-login-failed" and "535" in str(caught.value)


def test_a_user_without_a_password_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN smtp.user and an unset password variable WHEN the sender is made THEN a ConfigError names it."""
    config = parse_config({"smtp": {"host": "127.0.0.1", "user": USER, "password_env": "POGUARD_SMTP_PASSWORD"}}, "test")
    with pytest.raises(ConfigError, match="POGUARD_SMTP_PASSWORD is not set"):
        SmtpSender(config.smtp)


def _tls_config(server: SmtpTestServer) -> Config:
    return parse_config({"smtp": {"host": "127.0.0.1", "port": server.port, "security": "starttls",
                                  "verify_certificate": False, "user": USER, "password_env": "POGUARD_SMTP_PASSWORD"}}, "test")


def _mail() -> EmailMessage:
    message = EmailMessage()
    message["To"] = ANNA
    message["Subject"] = "test"
    message.set_content("test")
    return message


# --- the agent and the command line ---

def test_the_agent_sends_due_digests_in_run_once(glf: Store, smtp_server: SmtpTestServer) -> None:
    """GIVEN [smtp] configured and send_at 00:00 WHEN the agent runs once THEN its report lists the digests sent,
    anna's and receiving's among them (the sweep also chases unacknowledged POs of other buyers)."""
    agent = Agent(glf, _config(smtp_server, send_at="00:00"), [])
    digests = agent.run_once().digests
    assert all(o.sent for o in digests) and {ANNA, RECEIVING} <= {o.recipient for o in digests}
    assert len(smtp_server.received) == len(digests)


def test_the_agent_sends_no_digest_without_a_mail_server(glf: Store) -> None:
    """GIVEN no [smtp] host WHEN the agent runs once THEN no digest is attempted."""
    assert Agent(glf, Config(), []).run_once().digests == []


def test_cli_digest_dry_run_prints_and_send_respects_the_day_unless_forced(
        glf: Store, smtp_server: SmtpTestServer, tmp_path: Path) -> None:
    """GIVEN a config with [smtp] WHEN `poguard digest --to anna --dry-run` THEN her digest is printed and nothing sent;
    WHEN sent twice THEN once; WHEN --force THEN again."""
    config = tmp_path / "poguard.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "plain"\n', encoding="utf-8")
    base = ["--config", str(config), "--db", glf.engine.url.render_as_string(hide_password=False), "digest", "--to", ANNA]
    runner = CliRunner()
    dry = runner.invoke(app, [*base, "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0 and f"To: {ANNA}" in dry.output and "price_variance" in dry.output
    assert smtp_server.received == []
    assert "sent" in runner.invoke(app, base, catch_exceptions=False).output
    again = runner.invoke(app, base, catch_exceptions=False)
    assert "already sent today" in again.output
    assert runner.invoke(app, [*base, "--force"], catch_exceptions=False).exit_code == 0
    assert len(smtp_server.to(ANNA)) == 2 and smtp_server.to(RECEIVING) == []


# --- errors ---

def _foreign_exception_classes() -> list[type[BaseException]]:
    """Every exception class smtplib declares, plus the socket and ssl errors a connection can meet."""
    declared = [cls for _, cls in inspect.getmembers(smtplib, inspect.isclass)
                if issubclass(cls, BaseException) and cls.__module__ == "smtplib"]
    return declared + [OSError, TimeoutError, ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
                       socket.gaierror, ssl.SSLError, ssl.SSLEOFError, ssl.SSLCertVerificationError]


@pytest.mark.parametrize("foreign", _foreign_exception_classes(), ids=lambda cls: cls.__name__)
def test_every_foreign_exception_class_is_mapped(foreign: type[BaseException]) -> None:
    """GIVEN an smtplib, socket or ssl exception class THEN FOREIGN_ERRORS maps it or a base to an OutboundError."""
    mapped = [FOREIGN_ERRORS[cls] for cls in foreign.__mro__ if cls in FOREIGN_ERRORS]
    assert mapped and issubclass(mapped[0][0], OutboundError)


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (ConnectionRefusedError(111, "Connection refused"), OutboundUnavailable, "smtp-unavailable"),
        (ConnectionResetError(104, "Connection reset by peer"), OutboundUnavailable, "smtp-unavailable"),
        (TimeoutError("timed out"), OutboundUnavailable, "smtp-unavailable"),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), OutboundUnavailable, "smtp-disconnected"),
        (smtplib.SMTPConnectError(421, b"busy"), OutboundUnavailable, "smtp-unavailable"),
        (smtplib.SMTPSenderRefused(451, b"try later", "poguard@example.com"), OutboundUnavailable, "smtp-sender-refused"),
        (smtplib.SMTPRecipientsRefused({ANNA: (450, b"mailbox busy")}), OutboundUnavailable, "smtp-recipient-refused"),
        (smtplib.SMTPRecipientsRefused({ANNA: (550, b"no such user")}), OutboundRejected, "smtp-recipient-refused"),
        (smtplib.SMTPDataError(554, b"spam"), OutboundRejected, "smtp-message-refused"),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), OutboundRejected, "smtp-login-failed"),
        (smtplib.SMTPAuthenticationError(454, b"temporary failure"), OutboundUnavailable, "smtp-login-failed"),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), OutboundRejected, "smtp-not-supported"),
        (ssl.SSLCertVerificationError("certificate verify failed"), OutboundRejected, "smtp-certificate-rejected"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_foreign_errors_become_outbound_errors(error: BaseException, expected: type[OutboundError], code: str) -> None:
    """GIVEN a foreign error WHEN translated THEN a 4xx reply or a lost connection is transient, a 5xx reply,
    bad login or missing feature permanent; the cause is kept."""
    with pytest.raises(OutboundError) as caught, translate_foreign_errors("smtp (test)"):
        raise error
    assert (type(caught.value), caught.value.code, caught.value.__cause__) == (expected, code, error)


@pytest.mark.parametrize("module", [outbound.smtp, outbound.digest, outbound.delivery], ids=lambda m: m.__name__)
def test_modules_export_only_names_they_define(module: object) -> None:
    """GIVEN an outbound module WHEN its __all__ is read THEN every name in it exists."""
    assert [name for name in module.__all__ if not hasattr(module, name)] == []  # type: ignore[attr-defined]
