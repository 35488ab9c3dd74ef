"""rspamd's verdict on one blocked message, in full: opened with Enter from the blocked list.
Values cut to their column in the list are whole here."""

from __future__ import annotations

from textual.content import Content

from helpdesk.i18n import _
from helpdesk.localtime import SECOND, time_text
from helpdesk.rspamd.blocked import BlockedMessage
from screens.dialogs.detail import DetailScreen
from screens.widgets import line, lines


def verdict_text(item: BlockedMessage) -> Content:
    """The whole verdict: every value from rspamd, the log or the sender inserted as text."""
    score = (
        _("{score} (reject at {threshold})").format(
            score=f"{item.score:.2f}", threshold=f"{item.required_score:g}"
        )
        if item.score is not None and item.required_score is not None
        else _("unknown (only Exim's log line is left)")
    )
    rows: list[object] = [
        line(
            _("[b]When[/b]        $v") + (_("  ($n attempts)") if item.attempts > 1 else ""),
            v=time_text(item.time, SECOND, zone=True),
            n=item.attempts,
        ),
        line(
            _("[b]Sender[/b]      $v")
            + (
                _(" [yellow](cut by rspamd: full address unknown)[/]")
                if item.user_truncated
                else ""
            ),
            v=item.user,
        ),
        line(_("[b]Message-ID[/b]  $v"), v=f"<{item.message_id}>" if item.message_id else "—"),
        line(_("[b]Subject[/b]     $v"), v=item.subject or "—"),
        line(
            _("[b]Digest[/b]      $v"),
            v=item.digest or _("— (no content digest: not releasable)"),
        ),
        line(_("[b]Verdict[/b]     $v, score $s"), v=item.action, s=score),
        line(
            _("[b]Client[/b]      $v") + (_("   [b]node[/b] $c") if item.controller else ""),
            v=item.ip or "—",
            c=item.controller,
        ),
    ]
    if item.recipients:
        rows.append(line(_("[b]To[/b]          $v"), v=", ".join(item.recipients)))
    if item.reasons:
        rows += ["", line(_("[b]Why, in plain words[/b]"))]
        rows += [f"  • {reason}" for reason in item.reasons]
    shown = [s for s in item.symbols if s.score is None or s.score != 0]
    if shown:
        rows.append("")
        rows.append(
            line(_("[b]Symbols[/b]") + (_(" (configured weights)") if shown[0].estimated else ""))
        )
        for s in shown[:15]:
            score_text = "   ?" if s.score is None else f"{s.score:>6.2f}"
            rows.append(f"  {score_text}  {s.name}")
    if item.exim_text:
        rows += ["", line(_("[b]The customer saw[/b]  $v"), v=item.exim_text)]
    if item.release_used_up:
        rows.append(line(_("[yellow]A release of this message had no use left.[/]")))
    if item.release_state:
        rows.append("")
        rows.append(line(_("[b]Release[/b] #$i: $v"), i=item.release_id, v=item.release_state))
    elif not item.releasable:
        rows.append("")
        rows.append(
            line(
                _("[yellow]Cannot be released from here: content digest or full sender unknown.[/]")
            )
        )
    return lines(rows)


class VerdictScreen(DetailScreen):
    """rspamd's verdict on one message, in full."""

    def __init__(self, item: BlockedMessage) -> None:
        super().__init__(verdict_text(item), text_id="verdict")
        self.item = item
