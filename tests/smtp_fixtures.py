"""Pytest plugin: an aiosmtpd server per test on a free port, capturing what it receives (RECIPES section 3).

`smtp_server` speaks plain SMTP; `smtp_tls_server` requires STARTTLS and a login (user "poguard", password
"secret") with a self-signed certificate. Load it from tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.imap_servers import HOST, free_port, self_signed_cert

__all__ = ["SmtpTestServer", "smtp_server", "smtp_tls_server"]

USER, PASSWORD = "poguard", "secret"


@dataclass(frozen=True, slots=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpTestServer:
    """A Controller that can be stopped and started again on the same port (an outage), and refuse recipients."""

    options: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    _controller: Controller | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname=HOST, port=self.port, **self.options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt_tos]


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    # handled=False, else a failed login gets no reply and the client hangs (RECIPES section 3)
    return AuthResult(success=(auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode()), handled=False)


@pytest.fixture(scope="session")
def smtp_tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("smtp-tls"))


def _running(server: SmtpTestServer) -> Iterator[SmtpTestServer]:
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server capturing every message."""
    yield from _running(SmtpTestServer())


@pytest.fixture
def smtp_tls_server(smtp_tls_files: tuple[Path, Path]) -> Iterator[SmtpTestServer]:
    """An SMTP server that requires STARTTLS, then AUTH as poguard/secret."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*smtp_tls_files)
    options = {"tls_context": context, "require_starttls": True, "authenticator": _authenticate, "auth_require_tls": True}
    yield from _running(SmtpTestServer(options))
