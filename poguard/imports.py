"""CSV imports of suppliers and PO lines: every row is checked before anything is stored.

A bad row is reported with its line number and column; one bad row rejects the whole file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from poguard.domain import ContractPrice, POLine, Supplier
from poguard.errors import InputRejected

__all__ = ["PO_COLUMNS", "PRICE_COLUMNS", "SUPPLIER_COLUMNS", "read_po_lines", "read_prices", "read_suppliers"]

SUPPLIER_COLUMNS = ("supplier_id", "name", "emails", "edi_ids", "lead_time_days")
PO_COLUMNS = (
    "po_number", "line", "supplier_id", "item", "supplier_item", "description", "quantity", "uom",
    "unit_price", "currency", "need_by", "buyer", "required_docs",
)
PRICE_COLUMNS = ("supplier_id", "item", "unit_price", "currency", "valid_from", "valid_to")
# Optional columns, read when present: suppliers `country` (ISO 3166 alpha-2, for holiday calendars);
# POs `item_group` (for tolerance overrides), `po_date` (ISO, for the acknowledgment deadline) and
# `payment_terms` (e.g. `2/10 net 30`, locked: a supplier's change is flagged).


class _RowError(ValueError):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column


def _required(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise _RowError(column, "is empty")
    return value


def _optional(row: dict[str, str], column: str) -> str | None:
    return (row.get(column) or "").strip() or None


def _list(row: dict[str, str], column: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (row.get(column) or "").split(";") if part.strip())


def _decimal(row: dict[str, str], column: str, *, positive: bool) -> Decimal:
    text = _required(row, column)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _RowError(column, f"expected a decimal with '.' (e.g. 1234.56), got {text!r}") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise _RowError(column, f"expected a {'positive' if positive else 'non-negative'} decimal, got {text!r}")
    return value


def _integer(text: str, column: str) -> int:
    if not text.isdigit():
        raise _RowError(column, f"expected a whole number, got {text!r}")
    return int(text)


def _optional_date(row: dict[str, str], column: str) -> date | None:
    return _iso_date(row, column) if _optional(row, column) else None


def _country(row: dict[str, str]) -> str | None:
    country = _optional(row, "country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise _RowError("country", f"expected an ISO 3166 alpha-2 code such as DE, got {country!r}")
    return None if country is None else country.upper()


def _iso_date(row: dict[str, str], column: str) -> date:
    text = _required(row, column)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(column, f"expected an ISO date (YYYY-MM-DD), got {text!r}") from None


def _emails(row: dict[str, str], column: str) -> tuple[str, ...]:
    entries = _list(row, column)
    for entry in entries:
        local, _, domain = entry.partition("@")
        if not domain or "." not in domain or " " in entry:
            raise _RowError(column, f"expected addresses or @domain entries separated by ';', got {entry!r}")
    return tuple(entry.lower() for entry in entries)


def _supplier(row: dict[str, str]) -> Supplier:
    lead_time = _optional(row, "lead_time_days")
    return Supplier(
        supplier_id=_required(row, "supplier_id"),
        name=_required(row, "name"),
        emails=_emails(row, "emails"),
        edi_ids=_list(row, "edi_ids"),
        lead_time_days=None if lead_time is None else _integer(lead_time, "lead_time_days"),
        country=_country(row),
    )


def _buyer(row: dict[str, str]) -> str:
    buyer = _required(row, "buyer")
    if "@" not in buyer.strip("@"):
        raise _RowError("buyer", f"expected an e-mail address, got {buyer!r}")
    return buyer.lower()


def _currency(row: dict[str, str]) -> str:
    currency = _required(row, "currency").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise _RowError("currency", f"expected a 3-letter ISO 4217 code, got {currency!r}")
    return currency


def _po_line(row: dict[str, str]) -> POLine:
    return POLine(
        po_number=_required(row, "po_number"),
        line=_integer(_required(row, "line"), "line"),
        supplier_id=_required(row, "supplier_id"),
        item=_required(row, "item"),
        supplier_item=_optional(row, "supplier_item"),
        description=_required(row, "description"),
        quantity=_decimal(row, "quantity", positive=True),
        uom=_required(row, "uom").upper(),
        unit_price=_decimal(row, "unit_price", positive=False),
        currency=_currency(row),
        need_by=_iso_date(row, "need_by"),
        buyer=_buyer(row),
        required_docs=_list(row, "required_docs"),
        item_group=_optional(row, "item_group"),
        po_date=_optional_date(row, "po_date"),
        payment_terms=_optional(row, "payment_terms"),
    )


def _price(row: dict[str, str]) -> ContractPrice:
    price = ContractPrice(
        supplier_id=_required(row, "supplier_id"),
        item=_required(row, "item"),
        unit_price=_decimal(row, "unit_price", positive=False),
        currency=_currency(row),
        valid_from=_iso_date(row, "valid_from"),
        valid_to=_optional_date(row, "valid_to"),
    )
    if price.valid_to is not None and price.valid_to < price.valid_from:
        raise _RowError("valid_to", f"ends before valid_from {price.valid_from}")
    return price


def _check_width(row: dict[str | None, Any], width: int) -> None:
    extra = row.get(None)
    if extra:
        raise _RowError(
            "*", f"{width + len(extra)} values for {width} columns; quote values that contain a comma "
            "(decimals use '.', e.g. 1234.56)",
        )


def _read_rows(path: Path, columns: tuple[str, ...], build: Callable[[dict[str, str]], Any]) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputRejected(f"cannot read {path}: {error}", location=str(path)) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise InputRejected(
            f"missing column(s) {', '.join(missing)}; expected {','.join(columns)}", location=f"{path}:1"
        )
    built, problems = [], []
    for row in reader:
        try:
            _check_width(row, len(reader.fieldnames or []))
            built.append(build(row))
        except _RowError as error:
            problems.append(f"{path}:{reader.line_num}: column {error.column}: {error}")
    if problems:
        raise InputRejected(
            f"{len(problems)} bad row(s), nothing imported:\n  " + "\n  ".join(problems), location=str(path)
        )
    return built


def _reject_duplicates(path: Path, keys: list[Any], what: str) -> None:
    seen: set[Any] = set()
    duplicates = [key for key in keys if key in seen or seen.add(key)]
    if duplicates:
        raise InputRejected(f"{what} listed twice: {duplicates[0]}; nothing imported", location=str(path))


def read_suppliers(path: Path) -> list[Supplier]:
    """Every supplier in the CSV, or InputRejected naming each bad row and column."""
    suppliers: list[Supplier] = _read_rows(path, SUPPLIER_COLUMNS, _supplier)
    _reject_duplicates(path, [s.supplier_id for s in suppliers], "supplier")
    return suppliers


def read_po_lines(path: Path) -> list[POLine]:
    """Every PO line in the CSV (one row per line), or InputRejected naming each bad row and column."""
    lines: list[POLine] = _read_rows(path, PO_COLUMNS, _po_line)
    _reject_duplicates(path, [(line.po_number, line.line) for line in lines], "PO line")
    _reject_mixed_suppliers(path, lines)
    return lines


def _reject_mixed_suppliers(path: Path, lines: list[POLine]) -> None:
    suppliers: dict[str, str] = {}
    for line in lines:
        first = suppliers.setdefault(line.po_number, line.supplier_id)
        if first != line.supplier_id:
            raise InputRejected(
                f"PO {line.po_number} has lines for suppliers {first} and {line.supplier_id}; nothing imported",
                location=str(path),
            )


def read_prices(path: Path) -> list[ContractPrice]:
    """Every contract price in the CSV (`valid_to` may be empty: open-ended)."""
    prices: list[ContractPrice] = _read_rows(path, PRICE_COLUMNS, _price)
    _reject_duplicates(path, [(p.supplier_id, p.item, p.valid_from) for p in prices], "contract price")
    return prices
