"""packaging/install-desktop.sh puts the app where desktops look; uninstall removes exactly that.

Runs the real scripts against a stand-in bundle (a folder with a `photomgr` executable), with
HOME and XDG_DATA_HOME in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from photomgr.resources import APP_ID

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "packaging" / "install-desktop.sh"
UNINSTALL = REPO / "packaging" / "uninstall-desktop.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the install scripts need bash")


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _folders(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir() and not p.is_symlink()}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    # Things that are not ours and must survive: the photo library, another app's entry.
    (home / "data" / "photomgr" / "library").mkdir(parents=True)
    (home / "data" / "photomgr" / "library" / "library.db").write_text("db")
    (home / "data" / "applications").mkdir(parents=True)
    (home / "data" / "applications" / "other.desktop").write_text("[Desktop Entry]\n")
    return home


def _run(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "PATH": os.environ["PATH"]}
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def _bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "dist" / "photomgr"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "lib.so").write_bytes(b"\0")
    exe = bundle / "photomgr"
    exe.write_text("#!/bin/sh\necho photomgr-bundle \"$@\"\n")
    exe.chmod(0o755)
    return bundle


def test_install_then_uninstall(tmp_path: Path, home: Path) -> None:
    before, folders_before = _files(home), _folders(home)
    result = _run(INSTALL, home, str(_bundle(tmp_path)))
    assert result.returncode == 0, result.stderr

    data, app = home / "data", home / ".local" / "lib" / "photomgr"
    entry = (data / "applications" / f"{APP_ID}.desktop").read_text()
    assert f"Exec={app}/bundle/photomgr\n" in entry  # absolute: ~/.local/bin may not be on PATH
    assert f"Icon={APP_ID}\n" in entry
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    launcher = home / ".local" / "bin" / "photomgr"
    out = subprocess.run([str(launcher), "index"], capture_output=True, text=True, check=True).stdout
    assert out == "photomgr-bundle index\n"
    manifest = (app / "install-manifest.txt").read_text().splitlines()
    installed = [line for line in manifest if not line.endswith("/")]
    assert len(installed) == 1 + 1 + 1 + 8 + 1 + 1  # bundle, launcher, entry, PNGs, SVG, metainfo
    created = {line.rstrip("/") for line in manifest if line.endswith("/")}
    assert str(data / "icons" / "hicolor" / "16x16" / "apps") in created
    assert str(data / "applications") not in created  # it was there before: not ours to remove

    result = _run(UNINSTALL, home)
    assert result.returncode == 0, result.stderr
    assert _files(home) == before  # exactly what was installed is gone; the library is intact
    assert _folders(home) == folders_before  # and so are the folders it made, and no other
    assert (home / "data" / "photomgr" / "library" / "library.db").read_text() == "db"
    assert not app.exists()


def test_reinstall_replaces_and_refuses_a_foreign_launcher(tmp_path: Path, home: Path) -> None:
    bundle = _bundle(tmp_path)
    assert _run(INSTALL, home, str(bundle)).returncode == 0
    assert _run(INSTALL, home, str(bundle)).returncode == 0  # over itself: fine
    assert _run(UNINSTALL, home).returncode == 0

    foreign = home / ".local" / "bin" / "photomgr"
    foreign.parent.mkdir(parents=True, exist_ok=True)  # the uninstall removed it: it made it
    foreign.write_text("#!/bin/sh\n")  # e.g. a `pip install --user photomgr`
    result = _run(INSTALL, home, str(bundle))
    assert result.returncode == 2 and "not our launcher" in result.stderr
    assert foreign.read_text() == "#!/bin/sh\n"


def test_install_without_a_bundle_says_how_to_build_one(tmp_path: Path, home: Path) -> None:
    result = _run(INSTALL, home, str(tmp_path / "nothing"))
    assert result.returncode == 2 and "make package" in result.stderr
