"""The log files to read, each labelled with the mail host that wrote it and that host's zone
when `[sendlog]` names hosts (helpdesk/sendlog/hosts.py has the hosts and their clocks)."""

from __future__ import annotations

from dataclasses import replace

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M, Text
from helpdesk.logs.files import LogFile, expand
from helpdesk.sendlog.hosts import LogHost, local_label
from helpdesk.sendlog.settings import SendlogSettings


def configured_hosts(settings: SendlogSettings) -> tuple[LogHost, ...]:
    """The labelled hosts to read: [[sendlog.hosts]], or `paths` as this machine when
    `timezone` is set; () when `paths` is read as it always was (this machine, its zone)."""
    if settings.hosts:
        return settings.hosts
    if settings.timezone:
        return (LogHost(local_label(), settings.paths, settings.timezone),)
    return ()


def host_files(settings: SendlogSettings, given: list[str] | None = None) -> list[LogFile]:
    """The files to read, each labelled with its host and zone when hosts are configured.

    `given` (the CLI's --log) is one unlabelled host, as before. Files of one host are in
    time order; hosts in the order the config names them."""
    hosts = () if given else configured_hosts(settings)
    if not hosts:
        return expand(given or settings.paths)
    out: list[LogFile] = []
    for host in hosts:
        try:
            files = expand(host.paths)
        except HelpdeskError as exc:
            raise type(exc)(M("host {host}: {error}", host=host.name, error=_text(exc))) from None
        out.extend(replace(lf, host=host.name, zone=host.timezone) for lf in files)
    return out


def _text(exc: HelpdeskError) -> Text | str:
    """The error's own text, still in any language."""
    return exc.message if isinstance(exc.message, Text) else str(exc)
