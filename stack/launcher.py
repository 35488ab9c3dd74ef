"""Start, stop and inspect the local mail stack: `python -m stack.launcher up|down|status|packages`.

`up` is idempotent (a running, healthy stack is left alone); `down` leaves no process behind.
See stack/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python stack/launcher.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack import dns, fail2ban, kick, sieve_rules
from stack.services import Plan, prepare
from stack.settings import (
    REPO,
    Settings,
    export_env,
    parse_database_url,
    write_env,
    write_private,
)
from stack.supervisor import answers

PACKAGES = [
    "rspamd",
    "exim4-daemon-heavy",
    "dovecot-core",
    "dovecot-imapd",
    "dovecot-lmtpd",
    "dovecot-sieve",
    "dovecot-sqlite",
    "dovecot-pgsql",
    "dovecot-mysql",
    "dovecot-pop3d",
    "openssl",
    # Installed for their binaries only: the stack runs its own instances under .stack/, and
    # their system services are never started (see install_packages).
    "fail2ban",
    "dnsmasq-base",
]
POLICY_RC = Path("/usr/sbin/policy-rc.d")
START_TIMEOUT = 120.0


class StackError(Exception):
    """A reason the stack cannot start, stop or be used: one line for the user."""


def missing_packages() -> list[str]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\n", *PACKAGES],
        capture_output=True,
        text=True,
    )
    installed = {
        line.split()[0] for line in out.stdout.splitlines() if line.endswith("install ok installed")
    }
    return [name for name in PACKAGES if name not in installed]


def install_packages(log: Path) -> None:
    """apt-get's output goes to `log`, named in the one line a failure prints."""
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise StackError(f"packages missing ({' '.join(missing)}) and not root to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"installing {' '.join(missing)} (apt-get output: {log}) ...", file=sys.stderr)
    log.parent.mkdir(parents=True, exist_ok=True)
    # Debian's maintainer scripts ask policy-rc.d before starting a service: 101 means "not
    # now". Without it fail2ban's postinst would start an sshd jail that bans with iptables.
    own_policy = not POLICY_RC.exists()
    if own_policy:
        POLICY_RC.write_text("#!/bin/sh\n# the helpdesk stack, during apt-get only\nexit 101\n")
        POLICY_RC.chmod(0o755)
    try:
        with open(log, "ab") as out:
            for command in (
                ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            ):
                done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT)
                if done.returncode != 0:
                    raise StackError(f"{' '.join(command[:2])} failed; see {log}")
    finally:
        if own_policy:
            POLICY_RC.unlink(missing_ok=True)
    if "fail2ban" in missing:
        fail2ban.keep_system_service_off()
    # Debian's postinst may start the packaged daemons on the standard ports. The stack uses its
    # own ports and configs and does not need them; they are left as the system has them.


def check_versions() -> None:
    """The Dovecot templates are 2.3 syntax; 2.4 (Debian 13) changed the configuration language."""
    out = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    version = out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else ""
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    if len(parts) == 2 and tuple(parts) >= (2, 4):
        raise StackError(
            f"Dovecot {version} is installed; stack/dovecot/*.in are written for Dovecot 2.3"
        )


def _run_dir(settings: Settings) -> Path | None:
    runs = settings.state / "run"
    if not runs.is_dir():
        return None
    dirs = sorted(p for p in runs.iterdir() if p.is_dir())
    return dirs[-1] if dirs else None


def _supervisor_pid(settings: Settings) -> int | None:
    run = _run_dir(settings)
    if run is None or not (run / "supervisor.pid").exists():
        return None
    try:
        pid = int((run / "supervisor.pid").read_text())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return None
    return pid


def status(settings: Settings) -> dict:
    """What runs and what answers. `healthy` means every port answers for a live supervisor."""
    run = _run_dir(settings)
    result: dict = {"running": False, "healthy": False, "services": {}}
    pid = _supervisor_pid(settings)
    if pid is None or run is None:
        return result
    result["running"] = True
    result["supervisor_pid"] = pid
    plan = Plan.load(run / "plan.json")
    if (run / "fingerprint.json").exists():
        result["fingerprint"] = _without_secrets(json.loads((run / "fingerprint.json").read_text()))
    healthy = (run / "ready").exists()
    for service in plan.services:
        answering = answers(service)
        healthy = healthy and answering
        result["services"][service.name] = {"ports": service.ports, "answering": answering}
    result["healthy"] = healthy
    return result


def _fingerprint(settings: Settings, exim_auth: str) -> dict:
    """What a running stack must match to be reused: database, ports, texts, templates."""
    here = Path(__file__).resolve().parent
    templates = [
        p for d in ("rspamd", "dovecot", "exim") for p in (here / d).rglob("*") if p.is_file()
    ]
    newest = max((p.stat().st_mtime for p in templates), default=0.0)
    return {
        **_database_fingerprint(settings.database_url),
        "ports": settings.ports,
        "support": settings.support,
        "exim_auth": exim_auth,
        "templates": newest,
        **dns.fingerprint(),
        **fail2ban.fingerprint(settings),
        "watch": os.environ.get("STACK_WATCH", ""),
    }


def _database_fingerprint(url: str) -> dict:
    """The database URL as the fingerprint keeps it: shown without its secrets, and a digest
    of the whole URL, so that a changed password still means "other settings"."""
    from helpdesk.config import mask_secrets, url_secrets

    return {
        "database": mask_secrets(url, url_secrets(url)),
        "database_digest": hashlib.sha256(url.encode()).hexdigest()[:16],
    }


def _without_secrets(fingerprint: dict) -> dict:
    """A fingerprint written before it left the password out reads as a current one."""
    if "database_url" in fingerprint:
        fingerprint = dict(fingerprint)
        fingerprint.update(_database_fingerprint(fingerprint.pop("database_url")))
    return fingerprint


def ensure_database(settings: Settings) -> None:
    """The default SQLite database is created (or brought to the current schema: Exim's
    release check needs outbound_releases.uses_left) with `helpdesk db init`; others must
    exist and have the columns Exim's queries read."""
    target = parse_database_url(settings.database_url)
    if target.kind == "sqlite" and Path(target.path) == settings.default_sqlite:
        helpdesk = REPO / ".venv" / "bin" / "helpdesk"
        env = dict(os.environ, HELPDESK_CONFIG=str(settings.config_path))
        env["DATABASE_URL"] = settings.database_url
        out = subprocess.run([str(helpdesk), "db", "init"], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise StackError(f"helpdesk db init failed: {out.stderr.strip()[-300:]}")
        return
    _check_schema(settings.database_url)


def _check_schema(url: str) -> None:
    from helpdesk.errors import HelpdeskError
    from helpdesk.mailcenter.db import Database

    db = Database(url)
    try:
        with db.connect() as conn:
            from sqlalchemy import text

            conn.execute(text("SELECT address FROM mailboxes WHERE 1 = 0"))
            conn.execute(text("SELECT digest, uses_left FROM outbound_releases WHERE 1 = 0"))
    except HelpdeskError as exc:
        raise StackError(f"database not usable ({exc}); run `helpdesk db init` first") from None
    finally:
        db.dispose()


def write_helpdesk_config(settings: Settings) -> None:
    """The helpdesk.toml that points the helpdesk at this stack (no secret inline)."""
    lines = [
        "# Written by stack/launcher.py for the local stack; rewritten on every start.",
        "[database]",
        f"url = {json.dumps(settings.database_url)}",
        "",
        "[rspamd]",
        f"release_map = {json.dumps(str(settings.release_map))}",
        # Two controllers, as on a cluster: the release map is saved on both.
        "controllers = [",
        *(
            f"  {{ name = {json.dumps(name)}, url = {json.dumps(url)}, "
            f"password_file = {json.dumps(str(settings.password_file))}, "
            f"enable_password_file = {json.dumps(str(settings.enable_password_file))} }},"
            for name, url in (
                ("rspamd1", settings.controller_url()),
                ("rspamd2", settings.controller2_url()),
            )
        ),
        "]",
        "",
        "[sendlog]",
        f"paths = [{json.dumps(str(settings.mainlog))}]",
        "",
        # Exim's own ratelimit counters, for `helpdesk limits show`.
        "[limits]",
        f"exim_spool = {json.dumps(str(settings.state / 'exim' / 'spool'))}",
        "",
        *dns.config_lines(settings),
        *fail2ban.config_lines(settings),
        *kick.config_lines(settings),
        *sieve_rules.config_lines(settings),
    ]
    write_private(settings.config_path, "\n".join(lines))


def up(settings: Settings, *, install: bool = True, exim_auth: str = "sql") -> dict:
    if os.geteuid() != 0:
        raise StackError(
            "the stack needs root (rspamd, Dovecot and Exim switch to their own users)"
        )
    wanted = _fingerprint(settings, exim_auth)
    current = status(settings)
    if current["healthy"] and current.get("fingerprint") == wanted:
        run = _run_dir(settings)
        written = run / "fingerprint.json" if run is not None else None
        if written is not None and written.exists() and written.stat().st_mode & 0o077:
            # Written by an older launcher: readable by all, with the password in the URL.
            write_private(written, json.dumps(wanted))
        if settings.env_path.exists():
            export_env(settings.env_path)
        return {"started": False, **current}
    if current["running"]:
        why = "does not answer" if not current["healthy"] else "has other settings"
        print(f"a stack runs but {why}: restarting it", file=sys.stderr)
        down(settings)
    if install:
        install_packages(settings.log_dir / "apt.log")
    else:
        missing = missing_packages()
        if missing:
            raise StackError(f"packages missing: {' '.join(missing)} (run `make stack-packages`)")
    check_versions()
    started = time.monotonic()
    write_helpdesk_config(settings)
    ensure_database(settings)
    plan = prepare(settings, exim_auth=exim_auth)
    run = Path(plan.run_dir)
    plan.dump(run / "plan.json")
    write_private(run / "fingerprint.json", json.dumps(wanted))
    log = open(settings.log_dir / "launcher.log", "ab")  # noqa: SIM115 (handed to the child)
    with log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stack.supervisor", str(run / "plan.json")],
            cwd=str(Path(__file__).resolve().parent.parent),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if (run / "ready").exists():
            break
        if (run / "failed").exists() or proc.poll() is not None:
            proc.wait()
            reason = (run / "failed").read_text() if (run / "failed").exists() else "see log"
            raise StackError(f"could not start: {reason}")
        time.sleep(0.05)
    else:
        down(settings)
        raise StackError(f"could not start within {START_TIMEOUT:.0f} s")
    password = settings.password_file.read_text().strip()
    enable = settings.enable_password_file.read_text().strip()
    write_env(settings.env_path, {**settings.env_values(password, enable), **dns.env_values()})
    return {"started": True, "seconds": round(time.monotonic() - started, 2), **status(settings)}


def down(settings: Settings) -> dict:
    """Stop the supervisor (which stops and reaps the servers); then make sure of it."""
    run = _run_dir(settings)
    pid = _supervisor_pid(settings)
    stopped = False
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        stopped = True
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    leftovers = _leftovers(run) if run else []
    for child in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    if run is not None and pid is not None:
        # anything still in the supervisor's session (e.g. an Exim delivery child)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return {"stopped": stopped, "killed_leftovers": leftovers}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose (its parent is gone; init reaps it)
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _leftovers(run: Path) -> list[int]:
    """Servers from children.json that still run with the command line they were started with."""
    path = run / "children.json"
    if not path.exists():
        return []
    found = []
    for child in json.loads(path.read_text()):
        pid = child["pid"]
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if _alive(pid) and cmdline and cmdline[0].decode(errors="replace") == child["argv"][0]:
            found.append(pid)
    return found


@contextlib.contextmanager
def _exclusive(settings: Settings):
    """One `up` or `down` at a time: test sessions started side by side must not race."""
    settings.state.mkdir(parents=True, exist_ok=True)
    with open(settings.state / "launcher.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.launcher", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "down", "status", "packages"])
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument(
        "--exim-auth",
        choices=["sql", "dovecot"],
        default=os.environ.get("STACK_EXIM_AUTH", "sql"),
        help="Exim checks passwords itself (crypteq, default) or asks Dovecot",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.action == "packages":
            missing = missing_packages()
            if missing and os.geteuid() != 0:
                # `make test` depends on this: without root the stack tests skip (CI: fail)
                print(f"stack: not root, cannot install: {' '.join(missing)}", file=sys.stderr)
                return 0
            install_packages(settings.log_dir / "apt.log")
            print("stack packages: all installed")
            return 0
        if args.action == "up":
            with _exclusive(settings):
                result = up(settings, install=not args.no_install, exim_auth=args.exim_auth)
            if result["started"]:
                print(f"stack up in {result['seconds']} s; environment: {settings.env_path}")
            else:
                print(f"stack already running; environment: {settings.env_path}")
            return 0
        if args.action == "down":
            with _exclusive(settings):
                result = down(settings)
            print("stack stopped" if result["stopped"] else "stack was not running")
            return 0
        result = status(settings)
        print(json.dumps(result, indent=2))
        return 0 if result["healthy"] else 3
    except (StackError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
