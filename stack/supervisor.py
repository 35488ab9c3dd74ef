"""The one long-lived process of the stack: parent of rspamd, Dovecot and Exim.

`launcher up` starts it detached; it starts the servers in order, waits until each answers,
writes `ready` (or `failed` with the reason) into the run folder, then waits for SIGTERM. On
SIGTERM it stops the servers in reverse order and wait()s for each, so nothing is left behind
as a zombie, and removes its pid file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stack.services import Plan, Service

READY_TIMEOUT = 90.0  # rspamd's first start compiles its hyperscan cache: ~10-15 s
STOP_TIMEOUT = 15.0


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def answers(service: Service) -> bool:
    """HTTP services are asked /ping (a bare connect makes rspamd log an error); others: connect."""
    if service.http_ping:
        return all(http_ok(u) for u in service.http_ping)
    return all(port_open(p) for p in service.ports)


def _tail(path: str, lines: int = 5) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class Supervisor:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.run = Path(plan.run_dir)
        self.children: list[tuple[Service, subprocess.Popen]] = []
        self.stopping = False

    def start_all(self) -> dict[str, float]:
        """Start every server at once (none needs another to start), then wait for each."""
        for service in self.plan.services:
            busy = [p for p in service.ports if port_open(p)]
            if busy:
                raise RuntimeError(
                    f"{service.name}: port {busy[0]} on 127.0.0.1 is already in use by another "
                    "program (set STACK_*_PORT to move the stack)"
                )
        started = time.monotonic()
        for service in self.plan.services:
            with open(service.log, "ab") as out:
                proc = subprocess.Popen(
                    service.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
                )
            self.children.append((service, proc))
        self._save_children()
        ready = {}
        for service, proc in self.children:
            self._wait_ready(service, proc)
            ready[service.name] = round(time.monotonic() - started, 2)
        return ready

    def _wait_ready(self, service: Service, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.stopping:
                raise RuntimeError("stopped while starting")
            code = proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"{service.name} exited with status {code} while starting: {_tail(service.log)}"
                )
            if answers(service):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{service.name} did not answer within {READY_TIMEOUT:.0f} s")

    def _save_children(self) -> None:
        data = [{"name": s.name, "pid": p.pid, "argv": s.argv} for s, p in self.children]
        (self.run / "children.json").write_text(json.dumps(data))

    def stop_all(self) -> None:
        """SIGTERM to all (Exim first), then wait for each; a server that hangs gets SIGKILL."""
        for _service, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        for service, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    print(f"{service.name} ignored SIGTERM, killing it", flush=True)
                    proc.kill()
                    proc.wait()
        self.children.clear()

    def watch(self) -> None:
        """Until SIGTERM: report a server that died (status shows it), reap it."""
        reported: set[str] = set()
        while not self.stopping:
            for service, proc in self.children:
                code = proc.poll()
                if code is not None and service.name not in reported:
                    reported.add(service.name)
                    print(f"{service.name} exited with status {code}", flush=True)
                    (self.run / f"{service.name}.exited").write_text(str(code))
            time.sleep(0.2)


def main(plan_path: str) -> int:
    plan = Plan.load(Path(plan_path))
    sup = Supervisor(plan)
    run = Path(plan.run_dir)

    def on_signal(signum, _frame) -> None:
        sup.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    (run / "supervisor.pid").write_text(str(os.getpid()))
    started = time.monotonic()
    try:
        ready = sup.start_all()
    except (RuntimeError, OSError) as exc:
        sup.stop_all()
        (run / "failed").write_text(str(exc))
        print(f"start failed: {exc}", flush=True)
        (run / "supervisor.pid").unlink(missing_ok=True)
        return 1
    (run / "ready").write_text(json.dumps(ready))
    print(f"ready after {time.monotonic() - started:.2f} s: {ready}", flush=True)
    sup.watch()
    sup.stop_all()
    (run / "supervisor.pid").unlink(missing_ok=True)
    (run / "ready").unlink(missing_ok=True)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
