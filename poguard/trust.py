"""Sender trust: is a document really from the supplier it names, or is it held as unverified?

Vocabulary
- *sender*: the From address of a mail, or the interchange sender id of an EDI file (UNB sender,
  ISA06). A mail with an EDI file attached has both; the From decides.
- *verified*: the sender is on exactly one supplier's list, and the document concerns that supplier.
- *unverified*: anything else. The document is stored and shown, but nothing it says changes a PO or
  reaches the ERP.
- *genuine domain*: a domain a supplier's list names, as an `@domain` entry or as the domain of a
  listed address (public mailbox providers such as gmail.com excepted: they say nothing of a company).
- *look-alike*: an unlisted sender domain that imitates a genuine domain (extra words, another
  top-level domain, one or two letters changed, look-alike characters).

Only unlisted senders are compared with genuine domains, so two suppliers with similar domains never
flag each other. A file with no sender at all (dropped in a local folder without an interchange id) is
unverified: the folder says nothing of who wrote the file.

Authentication (`message` given): the topmost well-formed Authentication-Results header is read (it
is the one our receiving server prepends last; a sender can forge headers below it, but a forged
result can only hold a document, never verify one). A `dkim`, `dmarc` or `spf` result of `fail` for
the From's registered domain holds the document. With `check_dkim_signature`, the topmost
DKIM-Signature is verified with dkimpy: a failed signature holds the document, while a key lookup
that fails (DNS error, timeout) is only reported, because it says nothing about the sender.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from enum import StrEnum
from functools import cache

import dkim
from dkim.dnsplug import get_txt
from publicsuffixlist import PublicSuffixList
from rapidfuzz.distance import Levenshtein

from poguard.domain import Supplier

__all__ = ["DnsLookup", "SenderVerdict", "Trust", "verify_sender"]

DnsLookup = Callable[[bytes], bytes | None]
"""Returns the TXT record of a DNS name such as `b"sel._domainkey.glfastener.com."`, None when absent."""

PUBLIC_MAIL_DOMAINS = frozenset({
    "aol.com", "gmail.com", "gmx.at", "gmx.de", "gmx.net", "googlemail.com", "hotmail.com", "icloud.com",
    "live.com", "mail.ru", "me.com", "outlook.com", "proton.me", "protonmail.com", "qq.com", "t-online.de",
    "web.de", "yahoo.com", "yandex.ru",
})

FUZZY_MIN_LENGTH = 6
"""Names shorter than this are compared exactly: two letters changed in `acme` make another company."""

FUZZY_MAX_DISTANCE = 2

# Letters of other scripts drawn like Latin ones (a subset of Unicode's confusables.txt for domains).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h",
    "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ɡ": "g", "ı": "i",
})

_RESULT_DOMAIN_PROPERTIES = {"dkim": ("header.d", "header.i"), "dmarc": ("header.from",), "spf": ("smtp.mailfrom",)}


class Trust(StrEnum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class SenderVerdict:
    """Who a document is from, and whether poguard may act on it; `reason` is a sentence for a buyer."""

    trust: Trust
    supplier_id: str | None
    """VERIFIED: the supplier the sender belongs to. UNVERIFIED: the one it imitates or claims, if any."""
    reason: str
    lookalike_of: str | None = None
    """The genuine domain imitated, when the sender's domain is a look-alike."""


@dataclass(frozen=True, slots=True)
class _Domain:
    """A mail domain split at its public suffix: `mail.glfastener.com` → host `mail.glfastener`, name `glfastener`."""

    text: str
    registrable: str
    name: str
    host: str
    suffix: str


@dataclass(frozen=True, slots=True)
class _Genuine:
    domain: _Domain
    supplier_id: str


@dataclass(frozen=True, slots=True)
class _Check:
    """One authentication finding: `holds` when it keeps the document unverified."""

    text: str
    holds: bool


def verify_sender(
    *,
    from_address: str | None,
    edi_sender: str | None,
    suppliers: Sequence[Supplier],
    claimed_supplier_id: str | None = None,
    message: bytes | None = None,
    check_dkim_signature: bool = False,
    dns_lookup: DnsLookup | None = None,
) -> SenderVerdict:
    """Attribute a document to a supplier, or say why it is held as unverified. Never raises.

    `from_address` is a From header value (`"Great Lakes <Orders@GLFastener.com>"`); `edi_sender` the
    interchange sender id, with or without an EDIFACT qualifier; `claimed_supplier_id` the supplier of
    the PO the document references. `message` is the raw mail, for its authentication headers;
    `dns_lookup` replaces dkimpy's DNS query when the DKIM signature is checked.
    """
    header = (from_address or "").strip()
    edi_id = _edi_id(edi_sender)
    if header:
        verdict = _verify_mail_sender(header, edi_id, suppliers, claimed_supplier_id)
    elif edi_id:
        verdict = _verify_edi_sender(edi_id, suppliers, claimed_supplier_id)
    else:
        return SenderVerdict(Trust.UNVERIFIED, claimed_supplier_id, "no sender to verify")
    if verdict.trust is Trust.UNVERIFIED:
        return verdict
    address = _address(header)
    held = _claimed_elsewhere(verdict, address or f"EDI sender {edi_id}", claimed_supplier_id)
    if held is not None:
        return held
    return _apply_checks(verdict, _authentication_checks(message, address, check_dkim_signature, dns_lookup))


# --- attribution -------------------------------------------------------------------------------------


def _verify_mail_sender(
    from_address: str, edi_id: str | None, suppliers: Sequence[Supplier], claimed: str | None,
) -> SenderVerdict:
    address = _address(from_address)
    if address is None:
        return SenderVerdict(Trust.UNVERIFIED, claimed, f"From {from_address!r} is not an e-mail address")
    owners, entry = _mail_owners(address, suppliers)
    if not owners:
        return _unlisted_mail_sender(address, suppliers, _edi_owner_hint(edi_id, suppliers) or claimed)
    owner = _one_owner(owners, claimed)
    if owner is None:
        return SenderVerdict(Trust.UNVERIFIED, None, f"From {address} is on the lists of {_joined(owners)}")
    listed = "is on" if entry == address else f"is under {entry} on"
    verdict = SenderVerdict(Trust.VERIFIED, owner, f"From {address} {listed} {owner}'s list")
    return _check_attached_edi(verdict, address, edi_id, suppliers)


def _mail_owners(address: str, suppliers: Sequence[Supplier]) -> tuple[list[str], str]:
    """Suppliers listing the exact address, else those listing its `@domain`; and the entry that matched."""
    domain_entry = "@" + address.rpartition("@")[2]
    for entry in (address, domain_entry):
        owners = [s.supplier_id for s in suppliers if entry in _email_entries(s)]
        if owners:
            return owners, entry
    return [], address


def _verify_edi_sender(edi_id: str, suppliers: Sequence[Supplier], claimed: str | None) -> SenderVerdict:
    owners = _edi_owners(edi_id, suppliers)
    if not owners:
        return SenderVerdict(Trust.UNVERIFIED, claimed, f"EDI sender {edi_id} is on no supplier's list")
    owner = _one_owner(owners, claimed)
    if owner is None:
        return SenderVerdict(Trust.UNVERIFIED, None, f"EDI sender {edi_id} is on the lists of {_joined(owners)}")
    return SenderVerdict(Trust.VERIFIED, owner, f"EDI sender {edi_id} is on {owner}'s list")


def _check_attached_edi(verdict: SenderVerdict, address: str, edi_id: str | None, suppliers: Sequence[Supplier]) -> SenderVerdict:
    """The From decides; an attached interchange naming another supplier as its sender holds the document."""
    if edi_id is None:
        return verdict
    owners = _edi_owners(edi_id, suppliers)
    if not owners:
        return SenderVerdict(Trust.VERIFIED, verdict.supplier_id, f"{verdict.reason}; EDI sender {edi_id} is on no supplier's list")
    if verdict.supplier_id in owners:
        return verdict
    return SenderVerdict(
        Trust.UNVERIFIED, verdict.supplier_id,
        f"EDI sender {edi_id} belongs to {_joined(owners)}, but the mail came from {address} ({verdict.supplier_id})",
    )


def _claimed_elsewhere(verdict: SenderVerdict, sender: str, claimed: str | None) -> SenderVerdict | None:
    """A verified sender writing about another supplier's PO is held (a typo in the PO number, or worse)."""
    if claimed is None or claimed == verdict.supplier_id:
        return None
    return SenderVerdict(Trust.UNVERIFIED, verdict.supplier_id, f"{sender} ({verdict.supplier_id}) sent a document for a PO of {claimed}")


def _one_owner(owners: list[str], claimed: str | None) -> str | None:
    """The single supplier a sender belongs to; when several list it, the PO's supplier if it is one of them."""
    distinct = sorted(set(owners))
    if len(distinct) == 1:
        return distinct[0]
    return claimed if claimed in distinct else None


def _edi_owners(edi_id: str, suppliers: Sequence[Supplier]) -> list[str]:
    return [s.supplier_id for s in suppliers if edi_id in {_edi_id(i) for i in s.edi_ids}]


def _edi_owner_hint(edi_id: str | None, suppliers: Sequence[Supplier]) -> str | None:
    """The supplier an attached interchange claims to come from: who an unlisted mail pretends to be."""
    owners = sorted(set(_edi_owners(edi_id, suppliers))) if edi_id else []
    return owners[0] if len(owners) == 1 else None


def _edi_id(value: str | None) -> str | None:
    """`5412345000013:14` → `5412345000013`: the EDIFACT qualifier and X12 padding are not part of the id."""
    if value is None:
        return None
    return value.partition(":")[0].strip().upper() or None


def _address(header_value: str) -> str | None:
    address = parseaddr(header_value)[1].strip().lower()
    local, at, domain = address.rpartition("@")
    return address if local and at and "." in domain else None


def _email_entries(supplier: Supplier) -> set[str]:
    return {entry.strip().lower() for entry in supplier.emails}


def _joined(owners: list[str]) -> str:
    return " and ".join(sorted(set(owners)))


# --- look-alikes -------------------------------------------------------------------------------------


def _unlisted_mail_sender(address: str, suppliers: Sequence[Supplier], claimed: str | None) -> SenderVerdict:
    domain = _domain(address.rpartition("@")[2])
    genuine = _genuine_domains(suppliers)
    same = next((g for g in genuine if g.domain.registrable == domain.registrable), None)
    if same is not None:
        return _unlisted_at_genuine_domain(address, domain, same)
    for rule in (_homoglyph, _other_suffix, _extra_words, _misspelt):
        for candidate in genuine:
            how = rule(domain, candidate.domain)
            if how is not None:
                return SenderVerdict(
                    Trust.UNVERIFIED, candidate.supplier_id,
                    f"{_shown(domain)} looks like {candidate.domain.text} ({candidate.supplier_id}) but is not on its list: {how}",
                    lookalike_of=candidate.domain.text,
                )
    return SenderVerdict(Trust.UNVERIFIED, claimed, f"From {address} is on no supplier's list")


def _unlisted_at_genuine_domain(address: str, domain: _Domain, genuine: _Genuine) -> SenderVerdict:
    """The supplier's own registered domain, but an address or sub-domain its list does not name."""
    if domain.text == genuine.domain.text:
        reason = f"From {address} is at {domain.text} ({genuine.supplier_id}) but that address is not on its list"
    else:
        reason = (f"From {address} is at {domain.text}, under {domain.registrable} ({genuine.supplier_id}), "
                  f"but that domain is not on its list")
    return SenderVerdict(Trust.UNVERIFIED, genuine.supplier_id, reason)


def _homoglyph(sender: _Domain, genuine: _Domain) -> str | None:
    if sender.name != genuine.name and _skeleton(sender.name) == genuine.name:
        return "it uses look-alike characters"
    return None


def _other_suffix(sender: _Domain, genuine: _Domain) -> str | None:
    if _skeleton(sender.name) == genuine.name and sender.suffix != genuine.suffix:
        return f"another top-level domain (.{sender.suffix})"
    return None


def _extra_words(sender: _Domain, genuine: _Domain) -> str | None:
    """`glfastener-billing.com`, `billing-glfastener.com`, `glfastener.com.evil.net`."""
    host = _skeleton(sender.host)
    words = set(re.split(r"[.-]", host))
    if genuine.name in words or (len(genuine.name) >= FUZZY_MIN_LENGTH and genuine.name in host):
        return f"the name {genuine.name} with other words"
    return None


def _misspelt(sender: _Domain, genuine: _Domain) -> str | None:
    """`g1fastener.com`, `glfastner.com`: one or two letters off a name long enough to be distinctive."""
    if len(genuine.name) < FUZZY_MIN_LENGTH:
        return None
    distance = Levenshtein.distance(_skeleton(sender.name), genuine.name, score_cutoff=FUZZY_MAX_DISTANCE)
    if distance > FUZZY_MAX_DISTANCE:
        return None
    return f"{distance} letter{'s' if distance > 1 else ''} off {genuine.name}"


def _shown(domain: _Domain) -> str:
    """The domain as a buyer reads it, with its ASCII form when look-alike letters would hide the difference."""
    try:
        ascii_form = domain.text.encode("idna").decode("ascii")
    except UnicodeError:
        return domain.text
    return domain.text if ascii_form == domain.text else f"{domain.text} ({ascii_form})"


def _genuine_domains(suppliers: Sequence[Supplier]) -> list[_Genuine]:
    found: dict[str, _Genuine] = {}
    for supplier in suppliers:
        for entry in sorted(_email_entries(supplier)):
            text = entry.rpartition("@")[2]
            domain = _domain(text)
            if domain.name and text not in PUBLIC_MAIL_DOMAINS:
                found.setdefault(text, _Genuine(domain, supplier.supplier_id))
    return list(found.values())


def _domain(text: str) -> _Domain:
    """Split a domain at its public suffix; `xn--` labels are read as the Unicode they encode."""
    unicode_text = ".".join(_label_to_unicode(label) for label in text.strip().strip(".").lower().split("."))
    psl = _public_suffixes()
    suffix = psl.publicsuffix(unicode_text) or unicode_text.rpartition(".")[2]
    registrable = psl.privatesuffix(unicode_text) or unicode_text
    host = unicode_text.removesuffix(suffix).rstrip(".")
    return _Domain(unicode_text, registrable, host.rpartition(".")[2], host, suffix)


def _label_to_unicode(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def _skeleton(text: str) -> str:
    """What a reader sees: accents dropped, Cyrillic and Greek look-alikes read as the Latin letter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.translate(_CONFUSABLES)


@cache
def _public_suffixes() -> PublicSuffixList:
    """The Public Suffix List shipped with the package: read once, never fetched."""
    return PublicSuffixList()


# --- authentication ----------------------------------------------------------------------------------


def _authentication_checks(
    message: bytes | None, address: str | None, check_signature: bool, dns_lookup: DnsLookup | None,
) -> list[_Check]:
    if message is None:
        return []
    from_domain = _domain(address.rpartition("@")[2]).registrable if address else None
    checks = _authentication_results_checks(message, from_domain)
    if check_signature:
        checks.extend(_dkim_signature_checks(message, dns_lookup))
    return checks


def _apply_checks(verdict: SenderVerdict, checks: list[_Check]) -> SenderVerdict:
    holds = [c.text for c in checks if c.holds]
    if holds:
        return SenderVerdict(Trust.UNVERIFIED, verdict.supplier_id, "; ".join(holds))
    notes = [c.text for c in checks]
    return SenderVerdict(verdict.trust, verdict.supplier_id, "; ".join([verdict.reason, *notes]))


def _authentication_results_checks(message: bytes, from_domain: str | None) -> list[_Check]:
    headers = BytesHeaderParser(policy=compat32).parsebytes(message).get_all("Authentication-Results") or []
    for header in headers:
        parsed = _parse_authentication_results(str(header))
        if parsed is not None:
            authserv_id, results = parsed
            return [
                _Check(f"Authentication-Results ({authserv_id}): {method}=fail for {domain or from_domain or 'the sender'}", holds=True)
                for method, result, domain in results
                if result == "fail" and _concerns(domain, from_domain)
            ]
    return []


def _parse_authentication_results(value: str) -> tuple[str, list[tuple[str, str, str | None]]] | None:
    """RFC 8601: `authserv-id [version]; method=result prop=value ...; ...` → (authserv-id, [(method, result, domain)]).

    None when the header names no authserv-id (malformed). Only dkim, dmarc and spf are kept; the domain
    is the one the result is about (header.d or header.i, header.from, smtp.mailfrom), None if unnamed.
    """
    text = _without_comments(" ".join(value.split()))
    text = re.sub(r"\s*=\s*", "=", text)
    first, *resinfos = text.split(";")
    authserv_id = first.split()[0] if first.split() else ""
    if not authserv_id or "=" in authserv_id:
        return None
    results = []
    for resinfo in resinfos:
        tokens = resinfo.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].lower().partition("=")
        method = method.partition("/")[0]
        if method in _RESULT_DOMAIN_PROPERTIES:
            results.append((method, result, _result_domain(method, tokens[1:])))
    return authserv_id, results


def _result_domain(method: str, properties: list[str]) -> str | None:
    values = dict(token.lower().partition("=")[::2] for token in properties if "=" in token)
    for name in _RESULT_DOMAIN_PROPERTIES[method]:
        value = values.get(name, "").strip('"')
        if value:
            return value.rpartition("@")[2]
    return None


def _without_comments(text: str) -> str:
    """Drop RFC 5322 comments `(...)`, nested ones included, as they may hold `;` and `=`."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", " ", text)
    return text


def _concerns(domain: str | None, from_domain: str | None) -> bool:
    """A result is about the From when it names no domain or one under the From's registered domain."""
    if domain is None or from_domain is None:
        return True
    return _domain(domain).registrable == from_domain


class _KeyLookupFailed(Exception):
    """The DKIM key could not be fetched; kept apart from dkimpy's own errors, which are verdicts."""


class _ErrorCollector(logging.Handler):
    """Keeps what dkimpy logs as errors: it reports a bad or missing key by logging and returning False."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _dkim_signature_checks(message: bytes, dns_lookup: DnsLookup | None) -> list[_Check]:
    collector = _ErrorCollector()
    # A private logger, not getLogger(): its handler lives with this call, and dkimpy's chatter stays out of our logs.
    logger = logging.Logger(__name__ + ".dkim", logging.ERROR)  # noqa: LOG001
    logger.addHandler(collector)
    checker: dkim.DKIM | None = None
    try:
        checker = dkim.DKIM(message, logger=logger)
        if not checker.present():
            return []
        valid = checker.verify(dnsfunc=_key_lookup(dns_lookup))
    except _KeyLookupFailed as error:
        return [_Check(f"DKIM signature{_for(checker)} could not be checked: {error}", holds=False)]
    except Exception as error:  # noqa: BLE001 - dkimpy raises its own errors and, on odd input, anything
        return [_Check(f"DKIM signature{_for(checker)} failed: {_first_clause(error)}", holds=True)]
    if valid:
        return [_Check(f"DKIM signature{_for(checker)} verified", holds=False)]
    why = _first_clause(collector.messages[-1]) if collector.messages else "signature does not match"
    return [_Check(f"DKIM signature{_for(checker)} failed: {why}", holds=True)]


def _key_lookup(dns_lookup: DnsLookup | None) -> Callable[..., bytes | None]:
    """The TXT lookup as dkimpy calls it (`name, timeout=`), its errors turned into `_KeyLookupFailed`."""

    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        try:
            return dns_lookup(name) if dns_lookup is not None else get_txt(name, timeout=timeout)
        except Exception as error:  # any resolver failure means "could not check", whatever its class
            detail = str(error) or type(error).__name__
            raise _KeyLookupFailed(f"key lookup for {name.decode('ascii', 'replace').rstrip('.')} failed ({detail})") from error

    return lookup


def _for(checker: dkim.DKIM | None) -> str:
    domain = getattr(checker, "domain", None)
    return f" for {domain.decode('ascii', 'replace')}" if isinstance(domain, bytes) else ""


def _first_clause(error: Exception | str) -> str:
    """dkimpy's `body hash mismatch (got b'..', expected b'..')` → `body hash mismatch`; `b'name.'` → `name`."""
    text = str(error).split(" (", 1)[0]
    text = re.sub(r"b'([^']*?)\.?'", r"\1", text)
    return text or (type(error).__name__ if isinstance(error, Exception) else "unknown error")
