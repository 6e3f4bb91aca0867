"""Line tables that suppliers send as CSV or XLSX, read into one `ParsedDocument` per PO number.

Vocabulary
- *header row*: the first row (of the first ten) in which at least two cells name a known column, in
  English, German, French or Spanish ("Qty", "Menge", "Quantité", "Cantidad").
- *column*: one of po, line, item, supplier_item, description, quantity, uom, unit_price, currency,
  delivery_date.

A table says nothing of its purpose, so its documents are of kind `unknown`; the mail that carries the
table may say more (see `parsers/email_message.py`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from parsers.numbers import parse_decimal, parse_numeric_date
from poguard.domain import DocumentKind, ParsedDocument, ParsedLine, Problem, Provenance
from poguard.errors import ParseError

__all__ = ["SpreadsheetParser"]

NAME = "spreadsheet"
HEADER_SEARCH_ROWS = 10
XLSX_SCORE = 0.9
CSV_SCORE = 0.7
SNIFF_PREFIX_BYTES = 4096

_COLUMNS: dict[str, tuple[str, ...]] = {
    "po": ("po", "po number", "po no", "purchase order", "order", "order number", "bestellung", "bestellnummer",
           "bestell nr", "commande", "no commande", "numero de commande", "bon de commande", "pedido",
           "numero de pedido", "orden de compra"),
    "line": ("line", "line no", "pos", "position", "ligne", "no ligne", "linea", "posicion"),
    "item": ("item", "item no", "part", "part number", "material", "artikel", "artikelnummer", "article",
             "reference", "articulo", "referencia", "sku"),
    "supplier_item": ("supplier item", "supplier part", "vendor item", "supplier part number",
                      "lieferantenartikel", "lieferantenartikelnummer", "reference fournisseur", "ref fournisseur",
                      "referencia proveedor", "articulo proveedor"),
    "description": ("description", "beschreibung", "bezeichnung", "designation", "libelle", "descripcion"),
    "quantity": ("qty", "quantity", "menge", "anzahl", "quantite", "qte", "cantidad"),
    "uom": ("uom", "unit", "unit of measure", "einheit", "me", "unite", "unidad"),
    "unit_price": ("unit price", "price", "preis", "einzelpreis", "prix unitaire", "prix", "precio",
                   "precio unitario"),
    "currency": ("currency", "curr", "wahrung", "waehrung", "devise", "monnaie", "moneda", "divisa"),
    "delivery_date": ("delivery date", "date", "ship date", "delivery", "liefertermin", "lieferdatum",
                      "date de livraison", "date livraison", "fecha de entrega", "fecha entrega", "fecha"),
}
_ALIASES = {alias: column for column, aliases in _COLUMNS.items() for alias in aliases}
_TEXT_COLUMNS = ("po", "line", "item", "supplier_item", "description", "uom", "currency")

Cell = str | int | float | Decimal | date | datetime | None


def _header_key(cell: Cell) -> str:
    text = unicodedata.normalize("NFKD", str(cell or "")).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", text)).strip()


def _columns(row: Sequence[Cell]) -> dict[str, int]:
    """Which column sits at which index, for the cells of `row` that name one."""
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        column = _ALIASES.get(_header_key(cell))
        if column is not None and column not in found:
            found[column] = index
    return found


def _find_header(rows: Sequence[Sequence[Cell]]) -> tuple[int, dict[str, int]] | None:
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = _columns(row)
        if len(columns) >= 2 and columns.keys() & {"quantity", "item", "supplier_item", "description", "line"}:
            return number, columns
    return None


def _is_xlsx(raw: bytes) -> bool:
    if not raw.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return any(name.startswith("xl/") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", ";", "\t", "|"), key=first.count)


def _csv_rows(raw: bytes) -> list[list[Cell]]:
    text = _decode(raw)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=_delimiter(text))]


def _xlsx_rows(raw: bytes) -> list[list[Cell]]:
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ParseError(f"the workbook cannot be opened: {error}", code="spreadsheet-unreadable") from error
    try:
        for sheet in workbook.worksheets:
            rows = [list(row) for row in sheet.iter_rows(values_only=True)]
            if _find_header(rows) is not None:
                return rows
        return []
    finally:
        workbook.close()


class SpreadsheetParser:
    """Reads a supplier's CSV or XLSX line table; one document per PO number in it."""

    name = NAME

    def sniff(self, raw: bytes) -> float:
        """0.9 for an XLSX workbook; 0.7 for CSV text whose first row names known columns."""
        if _is_xlsx(raw):
            return XLSX_SCORE
        head = raw[:SNIFF_PREFIX_BYTES]
        if b"\x00" in head:
            return 0.0
        rows = _csv_rows(head.rsplit(b"\n", 1)[0] if b"\n" in head else head)
        return CSV_SCORE if rows and _find_header(rows[:1]) is not None else 0.0

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        """The documents in the first table with a recognisable header row."""
        rows = _xlsx_rows(raw) if _is_xlsx(raw) else _csv_rows(raw)
        header = _find_header(rows)
        if header is None:
            raise ParseError(
                "no header row names the columns of a line table",
                code="spreadsheet-no-columns",
                location="rows 1-10",
                hint="expected column names such as PO, line, item, quantity, unit price, delivery date",
            )
        start, columns = header
        body = [(start + 2 + offset, row) for offset, row in enumerate(rows[start + 1:]) if any(_filled(c) for c in row)]
        table = _Table(columns, _decimal_comma(body, columns), _day_first(body, columns))
        return _documents(table, body)


def _filled(cell: Cell) -> bool:
    return cell is not None and str(cell).strip() != ""


class _Table:
    """The columns of one table and the notation its numbers and dates are written in."""

    def __init__(self, columns: dict[str, int], decimal_comma: bool | None, day_first: bool):
        self.columns = columns
        self.decimal_comma = decimal_comma
        self.day_first = day_first

    def cell(self, row: Sequence[Cell], column: str) -> Cell:
        index = self.columns.get(column)
        if index is None or index >= len(row) or not _filled(row[index]):
            return None
        value = row[index]
        return value.strip() if isinstance(value, str) else value


def _column_texts(body: Iterable[tuple[int, Sequence[Cell]]], columns: dict[str, int], names: Sequence[str]
                  ) -> list[str]:
    indexes = [columns[name] for name in names if name in columns]
    return [str(row[i]) for _, row in body for i in indexes if i < len(row) and isinstance(row[i], str)]


def _decimal_comma(body: Sequence[tuple[int, Sequence[Cell]]], columns: dict[str, int]) -> bool | None:
    """True when the table's numbers use a decimal comma ("4,20"), False for a point, None when unknown."""
    texts = _column_texts(body, columns, ("quantity", "unit_price"))
    if any(re.search(r",\d{1,2}$|\.\d{3},", text) for text in texts):
        return True
    if any(re.search(r"\.\d{1,2}$|,\d{3}\.", text) for text in texts):
        return False
    return None


def _day_first(body: Sequence[tuple[int, Sequence[Cell]]], columns: dict[str, int]) -> bool:
    """Day-first unless a slashed date shows month-first (its second part is over 12)."""
    texts = _column_texts(body, columns, ("delivery_date",))
    return not any(int(second) > 12 for second in re.findall(r"^\d{1,2}/(\d{1,2})/", "\n".join(texts), re.M))


def _documents(table: _Table, body: Sequence[tuple[int, Sequence[Cell]]]) -> list[ParsedDocument]:
    documents: dict[str | None, ParsedDocument] = {}
    for row_number, row in body:
        po = table.cell(row, "po")
        po_number = None if po is None else str(po)
        document = documents.setdefault(po_number, _new_document(po_number, row_number))
        line, problems = _line(table, row, row_number)
        document.lines.append(line)
        document.problems.extend(problems)
        currency = table.cell(row, "currency")
        document.currency = document.currency or (str(currency).upper() if currency else None)
    return list(documents.values())


def _new_document(po_number: str | None, row_number: int) -> ParsedDocument:
    document = ParsedDocument(kind=DocumentKind.UNKNOWN, parser=NAME, po_number=po_number)
    if po_number is not None:
        document.provenance["po_number"] = Provenance(f"row {row_number}")
    else:
        document.problems.append(Problem("spreadsheet-no-po", "the table has no PO column", f"row {row_number}"))
    return document


def _text(value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _line(table: _Table, row: Sequence[Cell], row_number: int) -> tuple[ParsedLine, list[Problem]]:
    line_number = _text(table.cell(row, "line"))
    line = ParsedLine(
        line=line_number,
        po_line=line_number,
        item=_text(table.cell(row, "item")),
        supplier_item=_text(table.cell(row, "supplier_item")),
        description=_text(table.cell(row, "description")),
        uom=_text(table.cell(row, "uom")),
    )
    line.provenance = {column: Provenance(f"row {row_number} column {column}")
                       for column in _TEXT_COLUMNS if column != "po" and table.cell(row, column) is not None}
    problems = [problem for problem in (_set_number(table, row, row_number, line, "quantity"),
                                        _set_number(table, row, row_number, line, "unit_price"),
                                        _set_delivery_date(table, row, row_number, line)) if problem is not None]
    return line, problems


def _number(value: Cell, decimal_comma: bool | None) -> Decimal | None:
    if isinstance(value, bool) or isinstance(value, (date, datetime)):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return parse_decimal(str(value), decimal_comma=decimal_comma)


def _set_number(table: _Table, row: Sequence[Cell], row_number: int, line: ParsedLine, column: str
                ) -> Problem | None:
    value = table.cell(row, column)
    if value is None:
        return None
    number = _number(value, table.decimal_comma)
    if number is None:
        return Problem("spreadsheet-bad-number", f"{column} {value!r} is not a number", f"row {row_number}")
    setattr(line, column, number)
    line.provenance[column] = Provenance(f"row {row_number} column {column}")
    return None


def _cell_date(value: Cell, day_first: bool) -> tuple[date, float] | None:
    if isinstance(value, datetime):
        return value.date(), 1.0
    if isinstance(value, date):
        return value, 1.0
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", text):
        return None
    return parse_numeric_date(text, day_first=day_first, reference=date.min)


def _set_delivery_date(table: _Table, row: Sequence[Cell], row_number: int, line: ParsedLine) -> Problem | None:
    value = table.cell(row, "delivery_date")
    if value is None:
        return None
    read = _cell_date(value, table.day_first)
    if read is None:
        return Problem("spreadsheet-bad-date", f"delivery date {value!r} is not a date", f"row {row_number}")
    line.delivery_date, confidence = read
    line.provenance["delivery_date"] = Provenance(f"row {row_number} column delivery_date", confidence)
    return None
