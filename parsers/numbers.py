"""Numbers and dates as suppliers print them, read by one convention per document.

A document writes all its amounts one way (`1,234.56`, `1.234,56`, `1 234,56`, `1'234.56`) and all its
dates one way (day-first or month-first). `detect_decimal_mark` and `detect_day_first` decide that
convention once from the evidence of every number and date on the document, with the document's language
as tie-breaker; `parse_amount` and `parse_date` then read each value by it, never guessing per value.
Month names are in a small table (English, German, French, Spanish, Dutch, Italian) because the date
libraries either miss the non-English names or guess the order per value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

__all__ = [
    "AMOUNT_PATTERN",
    "DATE_PATTERN",
    "detect_day_first",
    "detect_decimal_mark",
    "find_amounts",
    "is_ambiguous_date",
    "next_occurrence",
    "parse_amount",
    "parse_date",
    "parse_decimal",
    "parse_numeric_date",
    "safe_date",
]

DAY_FIRST_LANGUAGES = frozenset({"de", "fr", "es", "nl", "it"})
"""Languages whose numeric dates are day-first; English is month-first (US) unless the document shows otherwise."""

_SPACES = "\u00a0\u2009\u202f "
_APOSTROPHES = "'\u2019"
_CURRENCY_AFFIX = re.compile(r"^(?:[€$£₹¥]|Rs\.?|[A-Z]{3})\s*|\s*(?:[€$£₹¥]|[A-Z]{3})$")

AMOUNT_PATTERN = re.compile(
    r"(?<![\w.,/:'\-])"
    r"(?P<amount>\(?[-\u2212]?\d{1,3}(?:(?:[.,'\u2019]|[\u00a0\u2009\u202f ](?=\d{3}(?!\d)))\d{3})*(?:[.,]\d+)?"
    r"|\(?[-\u2212]?\d+(?:[.,]\d+)?)"
    r"(?P<trail>-|\))?(?![\w%/:]|[.,]\d)"
)
"""A number token as printed: signs, thousands groups (dot, comma, apostrophe, thin or plain space) and decimals."""

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar janv janvier enero ene januari jän gennaio gen",
        "february feb februar fév fevr février febrero februari febbraio",
        "march mar märz maerz mrz mars marzo maart",
        "april apr avril avr abril aprile",
        "may mai mayo mei maggio mag",
        "june jun juni juin junio giugno giu",
        "july jul juli juillet juil julio luglio lug",
        "august aug août aout agosto ago augustus",
        "september sep sept septembre septiembre settembre set",
        "october oct oktober okt octobre octubre ottobre ott",
        "november nov novembre noviembre",
        "december dec dezember dez décembre déc diciembre dic dicembre",
    ),
    start=1,
):
    _MONTHS.update(dict.fromkeys(_names.split(), _number))

_MONTH = r"(?P<month>[A-Za-zäéûÄÉÛ]{3,10})\.?"
_ISO = r"(?P<iso_y>\d{4})[-/.](?P<iso_m>\d{1,2})[-/.](?P<iso_d>\d{1,2})"
_NUMERIC = r"(?P<first>\d{1,2})(?P<sep>[./-])(?P<second>\d{1,2})[./-](?P<year>\d{4}|\d{2})"
_DAY_MONTH = rf"(?P<dm_d>\d{{1,2}})\.?\s*(?:de\s+)?{_MONTH}\s*(?:de\s+)?,?\s*(?P<dm_y>\d{{4}})"
_MONTH_DAY = r"(?P<md_month>[A-Za-z]{3,10})\.?\s+(?P<md_d>\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(?P<md_y>\d{4})"

DATE_PATTERN = re.compile(
    rf"(?<![\w.])(?:{_ISO}|{_NUMERIC}|{_DAY_MONTH}|{_MONTH_DAY})(?![\w]|[.,/-]\d)", re.IGNORECASE
)
"""A date in any of the supported notations; `parse_date` reads a match by the document's convention."""


def parse_amount(text: str, decimal_mark: str) -> Decimal | None:
    """The amount in `text` read with `decimal_mark` ("." or ","), or None when it is no well-formed amount.

    Currency symbols or codes around the number are ignored; `-12`, `12-`, `(12)` and `−12` are negative.
    """
    core = _CURRENCY_AFFIX.sub("", text.strip()).strip()
    negative = core.startswith(("-", "\u2212", "(")) or core.endswith(("-", ")"))
    core = core.strip("-\u2212()").strip()
    thousands = "," if decimal_mark == "." else "."
    for mark in _SPACES + _APOSTROPHES + thousands:
        core = _drop_thousands(core, mark)
        if core is None:
            return None
    if not re.fullmatch(rf"\d+(?:{re.escape(decimal_mark)}\d+)?", core):
        return None
    try:
        value = Decimal(core.replace(decimal_mark, "."))
    except InvalidOperation:
        return None
    return -value if negative else value


def _drop_thousands(core: str, mark: str) -> str | None:
    """`core` without the thousands separator `mark`, or None when the groups around it are not of three digits."""
    if mark not in core:
        return core
    head, *groups = core.split(mark)
    if not head.isdigit() or len(head) > 3 or any(len(group.split(".")[0].split(",")[0]) != 3 for group in groups):
        return None
    return core.replace(mark, "")


def _decimal_evidence(token: str) -> str | None:
    """The decimal mark `token` proves ("." or ","), or None when the token allows both readings."""
    token = token.strip("()-\u2212")
    if any(space in token for space in _SPACES):
        return "," if "," in token else None
    if any(mark in token for mark in _APOSTROPHES):
        return "."
    dots, commas = token.count("."), token.count(",")
    if dots and commas:
        return "." if token.rfind(".") > token.rfind(",") else ","
    if dots + commas == 0:
        return None
    mark = "." if dots else ","
    if dots + commas > 1:
        return "," if mark == "." else "."
    decimals = len(token) - token.rfind(mark) - 1
    return None if decimals == 3 else mark


def detect_decimal_mark(texts: Iterable[str], default: str = ".") -> str:
    """The decimal mark ("." or ",") most numbers in `texts` prove; `default` (the language's) on a tie."""
    votes = {".": 0, ",": 0}
    for text in texts:
        for match in AMOUNT_PATTERN.finditer(_without_dates(text)):
            evidence = _decimal_evidence(match.group("amount"))
            if evidence is not None:
                votes[evidence] += 1
    if votes["."] == votes[","]:
        return default
    return "." if votes["."] > votes[","] else ","


def _without_dates(text: str) -> str:
    return DATE_PATTERN.sub(" ", text)


def find_amounts(text: str, decimal_mark: str) -> list[Decimal]:
    """Every amount in `text` read with `decimal_mark`, left to right; dates and percentages are not amounts."""
    amounts = []
    for match in AMOUNT_PATTERN.finditer(_without_dates(text)):
        token = match.group("amount") + (match.group("trail") or "")
        # With a decimal point, space-separated digits are separate numbers ("1 278.61": quantity, then price).
        tokens = token.split() if decimal_mark == "." else [token]
        amounts.extend(value for value in (parse_amount(part, decimal_mark) for part in tokens) if value is not None)
    return amounts


def detect_day_first(texts: Iterable[str], language: str) -> tuple[bool, bool]:
    """Whether numeric dates in `texts` are day-first, and whether that is settled.

    Evidence is a first number above 12 or a dotted date (day-first), a second number above 12 (month-first), or
    in English a day written before a month name (British style). Without evidence the language decides, which settles it
    except for English (month-first is then an assumption); evidence both ways is never settled.
    """
    day_first_seen = month_first_seen = False
    for text in texts:
        for match in DATE_PATTERN.finditer(text):
            if match.group("first"):
                day_first_seen |= int(match.group("first")) > 12 or match.group("sep") == "."
                month_first_seen |= int(match.group("second")) > 12
            elif match.group("dm_d") and match.group("month").lower() in _MONTHS:
                day_first_seen = True
    if day_first_seen and month_first_seen:
        return language in DAY_FIRST_LANGUAGES, False
    if day_first_seen or month_first_seen:
        return day_first_seen, True
    return language in DAY_FIRST_LANGUAGES, language in DAY_FIRST_LANGUAGES


def is_ambiguous_date(text: str) -> bool:
    """True when `text` holds a numeric date that reads differently day-first and month-first (`02/03/2027`)."""
    match = DATE_PATTERN.search(text)
    return bool(match and match.group("first") and match.group("sep") != "." and match.group("first") != match.group("second")
                and int(match.group("first")) <= 12 and int(match.group("second")) <= 12)


def parse_date(text: str, day_first: bool) -> date | None:
    """The first valid date in `text`, numeric ones read day-first or month-first as told; None when there is none."""
    for match in DATE_PATTERN.finditer(text):
        value = _date_from_match(match, day_first)
        if value is not None:
            return value
    return None


def _date_from_match(match: re.Match[str], day_first: bool) -> date | None:
    parts = match.groupdict()
    if parts["iso_y"]:
        year, month, day = int(parts["iso_y"]), int(parts["iso_m"]), int(parts["iso_d"])
    elif parts["first"]:
        first, second = int(parts["first"]), int(parts["second"])
        # Dotted dates (03.02.2027) are day-first wherever they are written; only slashes and dashes vary.
        day, month = (first, second) if day_first or parts["sep"] == "." else (second, first)
        year = _full_year(parts["year"])
    elif parts["dm_d"]:
        day, month, year = int(parts["dm_d"]), _MONTHS.get(parts["month"].lower(), 0), int(parts["dm_y"])
    else:
        day, month, year = int(parts["md_d"]), _MONTHS.get(parts["md_month"].lower(), 0), int(parts["md_y"])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _full_year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


YEAR_INFERRED_CONFIDENCE = 0.8
ORDER_AMBIGUOUS_CONFIDENCE = 0.7


def parse_decimal(text: str, *, decimal_comma: bool | None = None) -> Decimal | None:
    """A number in any notation (1,234.56; 1.234,56; 1 234,56); a lone separator before exactly three digits
    is a thousands separator unless `decimal_comma` says which mark is decimal."""
    cleaned = re.sub(r"[\s\u00a0\u202f\u2009']", "", text.strip())
    if not re.fullmatch(r"[-+]?\d[\d.,]*", cleaned) or re.search(r"[.,]{2}|[.,]$", cleaned):
        return None
    marks = [mark for mark in cleaned if mark in ".,"]
    if marks:
        cleaned = _normalise_separators(cleaned, marks, decimal_comma)
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _normalise_separators(text: str, marks: list[str], decimal_comma: bool | None) -> str:
    last = marks[-1]
    if len(set(marks)) == 2 or (len(marks) == 1 and not _looks_grouped(text, last, decimal_comma)):
        return text.replace("," if last == "." else ".", "").replace(last, ".")
    return text.replace(last, "")


def _looks_grouped(text: str, mark: str, decimal_comma: bool | None) -> bool:
    """True when the single `mark` in `text` separates thousands: three digits follow and the locale agrees."""
    if not re.fullmatch(r"[-+]?\d{1,3}[.,]\d{3}", text):
        return False
    if decimal_comma is None:
        return True
    return (mark == ".") == decimal_comma


def parse_numeric_date(text: str, *, day_first: bool, reference: date, order_known: bool = False
                       ) -> tuple[date, float] | None:
    """A numeric date (12/18, 18.12.2026, 2026-12-18) with the confidence of the reading; a missing year is
    the next occurrence on or after `reference`. `order_known` says the locale, not a guess, set `day_first`."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return safe_date(int(text[:4]), int(text[5:7]), int(text[8:10]), 1.0)
    parts = [int(part) for part in re.split(r"[./-]", text) if part]
    if len(parts) not in (2, 3):
        return None
    first, second = parts[0], parts[1]
    # Slashed dates are written both ways around the world; dotted ones are day-first everywhere.
    day, month = (first, second) if day_first or "." in text else (second, first)
    ambiguous = not order_known and "/" in text and first <= 12 and second <= 12 and first != second
    confidence = ORDER_AMBIGUOUS_CONFIDENCE if ambiguous else 1.0
    if len(parts) == 3:
        year = parts[2] + 2000 if parts[2] < 100 else parts[2]
        return safe_date(year, month, day, confidence)
    return next_occurrence(month, day, reference, confidence * YEAR_INFERRED_CONFIDENCE)


def next_occurrence(month: int, day: int, reference: date, confidence: float) -> tuple[date, float] | None:
    found = safe_date(reference.year, month, day, confidence)
    if found is not None and found[0] < reference:
        return safe_date(reference.year + 1, month, day, confidence)
    return found


def safe_date(year: int, month: int, day: int, confidence: float) -> tuple[date, float] | None:
    try:
        return date(year, month, day), confidence
    except ValueError:
        return None
