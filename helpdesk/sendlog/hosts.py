"""The send logs of several mail hosts: `[[sendlog.hosts]]`, each host's files labelled with
its name and zone, and the times of its lines brought to one scale.

Exim writes its local wall-clock time without a zone unless `log_timezone` is set, so a line
read on another machine needs the zone of the host that wrote it. The readers work in naive
local time of the machine that runs the helpdesk (helpdesk/logs/timestamps.py); a host's line
is converted to that time, and to UTC for putting the lines of all hosts in time order
(host_merge.py). Exim ids are unique on one host only: everything kept per message is kept per
host, and `trail` takes `HOST:ID`.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.i18n import M, Text
from helpdesk.logs.timestamps import key_to_datetime, split_parts

if TYPE_CHECKING:
    from helpdesk.logs.files import LogFile

# A label goes before `:ID` in `trail HOST:ID` and into every output line: no colon, no space.
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_HOST_KEYS = ("name", "paths", "timezone")


@dataclass(frozen=True)
class LogHost:
    """One mail host: its label, its log paths (resolved), its zone name ("" the system's)."""

    name: str
    paths: tuple[str, ...]
    timezone: str = ""


def parse_zone(raw: Any, where: Text | str) -> tzinfo | None:
    """An IANA zone name -> the zone; "" -> None (the system's); else one ConfigError line."""
    if not isinstance(raw, str):
        raise ConfigError(M("{where} must be a zone name such as Europe/Berlin", where=where))
    name = raw.strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            M(
                "{where}: {name!r} is not a known zone (an IANA name such as Europe/Berlin)",
                where=where,
                name=name,
            )
        ) from None


def zone_of(name: str) -> tzinfo | None:
    """The zone of a name parse_zone accepted ("" -> None, the system's)."""
    return ZoneInfo(name) if name else None


def parse_hosts(
    raw: Any, where: str, resolve: Callable[[str], str], default_zone: str = ""
) -> tuple[LogHost, ...]:
    """`[[sendlog.hosts]]` tables -> LogHosts, checked: every problem is one ConfigError line.
    resolve: a path as the config wrote it -> the path to read (settings.resolve_path)."""
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise ConfigError(
            M(
                "{where}: hosts must be tables [[sendlog.hosts]] with name, paths and "
                "optionally timezone",
                where=where,
            )
        )
    hosts: list[LogHost] = []
    for n, table in enumerate(raw, 1):
        here = M("{where}: hosts #{n}", where=where, n=n)
        unknown = [k for k in table if k not in _HOST_KEYS]
        if unknown:
            raise ConfigError(M("{where}: unknown key {key!r}", where=here, key=unknown[0]))
        name = table.get("name")
        if not isinstance(name, str) or not LABEL.fullmatch(name):
            raise ConfigError(
                M(
                    "{where}: name {name!r} must be 1 to 63 letters, digits, dots, dashes or "
                    "underscores, starting with a letter or digit",
                    where=here,
                    name=name,
                )
            )
        here = M("{where}: host {name}", where=where, name=name)
        if any(h.name.lower() == name.lower() for h in hosts):
            raise ConfigError(M("{where} is named twice", where=here))
        paths = table.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        if (
            not isinstance(paths, list)
            or not paths
            or not all(isinstance(p, str) and p.strip() for p in paths)
        ):
            raise ConfigError(M("{where}: paths must name at least one file or glob", where=here))
        zone = table.get("timezone", default_zone)
        parse_zone(zone, M("{where}: timezone", where=here))
        hosts.append(LogHost(name, tuple(resolve(p) for p in paths), zone.strip()))
    return tuple(hosts)


def local_label() -> str:
    """This machine's name as a host label (its first part), or "local"."""
    name = socket.gethostname().split(".")[0]
    return name if LABEL.fullmatch(name) else "local"


def labels(files: list[LogFile]) -> list[str]:
    """The host labels of the files, in their order (empty: one unlabelled host)."""
    seen: dict[str, None] = {}
    for lf in files:
        if lf.host is not None:
            seen.setdefault(lf.host)
    return list(seen)


def by_host(files: list[LogFile]) -> list[tuple[str | None, list[LogFile]]]:
    """The files grouped by host, hosts in the order they first appear."""
    groups: dict[str | None, list[LogFile]] = {}
    for lf in files:
        groups.setdefault(lf.host, []).append(lf)
    return list(groups.items())


def split_host_id(ident: str, files: list[LogFile]) -> tuple[str | None, str]:
    """`HOST:ID` -> (HOST, ID) when HOST is one of the files' hosts; a label that names no
    host is one clear error. Anything else (a bare id, a Message-ID) -> (None, ident)."""
    host, colon, rest = ident.strip().partition(":")
    if not colon or not LABEL.fullmatch(host) or not rest.strip():
        return None, ident
    known = labels(files)
    match = next((h for h in known if h.lower() == host.lower()), None)
    if match is not None:
        return match, rest
    if "@" not in rest and "<" not in rest:  # a Message-ID has an @; an Exim id has neither
        if not known:
            raise HelpdeskError(
                M("{ident}: no hosts are configured ([[sendlog.hosts]])", ident=ident)
            )
        raise HelpdeskError(
            M("no host {host}: the hosts are {known}", host=host, known=", ".join(known))
        )
    return None, ident


class HostClock:
    """The times of one host's lines as (UTC key, line with naive local time of this machine
    and no zone): what the merge orders by and what the offender scan reads.

    A zone is worked out once a minute of log (a dict lookup per line after that); seconds
    are carried over as written, since zones differ by whole minutes."""

    def __init__(self, zone: str = "", now: datetime | None = None) -> None:
        self.zone = zone_of(zone)
        self.now = now
        self._minutes: dict[bytes, tuple[bytes, bytes] | None] = {}

    def convert(self, line: bytes) -> tuple[bytes, bytes] | None:
        """(UTC key, converted line), or None when the line has no time that can be true."""
        if len(line) > 20 and line[4] == 45 and line[10] == 32 and line[19] == 32:
            c = line[20]
            if (c == 43 or c == 45) and line[25:26] == b" ":  # log_timezone: `+0100`
                minute, zone, rest = line[:16], line[20:25], line[25:]
            else:
                minute, zone, rest = line[:16], None, line[19:]
            secs = line[16:19]
        else:
            parts = split_parts(line, self.now)
            if parts is None:
                return None
            key, zone, pos = parts
            minute, secs, rest = key[:16], key[16:19], b" " + line[pos:]
        hit = self._minute(minute, zone)
        if hit is None:
            return None
        return hit[0] + secs, hit[1] + secs + rest

    def local_time(self, line: bytes) -> datetime | None:
        """The line's time as naive local time of this machine (what trails show)."""
        c = self.convert(line)
        if c is None:
            return None
        try:
            return key_to_datetime(c[1][:19])
        except ValueError:
            return None

    def _minute(self, minute: bytes, zone: bytes | None) -> tuple[bytes, bytes] | None:
        ck = minute if zone is None else minute + zone
        hit = self._minutes.get(ck, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        hit = _convert(minute, zone, self.zone)
        if len(self._minutes) < 200_000:
            self._minutes[ck] = hit
        return hit


def _convert(minute: bytes, zone: bytes | None, host_zone: tzinfo | None) -> tuple | None:
    try:
        if len(minute) != 16 or minute[13:14] != b":":
            return None
        naive = datetime(
            int(minute[0:4]), int(minute[5:7]), int(minute[8:10]), int(minute[11:13]),
            int(minute[14:16]),
        )  # fmt: skip
        if zone is not None:
            tz: tzinfo | None = _fixed(zone)
        else:
            tz = host_zone
        if tz is None:  # the system's zone: local time is the time as written
            utc = naive.astimezone(UTC)
            local = naive
        else:
            aware = naive.replace(tzinfo=tz)
            utc = aware.astimezone(UTC)
            local = aware.astimezone().replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None
    return (
        utc.strftime("%Y-%m-%d %H:%M").encode(),
        local.strftime("%Y-%m-%d %H:%M").encode(),
    )


def _fixed(zone: bytes) -> tzinfo:
    if zone in (b"Z", b"z"):
        return UTC
    sign = -1 if zone[:1] == b"-" else 1
    digits = zone[1:].replace(b":", b"")
    if len(digits) != 4 or not digits.isdigit():
        raise ValueError(zone)
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


__all__ = [
    "LABEL",
    "HostClock",
    "LogHost",
    "by_host",
    "labels",
    "local_label",
    "parse_hosts",
    "parse_zone",
    "split_host_id",
    "zone_of",
]
