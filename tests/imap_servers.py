"""Real IMAP servers on loopback for the tests: pymap in process, or a private Dovecot.

Both are started on a free port, can be stopped and started again on the same port (to stage an
outage), and offer the same helpers to seed and inspect folders over a second IMAP connection.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from argparse import Namespace
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TypeVar

from imapclient import IMAPClient
from proxyprotocol.reader import ProxyProtocolReader
from proxyprotocol.sock import SocketInfo
from pymap.backend.dict import Config as DictConfig
from pymap.backend.dict import DictBackend
from pymap.imap import IMAPServer
from pysasl.hashing import Cleartext

__all__ = ["DOVECOT", "DovecotServer", "ImapTestServer", "MessageBuilder", "PymapServer", "free_port", "self_signed_cert"]

T = TypeVar("T")

DOVECOT = Path("/usr/sbin/dovecot")
HOST = "127.0.0.1"
USER = "tester"
PASSWORD = "secret"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float = 10.0) -> bool:
    """True once something accepts connections on `port`, False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for CN=localhost, made with openssl."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@dataclass
class MessageBuilder:
    """Real RFC 822 bytes for a supplier mail: headers, a text body and optional attachments."""

    sender: str = "Orders <orders@supplier.example>"
    to: str = "purchasing@buyer.example"
    subject: str | None = "Order confirmation PO-1001"
    body: str = "We confirm your order PO-1001."
    message_id: str = field(default_factory=lambda: make_msgid(domain="supplier.example"))
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)

    def attach(self, filename: str, content_type: str, content: bytes) -> MessageBuilder:
        """Add an attachment (`content_type` as "type/subtype")."""
        self.attachments.append((filename, content_type, content))
        return self

    def build(self) -> bytes:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.to
        if self.subject is not None:
            message["Subject"] = self.subject
        message["Date"] = format_datetime(datetime.now(timezone.utc))
        message["Message-ID"] = self.message_id
        message.set_content(self.body)
        for filename, content_type, content in self.attachments:
            maintype, subtype = content_type.split("/", 1)
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
        return message.as_bytes()


class ImapTestServer(ABC):
    """What every test server offers: where it listens, who may log in, and helpers over a second connection."""

    host = HOST
    user = USER
    password = PASSWORD
    port: int
    tls_port: int | None = None
    delimiter: str

    @abstractmethod
    def start(self) -> None:
        """Listen on `port` (the same one after a `stop()`)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop listening and drop open connections, as an outage would; mail is kept."""

    def close(self) -> None:
        """Stop for good and remove what the server left behind."""
        self.stop()

    def client(self) -> IMAPClient:
        """A logged-in plain connection; the caller logs out."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def folder(self, name: str) -> str:
        """`name` with "/" as the hierarchy separator, in this server's own spelling."""
        return name.replace("/", self.delimiter)

    def append(self, folder: str, raw: bytes) -> int:
        """Store `raw` in `folder` (created when missing); its UID."""
        with self._session() as client:
            if not client.folder_exists(self.folder(folder)):
                client.create_folder(self.folder(folder))
            client.select_folder(self.folder(folder))
            before = set(client.search(["ALL"]))
            client.append(self.folder(folder), raw)
            return max(set(client.search(["ALL"])) - before)

    def uids(self, folder: str) -> list[int]:
        """The UIDs in `folder`, ascending; empty when the folder does not exist."""
        return sorted(self.flags(folder))

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        """The flags of every message in `folder`, by UID."""
        with self._session() as client:
            if not client.folder_exists(self.folder(folder)):
                return {}
            return {uid: data[b"FLAGS"] for uid, data in self._fetch_all(client, folder, "FLAGS").items()}

    def messages(self, folder: str) -> list[bytes]:
        """The full bytes of every message in `folder`, oldest first."""
        with self._session() as client:
            if not client.folder_exists(self.folder(folder)):
                return []
            fetched = self._fetch_all(client, folder, "BODY.PEEK[]")
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def _fetch_all(self, client: IMAPClient, folder: str, item: str) -> dict[int, dict[bytes, object]]:
        client.select_folder(self.folder(folder), readonly=True)
        uids = client.search(["ALL"])
        return client.fetch(uids, [item]) if uids else {}

    def delete_folder(self, folder: str) -> None:
        with self._session() as client:
            client.delete_folder(self.folder(folder))

    @contextmanager
    def _session(self) -> Iterator[IMAPClient]:
        client = self.client()
        try:
            yield client
        finally:
            client.logout()


class PymapServer(ImapTestServer):
    """pymap's in-memory dict backend on its own event loop thread.

    The backend (and so every folder and message) lives as long as this object; `stop()` closes only the
    listener and aborts open connections, so `start()` on the same port finds the mail where it was.
    """

    delimiter = "/"

    def __init__(self) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pymap", daemon=True)
        self._thread.start()
        self._backend, self._config = self._call(self._init_backend())
        self._listener: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coroutine: Coroutine[object, object, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _init_backend(self) -> tuple[DictBackend, DictConfig]:
        args = Namespace(
            host=[HOST], port=str(self.port), debug=False, cert=None, key=None, tls=False, inherited_sockets=None,
            proxy_protocol=None, demo_data=False, demo_user=USER, demo_password=PASSWORD, skip_services=[],
            passlib_cfg=None,
        )
        backend, config = await DictBackend.init(args, hash_context=Cleartext())  # no 0.1 s hash per login
        config.apply_context()
        return backend, config

    def start(self) -> None:
        self._call(self._listen())

    async def _listen(self) -> None:
        imap_server = IMAPServer(self._backend.login, self._config)

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sock_info: SocketInfo) -> None:
            self._writers.add(writer)
            try:
                await imap_server(reader, writer, sock_info)
            finally:
                self._writers.discard(writer)

        handler = ProxyProtocolReader(self._config.proxy_protocol).get_callback(tracked)
        self._listener = await asyncio.start_server(handler, host=HOST, port=self.port)

    def stop(self) -> None:
        self._call(self._unlisten())

    async def _unlisten(self) -> None:
        if self._listener is None:
            return
        listener, self._listener = self._listener, None
        listener.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await listener.wait_closed()

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


DOVECOT_CONF = """\
instance_name = poguard-test-{port}
base_dir = {root}/run
state_dir = {root}/state
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = {root}/dovecot.log
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"""


class DovecotServer(ImapTestServer):
    """A private Dovecot (RECIPES.md section 1) with plain/STARTTLS and IMAPS listeners and a maildir that
    survives `stop()`/`start()`. Needs root and /usr/sbin/dovecot."""

    delimiter = "."

    def __init__(self, cert: Path, key: Path, settings: str = "") -> None:
        """`settings`: extra dovecot.conf lines, e.g. `imap_capability = IMAP4rev1 IDLE` to hide MOVE."""
        self.port, self.tls_port = free_port(), free_port()
        self.root = Path(tempfile.mkdtemp(prefix="poguard-dovecot-"))
        self.root.chmod(0o755)
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        shutil.chown(self.root / "mail", "nobody", "nogroup")
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.conf = self.root / "dovecot.conf"
        conf = DOVECOT_CONF.format(root=self.root, port=self.port, tls_port=self.tls_port, cert=cert, key=key)
        self.conf.write_text(conf + settings + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._process.stderr.read().decode()} {self.log_tail()}")
            if wait_for_port(self.port, 0.1) and wait_for_port(self.tls_port, 0.1):
                return
        raise RuntimeError(f"dovecot did not listen on {self.port} within 10 s: {self.log_tail()}")

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        # The whole group at once: imap processes outlive a stopped master, and an outage drops connections.
        # SIGTERM makes the master wait up to 6 s for its children; Maildir is safe against SIGKILL.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stderr.close()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        log = self.root / "dovecot.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-10:]) if log.exists() else ""
