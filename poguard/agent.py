"""The agent: polls every channel on a schedule and works the stored backlog, unattended.

Jobs (APScheduler 3, in threads): one per mailbox or drop (its poll interval; for a mailbox with IMAP
IDLE the job polls, then waits for news up to the interval), and one backlog worker. Several agents may
share a PostgreSQL database: a channel is polled by the agent holding its lease, and waiting arrivals
are claimed with SKIP LOCKED. On SQLite one agent runs; a second one says so and exits.

When [smtp] is configured, a digest job runs every 5 minutes: each person's daily digest goes out once
their local `send_at` has passed, once per day whatever the number of agents (outbound.delivery).

`run_once` does one pass of everything and returns; `run` runs until `stop()` (SIGTERM/SIGINT), finishing
the document in hand.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from ingest.base import Source
from outbound.delivery import DigestOutcome, Sender, send_due_digests
from outbound.smtp import SmtpSender
from poguard import lifecycle
from poguard.channels import PollReport, acquire_lease, poll_channel, release_lease
from poguard.config import Config
from poguard.errors import ConfigError
from poguard.pipeline import FileOutcome, process_backlog
from poguard.store import Store
from poguard.tables import utcnow

__all__ = ["Agent", "AgentAlreadyRunning", "RunReport", "agent_identity", "holder_is_gone"]

log = logging.getLogger(__name__)

SQLITE_AGENT_LEASE = "__agent__"
BACKLOG_SECONDS = 2
SWEEP_SECONDS = 3600
DIGEST_SECONDS = 300


class AgentAlreadyRunning(ConfigError):
    code = "agent-already-running"


def agent_identity() -> str:
    """host:pid, the name this agent's leases carry."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(slots=True)
class RunReport:
    polls: list[PollReport] = field(default_factory=list)
    processed: list[FileOutcome] = field(default_factory=list)
    skipped_channels: list[str] = field(default_factory=list)
    escalated: int = 0
    chased: int = 0
    digests: list[DigestOutcome] = field(default_factory=list)


class Agent:
    """Runs the channels and the backlog worker against one store."""

    def __init__(self, store: Store, config: Config, sources: Sequence[Source], *,
                 owner: str | None = None, today: Callable[[], date] = date.today):
        self.store = store
        self.config = config
        self.sources = list(sources)
        self.owner = owner or agent_identity()
        self.today = today
        self.sender: Sender | None = SmtpSender(config.smtp) if config.digest_enabled else None
        self._stop = threading.Event()
        self._scheduler: BackgroundScheduler | None = None

    @property
    def lease_seconds(self) -> int:
        return self.config.agent.lease_seconds

    def claim_database(self) -> None:
        """On SQLite only one agent may run: hold a lease on the database itself, or say who does."""
        if self.store.engine.dialect.name != "sqlite":
            return
        if not acquire_lease(self.store, SQLITE_AGENT_LEASE, self.owner, self.lease_seconds, holder_is_gone):
            raise AgentAlreadyRunning(
                "another agent is running against this SQLite database",
                hint="stop it, or use PostgreSQL to run several agents",
            )

    def poll(self, source: Source) -> PollReport | None:
        """One poll of one channel if this agent holds (or gets) its lease; None when another agent has it."""
        if not acquire_lease(self.store, source.name, self.owner, self.lease_seconds, holder_is_gone):
            log.info("channel leased by another agent channel=%s", source.name)
            return None
        return poll_channel(self.store, self.config, source, today=self.today(), actor=f"agent {self.owner}", stop=self._stop)

    def work_backlog(self) -> list[FileOutcome]:
        """Process stored arrivals until none waits (or stop)."""
        done: list[FileOutcome] = []
        while not self._stop.is_set():
            batch = process_backlog(self.store, self.config, today=self.today(), actor=f"agent {self.owner}",
                                    limit=self.config.agent.batch_size)
            done.extend(batch)
            if not batch:
                break
        return done

    def sweep(self) -> tuple[int, int]:
        """Escalate overdue exceptions and chase unacknowledged POs; how many of each."""
        with self.store.transaction() as session:
            escalated = lifecycle.escalate_overdue(session, self.today())
            chased = lifecycle.chase_unacknowledged(session, self.config, self.today())
        return len(escalated), len(chased)

    def send_digests(self) -> list[DigestOutcome]:
        """The daily digests now due (none when no mail server is configured)."""
        if self.sender is None:
            return []
        return send_due_digests(self.store, self.config, utcnow(), self.sender)

    def run_once(self) -> RunReport:
        """One pass of everything: every channel once, the whole backlog, the sweeps, the digests due."""
        self.claim_database()
        report = RunReport()
        try:
            for source in self.sources:
                polled = self.poll(source)
                if polled is None:
                    report.skipped_channels.append(source.name)
                else:
                    report.polls.append(polled)
                    release_lease(self.store, source.name, self.owner)
            report.processed = self.work_backlog()
            report.escalated, report.chased = self.sweep()
            report.digests = self.send_digests()
        finally:
            self._release_all()
        return report

    def _channel_job(self, source: Source, interval: int) -> Callable[[], None]:
        def job() -> None:
            self.poll(source)
            if not self._stop.is_set() and source.wait_for_arrival(interval):
                log.info("news on channel channel=%s", source.name)
        return job

    def _heartbeat(self) -> None:
        self.claim_database()

    def start(self) -> None:
        """Start the scheduler in the background; `stop()` ends it."""
        self.claim_database()
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=len(self.sources) + 3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        for source in self.sources:
            interval = self._interval(source)
            scheduler.add_job(self._channel_job(source, interval), "interval", seconds=1 if self._pushes(source) else interval,
                              id=f"channel:{source.name}", next_run_time=utcnow())
        scheduler.add_job(self.work_backlog, "interval", seconds=BACKLOG_SECONDS, id="backlog", next_run_time=utcnow())
        scheduler.add_job(self._heartbeat, "interval", seconds=max(1, self.lease_seconds // 3), id="heartbeat")
        scheduler.add_job(self.sweep, "interval", seconds=SWEEP_SECONDS, id="sweep", next_run_time=utcnow())
        if self.sender is not None:
            scheduler.add_job(self.send_digests, "interval", seconds=DIGEST_SECONDS, id="digests", next_run_time=utcnow())
        scheduler.start()
        self._scheduler = scheduler
        log.info("agent started owner=%s channels=%d", self.owner, len(self.sources))

    def _interval(self, source: Source) -> int:
        channels = {c.name: c.poll_seconds for c in [*self.config.mailboxes, *self.config.drops]}
        return channels.get(source.name, 60)

    def _pushes(self, source: Source) -> bool:
        return any(m.name == source.name and m.idle for m in self.config.mailboxes)

    def stop(self) -> None:
        """Stop taking new work; the document in hand is finished before `wait` returns."""
        self._stop.set()
        for source in self.sources:
            source.interrupt()

    def wait(self) -> None:
        """Block until `stop()`, then shut the scheduler down gracefully and release leases."""
        self._stop.wait()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
        self._release_all()
        for source in self.sources:
            source.close()
        log.info("agent stopped owner=%s", self.owner)

    def _release_all(self) -> None:
        for name in [source.name for source in self.sources] + [SQLITE_AGENT_LEASE]:
            release_lease(self.store, name, self.owner)


def holder_is_gone(owner: str) -> bool:
    """True when `owner` (host:pid) is a process on this host that no longer runs: its lease may be taken."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
