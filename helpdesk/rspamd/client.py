"""Client for rspamd's controller: settings, HTTP calls, and the verdict history.

One `Controller` talks to one rspamd node; `Cluster` fans out over all configured nodes
(a hoster with several mail relays runs one rspamd each) and merges their history.
Every failure becomes one `RspamdError` sentence that names the node, never a password.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from helpdesk.config import Config
from helpdesk.errors import Unreachable
from helpdesk.i18n import M, Text
from helpdesk.rspamd.history import (
    REJECT_ACTIONS,
    USER_FIELD_BYTES,
    HistoryRow,
    Symbol,
    as_text,
    filter_rows,
    finite_number,
    loads_lenient,
    parse_history,
    user_matches,
    with_weights,
)
from helpdesk.rspamd.settings import DEFAULT_URL, ControllerSettings, RspamdSettings
from helpdesk.rspamd.transport import (
    Compressed,
    DeadlinePassed,
    DeadlineTransport,
    Reply,
    TooLarge,
    fetch,
)

# Re-exported: callers read rows and parse replies through this module.
__all__ = [
    "REJECT_ACTIONS",
    "USER_FIELD_BYTES",
    "Cluster",
    "Controller",
    "ControllerSettings",
    "ControllerStatus",
    "DEFAULT_URL",
    "HistoryRow",
    "MapInfo",
    "Reply",
    "RspamdError",
    "RspamdSettings",
    "Symbol",
    "filter_rows",
    "loads_lenient",
    "parse_history",
    "user_matches",
]

MIB = 1024 * 1024


class RspamdError(Unreachable):
    """A controller could not be reached, refused us, or answered something unusable."""


@dataclass(frozen=True)
class MapInfo:
    id: str
    uri: str
    description: str
    editable: bool

    @property
    def path(self) -> str:
        return self.uri.removeprefix("file://")


# --------------------------------------------------------------------------- one controller


class Controller:
    """HTTP calls to one controller; read calls send `password`, writes `enable_password`."""

    def __init__(
        self,
        settings: ControllerSettings,
        timeout: float = 5.0,
        *,
        max_reply_mb: float = RspamdSettings.max_reply_mb,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.timeout = timeout
        self.max_bytes = int(max_reply_mb * MIB)
        # A read that ran into the deadline: the node is not asked again by this command
        # (each further call would only wait out its own deadline).
        self.stalled: Text | None = None
        self._http = httpx.Client(
            base_url=settings.url,
            timeout=timeout,
            transport=transport or DeadlineTransport(),
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def label(self) -> str:
        return f"rspamd controller {self.name} ({self.settings.display_url})"

    def request(
        self,
        method: str,
        path: str,
        *,
        write: bool = False,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Reply:
        """The whole reply within `timeout` seconds (connect included) and the size cap."""
        if self.stalled and not write:
            raise RspamdError(self.stalled)
        sent = dict(headers or {})
        secret = self.settings.enable_password if write else self.settings.password
        if write and secret is None:
            # rspamd accepts the one password for both when enable_password is unset.
            secret = self.settings.password
        if secret:
            sent["Password"] = secret
        try:
            response = fetch(
                self._http,
                method,
                path,
                seconds=self.timeout,
                max_bytes=self.max_bytes,
                headers=sent,
                content=content,
            )
        except (httpx.TimeoutException, DeadlinePassed):
            seconds = format(self.timeout, "g")
            message = M(
                "{controller} did not answer {path} within {seconds} s",
                controller=self.label,
                path=path,
                seconds=seconds,
            )
            if not write:
                self.stalled = message
            raise RspamdError(message) from None
        except TooLarge:
            mib = format(self.max_bytes / MIB, "g")
            raise RspamdError(
                M(
                    "{controller} sent more than {mib} MiB for {path}",
                    controller=self.label,
                    mib=mib,
                    path=path,
                )
            ) from None
        except Compressed:
            raise RspamdError(
                M(
                    "{controller} sent a compressed reply for {path}",
                    controller=self.label,
                    path=path,
                )
            ) from None
        except httpx.ConnectError as exc:
            if "refused" in str(exc).lower():
                message = M(
                    "{controller} cannot be reached: connection refused", controller=self.label
                )
            else:
                message = M("{controller} cannot be reached: cannot connect", controller=self.label)
            raise RspamdError(message) from None
        except httpx.HTTPError as exc:
            raise RspamdError(
                M(
                    "{controller} failed on {path}: {error}",
                    controller=self.label,
                    path=path,
                    error=type(exc).__name__,
                )
            ) from None
        self._check(response, path, write)
        return response

    def _check(self, response: Reply, path: str, write: bool) -> None:
        status = response.status_code
        if status == 401 or status == 403:
            if write:
                raise RspamdError(
                    M(
                        "{controller} refused the change on {path}: wrong or missing "
                        "enable_password",
                        controller=self.label,
                        path=path,
                    )
                )
            raise RspamdError(
                M(
                    "{controller} refused {path}: wrong or missing password",
                    controller=self.label,
                    path=path,
                )
            )
        if status == 404:
            raise RspamdError(
                M(
                    "{controller} answered {path} with HTTP 404: {details}",
                    controller=self.label,
                    path=path,
                    details=_error_text(response) or M("not found"),
                )
            )
        if status == 204:
            raise RspamdError(
                M("{controller} answered {path} with no content", controller=self.label, path=path)
            )
        if status >= 500:
            raise RspamdError(
                M(
                    "{controller} failed on {path} with HTTP {status}: {details}",
                    controller=self.label,
                    path=path,
                    status=str(status),
                    details=_error_text(response) or M("no details"),
                )
            )
        if status >= 400:
            raise RspamdError(
                M(
                    "{controller} refused {path} with HTTP {status}: {details}",
                    controller=self.label,
                    path=path,
                    status=str(status),
                    details=_error_text(response) or M("no details"),
                )
            )

    def json(self, path: str, *, write: bool = False, **kwargs: Any) -> Any:
        method = "POST" if kwargs.get("content") is not None else "GET"
        response = self.request(method, path, write=write, **kwargs)
        try:
            return loads_lenient(response.text)
        except ValueError:
            raise RspamdError(
                M(
                    "{controller} sent a reply to {path} that is not JSON",
                    controller=self.label,
                    path=path,
                )
            ) from None

    # The endpoints we use -------------------------------------------------------------

    def ping(self) -> bool:
        response = self.request("GET", "/ping")
        return response.text.strip() == "pong"

    def stat(self) -> dict[str, Any]:
        data = self.json("/stat")
        if not isinstance(data, dict):
            raise RspamdError(
                M("{controller} sent a /stat reply that is not an object", controller=self.label)
            )
        return data

    def actions(self) -> list[tuple[str, float | None]]:
        data = self.json("/actions")
        try:
            return [(str(a["action"]), finite_number(a.get("value"))) for a in data]
        except (TypeError, KeyError):
            raise RspamdError(
                M("{controller} sent an /actions reply of unknown shape", controller=self.label)
            ) from None

    def history(self) -> list[HistoryRow]:
        data = self.json("/history")
        try:
            return parse_history(self.name, data)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError):
            raise RspamdError(
                M("{controller} sent a /history reply of unknown shape", controller=self.label)
            ) from None

    def symbol_weights(self) -> dict[str, tuple[float | None, str]]:
        """Each symbol's configured weight and description (/symbols)."""
        data = self.json("/symbols")
        out: dict[str, tuple[float | None, str]] = {}
        try:
            for group in data:
                for rule in group.get("rules", ()):
                    out[str(rule["symbol"])] = (
                        finite_number(rule.get("weight")),
                        as_text(rule.get("description")),
                    )
        except (TypeError, KeyError, AttributeError):
            raise RspamdError(
                M("{controller} sent a /symbols reply of unknown shape", controller=self.label)
            ) from None
        return out

    def history_with_weights(self) -> list[HistoryRow]:
        """History; where it lacks per-symbol scores, the configured weights stand in."""
        rows = self.history()
        if not any(s.score is None for r in rows for s in r.symbols):
            return rows
        try:
            weights = self.symbol_weights()
        except RspamdError:
            return rows
        # Only refusals are shown with their symbols; the rest needs no weights.
        return [with_weights(r, weights) if r.rejected else r for r in rows]

    def maps(self) -> list[MapInfo]:
        data = self.json("/maps")
        try:
            return [
                MapInfo(
                    id=str(m["map"]),
                    uri=str(m.get("uri", "")),
                    description=str(m.get("description", "")),
                    editable=bool(m.get("editable")),
                )
                for m in data
            ]
        except (TypeError, KeyError):
            raise RspamdError(
                M("{controller} sent a /maps reply of unknown shape", controller=self.label)
            ) from None

    def find_map(self, wanted: str) -> MapInfo:
        """A map by id or file path; with none given, the one whose file is helpdesk_release*."""
        maps = self.maps()
        if wanted:
            for m in maps:
                if wanted in (m.id, m.uri, m.path):
                    return m
            raise RspamdError(
                M(
                    "{controller} lists no map {map} (see `helpdesk rspamd status`)",
                    controller=self.label,
                    map=repr(wanted),
                )
            )
        found = [m for m in maps if m.path.rsplit("/", 1)[-1].startswith("helpdesk_release")]
        if len(found) != 1:
            raise RspamdError(
                M(
                    "{controller} lists {n} maps named helpdesk_release*: set [rspamd] release_map",
                    controller=self.label,
                    n=len(found),
                )
            )
        return found[0]

    def getmap(self, map_id: str) -> str:
        return self.request("GET", "/getmap", headers={"Map": map_id}).text

    def savemap(self, map_id: str, text: str) -> None:
        body = text if text.strip() else "# empty\n"
        response = self.request(
            "POST", "/savemap", write=True, headers={"Map": map_id}, content=body.encode("utf-8")
        )
        try:
            ok = loads_lenient(response.text).get("success") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise RspamdError(
                M(
                    "{controller} did not confirm saving map {map}",
                    controller=self.label,
                    map=map_id,
                )
            )


def _error_text(response: Reply) -> str:
    text = response.text.strip()
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("error"):
            text = str(data["error"])
    except ValueError:
        pass
    text = " ".join(text.split())
    return text[:160]


# --------------------------------------------------------------------------- all controllers


@dataclass
class ControllerStatus:
    name: str
    url: str
    ok: bool
    error: str = ""  # in English, as --json carries it
    message: str | Text = ""  # the same, to show in the operator's language
    version: str = ""
    uptime: int | None = None
    stat: dict[str, Any] = field(default_factory=dict)
    actions: list[tuple[str, float | None]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        counters = {
            k: self.stat.get(k)
            for k in ("scanned", "learned", "spam_count", "ham_count", "connections")
            if k in self.stat
        }
        return {
            "name": self.name,
            "url": self.url,
            "ok": self.ok,
            "error": self.error or None,
            "error_message": self.message.as_json() if isinstance(self.message, Text) else None,
            "version": self.version or None,
            "uptime": self.uptime,
            "actions_counted": self.stat.get("actions", {}),
            "counters": counters,
            "thresholds": {name: value for name, value in self.actions},
        }


class Cluster:
    """Every configured controller; reads merge, writes must reach all of them."""

    def __init__(
        self, settings: RspamdSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.controllers = [
            Controller(c, settings.timeout, max_reply_mb=settings.max_reply_mb, transport=transport)
            for c in settings.controllers
        ]

    @classmethod
    def from_config(cls, config: Config) -> Cluster:
        return cls(RspamdSettings.from_config(config))

    def close(self) -> None:
        for c in self.controllers:
            c.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def history(self) -> tuple[list[HistoryRow], list[str | Text]]:
        """Merged history, newest first, and one error text per controller that failed.

        Raises when every controller failed: an empty list would read as "nothing blocked".
        """
        rows: list[HistoryRow] = []
        errors: list[str | Text] = []
        for c in self.controllers:
            try:
                rows.extend(c.history_with_weights())
            except RspamdError as exc:
                errors.append(exc.message)
        if errors and len(errors) == len(self.controllers):
            joined = errors[0]
            for more in errors[1:]:
                joined = M("{first}; {then}", first=joined, then=more)
            raise RspamdError(joined)
        rows.sort(key=lambda r: r.time, reverse=True)
        return rows, errors

    def status(self) -> list[ControllerStatus]:
        out = []
        for c in self.controllers:
            status = ControllerStatus(c.name, c.settings.display_url, ok=False)
            try:
                status.stat = c.stat()
                status.version = str(status.stat.get("version", ""))
                uptime = finite_number(status.stat.get("uptime"))
                status.uptime = int(uptime) if uptime is not None else None
                status.actions = c.actions()
                status.ok = True
            except RspamdError as exc:
                # Not str(exc): that is the UI language, and --json never changes with it.
                status.error = exc.english()
                status.message = exc.message
            out.append(status)
        return out
