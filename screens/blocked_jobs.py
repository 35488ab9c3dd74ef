"""What the blocked-mail list does in the background: read the blocked list, release, revoke;
plain functions that take their inputs as arguments and return their result
(screens/background.py brings it back to the list)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpdesk.i18n import M, _, ngettext
from helpdesk.localtime import time_text
from helpdesk.rspamd.blocked import BlockedMessage, BlockedReport
from helpdesk.rspamd.release_risk import WatcherSuspension
from screens.dialogs.release import ReleaseAnswer
from screens.dialogs.ticket import TicketAnswer


@dataclass
class BlockedLoad:
    report: BlockedReport
    # The automatic watcher's last suspension of the listed senders, for the release dialog.
    watched: dict[str, WatcherSuspension] = field(default_factory=dict)


def load_blocked(config: Any, db: Any, user: str | None) -> BlockedLoad:
    from helpdesk.errors import HelpdeskError
    from helpdesk.rspamd.blocked import collect_blocked
    from helpdesk.rspamd.client import Cluster
    from helpdesk.rspamd.exim_rejects import configured_mainlogs
    from helpdesk.rspamd.release_risk import watcher_suspensions

    logs = configured_mainlogs(config)
    with Cluster.from_config(config) as cluster:
        report = collect_blocked(cluster, db, user=user, logs=logs, recent_only=True)
    watched: dict[str, WatcherSuspension] = {}
    if db is not None:
        try:
            watched = watcher_suspensions(db, (i.user for i in report.items if i.releasable))
        except HelpdeskError as exc:
            warning = M("the watcher's state was not read: {error}", error=exc.message)
            report.warnings.append(warning)
    return BlockedLoad(report, watched)


def release(
    config: Any, db: Any, item: BlockedMessage, answer: ReleaseAnswer, operator: str
) -> str:
    from helpdesk.durations import parse_duration
    from helpdesk.rspamd.client import Cluster
    from helpdesk.rspamd.releases import ReleaseService

    with Cluster.from_config(config) as cluster:
        service = ReleaseService(db, cluster)
        done = service.release(
            item.message_id,
            item.user,
            digest=item.digest,
            ticket=answer.ticket,
            reason=answer.reason or None,
            ttl=parse_duration(answer.ttl),
            uses=answer.uses,
            operator=operator,
        )
        synced = _sync_after_write(service, operator)
    text = ngettext(
        "Released #{id} (once) until {until}: the customer can send it again now.",
        "Released #{id} ({n} times) until {until}: the customer can send it again now.",
        done.uses,
    ).format(id=done.id, n=done.uses, until=time_text(done.expires_at, zone=True))
    return f"{text} {synced}"


def _sync_after_write(service: Any, operator: str) -> str:
    """After its own write the UI brings every controller's map to the database (expired,
    used and revoked releases leave); the timer does it otherwise (docs/rspamd.md)."""
    from helpdesk.errors import HelpdeskError

    try:
        outcome = service.sync(operator)
    except HelpdeskError as exc:
        return _("Map not synced: {error}").format(error=exc)
    if outcome.errors:
        return _("Map not synced: {error}").format(error=outcome.errors[0])
    return ngettext(
        "Map synced: {n} active release.", "Map synced: {n} active releases.", outcome.lines
    ).format(n=outcome.lines)


def revoke(config: Any, db: Any, release_id: int, answer: TicketAnswer, operator: str) -> str:
    from helpdesk.rspamd.client import Cluster
    from helpdesk.rspamd.releases import ReleaseService

    with Cluster.from_config(config) as cluster:
        service = ReleaseService(db, cluster)
        service.revoke(
            release_id, ticket=answer.ticket, reason=answer.reason or None, operator=operator
        )
        synced = _sync_after_write(service, operator)
    return _("Release #{id} revoked.").format(id=release_id) + f" {synced}"
