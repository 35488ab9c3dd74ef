"""Running the real `sievec` and `sieve-test` on generated scripts (tests only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

EXTENSIONS = "+editheader"


def require_tools() -> None:
    missing = [tool for tool in ("sievec", "sieve-test") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (Debian package dovecot-sieve)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Outcome:
    folders: set[str] = field(default_factory=set)
    redirects: list[str] = field(default_factory=list)
    discarded: bool = False


class SieveBench:
    """A world-readable scratch folder: as root, sieve-test drops to nobody to run a script."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="helpdesk-sieve-"))
        self.dir.chmod(0o777)
        uid = 65534 if os.getuid() == 0 else os.getuid()
        gid = 65534 if os.getuid() == 0 else os.getgid()
        self.conf = self._write(
            "dovecot.conf",
            f"mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = 1\n"
            f"mail_location = maildir:{self.dir}/Maildir\n"
            f"plugin {{\n  sieve_extensions = {EXTENSIONS}\n}}\n",
        )
        self.count = 0

    def _write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        path.chmod(0o644)
        return path

    def compile(self, script: str) -> subprocess.CompletedProcess:
        self.count += 1
        path = self._write(f"s{self.count}.sieve", script)
        return subprocess.run(
            ["sievec", "-c", str(self.conf), "-x", EXTENSIONS, str(path), str(path) + ".svbin"],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def run(
        self,
        script: str,
        *,
        score: str | None,
        sender: str = "someone@sender.example",
        subject: str = "Hello",
        extra_headers: str = "",
    ) -> Outcome:
        self.count += 1
        script_path = self._write(f"r{self.count}.sieve", script)
        headers = f"From: {sender}\nTo: alice@example.org\nSubject: {subject}\n"
        if score is not None:
            headers += f"X-Spam-Score-Int: {score}\n"
        message = self._write(
            f"m{self.count}.eml",
            headers + extra_headers + f"Message-ID: <{self.count}@t>\n\nbody\n",
        )
        result = subprocess.run(
            [
                "sieve-test",
                "-c",
                str(self.conf),
                "-x",
                EXTENSIONS,
                "-f",
                sender,
                "-a",
                "alice@example.org",
                "-r",
                "alice@example.org",
                str(script_path),
                str(message),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return parse_outcome(result.stdout)

    def execute(self, script: str, *, score: str, subject: str = "Hello") -> str:
        """Really deliver into the scratch Maildir; returns the stored message."""
        self.count += 1
        script_path = self._write(f"e{self.count}.sieve", script)
        message = self._write(
            f"x{self.count}.eml",
            f"From: a@b.example\nTo: alice@example.org\nSubject: {subject}\n"
            f"X-Spam-Score-Int: {score}\nMessage-ID: <x{self.count}@t>\n\nbody\n",
        )
        result = subprocess.run(
            [
                "sieve-test",
                "-c",
                str(self.conf),
                "-x",
                EXTENSIONS,
                "-e",
                str(script_path),
                str(message),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        stored = sorted((self.dir / "Maildir").rglob("new/*"), key=lambda p: p.stat().st_mtime)
        return stored[-1].read_text()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_outcome(text: str) -> Outcome:
    outcome = Outcome()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("* store message in folder:"):
            outcome.folders.add(line.split(":", 1)[1].strip())
        elif line.startswith("* redirect message to:"):
            outcome.redirects.append(line.split(":", 1)[1].strip().strip("<>"))
        elif line == "* discard":
            outcome.discarded = True
    return outcome
