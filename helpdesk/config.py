"""The one TOML configuration file: where it is found, and secrets read from it.

Each feature parses its own section into its own settings object; this module only finds
the file, reads it, and resolves secrets, so that a config holding just `[database] url` works.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from helpdesk.durations import parse_duration
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.i18n import M, _
from helpdesk.plaintext import printable

SECRET_KEYS = ("password", "enable_password", "url")

# A key whose value is a secret, in the file or in a URL's query string (`?password=`,
# `sslpassword`, `passwd`, `api_token`…). `*_env` and `*_file` name where a secret is, not it.
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_NAME.search(key)) and not key.endswith(("_env", "_file"))


def url_secrets(url: str) -> list[str]:
    """The secrets written into a URL: the user-info password and secret query values, each
    as written and decoded (an error message may quote either)."""
    # By hand rather than urlsplit, which gives up on a malformed host ("[::1") before the
    # password has been found.
    rest, _, query = url.partition("?")
    netloc = rest.split("://", 1)[-1].split("/", 1)[0]
    userinfo = netloc.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    found: list[str] = []
    if password:
        found += [password, unquote(password)]
    for key, value in parse_qsl(query.split("#", 1)[0], keep_blank_values=False):
        if is_secret_key(key) and value:
            found += [value, quote(value, safe="")]
    return sorted({v for v in found if v}, key=len, reverse=True)


def mask_secrets(text: str, secrets: list[str]) -> str:
    """`text` with every one of `secrets` replaced by `***` (longest first)."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def default_config_path(explicit: str | None = None) -> Path | None:
    """--config, else $HELPDESK_CONFIG, else ./helpdesk.toml, else the XDG config dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("HELPDESK_CONFIG")
    if env:
        return Path(env)
    local = Path("helpdesk.toml")
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (local, xdg / "helpdesk" / "helpdesk.toml"):
        try:
            if candidate.exists():
                return candidate
        except OSError:
            # A folder on the way that this user may not enter (HOME=/root under sudo -u):
            # the file is not usable from here; loading it would only fail later.
            continue
    return None


@dataclass
class Config:
    path: Path | None
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(
                M("{where}: [{name}] must be a table", where=self._where(), name=name)
            )
        return value

    def secret(self, section: str, key: str) -> str | None:
        """`key` itself, else the variable named by `key_env`, else the file named by `key_file`."""
        return resolve_secret(self.section(section), key, f"{self._where()}: [{section}]")

    @property
    def database_url(self) -> str:
        url = self.secret("database", "url")
        if not url:
            raise ConfigError(M("{where}: [database] url is not set", where=self._where()))
        # A relative SQLite path means "beside this file", like every other path in it.
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            path = url[len("sqlite:///") :]
            if path and not path.startswith(":memory:"):
                url = f"sqlite:///{self.relative(path)}"
        return url

    def relative(self, value: str) -> Path:
        """Paths in the file are relative to the file itself, not to the working directory."""
        path = Path(value).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    def _where(self) -> str:
        return str(self.path) if self.path else "configuration"


def resolve_secret(table: dict[str, Any], key: str, where: str) -> str | None:
    if table.get(key) not in (None, ""):
        return str(table[key])
    env_name = table.get(f"{key}_env")
    if env_name:
        value = os.environ.get(str(env_name))
        if value is None:
            raise ConfigError(
                M(
                    "{where} {key}_env names ${variable}, which is not set",
                    where=where,
                    key=key,
                    variable=env_name,
                )
            )
        return value
    file_name = table.get(f"{key}_file")
    if file_name:
        try:
            return Path(str(file_name)).expanduser().read_text().strip()
        except OSError as exc:
            raise ConfigError(
                M(
                    "{where} {key}_file: cannot read {file}: {reason}",
                    where=where,
                    key=key,
                    file=str(file_name),
                    reason=exc.strerror,
                )
            ) from None
    return None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the config; a missing or broken file is a one-line ConfigError naming it."""
    found = default_config_path(str(path) if path else None)
    if found is None:
        env_url = os.environ.get("DATABASE_URL")
        if env_url:
            return Config(None, {"database": {"url": env_url}})
        raise ConfigError(
            M(
                "no configuration found: pass --config, set HELPDESK_CONFIG, "
                "or create ./helpdesk.toml (see helpdesk.toml.example)"
            )
        )
    try:
        raw = found.read_bytes()
    except FileNotFoundError:
        raise ConfigError(M("{file}: configuration file not found", file=str(found))) from None
    except OSError as exc:
        raise ConfigError(
            M("{file}: cannot read configuration: {reason}", file=str(found), reason=exc.strerror)
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            M("{file}: not valid TOML: {reason}", file=str(found), reason=str(exc))
        ) from None
    config = Config(found, data)
    # Keys whose wrong value must stop every command at once, not only the one that reads them.
    _check_at_load(config)
    _warn_if_exposed(config)
    return config


def _holds_secret(data: dict[str, Any]) -> bool:
    for key, value in data.items():
        if isinstance(value, dict) and _holds_secret(value):
            return True
        if isinstance(value, list) and any(isinstance(v, dict) and _holds_secret(v) for v in value):
            return True
        if not value:
            continue
        if is_secret_key(key) and not isinstance(value, (dict, list)):
            return True
        if isinstance(value, str) and "://" in value and url_secrets(value):
            return True
    return False


def _warn_if_exposed(config: Config) -> None:
    if config.path is None or not _holds_secret(config.data):
        return
    mode = config.path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            printable(
                _(
                    "warning: {file} holds a password and is readable by other users "
                    "(chmod 600 it, or use *_env / *_file keys)"
                ).format(file=config.path)
            ),
            file=sys.stderr,
        )


# --- keys checked when the file is read ------------------------------------------------------
# `[rspamd] release_ttl`: the default lifetime of a release, at most 3 days. Checked here, so that
# a value above the maximum stops every command and the TUI at once with one line naming the
# key, not only the first release (helpdesk.rspamd.settings reads it with the same function).

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


def _check_at_load(config: Config) -> None:
    """Refuse a configuration whose `[rspamd] release_ttl` is not a duration of at most 3 days
    (a section that is not a table is left to the commands that read it)."""
    section = config.data.get("rspamd")
    if isinstance(section, dict):
        release_ttl(section.get("release_ttl"), f"{config.path or M('configuration')}: [rspamd]")
