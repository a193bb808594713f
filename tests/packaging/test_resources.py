"""The shipped resources are valid: desktop entry, AppStream metainfo, icons, and the locator
that finds them in a checkout, an installed wheel and a PyInstaller bundle."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the icon checks use Qt, headless

from photomgr import resources
from photomgr.resources import APP_ID, icon_files, resource_path, resources_dir

DESKTOP = f"{APP_ID}.desktop"
METAINFO = f"{APP_ID}.metainfo.xml"
ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512]


def test_desktop_entry_keys() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(resource_path(DESKTOP), encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "photomgr"
    assert entry["Exec"] == "photomgr"  # install-desktop.sh rewrites it to the bundle's path
    assert entry["Icon"] == APP_ID  # the name the icons are installed under
    assert entry["Terminal"] == "false"
    assert "Photography" in entry["Categories"].split(";")


def test_desktop_entry_validates() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    result = subprocess.run([tool, str(resource_path(DESKTOP))], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_metainfo_names_the_desktop_entry() -> None:
    root = ET.parse(resource_path(METAINFO)).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP
    assert root.findtext("provides/binary") == "photomgr"


def test_metainfo_validates() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian package appstream)")
    # --no-net: the check must not depend on a network; infos (such as a tag newer than this
    # appstream release knows) are allowed, warnings and errors are not.
    result = subprocess.run([tool, "validate", "--no-net", str(resource_path(METAINFO))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W:" not in result.stdout and "E:" not in result.stdout, result.stdout


def test_every_icon_size_loads_at_its_size() -> None:
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QApplication

    # A widgets QApplication, the kind pytest-qt's qapp reuses: one Qt app per process.
    _ = QApplication.instance() or QApplication(sys.argv[:1])
    files = icon_files()
    assert [int(p.stem.split("-")[1]) for p in files] == ICON_SIZES
    for path in files:
        image = QImage(str(path))
        assert not image.isNull(), path
        size = int(path.stem.split("-")[1])
        assert (image.width(), image.height()) == (size, size), path
        assert image.hasAlphaChannel(), path
    assert QSvgRenderer(str(resource_path("icons/photomgr.svg"))).isValid()


def test_missing_resource_names_the_file() -> None:
    with pytest.raises(FileNotFoundError, match=r"no-such-model\.safetensors"):
        resource_path("no-such-model.safetensors")


def test_bundle_folder_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a PyInstaller bundle the resources sit under sys._MEIPASS, ahead of any checkout."""
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    (tmp_path / "resources" / "model.bin").write_bytes(b"x")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"
    assert resource_path("model.bin") == tmp_path / "resources" / "model.bin"


def test_no_resources_anywhere_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_PACKAGE", tmp_path / "photomgr")
    with pytest.raises(FileNotFoundError, match="reinstall photomgr"):
        resources_dir()
    assert icon_files() == []


def test_wheel_mapping_points_at_the_resources_folder() -> None:
    """pyproject packages photomgr/_resources; it must be the top-level resources/ folder."""
    link = Path(resources.__file__).parent / "_resources"
    repo_resources = Path(resources.__file__).parent.parent / "resources"
    assert link.is_symlink() and link.resolve() == repo_resources.resolve()
