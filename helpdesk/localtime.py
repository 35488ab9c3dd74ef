"""Times as the operator says them: in `[ui] timezone`, with the zone named.

The database and `--json` keep UTC; only what a person reads is converted, here and nowhere else.
Two kinds of time come in: naive UTC as the database stores it (or an aware datetime), and the
naive local time of this machine that Exim's log lines carry (helpdesk.logs.timestamps). The
setting is read once per process (`use_config`); without it, the system's zone is used.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.config import Config
from helpdesk.errors import ConfigError
from helpdesk.i18n import M

__all__ = [
    "DAY",
    "MINUTE",
    "SECOND",
    "SHORT",
    "from_display",
    "from_system",
    "header",
    "time_text",
    "log_time_text",
    "to_display",
    "use_config",
    "use_zone",
    "zone_from_config",
    "zone_name",
]

MINUTE = "%Y-%m-%d %H:%M"
SECOND = "%Y-%m-%d %H:%M:%S"
DAY = "%Y-%m-%d"
SHORT = "%m-%d %H:%M"
# Longer IANA names would crowd an 80-column table header; the abbreviation is used instead.
_LONGEST_NAME_IN_HEADER = 13

# None is the system's zone (with its DST rules, which a fixed offset would lose).
_zone: tzinfo | None = None


def zone_from_config(config: Config) -> tzinfo | None:
    """The zone `[ui] timezone` names (an IANA name), or None for the system's zone."""
    name = config.section("ui").get("timezone", "")
    if not isinstance(name, str):
        raise ConfigError(
            M("{where}: [ui] timezone must be a string", where=str(config.path or "configuration"))
        )
    name = name.strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            M(
                "{where}: [ui] timezone {name!r} is not a known zone "
                "(an IANA name such as Europe/Berlin)",
                where=str(config.path or "configuration"),
                name=name,
            )
        ) from None


def use_zone(zone: tzinfo | None) -> None:
    """Show every later time in `zone` (None: the system's zone)."""
    global _zone
    _zone = zone


def use_config(config: Config) -> None:
    use_zone(zone_from_config(config))


def to_display(when: datetime) -> datetime:
    """A UTC time (naive as stored, or aware) as an aware time in the display zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(_zone)


def from_display(local: datetime) -> datetime:
    """A naive time the operator typed, meant in the display zone, as naive UTC (as stored):
    the inverse of `to_display`. Without a configured zone, this machine's zone (with the DST
    of that date)."""
    aware = local.replace(tzinfo=_zone) if _zone is not None else local.astimezone()
    return aware.astimezone(UTC).replace(tzinfo=None)


def from_system(when: datetime) -> datetime:
    """A naive local time of this machine (an Exim log time) as an aware time in the display
    zone. Python takes a naive datetime as system local time here, with the DST of that date."""
    return when.astimezone().astimezone(_zone)


def zone_name(when: datetime | None = None) -> str:
    """The zone's abbreviation at `when` (aware, or naive UTC; default now): "CET", "EDT".
    Zones without a letter abbreviation ("+03") are named by their IANA name when short."""
    local = to_display(when if when is not None else datetime.now(UTC))
    abbreviation = local.tzname() or ""
    if abbreviation.isalpha():
        return abbreviation
    key = getattr(_zone, "key", "")
    if key and len(key) <= _LONGEST_NAME_IN_HEADER:
        return key
    return f"UTC{abbreviation}" if abbreviation[:1] in "+-" else abbreviation or "UTC"


def time_text(when: datetime | None, pattern: str = MINUTE, *, zone: bool = False) -> str:
    """A UTC time as the operator reads it; `zone` adds the zone's name at that time."""
    if when is None:
        return ""
    local = to_display(when)
    text = local.strftime(pattern)
    return f"{text} {zone_name(local)}" if zone else text


def log_time_text(when: datetime | None, pattern: str = MINUTE, *, zone: bool = False) -> str:
    """Like time_text(), for a naive local time of this machine (the send log's times)."""
    if when is None:
        return ""
    local = from_system(when)
    text = local.strftime(pattern)
    return f"{text} {zone_name(local)}" if zone else text


def header(label: str) -> str:
    """A column header that names the zone its times are in: "When (CET)"."""
    return f"{label} ({zone_name()})"
