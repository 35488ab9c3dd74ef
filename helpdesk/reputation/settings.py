"""The `[reputation]` section: which addresses, which blocklists, through which resolver.

Every key has a default, so a config without the section works (the blocklists are then not
checked, since no outbound address is known). Each wrong value is one line naming the key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from helpdesk.config import resolve_secret
from helpdesk.durations import parse_since
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.i18n import M

if TYPE_CHECKING:
    from helpdesk.config import Config

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_BLOCKLISTS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
DEFAULT_TIMEOUT = 2.0
_KEYS = {
    "addresses",
    "resolver",
    "blocklists",
    "dqs_key",
    "dqs_key_env",
    "dqs_key_file",
    "timeout",
    "window",
}
_ZONE = re.compile(r"^(?=.{1,200}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
# Spamhaus hands out keys of 26 letters and digits; anything else would end up in a DNS name.
_DQS_KEY = re.compile(r"^[A-Za-z0-9]{8,64}$")


@dataclass(frozen=True)
class Resolver:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ReputationSettings:
    addresses: tuple[IPAddress, ...] = ()
    # None: the machine's own resolvers (/etc/resolv.conf), as the mail server itself uses them.
    resolver: Resolver | None = None
    blocklists: tuple[str, ...] = DEFAULT_BLOCKLISTS
    dqs_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    window: timedelta = timedelta(hours=1)

    @classmethod
    def from_config(cls, config: Config | None) -> ReputationSettings:
        if config is None:
            return cls()
        table = config.section("reputation")
        where = f"{config.path}: [reputation]" if config.path else "[reputation]"
        return cls.from_dict(table, where)

    @classmethod
    def from_dict(cls, table: dict[str, Any], where: str = "[reputation]") -> ReputationSettings:
        for key in table:
            if key not in _KEYS:
                raise ConfigError(M("{where}: unknown key {key}", where=where, key=repr(key)))
        values: dict[str, Any] = {}
        if "addresses" in table:
            values["addresses"] = _addresses(table["addresses"], where)
        if "resolver" in table:
            values["resolver"] = parse_resolver(table["resolver"], where)
        if "blocklists" in table:
            values["blocklists"] = _blocklists(table["blocklists"], where)
        if "timeout" in table:
            raw = table["timeout"]
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0.1 <= raw <= 10:
                raise ConfigError(
                    M(
                        "{where}: timeout must be a number of seconds from 0.1 to 10, not {value}",
                        where=where,
                        value=repr(raw),
                    )
                )
            values["timeout"] = float(raw)
        if "window" in table:
            try:
                values["window"] = parse_since(str(table["window"]), "window")
            except HelpdeskError:
                raise ConfigError(
                    M(
                        "{where}: window must be a duration such as 1h or 30m, not {value}",
                        where=where,
                        value=repr(table["window"]),
                    )
                ) from None
        key = resolve_secret(table, "dqs_key", where)
        if key is not None:
            key = key.strip()
            if not _DQS_KEY.fullmatch(key):
                # The key itself is never repeated: it is a secret.
                raise ConfigError(
                    M("{where}: dqs_key must be the key's letters and digits only", where=where)
                )
            values["dqs_key"] = key
        return cls(**values)


def _addresses(raw: Any, where: str) -> tuple[IPAddress, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(M("{where}: addresses must be a list of IP addresses", where=where))
    found: list[IPAddress] = []
    for item in raw:
        try:
            address = ipaddress.ip_address(str(item).strip()) if isinstance(item, str) else None
        except ValueError:
            address = None
        if address is None:
            raise ConfigError(
                M(
                    "{where}: addresses: {value} is not an IPv4 or IPv6 address",
                    where=where,
                    value=repr(item),
                )
            )
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address not in found:
            found.append(address)
    return tuple(found)


def parse_resolver(raw: Any, where: str = "[reputation]") -> Resolver:
    """`IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 53)."""
    text = raw.strip() if isinstance(raw, str) else ""
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                host = ""
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        address = ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        address, number = None, 0
    if address is None or not 0 < number < 65536 or not port.isdigit():
        raise ConfigError(
            M(
                "{where}: resolver must be IP:PORT such as 127.0.0.1:53 or [::1]:53, not {value}",
                where=where,
                value=repr(raw),
            )
        )
    return Resolver(str(address), number)


def _blocklists(raw: Any, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(M("{where}: blocklists must be a list of DNS zones", where=where))
    zones: list[str] = []
    for item in raw:
        zone = item.strip().strip(".").lower() if isinstance(item, str) else ""
        if not _ZONE.fullmatch(zone):
            raise ConfigError(
                M(
                    "{where}: blocklists: {value} is not a DNS zone such as zen.spamhaus.org",
                    where=where,
                    value=repr(item),
                )
            )
        if zone not in zones:
            zones.append(zone)
    return tuple(zones)
