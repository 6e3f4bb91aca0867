"""The agent against a real IMAP server: nothing lost, nothing twice, through crashes, outages, bad mail and
several workers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner
from sqlalchemy import func, select

from ingest.imap import ImapMailbox
from poguard import repository
from poguard.agent import Agent, AgentAlreadyRunning
from poguard.cli import app
from poguard.config import Config, parse_config
from poguard.domain import POLine, Supplier
from poguard.pipeline import Arrival, receive
from poguard.store import Store, open_store
from poguard.tables import AuditEvent, ChannelRow, DocumentRow, ExceptionRow, InboundFile, LedgerEntry
from tests.conftest import CORPUS, FIXTURES
from tests.imap_servers import ImapTestServer, MessageBuilder

SENDER = "orders@glfastener.com"
PASSWORD_ENV = "POGUARD_TEST_IMAP_PASSWORD"


def _po_number(n: int) -> str:
    return f"46{n:08d}"


def ordrsp(n: int) -> bytes:
    """An order response for PO number `n`, one line at 1.10 against the PO's 1.00: one price variance."""
    segments = [
        "UNB+UNOC:3+5412345000013:14+4098765000009:14+261210:0930+R{n}", "UNH+1+ORDRSP:D:96A:UN:EAN005",
        "BGM+231+OR-{n}+29", "DTM+137:20261210:102", "RFF+ON:{po}", "CUX+2:USD:9", "LIN+1++GLF-X-{n}:SA",
        "QTY+21:100:PCE", "PRI+AAA:1.10", "DTM+2:20270115:102", "RFF+LI:1", "UNS+S", "UNT+12+1", "UNZ+1+R{n}",
    ]
    return ("UNA:+.? '" + "'".join(segments).format(n=n, po=_po_number(n)) + "'").encode()


def mail(n: int) -> bytes:
    builder = MessageBuilder(sender=f"Great Lakes Fasteners <{SENDER}>", subject=f"Order response {_po_number(n)}",
                             body="Please find our order response attached.")
    return builder.attach(f"ordrsp_{n}.edi", "application/edifact", ordrsp(n)).build()


def seed(store: Store, count: int) -> None:
    """GLF and one single-line PO per message."""
    supplier = Supplier("GLF", "Great Lakes Fasteners", (SENDER,), ("5412345000013",))
    lines = [POLine(_po_number(n), 1, "GLF", f"ITEM-{n}", f"GLF-X-{n}", f"Part {n}", Decimal(100), "EA", Decimal("1.00"),
                    "USD", date(2027, 1, 15), "anna@example.com") for n in range(count)]
    with store.transaction() as session:
        repository.upsert_suppliers(session, [supplier], "test")
        repository.upsert_po_lines(session, lines, "test")


def mailbox_settings(server: ImapTestServer, **overrides: object) -> dict[str, object]:
    return {"name": "orders", "host": server.host, "port": server.port, "security": "plain", "user": server.user,
            "password_env": PASSWORD_ENV, "poll_seconds": 1, "idle": False, "processed_folder": "Processed",
            "quarantine_folder": "Quarantine", **overrides}


@dataclass(frozen=True, slots=True)
class Tally:
    inbound: int
    processed: int
    rejected: int
    documents: int
    exceptions: int
    created_events: int
    unsettled: int


def tally(store: Store) -> Tally:
    with store.transaction() as session:
        def count(query: object) -> int:
            return session.scalar(query) or 0  # type: ignore[arg-type]
        return Tally(
            inbound=count(select(func.count()).select_from(InboundFile)),
            processed=count(select(func.count()).select_from(InboundFile).where(InboundFile.status == "processed")),
            rejected=count(select(func.count()).select_from(InboundFile).where(InboundFile.status == "rejected")),
            documents=count(select(func.count()).select_from(DocumentRow)),
            exceptions=count(select(func.count()).select_from(ExceptionRow)),
            created_events=count(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity == "exception", AuditEvent.action == "created")),
            unsettled=count(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.acknowledged_at.is_(None))),
        )


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def password(imap_server: ImapTestServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)
    return imap_server.password


def _agent_command(config: Path | None, db_url: str, *args: str) -> list[str]:
    options = ["--config", str(config)] if config is not None else []
    return [sys.executable, "-c", "from poguard.cli import app; app()", *options, "--db", db_url, *args]


def test_agent_killed_at_random_moments_processes_every_message_exactly_once(
    imap_server: ImapTestServer, password: str, tmp_path: Path
) -> None:
    """GIVEN 200 messages WHEN the agent is SIGKILLed at random moments 5 times and restarted until the mailbox is
    drained THEN every message is processed once: 200 documents, 200 exceptions, each created once, all filed."""
    count = 200
    db_url = f"sqlite:///{(tmp_path / 'agent.db').as_posix()}"
    store = open_store(db_url)
    seed(store, count)
    for n in range(count):
        imap_server.append("INBOX", mail(n))
    config = tmp_path / "poguard.toml"
    settings = mailbox_settings(imap_server)
    config.write_text("[[mailboxes]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()), encoding="utf-8")
    env = {**os.environ, PASSWORD_ENV: password}
    rng = random.Random(20261125)
    # Kill points spread over the run: when this many messages are done, plus a random few milliseconds.
    kill_points = sorted(rng.sample(range(5, count - 20), 5))
    for kills, point in enumerate(kill_points, 1):
        agent = subprocess.Popen(_agent_command(config, db_url, "run"), env=env, stderr=subprocess.DEVNULL)
        wait_until(lambda: tally(store).inbound >= point, 120, f"{point} messages taken in")
        time.sleep(rng.uniform(0, 0.2))
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        print(f"kill {kills} at {point}: {tally(store)}")
    assert tally(store).processed < count, "the mailbox drained before the fifth kill: the kills proved nothing"
    agent = subprocess.Popen(_agent_command(config, db_url, "run"), env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: not imap_server.uids("INBOX") and tally(store).unsettled == 0, 180, "the mailbox to drain")
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0, "the agent did not stop gracefully on SIGTERM"
    final = tally(store)
    print(f"after {len(kill_points)} kills: {final}")
    assert final == Tally(inbound=count, processed=count, rejected=0, documents=count, exceptions=count,
                          created_events=count, unsettled=0)
    assert len(imap_server.uids("Processed")) == count
    store.dispose()


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else f'"{value}"'


@pytest.fixture
def running_agent(imap_server: ImapTestServer, password: str, tmp_path: Path) -> Iterator[tuple[Agent, Store]]:
    """An agent running in this process, polling the test mailbox every second."""
    store = open_store(f"sqlite:///{(tmp_path / 'agent.db').as_posix()}")
    seed(store, 20)
    config = parse_config({"mailboxes": [mailbox_settings(imap_server)]}, "test.toml")
    agent = Agent(store, config, [ImapMailbox(config.mailboxes[0], max_wait=2, timeout=5)])
    agent.start()
    try:
        yield agent, store
    finally:
        agent.stop()
        agent.wait()
        store.dispose()


def test_agent_recovers_from_an_imap_outage_without_a_restart(
    imap_server: ImapTestServer, running_agent: tuple[Agent, Store]
) -> None:
    """GIVEN a running agent WHEN the IMAP server stops mid-run and comes back THEN polls fail meanwhile, and
    mail sent after the outage is processed by the same agent."""
    _, store = running_agent
    for n in range(3):
        imap_server.append("INBOX", mail(n))
    wait_until(lambda: tally(store).processed == 3, 30, "the first three messages")
    imap_server.stop()
    wait_until(lambda: _last_error(store) is not None, 30, "a failed poll to be recorded")
    imap_server.start()
    for n in range(3, 6):
        imap_server.append("INBOX", mail(n))
    wait_until(lambda: tally(store).processed == 6 and not imap_server.uids("INBOX"), 60, "the messages after the outage")
    with store.transaction() as session:
        channel = session.get_one(ChannelRow, "orders")
        assert channel.last_error_at is not None and channel.last_success_at is not None
        assert channel.last_success_at > channel.last_error_at


def _last_error(store: Store) -> str | None:
    with store.transaction() as session:
        channel = session.get(ChannelRow, "orders")
        return None if channel is None else channel.last_error


def test_bad_mail_is_quarantined_with_its_reason_and_good_mail_beside_it_is_processed(
    imap_server: ImapTestServer, password: str, tmp_path: Path
) -> None:
    """GIVEN every malformed message of the corpus between two good ones WHEN the agent runs once THEN each bad one is
    in quarantine with its reason stored, and both good ones are processed."""
    malformed = sorted((CORPUS / "email" / "malformed").iterdir())
    imap_server.append("INBOX", mail(0))
    for path in malformed:
        imap_server.append("INBOX", path.read_bytes())
    imap_server.append("INBOX", mail(1))
    store = open_store(f"sqlite:///{(tmp_path / 'agent.db').as_posix()}")
    seed(store, 2)
    config = parse_config({"mailboxes": [mailbox_settings(imap_server)]}, "test.toml")
    report = Agent(store, config, [ImapMailbox(config.mailboxes[0])]).run_once()
    assert [poll.errors for poll in report.polls] == [[]]
    assert not imap_server.uids("INBOX")
    assert len(imap_server.uids("Processed")) == 2
    quarantined = [m for m in imap_server.messages("Quarantine") if b"poguard quarantined" not in m[:2000]]
    assert len(quarantined) == len(malformed)
    with store.transaction() as session:
        reasons = session.scalars(select(InboundFile.error).where(InboundFile.status == "rejected")).all()
    assert reasons and all(reason for reason in reasons)
    assert tally(store).processed == 2
    store.dispose()


def test_a_second_agent_on_sqlite_says_so_and_exits(tmp_path: Path) -> None:
    """GIVEN an agent holding a SQLite database WHEN a second one starts THEN it is refused with a clear error."""
    store = open_store(f"sqlite:///{(tmp_path / 'agent.db').as_posix()}")
    first = Agent(store, Config(), [], owner="host-a:1")
    second = Agent(store, Config(), [], owner="host-b:2")
    first.claim_database()
    with pytest.raises(AgentAlreadyRunning, match="another agent is running against this SQLite database"):
        second.claim_database()
    store.dispose()


def _fresh_backlog(store: Store, count: int) -> None:
    """`count` POs and one stored, unprocessed arrival for each."""
    seed(store, count)
    with store.transaction() as session:
        for n in range(count):
            receive(session, Arrival(f"ordrsp_{n}.edi", ordrsp(n), channel="sftp"))


def _backlog_time(db_url: str, agents: int, workdir: Path) -> tuple[float, list[int]]:
    """Seconds for `agents` processes of `poguard run --once` to drain the backlog, and how many each processed."""
    started = time.perf_counter()
    processes = [subprocess.Popen(_agent_command(None, db_url, "run", "--once"), cwd=workdir, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True) for _ in range(agents)]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    elapsed = time.perf_counter() - started
    return elapsed, [int(output.split("backlog: ")[1].split(" ")[0]) for output in outputs]


def test_two_agents_on_postgresql_share_a_backlog_without_doubles(pg_schema_urls: Callable[[], str], tmp_path: Path) -> None:
    """GIVEN 500 stored arrivals WHEN two agents work the backlog at once THEN each arrival is processed exactly once,
    both agents took a share, and the times of one and of two agents are printed."""
    count = 500
    timings = {}
    for agents in (1, 2):
        url = pg_schema_urls()
        store = open_store(url)
        _fresh_backlog(store, count)
        elapsed, shares = _backlog_time(url, agents, tmp_path)
        final = tally(store)
        assert (final.processed, final.documents, final.exceptions, final.created_events) == (count, count, count, count)
        assert sum(shares) == count and all(share > 0 for share in shares), shares
        timings[agents] = elapsed
        store.dispose()
    print(f"\n{count} documents: one agent {timings[1]:.1f} s, two agents {timings[2]:.1f} s "
          f"({timings[1] / timings[2]:.2f}x faster)")


def test_run_once_takes_a_folder_drop_and_files_each_file_where_it_belongs(tmp_path: Path) -> None:
    """GIVEN a folder drop with two confirmations and a broken file WHEN `poguard run --once` runs THEN the good ones
    are archived and processed, the broken one is quarantined beside its .error.txt, exit 1, and status shows the drop."""
    drop = tmp_path / "drop"
    (drop / "in").mkdir(parents=True)
    for name in ("ordrsp_glf_4500017001.edi", "ordrsp_rhk_4500017002.edi"):
        (drop / "in" / name).write_bytes((FIXTURES / "edifact" / name).read_bytes())
    (drop / "in" / "broken.edi").write_bytes(b"UNA:+.? 'UNB+UNOC:3+X'UNH+1+ORDRSP:D:96A'BGM+231")
    config = tmp_path / "poguard.toml"
    config.write_text(
        "[[drops]]\n" f'name = "edi"\npath = "{(drop / "in").as_posix()}"\narchive = "{(drop / "archive").as_posix()}"\n'
        f'quarantine = "{(drop / "quarantine").as_posix()}"\nstable_seconds = 0\n', encoding="utf-8")
    db = f"sqlite:///{(tmp_path / 'agent.db').as_posix()}"
    runner = CliRunner()
    for command in (["import-suppliers", str(FIXTURES / "suppliers.csv")], ["import-pos", str(FIXTURES / "pos.csv")]):
        assert runner.invoke(app, ["--config", str(config), "--db", db, *command]).exit_code == 0
    result = runner.invoke(app, ["--config", str(config), "--db", db, "run", "--once"])
    assert result.exit_code == 1, result.output
    assert "channel edi: 3 new" in result.stdout
    assert sorted(p.name for p in (drop / "archive").iterdir()) == ["ordrsp_glf_4500017001.edi", "ordrsp_rhk_4500017002.edi"]
    assert sorted(p.name for p in (drop / "quarantine").iterdir()) == ["broken.edi", "broken.edi.error.txt"]
    assert "edifact" in (drop / "quarantine" / "broken.edi.error.txt").read_text(encoding="utf-8")
    assert list((drop / "in").iterdir()) == []
    status = runner.invoke(app, ["--config", str(config), "--db", db, "status"])
    assert "edi" in status.stdout and "documents waiting for a worker: 0" in status.stdout
    exceptions = runner.invoke(app, ["--config", str(config), "--db", db, "exceptions", "--format", "json"])
    found = {(r["po_number"], r["category"]) for r in json.loads(exceptions.stdout)}
    assert found == {("4500017001", "price_variance"), ("4500017001", "quantity_mismatch"), ("4500017002", "date_deviation"),
                     ("4500017003", "unacknowledged_po"), ("4500017004", "unacknowledged_po")}
