"""A `[sieve] rules_command` over a folder of script files, for the database tests of the sweep
(the stack's tests use the real wrapper, stack/sieve_rules.py, with doveadm):

    python tests/rules_dir.py FOLDER list|get|stat|deactivate ADDRESS [NAME]

FOLDER/ADDRESS/NAME.sieve are the scripts, FOLDER/ADDRESS/active names the active one.
"""

from __future__ import annotations

import sys
from pathlib import Path


def put(folder: Path, address: str, name: str, text: str, *, active: bool = True) -> None:
    home = folder / address
    home.mkdir(parents=True, exist_ok=True)
    (home / f"{name}.sieve").write_text(text)
    if active:
        (home / "active").write_text(name)


def command(folder: Path) -> str:
    """The TOML value of rules_command."""
    return f'["{sys.executable}", "{Path(__file__).resolve()}", "{folder}"]'


def main(argv: list[str]) -> int:
    folder, verb, address, *rest = argv
    home = Path(folder) / address
    active_file = home / "active"
    active = active_file.read_text() if active_file.exists() else ""
    if verb == "list":
        for script in sorted(home.glob("*.sieve")) if home.exists() else []:
            print(script.stem + (" ACTIVE" if script.stem == active else ""))
    elif verb == "get":
        sys.stdout.write((home / f"{rest[0]}.sieve").read_text())
    elif verb == "stat":
        print(int((home / f"{rest[0]}.sieve").stat().st_mtime))
    elif verb == "deactivate":
        active_file.unlink(missing_ok=True)
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
