"""The command line contract: options, output formats and exit codes (0 ok, 1 input rejected, 2 usage/config)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from poguard.cli import app
from poguard.store import open_store
from poguard.tables import POLineRow, SupplierRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()


def poguard(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def loaded_db(db_url: str) -> str:
    """A database with the fixture suppliers and POs, imported through the CLI."""
    assert poguard("--db", db_url, "import-suppliers", str(FIXTURES / "suppliers.csv")).exit_code == 0
    assert poguard("--db", db_url, "import-pos", str(FIXTURES / "pos.csv")).exit_code == 0
    return db_url


def _count(db_url: str, table: type) -> int:
    store = open_store(db_url)
    with store.transaction() as session:
        count = session.scalar(select(func.count()).select_from(table))
    store.dispose()
    return count


def test_import_reports_what_changed(db_url: str) -> None:
    """GIVEN an empty database WHEN suppliers are imported twice THEN the first adds 3 and the second changes nothing."""
    first = poguard("--db", db_url, "import-suppliers", str(FIXTURES / "suppliers.csv"))
    second = poguard("--db", db_url, "import-suppliers", str(FIXTURES / "suppliers.csv"))
    assert "3 added, 0 updated, 0 unchanged" in first.stdout
    assert "0 added, 0 updated, 3 unchanged" in second.stdout


def test_bad_csv_row_imports_nothing_and_exits_1(db_url: str, tmp_path: Path) -> None:
    """GIVEN a supplier file whose third row has a bad lead time WHEN imported THEN exit 1 names line and column, and no supplier is stored."""
    path = tmp_path / "suppliers.csv"
    path.write_text(
        "supplier_id,name,emails,edi_ids,lead_time_days\nGLF,Great Lakes,@glf.com,,10\nRHK,Rheintal,@rk.de,,ten\n",
        encoding="utf-8",
    )
    result = poguard("--db", db_url, "import-suppliers", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: column lead_time_days: expected a whole number, got 'ten'" in result.stderr
    assert _count(db_url, SupplierRow) == 0


def test_po_for_unknown_supplier_imports_nothing(db_url: str) -> None:
    """GIVEN no suppliers WHEN POs are imported THEN exit 1 says to import suppliers first and no PO line is stored."""
    result = poguard("--db", db_url, "import-pos", str(FIXTURES / "pos.csv"))
    assert result.exit_code == 1 and "import suppliers first" in result.stderr
    assert _count(db_url, POLineRow) == 0


def test_process_folder_then_exceptions_as_json(loaded_db: str) -> None:
    """GIVEN the fixture POs WHEN the EDIFACT fixtures are processed THEN the JSON lists each planted deviation with every contract field."""
    assert poguard("--db", loaded_db, "process", str(FIXTURES / "edifact")).exit_code == 0
    records = json.loads(poguard("--db", loaded_db, "exceptions", "--format", "json").stdout)
    found = {(r["po_number"], r["line"], r["category"]) for r in records}
    assert {("4500017001", 1, "price_variance"), ("4500017001", 3, "quantity_mismatch"),
            ("4500017002", 1, "date_deviation"), ("4500099999", None, "unmatched")} <= found
    for field in ("po_number", "line", "category", "severity", "status", "expected", "actual", "owner", "due",
                  "supplier_id", "document"):
        assert all(field in r for r in records), field


def test_exceptions_as_csv_has_a_header_and_one_row_each(loaded_db: str) -> None:
    """GIVEN processed fixtures WHEN exceptions are listed as CSV THEN the rows equal the JSON records."""
    poguard("--db", loaded_db, "process", str(FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi"))
    rows = list(csv.DictReader(io.StringIO(poguard("--db", loaded_db, "exceptions", "--format", "csv").stdout)))
    assert [(r["po_number"], r["line"], r["category"]) for r in rows] == [
        ("4500017001", "1", "price_variance"), ("4500017001", "3", "quantity_mismatch")]


def test_unreadable_file_is_named_and_the_others_still_processed(loaded_db: str, tmp_path: Path) -> None:
    """GIVEN a folder with a good confirmation and a text note WHEN processed THEN exit 1 names the note and the good file's exceptions exist."""
    (tmp_path / "a_note.txt").write_text("not an EDI file", encoding="utf-8")
    (tmp_path / "b.edi").write_bytes((FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi").read_bytes())
    result = poguard("--db", loaded_db, "process", str(tmp_path))
    assert result.exit_code == 1
    assert "a_note.txt: rejected: format-unrecognised" in result.stderr
    assert "b.edi: 1 document(s), 2 exception(s)" in result.stdout


def test_missing_file_is_reported_by_name(loaded_db: str, tmp_path: Path) -> None:
    """GIVEN a path that does not exist WHEN processed THEN exit 1 and the name with the reason."""
    result = poguard("--db", loaded_db, "process", str(tmp_path / "nope.edi"))
    assert result.exit_code == 1 and "nope.edi: rejected: cannot read file" in result.stderr


def test_status_all_includes_every_status(loaded_db: str) -> None:
    """GIVEN open exceptions WHEN listed with --status all THEN they are listed too."""
    poguard("--db", loaded_db, "process", str(FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi"))
    assert len(json.loads(poguard("--db", loaded_db, "exceptions", "--status", "all", "--format", "json").stdout)) == 2


def test_bad_config_exits_2_with_file_and_key(tmp_path: Path) -> None:
    """GIVEN a config with a bad tolerance WHEN any command runs THEN exit 2 names the file and the key."""
    config = tmp_path / "poguard.toml"
    config.write_text('[rules.price]\nover_pct = "5%"\n', encoding="utf-8")
    result = poguard("--config", str(config), "exceptions")
    assert result.exit_code == 2
    assert f"rules.price.over_pct: input should be a valid decimal, got '5%' (at {config})" in result.stderr


def test_unknown_option_is_a_usage_error() -> None:
    """GIVEN an unknown format WHEN exceptions are listed THEN exit 2."""
    assert poguard("exceptions", "--format", "xml").exit_code == 2


def test_unusable_database_url_exits_2() -> None:
    """GIVEN a database URL of an unknown dialect WHEN a command runs THEN exit 2 with the reason."""
    result = poguard("--db", "nosuchdb://x", "exceptions")
    assert result.exit_code == 2 and "cannot use database URL" in result.stderr


def test_database_url_from_environment_is_used(tmp_path: Path) -> None:
    """GIVEN POGUARD_DATABASE_URL WHEN suppliers are imported without --db THEN they land in that database."""
    url = f"sqlite:///{(tmp_path / 'env.db').as_posix()}"
    assert poguard("import-suppliers", str(FIXTURES / "suppliers.csv"), env={"POGUARD_DATABASE_URL": url}).exit_code == 0
    assert _count(url, SupplierRow) == 3


def test_init_writes_commented_config_and_creates_the_database(tmp_path: Path) -> None:
    """GIVEN an empty folder WHEN init runs THEN poguard.toml holds every default and poguard.db is migrated; a second init keeps the file."""
    result = poguard("init", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "poguard.toml").read_text(encoding="utf-8") == (FIXTURES / "poguard.example.toml").read_text(encoding="utf-8")
    assert open_store(f"sqlite:///{(tmp_path / 'poguard.db').as_posix()}", migrate=False).is_migrated()
    assert "kept existing" in poguard("init", str(tmp_path)).stdout


def test_demo_shows_price_quantity_and_date_exceptions() -> None:
    """GIVEN the bundled fixtures WHEN the demo runs THEN it prints a price variance, a quantity mismatch and a date deviation, and the workspace."""
    result = poguard("demo")
    assert result.exit_code == 0, result.stderr
    for category in ("price_variance", "quantity_mismatch", "date_deviation"):
        assert category in result.stdout
    assert "workspace: " in result.stdout


def test_pdf_templates_from_the_config_are_used_by_parse(tmp_path: Path) -> None:
    """GIVEN a config naming the PDF template folder WHEN the Rheintal confirmation is parsed THEN the template reads its number (digits only)."""
    config = tmp_path / "poguard.toml"
    config.write_text(f'[parsers]\npdf_templates = ["{(FIXTURES / "pdf_templates").as_posix()}"]\n', encoding="utf-8")
    pdf = str(FIXTURES / "pdf" / "rhk_auftragsbestaetigung_4500017002.pdf")
    generic = json.loads(poguard("parse", "--format", "json", pdf).stdout)[0]
    templated = json.loads(poguard("--config", str(config), "parse", "--format", "json", pdf).stdout)[0]
    assert (generic["number"], templated["number"]) == ("AB-27-0815", "27-0815")
    assert templated["provenance"]["number"]["confidence"] == 0.95


def test_a_bad_pdf_template_is_a_configuration_error(tmp_path: Path) -> None:
    """GIVEN a template with an unknown key WHEN any file is parsed THEN exit 2 names the template file and the key."""
    template = tmp_path / "bad.toml"
    template.write_text('name = "x"\nmatch = "x"\nlayout = "y"\n', encoding="utf-8")
    config = tmp_path / "poguard.toml"
    config.write_text(f'[parsers]\npdf_templates = ["{template.as_posix()}"]\n', encoding="utf-8")
    result = poguard("--config", str(config), "parse", str(FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi"))
    assert result.exit_code == 2 and "bad.toml" in result.stderr and "layout" in result.stderr


def test_each_exception_says_how_its_line_was_matched(loaded_db: str) -> None:
    """GIVEN processed confirmations WHEN exceptions are listed as JSON THEN a line exception carries its match score and
    evidence, and an unknown PO says nothing was matched."""
    poguard("--db", loaded_db, "process", str(FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi"),
            str(FIXTURES / "edifact" / "ordrsp_glf_unknown_po.edi"))
    records = {(r["po_number"], r["line"]): r for r in json.loads(poguard("--db", loaded_db, "exceptions", "--format", "json").stdout)}
    assert records[("4500017001", 1)]["match"] == (
        "1.00: PO line reference 1; buyer item FAS-M8-40; supplier item GLF-HX-840; description 100% similar; "
        "line number 1 = PO line 1")
    assert records[("4500099999", None)]["match"] is None


def test_documents_lists_what_arrived_and_held_shows_only_unverified_senders(loaded_db: str, tmp_path: Path) -> None:
    """GIVEN GLF's confirmation and a look-alike's invoice WHEN documents are listed THEN both show with their trust,
    and --held shows only the look-alike's, with the reason."""
    poguard("--db", loaded_db, "process", str(FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi"),
            str(FIXTURES / "email" / "lookalike_invoice_4500017001.eml"))
    listed = json.loads(poguard("--db", loaded_db, "documents", "--format", "json").stdout)
    assert sorted((d["kind"], d["trust"]) for d in listed) == [("acknowledgment", "verified"), ("invoice", "unverified")]
    held = json.loads(poguard("--db", loaded_db, "documents", "--held", "--format", "json").stdout)
    assert [(d["file"], d["sender"]) for d in held] == [("lookalike_invoice_4500017001.eml", "billing@glfastener-billing.com")]
    assert "looks like glfastener.com" in held[0]["trust_reason"]
    assert "lookalike_invoice_4500017001.eml" in poguard("--db", loaded_db, "documents", "--held").stdout
