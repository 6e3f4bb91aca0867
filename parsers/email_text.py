"""Free-text supplier mails ("Line 2 we can only do 650 pcs by 12/18") read into `ParsedDocument`s.

Vocabulary
- *reply*: the part of a mail body the supplier wrote now, without quoted history and signature.
- *clause*: a sentence, cut again at "but"-words and before each line reference; values and intent
  words are read per clause and belong to the line the clause names.
- *intent*: what a clause says about the order: confirm, partial, reject, change, shipped or other.
  A document's intent decides its kind, a line's intent its status.

spaCy runs without a model: a blank pipeline per language (chosen by counting stop words) with a
sentencizer and a rule-based `Matcher`. Numbers and dates are read by `parsers.numbers` (`parse_decimal`,
`parse_numeric_date`, shared with the spreadsheet reader).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import spacy
from bs4 import BeautifulSoup
from mailparser_reply.parser import EmailMessage
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import compile_suffix_regex, filter_spans

from parsers.numbers import YEAR_INFERRED_CONFIDENCE, next_occurrence, parse_decimal, parse_numeric_date, safe_date
from poguard.domain import DocumentKind, LineStatus, ParsedDocument, ParsedLine, Problem, Provenance

__all__ = [
    "EmailTextParser",
    "Intent",
    "guess_language",
    "html_to_text",
    "latest_reply",
]

NAME = "email_text"
LANGUAGES = ("en", "de", "fr", "es")
PHRASE_CONFIDENCE = 0.8
INHERITED_CONFIDENCE = 0.6
SNIFF_SCORE = 0.6
MAX_TEXT = 20_000
SNIFF_PO_ONLY_SCORE = 0.3
SNIFF_PREFIX_BYTES = 8192


class Intent(StrEnum):
    """What a supplier's words say about an order or a line."""

    CONFIRM = "confirm"
    PARTIAL = "partial"
    REJECT = "reject"
    CHANGE = "change"
    SHIPPED = "shipped"
    OTHER = "other"


_KIND = {
    Intent.CONFIRM: DocumentKind.ACKNOWLEDGMENT,
    Intent.PARTIAL: DocumentKind.ACKNOWLEDGMENT,
    Intent.REJECT: DocumentKind.ACKNOWLEDGMENT,
    Intent.CHANGE: DocumentKind.CHANGE_REQUEST,
    Intent.SHIPPED: DocumentKind.SHIP_NOTICE,
    Intent.OTHER: DocumentKind.UNKNOWN,
}

_STATUS = {
    Intent.CONFIRM: LineStatus.ACCEPTED,
    Intent.PARTIAL: LineStatus.CHANGED,
    Intent.CHANGE: LineStatus.CHANGED,
    Intent.REJECT: LineStatus.REJECTED,
}

# When one clause holds several intent words, the first of this order wins: "only 650 confirmed" is partial.
_PRECEDENCE = (Intent.REJECT, Intent.PARTIAL, Intent.CHANGE, Intent.SHIPPED, Intent.CONFIRM)

# Longest match wins, so negated changes ("no changes", "ohne Änderung") are listed as confirmations.
_INTENT_WORDS: dict[str, dict[Intent, tuple[str, ...]]] = {
    "en": {
        Intent.CONFIRM: ("confirm", "confirmed", "confirming", "confirmation", "is fine", "are fine", "fine",
                         "ok", "okay", "accept", "accepted", "as ordered", "no problem", "no changes",
                         "without changes", "without any changes", "unchanged", "all good", "good to go",
                         "as requested", "acknowledge", "acknowledged"),
        Intent.PARTIAL: ("can only do", "we can only do", "can only", "only", "partial", "partially", "balance",
                         "backorder", "back order", "backordered", "remaining", "short"),
        Intent.REJECT: ("cannot", "can't", "can not", "unable", "not available", "unavailable", "discontinued",
                        "reject", "rejected", "decline", "declined", "out of stock", "no longer", "cancel",
                        "cancelled", "canceled"),
        Intent.CHANGE: ("change", "changed", "changes", "instead of", "new price", "new date", "moved to",
                        "postpone", "postponed", "delay", "delayed", "increase", "increased", "revised",
                        "reschedule", "rescheduled", "pushed out", "price adjustment"),
        Intent.SHIPPED: ("shipped", "dispatched", "has shipped", "on its way", "tracking number", "sent out",
                         "left our warehouse"),
    },
    "de": {
        Intent.CONFIRM: ("bestätigen", "bestätigt", "bestätige", "bestätigung", "in ordnung", "ok", "okay",
                         "akzeptiert", "akzeptieren", "wie bestellt", "passt", "ohne änderung", "ohne änderungen",
                         "keine änderungen", "unverändert"),
        Intent.PARTIAL: ("nur", "können nur", "teillieferung", "teilweise", "restmenge", "rest", "rückstand"),
        Intent.REJECT: ("nicht lieferbar", "können nicht", "abgelehnt", "ablehnen", "nicht verfügbar",
                        "ausverkauft", "entfällt", "storniert", "stornieren", "leider nicht"),
        Intent.CHANGE: ("ändern", "geändert", "änderung", "änderungen", "statt", "anstatt", "verschoben",
                        "verschieben", "neuer preis", "neuer liefertermin", "verzögert", "verzögerung",
                        "preiserhöhung"),
        Intent.SHIPPED: ("versandt", "versendet", "verschickt", "ausgeliefert", "sendungsnummer",
                         "unterwegs"),
    },
    "fr": {
        Intent.CONFIRM: ("confirmons", "confirmé", "confirmée", "confirme", "confirmation", "accepté", "acceptée",
                         "acceptons", "d'accord", "ok", "conforme", "sans modification", "sans modifications",
                         "sans changement", "bien reçu"),
        Intent.PARTIAL: ("seulement", "uniquement", "ne pouvons livrer que", "que partiellement", "partielle", "partiellement", "reliquat", "solde"),
        Intent.REJECT: ("ne pouvons pas", "impossible", "refusé", "refusée", "refusons", "rupture",
                        "indisponible", "pas disponible", "plus fabriqué", "annulé", "annulée"),
        Intent.CHANGE: ("modifier", "modifié", "modifiée", "modification", "au lieu de", "reporté", "reportée",
                        "reporter", "retard", "nouveau prix", "nouvelle date", "décalé", "décalée"),
        Intent.SHIPPED: ("expédié", "expédiée", "expédiés", "expédiées", "numéro de suivi", "en route"),
    },
    "es": {
        Intent.CONFIRM: ("confirmamos", "confirmado", "confirmada", "confirmo", "confirmación", "aceptado",
                         "aceptada", "aceptamos", "de acuerdo", "ok", "conforme", "sin cambios",
                         "sin modificaciones"),
        Intent.PARTIAL: ("solo", "sólo", "solamente", "parcial", "parcialmente", "resto", "pendiente"),
        Intent.REJECT: ("no podemos", "rechazado", "rechazada", "rechazamos", "no disponible", "agotado",
                        "descatalogado", "sin stock", "anulado", "cancelado"),
        Intent.CHANGE: ("cambiar", "cambio", "cambiado", "modificar", "modificado", "modificación",
                        "en lugar de", "retraso", "retrasado", "aplazado", "nuevo precio", "nueva fecha"),
        Intent.SHIPPED: ("enviado", "enviada", "enviados", "despachado", "expedido", "número de seguimiento"),
    },
}

_STOP_WORDS = {
    "en": {"the", "and", "we", "you", "your", "is", "are", "for", "with", "of", "to", "thanks", "can", "will",
           "be", "this", "our", "please", "by", "it", "on", "in"},
    "de": {"der", "die", "das", "und", "wir", "ihre", "ihr", "sie", "ist", "mit", "für", "von", "bitte", "nicht",
           "den", "dem", "zu", "auf", "hiermit", "können", "werden", "vielen", "dank"},
    "fr": {"le", "les", "et", "nous", "vous", "votre", "vos", "est", "pour", "avec", "des", "du", "pas", "ne",
           "une", "merci", "bien", "au", "sur"},
    "es": {"el", "los", "las", "y", "su", "sus", "usted", "es", "para", "con", "del", "por", "una", "gracias",
           "podemos", "muy", "estimado", "saludos"},
}

_ORDER_WORDS = {
    "en": ("order", "line", "item", "delivery", "quantity", "price", "regarding", "today"),
    "de": ("bestellung", "position", "liefertermin", "lieferung", "menge", "preis", "wurde", "heute", "zur"),
    "fr": ("commande", "ligne", "livraison", "quantité", "prix", "été", "aujourd", "la"),
    "es": ("pedido", "línea", "entrega", "cantidad", "precio", "fue", "hoy", "la"),
}
PO_WORDS = ("po", "p.o.", "po#", "purchase order", "order", "bestellung", "auftrag", "bestellnummer", "commande",
            "bon de commande", "pedido", "orden de compra", "orden")
_PO_FILLERS = ("#", "no", "no.", "nr", "nr.", "n°", "nº", "n.º", "núm", "núm.", "number", "nummer", "numéro",
               "número", ":", "-", "ref", "ref.")
LINE_WORDS = ("line", "lines", "item", "items", "pos", "pos.", "position", "positions", "positionen", "ligne",
              "lignes", "línea", "líneas", "linea", "lineas", "posición", "posiciones", "partida")
_LIST_JOINERS = (",", "and", "&", "und", "et", "y", "+", "/")
_QTY_WORDS = ("qty", "qty.", "quantity", "menge", "anzahl", "quantité", "qté", "cantidad")
_UNIT_WORDS = ("pcs", "pc", "pce", "pieces", "piece", "ea", "each", "units", "unit", "stück", "stk", "stck",
               "st.", "pièces", "pièce", "pcs.", "unidades", "unidad", "uds", "uds.", "kg", "kgs", "g", "t", "lb",
               "lbs", "m", "mm", "l", "sets", "set", "pairs", "pair", "paar", "boxes", "box", "rolls", "roll")
_CURRENCIES = {"$": "USD", "us$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
               "£": "GBP", "gbp": "GBP", "chf": "CHF", "sek": "SEK", "pln": "PLN", "cad": "CAD"}
_SPLITTERS = ("but", "however", "aber", "jedoch", "allerdings", "mais", "cependant", "pero", "sin embargo", ";")

_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene"),
            ("february", "feb", "februar", "février", "févr", "fevrier", "febrero"),
            ("march", "mar", "märz", "maerz", "mars", "marzo"),
            ("april", "apr", "avril", "avr", "abril", "abr"),
            ("may", "mai", "mayo"),
            ("june", "jun", "juni", "juin", "junio"),
            ("july", "jul", "juli", "juillet", "juil", "julio"),
            ("august", "aug", "août", "aout", "agosto", "ago"),
            ("september", "sep", "sept", "septembre", "septiembre", "setiembre"),
            ("october", "oct", "oktober", "okt", "octobre", "octubre"),
            ("november", "nov", "novembre", "noviembre"),
            ("december", "dec", "dezember", "dez", "décembre", "decembre", "diciembre", "dic"),
        ),
        start=1,
    )
    for name in names
}
# A month name alone is vague only when it reads as one: "in January", not "may" or "mar".
_VAGUE_MONTHS = tuple(name for name in _MONTHS if len(name) > 4 or name in ("juni", "juli", "juin", "août"))
_VAGUE_PHRASES = ("next week", "this week", "end of month", "end of the month", "asap", "nächste woche",
                  "diese woche", "semaine prochaine", "la semaine prochaine", "próxima semana",
                  "la próxima semana")

_DAY = r"^(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th|er)?$"
_YEAR = r"^(?:19|20)\d{2}$"
_NUMBER = r"^\d{1,3}(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$"
_NUMERIC_DATE = r"^\d{1,2}/\d{1,2}(?:/\d{2,4})?$|^\d{1,2}[.-]\d{1,2}[.-]\d{2,4}$|^\d{4}-\d{2}-\d{2}$"
_PO_NUMBER = r"^(?:po-?)?\d{4,}(?:[-/]\d{2,})*$"
_FUSED_QUANTITY = re.compile(r"^(\d[\d.,]*)(" + "|".join(re.escape(u) for u in _UNIT_WORDS) + r")$", re.IGNORECASE)

_DIGIT_GROUP_SPACE = re.compile(r"(?<=\d)[\u00a0\u202f\u2009](?=\d{3}\b)|(?<=\d)(?<!\d{4}) (?=\d{3}[.,]\d{1,2}\b)")
_QUOTED_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
# Headers that start quoted history which mail-parser-reply misses (localised "Original Message" rules, and
# "wrote:" lines wrapped by the mail client).
_HISTORY_START = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado)\s*-{2,}\s*$"
    r"|^.{0,200}\b(?:wrote|schrieb|a écrit|escribió)\s*:\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_HTML_HINT = re.compile(r"<\s*(?:html|body|div|p|br|table|span)\b", re.IGNORECASE)
_BLOCK_TAGS = ("p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote", "section")
_QUOTE_SELECTORS = ("blockquote", "div.gmail_quote", "div#divRplyFwdMsg", "div#appendonsend", "div.moz-cite-prefix")

_SNIFF_PO = re.compile(
    r"(?i)(?<![\w])(?:" + "|".join(re.escape(word) for word in PO_WORDS) + r")\s*(?:#|no\.?|nr\.?|n[°º]|n\.º|"
    r"number|nummer|numéro|número|:|-|\s)*\s*\d{4,}"
)
# EDI, PDF, zip (XLSX), OLE and JSON or XML data: never free text from a supplier.
_NOT_TEXT_PREFIXES = (b"UNA", b"UNB", b"ISA", b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"{", b"[", b"<?xml")
_MIME_HEADER = re.compile(rb"^(?:From |(?:Return-Path|Received|From|Message-ID|MIME-Version|Date|Subject|To|"
                          rb"Delivered-To|Content-Type|X-[\w-]+):)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- numbers, dates


def _shows_day_first(text: str) -> bool:
    """Day-first evidence in an English text: a slashed date whose first part cannot be a month."""
    return any(int(first) > 12 for first in re.findall(r"\b(\d{1,2})/\d{1,2}\b", text))


# ----------------------------------------------------------------------------------------- text preparation


def html_to_text(html: str) -> str:
    """The visible text of an HTML body, blocks on their own lines, quoted replies left out."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.select(", ".join(("script", "style", "head") + _QUOTE_SELECTORS)):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
    for cell in soup.find_all(("td", "th")):
        cell.insert_after(" ")
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def latest_reply(text: str) -> str:
    """What the sender wrote now: quoted history and the signature are cut off."""
    history = _HISTORY_START.search(text)
    if history:
        text = text[: history.start()]
    text = _QUOTED_LINE.sub("", text)
    message = EmailMessage(text=text, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
    if not message.replies:
        return ""
    return message.replies[0].body


def guess_language(text: str) -> str:
    """The language among en/de/fr/es whose stop words and order words occur most often; English on a tie."""
    words = re.findall(r"\w+", text.lower())
    scores = {lang: sum(word in _language_words(lang) for word in words) for lang in LANGUAGES}
    return max(LANGUAGES, key=lambda lang: scores[lang])


@functools.cache
def _language_words(lang: str) -> frozenset[str]:
    intent_words = {word for words in _INTENT_WORDS[lang].values() for phrase in words for word in phrase.split()}
    return frozenset((intent_words | _STOP_WORDS[lang] | set(_ORDER_WORDS[lang])) - {"ok", "okay"})


def _looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text[:2000]))


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


# ------------------------------------------------------------------------------------------- spaCy pipelines


def _phrase(nlp: Language, text: str) -> list[dict[str, Any]]:
    """A Matcher pattern for `text` as this pipeline tokenizes it (so "can't" and "d'accord" need no care)."""
    return [{"LOWER": token.lower_} for token in nlp.make_doc(text)]


def _words_in(words: Iterable[str]) -> dict[str, Any]:
    return {"LOWER": {"IN": list(words)}}


def _regex(pattern: str) -> dict[str, Any]:
    return {"LOWER": {"REGEX": pattern}}


def _entity_patterns(nlp: Language) -> dict[str, list[list[dict[str, Any]]]]:
    number = _regex(_NUMBER)
    fillers = {"LOWER": {"IN": list(_PO_FILLERS)}, "OP": "*"}
    return {
        "PO_REF": [[*_phrase(nlp, word), fillers, _regex(_PO_NUMBER)] for word in PO_WORDS]
        + [[_regex(r"^po-?\d{4,}(?:[-/]\d{2,})*$")]],
        "LINE_REF": [
            [_words_in(LINE_WORDS), {"ORTH": ".", "OP": "?"}, {"LOWER": {"IN": ["#", "no", "no.", "nr", "nr.", "n°"]},
             "OP": "?"}, _regex(r"^\d{1,3}$"), {"LOWER": {"IN": list(_LIST_JOINERS)}, "OP": "?"},
             _regex(r"^\d{1,3}$")],
            [_words_in(LINE_WORDS), {"ORTH": ".", "OP": "?"}, {"LOWER": {"IN": ["#", "no", "no.", "nr", "nr.", "n°"]},
             "OP": "?"}, _regex(r"^\d{1,3}$")],
        ],
        "QUANTITY": [
            [number, _words_in(_UNIT_WORDS)],
            [_regex(_FUSED_QUANTITY.pattern)],
            [_words_in(_QTY_WORDS), {"IS_PUNCT": True, "OP": "?"}, number, _words_in(_UNIT_WORDS)],
            [_words_in(_QTY_WORDS), {"IS_PUNCT": True, "OP": "?"}, number],
        ],
        "MONEY": [
            [_words_in(_CURRENCIES), number],
            [number, _words_in(_CURRENCIES)],
        ],
        "DATE": [
            [_regex(_NUMERIC_DATE)],
            [_regex(r"^\d{1,2}\.\d{1,2}$"), {"ORTH": "."}],
            [_regex(_DAY), {"ORTH": ".", "OP": "?"}, {"LOWER": "de", "OP": "?"}, _words_in(_MONTHS),
             {"ORTH": ".", "OP": "?"}, {"LOWER": "de", "OP": "?"}, _regex(_YEAR)],
            [_regex(_DAY), {"ORTH": ".", "OP": "?"}, {"LOWER": "de", "OP": "?"}, _words_in(_MONTHS)],
            [_words_in(_MONTHS), {"ORTH": ".", "OP": "?"}, _regex(_DAY), {"ORTH": ",", "OP": "?"}, _regex(_YEAR)],
            [_words_in(_MONTHS), {"ORTH": ".", "OP": "?"}, _regex(_DAY)],
        ],
        "VAGUE_DATE": [[_words_in(_VAGUE_MONTHS)], [_words_in(("kw", "cw", "week", "semaine", "semana")),
                                                    _regex(r"^\d{1,2}$")]],
    }


def _vague_phrases(nlp: Language) -> list[list[dict[str, Any]]]:
    return [_phrase(nlp, words) for words in _VAGUE_PHRASES]


@functools.cache
def _pipeline(lang: str) -> tuple[Language, Matcher]:
    """A blank pipeline for `lang` with poguard's matcher, built once per process on first use."""
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    # A German final period stays on the token ("4500017002."), and grouped numbers split at "-": both fixed.
    nlp.tokenizer.suffix_search = compile_suffix_regex([*nlp.Defaults.suffixes, r"(?<=\d)\."]).search
    nlp.tokenizer.token_match = re.compile(r"^\d+(?:[-/.,]\d+)+$").match
    matcher = Matcher(nlp.vocab)
    for label, patterns in _entity_patterns(nlp).items():
        matcher.add(label, patterns)
    matcher.add("VAGUE_DATE", _vague_phrases(nlp))
    for intent, phrases in _INTENT_WORDS[lang].items():
        matcher.add(f"INTENT_{intent.value}", [_phrase(nlp, phrase) for phrase in phrases])
    matcher.add("SPLIT", [_phrase(nlp, word) for word in _SPLITTERS])
    return nlp, matcher


# ---------------------------------------------------------------------------------------------- clauses


@dataclass(slots=True)
class _Clause:
    """What one clause says: the lines it names and the values and intent words in it."""

    text: str
    lines: list[str] = field(default_factory=list)
    line_span: str | None = None
    intents: list[tuple[Intent, str]] = field(default_factory=list)
    quantity: Span | None = None
    money: Span | None = None
    date: Span | None = None
    vague: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def intent(self) -> tuple[Intent, str] | None:
        for wanted in _PRECEDENCE:
            for intent, source in self.intents:
                if intent == wanted:
                    return intent, source
        return None

    def has_values(self) -> bool:
        return any(value is not None for value in (self.quantity, self.money, self.date))


def _matches(doc: Doc, matcher: Matcher) -> dict[str, list[Span]]:
    """The longest non-overlapping spans per family (entities, intents)."""
    spans: dict[str, list[Span]] = {}
    for match_id, start, end in matcher(doc):
        label = doc.vocab.strings[match_id]
        spans.setdefault(label.split("_")[0] if label.startswith("INTENT_") else label, []).append(
            Span(doc, start, end, label=label)
        )
    found_spans = {family: filter_spans(found) for family, found in spans.items()}
    found_spans["DATE"] = _without_order_dates(found_spans.get("DATE", []), found_spans.get("PO_REF", []))
    return found_spans


def _without_order_dates(dates: list[Span], po_refs: list[Span]) -> list[Span]:
    """Drop the date right after a PO reference ("Bestellung 4500017002 vom 20.11.2026"): the order's date."""
    po_ends = {span.end for span in po_refs}
    return [span for span in dates if not po_ends & {span.start, span.start - 1}]


def _clause_starts(doc: Doc, spans: dict[str, list[Span]]) -> list[int]:
    starts = {sentence.start for sentence in doc.sents}
    starts.update(token.i for token in doc if token.is_space and "\n" in token.text)
    starts.update(span.start for span in spans.get("SPLIT", []))
    starts.update(span.start for span in spans.get("LINE_REF", []))
    return sorted(starts | {len(doc)})


def _clauses(doc: Doc, spans: dict[str, list[Span]]) -> list[_Clause]:
    """The doc cut at sentences, "but"-words and line references, each piece with the spans inside it."""
    starts = _clause_starts(doc, spans)
    taken = {index for family in ("PO_REF", "QUANTITY", "MONEY", "DATE", "VAGUE_DATE", "LINE_REF", "INTENT", "SPLIT")
             for span in spans.get(family, []) for index in range(span.start, span.end)}
    clauses = []
    for start, end in zip(starts, starts[1:]):
        inside = {family: [s for s in found if start <= s.start < end] for family, found in spans.items()}
        clauses.append(_clause(doc[start:end], inside, taken))
    return clauses


def _clause(piece: Span, spans: dict[str, list[Span]], taken: set[int]) -> _Clause:
    clause = _Clause(text=piece.text)
    for line_ref in spans.get("LINE_REF", []):
        clause.lines.extend(token.text for token in line_ref if token.like_num)
        clause.line_span = clause.line_span or line_ref.text
    clause.intents = [(Intent(span.label_.removeprefix("INTENT_")), span.text) for span in spans.get("INTENT", [])]
    clause.quantity = next(iter(spans.get("QUANTITY", [])), None)
    clause.money = next(iter(spans.get("MONEY", [])), None)
    clause.date = next(iter(spans.get("DATE", [])), None)
    clause.vague = [_vague_context(span) for span in spans.get("VAGUE_DATE", [])]
    free = [token for token in piece if token.i not in taken]
    clause.codes = [token.text for token in free if _is_code(token.text)]
    clause.words = [token.text for token in free if _is_item_word(token.text, piece.doc.lang_)]
    return clause


def _vague_context(span: Span) -> str:
    """The vague date with the words before it back to the previous punctuation: "balance in January"."""
    start = span.start
    while start > max(span.sent.start, span.start - 3) and not span.doc[start - 1].is_punct:
        start -= 1
    return span.doc[start: span.end].text


def _is_code(text: str) -> bool:
    return bool(re.search(r"\d", text) and re.search(r"[A-Za-z]", text) and len(text) >= 3)


_GENERIC_WORDS = {
    "delivery", "date", "order", "price", "quantity", "qty", "pcs", "thanks", "thank", "please", "regards", "we",
    "ship", "deliver", "lieferung", "liefertermin", "liefern", "termin", "preis", "menge", "danke", "livraison",
    "prix", "quantité", "merci", "livrer", "entrega", "precio", "cantidad", "gracias", "entregar", "fecha",
}


def _is_item_word(text: str, lang: str) -> bool:
    lowered = text.lower()
    if not re.fullmatch(r"[^\W\d_][\w\-/]*|[\w\-/]*\d[\w\-/]*", text) or lowered in _GENERIC_WORDS:
        return False
    return lowered not in _stop_words(lang) and lowered not in _MONTHS and not lowered.isdigit()


@functools.cache
def _stop_words(lang: str) -> frozenset[str]:
    return frozenset(_pipeline(lang)[0].Defaults.stop_words) | _STOP_WORDS[lang]


# --------------------------------------------------------------------------------------------- the parser


@dataclass(slots=True)
class _Reading:
    """Everything needed to turn clauses into values: language, locale and the date to count years from."""

    lang: str
    day_first: bool
    reference: date
    currency: str | None = None
    problems: list[Problem] = field(default_factory=list)


class EmailTextParser:
    """Reads a supplier's free-text mail (plain text or HTML, not MIME) into one document per PO reference."""

    name = NAME

    def __init__(self, reference_date: date | None = None):
        self.reference_date = reference_date

    def sniff(self, raw: bytes) -> float:
        """≥0.6 for text naming a PO and order words; 0.0 for EDI, PDF, MIME, spreadsheets and binaries."""
        head = raw[:SNIFF_PREFIX_BYTES]
        if b"\x00" in head or head.lstrip().startswith(_NOT_TEXT_PREFIXES) or _MIME_HEADER.match(head.lstrip()):
            return 0.0
        text = _decode(head)
        if _looks_like_csv(text) or not _SNIFF_PO.search(text):
            return 0.0
        lowered = text.lower()
        order_words = (*LINE_WORDS, *(w for words in _INTENT_WORDS.values() for ws in words.values() for w in ws))
        if any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lowered) for word in order_words):
            return SNIFF_SCORE
        return SNIFF_PO_ONLY_SCORE

    def parse(self, raw: bytes) -> list[ParsedDocument]:
        """The documents in a plain-text or HTML body; no document when it names no PO."""
        return self.parse_text(_decode(raw))

    def parse_text(self, text: str, *, subject: str = "", sent: date | None = None, day_first: bool | None = None
                   ) -> list[ParsedDocument]:
        """The document in `text`: the PO it names (else the one in `subject`), its lines and their intent.

        `sent` is the message date: the issue date, and the date a year-less "12/18" is counted from.
        `day_first` is the sender's date order when known (a UK domain); otherwise the language decides.
        """
        body = latest_reply(html_to_text(text) if _looks_like_html(text) else text)
        body = _DIGIT_GROUP_SPACE.sub("", body)
        lang = guess_language(body)
        nlp, matcher = _pipeline(lang)
        doc = nlp(body[:MAX_TEXT])
        spans = _matches(doc, matcher)
        po_span = next(iter(spans.get("PO_REF", [])), None) or _subject_po(subject, lang)
        if po_span is None:
            return []
        reading = _Reading(lang, _day_first(lang, body, day_first), sent or self.reference_date or date.today())
        document = _document(po_span, _clauses(doc, spans), reading, sent)
        if len(body) > MAX_TEXT:
            document.problems.append(Problem(
                "email-text-truncated", f"only the first {MAX_TEXT} of {len(body)} characters were read", f"character {MAX_TEXT}"))
        return [document]


def _looks_like_csv(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max(first.count(","), first.count(";"), first.count("\t")) >= 3 and len(first.split()) <= 3


def _subject_po(subject: str, lang: str) -> Span | None:
    nlp, matcher = _pipeline(lang)
    return next(iter(_matches(nlp(subject[:500]), matcher).get("PO_REF", [])), None)


def _day_first(lang: str, body: str, hint: bool | None) -> bool:
    if lang != "en":
        return True
    return _shows_day_first(body) if hint is None else hint or _shows_day_first(body)


def _po_number(span: Span) -> str:
    number = span[-1].text
    return re.sub(r"^(?i:po)-?", "", number)


def _document(po_span: Span, clauses: Sequence[_Clause], reading: _Reading, sent: date | None) -> ParsedDocument:
    drafts, general = _assign_lines(clauses, reading)
    intent, source = _document_intent(drafts, general)
    document = ParsedDocument(
        kind=_KIND[intent],
        parser=NAME,
        status=_STATUS.get(intent, LineStatus.UNKNOWN),
        po_number=_po_number(po_span),
        issue_date=sent,
        currency=reading.currency,
        lines=[_inherit_intent(draft, general) for draft in drafts],
        problems=reading.problems + _unassigned_problems(general),
        provenance={"po_number": Provenance(f"text {po_span.text!r}")},
    )
    if source is not None:
        document.provenance["intent"] = Provenance(_intent_source(source), PHRASE_CONFIDENCE)
    return document


def _intent_source(source: str) -> str:
    return source if source.startswith("text ") else f"text {source!r}"


@dataclass(slots=True)
class _Draft:
    """A line being read, with the intent its clauses said."""

    line: ParsedLine
    intent: Intent | None = None

    def location(self) -> str:
        if self.line.line:
            return f"line {self.line.line}"
        return f"item {self.line.description or ', '.join(self.line.other_ids)}"


def _assign_lines(clauses: Sequence[_Clause], reading: _Reading) -> tuple[list[_Draft], list[_Clause]]:
    """Lines from clauses that name one, by number or by item words; a clause naming nothing continues the
    line before it when it carries values, else it speaks for the whole document."""
    drafts: dict[str, _Draft] = {}
    general: list[_Clause] = []
    last: list[_Draft] = []
    for clause in clauses:
        targets = _targets(clause, drafts, last)
        if not targets:
            general.append(clause)
            continue
        for draft in targets:
            _apply(clause, draft, reading)
        last = targets
    return list(drafts.values()), general


def _targets(clause: _Clause, drafts: dict[str, _Draft], last: list[_Draft]) -> list[_Draft]:
    if clause.lines:
        return [drafts.setdefault(number, _numbered_line(number, clause)) for number in clause.lines]
    if (clause.codes or clause.words) and clause.has_values():
        key = " ".join(clause.words or clause.codes)
        return [drafts.setdefault(key, _described_line(clause))]
    return last if clause.has_values() or clause.vague else []


def _numbered_line(number: str, clause: _Clause) -> _Draft:
    return _Draft(ParsedLine(line=number, po_line=number,
                             provenance={"line": Provenance(f"text {clause.line_span!r}")}))


def _described_line(clause: _Clause) -> _Draft:
    line = ParsedLine(
        description=" ".join(clause.words) or None,
        other_ids=tuple(clause.codes),
        provenance={"description": Provenance(f"text {clause.text.strip()!r}", PHRASE_CONFIDENCE)},
    )
    return _Draft(line)


def _apply(clause: _Clause, draft: _Draft, reading: _Reading) -> None:
    """Set what `clause` says on the line; the first value said for a field stays."""
    line = draft.line
    intent = clause.intent()
    if intent is not None and (draft.intent is None or _PRECEDENCE.index(intent[0]) < _PRECEDENCE.index(draft.intent)):
        _set_intent(draft, intent, PHRASE_CONFIDENCE)
    if clause.quantity is not None and line.quantity is None:
        _set_quantity(clause.quantity, line, reading)
    if clause.money is not None and line.unit_price is None:
        _set_price(clause.money, line, reading)
    if clause.date is not None and line.delivery_date is None:
        _set_date(clause.date, line, reading)
    reading.problems.extend(_vague_problem(text, draft.location()) for text in clause.vague)


def _set_intent(draft: _Draft, intent: tuple[Intent, str], confidence: float) -> None:
    draft.intent = intent[0]
    draft.line.status = _STATUS.get(intent[0], LineStatus.UNKNOWN)
    draft.line.provenance["intent"] = Provenance(f"text {intent[1]!r}", confidence)


def _set_quantity(span: Span, line: ParsedLine, reading: _Reading) -> None:
    number, unit = _quantity_parts(span)
    quantity = parse_decimal(number, decimal_comma=reading.lang != "en")
    if quantity is None:
        return
    line.quantity = quantity
    line.uom = unit.upper().rstrip(".") if unit else None
    line.provenance["quantity"] = Provenance(f"text {span.text!r}")


def _quantity_parts(span: Span) -> tuple[str, str | None]:
    fused = _FUSED_QUANTITY.match(span.text)
    if fused:
        return fused.group(1), fused.group(2)
    numbers = [token for token in span if token.like_num or re.match(r"\d", token.text)]
    units = [token.text for token in span if token.lower_ in _UNIT_WORDS]
    return numbers[0].text, (units[0] if units else None)


def _set_price(span: Span, line: ParsedLine, reading: _Reading) -> None:
    number = next(token.text for token in span if token.lower_ not in _CURRENCIES)
    currency = next(_CURRENCIES[token.lower_] for token in span if token.lower_ in _CURRENCIES)
    price = parse_decimal(number, decimal_comma=reading.lang != "en")
    if price is None:
        return
    line.unit_price = price
    line.provenance["unit_price"] = Provenance(f"text {span.text!r}")
    reading.currency = reading.currency or currency


def _set_date(span: Span, line: ParsedLine, reading: _Reading) -> None:
    read = _read_date(span, reading)
    if read is None:
        return
    line.delivery_date, confidence = read
    line.provenance["delivery_date"] = Provenance(f"text {span.text!r}", confidence)


def _read_date(span: Span, reading: _Reading) -> tuple[date, float] | None:
    month = next((_MONTHS[token.lower_] for token in span if token.lower_ in _MONTHS), None)
    if month is None:
        return parse_numeric_date(span[0].text, day_first=reading.day_first, reference=reading.reference,
                                  order_known=reading.lang != "en")
    day = next(int(re.match(r"\d+", t.text).group()) for t in span if re.match(_DAY, t.lower_))  # type: ignore[union-attr]
    year = next((int(token.text) for token in span if re.match(_YEAR, token.text)), None)
    if year is None:
        return next_occurrence(month, day, reading.reference, YEAR_INFERRED_CONFIDENCE)
    return safe_date(year, month, day, 1.0)


def _vague_problem(text: str, location: str) -> Problem:
    return Problem("email-vague-date", f"{text!r} names no exact date; no date was read from it", location)


def _document_intent(drafts: Sequence[_Draft], general: Sequence[_Clause]) -> tuple[Intent, str | None]:
    """Shipped or change if any clause says so; one intent throughout is that intent; a mix is partial."""
    said = [intent for clause in general if (intent := clause.intent()) is not None]
    said += [(draft.intent, draft.line.provenance["intent"].source) for draft in drafts if draft.intent is not None]
    if not said:
        return Intent.OTHER, None
    intents = {intent for intent, _ in said}
    decided = next((wanted for wanted in (Intent.SHIPPED, Intent.CHANGE) if wanted in intents), None)
    if decided is None:
        decided = intents.pop() if len(intents) == 1 else Intent.PARTIAL
    return decided, next((source for intent, source in said if intent == decided), said[0][1])


def _inherit_intent(draft: _Draft, general: Sequence[_Clause]) -> ParsedLine:
    """A line that says nothing of itself takes what the mail says of the whole order ("we confirm")."""
    said = next((intent for clause in general if (intent := clause.intent()) is not None), None)
    if draft.intent is None and said is not None and said[0] in _STATUS:
        _set_intent(draft, said, INHERITED_CONFIDENCE)
    return draft.line


def _unassigned_problems(general: Sequence[_Clause]) -> list[Problem]:
    """Values said of no line are not guessed onto one: each becomes a problem."""
    problems = [_vague_problem(text, "document") for clause in general for text in clause.vague]
    for clause in general:
        for span in (clause.quantity, clause.money, clause.date):
            if span is not None:
                problems.append(Problem("email-value-without-line",
                                        f"{span.text!r} was said of no line; it was not read", "document"))
    return problems

