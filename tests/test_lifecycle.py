"""The life of an exception on each database: later documents update and close it, sweeps escalate and chase,
people resolve and reopen, and replays show what other tolerances would do. Every step is audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from poguard import lifecycle, repository
from poguard.config import Config
from poguard.errors import InputRejected
from poguard.pipeline import Arrival, process_file
from poguard.replay import apply_settings, replay
from poguard.store import Store
from poguard.tables import AuditEvent, DocumentRow, ExceptionRow, ItemCrossReference

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TODAY = date(2026, 11, 25)
GLF_ORDRSP = (FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi").read_text(encoding="utf-8")


def _send(store: Store, text: str, name: str = "doc.edi", today: date = TODAY, config: Config | None = None) -> None:
    process_file(store, config or Config(), Arrival(name, text.encode()), today=today, actor="test")


def _exceptions(store: Store) -> dict[tuple, ExceptionRow]:
    with store.transaction() as session:
        return {(r.po_number, r.line, r.category, r.rule): r for r in session.scalars(select(ExceptionRow))}


def _audit(store: Store, exception: ExceptionRow) -> list[tuple[str, str]]:
    with store.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "exception",
                                                          AuditEvent.entity_id == str(exception.id)).order_by(AuditEvent.id))
        return [(e.action, e.actor) for e in events]


def test_a_later_confirmation_without_the_deviation_closes_it(loaded: Store) -> None:
    """GIVEN an open price variance WHEN GLF sends a corrected confirmation at the PO price THEN the exception is resolved by that document."""
    _send(loaded, GLF_ORDRSP)
    _send(loaded, GLF_ORDRSP.replace("BGM+231+GLF-OR-88123", "BGM+231+GLF-OR-88124").replace("PRI+AAA:0.13", "PRI+AAA:0.12"))
    found = _exceptions(loaded)
    price = found[("4500017001", 1, "price_variance", "price.po")]
    assert (price.status, price.resolved_by) == ("resolved", "document:acknowledgment GLF-OR-88124")
    assert found[("4500017001", 3, "quantity_mismatch", "quantity.confirmed")].status == "open"
    assert _audit(loaded, price)[-1] == ("resolved", "document:acknowledgment GLF-OR-88124")


def test_a_later_confirmation_that_changes_the_deviation_updates_it(loaded: Store) -> None:
    """GIVEN 9000 washers confirmed WHEN a new confirmation says 8000 THEN the same exception shows 8000, audited as updated."""
    _send(loaded, GLF_ORDRSP)
    _send(loaded, GLF_ORDRSP.replace("GLF-OR-88123", "GLF-OR-88125").replace("QTY+113:9000:PCE", "QTY+113:8000:PCE"))
    found = [r for k, r in _exceptions(loaded).items() if k[2] == "quantity_mismatch"]
    assert [(r.actual, r.status) for r in found] == [("8000 EA", "open")]
    assert ("updated", "rule:quantity.confirmed") in _audit(loaded, found[0])


def test_inside_tolerance_is_auto_resolved_and_can_be_reopened(loaded: Store) -> None:
    """GIVEN a price 0.5 % over the PO WHEN processed THEN it is auto-resolved by the tolerance rule, and a buyer can reopen it."""
    _send(loaded, GLF_ORDRSP.replace("PRI+AAA:0.13", "PRI+AAA:0.1206"))
    price = _exceptions(loaded)[("4500017001", 1, "price_variance", "price.po")]
    assert (price.status, price.resolved_by, price.severity) == ("auto_resolved", "rule:within_tolerance", "low")
    with loaded.transaction() as session:
        lifecycle.reopen(session, price.id, "person:anna", "check with the supplier")
    reopened = _exceptions(loaded)[("4500017001", 1, "price_variance", "price.po")]
    assert (reopened.status, reopened.resolved_by) == ("open", None)
    assert _audit(loaded, price)[-1] == ("open", "person:anna")


def test_resolving_twice_is_refused(loaded: Store) -> None:
    """GIVEN a resolved exception WHEN resolved again THEN it is refused with a clear error."""
    _send(loaded, GLF_ORDRSP)
    price = _exceptions(loaded)[("4500017001", 1, "price_variance", "price.po")]
    with loaded.transaction() as session:
        lifecycle.resolve(session, price.id, "person:anna", "accepted the new price")
    with loaded.transaction() as session, pytest.raises(InputRejected, match="already resolved"):
        lifecycle.resolve(session, price.id, "person:anna", "again")


def test_overdue_exceptions_escalate(loaded: Store) -> None:
    """GIVEN exceptions raised on Wednesday 25 Nov WHEN the sweep runs on Monday 7 Dec THEN the open ones are escalated to their escalation person."""
    _send(loaded, GLF_ORDRSP)
    with loaded.transaction() as session:
        escalated = lifecycle.escalate_overdue(session, date(2026, 12, 7))
        assert {(r.category, r.status, r.escalated_to) for r in escalated} == {
            ("price_variance", "escalated", "procurement.lead@example.com"),
            ("quantity_mismatch", "escalated", "warehouse.manager@example.com"),
        }
    with loaded.transaction() as session:
        assert lifecycle.escalate_overdue(session, date(2026, 12, 7)) == []


def test_unacknowledged_po_is_chased_and_closed_by_the_acknowledgment(loaded: Store) -> None:
    """GIVEN POs issued 10 Nov WHEN the sweep runs on 20 Nov THEN each unacknowledged PO gets one exception, and GLF's acknowledgment closes its own."""
    with loaded.transaction() as session:
        chased = lifecycle.chase_unacknowledged(session, Config(), date(2026, 11, 20))
        assert sorted(r.po_number for r in chased) == ["4500017001", "4500017002", "4500017003", "4500017004"]
    with loaded.transaction() as session:
        assert lifecycle.chase_unacknowledged(session, Config(), date(2026, 11, 23)) == []
    _send(loaded, GLF_ORDRSP)
    found = _exceptions(loaded)
    assert found[("4500017001", None, "unacknowledged_po", "ack.missing")].status == "resolved"
    assert found[("4500017002", None, "unacknowledged_po", "ack.missing")].status == "open"


def test_po_found_by_the_suppliers_own_order_number(loaded: Store) -> None:
    """GIVEN an acknowledgment tying supplier order SO-9 to PO 4500017001 WHEN a later document names only SO-9 THEN it is matched to that PO."""
    _send(loaded, GLF_ORDRSP.replace("RFF+ON:4500017001'", "RFF+ON:4500017001'\nRFF+VN:SO-9'"))
    later = GLF_ORDRSP.replace("GLF-OR-88123", "GLF-OR-88126").replace("RFF+ON:4500017001'", "RFF+VN:SO-9'")
    _send(loaded, later, "later.edi")
    with loaded.transaction() as session:
        row = session.scalars(select(DocumentRow).where(DocumentRow.number == "GLF-OR-88126")).one()
        assert (row.po_number, row.po_reason) == ("4500017001", "supplier order SO-9 belongs to PO 4500017001")


def test_po_found_by_item_overlap_when_no_reference_is_given(loaded: Store) -> None:
    """GIVEN a GLF confirmation naming no PO WHEN its items are all on PO 4500017004 THEN it is matched there, with the reason."""
    text = (FIXTURES / "edifact" / "ordrsp_glf_4500017004.edi").read_text(encoding="utf-8")
    _send(loaded, text.replace("RFF+ON:4500017004'", ""))
    with loaded.transaction() as session:
        row = session.scalars(select(DocumentRow)).one()
        assert row.po_number == "4500017004"
        assert row.po_reason == "no usable PO reference; 2 of 2 item(s) are on PO 4500017004"


def test_supplier_item_cross_reference_is_learned_from_a_confirmed_match(loaded: Store) -> None:
    """GIVEN a confirmation naming our item and a new supplier item for line 1 WHEN processed THEN the supplier item is learned as ours."""
    _send(loaded, GLF_ORDRSP.replace("LIN+1+3+GLF-HX-840:SA", "LIN+1+3+GLF-HX-840-B:SA"))
    with loaded.transaction() as session:
        learned = session.scalars(select(ItemCrossReference)).all()
        assert [(x.supplier_id, x.supplier_item, x.item) for x in learned] == [("GLF", "GLFHX840B", "FAS-M8-40")]


def test_replay_shows_what_other_tolerances_would_change_without_changing_anything(loaded: Store) -> None:
    """GIVEN processed confirmations WHEN replayed with a 10 % price tolerance THEN the price variance is re-graded, and the store is untouched."""
    _send(loaded, GLF_ORDRSP)
    before = {k: (r.status, r.severity) for k, r in _exceptions(loaded).items()}
    with loaded.transaction() as session:
        diff = replay(session, Config(), apply_settings(Config(), ["price.over_pct=10"]), None)
    assert [(c.line, c.category, c.before, c.after) for c in diff.regraded] == [
        (1, "price_variance", "medium/open", "low/auto_resolved")]
    assert diff.added == diff.removed == []
    assert {k: (r.status, r.severity) for k, r in _exceptions(loaded).items()} == before
    with loaded.transaction() as session:
        tighter = replay(session, Config(), apply_settings(Config(), ["quantity.percent=20"]), None)
    assert [(c.line, c.category, c.after) for c in tighter.regraded] == [(3, "quantity_mismatch", "low/auto_resolved")]


def test_replay_since_a_date_ignores_older_documents(loaded: Store) -> None:
    """GIVEN a confirmation from 20 Nov WHEN replayed since 1 Dec THEN nothing differs."""
    _send(loaded, GLF_ORDRSP, today=date(2026, 11, 20))
    with loaded.transaction() as session:
        diff = replay(session, Config(), apply_settings(Config(), ["price.over_pct=10"]), date(2099, 12, 1))
    assert (diff.added, diff.removed, diff.regraded) == ([], [], [])
