"""Pytest plugin: an IMAP server per test, pymap by default or Dovecot with POGUARD_TEST_IMAP=dovecot.

Load it from tests/conftest.py with `pytest_plugins = ["tests.imap_fixtures"]`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.imap_servers import DOVECOT, DovecotServer, ImapTestServer, PymapServer, self_signed_cert

__all__ = ["IMAP_KIND", "imap_server", "imap_tls_files", "make_dovecot"]

IMAP_KIND = os.environ.get("POGUARD_TEST_IMAP", "pymap")
"""Read at import: the conftest clears POGUARD_* variables before each test."""

KINDS = ("pymap", "dovecot")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_dovecot: runs only with POGUARD_TEST_IMAP=dovecot (TLS, refused folders)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IMAP_KIND == "dovecot":
        return
    skip = pytest.mark.skip(reason="needs dovecot: run with POGUARD_TEST_IMAP=dovecot")
    for item in items:
        if "needs_dovecot" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def imap_tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for CN=localhost, made once per run."""
    return self_signed_cert(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture
def make_dovecot(imap_tls_files: tuple[Path, Path]) -> Iterator[Callable[..., DovecotServer]]:
    """`make_dovecot(settings="")`: a running private Dovecot with extra config lines, removed after the test."""
    if not DOVECOT.exists():
        pytest.fail(f"{DOVECOT} is missing: apt-get install -y --no-install-recommends dovecot-imapd")
    made: list[DovecotServer] = []

    def make(settings: str = "") -> DovecotServer:
        server = DovecotServer(*imap_tls_files, settings=settings)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def imap_server(request: pytest.FixtureRequest) -> Iterator[ImapTestServer]:
    """A fresh, running IMAP server with an empty INBOX and the user `tester`/`secret`."""
    if IMAP_KIND not in KINDS:
        pytest.fail(f"POGUARD_TEST_IMAP={IMAP_KIND!r}: expected one of {', '.join(KINDS)}")
    if IMAP_KIND == "dovecot":
        yield request.getfixturevalue("make_dovecot")()
        return
    server = PymapServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
