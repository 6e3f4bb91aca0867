"""PO references as suppliers write them: `PO# 4500-017001`, ` 4500017001 `, `po 0004500017001`, and as OCR
reads them: `45OO-O17OOl` (letter O for zero, l or I for one, S for five).

`normalise_po_reference` gives the comparable form; the store keeps it beside every PO number.
"""

from __future__ import annotations

import re

__all__ = ["normalise_po_reference"]

_PREFIX = re.compile(
    r"^\s*(?:P\.?\s*O\.?|PURCHASE\s+ORDER|ORDER|BESTELLUNG|BEST\.?|COMMANDE|PEDIDO)\s*(?:NO\.?|NR\.?|N°|Nº|#|:)?\s*",
    re.I,
)
_SEPARATORS = re.compile(r"[\s\-/._:#]")
# Letters OCR (and tired typists) put where digits belong.
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2"})
_MIN_REAL_DIGITS = 4


def _fold_lookalikes(reference: str) -> str:
    """`reference` with look-alike letters read as digits, when that makes it a number of at least 4 real digits."""
    folded = reference.translate(_LOOKALIKE_DIGITS)
    real_digits = sum(ch.isdigit() for ch in reference)
    return folded if folded.isdigit() and real_digits >= _MIN_REAL_DIGITS else reference


def normalise_po_reference(reference: str | None) -> str | None:
    """The comparable form of a PO reference: no prefix or separators, upper case, look-alike letters in an
    otherwise numeric reference read as digits, leading zeros dropped."""
    if reference is None:
        return None
    stripped = _SEPARATORS.sub("", _PREFIX.sub("", reference)).upper()
    if not stripped:
        return None
    folded = _fold_lookalikes(stripped)
    return folded.lstrip("0") or "0" if folded.isdigit() else folded
