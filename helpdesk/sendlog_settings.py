"""The `[sendlog]` section of the config: where the logs are and what counts as suspicious.

Every key has a default, so a config without the section works; helpdesk.toml.example and
docs/sendlog.md describe each key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from helpdesk.durations import parse_duration
from helpdesk.errors import ConfigError, HelpdeskError

if TYPE_CHECKING:
    from helpdesk.config import Config

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
    new_client_ips: int = 1
    auth_failures: int = 10
    no_tls: float = 0.5
    guessing_top: int = 10

    @classmethod
    def from_config(cls, config: Config | None) -> SendlogSettings:
        table = config.section("sendlog") if config is not None else {}
        where = f"{config.path}: [sendlog]" if config is not None and config.path else "[sendlog]"
        return cls.from_dict(table, where)

    @classmethod
    def from_dict(cls, table: dict[str, Any], where: str = "[sendlog]") -> SendlogSettings:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key not in known:
                raise ConfigError(f"{where}: unknown key {key!r}")
            default = getattr(cls, key)
            try:
                if isinstance(default, timedelta):
                    values[key] = parse_duration(str(raw))
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
                raise ConfigError(f"{where}: {key} has a wrong value: {raw!r}") from None
        return cls(**values)
