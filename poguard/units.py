"""Units of measure: suppliers write the same unit many ways (PCE, PCS, EA, C62, Stück).

`canonical_uom` maps what a supplier wrote to one code (UN/ECE Recommendation 20 where one exists), so
that equivalent units are no deviation.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["canonical_uom", "conversion_factor", "same_uom"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "EA": ("EA", "EACH", "PCE", "PCS", "PC", "C62", "H87", "NAR", "NMB", "ST", "STK", "STCK", "STÜCK", "STUECK",
           "PIECE", "PIECES", "UNIT", "UNITS", "U", "UN", "UND", "UNIDAD", "UNIDADES", "PIÈCE", "PIÈCES", "PZ", "PZA"),
    "KGM": ("KGM", "KG", "KGS", "KILO", "KILOGRAM", "KILOGRAMS", "KILOGRAMM"),
    "GRM": ("GRM", "G", "GR", "GRAM", "GRAMS", "GRAMM"),
    "TNE": ("TNE", "T", "TONNE", "TONNES", "TON"),
    "LBR": ("LBR", "LB", "LBS", "POUND", "POUNDS"),
    "MTR": ("MTR", "M", "METER", "METRE", "METERS", "METRES", "LM"),
    "MMT": ("MMT", "MM"),
    "CMT": ("CMT", "CM"),
    "LTR": ("LTR", "L", "LITER", "LITRE", "LITERS", "LITRES"),
    "MTK": ("MTK", "M2", "SQM", "M²"),
    "PR": ("PR", "PAIR", "PAIRS", "PAAR"),
    "SET": ("SET", "SETS", "SATZ"),
    "PK": ("PK", "PACK", "PACKS", "PAK", "PKG", "PACKAGE"),
    "DZN": ("DZN", "DOZEN", "DZ"),
    "BX": ("BX", "BOX", "BOXES", "KARTON"),
    "RL": ("RL", "ROLL", "ROLLS", "ROLLE"),
}

_CANONICAL: dict[str, str] = {alias: code for code, aliases in _ALIASES.items() for alias in aliases}


def canonical_uom(uom: str | None) -> str | None:
    """The canonical code for `uom`, or the upper-cased input when the unit is not in the table."""
    if uom is None or not uom.strip():
        return None
    key = uom.strip().rstrip(".").upper()
    return _CANONICAL.get(key, key)


def same_uom(left: str | None, right: str | None) -> bool:
    """True when both name the same unit; an unknown unit on either side is not the same."""
    return left is not None and right is not None and canonical_uom(left) == canonical_uom(right)


# Conversions that hold for every item: (unit, base) -> base units in one unit.
_FIXED_FACTORS: dict[tuple[str, str], Decimal] = {
    ("DZN", "EA"): Decimal(12),
    ("GRO", "EA"): Decimal(144),
    ("HUN", "EA"): Decimal(100),
    ("MIL", "EA"): Decimal(1000),
    ("TNE", "KGM"): Decimal(1000),
    ("KGM", "GRM"): Decimal(1000),
    ("MTR", "CMT"): Decimal(100),
    ("MTR", "MMT"): Decimal(1000),
    ("CMT", "MMT"): Decimal(10),
    ("LBR", "KGM"): Decimal("0.45359237"),
}


def conversion_factor(unit: str | None, base: str | None, extra: dict[tuple[str, str], Decimal] | None = None) -> Decimal | None:
    """How many `base` units one `unit` holds (1 for the same unit), or None when no conversion is known.

    `extra` adds conversions such as a pack size (`("PK", "EA") -> 10`), keyed by canonical codes.
    """
    source, target = canonical_uom(unit), canonical_uom(base)
    if source is None or target is None:
        return None
    if source == target:
        return Decimal(1)
    table = {**_FIXED_FACTORS, **(extra or {})}
    if (source, target) in table:
        return table[(source, target)]
    if (target, source) in table:
        return 1 / table[(target, source)]
    return None
