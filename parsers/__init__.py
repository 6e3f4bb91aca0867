"""parsers/: every way a supplier confirms, ships and invoices, read into `poguard.domain.ParsedDocument`.

The registry below lists the parsers; `choose_parser` picks one from the content, never the file name.
An e-mail's attachments go back through `parse`, so each is read by the parser its content calls for.
"""

from __future__ import annotations

from parsers.base import Parser
from parsers.edifact import EdifactParser
from parsers.email_message import EmailMessageParser
from parsers.email_text import EmailTextParser
from parsers.pdf import PdfParser
from parsers.spreadsheet import SpreadsheetParser
from parsers.x12 import X12Parser
from poguard.domain import ParsedDocument
from poguard.errors import ParseError

__all__ = ["Parser", "REGISTRY", "choose_parser", "parse"]

MIN_SNIFF_SCORE = 0.5


def parse(raw: bytes) -> list[ParsedDocument]:
    """Read every document in `raw` with the parser chosen from its content."""
    return choose_parser(raw).parse(raw)


_TEXT = EmailTextParser()
REGISTRY: tuple[Parser, ...] = (
    EdifactParser(),
    X12Parser(),
    PdfParser(),
    EmailMessageParser(attachment_parser=parse, text_parser=_TEXT),
    SpreadsheetParser(),
    _TEXT,
)


def choose_parser(raw: bytes, registry: tuple[Parser, ...] = REGISTRY) -> Parser:
    """The parser most sure it can read `raw`; a tie between two names both."""
    scored = sorted(((parser.sniff(raw), parser) for parser in registry), key=lambda pair: -pair[0])
    if not scored or scored[0][0] < MIN_SNIFF_SCORE:
        raise ParseError(
            "no parser recognises this content",
            code="format-unrecognised",
            hint="poguard reads EDIFACT, X12, PDF with a text layer, e-mail (.eml), supplier text, CSV and XLSX",
        )
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        raise ParseError(
            f"parsers {scored[0][1].name!r} and {scored[1][1].name!r} both claim this content",
            code="format-ambiguous",
        )
    return scored[0][1]
