"""The offender score: points and plain-words reasons from one account's totals.

Thresholds come from the config ([sendlog], docs/sendlog.md). Each signal adds points once it
crosses its threshold, more the further past it, up to three times the threshold.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from helpdesk.i18n import M, Mn, Text

if TYPE_CHECKING:
    from helpdesk.sendlog.report import UserStats
    from helpdesk.sendlog.settings import SendlogSettings


def _span(since: timedelta) -> Text:
    """The window in the words an operator would use: 24 hours, 7 days, 30 minutes."""
    secs = int(since.total_seconds())
    if secs % 86400 == 0 and secs != 86400:
        return Mn("{n} day", "{n} days", secs // 86400)
    if secs >= 7200 or secs == 3600 or secs == 86400:
        hours = round(secs / 3600)
        return Mn("{n} hour", "{n} hours", hours)
    minutes = max(1, round(secs / 60))
    return Mn("{n} minute", "{n} minutes", minutes)


def score_user(
    s: UserStats,
    settings: SendlogSettings,
    local: set[str],
    baseline_ips: set | None,
    baseline_covered: bool,
    since: timedelta,
) -> None:
    """Score 0-100 with its reasons in words, in the order an operator reads them.

    Each signal adds points once it crosses its threshold, more the further past it (up to
    three times the threshold). Volume, bursts, refusals (as spam or by a sending limit),
    spread over many domains and failed logins stand on their own; external recipients, new
    client addresses and missing TLS are normal for many customers, and tries while suspended
    say only that a program keeps trying, so these only add to a score that one of the first
    already started.
    """
    t = settings
    ext = sum(c for d, c in s.domain_counts.items() if d not in local)
    s.external_share = ext / s.recipients if s.recipients else 0.0
    s.new_ips = (
        sorted(ip.decode("ascii", "replace") for ip in s.ips if ip not in (baseline_ips or ()))
        if baseline_covered
        else []
    )
    no_tls = s.no_tls / s.accepted if s.accepted else 0.0
    n_new, n_fail_ips, n_domains = len(s.new_ips), len(s.auth_failure_ips), len(s.domains)
    # (weight, value, threshold, primary, reason)
    signals = [
        (
            25,
            s.peak_5min,
            t.peak_5min,
            True,
            Mn("{n} message in 5 minutes", "{n} messages in 5 minutes", s.peak_5min),
        ),
        (
            10,
            s.messages,
            t.messages,
            True,
            Mn("{n} message in {span}", "{n} messages in {span}", s.messages, span=_span(since)),
        ),
        (
            10,
            s.external_share if s.recipients >= t.min_recipients else 0.0,
            t.external_share,
            False,
            M("{percent}% to external domains", percent=round(s.external_share * 100)),
        ),
        (
            10,
            n_domains,
            t.recipient_domains,
            True,
            Mn("to {n} different domain", "to {n} different domains", n_domains),
        ),
        (25, s.rejected, t.rejected, True, M("{count} refused as spam", count=s.rejected)),
        (
            20,
            s.limit_refused,
            t.limit_refused,
            True,
            M("{count} refused by its sending limit", count=s.limit_refused),
        ),
        (
            10,
            s.suspended_tries,
            t.suspended_tries,
            False,
            Mn("{n} try while suspended", "{n} tries while suspended", s.suspended_tries),
        ),
        (
            15,
            n_new,
            t.new_client_ips,
            False,
            Mn(
                "from {n} client address never seen before",
                "from {n} client addresses never seen before",
                n_new,
            ),
        ),
        (
            10,
            s.auth_failures,
            t.auth_failures,
            True,
            Mn(
                "{n} failed login from {addresses}",
                "{n} failed logins from {addresses}",
                s.auth_failures,
                addresses=Mn("{n} address", "{n} addresses", n_fail_ips),
            ),
        ),
        (
            5,
            no_tls if s.accepted >= 10 else 0.0,
            t.no_tls,
            False,
            M("{percent}% sent without TLS", percent=round(no_tls * 100)),
        ),
    ]
    fired = [x for x in signals if x[1] and x[1] >= x[2]]
    if not any(x[3] for x in fired):
        fired = []
    points = sum(w * min(v / th, 3.0) if th > 0 else w for w, v, th, _, _ in fired)
    s.score = min(100, round(points))
    s.reasons = [x[4] for x in fired]
