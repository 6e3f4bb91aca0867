"""Severity from the size of a deviation and the money at stake."""

from __future__ import annotations

from decimal import Decimal

from poguard.domain import Severity

__all__ = ["grade_days", "grade_ratio"]

_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
HIGH_VALUE_AT_STAKE = Decimal("10000")


def _raise_one(severity: Severity) -> Severity:
    return _ORDER[min(_ORDER.index(severity) + 1, len(_ORDER) - 1)]


def grade_ratio(percent: Decimal | None, value_at_stake: Decimal | None) -> Severity:
    """By relative size (5 / 15 / 50 %), one step higher when more than 10,000 is at stake."""
    size = abs(percent) if percent is not None else Decimal("100")
    if size <= 5:
        severity = Severity.LOW
    elif size <= 15:
        severity = Severity.MEDIUM
    elif size <= 50:
        severity = Severity.HIGH
    else:
        severity = Severity.CRITICAL
    if value_at_stake is not None and abs(value_at_stake) > HIGH_VALUE_AT_STAKE:
        return _raise_one(severity)
    return severity


def grade_days(days: int) -> Severity:
    """By days off the need-by date: up to 2 low, 7 medium, 21 high, beyond critical."""
    size = abs(days)
    if size <= 2:
        return Severity.LOW
    if size <= 7:
        return Severity.MEDIUM
    if size <= 21:
        return Severity.HIGH
    return Severity.CRITICAL
