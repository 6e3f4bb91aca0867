"""EDI drops: a local folder, or a folder on an SFTP server, where suppliers put files for poguard.

Words
- *drop*: the folder suppliers write into (`path`). poguard lists and reads it, and once a file is committed moves
  it to `archive` (processed) or to `quarantine`, beside a `<name>.error.txt` that holds the reason.
- *complete*: a file poguard may take. Suppliers upload under a temp name (`x.edi.part`) and rename when done, so
  a name ending in one of `temp_suffixes` is never complete. Any other file is complete once two looks at least
  `stable_seconds` apart saw the same size and mtime. The looks are calls of `waiting()`, which remembers what it
  saw instead of sleeping: a new file is listed by a later call, never by the first one, unless `stable_seconds`
  is 0.

`FolderDrop` and `SftpDrop` share all of this; they differ only in a small `_Files` adapter (local disk or an
SFTP session). Every OSError, paramiko and socket error becomes a `SourceError` in `translate_foreign_errors`.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import posixpath
import shutil
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

import paramiko

from ingest.base import Disposition, MessageKey, RawMessage, Source
from poguard.config import DropConfig
from poguard.errors import ConfigError, SourceError, SourceRejected, SourceUnavailable

__all__ = ["FOREIGN_ERRORS", "FolderDrop", "SftpDrop", "file_name_of", "open_drop", "translate_foreign_errors"]

UID_MARK = "@"

log = logging.getLogger(__name__)

ERROR_SUFFIX = ".error.txt"
CONNECT_TIMEOUT = 15.0
IO_TIMEOUT = 30.0

FOREIGN_ERRORS: dict[type[BaseException], tuple[type[SourceError], str]] = {
    paramiko.AuthenticationException: (SourceRejected, "sftp-login-failed"),
    paramiko.SSHException: (SourceUnavailable, "sftp-failed"),
    paramiko.sftp.SFTPError: (SourceUnavailable, "sftp-failed"),
    EOFError: (SourceUnavailable, "sftp-connection-lost"),
    OSError: (SourceUnavailable, "drop-unavailable"),
}
"""Foreign exception class → our error class and code; the nearest class in an exception's MRO wins."""


def _mapped(error: BaseException) -> tuple[type[SourceError], str]:
    return next(FOREIGN_ERRORS[cls] for cls in type(error).__mro__ if cls in FOREIGN_ERRORS)


@contextmanager
def translate_foreign_errors(channel: str, location: str, on_failure: Callable[[], None]) -> Iterator[None]:
    """Turn a foreign error into SourceUnavailable or SourceRejected, after `on_failure` (drop the session)."""
    try:
        yield
    except tuple(FOREIGN_ERRORS) as error:
        kind, code = _mapped(error)
        on_failure()
        log.warning("drop failed channel=%s file=%s code=%s error=%r", channel, location, code, error)
        raise kind(f"drop {channel}: {type(error).__name__}: {error}", location=location, code=code) from error


@dataclass(frozen=True, slots=True)
class _Entry:
    """One directory entry as listed, without following symlinks."""

    name: str
    size: int
    mtime: float
    regular: bool


@dataclass(frozen=True, slots=True)
class _Look:
    """What `waiting()` last saw of a file, and since when it has looked like that."""

    size: int
    mtime: float
    since: float


class _Files(Protocol):
    """The file operations a drop needs; a missing file raises FileNotFoundError."""

    def entries(self, folder: str) -> list[_Entry]: ...

    def read(self, folder: str, name: str) -> bytes: ...

    def exists(self, folder: str, name: str) -> bool: ...

    def move(self, folder: str, name: str, target_folder: str, target_name: str) -> None:
        """Move a file; the caller has checked that the target name is free."""
        ...

    def create(self, folder: str, name: str, data: bytes) -> None:
        """Write a new file; an existing one is an error, never overwritten."""
        ...

    def make_folder(self, folder: str) -> None:
        """Create `folder` and its parents where missing."""
        ...

    def close(self) -> None: ...


class _LocalFiles:
    """`_Files` on the local disk."""

    def entries(self, folder: str) -> list[_Entry]:
        with os.scandir(folder) as listing:
            return [_local_entry(entry) for entry in listing]

    def read(self, folder: str, name: str) -> bytes:
        with open(os.path.join(folder, name), "rb") as file:
            return file.read()

    def exists(self, folder: str, name: str) -> bool:
        return os.path.lexists(os.path.join(folder, name))

    def move(self, folder: str, name: str, target_folder: str, target_name: str) -> None:
        # shutil.move, not os.rename: the archive may sit on another file system than the drop.
        shutil.move(os.path.join(folder, name), os.path.join(target_folder, target_name))

    def create(self, folder: str, name: str, data: bytes) -> None:
        with open(os.path.join(folder, name), "xb") as file:
            file.write(data)

    def make_folder(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)

    def close(self) -> None:
        """Nothing to release."""


def _local_entry(entry: os.DirEntry[str]) -> _Entry:
    status = entry.stat(follow_symlinks=False)
    return _Entry(entry.name, status.st_size, status.st_mtime, stat.S_ISREG(status.st_mode))


class _SftpFiles:
    """`_Files` over one SFTP session, opened on first use and again after `close()`."""

    def __init__(self, config: DropConfig) -> None:
        self._config = config
        self._owner = f"drops.{config.name}"
        self._transport: paramiko.Transport | None = None
        self._client: paramiko.SFTPClient | None = None

    def entries(self, folder: str) -> list[_Entry]:
        return [_sftp_entry(attributes) for attributes in self._sftp().listdir_attr(folder)]

    def read(self, folder: str, name: str) -> bytes:
        buffer = io.BytesIO()
        self._sftp().getfo(posixpath.join(folder, name), buffer)
        return buffer.getvalue()

    def exists(self, folder: str, name: str) -> bool:
        return self._lexists(posixpath.join(folder, name))

    def move(self, folder: str, name: str, target_folder: str, target_name: str) -> None:
        source, target = posixpath.join(folder, name), posixpath.join(target_folder, target_name)
        try:
            self._sftp().posix_rename(source, target)
        except OSError as error:
            # paramiko hides the server's extension list; an unsupported posix-rename@openssh.com comes back as
            # a status without errno (no-such-file and permission-denied carry one), so plain rename is tried.
            if error.errno is not None:
                raise
            self._sftp().rename(source, target)

    def create(self, folder: str, name: str, data: bytes) -> None:
        with self._sftp().open(posixpath.join(folder, name), "wxb") as file:
            file.write(data)

    def make_folder(self, folder: str) -> None:
        if self._lexists(folder):
            return
        parent = posixpath.dirname(folder.rstrip("/"))
        if parent not in ("", "/", folder):
            self.make_folder(parent)
        self._sftp().mkdir(folder)

    def close(self) -> None:
        client, transport = self._client, self._transport
        self._client = self._transport = None
        # Closing a broken session may fail again; it is being thrown away either way.
        with suppress(*FOREIGN_ERRORS):
            if client is not None:
                client.close()
            if transport is not None:
                transport.close()

    def _lexists(self, path: str) -> bool:
        try:
            self._sftp().lstat(path)
        except FileNotFoundError:
            return False
        return True

    def _sftp(self) -> paramiko.SFTPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> paramiko.SFTPClient:
        config = self._config
        assert config.host is not None
        login = self._login()
        self._transport = paramiko.Transport(socket.create_connection((config.host, config.port), CONNECT_TIMEOUT))
        self._transport.start_client(timeout=CONNECT_TIMEOUT)
        _log_host_key(config, self._transport.get_remote_server_key())
        login(self._transport)
        client = paramiko.SFTPClient.from_transport(self._transport)
        if client is None:
            raise paramiko.SSHException("the server opened no SFTP channel")
        client.get_channel().settimeout(IO_TIMEOUT)
        log.info(
            "sftp connected channel=%s host=%s port=%s user=%s",
            config.name,
            config.host,
            config.port,
            config.user,
        )
        return client

    def _login(self) -> Callable[[paramiko.Transport], object]:
        """How to log in, settled before connecting so that a configuration error opens no socket."""
        user = self._config.user
        assert user is not None
        if self._config.key_file is not None:
            key = self._load_key()
            return lambda transport: transport.auth_publickey(user, key)
        password = self._config.password(self._owner) or ""
        return lambda transport: transport.auth_password(user, password)

    def _load_key(self) -> paramiko.PKey:
        """The client key (Ed25519, RSA or ECDSA, unencrypted); an unreadable one is a configuration error."""
        assert self._config.key_file is not None
        try:
            return paramiko.PKey.from_path(self._config.key_file)
        except (OSError, ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as error:
            raise ConfigError(f"cannot use the SSH key: {error}", location=f"{self._owner}.key_file") from None


def _sftp_entry(attributes: paramiko.SFTPAttributes) -> _Entry:
    # A server may leave out any attribute; a file without a mode is not taken for a regular file.
    return _Entry(
        attributes.filename,
        attributes.st_size or 0,
        attributes.st_mtime or 0,
        stat.S_ISREG(attributes.st_mode or 0),
    )


def _log_host_key(config: DropConfig, key: paramiko.PKey) -> None:
    # Trust on every use for now: the key is logged, not pinned. Pinning (a known_hosts entry per drop) is future work.
    log.info(
        "sftp host key accepted unpinned channel=%s host=%s key_type=%s fingerprint=%s",
        config.name,
        config.host,
        key.get_name(),
        key.fingerprint,
    )


def _uid(entry: _Entry) -> str:
    """The file's name with its mtime and size: a supplier who sends `ORDRSP.edi` every day sends a new file
    each time, and the ledger must not take today's for yesterday's."""
    return f"{entry.name}{UID_MARK}{int(entry.mtime)}.{entry.size}"


def file_name_of(key: MessageKey) -> str:
    """The file name inside a drop's message key."""
    return key.uid.rpartition(UID_MARK)[0] or key.uid


class _Drop:
    """What both drops do; `waiting()` lists a new file only on a later call (see "complete" in the module doc)."""

    def __init__(self, config: DropConfig, files: _Files) -> None:
        self.name = config.name
        self._config = config
        self._files = files
        self._looks: dict[str, _Look] = {}
        self._wake = threading.Event()

    def waiting(self) -> list[MessageKey]:
        """The complete files in the drop folder, oldest first (mtime, then name)."""
        path = self._config.path
        with self._translated(path):
            entries = [entry for entry in self._files.entries(path) if self._may_take(entry)]
        now = time.monotonic()
        self._looks = {entry.name: self._look(entry, now) for entry in entries}
        complete = [entry for entry in entries if now - self._looks[entry.name].since >= self._config.stable_seconds]
        complete.sort(key=lambda entry: (entry.mtime, entry.name))
        not_yet = len(entries) - len(complete)
        log.debug("drop listed channel=%s complete=%d not_yet=%d", self.name, len(complete), not_yet)
        return [MessageKey(folder=path, uidvalidity=0, uid=_uid(entry)) for entry in complete]

    def fetch(self, key: MessageKey) -> RawMessage:
        """The file's bytes, left in place."""
        file_name = file_name_of(key)
        with self._translated(file_name):
            try:
                content = self._files.read(key.folder, file_name)
            except FileNotFoundError:
                raise SourceRejected(
                    f"drop {self.name}: the file is no longer in the drop", location=file_name, code="drop-file-gone"
                ) from None
        return RawMessage(key=key, name=file_name, content=content)

    def acknowledge(self, key: MessageKey, disposition: Disposition, reason: str | None) -> None:
        """Move the file to the archive or the quarantine (with its `.error.txt`), under a free name."""
        target = self._config.archive if disposition is Disposition.PROCESSED else self._config.quarantine
        file_name = file_name_of(key)
        with self._translated(file_name):
            if not self._files.exists(key.folder, file_name):
                log.info("drop file already gone channel=%s file=%s", self.name, file_name)
                return
            self._files.make_folder(target)
            name = self._free_name(target, file_name)
            self._files.move(key.folder, file_name, target, name)
            if disposition is Disposition.QUARANTINED:
                self._files.create(target, name + ERROR_SUFFIX, f"{reason or 'no reason given'}\n".encode())
        log.info("drop file moved channel=%s file=%s disposition=%s target=%s", self.name, file_name, disposition, name)

    def wait_for_arrival(self, seconds: float) -> bool:
        """Sleep `seconds` or until `interrupt()`; a drop has no push, so always False."""
        if self._wake.wait(seconds):
            self._wake.clear()
        return False

    def interrupt(self) -> None:
        """End the current (or the next) `wait_for_arrival` early; safe from another thread."""
        self._wake.set()

    def close(self) -> None:
        """Release the session, if any; the next call opens a new one."""
        self._files.close()

    def _may_take(self, entry: _Entry) -> bool:
        name = entry.name
        return (
            entry.regular
            and not name.startswith(".")
            and not name.endswith(ERROR_SUFFIX)
            and not name.endswith(tuple(self._config.temp_suffixes))
        )

    def _look(self, entry: _Entry, now: float) -> _Look:
        previous = self._looks.get(entry.name)
        if previous is not None and (previous.size, previous.mtime) == (entry.size, entry.mtime):
            return previous
        return _Look(entry.size, entry.mtime, since=now)

    def _free_name(self, folder: str, name: str) -> str:
        """`name`, or `stem.N.suffix` with the lowest free N: neither it nor its `.error.txt` exists in `folder`."""
        stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
        candidates = itertools.chain([name], (f"{stem}.{n}{suffix}" for n in itertools.count(1)))
        return next(candidate for candidate in candidates if not self._taken(folder, candidate))

    def _taken(self, folder: str, name: str) -> bool:
        return self._files.exists(folder, name) or self._files.exists(folder, name + ERROR_SUFFIX)

    @contextmanager
    def _translated(self, location: str) -> Iterator[None]:
        with translate_foreign_errors(self.name, location, self._files.close):
            yield


class FolderDrop(_Drop):
    """A drop in a local (or mounted) folder."""

    def __init__(self, config: DropConfig) -> None:
        super().__init__(config, _LocalFiles())


class SftpDrop(_Drop):
    """A drop in a folder on an SFTP server, logged in with `key_file` or the configured password."""

    def __init__(self, config: DropConfig) -> None:
        _check_sftp_settings(config)
        super().__init__(config, _SftpFiles(config))


def _check_sftp_settings(config: DropConfig) -> None:
    owner = f"drops.{config.name}"
    if config.host is None:
        raise ConfigError("an sftp drop needs a host", location=f"{owner}.host")
    if config.user is None:
        raise ConfigError("an sftp drop needs a user", location=f"{owner}.user")
    if config.key_file is None and config.password_env is None and config.password_file is None:
        raise ConfigError("an sftp drop needs key_file, password_env or password_file", location=owner)


_DROPS: dict[str, Callable[[DropConfig], Source]] = {"folder": FolderDrop, "sftp": SftpDrop}


def open_drop(config: DropConfig) -> Source:
    """The drop for `config.kind`."""
    return _DROPS[config.kind](config)
