"""The whole reputation picture for the command and the send-log screen: the blocklist check
with its history, who sent most before each listing began, and the providers' refusals.

Each part fails on its own: a resolver that is down still leaves the providers' refusals, a log
that cannot be read still leaves the blocklists. The reasons are kept as one-line texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M, Text
from helpdesk.reputation.dnsbl import Check, check
from helpdesk.reputation.refusals import Refusals, count_refusals
from helpdesk.reputation.senders import Sender, top_senders_before
from helpdesk.reputation.settings import ReputationSettings
from helpdesk.sendlog.settings import SendlogSettings

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.mailcenter.db import Database

_SENDER_WINDOWS = 3  # listings that began at different times: the newest few are explained


@dataclass
class Picture:
    settings: ReputationSettings
    check: Check | None = None
    check_error: Text | str | None = None
    history_error: Text | str | None = None
    # first_seen (naive UTC) -> the accounts that sent most in the hour before it
    senders: dict[datetime, list[Sender]] = field(default_factory=dict)
    senders_error: Text | str | None = None
    refusals: Refusals | None = None
    refusals_error: Text | str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "addresses": [str(a) for a in self.settings.addresses],
            "blocklists": list(self.settings.blocklists),
            "dqs": self.settings.dqs_key is not None,
            "check": self.check.as_json() if self.check is not None else None,
            "check_error": _json_text(self.check_error),
            "history_error": _json_text(self.history_error),
            "senders_before_listing": [
                {
                    "listing_since": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "senders": [s.as_json() for s in senders],
                }
                for when, senders in sorted(self.senders.items(), reverse=True)
            ],
            "senders_error": _json_text(self.senders_error),
            "refusals": self.refusals.as_json() if self.refusals is not None else None,
            "refusals_error": _json_text(self.refusals_error),
        }


def _json_text(value: Text | str | None) -> str | None:
    if value is None:
        return None
    return value.english() if isinstance(value, Text) else str(value)


def _message(exc: HelpdeskError) -> Text | str:
    return exc.message if exc.message else str(exc)


def gather(
    config: Config | None,
    db: Database | None,
    *,
    settings: ReputationSettings | None = None,
    now: datetime | None = None,
    explain_listings: bool = True,
) -> Picture:
    """Check, record, explain; never raises for one broken part (see the module's docstring).

    explain_listings: also read who sent most before each listing (one more pass over the log
    per listing time; the send-log screen's line does without)."""
    settings = settings or ReputationSettings.from_config(config)
    picture = Picture(settings)
    sendlog = SendlogSettings.from_config(config)
    if settings.addresses:
        try:
            picture.check = check(settings)
        except HelpdeskError as exc:
            picture.check_error = _message(exc)
    if picture.check is not None and db is not None:
        try:
            from helpdesk.reputation.history import record

            record(db, picture.check)
        except HelpdeskError as exc:
            picture.history_error = M("history not kept: {reason}", reason=_message(exc))
    if explain_listings and picture.check is not None and picture.check.listed:
        starts = sorted(
            {a.since or picture.check.checked_at for a in picture.check.listed}, reverse=True
        )
        try:
            for when in starts[:_SENDER_WINDOWS]:
                picture.senders[when] = top_senders_before(sendlog, when)
        except HelpdeskError as exc:
            picture.senders_error = _message(exc)
    try:
        picture.refusals = count_refusals(sendlog.paths, window=settings.window, now=now)
    except HelpdeskError as exc:
        picture.refusals_error = _message(exc)
    return picture
