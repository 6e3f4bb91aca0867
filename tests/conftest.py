"""Shared fixtures: a migrated store on SQLite and, when POGUARD_TEST_PG_URL is set, on PostgreSQL too."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from poguard.store import Store, open_store

pytest_plugins = ["tests.imap_fixtures", "tests.sftp_fixtures"]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus"

PG_URL = os.environ.get("POGUARD_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No POGUARD_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("POGUARD_") and name not in ("POGUARD_TEST_PG_URL", "POGUARD_REGEN_GOLDEN"):
            monkeypatch.delenv(name)


def _postgres_schema_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema of their own, dropped afterwards."""
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_schema_urls() -> Iterator[Callable[[], str]]:
    """Makes URLs of fresh PostgreSQL schemas, dropped afterwards; PostgreSQL is required (make test sets it)."""
    if PG_URL is None:
        pytest.fail("POGUARD_TEST_PG_URL is not set: `make test` and .ci/run point it at the local server")
    made: list[Iterator[str]] = []

    def make() -> str:
        schema = _postgres_schema_url()
        made.append(schema)
        return next(schema)

    yield make
    for schema in made:
        next(schema, None)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'poguard.db').as_posix()}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = open_store(db_url)
    yield opened
    opened.dispose()
