"""Configuration: one TOML file, validated by pydantic; the rest of poguard receives `Config`, never a dict.

Words
- *tolerance*: how far a supplier may deviate before an exception is raised. Percent and absolute limits
  are checked separately; a deviation is flagged when it exceeds any limit that is set. A value exactly
  at a limit is within tolerance.
- *override*: a partial tolerance for one supplier, merged over the defaults (`[rules.suppliers.ID]`).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from poguard.errors import ConfigError

__all__ = [
    "Config",
    "DateTolerance",
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_DATABASE_URL",
    "DigestConfig",
    "DropConfig",
    "MailboxConfig",
    "PriceTolerance",
    "QuantityTolerance",
    "SmtpConfig",
    "Tolerances",
    "load_config",
]

DEFAULT_CONFIG_NAME = "poguard.toml"
DEFAULT_DATABASE_URL = "sqlite:///poguard.db"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PriceTolerance(_Section):
    over_pct: Decimal | None = Field(Decimal("1"), ge=0, description="unit price above the PO price, in percent")
    under_pct: Decimal | None = Field(Decimal("5"), ge=0, description="unit price below the PO price, in percent")
    over_abs: Decimal | None = Field(None, ge=0, description="unit price above the PO price, in PO currency per unit")
    under_abs: Decimal | None = Field(None, ge=0, description="unit price below the PO price, in PO currency per unit")


class QuantityTolerance(_Section):
    over_pct: Decimal | None = Field(Decimal("0"), ge=0, description="quantity above the PO quantity, in percent")
    under_pct: Decimal | None = Field(Decimal("0"), ge=0, description="quantity below the PO quantity, in percent")
    over_abs: Decimal | None = Field(None, ge=0, description="quantity above the PO quantity, in PO units")
    under_abs: Decimal | None = Field(None, ge=0, description="quantity below the PO quantity, in PO units")


class DateTolerance(_Section):
    early_days: int | None = Field(3, ge=0, description="delivery before the need-by date, in business days")
    late_days: int | None = Field(0, ge=0, description="delivery after the need-by date, in business days")


class Tolerances(_Section):
    price: PriceTolerance = Field(default_factory=PriceTolerance)
    quantity: QuantityTolerance = Field(default_factory=QuantityTolerance)
    date: DateTolerance = Field(default_factory=DateTolerance)


class ToleranceOverride(_Section):
    """A partial tolerance: only the settings written in the file replace the defaults."""

    price: PriceTolerance | None = None
    quantity: QuantityTolerance | None = None
    date: DateTolerance | None = None


class AutoResolve(_Section):
    """Low-risk differences recorded as auto_resolved (with the rule that resolved them) instead of open."""

    within_tolerance: bool = Field(True, description="a price, quantity or date difference inside its tolerance")
    equivalent_uom: bool = Field(True, description="another unit whose converted quantity and price are equal")


class AcknowledgmentRule(_Section):
    within_days: int = Field(2, ge=0, description="business days after the PO date an acknowledgment is due")


class RulesConfig(Tolerances):
    auto_resolve: AutoResolve = Field(default_factory=AutoResolve)
    acknowledgment: AcknowledgmentRule = Field(default_factory=AcknowledgmentRule)
    check_lead_time: bool = Field(True, description="flag promised dates inside the supplier's lead time")
    suppliers: dict[str, ToleranceOverride] = Field(default_factory=dict)
    item_groups: dict[str, ToleranceOverride] = Field(default_factory=dict)
    items: dict[str, ToleranceOverride] = Field(default_factory=dict)


class Ownership(_Section):
    owner: str = Field(description="the role that owns the exception (a key of [roles])")
    sla_days: int = Field(ge=0, description="business days to act")
    escalate_to: str = Field(description="the role an overdue exception escalates to")


def _ownership(owner: str, sla_days: int, escalate_to: str) -> Any:
    return Field(default_factory=lambda: Ownership(owner=owner, sla_days=sla_days, escalate_to=escalate_to))


class OwnershipConfig(_Section):
    """Who owns each category of exception, the SLA in business days, and where it escalates."""

    price_variance: Ownership = _ownership("buyer", 2, "procurement_lead")
    quantity_mismatch: Ownership = _ownership("receiving", 1, "warehouse_manager")
    date_deviation: Ownership = _ownership("scheduler", 1, "supply_chain_head")
    missing_documentation: Ownership = _ownership("supplier_quality", 3, "quality_manager")
    sku_mismatch: Ownership = _ownership("buyer", 2, "procurement_lead")
    unauthorized_change: Ownership = _ownership("buyer", 1, "procurement_lead")
    unacknowledged_po: Ownership = _ownership("buyer", 2, "procurement_lead")
    unmatched: Ownership = _ownership("buyer", 1, "procurement_lead")


class RolesConfig(_Section):
    """Roles map to people. `buyer` is the PO's buyer; the address here is used when a PO has none."""

    buyer: str = "purchasing@example.com"
    procurement_lead: str = "procurement.lead@example.com"
    receiving: str = "receiving@example.com"
    warehouse_manager: str = "warehouse.manager@example.com"
    scheduler: str = "scheduling@example.com"
    supply_chain_head: str = "supply.chain@example.com"
    supplier_quality: str = "supplier.quality@example.com"
    quality_manager: str = "quality.manager@example.com"


class UnitConversion(_Section):
    unit: str = Field(description="the unit a supplier writes, e.g. PK")
    equals: Decimal = Field(gt=0, description="how many base units one such unit holds, e.g. 10")
    base: str = Field(description="the base unit, e.g. EA")
    item: str | None = Field(None, description="only for this item (a pack size); all items when absent")


class CalendarConfig(_Section):
    country: str | None = Field(None, description="ISO country whose holidays SLA clocks skip (weekends always)")


class DatabaseConfig(_Section):
    url: str | None = Field(None, description="SQLAlchemy URL; POGUARD_DATABASE_URL and --db take precedence")


class MatchingConfig(_Section):
    min_score: float = Field(0.6, ge=0, le=1, description="below this score a document line is unmatched")


class Secret(_Section):
    """Where a password comes from: an environment variable or a file, never the config itself."""

    password_env: str | None = Field(None, description="environment variable holding the password")
    password_file: Path | None = Field(None, description="file holding the password (first line)")

    def password(self, owner: str) -> str | None:
        """The password, read now; a named but missing source is a ConfigError."""
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(f"environment variable {self.password_env} is not set", location=f"{owner}.password_env")
            return value
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").splitlines()[0]
            except (OSError, IndexError) as error:
                raise ConfigError(f"cannot read password file: {error}", location=f"{owner}.password_file") from None
        return None


class MailboxConfig(Secret):
    """One supplier mailbox polled over IMAP."""

    name: str = Field(description="channel name, unique among mailboxes and drops")
    host: str
    port: int | None = Field(None, ge=1, le=65535, description="default 993 for tls, 143 otherwise")
    security: Literal["tls", "starttls", "plain"] = "tls"
    verify_certificate: bool = True
    user: str
    folder: str = "INBOX"
    processed_folder: str = "poguard/processed"
    quarantine_folder: str = "poguard/quarantine"
    poll_seconds: int = Field(60, ge=1)
    idle: bool = Field(True, description="use IMAP IDLE where the server offers it")


class DropConfig(Secret):
    """One EDI drop: a local folder or a folder on an SFTP server."""

    name: str = Field(description="channel name, unique among mailboxes and drops")
    kind: Literal["folder", "sftp"] = "folder"
    supplier_id: str | None = Field(
        None, description="the supplier this drop belongs to: its files without a sender id (PDFs, CSVs) are theirs")
    path: str = Field(description="folder where suppliers put files")
    archive: str = Field(description="folder for files processed")
    quarantine: str = Field(description="folder for files that failed, each with a .error.txt")
    host: str | None = None
    port: int = Field(22, ge=1, le=65535)
    user: str | None = None
    key_file: Path | None = None
    poll_seconds: int = Field(60, ge=1)
    stable_seconds: float = Field(2, ge=0, description="a file is taken once its size is unchanged this long")
    temp_suffixes: list[str] = Field(default_factory=lambda: [".tmp", ".part", ".filepart"])


class TrustConfig(_Section):
    check_dkim_signature: bool = Field(
        False, description="verify DKIM signatures of supplier mail (a DNS lookup per message); Authentication-Results are always read")


class ParsersConfig(_Section):
    pdf_templates: list[Path] = Field(
        default_factory=list, description="PDF template files, or folders of *.toml templates, for layouts the generic reader misses")


class AgentConfig(_Section):
    lease_seconds: int = Field(120, ge=5, description="how long a channel stays claimed by one agent")
    batch_size: int = Field(20, ge=1, description="stored documents a worker claims per pass")


class SmtpConfig(Secret):
    """The mail server poguard sends digests through; no host means digests are not sent."""

    host: str | None = Field(None, description="SMTP server; digests are sent only when it is set")
    port: int | None = Field(None, ge=1, le=65535, description="default 465 for tls, 587 for starttls, 25 for plain")
    security: Literal["tls", "starttls", "plain"] = "starttls"
    verify_certificate: bool = True
    user: str | None = Field(None, description="login name; no login when absent")
    from_address: str = Field("poguard@example.com", description="the From address of what poguard sends")
    timeout: float = Field(30, gt=0, description="seconds to wait for the server")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


TimeZone = Annotated[str, AfterValidator(_zone)]


class DigestConfig(_Section):
    """The daily digest: each person's open and escalated exceptions, once a day at `send_at` in their time zone."""

    send_at: time = Field(time(7, 0), description="local time of day the digest is sent, in each person's time zone")
    time_zone: TimeZone = Field("UTC", description="IANA time zone of everyone not listed in [digest.time_zones]")
    time_zones: dict[str, TimeZone] = Field(default_factory=dict, description="person (e-mail address) to IANA time zone")

    def local_now(self, person: str, now: datetime) -> datetime:
        """`now` on the person's clock."""
        return now.astimezone(ZoneInfo(self.time_zones.get(person, self.time_zone)))

    def local_date(self, person: str, now: datetime) -> date:
        return self.local_now(person, now).date()

    def is_due(self, person: str, now: datetime) -> bool:
        """True once the person's local clock has passed `send_at` today."""
        return self.local_now(person, now).time() >= self.send_at


class Config(_Section):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    parsers: ParsersConfig = Field(default_factory=ParsersConfig)
    trust: TrustConfig = Field(default_factory=TrustConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    ownership: OwnershipConfig = Field(default_factory=OwnershipConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    unit_conversions: list[UnitConversion] = Field(default_factory=list)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    mailboxes: list[MailboxConfig] = Field(default_factory=list)
    drops: list[DropConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _roles_exist(self) -> Config:
        roles = set(RolesConfig.model_fields)
        for category, ownership in self.ownership:
            for field_name in ("owner", "escalate_to"):
                role = getattr(ownership, field_name)
                if role not in roles:
                    raise ValueError(f"ownership.{category}.{field_name}: unknown role {role!r}; roles are {', '.join(sorted(roles))}")
        return self

    @property
    def digest_enabled(self) -> bool:
        """Digests are sent when a mail server is configured."""
        return self.smtp.host is not None

    def tolerances_for(self, supplier_id: str | None, item: str | None = None, item_group: str | None = None) -> Tolerances:
        """The defaults with overrides merged over them, most specific last: item group, supplier, item."""
        merged = Tolerances(price=self.rules.price, quantity=self.rules.quantity, date=self.rules.date).model_dump()
        overrides = (self.rules.item_groups.get(item_group or ""), self.rules.suppliers.get(supplier_id or ""),
                     self.rules.items.get(item or ""))
        for override in overrides:
            if override is None:
                continue
            for section in ("price", "quantity", "date"):
                partial = getattr(override, section)
                if partial is not None:
                    merged[section].update(partial.model_dump(exclude_unset=True))
        return Tolerances.model_validate(merged)

    def person(self, role: str, buyer: str | None = None) -> str:
        """The address behind a role; `buyer` is the PO's buyer when known."""
        if role == "buyer" and buyer:
            return buyer
        return getattr(self.roles, role)


def _known_names(model: type[BaseModel]) -> list[str]:
    """Every setting name in `model` and its sections, for "did you mean" suggestions."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(_known_names(annotation))
    return names


def _describe(error: Any, known: list[str]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] != "extra_forbidden":
        return f"{key}: {error['msg'].lower()}, got {error.get('input')!r}"
    close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
    return f"{key}: unknown setting" + (f" (did you mean {close[0]!r}?)" if close else "")


def parse_config(data: dict[str, Any], source: str) -> Config:
    """Validate `data`; every problem is listed in one ConfigError naming the file and the key."""
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        known = _known_names(Config) + _known_names(ToleranceOverride)
        problems = "; ".join(_describe(e, known) for e in error.errors())
        raise ConfigError(problems, location=source) from None


def load_config(path: Path | None) -> Config:
    """The configuration in `path`, or the defaults when no file is given."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("configuration file not found", location=str(path)) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}", location=str(path)) from None
    return parse_config(data, str(path))
