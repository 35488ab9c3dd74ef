"""The `[sendlog]` section of the config: where the logs are and what counts as suspicious.

Every key has a default, so a config without the section works; helpdesk.toml.example and
docs/sendlog.md describe each key. This is the one place that reads the section: every reader
of the Exim log (offenders, trail, the spam preview, the Activity tab, the blocked list) gets
its paths from here, relative paths already resolved against the config file's folder.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk.durations import parse_since
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.i18n import M, Text

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.sendlog.hosts import LogHost

DEFAULT_PATHS = ("/var/log/exim4/mainlog*",)


@dataclass(frozen=True)
class SendlogSettings:
    paths: tuple[str, ...] = DEFAULT_PATHS
    since: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=7)
    local_domains: tuple[str, ...] = ()
    # thresholds: a signal counts towards the score from this value on
    peak_5min: int = 30
    messages: int = 200
    external_share: float = 0.8
    min_recipients: int = 20
    recipient_domains: int = 50
    rejected: int = 5
    limit_refused: int = 3
    suspended_tries: int = 5
    new_client_ips: int = 1
    auth_failures: int = 10
    no_tls: float = 0.5
    guessing_top: int = 10
    # the zone of the times in `paths` when Exim writes none ("" the system's)
    timezone: str = ""
    # several mail hosts' logs, each with a label and a zone ([[sendlog.hosts]], hosts.py)
    hosts: tuple[LogHost, ...] = ()
    # per-file results of unchanged rotated logs, kept in memory and on disk (cache.py)
    cache: bool = True

    @classmethod
    def from_config(cls, config: Config | None) -> SendlogSettings:
        """The section of the config; paths relative to the config file's folder."""
        table = config.section("sendlog") if config is not None else {}
        where = f"{config.path}: [sendlog]" if config is not None and config.path else "[sendlog]"
        base = config.path.parent if config is not None and config.path is not None else None
        return cls.from_dict(table, where, base=base)

    @classmethod
    def from_dict(
        cls, table: dict[str, Any], where: str = "[sendlog]", *, base: Path | None = None
    ) -> SendlogSettings:
        from helpdesk.sendlog.hosts import parse_hosts, parse_zone

        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        table = dict(table)
        if "timezone" in table:
            raw = table.pop("timezone")
            parse_zone(raw, M("{where}: timezone", where=where))
            values["timezone"] = raw.strip()
        if "hosts" in table:
            if "paths" in table:
                raise ConfigError(
                    M("{where}: give either paths or [[sendlog.hosts]], not both", where=where)
                )
            values["hosts"] = parse_hosts(
                table.pop("hosts"),
                where,
                lambda path: resolve_path(path, base),
                values.get("timezone", ""),
            )
            values["paths"] = tuple(p for h in values["hosts"] for p in h.paths)
        for key, raw in table.items():
            if key not in known:
                raise ConfigError(M("{where}: unknown key {key!r}", where=where, key=key))
            default = getattr(cls, key)
            try:
                if isinstance(default, bool):
                    if not isinstance(raw, bool):
                        raise ValueError
                    values[key] = raw
                elif isinstance(default, timedelta):
                    values[key] = parse_since(str(raw), key)
                elif isinstance(default, tuple):
                    if isinstance(raw, str):
                        raw = [raw]
                    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                        raise ValueError
                    values[key] = tuple(raw)
                elif isinstance(default, float):
                    values[key] = float(raw)
                    if not 0 <= values[key] <= 1:
                        raise ValueError
                else:
                    if isinstance(raw, bool) or int(raw) != raw or raw < 0:
                        raise ValueError
                    values[key] = int(raw)
            except (ValueError, TypeError, OverflowError, HelpdeskError):
                raise ConfigError(
                    M(
                        "{where}: {key} has a wrong value: {value!r}",
                        where=where,
                        key=key,
                        value=raw,
                    )
                ) from None
        if "paths" in values and not values.get("hosts"):
            if not values["paths"] or not all(p.strip() for p in values["paths"]):
                raise ConfigError(
                    M("{where}: paths must name at least one file or glob", where=where)
                )
            values["paths"] = tuple(resolve_path(p, base) for p in values["paths"])
        return cls(**values)

    @property
    def paths_configured(self) -> bool:
        return self.paths != DEFAULT_PATHS or bool(self.hosts)

    def existing_paths(self) -> tuple[str, ...]:
        """The paths to read where the log is only one source of several (the blocked list):
        configured paths as they are (a wrong one must be reported), the default only if it
        matches a file on this machine."""
        if self.paths_configured:
            return self.paths
        return tuple(p for p in self.paths if glob.glob(p))


def resolve_path(value: str, base: Path | None) -> str:
    """`~` expanded; a relative path is relative to base (the config file's folder)."""
    text = os.path.expanduser(value)
    if base is not None and not os.path.isabs(text):
        text = str(base / text)
    return text


def database_domains(db: Any) -> tuple[list[str] | None, Text | None]:
    """The hoster's own domains from the database (None: the log decides), and a warning.

    Used where [sendlog] local_domains is not set; a broken database never stops the review.
    """
    if db is None:
        return None, M("no database: local domains taken from the log")
    try:
        from sqlalchemy import select

        from helpdesk.mailcenter.schema import domains

        with db.connect() as conn:
            names = [r[0].lower() for r in conn.execute(select(domains.c.name))]
    except HelpdeskError as exc:
        return None, M("local domains taken from the log: {error}", error=_text(exc))
    except Exception as exc:  # noqa: BLE001 - a broken database must not stop the review
        return None, M(
            "local domains taken from the log: database: {error}", error=type(exc).__name__
        )
    return names or None, None


def _text(exc: HelpdeskError) -> Text | str:
    """The error's own text, still in any language."""
    return exc.message if isinstance(exc.message, Text) else str(exc)
