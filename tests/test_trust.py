"""Sender trust: a document is attributed to a supplier only when its sender is on that supplier's list;
anything else is held as unverified, look-alike domains are called out, and failed authentication holds."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from poguard import trust
from poguard.domain import Supplier
from poguard.trust import DnsLookup, SenderVerdict, Trust, verify_sender

SUPPLIERS = (
    Supplier("GLF", "Great Lakes Fastener", emails=("orders@glfastener.com", "@glfastener.com"), edi_ids=("5412345000013",)),
    Supplier("RHK", "Rheintal Kunststoffe", emails=("@rheintal-kunststoffe.de",), edi_ids=("4012345000009",)),
    Supplier("ACB", "Acme Bearings", emails=("sales@acmebearings.co.uk",), edi_ids=("ACMEBEARINGS",)),
)
SELECTOR = b"mail2026"
KEY_NAME = b"mail2026._domainkey.glfastener.com."


def _verify(from_address: str | None = None, edi_sender: str | None = None, **options: object) -> SenderVerdict:
    return verify_sender(from_address=from_address, edi_sender=edi_sender, suppliers=SUPPLIERS, **options)  # type: ignore[arg-type]


def _mail(*authentication_results: str, sender: str = "orders@glfastener.com") -> bytes:
    """Real RFC 822 bytes; Authentication-Results are given top first, as a receiving server prepends them."""
    message = EmailMessage()
    for value in authentication_results:
        message["Authentication-Results"] = value
    message["From"] = f"Great Lakes <{sender}>"
    message["To"] = "purchasing@buyer.example"
    message["Subject"] = "Order confirmation 4500017001"
    message["Message-ID"] = "<conf-4500017001@glfastener.com>"
    message.set_content("PO 4500017001 confirmed.\n")
    return bytes(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))


def test_module_exports_what_it_documents() -> None:
    """GIVEN the trust module WHEN its public names are listed THEN they are exactly the documented ones."""
    assert sorted(trust.__all__) == ["DnsLookup", "SenderVerdict", "Trust", "verify_sender"]


# --- attribution --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("from_address", "supplier_id", "reason"), [
    pytest.param("orders@glfastener.com", "GLF", "From orders@glfastener.com is on GLF's list", id="exact-address"),
    pytest.param("jane.doe@glfastener.com", "GLF", "From jane.doe@glfastener.com is under @glfastener.com on GLF's list", id="domain-entry"),
    pytest.param('"Great Lakes" <Orders@GLFastener.COM>', "GLF", "From orders@glfastener.com is on GLF's list", id="case-and-display-name"),
    pytest.param("Sales Team <sales@acmebearings.co.uk>", "ACB", "From sales@acmebearings.co.uk is on ACB's list", id="address-under-co-uk"),
    pytest.param("einkauf@rheintal-kunststoffe.de", "RHK", "From einkauf@rheintal-kunststoffe.de is under @rheintal-kunststoffe.de on RHK's list", id="hyphenated-domain"),
])
def test_listed_sender_is_verified_as_its_supplier(from_address: str, supplier_id: str, reason: str) -> None:
    """GIVEN a From on a supplier's list WHEN the sender is verified THEN the document is that supplier's."""
    assert _verify(from_address) == SenderVerdict(Trust.VERIFIED, supplier_id, reason)


@pytest.mark.parametrize(("from_address", "supplier_id", "reason"), [
    pytest.param("orders@mail.glfastener.com", "GLF",
                 "From orders@mail.glfastener.com is at mail.glfastener.com, under glfastener.com (GLF), but that domain is not on its list",
                 id="sub-domain-not-listed"),
    pytest.param("billing@acmebearings.co.uk", "ACB",
                 "From billing@acmebearings.co.uk is at acmebearings.co.uk (ACB) but that address is not on its list",
                 id="other-address-at-listed-address-domain"),
    pytest.param("someone@gmail.com", None, "From someone@gmail.com is on no supplier's list", id="unrelated-domain"),
    pytest.param("Great Lakes", None, "From 'Great Lakes' is not an e-mail address", id="no-address-in-from"),
])
def test_unlisted_sender_is_unverified_but_not_a_lookalike(from_address: str, supplier_id: str | None, reason: str) -> None:
    """GIVEN a From on no list and imitating no one WHEN verified THEN it is unverified without a look-alike."""
    assert _verify(from_address) == SenderVerdict(Trust.UNVERIFIED, supplier_id, reason)


@pytest.mark.parametrize(("domain", "supplier_id", "genuine", "how"), [
    pytest.param("glfastener-billing.com", "GLF", "glfastener.com", "the name glfastener with other words", id="extra-word-after"),
    pytest.param("billing-glfastener.com", "GLF", "glfastener.com", "the name glfastener with other words", id="extra-word-before"),
    pytest.param("glfastener.com.evil.net", "GLF", "glfastener.com", "the name glfastener with other words", id="genuine-domain-as-sub-domain"),
    pytest.param("glfastenerinvoices.com", "GLF", "glfastener.com", "the name glfastener with other words", id="extra-word-glued-on"),
    pytest.param("g1fastener.com", "GLF", "glfastener.com", "1 letter off glfastener", id="digit-for-letter"),
    pytest.param("glfastner.com", "GLF", "glfastener.com", "1 letter off glfastener", id="letter-dropped"),
    pytest.param("glfsatener.com", "GLF", "glfastener.com", "2 letters off glfastener", id="letters-swapped"),
    pytest.param("acmebearing.co.uk", "ACB", "acmebearings.co.uk", "1 letter off acmebearings", id="misspelt-listed-address-domain"),
    pytest.param("rheintal-kunststoff.de", "RHK", "rheintal-kunststoffe.de", "1 letter off rheintal-kunststoffe", id="misspelt-hyphenated"),
    pytest.param("glfastener.co", "GLF", "glfastener.com", "another top-level domain (.co)", id="other-tld-co"),
    pytest.param("glfastener.net", "GLF", "glfastener.com", "another top-level domain (.net)", id="other-tld-net"),
    pytest.param("acmebearings.com", "ACB", "acmebearings.co.uk", "another top-level domain (.com)", id="other-tld-than-co-uk"),
    pytest.param("glf\u0430stener.com", "GLF", "glfastener.com", "it uses look-alike characters", id="cyrillic-a"),
    pytest.param("rheintal-kunstst\u043effe.de", "RHK", "rheintal-kunststoffe.de", "it uses look-alike characters", id="cyrillic-o"),
    pytest.param("glf\u00e4stener.com", "GLF", "glfastener.com", "it uses look-alike characters", id="accented-letter"),
])
def test_lookalike_domain_is_called_out(domain: str, supplier_id: str, genuine: str, how: str) -> None:
    """GIVEN a From at a domain imitating a supplier's WHEN verified THEN it is unverified and names the genuine domain."""
    verdict = _verify(f"accounts@{domain}")

    assert (verdict.trust, verdict.supplier_id, verdict.lookalike_of) == (Trust.UNVERIFIED, supplier_id, genuine)
    assert verdict.reason.startswith(f"{domain}")
    assert verdict.reason.endswith(f"looks like {genuine} ({supplier_id}) but is not on its list: {how}")


def test_punycode_lookalike_is_shown_in_both_forms() -> None:
    """GIVEN a From at the xn-- form of glfаstener.com (Cyrillic а) WHEN verified THEN the reason shows what a reader sees and the ASCII form."""
    punycode = "glf\u0430stener.com".encode("idna").decode("ascii")

    verdict = _verify(f"accounts@{punycode}")

    assert verdict == SenderVerdict(
        Trust.UNVERIFIED, "GLF",
        f"glf\u0430stener.com ({punycode}) looks like glfastener.com (GLF) but is not on its list: it uses look-alike characters",
        lookalike_of="glfastener.com",
    )


@pytest.mark.parametrize("from_address", [
    pytest.param("someone@gmail.com", id="public-mail-provider"),
    pytest.param("info@fastenal.com", id="different-company-in-the-same-trade"),
    pytest.param("info@acme.de", id="short-name-sharing-a-word"),
])
def test_unrelated_domain_is_not_a_lookalike(from_address: str) -> None:
    """GIVEN a From at a domain that imitates no supplier WHEN verified THEN no look-alike is reported."""
    verdict = _verify(from_address)

    assert (verdict.trust, verdict.lookalike_of) == (Trust.UNVERIFIED, None)


def test_close_genuine_domains_of_two_suppliers_do_not_flag_each_other() -> None:
    """GIVEN two suppliers whose domains are one letter apart WHEN each one's listed sender is verified THEN both verify."""
    suppliers = (*SUPPLIERS, Supplier("GLX", "GL Fasteners Export", emails=("@glfasteners.com",)))

    verdicts = [verify_sender(from_address=a, edi_sender=None, suppliers=suppliers) for a in ("x@glfastener.com", "x@glfasteners.com")]

    assert [(v.trust, v.supplier_id, v.lookalike_of) for v in verdicts] == [(Trust.VERIFIED, "GLF", None), (Trust.VERIFIED, "GLX", None)]


def test_public_mail_address_on_a_list_makes_no_genuine_domain() -> None:
    """GIVEN a small supplier listed by a gmail address WHEN another gmail user writes THEN nobody is imitated."""
    suppliers = (*SUPPLIERS, Supplier("SMW", "Small Works", emails=("smallworks@gmail.com",)))

    listed = verify_sender(from_address="smallworks@gmail.com", edi_sender=None, suppliers=suppliers)
    other = verify_sender(from_address="someone@gmail.com", edi_sender=None, suppliers=suppliers)

    assert (listed.trust, listed.supplier_id) == (Trust.VERIFIED, "SMW")
    assert other == SenderVerdict(Trust.UNVERIFIED, None, "From someone@gmail.com is on no supplier's list")


def test_sender_on_two_suppliers_lists_is_unverified_unless_the_po_decides() -> None:
    """GIVEN a domain listed by two suppliers WHEN verified without and with the PO's supplier THEN only the PO settles it."""
    suppliers = (*SUPPLIERS, Supplier("GLE", "Great Lakes Europe", emails=("@glfastener.com",)))

    alone = verify_sender(from_address="jane@glfastener.com", edi_sender=None, suppliers=suppliers)
    with_po = verify_sender(from_address="jane@glfastener.com", edi_sender=None, suppliers=suppliers, claimed_supplier_id="GLE")

    assert alone == SenderVerdict(Trust.UNVERIFIED, None, "From jane@glfastener.com is on the lists of GLE and GLF")
    assert (with_po.trust, with_po.supplier_id) == (Trust.VERIFIED, "GLE")


@pytest.mark.parametrize(("edi_sender", "verdict"), [
    pytest.param("5412345000013", SenderVerdict(Trust.VERIFIED, "GLF", "EDI sender 5412345000013 is on GLF's list"), id="plain-id"),
    pytest.param("5412345000013:14", SenderVerdict(Trust.VERIFIED, "GLF", "EDI sender 5412345000013 is on GLF's list"), id="edifact-qualifier"),
    pytest.param("ACMEBEARINGS   ", SenderVerdict(Trust.VERIFIED, "ACB", "EDI sender ACMEBEARINGS is on ACB's list"), id="x12-padded"),
    pytest.param("9999999999999:14", SenderVerdict(Trust.UNVERIFIED, None, "EDI sender 9999999999999 is on no supplier's list"), id="unknown-id"),
])
def test_edi_interchange_sender_is_verified_by_its_id(edi_sender: str, verdict: SenderVerdict) -> None:
    """GIVEN an EDI file with an interchange sender id and no mail WHEN verified THEN the id alone decides."""
    assert _verify(edi_sender=edi_sender) == verdict


def test_edi_id_of_another_supplier_in_a_mail_from_glf_is_unverified() -> None:
    """GIVEN a mail from GLF carrying an interchange sent by RHK's id WHEN verified THEN it is held, naming both."""
    assert _verify("orders@glfastener.com", "4012345000009:14") == SenderVerdict(
        Trust.UNVERIFIED, "GLF", "EDI sender 4012345000009 belongs to RHK, but the mail came from orders@glfastener.com (GLF)",
    )


def test_edi_id_of_the_same_supplier_in_its_mail_is_verified() -> None:
    """GIVEN a mail from GLF carrying an interchange with GLF's id WHEN verified THEN the From verifies it."""
    assert _verify("orders@glfastener.com", "5412345000013:14") == SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list")


def test_unknown_edi_id_in_a_listed_mail_is_noted_but_the_from_decides() -> None:
    """GIVEN a mail from GLF carrying an interchange with an id on no list WHEN verified THEN it verifies and says so."""
    assert _verify("orders@glfastener.com", "7777777777777") == SenderVerdict(
        Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list; EDI sender 7777777777777 is on no supplier's list",
    )


def test_listed_edi_id_does_not_verify_a_mail_from_an_unlisted_address() -> None:
    """GIVEN a mail from gmail carrying an interchange with GLF's id WHEN verified THEN it is held, claiming GLF."""
    assert _verify("glf.orders@gmail.com", "5412345000013") == SenderVerdict(
        Trust.UNVERIFIED, "GLF", "From glf.orders@gmail.com is on no supplier's list",
    )


@pytest.mark.parametrize(("from_address", "edi_sender", "sender_id", "reason"), [
    pytest.param("sales@acmebearings.co.uk", None, "ACB", "sales@acmebearings.co.uk (ACB) sent a document for a PO of GLF", id="mail"),
    pytest.param(None, "4012345000009", "RHK", "EDI sender 4012345000009 (RHK) sent a document for a PO of GLF", id="edi"),
])
def test_document_for_a_po_of_another_supplier_is_unverified(
    from_address: str | None, edi_sender: str | None, sender_id: str, reason: str,
) -> None:
    """GIVEN a verified sender writing about GLF's PO WHEN verified THEN it is held under the real sender."""
    assert _verify(from_address, edi_sender, claimed_supplier_id="GLF") == SenderVerdict(Trust.UNVERIFIED, sender_id, reason)


def test_document_for_its_own_suppliers_po_is_verified() -> None:
    """GIVEN GLF's sender writing about GLF's PO WHEN verified THEN it is verified."""
    assert _verify("orders@glfastener.com", claimed_supplier_id="GLF").trust is Trust.VERIFIED


@pytest.mark.parametrize(("from_address", "edi_sender", "claimed"), [
    pytest.param(None, None, None, id="nothing"),
    pytest.param("  ", "  ", None, id="blank"),
    pytest.param(None, None, "GLF", id="po-of-glf-dropped-in-a-folder"),
])
def test_document_without_sender_is_unverified(from_address: str | None, edi_sender: str | None, claimed: str | None) -> None:
    """GIVEN a file with neither From nor interchange sender WHEN verified THEN it is held: a folder vouches for no one."""
    assert _verify(from_address, edi_sender, claimed_supplier_id=claimed) == SenderVerdict(Trust.UNVERIFIED, claimed, "no sender to verify")


# --- Authentication-Results ---------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "verdict"), [
    pytest.param(
        (("mx.buyer.example; dkim=pass header.d=glfastener.com header.s=mail2026; spf=pass smtp.mailfrom=orders@glfastener.com;"
          " dmarc=pass header.from=glfastener.com"),),
        SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list"), id="all-pass"),
    pytest.param(
        ("mx.buyer.example; dkim=fail (body hash did not verify) header.d=glfastener.com; spf=pass smtp.mailfrom=glfastener.com",),
        SenderVerdict(Trust.UNVERIFIED, "GLF", "Authentication-Results (mx.buyer.example): dkim=fail for glfastener.com"), id="dkim-fail"),
    pytest.param(
        ("mx.buyer.example; dmarc=fail (p=reject dis=none) header.from=glfastener.com",),
        SenderVerdict(Trust.UNVERIFIED, "GLF", "Authentication-Results (mx.buyer.example): dmarc=fail for glfastener.com"), id="dmarc-fail"),
    pytest.param(
        ("mx.buyer.example; spf=fail smtp.mailfrom=bounce@mail.glfastener.com",),
        SenderVerdict(Trust.UNVERIFIED, "GLF", "Authentication-Results (mx.buyer.example): spf=fail for mail.glfastener.com"), id="spf-fail-sub-domain"),
    pytest.param(
        ("mx.buyer.example 1; dkim = fail; spf=fail (no ; here) smtp.mailfrom=glfastener.com",),
        SenderVerdict(Trust.UNVERIFIED, "GLF", "Authentication-Results (mx.buyer.example): dkim=fail for glfastener.com; "
                                               "Authentication-Results (mx.buyer.example): spf=fail for glfastener.com"),
        id="version-spaces-comments-and-no-domain"),
    pytest.param(
        ("mx.buyer.example; dkim=fail header.d=esp-mailer.net; dkim=pass header.d=glfastener.com",),
        SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list"), id="fail-for-another-domain-is-fine"),
    pytest.param(
        ("mx.buyer.example; dkim=none; spf=softfail smtp.mailfrom=glfastener.com; dmarc=none header.from=glfastener.com",),
        SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list"), id="none-and-softfail-are-fine"),
    pytest.param(
        ("mx.buyer.example; none",),
        SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list"), id="no-results"),
])
def test_authentication_results_failure_for_the_from_domain_holds(headers: tuple[str, ...], verdict: SenderVerdict) -> None:
    """GIVEN a listed sender's mail with Authentication-Results WHEN verified THEN a fail for the From's domain holds it."""
    assert _verify("orders@glfastener.com", message=_mail(*headers)) == verdict


@pytest.mark.parametrize(("headers", "trust"), [
    pytest.param(("mx.buyer.example; dmarc=pass header.from=glfastener.com", "relay.glfastener.com; dmarc=fail header.from=glfastener.com"),
                 Trust.VERIFIED, id="topmost-pass-wins-over-lower-fail"),
    pytest.param(("mx.buyer.example; dmarc=fail header.from=glfastener.com", "relay.glfastener.com; dmarc=pass header.from=glfastener.com"),
                 Trust.UNVERIFIED, id="topmost-fail-wins-over-lower-pass"),
    pytest.param(("dmarc=pass header.from=glfastener.com", "mx.buyer.example; dmarc=fail header.from=glfastener.com"),
                 Trust.UNVERIFIED, id="topmost-without-authserv-id-is-skipped"),
])
def test_topmost_authentication_results_with_an_authserv_id_decides(headers: tuple[str, ...], trust: Trust) -> None:
    """GIVEN several Authentication-Results headers WHEN verified THEN the topmost one naming an authserv-id is read."""
    assert _verify("orders@glfastener.com", message=_mail(*headers)).trust is trust


def test_authentication_failure_does_not_replace_a_lookalike_reason() -> None:
    """GIVEN a look-alike sender whose mail also fails DMARC WHEN verified THEN the look-alike is what the buyer reads."""
    message = _mail("mx.buyer.example; dmarc=fail header.from=glfastener-billing.com", sender="x@glfastener-billing.com")

    verdict = _verify("x@glfastener-billing.com", message=message)

    assert verdict.lookalike_of == "glfastener.com"
    assert "Authentication-Results" not in verdict.reason


# --- DKIM signature -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA key: the private key in PEM and the TXT record publishing its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _signed(private_key: bytes) -> bytes:
    message = _mail()
    signature: bytes = dkim.sign(message, SELECTOR, b"glfastener.com", private_key, include_headers=[b"from", b"to", b"subject", b"message-id"])
    return signature + message


def _dns(record: bytes) -> DnsLookup:
    """A DNS that publishes `record` at our selector and nothing else."""

    def lookup(name: bytes) -> bytes | None:
        return record if name == KEY_NAME else None
    return lookup


def test_valid_dkim_signature_is_verified(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a mail signed by glfastener.com and its key in DNS WHEN the signature is checked THEN it is verified."""
    private, record = key_pair

    verdict = _verify("orders@glfastener.com", message=_signed(private), check_dkim_signature=True, dns_lookup=_dns(record))

    assert verdict == SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list; DKIM signature for glfastener.com verified")


def test_tampered_body_fails_the_dkim_signature(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a signed mail whose price was changed after signing WHEN the signature is checked THEN it is held."""
    private, record = key_pair
    message = _signed(private).replace(b"PO 4500017001 confirmed.", b"PO 4500017001 confirmed at +12%.")

    verdict = _verify("orders@glfastener.com", message=message, check_dkim_signature=True, dns_lookup=_dns(record))

    assert verdict == SenderVerdict(Trust.UNVERIFIED, "GLF", "DKIM signature for glfastener.com failed: body hash mismatch")


def test_tampered_header_fails_the_dkim_signature(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a signed mail whose subject was changed after signing WHEN the signature is checked THEN it is held."""
    private, record = key_pair
    message = _signed(private).replace(b"Order confirmation", b"Order change")

    verdict = _verify("orders@glfastener.com", message=message, check_dkim_signature=True, dns_lookup=_dns(record))

    assert verdict == SenderVerdict(Trust.UNVERIFIED, "GLF", "DKIM signature for glfastener.com failed: signature does not match")


def test_signature_by_another_key_fails(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a mail signed with a key other than the published one WHEN the signature is checked THEN it is held."""
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_key = forger.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())

    verdict = _verify("orders@glfastener.com", message=_signed(forged_key), check_dkim_signature=True, dns_lookup=_dns(key_pair[1]))

    assert verdict.trust is Trust.UNVERIFIED
    assert verdict.reason == "DKIM signature for glfastener.com failed: signature does not match"


def test_unpublished_key_fails_the_dkim_signature(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a signed mail whose selector has no key in DNS WHEN the signature is checked THEN it is held, naming the key."""
    verdict = _verify("orders@glfastener.com", message=_signed(key_pair[0]), check_dkim_signature=True, dns_lookup=lambda name: None)

    assert verdict == SenderVerdict(
        Trust.UNVERIFIED, "GLF", "DKIM signature for glfastener.com failed: missing public key: mail2026._domainkey.glfastener.com",
    )


def test_failed_key_lookup_is_reported_but_does_not_hold(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a signed mail and a DNS lookup that times out WHEN the signature is checked THEN it verifies, saying it could not check."""
    def timing_out(name: bytes) -> bytes:
        raise TimeoutError("resolver did not answer")

    verdict = _verify("orders@glfastener.com", message=_signed(key_pair[0]), check_dkim_signature=True, dns_lookup=timing_out)

    assert verdict == SenderVerdict(
        Trust.VERIFIED, "GLF",
        "From orders@glfastener.com is on GLF's list; DKIM signature for glfastener.com could not be checked: "
        "key lookup for mail2026._domainkey.glfastener.com failed (resolver did not answer)",
    )


def test_malformed_dkim_signature_holds_without_raising() -> None:
    """GIVEN a mail whose DKIM-Signature lacks its mandatory tags WHEN the signature is checked THEN it is held, not raised."""
    message = b"DKIM-Signature: v=1; a=rsa-sha256; d=glfastener.com\r\n" + _mail()

    verdict = _verify("orders@glfastener.com", message=message, check_dkim_signature=True, dns_lookup=lambda name: None)

    assert verdict == SenderVerdict(Trust.UNVERIFIED, "GLF", "DKIM signature failed: missing b=")


def test_unsigned_mail_is_not_held_by_the_signature_check() -> None:
    """GIVEN a listed sender's mail without DKIM-Signature WHEN the signature is checked THEN nothing is added."""
    verdict = _verify("orders@glfastener.com", message=_mail(), check_dkim_signature=True, dns_lookup=lambda name: None)

    assert verdict == SenderVerdict(Trust.VERIFIED, "GLF", "From orders@glfastener.com is on GLF's list")


def test_signature_is_not_checked_unless_asked(key_pair: tuple[bytes, bytes]) -> None:
    """GIVEN a tampered signed mail WHEN verified without check_dkim_signature THEN no DNS is asked and the From decides."""
    def no_dns(name: bytes) -> bytes:
        raise AssertionError("DNS must not be asked")

    message = _signed(key_pair[0]).replace(b"confirmed.", b"cancelled.")

    assert _verify("orders@glfastener.com", message=message, dns_lookup=no_dns).trust is Trust.VERIFIED


# --- never raises -------------------------------------------------------------------------------------

_HEADERS = st.sampled_from([b"From", b"Authentication-Results", b"DKIM-Signature", b"Subject"])
_VALUES = st.one_of(st.binary(max_size=80), st.sampled_from([b"mx; dkim=fail header.d=", b"v=1; a=rsa-sha256; d=glfastener.com; s=x; h=from; bh=; b="]))
_MESSAGES = st.lists(st.tuples(_HEADERS, _VALUES), max_size=5).map(
    lambda fields: b"".join(name + b": " + value + b"\r\n" for name, value in fields) + b"\r\nbody\r\n",
)


@settings(max_examples=200, deadline=None)
@given(from_address=st.one_of(st.none(), st.text(max_size=60), st.sampled_from(["orders@glfastener.com", "x@glf\u0430stener.com"])),
       edi_sender=st.one_of(st.none(), st.text(max_size=20), st.just("5412345000013:14")),
       claimed=st.one_of(st.none(), st.sampled_from(["GLF", "RHK", "ACB", "XYZ"])), message=st.one_of(st.none(), _MESSAGES))
def test_any_input_gives_a_verdict_and_never_raises(
    from_address: str | None, edi_sender: str | None, claimed: str | None, message: bytes | None,
) -> None:
    """GIVEN arbitrary From, EDI id, PO supplier and mail bytes WHEN verified THEN a verdict with a reason comes back."""
    verdict = _verify(from_address, edi_sender, claimed_supplier_id=claimed, message=message,
                      check_dkim_signature=True, dns_lookup=lambda name: None)

    assert verdict.trust in (Trust.VERIFIED, Trust.UNVERIFIED)
    assert verdict.reason
