"""The built package carries its compiled German catalog and finds it once installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

from tests.conftest import ROOT

# What the build reads: the package sources, the .po files and the build scripts, no .mo file.
SOURCES = ("helpdesk", "screens", "pyproject.toml", "setup.py", "catalogs.py", "MANIFEST.in")


def _copy_without_compiled(target):
    for name in (*SOURCES, "README.md"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, target / name, ignore=shutil.ignore_patterns("*.mo", "__pycache__")
            )
        else:
            shutil.copy2(source, target / name)


def test_the_wheel_compiles_the_german_catalog_and_the_installed_package_finds_it(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    _copy_without_compiled(source)
    assert not list(source.rglob("*.mo"))
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            ".",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        catalogs = [n for n in archive.namelist() if n.endswith(".mo")]
    assert "helpdesk/locale/de/LC_MESSAGES/textual.mo" in catalogs, catalogs
    with zipfile.ZipFile(wheel) as archive:
        # The package's other data: without it an installed copy breaks at its first use.
        assert "helpdesk/passwords/data/german-common.txt" in archive.namelist()

    target = tmp_path / "installed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    probe = (
        "import helpdesk.i18n as i, sys; i.set_language('de');"
        "print(i.LOCALE_DIR); print(len(i.catalog_files('de'))); print(i._('Quit'))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    where, count, word = shown.stdout.splitlines()
    # The installed copy, not the working tree (which an editable install also offers).
    assert where.startswith(str(target)), where
    assert int(count) >= 1
    assert word == "Beenden"
