"""Sending mail over SMTP (smtplib): TLS from the start, STARTTLS or plain, with an optional login.

Every smtplib, socket and ssl error is translated in one place, `translate_foreign_errors`: a reply code
decides when the server gave one (4xx transient, 5xx permanent), else the error's class does.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from poguard.config import SmtpConfig
from poguard.errors import ConfigError, OutboundError, OutboundRejected, OutboundUnavailable

__all__ = ["FOREIGN_ERRORS", "SmtpSender", "translate_foreign_errors"]

FOREIGN_ERRORS: dict[type[BaseException], tuple[type[OutboundError], str]] = {
    smtplib.SMTPAuthenticationError: (OutboundRejected, "smtp-login-failed"),
    smtplib.SMTPNotSupportedError: (OutboundRejected, "smtp-not-supported"),
    smtplib.SMTPRecipientsRefused: (OutboundRejected, "smtp-recipient-refused"),
    smtplib.SMTPSenderRefused: (OutboundRejected, "smtp-sender-refused"),
    smtplib.SMTPDataError: (OutboundRejected, "smtp-message-refused"),
    smtplib.SMTPHeloError: (OutboundRejected, "smtp-greeting-refused"),
    smtplib.SMTPConnectError: (OutboundUnavailable, "smtp-unavailable"),
    smtplib.SMTPResponseException: (OutboundRejected, "smtp-refused"),
    smtplib.SMTPServerDisconnected: (OutboundUnavailable, "smtp-disconnected"),
    smtplib.SMTPException: (OutboundUnavailable, "smtp-failed"),
    ssl.SSLCertVerificationError: (OutboundRejected, "smtp-certificate-rejected"),
    OSError: (OutboundUnavailable, "smtp-unavailable"),
}
"""Foreign exception class → our error class and code; the nearest class in an exception's MRO wins
(OSError covers the socket, timeout and ssl errors: refused, reset, timed out, TLS failures)."""

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "plain": 25}


def _reply_code(error: BaseException) -> int | None:
    """The server's reply code; for refused recipients the most severe one."""
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        return max(code for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return code if isinstance(code, int) else None


def _mapped(error: BaseException) -> tuple[type[OutboundError], str]:
    kind, code = next(FOREIGN_ERRORS[cls] for cls in type(error).__mro__ if cls in FOREIGN_ERRORS)
    reply = _reply_code(error)
    if reply is not None and 400 <= reply < 500:
        return OutboundUnavailable, code
    if reply is not None and 500 <= reply < 600:
        return OutboundRejected, code
    return kind, code


@contextmanager
def translate_foreign_errors(location: str) -> Iterator[None]:
    """Turn an smtplib, socket or ssl error into OutboundUnavailable (retry later) or OutboundRejected."""
    try:
        yield
    except tuple(FOREIGN_ERRORS) as error:
        kind, code = _mapped(error)
        raise kind(f"{type(error).__name__}: {error}", location=location, code=code) from error


def _login(config: SmtpConfig) -> tuple[str, str] | None:
    """User and password, read once when the sender is made: a user without a password is a ConfigError, found early."""
    if config.user is None:
        return None
    password = config.password("smtp")
    if password is None:
        raise ConfigError("smtp.user is set but no password", location="smtp", hint="set password_env or password_file")
    return config.user, password


class SmtpSender:
    """Sends one message per connection: digests are few, and a fresh connection never goes stale."""

    def __init__(self, config: SmtpConfig) -> None:
        if config.host is None:
            raise ConfigError("no mail server configured", location="smtp.host", hint="set [smtp] host to send digests")
        self._config = config
        self._host = config.host
        self._port = config.port or DEFAULT_PORTS[config.security]
        self._login = _login(config)

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` to its To addresses, from `from_address`."""
        with translate_foreign_errors(f"smtp ({self._host}:{self._port})"), self._connect() as client:
            if self._config.security == "starttls":
                client.starttls(context=self._tls_context())
            if self._login is not None:
                client.login(*self._login)
            client.send_message(message, from_addr=self._config.from_address)

    def _connect(self) -> smtplib.SMTP:
        if self._config.security == "tls":
            return smtplib.SMTP_SSL(self._host, self._port, timeout=self._config.timeout, context=self._tls_context())
        return smtplib.SMTP(self._host, self._port, timeout=self._config.timeout)

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self._config.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
