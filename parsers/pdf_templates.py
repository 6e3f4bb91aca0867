"""Per-supplier PDF templates: a small declarative TOML file that overrides the generic PDF reader.

    name = "rheintal"
    match = "Rheintal Kunststoffe GmbH"        # regex on the document text: when it fits, the template applies
    kind = "acknowledgment"                     # optional: the document kind
    decimal_mark = ","                          # optional: "." or ","
    day_first = true                            # optional: numeric dates day-first

    [fields]                                    # optional: a regex per field; the value is group "value" or group 1
    number = 'AB-Nr\\.\\s*(?P<value>\\S+)'

    [table]                                     # optional: the line table
    header = '^Pos\\s+Material'                 # regex finding the header line
    columns = { quantity = [300, 340] }         # x-ranges (PDF points) per column, or instead:
    header_words = { quantity = 'Menge' }       # header words per column

Every key is checked (`extra="forbid"`); a bad file raises `ConfigError` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from parsers.pdf_tables import Column, TableSpec
from poguard.domain import DocumentKind
from poguard.errors import ConfigError

__all__ = ["FieldName", "PdfTemplate", "TableTemplate", "load_template"]

ColumnKind = Literal[
    "line", "po_line", "item", "supplier_item", "description", "quantity", "uom", "unit_price", "amount",
    "delivery_date",
]
FieldName = Literal["number", "po_number", "issue_date", "currency", "total"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableTemplate(_Strict):
    """Where the line table is: a header line, then columns by x-range or by header words."""

    header: re.Pattern[str] | None = None
    columns: dict[ColumnKind, tuple[float, float]] = {}
    header_words: dict[ColumnKind, re.Pattern[str]] = {}

    @model_validator(mode="after")
    def _one_way_to_find_columns(self) -> TableTemplate:
        if bool(self.columns) == bool(self.header_words):
            raise ValueError("give either 'columns' (x-ranges) or 'header_words', not both or neither")
        if self.columns and self.header is None:
            raise ValueError("'columns' needs 'header', the regex finding the header line")
        return self

    def spec(self) -> TableSpec:
        if self.columns:
            ranges = tuple(Column(kind, x0, x1) for kind, (x0, x1) in sorted(self.columns.items(), key=lambda c: c[1]))
            return TableSpec(header=self.header, columns=ranges)
        vocabulary = tuple(
            (kind, re.compile(rf"(?<!\w)(?:{pattern.pattern})(?!\w)", re.IGNORECASE))
            for kind, pattern in self.header_words.items()
        )
        return TableSpec(vocabulary=vocabulary, min_kinds=len(vocabulary))


class PdfTemplate(_Strict):
    """One supplier's layout; `match` decides whether it applies to a document."""

    name: str
    match: re.Pattern[str]
    kind: DocumentKind | None = None
    decimal_mark: Literal[".", ","] | None = None
    day_first: bool | None = None
    fields: dict[FieldName, re.Pattern[str]] = {}
    table: TableTemplate | None = None

    def applies_to(self, text: str) -> bool:
        return self.match.search(text) is not None


def load_template(path: Path) -> PdfTemplate:
    """The template in the TOML file at `path`; `ConfigError` names the file and the key that is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the template: {error}", location=str(path)) from error
    try:
        return PdfTemplate.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ConfigError(f"{path}: {problems}", location=str(path)) from error
