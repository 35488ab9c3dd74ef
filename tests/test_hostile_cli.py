"""Hostile text through every CLI command: nothing unsafe reaches the operator's terminal.

One SQLite database holds every value of tests/hostile.py wherever another program could put
it (real names, customer numbers, addresses, forwards, sender lists, audit rows, releases);
an Exim mainlog carries them in subjects, senders, users and Message-IDs the way Exim writes
them (octal escapes, plus raw bytes that are not UTF-8); a small rspamd controller answers a
recorded history_redis reply with them in subjects, senders, users, Message-IDs and symbol
names (the stack's built-in history has no subject), and the stack's real rspamd worker scans
them as Message-IDs and users. Every command runs in-process with and without --json, and
once as a real process: stdout and stderr must be clean, and --json must give back the exact
values. Input that is not UTF-8: tests/test_cli_encoding.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from helpdesk.cli import main
from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.reindex import reindex_names
from helpdesk.mailcenter.schema import (
    audit_log,
    domains,
    forwards,
    mailboxes,
    outbound_releases,
    spam_senders,
)
from helpdesk.passwords.campaign import ACTION as CAMPAIGN_ACTION
from tests.conftest import run_cli
from tests.hostile import RAW_BYTES, VALUES, assert_clean, assert_markup_shown

DOMAIN = "hostile.example"
NAMES = list(VALUES)
# A lone surrogate is no text a database driver sends: it arrives through the log only.
DB_VALUES = {k: v for k, v in VALUES.items() if not any(0xD800 <= ord(c) < 0xE000 for c in v)}
# Database columns are cut to their size by MariaDB and PostgreSQL; SQLite keeps what it gets,
# which is what another program would leave there.
USER = "h0@hostile.example"  # the one plain mailbox every per-mailbox command looks at
EXIM_NOW = datetime.now().replace(microsecond=0)


def _exim_escape(value: str) -> str:
    """A value as Exim logs it: quotes and backslashes escaped, non-printing bytes as \\ooo."""
    out = []
    for byte in value.encode("utf-8", "surrogateescape"):
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif byte < 0x20 or byte == 0x7F:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte) if byte < 0x80 else f"\\{byte:03o}")
    return "".join(out)


def _token(value: str) -> str:
    """For a field Exim ends at a space (A=, id=): spaces escaped too."""
    return _exim_escape(value).replace(" ", "\\040")


def _mainlog(path: Path) -> None:
    lines: list[bytes] = []
    stamp = (EXIM_NOW - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    for i, name in enumerate(NAMES):
        value = VALUES[name]
        eid = f"1hO{i:03d}-000{i:03d}-Ab"
        sender = f"s{i}@evil.example"
        # Inbound to the plain mailbox: the spam preview shows subject and sender.
        lines.append(f"{stamp} {eid} spam-score=7.{i % 10} action=add header rcpt={USER}".encode())
        lines.append(
            f"{stamp} {eid} <= {sender} H=([192.0.2.1]) [192.0.2.1] P=esmtp S=549 "
            f'id={_token(value)} T="{_exim_escape(value)}" for {USER}'.encode()
        )
        lines.append(f"{stamp} {eid} Completed".encode())
        # Submission by an authenticated user whose name is the value: offenders, blocked.
        sid = f"1hS{i:03d}-000{i:03d}-Ab"
        lines.append(
            f"{stamp} {sid} <= {USER} H=(pc) [198.51.100.{i + 1}]:4711 P=esmtpsa "
            f"X=TLS1.3:x:256 A=dovecot_plain:{_token(value)}x@{DOMAIN} S=100 "
            f'id=m{i}@{DOMAIN} T="{_exim_escape(value)}" for a@web.example'.encode()
        )
        lines.append(
            f"{stamp} H=(pc) [198.51.100.{i + 1}]:4711 P=esmtpsa "
            f"A=dovecot_plain:{_token(value)}y@{DOMAIN} F=<{USER}> temporarily rejected after "
            f"DATA: {_exim_escape(value)} <b{i}@{DOMAIN}>".encode()
        )
    for name, raw in RAW_BYTES.items():
        eid = f"1hR{len(name):03d}-000999-Ab"
        lines.append(f"{stamp} {eid} spam-score=3.0 action=no action rcpt={USER}".encode())
        lines.append(
            f"{stamp} {eid} <= raw@evil.example H=([192.0.2.9]) [192.0.2.9] P=esmtp S=9 ".encode()
            + b'id=raw@evil.example T="'
            + raw
            + b'" for '
            + USER.encode()
        )
    path.write_bytes(b"\n".join(lines) + b"\n")


def _history_rows() -> list[dict[str, Any]]:
    now = time.time()
    rows = []
    for i, name in enumerate(NAMES):
        value = VALUES[name]
        rows.append(
            {
                "unix_time": now - 60 - i,
                "message-id": f"{value}@{DOMAIN}",
                "user": value,
                "action": "reject",
                "score": 16.5,
                "required_score": 15.0,
                "ip": "198.51.100.7",
                "sender_smtp": f"{value}@{DOMAIN}",
                "rcpt_smtp": [f"{value}@web.example"],
                "subject": value,
                "size": 100,
                "symbols": {value: {"score": 3.0, "options": [value]}, "SPAM": {"score": 9.0}},
            }
        )
    return rows


class _Controller(BaseHTTPRequestHandler):
    """An rspamd controller that answers a recorded history_redis reply."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        replies: dict[str, Any] = {
            "/ping": "pong\n",
            "/stat": {
                "version": VALUES["osc-title"],
                "uptime": 100,
                "scanned": len(NAMES),
                "actions": {"reject": len(NAMES), VALUES["csi"]: 1},
            },
            "/actions": [{"action": "reject", "value": 15}, {"action": "add header", "value": 6}],
            "/history": {"version": 2, "rows": _history_rows()},
            "/symbols": [],
            "/maps": [],
        }
        if path not in replies:
            self.send_response(404)
            self.end_headers()
            return
        reply = replies[path]
        body = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def controller() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Controller)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fill(db: Database) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=900)
    with db.begin() as conn:
        domain_id = conn.execute(
            insert(domains).values(name=DOMAIN, enabled=True)
        ).inserted_primary_key[0]

        def mailbox(address: str, local: str, **cols: Any) -> int:
            return conn.execute(
                insert(mailboxes).values(
                    domain_id=domain_id, local_part=local, address=address,
                    password_changed_at=long_ago, created_at=long_ago, **cols,
                )
            ).inserted_primary_key[0]  # fmt: skip

        plain = mailbox(USER, "h0", realname=VALUES["markup-click"], customer_ref="KD-1")
        for i, value in enumerate(DB_VALUES.values()):
            box = mailbox(
                f"h{i + 1}@{DOMAIN}", f"h{i + 1}", realname=value, customer_ref=value,
                smtp_enabled=bool(i % 2),
            )  # fmt: skip
            # An address another program wrote with the value in it.
            mailbox(f"x{i}{value}@{DOMAIN}", f"x{i}{value}"[:64], realname=value)
            conn.execute(insert(forwards).values(mailbox_id=plain, target=value, keep_copy=True))
            conn.execute(insert(forwards).values(mailbox_id=box, target=value, keep_copy=False))
            conn.execute(
                insert(spam_senders).values(mailbox_id=plain, list="allow", sender=f"{value}{i}")
            )
            for target in (USER, f"h{i + 1}@{DOMAIN}"):
                conn.execute(
                    insert(audit_log).values(
                        at=now - timedelta(minutes=i), operator=value, client_addr=value,
                        action=value, target=target, ticket=value, reason=value,
                        before=json.dumps({"realname": value}),
                        after=json.dumps({value: value}),
                    )
                )  # fmt: skip
            conn.execute(
                insert(audit_log).values(
                    at=now, operator=value, action=CAMPAIGN_ACTION, target=f"h{i + 1}@{DOMAIN}",
                    ticket=value,
                    reason=f"password campaign 20261127-22050{i % 10}-3fa2: "
                    "password set before 2024-01-01",
                )
            )  # fmt: skip
            conn.execute(
                insert(outbound_releases).values(
                    address=USER, message_id=value, created_at=now, operator=value,
                    client_addr=value, ticket=value, reason=value,
                    expires_at=now + timedelta(hours=1),
                )
            )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory, controller) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    db = Database(f"sqlite:///{folder / 'mailcenter.sqlite'}")
    db.create_schema()
    _fill(db)
    reindex_names(db)  # as `helpdesk db reindex` after another program wrote mailboxes
    db.dispose()
    mainlog = folder / "mainlog"
    _mainlog(mainlog)
    config = folder / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{folder / "mailcenter.sqlite"}"\n\n'
        f'[rspamd]\ncontrollers = [{{ url = "{controller}", password = "x" }}]\n\n'
        f'[sendlog]\npaths = ["{mainlog}"]\nsince = "2h"\n'
    )
    config.chmod(0o600)
    return {"config": config, "mainlog": mainlog}


# Every command that shows text from outside, with arguments for the hostile world.
COMMANDS: dict[str, list[str]] = {
    "find": ["find", DOMAIN, "--limit", "1000"],
    "find-name": ["find", "CLICK-ME"],
    "show": ["show", USER],
    "show-other": ["show", f"h3@{DOMAIN}"],
    "audit": ["audit", "--limit", "1000"],
    "blocked": ["blocked"],
    "releases": ["releases"],
    "rspamd-status": ["rspamd", "status", "--limit", "100"],
    "spam-show": ["spam", "show", USER],
    "spam-sieve": ["spam", "sieve", USER],
    "spam-preview": ["spam", "preview", USER, "--limit", "1000"],
    "offenders": ["offenders", "--since", "2h", "--limit", "1000"],
    "offenders-guessing": ["offenders", "--since", "2h", "--guessing"],
    "trail": ["trail", "1hO005-000005-Ab"],
    "trail-raw": ["trail", "raw@evil.example"],
    "passwd-campaign": ["passwd", "campaign", "--domain", DOMAIN],
    "passwd-progress": ["passwd", "campaign", "--progress"],
    "sweep": ["sweep", USER],
}
# Commands without --json (they print a file, not data).
NO_JSON = {"spam-sieve"}


def _in_process(capsys, world, args: list[str]) -> tuple[int, str, str]:
    code = main(["--config", str(world["config"]), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _check_human(out: str, err: str, where: str) -> None:
    # `passwd campaign` writes tab-separated columns for scripts: the app's own tabs.
    if where.startswith("passwd-campaign"):
        out = out.replace("\t", " ")
    assert_clean(out, where=f"{where} stdout")
    assert_clean(err, where=f"{where} stderr")
    assert_markup_shown(out, where=where)
    assert "Traceback" not in err


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_human_output_is_terminal_safe(capsys, world, command):
    code, out, err = _in_process(capsys, world, COMMANDS[command])
    assert code in (0, 1), err
    assert out.strip(), f"{command} printed nothing: the hostile values were not read"
    _check_human(out, err, command)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in NO_JSON])
def test_json_is_safe_and_exact(capsys, world, command):
    code, out, err = _in_process(capsys, world, [*COMMANDS[command], "--json"])
    assert code in (0, 1), err
    assert_clean(out, where=f"{command} --json")
    assert_clean(err, where=f"{command} --json stderr")
    data = json.loads(out)
    found = "\n".join(_strings(data))
    if command == "offenders-guessing":
        return  # client addresses and counts only
    if command == "trail-raw":
        assert "\x1b]52;c;ZXZpbA==\x07" in found  # the raw ESC byte of the log, exactly
        return
    # The exact values come back (not escaped, not cut): at least one of them, in full.
    assert any(v in found for v in VALUES.values() if v != VALUES["long"]), command


def test_json_gives_back_every_value_exactly(capsys, world):
    """Each hostile value, byte for byte, from the database (find, audit) and rspamd."""
    code, out, _ = _in_process(capsys, world, ["find", DOMAIN, "--limit", "1000", "--json"])
    names = {hit["realname"] for hit in json.loads(out)["results"]}
    assert set(DB_VALUES.values()) <= names
    code, out, _ = _in_process(capsys, world, ["audit", "--limit", "1000", "--json"])
    reasons = {e["reason"] for e in json.loads(out)}
    assert set(DB_VALUES.values()) <= reasons
    code, out, _ = _in_process(capsys, world, ["rspamd", "status", "--limit", "100", "--json"])
    subjects = {r["subject"] for r in json.loads(out)["history"]}
    assert set(VALUES.values()) <= subjects


def test_the_values_are_shown_escaped_not_dropped(capsys, world):
    """Visible escapes: the operator sees that something odd is there."""
    _code, out, _err = _in_process(capsys, world, ["spam", "preview", USER, "--limit", "1000"])
    assert "x\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\\x07y" in out
    assert "invoice\\u202egpj.exe" in out
    assert "m\ufffdller" in out  # the raw Latin-1 byte of the log, visibly replaced
    _code, out, _err = _in_process(capsys, world, ["show", USER])
    assert "[@click=app.screenshot('x','/tmp')]CLICK-ME[/]" in out


def test_hostile_arguments_come_back_safe(capsys, world):
    """What the operator typed is quoted in errors: safe too."""
    for value in VALUES.values():
        if "\x00" in value:
            continue
        code, out, err = _in_process(capsys, world, ["show", value])
        assert code != 0
        _check_human(out, err, "show ARG")
        assert err.count("\n") == 1, err


def test_writes_on_a_hostile_address_report_it_safely(capsys, world):
    index = list(DB_VALUES).index("osc-title")
    address = f"x{index}{VALUES['osc-title']}@{DOMAIN}"
    code, out, err = _in_process(capsys, world, ["suspend", address, "--ticket", "T-1"])
    assert code == 0, err
    _check_human(out, err, "suspend")
    assert "\\x1b]0;pwned" in out
    code, out, err = _in_process(capsys, world, ["reinstate", address, "--ticket", "T-1"])
    assert code == 0, err
    _check_human(out, err, "reinstate")
    args = ["passwd", address, "--generate", "--no-force-change", "--ticket", "T-1"]
    code, out, err = _in_process(capsys, world, args)
    assert code == 0, err
    _check_human(out, err, "passwd --generate")
    assert "\\x1b]0;pwned" in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_real_process_is_terminal_safe(world, command):
    out = run_cli(*COMMANDS[command], config=world["config"])
    assert out.returncode in (0, 1), out.stderr
    assert out.stdout.strip()
    _check_human(out.stdout, out.stderr, command)


def test_db_lists_what_was_written(world):
    """The fixture really holds the values (a guard against a test that reads nothing)."""
    db = Database(f"sqlite:///{world['config'].parent / 'mailcenter.sqlite'}")
    with db.connect() as conn:
        names = set(conn.execute(select(mailboxes.c.realname)).scalars())
    db.dispose()
    assert set(DB_VALUES.values()) <= names


# ------------------------------------------------- the stack's real rspamd: Message-IDs, users


def _scan_raw(stack, body: bytes, user: bytes) -> str:
    """/checkv2 over a plain socket: an HTTP client library would refuse these header bytes,
    rspamd takes them as Exim hands them over."""
    host, port = stack.worker_url.split("//", 1)[1].rsplit(":", 1)
    request = (
        b"POST /checkv2 HTTP/1.0\r\nFrom: a@b.example\r\nRcpt: c@d.example\r\n"
        b"IP: 192.0.2.44\r\nUser: " + user + b"\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])["action"]


@pytest.fixture(scope="module")
def scanned(stack) -> str:
    """Every header-safe hostile value scanned as Message-ID and user; returns the run's tag."""
    tag = uuid.uuid4().hex[:10]
    for value in VALUES.values():
        if any(c in value for c in "\r\n\x00") or len(value) > 200:
            continue
        raw = value.encode("utf-8", "surrogateescape")
        body = (
            b"From: a@b.example\r\nTo: c@d.example\r\nSubject: " + raw
            + b" HELPDESK-TEST-SPAM\r\nMessage-ID: <" + raw + f"-{tag}@{DOMAIN}>".encode()
            + b"\r\n\r\nGuten Tag\r\n"
        )  # fmt: skip
        assert _scan_raw(stack, body, raw + tag.encode()) == "reject"
    return tag


@pytest.mark.parametrize(
    "args",
    [["rspamd", "status", "--limit", "5000"], ["blocked", "--since", "1h"]],
    ids=["rspamd-status", "blocked"],
)
def test_the_stack_rspamd_history_is_terminal_safe(capsys, stack, scanned, args):
    config = ["--config", str(stack.config_path)]
    code, out, err = main([*config, *args]), *capsys.readouterr()
    assert code == 0, err
    _check_human(out, err, args[0])
    assert scanned in out
    code, out, err = main([*config, *args, "--json"]), *capsys.readouterr()
    assert code == 0, err
    assert_clean(out, where="--json")
    data = json.loads(out)
    rows = data["history"] if "history" in data else data["blocked"]
    users = {r["user"] for r in rows if scanned in (r["message_id"] or "")}
    # rspamd keeps users as given (cut at 31 bytes): bidi, zero-width, C1 come back exactly.
    assert "invoice\u202egpj.exe" + scanned in users
    assert "pay\u200bpal\ufeff\u2060" + scanned in users
    real = run_cli(*args, config=stack.config_path)
    assert real.returncode == 0, real.stderr
    _check_human(real.stdout, real.stderr, f"{args[0]} (process)")


@pytest.mark.parametrize("name", ["bidi", "c1", "osc52", "line-separators"])
def test_argparse_errors_quoting_an_argument_are_safe(capsys, name):
    # argparse quotes unrecognised arguments as they are, not as repr().
    with pytest.raises(SystemExit) as exited:
        main(["audit", VALUES[name]])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert "unrecognized arguments" in err
    assert_clean(out + err, where="argparse error")
