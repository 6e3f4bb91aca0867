"""One error tree for everything poguard reports to a user.

    PoguardError
    ├── ConfigError        a setting is wrong: file, key, what was expected
    ├── InputRejected      a CSV or other user input is wrong: file, line, column
    ├── ParseError         a supplier document cannot be read: code, location (segment, line, page)
    ├── SourceError        a channel (IMAP, SFTP, folder) failed
    │   ├── SourceUnavailable   transient: retry later
    │   └── SourceRejected      permanent: quarantine
    ├── OutboundError      sending (the digest by SMTP) failed
    │   ├── OutboundUnavailable transient: retry later
    │   └── OutboundRejected    permanent: refused (5xx reply, bad login)
    └── ErpError           the ERP refused or could not be reached

Every error renders as one line: `code: message (at location)` plus an optional hint.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ErpError",
    "InputRejected",
    "OutboundError",
    "OutboundRejected",
    "OutboundUnavailable",
    "ParseError",
    "PoguardError",
    "SourceError",
    "SourceRejected",
    "SourceUnavailable",
]


class PoguardError(Exception):
    """Base of every error poguard shows a user; `code` is stable kebab-case."""

    code = "poguard-error"

    def __init__(self, message: str, *, location: str | None = None, hint: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.location:
            text += f" (at {self.location})"
        if self.hint:
            text += f"; hint: {self.hint}"
        return text


class ConfigError(PoguardError):
    code = "config-invalid"


class InputRejected(PoguardError):
    code = "input-rejected"


class ParseError(PoguardError):
    code = "parse-failed"


class SourceError(PoguardError):
    code = "source-failed"


class SourceUnavailable(SourceError):
    code = "source-unavailable"


class SourceRejected(SourceError):
    code = "source-rejected"


class OutboundError(PoguardError):
    code = "outbound-failed"


class OutboundUnavailable(OutboundError):
    code = "outbound-unavailable"


class OutboundRejected(OutboundError):
    code = "outbound-rejected"


class ErpError(PoguardError):
    code = "erp-failed"
