"""Preparing one run of the stack: folders with the right owners, configs from templates,
secrets, a TLS certificate, and the command line of each server.

Ownership matters because each program drops to its own user: rspamd workers run as _rspamd,
Exim (started with -C) as Debian-exim, Dovecot delivers as the `mail` user.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stack.dns import service as dns_service
from stack.fail2ban import service as fail2ban_service
from stack.providers import port as providers_port
from stack.providers import service as providers_service
from stack.settings import (
    TEMPLATES,
    DatabaseTarget,
    Settings,
    parse_database_url,
    read_or_create_secret,
    render,
    write_private,
)
from stack.watcher import service as watch_service

# The release check in Exim's DATA ACL (stack/exim/exim.conf.in): each database's UTC now
# (the columns hold naive UTC), and what makes its UPDATE lookup answer: SQLite's lookup returns
# the rows of `RETURNING`, PostgreSQL's and MySQL's the number of rows the UPDATE changed.
EXIM_DB_NOW = {
    "sqlite": "datetime('now')",
    "pgsql": "(now() AT TIME ZONE 'UTC')",
    "mysql": "UTC_TIMESTAMP()",
}
EXIM_DB_RETURNING = {"sqlite": " RETURNING id", "pgsql": "", "mysql": ""}

RSPAMD_USER = "_rspamd"
EXIM_USER = "Debian-exim"
MAIL_USER = "mail"


@dataclass
class Service:
    """A server the supervisor starts, and the TCP ports that answer once it is ready."""

    name: str
    argv: list[str]
    ports: list[int]
    log: str
    http_ping: list[str] = field(default_factory=list)


@dataclass
class Plan:
    run_dir: str
    services: list[Service]

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Plan:
        data = json.loads(path.read_text())
        return cls(run_dir=data["run_dir"], services=[Service(**s) for s in data["services"]])


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _folder(path: Path, user: str = "root", mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    uid, gid = _ids(user)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


def _own_file(path: Path, user: str, mode: int) -> None:
    if not path.exists():
        path.touch()
    uid, gid = _ids(user)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def rspamd_hash(settings: Settings, name: str, password: str) -> str:
    """rspamd's own password hash, computed once per password and kept next to it (0600)."""
    cache = settings.state / f"rspamd.{name}.hash"
    if cache.exists():
        stored = cache.read_text().split()
        if len(stored) == 2 and stored[0] == _fingerprint(password):
            return stored[1]
    out = subprocess.run(
        ["rspamadm", "pw", "-q", "-p", password], capture_output=True, text=True, check=True
    )
    value = out.stdout.strip().splitlines()[-1]
    write_private(cache, f"{_fingerprint(password)} {value}\n")
    return value


def _fingerprint(password: str) -> str:
    import hashlib

    return hashlib.sha256(password.encode()).hexdigest()[:16]


def ensure_tls(settings: Settings) -> tuple[Path, Path]:
    """A self-signed certificate made at the first start, for STARTTLS on SMTP and IMAP."""
    tls = _folder(settings.state / "tls")
    cert, key = tls / "cert.pem", tls / "key.pem"
    if not (cert.exists() and key.exists()):
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                "/CN=mail.stack.test",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    _own_file(cert, "root", 0o644)
    _own_file(key, "root", 0o640)
    os.chown(key, 0, grp.getgrnam(EXIM_USER).gr_gid)
    return cert, key


def share_sqlite(db: DatabaseTarget) -> None:
    """Exim reads the SQLite file as Debian-exim and writes one thing: a release's use
    (`uses_left`). So: group read and write on the file, and its folder writable by Exim's group
    for SQLite's rollback journal, sticky so that Exim can remove only files of its own."""
    path = Path(db.path)
    if not path.exists():
        return
    gid = grp.getgrnam(EXIM_USER).gr_gid
    os.chown(path, os.stat(path).st_uid, gid)
    # It holds password hashes: readable by its owner and Exim's group, nobody else.
    os.chmod(path, (os.stat(path).st_mode & 0o7770) | 0o060)
    folder = path.parent
    os.chown(folder, os.stat(folder).st_uid, gid)
    os.chmod(folder, os.stat(folder).st_mode | 0o1070)
    for folder in path.parents:
        mode = os.stat(folder).st_mode
        if not mode & 0o001:
            os.chmod(folder, mode | 0o001)
        if folder == Path("/"):
            break


def new_run_dir(settings: Settings) -> Path:
    """A fresh folder per run (Dovecot's base_dir among others); older ones are removed."""
    runs = settings.state / "run"
    runs.mkdir(parents=True, exist_ok=True)
    for old in runs.iterdir():
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    run = runs / time.strftime("%Y%m%d-%H%M%S")
    return _folder(run)


def prepare(settings: Settings, exim_auth: str = "sql") -> Plan:
    """Write every config for one run and return what to start, in order."""
    state = _folder(settings.state)
    db = parse_database_url(settings.database_url)
    run = new_run_dir(settings)
    log = _folder(settings.log_dir, EXIM_USER, 0o755)
    password = read_or_create_secret(settings.password_file)
    enable_password = read_or_create_secret(settings.enable_password_file)
    cert, key = ensure_tls(settings)
    mail_uid, mail_gid = _ids(MAIL_USER)

    rspamd = _folder(state / "rspamd")
    rspamd_conf = _folder(rspamd / "conf")
    rspamd_db = _folder(rspamd / "db", RSPAMD_USER)
    _folder(settings.rspamd_maps, RSPAMD_USER)
    hs_cache = _folder(state / "cache" / "rspamd-hs", RSPAMD_USER)
    rspamd_run = _folder(run / "rspamd", RSPAMD_USER)
    if not settings.release_map.exists():
        settings.release_map.write_text("# user|message-id lines written by the helpdesk\n")
    _own_file(settings.release_map, RSPAMD_USER, 0o644)
    _own_file(settings.log_dir / "rspamd.log", RSPAMD_USER, 0o644)

    exim_dir = _folder(state / "exim")
    _folder(exim_dir / "spool", EXIM_USER, 0o750)
    _folder(settings.capture_dir, EXIM_USER, 0o755)
    exim_run = _folder(run / "exim", EXIM_USER)
    _folder(settings.mail_dir, MAIL_USER, 0o755)
    _folder(settings.sieve_dir, MAIL_USER, 0o755)
    dovecot_base = run / "dovecot"
    # POP3 for the login timeline's "still on POP3" case (STACK_POP3_PORT, default 2110).
    pop3_port = settings.ports.get("pop3") or int(os.environ.get("STACK_POP3_PORT") or 2110)
    # Exim's port for Dovecot's redirects and auto-replies (STACK_SIEVE_RELAY_PORT, default 2526).
    sieve_relay_port = int(os.environ.get("STACK_SIEVE_RELAY_PORT") or 2526)

    values = {
        "STATE_DIR": str(state),
        "RUN_DIR": str(rspamd_run),
        "LOG_DIR": str(log),
        "CAPTURE_DIR": str(settings.capture_dir),
        "MAIL_DIR": str(settings.mail_dir),
        "SIEVE_DIR": str(settings.sieve_dir),
        "TLS_CERT": str(cert),
        "TLS_KEY": str(key),
        "SUBMISSION_PORT": str(settings.ports["submission"]),
        "INBOUND_PORT": str(settings.ports["inbound"]),
        "IMAP_PORT": str(settings.ports["imap"]),
        "LMTP_PORT": str(settings.ports["lmtp"]),
        "POP3_PORT": str(pop3_port),
        "SIEVE_RELAY_PORT": str(sieve_relay_port),
        "PROVIDERS_PORT": str(providers_port()),
        "RSPAMD_WORKER_PORT": str(settings.ports["rspamd_worker"]),
        "RSPAMD_CONTROLLER_PORT": str(settings.ports["rspamd_controller"]),
        "RSPAMD_CONTROLLER2_PORT": str(settings.ports["rspamd_controller2"]),
        "RSPAMD_PASSWORD_HASH": rspamd_hash(settings, "password", password),
        "RSPAMD_ENABLE_PASSWORD_HASH": rspamd_hash(settings, "enable_password", enable_password),
        "RSPAMD_HS_CACHE": str(hs_cache),
        "RSPAMD_RELEASE_MAP": str(settings.release_map),
        "DB_KIND": db.kind,
        "DOVECOT_CONNECT": db.dovecot_connect(),
        "DOVECOT_SQL_CONF": str(settings.dovecot_conf.parent / "sql.conf.ext"),
        "DOVECOT_BASE_DIR": str(dovecot_base),
        "MAIL_USER": MAIL_USER,
        "MAIL_GROUP": grp.getgrgid(mail_gid).gr_name,
        "MAIL_UID": str(mail_uid),
        "MAIL_GID": str(mail_gid),
        "EXIM_SPOOL": str(exim_dir / "spool"),
        "SQLITE_FILE": db.path,
        "EXIM_DB_SERVER": db.exim_server() if db.kind != "sqlite" else "",
        "DB_NOW": EXIM_DB_NOW[db.kind],
        "DB_RETURNING": EXIM_DB_RETURNING[db.kind],
        "EXIM_MACROS": f"STACK_{db.kind.upper()} = 1\nSTACK_AUTH_{exim_auth.upper()} = 1",
        "SUPPORT_CONTACT": settings.support,
        "BLOCK_MESSAGE": settings.block_message(),
    }

    src = TEMPLATES / "rspamd"
    rspamd_main = rspamd_conf / "rspamd.conf"
    render(src / "rspamd.conf.in", rspamd_main, values, 0o640)
    render(src / "rspamd.conf.override.in", rspamd_conf / "rspamd.conf.override", values)
    render(src / "rspamd.local.lua.in", rspamd_conf / "rspamd.local.lua", values)
    render(src / "helpdesk_release.lua.in", rspamd_conf / "helpdesk_release.lua", values)
    for local in sorted((src / "local.d").iterdir()):
        render(local, rspamd_conf / "local.d" / local.name, values)
    os.chown(rspamd_main, 0, grp.getgrnam(RSPAMD_USER).gr_gid)

    src = TEMPLATES / "dovecot"
    dovecot_dir = _folder(settings.dovecot_conf.parent)
    render(src / "dovecot.conf.in", settings.dovecot_conf, values)
    render(src / "sql.conf.ext.in", dovecot_dir / "sql.conf.ext", values, 0o600)
    # The Sieve part belongs to the spam-ladder feature: every stack/dovecot/sieve*.in becomes
    # .stack/dovecot-sieve*.conf..., root-only (it may hold the database password).
    for template in sorted(src.glob("sieve*.in")):
        render(template, state / f"dovecot-{template.name.removesuffix('.in')}", values, 0o600)
    # The last_login plugin's config and dict map, the same way (last-login*.in, docs/logins.md).
    for template in sorted(src.glob("last-login*.in")):
        render(template, state / f"dovecot-{template.name.removesuffix('.in')}", values, 0o600)

    render(TEMPLATES / "exim" / "exim.conf.in", settings.exim_conf, values, 0o640)
    os.chown(settings.exim_conf, 0, grp.getgrnam(EXIM_USER).gr_gid)
    if db.kind == "sqlite":
        share_sqlite(db)

    ports = settings.ports
    services = [
        Service(
            name="rspamd",
            argv=[
                "rspamd",
                "-f",
                "-u",
                RSPAMD_USER,
                "-g",
                RSPAMD_USER,
                "-c",
                str(rspamd_main),
                f"--var=LOCAL_CONFDIR={rspamd_conf}",
                f"--var=DBDIR={rspamd_db}",
                f"--var=RUNDIR={rspamd_run}",
                f"--var=LOGDIR={log}",
            ],
            ports=[ports["rspamd_worker"], ports["rspamd_controller"], ports["rspamd_controller2"]],
            log=str(log / "rspamd.out"),
            http_ping=[
                settings.worker_url() + "/ping",
                settings.controller_url() + "/ping",
                settings.controller2_url() + "/ping",
            ],
        ),
        Service(
            name="dovecot",
            argv=["dovecot", "-F", "-c", str(settings.dovecot_conf)],
            ports=[ports["imap"], pop3_port, ports["lmtp"]],
            log=str(log / "dovecot.out"),
        ),
        Service(
            name="exim",
            argv=[
                "exim",
                "-C",
                str(settings.exim_conf),
                "-bdf",
                "-q30s",
                "-oP",
                str(exim_run / "exim.pid"),
            ],
            ports=[ports["submission"], ports["inbound"], sieve_relay_port],
            log=str(log / "exim.out"),
        ),
    ]
    dns = dns_service(settings)  # the test blocklists for `helpdesk reputation` (stack/dns.py)
    if dns is not None:
        services.append(dns)
    jails = fail2ban_service(settings)  # bans on the stack's own logs (stack/fail2ban.py)
    if jails is not None:
        services.append(jails)
    services.append(providers_service(settings))  # the big providers' block replies
    watcher = watch_service(settings)  # helpdesk watch, only with STACK_WATCH=1 (stack/watcher.py)
    if watcher is not None:
        services.append(watcher)
    return Plan(run_dir=str(run), services=services)
