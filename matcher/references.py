"""PO references as suppliers write them: `PO# 4500-017001`, ` 4500017001 `, `po 4500017001`."""

from __future__ import annotations

import re

__all__ = ["normalise_po_reference"]

_PREFIX = re.compile(r"^\s*(?:P\.?\s*O\.?|PURCHASE\s+ORDER|ORDER|BESTELLUNG|BEST\.?|COMMANDE|PEDIDO)\s*(?:NO\.?|NR\.?|N°|#|:)?\s*", re.I)
_SEPARATORS = re.compile(r"[\s\-/._]")


def normalise_po_reference(reference: str | None) -> str | None:
    """The comparable form of a PO reference: no prefix, no spaces or separators, upper case."""
    if reference is None:
        return None
    stripped = _SEPARATORS.sub("", _PREFIX.sub("", reference)).upper()
    return stripped or None
