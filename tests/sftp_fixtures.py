"""Pytest plugin with the SFTP server fixture; enable with `pytest_plugins = ["tests.sftp_fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sftp_server import SftpServer

__all__ = ["sftp_server"]


@pytest.fixture
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """A running SFTP server jailed to an empty folder of its own: `host`, `port`, `user`, `password`, `root`."""
    server = SftpServer(tmp_path_factory.mktemp("sftp-root"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
