"""The store: the database behind poguard (SQLite embedded, PostgreSQL in production).

Only this module and `poguard.pipeline` open sessions; stages never see the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import uuid
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from poguard.errors import ConfigError

__all__ = ["Store", "open_store", "temporary_schema"]

MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, and every transaction takes the write lock when it begins (BEGIN IMMEDIATE).

    SQLite has no SELECT ... FOR UPDATE: without the early lock, two threads could both claim the same waiting
    arrival, or one would fail on a stale snapshot. With it, transactions simply queue (busy_timeout).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite must not issue its own BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """An engine with its session factory, migrated to the current schema."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed together, or not at all."""
        with self._sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        config = _alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def is_migrated(self) -> bool:
        return inspect(self.engine).has_table("alembic_version")

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Connect to `url` and bring its schema up to date; a bad URL or an unreachable server is a ConfigError."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError, ValueError) as error:
        raise ConfigError(f"cannot use database URL {url!r}: {error}", location="database.url") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    store = Store(engine)
    if migrate:
        try:
            store.migrate()
        except OperationalError as error:
            raise ConfigError(
                f"cannot open database {engine.url.render_as_string(hide_password=True)}: {error.orig}",
                location="database.url",
            ) from None
    return store


@contextmanager
def temporary_schema(server_url: str, prefix: str = "tmp") -> Iterator[str]:
    """A PostgreSQL URL whose connections live in a fresh schema of their own, dropped afterwards (tests, benchmarks)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
