"""Replaying the rules over stored documents, changing nothing, to see what other tolerances would do.

Both the current and the changed configuration are replayed the same way (documents in arrival order,
each checked on the day it arrived, exceptions carried from document to document as the lifecycle does),
so the difference shows only what the change does: exceptions added, removed and re-graded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from matcher import match_lines
from poguard import repository
from poguard.config import Config, parse_config
from poguard.domain import Deviation, POLine
from poguard.errors import ConfigError
from poguard.lifecycle import Family, Key, covered_lines, plan
from poguard.serialize import document_from_dict
from poguard.tables import DocumentRow, acted_on
from rules import PoHistory, RuleInput

__all__ = ["Change", "ReplayDiff", "apply_settings", "replay"]

Finding = tuple[str | None, str, Key]
# Shorthands: `price.percent=5` sets both over_pct and under_pct.
_BOTH_WAYS = {"percent": ("over_pct", "under_pct"), "abs": ("over_abs", "under_abs")}


def _parse_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text.strip()


def _assign(data: dict[str, Any], path: list[str], value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section", location="--set")
    target[path[-1]] = value


def apply_settings(config: Config, settings: Iterable[str]) -> Config:
    """`config` with `key=value` settings applied; keys are relative to [rules] unless they name a top-level
    section (`ownership.price_variance.sla_days=3`). A bad key or value is a ConfigError."""
    data = config.model_dump(mode="json", exclude_unset=True)
    top_level = set(Config.model_fields)
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {setting!r}", location="--set")
        path = key.strip().split(".")
        if path[0] not in top_level:
            path = ["rules", *path]
        for field_name in _BOTH_WAYS.get(path[-1], (path[-1],)):
            _assign(data, [*path[:-1], field_name], _parse_value(value))
    return parse_config(data, "--set")


@dataclass(frozen=True, slots=True)
class _Stored:
    po_number: str | None
    supplier_id: str | None
    arrived: date
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One exception that differs between the two replays."""

    po_number: str | None
    line: int | None
    category: str
    rule: str
    before: str | None
    after: str | None


@dataclass(slots=True)
class ReplayDiff:
    documents: int = 0
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    regraded: list[Change] = field(default_factory=list)


@dataclass(slots=True)
class _World:
    """What the replay reads once from the store: documents, PO lines, suppliers, prices, cross references."""

    documents: list[_Stored]
    po_lines: dict[str, list[POLine]]
    suppliers: dict[str, Any]
    prices: dict[str, tuple[Any, ...]]
    xrefs: dict[str, dict[str, str]]


def _load(session: Session) -> _World:
    rows = session.execute(select(DocumentRow.po_number, DocumentRow.supplier_id, DocumentRow.created_at, DocumentRow.data)
                           .where(acted_on()).order_by(DocumentRow.id)).all()
    documents = [_Stored(po, supplier, created.date(), data) for po, supplier, created, data in rows]
    po_numbers = {d.po_number for d in documents if d.po_number}
    po_lines = {po: [line for _, line in repository.po_lines_for(session, po)] for po in po_numbers}
    supplier_ids = {d.supplier_id for d in documents if d.supplier_id}
    return _World(
        documents=documents,
        po_lines={po: lines for po, lines in po_lines.items() if lines},
        suppliers={s: repository.supplier(session, s) for s in supplier_ids},
        prices={s: tuple(repository.contract_prices(session, s, [l.item for ls in po_lines.values() for l in ls]))
                for s in supplier_ids},
        xrefs={s: repository.cross_references(session, s) for s in supplier_ids},
    )


def _grade(deviation: Deviation) -> str:
    status = "open" if deviation.resolution is None else "auto_resolved"
    return f"{deviation.severity.value}/{status}"


def _simulate(world: _World, config: Config) -> dict[Finding, tuple[Deviation, date]]:
    """The exceptions alive after replaying every document under `config`, with the day each was last set."""
    live: dict[tuple[str | None, str], dict[Key, tuple[Deviation, date]]] = {}
    histories: dict[str, PoHistory] = {}
    for stored in world.documents:
        doc = document_from_dict(stored.data)
        lines = world.po_lines.get(stored.po_number or "", [])
        xref = world.xrefs.get(stored.supplier_id or "", {})
        matches = match_lines(doc, lines, config.matching.min_score, xref)
        history = histories.get(stored.po_number or "", PoHistory())
        inp = RuleInput(doc, lines, matches, world.suppliers.get(stored.supplier_id or ""), history,
                        world.prices.get(stored.supplier_id or "", ()), stored.arrived)
        deviations = rules.evaluate(inp, config)
        family = Family.of(doc.kind)
        covered = covered_lines(doc, matches, lines)
        bucket = live.setdefault((stored.po_number, family), {})
        steps = plan(bucket, deviations, covered, family)
        for key, deviation in [*steps.update, *steps.create]:
            bucket[key] = (deviation, stored.arrived)
        for key in steps.close:
            del bucket[key]
        if stored.po_number:
            histories[stored.po_number] = history.after(doc, matches)
    return {(po, family, key): value for (po, family), bucket in live.items() for key, value in bucket.items()}


def _change(finding: Finding, before: Deviation | None, after: Deviation | None) -> Change:
    po, _, (line, category, rule, _) = finding
    return Change(po, line, category, rule, None if before is None else _grade(before), None if after is None else _grade(after))


def _diff(before: dict[Finding, tuple[Deviation, date]], after: dict[Finding, tuple[Deviation, date]],
          since: date | None, documents: int) -> ReplayDiff:
    diff = ReplayDiff(documents=documents)
    for finding in sorted(set(before) | set(after), key=lambda f: (f[0] or "", f[2][0] or 0, f[2][1], f[2][2], f[2][3])):
        old, new = before.get(finding), after.get(finding)
        days = [entry[1] for entry in (old, new) if entry is not None]
        if since is not None and max(days) < since:
            continue
        change = _change(finding, old[0] if old else None, new[0] if new else None)
        if old is None:
            diff.added.append(change)
        elif new is None:
            diff.removed.append(change)
        elif change.before != change.after:
            diff.regraded.append(change)
    return diff


def replay(session: Session, current: Config, changed: Config, since: date | None) -> ReplayDiff:
    """What `changed` would do differently from `current` over the stored documents (`since`: only exceptions
    last set by documents that arrived on or after that day)."""
    world = _load(session)
    return _diff(_simulate(world, current), _simulate(world, changed), since, len(world.documents))


def changes_as_rows(changes: Sequence[Change]) -> list[list[Any]]:
    return [[c.po_number, c.line, c.category, c.rule, c.before or "", c.after or ""] for c in changes]
