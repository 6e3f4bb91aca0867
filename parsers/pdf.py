"""Supplier PDFs (order confirmations, ship notices, invoices) read from their text layer, without a template.

The reader works as a buyer skims a document it has never seen: the biggest title word says what it is
(`Invoice`, `Auftragsbestätigung`, `Bon de livraison`...), labels say where the fields are (`Invoice No.`,
`Ihre Bestellung`, `Total TTC`...) with the value after the label or right below it, and the line table is
found by its header words (`parsers.pdf_tables`). Numbers and dates are read by one convention per document
(`parsers.numbers`). A supplier template (`parsers.pdf_templates`) overrides any of this when its `match`
regex fits the text. Values from a clear label get confidence 0.9; heuristics less.

Words
- *language*: the document's language (en, de, fr, es, nl), from the words on it; it breaks ties in the
  number and date conventions.
- *label*: the words printed before or above a value (`Rechnungsnummer`, `Date de facture`).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Generic, TypeVar

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfplumber.utils.exceptions import PdfminerException

from parsers.numbers import (
    DATE_PATTERN,
    detect_day_first,
    detect_decimal_mark,
    find_amounts,
    is_ambiguous_date,
    parse_amount,
    parse_date,
)
from parsers.pdf_tables import TableRow, TableSpec, TextLine, cell_number, group_lines, read_table
from parsers.certificates import certificates_named
from parsers.pdf_templates import FieldName, PdfTemplate, load_template
from poguard.domain import DocumentKind, ParsedDocument, ParsedLine, Problem, Provenance
from poguard.errors import ParseError

__all__ = ["MAX_PAGES", "PdfParser", "detect_language"]

MAX_PAGES = 300
_CERTIFICATE_TITLE_LINES = 15
"""Pages read at most: supplier documents are short, and a hostile PDF must not keep the parser busy."""

LABEL_CONFIDENCE = 0.9
BELOW_LABEL_CONFIDENCE = 0.8
TABLE_CONFIDENCE = 0.8
HEURISTIC_CONFIDENCE = 0.5
TEMPLATE_CONFIDENCE = 0.95

_COMMA_LANGUAGES = frozenset({"de", "fr", "es", "nl", "it"})
_SNIFF_WINDOW = 1024
_WORD_GAP = 1.5
"""Points between two characters that still belong to one word: tighter than pdfplumber's 3, since some
generators (Odoo reports) set words barely apart."""

T = TypeVar("T")


def _labels(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)


_LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("invoice order confirmation delivery note date total quantity price description amount "
                    "the and of your our to for ship unit due".split()),
    "de": frozenset("rechnung auftragsbestätigung lieferschein datum menge preis betrag bestellung und der die "
                    "das ihre unsere gesamt summe bezeichnung einheit mwst ust zahlbar".split()),
    "fr": frozenset("facture commande livraison montant quantité prix désignation le la les du des votre notre "
                    "tva ttc ht total échéance".split()),
    "es": frozenset("factura pedido albarán fecha cantidad precio importe descripción el los las del su nuestro "
                    "iva total entrega".split()),
    "nl": frozenset("factuur datum bedrag aantal prijs totaal btw het van uw onze omschrijving".split()),
}

_TITLES: tuple[tuple[DocumentKind, bool, re.Pattern[str]], ...] = (
    (DocumentKind.INVOICE, True, _labels(r"credit\s*note", r"gutschrift", r"avoir", r"nota\s+de\s+cr[ée]dito",
                                         r"creditnota", r"rechnungs-?\s*korrektur")),
    (DocumentKind.ACKNOWLEDGMENT, False, _labels(
        r"order\s+confirmation", r"order\s+acknowledge?ment", r"confirmation\s+of\s+order", r"auftragsbest[äa]tigung",
        r"bestellbest[äa]tigung", r"confirmation\s+de\s+commande", r"confirmaci[oó]n\s+de(?:l)?\s+pedido",
        r"orderbevestiging")),
    (DocumentKind.SHIP_NOTICE, False, _labels(
        r"delivery\s+note", r"packing\s+(?:slip|list)", r"ship(?:ping)?\s+notice", r"despatch\s+(?:note|advice)",
        r"dispatch\s+note", r"lieferschein", r"bon\s+de\s+livraison", r"avis\s+d'exp[ée]dition", r"albar[aá]n",
        r"pakbon")),
    (DocumentKind.INVOICE, False, _labels(r"[a-zäöü]*rechnung", r"invoice", r"facture", r"factura", r"factuur")),
)
"""Title words per document kind; the flag marks a credit note (an invoice with negative intent)."""

_NUMBER_SUFFIX = r"\s*(?:n[°ºo]\.?|nr\.?|no\.?|num(?:ber|ero|éro)?\.?|#|nummer)"
_NUMBER_LABELS: dict[DocumentKind, re.Pattern[str]] = {
    DocumentKind.INVOICE: _labels(
        rf"invoice{_NUMBER_SUFFIX}", r"rechnungs-?\s*(?:nummer|nr\.?|no\.?)", rf"rechnung{_NUMBER_SUFFIX}",
        r"(?:n[°º]\.?|num[ée]ro)\s*(?:de\s+)?(?:la\s+)?facture", rf"facture{_NUMBER_SUFFIX}",
        rf"factura{_NUMBER_SUFFIX}", r"(?:n[°º]\.?|n[úu]mero)\s*(?:de\s+)?factura", r"factuur-?\s*(?:nummer|nr\.?)",
        rf"credit\s+note{_NUMBER_SUFFIX}", r"gutschrift(?:s)?-?\s*(?:nummer|nr\.?)", rf"avoir{_NUMBER_SUFFIX}"),
    DocumentKind.ACKNOWLEDGMENT: _labels(
        rf"(?:order\s+)?confirmation{_NUMBER_SUFFIX}", r"(?:auftragsbest[äa]tigungs?|bestellbest[äa]tigungs?|AB)"
        rf"-?\s*(?:nummer|nr\.?|no\.?)", rf"auftragsbest[äa]tigung{_NUMBER_SUFFIX}",
        r"(?:n[°º]\.?|num[ée]ro)\s*(?:de\s+)?confirmation", rf"confirmation\s+de\s+commande{_NUMBER_SUFFIX}",
        rf"confirmaci[oó]n(?:\s+de\s+pedido)?{_NUMBER_SUFFIX}", rf"sales\s+order{_NUMBER_SUFFIX}"),
    DocumentKind.SHIP_NOTICE: _labels(
        rf"(?:delivery\s+note|packing\s+slip|ship(?:ping)?\s+notice|shipment|despatch\s+note|dispatch\s+note|ASN)"
        rf"{_NUMBER_SUFFIX}", r"lieferschein-?\s*(?:nummer|nr\.?)", rf"lieferschein{_NUMBER_SUFFIX}",
        rf"bon\s+de\s+livraison{_NUMBER_SUFFIX}", r"(?:n[°º]\.?|num[ée]ro)\s*(?:de\s+)?(?:bon\s+de\s+)?livraison",
        rf"albar[aá]n{_NUMBER_SUFFIX}"),
}
_GENERIC_NUMBER_LABELS = _labels(r"beleg-?\s*(?:nummer|nr\.?)", rf"document{_NUMBER_SUFFIX}", r"doc\.?\s*(?:no\.?|#)")

_DATE_LABELS: dict[DocumentKind, re.Pattern[str]] = {
    DocumentKind.INVOICE: _labels(
        r"invoice\s+date", r"date\s+of\s+invoice", r"rechnungs-?\s*datum", r"datum\s+der\s+rechnung",
        r"date\s+(?:de\s+)?(?:la\s+)?facture", r"fecha\s+(?:de\s+)?(?:la\s+)?factura", r"factuurdatum",
        r"credit\s+note\s+date", r"gutschriftsdatum", r"date\s+de\s+l'avoir"),
    DocumentKind.ACKNOWLEDGMENT: _labels(
        r"(?:order\s+)?confirmation\s+date", r"date\s+of\s+confirmation", r"(?:AB|auftragsbest[äa]tigungs)-?\s*datum",
        r"date\s+(?:de\s+)?(?:la\s+)?confirmation", r"fecha\s+(?:de\s+)?(?:la\s+)?confirmaci[oó]n"),
    DocumentKind.SHIP_NOTICE: _labels(
        r"(?:delivery\s+note|ship(?:ment|ping)?|despatch|dispatch|packing\s+slip)\s+date", r"lieferschein-?\s*datum",
        r"versanddatum", r"date\s+d'exp[ée]dition", r"fecha\s+(?:de\s+)?(?:albar[aá]n|env[ií]o|expedici[oó]n)"),
}
_GENERIC_DATE_LABELS = _labels(
    r"beleg-?\s*datum", r"document\s+date", r"issue\s+date", r"date\s+of\s+issue", r"date\s+d'[ée]mission",
    r"fecha\s+de\s+emisi[oó]n")
_PLAIN_DATE_LABEL = re.compile(
    r"(?<![\w-])" + "".join(rf"(?<!{word}\s)" for word in ("due", "order", "delivery", "payment", "ship", "expiry"))
    + r"(?:date|datum|fecha)(?![\w-])", re.IGNORECASE)
"""`Date` alone, but not a due, order, delivery or payment date."""

_PO_LABELS = _labels(
    r"(?:customer\s+)?P\.?O\.?(?:\s*(?:no\.?|number|#|ref(?:erence)?\.?))?",
    r"purchase\s+order(?:\s*(?:no\.?|number|#))?",
    r"(?:your|customer)\s+(?:order|PO)(?:\s*(?:no\.?|number|#|ref(?:erence)?\.?))?",
    r"(?:ihre\s+)?bestell(?:ung)?-?\s*(?:nummer|nr\.?|no\.?)(?:\s+kunde)?", r"ihre\s+bestellung(?:\s+nr\.?)?",
    r"votre\s+commande(?:\s*n[°º]\.?)?", r"(?:n[°º]\.?|num[ée]ro)\s*(?:de\s+)?commande",
    r"bon\s+de\s+commande(?:\s*n[°º]\.?)?",
    r"su\s+pedido(?:\s*(?:n[°º]\.?|n[úu]m(?:ero)?\.?))?", r"(?:n[°º]\.?|n[úu]mero)\s*(?:de\s+)?pedido",
    r"orden\s+de\s+compra", r"uw\s+(?:order|bestelling)(?:nummer)?", r"votre\s+r[ée]f[ée]rence")

_TOTAL_LABELS = _labels(
    r"grand\s+total", r"total\s+amount\s+due", r"amount\s+due", r"balance\s+due", r"total\s+due", r"invoice\s+total",
    r"total\s+for\s+this\s+invoice", r"total\s+TTC", r"net\s+[àa]\s+payer", r"somme\s+[àa]\s+payer", r"montant\s+TTC",
    r"total\s+[àa]\s+payer", r"gesamtbetrag", r"rechnungs(?:betrag|beitrag)", r"endbetrag", r"endsumme",
    r"bruttosumme", r"gesamtsumme", r"rechnungssumme\s+brutto", r"zahlbetrag", r"zu\s+zahlen", r"importe\s+total",
    r"total\s+factura", r"total\s+a\s+pagar", r"saldo\s+adeudado", r"factuur\s+totaal", r"totaal")
_PLAIN_TOTAL_LABEL = re.compile(
    r"(?<![\w-])total(?!\s*(?:HT|net|excl|parcial|impuestos|tax|vat|tva|ust|mwst|before|qty|quantity|weight|items"
    r"|lines|pages|packages|cartons|pallets|colis|pakete|gewicht|poids|peso|\(?ex))(?![\w-])", re.IGNORECASE)
_NET_LABELS = _labels(
    r"sub\s*-?total", r"total\s+(?:HT|net|excl\.?)", r"net\s+total", r"nettobetrag", r"netto", r"zwischensumme",
    r"positionssumme", r"warenwert", r"positionen\s+netto", r"montant\s+HT", r"total\s+parcial", r"base\s+imponible",
    r"subtotaal", r"exclusief\s+btw", r"rechnungssumme\s+netto")

_CURRENCY_LABELS = _labels(r"currency", r"w[äa]hrung", r"devise", r"moneda", r"valuta", r"betr[äa]ge\s+in",
                           r"amounts\s+in", r"montants\s+en")
_ISO_CURRENCIES = "EUR USD GBP CHF JPY CNY INR SEK NOK DKK PLN CZK HUF CAD AUD NZD MXN BRL ZAR TRY RON HKD SGD".split()
_CURRENCY_SIGNS = {"€": "EUR", "£": "GBP", "₹": "INR", "US$": "USD", "C$": "CAD", "A$": "AUD", "$": "USD", "Rs": "INR"}
_CURRENCY_PATTERN = re.compile(
    r"(?<![A-Za-z])(?P<code>" + "|".join(_ISO_CURRENCIES) + r")(?![A-Za-z])"
    r"|(?P<sign>US\$|C\$|A\$|[€£₹$]|Rs(?=\.?\s?\d))"
)
_IDENTIFIER = re.compile(r"[\s:.#]*(?:#\s*)?(?P<value>[A-Za-z0-9][\w/.\-]*)")
_DATE_LEAD = re.compile(r"[\s:.,]*(?:du|vom|le|del|of|dated|den|am)?\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Found(Generic[T]):
    """A value read from the document, with the line it came from and how sure the reader is."""

    value: T
    line: TextLine
    confidence: float
    note: str = ""

    def provenance(self) -> Provenance:
        return Provenance(self.line.location() + self.note, self.confidence)


@dataclass(slots=True)
class _Reading:
    """What is known about the document while its fields are read."""

    pages: list[list[TextLine]]
    decimal_mark: str
    day_first: bool
    dates_settled: bool
    template: PdfTemplate | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def lines(self) -> list[TextLine]:
        return [line for page in self.pages for line in page]

    def date_in(self, text: str, line: TextLine) -> date | None:
        value = parse_date(text, self.day_first)
        if value is not None and not self.dates_settled and is_ambiguous_date(text):
            self.flag_ambiguous_date(line)
        return value

    def flag_ambiguous_date(self, line: TextLine) -> None:
        if not any(problem.code == "pdf-ambiguous-date" for problem in self.problems):
            order = "day-first" if self.day_first else "month-first (US)"
            self.problems.append(Problem(
                "pdf-ambiguous-date",
                f"numeric dates could be day-first or month-first and the document does not tell; read {order}",
                line.location(),
            ))


class PdfParser:
    """Reads supplier PDFs by their text layer; `templates` (TOML files or loaded) override the generic reader."""

    name = "pdf"

    def __init__(self, templates: Iterable[Path | PdfTemplate] = ()) -> None:
        self.templates = tuple(
            template if isinstance(template, PdfTemplate) else load_template(Path(template)) for template in templates
        )

    def sniff(self, raw: bytes) -> float:
        """0.95 when `%PDF` starts within the first kilobyte (some mailers prepend junk), else 0.0."""
        return 0.95 if b"%PDF-" in raw[: _SNIFF_WINDOW + 5] else 0.0

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        """The one document the PDF holds; `ParseError` when it cannot be opened or has no text layer."""
        pages, page_count = _read_pages(raw)
        text = "\n".join(line.text for page in pages for line in page)
        template = next((template for template in self.templates if template.applies_to(text)), None)
        document = _read_document(pages, template)
        _read_certificates(document, pages)
        if page_count > MAX_PAGES:
            document.problems.append(Problem(
                "pdf-pages-skipped", f"only the first {MAX_PAGES} of {page_count} pages were read", f"page {MAX_PAGES + 1}"))
        return [document]


def _read_certificates(document: ParsedDocument, pages: list[list[TextLine]]) -> None:
    """A PDF that is no order document but a quality certificate (CoC, MTR) says so near its top."""
    if document.kind is not DocumentKind.UNKNOWN or not pages:
        return
    top = pages[0][:_CERTIFICATE_TITLE_LINES]
    found = certificates_named("\n".join(line.text for line in top))
    if found:
        document.certificates = found
        line = next(line for line in top if certificates_named(line.text))
        document.provenance["certificates"] = Provenance(f"page 1, line {line.number}: {line.text[:60]!r}", 0.8)
        document.problems = [p for p in document.problems if p.code != "pdf-unknown-kind"]


def _read_pages(raw: bytes) -> tuple[list[list[TextLine]], int]:
    """Text lines per page (at most MAX_PAGES) and the number of pages; pdfminer's many failure types become one
    `ParseError` with its reason."""
    try:
        with pdfplumber.open(io.BytesIO(raw)) as pdf:
            page_count = len(pdf.pages)
            pages = pdf.pages[:MAX_PAGES]
            lines = [
                group_lines(page.extract_words(x_tolerance=_WORD_GAP), number)
                for number, page in enumerate(pages, start=1)
            ]
            if not any(lines):
                _raise_without_text(sum(len(page.images) for page in pages), len(pages))
            return lines, page_count
    except ParseError:
        raise
    except PdfminerException as error:
        raise _unreadable(error.args[0] if error.args else error) from error
    except RecursionError as error:
        raise ParseError("the PDF nests its content too deeply to read", code="pdf-unreadable") from error
    except Exception as error:  # pdfminer raises anything from KeyError to zlib.error on a broken file
        raise _unreadable(error) from error


def _unreadable(reason: object) -> ParseError:
    if isinstance(reason, PDFEncryptionError):
        return ParseError("the PDF is encrypted", code="pdf-encrypted", hint="ask the supplier for an unprotected copy")
    detail = str(reason) or type(reason).__name__
    return ParseError(f"the PDF cannot be read: {detail}", code="pdf-unreadable")


def _raise_without_text(images: int, pages: int) -> None:
    if images:
        raise ParseError(
            f"no text layer: {pages} page(s) hold only images (a scan?)",
            code="pdf-no-text-layer",
            location="page 1",
            hint="OCR is not supported yet",
        )
    raise ParseError(f"the PDF's {pages} page(s) hold neither text nor images", code="pdf-empty", location="page 1")


def detect_language(texts: Iterable[str]) -> str:
    """The language (en, de, fr, es, nl) whose common document words occur most in `texts`; en when none do."""
    words = Counter(word for text in texts for word in re.findall(r"[a-zäöüßéèêàáíóúñç]+", text.lower()))
    scores = {language: sum(words[word] for word in vocabulary) for language, vocabulary in _LANGUAGE_WORDS.items()}
    best = max(scores, key=lambda language: scores[language])
    return best if scores[best] else "en"


def _read_document(pages: list[list[TextLine]], template: PdfTemplate | None) -> ParsedDocument:
    reading = _start_reading(pages, template)
    kind, title = _read_kind(reading)
    document = ParsedDocument(kind=kind, parser=PdfParser.name)
    _set(document, "number", _read_number(reading, kind, title))
    _set(document, "po_number", _read_field(reading, "po_number", (_PO_LABELS,), _identifier))
    _set(document, "issue_date", _read_issue_date(reading, kind, title))
    if kind is not DocumentKind.SHIP_NOTICE:
        total = _read_total(reading)
        _set(document, "total", total)
        _set(document, "currency", _read_currency(reading, total))
    rows = read_table(pages, _table_spec(template), reading.decimal_mark)
    document.lines = [_parsed_line(row, reading) for row in rows]
    _check_total(document, rows, reading)
    document.problems = _missing_field_problems(document) + reading.problems
    return document


@dataclass(frozen=True, slots=True)
class _Title:
    """The title words that named the document kind, and the text after them on their line."""

    kind: DocumentKind
    credit_note: bool
    line: TextLine
    rest: str


ValueReader = Callable[[str, TextLine, _Reading], T | None]
"""Reads a field's value from the text right after its label (or below it); None when the text holds none."""


def _start_reading(pages: list[list[TextLine]], template: PdfTemplate | None) -> _Reading:
    texts = [line.text for page in pages for line in page]
    language = detect_language(texts)
    decimal_mark = (template and template.decimal_mark) or detect_decimal_mark(
        texts, default="," if language in _COMMA_LANGUAGES else "."
    )
    if template is not None and template.day_first is not None:
        day_first, settled = template.day_first, True
    else:
        day_first, settled = detect_day_first(texts, language)
    return _Reading(pages, decimal_mark, day_first, settled, template)


def _set(document: ParsedDocument, name: str, found: _Found[object] | None) -> None:
    if found is not None:
        setattr(document, name, found.value)
        document.provenance[name] = found.provenance()


def _unspaced(text: str) -> str:
    """`W A R E N R E C H N U N G` as `WARENRECHNUNG`: letter-spaced titles are common on German forms."""
    return re.sub(r"\b(?:\w ){3,}\w\b", lambda match: match.group().replace(" ", ""), text)


def _find_title(lines: Sequence[TextLine]) -> _Title | None:
    """The title words on page 1 in the biggest type (the earliest among equals)."""
    candidates = []
    for line in lines:
        text = _unspaced(line.text)
        for rank, (kind, credit_note, pattern) in enumerate(_TITLES):
            for match in pattern.finditer(text):
                title = _Title(kind, credit_note, line, text[match.end():])
                candidates.append((round(line.height, 1), -line.number, -rank, title))
    return max(candidates, key=lambda candidate: candidate[:3])[3] if candidates else None


def _read_kind(reading: _Reading) -> tuple[DocumentKind, _Title | None]:
    title = _find_title(reading.pages[0])
    if reading.template is not None and reading.template.kind is not None:
        return reading.template.kind, title
    if title is None:
        reading.problems.append(Problem(
            "pdf-unknown-kind",
            "no title word says whether this is a confirmation, a ship notice or an invoice",
            "page 1",
        ))
        return DocumentKind.UNKNOWN, None
    if title.credit_note:
        reading.problems.append(Problem(
            "pdf-credit-note", "the document is a credit note: read as an invoice whose amounts are credits",
            title.line.location(),
        ))
    return title.kind, title


def _identifier(text: str, line: TextLine, reading: _Reading) -> str | None:
    match = _IDENTIFIER.match(text)
    value = match.group("value").rstrip(".-/") if match else ""
    return value if re.search(r"\d", value) else None


def _date_value(text: str, line: TextLine, reading: _Reading) -> date | None:
    match = DATE_PATTERN.match(text, _DATE_LEAD.match(text).end())
    return reading.date_in(match.group(), line) if match else None


def _total_value(text: str, line: TextLine, reading: _Reading) -> Decimal | None:
    amounts = find_amounts(text, reading.decimal_mark)
    return amounts[-1] if amounts else None


def _currency_value(text: str, line: TextLine, reading: _Reading) -> str | None:
    match = _CURRENCY_PATTERN.search(text)
    if match is None:
        return None
    return match.group("code") or _CURRENCY_SIGNS[match.group("sign")]


def _read_field(
    reading: _Reading,
    name: FieldName,
    tiers: Sequence[re.Pattern[str]],
    read_value: ValueReader[T],
    pick: Callable[[Iterable[_Found[T]]], _Found[T] | None] | None = None,
) -> _Found[T] | None:
    """The template's value for `name` when it has a rule, else the value after the first label tier that has one;
    `pick` chooses among a tier's hits (the first by default)."""
    found = _template_field(reading, name, read_value)
    for pattern in tiers:
        if found is not None:
            break
        found = (pick or _first_hit)(_label_hits(reading, pattern, read_value))
    return found


def _first_hit(hits: Iterable[_Found[T]]) -> _Found[T] | None:
    return next(iter(hits), None)


def _last_hit(hits: Iterable[_Found[T]]) -> _Found[T] | None:
    """The last hit: a grand total is printed below the subtotals, and repeated at the foot of later pages."""
    last = None
    for last in hits:
        pass
    return last


def _template_field(reading: _Reading, name: FieldName, read_value: ValueReader[T]) -> _Found[T] | None:
    template = reading.template
    pattern = template.fields.get(name) if template is not None else None
    if template is None or pattern is None:
        return None
    for line in reading.lines:
        match = pattern.search(line.text)
        if match is None:
            continue
        text = match.group("value") if "value" in pattern.groupindex else match.group(1 if pattern.groups else 0)
        value = read_value(text, line, reading)
        if value is not None:
            return _Found(value, line, TEMPLATE_CONFIDENCE, f" (template {template.name})")
    return None


def _label_hits(reading: _Reading, pattern: re.Pattern[str], read_value: ValueReader[T]) -> Iterable[_Found[T]]:
    """Values after each label matching `pattern`, or right below the label when nothing fits after it."""
    lines = reading.lines
    for index, line in enumerate(lines):
        for match in pattern.finditer(line.text):
            value = read_value(line.text[match.end():], line, reading)
            if value is not None:
                yield _Found(value, line, LABEL_CONFIDENCE)
                continue
            below = _text_below(lines, index, line.word_at(match.start()).x0, line.word_at(match.end() - 1).x1)
            value = read_value(below[0], below[1], reading) if below else None
            if below and value is not None:
                yield _Found(value, below[1], BELOW_LABEL_CONFIDENCE, f" (below {match.group()!r})")


def _text_below(lines: Sequence[TextLine], index: int, x0: float, x1: float) -> tuple[str, TextLine] | None:
    """The words under the x-range `x0..x1` on the next two lines of the same page (a value printed below its label)."""
    for below in lines[index + 1:index + 3]:
        if below.page != lines[index].page:
            return None
        under = [position for position, word in enumerate(below.words) if word.x1 >= x0 - 2 and word.x0 <= x1 + 2]
        if under:
            cell = [below.words[under[0]]]
            for word in below.words[under[0] + 1:]:
                if word.x0 - cell[-1].x1 > 2 * (word.bottom - word.top):
                    break
                cell.append(word)
            return " ".join(word.text for word in cell), below
    return None


def _read_number(reading: _Reading, kind: DocumentKind, title: _Title | None) -> _Found[str] | None:
    tiers = [pattern for pattern in (_NUMBER_LABELS.get(kind), _GENERIC_NUMBER_LABELS) if pattern is not None]
    return _read_field(reading, "number", tiers, _identifier) or _number_after_title(reading, title)


def _number_after_title(reading: _Reading, title: _Title | None) -> _Found[str] | None:
    """The identifier right after the title (`Invoice INV/2023/0008`), or alone on the line below it."""
    if title is None:
        return None
    rest = _after_title_words(title)
    if rest.strip():
        value = None if DATE_PATTERN.match(rest.strip()) else _whole_identifier(rest, title.line, reading)
        return _Found(value, title.line, 0.7, " (after the title)") if value else None
    page = reading.pages[title.line.page - 1]
    below = page[title.line.number] if title.line.number < len(page) else None
    value = _whole_identifier(below.text, below, reading) if below else None
    return _Found(value, below, 0.6, " (below the title)") if below and value else None


def _after_title_words(title: _Title) -> str:
    """What follows the title, without a type code or number sign (`Handelsrechnung (380) Nr. 471102`)."""
    return re.sub(rf"^\s*(?:\(\d+\))?(?:{_NUMBER_SUFFIX}\.?\s*:?)?", "", title.rest, flags=re.IGNORECASE)


def _whole_identifier(text: str, line: TextLine, reading: _Reading) -> str | None:
    """An identifier that is a whole word of `text` (not `smaystone4` of `smaystone4@fake.com`)."""
    match = _IDENTIFIER.match(text)
    whole = match is not None and (match.end() == len(text) or text[match.end()].isspace())
    return _identifier(text, line, reading) if whole else None


def _date_after_title(reading: _Reading, title: _Title | None) -> _Found[date] | None:
    """The date after the title's number (`Rechnung Nr. 471102 vom 05.06.2018`, `Facture n°56204 du 2 juillet`)."""
    rest = _after_title_words(title) if title is not None else ""
    match = re.match(r"\s*[\w/.\-#]*\d[\w/.\-]*\s+(?:vom|du|del|of|dated|from)\s+", rest)
    value = _date_value(rest[match.end():], title.line, reading) if title is not None and match else None
    return _Found(value, title.line, 0.7, " (after the title)") if title is not None and value else None


def _read_issue_date(reading: _Reading, kind: DocumentKind, title: _Title | None) -> _Found[date] | None:
    tiers = [pattern for pattern in (_DATE_LABELS.get(kind), _GENERIC_DATE_LABELS, _PLAIN_DATE_LABEL) if pattern]
    found = _read_field(reading, "issue_date", tiers, _date_value)
    return found or _date_after_title(reading, title) or _first_date(reading)


def _first_date(reading: _Reading) -> _Found[date] | None:
    for line in reading.lines:
        value = reading.date_in(line.text, line)
        if value is not None:
            return _Found(value, line, HEURISTIC_CONFIDENCE, " (first date on the document)")
    return None


def _read_total(reading: _Reading) -> _Found[Decimal] | None:
    """The grand total: the last labelled one (`Total TTC`, `Gesamtbetrag`...), else the last plain `Total`."""
    found = _read_field(reading, "total", (_TOTAL_LABELS,), _total_value, _last_hit)
    if found is not None:
        return found
    plain = _read_field(reading, "total", (_PLAIN_TOTAL_LABEL,), _total_value, _last_hit)
    return _Found(plain.value, plain.line, 0.7) if plain else None


def _read_currency(reading: _Reading, total: _Found[Decimal] | None) -> _Found[str] | None:
    """The currency by template, on the total's line, after a label (`Währung: EUR`), or the most used on the page."""
    found = _template_field(reading, "currency", _currency_value)
    code = _currency_value(total.line.text, total.line, reading) if total and not found else None
    found = found or (_Found(code, total.line, LABEL_CONFIDENCE) if code else None)
    found = found or next(iter(_label_hits(reading, _CURRENCY_LABELS, _currency_value)), None)
    return found or _most_used_currency(reading)


def _most_used_currency(reading: _Reading) -> _Found[str] | None:
    seen = [(code, line) for line in reading.lines if (code := _currency_value(line.text, line, reading))]
    if not seen:
        return None
    code = Counter(code for code, _ in seen).most_common(1)[0][0]
    line = next(line for seen_code, line in seen if seen_code == code)
    return _Found(code, line, HEURISTIC_CONFIDENCE, " (most used currency)")


def _table_spec(template: PdfTemplate | None) -> TableSpec:
    return template.table.spec() if template is not None and template.table is not None else TableSpec()


def _parsed_line(row: TableRow, reading: _Reading) -> ParsedLine:
    """A table row as a document line: identifiers as printed, numbers and dates by the document's conventions."""
    parsed = ParsedLine()
    cells, mark = row.cells, reading.decimal_mark
    source = Provenance(row.line.location(), TABLE_CONFIDENCE)

    def put(name: str, value: object) -> None:
        if value not in (None, ""):
            setattr(parsed, name, value)
            parsed.provenance[name] = source

    for name in ("line", "po_line", "item", "supplier_item", "description"):
        put(name, cells.get(name))
    if row.continuation:
        wrapped = ", ".join(line.location() for line in row.continuation)
        parsed.provenance["description"] = Provenance(f"{row.line.location()}, wrapped onto {wrapped}", 0.7)
    quantity = cell_number(cells.get("quantity", ""), mark)
    put("quantity", parse_amount(quantity[0], mark) if quantity else None)
    put("uom", cells.get("uom") or (quantity[1] if quantity else None))
    price = cell_number(cells.get("unit_price", ""), mark)
    put("unit_price", parse_amount(price[0], mark) if price else None)
    put("delivery_date", reading.date_in(cells["delivery_date"], row.line) if "delivery_date" in cells else None)
    return parsed


def _row_amount(row: TableRow, mark: str) -> Decimal | None:
    """The row's printed amount, else its quantity times its unit price; None when neither is there."""
    numbers = {kind: cell_number(row.cells.get(kind, ""), mark) for kind in ("amount", "quantity", "unit_price")}
    values = {kind: parse_amount(number[0], mark) if number else None for kind, number in numbers.items()}
    if values["amount"] is not None:
        return values["amount"]
    if values["quantity"] is None or values["unit_price"] is None:
        return None
    return values["quantity"] * values["unit_price"]


def _check_total(document: ParsedDocument, rows: list[TableRow], reading: _Reading) -> None:
    """A `pdf-total-mismatch` problem when the lines add up neither to the total nor to a printed net or subtotal."""
    amounts = [_row_amount(row, reading.decimal_mark) for row in rows]
    if document.total is None or not amounts or any(amount is None for amount in amounts):
        return
    line_sum = sum(amounts, Decimal(0))
    printed = [document.total, *(found.value for found in _label_hits(reading, _NET_LABELS, _total_value))]
    if any(abs(line_sum - value) <= Decimal("0.01") for value in printed):
        return
    reading.problems.append(Problem(
        "pdf-total-mismatch",
        f"the lines add up to {line_sum}, but the document's total is {document.total}",
        document.provenance["total"].source,
    ))


_WANTED_FIELDS = {"number": "document number", "po_number": "PO number", "issue_date": "issue date"}
_WANTED_INVOICE_FIELDS = {"currency": "currency", "total": "total"}


def _missing_field_problems(document: ParsedDocument) -> list[Problem]:
    wanted = _WANTED_FIELDS | (_WANTED_INVOICE_FIELDS if document.kind is DocumentKind.INVOICE else {})
    problems = [
        Problem(f"pdf-no-{name.replace('_', '-')}", f"no {label} found on the document")
        for name, label in wanted.items()
        if getattr(document, name) is None
    ]
    if not document.lines:
        problems.append(Problem("pdf-no-line-table", "no line table found: no header line names a quantity column"))
    return problems
