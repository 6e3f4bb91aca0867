"""Quality certificates a PO line may require (`required_docs`): recognised from a document's title or an
attachment's file name, in English, German, French and Spanish.

The codes are the ones buyers write in `required_docs`: `CoC` (certificate of conformance) and `MTR`
(mill or material test report, EN 10204 3.1 inspection certificate).
"""

from __future__ import annotations

import re

__all__ = ["CERTIFICATE_CODES", "certificates_named"]

_PATTERNS: dict[str, re.Pattern[str]] = {
    "CoC": re.compile(
        r"(?<![a-z])(?:coc|c\.o\.c\.|cert(?:ificate)?[\s_-]*of[\s_-]*(?:conformance|conformity|compliance)|"
        r"konformit[äa]ts[\s_-]*(?:erkl[äa]rung|bescheinigung|zertifikat)|herstellererkl[äa]rung|"
        r"certificat[\s_-]*de[\s_-]*conformit[ée]|certificado[\s_-]*de[\s_-]*conformidad)(?![a-z])",
        re.IGNORECASE),
    "MTR": re.compile(
        r"(?<![a-z])(?:mtr|mill[\s_-]*test[\s_-]*(?:report|cert(?:ificate)?)|material[\s_-]*test[\s_-]*(?:report|"
        r"cert(?:ificate)?)|werks?zeugnis|abnahmepr[üu]fzeugnis|inspection[\s_-]*certificate[\s_-]*3\.1|"
        r"en[\s_-]*10204|certificat[\s_-]*(?:mati[èe]re|de[\s_-]*r[ée]ception)|certificado[\s_-]*de[\s_-]*(?:material|"
        r"inspecci[óo]n))(?![a-z])",
        re.IGNORECASE),
}
CERTIFICATE_CODES = tuple(_PATTERNS)


def certificates_named(text: str) -> tuple[str, ...]:
    """The certificate codes `text` (a title, a file name) names, in a stable order."""
    return tuple(code for code, pattern in _PATTERNS.items() if pattern.search(text))
