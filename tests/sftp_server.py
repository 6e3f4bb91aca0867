"""A real SFTP server inside the test process: asyncssh on an event loop of its own thread, jailed to one folder.

Tests drop files into `root` with plain file operations and point an `SftpDrop` at `host:port`; the server sees
`root` as "/". The host key is made once per server and kept across `stop()` and `start()`, as a real server keeps
its key across a restart; closing the server also closes the sessions that are open, as a crash would.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

__all__ = ["SftpServer"]

START_TIMEOUT = 10.0

T = TypeVar("T")


class _Gate(asyncssh.SSHServer):
    """Password and public-key login for the server's one user; remembers open connections for `stop()`."""

    def __init__(self, server: SftpServer) -> None:
        self._server = server
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._server._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (self._server.user, self._server.password)

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._server.user and key.export_public_key() in self._server._authorized_keys


class _WithoutPosixRename(asyncssh.SFTPServer):
    """An SFTP server that refuses the posix-rename@openssh.com extension, as some servers lack it."""

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("posix-rename not supported")


class SftpServer:
    """An SFTP server on 127.0.0.1 and a free port (kept across restarts), serving `root` as "/".

    Set `posix_rename = False` to refuse the posix-rename@openssh.com extension in sessions opened afterwards.
    """

    host = "127.0.0.1"

    def __init__(self, root: Path, user: str = "supplier", password: str = "s3cret-drop") -> None:
        self.root = root
        self.user = user
        self.password = password
        self.port = 0
        self.posix_rename = True
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._authorized_keys: set[bytes] = set()
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None

    def new_client_key(self, folder: Path, algorithm: str = "ssh-ed25519") -> Path:
        """Make a client key pair, authorize its public half and write the private half (OpenSSH format)."""
        key = asyncssh.generate_private_key(algorithm)
        self._authorized_keys.add(key.export_public_key())
        path = folder / f"client_{algorithm}"
        key.write_private_key(str(path))
        return path

    def start(self) -> None:
        """Listen on the port of the previous start, or on a free one the first time."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-test-server", daemon=True)
        self._thread.start()
        self._acceptor = self._run(self._listen())
        self.port = self._acceptor.get_port()

    def stop(self) -> None:
        """Close every session and the listener, then end the loop thread; stopping twice is harmless."""
        if self._loop is None or self._thread is None:
            return
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)
        self._loop.close()
        self._loop = self._thread = self._acceptor = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(START_TIMEOUT)

    async def _listen(self) -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            self.host,
            self.port,
            server_host_keys=[self._host_key],
            server_factory=lambda: _Gate(self),
            sftp_factory=self._sftp_session,
            allow_scp=False,
        )

    def _sftp_session(self, chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        kind = asyncssh.SFTPServer if self.posix_rename else _WithoutPosixRename
        return kind(chan, chroot=os.fsencode(self.root))

    async def _close(self) -> None:
        assert self._acceptor is not None
        for conn in list(self._connections):
            conn.close()
            await conn.wait_closed()
        self._connections.clear()
        self._acceptor.close()
        await self._acceptor.wait_closed()
