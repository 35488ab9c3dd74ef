"""The `[rspamd]` section: which controllers to ask, with which passwords, how long and how much."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx

from helpdesk.config import DEFAULT_RELEASE_TTL, Config, release_ttl, resolve_secret
from helpdesk.errors import ConfigError
from helpdesk.i18n import M

DEFAULT_URL = "http://127.0.0.1:11334"


@dataclass(frozen=True)
class ControllerSettings:
    name: str
    url: str
    password: str | None = field(default=None, repr=False)
    enable_password: str | None = field(default=None, repr=False)

    @property
    def display_url(self) -> str:
        """The URL without any user:password@ part, safe for messages."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class RspamdSettings:
    controllers: tuple[ControllerSettings, ...] = (ControllerSettings("rspamd", DEFAULT_URL),)
    timeout: float = 5.0
    max_reply_mb: float = 64.0
    release_map: str = ""
    release_ttl: timedelta = DEFAULT_RELEASE_TTL

    @classmethod
    def from_config(cls, config: Config) -> RspamdSettings:
        section = config.section("rspamd")
        where = f"{config.path or M('configuration')}: [rspamd]"
        raw = section.get("controllers")
        controllers: list[ControllerSettings] = []
        if raw is None:
            controllers = list(cls.controllers)
        elif not isinstance(raw, list) or not raw:
            raise ConfigError(
                M("{where} controllers must be a non-empty list of tables", where=where)
            )
        else:
            for index, entry in enumerate(raw, 1):
                if not isinstance(entry, dict):
                    raise ConfigError(
                        M(
                            "{where} controllers entry {index} must be a table",
                            index=index,
                            where=where,
                        )
                    )
                name = str(entry.get("name") or f"rspamd{index}")
                url = str(entry.get("url") or DEFAULT_URL).rstrip("/")
                here = f"{where} controller {name}"
                _check_url(url, here)
                controllers.append(
                    ControllerSettings(
                        name=name,
                        url=url,
                        password=resolve_secret(entry, "password", here),
                        enable_password=resolve_secret(entry, "enable_password", here),
                    )
                )
            names = [c.name for c in controllers]
            if len(set(names)) != len(names):
                raise ConfigError(M("{where} controller names must be unique", where=where))
        try:
            timeout = float(section.get("timeout", cls.timeout))
        except (TypeError, ValueError):
            raise ConfigError(
                M("{where} timeout must be a number of seconds", where=where)
            ) from None
        if not 0 < timeout <= 600:
            raise ConfigError(M("{where} timeout must be between 0 and 600 seconds", where=where))
        try:
            max_reply_mb = float(section.get("max_reply_mb", cls.max_reply_mb))
        except (TypeError, ValueError):
            raise ConfigError(
                M("{where} max_reply_mb must be a number of MiB", where=where)
            ) from None
        if not 0 < max_reply_mb <= 4096:
            raise ConfigError(M("{where} max_reply_mb must be between 0 and 4096", where=where))
        ttl = release_ttl(section.get("release_ttl"), where, cls.release_ttl)
        return cls(
            controllers=tuple(controllers),
            timeout=timeout,
            max_reply_mb=max_reply_mb,
            release_map=str(section.get("release_map") or ""),
            release_ttl=ttl,
        )


def _check_url(url: str, where: str) -> None:
    """A URL httpx can use, or one ConfigError line (never the URL: it may hold a password)."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(M("{where}: url must start with http(s)://", where=where))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number 0-65535
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise ConfigError(
            M("{where}: url is not a valid URL (host, or port 1-65535)", where=where)
        ) from None
    if not parts.hostname:
        raise ConfigError(M("{where}: url has no host", where=where))
