"""Quality certificates recognised by title or file name, in the words suppliers use."""

from __future__ import annotations

import pytest

from parsers.certificates import certificates_named


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Certificate of Conformance", ("CoC",)),
        ("CoC_4500017001.pdf", ("CoC",)),
        ("Konformitätserklärung", ("CoC",)),
        ("Certificat de conformité", ("CoC",)),
        ("certificado de conformidad", ("CoC",)),
        ("Mill Test Report heat 4711", ("MTR",)),
        ("Werkszeugnis 3.1 nach EN 10204", ("MTR",)),
        ("mtr-lot-4711.pdf", ("MTR",)),
        ("CoC and MTR for PO 4500017001.pdf", ("CoC", "MTR")),
        ("invoice_4500017001.pdf", ()),
        ("Cocoa beans, 20 kg", ()),
        ("Order confirmation", ()),
    ],
)
def test_certificates_are_named_by_title_or_file_name(text: str, codes: tuple[str, ...]) -> None:
    """GIVEN a title or file name WHEN read THEN the certificate codes it names are found, and no others."""
    assert certificates_named(text) == codes
