"""The words of a PDF page as text lines, and the line table read from them by column positions.

A table is found by its header line: words naming columns (in English, German, French, Spanish or Dutch).
Each header word claims the x-range around it, up to halfway to its neighbours, and every later word goes
to the column its centre falls in. A line with a quantity starts a row; a line with only description text
continues the row above (a wrapped description). The table ends at a totals line; it goes on across pages,
whether the header is repeated there or not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parsers.numbers import parse_amount

__all__ = [
    "HEADER_VOCABULARY",
    "Column",
    "TableRow",
    "TableSpec",
    "TextLine",
    "Word",
    "cell_number",
    "group_lines",
    "read_table",
]

NUMERIC_KINDS = frozenset({"quantity", "unit_price", "amount"})
TEXT_KINDS = ("description", "supplier_item", "item")

_SAME_LINE_TOLERANCE = 3.0
_CELL_GAP = 0.45
"""Words closer than this many font heights share a cell (a plain space is about 0.28)."""
_MAX_ROW_GAP = 2.2
"""A table line further below the previous one than this many line heights has left the table (a footer)."""


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)


HEADER_VOCABULARY: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("item", _words(r"your\s+(?:item|part)(?:\s+no\.?)?", r"customer\s+(?:item|part)(?:\s+no\.?)?",
                    r"ihre\s+art(?:ikel)?\.?\s*-?\s*nr\.?", r"art-nr-kunde", r"votre\s+r[ée]f(?:[ée]rence)?\.?",
                    r"su\s+referencia")),
    ("po_line", _words(r"PO\s+(?:line|pos\.?)", r"ihre\s+pos\.?", r"best\.?-pos\.?")),
    ("delivery_date", _words(r"deliv(?:ery)?\.?\s+date", r"ship\s+date", r"date\s+(?:de\s+)?livraison",
                             r"liefer(?:termin|datum)", r"fecha\s+(?:de\s+)?entrega", r"leverdatum")),
    ("unit_price", _words(r"unit\s+price", r"price\s*/\s*unit", r"price\s+per\s+(?:unit|piece)",
                          r"prix\s+unit(?:aire)?\.?(?:\s+HT)?", r"P\.\s?U\.(?:\s+HT)?", r"einzelpreis",
                          r"preis\s*/\s*(?:einh(?:eit)?\.?|ME)(?:\s*€)?", r"VK-Preis", r"nettopreis",
                          r"precio(?:\s+unit(?:ario)?\.?)?", r"prijs(?:\s+per\s+stuk)?", r"preis", r"prix",
                          r"price", r"rate")),
    ("amount", _words(r"(?:line\s+)?(?:amount|total)(?:\s+(?:HT|net|excl\.?))?", r"ext(?:ended)?\.?\s+(?:price|amount)",
                      r"zeilenbetrag", r"nettobetrag", r"nettowert", r"gesamt(?:preis|betrag)?(?:\s*€)?", r"betrag",
                      r"montant(?:\s+HT|\s+TTC)?", r"importe", r"bedrag")),
    ("description", _words(r"description", r"descripci[oó]n", r"artikel(?:bezeichnung|beschreibung)",
                           r"bezeichnung", r"beschreibung", r"d[ée]signation", r"libell[ée]",
                           r"(?:artikel)?omschrijving",
                           r"product(?:\s+title)?", r"produkt", r"concepto")),
    ("quantity", _words(r"qty(?:\s+(?:ordered|shipped|confirmed))?", r"quantity", r"quantit[ée]", r"qt[ée]",
                        r"menge", r"anzahl", r"cantidad", r"cant\.", r"aantal", r"hoeveelheid", r"nombre")),
    ("uom", _words(r"unit", r"uom", r"u/m", r"einheit", r"ME", r"unit[ée]", r"unidad", r"meng\.?-?\s*einheit")),
    ("supplier_item", _words(r"item(?:\s+(?:no\.?|number|#|code))?", r"article(?:\s+no\.?)?",
                             r"art(?:ikel)?\.?\s*-?\s*nr\.?", r"artikel(?:nummer)?", r"material(?:-?nr\.?)?",
                             r"part\s+(?:no\.?|number|#)", r"SKU", r"r[ée]f[ée]rence", r"r[ée]f\.", r"code",
                             r"c[óo]digo", r"art[íi]culo", r"referencia")),
    ("line", _words(r"pos(?:ition)?\.?", r"line", r"ln\.?", r"lfd\.?\s*nr\.?", r"#", r"n[°º]", r"no\.")),
)
"""Column kinds and the header words naming them, most specific first (`unit price` before `unit`)."""

_TABLE_END = re.compile(
    r"^(?:sub\s*-?total|total|totaal|subtotaal|summe|zwischensumme|gesamt(?:betrag|summe)|rechnungs(?:summe|betrag)"
    r"|nettobetrag|endbetrag|endsumme|warenwert|montant\s+total|net\s+total|importe\s+total|base\s+imponible"
    r"|positionen\s+netto|positionssumme|grand\s+total|amount\s+due)\b",
    re.IGNORECASE,
)
_PAGE_CARRY = re.compile(
    r"^(?:übertrag|carried\s+forward|continued|à\s+reporter|report|suma\s+y\s+sigue|transporte)\b", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True, slots=True)
class TextLine:
    """Words on one baseline of one page, left to right; `number` counts lines from the top of the page, from 1."""

    page: int
    number: int
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def top(self) -> float:
        return min(word.top for word in self.words)

    @property
    def bottom(self) -> float:
        return max(word.bottom for word in self.words)

    @property
    def height(self) -> float:
        return max(word.bottom - word.top for word in self.words)

    def location(self) -> str:
        return f"page {self.page}, line {self.number}: {self.text!r}"

    def word_at(self, offset: int) -> Word:
        """The word holding character `offset` of `text` (the word before, on a space)."""
        end = -1
        for word in self.words:
            end += len(word.text) + 1
            if offset < end:
                return word
        return self.words[-1]


@dataclass(frozen=True, slots=True)
class Column:
    """The x-range a column owns on the page; `kind` is a field of a line or "other"."""

    kind: str
    x0: float
    x1: float


@dataclass(slots=True)
class TableRow:
    """The cells of one table row as printed (a wrapped description joined), and the lines it wrapped onto."""

    line: TextLine
    cells: dict[str, str]
    continuation: list[TextLine] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """How to find the table: header words per column kind, or (from a template) a header regex and fixed x-ranges."""

    vocabulary: Sequence[tuple[str, re.Pattern[str]]] = HEADER_VOCABULARY
    header: re.Pattern[str] | None = None
    columns: tuple[Column, ...] = ()
    min_kinds: int = 3


def group_lines(words: Sequence[Mapping[str, Any]], page: int) -> list[TextLine]:
    """pdfplumber's `extract_words` output for one page as text lines, top to bottom."""
    ordered = sorted(words, key=lambda word: (round(word["top"]), word["x0"]))
    groups: list[list[Word]] = []
    for raw in ordered:
        word = Word(raw["text"], raw["x0"], raw["x1"], raw["top"], raw["bottom"])
        if groups and abs(groups[-1][0].top - word.top) <= _SAME_LINE_TOLERANCE:
            groups[-1].append(word)
        else:
            groups.append([word])
    return [
        TextLine(page, number, tuple(sorted(group, key=lambda word: word.x0)))
        for number, group in enumerate(groups, start=1)
    ]


def cell_number(cell: str, decimal_mark: str) -> tuple[str, str] | None:
    """The last number in a cell and the text beside it (`"20 Stk."` -> `("20", "Stk.")`), or None without one."""
    tokens = cell.split()
    for index in range(len(tokens) - 1, -1, -1):
        if parse_amount(tokens[index], decimal_mark) is not None:
            rest = " ".join(token for token in tokens[index + 1:] if not re.search(r"\d", token))
            return tokens[index], rest
    return None


def read_table(pages: Sequence[Sequence[TextLine]], spec: TableSpec, decimal_mark: str) -> list[TableRow]:
    """Every row of the document's line table, in order, across pages; empty when no header is found."""
    rows: list[TableRow] = []
    columns: tuple[Column, ...] = ()
    for lines in pages:
        last: TextLine | None = None
        for line in lines:
            header = _header_columns(line, spec)
            if header:
                columns, last = header, line
                continue
            if not columns:
                continue
            if _PAGE_CARRY.match(line.text):
                break
            if _TABLE_END.match(line.text):
                columns = ()
                break
            if last is not None and rows and rows[-1].line.page == line.page and _too_far(last, line):
                break
            last = _take_line(line, columns, rows, decimal_mark) or last
    return rows


def _too_far(previous: TextLine, line: TextLine) -> bool:
    return line.top - previous.bottom > _MAX_ROW_GAP * previous.height


def _take_line(line: TextLine, columns: tuple[Column, ...], rows: list[TableRow], decimal_mark: str) -> TextLine | None:
    """Add `line` as a row or as the continuation of the row above; the line when it belongs to the table."""
    cells = _cells(line, columns)
    if _is_row(cells, decimal_mark):
        rows.append(TableRow(line, cells))
        return line
    if rows and rows[-1].line.page == line.page and cells.get("description") and not _has_numbers(cells, decimal_mark):
        row = rows[-1]
        row.cells["description"] = " ".join(filter(None, (row.cells.get("description"), cells["description"])))
        row.continuation.append(line)
        return line
    return None


def _is_row(cells: dict[str, str], decimal_mark: str) -> bool:
    if cell_number(cells.get("quantity", ""), decimal_mark) is None:
        return False
    if not any(cells.get(kind) for kind in TEXT_KINDS):
        return False
    priced = any(cell_number(cells.get(kind, ""), decimal_mark) for kind in ("unit_price", "amount"))
    return priced or bool(cells.get("uom")) or cells.get("line", "").isdigit()


def _has_numbers(cells: dict[str, str], decimal_mark: str) -> bool:
    return any(cell_number(cells.get(kind, ""), decimal_mark) for kind in NUMERIC_KINDS)


def _cells(line: TextLine, columns: tuple[Column, ...]) -> dict[str, str]:
    cells: dict[str, list[str]] = {}
    for chunk in _chunks(line.words):
        column = _column_for(chunk, columns)
        if column is not None:
            cells.setdefault(column.kind, []).append(chunk.text)
    return {kind: " ".join(texts) for kind, texts in cells.items()}


def _chunks(words: Sequence[Word]) -> list[Word]:
    """Words set a plain space apart, as one: `3,85 EUR/kg` is one cell even when right-aligned past its header."""
    chunks: list[Word] = []
    for word in words:
        previous = chunks[-1] if chunks else None
        if previous is not None and word.x0 - previous.x1 <= _CELL_GAP * (word.bottom - word.top):
            chunks[-1] = Word(f"{previous.text} {word.text}", previous.x0, word.x1, previous.top, word.bottom)
        else:
            chunks.append(word)
    return chunks


def _column_for(chunk: Word, columns: tuple[Column, ...]) -> Column | None:
    """The column under `chunk`; text without digits in a number column belongs to the text column on its left."""
    index = next((i for i, column in enumerate(columns) if column.x0 <= chunk.centre < column.x1), None)
    if index is None:
        return None
    if columns[index].kind in NUMERIC_KINDS and not re.search(r"\d", chunk.text) and not _is_unit_text(chunk.text):
        left = [column for column in columns[:index] if column.kind in TEXT_KINDS]
        return left[-1] if left else columns[index]
    return columns[index]


def _is_unit_text(text: str) -> bool:
    """Short words such as `Stk.`, `kg`, `EUR/kg` or `€` that sit beside a number in its column."""
    return len(text.rstrip(".")) <= 6


def _header_columns(line: TextLine, spec: TableSpec) -> tuple[Column, ...]:
    """The columns `line` names when it is the table header, else ()."""
    if spec.header is not None:
        return spec.columns if spec.header.search(line.text) else ()
    claims = _claims(line.text, spec.vocabulary)
    kinds = {kind for _, _, kind in claims}
    claimed = sum(1 for start, end, _ in claims for _ in line.text[start:end].split())
    if "quantity" not in kinds or len(kinds) < spec.min_kinds or claimed * 2 < len(line.words):
        return ()
    labels = [(line.word_at(start).x0, line.word_at(end - 1).x1, kind) for start, end, kind in claims]
    labels += [(word.x0, word.x1, "other") for word in _unclaimed_words(line, claims)]
    return _columns_between(sorted(labels))


def _claims(text: str, vocabulary: Sequence[tuple[str, re.Pattern[str]]]) -> list[tuple[int, int, str]]:
    claims: list[tuple[int, int, str]] = []
    for kind, pattern in vocabulary:
        for match in pattern.finditer(text):
            if not any(start < match.end() and match.start() < end for start, end, _ in claims):
                claims.append((match.start(), match.end(), kind))
    return claims


def _unclaimed_words(line: TextLine, claims: list[tuple[int, int, str]]) -> list[Word]:
    unclaimed, offset = [], 0
    for word in line.words:
        if not any(start <= offset < end for start, end, _ in claims):
            unclaimed.append(word)
        offset += len(word.text) + 1
    return unclaimed


def _columns_between(labels: list[tuple[float, float, str]]) -> tuple[Column, ...]:
    """Columns reaching halfway to their neighbours' labels, the outer ones to the page edges."""
    bounds = [(left[1] + right[0]) / 2 for left, right in zip(labels, labels[1:])]
    edges = [float("-inf"), *bounds, float("inf")]
    return tuple(Column(kind, edges[i], edges[i + 1]) for i, (_, _, kind) in enumerate(labels))
