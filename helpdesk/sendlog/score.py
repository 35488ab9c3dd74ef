"""The offender score: points and plain-words reasons from one account's totals.

Thresholds come from the config ([sendlog], docs/sendlog.md). Each signal adds points once it
crosses its threshold, more the further past it, up to three times the threshold.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.sendlog.report import UserStats
    from helpdesk.sendlog.settings import SendlogSettings


def _n(value: int) -> str:
    return f"{value:,}"


def _span(since: timedelta) -> str:
    """The window in the words an operator would use: 24 hours, 7 days, 30 minutes."""
    secs = int(since.total_seconds())
    if secs == 86400:
        return "24 hours"
    if secs % 86400 == 0:
        return f"{secs // 86400} days"
    if secs >= 7200:
        return f"{round(secs / 3600)} hours"
    if secs == 3600:
        return "1 hour"
    minutes = max(1, round(secs / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


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
    three times the threshold). Volume, bursts, refusals, spread over many domains and failed
    logins stand on their own; external recipients, new client addresses and missing TLS are
    normal for many customers and only add to a score that one of the first already started.
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
        (25, s.peak_5min, t.peak_5min, True, f"{_n(s.peak_5min)} messages in 5 minutes"),
        (10, s.messages, t.messages, True, f"{_n(s.messages)} messages in {_span(since)}"),
        (
            10,
            s.external_share if s.recipients >= t.min_recipients else 0.0,
            t.external_share,
            False,
            f"{round(s.external_share * 100)}% to external domains",
        ),
        (10, n_domains, t.recipient_domains, True, f"to {_n(n_domains)} different domains"),
        (25, s.rejected, t.rejected, True, f"{_n(s.rejected)} refused as spam"),
        (
            15,
            n_new,
            t.new_client_ips,
            False,
            f"from {n_new} client address{'es' if n_new != 1 else ''} never seen before",
        ),
        (
            10,
            s.auth_failures,
            t.auth_failures,
            True,
            f"{_n(s.auth_failures)} failed logins from {n_fail_ips} "
            f"address{'es' if n_fail_ips != 1 else ''}",
        ),
        (
            5,
            no_tls if s.accepted >= 10 else 0.0,
            t.no_tls,
            False,
            f"{round(no_tls * 100)}% sent without TLS",
        ),
    ]
    fired = [x for x in signals if x[1] and x[1] >= x[2]]
    if not any(x[3] for x in fired):
        fired = []
    points = sum(w * min(v / th, 3.0) if th > 0 else w for w, v, th, _, _ in fired)
    s.score = min(100, round(points))
    s.reasons = [x[4] for x in fired]
