"""Shared fixtures: a migrated store on SQLite and, when POGUARD_TEST_PG_URL is set, on PostgreSQL too."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from poguard import repository
from poguard.imports import read_po_lines, read_suppliers
from poguard.store import Store, open_store, temporary_schema

pytest_plugins = ["tests.imap_fixtures", "tests.sftp_fixtures", "tests.smtp_fixtures"]

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


@pytest.fixture
def pg_schema_urls() -> Iterator[Callable[[], str]]:
    """Makes URLs of fresh PostgreSQL schemas, dropped afterwards; PostgreSQL is required (make test sets it)."""
    if PG_URL is None:
        pytest.fail("POGUARD_TEST_PG_URL is not set: `make test` and .ci/run point it at the local server")
    with ExitStack() as stack:
        yield lambda: stack.enter_context(temporary_schema(PG_URL, "t"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'poguard.db').as_posix()}"
    else:
        assert PG_URL is not None
        with temporary_schema(PG_URL, "t") as url:
            yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = open_store(db_url)
    yield opened
    opened.dispose()


@pytest.fixture
def loaded(store: Store) -> Store:
    """A store holding the fixture suppliers and POs."""
    with store.transaction() as session:
        repository.upsert_suppliers(session, read_suppliers(FIXTURES / "suppliers.csv"), "test")
        repository.upsert_po_lines(session, read_po_lines(FIXTURES / "pos.csv"), "test")
    return store
