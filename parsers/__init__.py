"""parsers/: every way a supplier confirms, ships and invoices, read into `poguard.domain.ParsedDocument`.

The registry lists the parsers; `choose_parser` picks one from the content, never the file name. An
e-mail's attachments go back through the same registry, so each is read by the parser its content calls for.
`build_registry` makes a registry whose PDF reader knows the configured templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from parsers.base import Parser
from parsers.edifact import EdifactParser
from parsers.email_message import EmailMessageParser
from parsers.email_text import EmailTextParser
from parsers.pdf import PdfParser
from parsers.spreadsheet import SpreadsheetParser
from parsers.x12 import X12Parser
from poguard.domain import ParsedDocument
from poguard.errors import ParseError

__all__ = ["Parser", "REGISTRY", "build_registry", "choose_parser", "parse", "template_files"]

MIN_SNIFF_SCORE = 0.5


def template_files(paths: Sequence[Path]) -> tuple[Path, ...]:
    """The PDF template files named, and the `*.toml` files in the folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    return tuple(files)


@lru_cache(maxsize=8)
def build_registry(pdf_templates: tuple[Path, ...] = ()) -> tuple[Parser, ...]:
    """Every parser, the PDF reader with the given templates; an e-mail's attachments go through the same set."""
    text = EmailTextParser()

    def parse_attachment(raw: bytes) -> list[ParsedDocument]:
        return parse(raw, registry)

    registry: tuple[Parser, ...] = (
        EdifactParser(),
        X12Parser(),
        PdfParser(templates=pdf_templates),
        EmailMessageParser(attachment_parser=parse_attachment, text_parser=text),
        SpreadsheetParser(),
        text,
    )
    return registry


REGISTRY = build_registry()


def parse(raw: bytes, registry: tuple[Parser, ...] = REGISTRY) -> list[ParsedDocument]:
    """Read every document in `raw` with the parser chosen from its content."""
    return choose_parser(raw, registry).parse(raw)


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
