"""The pipeline end to end on each database: supplier files in, exceptions out, nothing twice, nothing lost."""

from __future__ import annotations

import io
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from poguard import lifecycle, repository
from poguard.config import Config
from poguard.pipeline import Arrival, Outcome, process_backlog, process_file, receive
from poguard.store import Store
from poguard.tables import AuditEvent, DocumentRow, ExceptionRow, InboundFile, MatchRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TODAY = date(2026, 11, 25)


def _process(store: Store, name: str, config: Config | None = None):
    path = FIXTURES / "edifact" / name
    return process_file(store, config or Config(), Arrival(path.name, path.read_bytes()), today=TODAY, actor="test")


def _exceptions(store: Store) -> list[tuple]:
    with store.transaction() as session:
        return [(r.po_number, r.line, r.category) for r in repository.exceptions(session, None)]


def _counts(store: Store) -> dict[str, int]:
    with store.transaction() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (InboundFile, DocumentRow, MatchRow, ExceptionRow, AuditEvent)
        }


def test_planted_price_and_quantity_deviations_are_raised(loaded: Store) -> None:
    """GIVEN GLF's confirmation with a higher price on line 1 and fewer pieces on line 3 WHEN processed THEN exactly those two are raised."""
    outcome = _process(loaded, "ordrsp_glf_4500017001.edi")
    assert outcome.outcome is Outcome.PROCESSED
    assert _exceptions(loaded) == [
        ("4500017001", 1, "price_variance"),
        ("4500017001", 3, "quantity_mismatch"),
    ]


def test_exception_carries_owner_due_date_and_values(loaded: Store) -> None:
    """GIVEN the GLF price variance WHEN stored THEN it names expected and actual price, the buyer and a due date 2 business days out."""
    _process(loaded, "ordrsp_glf_4500017001.edi")
    with loaded.transaction() as session:
        row = next(r for r in repository.exceptions(session, "open") if r.category == "price_variance")
        assert (row.expected, row.actual) == ("0.12 USD", "0.13 USD")
        assert row.owner == "anna.buyer@example-mfg.com"
        assert row.due == date(2026, 11, 27)
        assert row.supplier_id == "GLF" and row.status == "open"


def test_late_delivery_date_is_raised_with_comma_decimals_read_right(loaded: Store) -> None:
    """GIVEN RHK's German confirmation (3,85 EUR, 11 days late on line 1) WHEN processed THEN only the date deviation is raised."""
    _process(loaded, "ordrsp_rhk_4500017002.edi")
    assert _exceptions(loaded) == [("4500017002", 1, "date_deviation")]


def test_clean_acknowledgment_raises_nothing(loaded: Store) -> None:
    """GIVEN an acknowledgment equal to its PO (PCE for EA) WHEN processed THEN no exception is raised."""
    outcome = _process(loaded, "ordrsp_acb_4500017003.edi")
    assert (outcome.outcome, outcome.documents, outcome.exceptions) == (Outcome.PROCESSED, 1, 0)
    assert _exceptions(loaded) == []


def test_rejected_line_is_a_quantity_mismatch(loaded: Store) -> None:
    """GIVEN GLF not accepting line 2 of PO 4500017004 WHEN processed THEN line 2 is a quantity mismatch and line 1 is clean."""
    _process(loaded, "ordrsp_glf_4500017004.edi")
    assert _exceptions(loaded) == [("4500017004", 2, "quantity_mismatch")]


def test_unknown_po_gives_unmatched_never_a_silent_drop(loaded: Store) -> None:
    """GIVEN an acknowledgment for a PO nobody issued WHEN processed THEN one unmatched exception names the reference."""
    outcome = _process(loaded, "ordrsp_glf_unknown_po.edi")
    assert outcome.outcome is Outcome.PROCESSED
    with loaded.transaction() as session:
        (row,) = repository.exceptions(session, "open")
        assert (row.category, row.po_number, row.actual) == ("unmatched", "4500099999", "4500099999")
        assert row.supplier_id == "GLF"  # attributed through the interchange sender id
        assert row.owner == Config().roles.buyer


def test_processing_the_same_file_twice_adds_nothing(loaded: Store) -> None:
    """GIVEN a processed file WHEN the same bytes arrive again THEN it is a duplicate and no row is added anywhere."""
    _process(loaded, "ordrsp_glf_4500017001.edi")
    before = _counts(loaded)
    again = _process(loaded, "ordrsp_glf_4500017001.edi")
    assert again.outcome is Outcome.DUPLICATE
    assert _counts(loaded) == before


def test_unreadable_file_is_kept_with_its_reason_and_retried(loaded: Store) -> None:
    """GIVEN a file no parser reads WHEN processed twice THEN it is rejected both times, kept once, with the reason."""
    raw = b"Hello, this is not an order confirmation.\n"
    first = process_file(loaded, Config(), Arrival("note.txt", raw), today=TODAY, actor="test")
    second = process_file(loaded, Config(), Arrival("note.txt", raw), today=TODAY, actor="test")
    assert first.outcome is second.outcome is Outcome.REJECTED
    assert "format-unrecognised" in (first.error or "")
    with loaded.transaction() as session:
        (inbound,) = session.scalars(select(InboundFile)).all()
        assert (inbound.status, inbound.content) == ("rejected", raw)
        assert "format-unrecognised" in (inbound.error or "")


def test_a_later_document_updates_the_open_exception_instead_of_adding_one(loaded: Store) -> None:
    """GIVEN an open price variance WHEN a re-sent confirmation (other bytes, same finding) arrives THEN no second exception is opened."""
    _process(loaded, "ordrsp_glf_4500017001.edi")
    raw = (FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi").read_bytes() + b"\n"
    process_file(loaded, Config(), Arrival("resent.edi", raw), today=TODAY, actor="test")
    assert _exceptions(loaded) == [("4500017001", 1, "price_variance"), ("4500017001", 3, "quantity_mismatch")]


def test_every_exception_and_import_is_in_the_audit_trail(loaded: Store) -> None:
    """GIVEN imported POs and a processed file WHEN the audit trail is read THEN it holds each PO line and each exception, with who did it."""
    _process(loaded, "ordrsp_glf_4500017001.edi")
    with loaded.transaction() as session:
        events = session.scalars(select(AuditEvent)).all()
        created = [(e.entity, e.actor) for e in events if e.action == "created"]
    assert created.count(("po_line", "test")) == 9
    assert ("exception", "rule:price.po") in created and ("exception", "rule:quantity.confirmed") in created


def test_an_arrival_is_stored_raw_before_it_is_processed(loaded: Store) -> None:
    """GIVEN an arrival received but not processed WHEN the backlog runs THEN it is processed once, and a second run finds nothing."""
    raw = (FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi").read_bytes()
    with loaded.transaction() as session:
        row = receive(session, Arrival("mail.edi", raw, channel="imap:orders", message_id="<a@glf>"))
        assert row.status == "received"
    first = process_backlog(loaded, Config(), today=TODAY, actor="test", limit=10)
    second = process_backlog(loaded, Config(), today=TODAY, actor="test", limit=10)
    assert [(o.outcome, o.exceptions) for o in first] == [(Outcome.PROCESSED, 2)]
    assert second == []


def test_same_message_id_with_other_bytes_is_one_arrival(loaded: Store) -> None:
    """GIVEN a message stored once WHEN the same Message-ID arrives with other bytes (another mailbox's headers) THEN it is the same arrival."""
    raw = (FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi").read_bytes()
    with loaded.transaction() as session:
        first = receive(session, Arrival("a", raw, message_id="<x@glf>")).id
        second = receive(session, Arrival("b", raw + b"\n", message_id="<x@glf>")).id
    assert first == second


def _mail(sender: str, attachment: Path, subject: str = "Order response") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "purchasing@example-mfg.com", subject
    message["Message-ID"] = f"<{abs(hash((sender, attachment.name)))}@test>"
    message.set_content("Please find our document attached.")
    message.add_attachment(attachment.read_bytes(), maintype="application", subtype="edifact", filename=attachment.name)
    return message.as_bytes()


def _held(store: Store) -> list[tuple[str, str, str]]:
    with store.transaction() as session:
        return [(r.category, r.rule, r.severity) for r in repository.exceptions(session, "open")]


def test_a_document_from_a_lookalike_domain_is_held_and_called_out(loaded: Store) -> None:
    """GIVEN GLF's confirmation sent from glfastener-billing.com WHEN processed THEN only a critical hold naming the imitated domain is raised."""
    raw = _mail("billing@glfastener-billing.com", FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi")
    process_file(loaded, Config(), Arrival("mail.eml", raw, channel="imap:orders"), today=TODAY, actor="test")
    assert _held(loaded) == [("unmatched", "sender.unverified", "critical")]
    with loaded.transaction() as session:
        (document,) = session.scalars(select(DocumentRow)).all()
        assert document.trust == "unverified" and "glfastener.com" in (document.trust_reason or "")
        (held,) = repository.exceptions(session, "open")
        assert "held, nothing it says is acted on" in held.message


def test_a_document_from_the_suppliers_own_address_is_acted_on(loaded: Store) -> None:
    """GIVEN GLF's confirmation sent from orders@glfastener.com WHEN processed THEN its price and quantity deviations are raised."""
    raw = _mail("Great Lakes <orders@glfastener.com>", FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi")
    process_file(loaded, Config(), Arrival("mail.eml", raw, channel="imap:orders"), today=TODAY, actor="test")
    assert sorted(category for category, _, _ in _held(loaded)) == ["price_variance", "quantity_mismatch"]


def test_a_supplier_writing_about_another_suppliers_po_is_held(loaded: Store) -> None:
    """GIVEN ACB's address WHEN it sends a confirmation for GLF's PO THEN it is held, not acted on."""
    raw = _mail("sales@acmebearings.co.uk", FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi")
    process_file(loaded, Config(), Arrival("mail.eml", raw, channel="imap:orders"), today=TODAY, actor="test")
    assert _held(loaded) == [("unmatched", "sender.unverified", "high")]


def test_an_unverified_document_does_not_close_exceptions(loaded: Store) -> None:
    """GIVEN an open price variance WHEN a look-alike sends a 'corrected' confirmation THEN the variance stays open."""
    _process(loaded, "ordrsp_glf_4500017001.edi")
    tmp = FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi"
    text = tmp.read_text(encoding="utf-8").replace("PRI+AAA:0.13", "PRI+AAA:0.12").replace("GLF-OR-88123", "GLF-OR-9")
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "orders@glfastener.co", "Corrected", "<c@x>"
    message.set_content("Corrected.")
    message.add_attachment(text.encode(), maintype="application", subtype="edifact", filename=tmp.name)
    process_file(loaded, Config(), Arrival("c.eml", message.as_bytes(), channel="imap:orders"), today=TODAY, actor="test")
    assert ("price_variance", "price.po", "medium") in _held(loaded)


def test_a_file_without_sender_in_a_suppliers_drop_is_theirs(loaded: Store) -> None:
    """GIVEN a PDF without any sender WHEN it arrives in GLF's drop THEN it is attributed to GLF; in RHK's drop it is held."""
    pdf = (FIXTURES / "pdf" / "glf_order_confirmation_4500017001.pdf").read_bytes()
    drops = [{"name": name, "path": "/in", "archive": "/a", "quarantine": "/q", "supplier_id": supplier}
             for name, supplier in (("glf-drop", "GLF"), ("rhk-drop", "RHK"))]
    config = Config.model_validate({"drops": drops})
    process_file(loaded, config, Arrival("oc.pdf", pdf, channel="glf-drop"), today=TODAY, actor="test")
    process_file(loaded, config, Arrival("oc2.pdf", pdf + b"\n", channel="rhk-drop"), today=TODAY, actor="test")
    with loaded.transaction() as session:
        rows = session.scalars(select(DocumentRow).order_by(DocumentRow.id)).all()
        trust = [(row.trust, row.trust_reason) for row in rows]
    assert trust == [("verified", "no sender in the file; from GLF's drop glf-drop, attributed to GLF"),
                     ("unverified", "no sender in the file; from RHK's drop rhk-drop, but the PO is GLF's")]


def _certificate_pdf(po_number: str) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(72, 760, "Certificate of Conformance")
    canvas.setFont("Helvetica", 11)
    canvas.drawString(72, 730, f"Purchase order: {po_number}")
    canvas.drawString(72, 712, "We certify that the goods shipped conform to the order and its specifications.")
    canvas.save()
    return buffer.getvalue()


def _missing_docs(store: Store) -> list[int | None]:
    with store.transaction() as session:
        return [r.line for r in repository.exceptions(session, "open") if r.category == "missing_documentation"]


def test_a_certificate_received_before_the_ship_notice_satisfies_required_docs(loaded: Store) -> None:
    """GIVEN a CoC PDF for PO 4500017001 WHEN the ship notice arrives after it THEN no documentation is missing."""
    process_file(loaded, Config(), Arrival("coc.pdf", _certificate_pdf("4500017001")), today=TODAY, actor="test")
    raw = (FIXTURES / "x12" / "856_glf_4500017001.x12").read_bytes()
    process_file(loaded, Config(), Arrival("856.x12", raw), today=TODAY, actor="test")
    assert _missing_docs(loaded) == []


def test_a_ship_notice_without_its_certificates_misses_documentation(loaded: Store) -> None:
    """GIVEN no certificate WHEN the ship notice for the CoC lines arrives THEN lines 1 and 2 miss documentation."""
    process_file(loaded, Config(), Arrival("856.x12", (FIXTURES / "x12" / "856_glf_4500017001.x12").read_bytes()),
                 today=TODAY, actor="test")
    assert sorted(_missing_docs(loaded)) == [1, 2]


def test_a_certificate_attached_to_the_ship_notice_mail_counts_by_its_file_name(loaded: Store) -> None:
    """GIVEN a mail carrying the ship notice and a scanned CoC_4500017001.pdf WHEN processed THEN no documentation is missing."""
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "orders@glfastener.com", "ASN 4500017001", "<asn@glf>"
    message.set_content("Shipped today, certificate attached.")
    message.add_attachment((FIXTURES / "x12" / "856_glf_4500017001.x12").read_bytes(), maintype="application",
                           subtype="edi-x12", filename="asn.x12")
    message.add_attachment(b"\x89PNG scanned image", maintype="image", subtype="png", filename="CoC_4500017001.png")
    process_file(loaded, Config(), Arrival("asn.eml", message.as_bytes(), channel="imap:orders"), today=TODAY, actor="test")
    assert _missing_docs(loaded) == []


def test_a_held_document_is_left_out_of_what_later_documents_are_checked_against(loaded: Store) -> None:
    """GIVEN a look-alike's copy of the ship notice (7500 washers) WHEN GLF's own arrives THEN only GLF's 7500 count: short, not 15000 over."""
    asn = FIXTURES / "x12" / "856_glf_4500017001.x12"
    held = _mail("shipping@glfastener-logistics.com", asn)
    process_file(loaded, Config(), Arrival("held.eml", held, channel="imap:orders"), today=TODAY, actor="test")
    process_file(loaded, Config(), Arrival("856.x12", asn.read_bytes()), today=TODAY, actor="test")
    with loaded.transaction() as session:
        rules_fired = {(r.line, r.rule) for r in repository.exceptions(session, "open")}
    assert (3, "quantity.short_shipment") in rules_fired and (3, "quantity.over_shipment") not in rules_fired


def test_a_held_acknowledgment_does_not_stop_the_chaser(loaded: Store) -> None:
    """GIVEN only a look-alike's acknowledgment of PO 4500017001 WHEN the sweep runs after the deadline THEN the PO is still chased."""
    held = _mail("orders@glfastener.co", FIXTURES / "edifact" / "ordrsp_glf_4500017001.edi")
    process_file(loaded, Config(), Arrival("held.eml", held, channel="imap:orders"), today=TODAY, actor="test")
    with loaded.transaction() as session:
        chased = lifecycle.chase_unacknowledged(session, Config(), date(2026, 11, 30))
        assert "4500017001" in {row.po_number for row in chased}
