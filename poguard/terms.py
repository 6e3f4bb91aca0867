"""Payment terms, compared by meaning: `2/10 net 30`, `2% 10 days, net 30 days`, `NET30`, `30 Tage netto`,
`30 días` all reduce to (discount percent, discount days, net days)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["PaymentTerms", "parse_terms"]

_DISCOUNT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%?\s*/\s*(\d+)|(\d+(?:[.,]\d+)?)\s*%\s*(?:skonto\s*)?(?:in\s*|within\s*|bei\s*|à\s*|a\s*)?(\d+)", re.I)


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    net_days: int
    discount_pct: Decimal | None = None
    discount_days: int | None = None

    def __str__(self) -> str:
        if self.discount_pct is None:
            return f"net {self.net_days} days"
        return f"{self.discount_pct.normalize()}% {self.discount_days} days, net {self.net_days} days"


def parse_terms(text: str | None) -> PaymentTerms | None:
    """The terms `text` states, or None when it states no number of days (then nothing is compared). The net days
    are the largest number left once a discount (`2/10`, `2% 10 days`) is taken out; month-end rules (EOM) are
    not read."""
    if not text or not text.strip():
        return None
    rest = text
    discount = _DISCOUNT.search(text)
    pct = days = None
    if discount is not None:
        pct = Decimal((discount.group(1) or discount.group(3)).replace(",", "."))
        days = int(discount.group(2) or discount.group(4))
        rest = text[:discount.start()] + " " + text[discount.end():]
    numbers = [int(n) for n in re.findall(r"\d+", rest)]
    if not numbers:
        return None
    return PaymentTerms(max(numbers), pct, days)
