"""The `[limits]` section: the global default `db init` writes, and where Exim's counters are.

Every key has a default, so a config without the section works. Each wrong value is one line
naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk.errors import ConfigError
from helpdesk.i18n import M

if TYPE_CHECKING:
    from helpdesk.config import Config

OVER_LIMIT = ("refuse", "defer")
# Generous enough for an office's newsletter by hand, far below what a taken-over account sends.
DEFAULTS = {"messages_per_hour": 200, "recipients_per_hour": 1000, "recipients_per_message": 100}
# Far above any real mailbox; a bigger number is a typing error.
MAX_LIMIT = 1_000_000
_KEYS = {*DEFAULTS, "over_limit", "exim_spool", "exim_dumpdb"}


@dataclass(frozen=True)
class LimitSettings:
    messages_per_hour: int = DEFAULTS["messages_per_hour"]
    recipients_per_hour: int = DEFAULTS["recipients_per_hour"]
    recipients_per_message: int = DEFAULTS["recipients_per_message"]
    over_limit: str = "refuse"
    # Exim's spool (its hints database db/ratelimit holds the computed rates), if readable;
    # Debian's by default.
    exim_spool: Path | None = Path("/var/spool/exim4")
    exim_dumpdb: str = "exim_dumpdb"


def limit_value(value: Any, where: str, *, hourly: bool = False) -> int:
    """A limit as stored: a whole number from 0 (no limit) to MAX_LIMIT.

    An hourly limit of 1 is refused: Exim's smoothed rate of a sender's first message is just
    above 1, so it would refuse every message (measured on Exim 4.96)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT:
        raise ConfigError(
            M(
                "{where} must be a whole number from 0 (no limit) to {max}",
                where=where,
                max=MAX_LIMIT,
            )
        )
    if hourly and value == 1:
        raise ConfigError(
            M("{where}: 1 per hour would refuse every message in Exim; use 2 or more", where=where)
        )
    return value


def over_limit_value(value: Any, where: str) -> str:
    if value not in OVER_LIMIT:
        raise ConfigError(M('{where} must be "refuse" or "defer"', where=where))
    return value


def limit_settings(config: Config) -> LimitSettings:
    section = config.section("limits")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(M("[limits] has no key {key}", key=unknown[0]))
    values: dict[str, Any] = {}
    for key in DEFAULTS:
        if key in section:
            values[key] = limit_value(
                section[key], f"[limits] {key}", hourly=key.endswith("_per_hour")
            )
    if "over_limit" in section:
        values["over_limit"] = over_limit_value(section["over_limit"], "[limits] over_limit")
    for key in ("exim_spool", "exim_dumpdb"):
        if key in section:
            value = section[key]
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                raise ConfigError(M("[limits] {key} must be a path", key=key))
            values[key] = config.relative(value) if key == "exim_spool" else value
    return LimitSettings(**values)
