"""The one line at the top of the send-log screen (F6): listed or not, and who refuses us.

`reputation_line(config, db)` reads the logs and asks DNS (a few seconds at most): the screen
calls it in a background job and shows the Text it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpdesk.i18n import M, Mn, Text
from helpdesk.localtime import time_text
from helpdesk.reputation.report import Picture, gather

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.mailcenter.db import Database

_UNKNOWN = "?"
_SHOWN = 2  # listings and providers named in the line; the rest are counted


def reputation_line(config: Config | None, db: Database | None = None) -> Text:
    """Check now (and keep the history) and say it in one line."""
    return picture_line(gather(config, db, explain_listings=False))


def picture_line(picture: Picture) -> Text:
    return M("{lists} · {providers}", lists=_lists(picture), providers=_providers(picture))


def _lists(picture: Picture) -> Text:
    if not picture.settings.addresses:
        return M("Blocklists: no [reputation] addresses configured")
    if picture.check is None:
        return M("Blocklists: {reason}", reason=picture.check_error or _UNKNOWN)
    listed = picture.check.listed
    if not listed:
        n = len(picture.check.answers)
        return Mn(
            "Blocklists: not listed ({n} check)",
            "Blocklists: not listed ({n} checks)",
            n,
        )
    parts = []
    for a in listed[:_SHOWN]:
        since = time_text(a.since, "%d.%m. %H:%M", zone=True) if a.since else ""
        if since:
            parts.append(
                M(
                    "{address} on {zone} ({codes}) since {since}",
                    address=a.address,
                    zone=a.zone,
                    codes=a.summary(),
                    since=since,
                )
            )
        else:
            parts.append(
                M(
                    "{address} on {zone} ({codes})",
                    address=a.address,
                    zone=a.zone,
                    codes=a.summary(),
                )
            )
    text = M("LISTED: {first}", first=parts[0])
    if len(parts) > 1:
        text = M("{before}; {next}", before=text, next=parts[1])
    rest = len(listed) - len(parts)
    if rest:
        text = Mn("{before} and {n} more", "{before} and {n} more", rest, before=text)
    return text


def _providers(picture: Picture) -> Text:
    if picture.refusals is None:
        return M("provider refusals: {reason}", reason=picture.refusals_error or _UNKNOWN)
    blocked = [p for p in picture.refusals.providers if p.blocked]
    if not blocked:
        return M("no big provider refuses us (last hour)")
    parts = [
        M(
            "{name} refuses {share}% ({codes})",
            name=p.name,
            share=round(p.share * 100),
            codes=", ".join(code for code, _n in p.codes.most_common(2)),
        )
        for p in blocked[:_SHOWN]
    ]
    text = parts[0] if len(parts) == 1 else M("{before}, {next}", before=parts[0], next=parts[1])
    rest = len(blocked) - len(parts)
    if rest:
        text = Mn("{before} and {n} more", "{before} and {n} more", rest, before=text)
    return text
