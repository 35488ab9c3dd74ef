"""Where the stack keeps its state, which ports it uses, and the files it hands to others.

Everything lives under `.stack/` (git-ignored). Ports come from STACK_* environment variables;
passwords are generated once and kept in `.stack/`, so a restart keeps them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent

# (setting, environment variable, default)
PORTS = (
    ("submission", "STACK_SUBMISSION_PORT", 2587),
    ("inbound", "STACK_INBOUND_PORT", 2525),
    ("imap", "STACK_IMAP_PORT", 2143),
    ("pop3", "STACK_POP3_PORT", 2110),
    ("lmtp", "STACK_LMTP_PORT", 2424),
    ("rspamd_worker", "STACK_RSPAMD_WORKER_PORT", 11533),
    ("rspamd_controller", "STACK_RSPAMD_CONTROLLER_PORT", 11534),
    ("rspamd_controller2", "STACK_RSPAMD_CONTROLLER2_PORT", 11535),
)

DEFAULT_SUPPORT = "support"


@dataclass(frozen=True)
class DatabaseTarget:
    """The Mailcenter database as Dovecot and Exim need to see it."""

    url: str
    kind: str  # "sqlite" | "pgsql" | "mysql" (the names Dovecot and Exim use)
    path: str = ""  # sqlite only
    host: str = "127.0.0.1"
    port: int = 0
    name: str = ""
    user: str = ""
    password: str = ""

    def dovecot_connect(self) -> str:
        if self.kind == "sqlite":
            return self.path
        parts = [f"host={self.host}", f"port={self.port}", f"dbname={self.name}"]
        parts.append(f"user={self.user}")
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def exim_server(self) -> str:
        """pgsql_servers / mysql_servers value; Exim's list separator `:` needs doubling."""
        return f"{self.host}::{self.port}/{self.name}/{self.user}/{self.password}"


def parse_database_url(url: str) -> DatabaseTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path == ":memory:":
            raise ValueError("the stack needs an SQLite database file, not an in-memory one")
        return DatabaseTarget(url=url, kind="sqlite", path=str(Path(path).resolve()))
    kinds = {"postgresql": ("pgsql", 5432), "mysql": ("mysql", 3306), "mariadb": ("mysql", 3306)}
    if scheme not in kinds:
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r}")
    kind, port = kinds[scheme]
    return DatabaseTarget(
        url=url,
        kind=kind,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or port,
        name=unquote(parts.path.lstrip("/")),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


@dataclass(frozen=True)
class Settings:
    state: Path
    ports: dict[str, int]
    support: str
    database_url: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        state = Path(env.get("STACK_DIR") or REPO / ".stack").resolve()
        ports = {}
        for name, var, default in PORTS:
            raw = env.get(var, str(default))
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise ValueError(f"{var}={raw!r} is not a port number")
            ports[name] = int(raw)
        support = env.get("STACK_SUPPORT_CONTACT", DEFAULT_SUPPORT).strip() or DEFAULT_SUPPORT
        if not re.fullmatch(r"[\w .,@+()/-]{1,60}", support):
            raise ValueError("STACK_SUPPORT_CONTACT: use up to 60 plain characters, one line")
        url = env.get("DATABASE_URL") or f"sqlite:///{state / 'mailcenter.sqlite'}"
        return cls(state=state, ports=ports, support=support, database_url=url)

    @property
    def default_sqlite(self) -> Path:
        return self.state / "mailcenter.sqlite"

    # Folders and files under .stack/
    @property
    def log_dir(self) -> Path:
        return self.state / "log"

    @property
    def mainlog(self) -> Path:
        return self.log_dir / "mainlog"

    @property
    def capture_dir(self) -> Path:
        return self.state / "capture"

    @property
    def mail_dir(self) -> Path:
        return self.state / "mail"

    @property
    def sieve_dir(self) -> Path:
        return self.state / "sieve"

    @property
    def rspamd_maps(self) -> Path:
        return self.state / "rspamd" / "maps"

    @property
    def release_map(self) -> Path:
        return self.rspamd_maps / "helpdesk_release.map"

    @property
    def config_path(self) -> Path:
        return self.state / "helpdesk.toml"

    @property
    def env_path(self) -> Path:
        return self.state / "env"

    @property
    def dovecot_conf(self) -> Path:
        return self.state / "dovecot" / "dovecot.conf"

    @property
    def exim_conf(self) -> Path:
        return self.state / "exim" / "exim.conf"

    @property
    def password_file(self) -> Path:
        return self.state / "rspamd.password"

    @property
    def enable_password_file(self) -> Path:
        return self.state / "rspamd.enable_password"

    def controller_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rspamd_controller']}"

    def controller2_url(self) -> str:
        """The second controller (same rspamd, same map file): releases are saved on both."""
        return f"http://127.0.0.1:{self.ports['rspamd_controller2']}"

    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rspamd_worker']}"

    def block_message(self) -> str:
        return (
            "The E-Mail you sended has been blocked because it may contain SPAM. "
            f"Please contact {self.support}."
        )

    def env_values(self, password: str, enable_password: str) -> dict[str, str]:
        return {
            "HELPDESK_CONFIG": str(self.config_path),
            "DATABASE_URL": self.database_url,
            "RSPAMD_CONTROLLER": self.controller_url(),
            "RSPAMD_CONTROLLER2": self.controller2_url(),
            "RSPAMD_WORKER": self.worker_url(),
            "RSPAMD_PASSWORD": password,
            "RSPAMD_ENABLE_PASSWORD": enable_password,
            "RSPAMD_RELEASE_MAP": str(self.release_map),
            "SUBMISSION_PORT": str(self.ports["submission"]),
            "INBOUND_PORT": str(self.ports["inbound"]),
            "IMAP_PORT": str(self.ports["imap"]),
            "POP3_PORT": str(self.ports["pop3"]),
            "LMTP_ADDRESS": f"127.0.0.1:{self.ports['lmtp']}",
            "EXIM_MAINLOG": str(self.mainlog),
            "EXIM_CONF": str(self.exim_conf),
            "DOVECOT_CONF": str(self.dovecot_conf),
            "CAPTURE_DIR": str(self.capture_dir),
            "MAIL_DIR": str(self.mail_dir),
            "SIEVE_DIR": str(self.sieve_dir),
            "STACK_DIR": str(self.state),
        }


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace `path` with `text`, never readable by others on the way: the text goes to a
    0600 temporary file in the same folder, gets `mode`, and is renamed over the old file
    (which may have had a looser mode: it is replaced, not rewritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_or_create_secret(path: Path) -> str:
    """A random password kept in a 0600 file: created once, the same on every later start."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            if path.stat().st_mode & 0o077:
                write_private(path, value + "\n")
            return value
    value = secrets.token_urlsafe(18)
    write_private(path, value + "\n")
    return value


def write_env(path: Path, values: dict[str, str]) -> None:
    """`export KEY=VALUE` lines: `. .stack/env` is enough for `helpdesk` to find its config, and
    read_env() reads them back exactly."""
    lines = [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
    write_private(path, "\n".join(lines) + "\n")


def export_env(path: Path) -> None:
    """Rewrite an env file of an older launcher (bare KEY=VALUE lines, which `.` sets but does
    not export) with the same values; a current one is left alone."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not all(line.startswith("export ") for line in lines):
        write_env(path, read_env(path))


def read_env(path: Path) -> dict[str, str]:
    """The values of an env file, with or without `export` before each KEY=VALUE."""
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            parsed = shlex.split(value)
            values[key.strip().removeprefix("export ").strip()] = parsed[0] if parsed else ""
    return values


def render(template: Path, target: Path, values: dict[str, str], mode: int = 0o644) -> None:
    """Fill `@NAME@` placeholders; a placeholder left unfilled is a bug, not a silent blank.

    Configs may hold the database password: written through a 0600 file, `mode` set before
    the rename."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z][A-Z0-9_]+@", text)
    if leftover:
        raise ValueError(f"{template.name}: no value for {', '.join(sorted(set(leftover)))}")
    write_private(target, text, mode)
