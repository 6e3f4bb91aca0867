"""EDI drops: a folder and a real SFTP server (asyncssh, in process) behave alike; SFTP adds login and reconnect."""

from __future__ import annotations

import inspect
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.ssh_exception import NoValidConnectionsError

import ingest.drops
from ingest.base import Disposition, MessageKey, Source
from ingest.drops import FOREIGN_ERRORS, FolderDrop, SftpDrop, file_name_of, open_drop, translate_foreign_errors
from poguard.config import DropConfig
from poguard.errors import ConfigError, SourceError, SourceRejected, SourceUnavailable
from tests.sftp_server import SftpServer

STABLE = 0.2


@dataclass
class DropSite:
    """A drop of one kind and the local folder its files live in, to put files and look at the results."""

    kind: str
    root: Path
    settings: dict[str, Any]
    opened: list[Source] = field(default_factory=list)

    def drop(self, **changes: Any) -> Source:
        opened = open_drop(DropConfig(**{**self.settings, **changes}))
        self.opened.append(opened)
        return opened

    def put(self, name: str, content: bytes = b"UNA:+.? 'UNB+UNOC:3'", mtime: int | None = None) -> Path:
        path = self.root / "inbox" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def names(self, folder: str) -> list[str]:
        return sorted(path.name for path in (self.root / folder).iterdir())

    def key(self, name: str) -> MessageKey:
        """The key the drop gives the file now in the inbox: its name with its mtime and size."""
        stat = (self.root / "inbox" / name).stat()
        return MessageKey(folder=self.settings["path"], uidvalidity=0, uid=f"{name}@{int(stat.st_mtime)}.{stat.st_size}")


def _sftp_settings(server: SftpServer, tmp_path: Path) -> dict[str, Any]:
    password_file = tmp_path / "sftp-password"
    password_file.write_text(server.password + "\n", encoding="utf-8")
    return {
        "name": "acme-sftp",
        "kind": "sftp",
        "path": "/inbox",
        "archive": "/processed",
        "quarantine": "/quarantine",
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password_file": password_file,
        "stable_seconds": 0,
    }


def _folder_settings(root: Path) -> dict[str, Any]:
    return {
        "name": "acme-folder",
        "kind": "folder",
        "path": str(root / "inbox"),
        "archive": str(root / "processed"),
        "quarantine": str(root / "quarantine"),
        "stable_seconds": 0,
    }


@pytest.fixture(params=["folder", "sftp"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DropSite]:
    """An empty drop of each kind with `inbox/` made; archive and quarantine folders do not exist yet."""
    if request.param == "sftp":
        server: SftpServer = request.getfixturevalue("sftp_server")
        made = DropSite("sftp", server.root, _sftp_settings(server, tmp_path))
    else:
        made = DropSite("folder", tmp_path / "drop", _folder_settings(tmp_path / "drop"))
    (made.root / "inbox").mkdir(parents=True)
    yield made
    for opened in made.opened:
        opened.close()


@pytest.fixture
def sftp_site(sftp_server: SftpServer, tmp_path: Path) -> Iterator[DropSite]:
    """An empty SFTP drop, for what only SFTP does."""
    made = DropSite("sftp", sftp_server.root, _sftp_settings(sftp_server, tmp_path))
    (made.root / "inbox").mkdir()
    yield made
    for opened in made.opened:
        opened.close()


def test_open_drop_chooses_the_drop_by_kind(site: DropSite) -> None:
    """GIVEN a drop setting of each kind WHEN opened THEN the folder or the SFTP drop is made, named as configured."""
    drop = site.drop()
    assert isinstance(drop, {"folder": FolderDrop, "sftp": SftpDrop}[site.kind])
    assert drop.name == site.settings["name"]


def test_a_complete_file_is_listed_with_its_name_as_uid(site: DropSite) -> None:
    """GIVEN a file in the drop and stable_seconds 0 WHEN listing THEN it is waiting under its name (with mtime and size) at once."""
    site.put("ordrsp_4711.edi")
    (key,) = site.drop().waiting()
    assert key == site.key("ordrsp_4711.edi") and file_name_of(key) == "ordrsp_4711.edi"


def test_a_file_name_used_again_is_a_new_key(site: DropSite) -> None:
    """GIVEN yesterday's ORDRSP.edi archived WHEN the supplier drops a new ORDRSP.edi THEN it has a key of its own, so the ledger takes it."""
    drop = site.drop()
    site.put("ORDRSP.edi", b"UNA:+.? 'UNB+UNOC:3+yesterday'", mtime=1_700_000_000)
    (yesterday,) = drop.waiting()
    drop.acknowledge(yesterday, Disposition.PROCESSED, None)
    site.put("ORDRSP.edi", b"UNA:+.? 'UNB+UNOC:3+today, a longer one'", mtime=1_700_086_400)
    (today,) = drop.waiting()
    assert today != yesterday and file_name_of(today) == file_name_of(yesterday)


def test_a_new_file_is_listed_on_a_later_look_once_stable_seconds_passed(site: DropSite) -> None:
    """GIVEN a new file WHEN listing, then again after stable_seconds THEN only the second look lists it."""
    drop = site.drop(stable_seconds=STABLE)
    site.put("ordrsp_4711.edi")
    assert drop.waiting() == []
    time.sleep(STABLE + 0.05)
    assert drop.waiting() == [site.key("ordrsp_4711.edi")]


def test_a_file_with_a_temp_suffix_is_never_listed(site: DropSite) -> None:
    """GIVEN an upload still under its temp name WHEN listing twice THEN it is not waiting."""
    site.put("ordrsp_4711.edi.part")
    drop = site.drop()
    assert drop.waiting() == []
    assert drop.waiting() == []


def test_a_growing_file_is_listed_only_once_its_size_was_stable_for_stable_seconds(site: DropSite) -> None:
    """GIVEN a file that grows between two looks WHEN listing THEN it waits for a look stable_seconds after growing."""
    drop = site.drop(stable_seconds=STABLE)
    path = site.put("invoice_88.edi", b"UNB+UNOC:3")
    drop.waiting()
    time.sleep(STABLE + 0.05)
    with path.open("ab") as file:
        file.write(b"+more segments'")
    assert drop.waiting() == []
    time.sleep(STABLE + 0.05)
    assert drop.waiting() == [site.key("invoice_88.edi")]


def test_files_are_listed_oldest_first_then_by_name(site: DropSite) -> None:
    """GIVEN files with different and equal mtimes WHEN listing THEN the oldest come first, ties by name."""
    site.put("b.edi", mtime=1_700_000_200)
    site.put("c.edi", mtime=1_700_000_100)
    site.put("a.edi", mtime=1_700_000_200)
    assert [file_name_of(key) for key in site.drop().waiting()] == ["c.edi", "a.edi", "b.edi"]


def test_dot_files_error_files_and_subfolders_are_ignored(site: DropSite) -> None:
    """GIVEN a dot-file, an .error.txt and a subfolder beside an order WHEN listing THEN only the order waits."""
    site.put(".ordrsp_4711.edi")
    site.put("old.edi.error.txt")
    site.put("nested/ordrsp_9.edi")
    site.put("ordrsp_4711.edi")
    assert site.drop().waiting() == [site.key("ordrsp_4711.edi")]


def test_fetch_returns_the_bytes_and_the_file_name(site: DropSite) -> None:
    """GIVEN a waiting file WHEN fetched THEN its bytes come back with its name and no sender, and it stays put."""
    site.put("ordrsp_4711.edi", b"UNH+1+ORDRSP:D:96A:UN'")
    drop = site.drop()
    [key] = drop.waiting()
    raw = drop.fetch(key)
    assert (raw.key, raw.name, raw.content, raw.sender, raw.message_id) == (
        key,
        "ordrsp_4711.edi",
        b"UNH+1+ORDRSP:D:96A:UN'",
        None,
        None,
    )
    assert site.names("inbox") == ["ordrsp_4711.edi"]


def test_fetching_a_file_that_is_gone_is_rejected_as_drop_file_gone(site: DropSite) -> None:
    """GIVEN a listed file removed before fetching WHEN fetched THEN SourceRejected drop-file-gone."""
    path = site.put("ordrsp_4711.edi")
    drop = site.drop()
    [key] = drop.waiting()
    path.unlink()
    with pytest.raises(SourceRejected) as caught:
        drop.fetch(key)
    assert caught.value.code == "drop-file-gone"


def test_acknowledging_processed_moves_the_file_into_a_new_archive_folder(site: DropSite) -> None:
    """GIVEN a waiting file and no archive folder WHEN acknowledged processed THEN the archive is made and holds it."""
    site.put("ordrsp_4711.edi", b"payload")
    drop = site.drop()
    [key] = drop.waiting()
    drop.acknowledge(key, Disposition.PROCESSED, None)
    assert site.names("inbox") == []
    assert site.names("processed") == ["ordrsp_4711.edi"]
    assert (site.root / "processed" / "ordrsp_4711.edi").read_bytes() == b"payload"


def test_acknowledging_quarantined_moves_the_file_and_writes_the_reason_beside_it(site: DropSite) -> None:
    """GIVEN a waiting file WHEN quarantined with a reason THEN it moves and its .error.txt holds the reason."""
    site.put("ordrsp_4711.edi")
    drop = site.drop()
    [key] = drop.waiting()
    drop.acknowledge(key, Disposition.QUARANTINED, "parse-failed: UNT count 12, 11 segments (at segment 12)")
    assert site.names("quarantine") == ["ordrsp_4711.edi", "ordrsp_4711.edi.error.txt"]
    error_text = (site.root / "quarantine" / "ordrsp_4711.edi.error.txt").read_text(encoding="utf-8")
    assert error_text == "parse-failed: UNT count 12, 11 segments (at segment 12)\n"


def test_acknowledging_twice_is_safe(site: DropSite) -> None:
    """GIVEN a file acknowledged once WHEN acknowledged again THEN nothing fails and the archive holds one file."""
    site.put("ordrsp_4711.edi")
    drop = site.drop()
    [key] = drop.waiting()
    drop.acknowledge(key, Disposition.PROCESSED, None)
    drop.acknowledge(key, Disposition.PROCESSED, None)
    assert site.names("processed") == ["ordrsp_4711.edi"]


def test_a_name_clash_in_the_archive_never_overwrites(site: DropSite) -> None:
    """GIVEN the archive holds files of that name WHEN acknowledged THEN all are kept, the new one under a suffix."""
    (site.root / "processed").mkdir()
    (site.root / "processed" / "ordrsp.edi").write_bytes(b"monday")
    (site.root / "processed" / "ordrsp.1.edi").write_bytes(b"tuesday")
    site.put("ordrsp.edi", b"wednesday")
    drop = site.drop()
    [key] = drop.waiting()
    drop.acknowledge(key, Disposition.PROCESSED, None)
    archive = site.root / "processed"
    assert {name: (archive / name).read_bytes() for name in site.names("processed")} == {
        "ordrsp.edi": b"monday",
        "ordrsp.1.edi": b"tuesday",
        "ordrsp.2.edi": b"wednesday",
    }


def test_a_name_clash_in_the_quarantine_keeps_each_file_with_its_own_reason(site: DropSite) -> None:
    """GIVEN a quarantined file of the same name WHEN another is quarantined THEN each keeps its own .error.txt."""
    site.put("ordrsp.edi")
    drop = site.drop()
    drop.acknowledge(site.key("ordrsp.edi"), Disposition.QUARANTINED, "first")
    site.put("ordrsp.edi")
    drop.acknowledge(site.key("ordrsp.edi"), Disposition.QUARANTINED, "second")
    quarantine = site.root / "quarantine"
    assert (quarantine / "ordrsp.edi.error.txt").read_text(encoding="utf-8") == "first\n"
    assert (quarantine / "ordrsp.1.edi.error.txt").read_text(encoding="utf-8") == "second\n"


def test_a_missing_drop_folder_is_unavailable(site: DropSite) -> None:
    """GIVEN a drop whose folder does not exist WHEN listing THEN SourceUnavailable, not an OSError."""
    with pytest.raises(SourceUnavailable):
        site.drop(path=site.settings["path"] + "-missing").waiting()


def test_wait_for_arrival_sleeps_and_returns_false(tmp_path: Path) -> None:
    """GIVEN a drop WHEN waiting 0.1 s THEN it returns False after about that long."""
    drop = FolderDrop(DropConfig(**_folder_settings(tmp_path)))
    started = time.monotonic()
    assert drop.wait_for_arrival(0.1) is False
    assert time.monotonic() - started >= 0.1


def test_interrupt_ends_wait_for_arrival_early(tmp_path: Path) -> None:
    """GIVEN a drop waiting 30 s in another thread WHEN interrupted THEN the wait ends at once."""
    drop = FolderDrop(DropConfig(**_folder_settings(tmp_path)))
    waiter = threading.Thread(target=drop.wait_for_arrival, args=(30,))
    waiter.start()
    time.sleep(0.05)
    drop.interrupt()
    waiter.join(2)
    assert not waiter.is_alive()


def test_a_wrong_password_is_rejected_as_sftp_login_failed(sftp_site: DropSite, tmp_path: Path) -> None:
    """GIVEN an SFTP drop with a wrong password WHEN listing THEN sftp-login-failed, the password not shown."""
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n", encoding="utf-8")
    with pytest.raises(SourceRejected) as caught:
        sftp_site.drop(password_file=wrong).waiting()
    assert caught.value.code == "sftp-login-failed"
    assert "not-the-password" not in str(caught.value)


@pytest.mark.parametrize("algorithm", ["ssh-ed25519", "ssh-rsa"])
def test_key_auth_works(sftp_site: DropSite, sftp_server: SftpServer, tmp_path: Path, algorithm: str) -> None:
    """GIVEN an SFTP drop with an authorized key file and no password WHEN listing THEN it logs in and lists."""
    key_file = sftp_server.new_client_key(tmp_path, algorithm)
    sftp_site.put("ordrsp_4711.edi")
    drop = sftp_site.drop(key_file=key_file, password_file=None)
    assert drop.waiting() == [sftp_site.key("ordrsp_4711.edi")]


def test_an_unreadable_key_file_is_a_config_error(sftp_site: DropSite, tmp_path: Path) -> None:
    """GIVEN an SFTP drop whose key file is not a key WHEN listing THEN ConfigError naming the setting."""
    key_file = tmp_path / "not-a-key"
    key_file.write_text("hello", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        sftp_site.drop(key_file=key_file).waiting()
    assert caught.value.location == "drops.acme-sftp.key_file"


def test_an_sftp_drop_without_host_is_a_config_error(tmp_path: Path) -> None:
    """GIVEN an SFTP drop setting without host WHEN opened THEN ConfigError at drops.NAME.host."""
    settings = {**_folder_settings(tmp_path), "kind": "sftp", "user": "u", "password_env": "X"}
    with pytest.raises(ConfigError) as caught:
        open_drop(DropConfig(**settings))
    assert caught.value.location == "drops.acme-folder.host"


def test_a_server_without_posix_rename_still_gets_the_file_archived(
    sftp_site: DropSite, sftp_server: SftpServer
) -> None:
    """GIVEN an SFTP server that refuses posix-rename WHEN a file is acknowledged THEN plain rename archives it."""
    sftp_server.posix_rename = False
    sftp_site.put("ordrsp_4711.edi")
    drop = sftp_site.drop()
    drop.acknowledge(sftp_site.key("ordrsp_4711.edi"), Disposition.PROCESSED, None)
    assert sftp_site.names("processed") == ["ordrsp_4711.edi"]


def test_a_stopped_server_is_unavailable_and_the_same_drop_reconnects_after_a_restart(
    sftp_site: DropSite, sftp_server: SftpServer
) -> None:
    """GIVEN a connected SFTP drop WHEN the server stops, then restarts THEN SourceUnavailable, then it works again."""
    sftp_site.put("ordrsp_4711.edi")
    drop = sftp_site.drop()
    assert drop.waiting() == [sftp_site.key("ordrsp_4711.edi")]
    sftp_server.stop()
    with pytest.raises(SourceUnavailable):
        drop.waiting()
    with pytest.raises(SourceUnavailable):
        drop.fetch(sftp_site.key("ordrsp_4711.edi"))
    sftp_server.start()
    assert drop.fetch(sftp_site.key("ordrsp_4711.edi")).content == b"UNA:+.? 'UNB+UNOC:3'"


def _foreign_exception_classes() -> list[type[BaseException]]:
    """Every exception class paramiko declares, plus the socket and file errors a drop can meet."""
    declared = [
        cls
        for module in (paramiko.ssh_exception, paramiko.sftp)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__.startswith("paramiko")
    ]
    return declared + [OSError, EOFError, socket.timeout, socket.gaierror, ConnectionError, PermissionError]


@pytest.mark.parametrize("foreign", _foreign_exception_classes(), ids=lambda cls: cls.__name__)
def test_every_foreign_exception_class_is_mapped(foreign: type[BaseException]) -> None:
    """GIVEN a paramiko, socket or file exception class THEN FOREIGN_ERRORS maps it or a base to a SourceError."""
    mapped = [FOREIGN_ERRORS[cls] for cls in foreign.__mro__ if cls in FOREIGN_ERRORS]
    assert mapped and issubclass(mapped[0][0], SourceError)


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (paramiko.AuthenticationException("Authentication failed."), SourceRejected, "sftp-login-failed"),
        (paramiko.BadAuthenticationType("Bad authentication type", ["publickey"]), SourceRejected, "sftp-login-failed"),
        (paramiko.SSHException("Error reading SSH protocol banner"), SourceUnavailable, "sftp-failed"),
        (paramiko.ChannelException(2, "Connect failed"), SourceUnavailable, "sftp-failed"),
        (paramiko.sftp.SFTPError("Garbage packet received"), SourceUnavailable, "sftp-failed"),
        (EOFError(), SourceUnavailable, "sftp-connection-lost"),
        (TimeoutError("timed out"), SourceUnavailable, "drop-unavailable"),
        (ConnectionRefusedError(111, "Connection refused"), SourceUnavailable, "drop-unavailable"),
        (NoValidConnectionsError({("10.0.0.1", 22): OSError()}), SourceUnavailable, "drop-unavailable"),
        (PermissionError(13, "Permission denied"), SourceUnavailable, "drop-unavailable"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_foreign_errors_become_source_errors_and_drop_the_session(
    error: BaseException, expected: type[SourceError], code: str
) -> None:
    """GIVEN a foreign error in an operation WHEN translated THEN our error and code, cause kept, session dropped."""
    dropped: list[bool] = []
    with (
        pytest.raises(SourceError) as caught,
        translate_foreign_errors("acme", "ordrsp.edi", lambda: dropped.append(True)),
    ):
        raise error
    assert (type(caught.value), caught.value.code, caught.value.__cause__, dropped) == (expected, code, error, [True])


def test_our_own_errors_pass_through_untouched() -> None:
    """GIVEN a SourceRejected inside an operation WHEN translated THEN it passes unchanged and the session is kept."""
    dropped: list[bool] = []
    rejected = SourceRejected("gone", code="drop-file-gone")
    with (
        pytest.raises(SourceRejected) as caught,
        translate_foreign_errors("acme", "ordrsp.edi", lambda: dropped.append(True)),
    ):
        raise rejected
    assert (caught.value, dropped) == (rejected, [])


def test_all_names_exported_exist() -> None:
    """GIVEN ingest.drops.__all__ THEN every name in it is defined in the module."""
    assert [name for name in ingest.drops.__all__ if not hasattr(ingest.drops, name)] == []
