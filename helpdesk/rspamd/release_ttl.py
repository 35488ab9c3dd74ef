"""`[rspamd] release_ttl`: the default lifetime of a release, at most 3 days.

Checked when the configuration is read (helpdesk/config.py calls `check_at_load`), so a value
above the maximum stops every command and the TUI at once with one line naming the key, not
only the first release. Kept apart from settings.py, which needs httpx: this runs on every
start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpdesk.durations import parse_duration
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.i18n import M

DEFAULT_RELEASE_TTL = timedelta(hours=4)
# A release is for "send it again now": longer ones are refused, also in the configuration.
MAX_RELEASE_TTL = timedelta(days=3)


def release_ttl(raw: object, where: str, default: timedelta = DEFAULT_RELEASE_TTL) -> timedelta:
    """The value of the key, `default` when it is not set; one ConfigError line otherwise."""
    if raw is None or raw == "":
        return default
    try:
        ttl = parse_duration(str(raw))
    except HelpdeskError:
        raise ConfigError(
            M("{where} release_ttl is not a duration (e.g. 4h, 2d)", where=where)
        ) from None
    if ttl > MAX_RELEASE_TTL:
        raise ConfigError(
            M(
                "{where} release_ttl must be at most 3 days (3d), not {raw}",
                where=where,
                raw=repr(str(raw)),
            )
        )
    return ttl


def check_at_load(config: Any) -> None:
    """Refuse a configuration whose `[rspamd] release_ttl` is not a duration of at most 3 days
    (a section that is not a table is left to the commands that read it)."""
    section = config.data.get("rspamd")
    if isinstance(section, dict):
        release_ttl(section.get("release_ttl"), f"{config.path or M('configuration')}: [rspamd]")
