"""The built package carries its compiled German catalog and finds it once installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
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


def test_the_sdist_carries_the_po_files_and_no_compiled_catalog(tmp_path):
    # A wheel built from the sdist (as a distribution's packager does) compiles them itself.
    source = tmp_path / "source"
    source.mkdir()
    _copy_without_compiled(source)
    made = subprocess.run(
        [sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "sdist")],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    (sdist,) = (tmp_path / "sdist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert any(n.endswith("helpdesk/locale/de/LC_MESSAGES/screens.po") for n in names), names
    assert any(n.endswith("/catalogs.py") for n in names)
    assert not [n for n in names if n.endswith(".mo")]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "w"), sdist],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "w").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "helpdesk/locale/de/LC_MESSAGES/screens.mo" in archive.namelist()


def test_no_compiled_catalog_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert tracked.returncode == 0 and tracked.stdout == ""
