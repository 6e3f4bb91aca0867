"""Tolerance checks: is a deviation beyond the limits a buyer allowed?

A difference exactly at a limit is within tolerance; a percent limit is measured against the PO value.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from poguard.config import DateTolerance, PriceTolerance, QuantityTolerance

__all__ = ["date_beyond_tolerance", "beyond_tolerance", "percent_difference"]


def percent_difference(expected: Decimal, actual: Decimal) -> Decimal | None:
    """(actual - expected) / expected in percent; None when the PO value is zero."""
    if expected == 0:
        return None
    return (actual - expected) / expected * 100


def _exceeds(difference: Decimal, percent: Decimal | None, pct_limit: Decimal | None, abs_limit: Decimal | None) -> bool:
    if pct_limit is not None and (percent is None or percent > pct_limit):
        return True
    return abs_limit is not None and difference > abs_limit


def beyond_tolerance(expected: Decimal, actual: Decimal, tolerance: PriceTolerance | QuantityTolerance) -> bool:
    """True when `actual` is further from `expected` than the over/under limits allow."""
    difference = actual - expected
    if difference == 0:
        return False
    percent = percent_difference(expected, actual)
    if difference > 0:
        return _exceeds(difference, percent, tolerance.over_pct, tolerance.over_abs)
    return _exceeds(-difference, None if percent is None else -percent, tolerance.under_pct, tolerance.under_abs)


def date_beyond_tolerance(need_by: date, promised: date, tolerance: DateTolerance) -> bool:
    """True when the promised date is earlier or later than the need-by date allows (calendar days)."""
    days = (promised - need_by).days
    if days > 0:
        return tolerance.late_days is not None and days > tolerance.late_days
    return tolerance.early_days is not None and -days > tolerance.early_days
