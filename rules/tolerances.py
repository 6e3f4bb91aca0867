"""Tolerance checks: is a deviation beyond the limits a buyer allowed?

A difference exactly at a limit is within tolerance; a percent limit is measured against the PO value.
Dates are counted in business days of the supplier's calendar.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from poguard.config import DateTolerance, PriceTolerance, QuantityTolerance
from rules.calendar import BusinessCalendar

__all__ = ["beyond_tolerance", "business_days_off", "date_beyond_tolerance", "percent_difference"]


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


def date_beyond_tolerance(days: int, tolerance: DateTolerance) -> bool:
    """True when `days` business days off the need-by date (negative: early) is beyond the limits."""
    if days > 0:
        return tolerance.late_days is not None and days > tolerance.late_days
    return tolerance.early_days is not None and -days > tolerance.early_days


def business_days_off(need_by: date, promised: date, calendar: BusinessCalendar) -> int:
    """Business days from the need-by date to the promised one (negative: early)."""
    return calendar.between(need_by, promised)
