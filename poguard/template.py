"""The commented `poguard.toml` that `poguard init` writes, generated from the configuration models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from poguard.config import Config

__all__ = ["config_template"]

HEADER = """\
# poguard configuration. Every setting is shown with its default; uncomment a line to change it.
# Tolerances: a deviation exactly at a limit is accepted; beyond any limit that is set, it is flagged.
"""

SUPPLIER_EXAMPLE = """\
# Tolerance overrides: only the settings written replace the defaults above. The most specific wins:
# defaults, then the item group (pos.csv column item_group), then the supplier, then the item.
# [rules.item_groups.fasteners.quantity]
# over_pct = 2
# [rules.suppliers.GLF.price]
# over_pct = 5
# [rules.suppliers.GLF.date]
# late_days = 2
# [rules.items."FAS-M8-40".price]
# over_abs = 0.005

# Unit conversions beyond the built-in ones (DZN, KGM/GRM, MTR/CMT...): a pack of 10 is 10 EA.
# [[unit_conversions]]
# unit = "PK"
# equals = 10
# base = "EA"
# item = "FAS-W8"                  # only for this item; leave out for every item
"""

CHANNEL_EXAMPLE = """\
# Supplier mailboxes (IMAP), one [[mailboxes]] table each. Passwords come from the environment or a file.
# [[mailboxes]]
# name = "orders"
# host = "imap.example.com"
# security = "tls"                 # tls (port 993), starttls or plain (port 143)
# user = "poguard@example.com"
# password_env = "POGUARD_IMAP_PASSWORD"
# folder = "INBOX"
# processed_folder = "poguard/processed"
# quarantine_folder = "poguard/quarantine"
# poll_seconds = 60
# idle = true

# EDI drops: a local folder or a folder on an SFTP server, one [[drops]] table each.
# [[drops]]
# name = "glf-edi"
# kind = "sftp"                    # or "folder"
# host = "sftp.example.com"
# user = "poguard"
# key_file = "/etc/poguard/id_ed25519"
# path = "/outbound"
# archive = "/outbound/archive"
# quarantine = "/outbound/quarantine"
# poll_seconds = 60

# Time zones for the daily digest, per person; everyone else uses [digest] time_zone.
# [digest.time_zones]
# "anna.buyer@example-mfg.com" = "America/Chicago"
"""


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _section(model: BaseModel, path: str) -> list[str]:
    lines = [f"[{path}]"]
    doc = type(model).__doc__
    if doc and not doc.startswith(type(model).__name__ + "("):
        lines.insert(0, f"# {doc.strip()}")
    nested = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if _is_section(info.annotation):
            nested.append((name, value))
            continue
        if isinstance(value, dict):
            continue
        if info.description:
            lines.append(f"# {info.description}")
        lines.append(f"# {name} = (not set)" if value is None else f"{name} = {_toml_value(value)}")
    text = ["\n".join(lines)]
    for name, value in nested:
        text.extend(_section(value, f"{path}.{name}"))
    return text


def config_template() -> str:
    """Every setting with its description and default, as TOML that loads back to the defaults."""
    config = Config()
    sections = []
    for name in type(config).model_fields:
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            sections.extend(_section(value, name))
    return HEADER + "\n" + "\n\n".join(sections) + "\n\n" + SUPPLIER_EXAMPLE + "\n" + CHANNEL_EXAMPLE
